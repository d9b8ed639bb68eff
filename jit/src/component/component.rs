//! [`Component`]: a validated, flattened and compiled component.

use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

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
/// layer 1).
pub fn is_component(bytes: &[u8]) -> bool {
    bytes.get(..8) == Some(b"\0asm\x0d\x00\x01\x00".as_slice())
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
        let modules = t
            .modules
            .par_iter()
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
        let (plan, types) = inline(&t, &modules)?;
        Ok(Component {
            inner: Arc::new(ComponentInner {
                engine: engine.clone(),
                plan,
                types: Arc::new(types),
                modules,
            }),
        })
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
