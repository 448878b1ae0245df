//! The wasm surface: a handful of exports over linear memory, no JavaScript values.
//!
//! The driver writes an input (UTF-8 JSON) into the buffer `kw_input(len)` returns and
//! fills the 128 bytes at `kw_rand()` with `crypto.getRandomValues` (or leaves `kw_step`'s
//! `rand` at 0 when the Web Crypto API is missing); `kw_step` returns the length of the
//! effects text at `kw_out()`, whose out-of-line numbers are at `kw_nums()`.

use crate::machine::Machine;
use alloc::vec::Vec;
use core::cell::UnsafeCell;

struct State {
    machine: Option<Machine>,
    input: Vec<u8>,
    rand: [u8; 128],
    out: Vec<u8>,
    nums: Vec<f64>,
}

struct Global(UnsafeCell<State>);

// The adapter runs on one thread (a page's main thread); the driver never re-enters an
// export while another one runs.
unsafe impl Sync for Global {}

static STATE: Global = Global(UnsafeCell::new(State { machine: None, input: Vec::new(), rand: [0; 128], out: Vec::new(), nums: Vec::new() }));

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

#[no_mangle]
pub extern "C" fn kw_rand() -> *mut u8 {
    state().rand.as_mut_ptr()
}

/// Handles the input (`len` bytes written); returns the length of the effects text.
#[no_mangle]
pub extern "C" fn kw_step(len: usize, rand: u32) -> usize {
    let s = state();
    // The driver writes it with TextEncoder, which only produces UTF-8.
    let text = unsafe { core::str::from_utf8_unchecked(&s.input[..len.min(s.input.len())]) };
    let m = s.machine.get_or_insert_with(Machine::new);
    let r = if rand != 0 { Some(s.rand) } else { None };
    let w = m.handle(text, r);
    s.out.clear();
    s.out.extend_from_slice(w.s.as_bytes());
    s.nums.clear();
    s.nums.extend_from_slice(&w.nums);
    s.out.len()
}

#[no_mangle]
pub extern "C" fn kw_out() -> *const u8 {
    state().out.as_ptr()
}

#[no_mangle]
pub extern "C" fn kw_nums() -> *const f64 {
    state().nums.as_ptr()
}

#[no_mangle]
pub extern "C" fn kw_numc() -> usize {
    state().nums.len()
}

/// When the driver should next deliver a `tick` (epoch ms), or -1.
#[no_mangle]
pub extern "C" fn kw_deadline() -> f64 {
    state().machine.as_ref().and_then(|m| m.deadline()).unwrap_or(-1.0)
}
