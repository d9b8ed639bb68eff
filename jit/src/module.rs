//! Parsing and validating a module with an explicit feature set: types,
//! imports, exports, segments, start function and the name section.

use std::path::Path;
use std::sync::Arc;

use wasmparser::{
    BinaryReader, ElementItems, ElementKind, ExternalKind, FuncToValidate, Name, NameSectionReader,
    Operator, Parser, Payload, TypeRef, ValidPayload, Validator, ValidatorResources,
};

use crate::compile::CompiledFunc;
use crate::compile::cache::{self, Bytes, Serial};
use crate::compile::env::{
    ConstExpr, ConstOp, DataKind, DataSegment, ElemKind, ElemSegment, EntityIndex, Import,
    ModuleInfo, VMOffsets,
};
use crate::engine::Engine;
use crate::error::Error;
use crate::types::{
    ExportType, ExternType, GlobalType, ImportType, MemoryType, Mutability, RefType, TableType,
    ValType,
};

/// A compiled module: validated, translated and linked into executable
/// memory. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.inner.info.name)
            .finish_non_exhaustive()
    }
}

pub(crate) struct ModuleInner {
    pub engine: Engine,
    pub info: ModuleInfo,
    pub offsets: VMOffsets,
    pub code: crate::compile::CompiledModule,
    pub bytes: Arc<[u8]>,
    /// Loaded from the code cache or a precompiled artefact, not compiled.
    pub from_cache: bool,
    /// Copy-on-write images of the initialised memories.
    pub images: crate::runtime::image::ModuleImages,
}

/// A function body waiting for translation.
pub(crate) struct PendingFunc {
    pub validator: FuncToValidate<ValidatorResources>,
    pub body_offset: usize,
}

/// Whether `binary` has a component's preamble: `\0asm`, version 0xd,
/// layer 1 (a core module's is version 1, layer 0).
fn is_component(binary: &[u8]) -> bool {
    binary.get(..8) == Some(b"\0asm\x0d\x00\x01\x00".as_slice())
}

impl Module {
    /// Compile a module from binary or WAT text.
    ///
    /// # Errors
    ///
    /// `Error::Compile` with the byte offset for malformed or invalid input;
    /// `Error::Unsupported` for features the engine does not implement.
    ///
    /// With a cache directory configured ([`Config::cache_dir`]) the
    /// compiled code is looked up there first (a hit skips validation,
    /// translation and code generation) and stored there after a miss. With
    /// [`Config::allow_precompiled`], `bytes` may also be a precompiled
    /// artefact ([`Module::serialize`], `ringwasm compile`).
    ///
    /// [`Config::cache_dir`]: crate::Config::cache_dir
    /// [`Config::allow_precompiled`]: crate::Config::allow_precompiled
    ///
    /// # Errors
    ///
    /// `Error::Compile` with the byte offset for malformed or invalid input;
    /// `Error::Unsupported` for features the engine does not implement;
    /// `Error::Incompatible` for a precompiled artefact this engine cannot
    /// load or is not allowed to.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module, Error> {
        let bytes = bytes.as_ref();
        if bytes.starts_with(&cache::MAGIC) {
            if !engine.allows_precompiled() {
                return Err(Error::Incompatible(
                    "this is a precompiled artefact; loading one needs \
                     `Config::allow_precompiled` or `Module::deserialize`"
                        .into(),
                ));
            }
            return Module::from_artefact(engine, bytes, None);
        }
        let binary: Arc<[u8]> = if bytes.starts_with(b"\0asm") {
            bytes.into()
        } else {
            let text = std::str::from_utf8(bytes).map_err(|e| {
                Error::compile(e.valid_up_to(), "neither wasm binary nor UTF-8 text")
            })?;
            parse_wat(text)?.into()
        };
        if is_component(&binary) {
            return Err(Error::Unsupported(
                "this is a WebAssembly component (binary version 0xd, layer 1), \
                 and ringwasm runs core modules only: the component model is not \
                 implemented yet"
                    .into(),
            ));
        }
        let Some(dir) = engine.cache_dir() else {
            return Module::compile(engine, binary);
        };
        let key = cache::digest(&[&engine.inner.header.fingerprint, &binary]);
        if let Some(entry) = cache::load(dir, &key) {
            // A corrupt, truncated or foreign entry is a miss: recompile and
            // overwrite it. The entry is freed before its code is linked:
            // for a large module it is hundreds of megabytes.
            let read = Artefact::read(engine, &entry, Some(&binary));
            drop(entry);
            if let Ok(module) = read.and_then(|a| a.link(engine)) {
                return Ok(module);
            }
        }
        let module = Module::compile(engine, binary)?;
        cache::store(
            dir,
            &key,
            &module.serialize_code(false),
            engine.cache_size_limit(),
        );
        Ok(module)
    }

    /// Validate, translate, compile and link.
    fn compile(engine: &Engine, binary: Arc<[u8]>) -> Result<Module, Error> {
        let (info, pending) = parse(engine, &binary, true)?;
        let offsets = VMOffsets::new(&info);
        let funcs = crate::compile::compile_functions(engine, &info, &offsets, &binary, pending)?;
        let code = crate::compile::link_module(engine, &info, funcs, None)?;
        let images = crate::runtime::image::ModuleImages::for_engine(engine, &info, &binary);
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                info,
                offsets,
                code,
                bytes: binary,
                from_cache: false,
                images,
            }),
        })
    }

    /// Load an artefact written by [`Module::serialize`]: check its header,
    /// re-parse the module's sections (no function-body validation: the
    /// artefact is trusted), map and relocate its code.
    ///
    /// `expected` is the module binary the caller has (a cache lookup keyed
    /// by its digest). A cache entry leaves the binary out (an empty one,
    /// which no module is) and takes `expected`; an artefact that holds a
    /// binary must hold exactly `expected`.
    pub(crate) fn from_artefact(
        engine: &Engine,
        artefact: &[u8],
        expected: Option<&Arc<[u8]>>,
    ) -> Result<Module, Error> {
        Artefact::read(engine, artefact, expected)?.link(engine)
    }

    /// The module as a precompiled artefact: machine code plus the module
    /// binary, loadable by an engine of this same build, CPU and settings
    /// ([`Module::deserialize`]). What `ringwasm compile` writes.
    pub fn serialize(&self) -> Vec<u8> {
        self.serialize_code(true)
    }

    /// The artefact, with the module binary (`ringwasm compile`) or without
    /// it (a code-cache entry: its key is the binary's digest, and the loader
    /// has the binary in hand). Leaving it out keeps a large module's binary
    /// from being written, read, checksummed and compared on every start.
    fn serialize_code(&self, with_binary: bool) -> Vec<u8> {
        let mut w = cache::begin(&self.inner.engine.inner.header);
        let binary: &[u8] = if with_binary { &self.inner.bytes } else { &[] };
        cache::write_bytes(&mut w, binary);
        self.inner.info.type_ids.write(&mut w);
        self.inner.code.funcs.write(&mut w);
        cache::write_len(&mut w, self.inner.code.entries.len());
        for t in &self.inner.code.entries {
            t.funcs.write(&mut w);
        }
        cache::finish(w)
    }

    /// Whether this module was loaded from the code cache or a precompiled
    /// artefact rather than compiled.
    pub fn compiled_from_cache(&self) -> bool {
        self.inner.from_cache
    }

    /// Whether `bytes` start like a precompiled artefact.
    pub fn is_precompiled(bytes: &[u8]) -> bool {
        bytes.starts_with(&cache::MAGIC)
    }

    /// Compile a module from a file (binary or WAT).
    ///
    /// # Errors
    ///
    /// As [`Module::new`], plus `Error::Unsupported` when the file cannot be read.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| {
            Error::Unsupported(format!("cannot read {}: {e}", path.display()).into())
        })?;
        Module::new(engine, bytes)
    }

    /// Record where this module's bytes start in the file it came from (a
    /// core module inside a component): backtraces then report offsets
    /// into that file.
    pub(crate) fn set_file_offset(&self, offset: usize) {
        self.inner.code.info.file_offset.store(
            u32::try_from(offset).unwrap_or(u32::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// The module's name from the name section.
    pub fn name(&self) -> Option<&str> {
        self.inner.info.name.as_deref()
    }

    /// The engine this module was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The module's imports in order.
    pub fn imports(&self) -> impl Iterator<Item = ImportType<'_>> {
        let info = &self.inner.info;
        info.imports.iter().map(move |i| ImportType {
            module: &i.module,
            name: &i.name,
            ty: entity_type(info, i.index),
        })
    }

    /// The module's exports in order.
    pub fn exports(&self) -> impl Iterator<Item = ExportType<'_>> {
        let info = &self.inner.info;
        info.exports.iter().map(move |(name, index)| ExportType {
            name,
            ty: entity_type(info, *index),
        })
    }
}

/// An artefact's parts, read and checked but not yet linked: what
/// [`Module::from_artefact`] does in two steps, so that a cache lookup can
/// free the entry's bytes before the code is mapped.
struct Artefact {
    binary: Arc<[u8]>,
    info: ModuleInfo,
    funcs: Vec<CompiledFunc>,
    trampolines: Vec<Vec<CompiledFunc>>,
}

impl Artefact {
    /// Check the header and read the parts (see [`Module::from_artefact`]).
    fn read(
        engine: &Engine,
        artefact: &[u8],
        expected: Option<&Arc<[u8]>>,
    ) -> Result<Artefact, Error> {
        let mut r = cache::open(artefact, &engine.inner.header)?;
        let at = r.pos();
        let wasm = Bytes::read(&mut r)?;
        let binary: Arc<[u8]> = match expected {
            Some(e) if wasm.is_empty() => Arc::clone(e),
            Some(e) if e[..] != wasm[..] => {
                return Err(cache::corrupt(at, "the entry holds another module"));
            }
            _ if wasm.is_empty() => {
                return Err(cache::corrupt(
                    at,
                    "a code-cache entry without its module binary, not a precompiled artefact",
                ));
            }
            _ => wasm.0.into(),
        };
        let type_ids = Vec::<u32>::read(&mut r)?;
        let funcs = Vec::<CompiledFunc>::read(&mut r)?;
        let trampolines = Vec::<Vec<CompiledFunc>>::read(&mut r)?;
        if !r.is_empty() {
            return Err(cache::corrupt(r.pos(), "trailing bytes"));
        }
        let (info, _) = parse(engine, &binary, false)?;
        // `call_indirect` compares engine-wide signature ids that the code
        // holds as immediates; they depend on the order in which the engine
        // met signatures, so the code is only valid where they are the same.
        if info.type_ids != type_ids {
            return Err(Error::Incompatible(
                "this engine numbers the module's signatures differently from the engine \
                 that compiled it (another module was loaded first): recompile it"
                    .into(),
            ));
        }
        Ok(Artefact {
            binary,
            info,
            funcs,
            trampolines,
        })
    }

    /// Map and relocate the code.
    fn link(self, engine: &Engine) -> Result<Module, Error> {
        let Artefact {
            binary,
            info,
            funcs,
            trampolines,
        } = self;
        let offsets = VMOffsets::new(&info);
        let code = crate::compile::link_module(engine, &info, funcs, Some(trampolines))?;
        let images = crate::runtime::image::ModuleImages::for_engine(engine, &info, &binary);
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                info,
                offsets,
                code,
                bytes: binary,
                from_cache: true,
                images,
            }),
        })
    }
}

pub(crate) fn entity_type(info: &ModuleInfo, index: EntityIndex) -> ExternType {
    match index {
        EntityIndex::Func(i) => ExternType::Func(info.func_type(i).clone()),
        EntityIndex::Table(i) => ExternType::Table(info.tables[i as usize]),
        EntityIndex::Memory(i) => ExternType::Memory(info.memories[i as usize]),
        EntityIndex::Global(i) => ExternType::Global(info.globals[i as usize]),
        EntityIndex::Tag(i) => ExternType::Tag(crate::runtime::tag::TagType::from_func_type(
            info.types[info.tags[i as usize] as usize].clone(),
        )),
    }
}

fn unsupported_at(offset: usize, what: &str) -> Error {
    Error::compile(offset, format!("unsupported: {what}"))
}

fn table_type(
    t: &wasmparser::TableType,
    offset: usize,
    types: crate::types::Scope<'_>,
) -> Result<TableType, Error> {
    if t.shared {
        return Err(unsupported_at(offset, "shared tables"));
    }
    Ok(TableType {
        element: RefType::from_wasm(t.element_type, types)
            .map_err(|m| unsupported_at(offset, m))?,
        minimum: t.initial,
        maximum: t.maximum,
        table64: t.table64,
    })
}

fn memory_type(m: &wasmparser::MemoryType, offset: usize) -> Result<MemoryType, Error> {
    // The validator allows only 1-byte and 64 KiB pages; anything else is
    // refused here rather than trusted.
    let page_size_log2 = match m.page_size_log2() {
        log2 @ (0 | 16) => log2 as u8,
        other => {
            return Err(unsupported_at(
                offset,
                &format!("memory page size of 2^{other} bytes"),
            ));
        }
    };
    Ok(MemoryType {
        minimum: m.initial,
        maximum: m.maximum,
        memory64: m.memory64,
        shared: m.shared,
        page_size_log2,
    })
}

fn global_type(
    g: &wasmparser::GlobalType,
    offset: usize,
    types: crate::types::Scope<'_>,
) -> Result<GlobalType, Error> {
    if g.shared {
        return Err(unsupported_at(offset, "shared globals"));
    }
    let content =
        ValType::from_wasm(g.content_type, types).map_err(|m| unsupported_at(offset, m))?;
    Ok(GlobalType {
        content,
        mutability: if g.mutable {
            Mutability::Var
        } else {
            Mutability::Const
        },
    })
}

fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr, Error> {
    let mut reader = expr.get_operators_reader();
    let mut ops = Vec::new();
    loop {
        let offset = reader.original_position();
        let op = reader.read()?;
        ops.push(match op {
            Operator::I32Const { value } => ConstOp::I32(value),
            Operator::I64Const { value } => ConstOp::I64(value),
            Operator::F32Const { value } => ConstOp::F32(value.bits()),
            Operator::F64Const { value } => ConstOp::F64(value.bits()),
            Operator::V128Const { value } => ConstOp::V128(value.i128().cast_unsigned()),
            Operator::RefNull { .. } => ConstOp::RefNull,
            Operator::RefFunc { function_index } => ConstOp::RefFunc(function_index),
            Operator::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
            Operator::I32Add => ConstOp::I32Add,
            Operator::I32Sub => ConstOp::I32Sub,
            Operator::I32Mul => ConstOp::I32Mul,
            Operator::I64Add => ConstOp::I64Add,
            Operator::I64Sub => ConstOp::I64Sub,
            Operator::I64Mul => ConstOp::I64Mul,
            Operator::RefI31 => ConstOp::RefI31,
            Operator::StructNew { struct_type_index } => ConstOp::StructNew(struct_type_index),
            Operator::StructNewDefault { struct_type_index } => {
                ConstOp::StructNewDefault(struct_type_index)
            }
            Operator::ArrayNew { array_type_index } => ConstOp::ArrayNew(array_type_index),
            Operator::ArrayNewDefault { array_type_index } => {
                ConstOp::ArrayNewDefault(array_type_index)
            }
            Operator::ArrayNewFixed {
                array_type_index,
                array_size,
            } => ConstOp::ArrayNewFixed(array_type_index, array_size),
            Operator::AnyConvertExtern | Operator::ExternConvertAny => ConstOp::Convert,
            Operator::End => break,
            _ => {
                return Err(unsupported_at(
                    offset as usize,
                    "constant expression operator",
                ));
            }
        });
    }
    Ok(ConstExpr { ops: ops.into() })
}

/// Parse the text format; an error carries its byte offset and its
/// line:column.
fn parse_wat(text: &str) -> Result<Vec<u8>, Error> {
    let error = |e: wast::Error| {
        let (line, column) = e.span().linecol_in(text);
        Error::compile(
            e.span().offset(),
            format!(
                "invalid text format at {}:{}: {}",
                line + 1,
                column + 1,
                e.message()
            ),
        )
    };
    let buf = wast::parser::ParseBuffer::new(text).map_err(error)?;
    let mut wat: wast::Wat<'_> = wast::parser::parse(&buf).map_err(error)?;
    wat.encode().map_err(error)
}

/// Parse `bytes`, registering signatures with the engine. With `validate`,
/// the module and every function body are validated and the bodies are
/// returned for translation; without, only the sections are read (for code
/// that was compiled, and so validated, before).
fn parse(
    engine: &Engine,
    bytes: &[u8],
    validate: bool,
) -> Result<(ModuleInfo, Vec<PendingFunc>), Error> {
    let mut validator = validate.then(|| Validator::new_with_features(engine.features()));
    let mut info = ModuleInfo::default();
    let mut pending = Vec::new();
    let mut parser = Parser::new(0);
    parser.set_features(engine.features());
    for payload in parser.parse_all(bytes) {
        let payload = payload?;
        match &mut validator {
            Some(validator) => {
                if let ValidPayload::Func(func, body) = validator.payload(&payload)? {
                    let range = body.range();
                    info.bodies.push(range.start as usize..range.end as usize);
                    pending.push(PendingFunc {
                        validator: func,
                        body_offset: range.start as usize,
                    });
                }
            }
            None => {
                if let Payload::CodeSectionEntry(body) = &payload {
                    let range = body.range();
                    info.bodies.push(range.start as usize..range.end as usize);
                }
            }
        }
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader.into_iter_with_offsets() {
                    let (offset, group) = group?;
                    let mut members = crate::types::rec_group_from_wasm(group, info.scope())
                        .map_err(|m| unsupported_at(offset as usize, m))?;
                    // A final function type alone in its group, without a
                    // supertype and not referring to itself, is identified
                    // by its structure; any other group iso-recursively, as
                    // a whole.
                    let ids = match members.as_slice() {
                        [m] if m.is_final
                            && m.supertype.is_none()
                            && !m.refers_into_group()
                            && matches!(m.composite, crate::types::Composite::Func(_)) =>
                        {
                            let m = members.remove(0);
                            let crate::types::Composite::Func(ty) = m.composite else {
                                return Err(unsupported_at(offset as usize, "bug: not a function"));
                            };
                            vec![engine.register_type(&ty)]
                        }
                        _ => engine.register_rec_group(members),
                    };
                    for id in ids {
                        info.type_ids.push(id);
                        info.type_kinds.push(engine.gc_type(id).kind());
                        info.types.push(engine.type_of(id));
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports_with_offsets() {
                    let (offset, import) = import?;
                    let offset = offset as usize;
                    let index = match import.ty {
                        TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                            info.funcs.push(t);
                            info.num_imported_funcs += 1;
                            EntityIndex::Func(info.funcs.len() as u32 - 1)
                        }
                        TypeRef::Table(t) => {
                            info.tables.push(table_type(&t, offset, info.scope())?);
                            info.num_imported_tables += 1;
                            EntityIndex::Table(info.tables.len() as u32 - 1)
                        }
                        TypeRef::Memory(m) => {
                            info.memories.push(memory_type(&m, offset)?);
                            info.num_imported_memories += 1;
                            EntityIndex::Memory(info.memories.len() as u32 - 1)
                        }
                        TypeRef::Global(g) => {
                            info.globals.push(global_type(&g, offset, info.scope())?);
                            info.num_imported_globals += 1;
                            EntityIndex::Global(info.globals.len() as u32 - 1)
                        }
                        TypeRef::Tag(t) => {
                            info.tags.push(t.func_type_idx);
                            info.num_imported_tags += 1;
                            EntityIndex::Tag(info.tags.len() as u32 - 1)
                        }
                    };
                    info.imports.push(Import {
                        module: import.module.into(),
                        name: import.name.into(),
                        index,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for t in reader {
                    info.funcs.push(t?);
                }
            }
            Payload::TableSection(reader) => {
                let offset = reader.range().start as usize;
                for table in reader {
                    let table = table?;
                    info.tables
                        .push(table_type(&table.ty, offset, info.scope())?);
                    info.table_inits.push(match &table.init {
                        wasmparser::TableInit::RefNull => None,
                        wasmparser::TableInit::Expr(e) => Some(const_expr(e)?),
                    });
                }
            }
            Payload::MemorySection(reader) => {
                let offset = reader.range().start as usize;
                for m in reader {
                    info.memories.push(memory_type(&m?, offset)?);
                }
            }
            Payload::GlobalSection(reader) => {
                let offset = reader.range().start as usize;
                for g in reader {
                    let g = g?;
                    info.globals.push(global_type(&g.ty, offset, info.scope())?);
                    info.global_inits.push(const_expr(&g.init_expr)?);
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader {
                    let e = e?;
                    let index = match e.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => EntityIndex::Func(e.index),
                        ExternalKind::Table => EntityIndex::Table(e.index),
                        ExternalKind::Memory => EntityIndex::Memory(e.index),
                        ExternalKind::Global => EntityIndex::Global(e.index),
                        ExternalKind::Tag => EntityIndex::Tag(e.index),
                    };
                    info.exports.push((e.name.into(), index));
                }
            }
            Payload::TagSection(reader) => {
                for t in reader {
                    info.tags.push(t?.func_type_idx);
                }
            }
            Payload::StartSection { func, .. } => info.start = Some(func),
            Payload::ElementSection(reader) => {
                for elem in reader {
                    let elem = elem?;
                    let kind = match elem.kind {
                        ElementKind::Passive => ElemKind::Passive,
                        ElementKind::Declared => ElemKind::Declared,
                        ElementKind::Active {
                            table_index,
                            offset_expr,
                        } => ElemKind::Active {
                            table: table_index.unwrap_or(0),
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    let (ty, items) = match elem.items {
                        ElementItems::Functions(funcs) => {
                            let mut items = Vec::new();
                            for f in funcs {
                                items.push(ConstExpr {
                                    ops: Box::new([ConstOp::RefFunc(f?)]),
                                });
                            }
                            (RefType::FUNCREF, items)
                        }
                        ElementItems::Expressions(ty, exprs) => {
                            let ty = RefType::from_wasm(ty, info.scope())
                                .map_err(|m| unsupported_at(elem.range.start as usize, m))?;
                            let mut items = Vec::new();
                            for e in exprs {
                                items.push(const_expr(&e?)?);
                            }
                            (ty, items)
                        }
                    };
                    info.elems.push(ElemSegment {
                        kind,
                        ty,
                        items: items.into(),
                    });
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data?;
                    let kind = match data.kind {
                        wasmparser::DataKind::Passive => DataKind::Passive,
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => DataKind::Active {
                            memory: memory_index,
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    let start = data.range.end as usize - data.data.len();
                    info.data.push(DataSegment {
                        kind,
                        bytes: start..data.range.end as usize,
                    });
                }
            }
            Payload::CustomSection(reader) if reader.name() == "name" => {
                let names =
                    NameSectionReader::new(BinaryReader::new(reader.data(), reader.data_offset()));
                // A malformed name section is ignored, as the spec requires.
                for name in names.into_iter().flatten() {
                    match name {
                        Name::Module { name, .. } => info.name = Some(name.into()),
                        Name::Function(map) => {
                            for naming in map.into_iter().flatten() {
                                info.func_names.insert(naming.index, naming.name.into());
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok((info, pending))
}
