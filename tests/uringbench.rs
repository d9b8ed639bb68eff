//! `uringbench http` against an in-test HTTP/1.1 server with known
//! behaviour per path: keep-alive with Content-Length, chunked bodies,
//! `Connection: close`, error statuses, a fixed delay, malformed responses
//! and a server that never answers; then `echo` and `file` runs. Every
//! case runs on both drivers.
#![forbid(unsafe_code)]

use std::io::{BufRead as _, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use ringwasm_tools::uringbench::BackendKind;
use ringwasm_tools::uringbench::http::{HttpOptions, run};
use ringwasm_tools::uringbench::report::Report;

/// Delay of `/slow` responses.
const SLOW: Duration = Duration::from_millis(20);

/// Starts the server on a loopback port; it runs until the test process
/// exits. One thread per connection, so a stalled connection never holds
/// up another.
fn server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("bound address");
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = conn.set_nodelay(true);
                serve(conn);
            });
        }
    });
    addr
}

/// A self-signed certificate for `localhost` (P-256, valid until 2126),
/// made with `openssl req -x509 -newkey ec ... -subj /CN=localhost`.
const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBlTCCATugAwIBAgIUMDq8PwPq4F4TzwJWMEYUb1lZ2d0wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNDE2NTcxMVoYDzIxMjYxMDMx
MTY1NzExWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARoD9te3ZjudPHpvcD0uMn4pjvzv0yJn+ZKnwgpXDoTYcM9fVsmqqzx
+utgcSPjCyVuSFm/zcuuR59+WQWna40co2kwZzAdBgNVHQ4EFgQUBSyibnxP9Uwi
XVSJAyj8lfbzUv0wHwYDVR0jBBgwFoAUBSyibnxP9UwiXVSJAyj8lfbzUv0wDwYD
VR0TAQH/BAUwAwEB/zAUBgNVHREEDTALgglsb2NhbGhvc3QwCgYIKoZIzj0EAwID
SAAwRQIhAM/G2hm4blV4+bGmO3SlOLZ8NwKmQjTOOEYCZsoaObUDAiB85anmhX3X
tE8MmS1he7lxj8yiME6g7DmwYedlA0EV8A==
-----END CERTIFICATE-----
";

/// The certificate's private key (test-only, never trusted anywhere).
const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgJWCVKgWllDH0BXnK
dv9gD15s6F4fWxOMDOt2sPuUWZChRANCAARoD9te3ZjudPHpvcD0uMn4pjvzv0yJ
n+ZKnwgpXDoTYcM9fVsmqqzx+utgcSPjCyVuSFm/zcuuR59+WQWna40c
-----END PRIVATE KEY-----
";

/// The same server behind TLS with the self-signed certificate.
fn tls_server() -> SocketAddr {
    let certs = rustls_pemfile::certs(&mut CERT.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("the embedded certificate parses");
    let key = rustls_pemfile::private_key(&mut KEY.as_bytes())
        .expect("the embedded key parses")
        .expect("the embedded PEM holds a key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("default protocol versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("certificate and key match"),
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("bound address");
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let _ = conn.set_nodelay(true);
                let session = rustls::ServerConnection::new(config).expect("server session");
                serve(rustls::StreamOwned::new(session, conn));
            });
        }
    });
    addr
}

/// Answers requests on one connection until the peer closes it.
fn serve<S: Read + Write>(stream: S) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => {}
            }
        }
        let path = request_line.split(' ').nth(1).unwrap_or("/");
        let (response, close): (&[u8], bool) = match path {
            "/cl" => (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false),
            "/chunked" => (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                  3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n",
                false,
            ),
            "/close" => (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
                true,
            ),
            "/status" => (
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
                false,
            ),
            "/slow" => {
                // The simulated service time, not synchronisation.
                std::thread::sleep(SLOW);
                (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false)
            }
            "/garbage" => (b"NOT HTTP AT ALL\r\n\r\n", true),
            "/hang" => {
                // Never answer; keep the connection open until the client
                // gives up.
                let mut rest = String::new();
                let _ = reader.read_line(&mut rest);
                return;
            }
            _ => (
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
                false,
            ),
        };
        let out = reader.get_mut();
        if out.write_all(response).and_then(|()| out.flush()).is_err() || close {
            return;
        }
    }
}

fn options(url: String) -> HttpOptions {
    HttpOptions {
        url,
        threads: 2,
        conns: 4,
        duration: None,
        requests: Some(200),
        rate: None,
        headers: vec!["X-Test: 1".into()],
        method: "GET".into(),
        body: Vec::new(),
        warmup: Duration::ZERO,
        timeout: Duration::from_secs(5),
        insecure: false,
        progress: false,
    }
}

/// The backends to test: epoll always, io_uring when this kernel allows a
/// ring (otherwise it says why it skips).
fn backends() -> Vec<BackendKind> {
    let mut b = vec![BackendKind::Epoll];
    match ringwasm_tools::uringbench::uring_available() {
        Ok(()) => b.push(BackendKind::Uring),
        Err(e) => eprintln!("skipping the io_uring driver: {e:#}"),
    }
    b
}

fn run_path(path: &str, io: BackendKind, tweak: impl FnOnce(&mut HttpOptions)) -> Report {
    let addr = server();
    let mut opts = options(format!("http://{addr}{path}"));
    tweak(&mut opts);
    run(&opts, io).unwrap_or_else(|e| panic!("{path} on {io:?}: {e:#}"))
}

#[test]
fn keep_alive_content_length_completes_every_request() {
    for io in backends() {
        let r = run_path("/cl", io, |_| {});
        assert_eq!(r.ops, 200, "{io:?}");
        assert_eq!(r.errors.total(), 0, "{io:?}: {:?}", r.errors);
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".len() as u64;
        assert_eq!(r.bytes, 200 * wire, "{io:?}");
        assert_eq!(r.io, io.to_string());
        assert_eq!(r.latencies.len(), 200);
    }
}

#[test]
fn chunked_responses_are_framed() {
    for io in backends() {
        let r = run_path("/chunked", io, |_| {});
        assert_eq!(r.ops, 200, "{io:?}");
        assert_eq!(r.errors.total(), 0, "{io:?}: {:?}", r.errors);
    }
}

#[test]
fn connection_close_reconnects_without_errors() {
    for io in backends() {
        let r = run_path("/close", io, |o| o.requests = Some(60));
        assert_eq!(r.ops, 60, "{io:?}");
        assert_eq!(r.errors.total(), 0, "{io:?}: {:?}", r.errors);
    }
}

#[test]
fn error_statuses_are_counted_as_status_errors() {
    for io in backends() {
        let r = run_path("/status", io, |_| {});
        assert_eq!(r.ops, 200, "{io:?}");
        assert_eq!(r.errors.status, 200, "{io:?}");
        assert_eq!(r.errors.total(), 200, "{io:?}: {:?}", r.errors);
    }
}

#[test]
fn known_server_delay_shows_in_percentiles() {
    for io in backends() {
        let r = run_path("/slow", io, |o| o.requests = Some(40));
        assert_eq!(r.ops, 40, "{io:?}");
        let s = r.latencies.summary();
        let slow_us = SLOW.as_micros() as f64;
        assert!(s.p50 >= slow_us, "{io:?}: p50 {} below the delay", s.p50);
        assert!(
            s.p50 < slow_us * 10.0,
            "{io:?}: p50 {} far above the delay",
            s.p50
        );
        assert!(s.max >= s.p99 && s.p99 >= s.p50);
    }
}

#[test]
fn malformed_responses_are_read_errors() {
    for io in backends() {
        let r = run_path("/garbage", io, |o| {
            o.requests = None;
            o.duration = Some(Duration::from_millis(300));
        });
        assert_eq!(r.ops, 0, "{io:?}");
        assert!(r.errors.read > 0, "{io:?}: {:?}", r.errors);
        assert_eq!(r.errors.read, r.errors.total(), "{io:?}: {:?}", r.errors);
    }
}

#[test]
fn unanswered_requests_time_out() {
    for io in backends() {
        let r = run_path("/hang", io, |o| {
            o.requests = None;
            o.conns = 2;
            o.duration = Some(Duration::from_millis(700));
            o.timeout = Duration::from_millis(100);
        });
        assert_eq!(r.ops, 0, "{io:?}");
        assert!(r.errors.timeout >= 2, "{io:?}: {:?}", r.errors);
        assert_eq!(r.errors.timeout, r.errors.total(), "{io:?}: {:?}", r.errors);
    }
}

#[test]
fn refused_connections_are_connect_errors() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        l.local_addr().expect("bound address").port()
    };
    for io in backends() {
        let mut opts = options(format!("http://127.0.0.1:{port}/"));
        opts.requests = None;
        opts.duration = Some(Duration::from_millis(200));
        let r = run(&opts, io).expect("a refused connection is counted, not fatal");
        assert_eq!(r.ops, 0, "{io:?}");
        assert!(r.errors.connect > 0, "{io:?}: {:?}", r.errors);
        assert_eq!(r.errors.connect, r.errors.total(), "{io:?}");
    }
}

#[test]
fn open_loop_rate_is_held() {
    for io in backends() {
        let r = run_path("/cl", io, |o| {
            o.requests = None;
            o.duration = Some(Duration::from_secs(1));
            o.rate = Some(200.0);
        });
        assert!(
            (150..=230).contains(&r.ops),
            "{io:?}: {} requests at -R 200 for 1s",
            r.ops
        );
        assert_eq!(r.errors.total(), 0, "{io:?}: {:?}", r.errors);
    }
}

#[test]
fn https_with_a_self_signed_certificate_needs_insecure() {
    for io in backends() {
        let addr = tls_server();
        let mut opts = options(format!("https://localhost:{}/chunked", addr.port()));
        opts.insecure = true;
        let r = run(&opts, io).unwrap_or_else(|e| panic!("https on {io:?}: {e:#}"));
        assert_eq!(r.ops, 200, "{io:?}");
        assert_eq!(r.errors.total(), 0, "{io:?}: {:?}", r.errors);

        opts.insecure = false;
        opts.requests = None;
        opts.duration = Some(Duration::from_millis(200));
        let r = run(&opts, io).expect("a rejected certificate is counted, not fatal");
        assert_eq!(r.ops, 0, "{io:?}");
        assert!(r.errors.connect > 0, "{io:?}: {:?}", r.errors);
        assert_eq!(r.errors.connect, r.errors.total(), "{io:?}: {:?}", r.errors);
    }
}

fn common(io: BackendKind) -> ringwasm_tools::uringbench::CommonArgs {
    use ringwasm_tools::uringbench::IoFlag;
    ringwasm_tools::uringbench::CommonArgs {
        io: match io {
            BackendKind::Uring => IoFlag::Uring,
            BackendKind::Epoll => IoFlag::Epoll,
        },
        json: false,
    }
}

#[test]
fn echo_round_trips_run_on_both_drivers() {
    use ringwasm_tools::uringbench::{EchoArgs, echo};
    for io in backends() {
        let args = EchoArgs {
            conns: 4,
            size: 3000,
            duration: Duration::from_millis(200),
            addr: None,
            common: common(io),
        };
        let r = echo::run(&args, io).unwrap_or_else(|e| panic!("echo on {io:?}: {e:#}"));
        assert_eq!(r.io, io.to_string());
        assert!(r.ops > 0, "{io:?}: no round trip completed");
        assert_eq!(r.errors.total(), 0, "{io:?}: {:?}", r.errors);
        assert_eq!(r.bytes, r.ops * 3000, "{io:?}");
        assert_eq!(r.latencies.len(), r.ops, "{io:?}");
    }
}

#[test]
fn file_reads_run_on_both_drivers() {
    use ringwasm_fallback_epoll::FileMode;
    use ringwasm_tools::uringbench::{FileArgs, file};
    let dir = tempfile::tempdir().expect("temp dir");
    for io in backends() {
        // (plain fd, fixed buffers, ring only, fallback file mode)
        for (plain_fd, fixed_bufs, ring_only, mode) in [
            (false, false, false, None),
            (true, false, false, None),
            (false, true, false, None),
            (false, false, true, None),
            (false, true, true, None),
            (false, false, false, Some(FileMode::Pool(2))),
        ] {
            let args = FileArgs {
                path: dir.path().join("data.bin"),
                size: 256 * 1024,
                bs: 4096,
                qd: 8,
                pattern: file::Pattern::Rand,
                op: file::FileOp::Read,
                direct: false,
                plain_fd,
                fixed_bufs,
                ring_only,
                fallback_files: mode,
                bare: None,
                duration: Duration::from_millis(100),
                common: common(io),
            };
            let what = format!(
                "{io:?} plain_fd={plain_fd} fixed_bufs={fixed_bufs} ring_only={ring_only} {mode:?}"
            );
            let r = file::run(&args, io).unwrap_or_else(|e| panic!("file on {what}: {e:#}"));
            assert_eq!(r.io, io.to_string());
            assert!(r.ops > 0, "{what}: no read completed");
            assert_eq!(r.errors.total(), 0, "{what}: {:?}", r.errors);
            assert_eq!(r.bytes, r.ops * 4096, "{what}");
        }
    }
}

#[test]
fn bare_floors_read_whole_blocks_and_refuse_what_they_do_not_measure() {
    use ringwasm_tools::uringbench::{FileArgs, file};
    let dir = tempfile::tempdir().expect("temp dir");
    let args = |bare, op| FileArgs {
        path: dir.path().join("data.bin"),
        size: 256 * 1024,
        bs: 4096,
        qd: 8,
        pattern: file::Pattern::Rand,
        op,
        direct: false,
        plain_fd: false,
        fixed_bufs: false,
        ring_only: false,
        fallback_files: None,
        bare: Some(bare),
        duration: Duration::from_millis(100),
        common: common(BackendKind::Epoll),
    };
    let floors = [
        (file::Bare::Pread, "bare pread"),
        (file::Bare::Nowait, "bare preadv2(RWF_NOWAIT)"),
        (file::Bare::Uring, "bare io_uring"),
    ];
    for (bare, name) in floors {
        if bare == file::Bare::Uring
            && let Err(e) = ringwasm_tools::uringbench::uring_available()
        {
            eprintln!("skipping the bare io_uring floor: {e:#}");
            continue;
        }
        let r = file::run_bare(&args(bare, file::FileOp::Read))
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert_eq!(r.io, name);
        assert!(r.ops > 0, "{name}: no read completed");
        // The file was just written, so every block is in the page cache:
        // even the RWF_NOWAIT loop never misses.
        assert_eq!(r.errors.total(), 0, "{name}: {:?}", r.errors);
        assert_eq!(r.bytes, r.ops * 4096, "{name}");
        assert!(r.latencies.is_empty(), "{name}: a floor times no op");
    }
    let e = file::run_bare(&args(file::Bare::Pread, file::FileOp::Write)).unwrap_err();
    assert!(e.to_string().contains("random reads only"), "{e:#}");
}
