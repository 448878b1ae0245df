//! A tiny stand-in for the realm in the native tests: it issues codes and tokens
//! (unsigned JWTs whose payload carries a generation number, so a test can tell which
//! response a token came from) and answers the iframe pages' protocols.

use super::world::{url_param, Fetch, World};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

pub const ISSUER: &str = "http://idp.localhost:8080/realms/demo";
pub const ORIGIN: &str = "http://idp.localhost:8080";
pub const APP: &str = "http://app.localhost:3000";

pub fn config() -> Value {
    json!({ "url": "http://idp.localhost:8080", "realm": "demo", "clientId": "demo-app" })
}

/// The realm's keys as a JWKS: an encryption key (never used to verify) and the signing
/// key (`verifyTokens`; the simulated WebCrypto accepts our tokens' signature).
pub fn jwks() -> Value {
    json!({ "keys": [
        { "kid": "enc", "kty": "RSA", "use": "enc", "alg": "RSA-OAEP", "n": "x", "e": "AQAB" },
        { "kid": "k1", "kty": "RSA", "use": "sig", "alg": "RS256", "n": "y", "e": "AQAB" }
    ] })
}

pub fn jwt(payload: &Value) -> String {
    format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(crate::world::canon(&payload)))
}

/// The payload of one of our tokens.
pub fn payload(token: &str) -> Option<Value> {
    let p = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()
}

#[derive(Default)]
pub struct Realm {
    /// Whether the browser has an SSO session (cookie).
    pub session: bool,
    /// Whether third-party cookies reach the realm's iframes.
    pub cookies_3p: bool,
    codes: HashMap<String, (Option<String>, String)>,
    pub gen: u64,
    pub refresh_tokens: HashSet<String>,
    /// Rotate refresh tokens (the old one is revoked on use).
    pub rotate: bool,
    pub lifetime: u64,
    pub sid: String,
    /// `cnf.jkt` for the access tokens it issues (DPoP-bound), if any.
    pub jkt: Option<String>,
}

impl Realm {
    pub fn new() -> Realm {
        Realm { session: false, cookies_3p: true, lifetime: 300, sid: "sid-1".into(), ..Default::default() }
    }

    /// The callback URL the realm redirects to for an authorize URL.
    pub fn authorize(&mut self, url: &str) -> String {
        let redirect = url_param(url, "redirect_uri").unwrap_or_default();
        let state = url_param(url, "state").unwrap_or_default();
        let sep = if redirect.contains('#') { '&' } else { '#' };
        if !self.session {
            return format!("{redirect}{sep}error=login_required&state={state}&iss={}", enc(ISSUER));
        }
        let code = format!("code-{}", self.codes.len() + 1);
        self.codes.insert(code.clone(), (url_param(url, "nonce"), redirect.clone()));
        format!("{redirect}{sep}state={state}&session_state=ss&iss={}&code={code}", enc(ISSUER))
    }

    fn tokens(&mut self, now_s: u64, nonce: Option<String>) -> Value {
        self.gen += 1;
        let g = self.gen;
        let base = json!({ "iss": ISSUER, "sub": "alice-id", "sid": self.sid, "azp": "demo-app", "iat": now_s, "exp": now_s + self.lifetime, "gen": g,
            "realm_access": { "roles": ["user"] }, "resource_access": { "demo-app": { "roles": ["viewer"] } }, "preferred_username": "alice" });
        let mut base = base;
        if let Some(j) = &self.jkt {
            base["cnf"] = json!({ "jkt": j });
        }
        let mut id = base.clone();
        id.as_object_mut().unwrap().remove("cnf");
        if let Some(n) = nonce {
            id["nonce"] = json!(n);
        }
        id["typ"] = json!("ID");
        // As Keycloak's: the ID token's audience is the client.
        id["aud"] = json!("demo-app");
        let refresh = jwt(&json!({ "typ": "Refresh", "iat": now_s, "exp": now_s + 1800, "gen": g, "sid": self.sid }));
        self.refresh_tokens.insert(refresh.clone());
        json!({ "access_token": jwt(&base), "refresh_token": refresh, "id_token": jwt(&id), "token_type": "Bearer", "expires_in": self.lifetime })
    }

    /// Answers a token request: `(status, body)`.
    pub fn token(&mut self, f: &Fetch, now_ms: f64) -> (u16, Value) {
        let now_s = (now_ms / 1000.0) as u64;
        match f.form("grant_type").as_deref() {
            Some("authorization_code") => match f.form("code").and_then(|c| self.codes.remove(&c)) {
                Some((nonce, _)) => (200, self.tokens(now_s, nonce)),
                None => (400, json!({ "error": "invalid_grant", "error_description": "Code not valid" })),
            },
            Some("refresh_token") => {
                let rt = f.form("refresh_token").unwrap_or_default();
                if !self.session || !self.refresh_tokens.contains(&rt) {
                    return (400, json!({ "error": "invalid_grant", "error_description": "Session not active" }));
                }
                if self.rotate {
                    self.refresh_tokens.remove(&rt);
                }
                (200, self.tokens(now_s, None))
            }
            _ => (400, json!({ "error": "unsupported_grant_type" })),
        }
    }

    /// Answers the first pending token request in the world.
    pub fn serve_token(&mut self, w: &mut World) -> bool {
        let Some(f) = w.take_fetch("/token") else { return false };
        match self.token(&f, w.now) {
            (200, body) => w.answer(&f, body),
            (status, body) => w.answer_status(&f, status, body),
        }
        true
    }

    /// What the session status iframe answers for a posted message.
    pub fn status(&self, message: &str) -> &'static str {
        if !self.cookies_3p {
            return "error";
        }
        let sid = message.split(' ').nth(1).unwrap_or("");
        match (self.session, sid.is_empty()) {
            (false, true) => "unchanged",
            (false, false) => "changed",
            (true, _) if sid == self.sid => "unchanged",
            (true, _) => "changed",
        }
    }
}

pub fn enc(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}
