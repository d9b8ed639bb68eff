//! The target URL and the request bytes sent on every connection.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};

/// A parsed `http://` or `https://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Whether to speak TLS.
    pub tls: bool,
    /// Host name or address as written (without brackets).
    pub host: String,
    /// Port (default 80 or 443).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

/// Why a URL or header was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestError(pub String);

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RequestError {}

impl Target {
    /// Parses `http[s]://host[:port][/path]`.
    ///
    /// # Errors
    ///
    /// [`RequestError`] naming the URL when the scheme, host or port is
    /// missing or invalid.
    pub fn parse(url: &str) -> Result<Self, RequestError> {
        let err = |why: &str| RequestError(format!("invalid URL `{url}`: {why}"));
        let (tls, rest) = if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else {
            return Err(err("expected http:// or https://"));
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_string()),
        };
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6.find(']').ok_or_else(|| err("unclosed `[`"))?;
            let port = v6[end + 1..].strip_prefix(':');
            (&v6[..end], port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(err("no host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| err("invalid port"))?,
            None if tls => 443,
            None => 80,
        };
        Ok(Self {
            tls,
            host: host.to_string(),
            port,
            path,
        })
    }

    /// Resolves the host to its first socket address.
    ///
    /// # Errors
    ///
    /// [`RequestError`] when the name does not resolve.
    pub fn resolve(&self) -> Result<SocketAddr, RequestError> {
        (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| RequestError(format!("cannot resolve `{}`: {e}", self.host)))?
            .next()
            .ok_or_else(|| RequestError(format!("`{}` resolves to no address", self.host)))
    }

    /// The `Host` header value.
    pub fn host_header(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Builds the request sent on every connection: method, path, `Host`, the
/// user's headers (which may override `Host`), and the body with its
/// `Content-Length`.
///
/// # Errors
///
/// [`RequestError`] when a header is not `Name: value` or the method is not
/// a token.
pub fn build_request(
    target: &Target,
    method: &str,
    headers: &[String],
    body: &[u8],
) -> Result<Vec<u8>, RequestError> {
    if method.is_empty()
        || !method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(RequestError(format!("invalid method `{method}`")));
    }
    let mut out = format!("{method} {} HTTP/1.1\r\n", target.path);
    let mut has_host = false;
    let mut has_length = false;
    for h in headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| RequestError(format!("invalid header `{h}`: expected `Name: value`")))?;
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) || value.contains(['\r', '\n']) {
            return Err(RequestError(format!("invalid header `{h}`")));
        }
        has_host |= name.eq_ignore_ascii_case("host");
        has_length |= name.eq_ignore_ascii_case("content-length");
        out.push_str(&format!("{name}: {}\r\n", value.trim()));
    }
    if !has_host {
        out.push_str(&format!("Host: {}\r\n", target.host_header()));
    }
    if !has_length && (!body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH")) {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let t = Target::parse("http://127.0.0.1:8080/a?b=1").expect("valid");
        assert_eq!((t.tls, t.host.as_str(), t.port), (false, "127.0.0.1", 8080));
        assert_eq!(t.path, "/a?b=1");
        let t = Target::parse("https://example.com").expect("valid");
        assert_eq!((t.tls, t.port, t.path.as_str()), (true, 443, "/"));
        assert_eq!(t.host_header(), "example.com");
        let t = Target::parse("http://[::1]:9000?x").expect("valid");
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("::1", 9000, "/?x")
        );
        assert_eq!(t.host_header(), "[::1]:9000");
        assert!(Target::parse("ftp://x").is_err());
        assert!(Target::parse("http://:80/").is_err());
        assert!(Target::parse("http://h:99999/").is_err());
    }

    #[test]
    fn request_has_host_headers_and_body() {
        let t = Target::parse("http://localhost:8080/p").expect("valid");
        let r = build_request(&t, "POST", &["X-A: 1".into()], b"hi").expect("valid");
        assert_eq!(
            String::from_utf8(r).expect("ascii"),
            "POST /p HTTP/1.1\r\nX-A: 1\r\nHost: localhost:8080\r\nContent-Length: 2\r\n\r\nhi"
        );
        let r = build_request(&t, "GET", &["host: other".into()], b"").expect("valid");
        assert_eq!(
            String::from_utf8(r).expect("ascii"),
            "GET /p HTTP/1.1\r\nhost: other\r\n\r\n"
        );
        assert!(build_request(&t, "GET", &["nocolon".into()], b"").is_err());
        assert!(build_request(&t, "G T", &[], b"").is_err());
    }
}
