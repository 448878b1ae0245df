//! `keycloak-wasm/authz`'s own machine (keycloak-js/authz 26.2: UMA 2.0 requests for an
//! RPT). It is not part of the adapter's machine: it is built as a wasm of its own (the
//! cargo feature `authz`, `src/wasm_authz.rs`) that only an app importing
//! `keycloak-wasm/authz` downloads. As keycloak-js's authz, it knows the Keycloak instance
//! only by its public properties (`didInitialize`, `authServerUrl`, `realm`, `clientId`,
//! `token`), which the entry (`pkg/authz.js`) reads at each request; so it works on an
//! instance started with either of the package's modules, and one imported after `init`.
//!
//! Inputs (JSON arrays):
//! * `["ask", id, kind, audience, request, rpt, didInitialize, authServerUrl, realm,
//!   clientId, token]`: `authorize(request)` (`kind` "authorize", `audience` null) or
//!   `entitlement(audience, request)`; `rpt` is the instance's current RPT.
//! * `["http", id, status, text]`: the answer to the fetch of run `id` (status 0: no
//!   response; `text` null unless 2xx). An answer nothing waits for is ignored.
//!
//! Effects (one JSON array of them):
//! * `["fetch", id, url, body, headers, timeout]`: GET without `body` (null), else a form
//!   POST.
//! * `["config", id, text]`: the realm's UMA configuration (JSON), for the `config` property
//!   of the instance that made request `id` (keycloak-js fills it in once it loaded).
//! * `["done", id, what, value, cause]`: `what` is "rpt" (`value` the RPT: onGrant),
//!   "deny" (403: onDeny), "fail" (any other failure: keycloak-js's `onError()` without an
//!   argument), "none" (`authorize` without a ticket: keycloak-js calls nothing back), or
//!   "error" (an `Error` with `value` as its message and, when not null, one with `cause`
//!   as its message as its cause).
//!
//! Each realm's `.well-known/uma2-configuration` is loaded once for the page (keycloak-js:
//! once per `KeycloakAuthorization`); requests made while it loads wait for that load; a
//! failed load is tried again by the next request (keycloak-js keeps the failure for good).
//! One machine serves every `KeycloakAuthorization` of the page. Deliberate difference: every form value is
//! percent-encoded (keycloak-js concatenates them raw, so a ticket or scope holding `&` or
//! `=` would add parameters). Every request is bounded by [`TIMEOUT`] (keycloak-js sets
//! none).
//!
//! The access token always goes as a `Bearer` token, also when it is DPoP-bound (our `dpop`
//! option): Keycloak's uma-ticket grant (`PermissionGrantType`) reads the requesting party's
//! token only from a `Bearer` header; with the `DPoP` scheme it authenticates the client
//! instead, which a public client cannot. Keycloak 26.2 accepts a bound token there and
//! issues an unbound RPT; 26.4 refuses it (401 `invalid_grant`).

use crate::core::encode::form_encode_into;
use crate::core::endpoints::realm_url;
use crate::core::error::NETWORK_ERROR;
use crate::core::json::{self, Val, Writer};
use alloc::string::String;
use alloc::vec::Vec;
use crate::core::encode::PushAscii;

/// The bound on each request (ms): the adapter's default `requestTimeout`.
pub const TIMEOUT: f64 = 30000.0;

/// keycloak-js/authz's errors: a request before the adapter's `init`; the configuration
/// did not load, with one of three causes.
pub const NOT_INITIALIZED: &str = "The Keycloak instance has not been initialized yet.";
pub const NO_CONFIG: &str = "Could not obtain configuration from server.";
pub const CAUSE_NO_RESPONSE: &str = "Server did not respond.";
pub const CAUSE_BAD_JSON: &str = "Server responded with invalid JSON.";

struct Run {
    id: u32,
    /// `entitlement(audience, request)`, else `authorize(request)`.
    audience: Option<String>,
    /// The authorization request (JSON) and the instance's RPT when asked.
    request: String,
    rpt: Option<String>,
    client: String,
    token: Option<String>,
    /// The realm's UMA configuration URL (which [`Config`] it needs).
    config: String,
    /// 1: waiting for the configuration; 2: for the token endpoint's answer.
    stage: u8,
}

/// A realm's UMA configuration.
struct Config {
    url: String,
    /// Once it loaded: the token endpoint, and the configuration's text.
    loaded: Option<(String, String)>,
    /// The run whose fetch loads it.
    loading: Option<u32>,
}

#[derive(Default)]
pub struct Authz {
    configs: Vec<Config>,
    runs: Vec<Run>,
    w: Writer,
}

impl Authz {
    pub fn new() -> Authz {
        Authz::default()
    }

    /// Handles one input; returns the effects (a JSON array).
    pub fn handle(&mut self, input: &str) -> &str {
        self.w.s.clear();
        self.w.open();
        let a = json::parse(input).map(|v| match v {
            Val::Arr(raw) => json::elements(raw),
            _ => Vec::new(),
        });
        let a = a.unwrap_or_default();
        let s = |i: usize| a.get(i).and_then(|v| v.str()).map(String::from);
        let id = a.get(1).and_then(|v| v.num()).unwrap_or(0.0) as u32;
        match a.first().and_then(|v| v.str()) {
            Some("ask") => {
                let run = Run {
                    id,
                    audience: if s(2).as_deref() == Some("entitlement") { Some(a.get(3).map(|v| v.js_string()).unwrap_or_default()) } else { None },
                    request: a.get(4).map(|v| v.raw()).unwrap_or_default(),
                    rpt: s(5).filter(|r| !r.is_empty()),
                    client: a.get(9).map(|v| v.js_string()).unwrap_or_default(),
                    token: s(10),
                    config: String::new(),
                    stage: 1,
                };
                let initialized = a.get(6).is_some_and(|v| v.truthy());
                self.ask(run, initialized, s(7), s(8));
            }
            Some("http") => {
                let status = a.get(2).and_then(|v| v.num()).unwrap_or(0.0) as u16;
                let text = s(3);
                self.answer(id, status, text.as_deref());
            }
            _ => {}
        }
        self.w.close();
        &self.w.s
    }

    fn ask(&mut self, mut run: Run, initialized: bool, server: Option<String>, realm: Option<String>) {
        if !initialized {
            return self.error(run.id, NOT_INITIALIZED, None);
        }
        let r = json::parse(&run.request).unwrap_or(Val::Null);
        // `authorize` without a ticket does nothing (keycloak-js never calls back).
        if run.audience.is_none() && !r.get("ticket").is_some_and(|t| t.truthy()) {
            return self.done(run.id, "none", None);
        }
        let (Some(server), Some(realm)) = (server, realm) else {
            return self.error(run.id, NO_CONFIG, Some(CAUSE_NO_RESPONSE));
        };
        let mut url = realm_url(&server, &realm);
        url.push_str("/.well-known/uma2-configuration");
        let i = match self.configs.iter().position(|c| c.url == url) {
            Some(i) => i,
            None => {
                self.configs.push(Config { url: url.clone(), loaded: None, loading: None });
                self.configs.len() - 1
            }
        };
        run.config = url;
        if let Some((endpoint, text)) = self.configs[i].loaded.clone() {
            return self.send(run, &endpoint, &text);
        }
        if self.configs[i].loading.is_none() {
            self.configs[i].loading = Some(run.id);
            self.fetch(run.id, &run.config, None, None);
        }
        self.runs.push(run);
    }

    fn answer(&mut self, id: u32, status: u16, text: Option<&str>) {
        let Some(i) = self.runs.iter().position(|r| r.id == id) else { return };
        if self.runs[i].stage == 1 {
            let url = self.runs[i].config.clone();
            let Some(c) = self.configs.iter_mut().find(|c| c.url == url && c.loading == Some(id)) else { return };
            c.loading = None;
            let loaded = match status {
                0 => Err(CAUSE_NO_RESPONSE),
                s if !(200..300).contains(&s) => Err(NETWORK_ERROR),
                _ => text.and_then(json::parse).and_then(|v| v.get("token_endpoint")).and_then(|t| t.str().map(String::from)).ok_or(CAUSE_BAD_JSON),
            };
            if let (Ok(t), Some(text)) = (&loaded, text) {
                c.loaded = Some((t.clone(), String::from(text)));
            }
            // Every request that waited for this configuration goes on, or fails with it.
            let (waiting, rest): (Vec<Run>, Vec<Run>) = core::mem::take(&mut self.runs).into_iter().partition(|r| r.stage == 1 && r.config == url);
            self.runs = rest;
            for run in waiting {
                match &loaded {
                    Ok(endpoint) => self.send(run, endpoint, text.unwrap_or_default()),
                    Err(cause) => self.error(run.id, NO_CONFIG, Some(cause)),
                }
            }
            return;
        }
        let run = self.runs.swap_remove(i);
        match status {
            200..=299 => match text.and_then(json::parse).and_then(|v| v.get("access_token")).and_then(|t| t.str().map(String::from)) {
                Some(rpt) => self.done(run.id, "rpt", Some(&rpt)),
                None => self.done(run.id, "fail", None),
            },
            403 => self.done(run.id, "deny", None),
            // keycloak-js calls onError() with no argument for these.
            _ => self.done(run.id, "fail", None),
        }
    }

    /// The uma-ticket grant, with keycloak-js's parameters in its order; then the
    /// configuration for the instance's `config` (keycloak-js fills it in before it asks).
    fn send(&mut self, mut run: Run, url: &str, config: &str) {
        let r = json::parse(&run.request).unwrap_or(Val::Null);
        let mut body = String::from("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Auma-ticket");
        add(&mut body, "client_id", &run.client);
        match &run.audience {
            None => {
                add(&mut body, "ticket", &text(r.get("ticket")).unwrap_or_default());
                if let Some(v) = r.get("submitRequest").filter(|v| !matches!(v, Val::Null)) {
                    add(&mut body, "submit_request", &v.js_string());
                }
            }
            Some(audience) => {
                if let Some(c) = text(r.get("claimToken")) {
                    add(&mut body, "claim_token", &c);
                    if let Some(f) = text(r.get("claimTokenFormat")) {
                        add(&mut body, "claim_token_format", &f);
                    }
                }
                add(&mut body, "audience", audience);
                if let Some(Val::Arr(raw)) = r.get("permissions") {
                    for p in json::elements(raw) {
                        let mut permission = p.get("id").map(|v| v.js_string()).unwrap_or_else(|| String::from("undefined"));
                        if let Some(Val::Arr(scopes)) = p.get("scopes") {
                            for (i, scope) in json::elements(scopes).iter().enumerate() {
                                permission.push_ascii(if i == 0 { b'#' } else { b',' });
                                permission.push_str(&scope.js_string());
                            }
                        }
                        add(&mut body, "permission", &permission);
                    }
                }
            }
        }
        if let Some(m) = r.get("metadata") {
            for (key, name) in [("responseIncludeResourceName", "response_include_resource_name"), ("responsePermissionsLimit", "response_permissions_limit")] {
                if let Some(v) = text(m.get(key)) {
                    add(&mut body, name, &v);
                }
            }
        }
        // authorize: unless `incrementalAuthorization` is false; entitlement: always.
        let incremental = run.audience.is_some() || !matches!(r.get("incrementalAuthorization"), Some(Val::Bool(false)));
        if let (Some(rpt), true) = (run.rpt.take(), incremental) {
            add(&mut body, "rpt", &rpt);
        }
        let token = run.token.take().unwrap_or_else(|| String::from("undefined"));
        run.stage = 2;
        self.fetch(run.id, url, Some(&body), Some(&token));
        let w = &mut self.w;
        w.open();
        w.str("config");
        w.int(run.id as u64);
        w.str(config);
        w.close();
        self.runs.push(run);
    }

    fn fetch(&mut self, id: u32, url: &str, form: Option<&str>, bearer: Option<&str>) {
        let w = &mut self.w;
        w.open();
        w.str("fetch");
        w.int(id as u64);
        w.str(url);
        match form {
            Some(f) => w.str(f),
            None => w.null(),
        }
        w.open();
        pair(w, "Accept", "application/json");
        if form.is_some() {
            pair(w, "Content-Type", "application/x-www-form-urlencoded");
        }
        if let Some(t) = bearer {
            let mut v = String::from("Bearer ");
            v.push_str(t);
            pair(w, "Authorization", &v);
        }
        w.close();
        w.num(TIMEOUT);
        w.close();
    }

    /// `["done", id, what, value, cause]`.
    fn done(&mut self, id: u32, what: &str, value: Option<&str>) {
        self.outcome(id, what, value, None)
    }

    /// keycloak-js's `Error(message, { cause: Error(cause) })`.
    fn error(&mut self, id: u32, message: &str, cause: Option<&str>) {
        self.outcome(id, "error", Some(message), cause)
    }

    fn outcome(&mut self, id: u32, what: &str, value: Option<&str>, cause: Option<&str>) {
        let w = &mut self.w;
        w.open();
        w.str("done");
        w.int(id as u64);
        w.str(what);
        for v in [value, cause] {
            match v {
                Some(v) => w.str(v),
                None => w.null(),
            }
        }
        w.close();
    }
}

fn pair(w: &mut Writer, k: &str, v: &str) {
    w.open();
    w.str(k);
    w.str(v);
    w.close();
}

/// A truthy value as JavaScript's `String(value)`.
fn text(v: Option<Val<'_>>) -> Option<String> {
    v.filter(|v| v.truthy()).map(|v| v.js_string())
}

/// Appends `&key=value`, the value form-encoded.
fn add(body: &mut String, key: &str, value: &str) {
    body.push_ascii(b'&');
    body.push_str(key);
    body.push_ascii(b'=');
    form_encode_into(body, value);
}
