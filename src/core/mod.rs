//! The pure core of keycloak-wasm: everything that can be decided without a browser.
//!
//! Nothing in here knows the browser; it compiles and is tested natively (`cargo test`).
//! The state machine (`crate::machine`) builds every flow from these pieces.
//!
//! Numbers that end up in user-visible text are formatted by the browser (JavaScript's
//! `Number#toString`), not here: float formatting would add kilobytes to the wasm.

pub mod adapter;
pub mod b64;
pub mod callback;
pub mod encode;
pub mod endpoints;
pub mod error;
pub mod iframe;
pub mod json;
pub mod jwt;
pub mod login_url;
pub mod math;
pub mod options;
pub mod pkce;
pub mod session;
pub mod sha256;
pub mod storage;

pub use error::CoreError;
