//! Response heads and chunk framing, written into a caller's `Vec<u8>`
//! (one send per head, no per-header allocation), and the `Date` value.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::http::h1::parse::Header;

/// How a response body is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseFraming {
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked` (HTTP/1.1 peers, unknown length).
    Chunked,
    /// Unknown length to an HTTP/1.0 peer: the body ends when the
    /// connection closes.
    Close,
    /// No body and no length (1xx, 204, 304, or HEAD with unknown length).
    None,
}

/// Writes a status line and header section: the handler's `headers`
/// (framing and connection fields among them are skipped: the server
/// owns those), then `Date`, framing and `Connection: close` when
/// `close`.
pub fn response_head(
    out: &mut Vec<u8>,
    status: u16,
    headers: &[Header],
    framing: ResponseFraming,
    close: bool,
    date: &[u8],
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_u64(out, u64::from(status));
    out.push(b' ');
    out.extend_from_slice(reason_phrase(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut has_date = false;
    for h in headers {
        match h.name.as_str() {
            "content-length" | "transfer-encoding" | "connection" | "keep-alive" => continue,
            "date" => has_date = true,
            _ => {}
        }
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(&h.value);
        out.extend_from_slice(b"\r\n");
    }
    if !has_date {
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(date);
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        ResponseFraming::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            push_u64(out, n);
            out.extend_from_slice(b"\r\n");
        }
        ResponseFraming::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        ResponseFraming::Close | ResponseFraming::None => {}
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// The interim response sent before reading a body the client holds back
/// with `Expect: 100-continue`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Writes a chunk's size line (`len` must be non-zero: a zero-size chunk
/// ends the body).
pub fn chunk_head(out: &mut Vec<u8>, len: usize) {
    let mut digits = [0u8; 16];
    let mut n = len;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 15];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

/// The CRLF after a chunk's data.
pub const CHUNK_END: &[u8] = b"\r\n";

/// Writes the last chunk and the trailer section.
pub fn last_chunk(out: &mut Vec<u8>, trailers: &[Header]) {
    out.extend_from_slice(b"0\r\n");
    for h in trailers {
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(&h.value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Whether `name: value` may be sent as is: a token name, and a value of
/// visible characters, spaces and tabs without CR, LF or NUL (no response
/// splitting through a handler's header).
pub fn valid_field(name: &str, value: &[u8]) -> bool {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    !name.is_empty()
        && name.bytes().all(tchar)
        && value
            .iter()
            .all(|&b| b == b'\t' || b == b' ' || (b'!'..=b'~').contains(&b) || b >= 0x80)
}

/// Whether a response with `status` may carry a body (RFC 9110 §6.4.1).
pub const fn status_has_body(status: u16) -> bool {
    !(status < 200 || status == 204 || status == 304)
}

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// The reason phrase of a status (empty for unknown codes, which RFC 9112
/// allows).
pub const fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// `time` as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn http_date(time: SystemTime) -> [u8; 29] {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let wday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(m - 1) as usize];
    let mut out = [0u8; 29];
    let text = format!(
        "{wday}, {d:02} {month} {y:04} {:02}:{:02}:{:02} GMT",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    let n = text.len().min(29);
    out[..n].copy_from_slice(&text.as_bytes()[..n]);
    out
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn head_skips_framing_fields_and_adds_ours() {
        let mut out = Vec::new();
        let headers = [
            Header::new("Content-Type", "text/plain"),
            Header::new("Content-Length", "999"),
            Header::new("Connection", "keep-alive"),
        ];
        response_head(
            &mut out,
            200,
            &headers,
            ResponseFraming::Length(5),
            true,
            b"DATE",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: DATE\r\n\
             content-length: 5\r\nconnection: close\r\n\r\n"
        );
    }

    #[test]
    fn chunk_framing() {
        let mut out = Vec::new();
        chunk_head(&mut out, 0x1a2b);
        out.extend_from_slice(CHUNK_END);
        last_chunk(&mut out, &[Header::new("X-Sum", "1")]);
        assert_eq!(out, b"1a2b\r\n\r\n0\r\nx-sum: 1\r\n\r\n");
    }

    #[test]
    fn dates_are_imf_fixdate() {
        let t = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(&http_date(t), b"Sun, 06 Nov 1994 08:49:37 GMT");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(&http_date(leap), b"Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn header_injection_is_detected() {
        assert!(valid_field("x-a", b"b c\td"));
        assert!(!valid_field("x-a", b"b\r\nx: y"));
        assert!(!valid_field("x a", b"b"));
        assert!(!valid_field("", b"b"));
        assert!(!valid_field("x", b"\0"));
    }
}
