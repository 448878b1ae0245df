//! Small helpers: encoding, parameters, URL pieces, redirect URI matching.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

/// The server's clock in seconds, moved by `--clock-skew` / `/__faults` (crate::faults).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
        + crate::faults::CLOCK_SKEW.load(std::sync::atomic::Ordering::Relaxed)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
        + crate::faults::CLOCK_SKEW.load(std::sync::atomic::Ordering::Relaxed) * 1000
}

pub fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()
}

pub fn b64std(data: &[u8]) -> String {
    STANDARD.encode(data)
}

pub fn b64std_decode(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s.trim()).ok()
}

pub fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn random_token(bytes: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b64url(&b)
}

/// Everything except unreserved characters is percent-encoded (like encodeQueryParamAsIs
/// for the values we produce).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

pub fn enc(s: &str) -> String {
    percent_encode(s.as_bytes(), QUERY_VALUE).to_string()
}

pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Decoded form/query parameters in order; duplicates kept so they can be detected.
#[derive(Default, Clone, Debug)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(s: &str) -> Params {
        Params(form_urlencoded::parse(s.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    pub fn parse_bytes(b: &[u8]) -> Params {
        Params(form_urlencoded::parse(b).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// First value; an empty value counts as absent (as Keycloak treats blank params).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    pub fn count(&self, name: &str) -> usize {
        self.0.iter().filter(|(k, _)| k == name).count()
    }

    /// True if any of the given names occurs more than once.
    pub fn duplicated(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.count(n) > 1)
    }
}

pub struct UrlParts<'a> {
    pub scheme: &'a str,
    pub authority: &'a str,
}

/// Split `scheme://authority/...`.
pub fn url_parts(u: &str) -> Option<UrlParts<'_>> {
    let (scheme, rest) = u.split_once("://")?;
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(UrlParts { scheme, authority: &rest[..end] })
}

/// `scheme://host[:port]` of an absolute URL (wildcards in the authority are not allowed).
pub fn origin_of(u: &str) -> Option<String> {
    let p = url_parts(u)?;
    if p.authority.is_empty() || p.authority.contains('*') {
        return None;
    }
    let auth = p.authority.rsplit('@').next().unwrap_or(p.authority);
    Some(format!("{}://{}", p.scheme.to_ascii_lowercase(), auth.to_ascii_lowercase()))
}

/// Host part of a `Host` header / authority, without port, lower-case.
pub fn host_without_port(authority: &str) -> String {
    let a = authority.trim().to_ascii_lowercase();
    if a.starts_with('[') {
        return match a.find(']') {
            Some(i) => a[..=i].to_string(),
            None => a,
        };
    }
    match a.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h.to_string(),
        _ => a,
    }
}

pub fn is_loopback_or_localhost(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "[::1]"
        || host.strip_prefix("127.").is_some_and(|r| r.split('.').count() == 3 && r.split('.').all(|p| p.parse::<u8>().is_ok()))
}

/// Keycloak's redirect URI validation (RedirectUtils), the parts that matter for browser
/// clients. Returns the accepted redirect URI.
pub fn verify_redirect_uri(candidate: Option<&str>, patterns: &[String]) -> Option<String> {
    let Some(candidate) = candidate else {
        // Omitted: allowed only with exactly one registered non-wildcard URI.
        return match patterns {
            [only] if !only.contains('*') => Some(only.clone()),
            _ => None,
        };
    };
    if patterns.is_empty() || candidate.is_empty() {
        return None;
    }
    if matches_any(candidate, patterns) {
        return Some(candidate.to_string());
    }
    // Loopback candidate with an explicit port: retry without it (native-app rule).
    if let Some(p) = url_parts(candidate) {
        let host = host_without_port(p.authority);
        if p.scheme == "http" && (host == "127.0.0.1" || host == "localhost" || host == "[::1]") && p.authority.len() > host.len() {
            let stripped = candidate.replacen(p.authority, &host, 1);
            if matches_any(&stripped, patterns) {
                return Some(candidate.to_string());
            }
        }
    }
    None
}

fn matches_any(candidate: &str, patterns: &[String]) -> bool {
    let cand_parts = url_parts(candidate);
    let unsafe_for_wildcards = match &cand_parts {
        Some(p) => {
            let path_etc = &candidate[p.scheme.len() + 3 + p.authority.len()..];
            let path = path_etc.split(['?', '#']).next().unwrap_or("");
            p.authority.contains('@') || path.contains("/../") || path.ends_with("/..") || path.contains("/./")
        }
        None => false,
    };
    for pattern in patterns {
        if pattern == candidate {
            return true;
        }
        if unsafe_for_wildcards {
            continue;
        }
        if pattern == "*" {
            return true;
        }
        if let Some(prefix) = pattern.strip_suffix('*') {
            if prefix.contains('?') || prefix.contains('*') {
                continue;
            }
            // Compare without the candidate's query (or, without a query, its fragment).
            let stripped = match candidate.find('?') {
                Some(i) => &candidate[..i],
                None => candidate.split('#').next().unwrap_or(candidate),
            };
            let ok = stripped.starts_with(prefix) || stripped == prefix.trim_end_matches('/');
            if !ok {
                continue;
            }
            // Same scheme, host and port when the pattern has a full authority.
            if let (Some(pp), Some(cp)) = (url_parts(prefix), cand_parts.as_ref()) {
                if !pp.authority.is_empty()
                    && (!pp.scheme.eq_ignore_ascii_case(cp.scheme) || !pp.authority.eq_ignore_ascii_case(cp.authority))
                {
                    continue;
                }
            }
            return true;
        }
    }
    false
}

/// PKCE: code_challenge / code_verifier syntax (RFC 7636).
pub fn pkce_syntax_ok(s: &str) -> bool {
    (43..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

pub fn pkce_s256(verifier: &str) -> String {
    b64url(&sha256(verifier.as_bytes()))
}

/// RFC 1123 date for cookie `Expires`.
pub fn http_date(unix: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    httpdate::fmt_http_date(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn wildcard_rules() {
        let p = pats(&["http://localhost:3000/*"]);
        for ok in [
            "http://localhost:3000/",
            "http://localhost:3000",
            "http://localhost:3000/#state=anotherValue",
            "http://localhost:3000/#/admin/users?tab=details&sort=asc",
            "http://localhost:3000/silent-check-sso.html",
            "http://localhost:3000/?origin=http%3A%2F%2Flocalhost%3A3000",
        ] {
            assert!(verify_redirect_uri(Some(ok), &p).is_some(), "{ok}");
        }
        for bad in [
            "http://localhost:30000/",
            "http://localhost:3001/",
            "https://localhost:3000/",
            "http://evil.com/http://localhost:3000/",
            "http://localhost:3000@evil.com/",
            "http://user@localhost:3000/",
            "http://localhost:3000/a/../b",
            "",
        ] {
            assert!(verify_redirect_uri(Some(bad), &p).is_none(), "{bad}");
        }
        let q = pats(&["http://kjs-redirect.localhost:3000/*"]);
        assert!(verify_redirect_uri(Some("http://kjs-redirect.localhost:3000/?origin=http%3A%2F%2Flocalhost%3A3000"), &q).is_some());
        assert!(verify_redirect_uri(None, &pats(&["http://a/cb"])).is_some());
        assert!(verify_redirect_uri(None, &p).is_none());
        assert!(verify_redirect_uri(Some("myapp://cb"), &pats(&["*"])).is_some());
        assert!(verify_redirect_uri(Some("http://127.0.0.1:5555/cb"), &pats(&["http://127.0.0.1/cb"])).is_some());
    }

    #[test]
    fn hosts() {
        assert!(is_loopback_or_localhost("localhost"));
        assert!(is_loopback_or_localhost("app.localhost"));
        assert!(is_loopback_or_localhost("127.0.0.1"));
        assert!(is_loopback_or_localhost("[::1]"));
        assert!(!is_loopback_or_localhost("example.com"));
        assert!(!is_loopback_or_localhost("127.0.0.1.evil"));
        assert_eq!(host_without_port("LocalHost:8080"), "localhost");
        assert_eq!(host_without_port("[::1]:8080"), "[::1]");
        assert_eq!(origin_of("http://localhost:3000/*").as_deref(), Some("http://localhost:3000"));
    }
}
