use super::*;

fn parse(s: &[u8]) -> Result<Option<(RequestHead, Framing, usize)>, ParseError> {
    parse_request(s, &Limits::default())
}

fn err(s: &[u8]) -> ParseError {
    match parse(s) {
        Err(e) => e,
        Ok(r) => panic!("{:?} was accepted: {r:?}", String::from_utf8_lossy(s)),
    }
}

#[test]
fn simple_get_is_complete_with_its_length() {
    let raw = b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Y:  z \r\n\r\nrest";
    let (head, framing, n) = parse(raw).expect("valid").expect("complete");
    assert_eq!(n, raw.len() - 4);
    assert_eq!(head.method, "GET");
    assert_eq!(head.target, "/a?b=c");
    assert_eq!(head.version, Version::Http11);
    assert_eq!(head.header("x-y"), Some(&b"z"[..]));
    assert_eq!(framing.body, BodyKind::Empty);
    assert!(framing.keep_alive);
}

#[test]
fn partial_head_asks_for_more() {
    assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: x\r\n"), Ok(None));
    assert_eq!(parse(b"GE"), Ok(None));
}

#[test]
fn http10_closes_unless_keep_alive() {
    let (_, f, _) = parse(b"GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
    assert!(!f.keep_alive);
    let (_, f, _) = parse(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
        .unwrap()
        .unwrap();
    assert!(f.keep_alive);
    let (_, f, _) = parse(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n\r\n")
        .unwrap()
        .unwrap();
    assert!(!f.keep_alive);
}

#[test]
fn content_length_and_chunked_framing() {
    let (_, f, _) = parse(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!(f.body, BodyKind::Length(12));
    let (_, f, _) = parse(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!(f.body, BodyKind::Chunked);
}

#[test]
fn smuggling_framings_are_refused() {
    use ParseError::*;
    let cases: &[(&[u8], ParseError)] = &[
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            LengthAndTransferEncoding,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            LengthAndTransferEncoding,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
            DuplicateContentLength,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            DuplicateContentLength,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\n",
            InvalidContentLength,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n",
            InvalidContentLength,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n",
            InvalidContentLength,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
            InvalidContentLength,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
            InvalidTransferEncoding,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
            InvalidTransferEncoding,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            UnsupportedTransferCoding,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            UnsupportedTransferCoding,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n",
            UnsupportedTransferCoding,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n",
            InvalidTransferEncoding,
        ),
        (
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            TransferEncodingInHttp10,
        ),
        (b"GET / HTTP/1.1\r\n\r\n", BadHost),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", BadHost),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n",
            ExpectationFailed,
        ),
    ];
    for (raw, want) in cases {
        assert_eq!(err(raw), *want, "{}", String::from_utf8_lossy(raw));
    }
}

#[test]
fn bare_lf_and_obs_fold_are_refused() {
    assert_eq!(err(b"GET / HTTP/1.1\nHost: x\r\n\r\n"), ParseError::BareLf);
    assert_eq!(err(b"GET / HTTP/1.1\r\nHost: x\n\r\n"), ParseError::BareLf);
    assert_eq!(err(b"GET / HTTP/1.1\r\nHost: x\n\n"), ParseError::BareLf);
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n"),
        ParseError::ObsFold
    );
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n\tb\r\n\r\n"),
        ParseError::ObsFold
    );
    // A bare LF on a request line that has not ended yet.
    assert_eq!(err(b"GET / HTTP/1.1\nHo"), ParseError::BareLf);
}

#[test]
fn bad_names_values_and_lines_are_refused() {
    let bad: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHo(st: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\0y\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n",
        b"GET / HTTP/1.1\r\n: x\r\n\r\n",
        b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
    ];
    for raw in bad {
        assert_eq!(err(raw).status(), 400, "{}", String::from_utf8_lossy(raw));
    }
    assert_eq!(
        err(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"),
        ParseError::UnsupportedVersion
    );
}

#[test]
fn limits_give_their_statuses() {
    let limits = Limits {
        max_head_bytes: 256,
        max_headers: 4,
        max_uri_bytes: 64,
        max_body_bytes: 1000,
        ..Limits::default()
    };
    let p = |s: &[u8]| parse_request(s, &limits);
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100));
    assert_eq!(
        p(long_uri.as_bytes()).map(|_| ()).unwrap_err().status(),
        414
    );
    let unfinished = format!("GET /{}", "a".repeat(200));
    assert_eq!(
        p(unfinished.as_bytes()).map(|_| ()).unwrap_err().status(),
        414
    );
    let many = "GET / HTTP/1.1\r\nHost: x\r\na: 1\r\nb: 1\r\nc: 1\r\nd: 1\r\n\r\n";
    assert_eq!(
        p(many.as_bytes()).map(|_| ()).unwrap_err(),
        ParseError::TooManyHeaders { limit: 4 }
    );
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nA: {}\r\n\r\n",
        "v".repeat(300)
    );
    assert_eq!(p(big.as_bytes()).map(|_| ()).unwrap_err().status(), 431);
    let growing = format!("GET / HTTP/1.1\r\nHost: x\r\nA: {}", "v".repeat(300));
    assert_eq!(p(growing.as_bytes()).map(|_| ()).unwrap_err().status(), 431);
    let body = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n";
    assert_eq!(
        p(body).map(|_| ()).unwrap_err(),
        ParseError::BodyTooLarge { limit: 1000 }
    );
}

#[test]
fn expect_continue_only_with_a_body() {
    let (_, f, _) =
        parse(b"PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n")
            .unwrap()
            .unwrap();
    assert!(f.expect_continue);
    let (_, f, _) = parse(b"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n")
        .unwrap()
        .unwrap();
    assert!(!f.expect_continue);
}

#[test]
fn leading_empty_line_is_ignored() {
    let (head, _, _) = parse(b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!(head.method, "GET");
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut seed = 0x1234_5678_u64;
    let alphabet = b"GET /HTP1.\r\n: ab\tcCnhkd0x;\x00\xff";
    for _ in 0..20_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 64) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|i| alphabet[((seed >> (i % 60)) as usize + i) % alphabet.len()])
            .collect();
        let _ = parse(&bytes);
    }
}
