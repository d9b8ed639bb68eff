//! The HTTP engine's errors: why a request could not be read (each maps to
//! the status the server answers with), why a body stream failed, and why
//! the server could not start.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a request head was refused. [`ParseError::status`] is the status the
/// server answers with before it closes the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The request line or a header line does not follow RFC 9112 (what is
    /// wrong is named).
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    /// A line ends in a bare LF instead of CRLF (refused: see
    /// `docs/design/http-server.md`, "Bare LF and obs-fold").
    #[error("a line of the request head ends in a bare LF")]
    BareLf,
    /// A header value continues on the next line (obs-fold, refused).
    #[error("obsolete line folding (obs-fold) in a header")]
    ObsFold,
    /// The header section is larger than the limit.
    #[error("request head larger than {limit} bytes")]
    HeadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// More header fields than the limit.
    #[error("more than {limit} header fields")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// The request target is longer than the limit.
    #[error("request target longer than {limit} bytes")]
    UriTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// Not HTTP/1.0 or HTTP/1.1.
    #[error("HTTP version not supported")]
    UnsupportedVersion,
    /// Both `Content-Length` and `Transfer-Encoding` (a smuggling vector).
    #[error("both Content-Length and Transfer-Encoding")]
    LengthAndTransferEncoding,
    /// More than one `Content-Length` field or list element, even if equal.
    #[error("more than one Content-Length")]
    DuplicateContentLength,
    /// A `Content-Length` that is not 1 to 19 decimal digits.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// A transfer coding other than `chunked` alone.
    #[error("transfer coding not implemented (only `chunked` is)")]
    UnsupportedTransferCoding,
    /// `chunked` twice, or not the final coding.
    #[error("invalid Transfer-Encoding")]
    InvalidTransferEncoding,
    /// `Transfer-Encoding` in an HTTP/1.0 request (RFC 9112 §6.1: faulty
    /// framing).
    #[error("Transfer-Encoding in an HTTP/1.0 request")]
    TransferEncodingInHttp10,
    /// An HTTP/1.1 request without `Host`, or with more than one.
    #[error("missing or repeated Host")]
    BadHost,
    /// An `Expect` other than `100-continue`.
    #[error("unsupported expectation")]
    ExpectationFailed,
    /// The declared body is larger than the limit.
    #[error("request body larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
}

impl ParseError {
    /// The status code the server answers with.
    pub const fn status(self) -> u16 {
        match self {
            Self::HeadTooLarge { .. } | Self::TooManyHeaders { .. } => 431,
            Self::UriTooLong { .. } => 414,
            Self::UnsupportedVersion => 505,
            Self::UnsupportedTransferCoding => 501,
            Self::ExpectationFailed => 417,
            Self::BodyTooLarge { .. } => 413,
            Self::Malformed(_)
            | Self::BareLf
            | Self::ObsFold
            | Self::LengthAndTransferEncoding
            | Self::DuplicateContentLength
            | Self::InvalidContentLength
            | Self::InvalidTransferEncoding
            | Self::TransferEncodingInHttp10
            | Self::BadHost => 400,
        }
    }
}

/// Why a message body could not be read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// A chunk size that is not 1 to 16 hex digits (or overflows).
    #[error("invalid chunk size")]
    InvalidChunkSize,
    /// A chunk-size line (with its extensions) longer than the limit.
    #[error("chunk-size line too long")]
    ChunkLineTooLong,
    /// Chunk data not followed by CRLF, or a bare LF or CR in framing.
    #[error("chunk framing: expected CRLF")]
    BadChunkFraming,
    /// A trailer field that is not a valid header line.
    #[error("invalid trailer section")]
    InvalidTrailers,
    /// The trailer section is larger than the head limit.
    #[error("trailer section larger than {limit} bytes")]
    TrailersTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is larger than the limit.
    #[error("body larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The peer closed the connection before the body ended.
    #[error("connection closed before the body ended")]
    Truncated,
    /// No body bytes arrived within the body timeout.
    #[error("body read timed out")]
    Timeout,
    /// A socket or TLS error while reading or writing.
    #[error("I/O error on the body: {0:?}")]
    Io(io::ErrorKind),
    /// A response body produced more or fewer bytes than it declared.
    #[error("response body length differs from its Content-Length")]
    LengthMismatch,
    /// The producer of a response body failed.
    #[error("the response body's producer failed")]
    Producer,
}

impl BodyError {
    /// The status to answer with when this error ends a request before a
    /// response was started.
    pub const fn status(self) -> u16 {
        match self {
            Self::TooLarge { .. } => 413,
            Self::TrailersTooLarge { .. } => 431,
            Self::Timeout => 408,
            _ => 400,
        }
    }
}

/// Why the server (or a connection's set-up) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A request head was refused.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A body failed.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// Binding or configuring a listening socket failed.
    #[error("listening on {addr}: {source}")]
    Bind {
        /// The address.
        addr: Box<SocketAddr>,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A TLS certificate or key file could not be read or used.
    #[error(transparent)]
    Tls(Box<TlsFileError>),
    /// An invalid server setting (which one and why).
    #[error("invalid server setting: {0}")]
    Config(&'static str),
    /// Setting up a thread's I/O backend failed.
    #[error("I/O backend: {0}")]
    Backend(#[source] Box<ringwasm_reactor::Error>),
    /// Starting a server thread failed.
    #[error("starting a server thread: {0}")]
    Thread(#[source] io::Error),
}

/// A certificate or key file that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("TLS {what} {}: {reason}", path.display())]
pub struct TlsFileError {
    /// `certificate` or `key`.
    pub what: &'static str,
    /// The file.
    pub path: PathBuf,
    /// What was wrong.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_size() {
        assert!(size_of::<Error>() <= 24, "{}", size_of::<Error>());
        assert!(size_of::<ParseError>() <= 24);
        assert!(size_of::<BodyError>() <= 16);
    }

    #[test]
    fn limits_map_to_their_statuses() {
        assert_eq!(ParseError::HeadTooLarge { limit: 1 }.status(), 431);
        assert_eq!(ParseError::TooManyHeaders { limit: 1 }.status(), 431);
        assert_eq!(ParseError::UriTooLong { limit: 1 }.status(), 414);
        assert_eq!(ParseError::BodyTooLarge { limit: 1 }.status(), 413);
        assert_eq!(ParseError::LengthAndTransferEncoding.status(), 400);
        assert_eq!(ParseError::UnsupportedTransferCoding.status(), 501);
        assert_eq!(BodyError::Timeout.status(), 408);
        assert_eq!(BodyError::TooLarge { limit: 1 }.status(), 413);
    }
}
