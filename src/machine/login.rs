//! Logging in: `createLoginUrl` (state, nonce, PKCE, the callback record in storage),
//! `login`/`register` through the selected adapter (the page, a custom adapter object,
//! Cordova's InAppBrowser, or the system browser with deep links), and the callback
//! store itself (localStorage, or cookies when it is unusable; reference §2.2-§2.4, §6).

use super::{Ev, Fail, Machine, Out, Parent, Step, K};
use crate::core::adapter::{cordova_window_options, login_step as cordova_step, AdapterKind, BrowserEvent, LoginStep, UNIVERSAL_LINKS_EVENT};
use crate::core::error::CoreError;
use crate::core::json::{self, Val, Writer};
use crate::core::login_url::{build_login_url, LoginUrl as Params};
use crate::core::pkce::{challenge_s256, uuid_v4, verifier_from_bytes};
use crate::core::storage::{find_cookie, is_managed_key, should_purge, storage_key, COOKIE_DELETE_MINUTES, COOKIE_TTL_MINUTES, LOCAL_STORAGE_TTL_MS, STORAGE_KEY_PREFIX};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

pub(crate) const INAPPBROWSER: &str = "cordova-plugin-inappbrowser";
pub(crate) const BROWSERTAB: &str = "cordova.plugins.browsertab";

pub(crate) struct LoginUrl {
    /// The options argument as JSON (`None`: undefined).
    options: Option<String>,
    stage: u8,
    state: String,
    nonce: String,
    verifier: String,
}

impl LoginUrl {
    pub(crate) fn new(options: Option<String>) -> Box<LoginUrl> {
        Box::new(LoginUrl { options, stage: 0, state: String::new(), nonce: String::new(), verifier: String::new() })
    }
}

pub(crate) struct Login {
    options: Option<String>,
    register: bool,
    stage: u8,
    redirect: String,
    url: String,
    win: Win,
}

/// An InAppBrowser window: its handle, the ids of its three listeners, and where opening
/// it stands (the plugin, then `window.open` where the plugin is missing, as keycloak-js).
#[derive(Default)]
pub(crate) struct Win {
    pub h: i64,
    listeners: [u32; 3],
    phase: u8,
    rets: u8,
    url: String,
    options: String,
}

/// Where opening a window stands after an answer.
pub(crate) enum Opened {
    Pending,
    Ready,
    Failed(Fail),
}

impl Login {
    pub(crate) fn window(&self) -> i64 {
        self.win.h
    }
}

/// `{ ...options, action: 'register' }` as JSON (the caller's object is not touched).
pub(crate) fn register_options(options: Option<&str>) -> String {
    let base = options.filter(|o| o.starts_with('{')).unwrap_or("{}");
    let mut s = String::from(&base[..base.len() - 1]);
    if s.len() > 1 {
        s.push(',');
    }
    s.push_str("\"action\":\"register\"}");
    s
}

/// A string option (`options?.x`, truthy strings only).
pub(crate) fn opt_str(options: &Val<'_>, key: &str) -> Option<String> {
    json::text_of(&options.get(key))
}

impl Machine {
    pub(crate) fn start_login(&mut self, parent: Parent, options: Option<String>, register: bool) -> u32 {
        let l = Box::new(Login { options, register, stage: 0, redirect: String::new(), url: String::new(), win: Win::default() });
        self.spawn(parent, K::Login(l))
    }

    /// The adapter's `redirectUri(options)` for the built-in adapters.
    pub(crate) fn redirect_uri(&self, options: &Val<'_>) -> String {
        let page = if self.adapter == AdapterKind::Default { self.href.as_str() } else { "" };
        self.adapter.redirect_uri(opt_str(options, "redirectUri").as_deref(), self.s.redirect_uri.as_deref(), page)
    }

    /// A custom adapter's method: `answer` the result; `wait` for its promise.
    pub(crate) fn call_adapter(&mut self, task: u32, method: &str, options: Option<&str>, wait: bool) {
        let h = self.adapter_h;
        self.invoke(task, Ok(h), method, |m| m.arg(options), true, wait);
    }

    /// Writes an options argument (JSON, or `undefined`).
    pub(crate) fn arg(&mut self, options: Option<&str>) {
        match options {
            Some(o) => self.w.raw(o),
            None => self.undefined(),
        }
    }

    /// What a custom adapter's method gave back, as the caller's result.
    pub(crate) fn adapter_result(ok: bool, h: i64) -> Step {
        match (ok, h) {
            (true, h) => Step::Done(Ok(if h != 0 { Out::H(h) } else { Out::Undefined })),
            (false, 0) => Step::Done(Err(CoreError::AdapterMethodMissing.into())),
            (false, h) => Step::Done(Err(Fail::H(h))),
        }
    }

    pub(crate) fn login_url_step(&mut self, id: u32, x: &mut LoginUrl, ev: Ev) -> Step {
        match (x.stage, ev) {
            (0, Ev::Start) => {
                let Some(r) = self.rand.take() else { return Step::Done(Err(CoreError::WebCryptoUnavailable.into())) };
                let mut a = [0u8; 16];
                a.copy_from_slice(&r[..16]);
                x.state = uuid_v4(&a);
                a.copy_from_slice(&r[16..32]);
                x.nonce = uuid_v4(&a);
                x.verifier = verifier_from_bytes(&r[32..]);
                if self.adapter == AdapterKind::Custom {
                    x.stage = 1;
                    let o = x.options.clone();
                    self.call_adapter(id, "redirectUri", o.as_deref(), false);
                    return Step::Wait;
                }
                let options = parse_opt(&x.options);
                let redirect = self.redirect_uri(&options);
                self.build_login_url(id, x, redirect)
            }
            (1, Ev::Ret { ok, h, text }) => {
                if !ok {
                    return Self::adapter_result(false, h);
                }
                self.drop_h(h);
                self.build_login_url(id, x, text.unwrap_or_default())
            }
            (2, Ev::Child(_, Ok(_))) => Step::Done(Ok(Out::Str(core::mem::take(&mut x.nonce)))),
            (2, Ev::Child(_, r)) => Step::Done(r),
            (_, e) => {
                self.lost(e);
                Step::Wait
            }
        }
    }

    fn build_login_url(&mut self, id: u32, x: &mut LoginUrl, redirect: String) -> Step {
        let options = parse_opt(&x.options);
        let ep = match self.endpoints() {
            Ok(e) => e,
            Err(e) => return Step::Done(Err(e)),
        };
        let action = opt_str(&options, "action");
        let endpoint = if action.as_deref() == Some("register") {
            match ep.register() {
                Ok(u) => u,
                Err(e) => return Step::Done(Err(e.into())),
            }
        } else {
            ep.authorize()
        };
        let scope = opt_str(&options, "scope").or_else(|| self.s.scope.clone().filter(|v| !v.is_empty()));
        let max_age = match options.get("maxAge") {
            Some(Val::Num(_, raw)) => Some(String::from(raw)),
            _ => None,
        };
        let claims = options.get("acr").filter(|a| a.truthy()).map(|acr| {
            let mut c = String::from("{\"id_token\":{\"acr\":");
            c.push_str(&acr.raw());
            c.push_str("}}");
            c
        });
        let prompt = opt_str(&options, "prompt");
        let challenge = self.s.pkce_method.as_ref().map(|_| challenge_s256(&x.verifier));
        let (locale, login_hint, idp_hint, acr_values) = (opt_str(&options, "locale"), opt_str(&options, "loginHint"), opt_str(&options, "idpHint"), opt_str(&options, "acrValues"));
        let url = build_login_url(&Params {
            endpoint: &endpoint,
            client_id: &self.client_id,
            redirect_uri: &redirect,
            state: &x.state,
            response_mode: self.s.response_mode.as_str(),
            response_type: &self.s.response_type,
            scope: scope.as_deref(),
            nonce: self.s.use_nonce.then_some(x.nonce.as_str()),
            prompt: prompt.as_deref(),
            max_age: max_age.as_deref(),
            login_hint: login_hint.as_deref(),
            idp_hint: idp_hint.as_deref(),
            action: action.as_deref().filter(|a| *a != "register"),
            locale: locale.as_deref(),
            claims: claims.as_deref(),
            acr_values: acr_values.as_deref(),
            pkce: challenge.as_deref().zip(self.s.pkce_method.as_deref()),
        });
        // The record keycloak-js stores: state, nonce, redirectUri, loginOptions (left out
        // when undefined), prompt (when truthy), pkceCodeVerifier (with PKCE).
        let mut r = Writer::default();
        r.open_obj();
        r.key("state");
        r.str(&x.state);
        r.key("nonce");
        r.str(&x.nonce);
        r.key("redirectUri");
        r.str(&redirect);
        if let Some(o) = &x.options {
            r.key("loginOptions");
            r.raw(o);
        }
        if let Some(p) = options.get("prompt").filter(|p| p.truthy()) {
            r.key("prompt");
            r.raw(&p.raw());
        }
        if challenge.is_some() {
            r.key("pkceCodeVerifier");
            r.str(&x.verifier);
        }
        r.close_obj();
        x.stage = 2;
        // The URL waits in `nonce` until the record is stored.
        x.nonce = url;
        let key = storage_key(&x.state);
        self.spawn(Parent::Task(id), K::Put { key, value: r.s, stage: 0 });
        Step::Wait
    }

    // ---- the callback store ------------------------------------------------------------

    /// Stores a callback record: purges stale entries first, and on a failed write clears
    /// every callback entry and tries once more (keycloak-js's quota rule).
    pub(crate) fn put_step(&mut self, id: u32, key: &str, value: &str, stage: &mut u8, ev: Ev) -> Step {
        match (*stage, ev) {
            (0, Ev::Start) if self.cookies => {
                let mut c = String::from(key);
                c.push('=');
                c.push_str(value);
                self.cookie(&c, COOKIE_TTL_MINUTES);
                Step::Done(Ok(Out::Undefined))
            }
            (0, Ev::Start) => {
                *stage = 1;
                self.list_storage(id);
                Step::Wait
            }
            (1, Ev::Ret { text, .. }) => {
                let kept = self.purge(text.as_deref().unwrap_or("[]"));
                let mut v = String::from(&value[..value.len() - 1]);
                v.push_str(",\"expires\":");
                json::push_u64(&mut v, (self.now + LOCAL_STORAGE_TTL_MS) as u64);
                v.push('}');
                *stage = 2;
                let wid = self.next_id();
                self.wait(wid, id, super::W_RET);
                self.fx("lset");
                self.w.int(wid as u64);
                self.w.str(key);
                self.w.str(&v);
                self.w.open();
                for k in &kept {
                    self.w.str(k);
                }
                self.w.close();
                self.end();
                Step::Wait
            }
            (2, Ev::Ret { ok: true, .. }) => Step::Done(Ok(Out::Undefined)),
            (2, Ev::Ret { h, .. }) => Step::Done(Err(Fail::H(h))),
            (_, e) => {
                self.lost(e);
                Step::Wait
            }
        }
    }

    /// Takes (reads and removes) the record stored for a state: `Str(record)` or
    /// `Undefined`. Stale entries are purged first.
    pub(crate) fn take_step(&mut self, id: u32, state: &str, ev: Ev) -> Step {
        let key = storage_key(state);
        match ev {
            Ev::Start if state.is_empty() => Step::Done(Ok(Out::Undefined)),
            Ev::Start => {
                if self.cookies {
                    let wid = self.next_id();
                    self.wait(wid, id, super::W_RET);
                    self.fx("cget");
                    self.w.int(wid as u64);
                    self.end();
                } else {
                    self.list_storage(id);
                }
                Step::Wait
            }
            Ev::Ret { text, .. } => {
                let text = text.unwrap_or_default();
                let value = if self.cookies {
                    let v = String::from(find_cookie(&text, &key));
                    let mut c = key.clone();
                    c.push('=');
                    self.cookie(&c, COOKIE_DELETE_MINUTES);
                    v
                } else {
                    let kept = self.purge(&text);
                    let v = kept.iter().position(|k| *k == key).map(|_| entry_value(&text, &key)).unwrap_or_default();
                    if !v.is_empty() {
                        self.remove_keys(&[key.clone()]);
                    }
                    v
                };
                match json::parse(&value) {
                    Some(Val::Obj(_)) => Step::Done(Ok(Out::Str(value))),
                    _ => Step::Done(Ok(Out::Undefined)),
                }
            }
            e => {
                self.lost(e);
                Step::Wait
            }
        }
    }

    fn list_storage(&mut self, task: u32) {
        let wid = self.next_id();
        self.wait(wid, task, super::W_RET);
        self.fx("ls");
        self.w.int(wid as u64);
        self.w.str(STORAGE_KEY_PREFIX);
        self.end();
    }

    /// Removes callback entries whose `expires` is missing, not a number, or past (a
    /// value that is not JSON counts as missing); returns the keys that remain.
    fn purge(&mut self, entries: &str) -> Vec<String> {
        let mut stale = Vec::new();
        let mut kept = Vec::new();
        if let Some(Val::Arr(raw)) = json::parse(entries) {
            for e in json::elements(raw) {
                let Val::Arr(pair) = e else { continue };
                let kv = json::elements(pair);
                let (Some(k), Some(v)) = (kv.first().and_then(|k| k.str()), kv.get(1).and_then(|v| v.str())) else { continue };
                if !is_managed_key(k) {
                    continue;
                }
                let expires = json::parse(v).and_then(|x| x.get("expires")).and_then(|x| x.num());
                if should_purge(expires, self.now) {
                    stale.push(String::from(k));
                } else {
                    kept.push(String::from(k));
                }
            }
        }
        self.remove_keys(&stale);
        kept
    }

    fn remove_keys(&mut self, keys: &[String]) {
        if !keys.is_empty() {
            self.fx("ldel");
            for k in keys {
                self.w.str(k);
            }
            self.end();
        }
    }

    /// `document.cookie = '<text>; expires=<now + minutes>; '`.
    fn cookie(&mut self, text: &str, minutes: f64) {
        self.fx("cset");
        self.w.str(text);
        self.w.num(self.now + minutes * 60_000.0);
        self.end();
    }

    // ---- login() / register() ------------------------------------------------------------

    pub(crate) fn login_step(&mut self, id: u32, l: &mut Login, ev: Ev) -> Step {
        match (l.stage, ev) {
            (0, Ev::Start) => {
                if self.adapter == AdapterKind::Custom {
                    l.stage = 1;
                    let o = l.options.clone();
                    self.call_adapter(id, if l.register { "register" } else { "login" }, o.as_deref(), true);
                    return Step::Wait;
                }
                // keycloak-js's Cordova register drops the options when building the URL; we pass them.
                let url_options = if l.register { Some(register_options(l.options.as_deref())) } else { l.options.clone() };
                l.stage = 2;
                self.spawn(Parent::Task(id), K::LoginUrl(LoginUrl::new(url_options)));
                Step::Wait
            }
            (1, Ev::Ret { ok, h, .. }) => Self::adapter_result(ok, h),
            (2, Ev::Child(_, Ok(Out::Str(url)))) => match self.adapter {
                AdapterKind::Cordova => {
                    let options = parse_opt(&l.options);
                    let prompt_none = opt_str(&options, "prompt").as_deref() == Some("none");
                    let window = cordova_window_options(&string_entries(&options.get("cordovaOptions")), prompt_none);
                    l.redirect = self.redirect_uri(&options);
                    l.stage = 10;
                    self.open_window(id, &mut l.win, url, window);
                    Step::Wait
                }
                AdapterKind::CordovaNative => {
                    l.url = url;
                    l.stage = 20;
                    self.has(id, BROWSERTAB);
                    Step::Wait
                }
                _ => {
                    self.navigate(id, "assign", &url);
                    Step::Vanish
                }
            },
            (2, Ev::Child(_, r)) => Step::Done(r),
            // InAppBrowser: the window opens, its listeners go on, then its events decide.
            (10, Ev::Ret { ok, h, .. }) => match self.window_answer(id, &mut l.win, ok, h) {
                Opened::Pending => Step::Wait,
                Opened::Ready => {
                    l.stage = 13;
                    Step::Wait
                }
                Opened::Failed(e) => Step::Done(Err(e)),
            },
            (13, Ev::Event { name, value }) => match cordova_step(&BrowserEvent::from_parts(&name, value), &l.redirect) {
                LoginStep::Wait => Step::Wait,
                LoginStep::Callback(href) => {
                    // Closed before the code exchange, as in keycloak-js 26.2.4 (#209).
                    self.close_window(id, &mut l.win);
                    l.stage = 14;
                    self.handle_callback(Parent::Task(id), href, l.register);
                    Step::Wait
                }
                LoginStep::Fail(e) => {
                    if e == CoreError::CordovaWindowClosed {
                        self.forget_window(&mut l.win);
                    } else {
                        self.close_window(id, &mut l.win);
                    }
                    Step::Done(Err(e.into()))
                }
            },
            (14 | 24, Ev::Child(_, r)) => Step::Done(r.map(|_| Out::Undefined)),
            // The system browser, and the deep link back
            (20, Ev::Ret { ok, .. }) => {
                if !ok {
                    return Step::Done(Err(CoreError::CordovaPluginMissing("cordova-plugin-browsertab").into()));
                }
                l.stage = 21;
                self.subscribe_link(id);
                Step::Wait
            }
            (21, Ev::Ret { ok, .. }) => {
                if !ok {
                    return Step::Done(Err(CoreError::CordovaPluginMissing("cordova-plugin-deeplinks").into()));
                }
                l.stage = 22;
                let url = core::mem::take(&mut l.url);
                self.invoke(id, Err(BROWSERTAB), "openUrl", |m| m.w.str(&url), true, false);
                Step::Wait
            }
            (22, Ev::Ret { ok, h, .. }) => {
                if !ok {
                    return Self::adapter_result(false, h);
                }
                self.drop_h(h);
                l.stage = 23;
                Step::Wait
            }
            (22 | 23, Ev::Event { value, .. }) => {
                self.unsubscribe_link(id);
                self.invoke(id, Err(BROWSERTAB), "close", |_| {}, false, false);
                l.stage = 24;
                self.handle_callback(Parent::Task(id), value.unwrap_or_default(), l.register);
                Step::Wait
            }
            (_, e) => {
                self.lost(e);
                Step::Wait
            }
        }
    }

    pub(crate) fn navigate(&mut self, task: u32, how: &str, url: &str) {
        self.fx("nav");
        self.w.int(task as u64);
        self.w.str(how);
        self.w.str(url);
        self.end();
    }

    /// Asks whether a global path holds an object (a plugin): answers with `ret`.
    pub(crate) fn has(&mut self, task: u32, path: &str) {
        let id = self.next_id();
        self.wait(id, task, super::W_RET);
        self.fx("has");
        self.w.int(id as u64);
        self.w.str(path);
        self.end();
    }

    /// `cordova.InAppBrowser.open(url, '_blank', options)`; answers arrive as `ret`s for
    /// [`Machine::window_answer`].
    pub(crate) fn open_window(&mut self, task: u32, w: &mut Win, url: String, options: String) {
        w.url = url;
        w.options = options;
        w.phase = 0;
        self.open_call(task, w, "cordova.InAppBrowser");
    }

    fn open_call(&mut self, task: u32, w: &Win, target: &str) {
        self.invoke(
            task,
            Err(target),
            "open",
            |m| {
                m.w.str(&w.url);
                m.w.str("_blank");
                m.w.str(&w.options);
            },
            true,
            false,
        );
    }

    /// An answer while opening: without the plugin `window.open` is used; the window must
    /// be an object taking `addEventListener` for its three events.
    pub(crate) fn window_answer(&mut self, task: u32, w: &mut Win, ok: bool, h: i64) -> Opened {
        match w.phase {
            0 if !ok && h == 0 => {
                w.phase = 1;
                self.open_call(task, w, "");
                Opened::Pending
            }
            0 | 1 => {
                if !ok && h != 0 {
                    return Opened::Failed(Fail::H(h));
                }
                if h == 0 {
                    return Opened::Failed(CoreError::CordovaPluginMissing(INAPPBROWSER).into());
                }
                w.h = h;
                w.phase = 2;
                w.rets = 0;
                for (i, name) in ["loadstart", "loaderror", "exit"].into_iter().enumerate() {
                    let mut lid = 0;
                    self.invoke(
                        task,
                        Ok(h),
                        "addEventListener",
                        |m| {
                            m.w.str(name);
                            lid = m.listener(task, name, "url");
                        },
                        true,
                        false,
                    );
                    w.listeners[i] = lid;
                }
                Opened::Pending
            }
            _ => {
                if !ok {
                    self.forget_window(w);
                    return Opened::Failed(CoreError::CordovaPluginMissing(INAPPBROWSER).into());
                }
                w.rets += 1;
                if w.rets == 3 {
                    Opened::Ready
                } else {
                    Opened::Pending
                }
            }
        }
    }

    /// `ref.close()`, then the listeners go.
    pub(crate) fn close_window(&mut self, task: u32, w: &mut Win) {
        if w.h != 0 {
            self.invoke(task, Ok(w.h), "close", |_| {}, false, false);
        }
        self.forget_window(w);
    }

    pub(crate) fn forget_window(&mut self, w: &mut Win) {
        if w.h == 0 {
            return;
        }
        for (i, name) in ["loadstart", "loaderror", "exit"].into_iter().enumerate() {
            let lid = w.listeners[i];
            if lid == 0 {
                continue;
            }
            self.invoke(
                0,
                Ok(w.h),
                "removeEventListener",
                |m| {
                    m.w.str(name);
                    m.w.open();
                    m.w.int(11);
                    m.w.int(lid as u64);
                    m.w.close();
                },
                false,
                false,
            );
            self.unsubscribe(lid);
            self.drop_h(-(lid as i64));
        }
        self.drop_h(w.h);
        w.h = 0;
    }

    /// `universalLinks.subscribe('keycloak', f)`: answers with `ret`; the link arrives as an event.
    pub(crate) fn subscribe_link(&mut self, id: u32) {
        self.invoke(
            id,
            Err("universalLinks"),
            "subscribe",
            |m| {
                m.w.str(UNIVERSAL_LINKS_EVENT);
                m.listener(id, "link", "url");
            },
            true,
            false,
        );
    }

    pub(crate) fn unsubscribe_link(&mut self, id: u32) {
        self.invoke(id, Err("universalLinks"), "unsubscribe", |m| m.w.str(UNIVERSAL_LINKS_EVENT), false, false);
    }
}

/// The options argument (`undefined` reads as no options).
pub(crate) fn parse_opt(options: &Option<String>) -> Val<'_> {
    options.as_deref().and_then(json::parse).unwrap_or(Val::Null)
}

/// An object's `[key, String(value)]` pairs in order (none for a non-object).
pub(crate) fn string_entries(v: &Option<Val<'_>>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(Val::Obj(raw)) = v {
        json::members(raw, |k, v| {
            let text = match v {
                Val::Str(s) => s,
                other => js_string(&other),
            };
            out.push((String::from(k), text));
        });
    }
    out
}

/// `String(value)` of a JSON value.
pub(crate) fn js_string(v: &Val<'_>) -> String {
    match v {
        Val::Str(s) => s.clone(),
        Val::Num(_, raw) => String::from(*raw),
        Val::Bool(b) => String::from(if *b { "true" } else { "false" }),
        Val::Null => String::from("null"),
        Val::Arr(r) => String::from(&r[1..r.len() - 1]),
        Val::Obj(_) => String::from("[object Object]"),
    }
}

/// The value stored under `key` in a storage listing (`[[key, value], ...]`).
fn entry_value(entries: &str, key: &str) -> String {
    if let Some(Val::Arr(raw)) = json::parse(entries) {
        for e in json::elements(raw) {
            if let Val::Arr(pair) = e {
                let kv = json::elements(pair);
                if kv.first().and_then(|k| k.str()) == Some(key) {
                    return kv.get(1).and_then(|v| v.str().map(String::from)).unwrap_or_default();
                }
            }
        }
    }
    String::new()
}
