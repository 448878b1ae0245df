//! UMA 2.0 endpoints of Authorization Services (model and evaluation in authz.rs):
//! `/.well-known/uma2-configuration`, the protection API's permission endpoint
//! (`/authz/protection/permission`, permission tickets) and the token endpoint's
//! `urn:ietf:params:oauth:grant-type:uma-ticket` grant (RPTs), as Keycloak 26 answers them
//! (reference `keycloak-server-2.md` §3).

use crate::authz::{self, AuthzError, Granted, Identity, Requested};
use crate::http::{Ctx, Out};
use crate::model::{Client, Realm, User};
use crate::state::{App, Store, UserSession};
use crate::tokens::{self, IssueParams};
use crate::util::{now, uuid, Params};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

pub const UMA_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";
const ID_TOKEN_FORMAT: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";
const JWT_FORMAT: &str = "urn:ietf:params:oauth:token-type:jwt";

// ------------------------------------------------------------------ discovery

/// `GET /realms/{realm}/.well-known/uma2-configuration`: fields of the OIDC discovery
/// document (`oidc`, as served) plus the protection API endpoints; CORS for any origin.
pub fn configuration(oidc: Out, realm: &Realm, ctx: &Ctx) -> Out {
    const COPIED: &[&str] = &[
        "issuer", "authorization_endpoint", "token_endpoint", "introspection_endpoint", "end_session_endpoint", "jwks_uri",
        "grant_types_supported", "response_types_supported", "response_modes_supported", "registration_endpoint",
        "token_endpoint_auth_methods_supported", "token_endpoint_auth_signing_alg_values_supported", "scopes_supported",
    ];
    let doc: Map<String, Value> = serde_json::from_slice(&oidc.body).unwrap_or_default();
    let mut m = Map::new();
    for k in COPIED {
        if let Some(v) = doc.get(*k) {
            m.insert(k.to_string(), v.clone());
        }
    }
    let protection = format!("{}/authz/protection", ctx.issuer(&realm.name));
    m.insert("resource_registration_endpoint".into(), format!("{protection}/resource_set").into());
    m.insert("permission_endpoint".into(), format!("{protection}/permission").into());
    m.insert("policy_endpoint".into(), format!("{protection}/uma-policy").into());
    Out::json(200, &Value::Object(m)).cors_any(ctx)
}

// ------------------------------------------------------------------ bearer tokens

/// A verified access token (Keycloak's `BearerTokenAuthenticator`): realm signature, `typ`
/// `Bearer`, this realm's issuer, not expired, its client and user enabled, and the session
/// it names (if any) active.
struct Caller {
    claims: Map<String, Value>,
    user: User,
    sid: Option<String>,
}

fn verify_bearer(app: &App, realm: &Realm, store: &Store, ctx: &Ctx, token: &str) -> Option<Caller> {
    let claims = app.verify(realm, token)?;
    let s = |k: &str| claims.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    if s("typ") != "Bearer" || s("iss") != ctx.issuer(&realm.name) {
        return None;
    }
    if claims.get("exp").and_then(|v| v.as_i64()).is_none_or(|e| e <= now()) {
        return None;
    }
    realm.client(&s("azp")).filter(|c| c.enabled)?;
    let user = realm.user_by_id(&s("sub")).filter(|u| u.enabled)?.clone();
    let sid = claims.get("sid").and_then(|v| v.as_str()).map(String::from);
    if let Some(sid) = &sid {
        let session = store.sessions.get(sid)?;
        if session.realm != realm.name || session.user_id != user.id || !session.active(realm.sso_idle, realm.sso_max, now()) {
            return None;
        }
    }
    Some(Caller { claims, user, sid })
}

// ------------------------------------------------------------------ protection API

/// `POST /realms/{realm}/authz/protection/permission`: a resource server (bearer token whose
/// `azp` is the server's client, e.g. its PAT from the client credentials grant) asks for a
/// permission ticket: `[{"resource_id", "resource_scopes"}]` → 201 `{"ticket"}`.
pub fn protection_permission(app: &App, realm: &Realm, store: &Store, ctx: &Ctx) -> Out {
    let error = |status: u16, e: &str, d: &str| Out::oauth_error(status, e, d);
    let Some(caller) = ctx.bearer().and_then(|t| verify_bearer(app, realm, store, ctx, &t)) else {
        return error(403, "invalid_bearer_token", "Could not obtain bearer access_token from request.");
    };
    let azp = caller.claims.get("azp").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let Some(client) = realm.client(&azp).or_else(|| realm.clients.iter().find(|c| c.id == azp)) else {
        return error(400, "invalid_clientId", &format!("Client application with id [{azp}] does not exist in realm [{}]", realm.name));
    };
    let Some(rs) = realm.authz.get(&client.id) else {
        return error(
            403,
            "invalid_clientId",
            &format!("Client application [{}] is not registered as a resource server.", client.client_id),
        );
    };
    let identity = Identity::from_token(realm, &caller.claims);
    let body: Value = if ctx.body.iter().all(|b| b.is_ascii_whitespace()) {
        Value::Null
    } else {
        match serde_json::from_slice(&ctx.body) {
            Ok(v) => v,
            Err(_) => return crate::admin::bad_json(),
        }
    };
    let entries = match body {
        Value::Null => vec![],
        Value::Array(a) => a,
        _ => return crate::admin::bad_json(),
    };
    if entries.is_empty() {
        return error(400, "invalid_permission_request", "Invalid permission request.");
    }
    let mut permissions: Vec<Value> = Vec::new();
    let mut claims = Map::new();
    for e in &entries {
        let Some(e) = e.as_object() else { return crate::admin::bad_json() };
        let resource_id = e.get("resource_id").and_then(|v| v.as_str()).map(String::from);
        let scopes: Option<Vec<String>> = match e.get("resource_scopes") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => Some(a.iter().map(|x| x.as_str().map(String::from).unwrap_or_else(|| x.to_string())).collect()),
            Some(_) => return crate::admin::bad_json(),
        };
        let resources: Vec<&authz::Resource> = match &resource_id {
            None => {
                if scopes.as_ref().is_none_or(|s| s.is_empty()) {
                    return error(400, "invalid_resource_id", "Resource id or name not provided.");
                }
                vec![]
            }
            Some(rid) => {
                let mut found: Vec<&authz::Resource> = rs.resources.iter().filter(|r| &r.id == rid).collect();
                if found.is_empty() {
                    let owned = |r: &&authz::Resource| match &r.owner {
                        None => identity.id == client.id,
                        Some(u) => *u == identity.id,
                    };
                    found.extend(rs.resources.iter().filter(|r| &r.name == rid).find(owned));
                    if !identity.resource_server {
                        found.extend(rs.resources.iter().find(|r| &r.name == rid && r.owner.is_none()));
                    }
                }
                if found.is_empty() {
                    return error(400, "invalid_resource_id", &format!("Resource set with id [{rid}] does not exists in this server."));
                }
                found
            }
        };
        let scope_ok = |r: Option<&authz::Resource>, name: &str| -> bool {
            let Some(s) = rs.scopes.iter().find(|s| s.name == name) else { return false };
            match r {
                None => true,
                Some(r) => {
                    r.scopes.contains(&s.id)
                        || r.kind.as_ref().is_some_and(|t| {
                            rs.resources.iter().any(|x| x.kind.as_ref() == Some(t) && x.owner.is_none() && x.scopes.contains(&s.id))
                        })
                }
            }
        };
        let check = |r: Option<&authz::Resource>| -> Result<Vec<String>, Out> {
            let mut out: Vec<String> = Vec::new();
            for s in scopes.iter().flatten() {
                if !scope_ok(r, s) {
                    return Err(error(400, "invalid_scope", &format!("Scope [{s}] is invalid")));
                }
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
            Ok(out)
        };
        let mut push = |rsid: Option<&str>, scopes: Vec<String>| {
            let mut p = Map::new();
            if let Some(id) = rsid {
                p.insert("rsid".into(), id.into());
            }
            if !scopes.is_empty() {
                p.insert("scopes".into(), json!(scopes));
            }
            permissions.push(Value::Object(p));
        };
        if resources.is_empty() {
            match check(None) {
                Ok(s) => push(None, s),
                Err(o) => return o,
            }
        }
        for r in resources {
            match check(Some(r)) {
                Ok(s) => push(Some(&r.id), s),
                Err(o) => return o,
            }
        }
        if let Some(Value::Object(c)) = e.get("claims") {
            claims.extend(c.clone());
        }
    }
    // PermissionTicketToken: copies the caller's token (so it expires with it).
    let mut t = Map::new();
    t.insert("jti".into(), uuid().into());
    for k in ["exp", "nbf", "iat"] {
        if let Some(v) = caller.claims.get(k) {
            t.insert(k.into(), v.clone());
        }
    }
    t.insert("aud".into(), ctx.issuer(&realm.name).into());
    for k in ["sub", "azp"] {
        if let Some(v) = caller.claims.get(k) {
            t.insert(k.into(), v.clone());
        }
    }
    t.insert("permissions".into(), Value::Array(permissions));
    if !claims.is_empty() {
        t.insert("claims".into(), Value::Object(claims));
    }
    let ticket = app.signing_key(realm).sign(&t);
    Out::json(201, &json!({ "ticket": ticket }))
}

// ------------------------------------------------------------------ the uma-ticket grant

/// The first value of a form parameter, empty included (Keycloak's `getFirst`).
fn first<'a>(form: &'a Params, name: &str) -> Option<&'a str> {
    form.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn err(status: u16, error: &'static str, desc: &str) -> AuthzError {
    AuthzError(status, error, desc.to_string())
}

/// `grant_type=urn:ietf:params:oauth:grant-type:uma-ticket` (Keycloak's `PermissionGrantType`
/// and `AuthorizationTokenService.authorize`). CORS: the web origins of the requesting
/// client once it is known (the bearer token's `azp`).
pub fn grant(app: &App, realm: &Realm, store: &mut Store, ctx: &Ctx, form: &Params) -> Out {
    let mut origins = BTreeSet::new();
    match grant_inner(app, realm, store, ctx, form, &mut origins) {
        Ok(v) => Out::json(200, &v).no_store().cors(ctx, &origins),
        Err(AuthzError(500, "unknown_error", d)) => Out::oauth_error(500, "unknown_error", &d).no_store(),
        Err(AuthzError(status, e, d)) => Out::oauth_error(status, e, &d).no_store().cors(ctx, &origins),
    }
}

fn grant_inner(
    app: &App, realm: &Realm, store: &mut Store, ctx: &Ctx, form: &Params, origins: &mut BTreeSet<String>,
) -> Result<Value, AuthzError> {
    // Who asks: the bearer token's user (no client authentication, its `azp` is the
    // client), else the authenticated client with a claim token, a subject token or its own
    // service account.
    let bearer_header = ctx.header("authorization").is_some_and(|h| h.trim_start().to_ascii_lowercase().starts_with("bearer"));
    let bearer = if bearer_header { ctx.bearer() } else { None };
    let claim_token = first(form, "claim_token");
    let claim_format = first(form, "claim_token_format").or(claim_token.map(|_| ID_TOKEN_FORMAT));
    let (caller, client): (Caller, &Client) = match bearer {
        Some(token) => match verify_bearer(app, realm, store, ctx, &token) {
            Some(c) => {
                let azp = c.claims.get("azp").and_then(|v| v.as_str()).unwrap_or("");
                let client = realm.client(azp).ok_or_else(|| err(401, "invalid_grant", "Invalid bearer token"))?;
                *origins = client.web_origins(&ctx.base());
                (c, client)
            }
            None => {
                // The client named by the (invalid) token still gets its CORS headers.
                let azp = crate::jwt::unverified_claims(&token).and_then(|c| c.get("azp").and_then(|v| v.as_str()).map(String::from));
                if let Some(c) = azp.and_then(|a| realm.client(&a)) {
                    *origins = c.web_origins(&ctx.base());
                }
                return Err(err(401, "invalid_grant", "Invalid bearer token"));
            }
        },
        None => {
            let client = crate::oidc::authenticate_client(realm, ctx, form).map_err(|e| AuthzError(e.0, e.1, e.2))?;
            *origins = client.web_origins(&ctx.base());
            let id_format = claim_format.is_some_and(|f| f.eq_ignore_ascii_case(ID_TOKEN_FORMAT));
            let caller = if let (true, Some(t)) = (id_format, claim_token) {
                identity_from_id_token(app, realm, ctx, client, t)?
            } else {
                let token = match first(form, "subject_token") {
                    Some(t) => t.to_string(),
                    None => {
                        let v = crate::oidc::client_credentials_grant(app, realm, store, ctx, client, form, None)
                            .map_err(|e| AuthzError(e.0, e.1, e.2))?;
                        v.get("access_token").and_then(|t| t.as_str()).unwrap_or("").to_string()
                    }
                };
                verify_bearer(app, realm, store, ctx, &token).ok_or_else(|| err(400, "unauthorized_client", "Invalid identity"))?
            };
            (caller, client)
        }
    };

    let rpt = match first(form, "rpt") {
        Some(r) => Some(app.verify(realm, r).ok_or_else(|| err(403, "invalid_rpt", "RPT signature is invalid"))?),
        None => None,
    };
    let submit_request = first(form, "submit_request").is_none_or(|v| v.eq_ignore_ascii_case("true"));
    let mut requested: Vec<Requested> = Vec::new();
    for p in form.0.iter().filter(|(k, _)| k == "permission").map(|(_, v)| v.as_str()) {
        // RESOURCE#SCOPE1,SCOPE2 (Java's split: trailing empty parts dropped).
        let mut parts: Vec<&str> = p.split('#').collect();
        while parts.len() > 1 && parts.last() == Some(&"") {
            parts.pop();
        }
        let rsid = parts[0];
        let mut scopes: Vec<String> = Vec::new();
        if parts.len() > 1 {
            let mut s: Vec<&str> = parts[1].split(',').collect();
            while s.len() > 1 && s.last() == Some(&"") {
                s.pop();
            }
            scopes = s.into_iter().map(String::from).collect();
        }
        let resource = Some(rsid.to_string()).filter(|r| !r.trim().is_empty());
        match requested.iter_mut().find(|r| r.resource.is_some() && r.resource == resource) {
            Some(r) => {
                for s in scopes {
                    if !r.scopes.contains(&s) {
                        r.scopes.push(s);
                    }
                }
            }
            None => requested.push(Requested { resource, scopes }),
        }
    }
    // `#scope` permissions keep an empty resource id (no RPT permission ever matches it).
    let raw_empty: Vec<bool> = requested.iter().map(|r| r.resource.is_none()).collect();
    let include_names = first(form, "response_include_resource_name").is_none_or(|v| v.eq_ignore_ascii_case("true"));
    let limit = match first(form, "response_permissions_limit") {
        Some(l) => Some(
            l.parse::<i32>()
                .map_err(|_| err(500, "unknown_error", "For more on this error consult the server log."))? as i64,
        ),
        None => None,
    };
    let response_mode = first(form, "response_mode");

    // AuthorizationTokenService.authorize
    let ticket_param = first(form, "ticket");
    if claim_token.is_some() && client.public_client && ticket_param.is_none() {
        return Err(err(403, "invalid_grant", "Public clients are not allowed to send claims"));
    }
    let audience = match ticket_param {
        Some(t) => {
            let ticket = app.verify(realm, t).ok_or_else(|| err(403, "invalid_ticket", "Ticket verification failed"))?;
            let active = ticket.get("exp").and_then(|v| v.as_i64()).is_none_or(|e| e == 0 || now() < e)
                && ticket.get("nbf").and_then(|v| v.as_i64()).is_none_or(|n| n == 0 || now() >= n);
            if !active {
                return Err(err(403, "invalid_ticket", "Invalid permission ticket."));
            }
            requested = ticket
                .get("permissions")
                .and_then(|p| p.as_array())
                .map(|a| {
                    a.iter()
                        .map(|p| Requested {
                            resource: p.get("rsid").and_then(|v| v.as_str()).filter(|s| !s.trim().is_empty()).map(String::from),
                            scopes: p
                                .get("scopes")
                                .and_then(|s| s.as_array())
                                .map(|s| s.iter().filter_map(|x| x.as_str().map(String::from)).collect())
                                .unwrap_or_default(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            ticket.get("azp").and_then(|v| v.as_str()).map(String::from)
        }
        None => first(form, "audience").map(String::from),
    };
    let raw_empty = if ticket_param.is_some() { vec![false; requested.len()] } else { raw_empty };
    // The evaluation context (claim token format).
    match claim_format {
        None => {}
        Some(f) if f.eq_ignore_ascii_case(ID_TOKEN_FORMAT) => {}
        Some(f) if f == JWT_FORMAT => {
            if let Some(c) = claim_token {
                let ok = crate::util::b64url_decode(c).and_then(|b| serde_json::from_slice::<Value>(&b).ok()).is_some_and(|v| v.is_object());
                if !ok {
                    return Err(err(400, "invalid_request", "Invalid claims"));
                }
            }
        }
        Some(f) => return Err(err(400, "invalid_request", &format!("Claim token format [{f}] not supported"))),
    }
    let Some(audience) = audience else {
        return Err(err(400, "invalid_request", "You must provide the issuedFor"));
    };
    let Some(rs_client) = realm.client(&audience) else {
        return Err(err(400, "invalid_request", &format!("Unknown resource server id: [{audience}]")));
    };
    let Some(rs) = realm.authz.get(&rs_client.id) else {
        return Err(err(400, "invalid_request", "Client does not support permissions"));
    };

    let mut identity = Identity::from_token(realm, &caller.claims);
    if !caller.claims.contains_key("realm_access") {
        // An ID token as the identity: its roles are the user's.
        for (c, r) in realm.effective_roles(&caller.user) {
            match c {
                None => identity.realm_roles.insert(r),
                Some(c) => identity.client_roles.entry(c).or_default().insert(r),
            };
        }
    }
    let rpt_active = rpt.as_ref().is_some_and(|r| r.get("exp").and_then(|v| v.as_i64()).is_none_or(|e| e == 0 || now() < e));
    let previous: Vec<Value> = rpt
        .as_ref()
        .and_then(|r| r.get("authorization"))
        .and_then(|a| a.get("permissions"))
        .and_then(|p| p.as_array())
        .cloned()
        .unwrap_or_default();
    let plan = if ticket_param.is_none() && requested.is_empty() && rpt.is_none() {
        authz::plan_all(rs, realm, &rs_client.id, &identity, limit)
    } else {
        let scope = first(form, "scope");
        authz::plan_requested(rs, realm, &rs_client.id, &identity, &mut requested, scope, rpt_active.then_some(&previous[..]), limit)?
    };
    let granted = authz::evaluate(rs, realm, &rs_client.id, &identity, &plan, include_names);

    // isGranted: with an RPT, every requested permission must be in the result.
    let contains = |set: &[Granted], rsid: Option<&str>, scopes: &[String], raw_empty: bool| -> bool {
        !raw_empty && set.iter().any(|g| same_permission(rsid, scopes, g))
    };
    let mut ok = !granted.is_empty();
    if rpt.is_some() && !requested.is_empty() {
        let extra: Vec<String> = first(form, "scope").map(|s| s.split(' ').map(String::from).collect()).unwrap_or_default();
        for (i, r) in requested.iter().enumerate() {
            let mut scopes = r.scopes.clone();
            scopes.extend(extra.iter().cloned());
            if !contains(&granted, r.resource.as_deref(), &scopes, raw_empty.get(i).copied().unwrap_or(false)) {
                ok = false;
            }
        }
    }
    if !ok {
        let desc = if submit_request && ticket_param.is_some() { "request_submitted" } else { "not_authorized" };
        return Err(err(403, "access_denied", desc));
    }
    match response_mode {
        Some("decision") => return Ok(json!({ "result": true })),
        Some("permissions") => return Ok(Value::Array(granted.iter().map(Granted::to_json).collect())),
        Some(_) => return Err(err(400, "invalid_request", "Invalid response_mode")),
        None => {}
    }
    let upgraded = rpt.is_some()
        && previous.iter().all(|p| {
            let rsid = p.get("rsid").and_then(|v| v.as_str());
            let scopes: Vec<String> =
                p.get("scopes").and_then(|s| s.as_array()).map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default();
            granted.iter().any(|g| same_permission(rsid, &scopes, g))
        });
    Ok(issue_rpt(app, realm, store, ctx, &caller, client, rs_client, &granted, upgraded))
}

/// Keycloak's `Permission.equals` (`asked.equals(granted)`): the same resource, and either
/// no scopes on both sides or a granted scope among the asked ones.
fn same_permission(rsid: Option<&str>, scopes: &[String], g: &Granted) -> bool {
    if rsid.is_some() {
        if rsid != g.rsid.as_deref() {
            return false;
        }
        if scopes.is_empty() && g.scopes.is_empty() {
            return true;
        }
    } else if g.rsid.is_some() {
        return false;
    }
    g.scopes.iter().any(|s| scopes.contains(s))
}

/// The identity of a claim token in the ID-token format (a confidential client pushing
/// its user's ID token).
fn identity_from_id_token(app: &App, realm: &Realm, ctx: &Ctx, client: &Client, token: &str) -> Result<Caller, AuthzError> {
    let claims = app.verify(realm, token).ok_or_else(|| err(400, "unauthorized_client", "Invalid signature"))?;
    if claims.get("azp").and_then(|v| v.as_str()) != Some(client.client_id.as_str()) {
        return Err(err(400, "invalid_claim_token", "Token issued to a different client"));
    }
    if claims.get("exp").and_then(|v| v.as_i64()).is_some_and(|e| e <= now()) {
        return Err(err(400, "invalid_claim_token", "Expired token"));
    }
    if claims.get("iss").and_then(|v| v.as_str()) != Some(ctx.issuer(&realm.name).as_str()) {
        return Err(err(400, "unauthorized_client", "Invalid identity"));
    }
    let sub = claims.get("sub").and_then(|v| v.as_str()).unwrap_or("");
    let user = realm.user_by_id(sub).filter(|u| u.enabled).ok_or_else(|| err(400, "unauthorized_client", "Invalid identity"))?.clone();
    let sid = claims.get("sid").and_then(|v| v.as_str()).map(String::from);
    let mut claims = claims;
    claims.remove("realm_access");
    Ok(Caller { claims, user, sid })
}

/// The RPT: an access token of the requesting client with the `authorization` claim and
/// the resource server in `aud`, and Keycloak's `AuthorizationResponse` around it.
#[allow(clippy::too_many_arguments)]
fn issue_rpt(
    app: &App, realm: &Realm, store: &Store, ctx: &Ctx, caller: &Caller, client: &Client, rs_client: &Client, granted: &[Granted],
    upgraded: bool,
) -> Value {
    let now = now();
    let live = caller.sid.as_ref().and_then(|s| store.sessions.get(s));
    let transient;
    let session = match live {
        Some(s) => s,
        None => {
            transient = UserSession {
                id: uuid(),
                realm: realm.name.clone(),
                user_id: caller.user.id.clone(),
                started: now,
                last_refresh: now,
                auth_time: now,
                clients: Default::default(),
            };
            &transient
        }
    };
    let is_transient = live.is_none();
    // `aud`: as in the requesting client's tokens (clients the user has roles of), plus the
    // resource server.
    let mut aud: Vec<String> = Vec::new();
    for (c, _) in realm.effective_roles(&caller.user) {
        if let Some(c) = c {
            if c != client.client_id && !aud.contains(&c) {
                aud.push(c);
            }
        }
    }
    if !aud.contains(&rs_client.client_id) {
        aud.push(rs_client.client_id.clone());
    }
    let aud = if aud.len() == 1 { Value::from(aud[0].clone()) } else { json!(aud) };
    let permissions: Vec<Value> = granted.iter().map(Granted::to_json).collect();
    let extra = [("aud", aud), ("authorization", json!({ "permissions": permissions }))];
    let issuer = ctx.issuer(&realm.name);
    let base = ctx.base();
    let acr = caller.claims.get("acr").and_then(|v| v.as_str()).unwrap_or("1").to_string();
    let reuse = realm.revoke_refresh_token.then(uuid);
    let issued = tokens::issue(
        app,
        realm,
        client,
        &caller.user,
        session,
        &IssueParams {
            issuer: &issuer,
            base: &base,
            scope: None,
            nonce: None,
            acr: &acr,
            lifespan: client.attr("access.token.lifespan").and_then(|l| l.parse().ok()).unwrap_or(realm.access_token_lifespan),
            refresh: !is_transient && client.attr("use.refresh.tokens").is_none_or(|v| v != "false"),
            id_token: false,
            code: None,
            // Grant shortcut `pg` assumed for the permission grant.
            grant: if is_transient { "trrtpg" } else { "onrtpg" },
            transient: is_transient,
            extra_claims: &extra,
            reuse_id: reuse.as_deref(),
            // RPTs are not DPoP-bound here (the uma-ticket grant takes Bearer tokens only).
            dpop_jkt: None,
        },
    );
    let mut m = Map::new();
    m.insert("access_token".into(), issued.access_token.into());
    m.insert("expires_in".into(), issued.expires_in.into());
    m.insert("refresh_expires_in".into(), issued.refresh_expires_in.into());
    if let Some(r) = issued.refresh_token {
        m.insert("refresh_token".into(), r.into());
    }
    m.insert("token_type".into(), "Bearer".into());
    m.insert("not-before-policy".into(), realm.not_before.into());
    m.insert("upgraded".into(), upgraded.into());
    Value::Object(m)
}
