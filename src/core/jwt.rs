//! JWT payload decoding with keycloak-js's rules and errors: base64url mapped to atob's
//! alphabet, padded by length (a remainder of one is an error), decoded by the forgiving
//! base64 decoder, then UTF-8 with a Latin-1 fallback. Whether the text is JSON is the
//! caller's question (`core::json`).

use crate::core::b64::atob;
use crate::core::error::{CoreError, CAUSE_BAD_CHARACTER, CAUSE_BAD_LENGTH};
use alloc::string::String;
use crate::core::encode::PushAscii;

pub fn base64url_decode_text(input: &str) -> Result<String, &'static str> {
    // Bytes, not characters: anything not ASCII is refused by atob either way. The length
    // keycloak-js checks is JavaScript's, in UTF-16 units (a 4-byte UTF-8 sequence is two).
    let mut s: String = input
        .bytes()
        .map(|b| match b {
            b'-' => '+',
            b'_' => '/',
            b => b as char,
        })
        .collect();
    let units: usize = input.bytes().map(|b| match b {
        0x80..=0xBF => 0,
        0xF0..=0xFF => 2,
        _ => 1,
    }).sum();
    match units % 4 {
        0 => {}
        2 => s.push_str("=="),
        3 => s.push_ascii(b'='),
        _ => return Err(CAUSE_BAD_LENGTH),
    }
    let bytes = atob(&s).ok_or(CAUSE_BAD_CHARACTER)?;
    Ok(crate::core::encode::utf8_or(bytes, |b| b.iter().map(|&b| b as char).collect()))
}

/// The JSON text of a JWT's payload (the second `.`-separated part).
pub fn decode_payload(token: &str) -> Result<String, CoreError> {
    let payload = crate::core::encode::split_on(token, b".").nth(1).ok_or(CoreError::TokenPayloadNotFound)?;
    base64url_decode_text(payload).map_err(CoreError::TokenPayloadNotBase64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::b64::encode_url;

    fn jwt(payload: &str) -> String {
        let mut t = String::from("eyJhbGciOiJub25lIn0.");
        t.push_str(&encode_url(payload.as_bytes()));
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
        // An empty payload decodes to empty text, which is not JSON.
        assert_eq!(decode_payload("a..c"), Ok(String::new()));
    }

    #[test]
    fn the_length_is_counted_in_utf16_units_as_javascript_does() {
        // "é" is one unit: five units leave a remainder of one (keycloak-js's length error);
        // "😀" is two: "😀abc" is five units too; "éabc" is four, and atob refuses the "é".
        assert_eq!(base64url_decode_text("éabcd"), Err(CAUSE_BAD_LENGTH));
        assert_eq!(base64url_decode_text("😀abc"), Err(CAUSE_BAD_LENGTH));
        assert_eq!(base64url_decode_text("éabc"), Err(CAUSE_BAD_CHARACTER));
        assert_eq!(base64url_decode_text("😀ab"), Err(CAUSE_BAD_CHARACTER));
    }

    #[test]
    fn latin1_fallback_for_invalid_utf8() {
        // 0xE9 alone is not UTF-8: keycloak-js falls back to atob's Latin-1 string.
        assert_eq!(base64url_decode_text("6Q").unwrap(), "é");
    }
}
