//! The [`Backend`] on ringwasm's own engine, written against the embedding
//! API in `docs/design/embedding-api.md`.

use ringwasm_jit::{
    AnyRef, AnyRefKind, Config, Engine, Error, ExternRef, Func, Global, GlobalType, Instance,
    Linker, Memory, MemoryType, Module, Mutability, RefType, Store, Table, TableType, TrapCode,
    Val, ValType,
};

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::FeatureSet;
use super::backend::{AnyValue, Backend, EngineError, Value};

/// How often the watchdog advances the engine's epoch.
const TICK: Duration = Duration::from_millis(100);

/// How long a single call or instantiation may run before it is
/// interrupted: no spec directive needs more than a fraction of a second,
/// so a hang is an engine bug and should become one failed directive, not a
/// stuck run.
const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

/// Runs scripts on ringwasm: one store, and a linker holding `spectest` and
/// every registered instance.
pub struct JitBackend {
    engine: Engine,
    store: Store<()>,
    linker: Linker<()>,
    /// Watchdog ticks a call may take.
    deadline_ticks: u64,
    /// Dropping it stops the watchdog thread.
    _watchdog: mpsc::Sender<()>,
}

fn ticks(deadline: Duration) -> u64 {
    u64::try_from(deadline.as_millis() / TICK.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Advances `engine`'s epoch every [`TICK`] until the returned sender drops.
fn start_watchdog(engine: &Engine) -> mpsc::Sender<()> {
    let (stop, stopped) = mpsc::channel::<()>();
    let engine = engine.clone();
    let spawned = thread::Builder::new()
        .name("wast-watchdog".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                engine.increment_epoch();
            }
        });
    // Without a watchdog a hang stays a hang; everything else still works.
    drop(spawned);
    stop
}

impl JitBackend {
    /// An engine configured for `features`, with the `spectest` module
    /// (`print*`, `global_*`, `table`, `memory`) defined.
    ///
    /// # Errors
    ///
    /// When the engine cannot be created or `spectest` cannot be defined.
    pub fn new(features: FeatureSet) -> Result<Self, Error> {
        let mut config = match features {
            FeatureSet::Wasm1 => Config::wasm_v1(),
            FeatureSet::Wasm2 => Config::wasm_v2(),
            FeatureSet::Wasm3 => {
                let mut config = Config::new();
                config.wasm_features(ringwasm_jit::WasmFeatures::WASM3);
                config
            }
            FeatureSet::All => {
                // Everything, including what is off by default.
                let mut config = Config::default();
                let features = config.features() | ringwasm_jit::WasmFeatures::CUSTOM_PAGE_SIZES;
                config.wasm_features(features);
                config
            }
            FeatureSet::Memory64 => {
                let mut config = Config::new();
                let features = config.features() - ringwasm_jit::WasmFeatures::MULTI_MEMORY;
                config.wasm_features(features);
                config
            }
        };
        config.epoch_interruption(true);
        let engine = Engine::new(&config)?;
        let watchdog = start_watchdog(&engine);
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        define_spectest(&mut linker, &mut store, config.features())?;
        Ok(Self {
            engine,
            store,
            linker,
            deadline_ticks: ticks(DEFAULT_DEADLINE),
            _watchdog: watchdog,
        })
    }

    /// Interrupts each call or instantiation after about `deadline`
    /// (10 s by default) with the trap "interrupt".
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline_ticks = ticks(deadline);
        self
    }

    fn val_of(&mut self, value: &Value) -> Val {
        match *value {
            Value::AnyRef(None) => Val::AnyRef(None),
            Value::AnyRef(Some(AnyValue::Host(n))) => {
                Val::AnyRef(Some(ExternRef::new(&mut self.store, n).to_any()))
            }
            Value::AnyRef(Some(AnyValue::I31(v))) => {
                Val::AnyRef(Some(AnyRef::from_i31(&self.store, v)))
            }
            // Scripts cannot build structs, arrays or externalised GC
            // values as arguments.
            Value::AnyRef(Some(AnyValue::Struct | AnyValue::Array)) | Value::ExternGc => {
                Val::AnyRef(None)
            }
            Value::I32(v) => Val::I32(v),
            Value::I64(v) => Val::I64(v),
            Value::F32(bits) => Val::F32(bits),
            Value::F64(bits) => Val::F64(bits),
            Value::V128(v) => Val::V128(v),
            Value::FuncRef(_) => Val::FuncRef(None),
            Value::ExternRef(None) => Val::ExternRef(None),
            Value::ExternRef(Some(n)) => Val::ExternRef(Some(ExternRef::new(&mut self.store, n))),
        }
    }

    fn value_of(&self, val: &Val) -> Value {
        match val {
            Val::I32(v) => Value::I32(*v),
            Val::I64(v) => Value::I64(*v),
            Val::F32(bits) => Value::F32(*bits),
            Val::F64(bits) => Value::F64(*bits),
            Val::V128(v) => Value::V128(*v),
            Val::FuncRef(f) => Value::FuncRef(f.is_some()),
            Val::ExternRef(None) => Value::ExternRef(None),
            Val::ExternRef(Some(r)) => match r.payload(&self.store) {
                Some(n) => Value::ExternRef(Some(n)),
                None => Value::ExternGc,
            },
            Val::AnyRef(None) => Value::AnyRef(None),
            Val::AnyRef(Some(r)) => Value::AnyRef(Some(match r.kind(&self.store) {
                Some(AnyRefKind::I31) => AnyValue::I31(r.i31_s().unwrap_or(0)),
                Some(AnyRefKind::Array(_)) => AnyValue::Array,
                Some(AnyRefKind::Host) => {
                    AnyValue::Host(r.to_extern().payload(&self.store).unwrap_or(u64::MAX))
                }
                _ => AnyValue::Struct,
            })),
        }
    }
}

/// The spec interpreter's `spectest` host module.
fn define_spectest(
    linker: &mut Linker<()>,
    store: &mut Store<()>,
    features: ringwasm_jit::WasmFeatures,
) -> Result<(), Error> {
    linker.func_wrap("spectest", "print", |_: ringwasm_jit::Caller<'_, ()>| {})?;
    linker.func_wrap(
        "spectest",
        "print_i32",
        |_: ringwasm_jit::Caller<'_, ()>, _: i32| {},
    )?;
    linker.func_wrap(
        "spectest",
        "print_i64",
        |_: ringwasm_jit::Caller<'_, ()>, _: i64| {},
    )?;
    linker.func_wrap(
        "spectest",
        "print_f32",
        |_: ringwasm_jit::Caller<'_, ()>, _: f32| {},
    )?;
    linker.func_wrap(
        "spectest",
        "print_f64",
        |_: ringwasm_jit::Caller<'_, ()>, _: f64| {},
    )?;
    linker.func_wrap(
        "spectest",
        "print_i32_f32",
        |_: ringwasm_jit::Caller<'_, ()>, _: i32, _: f32| {},
    )?;
    linker.func_wrap(
        "spectest",
        "print_f64_f64",
        |_: ringwasm_jit::Caller<'_, ()>, _: f64, _: f64| {},
    )?;
    let globals = [
        ("global_i32", ValType::I32, Val::I32(666)),
        ("global_i64", ValType::I64, Val::I64(666)),
        ("global_f32", ValType::F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", ValType::F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, ty, value) in globals {
        let global = Global::new(&mut *store, GlobalType::new(ty, Mutability::Const), value)?;
        linker.define(store, "spectest", name, global)?;
    }
    let table = Table::new(
        &mut *store,
        TableType::new(RefType::FUNCREF, 10, Some(20)),
        Val::FuncRef(None),
    )?;
    linker.define(store, "spectest", "table", table)?;
    let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2)))?;
    linker.define(store, "spectest", "memory", memory)?;
    // The threads proposal's interpreter adds `(memory 1 2 shared)`. It
    // cannot exist where threads are off (wasm 1.0 and 2.0 scripts).
    if features.contains(ringwasm_jit::WasmFeatures::THREADS) {
        let shared = Memory::new(&mut *store, MemoryType::shared(1, 2))?;
        linker.define(store, "spectest", "shared_memory", shared)?;
    }
    Ok(())
}

fn classify(e: Error) -> EngineError {
    match e {
        Error::Compile(_) => EngineError::Compile(e.to_string()),
        Error::Link(_) => EngineError::Link(e.to_string()),
        Error::Trap(trap) => EngineError::Trap {
            exhausted: matches!(trap.code, TrapCode::StackOverflow),
            message: trap.to_string(),
        },
        other => EngineError::Other(other.to_string()),
    }
}

impl Backend for JitBackend {
    type Module = Module;
    type Instance = Instance;

    fn compile(&mut self, bytes: &[u8]) -> Result<Module, EngineError> {
        Module::new(&self.engine, bytes).map_err(classify)
    }

    fn instantiate(&mut self, module: &Module) -> Result<Instance, EngineError> {
        self.store.set_epoch_deadline(self.deadline_ticks);
        self.linker
            .instantiate(&mut self.store, module)
            .map_err(classify)
    }

    fn register(&mut self, name: &str, instance: &Instance) -> Result<(), EngineError> {
        self.linker
            .instance(&mut self.store, name, *instance)
            .map(|_| ())
            .map_err(classify)
    }

    fn invoke(
        &mut self,
        instance: &Instance,
        name: &str,
        args: &[Value],
    ) -> Result<Vec<Value>, EngineError> {
        let func: Func = instance
            .get_func(&mut self.store, name)
            .ok_or_else(|| EngineError::Other(format!("no exported function {name:?}")))?;
        let args: Vec<Val> = args.iter().map(|a| self.val_of(a)).collect();
        let ty = func.ty(&self.store);
        let mut results = vec![Val::I32(0); ty.results().len()];
        self.store.set_epoch_deadline(self.deadline_ticks);
        func.call(&mut self.store, &args, &mut results)
            .map_err(classify)?;
        Ok(results.iter().map(|v| self.value_of(v)).collect())
    }

    fn get_global(&mut self, instance: &Instance, name: &str) -> Result<Value, EngineError> {
        let global = instance
            .get_global(&mut self.store, name)
            .ok_or_else(|| EngineError::Other(format!("no exported global {name:?}")))?;
        let value = global.get(&mut self.store);
        Ok(self.value_of(&value))
    }
}
