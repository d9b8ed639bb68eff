//! The harness of `http_server.rs`: a server with the test handler on a
//! loopback port, and small raw-socket and TLS clients.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ringwasm_reactor::Driver;
use ringwasm_reactor::op::Timeout;
use ringwasm_wasi::IoChoice;
use ringwasm_wasi::http::h1::Header;
use ringwasm_wasi::http::{
    BodyChannel, BodyError, BodySize, Error, Full, Handler, HandlerError, Limits, Request,
    Response, ResponseBody, Server, ServerConfig, ShutdownHandle,
};

/// Runs `test` against a fresh server on backend `io` (skipping io_uring
/// where the kernel refuses it).
pub fn run(io: IoChoice, name: &str, test: fn(&Harness)) {
    // Probed on its own thread: a ring's teardown may interrupt the
    // probing thread's blocking calls (EINTR), and this one is the client.
    let probe = std::thread::spawn(|| {
        ringwasm_wasi::Io::new(IoChoice::Uring)
            .err()
            .map(|e| e.to_string())
    });
    if io == IoChoice::Uring
        && let Some(e) = probe.join().expect("probe thread")
    {
        eprintln!("skipping {name}: io_uring unavailable here: {e}");
        return;
    }
    let h = Harness::start(io, name);
    test(&h);
    h.stop();
}

/// A running server and what the test handler reports.
pub struct Harness {
    pub addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    pub shutdown: ShutdownHandle,
    pub cancelled: Arc<AtomicUsize>,
    pub in_slow: Arc<AtomicUsize>,
    limits: Limits,
    tls: Option<TlsClient>,
    join: Mutex<Option<JoinHandle<Result<(), Error>>>>,
}

impl Harness {
    fn start(io: IoChoice, name: &str) -> Self {
        let limits = Limits {
            max_head_bytes: 4096,
            max_headers: 20,
            max_uri_bytes: 1024,
            max_body_bytes: 16 << 20,
            header_timeout: Duration::from_millis(1000),
            idle_timeout: Duration::from_millis(1500),
            max_connections: 64,
            tls_handshake_timeout: Duration::from_millis(500),
            drain_timeout: Duration::from_secs(10),
            ..Limits::default()
        };
        let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
        config.threads = 2;
        config.io = io;
        config.limits = limits.clone();
        config.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
        let tls = name.starts_with("tls_").then(|| {
            let (server, client) = make_tls();
            config.tls = Some(server);
            client
        });
        let server = Server::bind(config).expect("bind loopback");
        let addr = server.local_addr();
        let metrics_addr = server.metrics_addr().expect("metrics listener");
        let shutdown = server.shutdown_handle();
        let cancelled = Arc::new(AtomicUsize::new(0));
        let in_slow = Arc::new(AtomicUsize::new(0));
        let (c, s) = (cancelled.clone(), in_slow.clone());
        let join = std::thread::spawn(move || {
            server.run(move |_, driver| TestHandler {
                driver: driver.clone(),
                cancelled: c.clone(),
                in_slow: s.clone(),
            })
        });
        Self {
            addr,
            metrics_addr,
            shutdown,
            cancelled,
            in_slow,
            limits,
            tls,
            join: Mutex::new(Some(join)),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits.clone()
    }

    pub fn tls(&self) -> Option<&TlsClient> {
        self.tls.as_ref()
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s
    }

    /// `GET /metrics` on the metrics listener.
    pub fn scrape(&self) -> String {
        let mut s = TcpStream::connect(self.metrics_addr).expect("connect to metrics");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: m\r\n\r\n")
            .unwrap();
        let r = read_response(&mut s).expect("metrics response");
        assert_eq!(r.status, 200);
        String::from_utf8(r.body).unwrap()
    }

    /// Scrapes until `ready` holds (the server counts a response just
    /// after sending it, so a client may read it first), at most 10 s.
    pub fn scrape_until(&self, ready: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let m = self.scrape();
            if ready(&m) || std::time::Instant::now() > deadline {
                return m;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for `run` to return after a shutdown; it must return `Ok`.
    pub fn wait_stopped(&self) {
        if let Some(j) = self.join.lock().unwrap().take() {
            j.join().expect("server thread").expect("server run");
        }
    }

    fn stop(self) {
        self.shutdown.shutdown();
        self.wait_stopped();
    }
}

/// A response as a client saw it.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
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

/// Reads a status line and header section.
pub fn read_head_only(s: &mut impl Read) -> Option<Resp> {
    let status_line = read_line(s)?;
    let status = status_line.split(' ').nth(1)?.parse().ok()?;
    let headers = read_fields(s)?;
    Some(Resp {
        status,
        headers,
        body: Vec::new(),
        trailers: Vec::new(),
    })
}

/// Reads one whole response (`None` if the connection ended first).
pub fn read_response(s: &mut impl Read) -> Option<Resp> {
    let mut r = read_head_only(s)?;
    if r.status < 200 || r.status == 204 || r.status == 304 {
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

/// Whether the server has closed the connection (end of stream or reset,
/// with no more bytes).
pub fn closed(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 64];
    loop {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => return false,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                );
            }
        }
    }
}

/// Closes `s` with a reset (SO_LINGER 0).
pub fn reset(s: TcpStream) {
    rustix::net::sockopt::set_socket_linger(&s, Some(Duration::ZERO)).expect("SO_LINGER");
    drop(s);
}

/// A TLS client trusting the test certificate.
pub struct TlsClient {
    config: Arc<rustls::ClientConfig>,
}

impl TlsClient {
    pub fn connect(
        &self,
        addr: SocketAddr,
    ) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(self.config.clone(), name).unwrap();
        let sock = TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        rustls::StreamOwned::new(conn, sock)
    }
}

/// A certificate for `localhost` made here, the server's configuration
/// (through the PEM loader) and a client trusting it.
fn make_tls() -> (Arc<rustls::ServerConfig>, TlsClient) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let server = ringwasm_wasi::http::tls::server_config(&cert_path, &key_path).expect("PEM");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    (
        server,
        TlsClient {
            config: Arc::new(client),
        },
    )
}

/// Counts handlers dropped before they finished.
struct CancelGuard(Arc<AtomicUsize>, bool);

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if self.1 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// The native handler the tests run against.
struct TestHandler {
    driver: Driver,
    cancelled: Arc<AtomicUsize>,
    in_slow: Arc<AtomicUsize>,
}

/// Either a whole body or a stream.
enum TestBody {
    Full(Full<Vec<u8>>),
    Chan(BodyChannel),
}

impl ResponseBody for TestBody {
    type Chunk = Vec<u8>;
    fn size(&self) -> BodySize {
        match self {
            Self::Full(b) => b.size(),
            Self::Chan(b) => b.size(),
        }
    }
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, BodyError>> {
        match self {
            Self::Full(b) => b.next_chunk().await,
            Self::Chan(b) => b.next_chunk().await,
        }
    }
    async fn trailers(&mut self) -> Option<Vec<Header>> {
        match self {
            Self::Full(b) => b.trailers().await,
            Self::Chan(b) => b.trailers().await,
        }
    }
}

fn ok(body: Vec<u8>) -> Result<Response<TestBody>, HandlerError> {
    Ok(Response {
        status: 200,
        headers: vec![Header::new("content-type", "text/plain")],
        body: TestBody::Full(Full::new(body)),
    })
}

impl Handler for TestHandler {
    type Body = TestBody;

    async fn handle(&self, mut req: Request) -> Result<Response<TestBody>, HandlerError> {
        let target = req.head.target.clone();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        match path {
            "/hello" => ok(b"hello".to_vec()),
            "/echo" => {
                let mut guard = CancelGuard(self.cancelled.clone(), true);
                let body = req.body.read_to_end().await?;
                guard.1 = false;
                ok(body)
            }
            "/trailers" => {
                let body = req.body.read_to_end().await?;
                let mut r = ok(body)?;
                for t in req.body.trailers().unwrap_or_default() {
                    r.headers
                        .push(Header::new(&format!("got-{}", t.name), t.value));
                }
                Ok(r)
            }
            "/chunks" => {
                let n: usize = query
                    .strip_prefix("n=")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                let (tx, rx) = BodyChannel::new(1024, BodySize::Unknown);
                ringwasm_reactor::spawn(async move {
                    for i in 0..n {
                        if tx.send(format!("chunk {i}\n").into_bytes()).await.is_err() {
                            return;
                        }
                    }
                    tx.finish(Some(vec![Header::new("x-chunks", n.to_string())]));
                });
                Ok(Response {
                    status: 200,
                    headers: vec![],
                    body: TestBody::Chan(rx),
                })
            }
            "/stream-echo" => {
                let (tx, rx) = BodyChannel::new(64 * 1024, BodySize::Unknown);
                let mut body = req.body;
                ringwasm_reactor::spawn(async move {
                    let mut total = 0usize;
                    loop {
                        let (r, chunk) = body.read(Vec::with_capacity(16 * 1024)).await;
                        match r {
                            Ok(0) => break,
                            Ok(n) => total += n,
                            Err(_) => return,
                        }
                        if tx.send(chunk).await.is_err() {
                            return;
                        }
                    }
                    tx.finish(Some(vec![Header::new("x-bytes", total.to_string())]));
                });
                Ok(Response {
                    status: 200,
                    headers: vec![],
                    body: TestBody::Chan(rx),
                })
            }
            "/slow" => {
                let ms: u64 = query
                    .strip_prefix("ms=")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(100);
                self.in_slow.fetch_add(1, Ordering::SeqCst);
                let _ = self
                    .driver
                    .submit(Timeout::new(Duration::from_millis(ms)))
                    .await;
                ok(b"slow".to_vec())
            }
            "/fail" => Err(HandlerError::Trap),
            "/bad-header" => Ok(Response {
                status: 200,
                headers: vec![Header::new("x-a", "b\r\nx-injected: 1")],
                body: TestBody::Full(Full::new(Vec::new())),
            }),
            "/short" => {
                let (tx, rx) = BodyChannel::new(1024, BodySize::Unknown);
                ringwasm_reactor::spawn(async move {
                    let _ = tx.send(b"five!".to_vec()).await;
                    tx.finish(None);
                });
                Ok(Response {
                    status: 200,
                    headers: vec![Header::new("content-length", "10")],
                    body: TestBody::Chan(rx),
                })
            }
            other => ok(other.as_bytes().to_vec()),
        }
    }
}
