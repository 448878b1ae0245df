//! Where the adapter talks to: Keycloak's fixed paths under the realm URL, or the
//! endpoints a generic OpenID Provider declares in its metadata (reference §8).

use alloc::string::String;

use crate::core::encode::encode_uri_component;
use crate::core::error::CoreError;

fn strip_trailing_slash(url: &str) -> &str {
    url.strip_suffix('/').unwrap_or(url)
}

fn join(a: &str, b: &str) -> String {
    let mut s = String::with_capacity(a.len() + b.len());
    s.push_str(a);
    s.push_str(b);
    s
}

/// `${stripTrailingSlash(authServerUrl)}/realms/${encodeURIComponent(realm)}`.
pub fn realm_url(auth_server_url: &str, realm: &str) -> String {
    let mut s = join(strip_trailing_slash(auth_server_url), "/realms/");
    s.push_str(&encode_uri_component(realm));
    s
}

/// The discovery document URL for a generic provider's base URL.
pub fn discovery_url(provider: &str) -> String {
    join(strip_trailing_slash(provider), "/.well-known/openid-configuration")
}

/// Endpoints of a generic OpenID Provider (from its metadata).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OidcMetadata {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: Option<String>,
    pub check_session_iframe: Option<String>,
    pub end_session_endpoint: Option<String>,
    /// `issuer`, when the metadata gives one (keycloak-js ignores it; we check `iss`).
    pub issuer: Option<String>,
    /// `jwks_uri`: the provider's signing keys (`verifyTokens`).
    pub jwks_uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoints {
    Keycloak { realm_url: String },
    Oidc(OidcMetadata),
}

const OIDC: &str = "/protocol/openid-connect";

impl Endpoints {
    fn kc(&self, suffix: &str) -> Option<String> {
        match self {
            Endpoints::Keycloak { realm_url } => {
                let mut s = join(realm_url, OIDC);
                s.push_str(suffix);
                Some(s)
            }
            Endpoints::Oidc(_) => None,
        }
    }

    fn oidc_optional(field: &Option<String>) -> Result<String, CoreError> {
        field.clone().ok_or(CoreError::NotSupportedByOidcServer)
    }

    /// The realm URL in Keycloak mode; `None` for a generic provider.
    pub fn realm_url(&self) -> Option<&str> {
        match self {
            Endpoints::Keycloak { realm_url } => Some(realm_url),
            Endpoints::Oidc(_) => None,
        }
    }

    pub fn authorize(&self) -> String {
        match self {
            Endpoints::Oidc(m) => m.authorization_endpoint.clone(),
            _ => self.kc("/auth").unwrap_or_default(),
        }
    }

    pub fn token(&self) -> String {
        match self {
            Endpoints::Oidc(m) => m.token_endpoint.clone(),
            _ => self.kc("/token").unwrap_or_default(),
        }
    }

    pub fn logout(&self) -> Result<String, CoreError> {
        match self {
            Endpoints::Oidc(m) => Self::oidc_optional(&m.end_session_endpoint),
            _ => Ok(self.kc("/logout").unwrap_or_default()),
        }
    }

    pub fn check_session_iframe(&self) -> Result<String, CoreError> {
        match self {
            Endpoints::Oidc(m) => Self::oidc_optional(&m.check_session_iframe),
            _ => Ok(self.kc("/login-status-iframe.html").unwrap_or_default()),
        }
    }

    /// Keycloak only: generic providers have no third-party-cookie check page.
    pub fn third_party_cookies_iframe(&self) -> Option<String> {
        self.kc("/3p-cookies/step1.html")
    }

    pub fn register(&self) -> Result<String, CoreError> {
        self.kc("/registrations").ok_or(CoreError::RegisterInOidcMode)
    }

    pub fn userinfo(&self) -> Result<String, CoreError> {
        match self {
            Endpoints::Oidc(m) => Self::oidc_optional(&m.userinfo_endpoint),
            _ => Ok(self.kc("/userinfo").unwrap_or_default()),
        }
    }

    /// `${realmUrl}/account` (Keycloak only).
    pub fn account(&self) -> Option<String> {
        self.realm_url().map(|r| join(r, "/account"))
    }

    /// Where the signing keys are: the realm's `certs` endpoint for Keycloak, the
    /// metadata's `jwks_uri` for a generic provider.
    pub fn jwks(&self) -> Option<String> {
        match self {
            Endpoints::Oidc(m) => m.jwks_uri.clone(),
            _ => self.kc("/certs"),
        }
    }

    /// The issuer we expect in the callback's `iss` (RFC 9207): the realm URL for
    /// Keycloak, the metadata's `issuer` for a generic provider.
    pub fn expected_issuer(&self) -> Option<&str> {
        match self {
            Endpoints::Keycloak { realm_url } => Some(realm_url),
            Endpoints::Oidc(m) => m.issuer.as_deref(),
        }
    }

    /// RFC 9207: an `iss` in the authorization response must be the expected issuer.
    /// Without an `iss`, or without a known issuer, there is nothing to compare.
    pub fn check_callback_issuer(&self, iss: Option<&str>) -> Result<(), CoreError> {
        match (iss, self.expected_issuer()) {
            (Some(got), Some(want)) if got != want => Err(CoreError::IssuerMismatch),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realm_url_strips_one_slash_and_encodes() {
        assert_eq!(realm_url("https://kc.example/", "demo"), "https://kc.example/realms/demo");
        assert_eq!(realm_url("https://kc.example//", "my realm"), "https://kc.example//realms/my%20realm");
        assert_eq!(realm_url("https://kc.example/auth", "a/b"), "https://kc.example/auth/realms/a%2Fb");
    }

    #[test]
    fn keycloak_paths() {
        let e = Endpoints::Keycloak { realm_url: realm_url("http://idp", "demo") };
        assert_eq!(e.authorize(), "http://idp/realms/demo/protocol/openid-connect/auth");
        assert_eq!(e.token(), "http://idp/realms/demo/protocol/openid-connect/token");
        assert_eq!(e.logout().unwrap(), "http://idp/realms/demo/protocol/openid-connect/logout");
        assert_eq!(e.check_session_iframe().unwrap(), "http://idp/realms/demo/protocol/openid-connect/login-status-iframe.html");
        assert_eq!(e.third_party_cookies_iframe().unwrap(), "http://idp/realms/demo/protocol/openid-connect/3p-cookies/step1.html");
        assert_eq!(e.register().unwrap(), "http://idp/realms/demo/protocol/openid-connect/registrations");
        assert_eq!(e.userinfo().unwrap(), "http://idp/realms/demo/protocol/openid-connect/userinfo");
        assert_eq!(e.account().unwrap(), "http://idp/realms/demo/account");
    }

    #[test]
    fn oidc_paths_and_missing_ones() {
        let e = Endpoints::Oidc(OidcMetadata {
            authorization_endpoint: "https://op/authorize".into(),
            token_endpoint: "https://op/token".into(),
            ..Default::default()
        });
        assert_eq!(e.authorize(), "https://op/authorize");
        assert_eq!(e.logout(), Err(CoreError::NotSupportedByOidcServer));
        assert_eq!(e.userinfo(), Err(CoreError::NotSupportedByOidcServer));
        assert_eq!(e.register(), Err(CoreError::RegisterInOidcMode));
        assert_eq!(e.third_party_cookies_iframe(), None);
        assert_eq!(e.account(), None);
        assert_eq!(discovery_url("https://op/"), "https://op/.well-known/openid-configuration");
    }

    #[test]
    fn callback_issuer_rfc9207() {
        let kc = Endpoints::Keycloak { realm_url: realm_url("http://idp:8080/", "my realm") };
        assert_eq!(kc.check_callback_issuer(Some("http://idp:8080/realms/my%20realm")), Ok(()));
        assert_eq!(kc.check_callback_issuer(None), Ok(()));
        assert_eq!(kc.check_callback_issuer(Some("http://evil/realms/my%20realm")), Err(CoreError::IssuerMismatch));
        assert_eq!(kc.check_callback_issuer(Some("http://idp:8080/realms/other")), Err(CoreError::IssuerMismatch));
        let unknown = Endpoints::Oidc(OidcMetadata::default());
        assert_eq!(unknown.check_callback_issuer(Some("anything")), Ok(()));
        let op = Endpoints::Oidc(OidcMetadata { issuer: Some("https://op".into()), ..Default::default() });
        assert_eq!(op.check_callback_issuer(Some("https://op/")), Err(CoreError::IssuerMismatch));
        assert_eq!(op.check_callback_issuer(Some("https://op")), Ok(()));
    }
}
