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

// Single-threaded: the adapter runs on the page's main thread only (no wasm threads).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
