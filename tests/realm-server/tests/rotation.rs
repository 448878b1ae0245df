//! Refresh-token rotation as Keycloak does it (`revokeRefreshToken`, `refreshTokenMaxReuse`;
//! TokenManager.validateTokenReuse): reuse chains, the reuse limit, stale tokens, and the
//! client session that a violation ends.

mod common;
use common::*;

const TOKEN: &str = "/realms/demo/protocol/openid-connect/token";

fn login(srv: &Server) -> serde_json::Value {
    let r = srv.post_form(TOKEN, &[], &[("grant_type", "password"), ("client_id", "demo-app"), ("username", "bob"), ("password", "bob"), ("scope", "openid")]);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn refresh(srv: &Server, rt: &str) -> Resp {
    srv.post_form(TOKEN, &[], &[("grant_type", "refresh_token"), ("client_id", "demo-app"), ("refresh_token", rt)])
}

fn rt(v: &serde_json::Value) -> String {
    v["refresh_token"].as_str().unwrap().to_string()
}

fn rotating(max_reuse: u32) -> Server {
    let edit = format!("\"realm\": \"demo\",\n  \"revokeRefreshToken\": true,\n  \"refreshTokenMaxReuse\": {max_reuse},");
    Server::with_demo_edited(&[("\"realm\": \"demo\",", edit.as_str())])
}

#[test]
fn without_rotation_a_refresh_token_can_be_replayed() {
    let srv = Server::start();
    let first = rt(&login(&srv));
    for _ in 0..3 {
        assert_eq!(refresh(&srv, &first).status, 200);
    }
    assert!(jwt_part(&first, 1).get("reuse_id").is_none(), "no chain without rotation");
}

#[test]
fn max_reuse_0_each_token_once_then_the_client_session_is_gone() {
    let srv = rotating(0);
    let t1 = login(&srv);
    let rt1 = rt(&t1);
    let chain = jwt_part(&rt1, 1)["reuse_id"].as_str().unwrap().to_string();
    let r = refresh(&srv, &rt1);
    assert_eq!(r.status, 200, "{}", r.body);
    let rt2 = rt(&r.json());
    assert_eq!(jwt_part(&rt2, 1)["reuse_id"], chain.as_str(), "a refresh keeps the chain");
    let again = refresh(&srv, &rt1);
    assert_eq!(again.status, 400);
    assert_eq!(again.json(), serde_json::json!({ "error": "invalid_grant", "error_description": "Maximum allowed refresh token reuse exceeded" }));
    // The client session was detached: the rotated token is dead too.
    let r = refresh(&srv, &rt2);
    assert_eq!(r.json()["error_description"], "Session doesn't have required client");
}

#[test]
fn max_reuse_1_a_token_twice_and_chains_are_independent() {
    let srv = rotating(1);
    let a = rt(&login(&srv));
    let b = rt(&login(&srv));
    assert_ne!(jwt_part(&a, 1)["reuse_id"], jwt_part(&b, 1)["reuse_id"], "each login its own chain");
    assert_eq!(refresh(&srv, &a).status, 200);
    assert_eq!(refresh(&srv, &a).status, 200, "one extra use allowed");
    assert_eq!(refresh(&srv, &b).status, 200, "another chain (another session here) is unaffected");
    let r = refresh(&srv, &a);
    assert_eq!(r.json()["error_description"], "Maximum allowed refresh token reuse exceeded");
}

#[test]
fn an_older_token_after_its_successor_was_used_is_stale() {
    let srv = rotating(5);
    let rt1 = rt(&login(&srv));
    // iat has one-second resolution: the successor must be issued in a later second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let rt2 = rt(&refresh(&srv, &rt1).json());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(refresh(&srv, &rt2).status, 200, "the successor is used");
    let r = refresh(&srv, &rt1);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error_description"], "Stale token");
}

#[test]
fn the_admin_api_reads_and_sets_rotation() {
    let srv = Server::start();
    let admin = srv.post_form("/realms/master/protocol/openid-connect/token", &[], &[("grant_type", "password"), ("client_id", "admin-cli"), ("username", "admin"), ("password", "admin")]);
    let token = admin.json()["access_token"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {token}");
    let rep = srv.get("/admin/realms/demo", &[("Authorization", &bearer)]).json();
    assert_eq!((rep["revokeRefreshToken"].clone(), rep["refreshTokenMaxReuse"].clone()), (serde_json::json!(false), serde_json::json!(0)));
    let body = br#"{"revokeRefreshToken": true, "refreshTokenMaxReuse": 2}"#;
    let r = request(srv.port, "PUT", "/admin/realms/demo", &[("Authorization", &bearer), ("Content-Type", "application/json")], Some(body));
    assert_eq!(r.status, 204, "{}", r.body);
    let rep = srv.get("/admin/realms/demo", &[("Authorization", &bearer)]).json();
    assert_eq!((rep["revokeRefreshToken"].clone(), rep["refreshTokenMaxReuse"].clone()), (serde_json::json!(true), serde_json::json!(2)));
    let first = rt(&login(&srv));
    for _ in 0..3 {
        assert_eq!(refresh(&srv, &first).status, 200);
    }
    assert_eq!(refresh(&srv, &first).json()["error_description"], "Maximum allowed refresh token reuse exceeded");
}
