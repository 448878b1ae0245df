//! `verifyTokens` (ours; keycloak-js never checks a signature): before any property
//! changes, the access and ID tokens of a token response, a callback or `init` are
//! checked against the realm's keys.
//!
//! Per token: `alg` one of RS/PS/ES 256/384/512 (never `none` or an HMAC, so a public
//! key cannot be used as a shared secret); `iss` the realm; for the ID token `aud`
//! naming this client and `azp`, when present, this client; for a token the realm just
//! issued, not expired (10 minutes of tolerance, on top of `timeSkew` when the app set
//! one); then the signature, which the driver checks with WebCrypto (effect `verify`,
//! answered by a `ret`). The keys (JWKS) load once and stay; a `kid` they do not hold
//! loads them again, at most once per verification and, for the same `kid`, once in 10
//! seconds, so a key the realm rotated in is found and a forged `kid` cannot make us
//! hammer the realm. Opaque access tokens of a generic provider have nothing to check.
//! A signature WebCrypto has not checked within `requestTimeout` fails the verification.

use super::{Ev, Machine, Out, Step, W_RET};
use crate::core::error::CoreError;
use crate::core::json::{self, Val};
use crate::core::jwt::{base64url_decode_text, decode_payload};
use alloc::string::String;
use alloc::vec::Vec;

/// Algorithms whose signatures the driver can check (WebCrypto), and only those.
const ALGS: [&str; 9] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];
/// Seconds a token the realm just issued may be past its `exp` (clocks differ).
const EXP_TOLERANCE: f64 = 600.0;
/// Milliseconds before the same unknown `kid` may load the keys again.
const REFETCH_MS: f64 = 10_000.0;

pub(crate) struct Verify {
    /// (raw token, is the ID token)
    toks: Vec<(String, bool)>,
    /// Tokens the realm just issued (their `exp` is checked); not those passed to `init`.
    fresh: bool,
    next: usize,
    stage: u8,
    refetched: bool,
}

impl Verify {
    pub(crate) fn new(toks: Vec<(String, bool)>, fresh: bool) -> Verify {
        Verify { toks, fresh, next: 0, stage: 0, refetched: false }
    }
}

fn text_of(v: &Option<Val<'_>>) -> Option<String> {
    match v {
        Some(Val::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

impl Machine {
    #[inline(never)]
    pub(crate) fn verify_step(&mut self, id: u32, v: &mut Verify, ev: Ev) -> Step {
        match (v.stage, ev) {
            (0, Ev::Start) => {
                if self.jwks.is_none() {
                    return self.load_keys(id, v);
                }
                self.verify_next(id, v)
            }
            (1, Ev::Http { status, text, h }) => {
                self.drop_h(h);
                match text.filter(|_| (200..300).contains(&status)) {
                    Some(t) if json::parse(t).is_some_and(|d| matches!(d.get("keys"), Some(Val::Arr(_)))) => {
                        self.jwks = Some(String::from(t));
                        self.verify_next(id, v)
                    }
                    _ => Step::Done(Err(CoreError::JwksUnavailable.into())),
                }
            }
            (2, Ev::Ret { ok, h, .. }) => {
                self.disarm(id);
                self.drop_h(h);
                if !ok {
                    return Step::Done(Err(CoreError::TokenSignature.into()));
                }
                v.next += 1;
                self.verify_next(id, v)
            }
            // A WebCrypto that never answers (a stub, a stuck polyfill): failed, not waited for.
            (2, Ev::Timer) => Step::Done(Err(CoreError::TokenSignatureTimeout.into())),
            (_, e) => {
                self.lose(e);
                Step::Wait
            }
        }
    }

    fn load_keys(&mut self, id: u32, v: &mut Verify) -> Step {
        let Some(url) = self.ep.as_ref().and_then(|e| e.jwks()) else {
            return Step::Done(Err(CoreError::JwksUnavailable.into()));
        };
        v.stage = 1;
        self.fetch(id, &url, None, None, false);
        Step::Wait
    }

    /// Checks the claims of the next token and asks the driver for its signature.
    fn verify_next(&mut self, id: u32, v: &mut Verify) -> Step {
        let Some((raw, is_id)) = v.toks.get(v.next).cloned() else {
            return Step::Done(Ok(Out::Undefined));
        };
        let mut parts = crate::core::encode::split_on(&raw, b".");
        let (Some(head), Some(_), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Step::Done(Err(CoreError::TokenAlgorithm.into()));
        };
        let header = base64url_decode_text(head).unwrap_or_default();
        let header = json::parse(&header).unwrap_or(Val::Null);
        let alg = text_of(&header.get("alg")).unwrap_or_default();
        if !ALGS.contains(&alg.as_str()) {
            return Step::Done(Err(CoreError::TokenAlgorithm.into()));
        }
        if let Err(e) = self.check_claims(&raw, is_id, v.fresh) {
            return Step::Done(Err(e.into()));
        }
        let kid = text_of(&header.get("kid"));
        let Some(key) = self.key_for(&alg, kid.as_deref()) else {
            let again = !v.refetched && (self.jwks_miss.0 != kid || self.now - self.jwks_miss.1 >= REFETCH_MS);
            if again {
                v.refetched = true;
                self.jwks_miss = (kid, self.now);
                return self.load_keys(id, v);
            }
            return Step::Done(Err(CoreError::TokenKeyUnknown.into()));
        };
        let signed_len = raw.len() - sig.len() - 1;
        let ret = self.next_id();
        self.wait(ret, id, W_RET);
        self.fx("verify");
        self.w.int(ret as u64);
        self.w.str(&alg);
        self.w.str(&key);
        self.w.str(crate::core::encode::sub(&raw, 0, signed_len));
        self.w.str(sig);
        self.end();
        self.arm(id, self.s.request_timeout);
        v.stage = 2;
        Step::Wait
    }

    fn check_claims(&self, raw: &str, is_id: bool, fresh: bool) -> Result<(), CoreError> {
        let payload = decode_payload(raw)?;
        let claims = json::parse(&payload).ok_or(CoreError::TokenPayloadNotJson)?;
        if let Some(expected) = self.ep.as_ref().and_then(|e| e.expected_issuer()) {
            if text_of(&claims.get("iss")).as_deref() != Some(expected) {
                return Err(CoreError::TokenIssuer);
            }
        }
        if is_id {
            let client = self.client_id.as_str();
            let aud_ok = match claims.get("aud") {
                Some(Val::Str(s)) => s == client,
                Some(Val::Arr(list)) => json::elements(list).iter().any(|a| a.str() == Some(client)),
                _ => false,
            };
            let azp_ok = claims.get("azp").is_none_or(|a| a.str() == Some(client));
            if !aud_ok || !azp_ok {
                return Err(CoreError::TokenAudience);
            }
        }
        if fresh {
            if let Some(exp) = claims.get("exp").and_then(|e| e.num()) {
                let now = self.now / 1000.0 - self.s.time_skew.unwrap_or(0.0);
                if exp + EXP_TOLERANCE < now {
                    return Err(CoreError::TokenExpired);
                }
            }
        }
        Ok(())
    }

    /// The JSON text of the key that signs `alg` tokens with this `kid` (or, without a
    /// `kid`, the only such key).
    fn key_for(&self, alg: &str, kid: Option<&str>) -> Option<String> {
        let doc = json::parse(self.jwks.as_deref()?)?;
        let Some(Val::Arr(keys)) = doc.get("keys") else { return None };
        let kty = if alg.starts_with('E') { "EC" } else { "RSA" };
        let field = |key: &Val<'_>, name: &str| text_of(&key.get(name));
        let mut found = None;
        for key in json::elements(keys) {
            let fits = field(&key, "kty").as_deref() == Some(kty)
                && field(&key, "use").is_none_or(|u| u == "sig")
                && field(&key, "alg").is_none_or(|a| a == alg)
                && (kid.is_none() || field(&key, "kid").as_deref() == kid);
            if fits {
                if found.is_some() {
                    return None;
                }
                found = Some(key.raw());
            }
        }
        found
    }

    /// Starts verifying the access and ID tokens of `set` (JWTs only) for task `parent`;
    /// `None` when `verifyTokens` is off or there is nothing to check.
    pub(crate) fn start_verify(&mut self, parent: u32, toks: [Option<&str>; 2], fresh: bool) -> Option<u32> {
        if !self.s.verify_tokens() {
            return None;
        }
        let list: Vec<(String, bool)> = toks
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.map(|t| (String::from(t), i == 1)))
            .filter(|(t, is_id)| *is_id || !self.opaque_ok() || decode_payload(t).is_ok())
            .collect();
        if list.is_empty() {
            return None;
        }
        Some(self.spawn(super::Parent::Task(parent), super::K::Verify(alloc::boxed::Box::new(Verify::new(list, fresh)))))
    }
}
