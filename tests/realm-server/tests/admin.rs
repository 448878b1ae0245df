//! HTTP-level tests of the Admin REST subset: a fixture's view (token from
//! master/admin-cli, a fresh realm per test built through the API), plus the effects of
//! admin changes on the OIDC endpoints, auth errors, bad input and key rotation.

mod common;
use common::*;
use serde_json::{json, Value};

const ADMIN_USER: &str = "boss";
const ADMIN_PASSWORD: &str = "s3cret pw";
const APP: &str = "http://localhost:3000";

/// One server for this test binary: the demo realm plus master with a bootstrap admin
/// taken from the environment.
fn srv() -> &'static Server {
    static S: std::sync::OnceLock<Server> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        Server::with_args_env(
            &["--import", DEMO_REALM],
            &[("KC_BOOTSTRAP_ADMIN_USERNAME", ADMIN_USER), ("KC_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)],
        )
    })
}

fn password_grant(srv: &Server, realm: &str, client: &str, user: &str, password: &str) -> Resp {
    srv.post_form(
        &format!("/realms/{realm}/protocol/openid-connect/token"),
        &[],
        &[("grant_type", "password"), ("client_id", client), ("username", user), ("password", password)],
    )
}

fn admin_token(srv: &Server) -> String {
    let r = password_grant(srv, "master", "admin-cli", ADMIN_USER, ADMIN_PASSWORD);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["access_token"].as_str().unwrap().to_string()
}

use common::admin_call as call;

fn raw_call(srv: &Server, token: &str, method: &str, path: &str, body: &[u8]) -> Resp {
    let auth = format!("Bearer {token}");
    request(srv.port, method, path, &[("Authorization", &auth), ("Content-Type", "application/json")], Some(body))
}

/// Create and return the id from the Location header's last segment.
fn create(srv: &Server, token: &str, path: &str, body: &Value) -> String {
    let r = call(srv, token, "POST", path, Some(body));
    assert_eq!(r.status, 201, "POST {path}: {}", r.body);
    let loc = r.location();
    assert!(loc.starts_with(&format!("{}/admin/realms/", srv.base())), "{loc}");
    assert!(!loc.ends_with('/'), "{loc}");
    loc.rsplit('/').next().unwrap().to_string()
}

fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

struct Fresh {
    name: String,
    client_uuid: String,
    alice: String,
    bob: String,
}

/// A realm like the demo realm, built only through the API (as tests/support/admin.mjs does).
fn fresh_realm(srv: &Server, token: &str) -> Fresh {
    let name = unique("fresh");
    assert_eq!(create(srv, token, "/admin/realms", &json!({"realm": name, "enabled": true})), name);
    let base = format!("/admin/realms/{name}");
    let client_uuid = create(
        srv,
        token,
        &format!("{base}/clients"),
        &json!({"enabled": true, "clientId": "demo-app", "publicClient": true, "redirectUris": [format!("{APP}/*")],
                "webOrigins": ["+"], "attributes": {"post.logout.redirect.uris": "+"}}),
    );
    assert_eq!(create(srv, token, &format!("{base}/roles"), &json!({"name": "user", "scopeParamRequired": false})), "user");
    assert_eq!(create(srv, token, &format!("{base}/clients/{client_uuid}/roles"), &json!({"name": "viewer"})), "viewer");
    let mut ids = Vec::new();
    for (u, first) in [("alice", "Alice"), ("bob", "Bob")] {
        let id = create(
            srv,
            token,
            &format!("{base}/users"),
            &json!({"enabled": true, "username": u, "firstName": first, "lastName": "Liddell",
                    "email": format!("{u}@localhost"), "emailVerified": true, "realmRoles": ["user"]}),
        );
        let r = call(srv, token, "PUT", &format!("{base}/users/{id}/reset-password"),
            Some(&json!({"temporary": false, "type": "password", "value": u})));
        assert_eq!(r.status, 204, "{}", r.body);
        ids.push(id);
    }
    let user_role = call(srv, token, "GET", &format!("{base}/roles/user"), None).json();
    let r = call(srv, token, "POST", &format!("{base}/users/{}/role-mappings/realm", ids[0]), Some(&json!([user_role])));
    assert_eq!(r.status, 204, "{}", r.body);
    let viewer = call(srv, token, "GET", &format!("{base}/clients/{client_uuid}/roles/viewer"), None).json();
    let r = call(srv, token, "POST", &format!("{base}/users/{}/role-mappings/clients/{client_uuid}", ids[0]), Some(&json!([viewer])));
    assert_eq!(r.status, 204, "{}", r.body);
    Fresh { name, client_uuid, alice: ids[0].clone(), bob: ids[1].clone() }
}

fn auth_path_for(realm: &str, extra: &[(&str, &str)]) -> String {
    auth_path(extra).replacen("/realms/demo/", &format!("/realms/{realm}/"), 1)
}

/// Browser login through the auth endpoint and login form, then the code exchange.
fn browser_login(srv: &Server, realm: &str, user: &str, password: &str) -> (Resp, Jar) {
    let mut jar = Jar::default();
    let r = login(srv, &mut jar, &auth_path_for(realm, &[]), user, password);
    if r.status != 302 {
        return (r, jar);
    }
    let cb = callback_params(r.location(), false);
    let t = srv.post_form(
        &format!("/realms/{realm}/protocol/openid-connect/token"),
        &[],
        &[("grant_type", "authorization_code"), ("code", &cb["code"]), ("client_id", "demo-app"),
          ("redirect_uri", REDIRECT), ("code_verifier", VERIFIER)],
    );
    (t, jar)
}

#[test]
fn admin_token_from_master_and_auth_errors() {
    let srv = srv();
    let r = password_grant(srv, "master", "admin-cli", ADMIN_USER, ADMIN_PASSWORD);
    assert_eq!(r.status, 200, "{}", r.body);
    let t = r.json();
    assert!(t["refresh_token"].as_str().is_some_and(|s| s.split('.').count() == 3), "admin clients need a refresh token");
    let claims = jwt_part(t["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 60, "master tokens live 60 s");
    assert!(claims["realm_access"]["roles"].as_array().unwrap().iter().any(|r| r == "admin"));
    // The admin client refreshes on its own.
    let rt = t["refresh_token"].as_str().unwrap();
    let r2 = srv.post_form("/realms/master/protocol/openid-connect/token", &[],
        &[("grant_type", "refresh_token"), ("client_id", "admin-cli"), ("refresh_token", rt)]);
    assert_eq!(r2.status, 200, "{}", r2.body);

    // The environment's admin, not admin/admin.
    let bad = password_grant(srv, "master", "admin-cli", "admin", "admin");
    assert_eq!(bad.status, 401);
    assert_eq!(bad.json(), json!({"error": "invalid_grant", "error_description": "Invalid user credentials"}));

    // 401: no token, garbage, a token whose signature or issuer realm does not hold.
    let r = request(srv.port, "GET", "/admin/realms/demo", &[], None);
    assert_eq!(r.status, 401);
    assert_eq!(r.json(), json!({"error": "HTTP 401 Unauthorized"}));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(call(srv, "not.a.token", "GET", "/admin/realms/demo", None).status, 401);
    let demo = password_grant(srv, "demo", "admin-cli", "alice", "alice");
    assert_eq!(demo.status, 200, "{}", demo.body);
    let demo_token = demo.json()["access_token"].as_str().unwrap().to_string();
    let parts: Vec<&str> = demo_token.split('.').collect();
    let mut claims = jwt_part(&demo_token, 1);
    claims["iss"] = json!(format!("{}/realms/master", srv.base()));
    let forged = format!("{}.{}.{}", parts[0], b64url(&serde_json::to_vec(&claims).unwrap()), parts[2]);
    assert_eq!(call(srv, &forged, "GET", "/admin/realms/demo", None).status, 401, "signature no longer matches");
    claims["iss"] = json!(format!("{}/realms/nope", srv.base()));
    let unknown = format!("{}.{}.{}", parts[0], b64url(&serde_json::to_vec(&claims).unwrap()), parts[2]);
    assert_eq!(call(srv, &unknown, "GET", "/admin/realms/demo", None).status, 401, "issuer realm unknown");
    // A demo user's own token is authenticated (a realm's tokens are good for its own
    // admin API) but alice has no realm-management role: 403, and 403 on other realms.
    let r = call(srv, &demo_token, "GET", "/admin/realms/demo", None);
    assert_eq!(r.status, 403);
    assert_eq!(r.json(), json!({"error": "HTTP 403 Forbidden"}));
    assert_eq!(call(srv, &demo_token, "GET", "/admin/realms/master", None).status, 403);
    assert_eq!(call(srv, &demo_token, "GET", "/admin/realms/demo/users", None).status, 403);
    // 401 comes before 404 for an unknown realm.
    assert_eq!(request(srv.port, "GET", "/admin/realms/nope", &[], None).status, 401);

    // 403: a master user without the admin role.
    let token = admin_token(srv);
    let name = unique("plain");
    let id = create(srv, &token, "/admin/realms/master/users", &json!({"username": name, "enabled": true,
        "credentials": [{"type": "password", "value": "pw", "temporary": false}]}));
    let plain = password_grant(srv, "master", "admin-cli", &name, "pw");
    assert_eq!(plain.status, 200, "{}", plain.body);
    let plain_token = plain.json()["access_token"].as_str().unwrap().to_string();
    let r = call(srv, &plain_token, "GET", "/admin/realms/demo", None);
    assert_eq!(r.status, 403);
    assert_eq!(r.json(), json!({"error": "HTTP 403 Forbidden"}));
    assert_eq!(call(srv, &plain_token, "POST", "/admin/realms", Some(&json!({"realm": unique("x")}))).status, 403);
    // ... until it is granted `admin`.
    let admin_role = call(srv, &token, "GET", "/admin/realms/master/roles/admin", None).json();
    assert_eq!(call(srv, &token, "POST", &format!("/admin/realms/master/users/{id}/role-mappings/realm"), Some(&json!([admin_role]))).status, 204);
    assert_eq!(call(srv, &plain_token, "GET", "/admin/realms/demo", None).status, 200);

    // 404s and 405.
    let r = call(srv, &token, "GET", "/admin/realms/nope", None);
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), json!({"error": "Realm not found."}));
    assert_eq!(call(srv, &token, "GET", "/admin/realms/nope/users", None).json(), json!({"error": "Realm not found."}));
    assert_eq!(call(srv, &token, "GET", "/admin/realms/demo/users/00000000-0000-0000-0000-000000000000", None).json(), json!({"error": "User not found"}));
    assert_eq!(call(srv, &token, "GET", "/admin/realms/demo/clients/nope", None).json(), json!({"error": "Could not find client"}));
    assert_eq!(call(srv, &token, "GET", "/admin/realms/demo/roles/nope", None).json(), json!({"error": "Could not find role"}));
    assert_eq!(call(srv, &token, "GET", "/admin/realms/demo/whatever", None).status, 404);
    assert_eq!(call(srv, &token, "PATCH", "/admin/realms/demo", None).status, 405);
    // Older admin clients join a trailing-slash base URL: //admin/...
    assert_eq!(call(srv, &token, "GET", "//admin/realms/demo", None).status, 200);
}

#[test]
fn realm_create_conflict_get_and_delete() {
    let srv = srv();
    let token = admin_token(srv);
    let name = unique("life");
    let r = call(srv, &token, "POST", "/admin/realms", Some(&json!({"realm": name, "enabled": true})));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.location(), format!("{}/admin/realms/{name}", srv.base()));
    assert!(r.body.is_empty());

    let dup = call(srv, &token, "POST", "/admin/realms", Some(&json!({"realm": name, "enabled": true})));
    assert_eq!(dup.status, 409);
    assert_eq!(dup.json(), json!({"errorMessage": format!("Realm {name} already exists")}));
    let empty = call(srv, &token, "POST", "/admin/realms", Some(&json!({"realm": "", "enabled": true})));
    assert_eq!(empty.status, 400);
    assert_eq!(empty.json(), json!({"errorMessage": "Realm name cannot be empty"}));

    let rep = call(srv, &token, "GET", &format!("/admin/realms/{name}"), None).json();
    assert_eq!(rep["realm"], name.as_str());
    assert_eq!(rep["enabled"], true);
    assert_eq!(rep["sslRequired"], "external");
    assert_eq!(rep["loginWithEmailAllowed"], true);
    assert_eq!(rep["registrationEmailAsUsername"], false);
    assert_eq!(rep["registrationAllowed"], false);
    assert_eq!(rep["accessTokenLifespan"], 300);
    assert_eq!(rep["ssoSessionIdleTimeout"], 1800);
    assert_eq!(rep["ssoSessionMaxLifespan"], 36000);
    assert_eq!(rep["defaultRole"]["name"], format!("default-roles-{name}"));
    let list = call(srv, &token, "GET", "/admin/realms", None).json();
    assert!(list.as_array().unwrap().iter().any(|r| r["realm"] == name.as_str()));
    // Built-ins of a new realm.
    let clients = call(srv, &token, "GET", &format!("/admin/realms/{name}/clients"), None).json();
    let ids: Vec<&str> = clients.as_array().unwrap().iter().map(|c| c["clientId"].as_str().unwrap()).collect();
    for c in ["account", "account-console", "admin-cli", "broker", "realm-management", "security-admin-console"] {
        assert!(ids.contains(&c), "{c} in {ids:?}");
    }
    let roles = call(srv, &token, "GET", &format!("/admin/realms/{name}/roles"), None).json();
    let names: Vec<&str> = roles.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"offline_access") && names.contains(&"uma_authorization"), "{names:?}");

    assert_eq!(srv.get(&format!("/realms/{name}/.well-known/openid-configuration"), &[]).status, 200);
    let r = call(srv, &token, "DELETE", &format!("/admin/realms/{name}"), Some(&json!({})));
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(call(srv, &token, "GET", &format!("/admin/realms/{name}"), None).json(), json!({"error": "Realm not found."}));
    assert_eq!(call(srv, &token, "GET", &format!("/admin/realms/{name}/users"), None).status, 404);
    let d = srv.get(&format!("/realms/{name}/.well-known/openid-configuration"), &[]);
    assert_eq!(d.status, 404);
    assert_eq!(d.json(), json!({"error": "Realm does not exist"}));
    assert_eq!(call(srv, &token, "DELETE", &format!("/admin/realms/{name}"), None).status, 404);
    let m = call(srv, &token, "DELETE", "/admin/realms/master", None);
    assert_eq!(m.status, 400);
    assert_eq!(m.json(), json!({"errorMessage": "Can't remove master realm"}));
}

#[test]
fn fresh_realm_through_the_api_then_browser_login() {
    let srv = srv();
    let token = admin_token(srv);
    let f = fresh_realm(srv, &token);
    let base = format!("/admin/realms/{}", f.name);

    // Lookups a fixture does.
    let found = call(srv, &token, "GET", &format!("{base}/clients?clientId=demo-app"), None).json();
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], f.client_uuid.as_str());
    let client = call(srv, &token, "GET", &format!("{base}/clients/{}", f.client_uuid), None).json();
    assert_eq!(client["publicClient"], true);
    assert_eq!(client["standardFlowEnabled"], true);
    assert_eq!(client["implicitFlowEnabled"], false);
    assert_eq!(client["directAccessGrantsEnabled"], true);
    assert_eq!(client["protocol"], "openid-connect");
    assert_eq!(client["attributes"]["post.logout.redirect.uris"], "+");
    let users = call(srv, &token, "GET", &format!("{base}/users?username=alice&exact=true"), None).json();
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(users[0]["id"], f.alice.as_str());
    assert_eq!(users[0]["email"], "alice@localhost");
    let search = call(srv, &token, "GET", &format!("{base}/users?search=b"), None).json();
    assert_eq!(search.as_array().unwrap().iter().map(|u| u["username"].clone()).collect::<Vec<_>>(), vec![json!("bob")]);
    assert_eq!(call(srv, &token, "GET", &format!("{base}/users/count"), None).json(), json!(2));
    let creds = call(srv, &token, "GET", &format!("{base}/users/{}/credentials", f.alice), None).json();
    assert_eq!(creds[0]["type"], "password");

    // Conflicts and validation.
    let dup = call(srv, &token, "POST", &format!("{base}/users"), Some(&json!({"username": "ALICE"})));
    assert_eq!((dup.status, dup.json()), (409, json!({"errorMessage": "User exists with same username"})));
    let dup = call(srv, &token, "POST", &format!("{base}/users"), Some(&json!({"username": "carol", "email": "Alice@localhost"})));
    assert_eq!((dup.status, dup.json()), (409, json!({"errorMessage": "User exists with same email"})));
    let missing = call(srv, &token, "POST", &format!("{base}/users"), Some(&json!({"email": "x@y"})));
    assert_eq!((missing.status, missing.json()), (400, json!({"errorMessage": "User name is missing"})));
    let dup = call(srv, &token, "POST", &format!("{base}/roles"), Some(&json!({"name": "user"})));
    assert_eq!((dup.status, dup.json()), (409, json!({"errorMessage": "Role with name user already exists"})));
    let dup = call(srv, &token, "POST", &format!("{base}/clients"), Some(&json!({"clientId": "demo-app"})));
    assert_eq!((dup.status, dup.json()), (409, json!({"errorMessage": "Client demo-app already exists"})));
    // Role mappings are looked up by name and the id must match.
    let wrong = call(srv, &token, "POST", &format!("{base}/users/{}/role-mappings/realm", f.bob), Some(&json!([{"id": "x", "name": "user"}])));
    assert_eq!((wrong.status, wrong.json()), (404, json!({"error": "Role not found"})));

    // Create-user ignored realmRoles; the mappings added afterwards are there.
    let maps = call(srv, &token, "GET", &format!("{base}/users/{}/role-mappings", f.alice), None).json();
    let realm_roles: Vec<&str> = maps["realmMappings"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert!(realm_roles.contains(&"user") && realm_roles.contains(&format!("default-roles-{}", f.name).as_str()), "{realm_roles:?}");
    assert_eq!(maps["clientMappings"]["demo-app"]["mappings"][0]["name"], "viewer");
    let bob_maps = call(srv, &token, "GET", &format!("{base}/users/{}/role-mappings/realm", f.bob), None).json();
    assert!(!bob_maps.as_array().unwrap().iter().any(|r| r["name"] == "user"));

    // Browser login: auth endpoint, login form, code exchange.
    let (t, _) = browser_login(srv, &f.name, "alice", "alice");
    assert_eq!(t.status, 200, "{}", t.body);
    let at = jwt_part(t.json()["access_token"].as_str().unwrap(), 1);
    assert_eq!(at["iss"], format!("{}/realms/{}", srv.base(), f.name));
    assert_eq!(at["preferred_username"], "alice");
    assert_eq!(at["email"], "alice@localhost");
    let roles = at["realm_access"]["roles"].as_array().unwrap();
    assert!(roles.iter().any(|r| r == "user") && roles.iter().any(|r| r == "offline_access"), "{roles:?}");
    assert_eq!(at["resource_access"]["demo-app"]["roles"], json!(["viewer"]));
    assert!(at["resource_access"]["account"]["roles"].as_array().unwrap().iter().any(|r| r == "view-profile"));

    // Reset the password: the new one works, the old one no longer does.
    let r = call(srv, &token, "PUT", &format!("{base}/users/{}/reset-password", f.bob),
        Some(&json!({"temporary": false, "type": "password", "value": "n3w-pass"})));
    assert_eq!(r.status, 204);
    let (old, _) = browser_login(srv, &f.name, "bob", "bob");
    assert_eq!(old.status, 200);
    assert!(old.body.contains("Invalid username or password."), "{}", old.body);
    let (t, _) = browser_login(srv, &f.name, "bob", "n3w-pass");
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(jwt_part(t.json()["access_token"].as_str().unwrap(), 1)["preferred_username"], "bob");
    let empty = call(srv, &token, "PUT", &format!("{base}/users/{}/reset-password", f.bob), Some(&json!({"type": "password", "value": ""})));
    assert_eq!(empty.status, 400);

    // Delete user and client.
    assert_eq!(call(srv, &token, "DELETE", &format!("{base}/users/{}", f.bob), Some(&json!({}))).status, 204);
    assert_eq!(call(srv, &token, "GET", &format!("{base}/users/{}", f.bob), None).status, 404);
    assert_eq!(call(srv, &token, "DELETE", &format!("{base}/clients/{}", f.client_uuid), Some(&json!({}))).status, 204);
    assert_eq!(call(srv, &token, "GET", &format!("{base}/clients?clientId=demo-app"), None).json(), json!([]));
    assert_eq!(call(srv, &token, "DELETE", &format!("/admin/realms/{}", f.name), None).status, 204);
}

#[test]
fn realm_settings_take_effect() {
    let srv = srv();
    let token = admin_token(srv);
    let f = fresh_realm(srv, &token);
    let base = format!("/admin/realms/{}", f.name);
    let lifetime = || {
        let r = password_grant(srv, &f.name, "demo-app", "alice", "alice");
        assert_eq!(r.status, 200, "{}", r.body);
        let c = jwt_part(r.json()["access_token"].as_str().unwrap(), 1);
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap()
    };
    assert_eq!(lifetime(), 300);
    // GET, change, PUT the whole object back (what the admin client does).
    let mut rep = call(srv, &token, "GET", &base, None).json();
    rep["accessTokenLifespan"] = json!(120);
    rep["registrationAllowed"] = json!(true);
    rep["rememberMe"] = json!(true);
    let r = call(srv, &token, "PUT", &base, Some(&rep));
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(lifetime(), 120);
    let rep = call(srv, &token, "GET", &base, None).json();
    assert_eq!(rep["accessTokenLifespan"], 120);
    assert_eq!(rep["rememberMe"], true, "unmodelled fields are echoed");
    // registrationAllowed: the registrations endpoint now shows the form.
    let reg = srv.get(&auth_path_for(&f.name, &[]).replace("/auth?", "/registrations?"), &[]);
    assert_eq!(reg.status, 200, "{}", reg.body);
    assert!(reg.body.contains("password-confirm"));

    // A partial PUT with a short SSO idle timeout ends idle sessions.
    let r = password_grant(srv, &f.name, "demo-app", "alice", "alice").json();
    assert_eq!(call(srv, &token, "PUT", &base, Some(&json!({"ssoSessionIdleTimeout": 1}))).status, 204);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let refresh = srv.post_form(&format!("/realms/{}/protocol/openid-connect/token", f.name), &[],
        &[("grant_type", "refresh_token"), ("client_id", "demo-app"), ("refresh_token", r["refresh_token"].as_str().unwrap())]);
    assert_eq!(refresh.status, 400, "{}", refresh.body);
    assert_eq!(refresh.json()["error"], "invalid_grant");

    // Disabled realm: public endpoints refuse.
    assert_eq!(call(srv, &token, "PUT", &base, Some(&json!({"enabled": false}))).status, 204);
    assert_eq!(srv.get(&format!("/realms/{}/.well-known/openid-configuration", f.name), &[]).status, 403);
    assert_eq!(call(srv, &token, "DELETE", &base, None).status, 204);
}

#[test]
fn client_settings_take_effect() {
    let srv = srv();
    let token = admin_token(srv);
    let f = fresh_realm(srv, &token);
    let path = format!("/admin/realms/{}/clients/{}", f.name, f.client_uuid);
    assert_eq!(srv.get(&auth_path_for(&f.name, &[]), &[]).status, 200);

    // New redirect URIs replace the old list: the old redirect is rejected.
    let mut rep = call(srv, &token, "GET", &path, None).json();
    rep["redirectUris"] = json!(["http://app.localhost:4000/*"]);
    assert_eq!(call(srv, &token, "PUT", &path, Some(&rep)).status, 204);
    let r = srv.get(&auth_path_for(&f.name, &[]), &[]);
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Invalid parameter: redirect_uri"), "{}", r.body);
    let ok = srv.get(&auth_path_for(&f.name, &[("redirect_uri", "http://app.localhost:4000/cb")]), &[]);
    assert_eq!(ok.status, 200, "{}", ok.body);

    // Flows.
    let r = call(srv, &token, "PUT", &path, Some(&json!({"standardFlowEnabled": false, "implicitFlowEnabled": true})));
    assert_eq!(r.status, 204, "{}", r.body);
    let code = srv.get(&auth_path_for(&f.name, &[("redirect_uri", "http://app.localhost:4000/cb")]), &[]);
    assert_eq!(code.status, 302);
    assert!(code.location().contains("error=unauthorized_client"), "{}", code.location());
    let implicit = srv.get(&auth_path_for(&f.name, &[("redirect_uri", "http://app.localhost:4000/cb"), ("response_type", "id_token token")]), &[]);
    assert_eq!(implicit.status, 200, "{}", implicit.body);

    // webOrigins: CORS on the token endpoint follows.
    assert_eq!(call(srv, &token, "PUT", &path, Some(&json!({"standardFlowEnabled": true, "webOrigins": ["http://other.localhost:5000"]}))).status, 204);
    let t = srv.post_form(&format!("/realms/{}/protocol/openid-connect/token", f.name), &[("Origin", "http://other.localhost:5000")],
        &[("grant_type", "password"), ("client_id", "demo-app"), ("username", "alice"), ("password", "alice")]);
    assert_eq!(t.status, 200);
    assert_eq!(t.header("access-control-allow-origin"), Some("http://other.localhost:5000"));

    // Attributes merge; PKCE becomes required.
    assert_eq!(call(srv, &token, "PUT", &path, Some(&json!({"attributes": {"pkce.code.challenge.method": "S256"}}))).status, 204);
    let rep = call(srv, &token, "GET", &path, None).json();
    assert_eq!(rep["attributes"]["pkce.code.challenge.method"], "S256");
    assert_eq!(rep["attributes"]["post.logout.redirect.uris"], "+");
    let no_pkce = srv.get(&auth_path_for(&f.name, &[("redirect_uri", "http://app.localhost:4000/cb"), ("code_challenge", ""), ("code_challenge_method", "")]), &[]);
    assert_eq!(no_pkce.status, 302);
    assert!(no_pkce.location().contains("Missing+parameter%3A+code_challenge_method") || no_pkce.location().contains("Missing%20parameter"), "{}", no_pkce.location());

    // Renaming the clientId keeps its roles.
    assert_eq!(call(srv, &token, "PUT", &path, Some(&json!({"clientId": "renamed-app"}))).status, 204);
    let t = password_grant(srv, &f.name, "renamed-app", "alice", "alice");
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(jwt_part(t.json()["access_token"].as_str().unwrap(), 1)["resource_access"]["renamed-app"]["roles"], json!(["viewer"]));
    assert_eq!(call(srv, &token, "DELETE", &format!("/admin/realms/{}", f.name), None).status, 204);
}

#[test]
fn admin_logout_ends_the_users_sessions() {
    let srv = srv();
    let token = admin_token(srv);
    let f = fresh_realm(srv, &token);
    let base = format!("/admin/realms/{}", f.name);
    let (t, jar) = browser_login(srv, &f.name, "alice", "alice");
    assert_eq!(t.status, 200, "{}", t.body);
    let tokens = t.json();
    let sid = tokens["session_state"].as_str().unwrap().to_string();
    let sessions = call(srv, &token, "GET", &format!("{base}/users/{}/sessions", f.alice), None).json();
    assert_eq!(sessions.as_array().unwrap().len(), 1);
    assert_eq!(sessions[0]["id"], sid.as_str());
    assert_eq!(sessions[0]["clients"][&f.client_uuid], "demo-app");

    let r = call(srv, &token, "POST", &format!("{base}/users/{}/logout", f.alice), None);
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(call(srv, &token, "GET", &format!("{base}/users/{}/sessions", f.alice), None).json(), json!([]));
    let refresh = srv.post_form(&format!("/realms/{}/protocol/openid-connect/token", f.name), &[],
        &[("grant_type", "refresh_token"), ("client_id", "demo-app"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())]);
    assert_eq!(refresh.status, 400);
    assert_eq!(refresh.json(), json!({"error": "invalid_grant", "error_description": "Session not active"}));
    // The browser keeps its KEYCLOAK_SESSION cookie, so Keycloak's status iframe (which
    // compares that cookie only) keeps answering `unchanged`: tests/e2e/check-sso.test.mjs.
    // The identity cookie no longer gives SSO: the login page is shown again.
    let again = srv.get(&auth_path_for(&f.name, &[]), &[("Cookie", &jar.header())]);
    assert_eq!(again.status, 200);
    assert!(again.body.contains("kc-form-login"));
    // The userinfo endpoint rejects the old access token.
    let ui = srv.get(&format!("/realms/{}/protocol/openid-connect/userinfo", f.name),
        &[("Authorization", &format!("Bearer {}", tokens["access_token"].as_str().unwrap()))]);
    assert_eq!(ui.status, 401);
    assert_eq!(call(srv, &token, "POST", &format!("{base}/users/nope/logout"), None).status, 404);
    assert_eq!(call(srv, &token, "DELETE", &base, None).status, 204);
}

#[test]
fn key_rotation_publishes_both_keys() {
    let srv = srv();
    let token = admin_token(srv);
    let f = fresh_realm(srv, &token);
    let base = format!("/admin/realms/{}", f.name);
    let kid_of = |t: &str| jwt_part(t, 0)["kid"].as_str().unwrap().to_string();
    let before = password_grant(srv, &f.name, "demo-app", "alice", "alice").json();
    let old_token = before["access_token"].as_str().unwrap().to_string();
    let old_kid = kid_of(&old_token);
    let keys = call(srv, &token, "GET", &format!("{base}/keys"), None).json();
    assert_eq!(keys["active"]["RS256"], old_kid.as_str());
    let max_priority = keys["keys"].as_array().unwrap().iter().filter(|k| k["algorithm"] == "RS256")
        .map(|k| k["providerPriority"].as_i64().unwrap()).max().unwrap();

    let realm_id = call(srv, &token, "GET", &base, None).json()["id"].as_str().unwrap().to_string();
    let component = create(srv, &token, &format!("{base}/components"), &json!({
        "name": "rotated", "providerId": "rsa-generated", "providerType": "org.keycloak.keys.KeyProvider",
        "parentId": realm_id, "config": {"priority": [(max_priority + 1).to_string()], "keySize": ["2048"]}}));
    let after = password_grant(srv, &f.name, "demo-app", "alice", "alice").json();
    let new_kid = kid_of(after["access_token"].as_str().unwrap());
    assert_ne!(new_kid, old_kid);
    assert_eq!(kid_of(after["id_token"].as_str().unwrap_or(after["access_token"].as_str().unwrap())), new_kid);
    let certs = srv.get(&format!("/realms/{}/protocol/openid-connect/certs", f.name), &[]).json();
    let kids: Vec<&str> = certs["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, vec![new_kid.as_str(), old_kid.as_str()]);
    assert_eq!(call(srv, &token, "GET", &format!("{base}/keys"), None).json()["active"]["RS256"], new_kid.as_str());
    // Tokens signed with the old key stay valid.
    let ui = srv.get(&format!("/realms/{}/protocol/openid-connect/userinfo", f.name), &[("Authorization", &format!("Bearer {old_token}"))]);
    assert_eq!(ui.status, 200, "{}", ui.body);
    // Other realms are not affected.
    let demo_certs = srv.get("/realms/demo/protocol/openid-connect/certs", &[]).json();
    assert_eq!(demo_certs["keys"].as_array().unwrap().len(), 1);
    assert_eq!(demo_certs["keys"][0]["kid"], old_kid.as_str());
    // The component is listed and can be removed again.
    let comps = call(srv, &token, "GET", &format!("{base}/components?type=org.keycloak.keys.KeyProvider"), None).json();
    assert!(comps.as_array().unwrap().iter().any(|c| c["id"] == component.as_str() && c["providerId"] == "rsa-generated"));
    let bad = call(srv, &token, "POST", &format!("{base}/components"), Some(&json!({"providerId": "ldap", "providerType": "org.keycloak.storage.UserStorageProvider"})));
    assert_eq!(bad.status, 400);
    assert_eq!(call(srv, &token, "DELETE", &format!("{base}/components/{component}"), None).status, 204);
    let again = password_grant(srv, &f.name, "demo-app", "alice", "alice").json();
    assert_eq!(kid_of(again["access_token"].as_str().unwrap()), old_kid);
    assert_eq!(call(srv, &token, "DELETE", &base, None).status, 204);
}

#[test]
fn bad_input_gets_keycloak_errors_not_crashes() {
    let srv = srv();
    let token = admin_token(srv);
    let f = fresh_realm(srv, &token);
    let base = format!("/admin/realms/{}", f.name);
    let cannot_parse = json!({"error": "unknown_error", "error_description": "Cannot parse the JSON"});
    let cases: Vec<(&str, String, &[u8])> = vec![
        ("POST", "/admin/realms".into(), b"{not json"),
        ("POST", "/admin/realms".into(), b""),
        ("POST", "/admin/realms".into(), b"[]"),
        ("POST", "/admin/realms".into(), b"null"),
        ("POST", "/admin/realms".into(), br#"{"realm": {"x": 1}}"#),
        ("POST", "/admin/realms".into(), br#"{"realm": "ok-name", "users": "nope"}"#),
        ("PUT", base.clone(), br#"{"accessTokenLifespan": "abc"}"#),
        ("PUT", base.clone(), br#"{"enabled": "maybe"}"#),
        ("PUT", base.clone(), b"\xff\xfe"),
        ("POST", format!("{base}/clients"), br#"{"clientId": "x", "redirectUris": "http://a/*"}"#),
        ("PUT", format!("{base}/clients/{}", f.client_uuid), br#"{"attributes": ["a"]}"#),
        ("POST", format!("{base}/users"), br#"{"username": ["a"]}"#),
        ("POST", format!("{base}/users"), br#"{"username": "z", "credentials": {"type": "password"}}"#),
        ("PUT", format!("{base}/users/{}/reset-password", f.alice), b"password"),
        ("POST", format!("{base}/roles"), br#"{"name": 1, "composites": "x"}"#),
        ("POST", format!("{base}/users/{}/role-mappings/realm", f.alice), br#"{"name": "user"}"#),
        ("POST", format!("{base}/users/{}/role-mappings/realm", f.alice), b"[1, 2]"),
        ("POST", format!("{base}/components"), br#"{"providerId": "rsa-generated", "config": 7}"#),
    ];
    for (method, path, body) in cases {
        let r = raw_call(srv, &token, method, &path, body);
        assert_eq!(r.status, 400, "{method} {path} {:?}: {}", String::from_utf8_lossy(body), r.body);
        assert_eq!(r.header("content-type"), Some("application/json"), "{method} {path}");
        if r.json().get("error").is_some() {
            assert_eq!(r.json(), cannot_parse, "{method} {path}");
        }
    }
    // Odd paths and names.
    for p in ["/admin/realms/%ZZ", "/admin/realms/%00", "/admin/realms/a%2Fb/users", "/admin/realms/../master"] {
        let r = call(srv, &token, "GET", p, None);
        assert!(r.status == 404 || r.status == 400, "{p}: {} {}", r.status, r.body);
    }
    let weird = call(srv, &token, "POST", &format!("{base}/roles"), Some(&json!({"name": "a b/ü"})));
    assert_eq!(weird.status, 201);
    assert!(weird.location().ends_with("/roles/a%20b%2F%C3%BC"), "{}", weird.location());
    assert_eq!(call(srv, &token, "GET", &format!("{base}/roles/a%20b%2F%C3%BC"), None).json()["name"], "a b/ü");
    let key = call(srv, &token, "POST", &format!("{base}/components"),
        Some(&json!({"providerId": "rsa-generated", "providerType": "org.keycloak.keys.KeyProvider", "config": {"keySize": ["12"]}})));
    assert_eq!(key.status, 400);
    // Still serving.
    assert_eq!(call(srv, &token, "GET", &base, None).status, 200);
    assert_eq!(call(srv, &token, "DELETE", &base, None).status, 204);
}

#[test]
fn concurrent_creates_are_consistent() {
    let srv = srv();
    let token = admin_token(srv);
    let name = unique("conc");
    create(srv, &token, "/admin/realms", &json!({"realm": name, "enabled": true}));
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|i| {
                let (token, name) = (token.clone(), name.clone());
                s.spawn(move || {
                    let user = format!("user{}", i % 4);
                    call(srv, &token, "POST", &format!("/admin/realms/{name}/users"), Some(&json!({"username": user, "enabled": true}))).status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 4, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 8, "{statuses:?}");
    assert_eq!(call(srv, &token, "GET", &format!("/admin/realms/{name}/users/count"), None).json(), json!(4));
    assert_eq!(call(srv, &token, "DELETE", &format!("/admin/realms/{name}"), None).status, 204);
}
