//! Server state: realms plus everything created at run time (sessions, codes, ...).

use crate::jwt::RsaKeys;
use crate::model::Realm;
use std::collections::HashMap;
use std::sync::Mutex;

pub struct App {
    pub state: Mutex<State>,
    pub keys: RsaKeys,
    pub tls: bool,
    pub verbose: bool,
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
    /// Drop expired entries (called now and then).
    pub fn sweep(&mut self, now: i64) {
        self.codes.retain(|_, c| c.expires + 3600 > now);
        self.logout_requests.retain(|_, l| l.created + 1800 > now);
        for a in self.auth_sessions.values_mut() {
            a.tabs.retain(|_, t| t.created + 3600 > now);
        }
        self.auth_sessions.retain(|_, a| !a.tabs.is_empty());
    }
}
