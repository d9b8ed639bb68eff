//! wasi:http 0.2 for `ringwasm serve`: the `wasi:http/types` host
//! ([`types`]), the bodies as wasi:io streams ([`body`]), and the glue that
//! serves a `wasi:http/proxy` component through the server's [`Handler`]
//! ([`proxy`]). Bindings are generated from the `wasip2` crate's WIT with
//! the rest of WASI 0.2 (`crate::p2::bindings::wasi::http`).
//!
//! `outgoing-handler.handle` is linked and refuses every request with
//! `HTTP-request-denied`: outbound HTTP is issue #18. The 0.3
//! `wasi:http/service` world needs the component model's async ABI (issue
//! #16) and is refused when a component is loaded.
//!
//! [`Handler`]: crate::http::Handler

pub mod body;
pub mod proxy;
pub mod types;

use ringwasm_jit::component::Linker;

use crate::ctx::WasiCtx;

pub use crate::p2::bindings::wasi::http::types::ErrorCode;
pub use proxy::{GuestBody, ProxyConfig, ProxyHandler, ProxyState, incoming_handler_export};
pub use types::{
    Fields, FutureTrailers, IncomingBody, IncomingRequest, OutgoingBody, OutgoingRequest,
    OutgoingResponse, RequestOptions, ResponseOutparam,
};

/// Why a component cannot be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The component exports `wasi:http/handler` 0.3 (`wasi:http/service`).
    #[error(
        "the component is a `wasi:http/service` 0.3 handler: WASI 0.3 needs the \
         component model's async ABI, which ringwasm does not have yet (issue #16); \
         only `wasi:http/proxy` 0.2 components (exporting \
         `wasi:http/incoming-handler@0.2.x`) can be served"
    )]
    Service03,
    /// The component exports no HTTP handler.
    #[error(
        "the component does not export `wasi:http/incoming-handler@0.2.x`, so it is \
         not a `wasi:http/proxy` component (its exports: {exports})"
    )]
    NotAProxy {
        /// What it exports.
        exports: String,
    },
    /// Linking failed (an import ringwasm does not provide, say).
    #[error(transparent)]
    Link(ringwasm_jit::Error),
}

/// Add what a `wasi:http/proxy` component imports to `linker`: the proxy
/// world's interfaces (wasi:io, the clocks, random, stdin/stdout/stderr,
/// `wasi:http/types` and `outgoing-handler`), or with `cli` (`-S cli`)
/// every WASI 0.2 interface ringwasm implements.
///
/// # Errors
///
/// When a name is already defined.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut WasiCtx,
    cli: bool,
) -> Result<(), ringwasm_jit::Error> {
    use crate::p2::bindings::wasi;
    if cli {
        crate::p2::add_to_linker(linker, get)?;
    } else {
        wasi::io::error::add_to_linker(linker, get)?;
        wasi::io::poll::add_to_linker(linker, get)?;
        wasi::io::streams::add_to_linker(linker, get)?;
        wasi::clocks::monotonic_clock::add_to_linker(linker, get)?;
        wasi::clocks::wall_clock::add_to_linker(linker, get)?;
        wasi::random::random::add_to_linker(linker, get)?;
        wasi::cli::stdin::add_to_linker(linker, get)?;
        wasi::cli::stdout::add_to_linker(linker, get)?;
        wasi::cli::stderr::add_to_linker(linker, get)?;
    }
    wasi::http::types::add_to_linker(linker, get)?;
    wasi::http::outgoing_handler::add_to_linker(linker, get)?;
    Ok(())
}
