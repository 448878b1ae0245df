//! HTTP-level tests of the realm server (no browser): discovery, the code flow through
//! the login form, tokens, refresh, CORS, userinfo, account, logout, errors.

mod common;
use common::*;
use serde_json::Value;

const TOKEN: &str = "/realms/demo/protocol/openid-connect/token";

#[test]
fn discovery_and_certs() {
    let srv = demo();
    let r = srv.get("/realms/demo/.well-known/openid-configuration", &[("Origin", "http://elsewhere.example")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("access-control-allow-origin"), Some("http://elsewhere.example"));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    let d = r.json();
    let b = srv.base();
    assert_eq!(d["issuer"], format!("{b}/realms/demo"));
    let o = format!("{b}/realms/demo/protocol/openid-connect");
    assert_eq!(d["authorization_endpoint"], format!("{o}/auth"));
    assert_eq!(d["token_endpoint"], format!("{o}/token"));
    assert_eq!(d["userinfo_endpoint"], format!("{o}/userinfo"));
    assert_eq!(d["end_session_endpoint"], format!("{o}/logout"));
    assert_eq!(d["check_session_iframe"], format!("{o}/login-status-iframe.html"));
    assert_eq!(d["jwks_uri"], format!("{o}/certs"));
    assert_eq!(d["code_challenge_methods_supported"], serde_json::json!(["plain", "S256"]));
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert!(d["response_modes_supported"].as_array().unwrap().iter().any(|m| m == "fragment"));
    // Issuer follows the Host header.
    let host = format!("idp.localhost:{}", srv.port);
    let d2 = srv.get("/realms/demo/.well-known/openid-configuration", &[("Host", &host)]).json();
    assert_eq!(d2["issuer"], format!("http://{host}/realms/demo"));

    let c = srv.get("/realms/demo/protocol/openid-connect/certs", &[]);
    assert_eq!(c.status, 200);
    let keys = c.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    assert_eq!(k["kty"], "RSA");
    assert_eq!(k["alg"], "RS256");
    assert_eq!(k["use"], "sig");
    assert_eq!(k["e"], "AQAB");
    assert!(k["kid"].as_str().unwrap().len() >= 20);
    assert!(k["n"].as_str().unwrap().len() > 300);

    let info = srv.get("/realms/demo", &[]).json();
    assert_eq!(info["realm"], "demo");
    assert!(info["public_key"].as_str().unwrap().starts_with("MIIB"));
}

#[test]
fn unknown_realm_is_404_everywhere() {
    let srv = demo();
    for p in [
        "/realms/nope",
        "/realms/nope/.well-known/openid-configuration",
        "/realms/nope/protocol/openid-connect/auth?client_id=x",
        "/realms/nope/protocol/openid-connect/login-status-iframe.html",
        "/realms/nope/protocol/openid-connect/3p-cookies/step1.html",
        "/realms/nope/account",
        "/realms/nope/anything/else",
    ] {
        let r = srv.get(p, &[]);
        assert_eq!(r.status, 404, "{p}");
        assert_eq!(r.json(), serde_json::json!({"error": "Realm does not exist"}), "{p}");
    }
    let r = srv.post_form("/realms/nope/protocol/openid-connect/token", &[], &[("grant_type", "password")]);
    assert_eq!(r.status, 404);
}

#[test]
fn full_code_flow_with_pkce() {
    let srv = demo();
    let mut jar = Jar::default();
    let page = srv.get(&auth_path(&[("login_hint", "alice")]), &[]);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<title>Sign in to demo</title>"));
    assert!(page.body.contains("id=\"username\" name=\"username\" value=\"alice\""));
    assert!(page.body.contains("id=\"password\" name=\"password\" type=\"password\""));
    assert!(page.body.contains("type=\"submit\" id=\"kc-login\" name=\"login\" value=\"Sign In\""));
    assert_eq!(page.header("x-frame-options"), Some("SAMEORIGIN"));
    let auth_cookie = page.set_cookie("AUTH_SESSION_ID").expect("AUTH_SESSION_ID");
    assert!(auth_cookie.contains("Path=/realms/demo/") && auth_cookie.contains("HttpOnly"));
    jar.update(&page);
    let action = form_action(&page.body);
    assert!(action.starts_with("/realms/demo/login-actions/authenticate?"), "{action}");

    let r = srv.post_form(&action, &[("Cookie", &jar.header())], &[("username", "alice"), ("password", "alice")]);
    assert_eq!(r.status, 302, "{}", r.body);
    let loc = r.location().to_string();
    assert!(loc.starts_with("http://localhost:3000/#state=st-1&session_state="), "{loc}");
    let iss = format!("{}/realms/demo", srv.base());
    let iss_enc = iss.replace(':', "%3A").replace('/', "%2F");
    assert!(loc.contains(&format!("&iss={iss_enc}&code=")), "{loc}");
    let cb = callback_params(&loc, false);
    let sid = cb["session_state"].clone();
    assert_eq!(cb["iss"], iss);
    assert_eq!(cb["code"].split('.').count(), 3);

    let ident = r.set_cookie("KEYCLOAK_IDENTITY").expect("identity cookie");
    assert!(ident.contains("Path=/realms/demo/"), "{ident}");
    assert!(ident.contains("SameSite=None") && ident.contains("Secure") && ident.contains("HttpOnly"), "{ident}");
    let sess = r.set_cookie("KEYCLOAK_SESSION").expect("session cookie");
    assert!(!sess.contains("HttpOnly"), "{sess}");
    assert!(sess.contains("SameSite=None") && sess.contains("Secure") && sess.contains("Max-Age=36000"), "{sess}");
    let expected = b64url(&sha256(sid.as_bytes()));
    assert!(sess.starts_with(&format!("KEYCLOAK_SESSION={expected};")), "{sess}");

    // Exchange.
    let t = exchange(srv, &cb["code"], REDIRECT, Some(VERIFIER), &[]);
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.header("cache-control"), Some("no-store"));
    assert_eq!(t.header("pragma"), Some("no-cache"));
    let j = t.json();
    assert_eq!(j["token_type"], "Bearer");
    assert_eq!(j["session_state"], sid.as_str());
    assert_eq!(j["scope"], "openid email profile");
    assert_eq!(j["not-before-policy"], 0);
    let exp_in = j["expires_in"].as_i64().unwrap();
    assert!((299..=300).contains(&exp_in), "{exp_in}");
    assert!((1799..=1800).contains(&j["refresh_expires_in"].as_i64().unwrap()));

    let at = j["access_token"].as_str().unwrap();
    let h = jwt_header_raw(at);
    assert!(h.starts_with(r#"{"alg":"RS256","typ" : "JWT","kid" : ""#), "{h}");
    let a = jwt_part(at, 1);
    assert_eq!(a["iss"], iss);
    assert_eq!(a["aud"], "account");
    assert_eq!(a["typ"], "Bearer");
    assert_eq!(a["azp"], "demo-app");
    assert_eq!(a["sid"], sid.as_str());
    assert_eq!(a["acr"], "1");
    assert_eq!(a["scope"], "openid email profile");
    assert_eq!(a["preferred_username"], "alice");
    assert_eq!(a["email"], "alice@example.com");
    assert_eq!(a["name"], "Alice Liddell");
    assert_eq!(a["given_name"], "Alice");
    assert_eq!(a["family_name"], "Liddell");
    assert_eq!(a["email_verified"], true);
    assert!(a.get("nonce").is_none(), "no nonce in access token (KC 25+)");
    assert_eq!(a["exp"].as_i64().unwrap() - a["iat"].as_i64().unwrap(), 300);
    assert!(a["jti"].as_str().unwrap().len() > 30);
    let roles: Vec<&str> = a["realm_access"]["roles"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for r in ["user", "default-roles-demo", "offline_access", "uma_authorization"] {
        assert!(roles.contains(&r), "{roles:?}");
    }
    assert_eq!(a["resource_access"]["demo-app"]["roles"], serde_json::json!(["viewer"]));
    let acct: Vec<&str> = a["resource_access"]["account"]["roles"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for r in ["manage-account", "manage-account-links", "view-profile"] {
        assert!(acct.contains(&r), "{acct:?}");
    }
    let origins = a["allowed-origins"].as_array().unwrap();
    assert!(origins.contains(&Value::from("http://localhost:3000")));
    assert!(origins.contains(&Value::from("http://app.localhost:3000")));
    assert!(origins.contains(&Value::from("https://app.localhost:3443")));
    // Claim order as in Keycloak.
    let keys: Vec<&String> = a.as_object().unwrap().keys().collect();
    assert_eq!(&keys[..9], &["exp", "iat", "auth_time", "jti", "iss", "aud", "sub", "typ", "azp"]);

    let id = j["id_token"].as_str().unwrap();
    let i = jwt_part(id, 1);
    assert_eq!(i["typ"], "ID");
    assert_eq!(i["aud"], "demo-app");
    assert_eq!(i["nonce"], "nonce-1");
    assert_eq!(i["sid"], sid.as_str());
    assert_eq!(i["sub"], a["sub"]);
    assert_eq!(i["at_hash"], b64url(&sha256(at.as_bytes())[..16]));
    assert_eq!(i["preferred_username"], "alice");

    let rt = j["refresh_token"].as_str().unwrap();
    assert!(jwt_header_raw(rt).starts_with(r#"{"alg":"HS512","typ" : "JWT","kid" : ""#));
    let rp = jwt_part(rt, 1);
    assert_eq!(rp["typ"], "Refresh");
    assert_eq!(rp["aud"], iss);
    assert_eq!(rp["sid"], sid.as_str());
    assert_eq!(rp["azp"], "demo-app");

    // Signature verifies with the published key.
    let jwks = srv.get("/realms/demo/protocol/openid-connect/certs", &[]).json();
    let k = &jwks["keys"][0];
    assert_eq!(jwt_part(at, 0)["kid"], k["kid"]);
    let n = rsa::BigUint::from_bytes_be(&base64_url(k["n"].as_str().unwrap()));
    let e = rsa::BigUint::from_bytes_be(&base64_url(k["e"].as_str().unwrap()));
    let public = rsa::RsaPublicKey::new(n, e).unwrap();
    for tok in [at, id] {
        let (input, sig) = tok.rsplit_once('.').unwrap();
        let hashed = sha256(input.as_bytes());
        public.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &hashed, &base64_url(sig)).expect("valid RS256 signature");
    }
}

fn base64_url(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap()
}

#[test]
fn fragment_is_appended_and_query_mode_works() {
    let srv = demo();
    let mut jar = Jar::default();
    let redirect = "http://localhost:3000/#/admin/users?tab=details&sort=asc";
    let r = login(srv, &mut jar, &auth_path(&[("redirect_uri", redirect)]), "alice", "alice");
    assert!(r.location().starts_with("http://localhost:3000/#/admin/users?tab=details&sort=asc&state=st-1&session_state="), "{}", r.location());
    // SSO + query mode.
    let r = srv.get(&auth_path(&[("response_mode", "query"), ("redirect_uri", "http://localhost:3000/cb?x=1")]), &[("Cookie", &jar.header())]);
    assert_eq!(r.status, 302);
    assert!(r.location().starts_with("http://localhost:3000/cb?x=1&state=st-1&session_state="), "{}", r.location());
    let cb = callback_params(r.location(), true);
    assert!(cb.contains_key("code"));
    // Default mode for response_type=code is query.
    let r = srv.get(&auth_path(&[("response_mode", "")]), &[("Cookie", &jar.header())]);
    assert!(r.location().starts_with("http://localhost:3000/?state=st-1&"), "{}", r.location());
}

#[test]
fn wrong_password_shows_error() {
    let srv = demo();
    let mut jar = Jar::default();
    let r = login(srv, &mut jar, &auth_path(&[]), "alice", "nope");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("id=\"input-error\""), "{}", r.body);
    assert!(r.body.contains("Invalid username or password."));
    assert!(r.body.contains("value=\"alice\""));
    assert!(r.set_cookie("KEYCLOAK_IDENTITY").is_none());
    // Then the right password on the re-rendered form works.
    let action = form_action(&r.body);
    let ok = srv.post_form(&action, &[("Cookie", &jar.header())], &[("username", "alice"), ("password", "alice")]);
    assert_eq!(ok.status, 302);
    // Unknown user, same message.
    let r = login(srv, &mut Jar::default(), &auth_path(&[]), "mallory", "x");
    assert!(r.body.contains("Invalid username or password."));
    // Login by email works.
    let r = login(srv, &mut Jar::default(), &auth_path(&[]), "bob@example.com", "bob");
    assert_eq!(r.status, 302);
}

#[test]
fn client_and_redirect_uri_errors() {
    let srv = demo();
    let cases = [
        (auth_path(&[("redirect_uri", "http://evil.example/")]), 400, "Invalid parameter: redirect_uri"),
        (auth_path(&[("redirect_uri", "http://localhost:30000/")]), 400, "Invalid parameter: redirect_uri"),
        (auth_path(&[("redirect_uri", "http://localhost:3000@evil.example/")]), 400, "Invalid parameter: redirect_uri"),
        (auth_path(&[("redirect_uri", "")]), 400, "Invalid parameter: redirect_uri"),
        (auth_path(&[("client_id", "")]), 400, "Missing parameters: client_id"),
        (auth_path(&[("client_id", "ghost")]), 400, "Client not found."),
    ];
    for (path, status, msg) in cases {
        let r = srv.get(&path, &[]);
        assert_eq!(r.status, status, "{path}");
        assert!(r.body.contains(msg), "{path}: {}", r.body);
        assert!(r.body.contains("We are sorry..."));
        assert!(r.header("location").is_none());
    }
    // Errors redirected to the client.
    let r = srv.get(&auth_path(&[("response_type", "")]), &[]);
    let p = callback_params(r.location(), true);
    assert_eq!(p["error"], "invalid_request");
    assert_eq!(p["error_description"], "Missing parameter: response_type");
    assert_eq!(p["state"], "st-1");
    let r = srv.get(&auth_path(&[("response_type", "bogus")]), &[]);
    assert_eq!(callback_params(r.location(), true)["error"], "unsupported_response_type");
    let r = srv.get(&auth_path(&[("response_type", "id_token token")]), &[]);
    let p = callback_params(r.location(), false);
    assert_eq!(p["error"], "unauthorized_client");
    assert_eq!(p["error_description"], "Client is not allowed to initiate browser login with given response_type. Implicit flow is disabled for the client.");
    let r = srv.get(&auth_path(&[("code_challenge_method", ""), ("code_challenge", "")]), &[]);
    let p = callback_params(r.location(), false);
    assert_eq!(p["error"], "invalid_request");
    assert_eq!(p["error_description"], "Missing parameter: code_challenge_method");
    assert_eq!(p["iss"], format!("{}/realms/demo", srv.base()));
    let r = srv.get(&auth_path(&[("code_challenge_method", "plain")]), &[]);
    assert_eq!(callback_params(r.location(), false)["error_description"], "Invalid parameter: code challenge method is not configured one");
    let r = srv.get(&auth_path(&[("code_challenge", "short")]), &[]);
    assert_eq!(callback_params(r.location(), false)["error_description"], "Invalid parameter: code_challenge");
    let r = srv.get(&auth_path(&[("scope", "openid bogus")]), &[]);
    let p = callback_params(r.location(), false);
    assert_eq!(p["error"], "invalid_scope");
    assert_eq!(p["error_description"], "Invalid scopes: openid bogus");
    let r = srv.get(&format!("{}&state=again", auth_path(&[])), &[]);
    assert_eq!(callback_params(r.location(), true)["error_description"], "duplicated parameter");
}

#[test]
fn prompt_none_without_session() {
    let srv = demo();
    let r = srv.get(&auth_path(&[("prompt", "none")]), &[]);
    assert_eq!(r.status, 302);
    let loc = r.location();
    assert!(loc.starts_with("http://localhost:3000/#error=login_required&state=st-1&iss="), "{loc}");
    assert!(!loc.contains("error_description"));
}

#[test]
fn sso_cookie_prompt_login_and_max_age() {
    let srv = demo();
    let mut jar = Jar::default();
    let first = login(srv, &mut jar, &auth_path(&[]), "alice", "alice");
    let sid = callback_params(first.location(), false)["session_state"].clone();
    // SSO: immediate redirect, same session, acr 0.
    let r = srv.get(&auth_path(&[("prompt", "none"), ("nonce", "n2")]), &[("Cookie", &jar.header())]);
    assert_eq!(r.status, 302);
    let cb = callback_params(r.location(), false);
    assert_eq!(cb["session_state"], sid);
    assert!(r.set_cookie("KEYCLOAK_IDENTITY").is_some());
    let t = exchange(srv, &cb["code"], REDIRECT, Some(VERIFIER), &[]).json();
    assert_eq!(jwt_part(t["access_token"].as_str().unwrap(), 1)["acr"], "0");
    assert_eq!(jwt_part(t["id_token"].as_str().unwrap(), 1)["nonce"], "n2");
    // prompt=login: login page with the username pre-filled; session id kept.
    let page = srv.get(&auth_path(&[("prompt", "login")]), &[("Cookie", &jar.header())]);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("value=\"alice\""));
    let r = login(srv, &mut jar, &auth_path(&[("prompt", "login")]), "alice", "alice");
    assert_eq!(callback_params(r.location(), false)["session_state"], sid);
    // max_age=0 forces re-authentication too; prompt=none with it -> login_required.
    assert_eq!(srv.get(&auth_path(&[("max_age", "0")]), &[("Cookie", &jar.header())]).status, 200);
    let r = srv.get(&auth_path(&[("max_age", "0"), ("prompt", "none")]), &[("Cookie", &jar.header())]);
    assert_eq!(callback_params(r.location(), false)["error"], "login_required");
    // Re-submitting a completed login form while logged in.
    let mut jar2 = Jar::default();
    let page = srv.get(&auth_path(&[]), &[]);
    jar2.update(&page);
    let action = form_action(&page.body);
    let ok = srv.post_form(&action, &[("Cookie", &jar2.header())], &[("username", "bob"), ("password", "bob")]);
    jar2.update(&ok);
    let again = srv.post_form(&action, &[("Cookie", &jar2.header())], &[("username", "bob"), ("password", "bob")]);
    let p = callback_params(again.location(), false);
    assert_eq!(p["error"], "temporarily_unavailable");
    assert_eq!(p["error_description"], "authentication_expired");
    // No AUTH_SESSION_ID cookie.
    let r = srv.post_form(&action, &[], &[("username", "bob"), ("password", "bob")]);
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Cookie not found"));
}

#[test]
fn code_replay_and_pkce_errors() {
    let srv = demo();
    let mut jar = Jar::default();
    let r = login(srv, &mut jar, &auth_path(&[]), "alice", "alice");
    let code = callback_params(r.location(), false)["code"].clone();
    let t = exchange(srv, &code, REDIRECT, Some(VERIFIER), &[]);
    assert_eq!(t.status, 200);
    let rt = t.json()["refresh_token"].as_str().unwrap().to_string();
    let again = exchange(srv, &code, REDIRECT, Some(VERIFIER), &[]);
    assert_eq!(again.status, 400);
    assert_eq!(again.json(), serde_json::json!({"error": "invalid_grant", "error_description": "Code not valid"}));
    // Tokens issued from the replayed code are revoked.
    let rr = refresh(srv, &rt);
    assert_eq!(rr.status, 400);
    assert_eq!(rr.json()["error"], "invalid_grant");

    let new_code = |jar: &Jar| {
        let r = srv.get(&auth_path(&[]), &[("Cookie", &jar.header())]);
        callback_params(r.location(), false)["code"].clone()
    };
    let cases: [(Option<&str>, &str, &str); 4] = [
        (Some("wrong-verifier-0123456789-abcdefghijklmnopqrstuvwxyz"), REDIRECT, "PKCE verification failed: Code mismatch"),
        (None, REDIRECT, "PKCE code verifier not specified"),
        (Some("short"), REDIRECT, "PKCE verification failed: Invalid code verifier"),
        (Some(VERIFIER), "http://localhost:3000/other", "Incorrect redirect_uri"),
    ];
    for (verifier, redirect, msg) in cases {
        let r = exchange(srv, &new_code(&jar), redirect, verifier, &[]);
        assert_eq!(r.status, 400, "{msg}");
        assert_eq!(r.json()["error"], "invalid_grant");
        assert_eq!(r.json()["error_description"], msg);
    }
    let r = exchange(srv, "garbage", REDIRECT, Some(VERIFIER), &[]);
    assert_eq!(r.json()["error_description"], "Code not valid");
    let r = srv.post_form(TOKEN, &[], &[("grant_type", "authorization_code"), ("client_id", "demo-app")]);
    assert_eq!(r.json()["error_description"], "Missing parameter: code");
}

#[test]
fn refresh_and_logout() {
    let srv = demo();
    let (t, jar, cb) = login_and_exchange(srv);
    let rt = t["refresh_token"].as_str().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = refresh(srv, rt);
    assert_eq!(r.status, 200, "{}", r.body);
    let n = r.json();
    assert_ne!(n["access_token"], t["access_token"]);
    assert_ne!(n["refresh_token"], t["refresh_token"]);
    let a0 = jwt_part(t["access_token"].as_str().unwrap(), 1);
    let a1 = jwt_part(n["access_token"].as_str().unwrap(), 1);
    assert_eq!(a1["sid"], a0["sid"]);
    assert_eq!(a1["auth_time"], a0["auth_time"]);
    assert!(a1["iat"].as_i64() > a0["iat"].as_i64());
    assert_eq!(n["session_state"], cb["session_state"].as_str());
    assert_eq!(jwt_part(n["id_token"].as_str().unwrap(), 1)["nonce"], "nonce-1");

    // Garbage and wrong client.
    let g = refresh(srv, "not.a.jwt");
    assert_eq!(g.json(), serde_json::json!({"error": "invalid_grant", "error_description": "Invalid refresh token"}));
    let r = srv.post_form(TOKEN, &[], &[("grant_type", "refresh_token"), ("client_id", "demo-app")]);
    assert_eq!(r.json()["error_description"], "No refresh token");

    // Logout with id_token_hint and a valid post_logout_redirect_uri.
    let id_token = n["id_token"].as_str().unwrap();
    let path = format!(
        "/realms/demo/protocol/openid-connect/logout?client_id=demo-app&post_logout_redirect_uri={}&id_token_hint={}&state=xyz",
        enc("http://localhost:3000/bye"),
        id_token
    );
    let r = srv.get(&path, &[("Cookie", &jar.header())]);
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.location(), "http://localhost:3000/bye?state=xyz");
    let ident = r.set_cookie("KEYCLOAK_IDENTITY").expect("expired identity");
    assert!(ident.contains("Max-Age=0") && ident.contains("Path=/realms/demo/"));
    assert!(r.set_cookie("KEYCLOAK_SESSION").unwrap().contains("Max-Age=0"));
    // Refresh after logout.
    let r = refresh(srv, n["refresh_token"].as_str().unwrap());
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), serde_json::json!({"error": "invalid_grant", "error_description": "Session not active"}));
    // The SSO cookie no longer works.
    let r = srv.get(&auth_path(&[("prompt", "none")]), &[("Cookie", &jar.header())]);
    assert_eq!(callback_params(r.location(), false)["error"], "login_required");
}

#[test]
fn refresh_token_expiry() {
    let srv = &Server::with_demo_edited(&[("\"ssoSessionIdleTimeout\": 1800", "\"ssoSessionIdleTimeout\": 2")]);
    let (t, _, _) = login_and_exchange(srv);
    assert_eq!(t["refresh_expires_in"], 2);
    std::thread::sleep(std::time::Duration::from_millis(3100));
    let r = refresh(srv, t["refresh_token"].as_str().unwrap());
    assert_eq!(r.json(), serde_json::json!({"error": "invalid_grant", "error_description": "Token is not active"}));
}

#[test]
fn cors_on_token_endpoint() {
    let srv = demo();
    let (t, _, _) = login_and_exchange(srv);
    let rt = t["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", "demo-app")];
    let ok = srv.post_form(TOKEN, &[("Origin", "http://app.localhost:3000")], &form);
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("access-control-allow-origin"), Some("http://app.localhost:3000"));
    assert_eq!(ok.header("access-control-allow-credentials"), Some("true"));
    let form = [("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", "demo-app")];
    let err = srv.post_form(TOKEN, &[("Origin", "http://localhost:3000")], &form);
    assert_eq!(err.status, 400);
    assert_eq!(err.header("access-control-allow-origin"), Some("http://localhost:3000"), "errors carry CORS too");
    let denied = srv.post_form(TOKEN, &[("Origin", "http://evil.example")], &form);
    assert!(denied.header("access-control-allow-origin").is_none());
    assert!(denied.header("access-control-allow-credentials").is_none());

    let pre = request(
        srv.port,
        "OPTIONS",
        TOKEN,
        &[("Origin", "http://evil.example"), ("Access-Control-Request-Method", "POST")],
        None,
    );
    assert_eq!(pre.status, 200);
    assert_eq!(pre.header("access-control-allow-origin"), Some("http://evil.example"));
    assert_eq!(pre.header("access-control-allow-methods"), Some("POST, OPTIONS"));
    assert!(pre.header("access-control-allow-headers").unwrap().contains("Authorization"));
    assert_eq!(pre.header("access-control-max-age"), Some("3600"));
    let pre = request(srv.port, "OPTIONS", "/realms/demo/account", &[("Origin", "http://localhost:3000")], None);
    assert_eq!(pre.status, 200);
    assert_eq!(pre.header("access-control-allow-origin"), Some("http://localhost:3000"));
}

#[test]
fn userinfo_and_account() {
    let srv = demo();
    let (t, jar, _) = login_and_exchange(srv);
    let at = t["access_token"].as_str().unwrap();
    let auth = format!("bearer {at}");
    let ui = "/realms/demo/protocol/openid-connect/userinfo";
    let r = srv.get(ui, &[("Authorization", &auth), ("Accept", "application/json"), ("Origin", "http://localhost:3000")]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), Some("http://localhost:3000"));
    let u = r.json();
    assert_eq!(u["email"], "alice@example.com");
    assert_eq!(u["preferred_username"], "alice");
    assert_eq!(u["name"], "Alice Liddell");
    assert_eq!(u["sub"], jwt_part(at, 1)["sub"]);
    let r = srv.post_form(ui, &[], &[("access_token", at)]);
    assert_eq!(r.status, 200);
    let r = srv.get(ui, &[]);
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), serde_json::json!({"error": "invalid_request", "error_description": "Token not provided"}));
    let r = srv.get(ui, &[("Authorization", "Bearer garbage")]);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"demo\", error=\"invalid_token\", error_description=\"Token verification failed\"")
    );

    let acc = srv.get("/realms/demo/account", &[("Authorization", &auth), ("Accept", "application/json")]);
    assert_eq!(acc.status, 200, "{}", acc.body);
    let p = acc.json();
    assert_eq!(p["username"], "alice");
    assert_eq!(p["firstName"], "Alice");
    assert_eq!(p["lastName"], "Liddell");
    assert_eq!(p["email"], "alice@example.com");
    assert_eq!(p["emailVerified"], true);
    assert!(p["userProfileMetadata"]["attributes"].is_array());
    let p = srv.get("/realms/demo/account?userProfileMetadata=false", &[("Authorization", &auth), ("Accept", "application/json")]).json();
    assert!(p.get("userProfileMetadata").is_none());
    assert_eq!(srv.get("/realms/demo/account", &[("Accept", "application/json")]).status, 401);
    assert_eq!(srv.get("/realms/demo/account", &[("Accept", "application/json"), ("Authorization", "Bearer x.y.z")]).status, 401);
    let html = srv.get("/realms/demo/account", &[("Accept", "text/html")]);
    assert_eq!(html.status, 200);
    assert!(html.header("content-type").unwrap().starts_with("text/html"));

    // Logged out: userinfo fails.
    let id_token = t["id_token"].as_str().unwrap();
    let r = srv.get(&format!("/realms/demo/protocol/openid-connect/logout?id_token_hint={id_token}"), &[("Cookie", &jar.header())]);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("You are logged out"));
    let r = srv.get(ui, &[("Authorization", &auth)]);
    assert_eq!(r.status, 401);
    assert_eq!(srv.get("/realms/demo/account", &[("Authorization", &auth), ("Accept", "application/json")]).status, 401);
}

#[test]
fn logout_variants() {
    let srv = demo();
    let lo = "/realms/demo/protocol/openid-connect/logout";
    // Nothing given: confirmation page.
    let r = srv.get(lo, &[]);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("id=\"kc-logout\""));
    // Redirect without client or hint.
    let r = srv.get(&format!("{lo}?post_logout_redirect_uri={}", enc("http://localhost:3000/")), &[]);
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Missing parameters: id_token_hint"));
    // Invalid post-logout redirect.
    let r = srv.get(&format!("{lo}?client_id=demo-app&post_logout_redirect_uri={}", enc("http://evil.example/")), &[]);
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Invalid redirect uri"));
    // Invalid hint.
    let r = srv.get(&format!("{lo}?id_token_hint=undefined"), &[]);
    assert_eq!(r.status, 400);

    // client_id without id_token_hint: confirmation, then redirect.
    let (_, jar, cb) = login_and_exchange(srv);
    let r = srv.get(&format!("{lo}?client_id=demo-app&post_logout_redirect_uri={}", enc("http://localhost:3000/")), &[("Cookie", &jar.header())]);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("id=\"kc-logout\""));
    let action = form_action(&r.body);
    let code = r.body.split("name=\"session_code\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let done = srv.post_form(&action, &[("Cookie", &jar.header())], &[("session_code", &code), ("confirmLogout", "Logout")]);
    assert_eq!(done.status, 302);
    assert_eq!(done.location(), "http://localhost:3000/");
    assert!(done.set_cookie("KEYCLOAK_IDENTITY").unwrap().contains("Max-Age=0"));
    let _ = cb;
    let r = srv.get(&auth_path(&[("prompt", "none")]), &[("Cookie", &jar.header())]);
    assert_eq!(callback_params(r.location(), false)["error"], "login_required");

    // POST logout (keycloak-js logoutMethod POST).
    let (t, jar, _) = login_and_exchange(srv);
    let r = srv.post_form(
        lo,
        &[("Cookie", &jar.header())],
        &[("id_token_hint", t["id_token"].as_str().unwrap()), ("client_id", "demo-app"), ("post_logout_redirect_uri", "http://app.localhost:3000/")],
    );
    assert_eq!(r.status, 302);
    assert_eq!(r.location(), "http://app.localhost:3000/");
}

#[test]
fn password_grant() {
    let srv = demo();
    let r = srv.post_form(TOKEN, &[], &[("grant_type", "password"), ("client_id", "demo-app"), ("username", "bob"), ("password", "bob"), ("scope", "openid")]);
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    let a = jwt_part(j["access_token"].as_str().unwrap(), 1);
    assert_eq!(a["preferred_username"], "bob");
    assert_eq!(a["resource_access"]["account"]["roles"].as_array().unwrap().len(), 3);
    assert!(a["resource_access"].get("demo-app").is_none());
    let r = srv.post_form(TOKEN, &[], &[("grant_type", "password"), ("client_id", "demo-app"), ("username", "bob"), ("password", "x")]);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error_description"], "Invalid user credentials");
    let r = srv.post_form(TOKEN, &[], &[("grant_type", "password"), ("client_id", "admin-cli"), ("username", "alice"), ("password", "alice")]);
    assert_eq!(r.status, 200, "admin-cli exists in every realm");
    let r = srv.post_form(TOKEN, &[], &[("grant_type", "password"), ("client_id", "ghost"), ("username", "bob"), ("password", "bob")]);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_client");
    let r = srv.post_form(TOKEN, &[], &[("client_id", "demo-app")]);
    assert_eq!(r.json()["error_description"], "Missing form parameter: grant_type");
    let r = srv.post_form(TOKEN, &[], &[("grant_type", "magic"), ("client_id", "demo-app")]);
    assert_eq!(r.json()["error"], "unsupported_grant_type");
}

#[test]
fn iframes_and_third_party_pages() {
    let srv = demo();
    let base = "/realms/demo/protocol/openid-connect";
    for p in ["login-status-iframe.html", "3p-cookies/step1.html", "3p-cookies/step2.html"] {
        let r = srv.get(&format!("{base}/{p}"), &[]);
        assert_eq!(r.status, 200, "{p}");
        assert!(r.header("x-frame-options").is_none(), "{p}");
        assert!(r.header("content-security-policy").is_none_or(|c| !c.contains("frame-ancestors")));
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
        assert!(r.body.contains("<script>"));
    }
    let init = |client: &str, origin: &str| {
        srv.get(&format!("{base}/login-status-iframe.html/init?client_id={client}&origin={}", enc(origin)), &[]).status
    };
    assert_eq!(init("demo-app", "http://localhost:3000"), 204);
    assert_eq!(init("demo-app", "http://app.localhost:3000"), 204);
    assert_eq!(init("demo-app", &srv.base()), 204);
    assert_eq!(init("demo-app", "http://evil.example"), 403);
    assert_eq!(init("ghost", "http://localhost:3000"), 403);
    // As in Keycloak, /init is the page's only request to the server: no session lookup.
    let page = srv.get(&format!("{base}/login-status-iframe.html"), &[]).body;
    assert_eq!(page.matches("fetch(").count(), 1, "one request: /init");
    assert!(page.contains("KEYCLOAK_SESSION"));
    assert_eq!(srv.get(&format!("{base}/login-status-iframe.html/session?session_state=x"), &[]).status, 404);
}

#[test]
fn bad_inputs_never_crash() {
    let srv = demo();
    let huge = "x".repeat(200_000);
    let paths = [
        format!("/realms/demo/protocol/openid-connect/auth?client_id=demo-app&redirect_uri={huge}"),
        "/realms/demo/protocol/openid-connect/auth?client_id=%ZZ&redirect_uri=%".to_string(),
        "/realms/demo/protocol/openid-connect/auth?client_id=demo-app&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2F%0D%0Ax&response_type=code".to_string(),
        "/realms/%FF%FE/account".to_string(),
        "/realms/demo/login-actions/authenticate?tab_id=nope".to_string(),
        "/realms/demo/protocol/openid-connect/logout?id_token_hint=a.b.c".to_string(),
        "/realms/demo/protocol/openid-connect/login-status-iframe.html/init".to_string(),
        "/realms/demo/protocol/openid-connect/userinfo".to_string(),
        "/realms/demo/protocol/openid-connect/token".to_string(),
    ];
    for p in &paths {
        let r = srv.get(p, &[("Cookie", "KEYCLOAK_IDENTITY=a.b.c; AUTH_SESSION_ID=\"x\"")]);
        assert!(r.status == 0 || (r.status >= 200 && r.status < 500), "{} -> {}", &p[..p.len().min(80)], r.status);
    }
    let bodies: Vec<Vec<u8>> = vec![
        b"{\"grant_type\":\"password\"}".to_vec(),
        vec![0xff, 0x00, 0xfe, b'=', b'&', b'%'],
        format!("grant_type=authorization_code&client_id=demo-app&code={huge}").into_bytes(),
        b"grant_type=refresh_token&client_id=demo-app&refresh_token=eyJhbGciOiJIUzUxMiJ9.e30.AAAA".to_vec(),
        b"grant_type=password&grant_type=password&client_id=demo-app".to_vec(),
        vec![b'a'; 3_000_000],
    ];
    for b in &bodies {
        let r = request(srv.port, "POST", TOKEN, &[("Content-Type", "application/x-www-form-urlencoded")], Some(b));
        assert!(r.status == 400 || r.status == 401 || r.status == 413, "{}: {}", r.status, r.body);
    }
    let r = request(srv.port, "POST", TOKEN, &[], Some(b"grant_type=password&grant_type=password&client_id=demo-app"));
    assert_eq!(r.json()["error_description"], "duplicated parameter");
    let r = srv.get("/realms/demo", &[("Host", "bad host\u{7f}")]);
    assert!(r.status == 400 || r.status == 0);
    for raw_req in [&b"GARBAGE\r\n\r\n"[..], b"GET / HTTP/1.0\r\n\r\n", b"\x16\x03\x01\x00\x05hello"] {
        let _ = raw(srv.port, raw_req);
    }
    let r = request(srv.port, "DELETE", TOKEN, &[], None);
    assert_eq!(r.status, 405);
    let r = srv.get("/realms/demo/no/such/path", &[]);
    assert_eq!(r.status, 404);
    assert!(srv.alive());
    assert_eq!(srv.get("/realms/demo/.well-known/openid-configuration", &[]).status, 200);
}

#[test]
fn registration_and_implicit_flow() {
    let srv = demo();
    let r = srv.get(&auth_path(&[]).replace("/auth?", "/registrations?"), &[]);
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Registration not allowed"));

    let srv = demo_open();
    let mut jar = Jar::default();
    let page = srv.get(&auth_path(&[]).replace("/auth?", "/registrations?"), &[]);
    assert_eq!(page.status, 200);
    for f in ["username", "email", "firstName", "lastName", "password", "password-confirm"] {
        assert!(page.body.contains(&format!("name=\"{f}\"")), "{f}");
    }
    jar.update(&page);
    let action = form_action(&page.body);
    let mut form = vec![("username", "carol"), ("email", "carol@example.com"), ("firstName", "Carol"), ("lastName", "C"), ("password", "pw"), ("password-confirm", "other")];
    let r = srv.post_form(&action, &[("Cookie", &jar.header())], &form);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Password confirmation doesn&#39;t match.") || r.body.contains("Password confirmation doesn't match."));
    form[5] = ("password-confirm", "pw");
    let r = srv.post_form(&form_action(&r.body), &[("Cookie", &jar.header())], &form);
    assert_eq!(r.status, 302, "{}", r.body);
    let cb = callback_params(r.location(), false);
    let t = exchange(srv, &cb["code"], REDIRECT, Some(VERIFIER), &[]).json();
    assert_eq!(jwt_part(t["access_token"].as_str().unwrap(), 1)["preferred_username"], "carol");
    // The login page links to registration.
    let login_page = srv.get(&auth_path(&[]), &[]);
    assert!(login_page.body.contains("login-actions/registration"));

    // Implicit: tokens in the fragment; query mode refused.
    let r = login(srv, &mut Jar::default(), &auth_path(&[("response_type", "id_token token")]), "alice", "alice");
    let p = callback_params(r.location(), false);
    assert_eq!(p["token_type"], "Bearer");
    assert_eq!(p["expires_in"], "900");
    let id = jwt_part(&p["id_token"], 1);
    assert_eq!(id["nonce"], "nonce-1");
    assert_eq!(id["at_hash"], b64url(&sha256(p["access_token"].as_bytes())[..16]));
    assert!(!p.contains_key("code"));
    let r = srv.get(&auth_path(&[("response_type", "id_token token"), ("response_mode", "query")]), &[]);
    let q = callback_params(r.location(), true);
    assert_eq!(q["error_description"], "Response_mode 'query' not allowed for implicit or hybrid flow");
    let r = srv.get(&auth_path(&[("response_type", "id_token token"), ("nonce", "")]), &[]);
    assert_eq!(callback_params(r.location(), false)["error_description"], "Missing parameter: nonce");
}
