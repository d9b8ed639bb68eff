//! An incremental HTTP/1.1 response parser: `httparse` for the head, then
//! the body framed by `Content-Length`, `Transfer-Encoding: chunked` or the
//! end of the connection. Bodies are counted, never stored.

use std::fmt;

/// Longest head (status line plus headers) accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 4096;
/// Most headers accepted in one response.
const MAX_HEADERS: usize = 64;

/// Why a response could not be parsed, and at which byte of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Offset from the first byte of the response.
    pub offset: u64,
    /// What was wrong.
    pub reason: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed HTTP response at byte {}: {}",
            self.offset, self.reason
        )
    }
}

impl std::error::Error for ParseError {}

/// A complete response, as far as the load generator cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Whether the connection may carry another request.
    pub keep_alive: bool,
    /// Bytes of body (after de-chunking).
    pub body_len: u64,
    /// Bytes of the whole response on the wire.
    pub wire_len: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// Reading the hex size line.
    Size,
    /// Inside chunk data, this many bytes left.
    Data(u64),
    /// Expecting the CRLF after chunk data; how many of its bytes were seen.
    DataEnd(u8),
    /// Reading trailer lines after the last chunk.
    Trailer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Head,
    Length(u64),
    Chunked(Chunk),
    UntilClose,
}

/// Parses one response after another from a byte stream.
#[derive(Debug)]
pub struct ResponseParser {
    state: State,
    head: Vec<u8>,
    line: Vec<u8>,
    status: u16,
    keep_alive: bool,
    body_len: u64,
    wire_len: u64,
    head_request: bool,
}

impl Default for ResponseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponseParser {
    /// A parser expecting the start of a response.
    pub fn new() -> Self {
        Self {
            state: State::Head,
            head: Vec::new(),
            line: Vec::new(),
            status: 0,
            keep_alive: true,
            body_len: 0,
            wire_len: 0,
            head_request: false,
        }
    }

    /// Tells the parser the next response answers a `HEAD` request (it has
    /// no body whatever its headers say).
    pub fn expect_head_response(&mut self, head: bool) {
        self.head_request = head;
    }

    /// Whether no byte of the current response has been seen.
    pub fn is_idle(&self) -> bool {
        self.state == State::Head && self.head.is_empty()
    }

    /// Feeds bytes. Returns how many bytes were consumed and the response
    /// they completed, if any; call again with the rest when a response
    /// completes before the input ends.
    ///
    /// # Errors
    ///
    /// [`ParseError`] when the bytes are not a valid HTTP/1.1 response.
    pub fn feed(&mut self, data: &[u8]) -> Result<(usize, Option<Response>), ParseError> {
        let mut used = 0;
        while used < data.len() {
            let rest = &data[used..];
            match self.state {
                State::Head => {
                    let (n, done) = self.feed_head(rest)?;
                    used += n;
                    if done && let Some(r) = self.finish_if_bodyless() {
                        return Ok((used, Some(r)));
                    }
                }
                State::Length(left) => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
                    self.body(n);
                    used += n;
                    let left = left - n as u64;
                    self.state = State::Length(left);
                    if left == 0 {
                        return Ok((used, Some(self.finish())));
                    }
                }
                State::Chunked(chunk) => {
                    let (n, done) = self.feed_chunked(chunk, rest)?;
                    used += n;
                    if done {
                        return Ok((used, Some(self.finish())));
                    }
                }
                State::UntilClose => {
                    self.body(rest.len());
                    used = data.len();
                }
            }
        }
        Ok((used, None))
    }

    /// Tells the parser the peer closed the connection. Returns the response
    /// that the close completed (a body delimited by the end of the
    /// connection), `None` if no response was in progress.
    ///
    /// # Errors
    ///
    /// [`ParseError`] when the close cut a response short.
    pub fn eof(&mut self) -> Result<Option<Response>, ParseError> {
        match self.state {
            State::UntilClose => {
                self.keep_alive = false;
                Ok(Some(self.finish()))
            }
            State::Head if self.head.is_empty() => Ok(None),
            _ => Err(self.error("connection closed before the response was complete")),
        }
    }

    fn error(&self, reason: &'static str) -> ParseError {
        ParseError {
            offset: self.wire_len,
            reason,
        }
    }

    fn body(&mut self, n: usize) {
        self.body_len += n as u64;
        self.wire_len += n as u64;
    }

    fn feed_head(&mut self, rest: &[u8]) -> Result<(usize, bool), ParseError> {
        let before = self.head.len();
        let take = rest.len().min(MAX_HEAD + 1 - before);
        self.head.extend_from_slice(&rest[..take]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut headers);
        let parsed = match resp.parse(&self.head) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                if self.head.len() > MAX_HEAD {
                    return Err(self.error("response head larger than 64 KiB"));
                }
                self.wire_len += take as u64;
                return Ok((take, false));
            }
            Err(_) => {
                return Err(ParseError {
                    offset: self.wire_len,
                    reason: "invalid status line or header",
                });
            }
        };
        let status = resp.code.unwrap_or(0);
        let http10 = resp.version == Some(0);
        let mut keep_alive = !http10;
        let mut length = None;
        let mut chunked = false;
        for h in resp.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let v = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .ok_or(ParseError {
                        offset: self.wire_len,
                        reason: "invalid Content-Length",
                    })?;
                if length.is_some_and(|l| l != v) {
                    return Err(self.error("conflicting Content-Length headers"));
                }
                length = Some(v);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = h
                    .value
                    .split(|&b| b == b',')
                    .next_back()
                    .is_some_and(|v| v.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            } else if h.name.eq_ignore_ascii_case("connection") {
                for token in h.value.split(|&b| b == b',') {
                    let t = token.trim_ascii();
                    if t.eq_ignore_ascii_case(b"close") {
                        keep_alive = false;
                    } else if t.eq_ignore_ascii_case(b"keep-alive") && http10 {
                        keep_alive = true;
                    }
                }
            }
        }
        let consumed = parsed - before;
        self.wire_len += consumed as u64;
        self.head.clear();
        self.status = status;
        self.keep_alive = keep_alive;
        let bodyless =
            self.head_request || (100..200).contains(&status) || status == 204 || status == 304;
        self.state = if bodyless {
            State::Length(0)
        } else if chunked {
            State::Chunked(Chunk::Size)
        } else if let Some(len) = length {
            State::Length(len)
        } else {
            self.keep_alive = false;
            State::UntilClose
        };
        Ok((consumed, true))
    }

    fn finish_if_bodyless(&mut self) -> Option<Response> {
        if self.state == State::Length(0) {
            if (100..200).contains(&self.status) {
                // An interim response: the real one follows on the wire.
                self.state = State::Head;
                return None;
            }
            return Some(self.finish());
        }
        None
    }

    fn finish(&mut self) -> Response {
        let r = Response {
            status: self.status,
            keep_alive: self.keep_alive,
            body_len: self.body_len,
            wire_len: self.wire_len,
        };
        self.state = State::Head;
        self.status = 0;
        self.keep_alive = true;
        self.body_len = 0;
        self.wire_len = 0;
        self.head_request = false;
        r
    }

    /// Takes one line (ending in LF) into `self.line`; returns bytes used
    /// and whether the line is complete (without its CRLF).
    fn take_line(&mut self, rest: &[u8]) -> Result<(usize, bool), ParseError> {
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.line.extend_from_slice(&rest[..i]);
                if self.line.last() == Some(&b'\r') {
                    self.line.pop();
                }
                self.wire_len += i as u64 + 1;
                Ok((i + 1, true))
            }
            None => {
                self.line.extend_from_slice(rest);
                self.wire_len += rest.len() as u64;
                if self.line.len() > MAX_LINE {
                    return Err(self.error("chunk-size or trailer line too long"));
                }
                Ok((rest.len(), false))
            }
        }
    }

    fn feed_chunked(&mut self, chunk: Chunk, rest: &[u8]) -> Result<(usize, bool), ParseError> {
        match chunk {
            Chunk::Size => {
                let (n, complete) = self.take_line(rest)?;
                if complete {
                    let size_text = self.line.split(|&b| b == b';').next().unwrap_or(&[]);
                    let size = std::str::from_utf8(size_text)
                        .ok()
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .and_then(|s| u64::from_str_radix(s, 16).ok())
                        .ok_or(ParseError {
                            offset: self.wire_len,
                            reason: "invalid chunk size",
                        })?;
                    self.line.clear();
                    self.state = State::Chunked(if size == 0 {
                        Chunk::Trailer
                    } else {
                        Chunk::Data(size)
                    });
                }
                Ok((n, false))
            }
            Chunk::Data(left) => {
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
                self.body(n);
                let left = left - n as u64;
                self.state = State::Chunked(if left == 0 {
                    Chunk::DataEnd(0)
                } else {
                    Chunk::Data(left)
                });
                Ok((n, false))
            }
            Chunk::DataEnd(seen) => {
                let expected = if seen == 0 { b'\r' } else { b'\n' };
                if rest[0] != expected {
                    return Err(self.error("chunk data not followed by CRLF"));
                }
                self.wire_len += 1;
                self.state = State::Chunked(if seen == 0 {
                    Chunk::DataEnd(1)
                } else {
                    Chunk::Size
                });
                Ok((1, false))
            }
            Chunk::Trailer => {
                let (n, complete) = self.take_line(rest)?;
                if complete {
                    let empty = self.line.is_empty();
                    self.line.clear();
                    return Ok((n, empty));
                }
                Ok((n, false))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `wire` in pieces of `step` bytes and collects the responses.
    fn parse_all(wire: &[u8], step: usize) -> Result<Vec<Response>, ParseError> {
        let mut p = ResponseParser::new();
        let mut out = Vec::new();
        for piece in wire.chunks(step) {
            let mut off = 0;
            while off < piece.len() {
                let (n, r) = p.feed(&piece[off..])?;
                off += n;
                out.extend(r);
            }
        }
        out.extend(p.eof()?);
        Ok(out)
    }

    const CL: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: y\r\n\r\n";

    #[test]
    fn content_length_body_in_any_split() {
        for step in 1..CL.len() + 1 {
            let r = parse_all(CL, step).expect("valid response");
            assert_eq!(r.len(), 1);
            assert_eq!(r[0].status, 200);
            assert_eq!(r[0].body_len, 5);
            assert_eq!(r[0].wire_len, CL.len() as u64);
            assert!(r[0].keep_alive);
        }
    }

    #[test]
    fn chunked_body_in_any_split() {
        for step in 1..CHUNKED.len() + 1 {
            let r = parse_all(CHUNKED, step).expect("valid response");
            assert_eq!(r.len(), 1, "step {step}");
            assert_eq!(r[0].body_len, 12);
            assert_eq!(r[0].wire_len, CHUNKED.len() as u64);
        }
    }

    #[test]
    fn back_to_back_responses_split_correctly() {
        let mut wire = CL.to_vec();
        wire.extend_from_slice(CHUNKED);
        wire.extend_from_slice(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        let r = parse_all(&wire, wire.len()).expect("valid responses");
        assert_eq!(r.len(), 3);
        assert_eq!(r[2].status, 404);
        assert!(!r[2].keep_alive);
        assert!(r[0].keep_alive && r[1].keep_alive);
    }

    #[test]
    fn body_until_close() {
        let wire = b"HTTP/1.1 200 OK\r\n\r\nabcdef";
        let r = parse_all(wire, 3).expect("valid response");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].body_len, 6);
        assert!(!r[0].keep_alive);
    }

    #[test]
    fn interim_and_bodyless_statuses() {
        let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n\
            HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n";
        let r = parse_all(wire, 7).expect("valid responses");
        assert_eq!(r.iter().map(|r| r.status).collect::<Vec<_>>(), [204, 304]);
        assert!(r.iter().all(|r| r.body_len == 0));
    }

    #[test]
    fn head_response_has_no_body() {
        let mut p = ResponseParser::new();
        p.expect_head_response(true);
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
        let (n, r) = p.feed(wire).expect("valid");
        assert_eq!(n, wire.len());
        assert_eq!(r.map(|r| r.body_len), Some(0));
    }

    #[test]
    fn http10_closes_unless_keep_alive() {
        let r = parse_all(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 100).expect("valid");
        assert!(!r[0].keep_alive);
        let r = parse_all(
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
            100,
        )
        .expect("valid");
        assert!(r[0].keep_alive);
    }

    #[test]
    fn malformed_inputs_are_errors_with_offsets() {
        let e = parse_all(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 100).unwrap_err();
        assert_eq!(e.reason, "invalid Content-Length");
        let e = parse_all(b"garbage\r\n\r\n", 100).unwrap_err();
        assert_eq!(e.offset, 0);
        let e = parse_all(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            100,
        )
        .unwrap_err();
        assert_eq!(e.reason, "invalid chunk size");
        assert!(e.offset > 40);
        let e = parse_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 100).unwrap_err();
        assert!(e.reason.contains("closed before"));
        let e = parse_all(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
            100,
        )
        .unwrap_err();
        assert!(e.reason.contains("CRLF"));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            let mut bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            for _ in 0..(seed % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                bytes.push(b"0123456789abcdef\r\n;xX "[(seed % 22) as usize]);
            }
            let _ = parse_all(&bytes, 1 + (seed % 5) as usize);
        }
    }
}
