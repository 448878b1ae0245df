//! `init()` options: keycloak-js's defaults, its JavaScript-typed checks (truthy,
//! `typeof`), and its exact validation errors (reference §1.4). The browser reads each
//! option into an [`Opt`]; this module decides.

use alloc::string::String;

use crate::core::callback::{Flow, ResponseMode};
use crate::core::error::CoreError;

/// One option value as JavaScript sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Opt {
    Undefined,
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    /// Any other value (object, function...), with `String(value)`.
    Other(String),
}

impl Opt {
    pub fn truthy(&self) -> bool {
        match self {
            Opt::Undefined | Opt::Null => false,
            Opt::Bool(b) => *b,
            Opt::Number(n) => *n != 0.0 && !n.is_nan(),
            Opt::Str(s) => !s.is_empty(),
            Opt::Other(_) => true,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Opt::Str(s) => Some(s),
            _ => None,
        }
    }

    fn truthy_str(&self) -> Option<String> {
        self.as_str().filter(|s| !s.is_empty()).map(String::from)
    }

    /// `String(value)` for error messages.
    pub fn display(&self) -> String {
        match self {
            Opt::Undefined => "undefined".into(),
            Opt::Null => "null".into(),
            Opt::Bool(true) => "true".into(),
            Opt::Bool(false) => "false".into(),
            // Never shown: options whose value appears in a message (`pkceMethod`) are
            // read by the browser as `Other(String(value))` when they are numbers.
            Opt::Number(_) => String::new(),
            Opt::Str(s) | Opt::Other(s) => s.clone(),
        }
    }
}

/// The raw `init()` options, one field per option keycloak-js reads.
#[derive(Debug, Clone, PartialEq)]
pub struct RawInitOptions {
    pub use_nonce: Opt,
    pub check_login_iframe: Opt,
    pub check_login_iframe_interval: Opt,
    pub on_load: Opt,
    pub response_mode: Opt,
    pub flow: Opt,
    pub time_skew: Opt,
    pub redirect_uri: Opt,
    pub silent_check_sso_redirect_uri: Opt,
    pub silent_check_sso_fallback: Opt,
    pub pkce_method: Opt,
    pub enable_logging: Opt,
    pub logout_method: Opt,
    pub scope: Opt,
    pub message_receive_timeout: Opt,
    /// Ours: bound on the silent check-sso iframe (keycloak-js waits forever).
    pub silent_check_sso_timeout: Opt,
    /// Ours: bound on every HTTP request (keycloak-js waits forever).
    pub request_timeout: Opt,
}

impl Default for RawInitOptions {
    fn default() -> Self {
        let u = Opt::Undefined;
        RawInitOptions {
            use_nonce: u.clone(),
            check_login_iframe: u.clone(),
            check_login_iframe_interval: u.clone(),
            on_load: u.clone(),
            response_mode: u.clone(),
            flow: u.clone(),
            time_skew: u.clone(),
            redirect_uri: u.clone(),
            silent_check_sso_redirect_uri: u.clone(),
            silent_check_sso_fallback: u.clone(),
            pkce_method: u.clone(),
            enable_logging: u.clone(),
            logout_method: u.clone(),
            scope: u.clone(),
            message_receive_timeout: u.clone(),
            silent_check_sso_timeout: u.clone(),
            request_timeout: u,
        }
    }
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
        }
    }
}

/// The public properties keycloak-js reads back at the moment of use, as an app may have
/// assigned them after `init` (e.g. `keycloak.redirectUri = …` before `login()`).
#[derive(Debug, Clone, PartialEq)]
pub struct AssignedProperties {
    pub redirect_uri: Opt,
    pub scope: Opt,
    pub enable_logging: Opt,
    pub logout_method: Opt,
    pub message_receive_timeout: Opt,
    pub silent_check_sso_redirect_uri: Opt,
    pub silent_check_sso_fallback: Opt,
    pub response_mode: Opt,
    pub response_type: Opt,
    pub pkce_method: Opt,
    pub login_required: Opt,
}

impl Settings {
    /// Takes over the values an app assigned to the public properties, read as
    /// keycloak-js reads them (`this.redirectUri || …`, `logoutMethod === 'POST'` …);
    /// a value keycloak-js could not use leaves the setting as it was.
    pub fn adopt(&mut self, p: &AssignedProperties) {
        self.redirect_uri = p.redirect_uri.truthy_str();
        self.scope = p.scope.truthy_str();
        self.enable_logging = p.enable_logging.truthy();
        self.logout_method = if p.logout_method.as_str() == Some("POST") { LogoutMethod::Post } else { LogoutMethod::Get };
        if let Opt::Number(n) = p.message_receive_timeout {
            self.message_receive_timeout = n;
        }
        self.silent_check_sso_redirect_uri = p.silent_check_sso_redirect_uri.truthy_str();
        self.silent_check_sso_fallback = p.silent_check_sso_fallback.truthy();
        match p.response_mode.as_str() {
            Some("query") => self.response_mode = ResponseMode::Query,
            Some("fragment") => self.response_mode = ResponseMode::Fragment,
            _ => {}
        }
        if let Some(t) = p.response_type.truthy_str() {
            self.response_type = t;
        }
        self.pkce_method = p.pkce_method.truthy_str();
        self.login_required = p.login_required.truthy();
    }

    /// Applies `init()` options in keycloak-js's order; the first invalid one errors.
    pub fn apply(&mut self, o: &RawInitOptions) -> Result<(), CoreError> {
        if !matches!(o.use_nonce, Opt::Undefined) {
            self.use_nonce = o.use_nonce.truthy();
        }
        if !matches!(o.check_login_iframe, Opt::Undefined) {
            self.check_login_iframe = o.check_login_iframe.truthy();
        }
        if o.check_login_iframe_interval.truthy() {
            if let Opt::Number(n) = o.check_login_iframe_interval {
                self.check_login_iframe_interval = n;
            }
        }
        self.on_load = match (&o.on_load, o.on_load.truthy()) {
            (_, false) => OnLoad::None,
            (Opt::Str(s), true) if s == "login-required" => OnLoad::LoginRequired,
            (Opt::Str(s), true) if s == "check-sso" => OnLoad::CheckSso,
            _ => OnLoad::Invalid,
        };
        if self.on_load == OnLoad::LoginRequired {
            self.login_required = true;
        }
        if o.response_mode.truthy() {
            self.response_mode = match o.response_mode.as_str() {
                Some("query") => ResponseMode::Query,
                Some("fragment") => ResponseMode::Fragment,
                _ => return Err(CoreError::InvalidResponseMode),
            };
        }
        if o.flow.truthy() {
            self.flow = match o.flow.as_str() {
                Some("standard") => Flow::Standard,
                Some("implicit") => Flow::Implicit,
                Some("hybrid") => Flow::Hybrid,
                _ => return Err(CoreError::InvalidFlow),
            };
            self.response_type = String::from(self.flow.response_type());
        }
        if let Opt::Number(n) = o.time_skew {
            self.time_skew = Some(n);
        }
        if let Some(s) = o.redirect_uri.truthy_str() {
            self.redirect_uri = Some(s);
        }
        if let Some(s) = o.silent_check_sso_redirect_uri.truthy_str() {
            self.silent_check_sso_redirect_uri = Some(s);
        }
        if let Opt::Bool(b) = o.silent_check_sso_fallback {
            self.silent_check_sso_fallback = b;
        }
        match &o.pkce_method {
            Opt::Undefined => {}
            Opt::Str(s) if s == "S256" => self.pkce_method = Some(s.clone()),
            Opt::Bool(false) => self.pkce_method = None,
            other => return Err(CoreError::InvalidPkceMethod(other.display())),
        }
        if let Opt::Bool(b) = o.enable_logging {
            self.enable_logging = b;
        }
        if o.logout_method.as_str() == Some("POST") {
            self.logout_method = LogoutMethod::Post;
        }
        if let Opt::Str(s) = &o.scope {
            self.scope = Some(s.clone());
        }
        if let Opt::Number(n) = o.message_receive_timeout {
            if n > 0.0 {
                self.message_receive_timeout = n;
            }
        }
        if let Opt::Number(n) = o.silent_check_sso_timeout {
            if n > 0.0 {
                self.silent_check_sso_timeout = Some(n);
            }
        }
        if let Opt::Number(n) = o.request_timeout {
            if n > 0.0 {
                self.request_timeout = n;
            }
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

    fn apply(f: impl FnOnce(&mut RawInitOptions)) -> Result<Settings, CoreError> {
        let mut raw = RawInitOptions::default();
        f(&mut raw);
        let mut s = Settings::default();
        s.apply(&raw).map(|_| s)
    }

    #[test]
    fn defaults() {
        let s = apply(|_| {}).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.response_type, "code");
        assert_eq!(s.pkce_method.as_deref(), Some("S256"));
        assert_eq!(s.check_login_iframe_interval, 5.0);
        assert_eq!(s.message_receive_timeout, 10000.0);
    }

    #[test]
    fn validation_errors() {
        assert_eq!(apply(|o| o.response_mode = Opt::Str("form_post".into())), Err(CoreError::InvalidResponseMode));
        assert_eq!(apply(|o| o.flow = Opt::Str("magic".into())), Err(CoreError::InvalidFlow));
        assert_eq!(apply(|o| o.pkce_method = Opt::Str("plain".into())), Err(CoreError::InvalidPkceMethod("plain".into())));
        assert_eq!(apply(|o| o.pkce_method = Opt::Bool(true)), Err(CoreError::InvalidPkceMethod("true".into())));
        // falsy values are ignored, not rejected
        assert!(apply(|o| o.response_mode = Opt::Str(String::new())).is_ok());
        assert!(apply(|o| o.flow = Opt::Number(0.0)).is_ok());
    }

    #[test]
    fn on_load_is_validated_late() {
        let s = apply(|o| o.on_load = Opt::Str("login-required".into())).unwrap();
        assert_eq!(s.on_load, OnLoad::LoginRequired);
        assert!(s.login_required);
        let s = apply(|o| o.on_load = Opt::Str("sometimes".into())).unwrap();
        assert_eq!(s.on_load, OnLoad::Invalid);
        assert!(!s.login_required);
    }

    #[test]
    fn typed_options() {
        let s = apply(|o| {
            o.flow = Opt::Str("implicit".into());
            o.time_skew = Opt::Number(-3.0);
            o.pkce_method = Opt::Bool(false);
            o.logout_method = Opt::Str("post".into()); // only the exact 'POST' counts
            o.scope = Opt::Str("email".into());
            o.message_receive_timeout = Opt::Number(0.0);
            o.check_login_iframe_interval = Opt::Number(0.0);
            o.use_nonce = Opt::Bool(false);
            o.silent_check_sso_fallback = Opt::Str("false".into());
        })
        .unwrap();
        assert_eq!(s.response_type, "id_token token");
        assert_eq!(s.time_skew, Some(-3.0));
        assert_eq!(s.pkce_method, None);
        assert_eq!(s.logout_method, LogoutMethod::Get);
        assert_eq!(s.scope.as_deref(), Some("email"));
        assert_eq!(s.message_receive_timeout, 10000.0);
        assert_eq!(s.check_login_iframe_interval, 5.0);
        assert!(!s.use_nonce);
        assert_eq!(s.silent_timeout_ms(), 10000.0);
        let s = apply(|o| {
            o.message_receive_timeout = Opt::Number(2000.0);
        })
        .unwrap();
        assert_eq!(s.silent_timeout_ms(), 2000.0, "defaults to messageReceiveTimeout");
        let s = apply(|o| o.silent_check_sso_timeout = Opt::Number(500.0)).unwrap();
        assert_eq!(s.silent_timeout_ms(), 500.0);
        assert_eq!(s.request_timeout, 30000.0);
        assert_eq!(apply(|o| o.request_timeout = Opt::Number(1500.0)).unwrap().request_timeout, 1500.0);
        assert_eq!(apply(|o| o.request_timeout = Opt::Number(-1.0)).unwrap().request_timeout, 30000.0);
        assert!(s.silent_check_sso_fallback);
    }

    #[test]
    fn assigned_properties_are_read_back_as_keycloak_js_reads_them() {
        let mut s = Settings::default();
        let p = AssignedProperties {
            redirect_uri: Opt::Str("https://app/after".into()),
            scope: Opt::Str(String::new()),
            enable_logging: Opt::Number(1.0),
            logout_method: Opt::Str("post".into()),
            message_receive_timeout: Opt::Str("5".into()),
            silent_check_sso_redirect_uri: Opt::Undefined,
            silent_check_sso_fallback: Opt::Bool(false),
            response_mode: Opt::Str("query".into()),
            response_type: Opt::Str("code".into()),
            pkce_method: Opt::Bool(false),
            login_required: Opt::Bool(true),
        };
        s.adopt(&p);
        assert_eq!(s.redirect_uri.as_deref(), Some("https://app/after"));
        assert_eq!(s.scope, None);
        assert!(s.enable_logging && s.login_required && !s.silent_check_sso_fallback);
        assert_eq!(s.logout_method, LogoutMethod::Get, "only 'POST' posts");
        assert_eq!(s.message_receive_timeout, 10000.0, "a non-number keeps the setting");
        assert_eq!(s.response_mode, ResponseMode::Query);
        assert_eq!(s.pkce_method, None);
    }
}
