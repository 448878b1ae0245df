//! Adapter selection and the decisions of the Cordova adapters (reference §6): which
//! adapter `init({ adapter })` picks, the redirect URI each one uses, the InAppBrowser
//! option string, and what each InAppBrowser event means for a pending login or logout.
//! The browser layer opens windows and listens; everything it decides comes from here.

use alloc::string::String;
use alloc::vec::Vec;

use crate::core::error::CoreError;
use crate::core::encode::PushAscii;

/// The `redirectUri` the Cordova adapters fall back to.
pub const CORDOVA_REDIRECT: &str = "http://localhost";
/// The option string of the hidden InAppBrowser window that carries a logout.
pub const CORDOVA_LOGOUT_WINDOW: &str = "location=no,hidden=yes,clearcache=yes";
/// The option string of the account-console window.
pub const CORDOVA_ACCOUNT_WINDOW: &str = "location=no";
/// The `universalLinks` event name the native adapter subscribes to (it must match the
/// deeplinks plugin's `config.xml`).
pub const UNIVERSAL_LINKS_EVENT: &str = "keycloak";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterKind {
    Default,
    /// InAppBrowser (`cordova-plugin-inappbrowser`).
    Cordova,
    /// System browser (`cordova-plugin-browsertab`) and deep links (`cordova-plugin-deeplinks`).
    CordovaNative,
    /// An object implementing `KeycloakAdapter`.
    Custom,
}

/// What the `adapter` option held.
pub enum AdapterOption<'a> {
    Object,
    Text(&'a str),
    /// Undefined, null, or any other non-object value.
    Other,
}

impl AdapterKind {
    /// keycloak-js's selection: the two Cordova names, an object, `'default'`; anything
    /// else (including an unknown string) auto-detects Cordova from `window.cordova` /
    /// `window.Cordova`.
    pub fn select(option: AdapterOption<'_>, cordova_present: bool) -> AdapterKind {
        match option {
            AdapterOption::Object => AdapterKind::Custom,
            AdapterOption::Text("cordova") => AdapterKind::Cordova,
            AdapterOption::Text("cordova-native") => AdapterKind::CordovaNative,
            AdapterOption::Text("default") => AdapterKind::Default,
            _ if cordova_present => AdapterKind::Cordova,
            _ => AdapterKind::Default,
        }
    }

    /// Both Cordova adapters turn the session iframe off (before the `init` options
    /// apply, so an explicit `checkLoginIframe: true` still wins, as in keycloak-js).
    pub fn disables_session_iframe(self) -> bool {
        matches!(self, AdapterKind::Cordova | AdapterKind::CordovaNative)
    }

    /// The adapter's `redirectUri(options)` for the built-in adapters; `page_url` is
    /// `location.href`. The InAppBrowser adapter ignores `options.redirectUri`.
    pub fn redirect_uri(
        self,
        option: Option<&str>,
        configured: Option<&str>,
        page_url: &str,
    ) -> String {
        let fallback = match self {
            AdapterKind::Cordova | AdapterKind::CordovaNative => CORDOVA_REDIRECT,
            _ => page_url,
        };
        let option = if self == AdapterKind::Cordova {
            None
        } else {
            option
        };
        String::from(option.or(configured).unwrap_or(fallback))
    }
}

/// The InAppBrowser option string: the app's `cordovaOptions` in their order, then
/// `location=no` (forced), then `hidden=yes` for `prompt=none`; a key the app also set
/// keeps its position but takes the forced value.
pub fn cordova_window_options(app_options: &[(String, String)], prompt_none: bool) -> String {
    let mut pairs: Vec<(&str, &str)> = app_options
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut force =
        |key: &'static str, value: &'static str| match pairs.iter_mut().find(|(k, _)| *k == key) {
            Some(pair) => pair.1 = value,
            None => pairs.push((key, value)),
        };
    force("location", "no");
    if prompt_none {
        force("hidden", "yes");
    }
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_ascii(b',');
        }
        out.push_str(k);
        out.push_ascii(b'=');
        out.push_str(v);
    }
    out
}

/// An InAppBrowser event, reduced to what the adapter reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrowserEvent {
    LoadStart(String),
    LoadError(String),
    Exit,
    Other,
}

impl BrowserEvent {
    pub fn from_parts(kind: &str, url: Option<&str>) -> BrowserEvent {
        match (kind, url) {
            ("loadstart", Some(u)) => BrowserEvent::LoadStart(String::from(u)),
            ("loaderror", Some(u)) => BrowserEvent::LoadError(String::from(u)),
            ("exit", _) => BrowserEvent::Exit,
            _ => BrowserEvent::Other,
        }
    }
}

/// keycloak-js matches the redirect URI as a prefix (`url.indexOf(redirectUri) === 0`).
pub fn at_redirect(url: &str, redirect_uri: &str) -> bool {
    url.starts_with(redirect_uri)
}

/// What a pending InAppBrowser login (or registration) does with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginStep {
    Wait,
    /// Close the window, then process this callback URL.
    Callback(String),
    /// Close the window (when still open) and reject.
    Fail(CoreError),
}

/// keycloak-js handles `loadstart` and `loaderror` at the redirect URI alike; a load
/// error elsewhere fails the login, and closing the window rejects it. (Its registration
/// listens to `loadstart` only and so hangs when the user closes the window; ours uses
/// the login rules for both.)
pub fn login_step(event: &BrowserEvent, redirect_uri: &str) -> LoginStep {
    match event {
        BrowserEvent::LoadStart(url) | BrowserEvent::LoadError(url)
            if at_redirect(url, redirect_uri) =>
        {
            LoginStep::Callback(url.clone())
        }
        BrowserEvent::LoadError(_) => LoginStep::Fail(CoreError::CordovaLoginFailed),
        BrowserEvent::Exit => LoginStep::Fail(CoreError::CordovaWindowClosed),
        _ => LoginStep::Wait,
    }
}

/// What a pending InAppBrowser logout does with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutStep {
    Wait,
    /// Close the window; `failed` remembers a load error away from the redirect URI.
    Close {
        failed: bool,
    },
    /// The window is gone: succeed (clear the tokens) unless a load error was seen.
    Done,
}

pub fn logout_step(event: &BrowserEvent, redirect_uri: &str) -> LogoutStep {
    match event {
        BrowserEvent::LoadStart(url) if at_redirect(url, redirect_uri) => {
            LogoutStep::Close { failed: false }
        }
        BrowserEvent::LoadError(url) => LogoutStep::Close {
            failed: !at_redirect(url, redirect_uri),
        },
        BrowserEvent::Exit => LogoutStep::Done,
        _ => LogoutStep::Wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_follows_keycloak_js() {
        use AdapterOption::*;
        assert_eq!(AdapterKind::select(Object, true), AdapterKind::Custom);
        assert_eq!(
            AdapterKind::select(Text("cordova"), false),
            AdapterKind::Cordova
        );
        assert_eq!(
            AdapterKind::select(Text("cordova-native"), true),
            AdapterKind::CordovaNative
        );
        assert_eq!(
            AdapterKind::select(Text("default"), true),
            AdapterKind::Default
        );
        assert_eq!(
            AdapterKind::select(Text("capacitor"), true),
            AdapterKind::Cordova
        );
        assert_eq!(
            AdapterKind::select(Text("capacitor"), false),
            AdapterKind::Default
        );
        assert_eq!(AdapterKind::select(Other, true), AdapterKind::Cordova);
        assert_eq!(AdapterKind::select(Other, false), AdapterKind::Default);
        assert!(AdapterKind::Cordova.disables_session_iframe());
        assert!(AdapterKind::CordovaNative.disables_session_iframe());
        assert!(!AdapterKind::Custom.disables_session_iframe());
    }

    #[test]
    fn redirect_uris() {
        let page = "https://app.example/page#x";
        assert_eq!(
            AdapterKind::Default.redirect_uri(Some("a"), Some("b"), page),
            "a"
        );
        assert_eq!(
            AdapterKind::Default.redirect_uri(None, Some("b"), page),
            "b"
        );
        assert_eq!(AdapterKind::Default.redirect_uri(None, None, page), page);
        assert_eq!(
            AdapterKind::Cordova.redirect_uri(Some("a"), None, page),
            "http://localhost"
        );
        assert_eq!(
            AdapterKind::Cordova.redirect_uri(Some("a"), Some("b"), page),
            "b"
        );
        assert_eq!(
            AdapterKind::CordovaNative.redirect_uri(Some("a"), Some("b"), page),
            "a"
        );
        assert_eq!(
            AdapterKind::CordovaNative.redirect_uri(None, None, page),
            "http://localhost"
        );
    }

    #[test]
    fn window_options() {
        let app = vec![
            ("zoom".to_string(), "no".to_string()),
            ("location".to_string(), "yes".to_string()),
            ("hidden".to_string(), "no".to_string()),
        ];
        assert_eq!(
            cordova_window_options(&app, false),
            "zoom=no,location=no,hidden=no"
        );
        assert_eq!(
            cordova_window_options(&app, true),
            "zoom=no,location=no,hidden=yes"
        );
        assert_eq!(cordova_window_options(&[], false), "location=no");
        assert_eq!(cordova_window_options(&[], true), "location=no,hidden=yes");
    }

    #[test]
    fn login_events() {
        let r = "http://localhost";
        let ev = |k: &str, u: &str| BrowserEvent::from_parts(k, Some(u));
        assert_eq!(
            login_step(&ev("loadstart", "https://idp/auth"), r),
            LoginStep::Wait
        );
        assert_eq!(
            login_step(&ev("loadstart", "http://localhost/#state=1"), r),
            LoginStep::Callback("http://localhost/#state=1".into())
        );
        assert_eq!(
            login_step(&ev("loaderror", "http://localhost/?code=1"), r),
            LoginStep::Callback("http://localhost/?code=1".into())
        );
        assert_eq!(
            login_step(&ev("loaderror", "https://idp/auth"), r),
            LoginStep::Fail(CoreError::CordovaLoginFailed)
        );
        assert_eq!(
            login_step(&BrowserEvent::from_parts("exit", None), r),
            LoginStep::Fail(CoreError::CordovaWindowClosed)
        );
        assert_eq!(
            login_step(&BrowserEvent::from_parts("loadstop", Some("x")), r),
            LoginStep::Wait
        );
        assert_eq!(
            login_step(&BrowserEvent::from_parts("loadstart", None), r),
            LoginStep::Wait
        );
    }

    #[test]
    fn logout_events() {
        let r = "http://localhost";
        let ev = |k: &str, u: &str| BrowserEvent::from_parts(k, Some(u));
        assert_eq!(
            logout_step(&ev("loadstart", "https://idp/logout"), r),
            LogoutStep::Wait
        );
        assert_eq!(
            logout_step(&ev("loadstart", "http://localhost/"), r),
            LogoutStep::Close { failed: false }
        );
        assert_eq!(
            logout_step(&ev("loaderror", "http://localhost/"), r),
            LogoutStep::Close { failed: false }
        );
        assert_eq!(
            logout_step(&ev("loaderror", "https://idp/logout"), r),
            LogoutStep::Close { failed: true }
        );
        assert_eq!(logout_step(&BrowserEvent::Exit, r), LogoutStep::Done);
    }
}
