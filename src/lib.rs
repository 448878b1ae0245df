//! keycloak-wasm: a drop-in replacement for keycloak-js with a Rust core.
//!
//! * [`core`]: pure logic, no browser APIs, tested natively.
//! * `browser` (wasm32 only): the thin layer over web APIs.
//! * `api` (wasm32 only): the wasm-bindgen surface used by the JS facade in `pkg/`.

pub mod core;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod browser;
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod api;
