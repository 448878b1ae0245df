//! Request context and response building.

use crate::util::{host_without_port, http_date, is_loopback_or_localhost, now};
use axum::http::{HeaderMap, Method};
use serde_json::Value;
use std::collections::BTreeSet;

pub struct Ctx {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub scheme: &'static str,
    /// Host header (authority as the client sent it).
    pub host: String,
}

impl Ctx {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `scheme://host[:port]` of this request, as Keycloak derives its frontend URL in dev mode.
    pub fn base(&self) -> String {
        format!("{}://{}", self.scheme, self.host)
    }

    pub fn issuer(&self, realm: &str) -> String {
        format!("{}/realms/{}", self.base(), crate::util::enc(realm))
    }

    pub fn origin(&self) -> Option<&str> {
        self.header("origin").filter(|o| !o.is_empty())
    }

    /// https, or a localhost / loopback host (Keycloak's SecureContextResolver).
    pub fn secure_context(&self) -> bool {
        self.scheme == "https" || is_loopback_or_localhost(&host_without_port(&self.host))
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        for h in self.headers.get_all("cookie") {
            let Ok(s) = h.to_str() else { continue };
            for part in s.split(';') {
                if let Some((k, v)) = part.trim().split_once('=') {
                    if k.trim() == name {
                        let v = v.trim();
                        let v = v.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(v);
                        return Some(v.to_string());
                    }
                }
            }
        }
        None
    }

    pub fn accepts_json(&self) -> bool {
        self.header("accept").is_some_and(|a| a.contains("application/json"))
            || self.header("content-type").is_some_and(|a| a.contains("application/json"))
    }

    /// Bearer token from the Authorization header (scheme case-insensitive).
    pub fn bearer(&self) -> Option<String> {
        let h = self.header("authorization")?.trim();
        let (scheme, token) = h.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() {
            Some(token.trim().to_string())
        } else {
            None
        }
    }

    /// The access token of the `Authorization` header and whether it came with the `DPoP`
    /// scheme: `Bearer` is matched in any case, `DPoP` exactly (Keycloak's AppAuthManager).
    pub fn access_token(&self) -> Option<(String, bool)> {
        let h = self.header("authorization")?.trim();
        let (scheme, token) = h.split_once(' ')?;
        let token = token.trim();
        if token.is_empty() {
            return None;
        }
        if scheme == "DPoP" {
            Some((token.to_string(), true))
        } else if scheme.eq_ignore_ascii_case("bearer") {
            Some((token.to_string(), false))
        } else {
            None
        }
    }

    /// The server's URL of this request, without the query (what a DPoP proof's `htu`
    /// is compared with).
    pub fn url(&self) -> String {
        format!("{}{}", self.base(), self.path)
    }

    /// `Set-Cookie` for a realm cookie with Keycloak's attributes.
    pub fn set_cookie(&self, realm: &str, name: &str, value: &str, max_age: Option<i64>, http_only: bool) -> String {
        let mut s = format!("{name}={value}; Version=1; Path=/realms/{realm}/");
        if self.secure_context() {
            s.push_str("; SameSite=None; Secure");
        } else {
            s.push_str("; SameSite=Lax");
        }
        if http_only {
            s.push_str("; HttpOnly");
        }
        if let Some(m) = max_age {
            s.push_str(&format!("; Max-Age={m}; Expires={}", http_date(now() + m)));
        }
        s
    }

    /// Expire a realm cookie, only if the request carried it (as Keycloak does).
    pub fn expire_cookie(&self, realm: &str, name: &str, out: &mut Out) {
        if self.cookie(name).is_some() {
            out.headers.push((
                "set-cookie",
                format!("{name}=; Version=1; Path=/realms/{realm}/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
            ));
        }
    }
}

pub struct Out {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Out {
    pub fn new(status: u16) -> Out {
        Out { status, headers: Vec::new(), body: Vec::new() }
    }

    pub fn header(mut self, k: &'static str, v: impl Into<String>) -> Out {
        self.headers.push((k, v.into()));
        self
    }

    pub fn json(status: u16, v: &Value) -> Out {
        let mut o = Out::new(status).header("content-type", "application/json");
        o.body = serde_json::to_vec(v).unwrap_or_default();
        o
    }

    /// `{"error": .., "error_description": ..}` as the OAuth endpoints send it.
    pub fn oauth_error(status: u16, error: &str, description: &str) -> Out {
        Out::json(status, &serde_json::json!({ "error": error, "error_description": description }))
    }

    /// A login-theme page with the realm's browser security headers.
    pub fn page(status: u16, body: String) -> Out {
        let mut o = Out::new(status)
            .header("content-type", "text/html;charset=utf-8")
            .header("cache-control", "no-store, must-revalidate, max-age=0")
            .header("x-frame-options", "SAMEORIGIN")
            .header("content-security-policy", "frame-src 'self'; frame-ancestors 'self'; object-src 'none';")
            .header("x-content-type-options", "nosniff")
            .header("x-robots-tag", "none")
            .header("referrer-policy", "no-referrer");
        o.body = body.into_bytes();
        o
    }

    /// An iframe page: any frame ancestor allowed.
    pub fn iframe_page(body: &str) -> Out {
        let mut o = Out::new(200)
            .header("content-type", "text/html;charset=utf-8")
            .header("cache-control", "no-cache");
        o.body = body.as_bytes().to_vec();
        o
    }

    pub fn redirect(location: &str) -> Out {
        Out::new(302).header("location", location)
    }

    pub fn no_store(self) -> Out {
        self.header("cache-control", "no-store").header("pragma", "no-cache")
    }

    /// CORS for an actual request: echo the Origin if allowed.
    pub fn cors(mut self, ctx: &Ctx, allowed: &BTreeSet<String>) -> Out {
        if let Some(origin) = ctx.origin() {
            if allowed.contains("*") || allowed.contains(origin) {
                self.headers.push(("access-control-allow-origin", origin.to_string()));
                self.headers.push(("access-control-allow-credentials", "true".to_string()));
                self.headers.push(("access-control-expose-headers", "Access-Control-Allow-Methods".into()));
            }
        }
        self
    }

    /// Add a header name to `Access-Control-Expose-Headers` (if CORS headers were added).
    pub fn expose(mut self, name: &str) -> Out {
        for h in self.headers.iter_mut() {
            if h.0 == "access-control-expose-headers" {
                h.1 = format!("{}, {name}", h.1);
            }
        }
        self
    }

    pub fn cors_any(self, ctx: &Ctx) -> Out {
        let all: BTreeSet<String> = ["*".to_string()].into();
        self.cors(ctx, &all)
    }
}

/// CORS preflight answer (no origin check, as Keycloak does).
pub fn preflight(ctx: &Ctx, methods: &str) -> Out {
    let mut o = Out::new(200);
    if let Some(origin) = ctx.origin() {
        o = o
            .header("access-control-allow-origin", origin)
            .header("access-control-allow-credentials", "true")
            .header("access-control-allow-methods", methods)
            .header(
                "access-control-allow-headers",
                "Origin, Accept, X-Requested-With, Content-Type, Access-Control-Request-Method, Access-Control-Request-Headers, DPoP, Authorization",
            )
            .header("access-control-max-age", "3600");
    }
    o
}
