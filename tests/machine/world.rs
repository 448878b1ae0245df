//! A simulated browser for the machine: it does what `pkg/driver.js` does with each
//! effect (properties, storage, cookies, frames, handles, callbacks), answers the
//! synchronous effects at once, and keeps the asynchronous ones (requests, frame loads,
//! timers) for the test to answer. Plus a few checks every batch must pass.

use keycloak_wasm::machine::Machine;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The option properties the facade sends with each input (pkg/driver.js, PROPS).
const PROPS: [&str; 12] = [
    "redirectUri", "scope", "enableLogging", "logoutMethod", "messageReceiveTimeout", "silentCheckSsoRedirectUri", "silentCheckSsoFallback",
    "responseMode", "responseType", "pkceMethod", "loginRequired", "timeSkew",
];

#[derive(Debug, Clone)]
pub struct Fetch {
    pub id: u64,
    pub url: String,
    pub method: String,
    pub body: Option<String>,
    pub headers: Vec<(String, String)>,
    pub credentials: bool,
    pub timeout: f64,
    pub sent: f64,
}

impl Fetch {
    pub fn form(&self, key: &str) -> Option<String> {
        let body = self.body.as_deref()?;
        body.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == key).then(|| v.replace('+', " ")).map(|v| percent_decode(&v))
        })
    }
}

pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A query or fragment parameter of a URL.
pub fn url_param(url: &str, key: &str) -> Option<String> {
    let rest = url.split_once(['?', '#'])?.1;
    rest.split(['&', '#', '?']).find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| percent_decode(&v.replace('+', " ")))
    })
}

#[derive(Debug, Clone)]
pub struct Frame {
    pub id: u64,
    pub src: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Settled {
    Ok(Value),
    Err(Value),
}

/// What the app does when one of its callbacks runs (re-entrant calls).
pub type Hook = Box<dyn FnMut(&mut World) -> Option<Value>>;

pub struct World {
    pub m: Machine,
    pub now: f64,
    pub href: String,
    pub crypto: bool,
    rand_counter: u64,
    /// The facade's own data properties.
    pub props: Map<String, Value>,
    pub handles: HashMap<i64, Value>,
    next_h: i64,
    pub frames: Vec<Frame>,
    pub local: BTreeMap<String, String>,
    /// localStorage throws on every use.
    pub local_broken: bool,
    /// setItem fails while this many calls remain.
    pub quota_failures: u32,
    pub cookies: BTreeMap<String, (String, f64)>,
    pub ops: HashMap<u64, (String, Option<Settled>)>,
    next_op: u64,
    pub fetches: Vec<Fetch>,
    /// Every request the machine made (answered or not).
    pub requests: Vec<Fetch>,
    pub posts: Vec<(u64, String, String)>,
    /// Signatures the machine asked to check (`verifyTokens`): (alg, key, signature).
    /// The simulated WebCrypto accepts the signature `c2ln`, the one our realm writes.
    pub verifies: Vec<(String, String, String)>,
    /// The page is hidden (`document.hidden`, sent with each input when true).
    pub hidden: bool,
    /// The machine asked to hear of visibility changes (`autoRefresh`).
    pub watching: bool,
    /// `syncTabs`: the channel it opened, the messages it posted (not yet delivered), the
    /// IndexedDB compare-and-set operations it asked for (id, key, expect, next), pending.
    pub channel: Option<String>,
    pub outbox: Vec<String>,
    pub cas_ops: Vec<(Value, String, Option<String>, String)>,
    /// `persistSession`: what the driver keeps (mode + name -> text; the driver encrypts
    /// it, the simulation does not), and whether it fails to decrypt (another browser).
    pub vault: BTreeMap<String, String>,
    pub vault_foreign: bool,
    /// `dpop`: signing inputs the machine had signed (the simulated key signs `c2ln`).
    pub signed: Vec<String>,
    /// Mixed into the random bytes: tabs of one browser draw different ones.
    pub rand_salt: u8,
    /// The next `cas` fails as IndexedDB would in a browser without it.
    pub idb_broken: bool,
    /// IndexedDB that never answers (`dpopkey` and `unseal` go unanswered).
    pub idb_silent: bool,
    /// WebCrypto never answers a signature check (`verify`).
    pub verify_silent: bool,
    pub events: Vec<(String, Vec<Value>)>,
    pub navigations: Vec<(String, String)>,
    pub history: Vec<String>,
    pub forms: Vec<Value>,
    pub logs: Vec<String>,
    pub reports: Vec<Value>,
    /// Every batch of effects, as text (the golden traces print these).
    pub transcript: Vec<String>,
    /// Every input exactly as the machine got it, with its random bytes and effects (the
    /// package tests replay these through the shipped wasm).
    pub replay: Vec<Value>,
    /// App callbacks: called when the machine emits that event.
    pub hooks: HashMap<String, Hook>,
    /// Globals the `has`, `win` and `tab` effects find (e.g. Cordova plugins): path -> handle.
    pub globals: HashMap<String, i64>,
    /// How a custom adapter's or plugin's methods answer: (target, method) -> result.
    pub answers: HashMap<(String, String), Settled>,
    pub calls: Vec<Value>,
    /// Windows and system-browser tabs the machine opened: (id, url, options).
    pub windows: Vec<(u64, String, String)>,
    /// Windows the machine closed or forgot.
    pub closed: Vec<u64>,
    /// Checks that failed.
    pub violations: Vec<String>,
    pub depth: u32,
    /// Answers waiting for their batch to end (innermost last).
    batches: Vec<Vec<(String, Vec<Value>)>>,
}

impl World {
    pub fn new(config: Value) -> World {
        let mut props = Map::new();
        for (k, v) in [
            ("didInitialize", json!(false)),
            ("authenticated", json!(false)),
            ("loginRequired", json!(false)),
            ("responseMode", json!("fragment")),
            ("responseType", json!("code")),
            ("flow", json!("standard")),
            ("timeSkew", Value::Null),
            ("silentCheckSsoFallback", json!(true)),
            ("pkceMethod", json!("S256")),
            ("enableLogging", json!(false)),
            ("logoutMethod", json!("GET")),
            ("messageReceiveTimeout", json!(10000)),
        ] {
            props.insert(k.into(), v);
        }
        let mut w = World {
            m: Machine::new(),
            now: 1_700_000_000_000.0,
            href: "http://app.localhost:3000/".into(),
            crypto: true,
            rand_counter: 0,
            props,
            handles: HashMap::new(),
            next_h: 0,
            frames: Vec::new(),
            local: BTreeMap::new(),
            local_broken: false,
            quota_failures: 0,
            cookies: BTreeMap::new(),
            ops: HashMap::new(),
            next_op: 0,
            fetches: Vec::new(),
            requests: Vec::new(),
            posts: Vec::new(),
            verifies: Vec::new(),
            hidden: false,
            watching: false,
            channel: None,
            outbox: Vec::new(),
            cas_ops: Vec::new(),
            idb_broken: false,
            idb_silent: false,
            verify_silent: false,
            rand_salt: 0,
            vault: BTreeMap::new(),
            vault_foreign: false,
            signed: Vec::new(),
            events: Vec::new(),
            navigations: Vec::new(),
            history: Vec::new(),
            forms: Vec::new(),
            logs: Vec::new(),
            reports: Vec::new(),
            transcript: Vec::new(),
            replay: Vec::new(),
            hooks: HashMap::new(),
            globals: HashMap::new(),
            answers: HashMap::new(),
            calls: Vec::new(),
            windows: Vec::new(),
            closed: Vec::new(),
            violations: Vec::new(),
            depth: 0,
            batches: Vec::new(),
        };
        w.send("new", vec![config]);
        w
    }

    pub fn keep(&mut self, v: Value) -> i64 {
        self.next_h += 1;
        self.handles.insert(self.next_h, v);
        self.next_h
    }

    fn rand(&mut self) -> Option<[u8; 128]> {
        if !self.crypto {
            return None;
        }
        self.rand_counter += 1;
        let mut r = [0u8; 128];
        for (i, b) in r.iter_mut().enumerate() {
            *b = (self.rand_counter as u8).wrapping_mul(31).wrapping_add((i as u8).wrapping_mul(7)).wrapping_add(self.rand_salt.wrapping_mul(101));
        }
        Some(r)
    }

    /// One input; its effects are carried out at once (and may send further inputs).
    pub fn send(&mut self, kind: &str, args: Vec<Value>) {
        let mut props = Map::new();
        for k in PROPS {
            if let Some(v) = self.props.get(k) {
                props.insert(k.into(), v.clone());
            }
        }
        let expired = self.props.get("onTokenExpired").is_some_and(|v| v != &Value::Null && v != &json!(false));
        props.insert("onTokenExpired".into(), json!(expired));
        if self.hidden {
            props.insert("hidden".into(), json!(true));
        }
        let mut input = vec![json!(kind), json!(self.now), json!(self.href), Value::Object(props)];
        input.extend(args);
        let text = canon(&Value::Array(input));
        let rand = self.rand();
        let w = self.m.handle(&text, rand);
        let out = w.s.clone();
        let nums = w.nums.clone();
        self.replay.push(json!({ "input": text, "rand": rand.map(|r| r.to_vec()), "effects": out, "nums": nums }));
        let effects: Value = match serde_json::from_str(&out) {
            Ok(v) => v,
            Err(e) => {
                self.violations.push(format!("effects are not JSON ({e}): {out}"));
                return;
            }
        };
        self.transcript.push(format!("> {}", short_input(&text)));
        self.check_batch(&effects);
        self.depth += 1;
        // What the batch answers at once (storage, plugins, app callbacks) goes in after
        // the whole batch ran, as pkg/driver.js does.
        self.batches.push(Vec::new());
        for e in effects.as_array().cloned().unwrap_or_default() {
            self.transcript.push(format!("< {}", canon(&e)));
            self.run(&e, &nums);
        }
        let answers = self.batches.pop().unwrap_or_default();
        for (kind, args) in answers {
            self.send(&kind, args);
        }
        self.depth -= 1;
    }

    /// An answer to an effect of the running batch: sent once the batch has run.
    fn answer_later(&mut self, kind: &str, args: Vec<Value>) {
        match self.batches.last_mut() {
            Some(b) => b.push((kind.into(), args)),
            None => self.send(kind, args),
        }
    }

    /// An app call; returns its op number.
    pub fn call(&mut self, method: &str, args: Vec<Value>) -> u64 {
        self.next_op += 1;
        let op = self.next_op;
        self.ops.insert(op, (method.into(), None));
        let mut a = vec![json!(op), json!(method)];
        a.extend(args);
        self.send("call", a);
        op
    }

    pub fn settled(&self, op: u64) -> Option<&Settled> {
        self.ops.get(&op).and_then(|o| o.1.as_ref())
    }

    /// A settled call's value as JSON (`{"error": message}` for an Error).
    pub fn result(&self, op: u64) -> Option<Value> {
        self.settled(op).map(|s| match s {
            Settled::Ok(v) => v.clone(),
            Settled::Err(v) => json!({ "rejected": v }),
        })
    }

    fn check_batch(&mut self, effects: &Value) {
        let list = effects.as_array().cloned().unwrap_or_default();
        // A task computes nothing after its own emit: at most one emit per batch, and it
        // is followed only by effects of other tasks. (Strict form: emit is last unless
        // other waiters settle in the same batch.)
        let emits = list.iter().filter(|e| e[0] == "emit").count();
        if emits > 1 {
            self.violations.push(format!("two emits in one batch: {effects}"));
        }
        for e in &list {
            if e[0] == "fetch" {
                let t = e[7].as_f64().unwrap_or(0.0);
                if !(t > 0.0 && t.is_finite()) {
                    self.violations.push(format!("a request without a bound: {e}"));
                }
            }
        }
    }

    /// `val()` of pkg/driver.js, enough to check results and properties.
    pub fn val(&mut self, v: &Value, nums: &[f64]) -> Value {
        let Some(a) = v.as_array() else { return v.clone() };
        match a.first().and_then(|t| t.as_u64()) {
            Some(0) => json!({ "$undefined": true }),
            Some(1) => self.handles.get(&a[1].as_i64().unwrap_or(0)).cloned().unwrap_or_else(|| {
                self.violations.push(format!("a released handle is used: {v}"));
                Value::Null
            }),
            Some(2) => {
                let mut o = Map::new();
                for pair in &a[1..] {
                    let x = self.val(&pair[1], nums);
                    o.insert(pair[0].as_str().unwrap_or("").into(), x);
                }
                Value::Object(o)
            }
            Some(4) => serde_json::from_str(a[1].as_str().unwrap_or("")).unwrap_or_else(|_| {
                self.violations.push(format!("not JSON: {v}"));
                Value::Null
            }),
            Some(5) if a.len() == 2 => self.props.get(a[1].as_str().unwrap_or("")).cloned().unwrap_or(json!({ "$undefined": true })),
            Some(5) => self.props.get(a[1].as_str().unwrap_or("")).and_then(|p| p.get(a[2].as_str().unwrap_or(""))).cloned().unwrap_or(json!({ "$undefined": true })),
            Some(6) => json!(nums[a[1].as_u64().unwrap() as usize]),
            Some(7) => json!({ "$fn": a[1] }),
            Some(8) => json!({ "$throws": a[1] }),
            Some(9) => json!({ "error": a[2], "type": if a[1] == 1 { "TypeError" } else { "Error" }, "cause": a.get(3) }),
            Some(10) => {
                let r = self.handles.get(&a[2].as_i64().unwrap_or(0)).cloned();
                if r.is_none() {
                    self.violations.push(format!("a NetworkError without its response: {v}"));
                }
                json!({ "error": a[1], "type": "NetworkError", "response": r })
            }
            _ => v.clone(),
        }
    }

    fn ret(&mut self, id: &Value, ok: bool, h: i64, text: Option<String>) {
        self.answer_later("ret", vec![id.clone(), json!(ok), json!(h), json!(text)]);
    }

    fn run(&mut self, e: &Value, nums: &[f64]) {
        let a = e.as_array().unwrap();
        let s = |i: usize| a.get(i).and_then(|v| v.as_str()).unwrap_or("").to_string();
        match a[0].as_str().unwrap_or("") {
            "set" => {
                let mut i = 1;
                while i + 1 < a.len() {
                    let name = s(i);
                    if a[i + 1] == json!([3]) {
                        self.props.remove(&name);
                    } else {
                        let v = self.val(&a[i + 1], nums);
                        self.props.insert(name, v);
                    }
                    i += 2;
                }
            }
            "emit" => {
                let name = if a[2].is_number() { "onTokenExpired".to_string() } else { s(2) };
                let args: Vec<Value> = a[4..].iter().map(|v| self.val(v, nums)).collect();
                self.events.push((name.clone(), args));
                let mut err = 0;
                if let Some(mut hook) = self.hooks.remove(&name) {
                    if let Some(thrown) = hook(self) {
                        err = self.keep(thrown);
                    }
                    self.hooks.insert(name, hook);
                }
                self.answer_later("resume", vec![a[1].clone(), json!(err)]);
            }
            "settle" => {
                let op = a[1].as_u64().unwrap();
                let v = self.val(&a[3], nums);
                let r = if a[2] == json!(true) { Settled::Ok(v) } else { Settled::Err(v) };
                match self.ops.get_mut(&op) {
                    Some((_, slot @ None)) => *slot = Some(r),
                    Some((m, Some(prev))) => self.violations.push(format!("op {op} ({m}) settled twice: {prev:?} then {r:?}")),
                    None => self.violations.push(format!("settle of an unknown op {op}")),
                }
            }
            "fetch" => {
                let f = Fetch {
                    id: a[1].as_u64().unwrap(),
                    url: s(2),
                    method: s(3),
                    body: a[4].as_str().map(String::from),
                    headers: a[5].as_array().unwrap().iter().map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into())).collect(),
                    credentials: a[6] == json!(true),
                    timeout: a[7].as_f64().unwrap_or(0.0),
                    sent: self.now,
                };
                self.requests.push(f.clone());
                self.fetches.push(f);
            }
            "nav" => self.navigations.push((s(2), s(3))),
            "hist" => {
                self.history.push(s(2));
                self.href = s(2);
            }
            "form" => self.forms.push(e.clone()),
            "frame" => {
                let attrs = a[3].as_array().unwrap();
                let attr = |k: &str| attrs.iter().find(|p| p[0] == k).and_then(|p| p[1].as_str()).unwrap_or("").to_string();
                self.frames.push(Frame { id: a[2].as_u64().unwrap(), src: attr("src"), title: attr("title") });
            }
            "unframe" => {
                let id = a[1].as_u64().unwrap();
                self.frames.retain(|f| f.id != id);
            }
            "post" => self.posts.push((a[2].as_u64().unwrap(), s(3), s(4))),
            "log" => {
                let text: String = a[2..].iter().map(|v| match self.val(v, nums) {
                    Value::String(s) => s,
                    other => canon(&other),
                }).collect();
                self.logs.push(format!("{}: {text}", s(1)));
            }
            "call" => {
                self.calls.push(e.clone());
                let target = format!("#{}", a[3]);
                let method = s(4);
                let id = &a[2];
                let wait = a[6] == json!(true);
                match self.answers.get(&(target, method)).cloned() {
                    Some(Settled::Ok(v)) => {
                        let h = if v.is_object() || (wait && !v.is_null()) { self.keep(v.clone()) } else { 0 };
                        let text = v.as_str().map(String::from).unwrap_or_else(|| canon(&v));
                        self.ret(id, true, h, Some(text));
                    }
                    Some(Settled::Err(v)) => {
                        let h = self.keep(v);
                        self.ret(id, false, h, None);
                    }
                    None => self.ret(id, false, 0, None),
                }
            }
            "watch" => self.watching = true,
            "tabs" => self.channel = Some(s(1)),
            "dpopkey" if self.idb_silent => {}
            "unseal" if self.idb_silent => {}
            "dpopkey" => {
                if self.crypto {
                    self.ret(&a[1], true, 0, Some(r#"{"crv":"P-256","ext":true,"key_ops":["verify"],"kty":"EC","x":"WEX","y":"WHY"}"#.into()));
                } else {
                    let h = self.keep(json!({ "DOMException": "NotSupportedError" }));
                    self.ret(&a[1], false, h, None);
                }
            }
            "sign" => {
                self.signed.push(s(2));
                self.ret(&a[1], true, 0, Some("c2ln".into()));
            }
            "seal" => {
                self.vault.insert(format!("{} {}", s(1), s(2)), s(3));
            }
            "wipe" => {
                self.vault.remove(&format!("{} {}", s(1), s(2)));
            }
            "unseal" => {
                let found = self.vault.get(&format!("{} {}", s(2), s(3))).cloned();
                if self.vault_foreign && found.is_some() {
                    self.ret(&a[1], false, 0, None);
                } else {
                    self.ret(&a[1], true, 0, found);
                }
            }
            "tabpost" => {
                if self.channel.is_none() {
                    self.violations.push("tabpost before tabs".into());
                }
                self.outbox.push(s(1));
            }
            "cas" => {
                let expect = a[3].as_str().map(String::from);
                self.cas_ops.push((a[1].clone(), s(2), expect, s(4)));
            }
            "verify" => {
                self.verifies.push((s(2), s(3), s(5)));
                if self.verify_silent {
                    return;
                }
                self.ret(&a[1], s(5) == "c2ln", 0, None);
            }
            "has" => {
                let found = s(2).split('|').any(|p| self.globals.contains_key(p));
                self.ret(&a[1], found, 0, None);
            }
            "put" => {
                let key = format!("{}{}", s(2), s(3));
                let at = self.val(&a[5], nums).as_f64().unwrap_or(0.0);
                if self.local_broken {
                    self.cookies.insert(key, (s(4), at));
                    self.ret(&a[1], true, 0, None);
                    return;
                }
                self.purge(&s(2));
                let record = s(4);
                let value = format!("{},\"expires\":{at}}}", &record[..record.len() - 1]);
                if self.quota_failures > 0 {
                    self.quota_failures -= 1;
                    let prefix = s(2);
                    self.local.retain(|k, _| !k.starts_with(&prefix));
                    if self.quota_failures > 0 {
                        self.quota_failures -= 1;
                        let h = self.keep(json!({ "DOMException": "QuotaExceededError" }));
                        self.ret(&a[1], false, h, None);
                        return;
                    }
                }
                self.local.insert(key, value);
                self.ret(&a[1], true, 0, None);
            }
            "take" => {
                let key = format!("{}{}", s(2), s(3));
                let value = if s(3).is_empty() {
                    None
                } else if self.local_broken {
                    let now = self.now;
                    self.cookies.remove(&key).filter(|(_, exp)| *exp > now).map(|(v, _)| v)
                } else {
                    self.purge(&s(2));
                    self.local.remove(&key)
                };
                self.ret(&a[1], true, 0, value);
            }
            "win" => {
                let id = a[2].as_u64().unwrap();
                if self.globals.contains_key("cordova.InAppBrowser") {
                    self.windows.push((id, s(3), s(4)));
                    self.ret(&a[2], true, 0, None);
                } else {
                    self.ret(&a[2], false, 0, None);
                }
            }
            "tab" => {
                let id = a[2].as_u64().unwrap();
                if !self.globals.contains_key("cordova.plugins.browsertab") {
                    self.ret(&a[2], false, 0, Some("tab".into()));
                } else if !a[4].is_null() && !self.globals.contains_key("universalLinks") {
                    self.ret(&a[2], false, 0, Some("links".into()));
                } else {
                    self.windows.push((id, s(3), String::new()));
                    self.ret(&a[2], true, 0, None);
                }
            }
            "winclose" => {
                let id = a[1].as_u64().unwrap();
                if a[2] != json!(2) {
                    self.closed.push(id);
                }
            }
            "memo" => {
                let v = self.val(&a[2], nums);
                self.handles.insert(a[1].as_i64().unwrap(), v);
            }
            "drop" => {
                let h = a[1].as_i64().unwrap();
                if h > 0 && self.handles.remove(&h).is_none() {
                    self.violations.push(format!("handle {h} dropped twice or never given"));
                }
                if h < 0 {
                    self.handles.remove(&h);
                }
            }
            "report" => {
                let v = self.handles.get(&a[1].as_i64().unwrap()).cloned().unwrap_or(Value::Null);
                self.reports.push(v);
            }
            other => self.violations.push(format!("unknown effect {other}")),
        }
    }

    // ---- the outside world's answers -----------------------------------------------------

    pub fn take_fetch(&mut self, url_part: &str) -> Option<Fetch> {
        let i = self.fetches.iter().position(|f| f.url.contains(url_part))?;
        Some(self.fetches.remove(i))
    }

    /// A 2xx answer with a JSON body.
    pub fn answer(&mut self, f: &Fetch, body: Value) {
        let text = canon(&body);
        let h = self.keep(body);
        self.send("http", vec![json!(f.id), json!(200), json!(text), json!(h)]);
    }

    /// A non-2xx answer (a `Response` with this status).
    pub fn answer_status(&mut self, f: &Fetch, status: u16, body: Value) {
        let h = self.keep(json!({ "status": status, "body": body }));
        self.send("http", vec![json!(f.id), json!(status), Value::Null, json!(h)]);
    }

    /// A non-2xx answer carrying a `DPoP-Nonce` header.
    pub fn answer_nonce(&mut self, f: &Fetch, status: u16, nonce: &str) {
        let h = self.keep(json!({ "status": status }));
        self.send("http", vec![json!(f.id), json!(status), Value::Null, json!(h), json!(nonce)]);
    }

    /// `fetch` rejected (network error, `TimeoutError`, a body that is not JSON).
    pub fn answer_thrown(&mut self, f: &Fetch, error: &str) {
        let h = self.keep(json!({ "thrown": error }));
        self.send("http", vec![json!(f.id), json!(0), Value::Null, json!(h)]);
    }

    pub fn frame(&self, title: &str) -> Option<Frame> {
        self.frames.iter().rev().find(|f| f.title == title).cloned()
    }

    pub fn load(&mut self, frame: u64) {
        self.send("load", vec![json!(frame)]);
    }

    pub fn message(&mut self, frame: u64, origin: &str, data: Option<&str>) {
        self.send("msg", vec![json!(frame), json!(origin), json!(data)]);
    }

    /// Carries out the first pending `cas` on the browser's IndexedDB (`kv`).
    pub fn do_cas(&mut self, kv: &mut HashMap<String, String>) -> bool {
        if self.cas_ops.is_empty() {
            return false;
        }
        let (id, key, expect, next) = self.cas_ops.remove(0);
        if self.idb_broken {
            let h = self.keep(json!({ "DOMException": "InvalidStateError" }));
            self.send("ret", vec![id, json!(false), json!(h), Value::Null]);
            return true;
        }
        let found = kv.get(&key).cloned();
        let hit = found == expect;
        if hit {
            kv.insert(key, next);
        }
        self.send("ret", vec![id, json!(hit), json!(0), json!(found)]);
        true
    }

    /// A message from a sibling tab arrives on the channel.
    pub fn tab_message(&mut self, data: &str) {
        self.send("tab", vec![json!(data)]);
    }

    /// Time passes; the driver's single timer fires if it is due.
    pub fn advance(&mut self, ms: f64) {
        self.now += ms;
        if let Some(at) = self.m.deadline() {
            if at <= self.now {
                self.send("tick", vec![]);
            }
        }
    }

    /// Fires the timer at its deadline (time jumps there).
    pub fn fire_timer(&mut self) -> bool {
        match self.m.deadline() {
            Some(at) => {
                if at > self.now {
                    self.now = at;
                }
                self.send("tick", vec![]);
                true
            }
            None => false,
        }
    }

    pub fn event(&mut self, window: u64, name: &str, value: Option<&str>) {
        self.send("event", vec![json!(window), json!(name), json!(value)]);
    }

    /// keycloak-js's purge of callback entries: `expires` missing, not a number, or past.
    fn purge(&mut self, prefix: &str) {
        let now = self.now;
        self.local.retain(|k, v| {
            !k.starts_with(prefix) || serde_json::from_str::<Value>(v).ok().and_then(|v| v.get("expires").and_then(|e| e.as_f64())).is_some_and(|e| e >= now)
        });
    }

    pub fn event_names(&self) -> Vec<String> {
        self.events.iter().map(|e| e.0.clone()).collect()
    }

    pub fn prop(&self, k: &str) -> Option<&Value> {
        self.props.get(k)
    }

    /// Handles still held (excluding listener functions and memo slots).
    pub fn live_handles(&self) -> HashSet<i64> {
        self.handles.keys().copied().filter(|h| *h > 0).collect()
    }
}

/// The input with its context shortened (props are long and repeat).
fn short_input(text: &str) -> String {
    let v: Value = serde_json::from_str(text).unwrap();
    let a = v.as_array().unwrap();
    let mut rest = vec![a[0].clone()];
    rest.extend(a[4..].iter().cloned());
    canon(&Value::Array(rest))
}

/// JSON text with every object's keys in sorted order, whatever serde_json's map type is:
/// `cargo test --workspace` builds serde_json with `preserve_order` (the realm server asks
/// for it), and the machine's inputs and the traces must not depend on that.
pub fn canon(v: &Value) -> String {
    match v {
        Value::Array(a) => format!("[{}]", a.iter().map(canon).collect::<Vec<_>>().join(",")),
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys.iter().map(|k| format!("{}:{}", Value::String((*k).clone()), canon(&o[k.as_str()]))).collect();
            format!("{{{}}}", parts.join(","))
        }
        other => other.to_string(),
    }
}
