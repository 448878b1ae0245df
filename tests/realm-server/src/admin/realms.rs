//! `/admin/realms` and `/admin/realms/{realm}`.

use super::*;
use crate::model::RealmRep;
use crate::util::enc;

/// RealmRepresentation fields the server models (PUT applies them; GET reports them).
const MODELLED: &[&str] = &[
    "realm", "displayName", "enabled", "accessTokenLifespan", "accessTokenLifespanForImplicitFlow",
    "ssoSessionIdleTimeout", "ssoSessionMaxLifespan", "accessCodeLifespan", "registrationAllowed",
    "registrationEmailAsUsername", "loginWithEmailAllowed", "notBefore", "attributes", "defaultRole",
    "revokeRefreshToken", "refreshTokenMaxReuse",
];

pub(crate) fn rep(realm: &Realm) -> Value {
    let default_role = (None, realm.default_role.clone());
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("id", realm.id.clone().into());
    put("realm", realm.name.clone().into());
    if let Some(d) = &realm.display_name {
        put("displayName", d.clone().into());
    }
    put("notBefore", realm.not_before.into());
    put("defaultSignatureAlgorithm", "RS256".into());
    put("revokeRefreshToken", realm.revoke_refresh_token.into());
    put("refreshTokenMaxReuse", realm.refresh_token_max_reuse.into());
    put("accessTokenLifespan", realm.access_token_lifespan.into());
    put("accessTokenLifespanForImplicitFlow", realm.access_token_lifespan_implicit.into());
    put("ssoSessionIdleTimeout", realm.sso_idle.into());
    put("ssoSessionMaxLifespan", realm.sso_max.into());
    put("ssoSessionIdleTimeoutRememberMe", 0.into());
    put("ssoSessionMaxLifespanRememberMe", 0.into());
    put("offlineSessionIdleTimeout", 2_592_000.into());
    put("offlineSessionMaxLifespanEnabled", false.into());
    put("offlineSessionMaxLifespan", 5_184_000.into());
    put("clientSessionIdleTimeout", 0.into());
    put("clientSessionMaxLifespan", 0.into());
    put("clientOfflineSessionIdleTimeout", 0.into());
    put("clientOfflineSessionMaxLifespan", 0.into());
    put("accessCodeLifespan", realm.access_code_lifespan.into());
    put("accessCodeLifespanUserAction", 300.into());
    put("accessCodeLifespanLogin", 1800.into());
    put("actionTokenGeneratedByAdminLifespan", 43_200.into());
    put("actionTokenGeneratedByUserLifespan", 300.into());
    put("oauth2DeviceCodeLifespan", 600.into());
    put("oauth2DevicePollingInterval", 5.into());
    put("enabled", realm.enabled.into());
    put("sslRequired", "external".into());
    put("registrationAllowed", realm.registration_allowed.into());
    put("registrationEmailAsUsername", realm.registration_email_as_username.into());
    put("rememberMe", false.into());
    put("verifyEmail", false.into());
    put("loginWithEmailAllowed", realm.login_with_email_allowed.into());
    put("duplicateEmailsAllowed", false.into());
    put("resetPasswordAllowed", false.into());
    put("editUsernameAllowed", false.into());
    put("bruteForceProtected", false.into());
    put("permanentLockout", false.into());
    put("maxFailureWaitSeconds", 900.into());
    put("minimumQuickLoginWaitSeconds", 60.into());
    put("waitIncrementSeconds", 60.into());
    put("quickLoginCheckMilliSeconds", 1000.into());
    put("maxDeltaTimeSeconds", 43_200.into());
    put("failureFactor", 30.into());
    put(
        "defaultRole",
        json!({
            "id": role_id(realm, &default_role),
            "name": realm.default_role,
            "description": "${role_default-roles}",
            "composite": true,
            "clientRole": false,
            "containerId": realm.id,
        }),
    );
    put("requiredCredentials", json!(["password"]));
    put("otpPolicyType", "totp".into());
    put("otpPolicyAlgorithm", "HmacSHA1".into());
    put("otpPolicyInitialCounter", 0.into());
    put("otpPolicyDigits", 6.into());
    put("otpPolicyLookAheadWindow", 1.into());
    put("otpPolicyPeriod", 30.into());
    put("otpPolicyCodeReusable", false.into());
    put("eventsEnabled", false.into());
    put("eventsListeners", json!(["jboss-logging"]));
    put("enabledEventTypes", json!([]));
    put("adminEventsEnabled", false.into());
    put("adminEventsDetailsEnabled", false.into());
    put("internationalizationEnabled", false.into());
    put("supportedLocales", json!([]));
    put("browserFlow", "browser".into());
    put("registrationFlow", "registration".into());
    put("directGrantFlow", "direct grant".into());
    put("resetCredentialsFlow", "reset credentials".into());
    put("clientAuthenticationFlow", "clients".into());
    put("dockerAuthenticationFlow", "docker auth".into());
    put("firstBrokerLoginFlow", "first broker login".into());
    put("attributes", Value::Object(realm.attributes.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect()));
    put("userManagedAccessAllowed", false.into());
    put("organizationsEnabled", false.into());
    overlay_extras(&mut m, MODELLED, &realm.extra);
    Value::Object(m)
}

/// The realms the caller may see: in full where it may view the realm, as `{"realm": name}`
/// where it merely holds an admin role there; none at all is 403 (`RealmsAdminResource`).
pub(crate) fn list(st: &State, caller: &Caller) -> Out {
    let mut names: Vec<&String> = st.realms.keys().collect();
    names.sort();
    let list: Vec<Value> = names
        .into_iter()
        .filter_map(|n| st.realms.get(n))
        .filter_map(|realm| {
            if caller.view_realm(&realm.name) {
                Some(rep(realm))
            } else if caller.is_admin_of(&realm.name) {
                Some(json!({ "realm": realm.name }))
            } else {
                None
            }
        })
        .collect();
    if list.is_empty() {
        return forbidden();
    }
    json_ok(Value::Array(list))
}

/// Without `view-realm` (or `manage-realm`) an admin of the realm gets its name only.
pub(crate) fn get(st: &State, r: &str, caller: &Caller) -> Out {
    match st.realms.get(r) {
        Some(realm) if caller.view_realm(r) => json_ok(rep(realm)),
        Some(realm) => json_ok(json!({ "realm": realm.name })),
        None => error(404, "Realm not found."),
    }
}

fn valid_name(name: &str) -> bool {
    !name.contains('/') && !name.contains('\\') && !name.chars().any(|c| c.is_control()) && name.len() <= 255
}

pub(crate) fn create(app: &App, st: &mut State, ctx: &Ctx) -> Out {
    let o = match body_object(ctx) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let name = match opt_string(&o, "realm") {
        Ok(n) => n.unwrap_or_default(),
        Err(e) => return e,
    };
    if name.trim().is_empty() {
        return error_message(400, "Realm name cannot be empty");
    }
    if !valid_name(&name) {
        return error_message(400, "Realm name contains invalid characters");
    }
    if st.realms.contains_key(&name) {
        return error_message(409, &format!("Realm {name} already exists"));
    }
    let rep: RealmRep = match serde_json::from_value(Value::Object(o.clone())) {
        Ok(r) => r,
        Err(_) => return bad_json(),
    };
    let mut realm = match Realm::from_rep(rep) {
        Ok((r, _warnings)) => r,
        Err(e) => return error_message(400, &e),
    };
    if st.realms.values().any(|x| x.id == realm.id) {
        return error_message(409, &format!("Realm {name} already exists"));
    }
    if let Err(e) = apply(&mut realm, &o) {
        return e;
    }
    app.attach_default_key(&mut realm);
    st.realms.insert(name.clone(), realm);
    created(ctx, &enc(&name))
}

/// Apply the modelled fields present in a RealmRepresentation (except renames).
fn apply(realm: &mut Realm, o: &Map<String, Value>) -> Result<(), Out> {
    // Validate everything before changing anything.
    let display = opt_string(o, "displayName")?;
    let enabled = opt_bool(o, "enabled")?;
    let at = opt_i64(o, "accessTokenLifespan")?;
    let at_implicit = opt_i64(o, "accessTokenLifespanForImplicitFlow")?;
    let idle = opt_i64(o, "ssoSessionIdleTimeout")?;
    let max = opt_i64(o, "ssoSessionMaxLifespan")?;
    let code = opt_i64(o, "accessCodeLifespan")?;
    let reg = opt_bool(o, "registrationAllowed")?;
    let reg_email = opt_bool(o, "registrationEmailAsUsername")?;
    let login_email = opt_bool(o, "loginWithEmailAllowed")?;
    let not_before = opt_i64(o, "notBefore")?;
    let revoke = opt_bool(o, "revokeRefreshToken")?;
    let max_reuse = opt_i64(o, "refreshTokenMaxReuse")?;
    let mut attributes = realm.attributes.clone();
    merge_attributes(o, &mut attributes)?;

    if let Some(d) = display {
        realm.display_name = Some(d).filter(|d| !d.is_empty());
    }
    if let Some(v) = enabled {
        realm.enabled = v;
    }
    if let Some(v) = at {
        realm.access_token_lifespan = v;
    }
    if let Some(v) = at_implicit {
        realm.access_token_lifespan_implicit = v;
    }
    if let Some(v) = idle {
        realm.sso_idle = v;
    }
    if let Some(v) = max {
        realm.sso_max = v;
    }
    if let Some(v) = code {
        realm.access_code_lifespan = v;
    }
    if let Some(v) = reg {
        realm.registration_allowed = v;
    }
    if let Some(v) = reg_email {
        realm.registration_email_as_username = v;
    }
    if let Some(v) = login_email {
        realm.login_with_email_allowed = v;
    }
    if let Some(v) = not_before {
        realm.not_before = v;
    }
    if let Some(v) = revoke {
        realm.revoke_refresh_token = v;
    }
    if let Some(v) = max_reuse {
        realm.refresh_token_max_reuse = v;
    }
    realm.attributes = attributes;
    store_extras(o, MODELLED, &mut realm.extra);
    Ok(())
}

pub(crate) fn update(st: &mut State, ctx: &Ctx, r: &str) -> Out {
    let o = match body_object(ctx) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let new_name = match opt_string(&o, "realm") {
        Ok(n) => n.filter(|n| !n.trim().is_empty() && n != r),
        Err(e) => return e,
    };
    if let Some(n) = &new_name {
        if r == MASTER {
            return error_message(400, "Can't rename master realm");
        }
        if !valid_name(n) {
            return error_message(400, "Realm name contains invalid characters");
        }
        if st.realms.contains_key(n) {
            return error_message(409, "Realm with same name exists");
        }
    }
    let Some(realm) = st.realms.get_mut(r) else {
        return error(404, "Realm not found.");
    };
    if let Err(e) = apply(realm, &o) {
        return e;
    }
    if let Some(n) = new_name {
        if let Some(mut realm) = st.realms.remove(r) {
            realm.name = n.clone();
            st.realms.insert(n.clone(), realm);
            st.store.rename_realm(r, &n);
        }
    }
    no_content()
}

pub(crate) fn delete(st: &mut State, r: &str) -> Out {
    if r == MASTER {
        return error_message(400, "Can't remove master realm");
    }
    if st.realms.remove(r).is_none() {
        return error(404, "Realm not found.");
    }
    st.store.drop_realm(r);
    no_content()
}
