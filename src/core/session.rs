//! The token/session state machine: what keycloak-js keeps in `#setToken`,
//! `isTokenExpired`, `updateToken` and `clearToken` (reference §2.9-§2.13), as plain data.
//! The parsed token objects users see live in JavaScript; this keeps the claims the
//! adapter itself needs.

use alloc::string::String;
use alloc::vec::Vec;

use crate::core::callback::Flow;
use crate::core::error::CoreError;
use crate::core::math::{ceil, floor};

/// The claims the adapter reads from a decoded token.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims {
    /// `exp` when it is a number.
    pub exp: Option<f64>,
    /// `iat` when it is a number.
    pub iat: Option<f64>,
    pub sid: Option<String>,
    pub sub: Option<String>,
    pub nonce: Option<String>,
}

impl Claims {
    /// What the adapter assumes about an opaque access token (a generic OIDC provider
    /// need not issue JWTs): the ID token's claims from the same response (subject,
    /// session, roles if any), issued at the ID token's `iat` (server time, so `timeSkew`
    /// still means something) or else at the local time, and expiring `expires_in`
    /// seconds later; with no `expires_in` the expiry is unknown.
    pub fn for_opaque_access(id: Option<&Claims>, expires_in: Option<f64>, time_local_ms: f64) -> Claims {
        let mut c = id.cloned().unwrap_or_default();
        c.nonce = None;
        let iat = c.iat.unwrap_or(floor(time_local_ms / 1000.0));
        c.iat = Some(iat);
        c.exp = expires_in.filter(|e| e.is_finite()).map(|e| iat + e);
        c
    }
}

/// A token string with its claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub raw: String,
    pub claims: Claims,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    pub access: Option<Token>,
    pub refresh: Option<Token>,
    pub id: Option<Token>,
    /// `timeSkew` in seconds; `None` is keycloak-js's `null`.
    pub time_skew: Option<f64>,
    /// `sessionId` (the access token's `sid`); kept after `clearToken`, as keycloak-js does.
    pub session_id: Option<String>,
}

/// What a refresh decision came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// `updateToken(-1)`.
    Forced,
    /// The token expires within `minValidity` seconds (or was never parsed).
    Expired,
    /// Still valid: `updateToken` resolves `false` without a request.
    NotNeeded,
}

/// `minValidity || 5` (keycloak-js quirk 1). The browser passes `None` for every falsy
/// value (undefined, 0, NaN, "") and `Some(Number(v))` otherwise, so a truthy non-numeric
/// value arrives as `Some(NaN)` and is rejected later, as in keycloak-js.
pub fn effective_min_validity(min_validity: Option<f64>) -> f64 {
    min_validity.unwrap_or(5.0)
}

/// keycloak-js's midpoint of a request: `(start + end) / 2` in epoch ms.
pub fn midpoint(start_ms: f64, end_ms: f64) -> f64 {
    (start_ms + end_ms) / 2.0
}

impl Session {
    pub fn authenticated(&self) -> bool {
        self.access.is_some()
    }

    /// `#setToken(token, refreshToken, idToken, timeLocal)`: absent tokens are removed.
    /// Returns the milliseconds until the access token expires (for `onTokenExpired`),
    /// when an access token is set and the skew is known.
    pub fn set_tokens(&mut self, access: Option<Token>, refresh: Option<Token>, id: Option<Token>, time_local_ms: Option<f64>, now_ms: f64) -> Option<f64> {
        self.refresh = refresh;
        self.id = id;
        self.access = access;
        let access = self.access.as_ref()?;
        self.session_id = access.claims.sid.clone();
        if let Some(t) = time_local_ms.filter(|t| *t != 0.0) {
            self.time_skew = Some(floor(t / 1000.0) - access.claims.iat.unwrap_or(f64::NAN));
        }
        let skew = self.time_skew?;
        Some((access.claims.exp.unwrap_or(f64::NAN) - now_ms / 1000.0 + skew) * 1000.0)
    }

    /// `isTokenExpired(minValidity)`. `Ok(None)` is "unknown skew" (keycloak-js logs and
    /// answers `true`).
    pub fn is_token_expired(&self, min_validity: Option<f64>, now_ms: f64, flow: Flow) -> Result<Option<bool>, CoreError> {
        let access = self.access.as_ref().ok_or(CoreError::NotAuthenticated)?;
        if self.refresh.is_none() && flow != Flow::Implicit {
            return Err(CoreError::NotAuthenticated);
        }
        let Some(skew) = self.time_skew else { return Ok(None) };
        let Some(exp) = access.claims.exp else { return Ok(Some(false)) };
        let mut expires_in = exp - ceil(now_ms / 1000.0) + skew;
        if let Some(mv) = min_validity {
            if mv.is_nan() {
                return Err(CoreError::InvalidMinValidity);
            }
            expires_in -= mv;
        }
        Ok(Some(expires_in < 0.0))
    }

    /// The first half of `updateToken`: must we ask the server?
    pub fn refresh_decision(&self, min_validity: Option<f64>, now_ms: f64, flow: Flow) -> Result<Refresh, CoreError> {
        if self.refresh.is_none() {
            return Err(CoreError::NoRefreshToken);
        }
        let mv = effective_min_validity(min_validity);
        if mv == -1.0 {
            return Ok(Refresh::Forced);
        }
        if self.access.is_none() || self.is_token_expired(Some(mv), now_ms, flow)?.unwrap_or(true) {
            return Ok(Refresh::Expired);
        }
        Ok(Refresh::NotNeeded)
    }

    /// The nonce check after a code exchange or implicit callback: only the ID token's
    /// nonce is compared, and only when there is an ID token.
    pub fn nonce_matches(&self, use_nonce: bool, stored_nonce: Option<&str>) -> bool {
        match (&self.id, use_nonce) {
            (Some(id), true) => id.claims.nonce.as_deref() == stored_nonce,
            _ => true,
        }
    }
}

/// Callers waiting on one shared request: the in-flight refresh, or one message to the
/// session iframe. The first caller performs it, later callers wait for the same outcome,
/// and everyone is settled together (newest first, as keycloak-js pops).
#[derive(Debug)]
pub struct Waiters<W> {
    waiters: Vec<W>,
}

impl<W> Default for Waiters<W> {
    fn default() -> Self {
        Waiters { waiters: Vec::new() }
    }
}

impl<W> Waiters<W> {
    /// Adds a waiter; `true` when this caller must perform the request.
    pub fn join(&mut self, waiter: W) -> bool {
        self.waiters.push(waiter);
        self.waiters.len() == 1
    }

    /// Takes every waiter, newest first.
    pub fn drain(&mut self) -> Vec<W> {
        let mut all = core::mem::take(&mut self.waiters);
        all.reverse();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(exp: f64, iat: f64) -> Token {
        Token {
            raw: "a.b.c".into(),
            claims: Claims {
                exp: Some(exp),
                iat: Some(iat),
                sid: Some("SID".into()),
                sub: Some("alice".into()),
                nonce: Some("N".into()),
            },
        }
    }

    fn logged_in(now_s: f64) -> Session {
        let mut s = Session::default();
        s.set_tokens(Some(token(now_s + 300.0, now_s)), Some(token(now_s + 1800.0, now_s)), Some(token(now_s + 300.0, now_s)), Some(now_s * 1000.0), now_s * 1000.0);
        s
    }

    #[test]
    fn set_tokens_computes_skew_and_expiry() {
        let mut s = Session::default();
        // browser clock 40 s ahead of the server
        let now = 1_000_040_000.0;
        let left = s.set_tokens(Some(token(1_000_300.0, 1_000_000.0)), None, None, Some(now), now);
        assert_eq!(s.time_skew, Some(40.0));
        assert_eq!(left, Some(300_000.0));
        assert_eq!(s.session_id.as_deref(), Some("SID"));
        assert!(s.authenticated());
    }

    #[test]
    fn skew_kept_when_no_time_local() {
        let mut s = Session { time_skew: Some(-2.0), ..Default::default() };
        s.set_tokens(Some(token(100.0, 0.0)), None, None, None, 0.0);
        assert_eq!(s.time_skew, Some(-2.0));
        let mut s = Session::default();
        assert_eq!(s.set_tokens(Some(token(100.0, 0.0)), None, None, None, 0.0), None);
        assert_eq!(s.time_skew, None);
    }

    #[test]
    fn clearing_keeps_session_id() {
        let mut s = logged_in(1000.0);
        assert_eq!(s.set_tokens(None, None, None, None, 0.0), None);
        assert!(!s.authenticated());
        assert!(s.refresh.is_none() && s.id.is_none());
        assert_eq!(s.session_id.as_deref(), Some("SID"));
    }

    #[test]
    fn is_token_expired_formula() {
        let s = logged_in(1000.0);
        assert_eq!(s.is_token_expired(None, 1_000_000.0, Flow::Standard), Ok(Some(false)));
        assert_eq!(s.is_token_expired(Some(299.0), 1_000_000.0, Flow::Standard), Ok(Some(false)));
        assert_eq!(s.is_token_expired(Some(301.0), 1_000_000.0, Flow::Standard), Ok(Some(true)));
        assert_eq!(s.is_token_expired(Some(f64::NAN), 1_000_000.0, Flow::Standard), Err(CoreError::InvalidMinValidity));
        assert_eq!(Session::default().is_token_expired(None, 0.0, Flow::Standard), Err(CoreError::NotAuthenticated));
        let mut implicit = Session::default();
        implicit.set_tokens(Some(token(10.0, 0.0)), None, None, None, 0.0);
        assert_eq!(implicit.is_token_expired(None, 0.0, Flow::Standard), Err(CoreError::NotAuthenticated));
        assert_eq!(implicit.is_token_expired(None, 0.0, Flow::Implicit), Ok(None));
    }

    #[test]
    fn refresh_decisions() {
        let s = logged_in(1000.0);
        assert_eq!(s.refresh_decision(Some(-1.0), 1_000_000.0, Flow::Standard), Ok(Refresh::Forced));
        assert_eq!(s.refresh_decision(None, 1_000_000.0, Flow::Standard), Ok(Refresh::NotNeeded));
        assert_eq!(s.refresh_decision(None, 1_296_000.0, Flow::Standard), Ok(Refresh::Expired)); // falsy means 5
        assert_eq!(s.refresh_decision(Some(f64::NAN), 1_000_000.0, Flow::Standard), Err(CoreError::InvalidMinValidity));
        assert_eq!(s.refresh_decision(Some(400.0), 1_000_000.0, Flow::Standard), Ok(Refresh::Expired));
        assert_eq!(Session::default().refresh_decision(None, 0.0, Flow::Standard), Err(CoreError::NoRefreshToken));
    }

    #[test]
    fn nonce() {
        let s = logged_in(1000.0);
        assert!(s.nonce_matches(true, Some("N")));
        assert!(!s.nonce_matches(true, Some("other")));
        assert!(s.nonce_matches(false, Some("other")));
    }

    #[test]
    fn waiters_share_one_request() {
        let mut q = Waiters::default();
        assert!(q.join(1));
        assert!(!q.join(2));
        assert!(!q.join(3));
        assert_eq!(q.drain(), vec![3, 2, 1]);
        assert!(q.join(4));
    }

    #[test]
    fn opaque_access_claims_come_from_the_id_token_and_expires_in() {
        let id = Claims { iat: Some(1000.0), exp: Some(1300.0), sub: Some("u".into()), sid: Some("s".into()), nonce: Some("n".into()), ..Claims::default() };
        let c = Claims::for_opaque_access(Some(&id), Some(60.0), 5_000_000.0);
        assert_eq!((c.iat, c.exp, c.sub.as_deref(), c.sid.as_deref(), c.nonce), (Some(1000.0), Some(1060.0), Some("u"), Some("s"), None));
        let c = Claims::for_opaque_access(None, None, 5_000_999.0);
        assert_eq!((c.iat, c.exp, c.sub), (Some(5000.0), None, None));
        let mut s = Session::default();
        s.set_tokens(Some(Token { raw: "opaque".into(), claims: Claims::for_opaque_access(None, Some(300.0), 10_000.0) }), None, None, Some(10_000.0), 10_000.0);
        assert_eq!(s.time_skew, Some(0.0));
        assert_eq!(s.is_token_expired(Some(200.0), 10_000.0, Flow::Implicit), Ok(Some(false)));
        assert_eq!(s.is_token_expired(Some(301.0), 10_000.0, Flow::Implicit), Ok(Some(true)));
    }
}
