//! JSON for the machine: a validating reader (RFC 8259, the grammar `JSON.parse` accepts)
//! and the writer the effects are written with. No allocation-heavy document tree: a
//! value is either a scalar or the raw text of an array or object, read lazily.
//!
//! The browser still parses every document the app sees (token payloads, userinfo):
//! this reader only takes out what the adapter decides on (claims, response fields,
//! input arguments), so it never builds JavaScript values and stays a few hundred bytes.

use crate::core::encode::sub;
use alloc::string::String;
use alloc::vec::Vec;
use crate::core::encode::PushAscii;

/// A JSON value. Arrays and objects stay raw text (validated) and are read on demand.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    Null,
    Bool(bool),
    /// The number and its text (`String(n)` of a number `JSON.stringify` wrote).
    Num(f64, &'a str),
    Str(String),
    Arr(&'a str),
    Obj(&'a str),
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The end of the string literal starting at `i` (which must be `"`).
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut i = i + 1;
    loop {
        match *b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => {
                match *b.get(i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        if !b.get(i + 2..i + 6)?.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        i += 6
                    }
                    _ => return None,
                }
            }
            c if c < 0x20 => return None,
            _ => i += 1,
        }
    }
}

fn digits(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// The end of the number literal starting at `i`.
fn number_end(b: &[u8], i: usize) -> Option<usize> {
    let mut i = i + (b.get(i) == Some(&b'-')) as usize;
    match *b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => i = digits(b, i),
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        let j = digits(b, i + 1);
        if j == i + 1 {
            return None;
        }
        i = j;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let j = digits(b, i);
        if j == i {
            return None;
        }
        i = j;
    }
    Some(i)
}

/// The end of the value starting at or after `i` (leading whitespace skipped). Nesting is
/// tracked on a heap stack, so a deeply nested document cannot exhaust the call stack.
fn value_end(b: &[u8], mut i: usize) -> Option<usize> {
    let mut open: Vec<u8> = Vec::new();
    loop {
        i = ws(b, i);
        match *b.get(i)? {
            b'{' | b'[' => {
                let close = if b[i] == b'{' { b'}' } else { b']' };
                i = ws(b, i + 1);
                if b.get(i) == Some(&close) {
                    i += 1;
                } else {
                    open.push(close);
                    if close == b'}' {
                        i = key_colon(b, i)?;
                    }
                    continue;
                }
            }
            b'"' => i = string_end(b, i)?,
            b't' => i = literal(b, i, b"true")?,
            b'f' => i = literal(b, i, b"false")?,
            b'n' => i = literal(b, i, b"null")?,
            _ => i = number_end(b, i)?,
        }
        // A value ended: close containers until one wants another element.
        loop {
            let Some(&close) = open.last() else { return Some(i) };
            i = ws(b, i);
            let c = *b.get(i)?;
            i += 1;
            if c == close {
                open.pop();
            } else if c == b',' {
                if close == b'}' {
                    i = key_colon(b, ws(b, i))?;
                }
                break;
            } else {
                return None;
            }
        }
    }
}

fn key_colon(b: &[u8], i: usize) -> Option<usize> {
    let i = ws(b, string_end(b, i)?);
    (b.get(i) == Some(&b':')).then_some(i + 1)
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len())? == word).then_some(i + word.len())
}

fn hex4(b: &[u8]) -> u32 {
    b.iter().fold(0, |n, &c| n * 16 + (c as char).to_digit(16).unwrap_or(0))
}

/// The text of a validated string literal (quotes included). A lone UTF-16 surrogate,
/// which `JSON.parse` keeps, becomes U+FFFD (Rust strings are UTF-8).
pub fn unescape(lit: &str) -> String {
    let b = lit.as_bytes();
    let inner = sub(lit, 1, lit.len() - 1);
    if !inner.bytes().any(|c| c == b'\\') {
        return String::from(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut i = 1;
    let end = b.len() - 1;
    while i < end {
        if b[i] != b'\\' {
            // Copy up to the next escape in one go (keeps multi-byte characters whole).
            let next = b[i..end].iter().position(|&c| c == b'\\').map_or(end, |k| i + k);
            out.push_str(sub(lit, i, next));
            i = next;
            continue;
        }
        let c = b[i + 1];
        i += 2;
        let ch = match c {
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(&b[i..i + 4]);
                i += 4;
                let lo_ok = (0xD800..0xDC00).contains(&hi) && b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u');
                let lo = if lo_ok { hex4(&b[i + 2..i + 6]) } else { 0 };
                if lo_ok && (0xDC00..0xE000).contains(&lo) {
                    i += 6;
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)).unwrap_or('\u{FFFD}')
                } else {
                    char::from_u32(hi).unwrap_or('\u{FFFD}')
                }
            }
            other => other as char,
        };
        out.push(ch);
    }
    out
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21,
    1e22,
];

/// The number a validated JSON number literal stands for. Exact (correctly rounded)
/// for up to 15 significant digits with a decimal exponent within ±22, which covers
/// epoch seconds, lifetimes and milliseconds; beyond that within one unit in the last place.
pub fn number_value(lit: &str) -> f64 {
    let b = lit.as_bytes();
    let neg = b.first() == Some(&b'-');
    let mut i = neg as usize;
    let mut mant: u64 = 0;
    let mut exp: i32 = 0;
    let mut seen_dot = false;
    while i < b.len() {
        match b[i] {
            b'0'..=b'9' => {
                if mant < 100_000_000_000_000_000 {
                    mant = mant * 10 + (b[i] - b'0') as u64;
                    exp -= seen_dot as i32;
                } else {
                    exp += !seen_dot as i32;
                }
            }
            b'.' => seen_dot = true,
            _ => break,
        }
        i += 1;
    }
    if i < b.len() {
        // exponent part: [eE][+-]?digits
        let e = sub(lit, i + 1, lit.len());
        let (sign, digits) = match e.as_bytes().first() {
            Some(b'-') => (-1, sub(e, 1, e.len())),
            Some(b'+') => (1, sub(e, 1, e.len())),
            _ => (1, e),
        };
        let n = digits.bytes().fold(0i32, |n, d| n.saturating_mul(10).saturating_add((d - b'0') as i32));
        exp = exp.saturating_add(sign * n);
    }
    let mut v = mant as f64;
    if mant != 0 {
        let mut e = exp;
        while e > 22 && v.is_finite() {
            v *= 1e22;
            e -= 22;
        }
        while e < -22 && v != 0.0 {
            v /= 1e22;
            e += 22;
        }
        if e > 22 {
            v = f64::INFINITY;
        } else if e < -22 {
            v = 0.0;
        } else if e >= 0 {
            v *= POW10[e as usize];
        } else {
            v /= POW10[(-e) as usize];
        }
    }
    if neg {
        -v
    } else {
        v
    }
}

/// Reads the value at `i` (after whitespace); returns it and the index after it.
fn read(text: &str, i: usize) -> Option<(Val<'_>, usize)> {
    let b = text.as_bytes();
    let start = ws(b, i);
    let end = value_end(b, start)?;
    let raw = sub(text, start, end);
    let v = match b[start] {
        b'{' => Val::Obj(raw),
        b'[' => Val::Arr(raw),
        b'"' => Val::Str(unescape(raw)),
        b't' => Val::Bool(true),
        b'f' => Val::Bool(false),
        b'n' => Val::Null,
        _ => Val::Num(number_value(raw), raw),
    };
    Some((v, end))
}

/// Parses a whole document: one value and nothing but whitespace after it.
pub fn parse(text: &str) -> Option<Val<'_>> {
    let (v, end) = read(text, 0)?;
    (ws(text.as_bytes(), end) == text.len()).then_some(v)
}

/// The elements of a raw array.
pub fn elements(raw: &str) -> Vec<Val<'_>> {
    let mut out = Vec::new();
    let b = raw.as_bytes();
    let mut i = ws(b, 1);
    if b.get(i) == Some(&b']') {
        return out;
    }
    while let Some((v, end)) = read(raw, i) {
        out.push(v);
        i = ws(b, end);
        if b.get(i) != Some(&b',') {
            break;
        }
        i += 1;
    }
    out
}

/// Calls `f(key, value)` for each member of a raw object, in order.
pub fn members<'a>(raw: &'a str, mut f: impl FnMut(&str, Val<'a>)) {
    let b = raw.as_bytes();
    let mut i = ws(b, 1);
    while b.get(i) == Some(&b'"') {
        let Some(kend) = string_end(b, i) else { return };
        let key = unescape(sub(raw, i, kend));
        let colon = ws(b, kend) + 1;
        let Some((v, end)) = read(raw, colon) else { return };
        f(&key, v);
        i = ws(b, end);
        if b.get(i) != Some(&b',') {
            return;
        }
        i = ws(b, i + 1);
    }
}

impl<'a> Val<'a> {
    /// `obj[key]` (the last member with that key, as `JSON.parse` keeps); `None` for
    /// a missing key or a non-object.
    pub fn get(&self, key: &str) -> Option<Val<'a>> {
        let Val::Obj(raw) = self else { return None };
        let mut found = None;
        members(raw, |k, v| {
            if k == key {
                found = Some(v)
            }
        });
        found
    }

    #[inline(never)]
    pub fn str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    #[inline(never)]
    pub fn num(&self) -> Option<f64> {
        match self {
            Val::Num(n, _) => Some(*n),
            _ => None,
        }
    }

    /// JavaScript truthiness of the value.
    pub fn truthy(&self) -> bool {
        match self {
            Val::Null | Val::Bool(false) => false,
            Val::Num(n, _) => *n != 0.0 && !n.is_nan(),
            Val::Str(s) => !s.is_empty(),
            _ => true,
        }
    }

    /// `String(value)` of the value as JavaScript would give it.
    pub fn js_string(&self) -> String {
        match self {
            Val::Str(s) => s.clone(),
            Val::Num(_, r) => String::from(*r),
            Val::Bool(b) => String::from(if *b { "true" } else { "false" }),
            Val::Null => String::from("null"),
            Val::Arr(r) => String::from(sub(r, 1, r.len() - 1)),
            Val::Obj(_) => String::from("[object Object]"),
        }
    }

    /// The raw JSON text of the value (strings re-quoted).
    #[inline(never)]
    pub fn raw(&self) -> String {
        match self {
            Val::Null => String::from("null"),
            Val::Bool(b) => String::from(if *b { "true" } else { "false" }),
            Val::Num(_, r) | Val::Arr(r) | Val::Obj(r) => String::from(*r),
            Val::Str(s) => {
                let mut w = Writer::default();
                w.str(s);
                w.s
            }
        }
    }
}

/// Convenience: `get(key)` on an optional value, then a non-empty string.
pub fn text_of(v: &Option<Val<'_>>) -> Option<String> {
    v.as_ref().and_then(|v| v.str()).filter(|s| !s.is_empty()).map(String::from)
}

/// A JSON text being written. Commas are placed automatically: every value written
/// after another one in the same container gets one.
#[derive(Debug, Default)]
pub struct Writer {
    pub s: String,
    /// Numbers that are not safe integers travel beside the text (see [`Writer::num`]).
    pub nums: Vec<f64>,
}

impl Writer {
    #[inline(never)]
    fn sep(&mut self) {
        if !matches!(self.s.as_bytes().last(), None | Some(b'[' | b'{' | b':')) {
            self.s.push_ascii(b',');
        }
    }

    #[inline(never)]
    pub fn open(&mut self) {
        self.sep();
        self.s.push_ascii(b'[');
    }

    #[inline(never)]
    pub fn close(&mut self) {
        self.s.push_ascii(b']');
    }

    #[inline(never)]
    pub fn open_obj(&mut self) {
        self.sep();
        self.s.push_ascii(b'{');
    }

    #[inline(never)]
    pub fn close_obj(&mut self) {
        self.s.push_ascii(b'}');
    }

    #[inline(never)]
    pub fn key(&mut self, k: &str) {
        self.str(k);
        self.s.push_ascii(b':');
    }

    pub fn str(&mut self, v: &str) {
        self.sep();
        self.s.push_ascii(b'"');
        // Only ASCII bytes are escaped: the runs between them are copied whole.
        let mut start = 0;
        for (i, b) in v.bytes().enumerate() {
            if b == b'"' || b == b'\\' || b < 0x20 {
                self.s.push_str(sub(v, start, i));
                start = i + 1;
                self.s.push_ascii(b'\\');
                match b {
                    b'"' | b'\\' => self.s.push_ascii(b),
                    _ => {
                        self.s.push_str("u00");
                        self.s.push_ascii(HEX[(b as usize) >> 4]);
                        self.s.push_ascii(HEX[(b as usize) & 15]);
                    }
                }
            }
        }
        self.s.push_str(sub(v, start, v.len()));
        self.s.push_ascii(b'"');
    }

    /// Writes raw JSON text as one value.
    pub fn raw(&mut self, json: &str) {
        self.sep();
        self.s.push_str(json);
    }

    #[inline(never)]
    pub fn int(&mut self, v: u64) {
        self.sep();
        push_u64(&mut self.s, v);
    }

    #[inline(never)]
    pub fn bool(&mut self, v: bool) {
        self.raw(if v { "true" } else { "false" });
    }

    #[inline(never)]
    pub fn null(&mut self) {
        self.raw("null");
    }

    /// A number. Safe integers are written as text; any other number (fractions, NaN,
    /// infinities, huge values) goes into [`Writer::nums`] and is written as `[6,index]`,
    /// so the browser formats and reads it exactly (no float formatting in the wasm).
    pub fn num(&mut self, v: f64) {
        let abs = if v < 0.0 { -v } else { v };
        if v == (v as i64) as f64 && abs < 9_007_199_254_740_992.0 {
            self.sep();
            if v < 0.0 {
                self.s.push_ascii(b'-');
            }
            push_u64(&mut self.s, abs as u64);
        } else {
            self.open();
            self.int(6);
            self.int(self.nums.len() as u64);
            self.close();
            self.nums.push(v);
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

pub fn push_u64(s: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &d in &buf[i..] {
        s.push_ascii(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn validates_like_json_parse() {
        for ok in ["{}", "[]", " 1 ", "-0.5e+3", "\"a\\u00e9\\n\"", "[1,[2,{\"a\":[]}],null,true,false]", "{\"a\":{\"b\":[1,2]},\"c\":\"d\"}"] {
            assert!(parse(ok).is_some(), "{ok}");
        }
        for bad in ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "+1", "\"\\x\"", "\"a\nb\"", "[1 2]", "{a:1}", "tru", "1 2", "{\"a\" 1}", "[", "\"\\u12g4\""] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn deep_nesting_does_not_recurse() {
        let mut deep = String::new();
        for _ in 0..100_000 {
            deep.push_ascii(b'[');
        }
        for _ in 0..100_000 {
            deep.push_ascii(b']');
        }
        assert!(parse(&deep).is_some());
        deep.pop();
        assert!(parse(&deep).is_none());
    }

    #[test]
    fn reads_members_and_elements() {
        let doc = parse(r#"{"exp":1700000300,"sub":"al\"ice","aud":["a","b"],"x":null,"exp":7}"#).unwrap();
        assert_eq!(doc.get("exp").and_then(|v| v.num()), Some(7.0), "the last duplicate wins, as in JSON.parse");
        assert_eq!(doc.get("sub").unwrap().str(), Some("al\"ice"));
        assert_eq!(doc.get("missing"), None);
        let Some(Val::Arr(aud)) = doc.get("aud") else { panic!() };
        assert_eq!(elements(aud), vec![Val::Str("a".into()), Val::Str("b".into())]);
        assert_eq!(elements("[]"), vec![]);
        assert_eq!(elements("[ 1 , \"x\" ]"), vec![Val::Num(1.0, "1"), Val::Str("x".into())]);
    }

    #[test]
    fn unescapes_surrogates() {
        assert_eq!(unescape(r#""\ud83d\ude00 \u00e9 \/""#), "😀 é /");
        assert_eq!(unescape(r#""\ud800x""#), "\u{FFFD}x");
        assert_eq!(unescape("\"plain é\""), "plain é");
    }

    #[test]
    fn numbers() {
        for (lit, v) in [("0", 0.0), ("-0", -0.0), ("1700000000", 1_700_000_000.0), ("0.1", 0.1), ("1.5e3", 1500.0), ("123.456", 123.456), ("1e-7", 1e-7), ("2.5E-3", 0.0025), ("1e400", f64::INFINITY)] {
            assert_eq!(number_value(lit), v, "{lit}");
        }
        assert_eq!(number_value("9007199254740993"), 9007199254740992.0);
    }

    #[test]
    fn writer_escapes_and_separates() {
        let mut w = Writer::default();
        w.open();
        w.str("a\"b\\c\u{1}é");
        w.num(-42.0);
        w.num(1.5);
        w.open_obj();
        w.key("k");
        w.bool(true);
        w.close_obj();
        w.close();
        assert_eq!(w.s, r#"["a\"b\\c\u0001é",-42,[6,0],{"k":true}]"#);
        assert_eq!(w.nums, vec![1.5]);
        assert!(parse(&w.s).is_some());
    }
}
