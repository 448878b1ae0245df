//! keycloak-wasm: a drop-in replacement for keycloak-js with a Rust core.
//!
//! * [`core`]: pure helpers (encodings, PKCE, JWT payloads, callback parsing, URLs,
//!   options, errors).
//! * [`machine`]: the whole adapter as one synchronous state machine: inputs in, effects
//!   out, no clock, randomness or JavaScript value inside (tested natively).
//! * `wasm` (wasm32 only): the exports the JavaScript driver in `pkg/` calls; marshalling
//!   only.
//!
//! The crate is `no_std` (with `alloc`): the shipped wasm carries no formatting or
//! panic machinery.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod core;
pub mod machine;

#[cfg(target_arch = "wasm32")]
mod heap;
#[cfg(target_arch = "wasm32")]
mod wasm;
