//! `/admin/realms/{realm}/clients/{id}/authz/resource-server[...]`: a client's
//! Authorization Services settings (model in crate::authz). Only the calls a test needs to
//! read and replace the settings: the server itself (GET/PUT), `settings` (the export),
//! `import`, and the lists of resources, scopes and policies.

use super::*;
use crate::authz::{self, ResourceServer};

/// Keycloak's answer to an unexpected exception (e.g. invalid settings): 500, the reason
/// goes to the log (stderr).
pub(crate) fn server_error(reason: &str) -> Out {
    elog!("keycloak-realm-server: authorization settings: {reason}");
    Out::json(500, &json!({ "error": "unknown_error", "error_description": "For more on this error consult the server log." }))
}

/// The view and manage roles of the authorization endpoints.
pub(crate) fn may(c: &Caller, t: &str, manage: bool) -> bool {
    if manage {
        c.has_one(t, &["manage-authorization"])
    } else {
        c.has_one(t, &["view-authorization", "manage-authorization"])
    }
}

fn server<'a>(st: &'a State, r: &str, id: &str) -> Result<(&'a Realm, &'a crate::model::Client, &'a ResourceServer), Out> {
    let realm = st.realms.get(r).ok_or_else(|| error(404, "Realm not found."))?;
    let client = realm.clients.iter().find(|c| c.id == id).ok_or_else(super::clients::not_found_client)?;
    let rs = realm.authz.get(&client.id).ok_or_else(not_found)?;
    Ok((realm, client, rs))
}

pub(crate) fn get(st: &State, r: &str, id: &str, part: Option<&str>) -> Out {
    let (realm, client, rs) = match server(st, r, id) {
        Ok(x) => x,
        Err(o) => return o,
    };
    let export = authz::export(rs, realm, client);
    match part {
        None => json_ok(json!({
            "id": client.id,
            "clientId": client.id,
            "name": client.client_id,
            "allowRemoteResourceManagement": rs.allow_remote,
            "policyEnforcementMode": rs.enforcement.name(),
            "decisionStrategy": rs.decision.name(),
        })),
        Some("settings") => json_ok(export),
        Some("resource") => json_ok(export["resources"].clone()),
        Some("scope") => json_ok(export["scopes"].clone()),
        Some("policy") => json_ok(export["policies"].clone()),
        Some("permission") => json_ok(Value::Array(
            export["policies"].as_array().into_iter().flatten().filter(|p| matches!(p["type"].as_str(), Some("resource" | "scope"))).cloned().collect(),
        )),
        Some(_) => not_found(),
    }
}

/// `PUT .../authz/resource-server`: enforcement mode, decision strategy, remote management.
/// `POST .../authz/resource-server/import`: add (or update, by name) scopes, resources,
/// policies and permissions.
pub(crate) fn change(st: &mut State, ctx: &Ctx, r: &str, id: &str, import: bool) -> Out {
    let o = match body_object(ctx) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let Some(realm) = st.realms.get_mut(r) else {
        return error(404, "Realm not found.");
    };
    let Some(client) = realm.clients.iter().find(|c| c.id == id).cloned() else {
        return super::clients::not_found_client();
    };
    let Some(current) = realm.authz.get(&client.id) else {
        return not_found();
    };
    let mut rs = current.clone();
    // The server's own settings (both calls), then (import) its contents.
    let own = json!({
        "policyEnforcementMode": o.get("policyEnforcementMode").cloned().unwrap_or(rs.enforcement.name().into()),
        "decisionStrategy": o.get("decisionStrategy").cloned().unwrap_or(rs.decision.name().into()),
        "allowRemoteResourceManagement": o.get("allowRemoteResourceManagement").cloned().unwrap_or(rs.allow_remote.into()),
    });
    let result = authz::parse(&own, realm, &client).and_then(|(parsed, _)| {
        rs.enforcement = parsed.enforcement;
        rs.decision = parsed.decision;
        rs.allow_remote = parsed.allow_remote;
        if import {
            authz::import_into(&mut rs, &o, realm, &client, &mut Vec::new())?;
        }
        Ok(())
    });
    match result {
        Ok(()) => {
            realm.authz.insert(client.id.clone(), rs);
            no_content()
        }
        Err(e) => server_error(&e),
    }
}
