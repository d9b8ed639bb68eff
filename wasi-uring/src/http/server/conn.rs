//! One connection's state machine (see `docs/design/http-server.md`):
//!
//! ```text
//! idle ──bytes──▶ reading head ──complete──▶ handler ──Response──▶ writing
//!  ▲  (idle timeout,   │ (header timeout: 408,                      │
//!  │   drain: close)   │  bad head: 4xx/5xx, close)                 │
//!  └──── keep-alive, body consumed or discarded ◀───────────────────┘
//! ```
//!
//! Buffers: a connection owns one `Vec<u8>` of received bytes only while it
//! holds some; idle, it holds none (receives take provided buffers when data
//! arrives). The request body is read into the handler's buffer: buffered
//! bytes are copied, the rest is received straight into it. Pipelined
//! requests stay in the buffer and are served in order.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use crate::http::error::BodyError;
use crate::http::h1::encode::{self, CHUNK_END, CONTINUE};
use crate::http::h1::{Decoded, Decoder, Framing, Header, RequestHead, ResponseFraming, Version};
use crate::http::handler::{
    BodyBuf, BodySize, Handler, HandlerError, Request, Response, ResponseBody, Scheme,
};
use crate::http::limits::MAX_DISCARD_BYTES;
use crate::http::server::ThreadCtx;
use crate::http::server::drain::{Either, select};
use crate::http::server::transport::{IoFail, Transport};

/// Responses up to this size (head and body) are sent with one send.
const COALESCE: usize = 16 * 1024;

/// How long a refused connection is read from (and its bytes discarded)
/// after the error response, so the client reads the response instead of
/// a reset.
const LINGER: std::time::Duration = std::time::Duration::from_secs(1);

/// Received bytes not yet used, and the current body's decoder.
#[derive(Debug)]
pub(crate) struct ReadSide {
    buf: Vec<u8>,
    pos: usize,
    decoder: Decoder,
    eof: bool,
}

impl ReadSide {
    fn new() -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            decoder: Decoder::new(crate::http::h1::BodyKind::Empty, 0, 0),
            eof: false,
        }
    }

    fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Drops used bytes; frees the buffer when nothing is left, so an idle
    /// connection holds no memory for reading.
    fn compact(&mut self) {
        if self.pos >= self.buf.len() {
            self.buf = Vec::new();
            self.pos = 0;
        } else if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }
}

/// What a request body shares with its connection.
#[derive(Debug)]
struct BodyShared {
    ctx: Rc<ThreadCtx>,
    io: Rc<Transport>,
    /// Taken while a read is in flight, so no borrow spans an await.
    rd: RefCell<Option<ReadSide>>,
    /// `Expect: 100-continue` not yet answered.
    expect_continue: Cell<bool>,
    /// The response head has been (or is being) written.
    response_started: Cell<bool>,
    /// A `100 Continue` is being written.
    writing_continue: Cell<bool>,
    /// The first read error; every later read returns it.
    error: Cell<Option<BodyError>>,
}

/// A request's body, read into buffers the reader provides.
#[derive(Debug)]
pub struct RequestBody {
    shared: Rc<BodyShared>,
}

impl RequestBody {
    /// Reads body bytes into the start of `buf` (up to its
    /// `bytes_total()`), returning how many; `0` at the end of the body.
    /// The first read of a request sent with `Expect: 100-continue` sends
    /// the `100 Continue` first.
    ///
    /// # Errors
    ///
    /// A [`BodyError`]: framing, the size limit, the body timeout, the
    /// peer closing early; after one, the connection is closed.
    pub async fn read<B: BodyBuf>(&mut self, mut buf: B) -> (Result<usize, BodyError>, B) {
        let sh = &*self.shared;
        if let Some(e) = sh.error.get() {
            return (Err(e), buf);
        }
        if buf.bytes_total() == 0 {
            return (Err(BodyError::Io(std::io::ErrorKind::InvalidInput)), buf);
        }
        let Some(mut rd) = sh.rd.borrow_mut().take() else {
            // Another read of the same body is in flight.
            return (Err(BodyError::Io(std::io::ErrorKind::ResourceBusy)), buf);
        };
        let (r, buf) = read_into(sh, &mut rd, buf).await;
        *sh.rd.borrow_mut() = Some(rd);
        match r {
            Ok(n) => (Ok(n), buf),
            Err(e) => {
                sh.error.set(Some(e));
                (Err(e), buf)
            }
        }
    }

    /// Reads the whole body into a `Vec`.
    ///
    /// # Errors
    ///
    /// As [`RequestBody::read`].
    pub async fn read_to_end(&mut self) -> Result<Vec<u8>, BodyError> {
        let mut all = Vec::new();
        loop {
            let (r, chunk) = self.read(Vec::with_capacity(16 * 1024)).await;
            if r? == 0 {
                return Ok(all);
            }
            all.extend_from_slice(&chunk);
        }
    }

    /// The trailer fields, once the body has been read to its end
    /// (chunked bodies; empty when none were sent).
    pub fn trailers(&self) -> Option<Vec<Header>> {
        self.shared
            .rd
            .borrow_mut()
            .as_mut()
            .and_then(|rd| rd.decoder.take_trailers())
    }

    /// Whether the whole body has been read.
    pub fn is_end(&self) -> bool {
        self.shared
            .rd
            .borrow()
            .as_ref()
            .is_some_and(|rd| rd.decoder.is_done())
    }
}

async fn read_into<B: BodyBuf>(
    sh: &BodyShared,
    rd: &mut ReadSide,
    mut buf: B,
) -> (Result<usize, BodyError>, B) {
    let timeout = sh.ctx.limits.body_timeout;
    if sh.expect_continue.get() && !rd.decoder.is_done() {
        sh.expect_continue.set(false);
        if !sh.response_started.get() {
            sh.writing_continue.set(true);
            let sent = sh
                .io
                .send_vec(CONTINUE.to_vec(), sh.ctx.limits.send_timeout)
                .await;
            sh.writing_continue.set(false);
            if let Err(e) = sent {
                return (Err(io_to_body(e)), buf);
            }
        }
    }
    loop {
        if rd.decoder.is_done() {
            return (Ok(0), buf);
        }
        if rd.pos < rd.buf.len() {
            let room = buf.writable().len();
            let (used, what) = match rd.decoder.decode(&rd.buf[rd.pos..], room) {
                Ok(r) => r,
                Err(e) => return (Err(e), buf),
            };
            let start = rd.pos;
            rd.pos += used;
            match what {
                Decoded::Data(range) => {
                    let data = &rd.buf[start + range.start..start + range.end];
                    let Some(into) = buf.writable().get_mut(..data.len()) else {
                        return (Err(BodyError::Io(std::io::ErrorKind::InvalidData)), buf);
                    };
                    into.copy_from_slice(data);
                    let n = data.len();
                    buf.filled(n);
                    rd.compact();
                    return (Ok(n), buf);
                }
                Decoded::Done => {
                    rd.compact();
                    return (Ok(0), buf);
                }
                Decoded::NeedMore => rd.compact(),
            }
            continue;
        }
        if rd.eof {
            return (Err(BodyError::Truncated), buf);
        }
        let ahead = rd.decoder.data_ahead();
        if ahead > 0
            && let Some(plain) = sh.io.plain()
        {
            // Straight into the reader's buffer: no copy.
            let (r, mut back) = plain.recv_direct(buf, timeout).await;
            let n = match r {
                Ok(n) => n,
                Err(e) => return (Err(io_to_body(e)), back),
            };
            sh.ctx.metrics.bytes_in(n);
            if n == 0 {
                rd.eof = true;
                return (Err(BodyError::Truncated), back);
            }
            let data = usize::try_from(ahead).unwrap_or(usize::MAX).min(n);
            if n > data {
                // Read past this body (the next pipelined request, or the
                // chunk's CRLF): keep those bytes for the decoder.
                let Some(extra) = back.writable().get(data..n) else {
                    // A `BodyBuf` whose slice is shorter than what it lent
                    // to the kernel: the bytes cannot be recovered.
                    return (Err(BodyError::Io(std::io::ErrorKind::InvalidData)), back);
                };
                rd.buf.extend_from_slice(extra);
            }
            rd.decoder.consumed_data(data as u64);
            back.filled(data);
            return (Ok(data), back);
        }
        match sh.io.recv_append(&mut rd.buf, timeout).await {
            Ok(got) => {
                sh.ctx.metrics.bytes_in(got);
                if got == 0 {
                    rd.eof = true;
                }
            }
            Err(e) => return (Err(io_to_body(e)), buf),
        }
    }
}

fn io_to_body(e: IoFail) -> BodyError {
    match e {
        IoFail::Timeout => BodyError::Timeout,
        IoFail::Other(k) => BodyError::Io(k),
    }
}

/// How reading a head ended.
enum HeadRead {
    Head(RequestHead, Framing),
    /// End of stream, idle timeout, drain or a reset: close quietly.
    Close,
    /// Answer with this status and close.
    Reject(u16),
}

/// Serves one connection until it closes.
pub(crate) async fn serve<H: Handler>(
    ctx: Rc<ThreadCtx>,
    handler: Rc<H>,
    io: Transport,
    peer: Option<SocketAddr>,
    scheme: Scheme,
) {
    let io = Rc::new(io);
    let mut rd = ReadSide::new();
    let mut first = true;
    loop {
        let (head, framing) = match read_head(&ctx, &io, &mut rd, first).await {
            HeadRead::Head(h, f) => (h, f),
            HeadRead::Close => break,
            HeadRead::Reject(status) => {
                // Boxed: rare, and inline it would grow every idle
                // connection's task.
                Box::pin(reject(&ctx, &io, &mut rd, status)).await;
                break;
            }
        };
        first = false;
        let ex = Exchange {
            ctx: &ctx,
            io: &io,
            peer,
            scheme,
        };
        match Box::pin(ex.run(&*handler, rd, head, framing)).await {
            Some(back) => rd = back,
            None => break,
        }
        if ctx.drain.fired() {
            break;
        }
    }
}

/// Answers a refused head with `status`, then lingers and closes.
async fn reject(ctx: &ThreadCtx, io: &Transport, rd: &mut ReadSide, status: u16) {
    ctx.metrics.request(status, 0);
    let resp = error_response(status, &ctx.date());
    ctx.metrics.bytes_out(resp.len());
    if io.send_vec(resp, ctx.limits.send_timeout).await.is_ok() {
        linger(ctx, io, rd).await;
    }
}

/// Reads bytes until a whole request head is buffered.
async fn read_head(ctx: &ThreadCtx, io: &Transport, rd: &mut ReadSide, first: bool) -> HeadRead {
    let limits = &ctx.limits;
    let mut started = (!rd.buffered().is_empty()).then(Instant::now);
    loop {
        if !rd.buffered().is_empty() {
            match crate::http::h1::parse_request(rd.buffered(), limits) {
                Ok(Some((head, framing, n))) => {
                    rd.pos += n;
                    rd.compact();
                    return HeadRead::Head(head, framing);
                }
                Ok(None) => rd.compact(),
                Err(e) => {
                    tracing::debug!(target: "ringwasm::http", error = %e, "request refused");
                    return HeadRead::Reject(e.status());
                }
            }
        } else {
            rd.compact();
        }
        if rd.eof {
            return HeadRead::Close;
        }
        let now = Instant::now();
        let idle = started.is_none();
        let deadline = match started {
            Some(t) => t + limits.header_timeout,
            None if first => now + limits.header_timeout,
            None => now + limits.idle_timeout,
        };
        let left = deadline.saturating_duration_since(now);
        let r = if left.is_zero() {
            Err(IoFail::Timeout)
        } else if idle {
            match select(io.recv_append(&mut rd.buf, left), ctx.drain.wait()).await {
                Either::Left(r) => r,
                Either::Right(()) => return HeadRead::Close,
            }
        } else {
            io.recv_append(&mut rd.buf, left).await
        };
        match r {
            Ok(0) => {
                rd.eof = true;
                return HeadRead::Close;
            }
            Ok(n) => {
                ctx.metrics.bytes_in(n);
                started.get_or_insert(now);
            }
            Err(IoFail::Timeout) if idle => {
                ctx.metrics.timeout("idle");
                return HeadRead::Close;
            }
            Err(IoFail::Timeout) => {
                ctx.metrics.timeout("header");
                return HeadRead::Reject(408);
            }
            Err(IoFail::Other(_)) => return HeadRead::Close,
        }
    }
}

/// After an error response: stop sending, read and drop what the client
/// still sends (briefly), so it reads our response rather than a reset.
async fn linger(ctx: &ThreadCtx, io: &Transport, rd: &mut ReadSide) {
    io.shutdown_write().await;
    let until = Instant::now() + LINGER;
    let mut discarded = 0u64;
    while !rd.eof && discarded < MAX_DISCARD_BYTES {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let mut scratch = Vec::new();
        match io.recv_append(&mut scratch, left).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                ctx.metrics.bytes_in(n);
                discarded += n as u64;
            }
        }
    }
}

/// A canned response that closes the connection.
pub(crate) fn error_response(status: u16, date: &[u8]) -> Vec<u8> {
    let reason = encode::reason_phrase(status);
    let body = format!("{status} {reason}\n");
    let mut out = Vec::with_capacity(160);
    let headers = [Header::new("content-type", "text/plain; charset=utf-8")];
    encode::response_head(
        &mut out,
        status,
        &headers,
        ResponseFraming::Length(body.len() as u64),
        true,
        date,
    );
    out.extend_from_slice(body.as_bytes());
    out
}

/// One request/response exchange on a connection.
struct Exchange<'a> {
    ctx: &'a Rc<ThreadCtx>,
    io: &'a Rc<Transport>,
    peer: Option<SocketAddr>,
    scheme: Scheme,
}

/// How writing a response ended.
struct Written {
    status: u16,
    body_bytes: u64,
    /// The connection may serve another request.
    reusable: bool,
}

impl Exchange<'_> {
    /// Runs the handler and writes its response; gives the read side back
    /// when the connection may serve another request.
    async fn run<H: Handler>(
        self,
        handler: &H,
        mut rd: ReadSide,
        head: RequestHead,
        framing: Framing,
    ) -> Option<ReadSide> {
        let ctx = self.ctx;
        let began = Instant::now();
        let is_head = head.is_head();
        let version = head.version;
        let log = tracing::enabled!(target: "ringwasm::http", tracing::Level::INFO)
            .then(|| (head.method.clone(), head.target.clone()));
        rd.decoder = Decoder::new(
            framing.body,
            ctx.limits.max_body_bytes,
            ctx.limits.max_head_bytes,
        );
        let shared = Rc::new(BodyShared {
            ctx: ctx.clone(),
            io: self.io.clone(),
            rd: RefCell::new(Some(rd)),
            expect_continue: Cell::new(framing.expect_continue),
            response_started: Cell::new(false),
            writing_continue: Cell::new(false),
            error: Cell::new(None),
        });
        let req = Request {
            head,
            body: RequestBody {
                shared: shared.clone(),
            },
            peer: self.peer,
            scheme: self.scheme,
        };
        let mut close = !framing.keep_alive;
        let written = match handler.handle(req).await {
            Ok(resp) => {
                self.write(&shared, resp, is_head, version, &mut close)
                    .await
            }
            Err(e) => {
                let status = match e {
                    HandlerError::Body(b) => b.status(),
                    HandlerError::Unavailable => 503,
                    _ => 500,
                };
                tracing::warn!(target: "ringwasm::http", error = %e, status, "handler failed");
                close = true;
                shared.response_started.set(true);
                let resp = error_response(status, &ctx.date());
                ctx.metrics.bytes_out(resp.len());
                let sent = self
                    .io
                    .send_vec(resp, ctx.limits.send_timeout)
                    .await
                    .is_ok();
                Written {
                    status,
                    body_bytes: 0,
                    reusable: sent,
                }
            }
        };
        let micros = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
        ctx.metrics.request(written.status, micros);
        if let Some((method, target)) = log {
            tracing::info!(
                target: "ringwasm::http",
                method = %method,
                target = %target,
                status = written.status,
                bytes = written.body_bytes,
                micros,
                peer = ?self.peer,
            );
        }
        let closing = !written.reusable || close || ctx.drain.fired();
        // The handler (and its body) are gone; anything still holding the
        // request body keeps the connection from being reused.
        let shared = Rc::try_unwrap(shared).ok()?;
        let failed = shared.error.get().is_some();
        // The client has not been told to send a body it holds back.
        let pending_continue = shared.expect_continue.get();
        let mut rd = shared.rd.into_inner()?;
        let unread = !rd.decoder.is_done() && !pending_continue;
        if closing || failed {
            if unread && written.reusable && !rd.eof {
                // Let the client read the response before the close
                // resets a connection it is still sending on.
                linger(ctx, self.io, &mut rd).await;
            }
            return None;
        }
        if pending_continue && !rd.decoder.is_done() {
            return None;
        }
        if unread && discard(ctx, self.io, &mut rd).await.is_none() {
            linger(ctx, self.io, &mut rd).await;
            return None;
        }
        Some(rd)
    }

    /// Writes the handler's response.
    async fn write<B: ResponseBody>(
        &self,
        shared: &Rc<BodyShared>,
        resp: Response<B>,
        is_head: bool,
        version: Version,
        close: &mut bool,
    ) -> Written {
        let ctx = self.ctx;
        let Response {
            status,
            headers,
            mut body,
        } = resp;
        let invalid = if !(200..=599).contains(&status) {
            Some("status out of 200..=599")
        } else if headers
            .iter()
            .any(|h| !encode::valid_field(&h.name, &h.value))
        {
            Some("header field")
        } else {
            None
        };
        if let Some(what) = invalid {
            tracing::warn!(target: "ringwasm::http", what, "handler produced an invalid response");
            *close = true;
            let resp = error_response(500, &ctx.date());
            ctx.metrics.bytes_out(resp.len());
            let sent = self
                .io
                .send_vec(resp, ctx.limits.send_timeout)
                .await
                .is_ok();
            return Written {
                status: 500,
                body_bytes: 0,
                reusable: sent,
            };
        }
        let declared = headers
            .iter()
            .find(|h| h.name == "content-length")
            .and_then(|h| std::str::from_utf8(&h.value).ok()?.parse::<u64>().ok());
        let size = match (body.size(), declared) {
            (BodySize::Unknown, Some(n)) => BodySize::Known(n),
            (s, _) => s,
        };
        let has_body = encode::status_has_body(status) && !is_head;
        let framing = if !encode::status_has_body(status) {
            ResponseFraming::None
        } else {
            match size {
                BodySize::Known(n) => ResponseFraming::Length(n),
                BodySize::Unknown if is_head => ResponseFraming::None,
                BodySize::Unknown if version == Version::Http11 => ResponseFraming::Chunked,
                BodySize::Unknown => ResponseFraming::Close,
            }
        };
        if framing == ResponseFraming::Close || ctx.drain.fired() {
            *close = true;
        }
        // Wait for a `100 Continue` being written by a body reader.
        while shared.writing_continue.get() {
            ringwasm_reactor::yield_now().await;
        }
        shared.response_started.set(true);
        let mut out = Vec::with_capacity(256);
        if shared.expect_continue.get() {
            if Rc::strong_count(shared) > 1 {
                // The body is still wanted (the response streams it): let
                // the client send it.
                shared.expect_continue.set(false);
                out.extend_from_slice(CONTINUE);
            } else {
                *close = true;
            }
        }
        encode::response_head(&mut out, status, &headers, framing, *close, &ctx.date());
        drop(headers);
        if !has_body {
            ctx.metrics.bytes_out(out.len());
            let sent = self.io.send_vec(out, ctx.limits.send_timeout).await.is_ok();
            return Written {
                status,
                body_bytes: 0,
                reusable: sent,
            };
        }
        let r = self.write_body(&mut body, framing, out).await;
        match r {
            Ok(n) => Written {
                status,
                body_bytes: n,
                reusable: true,
            },
            Err(fail) => {
                tracing::debug!(target: "ringwasm::http", error = %fail.error, "response aborted");
                if let Some(unsent) = fail.unsent_head {
                    // Nothing reached the client yet: a clean 500 instead.
                    drop(unsent);
                    *close = true;
                    let resp = error_response(500, &ctx.date());
                    ctx.metrics.bytes_out(resp.len());
                    let _ = self.io.send_vec(resp, ctx.limits.send_timeout).await;
                    return Written {
                        status: 500,
                        body_bytes: 0,
                        reusable: false,
                    };
                }
                Written {
                    status,
                    body_bytes: fail.sent,
                    reusable: false,
                }
            }
        }
    }

    /// Pulls the body and sends it: small pieces are gathered into one
    /// send with the head and framing; large ones go to the kernel as they
    /// are.
    async fn write_body<B: ResponseBody>(
        &self,
        body: &mut B,
        framing: ResponseFraming,
        mut pending: Vec<u8>,
    ) -> Result<u64, BodyFail> {
        let ctx = self.ctx;
        let timeout = ctx.limits.send_timeout;
        let chunked = framing == ResponseFraming::Chunked;
        let mut sent_body = 0u64;
        // Whether any byte has gone to the socket (the head is in
        // `pending` until then).
        let mut started = false;
        loop {
            let chunk = match body.next_chunk().await {
                None => break,
                Some(Err(e)) => return Err(BodyFail::new(e, sent_body, started, pending)),
                Some(Ok(c)) => c,
            };
            let len = chunk.as_ref().len();
            if len == 0 {
                continue;
            }
            sent_body += len as u64;
            if let ResponseFraming::Length(n) = framing
                && sent_body > n
            {
                return Err(BodyFail::new(
                    BodyError::LengthMismatch,
                    sent_body,
                    started,
                    pending,
                ));
            }
            if chunked {
                encode::chunk_head(&mut pending, len);
            }
            if pending.len() + len <= COALESCE {
                pending.extend_from_slice(chunk.as_ref());
            } else {
                started = true;
                if !pending.is_empty() {
                    ctx.metrics.bytes_out(pending.len());
                    pending = self
                        .io
                        .send_vec(pending, timeout)
                        .await
                        .map_err(|e| BodyFail::sent(e, sent_body))?;
                    pending.clear();
                }
                ctx.metrics.bytes_out(len);
                self.io
                    .send_chunk(chunk, timeout)
                    .await
                    .map_err(|e| BodyFail::sent(e, sent_body))?;
            }
            if chunked {
                pending.extend_from_slice(CHUNK_END);
            }
        }
        if let ResponseFraming::Length(n) = framing
            && sent_body != n
        {
            return Err(BodyFail::new(
                BodyError::LengthMismatch,
                sent_body,
                started,
                pending,
            ));
        }
        if chunked {
            let trailers = body.trailers().await.unwrap_or_default();
            let trailers: Vec<Header> = trailers
                .into_iter()
                .filter(|h| encode::valid_field(&h.name, &h.value))
                .collect();
            encode::last_chunk(&mut pending, &trailers);
        }
        if !pending.is_empty() {
            ctx.metrics.bytes_out(pending.len());
            self.io
                .send_vec(pending, timeout)
                .await
                .map_err(|e| BodyFail::sent(e, sent_body))?;
        }
        Ok(sent_body)
    }
}

/// Why a response body stopped.
struct BodyFail {
    error: BodyError,
    sent: u64,
    /// The unsent head and body, when nothing reached the socket yet.
    unsent_head: Option<Vec<u8>>,
}

impl BodyFail {
    fn new(error: BodyError, sent: u64, started: bool, pending: Vec<u8>) -> Self {
        Self {
            error,
            sent,
            unsent_head: (!started).then_some(pending),
        }
    }

    fn sent(e: IoFail, sent: u64) -> Self {
        Self {
            error: io_to_body(e),
            sent,
            unsent_head: None,
        }
    }
}

/// Reads and drops the rest of an unread request body, if it is small
/// enough; `None` when the connection must close instead.
async fn discard(ctx: &ThreadCtx, io: &Transport, rd: &mut ReadSide) -> Option<()> {
    let mut dropped = 0u64;
    while !rd.decoder.is_done() {
        if dropped > MAX_DISCARD_BYTES {
            return None;
        }
        if !rd.buffered().is_empty() {
            let (used, what) = rd.decoder.decode(&rd.buf[rd.pos..], usize::MAX).ok()?;
            rd.pos += used;
            if let Decoded::Data(r) = &what {
                dropped += r.len() as u64;
            }
            rd.compact();
            continue;
        }
        if rd.eof {
            return None;
        }
        match io.recv_append(&mut rd.buf, ctx.limits.body_timeout).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => ctx.metrics.bytes_in(n),
        }
    }
    Some(())
}
