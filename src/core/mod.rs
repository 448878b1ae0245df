//! The pure core of keycloak-wasm: everything that can be decided without a browser.
//!
//! Nothing in here touches `web-sys`; it compiles and is tested natively (`cargo test`).
//! The browser layer (`crate::browser`) feeds it strings, numbers and random bytes and
//! carries out what it decides (navigation, storage writes, fetches).
//!
//! Numbers that end up in user-visible text are formatted by the browser (JavaScript's
//! `Number#toString`), not here: float formatting would add kilobytes to the wasm.

pub mod adapter;
pub mod callback;
pub mod encode;
pub mod endpoints;
pub mod error;
pub mod iframe;
pub mod jwt;
pub mod login_url;
pub mod options;
pub mod pkce;
pub mod session;
pub mod storage;

pub use error::CoreError;
