//! The Admin REST subset (`/admin/realms/...`) that Keycloak-style test fixtures call
//! (see `shared/reference/keycloak-admin-subset.md`), plus the master realm with its
//! bootstrap admin. Every call needs a bearer token: a master-realm token with the realm
//! role `admin` may do everything (`create-realm` is enough to create realms); a realm's own
//! token (e.g. a service account's, from the client credentials grant) reaches that realm
//! only, as far as its `realm-management` roles allow (`Caller`).

mod authz;
mod clients;
mod keys;
mod realms;
mod roles;
mod users;

use crate::http::{preflight, Ctx, Out};
use crate::model::{Realm, RoleId};
use crate::state::{App, State};
use crate::util::{now, Params};
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap};

pub const MASTER: &str = "master";

// ------------------------------------------------------------------ bootstrap

/// Bootstrap admin credentials: `KC_BOOTSTRAP_ADMIN_USERNAME` / `KC_BOOTSTRAP_ADMIN_PASSWORD`
/// (Keycloak 26), falling back to the pre-26 `KEYCLOAK_ADMIN` / `KEYCLOAK_ADMIN_PASSWORD`,
/// then to `admin` / `admin` (reported on stderr).
fn bootstrap_credentials() -> (String, String) {
    let var = |names: &[&str]| names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()));
    let user = var(&["KC_BOOTSTRAP_ADMIN_USERNAME", "KEYCLOAK_ADMIN"]);
    let pass = var(&["KC_BOOTSTRAP_ADMIN_PASSWORD", "KEYCLOAK_ADMIN_PASSWORD"]);
    if user.is_none() || pass.is_none() {
        elog!(
            "keycloak-realm-server: KC_BOOTSTRAP_ADMIN_USERNAME/KC_BOOTSTRAP_ADMIN_PASSWORD not set; master realm admin is {}/{}",
            user.as_deref().unwrap_or("admin"),
            if pass.is_some() { "(from the environment)" } else { "admin" }
        );
    }
    (user.unwrap_or_else(|| "admin".into()), pass.unwrap_or_else(|| "admin".into()))
}

/// Add the `master` realm (unless imported) with the bootstrap admin user, who holds the
/// realm roles `admin` and `create-realm`. Master access tokens live 60 s, as in Keycloak.
pub fn bootstrap_master(realms: &mut HashMap<String, Realm>) -> Result<(), String> {
    let (username, password) = bootstrap_credentials();
    let username = username.to_lowercase();
    if let Some(m) = realms.get_mut(MASTER) {
        for r in ["admin", "create-realm"] {
            m.realm_roles.insert(r.into());
        }
        if m.users.iter().any(|u| u.username == username) {
            return Ok(());
        }
        let now = crate::util::now_ms();
        m.users.push(crate::model::User {
            id: crate::util::uuid(),
            username,
            enabled: true,
            email: None,
            first_name: None,
            last_name: None,
            email_verified: false,
            password: Some(password),
            realm_roles: vec!["admin".into(), "create-realm".into()],
            client_roles: Default::default(),
            service_account: None,
            created: now,
            password_created: now,
        });
        return Ok(());
    }
    let rep = json!({
        "realm": MASTER,
        "displayName": "Keycloak",
        "enabled": true,
        "accessTokenLifespan": 60,
        "roles": { "realm": [
            { "name": "admin", "description": "${role_admin}", "composites": { "realm": ["create-realm"] } },
            { "name": "create-realm", "description": "${role_create-realm}" }
        ]},
        "users": [{
            "username": username, "enabled": true,
            "credentials": [{ "type": "password", "value": password }],
            "realmRoles": ["admin"]
        }]
    });
    let rep = serde_json::from_value(rep).map_err(|e| e.to_string())?;
    let (realm, _) = Realm::from_rep(rep)?;
    realms.insert(MASTER.into(), realm);
    Ok(())
}

// ------------------------------------------------------------------ responses

pub(crate) fn error_message(status: u16, msg: &str) -> Out {
    Out::json(status, &json!({ "errorMessage": msg }))
}

pub(crate) fn error(status: u16, msg: &str) -> Out {
    Out::json(status, &json!({ "error": msg }))
}

fn unauthorized() -> Out {
    error(401, "HTTP 401 Unauthorized")
}

pub(crate) fn forbidden() -> Out {
    error(403, "HTTP 403 Forbidden")
}

pub(crate) fn not_found() -> Out {
    error(404, "HTTP 404 Not Found")
}

pub(crate) fn method_not_allowed() -> Out {
    error(405, "HTTP 405 Method Not Allowed")
}

pub(crate) fn bad_json() -> Out {
    Out::json(400, &json!({ "error": "unknown_error", "error_description": "Cannot parse the JSON" }))
}

pub(crate) fn no_content() -> Out {
    Out::new(204)
}

/// 201 with an absolute `Location` (the admin client reads its last segment).
pub(crate) fn created(ctx: &Ctx, path: &str) -> Out {
    Out::new(201).header("location", format!("{}/admin/realms/{path}", ctx.base()))
}

pub(crate) fn json_ok(v: Value) -> Out {
    Out::json(200, &v)
}

// ------------------------------------------------------------------ request bodies

pub(crate) fn body_json(ctx: &Ctx) -> Result<Value, Out> {
    serde_json::from_slice(&ctx.body).map_err(|_| bad_json())
}

pub(crate) fn body_object(ctx: &Ctx) -> Result<Map<String, Value>, Out> {
    match body_json(ctx)? {
        Value::Object(m) => Ok(m),
        _ => Err(bad_json()),
    }
}

/// Field readers that coerce scalars the way Jackson does (`"300"` for a number,
/// `"true"` for a boolean) and answer 400 "Cannot parse the JSON" otherwise. Absent
/// or `null` = not given.
pub(crate) fn opt_i64(o: &Map<String, Value>, k: &str) -> Result<Option<i64>, Out> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
            .map(Some)
            .ok_or_else(bad_json),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad_json()),
        _ => Err(bad_json()),
    }
}

pub(crate) fn opt_bool(o: &Map<String, Value>, k: &str) -> Result<Option<bool>, Out> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
        _ => Err(bad_json()),
    }
}

pub(crate) fn opt_string(o: &Map<String, Value>, k: &str) -> Result<Option<String>, Out> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
        _ => Err(bad_json()),
    }
}

pub(crate) fn opt_string_list(o: &Map<String, Value>, k: &str) -> Result<Option<Vec<String>>, Out> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(_) | Value::Bool(_) => Ok(v.to_string()),
                _ => Err(bad_json()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Err(bad_json()),
    }
}

/// Merge an `attributes` object into a string map: `null`/`""` removes a key.
pub(crate) fn merge_attributes<M: AttrMap>(o: &Map<String, Value>, target: &mut M) -> Result<(), Out> {
    match o.get("attributes") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(a)) => {
            for (k, v) in a {
                match v {
                    Value::Null => target.remove_attr(k),
                    Value::String(s) if s.is_empty() => target.remove_attr(k),
                    Value::Array(_) | Value::Object(_) => return Err(bad_json()),
                    v => target.set_attr(k, crate::model::attr_string(v)),
                }
            }
            Ok(())
        }
        _ => Err(bad_json()),
    }
}

pub(crate) trait AttrMap {
    fn remove_attr(&mut self, k: &str);
    fn set_attr(&mut self, k: &str, v: String);
}

impl AttrMap for HashMap<String, String> {
    fn remove_attr(&mut self, k: &str) {
        self.remove(k);
    }
    fn set_attr(&mut self, k: &str, v: String) {
        self.insert(k.to_string(), v);
    }
}

impl AttrMap for std::collections::BTreeMap<String, String> {
    fn remove_attr(&mut self, k: &str) {
        self.remove(k);
    }
    fn set_attr(&mut self, k: &str, v: String) {
        self.insert(k.to_string(), v);
    }
}

/// Keep the scalar fields of a representation that are not modelled (so GET echoes
/// what PUT set); `null` means "unchanged".
pub(crate) fn store_extras(o: &Map<String, Value>, modelled: &[&str], extra: &mut Map<String, Value>) {
    for (k, v) in o {
        if modelled.contains(&k.as_str()) || k == "id" {
            continue;
        }
        if matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
            extra.insert(k.clone(), v.clone());
        }
    }
}

/// Overlay stored extras onto a representation, never hiding a modelled field.
pub(crate) fn overlay_extras(rep: &mut Map<String, Value>, modelled: &[&str], extra: &Map<String, Value>) {
    for (k, v) in extra {
        if !modelled.contains(&k.as_str()) && k != "id" {
            rep.insert(k.clone(), v.clone());
        }
    }
}

// ------------------------------------------------------------------ query helpers

pub(crate) fn paginate<T>(items: Vec<T>, q: &Params) -> Vec<T> {
    let first = q.get("first").and_then(|f| f.trim().parse::<i64>().ok()).unwrap_or(0).max(0) as usize;
    let max = q.get("max").and_then(|f| f.trim().parse::<i64>().ok()).unwrap_or(100);
    let iter = items.into_iter().skip(first);
    if max < 0 {
        iter.collect()
    } else {
        iter.take(max as usize).collect()
    }
}

// ------------------------------------------------------------------ roles ids

/// A stable UUID-shaped id for a role (derived from the realm id, the container's id
/// and the role name, so client renames keep it).
pub(crate) fn role_id(realm: &Realm, role: &RoleId) -> String {
    let container = match &role.0 {
        None => realm.id.clone(),
        Some(cid) => realm.client(cid).map(|c| c.id.clone()).unwrap_or_else(|| cid.clone()),
    };
    let h = crate::util::sha256(format!("role\n{}\n{}\n{}", realm.id, container, role.1).as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    uuid::Builder::from_random_bytes(b).into_uuid().to_string()
}

// ------------------------------------------------------------------ authentication

/// `AdminRoles.ALL_REALM_ROLES` (26.2): holding one of them on a realm makes a caller an
/// admin of it (`hasAnyAdminRole`).
const ALL_REALM_ROLES: &[&str] = &[
    "create-client", "view-realm", "view-users", "view-clients", "view-events", "view-identity-providers",
    "view-authorization", "manage-realm", "manage-users", "manage-clients", "manage-events",
    "manage-identity-providers", "manage-authorization", "query-users", "query-clients", "query-realms", "query-groups",
];
const QUERY_ROLES: &[&str] = &["query-users", "query-clients", "query-realms", "query-groups"];

/// An authenticated Admin API caller (Keycloak's `AdminAuth`): the realm its token comes
/// from and the roles Keycloak's permission checks (`MgmtPermissions` and friends, fine-grained
/// admin permissions off) look at.
pub(crate) struct Caller {
    realm: String,
    realm_roles: BTreeSet<String>,
    /// Client roles by clientId.
    client_roles: HashMap<String, BTreeSet<String>>,
    /// Every role of the caller's own user, composites expanded (roles of `realm`).
    user_roles: BTreeSet<RoleId>,
}

/// Keycloak's `AdminRoot.authenticateRealmAdminRequest`: the token names its realm (the
/// last segment of `iss`), whose keys must verify it; its client and user must exist and be
/// enabled, and a session it names must still be active. Any failure is 401.
fn authenticate(app: &App, st: &State, ctx: &Ctx) -> Result<Caller, Out> {
    let token = ctx.bearer().ok_or_else(unauthorized)?;
    let unverified = crate::jwt::unverified_claims(&token).ok_or_else(unauthorized)?;
    let iss = unverified.get("iss").and_then(|v| v.as_str()).ok_or_else(unauthorized)?;
    let name = percent_encoding::percent_decode_str(iss.rsplit('/').next().unwrap_or("")).decode_utf8_lossy().into_owned();
    let realm = st.realms.get(&name).ok_or_else(unauthorized)?;
    let claims = app.verify(realm, &token).ok_or_else(unauthorized)?;
    let s = |k: &str| claims.get(k).and_then(|v| v.as_str()).unwrap_or("");
    if s("typ") != "Bearer" || s("iss") != ctx.issuer(&realm.name) {
        return Err(unauthorized());
    }
    if claims.get("exp").and_then(|v| v.as_i64()).is_none_or(|e| e <= now()) {
        return Err(unauthorized());
    }
    let client = realm.client(s("azp")).filter(|c| c.enabled).ok_or_else(unauthorized)?;
    // A service account's token (client credentials) has no session.
    if let Some(sid) = claims.get("sid").and_then(|v| v.as_str()) {
        st.store
            .sessions
            .get(sid)
            .filter(|x| {
                x.realm == realm.name
                    && x.user_id == s("sub")
                    && x.clients.contains_key(&client.client_id)
                    && x.active(realm.sso_idle, realm.sso_max, now())
            })
            .ok_or_else(unauthorized)?;
    }
    let user = realm.user_by_id(s("sub")).filter(|u| u.enabled).ok_or_else(unauthorized)?;
    let user_roles = realm.effective_roles(user);
    let mut realm_roles = BTreeSet::new();
    let mut client_roles: HashMap<String, BTreeSet<String>> = HashMap::new();
    // Keycloak 26 issues lightweight access tokens (no role claims) to `admin-cli`, and
    // then reads the roles from the user at each call; our tokens always carry roles, so
    // for those clients the user's current roles stand in. Others: the token's roles, so
    // a role granted later counts from the next token on.
    if client.client_id == "admin-cli" || client.attr_true("client.use.lightweight.access.token.enabled") {
        for (c, r) in &user_roles {
            match c {
                None => realm_roles.insert(r.clone()),
                Some(c) => client_roles.entry(c.clone()).or_default().insert(r.clone()),
            };
        }
    } else {
        let names = |v: Option<&Value>| -> Vec<String> {
            v.and_then(|v| v.get("roles")).and_then(|r| r.as_array()).into_iter().flatten().filter_map(|r| r.as_str().map(String::from)).collect()
        };
        realm_roles.extend(names(claims.get("realm_access")));
        if let Some(Value::Object(access)) = claims.get("resource_access") {
            for (c, v) in access {
                client_roles.entry(c.clone()).or_default().extend(names(Some(v)));
            }
        }
    }
    Ok(Caller { realm: realm.name.clone(), realm_roles, client_roles, user_roles })
}

impl Caller {
    fn master(&self) -> bool {
        self.realm == MASTER
    }

    /// Only master's tokens reach other realms (`RealmsAdminResource.getRealmAdmin`).
    fn may_target(&self, target: &str) -> bool {
        self.master() || self.realm == target
    }

    /// Keycloak's `hasOneAdminRole` for realm `target`: a realm's own token needs the roles
    /// of its `realm-management` client; a master token those of master's `<target>-realm`
    /// client, which master's realm role `admin` includes (our master realm has no such
    /// clients, so `admin` stands for them all).
    pub(crate) fn has_one(&self, target: &str, roles: &[&str]) -> bool {
        let holds = |client: &str| self.client_roles.get(client).is_some_and(|s| roles.iter().any(|r| s.contains(*r)));
        if self.master() {
            self.realm_roles.contains("admin") || holds(&format!("{target}-realm"))
        } else if self.realm == target {
            holds(crate::model::REALM_MANAGEMENT)
        } else {
            false
        }
    }

    fn can_create_realm(&self) -> bool {
        self.master() && self.realm_roles.contains("create-realm")
    }

    pub(crate) fn is_admin_of(&self, t: &str) -> bool {
        self.has_one(t, ALL_REALM_ROLES)
    }

    // realm (RealmPermissions)
    pub(crate) fn view_realm(&self, t: &str) -> bool {
        self.has_one(t, &["manage-realm", "view-realm"])
    }
    fn manage_realm(&self, t: &str) -> bool {
        self.has_one(t, &["manage-realm"])
    }

    // users (UserPermissions): manage-users implies view, view-users implies query
    pub(crate) fn view_users(&self, t: &str) -> bool {
        self.has_one(t, &["manage-users", "view-users"])
    }
    pub(crate) fn manage_users(&self, t: &str) -> bool {
        self.has_one(t, &["manage-users"])
    }
    fn query_users(&self, t: &str) -> bool {
        self.has_one(t, &["query-users"]) || self.view_users(t)
    }

    // clients (ClientPermissions)
    fn view_clients(&self, t: &str) -> bool {
        self.has_one(t, &["manage-clients", "view-clients"])
    }
    fn manage_clients(&self, t: &str) -> bool {
        self.has_one(t, &["manage-clients"])
    }
    fn list_clients(&self, t: &str) -> bool {
        self.view_clients(t) || self.has_one(t, &["query-clients", "query-users"])
    }
    /// The realm's own admin client (`realm-management`; master's `<realm>-realm` ones)
    /// cannot be managed or configured by anyone (`ClientPermissions.isInternal`).
    fn internal(t: &str, client_id: &str) -> bool {
        if t == MASTER {
            client_id.ends_with("-realm")
        } else {
            client_id == crate::model::REALM_MANAGEMENT
        }
    }
    pub(crate) fn manage_client(&self, t: &str, client_id: &str) -> bool {
        !Self::internal(t, client_id) && self.manage_clients(t)
    }
    pub(crate) fn view_client(&self, t: &str, client_id: &str) -> bool {
        self.view_clients(t) || self.manage_client(t, client_id)
    }
    /// A client that may be listed but not viewed shows only `id` and `clientId`.
    pub(crate) fn list_client(&self, t: &str) -> bool {
        self.has_one(t, &["query-clients"])
    }

    /// `UserPermissions.getAccess`: the `access` object of a user representation.
    pub(crate) fn user_access(&self, t: &str, realm: &Realm, user: &crate::model::User) -> Value {
        let manage = self.manage_users(t);
        json!({
            "manageGroupMembership": manage,
            "view": self.view_users(t),
            "mapRoles": manage,
            "impersonate": self.has_one(t, &["impersonation"]) && !self.outranked_by(t, realm, user),
            "manage": manage,
        })
    }

    /// `hasHigherPrivilegesThanAdmin`: the user holds an admin role the caller does not.
    fn outranked_by(&self, t: &str, realm: &Realm, user: &crate::model::User) -> bool {
        if self.has_one(t, &["realm-admin"]) {
            return false;
        }
        let rm = Some(crate::model::REALM_MANAGEMENT.to_string());
        realm.effective_roles(user).iter().any(|(c, r)| {
            (*c == rm && crate::model::ADMIN_ROLES.contains(&r.as_str()) && !self.has_one(t, &[r]))
                || (t == MASTER && c.is_none() && (r == "admin" || r == "create-realm") && !self.user_roles.contains(&(None, r.clone())))
        })
    }

    /// `RolePermissions.canMapRole` (fine-grained permissions off): `manage-users`, and for an
    /// admin role (`checkAdminRoles`) either holding that role oneself or the permission it
    /// grants; `realm-admin` only for master admins; master's own admin roles never.
    pub(crate) fn can_map_role(&self, t: &str, role: &RoleId) -> bool {
        if !self.manage_users(t) {
            return false;
        }
        let (container, name) = role;
        let admin_role = crate::model::ADMIN_ROLES.contains(&name.as_str()) || name == "admin" || name == "create-realm";
        if !admin_role || (self.realm == t && self.user_roles.contains(role)) {
            return true;
        }
        let permissions_client = if t == MASTER { format!("{MASTER}-realm") } else { crate::model::REALM_MANAGEMENT.to_string() };
        match container {
            Some(c) if *c == permissions_client => match name.as_str() {
                "manage-clients" | "create-client" => self.manage_clients(t),
                "view-clients" => self.view_clients(t),
                "query-realms" | "query-clients" | "query-users" | "query-groups" => true,
                "manage-authorization" => self.has_one(t, &["manage-authorization", "manage-clients"]),
                "view-authorization" => self.has_one(t, &["manage-authorization", "view-authorization"]),
                "manage-events" => self.has_one(t, &["manage-events"]),
                "view-events" => self.has_one(t, &["manage-events", "view-events"]),
                "manage-users" => self.manage_users(t),
                "view-users" => self.view_users(t),
                "manage-identity-providers" => self.has_one(t, &["manage-identity-providers"]),
                "view-identity-providers" => self.has_one(t, &["manage-identity-providers", "view-identity-providers"]),
                "manage-realm" => self.manage_realm(t),
                "view-realm" => self.view_realm(t),
                "impersonation" => self.has_one(t, &["impersonation"]),
                "realm-admin" => self.master() && self.realm_roles.contains("admin"),
                _ => false,
            },
            None => t != MASTER,
            Some(c) => !(t == MASTER && c.ends_with("-realm")),
        }
    }
}

/// The permission a route needs (Keycloak checks it in the resource method, after the
/// sub-resource lookups: realm 404 and other-realm 403 first, then an unknown user or
/// client is 404 only to callers who may list them, 403 to the rest).
fn permit(c: &Caller, st: &State, ctx: &Ctx, segs: &[&str]) -> Result<(), Out> {
    use axum::http::Method;
    let m = &ctx.method;
    let get = m == Method::GET || m == Method::HEAD;
    let (post, put, delete) = (m == Method::POST, m == Method::PUT, m == Method::DELETE);
    let allow = |ok: bool| if ok { Ok(()) } else { Err(forbidden()) };
    let ["realms", t, rest @ ..] = segs else {
        return match segs {
            ["realms"] if post => allow(c.can_create_realm()),
            _ => Ok(()),
        };
    };
    let t = *t;
    let Some(realm) = st.realms.get(t) else {
        return Err(error(404, "Realm not found."));
    };
    allow(c.may_target(t))?;
    match rest {
        [] if get => allow(c.is_admin_of(t)),
        [] if put || delete => allow(c.manage_realm(t)),
        ["users"] | ["users", "count"] if get => allow(c.query_users(t)),
        ["users"] if post => allow(c.manage_users(t)),
        ["users", id, sub @ ..] => {
            if realm.user_by_id(id).is_none() {
                return allow(c.query_users(t));
            }
            match sub {
                _ if get => allow(c.view_users(t)),
                [] if put || delete => allow(c.manage_users(t)),
                ["reset-password"] if put => allow(c.manage_users(t)),
                ["credentials", _] if delete => allow(c.manage_users(t)),
                ["logout"] if post => allow(c.manage_users(t)),
                // Each role is checked too (Caller::can_map_role).
                ["role-mappings", ..] if post || delete => allow(c.manage_users(t)),
                _ => Ok(()),
            }
        }
        ["clients"] if get => allow(c.list_clients(t)),
        ["clients"] if post => allow(c.manage_clients(t)),
        ["clients", id, sub @ ..] => {
            let Some(client) = realm.clients.iter().find(|x| x.id == *id) else {
                return allow(c.list_clients(t));
            };
            let cid = client.client_id.as_str();
            match sub {
                ["authz", ..] if get => allow(authz::may(c, t, false)),
                ["authz", ..] => allow(authz::may(c, t, true)),
                ["roles"] if get => allow(c.view_client(t, cid) || c.list_client(t)),
                _ if get => allow(c.view_client(t, cid)),
                [] if delete => allow(c.manage_client(t, cid)),
                [] if put => allow(c.manage_client(t, cid)),
                ["client-secret"] if post => allow(c.manage_client(t, cid)),
                ["roles"] if post => allow(c.manage_client(t, cid)),
                ["roles", _] if delete => allow(c.manage_client(t, cid)),
                _ => Ok(()),
            }
        }
        ["roles"] if get => allow(c.view_realm(t) || c.has_one(t, QUERY_ROLES)),
        ["roles", ..] if get => allow(c.view_realm(t)),
        ["roles"] if post => allow(c.manage_realm(t)),
        ["roles", _] if delete => allow(c.manage_realm(t)),
        ["components", ..] | ["keys"] if get => allow(c.view_realm(t)),
        ["components", ..] if post || delete => allow(c.manage_realm(t)),
        _ => Ok(()),
    }
}

// ------------------------------------------------------------------ routing

/// What a handler asks the router to do after the state lock is released.
pub(crate) enum Next {
    Done(Out),
    /// Generate an RSA key (slow) outside the lock, then add it to the realm.
    GenerateKey(keys::KeyPlan),
}

impl From<Out> for Next {
    fn from(o: Out) -> Next {
        Next::Done(o)
    }
}

/// Is this an admin path (also `//admin/...`, which older admin clients send)?
pub fn is_admin_path(path: &str) -> bool {
    let p = path.trim_start_matches('/');
    p == "admin" || p.starts_with("admin/")
}

pub fn route(app: &App, ctx: &Ctx) -> Out {
    if ctx.method == axum::http::Method::OPTIONS {
        return preflight(ctx, "GET, HEAD, PUT, POST, DELETE, OPTIONS");
    }
    let segs: Vec<String> = ctx
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .skip(1)
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let segs: Vec<&str> = segs.iter().map(|s| s.as_str()).collect();
    let next = {
        let mut guard = app.state.lock().unwrap_or_else(|e| e.into_inner());
        let caller = match authenticate(app, &guard, ctx) {
            Ok(c) => c,
            Err(o) => return o.cors_any(ctx),
        };
        if let Err(o) = permit(&caller, &guard, ctx, &segs) {
            return o.cors_any(ctx);
        }
        dispatch(app, &mut guard, ctx, &segs, &caller)
    };
    let out = match next {
        Next::Done(o) => o,
        Next::GenerateKey(plan) => keys::finish(app, ctx, plan),
    };
    out.cors_any(ctx)
}

fn dispatch(app: &App, st: &mut State, ctx: &Ctx, segs: &[&str], caller: &Caller) -> Next {
    use axum::http::Method;
    let m = &ctx.method;
    let get = m == Method::GET || m == Method::HEAD;
    let (post, put, delete) = (m == Method::POST, m == Method::PUT, m == Method::DELETE);
    let q = Params::parse(&ctx.query);
    match segs {
        ["realms"] if get => realms::list(st, caller).into(),
        ["realms"] if post => realms::create(app, st, ctx).into(),
        ["realms"] => method_not_allowed().into(),
        ["realms", r, rest @ ..] => {
            let r = *r;
            if !st.realms.contains_key(r) {
                return error(404, "Realm not found.").into();
            }
            let out = match rest {
                [] if get => realms::get(st, r, caller),
                [] if put => realms::update(st, ctx, r),
                [] if delete => realms::delete(st, r),
                ["clients"] if get => clients::list(st, r, &q, caller),
                ["clients"] if post => clients::create(st, ctx, r),
                ["clients", id] if get => clients::get(st, r, id, caller),
                ["clients", id] if put => clients::update(st, ctx, r, id),
                ["clients", id] if delete => clients::delete(st, r, id),
                ["clients", id, "client-secret"] if get => clients::secret(st, r, id, false),
                ["clients", id, "client-secret"] if post => clients::secret(st, r, id, true),
                ["clients", id, "service-account-user"] if get => clients::service_account_user(st, r, id, caller),
                ["clients", id, "authz", "resource-server"] if get => authz::get(st, r, id, None),
                ["clients", id, "authz", "resource-server"] if put => authz::change(st, ctx, r, id, false),
                ["clients", id, "authz", "resource-server", "import"] if post => authz::change(st, ctx, r, id, true),
                ["clients", id, "authz", "resource-server", part] if get => authz::get(st, r, id, Some(part)),
                ["clients", id, "roles"] if get => roles::list(st, r, Some(id)),
                ["clients", id, "roles"] if post => roles::create(st, ctx, r, Some(id)),
                ["clients", id, "roles", name] if get => roles::get(st, r, Some(id), name),
                ["clients", id, "roles", name] if delete => roles::delete(st, r, Some(id), name),
                ["roles"] if get => roles::list(st, r, None),
                ["roles"] if post => roles::create(st, ctx, r, None),
                ["roles", name] if get => roles::get(st, r, None, name),
                ["roles", name] if delete => roles::delete(st, r, None, name),
                ["users"] if get => users::list(st, r, &q, caller),
                ["users"] if post => users::create(st, ctx, r),
                ["users", "count"] if get => users::count(st, r, &q, caller),
                ["users", id] if get => users::get(st, r, id, caller),
                ["users", id] if put => users::update(st, ctx, r, id),
                ["users", id] if delete => users::delete(st, r, id),
                ["users", id, "reset-password"] if put => users::reset_password(st, ctx, r, id),
                ["users", id, "credentials"] if get => users::credentials(st, r, id),
                ["users", id, "credentials", cred] if delete => users::delete_credential(st, r, id, cred),
                ["users", id, "logout"] if post => users::logout(st, r, id),
                ["users", id, "sessions"] if get => users::sessions(st, r, id),
                ["users", id, "role-mappings"] if get => roles::user_mappings(st, r, id),
                ["users", id, "role-mappings", "realm"] if get => roles::user_direct(st, r, id, None),
                ["users", id, "role-mappings", "realm"] if post || delete => roles::change_mappings(st, ctx, r, id, None, post, caller),
                ["users", id, "role-mappings", "realm", "composite"] if get => roles::user_effective(st, r, id, None),
                ["users", id, "role-mappings", "clients", c] if get => roles::user_direct(st, r, id, Some(c)),
                ["users", id, "role-mappings", "clients", c] if post || delete => {
                    roles::change_mappings(st, ctx, r, id, Some(c), post, caller)
                }
                ["users", id, "role-mappings", "clients", c, "composite"] if get => roles::user_effective(st, r, id, Some(c)),
                ["components"] if get => keys::list_components(st, r, &q),
                ["components"] if post => return keys::create_component(st, ctx, r),
                ["components", id] if get => keys::get_component(st, r, id),
                ["components", id] if delete => keys::delete_component(st, r, id),
                ["keys"] if get => keys::keys(app, st, r),
                []
                | ["clients"]
                | ["clients", _]
                | ["clients", _, "client-secret"]
                | ["clients", _, "service-account-user"]
                | ["clients", _, "authz", "resource-server"]
                | ["clients", _, "authz", "resource-server", _]
                | ["clients", _, "roles"]
                | ["clients", _, "roles", _]
                | ["roles"]
                | ["roles", _]
                | ["users"]
                | ["users", "count"]
                | ["users", _]
                | ["users", _, "reset-password" | "credentials" | "logout" | "sessions" | "role-mappings"]
                | ["users", _, "credentials", _]
                | ["users", _, "role-mappings", "realm"]
                | ["users", _, "role-mappings", "realm", "composite"]
                | ["users", _, "role-mappings", "clients", _]
                | ["users", _, "role-mappings", "clients", _, "composite"]
                | ["components"]
                | ["components", _]
                | ["keys"] => method_not_allowed(),
                _ => not_found(),
            };
            out.into()
        }
        _ => not_found().into(),
    }
}

/// Role names of a `composites` object (`{"realm": [...], "client": {"cid": [...]}}`).
pub(crate) fn composites_of(v: Option<&Value>) -> Result<BTreeSet<RoleId>, Out> {
    let mut out = BTreeSet::new();
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(out);
    };
    let o = v.as_object().ok_or_else(bad_json)?;
    for r in opt_string_list(o, "realm")?.unwrap_or_default() {
        out.insert((None, r));
    }
    match o.get("client") {
        None | Some(Value::Null) => {}
        Some(Value::Object(c)) => {
            for cid in c.keys() {
                for r in opt_string_list(c, cid)?.unwrap_or_default() {
                    out.insert((Some(cid.clone()), r));
                }
            }
        }
        _ => return Err(bad_json()),
    }
    Ok(out)
}
