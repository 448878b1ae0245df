//! HTTP-level tests of the authorization parameters that shape the login: application-
//! initiated actions (`kc_action`, the update-password page, `kc_action_status`),
//! `login_hint`, `kc_idp_hint`, `prompt=login`, `max_age`, `acr_values` / `claims` (the
//! `acr` claim) and `ui_locales` (the pages' locale). Bad input must get Keycloak's error
//! answers, never a crash.

mod common;
use common::*;
use std::collections::HashMap;

const TOKEN: &str = "/realms/demo/protocol/openid-connect/token";

/// Realm `demo` with internationalization on, the demo client, a client with an
/// ACR-to-LoA map, and one user per test that changes a password.
const REALM: &str = r#"{
  "realm": "demo",
  "enabled": true,
  "registrationAllowed": true,
  "internationalizationEnabled": true,
  "supportedLocales": ["en", "de", "fr-CA"],
  "defaultLocale": "en",
  "clients": [
    {
      "clientId": "demo-app", "enabled": true, "publicClient": true,
      "redirectUris": ["http://localhost:3000/*"], "webOrigins": ["+"],
      "attributes": { "pkce.code.challenge.method": "S256", "post.logout.redirect.uris": "+" }
    },
    {
      "clientId": "acr-app", "enabled": true, "publicClient": true,
      "redirectUris": ["http://localhost:3000/*"], "webOrigins": ["+"],
      "attributes": { "acr.loa.map": "{\"silver\":1,\"gold\":2}" }
    }
  ],
  "users": [
    { "username": "alice", "enabled": true, "email": "alice@example.com", "credentials": [{ "type": "password", "value": "alice" }] },
    { "username": "ann", "enabled": true, "credentials": [{ "type": "password", "value": "ann-old" }] },
    { "username": "cat", "enabled": true, "credentials": [{ "type": "password", "value": "cat-old" }] },
    { "username": "ben", "enabled": true, "credentials": [{ "type": "password", "value": "ben-old" }] },
    { "username": "dot", "enabled": true, "credentials": [{ "type": "password", "value": "dot-old" }] }
  ]
}"#;

/// A second realm with internationalization off (Keycloak's default).
const PLAIN_REALM: &str = r#"{
  "realm": "plain", "enabled": true,
  "clients": [{ "clientId": "app", "enabled": true, "publicClient": true, "redirectUris": ["http://localhost:3000/*"] }],
  "users": [{ "username": "pat", "enabled": true, "credentials": [{ "type": "password", "value": "pat" }] }]
}"#;

fn srv() -> &'static Server {
    static S: std::sync::OnceLock<Server> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("realm-actions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("demo.json"), dir.join("plain.json"));
        std::fs::write(&a, REALM).unwrap();
        std::fs::write(&b, PLAIN_REALM).unwrap();
        Server::with_args(&["--import", a.to_str().unwrap(), "--import", b.to_str().unwrap()])
    })
}

/// GET with the jar's cookies; the jar takes the answer's cookies.
fn get(srv: &Server, jar: &mut Jar, path: &str) -> Resp {
    let r = srv.get(path, &[("Cookie", &jar.header())]);
    jar.update(&r);
    r
}

/// POST a form to the page's form action with the jar's cookies.
fn submit(srv: &Server, jar: &mut Jar, page: &Resp, form: &[(&str, &str)]) -> Resp {
    let r = srv.post_form(&form_action(&page.body), &[("Cookie", &jar.header())], form);
    jar.update(&r);
    r
}

fn fill_login(srv: &Server, jar: &mut Jar, page: &Resp, user: &str, password: &str) -> Resp {
    assert!(page.body.contains("id=\"kc-form-login\""), "not the login page: {} {}", page.status, page.body);
    submit(srv, jar, page, &[("username", user), ("password", password), ("credentialId", "")])
}

fn is_update_password_page(r: &Resp) -> bool {
    r.status == 200 && r.body.contains("id=\"kc-passwd-update-form\"")
}

fn new_password<'a>(pw: &'a str, confirm: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("password-new", pw), ("password-confirm", confirm), ("logout-sessions", "on")]
}

/// The access and ID token claims of a callback's code.
fn tokens_of(srv: &Server, cb: &HashMap<String, String>, verifier: Option<&str>, client: &str) -> serde_json::Value {
    let mut form = vec![("grant_type", "authorization_code"), ("code", cb["code"].as_str()), ("client_id", client), ("redirect_uri", REDIRECT)];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let r = srv.post_form(TOKEN, &[], &form);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn acr_of(t: &serde_json::Value) -> (String, String) {
    let at = jwt_part(t["access_token"].as_str().unwrap(), 1)["acr"].as_str().unwrap_or("").to_string();
    let id = jwt_part(t["id_token"].as_str().unwrap(), 1)["acr"].as_str().unwrap_or("").to_string();
    (at, id)
}

/// Whether a fresh browser can log in with these credentials through the form.
fn can_log_in(srv: &Server, user: &str, password: &str) -> bool {
    let mut jar = Jar::default();
    let page = get(srv, &mut jar, &auth_path(&[]));
    let r = fill_login(srv, &mut jar, &page, user, password);
    if r.status == 302 {
        return true;
    }
    assert!(r.body.contains("Invalid username or password."), "{}", r.body);
    false
}

/// Log in through the form (no action); returns the jar holding the SSO cookies.
fn logged_in(srv: &Server, user: &str, password: &str) -> Jar {
    let mut jar = Jar::default();
    let page = get(srv, &mut jar, &auth_path(&[]));
    let r = fill_login(srv, &mut jar, &page, user, password);
    assert_eq!(r.status, 302, "{}", r.body);
    jar
}

#[test]
fn update_password_after_the_login_form() {
    let srv = srv();
    let mut jar = Jar::default();
    let path = auth_path(&[("kc_action", "UPDATE_PASSWORD"), ("login_hint", "ann")]);
    let page = get(srv, &mut jar, &path);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("name=\"username\" value=\"ann\""), "login_hint pre-fills the username");
    let r = fill_login(srv, &mut jar, &page, "ann", "ann-old");

    // Authenticated: now the update-password page, with Keycloak's field names.
    assert!(is_update_password_page(&r), "{} {}", r.status, r.body);
    assert!(r.body.contains("<title>Sign in to demo</title>"));
    assert!(r.body.contains("Update password"));
    for field in ["id=\"password-new\" name=\"password-new\"", "id=\"password-confirm\" name=\"password-confirm\"", "type=\"submit\""] {
        assert!(r.body.contains(field), "{field}");
    }
    assert!(r.body.contains("name=\"cancel-aia\" value=\"true\""), "an application-initiated action can be cancelled");
    assert!(r.body.contains("id=\"logout-sessions\" name=\"logout-sessions\" value=\"on\" checked"));
    let action = form_action(&r.body);
    assert!(action.starts_with("/realms/demo/login-actions/required-action?"), "{action}");
    assert!(action.contains("execution=UPDATE_PASSWORD"), "{action}");
    assert_eq!(r.header("x-frame-options"), Some("SAMEORIGIN"));

    // Mismatch and empty: the page again with the error; nothing changed.
    let bad = submit(srv, &mut jar, &r, &new_password("ann-new", "ann-other"));
    assert!(is_update_password_page(&bad), "{}", bad.body);
    assert!(bad.body.contains("id=\"input-error-password-confirm\""), "{}", bad.body);
    assert!(bad.body.contains("Passwords don&#39;t match.") || bad.body.contains("Passwords don't match."), "{}", bad.body);
    let empty = submit(srv, &mut jar, &bad, &new_password("", ""));
    assert!(is_update_password_page(&empty));
    assert!(empty.body.contains("id=\"input-error-password\"") && empty.body.contains("Please specify password."), "{}", empty.body);
    let missing = submit(srv, &mut jar, &empty, &[]);
    assert!(missing.body.contains("Please specify password."));

    // Matching: back to the app with the action's outcome before the code.
    let ok = submit(srv, &mut jar, &missing, &new_password("ann-new", "ann-new"));
    assert_eq!(ok.status, 302, "{}", ok.body);
    let loc = ok.location().to_string();
    assert!(loc.starts_with("http://localhost:3000/#state=st-1&session_state="), "{loc}");
    assert!(loc.contains("&kc_action=UPDATE_PASSWORD&kc_action_status=success&code="), "{loc}");
    assert!(ok.set_cookie("KEYCLOAK_IDENTITY").is_some() && ok.set_cookie("KEYCLOAK_SESSION").is_some());
    let cb = callback_params(&loc, false);
    let t = tokens_of(srv, &cb, Some(VERIFIER), "demo-app");
    assert_eq!(acr_of(&t), ("1".into(), "1".into()));
    assert_eq!(jwt_part(t["access_token"].as_str().unwrap(), 1)["preferred_username"], "ann");

    // The form cannot be posted twice: with the SSO session, authentication_expired.
    let again = submit(srv, &mut jar, &r, &new_password("ann-3", "ann-3"));
    assert_eq!(again.status, 302, "{}", again.body);
    let p = callback_params(again.location(), false);
    assert_eq!((p["error"].as_str(), p["error_description"].as_str()), ("temporarily_unavailable", "authentication_expired"));

    // The new password works, the old one does not (form and password grant).
    assert!(can_log_in(srv, "ann", "ann-new"));
    assert!(!can_log_in(srv, "ann", "ann-old"));
    let pg = |pw: &str| srv.post_form(TOKEN, &[], &[("grant_type", "password"), ("client_id", "demo-app"), ("username", "ann"), ("password", pw)]).status;
    assert_eq!(pg("ann-new"), 200);
    assert_eq!(pg("ann-old"), 401);
}

#[test]
fn update_password_by_sso_then_cancel() {
    let srv = srv();
    let mut jar = logged_in(srv, "cat", "cat-old");

    // SSO: no login form, straight to the action's page (one action per request).
    let page = get(srv, &mut jar, &auth_path(&[("kc_action", "UPDATE_PASSWORD"), ("ui_locales", "de")]));
    assert!(is_update_password_page(&page), "{}", page.body);
    assert!(page.body.contains("<html lang=\"de\">"), "the action page has the requested locale");
    let r = submit(srv, &mut jar, &page, &[("password-new", ""), ("password-confirm", ""), ("cancel-aia", "true")]);
    assert_eq!(r.status, 302, "{}", r.body);
    let loc = r.location();
    assert!(loc.contains("&kc_action=UPDATE_PASSWORD&kc_action_status=cancelled&code="), "{loc}");
    // SSO login: acr 0; a refresh keeps it.
    let t = tokens_of(srv, &callback_params(loc, false), Some(VERIFIER), "demo-app");
    assert_eq!(acr_of(&t), ("0".into(), "0".into()));
    let n = refresh(srv, t["refresh_token"].as_str().unwrap());
    assert_eq!(jwt_part(n.json()["access_token"].as_str().unwrap(), 1)["acr"], "0");
    assert!(can_log_in(srv, "cat", "cat-old"), "cancel keeps the password");

    // Cancel even with passwords filled in; the action can be started again and done.
    let page = get(srv, &mut jar, &auth_path(&[("kc_action", "UPDATE_PASSWORD")]));
    let r = submit(srv, &mut jar, &page, &[("password-new", "x"), ("password-confirm", "y"), ("cancel-aia", "")]);
    assert!(callback_params(r.location(), false)["kc_action_status"] == "cancelled");
    let page = get(srv, &mut jar, &auth_path(&[("kc_action", "UPDATE_PASSWORD:some-parameter")]));
    assert!(is_update_password_page(&page), "the alias before ':' names the action");
    let r = submit(srv, &mut jar, &page, &new_password("cat-new", "cat-new"));
    let p = callback_params(r.location(), false);
    assert_eq!((p["kc_action"].as_str(), p["kc_action_status"].as_str()), ("UPDATE_PASSWORD", "success"));
    assert!(can_log_in(srv, "cat", "cat-new"));
}

#[test]
fn update_password_signs_out_other_sessions_when_asked() {
    let srv = srv();
    let login_tokens = |jar: &mut Jar| {
        let page = get(srv, jar, &auth_path(&[]));
        let r = fill_login(srv, jar, &page, "ben", "ben-old");
        tokens_of(srv, &callback_params(r.location(), false), Some(VERIFIER), "demo-app")
    };
    let (mut a, mut b) = (Jar::default(), Jar::default());
    let _ta = login_tokens(&mut a);
    let tb = login_tokens(&mut b);

    // Without `logout-sessions`: the other browser's session survives.
    let page = get(srv, &mut a, &auth_path(&[("kc_action", "UPDATE_PASSWORD")]));
    let r = submit(srv, &mut a, &page, &[("password-new", "ben-2"), ("password-confirm", "ben-2")]);
    let ta2 = tokens_of(srv, &callback_params(r.location(), false), Some(VERIFIER), "demo-app");
    let rb = refresh(srv, tb["refresh_token"].as_str().unwrap());
    assert_eq!(rb.status, 200, "{}", rb.body);

    // With it (the page's default): the other session ends, this one continues.
    let page = get(srv, &mut a, &auth_path(&[("kc_action", "UPDATE_PASSWORD")]));
    let r = submit(srv, &mut a, &page, &new_password("ben-3", "ben-3"));
    assert_eq!(r.status, 302, "{}", r.body);
    let rb = refresh(srv, rb.json()["refresh_token"].as_str().unwrap());
    assert_eq!(rb.json(), serde_json::json!({"error": "invalid_grant", "error_description": "Session not active"}));
    assert_eq!(refresh(srv, ta2["refresh_token"].as_str().unwrap()).status, 200);
    assert!(can_log_in(srv, "ben", "ben-3"));
}

#[test]
fn unknown_actions_and_prompt_none() {
    let srv = srv();
    let mut jar = logged_in(srv, "alice", "alice");
    // Aliases are case-sensitive; an action the server does not run ends with `error`.
    for action in ["CONFIGURE_TOTP", "update_password", "delete_account", ":x", "NO SUCH\u{1F600}"] {
        let r = get(srv, &mut jar, &auth_path(&[("kc_action", action)]));
        assert_eq!(r.status, 302, "{action}: {}", r.body);
        let p = callback_params(r.location(), false);
        assert_eq!(p["kc_action_status"], "error", "{action}");
        assert_eq!(p["kc_action"], action.split(':').next().unwrap(), "{action}");
        assert!(p.contains_key("code"), "the login itself succeeds");
    }
    // The action needs the user: prompt=none cannot run it.
    let r = get(srv, &mut jar, &auth_path(&[("kc_action", "UPDATE_PASSWORD"), ("prompt", "none")]));
    let p = callback_params(r.location(), false);
    assert_eq!(p["error"], "interaction_required");
    assert!(!p.contains_key("code") && !p.contains_key("kc_action_status"));
    // Without a session: login_required.
    let r = srv.get(&auth_path(&[("kc_action", "UPDATE_PASSWORD"), ("prompt", "none")]), &[]);
    assert_eq!(callback_params(r.location(), false)["error"], "login_required");
    // Without a session, an unknown action still shows the login form first.
    let mut fresh = Jar::default();
    let page = get(srv, &mut fresh, &auth_path(&[("kc_action", "CONFIGURE_TOTP")]));
    let r = fill_login(srv, &mut fresh, &page, "alice", "alice");
    assert!(r.location().contains("&kc_action=CONFIGURE_TOTP&kc_action_status=error&code="), "{}", r.location());
    // A plain login echoes nothing.
    let r = get(srv, &mut jar, &auth_path(&[]));
    assert!(!r.location().contains("kc_action"), "{}", r.location());
    // Duplicated kc_action: invalid_request.
    let dup = format!("{}&kc_action=UPDATE_PASSWORD&kc_action=UPDATE_PASSWORD", auth_path(&[]));
    assert_eq!(callback_params(srv.get(&dup, &[]).location(), true)["error_description"], "duplicated parameter");
}

#[test]
fn required_action_endpoint_rejects_bad_requests() {
    let srv = srv();
    let ra = "/realms/demo/login-actions/required-action";
    // No AUTH_SESSION_ID / unknown tab / no tab.
    let r = srv.post_form(&format!("{ra}?tab_id=x"), &[], &new_password("a", "a"));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Cookie not found"), "{}", r.body);
    for q in ["?tab_id=nope", "", "?tab_id=%FF%FE&execution=UPDATE_PASSWORD", "?tab_id="] {
        let r = srv.post_form(&format!("{ra}{q}"), &[("Cookie", "AUTH_SESSION_ID=unknown")], &new_password("a", "a"));
        assert_eq!(r.status, 400, "{q}");
        assert!(r.body.contains("Your login attempt timed out."), "{q}: {}", r.body);
    }
    // A tab that only shows the login form (nobody authenticated yet) has no action to run.
    let mut jar = Jar::default();
    let page = get(srv, &mut jar, &auth_path(&[("kc_action", "UPDATE_PASSWORD")]));
    let tab_query = form_action(&page.body);
    let tab_query = tab_query.split_once('?').unwrap().1;
    let r = srv.post_form(&format!("{ra}?{tab_query}"), &[("Cookie", &jar.header())], &new_password("dot-x", "dot-x"));
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("Your login attempt timed out."));
    assert!(can_log_in(srv, "dot", "dot-old"));

    // The real page: GET shows it again; odd bodies are answered, not crashed on.
    let r = fill_login(srv, &mut jar, &page, "dot", "dot-old");
    assert!(is_update_password_page(&r));
    let action = form_action(&r.body);
    let again = get(srv, &mut jar, &action);
    assert!(is_update_password_page(&again));
    let cookie = jar.header();
    let huge = "p".repeat(100_000);
    let bodies: Vec<Vec<u8>> = vec![
        vec![0xff, 0x00, 0xfe, b'=', b'&', b'%'],
        b"password-new=%ZZ&password-confirm=%".to_vec(),
        b"{\"password-new\":\"a\"}".to_vec(),
        format!("password-new={huge}&password-confirm=other").into_bytes(),
        b"password-new=a&password-new=b&password-confirm=b".to_vec(),
    ];
    for b in &bodies {
        let r = request(srv.port, "POST", &action, &[("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", &cookie)], Some(b));
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("id=\"kc-passwd-update-form\""));
    }
    let r = request(srv.port, "DELETE", ra, &[("Cookie", &cookie)], None);
    assert_eq!(r.status, 405);
    // Still pending: the password was never changed; finish it now.
    assert!(can_log_in(srv, "dot", "dot-old"));
    let r = request(
        srv.port,
        "POST",
        &action,
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", &cookie)],
        Some(format!("password-new={huge}&password-confirm={huge}").as_bytes()),
    );
    assert_eq!(r.status, 302, "{}", r.body);
    assert!(can_log_in(srv, "dot", &huge));
    assert!(srv.alive() || srv.get("/realms/demo/.well-known/openid-configuration", &[]).status == 200);
}

#[test]
fn login_hint_idp_hint_prompt_login_and_max_age() {
    let srv = srv();
    // login_hint pre-fills (escaped); kc_idp_hint naming no identity provider keeps the form.
    let page = srv.get(&auth_path(&[("login_hint", "al\"<ice>"), ("kc_idp_hint", "github")]), &[]);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("name=\"username\" value=\"al&quot;&lt;ice&gt;\""), "{}", page.body);
    assert!(!page.body.contains("re-authenticate"));

    let mut jar = logged_in(srv, "alice", "alice");
    let first = get(srv, &mut jar, &auth_path(&[]));
    let sid = callback_params(first.location(), false)["session_state"].clone();
    // kc_idp_hint with an SSO session: SSO as usual.
    assert_eq!(get(srv, &mut jar, &auth_path(&[("kc_idp_hint", "github")])).status, 302);
    // A fresh login is younger than max_age=3600: SSO; unparseable max_age is ignored.
    for m in ["3600", "abc", "9999999999999999999999"] {
        let r = get(srv, &mut jar, &auth_path(&[("max_age", m)]));
        assert_eq!(r.status, 302, "max_age={m}");
    }
    // prompt=login / max_age=0: the form again, pre-filled with the session's user (not
    // the hint), with Keycloak's notice; the session keeps its id; acr is 1 again.
    for extra in [("prompt", "login"), ("max_age", "0")] {
        let page = get(srv, &mut jar, &auth_path(&[extra, ("login_hint", "someone-else")]));
        assert_eq!(page.status, 200, "{extra:?}");
        assert!(page.body.contains("name=\"username\" value=\"alice\""), "{extra:?}");
        assert!(page.body.contains("Please re-authenticate to continue"), "{extra:?}");
        let r = fill_login(srv, &mut jar, &page, "alice", "alice");
        let cb = callback_params(r.location(), false);
        assert_eq!(cb["session_state"], sid, "{extra:?}");
        assert_eq!(acr_of(&tokens_of(srv, &cb, Some(VERIFIER), "demo-app")).0, "1");
    }
    // max_age with prompt=none: login_required; negative max_age always re-authenticates.
    let r = get(srv, &mut jar, &auth_path(&[("max_age", "0"), ("prompt", "none")]));
    assert_eq!(callback_params(r.location(), false)["error"], "login_required");
    assert_eq!(get(srv, &mut jar, &auth_path(&[("max_age", "-5")])).status, 200);
}

/// Authorization path for `acr-app` (no PKCE) with extra parameters.
fn acr_app_path(extra: &[(&str, &str)]) -> String {
    let mut p: Vec<(&str, &str)> = vec![
        ("client_id", "acr-app"),
        ("redirect_uri", REDIRECT),
        ("state", "s"),
        ("response_mode", "fragment"),
        ("response_type", "code"),
        ("scope", "openid"),
        ("nonce", "n"),
    ];
    p.extend_from_slice(extra);
    format!("/realms/demo/protocol/openid-connect/auth?{}", encode_form(&p))
}

#[test]
fn acr_values_and_claims() {
    let srv = srv();
    let claims = |values: &str, essential: bool| format!(r#"{{"id_token":{{"acr":{{"values":[{values}],"essential":{essential}}}}}}}"#);
    let login_acr = |path: &str, client: &str, verifier: Option<&str>| {
        let mut jar = Jar::default();
        let page = get(srv, &mut jar, path);
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        let r = fill_login(srv, &mut jar, &page, "alice", "alice");
        (acr_of(&tokens_of(srv, &callback_params(r.location(), false), verifier, client)), jar)
    };

    // No LoA map: the level itself ("1" after the form), whatever numbers are asked for.
    let keycloak_js_claims = claims("\"1\"", false);
    for extra in [("acr_values", "1"), ("acr_values", "2 1"), ("claims", keycloak_js_claims.as_str())] {
        let ((at, id), _) = login_acr(&auth_path(&[extra]), "demo-app", Some(VERIFIER));
        assert_eq!((at.as_str(), id.as_str()), ("1", "1"), "{extra:?}");
    }
    // An essential value that is neither mapped nor a number: Keycloak's error page.
    let essential_gold = claims("\"gold\"", true);
    let r = srv.get(&auth_path(&[("claims", &essential_gold)]), &[]);
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Invalid parameter: claims"), "{}", r.body);
    // Not essential, or unparseable claims: ignored.
    for c in [claims("\"gold\"", false), "{not json".into(), "[]".into(), r#"{"id_token":{"acr":"1"}}"#.into()] {
        assert_eq!(srv.get(&auth_path(&[("claims", &c)]), &[]).status, 200, "{c}");
    }
    // Essential numbers are accepted (step-up is not emulated: the form gives level 1).
    let essential_two = claims("\"2\"", true);
    let ((at, _), _) = login_acr(&auth_path(&[("claims", &essential_two)]), "demo-app", Some(VERIFIER));
    assert_eq!(at, "1");

    // With the client's map {"silver":1,"gold":2}: names instead of levels.
    let ((at, id), mut jar) = login_acr(&acr_app_path(&[("acr_values", "silver")]), "acr-app", None);
    assert_eq!((at.as_str(), id.as_str()), ("silver", "silver"));
    let ((at, _), _) = login_acr(&acr_app_path(&[("claims", &essential_gold)]), "acr-app", None);
    assert_eq!(at, "silver", "gold (level 2) is mapped, so accepted; level 1 reached is silver");
    let ((at, _), _) = login_acr(&acr_app_path(&[]), "acr-app", None);
    assert_eq!(at, "silver");
    // SSO reaches level 0, which the map does not name: "0".
    let r = get(srv, &mut jar, &acr_app_path(&[("acr_values", "silver")]));
    let t = tokens_of(srv, &callback_params(r.location(), false), None, "acr-app");
    assert_eq!(acr_of(&t).0, "0");
    // The essential unmapped value is still an error for this client.
    let bronze = claims("\"bronze\"", true);
    assert_eq!(srv.get(&acr_app_path(&[("claims", &bronze)]), &[]).status, 400);
}

#[test]
fn ui_locales_choose_the_page_locale() {
    let srv = srv();
    let lang = |r: &Resp| {
        let start = r.body.find("<html lang=\"").expect("html lang") + 12;
        r.body[start..start + r.body[start..].find('"').unwrap()].to_string()
    };
    let page = |extra: &[(&str, &str)], headers: &[(&str, &str)]| srv.get(&auth_path(extra), headers);

    let r = page(&[("ui_locales", "de")], &[]);
    assert_eq!(lang(&r), "de");
    let c = r.set_cookie("KEYCLOAK_LOCALE").expect("KEYCLOAK_LOCALE");
    assert!(c.starts_with("KEYCLOAK_LOCALE=de;") && c.contains("Path=/realms/demo/") && c.contains("HttpOnly") && c.contains("SameSite=Strict"), "{c}");
    // First supported tag wins; a region falls back to its language; case-insensitive.
    assert_eq!(lang(&page(&[("ui_locales", "xx FR-ca de")], &[])), "fr-CA");
    assert_eq!(lang(&page(&[("ui_locales", "de-AT")], &[])), "de");
    // Nothing supported in ui_locales: the cookie, then Accept-Language, then the default.
    let r = page(&[("ui_locales", "ja")], &[("Accept-Language", "ja, fr-CA;q=0.5, de;q=0.9")]);
    assert_eq!(lang(&r), "de");
    assert!(r.set_cookie("KEYCLOAK_LOCALE").is_none());
    assert_eq!(lang(&page(&[], &[("Cookie", "KEYCLOAK_LOCALE=fr-CA"), ("Accept-Language", "de")])), "fr-CA");
    assert_eq!(lang(&page(&[], &[("Accept-Language", "*, q=x;;,")])), "en");
    assert_eq!(lang(&page(&[("ui_locales", "\"><script>")], &[])), "en");
    // The tag stays on the form after a wrong password.
    let mut jar = Jar::default();
    let p = get(srv, &mut jar, &auth_path(&[("ui_locales", "fr-CA")]));
    let r = fill_login(srv, &mut jar, &p, "alice", "wrong");
    assert!(r.body.contains("Invalid username or password."));
    assert_eq!(lang(&r), "fr-CA");

    // Registration pages too, also after a rejected form.
    let mut jar = Jar::default();
    let reg = get(srv, &mut jar, &auth_path(&[("ui_locales", "de")]).replace("/auth?", "/registrations?"));
    assert!(reg.body.contains("id=\"kc-register-form\""));
    assert_eq!(lang(&reg), "de");
    let r = submit(srv, &mut jar, &reg, &[("username", ""), ("email", "")]);
    assert!(r.body.contains("Please specify username."), "{}", r.body);
    assert_eq!(lang(&r), "de");

    // Internationalization off (Keycloak's default): always the default locale.
    let plain = "/realms/plain/protocol/openid-connect/auth?client_id=app&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2F&response_type=code&ui_locales=de";
    let r = srv.get(plain, &[("Accept-Language", "de")]);
    assert_eq!(r.status, 200);
    assert_eq!(lang(&r), "en");
    assert!(r.set_cookie("KEYCLOAK_LOCALE").is_none());
}
