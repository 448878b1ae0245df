//! DPoP proofs (RFC 9449) as Keycloak 26 checks them (shared/reference/keycloak-server-2.md §2):
//! the checks in their order, Keycloak 26.1+'s messages, the RFC 7638 thumbprint the
//! tokens are bound to. No server nonces (Keycloak 26 issues none).

use crate::util::{b64url, b64url_decode, sha256};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The algorithms a proof may use, in the order Keycloak lists its asymmetric signature
/// providers. ES512 (P-521) is left out: `ring` cannot verify it.
pub const ALGS: &[&str] = &["PS384", "RS384", "EdDSA", "ES384", "ES256", "RS256", "PS256", "PS512", "RS512"];

/// The values Keycloak's JWS `Algorithm` enum knows; anything else fails to parse.
const KNOWN_ALGS: &[&str] =
    &["none", "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"];

/// Proof lifetime and allowed clock skew, seconds (not configurable in Keycloak either).
const LIFETIME: i64 = 10;
const CLOCK_SKEW: i64 = 15;

/// The header name.
pub const HEADER: &str = "dpop";

/// Whether the client requires DPoP (`dpop.bound.access.tokens`, read like Java's
/// `Boolean.parseBoolean`).
pub fn required(client: &crate::model::Client) -> bool {
    client.attr("dpop.bound.access.tokens").is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The `DPoP` header as JAX-RS `getHeaderString` reads it: several headers are joined
/// with `,`; `None` when there is none.
pub fn header(headers: &axum::http::HeaderMap) -> Option<String> {
    let values: Vec<String> =
        headers.get_all(HEADER).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// Used proofs, server-wide: `jti + "\n" + htu` → the time the entry may be forgotten.
#[derive(Default)]
pub struct ReplayCache(HashMap<String, i64>);

impl ReplayCache {
    /// Put-if-absent; false if the key is already there (and not expired).
    fn put_if_absent(&mut self, key: String, until: i64, now: i64) -> bool {
        if self.0.len() > 4096 {
            self.sweep(now);
        }
        match self.0.get(&key) {
            Some(&t) if t >= now => false,
            _ => {
                self.0.insert(key, until);
                true
            }
        }
    }

    pub fn sweep(&mut self, now: i64) {
        self.0.retain(|_, t| *t >= now);
    }
}

/// What the request the proof must match looks like.
pub struct Target<'a> {
    pub method: &'a str,
    /// The server's URL of the request, without query.
    pub url: &'a str,
    /// At resource endpoints: the access token the proof's `ath` must hash.
    pub access_token: Option<&'a str>,
}

/// A valid proof: the thumbprint of its key.
pub struct Proof {
    pub jkt: String,
}

/// A proof's public key.
enum Key {
    Ec { crv: String, point: Vec<u8> },
    Rsa(rsa::RsaPublicKey),
    Okp { crv: String, x: Vec<u8> },
}

fn fail(msg: &str) -> String {
    msg.to_string()
}

/// Keycloak's message when the signature does not verify: its TokenVerifier wraps the
/// signature exception, so the exception's class name is part of the text.
pub const BAD_SIGNATURE: &str =
    "DPoP verification failure: org.keycloak.exceptions.TokenSignatureInvalidException: Invalid token signature";

/// Validate a proof (checks 1-10, and 11 when `target.access_token` is set). Errors are
/// Keycloak's `error_description`s.
pub fn validate(proof: Option<&str>, target: &Target, replay: &mut ReplayCache, now: i64) -> Result<Proof, String> {
    // 1. present
    let proof = proof.map(str::trim).filter(|p| !p.is_empty()).ok_or_else(|| fail("DPoP proof is missing"))?;
    // 2. parses (header and payload as JSON objects, claims of the right JSON types)
    let parsed = parse(proof).ok_or_else(|| fail("DPoP header verification failure"))?;
    let h = &parsed.header;
    // 3. typ
    let typ = match h.get("typ") {
        None | Some(Value::Null) => "null".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    };
    if typ != "dpop+jwt" {
        return Err(format!("Invalid or missing type in DPoP header: {typ}"));
    }
    // 4. alg (parse() made sure it is one Keycloak knows)
    let alg = h.get("alg").and_then(Value::as_str).unwrap_or("none");
    if !ALGS.contains(&alg) {
        return Err(format!("Unsupported DPoP algorithm: {alg}"));
    }
    // 5. jwk
    let jwk = match h.get("jwk") {
        Some(Value::Object(j)) => j,
        _ => return Err(fail("No JWK in DPoP header")),
    };
    let key = public_key(jwk).ok_or_else(|| fail("No public key in DPoP header"))?;
    if ["d", "p", "q", "dp", "dq", "qi"].iter().any(|k| jwk.contains_key(*k)) {
        return Err(fail("Private key is present in DPoP header"));
    }
    // 6. signature
    if !verify_signature(alg, &key, parsed.signing_input.as_bytes(), &parsed.signature) {
        return Err(fail(BAD_SIGNATURE));
    }
    // 7. mandatory claims
    let c = &parsed.claims;
    let (Some(iat), Some(jti), Some(htm), Some(htu)) = (c.iat, nonblank(&c.jti), nonblank(&c.htm), nonblank(&c.htu)) else {
        return Err(fail("DPoP mandatory claims are missing"));
    };
    // 8. htu, then htm
    let theirs = normalize_uri(htu).ok_or_else(|| fail("Malformed HTTP URL in DPoP proof"))?;
    let ours = normalize_uri(target.url).ok_or_else(|| fail("Malformed HTTP URL in DPoP proof"))?;
    if theirs != ours {
        return Err(fail("DPoP HTTP URL mismatch"));
    }
    if htm != target.method {
        return Err(fail("DPoP HTTP method mismatch"));
    }
    // 9. iat window
    if !(iat <= now + CLOCK_SKEW && iat >= now - LIFETIME - CLOCK_SKEW) {
        return Err(fail("DPoP proof is not active"));
    }
    // 10. replay (jti + htu as sent), remembered until iat + lifetime + skew
    if !replay.put_if_absent(format!("{jti}\n{htu}"), iat + LIFETIME + CLOCK_SKEW, now) {
        return Err(fail("DPoP proof has already been used"));
    }
    // 11. ath
    if let Some(at) = target.access_token {
        let ath = c.ath.as_deref().ok_or_else(|| fail("No access token hash in DPoP proof"))?;
        if ath != b64url(&sha256(at.as_bytes())) {
            return Err(fail("DPoP proof access token hash mismatch"));
        }
    }
    let jkt = thumbprint(jwk).ok_or_else(|| fail("No public key in DPoP header"))?;
    Ok(Proof { jkt })
}

fn nonblank(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.trim().is_empty())
}

struct Claims {
    iat: Option<i64>,
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    ath: Option<String>,
}

struct Parsed {
    header: Map<String, Value>,
    claims: Claims,
    signing_input: String,
    signature: Vec<u8>,
}

fn parse(token: &str) -> Option<Parsed> {
    let mut parts: Vec<&str> = token.split('.').collect();
    // Java's String.split drops trailing empty parts.
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let header = json_object(parts[0])?;
    let payload = json_object(parts[1])?;
    let signature = match parts.get(2) {
        Some(s) => b64url_decode(s)?,
        None => Vec::new(),
    };
    // The header is read into a JWSHeader: `alg` must be one of its enum values, `jwk` an
    // object, `typ` a scalar.
    match header.get("alg") {
        Some(Value::String(a)) if KNOWN_ALGS.contains(&a.as_str()) => {}
        _ => return None,
    }
    if matches!(header.get("jwk"), Some(v) if !v.is_object() && !v.is_null()) {
        return None;
    }
    if matches!(header.get("typ"), Some(Value::Object(_) | Value::Array(_))) {
        return None;
    }
    let claims = Claims {
        iat: long_claim(payload.get("iat"))?,
        jti: string_claim(payload.get("jti"))?,
        htm: string_claim(payload.get("htm"))?,
        htu: string_claim(payload.get("htu"))?,
        ath: string_claim(payload.get("ath"))?,
    };
    Some(Parsed { header, claims, signing_input: format!("{}.{}", parts[0], parts[1]), signature })
}

fn json_object(part: &str) -> Option<Map<String, Value>> {
    match serde_json::from_slice(&b64url_decode(part)?).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// A `Long` claim as Jackson reads it: numbers (fractions truncated) and numeric strings;
/// `Some(None)` when absent, `None` when it cannot be read.
fn long_claim(v: Option<&Value>) -> Option<Option<i64>> {
    match v {
        None | Some(Value::Null) => Some(None),
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)).map(Some),
        Some(Value::String(s)) => s.trim().parse().ok().map(Some),
        _ => None,
    }
}

/// A `String` claim as Jackson reads it: scalars become text; objects and arrays fail.
fn string_claim(v: Option<&Value>) -> Option<Option<String>> {
    match v {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Some(Some(v.to_string())),
        _ => None,
    }
}

fn member<'a>(jwk: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    jwk.get(k).and_then(Value::as_str)
}

fn b64_member(jwk: &Map<String, Value>, k: &str) -> Option<Vec<u8>> {
    b64url_decode(member(jwk, k)?).filter(|b| !b.is_empty())
}

fn public_key(jwk: &Map<String, Value>) -> Option<Key> {
    match member(jwk, "kty")? {
        "EC" => {
            let crv = member(jwk, "crv")?;
            let size = match crv {
                "P-256" => 32,
                "P-384" => 48,
                "P-521" => 66,
                _ => return None,
            };
            let (x, y) = (b64_member(jwk, "x")?, b64_member(jwk, "y")?);
            if x.len() > size || y.len() > size {
                return None;
            }
            // Uncompressed point: 0x04 || X || Y, coordinates left-padded to the field size.
            let mut point = vec![4u8];
            for c in [&x, &y] {
                point.extend(std::iter::repeat_n(0u8, size - c.len()));
                point.extend_from_slice(c);
            }
            Some(Key::Ec { crv: crv.to_string(), point })
        }
        "RSA" => {
            let n = rsa::BigUint::from_bytes_be(&b64_member(jwk, "n")?);
            let e = rsa::BigUint::from_bytes_be(&b64_member(jwk, "e")?);
            rsa::RsaPublicKey::new(n, e).ok().map(Key::Rsa)
        }
        "OKP" => {
            let crv = member(jwk, "crv")?;
            if crv != "Ed25519" && crv != "Ed448" {
                return None;
            }
            Some(Key::Okp { crv: crv.to_string(), x: b64_member(jwk, "x")? })
        }
        _ => None,
    }
}

fn verify_signature(alg: &str, key: &Key, input: &[u8], sig: &[u8]) -> bool {
    use ring::signature as rs;
    use rsa::signature::Verifier;
    use sha2::{Sha256, Sha384, Sha512};
    match (alg, key) {
        ("ES256", Key::Ec { crv, point }) if crv == "P-256" => {
            rs::UnparsedPublicKey::new(&rs::ECDSA_P256_SHA256_FIXED, point).verify(input, sig).is_ok()
        }
        ("ES384", Key::Ec { crv, point }) if crv == "P-384" => {
            rs::UnparsedPublicKey::new(&rs::ECDSA_P384_SHA384_FIXED, point).verify(input, sig).is_ok()
        }
        ("EdDSA", Key::Okp { crv, x }) if crv == "Ed25519" => rs::UnparsedPublicKey::new(&rs::ED25519, x).verify(input, sig).is_ok(),
        (rsa_alg, Key::Rsa(k)) => {
            let k = k.clone();
            let pkcs1 = |s: &[u8]| rsa::pkcs1v15::Signature::try_from(s).ok();
            let pss = |s: &[u8]| rsa::pss::Signature::try_from(s).ok();
            match rsa_alg {
                "RS256" => pkcs1(sig).is_some_and(|s| rsa::pkcs1v15::VerifyingKey::<Sha256>::new(k).verify(input, &s).is_ok()),
                "RS384" => pkcs1(sig).is_some_and(|s| rsa::pkcs1v15::VerifyingKey::<Sha384>::new(k).verify(input, &s).is_ok()),
                "RS512" => pkcs1(sig).is_some_and(|s| rsa::pkcs1v15::VerifyingKey::<Sha512>::new(k).verify(input, &s).is_ok()),
                "PS256" => pss(sig).is_some_and(|s| rsa::pss::VerifyingKey::<Sha256>::new(k).verify(input, &s).is_ok()),
                "PS384" => pss(sig).is_some_and(|s| rsa::pss::VerifyingKey::<Sha384>::new(k).verify(input, &s).is_ok()),
                "PS512" => pss(sig).is_some_and(|s| rsa::pss::VerifyingKey::<Sha512>::new(k).verify(input, &s).is_ok()),
                _ => false,
            }
        }
        // A key that does not fit the algorithm (or a curve we cannot verify) fails like a
        // bad signature.
        _ => false,
    }
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url) over the key's required members.
pub fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let kty = member(jwk, "kty")?;
    let names: &[&str] = match kty {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut parts = Vec::new();
    for n in names {
        let v = member(jwk, n)?;
        parts.push(format!("{}:{}", Value::from(*n), Value::from(v)));
    }
    Some(b64url(&sha256(format!("{{{}}}", parts.join(",")).as_bytes())))
}

/// `java.net.URI` comparison after dropping the query: scheme and host compare
/// case-insensitively, the rest exactly (percent-escapes' hex digits in any case).
/// `None` when the string is not a URI.
#[derive(PartialEq, Debug)]
struct NormalUri {
    scheme: Option<String>,
    authority: Option<(String, String, String)>,
    path: String,
    fragment: Option<String>,
}

fn normalize_uri(s: &str) -> Option<NormalUri> {
    if s.is_empty() || s.chars().any(|c| c.is_control() || c.is_whitespace() || "\"<>\\^`{|}".contains(c)) {
        return None;
    }
    let bytes = s.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%' && !(bytes.len() > i + 2 && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit()) {
            return None;
        }
    }
    let escapes = |s: &str| {
        let mut out = String::with_capacity(s.len());
        let mut upper = 0;
        for c in s.chars() {
            if c == '%' {
                upper = 2;
                out.push(c);
            } else if upper > 0 {
                upper -= 1;
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
        }
        out
    };
    let (rest, fragment) = match s.split_once('#') {
        Some((_, f)) if f.contains('#') => return None,
        Some((r, f)) => (r, Some(escapes(f))),
        None => (s, None),
    };
    let rest = rest.split('?').next().unwrap_or("");
    let (scheme, rest) = match rest.find(':') {
        Some(i) if !rest[..i].contains('/') => {
            let sch = &rest[..i];
            let mut chars = sch.chars();
            if !chars.next().is_some_and(|c| c.is_ascii_alphabetic()) || !chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
                return None;
            }
            (Some(sch.to_ascii_lowercase()), &rest[i + 1..])
        }
        _ => (None, rest),
    };
    let (authority, path) = match rest.strip_prefix("//") {
        Some(r) => {
            let end = r.find('/').unwrap_or(r.len());
            let auth = &r[..end];
            let (userinfo, hostport) = match auth.rsplit_once('@') {
                Some((u, h)) => (u.to_string(), h),
                None => (String::new(), auth),
            };
            let (host, port) = match hostport.rfind(':') {
                Some(i) if !hostport[i..].contains(']') => (&hostport[..i], &hostport[i + 1..]),
                _ => (hostport, ""),
            };
            (Some((escapes(&userinfo), host.to_ascii_lowercase(), port.to_string())), escapes(&r[end..]))
        }
        None => (None, escapes(rest)),
    };
    Some(NormalUri { scheme, authority, path, fragment })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_comparison() {
        let n = |s| normalize_uri(s);
        assert_eq!(n("HTTP://LocalHost:8080/realms/demo/x?a=1"), n("http://localhost:8080/realms/demo/x"));
        assert_ne!(n("http://localhost:8080/Realms/demo/x"), n("http://localhost:8080/realms/demo/x"));
        assert_ne!(n("http://localhost:80/x"), n("http://localhost/x"), "no default-port normalisation");
        assert_ne!(n("http://localhost/x/"), n("http://localhost/x"));
        assert_ne!(n("http://localhost/x#f"), n("http://localhost/x"), "a fragment stays");
        assert_eq!(n("http://h/a%2fb"), n("http://h/a%2Fb"));
        assert!(n("http://h/a b").is_none());
        assert!(n("http://h/%zz").is_none());
        assert!(n("not-a-url").is_some(), "a relative reference parses (and then mismatches)");
    }

    #[test]
    fn rfc7638_example_thumbprint() {
        // The RSA key of RFC 7638 §3.1 and its published thumbprint.
        let jwk: Value = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(thumbprint(jwk.as_object().unwrap()).as_deref(), Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"));
    }
}
