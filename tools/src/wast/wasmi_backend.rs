//! A [`Backend`] on the `wasmi` interpreter, used only by this crate's tests
//! to show that the runner itself passes the spec suite on a correct engine.

use wasmi::{
    Config, Engine, Error, ExternRef, Func, Global, Instance, Linker, Memory, MemoryType, Module,
    Mutability, Nullable, Ref, RefType, Store, Table, TableType, TrapCode, Val, ValType,
};

use super::backend::{Backend, EngineError, Value};

pub(crate) struct WasmiBackend {
    engine: Engine,
    store: Store<()>,
    linker: Linker<()>,
}

impl WasmiBackend {
    /// A WebAssembly 2.0 engine without SIMD (the `wasmi` build has none).
    pub(crate) fn new() -> Result<Self, Error> {
        let mut config = Config::default();
        config
            .wasm_multi_memory(false)
            .wasm_memory64(false)
            .wasm_custom_page_sizes(false)
            .wasm_wide_arithmetic(false)
            .wasm_tail_call(false)
            .wasm_extended_const(true);
        let engine = Engine::new(&config);
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        linker.func_wrap("spectest", "print", || {})?;
        linker.func_wrap("spectest", "print_i32", |_: i32| {})?;
        linker.func_wrap("spectest", "print_i64", |_: i64| {})?;
        linker.func_wrap("spectest", "print_f32", |_: f32| {})?;
        linker.func_wrap("spectest", "print_f64", |_: f64| {})?;
        linker.func_wrap("spectest", "print_i32_f32", |_: i32, _: f32| {})?;
        linker.func_wrap("spectest", "print_f64_f64", |_: f64, _: f64| {})?;
        let globals = [
            ("global_i32", Val::I32(666)),
            ("global_i64", Val::I64(666)),
            (
                "global_f32",
                Val::F32(wasmi::F32::from_bits(666.6f32.to_bits())),
            ),
            (
                "global_f64",
                Val::F64(wasmi::F64::from_bits(666.6f64.to_bits())),
            ),
        ];
        for (name, value) in globals {
            let global = Global::new(&mut store, value, Mutability::Const);
            linker.define("spectest", name, global)?;
        }
        let table = Table::new(
            &mut store,
            TableType::new(RefType::Func, 10, Some(20)),
            Ref::Func(Nullable::Null),
        )?;
        linker.define("spectest", "table", table)?;
        let memory = Memory::new(&mut store, MemoryType::new(1, Some(2)))?;
        linker.define("spectest", "memory", memory)?;
        Ok(Self {
            engine,
            store,
            linker,
        })
    }

    fn val_of(&mut self, value: &Value) -> Val {
        match *value {
            // wasmi runs no GC and no components: these cannot reach it from
            // a script it runs.
            Value::ExternGc | Value::AnyRef(_) | Value::Component(_) => {
                Val::ExternRef(Nullable::Null)
            }
            Value::I32(v) => Val::I32(v),
            Value::I64(v) => Val::I64(v),
            Value::F32(bits) => Val::F32(wasmi::F32::from_bits(bits)),
            Value::F64(bits) => Val::F64(wasmi::F64::from_bits(bits)),
            Value::V128(v) => Val::V128(wasmi::V128::from(v)),
            Value::FuncRef(_) => Val::FuncRef(Nullable::Null),
            Value::ExternRef(None) => Val::ExternRef(Nullable::Null),
            Value::ExternRef(Some(n)) => {
                Val::ExternRef(Nullable::Val(ExternRef::new(&mut self.store, n)))
            }
        }
    }

    fn value_of(&self, val: &Val) -> Value {
        match val {
            Val::I32(v) => Value::I32(*v),
            Val::I64(v) => Value::I64(*v),
            Val::F32(v) => Value::F32(v.to_bits()),
            Val::F64(v) => Value::F64(v.to_bits()),
            Val::V128(v) => Value::V128(v.as_u128()),
            Val::FuncRef(f) => Value::FuncRef(!f.is_null()),
            Val::ExternRef(Nullable::Null) => Value::ExternRef(None),
            Val::ExternRef(Nullable::Val(r)) => Value::ExternRef(Some(
                r.data(&self.store)
                    .downcast_ref::<u64>()
                    .copied()
                    .unwrap_or(u64::MAX),
            )),
        }
    }
}

fn classify(e: &Error) -> EngineError {
    if let Some(code) = e.as_trap_code() {
        return EngineError::Trap {
            message: code.to_string(),
            exhausted: code == TrapCode::StackOverflow,
        };
    }
    match e.kind() {
        // wasmi reports segment initialisation out of bounds as an
        // instantiation error; the spec calls it a trap.
        wasmi::errors::ErrorKind::Instantiation(_) if e.to_string().contains("out of bounds") => {
            EngineError::Trap {
                message: e.to_string(),
                exhausted: false,
            }
        }
        wasmi::errors::ErrorKind::Linker(_) | wasmi::errors::ErrorKind::Instantiation(_) => {
            EngineError::Link(e.to_string())
        }
        _ => EngineError::Other(e.to_string()),
    }
}

impl Backend for WasmiBackend {
    type Module = Module;
    type Instance = Instance;

    fn compile(&mut self, bytes: &[u8]) -> Result<Module, EngineError> {
        Module::new(&self.engine, bytes).map_err(|e| EngineError::Compile(e.to_string()))
    }

    fn instantiate(&mut self, module: &Module) -> Result<Instance, EngineError> {
        self.linker
            .instantiate_and_start(&mut self.store, module)
            .map_err(|e| classify(&e))
    }

    fn register(&mut self, name: &str, instance: &Instance) -> Result<(), EngineError> {
        self.linker
            .instance(&mut self.store, name, *instance)
            .map(|_| ())
            .map_err(|e| EngineError::Other(e.to_string()))
    }

    fn invoke(
        &mut self,
        instance: &Instance,
        name: &str,
        args: &[Value],
    ) -> Result<Vec<Value>, EngineError> {
        let func: Func = instance
            .get_func(&self.store, name)
            .ok_or_else(|| EngineError::Other(format!("no exported function {name:?}")))?;
        let args: Vec<Val> = args.iter().map(|a| self.val_of(a)).collect();
        let ty = func.ty(&self.store);
        let mut results: Vec<Val> = ty
            .results()
            .iter()
            .map(|t: &ValType| Val::default_for_ty(*t))
            .collect();
        func.call(&mut self.store, &args, &mut results)
            .map_err(|e| classify(&e))?;
        Ok(results.iter().map(|v| self.value_of(v)).collect())
    }

    fn get_global(&mut self, instance: &Instance, name: &str) -> Result<Value, EngineError> {
        let global = instance
            .get_global(&self.store, name)
            .ok_or_else(|| EngineError::Other(format!("no exported global {name:?}")))?;
        let value = global.get(&self.store);
        Ok(self.value_of(&value))
    }
}
