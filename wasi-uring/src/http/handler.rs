//! What the wasi:http glue implements: [`Handler`] gets a [`Request`] (its
//! head and a streaming [`RequestBody`]) and produces a [`Response`] whose
//! body is a [`ResponseBody`] the server pulls from, one chunk at a time
//! (that pull is the backpressure). Handlers are per thread and not `Send`.
//!
//! How the two wasi:http worlds map onto it:
//! - 0.2 `incoming-handler.handle(request, response-outparam)`: the glue's
//!   `handle` starts the guest and resolves once the guest has called
//!   `response-outparam.set`; the response body is a [`BodyChannel`] the
//!   guest's `outgoing-body` output stream writes into (its `check-write`
//!   is the channel's free room), and finishing the body sets trailers.
//!   The guest task lives on inside the body, so dropping the body (the
//!   client went away) cancels the guest.
//! - 0.3 `handler.handle(request) -> result<response, error-code>`: the
//!   returned response's `stream<u8>` is the body, its `future<trailers>`
//!   is [`ResponseBody::trailers`]; an `error-code` is a [`HandlerError`].
//!
//! The request body is read into a buffer the caller provides
//! ([`BodyBuf`], an [`IoBufMut`]): on a plain connection whose buffered
//! bytes are used up, the kernel receives straight into it, so guest memory
//! can be the target under the reactor's buffer rule.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use ringwasm_reactor::{IoBuf, IoBufMut};

use crate::http::error::BodyError;
use crate::http::h1::{Header, RequestHead};

pub use crate::http::server::conn::RequestBody;

/// Serves requests on one thread. Made once per server thread, never sent
/// between threads.
pub trait Handler: 'static {
    /// The response body type.
    type Body: ResponseBody;

    /// Handles one request. The future is dropped if the client resets
    /// the connection (cancellation). An error gives a 500 for this
    /// request only (503 for [`HandlerError::Unavailable`]).
    fn handle(
        &self,
        req: Request,
    ) -> impl Future<Output = Result<Response<Self::Body>, HandlerError>>;
}

/// Whether the request came over TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Plain TCP.
    Http,
    /// TLS.
    Https,
}

/// One request: its head and its streaming body.
#[derive(Debug)]
pub struct Request {
    /// Request line and header fields.
    pub head: RequestHead,
    /// The body, read with [`RequestBody::read`].
    pub body: RequestBody,
    /// The client's address, when known.
    pub peer: Option<SocketAddr>,
    /// `http` or `https`.
    pub scheme: Scheme,
}

/// The response a handler produces.
#[derive(Debug)]
pub struct Response<B> {
    /// Status code, 200 to 599 (1xx are the server's business).
    pub status: u16,
    /// Header fields. `content-length`, when valid, declares the body's
    /// length; `transfer-encoding`, `connection` and `keep-alive` are the
    /// server's and are dropped.
    pub headers: Vec<Header>,
    /// The body.
    pub body: B,
}

/// Why a handler failed. The client gets a 500 (503 for `Unavailable`),
/// and only this request is affected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// The guest trapped.
    #[error("the handler trapped")]
    Trap,
    /// The handler ran past its deadline.
    #[error("the handler timed out")]
    Timeout,
    /// No instance could be had (pool exhausted, limits).
    #[error("no handler instance available")]
    Unavailable,
    /// Reading the request body failed.
    #[error("reading the request body: {0}")]
    Body(#[from] BodyError),
    /// The handler produced an invalid response (status or header).
    #[error("invalid response: {0}")]
    InvalidResponse(&'static str),
    /// The guest gave no response: it answered with an `error-code`, or
    /// returned without setting one.
    #[error("{0}")]
    Guest(&'static str),
}

/// The length of a response body, when known before it is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodySize {
    /// Exactly this many bytes (sent with `content-length`).
    Known(u64),
    /// Unknown: chunked to HTTP/1.1 clients, close-delimited to HTTP/1.0.
    Unknown,
}

/// A response body the server pulls from. `next_chunk` is called again
/// only after the previous chunk was handed to the kernel.
pub trait ResponseBody: 'static {
    /// One piece of the body: lent to the kernel as is (no copy on a plain
    /// connection), read as bytes for TLS and chunk framing.
    type Chunk: IoBuf + AsRef<[u8]>;

    /// The body's length, if known before it is sent.
    fn size(&self) -> BodySize;

    /// The next piece, `None` at the end. An error aborts the response
    /// (the connection is closed, so the client sees it truncated).
    fn next_chunk(&mut self) -> impl Future<Output = Option<Result<Self::Chunk, BodyError>>>;

    /// The trailer fields, asked once after the last piece; sent only
    /// with chunked framing.
    fn trailers(&mut self) -> impl Future<Output = Option<Vec<Header>>> {
        std::future::ready(None)
    }
}

/// A buffer a request body is read into: the reactor may receive into it
/// directly ([`IoBufMut`]), and the server may copy buffered bytes into it.
pub trait BodyBuf: IoBufMut {
    /// The writable bytes: the same `bytes_total()` bytes from
    /// `stable_mut_ptr()` that the kernel would write.
    fn writable(&mut self) -> &mut [u8];
    /// Records that the first `n` bytes hold body data.
    fn filled(&mut self, n: usize);
}

impl BodyBuf for Vec<u8> {
    fn writable(&mut self) -> &mut [u8] {
        let cap = self.capacity();
        self.resize(cap, 0);
        self.as_mut_slice()
    }
    fn filled(&mut self, n: usize) {
        self.truncate(n);
    }
}

impl BodyBuf for Box<[u8]> {
    fn writable(&mut self) -> &mut [u8] {
        self
    }
    fn filled(&mut self, _n: usize) {}
}

/// A body with no bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Empty;

impl ResponseBody for Empty {
    type Chunk = &'static [u8];
    fn size(&self) -> BodySize {
        BodySize::Known(0)
    }
    fn next_chunk(&mut self) -> impl Future<Output = Option<Result<Self::Chunk, BodyError>>> {
        std::future::ready(None)
    }
}

/// A body of one piece, known in full.
#[derive(Debug)]
pub struct Full<T> {
    data: Option<T>,
    len: u64,
}

impl<T: IoBuf + AsRef<[u8]>> Full<T> {
    /// A body holding `data`.
    pub fn new(data: T) -> Self {
        let len = data.as_ref().len() as u64;
        Self {
            data: Some(data),
            len,
        }
    }
}

impl<T: IoBuf + AsRef<[u8]>> ResponseBody for Full<T> {
    type Chunk = T;
    fn size(&self) -> BodySize {
        BodySize::Known(self.len)
    }
    fn next_chunk(&mut self) -> impl Future<Output = Option<Result<T, BodyError>>> {
        std::future::ready(self.data.take().map(Ok))
    }
}

#[derive(Debug, Default)]
struct ChannelState {
    queue: VecDeque<Vec<u8>>,
    queued_bytes: usize,
    capacity: usize,
    finished: bool,
    failed: bool,
    receiver_gone: bool,
    trailers: Option<Vec<Header>>,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
}

/// A streaming body with bounded room: the producer's
/// [`BodySender::send`] waits while `capacity` bytes are queued and the
/// server has not taken them (backpressure). What the wasi:http 0.2
/// `outgoing-body` stream writes into.
#[derive(Debug)]
pub struct BodyChannel {
    state: Rc<RefCell<ChannelState>>,
    size: BodySize,
}

/// The producing half of a [`BodyChannel`].
#[derive(Debug)]
pub struct BodySender {
    state: Rc<RefCell<ChannelState>>,
}

impl BodyChannel {
    /// A channel holding up to `capacity` bytes (at least one chunk is
    /// always accepted) of a body of `size`.
    pub fn new(capacity: usize, size: BodySize) -> (BodySender, Self) {
        let state = Rc::new(RefCell::new(ChannelState {
            capacity: capacity.max(1),
            ..ChannelState::default()
        }));
        (
            BodySender {
                state: state.clone(),
            },
            Self { state, size },
        )
    }
}

impl BodySender {
    /// How many bytes may be sent now without waiting (wasi:io
    /// `check-write`).
    pub fn room(&self) -> usize {
        let s = self.state.borrow();
        s.capacity.saturating_sub(s.queued_bytes)
    }

    /// Queues `data`, waiting while the channel is full.
    ///
    /// # Errors
    ///
    /// [`BodyError::Io`] (`BrokenPipe`) when the server dropped the body
    /// (the client went away).
    pub async fn send(&self, data: Vec<u8>) -> Result<(), BodyError> {
        std::future::poll_fn(|cx| {
            let mut s = self.state.borrow_mut();
            if s.receiver_gone {
                return Poll::Ready(Err(BodyError::Io(std::io::ErrorKind::BrokenPipe)));
            }
            if s.queued_bytes == 0 || s.queued_bytes + data.len() <= s.capacity {
                return Poll::Ready(Ok(()));
            }
            s.tx_waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await?;
        let mut s = self.state.borrow_mut();
        s.queued_bytes += data.len();
        s.queue.push_back(data);
        if let Some(w) = s.rx_waker.take() {
            w.wake();
        }
        Ok(())
    }

    /// Queues `data` without waiting, whatever the room (a producer that
    /// asked [`BodySender::room`] first stays within it; wasi:io `write`
    /// after `check-write`).
    ///
    /// # Errors
    ///
    /// [`BodyError::Io`] (`BrokenPipe`) when the server dropped the body.
    pub fn push(&self, data: Vec<u8>) -> Result<(), BodyError> {
        let mut s = self.state.borrow_mut();
        if s.receiver_gone {
            return Err(BodyError::Io(std::io::ErrorKind::BrokenPipe));
        }
        if data.is_empty() {
            return Ok(());
        }
        s.queued_bytes += data.len();
        s.queue.push_back(data);
        if let Some(w) = s.rx_waker.take() {
            w.wake();
        }
        Ok(())
    }

    /// Whether the server dropped the body (the client went away).
    pub fn is_closed(&self) -> bool {
        self.state.borrow().receiver_gone
    }

    /// Ready when there is room for more bytes, or the server dropped the
    /// body (what a wasi:io output stream's pollable waits for).
    pub fn poll_room(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.state.borrow_mut();
        if s.receiver_gone || s.queued_bytes < s.capacity {
            return Poll::Ready(());
        }
        s.tx_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Ready when the server has taken every queued byte, or dropped the
    /// body (wasi:io `blocking-flush`).
    pub fn poll_drained(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.state.borrow_mut();
        if s.receiver_gone || s.queued_bytes == 0 {
            return Poll::Ready(());
        }
        s.tx_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Ends the body, with trailers to send (chunked responses only).
    pub fn finish(self, trailers: Option<Vec<Header>>) {
        let mut s = self.state.borrow_mut();
        s.finished = true;
        s.trailers = trailers;
        if let Some(w) = s.rx_waker.take() {
            w.wake();
        }
    }
}

impl Drop for BodySender {
    /// A sender dropped without [`BodySender::finish`] fails the body, so
    /// the client sees it truncated rather than complete.
    fn drop(&mut self) {
        let mut s = self.state.borrow_mut();
        if !s.finished {
            s.failed = true;
        }
        if let Some(w) = s.rx_waker.take() {
            w.wake();
        }
    }
}

impl Drop for BodyChannel {
    fn drop(&mut self) {
        let mut s = self.state.borrow_mut();
        s.receiver_gone = true;
        s.queue.clear();
        if let Some(w) = s.tx_waker.take() {
            w.wake();
        }
    }
}

impl BodyChannel {
    /// [`ResponseBody::next_chunk`] as a poll, for bodies that wrap a
    /// channel and poll something else beside it.
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Vec<u8>, BodyError>>> {
        let mut s = self.state.borrow_mut();
        if let Some(chunk) = s.queue.pop_front() {
            s.queued_bytes -= chunk.len();
            if let Some(w) = s.tx_waker.take() {
                w.wake();
            }
            return Poll::Ready(Some(Ok(chunk)));
        }
        if s.finished {
            return Poll::Ready(None);
        }
        if s.failed {
            return Poll::Ready(Some(Err(BodyError::Producer)));
        }
        s.rx_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// The trailers [`BodySender::finish`] set, once.
    pub fn take_trailers(&mut self) -> Option<Vec<Header>> {
        self.state.borrow_mut().trailers.take()
    }
}

impl ResponseBody for BodyChannel {
    type Chunk = Vec<u8>;

    fn size(&self) -> BodySize {
        self.size
    }

    fn next_chunk(&mut self) -> impl Future<Output = Option<Result<Vec<u8>, BodyError>>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx))
    }

    fn trailers(&mut self) -> impl Future<Output = Option<Vec<Header>>> {
        std::future::ready(self.state.borrow_mut().trailers.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;

    fn poll_once<F: Future>(f: F) -> Poll<F::Output> {
        let mut f = pin!(f);
        f.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn channel_applies_backpressure_and_carries_trailers() {
        let (tx, mut rx) = BodyChannel::new(8, BodySize::Unknown);
        assert!(poll_once(tx.send(vec![1; 6])).is_ready());
        assert_eq!(tx.room(), 2);
        assert!(poll_once(tx.send(vec![2; 6])).is_pending(), "full: waits");
        let Poll::Ready(Some(Ok(c))) = poll_once(rx.next_chunk()) else {
            panic!("a chunk is queued");
        };
        assert_eq!(c, vec![1; 6]);
        assert!(poll_once(tx.send(vec![2; 6])).is_ready());
        tx.finish(Some(vec![Header::new("x-t", "1")]));
        assert!(matches!(
            poll_once(rx.next_chunk()),
            Poll::Ready(Some(Ok(_)))
        ));
        assert!(matches!(poll_once(rx.next_chunk()), Poll::Ready(None)));
        assert!(matches!(poll_once(rx.trailers()), Poll::Ready(Some(t)) if t.len() == 1));
    }

    #[test]
    fn dropped_sender_fails_the_body_and_dropped_body_fails_the_sender() {
        let (tx, mut rx) = BodyChannel::new(8, BodySize::Unknown);
        drop(tx);
        assert!(matches!(
            poll_once(rx.next_chunk()),
            Poll::Ready(Some(Err(BodyError::Producer)))
        ));
        let (tx, rx) = BodyChannel::new(8, BodySize::Unknown);
        drop(rx);
        assert!(matches!(
            poll_once(tx.send(vec![1])),
            Poll::Ready(Err(BodyError::Io(_)))
        ));
    }

    #[test]
    fn vec_body_buf_exposes_its_capacity() {
        let mut v: Vec<u8> = Vec::with_capacity(16);
        let cap = v.capacity();
        assert_eq!(v.writable().len(), cap);
        v.writable()[..3].copy_from_slice(b"abc");
        v.filled(3);
        assert_eq!(v, b"abc");
    }
}
