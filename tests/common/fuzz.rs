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
/// oracle can check: WebAssembly 2.0 with SIMD (relaxed SIMD is left out: its
/// results may differ between conforming engines), tail calls, up to two
/// memories of either index type (multi-memory, memory64), extended constant
/// expressions, no imports, canonical NaNs so both engines compute the same
/// bits.
pub fn smith_config() -> wasm_smith::Config {
    wasm_smith::Config {
        simd_enabled: true,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        tail_call_enabled: true,
        memory64_enabled: true,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        custom_descriptors_enabled: false,
        extended_const_enabled: true,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        multi_value_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        canonicalize_nans: true,
        export_everything: true,
        allow_start_export: true,
        max_memories: 2,
        max_tables: 2,
        max_imports: 0,
        min_funcs: 4,
        max_funcs: 12,
        max_instructions: 200,
        max_memory32_bytes: 16 << 16,
        max_memory64_bytes: 16 << 16,
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
    V128(u128),
    Ref { null: bool },
}

/// Whether two v128 values agree: bit for bit, or lane by lane where a lane
/// is NaN on both sides (read as f32x4 or as f64x2: the type is not known).
fn v128_agree(a: u128, b: u128) -> bool {
    let lanes_agree = |width: u32| {
        (0..128 / width).all(|i| {
            let shift = i * width;
            let mask = if width == 64 {
                u128::from(u64::MAX)
            } else {
                u128::from(u32::MAX)
            };
            let (x, y) = ((a >> shift) & mask, (b >> shift) & mask);
            let nan = |v: u128| match width {
                32 => f32::from_bits(v as u32).is_nan(),
                _ => f64::from_bits(v as u64).is_nan(),
            };
            x == y || (nan(x) && nan(y))
        })
    };
    a == b || lanes_agree(32) || lanes_agree(64)
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
            (Observed::V128(a), Observed::V128(b)) => v128_agree(a, b),
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
    /// Exported memories and globals whose final contents were compared.
    pub state: usize,
    /// v128 results that returned on both engines and were compared.
    pub v128: usize,
}

/// Runs the `wasm-smith` module built from `data` on ringwasm and on
/// `wasmi`: instantiation and every exported function (called with fixed
/// arguments) must agree on trap/no-trap and on results, and afterwards
/// exported memories and globals must hold the same contents.
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
                compared.v128 += a.iter().filter(|v| matches!(v, Observed::V128(_))).count();
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
    compared.state = compare_state(
        &module,
        &instance,
        &mut store,
        &mut oracle,
        &oracle_instance,
    )?;
    Ok(compared)
}

/// After the calls, exported memories must hold the same bytes and exported
/// globals the same values on both engines.
fn compare_state(
    module: &jit::Module,
    instance: &jit::Instance,
    store: &mut jit::Store<()>,
    oracle: &mut Oracle,
    oracle_instance: &wasmi::Instance,
) -> Result<usize, String> {
    let exports: Vec<(String, bool)> = module
        .exports()
        .filter_map(|e| match e.ty() {
            jit::ExternType::Memory(_) => Some((e.name().to_owned(), true)),
            jit::ExternType::Global(_) => Some((e.name().to_owned(), false)),
            _ => None,
        })
        .collect();
    let count = exports.len();
    for (name, is_memory) in exports {
        if is_memory {
            let ours = instance
                .get_memory(&mut *store, &name)
                .ok_or_else(|| format!("ringwasm lost the memory export {name:?}"))?;
            let theirs = oracle_instance
                .get_memory(&oracle.store, &name)
                .ok_or_else(|| format!("wasmi has no memory export {name:?}"))?;
            let (a, b) = (ours.data(&*store), theirs.data(&oracle.store));
            if a != b {
                let first = a.iter().zip(b).position(|(x, y)| x != y);
                return Err(format!(
                    "memory {name:?} differs after the calls: sizes {} vs {}, first difference at {first:?}",
                    a.len(),
                    b.len()
                ));
            }
        } else {
            let ours = instance
                .get_global(&mut *store, &name)
                .ok_or_else(|| format!("ringwasm lost the global export {name:?}"))?;
            let theirs = oracle_instance
                .get_global(&oracle.store, &name)
                .ok_or_else(|| format!("wasmi has no global export {name:?}"))?;
            let a = observe_jit(&ours.get(&*store));
            let b = observe_wasmi(&theirs.get(&oracle.store));
            if a != b {
                return Err(format!(
                    "global {name:?} after the calls: ringwasm {a:?}, wasmi {b:?}"
                ));
            }
        }
    }
    Ok(count)
}

fn jit_arg(ty: &jit::ValType) -> Option<jit::Val> {
    Some(match ty {
        jit::ValType::I32 => jit::Val::I32(1),
        jit::ValType::I64 => jit::Val::I64(1),
        jit::ValType::F32 => jit::Val::F32(1.0f32.to_bits()),
        jit::ValType::F64 => jit::Val::F64(1.0f64.to_bits()),
        jit::ValType::V128 => jit::Val::V128(1),
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
        jit::Val::V128(v) => Observed::V128(*v),
        jit::Val::FuncRef(f) => Observed::Ref { null: f.is_none() },
        jit::Val::ExternRef(r) => Observed::Ref { null: r.is_none() },
        jit::Val::AnyRef(r) => Observed::Ref { null: r.is_none() },
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
            .wasm_multi_memory(true)
            .wasm_memory64(true)
            .wasm_tail_call(true)
            .wasm_extended_const(true)
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
                wasmi::ValType::V128 => wasmi::Val::V128(1u128.into()),
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
        Ok(results.iter().map(observe_wasmi).collect())
    }
}

fn observe_wasmi(val: &wasmi::Val) -> Observed {
    match val {
        wasmi::Val::I32(v) => Observed::I32(*v),
        wasmi::Val::I64(v) => Observed::I64(*v),
        wasmi::Val::F32(v) => Observed::F32(v.to_bits()),
        wasmi::Val::F64(v) => Observed::F64(v.to_bits()),
        wasmi::Val::V128(v) => Observed::V128(v.as_u128()),
        wasmi::Val::FuncRef(f) => Observed::Ref { null: f.is_null() },
        wasmi::Val::ExternRef(r) => Observed::Ref { null: r.is_null() },
    }
}

/// Compiles `bytes` as a component and, when that succeeds, instantiates
/// it with nothing linked (so a component without imports runs its core
/// start functions); returns whether it compiled. As for [`compile`], the
/// point is that nothing panics or crashes.
pub fn compile_component(engine: &jit::Engine, bytes: &[u8]) -> bool {
    let Ok(component) = jit::component::Component::new(engine, bytes) else {
        return false;
    };
    let mut store = jit::Store::new(engine, ());
    let linker = jit::component::Linker::new(engine);
    let _ = linker.instantiate(&mut store, &component);
    true
}

/// A `wasm-smith` component from `data`, if it holds enough bytes.
pub fn smith_component(data: &[u8]) -> Option<Vec<u8>> {
    let mut u = Unstructured::new(data);
    let config = wasm_smith::Config {
        // wasm-smith's component builder reads the core limits for the
        // component level too: with `min_funcs > 0` and `max_imports == 0`
        // every component it starts is refused (`IncorrectFormat`), so
        // components may import and start with no functions. Core modules
        // inside otherwise stay within what ringwasm implements.
        min_funcs: 0,
        max_imports: 10,
        ..smith_config()
    };
    wasm_smith::Component::new(config, &mut u)
        .ok()
        .map(|c| c.to_bytes())
}
