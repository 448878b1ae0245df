//! JWS compact serialization with the `rsa` (RS256) and `hmac` (HS512) crates.
//! Headers are written byte-for-byte the way Keycloak's JWSBuilder writes them.

use crate::util::{b64url, b64url_decode, sha256};
use hmac::{Hmac, Mac};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{Map, Value};
use sha2::{Sha256, Sha512};

pub struct RsaKeys {
    signing: SigningKey<Sha256>,
    verifying: VerifyingKey<Sha256>,
    pub kid: String,
    pub n: String,
    pub e: String,
    /// base64 DER SubjectPublicKeyInfo (the realm's `public_key`).
    pub spki_b64: String,
}

impl RsaKeys {
    pub fn generate() -> Result<RsaKeys, String> {
        RsaKeys::generate_bits(2048)
    }

    pub fn generate_bits(bits: usize) -> Result<RsaKeys, String> {
        let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, bits).map_err(|e| format!("RSA key generation failed: {e}"))?;
        let public = key.to_public_key();
        let n = public.n().to_bytes_be();
        let e = public.e().to_bytes_be();
        let spki = {
            use rsa::pkcs8::EncodePublicKey;
            public.to_public_key_der().map(|d| crate::util::b64std(d.as_bytes())).unwrap_or_default()
        };
        // Opaque 43-character key id derived from the public key.
        let kid = b64url(&sha256(&[n.as_slice(), e.as_slice()].concat()));
        Ok(RsaKeys {
            verifying: VerifyingKey::<Sha256>::new(public),
            signing: SigningKey::<Sha256>::new(key),
            kid,
            n: b64url(&n),
            e: b64url(&e),
            spki_b64: spki,
        })
    }

    pub fn sign(&self, claims: &Map<String, Value>) -> String {
        let header = format!(r#"{{"alg":"RS256","typ" : "JWT","kid" : "{}"}}"#, self.kid);
        let input = format!("{}.{}", b64url(header.as_bytes()), b64url(&serde_json::to_vec(claims).unwrap_or_default()));
        let sig = self.signing.sign(input.as_bytes());
        format!("{input}.{}", b64url(&sig.to_bytes()))
    }

    /// Verify an RS256 token signed by this key; returns its claims.
    pub fn verify(&self, token: &str) -> Option<Map<String, Value>> {
        let (input, sig, header) = split(token)?;
        if header.get("alg")?.as_str()? != "RS256" {
            return None;
        }
        let sig = Signature::try_from(sig.as_slice()).ok()?;
        self.verifying.verify(input.as_bytes(), &sig).ok()?;
        payload(input)
    }
}

type HmacSha512 = Hmac<Sha512>;

pub fn sign_hs512(key: &[u8], kid: &str, claims: &Map<String, Value>) -> String {
    let header = format!(r#"{{"alg":"HS512","typ" : "JWT","kid" : "{kid}"}}"#);
    let input = format!("{}.{}", b64url(header.as_bytes()), b64url(&serde_json::to_vec(claims).unwrap_or_default()));
    let mut mac = HmacSha512::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(input.as_bytes());
    format!("{input}.{}", b64url(&mac.finalize().into_bytes()))
}

pub fn verify_hs512(key: &[u8], token: &str) -> Option<Map<String, Value>> {
    let (input, sig, header) = split(token)?;
    if header.get("alg")?.as_str()? != "HS512" {
        return None;
    }
    let mut mac = HmacSha512::new_from_slice(key).ok()?;
    mac.update(input.as_bytes());
    mac.verify_slice(&sig).ok()?;
    payload(input)
}

fn split(token: &str) -> Option<(&str, Vec<u8>, Map<String, Value>)> {
    let token = token.trim();
    let (input, sig) = token.rsplit_once('.')?;
    let (h, p) = input.split_once('.')?;
    if p.contains('.') || h.is_empty() || p.is_empty() {
        return None;
    }
    let header: Value = serde_json::from_slice(&b64url_decode(h)?).ok()?;
    let header = header.as_object()?.clone();
    Some((input, b64url_decode(sig)?, header))
}

/// The payload of a well-formed JWT, read without checking anything (Keycloak reads the
/// issuer this way to pick the realm whose keys then verify the token).
pub fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    let (input, _, _) = split(token)?;
    payload(input)
}

fn payload(input: &str) -> Option<Map<String, Value>> {
    let p = input.split_once('.')?.1;
    let v: Value = serde_json::from_slice(&b64url_decode(p)?).ok()?;
    v.as_object().cloned()
}

/// `at_hash` / `c_hash` for RS256: left half of SHA-256, base64url.
pub fn half_hash(s: &str) -> String {
    let h = sha256(s.as_bytes());
    b64url(&h[..16])
}
