//! How a host function waits: inside an async call (`ringwasm serve`, a
//! WASI 0.3 task) it suspends the guest's fiber so the thread runs other
//! work until the future is ready; otherwise it runs the thread's reactor
//! until the future is ready. Host functions never choose: they call
//! [`block_on`].

use std::future::Future;

use ringwasm_jit::{AsyncCx, Trap};
use ringwasm_reactor::inline::Inline;

/// Wait for `future` (see the module docs).
///
/// # Errors
///
/// A trap when the async call waiting is cancelled.
pub fn block_on<F: Future>(inline: &Inline, future: F) -> Result<F::Output, Trap> {
    match AsyncCx::current() {
        Some(cx) => cx.block_on(future),
        None => Ok(inline.driver().block_on(future)),
    }
}
