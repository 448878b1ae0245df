//! keycloak-wasm: a drop-in replacement for keycloak-js with a Rust core.
//!
//! * [`core`]: pure helpers (encodings, PKCE, JWT payloads, callback parsing, URLs,
//!   options, errors).
//! * [`machine`]: the whole adapter as one synchronous state machine: inputs in, effects
//!   out, no clock, randomness or JavaScript value inside (tested natively).
//! * [`authz`]: `keycloak-wasm/authz`'s own small machine (UMA requests), built as a wasm
//!   of its own (the feature `authz`).
//! * `wasm` (wasm32 only): the exports the JavaScript driver in `pkg/` calls; marshalling
//!   only. `wasm_authz`: the authz build's exports instead.
//!
//! The crate is `no_std` (with `alloc`): the shipped wasm carries no formatting or
//! panic machinery.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod authz;
pub mod core;
pub mod machine;

#[cfg(target_arch = "wasm32")]
mod heap;
#[cfg(target_arch = "wasm32")]
mod io;
#[cfg(all(target_arch = "wasm32", not(feature = "authz")))]
mod wasm;
#[cfg(all(target_arch = "wasm32", feature = "authz"))]
mod wasm_authz;
