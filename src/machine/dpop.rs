//! `dpop` (ours): DPoP-bound tokens (RFC 9449).
//!
//! The driver keeps one ECDSA P-256 key pair per origin, made with WebCrypto, the
//! private key not extractable, in IndexedDB; it tells the machine the public key
//! (`dpopkey`, asked once by `init`, which fails with a clear error where there is none)
//! and signs what the machine asks (`sign` [id, signing input] → the base64url
//! signature). Everything else is here: the proof's header and claims (`htm`, `htu`
//! without query and fragment, `iat` on the realm's clock when the skew is known, a
//! unique `jti`, `ath` when a token goes with it), which requests carry one (every token
//! request; a request with a bound access token, which then goes with the `DPoP` scheme),
//! and the check that a new access token is bound to our key (`cnf.jkt`, the RFC 7638
//! thumbprint).
//!
//! A request that needs a proof waits for its signature before it is sent: the task that
//! made it waits for its response as for any other.

use super::{Ev, Fail, Machine, Step, W_RET};
use crate::core::b64::encode_url;
use crate::core::error::CoreError;
use crate::core::options::EXTRAS;
use crate::core::json::{self, Writer};
use crate::core::sha256::sha256;
use alloc::string::String;
use crate::core::encode::PushAscii;

/// A request held until its proof is signed.
pub(crate) struct Held {
    pub id: u32,
    pub url: String,
    pub form: Option<String>,
    pub bearer: Option<String>,
    pub credentials: bool,
    pub input: String,
    /// Sent again with the server's nonce already.
    pub retried: bool,
}

impl Machine {
    /// `init`: asks for the key pair's public key; `false` when `dpop` is off.
    pub(crate) fn dpop_key(&mut self, task: u32) -> bool {
        if !self.s.dpop() {
            return false;
        }
        let id = self.next_id();
        self.wait(id, task, W_RET);
        // IndexedDB or WebCrypto that never answers: init does not wait longer than a request.
        self.arm(task, self.s.request_timeout);
        self.fx("dpopkey");
        self.w.int(id as u64);
        self.end();
        true
    }

    /// The public key (a JWK's text): kept with its thumbprint. `false` if there is none.
    pub(crate) fn dpop_keyed(&mut self, ok: bool, text: Option<&str>) -> bool {
        let Some(v) = text.filter(|_| ok).and_then(json::parse) else { return false };
        let (Some(x), Some(y)) = (v.get("x").and_then(|v| v.str().map(String::from)), v.get("y").and_then(|v| v.str().map(String::from))) else { return false };
        // RFC 7638: the required members, in order, no whitespace; also the header's `jwk`.
        let mut w = Writer::default();
        w.open_obj();
        for (k, v) in [("crv", "P-256"), ("kty", "EC"), ("x", x.as_str()), ("y", y.as_str())] {
            w.key(k);
            w.str(v);
        }
        w.close_obj();
        self.dpop_jkt = encode_url(&sha256(w.s.as_bytes()));
        self.dpop_jwk = w.s;
        true
    }

    /// The signing input of a proof for `method url`, with `ath` for `token`.
    pub(crate) fn dpop_input(&mut self, method: &str, url: &str, token: Option<&str>, nonce: Option<&str>) -> String {
        let mut h = Writer::default();
        h.open_obj();
        h.key("typ");
        h.str("dpop+jwt");
        h.key("alg");
        h.str("ES256");
        h.key("jwk");
        h.raw(&self.dpop_jwk);
        h.close_obj();
        let mut p = Writer::default();
        p.open_obj();
        p.key("jti");
        self.dpop_count += 1;
        let mut jti = encode_url(&self.rand.map(|r| r[40..56].to_vec()).unwrap_or_default());
        json::push_u64(&mut jti, self.dpop_count as u64);
        p.str(&jti);
        p.key("htm");
        p.str(method);
        p.key("htu");
        p.str(crate::core::encode::split_on(url, b"?#").next().unwrap_or(""));
        p.key("iat");
        let skew = self.sess.time_skew.unwrap_or(0.0);
        p.int(crate::core::math::floor(self.now / 1000.0 - skew).max(0.0) as u64);
        if let Some(t) = token {
            p.key("ath");
            p.str(&encode_url(&sha256(t.as_bytes())));
        }
        if let Some(n) = nonce {
            p.key("nonce");
            p.str(n);
        }
        p.close_obj();
        let mut input = encode_url(h.s.as_bytes());
        input.push_ascii(b'.');
        input.push_str(&encode_url(p.s.as_bytes()));
        input
    }

    /// `[sign, id, input, timeout]`: the driver answers within `requestTimeout`, signed or
    /// failed, so a request held for its proof never waits longer than a request may.
    pub(crate) fn dpop_sign(&mut self, id: u32, input: &str) {
        self.fx("sign");
        self.w.int(id as u64);
        self.w.str(input);
        self.w.num(self.s.request_timeout);
        self.end();
    }

    /// Whether a request goes with a proof: every token request, and one with an access
    /// token that is bound (`Some(token)`).
    pub(crate) fn dpop_wants(&self, bearer: Option<&str>) -> bool {
        self.s.dpop() && !self.dpop_jwk.is_empty() && (bearer.is_none() || self.dpop_bound)
    }

    /// A held request's signature came: it is sent (or fails as a request that could not
    /// be made). `false` when `id` is not a held request.
    pub(crate) fn dpop_signed(&mut self, id: u32, ok: bool, h: i64, sig: Option<&str>) -> bool {
        let Some(i) = self.dpop_held.iter().position(|x| x.id == id).filter(|_| EXTRAS) else { return false };
        let held = self.dpop_held.swap_remove(i);
        match sig.filter(|_| ok) {
            Some(sig) => {
                let mut held = held;
                let mut proof = core::mem::take(&mut held.input);
                proof.push_ascii(b'.');
                proof.push_str(sig);
                self.emit_fetch(id, &held.url, held.form.as_deref(), held.bearer.as_deref(), held.credentials, Some(&proof));
                self.dpop_sent.push(held);
            }
            None => self.deliver_wait(id, Ev::Http { status: 0, text: None, h }),
        }
        true
    }

    /// The answer to a request sent with a proof: the server's nonce is kept for the next
    /// proofs; a 400 or 401 that names one (`use_dpop_nonce`) is sent once more with it,
    /// unseen by the task that made the request. `false`: deliver the answer.
    pub(crate) fn dpop_answered(&mut self, id: u32, status: u16, nonce: Option<&str>, h: i64) -> bool {
        let Some(i) = self.dpop_sent.iter().position(|x| x.id == id).filter(|_| EXTRAS) else { return false };
        let mut sent = self.dpop_sent.swap_remove(i);
        let Some(nonce) = nonce.filter(|n| !n.is_empty()) else { return false };
        self.dpop_nonce = Some(String::from(nonce));
        if !(status == 400 || status == 401) || sent.retried {
            return false;
        }
        self.drop_h(h);
        let method = if sent.form.is_some() { "POST" } else { "GET" };
        sent.input = self.dpop_input(method, &sent.url.clone(), sent.bearer.clone().as_deref(), Some(nonce));
        sent.retried = true;
        self.dpop_sign(id, &sent.input.clone());
        self.dpop_held.push(sent);
        true
    }

    /// Rejects an access token bound to another key than ours.
    pub(crate) fn dpop_check(&self, payload: Option<&str>) -> Result<(), CoreError> {
        if !self.s.dpop() {
            return Ok(());
        }
        let jkt = payload.and_then(json::parse).and_then(|v| v.get("cnf")).and_then(|c| c.get("jkt")).and_then(|j| j.str().map(String::from));
        match jkt {
            Some(j) if j != self.dpop_jkt => Err(CoreError::DpopBinding),
            _ => Ok(()),
        }
    }

    /// `createDpopProof(method, url, nonce?)`: a proof for the app's own request, with
    /// `ath` of the current access token when there is one.
    #[inline(never)]
    pub(crate) fn proof_step(&mut self, id: u32, input: &mut String, ev: Ev) -> Step {
        match ev {
            Ev::Start => {
                if !self.s.dpop() || self.dpop_jwk.is_empty() {
                    return Step::Done(Err(CoreError::DpopUnavailable.into()));
                }
                let sid = self.next_id();
                self.wait(sid, id, W_RET);
                let i = core::mem::take(input);
                self.dpop_sign(sid, &i);
                *input = i;
                Step::Wait
            }
            Ev::Ret { ok: true, text: Some(sig), .. } => {
                let mut proof = core::mem::take(input);
                proof.push_ascii(b'.');
                proof.push_str(sig);
                Step::Done(self.give_text(id, proof))
            }
            Ev::Ret { h, .. } => Step::Done(if h != 0 { Err(Fail::H(h)) } else { Err(CoreError::DpopUnavailable.into()) }),
            e => {
                self.lose(e);
                Step::Wait
            }
        }
    }

    /// The `K::Proof` task for `createDpopProof`'s arguments.
    pub(crate) fn proof_task(&mut self, method: &str, url: &str, nonce: Option<&str>) -> String {
        if !self.s.dpop() || self.dpop_jwk.is_empty() {
            return String::new();
        }
        let token = self.sess.access.as_ref().filter(|_| self.dpop_bound).map(|t| t.raw.clone());
        self.dpop_input(method, url, token.as_deref(), nonce)
    }
}
