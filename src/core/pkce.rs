//! Random strings from entropy the caller supplies: PKCE (RFC 7636) with keycloak-js's
//! verifier shape (96 characters of `[A-Za-z0-9]`, character i = alphabet[byte_i % 62])
//! and its S256 challenge, and RFC 4122 version-4 UUIDs (what `crypto.randomUUID` gives).

use crate::core::b64::encode_url;
use crate::core::sha256::sha256;
use alloc::string::String;
use crate::core::encode::PushAscii;

pub const VERIFIER_LEN: usize = 96;
const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Builds a code verifier from random bytes (one character per byte).
pub fn verifier_from_bytes(random: &[u8]) -> String {
    random.iter().map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect()
}

/// `base64url(SHA-256(verifier))` without padding.
pub fn challenge_s256(verifier: &str) -> String {
    encode_url(&sha256(verifier.as_bytes()))
}

/// A version-4 UUID in `crypto.randomUUID()`'s form (lowercase, 8-4-4-4-12).
pub fn uuid_v4(random: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut b = *random;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push_ascii(b'-');
        }
        s.push_ascii(HEX[(x >> 4) as usize]);
        s.push_ascii(HEX[(x & 15) as usize]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn verifier_has_keycloak_js_shape() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(VERIFIER_LEN).collect();
        let v = verifier_from_bytes(&bytes);
        assert_eq!(v.len(), 96);
        assert!(v.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert!(v.starts_with("ABCDEFGHIJ"));
        assert_eq!(&v[62..63], "A");
    }

    #[test]
    fn uuids_have_version_and_variant() {
        assert_eq!(uuid_v4(&[0xff; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(uuid_v4(&[0; 16]), "00000000-0000-4000-8000-000000000000");
    }
}
