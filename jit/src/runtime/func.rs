//! Functions: calling into compiled code (the one place host code enters it,
//! through `extern "C"` trampolines), host functions, typed wrappers.

use std::future::Future;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;

use crate::compile::EntryTrampoline;
use crate::compile::env::VMFuncRef;
use crate::error::Error;
use crate::runtime::store::{
    AsContext, AsContextMut, Pending, StoreContext, StoreContextMut, StoreInner, StoreOpaque,
};
use crate::runtime::trap::{FrameInfo, Trap, TrapCode};
use crate::runtime::values::{Extern, Val};
use crate::runtime::vmctx::VMStoreContext;
use crate::types::{FuncType, ValType};

/// A host function in its type-erased form: it receives the store, the
/// calling instance (if wasm called it) and the argument/result slots.
pub(crate) type HostCallable =
    Arc<dyn Fn(*mut StoreOpaque, Option<u32>, &mut [u128]) -> Result<(), Trap> + Send + Sync>;

/// The context a host function's `VMFuncRef` points at. Its first `u32` is
/// never the instance magic.
#[repr(C)]
pub(crate) struct HostContext {
    tag: u32,
    index: u32,
    store: *mut StoreOpaque,
}

/// Byte offset of `HostContext::store`, read by host trampolines that
/// rethrow a host function's exception.
pub(crate) const HOST_CONTEXT_STORE: i32 = 8;
const _: () = assert!(std::mem::offset_of!(HostContext, store) == HOST_CONTEXT_STORE as usize);

/// A function of a store.
pub(crate) struct FuncData {
    pub ty: FuncType,
    pub kind: FuncKind,
}

pub(crate) enum FuncKind {
    /// Defined in an instance; the funcref lives in its VMContext.
    Wasm {
        funcref: *const VMFuncRef,
        /// The entry trampoline of its signature.
        entry: *const u8,
    },
    /// A host function with its own funcref and context.
    Host {
        callable: HostCallable,
        funcref: Box<VMFuncRef>,
        _context: Box<HostContext>,
    },
}

// SAFETY: the raw pointers point into allocations owned by the same store,
// which moves between threads only as a whole.
unsafe impl Send for FuncData {}

impl FuncData {
    pub(crate) fn funcref(&self) -> *const VMFuncRef {
        match &self.kind {
            FuncKind::Wasm { funcref, .. } => *funcref,
            FuncKind::Host { funcref, .. } => &**funcref,
        }
    }
}

/// The store index recorded in a live funcref.
pub(crate) fn funcref_store_index(funcref: *const VMFuncRef) -> u32 {
    // SAFETY: callers pass non-null funcrefs read from tables or globals of
    // the store, which stay alive as long as the store.
    unsafe { (*funcref).store_index }
}

/// Register a host function in `store`.
pub(crate) fn new_host_func(
    store: &mut StoreOpaque,
    ty: FuncType,
    callable: HostCallable,
) -> Result<Func, Error> {
    let type_id = store.engine.register_type(&ty);
    let trampolines = store.engine.trampolines(type_id)?;
    Ok(new_host_func_with(
        store,
        ty,
        type_id,
        &trampolines,
        callable,
    ))
}

/// [`new_host_func`] with the signature's id and trampolines looked up
/// already (`InstancePre`).
pub(crate) fn new_host_func_with(
    store: &mut StoreOpaque,
    ty: FuncType,
    type_id: u32,
    trampolines: &crate::compile::Trampolines,
    callable: HostCallable,
) -> Func {
    let index = store.funcs.len() as u32;
    let mut context = Box::new(HostContext {
        tag: 0,
        index,
        store,
    });
    let funcref = Box::new(VMFuncRef {
        wasm_call: trampolines.host(),
        array_call: std::ptr::null(),
        vmctx: (&mut *context as *mut HostContext).cast(),
        type_id,
        store_index: index,
    });
    store.funcs.push(FuncData {
        ty,
        kind: FuncKind::Host {
            callable,
            funcref,
            _context: context,
        },
    });
    Func {
        store: store.id,
        index,
    }
}

/// A host callable over the store's opaque part, for host functions that
/// need no host data (the component model's builtins and adapters).
pub(crate) fn opaque_callable(
    f: impl Fn(&mut StoreOpaque, &mut [u128]) -> Result<(), Trap> + Send + Sync + 'static,
) -> HostCallable {
    Arc::new(move |store_ptr, _instance, slots| {
        // SAFETY: host functions are called with their own live store
        // (`host_dispatch`, `call_raw`), which nothing else borrows while
        // the callable runs.
        let store = unsafe { &mut *store_ptr };
        f(store, slots)
    })
}

/// A host callable over a whole `Store<T>`, for host functions that reach
/// the host data.
pub(crate) fn store_callable<T: 'static>(
    f: impl Fn(&mut StoreInner<T>, &mut [u128]) -> Result<(), Trap> + Send + Sync + 'static,
) -> HostCallable {
    Arc::new(move |store_ptr, _instance, slots| {
        // SAFETY: a callable made for `Store<T>` is only registered in (and
        // called with) a store whose `StoreInner<T>` starts with the opaque
        // part: callers create it while instantiating into a `Store<T>`.
        let inner = unsafe { &mut *store_ptr.cast::<StoreInner<T>>() };
        f(inner, slots)
    })
}

/// Call a host callable directly (not from wasm) with `store`.
pub(crate) fn invoke_callable(
    callable: &HostCallable,
    store: &mut StoreOpaque,
    slots: &mut [u128],
) -> Result<(), Trap> {
    callable(store, None, slots)
}

/// Called by host trampolines with the wasm arguments in `values`; the
/// results go back into `values`. Returns 0, or 1 after parking the error in
/// the store (the trampoline then traps), or 2 with an exception object in
/// slot 0 that the trampoline throws.
///
/// # Safety
///
/// `context` is the `HostContext` of a live host function, and `values` has
/// room for max(params, results) slots of its type.
pub(crate) unsafe extern "C" fn host_dispatch(context: *mut HostContext, values: *mut u128) -> u32 {
    // SAFETY: per contract `context` is a live `HostContext`.
    let context = unsafe { &*context };
    let (store_ptr, index) = (context.store, context.index);
    // SAFETY: the store outlives its functions; guest code holds no borrow.
    let store = unsafe { &mut *store_ptr };
    let data = &store.funcs[index as usize];
    let n = data.ty.params().len().max(data.ty.results().len());
    let FuncKind::Host { callable, .. } = &data.kind else {
        return 1;
    };
    let callable = callable.clone();
    // SAFETY: the caller's vmctx was recorded by compiled code just before
    // the call and is a live instance's.
    let caller = unsafe { crate::runtime::vmctx::instance_index_of(store.ctx.caller_vmctx) };
    // SAFETY: per contract, `values` holds `n` slots.
    let slots = unsafe { std::slice::from_raw_parts_mut(values, n) };
    let result = catch_unwind(AssertUnwindSafe(|| callable(store_ptr, caller, slots)));
    // SAFETY: as above; the callable's borrow has ended.
    let store = unsafe { &mut *store_ptr };
    match result {
        Ok(Ok(())) => 0,
        Ok(Err(trap)) => {
            if let TrapCode::Exception(thrown) = &trap.code {
                // The trampoline throws it into the calling wasm code.
                let exn = crate::runtime::exception::host_thrown(store, thrown);
                // SAFETY: per contract `values` has at least one slot (the
                // trampoline's area is never empty).
                unsafe { values.write(exn as usize as u128) };
                return 2;
            }
            store.pending = Some(Pending::Trap(trap));
            1
        }
        Err(panic) => {
            store.pending = Some(Pending::Panic(panic));
            1
        }
    }
}

/// Call function `index` of `store` with arguments and results in `values`.
pub(crate) fn call_raw(
    store_ptr: *mut StoreOpaque,
    index: u32,
    values: &mut [u128],
) -> Result<(), Error> {
    // SAFETY: the caller holds the store exclusively and passes it as a raw
    // pointer so that re-entrant host functions may borrow it again.
    let store = unsafe { &mut *store_ptr };
    let data = &store.funcs[index as usize];
    let (funcref, entry) = match &data.kind {
        FuncKind::Host { callable, .. } => {
            let callable = callable.clone();
            return callable(store_ptr, None, values).map_err(Error::from);
        }
        FuncKind::Wasm { funcref, entry } => (*funcref, *entry),
    };
    // SAFETY: a wasm funcref lives in its instance's VMContext, owned by
    // the store.
    let fr = unsafe { *funcref };
    // SAFETY: the entry trampoline has exactly this C signature (built in
    // `compile_trampolines`), and the module that owns the function keeps it
    // alive.
    let entry: EntryTrampoline = unsafe { std::mem::transmute(entry) };
    let ctx_ptr: *mut VMStoreContext = &mut *store.ctx;
    let limit_ptr = ctx_ptr
        .wrapping_byte_add(std::mem::offset_of!(VMStoreContext, stack_limit))
        .cast::<usize>();
    let values_ptr = values.as_mut_ptr();
    let wasm_stack = store.engine.max_wasm_stack();
    let outcome =
        crate::runtime::fiber::on_guest_stack(wasm_stack, store_ptr, limit_ptr, &mut || {
            // SAFETY: the funcref's code and vmctx are live (owned by the store),
            // `values` has a slot per parameter and result of its type.
            unsafe { entry(fr.wasm_call, fr.vmctx, values_ptr) };
        });
    // SAFETY: as at the top; the guest's use of the store has ended.
    let store = unsafe { &mut *store_ptr };
    match outcome? {
        Ok(()) => Ok(()),
        Err(record) => Err(trap_from_record(store, &record)),
    }
}

fn trap_from_record(store: &mut StoreOpaque, record: &crate::runtime::fiber::TrapRecord) -> Error {
    // Taken first, so that no later trap of this thread sees it.
    let fault =
        crate::runtime::signals::take_fault_address().and_then(|addr| store.wasm_fault(addr));
    let code_info = crate::compile::lookup_code(record.pc);
    let ir_code = code_info.as_ref().and_then(|c| c.trap_at(record.pc));
    let code = ir_code.and_then(crate::runtime::trap::from_ir);
    let code = match code {
        Some(TrapCode::Host(_)) => match store.pending.take() {
            Some(Pending::Trap(mut trap)) => {
                // A host function's error gets the wasm frames that called
                // it, as in wasmtime (an exception brings its own).
                if trap.backtrace.is_empty() && trap.exit_code().is_none() {
                    trap.backtrace = backtrace_of(record, false);
                }
                return Error::from(trap);
            }
            Some(Pending::Panic(p)) => resume_unwind(p),
            None => TrapCode::Host("host function failed".into()),
        },
        Some(code) => code,
        // A fault without a trap record: a load or store in the guard.
        None => TrapCode::MemoryOutOfBounds,
    };
    let backtrace = backtrace_of(record, code == TrapCode::StackOverflow);
    Error::from(Trap {
        code,
        backtrace,
        fault: fault.map(Box::new),
    })
}

/// The wasm frames of a trap record, innermost first. `in_prologue`: the
/// trap is the stack-limit check, which is prologue code belonging to no
/// wasm operator, so the innermost frame has no module offset (wasmtime
/// shows it without one).
fn backtrace_of(record: &crate::runtime::fiber::TrapRecord, in_prologue: bool) -> Vec<FrameInfo> {
    let mut backtrace = Vec::new();
    let pcs =
        std::iter::once(record.pc).chain(record.frames[..record.nframes].iter().map(|r| r - 1));
    for pc in pcs {
        let Some(info) = crate::compile::lookup_code(pc) else {
            continue;
        };
        if let Some((func_index, code_offset)) = info.func_at(pc) {
            let offsetless = in_prologue && backtrace.is_empty();
            backtrace.push(FrameInfo {
                func_index,
                func_name: info.names.get(&func_index).cloned(),
                code_offset,
                module_offset: info.wasm_offset_at(pc).filter(|_| !offsetless),
                module_name: info.module_name.clone(),
            });
        }
    }
    backtrace
}

/// A function handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Func {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl Func {
    /// The function's type.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let store = &store.as_context().0.opaque;
        assert_eq!(store.id, self.store, "func used with the wrong store");
        store.funcs[self.index as usize].ty.clone()
    }

    /// Call with `params`, writing `results`.
    ///
    /// # Errors
    ///
    /// `Error::Type` for mismatched arguments, `Error::Trap` when the guest
    /// traps, `Error::Exit` when a host function asked to exit.
    pub fn call(
        &self,
        mut store: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<(), Error> {
        let cx = store.as_context_mut();
        let opaque = &mut cx.0.opaque;
        opaque.check(self.store)?;
        let ty = opaque.funcs[self.index as usize].ty.clone();
        if params.len() != ty.params().len() || results.len() != ty.results().len() {
            return Err(Error::ty(format!(
                "{ty} called with {} params and {} results",
                params.len(),
                results.len()
            )));
        }
        let n = ty.params().len().max(ty.results().len()).max(1);
        let mut values = vec![0u128; n];
        for ((v, p), t) in values.iter_mut().zip(params).zip(ty.params()) {
            *v = p.to_raw(opaque, *t)?;
        }
        call_raw(opaque, self.index, &mut values)?;
        let opaque = &cx.0.opaque;
        for ((r, v), t) in results.iter_mut().zip(&values).zip(ty.results()) {
            *r = Val::from_raw(opaque, *t, *v);
        }
        Ok(())
    }

    /// Call with `params`, writing `results`, as a future: the call runs on
    /// a fiber ([`on_fiber`](crate::on_fiber)), so a host function it
    /// reaches may wait on futures ([`AsyncCx::block_on`](crate::AsyncCx),
    /// async host functions) without holding the thread.
    ///
    /// # Errors
    ///
    /// As [`Func::call`]; `Error::ResourceLimit` when no fiber stack can be
    /// allocated.
    pub async fn call_async(
        &self,
        store: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<(), Error> {
        let func = *self;
        crate::on_fiber(store, move |mut cx| func.call(&mut cx, params, results)).await?
    }

    /// A typed view of this function.
    ///
    /// # Errors
    ///
    /// `Error::Type` when `P`/`R` do not match the function's type.
    pub fn typed<P: WasmParams, R: WasmResults>(
        &self,
        store: impl AsContext,
    ) -> Result<TypedFunc<P, R>, Error> {
        let ty = self.ty(store);
        if !P::matches(ty.params()) || !R::matches(ty.results()) {
            return Err(Error::ty(format!("function has type {ty}")));
        }
        Ok(TypedFunc {
            func: *self,
            _marker: PhantomData,
        })
    }

    /// A host function from a typed closure.
    pub fn wrap<T, Params, Results>(
        mut store: impl AsContextMut<Data = T>,
        f: impl IntoFunc<T, Params, Results>,
    ) -> Func {
        let HostFunc { ty, callable } = f.into_host();
        new_host_func(&mut store.as_context_mut().0.opaque, ty, callable)
            .expect("trampolines for a host signature compile")
    }

    /// A host function from a typed closure that returns a future: the
    /// guest waits for it inside an async call (see
    /// [`Linker::func_wrap_async`](crate::Linker::func_wrap_async)).
    pub fn wrap_async<T: 'static, P: WasmParams + 'static, R: HostReturn + 'static>(
        mut store: impl AsContextMut<Data = T>,
        f: impl for<'a> Fn(Caller<'a, T>, P) -> Box<dyn Future<Output = R> + 'a> + Send + Sync + 'static,
    ) -> Func {
        let HostFunc { ty, callable } = async_host(f);
        new_host_func(&mut store.as_context_mut().0.opaque, ty, callable)
            .expect("trampolines for a host signature compile")
    }

    /// A host function with a dynamic signature whose body is a future: the
    /// guest waits for it inside an async call (see
    /// [`Linker::func_new_async`](crate::Linker::func_new_async)).
    pub fn new_async<T: 'static>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        f: impl for<'a> Fn(
            Caller<'a, T>,
            &'a [Val],
            &'a mut [Val],
        ) -> Box<dyn Future<Output = Result<(), Trap>> + 'a>
        + Send
        + Sync
        + 'static,
    ) -> Func {
        let callable = dynamic_host::<T>(ty.clone(), move |caller, params, results| {
            let future = Box::into_pin(f(caller, params, results));
            crate::runtime::fiber::block_on(future)
                .map_err(crate::runtime::async_call::suspend_trap)?
        });
        new_host_func(&mut store.as_context_mut().0.opaque, ty, callable)
            .expect("trampolines for a host signature compile")
    }

    /// A host function with a dynamic signature.
    pub fn new<T: 'static>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Func {
        let callable = dynamic_host::<T>(ty.clone(), f);
        new_host_func(&mut store.as_context_mut().0.opaque, ty, callable)
            .expect("trampolines for a host signature compile")
    }
}

pub(crate) fn dynamic_host<T: 'static>(
    ty: FuncType,
    f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
) -> HostCallable {
    Arc::new(move |store_ptr, instance, slots| {
        // SAFETY: a host function registered for `Store<T>` is only called
        // with that store, whose `StoreInner<T>` starts with the opaque part.
        let inner = unsafe { &mut *store_ptr.cast::<StoreInner<T>>() };
        let params: Vec<Val> = ty
            .params()
            .iter()
            .zip(slots.iter())
            .map(|(t, raw)| Val::from_raw(&inner.opaque, *t, *raw))
            .collect();
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
        f(
            Caller {
                inner: &mut *inner,
                instance,
            },
            &params,
            &mut results,
        )?;
        for ((slot, r), t) in slots.iter_mut().zip(&results).zip(ty.results()) {
            *slot = r
                .to_raw(&inner.opaque, *t)
                .map_err(|e| Trap::host(format!("host function result: {e}")))?;
        }
        Ok(())
    })
}

/// The host function of a typed closure returning a future: its body waits
/// for the future with [`fiber::block_on`](crate::runtime::fiber::block_on),
/// which traps outside an async call.
pub(crate) fn async_host<T: 'static, P: WasmParams + 'static, R: HostReturn + 'static>(
    f: impl for<'a> Fn(Caller<'a, T>, P) -> Box<dyn Future<Output = R> + 'a> + Send + Sync + 'static,
) -> HostFunc {
    let ty = FuncType::new(P::types(), R::Results::types());
    let callable: HostCallable = Arc::new(move |store_ptr, instance, slots| {
        // SAFETY: a host function registered for `Store<T>` is only called
        // with that store, whose `StoreInner<T>` starts with the opaque part.
        let inner = unsafe { &mut *store_ptr.cast::<StoreInner<T>>() };
        let future = Box::into_pin(f(Caller { inner, instance }, P::load(slots)));
        let results = crate::runtime::fiber::block_on(future)
            .map_err(crate::runtime::async_call::suspend_trap)?
            .into_result()?;
        results.store(slots);
        Ok(())
    });
    HostFunc { ty, callable }
}

/// A function with static parameter and result types.
pub struct TypedFunc<P, R> {
    func: Func,
    _marker: PhantomData<fn(P) -> R>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P, R> Copy for TypedFunc<P, R> {}

impl<P: WasmParams, R: WasmResults> TypedFunc<P, R> {
    /// Call with `params`.
    ///
    /// # Errors
    ///
    /// `Error::Trap` when the guest traps, `Error::Exit` on exit.
    pub fn call(&self, mut store: impl AsContextMut, params: P) -> Result<R, Error> {
        let cx = store.as_context_mut();
        let opaque = &mut cx.0.opaque;
        opaque.check(self.func.store)?;
        let n = P::count().max(R::count()).max(1);
        let mut values = vec![0u128; n];
        params.store(&mut values);
        call_raw(opaque, self.func.index, &mut values)?;
        Ok(R::load(&values))
    }

    /// Call with `params` as a future; see [`Func::call_async`].
    ///
    /// # Errors
    ///
    /// As [`TypedFunc::call`]; `Error::ResourceLimit` when no fiber stack
    /// can be allocated.
    pub async fn call_async(&self, store: impl AsContextMut, params: P) -> Result<R, Error> {
        let func = *self;
        crate::on_fiber(store, move |mut cx| func.call(&mut cx, params)).await?
    }

    /// The untyped function.
    pub fn func(&self) -> Func {
        self.func
    }
}

/// The calling context of a host function.
pub struct Caller<'a, T> {
    pub(crate) inner: &'a mut StoreInner<T>,
    pub(crate) instance: Option<u32>,
}

impl<T> Caller<'_, T> {
    /// The host data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    /// The engine.
    pub fn engine(&self) -> &crate::Engine {
        &self.inner.opaque.engine
    }

    /// An export of the calling instance.
    pub fn get_export(&mut self, name: &str) -> Option<Extern> {
        let instance = self.instance?;
        crate::runtime::instance::export_of(&mut self.inner.opaque, instance, name)
    }

    /// The instance whose code called this host function (`None` when the
    /// host called it directly): a key for caching what
    /// [`Caller::get_export`] finds, since an instance's exports never
    /// change.
    pub fn instance(&self) -> Option<crate::Instance> {
        self.instance.map(|index| crate::Instance {
            store: self.inner.opaque.id,
            index,
        })
    }
}

impl<T> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.inner)
    }
}

impl<T> AsContextMut for Caller<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.inner)
    }
}

/// A Rust type that is a wasm value type.
pub trait WasmTy: Copy + Send + 'static {
    /// Its wasm type.
    fn valtype() -> ValType;
    /// From the slot representation.
    fn from_raw(raw: u128) -> Self;
    /// To the slot representation.
    fn to_raw(self) -> u128;
}

macro_rules! wasm_ty {
    ($($t:ty => $vt:ident, |$r:ident| $from:expr, |$s:ident| $to:expr;)*) => {$(
        impl WasmTy for $t {
            fn valtype() -> ValType { ValType::$vt }
            fn from_raw($r: u128) -> Self { $from }
            fn to_raw(self) -> u128 { let $s = self; $to }
        }
    )*};
}

wasm_ty! {
    i32 => I32, |r| r as u32 as i32, |s| u128::from(s as u32);
    u32 => I32, |r| r as u32, |s| u128::from(s);
    i64 => I64, |r| r as u64 as i64, |s| u128::from(s as u64);
    u64 => I64, |r| r as u64, |s| u128::from(s);
    f32 => F32, |r| f32::from_bits(r as u32), |s| u128::from(s.to_bits());
    f64 => F64, |r| f64::from_bits(r as u64), |s| u128::from(s.to_bits());
    u128 => V128, |r| r, |s| s;
}

/// Parameter lists of typed functions: `()`, one value, or a tuple.
pub trait WasmParams: Send {
    /// Number of values.
    fn count() -> usize;
    /// Whether the types match.
    fn matches(tys: &[ValType]) -> bool;
    /// Write into slots.
    fn store(self, slots: &mut [u128]);
    /// Read from slots.
    fn load(slots: &[u128]) -> Self;
    /// The wasm types.
    fn types() -> Vec<ValType>;
}

/// Result lists of typed functions (same shapes as [`WasmParams`]).
pub trait WasmResults: WasmParams {}
impl<T: WasmParams> WasmResults for T {}

impl<A: WasmTy> WasmParams for A {
    fn count() -> usize {
        1
    }
    fn matches(tys: &[ValType]) -> bool {
        tys == [A::valtype()]
    }
    fn store(self, slots: &mut [u128]) {
        slots[0] = self.to_raw();
    }
    fn load(slots: &[u128]) -> Self {
        A::from_raw(slots[0])
    }
    fn types() -> Vec<ValType> {
        vec![A::valtype()]
    }
}

macro_rules! tuple_params {
    ($n:expr; $($a:ident $i:tt),*) => {
        impl<$($a: WasmTy),*> WasmParams for ($($a,)*) {
            fn count() -> usize { $n }
            fn matches(tys: &[ValType]) -> bool {
                tys == Self::types().as_slice()
            }
            #[allow(unused_variables, reason = "the empty tuple touches no slot")]
            fn store(self, slots: &mut [u128]) {
                $(slots[$i] = self.$i.to_raw();)*
            }
            #[allow(unused_variables, clippy::unused_unit, reason = "the empty tuple reads no slot")]
            fn load(slots: &[u128]) -> Self {
                ($($a::from_raw(slots[$i]),)*)
            }
            fn types() -> Vec<ValType> {
                vec![$($a::valtype()),*]
            }
        }
    };
}

tuple_params!(0;);
tuple_params!(1; A 0);
tuple_params!(2; A 0, B 1);
tuple_params!(3; A 0, B 1, C 2);
tuple_params!(4; A 0, B 1, C 2, D 3);
tuple_params!(5; A 0, B 1, C 2, D 3, E 4);
tuple_params!(6; A 0, B 1, C 2, D 3, E 4, F 5);
tuple_params!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_params!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_params!(9; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_params!(10; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);

/// What a typed host closure may return: results, or `Result<results, Trap>`.
pub trait HostReturn: Send {
    /// The results part.
    type Results: WasmParams;
    /// Split off the trap.
    ///
    /// # Errors
    ///
    /// The trap the host function raised.
    fn into_result(self) -> Result<Self::Results, Trap>;
}

impl<R: WasmParams> HostReturn for R {
    type Results = R;
    fn into_result(self) -> Result<R, Trap> {
        Ok(self)
    }
}

impl<R: WasmParams> HostReturn for Result<R, Trap> {
    type Results = R;
    fn into_result(self) -> Result<R, Trap> {
        self
    }
}

/// A host function's signature and type-erased body.
pub struct HostFunc {
    pub(crate) ty: FuncType,
    pub(crate) callable: HostCallable,
}

/// Closures usable as typed host functions:
/// `Fn(Caller<'_, T>, A1, A2, ..) -> R` where `R: HostReturn`.
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    /// Signature and type-erased callable.
    #[doc(hidden)]
    fn into_host(self) -> HostFunc;
}

macro_rules! into_func {
    ($($a:ident $i:tt),*) => {
        impl<T: 'static, F, R, $($a: WasmTy),*> IntoFunc<T, ($($a,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($a),*) -> R + Send + Sync + 'static,
            R: HostReturn,
        {
            fn into_host(self) -> HostFunc {
                let ty = FuncType::new(vec![$($a::valtype()),*], R::Results::types());
                let callable: HostCallable = Arc::new(move |store_ptr, instance, slots| {
                    // SAFETY: a host function registered for `Store<T>` is
                    // only called with that store, whose `StoreInner<T>`
                    // starts with the opaque part.
                    let inner = unsafe { &mut *store_ptr.cast::<StoreInner<T>>() };
                    let caller = Caller { inner, instance };
                    let r = (self)(caller, $($a::from_raw(slots[$i])),*).into_result()?;
                    r.store(slots);
                    Ok(())
                });
                HostFunc { ty, callable }
            }
        }
    };
}

into_func!();
into_func!(A 0);
into_func!(A 0, B 1);
into_func!(A 0, B 1, C 2);
into_func!(A 0, B 1, C 2, D 3);
into_func!(A 0, B 1, C 2, D 3, E 4);
into_func!(A 0, B 1, C 2, D 3, E 4, F0 5);
into_func!(A 0, B 1, C 2, D 3, E 4, F0 5, G 6);
into_func!(A 0, B 1, C 2, D 3, E 4, F0 5, G 6, H 7);
into_func!(A 0, B 1, C 2, D 3, E 4, F0 5, G 6, H 7, I 8);
into_func!(A 0, B 1, C 2, D 3, E 4, F0 5, G 6, H 7, I 8, J 9);
