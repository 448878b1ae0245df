//! Command-line contract.

mod common;
use common::*;
use std::process::Command;

#[test]
fn help_and_bad_arguments() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Usage: keycloak-realm-server"), "{text}");
    assert!(text.contains("--import FILE"));

    let out = Command::new(BIN).arg("--frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--frobnicate") && err.contains("Usage:"), "{err}");

    let out = Command::new(BIN).arg("--port").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN).args(["--port", "http"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    let out = Command::new(BIN).args(["--port", "0", "--import", "/nonexistent/realm.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/realm.json"));
}

#[test]
fn invalid_realm_file_is_reported() {
    let dir = std::env::temp_dir().join(format!("realm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.json");
    std::fs::write(&f, "{ not json").unwrap();
    let out = Command::new(BIN).args(["--port", "0", "--import", f.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid realm JSON"));
}

#[test]
fn listens_on_both_loopbacks_and_serves_several_realms() {
    let dir = std::env::temp_dir().join(format!("realm-cli2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let other = dir.join("other.json");
    std::fs::write(&other, r#"{"realm":"other","enabled":true,"clients":[{"clientId":"c","publicClient":true,"redirectUris":["*"]}]}"#).unwrap();
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/realms/demo-realm.json");
    let srv = Server::with_args(&["--import", demo, "--import", other.to_str().unwrap()]);
    assert_eq!(srv.get("/realms/demo/.well-known/openid-configuration", &[]).status, 200);
    assert_eq!(srv.get("/realms/other/.well-known/openid-configuration", &[]).status, 200);
    // IPv6 loopback on the same port (when the machine has ::1).
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("::1", srv.port)).expect("[::1] connect");
        s.write_all(b"GET /realms/other HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n").unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).unwrap();
        assert!(buf.starts_with("HTTP/1.1 200"), "{buf}");
    }
}

#[test]
fn sigterm_exits_cleanly() {
    use std::io::BufRead;
    let mut child = Command::new(BIN).args(["--port", "0"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("listening on http://localhost:"));
    let st = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(st.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
