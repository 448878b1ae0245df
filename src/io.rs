//! What both wasm surfaces (`src/wasm.rs`, the adapter's; `src/wasm_authz.rs`,
//! keycloak-wasm/authz's) share: the input buffer the JavaScript side writes into
//! (`kw_input`), the output text it reads (`kw_out`), and a cell for their statics.

use alloc::vec::Vec;
use core::cell::UnsafeCell;

/// A static for one thread: a page's main thread runs the module, and the JavaScript side
/// never re-enters an export while another one runs.
pub(crate) struct Global<T>(UnsafeCell<T>);

unsafe impl<T> Sync for Global<T> {}

impl<T> Global<T> {
    pub(crate) const fn new(value: T) -> Global<T> {
        Global(UnsafeCell::new(value))
    }

    #[allow(clippy::mut_from_ref)]
    pub(crate) fn get(&self) -> &mut T {
        unsafe { &mut *self.0.get() }
    }
}

static INPUT: Global<Vec<u8>> = Global::new(Vec::new());
static OUT: Global<Vec<u8>> = Global::new(Vec::new());

/// A buffer of `len` bytes for the next input.
#[no_mangle]
pub extern "C" fn kw_input(len: usize) -> *mut u8 {
    let input = INPUT.get();
    input.clear();
    input.resize(len, 0);
    input.as_mut_ptr()
}

/// The output text of the last step.
#[no_mangle]
pub extern "C" fn kw_out() -> *const u8 {
    OUT.get().as_ptr()
}

/// The input's first `len` bytes as text.
pub(crate) fn input(len: usize) -> &'static str {
    let input = INPUT.get();
    // Written with TextEncoder, which only produces UTF-8.
    unsafe { core::str::from_utf8_unchecked(&input[..len.min(input.len())]) }
}

/// Keeps `text` for `kw_out`; returns its length.
pub(crate) fn output(text: &str) -> usize {
    let out = OUT.get();
    out.clear();
    out.extend_from_slice(text.as_bytes());
    out.len()
}
