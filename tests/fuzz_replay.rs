//! Replays the fuzz corpus on stable Rust: every file under `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/` goes through the same body the cargo fuzz target runs
//! (`fuzz/bodies.rs`), so an input that once passed (or once crashed and was fixed)
//! fails CI if it panics again. The fuzzing itself is a developer tool: fuzz/README.md.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../fuzz/bodies.rs"]
#[allow(dead_code)]
mod bodies;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// Runs every file of `dir` through `body`; returns how many ran and the ones that panicked.
fn replay(dir: &Path, body: fn(&[u8])) -> (usize, Vec<String>) {
    let mut failed = Vec::new();
    let list = files(dir);
    for f in &list {
        let data = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        if catch_unwind(AssertUnwindSafe(|| body(&data))).is_err() {
            failed.push(f.display().to_string());
        }
    }
    (list.len(), failed)
}

fn target(name: &str) {
    let body = bodies::TARGETS.iter().find(|t| t.0 == name).unwrap().1;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let (corpus, mut failed) = replay(&root.join("corpus").join(name), body);
    let (regressions, f2) = replay(&root.join("regressions").join(name), body);
    failed.extend(f2);
    // An empty or missing corpus would make this test pass without testing anything.
    assert!(corpus >= 10, "fuzz/corpus/{name} has {corpus} inputs (run cargo fuzz and cmin, fuzz/README.md)");
    assert!(failed.is_empty(), "{name}: {} of {} inputs panic (cargo +nightly fuzz run {name} <file> shows one):\n{}", failed.len(), corpus + regressions, failed.join("\n"));
}

#[test]
fn b64() {
    target("b64");
}

#[test]
fn jwt() {
    target("jwt");
}

#[test]
fn callback() {
    target("callback");
}

#[test]
fn json() {
    target("json");
}

#[test]
fn config() {
    target("config");
}

#[test]
fn iframe() {
    target("iframe");
}

#[test]
fn storage() {
    target("storage");
}

#[test]
fn machine() {
    target("machine");
}

#[test]
fn jwks() {
    target("jwks");
}

/// The replay reports an input whose body panics (what a regression looks like).
#[test]
fn replay_reports_a_panicking_input() {
    let dir = std::env::temp_dir().join(format!("kw-fuzz-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ok"), b"fine").unwrap();
    std::fs::write(dir.join("bad"), b"boom").unwrap();
    let (n, failed) = replay(&dir, |d| assert_ne!(d, b"boom"));
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(n, 2);
    assert_eq!(failed.len(), 1);
    assert!(failed[0].ends_with("bad"));
}

/// The effects check is JSON.parse's grammar: it takes what JSON.parse takes (a lone
/// surrogate escape, a number beyond f64) and rejects the rest.
#[test]
fn effects_check_is_json_parse() {
    assert!(bodies::check_effects("", r#"[["set","a","\ud800"],["x",1e400]]"#).is_none());
    assert!(bodies::check_effects("", r#"[["set","a",[6,0]]]"#).is_some());
    for bad in [r#"[["set",]]"#, "[[\"a\u{1}\"]]", r#"[["a"]"#, r#"[["a"]] x"#, r#"[1]"#, r#"{"a":1}"#, r#"[[1]]"#] {
        assert!(catch_unwind(|| bodies::check_effects("", bad)).is_err(), "{bad}");
    }
}

#[test]
fn json_check_takes_any_depth() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(bodies::json_syntax_ok(&deep));
    assert!(!bodies::json_syntax_ok(&deep[1..]));
}
