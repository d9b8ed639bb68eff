//! The byte pipe under a connection: plain TCP through reactor ops, or TLS
//! ([`crate::http::tls::TlsStream`]) on top of the same ops. Every receive
//! and send carries a linked timeout, so a stalled peer never holds a
//! connection past its limit.

use std::io;
use std::net::Shutdown as How;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use ringwasm_reactor::op::{Recv, RecvProvided, Send, Shutdown};
use ringwasm_reactor::{BufRing, Driver, IoBuf, IoBufMut};

use crate::http::tls::TlsStream;

/// Receive size when no provided-buffer ring is at hand (or it is empty).
const RECV_CHUNK: usize = 4096;

/// Why a receive or send did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IoFail {
    /// The linked timeout fired.
    Timeout,
    /// Any other failure (reset, TLS alert, ...).
    Other(io::ErrorKind),
}

impl IoFail {
    pub(crate) fn from_io(e: &io::Error) -> Self {
        if e.raw_os_error() == Some(libc::ECANCELED) {
            Self::Timeout
        } else {
            Self::Other(e.kind())
        }
    }
}

/// A plain TCP connection on the thread's reactor.
#[derive(Debug)]
pub(crate) struct Plain {
    pub(crate) fd: OwnedFd,
    pub(crate) driver: Driver,
    pub(crate) ring: Option<BufRing>,
}

impl Plain {
    /// Receives what has arrived (up to one buffer), appending it to
    /// `into`; `Ok(0)` at end of stream. A waiting receive pins no buffer
    /// when the thread has a provided-buffer ring.
    pub(crate) async fn recv_append(
        &self,
        into: &mut Vec<u8>,
        timeout: Duration,
    ) -> Result<usize, IoFail> {
        let fd = self.fd.as_raw_fd();
        if let Some(ring) = &self.ring {
            let op = RecvProvided::new(fd, ring);
            match self.driver.submit_with_timeout(op, timeout).await {
                Ok(got) => {
                    into.extend_from_slice(got.as_slice());
                    return Ok(got.len());
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {}
                Err(e) => return Err(IoFail::from_io(&e)),
            }
        }
        let op = Recv::new(fd, Vec::with_capacity(RECV_CHUNK));
        match self.driver.submit_with_timeout(op, timeout).await {
            (Ok(n), buf) => {
                into.extend_from_slice(&buf[..n.min(buf.len())]);
                Ok(n)
            }
            (Err(e), _) => Err(IoFail::from_io(&e)),
        }
    }

    /// Receives straight into `buf` (its first `bytes_total()` bytes).
    pub(crate) async fn recv_direct<B: IoBufMut>(
        &self,
        buf: B,
        timeout: Duration,
    ) -> (Result<usize, IoFail>, B) {
        let op = Recv::new(self.fd.as_raw_fd(), buf);
        let (r, buf) = self.driver.submit_with_timeout(op, timeout).await;
        (r.map_err(|e| IoFail::from_io(&e)), buf)
    }

    /// Sends all of `data`; gives the buffer back for reuse.
    pub(crate) async fn send_vec(
        &self,
        mut data: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, IoFail> {
        while !data.is_empty() {
            let op = Send::new(self.fd.as_raw_fd(), data);
            let (r, back) = self.driver.submit_with_timeout(op, timeout).await;
            data = back;
            match r {
                Ok(0) => return Err(IoFail::Other(io::ErrorKind::WriteZero)),
                Ok(n) => {
                    data.drain(..n.min(data.len()));
                }
                Err(e) => return Err(IoFail::from_io(&e)),
            }
        }
        Ok(data)
    }

    /// Sends all of `chunk`, lent to the kernel as is; after a partial send
    /// the rest is copied (the chunk type need not be sliceable).
    pub(crate) async fn send_chunk<C: IoBuf + AsRef<[u8]>>(
        &self,
        chunk: C,
        timeout: Duration,
    ) -> Result<(), IoFail> {
        let total = chunk.as_ref().len();
        let op = Send::new(self.fd.as_raw_fd(), chunk);
        let (r, chunk) = self.driver.submit_with_timeout(op, timeout).await;
        let n = r.map_err(|e| IoFail::from_io(&e))?;
        if n >= total {
            return Ok(());
        }
        if n == 0 {
            return Err(IoFail::Other(io::ErrorKind::WriteZero));
        }
        let rest = chunk.as_ref()[n..].to_vec();
        self.send_vec(rest, timeout).await.map(drop)
    }

    /// Shuts down the sending half (the peer sees end of stream).
    pub(crate) async fn shutdown_write(&self) {
        let op = Shutdown::new(self.fd.as_raw_fd(), How::Write);
        let _ = self.driver.submit(op).await;
    }
}

/// A connection's transport.
#[derive(Debug)]
pub(crate) enum Transport {
    /// Plain TCP.
    Plain(Plain),
    /// TLS over TCP (boxed: the rustls state is large).
    Tls(Box<TlsStream>),
}

impl Transport {
    /// As [`Plain::recv_append`]: plaintext bytes, appended.
    pub(crate) async fn recv_append(
        &self,
        into: &mut Vec<u8>,
        timeout: Duration,
    ) -> Result<usize, IoFail> {
        match self {
            Self::Plain(p) => p.recv_append(into, timeout).await,
            // Boxed, as every TLS future here: a plain connection's task
            // then does not carry the size of the TLS states.
            Self::Tls(t) => Box::pin(t.recv_append(into, timeout)).await,
        }
    }

    /// Whether [`Plain::recv_direct`] is possible (no TLS in between).
    pub(crate) fn plain(&self) -> Option<&Plain> {
        match self {
            Self::Plain(p) => Some(p),
            Self::Tls(_) => None,
        }
    }

    /// Sends all of `data`, returning the buffer.
    pub(crate) async fn send_vec(
        &self,
        data: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, IoFail> {
        match self {
            Self::Plain(p) => p.send_vec(data, timeout).await,
            Self::Tls(t) => Box::pin(t.send(&data, timeout)).await.map(|()| data),
        }
    }

    /// Sends all of `chunk`.
    pub(crate) async fn send_chunk<C: IoBuf + AsRef<[u8]>>(
        &self,
        chunk: C,
        timeout: Duration,
    ) -> Result<(), IoFail> {
        match self {
            Self::Plain(p) => p.send_chunk(chunk, timeout).await,
            Self::Tls(t) => Box::pin(t.send(chunk.as_ref(), timeout)).await,
        }
    }

    /// Ends the sending half (TLS: `close_notify` first).
    pub(crate) async fn shutdown_write(&self) {
        match self {
            Self::Plain(p) => p.shutdown_write().await,
            Self::Tls(t) => Box::pin(t.close(Duration::from_secs(1))).await,
        }
    }
}
