//! Routing and the OIDC / login endpoints under `/realms/{realm}/`.

use crate::http::{preflight, Ctx, Out};
use crate::model::{Client, Realm, User};
use crate::login_params;
use crate::pages;
use crate::required_action;
use crate::state::{App, AuthRequest, AuthTab, AuthSession, ClientSession, CodeEntry, LogoutRequest, Mode, Store, UserSession};
use crate::tokens::{self, IssueParams};
use crate::util::{self, enc, now, pkce_s256, pkce_syntax_ok, uuid, verify_redirect_uri, Params};
use axum::http::Method;
use serde_json::{json, Value};

const OIDC: &str = "protocol/openid-connect/";

/// Parameters of the authorization request checked for duplicates.
const AUTH_PARAMS: &[&str] = &[
    "client_id", "redirect_uri", "response_type", "response_mode", "state", "nonce", "scope", "prompt",
    "max_age", "login_hint", "code_challenge", "code_challenge_method", "ui_locales", "claims", "acr_values",
    "kc_idp_hint", "kc_action",
];

pub fn route(app: &App, ctx: &Ctx) -> Out {
    let path = ctx.path.as_str();
    if path == "/" || path.is_empty() {
        return Out::page(200, pages::info("Keycloak", "Keycloak test realm server", "Realms live under /realms/{realm}/."));
    }
    if crate::admin::is_admin_path(path) {
        return crate::admin::route(app, ctx);
    }
    let Some(rest) = path.strip_prefix("/realms/") else {
        return not_found();
    };
    let (realm_raw, sub) = rest.split_once('/').unwrap_or((rest, ""));
    let realm_name = percent_encoding::percent_decode_str(realm_raw).decode_utf8_lossy().into_owned();

    let mut guard = app.state.lock().unwrap_or_else(|e| e.into_inner());
    let st = &mut *guard;
    if st.store.sessions.len().is_multiple_of(64) {
        st.store.sweep(now());
    }
    let Some(realm) = st.realms.get_mut(&realm_name) else {
        return Out::json(404, &json!({ "error": "Realm does not exist" }));
    };
    if !realm.enabled {
        return Out::json(403, &json!({ "error": "Realm not enabled" }));
    }
    let store = &mut st.store;
    let m = &ctx.method;
    let get = m == Method::GET || m == Method::HEAD;
    let post = m == Method::POST;
    let options = m == Method::OPTIONS;

    if let Some(oidc) = sub.strip_prefix(OIDC) {
        return match oidc {
            "auth" | "registrations" if get || post => authorization(app, realm, store, ctx, oidc == "registrations"),
            "token" if post => token(app, realm, store, ctx),
            "token" if options => preflight(ctx, "POST, OPTIONS"),
            "userinfo" if get || post => userinfo(app, realm, store, ctx),
            "userinfo" if options => preflight(ctx, "GET, POST, OPTIONS"),
            "logout" if get || post => logout(app, realm, store, ctx),
            "logout" if options => preflight(ctx, "GET, POST, OPTIONS"),
            "logout/logout-confirm" if post => logout_confirm(realm, store, ctx),
            "certs" if get => certs(app, realm, ctx),
            "certs" if options => preflight(ctx, "GET, OPTIONS"),
            "revoke" if post => revoke(realm, store, ctx),
            "revoke" if options => preflight(ctx, "POST, OPTIONS"),
            "login-status-iframe.html" if get => Out::iframe_page(pages::LOGIN_STATUS_IFRAME),
            "login-status-iframe.html/init" if get => iframe_init(realm, ctx),
            "3p-cookies/step1.html" if get => Out::iframe_page(pages::THIRD_PARTY_STEP1),
            "3p-cookies/step2.html" if get => Out::iframe_page(pages::THIRD_PARTY_STEP2),
            "auth" | "registrations" | "token" | "userinfo" | "logout" | "logout/logout-confirm" | "certs" | "revoke"
            | "login-status-iframe.html" | "login-status-iframe.html/init" | "3p-cookies/step1.html"
            | "3p-cookies/step2.html" => method_not_allowed(),
            _ => not_found(),
        };
    }
    match sub {
        "" if get => realm_info(app, realm, ctx),
        ".well-known/openid-configuration" if get => discovery(realm, ctx),
        ".well-known/openid-configuration" if options => preflight(ctx, "GET, OPTIONS"),
        ".well-known/uma2-configuration" if get => crate::uma::configuration(discovery(realm, ctx), realm, ctx),
        ".well-known/uma2-configuration" if options => preflight(ctx, "GET, OPTIONS"),
        "authz/protection/permission" if post => crate::uma::protection_permission(app, realm, store, ctx),
        "login-actions/authenticate" if get || post => authenticate(app, realm, store, ctx),
        "login-actions/registration" if get || post => crate::register::registration_action(app, realm, store, ctx),
        "login-actions/required-action" if get || post => required_action::action(app, realm, store, ctx),
        "account" | "account/" if options => preflight(ctx, "GET, PUT, POST, DELETE"),
        "account" | "account/" if get && ctx.accepts_json() => account(app, realm, store, ctx),
        "account" | "account/" if get => {
            let mut o = Out::page(200, pages::account_console(&realm.name));
            o.headers.retain(|(k, _)| *k != "x-frame-options");
            o
        }
        "" | ".well-known/openid-configuration" | ".well-known/uma2-configuration" | "authz/protection/permission"
        | "login-actions/authenticate" | "login-actions/registration"
        | "login-actions/required-action" | "account" | "account/" => method_not_allowed(),
        _ => not_found(),
    }
}

fn not_found() -> Out {
    Out::json(
        404,
        &json!({"error": "Unable to find matching target resource method", "error_description": "For more on this error consult the server log."}),
    )
}

fn method_not_allowed() -> Out {
    Out::json(405, &json!({"error": "HTTP 405 Method Not Allowed"}))
}

pub fn error_page(realm: &Realm, status: u16, message: &str) -> Out {
    Out::page(status, pages::error(&pages::realm_title(&realm.name, realm.display_name.as_deref()), message))
}

fn realm_title(realm: &Realm) -> String {
    pages::realm_title(&realm.name, realm.display_name.as_deref())
}

// ------------------------------------------------------------------ realm info, discovery, certs

fn realm_info(app: &App, realm: &Realm, ctx: &Ctx) -> Out {
    let iss = ctx.issuer(&realm.name);
    Out::json(
        200,
        &json!({
            "realm": realm.name,
            "public_key": app.signing_key(realm).spki_b64,
            "token-service": format!("{iss}/protocol/openid-connect"),
            "account-service": format!("{iss}/account"),
            "tokens-not-before": realm.not_before,
        }),
    )
    .cors_any(ctx)
}

fn discovery(realm: &Realm, ctx: &Ctx) -> Out {
    let iss = ctx.issuer(&realm.name);
    let o = format!("{iss}/protocol/openid-connect");
    let algs = json!(["PS384", "RS384", "EdDSA", "ES384", "HS256", "HS512", "ES256", "RS256", "HS384", "ES512", "PS256", "PS512", "RS512"]);
    let v = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{o}/auth"),
        "token_endpoint": format!("{o}/token"),
        "introspection_endpoint": format!("{o}/token/introspect"),
        "userinfo_endpoint": format!("{o}/userinfo"),
        "end_session_endpoint": format!("{o}/logout"),
        "frontchannel_logout_session_supported": true,
        "frontchannel_logout_supported": true,
        "jwks_uri": format!("{o}/certs"),
        "check_session_iframe": format!("{o}/login-status-iframe.html"),
        "grant_types_supported": ["authorization_code", "client_credentials", "implicit", "password", "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange",
            "urn:ietf:params:oauth:grant-type:uma-ticket", "urn:openid:params:grant-type:ciba"],
        "acr_values_supported": ["0", "1"],
        "response_types_supported": ["code", "none", "id_token", "token", "id_token token", "code id_token", "code token", "code id_token token"],
        "subject_types_supported": ["public", "pairwise"],
        "prompt_values_supported": ["none", "login", "consent"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "id_token_encryption_alg_values_supported": ["RSA-OAEP", "RSA-OAEP-256", "RSA1_5"],
        "id_token_encryption_enc_values_supported": ["A256GCM", "A192GCM", "A128GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"],
        "userinfo_signing_alg_values_supported": ["RS256", "none"],
        "request_object_signing_alg_values_supported": ["RS256", "none"],
        "response_modes_supported": ["query", "fragment", "form_post", "query.jwt", "fragment.jwt", "form_post.jwt", "jwt"],
        "registration_endpoint": format!("{iss}/clients-registrations/openid-connect"),
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic", "client_secret_post", "tls_client_auth", "client_secret_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "introspection_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic", "client_secret_post", "tls_client_auth", "client_secret_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": algs,
        "authorization_signing_alg_values_supported": algs,
        "claims_supported": ["aud", "sub", "iss", "auth_time", "name", "given_name", "family_name", "preferred_username", "email", "acr"],
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": true,
        "scopes_supported": ["openid", "profile", "email", "roles", "web-origins", "acr", "basic", "address", "phone", "offline_access", "microprofile-jwt", "organization"],
        "request_parameter_supported": true,
        "request_uri_parameter_supported": true,
        "require_request_uri_registration": true,
        "code_challenge_methods_supported": ["plain", "S256"],
        "tls_client_certificate_bound_access_tokens": true,
        "revocation_endpoint": format!("{o}/revoke"),
        "revocation_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic", "client_secret_post", "tls_client_auth", "client_secret_jwt"],
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "device_authorization_endpoint": format!("{o}/auth/device"),
        "backchannel_token_delivery_modes_supported": ["poll", "ping"],
        "backchannel_authentication_endpoint": format!("{o}/ext/ciba/auth"),
        "require_pushed_authorization_requests": false,
        "pushed_authorization_request_endpoint": format!("{o}/ext/par/request"),
        "mtls_endpoint_aliases": {
            "token_endpoint": format!("{o}/token"),
            "revocation_endpoint": format!("{o}/revoke"),
            "introspection_endpoint": format!("{o}/token/introspect"),
            "device_authorization_endpoint": format!("{o}/auth/device"),
            "registration_endpoint": format!("{iss}/clients-registrations/openid-connect"),
            "userinfo_endpoint": format!("{o}/userinfo"),
            "pushed_authorization_request_endpoint": format!("{o}/ext/par/request"),
            "backchannel_authentication_endpoint": format!("{o}/ext/ciba/auth"),
        },
        "authorization_response_iss_parameter_supported": true,
        "dpop_signing_alg_values_supported": crate::dpop::ALGS,
    });
    Out::json(200, &v).header("cache-control", "no-cache").cors_any(ctx)
}

fn certs(app: &App, realm: &Realm, ctx: &Ctx) -> Out {
    let keys: Vec<Value> = app
        .published_keys(realm)
        .into_iter()
        .map(|k| json!({ "kid": k.kid, "kty": "RSA", "alg": "RS256", "use": "sig", "n": k.n, "e": k.e }))
        .collect();
    let v = json!({ "keys": keys });
    let mut o = Out::json(200, &v).header("cache-control", "no-cache").cors_any(ctx);
    if ctx.header("accept").is_some_and(|a| a.contains("application/jwk-set+json")) {
        for h in o.headers.iter_mut() {
            if h.0 == "content-type" {
                h.1 = "application/jwk-set+json".into();
            }
        }
    }
    o
}

// ------------------------------------------------------------------ SSO helpers

/// The user session of the `KEYCLOAK_IDENTITY` cookie, if valid.
pub fn sso_session(realm: &Realm, store: &Store, ctx: &Ctx) -> Option<String> {
    let cookie = ctx.cookie("KEYCLOAK_IDENTITY")?;
    let claims = crate::jwt::verify_hs512(&realm.hmac_key, &cookie)?;
    if claims.get("typ")?.as_str()? != "Serialized-ID" {
        return None;
    }
    let sid = claims.get("sid")?.as_str()?;
    let s = store.sessions.get(sid)?;
    if s.realm != realm.name || claims.get("sub")?.as_str()? != s.user_id || !s.active(realm.sso_idle, realm.sso_max, now()) {
        return None;
    }
    if !realm.user_by_id(&s.user_id)?.enabled {
        return None;
    }
    Some(sid.to_string())
}

fn session_cookies(ctx: &Ctx, realm: &Realm, session: &UserSession, out: &mut Out) {
    let identity = tokens::identity_token(realm, &ctx.issuer(&realm.name), session);
    out.headers.push(("set-cookie", ctx.set_cookie(&realm.name, "KEYCLOAK_IDENTITY", &identity, None, true)));
    let hash = util::b64url(&util::sha256(session.id.as_bytes()));
    let max_age = (session.started + realm.sso_max - now()).max(0);
    out.headers.push(("set-cookie", ctx.set_cookie(&realm.name, "KEYCLOAK_SESSION", &hash, Some(max_age), false)));
}

/// Build the redirect carrying `params` in the given response mode.
pub fn deliver(redirect_uri: &str, mode: Mode, params: &[(&str, String)]) -> Out {
    let encoded: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect();
    match mode {
        Mode::FormPost => Out::page(200, pages::form_post(redirect_uri, params)),
        Mode::Fragment => {
            let loc = match redirect_uri.split_once('#') {
                Some((_, frag)) if !frag.is_empty() => format!("{redirect_uri}&{}", encoded.join("&")),
                Some((base, _)) => format!("{base}#{}", encoded.join("&")),
                None => format!("{redirect_uri}#{}", encoded.join("&")),
            };
            Out::redirect(&loc)
        }
        Mode::Query => {
            let (base, frag) = match redirect_uri.split_once('#') {
                Some((b, f)) => (b, Some(f)),
                None => (redirect_uri, None),
            };
            let sep = if base.contains('?') { if base.ends_with('?') || base.ends_with('&') { "" } else { "&" } } else { "?" };
            let mut loc = format!("{base}{sep}{}", encoded.join("&"));
            if let Some(f) = frag {
                loc.push('#');
                loc.push_str(f);
            }
            Out::redirect(&loc)
        }
    }
}

struct ErrorTarget<'a> {
    redirect_uri: &'a str,
    state: Option<&'a str>,
    iss: Option<String>,
}

impl ErrorTarget<'_> {
    fn send(&self, mode: Mode, error: &str, description: Option<&str>) -> Out {
        let mut p: Vec<(&str, String)> = vec![("error", error.to_string())];
        if let Some(d) = description {
            p.push(("error_description", d.to_string()));
        }
        if let Some(s) = self.state {
            p.push(("state", s.to_string()));
        }
        if let Some(i) = &self.iss {
            p.push(("iss", i.clone()));
        }
        deliver(self.redirect_uri, mode, &p)
    }
}

// ------------------------------------------------------------------ authorization endpoint

fn authorization(app: &App, realm: &mut Realm, store: &mut Store, ctx: &Ctx, register: bool) -> Out {
    let params = if ctx.method == Method::POST { Params::parse_bytes(&ctx.body) } else { Params::parse(&ctx.query) };

    // 1. Client.
    let Some(client_id) = params.get("client_id") else {
        return error_page(realm, 400, "Missing parameters: client_id");
    };
    let Some(client) = realm.client(client_id).cloned() else {
        return error_page(realm, 400, "Client not found.");
    };
    if !client.enabled {
        return error_page(realm, 400, "Client disabled.");
    }
    if client.bearer_only {
        return error_page(realm, 403, "Bearer-only applications are not allowed to initiate browser login");
    }
    // 2. redirect_uri.
    let patterns = client.resolved_redirect_uris(&ctx.base());
    let Some(redirect_uri) = verify_redirect_uri(params.get("redirect_uri"), &patterns) else {
        return error_page(realm, 400, "Invalid parameter: redirect_uri");
    };
    let target = ErrorTarget {
        redirect_uri: &redirect_uri,
        state: params.get("state"),
        iss: (!client.attr_true("exclude.issuer.from.auth.response")).then(|| ctx.issuer(&realm.name)),
    };
    if params.duplicated(AUTH_PARAMS) {
        return target.send(Mode::Query, "invalid_request", Some("duplicated parameter"));
    }

    // 3. response_type.
    let Some(rt) = params.get("response_type") else {
        return target.send(Mode::Query, "invalid_request", Some("Missing parameter: response_type"));
    };
    let mut types: Vec<&str> = rt.split_whitespace().collect();
    types.sort_unstable();
    let known = [
        vec!["code"], vec!["none"], vec!["id_token"], vec!["token"], vec!["id_token", "token"],
        vec!["code", "id_token"], vec!["code", "token"], vec!["code", "id_token", "token"],
    ];
    if !known.contains(&types) {
        return target.send(Mode::Query, "unsupported_response_type", None);
    }
    let has_code = types.contains(&"code");
    let has_id_token = types.contains(&"id_token");
    let has_token = types.contains(&"token");
    let implicit_or_hybrid = has_id_token || has_token;

    // 4. response_mode.
    let mode = match params.get("response_mode") {
        None => if implicit_or_hybrid { Mode::Fragment } else { Mode::Query },
        Some("query") => Mode::Query,
        Some("fragment") => Mode::Fragment,
        Some("form_post") => Mode::FormPost,
        Some(_) => return target.send(Mode::Query, "invalid_request", Some("Invalid parameter: response_mode")),
    };
    if implicit_or_hybrid && mode == Mode::Query {
        return target.send(
            Mode::Query,
            "invalid_request",
            Some("Response_mode 'query' not allowed for implicit or hybrid flow"),
        );
    }
    // 5. Flow flags.
    if implicit_or_hybrid && !client.implicit_flow {
        return target.send(mode, "unauthorized_client", Some("Client is not allowed to initiate browser login with given response_type. Implicit flow is disabled for the client."));
    }
    if !implicit_or_hybrid && !client.standard_flow {
        return target.send(mode, "unauthorized_client", Some("Client is not allowed to initiate browser login with given response_type. Standard flow is disabled for the client."));
    }
    // 6. scope.
    let scope = params.get("scope");
    if tokens::unknown_scope(scope) {
        return target.send(mode, "invalid_scope", Some(&format!("Invalid scopes: {}", scope.unwrap_or(""))));
    }
    // 7. nonce.
    let nonce = params.get("nonce");
    if has_id_token && nonce.is_none() {
        return target.send(mode, "invalid_request", Some("Missing parameter: nonce"));
    }
    // 8. PKCE.
    let challenge = params.get("code_challenge");
    let method = params.get("code_challenge_method");
    let challenge = match client.attr("pkce.code.challenge.method") {
        Some(configured) => {
            let Some(method) = method else {
                return target.send(mode, "invalid_request", Some("Missing parameter: code_challenge_method"));
            };
            if method != configured {
                return target.send(mode, "invalid_request", Some("Invalid parameter: code challenge method is not configured one"));
            }
            let Some(ch) = challenge else {
                return target.send(mode, "invalid_request", Some("Missing parameter: code_challenge"));
            };
            if !pkce_syntax_ok(ch) {
                return target.send(mode, "invalid_request", Some("Invalid parameter: code_challenge"));
            }
            Some((ch.to_string(), method.to_string()))
        }
        None => {
            if let Some(m) = method {
                if m != "plain" && m != "S256" {
                    return target.send(mode, "invalid_request", Some("Invalid parameter: code_challenge_method"));
                }
            }
            match challenge {
                Some(ch) if !pkce_syntax_ok(ch) => {
                    return target.send(mode, "invalid_request", Some("Invalid parameter: code_challenge"));
                }
                Some(ch) => Some((ch.to_string(), method.unwrap_or("plain").to_string())),
                None => None,
            }
        }
    };

    // Requested ACR: an essential value that is neither mapped to a level nor a number
    // cannot be met (error page, as Keycloak).
    let (acr_values, acr_essential) = login_params::requested_acr(params.get("claims"), params.get("acr_values"), &client);
    if login_params::unsatisfiable_essential(&acr_values, acr_essential, &login_params::loa_map(realm, &client)).is_some() {
        return error_page(realm, 400, "Invalid parameter: claims");
    }

    let req = AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        code: has_code,
        id_token: has_id_token,
        token: has_token,
        mode,
        state: params.get("state").map(String::from),
        nonce: nonce.map(String::from),
        scope: scope.map(String::from),
        challenge,
        login_hint: params.get("login_hint").map(String::from),
        action: params.get("kc_action").map(|a| a.split_once(':').map_or(a, |(alias, _)| alias).to_string()),
        action_status: None,
        ui_locales: params.get("ui_locales").map(String::from),
        acr_values,
    };

    // 9. Authentication.
    let prompts: Vec<&str> = params.get("prompt").unwrap_or("").split_whitespace().collect();
    let max_age: Option<i64> = params.get("max_age").and_then(|m| m.trim().parse().ok());
    let sso = sso_session(realm, store, ctx);
    let auth_time = sso.as_ref().and_then(|sid| store.sessions.get(sid)).map(|s| s.auth_time).unwrap_or(0);
    // prompt=login, an expired max_age, or an application-initiated action whose
    // re-authentication window (KC_ACTION_MAX_AGE) has passed: the login form again.
    let needs_reauth = sso.is_some()
        && (prompts.contains(&"login")
            || max_age.is_some_and(|m| m <= 0 || auth_time.saturating_add(m) < now())
            || required_action::needs_reauth(req.action.as_deref(), auth_time));
    if register || prompts.contains(&"create") {
        if !realm.registration_allowed {
            return error_page(realm, 400, "Registration not allowed");
        }
        return new_auth_tab(realm, store, ctx, req, true, None);
    }
    if let Some(sid) = sso.clone().filter(|_| !needs_reauth) {
        if req.action.is_some() {
            if prompts.contains(&"none") && required_action::supported(req.action.as_deref()) {
                // The action needs the user: not possible without interaction.
                return target.send(mode, "interaction_required", None);
            }
            return required_action::start(app, realm, store, ctx, req, sid, 0, None);
        }
        return complete_login(app, realm, store, ctx, &req, &sid, 0);
    }
    if prompts.contains(&"none") {
        return target.send(mode, "login_required", None);
    }
    let prefill = if needs_reauth {
        sso.and_then(|sid| store.sessions.get(&sid).and_then(|s| realm.user_by_id(&s.user_id)).map(|u| u.username.clone()))
    } else {
        None
    };
    new_auth_tab(realm, store, ctx, req, false, prefill)
}

/// The browser's root authentication session (`AUTH_SESSION_ID`), created if missing;
/// the second value is the cookie to set then.
pub fn auth_root(realm: &Realm, store: &mut Store, ctx: &Ctx) -> (String, Option<String>) {
    match ctx.cookie("AUTH_SESSION_ID").filter(|c| store.auth_sessions.get(c).is_some_and(|a| a.realm == realm.name)) {
        Some(id) => (id, None),
        None => {
            let id = uuid();
            store.auth_sessions.insert(id.clone(), AuthSession { realm: realm.name.clone(), tabs: Default::default() });
            let cookie = ctx.set_cookie(&realm.name, "AUTH_SESSION_ID", &id, None, true);
            (id, Some(cookie))
        }
    }
}

/// Store the request in the browser's authentication session and show the login
/// (or registration) page. `prefill` (re-authentication) names the session's user.
fn new_auth_tab(realm: &Realm, store: &mut Store, ctx: &Ctx, req: AuthRequest, registration: bool, prefill: Option<String>) -> Out {
    let (root_id, set_cookie) = auth_root(realm, store, ctx);
    let tab_id = util::random_token(8);
    let reauth = prefill.is_some();
    let username = prefill.or_else(|| req.login_hint.clone()).unwrap_or_default();
    let client_id = req.client_id.clone();
    let ui_locales = req.ui_locales.clone();
    if let Some(a) = store.auth_sessions.get_mut(&root_id) {
        a.tabs.insert(tab_id.clone(), AuthTab { req, created: now(), completed: false, pending: None });
    }
    let out = if registration {
        crate::register::registration_page(realm, ctx, &client_id, &tab_id, [""; 4], None, 200)
    } else {
        let info = reauth.then_some("Please re-authenticate to continue");
        login_page(realm, ctx, &client_id, &tab_id, &username, None, info, 200)
    };
    let mut out = login_params::localize(out, realm, ctx, ui_locales.as_deref());
    if let Some(c) = set_cookie {
        out.headers.push(("set-cookie", c));
    }
    out
}

pub fn login_action_url(realm: &Realm, ctx: &Ctx, action: &str, client_id: &str, tab_id: &str) -> String {
    login_action_url_for(realm, ctx, action, &uuid(), client_id, tab_id)
}

/// A login-actions URL with a given `execution` (a required action's alias, or an id).
pub fn login_action_url_for(realm: &Realm, ctx: &Ctx, action: &str, execution: &str, client_id: &str, tab_id: &str) -> String {
    format!(
        "{}/login-actions/{action}?session_code={}&execution={}&client_id={}&tab_id={}",
        ctx.issuer(&realm.name),
        util::random_token(16),
        enc(execution),
        enc(client_id),
        enc(tab_id)
    )
}

pub fn registration_link(realm: &Realm, ctx: &Ctx, client_id: &str, tab_id: &str) -> String {
    format!("{}/login-actions/registration?client_id={}&tab_id={}", ctx.issuer(&realm.name), enc(client_id), enc(tab_id))
}

#[allow(clippy::too_many_arguments)]
fn login_page(
    realm: &Realm, ctx: &Ctx, client_id: &str, tab_id: &str, username: &str, error: Option<&str>, info: Option<&str>, status: u16,
) -> Out {
    let action = login_action_url(realm, ctx, "authenticate", client_id, tab_id);
    let reg = realm.registration_allowed.then(|| registration_link(realm, ctx, client_id, tab_id));
    let title = realm_title(realm);
    Out::page(
        status,
        pages::login(&pages::LoginPage {
            realm_title: &title,
            action: &action,
            username,
            error,
            info,
            registration_url: reg.as_deref(),
        }),
    )
}

/// Resolve the auth tab of a login-actions request, or the error response.
pub fn find_tab<'a>(realm: &Realm, store: &'a mut Store, ctx: &Ctx) -> Result<(String, &'a mut AuthTab), Out> {
    let q = Params::parse(&ctx.query);
    let Some(root) = ctx.cookie("AUTH_SESSION_ID") else {
        return Err(error_page(realm, 400, "Cookie not found. Please make sure cookies are enabled in your browser."));
    };
    let timed_out = || error_page(realm, 400, "Your login attempt timed out. Login will start from the beginning.");
    let Some(tab_id) = q.get("tab_id") else {
        return Err(timed_out());
    };
    let Some(auth) = store.auth_sessions.get_mut(&root).filter(|a| a.realm == realm.name) else {
        return Err(timed_out());
    };
    match auth.tabs.get_mut(tab_id) {
        Some(tab) if tab.created + 1800 > now() => Ok((tab_id.to_string(), tab)),
        _ => Err(timed_out()),
    }
}

/// A login-actions request for a tab that already finished: with a live SSO session
/// Keycloak sends the app `temporarily_unavailable` / `authentication_expired` (keycloak-js
/// then logs in again); otherwise the "timed out" page.
pub fn tab_finished(realm: &Realm, ctx: &Ctx, req: &AuthRequest, sso: bool) -> Out {
    if sso {
        let target = ErrorTarget { redirect_uri: &req.redirect_uri, state: req.state.as_deref(), iss: Some(ctx.issuer(&realm.name)) };
        return target.send(req.mode, "temporarily_unavailable", Some("authentication_expired"));
    }
    error_page(realm, 400, "Your login attempt timed out. Login will start from the beginning.")
}

fn authenticate(app: &App, realm: &mut Realm, store: &mut Store, ctx: &Ctx) -> Out {
    let sso = sso_session(realm, store, ctx);
    let (tab_id, tab) = match find_tab(realm, store, ctx) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let req = tab.req.clone();
    if tab.completed {
        return tab_finished(realm, ctx, &req, sso.is_some());
    }
    let locale = |out: Out| login_params::localize(out, realm, ctx, req.ui_locales.as_deref());
    if ctx.method != Method::POST {
        let hint = req.login_hint.clone().unwrap_or_default();
        return locale(login_page(realm, ctx, &req.client_id, &tab_id, &hint, None, None, 200));
    }
    let form = Params::parse_bytes(&ctx.body);
    let username = form.get("username").unwrap_or("");
    let password = form.get("password").unwrap_or("");
    let user = match realm.user_for_login(username) {
        Some(u) if u.password.as_deref().is_some_and(|p| p == password) && !password.is_empty() => u.clone(),
        _ => return locale(login_page(realm, ctx, &req.client_id, &tab_id, username, Some("Invalid username or password."), None, 200)),
    };
    if !user.enabled {
        return locale(login_page(realm, ctx, &req.client_id, &tab_id, username, Some("Account is disabled, contact your administrator."), None, 200));
    }
    tab.completed = true;
    let sid = login_user(realm, store, sso, &user);
    if req.action.is_some() {
        return required_action::start(app, realm, store, ctx, req, sid, 1, Some(tab_id));
    }
    complete_login(app, realm, store, ctx, &req, &sid, 1)
}

/// Create (or, for re-authentication of the same user, refresh) the user session.
pub fn login_user(realm: &Realm, store: &mut Store, sso: Option<String>, user: &User) -> String {
    let now = now();
    if let Some(sid) = sso {
        if let Some(s) = store.sessions.get_mut(&sid) {
            if s.user_id == user.id {
                s.auth_time = now;
                s.last_refresh = now;
                return sid;
            }
        }
        store.sessions.remove(&sid);
    }
    let sid = uuid();
    store.sessions.insert(
        sid.clone(),
        UserSession {
            id: sid.clone(),
            realm: realm.name.clone(),
            user_id: user.id.clone(),
            started: now,
            last_refresh: now,
            auth_time: now,
            clients: Default::default(),
        },
    );
    sid
}

/// The success redirect of the authorization endpoint (code and/or tokens), with the
/// SSO cookies.
/// `loa` is the level of authentication reached (1 = the login form, 0 = SSO cookie);
/// the `acr` claim follows from it and the requested ACR values.
pub fn complete_login(app: &App, realm: &Realm, store: &mut Store, ctx: &Ctx, req: &AuthRequest, sid: &str, loa: i32) -> Out {
    let issuer = ctx.issuer(&realm.name);
    let (Some(client), Some(session)) = (realm.client(&req.client_id), store.sessions.get_mut(sid)) else {
        return error_page(realm, 400, "Invalid parameter: client_id");
    };
    let acr = login_params::acr_claim(realm, client, &req.acr_values, loa);
    let acr = acr.as_str();
    session.last_refresh = now();
    // A new authorization keeps the client session (and its refresh-token chains).
    let cs = session.clients.entry(client.client_id.clone()).or_default();
    cs.nonce = req.nonce.clone();
    cs.acr = acr.to_string();
    let Some(user) = realm.user_by_id(&session.user_id) else {
        return error_page(realm, 400, "User not found");
    };

    let mut params: Vec<(&str, String)> = Vec::new();
    if let Some(s) = &req.state {
        params.push(("state", s.clone()));
    }
    if !client.attr_true("exclude.session.state.from.auth.response") {
        params.push(("session_state", sid.to_string()));
    }
    if !client.attr_true("exclude.issuer.from.auth.response") {
        params.push(("iss", issuer.clone()));
    }
    if let (Some(action), Some(status)) = (&req.action, req.action_status) {
        params.push(("kc_action", action.clone()));
        params.push(("kc_action_status", status.to_string()));
    }
    let mut code = None;
    if req.code {
        let c = format!("{}.{}.{}", uuid(), sid, client.id);
        store.codes.insert(
            c.clone(),
            CodeEntry {
                realm: realm.name.clone(),
                client_id: client.client_id.clone(),
                redirect_uri: req.redirect_uri.clone(),
                session_id: sid.to_string(),
                scope: req.scope.clone(),
                challenge: req.challenge.clone(),
                acr: acr.to_string(),
                expires: now() + realm.access_code_lifespan,
                used: false,
            },
        );
        params.push(("code", c.clone()));
        code = Some(c);
    }
    let Some(session) = store.sessions.get(sid) else {
        return error_page(realm, 400, "Session not active");
    };
    if req.token || req.id_token {
        let base = ctx.base();
        let issued = tokens::issue(
            app,
            realm,
            client,
            user,
            session,
            &IssueParams {
                issuer: &issuer,
                base: &base,
                scope: req.scope.as_deref(),
                nonce: req.nonce.as_deref(),
                acr,
                lifespan: realm.access_token_lifespan_implicit,
                refresh: false,
                id_token: true,
                code: code.as_deref(),
                grant: "onrtim",
                transient: false,
                extra_claims: &[],
                reuse_id: None,
                dpop_jkt: None,
            },
        );
        if req.token {
            params.push(("access_token", issued.access_token.clone()));
            params.push(("token_type", "Bearer".into()));
        }
        if let Some(id) = issued.id_token.filter(|_| req.id_token) {
            params.push(("id_token", id));
        }
        if req.token {
            params.push(("expires_in", issued.expires_in.to_string()));
        }
    }
    let mut out = deliver(&req.redirect_uri, req.mode, &params);
    session_cookies(ctx, realm, session, &mut out);
    out
}

// ------------------------------------------------------------------ token endpoint

type OAuthErr = (u16, &'static str, String);

fn err(status: u16, error: &'static str, desc: &str) -> OAuthErr {
    (status, error, desc.to_string())
}

pub(crate) fn authenticate_client<'a>(realm: &'a Realm, ctx: &Ctx, form: &Params) -> Result<&'a Client, OAuthErr> {
    let invalid = || err(401, "invalid_client", "Invalid client or Invalid client credentials");
    let mut basic: Option<(String, String)> = None;
    if let Some(h) = ctx.header("authorization") {
        if let Some((scheme, value)) = h.trim().split_once(' ') {
            if scheme.eq_ignore_ascii_case("basic") {
                let decoded = util::b64std_decode(value).and_then(|b| String::from_utf8(b).ok()).ok_or_else(invalid)?;
                let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
                let dec = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
                basic = Some((dec(id), dec(secret)));
            }
        }
    }
    let (client_id, secret) = match &basic {
        Some((id, s)) => (Some(id.as_str()), Some(s.as_str())),
        None => (form.get("client_id"), form.get("client_secret")),
    };
    let client_id = client_id.ok_or_else(invalid)?;
    let client = realm.client(client_id).filter(|c| c.enabled).ok_or_else(invalid)?;
    if client.bearer_only {
        return Err(err(400, "invalid_client", "Bearer-only not allowed"));
    }
    if !client.public_client {
        match (&client.secret, secret) {
            (Some(expected), Some(given)) if expected == given => {}
            _ => return Err(invalid()),
        }
    }
    Ok(client)
}

fn token(app: &App, realm: &Realm, store: &mut Store, ctx: &Ctx) -> Out {
    let form = Params::parse_bytes(&ctx.body);
    // UMA (Authorization Services): no client authentication, repeated `permission` (uma.rs).
    if form.get("grant_type") == Some(crate::uma::UMA_GRANT) {
        return crate::uma::grant(app, realm, store, ctx, &form);
    }
    let fail = |e: OAuthErr| Out::oauth_error(e.0, e.1, &e.2).no_store();
    if form.0.iter().any(|(k, _)| form.count(k) > 1) {
        return fail(err(400, "invalid_request", "duplicated parameter"));
    }
    let Some(grant) = form.get("grant_type") else {
        return fail(err(400, "invalid_request", "Missing form parameter: grant_type"));
    };
    if !["authorization_code", "refresh_token", "password", "client_credentials"].contains(&grant) {
        return fail(err(400, "unsupported_grant_type", "Unsupported grant_type"));
    }
    let client = match authenticate_client(realm, ctx, &form) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let origins = client.web_origins(&ctx.base());
    // DPoP (Keycloak's DPoPUtil.handleDPoPHeader): after client authentication, before the
    // grant, for every grant type, when the client requires it or the request has a proof.
    let dpop_header = crate::dpop::header(&ctx.headers);
    let proof = if crate::dpop::required(client) || dpop_header.is_some() {
        let url = ctx.url();
        let target = crate::dpop::Target { method: ctx.method.as_str(), url: &url, access_token: None };
        match crate::dpop::validate(dpop_header.as_deref(), &target, &mut store.dpop_replay, now()) {
            Ok(p) => Some(p),
            Err(desc) => return fail(err(400, "invalid_request", &desc)).cors(ctx, &origins),
        }
    } else {
        None
    };
    let jkt = proof.as_ref().map(|p| p.jkt.as_str());
    let result = match grant {
        "authorization_code" => code_grant(app, realm, store, ctx, client, &form, jkt),
        "refresh_token" => refresh_grant(app, realm, store, ctx, client, &form, jkt),
        "password" => password_grant(app, realm, store, ctx, client, &form, jkt),
        _ => client_credentials_grant(app, realm, store, ctx, client, &form, jkt),
    };
    match result {
        Ok(v) => Out::json(200, &v).no_store().cors(ctx, &origins),
        Err(e) => fail(e).cors(ctx, &origins),
    }
}

#[allow(clippy::too_many_arguments)]
fn issue_for(
    app: &App, realm: &Realm, store: &Store, ctx: &Ctx, client: &Client, sid: &str, scope: Option<&str>, acr: &str, grant: &str,
    reuse_id: Option<&str>, dpop_jkt: Option<&str>,
) -> Result<Value, OAuthErr> {
    let session = store.sessions.get(sid).ok_or_else(|| err(400, "invalid_grant", "Session not active"))?;
    let user = realm.user_by_id(&session.user_id).ok_or_else(|| err(400, "invalid_grant", "User not found"))?;
    let nonce = session.clients.get(&client.client_id).and_then(|c| c.nonce.clone());
    let issuer = ctx.issuer(&realm.name);
    let base = ctx.base();
    let lifespan = client
        .attr("access.token.lifespan")
        .and_then(|l| l.parse().ok())
        .unwrap_or(realm.access_token_lifespan);
    let openid = scope.is_some_and(|s| s.split_whitespace().any(|x| x == "openid"));
    let issued = tokens::issue(
        app,
        realm,
        client,
        user,
        session,
        &IssueParams {
            issuer: &issuer,
            base: &base,
            scope,
            nonce: nonce.as_deref(),
            acr,
            lifespan,
            refresh: client.attr("use.refresh.tokens").is_none_or(|v| v != "false"),
            id_token: openid,
            code: None,
            grant,
            transient: false,
            extra_claims: &[],
            reuse_id,
            dpop_jkt,
        },
    );
    Ok(tokens::token_response(&issued, sid, realm.not_before))
}

fn code_grant(
    app: &App, realm: &Realm, store: &mut Store, ctx: &Ctx, client: &Client, form: &Params, jkt: Option<&str>,
) -> Result<Value, OAuthErr> {
    if !client.standard_flow {
        return Err(err(400, "unauthorized_client", "Client not allowed to exchange code"));
    }
    let code = form.get("code").ok_or_else(|| err(400, "invalid_request", "Missing parameter: code"))?;
    let not_valid = || err(400, "invalid_grant", "Code not valid");
    let entry = store.codes.get_mut(code).filter(|c| c.realm == realm.name).ok_or_else(not_valid)?;
    if entry.used {
        // Replay: revoke what was issued from this code.
        let (sid, cid) = (entry.session_id.clone(), entry.client_id.clone());
        if let Some(s) = store.sessions.get_mut(&sid) {
            s.clients.remove(&cid);
        }
        return Err(not_valid());
    }
    entry.used = true;
    if entry.expires <= now() {
        return Err(err(400, "invalid_grant", "Code is expired"));
    }
    if entry.client_id != client.client_id {
        return Err(err(400, "invalid_grant", "Auth error"));
    }
    if form.get("redirect_uri") != Some(entry.redirect_uri.as_str()) {
        return Err(err(400, "invalid_grant", "Incorrect redirect_uri"));
    }
    let verifier = form.get("code_verifier");
    match (&entry.challenge, verifier) {
        (Some(_), None) => return Err(err(400, "invalid_grant", "PKCE code verifier not specified")),
        (None, Some(_)) => {
            return Err(err(400, "invalid_grant", "PKCE code verifier specified but challenge not present in authorization"))
        }
        (Some((challenge, method)), Some(v)) => {
            if !pkce_syntax_ok(v) {
                return Err(err(400, "invalid_grant", "PKCE verification failed: Invalid code verifier"));
            }
            let computed = if method == "S256" { pkce_s256(v) } else { v.to_string() };
            if &computed != challenge {
                return Err(err(400, "invalid_grant", "PKCE verification failed: Code mismatch"));
            }
        }
        (None, None) => {}
    }
    let sid = entry.session_id.clone();
    let scope = entry.scope.clone();
    let acr = entry.acr.clone();
    let session = store.sessions.get(&sid).ok_or_else(|| err(400, "invalid_grant", "User session not found"))?;
    if !session.active(realm.sso_idle, realm.sso_max, now()) {
        return Err(err(400, "invalid_grant", "Session not active"));
    }
    if !session.clients.contains_key(&client.client_id) {
        return Err(err(400, "invalid_grant", "Session not active"));
    }
    match realm.user_by_id(&session.user_id) {
        Some(u) if u.enabled => {}
        _ => return Err(err(400, "invalid_grant", "User disabled")),
    }
    issue_for(app, realm, store, ctx, client, &sid, scope.as_deref(), &acr, "onrtac", new_chain(realm).as_deref(), jkt)
}

/// With rotation on, each refresh token a non-refresh grant issues starts a reuse chain.
fn new_chain(realm: &Realm) -> Option<String> {
    realm.revoke_refresh_token.then(crate::util::uuid)
}

fn refresh_grant(
    app: &App, realm: &Realm, store: &mut Store, ctx: &Ctx, client: &Client, form: &Params, jkt: Option<&str>,
) -> Result<Value, OAuthErr> {
    let token = form.get("refresh_token").ok_or_else(|| err(400, "invalid_request", "No refresh token"))?;
    let invalid = || err(400, "invalid_grant", "Invalid refresh token");
    let claims = crate::jwt::verify_hs512(&realm.hmac_key, token).ok_or_else(invalid)?;
    let s = |k: &str| claims.get(k).and_then(|v| v.as_str()).map(String::from);
    if !matches!(s("typ").as_deref(), Some("Refresh")) {
        return Err(invalid());
    }
    if claims.get("exp").and_then(|v| v.as_i64()).is_none_or(|e| e <= now()) {
        return Err(err(400, "invalid_grant", "Token is not active"));
    }
    if s("iss").as_deref() != Some(ctx.issuer(&realm.name).as_str()) {
        return Err(err(400, "invalid_grant", "Invalid token issuer"));
    }
    if s("azp").as_deref() != Some(client.client_id.as_str()) {
        return Err(err(400, "invalid_grant", "Invalid refresh token. Token client and authorized client don't match"));
    }
    // A DPoP-bound refresh token (public clients) needs a proof with the same key.
    if let Some(bound) = claims.get("cnf").and_then(|c| c.get("jkt")).and_then(|v| v.as_str()) {
        match jkt {
            None => return Err(err(400, "invalid_grant", "DPoP proof is missing")),
            Some(j) if j != bound => return Err(err(400, "invalid_grant", "DPoP confirmation doesn't match DPoP proof")),
            Some(_) => {}
        }
    }
    let sid = s("sid").ok_or_else(invalid)?;
    let session = store.sessions.get_mut(&sid).ok_or_else(|| err(400, "invalid_grant", "Session not active"))?;
    let now = now();
    if !session.active(realm.sso_idle, realm.sso_max, now) || Some(&session.user_id) != s("sub").as_ref() {
        return Err(err(400, "invalid_grant", "Session not active"));
    }
    if !session.clients.contains_key(&client.client_id) {
        return Err(err(400, "invalid_grant", "Session doesn't have required client"));
    }
    match realm.user_by_id(&session.user_id) {
        Some(u) if u.enabled => {}
        _ => return Err(err(400, "invalid_grant", "User disabled")),
    }
    // scope may only narrow what the refresh token carries.
    let original = s("scope").unwrap_or_default();
    let scope = match form.get("scope") {
        Some(req) => {
            let orig: Vec<&str> = original.split_whitespace().collect();
            if req.split_whitespace().any(|x| !orig.contains(&x)) {
                return Err(err(400, "invalid_scope", &format!("Invalid scopes: {req}")));
            }
            req.to_string()
        }
        None => original,
    };
    let reuse_id = s("reuse_id");
    let chain = reuse_id.clone().unwrap_or_default();
    if realm.revoke_refresh_token {
        let jti = s("jti").unwrap_or_default();
        let iat = claims.get("iat").and_then(|v| v.as_i64()).unwrap_or(0);
        if let Err(why) = check_reuse(session.clients.get_mut(&client.client_id), &chain, &jti, iat, realm.refresh_token_max_reuse) {
            // Keycloak detaches the client session: every refresh token of this client in
            // this session is dead; the user session (and SSO) stays.
            session.clients.remove(&client.client_id);
            return Err(err(400, "invalid_grant", why));
        }
    }
    session.last_refresh = now;
    // The client session keeps the acr of its login.
    let acr = session.clients.get(&client.client_id).map(|c| c.acr.clone()).filter(|a| !a.is_empty()).unwrap_or_else(|| "1".into());
    let answer = issue_for(app, realm, store, ctx, client, &sid, Some(&scope), &acr, "onrtrt", reuse_id.as_deref(), jkt)?;
    if realm.revoke_refresh_token {
        // The chain's last refresh: the new refresh token's iat.
        if let Some(c) = store.sessions.get_mut(&sid).and_then(|s| s.clients.get_mut(&client.client_id)) {
            c.reuse.entry(chain).or_default().2 = now;
        }
    }
    Ok(answer)
}

/// Keycloak's refresh-token reuse check (`TokenManager.validateTokenReuse`) for the
/// chain `chain` of a client session: an older token of the chain after a successor was
/// used is stale; a token used more than `1 + max_reuse` times is refused.
fn check_reuse(cs: Option<&mut ClientSession>, chain: &str, jti: &str, iat: i64, max_reuse: i64) -> Result<(), &'static str> {
    let Some(cs) = cs else { return Err("Session doesn't have required client") };
    let (current, uses, last_refresh) = cs.reuse.entry(chain.to_string()).or_default();
    if !current.is_empty() && current != jti && iat < *last_refresh {
        return Err("Stale token");
    }
    if current != jti {
        *current = jti.to_string();
        *uses = 0;
    }
    if *uses > max_reuse {
        return Err("Maximum allowed refresh token reuse exceeded");
    }
    *uses += 1;
    Ok(())
}

fn password_grant(
    app: &App, realm: &Realm, store: &mut Store, ctx: &Ctx, client: &Client, form: &Params, jkt: Option<&str>,
) -> Result<Value, OAuthErr> {
    if !client.direct_access {
        return Err(err(400, "unauthorized_client", "Client not allowed for direct access grants"));
    }
    let scope = form.get("scope");
    if tokens::unknown_scope(scope) {
        return Err(err(400, "invalid_scope", &format!("Invalid scopes: {}", scope.unwrap_or(""))));
    }
    let username = form.get("username").ok_or_else(|| err(401, "invalid_grant", "Invalid user credentials"))?;
    let password = form.get("password").unwrap_or("");
    let user = match realm.user_for_login(username) {
        Some(u) if u.password.as_deref() == Some(password) && !password.is_empty() => u.clone(),
        _ => return Err(err(401, "invalid_grant", "Invalid user credentials")),
    };
    if !user.enabled {
        return Err(err(400, "invalid_grant", "Account disabled"));
    }
    let sid = login_user(realm, store, None, &user);
    if let Some(s) = store.sessions.get_mut(&sid) {
        s.clients.insert(client.client_id.clone(), ClientSession { nonce: None, acr: "1".into(), ..Default::default() });
    }
    issue_for(app, realm, store, ctx, client, &sid, scope, "1", "onrtro", new_chain(realm).as_deref(), jkt)
}

pub(crate) fn client_credentials_grant(
    app: &App, realm: &Realm, store: &mut Store, ctx: &Ctx, client: &Client, form: &Params, jkt: Option<&str>,
) -> Result<Value, OAuthErr> {
    let _ = store; // the session is transient: nothing is stored
    // Keycloak's ClientCredentialsGrantType: 401 for each of these.
    let refuse = |msg: &str| err(401, "unauthorized_client", msg);
    if client.bearer_only {
        return Err(refuse("Bearer-only client not allowed to retrieve service account"));
    }
    if client.public_client {
        return Err(refuse("Public client not allowed to retrieve service account"));
    }
    if !client.service_accounts {
        return Err(refuse("Client not enabled to retrieve service account"));
    }
    let user = realm
        .service_account_of(&client.id)
        .ok_or_else(|| err(401, "invalid_request", "The associated service account for the client does not exist"))?;
    if !user.enabled {
        return Err(err(401, "invalid_request", &format!("User '{}' disabled", user.username)));
    }
    let scope = form.get("scope");
    if tokens::unknown_scope(scope) {
        return Err(err(400, "invalid_scope", &format!("Invalid scopes: {}", scope.unwrap_or(""))));
    }
    let now = now();
    let session = UserSession {
        id: uuid(),
        realm: realm.name.clone(),
        user_id: user.id.clone(),
        started: now,
        last_refresh: now,
        auth_time: now,
        clients: Default::default(),
    };
    let issuer = ctx.issuer(&realm.name);
    let base = ctx.base();
    // The claims of the `service_account` client scope's mappers.
    let host = Value::from("127.0.0.1");
    let extra = [("client_id", Value::from(client.client_id.as_str())), ("clientHost", host.clone()), ("clientAddress", host)];
    let issued = tokens::issue(
        app,
        realm,
        client,
        user,
        &session,
        &IssueParams {
            issuer: &issuer,
            base: &base,
            scope,
            nonce: None,
            acr: "1",
            lifespan: client.attr("access.token.lifespan").and_then(|l| l.parse().ok()).unwrap_or(realm.access_token_lifespan),
            refresh: false,
            id_token: scope.is_some_and(|s| s.split_whitespace().any(|x| x == "openid")),
            code: None,
            grant: "trrtcc",
            transient: true,
            extra_claims: &extra,
            reuse_id: None,
            dpop_jkt: jkt,
        },
    );
    let mut v = tokens::token_response(&issued, &session.id, realm.not_before);
    if let Some(m) = v.as_object_mut() {
        m.remove("session_state");
    }
    Ok(v)
}

fn revoke(realm: &Realm, store: &mut Store, ctx: &Ctx) -> Out {
    let form = Params::parse_bytes(&ctx.body);
    let client = match authenticate_client(realm, ctx, &form) {
        Ok(c) => c,
        Err(e) => return Out::oauth_error(e.0, e.1, &e.2),
    };
    let origins = client.web_origins(&ctx.base());
    let Some(token) = form.get("token") else {
        return Out::oauth_error(400, "invalid_request", "Token not provided").cors(ctx, &origins);
    };
    if let Some(c) = crate::jwt::verify_hs512(&realm.hmac_key, token) {
        let sid = c.get("sid").and_then(|v| v.as_str()).unwrap_or("");
        if c.get("azp").and_then(|v| v.as_str()) == Some(client.client_id.as_str()) {
            if let Some(s) = store.sessions.get_mut(sid) {
                s.clients.remove(&client.client_id);
            }
        }
    }
    Out::new(200).cors(ctx, &origins)
}

// ------------------------------------------------------------------ bearer-token endpoints

struct TokenInfo {
    claims: serde_json::Map<String, Value>,
    user: User,
}

enum BearerError {
    Invalid(&'static str),
    Session,
}

/// Keycloak's access-token checks for userinfo and account (signature, issuer, `typ`,
/// expiry), then DPoP's (`DPoPUtil.withDPoPVerifier`): a `DPoP` token needs the `DPoP`
/// scheme and vice versa, a client that requires DPoP the `DPoP` scheme, and with that
/// scheme a proof for this request (`ath` included) whose key is the token's `cnf.jkt`.
fn verify_access_token(
    app: &App, realm: &Realm, store: &mut Store, ctx: &Ctx, token: &str, need_client: bool, dpop_scheme: bool,
) -> Result<TokenInfo, BearerError> {
    const INVALID: BearerError = BearerError::Invalid("Token verification failed");
    let claims = app.verify(realm, token).ok_or(INVALID)?;
    let s = |k: &str| claims.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let typ = s("typ");
    if !(typ == "Bearer" || typ == "DPoP") || s("iss") != ctx.issuer(&realm.name) {
        return Err(INVALID);
    }
    if claims.get("exp").and_then(|v| v.as_i64()).is_none_or(|e| e <= now()) {
        return Err(INVALID);
    }
    if (typ == "DPoP") != dpop_scheme {
        return Err(INVALID);
    }
    let client = realm.client(&s("azp")).ok_or(INVALID)?;
    if crate::dpop::required(client) && !dpop_scheme {
        return Err(INVALID);
    }
    if dpop_scheme {
        let url = ctx.url();
        let target = crate::dpop::Target { method: ctx.method.as_str(), url: &url, access_token: Some(token) };
        let proof = crate::dpop::validate(crate::dpop::header(&ctx.headers).as_deref(), &target, &mut store.dpop_replay, now())
            .map_err(|_| INVALID)?;
        if claims.get("cnf").and_then(|c| c.get("jkt")).and_then(|v| v.as_str()) != Some(proof.jkt.as_str()) {
            return Err(INVALID);
        }
    }
    let session = store.sessions.get(&s("sid")).ok_or(BearerError::Session)?;
    if !session.active(realm.sso_idle, realm.sso_max, now()) || session.user_id != s("sub") {
        return Err(BearerError::Session);
    }
    if need_client && !session.clients.contains_key(&s("azp")) {
        return Err(BearerError::Session);
    }
    let user = realm.user_by_id(&session.user_id).filter(|u| u.enabled).ok_or(BearerError::Session)?.clone();
    Ok(TokenInfo { claims, user })
}

fn userinfo(app: &App, realm: &Realm, store: &mut Store, ctx: &Ctx) -> Out {
    let form = if ctx.method == Method::POST { Params::parse_bytes(&ctx.body) } else { Params::default() };
    let token = ctx.access_token().or_else(|| form.get("access_token").map(|t| (t.to_string(), false)));
    let Some((token, dpop_scheme)) = token else {
        return Out::oauth_error(400, "invalid_request", "Token not provided").cors_any(ctx);
    };
    // Both forms let scripts read `WWW-Authenticate` (Keycloak's OAuth2Error adds it to the
    // exposed headers). With the DPoP scheme the body is empty, as in Keycloak 26.
    let unauthorized = |desc: &str| {
        let challenge = format!("realm=\"{}\", error=\"invalid_token\", error_description=\"{desc}\"", realm.name);
        let out = if dpop_scheme {
            Out::new(401)
                .header("content-type", "text/plain;charset=utf-8")
                .header("www-authenticate", format!("DPoP algs=\"{}\", {challenge}", crate::dpop::ALGS.join(" ")))
        } else {
            Out::oauth_error(401, "invalid_token", desc).header("www-authenticate", format!("Bearer {challenge}"))
        };
        out.cors_any(ctx).expose("WWW-Authenticate")
    };
    let info = match verify_access_token(app, realm, store, ctx, &token, true, dpop_scheme) {
        Ok(i) => i,
        Err(BearerError::Invalid(d)) => return unauthorized(d),
        Err(BearerError::Session) => return unauthorized("User session not found or doesn't have client attached on it"),
    };
    let azp = info.claims.get("azp").and_then(|v| v.as_str()).unwrap_or("");
    let origins = realm.client(azp).map(|c| c.web_origins(&ctx.base())).unwrap_or_default();
    let u = &info.user;
    let mut m = serde_json::Map::new();
    m.insert("sub".into(), u.id.clone().into());
    m.insert("email_verified".into(), u.email_verified.into());
    if let Some(n) = u.full_name() {
        m.insert("name".into(), n.into());
    }
    m.insert("preferred_username".into(), u.username.clone().into());
    if let Some(f) = u.first_name.as_ref().filter(|s| !s.is_empty()) {
        m.insert("given_name".into(), f.clone().into());
    }
    if let Some(l) = u.last_name.as_ref().filter(|s| !s.is_empty()) {
        m.insert("family_name".into(), l.clone().into());
    }
    if let Some(e) = &u.email {
        m.insert("email".into(), e.clone().into());
    }
    Out::json(200, &Value::Object(m)).no_store().cors(ctx, &origins)
}

fn account(app: &App, realm: &Realm, store: &mut Store, ctx: &Ctx) -> Out {
    let unauthorized = |desc: &str| {
        Out::json(401, &json!({"error": "HTTP 401 Unauthorized", "error_description": desc})).header("www-authenticate", "Bearer")
    };
    let Some((token, dpop_scheme)) = ctx.access_token() else {
        return unauthorized("Bearer token required");
    };
    let info = match verify_access_token(app, realm, store, ctx, &token, false, dpop_scheme) {
        Ok(i) => i,
        Err(BearerError::Invalid(_)) => return unauthorized("Token verification failed"),
        Err(BearerError::Session) => return unauthorized("Session not active"),
    };
    let origins: std::collections::BTreeSet<String> = info
        .claims
        .get("allowed-origins")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
        .unwrap_or_default();
    let aud_ok = match info.claims.get("aud") {
        Some(Value::String(s)) => s == "account",
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some("account")),
        _ => false,
    };
    if !aud_ok {
        return unauthorized("Invalid audience for client account").cors(ctx, &origins);
    }
    let roles: Vec<&str> = info
        .claims
        .get("resource_access")
        .and_then(|r| r.get("account"))
        .and_then(|a| a.get("roles"))
        .and_then(|r| r.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    if !roles.contains(&"manage-account") && !roles.contains(&"view-profile") {
        return Out::json(403, &json!({"error": "HTTP 403 Forbidden"})).cors(ctx, &origins);
    }
    let u = &info.user;
    let mut m = serde_json::Map::new();
    m.insert("id".into(), u.id.clone().into());
    m.insert("username".into(), u.username.clone().into());
    if let Some(f) = &u.first_name {
        m.insert("firstName".into(), f.clone().into());
    }
    if let Some(l) = &u.last_name {
        m.insert("lastName".into(), l.clone().into());
    }
    if let Some(e) = &u.email {
        m.insert("email".into(), e.clone().into());
    }
    m.insert("emailVerified".into(), u.email_verified.into());
    if Params::parse(&ctx.query).get("userProfileMetadata") != Some("false") {
        m.insert(
            "userProfileMetadata".into(),
            json!({
                "attributes": [
                    {"name": "username", "displayName": "${username}", "required": true, "readOnly": true, "validators": {}, "multivalued": false},
                    {"name": "email", "displayName": "${email}", "required": true, "readOnly": false, "validators": {"email": {"ignore.empty.value": true}}, "multivalued": false},
                    {"name": "firstName", "displayName": "${firstName}", "required": true, "readOnly": false, "validators": {}, "multivalued": false},
                    {"name": "lastName", "displayName": "${lastName}", "required": true, "readOnly": false, "validators": {}, "multivalued": false}
                ],
                "groups": [{"name": "user-metadata", "displayHeader": "User metadata", "displayDescription": "Attributes, which refer to user metadata"}]
            }),
        );
    }
    Out::json(200, &Value::Object(m)).cors(ctx, &origins)
}

// ------------------------------------------------------------------ logout

fn logout(app: &App, realm: &Realm, store: &mut Store, ctx: &Ctx) -> Out {
    let mut params = Params::parse(&ctx.query);
    if ctx.method == Method::POST {
        params.0.extend(Params::parse_bytes(&ctx.body).0);
    }
    if params.get("redirect_uri").is_some() {
        return error_page(realm, 400, "Invalid parameter: redirect_uri");
    }
    let issuer = ctx.issuer(&realm.name);
    let id_token = match params.get("id_token_hint") {
        Some(h) => match app.verify(realm, h) {
            Some(c)
                if matches!(c.get("typ").and_then(|v| v.as_str()), Some("ID") | Some("Bearer"))
                    && c.get("iss").and_then(|v| v.as_str()) == Some(issuer.as_str()) =>
            {
                Some(c)
            }
            _ => return error_page(realm, 400, "Session not active"),
        },
        None => None,
    };
    let redirect = params.get("post_logout_redirect_uri");
    let client_id = params.get("client_id");
    if redirect.is_some() && id_token.is_none() && client_id.is_none() {
        return error_page(realm, 400, "Missing parameters: id_token_hint");
    }
    let hint_client = id_token.as_ref().and_then(|c| c.get("azp")).and_then(|v| v.as_str());
    if let (Some(a), Some(b)) = (client_id, hint_client) {
        if a != b {
            return error_page(realm, 400, "Invalid parameter: client_id");
        }
    }
    let client = match client_id.or(hint_client) {
        Some(id) => match realm.client(id) {
            Some(c) if c.enabled => Some(c),
            Some(_) => return error_page(realm, 400, "Client disabled."),
            None => return error_page(realm, 400, "Client not found."),
        },
        None => None,
    };
    let validated = match redirect {
        Some(r) => {
            let patterns = client.map(|c| c.post_logout_redirect_uris(&ctx.base())).unwrap_or_default();
            match verify_redirect_uri(Some(r), &patterns) {
                Some(v) => Some(v),
                None => return error_page(realm, 400, "Invalid redirect uri"),
            }
        }
        None => None,
    };
    let state = params.get("state").map(String::from);
    let cookie_sid = sso_session(realm, store, ctx);
    let hint_sid = id_token.as_ref().and_then(|c| c.get("sid")).and_then(|v| v.as_str()).map(String::from);
    let confirm = id_token.is_none() || (cookie_sid.is_some() && cookie_sid != hint_sid);
    if confirm {
        let code = util::random_token(24);
        store.logout_requests.insert(
            code.clone(),
            LogoutRequest { realm: realm.name.clone(), redirect: validated, state, extra_sid: None, created: now() },
        );
        let action = format!("{issuer}/protocol/openid-connect/logout/logout-confirm");
        return Out::page(200, pages::logout_confirm(&realm_title(realm), &action, &code));
    }
    finish_logout(realm, store, ctx, [cookie_sid, hint_sid], validated, state)
}

fn finish_logout(realm: &Realm, store: &mut Store, ctx: &Ctx, sids: [Option<String>; 2], redirect: Option<String>, state: Option<String>) -> Out {
    for sid in sids.into_iter().flatten() {
        if store.sessions.get(&sid).is_some_and(|s| s.realm == realm.name) {
            store.sessions.remove(&sid);
        }
    }
    let mut out = match redirect {
        Some(r) => {
            let loc = match state {
                Some(s) => {
                    let (base, frag) = match r.split_once('#') {
                        Some((b, f)) => (b.to_string(), format!("#{f}")),
                        None => (r.clone(), String::new()),
                    };
                    let sep = if base.contains('?') { "&" } else { "?" };
                    format!("{base}{sep}state={}{frag}", enc(&s))
                }
                None => r,
            };
            Out::redirect(&loc)
        }
        None => Out::page(200, pages::info(&realm_title(realm), "You are logged out", "You are logged out")),
    };
    ctx.expire_cookie(&realm.name, "KEYCLOAK_IDENTITY", &mut out);
    ctx.expire_cookie(&realm.name, "KEYCLOAK_SESSION", &mut out);
    out
}

fn logout_confirm(realm: &Realm, store: &mut Store, ctx: &Ctx) -> Out {
    let form = Params::parse_bytes(&ctx.body);
    let req = form
        .get("session_code")
        .and_then(|c| store.logout_requests.remove(c))
        .filter(|r| r.realm == realm.name);
    let Some(req) = req else {
        return error_page(realm, 400, "Logout failed");
    };
    let cookie_sid = sso_session(realm, store, ctx);
    finish_logout(realm, store, ctx, [cookie_sid, req.extra_sid], req.redirect, req.state)
}

// ------------------------------------------------------------------ iframe support

fn iframe_init(realm: &Realm, ctx: &Ctx) -> Out {
    let q = Params::parse(&ctx.query);
    let (Some(client_id), Some(origin)) = (q.get("client_id"), q.get("origin")) else {
        return Out::new(403);
    };
    let Some(client) = realm.client(client_id).filter(|c| c.enabled) else {
        return Out::new(403);
    };
    let mut allowed = client.web_origins(&ctx.base());
    allowed.insert(ctx.base());
    if allowed.contains("*") || allowed.contains(origin) {
        Out::new(204)
    } else {
        Out::new(403)
    }
}
