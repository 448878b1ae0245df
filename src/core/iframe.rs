//! The hidden-iframe protocols (reference §3-§5): the third-party-cookie probe, the
//! session status ("check login") iframe and silent check-sso. Message formats, what is
//! accepted, and what each answer changes. The browser layer owns the iframes, listeners
//! and timers.

use crate::core::encode::{find_byte, sub};
use alloc::string::String;

use crate::core::options::Settings;
use crate::core::encode::PushAscii;

/// The `sandbox` keycloak-js gives every iframe it creates.
pub const SANDBOX: &str = "allow-storage-access-by-user-activation allow-scripts allow-same-origin";
pub const TITLE_3P: &str = "keycloak-3p-check-iframe";
pub const TITLE_SESSION: &str = "keycloak-session-iframe";
pub const TITLE_SILENT: &str = "keycloak-silent-check-sso";

pub const THIRD_PARTY_COOKIES_WARNING: &str = "[KEYCLOAK] Your browser is blocking access to 3rd-party cookies, this means:\n\n - It is not possible to retrieve tokens without redirecting to the Keycloak server (a.k.a. no support for silent authentication).\n - It is not possible to automatically detect changes to the session status (such as the user logging out in another tab).\n\nFor more information see: https://www.keycloak.org/securing-apps/javascript-adapter#_modern_browsers";

/// `scheme://host[:port]` of an absolute URL; `None` for a relative one.
pub fn origin_of(url: &str) -> Option<&str> {
    // The first ':' must start "://" (a ':' before it would fail the scheme check anyway);
    // a byte search keeps the library's searchers out of the wasm.
    let scheme_end = find_byte(url, b':').filter(|&i| sub(url, i, url.len()).starts_with("://"))?;
    if scheme_end == 0 || !sub(url, 0, scheme_end).bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')) {
        return None;
    }
    let rest = sub(url, scheme_end + 3, url.len());
    let end = crate::core::encode::find_any(rest, b"/?#").map_or(url.len(), |i| scheme_end + 3 + i);
    Some(sub(url, 0, end))
}

/// The message the session iframe expects: `"<clientId> <sessionId>"`, exactly one space.
pub fn session_message(client_id: &str, session_id: Option<&str>) -> String {
    let mut m = String::from(client_id);
    m.push_ascii(b' ');
    m.push_str(session_id.unwrap_or(""));
    m
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    Unchanged,
    Changed,
    Error,
}

impl SessionStatus {
    /// Only the three exact strings are answers; anything else is ignored.
    pub fn parse(data: &str) -> Option<SessionStatus> {
        match data {
            "unchanged" => Some(SessionStatus::Unchanged),
            "changed" => Some(SessionStatus::Changed),
            "error" => Some(SessionStatus::Error),
            _ => None,
        }
    }

    /// Every answer but `unchanged` clears the tokens (keycloak-js quirk 2: `error` too).
    pub fn clears_tokens(self) -> bool {
        self != SessionStatus::Unchanged
    }
}

/// The probe's answer: `Some(true)` supported, `Some(false)` unsupported, `None` ignored.
pub fn parse_probe(data: &str) -> Option<bool> {
    match data {
        "supported" => Some(true),
        "unsupported" => Some(false),
        _ => None,
    }
}

/// Whether `init` runs the third-party-cookie probe: only when something needs cookies
/// in an iframe, and only against Keycloak (generic providers have no probe page).
pub fn needs_probe(s: &Settings, keycloak_mode: bool) -> bool {
    keycloak_mode && (s.check_login_iframe || s.silent_check_sso_redirect_uri.is_some())
}

/// What an `unsupported` answer changes: no session iframe, and (with the fallback on)
/// check-sso redirects instead of using the silent iframe.
pub fn third_party_cookies_blocked(s: &mut Settings) {
    s.check_login_iframe = false;
    if s.silent_check_sso_fallback {
        s.silent_check_sso_redirect_uri = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(origin_of("http://idp.localhost:8080/realms/demo/protocol/openid-connect/auth"), Some("http://idp.localhost:8080"));
        assert_eq!(origin_of("https://kc.example?x"), Some("https://kc.example"));
        assert_eq!(origin_of("https://kc.example"), Some("https://kc.example"));
        assert_eq!(origin_of("/realms/demo/auth"), None);
        assert_eq!(origin_of("://x"), None);
    }

    #[test]
    fn messages_and_answers() {
        assert_eq!(session_message("demo-app", Some("sid-1")), "demo-app sid-1");
        assert_eq!(session_message("demo-app", None), "demo-app ");
        assert_eq!(SessionStatus::parse("unchanged"), Some(SessionStatus::Unchanged));
        assert_eq!(SessionStatus::parse("Changed"), None);
        assert!(SessionStatus::Error.clears_tokens());
        assert!(!SessionStatus::Unchanged.clears_tokens());
        assert_eq!(parse_probe("unsupported"), Some(false));
        assert_eq!(parse_probe("maybe"), None);
    }

    #[test]
    fn probe_decisions() {
        let mut s = Settings::default();
        assert!(needs_probe(&s, true));
        assert!(!needs_probe(&s, false));
        s.check_login_iframe = false;
        assert!(!needs_probe(&s, true));
        s.silent_check_sso_redirect_uri = Some("http://app/silent.html".into());
        assert!(needs_probe(&s, true));
        third_party_cookies_blocked(&mut s);
        assert_eq!(s.silent_check_sso_redirect_uri, None);
        let mut s = Settings { silent_check_sso_fallback: false, silent_check_sso_redirect_uri: Some("x".into()), ..Settings::default() };
        third_party_cookies_blocked(&mut s);
        assert!(!s.check_login_iframe);
        assert_eq!(s.silent_check_sso_redirect_uri.as_deref(), Some("x"));
    }
}
