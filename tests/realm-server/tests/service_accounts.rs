//! Service accounts and the Admin REST API, as server-side integrations use them: a
//! confidential client gets a token by the client credentials grant and calls
//! `/admin/realms/{its realm}/…` with the `realm-management` roles its service account holds
//! (Keycloak's `AdminRoot`, `MgmtPermissions`, `UserPermissions`, `ClientPermissions`,
//! `RolePermissions`, `RealmPermissions` with fine-grained admin permissions off).

mod common;
use common::*;
use serde_json::{json, Value};

const ADMIN_USER: &str = "root";
const ADMIN_PASSWORD: &str = "root pw";

/// `acme`: services holding different `realm-management` roles through their service
/// accounts, declared the way a Keycloak export does; `bare-svc` declares no account (the
/// import creates one with default roles). `other`: a realm-admin service of another realm.
fn acme() -> Value {
    let svc = |id: &str| {
        json!({ "clientId": id, "publicClient": false, "secret": format!("{id}-secret"), "serviceAccountsEnabled": true,
                "standardFlowEnabled": false, "directAccessGrantsEnabled": false })
    };
    let account = |id: &str, roles: &[&str]| {
        json!({ "username": format!("service-account-{id}"), "enabled": true, "serviceAccountClientId": id,
                "clientRoles": { "realm-management": roles } })
    };
    json!({
        "realm": "acme", "enabled": true,
        "roles": { "realm": [{ "name": "user" }] },
        "clients": [
            svc("manager-svc"), svc("reader-svc"), svc("query-svc"), svc("admin-svc"), svc("bare-svc"),
            { "clientId": "plain-svc", "publicClient": false, "secret": "plain-svc-secret", "serviceAccountsEnabled": false },
            { "clientId": "web", "publicClient": true, "redirectUris": ["http://localhost:3000/*"] }
        ],
        "users": [
            { "username": "alice", "enabled": true, "email": "alice@acme.test",
              "credentials": [{ "type": "password", "value": "alice" }], "realmRoles": ["user"] },
            account("manager-svc", &["manage-users"]),
            account("reader-svc", &["view-users"]),
            account("query-svc", &["query-users"]),
            account("admin-svc", &["realm-admin"])
        ]
    })
}

fn other() -> Value {
    json!({
        "realm": "other", "enabled": true,
        "clients": [{ "clientId": "other-svc", "publicClient": false, "secret": "other-svc-secret", "serviceAccountsEnabled": true }],
        "users": [{ "username": "service-account-other-svc", "enabled": true, "serviceAccountClientId": "other-svc",
                    "clientRoles": { "realm-management": ["realm-admin"] } }]
    })
}

fn write_realm(name: &str, v: &Value) -> String {
    let dir = std::env::temp_dir().join(format!("realm-sa-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, serde_json::to_vec(v).unwrap()).unwrap();
    file.to_str().unwrap().to_string()
}

fn srv() -> &'static Server {
    static S: std::sync::OnceLock<Server> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let (a, o) = (write_realm("acme", &acme()), write_realm("other", &other()));
        Server::with_args_env(
            &["--import", DEMO_REALM, "--import", &a, "--import", &o],
            &[("KC_BOOTSTRAP_ADMIN_USERNAME", ADMIN_USER), ("KC_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)],
        )
    })
}

fn token_request(srv: &Server, realm: &str, form: &[(&str, &str)]) -> Resp {
    srv.post_form(&format!("/realms/{realm}/protocol/openid-connect/token"), &[], form)
}

/// A service account's access token (client credentials grant, secret in the form).
fn svc_token(srv: &Server, realm: &str, client: &str) -> String {
    let secret = format!("{client}-secret");
    let r = token_request(srv, realm, &[("grant_type", "client_credentials"), ("client_id", client), ("client_secret", &secret)]);
    assert_eq!(r.status, 200, "{client}: {}", r.body);
    r.json()["access_token"].as_str().unwrap().to_string()
}

fn master_token(srv: &Server) -> String {
    let r = token_request(srv, "master", &[("grant_type", "password"), ("client_id", "admin-cli"), ("username", ADMIN_USER), ("password", ADMIN_PASSWORD)]);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["access_token"].as_str().unwrap().to_string()
}

use common::admin_call as call;

fn status(srv: &Server, token: &str, method: &str, path: &str, body: Option<&Value>) -> u16 {
    call(srv, token, method, path, body).status
}

fn user_id(srv: &Server, username: &str) -> String {
    let list = call(srv, &master_token(srv), "GET", &format!("/admin/realms/acme/users?username={username}&exact=true"), None).json();
    list[0]["id"].as_str().unwrap_or_else(|| panic!("no user {username}: {list}")).to_string()
}

fn client_uuid(srv: &Server, realm: &str, client_id: &str) -> String {
    let list = call(srv, &master_token(srv), "GET", &format!("/admin/realms/{realm}/clients?clientId={client_id}"), None).json();
    list[0]["id"].as_str().unwrap().to_string()
}

fn roles_in(token: &str, client: &str) -> Vec<String> {
    let c = jwt_part(token, 1);
    let mut v: Vec<String> =
        c["resource_access"][client]["roles"].as_array().into_iter().flatten().map(|r| r.as_str().unwrap().to_string()).collect();
    v.sort();
    v
}

#[test]
fn client_credentials_token_of_an_imported_service_account() {
    let srv = srv();
    let r = token_request(srv, "acme", &[("grant_type", "client_credentials"), ("client_id", "reader-svc"), ("client_secret", "reader-svc-secret")]);
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json();
    assert!(body.get("refresh_token").is_none(), "no refresh token by default: {body}");
    assert!(body.get("session_state").is_none(), "transient session: {body}");
    let at = body["access_token"].as_str().unwrap();
    let c = jwt_part(at, 1);
    assert!(c.get("sid").is_none(), "transient session, no sid: {c}");
    assert_eq!(c["azp"], "reader-svc");
    assert_eq!(c["client_id"], "reader-svc");
    assert_eq!(c["preferred_username"], "service-account-reader-svc");
    assert_eq!(c["sub"].as_str().unwrap(), user_id(srv, "service-account-reader-svc"));
    // view-users is a composite of query-users and query-groups; the token lists all three.
    assert_eq!(roles_in(at, "realm-management"), ["query-groups", "query-users", "view-users"]);
    assert!(c["aud"].as_array().is_some_and(|a| a.contains(&json!("realm-management"))), "{c}");

    // realm-admin carries every realm-management role.
    let admin = svc_token(srv, "acme", "admin-svc");
    let all = roles_in(&admin, "realm-management");
    for r in ["realm-admin", "manage-realm", "manage-users", "view-clients", "query-clients", "impersonation"] {
        assert!(all.contains(&r.to_string()), "{r} in {all:?}");
    }
    // A service account the import did not declare exists with default roles only.
    let bare = svc_token(srv, "acme", "bare-svc");
    assert_eq!(jwt_part(&bare, 1)["preferred_username"], "service-account-bare-svc");
    assert!(roles_in(&bare, "realm-management").is_empty());

    // Refusals, as Keycloak's ClientCredentialsGrantType words them.
    let r = token_request(srv, "acme", &[("grant_type", "client_credentials"), ("client_id", "plain-svc"), ("client_secret", "plain-svc-secret")]);
    assert_eq!(r.status, 401);
    assert_eq!(r.json(), json!({"error": "unauthorized_client", "error_description": "Client not enabled to retrieve service account"}));
    let r = token_request(srv, "acme", &[("grant_type", "client_credentials"), ("client_id", "web")]);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error_description"], "Public client not allowed to retrieve service account");
    let r = token_request(srv, "acme", &[("grant_type", "client_credentials"), ("client_id", "reader-svc"), ("client_secret", "wrong")]);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_client");
}

#[test]
fn view_users_reads_but_does_not_change() {
    let srv = srv();
    let t = svc_token(srv, "acme", "reader-svc");
    let alice = user_id(srv, "alice");
    let list = call(srv, &t, "GET", "/admin/realms/acme/users", None);
    assert_eq!(list.status, 200, "{}", list.body);
    let names: Vec<String> = list.json().as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_string()).collect();
    assert!(names.contains(&"alice".to_string()), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("service-account-")), "service accounts are not listed without a field filter: {names:?}");
    let found = call(srv, &t, "GET", "/admin/realms/acme/users?username=service-account-manager-svc&exact=true", None).json();
    assert_eq!(found.as_array().unwrap().len(), 1, "…but a username query finds them: {found}");
    assert_eq!(call(srv, &t, "GET", "/admin/realms/acme/users/count?search=alice", None).json(), json!(1));
    let u = call(srv, &t, "GET", &format!("/admin/realms/acme/users/{alice}"), None);
    assert_eq!(u.status, 200);
    assert_eq!(u.json()["access"], json!({"manageGroupMembership": false, "view": true, "mapRoles": false, "impersonate": false, "manage": false}));
    assert_eq!(status(srv, &t, "GET", &format!("/admin/realms/acme/users/{alice}/role-mappings"), None), 200);
    assert_eq!(status(srv, &t, "GET", &format!("/admin/realms/acme/users/{alice}/sessions"), None), 200);
    // 404 for an unknown user: this caller may query users.
    let r = call(srv, &t, "GET", "/admin/realms/acme/users/00000000-0000-0000-0000-000000000000", None);
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), json!({"error": "User not found"}));

    // Every change needs manage-users.
    let forbidden = json!({"error": "HTTP 403 Forbidden"});
    let r = call(srv, &t, "POST", "/admin/realms/acme/users", Some(&json!({"username": "nope", "enabled": true})));
    assert_eq!((r.status, r.json()), (403, forbidden.clone()));
    assert_eq!(status(srv, &t, "PUT", &format!("/admin/realms/acme/users/{alice}"), Some(&json!({"firstName": "X"}))), 403);
    assert_eq!(status(srv, &t, "PUT", &format!("/admin/realms/acme/users/{alice}/reset-password"), Some(&json!({"type": "password", "value": "x", "temporary": false}))), 403);
    assert_eq!(status(srv, &t, "POST", &format!("/admin/realms/acme/users/{alice}/logout"), None), 403);
    assert_eq!(status(srv, &t, "DELETE", &format!("/admin/realms/acme/users/{alice}"), None), 403);
    let user_role = call(srv, &master_token(srv), "GET", "/admin/realms/acme/roles/user", None).json();
    assert_eq!(status(srv, &t, "POST", &format!("/admin/realms/acme/users/{alice}/role-mappings/realm"), Some(&json!([user_role]))), 403);

    // The realm itself: an admin of it (any realm-management role) sees its name only;
    // settings, clients and keys need view-realm / view-clients.
    assert_eq!(call(srv, &t, "GET", "/admin/realms/acme", None).json(), json!({"realm": "acme"}));
    assert_eq!(call(srv, &t, "GET", "/admin/realms", None).json(), json!([{"realm": "acme"}]));
    assert_eq!(status(srv, &t, "PUT", "/admin/realms/acme", Some(&json!({"displayName": "X"}))), 403);
    assert_eq!(status(srv, &t, "GET", "/admin/realms/acme/keys", None), 403);
    assert_eq!(status(srv, &t, "GET", "/admin/realms/acme/roles/user", None), 403);
    // query-users (part of view-users) lets it list clients, but it may view none of them.
    assert_eq!(call(srv, &t, "GET", "/admin/realms/acme/clients", None).json(), json!([]));
    let web = client_uuid(srv, "acme", "web");
    assert_eq!(status(srv, &t, "GET", &format!("/admin/realms/acme/clients/{web}"), None), 403);
    assert_eq!(status(srv, &t, "DELETE", "/admin/realms/acme", None), 403);
}

#[test]
fn manage_users_implies_view_and_may_hand_out_what_it_may_do() {
    let srv = srv();
    let t = svc_token(srv, "acme", "manager-svc");
    let base = "/admin/realms/acme";
    assert_eq!(status(srv, &t, "GET", &format!("{base}/users"), None), 200);
    let r = call(srv, &t, "POST", &format!("{base}/users"), Some(&json!({"username": "carol", "enabled": true})));
    assert_eq!(r.status, 201, "{}", r.body);
    let carol = r.location().rsplit('/').next().unwrap().to_string();
    let u = call(srv, &t, "GET", &format!("{base}/users/{carol}"), None).json();
    assert_eq!(u["access"]["manage"], true);
    assert_eq!(status(srv, &t, "PUT", &format!("{base}/users/{carol}"), Some(&json!({"firstName": "Carol"}))), 204);
    assert_eq!(status(srv, &t, "PUT", &format!("{base}/users/{carol}/reset-password"), Some(&json!({"type": "password", "value": "carol", "temporary": false}))), 204);
    let user_role = call(srv, &t, "GET", &format!("{base}/roles/user"), None);
    assert_eq!(user_role.status, 403, "realm roles need view-realm");
    let user_role = call(srv, &master_token(srv), "GET", &format!("{base}/roles/user"), None).json();
    assert_eq!(status(srv, &t, "POST", &format!("{base}/users/{carol}/role-mappings/realm"), Some(&json!([user_role]))), 204);

    // Admin roles: only those whose permission the caller has (view-users: manage-users
    // implies it), never manage-realm or realm-admin it lacks.
    let rm = client_uuid(srv, "acme", "realm-management");
    let role = |name: &str| call(srv, &master_token(srv), "GET", &format!("{base}/clients/{rm}/roles/{name}"), None).json();
    let map = |name: &str| status(srv, &t, "POST", &format!("{base}/users/{carol}/role-mappings/clients/{rm}"), Some(&json!([role(name)])));
    assert_eq!(map("view-users"), 204);
    assert_eq!(map("query-clients"), 204);
    assert_eq!(map("manage-realm"), 403);
    assert_eq!(map("realm-admin"), 403);
    assert_eq!(map("view-clients"), 403);
    let mapped = call(srv, &t, "GET", &format!("{base}/users/{carol}/role-mappings/clients/{rm}"), None).json();
    let mut names: Vec<&str> = mapped.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["query-clients", "view-users"]);

    assert_eq!(status(srv, &t, "POST", &format!("{base}/users/{carol}/logout"), None), 204);
    assert_eq!(status(srv, &t, "DELETE", &format!("{base}/users/{carol}"), None), 204);
    assert_eq!(status(srv, &t, "GET", &format!("{base}/users/{carol}"), None), 404);
    // Not the realm's settings, nor its clients.
    assert_eq!(status(srv, &t, "PUT", base, Some(&json!({"displayName": "X"}))), 403);
    assert_eq!(status(srv, &t, "POST", &format!("{base}/clients"), Some(&json!({"clientId": "x"}))), 403);
}

#[test]
fn query_users_alone_finds_nobody_and_no_role_gets_403() {
    let srv = srv();
    let alice = user_id(srv, "alice");
    let q = svc_token(srv, "acme", "query-svc");
    assert_eq!(call(srv, &q, "GET", "/admin/realms/acme/users", None).json(), json!([]));
    assert_eq!(call(srv, &q, "GET", "/admin/realms/acme/users/count", None).json(), json!(0));
    assert_eq!(status(srv, &q, "GET", &format!("/admin/realms/acme/users/{alice}"), None), 403);
    assert_eq!(status(srv, &q, "GET", "/admin/realms/acme/users/00000000-0000-0000-0000-000000000000", None), 404);

    // Default roles only: authenticated, but no admin of anything.
    let bare = svc_token(srv, "acme", "bare-svc");
    for path in ["/admin/realms/acme", "/admin/realms/acme/users", "/admin/realms/acme/clients", "/admin/realms"] {
        let r = call(srv, &bare, "GET", path, None);
        assert_eq!((r.status, r.json()), (403, json!({"error": "HTTP 403 Forbidden"})), "{path}");
    }
    // No phishing of ids: an unknown user is 403, not 404, to whoever may not query users.
    assert_eq!(status(srv, &bare, "GET", "/admin/realms/acme/users/00000000-0000-0000-0000-000000000000", None), 403);
}

#[test]
fn a_realms_token_reaches_its_own_realm_only() {
    let srv = srv();
    let mine = svc_token(srv, "other", "other-svc");
    assert_eq!(status(srv, &mine, "GET", "/admin/realms/other/users", None), 200);
    assert_eq!(status(srv, &mine, "GET", "/admin/realms/other", None), 200);
    for path in ["/admin/realms/acme", "/admin/realms/acme/users", "/admin/realms/demo/users", "/admin/realms/master"] {
        let r = call(srv, &mine, "GET", path, None);
        assert_eq!((r.status, r.json()), (403, json!({"error": "HTTP 403 Forbidden"})), "{path}");
    }
    assert_eq!(status(srv, &mine, "GET", "/admin/realms/nope", None), 404, "an unknown realm is 404 before the realm check");
    assert_eq!(status(srv, &mine, "POST", "/admin/realms", Some(&json!({"realm": "x", "enabled": true}))), 403, "only master creates realms");
    let list = call(srv, &mine, "GET", "/admin/realms", None).json();
    assert_eq!(list.as_array().unwrap().iter().map(|r| r["realm"].clone()).collect::<Vec<_>>(), [json!("other")]);
    // A token verified with another realm's key does not pass: issuer and key belong together.
    let parts: Vec<&str> = mine.split('.').collect();
    let mut claims = jwt_part(&mine, 1);
    claims["iss"] = json!(format!("{}/realms/acme", srv.base()));
    let moved = format!("{}.{}.{}", parts[0], b64url(&serde_json::to_vec(&claims).unwrap()), parts[2]);
    assert_eq!(status(srv, &moved, "GET", "/admin/realms/acme/users", None), 401);
}

#[test]
fn realm_admin_service_account_manages_its_realm_but_not_the_internal_client() {
    let srv = srv();
    let t = svc_token(srv, "acme", "admin-svc");
    let base = "/admin/realms/acme";
    let realm = call(srv, &t, "GET", base, None).json();
    assert_eq!(realm["accessTokenLifespan"], 300, "view-realm: the full representation");
    let clients = call(srv, &t, "GET", &format!("{base}/clients"), None).json();
    let web = clients.as_array().unwrap().iter().find(|c| c["clientId"] == "web").unwrap();
    assert_eq!(web["access"], json!({"view": true, "configure": true, "manage": true}));
    let rm = clients.as_array().unwrap().iter().find(|c| c["clientId"] == "realm-management").unwrap();
    assert_eq!(rm["access"], json!({"view": true, "configure": false, "manage": false}));
    let rm_id = rm["id"].as_str().unwrap();
    assert_eq!(status(srv, &t, "PUT", &format!("{base}/clients/{rm_id}"), Some(&json!({"description": "x"}))), 403);
    assert_eq!(status(srv, &t, "POST", &format!("{base}/clients/{rm_id}/roles"), Some(&json!({"name": "extra"}))), 403);
    let web_id = web["id"].as_str().unwrap();
    assert_eq!(status(srv, &t, "PUT", &format!("{base}/clients/{web_id}"), Some(&json!({"description": "the web app"}))), 204);
    assert_eq!(status(srv, &t, "GET", &format!("{base}/keys"), None), 200);
    // It holds realm-admin itself, so it may hand it out (checkAdminRoles: admin.hasRole).
    let r = call(srv, &t, "POST", &format!("{base}/users"), Some(&json!({"username": "deputy", "enabled": true})));
    assert_eq!(r.status, 201);
    let deputy = r.location().rsplit('/').next().unwrap().to_string();
    let role = call(srv, &t, "GET", &format!("{base}/clients/{rm_id}/roles/realm-admin"), None).json();
    assert_eq!(status(srv, &t, "POST", &format!("{base}/users/{deputy}/role-mappings/clients/{rm_id}"), Some(&json!([role]))), 204);
    assert_eq!(status(srv, &t, "DELETE", &format!("{base}/users/{deputy}"), None), 204);
}

#[test]
fn roles_come_from_the_token_so_a_grant_counts_from_the_next_token() {
    let srv = srv();
    let master = master_token(srv);
    // A service client made through the API gets its account at once.
    let r = call(srv, &master, "POST", "/admin/realms/acme/clients",
        Some(&json!({"clientId": "Late-Svc", "publicClient": false, "secret": "late-secret", "serviceAccountsEnabled": true})));
    assert_eq!(r.status, 201, "{}", r.body);
    let late = r.location().rsplit('/').next().unwrap().to_string();
    let account = call(srv, &master, "GET", &format!("/admin/realms/acme/clients/{late}/service-account-user"), None);
    assert_eq!(account.status, 200, "{}", account.body);
    assert_eq!(account.json()["username"], "service-account-late-svc");
    let account_id = account.json()["id"].as_str().unwrap().to_string();
    let grant = || {
        let r = token_request(srv, "acme", &[("grant_type", "client_credentials"), ("client_id", "Late-Svc"), ("client_secret", "late-secret")]);
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["access_token"].as_str().unwrap().to_string()
    };
    let before = grant();
    assert_eq!(status(srv, &before, "GET", "/admin/realms/acme/users", None), 403);
    let rm = client_uuid(srv, "acme", "realm-management");
    let view = call(srv, &master, "GET", &format!("/admin/realms/acme/clients/{rm}/roles/view-users"), None).json();
    assert_eq!(status(srv, &master, "POST", &format!("/admin/realms/acme/users/{account_id}/role-mappings/clients/{rm}"), Some(&json!([view]))), 204);
    assert_eq!(status(srv, &before, "GET", "/admin/realms/acme/users", None), 403, "the old token has no view-users");
    let after = grant();
    assert_eq!(status(srv, &after, "GET", "/admin/realms/acme/users", None), 200);

    // A disabled service account gets no token, and its tokens stop working.
    assert_eq!(status(srv, &master, "PUT", &format!("/admin/realms/acme/users/{account_id}"), Some(&json!({"enabled": false}))), 204);
    assert_eq!(status(srv, &after, "GET", "/admin/realms/acme/users", None), 401);
    let r = token_request(srv, "acme", &[("grant_type", "client_credentials"), ("client_id", "Late-Svc"), ("client_secret", "late-secret")]);
    assert_eq!(r.status, 401);
    assert_eq!(r.json(), json!({"error": "invalid_request", "error_description": "User 'service-account-late-svc' disabled"}));

    // Renaming the client renames its account; deleting the client deletes it.
    assert_eq!(status(srv, &master, "PUT", &format!("/admin/realms/acme/clients/{late}"), Some(&json!({"clientId": "renamed-svc"}))), 204);
    assert_eq!(call(srv, &master, "GET", &format!("/admin/realms/acme/users/{account_id}"), None).json()["username"], "service-account-renamed-svc");
    assert_eq!(status(srv, &master, "DELETE", &format!("/admin/realms/acme/clients/{late}"), None), 204);
    assert_eq!(status(srv, &master, "GET", &format!("/admin/realms/acme/users/{account_id}"), None), 404);

    // No service accounts: 400 with Keycloak's message.
    let plain = client_uuid(srv, "acme", "plain-svc");
    let r = call(srv, &master, "GET", &format!("/admin/realms/acme/clients/{plain}/service-account-user"), None);
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), json!({"error": "Service account not enabled for the client 'plain-svc'"}));
}

#[test]
fn imports_that_name_a_missing_client_fail() {
    for (rep, message) in [
        (json!({"realm": "broken", "enabled": true,
                "users": [{"username": "service-account-ghost", "enabled": true, "serviceAccountClientId": "ghost"}]}),
         "Unable to find client specified for service account link. Client: ghost"),
        (json!({"realm": "broken", "enabled": true,
                "users": [{"username": "bob", "enabled": true, "clientRoles": {"ghost": ["x"]}}]}),
         "Unable to find client role mappings for client: ghost"),
    ] {
        let file = write_realm("broken", &rep);
        let out = std::process::Command::new(BIN).args(["--port", "0", "--import", &file]).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{err}");
    }
}
