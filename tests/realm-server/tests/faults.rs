//! A realm that fails on purpose: `--fault`, `--clock-skew` and `/__faults`.

mod common;
use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const TOKEN: &str = "/realms/demo/protocol/openid-connect/token";
const DISCOVERY: &str = "/realms/demo/.well-known/openid-configuration";

fn password_grant(srv: &Server) -> Resp {
    srv.post_form(TOKEN, &[], &[("grant_type", "password"), ("client_id", "demo-app"), ("username", "bob"), ("password", "bob"), ("scope", "openid")])
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn put_faults(srv: &Server, json: &str) -> Resp {
    request(srv.port, "PUT", "/__faults", &[("Content-Type", "application/json")], Some(json.as_bytes()))
}

#[test]
fn status_answers_the_code_with_cors_and_runs_nothing() {
    let srv = Server::with_args(&["--fault", "token=status:503"]);
    let r = srv.post_form(TOKEN, &[("Origin", "http://app.localhost:3000")], &[("grant_type", "password"), ("client_id", "demo-app"), ("username", "bob"), ("password", "bob")]);
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"], "unknown_error");
    assert_eq!(r.header("access-control-allow-origin"), Some("http://app.localhost:3000"));
    // Other endpoints answer as usual, and so do CORS preflights of this one.
    assert_eq!(srv.get(DISCOVERY, &[]).status, 200);
    let r = request(srv.port, "OPTIONS", TOKEN, &[("Origin", "http://localhost:3000"), ("Access-Control-Request-Method", "POST")], None);
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn malformed_cuts_the_body_in_half() {
    let srv = Server::with_args(&["--fault", "discovery=malformed"]);
    let r = srv.get(DISCOVERY, &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(serde_json::from_str::<serde_json::Value>(&r.body).is_err(), "body should be cut: {}", r.body);
    assert!(r.body.starts_with("{\"issuer\""), "{}", r.body);
}

#[test]
fn reset_resets_the_connection() {
    let srv = Server::with_args(&["--fault", "*=reset"]);
    let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&build_request(srv.port, "GET", DISCOVERY, &[], None)).unwrap();
    let mut buf = Vec::new();
    let err = s.read_to_end(&mut buf).expect_err("a reset, not an answer");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    assert!(buf.is_empty());
    // The control endpoint is never faulted: lift the fault and the realm answers.
    assert_eq!(request(srv.port, "DELETE", "/__faults", &[], None).status, 200);
    assert_eq!(srv.get(DISCOVERY, &[]).status, 200);
}

#[test]
fn hang_never_answers_and_slow_answers_late() {
    let srv = Server::with_args(&["--fault", "userinfo=hang", "--fault", "discovery=slow:600"]);
    let t = Instant::now();
    assert_eq!(srv.get(DISCOVERY, &[]).status, 200);
    assert!(t.elapsed() >= Duration::from_millis(600), "slow answered after {:?}", t.elapsed());
    let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1500))).unwrap();
    s.write_all(&build_request(srv.port, "GET", "/realms/demo/protocol/openid-connect/userinfo", &[], None)).unwrap();
    let mut buf = [0u8; 64];
    let err = s.read(&mut buf).expect_err("no answer within 1.5 s");
    assert!(matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{err}");
}

#[test]
fn clock_skew_moves_issued_tokens() {
    let srv = Server::with_args(&["--clock-skew", "-300"]);
    let r = password_grant(&srv);
    assert_eq!(r.status, 200, "{}", r.body);
    let iat = jwt_part(r.json()["access_token"].as_str().unwrap(), 1)["iat"].as_i64().unwrap();
    assert!((now() - 300 - iat).abs() <= 2, "iat {iat} should be 300 s behind {}", now());
    // At run time, the other way.
    assert_eq!(put_faults(&srv, r#"{"clockSkew": 300}"#).status, 200);
    let iat = jwt_part(password_grant(&srv).json()["access_token"].as_str().unwrap(), 1)["iat"].as_i64().unwrap();
    assert!((now() + 300 - iat).abs() <= 2, "iat {iat} should be 300 s ahead of {}", now());
}

#[test]
fn faults_change_at_run_time_and_bad_ones_are_refused() {
    let srv = Server::start();
    assert_eq!(password_grant(&srv).status, 200);
    let r = put_faults(&srv, r#"{"faults": {"token": "status:502"}}"#);
    assert_eq!(r.json()["faults"]["token"], "status:502");
    assert_eq!(password_grant(&srv).status, 502);
    for bad in [r#"{"faults": {"tokens": "hang"}}"#, r#"{"faults": {"token": "status:200"}}"#, r#"{"clockSkew": "x"}"#, "nope"] {
        let r = put_faults(&srv, bad);
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(r.json()["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    // A refused change leaves the faults as they were.
    assert_eq!(password_grant(&srv).status, 502);
    let r = request(srv.port, "GET", "/__faults", &[], None);
    assert_eq!(r.json()["faults"]["token"], "status:502");
    assert_eq!(request(srv.port, "DELETE", "/__faults", &[], None).json()["faults"], serde_json::json!({}));
    assert_eq!(password_grant(&srv).status, 200);
}

#[test]
fn bad_fault_flags_are_usage_errors() {
    for args in [&["--fault", "token=boom"][..], &["--fault", "nowhere=hang"], &["--clock-skew", "soon"], &["--clock-skew", "999999"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_keycloak-realm-server")).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("Usage:"), "{args:?}");
    }
}
