//! `keycloak-wasm/authz` (keycloak-js/authz 26.2): UMA 2.0 requests for an RPT.
//!
//! The entry (`pkg/authz.js`) keeps keycloak-js's shape (the instance, its `rpt`, the
//! `then(onGrant, onDeny, onError)` it returns); each request is one `uma` call here:
//! the realm's `.well-known/uma2-configuration` is loaded once (keycloak-js's errors),
//! then the token endpoint is asked with the uma-ticket grant and the adapter's access
//! token. The answer: the RPT (a grant), `false` (403: denied), `true` (any other failure:
//! keycloak-js's `onError()` without an argument), `undefined` (`authorize` without a
//! ticket: nothing happens), or an error (the configuration did not load).
//!
//! Deliberate difference: every form value is percent-encoded (keycloak-js concatenates
//! them raw, so a ticket or scope holding `&` or `=` would add parameters).

use super::{Ev, Machine, Out, Step};
use crate::core::encode::form_encode_into;
use crate::core::error::CoreError;
use crate::core::json::{self, Val};
use alloc::string::String;

pub(crate) struct Uma {
    /// `entitlement(audience, request)`, else `authorize(request)`.
    pub audience: Option<String>,
    /// The authorization request (JSON), and the instance's current RPT.
    pub request: String,
    pub rpt: Option<String>,
    pub stage: u8,
}

impl Machine {
    #[inline(never)]
    pub(crate) fn uma_step(&mut self, id: u32, x: &mut Uma, ev: Ev) -> Step {
        match (x.stage, ev) {
            (0, Ev::Start) => {
                if !self.initialized {
                    return Step::Done(Err(CoreError::AuthzNotInitialized.into()));
                }
                let r = json::parse(&x.request).unwrap_or(Val::Null);
                // `authorize` without a ticket does nothing (keycloak-js never calls back).
                if x.audience.is_none() && !r.get("ticket").is_some_and(|t| t.truthy()) {
                    return Step::Done(Ok(Out::Undefined));
                }
                if self.uma_token.is_some() {
                    return self.uma_ask(id, x);
                }
                let Some(base) = self.ep.as_ref().and_then(|e| e.realm_url().map(String::from)) else {
                    return Step::Done(Err(CoreError::UmaConfig(crate::core::error::CAUSE_NO_RESPONSE).into()));
                };
                let mut url = base;
                url.push_str("/.well-known/uma2-configuration");
                x.stage = 1;
                self.fetch(id, &url, None, None, false);
                Step::Wait
            }
            (1, Ev::Http { status, text, h }) => {
                self.drop_h(h);
                let cause = match status {
                    0 => crate::core::error::CAUSE_NO_RESPONSE,
                    s if !(200..300).contains(&s) => crate::core::error::NETWORK_ERROR,
                    _ => match text.and_then(json::parse).and_then(|v| v.get("token_endpoint")).and_then(|t| t.str().map(String::from)) {
                        Some(t) => {
                            self.uma_token = Some(t);
                            return self.uma_ask(id, x);
                        }
                        None => crate::core::error::CAUSE_BAD_JSON,
                    },
                };
                Step::Done(Err(CoreError::UmaConfig(cause).into()))
            }
            (2, Ev::Http { status, text, h }) => {
                self.drop_h(h);
                match status {
                    200..=299 => {
                        let rpt = text.and_then(json::parse).and_then(|v| v.get("access_token")).and_then(|t| t.str().map(String::from));
                        match rpt {
                            Some(rpt) => Step::Done(self.give_text(id, rpt)),
                            None => Step::Done(Ok(Out::Bool(true))),
                        }
                    }
                    403 => Step::Done(Ok(Out::Bool(false))),
                    // keycloak-js calls onError() with no argument for these.
                    _ => Step::Done(Ok(Out::Bool(true))),
                }
            }
            (_, e) => {
                self.lose(e);
                Step::Wait
            }
        }
    }

    /// The uma-ticket grant, with keycloak-js's parameters in its order.
    fn uma_ask(&mut self, id: u32, x: &mut Uma) -> Step {
        let r = json::parse(&x.request).unwrap_or(Val::Null);
        let mut body = String::from("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Auma-ticket");
        let client = self.client_id.clone();
        add(&mut body, "client_id", &client);
        match &x.audience {
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
                    for p in json::elements(&raw) {
                        let mut permission = p.get("id").map(|v| v.js_string()).unwrap_or_else(|| String::from("undefined"));
                        if let Some(Val::Arr(scopes)) = p.get("scopes") {
                            for (i, scope) in json::elements(&scopes).iter().enumerate() {
                                permission.push(if i == 0 { '#' } else { ',' });
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
        let incremental = x.audience.is_some() || !matches!(r.get("incrementalAuthorization"), Some(Val::Bool(false)));
        if let (Some(rpt), true) = (x.rpt.take(), incremental) {
            add(&mut body, "rpt", &rpt);
        }
        let url = self.uma_token.clone().unwrap_or_default();
        let token = self.sess.access.as_ref().map(|t| t.raw.clone()).unwrap_or_else(|| String::from("undefined"));
        x.stage = 2;
        self.fetch(id, &url, Some(&body), Some(&token), false);
        Step::Wait
    }
}

/// A truthy value as JavaScript's `String(value)`.
fn text(v: Option<Val<'_>>) -> Option<String> {
    v.filter(|v| v.truthy()).map(|v| v.js_string())
}

/// Appends `&key=value`, the value form-encoded.
fn add(body: &mut String, key: &str, value: &str) {
    body.push('&');
    body.push_str(key);
    body.push('=');
    form_encode_into(body, value);
}
