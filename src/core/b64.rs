//! Base64 as the adapter needs it: the browser's forgiving decoder (`atob`, used by
//! keycloak-js on token payloads) and unpadded base64url encoding (PKCE challenges).

use alloc::string::String;
use alloc::vec::Vec;
use crate::core::encode::PushAscii;

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn sextet(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    } as u32)
}

/// The WHATWG "forgiving-base64 decode" (`atob`): ASCII whitespace is ignored, up to two
/// `=` may end a multiple of four, leftover bits are dropped. `None` is atob's failure.
pub fn atob(input: &str) -> Option<Vec<u8>> {
    let mut data: Vec<u8> = input.bytes().filter(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r')).collect();
    if data.len() % 4 == 0 {
        for _ in 0..2 {
            if data.last() == Some(&b'=') {
                data.pop();
            }
        }
    }
    if data.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in data {
        acc = (acc << 6) | sextet(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Base64url without padding (RFC 4648 §5), as PKCE and JWS use it.
pub fn encode_url(bytes: &[u8]) -> String {
    encode(bytes, URL)
}

/// Standard base64 with padding (`btoa` of the bytes).
pub fn encode_std(bytes: &[u8]) -> String {
    let mut s = encode(bytes, STD);
    while s.len() % 4 != 0 {
        s.push_ascii(b'=');
    }
    s
}

fn encode(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push_ascii(alphabet[(n >> (18 - 6 * i) & 63) as usize]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atob_is_forgiving_like_the_browser() {
        assert_eq!(atob("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(atob("aGVsbG8").unwrap(), b"hello");
        assert_eq!(atob(" aGVs\nbG8= ").unwrap(), b"hello");
        assert_eq!(atob("YQ==").unwrap(), b"a");
        assert_eq!(atob("YR").unwrap(), b"a", "non-zero leftover bits are dropped");
        assert_eq!(atob("").unwrap(), b"");
        assert_eq!(atob("a"), None, "a remainder of one");
        assert_eq!(atob("YQ=a"), None, "= inside");
        assert_eq!(atob("YQ==="), None);
        assert_eq!(atob("Y-=="), None, "url alphabet is not atob's");
    }

    #[test]
    fn encodings_round_trip() {
        assert_eq!(encode_url(b""), "");
        assert_eq!(encode_url(b"f"), "Zg");
        assert_eq!(encode_url(b"fo"), "Zm8");
        assert_eq!(encode_url(b"foo"), "Zm9v");
        assert_eq!(encode_url(&[0xfb, 0xff]), "-_8");
        assert_eq!(encode_std(&[0xfb, 0xff]), "+/8=");
        for n in 0..40u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(atob(&encode_std(&bytes)).unwrap(), bytes);
        }
    }
}
