//! The wasm-bindgen surface: `KeycloakCore`, driven by the `Keycloak` facade in
//! `pkg/facade.js`. It owns the adapter state, mirrors the public properties onto the
//! facade object (so they are plain own data properties, as in keycloak-js), and calls
//! the event callbacks the app assigned on that object.
//!
//! Orchestration only: decisions come from `crate::core`, web APIs from `crate::browser`.
//! Core errors become the exact JS errors keycloak-js throws in [`js_error`].

use crate::browser::http::{self, Request};
use crate::browser::iframe::{self, Listener};
use crate::browser::js;
use crate::browser::storage::CallbackStore;
use crate::browser::{self as web};
use crate::browser::cordova::{BrowserTab, DeepLink, InAppWindow};
use crate::core::adapter::{
    at_redirect, cordova_window_options, login_step, logout_step, AdapterKind, AdapterOption, BrowserEvent, LoginStep, LogoutStep,
    CORDOVA_ACCOUNT_WINDOW, CORDOVA_LOGOUT_WINDOW,
};
use crate::core::callback::{parse_callback_url, Callback, Flow};
use crate::core::endpoints::{discovery_url, realm_url, Endpoints, OidcMetadata};
use crate::core::error::{CoreError, JsKind};
use crate::core::iframe::{
    needs_probe, origin_of, parse_probe, session_message, third_party_cookies_blocked, SessionStatus, THIRD_PARTY_COOKIES_WARNING, TITLE_3P,
    TITLE_SESSION, TITLE_SILENT,
};
use crate::core::login_url::{build_account_url, build_login_url, build_logout_url, LoginUrl};
use crate::core::options::{AssignedProperties, LogoutMethod, OnLoad, RawInitOptions, Settings};
use crate::core::session::{midpoint, Claims, Refresh, Waiters, Session, Token};
use crate::core::{jwt, pkce};
use js_sys::{Function, Object, Promise};
use std::cell::RefCell;
use std::rc::Rc;
use web_sys::HtmlIFrameElement;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, spawn_local, JsFuture};

/// Converts a core error into the JavaScript error keycloak-js throws.
pub fn js_error(e: &CoreError) -> JsValue {
    let msg = e.message();
    match (e.kind(), e.cause()) {
        (JsKind::TypeError, _) => js_sys::TypeError::new(&msg).into(),
        (JsKind::Error, Some(cause)) => {
            let options = js::object();
            js::set(&options, "cause", &js_sys::Error::new(cause));
            js_sys::Error::new_with_options(&msg, &options).into()
        }
        (JsKind::Error, None) => js_sys::Error::new(&msg).into(),
    }
}

fn err(e: CoreError) -> JsValue {
    js_error(&e)
}

type Waiter = (Function, Function);

/// The session status iframe, its origin, and its `message` listener.
struct LoginIframe {
    element: HtmlIFrameElement,
    origin: String,
    /// Set once the iframe loaded (keycloak-js sets its origin at that moment).
    ready: bool,
    _listener: Listener,
}

struct State {
    settings: Settings,
    initialized: bool,
    client_id: String,
    endpoints: Option<Endpoints>,
    session: Session,
    store: Option<CallbackStore>,
    /// The adapter `init` selected; `custom_adapter` holds the object of a custom one.
    adapter: AdapterKind,
    custom_adapter: Option<JsValue>,
    refresh_queue: Waiters<Waiter>,
    token_timeout: Option<i32>,
    login_iframe: Option<LoginIframe>,
    session_checks: Waiters<Waiter>,
}

struct Inner {
    /// The facade instance: public properties are mirrored onto it, callbacks read from it.
    facade: Object,
    config: JsValue,
    network_error: Function,
    st: RefCell<State>,
}

#[wasm_bindgen]
pub struct KeycloakCore {
    inner: Rc<Inner>,
}

/// A promise that never settles: what `login()` returns once the page is navigating.
fn never() -> JsFuture {
    JsFuture::from(Promise::new(&mut |_, _| {}))
}

/// A token decoded into its JS object (what users see) and the claims the core reads.
struct Decoded {
    token: Token,
    parsed: JsValue,
}

fn decode(raw: &str) -> Result<Decoded, JsValue> {
    let text = jwt::decode_payload(raw).map_err(err)?;
    let parsed = js::json_parse(&text).map_err(|cause| {
        let options = js::object();
        js::set(&options, "cause", &cause);
        JsValue::from(js_sys::Error::new_with_options(&CoreError::TokenPayloadNotJson.message(), &options))
    })?;
    let claims = Claims {
        exp: js::get(&parsed, "exp").as_f64(),
        iat: js::get(&parsed, "iat").as_f64(),
        sid: js::get(&parsed, "sid").as_string(),
        sub: js::get(&parsed, "sub").as_string(),
        nonce: js::get(&parsed, "nonce").as_string(),
    };
    Ok(Decoded { token: Token { raw: raw.into(), claims }, parsed })
}

/// A token a generic OIDC provider issued as an opaque string: kept and used as it is,
/// with `*Parsed` undefined and the claims the adapter needs supplied by the caller.
fn opaque(raw: String, claims: Claims) -> Decoded {
    Decoded { token: Token { raw, claims }, parsed: JsValue::UNDEFINED }
}

fn decode_opt(raw: &JsValue) -> Result<Option<Decoded>, JsValue> {
    match raw.as_string().filter(|s| !s.is_empty()) {
        Some(s) => decode(&s).map(Some),
        None => Ok(None),
    }
}

impl Inner {
    fn facade(&self) -> &JsValue {
        self.facade.as_ref()
    }

    fn emit(&self, name: &str, args: &[JsValue]) -> Result<(), JsValue> {
        js::call_method(self.facade(), name, args).map(|_| ())
    }

    fn request_timeout(&self) -> f64 {
        self.st.borrow().settings.request_timeout
    }

    fn logging(&self) -> bool {
        self.st.borrow().settings.enable_logging
    }

    fn info(&self, msg: &str) {
        if self.logging() {
            web::log_info(msg);
        }
    }

    fn warn(&self, msg: &str) {
        if self.logging() {
            web::log_warn(msg);
        }
    }

    fn endpoints(&self) -> Result<Endpoints, JsValue> {
        self.st.borrow().endpoints.clone().ok_or_else(|| err(CoreError::NotInitialized))
    }

    fn set_prop(&self, key: &str, v: &JsValue) {
        js::set(self.facade(), key, v);
    }

    /// Reads back the public properties keycloak-js reads at the moment of use, so that
    /// values an app assigned after `init` take effect (keycloak-js keeps its settings in
    /// those very properties). Before `init` there is nothing to adopt.
    fn adopt_properties(&self) {
        if !self.st.borrow().initialized {
            return;
        }
        let f = self.facade();
        let g = |k: &str| js::opt(js::get(f, k));
        let p = AssignedProperties {
            redirect_uri: g("redirectUri"),
            scope: g("scope"),
            enable_logging: g("enableLogging"),
            logout_method: g("logoutMethod"),
            message_receive_timeout: g("messageReceiveTimeout"),
            silent_check_sso_redirect_uri: g("silentCheckSsoRedirectUri"),
            silent_check_sso_fallback: g("silentCheckSsoFallback"),
            response_mode: g("responseMode"),
            response_type: g("responseType"),
            pkce_method: g("pkceMethod"),
            login_required: g("loginRequired"),
        };
        let skew = js::get(f, "timeSkew").as_f64();
        let mut st = self.st.borrow_mut();
        st.settings.adopt(&p);
        st.session.time_skew = skew;
    }

    /// Writes the settings-derived public properties (after `init` options are applied).
    fn mirror_settings(&self) {
        let st = self.st.borrow();
        let s = &st.settings;
        let some_str = |v: &Option<String>| v.as_deref().map(JsValue::from_str);
        self.set_prop("loginRequired", &s.login_required.into());
        self.set_prop("responseMode", &s.response_mode.as_str().into());
        self.set_prop("responseType", &s.response_type.as_str().into());
        self.set_prop("flow", &s.flow.as_str().into());
        self.set_prop("timeSkew", &s.time_skew.map(JsValue::from_f64).unwrap_or(JsValue::NULL));
        let undefined_or = |v: Option<JsValue>| v.unwrap_or(JsValue::UNDEFINED);
        self.set_prop("redirectUri", &undefined_or(some_str(&s.redirect_uri)));
        self.set_prop("silentCheckSsoRedirectUri", &undefined_or(some_str(&s.silent_check_sso_redirect_uri)));
        self.set_prop("silentCheckSsoFallback", &s.silent_check_sso_fallback.into());
        self.set_prop("pkceMethod", &s.pkce_method.as_deref().map(JsValue::from_str).unwrap_or(JsValue::FALSE));
        self.set_prop("enableLogging", &s.enable_logging.into());
        self.set_prop("logoutMethod", &s.logout_method.as_str().into());
        self.set_prop("scope", &undefined_or(some_str(&s.scope)));
        self.set_prop("messageReceiveTimeout", &s.message_receive_timeout.into());
    }

    /// `#setToken(token, refreshToken, idToken, timeLocal)`: updates the core session,
    /// mirrors the token properties and (re)arms `onTokenExpired`.
    fn set_token(&self, access: Option<Decoded>, refresh: Option<Decoded>, id: Option<Decoded>, time_local: Option<f64>) {
        if let Some(h) = self.st.borrow_mut().token_timeout.take() {
            web::clear_timeout(h);
            js::delete(&self.facade, "tokenTimeoutHandle");
        }
        let f = &self.facade;
        let pair = |d: &Option<Decoded>| d.as_ref().map(|d| (JsValue::from_str(&d.token.raw), d.parsed.clone()));
        let (r, i, a) = (pair(&refresh), pair(&id), pair(&access));
        js::set_or_delete(f, "refreshToken", r.as_ref().map(|p| &p.0));
        js::set_or_delete(f, "refreshTokenParsed", r.as_ref().map(|p| &p.1));
        js::set_or_delete(f, "idToken", i.as_ref().map(|p| &p.0));
        js::set_or_delete(f, "idTokenParsed", i.as_ref().map(|p| &p.1));
        let expires_in = self.st.borrow_mut().session.set_tokens(
            access.map(|d| d.token),
            refresh.map(|d| d.token),
            id.map(|d| d.token),
            time_local,
            web::now_ms(),
        );
        match a {
            Some((raw, parsed)) => {
                self.set_prop("token", &raw);
                self.set_prop("tokenParsed", &parsed);
                // An opaque access token (generic OIDC): the ID token says who and which session.
                let claims = match (&i, parsed.is_undefined()) {
                    (Some((_, id_parsed)), true) => id_parsed.clone(),
                    _ => parsed,
                };
                self.set_prop("sessionId", &js::get(&claims, "sid"));
                self.set_prop("authenticated", &JsValue::TRUE);
                self.set_prop("subject", &js::get(&claims, "sub"));
                self.set_prop("realmAccess", &js::get(&claims, "realm_access"));
                self.set_prop("resourceAccess", &js::get(&claims, "resource_access"));
                let skew = self.st.borrow().session.time_skew;
                self.set_prop("timeSkew", &skew.map(JsValue::from_f64).unwrap_or(JsValue::NULL));
                if let (Some(skew), Some(ms)) = (skew, expires_in) {
                    self.arm_token_expired(skew, ms);
                }
            }
            None => {
                for k in ["token", "tokenParsed", "subject", "realmAccess", "resourceAccess"] {
                    js::delete(f, k);
                }
                self.set_prop("authenticated", &JsValue::FALSE);
            }
        }
    }

    fn arm_token_expired(&self, skew: f64, ms: f64) {
        if self.logging() {
            let mut m = String::from("[KEYCLOAK] Estimated time difference between browser and server is ");
            m.push_str(&web::number_text(skew));
            m.push_str(" seconds");
            web::log_info(&m);
        }
        let cb = js::get(self.facade(), "onTokenExpired");
        let Some(cb) = cb.dyn_ref::<Function>().filter(|_| cb.is_truthy()) else { return };
        if self.logging() {
            let mut m = String::from("[KEYCLOAK] Token expires in ");
            m.push_str(&web::number_text(js_sys::Math::round(ms / 1000.0)));
            m.push_str(" s");
            web::log_info(&m);
        }
        if ms <= 0.0 {
            // keycloak-js calls it unbound here as well (quirk 8).
            let _ = cb.call0(&JsValue::UNDEFINED);
        } else {
            let h = web::set_timeout(cb, ms);
            self.st.borrow_mut().token_timeout = Some(h);
            self.set_prop("tokenTimeoutHandle", &JsValue::from(h));
        }
    }

    /// `clearToken()`.
    fn clear_token(self: &Rc<Self>) -> Result<(), JsValue> {
        // keycloak-js reads `loginRequired` at this moment: an app may have changed it.
        self.adopt_properties();
        let had = self.st.borrow().session.authenticated();
        if !had {
            return Ok(());
        }
        self.set_token(None, None, None, None);
        self.emit("onAuthLogout", &[])?;
        if self.st.borrow().settings.login_required {
            let me = self.clone();
            spawn_local(async move {
                let _ = me.login(JsValue::UNDEFINED).await;
            });
        }
        Ok(())
    }

    /// The adapter's `redirectUri(options)`.
    fn redirect_uri(&self, options: &JsValue) -> String {
        // Cloned out first: the adapter's code may call back into this instance.
        let custom = self.st.borrow().custom_adapter.clone();
        if let Some(adapter) = custom {
            if let Some(f) = js::get(&adapter, "redirectUri").dyn_ref::<Function>() {
                if let Ok(v) = f.call1(&adapter, options) {
                    return js::text(&v);
                }
            }
        }
        let st = self.st.borrow();
        let page = if st.adapter == AdapterKind::Default { web::location_href() } else { String::new() };
        st.adapter.redirect_uri(js::get_str(options, "redirectUri").as_deref(), st.settings.redirect_uri.as_deref(), &page)
    }

    /// `createLoginUrl(options)`: builds the URL and stores the callback state.
    fn create_login_url(&self, options: &JsValue) -> Result<String, JsValue> {
        let state = web::random_uuid().map_err(err)?;
        let nonce = web::random_uuid().map_err(err)?;
        let redirect_uri = self.redirect_uri(options);
        let record = js::object();
        js::set(&record, "state", &JsValue::from_str(&state));
        js::set(&record, "nonce", &JsValue::from_str(&nonce));
        js::set(&record, "redirectUri", &JsValue::from_str(&redirect_uri));
        js::set(&record, "loginOptions", options);
        let prompt = js::get_str(options, "prompt");
        if let Some(p) = &prompt {
            js::set(&record, "prompt", &JsValue::from_str(p));
        }
        let endpoints = self.endpoints()?;
        let action = js::get_str(options, "action");
        let endpoint = if action.as_deref() == Some("register") { endpoints.register().map_err(err)? } else { endpoints.authorize() };
        let st = self.st.borrow();
        let s = &st.settings;
        let scope = js::get_str(options, "scope").or_else(|| s.scope.clone().filter(|v| !v.is_empty()));
        let max_age = js::get(options, "maxAge").as_f64().map(web::number_text);
        let acr = js::get(options, "acr");
        let claims = if acr.is_truthy() {
            let acr_obj = js::object();
            js::set(&acr_obj, "acr", &acr);
            let wrapper = js::object();
            js::set(&wrapper, "id_token", &acr_obj);
            Some(js::json_stringify(&wrapper)?)
        } else {
            None
        };
        let (verifier, challenge) = match &s.pkce_method {
            Some(_) => {
                let bytes = web::random_bytes(pkce::VERIFIER_LEN).map_err(|cause| {
                    let options = js::object();
                    js::set(&options, "cause", &js_error(&cause));
                    JsValue::from(js_sys::Error::new_with_options("Failed to generate PKCE challenge.", &options))
                })?;
                let v = pkce::verifier_from_bytes(&bytes);
                let c = pkce::challenge_s256(&v);
                (Some(v), Some(c))
            }
            None => (None, None),
        };
        if let Some(v) = &verifier {
            js::set(&record, "pkceCodeVerifier", &JsValue::from_str(v));
        }
        let locale = js::get_str(options, "locale");
        let login_hint = js::get_str(options, "loginHint");
        let idp_hint = js::get_str(options, "idpHint");
        let acr_values = js::get_str(options, "acrValues");
        let url = build_login_url(&LoginUrl {
            endpoint: &endpoint,
            client_id: &st.client_id,
            redirect_uri: &redirect_uri,
            state: &state,
            response_mode: s.response_mode.as_str(),
            response_type: &s.response_type,
            scope: scope.as_deref(),
            nonce: s.use_nonce.then_some(nonce.as_str()),
            prompt: prompt.as_deref(),
            max_age: max_age.as_deref(),
            login_hint: login_hint.as_deref(),
            idp_hint: idp_hint.as_deref(),
            action: action.as_deref().filter(|a| *a != "register"),
            locale: locale.as_deref(),
            claims: claims.as_deref(),
            acr_values: acr_values.as_deref(),
            pkce: challenge.as_deref().zip(s.pkce_method.as_deref()),
        });
        if let Some(store) = &st.store {
            store.add(&record)?;
        }
        Ok(url)
    }

    /// Boxed: a callback can start a new login (`authentication_expired`), and a login
    /// through a Cordova adapter processes a callback.
    fn login(self: &Rc<Self>, options: JsValue) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<JsValue, JsValue>>>> {
        let me = self.clone();
        Box::pin(async move { me.login_or_register(options, false).await })
    }

    /// `login(options)` / `register(options)` through the selected adapter.
    async fn login_or_register(self: &Rc<Self>, options: JsValue, register: bool) -> Result<JsValue, JsValue> {
        let kind = self.st.borrow().adapter;
        if let Some(adapter) = self.custom_adapter() {
            return call_adapter(&adapter, if register { "register" } else { "login" }, &options).await;
        }
        // keycloak-js's Cordova register drops the options when building the URL; we pass them.
        let url_options = if register { register_options(&options) } else { options.clone() };
        let url = self.create_login_url(&url_options)?;
        match kind {
            AdapterKind::Cordova => self.cordova_login(&url, &options, register).await,
            AdapterKind::CordovaNative => {
                let tab = BrowserTab::get()?;
                let link = DeepLink::subscribe()?;
                tab.open(&url)?;
                let href = link.url().await;
                tab.close();
                self.handle_callback(&href, register).await.map(|_| JsValue::UNDEFINED)
            }
            _ => {
                web::location_assign(&url)?;
                never().await
            }
        }
    }

    /// The InAppBrowser login: the window's events decide (see `core::adapter`). Unlike
    /// keycloak-js 26.2.4, the callback's state must be one we issued.
    async fn cordova_login(self: &Rc<Self>, url: &str, options: &JsValue, register: bool) -> Result<JsValue, JsValue> {
        let prompt_none = js::get_str(options, "prompt").as_deref() == Some("none");
        let window_options = cordova_window_options(&js::string_entries(&js::get(options, "cordovaOptions")), prompt_none);
        let redirect = self.redirect_uri(options);
        let win = InAppWindow::open(url, &window_options)?;
        loop {
            match login_step(&win.next().await, &redirect) {
                LoginStep::Wait => continue,
                LoginStep::Callback(href) => {
                    // Closed before the code exchange, as in keycloak-js 26.2.4 (#209).
                    win.close();
                    return self.handle_callback(&href, register).await.map(|_| JsValue::UNDEFINED);
                }
                LoginStep::Fail(e) => {
                    if e != CoreError::CordovaWindowClosed {
                        win.close();
                    }
                    return Err(err(e));
                }
            }
        }
    }

    /// A callback URL that reached the app some other way than the page load (a Cordova
    /// window, a deep link, a custom adapter): it must carry a state this instance
    /// stored; then it is processed as `init` would. Resolves to `authenticated`.
    async fn handle_callback(self: &Rc<Self>, href: &str, register: bool) -> Result<JsValue, JsValue> {
        self.endpoints()?;
        let (flow, mode) = {
            let s = &self.st.borrow().settings;
            (s.flow, s.response_mode)
        };
        let cb = parse_callback_url(href, flow, mode);
        let stored = cb.as_ref().and_then(|cb| {
            let st = self.st.borrow();
            st.store.as_ref().and_then(|s| s.take(cb.params.get("state").unwrap_or("")))
        });
        let (Some(cb), Some(stored)) = (cb, stored) else {
            return Err(err(CoreError::InvalidCallbackState { register }));
        };
        self.process_callback(cb, stored).await?;
        if flow != Flow::Implicit {
            self.schedule_check_iframe();
        }
        Ok(JsValue::from_bool(self.st.borrow().session.authenticated()))
    }

    fn custom_adapter(&self) -> Option<JsValue> {
        self.st.borrow().custom_adapter.clone()
    }

    fn create_logout_url(&self, options: &JsValue) -> Result<String, JsValue> {
        let endpoint = self.endpoints()?.logout().map_err(err)?;
        if self.logout_method(options) == "POST" {
            return Ok(endpoint);
        }
        let redirect = self.redirect_uri(options);
        let st = self.st.borrow();
        let id_token = st.session.id.as_ref().map(|t| t.raw.as_str());
        Ok(build_logout_url(&endpoint, &st.client_id, &redirect, id_token))
    }

    /// `options?.logoutMethod ?? this.logoutMethod`
    fn logout_method(&self, options: &JsValue) -> String {
        let v = js::get(options, "logoutMethod");
        if v.is_undefined() || v.is_null() {
            return String::from(self.st.borrow().settings.logout_method.as_str());
        }
        js::text(&v)
    }

    async fn logout(self: &Rc<Self>, options: JsValue) -> Result<JsValue, JsValue> {
        if let Some(adapter) = self.custom_adapter() {
            return call_adapter(&adapter, "logout", &options).await;
        }
        let kind = self.st.borrow().adapter;
        match kind {
            AdapterKind::Cordova => return self.cordova_logout(&options).await,
            AdapterKind::CordovaNative => {
                let tab = BrowserTab::get()?;
                let link = DeepLink::subscribe()?;
                tab.open(&self.logout_get_url(&options)?)?;
                link.url().await;
                tab.close();
                self.clear_token()?;
                return Ok(JsValue::UNDEFINED);
            }
            _ => {}
        }
        if self.logout_method(&options) == LogoutMethod::Get.as_str() {
            web::location_replace(&self.create_logout_url(&options)?)?;
            return Ok(JsValue::UNDEFINED);
        }
        let action = self.create_logout_url(&options)?;
        let redirect = self.redirect_uri(&options);
        let (id_token, client_id) = {
            let st = self.st.borrow();
            (st.session.id.as_ref().map(|t| t.raw.clone()), st.client_id.clone())
        };
        // Deliberate difference: keycloak-js posts the string "undefined" as
        // id_token_hint when there is no ID token; we leave the field out.
        let mut fields: Vec<(&str, &str)> = Vec::new();
        if let Some(t) = &id_token {
            fields.push(("id_token_hint", t));
        }
        fields.push(("client_id", &client_id));
        fields.push(("post_logout_redirect_uri", &redirect));
        web::submit_hidden_form(&action, &fields)?;
        Ok(JsValue::UNDEFINED)
    }

    /// The logout URL with its query (the Cordova adapters always navigate with GET).
    fn logout_get_url(&self, options: &JsValue) -> Result<String, JsValue> {
        let endpoint = self.endpoints()?.logout().map_err(err)?;
        let redirect = self.redirect_uri(options);
        let st = self.st.borrow();
        Ok(build_logout_url(&endpoint, &st.client_id, &redirect, st.session.id.as_ref().map(|t| t.raw.as_str())))
    }

    /// The InAppBrowser logout: a hidden window loads the logout URL; reaching the
    /// redirect URI (or the user closing it) ends it, and the tokens are cleared.
    async fn cordova_logout(self: &Rc<Self>, options: &JsValue) -> Result<JsValue, JsValue> {
        let redirect = self.redirect_uri(options);
        let win = InAppWindow::open(&self.logout_get_url(options)?, CORDOVA_LOGOUT_WINDOW)?;
        let mut failed = false;
        loop {
            match logout_step(&win.next().await, &redirect) {
                LogoutStep::Wait => continue,
                LogoutStep::Close { failed: f } => {
                    failed = f;
                    win.close();
                    // The plugin answers close() with `exit`; do not wait for it forever.
                    let timeout = self.st.borrow().settings.message_receive_timeout;
                    while let Some(e) = win.next_within(timeout).await {
                        if e == BrowserEvent::Exit {
                            break;
                        }
                    }
                    break;
                }
                LogoutStep::Done => break,
            }
        }
        if failed {
            return Err(err(CoreError::CordovaWindowClosed));
        }
        self.clear_token()?;
        Ok(JsValue::UNDEFINED)
    }

    /// `accountManagement()` through the selected adapter.
    async fn account_management(self: &Rc<Self>) -> Result<JsValue, JsValue> {
        if let Some(adapter) = self.custom_adapter() {
            return call_adapter(&adapter, "accountManagement", &JsValue::UNDEFINED).await;
        }
        let url = self.create_account_url(&JsValue::UNDEFINED)?;
        let kind = self.st.borrow().adapter;
        match kind {
            AdapterKind::Cordova => {
                let redirect = self.redirect_uri(&JsValue::UNDEFINED);
                let win = InAppWindow::open(&url, CORDOVA_ACCOUNT_WINDOW)?;
                // Resolves at once; the window closes itself when it reaches the app again.
                spawn_local(async move {
                    loop {
                        match win.next().await {
                            BrowserEvent::LoadStart(u) if at_redirect(&u, &redirect) => break win.close(),
                            BrowserEvent::Exit => break,
                            _ => {}
                        }
                    }
                });
                return Ok(JsValue::UNDEFINED);
            }
            AdapterKind::CordovaNative => {
                BrowserTab::get()?.open(&url)?;
                return Ok(JsValue::UNDEFINED);
            }
            _ => {}
        }
        web::location_set_href(&url)?;
        never().await
    }

    fn create_account_url(&self, options: &JsValue) -> Result<String, JsValue> {
        let account = self.endpoints()?.account().ok_or_else(|| err(CoreError::AccountUrlInOidcMode))?;
        let redirect = self.redirect_uri(options);
        Ok(build_account_url(&account, &self.st.borrow().client_id, &redirect))
    }

    /// Token endpoint request shared by the code exchange and the refresh.
    async fn token_request(&self, pairs: &[(&str, &str)]) -> Result<JsValue, JsValue> {
        let url = self.endpoints()?.token();
        let body = crate::core::encode::form_urlencode(pairs);
        let credentials = !self.opaque_tokens_allowed();
        http::fetch_json(Request { url: &url, form: Some(body), credentials, bearer: None, timeout_ms: self.request_timeout() }, &self.network_error).await
    }

    /// A generic OIDC provider may issue opaque access and refresh tokens (keycloak-js
    /// cannot use such a provider); Keycloak's are JWTs and must decode.
    fn opaque_tokens_allowed(&self) -> bool {
        matches!(self.st.borrow().endpoints, Some(Endpoints::Oidc(_)))
    }

    /// Decodes a token, or keeps it opaque (see `opaque_tokens_allowed`).
    fn decode_token(&self, raw: &JsValue, claims: impl FnOnce() -> Claims) -> Result<Option<Decoded>, JsValue> {
        let Some(s) = raw.as_string().filter(|s| !s.is_empty()) else { return Ok(None) };
        match decode(&s) {
            Err(_) if self.opaque_tokens_allowed() => Ok(Some(opaque(s, claims()))),
            r => r.map(Some),
        }
    }

    /// Refresh, ID and access token, in keycloak-js's decoding order (the first bad one
    /// is reported); `expires_in` only matters for an opaque access token.
    fn decode_tokens(&self, access: &JsValue, refresh: &JsValue, id: &JsValue, expires_in: Option<f64>, time_local: f64) -> Result<[Option<Decoded>; 3], JsValue> {
        let refresh = self.decode_token(refresh, Claims::default)?;
        let id = decode_opt(id)?;
        let access = self.decode_token(access, || Claims::for_opaque_access(id.as_ref().map(|d| &d.token.claims), expires_in, time_local))?;
        Ok([access, refresh, id])
    }

    fn set_token_from_response(&self, resp: &JsValue, time_local: f64) -> Result<(), JsValue> {
        let get = |k: &str| js::get(resp, k);
        let [access, refresh, id] = self.decode_tokens(&get("access_token"), &get("refresh_token"), &get("id_token"), get("expires_in").as_f64(), time_local)?;
        self.set_token(access, refresh, id, Some(time_local));
        Ok(())
    }

    /// `authSuccess`: sets the tokens, then the ID-token nonce check.
    fn auth_success(self: &Rc<Self>, resp: &JsValue, started: f64, stored_nonce: Option<&str>) -> Result<(), JsValue> {
        self.set_token_from_response(resp, midpoint(started, web::now_ms()))?;
        let ok = {
            let st = self.st.borrow();
            st.session.nonce_matches(st.settings.use_nonce, stored_nonce)
        };
        if !ok {
            self.info("[KEYCLOAK] Invalid nonce, clearing token");
            self.clear_token()?;
            return Err(err(CoreError::InvalidNonce));
        }
        Ok(())
    }

    /// `#processCallback(oauth)`.
    async fn process_callback(self: &Rc<Self>, cb: Callback, stored: JsValue) -> Result<(), JsValue> {
        let started = web::now_ms();
        let p = &cb.params;
        let stored_nonce = js::get(&stored, "nonce").as_string();
        // Deliberate difference: keycloak-js strips `iss` unchecked. A mismatch means the
        // response may come from another server (mix-up): nothing in it is used.
        if let Err(e) = self.endpoints()?.check_callback_issuer(p.raw("iss")) {
            self.emit("onAuthError", &[])?;
            return Err(err(e));
        }
        if let Some(status) = p.get("kc_action_status") {
            let action = p.get("kc_action").map(JsValue::from_str).unwrap_or(JsValue::UNDEFINED);
            self.emit("onActionUpdate", &[JsValue::from_str(status), action])?;
        }
        let flow = self.st.borrow().settings.flow;
        if let Some(error) = p.get("error") {
            if js::get(&stored, "prompt").as_string().as_deref() != Some("none") {
                let description = p.raw("error_description");
                if description == Some("authentication_expired") {
                    self.login(js::get(&stored, "loginOptions")).await?;
                } else {
                    let data = js::object();
                    js::set(&data, "error", &JsValue::from_str(error));
                    js::set(&data, "error_description", &description.map(JsValue::from_str).unwrap_or(JsValue::UNDEFINED));
                    self.emit("onAuthError", &[data.clone().into()])?;
                    return Err(data.into());
                }
            }
            return Ok(());
        }
        if flow != Flow::Standard && (p.get("access_token").is_some() || p.get("id_token").is_some()) {
            let resp = js::object();
            js::set(&resp, "access_token", &p.get("access_token").map(JsValue::from_str).unwrap_or(JsValue::UNDEFINED));
            js::set(&resp, "id_token", &p.get("id_token").map(JsValue::from_str).unwrap_or(JsValue::UNDEFINED));
            self.auth_success(&resp, started, stored_nonce.as_deref())?;
            self.emit("onAuthSuccess", &[])?;
        }
        if let (true, Some(code)) = (flow != Flow::Implicit, p.get("code")) {
            let result: Result<(), JsValue> = async {
                let client_id = self.st.borrow().client_id.clone();
                let redirect = js::get(&stored, "redirectUri").as_string().unwrap_or_default();
                let verifier = js::get(&stored, "pkceCodeVerifier").as_string().filter(|v| !v.is_empty());
                let mut pairs = vec![("code", code), ("grant_type", "authorization_code"), ("client_id", &client_id), ("redirect_uri", &redirect)];
                if let Some(v) = &verifier {
                    pairs.push(("code_verifier", v));
                }
                let resp = self.token_request(&pairs).await?;
                self.auth_success(&resp, started, stored_nonce.as_deref())?;
                if flow == Flow::Standard {
                    self.emit("onAuthSuccess", &[])?;
                }
                Ok(())
            }
            .await;
            if let Err(e) = result {
                self.emit("onAuthError", &[])?;
                return Err(e);
            }
        }
        Ok(())
    }

    /// `updateToken(minValidity)`.
    async fn update_token(self: &Rc<Self>, min_validity: JsValue) -> Result<JsValue, JsValue> {
        if self.st.borrow().session.refresh.is_none() {
            return Err(err(CoreError::NoRefreshToken));
        }
        if self.st.borrow().settings.check_login_iframe {
            self.check_login_iframe().await?;
        }
        let decision = {
            let st = self.st.borrow();
            st.session.refresh_decision(js::truthy_number(&min_validity), web::now_ms(), st.settings.flow)
        };
        match decision.map_err(err)? {
            Refresh::NotNeeded => return Ok(JsValue::FALSE),
            Refresh::Forced => self.info("[KEYCLOAK] Refreshing token: forced refresh"),
            Refresh::Expired => self.info("[KEYCLOAK] Refreshing token: token expired"),
        }
        let mut waiter = None;
        let promise = Promise::new(&mut |resolve, reject| waiter = Some((resolve, reject)));
        if let Some(waiter) = waiter {
            if self.st.borrow_mut().refresh_queue.join(waiter) {
                let me = self.clone();
                spawn_local(async move { me.run_refresh().await });
            }
        }
        JsFuture::from(promise).await
    }

    async fn run_refresh(self: Rc<Self>) {
        let started = web::now_ms();
        let result: Result<(), JsValue> = async {
            let (refresh, client_id) = {
                let st = self.st.borrow();
                (st.session.refresh.as_ref().map(|t| t.raw.clone()).unwrap_or_default(), st.client_id.clone())
            };
            let resp = self.token_request(&[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", &client_id)]).await?;
            self.info("[KEYCLOAK] Token refreshed");
            self.set_token_from_response(&resp, midpoint(started, web::now_ms()))?;
            self.emit("onAuthRefreshSuccess", &[])
        }
        .await;
        let outcome = match result {
            Ok(()) => Ok(JsValue::TRUE),
            Err(e) => {
                self.warn("[KEYCLOAK] Failed to refresh token");
                if http::is_network_error_with_status(&e, &self.network_error, 400.0) {
                    let _ = self.clear_token();
                }
                let _ = self.emit("onAuthRefreshError", &[]);
                Err(e)
            }
        };
        let waiters = self.st.borrow_mut().refresh_queue.drain();
        for (resolve, reject) in waiters {
            let _ = match &outcome {
                Ok(v) => resolve.call1(&JsValue::UNDEFINED, v),
                Err(e) => reject.call1(&JsValue::UNDEFINED, e),
            };
        }
    }

    /// `#loadConfig()`: fills client id and endpoints from the constructor's config.
    async fn load_config(&self) -> Result<(), JsValue> {
        let config = &self.config;
        let (client_id, endpoints, auth_server_url, realm) = if let Some(url) = config.as_string() {
            let json = http::fetch_json(Request { url: &url, form: None, credentials: false, bearer: None, timeout_ms: self.request_timeout() }, &self.network_error).await?;
            let server = js::text(&js::get(&json, "auth-server-url"));
            let realm = js::text(&js::get(&json, "realm"));
            let client = js::get(&json, "resource");
            (client, Endpoints::Keycloak { realm_url: realm_url(&server, &realm) }, Some(server), Some(realm))
        } else if js::has(config, "oidcProvider") {
            let provider = js::get(config, "oidcProvider");
            let meta = match provider.as_string() {
                Some(base) => http::fetch_json(Request { url: &discovery_url(&base), form: None, credentials: false, bearer: None, timeout_ms: self.request_timeout() }, &self.network_error).await?,
                None => provider,
            };
            let field = |k: &str| js::get(&meta, k).as_string();
            let metadata = OidcMetadata {
                authorization_endpoint: field("authorization_endpoint").unwrap_or_default(),
                token_endpoint: field("token_endpoint").unwrap_or_default(),
                userinfo_endpoint: field("userinfo_endpoint"),
                check_session_iframe: field("check_session_iframe"),
                end_session_endpoint: field("end_session_endpoint"),
                issuer: field("issuer"),
            };
            (js::get(config, "clientId"), Endpoints::Oidc(metadata), None, None)
        } else {
            let server = js::text(&js::get(config, "url"));
            let realm = js::text(&js::get(config, "realm"));
            (js::get(config, "clientId"), Endpoints::Keycloak { realm_url: realm_url(&server, &realm) }, Some(server), Some(realm))
        };
        self.set_prop("clientId", &client_id);
        if let (Some(server), Some(realm)) = (&auth_server_url, &realm) {
            self.set_prop("authServerUrl", &JsValue::from_str(server));
            self.set_prop("realm", &JsValue::from_str(realm));
        }
        self.set_prop("endpoints", &endpoints_object(&endpoints));
        let mut st = self.st.borrow_mut();
        st.client_id = client_id.as_string().unwrap_or_default();
        st.endpoints = Some(endpoints);
        Ok(())
    }

    async fn do_login(self: &Rc<Self>, prompt: bool, locale: &JsValue) -> Result<(), JsValue> {
        let options = js::object();
        if !prompt {
            js::set(&options, "prompt", &JsValue::from_str("none"));
        }
        if locale.is_truthy() {
            js::set(&options, "locale", locale);
        }
        self.login(options.into()).await.map(|_| ())
    }

    async fn run_on_load(self: &Rc<Self>, on_load: OnLoad, locale: &JsValue) -> Result<(), JsValue> {
        match on_load {
            OnLoad::CheckSso => {
                if self.st.borrow().settings.check_login_iframe {
                    self.setup_check_login_iframe().await?;
                    if self.check_login_iframe().await? == Some(true) {
                        return Ok(());
                    }
                }
                if self.st.borrow().settings.silent_check_sso_redirect_uri.is_some() {
                    self.check_sso_silently().await
                } else {
                    self.do_login(false, locale).await
                }
            }
            OnLoad::LoginRequired => self.do_login(true, locale).await,
            OnLoad::Invalid | OnLoad::None => Err(err(CoreError::InvalidOnLoad)),
        }
    }

    /// `#processInit(initOptions)`.
    /// `#processInit(initOptions)`, with the 3p-cookie probe already under way: a login
    /// callback's code exchange runs alongside the probe and the status-iframe load
    /// (keycloak-js runs the three one after another); the probe's error still wins.
    async fn process_init(self: &Rc<Self>, options: &JsValue, probe: JsFuture) -> Result<(), JsValue> {
        let (flow, mode) = {
            let s = &self.st.borrow().settings;
            (s.flow, s.response_mode)
        };
        if let Some(cb) = parse_callback_url(&web::location_href(), flow, mode) {
            let stored = {
                let st = self.st.borrow();
                st.store.as_ref().and_then(|s| s.take(cb.params.get("state").unwrap_or("")))
            };
            web::replace_state(&cb.new_url)?;
            if let Some(stored) = stored {
                let me = self.clone();
                let exchange = JsFuture::from(future_to_promise(async move { me.process_callback(cb, stored).await.map(|_| JsValue::UNDEFINED) }));
                probe.await?;
                self.setup_check_login_iframe().await?;
                exchange.await?;
                if flow != Flow::Implicit {
                    self.schedule_check_iframe();
                }
                return Ok(());
            }
        }
        probe.await?;
        let on_load = self.st.borrow().settings.on_load;
        let locale = js::get(options, "locale");
        let (token, refresh) = (js::get(options, "token"), js::get(options, "refreshToken"));
        if token.is_truthy() && refresh.is_truthy() {
            let [access, refresh, id] = self.decode_tokens(&token, &refresh, &js::get(options, "idToken"), None, web::now_ms())?;
            self.set_token(access, refresh, id, None);
            // Without the session iframe (next issue) the stored tokens are validated by
            // a forced refresh, as keycloak-js does with `checkLoginIframe: false`.
            if self.st.borrow().settings.check_login_iframe {
                self.setup_check_login_iframe().await?;
                if self.check_login_iframe().await? == Some(true) {
                    self.emit("onAuthSuccess", &[])?;
                    self.schedule_check_iframe();
                }
                return Ok(());
            }
            match self.update_token(JsValue::from_f64(-1.0)).await {
                Ok(_) => self.emit("onAuthSuccess", &[])?,
                Err(e) => {
                    self.emit("onAuthError", &[])?;
                    if on_load == OnLoad::None {
                        return Err(e);
                    }
                    self.run_on_load(on_load, &locale).await?;
                }
            }
        } else if on_load != OnLoad::None {
            self.run_on_load(on_load, &locale).await?;
        }
        Ok(())
    }

    async fn init(self: &Rc<Self>, options: JsValue) -> Result<JsValue, JsValue> {
        {
            let mut st = self.st.borrow_mut();
            if st.initialized {
                return Err(err(CoreError::AlreadyInitialized));
            }
            st.initialized = true;
        }
        self.set_prop("didInitialize", &JsValue::TRUE);
        let store = CallbackStore::create();
        self.st.borrow_mut().store = Some(store);
        let adapter = js::get(&options, "adapter");
        let name = adapter.as_string();
        let option = match &name {
            _ if adapter.is_object() => AdapterOption::Object,
            Some(n) => AdapterOption::Text(n),
            None => AdapterOption::Other,
        };
        let kind = AdapterKind::select(option, crate::browser::cordova::cordova_present());
        {
            let mut st = self.st.borrow_mut();
            st.adapter = kind;
            st.settings.check_login_iframe &= !kind.disables_session_iframe();
            if kind == AdapterKind::Custom {
                st.custom_adapter = Some(adapter);
            }
        }
        let o = |k: &str| js::opt(js::get(&options, k));
        let raw = RawInitOptions {
            use_nonce: o("useNonce"),
            check_login_iframe: o("checkLoginIframe"),
            check_login_iframe_interval: o("checkLoginIframeInterval"),
            on_load: o("onLoad"),
            response_mode: o("responseMode"),
            flow: o("flow"),
            time_skew: o("timeSkew"),
            redirect_uri: o("redirectUri"),
            silent_check_sso_redirect_uri: o("silentCheckSsoRedirectUri"),
            silent_check_sso_fallback: o("silentCheckSsoFallback"),
            pkce_method: js::opt_text(js::get(&options, "pkceMethod")),
            enable_logging: o("enableLogging"),
            logout_method: o("logoutMethod"),
            scope: o("scope"),
            message_receive_timeout: o("messageReceiveTimeout"),
            silent_check_sso_timeout: o("silentCheckSsoTimeout"),
            request_timeout: o("requestTimeout"),
        };
        let applied = {
            let mut st = self.st.borrow_mut();
            let r = st.settings.apply(&raw);
            st.session.time_skew = st.settings.time_skew;
            r
        };
        self.mirror_settings();
        applied.map_err(err)?;
        self.load_config().await?;
        let me = self.clone();
        let probe = JsFuture::from(future_to_promise(async move { me.check_3p_cookies().await.map(|_| JsValue::UNDEFINED) }));
        self.process_init(&options, probe).await?;
        let authenticated = JsValue::from_bool(self.st.borrow().session.authenticated());
        self.emit("onReady", &[authenticated.clone()])?;
        Ok(authenticated)
    }

    /// `#check3pCookiesSupported()`: bounded by `messageReceiveTimeout`; unlike
    /// keycloak-js, the probe iframe is removed on timeout too.
    async fn check_3p_cookies(&self) -> Result<(), JsValue> {
        let (src, timeout) = {
            let st = self.st.borrow();
            let src = st.endpoints.as_ref().and_then(Endpoints::third_party_cookies_iframe);
            (src.filter(|_| needs_probe(&st.settings, true)), st.settings.message_receive_timeout)
        };
        let Some(src) = src else { return Ok(()) };
        let frame = iframe::hidden_iframe(&src, TITLE_3P)?;
        let answer = iframe::next_message(&frame, None, timeout, |d| d.as_string().as_deref().and_then(parse_probe).is_some()).await;
        iframe::remove(&frame);
        let answer = answer.ok_or_else(|| err(CoreError::ProbeTimeout))?;
        if answer.as_string().as_deref().and_then(parse_probe) == Some(false) {
            self.warn(THIRD_PARTY_COOKIES_WARNING);
            third_party_cookies_blocked(&mut self.st.borrow_mut().settings);
            if self.st.borrow().settings.silent_check_sso_redirect_uri.is_none() {
                self.set_prop("silentCheckSsoRedirectUri", &JsValue::UNDEFINED);
            }
        }
        Ok(())
    }

    /// `#setupCheckLoginIframe()`: once per instance. keycloak-js waits for the iframe's
    /// `load` without bound; we give up after `messageReceiveTimeout` and reject.
    async fn setup_check_login_iframe(self: &Rc<Self>) -> Result<(), JsValue> {
        let (enabled, exists, timeout) = {
            let st = self.st.borrow();
            (st.settings.check_login_iframe, st.login_iframe.is_some(), st.settings.message_receive_timeout)
        };
        if !enabled || exists {
            return Ok(());
        }
        let endpoints = self.endpoints()?;
        // A generic provider without `check_session_iframe`: no status iframe (keycloak-js
        // rejects `init` with "Not supported by the OIDC server").
        let Ok(src) = endpoints.check_session_iframe() else {
            self.st.borrow_mut().settings.check_login_iframe = false;
            return Ok(());
        };
        // The origin of the authorize endpoint, as keycloak-js does (not the iframe's).
        let authorize = endpoints.authorize();
        let origin = origin_of(&authorize).map(String::from).unwrap_or_else(|| web::window().location().origin().unwrap_or_default());
        let element = iframe::detached_iframe(&src, TITLE_SESSION)?;
        let load = iframe::on_load(&element);
        let weak = Rc::downgrade(self);
        let (frame, from) = (element.clone(), origin.clone());
        let listener = Listener::new(move |e: web_sys::MessageEvent| {
            if !iframe::from_iframe(&e, &frame, Some(&from)) {
                return;
            }
            let status = e.data().as_string().as_deref().and_then(SessionStatus::parse);
            if let (Some(status), Some(me)) = (status, weak.upgrade()) {
                me.on_session_status(status);
            }
        });
        self.st.borrow_mut().login_iframe = Some(LoginIframe { element: element.clone(), origin, ready: false, _listener: listener });
        iframe::append(&element)?;
        if !iframe::loaded(&load, timeout).await {
            iframe::remove(&element);
            self.st.borrow_mut().login_iframe = None;
            return Err(err(CoreError::SessionIframeLoadTimeout));
        }
        if let Some(f) = self.st.borrow_mut().login_iframe.as_mut() {
            f.ready = true;
        }
        Ok(())
    }

    /// An answer from the session iframe: settles every pending check.
    fn on_session_status(self: &Rc<Self>, status: SessionStatus) {
        if status.clears_tokens() {
            let _ = self.clear_token();
        }
        let waiters = self.st.borrow_mut().session_checks.drain();
        for (resolve, reject) in waiters {
            let _ = match status {
                SessionStatus::Error => reject.call1(&JsValue::UNDEFINED, &err(CoreError::SessionIframeError)),
                s => resolve.call1(&JsValue::UNDEFINED, &JsValue::from_bool(s == SessionStatus::Unchanged)),
            };
        }
    }

    /// `#checkLoginIframe()`: `Ok(None)` when there is no ready iframe; concurrent checks
    /// share one message. Bounded by `messageReceiveTimeout` (keycloak-js waits forever).
    async fn check_login_iframe(self: &Rc<Self>) -> Result<Option<bool>, JsValue> {
        let (target, message, timeout) = {
            let st = self.st.borrow();
            let target = st.login_iframe.as_ref().filter(|f| f.ready).and_then(|f| Some((f.element.content_window()?, f.origin.clone())));
            (target, session_message(&st.client_id, st.session.session_id.as_deref()), st.settings.message_receive_timeout)
        };
        let Some((window, origin)) = target else { return Ok(None) };
        let mut waiter = None;
        let p = Promise::new(&mut |resolve, reject| waiter = Some((resolve, reject)));
        let Some(waiter) = waiter else { return Ok(None) };
        if self.st.borrow_mut().session_checks.join(waiter) {
            window.post_message(&JsValue::from_str(&message), &origin)?;
        }
        match iframe::with_timeout(&p, timeout).await? {
            Some(v) => Ok(Some(v.as_bool() == Some(true))),
            None => {
                let waiters = self.st.borrow_mut().session_checks.drain();
                for (_, reject) in waiters {
                    let _ = reject.call1(&JsValue::UNDEFINED, &err(CoreError::SessionIframeReplyTimeout));
                }
                Err(err(CoreError::SessionIframeReplyTimeout))
            }
        }
    }

    /// `#scheduleCheckIframe()`: every `checkLoginIframeInterval` seconds while the
    /// iframe is enabled, a token exists and the answer stays `unchanged`.
    fn schedule_check_iframe(self: &Rc<Self>) {
        let me = self.clone();
        spawn_local(async move {
            loop {
                let (go, interval) = {
                    let st = me.st.borrow();
                    (st.settings.check_login_iframe && st.login_iframe.is_some() && st.session.authenticated(), st.settings.check_login_iframe_interval)
                };
                if !go {
                    break;
                }
                iframe::sleep(interval * 1000.0).await;
                if me.check_login_iframe().await != Ok(Some(true)) {
                    break;
                }
            }
        });
    }

    /// `#checkSsoSilently()`, bounded: a missing or silent page rejects after the
    /// timeout, and the answer must carry a callback whose state we issued.
    async fn check_sso_silently(self: &Rc<Self>) -> Result<(), JsValue> {
        let (redirect, timeout, flow, mode) = {
            let s = &self.st.borrow().settings;
            (s.silent_check_sso_redirect_uri.clone().unwrap_or_default(), s.silent_timeout_ms(), s.flow, s.response_mode)
        };
        let options = js::object();
        js::set(&options, "prompt", &JsValue::from_str("none"));
        js::set(&options, "redirectUri", &JsValue::from_str(&redirect));
        let src = self.create_login_url(&options)?;
        let frame = iframe::hidden_iframe(&src, TITLE_SILENT)?;
        let page_origin = web::window().location().origin()?;
        let data = iframe::next_message(&frame, Some(page_origin), timeout, |d| d.is_string()).await;
        iframe::remove(&frame);
        let href = data.and_then(|d| d.as_string()).ok_or_else(|| err(CoreError::SilentCheckSsoTimeout))?;
        let cb = parse_callback_url(&href, flow, mode).ok_or_else(|| err(CoreError::SilentCheckSsoInvalid))?;
        let stored = {
            let st = self.st.borrow();
            st.store.as_ref().and_then(|s| s.take(cb.params.get("state").unwrap_or("")))
        };
        let stored = stored.ok_or_else(|| err(CoreError::SilentCheckSsoInvalid))?;
        self.process_callback(cb, stored).await?;
        if flow != Flow::Implicit {
            self.schedule_check_iframe();
        }
        Ok(())
    }

    async fn load_json_with_token(&self, url: Result<String, JsValue>, property: &str) -> Result<JsValue, JsValue> {
        let url = url?;
        let token = self.st.borrow().session.access.as_ref().map(|t| t.raw.clone()).ok_or_else(|| err(CoreError::NoTokenForHeader))?;
        let v = http::fetch_json(Request { url: &url, form: None, credentials: false, bearer: Some(&token), timeout_ms: self.request_timeout() }, &self.network_error).await?;
        self.set_prop(property, &v);
        Ok(v)
    }
}

/// The public `endpoints` object: zero-argument functions returning each URL, throwing
/// keycloak-js's error where a generic provider lacks one. `thirdPartyCookiesIframe`
/// exists in Keycloak mode only, as in keycloak-js.
fn endpoints_object(e: &Endpoints) -> JsValue {
    let obj = js::object();
    let add = |name: &str, value: Result<String, CoreError>| {
        let f = Closure::<dyn Fn() -> Result<JsValue, JsValue>>::new(move || value.clone().map(JsValue::from).map_err(|e| err(e)));
        js::set(&obj, name, &f.into_js_value());
    };
    add("authorize", Ok(e.authorize()));
    add("token", Ok(e.token()));
    add("logout", e.logout());
    add("checkSessionIframe", e.check_session_iframe());
    if let Some(url) = e.third_party_cookies_iframe() {
        add("thirdPartyCookiesIframe", Ok(url));
    }
    add("register", e.register());
    add("userinfo", e.userinfo());
    obj.into()
}

#[wasm_bindgen]
extern "C" {
    /// The facade's role properties and an access entry's `roles`, read through direct
    /// getters: role checks are hot (render loops), and a getter builds no property-name
    /// string in the wasm.
    type RoleSource;
    #[wasm_bindgen(method, getter, js_name = realmAccess)]
    fn realm_access(this: &RoleSource) -> JsValue;
    #[wasm_bindgen(method, getter, js_name = resourceAccess)]
    fn resource_access(this: &RoleSource) -> JsValue;
    #[wasm_bindgen(method, getter, js_name = clientId)]
    fn client_id(this: &RoleSource) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn roles(this: &RoleSource) -> JsValue;
}

/// `!!access && access.roles.indexOf(role) >= 0` (a non-array `roles` answers false).
fn has_role(access: &JsValue, role: &JsValue) -> bool {
    if !access.is_object() {
        return false;
    }
    let roles = access.unchecked_ref::<RoleSource>().roles();
    roles.dyn_ref::<js_sys::Array>().is_some_and(|a| a.index_of(role, 0) >= 0)
}

/// `{ ...options, action: 'register' }` without mutating `options`.
fn register_options(options: &JsValue) -> JsValue {
    let copy = Object::new();
    if options.is_object() {
        Object::assign(&copy, options.unchecked_ref());
    }
    js::set(&copy, "action", &JsValue::from_str("register"));
    copy.into()
}

/// Calls a method of a custom adapter and awaits its (promise) result.
async fn call_adapter(adapter: &JsValue, name: &str, arg: &JsValue) -> Result<JsValue, JsValue> {
    let f = js::get(adapter, name);
    let f = f.dyn_ref::<Function>().ok_or_else(|| JsValue::from(js_sys::TypeError::new("adapter method missing")))?;
    let v = f.call1(adapter, arg)?;
    JsFuture::from(Promise::resolve(&v)).await
}

fn promise<F>(f: F) -> Promise
where
    F: std::future::Future<Output = Result<JsValue, JsValue>> + 'static,
{
    future_to_promise(f)
}

#[wasm_bindgen]
impl KeycloakCore {
    /// `facade` is the `Keycloak` instance; `config` the constructor argument (already
    /// shape-checked by the facade); `network_error` the exported `NetworkError` class.
    #[wasm_bindgen(constructor)]
    pub fn new(facade: Object, config: JsValue, network_error: Function) -> KeycloakCore {
        let st = State {
            settings: Settings::default(),
            initialized: false,
            client_id: String::new(),
            endpoints: None,
            session: Session::default(),
            store: None,
            adapter: AdapterKind::Default,
            custom_adapter: None,
            refresh_queue: Waiters::default(),
            token_timeout: None,
            login_iframe: None,
            session_checks: Waiters::default(),
        };
        KeycloakCore { inner: Rc::new(Inner { facade, config, network_error, st: RefCell::new(st) }) }
    }

    pub fn init(&self, options: JsValue) -> Promise {
        let me = self.inner.clone();
        let options = if options.is_undefined() { js::object().into() } else { options };
        promise(async move { me.init(options).await })
    }

    pub fn login(&self, options: JsValue) -> Promise {
        self.inner.adopt_properties();
        let me = self.inner.clone();
        promise(async move { me.login(options).await })
    }

    #[wasm_bindgen(js_name = createLoginUrl)]
    pub fn create_login_url(&self, options: JsValue) -> Promise {
        self.inner.adopt_properties();
        let r = self.inner.create_login_url(&options).map(JsValue::from);
        promise(async move { r })
    }

    pub fn logout(&self, options: JsValue) -> Promise {
        self.inner.adopt_properties();
        let me = self.inner.clone();
        promise(async move { me.logout(options).await })
    }

    #[wasm_bindgen(js_name = createLogoutUrl)]
    pub fn create_logout_url(&self, options: JsValue) -> Result<String, JsValue> {
        self.inner.adopt_properties();
        self.inner.create_logout_url(&options)
    }

    pub fn register(&self, options: JsValue) -> Promise {
        self.inner.adopt_properties();
        let me = self.inner.clone();
        promise(async move { me.login_or_register(options, true).await })
    }

    /// Ours: hands a callback URL (from a system browser, a deep link, a custom
    /// adapter's window) to this instance, which checks its state and exchanges the code.
    #[wasm_bindgen(js_name = handleCallback)]
    pub fn handle_callback(&self, url: JsValue) -> Promise {
        self.inner.adopt_properties();
        let me = self.inner.clone();
        promise(async move { me.handle_callback(&js::text(&url), false).await })
    }

    #[wasm_bindgen(js_name = createRegisterUrl)]
    pub fn create_register_url(&self, options: JsValue) -> Promise {
        self.inner.adopt_properties();
        let r = self.inner.create_login_url(&register_options(&options)).map(JsValue::from);
        promise(async move { r })
    }

    #[wasm_bindgen(js_name = createAccountUrl)]
    pub fn create_account_url(&self, options: JsValue) -> Result<String, JsValue> {
        self.inner.adopt_properties();
        self.inner.create_account_url(&options)
    }

    #[wasm_bindgen(js_name = accountManagement)]
    pub fn account_management(&self) -> Promise {
        self.inner.adopt_properties();
        let me = self.inner.clone();
        promise(async move { me.account_management().await })
    }

    #[wasm_bindgen(js_name = hasRealmRole)]
    pub fn has_realm_role(&self, role: JsValue) -> bool {
        // As keycloak-js: `realmAccess.roles.indexOf(role)` on the public properties. The
        // role string never crosses into the wasm, and an app's changes to them count.
        let access = self.inner.facade.unchecked_ref::<RoleSource>().realm_access();
        has_role(&access, &role)
    }

    #[wasm_bindgen(js_name = hasResourceRole)]
    pub fn has_resource_role(&self, role: JsValue, resource: JsValue) -> bool {
        // `resourceAccess[resource || clientId].roles.indexOf(role)`, as keycloak-js.
        let f = self.inner.facade.unchecked_ref::<RoleSource>();
        let all = f.resource_access();
        if !all.is_object() {
            return false;
        }
        let key = if resource.is_truthy() { resource } else { f.client_id() };
        has_role(&js_sys::Reflect::get(&all, &key).unwrap_or(JsValue::UNDEFINED), &role)
    }

    #[wasm_bindgen(js_name = isTokenExpired)]
    pub fn is_token_expired(&self, min_validity: JsValue) -> Result<bool, JsValue> {
        self.inner.adopt_properties();
        let r = {
            let st = self.inner.st.borrow();
            st.session.is_token_expired(js::truthy_number(&min_validity), web::now_ms(), st.settings.flow)
        };
        match r.map_err(err)? {
            Some(expired) => Ok(expired),
            None => {
                self.inner.info("[KEYCLOAK] Unable to determine if token is expired as timeskew is not set");
                Ok(true)
            }
        }
    }

    #[wasm_bindgen(js_name = updateToken)]
    pub fn update_token(&self, min_validity: JsValue) -> Promise {
        self.inner.adopt_properties();
        let me = self.inner.clone();
        promise(async move { me.update_token(min_validity).await })
    }

    #[wasm_bindgen(js_name = clearToken)]
    pub fn clear_token(&self) -> Result<(), JsValue> {
        self.inner.clear_token()
    }

    #[wasm_bindgen(js_name = loadUserProfile)]
    pub fn load_user_profile(&self) -> Promise {
        let me = self.inner.clone();
        promise(async move {
            let url = me.endpoints().and_then(|e| e.account().ok_or_else(|| err(CoreError::UserProfileInOidcMode)));
            me.load_json_with_token(url, "profile").await
        })
    }

    #[wasm_bindgen(js_name = loadUserInfo)]
    pub fn load_user_info(&self) -> Promise {
        let me = self.inner.clone();
        promise(async move {
            let url = me.endpoints().and_then(|e| e.userinfo().map_err(err));
            me.load_json_with_token(url, "userInfo").await
        })
    }
}
