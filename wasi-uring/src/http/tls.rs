//! TLS for the server: certificates and keys from PEM files, and
//! [`TlsStream`], rustls' **unbuffered** connection driven one step at a
//! time over the reactor. Every record the connection sends or receives is
//! its own ring op with a linked timeout, so dropping the future between
//! two records cancels the exchange there.
//!
//! The steps (`process_tls_records`): `EncodeTlsData` writes handshake
//! bytes into the outgoing buffer; `TransmitTlsData` sends them;
//! `BlockedHandshake` and an idle `WriteTraffic` receive more ciphertext;
//! `ReadTraffic` moves decrypted records to the plaintext buffer;
//! `WriteTraffic` encrypts application data. No borrow of the connection
//! spans an await: each step is synchronous, and the I/O it asks for runs
//! after it.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, UnbufferedStatus};

use crate::http::error::{Error, TlsFileError};
use crate::http::server::transport::{IoFail, Plain};

/// The ALPN protocol the server offers.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// Builds the server's TLS configuration from PEM files: a certificate
/// chain and its private key (PKCS#8, PKCS#1 RSA or SEC1 EC), ALPN
/// `http/1.1`, TLS 1.2 and 1.3, and session resumption (a session cache
/// for TLS 1.2 IDs, stateless tickets for both).
///
/// # Errors
///
/// [`Error::Tls`] naming the file and what was wrong with it.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, Error> {
    let bad = |what: &'static str, path: &Path, reason: String| {
        Error::Tls(Box::new(TlsFileError {
            what,
            path: path.to_path_buf(),
            reason,
        }))
    };
    let mut certs_in =
        BufReader::new(File::open(cert).map_err(|e| bad("certificate", cert, e.to_string()))?);
    let chain: Vec<_> = rustls_pemfile::certs(&mut certs_in)
        .collect::<Result<_, _>>()
        .map_err(|e| bad("certificate", cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(bad("certificate", cert, "no PEM CERTIFICATE block".into()));
    }
    let mut key_in = BufReader::new(File::open(key).map_err(|e| bad("key", key, e.to_string()))?);
    let key_der = rustls_pemfile::private_key(&mut key_in)
        .map_err(|e| bad("key", key, e.to_string()))?
        .ok_or_else(|| bad("key", key, "no PEM private key block".into()))?;
    from_der(chain, key_der).map_err(|e| bad("key", key, e.to_string()))
}

/// As [`server_config`], from DER values already in memory.
///
/// # Errors
///
/// rustls' reason when the key does not fit the certificate or is of an
/// unsupported type.
pub fn from_der(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    // `ring`, or on Apple targets graviola (`ring` needs the Apple SDK's
    // C headers to build: docs/design/platforms.md).
    #[cfg(not(target_vendor = "apple"))]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    #[cfg(target_vendor = "apple")]
    let provider = Arc::new(rustls_graviola::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    #[cfg(not(target_vendor = "apple"))]
    let ticketer = rustls::crypto::ring::Ticketer::new()?;
    #[cfg(target_vendor = "apple")]
    let ticketer = rustls_graviola::Ticketer::new()?;
    config.ticketer = ticketer;
    config.session_storage = rustls::server::ServerSessionMemoryCache::new(4096);
    Ok(Arc::new(config))
}

/// Why a TLS step failed.
fn tls_fail(e: &rustls::Error) -> IoFail {
    tracing::debug!(target: "ringwasm::http", error = %e, "TLS error");
    IoFail::Other(io::ErrorKind::InvalidData)
}

/// What one synchronous step asks for next.
enum Next {
    /// Send these bytes, then step again.
    Transmit(Vec<u8>),
    /// Receive more ciphertext, then step again.
    Receive,
    /// The handshake is over and nothing is pending: application data may
    /// flow.
    Ready,
    /// The peer closed (`close_notify`) or the connection is closed.
    Closed,
}

/// A TLS connection over a plain one, driven record by record.
pub struct TlsStream {
    plain: Plain,
    conn: RefCell<UnbufferedServerConnection>,
    /// Received ciphertext not yet processed (freed when empty).
    incoming: RefCell<Vec<u8>>,
    /// Decrypted bytes not yet handed out.
    plaintext: RefCell<Vec<u8>>,
    peer_closed: Cell<bool>,
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("plain", &self.plain)
            .field("peer_closed", &self.peer_closed.get())
            .finish_non_exhaustive()
    }
}

impl TlsStream {
    /// Runs the server handshake on `plain` within `timeout`.
    pub(crate) async fn accept(
        plain: Plain,
        config: Arc<rustls::ServerConfig>,
        timeout: Duration,
    ) -> Result<Self, IoFail> {
        let conn = UnbufferedServerConnection::new(config).map_err(|e| tls_fail(&e))?;
        let s = Self {
            plain,
            conn: RefCell::new(conn),
            incoming: RefCell::new(Vec::new()),
            plaintext: RefCell::new(Vec::new()),
            peer_closed: Cell::new(false),
        };
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(IoFail::Timeout);
            }
            match s.step()? {
                Next::Transmit(bytes) => {
                    s.plain.send_vec(bytes, left).await?;
                }
                Next::Receive => {
                    if s.receive(left).await? == 0 {
                        return Err(IoFail::Other(io::ErrorKind::UnexpectedEof));
                    }
                }
                Next::Ready => return Ok(s),
                Next::Closed => return Err(IoFail::Other(io::ErrorKind::UnexpectedEof)),
            }
        }
    }

    /// Receives ciphertext into `incoming`; `Ok(0)` at end of stream.
    async fn receive(&self, timeout: Duration) -> Result<usize, IoFail> {
        let mut buf = std::mem::take(&mut *self.incoming.borrow_mut());
        let r = self.plain.recv_append(&mut buf, timeout).await;
        *self.incoming.borrow_mut() = buf;
        r
    }

    /// One pass of `process_tls_records` until it needs I/O.
    fn step(&self) -> Result<Next, IoFail> {
        let mut conn = self.conn.borrow_mut();
        let mut incoming = self.incoming.borrow_mut();
        let mut out = Vec::new();
        loop {
            let UnbufferedStatus { discard, state } = conn.process_tls_records(&mut incoming);
            let next = match state.map_err(|e| tls_fail(&e))? {
                ConnectionState::ReadTraffic(mut records) => {
                    let mut plain = self.plaintext.borrow_mut();
                    while let Some(record) = records.next_record() {
                        let record = record.map_err(|e| tls_fail(&e))?;
                        plain.extend_from_slice(record.payload);
                    }
                    None
                }
                ConnectionState::EncodeTlsData(mut enc) => {
                    let at = out.len();
                    out.resize(at + 4096, 0);
                    let n = match enc.encode(&mut out[at..]) {
                        Ok(n) => n,
                        Err(EncodeError::InsufficientSize(need)) => {
                            out.resize(at + need.required_size, 0);
                            enc.encode(&mut out[at..])
                                .map_err(|_| IoFail::Other(io::ErrorKind::Other))?
                        }
                        Err(_) => return Err(IoFail::Other(io::ErrorKind::Other)),
                    };
                    out.truncate(at + n);
                    None
                }
                ConnectionState::TransmitTlsData(t) => {
                    t.done();
                    Some(Next::Transmit(std::mem::take(&mut out)))
                }
                ConnectionState::BlockedHandshake => Some(Next::Receive),
                ConnectionState::WriteTraffic(_) => Some(Next::Ready),
                ConnectionState::PeerClosed | ConnectionState::Closed => {
                    self.peer_closed.set(true);
                    Some(Next::Closed)
                }
                _ => Some(Next::Receive),
            };
            if discard > 0 {
                incoming.drain(..discard);
            }
            if incoming.is_empty() && incoming.capacity() > 0 {
                *incoming = Vec::new();
            }
            if let Some(next) = next {
                return Ok(next);
            }
        }
    }

    /// Receives decrypted bytes, appending them to `into`; `Ok(0)` once the
    /// peer has closed.
    pub(crate) async fn recv_append(
        &self,
        into: &mut Vec<u8>,
        timeout: Duration,
    ) -> Result<usize, IoFail> {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let mut plain = self.plaintext.borrow_mut();
                if !plain.is_empty() {
                    let n = plain.len();
                    into.append(&mut plain);
                    *plain = Vec::new();
                    return Ok(n);
                }
            }
            if self.peer_closed.get() {
                return Ok(0);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(IoFail::Timeout);
            }
            match self.step()? {
                Next::Transmit(bytes) => {
                    self.plain.send_vec(bytes, left).await?;
                }
                Next::Ready | Next::Receive => {
                    if !self.plaintext.borrow().is_empty() {
                        continue;
                    }
                    if self.receive(left).await? == 0 {
                        self.peer_closed.set(true);
                    }
                }
                Next::Closed => {}
            }
        }
    }

    /// Encrypts and sends all of `data`.
    pub(crate) async fn send(&self, data: &[u8], timeout: Duration) -> Result<(), IoFail> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.step()? {
                Next::Transmit(bytes) => {
                    self.plain.send_vec(bytes, left).await?;
                }
                Next::Ready => break,
                Next::Receive => return Err(IoFail::Other(io::ErrorKind::NotConnected)),
                Next::Closed => return Err(IoFail::Other(io::ErrorKind::BrokenPipe)),
            }
        }
        let out = self.encrypt(|wt, out| wt.encrypt(data, out), data.len())?;
        let left = deadline.saturating_duration_since(Instant::now());
        self.plain.send_vec(out, left).await.map(drop)
    }

    /// Runs `f` (encrypt or close_notify) in the `WriteTraffic` state, growing
    /// the output buffer if it is too small.
    fn encrypt(
        &self,
        mut f: impl FnMut(
            &mut rustls::unbuffered::WriteTraffic<'_, rustls::server::ServerConnectionData>,
            &mut [u8],
        ) -> Result<usize, EncryptError>,
        len: usize,
    ) -> Result<Vec<u8>, IoFail> {
        let mut conn = self.conn.borrow_mut();
        let mut incoming = self.incoming.borrow_mut();
        let UnbufferedStatus { state, .. } = conn.process_tls_records(&mut incoming);
        let ConnectionState::WriteTraffic(mut wt) = state.map_err(|e| tls_fail(&e))? else {
            return Err(IoFail::Other(io::ErrorKind::WouldBlock));
        };
        let mut out = vec![0u8; len + (len / 16_384 + 1) * 64];
        let n = match f(&mut wt, &mut out) {
            Ok(n) => n,
            Err(EncryptError::InsufficientSize(need)) => {
                out.resize(need.required_size, 0);
                f(&mut wt, &mut out).map_err(|_| IoFail::Other(io::ErrorKind::Other))?
            }
            Err(_) => return Err(IoFail::Other(io::ErrorKind::Other)),
        };
        out.truncate(n);
        Ok(out)
    }

    /// Sends `close_notify`, then ends the TCP sending half.
    pub(crate) async fn close(&self, timeout: Duration) {
        if let Ok(out) = self.encrypt(|wt, out| wt.queue_close_notify(out), 0) {
            let _ = self.plain.send_vec(out, timeout).await;
        }
        self.plain.shutdown_write().await;
    }
}
