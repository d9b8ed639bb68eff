//! TLS for `https://` targets: a rustls client configuration (web PKI roots,
//! or any certificate with `--insecure`) and a byte-stream wrapper that
//! speaks TLS over any nonblocking `Read + Write` socket.

use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

/// Builds the client configuration.
///
/// # Errors
///
/// A rustls error when the protocol versions cannot be configured.
pub fn client_config(insecure: bool) -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(
                provider.signature_verification_algorithms,
            )))
            .with_no_client_auth()
    } else {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// `--insecure`: accepts any server certificate (self-signed included) but
/// still checks the handshake signatures made with it.
#[derive(Debug)]
struct AcceptAnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// A TLS client session over a nonblocking socket.
#[derive(Debug)]
pub struct TlsStream<S> {
    sock: S,
    conn: ClientConnection,
}

impl<S: Read + Write> TlsStream<S> {
    /// Starts a session with `server_name` over `sock`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when the name is not a valid DNS name or address, or
    /// the session cannot be created.
    pub fn new(config: Arc<ClientConfig>, server_name: &str, sock: S) -> io::Result<Self> {
        let name = ServerName::try_from(server_name.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
        Ok(Self { sock, conn })
    }

    /// The socket underneath.
    pub fn socket_mut(&mut self) -> &mut S {
        &mut self.sock
    }

    /// Whether the handshake is still in progress (a failure now is a
    /// connect failure, not a read failure).
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Writes out pending TLS records. Returns whether none remain.
    ///
    /// # Errors
    ///
    /// The socket's write error (`WouldBlock` is not an error: it returns
    /// `Ok(false)`).
    pub fn flush_tls(&mut self) -> io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Queues plaintext (sent once the handshake completes) and flushes
    /// what can be flushed. Returns whether everything is on the wire.
    ///
    /// # Errors
    ///
    /// The socket's write error.
    pub fn send(&mut self, data: &[u8]) -> io::Result<bool> {
        self.conn.writer().write_all(data)?;
        self.flush_tls()
    }

    /// Reads plaintext; `WouldBlock` when none is available yet, `Ok(0)` at
    /// the end of the stream.
    ///
    /// # Errors
    ///
    /// The socket's read error, or `InvalidData` for a TLS protocol error.
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            match self.conn.read_tls(&mut self.sock) {
                Ok(0) => return Ok(0),
                Ok(_) => {
                    self.conn
                        .process_new_packets()
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                    // Handshake answers left over go out on the next
                    // writable event.
                    self.flush_tls()?;
                }
                Err(e) => return Err(e),
            }
        }
    }
}
