//! `syncTabs`: several tabs of one browser (one IndexedDB, one BroadcastChannel) against a
//! realm that rotates refresh tokens (a spent one is refused with `invalid_grant`).
//! The browser carries out what the tabs ask in a seeded random order: pending IndexedDB
//! transactions, channel messages (in order per sender and receiver), token requests;
//! time moves on (timers) only when nothing else is pending.

use super::golden;
use super::realm::{config, Realm};
use super::world::World;
use serde_json::{json, Value};
use std::collections::HashMap;

struct Browser {
    tabs: Vec<World>,
    kv: HashMap<String, String>,
    realm: Realm,
    /// Messages on the way: (from, to, data), delivered in order per (from, to).
    wire: Vec<(usize, usize, String)>,
    /// Tabs whose messages are lost (asleep, or gone).
    deaf: Vec<usize>,
    /// Tabs whose IndexedDB transactions never complete.
    stuck: Vec<usize>,
    /// Token requests the realm answered.
    refreshes: u32,
    seed: u64,
}

impl Browser {
    /// `n` tabs logged in to one SSO session, each through its own login (own refresh-token chain).
    fn new(n: usize, init: Value, seed: u64) -> Browser {
        let mut realm = Realm::new();
        realm.session = true;
        realm.rotate = true;
        let mut tabs = Vec::new();
        for k in 0..n {
            let mut w = World::new(config());
            let op = w.call("init", vec![json!({ "checkLoginIframe": false })]);
            assert!(w.result(op).is_some());
            let login = w.call("createLoginUrl", vec![json!({})]);
            let url = w.result(login).unwrap().as_str().unwrap().to_string();
            let mut page = World::new(config());
            page.rand_salt = k as u8;
            page.local = w.local.clone();
            page.href = realm.authorize(&url);
            let op = page.call("init", vec![init.clone()]);
            realm.serve_token(&mut page);
            assert_eq!(page.result(op), Some(json!(true)), "{:#?}", page.violations);
            page.transcript.clear();
            page.events.clear();
            tabs.push(page);
        }
        Browser { tabs, kv: HashMap::new(), realm, wire: Vec::new(), deaf: Vec::new(), stuck: Vec::new(), refreshes: 0, seed }
    }

    fn rand(&mut self, n: usize) -> usize {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        (self.seed % n as u64) as usize
    }

    /// Carries out pending work until every tab is idle; time moves on only when nothing
    /// else is pending, at most `max_ms`.
    fn run(&mut self, max_ms: f64) {
        let start = self.tabs[0].now;
        loop {
            // Posted messages go on the wire to every other tab.
            for i in 0..self.tabs.len() {
                for m in std::mem::take(&mut self.tabs[i].outbox) {
                    for j in 0..self.tabs.len() {
                        if j != i && !self.deaf.contains(&j) {
                            self.wire.push((i, j, m.clone()));
                        }
                    }
                }
            }
            let mut work: Vec<(u8, usize)> = Vec::new();
            for (i, t) in self.tabs.iter().enumerate() {
                if !t.cas_ops.is_empty() && !self.stuck.contains(&i) {
                    work.push((0, i));
                }
                if t.fetches.iter().any(|f| f.url.contains("/token")) {
                    work.push((1, i));
                }
            }
            for k in 0..self.wire.len() {
                let (from, to, _) = self.wire[k];
                if !self.wire[..k].iter().any(|w| w.0 == from && w.1 == to) {
                    work.push((2, k));
                }
            }
            if work.is_empty() {
                // Time: the earliest timer of any tab.
                let next = self.tabs.iter().filter_map(|t| t.m.deadline()).min_by(f64::total_cmp);
                match next {
                    Some(at) if at - start <= max_ms => {
                        for t in self.tabs.iter_mut() {
                            if t.now < at {
                                t.now = at;
                            }
                        }
                        for t in self.tabs.iter_mut() {
                            if t.m.deadline().is_some_and(|d| d <= at) {
                                t.send("tick", vec![]);
                            }
                        }
                        continue;
                    }
                    _ => return,
                }
            }
            let (kind, i) = work[self.rand(work.len())];
            match kind {
                0 => {
                    let kv = &mut self.kv;
                    self.tabs[i].do_cas(kv);
                }
                1 => {
                    self.refreshes += 1;
                    self.realm.serve_token(&mut self.tabs[i]);
                }
                _ => {
                    let (_, to, data) = self.wire.remove(i);
                    self.tabs[to].tab_message(&data);
                }
            }
        }
    }

    fn refresh_token(&self, i: usize) -> String {
        self.tabs[i].prop("refreshToken").and_then(|v| v.as_str()).unwrap_or_default().to_string()
    }
}

fn names(w: &World) -> Vec<String> {
    w.event_names()
}

/// Three tabs, 30 rounds of `updateToken(-1)` in all of them at once, in 40 random
/// orders: one refresh per round reaches the realm, no spent token is ever used, every
/// call resolves `true`, every tab ends with the same tokens.
#[test]
fn concurrent_forced_refreshes_in_three_tabs_make_one_refresh_per_round() {
    for seed in 1..=40u64 {
        let mut b = Browser::new(3, json!({ "checkLoginIframe": false, "syncTabs": true }), seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        assert!(b.tabs.iter().all(|t| t.channel.is_some()), "the channel is open once there are tokens");
        for round in 0..30 {
            let before = b.refreshes;
            b.tabs.iter_mut().for_each(|t| t.transcript.clear());
            let ops: Vec<u64> = (0..3).map(|i| b.tabs[i].call("updateToken", vec![json!(-1)])).collect();
            b.run(60_000.0);
            if b.refreshes - before != 1 {
                for t in &b.tabs {
                    eprintln!("-----\n{}", t.transcript.join("\n"));
                }
            }
            assert_eq!(b.refreshes - before, 1, "seed {seed} round {round}: one refresh");
            for (i, op) in ops.iter().enumerate() {
                assert_eq!(b.tabs[i].result(*op), Some(json!(true)), "seed {seed} round {round} tab {i}: {:#?}", &b.tabs[i].transcript[b.tabs[i].transcript.len().saturating_sub(8)..]);
            }
            let r0 = b.refresh_token(0);
            assert!((1..3).all(|i| b.refresh_token(i) == r0), "seed {seed} round {round}: one set of tokens");
            assert!(b.realm.refresh_tokens.contains(&r0), "the shared refresh token is the live one");
        }
        for (i, t) in b.tabs.iter().enumerate() {
            assert!(t.violations.is_empty(), "tab {i}: {:#?}", t.violations);
            assert_eq!(t.prop("authenticated"), Some(&json!(true)));
            // Each tab heard of each round's refresh once: its own, or a sibling's.
            assert_eq!(names(t).iter().filter(|n| *n == "onAuthRefreshSuccess").count(), 30, "seed {seed} tab {i}");
            assert!(!names(t).contains(&"onAuthRefreshError".to_string()));
        }
    }
}

/// Without `syncTabs`, the same rounds lose the session: a tab refreshes with its own
/// chain, and tabs that shared nothing never collide here, so the loss shows with a tab
/// that copied another's tokens the way apps do by hand (here: the realm refuses a spent token).
#[test]
fn without_sync_tabs_each_tab_refreshes_on_its_own() {
    let mut b = Browser::new(3, json!({ "checkLoginIframe": false }), 7);
    assert!(b.tabs.iter().all(|t| t.channel.is_none()), "no channel without syncTabs");
    let ops: Vec<u64> = (0..3).map(|i| b.tabs[i].call("updateToken", vec![json!(-1)])).collect();
    b.run(60_000.0);
    assert_eq!(b.refreshes, 3, "three refreshes for three tabs");
    for (i, op) in ops.iter().enumerate() {
        assert_eq!(b.tabs[i].result(*op), Some(json!(true)));
    }
    assert!(b.kv.is_empty() && b.wire.is_empty());
}

/// A tab that slept through a sibling's refresh (its message lost) asks for the tokens
/// when it refreshes, and takes them instead of spending its stale refresh token.
#[test]
fn a_tab_that_missed_the_tokens_asks_for_them() {
    let mut b = Browser::new(2, json!({ "checkLoginIframe": false, "syncTabs": true }), 11);
    // Round 1 puts both tabs on one chain.
    let ops: Vec<u64> = (0..2).map(|i| b.tabs[i].call("updateToken", vec![json!(-1)])).collect();
    b.run(60_000.0);
    assert!(ops.iter().enumerate().all(|(i, op)| b.tabs[i].result(*op) == Some(json!(true))));
    assert_eq!(b.refresh_token(0), b.refresh_token(1));
    // Tab 1 sleeps through tab 0's refresh.
    b.deaf = vec![1];
    let op = b.tabs[0].call("updateToken", vec![json!(-1)]);
    b.run(60_000.0);
    assert_eq!(b.tabs[0].result(op), Some(json!(true)));
    assert_ne!(b.refresh_token(0), b.refresh_token(1), "tab 1 missed it");
    b.deaf.clear();
    let refreshes = b.refreshes;
    let op = b.tabs[1].call("updateToken", vec![json!(5)]);
    // Its token is still valid for 5 s: nothing to do.
    b.run(60_000.0);
    assert_eq!(b.tabs[1].result(op), Some(json!(false)));
    b.tabs[1].transcript.clear();
    let op = b.tabs[1].call("updateToken", vec![json!(-1)]);
    b.run(60_000.0);
    assert_eq!(b.tabs[1].result(op), Some(json!(true)));
    assert_eq!(b.refreshes, refreshes, "no refresh: it asked, and took tab 0's tokens");
    assert_eq!(b.refresh_token(0), b.refresh_token(1));
    golden("sync_tabs_ask", &b.tabs[1]);
}

/// The tab that missed the tokens asks, nobody answers (the tab that had them is gone): after
/// a bounded wait it refreshes on its own.
#[test]
fn an_unanswered_ask_ends_in_a_refresh_of_its_own() {
    let mut b = Browser::new(2, json!({ "checkLoginIframe": false, "syncTabs": true }), 5);
    b.deaf = vec![1];
    let op = b.tabs[0].call("updateToken", vec![json!(-1)]);
    b.run(60_000.0);
    assert_eq!(b.tabs[0].result(op), Some(json!(true)));
    // Tab 0 is closed.
    b.tabs.remove(0);
    b.deaf.clear();
    let t0 = b.tabs[0].now;
    let op = b.tabs[0].call("updateToken", vec![json!(-1)]);
    b.run(60_000.0);
    assert_eq!(b.tabs[0].result(op), Some(json!(true)), "its own chain is still good");
    let waited = b.tabs[0].now - t0;
    assert!((1500.0..2000.0).contains(&waited), "waited {waited} ms for an answer");
}

/// A logout, a `clearToken()` or an `invalid_grant` in one tab ends the session in all.
#[test]
fn a_logout_in_one_tab_ends_the_session_in_every_tab() {
    let mut b = Browser::new(3, json!({ "checkLoginIframe": false, "syncTabs": true }), 3);
    let op = b.tabs[0].call("clearToken", vec![]);
    b.run(1000.0);
    assert_eq!(b.tabs[0].result(op), Some(json!({ "$undefined": true })));
    for t in &b.tabs {
        assert_eq!(t.prop("authenticated"), Some(&json!(false)));
        assert_eq!(names(t).iter().filter(|n| *n == "onAuthLogout").count(), 1, "once each, no echo");
    }

    let mut b = Browser::new(2, json!({ "checkLoginIframe": false, "syncTabs": true }), 4);
    b.tabs[1].call("logout", vec![]);
    b.run(1000.0);
    assert_eq!(b.tabs[1].navigations.len(), 1, "the page goes to the realm's logout");
    assert_eq!(b.tabs[0].prop("authenticated"), Some(&json!(false)));
    assert_eq!(names(&b.tabs[0]), vec!["onAuthLogout"]);

    let mut b = Browser::new(2, json!({ "checkLoginIframe": false, "syncTabs": true }), 6);
    b.realm.session = false;
    let op = b.tabs[0].call("updateToken", vec![json!(-1)]);
    b.run(60_000.0);
    assert!(b.tabs[0].result(op).is_none() || b.tabs[0].result(op) != Some(json!(true)));
    assert_eq!(b.tabs[1].prop("authenticated"), Some(&json!(false)), "the invalid_grant ended it here too");
}

/// Foreign or malformed messages change nothing: another session's tokens, an older
/// generation, text that is not JSON.
#[test]
fn foreign_messages_are_ignored() {
    let mut b = Browser::new(1, json!({ "checkLoginIframe": false, "syncTabs": true }), 9);
    let before = b.refresh_token(0);
    let t = &mut b.tabs[0];
    t.transcript.clear();
    for m in [
        "not json",
        r#"{"t":"out","s":"another-session"}"#,
        r#"{"t":"tok","g":9,"s":"another-session","a":"x","r":"y"}"#,
        r#"{"t":"tok","g":0,"s":"sid-1","a":"x","r":"y"}"#,
        r#"{"t":"tok","g":3,"s":"sid-1","a":"not a jwt","r":"y"}"#,
        r#"{"t":"tok","g":3,"s":"sid-1","a":null}"#,
        r#"["tok"]"#,
    ] {
        t.tab_message(m);
    }
    assert_eq!(b.refresh_token(0), before);
    assert!(b.tabs[0].events.is_empty(), "{:?}", b.tabs[0].events);
    assert!(b.tabs[0].outbox.is_empty());
}

/// No IndexedDB: the tab refreshes on its own, as without `syncTabs`.
#[test]
fn without_indexeddb_a_tab_refreshes_on_its_own() {
    let mut b = Browser::new(2, json!({ "checkLoginIframe": false, "syncTabs": true }), 8);
    b.tabs[0].idb_broken = true;
    let op = b.tabs[0].call("updateToken", vec![json!(-1)]);
    b.run(60_000.0);
    assert_eq!(b.tabs[0].result(op), Some(json!(true)));
    assert_eq!(b.refreshes, 1);
    assert!(b.tabs[0].live_handles().is_empty(), "the IndexedDB error was released");
}

/// IndexedDB that never answers: the refresh does not wait for it longer than 5 s.
#[test]
fn a_stuck_indexeddb_holds_a_refresh_up_5_s_at_most() {
    let mut b = Browser::new(1, json!({ "checkLoginIframe": false, "syncTabs": true }), 12);
    b.stuck = vec![0];
    let t0 = b.tabs[0].now;
    let op = b.tabs[0].call("updateToken", vec![json!(-1)]);
    b.run(60_000.0);
    assert_eq!(b.tabs[0].result(op), Some(json!(true)));
    assert_eq!(b.refreshes, 1);
    assert_eq!(b.tabs[0].now - t0, 5000.0, "refreshed on its own after 5 s");
}
