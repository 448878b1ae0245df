//! Logging in: `createLoginUrl` (state, nonce, PKCE, the callback record), and `login` /
//! `register` through the selected adapter: the page, a custom adapter object, Cordova's
//! InAppBrowser, or the system browser with deep links (reference §2.2-§2.4, §6).
//!
//! The callback store (localStorage, or cookies where it is unusable), InAppBrowser
//! windows and the system browser are driver services: the machine says what to store,
//! which window to open and what each of their events means.

use super::{Ev, Fail, Machine, Out, Parent, Step, K, W_RET};
use crate::core::adapter::{cordova_window_options, login_step as cordova_step, AdapterKind, BrowserEvent, LoginStep, UNIVERSAL_LINKS_EVENT};
use crate::core::error::CoreError;
use crate::core::options::EXTRAS;
use crate::core::json::{self, Val, Writer};
use crate::core::login_url::{build_login_url, LoginUrl as Params};
use crate::core::pkce::{challenge_s256, uuid_v4, verifier_from_bytes};
use crate::core::storage::{LOCAL_STORAGE_TTL_MS, STORAGE_KEY_PREFIX};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use crate::core::encode::PushAscii;

pub(crate) struct LoginUrl {
    /// The options argument as JSON (`None`: undefined).
    options: Option<String>,
    stage: u8,
    state: String,
    nonce: String,
    verifier: String,
    url: String,
}

impl LoginUrl {
    pub(crate) fn new(options: Option<String>) -> Box<LoginUrl> {
        Box::new(LoginUrl { options, stage: 0, state: String::new(), nonce: String::new(), verifier: String::new(), url: String::new() })
    }
}

pub(crate) struct Login {
    options: Option<String>,
    register: bool,
    stage: u8,
    redirect: String,
    /// A window or system browser the driver keeps for this login (its id; 0: none).
    pub win: u32,
}

/// `{ ...options, action: 'register' }` as JSON (the caller's object is not touched).
pub(crate) fn register_options(options: Option<&str>) -> String {
    let base = options.filter(|o| o.starts_with('{')).unwrap_or("{}");
    let mut s = String::from(crate::core::encode::sub(base, 0, base.len() - 1));
    if s.len() > 1 {
        s.push_ascii(b',');
    }
    s.push_str("\"action\":\"register\"}");
    s
}

/// A string option (`options?.x`, truthy strings only).
pub(crate) fn opt_str(options: &Val<'_>, key: &str) -> Option<String> {
    json::text_of(&options.get(key))
}

/// The options argument (`undefined` reads as no options).
pub(crate) fn parse_opt(options: &Option<String>) -> Val<'_> {
    options.as_deref().and_then(json::parse).unwrap_or(Val::Null)
}

/// An object's `[key, String(value)]` pairs in order (none for a non-object).
pub(crate) fn string_entries(v: &Option<Val<'_>>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(Val::Obj(raw)) = v {
        json::members(raw, |k, v| out.push((String::from(k), v.js_string())));
    }
    out
}

/// What a custom adapter's method gave back, as the caller's result.
pub(crate) fn adapter_result(ok: bool, h: i64) -> Step {
    match (ok, h) {
        (true, h) => Step::Done(Ok(if h != 0 { Out::H(h) } else { Out::Undefined })),
        (false, 0) => Step::Done(Err(CoreError::AdapterMethodMissing.into())),
        (false, h) => Step::Done(Err(Fail::H(h))),
    }
}

/// A plugin the system-browser adapter needs, from the driver's answer.
pub(crate) fn missing_plugin(text: Option<&str>) -> Fail {
    CoreError::CordovaPluginMissing(if text == Some("links") { "cordova-plugin-deeplinks" } else { "cordova-plugin-browsertab" }).into()
}

impl Machine {
    pub(crate) fn start_login(&mut self, parent: Parent, options: Option<String>, register: bool) -> u32 {
        let l = Box::new(Login { options, register, stage: 0, redirect: String::new(), win: 0 });
        self.spawn(parent, K::Login(l))
    }

    /// The adapter's `redirectUri(options)` for the built-in adapters.
    pub(crate) fn redirect_uri(&self, options: &Val<'_>) -> String {
        let page = if self.adapter == AdapterKind::Default { self.href.as_str() } else { "" };
        self.adapter.redirect_uri(opt_str(options, "redirectUri").as_deref(), self.s.redirect_uri.as_deref(), page)
    }

    /// A custom adapter's method: `wait` for its promise, or answer at once.
    pub(crate) fn call_adapter(&mut self, task: u32, method: &str, options: Option<&str>, wait: bool) {
        let h = self.adapter_h;
        self.invoke(task, h, method, |m| m.arg(options), wait);
    }

    /// Writes an options argument (JSON, or `undefined`).
    pub(crate) fn arg(&mut self, options: Option<&str>) {
        match options {
            Some(o) => self.w.raw(o),
            None => self.undefined(),
        }
    }

    #[inline(never)]
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
                    return adapter_result(false, h);
                }
                self.drop_h(h);
                self.build_login_url(id, x, String::from(text.unwrap_or_default()))
            }
            (2, Ev::Ret { ok: true, .. }) => {
                let url = core::mem::take(&mut x.url);
                Step::Done(self.give_text(id, url))
            }
            (2, Ev::Ret { h, .. }) => Step::Done(Err(Fail::H(h))),
            e => {
                self.lose(e);
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
        x.url = build_login_url(&Params {
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
        let state = core::mem::take(&mut x.state);
        self.store_put(id, &state, &r.s);
        Step::Wait
    }

    // ---- the callback store (a driver service) -------------------------------------------

    /// Stores a callback record for one hour under `kc-callback-<state>`; answers `ret`.
    pub(crate) fn store_put(&mut self, task: u32, state: &str, record: &str) {
        let id = self.next_id();
        self.wait(id, task, W_RET);
        self.fx("put");
        self.w.int(id as u64);
        self.w.str(STORAGE_KEY_PREFIX);
        self.w.str(state);
        self.w.str(record);
        self.w.num(self.now + LOCAL_STORAGE_TTL_MS);
        self.end();
    }

    /// Takes (reads and removes) the record stored for a state; answers `ret` with its
    /// text, or none.
    pub(crate) fn store_take(&mut self, task: u32, state: &str) {
        let id = self.next_id();
        self.wait(id, task, W_RET);
        self.take_record(id, state);
    }

    /// The `take` effect alone: with no wait for `id`, its answer is released.
    pub(crate) fn take_record(&mut self, id: u32, state: &str) {
        self.take_in(id, STORAGE_KEY_PREFIX, state);
    }

    /// `take` under any prefix of the store.
    pub(crate) fn take_in(&mut self, id: u32, prefix: &str, state: &str) {
        self.fx("take");
        self.w.int(id as u64);
        self.w.str(prefix);
        self.w.str(state);
        self.end();
    }

    // ---- login() / register() ------------------------------------------------------------

    #[inline(never)]
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
            (1, Ev::Ret { ok, h, .. }) => adapter_result(ok, h),
            (2, Ev::Child(_, Ok(Out::Str(t)))) => {
                let url = self.take_text(t);
                match self.adapter {
                    AdapterKind::Cordova if EXTRAS => {
                        let options = parse_opt(&l.options);
                        let prompt_none = opt_str(&options, "prompt").as_deref() == Some("none");
                        let window = cordova_window_options(&string_entries(&options.get("cordovaOptions")), prompt_none);
                        l.redirect = self.redirect_uri(&options);
                        l.stage = 10;
                        l.win = self.open_window(id, &url, &window);
                    }
                    AdapterKind::CordovaNative if EXTRAS => {
                        l.stage = 20;
                        l.win = self.open_tab(id, &url, true);
                    }
                    _ => {
                        self.navigate(id, "assign", &url);
                        return Step::Vanish;
                    }
                }
                Step::Wait
            }
            (2, Ev::Child(_, r)) => Step::Done(r),
            // InAppBrowser: its events decide (see `core::adapter`).
            (10, Ev::Ret { ok: false, .. }) if EXTRAS => Step::Done(Err(CoreError::CordovaPluginMissing("cordova-plugin-inappbrowser").into())),
            (10, Ev::Event { name, value }) if EXTRAS => match cordova_step(&BrowserEvent::from_parts(name, value), &l.redirect) {
                LoginStep::Wait => Step::Wait,
                LoginStep::Callback(href) => {
                    // Closed before the code exchange, as in keycloak-js 26.2.4 (#209).
                    self.close_window(core::mem::take(&mut l.win), 1);
                    l.stage = 14;
                    self.handle_callback(Parent::Task(id), href, l.register);
                    Step::Wait
                }
                LoginStep::Fail(e) => {
                    self.close_window(core::mem::take(&mut l.win), (e != CoreError::CordovaWindowClosed) as u8);
                    Step::Done(Err(e.into()))
                }
            },
            (14 | 21, Ev::Child(_, r)) if EXTRAS => Step::Done(r.map(|_| Out::Undefined)),
            // The system browser, and the deep link back
            (20, Ev::Ret { ok: false, text, .. }) if EXTRAS => Step::Done(Err(missing_plugin(text))),
            (20, Ev::Event { value, .. }) if EXTRAS => {
                self.close_window(core::mem::take(&mut l.win), 1);
                l.stage = 21;
                self.handle_callback(Parent::Task(id), String::from(value.unwrap_or_default()), l.register);
                Step::Wait
            }
            e => {
                self.lose(e);
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

    /// Asks whether any of the `|`-separated global names is set (a platform such as
    /// Cordova); answers with `ret`.
    pub(crate) fn has(&mut self, task: u32, names: &str) {
        let id = self.next_id();
        self.wait(id, task, W_RET);
        self.fx("has");
        self.w.int(id as u64);
        self.w.str(names);
        self.end();
    }

    // ---- windows and the system browser (driver services) ---------------------------------

    /// Opens an InAppBrowser window (`window.open` where the plugin is missing, as
    /// keycloak-js does); its `loadstart`, `loaderror` and `exit` events come to `task`.
    /// A `ret` with `ok` false says there is no window to listen to.
    pub(crate) fn open_window(&mut self, task: u32, url: &str, options: &str) -> u32 {
        let id = self.next_id();
        self.wait(id, task, W_RET);
        self.subscribe(id, task, super::Sub::Window);
        self.fx("win");
        self.w.int(task as u64);
        self.w.int(id as u64);
        self.w.str(url);
        self.w.str(options);
        self.end();
        id
    }

    /// Ends a window or system browser: `mode` 0 forgets it (its listeners go), 1 also
    /// closes it, 2 closes it and still reports its `exit`.
    pub(crate) fn close_window(&mut self, win: u32, mode: u8) {
        if win != 0 {
            if mode != 2 {
                self.unsubscribe(win);
            }
            self.fx("winclose");
            self.w.int(win as u64);
            self.w.int(mode as u64);
            self.end();
        }
    }

    /// `cordova.plugins.browsertab.openUrl(url)`, with (`link`) a subscription to the
    /// `universalLinks` event that brings the app back; its URL comes to `task` as an
    /// event. A `ret` with `ok` false names the missing plugin (`tab` or `links`).
    /// Closing it ([`Machine::close_window`]) unsubscribes and closes the browser tab.
    pub(crate) fn open_tab(&mut self, task: u32, url: &str, link: bool) -> u32 {
        let id = self.next_id();
        self.wait(id, task, W_RET);
        if link {
            self.subscribe(id, task, super::Sub::Window);
        }
        self.fx("tab");
        self.w.int(task as u64);
        self.w.int(id as u64);
        self.w.str(url);
        if link {
            self.w.str(UNIVERSAL_LINKS_EVENT);
        } else {
            self.w.null();
        }
        self.end();
        id
    }
}
