//! The wasm surface of `keycloak-wasm/authz`'s own module (the feature `authz`): the same
//! three buffers as the adapter's (`src/wasm.rs`), around [`crate::authz::Authz`].
//!
//! The entry writes an input (UTF-8 JSON) into the buffer `kw_input(len)` returns;
//! `kw_step` returns the length of the effects text at `kw_out()`.

use crate::authz::Authz;
use alloc::vec::Vec;
use core::cell::UnsafeCell;

struct State {
    authz: Option<Authz>,
    input: Vec<u8>,
    out: Vec<u8>,
}

struct Global(UnsafeCell<State>);

// One thread (a page's main thread); the entry never re-enters an export.
unsafe impl Sync for Global {}

static STATE: Global = Global(UnsafeCell::new(State { authz: None, input: Vec::new(), out: Vec::new() }));

fn state() -> &'static mut State {
    unsafe { &mut *STATE.0.get() }
}

/// A buffer of `len` bytes for the next input.
#[no_mangle]
pub extern "C" fn kw_input(len: usize) -> *mut u8 {
    let s = state();
    s.input.clear();
    s.input.resize(len, 0);
    s.input.as_mut_ptr()
}

/// Handles the input (`len` bytes written); returns the length of the effects text.
#[no_mangle]
pub extern "C" fn kw_step(len: usize) -> usize {
    let s = state();
    // The entry writes it with TextEncoder, which only produces UTF-8.
    let text = unsafe { core::str::from_utf8_unchecked(&s.input[..len.min(s.input.len())]) };
    let out = s.authz.get_or_insert_with(Authz::new).handle(text);
    s.out.clear();
    s.out.extend_from_slice(out.as_bytes());
    s.out.len()
}

#[no_mangle]
pub extern "C" fn kw_out() -> *const u8 {
    state().out.as_ptr()
}
