//! Browser-glue tests: run with wasm-bindgen-test in headless Chromium
//! (`npm test` runs them; by hand: `CHROMEDRIVER=/usr/bin/chromedriver cargo test
//! --target wasm32-unknown-unknown --test browser`).
#![cfg(target_arch = "wasm32")]

use js_sys::{Object, Reflect};
use keycloak_wasm::api::KeycloakCore;
use keycloak_wasm::browser::{self, js, storage::CallbackStore};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn get(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(k)).unwrap()
}

fn network_error_class() -> js_sys::Function {
    // The facade's NetworkError, reduced to what the core needs.
    js_sys::Function::new_no_args("return class NetworkError extends Error { constructor(m, o) { super(m, o); this.response = o && o.response } }")
        .call0(&JsValue::UNDEFINED)
        .unwrap()
        .unchecked_into()
}

fn core_with(config: &JsValue) -> (Object, KeycloakCore) {
    let facade = Object::new();
    let core = KeycloakCore::new(facade.clone(), config.clone(), network_error_class());
    (facade, core)
}

fn server_config() -> JsValue {
    let c = Object::new();
    js::set(&c, "url", &"http://idp.localhost:9/".into());
    js::set(&c, "realm", &"my realm".into());
    js::set(&c, "clientId", &"demo-app".into());
    c.into()
}

fn clear_callback_storage() {
    let s = browser::window().local_storage().unwrap().unwrap();
    let keys: Vec<String> = (0..s.length().unwrap()).filter_map(|i| s.key(i).unwrap()).collect();
    for k in keys.iter().filter(|k| k.starts_with("kc-callback-")) {
        s.remove_item(k).unwrap();
    }
}

#[wasm_bindgen_test]
fn crypto_gives_uuids_and_bytes() {
    let a = browser::random_uuid().unwrap();
    let b = browser::random_uuid().unwrap();
    assert_eq!(a.len(), 36);
    assert_ne!(a, b);
    let bytes = browser::random_bytes(96).unwrap();
    assert_eq!(bytes.len(), 96);
    assert!(bytes.iter().any(|b| *b != bytes[0]), "96 random bytes are not all equal");
}

#[wasm_bindgen_test]
fn callback_store_is_single_use_and_purges_expired() {
    clear_callback_storage();
    let store = CallbackStore::create();
    assert!(matches!(store, CallbackStore::Local(_)), "localStorage works in Chromium");
    let record = Object::new();
    js::set(&record, "state", &"S1".into());
    js::set(&record, "nonce", &"N1".into());
    store.add(&record).unwrap();
    let s = browser::window().local_storage().unwrap().unwrap();
    let raw = s.get_item("kc-callback-S1").unwrap().expect("stored under kc-callback-<state>");
    let parsed = js::json_parse(&raw).unwrap();
    let expires = get(&parsed, "expires").as_f64().unwrap();
    let in_an_hour = browser::now_ms() + 3_600_000.0;
    assert!((expires - in_an_hour).abs() < 5_000.0, "expires about one hour from now");
    // an expired and a malformed entry are purged by the next access
    s.set_item("kc-callback-old", r#"{"state":"old","expires":1}"#).unwrap();
    s.set_item("kc-callback-bad", "{not json").unwrap();
    s.set_item("unrelated", "kept").unwrap();
    let taken = store.take("S1").expect("record");
    assert_eq!(get(&taken, "nonce").as_string().as_deref(), Some("N1"));
    assert!(store.take("S1").is_none(), "single use");
    assert!(s.get_item("kc-callback-old").unwrap().is_none());
    assert!(s.get_item("kc-callback-bad").unwrap().is_none());
    assert_eq!(s.get_item("unrelated").unwrap().as_deref(), Some("kept"));
    assert!(store.take("").is_none());
}

#[wasm_bindgen_test]
async fn init_twice_rejects_with_keycloak_js_message() {
    clear_callback_storage();
    let (facade, core) = core_with(&server_config());
    let options = Object::new();
    js::set(&options, "checkLoginIframe", &JsValue::FALSE);
    let authenticated = JsFuture::from(core.init(options.clone().into())).await.unwrap();
    assert_eq!(authenticated, JsValue::FALSE);
    assert_eq!(get(&facade, "didInitialize"), JsValue::TRUE);
    assert_ne!(get(&facade, "authenticated"), JsValue::TRUE);
    assert!(get(&facade, "token").is_undefined());
    assert_eq!(get(&facade, "clientId").as_string().as_deref(), Some("demo-app"));
    assert_eq!(get(&facade, "realm").as_string().as_deref(), Some("my realm"));
    let err = JsFuture::from(core.init(options.into())).await.unwrap_err();
    assert_eq!(get(&err, "message").as_string().as_deref(), Some("A 'Keycloak' instance can only be initialized once."));
}

#[wasm_bindgen_test]
async fn invalid_options_reject_with_exact_errors() {
    for (key, value, message, type_error) in [
        ("responseMode", JsValue::from_str("form_post"), "Invalid value for responseMode", false),
        ("flow", JsValue::from_str("magic"), "Invalid value for flow", false),
        ("pkceMethod", JsValue::from_str("plain"), "Invalid value for pkceMethod', expected 'S256' or false but got plain.", true),
        ("pkceMethod", JsValue::from_f64(1.5), "Invalid value for pkceMethod', expected 'S256' or false but got 1.5.", true),
        ("onLoad", JsValue::from_str("sometimes"), "Invalid value for onLoad", false),
    ] {
        let (_, core) = core_with(&server_config());
        let options = Object::new();
        js::set(&options, "checkLoginIframe", &JsValue::FALSE);
        js::set(&options, key, &value);
        let err = JsFuture::from(core.init(options.into())).await.unwrap_err();
        assert_eq!(get(&err, "message").as_string().as_deref(), Some(message));
        assert_eq!(err.is_instance_of::<js_sys::TypeError>(), type_error, "{key}");
    }
}

#[wasm_bindgen_test]
async fn login_url_matches_reference_shape_and_stores_state() {
    clear_callback_storage();
    let (_, core) = core_with(&server_config());
    let options = Object::new();
    js::set(&options, "checkLoginIframe", &JsValue::FALSE);
    js::set(&options, "scope", &"email".into());
    JsFuture::from(core.init(options.into())).await.unwrap();
    let login = Object::new();
    js::set(&login, "redirectUri", &"http://app.localhost/#/users".into());
    js::set(&login, "maxAge", &JsValue::from_f64(0.0));
    js::set(&login, "prompt", &"login".into());
    let url = JsFuture::from(core.create_login_url(login.into())).await.unwrap().as_string().unwrap();
    let u = web_sys::Url::new(&url).unwrap();
    assert_eq!(u.origin(), "http://idp.localhost:9");
    assert_eq!(u.pathname(), "/realms/my%20realm/protocol/openid-connect/auth");
    let keys: Vec<String> = js_sys::Array::from(&js_sys::Reflect::apply(
        &js_sys::Function::new_with_args("u", "return [...new URL(u).searchParams.keys()]"),
        &JsValue::UNDEFINED,
        &js_sys::Array::of1(&url.clone().into()),
    ).unwrap())
    .iter()
    .map(|k| k.as_string().unwrap())
    .collect();
    assert_eq!(keys, ["client_id", "redirect_uri", "state", "response_mode", "response_type", "scope", "nonce", "prompt", "max_age", "code_challenge", "code_challenge_method"]);
    let q = u.search_params();
    assert_eq!(q.get("scope").as_deref(), Some("openid email"));
    assert_eq!(q.get("max_age").as_deref(), Some("0"));
    let state = q.get("state").unwrap();
    let s = browser::window().local_storage().unwrap().unwrap();
    let stored = js::json_parse(&s.get_item(&format!("kc-callback-{state}")).unwrap().unwrap()).unwrap();
    assert_eq!(get(&stored, "nonce").as_string(), q.get("nonce"));
    assert_eq!(get(&stored, "prompt").as_string().as_deref(), Some("login"));
    let verifier = get(&stored, "pkceCodeVerifier").as_string().unwrap();
    assert_eq!(verifier.len(), 96);
    assert_eq!(q.get("code_challenge").unwrap(), keycloak_wasm::core::pkce::challenge_s256(&verifier));
}

#[wasm_bindgen_test]
async fn logout_url_and_sync_methods_after_init() {
    let (facade, core) = core_with(&server_config());
    let options = Object::new();
    js::set(&options, "checkLoginIframe", &JsValue::FALSE);
    js::set(&options, "redirectUri", &"http://app.localhost/".into());
    JsFuture::from(core.init(options.into())).await.unwrap();
    assert_eq!(
        core.create_logout_url(JsValue::UNDEFINED).unwrap(),
        "http://idp.localhost:9/realms/my%20realm/protocol/openid-connect/logout?client_id=demo-app&post_logout_redirect_uri=http%3A%2F%2Fapp.localhost%2F"
    );
    let post = Object::new();
    js::set(&post, "logoutMethod", &"POST".into());
    assert_eq!(core.create_logout_url(post.into()).unwrap(), "http://idp.localhost:9/realms/my%20realm/protocol/openid-connect/logout");
    let endpoints = get(&facade, "endpoints");
    let call = |name: &str| js_sys::Reflect::get(&endpoints, &name.into()).unwrap().unchecked_into::<js_sys::Function>().call0(&JsValue::UNDEFINED);
    assert_eq!(call("authorize").unwrap().as_string().as_deref(), Some("http://idp.localhost:9/realms/my%20realm/protocol/openid-connect/auth"));
    assert_eq!(call("thirdPartyCookiesIframe").unwrap().as_string().as_deref(), Some("http://idp.localhost:9/realms/my%20realm/protocol/openid-connect/3p-cookies/step1.html"));
    assert!(!core.has_realm_role("user".into()));
    assert!(!core.has_resource_role("viewer".into(), JsValue::UNDEFINED));
    let e = core.is_token_expired(JsValue::UNDEFINED).unwrap_err();
    assert_eq!(get(&e, "message").as_string().as_deref(), Some("Not authenticated"));
    let e = JsFuture::from(core.update_token(JsValue::UNDEFINED)).await.unwrap_err();
    assert_eq!(get(&e, "message").as_string().as_deref(), Some("Unable to update token, no refresh token available."));
    core.clear_token().unwrap();
}

#[wasm_bindgen_test]
async fn oidc_mode_endpoints_throw_where_the_provider_has_none() {
    let meta = Object::new();
    js::set(&meta, "authorization_endpoint", &"https://op.localhost/authorize".into());
    js::set(&meta, "token_endpoint", &"https://op.localhost/token".into());
    let config = Object::new();
    js::set(&config, "clientId", &"c".into());
    js::set(&config, "oidcProvider", &meta);
    let (facade, core) = core_with(&config.into());
    let options = Object::new();
    js::set(&options, "checkLoginIframe", &JsValue::FALSE);
    JsFuture::from(core.init(options.into())).await.unwrap();
    let endpoints = get(&facade, "endpoints");
    assert!(get(&endpoints, "thirdPartyCookiesIframe").is_undefined(), "no probe page for generic providers");
    let logout: js_sys::Function = get(&endpoints, "logout").unchecked_into();
    let e = logout.call0(&JsValue::UNDEFINED).unwrap_err();
    assert_eq!(get(&e, "message").as_string().as_deref(), Some("Not supported by the OIDC server"));
    let e = core.create_account_url(JsValue::UNDEFINED).unwrap_err();
    assert_eq!(get(&e, "message").as_string().as_deref(), Some("Unable to create account URL, make sure the adapter is not configured using a generic OIDC provider."));
    assert!(get(&facade, "realm").is_undefined());
}

fn unsigned_jwt(claims: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut t = b64.encode(r#"{"alg":"none"}"#);
    t.push('.');
    t.push_str(&b64.encode(claims));
    t.push_str(".x");
    t
}

#[wasm_bindgen_test]
async fn a_silent_session_iframe_rejects_after_message_receive_timeout() {
    // keycloak-js waits forever for the status iframe's answer; we give up after
    // messageReceiveTimeout. about:blank loads but never answers.
    let meta = Object::new();
    js::set(&meta, "authorization_endpoint", &"https://op.localhost/authorize".into());
    js::set(&meta, "token_endpoint", &"https://op.localhost/token".into());
    js::set(&meta, "check_session_iframe", &"about:blank".into());
    let config = Object::new();
    js::set(&config, "clientId", &"c".into());
    js::set(&config, "oidcProvider", &meta);
    let (facade, core) = core_with(&config.into());
    let now = (browser::now_ms() / 1000.0) as u64;
    let claims = format!(r#"{{"sub":"u","sid":"s","iat":{now},"exp":{}}}"#, now + 300);
    let options = Object::new();
    js::set(&options, "token", &unsigned_jwt(&claims).into());
    js::set(&options, "refreshToken", &unsigned_jwt(&claims).into());
    js::set(&options, "messageReceiveTimeout", &JsValue::from_f64(300.0));
    let started = browser::now_ms();
    let err = JsFuture::from(core.init(options.into())).await.unwrap_err();
    assert_eq!(get(&err, "message").as_string().as_deref(), Some("Timeout when waiting for the session status iframe message."));
    let waited = browser::now_ms() - started;
    assert!(waited >= 250.0 && waited < 5000.0, "bounded by messageReceiveTimeout, waited {waited} ms");
    assert_eq!(get(&facade, "didInitialize"), JsValue::TRUE);
}

#[wasm_bindgen_test]
async fn malformed_init_token_rejects_cleanly() {
    let (facade, core) = core_with(&server_config());
    let options = Object::new();
    js::set(&options, "checkLoginIframe", &JsValue::FALSE);
    js::set(&options, "token", &"not-a-jwt".into());
    js::set(&options, "refreshToken", &"x.y.z".into());
    let err = JsFuture::from(core.init(options.into())).await.unwrap_err();
    // keycloak-js decodes the refresh token first: "y" has an impossible base64 length
    assert_eq!(get(&err, "message").as_string().as_deref(), Some("Unable to decode token, payload is not a valid Base64URL value."));
    assert_eq!(get(&get(&err, "cause"), "message").as_string().as_deref(), Some("Input is not of the correct length."));
    assert_ne!(get(&facade, "authenticated"), JsValue::TRUE);
    assert!(get(&facade, "token").is_undefined());
}
