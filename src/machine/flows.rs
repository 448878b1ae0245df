//! The app's calls: `init` (reference §1.5), `handleCallback`, logout and the URL
//! methods, the account console, and the user profile and userinfo requests.

use super::login::{adapter_result, missing_plugin, parse_opt};
use super::tokens::{http_fail, Update};
use super::{truthy_number, Ev, Fail, Machine, Out, Parent, Res, Step, K};
use crate::core::adapter::{at_redirect, logout_step as cordova_logout_step, AdapterKind, AdapterOption, BrowserEvent, LogoutStep, CORDOVA_ACCOUNT_WINDOW, CORDOVA_LOGOUT_WINDOW};
use crate::core::callback::{parse_callback_url, Flow, OAuthParams};
use crate::core::endpoints::{discovery_url, realm_url, Endpoints, OidcMetadata};
use crate::core::error::CoreError;
use crate::core::json::{self, Val, Writer};
use crate::core::login_url::{build_account_url, build_logout_url};
use crate::core::options::{LogoutMethod, OnLoad, EXTRAS};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

pub struct Init {
    opts: String,
    stage: u8,
    probe: u32,
    probe_res: Option<Res>,
    child: u32,
    child_res: Option<Res>,
    frame: u32,
    frame_res: Option<Res>,
    params: Option<OAuthParams>,
    err: Option<Fail>,
    /// The status iframe is on for this init (`checkLoginIframe`, the adapter, the probe).
    iframe: bool,
    /// check-sso with the status iframe and silent check-sso: the iframe is asked as soon
    /// as it loads, and a `changed` starts silent check-sso, both beside the probe (or,
    /// with the session hint, the silent check starts with them: see `persist.rs`).
    early: bool,
    /// The early question went out; its answer.
    asked: bool,
    check_res: Option<Res>,
    /// `child` is a silent check-sso started early (held until the probe agrees).
    gated: bool,
    /// The status iframe is due even without a login callback (tokens or check-sso).
    later: bool,
    /// Tokens passed to `init` while they are verified (`verifyTokens`), and the task
    /// verifying them.
    pending: Option<super::tokens::Set3>,
    verify: u32,
    /// Tokens restored from a previous page load (`persistSession`): the local time they
    /// were dated by.
    dated: Option<f64>,
}

pub(crate) struct Handle {
    url: String,
    register: bool,
    stage: u8,
    params: Option<OAuthParams>,
}

pub(crate) struct Logout {
    options: Option<String>,
    stage: u8,
    redirect: String,
    failed: bool,
    win: u32,
}

pub(crate) struct UrlOp {
    logout: bool,
    options: Option<String>,
}

pub(crate) struct Account {
    stage: u8,
    redirect: String,
    win: u32,
}

pub(crate) struct Load {
    profile: bool,
}

impl Init {
    pub(crate) fn held(self) -> Vec<Res> {
        [self.probe_res, self.child_res, self.frame_res, self.check_res, self.err.map(Err)].into_iter().flatten().collect()
    }

    /// The early silent check-sso, if one may still be running.
    pub(crate) fn gated(&self) -> u32 {
        if self.gated {
            self.child
        } else {
            0
        }
    }
}

/// The endpoint names of the `endpoints` property, in keycloak-js's order.
const ENDPOINTS: [&str; 7] = ["authorize", "token", "logout", "checkSessionIframe", "thirdPartyCookiesIframe", "register", "userinfo"];

impl Machine {
    /// An app call: `op` settles it (except for calls that navigate away).
    pub(crate) fn call(&mut self, op: u32, method: &str, args: &[Val<'_>]) {
        let arg = args.first().filter(|v| !matches!(v, Val::Null)).map(|v| v.raw());
        let parent = Parent::Op(op);
        let k = match method {
            "init" => K::Init(Box::new(Init { opts: arg.unwrap_or_else(|| String::from("{}")), stage: 0, probe: 0, probe_res: None, child: 0, child_res: None, frame: 0, frame_res: None, params: None, err: None, iframe: false, early: false, asked: false, check_res: None, gated: false, later: false, pending: None, verify: 0, dated: None })),
            "login" | "register" => {
                self.start_login(parent, arg, method == "register");
                return;
            }
            "createLoginUrl" => K::LoginUrl(super::login::LoginUrl::new(arg)),
            "createRegisterUrl" => K::LoginUrl(super::login::LoginUrl::new(Some(super::login::register_options(arg.as_deref())))),
            "logout" => K::Logout(Box::new(Logout { options: arg, stage: 0, redirect: String::new(), failed: false, win: 0 })),
            "createLogoutUrl" | "createAccountUrl" => K::UrlOp(Box::new(UrlOp { logout: method == "createLogoutUrl", options: arg })),
            "accountManagement" => K::Account(Box::new(Account { stage: 0, redirect: String::new(), win: 0 })),
            "loadUserProfile" | "loadUserInfo" => K::Load(Box::new(Load { profile: method == "loadUserProfile" })),
            "updateToken" => K::Update(Update { min_validity: truthy_number(args.first()), joined: false }),
            "clearToken" => K::Clear { stage: 0 },
            "createDpopProof" if !EXTRAS => return self.settle(op, Err(CoreError::NoExtras.into())),
            "createDpopProof" => {
                let text = |i: usize| args.get(i).filter(|v| v.truthy()).map(Val::js_string);
                let input = self.proof_task(&text(0).unwrap_or_default(), &text(1).unwrap_or_default(), text(2).as_deref());
                K::Proof(Box::new(input))
            }
            // keycloak.fetch (ours): the Authorization header for the app's request: the
            // `DPoP` scheme for an access token bound to our key, `Bearer` otherwise. (Not in
            // the module without the additions: there keycloak.fetch stops at createDpopProof.)
            "dpopAuthorization" if EXTRAS => {
                let r = match &self.sess.access {
                    Some(t) => {
                        let mut v = String::from(if self.dpop_bound { "DPoP " } else { "Bearer " });
                        v.push_str(&t.raw);
                        self.give_text(op, v)
                    }
                    None => Ok(Out::Undefined),
                };
                return self.settle(op, r);
            }
            // keycloak.fetch: [status, DPoP-Nonce] of the first answer; the nonce to send the
            // request again with (once), when a 400 or 401 names one (RFC 9449 §8, §9).
            "dpopRetry" if EXTRAS => {
                let status = args.first().and_then(|v| v.num()).unwrap_or(0.0);
                let nonce = args.get(1).and_then(|v| v.str()).filter(|n| !n.is_empty() && (status == 400.0 || status == 401.0));
                let r = match nonce {
                    Some(n) => self.give_text(op, String::from(n)),
                    None => Ok(Out::Undefined),
                };
                return self.settle(op, r);
            }
            "handleCallback" => {
                let url = args.first().map(Val::js_string).unwrap_or_default();
                self.handle_callback(parent, url, false);
                return;
            }
            "isTokenExpired" => {
                let r = self.sess.is_token_expired(truthy_number(args.first()), self.now, self.s.flow);
                let r = match r {
                    Ok(Some(expired)) => Ok(Out::Bool(expired)),
                    Ok(None) => {
                        self.info("[KEYCLOAK] Unable to determine if token is expired as timeskew is not set");
                        Ok(Out::Bool(true))
                    }
                    Err(e) => Err(e.into()),
                };
                self.settle(op, r);
                return;
            }
            _ => return self.settle(op, Err(CoreError::NotInitialized.into())),
        };
        self.spawn(parent, k);
    }

    // ---- init --------------------------------------------------------------------------

    #[inline(never)]
    pub(crate) fn init_step(&mut self, id: u32, x: &mut Init, ev: Ev) -> Step {
        let mut ev = Some(ev);
        // Children that run beside the main line report whenever they end.
        if let Some(Ev::Child(c, _)) = &ev {
            let c = *c;
            if c == x.probe || c == x.child || c == x.frame {
                let Some(Ev::Child(_, r)) = ev.take() else { return Step::Wait };
                let slot = if c == x.probe {
                    &mut x.probe_res
                } else if c == x.child {
                    &mut x.child_res
                } else {
                    &mut x.frame_res
                };
                *slot = Some(r);
            } else if c != x.verify && x.asked && x.check_res.is_none() {
                // The only other child reports are the status iframe's answers.
                let Some(Ev::Child(_, r)) = ev.take() else { return Step::Wait };
                x.check_res = Some(r);
            }
        }
        self.ask_early(id, x);
        loop {
            let e = ev.take();
            match (x.stage, e) {
                (0, Some(Ev::Start)) => {
                    if self.initialized {
                        return Step::Done(Err(CoreError::AlreadyInitialized.into()));
                    }
                    self.initialized = true;
                    self.set(|m| {
                        m.w.str("didInitialize");
                        m.w.bool(true);
                    });
                    let opts = json::parse(&x.opts).unwrap_or(Val::Null);
                    match opts.get("adapter") {
                        Some(Val::Obj(raw)) => {
                            self.adapter = AdapterKind::Custom;
                            self.adapter_h = json::parse(raw).and_then(|o| o.get("$h")).and_then(|h| h.num()).unwrap_or(0.0) as i64;
                            x.stage = 3;
                        }
                        Some(Val::Str(s)) if matches!(s.as_str(), "cordova" | "cordova-native" | "default") => {
                            self.adapter = AdapterKind::select(AdapterOption::Text(&s), false);
                            x.stage = 3;
                        }
                        _ => {
                            // Auto-detection: `'Cordova' in window || 'cordova' in window`.
                            x.stage = 2;
                            self.has(id, "Cordova|cordova");
                            return Step::Wait;
                        }
                    }
                }
                (2, Some(Ev::Ret { ok, .. })) => {
                    self.adapter = AdapterKind::select(AdapterOption::Other, ok);
                    x.stage = 3;
                }
                (3, None) => {
                    // The Cordova adapters are in the machine with the additions only.
                    if !EXTRAS && self.adapter.disables_session_iframe() {
                        return Step::Done(Err(CoreError::NoExtras.into()));
                    }
                    let opts = json::parse(&x.opts).unwrap_or(Val::Null);
                    self.s.check_login_iframe &= !self.adapter.disables_session_iframe();
                    let applied = self.s.apply(&opts);
                    x.iframe = self.s.check_login_iframe;
                    self.sess.time_skew = self.s.time_skew;
                    self.mirror_settings();
                    if let Err(e) = applied {
                        return Step::Done(Err(e.into()));
                    }
                    if self.dpop_key(id) {
                        x.stage = 46;
                        return Step::Wait;
                    }
                    x.stage = 47;
                }
                // `dpop`: the key pair is there (made now if needed), or init fails here.
                (46, Some(Ev::Timer)) if EXTRAS => return Step::Done(Err(CoreError::DpopUnavailable.into())),
                (46, Some(Ev::Ret { ok, h, text })) if EXTRAS => {
                    self.disarm(id);
                    self.drop_h(h);
                    if !self.dpop_keyed(ok, text) {
                        return Step::Done(Err(CoreError::DpopUnavailable.into()));
                    }
                    x.stage = 47;
                }
                (47, None) => {
                    match self.load_config(id) {
                        Some(step) => {
                            x.stage = 4;
                            return step;
                        }
                        None => x.stage = 5,
                    }
                }
                (4, Some(Ev::Http { status, text, h })) => {
                    if !(200..300).contains(&status) {
                        return Step::Done(Err(http_fail(status, h)));
                    }
                    self.drop_h(h);
                    self.config_loaded(text.as_deref().unwrap_or("null"));
                    x.stage = 5;
                }
                (5, None) => {
                    let cb = parse_callback_url(&self.href, self.s.flow, self.s.response_mode);
                    let opts = json::parse(&x.opts).unwrap_or(Val::Null);
                    let tokens = opts.get("token").is_some_and(|v| v.truthy()) && opts.get("refreshToken").is_some_and(|v| v.truthy());
                    let check_sso = self.s.on_load == OnLoad::CheckSso;
                    // The session hint for check-sso by redirect (keycloak-js's default): the
                    // last load ended with a session, so the `prompt=none` redirect leaves now,
                    // before the probe and the status iframe (read once: `early` marks it).
                    if !x.early && x.iframe && cb.is_none() && !tokens && check_sso && self.s.silent_check_sso_redirect_uri.is_none() && self.hint_ok() {
                        x.early = true;
                        x.stage = 48;
                        self.hint_read(id);
                        return Step::Wait;
                    }
                    x.probe = self.spawn(Parent::Task(id), K::Probe);
                    // What comes after the probe in keycloak-js starts beside it: the status
                    // iframe's load (callback, tokens or check-sso), and for check-sso with
                    // silent check-sso the iframe's question and, on `changed`, the silent
                    // check itself, held until the probe agrees. A probe that finds
                    // third-party cookies blocked takes them back.
                    x.later = tokens || check_sso;
                    if x.iframe && (cb.is_some() || x.later) {
                        x.frame = self.spawn(Parent::Task(id), K::FrameSetup);
                    }
                    x.early = x.frame != 0 && cb.is_none() && !tokens && check_sso && self.s.silent_check_sso_redirect_uri.is_some();
                    if x.early && self.hint_ok() {
                        self.hint_read(id);
                    }
                    match cb {
                        Some(cb) => {
                            self.fx("hist");
                            self.w.int(id as u64);
                            self.w.str(&cb.new_url);
                            self.end();
                            let state = String::from(cb.params.get("state").unwrap_or(""));
                            x.params = Some(cb.params);
                            x.stage = 6;
                            self.store_take(id, &state);
                            return Step::Wait;
                        }
                        None => x.stage = 10,
                    }
                }
                (48, Some(Ev::Ret { text, .. })) => {
                    if text.is_some() {
                        x.stage = 25;
                        self.do_login(id, x, false);
                        return Step::Wait;
                    }
                    x.stage = 5;
                }
                (6, Some(Ev::Ret { text, .. })) => match text.filter(|t| matches!(json::parse(t), Some(Val::Obj(_)))) {
                    // On a login callback the code exchange runs alongside the probe and the
                    // status iframe's load (keycloak-js runs them one after another).
                    Some(record) => {
                        let params = x.params.take().unwrap_or_default();
                        x.child = self.process_callback(Parent::Task(id), params, String::from(record));
                        x.stage = 7;
                    }
                    None => {
                        // Not our callback after all: without tokens or check-sso keycloak-js
                        // sets up no status iframe, so the early one goes.
                        if x.frame != 0 && !x.later {
                            self.drop_status_frame(x.frame);
                            x.frame = 0;
                            if let Some(r) = x.frame_res.take() {
                                self.release(&r);
                            }
                        }
                        x.stage = 10;
                    }
                },
                (7, _) => {
                    // The probe's error wins, then the status iframe's, then the callback's.
                    match self.probe_done(id, x) {
                        None => return Step::Wait,
                        Some(Err(e)) => return Step::Done(Err(e)),
                        Some(Ok(())) => {
                            x.stage = 8;
                            self.need_frame(id, x);
                        }
                    }
                }
                (8, _) => match x.frame_res.take() {
                    None => return Step::Wait,
                    Some(Err(e)) => return Step::Done(Err(e)),
                    Some(Ok(_)) => x.stage = 9,
                },
                (9, _) => match x.child_res.take() {
                    None => return Step::Wait,
                    Some(Err(e)) => return Step::Done(Err(e)),
                    Some(Ok(_)) => {
                        if self.s.flow != Flow::Implicit {
                            self.start_polling();
                        }
                        x.stage = 30;
                    }
                },
                // The session hint: the last load ended with a session, so the silent check
                // starts now, held until the status iframe says `changed` and the probe agrees
                // (an `unchanged` or blocked cookies take it back).
                (10, Some(Ev::Ret { text, .. })) => {
                    if text.is_some() && x.early && !x.gated && x.check_res.is_none() {
                        x.gated = true;
                        x.child = self.start_silent(Parent::Task(id), true);
                    }
                }
                (10, _) => {
                    match self.probe_done(id, x) {
                        None => return Step::Wait,
                        Some(Err(e)) => return Step::Done(Err(e)),
                        Some(Ok(())) => {}
                    }
                    let opts = json::parse(&x.opts).unwrap_or(Val::Null);
                    let token = opts.get("token").filter(|v| v.truthy());
                    let refresh = opts.get("refreshToken").filter(|v| v.truthy());
                    if let (Some(t), Some(r)) = (token, refresh) {
                        let id_token = opts.get("idToken").filter(|v| v.truthy()).map(|v| v.js_string());
                        match self.decode_set(Some(&t.js_string()), Some(&r.js_string()), id_token.as_deref(), None) {
                            Err(e) => return Step::Done(Err(e.into())),
                            Ok(set) => {
                                x.verify = self.verify_set(id, &set, false);
                                if x.verify != 0 {
                                    x.pending = Some(set);
                                    x.stage = 18;
                                    return Step::Wait;
                                }
                                x.stage = 11;
                                if self.set_token(id, set, None) {
                                    return Step::Wait;
                                }
                            }
                        }
                    } else if self.unseal(id) {
                        x.stage = 40;
                        return Step::Wait;
                    } else {
                        x.stage = self.on_load_stage();
                    }
                }
                // Tokens kept by the previous page load (`persistSession`), if any.
                (40, Some(Ev::Timer)) if EXTRAS => x.stage = self.on_load_stage(),
                (40, Some(Ev::Ret { ok, h, text })) if EXTRAS => {
                    self.disarm(id);
                    self.drop_h(h);
                    if !ok {
                        // They do not decrypt (another browser's storage, a lost key).
                        self.persist_wipe();
                    }
                    match self.unsealed(text.filter(|_| ok)) {
                        None => x.stage = self.on_load_stage(),
                        Some((set, dated)) => {
                            x.verify = self.verify_set(id, &set, false);
                            x.pending = Some(set);
                            x.dated = dated;
                            x.stage = if x.verify != 0 { 41 } else { 42 };
                            if x.verify != 0 {
                                return Step::Wait;
                            }
                        }
                    }
                }
                (41, Some(Ev::Child(_, r))) if EXTRAS => match r {
                    Ok(_) => x.stage = 42,
                    // They fail the check (and are wiped), or the keys did not load (kept).
                    Err(e) => {
                        self.release(&Err(e));
                        x.pending = None;
                        x.stage = self.on_load_stage();
                    }
                },
                (42, None) if EXTRAS => {
                    let set = x.pending.take().unwrap_or_default();
                    x.stage = 43;
                    if self.set_token(id, set, x.dated) {
                        return Step::Wait;
                    }
                }
                (43, e) if EXTRAS => {
                    if let Some(Ev::Resumed(err)) = e {
                        if err != 0 {
                            return Step::Done(Err(Fail::H(err)));
                        }
                    }
                    // An access token that has run out (or whose clock skew is unknown) costs one refresh.
                    if self.sess.is_token_expired(None, self.now, self.s.flow) != Ok(Some(false)) {
                        x.stage = 44;
                        x.child = self.spawn(Parent::Task(id), K::Update(Update { min_validity: Some(-1.0), joined: false }));
                        return Step::Wait;
                    }
                    x.stage = 45;
                }
                (44, _) if EXTRAS => match x.child_res.take() {
                    None => return Step::Wait,
                    Some(Ok(_)) => x.stage = 45,
                    Some(Err(e)) => {
                        // An `invalid_grant` cleared and wiped them; a realm that cannot be reached
                        // leaves them kept for the next load, not set here.
                        self.release(&Err(e));
                        let keep = core::mem::replace(&mut self.s.persist, 0);
                        self.set_token(id, [None, None, None], None);
                        self.s.persist = keep;
                        x.stage = self.on_load_stage();
                    }
                },
                (45, None) if EXTRAS => {
                    if x.iframe {
                        // As for tokens passed to init: the status iframe has the last word.
                        x.stage = 12;
                        self.need_frame(id, x);
                    } else {
                        x.stage = 16;
                        self.emit(id, "onAuthSuccess", true, |_| {});
                        return Step::Wait;
                    }
                }
                // The tokens passed to init were verified (`verifyTokens`): set them.
                (18, Some(Ev::Child(_, r))) if EXTRAS => match (r, x.pending.take()) {
                    (Err(e), _) => return Step::Done(Err(e)),
                    (Ok(_), set) => {
                        x.stage = 11;
                        if self.set_token(id, set.unwrap_or_default(), None) {
                            return Step::Wait;
                        }
                    }
                },
                (11, e) => {
                    if let Some(Ev::Resumed(err)) = e {
                        if err != 0 {
                            return Step::Done(Err(Fail::H(err)));
                        }
                    }
                    if x.iframe {
                        x.stage = 12;
                        self.need_frame(id, x);
                    } else {
                        // Without the status iframe the tokens are validated by a forced refresh.
                        x.stage = 15;
                        x.child = self.spawn(Parent::Task(id), K::Update(Update { min_validity: Some(-1.0), joined: false }));
                        return Step::Wait;
                    }
                }
                (12, _) => match x.frame_res.take() {
                    None => return Step::Wait,
                    Some(Err(e)) => return Step::Done(Err(e)),
                    Some(Ok(_)) => {
                        if !self.check_frame(id) {
                            x.stage = 30;
                            continue;
                        }
                        x.stage = 13;
                        return Step::Wait;
                    }
                },
                (13, Some(Ev::Child(_, r))) => match r {
                    Err(e) => return Step::Done(Err(e)),
                    Ok(Out::Bool(true)) => {
                        x.stage = 14;
                        self.emit(id, "onAuthSuccess", true, |_| {});
                        return Step::Wait;
                    }
                    _ => x.stage = 30,
                },
                (14, Some(Ev::Resumed(err))) => {
                    if err != 0 {
                        return Step::Done(Err(Fail::H(err)));
                    }
                    self.start_polling();
                    x.stage = 30;
                }
                (15, _) => match x.child_res.take() {
                    None => return Step::Wait,
                    Some(Ok(_)) => {
                        x.stage = 16;
                        self.emit(id, "onAuthSuccess", true, |_| {});
                        return Step::Wait;
                    }
                    Some(Err(e)) => {
                        x.err = Some(e);
                        x.stage = 17;
                        self.emit(id, "onAuthError", true, |_| {});
                        return Step::Wait;
                    }
                },
                (16, Some(Ev::Resumed(err))) => {
                    if err != 0 {
                        return Step::Done(Err(Fail::H(err)));
                    }
                    x.stage = 30;
                }
                (17, Some(Ev::Resumed(err))) => {
                    let e = x.err.take().unwrap_or(Fail::Core(CoreError::NoRefreshToken));
                    if err != 0 {
                        self.release(&Err(e));
                        return Step::Done(Err(Fail::H(err)));
                    }
                    if self.s.on_load == OnLoad::None {
                        return Step::Done(Err(e));
                    }
                    self.release(&Err(e));
                    x.stage = 20;
                }
                (20, None) => match self.s.on_load {
                    OnLoad::CheckSso if x.iframe => {
                        x.stage = 21;
                        self.need_frame(id, x);
                    }
                    OnLoad::CheckSso => x.stage = 23,
                    OnLoad::LoginRequired => {
                        x.stage = 25;
                        self.do_login(id, x, true);
                        return Step::Wait;
                    }
                    _ => return Step::Done(Err(CoreError::InvalidOnLoad.into())),
                },
                (21, _) => match x.frame_res.take() {
                    None => return Step::Wait,
                    Some(Err(e)) => return Step::Done(Err(e)),
                    Some(Ok(_)) => {
                        if x.asked {
                            x.stage = 22;
                            continue;
                        }
                        if self.check_frame(id) {
                            x.asked = true;
                            x.stage = 22;
                            return Step::Wait;
                        }
                        x.stage = 23;
                    }
                },
                (22, e) => {
                    let r = match (x.check_res.take(), e) {
                        (Some(r), _) | (None, Some(Ev::Child(_, r))) => r,
                        (None, None) => return Step::Wait,
                        (None, Some(e)) => {
                            self.lost(e);
                            return Step::Wait;
                        }
                    };
                    x.asked = false;
                    match r {
                        Err(e) => return Step::Done(Err(e)),
                        // (`unchanged`: a silent check started on the hint goes with init's end.)
                        Ok(Out::Bool(true)) => x.stage = 30,
                        _ => x.stage = 23,
                    }
                }
                (23, None) => {
                    if x.gated && self.s.silent_check_sso_redirect_uri.is_some() {
                        // The early silent check goes on (or has already ended).
                        x.gated = false;
                        x.stage = 25;
                        self.step(x.child, Ev::Go);
                        continue;
                    } else if self.s.silent_check_sso_redirect_uri.is_some() {
                        x.stage = 25;
                        x.child = self.start_silent(Parent::Task(id), false);
                    } else {
                        x.stage = 25;
                        self.do_login(id, x, false);
                    }
                    return Step::Wait;
                }
                (25, _) => match x.child_res.take() {
                    None => return Step::Wait,
                    Some(Err(e)) => return Step::Done(Err(e)),
                    Some(r) => {
                        self.release(&r);
                        x.stage = 30;
                    }
                },
                (30, None) => {
                    // This load keeps the session hint for the next if its check could use it.
                    self.hint_on = x.iframe && self.s.on_load == OnLoad::CheckSso && (self.s.silent_check_sso_redirect_uri.is_some() || self.adapter == AdapterKind::Default) && self.hint_ok();
                    self.hint_write(true);
                    x.stage = 31;
                    let authenticated = self.sess.authenticated();
                    self.emit(id, "onReady", true, |m| m.w.bool(authenticated));
                    return Step::Wait;
                }
                (31, Some(Ev::Resumed(err))) => {
                    if err != 0 {
                        return Step::Done(Err(Fail::H(err)));
                    }
                    return Step::Done(Ok(Out::Bool(self.sess.authenticated())));
                }
                (_, Some(e)) => {
                    self.lost(e);
                    return Step::Wait;
                }
                (_, None) => return Step::Wait,
            }
        }
    }

    /// The status iframe's setup, unless it started early.
    /// Where `init` goes on without tokens: the `onLoad` step, or the end.
    fn on_load_stage(&self) -> u8 {
        if self.s.on_load != OnLoad::None {
            20
        } else {
            30
        }
    }

    fn need_frame(&mut self, id: u32, x: &mut Init) {
        if x.frame == 0 {
            x.frame = self.spawn(Parent::Task(id), K::FrameSetup);
        }
    }

    /// check-sso's early steps while the probe runs: ask the loaded status iframe; on
    /// `changed`, start silent check-sso held at its answer.
    fn ask_early(&mut self, id: u32, x: &mut Init) {
        if !x.early || x.stage != 10 {
            return;
        }
        if !x.asked && matches!(x.frame_res, Some(Ok(_))) {
            x.asked = self.check_frame(id);
            x.early = x.asked;
        }
        if !x.gated && matches!(x.check_res, Some(Ok(Out::Bool(false)))) {
            x.gated = true;
            x.child = self.start_silent(Parent::Task(id), true);
        }
    }

    /// The probe's end, once: `None` while it runs. Its error ends `init` (and takes back
    /// the status iframe keycloak-js would not have started yet).
    fn probe_done(&mut self, id: u32, x: &mut Init) -> Option<Result<(), Fail>> {
        Some(match x.probe_res.take()? {
            Err(e) => {
                if x.frame != 0 {
                    self.drop_status_frame(x.frame);
                }
                Err(e)
            }
            Ok(r) => {
                self.probe_said(id, x, r);
                Ok(())
            }
        })
    }

    /// The probe's answer (`Bool(supported)`). Blocked third-party cookies turn the status
    /// iframe off (and silent check-sso too, with `silentCheckSsoFallback`): what started
    /// early for them is taken back, as if it had never started.
    fn probe_said(&mut self, id: u32, x: &mut Init, r: Out) {
        if r != Out::Bool(false) {
            return;
        }
        x.iframe = false;
        x.early = false;
        if x.frame != 0 {
            self.drop_status_frame(x.frame);
            if let Some(r) = x.frame_res.replace(Ok(Out::Undefined)) {
                self.release(&r);
            }
        }
        if x.asked {
            x.asked = false;
            self.sf_checks.retain(|&c| c != id);
            if self.sf_checks.is_empty() {
                self.disarm(super::STATUS_REPLY);
            }
            if let Some(r) = x.check_res.take() {
                self.release(&r);
            }
        }
        if self.s.silent_check_sso_redirect_uri.is_none() {
            self.drop_gated(x);
        }
    }

    /// Takes back the silent check started early, and its answer if it came.
    fn drop_gated(&mut self, x: &mut Init) {
        if x.gated {
            x.gated = false;
            self.cancel(x.child);
            if let Some(r) = x.child_res.take() {
                self.release(&r);
            }
        }
    }

    /// `doLogin(prompt)`: `login({ prompt: 'none'?, locale? })` for `onLoad`.
    fn do_login(&mut self, id: u32, x: &mut Init, prompt: bool) {
        let opts = json::parse(&x.opts).unwrap_or(Val::Null);
        let mut o = Writer::default();
        o.open_obj();
        if !prompt {
            o.key("prompt");
            o.str("none");
        }
        if let Some(locale) = opts.get("locale").filter(|l| l.truthy()) {
            o.key("locale");
            o.raw(&locale.raw());
        }
        o.close_obj();
        x.child = self.start_login(Parent::Task(id), Some(o.s), false);
    }

    /// The settings-derived public properties, after the `init` options.
    fn mirror_settings(&mut self) {
        let s = core::mem::take(&mut self.s);
        self.set(|m| {
            m.w.str("loginRequired");
            m.w.bool(s.login_required);
            m.w.str("responseMode");
            m.w.str(s.response_mode.as_str());
            m.w.str("responseType");
            m.w.str(&s.response_type);
            m.w.str("flow");
            m.w.str(s.flow.as_str());
            m.w.str("timeSkew");
            match s.time_skew {
                Some(t) => m.w.num(t),
                None => m.w.null(),
            }
            m.set_str("redirectUri", s.redirect_uri.as_deref());
            m.set_str("silentCheckSsoRedirectUri", s.silent_check_sso_redirect_uri.as_deref());
            m.w.str("silentCheckSsoFallback");
            m.w.bool(s.silent_check_sso_fallback);
            m.w.str("pkceMethod");
            match &s.pkce_method {
                Some(p) => m.w.str(p),
                None => m.w.bool(false),
            }
            m.w.str("enableLogging");
            m.w.bool(s.enable_logging);
            m.w.str("logoutMethod");
            m.w.str(s.logout_method.as_str());
            m.set_str("scope", s.scope.as_deref());
            m.w.str("messageReceiveTimeout");
            m.w.num(s.message_receive_timeout);
        });
        self.s = s;
    }

    /// `#loadConfig()`: a request for a `keycloak.json` or a discovery document (the step
    /// to wait on), or `None` when the endpoints are known at once.
    fn load_config(&mut self, id: u32) -> Option<Step> {
        let config = self.config.clone();
        let c = json::parse(&config).unwrap_or(Val::Null);
        let url = match &c {
            Val::Str(url) => url.clone(),
            Val::Obj(_) => match c.get("oidcProvider") {
                Some(Val::Str(base)) => discovery_url(&base),
                Some(meta) => {
                    let meta = meta.raw();
                    self.use_metadata(&meta, c.get("clientId"));
                    return None;
                }
                None => {
                    let (server, realm) = (c.get("url"), c.get("realm"));
                    self.use_keycloak(server, realm, c.get("clientId"));
                    return None;
                }
            },
            _ => String::new(),
        };
        self.fetch(id, &url, None, None, false);
        Some(Step::Wait)
    }

    fn config_loaded(&mut self, text: &str) {
        let config = self.config.clone();
        let c = json::parse(&config).unwrap_or(Val::Null);
        let doc = json::parse(text).unwrap_or(Val::Null);
        if let Val::Str(_) = c {
            self.use_keycloak(doc.get("auth-server-url"), doc.get("realm"), doc.get("resource"));
        } else {
            self.use_metadata(text, c.get("clientId"));
        }
    }

    fn use_keycloak(&mut self, server: Option<Val<'_>>, realm: Option<Val<'_>>, client: Option<Val<'_>>) {
        let text = |v: &Option<Val<'_>>| v.as_ref().map(Val::js_string).unwrap_or_else(|| String::from("undefined"));
        let (server_s, realm_s) = (text(&server), text(&realm));
        self.ep = Some(Endpoints::Keycloak { realm_url: realm_url(&server_s, &realm_s) });
        self.set(|m| {
            m.config_prop("clientId", &client);
            m.config_prop("authServerUrl", &server);
            m.config_prop("realm", &realm);
        });
        self.use_client(client);
    }

    fn use_metadata(&mut self, meta: &str, client: Option<Val<'_>>) {
        let doc = json::parse(meta).unwrap_or(Val::Null);
        let f = |k: &str| doc.get(k).and_then(|v| v.str().map(String::from));
        self.ep = Some(Endpoints::Oidc(OidcMetadata {
            authorization_endpoint: f("authorization_endpoint").unwrap_or_default(),
            token_endpoint: f("token_endpoint").unwrap_or_default(),
            userinfo_endpoint: f("userinfo_endpoint"),
            check_session_iframe: f("check_session_iframe"),
            end_session_endpoint: f("end_session_endpoint"),
            issuer: f("issuer"),
            jwks_uri: f("jwks_uri"),
        }));
        self.set(|m| m.config_prop("clientId", &client));
        self.use_client(client);
    }

    fn use_client(&mut self, client: Option<Val<'_>>) {
        self.client_id = client.as_ref().map(Val::js_string).unwrap_or_default();
        let ep = self.ep.clone();
        self.set(|m| {
            m.w.str("endpoints");
            m.w.open();
            m.w.int(2);
            if let Some(ep) = &ep {
                for name in ENDPOINTS {
                    let url = match name {
                        "authorize" => Ok(ep.authorize()),
                        "token" => Ok(ep.token()),
                        "logout" => ep.logout(),
                        "checkSessionIframe" => ep.check_session_iframe(),
                        "thirdPartyCookiesIframe" => match ep.third_party_cookies_iframe() {
                            Some(u) => Ok(u),
                            None => continue,
                        },
                        "register" => ep.register(),
                        _ => ep.userinfo(),
                    };
                    m.w.open();
                    m.w.str(name);
                    m.w.open();
                    match url {
                        Ok(u) => {
                            m.w.int(7);
                            m.w.str(&u);
                        }
                        Err(e) => {
                            m.w.int(8);
                            m.error_v(&e);
                        }
                    }
                    m.w.close();
                    m.w.close();
                }
            }
            m.w.close();
        });
    }

    /// A property taken from the configuration as it is (any JSON value).
    fn config_prop(&mut self, name: &str, v: &Option<Val<'_>>) {
        self.w.str(name);
        match v {
            None => self.undefined(),
            Some(Val::Str(s)) => self.w.str(s),
            Some(other) => {
                self.w.open();
                self.w.int(4);
                self.w.str(&other.raw());
                self.w.close();
            }
        }
    }

    // ---- handleCallback ------------------------------------------------------------------

    /// A callback URL that reached the app some other way than the page load (a Cordova
    /// window, a deep link, a custom adapter): its state must be one this instance
    /// stored; it is then processed as `init` would. Resolves to `authenticated`.
    pub(crate) fn handle_callback(&mut self, parent: Parent, url: String, register: bool) -> u32 {
        self.spawn(parent, K::Handle(Box::new(Handle { url, register, stage: 0, params: None })))
    }

    #[inline(never)]
    pub(crate) fn handle_step(&mut self, id: u32, x: &mut Handle, ev: Ev) -> Step {
        let invalid = || Step::Done(Err(CoreError::InvalidCallbackState { register: x.register }.into()));
        match (x.stage, ev) {
            (0, Ev::Start) => {
                if let Err(e) = self.endpoints() {
                    return Step::Done(Err(e));
                }
                let Some(cb) = parse_callback_url(&x.url, self.s.flow, self.s.response_mode) else { return invalid() };
                let state = String::from(cb.params.get("state").unwrap_or(""));
                x.params = Some(cb.params);
                x.stage = 1;
                self.store_take(id, &state);
                Step::Wait
            }
            (1, Ev::Ret { text, .. }) => match text.filter(|t| matches!(json::parse(t), Some(Val::Obj(_)))) {
                Some(record) => {
                    x.stage = 2;
                    let params = x.params.take().unwrap_or_default();
                    self.process_callback(Parent::Task(id), params, String::from(record));
                    Step::Wait
                }
                None => invalid(),
            },
            (2, Ev::Child(_, Err(e))) => Step::Done(Err(e)),
            (2, Ev::Child(..)) => {
                if self.s.flow != Flow::Implicit {
                    self.start_polling();
                }
                Step::Done(Ok(Out::Bool(self.sess.authenticated())))
            }
            (_, e) => {
                self.lost(e);
                Step::Wait
            }
        }
    }

    // ---- logout --------------------------------------------------------------------------

    /// `options?.logoutMethod ?? this.logoutMethod`
    fn logout_method(&self, options: &Val<'_>) -> String {
        match options.get("logoutMethod") {
            None | Some(Val::Null) => String::from(self.s.logout_method.as_str()),
            Some(v) => v.js_string(),
        }
    }

    /// The GET logout URL (the Cordova adapters always navigate with GET).
    fn logout_get_url(&self, redirect: &str) -> Result<String, Fail> {
        let endpoint = self.endpoints()?.logout()?;
        Ok(build_logout_url(&endpoint, &self.client_id, redirect, self.sess.id.as_ref().map(|t| t.raw.as_str())))
    }

    #[inline(never)]
    pub(crate) fn logout_step(&mut self, id: u32, x: &mut Logout, ev: Ev) -> Step {
        match (x.stage, ev) {
            (0, Ev::Start) => {
                let options = parse_opt(&x.options);
                match self.adapter {
                    AdapterKind::Custom => {
                        x.stage = 1;
                        let o = x.options.clone();
                        self.call_adapter(id, "logout", o.as_deref(), true);
                        Step::Wait
                    }
                    AdapterKind::Cordova | AdapterKind::CordovaNative if EXTRAS => {
                        x.redirect = self.redirect_uri(&options);
                        let url = match self.logout_get_url(&x.redirect) {
                            Ok(u) => u,
                            Err(e) => return Step::Done(Err(e)),
                        };
                        if self.adapter == AdapterKind::Cordova {
                            x.stage = 10;
                            x.win = self.open_window(id, &url, CORDOVA_LOGOUT_WINDOW);
                        } else {
                            x.stage = 20;
                            x.win = self.open_tab(id, &url, true);
                        }
                        Step::Wait
                    }
                    // The default adapter (the Cordova ones never run without `extras`).
                    _ => {
                        // The page leaves for the realm's logout: the other tabs end the session now,
                        // and no tokens are kept for the next load.
                        self.tabs_out();
                        self.persist_wipe();
                        let redirect = self.redirect_uri(&options);
                        if self.logout_method(&options) == LogoutMethod::Get.as_str() {
                            return match self.logout_get_url(&redirect) {
                                Ok(url) => {
                                    self.navigate(id, "replace", &url);
                                    Step::Done(Ok(Out::Undefined))
                                }
                                Err(e) => Step::Done(Err(e)),
                            };
                        }
                        let action = match self.endpoints().and_then(|e| e.logout().map_err(Fail::from)) {
                            Ok(a) => a,
                            Err(e) => return Step::Done(Err(e)),
                        };
                        // Deliberate difference: keycloak-js posts the string "undefined" as
                        // id_token_hint when there is no ID token; we leave the field out.
                        let id_token = self.sess.id.as_ref().map(|t| t.raw.clone());
                        let client = self.client_id.clone();
                        self.fx("form");
                        self.w.int(id as u64);
                        self.w.str(&action);
                        self.w.open();
                        let field = Machine::pair;
                        if let Some(t) = &id_token {
                            field(self, "id_token_hint", t);
                        }
                        field(self, "client_id", &client);
                        field(self, "post_logout_redirect_uri", &redirect);
                        self.w.close();
                        self.end();
                        Step::Done(Ok(Out::Undefined))
                    }
                }
            }
            (1, Ev::Ret { ok, h, .. }) => adapter_result(ok, h),
            // InAppBrowser: a hidden window loads the logout URL; reaching the redirect URI
            // (or the user closing it) ends it, and the tokens are cleared.
            (10, Ev::Ret { ok: false, .. }) if EXTRAS => Step::Done(Err(CoreError::CordovaPluginMissing("cordova-plugin-inappbrowser").into())),
            (10, Ev::Event { name, value }) if EXTRAS => match cordova_logout_step(&BrowserEvent::from_parts(name, value), &x.redirect) {
                LogoutStep::Wait => Step::Wait,
                LogoutStep::Close { failed } => {
                    x.failed = failed;
                    x.stage = 12;
                    // The plugin answers close() with `exit`; do not wait for it forever.
                    self.close_window(x.win, 2);
                    self.arm(id, self.s.message_receive_timeout);
                    Step::Wait
                }
                LogoutStep::Done => self.cordova_logged_out(id, x),
            },
            (12, Ev::Event { name: "exit", .. }) | (12, Ev::Timer) if EXTRAS => self.cordova_logged_out(id, x),
            (13, Ev::Child(_, r)) if EXTRAS => {
                self.report(r);
                Step::Done(Ok(Out::Undefined))
            }
            // The system browser, and the deep link back
            (20, Ev::Ret { ok: false, text, .. }) if EXTRAS => Step::Done(Err(missing_plugin(text))),
            (20, Ev::Event { .. }) if EXTRAS => {
                self.close_window(core::mem::take(&mut x.win), 1);
                x.stage = 13;
                self.spawn(Parent::Task(id), K::Clear { stage: 0 });
                Step::Wait
            }
            e => {
                self.lose(e);
                Step::Wait
            }
        }
    }

    fn cordova_logged_out(&mut self, id: u32, x: &mut Logout) -> Step {
        self.disarm(id);
        self.close_window(core::mem::take(&mut x.win), 0);
        if x.failed {
            return Step::Done(Err(CoreError::CordovaWindowClosed.into()));
        }
        x.stage = 13;
        self.spawn(Parent::Task(id), K::Clear { stage: 0 });
        Step::Wait
    }

    // ---- createLogoutUrl / createAccountUrl -----------------------------------------------

    #[inline(never)]
    pub(crate) fn url_op_step(&mut self, id: u32, x: &mut UrlOp, ev: Ev) -> Step {
        match ev {
            Ev::Start => {
                let first = if x.logout {
                    self.endpoints().and_then(|e| e.logout().map_err(Fail::from))
                } else {
                    self.endpoints().and_then(|e| e.account().ok_or(Fail::Core(CoreError::AccountUrlInOidcMode)))
                };
                let endpoint = match first {
                    Ok(u) => u,
                    Err(e) => return Step::Done(Err(e)),
                };
                let options = parse_opt(&x.options);
                if x.logout && self.logout_method(&options) == LogoutMethod::Post.as_str() {
                    return Step::Done(self.give_text(id, endpoint));
                }
                if self.adapter == AdapterKind::Custom {
                    let o = x.options.clone();
                    self.call_adapter(id, "redirectUri", o.as_deref(), false);
                    return Step::Wait;
                }
                let redirect = self.redirect_uri(&options);
                let url = self.url_with(x.logout, &endpoint, &redirect);
                Step::Done(self.give_text(id, url))
            }
            Ev::Ret { ok, h, text } => {
                if !ok {
                    return adapter_result(false, h);
                }
                self.drop_h(h);
                let endpoint = if x.logout {
                    self.endpoints().ok().and_then(|e| e.logout().ok())
                } else {
                    self.endpoints().ok().and_then(|e| e.account())
                };
                let url = self.url_with(x.logout, &endpoint.unwrap_or_default(), text.unwrap_or_default());
                Step::Done(self.give_text(id, url))
            }
            e => {
                self.lost(e);
                Step::Wait
            }
        }
    }

    fn url_with(&self, logout: bool, endpoint: &str, redirect: &str) -> String {
        if logout {
            build_logout_url(endpoint, &self.client_id, redirect, self.sess.id.as_ref().map(|t| t.raw.as_str()))
        } else {
            build_account_url(endpoint, &self.client_id, redirect)
        }
    }

    // ---- accountManagement -------------------------------------------------------------------

    #[inline(never)]
    pub(crate) fn account_step(&mut self, id: u32, x: &mut Account, ev: Ev) -> Step {
        match (x.stage, ev) {
            (0, Ev::Start) => {
                if self.adapter == AdapterKind::Custom {
                    x.stage = 1;
                    self.call_adapter(id, "accountManagement", None, true);
                    return Step::Wait;
                }
                let account = match self.endpoints().and_then(|e| e.account().ok_or(Fail::Core(CoreError::AccountUrlInOidcMode))) {
                    Ok(a) => a,
                    Err(e) => return Step::Done(Err(e)),
                };
                x.redirect = self.redirect_uri(&Val::Null);
                let url = build_account_url(&account, &self.client_id, &x.redirect);
                match self.adapter {
                    AdapterKind::Cordova if EXTRAS => {
                        x.stage = 10;
                        x.win = self.open_window(id, &url, CORDOVA_ACCOUNT_WINDOW);
                        Step::Wait
                    }
                    AdapterKind::CordovaNative if EXTRAS => {
                        x.stage = 20;
                        self.open_tab(id, &url, false);
                        Step::Wait
                    }
                    _ => {
                        self.navigate(id, "href", &url);
                        Step::Vanish
                    }
                }
            }
            (1, Ev::Ret { ok, h, .. }) => adapter_result(ok, h),
            (10, Ev::Ret { ok: false, .. }) if EXTRAS => Step::Done(Err(CoreError::CordovaPluginMissing("cordova-plugin-inappbrowser").into())),
            // Resolves at once; the window closes itself when it reaches the app again.
            (10, Ev::Ret { .. }) if EXTRAS => {
                let redirect = core::mem::take(&mut x.redirect);
                let watcher = self.spawn_idle(Parent::Detached, K::Watch { win: x.win, redirect });
                self.hand_over(id, watcher);
                Step::Done(Ok(Out::Undefined))
            }
            (20, Ev::Ret { ok, text, .. }) if EXTRAS => Step::Done(if ok { Ok(Out::Undefined) } else { Err(missing_plugin(text)) }),
            e => {
                self.lose(e);
                Step::Wait
            }
        }
    }

    /// The account window watcher: closes the window at the redirect URI; ends on `exit`.
    #[inline(never)]
    pub(crate) fn watch_step(&mut self, win: u32, redirect: &str, ev: Ev) -> Step {
        match ev {
            Ev::Event { name, value } => match BrowserEvent::from_parts(name, value) {
                BrowserEvent::LoadStart(u) if at_redirect(&u, redirect) => {
                    self.close_window(win, 1);
                    Step::Done(Ok(Out::Undefined))
                }
                BrowserEvent::Exit => Step::Done(Ok(Out::Undefined)),
                _ => Step::Wait,
            },
            e => {
                self.lose(e);
                Step::Wait
            }
        }
    }

    // ---- loadUserProfile / loadUserInfo --------------------------------------------------

    #[inline(never)]
    pub(crate) fn load_step(&mut self, id: u32, x: &mut Load, ev: Ev) -> Step {
        match ev {
            Ev::Start => {
                let url = self.endpoints().and_then(|e| if x.profile { e.account().ok_or(Fail::Core(CoreError::UserProfileInOidcMode)) } else { e.userinfo().map_err(Fail::from) });
                let url = match url {
                    Ok(u) => u,
                    Err(e) => return Step::Done(Err(e)),
                };
                let Some(token) = self.sess.access.as_ref().map(|t| t.raw.clone()) else {
                    return Step::Done(Err(CoreError::NoTokenForHeader.into()));
                };
                self.fetch(id, &url, None, Some(&token), false);
                Step::Wait
            }
            Ev::Http { status, h, .. } => {
                if !(200..300).contains(&status) {
                    return Step::Done(Err(http_fail(status, h)));
                }
                let prop = if x.profile { "profile" } else { "userInfo" };
                self.set(|m| {
                    m.w.str(prop);
                    m.handle_v(h);
                });
                Step::Done(Ok(Out::H(h)))
            }
            e => {
                self.lost(e);
                Step::Wait
            }
        }
    }
}
