//! The wasm surface: a handful of exports over linear memory, no JavaScript values.
//!
//! The driver writes an input (UTF-8 JSON) into the buffer `kw_input(len)` returns and
//! fills the 128 bytes at `kw_rand()` with `crypto.getRandomValues` (or leaves `kw_step`'s
//! `rand` at 0 when the Web Crypto API is missing); `kw_step` returns the length of the
//! effects text at `kw_out()` (`kw_input` and `kw_out`: `src/io.rs`), whose out-of-line
//! numbers are at `kw_nums()`.

use crate::io::{self, Global};
use crate::machine::Machine;
use alloc::vec::Vec;

struct State {
    machine: Option<Machine>,
    rand: [u8; 128],
    nums: Vec<f64>,
}

static STATE: Global<State> = Global::new(State { machine: None, rand: [0; 128], nums: Vec::new() });

#[no_mangle]
pub extern "C" fn kw_rand() -> *mut u8 {
    STATE.get().rand.as_mut_ptr()
}

/// Handles the input (`len` bytes written); returns the length of the effects text.
#[no_mangle]
pub extern "C" fn kw_step(len: usize, rand: u32) -> usize {
    let s = STATE.get();
    let m = s.machine.get_or_insert_with(Machine::new);
    let r = if rand != 0 { Some(s.rand) } else { None };
    let w = m.handle(io::input(len), r);
    s.nums.clear();
    s.nums.extend_from_slice(&w.nums);
    io::output(&w.s)
}

#[no_mangle]
pub extern "C" fn kw_nums() -> *const f64 {
    STATE.get().nums.as_ptr()
}

#[no_mangle]
pub extern "C" fn kw_numc() -> usize {
    STATE.get().nums.len()
}

/// When the driver should next deliver a `tick` (epoch ms), or -1.
#[no_mangle]
pub extern "C" fn kw_deadline() -> f64 {
    STATE.get().machine.as_ref().and_then(|m| m.deadline()).unwrap_or(-1.0)
}
