#![recursion_limit = "256"]
//! keycloak-realm-server: a Keycloak-compatible test realm server (the OIDC subset
//! keycloak-js uses), written from the behaviour described in the project's reference.

/// `eprintln!` that never panics (stderr may be closed).
macro_rules! elog {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

mod admin;
mod authz;
mod dpop;
mod faults;
mod http;
mod jwt;
mod login_params;
mod model;
mod oidc;
mod pages;
mod register;
mod required_action;
mod state;
mod tls;
mod tokens;
mod uma;
mod util;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use std::io::Write;
use std::sync::Arc;

const USAGE: &str = "\
Usage: keycloak-realm-server [--port N] [--import FILE]... [--tls] [--verbose]
                             [--fault ENDPOINT=MODE]... [--clock-skew SECONDS] [--help]

A Keycloak-compatible test realm server (OIDC endpoints used by keycloak-js).

Options:
  --port N         port to listen on, on 127.0.0.1 and [::1] (default 8080; 0 picks a free port)
  --import FILE    realm import JSON (Keycloak format); repeat for several realms.
                   Default: tests/realm-server/realms/demo-realm.json
  --tls            serve HTTPS with a self-signed certificate for localhost and *.localhost
  --verbose        log every request to stderr
  --watch-stdin    exit (code 0) when standard input reaches end-of-file, so a test
                   harness that holds the pipe never leaves the server behind
  --fault ENDPOINT=MODE
                   fail on purpose; repeat for several endpoints. ENDPOINT: * (all) or one of
                   discovery, realm, auth, token, userinfo, logout, certs, revoke,
                   status-iframe, 3p-cookies, account, login-actions, admin.
                   MODE: slow:MS (answer after MS ms), hang (never answer), status:CODE
                   (answer CODE with an error body), reset (reset the connection),
                   malformed (answer with the body cut in half)
  --clock-skew SECONDS
                   move the server's clock (issued tokens' iat/exp) by SECONDS (+ or -)
  --help           print this help and exit

At run time, /__faults shows the faults (GET), replaces them (PUT with
{\"faults\": {\"token\": \"hang\"}, \"clockSkew\": -300}) or lifts them all (DELETE).

Once ready it prints `listening on http://localhost:<port>` (https with --tls) on stdout.

Environment:
  KC_BOOTSTRAP_ADMIN_USERNAME, KC_BOOTSTRAP_ADMIN_PASSWORD
                   the master realm's admin user for the Admin REST API (default admin/admin)
";

const DEFAULT_REALM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/realms/demo-realm.json");

struct Options {
    port: u16,
    imports: Vec<String>,
    tls: bool,
    verbose: bool,
    watch_stdin: bool,
    faults: Vec<(String, faults::Mode)>,
    clock_skew: i64,
}

fn usage_error(msg: &str) -> ! {
    elog!("keycloak-realm-server: {msg}\n\n{USAGE}");
    std::process::exit(2);
}

fn parse_args() -> Options {
    let mut o = Options { port: 8080, imports: Vec::new(), tls: false, verbose: false, watch_stdin: false, faults: Vec::new(), clock_skew: 0 };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |name: &str| -> String {
            inline.clone().or_else(|| args.next()).unwrap_or_else(|| usage_error(&format!("{name} needs a value")))
        };
        match flag.as_str() {
            "--help" | "-h" => {
                let mut out = std::io::stdout();
                let _ = out.write_all(USAGE.as_bytes());
                let _ = out.flush();
                std::process::exit(0);
            }
            "--port" => {
                let v = value("--port");
                o.port = v.parse().unwrap_or_else(|_| usage_error(&format!("invalid port {v:?}")));
            }
            "--import" => o.imports.push(value("--import")),
            "--tls" if inline.is_none() => o.tls = true,
            "--verbose" if inline.is_none() => o.verbose = true,
            "--watch-stdin" if inline.is_none() => o.watch_stdin = true,
            "--fault" => o.faults.push(faults::parse_rule(&value("--fault")).unwrap_or_else(|e| usage_error(&e))),
            "--clock-skew" => {
                let v = value("--clock-skew");
                o.clock_skew = v.parse().ok().filter(|s: &i64| s.abs() <= 86_400).unwrap_or_else(|| usage_error(&format!("invalid clock skew {v:?} (seconds within a day)")));
            }
            _ => usage_error(&format!("unknown argument {a:?}")),
        }
    }
    if o.imports.is_empty() {
        o.imports.push(DEFAULT_REALM.to_string());
    }
    o
}

fn load_realms(files: &[String]) -> Result<std::collections::HashMap<String, model::Realm>, String> {
    let mut realms = std::collections::HashMap::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("cannot read {f}: {e}"))?;
        let rep: model::RealmRep = serde_json::from_str(&text).map_err(|e| format!("{f}: invalid realm JSON: {e}"))?;
        let (realm, warnings) = model::Realm::from_rep(rep).map_err(|e| format!("{f}: {e}"))?;
        for w in warnings {
            elog!("keycloak-realm-server: warning: {w}");
        }
        if realms.contains_key(&realm.name) {
            return Err(format!("{f}: realm {} is imported twice", realm.name));
        }
        realms.insert(realm.name.clone(), realm);
    }
    Ok(realms)
}

fn valid_host(h: &str) -> bool {
    !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b))
}

async fn handle(
    State((app, port)): State<(Arc<state::App>, u16)>,
    ConnectInfo(faults::Peer(peer)): ConnectInfo<faults::Peer>,
    req: Request,
) -> Response {
    if req.uri().path() == "/__faults" {
        return fault_control(req).await;
    }
    // CORS preflights are answered as usual: the fault hits the request itself (a 503
    // from the endpoint reaches the app as a 503, not as a failed preflight).
    let fault = if req.method() == axum::http::Method::OPTIONS { None } else { faults::fault_for(req.uri().path()) };
    match fault {
        Some(faults::Mode::Slow(ms)) => tokio::time::sleep(std::time::Duration::from_millis(ms)).await,
        Some(faults::Mode::Hang) => std::future::pending::<()>().await,
        Some(faults::Mode::Reset) => {
            faults::reset_connection(peer);
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "reset");
        }
        Some(faults::Mode::Status(code)) => return fault_status(code, req.headers().get("origin").cloned()),
        _ => {}
    }
    let malformed = fault == Some(faults::Mode::Malformed);
    let (parts, body) = req.into_parts();
    // Keycloak (Quarkus) accepts bodies up to 10 MiB (quarkus.http.limits.max-body-size).
    let body = match axum::body::to_bytes(body, 10 << 20).await {
        Ok(b) => b.to_vec(),
        Err(_) => return plain(StatusCode::PAYLOAD_TOO_LARGE, "Request entity too large"),
    };
    let host = parts
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(String::from)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| format!("localhost:{port}"));
    if !valid_host(&host) {
        return plain(StatusCode::BAD_REQUEST, "Bad Request");
    }
    let ctx = http::Ctx {
        method: parts.method.clone(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers,
        body,
        scheme: if app.tls { "https" } else { "http" },
        host,
    };
    let app2 = app.clone();
    // Handlers do CPU work (RSA signing) under a std mutex: keep it off the async workers.
    let result = tokio::task::spawn_blocking(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| oidc::route(&app2, &ctx)));
        (out, ctx)
    })
    .await;
    let (out, ctx) = match result {
        Ok(r) => r,
        Err(_) => return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    };
    let out = match out {
        Ok(o) => o,
        Err(_) => {
            elog!("keycloak-realm-server: internal error on {} {}", ctx.method, ctx.path);
            http::Out::json(500, &serde_json::json!({"error": "unknown_error"}))
        }
    };
    if app.verbose {
        let q = if ctx.query.is_empty() { String::new() } else { format!("?{}", ctx.query) };
        elog!("{} {}{} -> {}", ctx.method, ctx.path, q, out.status);
    }
    let mut out = out;
    if malformed {
        let half = out.body.len() / 2;
        out.body.truncate(half);
    }
    to_response(out)
}

/// `/__faults`: GET shows the faults, PUT replaces them, DELETE lifts them all.
async fn fault_control(req: Request) -> Response {
    let method = req.method().clone();
    let body = axum::body::to_bytes(req.into_body(), 1 << 16).await.map(|b| b.to_vec()).unwrap_or_default();
    let result = match method.as_str() {
        "GET" => Ok(()),
        "PUT" => faults::replace_from_json(&body),
        "DELETE" => {
            faults::set(Vec::new(), 0);
            Ok(())
        }
        _ => return plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
    };
    match result {
        Ok(()) => to_response(http::Out::json(200, &faults::describe())),
        Err(e) => to_response(http::Out::json(400, &serde_json::json!({ "error": e }))),
    }
}

/// The answer of `status:CODE`: Keycloak's JSON error body; its CORS headers, which it
/// sends on error responses too (the request's origin, credentials allowed).
fn fault_status(code: u16, origin: Option<HeaderValue>) -> Response {
    let mut out = http::Out::json(code, &serde_json::json!({ "error": "unknown_error" }));
    if let Some(o) = origin.and_then(|o| o.to_str().ok().map(String::from)) {
        out = out.header("access-control-allow-origin", o).header("access-control-allow-credentials", "true");
    }
    to_response(out)
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    r.headers_mut().insert("content-type", HeaderValue::from_static("text/plain;charset=utf-8"));
    r
}

fn to_response(out: http::Out) -> Response {
    let mut r = Response::new(Body::from(out.body));
    *r.status_mut() = StatusCode::from_u16(out.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in out.headers {
        match HeaderValue::from_str(&v) {
            Ok(v) => {
                r.headers_mut().append(HeaderName::from_static(k), v);
            }
            // A value we cannot send (e.g. a redirect URI with control characters).
            Err(_) => return plain(StatusCode::BAD_REQUEST, "Bad Request"),
        }
    }
    r
}

fn bind(port: u16) -> Result<(Vec<std::net::TcpListener>, u16), String> {
    let v4 = std::net::TcpListener::bind(("127.0.0.1", port)).map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let port = v4.local_addr().map_err(|e| e.to_string())?.port();
    let mut listeners = vec![v4];
    match std::net::TcpListener::bind(("::1", port)) {
        Ok(v6) => listeners.push(v6),
        Err(e) => elog!("keycloak-realm-server: warning: cannot listen on [::1]:{port} ({e}); serving IPv4 only"),
    }
    Ok((listeners, port))
}

fn main() {
    let opts = parse_args();
    if opts.watch_stdin {
        std::thread::spawn(|| {
            use std::io::Read;
            let mut buf = [0u8; 256];
            let mut stdin = std::io::stdin();
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => std::process::exit(0),
                    Ok(_) => {}
                }
            }
        });
    }
    let mut realms = load_realms(&opts.imports).unwrap_or_else(|e| {
        elog!("keycloak-realm-server: {e}");
        std::process::exit(1);
    });
    admin::bootstrap_master(&mut realms).unwrap_or_else(|e| {
        elog!("keycloak-realm-server: master realm: {e}");
        std::process::exit(1);
    });
    let keys = Arc::new(jwt::RsaKeys::generate().unwrap_or_else(|e| {
        elog!("keycloak-realm-server: {e}");
        std::process::exit(1);
    }));
    let (listeners, port) = bind(opts.port).unwrap_or_else(|e| {
        elog!("keycloak-realm-server: {e}");
        std::process::exit(1);
    });
    let tls_config = if opts.tls {
        Some(tls::server_config().unwrap_or_else(|e| {
            elog!("keycloak-realm-server: {e}");
            std::process::exit(1);
        }))
    } else {
        None
    };
    faults::set(opts.faults.clone(), opts.clock_skew);
    let app = state::App { state: Default::default(), keys, tls: opts.tls, verbose: opts.verbose };
    for realm in realms.values_mut() {
        app.attach_default_key(realm);
    }
    let app = Arc::new(state::App { state: std::sync::Mutex::new(state::State { realms, store: Default::default() }), ..app });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            elog!("keycloak-realm-server: cannot start runtime: {e}");
            std::process::exit(1);
        });
    rt.block_on(async move {
        let router = axum::Router::new().fallback(handle).with_state((app, port));
        for l in listeners {
            if let Err(e) = l.set_nonblocking(true) {
                elog!("keycloak-realm-server: {e}");
                std::process::exit(1);
            }
            let listener = match tokio::net::TcpListener::from_std(l) {
                Ok(l) => l,
                Err(e) => {
                    elog!("keycloak-realm-server: {e}");
                    std::process::exit(1);
                }
            };
            let router = router.clone();
            match &tls_config {
                Some(cfg) => {
                    let tls_listener = tls::TlsListener::new(listener, cfg.clone());
                    tokio::spawn(async move {
                        let _ = axum::serve(faults::Listener(tls_listener), router.into_make_service_with_connect_info::<faults::Peer>()).await;
                    });
                }
                None => {
                    tokio::spawn(async move {
                        let _ = axum::serve(faults::Listener(listener), router.into_make_service_with_connect_info::<faults::Peer>()).await;
                    });
                }
            }
        }
        // The handlers go in before the ready line: a SIGTERM sent as soon as a caller
        // reads it must reach them, not the default action (death by signal, no exit 0).
        let stop = shutdown_signal();
        let scheme = if opts.tls { "https" } else { "http" };
        let mut out = std::io::stdout();
        let _ = writeln!(out, "listening on {scheme}://localhost:{port}");
        let _ = out.flush();
        stop.await;
    });
    let _ = std::io::stdout().flush();
    std::process::exit(0);
}

/// Registers SIGTERM and SIGINT handlers now (synchronously) and returns the wait for either.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate()).ok();
    let int = signal(SignalKind::interrupt()).ok();
    async move {
        match (term, int) {
            (Some(mut t), Some(mut i)) => {
                tokio::select! {
                    _ = t.recv() => {}
                    _ = i.recv() => {}
                }
            }
            (Some(mut t), None) => {
                t.recv().await;
            }
            (None, Some(mut i)) => {
                i.recv().await;
            }
            (None, None) => std::future::pending::<()>().await,
        }
    }
}
