//! Tokens: decoding (all three before anything changes), `#setToken`, `updateToken`
//! with its one shared refresh, `clearToken`, and the processing of a login callback
//! (reference §2.6-§2.13).

use super::{Ev, Fail, Machine, Out, Parent, Res, Step, AUTO, K, EXPIRY};
use crate::core::callback::{Flow, OAuthParams};
use crate::core::encode::form_urlencode;
use crate::core::error::CoreError;
use crate::core::options::EXTRAS;
use crate::core::json::{self, Val};
use crate::core::jwt;
use crate::core::session::{midpoint, Claims, Refresh as Decision, Token};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

/// A decoded token: the text, the claims the machine reads, and for a JWT the payload's
/// JSON text (which the driver parses into `*Parsed`).
#[derive(Debug, Clone)]
pub(crate) struct Tok {
    pub token: Token,
    pub payload: Option<String>,
}

fn claims_of(payload: &str) -> Result<Claims, CoreError> {
    let v = json::parse(payload).ok_or(CoreError::TokenPayloadNotJson)?;
    let s = |k: &str| v.get(k).and_then(|x| x.str().map(String::from));
    let n = |k: &str| v.get(k).and_then(|x| x.num());
    Ok(Claims { exp: n("exp"), iat: n("iat"), sid: s("sid"), sub: s("sub"), nonce: s("nonce") })
}

/// Decodes a JWT as keycloak-js does (same errors, same order of checks).
pub(crate) fn decode(raw: &str) -> Result<Tok, CoreError> {
    let payload = jwt::decode_payload(raw)?;
    let claims = claims_of(&payload)?;
    Ok(Tok { token: Token { raw: String::from(raw), claims }, payload: Some(payload) })
}

/// The three tokens of a response, in keycloak-js's decoding order (refresh, ID,
/// access: the first bad one is reported). A generic provider may issue opaque access
/// and refresh tokens: those are kept as they are (claims from the ID token and
/// `expires_in`).
pub(crate) type Set3 = [Option<Tok>; 3];

impl Machine {
    pub(crate) fn decode_set(&self, access: Option<&str>, refresh: Option<&str>, id: Option<&str>, expires_in: Option<f64>) -> Result<Set3, CoreError> {
        let opaque_ok = self.opaque_ok();
        let one = |raw: Option<&str>, claims: &dyn Fn() -> Claims| -> Result<Option<Tok>, CoreError> {
            let Some(raw) = raw.filter(|r| !r.is_empty()) else { return Ok(None) };
            match decode(raw) {
                Err(_) if opaque_ok => Ok(Some(Tok { token: Token { raw: String::from(raw), claims: claims() }, payload: None })),
                r => r.map(Some),
            }
        };
        let refresh = one(refresh, &Claims::default)?;
        let id = match id.filter(|r| !r.is_empty()) {
            Some(raw) => Some(decode(raw)?),
            None => None,
        };
        let now = self.now;
        let id_claims = id.as_ref().map(|t| t.token.claims.clone());
        let access = one(access, &|| Claims::for_opaque_access(id_claims.as_ref(), expires_in, now))?;
        self.dpop_check(access.as_ref().and_then(|t| t.payload.as_deref()))?;
        Ok([access, refresh, id])
    }

    /// The token fields of a token-endpoint response (JSON text).
    pub(crate) fn decode_response(&self, text: &str) -> Result<Set3, CoreError> {
        let v = json::parse(text).unwrap_or(Val::Null);
        let f = |k: &str| v.get(k).and_then(|x| x.str().map(String::from));
        let expires = v.get("expires_in").and_then(|x| x.num());
        self.decode_set(f("access_token").as_deref(), f("refresh_token").as_deref(), f("id_token").as_deref(), expires)
    }

    /// `#setToken(token, refreshToken, idToken, timeLocal)`. Returns `true` when it called
    /// `onTokenExpired` at once (the token had already expired): the caller yields.
    pub(crate) fn set_token(&mut self, task: u32, set: Set3, time_local: Option<f64>) -> bool {
        let [access, refresh, id] = set;
        let had_timer = self.timers.iter().any(|t| t.1 == EXPIRY);
        self.disarm(EXPIRY);
        let handler = core::mem::take(&mut self.expiry_handler);
        self.drop_h(handler);
        let pay = |t: &Option<Tok>| t.as_ref().map(|t| (t.token.raw.clone(), t.payload.clone()));
        // `dpop`: whether the access token is bound (to our key: decode_set checked).
        self.dpop_bound = self.s.dpop() && access.as_ref().and_then(|t| t.payload.as_deref()).and_then(json::parse).is_some_and(|v| v.get("cnf").is_some());
        let (a, r, i) = (pay(&access), pay(&refresh), pay(&id));
        let lifetime = access.as_ref().and_then(|t| Some(t.token.claims.exp? - t.token.claims.iat?));
        let expires_in = self.sess.set_tokens(access.map(|t| t.token), refresh.map(|t| t.token), id.map(|t| t.token), time_local, self.now);
        // Tokens from anywhere but a shared refresh are this tab's own (`syncTabs`).
        self.tab_gen = 0.0;
        self.tab_time = time_local.unwrap_or(0.0);
        if self.sess.session_id.is_some() {
            self.tabs_open();
        }
        self.persist();
        self.hint_write(true);
        self.auto_arm(expires_in, lifetime);
        let skew = self.sess.time_skew;
        let computed = time_local.is_some_and(|t| t != 0.0);
        self.set(|m| {
            if had_timer {
                m.set_str("tokenTimeoutHandle", None);
            }
            m.token_pair("refreshToken", "refreshTokenParsed", &r);
            m.token_pair("idToken", "idTokenParsed", &i);
            match &a {
                Some((raw, payload)) => {
                    m.w.str("token");
                    m.w.str(raw);
                    m.w.str("tokenParsed");
                    m.parsed(payload);
                    // An opaque access token (generic OIDC): the ID token says who and which session.
                    let src = match (payload, &i) {
                        (Some(_), _) => Some("tokenParsed"),
                        (None, Some((_, Some(_)))) => Some("idTokenParsed"),
                        _ => None,
                    };
                    for (prop, claim) in [("sessionId", "sid"), ("authenticated", ""), ("subject", "sub"), ("realmAccess", "realm_access"), ("resourceAccess", "resource_access")] {
                        m.w.str(prop);
                        match (claim, src) {
                            ("", _) => m.w.bool(true),
                            (c, Some(src)) => {
                                m.w.open();
                                m.w.int(5);
                                m.w.str(src);
                                m.w.str(c);
                                m.w.close();
                            }
                            _ => m.undefined(),
                        }
                    }
                    if computed {
                        m.w.str("timeSkew");
                        match skew {
                            Some(s) => m.w.num(s),
                            None => m.w.null(),
                        }
                    }
                }
                None => {
                    for k in ["token", "tokenParsed", "subject", "realmAccess", "resourceAccess"] {
                        m.w.str(k);
                        m.w.raw("[3]");
                    }
                    m.w.str("authenticated");
                    m.w.bool(false);
                }
            }
        });
        let (Some(skew), Some(ms)) = (skew.filter(|_| a.is_some()), expires_in) else { return false };
        self.log(false, |w| {
            w.str("[KEYCLOAK] Estimated time difference between browser and server is ");
            w.num(skew);
            w.str(" seconds");
        });
        if !self.on_expired {
            return false;
        }
        self.log(false, |w| {
            w.str("[KEYCLOAK] Token expires in ");
            w.num(crate::core::math::round(ms / 1000.0));
            w.str(" s");
        });
        if ms <= 0.0 {
            self.emit(task, "onTokenExpired", true, |_| {});
            return true;
        }
        // `setTimeout(f, NaN)` runs at once: an `exp` that is not a number expires now.
        self.arm(EXPIRY, if ms.is_nan() { 0.0 } else { ms });
        // keycloak-js hands the function itself to setTimeout: a handler the app assigns
        // later does not replace it for this token.
        let slot = self.next_id();
        self.expiry_handler = -(slot as i64);
        self.fx("memo");
        self.w.num(-(slot as f64));
        self.w.raw("[5,\"onTokenExpired\"]");
        self.end();
        self.set(|m| {
            m.w.str("tokenTimeoutHandle");
            m.w.int(slot as u64);
        });
        false
    }

    fn token_pair(&mut self, name: &str, parsed: &str, t: &Option<(String, Option<String>)>) {
        self.w.str(name);
        match t {
            Some((raw, _)) => self.w.str(raw),
            None => self.w.raw("[3]"),
        }
        self.w.str(parsed);
        match t {
            Some((_, p)) => self.parsed(p),
            None => self.w.raw("[3]"),
        }
    }

    /// `JSON.parse(payload)` in the driver, or `undefined` for an opaque token.
    fn parsed(&mut self, payload: &Option<String>) {
        match payload {
            Some(p) => {
                self.w.open();
                self.w.int(4);
                self.w.str(p);
                self.w.close();
            }
            None => self.undefined(),
        }
    }

    /// The `onTokenExpired` timer fired (`setTimeout(this.onTokenExpired, ms)`: unbound).
    // ---- autoRefresh (ours) --------------------------------------------------------------

    /// Arms the automatic refresh for new tokens: `minValidity` seconds before the access
    /// token expires (at most half its lifetime, so short tokens do not refresh at once),
    /// less up to 2 s of jitter so that pages opened together do not refresh together.
    fn auto_arm(&mut self, expires_in: Option<f64>, lifetime: Option<f64>) {
        self.disarm(AUTO);
        self.auto_due = false;
        self.auto_failures = 0;
        self.auto_told = false;
        let (Some(lead), Some(ms), Some(life)) = (self.s.auto_refresh(), expires_in, lifetime) else { return };
        if self.sess.refresh.is_none() || !ms.is_finite() || !life.is_finite() {
            return;
        }
        let lead = (lead * 1000.0).min(life * 500.0);
        let jitter = self.rand.map_or(0.0, |r| r[127] as f64 / 255.0) * lead.min(8000.0) / 4.0;
        // Whole milliseconds, as the driver's clock counts.
        self.arm(AUTO, crate::core::math::floor((ms - lead - jitter).max(0.0)));
        if !self.watching {
            self.watching = true;
            self.fx("watch");
            self.end();
        }
    }

    /// Whether a failed refresh that only `autoRefresh` waits for stays quiet: while the
    /// access token still works, and after the one `onAuthRefreshError` for its expiry.
    fn auto_quiet(&mut self, waiters: &[u32]) -> bool {
        let auto = |w: &u32| {
            let parent = self.tasks.iter().find(|t| t.id == *w).map(|t| t.parent);
            matches!(parent, Some(Parent::Task(p)) if self.tasks.iter().any(|t| t.id == p && matches!(t.k, K::Auto)))
        };
        if waiters.is_empty() || !waiters.iter().all(auto) {
            return false;
        }
        if self.auto_told || self.sess.is_token_expired(None, self.now, self.s.flow) == Ok(Some(false)) {
            return true;
        }
        self.auto_told = true;
        false
    }

    /// The automatic refresh is due: now, or when the page shows again.
    pub(crate) fn auto_fire(&mut self) {
        if self.sess.refresh.is_none() {
            return;
        }
        if self.hidden {
            self.auto_due = true;
            return;
        }
        self.spawn(Parent::Detached, K::Auto);
    }

    /// The page became visible or the browser went online: catch up on a refresh that
    /// came due meanwhile (or whose timer the browser held back).
    pub(crate) fn auto_wake(&mut self) {
        let late = self.timers.iter().any(|t| t.1 == AUTO && t.0 <= self.now);
        if !self.hidden && (self.auto_due || late) {
            self.disarm(AUTO);
            self.auto_due = false;
            self.auto_fire();
        }
    }

    #[inline(never)]
    pub(crate) fn auto_step(&mut self, id: u32, ev: Ev) -> Step {
        match ev {
            Ev::Start => {
                self.spawn(Parent::Task(id), K::Update(Update { min_validity: Some(-1.0), joined: false }));
                Step::Wait
            }
            Ev::Child(_, r) => {
                if r.is_err() && self.sess.refresh.is_some() && !self.timers.iter().any(|t| t.1 == AUTO) {
                    // A 5xx, a network error or a timeout: again after 2, 4, 8 ... 60 s.
                    self.auto_failures += 1;
                    self.arm(AUTO, (1000.0 * (1u32 << self.auto_failures.min(6)) as f64).min(60_000.0));
                }
                self.release(&r);
                Step::Done(Ok(Out::Undefined))
            }
            e => {
                self.lose(e);
                Step::Wait
            }
        }
    }

    pub(crate) fn token_expired(&mut self) {
        let id = self.spawn_idle(Parent::Detached, K::Notify);
        let handler = core::mem::take(&mut self.expiry_handler);
        self.emit_fn(id, handler);
        self.drop_h(handler);
    }

    /// A task that waits for something its creator sets up (not started).
    pub(crate) fn spawn_idle(&mut self, parent: Parent, k: K) -> u32 {
        let id = self.next_id();
        self.tasks.push(super::Task { id, parent, k });
        id
    }

    // ---- clearToken ----------------------------------------------------------------

    #[inline(never)]
    pub(crate) fn clear_step(&mut self, id: u32, stage: &mut u8, ev: Ev) -> Step {
        match (*stage, ev) {
            (0 | super::tabs::QUIET, Ev::Start) => {
                if !self.sess.authenticated() {
                    return Step::Done(Ok(Out::Undefined));
                }
                if *stage == 0 {
                    self.tabs_out();
                }
                self.set_token(id, [None, None, None], None);
                *stage = 1;
                self.emit(id, "onAuthLogout", true, |_| {});
                Step::Wait
            }
            (1, Ev::Resumed(err)) => {
                if err != 0 {
                    return Step::Done(Err(Fail::H(err)));
                }
                if self.s.login_required {
                    self.start_login(Parent::Detached, None, false);
                }
                Step::Done(Ok(Out::Undefined))
            }
            e => {
                self.lose(e);
                Step::Wait
            }
        }
    }

    // ---- updateToken ----------------------------------------------------------------

    #[inline(never)]
    pub(crate) fn update_step(&mut self, id: u32, u: &mut Update, ev: Ev) -> Step {
        match ev {
            Ev::Start => {
                if self.sess.refresh.is_none() {
                    return Step::Done(Err(CoreError::NoRefreshToken.into()));
                }
                if self.s.check_login_iframe && self.check_frame(id) {
                    return Step::Wait;
                }
                self.decide(id, u)
            }
            Ev::Child(child, r) if child == self.refreshing || u.joined => match r {
                r if u.joined => Step::Done(r),
                Err(e) => Step::Done(Err(e)),
                Ok(_) => self.decide(id, u),
            },
            Ev::Child(_, Err(e)) => Step::Done(Err(e)),
            Ev::Child(_, r) => {
                self.release(&r);
                self.decide(id, u)
            }
            e => {
                self.lose(e);
                Step::Wait
            }
        }
    }

    fn decide(&mut self, id: u32, u: &mut Update) -> Step {
        match self.sess.refresh_decision(u.min_validity, self.now, self.s.flow) {
            Err(e) => return Step::Done(Err(e.into())),
            Ok(Decision::NotNeeded) => return Step::Done(Ok(Out::Bool(false))),
            Ok(Decision::Forced) => self.info("[KEYCLOAK] Refreshing token: forced refresh"),
            Ok(Decision::Expired) => self.info("[KEYCLOAK] Refreshing token: token expired"),
        }
        u.joined = true;
        match self.tasks.iter_mut().find(|t| t.id == self.refreshing) {
            Some(super::Task { k: K::Refresh(r), .. }) => r.waiters.push(id),
            _ => {
                let r = Box::new(Refresh { waiters: alloc::vec![id], started: 0.0, stage: 0, err: None, pending: None, lease: Default::default() });
                self.refreshing = self.spawn(Parent::Detached, K::Refresh(r));
            }
        }
        Step::Wait
    }

    #[inline(never)]
    pub(crate) fn refresh_step(&mut self, id: u32, r: &mut Refresh, ev: Ev) -> Step {
        match (r.stage, ev) {
            (0, Ev::Start) => {
                r.started = self.now;
                if self.tabs_on() {
                    r.stage = 20;
                    self.lease_start(id, &mut r.lease);
                    return Step::Wait;
                }
                self.refresh_fetch(id, r)
            }
            (20, ev) if EXTRAS => match self.lease_step(id, &mut r.lease, ev) {
                None => Step::Wait,
                Some(true) => {
                    r.started = self.now;
                    self.refresh_fetch(id, r)
                }
                // A sibling tab's refresh answered this one.
                Some(false) => {
                    self.refreshing = 0;
                    let waiters = lifo(&mut r.waiters);
                    self.share(id, waiters, Ok(Out::Bool(true)));
                    Step::Done(Ok(Out::Undefined))
                }
            },
            (1, Ev::Http { status, text, h }) => {
                if !(200..300).contains(&status) {
                    return self.refresh_failed(id, r, http_fail(status, h));
                }
                self.drop_h(h);
                self.info("[KEYCLOAK] Token refreshed");
                match self.decode_response(text.as_deref().unwrap_or("")) {
                    Err(e) => self.refresh_failed(id, r, e.into()),
                    Ok(set) => {
                        if self.verify_set(id, &set, true) != 0 {
                            r.pending = Some(set);
                            r.stage = 6;
                            return Step::Wait;
                        }
                        self.refreshed(id, r, set)
                    }
                }
            }
            (6, Ev::Child(_, res)) if EXTRAS => match (res, r.pending.take()) {
                (Ok(_), Some(set)) => self.refreshed(id, r, set),
                (Err(e), _) => self.refresh_failed(id, r, e),
                (Ok(_), None) => self.refresh_failed(id, r, CoreError::TokenSignature.into()),
            },
            (2, Ev::Resumed(err)) if err != 0 => self.refresh_failed(id, r, Fail::H(err)),
            (2, Ev::Resumed(_)) => {
                r.stage = 3;
                self.emit(id, "onAuthRefreshSuccess", true, |_| {});
                Step::Wait
            }
            (3, Ev::Resumed(err)) if err != 0 => self.refresh_failed(id, r, Fail::H(err)),
            (3, Ev::Resumed(_)) => {
                self.refreshing = 0;
                let waiters = lifo(&mut r.waiters);
                self.share(id, waiters, Ok(Out::Bool(true)));
                Step::Done(Ok(Out::Undefined))
            }
            (4, Ev::Child(_, res)) => {
                self.report(res);
                r.stage = 5;
                self.emit(id, "onAuthRefreshError", true, |_| {});
                Step::Wait
            }
            (5, Ev::Resumed(err)) => {
                self.report(if err != 0 { Err(Fail::H(err)) } else { Ok(Out::Undefined) });
                self.refreshing = 0;
                let waiters = lifo(&mut r.waiters);
                let e = r.err.take().unwrap_or(Fail::Core(CoreError::NoRefreshToken));
                self.share(id, waiters, Err(e));
                Step::Done(Ok(Out::Undefined))
            }
            e => {
                self.lose(e);
                Step::Wait
            }
        }
    }

    fn refresh_fetch(&mut self, id: u32, r: &mut Refresh) -> Step {
        r.stage = 1;
        let url = self.endpoints().map(|e| e.token()).unwrap_or_default();
        let refresh = self.sess.refresh.as_ref().map(|t| t.raw.clone()).unwrap_or_default();
        let form = form_urlencode(&[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", &self.client_id.clone())]);
        let credentials = !self.opaque_ok();
        self.fetch(id, &url, Some(&form), None, credentials);
        Step::Wait
    }

    /// The refresh's new tokens are in: set them, then `onAuthRefreshSuccess`.
    fn refreshed(&mut self, id: u32, r: &mut Refresh, set: Set3) -> Step {
        let t = midpoint(r.started, self.now);
        let expired_now = self.set_token(id, set, Some(t));
        self.lease_refreshed(&mut r.lease);
        if expired_now {
            r.stage = 2;
            return Step::Wait;
        }
        r.stage = 3;
        self.emit(id, "onAuthRefreshSuccess", true, |_| {});
        Step::Wait
    }

    /// Starts verifying the JWT access and ID tokens of `set` (`verifyTokens`): the
    /// verifying task, or 0 when there is nothing to wait for.
    pub(crate) fn verify_set(&mut self, id: u32, set: &Set3, fresh: bool) -> u32 {
        if !self.s.verify_tokens() {
            return 0;
        }
        let raw = |t: &Option<Tok>| t.as_ref().filter(|t| t.payload.is_some()).map(|t| t.token.raw.clone());
        let (access, id_token) = (raw(&set[0]), raw(&set[2]));
        self.start_verify(id, [access.as_deref(), id_token.as_deref()], fresh).unwrap_or(0)
    }

    fn refresh_failed(&mut self, id: u32, r: &mut Refresh, e: Fail) -> Step {
        self.log(true, |w| w.str("[KEYCLOAK] Failed to refresh token"));
        let clear = matches!(e, Fail::Net { status: 400, .. });
        r.err = Some(e);
        let g = r.lease.g;
        self.lease_free(&mut r.lease, g);
        if clear {
            r.stage = 4;
            self.spawn(Parent::Task(id), K::Clear { stage: 0 });
        } else if self.auto_quiet(&r.waiters) {
            // Only `autoRefresh` waits, and the token still works: it tries again later, and
            // `onAuthRefreshError` waits until the token has run out.
            self.refreshing = 0;
            let waiters = lifo(&mut r.waiters);
            let e = r.err.take().unwrap_or(Fail::Core(CoreError::NoRefreshToken));
            self.share(id, waiters, Err(e));
            return Step::Done(Ok(Out::Undefined));
        } else {
            r.stage = 5;
            self.emit(id, "onAuthRefreshError", true, |_| {});
        }
        Step::Wait
    }

    /// An exception from an app callback that has nowhere else to go: reported as
    /// uncaught (keycloak-js would throw it out of an event handler).
    pub(crate) fn report(&mut self, r: Res) {
        match r {
            Err(Fail::H(h)) => {
                self.fx("report");
                self.w.num(h as f64);
                self.end();
                self.drop_h(h);
            }
            r => self.release(&r),
        }
    }

    // ---- the login callback --------------------------------------------------------

    /// `#processCallback`: `record` is the stored callback state (JSON).
    pub(crate) fn process_callback(&mut self, parent: Parent, params: OAuthParams, record: String) -> u32 {
        let cb = Box::new(Callback { params, record, started: 0.0, stage: 0, err: None, pending: None, exchange: false });
        self.spawn(parent, K::Callback(cb))
    }

    #[inline(never)]
    pub(crate) fn callback_step(&mut self, id: u32, c: &mut Callback, ev: Ev) -> Step {
        let mut ev = Some(ev);
        loop {
            let e = ev.take();
            match (c.stage, e) {
                (0, Some(Ev::Start)) => {
                    c.started = self.now;
                    // Deliberate difference: keycloak-js strips `iss` unchecked. A mismatch means
                    // the response may come from another server (mix-up): nothing in it is used.
                    if let Err(e) = self.endpoints().and_then(|ep| ep.check_callback_issuer(c.params.raw("iss")).map_err(Fail::from)) {
                        c.err = Some(e);
                        c.stage = 99;
                        self.emit(id, "onAuthError", true, |_| {});
                        return Step::Wait;
                    }
                    c.stage = 2;
                    if let Some(status) = c.params.get("kc_action_status") {
                        let status = String::from(status);
                        let action = c.params.get("kc_action").map(String::from);
                        self.emit(id, "onActionUpdate", true, |m| {
                            m.w.str(&status);
                            m.set_value_str(action.as_deref());
                        });
                        return Step::Wait;
                    }
                }
                (2, e) => {
                    if let Some(Ev::Resumed(err)) = e {
                        if err != 0 {
                            return Step::Done(Err(Fail::H(err)));
                        }
                    }
                    let record = json::parse(&c.record).unwrap_or(Val::Null);
                    if let Some(error) = c.params.get("error") {
                        if record.get("prompt").as_ref().and_then(|p| p.str()) == Some("none") {
                            return Step::Done(Ok(Out::Undefined));
                        }
                        let description = c.params.raw("error_description").map(String::from);
                        if description.as_deref() == Some("authentication_expired") {
                            c.stage = 3;
                            let options = record.get("loginOptions").map(|o| o.raw());
                            self.start_login(Parent::Task(id), options, false);
                            return Step::Wait;
                        }
                        self.oauth = (String::from(error), description);
                        c.err = Some(Fail::OAuth);
                        c.stage = 99;
                        self.emit(id, "onAuthError", true, |m| m.value(&Err(Fail::OAuth)));
                        return Step::Wait;
                    }
                    let has_tokens = c.params.get("access_token").is_some() || c.params.get("id_token").is_some();
                    if self.s.flow != Flow::Standard && has_tokens {
                        let set = self.decode_set(c.params.get("access_token"), None, c.params.get("id_token"), None);
                        c.exchange = false;
                        match self.auth_success(id, c, set) {
                            Some(s) => return s,
                            None => continue,
                        }
                    }
                    c.stage = 20;
                    continue;
                }
                (3, Some(Ev::Child(_, r))) => return Step::Done(r.map(|_| Out::Undefined)),
                (30, Some(Ev::Child(_, r))) => match (r, c.pending.take()) {
                    (Ok(_), Some(set)) => match self.auth_commit(id, c, set) {
                        Some(s) => return s,
                        None => continue,
                    },
                    (Err(e), _) => return self.callback_failed(id, c, e),
                    (Ok(_), None) => return self.callback_failed(id, c, CoreError::TokenSignature.into()),
                },
                // auth success: after setToken's onTokenExpired, then the nonce check
                (10, Some(Ev::Resumed(err))) => {
                    if err != 0 {
                        return self.callback_failed(id, c, Fail::H(err));
                    }
                    match self.nonce_check(id, c) {
                        Some(s) => return s,
                        None => continue,
                    }
                }
                (11, Some(Ev::Child(_, r))) => {
                    self.report(r);
                    return self.callback_failed(id, c, CoreError::InvalidNonce.into());
                }
                // authenticated: onAuthSuccess (URL tokens always; a code exchange in the standard flow)
                (12, None) => {
                    if c.exchange && self.s.flow != Flow::Standard {
                        return self.exchange_done(c);
                    }
                    c.stage = 13;
                    self.emit(id, "onAuthSuccess", true, |_| {});
                    return Step::Wait;
                }
                (13, Some(Ev::Resumed(err))) => {
                    if err != 0 {
                        return self.callback_failed(id, c, Fail::H(err));
                    }
                    if c.exchange {
                        return self.exchange_done(c);
                    }
                    c.stage = 20;
                }
                (20, _) => {
                    let Some(code) = c.params.get("code").filter(|_| self.s.flow != Flow::Implicit).map(String::from) else {
                        return Step::Done(Ok(Out::Undefined));
                    };
                    let record = json::parse(&c.record).unwrap_or(Val::Null);
                    let redirect = record.get("redirectUri").as_ref().and_then(|v| v.str().map(String::from)).unwrap_or_default();
                    let verifier = json::text_of(&record.get("pkceCodeVerifier"));
                    let client = self.client_id.clone();
                    let mut pairs = alloc::vec![("code", code.as_str()), ("grant_type", "authorization_code"), ("client_id", client.as_str()), ("redirect_uri", redirect.as_str())];
                    if let Some(v) = &verifier {
                        pairs.push(("code_verifier", v));
                    }
                    let form = form_urlencode(&pairs);
                    let url = match self.endpoints() {
                        Ok(e) => e.token(),
                        Err(e) => return Step::Done(Err(e)),
                    };
                    c.stage = 21;
                    c.exchange = true;
                    let credentials = !self.opaque_ok();
                    self.fetch(id, &url, Some(&form), None, credentials);
                    return Step::Wait;
                }
                (21, Some(Ev::Http { status, text, h })) => {
                    if !(200..300).contains(&status) {
                        return self.callback_failed(id, c, http_fail(status, h));
                    }
                    self.drop_h(h);
                    let set = self.decode_response(text.as_deref().unwrap_or(""));
                    match self.auth_success(id, c, set) {
                        Some(s) => return s,
                        None => continue,
                    }
                }
                (99, Some(Ev::Resumed(err))) => {
                    let e = c.err.take().unwrap_or(Fail::Core(CoreError::InvalidNonce));
                    if err != 0 {
                        self.release(&Err(e));
                        return Step::Done(Err(Fail::H(err)));
                    }
                    return Step::Done(Err(e));
                }
                (_, Some(e)) => {
                    // Not what this stage waits for.
                    self.lost(e);
                    return Step::Wait;
                }
                (_, None) => return Step::Wait,
            }
        }
    }

    /// `authSuccess`: the tokens, then the nonce check. `None`: go on at `c.stage`.
    fn auth_success(&mut self, id: u32, c: &mut Callback, set: Result<Set3, CoreError>) -> Option<Step> {
        let set = match set {
            Ok(s) => s,
            Err(e) => return Some(self.callback_failed(id, c, e.into())),
        };
        if self.verify_set(id, &set, true) != 0 {
            c.pending = Some(set);
            c.stage = 30;
            return Some(Step::Wait);
        }
        self.auth_commit(id, c, set)
    }

    /// The tokens (verified if asked), then the nonce check.
    fn auth_commit(&mut self, id: u32, c: &mut Callback, set: Set3) -> Option<Step> {
        let t = midpoint(c.started, self.now);
        if self.set_token(id, set, Some(t)) {
            c.stage = 10;
            return Some(Step::Wait);
        }
        self.nonce_check(id, c)
    }

    fn nonce_check(&mut self, id: u32, c: &mut Callback) -> Option<Step> {
        let record = json::parse(&c.record).unwrap_or(Val::Null);
        let nonce = record.get("nonce").and_then(|v| v.str().map(String::from));
        if !self.sess.nonce_matches(self.s.use_nonce, nonce.as_deref()) {
            self.info("[KEYCLOAK] Invalid nonce, clearing token");
            c.stage = 11;
            self.spawn(Parent::Task(id), K::Clear { stage: 0 });
            return Some(Step::Wait);
        }
        c.stage = 12;
        None
    }

    fn exchange_done(&mut self, _c: &mut Callback) -> Step {
        Step::Done(Ok(Out::Undefined))
    }

    /// A failure: in the code exchange keycloak-js calls `onAuthError()` first.
    fn callback_failed(&mut self, id: u32, c: &mut Callback, e: Fail) -> Step {
        if !c.exchange {
            return Step::Done(Err(e));
        }
        c.err = Some(e);
        c.stage = 99;
        self.emit(id, "onAuthError", true, |_| {});
        Step::Wait
    }

    /// Writes a string or `undefined` as a value.
    pub(crate) fn set_value_str(&mut self, v: Option<&str>) {
        match v {
            Some(s) => self.w.str(s),
            None => self.undefined(),
        }
    }
}

/// A failed request as the app sees it: a non-2xx status is a `NetworkError` holding the
/// `Response`; anything thrown (network, timeout, a body that is not JSON) passes through.
pub(crate) fn http_fail(status: u16, h: i64) -> Fail {
    if status == 0 {
        Fail::H(h)
    } else {
        Fail::Net { status, response: h }
    }
}

/// keycloak-js settles queued callers newest first.
fn lifo(v: &mut Vec<u32>) -> Vec<u32> {
    let mut all = core::mem::take(v);
    all.reverse();
    all
}

pub(crate) struct Update {
    pub min_validity: Option<f64>,
    /// Waiting for the shared refresh (not for the status-iframe check).
    pub joined: bool,
}

pub(crate) struct Refresh {
    pub waiters: Vec<u32>,
    started: f64,
    stage: u8,
    err: Option<Fail>,
    /// The new tokens while they are verified (`verifyTokens`).
    pending: Option<Set3>,
    /// Its turn among the tabs (`syncTabs`).
    lease: super::tabs::Lease,
}

impl Refresh {
    pub(crate) fn held(self) -> Vec<Res> {
        self.err.map(Err).into_iter().collect()
    }
}

impl Callback {
    pub(crate) fn held(self) -> Vec<Res> {
        self.err.map(Err).into_iter().collect()
    }
}

pub(crate) struct Callback {
    pub params: OAuthParams,
    pub record: String,
    started: f64,
    stage: u8,
    err: Option<Fail>,
    /// The tokens while they are verified (`verifyTokens`).
    pending: Option<Set3>,
    /// In the code exchange (its failures call `onAuthError()` first).
    exchange: bool,
}
