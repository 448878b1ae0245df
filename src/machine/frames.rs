//! The hidden iframes (reference §3-§5): the third-party-cookie probe, the session
//! status iframe (its load, batched checks, replies and polling) and silent check-sso.
//! Every wait is bounded: `messageReceiveTimeout` for the probe and the status iframe,
//! `silentCheckSsoTimeout` for silent check-sso (keycloak-js waits forever for the last
//! three).

use super::{Ev, Machine, Out, Parent, Res, Step, StatusFrame, K, STATUS_REPLY};
use crate::core::callback::{parse_callback_url, Flow, OAuthParams};
use crate::core::error::CoreError;
use crate::core::iframe::{needs_probe, origin_of, parse_probe, session_message, third_party_cookies_blocked, SessionStatus, THIRD_PARTY_COOKIES_WARNING, TITLE_3P, TITLE_SESSION, TITLE_SILENT};
use crate::core::json::Writer;
use alloc::string::String;

pub(crate) struct Poll {
    checking: bool,
}

pub(crate) struct Silent {
    stage: u8,
    frame: u32,
    params: Option<OAuthParams>,
    /// Started ahead of keycloak-js's order: the answer is held (stage 5) until `Ev::Go`.
    gated: bool,
    /// The state of the stored callback record while it is ours to remove.
    state: String,
    record: Option<String>,
}

impl Silent {
    /// A cancelled check leaves no callback record behind.
    pub(crate) fn stored_state(self) -> String {
        if self.stage == 2 {
            self.state
        } else {
            String::new()
        }
    }
}

impl Machine {
    /// `#check3pCookiesSupported()`: bounded by `messageReceiveTimeout`; unlike
    /// keycloak-js, the probe iframe is removed on timeout too.
    #[inline(never)]
    pub(crate) fn probe_step(&mut self, id: u32, ev: Ev) -> Step {
        match ev {
            Ev::Start => {
                let src = self.ep.as_ref().and_then(|e| e.third_party_cookies_iframe()).filter(|_| needs_probe(&self.s, true));
                let Some(src) = src else { return Step::Done(Ok(Out::Bool(true))) };
                self.frame(id, &src, TITLE_3P);
                self.arm(id, self.s.message_receive_timeout);
                Step::Wait
            }
            // The probe page posts to '*': only the source frame is checked, not the origin.
            Ev::Msg { data, .. } => match data.and_then(parse_probe) {
                None => Step::Wait,
                Some(supported) => {
                    if !supported {
                        self.log(true, |w| w.str(THIRD_PARTY_COOKIES_WARNING));
                        third_party_cookies_blocked(&mut self.s);
                        if self.s.silent_check_sso_redirect_uri.is_none() {
                            self.set(|m| m.set_str("silentCheckSsoRedirectUri", None));
                        }
                    }
                    Step::Done(Ok(Out::Bool(supported)))
                }
            },
            Ev::Timer => Step::Done(Err(CoreError::ProbeTimeout.into())),
            e => {
                self.lose(e);
                Step::Wait
            }
        }
    }

    /// `#setupCheckLoginIframe()`: once per instance. keycloak-js waits for the iframe's
    /// `load` without bound; here it is `messageReceiveTimeout`.
    #[inline(never)]
    pub(crate) fn frame_setup_step(&mut self, id: u32, ev: Ev) -> Step {
        match ev {
            Ev::Start => {
                if !self.s.check_login_iframe || self.sf.is_some() {
                    return Step::Done(Ok(Out::Undefined));
                }
                let ep = match self.endpoints() {
                    Ok(e) => e,
                    Err(e) => return Step::Done(Err(e)),
                };
                // A generic provider without `check_session_iframe`: no status iframe
                // (keycloak-js rejects `init` with "Not supported by the OIDC server").
                let Ok(src) = ep.check_session_iframe() else {
                    self.s.check_login_iframe = false;
                    return Step::Done(Ok(Out::Undefined));
                };
                // The origin of the authorize endpoint, as keycloak-js does (not the iframe's).
                let origin = origin_of(&ep.authorize()).map(String::from).unwrap_or_else(|| self.page_origin());
                let frame = self.frame(id, &src, TITLE_SESSION);
                self.sf = Some(StatusFrame { frame, origin, ready: false });
                self.arm(id, self.s.message_receive_timeout);
                Step::Wait
            }
            Ev::Load => {
                if let Some(f) = self.sf.as_mut() {
                    f.ready = true;
                    let frame = f.frame;
                    // The frame outlives this task.
                    self.unsubscribe(frame);
                }
                Step::Done(Ok(Out::Undefined))
            }
            Ev::Timer => {
                self.sf = None;
                Step::Done(Err(CoreError::SessionIframeLoadTimeout.into()))
            }
            e => {
                self.lose(e);
                Step::Wait
            }
        }
    }

    /// `#checkLoginIframe()`: `false` when there is no ready status iframe (the caller goes
    /// on at once); otherwise `task` will get a `Child` with `Bool(unchanged)` or an
    /// error. Concurrent checks share one message; the answer is bounded.
    pub(crate) fn check_frame(&mut self, task: u32) -> bool {
        let Some(f) = self.sf.as_ref().filter(|f| f.ready) else { return false };
        let (frame, origin) = (f.frame, f.origin.clone());
        self.sf_checks.push(task);
        if self.sf_checks.len() == 1 {
            let message = session_message(&self.client_id, self.sess.session_id.as_deref());
            self.fx("post");
            self.w.int(task as u64);
            self.w.int(frame as u64);
            self.w.str(&message);
            self.w.str(&origin);
            self.end();
            self.arm(STATUS_REPLY, self.s.message_receive_timeout);
        }
        true
    }

    /// A message from the status iframe's window.
    pub(crate) fn status_message(&mut self, origin: &str, data: Option<&str>) {
        let Some(f) = self.sf.as_ref() else { return };
        if !f.ready || f.origin != origin {
            return;
        }
        let Some(status) = data.and_then(SessionStatus::parse) else { return };
        let k = K::StatusReply { unchanged: status == SessionStatus::Unchanged, error: status == SessionStatus::Error, stage: 0 };
        self.spawn(Parent::Detached, k);
    }

    /// An answer: `changed` and `error` clear the tokens (keycloak-js quirk 2), then every
    /// pending check settles, newest first.
    #[inline(never)]
    pub(crate) fn status_reply_step(&mut self, id: u32, unchanged: bool, error: bool, stage: &mut u8, ev: Ev) -> Step {
        match (*stage, ev) {
            (0, Ev::Start) if !unchanged => {
                *stage = 1;
                self.spawn(Parent::Task(id), K::Clear { stage: 0 });
                Step::Wait
            }
            (1, Ev::Child(_, r)) | (0, Ev::Child(_, r)) => {
                self.report(r);
                self.answer_checks(id, unchanged, error)
            }
            (0, Ev::Start) => self.answer_checks(id, unchanged, error),
            e => {
                self.lose(e);
                Step::Wait
            }
        }
    }

    fn answer_checks(&mut self, id: u32, unchanged: bool, error: bool) -> Step {
        self.disarm(STATUS_REPLY);
        let r: Res = if error { Err(CoreError::SessionIframeError.into()) } else { Ok(Out::Bool(unchanged)) };
        let mut waiters = core::mem::take(&mut self.sf_checks);
        waiters.reverse();
        for w in waiters {
            self.step(w, Ev::Child(id, r.clone()));
        }
        Step::Done(Ok(Out::Undefined))
    }

    /// No answer within `messageReceiveTimeout`.
    pub(crate) fn status_timeout(&mut self) {
        for w in core::mem::take(&mut self.sf_checks) {
            self.step(w, Ev::Child(STATUS_REPLY, Err(CoreError::SessionIframeReplyTimeout.into())));
        }
    }

    /// `#scheduleCheckIframe()`: every `checkLoginIframeInterval` seconds while the iframe
    /// is on, a token exists and the answer stays `unchanged`. One loop per instance.
    pub(crate) fn start_polling(&mut self) {
        if self.polling == 0 {
            self.polling = self.spawn(Parent::Detached, K::Poll(Poll { checking: false }));
        }
    }

    #[inline(never)]
    pub(crate) fn poll_step(&mut self, id: u32, p: &mut Poll, ev: Ev) -> Step {
        match ev {
            Ev::Start => self.poll_arm(id),
            Ev::Timer => {
                p.checking = self.check_frame(id);
                if p.checking {
                    Step::Wait
                } else {
                    Step::Done(Ok(Out::Undefined))
                }
            }
            // An `error` answer ends the loop quietly (keycloak-js leaves an unhandled rejection).
            Ev::Child(_, Ok(Out::Bool(true))) if p.checking => {
                p.checking = false;
                self.poll_arm(id)
            }
            Ev::Child(_, r) => {
                self.release(&r);
                Step::Done(Ok(Out::Undefined))
            }
            e => {
                self.lose(e);
                Step::Wait
            }
        }
    }

    fn poll_arm(&mut self, id: u32) -> Step {
        if !(self.s.check_login_iframe && self.sf.is_some() && self.sess.authenticated()) {
            return Step::Done(Ok(Out::Undefined));
        }
        self.arm(id, self.s.check_login_iframe_interval * 1000.0);
        Step::Wait
    }

    /// Silent check-sso; `gated`: started early, its answer waits for `Ev::Go`.
    pub(crate) fn start_silent(&mut self, parent: Parent, gated: bool) -> u32 {
        self.spawn(parent, K::Silent(alloc::boxed::Box::new(Silent { stage: 0, frame: 0, params: None, gated, state: String::new(), record: None })))
    }

    /// Removes the status iframe an `init` started before the probe said third-party
    /// cookies are blocked (keycloak-js never creates it then).
    pub(crate) fn drop_status_frame(&mut self, setup: u32) {
        let sf = self.sf.take();
        // A setup still running removes its frame itself; a loaded frame is on its own.
        if !self.cancel(setup) {
            if let Some(f) = sf {
                self.unframe(f.frame);
            }
        }
    }

    /// `#checkSsoSilently()`, bounded: a missing or silent page rejects after the timeout,
    /// and the answer must carry a callback whose state we issued.
    #[inline(never)]
    pub(crate) fn silent_step(&mut self, id: u32, x: &mut Silent, ev: Ev) -> Step {
        match (x.stage, ev) {
            (0, Ev::Start) => {
                let mut o = Writer::default();
                o.open_obj();
                o.key("prompt");
                o.str("none");
                o.key("redirectUri");
                o.str(self.s.silent_check_sso_redirect_uri.as_deref().unwrap_or(""));
                o.close_obj();
                x.stage = 1;
                self.spawn(Parent::Task(id), K::LoginUrl(super::login::LoginUrl::new(Some(o.s))));
                Step::Wait
            }
            (1, Ev::Child(_, Ok(Out::Str(t)))) => {
                let src = self.take_text(t);
                // The stored record's key (uuid states need no decoding).
                x.state = String::from(crate::core::encode::split_on(&src, b"?&").find_map(|p| p.strip_prefix("state=")).unwrap_or(""));
                x.frame = self.frame(id, &src, TITLE_SILENT);
                x.stage = 2;
                self.arm(id, self.s.silent_timeout_ms());
                Step::Wait
            }
            (1, Ev::Child(_, r)) => Step::Done(r),
            (2, Ev::Msg { origin, data }) => {
                if origin != self.page_origin() {
                    return Step::Wait;
                }
                let Some(href) = data else { return Step::Wait };
                self.remove_frame(x.frame);
                self.disarm(id);
                let Some(cb) = parse_callback_url(href, self.s.flow, self.s.response_mode) else {
                    return Step::Done(Err(CoreError::SilentCheckSsoInvalid.into()));
                };
                let state = String::from(cb.params.get("state").unwrap_or(""));
                x.params = Some(cb.params);
                x.stage = 3;
                self.store_take(id, &state);
                Step::Wait
            }
            (2, Ev::Timer) => Step::Done(Err(CoreError::SilentCheckSsoTimeout.into())),
            (3, Ev::Ret { text, .. }) => match text.filter(|t| matches!(crate::core::json::parse(t), Some(crate::core::json::Val::Obj(_)))) {
                Some(record) => {
                    x.record = Some(String::from(record));
                    x.stage = 5;
                    if x.gated {
                        return Step::Wait;
                    }
                    self.silent_go(id, x)
                }
                None => Step::Done(Err(CoreError::SilentCheckSsoInvalid.into())),
            },
            (5, Ev::Go) => self.silent_go(id, x),
            (_, Ev::Go) => {
                x.gated = false;
                Step::Wait
            }
            (4, Ev::Child(_, Err(e))) => Step::Done(Err(e)),
            (4, Ev::Child(_, _)) => {
                if self.s.flow != Flow::Implicit {
                    self.start_polling();
                }
                Step::Done(Ok(Out::Undefined))
            }
            (_, e) => {
                self.lost(e);
                Step::Wait
            }
        }
    }

    fn silent_go(&mut self, id: u32, x: &mut Silent) -> Step {
        x.stage = 4;
        let params = x.params.take().unwrap_or_default();
        let record = x.record.take().unwrap_or_default();
        self.process_callback(Parent::Task(id), params, record);
        Step::Wait
    }
}
