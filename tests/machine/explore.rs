//! Seeded schedule exploration: for each seed, a random page set-up and a random
//! schedule of what the outside world does: responses in any order, dropped ones (then
//! the browser's request timeout), 5xx, 400, network errors, bodies that are not JSON,
//! frames that never load, messages from foreign origins and foreign frames, garbage,
//! replayed (stale) inputs, timers fired early and late, and app calls in between.
//!
//! After every step: no double settle, no request without a bound, at most one refresh
//! in flight, tokens replaced all-or-nothing, released handles never used, no panic.
//! At the end the world falls silent and time runs on: every call that did not navigate
//! away must have settled, and every handle must have been released.
//!
//! `SEEDS=n` sets the number of seeds (default 10,000); `SEED=n` runs one, printing its
//! transcript.

use super::realm::{payload, Realm, APP, ORIGIN};
use super::world::{Fetch, World};
use serde_json::{json, Value};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

/// A page whose navigation ended the world (login, logout, account console).
fn gone(w: &World) -> bool {
    !w.navigations.is_empty() || !w.forms.is_empty()
}

fn gen_of(v: Option<&Value>) -> Option<u64> {
    v.and_then(|t| t.as_str()).and_then(payload).and_then(|p| p.get("gen").and_then(|g| g.as_u64()))
}

fn check(w: &mut World, seed: u64) {
    let refreshes = w.fetches.iter().filter(|f| f.form("grant_type").as_deref() == Some("refresh_token")).count();
    if refreshes > 1 {
        w.violations.push(format!("{refreshes} refreshes in flight"));
    }
    let gens: Vec<u64> = ["token", "refreshToken", "idToken"].iter().filter_map(|k| gen_of(w.prop(k))).collect();
    if gens.windows(2).any(|p| p[0] != p[1]) {
        w.violations.push(format!("tokens from different responses: {gens:?}"));
    }
    if !w.violations.is_empty() {
        if std::env::var("SEED").is_ok() {
            for l in &w.transcript {
                println!("{l}");
            }
            println!("events {:?}", w.event_names());
        }
        panic!("seed {seed}: {:#?}\n(SEED={seed} cargo test --test machine explore -- --nocapture prints its transcript)", w.violations);
    }
}

/// The realm's answer to a request (what the demo realm would say).
fn realm_answer(w: &mut World, realm: &mut Realm, f: &Fetch) {
    if f.url.ends_with("/token") {
        match realm.token(f, w.now) {
            (200, body) => w.answer(f, body),
            (status, body) => w.answer_status(f, status, body),
        }
    } else if f.url.ends_with("/certs") {
        // Now and then keys that do not include the signing key (a realm that rotated).
        let mut keys = super::realm::jwks();
        if (w.now as u64) % 5 == 0 {
            keys["keys"].as_array_mut().unwrap().pop();
        }
        w.answer(f, keys);
    } else if f.url.ends_with("/userinfo") || f.url.ends_with("/account") {
        if realm.session {
            w.answer(f, json!({ "sub": "alice-id" }));
        } else {
            w.answer_status(f, 401, json!({}));
        }
    } else {
        w.answer_status(f, 404, json!({}));
    }
}

fn answer_frame_message(w: &mut World, realm: &mut Realm, rng: &mut Rng) -> bool {
    let Some(frame) = w.frames.get(rng.below(w.frames.len().max(1) as u64) as usize).cloned() else { return false };
    match frame.title.as_str() {
        "keycloak-3p-check-iframe" => {
            let a = if realm.cookies_3p { "supported" } else { "unsupported" };
            w.message(frame.id, ORIGIN, Some(a));
        }
        "keycloak-silent-check-sso" => {
            let cb = realm.authorize(&frame.src);
            w.message(frame.id, APP, Some(&cb));
        }
        _ => {
            if let Some(i) = w.posts.iter().position(|p| p.0 == frame.id) {
                let (_, msg, _) = w.posts.remove(i);
                let a = realm.status(&msg);
                w.message(frame.id, ORIGIN, Some(a));
            } else {
                w.load(frame.id);
            }
        }
    }
    true
}

fn forge(w: &mut World, rng: &mut Rng) {
    let frame = w.frames.first().map(|f| f.id).unwrap_or(7);
    match rng.below(9) {
        // A sibling tab's messages (syncTabs): a logout of this session, tokens of another.
        7 => w.tab_message(r#"{"t":"out","s":"sid-1"}"#),
        8 => w.tab_message(r#"{"t":"tok","g":99,"s":"sid-1","a":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln","r":"x"}"#),
        0 => w.message(frame, "http://evil.example", Some("changed")),
        1 => w.message(9_999, ORIGIN, Some("changed")),
        2 => w.message(frame, ORIGIN, Some("garbage")),
        3 => w.message(frame, ORIGIN, None),
        4 => w.message(frame, APP, Some("http://app.localhost:3000/#state=forged&code=c")),
        // A stale or foreign completion: an id that is not waited for.
        5 => {
            let h = w.keep(json!({ "late": true }));
            w.send("http", vec![json!(rng.below(40)), json!(200), json!("{\"access_token\":\"x\"}"), json!(h)]);
        }
        _ => {
            let h = w.keep(json!("thrown"));
            w.send("resume", vec![json!(rng.below(40)), json!(h)]);
        }
    }
}

fn app_call(w: &mut World, rng: &mut Rng) {
    match rng.below(9) {
        0 | 1 => {
            let mv = rng.pick(&[json!(-1), json!(5), json!(0), json!(400), json!("abc"), json!(null)]).clone();
            w.call("updateToken", vec![mv]);
        }
        2 => {
            w.call("clearToken", vec![]);
        }
        3 => {
            w.call("isTokenExpired", vec![json!(rng.below(500))]);
        }
        4 => {
            w.call("loadUserInfo", vec![]);
        }
        5 => {
            w.call("createLoginUrl", vec![json!({ "prompt": "none" })]);
        }
        6 => {
            w.call("createLogoutUrl", vec![json!(null)]);
        }
        7 => {
            w.call("handleCallback", vec![json!("http://app.localhost:3000/#state=nope&code=c")]);
        }
        _ => {
            let op = w.call("init", vec![json!({})]);
            let _ = op;
        }
    }
}

/// Builds the page of one seed; returns the world, the realm and the init call.
fn setup(rng: &mut Rng) -> (World, Realm) {
    let mut realm = Realm::new();
    realm.session = rng.chance(60);
    realm.cookies_3p = rng.chance(75);
    realm.rotate = rng.chance(30);
    realm.lifetime = *rng.pick(&[2, 60, 300]);
    let mut w = World::new(super::realm::config());
    if rng.chance(10) {
        w.local_broken = true;
    }
    let mut init = json!({});
    match rng.below(6) {
        n @ (0 | 1) => {
            init["onLoad"] = json!("check-sso");
            if n == 1 {
                init["silentCheckSsoRedirectUri"] = json!(format!("{APP}/silent-check-sso.html"));
            }
            // The last load left the session hint (right or wrong now): the redirect leaves
            // at once, or the silent check starts beside the probe and the status iframe.
            if rng.chance(50) {
                let value = format!("{{\"sso\":1,\"expires\":{}}}", w.now + 3.6e6);
                if w.local_broken {
                    w.cookies.insert(super::HINT_KEY.into(), ("{\"sso\":1}".into(), w.now + 3.6e6));
                } else {
                    w.local.insert(super::HINT_KEY.into(), value);
                }
            }
        }
        2 => {
            // The page loads with a login callback.
            let mut pre = World::new(super::realm::config());
            pre.local_broken = w.local_broken;
            let op = pre.call("init", vec![json!({ "checkLoginIframe": false })]);
            let _ = op;
            let url = pre.call("createLoginUrl", vec![json!({})]);
            if let Some(super::world::Settled::Ok(u)) = pre.settled(url).cloned() {
                let s = realm.session;
                realm.session = rng.chance(85) || s;
                w.href = realm.authorize(u.as_str().unwrap());
                realm.session = s || realm.session;
            }
            w.local = pre.local.clone();
            w.cookies = pre.cookies.clone();
        }
        3 => {
            // Tokens from an earlier page.
            let cb = realm.authorize("x?redirect_uri=y&state=s");
            if let Some(code) = super::world::url_param(&cb, "code") {
                let f = Fetch { id: 0, url: String::new(), method: "POST".into(), body: Some(format!("code={code}&grant_type=authorization_code")), headers: vec![], credentials: true, timeout: 1.0, sent: 0.0 };
                let t = realm.token(&f, w.now).1;
                init["token"] = t["access_token"].clone();
                init["refreshToken"] = t["refresh_token"].clone();
                init["idToken"] = t["id_token"].clone();
            }
        }
        _ => {}
    }
    if rng.chance(40) {
        init["checkLoginIframe"] = json!(false);
    }
    if rng.chance(30) {
        init["messageReceiveTimeout"] = json!(1000);
    }
    if rng.chance(30) {
        init["requestTimeout"] = json!(3000);
    }
    if rng.chance(20) {
        init["silentCheckSsoFallback"] = json!(false);
    }
    if rng.chance(20) {
        init["flow"] = json!(*rng.pick(&["implicit", "hybrid"]));
    }
    if rng.chance(25) {
        init["verifyTokens"] = json!(true);
    }
    if rng.chance(25) {
        init["autoRefresh"] = if rng.chance(50) { json!(true) } else { json!({ "minValidity": 5 }) };
    }
    if rng.chance(20) {
        init["persistSession"] = json!(*rng.pick(&["local", "session"]));
    }
    if rng.chance(20) {
        init["dpop"] = json!(true);
    }
    if rng.chance(20) {
        init["syncTabs"] = json!(true);
    }
    w.call("init", vec![init]);
    (w, realm)
}

/// What a seed reached (the explorer must reach each often enough to mean something).
#[derive(Default, Debug)]
struct Reached {
    authenticated: u32,
    init_resolved: u32,
    init_rejected: u32,
    navigated: u32,
    refreshed: u32,
    refresh_failed: u32,
    logged_out: u32,
    timeouts: u32,
    /// A silent check-sso frame created while the third-party-cookie probe still ran.
    early_silent: u32,
    /// A status iframe removed again (the probe found cookies blocked, or it timed out).
    status_frame_dropped: u32,
    /// Tokens checked against the realm's keys (`verifyTokens`), and refused.
    verified: u32,
    verify_refused: u32,
}

/// (early_silent, status_frame_dropped) read from the effects in a transcript.
fn early_paths(transcript: &[String]) -> (u32, u32) {
    let (mut probe, mut status): (Option<String>, Vec<String>) = (None, Vec::new());
    let (mut early, mut dropped) = (0, 0);
    for l in transcript.iter().filter_map(|l| l.strip_prefix("< ")) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(l) else { continue };
        let id = v[2].to_string();
        match v[0].as_str() {
            Some("frame") if l.contains("keycloak-3p-check-iframe") => probe = Some(id),
            Some("frame") if l.contains("keycloak-session-iframe") => status.push(id),
            Some("frame") if l.contains("keycloak-silent-check-sso") && probe.is_some() => early = 1,
            Some("unframe") => {
                let id = v[1].to_string();
                if probe.as_ref() == Some(&id) {
                    probe = None;
                }
                if status.contains(&id) {
                    dropped = 1;
                }
            }
            _ => {}
        }
    }
    (early, dropped)
}

fn run_seed(seed: u64, verbose: bool) -> Reached {
    let mut rng = Rng(seed.wrapping_mul(0x9E3779B97F4A7C15) | 1);
    let (mut w, mut realm) = setup(&mut rng);
    // App callbacks that call back in (re-entrancy) now and then.
    if rng.chance(15) {
        w.hooks.insert("onAuthSuccess".into(), Box::new(|w: &mut World| {
            w.call("clearToken", vec![]);
            None
        }));
    }
    if rng.chance(10) {
        w.hooks.insert("onAuthRefreshSuccess".into(), Box::new(|w: &mut World| {
            w.call("updateToken", vec![json!(-1)]);
            None
        }));
    }
    if rng.chance(10) {
        w.hooks.insert("onAuthLogout".into(), Box::new(|_: &mut World| Some(json!("callback threw"))));
    }
    check(&mut w, seed);
    let steps = 20 + rng.below(60);
    let mut dropped: Vec<Fetch> = Vec::new();
    // syncTabs: the browser's IndexedDB (its transactions answer in order, at any moment).
    let mut kv = std::collections::HashMap::new();
    for _ in 0..steps {
        if gone(&w) {
            break;
        }
        if !w.cas_ops.is_empty() && rng.chance(50) {
            w.do_cas(&mut kv);
            check(&mut w, seed);
            continue;
        }
        match rng.below(100) {
            // a pending request: answered by the realm, a 5xx, a network error, not JSON, or dropped
            0..=34 if !w.fetches.is_empty() => {
                let i = rng.below(w.fetches.len() as u64) as usize;
                let f = w.fetches.remove(i);
                match rng.below(10) {
                    0 => w.answer_status(&f, 503, json!({})),
                    1 => w.answer_thrown(&f, "TypeError: Failed to fetch"),
                    2 => w.answer_thrown(&f, "SyntaxError: Unexpected token"),
                    3 => dropped.push(f),
                    _ => realm_answer(&mut w, &mut realm, &f),
                }
            }
            35..=59 => {
                if !answer_frame_message(&mut w, &mut realm, &mut rng) {
                    w.advance(rng.below(3000) as f64);
                }
            }
            // time: the timer on time, early, or late; dropped requests time out
            60..=74 => {
                let at = w.m.deadline();
                match (rng.below(3), at) {
                    (0, Some(_)) => {
                        w.fire_timer();
                    }
                    (1, Some(at)) => {
                        // early: the driver's timer fires before the deadline (clock drift)
                        w.now = w.now.max(at - 1.0 - rng.below(500) as f64);
                        w.send("tick", vec![]);
                    }
                    _ => w.advance(rng.below(12_000) as f64),
                }
                let now = w.now;
                let due: Vec<Fetch> = dropped.iter().filter(|f| f.sent + f.timeout <= now).cloned().collect();
                dropped.retain(|f| f.sent + f.timeout > now);
                for f in due {
                    w.answer_thrown(&f, "TimeoutError: signal timed out");
                }
            }
            75..=84 => app_call(&mut w, &mut rng),
            85..=89 => realm.session = !realm.session,
            _ => forge(&mut w, &mut rng),
        }
        check(&mut w, seed);
    }
    if !gone(&w) {
        // The world falls silent: nothing answers any more, time runs on. Every bound
        // must fire: each call settles (unless its page navigated away).
        for _ in 0..200 {
            if gone(&w) {
                break;
            }
            while w.do_cas(&mut kv) {}
            let now = w.now;
            for f in std::mem::take(&mut w.fetches).into_iter().chain(dropped.drain(..)) {
                if f.sent + f.timeout <= now + 600_000.0 {
                    w.now = w.now.max(f.sent + f.timeout);
                    w.answer_thrown(&f, "TimeoutError: signal timed out");
                } else {
                    w.violations.push(format!("a request bounded by {} ms", f.timeout));
                }
            }
            if !w.fire_timer() {
                break;
            }
            // Polling re-arms forever while logged in; stop once every call has settled.
            if w.ops.values().all(|o| o.1.is_some()) && w.fetches.is_empty() {
                break;
            }
        }
        if !gone(&w) {
            let pending: Vec<_> = w.ops.iter().filter(|(_, o)| o.1.is_none()).map(|(op, o)| format!("{op} {}", o.0)).collect();
            if !pending.is_empty() {
                w.violations.push(format!("calls that never settle: {pending:?}"));
            }
            if w.fetches.is_empty() {
                let live: Vec<i64> = w.live_handles().into_iter().collect();
                if !live.is_empty() {
                    w.violations.push(format!("handles never released: {live:?}"));
                }
            }
        }
        check(&mut w, seed);
    }
    if verbose {
        for l in &w.transcript {
            println!("{l}");
        }
        println!("events {:?}", w.event_names());
    }
    let names = w.event_names();
    let has = |n: &str| names.iter().any(|e| e == n) as u32;
    let (early_silent, status_frame_dropped) = early_paths(&w.transcript);
    Reached {
        early_silent,
        status_frame_dropped,
        verified: w.transcript.iter().any(|l| l.starts_with("< [\"verify\"")) as u32,
        verify_refused: w.transcript.iter().any(|l| l.contains("Token verification failed")) as u32,
        authenticated: has("onAuthSuccess"),
        init_resolved: matches!(w.settled(1), Some(super::world::Settled::Ok(_))) as u32,
        init_rejected: matches!(w.settled(1), Some(super::world::Settled::Err(_))) as u32,
        navigated: gone(&w) as u32,
        refreshed: has("onAuthRefreshSuccess"),
        refresh_failed: has("onAuthRefreshError"),
        logged_out: has("onAuthLogout"),
        timeouts: w.transcript.iter().any(|l| l.contains("Timeout when")) as u32,
    }
}

#[test]
fn explore() {
    if let Some(seed) = std::env::var("SEED").ok().and_then(|s| s.parse().ok()) {
        run_seed(seed, true);
        return;
    }
    let seeds: u64 = std::env::var("SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let mut total = Reached::default();
    for seed in 0..seeds {
        match std::panic::catch_unwind(|| run_seed(seed, false)) {
            Ok(r) => {
                total.authenticated += r.authenticated;
                total.init_resolved += r.init_resolved;
                total.init_rejected += r.init_rejected;
                total.navigated += r.navigated;
                total.refreshed += r.refreshed;
                total.refresh_failed += r.refresh_failed;
                total.logged_out += r.logged_out;
                total.timeouts += r.timeouts;
                total.early_silent += r.early_silent;
                total.status_frame_dropped += r.status_frame_dropped;
                total.verified += r.verified;
                total.verify_refused += r.verify_refused;
            }
            Err(e) => {
                let msg = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
                panic!("seed {seed} failed: {msg}");
            }
        }
    }
    println!("{seeds} seeds reached: {total:?}");
    // Each outcome must be common, or the schedules explore little.
    if seeds >= 1000 {
        let floor = (seeds / 50) as u32;
        for (what, n) in [("authenticated", total.authenticated), ("init resolved", total.init_resolved), ("init rejected", total.init_rejected), ("navigated", total.navigated), ("refreshed", total.refreshed), ("refresh failed", total.refresh_failed), ("logged out", total.logged_out), ("timed out", total.timeouts)] {
            assert!(n >= floor, "only {n} of {seeds} seeds {what}: {total:?}");
        }
        // Rarer paths (they need one configuration and one order of answers).
        for (what, n) in [("started silent check-sso beside the probe", total.early_silent), ("dropped a status iframe", total.status_frame_dropped), ("verified tokens", total.verified), ("refused tokens", total.verify_refused)] {
            assert!(n >= floor / 10, "only {n} of {seeds} seeds {what}: {total:?}");
        }
    }
}
