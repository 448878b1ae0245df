//! Key providers as Keycloak components: list, add an `rsa-generated` provider (key
//! rotation for tests), delete one, and the realm's `keys` metadata.

use super::*;
use crate::jwt::RsaKeys;
use crate::util::enc;

const KEY_PROVIDER: &str = "org.keycloak.keys.KeyProvider";

pub(crate) struct KeyPlan {
    realm: String,
    name: String,
    priority: i64,
    bits: usize,
    config: Map<String, Value>,
}

/// Component config values are lists of strings (`{"priority": ["100"]}`); accept a
/// bare string or number too.
fn config_value(config: &Map<String, Value>, k: &str) -> Result<Option<String>, Out> {
    match config.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) if a.is_empty() => Ok(None),
        Some(Value::Array(a)) if a.len() == 1 => match &a[0] {
            Value::String(s) => Ok(Some(s.clone())),
            v @ (Value::Number(_) | Value::Bool(_)) => Ok(Some(v.to_string())),
            _ => Err(bad_json()),
        },
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
        _ => Err(bad_json()),
    }
}

fn rsa_component(realm: &Realm, k: &crate::model::RealmKey) -> Value {
    let mut config = Map::new();
    config.insert("priority".into(), json!([k.priority.to_string()]));
    for (ck, cv) in &k.config {
        config.insert(ck.clone(), cv.clone());
    }
    config.entry("algorithm").or_insert_with(|| json!(["RS256"]));
    config.entry("keySize").or_insert_with(|| json!(["2048"]));
    json!({
        "id": k.component_id, "name": k.name, "providerId": "rsa-generated",
        "providerType": KEY_PROVIDER, "parentId": realm.id, "config": config,
    })
}

fn hmac_component(realm: &Realm) -> Value {
    json!({
        "id": realm.hmac_component_id, "name": "hmac-generated-hs512", "providerId": "hmac-generated",
        "providerType": KEY_PROVIDER, "parentId": realm.id,
        "config": { "priority": ["100"], "algorithm": ["HS512"] },
    })
}

fn components(realm: &Realm) -> Vec<Value> {
    let mut out: Vec<Value> = realm.rsa_keys.iter().map(|k| rsa_component(realm, k)).collect();
    out.push(hmac_component(realm));
    out
}

pub(crate) fn list_components(st: &State, r: &str, q: &Params) -> Out {
    let Some(realm) = st.realms.get(r) else {
        return error(404, "Realm not found.");
    };
    let list: Vec<Value> = components(realm)
        .into_iter()
        .filter(|c| q.get("type").is_none_or(|t| c["providerType"] == t))
        .filter(|c| q.get("parent").is_none_or(|p| c["parentId"] == p))
        .filter(|c| q.get("name").is_none_or(|n| c["name"] == n))
        .collect();
    json_ok(Value::Array(list))
}

pub(crate) fn get_component(st: &State, r: &str, id: &str) -> Out {
    let Some(realm) = st.realms.get(r) else {
        return error(404, "Realm not found.");
    };
    match components(realm).into_iter().find(|c| c["id"] == id) {
        Some(c) => json_ok(c),
        None => error(404, "Could not find component"),
    }
}

pub(crate) fn delete_component(st: &mut State, r: &str, id: &str) -> Out {
    let Some(realm) = st.realms.get_mut(r) else {
        return error(404, "Realm not found.");
    };
    if realm.hmac_component_id == id {
        return error_message(400, "The test realm server cannot remove the HMAC key provider");
    }
    let before = realm.rsa_keys.len();
    realm.rsa_keys.retain(|k| k.component_id != id);
    if realm.rsa_keys.len() == before {
        return error(404, "Could not find component");
    }
    no_content()
}

/// Validate a `POST components`; the key itself is generated outside the state lock.
pub(crate) fn create_component(st: &State, ctx: &Ctx, r: &str) -> Next {
    let plan = (|| -> Result<KeyPlan, Out> {
        let o = body_object(ctx)?;
        let realm = st.realms.get(r).ok_or_else(|| error(404, "Realm not found."))?;
        let provider_type = opt_string(&o, "providerType")?.unwrap_or_default();
        let provider_id = opt_string(&o, "providerId")?.unwrap_or_default();
        let name = opt_string(&o, "name")?.filter(|n| !n.is_empty()).unwrap_or_else(|| provider_id.clone());
        if let Some(parent) = opt_string(&o, "parentId")? {
            if parent != realm.id && parent != realm.name {
                return Err(error_message(400, "Invalid parentId"));
            }
        }
        if provider_type != KEY_PROVIDER || provider_id != "rsa-generated" {
            return Err(error_message(
                400,
                &format!(
                    "The test realm server only supports key provider components of type rsa-generated (got {} / {})",
                    if provider_type.is_empty() { "no providerType" } else { &provider_type },
                    if provider_id.is_empty() { "no providerId" } else { &provider_id }
                ),
            ));
        }
        let config = match o.get("config") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(c)) => c.clone(),
            _ => return Err(bad_json()),
        };
        let priority = match config_value(&config, "priority")? {
            None => 0,
            Some(p) => p.trim().parse::<i64>().map_err(|_| error_message(400, "Priority should be a number"))?,
        };
        let bits = match config_value(&config, "keySize")?.as_deref() {
            None => 2048,
            Some("1024") => 1024,
            Some("2048") => 2048,
            Some("3072") => 3072,
            Some("4096") => 4096,
            Some(_) => return Err(error_message(400, "'Key size' should be 1024, 2048, 3072 or 4096")),
        };
        if let Some(alg) = config_value(&config, "algorithm")? {
            if alg != "RS256" {
                return Err(error_message(400, "The test realm server only signs with RS256"));
            }
        }
        for flag in ["active", "enabled"] {
            if config_value(&config, flag)?.is_some_and(|v| v != "true") {
                return Err(error_message(400, "The test realm server does not emulate disabled or passive keys"));
            }
        }
        let mut kept = Map::new();
        for (k, v) in &config {
            if k != "priority" {
                kept.insert(k.clone(), v.clone());
            }
        }
        Ok(KeyPlan { realm: r.to_string(), name, priority, bits, config: kept })
    })();
    match plan {
        Ok(p) => Next::GenerateKey(p),
        Err(e) => Next::Done(e),
    }
}

/// Generate the key (without holding the lock) and add the provider.
pub(crate) fn finish(app: &App, ctx: &Ctx, plan: KeyPlan) -> Out {
    let key = match RsaKeys::generate_bits(plan.bits) {
        Ok(k) => k,
        Err(e) => return error_message(500, &e),
    };
    let mut guard = app.state.lock().unwrap_or_else(|e| e.into_inner());
    let Some(realm) = guard.realms.get_mut(&plan.realm) else {
        return error(404, "Realm not found.");
    };
    let id = realm.add_key(&plan.name, plan.priority, std::sync::Arc::new(key), plan.config);
    created(ctx, &format!("{}/components/{}", enc(&plan.realm), enc(&id)))
}

/// `GET /admin/realms/{realm}/keys`: KeysMetadataRepresentation.
pub(crate) fn keys(app: &App, st: &State, r: &str) -> Out {
    let Some(realm) = st.realms.get(r) else {
        return error(404, "Realm not found.");
    };
    let mut list: Vec<Value> = Vec::new();
    let mut sorted: Vec<&crate::model::RealmKey> = realm.rsa_keys.iter().collect();
    sorted.sort_by_key(|k| std::cmp::Reverse((k.priority, k.seq)));
    for k in sorted {
        list.push(json!({
            "providerId": k.component_id, "providerPriority": k.priority, "kid": k.key.kid, "status": "ACTIVE",
            "type": "RSA", "algorithm": "RS256", "publicKey": k.key.spki_b64, "use": "SIG",
        }));
    }
    list.push(json!({
        "providerId": realm.hmac_component_id, "providerPriority": 100, "kid": realm.hmac_kid, "status": "ACTIVE",
        "type": "OCT", "algorithm": "HS512", "use": "SIG",
    }));
    json_ok(json!({
        "active": { "RS256": app.signing_key(realm).kid, "HS512": realm.hmac_kid },
        "keys": list,
    }))
}
