//! One scenario per flow: drives the machine through it, asserts what an app sees, and
//! pins every input and effect in a golden trace.

use super::realm::{jwks, jwt, Realm, APP, ISSUER, ORIGIN};
use super::world::{url_param, Settled, World};
use super::{app, golden};
use serde_json::{json, Value};

fn ok(w: &World, op: u64) -> Value {
    match w.settled(op) {
        Some(Settled::Ok(v)) => v.clone(),
        other => panic!("op {op} did not resolve: {other:?}\n{:#?}", w.violations),
    }
}

fn err(w: &World, op: u64) -> Value {
    match w.settled(op) {
        Some(Settled::Err(v)) => v.clone(),
        other => panic!("op {op} did not reject: {other:?}"),
    }
}

fn message(v: &Value) -> &str {
    v["error"].as_str().unwrap_or("")
}

/// The status iframe, loaded; the probe answered `supported`.
fn frames_ready(w: &mut World) {
    if let Some(p) = w.frame("keycloak-3p-check-iframe") {
        w.message(p.id, ORIGIN, Some("supported"));
    }
    if let Some(s) = w.frame("keycloak-session-iframe") {
        w.load(s.id);
    }
}

/// Answers the last post to the status iframe.
fn status_answer(w: &mut World, realm: &Realm) {
    let (frame, message, _) = w.posts.pop().expect("a message to the status iframe");
    let answer = realm.status(&message);
    w.message(frame as u64, ORIGIN, Some(answer));
}

/// A login at the realm, then the page loaded again at the callback URL (a new instance,
/// same storage) with `init` called and the code exchange answered: the page, the realm
/// and the op of `init`.
fn callback_page(init: Value) -> (World, Realm, u64) {
    let mut realm = Realm::new();
    realm.session = true;
    let mut w = ready(json!({ "checkLoginIframe": false }));
    let login = w.call("createLoginUrl", vec![json!({})]);
    let url = ok(&w, login).as_str().unwrap().to_string();
    let callback = realm.authorize(&url);
    let mut page = app();
    page.local = w.local.clone();
    page.href = callback;
    let op = page.call("init", vec![init]);
    frames_ready(&mut page);
    realm.serve_token(&mut page);
    (page, realm, op)
}

/// Logs in through a page load with a callback (code flow): returns the world after init.
fn logged_in(init: Value) -> (World, Realm) {
    let (mut page, realm, op) = callback_page(init);
    assert_eq!(ok(&page, op), json!(true), "{:#?}", page.violations);
    page.transcript.clear();
    (page, realm)
}

#[test]
fn init_plain() {
    let mut w = app();
    let op = w.call("init", vec![json!({ "checkLoginIframe": false })]);
    assert_eq!(ok(&w, op), json!(false));
    assert_eq!(w.event_names(), ["onReady"]);
    assert_eq!(w.prop("didInitialize"), Some(&json!(true)));
    assert_eq!(w.prop("clientId"), Some(&json!("demo-app")));
    let again = w.call("init", vec![json!({})]);
    assert_eq!(message(&err(&w, again)), "A 'Keycloak' instance can only be initialized once.");
    golden("init_plain", &w);
}

#[test]
fn init_invalid_options() {
    let mut w = app();
    let op = w.call("init", vec![json!({ "pkceMethod": "plain" })]);
    let e = err(&w, op);
    assert_eq!(message(&e), "Invalid value for pkceMethod', expected 'S256' or false but got plain.");
    assert_eq!(e["type"], "TypeError");
    golden("init_invalid_options", &w);
}

#[test]
fn init_login_required() {
    let mut w = app();
    let op = w.call("init", vec![json!({ "onLoad": "login-required", "checkLoginIframe": false, "locale": "nl" })]);
    assert_eq!(w.settled(op), None, "navigating: init never settles");
    let (how, url) = w.navigations.last().unwrap().clone();
    assert_eq!(how, "assign");
    assert!(url.starts_with(&format!("{ISSUER}/protocol/openid-connect/auth?client_id=demo-app&redirect_uri=http%3A%2F%2Fapp.localhost%3A3000%2F&state=")));
    assert_eq!(url_param(&url, "ui_locales").as_deref(), Some("nl"));
    assert_eq!(url_param(&url, "prompt"), None);
    assert_eq!(w.local.len(), 1, "the callback state is stored");
    golden("init_login_required", &w);
}

#[test]
fn init_callback_code_exchange() {
    let mut realm = Realm::new();
    realm.session = true;
    let mut w = ready(json!({ "checkLoginIframe": false }));
    let url = call_ok(&mut w, "createLoginUrl", json!({ "scope": "email" })).as_str().unwrap().to_string();
    let callback = realm.authorize(&url);
    let mut page = app();
    page.local = w.local.clone();
    page.href = format!("{callback}");
    let op = page.call("init", vec![json!({ "onLoad": "check-sso" })]);
    // The code exchange does not wait for the probe or the status iframe.
    assert!(page.fetches.iter().any(|f| f.url.ends_with("/token")), "exchange started at once");
    assert_eq!(page.history.last().map(String::as_str), Some("http://app.localhost:3000/"), "callback stripped from the URL");
    realm.serve_token(&mut page);
    assert_eq!(page.settled(op), None, "waits for the probe and the status iframe");
    frames_ready(&mut page);
    assert_eq!(ok(&page, op), json!(true));
    assert_eq!(page.event_names(), ["onAuthSuccess", "onReady"]);
    assert_eq!(page.prop("subject"), Some(&json!("alice-id")));
    assert_eq!(page.prop("realmAccess"), Some(&json!({ "roles": ["user"] })));
    assert!(page.local.keys().all(|k| k == super::HINT_KEY), "the state is single use");
    assert_eq!(hints(&page).len(), 1, "check-sso by redirect with the status iframe keeps the session hint");
    // Polling: every 5 s one check.
    page.advance(5000.0);
    assert_eq!(page.posts.len(), 1);
    assert_eq!(page.posts[0].1, "demo-app sid-1");
    status_answer(&mut page, &realm);
    page.advance(5000.0);
    assert_eq!(page.posts.len(), 1, "the next check after 5 more seconds");
    golden("init_callback_code_exchange", &page);
}

/// An initialised instance (no callback on the page).
fn ready(init: Value) -> World {
    let mut w = app();
    let op = w.call("init", vec![init]);
    ok(&w, op);
    w
}

fn call_ok(w: &mut World, method: &str, arg: Value) -> Value {
    let op = w.call(method, vec![arg]);
    ok(w, op)
}

#[test]
fn init_check_sso_logged_out_via_status_iframe() {
    let realm = Realm::new();
    let mut w = app();
    let op = w.call("init", vec![json!({ "onLoad": "check-sso" })]);
    frames_ready(&mut w);
    assert_eq!(w.posts.last().unwrap().1, "demo-app ");
    status_answer(&mut w, &realm);
    assert_eq!(ok(&w, op), json!(false));
    assert!(w.navigations.is_empty());
    assert!(w.frame("keycloak-3p-check-iframe").is_none(), "the probe frame is removed");
    golden("init_check_sso_logged_out", &w);
}

#[test]
fn init_silent_check_sso_logged_in() {
    let mut realm = Realm::new();
    realm.session = true;
    let mut w = app();
    let silent = format!("{APP}/silent-check-sso.html");
    let op = w.call("init", vec![json!({ "onLoad": "check-sso", "silentCheckSsoRedirectUri": silent })]);
    frames_ready(&mut w);
    status_answer(&mut w, &realm);
    let frame = w.frame("keycloak-silent-check-sso").expect("silent frame");
    let callback = realm.authorize(&frame.src);
    // A message from another origin, and one from another frame, are ignored.
    w.message(frame.id, "http://evil.example", Some(&callback));
    w.message(9999, APP, Some(&callback));
    assert_eq!(w.settled(op), None);
    w.message(frame.id, APP, Some(&callback));
    assert!(w.frame("keycloak-silent-check-sso").is_none(), "the silent frame is removed");
    realm.serve_token(&mut w);
    assert_eq!(ok(&w, op), json!(true));
    assert_eq!(w.event_names(), ["onAuthSuccess", "onReady"]);
    golden("init_silent_check_sso_logged_in", &w);
}

/// The status iframe loads and answers while the third-party-cookie probe still runs; its
/// `changed` starts silent check-sso at once, but the answer waits for the probe: no code
/// exchange, no event before it says cookies work (keycloak-js's order, fewer round trips).
#[test]
fn init_silent_check_sso_beside_the_probe() {
    let mut realm = Realm::new();
    realm.session = true;
    let mut w = app();
    let silent = format!("{APP}/silent-check-sso.html");
    let op = w.call("init", vec![json!({ "onLoad": "check-sso", "silentCheckSsoRedirectUri": silent })]);
    let probe = w.frame("keycloak-3p-check-iframe").expect("probe");
    let status = w.frame("keycloak-session-iframe").expect("the status iframe loads beside the probe");
    assert!(w.frame("keycloak-silent-check-sso").is_none(), "no silent check before the status iframe says `changed`");
    w.load(status.id);
    status_answer(&mut w, &realm);
    let frame = w.frame("keycloak-silent-check-sso").expect("silent check-sso starts on `changed`");
    let callback = realm.authorize(&frame.src);
    w.message(frame.id, APP, Some(&callback));
    held_until_the_probe(&mut w, &mut realm, probe.id, op);
    golden("init_silent_check_sso_beside_the_probe", &w);
}

/// The same start, but the probe finds third-party cookies blocked: the status iframe and
/// the held silent check are taken back (frame removed, callback record deleted) and
/// check-sso falls back to a redirect, as keycloak-js does.
#[test]
fn init_early_silent_check_taken_back_when_cookies_are_blocked() {
    let mut realm = Realm::new();
    realm.session = true;
    let mut w = app();
    let silent = format!("{APP}/silent-check-sso.html");
    let op = w.call("init", vec![json!({ "onLoad": "check-sso", "silentCheckSsoRedirectUri": silent })]);
    let probe = w.frame("keycloak-3p-check-iframe").unwrap();
    let status = w.frame("keycloak-session-iframe").unwrap();
    w.load(status.id);
    status_answer(&mut w, &realm);
    assert!(w.frame("keycloak-silent-check-sso").is_some());
    let records = || w.local.keys().filter(|k| k.starts_with("kc-callback-")).count();
    assert_eq!(records(), 1);
    w.message(probe.id, ORIGIN, Some("unsupported"));
    assert!(w.frame("keycloak-silent-check-sso").is_none());
    assert!(w.frame("keycloak-session-iframe").is_none());
    let (how, url) = w.navigations.last().unwrap().clone();
    assert_eq!((how.as_str(), url_param(&url, "prompt").as_deref()), ("assign", Some("none")));
    // Only the redirect's record is left.
    let state = url_param(&url, "state").unwrap();
    assert_eq!(w.local.keys().filter(|k| k.starts_with("kc-callback-")).cloned().collect::<Vec<_>>(), [format!("kc-callback-{state}")]);
    assert_eq!(w.settled(op), None);
    assert!(w.events.is_empty());
    golden("init_early_silent_taken_back", &w);
}

/// The session hints kept in a page's storage: (key, value).
fn hints(w: &World) -> Vec<(String, String)> {
    w.local.iter().filter(|(k, _)| k.starts_with("kc-wasm-sso-")).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// check-sso with silent check-sso and the status iframe, logged in through the silent
/// check after `changed` (keycloak-js's order, no hint): the page and the op of `init`.
fn silent_logged_in(realm: &mut Realm, local: Option<&World>) -> World {
    let mut w = app();
    if let Some(prev) = local {
        w.local = prev.local.clone();
    }
    let op = w.call("init", vec![json!({ "onLoad": "check-sso", "silentCheckSsoRedirectUri": format!("{APP}/silent-check-sso.html") })]);
    frames_ready(&mut w);
    status_answer(&mut w, realm);
    let frame = w.frame("keycloak-silent-check-sso").expect("silent check-sso on `changed`");
    let callback = realm.authorize(&frame.src);
    w.message(frame.id, APP, Some(&callback));
    realm.serve_token(&mut w);
    assert_eq!(ok(&w, op), json!(true));
    w
}

/// The session hint (ours): a load that ends with a session, the probe finding cookies
/// working, keeps `kc-wasm-sso-<hash>` (no token in it, until the refresh token's expiry).
/// The next load reads it once and starts silent check-sso beside the probe and the status
/// iframe, its answer held until both agree: two round trips fewer. When the session has
/// ended elsewhere meanwhile, the status iframe's `unchanged` takes the check back (frame
/// and callback record gone, no request, no event) and no hint is left, so the load after
/// that keeps keycloak-js's order.
#[test]
fn session_hint_starts_the_next_loads_silent_check_at_once() {
    let mut realm = Realm::new();
    realm.session = true;
    let silent = format!("{APP}/silent-check-sso.html");
    let init = json!({ "onLoad": "check-sso", "silentCheckSsoRedirectUri": silent });
    let first = silent_logged_in(&mut realm, None);
    let kept = hints(&first);
    assert_eq!(kept.len(), 1, "{:?}", first.local.keys().collect::<Vec<_>>());
    assert_eq!(kept[0].0, super::HINT_KEY, "the key the explorer seeds");
    let kept_value = serde_json::from_str::<Value>(&kept[0].1).unwrap();
    let refresh_exp = b64json(first.prop("refreshToken").and_then(|t| t.as_str()).and_then(|t| t.split('.').nth(1)).expect("refresh token"))["exp"].as_f64().expect("its exp");
    assert_eq!(kept_value, json!({ "sso": 1, "expires": (refresh_exp * 1000.0) as u64 }), "no token in it, and the refresh token's expiry");

    // The next load: the silent check starts at once.
    let mut w = app();
    w.local = first.local.clone();
    let op = w.call("init", vec![init.clone()]);
    let probe = w.frame("keycloak-3p-check-iframe").expect("probe");
    let status = w.frame("keycloak-session-iframe").expect("status iframe");
    let frame = w.frame("keycloak-silent-check-sso").expect("with the hint, silent check-sso starts beside them");
    assert!(hints(&w).is_empty(), "the hint is read once");
    let callback = realm.authorize(&frame.src);
    w.message(frame.id, APP, Some(&callback));
    assert!(w.fetches.is_empty(), "the answer is held until the status iframe and the probe agree");
    w.load(status.id);
    status_answer(&mut w, &realm);
    held_until_the_probe(&mut w, &mut realm, probe.id, op);
    assert_eq!(hints(&w).len(), 1, "kept again for the next load");
    golden("init_silent_check_sso_with_the_hint", &w);

    // The session ended elsewhere: the hint is wrong once.
    realm.session = false;
    let mut w2 = app();
    w2.local = w.local.clone();
    let op = w2.call("init", vec![init.clone()]);
    let frame = w2.frame("keycloak-silent-check-sso").expect("started on the hint");
    // Its `login_required` comes before the status iframe's answer; held, then dropped.
    let callback = realm.authorize(&frame.src);
    assert!(callback.contains("error=login_required"), "{callback}");
    w2.message(frame.id, APP, Some(&callback));
    assert_eq!(w2.settled(op), None);
    frames_ready(&mut w2);
    status_answer(&mut w2, &realm);
    assert_eq!(ok(&w2, op), json!(false));
    assert!(w2.frame("keycloak-silent-check-sso").is_none(), "`unchanged` takes the silent check back");
    assert_eq!(w2.local.keys().filter(|k| k.starts_with("kc-callback-")).count(), 0, "no callback record left");
    assert!(w2.fetches.is_empty());
    assert!(w2.navigations.is_empty());
    assert_eq!(w2.event_names(), ["onReady"]);
    assert!(w2.live_handles().is_empty(), "every handle released: {:?}", w2.live_handles());
    assert!(hints(&w2).is_empty(), "no hint after a load without a session");

    // And the load after that keeps keycloak-js's order.
    let mut w3 = app();
    w3.local = w2.local.clone();
    w3.call("init", vec![init]);
    assert!(w3.frame("keycloak-silent-check-sso").is_none(), "no silent check before `changed` without the hint");
}

/// The hint goes with the session (`clearToken`, a logout, a status iframe's `changed`); a
/// probe that finds cookies blocked takes back the check it started and keeps none; a load
/// without the status iframe keeps none.
#[test]
fn session_hint_goes_with_the_session() {
    let mut realm = Realm::new();
    realm.session = true;
    let init = json!({ "onLoad": "check-sso", "silentCheckSsoRedirectUri": format!("{APP}/silent-check-sso.html") });
    let mut w = silent_logged_in(&mut realm, None);
    assert_eq!(hints(&w).len(), 1);
    call_ok(&mut w, "clearToken", json!(null));
    assert!(hints(&w).is_empty(), "clearToken removes the hint");

    // The session ends at the realm: the status iframe's `changed` before a refresh clears the tokens.
    let mut w = silent_logged_in(&mut realm, None);
    realm.session = false;
    let up = w.call("updateToken", vec![json!(-1)]);
    status_answer(&mut w, &realm);
    err(&w, up);
    assert_eq!(w.prop("authenticated"), Some(&json!(false)));
    assert!(hints(&w).is_empty(), "a session ended elsewhere removes the hint");
    realm.session = true;

    let mut w = silent_logged_in(&mut realm, None);
    let get = w.call("logout", vec![json!(null)]);
    ok(&w, get);
    assert_eq!(w.navigations.last().unwrap().0, "replace");
    assert!(hints(&w).is_empty(), "logout removes the hint");

    // Third-party cookies blocked on the next load: the early check is taken back, and
    // check-sso falls back to a redirect that keeps no hint.
    let first = silent_logged_in(&mut realm, None);
    let mut w = app();
    w.local = first.local.clone();
    let op = w.call("init", vec![init.clone()]);
    assert!(w.frame("keycloak-silent-check-sso").is_some());
    let probe = w.frame("keycloak-3p-check-iframe").unwrap();
    w.message(probe.id, ORIGIN, Some("unsupported"));
    assert!(w.frame("keycloak-silent-check-sso").is_none(), "the probe takes the early check back");
    let (how, url) = w.navigations.last().unwrap().clone();
    assert_eq!((how.as_str(), url_param(&url, "prompt").as_deref()), ("assign", Some("none")));
    let state = url_param(&url, "state").unwrap();
    assert_eq!(w.local.keys().filter(|k| k.starts_with("kc-callback-")).cloned().collect::<Vec<_>>(), [format!("kc-callback-{state}")], "only the redirect's record");
    assert_eq!(w.settled(op), None);
    assert!(hints(&w).is_empty());

    // `sessionHint: false`: a hint left by an earlier load is not read, and none is kept.
    let first = silent_logged_in(&mut realm, None);
    let mut w = app();
    w.local = first.local.clone();
    let op = w.call("init", vec![json!({ "onLoad": "check-sso", "sessionHint": false, "silentCheckSsoRedirectUri": format!("{APP}/silent-check-sso.html") })]);
    assert!(w.frame("keycloak-silent-check-sso").is_none(), "not started early");
    assert_eq!(hints(&w).len(), 1, "not read");
    w.local.clear();
    frames_ready(&mut w);
    status_answer(&mut w, &realm);
    let frame = w.frame("keycloak-silent-check-sso").expect("silent check-sso on `changed`");
    let callback = realm.authorize(&frame.src);
    w.message(frame.id, APP, Some(&callback));
    realm.serve_token(&mut w);
    assert_eq!(ok(&w, op), json!(true));
    assert!(hints(&w).is_empty(), "none kept");

    // Without the status iframe no hint is kept (its check could not use one).
    let mut w = app();
    let op = w.call("init", vec![json!({ "onLoad": "check-sso", "checkLoginIframe": false, "silentCheckSsoRedirectUri": format!("{APP}/silent-check-sso.html") })]);
    frames_ready(&mut w);
    let frame = w.frame("keycloak-silent-check-sso").expect("silent frame");
    let callback = realm.authorize(&frame.src);
    w.message(frame.id, APP, Some(&callback));
    realm.serve_token(&mut w);
    assert_eq!(ok(&w, op), json!(true));
    assert!(hints(&w).is_empty());
}

/// The page loaded again where the last redirect of `prev` came back (same storage) and
/// `init` run to its end: the page and what `init` resolved.
fn redirected_back(realm: &mut Realm, prev: &World, init: &Value) -> (World, Value) {
    let (how, url) = prev.navigations.last().expect("a redirect").clone();
    assert_eq!((how.as_str(), url_param(&url, "prompt").as_deref()), ("assign", Some("none")));
    let mut w = app();
    w.local = prev.local.clone();
    w.href = realm.authorize(&url);
    let op = w.call("init", vec![init.clone()]);
    if w.fetches.iter().any(|f| f.url.ends_with("/token")) {
        realm.serve_token(&mut w);
    }
    frames_ready(&mut w);
    let r = ok(&w, op);
    (w, r)
}

/// The session hint with check-sso by redirect and the status iframe (keycloak-js's
/// defaults): keycloak-js redirects with `prompt=none` only after the probe and the status
/// iframe's `changed`; a returning visitor's load redirects at once, before either starts.
/// When the session ended elsewhere, the wrong hint costs one redirect (`login_required`),
/// keeps no hint, and the next load keeps keycloak-js's order.
#[test]
fn session_hint_sends_the_next_check_sso_redirect_at_once() {
    let mut realm = Realm::new();
    realm.session = true;
    let init = json!({ "onLoad": "check-sso" });
    // A first visit: the redirect after `changed`, and the callback's load keeps a hint.
    let mut w = app();
    w.call("init", vec![init.clone()]);
    assert!(w.navigations.is_empty(), "no redirect before the status iframe's answer");
    frames_ready(&mut w);
    status_answer(&mut w, &realm);
    let (back, r) = redirected_back(&mut realm, &w, &init);
    assert_eq!(r, json!(true));
    assert_eq!(hints(&back).len(), 1, "kept by the callback's load");

    // Another realm's app on this origin, same client id: the hint is not its own.
    let mut other = World::new(json!({ "url": ORIGIN, "realm": "other", "clientId": "demo-app" }));
    other.local = back.local.clone();
    other.call("init", vec![init.clone()]);
    assert!(other.navigations.is_empty(), "no redirect on another realm's hint");
    assert_eq!(hints(&other).len(), 1, "nor is it read");

    // The returning visit: the redirect leaves at once.
    let mut w = app();
    w.local = back.local.clone();
    let op = w.call("init", vec![init.clone()]);
    assert_eq!(w.navigations.len(), 1, "redirected at once");
    assert!(w.frames.is_empty(), "before the probe and the status iframe");
    assert!(w.fetches.is_empty());
    assert!(hints(&w).is_empty(), "the hint is read once");
    assert_eq!(w.settled(op), None, "navigating: init never settles");
    golden("init_check_sso_redirect_with_the_hint", &w);
    let (back, r) = redirected_back(&mut realm, &w, &init);
    assert_eq!(r, json!(true));
    assert_eq!(back.event_names(), ["onAuthSuccess", "onReady"]);
    assert_eq!(hints(&back).len(), 1, "kept again");

    // The session ended elsewhere: the hint is wrong once.
    realm.session = false;
    let mut w = app();
    w.local = back.local.clone();
    w.call("init", vec![init.clone()]);
    assert_eq!(w.navigations.len(), 1, "the wrong hint costs one redirect");
    let (back, r) = redirected_back(&mut realm, &w, &init);
    assert_eq!(r, json!(false), "login_required after prompt=none: not authenticated, no error");
    assert_eq!(back.event_names(), ["onReady"]);
    assert!(back.navigations.is_empty());
    assert!(hints(&back).is_empty(), "no hint after a load without a session");
    assert!(back.local.is_empty(), "nothing left in storage: {:?}", back.local.keys().collect::<Vec<_>>());

    // The load after that keeps keycloak-js's order: no redirect on `unchanged`.
    let mut w = app();
    w.local = back.local.clone();
    let op = w.call("init", vec![init.clone()]);
    assert!(w.navigations.is_empty());
    frames_ready(&mut w);
    status_answer(&mut w, &realm);
    assert_eq!(ok(&w, op), json!(false));
    assert!(w.navigations.is_empty());

    // `sessionHint: false` reads none and keeps none; neither does a load without the status iframe.
    realm.session = true;
    for opts in [json!({ "onLoad": "check-sso", "sessionHint": false }), json!({ "onLoad": "check-sso", "checkLoginIframe": false })] {
        let mut w = app();
        w.local = back.local.clone();
        w.local.insert(super::HINT_KEY.into(), String::from("{\"sso\":1}"));
        w.call("init", vec![opts.clone()]);
        let iframe = opts.get("checkLoginIframe").is_none();
        assert_eq!(w.navigations.is_empty(), iframe, "{opts}: keycloak-js's order");
        assert_eq!(hints(&w).len(), 1, "{opts}: not read");
        w.local.remove(super::HINT_KEY);
        if iframe {
            frames_ready(&mut w);
            status_answer(&mut w, &realm);
        }
        let (back, r) = redirected_back(&mut realm, &w, &opts);
        assert_eq!(r, json!(true));
        assert!(hints(&back).is_empty(), "{opts}: none kept");
    }
}

/// The silent check's answer, held: no request, no event until the probe says `supported`;
/// then the code exchange, and `init` resolves `true` after `onAuthSuccess` and `onReady`.
fn held_until_the_probe(w: &mut World, realm: &mut Realm, probe: u64, op: u64) {
    assert!(w.fetches.is_empty(), "the answer is held until the probe agrees");
    assert!(w.events.is_empty());
    w.message(probe, ORIGIN, Some("supported"));
    realm.serve_token(w);
    assert_eq!(ok(w, op), json!(true));
    assert_eq!(w.event_names(), ["onAuthSuccess", "onReady"]);
}

/// A URL that looks like a callback but whose state we never stored: the status iframe
/// started beside the probe goes again, since keycloak-js sets none up for a plain init.
#[test]
fn init_foreign_callback_leaves_no_status_iframe() {
    let mut w = app();
    w.href = format!("{APP}/#state=forged&code=c&session_state=s");
    let op = w.call("init", vec![json!({})]);
    frames_ready(&mut w);
    assert_eq!(ok(&w, op), json!(false));
    assert!(w.transcript.iter().any(|l| l.starts_with("< [\"frame\"") && l.contains("keycloak-session-iframe")), "started beside the probe");
    assert!(w.frame("keycloak-session-iframe").is_none(), "no status iframe after a plain init");
    assert!(w.fetches.is_empty(), "the forged code goes nowhere");
    golden("init_foreign_callback", &w);
}

#[test]
fn init_silent_check_sso_timeout() {
    let mut w = app();
    let op = w.call("init", vec![json!({ "onLoad": "check-sso", "checkLoginIframe": false, "silentCheckSsoRedirectUri": format!("{APP}/missing.html"), "silentCheckSsoTimeout": 2000 })]);
    let probe = w.frame("keycloak-3p-check-iframe").unwrap();
    w.message(probe.id, ORIGIN, Some("supported"));
    assert!(w.frame("keycloak-silent-check-sso").is_some());
    w.advance(1999.0);
    assert_eq!(w.settled(op), None);
    w.advance(1.0);
    assert_eq!(message(&err(&w, op)), "Timeout when waiting for the silent check-sso iframe message.");
    assert!(w.frame("keycloak-silent-check-sso").is_none());
    // A late answer changes nothing.
    let before = w.transcript.len();
    w.message(99, APP, Some("http://app.localhost:3000/#state=x&code=y"));
    assert_eq!(w.transcript.len(), before + 1, "no effect for a stale message");
    golden("init_silent_check_sso_timeout", &w);
}

#[test]
fn init_check_sso_redirect_when_3p_cookies_blocked() {
    let mut w = app();
    let op = w.call("init", vec![json!({ "onLoad": "check-sso", "enableLogging": true, "silentCheckSsoRedirectUri": format!("{APP}/silent-check-sso.html") })]);
    let probe = w.frame("keycloak-3p-check-iframe").unwrap();
    w.message(probe.id, ORIGIN, Some("unsupported"));
    assert_eq!(w.settled(op), None);
    let (how, url) = w.navigations.last().unwrap().clone();
    assert_eq!(how, "assign");
    assert_eq!(url_param(&url, "prompt").as_deref(), Some("none"));
    assert_eq!(url_param(&url, "redirect_uri").as_deref(), Some("http://app.localhost:3000/"));
    assert!(w.logs.iter().any(|l| l.starts_with("warn: [KEYCLOAK] Your browser is blocking access to 3rd-party cookies")));
    assert_eq!(w.prop("silentCheckSsoRedirectUri"), Some(&json!({ "$undefined": true })));
    assert!(w.frame("keycloak-session-iframe").is_none(), "no status iframe without cookies");
    assert!(w.frame("keycloak-3p-check-iframe").is_none(), "the probe frame is removed");
    assert_eq!(w.local.keys().filter(|k| k.starts_with("kc-callback-")).count(), 1, "only the redirect's callback record");
    golden("init_check_sso_3p_blocked", &w);
}

#[test]
fn init_probe_timeout() {
    let mut w = app();
    let op = w.call("init", vec![json!({ "onLoad": "check-sso" })]);
    w.advance(10_000.0);
    assert_eq!(message(&err(&w, op)), "Timeout when waiting for 3rd party check iframe message.");
    assert!(w.frames.is_empty(), "the probe frame is removed on timeout too");
    golden("init_probe_timeout", &w);
}

#[test]
fn init_with_tokens_and_forced_refresh() {
    let mut realm = Realm::new();
    realm.session = true;
    let now = 1_700_000_000u64;
    let tokens = realm_tokens(&mut realm, now);
    let mut w = app();
    let op = w.call("init", vec![json!({ "checkLoginIframe": false, "token": tokens["access_token"], "refreshToken": tokens["refresh_token"], "idToken": tokens["id_token"], "timeSkew": 0 })]);
    let f = w.fetches[0].clone();
    assert_eq!(f.form("grant_type").as_deref(), Some("refresh_token"));
    assert!(f.credentials);
    realm.serve_token(&mut w);
    assert_eq!(ok(&w, op), json!(true));
    assert_eq!(w.event_names(), ["onAuthRefreshSuccess", "onAuthSuccess", "onReady"]);
    golden("init_with_tokens_forced_refresh", &w);
}

fn realm_tokens(realm: &mut Realm, now_s: u64) -> Value {
    // A code issued and exchanged outside the page.
    let url = format!("{ISSUER}/protocol/openid-connect/auth?redirect_uri=x&state=s");
    let cb = realm.authorize(&url);
    let code = url_param(&cb, "code").unwrap();
    let f = super::world::Fetch { id: 0, url: String::new(), method: "POST".into(), body: Some(format!("code={code}&grant_type=authorization_code")), headers: vec![], credentials: true, timeout: 1.0, sent: 0.0 };
    realm.token(&f, now_s as f64 * 1000.0).1
}

#[test]
fn init_with_tokens_and_status_iframe() {
    let mut realm = Realm::new();
    realm.session = true;
    let tokens = realm_tokens(&mut realm, 1_700_000_000);
    let mut w = app();
    let op = w.call("init", vec![json!({ "token": tokens["access_token"], "refreshToken": tokens["refresh_token"], "timeSkew": 0 })]);
    frames_ready(&mut w);
    assert_eq!(w.posts.last().unwrap().1, "demo-app sid-1");
    status_answer(&mut w, &realm);
    assert_eq!(ok(&w, op), json!(true));
    assert_eq!(w.event_names(), ["onAuthSuccess", "onReady"]);
    assert!(w.requests.is_empty(), "no request at all");
    golden("init_with_tokens_status_iframe", &w);
}

#[test]
fn update_token_shares_one_refresh_and_a_400_clears() {
    let (mut w, mut realm) = logged_in(json!({ "checkLoginIframe": false }));
    let a = w.call("updateToken", vec![json!(-1)]);
    let b = w.call("updateToken", vec![json!(-1)]);
    let c = w.call("updateToken", vec![json!(5)]);
    assert_eq!(ok(&w, c), json!(false), "still valid: no request");
    assert_eq!(w.fetches.len(), 1, "one refresh for both");
    realm.serve_token(&mut w);
    assert_eq!((ok(&w, a), ok(&w, b)), (json!(true), json!(true)));
    // The session ends at the realm: the next refresh gets 400 and clears the tokens.
    realm.session = false;
    let d = w.call("updateToken", vec![json!(-1)]);
    let e = w.call("updateToken", vec![json!(-1)]);
    realm.serve_token(&mut w);
    let (ed, ee) = (err(&w, d), err(&w, e));
    assert_eq!(ed["type"], "NetworkError");
    assert_eq!(ed, ee, "both callers see the same error");
    assert_eq!(w.prop("authenticated"), Some(&json!(false)));
    assert!(w.prop("token").is_none(), "the token property is deleted");
    let after = w.call("updateToken", vec![json!(-1)]);
    assert_eq!(message(&err(&w, after)), "Unable to update token, no refresh token available.");
    let names = w.event_names();
    assert_eq!(names[names.len() - 3..], ["onAuthRefreshSuccess", "onAuthLogout", "onAuthRefreshError"]);
    assert!(w.live_handles().is_empty(), "every handle released: {:?}", w.live_handles());
    golden("update_token_refresh", &w);
}

#[test]
fn status_iframe_polling_notices_a_logout() {
    let (mut w, mut realm) = logged_in(json!({}));
    realm.session = false;
    w.advance(5000.0);
    status_answer(&mut w, &realm);
    assert_eq!(w.prop("authenticated"), Some(&json!(false)));
    assert_eq!(w.event_names().last().map(String::as_str), Some("onAuthLogout"));
    w.advance(5000.0);
    assert!(w.posts.is_empty(), "polling stopped");
    golden("status_polling_logout", &w);
}

#[test]
fn status_iframe_reply_timeout_rejects_update_token() {
    let (mut w, _realm) = logged_in(json!({}));
    let op = w.call("updateToken", vec![json!(5)]);
    assert_eq!(w.posts.len(), 1);
    w.advance(10_000.0);
    assert_eq!(message(&err(&w, op)), "Timeout when waiting for the session status iframe message.");
    golden("status_reply_timeout", &w);
}

#[test]
fn login_logout_and_urls() {
    let (mut w, _realm) = logged_in(json!({ "checkLoginIframe": false }));
    let logout_url = call_ok(&mut w, "createLogoutUrl", json!({ "redirectUri": "http://app.localhost:3000/bye" })).as_str().unwrap().to_string();
    assert!(logout_url.starts_with(&format!("{ISSUER}/protocol/openid-connect/logout?client_id=demo-app&post_logout_redirect_uri=http%3A%2F%2Fapp.localhost%3A3000%2Fbye&id_token_hint=")));
    let account = call_ok(&mut w, "createAccountUrl", json!(null));
    assert_eq!(account, json!(format!("{ISSUER}/account?referrer=demo-app&referrer_uri=http%3A%2F%2Fapp.localhost%3A3000%2F")));
    let post = w.call("logout", vec![json!({ "logoutMethod": "POST" })]);
    assert_eq!(ok(&w, post), json!({ "$undefined": true }));
    assert_eq!(w.forms.len(), 1);
    let get = w.call("logout", vec![json!(null)]);
    ok(&w, get);
    assert_eq!(w.navigations.last().unwrap().0, "replace");
    let reg = w.call("register", vec![json!({ "loginHint": "bob" })]);
    assert_eq!(w.settled(reg), None);
    let (how, url) = w.navigations.last().unwrap().clone();
    assert_eq!(how, "assign");
    assert!(url.starts_with(&format!("{ISSUER}/protocol/openid-connect/registrations?")));
    assert_eq!(url_param(&url, "kc_action"), None);
    golden("login_logout_urls", &w);
}

#[test]
fn user_profile_and_userinfo() {
    let (mut w, _realm) = logged_in(json!({ "checkLoginIframe": false }));
    let op = w.call("loadUserInfo", vec![]);
    let f = w.take_fetch("/userinfo").unwrap();
    assert!(f.headers.iter().any(|(k, v)| k == "Authorization" && v.starts_with("bearer ey")));
    assert!(!f.credentials);
    w.answer(&f, json!({ "sub": "alice-id" }));
    assert_eq!(ok(&w, op), json!({ "sub": "alice-id" }));
    assert_eq!(w.prop("userInfo"), Some(&json!({ "sub": "alice-id" })));
    let op = w.call("loadUserProfile", vec![]);
    let f = w.take_fetch("/account").unwrap();
    w.answer_status(&f, 401, json!({}));
    assert_eq!(err(&w, op)["type"], "NetworkError");
    assert!(w.live_handles().is_empty());
    golden("user_profile_userinfo", &w);
}

#[test]
fn callback_errors() {
    // An OAuth error (prompt not none): onAuthError({error, error_description}), init rejects with it.
    let mut w = ready(json!({ "checkLoginIframe": false }));
    let url = call_ok(&mut w, "createLoginUrl", json!({})).as_str().unwrap().to_string();
    let state = url_param(&url, "state").unwrap();
    let mut page = app();
    page.local = w.local.clone();
    page.href = format!("{APP}/#error=access_denied&state={state}");
    let op = page.call("init", vec![json!({ "checkLoginIframe": false })]);
    assert_eq!(err(&page, op), json!({ "error": "access_denied", "error_description": { "$undefined": true } }));
    assert_eq!(page.events[0], ("onAuthError".to_string(), vec![json!({ "error": "access_denied", "error_description": { "$undefined": true } })]));
    golden("callback_oauth_error", &page);

    // A callback naming another issuer: nothing in it is used.
    let url = call_ok(&mut w, "createLoginUrl", json!({})).as_str().unwrap().to_string();
    let state = url_param(&url, "state").unwrap();
    let mut page = app();
    page.local = w.local.clone();
    page.href = format!("{APP}/#state={state}&iss=http%3A%2F%2Fevil&code=c1");
    let op = page.call("init", vec![json!({ "checkLoginIframe": false })]);
    assert_eq!(message(&err(&page, op)), "The authorization response's issuer (iss) is not the expected issuer.");
    assert!(page.requests.is_empty(), "the code goes nowhere");
    golden("callback_issuer_mismatch", &page);

    // An unknown state: stripped from the URL and ignored.
    let mut page = app();
    page.href = format!("{APP}/#state=unknown&code=c1");
    let op = page.call("init", vec![json!({ "checkLoginIframe": false })]);
    assert_eq!(ok(&page, op), json!(false));
    assert_eq!(page.history, [format!("{APP}/")]);
}

#[test]
fn nonce_mismatch_keeps_no_tokens() {
    let mut realm = Realm::new();
    realm.session = true;
    let mut w = ready(json!({ "checkLoginIframe": false }));
    let url = call_ok(&mut w, "createLoginUrl", json!({})).as_str().unwrap().to_string();
    let forged = url.replace(&format!("nonce={}", url_param(&url, "nonce").unwrap()), "nonce=other");
    let mut page = app();
    page.local = w.local.clone();
    page.href = realm.authorize(&forged);
    let op = page.call("init", vec![json!({ "checkLoginIframe": false })]);
    realm.serve_token(&mut page);
    assert_eq!(message(&err(&page, op)), "Invalid nonce.");
    assert_eq!(page.prop("authenticated"), Some(&json!(false)));
    assert_eq!(page.event_names(), ["onAuthLogout", "onAuthError"]);
    golden("nonce_mismatch", &page);
}

#[test]
fn implicit_and_hybrid_flows() {
    let now_s = 1_700_000_000u64;
    for flow in ["implicit", "hybrid"] {
        let mut realm = Realm::new();
        realm.session = true;
        let mut w = app();
        let init = w.call("init", vec![json!({ "flow": flow, "checkLoginIframe": false })]);
        ok(&w, init);
        let url = call_ok(&mut w, "createLoginUrl", json!({})).as_str().unwrap().to_string();
        let nonce = url_param(&url, "nonce").unwrap();
        let state = url_param(&url, "state").unwrap();
        let access = jwt(&json!({ "sub": "alice-id", "iat": now_s, "exp": now_s + 300, "gen": 0 }));
        let id = jwt(&json!({ "sub": "alice-id", "iat": now_s, "exp": now_s + 300, "nonce": nonce, "typ": "ID", "gen": 0 }));
        let mut page = app();
        page.local = w.local.clone();
        let code = if flow == "hybrid" { realm.authorize(&url).split("code=").nth(1).map(|c| format!("&code={c}")).unwrap() } else { String::new() };
        page.href = format!("{APP}/#state={state}&access_token={access}&id_token={id}&token_type=Bearer{code}");
        let op = page.call("init", vec![json!({ "flow": flow, "checkLoginIframe": false })]);
        if flow == "hybrid" {
            realm.serve_token(&mut page);
        }
        assert_eq!(ok(&page, op), json!(true), "{flow}");
        assert_eq!(page.event_names(), ["onAuthSuccess", "onReady"], "{flow}: onAuthSuccess once");
        let expired = page.call("isTokenExpired", vec![]);
        assert_eq!(ok(&page, expired), json!(false));
        golden(&format!("flow_{flow}"), &page);
    }
}

#[test]
fn callbacks_are_yield_points() {
    // onAuthSuccess calls clearToken(): onReady then sees the instance logged out.
    let mut realm = Realm::new();
    realm.session = true;
    let mut w = ready(json!({ "checkLoginIframe": false }));
    let url = call_ok(&mut w, "createLoginUrl", json!({})).as_str().unwrap().to_string();
    let mut page = app();
    page.local = w.local.clone();
    page.href = realm.authorize(&url);
    page.hooks.insert(
        "onAuthSuccess".into(),
        Box::new(|w: &mut World| {
            let op = w.call("clearToken", vec![]);
            assert!(w.settled(op).is_some(), "clearToken settles inside the callback");
            assert_eq!(w.prop("authenticated"), Some(&json!(false)));
            None
        }),
    );
    page.hooks.insert("onReady".into(), Box::new(|_: &mut World| Some(json!("boom"))));
    let op = page.call("init", vec![json!({ "checkLoginIframe": false })]);
    realm.serve_token(&mut page);
    assert_eq!(page.event_names(), ["onAuthSuccess", "onAuthLogout", "onReady"]);
    assert_eq!(page.events[2].1, [json!(false)], "onReady(false)");
    assert_eq!(err(&page, op), json!("boom"), "an exception from onReady rejects init, as in keycloak-js");
    golden("yield_points", &page);
}

#[test]
fn token_expired_timer() {
    let (mut w, _realm) = logged_in(json!({ "checkLoginIframe": false }));
    w.props.insert("onTokenExpired".into(), json!({ "$fn": true }));
    w.props.insert("enableLogging".into(), json!(true));
    let op = w.call("updateToken", vec![json!(-1)]);
    let mut realm = Realm::new();
    realm.session = true;
    // Answer with tokens the realm of this test issues (any valid JWTs do).
    let f = w.take_fetch("/token").unwrap();
    let body = realm_tokens(&mut realm, (w.now / 1000.0) as u64);
    w.answer(&f, body);
    ok(&w, op);
    assert!(w.logs.iter().any(|l| l == "info: [KEYCLOAK] Token expires in 300 s"), "{:?}", w.logs);
    w.advance(299_000.0);
    assert!(!w.event_names().contains(&"onTokenExpired".to_string()));
    w.advance(1_000.0);
    assert_eq!(w.event_names().last().map(String::as_str), Some("onTokenExpired"));
    golden("token_expired_timer", &w);
}

#[test]
fn storage_purge_quota_and_cookie_fallback() {
    let mut w = app();
    w.local.insert("kc-callback-old".into(), r#"{"state":"old","expires":1}"#.into());
    w.local.insert("kc-callback-bad".into(), "{not json".into());
    w.local.insert("other".into(), "kept".into());
    let init = w.call("init", vec![json!({ "checkLoginIframe": false })]);
    ok(&w, init);
    let op = w.call("createLoginUrl", vec![json!({ "prompt": "login" })]);
    ok(&w, op);
    let keys: Vec<_> = w.local.keys().cloned().collect();
    assert_eq!(keys.len(), 2, "stale entries purged: {keys:?}");
    let record: Value = serde_json::from_str(w.local.iter().find(|(k, _)| k.starts_with("kc-callback-")).unwrap().1).unwrap();
    assert_eq!(record["prompt"], "login");
    assert_eq!(record["expires"].as_f64(), Some(w.now + 3_600_000.0));
    // A full storage: every callback entry goes, then one more try.
    w.quota_failures = 1;
    let op = w.call("createLoginUrl", vec![json!({})]);
    ok(&w, op);
    assert_eq!(w.local.keys().filter(|k| k.starts_with("kc-callback-")).count(), 1);
    golden("storage_purge_quota", &w);

    // localStorage that cannot be used: cookies carry the state.
    let mut w = app();
    w.local_broken = true;
    let init = w.call("init", vec![json!({ "checkLoginIframe": false })]);
    ok(&w, init);
    let op = w.call("createLoginUrl", vec![json!({})]);
    ok(&w, op);
    assert_eq!(w.cookies.len(), 1);
    golden("storage_cookie_fallback", &w);
}

#[test]
fn custom_adapter() {
    let mut w = app();
    let adapter = w.keep(json!({ "adapter": true }));
    let target = format!("#{adapter}");
    w.answers.insert((target.clone(), "redirectUri".into()), Settled::Ok(json!("com.example.app://callback")));
    w.answers.insert((target.clone(), "login".into()), Settled::Ok(json!("logged in")));
    let init = w.call("init", vec![json!({ "adapter": { "$h": adapter }, "checkLoginIframe": false })]);
    ok(&w, init);
    let url = call_ok(&mut w, "createLoginUrl", json!({}));
    assert_eq!(url_param(url.as_str().unwrap(), "redirect_uri").as_deref(), Some("com.example.app://callback"));
    let login = w.call("login", vec![json!({ "scope": "x" })]);
    assert_eq!(ok(&w, login), json!("logged in"));
    let logout = w.call("logout", vec![json!(null)]);
    assert_eq!(message(&err(&w, logout)), "adapter method missing");
    golden("custom_adapter", &w);
}

#[test]
fn cordova_inappbrowser_login_and_logout() {
    let mut realm = Realm::new();
    realm.session = true;
    let mut w = app();
    w.globals.insert("cordova".into(), 0);
    w.globals.insert("cordova.InAppBrowser".into(), 0);
    let init = w.call("init", vec![json!({})]);
    assert_eq!(ok(&w, init), json!(false));
    assert!(w.frames.is_empty(), "the status iframe is off for Cordova");
    let login = w.call("login", vec![json!({ "cordovaOptions": { "zoom": "no" } })]);
    let (win, url, options) = w.windows.last().cloned().unwrap();
    assert_eq!(options, "zoom=no,location=no");
    assert_eq!(url_param(&url, "redirect_uri").as_deref(), Some("http://localhost"));
    w.event(win, "loadstart", Some(&url));
    assert_eq!(w.settled(login), None);
    let cb = realm.authorize(&url);
    w.event(win, "loadstart", Some(&cb));
    assert!(w.closed.contains(&win), "closed before the code exchange");
    realm.serve_token(&mut w);
    assert_eq!(ok(&w, login), json!({ "$undefined": true }));
    assert_eq!(w.prop("authenticated"), Some(&json!(true)));
    // A late event from the closed window changes nothing.
    let before = w.transcript.len();
    w.event(win, "exit", None);
    assert_eq!(w.transcript.len(), before + 1);

    let logout = w.call("logout", vec![json!(null)]);
    let (win, url, options) = w.windows.last().cloned().unwrap();
    assert_eq!(options, "location=no,hidden=yes,clearcache=yes");
    w.event(win, "loadstart", Some("http://localhost/"));
    assert_eq!(w.settled(logout), None, "waits for the window's exit");
    w.event(win, "exit", None);
    assert_eq!(ok(&w, logout), json!({ "$undefined": true }));
    assert_eq!(w.prop("authenticated"), Some(&json!(false)));
    assert!(url.contains("/logout?client_id=demo-app&post_logout_redirect_uri=http%3A%2F%2Flocalhost&id_token_hint="));
    golden("cordova_login", &w);
}

#[test]
fn cordova_native_missing_plugins_and_deep_link() {
    let mut realm = Realm::new();
    realm.session = true;
    let mut w = app();
    let init = w.call("init", vec![json!({ "adapter": "cordova-native" })]);
    ok(&w, init);
    let op = w.call("login", vec![json!(null)]);
    assert_eq!(message(&err(&w, op)), "The Cordova adapter needs the plugin cordova-plugin-browsertab, which is not installed.");
    w.globals.insert("cordova.plugins.browsertab".into(), 0);
    let op = w.call("login", vec![json!(null)]);
    assert_eq!(message(&err(&w, op)), "The Cordova adapter needs the plugin cordova-plugin-deeplinks, which is not installed.");
    w.globals.insert("universalLinks".into(), 0);
    let op = w.call("login", vec![json!({ "redirectUri": "http://localhost/app" })]);
    let (tab, url, _) = w.windows.last().cloned().unwrap();
    w.event(tab, "link", Some(&realm.authorize(&url)));
    realm.serve_token(&mut w);
    assert_eq!(ok(&w, op), json!({ "$undefined": true }));
    assert_eq!(w.prop("authenticated"), Some(&json!(true)));
    assert!(w.closed.contains(&tab));
    golden("cordova_native", &w);
}

#[test]
fn handle_callback_checks_the_state() {
    let mut realm = Realm::new();
    realm.session = true;
    let mut w = app();
    let init = w.call("init", vec![json!({ "checkLoginIframe": false })]);
    ok(&w, init);
    let foreign = w.call("handleCallback", vec![json!("com.example.app://callback#state=forged&code=c")]);
    assert_eq!(message(&err(&w, foreign)), "Invalid OAuth state in login callback.");
    let url = call_ok(&mut w, "createLoginUrl", json!({ "redirectUri": "com.example.app://callback" })).as_str().unwrap().to_string();
    let op = w.call("handleCallback", vec![json!(realm.authorize(&url))]);
    realm.serve_token(&mut w);
    assert_eq!(ok(&w, op), json!(true));
    let replay = w.call("handleCallback", vec![json!(realm.authorize(&url))]);
    assert_eq!(message(&err(&w, replay)), "Invalid OAuth state in login callback.", "a state is single use");
    golden("handle_callback", &w);
}

#[test]
fn no_web_crypto() {
    let mut w = app();
    w.crypto = false;
    let init = w.call("init", vec![json!({ "checkLoginIframe": false })]);
    ok(&w, init);
    let op = w.call("createLoginUrl", vec![json!({})]);
    assert_eq!(message(&err(&w, op)), "Web Crypto API is not available.");
}

#[test]
fn generic_oidc_opaque_tokens() {
    let mut w = World::new(json!({ "clientId": "app", "oidcProvider": "https://op.example" }));
    let init = w.call("init", vec![json!({ "checkLoginIframe": false })]);
    let f = w.take_fetch("/.well-known/openid-configuration").unwrap();
    w.answer(&f, json!({ "issuer": "https://op.example", "authorization_endpoint": "https://op.example/auth", "token_endpoint": "https://op.example/token" }));
    assert_eq!(ok(&w, init), json!(false));
    assert!(w.frames.is_empty(), "no probe for a generic provider");
    let url = call_ok(&mut w, "createLoginUrl", json!({})).as_str().unwrap().to_string();
    let state = url_param(&url, "state").unwrap();
    let nonce = url_param(&url, "nonce").unwrap();
    let mut page = World::new(json!({ "clientId": "app", "oidcProvider": { "issuer": "https://op.example", "authorization_endpoint": "https://op.example/auth", "token_endpoint": "https://op.example/token" } }));
    page.local = w.local.clone();
    page.href = format!("{APP}/?x=1#state={state}&iss=https%3A%2F%2Fop.example&code=c1");
    let op = page.call("init", vec![json!({ "checkLoginIframe": false })]);
    let f = page.take_fetch("/token").unwrap();
    assert!(!f.credentials, "no credentials to a generic provider");
    let now = (page.now / 1000.0) as u64;
    let id = jwt(&json!({ "sub": "u1", "sid": "s1", "iat": now, "exp": now + 60, "nonce": nonce, "typ": "ID" }));
    page.answer(&f, json!({ "access_token": "opaque-at", "refresh_token": "opaque-rt", "id_token": id, "expires_in": 60 }));
    assert_eq!(ok(&page, op), json!(true));
    assert_eq!(page.prop("token"), Some(&json!("opaque-at")));
    assert_eq!(page.prop("tokenParsed"), Some(&json!({ "$undefined": true })));
    assert_eq!(page.prop("subject"), Some(&json!("u1")));
    let endpoints = page.prop("endpoints").unwrap().clone();
    assert_eq!(endpoints["logout"]["$throws"][2], "Not supported by the OIDC server");
    golden("generic_oidc", &page);
}

#[test]
fn verify_tokens_checks_every_token_before_any_change() {
    let (mut page, mut realm, op) = callback_page(json!({ "checkLoginIframe": false, "verifyTokens": true }));
    assert!(page.settled(op).is_none(), "init waits for the keys");
    assert!(page.prop("token").is_none(), "nothing is set before the tokens are checked");
    let certs = page.take_fetch("/protocol/openid-connect/certs").expect("the realm's keys load");
    page.answer(&certs, jwks());
    assert_eq!(ok(&page, op), json!(true), "{:#?}", page.violations);
    assert_eq!(page.verifies.len(), 2, "the access and the ID token");
    assert!(page.verifies.iter().all(|(alg, key, _)| alg == "RS256" && key.contains("\"k1\"")), "{:?}", page.verifies);

    let good = page.prop("token").cloned().unwrap();
    let refresh = page.prop("refreshToken").cloned().unwrap();
    let payload = good.as_str().unwrap().split('.').nth(1).unwrap().to_string();
    let forged = |header: &str, sig: &str| json!({ "access_token": format!("{header}.{payload}.{sig}"), "refresh_token": refresh, "expires_in": 300 });
    let cases = [
        ("eyJhbGciOiJSUzI1NiJ9", "eA", "Token verification failed: invalid signature.", 1, false),
        ("eyJhbGciOiJub25lIn0", "", "Token verification failed: the token's algorithm (alg) is not allowed.", 0, false),
        ("eyJhbGciOiJIUzI1NiJ9", "c2ln", "Token verification failed: the token's algorithm (alg) is not allowed.", 0, false),
        // An unknown kid loads the keys once more, then fails; the same kid again at once does not.
        ("eyJhbGciOiJSUzI1NiIsImtpZCI6Ims5In0", "c2ln", "Token verification failed: no key of the realm matches the token.", 0, true),
        ("eyJhbGciOiJSUzI1NiIsImtpZCI6Ims5In0", "c2ln", "Token verification failed: no key of the realm matches the token.", 0, false),
    ];
    for (header, sig, expected, checks, refetch) in cases {
        let before = page.verifies.len();
        let u = page.call("updateToken", vec![json!(-1)]);
        let f = page.take_fetch("/protocol/openid-connect/token").expect("a refresh");
        page.answer(&f, forged(header, sig));
        if refetch {
            let certs = page.take_fetch("/protocol/openid-connect/certs").expect("the keys load again for an unknown kid");
            page.answer(&certs, jwks());
        }
        assert!(page.take_fetch("/certs").is_none(), "no other key request");
        assert_eq!(message(&err(&page, u)), expected, "{header}");
        assert_eq!(page.verifies.len() - before, checks, "{header}: signatures checked");
        assert_eq!(page.prop("token"), Some(&good), "{header}: the previous token stays");
        assert_eq!(page.event_names().last().map(String::as_str), Some("onAuthRefreshError"));
    }
    // An honest refresh is checked and taken.
    let u = page.call("updateToken", vec![json!(-1)]);
    realm.serve_token(&mut page);
    assert_eq!(ok(&page, u), json!(true));
    assert_ne!(page.prop("token"), Some(&good));
    assert!(page.live_handles().is_empty(), "every handle released: {:?}", page.live_handles());
    golden("verify_tokens", &page);
}

#[test]
fn verify_tokens_bounded_when_web_crypto_never_answers() {
    let (mut page, _realm, op) = callback_page(json!({ "checkLoginIframe": false, "verifyTokens": true, "requestTimeout": 5000 }));
    page.verify_silent = true;
    let certs = page.take_fetch("/protocol/openid-connect/certs").expect("the realm's keys load");
    page.answer(&certs, jwks());
    assert_eq!(page.verifies.len(), 1, "the first signature asked for");
    assert!(page.settled(op).is_none(), "init waits for WebCrypto");
    assert_eq!(page.m.deadline().map(|at| at - page.now), Some(5000.0), "for requestTimeout");
    page.fire_timer();
    assert_eq!(message(&err(&page, op)), "Token verification failed: the signature was not checked within requestTimeout.");
    assert!(page.prop("token").is_none(), "nothing set from unchecked tokens");
    assert!(page.live_handles().is_empty(), "every handle released: {:?}", page.live_handles());
}

#[test]
fn auto_refresh_before_expiry_paused_while_hidden_retried_after_failures() {
    let (mut w, mut realm) = logged_in(json!({ "checkLoginIframe": false, "autoRefresh": { "minValidity": 60 } }));
    assert!(w.watching, "the driver is asked to report visibility");
    let lead = |w: &World| w.m.deadline().map(|at| at - w.now);
    // 300 s tokens: due 60 s before expiry, less up to 2 s of jitter.
    let due = lead(&w).expect("the refresh is armed");
    assert!((238_000.0..=240_000.0).contains(&due), "{due}");
    let gen = |w: &World| super::realm::payload(w.prop("token").unwrap().as_str().unwrap()).unwrap()["gen"].clone();
    let first = gen(&w);
    w.fire_timer();
    assert!(realm.serve_token(&mut w), "a refresh on its own");
    assert_ne!(gen(&w), first);
    assert_eq!(w.event_names().last().map(String::as_str), Some("onAuthRefreshSuccess"));
    assert!((238_000.0..=240_000.0).contains(&lead(&w).unwrap()), "armed again for the new token");

    // Hidden: the timer comes due, nothing is sent; shown again: the refresh goes out.
    w.hidden = true;
    w.fire_timer();
    assert!(w.fetches.is_empty(), "no refresh while hidden");
    assert_eq!(lead(&w), None, "{:#?}", &w.transcript[w.transcript.len() - 6..]);
    w.hidden = false;
    w.send("wake", vec![]);
    assert!(realm.serve_token(&mut w), "caught up when visible");

    // The realm fails: retried after 2, then 4 s; then it answers, and the usual timer is back.
    w.fire_timer();
    let f = w.take_fetch("/token").unwrap();
    w.answer_status(&f, 503, json!({}));
    assert_eq!(lead(&w), Some(2000.0));
    w.fire_timer();
    let f = w.take_fetch("/token").unwrap();
    w.answer_thrown(&f, "TypeError: Failed to fetch");
    assert_eq!(lead(&w), Some(4000.0));
    assert!(!w.event_names().iter().any(|e| e == "onAuthRefreshError"), "no error while the token still works");
    w.fire_timer();
    assert!(realm.serve_token(&mut w));
    // (Less up to 1 s more: the clock skew is counted in whole seconds.)
    assert!((237_000.0..=240_000.0).contains(&lead(&w).unwrap()));

    // The session ends at the realm: invalid_grant clears the tokens and nothing is armed.
    realm.session = false;
    w.fire_timer();
    assert!(realm.serve_token(&mut w));
    assert_eq!(w.prop("authenticated"), Some(&json!(false)));
    assert_eq!(lead(&w), None, "no more refreshes");
    assert!(w.live_handles().is_empty(), "every handle released: {:?}", w.live_handles());
    golden("auto_refresh", &w);
}

#[test]
fn auto_refresh_reports_once_when_the_token_runs_out_during_an_outage() {
    let (mut w, _realm) = logged_in(json!({ "checkLoginIframe": false, "autoRefresh": true }));
    let errors = |w: &World| w.event_names().iter().filter(|e| *e == "onAuthRefreshError").count();
    // The realm answers 503 from now on: retries back off to 60 s; the 300 s token runs out.
    let start = w.now;
    while w.now - start < 900_000.0 {
        assert!(w.fire_timer());
        let f = w.take_fetch("/token").unwrap();
        w.answer_status(&f, 503, json!({}));
        let expired = w.now - start > 300_000.0;
        assert_eq!(errors(&w), usize::from(expired), "at {} s", (w.now - start) / 1000.0);
    }
    assert_eq!(w.prop("authenticated"), Some(&json!(true)), "a 503 keeps the tokens");
    // An app's own updateToken still hears of each failure.
    let op = w.call("updateToken", vec![json!(5)]);
    let f = w.take_fetch("/token").unwrap();
    w.answer_status(&f, 503, json!({}));
    assert!(w.settled(op).is_some());
    assert_eq!(errors(&w), 2);
}

/// `persistSession`: a page logged in, then the same page loaded again (a new machine, the
/// same storage).
fn reload(w: &World, init: Value) -> (World, u64) {
    let mut page = app();
    page.vault = w.vault.clone();
    page.now = w.now;
    let op = page.call("init", vec![init]);
    (page, op)
}

#[test]
fn persist_session_restores_tokens_with_no_request() {
    let init = json!({ "checkLoginIframe": false, "persistSession": "local" });
    let (w, mut realm) = logged_in(init.clone());
    assert_eq!(w.vault.len(), 1, "kept after the login");
    let kept = w.vault.values().next().unwrap().clone();
    assert!(kept.contains(w.prop("refreshToken").unwrap().as_str().unwrap()));

    // A reload: authenticated at once, not one request.
    let (mut page, op) = reload(&w, init.clone());
    assert_eq!(ok(&page, op), json!(true));
    assert!(page.requests.is_empty(), "{:?}", page.requests);
    assert_eq!(page.prop("token"), w.prop("token"));
    assert_eq!(page.prop("timeSkew"), w.prop("timeSkew"));
    assert_eq!(page.event_names(), ["onAuthSuccess", "onReady"]);
    golden("persist_session_restore", &page);

    // After the access token ran out: one refresh, then authenticated, and the new tokens kept.
    page.now += 400_000.0;
    let (mut later, op) = reload(&page, init.clone());
    assert!(later.settled(op).is_none());
    assert!(realm.serve_token(&mut later));
    assert_eq!(ok(&later, op), json!(true));
    assert_eq!(later.requests.len(), 1);
    assert!(later.vault.values().next().unwrap().contains(later.prop("refreshToken").unwrap().as_str().unwrap()));

    // clearToken wipes them; so does a logout.
    call_ok(&mut later, "clearToken", Value::Null);
    assert!(later.vault.is_empty());
    let (mut again, op) = reload(&w, init.clone());
    ok(&again, op);
    again.call("logout", vec![json!({})]);
    assert!(again.vault.is_empty(), "wiped before the page leaves for the realm's logout");
}

#[test]
fn persist_session_throws_away_what_it_cannot_use() {
    let init = json!({ "checkLoginIframe": false, "persistSession": "session" });
    let (w, mut realm) = logged_in(init.clone());
    assert!(w.vault.keys().next().unwrap().starts_with("session "));
    // Another browser's storage: it does not decrypt.
    let mut page = app();
    page.vault = w.vault.clone();
    page.vault_foreign = true;
    let op = page.call("init", vec![init.clone()]);
    assert_eq!(ok(&page, op), json!(false));
    assert!(page.vault.is_empty() && page.requests.is_empty());
    // Garbage in the entry.
    let mut page = app();
    page.vault = w.vault.iter().map(|(k, _)| (k.clone(), "{\"a\":\"x\",\"r\":1}".to_string())).collect();
    let op = page.call("init", vec![init.clone()]);
    assert_eq!(ok(&page, op), json!(false));
    assert!(page.vault.is_empty());
    // The session ended at the realm meanwhile: the refresh gets invalid_grant.
    let mut page = app();
    page.vault = w.vault.clone();
    page.now = w.now + 400_000.0;
    realm.session = false;
    let op = page.call("init", vec![init.clone()]);
    assert!(realm.serve_token(&mut page));
    assert_eq!(ok(&page, op), json!(false));
    assert!(page.vault.is_empty());
    assert_eq!(page.prop("authenticated"), Some(&json!(false)));
    // The realm cannot be reached: not authenticated now, kept for the next load.
    let mut page = app();
    page.vault = w.vault.clone();
    page.now = w.now + 400_000.0;
    let op = page.call("init", vec![init.clone()]);
    let f = page.take_fetch("/token").unwrap();
    page.answer_thrown(&f, "TypeError: Failed to fetch");
    assert_eq!(ok(&page, op), json!(false));
    assert_eq!(page.prop("authenticated"), Some(&json!(false)));
    assert_eq!(page.vault, w.vault, "kept");
    assert!(page.live_handles().is_empty(), "{:?}", page.live_handles());
    // With verifyTokens, a kept token whose signature does not verify: wiped.
    let mut page = app();
    page.vault = w.vault.iter().map(|(k, v)| (k.clone(), v.replace(".c2ln\"", ".YmFk\""))).collect();
    let op = page.call("init", vec![json!({ "checkLoginIframe": false, "persistSession": "session", "verifyTokens": true })]);
    let f = page.take_fetch("/certs").unwrap();
    page.answer(&f, jwks());
    assert_eq!(ok(&page, op), json!(false));
    assert!(page.vault.is_empty(), "wiped after a failed verification");
    // Off: nothing kept, nothing read.
    let (w, _) = logged_in(json!({ "checkLoginIframe": false }));
    assert!(w.vault.is_empty());
}

fn b64json(part: &str) -> Value {
    use base64::Engine;
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn sha256_url(text: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(text.as_bytes()))
}

/// The DPoP proof a request carried: (header, claims).
fn proof_of(f: &super::world::Fetch) -> (Value, Value) {
    let proof = f.headers.iter().find(|h| h.0 == "DPoP").map(|h| h.1.clone()).expect("a DPoP header");
    let parts: Vec<&str> = proof.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[2], "c2ln", "signed by the key");
    (b64json(parts[0]), b64json(parts[1]))
}

#[test]
fn dpop_proofs_on_token_requests_and_bound_tokens_with_the_dpop_scheme() {
    let jkt = sha256_url(r#"{"crv":"P-256","kty":"EC","x":"WEX","y":"WHY"}"#);
    let mut realm = Realm::new();
    realm.session = true;
    realm.jkt = Some(jkt.clone());
    let init = json!({ "checkLoginIframe": false, "dpop": true });
    let mut w = ready(init.clone());
    let login = w.call("createLoginUrl", vec![json!({})]);
    let url = ok(&w, login).as_str().unwrap().to_string();
    let mut page = app();
    page.local = w.local.clone();
    page.href = realm.authorize(&url);
    let op = page.call("init", vec![init.clone()]);
    let f = page.fetches.iter().find(|f| f.url.ends_with("/token")).cloned().expect("the code exchange");
    let (header, claims) = proof_of(&f);
    assert_eq!(header, json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": { "crv": "P-256", "kty": "EC", "x": "WEX", "y": "WHY" } }));
    assert_eq!(claims["htm"], "POST");
    assert_eq!(claims["htu"], f.url);
    assert_eq!(claims["iat"], json!((page.now / 1000.0).floor() as u64));
    assert!(claims["jti"].as_str().unwrap().len() >= 16 && claims.get("ath").is_none());
    assert!(!f.headers.iter().any(|h| h.0 == "Authorization"));
    realm.serve_token(&mut page);
    assert_eq!(ok(&page, op), json!(true));
    // userinfo with the bound token: the DPoP scheme and a proof with ath.
    let op = page.call("loadUserInfo", vec![]);
    let f = page.take_fetch("/userinfo").unwrap();
    let token = page.prop("token").unwrap().as_str().unwrap().to_string();
    assert!(f.headers.contains(&("Authorization".into(), format!("DPoP {token}"))));
    let (_, claims) = proof_of(&f);
    assert_eq!(claims["htm"], "GET");
    assert_eq!(claims["ath"], json!(sha256_url(&token)));
    page.answer(&f, json!({ "sub": "alice-id" }));
    ok(&page, op);
    // A refresh carries a proof too; jtis differ.
    let op = page.call("updateToken", vec![json!(-1)]);
    let f = page.fetches.iter().find(|f| f.url.ends_with("/token")).cloned().unwrap();
    let (_, again) = proof_of(&f);
    assert_ne!(again["jti"], claims["jti"]);
    realm.serve_token(&mut page);
    assert_eq!(ok(&page, op), json!(true));
    // The app's own proof: htu without query and fragment, ath of the token.
    let op = page.call("createDpopProof", vec![json!("PUT"), json!("https://api.example/items/7?x=1#y")]);
    let proof = ok(&page, op).as_str().unwrap().to_string();
    let c = b64json(proof.split('.').nth(1).unwrap());
    assert_eq!((c["htm"].as_str(), c["htu"].as_str()), (Some("PUT"), Some("https://api.example/items/7")));
    assert_eq!(c["ath"], json!(sha256_url(page.prop("token").unwrap().as_str().unwrap())));
    // keycloak.fetch asks the machine for the scheme and whether to send again.
    let op = page.call("dpopAuthorization", vec![]);
    assert_eq!(ok(&page, op), json!(format!("DPoP {}", page.prop("token").unwrap().as_str().unwrap())));
    let none = json!({ "$undefined": true });
    for (status, nonce, again) in [(401, json!("rs-1"), json!("rs-1")), (400, json!("rs-2"), json!("rs-2")), (403, json!("rs-3"), none.clone()), (401, Value::Null, none.clone()), (401, json!(""), none.clone()), (200, json!("rs-4"), none.clone())] {
        let op = page.call("dpopRetry", vec![json!(status), nonce.clone()]);
        assert_eq!(page.result(op), Some(again), "{status} {nonce}");
    }
    assert!(page.violations.is_empty(), "{:#?}", page.violations);
    golden("dpop", &page);

    // Tokens bound to another key are refused, and nothing changes.
    realm.jkt = Some("another-key".into());
    let before = page.prop("token").cloned();
    let op = page.call("updateToken", vec![json!(-1)]);
    realm.serve_token(&mut page);
    assert_eq!(message(&err(&page, op)), "The access token is bound to another DPoP key (cnf.jkt).");
    assert_eq!(page.prop("token").cloned(), before);
    // A server that asks for its nonce: the request goes again once, with it, unseen by
    // updateToken; later proofs carry it. Asked again at once: the answer stands.
    realm.jkt = Some(jkt.clone());
    let op = page.call("updateToken", vec![json!(-1)]);
    let f = page.take_fetch("/token").unwrap();
    assert!(proof_of(&f).1.get("nonce").is_none());
    page.answer_nonce(&f, 400, "n-1");
    let f2 = page.fetches.iter().find(|f| f.url.ends_with("/token")).cloned().expect("sent again");
    assert_eq!(f2.id, f.id, "the same request, for the task");
    assert_eq!(proof_of(&f2).1["nonce"], "n-1");
    realm.serve_token(&mut page);
    assert_eq!(ok(&page, op), json!(true));
    let op = page.call("updateToken", vec![json!(-1)]);
    let f = page.take_fetch("/token").unwrap();
    assert_eq!(proof_of(&f).1["nonce"], "n-1", "kept for the next proofs");
    page.answer_nonce(&f, 400, "n-2");
    let f = page.take_fetch("/token").unwrap();
    page.answer_nonce(&f, 400, "n-3");
    assert!(page.settled(op).is_some(), "not a third time");
    assert!(page.live_handles().is_empty(), "{:?}", page.live_handles());

}

#[test]
fn dpop_without_webcrypto_fails_init_clearly() {
    let mut w = app();
    w.crypto = false;
    let op = w.call("init", vec![json!({ "dpop": true, "checkLoginIframe": false })]);
    assert_eq!(message(&err(&w, op)), "DPoP needs WebCrypto and IndexedDB, which this browser does not offer here.");
    assert!(w.live_handles().is_empty());
    // Off: no proof anywhere, and createDpopProof says why.
    let mut w = ready(json!({ "checkLoginIframe": false }));
    let op = w.call("createDpopProof", vec![json!("GET"), json!("https://api.example/")]);
    assert_eq!(message(&err(&w, op)), "DPoP needs WebCrypto and IndexedDB, which this browser does not offer here.");
    // No token yet: no Authorization header for keycloak.fetch.
    let op = w.call("dpopAuthorization", vec![]);
    assert_eq!(w.result(op), Some(json!({ "$undefined": true })));
    // A token not bound to a key goes with the Bearer scheme.
    let (mut w, _realm) = logged_in(json!({ "checkLoginIframe": false }));
    let op = w.call("dpopAuthorization", vec![]);
    assert_eq!(ok(&w, op), json!(format!("Bearer {}", w.prop("token").unwrap().as_str().unwrap())));
}

#[test]
fn init_does_not_wait_forever_for_storage_that_never_answers() {
    // dpop: the key pair never comes: init rejects after requestTimeout.
    let mut w = app();
    w.idb_silent = true;
    let op = w.call("init", vec![json!({ "dpop": true, "checkLoginIframe": false, "requestTimeout": 3000 })]);
    assert!(w.settled(op).is_none());
    let t0 = w.now;
    assert!(w.fire_timer());
    assert_eq!(w.now - t0, 3000.0);
    assert_eq!(message(&err(&w, op)), "DPoP needs WebCrypto and IndexedDB, which this browser does not offer here.");
    // persistSession: the kept tokens never come: init goes on without them.
    let mut w = app();
    w.idb_silent = true;
    let op = w.call("init", vec![json!({ "persistSession": "local", "checkLoginIframe": false, "requestTimeout": 3000 })]);
    assert!(w.settled(op).is_none());
    assert!(w.fire_timer());
    assert_eq!(ok(&w, op), json!(false));
    assert!(w.live_handles().is_empty());
}
