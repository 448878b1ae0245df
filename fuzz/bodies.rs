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
pub const TARGETS: [(&str, fn(&[u8])); 9] = [
    ("b64", b64_target),
    ("jwt", jwt_target),
    ("callback", callback_target),
    ("json", json_target),
    ("config", config_target),
    ("iframe", iframe_target),
    ("storage", storage_target),
    ("machine", machine_target),
    ("jwks", jwks_target),
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
    /// Every batch of effects, when a target wants to check them itself (`jwks`).
    pub log: Option<Vec<Value>>,
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
            log: None,
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
            if let Some(log) = &mut self.log {
                log.push(v);
            }
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

// ---- jwks: verifyTokens (the realm's keys, the token headers, the signature checks) --

const ISSUER: &str = "http://idp.localhost:8080/realms/demo";
const JWKS_URI: &str = "http://idp.localhost:8080/realms/demo/keys";
/// The only algorithms a `verify` effect may carry (WebCrypto's RSA and EC signatures).
const SIG_ALGS: [&str; 9] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];
const ALG_WORDS: &[&str] = &[
    "RS256", "ES256", "PS384", "RS512", "ES384", "ES512", "PS256", "PS512", "RS384", "none", "HS256", "HS384", "HS512", "None", "NONE",
    "EdDSA", "RSA-OAEP", "", "rs256", "RS256 ", "RS256\u{0}", "ES256K", "RS",
];
const KID_WORDS: &[&str] = &["k1", "k2", "enc", "", "K1", "k1 ", "\u{0}", "../k1"];

/// The `jwks` target's world: a `Sim` whose effects it checks itself, and what it handed
/// the machine (tokens, keys) and answered (signature checks).
struct Jw {
    sim: Sim,
    /// A generic provider (`oidcProvider` metadata): opaque access tokens are not checked.
    oidc: bool,
    certs_url: &'static str,
    /// Every token handed to the machine: a `verify` effect is about one of them.
    delivered: std::collections::HashSet<String>,
    /// Tokens whose signature check was answered `true`.
    approved: std::collections::HashSet<String>,
    /// Signature checks the machine waits for: (ret id, token).
    verifies: Vec<(u64, String)>,
    /// The key texts of every JWKS document answered: a `verify` key is one of them.
    keys: std::collections::HashSet<String>,
    /// The document the realm answers with now.
    doc: String,
    /// Inputs that handed the machine tokens (each may start one verification).
    deliveries: usize,
    /// Key requests the machine made (at most two per verification).
    certs: usize,
}

/// The realm's keys: an encryption key (never for signatures) and the signing key.
fn realm_jwks() -> String {
    json!({ "keys": [
        { "kid": "enc", "kty": "RSA", "use": "enc", "alg": "RSA-OAEP", "n": "x", "e": "AQAB" },
        { "kid": "k1", "kty": "RSA", "use": "sig", "alg": "RS256", "n": "y", "e": "AQAB" }
    ] })
    .to_string()
}

/// An object's text with one more member `key` appended (a duplicate when it is there).
fn with_member(obj: &Value, key: &str, v: &Value) -> String {
    let t = obj.to_string();
    let member = format!("{}:{v}", json!(key));
    if t == "{}" {
        format!("{{{member}}}")
    } else {
        format!("{},{member}}}", &t[..t.len() - 1])
    }
}

/// A JSON object's string member, as the machine reads it (the last one of that name).
fn str_member(obj: &str, key: &str) -> Option<String> {
    json::parse(obj)?.get(key)?.str().map(String::from)
}

impl Jw {
    fn new(cfg: usize) -> Jw {
        let mut sim = Sim::new();
        sim.log = Some(Vec::new());
        Jw {
            sim,
            oidc: cfg != 0,
            certs_url: if cfg == 0 { "http://idp.localhost:8080/realms/demo/protocol/openid-connect/certs" } else { JWKS_URI },
            delivered: Default::default(),
            approved: Default::default(),
            verifies: Vec::new(),
            keys: Default::default(),
            doc: realm_jwks(),
            deliveries: 0,
            certs: 0,
        }
    }

    /// The keycloak config, or a generic provider's metadata (with or without
    /// `jwks_uri` and `issuer`).
    fn config(cfg: usize) -> Value {
        let mut meta = json!({
            "issuer": ISSUER,
            "authorization_endpoint": format!("{ISSUER}/auth"),
            "token_endpoint": format!("{ISSUER}/token"),
            "jwks_uri": JWKS_URI,
        });
        match cfg {
            0 => return json!({ "url": IDP, "realm": "demo", "clientId": "demo-app" }),
            2 => meta.as_object_mut().unwrap().remove("jwks_uri").map(drop).unwrap_or(()),
            3 => meta.as_object_mut().unwrap().remove("issuer").map(drop).unwrap_or(()),
            _ => {}
        }
        json!({ "clientId": "demo-app", "oidcProvider": meta })
    }

    /// A token header: mostly an object with `alg`, `kid`, `typ` from the words the
    /// checks care about (or fuzzed values, or a duplicate member), else any text.
    fn header(r: &mut Bytes) -> String {
        match r.below(8) {
            0..=5 => {
                let bits = r.byte();
                let mut h = Map::new();
                if bits & 1 == 0 {
                    h.insert("alg".into(), if bits & 8 == 0 { json!(r.word(ALG_WORDS)) } else { value(r, 2) });
                }
                if bits & 2 == 0 {
                    h.insert("kid".into(), if bits & 16 == 0 { json!(r.word(KID_WORDS)) } else { value(r, 2) });
                }
                if bits & 4 != 0 {
                    h.insert("typ".into(), json!(r.word(&["JWT", "at+jwt", "JOSE", "", "ID"])));
                }
                let text = if bits & 32 != 0 {
                    let k = r.word(&["alg", "kid", "crit", "jwk", "jku"]);
                    let v = if bits & 64 == 0 { json!(r.word(ALG_WORDS)) } else { value(r, 2) };
                    with_member(&Value::Object(h), &k, &v)
                } else {
                    Value::Object(h).to_string()
                };
                b64::encode_url(text.as_bytes())
            }
            6 => b64::encode_url(r.text().as_bytes()),
            _ => r.text(),
        }
    }

    /// A payload: mostly the claims the realm puts in (issuer, audience, expiry, nonce),
    /// some of them changed; else any JSON value or any text.
    fn claims(&self, r: &mut Bytes, is_id: bool) -> String {
        match r.below(8) {
            0..=5 => {
                let bits = r.byte();
                let s = (self.sim.now / 1000.0).floor();
                let mut c = json!({ "iss": ISSUER, "sub": "alice-id", "sid": "sid-1", "iat": s, "exp": s + 300.0, "azp": "demo-app", "typ": if is_id { "ID" } else { "Bearer" } });
                if is_id {
                    c["aud"] = json!("demo-app");
                    c["nonce"] = json!(self.sim.nonce);
                }
                if bits & 1 != 0 {
                    c["iss"] = json!(r.word(&["", "http://idp.localhost:8080/realms/other", "http://idp.localhost:8080/realms/demo/", "https://idp.localhost:8080/realms/demo", "http://idp.localhost:8080"]));
                }
                if bits & 2 != 0 {
                    c["aud"] = match r.below(6) {
                        0 => json!(["account", "demo-app"]),
                        1 => json!(["account"]),
                        2 => json!("other"),
                        3 => json!([]),
                        4 => json!(["demo-app", 1]),
                        _ => value(r, 1),
                    };
                }
                if bits & 4 != 0 {
                    c["azp"] = json!(r.word(&["other", "", "demo-app "]));
                }
                if bits & 8 != 0 {
                    c["exp"] = match r.below(8) {
                        0 => json!(s - 599.0),
                        1 => json!(s - 601.0),
                        2 => json!(s - 1e6),
                        3 => json!(1e300),
                        4 => json!(-1e300),
                        5 => json!("2000000000"),
                        _ => value(r, 1),
                    };
                }
                if bits & 16 != 0 {
                    let k = ["exp", "iss", "azp", "aud", "nonce"][r.below(5)];
                    c.as_object_mut().unwrap().remove(k);
                }
                if bits & 32 != 0 {
                    c["nonce"] = json!(r.word(&["", "M", "n"]));
                }
                if bits & 64 != 0 {
                    let k = r.word(KEYS);
                    c[k] = value(r, 1);
                }
                let text = if bits & 128 != 0 { with_member(&c, &r.word(&["iss", "aud", "azp", "exp"]), &value(r, 1)) } else { c.to_string() };
                b64::encode_url(text.as_bytes())
            }
            6 => b64::encode_url(value(r, 0).to_string().as_bytes()),
            _ => r.text(),
        }
    }

    /// An access or ID token (remembered as handed over).
    fn token(&mut self, r: &mut Bytes, is_id: bool) -> String {
        let t = match r.below(16) {
            15 => r.text(),
            _ => {
                let head = Self::header(r);
                let body = self.claims(r, is_id);
                let sig = r.word(&["c2ln", "", "eA", "c2ln.c2ln", "c2ln==", "+/"]);
                format!("{head}.{body}.{sig}")
            }
        };
        self.delivered.insert(t.clone());
        t
    }

    /// A refresh token (never verified; a JWT so the realm's config decodes it).
    fn refresh(&self) -> String {
        let s = (self.sim.now / 1000.0).floor();
        Sim::jwt(&json!({ "iss": ISSUER, "sub": "alice-id", "sid": "sid-1", "iat": s, "exp": s + 1800.0, "typ": "Refresh" }))
    }

    fn token_response(&mut self, r: &mut Bytes) -> String {
        match r.below(8) {
            0..=5 => {
                let k = r.byte();
                let mut t = json!({ "refresh_token": self.refresh(), "expires_in": 300, "token_type": "Bearer" });
                if k & 1 == 0 {
                    t["access_token"] = json!(self.token(r, false));
                }
                if k & 2 == 0 {
                    t["id_token"] = json!(self.token(r, true));
                }
                if k & 4 != 0 {
                    t["access_token"] = json!(r.word(&["opaque-at", "", "a.b", "a.b.c.d"]));
                    self.delivered.extend(t["access_token"].as_str().map(String::from));
                }
                t.to_string()
            }
            6 => value(r, 0).to_string(),
            _ => r.text(),
        }
    }

    /// A JWKS document: mostly a `keys` array of keys whose `kty`, `use`, `alg` and `kid`
    /// are taken from the words the key choice looks at (or fuzzed values, duplicates).
    fn jwks_doc(r: &mut Bytes) -> String {
        match r.below(10) {
            0 => realm_jwks(),
            1..=6 => {
                let keys: Vec<String> = (0..1 + r.below(4))
                    .map(|_| {
                        let bits = r.byte();
                        let mut k = Map::new();
                        if bits & 1 == 0 {
                            k.insert("kty".into(), json!(r.word(&["RSA", "EC", "oct", "OKP", "rsa", ""])));
                        }
                        if bits & 2 != 0 {
                            k.insert("use".into(), json!(r.word(&["sig", "enc", "Sig", ""])));
                        }
                        if bits & 4 == 0 {
                            k.insert("alg".into(), json!(r.word(ALG_WORDS)));
                        }
                        if bits & 8 == 0 {
                            k.insert("kid".into(), json!(r.word(KID_WORDS)));
                        }
                        if bits & 16 != 0 {
                            k.insert(r.word(&["kty", "use", "alg", "kid"]), value(r, 2));
                        }
                        if bits & 32 == 0 {
                            k.insert("n".into(), json!("y"));
                            k.insert("e".into(), json!("AQAB"));
                        } else {
                            k.insert("crv".into(), json!("P-256"));
                            k.insert("x".into(), json!("x"));
                            k.insert("y".into(), json!("y"));
                        }
                        let k = Value::Object(k);
                        if bits & 64 != 0 {
                            with_member(&k, &r.word(&["kty", "use", "alg", "kid"]), &value(r, 1))
                        } else if bits & 128 != 0 {
                            value(r, 1).to_string()
                        } else {
                            k.to_string()
                        }
                    })
                    .collect();
                format!("{{\"keys\":[{}]}}", keys.join(","))
            }
            7 => json!({ "keys": value(r, 1) }).to_string(),
            8 => value(r, 0).to_string(),
            _ => r.text(),
        }
    }

    /// Checks every batch of effects since the last call.
    fn check(&mut self) {
        let batches = std::mem::take(self.sim.log.as_mut().unwrap());
        for batch in batches {
            for e in batch.as_array().into_iter().flatten() {
                let s = |i: usize| e.get(i).and_then(|v| v.as_str()).map(String::from);
                match e[0].as_str().unwrap_or("") {
                    "verify" => self.check_verify(e),
                    "set" => {
                        let a = e.as_array().unwrap();
                        for pair in a[1..].chunks(2) {
                            let (Some(k), Some(Value::String(t))) = (pair[0].as_str(), pair.get(1)) else { continue };
                            if k != "token" && k != "idToken" {
                                continue;
                            }
                            let opaque = self.oidc && k == "token" && jwt::decode_payload(t).ok().and_then(|p| json::parse(&p).map(drop)).is_none();
                            assert!(self.approved.contains(t) || opaque, "{k} set without a signature that verified: {t:?}\n in {e}");
                        }
                    }
                    "fetch" if s(2).as_deref() == Some(self.certs_url) => {
                        self.certs += 1;
                        assert!(self.certs <= 2 * self.deliveries, "{} key requests for {} token deliveries", self.certs, self.deliveries);
                    }
                    _ => {}
                }
            }
        }
    }

    fn check_verify(&mut self, e: &Value) {
        let s = |i: usize| e.get(i).and_then(|v| v.as_str()).unwrap_or_else(|| panic!("verify field {i} is not a string: {e}"));
        let (alg, jwk, signed, sig) = (s(2), s(3), s(4), s(5));
        assert!(SIG_ALGS.contains(&alg), "a verify effect with alg {alg:?}: {e}");
        let token = format!("{signed}.{sig}");
        assert!(self.delivered.contains(&token), "verify of a token never handed over: {e}");
        // The header said this alg (and this kid, if any).
        let head = signed.split('.').next().unwrap_or("");
        let head = jwt::base64url_decode_text(head).expect("the header of a verified token decodes");
        assert_eq!(str_member(&head, "alg").as_deref(), Some(alg), "{e}");
        // The key: one the realm sent, of the alg's type, for signatures, for this alg.
        let key = json::parse(jwk).unwrap_or_else(|| panic!("the key is not JSON: {e}"));
        assert!(matches!(key, Val::Obj(_)), "the key is not an object: {e}");
        assert!(self.keys.contains(jwk), "a key the realm never sent: {e}");
        let kty = if alg.starts_with('E') { "EC" } else { "RSA" };
        assert_eq!(str_member(jwk, "kty").as_deref(), Some(kty), "{e}");
        assert!(str_member(jwk, "use").is_none_or(|u| u == "sig"), "{e}");
        assert!(str_member(jwk, "alg").is_none_or(|a| a == alg), "{e}");
        if let Some(kid) = str_member(&head, "kid") {
            assert_eq!(str_member(jwk, "kid"), Some(kid), "{e}");
        }
        let id = e[1].as_u64().unwrap_or_else(|| panic!("verify id: {e}"));
        self.verifies.push((id, token));
    }

    fn send(&mut self, kind: &str, args: Vec<Value>) {
        self.sim.send(kind, args);
        self.check();
    }

    fn call(&mut self, method: &str, args: Vec<Value>) {
        self.sim.call(method, args);
        self.check();
    }

    fn answer_verify(&mut self, i: usize, ok: bool, h: usize) {
        let (id, token) = self.verifies.remove(i);
        if ok {
            self.approved.insert(token);
        }
        self.send("ret", vec![json!(id), json!(ok), json!(h), Value::Null]);
    }

    fn answer_certs(&mut self, f: &Fetch, status: u16) {
        if (200..300).contains(&status) {
            if let Some(Val::Arr(keys)) = json::parse(&self.doc).and_then(|d| d.get("keys")) {
                self.keys.extend(json::elements(keys).iter().map(|k| k.raw()));
            }
        }
        let doc = self.doc.clone();
        self.sim.answer_fetch(f, status, &doc);
        self.check();
    }

    fn answer_token(&mut self, f: &Fetch, r: &mut Bytes) {
        let body = self.token_response(r);
        let status = [200, 200, 200, 200, 400, 0][r.below(6)];
        self.deliveries += 1;
        self.sim.answer_fetch(f, status, &body);
        self.check();
    }

    fn take_fetch(&mut self, certs: bool) -> Option<Fetch> {
        let i = self.sim.fetches.iter().position(|f| (f.url == self.certs_url) == certs)?;
        Some(self.sim.fetches.remove(i))
    }

    /// Answers the next thing owed, choices from the bytes (all zero: as the realm and
    /// WebCrypto would for honest tokens). `false` when nothing is owed.
    fn step(&mut self, r: &mut Bytes) -> bool {
        if !self.verifies.is_empty() {
            self.answer_verify(0, r.below(4) != 3, 0);
        } else if let Some(f) = self.take_fetch(true) {
            self.answer_certs(&f, 200);
        } else if let Some(f) = self.take_fetch(false) {
            if f.url.ends_with("/token") {
                self.answer_token(&f, r);
            } else {
                let body = self.sim.realistic_body(&f.url).to_string();
                self.sim.answer_fetch(&f, 200, &body);
                self.check();
            }
        } else {
            let more = self.sim.auto_one();
            self.check();
            return more;
        }
        true
    }
}

/// `verifyTokens: true` through the machine: the realm's keys (fuzzed JWKS documents,
/// rotated, failing), tokens with fuzzed headers (`alg`, `kid`, `typ`) and claims from
/// `init`, a callback's code exchange, the implicit flow and refreshes, and fuzzed
/// answers to the signature checks. Checked: effects are JSON; a `verify` carries only
/// an RS/PS/ES alg, the header's, a key the realm sent that fits it (type, use, alg, kid)
/// and a token we handed over; `token`/`idToken` are set only after their signatures
/// verified; at most two key requests per verification.
pub fn jwks_target(data: &[u8]) {
    let mut r = Bytes::new(data);
    let setup = r.byte() as usize;
    let cfg = setup & 3;
    let mut j = Jw::new(cfg);
    j.sim.nonce = "N".into();
    j.sim.state = "S".into();
    let record = json!({ "state": "S", "nonce": "N", "redirectUri": APP, "pkceCodeVerifier": "v", "expires": 2e12 }).to_string();
    let mut opts = json!({ "checkLoginIframe": false, "verifyTokens": true });
    let scenario = (setup >> 2) % 4;
    match scenario {
        // Tokens passed to init (not fresh: their expiry is not checked).
        0 => {
            opts["token"] = json!(j.token(&mut r, false));
            opts["refreshToken"] = json!(j.refresh());
            if r.byte() & 1 == 0 {
                opts["idToken"] = json!(j.token(&mut r, true));
            }
            j.deliveries += 1;
        }
        // A code in the page URL: the exchange's tokens.
        1 => {
            j.sim.records.push(("S".into(), record.clone()));
            j.sim.href = j.sim.callback_url(APP);
        }
        // The implicit flow: the tokens in the page URL.
        2 => {
            j.sim.records.push(("S".into(), record.clone()));
            opts["flow"] = json!("implicit");
            let at = j.token(&mut r, false);
            let it = j.token(&mut r, true);
            for t in [&at, &it] {
                j.delivered.insert(form_decode(&encode_uri_component(t)));
            }
            j.sim.href = format!("{APP}#state=S&session_state=ss&access_token={}&token_type=bearer&id_token={}&expires_in=300", encode_uri_component(&at), encode_uri_component(&it));
            j.deliveries += 1;
        }
        // Nothing at first, then handleCallback with a code.
        _ => {}
    }
    j.send("new", vec![Jw::config(cfg)]);
    j.call("init", vec![opts]);
    if scenario == 3 {
        for _ in 0..4 {
            j.step(&mut Bytes::new(&[]));
        }
        j.sim.records.push(("S".into(), record));
        let cb = j.sim.callback_url(APP);
        j.call("handleCallback", vec![json!(cb)]);
    }
    while !r.done() && j.sim.inputs < 40 {
        match r.below(10) {
            0..=2 => {
                if !j.step(&mut r) {
                    j.sim.tick_to_deadline();
                    j.check();
                }
            }
            3 => {
                // The realm's keys change (rotation, a broken document), answered now or later.
                j.doc = Jw::jwks_doc(&mut r);
                if let Some(f) = j.take_fetch(true) {
                    let status = [200, 200, 200, 200, 404, 500, 0, 204][r.below(8)];
                    j.answer_certs(&f, status);
                }
            }
            4 => {
                if let Some(f) = j.take_fetch(false) {
                    j.answer_token(&f, &mut r);
                }
            }
            5 => {
                if !j.verifies.is_empty() {
                    let i = r.below(j.verifies.len());
                    let ok = r.byte() & 1 == 0;
                    let h = r.below(3);
                    j.answer_verify(i, ok, h);
                }
            }
            6 => {
                let min = [-1.0, 5.0, 30.0, 1e9][r.below(4)];
                j.call("updateToken", vec![json!(min)]);
            }
            7 => {
                j.sim.now += [1000.0, 9_999.0, 10_000.0, 300_000.0, 601_000.0, 1e6, -5000.0, 3.6e6][r.below(8)];
                if r.byte() & 1 == 0 {
                    j.sim.tick_to_deadline();
                } else {
                    j.sim.send("tick", vec![]);
                }
                j.check();
            }
            8 => {
                let method = ["clearToken", "isTokenExpired", "handleCallback", "init", "loadUserInfo", "updateToken"][r.below(6)];
                let args = if method == "handleCallback" {
                    j.sim.records.push(("S".into(), json!({ "state": "S", "nonce": "N", "redirectUri": APP, "expires": 2e12 }).to_string()));
                    vec![json!(j.sim.callback_url(APP))]
                } else {
                    vec![value(&mut r, 1)]
                };
                j.call(method, args);
            }
            _ => {
                // What a checker or the network may do: a stale or forged answer, a failure.
                let id = r.byte() as u64;
                match r.below(3) {
                    0 => {
                        // A ret that happens to be for a signature check: a refusal.
                        j.verifies.retain(|v| v.0 != id);
                        j.send("ret", vec![json!(id), json!(false), json!(0), Value::Null]);
                    }
                    1 => {
                        j.sim.fetches.retain(|f| f.id != id);
                        j.send("http", vec![json!(id), json!(0), Value::Null, json!(3)]);
                    }
                    _ => j.send("fail", vec![json!(id), json!(r.below(3))]),
                }
            }
        }
    }
    // The world answers what is still owed, honestly; time runs on.
    let mut quiet = Bytes::new(&[]);
    for _ in 0..12 {
        if !j.step(&mut quiet) {
            break;
        }
    }
    j.sim.now += 3.6e6;
    j.sim.tick_to_deadline();
    j.check();
    for _ in 0..4 {
        if !j.step(&mut quiet) {
            break;
        }
    }
}
