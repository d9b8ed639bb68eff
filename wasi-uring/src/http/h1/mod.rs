//! The HTTP/1.1 codec: bytes in, heads and body data out, and back. It owns
//! no socket and no timer, so the server ([`crate::http::server`]) and the
//! outbound client (issue #18) drive it over any transport.
//!
//! - [`parse`]: request heads with httparse plus the RFC 9112 checks where
//!   request smuggling lives (framing, bare LF, obs-fold, limits).
//! - [`body`]: the body decoder, a small state machine over
//!   `Content-Length` and chunked framing with trailers.
//! - [`encode`]: response heads, chunk framing, the `Date` value.

pub mod body;
pub mod encode;
pub mod parse;

pub use body::{Decoded, Decoder};
pub use encode::{ResponseFraming, http_date, reason_phrase};
pub use parse::{BodyKind, Framing, Header, RequestHead, Version, parse_request};
