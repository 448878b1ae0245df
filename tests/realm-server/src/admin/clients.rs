//! `/admin/realms/{realm}/clients`.

use super::*;
use crate::model::{Client, ClientRep};
use crate::util::enc;

const MODELLED: &[&str] = &[
    "clientId", "enabled", "publicClient", "bearerOnly", "secret", "standardFlowEnabled", "implicitFlowEnabled",
    "directAccessGrantsEnabled", "serviceAccountsEnabled", "redirectUris", "webOrigins", "rootUrl", "attributes",
    "authorizationServicesEnabled", "authorizationSettings",
];

/// A ClientRepresentation; `access` says what the caller may do with the client;
/// `authz`: it is a resource server (Authorization Services).
pub(crate) fn rep(c: &Client, access: Value, authz: bool) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("id", c.id.clone().into());
    put("clientId", c.client_id.clone().into());
    if let Some(r) = &c.root_url {
        put("rootUrl", r.clone().into());
    }
    put("surrogateAuthRequired", false.into());
    put("enabled", c.enabled.into());
    put("alwaysDisplayInConsole", false.into());
    put("clientAuthenticatorType", "client-secret".into());
    if !c.public_client {
        if let Some(s) = &c.secret {
            put("secret", s.clone().into());
        }
    }
    put("redirectUris", json!(c.redirect_uris));
    put("webOrigins", json!(c.web_origins));
    put("notBefore", 0.into());
    put("bearerOnly", c.bearer_only.into());
    put("consentRequired", false.into());
    put("standardFlowEnabled", c.standard_flow.into());
    put("implicitFlowEnabled", c.implicit_flow.into());
    put("directAccessGrantsEnabled", c.direct_access.into());
    put("serviceAccountsEnabled", c.service_accounts.into());
    if authz {
        put("authorizationServicesEnabled", true.into());
    }
    put("publicClient", c.public_client.into());
    put("frontchannelLogout", true.into());
    put("protocol", "openid-connect".into());
    let attrs: std::collections::BTreeMap<&String, &String> = c.attributes.iter().collect();
    put("attributes", json!(attrs));
    put("authenticationFlowBindingOverrides", json!({}));
    put("fullScopeAllowed", true.into());
    put("nodeReRegistrationTimeout", (-1).into());
    put("defaultClientScopes", json!(["web-origins", "acr", "profile", "roles", "basic", "email"]));
    put("optionalClientScopes", json!(["address", "phone", "offline_access", "organization", "microprofile-jwt"]));
    put("access", access);
    overlay_extras(&mut m, MODELLED, &c.extra);
    Value::Object(m)
}

fn realm_mut<'a>(st: &'a mut State, r: &str) -> Result<&'a mut Realm, Out> {
    st.realms.get_mut(r).ok_or_else(|| error(404, "Realm not found."))
}

pub(crate) fn not_found_client() -> Out {
    error(404, "Could not find client")
}

/// `ClientPermissions.getAccess` for the caller.
fn access(caller: &Caller, r: &str, c: &Client) -> Value {
    let manage = caller.manage_client(r, &c.client_id);
    json!({ "view": caller.view_client(r, &c.client_id), "configure": manage, "manage": manage })
}

/// Clients the caller may view in full; with only `query-clients`, the others as
/// `{id, clientId}` (`ClientsResource.getClients`).
pub(crate) fn list(st: &State, r: &str, q: &Params, caller: &Caller) -> Out {
    let Some(realm) = st.realms.get(r) else {
        return error(404, "Realm not found.");
    };
    let search = q.get("search") == Some("true");
    let mut list: Vec<&Client> = realm
        .clients
        .iter()
        .filter(|c| match q.get("clientId") {
            None => true,
            Some(want) if search => c.client_id.to_lowercase().contains(&want.to_lowercase()),
            Some(want) => c.client_id == want,
        })
        .collect();
    list.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    let reps = paginate(list, q).into_iter().filter_map(|c| {
        if caller.view_client(r, &c.client_id) {
            Some(rep(c, access(caller, r, c), realm.authz.contains_key(&c.id)))
        } else if caller.list_client(r) {
            let mut brief = json!({ "id": c.id, "clientId": c.client_id });
            if let Some(d) = c.extra.get("description") {
                brief["description"] = d.clone();
            }
            Some(brief)
        } else {
            None
        }
    });
    json_ok(Value::Array(reps.collect()))
}

pub(crate) fn get(st: &State, r: &str, id: &str, caller: &Caller) -> Out {
    let Some(realm) = st.realms.get(r) else {
        return not_found_client();
    };
    match realm.clients.iter().find(|c| c.id == id) {
        Some(c) => json_ok(rep(c, access(caller, r, c), realm.authz.contains_key(&c.id))),
        None => not_found_client(),
    }
}

/// `GET …/clients/{id}/service-account-user`: the client's service account (created now if
/// service accounts are on but it has none), else 400.
pub(crate) fn service_account_user(st: &mut State, r: &str, id: &str, caller: &Caller) -> Out {
    let Some(realm) = st.realms.get_mut(r) else {
        return error(404, "Realm not found.");
    };
    let Some(client) = realm.clients.iter().find(|c| c.id == id).cloned() else {
        return not_found_client();
    };
    if realm.service_account_of(&client.id).is_none() {
        if !client.service_accounts {
            return error(400, &format!("Service account not enabled for the client '{}'", client.client_id));
        }
        realm.add_service_account(&client);
    }
    let realm = &*realm;
    match realm.service_account_of(&client.id) {
        Some(u) => json_ok(super::users::rep(u, false, caller.user_access(r, realm, u))),
        None => error(400, &format!("Service account not enabled for the client '{}'", client.client_id)),
    }
}

pub(crate) fn create(st: &mut State, ctx: &Ctx, r: &str) -> Out {
    let o = match body_object(ctx) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let realm = match realm_mut(st, r) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let client_id = match opt_string(&o, "clientId") {
        Ok(c) => c.unwrap_or_default(),
        Err(e) => return e,
    };
    if client_id.trim().is_empty() {
        return error_message(400, "Client id is missing");
    }
    if realm.client(&client_id).is_some() {
        return error_message(409, &format!("Client {client_id} already exists"));
    }
    let rep: ClientRep = match serde_json::from_value(Value::Object(o.clone())) {
        Ok(c) => c,
        Err(_) => return bad_json(),
    };
    let mut client = Client::from_rep(rep);
    if realm.clients.iter().any(|c| c.id == client.id) {
        return error_message(409, &format!("Client {client_id} already exists"));
    }
    if let Err(e) = apply(&mut client, &o) {
        return e;
    }
    // Keycloak's defaults for a new client: post-logout redirect URIs = redirect URIs,
    // a generated secret for confidential clients.
    client.attributes.entry("post.logout.redirect.uris".into()).or_insert_with(|| "+".into());
    client.secret = client.secret.filter(|s| !s.is_empty());
    if !client.public_client && client.secret.is_none() {
        client.secret = Some(crate::util::random_token(24));
    }
    let id = client.id.clone();
    if client.service_accounts {
        realm.add_service_account(&client);
    }
    // Authorization Services (`ClientsResource.createClient`): switched on with the
    // representation's settings, if any.
    let authz = o.get("authorizationServicesEnabled").and_then(|v| v.as_bool()) == Some(true)
        && !client.public_client
        && !client.bearer_only;
    realm.clients.push(client.clone());
    if authz {
        crate::authz::enable_service_account(realm, &client, true);
        let settings = o.get("authorizationSettings").filter(|v| !v.is_null());
        let rs = match settings {
            None => Ok(crate::authz::ResourceServer::empty()),
            Some(v) => crate::authz::parse(v, realm, &client).map(|(rs, _)| rs),
        };
        match rs {
            Ok(rs) => {
                realm.authz.insert(id.clone(), rs);
            }
            Err(e) => {
                realm.clients.retain(|c| c.id != id);
                realm.users.retain(|u| u.service_account.as_deref() != Some(id.as_str()));
                return super::authz::server_error(&e);
            }
        }
    }
    created(ctx, &format!("{}/clients/{}", enc(r), enc(&id)))
}

/// Apply the modelled fields present (except `clientId`, handled by the caller).
fn apply(c: &mut Client, o: &Map<String, Value>) -> Result<(), Out> {
    let enabled = opt_bool(o, "enabled")?;
    let public = opt_bool(o, "publicClient")?;
    let bearer = opt_bool(o, "bearerOnly")?;
    let secret = opt_string(o, "secret")?;
    let standard = opt_bool(o, "standardFlowEnabled")?;
    let implicit = opt_bool(o, "implicitFlowEnabled")?;
    let direct = opt_bool(o, "directAccessGrantsEnabled")?;
    let service = opt_bool(o, "serviceAccountsEnabled")?;
    let redirects = opt_string_list(o, "redirectUris")?;
    let origins = opt_string_list(o, "webOrigins")?;
    let root = opt_string(o, "rootUrl")?;
    let mut attributes = c.attributes.clone();
    merge_attributes(o, &mut attributes)?;

    if let Some(v) = enabled {
        c.enabled = v;
    }
    if let Some(v) = public {
        c.public_client = v;
    }
    if let Some(v) = bearer {
        c.bearer_only = v;
    }
    if let Some(v) = secret {
        c.secret = Some(v).filter(|s| !s.is_empty()).or(c.secret.take());
    }
    if let Some(v) = standard {
        c.standard_flow = v;
    }
    if let Some(v) = implicit {
        c.implicit_flow = v;
    }
    if let Some(v) = direct {
        c.direct_access = v;
    }
    if let Some(v) = service {
        c.service_accounts = v;
    }
    if let Some(v) = redirects {
        c.redirect_uris = v;
    }
    if let Some(v) = origins {
        c.web_origins = v;
    }
    if let Some(v) = root {
        c.root_url = Some(v).filter(|s| !s.is_empty());
    }
    c.attributes = attributes;
    store_extras(o, MODELLED, &mut c.extra);
    Ok(())
}

pub(crate) fn update(st: &mut State, ctx: &Ctx, r: &str, id: &str) -> Out {
    let o = match body_object(ctx) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let State { realms, store } = st;
    let Some(realm) = realms.get_mut(r) else {
        return error(404, "Realm not found.");
    };
    let Some(idx) = realm.clients.iter().position(|c| c.id == id) else {
        return not_found_client();
    };
    let new_client_id = match opt_string(&o, "clientId") {
        Ok(n) => n.filter(|n| !n.trim().is_empty() && *n != realm.clients[idx].client_id),
        Err(e) => return e,
    };
    if let Some(n) = &new_client_id {
        if realm.client(n).is_some() {
            return error_message(409, &format!("Client {n} already exists"));
        }
    }
    let mut client = realm.clients[idx].clone();
    if let Err(e) = apply(&mut client, &o) {
        return e;
    }
    // Turning service accounts on creates the account; turning them off keeps it.
    if client.service_accounts {
        realm.add_service_account(&client);
    }
    // Authorization Services (`ClientResource.update`): on only while the representation
    // says `authorizationServicesEnabled: true` (absent = off: the resource server and all
    // its settings are dropped); never for public or bearer-only clients.
    let authz = o.get("authorizationServicesEnabled").and_then(|v| v.as_bool()) == Some(true)
        && !client.public_client
        && !client.bearer_only;
    realm.clients[idx] = client.clone();
    if !authz {
        realm.authz.remove(&client.id);
    } else if !realm.authz.contains_key(&client.id) {
        crate::authz::enable_service_account(realm, &client, true);
        realm.authz.insert(client.id.clone(), crate::authz::ResourceServer::empty());
    }
    if let Some(new) = new_client_id {
        let old = std::mem::replace(&mut realm.clients[idx].client_id, new.clone());
        rename_client_roles(realm, &old, &new);
        // Its service account is renamed along (`ClientManager.clientIdChanged`).
        let uuid = realm.clients[idx].id.clone();
        if let Some(u) = realm.users.iter_mut().find(|u| u.service_account.as_deref() == Some(uuid.as_str())) {
            u.username = format!("service-account-{}", new.to_lowercase());
        }
        store.rename_client(r, &old, &new);
    }
    no_content()
}

fn rename_role_id(role: &mut RoleId, old: &str, new: &str) {
    if role.0.as_deref() == Some(old) {
        role.0 = Some(new.to_string());
    }
}

/// Client roles are keyed by clientId: re-key everything after a rename.
fn rename_client_roles(realm: &mut Realm, old: &str, new: &str) {
    if let Some(roles) = realm.client_roles.remove(old) {
        realm.client_roles.insert(new.to_string(), roles);
    }
    let composites = std::mem::take(&mut realm.composites);
    realm.composites = composites
        .into_iter()
        .map(|(mut k, mut v)| {
            rename_role_id(&mut k, old, new);
            v.iter_mut().for_each(|r| rename_role_id(r, old, new));
            (k, v)
        })
        .collect();
    let descriptions = std::mem::take(&mut realm.role_descriptions);
    realm.role_descriptions = descriptions
        .into_iter()
        .map(|(mut k, v)| {
            rename_role_id(&mut k, old, new);
            (k, v)
        })
        .collect();
    for u in realm.users.iter_mut() {
        if let Some(roles) = u.client_roles.remove(old) {
            u.client_roles.insert(new.to_string(), roles);
        }
    }
}

pub(crate) fn delete(st: &mut State, r: &str, id: &str) -> Out {
    let State { realms, store } = st;
    let Some(realm) = realms.get_mut(r) else {
        return error(404, "Realm not found.");
    };
    let Some(idx) = realm.clients.iter().position(|c| c.id == id) else {
        return not_found_client();
    };
    let client = realm.clients.remove(idx);
    realm.authz.remove(&client.id);
    // The client's service account goes with it (`ClientManager.removeClient`).
    let account: Vec<String> = realm.users.iter().filter(|u| u.service_account.as_deref() == Some(client.id.as_str())).map(|u| u.id.clone()).collect();
    realm.users.retain(|u| !account.contains(&u.id));
    for u in &account {
        store.end_user_sessions(r, u);
    }
    let cid = client.client_id.as_str();
    realm.client_roles.remove(cid);
    realm.composites.retain(|k, _| k.0.as_deref() != Some(cid));
    for v in realm.composites.values_mut() {
        v.retain(|r| r.0.as_deref() != Some(cid));
    }
    realm.role_descriptions.retain(|k, _| k.0.as_deref() != Some(cid));
    for u in realm.users.iter_mut() {
        u.client_roles.remove(cid);
    }
    for s in store.sessions.values_mut().filter(|s| s.realm == r) {
        s.clients.remove(cid);
    }
    no_content()
}

pub(crate) fn secret(st: &mut State, r: &str, id: &str, regenerate: bool) -> Out {
    let Some(c) = st.realms.get_mut(r).and_then(|realm| realm.clients.iter_mut().find(|c| c.id == id)) else {
        return not_found_client();
    };
    if regenerate {
        if c.public_client {
            return error_message(400, "Public clients do not have a secret");
        }
        c.secret = Some(crate::util::random_token(24));
    }
    match (&c.secret, c.public_client) {
        (Some(s), false) => json_ok(json!({ "type": "secret", "value": s })),
        _ => json_ok(json!({ "type": "secret" })),
    }
}
