//! `init()` options: keycloak-js's defaults, its JavaScript-typed checks (truthy,
//! `typeof`), and its exact validation errors (reference §1.4), read straight from the
//! options object (JSON) the app passed.

use alloc::string::String;
use crate::core::callback::{Flow, ResponseMode};
use crate::core::error::CoreError;
use crate::core::json::Val;

/// A truthy string (`options.x` used as `if (options.x)` for a string option).
pub fn truthy_str(v: Option<Val<'_>>) -> Option<String> {
    match v {
        Some(Val::Str(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

fn number(v: &Option<Val<'_>>) -> Option<f64> {
    v.as_ref().and_then(|v| v.num())
}

fn positive(v: &Option<Val<'_>>) -> Option<f64> {
    number(v).filter(|n| *n > 0.0)
}

fn truthy(v: &Option<Val<'_>>) -> bool {
    v.as_ref().is_some_and(|v| v.truthy())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnLoad {
    None,
    LoginRequired,
    CheckSso,
    /// Any other truthy value: keycloak-js throws only when it reaches the `onLoad` step.
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutMethod {
    Get,
    Post,
}

impl LogoutMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            LogoutMethod::Get => "GET",
            LogoutMethod::Post => "POST",
        }
    }
}

/// The adapter's settings after `init()` options are applied; defaults per reference §1.7.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub use_nonce: bool,
    pub check_login_iframe: bool,
    pub check_login_iframe_interval: f64,
    pub on_load: OnLoad,
    pub login_required: bool,
    pub response_mode: ResponseMode,
    pub flow: Flow,
    /// `responseType` (the property users may overwrite).
    pub response_type: String,
    /// `None` is keycloak-js's `null`.
    pub time_skew: Option<f64>,
    pub redirect_uri: Option<String>,
    pub silent_check_sso_redirect_uri: Option<String>,
    pub silent_check_sso_fallback: bool,
    /// `Some("S256")` or `None` for `false`.
    pub pkce_method: Option<String>,
    pub enable_logging: bool,
    pub logout_method: LogoutMethod,
    pub scope: Option<String>,
    pub message_receive_timeout: f64,
    /// `None`: use `message_receive_timeout`.
    pub silent_check_sso_timeout: Option<f64>,
    /// Milliseconds any request may take.
    pub request_timeout: f64,
    /// Ours: check every token's signature and claims against the realm's keys
    /// (`verifyTokens`).
    pub verify_tokens: bool,
    /// Ours: refresh this many seconds before the access token expires (`autoRefresh`:
    /// `true` is 30, `{ minValidity }` sets it); `None` when off.
    pub auto_refresh: Option<f64>,
    /// Ours: the tabs of the origin refresh once and share tokens and logouts (`syncTabs`).
    pub sync_tabs: bool,
    /// `sessionHint: false` (ours): no session hint is kept or read.
    pub no_hint: bool,
    /// Ours: keep the tokens, encrypted, for the next page load (`persistSession`): 0 off,
    /// 1 `'session'` (sessionStorage: this tab, reloads), 2 `'local'` (localStorage).
    pub persist: u8,
    /// Ours: DPoP-bound tokens (`dpop`).
    pub dpop: bool,
    /// `String(value)` of a rejected `pkceMethod` (for the error message).
    pub invalid_pkce: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            use_nonce: true,
            check_login_iframe: true,
            check_login_iframe_interval: 5.0,
            on_load: OnLoad::None,
            login_required: false,
            response_mode: ResponseMode::Fragment,
            flow: Flow::Standard,
            response_type: String::from("code"),
            time_skew: None,
            redirect_uri: None,
            silent_check_sso_redirect_uri: None,
            silent_check_sso_fallback: true,
            pkce_method: Some(String::from("S256")),
            enable_logging: false,
            logout_method: LogoutMethod::Get,
            scope: None,
            message_receive_timeout: 10000.0,
            silent_check_sso_timeout: None,
            request_timeout: 30000.0,
            verify_tokens: false,
            auto_refresh: None,
            sync_tabs: false,
            no_hint: false,
            persist: 0,
            dpop: false,
            invalid_pkce: String::new(),
        }
    }
}

/// Whether this build has the options keycloak-js lacks (`verifyTokens`, `autoRefresh`,
/// `syncTabs`, `persistSession`, `dpop`), UMA and keycloak-js's Cordova adapters: the cargo
/// feature `extras`. The package ships two modules: one without them (most apps load only
/// that one) and one with them, which the facade loads instead when the first refuses
/// (`CoreError::NoExtras`, with the `extras` effect). Without the feature the readers
/// below are constant, and the machine's arms for those paths carry `if EXTRAS`, so the
/// compiler drops them.
pub const EXTRAS: bool = cfg!(feature = "extras");

impl Settings {
    pub fn verify_tokens(&self) -> bool {
        EXTRAS && self.verify_tokens
    }

    pub fn auto_refresh(&self) -> Option<f64> {
        self.auto_refresh.filter(|_| EXTRAS)
    }

    pub fn sync_tabs(&self) -> bool {
        EXTRAS && self.sync_tabs
    }

    pub fn persist(&self) -> u8 {
        if EXTRAS { self.persist } else { 0 }
    }

    pub fn dpop(&self) -> bool {
        EXTRAS && self.dpop
    }

    /// Whether the options ask for what only the module with `extras` has.
    pub fn wants_extras(&self) -> bool {
        self.verify_tokens || self.auto_refresh.is_some() || self.sync_tabs || self.persist > 0 || self.dpop
    }

    /// Takes over the values an app assigned to the public properties `p` (the facade's
    /// own fields), read as keycloak-js reads them (`this.redirectUri || …`,
    /// `logoutMethod === 'POST'` …); a value keycloak-js could not use changes nothing.
    pub fn adopt(&mut self, p: &Val<'_>) {
        self.redirect_uri = truthy_str(p.get("redirectUri"));
        self.scope = truthy_str(p.get("scope"));
        self.enable_logging = truthy(&p.get("enableLogging"));
        self.logout_method = if p.get("logoutMethod").as_ref().and_then(|v| v.str()) == Some("POST") { LogoutMethod::Post } else { LogoutMethod::Get };
        if let Some(n) = number(&p.get("messageReceiveTimeout")) {
            self.message_receive_timeout = n;
        }
        self.silent_check_sso_redirect_uri = truthy_str(p.get("silentCheckSsoRedirectUri"));
        self.silent_check_sso_fallback = truthy(&p.get("silentCheckSsoFallback"));
        match p.get("responseMode").as_ref().and_then(|v| v.str()) {
            Some("query") => self.response_mode = ResponseMode::Query,
            Some("fragment") => self.response_mode = ResponseMode::Fragment,
            _ => {}
        }
        if let Some(t) = truthy_str(p.get("responseType")) {
            self.response_type = t;
        }
        self.pkce_method = truthy_str(p.get("pkceMethod"));
        self.login_required = truthy(&p.get("loginRequired"));
        self.time_skew = number(&p.get("timeSkew"));
    }

    /// Applies `init()` options in keycloak-js's order; the first invalid one errors.
    pub fn apply(&mut self, o: &Val<'_>) -> Result<(), CoreError> {
        let g = |k: &str| o.get(k);
        if let Some(v) = g("useNonce") {
            self.use_nonce = v.truthy();
        }
        if let Some(v) = g("checkLoginIframe") {
            self.check_login_iframe = v.truthy();
        }
        if let Some(n) = number(&g("checkLoginIframeInterval")).filter(|n| *n != 0.0 && !n.is_nan()) {
            self.check_login_iframe_interval = n;
        }
        let on_load = g("onLoad");
        self.on_load = match on_load.as_ref() {
            Some(v) if !v.truthy() => OnLoad::None,
            None => OnLoad::None,
            Some(v) => match v.str() {
                Some("login-required") => {
                    self.login_required = true;
                    OnLoad::LoginRequired
                }
                Some("check-sso") => OnLoad::CheckSso,
                _ => OnLoad::Invalid,
            },
        };
        let mode = g("responseMode");
        if truthy(&mode) {
            self.response_mode = match mode.as_ref().and_then(|v| v.str()) {
                Some("query") => ResponseMode::Query,
                Some("fragment") => ResponseMode::Fragment,
                _ => return Err(CoreError::InvalidResponseMode),
            };
        }
        let flow = g("flow");
        if truthy(&flow) {
            self.flow = match flow.as_ref().and_then(|v| v.str()) {
                Some("standard") => Flow::Standard,
                Some("implicit") => Flow::Implicit,
                Some("hybrid") => Flow::Hybrid,
                _ => return Err(CoreError::InvalidFlow),
            };
            self.response_type = String::from(self.flow.response_type());
        }
        if let Some(n) = number(&g("timeSkew")) {
            self.time_skew = Some(n);
        }
        if let Some(s) = truthy_str(g("redirectUri")) {
            self.redirect_uri = Some(s);
        }
        if let Some(s) = truthy_str(g("silentCheckSsoRedirectUri")) {
            self.silent_check_sso_redirect_uri = Some(s);
        }
        if let Some(Val::Bool(b)) = g("silentCheckSsoFallback") {
            self.silent_check_sso_fallback = b;
        }
        match g("pkceMethod") {
            None => {}
            Some(Val::Str(s)) if s == "S256" => self.pkce_method = Some(s),
            Some(Val::Bool(false)) => self.pkce_method = None,
            Some(other) => {
                self.invalid_pkce = other.js_string();
                return Err(CoreError::InvalidPkceMethod);
            }
        }
        if let Some(Val::Bool(b)) = g("enableLogging") {
            self.enable_logging = b;
        }
        if g("logoutMethod").as_ref().and_then(|v| v.str()) == Some("POST") {
            self.logout_method = LogoutMethod::Post;
        }
        if let Some(Val::Str(s)) = g("scope") {
            self.scope = Some(s);
        }
        if let Some(n) = positive(&g("messageReceiveTimeout")) {
            self.message_receive_timeout = n;
        }
        if let Some(n) = positive(&g("silentCheckSsoTimeout")) {
            self.silent_check_sso_timeout = Some(n);
        }
        if let Some(n) = positive(&g("requestTimeout")) {
            self.request_timeout = n;
        }
        self.verify_tokens = g("verifyTokens").is_some_and(|v| v.truthy());
        self.auto_refresh = match g("autoRefresh") {
            Some(Val::Bool(true)) => Some(30.0),
            Some(o @ Val::Obj(_)) => Some(o.get("minValidity").and_then(|m| m.num()).filter(|m| *m >= 0.0).unwrap_or(30.0)),
            _ => None,
        };
        self.sync_tabs = g("syncTabs").is_some_and(|v| v.truthy());
        self.no_hint = matches!(g("sessionHint"), Some(Val::Bool(false)));
        self.persist = match g("persistSession") {
            Some(Val::Str(s)) if s == "local" => 2,
            Some(Val::Str(s)) if s == "session" => 1,
            Some(Val::Bool(true)) => 1,
            _ => 0,
        };
        self.dpop = g("dpop").is_some_and(|v| v.truthy());
        if !EXTRAS && self.wants_extras() {
            return Err(CoreError::NoExtras);
        }
        Ok(())
    }

    /// Milliseconds the silent check-sso iframe may take.
    pub fn silent_timeout_ms(&self) -> f64 {
        self.silent_check_sso_timeout.unwrap_or(self.message_receive_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::json::parse;

    fn apply(options: &str) -> Result<Settings, CoreError> {
        let mut s = Settings::default();
        s.apply(&parse(options).unwrap()).map(|_| s)
    }

    #[test]
    fn defaults() {
        let s = apply("{}").unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.response_type, "code");
        assert_eq!(s.pkce_method.as_deref(), Some("S256"));
        assert_eq!(s.check_login_iframe_interval, 5.0);
        assert_eq!(s.message_receive_timeout, 10000.0);
    }

    #[test]
    fn validation_errors() {
        assert_eq!(apply(r#"{"responseMode":"form_post"}"#), Err(CoreError::InvalidResponseMode));
        assert_eq!(apply(r#"{"flow":"magic"}"#), Err(CoreError::InvalidFlow));
        let mut s = Settings::default();
        assert_eq!(s.apply(&parse(r#"{"pkceMethod":"plain"}"#).unwrap()), Err(CoreError::InvalidPkceMethod));
        assert_eq!(s.invalid_pkce, "plain");
        assert_eq!(s.apply(&parse(r#"{"pkceMethod":true}"#).unwrap()), Err(CoreError::InvalidPkceMethod));
        assert_eq!(s.invalid_pkce, "true");
        assert_eq!(s.apply(&parse(r#"{"pkceMethod":1.50}"#).unwrap()), Err(CoreError::InvalidPkceMethod));
        assert_eq!(s.invalid_pkce, "1.50", "numbers as JSON.stringify wrote them, which is String(n)");
        // falsy values are ignored, not rejected
        assert!(apply(r#"{"responseMode":""}"#).is_ok());
        assert!(apply(r#"{"flow":0}"#).is_ok());
    }

    #[test]
    fn on_load_is_validated_late() {
        let s = apply(r#"{"onLoad":"login-required"}"#).unwrap();
        assert_eq!(s.on_load, OnLoad::LoginRequired);
        assert!(s.login_required);
        let s = apply(r#"{"onLoad":"sometimes"}"#).unwrap();
        assert_eq!(s.on_load, OnLoad::Invalid);
        assert!(!s.login_required);
    }

    #[test]
    fn typed_options() {
        let s = apply(r#"{"flow":"implicit","timeSkew":-3,"pkceMethod":false,"logoutMethod":"post","scope":"email","messageReceiveTimeout":0,"checkLoginIframeInterval":0,"useNonce":false,"silentCheckSsoFallback":"false"}"#).unwrap();
        assert_eq!(s.response_type, "id_token token");
        assert_eq!(s.time_skew, Some(-3.0));
        assert_eq!(s.pkce_method, None);
        assert_eq!(s.logout_method, LogoutMethod::Get, "only the exact 'POST' counts");
        assert_eq!(s.scope.as_deref(), Some("email"));
        assert_eq!(s.message_receive_timeout, 10000.0);
        assert_eq!(s.check_login_iframe_interval, 5.0);
        assert!(!s.use_nonce);
        assert!(s.silent_check_sso_fallback);
        assert_eq!(s.silent_timeout_ms(), 10000.0);
        assert_eq!(apply(r#"{"messageReceiveTimeout":2000}"#).unwrap().silent_timeout_ms(), 2000.0, "defaults to messageReceiveTimeout");
        assert_eq!(apply(r#"{"silentCheckSsoTimeout":500}"#).unwrap().silent_timeout_ms(), 500.0);
        assert_eq!(apply("{}").unwrap().request_timeout, 30000.0);
        assert_eq!(apply(r#"{"requestTimeout":1500}"#).unwrap().request_timeout, 1500.0);
        assert_eq!(apply(r#"{"requestTimeout":-1}"#).unwrap().request_timeout, 30000.0);
    }

    #[test]
    fn assigned_properties_are_read_back_as_keycloak_js_reads_them() {
        let mut s = Settings::default();
        s.adopt(&parse(r#"{"redirectUri":"https://app/after","scope":"","enableLogging":1,"logoutMethod":"post","messageReceiveTimeout":"5","silentCheckSsoFallback":false,"responseMode":"query","responseType":"code","pkceMethod":false,"loginRequired":true,"timeSkew":null}"#).unwrap());
        assert_eq!(s.redirect_uri.as_deref(), Some("https://app/after"));
        assert_eq!(s.scope, None);
        assert!(s.enable_logging && s.login_required && !s.silent_check_sso_fallback);
        assert_eq!(s.logout_method, LogoutMethod::Get, "only 'POST' posts");
        assert_eq!(s.message_receive_timeout, 10000.0, "a non-number keeps the setting");
        assert_eq!(s.response_mode, ResponseMode::Query);
        assert_eq!(s.pkce_method, None);
        assert_eq!(s.time_skew, None);
    }
}
