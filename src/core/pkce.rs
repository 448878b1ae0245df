//! PKCE (RFC 7636) with keycloak-js's verifier shape: 96 characters from `[A-Za-z0-9]`,
//! character i = alphabet[random_byte_i % 62], and the S256 challenge.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

pub const VERIFIER_LEN: usize = 96;
const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Builds a code verifier from random bytes (one character per byte).
pub fn verifier_from_bytes(random: &[u8]) -> String {
    random.iter().map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect()
}

/// `base64url(SHA-256(verifier))` without padding.
pub fn challenge_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(
            challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifier_has_keycloak_js_shape() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(VERIFIER_LEN).collect();
        let v = verifier_from_bytes(&bytes);
        assert_eq!(v.len(), 96);
        assert!(v.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert!(v.starts_with("ABCDEFGHIJ"));
        // byte 62 wraps around to the first character
        assert_eq!(&v[62..63], "A");
    }
}
