//! Authorization Services / UMA 2.0 as keycloak-js's `keycloak-js/authz` uses it: the UMA
//! discovery document, the protection API's permission endpoint (tickets), the token
//! endpoint's `uma-ticket` grant (RPTs, entitlement, incremental authorization, errors),
//! policy evaluation, the realm import and the Admin API settings.

mod common;
use common::*;
use serde_json::{json, Value};

const PHOTOZ: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/realms/photoz-authz.json");
const ALBUM: &str = "a1b0a1b0-0000-4000-8000-00000000a1b0";
const APP: &str = "http://localhost:3000";
const UMA: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";

/// The demo realm with exactly what an e2e test adds to it (`realms/photoz-authz.json`):
/// its `clients` appended, its `roles.client` merged.
fn demo_with_photoz() -> Value {
    let mut demo: Value = serde_json::from_str(&std::fs::read_to_string(DEMO_REALM).unwrap()).unwrap();
    let add: Value = serde_json::from_str(&std::fs::read_to_string(PHOTOZ).unwrap()).unwrap();
    demo["clients"].as_array_mut().unwrap().extend(add["clients"].as_array().unwrap().iter().cloned());
    for (k, v) in add["roles"]["client"].as_object().unwrap() {
        demo["roles"]["client"][k] = v.clone();
    }
    demo
}

/// A resource server of the `lab` realm: resources, policies of every emulated type and
/// permissions with each decision strategy; `strategy` is the server's own.
fn lab_server(client_id: &str, strategy: &str, enforcement: &str, attributes: Value) -> Value {
    let res = |name: &str, scopes: &[&str]| {
        json!({ "name": name, "type": "urn:lab:resources:doc", "uris": [format!("/{name}")],
                "scopes": scopes.iter().map(|s| json!({"name": s})).collect::<Vec<_>>() })
    };
    let role = |name: &str, roles: &str| json!({ "name": name, "type": "role", "config": { "roles": roles } });
    let perm = |name: &str, kind: &str, resource: &str, scopes: &[&str], apply: &[&str], strategy: &str| {
        let mut config = json!({ "resources": json!([resource]).to_string(), "applyPolicies": json!(apply).to_string() });
        if !scopes.is_empty() {
            config["scopes"] = json!(scopes).to_string().into();
        }
        json!({ "name": name, "type": kind, "logic": "POSITIVE", "decisionStrategy": strategy, "config": config })
    };
    json!({
        "clientId": client_id, "enabled": true, "publicClient": false, "secret": format!("{client_id}-secret"),
        "standardFlowEnabled": false, "serviceAccountsEnabled": true, "authorizationServicesEnabled": true,
        "attributes": attributes,
        "authorizationSettings": {
            "policyEnforcementMode": enforcement, "decisionStrategy": strategy,
            "resources": [
                res("doc", &["read", "write"]), res("report-any", &[]), res("report-all", &[]), res("report-most", &[]),
                res("memo", &[]), res("vault", &[]), res("audit", &[]), res("web-only", &[]), res("orphan", &[])
            ],
            "policies": [
                role("readers", r#"[{"id":"reader","required":false}]"#),
                role("writers", r#"[{"id":"writer","required":false}]"#),
                role("auditors", r#"[{"id":"lab-api/auditor","required":true}]"#),
                { "name": "not writers", "type": "role", "logic": "NEGATIVE", "config": { "roles": r#"[{"id":"writer"}]"# } },
                { "name": "alice", "type": "user", "config": { "users": r#"["alice"]"# } },
                { "name": "web client", "type": "client", "config": { "clients": r#"["web"]"# } },
                { "name": "readers and writers", "type": "aggregate", "decisionStrategy": "UNANIMOUS",
                  "config": { "applyPolicies": r#"["readers","writers"]"# } },
                perm("doc read", "scope", "doc", &["read"], &["readers"], "UNANIMOUS"),
                perm("doc write", "scope", "doc", &["write"], &["writers"], "UNANIMOUS"),
                perm("doc for alice", "resource", "doc", &[], &["alice"], "UNANIMOUS"),
                perm("any of both", "resource", "report-any", &[], &["readers", "writers"], "AFFIRMATIVE"),
                perm("all of both", "resource", "report-all", &[], &["readers", "writers"], "UNANIMOUS"),
                perm("most of three", "resource", "report-most", &[], &["readers", "writers", "alice"], "CONSENSUS"),
                perm("memo", "resource", "memo", &[], &["readers and writers"], "UNANIMOUS"),
                perm("vault", "resource", "vault", &[], &["not writers"], "UNANIMOUS"),
                perm("audit", "resource", "audit", &[], &["auditors"], "UNANIMOUS"),
                perm("web only", "resource", "web-only", &[], &["web client"], "UNANIMOUS")
            ]
        }
    })
}

fn lab_realm() -> Value {
    let user = |name: &str, realm_roles: &[&str], client_roles: Value| {
        json!({ "username": name, "enabled": true, "email": format!("{name}@lab.test"),
                "credentials": [{"type": "password", "value": name}], "realmRoles": realm_roles, "clientRoles": client_roles })
    };
    json!({
        "realm": "lab", "enabled": true,
        "roles": { "realm": [{"name": "reader"}, {"name": "writer"}], "client": { "lab-api": [{"name": "auditor"}] } },
        "clients": [
            { "clientId": "web", "publicClient": true, "redirectUris": [format!("{APP}/*")], "webOrigins": [APP] },
            { "clientId": "other-web", "publicClient": true, "redirectUris": ["http://other.localhost:4000/*"], "webOrigins": ["+"] },
            { "clientId": "lab-api", "publicClient": false, "secret": "lab-api-secret" },
            lab_server("rs-u", "UNANIMOUS", "ENFORCING", json!({})),
            lab_server("rs-a", "AFFIRMATIVE", "ENFORCING", json!({})),
            lab_server("rs-c", "CONSENSUS", "ENFORCING", json!({})),
            lab_server("rs-admin", "UNANIMOUS", "ENFORCING", json!({})),
            lab_server("rs-short", "UNANIMOUS", "ENFORCING", json!({ "access.token.lifespan": "2" }))
        ],
        "users": [
            user("alice", &["reader"], json!({})),
            user("bob", &["writer"], json!({})),
            user("carol", &["reader", "writer"], json!({})),
            user("dave", &[], json!({})),
            user("erin", &[], json!({ "lab-api": ["auditor"] }))
        ]
    })
}

fn write(name: &str, v: &Value) -> String {
    let dir = std::env::temp_dir().join(format!("realm-authz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join(name);
    std::fs::write(&f, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    f.to_str().unwrap().to_string()
}

/// One server for this binary: `demo` with the photoz fixture, and `lab`.
fn srv() -> &'static Server {
    static S: std::sync::OnceLock<Server> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let (demo, lab) = (write("demo.json", &demo_with_photoz()), write("lab.json", &lab_realm()));
        Server::with_args(&["--import", &demo, "--import", &lab])
    })
}

fn token_path(realm: &str) -> String {
    format!("/realms/{realm}/protocol/openid-connect/token")
}

/// A user's access token (password grant of the realm's public client).
fn user_token(realm: &str, user: &str) -> String {
    let client = if realm == "demo" { "demo-app" } else { "web" };
    let r = srv().post_form(
        &token_path(realm),
        &[],
        &[("grant_type", "password"), ("client_id", client), ("username", user), ("password", user)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["access_token"].as_str().unwrap().to_string()
}

/// A resource server's PAT (client credentials).
fn pat(realm: &str, client: &str) -> String {
    let secret = format!("{client}-secret");
    let r = srv().post_form(
        &token_path(realm),
        &[],
        &[("grant_type", "client_credentials"), ("client_id", client), ("client_secret", &secret)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["access_token"].as_str().unwrap().to_string()
}

/// `grant_type=uma-ticket` with the token as Bearer (keycloak-authz.js's request), from the
/// app's origin.
fn uma(realm: &str, token: &str, form: &[(&str, &str)]) -> Resp {
    let auth = format!("Bearer {token}");
    let mut f = vec![("grant_type", UMA)];
    f.extend_from_slice(form);
    srv().post_form(&token_path(realm), &[("Authorization", &auth), ("Origin", APP)], &f)
}

fn permissions(rpt: &str) -> Value {
    jwt_part(rpt, 1)["authorization"]["permissions"].clone()
}

/// `rsname` → sorted scopes of the RPT of a 200 answer.
fn granted(r: &Resp) -> std::collections::BTreeMap<String, Vec<String>> {
    assert_eq!(r.status, 200, "{}", r.body);
    let perms = permissions(r.json()["access_token"].as_str().unwrap());
    perms
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let mut s: Vec<String> = p["scopes"].as_array().map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect()).unwrap_or_default();
            s.sort();
            (p["rsname"].as_str().unwrap().to_string(), s)
        })
        .collect()
}

fn assert_error(r: &Resp, status: u16, error: &str, description: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.json(), json!({ "error": error, "error_description": description }), "{}", r.body);
}

fn names(list: &[(&str, &[&str])]) -> std::collections::BTreeMap<String, Vec<String>> {
    list.iter().map(|(n, s)| (n.to_string(), s.iter().map(|x| x.to_string()).collect())).collect()
}

// ------------------------------------------------------------------ discovery

#[test]
fn uma2_configuration() {
    let srv = srv();
    let r = srv.get("/realms/demo/.well-known/uma2-configuration", &[("Origin", APP)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), Some(APP));
    let v = r.json();
    let iss = format!("{}/realms/demo", srv.base());
    assert_eq!(v["issuer"], iss.as_str());
    assert_eq!(v["token_endpoint"], format!("{iss}/protocol/openid-connect/token").as_str());
    assert_eq!(v["authorization_endpoint"], format!("{iss}/protocol/openid-connect/auth").as_str());
    assert_eq!(v["jwks_uri"], format!("{iss}/protocol/openid-connect/certs").as_str());
    assert_eq!(v["end_session_endpoint"], format!("{iss}/protocol/openid-connect/logout").as_str());
    assert_eq!(v["introspection_endpoint"], format!("{iss}/protocol/openid-connect/token/introspect").as_str());
    assert_eq!(v["permission_endpoint"], format!("{iss}/authz/protection/permission").as_str());
    assert_eq!(v["resource_registration_endpoint"], format!("{iss}/authz/protection/resource_set").as_str());
    assert_eq!(v["policy_endpoint"], format!("{iss}/authz/protection/uma-policy").as_str());
    assert!(v["grant_types_supported"].as_array().unwrap().contains(&json!(UMA)));
    for k in ["scopes_supported", "response_types_supported", "response_modes_supported", "token_endpoint_auth_methods_supported"] {
        assert!(v[k].is_array(), "{k}");
    }
    assert!(v.get("userinfo_endpoint").is_none(), "not in the UMA document");
    let pre = request(
        srv.port,
        "OPTIONS",
        "/realms/demo/.well-known/uma2-configuration",
        &[("Origin", APP), ("Access-Control-Request-Method", "GET")],
        None,
    );
    assert_eq!(pre.status, 200);
    assert_eq!(pre.header("access-control-allow-origin"), Some(APP));
    // The token endpoint's preflight lets the page send Authorization.
    let pre = request(
        srv.port,
        "OPTIONS",
        "/realms/demo/protocol/openid-connect/token",
        &[("Origin", APP), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "authorization,content-type")],
        None,
    );
    assert!(pre.header("access-control-allow-headers").unwrap().contains("Authorization"));
}

// ------------------------------------------------------------------ entitlement

#[test]
fn entitlement_for_all_permissions_of_a_resource_server() {
    let alice = user_token("demo", "alice");
    let r = uma("demo", &alice, &[("audience", "photoz-api")]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), Some(APP));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let v = r.json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(keys, ["access_token", "expires_in", "refresh_expires_in", "refresh_token", "token_type", "not-before-policy", "upgraded"]);
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["upgraded"], false);
    let rpt = v["access_token"].as_str().unwrap();
    assert_eq!(permissions(rpt), json!([{ "rsid": ALBUM, "rsname": "album", "scopes": ["album:view"] }]));
    let claims = jwt_part(rpt, 1);
    let user = jwt_part(&alice, 1);
    assert_eq!(claims["azp"], "demo-app");
    assert_eq!(claims["typ"], "Bearer");
    assert_eq!(claims["sub"], user["sub"]);
    assert_eq!(claims["sid"], user["sid"]);
    let aud: Vec<&str> = claims["aud"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert!(aud.contains(&"photoz-api") && aud.contains(&"account"), "{aud:?}");
    assert!(claims["realm_access"]["roles"].as_array().unwrap().contains(&json!("user")));
    // The RPT is a normal access token: userinfo takes it.
    let auth = format!("Bearer {rpt}");
    let info = srv().get("/realms/demo/protocol/openid-connect/userinfo", &[("Authorization", &auth)]);
    assert_eq!(info.status, 200, "{}", info.body);

    // bob may do nothing.
    let bob = user_token("demo", "bob");
    let r = uma("demo", &bob, &[("audience", "photoz-api")]);
    assert_error(&r, 403, "access_denied", "not_authorized");
    assert_eq!(r.header("access-control-allow-origin"), Some(APP), "errors carry CORS too");
}

#[test]
fn one_resource_and_scope() {
    let alice = user_token("demo", "alice");
    for p in ["album#album:view", &format!("{ALBUM}#album:view"), "album"] {
        let r = uma("demo", &alice, &[("audience", "photoz-api"), ("permission", p)]);
        assert_eq!(granted(&r), names(&[("album", &["album:view"])]), "{p}");
    }
    // Nobody may delete.
    for p in ["album#album:delete", &format!("{ALBUM}#album:delete")] {
        let r = uma("demo", &alice, &[("audience", "photoz-api"), ("permission", p)]);
        assert_error(&r, 403, "access_denied", "not_authorized");
    }
    // Both asked: view only.
    let r = uma("demo", &alice, &[("audience", "photoz-api"), ("permission", "album#album:view,album:delete")]);
    assert_eq!(granted(&r), names(&[("album", &["album:view"])]));
    // A scope alone (`#scope`): the resources having it.
    let r = uma("demo", &alice, &[("audience", "photoz-api"), ("permission", "#album:view")]);
    assert_eq!(granted(&r), names(&[("album", &["album:view"])]));
    // response_include_resource_name=false: no rsname.
    let r = uma("demo", &alice, &[("audience", "photoz-api"), ("permission", "album"), ("response_include_resource_name", "false")]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(permissions(r.json()["access_token"].as_str().unwrap()), json!([{ "rsid": ALBUM, "scopes": ["album:view"] }]));
    // response_mode.
    let r = uma("demo", &alice, &[("audience", "photoz-api"), ("permission", "album#album:view"), ("response_mode", "decision")]);
    assert_eq!((r.status, r.json()), (200, json!({ "result": true })));
    let r = uma("demo", &alice, &[("audience", "photoz-api"), ("response_mode", "permissions")]);
    assert_eq!((r.status, r.json()), (200, json!([{ "rsid": ALBUM, "rsname": "album", "scopes": ["album:view"] }])));
    let r = uma("demo", &alice, &[("audience", "photoz-api"), ("permission", "album#album:delete"), ("response_mode", "decision")]);
    assert_error(&r, 403, "access_denied", "not_authorized");
    let r = uma("demo", &alice, &[("audience", "photoz-api"), ("response_mode", "nope")]);
    assert_error(&r, 400, "invalid_request", "Invalid response_mode");
}

/// keycloak-authz.js concatenates its body without URL encoding and repeats `permission`.
#[test]
fn raw_body_with_repeated_permissions() {
    let alice = user_token("lab", "alice");
    let body = format!("grant_type={UMA}&client_id=web&audience=rs-u&permission=vault&permission=report-any&permission=doc#read");
    let auth = format!("Bearer {alice}");
    let r = request(
        srv().port,
        "POST",
        &token_path("lab"),
        &[("Authorization", &auth), ("Content-Type", "application/x-www-form-urlencoded"), ("Origin", APP)],
        Some(body.as_bytes()),
    );
    assert_eq!(granted(&r), names(&[("doc", &["read"]), ("report-any", &[]), ("vault", &[])]));
    assert_eq!(r.header("access-control-allow-origin"), Some(APP));
}

// ------------------------------------------------------------------ tickets (UMA flow)

#[test]
fn permission_ticket_flow() {
    let srv = srv();
    let pat = pat("demo", "photoz-api");
    let claims = jwt_part(&pat, 1);
    assert!(claims.get("sid").is_none(), "a PAT has no session");
    let ask = |token: &str, body: &Value| {
        let auth = format!("Bearer {token}");
        let bytes = serde_json::to_vec(body).unwrap();
        request(
            srv.port,
            "POST",
            "/realms/demo/authz/protection/permission",
            &[("Authorization", &auth), ("Content-Type", "application/json")],
            Some(&bytes),
        )
    };
    let r = ask(&pat, &json!([{ "resource_id": ALBUM, "resource_scopes": ["album:view"] }]));
    assert_eq!(r.status, 201, "{}", r.body);
    let ticket = r.json()["ticket"].as_str().unwrap().to_string();
    let t = jwt_part(&ticket, 1);
    assert_eq!(t["permissions"], json!([{ "rsid": ALBUM, "scopes": ["album:view"] }]));
    assert_eq!(t["azp"], "photoz-api");
    assert_eq!(t["aud"], format!("{}/realms/demo", srv.base()).as_str());
    assert_eq!(t["exp"], claims["exp"], "the ticket expires with the PAT");
    assert_eq!(t["sub"], claims["sub"]);

    // alice exchanges it (keycloak-authz.js `authorize`: ticket, no audience).
    let alice = user_token("demo", "alice");
    let r = uma("demo", &alice, &[("client_id", "demo-app"), ("ticket", &ticket)]);
    assert_eq!(granted(&r), names(&[("album", &["album:view"])]));
    let rpt = r.json()["access_token"].as_str().unwrap().to_string();
    assert!(jwt_part(&rpt, 1)["aud"].as_array().unwrap().contains(&json!("photoz-api")));
    // bob cannot: submit_request absent = true → request_submitted; false → not_authorized.
    let bob = user_token("demo", "bob");
    let r = uma("demo", &bob, &[("ticket", &ticket)]);
    assert_error(&r, 403, "access_denied", "request_submitted");
    let r = uma("demo", &bob, &[("ticket", &ticket), ("submit_request", "true")]);
    assert_error(&r, 403, "access_denied", "request_submitted");
    let r = uma("demo", &bob, &[("ticket", &ticket), ("submit_request", "false")]);
    assert_error(&r, 403, "access_denied", "not_authorized");
    // A ticket for delete: nobody.
    let r = ask(&pat, &json!([{ "resource_id": "album", "resource_scopes": ["album:delete"] }]));
    assert_eq!(r.status, 201, "{}", r.body);
    let delete_ticket = r.json()["ticket"].as_str().unwrap().to_string();
    assert_eq!(jwt_part(&delete_ticket, 1)["permissions"], json!([{ "rsid": ALBUM, "scopes": ["album:delete"] }]), "names resolve to ids");
    let r = uma("demo", &alice, &[("ticket", &delete_ticket)]);
    assert_error(&r, 403, "access_denied", "request_submitted");
    // A ticket with an RPT: the ticket's permissions must all be granted.
    let r = uma("demo", &alice, &[("ticket", &ticket), ("rpt", &rpt)]);
    assert_eq!(granted(&r), names(&[("album", &["album:view"])]));
    assert_eq!(r.json()["upgraded"], true);

    // Bad tickets.
    let r = uma("demo", &alice, &[("ticket", "not-a-ticket")]);
    assert_error(&r, 403, "invalid_ticket", "Ticket verification failed");
    let mut forged = ticket.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    let r = uma("demo", &alice, &[("ticket", &forged)]);
    assert_error(&r, 403, "invalid_ticket", "Ticket verification failed");

    // Protection API errors.
    let r = request(srv.port, "POST", "/realms/demo/authz/protection/permission", &[("Content-Type", "application/json")], Some(b"[]"));
    assert_error(&r, 403, "invalid_bearer_token", "Could not obtain bearer access_token from request.");
    let r = ask("garbage", &json!([{ "resource_id": ALBUM }]));
    assert_error(&r, 403, "invalid_bearer_token", "Could not obtain bearer access_token from request.");
    let r = ask(&alice, &json!([{ "resource_id": ALBUM }]));
    assert_error(&r, 403, "invalid_clientId", "Client application [demo-app] is not registered as a resource server.");
    let r = ask(&pat, &json!([]));
    assert_error(&r, 400, "invalid_permission_request", "Invalid permission request.");
    let r = ask(&pat, &json!([{ "resource_scopes": [] }]));
    assert_error(&r, 400, "invalid_resource_id", "Resource id or name not provided.");
    let r = ask(&pat, &json!([{ "resource_id": "nope" }]));
    assert_error(&r, 400, "invalid_resource_id", "Resource set with id [nope] does not exists in this server.");
    let r = ask(&pat, &json!([{ "resource_id": ALBUM, "resource_scopes": ["album:edit"] }]));
    assert_error(&r, 400, "invalid_scope", "Scope [album:edit] is invalid");
    let r = request(srv.port, "GET", "/realms/demo/authz/protection/permission", &[], None);
    assert_eq!(r.status, 405);
}

#[test]
fn expired_ticket() {
    // rs-short's tokens live two seconds; its tickets too.
    let pat = pat("lab", "rs-short");
    let auth = format!("Bearer {pat}");
    let r = request(
        srv().port,
        "POST",
        "/realms/lab/authz/protection/permission",
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        Some(br#"[{"resource_id":"vault"}]"#),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let ticket = r.json()["ticket"].as_str().unwrap().to_string();
    let alice = user_token("lab", "alice");
    std::thread::sleep(std::time::Duration::from_millis(3100));
    let r = uma("lab", &alice, &[("ticket", &ticket)]);
    assert_error(&r, 403, "invalid_ticket", "Invalid permission ticket.");
}

// ------------------------------------------------------------------ incremental authorization

#[test]
fn incremental_authorization_with_rpt() {
    let alice = user_token("lab", "alice");
    let r = uma("lab", &alice, &[("audience", "rs-u"), ("permission", "report-any")]);
    assert_eq!(granted(&r), names(&[("report-any", &[])]));
    let rpt1 = r.json()["access_token"].as_str().unwrap().to_string();
    // A new permission with the RPT: both, upgraded.
    let r = uma("lab", &alice, &[("audience", "rs-u"), ("permission", "vault"), ("rpt", &rpt1)]);
    assert_eq!(granted(&r), names(&[("report-any", &[]), ("vault", &[])]));
    assert_eq!(r.json()["upgraded"], true);
    let rpt2 = r.json()["access_token"].as_str().unwrap().to_string();
    // keycloak-authz.js `entitlement` with the RPT and no permission: the RPT's permissions
    // are evaluated again (not all of the server's).
    let r = uma("lab", &alice, &[("audience", "rs-u"), ("rpt", &rpt2)]);
    assert_eq!(granted(&r), names(&[("report-any", &[]), ("vault", &[])]));
    // With an RPT, a permission that is not granted denies the whole request.
    let r = uma("lab", &alice, &[("audience", "rs-u"), ("permission", "report-all"), ("rpt", &rpt2)]);
    assert_error(&r, 403, "access_denied", "not_authorized");
    // response_permissions_limit with an RPT keeps the last N asked.
    let r = uma("lab", &alice, &[("audience", "rs-u"), ("permission", "memo-x"), ("rpt", &rpt2)]);
    assert_error(&r, 400, "invalid_resource", "Resource with id [memo-x] does not exist.");
    let r = uma("lab", &alice, &[("audience", "rs-u"), ("permission", "report-most"), ("rpt", &rpt2), ("response_permissions_limit", "1")]);
    assert_eq!(granted(&r), names(&[("report-most", &[])]));
    assert_eq!(r.json()["upgraded"], false);
    let r = uma("lab", &alice, &[("audience", "rs-u"), ("response_permissions_limit", "2")]);
    assert_eq!(r.status, 200, "{}", r.body);
    // An RPT of another resource server brings nothing along.
    let r = uma("lab", &alice, &[("audience", "rs-a"), ("permission", "vault"), ("rpt", &rpt2)]);
    assert_eq!(granted(&r), names(&[("vault", &[])]));
}

// ------------------------------------------------------------------ policy evaluation

#[test]
fn policies_and_decision_strategies() {
    let all = |user: &str, rs: &str| {
        let t = user_token("lab", user);
        let r = uma("lab", &t, &[("audience", rs)]);
        if r.status == 403 {
            assert_error(&r, 403, "access_denied", "not_authorized");
            return Default::default();
        }
        granted(&r)
    };
    // Permission strategies (AFFIRMATIVE/UNANIMOUS/CONSENSUS), role, user, client, aggregate
    // and NEGATIVE policies; the server's UNANIMOUS: alice's resource permission on doc does
    // not beat the denied write scope permission.
    assert_eq!(
        all("alice", "rs-u"),
        names(&[
            ("doc", &["read"]),
            ("report-any", &[]),
            ("report-most", &[]),
            ("vault", &[]),
            ("web-only", &[])
        ])
    );
    // A denied resource permission denies every scope of its resource (UNANIMOUS): bob and
    // carol get nothing of doc here, though scope permissions grant them scopes.
    assert_eq!(all("bob", "rs-u"), names(&[("report-any", &[]), ("web-only", &[])]));
    assert_eq!(
        all("carol", "rs-u"),
        names(&[
            ("report-all", &[]),
            ("report-any", &[]),
            ("report-most", &[]),
            ("memo", &[]),
            ("web-only", &[])
        ])
    );
    assert_eq!(all("dave", "rs-u"), names(&[("vault", &[]), ("web-only", &[])]));
    assert_eq!(all("erin", "rs-u"), names(&[("audit", &[]), ("vault", &[]), ("web-only", &[])]));
    // AFFIRMATIVE server: a granted scope stays granted though another permission denies it.
    assert_eq!(all("alice", "rs-a")["doc"], ["read", "write"]);
    assert_eq!(all("bob", "rs-a")["doc"], ["write"]);
    assert_eq!(all("carol", "rs-a")["doc"], ["read", "write"]);
    // CONSENSUS at the server level is UNANIMOUS in Keycloak's collector.
    assert_eq!(all("alice", "rs-c")["doc"], ["read"]);

    // The client policy looks at the token's client.
    let other = {
        let r = srv().post_form(
            &token_path("lab"),
            &[],
            &[("grant_type", "password"), ("client_id", "other-web"), ("username", "alice"), ("password", "alice")],
        );
        r.json()["access_token"].as_str().unwrap().to_string()
    };
    let r = uma("lab", &other, &[("audience", "rs-u"), ("permission", "web-only")]);
    assert_error(&r, 403, "access_denied", "not_authorized");
    assert_eq!(r.header("access-control-allow-origin"), None, "other-web does not allow {APP}");
    // The resource server itself (no bearer: its credentials, its service account, which is
    // no writer): a session-less RPT, no refresh token.
    let r = srv().post_form(
        &token_path("lab"),
        &[],
        &[("grant_type", UMA), ("client_id", "rs-u"), ("client_secret", "rs-u-secret"), ("audience", "rs-u")],
    );
    assert_eq!(granted(&r), names(&[("vault", &[])]));
    assert!(r.json().get("refresh_token").is_none());
    let rpt = jwt_part(r.json()["access_token"].as_str().unwrap(), 1);
    assert_eq!(rpt["azp"], "rs-u");
    assert!(rpt.get("sid").is_none());
}

// ------------------------------------------------------------------ errors

#[test]
fn grant_errors() {
    let alice = user_token("lab", "alice");
    let e = |form: &[(&str, &str)], status: u16, error: &str, desc: &str| {
        let r = uma("lab", &alice, form);
        assert_error(&r, status, error, desc);
        assert_eq!(r.header("access-control-allow-origin"), Some(APP), "{form:?}");
    };
    e(&[], 400, "invalid_request", "You must provide the issuedFor");
    e(&[("audience", "nope")], 400, "invalid_request", "Unknown resource server id: [nope]");
    e(&[("audience", "web")], 400, "invalid_request", "Client does not support permissions");
    e(&[("audience", "rs-u"), ("permission", "nope")], 400, "invalid_resource", "Resource with id [nope] does not exist.");
    e(&[("audience", "rs-u"), ("permission", "doc#nope")], 400, "invalid_scope", "One of the given scopes [nope] is invalid");
    e(&[("audience", "rs-u"), ("rpt", "garbage")], 403, "invalid_rpt", "RPT signature is invalid");
    e(&[("audience", "rs-u"), ("claim_token", "e30")], 403, "invalid_grant", "Public clients are not allowed to send claims");
    e(
        &[("audience", "rs-u"), ("ticket", "x"), ("claim_token", "e30"), ("claim_token_format", "urn:nope")],
        403,
        "invalid_ticket",
        "Ticket verification failed",
    );
    // Unused permissions: a resource without a permission is never granted (ENFORCING).
    e(&[("audience", "rs-u"), ("permission", "orphan")], 403, "access_denied", "not_authorized");

    // The bearer token: invalid (CORS still by its client) or missing.
    let r = uma("lab", "undefined", &[("audience", "rs-u")]);
    assert_error(&r, 401, "invalid_grant", "Invalid bearer token");
    let mut bad = alice.clone();
    bad.replace_range(bad.len() - 4.., "AAAA");
    let r = uma("lab", &bad, &[("audience", "rs-u")]);
    assert_error(&r, 401, "invalid_grant", "Invalid bearer token");
    assert_eq!(r.header("access-control-allow-origin"), Some(APP));
    let r = srv().post_form(&token_path("lab"), &[("Origin", APP)], &[("grant_type", UMA), ("client_id", "web"), ("audience", "rs-u")]);
    assert_error(&r, 401, "unauthorized_client", "Public client not allowed to retrieve service account");
    let r = srv().post_form(&token_path("lab"), &[], &[("grant_type", UMA), ("audience", "rs-u")]);
    assert_error(&r, 401, "invalid_client", "Invalid client or Invalid client credentials");
    // A limit that is no number: Keycloak's unhandled NumberFormatException.
    let t = user_token("lab", "carol");
    let r = uma("lab", &t, &[("audience", "rs-u"), ("response_permissions_limit", "x")]);
    assert_error(&r, 500, "unknown_error", "For more on this error consult the server log.");
}

// ------------------------------------------------------------------ import and Admin API

#[test]
fn import_errors() {
    let run = |realm: Value| {
        let f = write(&format!("bad-{}.json", realm["clients"][0]["clientId"].as_str().unwrap()), &realm);
        let out = std::process::Command::new(BIN).args(["--port", "0", "--import", &f]).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let public = json!({ "realm": "x", "enabled": true, "clients": [
        { "clientId": "pub", "publicClient": true, "authorizationServicesEnabled": true }] });
    assert!(run(public).contains("Only confidential clients are allowed to set authorization settings"));
    let user = json!({ "realm": "x", "enabled": true, "clients": [
        { "clientId": "rs", "authorizationServicesEnabled": true, "authorizationSettings": {
            "policies": [{ "name": "p", "type": "user", "config": { "users": "[\"ghost\"]" } }] } }] });
    assert!(run(user).contains("Error while updating policy [p]. User [ghost] could not be found."));
}

#[test]
fn service_account_and_uma_protection_role() {
    let srv = srv();
    let token = admin_token();
    let r = admin_call(srv, &token, "GET", "/admin/realms/demo/clients?clientId=photoz-api", None);
    let c = &r.json()[0];
    assert_eq!(c["authorizationServicesEnabled"], true);
    assert_eq!(c["serviceAccountsEnabled"], true);
    let id = c["id"].as_str().unwrap();
    let r = admin_call(srv, &token, "GET", &format!("/admin/realms/demo/clients/{id}/service-account-user"), None);
    let uid = r.json()["id"].as_str().unwrap().to_string();
    let r = admin_call(srv, &token, "GET", &format!("/admin/realms/demo/users/{uid}/role-mappings/clients/{id}"), None);
    assert_eq!(r.json()[0]["name"], "uma_protection", "{}", r.body);
    let r = admin_call(srv, &token, "GET", "/admin/realms/demo/clients?clientId=demo-app", None);
    assert!(r.json()[0].get("authorizationServicesEnabled").is_none());
}

fn admin_token() -> String {
    let r = srv().post_form(
        &token_path("master"),
        &[],
        &[("grant_type", "password"), ("client_id", "admin-cli"), ("username", "admin"), ("password", "admin")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["access_token"].as_str().unwrap().to_string()
}

#[test]
fn admin_api_settings() {
    let srv = srv();
    let token = admin_token();
    let id = admin_call(srv, &token, "GET", "/admin/realms/lab/clients?clientId=rs-admin", None).json()[0]["id"].as_str().unwrap().to_string();
    let base = format!("/admin/realms/lab/clients/{id}/authz/resource-server");
    let r = admin_call(srv, &token, "GET", &base, None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["policyEnforcementMode"], "ENFORCING");
    assert_eq!(r.json()["decisionStrategy"], "UNANIMOUS");
    let r = admin_call(srv, &token, "GET", &format!("{base}/settings"), None);
    let settings = r.json();
    let alice = settings["policies"].as_array().unwrap().iter().find(|p| p["name"] == "alice").unwrap().clone();
    assert_eq!(alice["config"]["users"], r#"["alice"]"#);
    let doc_read = settings["policies"].as_array().unwrap().iter().find(|p| p["name"] == "doc read").unwrap().clone();
    assert_eq!(doc_read["config"]["scopes"], r#"["read"]"#);
    assert_eq!(doc_read["config"]["applyPolicies"], r#"["readers"]"#);
    assert_eq!(admin_call(srv, &token, "GET", &format!("{base}/resource"), None).json().as_array().unwrap().len(), 9);

    // dave sees vault and web-only; PERMISSIVE adds orphan (no permission at all).
    let dave = user_token("lab", "dave");
    let r = admin_call(srv, &token, "PUT", &base, Some(&json!({ "policyEnforcementMode": "PERMISSIVE" })));
    assert_eq!(r.status, 204, "{}", r.body);
    let r = uma("lab", &dave, &[("audience", "rs-admin")]);
    assert_eq!(granted(&r), names(&[("orphan", &[]), ("vault", &[]), ("web-only", &[])]));
    // Import: a resource and a permission for dave.
    let r = admin_call(
        srv,
        &token,
        "POST",
        &format!("{base}/import"),
        Some(&json!({
            "policyEnforcementMode": "ENFORCING",
            "resources": [{ "name": "dave's", "scopes": [{ "name": "read" }] }],
            "policies": [
                { "name": "dave", "type": "user", "config": { "users": "[\"dave\"]" } },
                { "name": "dave's", "type": "resource", "config": { "resources": "[\"dave's\"]", "applyPolicies": "[\"dave\"]" } }
            ]
        })),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let r = uma("lab", &dave, &[("audience", "rs-admin")]);
    assert_eq!(granted(&r), names(&[("dave's", &["read"]), ("vault", &[]), ("web-only", &[])]));
    let r = admin_call(srv, &token, "POST", &format!("{base}/import"), Some(&json!({ "policies": [{ "name": "x", "type": "user", "config": { "users": "[\"ghost\"]" } }] })));
    assert_eq!(r.status, 500);
    // DISABLED: everything.
    let r = admin_call(srv, &token, "PUT", &base, Some(&json!({ "policyEnforcementMode": "DISABLED" })));
    assert_eq!(r.status, 204);
    let r = uma("lab", &dave, &[("audience", "rs-admin"), ("permission", "doc")]);
    assert_eq!(granted(&r), names(&[("doc", &["read", "write"])]));

    // A client PUT without authorizationServicesEnabled: true switches it off (Keycloak).
    let client = admin_call(srv, &token, "GET", &format!("/admin/realms/lab/clients/{id}"), None).json();
    let mut off = client.clone();
    off.as_object_mut().unwrap().remove("authorizationServicesEnabled");
    assert_eq!(admin_call(srv, &token, "PUT", &format!("/admin/realms/lab/clients/{id}"), Some(&off)).status, 204);
    let r = uma("lab", &dave, &[("audience", "rs-admin")]);
    assert_error(&r, 400, "invalid_request", "Client does not support permissions");
    assert_eq!(admin_call(srv, &token, "GET", &base, None).status, 404);
    // On again: an empty resource server.
    assert_eq!(admin_call(srv, &token, "PUT", &format!("/admin/realms/lab/clients/{id}"), Some(&client)).status, 204);
    let r = admin_call(srv, &token, "GET", &format!("{base}/settings"), None);
    assert_eq!(r.json()["resources"], json!([]));
    let r = uma("lab", &dave, &[("audience", "rs-admin")]);
    assert_error(&r, 403, "access_denied", "not_authorized");

    // A client created with settings.
    let mut created = lab_server("rs-new", "AFFIRMATIVE", "ENFORCING", json!({}));
    created["clientId"] = "rs-new".into();
    let r = admin_call(srv, &token, "POST", "/admin/realms/lab/clients", Some(&created));
    assert_eq!(r.status, 201, "{}", r.body);
    let alice = user_token("lab", "alice");
    let r = uma("lab", &alice, &[("audience", "rs-new"), ("permission", "doc")]);
    assert_eq!(granted(&r), names(&[("doc", &["read", "write"])]));
    // Roles view-/manage-authorization.
    let r = request(srv.port, "GET", &format!("/admin/realms/lab/clients/{id}/authz/resource-server"), &[], None);
    assert_eq!(r.status, 401);
}

// ------------------------------------------------------------------ the e2e fixture

/// `realms/photoz-authz.json` added to the demo realm (what an e2e test does): alice may
/// view albums, bob nothing, nobody may delete; the resource server gets tickets with its
/// PAT.
#[test]
fn photoz_fixture_on_the_demo_realm() {
    let srv = Server::with_realm(&serde_json::to_string(&demo_with_photoz()).unwrap());
    let token = |user: &str| {
        let r = srv.post_form(
            &token_path("demo"),
            &[],
            &[("grant_type", "password"), ("client_id", "demo-app"), ("username", user), ("password", user)],
        );
        r.json()["access_token"].as_str().unwrap().to_string()
    };
    let call = |t: &str, form: &[(&str, &str)]| {
        let auth = format!("Bearer {t}");
        let mut f = vec![("grant_type", UMA), ("client_id", "demo-app")];
        f.extend_from_slice(form);
        srv.post_form(&token_path("demo"), &[("Authorization", &auth), ("Origin", "http://app.localhost:3000")], &f)
    };
    let (alice, bob) = (token("alice"), token("bob"));
    let r = call(&alice, &[("audience", "photoz-api")]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), Some("http://app.localhost:3000"));
    assert_eq!(permissions(r.json()["access_token"].as_str().unwrap()), json!([{ "rsid": ALBUM, "rsname": "album", "scopes": ["album:view"] }]));
    assert_error(&call(&bob, &[("audience", "photoz-api")]), 403, "access_denied", "not_authorized");
    assert_error(&call(&alice, &[("audience", "photoz-api"), ("permission", "album#album:delete")]), 403, "access_denied", "not_authorized");
    // The ticket flow.
    let r = srv.post_form(
        &token_path("demo"),
        &[],
        &[("grant_type", "client_credentials"), ("client_id", "photoz-api"), ("client_secret", "photoz-api-secret")],
    );
    let pat = r.json()["access_token"].as_str().unwrap().to_string();
    let auth = format!("Bearer {pat}");
    let r = request(
        srv.port,
        "POST",
        "/realms/demo/authz/protection/permission",
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        Some(br#"[{"resource_id":"album","resource_scopes":["album:view"]}]"#),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let ticket = r.json()["ticket"].as_str().unwrap().to_string();
    assert_eq!(call(&alice, &[("ticket", &ticket)]).status, 200);
    assert_error(&call(&bob, &[("ticket", &ticket)]), 403, "access_denied", "request_submitted");
}
