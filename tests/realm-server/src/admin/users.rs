//! `/admin/realms/{realm}/users`.

use super::*;
use crate::model::User;
use crate::util::{enc, now_ms};

/// A UserRepresentation; the full one carries `access`, what the caller may do with it.
pub(crate) fn rep(u: &User, brief: bool, access: Value) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), u.id.clone().into());
    m.insert("username".into(), u.username.clone().into());
    if let Some(f) = u.first_name.as_ref().filter(|s| !s.is_empty()) {
        m.insert("firstName".into(), f.clone().into());
    }
    if let Some(l) = u.last_name.as_ref().filter(|s| !s.is_empty()) {
        m.insert("lastName".into(), l.clone().into());
    }
    if let Some(e) = &u.email {
        m.insert("email".into(), e.clone().into());
    }
    m.insert("emailVerified".into(), u.email_verified.into());
    m.insert("createdTimestamp".into(), u.created.into());
    m.insert("enabled".into(), u.enabled.into());
    if !brief {
        m.insert("totp".into(), false.into());
        m.insert("disableableCredentialTypes".into(), json!([]));
        m.insert("requiredActions".into(), json!([]));
        m.insert("notBefore".into(), 0.into());
        m.insert("access".into(), access);
    }
    Value::Object(m)
}

fn user_not_found() -> Out {
    error(404, "User not found")
}

/// Keycloak's search: `"x"` exact, `*x*` infix, otherwise prefix; case-insensitive.
fn search_matches(value: Option<&str>, pattern: &str) -> bool {
    let Some(v) = value else { return false };
    let v = v.to_lowercase();
    let p = pattern.to_lowercase();
    if p.len() >= 2 && p.starts_with('"') && p.ends_with('"') {
        return v == p[1..p.len() - 1];
    }
    let infix = p.starts_with('*');
    let core = p.trim_matches('*');
    if infix {
        v.contains(core)
    } else {
        v.starts_with(core)
    }
}

/// The users a search matches. Service accounts are left out unless the query names a field
/// (`username`, `email`, ...) rather than `search` or nothing (`UsersResource.getUsers`);
/// counts always leave them out.
fn filtered<'a>(realm: &'a Realm, q: &Params, counting: bool) -> Vec<&'a User> {
    let exact = q.get("exact") == Some("true");
    const FIELDS: &[&str] = &["lastName", "firstName", "email", "username", "emailVerified", "idpAlias", "idpUserId", "enabled", "exact", "q"];
    let service_accounts = !counting && q.get("search").is_none() && FIELDS.iter().any(|f| q.get(f).is_some());
    let field = |value: Option<&str>, want: Option<&str>| match want {
        None => true,
        Some(w) => value.is_some_and(|v| {
            let (v, w) = (v.to_lowercase(), w.to_lowercase());
            if exact {
                v == w
            } else {
                v.contains(&w)
            }
        }),
    };
    let mut list: Vec<&User> = realm
        .users
        .iter()
        .filter(|u| service_accounts || u.service_account.is_none())
        .filter(|u| match q.get("search").map(str::trim).filter(|s| !s.is_empty() && *s != "*") {
            Some(s) => {
                search_matches(Some(&u.username), s)
                    || search_matches(u.email.as_deref(), s)
                    || search_matches(u.first_name.as_deref(), s)
                    || search_matches(u.last_name.as_deref(), s)
            }
            None => true,
        })
        .filter(|u| field(Some(&u.username), q.get("username")))
        .filter(|u| field(u.email.as_deref(), q.get("email")))
        .filter(|u| field(u.first_name.as_deref(), q.get("firstName")))
        .filter(|u| field(u.last_name.as_deref(), q.get("lastName")))
        .filter(|u| match q.get("enabled") {
            Some("true") => u.enabled,
            Some("false") => !u.enabled,
            _ => true,
        })
        .filter(|u| match q.get("emailVerified") {
            Some("true") => u.email_verified,
            Some("false") => !u.email_verified,
            _ => true,
        })
        .collect();
    list.sort_by(|a, b| a.username.cmp(&b.username));
    list
}

/// A caller that may query but not view users (only `query-users`) gets an empty list and
/// a count of 0: Keycloak then filters by groups it may view, and there are none here.
pub(crate) fn list(st: &State, r: &str, q: &Params, caller: &Caller) -> Out {
    let Some(realm) = st.realms.get(r) else {
        return error(404, "Realm not found.");
    };
    if !caller.view_users(r) {
        return json_ok(json!([]));
    }
    let brief = q.get("briefRepresentation") == Some("true");
    let list = paginate(filtered(realm, q, false), q);
    json_ok(Value::Array(list.into_iter().map(|u| rep(u, brief, caller.user_access(r, realm, u))).collect()))
}

pub(crate) fn count(st: &State, r: &str, q: &Params, caller: &Caller) -> Out {
    let Some(realm) = st.realms.get(r) else {
        return error(404, "Realm not found.");
    };
    if !caller.view_users(r) {
        return json_ok(0.into());
    }
    json_ok(filtered(realm, q, true).len().into())
}

pub(crate) fn get(st: &State, r: &str, id: &str, caller: &Caller) -> Out {
    match st.realms.get(r).and_then(|realm| realm.user_by_id(id).map(|u| (realm, u))) {
        Some((realm, u)) => json_ok(rep(u, false, caller.user_access(r, realm, u))),
        None => user_not_found(),
    }
}

/// Validated user fields of a representation.
struct UserFields {
    username: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    enabled: Option<bool>,
    email_verified: Option<bool>,
    password: Option<String>,
}

fn read_fields(o: &Map<String, Value>) -> Result<UserFields, Out> {
    let password = match o.get("credentials") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => {
            let mut pw = None;
            for c in list {
                let c = c.as_object().ok_or_else(bad_json)?;
                let kind = opt_string(c, "type")?;
                let value = opt_string(c, "value")?;
                opt_bool(c, "temporary")?;
                if kind.as_deref().is_none_or(|k| k == "password") {
                    if let Some(v) = value.filter(|v| !v.is_empty()) {
                        pw = Some(v);
                    }
                }
            }
            pw
        }
        _ => return Err(bad_json()),
    };
    // Validate the types of the fields Keycloak would reject (roles are ignored on create).
    opt_string_list(o, "realmRoles")?;
    opt_string_list(o, "requiredActions")?;
    Ok(UserFields {
        username: opt_string(o, "username")?,
        email: opt_string(o, "email")?,
        first_name: opt_string(o, "firstName")?,
        last_name: opt_string(o, "lastName")?,
        enabled: opt_bool(o, "enabled")?,
        email_verified: opt_bool(o, "emailVerified")?,
        password,
    })
}

fn invalid_email(email: &str) -> Option<Out> {
    let ok = email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'))
        && !email.chars().any(char::is_whitespace);
    (!ok).then(|| Out::json(400, &json!({ "field": "email", "errorMessage": "error-invalid-email", "params": ["email", email] })))
}

pub(crate) fn create(st: &mut State, ctx: &Ctx, r: &str) -> Out {
    let o = match body_object(ctx) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let f = match read_fields(&o) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let Some(realm) = st.realms.get_mut(r) else {
        return error(404, "Realm not found.");
    };
    let email = f.email.map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty());
    let username = match f.username.map(|u| u.trim().to_lowercase()).filter(|u| !u.is_empty()) {
        Some(u) => u,
        None if realm.registration_email_as_username && email.is_some() => email.clone().unwrap_or_default(),
        None => return error_message(400, "User name is missing"),
    };
    if realm.users.iter().any(|u| u.username == username) {
        return error_message(409, "User exists with same username");
    }
    if let Some(e) = &email {
        if let Some(bad) = invalid_email(e) {
            return bad;
        }
        if realm.users.iter().any(|u| u.email.as_deref() == Some(e.as_str())) {
            return error_message(409, "User exists with same email");
        }
    }
    let now = now_ms();
    // Keycloak's create-user ignores realmRoles/clientRoles; the default role applies.
    let user = User {
        id: crate::util::uuid(),
        username,
        enabled: f.enabled.unwrap_or(false),
        email,
        first_name: f.first_name.filter(|s| !s.is_empty()),
        last_name: f.last_name.filter(|s| !s.is_empty()),
        email_verified: f.email_verified.unwrap_or(false),
        password: f.password,
        realm_roles: vec![],
        client_roles: Default::default(),
        service_account: None,
        created: now,
        password_created: now,
    };
    let id = user.id.clone();
    realm.users.push(user);
    created(ctx, &format!("{}/users/{}", enc(r), enc(&id)))
}

pub(crate) fn update(st: &mut State, ctx: &Ctx, r: &str, id: &str) -> Out {
    let o = match body_object(ctx) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let f = match read_fields(&o) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let Some(realm) = st.realms.get_mut(r) else {
        return error(404, "Realm not found.");
    };
    let Some(idx) = realm.users.iter().position(|u| u.id == id) else {
        return user_not_found();
    };
    if let Some(name) = f.username.as_ref().map(|u| u.trim().to_lowercase()).filter(|u| !u.is_empty()) {
        if name != realm.users[idx].username && realm.users.iter().any(|u| u.username == name) {
            return error_message(409, "User exists with same username");
        }
    }
    if let Some(e) = f.email.as_ref().map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty()) {
        if let Some(bad) = invalid_email(&e) {
            return bad;
        }
        if realm.users.iter().any(|u| u.id != id && u.email.as_deref() == Some(e.as_str())) {
            return error_message(409, "User exists with same email");
        }
    }
    let u = &mut realm.users[idx];
    if let Some(name) = f.username.map(|u| u.trim().to_lowercase()).filter(|u| !u.is_empty()) {
        u.username = name;
    }
    if let Some(e) = f.email {
        u.email = Some(e.trim().to_lowercase()).filter(|e| !e.is_empty());
    }
    if let Some(v) = f.first_name {
        u.first_name = Some(v).filter(|s| !s.is_empty());
    }
    if let Some(v) = f.last_name {
        u.last_name = Some(v).filter(|s| !s.is_empty());
    }
    if let Some(v) = f.enabled {
        u.enabled = v;
    }
    if let Some(v) = f.email_verified {
        u.email_verified = v;
    }
    if let Some(p) = f.password {
        u.password = Some(p);
        u.password_created = now_ms();
    }
    no_content()
}

pub(crate) fn delete(st: &mut State, r: &str, id: &str) -> Out {
    let State { realms, store } = st;
    let Some(realm) = realms.get_mut(r) else {
        return error(404, "Realm not found.");
    };
    let before = realm.users.len();
    realm.users.retain(|u| u.id != id);
    if realm.users.len() == before {
        return user_not_found();
    }
    store.end_user_sessions(r, id);
    no_content()
}

pub(crate) fn reset_password(st: &mut State, ctx: &Ctx, r: &str, id: &str) -> Out {
    let o = match body_object(ctx) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let (kind, value) = match (opt_string(&o, "type"), opt_string(&o, "value"), opt_bool(&o, "temporary")) {
        (Ok(k), Ok(v), Ok(_)) => (k, v),
        _ => return bad_json(),
    };
    let Some(user) = st.realms.get_mut(r).and_then(|realm| realm.users.iter_mut().find(|u| u.id == id)) else {
        return user_not_found();
    };
    if kind.as_deref().is_some_and(|k| k != "password") {
        return error_message(400, "Unsupported credential type");
    }
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return error_message(400, "No password provided");
    };
    // `temporary: true` would add the UPDATE_PASSWORD required action in Keycloak;
    // required actions are not emulated, so the password is usable as is.
    user.password = Some(value);
    user.password_created = now_ms();
    no_content()
}

fn credential_id(u: &User) -> String {
    let h = crate::util::sha256(format!("credential\n{}\n{}", u.id, u.password_created).as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    uuid::Builder::from_random_bytes(b).into_uuid().to_string()
}

pub(crate) fn credentials(st: &State, r: &str, id: &str) -> Out {
    let Some(u) = st.realms.get(r).and_then(|realm| realm.user_by_id(id)) else {
        return user_not_found();
    };
    let list = match &u.password {
        Some(_) => json!([{
            "id": credential_id(u),
            "type": "password",
            "createdDate": u.password_created,
            "credentialData": "{\"hashIterations\":5,\"algorithm\":\"argon2\",\"additionalParameters\":{}}",
        }]),
        None => json!([]),
    };
    json_ok(list)
}

pub(crate) fn delete_credential(st: &mut State, r: &str, id: &str, cred: &str) -> Out {
    let Some(u) = st.realms.get_mut(r).and_then(|realm| realm.users.iter_mut().find(|u| u.id == id)) else {
        return user_not_found();
    };
    if u.password.is_some() && credential_id(u) == cred {
        u.password = None;
        no_content()
    } else {
        error(404, "Credential not found")
    }
}

/// End every session of the user: refreshes then fail with `Session not active`. The
/// browser's cookies are untouched, so the login-status iframe still answers `unchanged`.
pub(crate) fn logout(st: &mut State, r: &str, id: &str) -> Out {
    if st.realms.get(r).and_then(|realm| realm.user_by_id(id)).is_none() {
        return user_not_found();
    }
    st.store.end_user_sessions(r, id);
    no_content()
}

pub(crate) fn sessions(st: &State, r: &str, id: &str) -> Out {
    let Some(realm) = st.realms.get(r) else {
        return error(404, "Realm not found.");
    };
    let Some(u) = realm.user_by_id(id) else {
        return user_not_found();
    };
    let now = crate::util::now();
    let mut list: Vec<&crate::state::UserSession> = st
        .store
        .sessions
        .values()
        .filter(|s| s.realm == r && s.user_id == id && s.active(realm.sso_idle, realm.sso_max, now))
        .collect();
    list.sort_by_key(|s| s.started);
    let out: Vec<Value> = list
        .into_iter()
        .map(|s| {
            let clients: Map<String, Value> = s
                .clients
                .keys()
                .filter_map(|cid| realm.client(cid).map(|c| (c.id.clone(), Value::from(cid.as_str()))))
                .collect();
            json!({
                "id": s.id, "username": u.username, "userId": u.id, "ipAddress": "127.0.0.1",
                "start": s.started * 1000, "lastAccess": s.last_refresh * 1000, "rememberMe": false,
                "clients": clients, "transientUser": false,
            })
        })
        .collect();
    json_ok(Value::Array(out))
}
