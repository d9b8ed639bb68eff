//! The HTTP/1.1 engine of `ringwasm serve`: a hardened server on the
//! reactor, thread per core, with TLS through rustls' unbuffered API.
//!
//! - [`h1`]: the codec (parse, body, encode), shared with the outbound
//!   client of issue #18; it owns no socket.
//! - [`limits`]: every limit with its default and status.
//! - [`handler`]: what the wasi:http glue implements, [`Handler`], and the
//!   request and response body types.
//! - [`server`]: listeners, threads, connections, drain.
//! - [`tls`]: certificates and the record-by-record TLS transport.
//! - [`metrics`]: Prometheus counters, one block per thread.
//! - [`wasi`]: wasi:http 0.2, the `types` host and the proxy glue.
//!
//! Design notes: `docs/design/http-server.md`.

pub mod error;
pub mod h1;
pub mod handler;
pub mod limits;
pub mod metrics;
pub mod server;
pub mod tls;
pub mod wasi;

pub use error::{BodyError, Error, ParseError};
pub use handler::{
    BodyBuf, BodyChannel, BodySender, BodySize, Empty, Full, Handler, HandlerError, Request,
    RequestBody, Response, ResponseBody, Scheme,
};
pub use limits::Limits;
pub use metrics::Metrics;
pub use server::{Server, ServerConfig, ShutdownHandle};
