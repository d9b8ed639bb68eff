//! End-to-end tests of the HTTP server core (`ringwasm_wasi::http`) with a
//! native Rust handler, driven by raw `TcpStream`s (byte-level cases),
//! curl and a rustls client. Every test runs on both backends:
//! `uring::<name>` and `epoll::<name>`; the io_uring one says why it
//! skips where the kernel has no io_uring.
#![forbid(unsafe_code)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{Harness, read_response};

macro_rules! test_both {
    ($($name:ident),* $(,)?) => {
        mod uring {
            $(#[test] fn $name() { super::common::run(ringwasm_wasi::IoChoice::Uring, stringify!($name), super::$name) })*
        }
        mod epoll {
            $(#[test] fn $name() { super::common::run(ringwasm_wasi::IoChoice::Epoll, stringify!($name), super::$name) })*
        }
    };
}

test_both![
    keep_alive_serves_many_requests_on_one_connection,
    pipelined_requests_are_answered_in_order,
    content_length_body_is_echoed_whole,
    chunked_request_with_trailers_is_decoded,
    chunked_response_carries_trailers,
    streaming_echo_applies_backpressure_both_ways,
    expect_100_continue_is_answered_on_first_read,
    expect_without_reading_the_body_closes,
    head_gets_headers_but_no_body,
    unread_request_body_is_discarded_or_closes,
    http10_gets_close_delimited_or_length,
    smuggling_attempts_get_400_and_close,
    bad_chunk_sizes_get_400,
    limits_give_431_414_413,
    chunked_body_over_the_limit_gets_413,
    header_timeout_gives_408,
    idle_keep_alive_connection_is_closed,
    connection_cap_sheds_with_503,
    slowloris_does_not_slow_others,
    client_reset_mid_body_cancels_the_handler,
    connections_leave_no_descriptors_behind,
    handler_error_gives_500_for_that_request_only,
    invalid_response_from_handler_gives_500,
    short_response_body_closes_the_connection,
    drain_finishes_in_flight_and_stops_accepting,
    metrics_are_scraped,
    curl_gets_hello_and_echoes_chunked,
    tls_keep_alive_alpn_and_resumption,
    tls_handshake_timeout_closes_silent_clients,
];

fn keep_alive_serves_many_requests_on_one_connection(h: &Harness) {
    let mut s = h.connect();
    for _ in 0..100 {
        s.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let r = read_response(&mut s).expect("response");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"hello");
        assert_eq!(r.header("content-length"), Some("5"));
        assert!(r.header("date").is_some_and(|d| d.ends_with(" GMT")));
        assert!(r.header("connection").is_none());
    }
}

fn pipelined_requests_are_answered_in_order(h: &Harness) {
    let mut s = h.connect();
    s.write_all(
        b"GET /path/1 HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc\
          GET /path/3 HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .unwrap();
    assert_eq!(read_response(&mut s).unwrap().body, b"/path/1");
    assert_eq!(read_response(&mut s).unwrap().body, b"abc");
    assert_eq!(read_response(&mut s).unwrap().body, b"/path/3");
}

fn content_length_body_is_echoed_whole(h: &Harness) {
    let body: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut s = h.connect();
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut all = head.into_bytes();
    all.extend_from_slice(&body);
    all.extend_from_slice(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    let writer = {
        let mut w = s.try_clone().unwrap();
        std::thread::spawn(move || w.write_all(&all))
    };
    let r = read_response(&mut s).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body == body, "echoed body differs");
    assert_eq!(read_response(&mut s).unwrap().body, b"hello");
    writer.join().unwrap().unwrap();
}

fn chunked_request_with_trailers_is_decoded(h: &Harness) {
    let mut s = h.connect();
    s.write_all(
        b"POST /trailers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Checksum: 42\r\n\r\n",
    )
    .unwrap();
    let r = read_response(&mut s).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello world");
    assert_eq!(r.header("got-x-checksum"), Some("42"));
}

fn chunked_response_carries_trailers(h: &Harness) {
    let mut s = h.connect();
    s.write_all(b"GET /chunks?n=3 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s).unwrap();
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.body, b"chunk 0\nchunk 1\nchunk 2\n");
    assert_eq!(r.trailers, vec![("x-chunks".to_string(), "3".to_string())]);
    // Still usable afterwards.
    s.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s).unwrap().body, b"hello");
}

fn streaming_echo_applies_backpressure_both_ways(h: &Harness) {
    // 8 MiB through a streaming echo whose channel holds 64 KiB: the
    // client writes everything before reading, so the server must stop
    // reading while the client is not reading (or it would buffer it all).
    let body: Vec<u8> = (0..8u32 << 20).map(|i| (i % 253) as u8).collect();
    let mut s = h.connect();
    let mut all = format!(
        "POST /stream-echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    all.extend_from_slice(&body);
    let writer = {
        let mut w = s.try_clone().unwrap();
        std::thread::spawn(move || w.write_all(&all))
    };
    let r = read_response(&mut s).unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body == body, "streamed echo differs");
    assert_eq!(r.trailers, vec![("x-bytes".into(), body.len().to_string())]);
}

fn expect_100_continue_is_answered_on_first_read(h: &Harness) {
    let mut s = h.connect();
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    )
    .unwrap();
    let interim = read_response(&mut s).unwrap();
    assert_eq!(interim.status, 100);
    s.write_all(b"ping").unwrap();
    let r = read_response(&mut s).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"ping");
}

fn expect_without_reading_the_body_closes(h: &Harness) {
    let mut s = h.connect();
    s.write_all(
        b"POST /hello HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    )
    .unwrap();
    let r = read_response(&mut s).unwrap();
    assert_eq!(r.status, 200, "a final response, no 100");
    assert_eq!(r.header("connection"), Some("close"));
    assert!(common::closed(&mut s));
}

fn head_gets_headers_but_no_body(h: &Harness) {
    let mut s = h.connect();
    s.write_all(b"HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let r = common::read_head_only(&mut s).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("5"));
    let r = read_response(&mut s).unwrap();
    assert_eq!(
        r.body, b"hello",
        "no body bytes came after the HEAD response"
    );
}

fn unread_request_body_is_discarded_or_closes(h: &Harness) {
    // A small body the handler ignores is read and dropped, and the
    // connection serves the next request.
    let mut s = h.connect();
    s.write_all(b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789")
        .unwrap();
    s.write_all(b"POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        .unwrap();
    s.write_all(b"GET /path/after HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s).unwrap().body, b"hello");
    assert_eq!(read_response(&mut s).unwrap().body, b"hello");
    assert_eq!(read_response(&mut s).unwrap().body, b"/path/after");
    // A large one is not read: the response goes out and the connection
    // closes.
    let mut s = h.connect();
    s.write_all(b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
        .unwrap();
    let _ = s.write_all(&vec![b'x'; 200_000]);
    let r = read_response(&mut s).unwrap();
    assert_eq!(r.status, 200);
}

fn http10_gets_close_delimited_or_length(h: &Harness) {
    let mut s = h.connect();
    s.write_all(b"GET /hello HTTP/1.0\r\n\r\n").unwrap();
    let r = read_response(&mut s).unwrap();
    assert_eq!(r.body, b"hello");
    assert!(common::closed(&mut s));
    let mut s = h.connect();
    s.write_all(b"GET /chunks?n=2 HTTP/1.0\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(!text.contains("transfer-encoding"), "{text}");
    assert!(text.ends_with("\r\n\r\nchunk 0\nchunk 1\n"), "{text}");
    let mut s = h.connect();
    s.write_all(
        b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /hello HTTP/1.0\r\n\r\n",
    )
    .unwrap();
    assert_eq!(read_response(&mut s).unwrap().body, b"hello");
    assert_eq!(read_response(&mut s).unwrap().body, b"hello");
}

fn smuggling_attempts_get_400_and_close(h: &Harness) {
    let cases: &[&[u8]] = &[
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabc",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"GET /hello HTTP/1.1\nHost: x\n\n",
        b"GET /hello HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n",
        b"GET /hello HTTP/1.1\r\nHost : x\r\n\r\n",
        b"GET /hello HTTP/1.1\r\nHost: x\r\nBad\x01Name: y\r\n\r\n",
        b"GET /hello HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n",
        b"GET /hello HTTP/1.1\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    ];
    for raw in cases {
        let mut s = h.connect();
        s.write_all(raw).unwrap();
        s.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let r = read_response(&mut s).unwrap();
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(raw));
        assert_eq!(r.header("connection"), Some("close"));
        assert!(
            common::closed(&mut s),
            "nothing after the 400: {}",
            String::from_utf8_lossy(raw)
        );
    }
    let mut s = h.connect();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s).unwrap().status, 501);
}

fn bad_chunk_sizes_get_400(h: &Harness) {
    let cases: &[&[u8]] = &[
        b"zz\r\nhello\r\n0\r\n\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b"5\r\nhelloXY0\r\n\r\n",
        b"5\nhello\r\n0\r\n\r\n",
        b"fffffffffffffffff\r\n",
        b"-5\r\nhello\r\n0\r\n\r\n",
    ];
    for body in cases {
        let mut s = h.connect();
        s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap();
        s.write_all(body).unwrap();
        let r = read_response(&mut s).unwrap();
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(body));
        assert!(common::closed(&mut s));
    }
}

fn limits_give_431_414_413(h: &Harness) {
    let limits = h.limits();
    let big = "v".repeat(limits.max_head_bytes);
    let cases = [
        (
            format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n"),
            431,
        ),
        (
            format!(
                "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
                (0..=limits.max_headers)
                    .map(|i| format!("h{i}: v\r\n"))
                    .collect::<String>()
            ),
            431,
        ),
        (
            format!(
                "GET /{} HTTP/1.1\r\nHost: x\r\n\r\n",
                "a".repeat(limits.max_uri_bytes)
            ),
            414,
        ),
        (
            format!(
                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
                limits.max_body_bytes + 1
            ),
            413,
        ),
    ];
    for (raw, status) in cases {
        let mut s = h.connect();
        s.write_all(raw.as_bytes()).unwrap();
        let r = read_response(&mut s).unwrap();
        assert_eq!(r.status, status, "{}", &raw[..raw.len().min(60)]);
        assert!(common::closed(&mut s));
    }
}

fn chunked_body_over_the_limit_gets_413(h: &Harness) {
    let max = h.limits().max_body_bytes;
    let mut s = h.connect();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    s.write_all(b"10\r\n0123456789abcdef\r\n").unwrap();
    s.write_all(format!("{:x}\r\n", max).as_bytes()).unwrap();
    let r = read_response(&mut s).unwrap();
    assert_eq!(r.status, 413);
}

fn header_timeout_gives_408(h: &Harness) {
    let mut s = h.connect();
    s.write_all(b"GET /hello HTTP/1.1\r\nHo").unwrap();
    let r = read_response(&mut s).unwrap();
    assert_eq!(r.status, 408);
    assert!(common::closed(&mut s));
}

fn idle_keep_alive_connection_is_closed(h: &Harness) {
    let mut s = h.connect();
    s.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s).unwrap().status, 200);
    // Silence: the server closes without a response.
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    let m = h.scrape_until(|m| m.contains("kind=\"idle\"} 1"));
    assert!(
        m.contains("ringwasm_http_timeouts_total{kind=\"idle\"} 1"),
        "{m}"
    );
}

fn connection_cap_sheds_with_503(h: &Harness) {
    let cap = h.limits().max_connections;
    let held: Vec<TcpStream> = (0..cap)
        .map(|_| {
            let mut s = h.connect();
            s.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            assert_eq!(read_response(&mut s).unwrap().status, 200);
            s
        })
        .collect();
    let mut over = h.connect();
    let r = read_response(&mut over).unwrap();
    assert_eq!(r.status, 503);
    assert!(common::closed(&mut over));
    drop(held);
    // Once the held connections are closed, new ones are served again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = h.connect();
        let _ = s.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
        if read_response(&mut s).map(|r| r.status) == Some(200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never served again after the cap"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn slowloris_does_not_slow_others(h: &Harness) {
    // 40 clients send their heads a byte at a time; a normal client gets
    // its 200 requests served meanwhile, and each slow client ends with a
    // 408 at the header timeout.
    let slow: Vec<_> = (0..40)
        .map(|_| {
            let mut s = h.connect();
            std::thread::spawn(move || {
                for b in b"GET /hello HTTP/1.1\r\nX-Slow: ".iter().cycle().take(2000) {
                    if s.write_all(&[*b]).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                read_response(&mut s).map(|r| r.status)
            })
        })
        .collect();
    let mut s = h.connect();
    for _ in 0..200 {
        s.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        assert_eq!(read_response(&mut s).unwrap().status, 200);
    }
    for t in slow {
        assert_eq!(t.join().unwrap(), Some(408));
    }
}

fn client_reset_mid_body_cancels_the_handler(h: &Harness) {
    let s = h.connect();
    let mut w = &s;
    w.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
        .unwrap();
    w.write_all(&[7u8; 1000]).unwrap();
    common::reset(s);
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.cancelled.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the handler was never dropped");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut s = h.connect();
    s.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s).unwrap().status, 200);
}

fn connections_leave_no_descriptors_behind(h: &Harness) {
    // Served, reset mid-head, reset mid-body, refused and abandoned
    // connections: once the clients are gone, the process holds as many
    // descriptors as before (the server runs in this process).
    let open_fds = || std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count);
    let mut s = h.connect();
    s.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    read_response(&mut s).unwrap();
    drop(s);
    let before = open_fds();
    for i in 0..150 {
        let mut s = h.connect();
        match i % 5 {
            0 => {
                s.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                    .unwrap();
                read_response(&mut s).unwrap();
            }
            1 => {
                s.write_all(b"GET /hel").unwrap();
                common::reset(s);
                continue;
            }
            2 => {
                s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
                    .unwrap();
                common::reset(s);
                continue;
            }
            3 => {
                s.write_all(
                    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
                )
                .unwrap();
                let _ = read_response(&mut s);
            }
            _ => {}
        }
        drop(s);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = open_fds();
        if now <= before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{now} descriptors open, {before} before"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn handler_error_gives_500_for_that_request_only(h: &Harness) {
    let mut other = h.connect();
    other
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut other).unwrap().status, 200);
    let mut s = h.connect();
    s.write_all(b"GET /fail HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s).unwrap();
    assert_eq!(r.status, 500);
    other
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut other).unwrap().status, 200);
}

fn invalid_response_from_handler_gives_500(h: &Harness) {
    let mut s = h.connect();
    s.write_all(b"GET /bad-header HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s).unwrap();
    assert_eq!(r.status, 500);
    assert!(r.header("x-injected").is_none());
}

fn short_response_body_closes_the_connection(h: &Harness) {
    // The handler declares 10 bytes and produces 5: nothing was sent yet,
    // so the client gets a clean 500 and the connection closes.
    let mut s = h.connect();
    s.write_all(b"GET /short HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s).unwrap();
    assert_eq!(r.status, 500);
    assert!(common::closed(&mut s));
}

fn drain_finishes_in_flight_and_stops_accepting(h: &Harness) {
    let mut idle = h.connect();
    idle.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut idle).unwrap().status, 200);
    let mut s = h.connect();
    s.write_all(b"GET /slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // Wait until the slow request is in the handler.
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.in_slow.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    h.shutdown.shutdown();
    let r = read_response(&mut s).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(
        common::closed(&mut idle),
        "idle connection closed by the drain"
    );
    h.wait_stopped();
    assert!(
        TcpStream::connect_timeout(&h.addr, Duration::from_secs(1))
            .map(|mut c| common::closed(&mut c))
            .unwrap_or(true),
        "no new connection is served"
    );
}

fn metrics_are_scraped(h: &Harness) {
    let mut s = h.connect();
    for _ in 0..3 {
        s.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        read_response(&mut s).unwrap();
    }
    s.write_all(b"GET /fail HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    read_response(&mut s).unwrap();
    let m = h.scrape_until(|m| m.contains("ringwasm_http_request_duration_seconds_count 4\n"));
    assert!(
        m.contains("ringwasm_http_requests_total{code=\"200\"} 3\n"),
        "{m}"
    );
    assert!(
        m.contains("ringwasm_http_requests_total{code=\"500\"} 1\n"),
        "{m}"
    );
    assert!(
        m.contains("ringwasm_http_request_duration_seconds_count 4\n"),
        "{m}"
    );
    assert!(
        m.contains("# TYPE ringwasm_http_connections_open gauge"),
        "{m}"
    );
    assert!(m.contains("ringwasm_http_sent_bytes_total "), "{m}");
}

fn curl_gets_hello_and_echoes_chunked(h: &Harness) {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipping: curl is not installed");
        return;
    }
    let url = format!("http://{}", h.addr);
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "--http1.1",
            &format!("{url}/hello"),
            &format!("{url}/hello"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hellohello");
    let mut child = std::process::Command::new("curl")
        .args([
            "-sS",
            "--http1.1",
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            "@-",
            &format!("{url}/echo"),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let data = "streamed through curl\n".repeat(5000);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(data.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(out.stdout == data.as_bytes(), "curl echo differs");
}

fn tls_keep_alive_alpn_and_resumption(h: &Harness) {
    let Some(tls) = h.tls() else {
        return;
    };
    let mut resumed = Vec::new();
    for _ in 0..2 {
        let mut c = tls.connect(h.addr);
        for _ in 0..3 {
            c.write_all(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .unwrap();
            let r = read_response(&mut c).unwrap();
            assert_eq!(r.body, b"hello");
        }
        assert_eq!(c.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
        c.write_all(
            b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .unwrap();
        let big = vec![b'z'; 100_000];
        c.write_all(format!("{:x}\r\n", big.len()).as_bytes())
            .unwrap();
        c.write_all(&big).unwrap();
        c.write_all(b"\r\n0\r\n\r\n").unwrap();
        let r = read_response(&mut c).unwrap();
        assert!(r.body == big);
        resumed.push(c.conn.handshake_kind());
    }
    assert_eq!(
        resumed[1],
        Some(rustls::HandshakeKind::Resumed),
        "{resumed:?}"
    );
    let m = h.scrape_until(|m| m.contains("tls_handshakes_total 2\n"));
    assert!(m.contains("ringwasm_http_tls_handshakes_total 2\n"), "{m}");
}

fn tls_handshake_timeout_closes_silent_clients(h: &Harness) {
    if h.tls().is_none() {
        return;
    }
    let mut silent = h.connect();
    let mut buf = [0u8; 16];
    let n = silent.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed without a byte");
    let m = h.scrape_until(|m| m.contains("kind=\"tls\"} 1\n"));
    assert!(
        m.contains("ringwasm_http_timeouts_total{kind=\"tls\"} 1\n"),
        "{m}"
    );
}
