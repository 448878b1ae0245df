//! The bodies of the fuzz targets, in one place: `fuzz/fuzz_targets/*.rs` (cargo fuzz,
//! nightly) and `tests/fuzz_replay.rs` (stable, `cargo test`) both include this file with
//! `#[path]`, so the committed corpus is replayed through exactly what was fuzzed.
//!
//! Each body takes the fuzzer's bytes and panics on a failed check. It only calls the
//! crate's public API: nothing here is compiled into the shipped wasm.

use keycloak_wasm::core::b64;
use keycloak_wasm::core::callback::{parse_callback_url, Flow, ResponseMode};
use keycloak_wasm::core::encode::{encode_uri_component, first_pair, form_decode, form_urlencode, join_url, set_hash, set_search, split_url};
use keycloak_wasm::core::iframe::{origin_of, parse_probe, SessionStatus};
use keycloak_wasm::core::json::{self, Val};
use keycloak_wasm::core::jwt;
use keycloak_wasm::core::storage::{find_cookie, is_managed_key, should_purge, storage_key, STORAGE_KEY_PREFIX};
use keycloak_wasm::machine::Machine;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The targets by name (the folder names under `fuzz/corpus/` and `fuzz/regressions/`).
pub const TARGETS: [(&str, fn(&[u8])); 8] = [
    ("b64", b64_target),
    ("jwt", jwt_target),
    ("callback", callback_target),
    ("json", json_target),
    ("config", config_target),
    ("iframe", iframe_target),
    ("storage", storage_target),
    ("machine", machine_target),
];

// ---- helpers -----------------------------------------------------------------------

fn lossy(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// The text keycloak-js makes of decoded bytes: UTF-8, or else Latin-1.
fn text_of_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(t) => t.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

/// Whether `text` is one JSON document by serde_json's grammar (strict RFC 8259, the one
/// `JSON.parse` reads). Read as `IgnoredAny`: only the syntax is checked, so a lone
/// UTF-16 surrogate escape or a number beyond f64 (both of which `JSON.parse` takes, as
/// `"\ud800"` and `Infinity`) are accepted. serde_json skips an ignored value without
/// recursion, so the depth is not limited either (as in `JSON.parse`).
pub fn json_syntax_ok(text: &str) -> bool {
    let mut de = serde_json::Deserializer::from_str(text);
    serde::de::IgnoredAny::deserialize(&mut de).is_ok() && de.end().is_ok()
}

/// The machine's effects must be what the driver can `JSON.parse`: an array of effects,
/// each an array starting with its name. Returns the parsed value when serde_json can
/// represent it (for the simulated driver's bookkeeping).
pub fn check_effects(input: &str, out: &str) -> Option<Value> {
    assert!(json_syntax_ok(out), "effects are not JSON\n input: {input:?}\n output: {out:?}");
    let v: Value = serde_json::from_str(out).ok()?;
    let list = v.as_array().unwrap_or_else(|| panic!("effects are not an array: {out:?}"));
    for e in list {
        let head = e.as_array().and_then(|a| a.first()).and_then(|h| h.as_str());
        assert!(head.is_some(), "an effect without a name: {e} in {out:?}");
    }
    Some(v)
}

/// Reads the fuzzer's bytes as choices. Past the end every read is zero / empty, so any
/// input is a complete program.
pub struct Bytes<'a> {
    d: &'a [u8],
    i: usize,
}

impl<'a> Bytes<'a> {
    pub fn new(d: &'a [u8]) -> Self {
        Bytes { d, i: 0 }
    }
    pub fn done(&self) -> bool {
        self.i >= self.d.len()
    }
    pub fn byte(&mut self) -> u8 {
        let b = self.d.get(self.i).copied().unwrap_or(0);
        self.i += 1;
        b
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.byte() as usize % n
        }
    }
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
    /// A text: a length byte, then that many bytes (UTF-8, invalid sequences replaced).
    pub fn text(&mut self) -> String {
        let n = self.byte() as usize;
        let end = (self.i + n).min(self.d.len());
        let start = self.i.min(end);
        self.i += n;
        lossy(&self.d[start..end])
    }
    /// A text that is often one of `dict`, otherwise fuzzed.
    pub fn word(&mut self, dict: &[&str]) -> String {
        let k = self.byte() as usize;
        if k < 192 && !dict.is_empty() {
            dict[k % dict.len()].to_string()
        } else {
            self.text()
        }
    }
    pub fn rest(&mut self) -> &'a [u8] {
        let r = &self.d[self.i.min(self.d.len())..];
        self.i = self.d.len();
        r
    }
}

const IDP: &str = "http://idp.localhost:8080";
const APP: &str = "http://app.localhost:3000/";
const APP_ORIGIN: &str = "http://app.localhost:3000";

const WORDS: &[&str] = &[
    "check-sso", "login-required", "query", "fragment", "standard", "implicit", "hybrid", "S256", "plain", "POST", "GET", "cordova",
    "cordova-native", "default", "none", "login", "supported", "unsupported", "unchanged", "changed", "error", "", " ", "30", "-1",
    "http://app.localhost:3000/", "http://app.localhost:3000/silent-check-sso.html", "http://idp.localhost:8080", "demo", "demo-app",
    "openid email", "nl", "register", "consent", "kc-callback-", "exit", "loadstart", "loaderror", "link", "\u{0}", "\\", "\"",
    "é☃\u{1F600}", "#", "?", "&", "=", "%", "%zz", "+",
];

const KEYS: &[&str] = &[
    "onLoad", "token", "refreshToken", "idToken", "timeSkew", "checkLoginIframe", "checkLoginIframeInterval", "responseMode", "flow",
    "pkceMethod", "silentCheckSsoRedirectUri", "silentCheckSsoFallback", "silentCheckSsoTimeout", "enableLogging", "useNonce", "scope",
    "redirectUri", "messageReceiveTimeout", "requestTimeout", "adapter", "locale", "prompt", "maxAge", "loginHint", "idpHint", "action",
    "acr", "acrValues", "cordovaOptions", "logoutMethod", "url", "realm", "clientId", "oidcProvider", "authorization_endpoint",
    "token_endpoint", "issuer", "$h", "$fn", "state", "nonce", "redirectUri", "pkceCodeVerifier", "loginOptions", "expires", "exp",
    "iat", "sid", "sub",
];

const NUMBERS: &[f64] = &[0.0, -0.0, 1.0, -1.0, 0.5, 5.0, 30.0, 300.0, 1e3, 1e4, 3.6e6, 1.7e9, 1.7e12, 9007199254740993.0, 1e300, -1e300, 4294967296.0, 65536.0];

/// A JSON value from the bytes, biased to the words and keys the adapter reads.
pub fn value(r: &mut Bytes, depth: u32) -> Value {
    match r.below(if depth >= 3 { 6 } else { 9 }) {
        0 => Value::Null,
        1 => Value::Bool(r.byte() & 1 == 1),
        2 => json!(NUMBERS[r.below(NUMBERS.len())]),
        3 => json!(r.u32() as i64 - (1 << 31)),
        4 | 5 => Value::String(r.word(WORDS)),
        6 => Value::Array((0..r.below(4)).map(|_| value(r, depth + 1)).collect()),
        _ => {
            let mut m = Map::new();
            for _ in 0..r.below(5) {
                let k = r.word(KEYS);
                m.insert(k, value(r, depth + 1));
            }
            Value::Object(m)
        }
    }
}

// ---- b64: base64 encode/decode (atob, base64url) -------------------------------------

pub fn b64_target(data: &[u8]) {
    // Our encodings of any bytes decode back (atob is the browser's decoder).
    let std = b64::encode_std(data);
    assert_eq!(std.len() % 4, 0);
    assert_eq!(b64::atob(&std).as_deref(), Some(data), "atob(encode_std(bytes))");
    let url = b64::encode_url(data);
    assert_eq!(url, std.trim_end_matches('=').replace('+', "-").replace('/', "_"), "base64url is base64 with two letters swapped, unpadded");
    assert_eq!(jwt::base64url_decode_text(&url).as_deref(), Ok(text_of_bytes(data).as_str()), "base64url text of {data:?}");
    // Any text through the forgiving decoder: what it accepts decodes to 6 bits a letter.
    let text = lossy(data);
    if let Some(bytes) = b64::atob(&text) {
        let letters = text.bytes().filter(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/').count();
        assert_eq!(bytes.len(), letters * 6 / 8, "{text:?}");
        assert!(text.bytes().all(|c| c.is_ascii_alphanumeric() || b"+/= \t\n\x0c\r".contains(&c)), "atob accepted {text:?}");
        assert_eq!(b64::atob(&b64::encode_std(&bytes)), Some(bytes));
    }
    let _ = jwt::base64url_decode_text(&text);
}

// ---- jwt: token payload decoding and the claims the machine reads ----------------------

fn read_claims(payload: &str) {
    let Some(v) = json::parse(payload) else { return };
    for k in ["exp", "iat", "sid", "sub", "nonce", "typ", "realm_access", "resource_access"] {
        if let Some(x) = v.get(k) {
            let _ = (x.str(), x.num(), x.truthy(), x.js_string(), x.raw());
        }
    }
}

pub fn jwt_target(data: &[u8]) {
    let token = lossy(data);
    match jwt::decode_payload(&token) {
        Ok(payload) => read_claims(&payload),
        Err(e) => {
            let _ = (e.message(), e.cause(), e.kind());
        }
    }
    // A token whose payload is the bytes, base64url-encoded: decodes to their text.
    let mut t = String::from("eyJhbGciOiJub25lIn0.");
    t.push_str(&b64::encode_url(data));
    t.push_str(".sig");
    let payload = jwt::decode_payload(&t).expect("a base64url payload decodes");
    assert_eq!(payload, text_of_bytes(data));
    read_claims(&payload);
}

// ---- callback: callback URL parsing, fragment/query split, form encodings -----------

pub fn callback_target(data: &[u8]) {
    let href = lossy(data);
    let parts = split_url(&href);
    assert_eq!(join_url(parts.base, parts.query, parts.fragment), href, "split and join");
    for flow in [Flow::Standard, Flow::Implicit, Flow::Hybrid] {
        for mode in [ResponseMode::Fragment, ResponseMode::Query] {
            let Some(cb) = parse_callback_url(&href, flow, mode) else { continue };
            let p = &cb.params;
            assert!(p.get("state").is_some(), "a callback without state: {href:?}");
            let result = match flow {
                Flow::Implicit => p.get("access_token").or(p.get("error")),
                _ => p.get("code").or(p.get("error")),
            };
            assert!(result.is_some(), "a callback without a result: {href:?}");
            // Cleaning changes only the part the callback was in.
            let np = split_url(&cb.new_url);
            assert_eq!(np.base, parts.base, "{href:?} -> {:?}", cb.new_url);
            match mode {
                ResponseMode::Fragment => assert_eq!(np.query, parts.query, "{href:?} -> {:?}", cb.new_url),
                ResponseMode::Query => assert_eq!(np.fragment, parts.fragment, "{href:?} -> {:?}", cb.new_url),
            }
        }
    }
    for piece in href.split('&') {
        let _ = first_pair(piece);
    }
    // The setters' output is URL-safe: no controls, space or non-ASCII left.
    for s in [set_search(&href), set_hash(&href)].into_iter().flatten() {
        assert!(s.bytes().all(|b| b > 0x20 && b < 0x7f), "{s:?}");
    }
    // Encodings round trip through URLSearchParams' decoding.
    let form = form_urlencode(&[("k", &href)]);
    assert_eq!(form_decode(&form[2..]), href);
    assert_eq!(form_decode(&encode_uri_component(&href)), href);
    let _ = form_decode(&href);
}

// ---- json: our JSON reader against serde_json ------------------------------------------

fn close(a: f64, b: f64) -> bool {
    a == b || !(1e-290..1e290).contains(&b.abs()) || ((a - b) / b).abs() < 1e-13
}

fn same(ours: &Val<'_>, theirs: &Value) -> bool {
    match (ours, theirs) {
        (Val::Null, Value::Null) => true,
        (Val::Bool(a), Value::Bool(b)) => a == b,
        (Val::Num(a, _), Value::Number(b)) => b.as_f64().is_some_and(|b| close(*a, b)),
        (Val::Str(a), Value::String(b)) => a == b,
        (Val::Arr(raw), Value::Array(b)) => {
            let a = json::elements(raw);
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Val::Obj(_), Value::Object(b)) => b.iter().all(|(k, v)| ours.get(k).is_some_and(|x| same(&x, v))),
        _ => false,
    }
}

/// Walks a value as the machine reads values: every element, member and scalar; what
/// `raw()` writes reads back as the same value (writer/reader round trip).
fn walk(v: &Val<'_>, depth: u32) {
    let raw = v.raw();
    assert_eq!(json::parse(&raw).as_ref(), Some(v), "raw() does not read back: {raw:?}");
    let _ = (v.truthy(), v.js_string(), v.str(), v.num());
    if depth > 48 {
        return;
    }
    match v {
        Val::Arr(r) => {
            for e in json::elements(r) {
                walk(&e, depth + 1);
            }
        }
        Val::Obj(r) => {
            let mut n = 0;
            json::members(r, |k, x| {
                n += 1;
                assert!(v.get(k).is_some(), "member {k:?} not found by get");
                walk(&x, depth + 1);
            });
            assert_eq!(n == 0, r[1..].trim_start().starts_with('}'), "{r:?}");
        }
        _ => {}
    }
}

pub fn json_target(data: &[u8]) {
    let text = lossy(data);
    let ours = json::parse(&text);
    assert_eq!(ours.is_some(), json_syntax_ok(&text), "our reader and serde_json disagree on {text:?}");
    let Some(v) = ours else { return };
    walk(&v, 0);
    if let Ok(theirs) = serde_json::from_str::<Value>(&text) {
        assert!(same(&v, &theirs), "{text:?}: {v:?} vs {theirs}");
    }
    // A string value written by our writer reads back as the same text.
    let mut w = json::Writer::default();
    w.str(&text);
    assert_eq!(json::parse(&w.s).as_ref().and_then(|v| v.str()), Some(text.as_str()));
}

// ---- a simulated browser for the machine-driven targets ----------------------------

/// What the driver still owes the machine.
#[derive(Debug, Clone)]
pub struct Fetch {
    pub id: u64,
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct Frame {
    pub id: u64,
    pub title: String,
    pub loaded: bool,
}

/// A small driver (pkg/driver.js's bookkeeping, no JavaScript): it remembers what the
/// effects ask to be answered, so fuzzed answers reach the tasks that wait for them.
pub struct Sim {
    pub m: Machine,
    pub now: f64,
    pub href: String,
    pub props: Map<String, Value>,
    pub crypto: bool,
    counter: u64,
    pub fetches: Vec<Fetch>,
    /// Ids waiting for a `ret` (kind of effect, id, state for a `take`).
    pub rets: Vec<(String, u64, String)>,
    pub resumes: Vec<u64>,
    pub frames: Vec<Frame>,
    /// Frames a status message was posted to (the status iframe answers).
    pub posts: Vec<u64>,
    pub wins: Vec<u64>,
    /// Tasks that emitted effects which may throw in the driver (`fail`).
    pub tasks: Vec<u64>,
    /// Stored callback records by state.
    pub records: Vec<(String, String)>,
    pub nonce: String,
    pub state: String,
    pub next_op: u64,
    pub inputs: usize,
}

impl Default for Sim {
    fn default() -> Self {
        Self::new()
    }
}

impl Sim {
    pub fn new() -> Sim {
        let mut props = Map::new();
        for (k, v) in [
            ("loginRequired", json!(false)),
            ("responseMode", json!("fragment")),
            ("responseType", json!("code")),
            ("timeSkew", Value::Null),
            ("silentCheckSsoFallback", json!(true)),
            ("pkceMethod", json!("S256")),
            ("enableLogging", json!(false)),
            ("logoutMethod", json!("GET")),
            ("messageReceiveTimeout", json!(10000)),
            ("onTokenExpired", json!(false)),
        ] {
            props.insert(k.into(), v);
        }
        Sim {
            m: Machine::new(),
            now: 1_700_000_000_000.0,
            href: APP.into(),
            props,
            crypto: true,
            counter: 0,
            fetches: Vec::new(),
            rets: Vec::new(),
            resumes: Vec::new(),
            frames: Vec::new(),
            posts: Vec::new(),
            wins: Vec::new(),
            tasks: Vec::new(),
            records: Vec::new(),
            nonce: String::new(),
            state: String::new(),
            next_op: 0,
            inputs: 0,
        }
    }

    fn rand(&mut self) -> Option<[u8; 128]> {
        if !self.crypto {
            return None;
        }
        self.counter += 1;
        let mut r = [0u8; 128];
        for (i, b) in r.iter_mut().enumerate() {
            *b = (self.counter as u8).wrapping_mul(29).wrapping_add((i as u8).wrapping_mul(13));
        }
        Some(r)
    }

    /// One input exactly as given; the effects are checked and remembered.
    pub fn send_raw(&mut self, text: &str) {
        self.inputs += 1;
        let rand = self.rand();
        let out = self.m.handle(text, rand).s.clone();
        let _ = self.m.deadline();
        if let Some(v) = check_effects(text, &out) {
            self.learn(&v);
        }
    }

    pub fn send(&mut self, kind: &str, args: Vec<Value>) {
        let mut input = vec![json!(kind), json!(self.now), json!(self.href), Value::Object(self.props.clone())];
        input.extend(args);
        self.send_raw(&Value::Array(input).to_string());
    }

    pub fn call(&mut self, method: &str, args: Vec<Value>) {
        self.next_op += 1;
        let mut a = vec![json!(self.next_op), json!(method)];
        a.extend(args);
        self.send("call", a);
    }

    fn learn(&mut self, effects: &Value) {
        let id = |e: &Value, i: usize| e.get(i).and_then(|v| v.as_u64()).unwrap_or(0);
        let text = |e: &Value, i: usize| e.get(i).and_then(|v| v.as_str()).unwrap_or("").to_string();
        for e in effects.as_array().into_iter().flatten() {
            let kind = e[0].as_str().unwrap_or("");
            match kind {
                "fetch" => self.fetches.push(Fetch { id: id(e, 1), url: text(e, 2) }),
                "has" => self.rets.push((kind.into(), id(e, 1), String::new())),
                "put" => {
                    let state = text(e, 3);
                    let record = text(e, 4);
                    if let Ok(r) = serde_json::from_str::<Value>(&record) {
                        self.nonce = r["nonce"].as_str().unwrap_or("").to_string();
                    }
                    self.state = state.clone();
                    self.records.retain(|r| r.0 != state);
                    self.records.push((state.clone(), record));
                    self.rets.push((kind.into(), id(e, 1), state));
                }
                "take" => self.rets.push((kind.into(), id(e, 1), text(e, 3))),
                "call" | "win" | "tab" => {
                    self.tasks.push(id(e, 1));
                    self.rets.push((kind.into(), id(e, 2), String::new()));
                    if kind != "call" {
                        self.wins.push(id(e, 2));
                    }
                }
                "emit" => self.resumes.push(id(e, 1)),
                "frame" => {
                    self.tasks.push(id(e, 1));
                    self.frames.push(Frame { id: id(e, 2), title: e[3][2][1].as_str().unwrap_or("").into(), loaded: false });
                }
                "unframe" => self.frames.retain(|f| f.id != id(e, 1)),
                "post" => {
                    self.tasks.push(id(e, 1));
                    self.posts.push(id(e, 2));
                }
                "nav" | "hist" | "form" => self.tasks.push(id(e, 1)),
                "winclose" => self.wins.retain(|w| *w != id(e, 1)),
                _ => {}
            }
        }
        // Keep the lists short: the oldest entries are the least interesting.
        for v in [&mut self.tasks, &mut self.resumes, &mut self.posts] {
            if v.len() > 16 {
                v.drain(..v.len() - 16);
            }
        }
    }

    /// A JWT (unsigned: the adapter never checks signatures) with these claims.
    pub fn jwt(claims: &Value) -> String {
        let mut t = String::from("eyJhbGciOiJSUzI1NiJ9.");
        t.push_str(&b64::encode_url(claims.to_string().as_bytes()));
        t.push_str(".c2ln");
        t
    }

    /// A token response such as the realm sends, `life` seconds long.
    pub fn tokens(&self, life: f64) -> Value {
        let s = (self.now / 1000.0).floor();
        let base = json!({ "sub": "alice-id", "sid": "sid-1", "iat": s, "exp": s + life, "realm_access": { "roles": ["user"] } });
        let mut id = base.clone();
        id["nonce"] = json!(self.nonce);
        id["typ"] = json!("ID");
        let mut refresh = base.clone();
        refresh["exp"] = json!(s + 1800.0);
        json!({
            "access_token": Self::jwt(&base),
            "refresh_token": Self::jwt(&refresh),
            "id_token": Self::jwt(&id),
            "expires_in": life,
            "token_type": "Bearer",
        })
    }

    /// What the realm would answer to a request for `url`.
    pub fn realistic_body(&self, url: &str) -> Value {
        if url.ends_with("/token") {
            self.tokens(300.0)
        } else if url.ends_with("openid-configuration") {
            json!({
                "issuer": format!("{IDP}/realms/demo"),
                "authorization_endpoint": format!("{IDP}/realms/demo/protocol/openid-connect/auth"),
                "token_endpoint": format!("{IDP}/realms/demo/protocol/openid-connect/token"),
                "userinfo_endpoint": format!("{IDP}/realms/demo/protocol/openid-connect/userinfo"),
                "end_session_endpoint": format!("{IDP}/realms/demo/protocol/openid-connect/logout"),
                "check_session_iframe": format!("{IDP}/realms/demo/protocol/openid-connect/login-status-iframe.html"),
            })
        } else if url.ends_with(".json") {
            json!({ "auth-server-url": IDP, "realm": "demo", "resource": "demo-app" })
        } else {
            json!({ "sub": "alice-id" })
        }
    }

    /// The callback URL the server would send the browser back to.
    pub fn callback_url(&self, base: &str) -> String {
        let s = if self.state.is_empty() { "S" } else { &self.state };
        format!("{base}#state={s}&session_state=ss&iss={}&code=code-1", encode_uri_component(&format!("{IDP}/realms/demo")))
    }

    pub fn answer_fetch(&mut self, f: &Fetch, status: u16, body: &str) {
        // A 2xx answer carries the parsed body in a handle; others the Response.
        self.send("http", vec![json!(f.id), json!(status), json!(body), json!(if status == 0 { 3 } else { 1 })]);
    }

    /// Answers one thing the driver owes, as a browser would; `false` when nothing is owed.
    pub fn auto_one(&mut self) -> bool {
        if let Some((kind, id, state)) = (!self.rets.is_empty()).then(|| self.rets.remove(0)) {
            match kind.as_str() {
                "has" => self.send("ret", vec![json!(id), json!(false), json!(0), Value::Null]),
                "take" => {
                    let rec = self.records.iter().position(|r| r.0 == state).map(|i| self.records.remove(i).1);
                    self.send("ret", vec![json!(id), json!(true), json!(0), rec.map_or(Value::Null, Value::String)]);
                }
                _ => self.send("ret", vec![json!(id), json!(true), json!(0), Value::Null]),
            }
            return true;
        }
        if !self.resumes.is_empty() {
            let id = self.resumes.remove(0);
            self.send("resume", vec![json!(id), json!(0)]);
            return true;
        }
        if let Some(i) = self.frames.iter().position(|f| !f.loaded) {
            self.frames[i].loaded = true;
            let f = self.frames[i].clone();
            self.send("load", vec![json!(f.id)]);
            match f.title.as_str() {
                "keycloak-3p-check-iframe" => self.send("msg", vec![json!(f.id), json!(IDP), json!("supported")]),
                "keycloak-silent-check-sso" => {
                    let url = self.callback_url("http://app.localhost:3000/silent-check-sso.html");
                    self.send("msg", vec![json!(f.id), json!(APP_ORIGIN), json!(url)])
                }
                _ => {}
            }
            return true;
        }
        if !self.posts.is_empty() {
            let frame = self.posts.remove(0);
            self.send("msg", vec![json!(frame), json!(IDP), json!("unchanged")]);
            return true;
        }
        if !self.fetches.is_empty() {
            let f = self.fetches.remove(0);
            let body = self.realistic_body(&f.url).to_string();
            self.answer_fetch(&f, 200, &body);
            return true;
        }
        false
    }

    /// Answers what is owed, up to `budget` inputs.
    pub fn settle(&mut self, budget: usize) {
        for _ in 0..budget {
            if !self.auto_one() {
                return;
            }
        }
    }

    /// Lets time run to the machine's next timer and ticks.
    pub fn tick_to_deadline(&mut self) {
        if let Some(at) = self.m.deadline() {
            if at.is_finite() && at > self.now {
                self.now = at;
            }
        }
        self.send("tick", vec![]);
    }
}

/// The page set-ups the machine-driven targets start from.
pub fn config_choice(k: usize) -> Value {
    match k % 4 {
        0 => json!({ "url": IDP, "realm": "demo", "clientId": "demo-app" }),
        1 => json!({ "clientId": "demo-app", "oidcProvider": format!("{IDP}/realms/demo") }),
        2 => json!("http://app.localhost:3000/keycloak.json"),
        _ => json!({ "clientId": "demo-app", "oidcProvider": {
            "issuer": format!("{IDP}/realms/demo"),
            "authorization_endpoint": format!("{IDP}/auth"),
            "token_endpoint": format!("{IDP}/token"),
            "end_session_endpoint": format!("{IDP}/logout"),
        } }),
    }
}

pub fn init_choice(k: usize, sim: &Sim) -> Value {
    let silent = "http://app.localhost:3000/silent-check-sso.html";
    let t = sim.tokens(300.0);
    match k % 10 {
        0 => json!({ "onLoad": "check-sso" }),
        1 => json!({ "onLoad": "check-sso", "silentCheckSsoRedirectUri": silent }),
        2 => json!({ "onLoad": "login-required", "checkLoginIframe": false }),
        3 => json!({ "token": t["access_token"], "refreshToken": t["refresh_token"], "idToken": t["id_token"], "timeSkew": 0 }),
        4 => json!({ "token": t["access_token"], "refreshToken": t["refresh_token"], "checkLoginIframe": false }),
        5 => json!({ "flow": "implicit", "onLoad": "check-sso", "checkLoginIframe": false }),
        6 => json!({ "flow": "hybrid", "responseMode": "query", "pkceMethod": false }),
        7 => json!({ "adapter": "cordova", "onLoad": "check-sso" }),
        8 => json!({ "adapter": { "$h": 7 }, "checkLoginIframe": false }),
        _ => json!({ "checkLoginIframe": false, "enableLogging": true, "useNonce": false }),
    }
}

// ---- config: adapter config and OIDC discovery handling -----------------------------

/// The constructor's argument and the document the machine fetches for it (a
/// `keycloak.json` or a discovery document), fuzzed, then `init` runs to the end.
pub fn config_target(data: &[u8]) {
    let mut parts = data.splitn(3, |b| *b == 0);
    let config = lossy(parts.next().unwrap_or(&[]));
    let body = lossy(parts.next().unwrap_or(&[]));
    let opts = lossy(parts.next().unwrap_or(&[]));
    // A document goes in as itself when it is JSON, otherwise as a string (a URL).
    let as_value = |t: &str| if json_syntax_ok(t) { t.to_string() } else { Value::String(t.to_string()).to_string() };
    let mut sim = Sim::new();
    let props = Value::Object(sim.props.clone()).to_string();
    sim.send_raw(&format!("[\"new\",{},\"{APP}\",{props},{}]", sim.now, as_value(&config)));
    let opts = if json_syntax_ok(&opts) { opts } else { String::from("{\"onLoad\":\"check-sso\"}") };
    sim.send_raw(&format!("[\"call\",{},\"{APP}\",{props},1,\"init\",{opts}]", sim.now));
    sim.next_op = 1;
    // The Cordova check is answered, then the first request (init's `#loadConfig`) gets
    // the fuzzed document (kept short: every input costs, and this is about the config).
    for _ in 0..3 {
        if !sim.fetches.is_empty() && sim.rets.is_empty() {
            let f = sim.fetches.remove(0);
            sim.answer_fetch(&f, 200, &body);
            break;
        } else if !sim.auto_one() {
            break;
        }
    }
    // What the endpoints are used for afterwards.
    sim.call(["createLoginUrl", "createLogoutUrl", "createRegisterUrl", "createAccountUrl"][body.len() % 4], vec![json!({})]);
}

// ---- iframe: messages from the probe, the status iframe and silent check-sso ----------

pub fn iframe_target(data: &[u8]) {
    // The pure helpers.
    let text = lossy(data);
    if let Some(o) = origin_of(&text) {
        assert!(text.starts_with(o) && o.contains("://"), "{text:?} -> {o:?}");
        assert!(text.len() == o.len() || text[o.len()..].starts_with(['/', '?', '#']), "{text:?} -> {o:?}");
    }
    assert_eq!(SessionStatus::parse(&text).is_some(), ["unchanged", "changed", "error"].contains(&text.as_str()));
    assert_eq!(parse_probe(&text).is_some(), ["supported", "unsupported"].contains(&text.as_str()));
    // Messages to the machine's frames, in any order, beside a realistic init.
    let mut r = Bytes::new(data);
    let mut sim = Sim::new();
    sim.send("new", vec![config_choice(r.below(2))]);
    let silent = "http://app.localhost:3000/silent-check-sso.html";
    let opts = match r.below(4) {
        0 => json!({ "onLoad": "check-sso", "silentCheckSsoRedirectUri": silent }),
        1 => init_choice(3, &sim),
        2 => json!({ "onLoad": "check-sso", "silentCheckSsoRedirectUri": silent, "checkLoginIframeInterval": 1 }),
        _ => json!({ "onLoad": "check-sso" }),
    };
    sim.call("init", vec![opts]);
    while !r.done() && sim.inputs < 8 {
        match r.below(4) {
            0 => {
                sim.auto_one();
            }
            1 => sim.tick_to_deadline(),
            _ => {
                let frame = if sim.frames.is_empty() { r.byte() as u64 } else { sim.frames[r.below(sim.frames.len())].id };
                let origin = match r.below(4) {
                    0 => IDP.to_string(),
                    1 => APP_ORIGIN.to_string(),
                    2 => r.word(&["null", "http://evil.localhost", "http://idp.localhost:8080/", ""]),
                    _ => r.text(),
                };
                let data = match r.below(4) {
                    0 => Value::Null,
                    1 => Value::String(r.word(&["supported", "unsupported", "unchanged", "changed", "error", "Changed", "supported "])),
                    2 => Value::String(sim.callback_url(&r.word(&[silent, APP, ""]))),
                    _ => Value::String(r.text()),
                };
                sim.send("msg", vec![json!(frame), json!(origin), data]);
            }
        }
    }
}

// ---- storage: the stored callback record -------------------------------------------

pub fn storage_target(data: &[u8]) {
    let mut parts = data.splitn(2, |b| *b == 0);
    let record = lossy(parts.next().unwrap_or(&[]));
    let rest = lossy(parts.next().unwrap_or(&[]));
    // Cookie scanning: what it finds is a piece of the cookie string after `key=`.
    let key = storage_key(&rest);
    assert!(is_managed_key(&key) && key.starts_with(STORAGE_KEY_PREFIX));
    let found = find_cookie(&record, &key);
    if !found.is_empty() {
        let at = found.as_ptr() as usize - record.as_ptr() as usize;
        assert!(record[..at].ends_with(&format!("{key}=")), "{record:?} {key:?}");
    }
    let _ = find_cookie(&record, &rest);
    // The record as the machine reads it: the fields it uses, and the expiry it purges by.
    if let Some(v) = json::parse(&record) {
        for k in ["state", "nonce", "redirectUri", "prompt", "pkceCodeVerifier", "loginOptions", "expires"] {
            let _ = v.get(k).map(|x| x.raw());
        }
        let expires = v.get("expires").and_then(|x| x.num());
        assert_eq!(should_purge(expires, 0.0), expires.is_none_or(|e| e < 0.0));
    }
    // The record handed to the machine for a callback in the URL (init) or one the app
    // passes (handleCallback).
    let mut sim = Sim::new();
    let handle = rest.bytes().next().unwrap_or(0) & 1 == 1;
    let flow = ["standard", "implicit", "hybrid"][rest.len() % 3];
    sim.send("new", vec![config_choice(0)]);
    sim.state = "S".into();
    sim.nonce = "N".into();
    let cb = if flow == "standard" { sim.callback_url(APP) } else { format!("{APP}#state=S&access_token={}&id_token={}&code=c", Sim::jwt(&json!({"exp": 2e9, "nonce": "N"})), Sim::jwt(&json!({"exp": 2e9, "nonce": "N"}))) };
    if !handle {
        sim.href = cb.clone();
    }
    sim.call("init", vec![json!({ "checkLoginIframe": false, "flow": flow, "responseMode": "fragment" })]);
    if handle {
        sim.settle(1);
        sim.call("handleCallback", vec![json!(cb)]);
    }
    sim.records.push(("S".into(), record));
    sim.settle(3);
}

// ---- machine: the whole adapter, any input ----------------------------------------

/// Arbitrary input texts (one a line), or a realistic start followed by a fuzzed
/// schedule of answers, messages, timers, app calls, property changes and forged inputs.
pub fn machine_target(data: &[u8]) {
    let mut r = Bytes::new(data);
    let mode = r.byte();
    if mode < 32 {
        let mut sim = Sim::new();
        if mode & 1 == 1 {
            sim.send("new", vec![config_choice(mode as usize >> 1)]);
            let init = init_choice(mode as usize >> 2, &sim);
            sim.call("init", vec![init]);
        }
        let rest = lossy(r.rest());
        for line in rest.split('\n').take(16) {
            sim.send_raw(line);
            sim.settle(1);
        }
        return;
    }
    let mut sim = Sim::new();
    sim.crypto = mode & 1 == 1;
    sim.href = match r.below(4) {
        0 => {
            sim.state = "S".into();
            sim.records.push(("S".into(), json!({ "state": "S", "nonce": "", "redirectUri": APP, "pkceCodeVerifier": "v", "expires": 2e12 }).to_string()));
            sim.callback_url(APP)
        }
        _ => APP.into(),
    };
    sim.send("new", vec![config_choice(r.below(4))]);
    let init = init_choice(r.below(10), &sim);
    sim.call("init", vec![init]);
    const METHODS: &[&str] = &[
        "init", "login", "register", "logout", "createLoginUrl", "createRegisterUrl", "createLogoutUrl", "createAccountUrl",
        "accountManagement", "loadUserProfile", "loadUserInfo", "updateToken", "clearToken", "handleCallback", "isTokenExpired", "nope",
    ];
    while !r.done() && sim.inputs < 32 {
        match r.below(13) {
            0..=2 => {
                if !sim.auto_one() {
                    sim.tick_to_deadline();
                }
            }
            3 => {
                // A request answered with a fuzzed status and body.
                let f = if sim.fetches.is_empty() { Fetch { id: r.byte() as u64, url: String::new() } } else { sim.fetches.remove(r.below(sim.fetches.len())) };
                let status = [200, 201, 204, 400, 401, 403, 404, 500, 502, 0, 299, 300][r.below(12)];
                let body = match r.below(4) {
                    0 => sim.realistic_body(&f.url).to_string(),
                    1 => {
                        let mut t = sim.tokens([300.0, -10.0, 0.0, 1e12][r.below(4)]);
                        if let Some(k) = ["access_token", "refresh_token", "id_token", "expires_in"].get(r.below(6)) {
                            t[*k] = value(&mut r, 1);
                        }
                        t.to_string()
                    }
                    2 => value(&mut r, 0).to_string(),
                    _ => r.text(),
                };
                sim.answer_fetch(&f, status, &body);
            }
            4 => {
                // A synchronous answer: ok or thrown, a handle, a text.
                let id = if sim.rets.is_empty() || r.byte() < 16 { r.byte() as u64 } else { sim.rets.remove(r.below(sim.rets.len())).1 };
                let text = match r.below(3) {
                    0 => Value::Null,
                    1 => Value::String(sim.records.last().map(|x| x.1.clone()).unwrap_or_default()),
                    _ => Value::String(r.text()),
                };
                sim.send("ret", vec![json!(id), json!(r.byte() & 1 == 1), json!(r.below(4)), text]);
            }
            5 => {
                let id = if sim.resumes.is_empty() || r.byte() < 16 { r.byte() as u64 } else { sim.resumes.remove(r.below(sim.resumes.len())) };
                sim.send("resume", vec![json!(id), json!(r.below(3))]);
            }
            6 => {
                let frame = if sim.frames.is_empty() { r.byte() as u64 } else { sim.frames[r.below(sim.frames.len())].id };
                let origin = r.word(&[IDP, APP_ORIGIN, "null"]);
                let data = match r.below(3) {
                    0 => Value::String(r.word(&["supported", "unsupported", "unchanged", "changed", "error"])),
                    1 => Value::String(sim.callback_url(&r.word(&["http://app.localhost:3000/silent-check-sso.html", APP]))),
                    _ => value(&mut r, 1),
                };
                sim.send("msg", vec![json!(frame), json!(origin), data]);
            }
            7 => {
                // A frame loads, a window reports, an effect threw.
                let ids: Vec<u64> = sim.frames.iter().map(|f| f.id).chain(sim.wins.iter().copied()).chain(sim.tasks.iter().copied()).collect();
                let id = if ids.is_empty() { r.byte() as u64 } else { ids[r.below(ids.len())] };
                match r.below(3) {
                    0 => sim.send("load", vec![json!(id)]),
                    1 => {
                        let name = r.word(&["loadstart", "loaderror", "exit", "link"]);
                        let url = if r.byte() & 1 == 1 { json!(sim.callback_url(APP)) } else { value(&mut r, 1) };
                        sim.send("event", vec![json!(id), json!(name), url])
                    }
                    _ => sim.send("fail", vec![json!(id), json!(r.below(4))]),
                }
            }
            8 => {
                sim.now += [0.0, 1.0, 999.0, 5000.0, 10_000.0, 30_000.0, 300_000.0, 3.6e6, -5000.0, r.u32() as f64][r.below(10)];
                if r.byte() & 1 == 1 {
                    sim.tick_to_deadline();
                } else {
                    sim.send("tick", vec![]);
                }
            }
            9 | 10 => {
                let method = METHODS[r.below(METHODS.len())];
                let args = match r.below(3) {
                    0 => vec![],
                    1 => vec![value(&mut r, 0)],
                    _ => vec![value(&mut r, 0), value(&mut r, 0)],
                };
                sim.call(method, args);
            }
            11 => {
                // The app assigns a property, or the page's URL changes.
                if r.byte() & 1 == 1 {
                    let k = r.word(&["redirectUri", "scope", "enableLogging", "logoutMethod", "messageReceiveTimeout", "silentCheckSsoRedirectUri", "silentCheckSsoFallback", "responseMode", "responseType", "pkceMethod", "loginRequired", "timeSkew", "onTokenExpired"]);
                    let v = value(&mut r, 1);
                    sim.props.insert(k, v);
                } else {
                    sim.href = match r.below(3) {
                        0 => sim.callback_url(APP),
                        1 => APP.into(),
                        _ => r.text(),
                    };
                }
            }
            _ => {
                // Forged inputs: any kind, any arguments, or any text at all.
                if r.byte() & 1 == 1 {
                    let kind = r.word(&["new", "call", "http", "ret", "resume", "load", "msg", "event", "tick", "fail", "?"]);
                    let args = (0..r.below(6)).map(|_| value(&mut r, 1)).collect();
                    sim.send(&kind, args);
                } else {
                    let t = r.text();
                    sim.send_raw(&t);
                }
            }
        }
    }
    // The world falls silent; time runs on.
    sim.settle(4);
    sim.now += 3.6e6;
    sim.tick_to_deadline();
    sim.settle(2);
}
