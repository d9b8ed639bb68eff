//! The server's limits: each a named default, the status it answers with
//! when exceeded, and a field of [`Limits`] that `ringwasm serve` exposes as
//! a flag. The table in `docs/design/http-server.md` lists them all.

use std::time::Duration;

/// Default largest request head (request line + header fields + CRLFs);
/// more gives **431**. nginx's `large_client_header_buffers` is 4 × 8 KiB.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Default largest number of header fields; more gives **431** (hyper: 100).
pub const MAX_HEADERS: usize = 100;
/// The most header fields the parser can be set to accept.
pub const MAX_HEADERS_CEILING: usize = 256;
/// Default longest request target; longer gives **414** (nginx: 8 KiB with
/// the request line).
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Default largest request body; larger gives **413** (declared:
/// before the body is read; chunked: when the sum passes it).
pub const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;
/// Default time from the first byte of a request to the end of its head;
/// longer gives **408** and closes the connection (slowloris).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time an idle keep-alive connection may wait for its next
/// request's first byte; then it is closed without a response.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default longest wait for the next bytes of a request body; longer gives
/// **408** if no response was started, else closes.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default longest wait for the client to take response bytes (a slow or
/// stalled reader); then the connection is closed.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Default most open connections over all threads; a connection beyond it
/// is answered **503** and closed at once.
pub const MAX_CONNECTIONS: usize = 10_000;
/// Default longest TLS handshake; then the connection is closed.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time in-flight requests get to finish after SIGTERM/SIGINT.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest chunk-size line (size and extensions) accepted in a chunked
/// body; longer gives **400**.
pub const MAX_CHUNK_LINE: usize = 4096;
/// Request-body bytes the server reads and discards after a response so
/// the connection can be kept alive; a larger unread rest closes it.
pub const MAX_DISCARD_BYTES: u64 = 64 * 1024;

/// Every limit of one server. [`Limits::default`] gives the constants of
/// this module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// See [`MAX_HEAD_BYTES`].
    pub max_head_bytes: usize,
    /// See [`MAX_HEADERS`]; at most [`MAX_HEADERS_CEILING`].
    pub max_headers: usize,
    /// See [`MAX_URI_BYTES`].
    pub max_uri_bytes: usize,
    /// See [`MAX_BODY_BYTES`].
    pub max_body_bytes: u64,
    /// See [`HEADER_TIMEOUT`].
    pub header_timeout: Duration,
    /// See [`IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// See [`BODY_TIMEOUT`].
    pub body_timeout: Duration,
    /// See [`SEND_TIMEOUT`].
    pub send_timeout: Duration,
    /// See [`MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// See [`TLS_HANDSHAKE_TIMEOUT`].
    pub tls_handshake_timeout: Duration,
    /// See [`DRAIN_TIMEOUT`].
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head_bytes: MAX_HEAD_BYTES,
            max_headers: MAX_HEADERS,
            max_uri_bytes: MAX_URI_BYTES,
            max_body_bytes: MAX_BODY_BYTES,
            header_timeout: HEADER_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            body_timeout: BODY_TIMEOUT,
            send_timeout: SEND_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            tls_handshake_timeout: TLS_HANDSHAKE_TIMEOUT,
            drain_timeout: DRAIN_TIMEOUT,
        }
    }
}

impl Limits {
    /// Checks the limits make sense together.
    ///
    /// # Errors
    ///
    /// [`crate::http::Error::Config`] naming the offending limit.
    pub fn validate(&self) -> Result<(), crate::http::Error> {
        use crate::http::Error::Config;
        if self.max_headers == 0 || self.max_headers > MAX_HEADERS_CEILING {
            return Err(Config("max-headers must be 1 to 256"));
        }
        if self.max_head_bytes < 64 {
            return Err(Config("max-header-bytes must be at least 64"));
        }
        if self.max_uri_bytes == 0 || self.max_uri_bytes > self.max_head_bytes {
            return Err(Config("max-uri-bytes must be 1 to max-header-bytes"));
        }
        if self.max_connections == 0 {
            return Err(Config("max-connections must be at least 1"));
        }
        let timeouts = [
            self.header_timeout,
            self.idle_timeout,
            self.body_timeout,
            self.send_timeout,
            self.tls_handshake_timeout,
        ];
        if timeouts.iter().any(Duration::is_zero) {
            return Err(Config("timeouts must be longer than zero"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert!(Limits::default().validate().is_ok());
        let bad = Limits {
            max_headers: 1000,
            ..Limits::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(crate::http::Error::Config(m)) if m.contains("max-headers")
        ));
        let zero = Limits {
            idle_timeout: Duration::ZERO,
            ..Limits::default()
        };
        assert!(zero.validate().is_err());
    }
}
