//! The wasm surface of `keycloak-wasm/authz`'s own module (the feature `authz`): the same
//! buffers as the adapter's (`src/io.rs`: `kw_input`, `kw_out`), around
//! [`crate::authz::Authz`]. `kw_step` returns the length of the effects text.

use crate::authz::Authz;
use crate::io::{self, Global};

static AUTHZ: Global<Option<Authz>> = Global::new(None);

/// Handles the input (`len` bytes written); returns the length of the effects text.
#[no_mangle]
pub extern "C" fn kw_step(len: usize) -> usize {
    let out = AUTHZ.get().get_or_insert_with(Authz::new).handle(io::input(len));
    io::output(out)
}
