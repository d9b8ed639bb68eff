//! [`Component`]: a validated, flattened and compiled component.

use std::path::Path;
use std::sync::Arc;

use crate::component::plan::Plan;
use crate::component::translate::{self, inline::inline};
use crate::component::types::ComponentTypes;
use crate::engine::Engine;
use crate::error::Error;
use crate::module::Module;

/// A compiled component: its core modules compiled, its structure
/// flattened into one plan. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Component {
    pub(crate) inner: Arc<ComponentInner>,
}

pub(crate) struct ComponentInner {
    pub engine: Engine,
    pub plan: Plan,
    pub types: Arc<ComponentTypes>,
    pub modules: Vec<Module>,
    /// The component binary (for `serialize`).
    pub binary: Arc<[u8]>,
}

impl std::fmt::Debug for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Component")
            .field("modules", &self.inner.modules.len())
            .field("imports", &self.inner.plan.root_imports.len())
            .finish_non_exhaustive()
    }
}

/// Whether `bytes` start like a component binary (`\0asm`, version 0xd,
/// layer 1) or a precompiled component ([`Component::serialize`]).
pub fn is_component(bytes: &[u8]) -> bool {
    bytes.get(..8) == Some(b"\0asm\x0d\x00\x01\x00".as_slice()) || bytes.starts_with(&MAGIC)
}

/// The start of a precompiled component.
const MAGIC: [u8; 8] = *b"\0rwasm-k";

/// Reads a little-endian length-prefixed byte string at `*at`.
fn read_bytes<'a>(b: &'a [u8], at: &mut usize) -> Result<&'a [u8], Error> {
    let corrupt = || Error::Incompatible("truncated precompiled component".into());
    let len = b.get(*at..*at + 8).ok_or_else(corrupt)?;
    let len = u64::from_le_bytes(len.try_into().map_err(|_| corrupt())?) as usize;
    *at += 8;
    let out = b
        .get(*at..at.checked_add(len).ok_or_else(corrupt)?)
        .ok_or_else(corrupt)?;
    *at += len;
    Ok(out)
}

impl Component {
    /// Compile a component from its binary or text (WAT) form.
    ///
    /// # Errors
    ///
    /// `Error::Compile` with the byte offset for malformed or invalid input
    /// (nested modules report offsets into the component binary);
    /// `Error::Unsupported` for parts of the component model the engine does
    /// not implement.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Component, Error> {
        let bytes = bytes.as_ref();
        if bytes.starts_with(&MAGIC) {
            if !engine.allows_precompiled() {
                return Err(Error::Incompatible(
                    "this is a precompiled component; loading one needs `Config::allow_precompiled`"
                        .into(),
                ));
            }
            return Component::from_artefact(engine, bytes);
        }
        let binary: std::borrow::Cow<'_, [u8]> = if bytes.starts_with(b"\0asm") {
            bytes.into()
        } else {
            let text = std::str::from_utf8(bytes).map_err(|e| {
                Error::compile(e.valid_up_to(), "neither wasm binary nor UTF-8 text")
            })?;
            wat::parse_str(text)
                .map_err(|e| Error::compile(0, e.to_string()))?
                .into()
        };
        if !is_component(&binary) {
            return Err(Error::compile(
                0,
                "not a component (a core module? use `Module::new`)",
            ));
        }
        let t = translate::translate(&binary, engine.features())?;
        Component::finish(engine, &binary, t, None)
    }

    /// Compile (or, with `precompiled`, load) the core modules of a
    /// translated component and flatten it.
    fn finish(
        engine: &Engine,
        binary: &[u8],
        t: translate::Translation,
        precompiled: Option<Vec<&[u8]>>,
    ) -> Result<Component, Error> {
        if let Some(artefacts) = precompiled {
            if artefacts.len() != t.modules.len() {
                return Err(Error::Incompatible(
                    "precompiled component holds another number of modules".into(),
                ));
            }
            // In index order: engine-wide signature ids depend on the order
            // modules register their types, and the code holds them.
            let modules = artefacts
                .iter()
                .map(|a| Module::new(engine, a))
                .collect::<Result<Vec<_>, Error>>()?;
            for (m, s) in modules.iter().zip(&t.modules) {
                m.set_file_offset(s.range.start);
            }
            let (plan, types) = inline(&t, &modules)?;
            return Ok(Component {
                inner: Arc::new(ComponentInner {
                    engine: engine.clone(),
                    plan,
                    types: Arc::new(types),
                    modules,
                    binary: binary.into(),
                }),
            });
        }
        // One module after the other, in index order, so that signature
        // ids (engine-wide, in registration order, held by the code) come
        // out the same every time: the code cache and precompiled
        // components rely on it. Each module compiles its functions in
        // parallel.
        let modules = t
            .modules
            .iter()
            .map(|m| {
                Module::new(engine, &binary[m.range.clone()]).map_err(|e| match e {
                    // Offsets of nested modules point into the component.
                    Error::Compile(c) => {
                        Error::compile(c.offset + m.range.start, c.message.to_string())
                    }
                    other => other,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        for (m, s) in modules.iter().zip(&t.modules) {
            m.set_file_offset(s.range.start);
        }
        let (plan, types) = inline(&t, &modules)?;
        Ok(Component {
            inner: Arc::new(ComponentInner {
                engine: engine.clone(),
                plan,
                types: Arc::new(types),
                modules,
                binary: binary.into(),
            }),
        })
    }

    /// Load a precompiled component: the binary is validated and
    /// flattened again (cheap), the core modules' code is loaded, not
    /// compiled.
    fn from_artefact(engine: &Engine, bytes: &[u8]) -> Result<Component, Error> {
        let mut at = MAGIC.len();
        let binary = read_bytes(bytes, &mut at)?;
        let mut artefacts = Vec::new();
        while at < bytes.len() {
            artefacts.push(read_bytes(bytes, &mut at)?);
        }
        let t = translate::translate(binary, engine.features())?;
        Component::finish(engine, binary, t, Some(artefacts))
    }

    /// The component as a precompiled artefact (`ringwasm compile`): the
    /// component binary and each core module's compiled code, loadable by
    /// an engine of this same build, CPU and settings that allows
    /// precompiled code.
    pub fn serialize(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        let mut put = |b: &[u8]| {
            out.extend_from_slice(&(b.len() as u64).to_le_bytes());
            out.extend_from_slice(b);
        };
        put(&self.inner.binary);
        for m in &self.inner.modules {
            put(&m.serialize());
        }
        out
    }

    /// Compile a component from a file.
    ///
    /// # Errors
    ///
    /// As [`Component::new`], and `Error::Unsupported` when the file cannot
    /// be read.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Component, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| {
            Error::Unsupported(format!("cannot read {}: {e}", path.display()).into())
        })?;
        Component::new(engine, bytes)
    }

    /// The engine this component was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Names of the component's imports, in order.
    pub fn import_names(&self) -> impl Iterator<Item = &str> {
        self.inner.plan.root_imports.iter().map(|i| &*i.full_name)
    }

    /// Names of the component's exports, in order.
    pub fn export_names(&self) -> impl Iterator<Item = &str> {
        self.inner.plan.exports.iter().map(|(n, _)| &**n)
    }
}
