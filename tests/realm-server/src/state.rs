//! Server state: realms plus everything created at run time (sessions, codes, ...).

use crate::jwt::RsaKeys;
use crate::model::Realm;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct App {
    pub state: Mutex<State>,
    /// The server-wide RS256 key every realm starts with (its `rsa-generated` provider).
    pub keys: Arc<RsaKeys>,
    pub tls: bool,
    pub verbose: bool,
}

impl App {
    /// The key that signs the realm's access and ID tokens.
    pub fn signing_key<'a>(&'a self, realm: &'a Realm) -> &'a RsaKeys {
        realm.active_key().unwrap_or(&self.keys)
    }

    /// The realm's published keys (JWKS order: the active key first).
    pub fn published_keys<'a>(&'a self, realm: &'a Realm) -> Vec<&'a RsaKeys> {
        if realm.rsa_keys.is_empty() {
            return vec![&self.keys];
        }
        let mut keys: Vec<&crate::model::RealmKey> = realm.rsa_keys.iter().collect();
        keys.sort_by_key(|k| std::cmp::Reverse((k.priority, k.seq)));
        keys.into_iter().map(|k| &*k.key).collect()
    }

    /// Verify an RS256 token against the realm's keys; returns its claims.
    pub fn verify(&self, realm: &Realm, token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
        self.published_keys(realm).into_iter().find_map(|k| k.verify(token))
    }

    /// Give a new realm its `rsa-generated` provider backed by the server-wide key.
    pub fn attach_default_key(&self, realm: &mut Realm) {
        if realm.rsa_keys.is_empty() {
            realm.add_key("rsa-generated", 100, self.keys.clone(), Default::default());
        }
    }
}

#[derive(Default)]
pub struct State {
    pub realms: HashMap<String, Realm>,
    pub store: Store,
}

#[derive(Default)]
pub struct Store {
    pub sessions: HashMap<String, UserSession>,
    pub auth_sessions: HashMap<String, AuthSession>,
    pub codes: HashMap<String, CodeEntry>,
    pub logout_requests: HashMap<String, LogoutRequest>,
    /// DPoP proofs already used (server-wide, like Keycloak's single-use object store).
    pub dpop_replay: crate::dpop::ReplayCache,
}

pub struct UserSession {
    pub id: String,
    pub realm: String,
    pub user_id: String,
    pub started: i64,
    pub last_refresh: i64,
    pub auth_time: i64,
    /// Client sessions, by clientId.
    pub clients: HashMap<String, ClientSession>,
}

#[derive(Default, Clone)]
pub struct ClientSession {
    pub nonce: Option<String>,
    /// The `acr` claim of this client's tokens (kept by refreshes).
    pub acr: String,
    /// Refresh-token rotation, per reuse chain (`reuse_id`): the `jti` in use, how often
    /// it was used, and the `iat` of the last refresh token issued in the chain.
    pub reuse: HashMap<String, (String, i64, i64)>,
}

impl UserSession {
    pub fn active(&self, sso_idle: i64, sso_max: i64, now: i64) -> bool {
        now < self.last_refresh + sso_idle && now < self.started + sso_max
    }
}

/// The root authentication session behind the `AUTH_SESSION_ID` cookie; one tab per
/// pending authorization request.
pub struct AuthSession {
    pub realm: String,
    pub tabs: HashMap<String, AuthTab>,
}

pub struct AuthTab {
    pub req: AuthRequest,
    pub created: i64,
    pub completed: bool,
    /// Set while the tab shows an application-initiated action (`kc_action`) to an
    /// authenticated user.
    pub pending: Option<PendingAction>,
}

/// An authenticated user who still has to finish (or cancel) a required action.
#[derive(Clone, Debug)]
pub struct PendingAction {
    pub session_id: String,
    /// Level of authentication reached: 1 after the login form, 0 by SSO cookie.
    pub loa: i32,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Query,
    Fragment,
    FormPost,
}

#[derive(Clone, Debug)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub code: bool,
    pub id_token: bool,
    pub token: bool,
    pub mode: Mode,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub scope: Option<String>,
    pub challenge: Option<(String, String)>,
    pub login_hint: Option<String>,
    /// `kc_action`: the alias of an application-initiated required action (without its
    /// `:param` suffix).
    pub action: Option<String>,
    /// The action's outcome, echoed in the success redirect as `kc_action_status`.
    pub action_status: Option<&'static str>,
    /// `ui_locales` as sent (space-separated tags, preferred first).
    pub ui_locales: Option<String>,
    /// Requested ACR values (the essential ones of `claims` `id_token.acr`, else its
    /// other values, else `acr_values`, else the client's `default.acr.values`).
    pub acr_values: Vec<String>,
}

pub struct CodeEntry {
    pub realm: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub session_id: String,
    pub scope: Option<String>,
    pub challenge: Option<(String, String)>,
    pub acr: String,
    pub expires: i64,
    pub used: bool,
}

pub struct LogoutRequest {
    pub realm: String,
    pub redirect: Option<String>,
    pub state: Option<String>,
    pub extra_sid: Option<String>,
    pub created: i64,
}

impl Store {
    /// Forget everything belonging to a realm (deleted).
    pub fn drop_realm(&mut self, realm: &str) {
        self.sessions.retain(|_, s| s.realm != realm);
        self.auth_sessions.retain(|_, a| a.realm != realm);
        self.codes.retain(|_, c| c.realm != realm);
        self.logout_requests.retain(|_, l| l.realm != realm);
    }

    /// A realm was renamed.
    pub fn rename_realm(&mut self, old: &str, new: &str) {
        for s in self.sessions.values_mut().filter(|s| s.realm == old) {
            s.realm = new.to_string();
        }
        for a in self.auth_sessions.values_mut().filter(|a| a.realm == old) {
            a.realm = new.to_string();
        }
        for c in self.codes.values_mut().filter(|c| c.realm == old) {
            c.realm = new.to_string();
        }
        for l in self.logout_requests.values_mut().filter(|l| l.realm == old) {
            l.realm = new.to_string();
        }
    }

    /// A client's clientId changed.
    pub fn rename_client(&mut self, realm: &str, old: &str, new: &str) {
        for s in self.sessions.values_mut().filter(|s| s.realm == realm) {
            if let Some(c) = s.clients.remove(old) {
                s.clients.insert(new.to_string(), c);
            }
        }
        for a in self.auth_sessions.values_mut().filter(|a| a.realm == realm) {
            for t in a.tabs.values_mut().filter(|t| t.req.client_id == old) {
                t.req.client_id = new.to_string();
            }
        }
        for c in self.codes.values_mut().filter(|c| c.realm == realm && c.client_id == old) {
            c.client_id = new.to_string();
        }
    }

    /// End every session of a user (admin logout, user deleted). Returns how many.
    pub fn end_user_sessions(&mut self, realm: &str, user_id: &str) -> usize {
        let before = self.sessions.len();
        self.sessions.retain(|_, s| !(s.realm == realm && s.user_id == user_id));
        before - self.sessions.len()
    }

    /// Drop expired entries (called now and then).
    pub fn sweep(&mut self, now: i64) {
        self.codes.retain(|_, c| c.expires + 3600 > now);
        self.logout_requests.retain(|_, l| l.created + 1800 > now);
        self.dpop_replay.sweep(now);
        for a in self.auth_sessions.values_mut() {
            a.tabs.retain(|_, t| t.created + 3600 > now);
        }
        self.auth_sessions.retain(|_, a| !a.tabs.is_empty());
    }
}
