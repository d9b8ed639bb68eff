//! Robustness checks shared by `tests/fuzz_smoke.rs` (bounded, seeded) and
//! the `cargo fuzz` targets in `fuzz/` (unbounded): compiling arbitrary
//! bytes never panics, and `wasm-smith` modules behave on ringwasm as on the
//! `wasmi` interpreter.

use arbitrary::Unstructured;
use ringwasm_jit as jit;

/// Fuel (function entries plus loop iterations) each generated module gets
/// before it traps: keeps every call finite and recursion far below either
/// engine's stack limit.
const FUEL: u32 = 500;

/// Compiles `bytes` with ringwasm; returns whether they were accepted.
/// The point is what does not happen: a panic or a crash, whatever the input.
pub fn compile(engine: &jit::Engine, bytes: &[u8]) -> bool {
    jit::Module::new(engine, bytes).is_ok()
}

/// The `wasm-smith` configuration matching what ringwasm implements and the
/// oracle can check: WebAssembly 2.0 without SIMD, one memory, no imports,
/// canonical NaNs so both engines compute the same bits.
pub fn smith_config() -> wasm_smith::Config {
    wasm_smith::Config {
        simd_enabled: false,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        tail_call_enabled: false,
        memory64_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        custom_descriptors_enabled: false,
        extended_const_enabled: false,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        multi_value_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        canonicalize_nans: true,
        export_everything: true,
        allow_start_export: true,
        max_memories: 1,
        max_tables: 2,
        max_imports: 0,
        min_funcs: 4,
        max_funcs: 12,
        max_instructions: 200,
        max_memory32_bytes: 16 << 16,
        max_table_elements: 1000,
        ..wasm_smith::Config::default()
    }
}

/// A module built from `data` by `wasm-smith`, with fuel so every call
/// terminates; `None` when `data` is too short to build one.
pub fn smith_module(data: &[u8]) -> Option<Vec<u8>> {
    let mut u = Unstructured::new(data);
    let mut module = wasm_smith::Module::new(smith_config(), &mut u).ok()?;
    module.ensure_termination(FUEL).ok()?;
    Some(module.to_bytes())
}

/// A value as both engines can report it; NaNs compare by NaN-ness.
#[derive(Clone, Copy, Debug)]
enum Observed {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    Ref { null: bool },
}

impl PartialEq for Observed {
    fn eq(&self, other: &Self) -> bool {
        match (*self, *other) {
            (Observed::I32(a), Observed::I32(b)) => a == b,
            (Observed::I64(a), Observed::I64(b)) => a == b,
            (Observed::F32(a), Observed::F32(b)) => {
                a == b || (f32::from_bits(a).is_nan() && f32::from_bits(b).is_nan())
            }
            (Observed::F64(a), Observed::F64(b)) => {
                a == b || (f64::from_bits(a).is_nan() && f64::from_bits(b).is_nan())
            }
            (Observed::Ref { null: a }, Observed::Ref { null: b }) => a == b,
            _ => false,
        }
    }
}

/// An outcome: results, or a trap (the kinds are not compared: engines may
/// legitimately report e.g. different out-of-fuel paths the same way).
type Outcome = Result<Vec<Observed>, String>;

/// What one differential case compared, so callers can tell a vacuous
/// run from a real one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compared {
    /// Both engines instantiated the module.
    pub instantiated: bool,
    /// Calls whose outcomes were compared.
    pub calls: usize,
    /// Of those, calls that returned (rather than trapped) on both.
    pub returned: usize,
}

/// Runs the `wasm-smith` module built from `data` on ringwasm and on
/// `wasmi`: instantiation and every exported function (called with fixed
/// arguments) must agree on trap/no-trap and on results.
///
/// # Errors
///
/// A description of the first disagreement, with the module's size.
pub fn differential(data: &[u8]) -> Result<Compared, String> {
    let mut compared = Compared::default();
    let Some(bytes) = smith_module(data) else {
        return Ok(compared);
    };
    let oracle = Oracle::new(&bytes)?;
    let Some(mut oracle) = oracle else {
        // The oracle rejects it (an implementation limit): nothing to compare.
        return Ok(compared);
    };
    let engine = jit::Engine::default();
    let module = jit::Module::new(&engine, &bytes)
        .map_err(|e| format!("ringwasm rejects a module wasmi accepts: {e}"))?;
    let mut store = jit::Store::new(&engine, ());
    let linker = jit::Linker::new(&engine);
    let instance = linker.instantiate(&mut store, &module);
    let oracle_instance = oracle.instantiate();
    let (instance, oracle_instance) = match (instance, oracle_instance) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(_), Err(_)) => return Ok(compared),
        (Ok(_), Err(e)) => {
            return Err(format!(
                "instantiation: wasmi fails ({e}), ringwasm succeeds"
            ));
        }
        (Err(e), Ok(_)) => {
            return Err(format!(
                "instantiation: ringwasm fails ({e}), wasmi succeeds"
            ));
        }
    };
    compared.instantiated = true;
    let exports: Vec<String> = module
        .exports()
        .filter(|e| matches!(e.ty(), jit::ExternType::Func(_)))
        .map(|e| e.name().to_owned())
        .collect();
    for name in exports {
        let Some(func) = instance.get_func(&mut store, &name) else {
            return Err(format!("ringwasm lost the export {name:?}"));
        };
        let ty = func.ty(&store);
        let Some(args) = ty.params().iter().map(jit_arg).collect::<Option<Vec<_>>>() else {
            continue;
        };
        if ty.results().iter().any(|t| matches!(t, jit::ValType::V128)) {
            continue;
        }
        let mut results = vec![jit::Val::I32(0); ty.results().len()];
        let ours: Outcome = func
            .call(&mut store, &args, &mut results)
            .map(|()| results.iter().map(observe_jit).collect())
            .map_err(|e| e.to_string());
        let theirs = oracle.call(&oracle_instance, &name);
        compared.calls += 1;
        let agree = match (&ours, &theirs) {
            (Ok(a), Ok(b)) => {
                compared.returned += 1;
                a == b
            }
            (Err(_), Err(_)) => true,
            _ => false,
        };
        if !agree {
            return Err(format!(
                "export {name:?} ({} byte module): ringwasm {ours:?}, wasmi {theirs:?}",
                bytes.len()
            ));
        }
    }
    Ok(compared)
}

fn jit_arg(ty: &jit::ValType) -> Option<jit::Val> {
    Some(match ty {
        jit::ValType::I32 => jit::Val::I32(1),
        jit::ValType::I64 => jit::Val::I64(1),
        jit::ValType::F32 => jit::Val::F32(1.0f32.to_bits()),
        jit::ValType::F64 => jit::Val::F64(1.0f64.to_bits()),
        jit::ValType::V128 => return None,
        jit::ValType::Ref(r) if *r == jit::RefType::EXTERNREF => jit::Val::ExternRef(None),
        jit::ValType::Ref(_) => jit::Val::FuncRef(None),
    })
}

fn observe_jit(val: &jit::Val) -> Observed {
    match val {
        jit::Val::I32(v) => Observed::I32(*v),
        jit::Val::I64(v) => Observed::I64(*v),
        jit::Val::F32(bits) => Observed::F32(*bits),
        jit::Val::F64(bits) => Observed::F64(*bits),
        jit::Val::V128(_) => Observed::Ref { null: false },
        jit::Val::FuncRef(f) => Observed::Ref { null: f.is_none() },
        jit::Val::ExternRef(r) => Observed::Ref { null: r.is_none() },
    }
}

/// The reference side: `wasmi` with the same feature set.
struct Oracle {
    store: wasmi::Store<()>,
    module: wasmi::Module,
}

impl Oracle {
    /// `Ok(None)` when wasmi will not take the module.
    fn new(bytes: &[u8]) -> Result<Option<Self>, String> {
        let mut config = wasmi::Config::default();
        config
            .wasm_multi_memory(false)
            .wasm_memory64(false)
            .wasm_tail_call(false)
            .wasm_extended_const(false)
            .wasm_custom_page_sizes(false)
            .wasm_wide_arithmetic(false);
        let engine = wasmi::Engine::new(&config);
        let Ok(module) = wasmi::Module::new(&engine, bytes) else {
            return Ok(None);
        };
        Ok(Some(Self {
            store: wasmi::Store::new(&engine, ()),
            module,
        }))
    }

    fn instantiate(&mut self) -> Result<wasmi::Instance, String> {
        let linker = wasmi::Linker::<()>::new(self.store.engine());
        linker
            .instantiate_and_start(&mut self.store, &self.module)
            .map_err(|e| e.to_string())
    }

    fn call(&mut self, instance: &wasmi::Instance, name: &str) -> Outcome {
        let func = instance
            .get_func(&self.store, name)
            .ok_or_else(|| format!("wasmi has no export {name:?}"))?;
        let ty = func.ty(&self.store);
        let args: Vec<wasmi::Val> = ty
            .params()
            .iter()
            .map(|t| match t {
                wasmi::ValType::I32 => wasmi::Val::I32(1),
                wasmi::ValType::I64 => wasmi::Val::I64(1),
                wasmi::ValType::F32 => wasmi::Val::F32(1.0f32.into()),
                wasmi::ValType::F64 => wasmi::Val::F64(1.0f64.into()),
                other => wasmi::Val::default_for_ty(*other),
            })
            .collect();
        let mut results: Vec<wasmi::Val> = ty
            .results()
            .iter()
            .map(|t| wasmi::Val::default_for_ty(*t))
            .collect();
        func.call(&mut self.store, &args, &mut results)
            .map_err(|e| e.to_string())?;
        Ok(results
            .iter()
            .map(|v| match v {
                wasmi::Val::I32(v) => Observed::I32(*v),
                wasmi::Val::I64(v) => Observed::I64(*v),
                wasmi::Val::F32(v) => Observed::F32(v.to_bits()),
                wasmi::Val::F64(v) => Observed::F64(v.to_bits()),
                wasmi::Val::V128(_) => Observed::Ref { null: false },
                wasmi::Val::FuncRef(f) => Observed::Ref { null: f.is_null() },
                wasmi::Val::ExternRef(r) => Observed::Ref { null: r.is_null() },
            })
            .collect())
    }
}
