//! The state machine, natively: a golden trace per flow (every input and every effect,
//! compared with `tests/machine/golden/*.trace`; `BLESS=1 cargo test --test machine`
//! rewrites them after a deliberate change), and a seeded schedule explorer
//! (`explore.rs`) that reorders, drops, delays and forges what the outside world says.

mod explore;
mod flows;
mod realm;
mod tabs;
mod world;

use realm::{config, Realm, APP, ORIGIN};
use serde_json::Value;
use std::path::PathBuf;
use world::World;

/// Replaces tokens and token payloads by short names, so traces stay readable.
fn normalize(lines: &[String]) -> String {
    let mut names: Vec<String> = Vec::new();
    let mut out = String::new();
    for line in lines {
        let mut l = line.clone();
        // JWTs
        loop {
            let Some(start) = l.find("eyJhbGciOiJSUzI1NiJ9.") else { break };
            let end = l[start..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')).map_or(l.len(), |e| start + e);
            let token = l[start..end].to_string();
            let n = names.iter().position(|t| *t == token).unwrap_or_else(|| {
                names.push(token.clone());
                names.len() - 1
            });
            let label = match realm::payload(&token) {
                Some(p) => format!("<jwt{} {} gen{}>", n, p.get("typ").and_then(|t| t.as_str()).unwrap_or("access"), p.get("gen").map(|g| g.to_string()).unwrap_or_default()),
                None => format!("<jwt{n}>"),
            };
            l.replace_range(start..end, &label);
        }
        // payload texts the driver parses: [4,"{...}"]
        while let Some(start) = l.find("[4,\"{\\\"") {
            let body = &l[start + 3..];
            let mut i = 1;
            let b = body.as_bytes();
            while i < b.len() && !(b[i] == b'"' && b[i - 1] != b'\\') {
                i += 1;
            }
            let text: String = serde_json::from_str(&body[..=i]).unwrap_or_default();
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let label = format!("[4,<payload {} gen{}>]", v.get("typ").and_then(|t| t.as_str()).unwrap_or("access"), v.get("gen").map(|g| g.to_string()).unwrap_or_default());
            l.replace_range(start..start + 3 + i + 2, &label);
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// Compares a world's transcript with its golden file (or writes it with BLESS=1), and
/// writes its exact inputs and effects to `target/machine-replay/<name>.jsonl` for the
/// package test that replays them through the shipped wasm.
pub fn golden(name: &str, w: &World) {
    assert!(w.violations.is_empty(), "{name}: {:#?}", w.violations);
    let replay = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/machine-replay");
    std::fs::create_dir_all(&replay).unwrap();
    let lines: Vec<String> = w.replay.iter().map(world::canon).collect();
    std::fs::write(replay.join(format!("{name}.jsonl")), lines.join("\n") + "\n").unwrap();
    let text = normalize(&w.transcript);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/machine/golden").join(format!("{name}.trace"));
    if std::env::var("BLESS").is_ok() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{name}: no golden trace at {} (run with BLESS=1 to create it)", path.display()));
    if want != text {
        let (w_lines, t_lines): (Vec<&str>, Vec<&str>) = (want.lines().collect(), text.lines().collect());
        let first = w_lines.iter().zip(&t_lines).position(|(a, b)| a != b).unwrap_or(w_lines.len().min(t_lines.len()));
        panic!(
            "{name}: the trace differs from {} at line {}:\n  golden: {}\n  now:    {}\n(BLESS=1 rewrites it after a deliberate change)",
            path.display(),
            first + 1,
            w_lines.get(first).unwrap_or(&"<end>"),
            t_lines.get(first).unwrap_or(&"<end>")
        );
    }
}

/// A world on the demo app's page, with the demo realm's configuration.
/// The session hint's storage key for [`app`]'s configuration.
pub const HINT_KEY: &str = "kc-wasm-sso-http://idp.localhost:8080/realms/demo/protocol/openid-connect/auth demo-app";

pub fn app() -> World {
    World::new(config())
}

pub fn _unused() -> (&'static str, &'static str, Realm) {
    (APP, ORIGIN, Realm::new())
}
