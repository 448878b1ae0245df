//! Authorization, logout and account URLs with keycloak-js's exact parameter order,
//! conditions and `URLSearchParams` encoding (reference §2.2, §7).

use alloc::string::String;
use alloc::vec::Vec;
use alloc::vec;

use crate::core::encode::form_urlencode;
use crate::core::encode::PushAscii;

/// Everything `createLoginUrl` puts in the URL. Optional fields follow JavaScript
/// truthiness: the browser layer passes `None` for absent or empty values.
#[derive(Debug, Clone, Default)]
pub struct LoginUrl<'a> {
    pub endpoint: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub response_mode: &'a str,
    pub response_type: &'a str,
    /// `options.scope || this.scope`
    pub scope: Option<&'a str>,
    /// Only when `useNonce`.
    pub nonce: Option<&'a str>,
    pub prompt: Option<&'a str>,
    /// `String(maxAge)` when `maxAge` is a number (0 included).
    pub max_age: Option<&'a str>,
    pub login_hint: Option<&'a str>,
    pub idp_hint: Option<&'a str>,
    /// `action` unless it is `register`.
    pub action: Option<&'a str>,
    pub locale: Option<&'a str>,
    /// `JSON.stringify({ id_token: { acr } })`
    pub claims: Option<&'a str>,
    pub acr_values: Option<&'a str>,
    /// `(code_challenge, code_challenge_method)`
    pub pkce: Option<(&'a str, &'a str)>,
}

/// `openid` is prepended unless one space-separated token is exactly `openid`.
pub fn normalize_scope(scope: Option<&str>) -> String {
    let scope = scope.unwrap_or("");
    let has_openid = !scope.is_empty() && crate::core::encode::split_on(scope, b" ").any(|s| s == "openid");
    if has_openid {
        return String::from(scope);
    }
    let mut s = String::from("openid");
    if !scope.is_empty() {
        s.push_ascii(b' ');
        s.push_str(scope);
    }
    s
}

fn with_query(endpoint: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = String::from(endpoint);
    url.push_ascii(b'?');
    url.push_str(&form_urlencode(pairs));
    url
}

pub fn build_login_url(r: &LoginUrl<'_>) -> String {
    let scope = normalize_scope(r.scope);
    let mut pairs: Vec<(&str, &str)> = vec![
        ("client_id", r.client_id),
        ("redirect_uri", r.redirect_uri),
        ("state", r.state),
        ("response_mode", r.response_mode),
        ("response_type", r.response_type),
        ("scope", &scope),
    ];
    let optional = [
        ("nonce", r.nonce),
        ("prompt", r.prompt),
        ("max_age", r.max_age),
        ("login_hint", r.login_hint),
        ("kc_idp_hint", r.idp_hint),
        ("kc_action", r.action),
        ("ui_locales", r.locale),
        ("claims", r.claims),
        ("acr_values", r.acr_values),
    ];
    pairs.extend(optional.iter().filter_map(|(k, v)| v.map(|v| (*k, v))));
    if let Some((challenge, method)) = r.pkce {
        pairs.push(("code_challenge", challenge));
        pairs.push(("code_challenge_method", method));
    }
    with_query(r.endpoint, &pairs)
}

/// The GET logout URL; `None` for `id_token_hint` when there is no ID token.
pub fn build_logout_url(endpoint: &str, client_id: &str, post_logout_redirect_uri: &str, id_token: Option<&str>) -> String {
    let mut pairs = vec![("client_id", client_id), ("post_logout_redirect_uri", post_logout_redirect_uri)];
    if let Some(t) = id_token {
        pairs.push(("id_token_hint", t));
    }
    with_query(endpoint, &pairs)
}

pub fn build_account_url(account_endpoint: &str, client_id: &str, referrer_uri: &str) -> String {
    with_query(account_endpoint, &[("referrer", client_id), ("referrer_uri", referrer_uri)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_rules() {
        assert_eq!(normalize_scope(None), "openid");
        assert_eq!(normalize_scope(Some("")), "openid");
        assert_eq!(normalize_scope(Some("profile email openidlike")), "openid profile email openidlike");
        assert_eq!(normalize_scope(Some("email openid")), "email openid");
    }

    #[test]
    fn minimal_login_url_order_and_encoding() {
        let url = build_login_url(&LoginUrl {
            endpoint: "http://idp/realms/demo/protocol/openid-connect/auth",
            client_id: "demo-app",
            redirect_uri: "http://app.localhost:3000/#/users",
            state: "S",
            response_mode: "fragment",
            response_type: "code",
            nonce: Some("N"),
            pkce: Some(("CH", "S256")),
            ..Default::default()
        });
        assert_eq!(
            url,
            "http://idp/realms/demo/protocol/openid-connect/auth?client_id=demo-app&redirect_uri=http%3A%2F%2Fapp.localhost%3A3000%2F%23%2Fusers&state=S&response_mode=fragment&response_type=code&scope=openid&nonce=N&code_challenge=CH&code_challenge_method=S256"
        );
    }

    #[test]
    fn every_option_in_order() {
        let url = build_login_url(&LoginUrl {
            endpoint: "E",
            client_id: "c",
            redirect_uri: "r",
            state: "s",
            response_mode: "query",
            response_type: "code id_token token",
            scope: Some("email"),
            nonce: Some("n"),
            prompt: Some("login"),
            max_age: Some("0"),
            login_hint: Some("a@b"),
            idp_hint: Some("gh"),
            action: Some("UPDATE_PASSWORD"),
            locale: Some("nl-NL nl"),
            claims: Some(r#"{"id_token":{"acr":{"values":["1"],"essential":false}}}"#),
            acr_values: Some("1"),
            pkce: None,
        });
        assert_eq!(
            url,
            "E?client_id=c&redirect_uri=r&state=s&response_mode=query&response_type=code+id_token+token&scope=openid+email&nonce=n&prompt=login&max_age=0&login_hint=a%40b&kc_idp_hint=gh&kc_action=UPDATE_PASSWORD&ui_locales=nl-NL+nl&claims=%7B%22id_token%22%3A%7B%22acr%22%3A%7B%22values%22%3A%5B%221%22%5D%2C%22essential%22%3Afalse%7D%7D%7D&acr_values=1"
        );
    }

    #[test]
    fn logout_and_account() {
        assert_eq!(build_logout_url("L", "c", "http://a/", None), "L?client_id=c&post_logout_redirect_uri=http%3A%2F%2Fa%2F");
        assert_eq!(
            build_logout_url("L", "c", "http://a/", Some("ID")),
            "L?client_id=c&post_logout_redirect_uri=http%3A%2F%2Fa%2F&id_token_hint=ID"
        );
        assert_eq!(build_account_url("R/account", "c", "http://a/"), "R/account?referrer=c&referrer_uri=http%3A%2F%2Fa%2F");
    }
}
