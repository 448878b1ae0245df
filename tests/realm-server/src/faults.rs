//! A realm that fails on purpose: per-endpoint fault modes and a skewed clock, set from
//! the command line (`--fault ENDPOINT=MODE`, `--clock-skew SECONDS`) or at run time
//! through `/__faults` (GET shows them, PUT replaces them, DELETE lifts them all).
//!
//! Modes:
//! * `slow:MS`: answer normally after MS milliseconds.
//! * `hang`: accept the request and never answer.
//! * `status:CODE`: answer CODE (a 5xx, say) with Keycloak's JSON error body, without
//!   running the endpoint; CORS headers as Keycloak sends them on errors (the request's
//!   `Origin` echoed, credentials allowed).
//! * `reset`: reset the connection (TCP RST) instead of answering; the browser sees a
//!   network error.
//! * `malformed`: run the endpoint (its side effects happen), then cut the body in half:
//!   truncated JSON or HTML with the endpoint's own headers.
//!
//! CORS preflights (OPTIONS) are never faulted: the fault hits the request itself.
//!
//! The clock skew moves the server's clock, so issued tokens carry `iat`/`exp` off by
//! that many seconds, as on a realm host whose clock is wrong.

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    Slow(u64),
    Hang,
    Status(u16),
    Reset,
    Malformed,
}

/// Endpoint names a fault can be set on (`*` is every one of them).
pub const ENDPOINTS: &[&str] = &[
    "discovery",
    "realm",
    "auth",
    "token",
    "userinfo",
    "logout",
    "certs",
    "revoke",
    "status-iframe",
    "3p-cookies",
    "account",
    "login-actions",
    "admin",
];

static FAULTS: Mutex<BTreeMap<String, Mode>> = Mutex::new(BTreeMap::new());
static RESETS: Mutex<Option<HashSet<SocketAddr>>> = Mutex::new(None);
/// Seconds added to the server's clock (util::now).
pub static CLOCK_SKEW: AtomicI64 = AtomicI64::new(0);

impl Mode {
    pub fn parse(s: &str) -> Result<Mode, String> {
        let (name, arg) = s.split_once(':').unwrap_or((s, ""));
        let num = |what: &str| arg.parse::<u64>().map_err(|_| format!("fault {name} needs {what}, got {arg:?}"));
        match name {
            "slow" => Ok(Mode::Slow(num("milliseconds")?.min(600_000))),
            "hang" if arg.is_empty() => Ok(Mode::Hang),
            "status" => match num("an HTTP status")? {
                c @ 400..=599 => Ok(Mode::Status(c as u16)),
                c => Err(format!("fault status needs a code from 400 to 599, got {c}")),
            },
            "reset" if arg.is_empty() => Ok(Mode::Reset),
            "malformed" if arg.is_empty() => Ok(Mode::Malformed),
            _ => Err(format!("unknown fault mode {s:?} (slow:MS, hang, status:CODE, reset, malformed)")),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Mode::Slow(ms) => format!("slow:{ms}"),
            Mode::Hang => "hang".into(),
            Mode::Status(c) => format!("status:{c}"),
            Mode::Reset => "reset".into(),
            Mode::Malformed => "malformed".into(),
        }
    }
}

/// Parses `ENDPOINT=MODE`.
pub fn parse_rule(s: &str) -> Result<(String, Mode), String> {
    let (endpoint, mode) = s.split_once('=').ok_or_else(|| format!("a fault is ENDPOINT=MODE, got {s:?}"))?;
    if endpoint != "*" && !ENDPOINTS.contains(&endpoint) {
        return Err(format!("unknown endpoint {endpoint:?} (one of *, {})", ENDPOINTS.join(", ")));
    }
    Ok((endpoint.to_string(), Mode::parse(mode)?))
}

pub fn set(rules: Vec<(String, Mode)>, skew: i64) {
    let mut f = FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    f.clear();
    f.extend(rules);
    CLOCK_SKEW.store(skew, Ordering::Relaxed);
}

/// The endpoint a request path belongs to, if it is one faults apply to.
pub fn endpoint_of(path: &str) -> Option<&'static str> {
    if path == "/admin" || path.starts_with("/admin/") {
        return Some("admin");
    }
    let rest = path.strip_prefix("/realms/")?;
    let sub = rest.split_once('/').map(|(_, s)| s).unwrap_or("");
    if let Some(oidc) = sub.strip_prefix("protocol/openid-connect/") {
        return Some(match oidc {
            "auth" | "registrations" => "auth",
            "token" => "token",
            "userinfo" => "userinfo",
            "logout" | "logout/logout-confirm" => "logout",
            "certs" => "certs",
            "revoke" => "revoke",
            s if s.starts_with("login-status-iframe.html") => "status-iframe",
            s if s.starts_with("3p-cookies/") => "3p-cookies",
            _ => return None,
        });
    }
    Some(match sub {
        "" => "realm",
        ".well-known/openid-configuration" => "discovery",
        s if s == "account" || s.starts_with("account/") => "account",
        s if s.starts_with("login-actions/") => "login-actions",
        _ => return None,
    })
}

/// The fault set on the endpoint of `path` (an exact name before `*`).
pub fn fault_for(path: &str) -> Option<Mode> {
    let endpoint = endpoint_of(path)?;
    let f = FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    f.get(endpoint).or_else(|| f.get("*")).cloned()
}

/// The faults as JSON (GET /__faults).
pub fn describe() -> serde_json::Value {
    let f = FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    let faults: serde_json::Map<String, serde_json::Value> = f.iter().map(|(k, m)| (k.clone(), m.label().into())).collect();
    serde_json::json!({ "faults": faults, "clockSkew": CLOCK_SKEW.load(Ordering::Relaxed) })
}

/// PUT /__faults body: `{"faults": {"token": "hang", ...}, "clockSkew": -300}`; both optional.
pub fn replace_from_json(body: &[u8]) -> Result<(), String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let mut rules = Vec::new();
    if let Some(map) = v.get("faults") {
        let map = map.as_object().ok_or("faults must be an object")?;
        for (endpoint, mode) in map {
            let mode = mode.as_str().ok_or_else(|| format!("the mode of {endpoint} must be a string"))?;
            rules.push(parse_rule(&format!("{endpoint}={mode}"))?);
        }
    }
    let skew = match v.get("clockSkew") {
        None | Some(serde_json::Value::Null) => 0,
        Some(s) => s.as_i64().filter(|s| s.abs() <= 86_400).ok_or("clockSkew must be whole seconds within a day")?,
    };
    set(rules, skew);
    Ok(())
}

/// Marks the connection from `peer` to be reset at its next write (the response).
pub fn reset_connection(peer: SocketAddr) {
    RESETS.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(HashSet::new).insert(peer);
}

fn take_reset(peer: &SocketAddr) -> bool {
    RESETS.lock().unwrap_or_else(|e| e.into_inner()).as_mut().is_some_and(|s| s.remove(peer))
}

/// Sets SO_LINGER to zero, so that closing the socket sends RST rather than FIN.
pub trait Linger {
    fn linger_zero(&self);
}

impl Linger for tokio::net::TcpStream {
    // Deprecated because a non-zero linger blocks the thread on drop; zero does not
    // block (the kernel drops the queue and sends RST at once).
    #[allow(deprecated)]
    fn linger_zero(&self) {
        let _ = self.set_linger(Some(std::time::Duration::ZERO));
    }
}

impl Linger for tokio_rustls::server::TlsStream<tokio::net::TcpStream> {
    fn linger_zero(&self) {
        self.get_ref().0.linger_zero();
    }
}

/// An accepted connection that can be reset on demand (see `reset_connection`).
pub struct Conn<S> {
    pub io: S,
    pub peer: SocketAddr,
}

impl<S: AsyncRead + Unpin> AsyncRead for Conn<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Linger + Unpin> AsyncWrite for Conn<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if take_reset(&self.peer) {
            self.io.linger_zero();
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Wraps a listener's connections in `Conn`.
pub struct Listener<L>(pub L);

impl<L> axum::serve::Listener for Listener<L>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
    L::Io: Linger,
{
    type Io = Conn<L::Io>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, peer) = self.0.accept().await;
        (Conn { io, peer }, peer)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// The peer address of a request's connection (axum's `ConnectInfo`).
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

impl<L> axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, Listener<L>>> for Peer
where
    L: axum::serve::Listener<Addr = SocketAddr>,
    L::Io: Linger,
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, Listener<L>>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rules_and_rejects_nonsense() {
        assert_eq!(parse_rule("token=hang"), Ok(("token".into(), Mode::Hang)));
        assert_eq!(parse_rule("*=slow:250"), Ok(("*".into(), Mode::Slow(250))));
        assert_eq!(parse_rule("userinfo=status:503"), Ok(("userinfo".into(), Mode::Status(503))));
        assert_eq!(parse_rule("certs=reset").map(|r| r.1), Ok(Mode::Reset));
        assert_eq!(parse_rule("discovery=malformed").map(|r| r.1), Ok(Mode::Malformed));
        for bad in ["token", "tokens=hang", "token=hang:1", "token=status:200", "token=slow", "token=slow:x", "token=boom"] {
            assert!(parse_rule(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn maps_paths_to_endpoints() {
        let p = "/realms/demo/protocol/openid-connect/";
        assert_eq!(endpoint_of(&format!("{p}token")), Some("token"));
        assert_eq!(endpoint_of(&format!("{p}registrations")), Some("auth"));
        assert_eq!(endpoint_of(&format!("{p}logout/logout-confirm")), Some("logout"));
        assert_eq!(endpoint_of(&format!("{p}login-status-iframe.html/init")), Some("status-iframe"));
        assert_eq!(endpoint_of(&format!("{p}3p-cookies/step2.html")), Some("3p-cookies"));
        assert_eq!(endpoint_of(&format!("{p}nothing")), None);
        assert_eq!(endpoint_of("/realms/demo"), Some("realm"));
        assert_eq!(endpoint_of("/realms/demo/.well-known/openid-configuration"), Some("discovery"));
        assert_eq!(endpoint_of("/realms/demo/account"), Some("account"));
        assert_eq!(endpoint_of("/realms/demo/login-actions/authenticate"), Some("login-actions"));
        assert_eq!(endpoint_of("/admin/realms/demo/users"), Some("admin"));
        assert_eq!(endpoint_of("/__faults"), None);
        assert_eq!(endpoint_of("/administrator"), None);
    }
}
