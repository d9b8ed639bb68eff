//! Compiling a module's functions in parallel, linking them into executable
//! memory, and the per-signature trampolines that connect host and guest.

// The compiler's safe parts; only this file (code memory, linking) holds
// `unsafe`.
#[forbid(unsafe_code)]
pub(crate) mod cache;
#[forbid(unsafe_code)]
pub(crate) mod env;
#[forbid(unsafe_code)]
pub(crate) mod func_env;
#[forbid(unsafe_code)]
pub mod translate;

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::{Arc, RwLock, Weak};

use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{
    self, AbiParam, ExternalName, InstBuilder, LibCall, MemFlagsData, UserFuncName,
};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use cranelift_codegen::{Context, FinalizedRelocTarget};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use rayon::prelude::*;
use wasmparser::{BinaryReader, FunctionBody};

use crate::compile::cache::{Bytes, Reader, Serial, corrupt};
use crate::compile::env::{ModuleInfo, VMOffsets};
use crate::compile::translate::{FuncIndex, TranslateError, translate_function};
use crate::engine::Engine;
use crate::error::Error;
use crate::module::PendingFunc;
use crate::runtime::trap::{HOST_TRAP, TrapTable};
use crate::types::{FuncType, ValType};

/// Executable memory holding one module's code (or one signature's
/// trampolines), registered with the signal handler while alive.
pub(crate) struct CodeMemory {
    base: *mut u8,
    len: usize,
    slot: usize,
}

// SAFETY: the mapping is immutable (read + execute) after construction.
unsafe impl Send for CodeMemory {}
// SAFETY: as above; shared access only reads addresses.
unsafe impl Sync for CodeMemory {}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        crate::runtime::signals::unregister_code(self.slot);
        // SAFETY: we own exactly this mapping; no code in it runs any more
        // because every instance and funcref holds an `Arc` to its owner.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

impl CodeMemory {
    /// Address of byte `offset`.
    pub(crate) fn at(&self, offset: u32) -> *const u8 {
        self.base.wrapping_add(offset as usize)
    }

    fn range(&self) -> Range<usize> {
        self.base as usize..self.base as usize + self.len
    }
}

/// One compiled function before linking; also what an artefact stores.
pub(crate) struct CompiledFunc {
    code: Bytes,
    traps: Vec<(u32, ir::TrapCode)>,
    relocs: Vec<(u32, Reloc, RelocTarget, i64)>,
    /// Exception landing pads of this function's `try_call`s.
    eh: ExceptionMetadata,
    /// `(code offset, wasm module offset)` where each run of instructions
    /// from one wasm operator starts, sorted: backtraces name the operator.
    srclocs: Vec<(u32, u32)>,
}

/// Exception-handling metadata of one compiled function: plain integers, so
/// it can be serialised byte-wise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ExceptionMetadata {
    /// `(return address, landing pad)` of every `try_call`, as offsets from
    /// the function's start, sorted by return address.
    pub call_sites: Vec<(u32, u32)>,
}

impl CompiledFunc {
    /// A copy (only trampolines, a few hundred bytes each, are copied).
    fn duplicate(&self) -> CompiledFunc {
        CompiledFunc {
            code: self.code.clone(),
            traps: self.traps.clone(),
            relocs: self.relocs.clone(),
            eh: self.eh.clone(),
            srclocs: self.srclocs.clone(),
        }
    }
}

/// Serialised field by field: a new field is one line in each method (and a
/// bump of `cache::FORMAT_VERSION`).
impl Serial for CompiledFunc {
    fn write(&self, w: &mut Vec<u8>) {
        self.code.write(w);
        self.traps.write(w);
        self.relocs.write(w);
        self.eh.call_sites.write(w);
        self.srclocs.write(w);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(CompiledFunc {
            code: Serial::read(r)?,
            traps: Serial::read(r)?,
            relocs: Serial::read(r)?,
            eh: ExceptionMetadata {
                call_sites: Serial::read(r)?,
            },
            srclocs: Serial::read(r)?,
        })
    }
}

/// What a relocation points at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RelocTarget {
    Func(u32),
    LibCall(LibCall),
    /// `func::host_dispatch` (host trampolines): its address changes from
    /// process to process, so precompiled code reaches it by relocation.
    HostDispatch,
}

/// `UserExternalName` namespace of `RelocTarget::HostDispatch`.
const HOST_DISPATCH_NAMESPACE: u32 = 0x7fff_0001;

impl Serial for RelocTarget {
    fn write(&self, w: &mut Vec<u8>) {
        match self {
            RelocTarget::Func(i) => {
                0u8.write(w);
                i.write(w);
            }
            RelocTarget::LibCall(lc) => {
                1u8.write(w);
                lc.to_string().write(w);
            }
            RelocTarget::HostDispatch => 2u8.write(w),
        }
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let at = r.pos();
        match u8::read(r)? {
            0 => Ok(RelocTarget::Func(u32::read(r)?)),
            1 => String::read(r)?
                .parse()
                .map(RelocTarget::LibCall)
                .map_err(|()| corrupt(at, "unknown libcall")),
            2 => Ok(RelocTarget::HostDispatch),
            _ => Err(corrupt(at, "unknown relocation target")),
        }
    }
}

impl Serial for ir::TrapCode {
    fn write(&self, w: &mut Vec<u8>) {
        self.as_raw().get().write(w);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let at = r.pos();
        std::num::NonZeroU8::new(u8::read(r)?)
            .map(ir::TrapCode::from_raw)
            .ok_or_else(|| corrupt(at, "trap code 0"))
    }
}

/// The relocation kinds `link` applies, by their serialised tag (append
/// only: the tag is the position).
const RELOC_KINDS: [Reloc; 6] = [
    Reloc::Abs8,
    Reloc::X86CallPCRel4,
    Reloc::X86PCRel4,
    Reloc::Arm64Call,
    Reloc::Aarch64AdrPrelPgHi21,
    Reloc::Aarch64AddAbsLo12Nc,
];

impl Serial for Reloc {
    fn write(&self, w: &mut Vec<u8>) {
        // `link` refused any other kind before the module could be written.
        let tag = RELOC_KINDS.iter().position(|k| k == self).unwrap_or(255);
        (tag as u8).write(w);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let at = r.pos();
        RELOC_KINDS
            .get(usize::from(u8::read(r)?))
            .copied()
            .ok_or_else(|| corrupt(at, "unknown relocation kind"))
    }
}

/// Compiled code plus what maps its pcs back to wasm.
pub(crate) struct CodeInfo {
    pub memory: CodeMemory,
    /// Defined function `i` occupies this range of offsets.
    pub funcs: Vec<Range<u32>>,
    pub num_imported_funcs: u32,
    pub traps: TrapTable,
    pub names: HashMap<u32, Box<str>>,
    /// `(return address, landing pad)` offsets in the code, sorted: where a
    /// thrown exception resumes in a frame whose call returns to the
    /// address.
    pub handlers: Vec<(u32, u32)>,
    /// `(code offset, wasm module offset)`, sorted: see [`CodeInfo::wasm_offset_at`].
    pub srclocs: Vec<(u32, u32)>,
    /// The module's name from its name section.
    pub module_name: Option<Box<str>>,
    /// Where the module's bytes start in the file it came from (non-zero
    /// for a core module inside a component): backtraces report offsets
    /// into the file, as wasmtime does.
    pub file_offset: std::sync::atomic::AtomicU32,
}

/// A module's linked code.
pub(crate) struct CompiledModule {
    pub info: Arc<CodeInfo>,
    /// Entry trampolines per module type index (kept alive here).
    pub entries: Vec<Arc<Trampolines>>,
    /// The unlinked functions, kept for `Module::serialize`.
    pub funcs: Vec<CompiledFunc>,
}

impl CompiledModule {
    /// The wasm-ABI entry of defined function `i`.
    pub(crate) fn func_ptr(&self, defined: u32) -> *const u8 {
        self.info.memory.at(self.info.funcs[defined as usize].start)
    }
}

/// Every live code object by start address, for pc → module lookups outside
/// the signal handler.
static CODE: RwLock<BTreeMap<usize, Weak<CodeInfo>>> = RwLock::new(BTreeMap::new());

fn publish(info: &Arc<CodeInfo>) {
    let mut map = CODE.write().unwrap_or_else(|e| e.into_inner());
    map.retain(|_, w| w.strong_count() > 0);
    map.insert(info.memory.base as usize, Arc::downgrade(info));
}

/// The code object containing `pc`.
pub(crate) fn lookup_code(pc: usize) -> Option<Arc<CodeInfo>> {
    let map = CODE.read().unwrap_or_else(|e| e.into_inner());
    let (_, weak) = map.range(..=pc).next_back()?;
    let info = weak.upgrade()?;
    info.memory.range().contains(&pc).then_some(info)
}

impl CodeInfo {
    /// The trap code recorded at `pc`.
    pub(crate) fn trap_at(&self, pc: usize) -> Option<ir::TrapCode> {
        let offset = pc.checked_sub(self.memory.base as usize)?;
        self.traps.lookup(u32::try_from(offset).ok()?)
    }

    /// The absolute landing-pad address for the return address `pc`.
    pub(crate) fn handler_at(&self, pc: usize) -> Option<usize> {
        let offset = u32::try_from(pc.checked_sub(self.memory.base as usize)?).ok()?;
        let i = self
            .handlers
            .binary_search_by_key(&offset, |(ret, _)| *ret)
            .ok()?;
        Some(self.memory.base as usize + self.handlers[i].1 as usize)
    }

    /// (function index, offset within it) for a pc.
    /// The wasm module offset of the operator whose code holds `pc`.
    pub(crate) fn wasm_offset_at(&self, pc: usize) -> Option<u32> {
        let offset = u32::try_from(pc.checked_sub(self.memory.base as usize)?).ok()?;
        let i = self.srclocs.partition_point(|(at, _)| *at <= offset);
        let (at, wasm) = *self.srclocs.get(i.checked_sub(1)?)?;
        // The run must lie in the same function as `pc`.
        let f = self.funcs.partition_point(|r| r.end <= offset);
        let base = self.file_offset.load(std::sync::atomic::Ordering::Relaxed);
        self.funcs
            .get(f)
            .is_some_and(|r| r.contains(&at))
            .then_some(wasm.saturating_add(base))
    }

    pub(crate) fn func_at(&self, pc: usize) -> Option<(u32, u32)> {
        let offset = u32::try_from(pc.checked_sub(self.memory.base as usize)?).ok()?;
        let i = self.funcs.partition_point(|r| r.end <= offset);
        let r = self.funcs.get(i)?;
        r.contains(&offset)
            .then(|| (self.num_imported_funcs + i as u32, offset - r.start))
    }
}

fn translate_error(e: TranslateError) -> Error {
    match e {
        TranslateError::Invalid(e) => e.into(),
        TranslateError::Unsupported { operator, offset } => {
            Error::compile(offset as usize, format!("unsupported operator {operator}"))
        }
        TranslateError::Env { offset, source } => {
            Error::compile(offset as usize, source.to_string())
        }
        TranslateError::Unreachable { what, offset } => {
            Error::compile(offset as usize, format!("translator bug: {what}"))
        }
    }
}

fn compile_function(
    isa: &dyn TargetIsa,
    func: ir::Function,
    offset: usize,
) -> Result<CompiledFunc, Error> {
    let mut ctx = Context::for_function(func);
    let names = ctx.func.params.user_named_funcs().clone();
    let compiled = ctx
        .compile(isa, &mut ControlPlane::default())
        .map_err(|e| Error::compile(offset, format!("code generation failed: {:?}", e.inner)))?;
    let code = Bytes(compiled.code_buffer().to_vec());
    let traps = compiled
        .buffer
        .traps()
        .iter()
        .map(|t| (t.offset, t.code))
        .collect();
    let mut relocs = Vec::new();
    for r in compiled.buffer.relocs() {
        let target = match &r.target {
            FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
                let name = &names[*name];
                if name.namespace == HOST_DISPATCH_NAMESPACE {
                    RelocTarget::HostDispatch
                } else {
                    RelocTarget::Func(name.index)
                }
            }
            FinalizedRelocTarget::ExternalName(ExternalName::LibCall(lc)) => {
                RelocTarget::LibCall(*lc)
            }
            _ => {
                return Err(Error::compile(
                    offset,
                    format!("unsupported relocation {:?}", r.target),
                ));
            }
        };
        relocs.push((r.offset, r.kind, target, r.addend));
    }
    let mut eh = ExceptionMetadata::default();
    for site in compiled.buffer.call_sites() {
        for h in site.exception_handlers {
            if let cranelift_codegen::FinalizedMachExceptionHandler::Default(pad) = h {
                eh.call_sites.push((site.ret_addr, *pad));
            }
        }
    }
    eh.call_sites.sort_unstable();
    let srclocs = compiled
        .buffer
        .get_srclocs_sorted()
        .iter()
        .filter(|s| !s.loc.is_default())
        .map(|s| (s.start, s.loc.bits()))
        .collect();
    Ok(CompiledFunc {
        code,
        traps,
        relocs,
        eh,
        srclocs,
    })
}

/// Translate and compile every defined function in parallel.
pub(crate) fn compile_functions(
    engine: &Engine,
    info: &ModuleInfo,
    offsets: &VMOffsets,
    bytes: &[u8],
    pending: Vec<PendingFunc>,
) -> Result<Vec<CompiledFunc>, Error> {
    let isa = &*engine.inner.isa;
    pending
        .into_par_iter()
        .enumerate()
        .map(|(i, p)| {
            let range = info.bodies[i].clone();
            let body = FunctionBody::new(BinaryReader::new_features(
                &bytes[range],
                p.body_offset as u64,
                engine.features(),
            ));
            let validator = p.validator.into_validator(Default::default());
            let mut env = crate::compile::func_env::ModuleFuncEnv::new(engine, info, offsets);
            let index = FuncIndex::from_u32(info.num_imported_funcs + i as u32);
            let func = translate_function(isa, &mut env, index, body, validator)
                .map_err(translate_error)?;
            compile_function(isa, func, p.body_offset)
        })
        .collect()
}

/// Link compiled functions into executable memory and get the trampolines
/// of the module's signatures.
pub(crate) fn link_module(
    engine: &Engine,
    info: &ModuleInfo,
    compiled: Vec<CompiledFunc>,
    stored_trampolines: Option<Vec<Vec<CompiledFunc>>>,
) -> Result<CompiledModule, Error> {
    if stored_trampolines
        .as_ref()
        .is_some_and(|t| t.len() != info.type_ids.len())
    {
        return Err(Error::Incompatible(
            "artefact holds trampolines for another number of signatures".into(),
        ));
    }
    if compiled.len() != info.bodies.len() {
        return Err(Error::Incompatible(
            format!(
                "artefact holds {} functions, the module defines {}",
                compiled.len(),
                info.bodies.len()
            )
            .into(),
        ));
    }
    let (memory, ranges, traps) = link(&compiled, info.num_imported_funcs)?;
    let handlers = compiled
        .iter()
        .zip(&ranges)
        .flat_map(|(f, r)| {
            f.eh.call_sites
                .iter()
                .map(move |(ret, pad)| (r.start + ret, r.start + pad))
        })
        .collect();
    let srclocs = compiled
        .iter()
        .zip(&ranges)
        .flat_map(|(f, r)| {
            f.srclocs
                .iter()
                .map(move |(at, wasm)| (r.start + at, *wasm))
        })
        .collect();
    // Struct and array types have no trampolines of their own: their slots
    // share the empty signature's, so a module with thousands of GC types
    // compiles no code (and holds no code object) for them.
    let empty = engine.register_type(&FuncType::new([], []));
    let info_types: Vec<u32> = info
        .type_ids
        .iter()
        .zip(&info.type_kinds)
        .map(|(id, kind)| match kind {
            crate::types::CompositeKind::Func => *id,
            _ => empty,
        })
        .collect();
    let info = Arc::new(CodeInfo {
        memory,
        funcs: ranges,
        num_imported_funcs: info.num_imported_funcs,
        traps,
        names: info.func_names.clone(),
        handlers,
        srclocs,
        module_name: info.name.clone(),
        file_offset: std::sync::atomic::AtomicU32::new(0),
    });
    publish(&info);
    let entries = info_types
        .iter()
        .enumerate()
        .map(|(i, id)| match &stored_trampolines {
            Some(stored) => engine.trampolines_with(*id, |_, _| link_trampolines(&stored[i])),
            None => engine.trampolines(*id),
        })
        .collect::<Result<_, _>>()?;
    Ok(CompiledModule {
        info,
        entries,
        funcs: compiled,
    })
}

fn libcall_address(lc: LibCall) -> Option<usize> {
    extern "C" fn ceilf(x: f32) -> f32 {
        x.ceil()
    }
    extern "C" fn floorf(x: f32) -> f32 {
        x.floor()
    }
    extern "C" fn truncf(x: f32) -> f32 {
        x.trunc()
    }
    extern "C" fn nearestf(x: f32) -> f32 {
        x.round_ties_even()
    }
    extern "C" fn ceil(x: f64) -> f64 {
        x.ceil()
    }
    extern "C" fn floor(x: f64) -> f64 {
        x.floor()
    }
    extern "C" fn trunc(x: f64) -> f64 {
        x.trunc()
    }
    extern "C" fn nearest(x: f64) -> f64 {
        x.round_ties_even()
    }
    extern "C" fn fmaf(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
    extern "C" fn fma(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
    Some(match lc {
        LibCall::CeilF32 => ceilf as extern "C" fn(f32) -> f32 as usize,
        LibCall::FloorF32 => floorf as extern "C" fn(f32) -> f32 as usize,
        LibCall::TruncF32 => truncf as extern "C" fn(f32) -> f32 as usize,
        LibCall::NearestF32 => nearestf as extern "C" fn(f32) -> f32 as usize,
        LibCall::CeilF64 => ceil as extern "C" fn(f64) -> f64 as usize,
        LibCall::FloorF64 => floor as extern "C" fn(f64) -> f64 as usize,
        LibCall::TruncF64 => trunc as extern "C" fn(f64) -> f64 as usize,
        LibCall::NearestF64 => nearest as extern "C" fn(f64) -> f64 as usize,
        LibCall::FmaF32 => fmaf as extern "C" fn(f32, f32, f32) -> f32 as usize,
        LibCall::FmaF64 => fma as extern "C" fn(f64, f64, f64) -> f64 as usize,
        _ => return None,
    })
}

/// Place `funcs` in one executable mapping and resolve relocations.
fn link(
    funcs: &[CompiledFunc],
    first_func: u32,
) -> Result<(CodeMemory, Vec<Range<u32>>, TrapTable), Error> {
    let mut ranges = Vec::with_capacity(funcs.len());
    let mut size = 0usize;
    for f in funcs {
        let start = size.next_multiple_of(16);
        size = start + f.code.len();
        let (Ok(s), Ok(e)) = (u32::try_from(start), u32::try_from(size)) else {
            return Err(Error::ResourceLimit("module code larger than 4 GiB".into()));
        };
        ranges.push(s..e);
    }
    let len = size.max(1).next_multiple_of(host_page_size());
    // SAFETY: a fresh anonymous private mapping aliases nothing.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(Error::ResourceLimit(
            format!(
                "cannot map code memory: {}",
                std::io::Error::last_os_error()
            )
            .into(),
        ));
    }
    let base: *mut u8 = base.cast();
    // SAFETY: [base, base+len) is our fresh read/write mapping.
    let buf = unsafe { std::slice::from_raw_parts_mut(base, len) };
    let mut traps = TrapTable::default();
    for (f, r) in funcs.iter().zip(&ranges) {
        let start = r.start as usize;
        buf[start..start + f.code.len()].copy_from_slice(&f.code);
        for (off, code) in &f.traps {
            traps.push(r.start + off, *code);
        }
    }
    for (f, r) in funcs.iter().zip(&ranges) {
        for (off, kind, target, addend) in &f.relocs {
            let at = r.start as usize + *off as usize;
            let target = match target {
                RelocTarget::Func(index) => {
                    let Some(tr) = index
                        .checked_sub(first_func)
                        .and_then(|i| ranges.get(i as usize))
                    else {
                        return Err(Error::bug("relocation to a function without code"));
                    };
                    base as usize + tr.start as usize
                }
                RelocTarget::LibCall(lc) => libcall_address(*lc)
                    .ok_or_else(|| Error::Unsupported(format!("libcall {lc:?}").into()))?,
                RelocTarget::HostDispatch => {
                    crate::runtime::func::host_dispatch as *const () as usize
                }
            };
            let target = target.wrapping_add(*addend as usize);
            apply_reloc(buf, at, base as usize + at, *kind, target)?;
        }
    }
    crate::runtime::arch::flush_icache(base, len);
    traps.finish();
    // SAFETY: our own mapping; after this nothing writes to it.
    if unsafe { libc::mprotect(base.cast(), len, libc::PROT_READ | libc::PROT_EXEC) } != 0 {
        let err = std::io::Error::last_os_error();
        // SAFETY: our own mapping, unused.
        unsafe { libc::munmap(base.cast(), len) };
        return Err(Error::ResourceLimit(
            format!("cannot protect code memory: {err}").into(),
        ));
    }
    let slot = match crate::runtime::signals::register_code(base as usize, base as usize + len) {
        Ok(slot) => slot,
        Err(e) => {
            // SAFETY: our own mapping, unused.
            unsafe { libc::munmap(base.cast(), len) };
            return Err(e);
        }
    };
    Ok((CodeMemory { base, len, slot }, ranges, traps))
}

/// The host's page size (4 KiB on x86-64 and most AArch64 Linux systems,
/// 16 KiB on Apple silicon).
fn host_page_size() -> usize {
    // SAFETY: sysconf reads a constant of the system.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page)
        .ok()
        .filter(|p| p.is_power_of_two())
        .unwrap_or(4096)
}

/// Patch one relocation of `kind` at `buf[at..]`, whose address is `pc`, to
/// point at `target`.
fn apply_reloc(
    buf: &mut [u8],
    at: usize,
    pc: usize,
    kind: Reloc,
    target: usize,
) -> Result<(), Error> {
    let out_of_range = |what: &str| {
        Err(Error::ResourceLimit(
            format!("{what} relocation out of range (module code too large for {kind:?})").into(),
        ))
    };
    let word = |buf: &[u8]| u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
    match kind {
        Reloc::Abs8 => buf[at..at + 8].copy_from_slice(&(target as u64).to_le_bytes()),
        Reloc::X86CallPCRel4 | Reloc::X86PCRel4 => {
            let delta = (target as i64).wrapping_sub(pc as i64);
            let Ok(delta) = i32::try_from(delta) else {
                return out_of_range("pc-relative");
            };
            buf[at..at + 4].copy_from_slice(&delta.to_le_bytes());
        }
        // `bl`: a signed 26-bit word offset, ±128 MiB.
        Reloc::Arm64Call => {
            let delta = (target as i64).wrapping_sub(pc as i64);
            if delta % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&delta) {
                return out_of_range("call");
            }
            let insn = (word(buf) & 0xfc00_0000) | ((delta >> 2) as u32 & 0x03ff_ffff);
            buf[at..at + 4].copy_from_slice(&insn.to_le_bytes());
        }
        // `adrp`: the signed 21-bit distance in 4 KiB pages, split into
        // immlo (bits 30:29) and immhi (bits 23:5).
        Reloc::Aarch64AdrPrelPgHi21 => {
            let pages = ((target & !0xfff) as i64).wrapping_sub((pc & !0xfff) as i64) >> 12;
            if !(-(1 << 20)..(1 << 20)).contains(&pages) {
                return out_of_range("adrp");
            }
            let imm = pages as u32 & 0x1f_ffff;
            let insn = (word(buf) & 0x9f00_001f) | ((imm & 0x3) << 29) | ((imm >> 2) << 5);
            buf[at..at + 4].copy_from_slice(&insn.to_le_bytes());
        }
        // `add`: the low 12 bits of the address as imm12 (bits 21:10).
        Reloc::Aarch64AddAbsLo12Nc => {
            let insn = (word(buf) & 0xffc0_03ff) | (((target & 0xfff) as u32) << 10);
            buf[at..at + 4].copy_from_slice(&insn.to_le_bytes());
        }
        other => {
            return Err(Error::Unsupported(
                format!("relocation kind {other:?}").into(),
            ));
        }
    }
    Ok(())
}

/// Cranelift type of a wasm value type.
pub(crate) fn ir_type(isa: &dyn TargetIsa, ty: ValType) -> Result<ir::Type, Error> {
    Ok(match ty {
        ValType::I32 => ir::types::I32,
        ValType::I64 => ir::types::I64,
        ValType::F32 => ir::types::F32,
        ValType::F64 => ir::types::F64,
        ValType::Ref(_) => isa.pointer_type(),
        ValType::V128 => ir::types::I8X16,
    })
}

/// The calling convention of every wasm-defined function, import call and
/// wasm-side trampoline: Cranelift's `tail`, which `return_call*` needs (a
/// tail call requires caller and callee in this convention) and which
/// Cranelift's exception tables (`try_call`) support. Only host-side entry
/// points (the entry trampoline itself, builtins, `host_dispatch`) use the
/// platform convention.
pub(crate) const WASM_CALL_CONV: CallConv = CallConv::Tail;

/// The wasm calling convention's signature: vmctx, then the wasm params.
pub(crate) fn wasm_signature(isa: &dyn TargetIsa, ty: &FuncType) -> Result<ir::Signature, Error> {
    let mut sig = ir::Signature::new(WASM_CALL_CONV);
    sig.params.push(AbiParam::special(
        isa.pointer_type(),
        ir::ArgumentPurpose::VMContext,
    ));
    for p in ty.params() {
        sig.params.push(AbiParam::new(ir_type(isa, *p)?));
    }
    for r in ty.results() {
        sig.returns.push(AbiParam::new(ir_type(isa, *r)?));
    }
    Ok(sig)
}

/// Trampolines for one signature.
pub(crate) struct Trampolines {
    info: Arc<CodeInfo>,
    entry: Range<u32>,
    host: Range<u32>,
    /// Entry and host trampoline before linking, for `Module::serialize`.
    pub funcs: Vec<CompiledFunc>,
}

/// `extern "C" fn(wasm_call, callee_vmctx, values)`: calls a wasm-ABI function
/// with arguments read from, and results written to, 16-byte slots.
pub(crate) type EntryTrampoline = unsafe extern "C" fn(*const u8, *mut u8, *mut u128);

impl Trampolines {
    /// Address of the entry trampoline.
    pub(crate) fn entry(&self) -> *const u8 {
        self.info.memory.at(self.entry.start)
    }

    /// Address of the wasm-ABI trampoline into a host function.
    pub(crate) fn host(&self) -> *const u8 {
        self.info.memory.at(self.host.start)
    }
}

/// Compile the entry and host trampolines of `ty`.
pub(crate) fn compile_trampolines(engine: &Engine, ty: &FuncType) -> Result<Trampolines, Error> {
    let isa = &*engine.inner.isa;
    let ptr = isa.pointer_type();
    let wasm_sig = wasm_signature(isa, ty)?;
    let flags = MemFlagsData::trusted();
    let slot = |i: usize| (i * 16) as i32;

    // Entry: fn(wasm_call, vmctx, values).
    let mut sig = ir::Signature::new(isa.default_call_conv());
    sig.params
        .extend([AbiParam::new(ptr), AbiParam::new(ptr), AbiParam::new(ptr)]);
    let mut func = ir::Function::with_name_signature(UserFuncName::user(1, 0), sig);
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let block = b.create_block();
        b.append_block_params_for_function_params(block);
        b.switch_to_block(block);
        b.seal_block(block);
        let [callee, vmctx, values] = b.block_params(block) else {
            return Err(Error::bug("entry trampoline has three params"));
        };
        let (callee, vmctx, values) = (*callee, *vmctx, *values);
        let mut args = vec![vmctx];
        for (i, p) in ty.params().iter().enumerate() {
            args.push(b.ins().load(ir_type(isa, *p)?, flags, values, slot(i)));
        }
        let sigref = b.import_signature(wasm_sig.clone());
        let call = b.ins().call_indirect(sigref, callee, &args);
        let results = b.inst_results(call).to_vec();
        for (i, r) in results.into_iter().enumerate() {
            b.ins().store(flags, r, values, slot(i));
        }
        b.ins().return_(&[]);
        b.finalize(isa.frontend_config());
    }
    let entry = compile_function(isa, func, 0)?;

    // Host: wasm ABI → host_dispatch(vmctx, values) → trap on nonzero.
    let mut func = ir::Function::with_name_signature(UserFuncName::user(1, 1), wasm_sig);
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let block = b.create_block();
        b.append_block_params_for_function_params(block);
        b.switch_to_block(block);
        b.seal_block(block);
        let params = b.block_params(block).to_vec();
        let n = ty.params().len().max(ty.results().len()).max(1);
        let ss = b.create_sized_stack_slot(ir::StackSlotData::new(
            ir::StackSlotKind::ExplicitSlot,
            (n * 16) as u32,
            4,
        ));
        let values = b.ins().stack_addr(ptr, ss, 0);
        for (i, p) in params[1..].iter().enumerate() {
            b.ins().store(flags, *p, values, slot(i));
        }
        let mut dsig = ir::Signature::new(isa.default_call_conv());
        dsig.params.extend([AbiParam::new(ptr), AbiParam::new(ptr)]);
        dsig.returns.push(AbiParam::new(ir::types::I32));
        let dsig = b.import_signature(dsig);
        // By relocation, not as a constant: precompiled trampolines run in
        // other processes, where the function has another address.
        let dispatch_name = b
            .func
            .declare_imported_user_function(ir::UserExternalName::new(HOST_DISPATCH_NAMESPACE, 0));
        let dispatch_sig = b.import_signature(ir::Signature::new(isa.default_call_conv()));
        let dispatch_ref = b.import_function(ir::ExtFuncData {
            name: ExternalName::User(dispatch_name),
            signature: dispatch_sig,
            colocated: false,
            patchable: false,
        });
        let dispatch = b.ins().func_addr(ptr, dispatch_ref);
        let call = b.ins().call_indirect(dsig, dispatch, &[params[0], values]);
        let status = b.inst_results(call)[0];
        // Status 2: the host function threw a wasm exception (slot 0).
        let ok = b.create_block();
        let failed = b.create_block();
        let throw = b.create_block();
        b.ins().brif(status, failed, &[], ok, &[]);
        b.switch_to_block(failed);
        b.seal_block(failed);
        let is_exn = b.ins().icmp_imm_u(ir::condcodes::IntCC::Equal, status, 2);
        b.ins().brif(is_exn, throw, &[], ok, &[]);
        b.switch_to_block(throw);
        b.seal_block(throw);
        let exn = b.ins().load(ptr, flags, values, 0);
        let store = b.ins().load(
            ptr,
            flags,
            params[0],
            crate::runtime::func::HOST_CONTEXT_STORE,
        );
        let mut tsig = ir::Signature::new(isa.default_call_conv());
        tsig.params.extend([AbiParam::new(ptr), AbiParam::new(ptr)]);
        let tsig = b.import_signature(tsig);
        let thrower = b
            .ins()
            .iconst(ptr, crate::runtime::exception::throw_address() as i64);
        b.ins().call_indirect(tsig, thrower, &[store, exn]);
        b.ins().trap(HOST_TRAP);
        b.switch_to_block(ok);
        b.seal_block(ok);
        b.ins().trapnz(status, HOST_TRAP);
        let mut results = Vec::new();
        for (i, r) in ty.results().iter().enumerate() {
            results.push(b.ins().load(ir_type(isa, *r)?, flags, values, slot(i)));
        }
        b.ins().return_(&results);
        b.finalize(isa.frontend_config());
    }
    let host = compile_function(isa, func, 0)?;
    link_trampolines(&[entry, host])
}

/// Link an entry and a host trampoline (compiled, or from an artefact).
fn link_trampolines(funcs: &[CompiledFunc]) -> Result<Trampolines, Error> {
    if funcs.len() != 2 {
        return Err(Error::Incompatible(
            "artefact holds a trampoline set that is not entry + host".into(),
        ));
    }
    let (memory, ranges, traps) = link(funcs, 0)?;
    let info = Arc::new(CodeInfo {
        memory,
        funcs: Vec::new(),
        num_imported_funcs: 0,
        traps,
        names: HashMap::new(),
        handlers: Vec::new(),
        srclocs: Vec::new(),
        module_name: None,
        file_offset: std::sync::atomic::AtomicU32::new(0),
    });
    publish(&info);
    Ok(Trampolines {
        info,
        entry: ranges[0].clone(),
        host: ranges[1].clone(),
        funcs: funcs.iter().map(CompiledFunc::duplicate).collect(),
    })
}

/// What compiled code calls once the epoch deadline has passed: a
/// `preserve_all` function, so that the call site clobbers no register and
/// the epoch check in a loop header costs the loop nothing beyond its
/// compare and branch (a plain call there made the register allocator keep
/// every loop-carried value in callee-saved registers or on the stack, up to
/// 2.3x slower loops). It calls the `epoch_late` builtin and traps
/// "interrupt" when that says so; one per engine, its address in every
/// store's context (`VMStoreContext::epoch_trampoline`). It takes no
/// argument either (an argument register would be one more constraint on
/// the loop): the builtin finds the store through the innermost entry.
pub(crate) struct EpochTrampoline {
    info: Arc<CodeInfo>,
}

impl EpochTrampoline {
    /// The trampoline's address.
    pub(crate) fn address(&self) -> usize {
        self.info.memory.at(0) as usize
    }
}

/// Compile the engine's [`EpochTrampoline`]. It is never serialised, so
/// the builtin's address is a constant.
pub(crate) fn compile_epoch_trampoline(isa: &dyn TargetIsa) -> Result<EpochTrampoline, Error> {
    let ptr = isa.pointer_type();
    let sig = ir::Signature::new(CallConv::PreserveAll);
    let mut func = ir::Function::with_name_signature(UserFuncName::user(1, 2), sig);
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let block = b.create_block();
        b.switch_to_block(block);
        b.seal_block(block);
        let late = b
            .ins()
            .iconst(ptr, crate::runtime::vmctx::epoch_late_address() as i64);
        let mut bsig = ir::Signature::new(isa.default_call_conv());
        bsig.returns.push(AbiParam::new(ir::types::I32));
        let bsig = b.import_signature(bsig);
        let call = b.ins().call_indirect(bsig, late, &[]);
        let trap = b.inst_results(call)[0];
        b.ins()
            .trapnz(trap, crate::compile::translate::trap_codes::INTERRUPT);
        b.ins().return_(&[]);
        b.finalize(isa.frontend_config());
    }
    let compiled = compile_function(isa, func, 0)?;
    let (memory, _, traps) = link(&[compiled], 0)?;
    let info = Arc::new(CodeInfo {
        memory,
        funcs: Vec::new(),
        num_imported_funcs: 0,
        traps,
        names: HashMap::new(),
        handlers: Vec::new(),
        srclocs: Vec::new(),
        module_name: None,
        file_offset: std::sync::atomic::AtomicU32::new(0),
    });
    publish(&info);
    Ok(EpochTrampoline { info })
}

impl crate::Module {
    /// Load a precompiled artefact written by [`Module::serialize`] or
    /// `ringwasm compile`.
    ///
    /// [`Module::serialize`]: crate::Module::serialize
    ///
    /// # Safety
    ///
    /// `bytes` must come from `Module::serialize` of a trusted source: the
    /// artefact's machine code is mapped executable and run as is. The header
    /// (format version, engine build, CPU flags, settings) and a checksum are
    /// checked, which catches accidents, not forgeries.
    ///
    /// # Errors
    ///
    /// `Error::Incompatible` when the artefact is corrupt or was built by
    /// another ringwasm build, for another CPU or with other settings.
    pub unsafe fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Self, Error> {
        crate::Module::from_artefact(engine, bytes.as_ref(), None)
    }

    /// [`Module::deserialize`] of a file's contents.
    ///
    /// [`Module::deserialize`]: crate::Module::deserialize
    ///
    /// # Safety
    ///
    /// As `Module::deserialize`: the file must be a trusted artefact.
    ///
    /// # Errors
    ///
    /// As `Module::deserialize`, plus `Error::Incompatible` when the file
    /// cannot be read.
    pub unsafe fn deserialize_file(
        engine: &Engine,
        path: impl AsRef<std::path::Path>,
    ) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| {
            Error::Incompatible(format!("cannot read {}: {e}", path.display()).into())
        })?;
        crate::Module::from_artefact(engine, &bytes, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(insn: u32, pc: usize, kind: Reloc, target: usize) -> Result<u32, Error> {
        let mut buf = insn.to_le_bytes().to_vec();
        apply_reloc(&mut buf, 0, pc, kind, target)?;
        Ok(u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]))
    }

    #[test]
    fn arm64_call_encodes_the_word_offset_in_26_bits() {
        // `bl 0` is 0x9400_0000; forward by 0x100 bytes is imm26 = 0x40.
        assert_eq!(
            patch(0x9400_0000, 0x1_0000, Reloc::Arm64Call, 0x1_0100).ok(),
            Some(0x9400_0040)
        );
        // Backward by 8 bytes: imm26 = -2 in two's complement.
        assert_eq!(
            patch(0x9400_0000, 0x1_0000, Reloc::Arm64Call, 0xfff8).ok(),
            Some(0x97ff_fffe)
        );
        // The last reachable byte forward and one past it.
        let pc = 0x1000_0000;
        assert!(patch(0x9400_0000, pc, Reloc::Arm64Call, pc + (128 << 20) - 4).is_ok());
        assert!(matches!(
            patch(0x9400_0000, pc, Reloc::Arm64Call, pc + (128 << 20)),
            Err(Error::ResourceLimit(_))
        ));
    }

    #[test]
    fn adrp_and_add_split_an_address_into_page_and_offset() {
        // `adrp x3, 0` and `add x3, x3, #0`.
        let (adrp, add) = (0x9000_0003, 0x9100_0063);
        let pc = 0x40_0ff8;
        let target = 0x40_3abc;
        // Three pages up: immlo = 3, immhi = 0.
        assert_eq!(
            patch(adrp, pc, Reloc::Aarch64AdrPrelPgHi21, target).ok(),
            Some(0x9000_0003 | (3 << 29))
        );
        // Seven pages up: immlo = 3, immhi = 1.
        assert_eq!(
            patch(adrp, pc, Reloc::Aarch64AdrPrelPgHi21, target + 0x4000).ok(),
            Some(0x9000_0003 | (3 << 29) | (1 << 5))
        );
        // One page down: -1 in 21 bits.
        assert_eq!(
            patch(adrp, pc, Reloc::Aarch64AdrPrelPgHi21, pc - 0x1000).ok(),
            Some(0x9000_0003 | (3 << 29) | (0x7_ffff << 5))
        );
        assert_eq!(
            patch(add, pc, Reloc::Aarch64AddAbsLo12Nc, target).ok(),
            Some(0x9100_0063 | (0xabc << 10))
        );
    }

    #[test]
    fn x86_pc_relative_is_relative_to_the_field() {
        assert_eq!(
            patch(0, 0x1000, Reloc::X86CallPCRel4, 0x0ff0).ok(),
            Some((-16i32) as u32)
        );
        assert!(matches!(
            patch(0, 0, Reloc::X86PCRel4, 1 << 40),
            Err(Error::ResourceLimit(_))
        ));
    }

    #[test]
    fn every_applied_relocation_kind_round_trips_through_the_cache_format() {
        for kind in RELOC_KINDS {
            let mut w = Vec::new();
            kind.write(&mut w);
            let mut r = Reader::new(&w);
            assert_eq!(Reloc::read(&mut r).ok(), Some(kind));
        }
    }
}
