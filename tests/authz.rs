//! keycloak-wasm/authz's own machine (src/authz.rs), natively: the requests keycloak-js/authz
//! sends, in its order, and what each answer becomes; requests made while the
//! configuration loads; late and foreign answers; keycloak-js's errors. Each test writes its
//! inputs and effects to `target/authz-replay/<name>.jsonl`, which the package test
//! (tests/package/wasm-replay.test.mjs) replays through the shipped wasm.
use keycloak_wasm::authz::Authz;
use serde_json::{json, Value};
use std::path::PathBuf;

/// The machine, with the transcript of what went in and came out.
struct M {
    a: Authz,
    name: String,
    log: Vec<String>,
}

impl M {
    fn new(name: impl Into<String>) -> M {
        M { a: Authz::new(), name: name.into(), log: Vec::new() }
    }

    fn handle(&mut self, input: &str) -> String {
        let out = self.a.handle(input).to_string();
        self.log.push(json!({ "input": input, "effects": out }).to_string());
        out
    }
}

impl Drop for M {
    fn drop(&mut self) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/authz-replay");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{}.jsonl", self.name)), self.log.join("\n") + "\n").unwrap();
    }
}

const REALM: &str = "http://idp.localhost:8080";
const TOKEN_ENDPOINT: &str = "http://idp.localhost:8080/realms/demo/protocol/openid-connect/token";
const CONFIG: &str = "http://idp.localhost:8080/realms/demo/.well-known/uma2-configuration";

fn step(a: &mut M, input: Value) -> Vec<Value> {
    let out = a.handle(&input.to_string());
    serde_json::from_str::<Value>(&out).unwrap().as_array().unwrap().clone()
}

/// `["ask", ...]` for a logged-in instance (token "at").
fn ask(id: u32, kind: &str, audience: Value, request: Value, rpt: Value) -> Value {
    json!(["ask", id, kind, audience, request, rpt, true, REALM, "demo", "demo-app", "at"])
}

fn http(id: u64, status: u16, body: Option<Value>) -> Value {
    json!(["http", id, status, body.map(|b| b.to_string())])
}

/// The form fields of a fetch effect's body, decoded.
fn form(e: &Value) -> Vec<(String, String)> {
    let body = e[3].as_str().unwrap();
    body.split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            let dec = |s: &str| {
                let s = s.replace('+', " ");
                let mut out = Vec::new();
                let b = s.as_bytes();
                let mut i = 0;
                while i < b.len() {
                    if b[i] == b'%' {
                        out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                        i += 3;
                    } else {
                        out.push(b[i]);
                        i += 1;
                    }
                }
                String::from_utf8(out).unwrap()
            };
            (dec(k), dec(v))
        })
        .collect()
}

fn field(e: &Value, key: &str) -> Option<String> {
    form(e).into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn loaded(a: &mut M) {
    let fx = step(a, ask(1, "authorize", Value::Null, json!({ "ticket": "t0" }), Value::Null));
    assert_eq!(fx[0][2], CONFIG);
    let fx = step(a, http(1, 200, Some(json!({ "token_endpoint": TOKEN_ENDPOINT }))));
    assert_eq!(fx[0][2], TOKEN_ENDPOINT);
    let fx = step(a, http(1, 200, Some(json!({ "access_token": "r0" }))));
    assert_eq!(fx, vec![json!(["done", 1, "rpt", "r0", null])]);
}

#[test]
fn entitlement_loads_the_configuration_then_asks_with_keycloak_js_parameters_in_order() {
    let mut a = M::new("entitlement_loads_the_configuration_then_asks_with_keycloak_js_parameters_in_order");
    let request = json!({ "permissions": [{ "id": "album", "scopes": ["album:view", "album:delete"] }, { "id": "a&b=c" }, { "scopes": [] }], "metadata": { "responseIncludeResourceName": true, "responsePermissionsLimit": 3 }, "claimToken": "ct", "claimTokenFormat": "urn:f" });
    let fx = step(&mut a, ask(7, "entitlement", json!("photoz-api"), request, json!("old-rpt")));
    assert_eq!(fx, vec![json!(["fetch", 7, CONFIG, null, [["Accept", "application/json"]], 30000])]);
    let config = json!({ "token_endpoint": TOKEN_ENDPOINT, "issuer": "x" });
    let fx = step(&mut a, http(7, 200, Some(config.clone())));
    // The grant, then the configuration for the instance's `config`.
    assert_eq!(fx.len(), 2);
    assert_eq!(fx[1], json!(["config", 7, config.to_string()]));
    let f = &fx[0];
    assert_eq!((&f[0], &f[1], &f[2]), (&json!("fetch"), &json!(7), &json!(TOKEN_ENDPOINT)));
    assert_eq!(
        f[4],
        json!([["Accept", "application/json"], ["Content-Type", "application/x-www-form-urlencoded"], ["Authorization", "Bearer at"]])
    );
    assert_eq!((f[5].clone(), f.as_array().unwrap().len()), (json!(30000), 6));
    let names: Vec<String> = form(f).into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["grant_type", "client_id", "claim_token", "claim_token_format", "audience", "permission", "permission", "permission", "response_include_resource_name", "response_permissions_limit", "rpt"]);
    assert_eq!(field(f, "grant_type").unwrap(), "urn:ietf:params:oauth:grant-type:uma-ticket");
    let permissions: Vec<String> = form(f).into_iter().filter(|(k, _)| k == "permission").map(|(_, v)| v).collect();
    // keycloak-js's `resource.id` of a permission without one reads "undefined".
    assert_eq!(permissions, ["album#album:view,album:delete", "a&b=c", "undefined"]);
    // Each value is percent-encoded (keycloak-js sends them raw).
    assert!(f[3].as_str().unwrap().contains("permission=a%26b%3Dc&"), "{}", f[3]);
    assert_eq!((field(f, "response_permissions_limit").unwrap(), field(f, "rpt").unwrap()), ("3".into(), "old-rpt".into()));
    let fx = step(&mut a, http(7, 200, Some(json!({ "access_token": "the-rpt", "token_type": "Bearer" }))));
    assert_eq!(fx, vec![json!(["done", 7, "rpt", "the-rpt", null])]);
}

#[test]
fn authorize_needs_a_ticket_and_honours_incremental_authorization() {
    let mut a = M::new("authorize_needs_a_ticket_and_honours_incremental_authorization");
    // Without a ticket: nothing is sent and keycloak-js calls nothing back.
    assert_eq!(step(&mut a, ask(1, "authorize", Value::Null, json!({}), json!("r"))), vec![json!(["done", 1, "none", null, null])]);
    assert_eq!(step(&mut a, ask(2, "authorize", Value::Null, Value::Null, Value::Null)), vec![json!(["done", 2, "none", null, null])]);
    loaded(&mut a);
    // The configuration is not asked again; incrementalAuthorization false drops the RPT.
    let fx = step(&mut a, ask(3, "authorize", Value::Null, json!({ "ticket": "tk", "submitRequest": false, "incrementalAuthorization": false }), json!("the-rpt")));
    assert_eq!(fx[0][2], TOKEN_ENDPOINT);
    let names: Vec<String> = form(&fx[0]).into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["grant_type", "client_id", "ticket", "submit_request"]);
    assert_eq!(field(&fx[0], "submit_request").unwrap(), "false");
    // By default the RPT goes with the ticket (an empty one does not).
    let fx = step(&mut a, ask(4, "authorize", Value::Null, json!({ "ticket": "tk" }), json!("the-rpt")));
    assert_eq!(field(&fx[0], "rpt").unwrap(), "the-rpt");
    let fx = step(&mut a, ask(5, "authorize", Value::Null, json!({ "ticket": "tk" }), json!("")));
    assert_eq!(field(&fx[0], "rpt"), None);
    // 403: denied; any other failure, or a 2xx without an access token: onError().
    assert_eq!(step(&mut a, http(3, 403, None)), vec![json!(["done", 3, "deny", null, null])]);
    assert_eq!(step(&mut a, http(4, 500, None)), vec![json!(["done", 4, "fail", null, null])]);
    assert_eq!(step(&mut a, http(5, 200, Some(json!({ "token_type": "Bearer" })))), vec![json!(["done", 5, "fail", null, null])]);
}

#[test]
fn requests_made_while_the_configuration_loads_wait_for_that_one_load() {
    let mut a = M::new("requests_made_while_the_configuration_loads_wait_for_that_one_load");
    let fx = step(&mut a, ask(1, "entitlement", json!("api"), Value::Null, Value::Null));
    assert_eq!(fx[0][2], CONFIG);
    assert_eq!(step(&mut a, ask(2, "entitlement", json!("api"), Value::Null, Value::Null)), Vec::<Value>::new());
    // An answer for a request that is not fetching anything, and a second answer, count for nothing.
    assert_eq!(step(&mut a, http(2, 200, Some(json!({ "token_endpoint": "http://evil/" })))), Vec::<Value>::new());
    assert_eq!(step(&mut a, http(9, 200, Some(json!({ "access_token": "x" })))), Vec::<Value>::new());
    let fx = step(&mut a, http(1, 200, Some(json!({ "token_endpoint": TOKEN_ENDPOINT }))));
    let fetches: Vec<_> = fx.iter().filter(|e| e[0] == "fetch").map(|e| (e[1].clone(), e[2].clone())).collect();
    assert_eq!(fetches, vec![(json!(1), json!(TOKEN_ENDPOINT)), (json!(2), json!(TOKEN_ENDPOINT))]);
    let configs: Vec<_> = fx.iter().filter(|e| e[0] == "config").map(|e| e[1].clone()).collect();
    assert_eq!(configs, vec![json!(1), json!(2)], "each waiting request's instance gets the configuration");
    assert_eq!(step(&mut a, http(2, 200, Some(json!({ "access_token": "r2" })))), vec![json!(["done", 2, "rpt", "r2", null])]);
    assert_eq!(step(&mut a, http(2, 200, Some(json!({ "access_token": "again" })))), Vec::<Value>::new(), "a late answer");
    assert_eq!(step(&mut a, http(1, 200, Some(json!({ "access_token": "r1" })))), vec![json!(["done", 1, "rpt", "r1", null])]);
}

#[test]
fn keycloak_js_errors_before_init_and_when_the_configuration_does_not_load() {
    let mut a = M::new("keycloak_js_errors_before_init_and_when_the_configuration_does_not_load");
    let before = json!(["ask", 1, "entitlement", "api", null, null, false, null, null, null, null]);
    assert_eq!(step(&mut a, before), vec![json!(["done", 1, "error", "The Keycloak instance has not been initialized yet.", null])]);
    // Each cause keycloak-js gives; every request waiting for the load fails with it.
    for (i, (answer, cause)) in [
        (http(2, 0, None), "Server did not respond."),
        (http(2, 404, None), "Server responded with an invalid status."),
        (json!(["http", 2, 200, "<html>"]), "Server responded with invalid JSON."),
        (http(2, 200, Some(json!({ "issuer": "x" }))), "Server responded with invalid JSON."),
    ]
    .into_iter()
    .enumerate()
    {
        let mut a = M::new(format!("keycloak_js_errors_before_init_and_when_the_configuration_does_not_load-{}", i + 2));
        assert_eq!(step(&mut a, ask(2, "entitlement", json!("api"), Value::Null, Value::Null))[0][2], CONFIG);
        assert!(step(&mut a, ask(3, "authorize", Value::Null, json!({ "ticket": "t" }), Value::Null)).is_empty());
        let fx = step(&mut a, answer);
        assert_eq!(fx, vec![json!(["done", 2, "error", "Could not obtain configuration from server.", cause]), json!(["done", 3, "error", "Could not obtain configuration from server.", cause])]);
        // The next request tries again (keycloak-js keeps the failure for good).
        assert_eq!(step(&mut a, ask(4, "entitlement", json!("api"), Value::Null, Value::Null))[0][2], CONFIG);
    }
    // An instance configured without a realm (a generic OpenID provider) has no UMA configuration.
    let mut a = M::new("keycloak_js_errors_before_init_and_when_the_configuration_does_not_load-6");
    let fx = step(&mut a, json!(["ask", 1, "entitlement", "api", null, null, true, null, null, "app", "at"]));
    assert_eq!(fx, vec![json!(["done", 1, "error", "Could not obtain configuration from server.", "Server did not respond."])]);
}

#[test]
fn the_realm_is_encoded_and_a_missing_token_reads_undefined_as_in_keycloak_js() {
    let mut a = M::new("the_realm_is_encoded_and_a_missing_token_reads_undefined_as_in_keycloak_js");
    let fx = step(&mut a, json!(["ask", 1, "entitlement", "api", null, null, true, "http://idp/auth/", "a b/c", "app", null]));
    assert_eq!(fx[0][2], "http://idp/auth/realms/a%20b%2Fc/.well-known/uma2-configuration");
    let fx = step(&mut a, http(1, 200, Some(json!({ "token_endpoint": TOKEN_ENDPOINT }))));
    assert_eq!(fx[0][4], json!([["Accept", "application/json"], ["Content-Type", "application/x-www-form-urlencoded"], ["Authorization", "Bearer undefined"]]));
}

#[test]
fn one_machine_serves_every_instance_of_the_page_with_a_configuration_per_realm() {
    let mut a = M::new("one_machine_serves_every_instance_of_the_page_with_a_configuration_per_realm");
    loaded(&mut a);
    // Another realm: its own configuration, loaded while the first realm's is used at once.
    let other = json!(["ask", 2, "entitlement", "api", null, null, true, REALM, "other", "app2", "at2"]);
    assert_eq!(step(&mut a, other)[0][2], "http://idp.localhost:8080/realms/other/.well-known/uma2-configuration");
    let fx = step(&mut a, ask(3, "entitlement", json!("api"), Value::Null, Value::Null));
    assert_eq!(fx[0][2], TOKEN_ENDPOINT, "the demo realm's configuration is kept");
    assert_eq!(fx[1], json!(["config", 3, json!({ "token_endpoint": TOKEN_ENDPOINT }).to_string()]), "and given to the instance that asks");
    let fx = step(&mut a, http(2, 200, Some(json!({ "token_endpoint": "http://idp.localhost:8080/realms/other/protocol/openid-connect/token" }))));
    assert_eq!(fx[0][2], "http://idp.localhost:8080/realms/other/protocol/openid-connect/token");
    assert_eq!(field(&fx[0], "client_id").unwrap(), "app2");
    assert_eq!(fx[0][4][2], json!(["Authorization", "Bearer at2"]));
}

#[test]
fn malformed_input_is_ignored() {
    let mut a = M::new("malformed_input_is_ignored");
    for input in ["", "{}", "[1,2", "[\"nope\",1]", "[\"http\"]", "null"] {
        assert_eq!(a.handle(input), "[]", "{input}");
    }
}
