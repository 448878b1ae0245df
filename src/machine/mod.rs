//! The whole adapter as one synchronous state machine (sans-IO).
//!
//! Everything the outside world says arrives as one input (a JSON array, see
//! [`Machine::handle`]); everything the machine wants done leaves as effects (a JSON array
//! of arrays) that the JavaScript driver in `pkg/driver.js` carries out in order. Time
//! and random bytes arrive with the inputs; the machine holds no JavaScript value, only
//! numbered handles the driver keeps for it.
//!
//! Each app call and each piece of a flow is a task in a slab: a small state machine
//! that waits for completions by id (a response, a frame's load, a message, a timer, a
//! callback's return) and notifies its parent when it ends. A completion whose id is no
//! longer waited for (a late response, a stale timer, a foreign message) is ignored, and
//! any handle it carried is released.
//!
//! The driver carries out a whole batch before it answers any of its effects: a `ret`,
//! `resume` or `fail` for an effect comes in after the batch's last effect ran.
//!
//! Events are yield points: a batch holds at most one `emit`; the task that emitted
//! continues only when the driver reports that the app's callback returned (`resume`),
//! so what follows is computed from the state the callback left.

mod dpop;
mod flows;
mod frames;
mod login;
mod persist;
mod tabs;
mod tokens;
mod verify;

use crate::core::adapter::AdapterKind;
use crate::core::endpoints::Endpoints;
use crate::core::error::CoreError;
use crate::core::json::{self, Val, Writer};
use crate::core::options::{Settings, EXTRAS};
use crate::core::session::Session;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

pub use flows::Init;
use flows::{Account, Handle, Load, Logout, UrlOp};
use frames::{Poll, Silent};
use login::{Login, LoginUrl};
use tokens::{Callback, Refresh, Update};
use verify::Verify;

/// A value the machine hands back to the app (resolve value). `Copy`: texts wait in
/// [`Machine::texts`] under the id of the task that produced them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Out {
    Undefined,
    Bool(bool),
    /// The text task `id` left in [`Machine::texts`].
    Str(u32),
    /// A JavaScript value the driver holds.
    H(i64),
}

/// Why something failed, as the app will see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fail {
    Core(CoreError),
    /// A JavaScript value thrown somewhere (a callback, a custom adapter, `fetch`).
    H(i64),
    /// `NetworkError('Server responded with an invalid status.')` with this `Response`.
    Net { status: u16, response: i64 },
    /// An OAuth error response: the plain object `{ error, error_description }` (its
    /// texts in [`Machine::oauth`]).
    OAuth,
    /// A JavaScript value several waiters receive; whoever shared it releases it.
    Shared(i64),
}

pub type Res = Result<Out, Fail>;

impl From<CoreError> for Fail {
    fn from(e: CoreError) -> Fail {
        Fail::Core(e)
    }
}

/// What a task's step came to.
pub(crate) enum Step {
    Wait,
    Done(Res),
    /// Ended without an answer: the page is navigating away (keycloak-js's never-settling
    /// `login()`), so the parent keeps waiting.
    Vanish,
}

/// Whom a task reports to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Parent {
    /// An app call: settle it.
    Op(u32),
    Task(u32),
    /// Nobody waits (keycloak-js's un-awaited `login()` in `clearToken`).
    Detached,
}

/// A completion delivered to a task. Inputs' texts are borrowed from the input; only
/// events without text (start, a child's result, a timer) are ever queued.
#[derive(Debug)]
pub(crate) enum Ev<'a> {
    Start,
    /// An HTTP answer: `status` 0 is a thrown error (`h` holds it); a non-2xx status has
    /// the `Response` in `h`; a 2xx one has the body text and its parsed value in `h`.
    Http { status: u16, text: Option<&'a str>, h: i64 },
    /// A synchronous answer (storage, a plugin or adapter call).
    Ret { ok: bool, h: i64, text: Option<&'a str> },
    /// The app's callback returned (`err` 0) or threw (`err` holds the exception).
    Resumed(i64),
    Load,
    Msg { origin: &'a str, data: Option<&'a str> },
    Timer,
    Child(u32, Res),
    /// A parent lets a task it started early go on.
    Go,
    /// A listener fired: its name and the field it forwards (e.g. an InAppBrowser `url`).
    Event { name: &'a str, value: Option<&'a str> },
}

/// What a task's catch-all arm received: the event, or a `(stage, event)` pair.
pub(crate) trait IntoEv<'a> {
    fn into_ev(self) -> Ev<'a>;
}

impl<'a> IntoEv<'a> for Ev<'a> {
    fn into_ev(self) -> Ev<'a> {
        self
    }
}

impl<'a> IntoEv<'a> for (u8, Ev<'a>) {
    fn into_ev(self) -> Ev<'a> {
        self.1
    }
}

pub(crate) enum K {
    Init(Box<Init>),
    Probe,
    FrameSetup,
    StatusReply { unchanged: bool, error: bool, stage: u8 },
    Poll(Poll),
    Update(Update),
    Refresh(Box<Refresh>),
    Clear { stage: u8 },
    Login(Box<Login>),
    LoginUrl(Box<LoginUrl>),
    Callback(Box<Callback>),
    Silent(Box<Silent>),
    Handle(Box<Handle>),
    Logout(Box<Logout>),
    UrlOp(Box<UrlOp>),
    Account(Box<Account>),
    Load(Box<Load>),
    /// Checks tokens against the realm's keys (`verifyTokens`).
    Verify(Box<Verify>),
    /// One automatic refresh (`autoRefresh`): its `updateToken` child, then a retry timer
    /// if it failed and the tokens are still there.
    Auto,
    /// Sets a sibling tab's tokens (`syncTabs`): the tokens, the local time of their
    /// refresh, their generation, the stage.
    Adopt(Box<(tokens::Set3, Option<f64>, f64, u8)>),
    /// `createDpopProof`: the proof's signing input, until it is signed.
    Proof(Box<String>),
    /// Waits for one callback to return; reports what it threw.
    Notify,
    /// The account console in an InAppBrowser: closes it when it reaches the app again.
    Watch { win: u32, redirect: String },
}

pub(crate) struct Task {
    pub id: u32,
    pub parent: Parent,
    pub k: K,
}

/// The session status iframe.
pub(crate) struct StatusFrame {
    pub frame: u32,
    pub origin: String,
    pub ready: bool,
}

/// Subscriptions: frames, and windows or system browsers (driver services), whose
/// events go to a task.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Sub {
    Frame,
    Window,
}

/// The kinds of completion a task waits for by id.
pub(crate) const W_HTTP: u8 = 0;
pub(crate) const W_RET: u8 = 1;
pub(crate) const W_RESUME: u8 = 2;

/// Timer owners that are not tasks.
const EXPIRY: u32 = 0;
const STATUS_REPLY: u32 = 1;
/// `autoRefresh`'s timer (task ids start above it).
pub(crate) const AUTO: u32 = 2;

#[derive(Default)]
pub struct Machine {
    pub(crate) now: f64,
    pub(crate) href: String,
    pub(crate) rand: Option<[u8; 128]>,
    pub(crate) w: Writer,
    /// The constructor's argument, as JSON.
    pub(crate) config: String,
    pub(crate) s: Settings,
    pub(crate) initialized: bool,
    /// `String(clientId)`.
    pub(crate) client_id: String,
    pub(crate) ep: Option<Endpoints>,
    pub(crate) adapter: AdapterKind,
    /// The custom adapter object (a handle), when `adapter` is `Custom`.
    pub(crate) adapter_h: i64,
    pub(crate) sess: Session,
    /// Whether the app has assigned `onTokenExpired` (read with each input).
    pub(crate) on_expired: bool,
    /// The `onTokenExpired` function captured when the expiry timer was set (a handle).
    pub(crate) expiry_handler: i64,
    ids: u32,
    pub(crate) tasks: Vec<Task>,
    /// (id, task, kind): who waits for which completion.
    waits: Vec<(u32, u32, u8)>,
    subs: Vec<(u32, u32, Sub)>,
    timers: Vec<(f64, u32)>,
    pub(crate) sf: Option<StatusFrame>,
    pub(crate) sf_checks: Vec<u32>,
    pub(crate) refreshing: u32,
    pub(crate) polling: u32,
    queue: Vec<(u32, Ev<'static>)>,
    stepping: bool,
    /// Handles several results refer to, with how many still hold them.
    shared: Vec<(i64, u32)>,
    /// Texts results refer to ([`Out::Str`]), by the id of the task that produced them.
    pub(crate) texts: Vec<(u32, String)>,
    /// The `error` and `error_description` of the last OAuth error ([`Fail::OAuth`]).
    pub(crate) oauth: (String, Option<String>),
    /// The realm's keys (JWKS text), once loaded (`verifyTokens`).
    pub(crate) jwks: Option<String>,
    /// The last `kid` the keys did not hold, and when the keys were loaded for it.
    pub(crate) jwks_miss: (Option<String>, f64),
    /// `autoRefresh`: the page is hidden (read with each input); a refresh came due while
    /// it was; failed automatic refreshes in a row; the driver reports visibility.
    pub(crate) hidden: bool,
    pub(crate) auto_due: bool,
    pub(crate) auto_failures: u32,
    /// `autoRefresh` has reported that the token ran out while the realm failed.
    pub(crate) auto_told: bool,
    pub(crate) watching: bool,
    /// `syncTabs`: the channel's and record's name (empty until opened), this tab's name
    /// in the lease, the generation of its tokens (0: not shared), the local time they
    /// were dated by.
    pub(crate) tab_key: String,
    pub(crate) tab_me: String,
    pub(crate) tab_gen: f64,
    pub(crate) tab_time: f64,
    /// `dpop`: our public key (JWK text) and its thumbprint, whether the access token is
    /// bound to it, proofs made (for unique `jti`s), requests waiting for their proof.
    pub(crate) dpop_jwk: String,
    pub(crate) dpop_jkt: String,
    pub(crate) dpop_bound: bool,
    pub(crate) dpop_count: u32,
    pub(crate) dpop_held: Vec<dpop::Held>,
    /// Requests sent with a proof, until their answer; the server's last `DPoP-Nonce`.
    pub(crate) dpop_sent: Vec<dpop::Held>,
    pub(crate) dpop_nonce: Option<String>,
    /// This load keeps the hint for the next one (see `persist.rs`).
    pub(crate) hint_on: bool,
}

impl Default for AdapterKind {
    fn default() -> Self {
        AdapterKind::Default
    }
}

/// JavaScript's `Number(v)` for the values an app passes as `minValidity`; `None` for a
/// falsy value (keycloak-js's `minValidity || 5` and `if (minValidity)`).
pub(crate) fn truthy_number(v: Option<&Val<'_>>) -> Option<f64> {
    let v = v.filter(|v| v.truthy())?;
    Some(match v {
        Val::Num(n, _) => *n,
        Val::Bool(_) => 1.0,
        // `Number(" 30 ")` is 30; anything that is not a JSON number (rare) is NaN.
        Val::Str(s) => match json::parse(crate::core::encode::js_trim(s)) {
            Some(Val::Num(n, _)) => n,
            _ => f64::NAN,
        },
        _ => f64::NAN,
    })
}

impl Machine {
    pub fn new() -> Machine {
        Machine { ids: 2, ..Default::default() }
    }

    /// Handles one input and returns the effects (JSON text, and numbers that travel
    /// beside it, see [`Writer::num`]).
    ///
    /// An input is `[kind, now, href, props, ...args]`: `now` is `Date.now()`, `href` the
    /// page's `location.href`, `props` the option properties the app may have assigned
    /// (read back as keycloak-js reads its own fields). `rand` is 128 fresh random bytes
    /// when the Web Crypto API is there.
    pub fn handle(&mut self, input: &str, rand: Option<[u8; 128]>) -> &Writer {
        self.w = Writer::default();
        self.w.open();
        if let Some(Val::Arr(raw)) = json::parse(input) {
            let a = json::elements(raw);
            if a.len() >= 4 {
                self.now = a[1].num().unwrap_or(0.0);
                self.href = a[2].str().map(String::from).unwrap_or_default();
                self.rand = rand;
                let kind = a[0].str().unwrap_or("");
                // Synchronous answers arrive while a batch is still being carried out, so the
                // properties may not show what the machine already decided: do not adopt them.
                if self.initialized && kind != "ret" && kind != "fail" {
                    self.adopt(&a[3]);
                }
                self.dispatch(kind, &a[4..]);
            }
        }
        self.w.close();
        &self.w
    }

    fn dispatch(&mut self, kind: &str, a: &[Val<'_>]) {
        let num = |i: usize| a.get(i).and_then(|v| v.num()).unwrap_or(0.0);
        let text = |i: usize| a.get(i).and_then(|v| v.str());
        match kind {
            "new" => self.config = a.first().map(|v| v.raw()).unwrap_or_default(),
            "call" => {
                let method = a.get(1).and_then(|v| v.str()).unwrap_or("");
                self.call(num(0) as u32, method, &a[2.min(a.len())..]);
            }
            "http" => {
                let (id, status, h) = (num(0) as u32, num(1) as u16, num(3) as i64);
                if !self.dpop_answered(id, status, text(4), h) {
                    self.deliver_wait(id, Ev::Http { status, text: text(2), h });
                }
            }
            "ret" => {
                let (id, ok, h) = (num(0) as u32, a.get(1).is_some_and(|v| v.truthy()), num(2) as i64);
                if !self.dpop_signed(id, ok, h, text(3)) {
                    self.deliver_wait(id, Ev::Ret { ok, h, text: text(3) });
                }
            }
            "resume" => self.deliver_wait(num(0) as u32, Ev::Resumed(num(1) as i64)),
            "load" => self.deliver_sub(num(0) as u32, Ev::Load),
            "msg" => {
                let frame = num(0) as u32;
                let (origin, data) = (text(1).unwrap_or(""), text(2));
                if self.sf.as_ref().is_some_and(|f| f.frame == frame) {
                    self.status_message(origin, data);
                } else {
                    self.deliver_sub(frame, Ev::Msg { origin, data });
                }
            }
            "event" => self.deliver_sub(num(0) as u32, Ev::Event { name: text(1).unwrap_or(""), value: text(2) }),
            "tick" => self.tick(),
            "wake" if EXTRAS => self.auto_wake(),
            "tab" if EXTRAS => self.tab_message(text(0).unwrap_or("")),
            "fail" => {
                let (task, h) = (num(0) as u32, num(1) as i64);
                if self.tasks.iter().any(|t| t.id == task) {
                    self.fail_task(task, h);
                } else {
                    self.drop_h(h);
                }
            }
            _ => {}
        }
    }

    /// Reads back the option properties (see `Settings::adopt`) and whether the app has
    /// an `onTokenExpired` handler.
    fn adopt(&mut self, props: &Val<'_>) {
        self.s.adopt(props);
        self.sess.time_skew = self.s.time_skew;
        self.on_expired = props.get("onTokenExpired").is_some_and(|v| v.truthy());
        self.hidden = props.get("hidden").is_some_and(|v| v.truthy());
    }

    // ---- ids, tasks, waits -------------------------------------------------------

    pub(crate) fn next_id(&mut self) -> u32 {
        self.ids += 1;
        self.ids
    }

    /// Creates a task and starts it.
    pub(crate) fn spawn(&mut self, parent: Parent, k: K) -> u32 {
        let id = self.next_id();
        self.tasks.push(Task { id, parent, k });
        self.step(id, Ev::Start);
        id
    }

    /// Waits for one completion of the given kind ([`W_HTTP`], [`W_RET`], [`W_RESUME`]).
    pub(crate) fn wait(&mut self, id: u32, task: u32, kind: u8) {
        self.waits.push((id, task, kind));
    }

    /// Delivers a completion to the task waiting for exactly that id and kind.
    pub(crate) fn deliver_wait(&mut self, id: u32, ev: Ev<'_>) {
        let kind = match ev {
            Ev::Http { .. } => W_HTTP,
            Ev::Ret { .. } => W_RET,
            _ => W_RESUME,
        };
        match self.waits.iter().position(|w| w.0 == id && w.2 == kind) {
            Some(i) => {
                let task = self.waits.swap_remove(i).1;
                self.deliver(task, ev);
            }
            None => self.lost(ev),
        }
    }

    fn deliver_sub(&mut self, id: u32, ev: Ev<'_>) {
        match self.subs.iter().find(|s| s.0 == id) {
            Some(&(_, task, _)) => self.deliver(task, ev),
            None => self.lost(ev),
        }
    }

    /// An input nobody waits for: release what it carried.
    /// An event the task's stage does not wait for: released like a lost input.
    pub(crate) fn lose<'a>(&mut self, e: impl IntoEv<'a>) {
        self.lost(e.into_ev());
    }

    pub(crate) fn lost(&mut self, ev: Ev<'_>) {
        match ev {
            Ev::Http { h, .. } | Ev::Ret { h, .. } | Ev::Resumed(h) => self.drop_h(h),
            Ev::Child(_, r) => self.release(&r),
            _ => {}
        }
    }

    /// Delivers an input's event to task `id` (no task is being stepped when an input
    /// arrives), then whatever that queued.
    fn deliver(&mut self, id: u32, ev: Ev<'_>) {
        self.stepping = true;
        self.step_now(id, ev);
        self.drain();
    }

    /// Delivers an internal event to task `id`. Deliveries are queued and run one after
    /// the other, so a child that ends while its parent is being stepped reaches the
    /// parent afterwards.
    pub(crate) fn step(&mut self, id: u32, ev: Ev<'static>) {
        self.queue.push((id, ev));
        if !self.stepping {
            self.stepping = true;
            self.drain();
        }
    }

    fn drain(&mut self) {
        while !self.queue.is_empty() {
            let (id, ev) = self.queue.remove(0);
            self.step_now(id, ev);
        }
        self.stepping = false;
    }

    /// Steps one task. Each kind's step is a function of its own (`#[inline(never)]`, and
    /// wasm-opt keeps functions with one caller, see scripts/build.mjs): V8 compiles a wasm
    /// function on its first call, so a page compiles only the steps of the flows it runs.
    fn step_now(&mut self, id: u32, ev: Ev<'_>) {
        let Some(i) = self.tasks.iter().position(|t| t.id == id) else {
            return self.lost(ev);
        };
        let mut t = self.tasks.swap_remove(i);
        let r = match &mut t.k {
            K::Init(x) => self.init_step(id, x, ev),
            K::Probe => self.probe_step(id, ev),
            K::FrameSetup => self.frame_setup_step(id, ev),
            K::StatusReply { unchanged, error, stage } => self.status_reply_step(id, *unchanged, *error, stage, ev),
            K::Poll(x) => self.poll_step(id, x, ev),
            K::Update(x) => self.update_step(id, x, ev),
            K::Refresh(x) => self.refresh_step(id, x, ev),
            K::Clear { stage } => self.clear_step(id, stage, ev),
            K::Login(x) => self.login_step(id, x, ev),
            K::LoginUrl(x) => self.login_url_step(id, x, ev),
            K::Callback(x) => self.callback_step(id, x, ev),
            K::Silent(x) => self.silent_step(id, x, ev),
            K::Handle(x) => self.handle_step(id, x, ev),
            K::Logout(x) => self.logout_step(id, x, ev),
            K::UrlOp(x) => self.url_op_step(id, x, ev),
            K::Account(x) => self.account_step(id, x, ev),
            K::Load(x) => self.load_step(id, x, ev),
            K::Verify(x) if EXTRAS => {
                let r = self.verify_step(id, x, ev);
                // Tokens that fail the check (not keys that did not load): nothing is kept.
                if matches!(r, Step::Done(Err(Fail::Core(e))) if e != CoreError::JwksUnavailable) {
                    self.persist_wipe();
                }
                r
            }
            K::Auto if EXTRAS => self.auto_step(id, ev),
            K::Adopt(x) if EXTRAS => self.adopt_step(id, x, ev),
            K::Proof(x) if EXTRAS => self.proof_step(id, x, ev),
            K::Notify => match ev {
                Ev::Resumed(h) => Step::Done(if h != 0 { Err(Fail::H(h)) } else { Ok(Out::Undefined) }),
                e => {
                    self.lose(e);
                    Step::Wait
                }
            },
            K::Watch { win, redirect } if EXTRAS => self.watch_step(*win, redirect, ev),
            // Never made without `extras`.
            _ => Step::Vanish,
        };
        match r {
            Step::Wait => self.tasks.push(t),
            Step::Done(res) => self.finish(t, res),
            Step::Vanish => {
                self.cleanup(t.id);
                self.release_state(t.k);
            }
        }
    }

    /// An effect of the task threw in the driver: the task fails with that exception.
    fn fail_task(&mut self, id: u32, h: i64) {
        if let Some(i) = self.tasks.iter().position(|t| t.id == id) {
            let t = self.tasks.swap_remove(i);
            self.finish(t, Err(Fail::H(h)));
        }
    }

    /// Forgets everything the task waited for; removes its frames and listeners.
    fn cleanup(&mut self, id: u32) {
        self.waits.retain(|w| w.1 != id);
        self.timers.retain(|t| t.1 != id);
        let mut i = 0;
        while i < self.subs.len() {
            if self.subs[i].1 == id {
                let (sub, _, kind) = self.subs.swap_remove(i);
                match kind {
                    Sub::Frame => self.unframe(sub),
                    Sub::Window => self.close_window(sub, 0),
                }
            } else {
                i += 1;
            }
        }
        self.sf_checks.retain(|&c| c != id);
        if self.refreshing == id {
            self.refreshing = 0;
        }
        if self.polling == id {
            self.polling = 0;
        }
    }

    fn finish(&mut self, t: Task, res: Res) {
        self.cleanup(t.id);
        let parent = t.parent;
        let id = t.id;
        self.release_state(t.k);
        let t = Task { id, parent, k: K::Notify };
        match t.parent {
            Parent::Op(op) => self.settle(op, res),
            Parent::Task(p) if self.tasks.iter().any(|x| x.id == p) => self.step(p, Ev::Child(t.id, res)),
            // Nobody listens: an exception thrown by an app callback is reported as
            // uncaught (as it would be in keycloak-js); anything else is released.
            _ => match res {
                Err(Fail::H(h)) if t.parent == Parent::Detached => {
                    self.w.open();
                    self.w.str("report");
                    self.w.int(h as u64);
                    self.w.close();
                    self.drop_h(h);
                }
                r => self.release(&r),
            },
        }
    }

    /// Releases what an ended task still held (results it had not used, a window).
    /// Ends task `id` and the tasks it started, wherever they are: their waits, timers,
    /// frames and windows go, and whatever they held is released.
    pub(crate) fn cancel(&mut self, id: u32) -> bool {
        let Some(i) = self.tasks.iter().position(|t| t.id == id) else { return false };
        let t = self.tasks.swap_remove(i);
        self.cleanup(id);
        self.release_state(t.k);
        while let Some(c) = self.tasks.iter().find(|t| t.parent == Parent::Task(id)).map(|t| t.id) {
            self.cancel(c);
        }
        true
    }

    fn release_state(&mut self, k: K) {
        let held: Vec<Res> = match k {
            K::Silent(x) => {
                let state = x.stored_state();
                if !state.is_empty() {
                    let id = self.next_id();
                    self.take_record(id, &state);
                }
                Vec::new()
            }
            K::Init(x) => {
                let gated = x.gated();
                if gated != 0 {
                    self.cancel(gated);
                }
                x.held()
            }
            K::Refresh(x) => x.held(),
            K::Callback(x) => x.held(),
            _ => Vec::new(),
        };
        for r in held {
            self.release(&r);
        }
    }

    /// Stores a text result of task `id`.
    pub(crate) fn give_text(&mut self, id: u32, text: String) -> Res {
        self.texts.push((id, text));
        Ok(Out::Str(id))
    }

    /// Takes the text a result refers to.
    pub(crate) fn take_text(&mut self, id: u32) -> String {
        match self.texts.iter().position(|t| t.0 == id) {
            Some(i) => self.texts.swap_remove(i).1,
            None => String::new(),
        }
    }

    /// Releases the handles a result holds (a shared one when its last holder lets go).
    pub(crate) fn release(&mut self, r: &Res) {
        match r {
            Ok(Out::Str(id)) => {
                self.take_text(*id);
            }
            Ok(Out::H(h)) | Err(Fail::H(h)) | Err(Fail::Net { response: h, .. }) => self.drop_h(*h),
            Err(Fail::Shared(h)) => {
                if let Some(i) = self.shared.iter().position(|e| e.0 == *h) {
                    self.shared[i].1 -= 1;
                    if self.shared[i].1 == 0 {
                        self.shared.swap_remove(i);
                        self.drop_h(*h);
                    }
                }
            }
            _ => {}
        }
    }

    pub(crate) fn subscribe(&mut self, id: u32, task: u32, kind: Sub) {
        self.subs.push((id, task, kind));
    }

    /// Moves the frames and listeners of task `from` to task `to`.
    pub(crate) fn hand_over(&mut self, from: u32, to: u32) {
        for s in self.subs.iter_mut().filter(|s| s.1 == from) {
            s.1 = to;
        }
    }

    pub(crate) fn unsubscribe(&mut self, id: u32) {
        self.subs.retain(|s| s.0 != id);
    }

    // ---- timers --------------------------------------------------------------------

    pub(crate) fn arm(&mut self, owner: u32, ms: f64) {
        self.disarm(owner);
        self.timers.push((self.now + ms, owner));
    }

    pub(crate) fn disarm(&mut self, owner: u32) {
        self.timers.retain(|t| t.1 != owner);
    }

    fn tick(&mut self) {
        // Fire what is due, earliest first; a timer armed by a handler fires on a later tick.
        while let Some(i) = (0..self.timers.len()).filter(|&i| self.timers[i].0 <= self.now).min_by(|&a, &b| self.timers[a].0.total_cmp(&self.timers[b].0)) {
            let (_, owner) = self.timers.swap_remove(i);
            match owner {
                EXPIRY => self.token_expired(),
                STATUS_REPLY => self.status_timeout(),
                AUTO => self.auto_fire(),
                task => self.step(task, Ev::Timer),
            }
        }
    }

    /// When the driver should next deliver a `tick` (epoch ms), or `None`. One timer in
    /// the driver serves every slot; the driver asks after each batch it carried out.
    pub fn deadline(&self) -> Option<f64> {
        self.timers.iter().map(|t| t.0).min_by(f64::total_cmp)
    }

    // ---- effects ------------------------------------------------------------------

    /// Starts an effect array with its name.
    pub(crate) fn fx(&mut self, name: &str) {
        self.w.open();
        self.w.str(name);
    }

    pub(crate) fn end(&mut self) {
        self.w.close();
    }

    pub(crate) fn drop_h(&mut self, h: i64) {
        if h != 0 {
            self.fx("drop");
            self.w.num(h as f64);
            self.end();
        }
    }

    /// Writes a result as the value the app receives.
    pub(crate) fn value(&mut self, r: &Res) {
        match r {
            Ok(Out::Undefined) => self.undefined(),
            Ok(Out::Bool(b)) => self.w.bool(*b),
            Ok(Out::Str(id)) => {
                let t = self.take_text(*id);
                self.w.str(&t);
            }
            Ok(Out::H(h)) | Err(Fail::H(h)) | Err(Fail::Shared(h)) => self.handle_v(*h),
            Err(Fail::Core(e)) => self.error_v(e),
            Err(Fail::Net { response, .. }) => {
                self.w.open();
                self.w.int(10);
                self.w.str(crate::core::error::NETWORK_ERROR);
                self.w.num(*response as f64);
                self.w.close();
            }
            Err(Fail::OAuth) => {
                let (error, description) = self.oauth.clone();
                self.w.open();
                self.w.int(2);
                self.w.open();
                self.w.str("error");
                self.w.str(&error);
                self.w.close();
                self.w.open();
                self.w.str("error_description");
                self.set_value_str(description.as_deref());
                self.w.close();
                self.w.close();
            }
        }
    }

    pub(crate) fn undefined(&mut self) {
        self.w.raw("[0]");
    }

    pub(crate) fn handle_v(&mut self, h: i64) {
        self.w.open();
        self.w.int(1);
        self.w.num(h as f64);
        self.w.close();
    }

    pub(crate) fn error_v(&mut self, e: &CoreError) {
        self.w.open();
        self.w.int(9);
        self.w.int(e.kind() as u64);
        let m = e.full_message(&self.s.invalid_pkce);
        self.w.str(&m);
        if let Some(cause) = e.cause() {
            self.w.str(cause);
        }
        self.w.close();
    }

    pub(crate) fn settle(&mut self, op: u32, r: Res) {
        // Refused for want of the additions: the facade starts the instance again on the
        // machine that has them (`extras`, before the call settles), loaded within
        // `requestTimeout`, or the call fails with that error.
        if !EXTRAS && matches!(r, Err(Fail::Core(CoreError::NoExtras))) {
            self.fx("extras");
            self.w.num(self.s.request_timeout);
            self.w.str(CoreError::ExtrasTimeout.message());
            self.end();
        }
        self.fx("settle");
        self.w.int(op as u64);
        self.w.bool(r.is_ok());
        self.value(&r);
        self.end();
        self.release(&r);
    }

    /// Delivers one result to several waiting tasks. A JavaScript error reaches each of
    /// them as the same object (keycloak-js rejects every queued caller with one error):
    /// a `NetworkError` is built once into a slot the driver keeps, and the handle is
    /// released only after every waiter has settled.
    pub(crate) fn share(&mut self, from: u32, waiters: Vec<u32>, r: Res) {
        let r = match r {
            Err(Fail::Net { response, .. }) => {
                let slot = -(self.next_id() as i64);
                self.fx("memo");
                self.w.num(slot as f64);
                self.value(&r);
                self.end();
                self.drop_h(response);
                Err(Fail::Shared(slot))
            }
            Err(Fail::H(h)) => Err(Fail::Shared(h)),
            r => r,
        };
        if let Err(Fail::Shared(h)) = r {
            if waiters.is_empty() {
                self.drop_h(h);
            } else {
                self.shared.push((h, waiters.len() as u32));
            }
        }
        for task in waiters {
            self.step(task, Ev::Child(from, r.clone()));
        }
    }

    /// Calls a function the driver holds (unbound, no arguments), as a timer would.
    pub(crate) fn emit_fn(&mut self, task: u32, f: i64) {
        let id = self.next_id();
        self.wait(id, task, W_RESUME);
        self.fx("emit");
        self.w.int(id as u64);
        self.w.num(f as f64);
        self.w.bool(false);
        self.end();
    }

    pub(crate) fn emit(&mut self, task: u32, name: &str, bound: bool, args: impl FnOnce(&mut Machine)) {
        let id = self.next_id();
        self.wait(id, task, W_RESUME);
        self.fx("emit");
        self.w.int(id as u64);
        self.w.str(name);
        self.w.bool(bound);
        args(self);
        self.end();
    }

    pub(crate) fn log(&mut self, warn: bool, parts: impl FnOnce(&mut Writer)) {
        if self.s.enable_logging {
            self.fx("log");
            self.w.str(if warn { "warn" } else { "info" });
            parts(&mut self.w);
            self.end();
        }
    }

    pub(crate) fn info(&mut self, msg: &str) {
        self.log(false, |w| w.str(msg));
    }

    /// Sets public properties: `pairs` writes `name, value` pairs.
    pub(crate) fn set(&mut self, pairs: impl FnOnce(&mut Machine)) {
        self.fx("set");
        pairs(self);
        self.end();
    }

    /// Writes `[k, v]`.
    pub(crate) fn pair(&mut self, k: &str, v: &str) {
        self.w.open();
        self.w.str(k);
        self.w.str(v);
        self.w.close();
    }

    pub(crate) fn set_str(&mut self, name: &str, v: Option<&str>) {
        self.w.str(name);
        match v {
            Some(s) => self.w.str(s),
            None => self.undefined(),
        }
    }

    pub(crate) fn frame(&mut self, task: u32, src: &str, title: &str) -> u32 {
        let id = self.next_id();
        self.subscribe(id, task, Sub::Frame);
        self.fx("frame");
        self.w.int(task as u64);
        self.w.int(id as u64);
        self.w.open();
        for (k, v) in [("src", src), ("sandbox", crate::core::iframe::SANDBOX), ("title", title)] {
            self.w.open();
            self.w.str(k);
            self.w.str(v);
            self.w.close();
        }
        self.w.close();
        self.end();
        id
    }

    pub(crate) fn unframe(&mut self, id: u32) {
        self.fx("unframe");
        self.w.int(id as u64);
        self.end();
    }

    /// Removes a task's frame now (and stops routing its events).
    pub(crate) fn remove_frame(&mut self, id: u32) {
        self.unsubscribe(id);
        self.unframe(id);
    }

    /// A request: `form` makes it a POST with a form body; `credentials` sends cookies.
    pub(crate) fn fetch(&mut self, task: u32, url: &str, form: Option<&str>, bearer: Option<&str>, credentials: bool) {
        let id = self.next_id();
        self.wait(id, task, W_HTTP);
        if self.dpop_wants(bearer) {
            let nonce = self.dpop_nonce.clone();
            let input = self.dpop_input(if form.is_some() { "POST" } else { "GET" }, url, bearer, nonce.as_deref());
            self.dpop_sign(id, &input);
            let held = dpop::Held { id, url: String::from(url), form: form.map(String::from), bearer: bearer.map(String::from), credentials, input, retried: false };
            self.dpop_held.push(held);
            return;
        }
        self.emit_fetch(id, url, form, bearer, credentials, None);
    }

    /// The `fetch` effect; with a DPoP proof, a bound token goes with the `DPoP` scheme.
    pub(crate) fn emit_fetch(&mut self, id: u32, url: &str, form: Option<&str>, bearer: Option<&str>, credentials: bool, proof: Option<&str>) {
        self.fx("fetch");
        self.w.int(id as u64);
        self.w.str(url);
        self.w.str(if form.is_some() { "POST" } else { "GET" });
        match form {
            Some(f) => self.w.str(f),
            None => self.w.null(),
        }
        self.w.open();
        let header = Machine::pair;
        header(self, "Accept", "application/json");
        if form.is_some() {
            header(self, "Content-Type", "application/x-www-form-urlencoded;charset=UTF-8");
        }
        if let Some(t) = bearer {
            let mut v = String::from(if proof.is_some() { "DPoP " } else { "bearer " });
            v.push_str(t);
            header(self, "Authorization", &v);
        }
        if let Some(p) = proof {
            header(self, "DPoP", p);
        }
        self.w.close();
        self.w.bool(credentials);
        self.w.num(self.s.request_timeout);
        self.end();
    }

    /// Calls `method` of a value the driver holds (a custom adapter) with `args`; the
    /// outcome comes back as a `ret`: at once, or (`wait`) when its promise settles.
    pub(crate) fn invoke(&mut self, task: u32, target: i64, method: &str, args: impl FnOnce(&mut Machine), wait: bool) {
        let id = self.next_id();
        self.wait(id, task, W_RET);
        self.fx("call");
        self.w.int(task as u64);
        self.w.int(id as u64);
        self.w.num(target as f64);
        self.w.str(method);
        self.w.open();
        args(self);
        self.w.close();
        self.w.bool(wait);
        self.end();
    }

    /// The page's origin, from `location.href`.
    pub(crate) fn page_origin(&self) -> String {
        String::from(crate::core::iframe::origin_of(&self.href).unwrap_or(""))
    }

    pub(crate) fn endpoints(&self) -> Result<&Endpoints, Fail> {
        self.ep.as_ref().ok_or(Fail::Core(CoreError::NotInitialized))
    }

    /// Token requests carry cookies except to a generic provider (whose CORS answers
    /// need not allow credentials).
    pub(crate) fn opaque_ok(&self) -> bool {
        matches!(self.ep, Some(Endpoints::Oidc(_)))
    }
}

