//! The Admin REST subset (`/admin/realms/...`) that Keycloak-style test fixtures call
//! (see `shared/reference/keycloak-admin-subset.md`), plus the master realm with its
//! bootstrap admin. Every call needs a bearer token of a master-realm user with the
//! realm role `admin` (`create-realm` is enough to create realms).

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

fn forbidden() -> Out {
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

/// Who is calling: a master-realm user with `admin` (all) or only `create-realm`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    Admin,
    CreateRealmOnly,
}

fn authorize(app: &App, st: &State, ctx: &Ctx) -> Result<Caller, Out> {
    let token = ctx.bearer().ok_or_else(unauthorized)?;
    let master = st.realms.get(MASTER).ok_or_else(unauthorized)?;
    let claims = app.verify(master, &token).ok_or_else(unauthorized)?;
    let s = |k: &str| claims.get(k).and_then(|v| v.as_str()).unwrap_or("");
    if s("typ") != "Bearer" || s("iss") != ctx.issuer(MASTER) {
        return Err(unauthorized());
    }
    if claims.get("exp").and_then(|v| v.as_i64()).is_none_or(|e| e <= now()) {
        return Err(unauthorized());
    }
    let session = st
        .store
        .sessions
        .get(s("sid"))
        .filter(|x| x.realm == MASTER && x.user_id == s("sub") && x.active(master.sso_idle, master.sso_max, now()))
        .ok_or_else(unauthorized)?;
    let user = master.user_by_id(&session.user_id).filter(|u| u.enabled).ok_or_else(unauthorized)?;
    let roles = master.effective_roles(user);
    if roles.contains(&(None, "admin".to_string())) {
        Ok(Caller::Admin)
    } else if roles.contains(&(None, "create-realm".to_string())) {
        Ok(Caller::CreateRealmOnly)
    } else {
        Err(forbidden())
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
        let caller = match authorize(app, &guard, ctx) {
            Ok(c) => c,
            Err(o) => return o.cors_any(ctx),
        };
        if caller == Caller::CreateRealmOnly && !(segs == ["realms"] && ctx.method == axum::http::Method::POST) {
            return forbidden().cors_any(ctx);
        }
        dispatch(app, &mut guard, ctx, &segs)
    };
    let out = match next {
        Next::Done(o) => o,
        Next::GenerateKey(plan) => keys::finish(app, ctx, plan),
    };
    out.cors_any(ctx)
}

fn dispatch(app: &App, st: &mut State, ctx: &Ctx, segs: &[&str]) -> Next {
    use axum::http::Method;
    let m = &ctx.method;
    let get = m == Method::GET || m == Method::HEAD;
    let (post, put, delete) = (m == Method::POST, m == Method::PUT, m == Method::DELETE);
    let q = Params::parse(&ctx.query);
    match segs {
        ["realms"] if get => realms::list(app, st).into(),
        ["realms"] if post => realms::create(app, st, ctx).into(),
        ["realms"] => method_not_allowed().into(),
        ["realms", r, rest @ ..] => {
            let r = *r;
            if !st.realms.contains_key(r) {
                return error(404, "Realm not found.").into();
            }
            let out = match rest {
                [] if get => realms::get(app, st, r),
                [] if put => realms::update(st, ctx, r),
                [] if delete => realms::delete(st, r),
                ["clients"] if get => clients::list(st, r, &q),
                ["clients"] if post => clients::create(st, ctx, r),
                ["clients", id] if get => clients::get(st, r, id),
                ["clients", id] if put => clients::update(st, ctx, r, id),
                ["clients", id] if delete => clients::delete(st, r, id),
                ["clients", id, "client-secret"] if get => clients::secret(st, r, id, false),
                ["clients", id, "client-secret"] if post => clients::secret(st, r, id, true),
                ["clients", id, "roles"] if get => roles::list(st, r, Some(id)),
                ["clients", id, "roles"] if post => roles::create(st, ctx, r, Some(id)),
                ["clients", id, "roles", name] if get => roles::get(st, r, Some(id), name),
                ["clients", id, "roles", name] if delete => roles::delete(st, r, Some(id), name),
                ["roles"] if get => roles::list(st, r, None),
                ["roles"] if post => roles::create(st, ctx, r, None),
                ["roles", name] if get => roles::get(st, r, None, name),
                ["roles", name] if delete => roles::delete(st, r, None, name),
                ["users"] if get => users::list(st, r, &q),
                ["users"] if post => users::create(st, ctx, r),
                ["users", "count"] if get => users::count(st, r, &q),
                ["users", id] if get => users::get(st, r, id),
                ["users", id] if put => users::update(st, ctx, r, id),
                ["users", id] if delete => users::delete(st, r, id),
                ["users", id, "reset-password"] if put => users::reset_password(st, ctx, r, id),
                ["users", id, "credentials"] if get => users::credentials(st, r, id),
                ["users", id, "credentials", cred] if delete => users::delete_credential(st, r, id, cred),
                ["users", id, "logout"] if post => users::logout(st, r, id),
                ["users", id, "sessions"] if get => users::sessions(st, r, id),
                ["users", id, "role-mappings"] if get => roles::user_mappings(st, r, id),
                ["users", id, "role-mappings", "realm"] if get => roles::user_direct(st, r, id, None),
                ["users", id, "role-mappings", "realm"] if post || delete => roles::change_mappings(st, ctx, r, id, None, post),
                ["users", id, "role-mappings", "realm", "composite"] if get => roles::user_effective(st, r, id, None),
                ["users", id, "role-mappings", "clients", c] if get => roles::user_direct(st, r, id, Some(c)),
                ["users", id, "role-mappings", "clients", c] if post || delete => {
                    roles::change_mappings(st, ctx, r, id, Some(c), post)
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
