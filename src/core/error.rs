//! The adapter's one error type. The driver turns each variant into the exact
//! JavaScript value keycloak-js 26.2 throws: an `Error`, a `TypeError`, or an `Error`
//! with a `cause` (the machine writes kind, message and cause into the effect).

use alloc::string::String;
use crate::core::encode::PushAscii;

/// The message of keycloak-js's `NetworkError` (a non-2xx answer).
pub const NETWORK_ERROR: &str = "Server responded with an invalid status.";

/// Which JavaScript constructor a [`CoreError`] becomes at the boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsKind {
    Error = 0,
    TypeError = 1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreError {
    /// `init()` called a second time.
    AlreadyInitialized,
    InvalidResponseMode,
    InvalidFlow,
    InvalidOnLoad,
    /// `pkceMethod` was neither `'S256'` nor `false` (`Settings::invalid_pkce` holds
    /// `String(value)` for the message).
    InvalidPkceMethod,
    /// The third-party-cookie probe did not answer within `messageReceiveTimeout`.
    ProbeTimeout,
    /// The session status iframe answered `error`.
    SessionIframeError,
    /// Ours: keycloak-js waits forever for these four.
    SessionIframeLoadTimeout,
    SessionIframeReplyTimeout,
    SilentCheckSsoTimeout,
    /// The silent iframe's answer was not a callback with a state we issued.
    SilentCheckSsoInvalid,
    /// The callback's `iss` is not the expected issuer (RFC 9207 mix-up defence).
    IssuerMismatch,
    /// The ID token's nonce did not match the one stored with the callback state.
    InvalidNonce,
    TokenPayloadNotFound,
    /// The payload is not base64url; carries the message of the underlying cause.
    TokenPayloadNotBase64(&'static str),
    TokenPayloadNotJson,
    NotAuthenticated,
    InvalidMinValidity,
    NoRefreshToken,
    NoTokenForHeader,
    WebCryptoUnavailable,
    /// The wasm has not finished starting; only seen when a synchronous method is called
    /// before `init()` was ever called.
    NotInitialized,
    /// An OIDC endpoint that the provider metadata does not declare.
    NotSupportedByOidcServer,
    AccountUrlInOidcMode,
    UserProfileInOidcMode,
    RegisterInOidcMode,
    /// InAppBrowser: a page other than the redirect URI failed to load.
    CordovaLoginFailed,
    /// InAppBrowser: the user closed the window before the login finished.
    CordovaWindowClosed,
    /// A callback handed to a Cordova adapter or to `handleCallback()` that carries no
    /// state this instance issued (keycloak-js 26.2.5's messages; 26.2.4 did not check).
    InvalidCallbackState { register: bool },
    /// A Cordova adapter's plugin is not installed; carries the plugin's name. Ours:
    /// keycloak-js fails with a TypeError on the missing global.
    CordovaPluginMissing(&'static str),
    /// A custom adapter object lacks the method a call needs.
    AdapterMethodMissing,
    /// Ours (`verifyTokens`): the realm's keys (JWKS) did not load.
    JwksUnavailable,
    /// Ours (`verifyTokens`): `alg` is none, an HMAC or unknown.
    TokenAlgorithm,
    /// Ours (`verifyTokens`): no key of the realm matches the token (after one refetch).
    TokenKeyUnknown,
    /// Ours (`verifyTokens`): the signature does not verify.
    TokenSignature,
    /// Ours (`verifyTokens`): WebCrypto did not check a signature within `requestTimeout`.
    TokenSignatureTimeout,
    /// Ours (`verifyTokens`): `iss` is not the realm.
    TokenIssuer,
    /// Ours (`verifyTokens`): the ID token's `aud`/`azp` do not name this client.
    TokenAudience,
    /// Ours (`verifyTokens`): a token from the realm has already expired.
    TokenExpired,
    /// Ours (`dpop`): no key pair could be made or kept (IndexedDB or WebCrypto missing).
    DpopUnavailable,
    /// Ours (`dpop`): the access token is bound (`cnf.jkt`) to another key than ours.
    DpopBinding,
    /// Ours: the module loaded has no `extras` (the options keycloak-js lacks, UMA).
    NoExtras,
    /// Ours: the module with the additions (a chunk) did not arrive within `requestTimeout`.
    ExtrasTimeout,
}

impl CoreError {
    pub fn kind(&self) -> JsKind {
        match self {
            CoreError::InvalidPkceMethod | CoreError::NotInitialized | CoreError::AdapterMethodMissing => JsKind::TypeError,
            _ => JsKind::Error,
        }
    }

    /// The message of the underlying cause, for errors keycloak-js throws with `{ cause }`.
    pub fn cause(&self) -> Option<&'static str> {
        match self {
            CoreError::TokenPayloadNotBase64(cause) => Some(cause),
            _ => None,
        }
    }

    /// The exact message keycloak-js 26.2.4 uses. Two are completed by the caller: the
    /// pkceMethod message ends with `String(value)` and `.`, the plugin message with the
    /// plugin's name and `, which is not installed.`.
    pub fn message(&self) -> &'static str {
        use CoreError::*;
        match self {
            // Errors of the additions, which the module without them never raises: their
            // texts stay out of it.
            CordovaPluginMissing(_) | CordovaLoginFailed | CordovaWindowClosed | JwksUnavailable | TokenAlgorithm | TokenKeyUnknown | TokenSignature | TokenSignatureTimeout | TokenIssuer | TokenAudience | TokenExpired | DpopUnavailable | DpopBinding if !crate::core::options::EXTRAS => "",
            CoreError::CordovaPluginMissing(_) => "The Cordova adapter needs the plugin ",
            CoreError::CordovaLoginFailed => "Unable to process login.",
            CoreError::CordovaWindowClosed => "User closed the login window.",
            CoreError::InvalidCallbackState { register: false } => "Invalid OAuth state in login callback.",
            CoreError::InvalidCallbackState { register: true } => "Invalid OAuth state in register callback.",
            CoreError::AlreadyInitialized => "A 'Keycloak' instance can only be initialized once.",
            CoreError::InvalidResponseMode => "Invalid value for responseMode",
            CoreError::InvalidFlow => "Invalid value for flow",
            CoreError::InvalidOnLoad => "Invalid value for onLoad",
            CoreError::InvalidPkceMethod => "Invalid value for pkceMethod', expected 'S256' or false but got ",
            CoreError::InvalidNonce => "Invalid nonce.",
            CoreError::ProbeTimeout => "Timeout when waiting for 3rd party check iframe message.",
            CoreError::SessionIframeError => "Error while checking login iframe",
            CoreError::SessionIframeLoadTimeout => "Timeout when waiting for the session status iframe to load.",
            CoreError::SessionIframeReplyTimeout => "Timeout when waiting for the session status iframe message.",
            CoreError::SilentCheckSsoTimeout => "Timeout when waiting for the silent check-sso iframe message.",
            CoreError::SilentCheckSsoInvalid => "The silent check-sso iframe answered with an unknown or unexpected callback.",
            CoreError::IssuerMismatch => "The authorization response's issuer (iss) is not the expected issuer.",
            CoreError::TokenPayloadNotFound => "Unable to decode token, payload not found.",
            CoreError::TokenPayloadNotBase64(_) => "Unable to decode token, payload is not a valid Base64URL value.",
            CoreError::TokenPayloadNotJson => "Unable to decode token, payload is not a valid JSON value.",
            CoreError::NotAuthenticated => "Not authenticated",
            CoreError::InvalidMinValidity => "Invalid minValidity",
            CoreError::NoRefreshToken => "Unable to update token, no refresh token available.",
            CoreError::NoTokenForHeader => "Unable to build authorization header, token is not set, make sure the user is authenticated.",
            CoreError::WebCryptoUnavailable => "Web Crypto API is not available.",
            CoreError::NotInitialized => "Keycloak is not initialized: call and await init() first.",
            CoreError::NotSupportedByOidcServer => "Not supported by the OIDC server",
            CoreError::AccountUrlInOidcMode => "Unable to create account URL, make sure the adapter is not configured using a generic OIDC provider.",
            CoreError::UserProfileInOidcMode => "Unable to load user profile, make sure the adapter is not configured using a generic OIDC provider.",
            CoreError::RegisterInOidcMode => "Redirection to \"Register user\" page not supported in standard OIDC mode",
            CoreError::AdapterMethodMissing => "adapter method missing",
            CoreError::JwksUnavailable => "Token verification failed: the realm's keys (JWKS) could not be loaded.",
            CoreError::TokenAlgorithm => "Token verification failed: the token's algorithm (alg) is not allowed.",
            CoreError::TokenKeyUnknown => "Token verification failed: no key of the realm matches the token.",
            CoreError::TokenSignature => "Token verification failed: invalid signature.",
            CoreError::TokenSignatureTimeout => "Token verification failed: the signature was not checked within requestTimeout.",
            CoreError::TokenIssuer => "Token verification failed: the token's issuer (iss) is not the realm.",
            CoreError::TokenAudience => "Token verification failed: the ID token was issued to another client.",
            CoreError::TokenExpired => "Token verification failed: the token has expired.",
            CoreError::DpopUnavailable => "DPoP needs WebCrypto and IndexedDB, which this browser does not offer here.",
            CoreError::DpopBinding => "The access token is bound to another DPoP key (cnf.jkt).",
            CoreError::ExtrasTimeout => "keycloak-wasm: the module with the additions (keycloak.extras.js) did not load within requestTimeout.",
            CoreError::NoExtras => "keycloak-wasm: this instance runs without its additions (verifyTokens, autoRefresh, syncTabs, persistSession, dpop, the Cordova adapters): pass the option to init(), or import keycloak-wasm/full.",
        }
    }

    /// The whole message: [`CoreError::message`] completed with `value` where needed.
    pub fn full_message(&self, value: &str) -> String {
        let mut m = String::from(self.message());
        match self {
            CoreError::InvalidPkceMethod => {
                m.push_str(value);
                m.push_ascii(b'.');
            }
            CoreError::CordovaPluginMissing(plugin) => {
                m.push_str(plugin);
                m.push_str(", which is not installed.");
            }
            _ => {}
        }
        m
    }
}

/// Messages of causes carried by [`CoreError::TokenPayloadNotBase64`].
pub const CAUSE_BAD_LENGTH: &str = "Input is not of the correct length.";
pub const CAUSE_BAD_CHARACTER: &str = "The string to be decoded is not correctly encoded.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_message_keeps_keycloak_js_stray_quote() {
        let e = CoreError::InvalidPkceMethod;
        assert_eq!(e.full_message("S512"), "Invalid value for pkceMethod', expected 'S256' or false but got S512.");
        assert_eq!(CoreError::CordovaPluginMissing("x").full_message(""), "The Cordova adapter needs the plugin x, which is not installed.");
        assert_eq!(e.kind(), JsKind::TypeError);
    }

    #[test]
    fn base64_error_has_cause() {
        let e = CoreError::TokenPayloadNotBase64(CAUSE_BAD_LENGTH);
        assert_eq!(e.cause(), Some("Input is not of the correct length."));
        assert_eq!(e.kind(), JsKind::Error);
    }
}
