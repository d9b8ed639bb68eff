//! The glue between the server and a `wasi:http/proxy` 0.2 component:
//! [`ProxyHandler`] implements [`Handler`] by calling the guest's
//! `wasi:http/incoming-handler.handle` as an async call (on a fiber), and
//! resolves when the guest calls `response-outparam.set`. The guest's call
//! then lives on inside the response body ([`GuestBody`]): the server
//! pulling the body is what runs the guest, and dropping the body (the
//! client went away, or the response ended) cancels whatever is left.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ringwasm_jit::component::{Component, InstancePre, Linker, Resource, TypedFunc};
use ringwasm_jit::{Engine, FiberFuture, Store, on_fiber};
use ringwasm_reactor::Driver;
use ringwasm_reactor::inline::Inline;

use super::ServeError;
use super::types::{GuestResponse, IncomingRequest, OutparamSlot, ResponseOutparam};
use crate::ctx::{WasiCtx, WasiCtxBuilder};
use crate::http::error::BodyError;
use crate::http::h1::Header;
use crate::http::handler::{
    BodyChannel, BodySize, Handler, HandlerError, Request, Response, ResponseBody,
};

/// What a server thread needs to make its [`ProxyHandler`]; shared by all
/// threads.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// Link all of `wasi:cli` (`-S cli`), not only the proxy world's
    /// imports.
    pub cli: bool,
    /// Header fields added to every response (`-H`).
    pub headers: Vec<Header>,
    /// Environment of the guest (`--env`).
    pub env: Vec<(String, String)>,
    /// Whether the guest's stdout and stderr are the server's (otherwise
    /// `/dev/null`).
    pub inherit_stdio: bool,
    /// `-W timeout`: a request's guest traps (500) ten epoch ticks after
    /// it started; the embedder bumps the engine's epoch every tenth of
    /// this. The engine needs epoch interruption on.
    pub timeout: Option<std::time::Duration>,
    /// `--max-instance-reuse-count`: requests one instance serves, one
    /// after the other (1: a fresh instance per request).
    pub max_instance_reuse: u64,
    /// `--idle-instance-timeout`: a reusable instance idle this long is
    /// dropped (when the next request looks for one).
    pub idle_instance_timeout: Duration,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            cli: false,
            headers: Vec::new(),
            env: Vec::new(),
            inherit_stdio: true,
            timeout: None,
            max_instance_reuse: 1,
            idle_instance_timeout: Duration::from_secs(1),
        }
    }
}

/// The store's data for one instance.
#[derive(Debug)]
pub struct ProxyState {
    /// Its WASI state (resource table included).
    pub wasi: WasiCtx,
}

type HandleFunc = TypedFunc<(Resource<IncomingRequest>, Resource<ResponseOutparam>), ()>;

/// A guest's `handle` call in flight: the fiber owns the store.
type GuestTask = FiberFuture<'static, Store<ProxyState>, Result<(), ringwasm_jit::Error>>;

/// An instance between two requests.
struct Pooled {
    store: Store<ProxyState>,
    func: HandleFunc,
    /// Requests it has served.
    uses: u64,
    idle_since: Instant,
}

/// The idle instances of a thread, most recently used last.
type Pool = Rc<RefCell<Vec<Pooled>>>;

/// What it takes to put an instance back in the pool after its request.
struct Lease {
    pool: Pool,
    func: HandleFunc,
    /// Requests it has served, this one included.
    uses: u64,
    max: u64,
}

impl Lease {
    /// Pools the instance of `task`, which finished without a trap, if it
    /// may serve more requests.
    fn give_back(self, task: GuestTask) {
        if self.uses >= self.max {
            return;
        }
        if let Ok(store) = task.into_store() {
            self.pool.borrow_mut().push(Pooled {
                store,
                func: self.func,
                uses: self.uses,
                idle_since: Instant::now(),
            });
        }
    }
}

/// Serves requests with instances of a proxy component, fresh per request
/// unless reuse is asked for, on one server thread.
pub struct ProxyHandler {
    engine: Engine,
    pre: InstancePre<ProxyState>,
    /// `wasi:http/incoming-handler@0.2.x#handle`, as the component names it.
    handle: String,
    driver: Driver,
    inline: Rc<Inline>,
    config: ProxyConfig,
    pool: Pool,
}

impl std::fmt::Debug for ProxyHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyHandler")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

/// The name of the component's `incoming-handler` export, or why it
/// cannot be served.
///
/// # Errors
///
/// [`ServeError::Service03`] for a 0.3 `wasi:http/service` component (the
/// async ABI is issue #16), [`ServeError::NotAProxy`] for one that exports
/// neither.
pub fn incoming_handler_export(component: &Component) -> Result<String, ServeError> {
    let names: Vec<&str> = component.export_names().collect();
    if let Some(n) = names
        .iter()
        .find(|n| n.starts_with("wasi:http/incoming-handler@0."))
    {
        return Ok(format!("{n}#handle"));
    }
    if names.iter().any(|n| n.starts_with("wasi:http/handler@")) {
        return Err(ServeError::Service03);
    }
    Err(ServeError::NotAProxy {
        exports: names.join(", "),
    })
}

/// Epoch ticks a request may run with [`ProxyConfig::timeout`].
pub const TIMEOUT_TICKS: u64 = 10;

impl ProxyHandler {
    /// Whether `component` can be served with `config`: a 0.2 proxy whose
    /// imports the host provides. Nothing is instantiated.
    ///
    /// # Errors
    ///
    /// As [`ProxyHandler::new`].
    pub fn check(
        engine: &Engine,
        component: &Component,
        config: &ProxyConfig,
    ) -> Result<(), ServeError> {
        incoming_handler_export(component)?;
        let mut linker: Linker<ProxyState> = Linker::new(engine);
        super::add_to_linker(&mut linker, |s: &mut ProxyState| &mut s.wasi, config.cli)
            .map_err(ServeError::Link)?;
        linker
            .instantiate_pre(component)
            .map(drop)
            .map_err(ServeError::Link)
    }

    /// A handler for `component` on the thread whose reactor is `driver`.
    ///
    /// # Errors
    ///
    /// When the component is not a 0.2 proxy, or its imports cannot all be
    /// satisfied.
    pub fn new(
        engine: &Engine,
        component: &Component,
        driver: &Driver,
        config: ProxyConfig,
    ) -> Result<Self, ServeError> {
        let handle = incoming_handler_export(component)?;
        let mut linker: Linker<ProxyState> = Linker::new(engine);
        super::add_to_linker(&mut linker, |s: &mut ProxyState| &mut s.wasi, config.cli)
            .map_err(ServeError::Link)?;
        let pre = linker
            .instantiate_pre(component)
            .map_err(ServeError::Link)?;
        Ok(ProxyHandler {
            engine: engine.clone(),
            pre,
            handle,
            driver: driver.clone(),
            inline: Rc::new(Inline::new(driver)),
            config,
            pool: Rc::default(),
        })
    }

    fn new_store(&self) -> Result<Store<ProxyState>, HandlerError> {
        let mut b = WasiCtxBuilder::new();
        b.shared_io(self.driver.clone(), self.inline.clone());
        if self.config.inherit_stdio {
            b.inherit_stdio();
        }
        for (k, v) in &self.config.env {
            b.env(k, v);
        }
        let wasi = b.build().map_err(|e| {
            tracing::error!(target: "ringwasm::http", error = %e, "cannot make the guest's WASI context");
            HandlerError::Unavailable
        })?;
        let mut store = Store::new(&self.engine, ProxyState { wasi });
        if self.config.timeout.is_some() {
            // Instantiation runs under the same deadline as a request.
            store.set_epoch_deadline(TIMEOUT_TICKS);
        }
        Ok(store)
    }

    /// An idle instance that may serve one more request, or a fresh one.
    fn instance(&self) -> Result<(Store<ProxyState>, HandleFunc, u64), HandlerError> {
        if self.config.max_instance_reuse > 1 {
            let mut pool = self.pool.borrow_mut();
            let timeout = self.config.idle_instance_timeout;
            pool.retain(|p| p.idle_since.elapsed() <= timeout);
            if let Some(p) = pool.pop() {
                return Ok((p.store, p.func, p.uses));
            }
        }
        let mut store = self.new_store()?;
        let instance = self.pre.instantiate(&mut store).map_err(|e| {
            tracing::error!(target: "ringwasm::http", error = %e, "instantiation failed");
            match e {
                ringwasm_jit::Error::Trap(_) => HandlerError::Trap,
                _ => HandlerError::Unavailable,
            }
        })?;
        let func: HandleFunc = instance
            .get_func(&mut store, &self.handle)
            .ok_or(HandlerError::Unavailable)
            .and_then(|f| {
                f.typed(&mut store).map_err(|e| {
                    tracing::error!(target: "ringwasm::http", error = %e, "`handle` has the wrong type");
                    HandlerError::Unavailable
                })
            })?;
        Ok((store, func, 0))
    }

    /// Starts the guest's `handle` on a fiber, with what it takes to pool
    /// its instance afterwards.
    fn start(
        &self,
        req: Request,
        slot: &Rc<RefCell<OutparamSlot>>,
    ) -> Result<(GuestTask, Lease), HandlerError> {
        let (mut store, func, uses) = self.instance()?;
        if self.config.timeout.is_some() {
            store.set_epoch_deadline(TIMEOUT_TICKS);
        }
        let lease = Lease {
            pool: self.pool.clone(),
            func,
            uses: uses + 1,
            max: self.config.max_instance_reuse,
        };
        let table = store.data_mut().wasi.p2.table();
        let push_failed = |e| {
            tracing::error!(target: "ringwasm::http", error = %e, "host resource table");
            HandlerError::Unavailable
        };
        let request = table.push(IncomingRequest::new(req)).map_err(push_failed)?;
        let outparam = table
            .push(ResponseOutparam { slot: slot.clone() })
            .map_err(push_failed)?;
        Ok((
            on_fiber(store, move |cx| func.call(cx, (request, outparam))),
            lease,
        ))
    }
}

/// How waiting for the guest's response ended.
enum Outcome {
    /// The guest called `response-outparam.set`.
    Set(Result<GuestResponse, super::ErrorCode>),
    /// The call ended first.
    Returned(Result<(), ringwasm_jit::Error>),
}

/// Logs why a guest's call failed; a call cancelled because its response
/// was dropped (the client went away, a HEAD) is no failure.
fn guest_failed(e: &ringwasm_jit::Error) {
    match e {
        ringwasm_jit::Error::Trap(t) if matches!(t.code(), ringwasm_jit::TrapCode::Cancelled) => {
            tracing::debug!(target: "ringwasm::http", "guest call cancelled");
        }
        _ => tracing::error!(target: "ringwasm::http", error = %e, "the guest failed"),
    }
}

impl Handler for ProxyHandler {
    type Body = GuestBody;

    async fn handle(&self, req: Request) -> Result<Response<GuestBody>, HandlerError> {
        let slot = Rc::new(RefCell::new(OutparamSlot::default()));
        let (mut task, lease) = self.start(req, &slot)?;
        let outcome = std::future::poll_fn(|cx| {
            if let Some(v) = slot.borrow_mut().value.take() {
                return Poll::Ready(Outcome::Set(v));
            }
            match std::pin::Pin::new(&mut task).poll(cx) {
                // The guest may have set the response, then waited (for
                // the server to take its body, say): nothing would wake
                // us for the slot, so look again.
                Poll::Pending => match slot.borrow_mut().value.take() {
                    Some(v) => Poll::Ready(Outcome::Set(v)),
                    None => Poll::Pending,
                },
                Poll::Ready(r) => Poll::Ready(Outcome::Returned(r.and_then(|r| r))),
            }
        })
        .await;
        let (set, task) = match outcome {
            Outcome::Set(v) => (v, Some((task, lease))),
            Outcome::Returned(r) => {
                let set = slot.borrow_mut().value.take();
                if let Err(e) = &r {
                    guest_failed(e);
                }
                match (set, r) {
                    (Some(v), Ok(())) => {
                        lease.give_back(task);
                        (v, None)
                    }
                    (Some(v), Err(_)) => (v, None),
                    (None, Err(ringwasm_jit::Error::Trap(_))) => return Err(HandlerError::Trap),
                    (None, Err(_)) => return Err(HandlerError::Guest("the guest failed")),
                    (None, Ok(())) => {
                        tracing::error!(target: "ringwasm::http", "guest never invoked `response-outparam::set` method");
                        return Err(HandlerError::Guest(
                            "the guest returned without setting a response",
                        ));
                    }
                }
            }
        };
        let resp = match set {
            Ok(r) => r,
            Err(code) => {
                tracing::error!(target: "ringwasm::http", error = ?code, "the guest answered with an error-code");
                return Err(HandlerError::Guest("the guest answered with an error-code"));
            }
        };
        let mut headers = resp.headers;
        headers.extend(self.config.headers.iter().cloned());
        let size = match &resp.body {
            Some(c) => c.size(),
            None => BodySize::Known(0),
        };
        Ok(Response {
            status: resp.status,
            headers,
            body: GuestBody {
                chan: resp.body,
                size,
                task: task.map(|(t, l)| (Box::new(t), l)),
            },
        })
    }
}

/// A response body the guest writes, with the guest's call that writes it.
pub struct GuestBody {
    chan: Option<BodyChannel>,
    size: BodySize,
    /// The guest's call while it runs, and its instance's lease.
    task: Option<(Box<GuestTask>, Lease)>,
}

impl std::fmt::Debug for GuestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestBody")
            .field("size", &self.size)
            .field("running", &self.task.is_some())
            .finish_non_exhaustive()
    }
}

impl GuestBody {
    /// Lets the guest run until it waits or returns.
    fn poll_task(&mut self, cx: &mut Context<'_>) {
        if let Some((t, _)) = self.task.as_mut()
            && let Poll::Ready(r) = std::pin::Pin::new(&mut **t).poll(cx)
            && let Some((t, lease)) = self.task.take()
        {
            match r.and_then(|r| r) {
                Ok(()) => lease.give_back(*t),
                Err(e) => guest_failed(&e),
            }
        }
    }
}

impl ResponseBody for GuestBody {
    type Chunk = Vec<u8>;

    fn size(&self) -> BodySize {
        self.size
    }

    fn next_chunk(&mut self) -> impl Future<Output = Option<Result<Vec<u8>, BodyError>>> {
        std::future::poll_fn(|cx| {
            self.poll_task(cx);
            match self.chan.as_mut() {
                Some(c) => c.poll_chunk(cx),
                None => Poll::Ready(None),
            }
        })
    }

    fn trailers(&mut self) -> impl Future<Output = Option<Vec<Header>>> {
        std::future::ready(self.chan.as_mut().and_then(BodyChannel::take_trailers))
    }
}
