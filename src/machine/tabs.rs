//! `syncTabs` (ours): the tabs of one origin that use one client refresh their tokens
//! once and share them, and a logout in one ends the session in all.
//!
//! Two things the driver offers, no more: a `BroadcastChannel` (effects `tabs`, `tabpost`;
//! inputs `tab`) and an atomic compare-and-set on one IndexedDB record (`cas`), whose
//! transactions every tab sees in one order. Everything else is decided here.
//!
//! The record is the refresh lease and the generation counter of the shared tokens:
//! `{"h": holder, "u": lease end (epoch ms), "g": generation, "s": session id}`. A tab
//! about to refresh takes the lease (another tab's lease is waited for, polling, until it
//! ends; a lease lasts at most [`Machine::lease_ms`], so a tab that dies holding it
//! holds up the others that long, no longer). Holding it, the tab refreshes only if no
//! sibling refreshed since it asked: if one did, the new tokens came (`tok`) or are asked
//! for (`ask`), and the tab adopts them instead. After a refresh it posts the tokens with
//! the next generation, then frees the lease with that generation: a tab that sees the
//! generation in the record was sent the tokens first.
//!
//! Messages (JSON texts): `tok` {g, s, a, r, i, m} (tokens, generation, session, the
//! refresh's local time for the clock skew), `ask` {g, s}, `out` {s}. Only messages about
//! the tab's own session (`sid`) count. Tokens from a sibling are not verified again
//! (`verifyTokens`): the sibling checked them, and a same-origin page is trusted as much
//! as this one.

use super::{Ev, Fail, Machine, Out, Parent, Step, K};
use crate::core::json::{self, Val, Writer};
use crate::core::options::EXTRAS;
use alloc::string::String;
use crate::core::encode::PushAscii;

/// How often a tab waiting for another tab's lease looks again (ms).
const LEASE_POLL: f64 = 200.0;
/// How long a tab behind the shared generation waits for its tokens before it refreshes
/// on its own (ms).
const ASK_WAIT: f64 = 1500.0;
/// How long a tab waits for an IndexedDB transaction before it refreshes on its own (ms).
const CAS_BOUND: f64 = 5000.0;
/// `clearToken` started by a sibling's `out`: the session ends here too, and nothing is
/// posted back.
pub(crate) const QUIET: u8 = 50;

/// A refresh's part in the protocol.
#[derive(Default)]
pub(crate) struct Lease {
    /// The tab's generation when the refresh was asked for.
    pub gen0: f64,
    /// The record this tab wrote to hold the lease (while it is tried or held).
    pub held: Option<String>,
    /// The generation and session the record had when the lease was taken.
    pub g: f64,
    pub s: String,
    /// A transaction of ours is under way (its answer is awaited, bounded by [`CAS_BOUND`]).
    pub busy: bool,
}

/// A record's fields; an absent or unreadable record is a free one of generation 0.
fn record(text: Option<&str>) -> (String, f64, f64, String) {
    let v = text.and_then(json::parse).unwrap_or(Val::Null);
    let s = |k: &str| v.get(k).and_then(|x| x.str().map(String::from)).unwrap_or_default();
    let n = |k: &str| v.get(k).and_then(|x| x.num()).unwrap_or(0.0);
    (s("h"), n("u"), n("g"), s("s"))
}

fn record_text(holder: &str, until: f64, g: f64, s: &str) -> String {
    let mut w = Writer::default();
    w.open_obj();
    w.key("h");
    w.str(holder);
    w.key("u");
    w.int(until as u64);
    w.key("g");
    w.int(g as u64);
    w.key("s");
    w.str(s);
    w.close_obj();
    w.s
}

impl Machine {
    /// Opens the channel the first time this tab has tokens (`syncTabs`).
    pub(crate) fn tabs_open(&mut self) {
        if !self.s.sync_tabs() || !self.tab_key.is_empty() {
            return;
        }
        let Ok(ep) = self.endpoints() else { return };
        let mut key = String::from("keycloak-wasm ");
        key.push_str(&ep.token());
        key.push_ascii(b' ');
        key.push_str(&self.client_id);
        // The tab's name in the lease: random where Web Crypto is, else the time.
        let mut me = String::new();
        match self.rand {
            Some(r) => r[100..112].iter().for_each(|b| me.push_ascii(b'a' + b % 26)),
            None => json::push_u64(&mut me, self.now as u64),
        }
        self.tab_me = me;
        self.fx("tabs");
        self.w.str(&key);
        self.end();
        self.tab_key = key;
    }

    /// Whether a refresh goes through the lease: `syncTabs` on, the channel open, a session.
    pub(crate) fn tabs_on(&self) -> bool {
        EXTRAS && !self.tab_key.is_empty() && self.sess.session_id.is_some()
    }

    /// How long a lease lasts: the refresh and a verification, with their requests.
    fn lease_ms(&self) -> f64 {
        3.0 * self.s.request_timeout + 5000.0
    }

    fn post(&mut self, kind: &str, g: Option<f64>, tokens: bool) {
        let mut w = Writer::default();
        w.open_obj();
        w.key("t");
        w.str(kind);
        w.key("s");
        w.str(self.sess.session_id.as_deref().unwrap_or(""));
        if let Some(g) = g {
            w.key("g");
            w.int(g as u64);
        }
        if tokens {
            for (k, t) in [("a", &self.sess.access), ("r", &self.sess.refresh), ("i", &self.sess.id)] {
                if let Some(t) = t {
                    w.key(k);
                    w.str(&t.raw);
                }
            }
            w.key("m");
            w.int(self.tab_time as u64);
        }
        w.close_obj();
        self.fx("tabpost");
        self.w.str(&w.s);
        self.end();
    }

    /// A logout or cleared session here: the other tabs end it too.
    pub(crate) fn tabs_out(&mut self) {
        if self.tabs_on() {
            self.post("out", None, false);
        }
    }

    /// `cas` on the record: `expect` (`None`: absent) is replaced by `next`; the answer
    /// (`ret`) says whether it was, with the record as it was.
    fn cas(&mut self, id: Option<u32>, task: u32, expect: Option<&str>, next: &str) {
        let id = id.unwrap_or_else(|| self.next_id());
        if task != 0 {
            self.wait(id, task, super::W_RET);
            self.arm(task, CAS_BOUND);
        }
        self.fx("cas");
        self.w.int(id as u64);
        let key = self.tab_key.clone();
        self.w.str(&key);
        match expect {
            Some(e) => self.w.str(e),
            None => self.w.null(),
        }
        self.w.str(next);
        self.end();
    }

    /// Starts a refresh's turn: read the record (a `cas` that never matches).
    pub(crate) fn lease_start(&mut self, id: u32, l: &mut Lease) {
        l.gen0 = self.tab_gen;
        l.busy = true;
        self.cas(None, id, Some(""), "");
    }

    /// The refresh task's steps while it waits for its turn. `Some(true)`: refresh now;
    /// `Some(false)`: a sibling's tokens answered it (the lease is freed);
    /// `None`: still waiting.
    #[inline(never)]
    pub(crate) fn lease_step(&mut self, id: u32, l: &mut Lease, ev: Ev) -> Option<bool> {
        if let Ev::Ret { .. } = ev {
            l.busy = false;
            self.disarm(id);
        }
        match ev {
            // IndexedDB did not answer in time: this tab on its own (the lease, if it was
            // taken, ends by itself).
            Ev::Timer if l.busy => {
                l.held = None;
                Some(true)
            }
            Ev::Ret { h, .. } if h != 0 => {
                // No IndexedDB (a private window of some browsers): this tab on its own.
                self.drop_h(h);
                l.held = None;
                Some(true)
            }
            Ev::Ret { ok, text, .. } => {
                let (holder, until, g, s) = record(text);
                if ok && l.held.is_some() {
                    if self.tab_gen > l.gen0 {
                        self.lease_free(l, l.g);
                        return Some(false);
                    }
                    if l.s.as_str() == self.sess.session_id.as_deref().unwrap_or("") && l.g > self.tab_gen {
                        // A sibling refreshed this session's tokens: they were posted; ask again
                        // in case this tab missed them (it slept, or it opened later).
                        self.post("ask", Some(l.g), false);
                        self.arm(id, ASK_WAIT);
                        return None;
                    }
                    return Some(true);
                }
                l.held = None;
                if self.tab_gen > l.gen0 {
                    return Some(false);
                }
                if !holder.is_empty() && holder != self.tab_me && until > self.now {
                    self.arm(id, LEASE_POLL);
                    return None;
                }
                let mine = record_text(&self.tab_me.clone(), self.now + self.lease_ms(), g, &s);
                // What the record keeps if the lease is freed before its answer comes.
                l.g = g;
                l.s = s;
                l.held = Some(mine.clone());
                l.busy = true;
                self.cas(None, id, text, &mine);
                None
            }
            Ev::Timer | Ev::Go if l.held.is_some() => {
                // Holding the lease, waiting for a sibling's tokens.
                if self.tab_gen > l.gen0 {
                    self.lease_free(l, l.g);
                    return Some(false);
                }
                if matches!(ev, Ev::Timer) {
                    return Some(true);
                }
                None
            }
            Ev::Timer | Ev::Go => {
                if self.tab_gen > l.gen0 {
                    self.disarm(id);
                    return Some(false);
                }
                if matches!(ev, Ev::Timer) {
                    l.busy = true;
                    self.cas(None, id, Some(""), "");
                }
                None
            }
            e => {
                self.lose(e);
                None
            }
        }
    }

    /// Frees a held lease, leaving generation `g`.
    pub(crate) fn lease_free(&mut self, l: &mut Lease, g: f64) {
        if let Some(held) = l.held.take().filter(|_| EXTRAS) {
            let free = record_text("", 0.0, g, &l.s);
            self.cas(None, 0, Some(&held), &free);
        }
    }

    /// After this tab's refresh: the next generation goes to the siblings, then into the
    /// record as the lease is freed.
    pub(crate) fn lease_refreshed(&mut self, l: &mut Lease) {
        if l.held.is_none() {
            return;
        }
        let g = l.g.max(l.gen0) + 1.0;
        self.tab_gen = g;
        l.s = String::from(self.sess.session_id.as_deref().unwrap_or(""));
        self.post("tok", Some(g), true);
        self.lease_free(l, g);
    }

    /// A message from a sibling tab.
    pub(crate) fn tab_message(&mut self, data: &str) {
        let Some(v) = json::parse(data) else { return };
        let t = |k: &str| v.get(k).and_then(|x| x.str().map(String::from));
        if !self.tabs_on() || t("s") != self.sess.session_id {
            return;
        }
        let g = v.get("g").and_then(|x| x.num()).unwrap_or(0.0);
        match t("t").as_deref() {
            Some("tok") if g > self.tab_gen => {
                let Ok(set) = self.decode_set(t("a").as_deref(), t("r").as_deref(), t("i").as_deref(), None) else { return };
                if set[0].is_none() || set[1].is_none() {
                    return;
                }
                let time = v.get("m").and_then(|x| x.num()).filter(|m| *m > 0.0);
                self.spawn(Parent::Detached, K::Adopt(alloc::boxed::Box::new((set, time, g, 0))));
                if self.refreshing != 0 {
                    self.step(self.refreshing, Ev::Go);
                }
            }
            Some("ask") if self.tab_gen >= g && self.tab_gen > 0.0 && self.sess.refresh.is_some() => {
                let g = self.tab_gen;
                self.post("tok", Some(g), true);
            }
            Some("out") if self.sess.authenticated() => {
                self.spawn(Parent::Detached, K::Clear { stage: QUIET });
            }
            _ => {}
        }
    }

    /// Sets a sibling's tokens, then `onAuthRefreshSuccess` (after `onTokenExpired` if
    /// they had already expired).
    #[inline(never)]
    pub(crate) fn adopt_step(&mut self, id: u32, x: &mut (super::tokens::Set3, Option<f64>, f64, u8), ev: Ev) -> Step {
        match (x.3, ev) {
            (0, Ev::Start) => {
                let set = core::mem::replace(&mut x.0, [None, None, None]);
                let expired_now = self.set_token(id, set, x.1);
                self.tab_gen = x.2;
                x.3 = 1;
                if expired_now {
                    return Step::Wait;
                }
                x.3 = 2;
                self.emit(id, "onAuthRefreshSuccess", true, |_| {});
                Step::Wait
            }
            (1, Ev::Resumed(err)) => {
                self.report(if err != 0 { Err(Fail::H(err)) } else { Ok(Out::Undefined) });
                x.3 = 2;
                self.emit(id, "onAuthRefreshSuccess", true, |_| {});
                Step::Wait
            }
            (2, Ev::Resumed(err)) => Step::Done(if err != 0 { Err(Fail::H(err)) } else { Ok(Out::Undefined) }),
            (_, e) => {
                self.lose(e);
                Step::Wait
            }
        }
    }
}
