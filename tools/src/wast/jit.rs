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
    /// Definitions for components (registered component instances).
    component_linker: ringwasm_jit::component::Linker<()>,
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
                // Everything, including what is off by default (the
                // component-model test suite's README turns on the same
                // features for wasmtime).
                let mut config = Config::default();
                use ringwasm_jit::WasmFeatures as F;
                let features = config.features()
                    | F::CUSTOM_PAGE_SIZES
                    | F::CM_ASYNC_STACKFUL
                    | F::CM_MORE_ASYNC_BUILTINS
                    | F::CM_THREADING
                    | F::CM_FIXED_LENGTH_LISTS
                    | F::CM_ERROR_CONTEXT;
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
        let component_linker = ringwasm_jit::component::Linker::new(&engine);
        Ok(Self {
            engine,
            store,
            linker,
            component_linker,
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

    fn invoke_component(
        &mut self,
        instance: &ringwasm_jit::component::Instance,
        name: &str,
        args: &[Value],
    ) -> Result<Vec<Value>, EngineError> {
        let func = instance
            .get_func(&mut self.store, name)
            .ok_or_else(|| EngineError::Other(format!("no exported function {name:?}")))?;
        let args = args
            .iter()
            .map(|a| match a {
                Value::Component(v) => Ok(v.clone()),
                other => Err(EngineError::Other(format!(
                    "a core value {other} passed to a component function"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let n = usize::from(func.result(&mut self.store).is_some());
        let mut results = vec![ringwasm_jit::component::Val::Bool(false); n];
        self.store.set_epoch_deadline(self.deadline_ticks);
        func.call(&mut self.store, &args, &mut results)
            .map_err(classify)?;
        Ok(results.into_iter().map(Value::Component).collect())
    }

    fn val_of(&mut self, value: &Value) -> Val {
        match value.clone() {
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
            // A component value passed to a core function: a script error
            // the call reports as a type mismatch.
            Value::Component(_) => Val::I32(0),
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

/// A compiled module or component.
#[derive(Clone)]
pub enum JitModule {
    /// A core module.
    Core(Module),
    /// A component.
    Component(ringwasm_jit::component::Component),
}

/// An instance of a module or component.
#[derive(Clone)]
pub enum JitInstance {
    /// A core instance.
    Core(Instance),
    /// A component instance.
    Component(ringwasm_jit::component::Instance),
}

impl Backend for JitBackend {
    type Module = JitModule;
    type Instance = JitInstance;

    fn compile(&mut self, bytes: &[u8]) -> Result<JitModule, EngineError> {
        if ringwasm_jit::component::is_component(bytes) {
            return ringwasm_jit::component::Component::new(&self.engine, bytes)
                .map(JitModule::Component)
                .map_err(classify);
        }
        Module::new(&self.engine, bytes)
            .map(JitModule::Core)
            .map_err(classify)
    }

    fn instantiate(&mut self, module: &JitModule) -> Result<JitInstance, EngineError> {
        self.store.set_epoch_deadline(self.deadline_ticks);
        match module {
            JitModule::Core(m) => self
                .linker
                .instantiate(&mut self.store, m)
                .map(JitInstance::Core)
                .map_err(classify),
            JitModule::Component(c) => self
                .component_linker
                .instantiate(&mut self.store, c)
                .map(JitInstance::Component)
                .map_err(classify),
        }
    }

    fn register(&mut self, name: &str, instance: &JitInstance) -> Result<(), EngineError> {
        match instance {
            JitInstance::Core(i) => self
                .linker
                .instance(&mut self.store, name, *i)
                .map(|_| ())
                .map_err(classify),
            JitInstance::Component(_) => Err(EngineError::Other(
                "registering component instances is not supported".into(),
            )),
        }
    }

    fn invoke(
        &mut self,
        instance: &JitInstance,
        name: &str,
        args: &[Value],
    ) -> Result<Vec<Value>, EngineError> {
        let instance = match instance {
            JitInstance::Core(i) => i,
            JitInstance::Component(c) => return self.invoke_component(c, name, args),
        };
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

    fn get_global(&mut self, instance: &JitInstance, name: &str) -> Result<Value, EngineError> {
        let JitInstance::Core(instance) = instance else {
            return Err(EngineError::Other("components have no globals".into()));
        };
        let global = instance
            .get_global(&mut self.store, name)
            .ok_or_else(|| EngineError::Other(format!("no exported global {name:?}")))?;
        let value = global.get(&mut self.store);
        Ok(self.value_of(&value))
    }
}
