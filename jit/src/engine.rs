//! Configuration and the engine: ISA, feature set, signature registry,
//! epoch counter. Cheap to clone; `Send + Sync`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
pub use wasmparser::WasmFeatures;

use crate::compile::Trampolines;
use crate::error::Error;
use crate::runtime::gc::GcType;
use crate::types::{Composite, FuncType, RecMember};

/// Engine configuration.
#[derive(Debug, Clone)]
pub struct Config {
    features: WasmFeatures,
    epoch_interruption: bool,
    max_wasm_stack: usize,
    async_stack_size: usize,
    max_memory_bytes: u64,
    max_memory_size: Option<u64>,
    max_memories: usize,
    max_gc_heap_bytes: u64,
    cache_dir: Option<PathBuf>,
    cache_size_limit: u64,
    allow_precompiled: bool,
    opt_level: OptLevel,
    allocation: crate::runtime::pool::InstanceAllocationStrategy,
    memory_init_cow: bool,
}

/// How hard Cranelift optimises generated code (`wasmtime run -O
/// opt-level=0|1|2|s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OptLevel {
    /// No optimisation: the fastest compile (`opt-level=0`).
    None,
    /// Optimise for speed, the default (`opt-level=1` and `2`).
    #[default]
    Speed,
    /// Optimise for speed and code size (`opt-level=s`).
    SpeedAndSize,
}

impl Default for Config {
    /// Everything the engine implements: wasm 2.0 (with SIMD), plus
    /// extended-const, relaxed SIMD, tail calls, multi-memory, memory64,
    /// exception handling (final and legacy forms), typed function
    /// references, threads (atomics and shared memories, within one
    /// store) and wide arithmetic. Custom page sizes are off, as in
    /// wasmtime: turn on `WasmFeatures::CUSTOM_PAGE_SIZES` to use them.
    fn default() -> Self {
        let mut c = Config::wasm_v2();
        c.features |= WasmFeatures::EXTENDED_CONST | WasmFeatures::RELAXED_SIMD;
        c.features |= WasmFeatures::TAIL_CALL | WasmFeatures::MULTI_MEMORY | WasmFeatures::MEMORY64;
        c.features |= WasmFeatures::EXCEPTIONS | WasmFeatures::LEGACY_EXCEPTIONS;
        // Atomics and shared memories; on by default in wasmtime 49 too.
        c.features |= WasmFeatures::THREADS;
        // 128-bit add/sub and the wide multiplies; on by default in
        // wasmtime 49 as well (custom-page-sizes is not: opt in).
        c.features |= WasmFeatures::WIDE_ARITHMETIC;
        // GC (wasm 3.0): recursion groups canonicalised iso-recursively,
        // structs, arrays and i31 in a store-owned arena without a
        // collector (`docs/design/gc.md`).
        c.features |= WasmFeatures::FUNCTION_REFERENCES | WasmFeatures::GC;
        // Components (`component::Component`), as in wasmtime; their async
        // ABI is validated, not yet run.
        c.features |= WasmFeatures::COMPONENT_MODEL | WasmFeatures::CM_ASYNC;
        // `map<K, V>` and `(implements ..)` names: on in wasmparser by
        // default and accepted by wasmtime 49.
        c.features |= WasmFeatures::CM_MAP | WasmFeatures::CM_IMPLEMENTS;
        c
    }
}

impl Config {
    /// The default configuration.
    pub fn new() -> Self {
        Config::default()
    }

    /// Wasm 1.0 (MVP with mutable-global import/export).
    pub fn wasm_v1() -> Self {
        Config {
            features: WasmFeatures::WASM1,
            epoch_interruption: false,
            max_wasm_stack: 1 << 20,
            async_stack_size: crate::runtime::fiber::HOST_STACK_RESERVE,
            max_memory_bytes: 1 << 32,
            max_memory_size: None,
            max_memories: 10_000,
            max_gc_heap_bytes: 1 << 30,
            cache_dir: None,
            cache_size_limit: crate::compile::cache::DEFAULT_SIZE_LIMIT,
            allow_precompiled: false,
            opt_level: OptLevel::Speed,
            allocation: crate::runtime::pool::InstanceAllocationStrategy::OnDemand,
            memory_init_cow: true,
        }
    }

    /// Wasm 2.0 (with SIMD).
    pub fn wasm_v2() -> Self {
        let mut c = Config::wasm_v1();
        c.features = WasmFeatures::WASM2;
        c
    }

    /// The feature set validation uses.
    pub fn features(&self) -> WasmFeatures {
        self.features
    }

    /// Set the feature set validation uses.
    pub fn wasm_features(&mut self, features: WasmFeatures) -> &mut Self {
        self.features = features;
        self
    }

    /// How hard Cranelift optimises (default [`OptLevel::Speed`]). Code
    /// cached under one level is never loaded under another.
    pub fn cranelift_opt_level(&mut self, level: OptLevel) -> &mut Self {
        self.opt_level = level;
        self
    }

    /// Check the epoch at function entry and loop headers.
    pub fn epoch_interruption(&mut self, on: bool) -> &mut Self {
        self.epoch_interruption = on;
        self
    }

    /// Bytes of stack guest code may use before "call stack exhausted".
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes.max(16 * 1024);
        self
    }

    /// Bytes of stack for the host code of an async call (the closure of
    /// [`on_fiber`](crate::on_fiber), or the glue around
    /// [`Func::call_async`](crate::Func::call_async)); default 512 KiB, as
    /// much as a host function called from wasm gets. Guest code never runs
    /// on it: every call into wasm has its own stack of
    /// [`max_wasm_stack`](Config::max_wasm_stack) bytes plus that reserve.
    /// Only the pages a suspended call has touched count in its memory.
    pub fn async_stack_size(&mut self, bytes: usize) -> &mut Self {
        self.async_stack_size = bytes.max(16 * 1024);
        self
    }

    /// Keep compiled code in this directory (`None`, the default: no
    /// cache). [`Module::new`](crate::Module::new) then looks each module up
    /// by a sha-256 of its bytes and of everything that shapes its code, and a
    /// hit skips validation, translation and code generation. See
    /// [`default_cache_dir`](crate::default_cache_dir) for the usual place.
    ///
    /// Trust: entries are machine code run as is, so whoever can write to the
    /// directory can run code in this process. The engine creates it `0700`.
    pub fn cache_dir(&mut self, dir: Option<PathBuf>) -> &mut Self {
        self.cache_dir = dir;
        self
    }

    /// The most bytes of entries the cache directory may hold (default
    /// 1 GiB). Writing an entry that takes the directory past it removes the
    /// least recently used entries (a hit counts as a use) until it fits
    /// again; the entry just written always stays.
    pub fn cache_size_limit(&mut self, bytes: u64) -> &mut Self {
        self.cache_size_limit = bytes;
        self
    }

    /// Let [`Module::new`](crate::Module::new) accept precompiled artefacts
    /// (`ringwasm compile` output, [`Module::serialize`](crate::Module::serialize))
    /// as well as wasm. Off by default: an artefact is machine code run as
    /// is, so turn this on only for files you trust as much as the program
    /// itself (the same contract as [`Module::deserialize`](crate::Module::deserialize)).
    pub fn allow_precompiled(&mut self, on: bool) -> &mut Self {
        self.allow_precompiled = on;
        self
    }

    /// Maximum bytes all memories of one store may hold together (default
    /// 4 GiB); creating or growing past it fails (`memory.grow` returns -1).
    pub fn max_memory_bytes(&mut self, bytes: u64) -> &mut Self {
        self.max_memory_bytes = bytes;
        self
    }

    /// Initialise linear memories by mapping copy-on-write images of their
    /// data segments (default on; wasmtime's `memory_init_cow`). Off, data
    /// segments are copied at every instantiation.
    pub fn memory_init_cow(&mut self, on: bool) -> &mut Self {
        self.memory_init_cow = on;
        self
    }

    /// How memories, tables and instances are allocated (wasmtime's
    /// `Config::allocation_strategy`): on demand (the default), or from a
    /// pool of slots reserved when the engine is made and reused, which
    /// makes instantiation cost microseconds (`docs/design/instance-pool.md`).
    pub fn allocation_strategy(
        &mut self,
        strategy: crate::runtime::pool::InstanceAllocationStrategy,
    ) -> &mut Self {
        self.allocation = strategy;
        self
    }

    /// Maximum bytes of any one linear memory (no limit by default besides
    /// [`Config::max_memory_bytes`]); wasmtime's `-W max-memory-size`. A
    /// memory whose minimum is larger fails to be created; `memory.grow`
    /// past it returns -1.
    pub fn max_memory_size(&mut self, bytes: u64) -> &mut Self {
        self.max_memory_size = Some(bytes);
        self
    }
}

impl Config {
    /// Maximum bytes of GC objects (structs and arrays) one store may
    /// allocate (default 1 GiB). There is no collector yet: objects live
    /// until the store is dropped, so this bounds a store's GC footprint; an
    /// allocation past it traps with [`TrapCode::GcHeapOutOfMemory`].
    ///
    /// [`TrapCode::GcHeapOutOfMemory`]: crate::TrapCode::GcHeapOutOfMemory
    pub fn max_gc_heap_bytes(&mut self, bytes: u64) -> &mut Self {
        self.max_gc_heap_bytes = bytes;
        self
    }

    /// Turn the GC proposal on or off (wasmtime's `-W gc`; on by default).
    /// Off, modules using struct, array or i31 types, the `any` hierarchy
    /// or recursion groups are invalid.
    pub fn wasm_gc(&mut self, on: bool) -> &mut Self {
        self.features.set(WasmFeatures::GC, on);
        self
    }

    /// Maximum number of linear memories one store may hold (default
    /// 10 000). Each 32-bit memory reserves 6 GiB of address space, so this
    /// bounds a store's reservations; creating one more is
    /// `Error::ResourceLimit`.
    pub fn max_memories(&mut self, count: usize) -> &mut Self {
        self.max_memories = count;
        self
    }
}

/// The compilation and runtime environment shared by modules and stores.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

pub(crate) struct EngineInner {
    pub config: Config,
    pub isa: OwnedTargetIsa,
    /// Bumped by `increment_epoch`; compiled code reads it.
    pub epoch: Box<AtomicU64>,
    types: Mutex<TypeRegistry>,
    /// Each type's supertype display, where compiled code reads it.
    pub displays: crate::runtime::gc::SupertypeDisplays,
    /// Who may load an artefact: everything that shapes generated code.
    pub header: crate::compile::cache::Header,
    trampolines: Mutex<HashMap<u32, Arc<Trampolines>>>,
    /// The pooling allocator's slots, when configured.
    pool: Option<Arc<crate::runtime::pool::InstancePool>>,
    /// Called by compiled code past the epoch deadline; with epoch
    /// interruption only.
    pub epoch_trampoline: Option<crate::compile::EpochTrampoline>,
}

#[derive(Default)]
struct TypeRegistry {
    ids: HashMap<FuncType, u32>,
    /// Id → signature; an empty placeholder for struct and array types.
    types: Vec<FuncType>,
    /// Id → kind, supertypes and object layout.
    gc: Vec<Arc<GcType>>,
    /// Explicit recursion groups (and self-referring or non-final types)
    /// → the id of their first type; the others follow consecutively.
    groups: HashMap<Arc<[crate::types::RecMember]>, u32>,
}

impl TypeRegistry {
    fn push(&mut self, member: crate::types::RecMember) -> u32 {
        let id = self.types.len() as u32;
        let mut supers: Vec<u32> = member
            .supertype
            .and_then(|s| self.gc.get(s as usize))
            .map(|s| s.supers.to_vec())
            .unwrap_or_default();
        supers.push(id);
        let func = match &member.composite {
            Composite::Func(f) => f.clone(),
            _ => FuncType::new([], []),
        };
        self.gc.push(Arc::new(GcType::new(
            member.composite,
            member.is_final,
            supers.into(),
        )));
        self.types.push(func);
        id
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(&Config::default()).expect("the host ISA supports the default configuration")
    }
}

impl Engine {
    /// An engine for the host.
    ///
    /// # Errors
    ///
    /// `Error::Unsupported` when Cranelift does not support the host.
    pub fn new(config: &Config) -> Result<Engine, Error> {
        let mut flags = settings::builder();
        let set = |flags: &mut settings::Builder, k: &str, v: &str| {
            flags
                .set(k, v)
                .map_err(|e| Error::Unsupported(format!("cranelift flag {k}={v}: {e}").into()))
        };
        let opt_level = match config.opt_level {
            OptLevel::None => "none",
            OptLevel::Speed => "speed",
            OptLevel::SpeedAndSize => "speed_and_size",
        };
        set(&mut flags, "opt_level", opt_level)?;
        set(&mut flags, "preserve_frame_pointers", "true")?;
        set(&mut flags, "enable_probestack", "false")?;
        set(&mut flags, "enable_multi_ret_implicit_sret", "true")?;
        set(
            &mut flags,
            "enable_verifier",
            if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            },
        )?;
        set(&mut flags, "unwind_info", "false")?;
        let isa_builder = cranelift_native::builder()
            .map_err(|e| Error::Unsupported(format!("host ISA: {e}").into()))?;
        let isa = isa_builder
            .finish(settings::Flags::new(flags))
            .map_err(|e| Error::Unsupported(format!("host ISA: {e}").into()))?;
        let header = artefact_header(config, &*isa);
        let pool = match &config.allocation {
            crate::runtime::pool::InstanceAllocationStrategy::OnDemand => None,
            crate::runtime::pool::InstanceAllocationStrategy::Pooling(p) => {
                Some(crate::runtime::pool::InstancePool::new(p.clone())?)
            }
        };
        let epoch_trampoline = if config.epoch_interruption {
            Some(crate::compile::compile_epoch_trampoline(&*isa)?)
        } else {
            None
        };
        Ok(Engine {
            inner: Arc::new(EngineInner {
                header,
                config: config.clone(),
                isa,
                epoch: Box::new(AtomicU64::new(0)),
                types: Mutex::new(TypeRegistry::default()),
                displays: crate::runtime::gc::SupertypeDisplays::new(),
                trampolines: Mutex::new(HashMap::new()),
                pool,
                epoch_trampoline,
            }),
        })
    }

    /// Advance the epoch: guests past their deadline trap with "interrupt".
    pub fn increment_epoch(&self) {
        self.inner.epoch.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn current_epoch(&self) -> u64 {
        self.inner.epoch.load(Ordering::Acquire)
    }

    pub(crate) fn features(&self) -> WasmFeatures {
        self.inner.config.features
    }

    pub(crate) fn epoch_interruption(&self) -> bool {
        self.inner.config.epoch_interruption
    }

    pub(crate) fn max_wasm_stack(&self) -> usize {
        self.inner.config.max_wasm_stack
    }

    /// Whether modules map copy-on-write memory images.
    pub(crate) fn memory_init_cow(&self) -> bool {
        self.inner.config.memory_init_cow
    }

    /// The pooling allocator, when the engine uses one.
    pub(crate) fn pool(&self) -> Option<Arc<crate::runtime::pool::InstancePool>> {
        self.inner.pool.clone()
    }

    pub(crate) fn async_stack_size(&self) -> usize {
        self.inner.config.async_stack_size
    }

    pub(crate) fn max_memories(&self) -> usize {
        self.inner.config.max_memories
    }

    pub(crate) fn max_gc_heap_bytes(&self) -> u64 {
        self.inner.config.max_gc_heap_bytes
    }

    pub(crate) fn max_memory_bytes(&self) -> u64 {
        self.inner.config.max_memory_bytes
    }

    /// The per-memory limit, `u64::MAX` when there is none.
    pub(crate) fn max_memory_size(&self) -> u64 {
        self.inner.config.max_memory_size.unwrap_or(u64::MAX)
    }

    pub(crate) fn cache_dir(&self) -> Option<&Path> {
        self.inner.config.cache_dir.as_deref()
    }

    pub(crate) fn cache_size_limit(&self) -> u64 {
        self.inner.config.cache_size_limit
    }

    pub(crate) fn allows_precompiled(&self) -> bool {
        self.inner.config.allow_precompiled
    }

    /// The engine-wide id of a signature, registering it on first sight.
    pub(crate) fn register_type(&self, ty: &FuncType) -> u32 {
        let mut reg = self.inner.types.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = reg.ids.get(ty) {
            return *id;
        }
        let id = reg.push(RecMember {
            is_final: true,
            supertype: None,
            composite: Composite::Func(ty.clone()),
        });
        self.inner.displays.set(id, &reg.gc[id as usize].supers);
        reg.ids.insert(ty.clone(), id);
        id
    }

    /// The signature a concrete heap type (`(ref $t)`) names, or `None`
    /// for an id this engine never issued.
    pub fn func_type(&self, id: crate::types::FuncTypeId) -> Option<FuncType> {
        let reg = self.inner.types.lock().unwrap_or_else(|e| e.into_inner());
        reg.types.get(id.0 as usize).cloned()
    }

    /// The engine-wide id of `ty`, for building concrete reference types
    /// (`(ref $t)`) on the host side: `HeapType::ConcreteFunc(id)`.
    pub fn func_type_id(&self, ty: &FuncType) -> crate::types::FuncTypeId {
        crate::types::FuncTypeId(self.register_type(ty))
    }

    /// The engine-wide id of the final struct type with `fields`, alone in
    /// its recursion group: the type a module's `(type (struct ...))` of
    /// the same fields has. For [`AnyRef::new_struct`](crate::AnyRef::new_struct).
    pub fn struct_type_id(&self, fields: &[crate::types::FieldType]) -> crate::types::FuncTypeId {
        let member = RecMember {
            is_final: true,
            supertype: None,
            composite: Composite::Struct(fields.into()),
        };
        crate::types::FuncTypeId(self.register_rec_group(vec![member])[0])
    }

    /// The engine-wide id of the final array type of `element`, alone in
    /// its recursion group (a module's `(type (array ...))`).
    pub fn array_type_id(&self, element: crate::types::FieldType) -> crate::types::FuncTypeId {
        let member = RecMember {
            is_final: true,
            supertype: None,
            composite: Composite::Array(element),
        };
        crate::types::FuncTypeId(self.register_rec_group(vec![member])[0])
    }

    /// Kind, supertypes and layout of `id`, or `None` for an id this engine
    /// never issued.
    pub(crate) fn try_gc_type(&self, id: u32) -> Option<Arc<GcType>> {
        let reg = self.inner.types.lock().unwrap_or_else(|e| e.into_inner());
        reg.gc.get(id as usize).cloned()
    }

    /// The engine-wide ids of a recursion group's types, registering the
    /// group on first sight (iso-recursive canonicalisation: equal groups
    /// get equal ids). `group`'s references into itself are
    /// `types::rec_local` ids.
    pub(crate) fn register_rec_group(&self, group: Vec<RecMember>) -> Vec<u32> {
        let group: Arc<[RecMember]> = group.into();
        let n = group.len() as u32;
        let mut reg = self.inner.types.lock().unwrap_or_else(|e| e.into_inner());
        let first = match reg.groups.get(&group) {
            Some(first) => *first,
            None => {
                let first = reg.types.len() as u32;
                for i in 0..n {
                    let member = RecMember::resolve(&group, i, first);
                    let func = match &member.composite {
                        Composite::Func(f) => Some(f.clone()),
                        _ => None,
                    };
                    let id = reg.push(member);
                    self.inner.displays.set(id, &reg.gc[id as usize].supers);
                    if let Some(func) = func {
                        reg.ids.insert(func, id);
                    }
                }
                reg.groups.insert(group, first);
                first
            }
        };
        (first..first + n).collect()
    }

    /// Kind, supertypes and layout of the type with engine-wide id `id`.
    pub(crate) fn gc_type(&self, id: u32) -> Arc<GcType> {
        let reg = self.inner.types.lock().unwrap_or_else(|e| e.into_inner());
        reg.gc[id as usize].clone()
    }

    /// Whether defined type `sub` is `sup` or declares it as a (transitive)
    /// supertype.
    pub(crate) fn is_subtype(&self, sub: u32, sup: u32) -> bool {
        if sub == sup {
            return true;
        }
        let reg = self.inner.types.lock().unwrap_or_else(|e| e.into_inner());
        match (reg.gc.get(sub as usize), reg.gc.get(sup as usize)) {
            (Some(a), Some(b)) => a.supers.get(b.supers.len() - 1) == Some(&sup),
            _ => false,
        }
    }

    /// Heap-type subtyping, declared supertypes of concrete types included.
    pub fn heap_type_matches(
        &self,
        sub: &crate::types::HeapType,
        sup: &crate::types::HeapType,
    ) -> bool {
        match (sub.concrete(), sup.concrete()) {
            (Some(a), Some(b)) => {
                std::mem::discriminant(sub) == std::mem::discriminant(sup)
                    && self.is_subtype(a.0, b.0)
            }
            _ => sub.matches(sup),
        }
    }

    /// Reference-type subtyping, declared supertypes included.
    pub fn ref_type_matches(
        &self,
        sub: &crate::types::RefType,
        sup: &crate::types::RefType,
    ) -> bool {
        (sup.nullable || !sub.nullable) && self.heap_type_matches(&sub.heap, &sup.heap)
    }

    /// Value-type subtyping, declared supertypes included.
    pub fn val_type_matches(
        &self,
        sub: &crate::types::ValType,
        sup: &crate::types::ValType,
    ) -> bool {
        match (sub, sup) {
            (crate::types::ValType::Ref(a), crate::types::ValType::Ref(b)) => {
                self.ref_type_matches(a, b)
            }
            (a, b) => a == b,
        }
    }

    /// The signature with engine-wide id `id`.
    pub(crate) fn type_of(&self, id: u32) -> FuncType {
        let reg = self.inner.types.lock().unwrap_or_else(|e| e.into_inner());
        reg.types[id as usize].clone()
    }

    /// Entry and host trampolines for signature `id`, compiled on first use.
    pub(crate) fn trampolines(&self, id: u32) -> Result<Arc<Trampolines>, Error> {
        self.trampolines_with(id, |engine, ty| {
            crate::compile::compile_trampolines(engine, ty)
        })
    }

    /// Trampolines for signature `id`, made by `make` on first use (compiled,
    /// or linked from a precompiled artefact).
    pub(crate) fn trampolines_with(
        &self,
        id: u32,
        make: impl FnOnce(&Engine, &FuncType) -> Result<Trampolines, Error>,
    ) -> Result<Arc<Trampolines>, Error> {
        let mut cache = self
            .inner
            .trampolines
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(t) = cache.get(&id) {
            return Ok(t.clone());
        }
        let ty = self.type_of(id);
        let t = Arc::new(make(self, &ty)?);
        cache.insert(id, t.clone());
        Ok(t)
    }

    /// Whether two engines are the same.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }
}

/// The fingerprint of everything that shapes generated code, and the same in
/// words for error messages.
fn artefact_header(
    config: &Config,
    isa: &dyn cranelift_codegen::isa::TargetIsa,
) -> crate::compile::cache::Header {
    let isa_flags = isa
        .isa_flags()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let settings = format!(
        "features={:#x} epoch={}",
        config.features.bits(),
        config.epoch_interruption,
    );
    let fingerprint = crate::compile::cache::digest(&[
        crate::compile::cache::BUILD_ID.as_bytes(),
        isa.triple().to_string().as_bytes(),
        isa.flags().to_string().as_bytes(),
        isa_flags.as_bytes(),
        settings.as_bytes(),
    ]);
    let cpu = crate::compile::cache::digest(&[isa_flags.as_bytes()]);
    let description = format!(
        "ringwasm {} for {} (cpu flags #{:02x}{:02x}{:02x}{:02x}, {})",
        crate::compile::cache::BUILD_ID,
        isa.triple(),
        cpu[0],
        cpu[1],
        cpu[2],
        cpu[3],
        settings
    );
    crate::compile::cache::Header {
        fingerprint,
        description,
    }
}
