//! Recognising an OAuth callback in the page URL and computing the cleaned URL, with the
//! byte-for-byte behaviour of keycloak-js 26.2.4 (reference §2.5): pieces are scanned in
//! reverse, the last occurrence of a supported parameter wins, and everything else
//! (including empty pieces and earlier duplicates) is put back verbatim.

use alloc::string::String;
use alloc::vec::Vec;

use crate::core::encode::{first_pair, join_url, set_hash, set_search, split_on, split_url};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Standard,
    Implicit,
    Hybrid,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Standard => "standard",
            Flow::Implicit => "implicit",
            Flow::Hybrid => "hybrid",
        }
    }

    /// The `response_type` keycloak-js sends for this flow.
    pub fn response_type(self) -> &'static str {
        match self {
            Flow::Standard => "code",
            Flow::Implicit => "id_token token",
            Flow::Hybrid => "code id_token token",
        }
    }

    fn supported_params(self) -> &'static [&'static str] {
        match self {
            Flow::Standard => &["code", "state", "session_state", "kc_action_status", "kc_action", "iss", "error", "error_description", "error_uri"],
            Flow::Implicit => &[
                "access_token", "token_type", "id_token", "state", "session_state", "expires_in", "kc_action_status", "kc_action", "iss",
                "error", "error_description", "error_uri",
            ],
            Flow::Hybrid => &[
                "access_token", "token_type", "id_token", "code", "state", "session_state", "expires_in", "kc_action_status",
                "kc_action", "iss", "error", "error_description", "error_uri",
            ],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
}

impl ResponseMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::Fragment => "fragment",
        }
    }
}

/// The OAuth parameters captured from a callback URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthParams(Vec<(&'static str, String)>);

impl OAuthParams {
    /// The captured value, even when empty.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    /// The value when it is present and non-empty (JavaScript truthiness).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.raw(name).filter(|v| !v.is_empty())
    }

    fn has(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }
}

/// A recognised callback: its parameters and the URL the page should show instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub params: OAuthParams,
    pub new_url: String,
}

struct Split {
    rest: String,
    params: OAuthParams,
}

#[allow(clippy::single_char_add_str)] // `insert(0, '&')` would bring the library's UTF-8 encoder
fn split_params(input: &str, supported: &'static [&'static str]) -> Split {
    let mut params = OAuthParams::default();
    let mut rest = String::new();
    // keycloak-js walks the pieces backwards (the last occurrence wins) and rebuilds the
    // rest front to back; the pieces are collected first and walked from the end.
    let pieces: Vec<&str> = split_on(input, b"&").collect();
    for piece in pieces.into_iter().rev() {
        let Some((key, value)) = first_pair(piece) else {
            rest.insert_str(0, "&");
            continue;
        };
        match supported.iter().find(|s| **s == key) {
            Some(name) if !params.has(name) => params.0.push((name, value)),
            _ => {
                if !rest.is_empty() {
                    rest.insert_str(0, "&");
                }
                rest.insert_str(0, piece);
            }
        }
    }
    Split { rest, params }
}

/// Looks for a callback in `href`. `None` when the URL does not carry one: no `state`,
/// or neither `code`/`error` (standard, hybrid) nor `access_token`/`error` (implicit).
pub fn parse_callback_url(href: &str, flow: Flow, mode: ResponseMode) -> Option<Callback> {
    let parts = split_url(href);
    let supported = flow.supported_params();
    let (split, new_url) = match mode {
        ResponseMode::Query => {
            let q = parts.query?;
            // `url.searchParams.size > 0`
            if first_pair_any(q).is_none() {
                return None;
            }
            let split = split_params(&{
                let mut s = String::from("?");
                s.push_str(q);
                s
            }, supported);
            let query = set_search(&split.rest);
            let url = join_url(parts.base, query.as_deref(), parts.fragment);
            (split, url)
        }
        ResponseMode::Fragment => {
            let f = parts.fragment.filter(|f| !f.is_empty())?;
            let split = split_params(f, supported);
            let hash = set_hash(&split.rest);
            let url = join_url(parts.base, parts.query, hash.as_deref());
            (split, url)
        }
    };
    let p = &split.params;
    let has_result = match flow {
        Flow::Standard | Flow::Hybrid => p.get("code").is_some() || p.get("error").is_some(),
        Flow::Implicit => p.get("access_token").is_some() || p.get("error").is_some(),
    };
    if has_result && p.get("state").is_some() {
        Some(Callback { params: split.params, new_url })
    } else {
        None
    }
}

fn first_pair_any(query: &str) -> Option<()> {
    split_on(query, b"&").find_map(first_pair).map(|_| ())
}

#[cfg(test)]
mod tests {
    use crate::core::encode::PushAscii;
    use super::*;

    const CB: &str = "state=S1&session_state=SS&iss=http%3A%2F%2Fidp%2Frealms%2Fdemo&code=C1";

    fn with_fragment_callback(app: &str) -> String {
        let mut s = String::from(app);
        s.push_ascii(if app.contains('#') { b'&' } else { b'#' });
        s.push_str(CB);
        s
    }

    fn cleaned(app: &str) -> String {
        let cb = parse_callback_url(&with_fragment_callback(app), Flow::Standard, ResponseMode::Fragment).expect("callback");
        assert_eq!(cb.params.get("state"), Some("S1"));
        assert_eq!(cb.params.get("code"), Some("C1"));
        assert_eq!(cb.params.get("iss"), Some("http://idp/realms/demo"));
        cb.new_url
    }

    #[test]
    fn reference_fragment_table() {
        assert_eq!(cleaned("http://app.test/"), "http://app.test/");
        assert_eq!(cleaned("http://app.test/#section=preserved"), "http://app.test/#section=preserved");
        assert_eq!(cleaned("http://app.test/#state=anotherValue"), "http://app.test/#state=anotherValue");
        assert_eq!(cleaned("http://app.test/#/admin/users"), "http://app.test/#/admin/users");
        assert_eq!(
            cleaned("http://app.test/#/admin/users?tab=details&sort=asc"),
            "http://app.test/#/admin/users?tab=details&sort=asc"
        );
        assert_eq!(cleaned("http://app.test/#?tab=details"), "http://app.test/#?tab=details");
        assert_eq!(cleaned("http://app.test/#&&foo=bar&&baz=qux&=bax&fuz="), "http://app.test/#&&foo=bar&&baz=qux&=bax&fuz=");
    }

    #[test]
    fn trailing_empty_piece_quirk() {
        // Checked against keycloak-js 26.2.4's own #parseCallbackParams: the empty piece
        // before the callback is re-emitted as "&" next to the separator.
        assert_eq!(cleaned("http://app.test/#&"), "http://app.test/#&&");
        assert_eq!(cleaned("http://app.test/#x&"), "http://app.test/#x&&");
        assert_eq!(cleaned("http://app.test/#&x"), "http://app.test/#&x");
    }

    #[test]
    fn query_mode_keeps_other_params_and_fragment() {
        let cb = parse_callback_url("http://app.test/?foo=bar&code=C&state=S#/route", Flow::Standard, ResponseMode::Query).unwrap();
        assert_eq!(cb.new_url, "http://app.test/?foo=bar#/route");
        assert_eq!(cb.params.get("code"), Some("C"));
        let cb = parse_callback_url("http://app.test/?code=C&state=S", Flow::Standard, ResponseMode::Query).unwrap();
        assert_eq!(cb.new_url, "http://app.test/");
    }

    #[test]
    fn last_occurrence_wins_and_earlier_ones_stay() {
        let cb = parse_callback_url("http://a/#code=old&state=X&code=new&state=Y", Flow::Standard, ResponseMode::Fragment).unwrap();
        assert_eq!(cb.params.get("code"), Some("new"));
        assert_eq!(cb.params.get("state"), Some("Y"));
        assert_eq!(cb.new_url, "http://a/#code=old&state=X");
    }

    #[test]
    fn not_a_callback() {
        assert_eq!(parse_callback_url("http://a/", Flow::Standard, ResponseMode::Fragment), None);
        assert_eq!(parse_callback_url("http://a/#", Flow::Standard, ResponseMode::Fragment), None);
        assert_eq!(parse_callback_url("http://a/#code=C", Flow::Standard, ResponseMode::Fragment), None);
        assert_eq!(parse_callback_url("http://a/#state=S&code=", Flow::Standard, ResponseMode::Fragment), None);
        // a fragment callback is ignored in query mode and vice versa
        assert_eq!(parse_callback_url("http://a/#state=S&code=C", Flow::Standard, ResponseMode::Query), None);
        assert_eq!(parse_callback_url("http://a/?state=S&code=C", Flow::Standard, ResponseMode::Fragment), None);
        // implicit needs access_token
        assert_eq!(parse_callback_url("http://a/#state=S&code=C", Flow::Implicit, ResponseMode::Fragment), None);
    }

    #[test]
    fn error_callback_and_flows() {
        let cb = parse_callback_url("http://a/#error=login_required&state=S", Flow::Standard, ResponseMode::Fragment).unwrap();
        assert_eq!(cb.params.get("error"), Some("login_required"));
        assert_eq!(cb.new_url, "http://a/");
        let cb = parse_callback_url("http://a/#state=S&access_token=AT&id_token=IT&token_type=Bearer&expires_in=900", Flow::Implicit, ResponseMode::Fragment).unwrap();
        assert_eq!(cb.params.get("access_token"), Some("AT"));
        assert_eq!(cb.params.get("id_token"), Some("IT"));
        // standard flow does not swallow implicit-only params
        let cb = parse_callback_url("http://a/#state=S&code=C&access_token=AT", Flow::Standard, ResponseMode::Fragment).unwrap();
        assert_eq!(cb.new_url, "http://a/#access_token=AT");
    }

    #[test]
    fn decodes_values() {
        let cb = parse_callback_url("http://a/#state=S&error=x&error_description=Invalid+scopes%3A+foo", Flow::Standard, ResponseMode::Fragment).unwrap();
        assert_eq!(cb.params.get("error_description"), Some("Invalid scopes: foo"));
    }
}
