//! Realm and client roles, and users' role mappings.

use super::*;
use crate::util::enc;

fn builtin_description(name: &str) -> Option<&'static str> {
    Some(match name {
        "offline_access" => "${role_offline-access}",
        "uma_authorization" => "${role_uma_authorization}",
        "view-profile" => "${role_view-profile}",
        "manage-account" => "${role_manage-account}",
        "manage-account-links" => "${role_manage-account-links}",
        "view-applications" => "${role_view-applications}",
        "view-consent" => "${role_view-consent}",
        "manage-consent" => "${role_manage-consent}",
        "delete-account" => "${role_delete-account}",
        "view-groups" => "${role_view-groups}",
        _ => return None,
    })
}

/// RoleRepresentation (brief form, as in Keycloak's lists).
pub(crate) fn rep(realm: &Realm, role: &RoleId) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), role_id(realm, role).into());
    m.insert("name".into(), role.1.clone().into());
    let description = realm.role_descriptions.get(role).cloned().or_else(|| {
        if role.0.is_none() && role.1 == realm.default_role {
            Some("${role_default-roles}".into())
        } else {
            builtin_description(&role.1).map(String::from)
        }
    });
    if let Some(d) = description {
        m.insert("description".into(), d.into());
    }
    m.insert("composite".into(), realm.composites.get(role).is_some_and(|c| !c.is_empty()).into());
    m.insert("clientRole".into(), role.0.is_some().into());
    let container = match &role.0 {
        None => realm.id.clone(),
        Some(cid) => realm.client(cid).map(|c| c.id.clone()).unwrap_or_else(|| cid.clone()),
    };
    m.insert("containerId".into(), container.into());
    Value::Object(m)
}

fn role_not_found() -> Out {
    error(404, "Could not find role")
}

/// The realm, and the clientId of `client_uuid` if given (404s as Keycloak words them).
fn scope<'a>(st: &'a State, r: &str, client_uuid: Option<&str>) -> Result<(&'a Realm, Option<String>), Out> {
    let realm = st.realms.get(r).ok_or_else(|| error(404, "Realm not found."))?;
    match client_uuid {
        None => Ok((realm, None)),
        Some(id) => match realm.clients.iter().find(|c| c.id == id) {
            Some(c) => Ok((realm, Some(c.client_id.clone()))),
            None => Err(super::clients::not_found_client()),
        },
    }
}

fn exists(realm: &Realm, role: &RoleId) -> bool {
    match &role.0 {
        None => realm.realm_roles.contains(&role.1),
        Some(cid) => realm.client_roles.get(cid).is_some_and(|s| s.contains(&role.1)),
    }
}

fn names(realm: &Realm, cid: Option<&String>) -> Vec<RoleId> {
    match cid {
        None => realm.realm_roles.iter().map(|n| (None, n.clone())).collect(),
        Some(c) => realm
            .client_roles
            .get(c)
            .map(|s| s.iter().map(|n| (Some(c.clone()), n.clone())).collect())
            .unwrap_or_default(),
    }
}

pub(crate) fn list(st: &State, r: &str, client_uuid: Option<&str>) -> Out {
    let (realm, cid) = match scope(st, r, client_uuid) {
        Ok(x) => x,
        Err(e) => return e,
    };
    json_ok(Value::Array(names(realm, cid.as_ref()).iter().map(|role| rep(realm, role)).collect()))
}

pub(crate) fn get(st: &State, r: &str, client_uuid: Option<&str>, name: &str) -> Out {
    let (realm, cid) = match scope(st, r, client_uuid) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let role = (cid, name.to_string());
    if exists(realm, &role) {
        let mut v = rep(realm, &role);
        if let Some(m) = v.as_object_mut() {
            m.insert("attributes".into(), json!({}));
        }
        json_ok(v)
    } else {
        role_not_found()
    }
}

pub(crate) fn create(st: &mut State, ctx: &Ctx, r: &str, client_uuid: Option<&str>) -> Out {
    let o = match body_object(ctx) {
        Ok(o) => o,
        Err(e) => return e,
    };
    // `scopeParamRequired` (deprecated), `attributes`, `clientRole`, `containerId` are accepted and ignored.
    let (name, description, composites) = match (|| {
        let name = opt_string(&o, "name")?.unwrap_or_default();
        let description = opt_string(&o, "description")?;
        opt_bool(&o, "composite")?;
        opt_bool(&o, "scopeParamRequired")?;
        let composites = composites_of(o.get("composites"))?;
        Ok::<_, Out>((name, description, composites))
    })() {
        Ok(x) => x,
        Err(e) => return e,
    };
    let cid = match scope(st, r, client_uuid) {
        Ok((_, cid)) => cid,
        Err(e) => return e,
    };
    if name.trim().is_empty() {
        return error_message(400, "Role name is missing");
    }
    let Some(realm) = st.realms.get_mut(r) else {
        return error(404, "Realm not found.");
    };
    let role = (cid.clone(), name.clone());
    if exists(realm, &role) {
        return error_message(409, &format!("Role with name {name} already exists"));
    }
    if let Some(missing) = composites.iter().find(|c| !exists(realm, c)) {
        return error(404, &format!("Could not find composite role {}", missing.1));
    }
    match &cid {
        None => {
            realm.realm_roles.insert(name.clone());
        }
        Some(c) => {
            realm.client_roles.entry(c.clone()).or_default().insert(name.clone());
        }
    }
    if let Some(d) = description.filter(|d| !d.is_empty()) {
        realm.role_descriptions.insert(role.clone(), d);
    }
    if !composites.is_empty() {
        realm.composites.insert(role, composites.into_iter().collect());
    }
    let path = match client_uuid {
        None => format!("{}/roles/{}", enc(r), enc(&name)),
        Some(id) => format!("{}/clients/{}/roles/{}", enc(r), enc(id), enc(&name)),
    };
    created(ctx, &path)
}

pub(crate) fn delete(st: &mut State, r: &str, client_uuid: Option<&str>, name: &str) -> Out {
    let cid = match scope(st, r, client_uuid) {
        Ok((_, cid)) => cid,
        Err(e) => return e,
    };
    let Some(realm) = st.realms.get_mut(r) else {
        return error(404, "Realm not found.");
    };
    let role = (cid.clone(), name.to_string());
    if !exists(realm, &role) {
        return role_not_found();
    }
    if cid.is_none() && name == realm.default_role {
        return error_message(400, "You cannot delete a default role");
    }
    match &cid {
        None => {
            realm.realm_roles.remove(name);
            for u in realm.users.iter_mut() {
                u.realm_roles.retain(|x| x != name);
            }
        }
        Some(c) => {
            if let Some(s) = realm.client_roles.get_mut(c) {
                s.remove(name);
            }
            for u in realm.users.iter_mut() {
                if let Some(list) = u.client_roles.get_mut(c) {
                    list.retain(|x| x != name);
                }
            }
        }
    }
    realm.composites.remove(&role);
    for v in realm.composites.values_mut() {
        v.retain(|x| *x != role);
    }
    realm.role_descriptions.remove(&role);
    no_content()
}

// ------------------------------------------------------------------ role mappings

fn user_not_found() -> Out {
    error(404, "User not found")
}

/// Direct mappings of a user (realm: the default role is always mapped).
fn direct(realm: &Realm, user: &crate::model::User, cid: Option<&String>) -> Vec<RoleId> {
    match cid {
        None => {
            let mut v: Vec<RoleId> = vec![(None, realm.default_role.clone())];
            for r in &user.realm_roles {
                let id = (None, r.clone());
                if !v.contains(&id) {
                    v.push(id);
                }
            }
            v
        }
        Some(c) => user
            .client_roles
            .get(c)
            .map(|l| l.iter().map(|r| (Some(c.clone()), r.clone())).collect())
            .unwrap_or_default(),
    }
}

pub(crate) fn user_direct(st: &State, r: &str, user_id: &str, client_uuid: Option<&str>) -> Out {
    let (realm, cid) = match scope(st, r, client_uuid) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let Some(user) = realm.user_by_id(user_id) else {
        return user_not_found();
    };
    json_ok(Value::Array(direct(realm, user, cid.as_ref()).iter().map(|x| rep(realm, x)).collect()))
}

pub(crate) fn user_effective(st: &State, r: &str, user_id: &str, client_uuid: Option<&str>) -> Out {
    let (realm, cid) = match scope(st, r, client_uuid) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let Some(user) = realm.user_by_id(user_id) else {
        return user_not_found();
    };
    let list: Vec<Value> = realm
        .effective_roles(user)
        .iter()
        .filter(|x| x.0 == cid && exists(realm, x))
        .map(|x| rep(realm, x))
        .collect();
    json_ok(Value::Array(list))
}

pub(crate) fn user_mappings(st: &State, r: &str, user_id: &str) -> Out {
    let Some(realm) = st.realms.get(r) else {
        return error(404, "Realm not found.");
    };
    let Some(user) = realm.user_by_id(user_id) else {
        return user_not_found();
    };
    let mut out = Map::new();
    let realm_list: Vec<Value> = direct(realm, user, None).iter().map(|x| rep(realm, x)).collect();
    out.insert("realmMappings".into(), Value::Array(realm_list));
    let mut clients = Map::new();
    let mut cids: Vec<&String> = user.client_roles.iter().filter(|(_, l)| !l.is_empty()).map(|(c, _)| c).collect();
    cids.sort();
    for cid in cids {
        let Some(c) = realm.client(cid) else { continue };
        let mappings: Vec<Value> = direct(realm, user, Some(cid)).iter().map(|x| rep(realm, x)).collect();
        clients.insert(cid.clone(), json!({ "id": c.id, "client": cid, "mappings": mappings }));
    }
    if !clients.is_empty() {
        out.insert("clientMappings".into(), Value::Object(clients));
    }
    json_ok(Value::Object(out))
}

/// POST (add) or DELETE (remove) mappings: a list of RoleRepresentations, each looked
/// up by name whose id must match (Keycloak's check).
///
/// Each role must also be one the caller may hand out (`Caller::can_map_role`), else 403.
#[allow(clippy::too_many_arguments)]
pub(crate) fn change_mappings(
    st: &mut State, ctx: &Ctx, r: &str, user_id: &str, client_uuid: Option<&str>, add: bool, caller: &Caller,
) -> Out {
    let body = if ctx.body.iter().all(|b| b.is_ascii_whitespace()) && !add {
        Value::Array(vec![])
    } else {
        match body_json(ctx) {
            Ok(v) => v,
            Err(e) => return e,
        }
    };
    let Value::Array(items) = body else {
        return bad_json();
    };
    let (realm, cid) = match scope(st, r, client_uuid) {
        Ok(x) => x,
        Err(e) => return e,
    };
    if realm.user_by_id(user_id).is_none() {
        return user_not_found();
    }
    let mut roles: Vec<RoleId> = Vec::new();
    for item in &items {
        let Value::Object(o) = item else {
            return bad_json();
        };
        let (name, id) = match (opt_string(o, "name"), opt_string(o, "id")) {
            (Ok(n), Ok(i)) => (n, i),
            _ => return bad_json(),
        };
        let role = (cid.clone(), name.unwrap_or_default());
        if !exists(realm, &role) || id.as_deref() != Some(role_id(realm, &role).as_str()) {
            return error(404, "Role not found");
        }
        if !caller.can_map_role(r, &role) {
            return forbidden();
        }
        roles.push(role);
    }
    let Some(realm) = st.realms.get_mut(r) else {
        return error(404, "Realm not found.");
    };
    let Some(user) = realm.users.iter_mut().find(|u| u.id == user_id) else {
        return user_not_found();
    };
    for (c, name) in roles {
        let list = match &c {
            None => &mut user.realm_roles,
            Some(c) => user.client_roles.entry(c.clone()).or_default(),
        };
        if add {
            if !list.contains(&name) {
                list.push(name);
            }
        } else {
            list.retain(|x| *x != name);
        }
    }
    user.client_roles.retain(|_, l| !l.is_empty());
    no_content()
}
