//! Token contents (access, ID, refresh, identity cookie), Keycloak 25/26 style.

use crate::model::{Client, Realm, User};
use crate::state::{App, UserSession};
use crate::util::{now, uuid};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Client scopes a request may name (default + optional scopes of a new Keycloak realm).
pub const KNOWN_SCOPES: &[&str] = &[
    "openid", "profile", "email", "roles", "web-origins", "acr", "basic", "address", "phone",
    "offline_access", "microprofile-jwt", "organization",
];
const OPTIONAL_IN_TOKEN: &[&str] = &["address", "phone", "offline_access", "microprofile-jwt", "organization"];

pub fn unknown_scope(scope: Option<&str>) -> bool {
    scope.is_some_and(|s| s.split_whitespace().any(|x| !KNOWN_SCOPES.contains(&x)))
}

/// The `scope` value of a token response / access token.
pub fn granted_scope(requested: Option<&str>) -> String {
    let req: Vec<&str> = requested.unwrap_or("").split_whitespace().collect();
    let mut out: Vec<&str> = Vec::new();
    if req.contains(&"openid") {
        out.push("openid");
    }
    for s in OPTIONAL_IN_TOKEN {
        if req.contains(s) {
            out.push(s);
        }
    }
    out.push("email");
    out.push("profile");
    out.join(" ")
}

pub struct Issued {
    pub access_token: String,
    pub id_token: Option<String>,
    pub refresh_token: Option<String>,
    pub expires_in: i64,
    pub refresh_expires_in: i64,
    pub scope: String,
    /// The response's `token_type`: the access token's `typ` (`Bearer` or `DPoP`),
    /// lower-cased with the client attribute `token.response.type.bearer.lower-case`.
    pub token_type: String,
}

pub struct IssueParams<'a> {
    pub issuer: &'a str,
    pub base: &'a str,
    pub scope: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub acr: &'a str,
    pub lifespan: i64,
    pub refresh: bool,
    pub id_token: bool,
    /// For hybrid-flow `c_hash`.
    pub code: Option<&'a str>,
    /// jti context prefix.
    pub grant: &'a str,
    /// A transient session (the client credentials grant): the tokens carry no `sid`.
    pub transient: bool,
    /// More access-token claims (a service account's `client_id`, `clientHost`, ...).
    pub extra_claims: &'a [(&'a str, Value)],
    /// Refresh-token rotation: the chain the refresh token belongs to (`reuse_id`).
    pub reuse_id: Option<&'a str>,
    /// DPoP: the thumbprint of the request's proof key. Binds the access token (and a
    /// public client's refresh token) to it.
    pub dpop_jkt: Option<&'a str>,
}

fn put(m: &mut Map<String, Value>, k: &str, v: impl Into<Value>) {
    m.insert(k.to_string(), v.into());
}

fn profile_claims(m: &mut Map<String, Value>, user: &User) {
    put(m, "email_verified", user.email_verified);
    if let Some(n) = user.full_name() {
        put(m, "name", n);
    }
    put(m, "preferred_username", user.username.clone());
    if let Some(f) = user.first_name.as_ref().filter(|s| !s.is_empty()) {
        put(m, "given_name", f.clone());
    }
    if let Some(l) = user.last_name.as_ref().filter(|s| !s.is_empty()) {
        put(m, "family_name", l.clone());
    }
    if let Some(e) = &user.email {
        put(m, "email", e.clone());
    }
}

pub fn issue(app: &App, realm: &Realm, client: &Client, user: &User, session: &UserSession, p: &IssueParams) -> Issued {
    let now = now();
    let exp = (now + p.lifespan).min(session.started + realm.sso_max).max(now);
    let scope = granted_scope(p.scope);

    // Roles.
    let roles = realm.effective_roles(user);
    let realm_roles: Vec<String> = roles.iter().filter(|(c, _)| c.is_none()).map(|(_, r)| r.clone()).collect();
    let mut client_roles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (c, r) in &roles {
        if let Some(c) = c {
            client_roles.entry(c.clone()).or_default().push(r.clone());
        }
    }
    let audience: Vec<&String> = client_roles.keys().filter(|c| **c != client.client_id).collect();

    let mut at = Map::new();
    put(&mut at, "exp", exp);
    put(&mut at, "iat", now);
    put(&mut at, "auth_time", session.auth_time);
    put(&mut at, "jti", format!("{}:{}", p.grant, uuid()));
    put(&mut at, "iss", p.issuer);
    match audience.as_slice() {
        [] => {}
        [one] => put(&mut at, "aud", (*one).clone()),
        many => put(&mut at, "aud", many.iter().map(|s| Value::from(s.as_str())).collect::<Vec<_>>()),
    }
    put(&mut at, "sub", user.id.clone());
    let typ = if p.dpop_jkt.is_some() { "DPoP" } else { "Bearer" };
    put(&mut at, "typ", typ);
    put(&mut at, "azp", client.client_id.clone());
    if !p.transient {
        put(&mut at, "sid", session.id.clone());
    }
    put(&mut at, "acr", p.acr);
    let origins = client.web_origins(p.base);
    if !origins.is_empty() {
        put(&mut at, "allowed-origins", origins.into_iter().collect::<Vec<_>>());
    }
    put(&mut at, "realm_access", json!({ "roles": realm_roles }));
    if !client_roles.is_empty() {
        let mut ra = Map::new();
        for (c, r) in &client_roles {
            ra.insert(c.clone(), json!({ "roles": r }));
        }
        put(&mut at, "resource_access", Value::Object(ra));
    }
    if let Some(jkt) = p.dpop_jkt {
        put(&mut at, "cnf", json!({ "jkt": jkt }));
    }
    put(&mut at, "scope", scope.clone());
    profile_claims(&mut at, user);
    for (k, v) in p.extra_claims {
        put(&mut at, k, v.clone());
    }
    let access_token = app.signing_key(realm).sign(&at);

    let id_token = p.id_token.then(|| {
        let mut it = Map::new();
        put(&mut it, "exp", exp);
        put(&mut it, "iat", now);
        put(&mut it, "auth_time", session.auth_time);
        put(&mut it, "jti", format!("{}:{}", p.grant, uuid()));
        put(&mut it, "iss", p.issuer);
        put(&mut it, "aud", client.client_id.clone());
        put(&mut it, "sub", user.id.clone());
        put(&mut it, "typ", "ID");
        put(&mut it, "azp", client.client_id.clone());
        if let Some(n) = p.nonce {
            put(&mut it, "nonce", n);
        }
        if !p.transient {
            put(&mut it, "sid", session.id.clone());
        }
        put(&mut it, "at_hash", crate::jwt::half_hash(&access_token));
        if let Some(code) = p.code {
            put(&mut it, "c_hash", crate::jwt::half_hash(code));
        }
        put(&mut it, "acr", p.acr);
        profile_claims(&mut it, user);
        app.signing_key(realm).sign(&it)
    });

    let mut refresh_expires_in = 0;
    let refresh_token = p.refresh.then(|| {
        let rexp = (now + realm.sso_idle).min(session.started + realm.sso_max);
        refresh_expires_in = (rexp - now).max(0);
        let mut rt = Map::new();
        put(&mut rt, "exp", rexp);
        put(&mut rt, "iat", now);
        put(&mut rt, "jti", uuid());
        put(&mut rt, "iss", p.issuer);
        put(&mut rt, "aud", p.issuer);
        put(&mut rt, "sub", user.id.clone());
        put(&mut rt, "typ", "Refresh");
        put(&mut rt, "azp", client.client_id.clone());
        put(&mut rt, "sid", session.id.clone());
        // RFC 9449 §5: only a public client's refresh token is bound.
        if let Some(jkt) = p.dpop_jkt.filter(|_| client.public_client) {
            put(&mut rt, "cnf", json!({ "jkt": jkt }));
        }
        put(&mut rt, "scope", format!("{scope} web-origins acr roles basic"));
        if let Some(r) = p.reuse_id {
            put(&mut rt, "reuse_id", r);
        }
        crate::jwt::sign_hs512(&realm.hmac_key, &realm.hmac_kid, &rt)
    });

    let token_type = if client.attr_true("token.response.type.bearer.lower-case") { typ.to_lowercase() } else { typ.to_string() };
    Issued { access_token, id_token, refresh_token, expires_in: exp - now, refresh_expires_in, scope, token_type }
}

pub fn token_response(i: &Issued, session_id: &str, not_before: i64) -> Value {
    let mut m = Map::new();
    put(&mut m, "access_token", i.access_token.clone());
    put(&mut m, "expires_in", i.expires_in);
    put(&mut m, "refresh_expires_in", i.refresh_expires_in);
    if let Some(r) = &i.refresh_token {
        put(&mut m, "refresh_token", r.clone());
    }
    put(&mut m, "token_type", i.token_type.clone());
    if let Some(t) = &i.id_token {
        put(&mut m, "id_token", t.clone());
    }
    put(&mut m, "not-before-policy", not_before);
    put(&mut m, "session_state", session_id);
    put(&mut m, "scope", i.scope.clone());
    Value::Object(m)
}

/// The `KEYCLOAK_IDENTITY` cookie value.
pub fn identity_token(realm: &Realm, issuer: &str, session: &UserSession) -> String {
    let mut m = Map::new();
    put(&mut m, "exp", session.started + realm.sso_max);
    put(&mut m, "iat", now());
    put(&mut m, "jti", uuid());
    put(&mut m, "iss", issuer);
    put(&mut m, "sub", session.user_id.clone());
    put(&mut m, "typ", "Serialized-ID");
    put(&mut m, "sid", session.id.clone());
    put(&mut m, "state_checker", crate::util::random_token(32));
    crate::jwt::sign_hs512(&realm.hmac_key, &realm.hmac_kid, &m)
}
