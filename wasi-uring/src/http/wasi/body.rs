//! The bodies of wasi:http 0.2 as wasi:io streams.
//!
//! - An `incoming-body`'s `input-stream` reads the server's
//!   [`RequestBody`] through a [`BodyReader`]: one read in flight at a time,
//!   kept across non-blocking `read`s and pollables, so no received byte is
//!   ever dropped by a cancelled read.
//! - An `outgoing-body`'s `output-stream` writes into a [`BodySender`]:
//!   `check-write` is the channel's free room, the server pulling chunks
//!   is what frees it (the backpressure), and `blocking-flush` waits until
//!   the server has taken every byte.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use ringwasm_reactor::inline::Inline;

use crate::http::error::BodyError;
use crate::http::h1::Header;
use crate::http::handler::{BodySender, RequestBody};
use crate::p2::io::{HostReady, InputSource, OutputSink, Readiness, StreamError};

/// Bytes asked of the server per request-body read.
const READ_CHUNK: usize = 64 * 1024;

/// Room of an outgoing body's channel: what `check-write` reports when
/// nothing is queued.
pub(crate) const BODY_CHANNEL_CAPACITY: usize = 64 * 1024;

type ReadFuture = Pin<Box<dyn Future<Output = (RequestBody, Result<usize, BodyError>, Vec<u8>)>>>;

/// Where a request body's reader stands.
enum ReadState {
    /// More may come.
    Open,
    /// The body ended; its trailers (if any) are with the body.
    End,
    /// Reading failed.
    Failed(BodyError),
}

/// The reading side of a request body, shared by the `incoming-body`, its
/// `input-stream`, their pollables and the `future-trailers`.
pub struct BodyReader {
    /// The body, when no read holds it.
    body: Option<RequestBody>,
    /// The read in flight (it owns the body until it completes).
    pending: Option<ReadFuture>,
    /// Bytes read and not yet handed to the guest.
    buf: Vec<u8>,
    pos: usize,
    state: ReadState,
    /// Trailers, once the body ended (taken by `future-trailers.get`).
    trailers: Option<Vec<Header>>,
}

impl std::fmt::Debug for BodyReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyReader")
            .field("buffered", &(self.buf.len() - self.pos))
            .field("reading", &self.pending.is_some())
            .finish_non_exhaustive()
    }
}

impl BodyReader {
    /// A reader of `body`.
    pub fn new(body: RequestBody) -> Rc<RefCell<Self>> {
        Rc::new(RefCell::new(BodyReader {
            body: Some(body),
            pending: None,
            buf: Vec::new(),
            pos: 0,
            state: ReadState::Open,
            trailers: None,
        }))
    }

    /// Ready when bytes are buffered, or the body ended or failed; starts
    /// a read when none is in flight.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.pos < self.buf.len() || !matches!(self.state, ReadState::Open) {
            return Poll::Ready(());
        }
        if self.pending.is_none() {
            let Some(mut body) = self.body.take() else {
                self.state = ReadState::Failed(BodyError::Producer);
                return Poll::Ready(());
            };
            self.pending = Some(Box::pin(async move {
                let (r, buf) = body.read(Vec::with_capacity(READ_CHUNK)).await;
                (body, r, buf)
            }));
        }
        let Some(fut) = self.pending.as_mut() else {
            return Poll::Ready(());
        };
        let Poll::Ready((body, r, buf)) = fut.as_mut().poll(cx) else {
            return Poll::Pending;
        };
        self.pending = None;
        match r {
            Ok(0) => {
                self.trailers = body.trailers();
                self.state = ReadState::End;
            }
            Ok(_) => {
                self.buf = buf;
                self.pos = 0;
            }
            Err(e) => self.state = ReadState::Failed(e),
        }
        self.body = Some(body);
        Poll::Ready(())
    }

    /// Up to `len` buffered bytes; `Closed` at the end.
    fn take(&mut self, len: usize) -> Result<Vec<u8>, StreamError> {
        if self.pos < self.buf.len() {
            let n = len.min(self.buf.len() - self.pos);
            let out = self.buf[self.pos..self.pos + n].to_vec();
            self.pos += n;
            if self.pos == self.buf.len() {
                self.buf = Vec::new();
                self.pos = 0;
            }
            return Ok(out);
        }
        match &self.state {
            ReadState::Open => Ok(Vec::new()),
            ReadState::End => Err(StreamError::Closed),
            ReadState::Failed(e) => Err(StreamError::Failed(std::io::Error::other(*e))),
        }
    }

    /// Ready when the body has been read to its end (the data is dropped)
    /// or failed: what `future-trailers` waits for.
    fn poll_end(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BodyError>> {
        loop {
            self.buf.clear();
            self.pos = 0;
            match self.state {
                ReadState::End => return Poll::Ready(Ok(())),
                ReadState::Failed(e) => return Poll::Ready(Err(e)),
                ReadState::Open => {}
            }
            if self.poll_fill(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

/// A shared [`BodyReader`] as an `input-stream`'s source and as a
/// pollable's readiness.
#[derive(Debug, Clone)]
pub struct BodyInput(pub Rc<RefCell<BodyReader>>);

impl HostReady for BodyInput {
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.borrow_mut().poll_fill(cx)
    }
}

impl InputSource for BodyInput {
    fn read(&mut self, _: &Inline, len: usize) -> Result<Vec<u8>, StreamError> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let mut r = self.0.borrow_mut();
        // One poll: a read already complete is taken; otherwise it stays
        // in flight for the next call or the pollable.
        let _ = r.poll_fill(&mut Context::from_waker(Waker::noop()));
        r.take(len)
    }

    fn blocking_read(&mut self, inline: &Inline, len: usize) -> Result<Vec<u8>, StreamError> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let reader = self.0.clone();
        crate::wait::block_on(
            inline,
            std::future::poll_fn(|cx| reader.borrow_mut().poll_fill(cx)),
        )
        .map_err(StreamError::Trap)?;
        self.0.borrow_mut().take(len)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Host(Rc::new(self.clone()))
    }
}

/// A shared [`BodyReader`] read to its end, for `future-trailers`.
#[derive(Debug, Clone)]
pub struct BodyEnd(pub Rc<RefCell<BodyReader>>);

impl BodyEnd {
    /// `None` while the body is still being read; then the trailers or the
    /// error, once.
    pub fn poll_now(&self) -> Option<Result<Option<Vec<Header>>, BodyError>> {
        let mut r = self.0.borrow_mut();
        match r.poll_end(&mut Context::from_waker(Waker::noop())) {
            Poll::Pending => None,
            Poll::Ready(Ok(())) => Some(Ok(r.trailers.take())),
            Poll::Ready(Err(e)) => Some(Err(e)),
        }
    }
}

impl HostReady for BodyEnd {
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.borrow_mut().poll_end(cx).map(drop)
    }
}

/// The writing side of an outgoing body, shared by the `outgoing-body` and
/// its `output-stream`.
#[derive(Debug)]
pub struct BodyWriter {
    /// `None` once finished.
    pub(crate) sender: Option<BodySender>,
    /// Bytes written so far.
    pub(crate) written: u64,
    /// The `content-length` the headers declared.
    pub(crate) declared: Option<u64>,
    /// Set once the response went to the server (`response-outparam.set`):
    /// only then does anyone take the bytes, so only then may a flush wait
    /// for them to be taken.
    pub(crate) streaming: Rc<Cell<bool>>,
}

/// A shared [`BodyWriter`] as an `output-stream`'s sink and as a
/// pollable's readiness.
#[derive(Debug, Clone)]
pub struct BodyOutput(pub Rc<RefCell<BodyWriter>>);

fn closed() -> StreamError {
    StreamError::Closed
}

impl HostReady for BodyOutput {
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        let w = self.0.borrow();
        match &w.sender {
            Some(s) => s.poll_room(cx),
            None => Poll::Ready(()),
        }
    }
}

impl OutputSink for BodyOutput {
    fn check_write(&mut self, _: &Inline) -> Result<u64, StreamError> {
        let w = self.0.borrow();
        let s = w.sender.as_ref().ok_or_else(closed)?;
        if s.is_closed() {
            return Err(closed());
        }
        Ok(s.room() as u64)
    }

    fn write(&mut self, _: &Inline, bytes: &[u8]) -> Result<(), StreamError> {
        let mut w = self.0.borrow_mut();
        let written = w.written + bytes.len() as u64;
        if let Some(n) = w.declared
            && written > n
        {
            return Err(StreamError::Failed(std::io::Error::other(format!(
                "body longer than its content-length ({n})"
            ))));
        }
        let s = w.sender.as_ref().ok_or_else(closed)?;
        s.push(bytes.to_vec()).map_err(|_| closed())?;
        w.written = written;
        Ok(())
    }

    fn blocking_flush(&mut self, inline: &Inline) -> Result<(), StreamError> {
        if !self.0.borrow().streaming.get() {
            // Nobody takes the bytes before the response is set: they stay
            // queued (within `check-write`'s room) until then.
            return Ok(());
        }
        let w = self.0.clone();
        crate::wait::block_on(
            inline,
            std::future::poll_fn(|cx| match &w.borrow().sender {
                Some(s) => s.poll_drained(cx),
                None => Poll::Ready(()),
            }),
        )
        .map_err(StreamError::Trap)?;
        let w = self.0.borrow();
        match &w.sender {
            Some(s) if s.is_closed() => Err(closed()),
            _ => Ok(()),
        }
    }

    fn readiness(&self) -> Readiness {
        Readiness::Host(Rc::new(self.clone()))
    }
}
