//! URL encodings with the exact byte-level behaviour of the browser APIs keycloak-js uses:
//! `encodeURIComponent`, `URLSearchParams` (serialising and parsing), and the `URL`
//! object's `search`/`hash` setters. No `url` crate: these few rules are all we need.

use alloc::string::String;
use alloc::vec::Vec;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Appending one ASCII byte to a `String`. Every caller passes ASCII (a literal, a hex
/// digit, a byte it tested): the native tests assert it; in the shipped build the mask
/// keeps the string UTF-8 even if one did not.
/// `String::push(char)` would bring the library's UTF-8 encoder into the wasm.
pub trait PushAscii {
    fn push_ascii(&mut self, b: u8);
}

impl PushAscii for String {
    #[inline]
    fn push_ascii(&mut self, b: u8) {
        debug_assert!(b < 0x80, "push_ascii takes ASCII only");
        // SAFETY: a byte below 0x80 is a whole UTF-8 character.
        unsafe { self.as_mut_vec().push(b & 0x7f) }
    }
}

fn push_pct(out: &mut String, b: u8) {
    out.push_ascii(b'%');
    out.push_ascii(HEX[(b >> 4) as usize]);
    out.push_ascii(HEX[(b & 15) as usize]);
}

/// `encodeURIComponent(s)`.
pub fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')') {
            out.push_ascii(b);
        } else {
            push_pct(&mut out, b);
        }
    }
    out
}

/// The `application/x-www-form-urlencoded` byte serializer (`URLSearchParams#toString`
/// for one name or value): space becomes `+`.
pub fn form_encode_into(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        if b == b' ' {
            out.push_ascii(b'+');
        } else if b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_') {
            out.push_ascii(b);
        } else {
            push_pct(out, b);
        }
    }
}

/// `new URLSearchParams(pairs).toString()`.
pub fn form_urlencode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_ascii(b'&');
        }
        form_encode_into(&mut out, k);
        out.push_ascii(b'=');
        form_encode_into(&mut out, v);
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The index of the first `b` (an ASCII byte) in `s`. A byte loop: `str::find(char)`
/// and `split(char)` would bring the library's `memchr` and char searcher into the wasm.
pub fn find_byte(s: &str, b: u8) -> Option<usize> {
    s.bytes().position(|c| c == b)
}

/// `&s[a..b]`, or `""` where that would panic (never, for the byte positions of ASCII
/// bytes this crate slices at): no panic path, whose message code the wasm would carry.
#[inline(never)]
pub fn sub(s: &str, a: usize, b: usize) -> &str {
    s.get(a..b).unwrap_or("")
}

/// `s.split(set)` for a set of ASCII bytes (`split_on(s, b"?&")` is `s.split(['?', '&'])`).
pub fn split_on<'a>(s: &'a str, set: &'static [u8]) -> SplitOn<'a> {
    SplitOn { rest: Some(s), set }
}

/// The index of the first byte of `set` in `s`. (Not `set.contains`: for bytes it is
/// the library's `memchr`, which costs the wasm more than this loop.)
#[allow(clippy::manual_contains)]
pub fn find_any(s: &str, set: &[u8]) -> Option<usize> {
    s.bytes().position(|c| set.iter().any(|&b| b == c))
}

pub struct SplitOn<'a> {
    rest: Option<&'a str>,
    set: &'static [u8],
}

impl<'a> Iterator for SplitOn<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let r = self.rest?;
        match find_any(r, self.set) {
            Some(i) => {
                self.rest = Some(sub(r, i + 1, r.len()));
                Some(sub(r, 0, i))
            }
            None => {
                self.rest = None;
                Some(r)
            }
        }
    }
}

/// Decodes one name or value the way `URLSearchParams` parsing does: `+` is a space,
/// valid `%XX` escapes become bytes, anything else stays, then UTF-8 with replacement.
pub fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'+' {
            out.push(b' ');
        } else if b == b'%' && i + 2 < bytes.len() {
            match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b),
            }
        } else {
            out.push(b);
        }
        i += 1;
    }
    utf8_or(out, utf8_lossy)
}

/// The character of UTF-8 `bytes` at `i`, with its length; `None` with the length of the
/// maximal subpart of an invalid sequence (the second-byte ranges are Unicode's Table 3-7,
/// which leave out overlong forms and surrogates).
fn utf8_next(bytes: &[u8], i: usize) -> (Option<char>, usize) {
    let b = bytes[i];
    if b < 0x80 {
        return (Some(b as char), 1);
    }
    let (n, lo, hi) = match b {
        0xC2..=0xDF => (2, 0x80, 0xBF),
        0xE0 => (3, 0xA0, 0xBF),
        0xED => (3, 0x80, 0x9F),
        0xE1..=0xEF => (3, 0x80, 0xBF),
        0xF0 => (4, 0x90, 0xBF),
        0xF1..=0xF3 => (4, 0x80, 0xBF),
        0xF4 => (4, 0x80, 0x8F),
        _ => (0, 0, 0),
    };
    let mut cp = b as u32 & (0xFF >> (n + 1));
    let mut k = 1;
    while k < n {
        let Some(&c) = bytes.get(i + k) else { break };
        let (l, h) = if k == 1 { (lo, hi) } else { (0x80, 0xBF) };
        if c < l || c > h {
            break;
        }
        cp = cp << 6 | (c & 0x3F) as u32;
        k += 1;
    }
    (if k == n { char::from_u32(cp) } else { None }, k)
}

/// `s` without JavaScript's white space and line terminators at either end, as
/// `String.prototype.trim` and `Number(s)` strip them. They are not Rust's `trim`: U+FEFF
/// is one, U+0085 is not.
pub fn js_trim(s: &str) -> &str {
    let b = s.as_bytes();
    let (mut start, mut end, mut i) = (None, 0, 0);
    while i < b.len() {
        let (c, n) = utf8_next(b, i);
        if !c.is_some_and(|c| matches!(c, '\t'..='\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}')) {
            start.get_or_insert(i);
            end = i + n;
        }
        i += n;
    }
    start.map_or("", |a| sub(s, a, end))
}

/// `bytes` as text when they are UTF-8, else `invalid(bytes)`. (`String::from_utf8`'s
/// validator costs the wasm more than [`utf8_next`], which the replacement decoder needs
/// anyway.)
pub fn utf8_or(bytes: Vec<u8>, invalid: fn(&[u8]) -> String) -> String {
    let mut i = 0;
    while i < bytes.len() {
        match utf8_next(&bytes, i) {
            (Some(_), n) => i += n,
            (None, _) => return invalid(&bytes),
        }
    }
    // SAFETY: each sequence was just read as one valid UTF-8 character.
    unsafe { String::from_utf8_unchecked(bytes) }
}

/// UTF-8 with replacement, as the Encoding Standard decodes (and `String::from_utf8_lossy`,
/// whose chunk iterator costs more wasm than this): each maximal subpart of an invalid
/// sequence becomes one U+FFFD.
#[allow(clippy::single_char_add_str)] // `push('\u{FFFD}')` would encode it at run time
pub fn utf8_lossy(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    let mut i = 0;
    while i < bytes.len() {
        let (c, n) = utf8_next(bytes, i);
        match c {
            // SAFETY: utf8_next has just read these `n` bytes as one valid character.
            Some(_) => out.push_str(unsafe { core::str::from_utf8_unchecked(&bytes[i..i + n]) }),
            None => out.push_str("\u{FFFD}"),
        }
        i += n;
    }
    out
}

/// `new URLSearchParams(piece).entries().next().value` for a piece that contains no `&`:
/// `None` when the piece yields no entry (empty, or just `?`).
pub fn first_pair(piece: &str) -> Option<(String, String)> {
    let piece = piece.strip_prefix('?').unwrap_or(piece);
    let seq = split_on(piece, b"&").find(|p| !p.is_empty())?;
    Some(match find_byte(seq, b'=') {
        Some(i) => (form_decode(sub(seq, 0, i)), form_decode(sub(seq, i + 1, seq.len()))),
        None => (form_decode(seq), String::new()),
    })
}

/// A URL split into the parts the callback code works on. `query` and `fragment` are
/// `None` when the URL has no `?` / `#` at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts<'a> {
    pub base: &'a str,
    pub query: Option<&'a str>,
    pub fragment: Option<&'a str>,
}

/// Splits an already-serialised absolute URL (as `location.href` gives it).
pub fn split_url(href: &str) -> UrlParts<'_> {
    let (before_hash, fragment) = match find_byte(href, b'#') {
        Some(i) => (sub(href, 0, i), Some(sub(href, i + 1, href.len()))),
        None => (href, None),
    };
    let (base, query) = match find_byte(before_hash, b'?') {
        Some(i) => (sub(before_hash, 0, i), Some(sub(before_hash, i + 1, before_hash.len()))),
        None => (before_hash, None),
    };
    UrlParts { base, query, fragment }
}

/// Serialises the parts back (`URL#toString`).
pub fn join_url(base: &str, query: Option<&str>, fragment: Option<&str>) -> String {
    let mut out = String::from(base);
    if let Some(q) = query {
        out.push_ascii(b'?');
        out.push_str(q);
    }
    if let Some(f) = fragment {
        out.push_ascii(b'#');
        out.push_str(f);
    }
    out
}

#[allow(clippy::manual_contains)] // see find_any
fn encode_set(input: &str, extra: &[u8]) -> String {
    let mut out = String::with_capacity(input.len());
    for &b in input.as_bytes() {
        // C0 controls, space, the set's extra bytes and non-ASCII bytes are escaped.
        if b <= 0x20 || b >= 0x7f || b == b'"' || b == b'<' || b == b'>' || extra.iter().any(|&e| e == b) {
            push_pct(&mut out, b);
        } else {
            out.push_ascii(b);
        }
    }
    out
}

/// The value the `URL#search` setter stores: `None` for an empty input, otherwise the
/// input without a leading `?`, percent-encoded with the special-query set.
pub fn set_search(value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    let v = value.strip_prefix('?').unwrap_or(value);
    Some(encode_set(v, b"#'"))
}

/// The value the `URL#hash` setter stores: `None` for an empty input, otherwise the
/// input without a leading `#`, percent-encoded with the fragment set.
pub fn set_hash(value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    let v = value.strip_prefix('#').unwrap_or(value);
    Some(encode_set(v, b"`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_uri_component_matches_js() {
        assert_eq!(encode_uri_component("my realm/ü!*'()~"), "my%20realm%2F%C3%BC!*'()~");
        assert_eq!(encode_uri_component("a+b=c&d"), "a%2Bb%3Dc%26d");
    }

    #[test]
    fn form_urlencode_matches_urlsearchparams() {
        let s = form_urlencode(&[("scope", "openid profile"), ("redirect_uri", "http://app/#/a?b=c"), ("x", "~!'()*")]);
        assert_eq!(s, "scope=openid+profile&redirect_uri=http%3A%2F%2Fapp%2F%23%2Fa%3Fb%3Dc&x=%7E%21%27%28%29*");
    }

    #[test]
    fn form_decode_handles_plus_escapes_and_garbage() {
        assert_eq!(form_decode("a+b%20c"), "a b c");
        assert_eq!(form_decode("%E2%82%AC"), "€");
        assert_eq!(form_decode("100%"), "100%");
        assert_eq!(form_decode("%zz%4"), "%zz%4");
        assert_eq!(form_decode("%FF"), "\u{FFFD}");
    }

    #[test]
    fn first_pair_follows_urlsearchparams() {
        assert_eq!(first_pair(""), None);
        assert_eq!(first_pair("?"), None);
        assert_eq!(first_pair("=bax"), Some((String::new(), "bax".into())));
        assert_eq!(first_pair("fuz="), Some(("fuz".into(), String::new())));
        assert_eq!(first_pair("?tab=details"), Some(("tab".into(), "details".into())));
        assert_eq!(first_pair("/admin/users"), Some(("/admin/users".into(), String::new())));
        assert_eq!(first_pair("a=1=2"), Some(("a".into(), "1=2".into())));
    }

    #[test]
    fn js_trim_strips_what_javascript_strips() {
        assert_eq!(js_trim(" \t\n 30 \r"), "30");
        assert_eq!(js_trim("\u{feff}\u{a0}3 0\u{2028}\u{3000}"), "3 0");
        // U+0085 is white space to Rust, not to JavaScript; U+200B is neither.
        assert_eq!(js_trim("\u{85}30"), "\u{85}30");
        assert_eq!(js_trim("30\u{200b}"), "30\u{200b}");
        assert_eq!(js_trim(" \u{2000} "), "");
        assert_eq!(js_trim(""), "");
    }

    #[test]
    fn split_and_join_round_trip() {
        let p = split_url("http://app.test/x?y=1#/z?q=2");
        assert_eq!(p, UrlParts { base: "http://app.test/x", query: Some("y=1"), fragment: Some("/z?q=2") });
        assert_eq!(join_url(p.base, p.query, p.fragment), "http://app.test/x?y=1#/z?q=2");
        let p = split_url("http://app.test/#");
        assert_eq!(p.fragment, Some(""));
    }

    #[test]
    fn setters_follow_url_spec() {
        assert_eq!(set_hash(""), None);
        assert_eq!(set_hash("a b`"), Some("a%20b%60".into()));
        assert_eq!(set_search("?foo=bar"), Some("foo=bar".into()));
        assert_eq!(set_search("x='"), Some("x=%27".into()));
    }
}
