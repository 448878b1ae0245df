//! JWT payload decoding with keycloak-js's rules and errors. Parsing the JSON text is
//! left to the browser (`JSON.parse`), which keeps a JSON parser out of the wasm.

use crate::core::error::{CoreError, CAUSE_BAD_CHARACTER, CAUSE_BAD_LENGTH};
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

/// `atob`'s leniency: padding optional, non-zero trailing bits accepted.
const ATOB: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes base64url text as keycloak-js does: map to the standard alphabet, pad by
/// length (a remainder of 1 is an error), then UTF-8, falling back to Latin-1 when the
/// bytes are not UTF-8.
pub fn base64url_decode_text(input: &str) -> Result<String, &'static str> {
    let mut s: String = input
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    match s.len() % 4 {
        0 => {}
        2 => s.push_str("=="),
        3 => s.push('='),
        _ => return Err(CAUSE_BAD_LENGTH),
    }
    s.retain(|c| !matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r'));
    let bytes = ATOB.decode(s.as_bytes()).map_err(|_| CAUSE_BAD_CHARACTER)?;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
    })
}

/// The JSON text of a JWT's payload (the second `.`-separated part).
pub fn decode_payload(token: &str) -> Result<String, CoreError> {
    let payload = token.split('.').nth(1).ok_or(CoreError::TokenPayloadNotFound)?;
    base64url_decode_text(payload).map_err(CoreError::TokenPayloadNotBase64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn jwt(payload: &str) -> String {
        let mut t = String::from("eyJhbGciOiJub25lIn0.");
        t.push_str(&URL_SAFE_NO_PAD.encode(payload));
        t.push_str(".sig");
        t
    }

    #[test]
    fn decodes_utf8_payload() {
        let json = r#"{"sub":"123","name":"Zoë ☃","exp":1}"#;
        assert_eq!(decode_payload(&jwt(json)).unwrap(), json);
    }

    #[test]
    fn every_padding_remainder() {
        for json in ["{}", "{\"a\":1}", "{\"ab\":1}", "{\"abc\":1}"] {
            assert_eq!(decode_payload(&jwt(json)).unwrap(), json);
        }
    }

    #[test]
    fn errors_match_keycloak_js() {
        assert_eq!(decode_payload("no-dots-here"), Err(CoreError::TokenPayloadNotFound));
        assert_eq!(decode_payload("a.b.c"), Err(CoreError::TokenPayloadNotBase64(CAUSE_BAD_LENGTH)));
        assert_eq!(decode_payload("a.ab$d.c"), Err(CoreError::TokenPayloadNotBase64(CAUSE_BAD_CHARACTER)));
        // An empty payload decodes to empty text; JSON.parse then rejects it.
        assert_eq!(decode_payload("a..c"), Ok(String::new()));
    }

    #[test]
    fn latin1_fallback_for_invalid_utf8() {
        // 0xE9 alone is not UTF-8: keycloak-js falls back to atob's Latin-1 string.
        assert_eq!(base64url_decode_text("6Q").unwrap(), "é");
    }
}
