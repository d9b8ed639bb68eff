//! Request heads: httparse does the tokenising; this module adds what
//! RFC 9112 asks of a server where smuggling lives, and the limits.
//!
//! Policy (see `docs/design/http-server.md`):
//! - a bare LF anywhere in the head is refused (400), never taken as a line
//!   end: a front proxy that disagrees is how requests are smuggled;
//! - obs-fold (a line starting with SP or HTAB) is refused (400), as RFC
//!   9112 §5.2 allows;
//! - `Content-Length` with `Transfer-Encoding`, a repeated `Content-Length`
//!   (even with equal values), a non-digit length, `chunked` not alone,
//!   `Transfer-Encoding` in HTTP/1.0, and a missing or repeated `Host` in
//!   HTTP/1.1 are refused (400; an unknown coding 501).

use crate::http::error::ParseError;
use crate::http::limits::{Limits, MAX_HEADERS_CEILING};

/// The HTTP version of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0: close after the response unless `keep-alive` is asked.
    Http10,
    /// HTTP/1.1.
    Http11,
}

/// One header field. Names are lower-cased (field names are
/// case-insensitive); values are the bytes received, without surrounding
/// whitespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Lower-case field name.
    pub name: String,
    /// Field value.
    pub value: Vec<u8>,
}

impl Header {
    /// A header from a name (lower-cased here) and a value.
    pub fn new(name: &str, value: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.to_ascii_lowercase(),
            value: value.into(),
        }
    }
}

/// A parsed request line and header section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// The method, as sent (methods are case-sensitive).
    pub method: String,
    /// The request target, as sent.
    pub target: String,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The header fields in order.
    pub headers: Vec<Header>,
}

impl RequestHead {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|h| h.name == name)
            .map(|h| h.value.as_slice())
    }

    /// Whether this is a `HEAD` request (the response has no body).
    pub fn is_head(&self) -> bool {
        self.method == "HEAD"
    }
}

/// How the request body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// No body.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// What the head says about framing and the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Framing {
    /// How the body is delimited.
    pub body: BodyKind,
    /// Whether the client allows the connection to stay open.
    pub keep_alive: bool,
    /// `Expect: 100-continue` (HTTP/1.1 only).
    pub expect_continue: bool,
}

/// Parses a request head at the start of `buf`.
///
/// Returns `Ok(None)` when the head is not complete yet (and within the
/// limits), else the head, its framing and the number of bytes it took.
///
/// # Errors
///
/// A [`ParseError`] whose [`ParseError::status`] is the answer.
pub fn parse_request(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(RequestHead, Framing, usize)>, ParseError> {
    let max_headers = limits.max_headers.min(MAX_HEADERS_CEILING);
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS_CEILING];
    let mut req = httparse::Request::new(&mut storage[..max_headers]);
    let parsed = httparse::ParserConfig::default().parse_request(&mut req, buf);
    let len = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            check_partial(buf, limits)?;
            return Ok(None);
        }
        Err(e) => return Err(classify(e, buf, limits)),
    };
    if len > limits.max_head_bytes {
        return Err(ParseError::HeadTooLarge {
            limit: limits.max_head_bytes,
        });
    }
    check_line_ends(&buf[..len])?;
    let version = match req.version {
        Some(0) => Version::Http10,
        Some(1) => Version::Http11,
        _ => return Err(ParseError::UnsupportedVersion),
    };
    let method = req.method.ok_or(ParseError::Malformed("method"))?;
    let target = req.path.ok_or(ParseError::Malformed("request target"))?;
    if target.len() > limits.max_uri_bytes {
        return Err(ParseError::UriTooLong {
            limit: limits.max_uri_bytes,
        });
    }
    let headers: Vec<Header> = req
        .headers
        .iter()
        .map(|h| Header {
            name: h.name.to_ascii_lowercase(),
            value: h.value.to_vec(),
        })
        .collect();
    let framing = framing(version, &headers, limits)?;
    let head = RequestHead {
        method: method.to_owned(),
        target: target.to_owned(),
        version,
        headers,
    };
    Ok(Some((head, framing, len)))
}

/// Limits that a head still arriving can already exceed.
fn check_partial(buf: &[u8], limits: &Limits) -> Result<(), ParseError> {
    // A request line without its end: the target is what is long (the
    // method and version are short tokens), so 414.
    let line_end = buf.iter().position(|&b| b == b'\n');
    if line_end.is_none() && buf.len() > limits.max_uri_bytes + 64 {
        return Err(ParseError::UriTooLong {
            limit: limits.max_uri_bytes,
        });
    }
    if buf.len() > limits.max_head_bytes {
        return Err(ParseError::HeadTooLarge {
            limit: limits.max_head_bytes,
        });
    }
    if let Some(end) = line_end {
        check_line_ends(&buf[..=end])?;
    }
    Ok(())
}

/// Maps an httparse error to ours, telling obs-fold and bare-LF apart.
fn classify(e: httparse::Error, buf: &[u8], limits: &Limits) -> ParseError {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(buf.len(), |p| p + 4);
    let head = &buf[..end];
    if head
        .windows(3)
        .any(|w| w[0] == b'\r' && w[1] == b'\n' && (w[2] == b' ' || w[2] == b'\t'))
    {
        return ParseError::ObsFold;
    }
    if let Err(bare) = check_line_ends(head) {
        return bare;
    }
    match e {
        httparse::Error::TooManyHeaders => ParseError::TooManyHeaders {
            limit: limits.max_headers,
        },
        httparse::Error::Version => ParseError::UnsupportedVersion,
        httparse::Error::HeaderName => ParseError::Malformed("header name"),
        httparse::Error::HeaderValue => ParseError::Malformed("header value"),
        httparse::Error::NewLine => ParseError::Malformed("line ending"),
        httparse::Error::Status => ParseError::Malformed("status"),
        httparse::Error::Token => ParseError::Malformed("method or request target"),
    }
}

/// Refuses a LF that is not preceded by CR (a bare LF line end).
fn check_line_ends(head: &[u8]) -> Result<(), ParseError> {
    let bare = head
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || head[i - 1] != b'\r'));
    if bare {
        Err(ParseError::BareLf)
    } else {
        Ok(())
    }
}

/// The RFC 9112 §6 framing rules, strictly.
fn framing(version: Version, headers: &[Header], limits: &Limits) -> Result<Framing, ParseError> {
    let mut length: Option<u64> = None;
    let mut codings = 0usize;
    let mut chunked_last = false;
    let mut hosts = 0usize;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut expect_continue = false;
    for h in headers {
        match h.name.as_str() {
            "content-length" => {
                if length.is_some() {
                    return Err(ParseError::DuplicateContentLength);
                }
                length = Some(parse_length(&h.value)?);
            }
            "transfer-encoding" => {
                for coding in list(&h.value) {
                    if coding.is_empty() {
                        continue;
                    }
                    if chunked_last {
                        // Anything after `chunked` (including a second one).
                        return Err(ParseError::InvalidTransferEncoding);
                    }
                    codings += 1;
                    if coding.eq_ignore_ascii_case(b"chunked") {
                        chunked_last = true;
                    }
                }
                if codings == 0 {
                    return Err(ParseError::InvalidTransferEncoding);
                }
            }
            "host" => hosts += 1,
            "connection" => {
                for token in list(&h.value) {
                    close |= token.eq_ignore_ascii_case(b"close");
                    keep_alive_token |= token.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            "expect" if version == Version::Http11 => {
                if h.value.eq_ignore_ascii_case(b"100-continue") {
                    expect_continue = true;
                } else {
                    return Err(ParseError::ExpectationFailed);
                }
            }
            _ => {}
        }
    }
    if version == Version::Http11 && hosts != 1 {
        return Err(ParseError::BadHost);
    }
    if hosts > 1 {
        return Err(ParseError::BadHost);
    }
    let body = if codings > 0 {
        if version == Version::Http10 {
            return Err(ParseError::TransferEncodingInHttp10);
        }
        if length.is_some() {
            return Err(ParseError::LengthAndTransferEncoding);
        }
        if codings > 1 {
            return Err(ParseError::UnsupportedTransferCoding);
        }
        if !chunked_last {
            return Err(ParseError::UnsupportedTransferCoding);
        }
        BodyKind::Chunked
    } else {
        match length {
            None | Some(0) => BodyKind::Empty,
            Some(n) if n > limits.max_body_bytes => {
                return Err(ParseError::BodyTooLarge {
                    limit: limits.max_body_bytes,
                });
            }
            Some(n) => BodyKind::Length(n),
        }
    };
    let keep_alive = match version {
        Version::Http11 => !close,
        Version::Http10 => keep_alive_token && !close,
    };
    Ok(Framing {
        body,
        keep_alive,
        expect_continue: expect_continue && body != BodyKind::Empty,
    })
}

/// `1*DIGIT`, at most 19 digits (fits `u64` without overflow checks).
fn parse_length(v: &[u8]) -> Result<u64, ParseError> {
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::InvalidContentLength);
    }
    Ok(v.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}

/// The elements of a comma-separated list, trimmed of optional whitespace.
fn list(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',').map(|e| e.trim_ascii())
}

#[cfg(test)]
mod tests;
