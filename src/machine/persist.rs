//! `persistSession` (ours): the tokens kept for the next page load, encrypted by the
//! driver with a non-extractable AES-GCM key that lives in IndexedDB (a copy of the
//! storage alone is worthless), in sessionStorage (`'session'`: this tab, across reloads)
//! or localStorage (`'local'`: across browser restarts).
//!
//! After every token response the tokens are sealed again; whatever clears them here
//! (`clearToken`, a logout, a status-iframe `changed`, an `invalid_grant`) wipes them. On
//! the next load `init` restores them before its `onLoad` step: a live access token
//! authenticates with no request, an expired one costs one refresh, and tokens that do
//! not decrypt, decode or verify are wiped and `init` goes on as if there were none.
//!
//! Effects: `seal` [mode, name, text], `wipe` [mode, name], `unseal` [id, mode, name]
//! (answered by a `ret` with the text, or none). The latest seal or wipe wins: a wipe is
//! done at once, and a seal still encrypting when a later one or a wipe comes writes nothing.

use super::tokens::Set3;
use super::Machine;
use crate::core::json::{self, Writer};
use alloc::string::String;
use crate::core::encode::PushAscii;

/// The session hint's prefix in the callback store.
const HINT: &str = "kc-wasm-sso-";

impl Machine {
    /// The storage entry's name and the mode's word, or `None` when the option is off.
    fn vault(&self) -> Option<(&'static str, String)> {
        let mode = match self.s.persist() {
            1 => "session",
            2 => "local",
            _ => return None,
        };
        let ep = self.endpoints().ok()?;
        let mut name = String::from("keycloak-wasm ");
        name.push_str(&ep.token());
        name.push_ascii(b' ');
        name.push_str(&self.client_id);
        Some((mode, name))
    }

    fn vault_fx(&mut self, kind: &str, id: Option<u32>, text: Option<&str>) -> bool {
        let Some((mode, name)) = self.vault() else { return false };
        self.fx(kind);
        if let Some(id) = id {
            self.w.int(id as u64);
        }
        self.w.str(mode);
        self.w.str(&name);
        if let Some(t) = text {
            self.w.str(t);
        }
        self.end();
        true
    }

    /// Keeps the tokens just set (access and refresh token both there), else wipes.
    pub(crate) fn persist(&mut self) {
        if self.s.persist() == 0 {
            return;
        }
        let (Some(a), Some(r)) = (&self.sess.access, &self.sess.refresh) else {
            self.persist_wipe();
            return;
        };
        let mut w = Writer::default();
        w.open_obj();
        w.key("a");
        w.str(&a.raw);
        w.key("r");
        w.str(&r.raw);
        if let Some(i) = &self.sess.id {
            w.key("i");
            w.str(&i.raw);
        }
        w.key("m");
        w.int(self.tab_time as u64);
        w.close_obj();
        self.vault_fx("seal", None, Some(&w.s));
    }

    pub(crate) fn persist_wipe(&mut self) {
        self.vault_fx("wipe", None, None);
        self.hint_write(false);
    }

    // ---- the session hint (ours; on unless `sessionHint: false`) -----------------------
    //
    // check-sso with silent check-sso and the status iframe asks the realm only after the
    // status iframe said `changed` (keycloak-js's order): two round trips more for a user
    // with a session. Starting the silent check beside the probe and the status iframe
    // saves them, but costs a visitor without a session an authorization request, and is
    // wasted where third-party cookies are blocked. So it starts early only when this
    // browser's last load of the app ended with a session, the probe finding cookies
    // working: a hint `kc-wasm-sso-<authorization endpoint> <clientId>` in the callback store
    // (no token in it), kept while tokens are set, until the refresh token's expiry, removed
    // when they go, and read once by the next `init`.
    //
    // check-sso by redirect with the status iframe (keycloak-js's defaults) waits the same
    // way for the probe and the iframe's `changed` before its `prompt=none` redirect. With
    // the hint, the redirect leaves at once, before either loads. A wrong hint (the session
    // ended elsewhere) costs one redirect that comes back with `login_required`, once.

    /// Whether this load may use a session hint at all (the option, and no `persistSession`).
    pub(crate) fn hint_ok(&self) -> bool {
        self.s.persist() == 0 && !self.s.no_hint
    }

    /// `<authorization endpoint> <clientId>`: a hint speaks for one client of one realm.
    fn hint_key(&self) -> String {
        let mut key = self.ep.as_ref().map(|e| e.authorize()).unwrap_or_default();
        key.push_ascii(b' ');
        key.push_str(&self.client_id);
        key
    }

    /// Reads (and removes) the hint; `init` hears a `ret` with its text, or none.
    pub(crate) fn hint_read(&mut self, task: u32) {
        let id = self.next_id();
        self.wait(id, task, super::W_RET);
        let key = self.hint_key();
        self.take_in(id, HINT, &key);
    }

    /// Keeps the hint while tokens with a dated refresh token are set (`keep`), else
    /// removes it; nothing unless this load keeps hints. No answer is waited for.
    pub(crate) fn hint_write(&mut self, keep: bool) {
        if !self.hint_on {
            return;
        }
        let id = self.next_id();
        let key = self.hint_key();
        let exp = self.sess.refresh.as_ref().and_then(|r| r.claims.exp).filter(|_| keep && self.sess.access.is_some());
        match exp {
            Some(exp) => {
                self.fx("put");
                self.w.int(id as u64);
                self.w.str(HINT);
                self.w.str(&key);
                self.w.str("{\"sso\":1}");
                self.w.num((exp + self.sess.time_skew.unwrap_or(0.0)) * 1000.0);
                self.end();
            }
            None => self.take_in(id, HINT, &key),
        }
    }

    /// Asks for the kept tokens (`init`); `false` when the option is off.
    pub(crate) fn unseal(&mut self, task: u32) -> bool {
        if self.s.persist() == 0 || self.ep.is_none() {
            return false;
        }
        let id = self.next_id();
        self.wait(id, task, super::W_RET);
        // Storage that never answers: init goes on without after as long as a request may take.
        self.arm(task, self.s.request_timeout);
        self.vault_fx("unseal", Some(id), None)
    }

    /// The kept tokens, decoded, and the local time they were dated by; `None` (and
    /// wiped) when there are none or they are not tokens.
    pub(crate) fn unsealed(&mut self, text: Option<&str>) -> Option<(Set3, Option<f64>)> {
        let text = text?;
        let v = json::parse(text);
        let t = |k: &str| v.as_ref().and_then(|v| v.get(k)).and_then(|x| x.str().map(String::from));
        let set = match (t("a"), t("r")) {
            (Some(a), Some(r)) => self.decode_set(Some(&a), Some(&r), t("i").as_deref(), None).ok(),
            _ => None,
        };
        match set {
            Some(set) if set[0].is_some() && set[1].is_some() => {
                let m = v.as_ref().and_then(|v| v.get("m")).and_then(|x| x.num()).filter(|m| *m > 0.0);
                Some((set, m))
            }
            _ => {
                self.persist_wipe();
                None
            }
        }
    }
}
