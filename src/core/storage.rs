//! Callback-state records: what survives the round trip to the authorization server
//! (reference §2.4). The browser layer does the JSON and the storage calls; this module
//! decides keys, expiry and which entries to purge.

use alloc::string::String;
use crate::core::encode::PushAscii;

pub const STORAGE_KEY_PREFIX: &str = "kc-callback-";
/// localStorage entries live one hour (epoch ms in the record's `expires`).
pub const LOCAL_STORAGE_TTL_MS: f64 = 60.0 * 60.0 * 1000.0;
/// Cookie entries: 60 minutes; reading one expires it 100 minutes in the past.
pub const COOKIE_TTL_MINUTES: f64 = 60.0;
pub const COOKIE_DELETE_MINUTES: f64 = -100.0;

pub fn storage_key(state: &str) -> String {
    let mut k = String::from(STORAGE_KEY_PREFIX);
    k.push_str(state);
    k
}

pub fn is_managed_key(key: &str) -> bool {
    key.starts_with(STORAGE_KEY_PREFIX)
}

/// An entry is purged when its `expires` is missing, not a number, or in the past.
pub fn should_purge(expires: Option<f64>, now_ms: f64) -> bool {
    match expires {
        None => true,
        Some(e) => e < now_ms,
    }
}

/// Reads one cookie's raw value from `document.cookie`, keycloak-js style: split on `;`,
/// trim leading spaces, first piece starting with `name=` wins. `""` when absent.
pub fn find_cookie<'a>(cookies: &'a str, key: &str) -> &'a str {
    for piece in crate::core::encode::split_on(cookies, b";") {
        let piece = piece.trim_start_matches(' ');
        if let Some(rest) = piece.strip_prefix(key) {
            if let Some(value) = rest.strip_prefix('=') {
                return value;
            }
        }
    }
    ""
}

/// The `document.cookie` assignment for a callback cookie (no path, SameSite or
/// encoding, exactly as keycloak-js writes it); `expires_utc` is `Date#toUTCString()`.
pub fn cookie_assignment(key: &str, value: &str, expires_utc: &str) -> String {
    let mut s = String::from(key);
    s.push_ascii(b'=');
    s.push_str(value);
    s.push_str("; expires=");
    s.push_str(expires_utc);
    s.push_str("; ");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(storage_key("abc"), "kc-callback-abc");
        assert!(is_managed_key("kc-callback-x"));
        assert!(!is_managed_key("kc-test"));
    }

    #[test]
    fn expiry_rules() {
        assert!(should_purge(None, 10.0));
        assert!(should_purge(Some(9.0), 10.0));
        assert!(!should_purge(Some(10.0), 10.0));
        assert!(!should_purge(Some(11.0), 10.0));
    }

    #[test]
    fn cookie_scan() {
        let c = "a=1; kc-callback-S={\"state\":\"S\"}; kc-callback-SS=2";
        assert_eq!(find_cookie(c, "kc-callback-S"), "{\"state\":\"S\"}");
        assert_eq!(find_cookie(c, "kc-callback-SS"), "2");
        assert_eq!(find_cookie(c, "missing"), "");
        assert_eq!(
            cookie_assignment("k", "v", "Thu, 01 Jan 2026 00:00:00 GMT"),
            "k=v; expires=Thu, 01 Jan 2026 00:00:00 GMT; "
        );
    }
}
