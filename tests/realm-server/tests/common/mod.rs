//! Test support: start the server binary on a free port, a minimal raw HTTP/1.1 client
//! (full control over Host, cookies and malformed input), a cookie jar, JWT helpers.
#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_keycloak-realm-server");
pub const DEMO_REALM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/realms/demo-realm.json");

/// One demo-realm server shared by the tests of a test binary (RSA key generation is
/// slow in unoptimized builds). It exits when the test process closes its stdin.
pub fn demo() -> &'static Server {
    static S: std::sync::OnceLock<Server> = std::sync::OnceLock::new();
    S.get_or_init(Server::start)
}

/// A shared server whose demo realm allows registration and the implicit flow.
pub fn demo_open() -> &'static Server {
    static S: std::sync::OnceLock<Server> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        Server::with_demo_edited(&[
            ("\"registrationAllowed\": false", "\"registrationAllowed\": true"),
            ("\"implicitFlowEnabled\": false", "\"implicitFlowEnabled\": true"),
        ])
    })
}

pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    /// The demo realm.
    pub fn start() -> Server {
        Server::with_args(&[])
    }

    pub fn with_args(args: &[&str]) -> Server {
        Server::with_args_env(args, &[])
    }

    /// Start with extra arguments and environment variables.
    pub fn with_args_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(BIN)
            .args(["--port", "0", "--watch-stdin"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read listening line");
        let port = line
            .trim()
            .strip_prefix("listening on http://localhost:")
            .or_else(|| line.trim().strip_prefix("listening on https://localhost:"))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("port");
        Server { child, port }
    }

    /// Start with a realm given as JSON text.
    pub fn with_realm(json: &str) -> Server {
        let dir = std::env::temp_dir().join(format!("realm-test-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("realm.json");
        std::fs::write(&file, json).unwrap();
        Server::with_args(&["--import", file.to_str().unwrap()])
    }

    /// Start with the demo realm modified by `edit` (string replacements on its JSON).
    pub fn with_demo_edited(edits: &[(&str, &str)]) -> Server {
        let mut json = std::fs::read_to_string(DEMO_REALM).unwrap();
        for (from, to) in edits {
            assert!(json.contains(from), "demo realm has no {from}");
            json = json.replace(from, to);
        }
        Server::with_realm(&json)
    }

    pub fn base(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    pub fn alive(&self) -> bool {
        std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            && self.get("/realms/demo/.well-known/openid-configuration", &[]).status == 200
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        request(self.port, "GET", path, headers, None)
    }

    pub fn post_form(&self, path: &str, headers: &[(&str, &str)], form: &[(&str, &str)]) -> Resp {
        let body = encode_form(form);
        let mut h: Vec<(&str, &str)> = vec![("Content-Type", "application/x-www-form-urlencoded")];
        h.extend_from_slice(headers);
        request(self.port, "POST", path, &h, Some(body.as_bytes()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst) * 1000 + (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64 % 1000)
}

pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn encode_form(form: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        s.append_pair(k, v);
    }
    s.finish()
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn location(&self) -> &str {
        self.header("location").unwrap_or_else(|| panic!("no Location; status {} body {}", self.status, self.body))
    }

    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.all("set-cookie").into_iter().find(|c| c.starts_with(&format!("{name}=")))
    }
}

/// An Admin API call with a bearer token and a JSON body (or none).
pub fn admin_call(srv: &Server, token: &str, method: &str, path: &str, body: Option<&Value>) -> Resp {
    let auth = format!("Bearer {token}");
    let bytes = body.map(|b| serde_json::to_vec(b).unwrap());
    let mut h = vec![("Authorization", auth.as_str()), ("Accept", "application/json")];
    if bytes.is_some() {
        h.push(("Content-Type", "application/json"));
    }
    request(srv.port, method, path, &h, bytes.as_deref())
}

/// One request on a fresh connection (`Connection: close`).
pub fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Resp {
    raw(port, &build_request(port, method, path, headers, body))
}

pub fn build_request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Vec<u8> {
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: localhost:{port}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("Connection: close\r\n");
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    if let Some(b) = body {
        bytes.extend_from_slice(b);
    }
    bytes
}

/// Send raw bytes; parse the response (status 0 if the server closed without one).
pub fn raw(port: u16, bytes: &[u8]) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = s.write_all(bytes);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    parse_response(&buf)
}

pub fn parse_response(buf: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(buf).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Resp { status: 0, headers: vec![], body: text };
    };
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
        .collect();
    Resp { status, headers, body: body.to_string() }
}

/// Cookies by name; Set-Cookie with Max-Age=0 deletes.
#[derive(Default, Debug, Clone)]
pub struct Jar(pub HashMap<String, String>);

impl Jar {
    pub fn update(&mut self, r: &Resp) {
        for c in r.all("set-cookie") {
            let first = c.split(';').next().unwrap_or("");
            let Some((k, v)) = first.split_once('=') else { continue };
            if c.contains("Max-Age=0") {
                self.0.remove(k);
            } else {
                self.0.insert(k.to_string(), v.to_string());
            }
        }
    }

    pub fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
}

/// Decode a JWT part (0 header, 1 payload) as JSON.
pub fn jwt_part(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).expect("jwt part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
}

pub fn jwt_header_raw(token: &str) -> String {
    String::from_utf8(URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap()
}

pub fn b64url(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

pub fn sha256(b: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(b).to_vec()
}

pub const VERIFIER: &str = "verifier-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ";

pub fn challenge(verifier: &str) -> String {
    b64url(&sha256(verifier.as_bytes()))
}

/// Parameters after `#` (or `?` when `query`) of a redirect Location, last occurrence wins.
pub fn callback_params(location: &str, query: bool) -> HashMap<String, String> {
    let part = if query {
        location.split_once('?').map(|(_, q)| q.split('#').next().unwrap_or("")).unwrap_or("")
    } else {
        location.split_once('#').map(|(_, f)| f).unwrap_or("")
    };
    form_urlencoded::parse(part.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

pub fn html_unescape(s: &str) -> String {
    s.replace("&amp;", "&").replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&#39;", "'")
}

/// The `action` of the first form, as a path (scheme and authority stripped).
pub fn form_action(html: &str) -> String {
    let start = html.find("action=\"").expect("form action") + 8;
    let end = html[start..].find('"').unwrap() + start;
    let url = html_unescape(&html[start..end]);
    match url.split_once("://") {
        Some((_, rest)) => rest[rest.find('/').unwrap()..].to_string(),
        None => url,
    }
}

pub fn path_of(url: &str) -> String {
    match url.split_once("://") {
        Some((_, rest)) => rest[rest.find('/').unwrap_or(rest.len())..].to_string(),
        None => url.to_string(),
    }
}

pub const REDIRECT: &str = "http://localhost:3000/";

/// Authorization URL (path + query) for demo-app with PKCE S256.
pub fn auth_path(extra: &[(&str, &str)]) -> String {
    let ch = challenge(VERIFIER);
    let mut p: Vec<(&str, &str)> = vec![
        ("client_id", "demo-app"),
        ("redirect_uri", REDIRECT),
        ("state", "st-1"),
        ("response_mode", "fragment"),
        ("response_type", "code"),
        ("scope", "openid"),
        ("nonce", "nonce-1"),
        ("code_challenge", &ch),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        p.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            p.push((k, v));
        }
    }
    format!("/realms/demo/protocol/openid-connect/auth?{}", encode_form(&p))
}

/// Show the login page for `path`, submit credentials; returns the final response
/// (a 302 on success) with the jar updated.
pub fn login(srv: &Server, jar: &mut Jar, path: &str, user: &str, password: &str) -> Resp {
    let page = srv.get(path, &[("Cookie", &jar.header())]);
    assert_eq!(page.status, 200, "login page: {}", page.body);
    jar.update(&page);
    let action = form_action(&page.body);
    let r = srv.post_form(&action, &[("Cookie", &jar.header())], &[("username", user), ("password", password), ("credentialId", "")]);
    jar.update(&r);
    r
}

/// Login with defaults and exchange the code; returns (token response JSON, jar, callback params).
pub fn login_and_exchange(srv: &Server) -> (Value, Jar, HashMap<String, String>) {
    let mut jar = Jar::default();
    let r = login(srv, &mut jar, &auth_path(&[]), "alice", "alice");
    assert_eq!(r.status, 302, "{}", r.body);
    let cb = callback_params(r.location(), false);
    let t = exchange(srv, &cb["code"], REDIRECT, Some(VERIFIER), &[]);
    assert_eq!(t.status, 200, "{}", t.body);
    (t.json(), jar, cb)
}

pub fn exchange(srv: &Server, code: &str, redirect: &str, verifier: Option<&str>, headers: &[(&str, &str)]) -> Resp {
    let mut form = vec![("grant_type", "authorization_code"), ("code", code), ("client_id", "demo-app"), ("redirect_uri", redirect)];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    srv.post_form("/realms/demo/protocol/openid-connect/token", headers, &form)
}

pub fn refresh(srv: &Server, token: &str) -> Resp {
    srv.post_form(
        "/realms/demo/protocol/openid-connect/token",
        &[],
        &[("grant_type", "refresh_token"), ("refresh_token", token), ("client_id", "demo-app")],
    )
}
