//! The crate's one error type.

use crate::runtime::trap::Trap;

/// Everything that can go wrong in the engine. Every payload is one
/// pointer, so an `Error` is 16 bytes and a `Result` stays cheap to return.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The module is malformed or invalid.
    #[error(transparent)]
    Compile(Box<CompileError>),
    /// Linking failed: unknown import or incompatible import type.
    #[error(transparent)]
    Link(Box<LinkError>),
    /// The guest trapped (also while instantiating).
    #[error(transparent)]
    Trap(#[from] Box<Trap>),
    /// A host function asked the guest to exit with this status.
    #[error("exit with status {0}")]
    Exit(i32),
    /// A feature the engine does not implement.
    #[error("unsupported: {0}")]
    Unsupported(Message),
    /// A resource limit was exceeded.
    #[error("resource limit exceeded: {0}")]
    ResourceLimit(Message),
    /// The pooling allocator has no room left: which limit, and the option
    /// that raises it.
    #[error(transparent)]
    Pool(Box<PoolError>),
    /// Wrong argument or result types from the host.
    #[error("type mismatch: {0}")]
    Type(Message),
    /// A precompiled artefact (or cache entry) that this engine cannot load:
    /// corrupt, another format version, or built by another ringwasm build,
    /// for another CPU or with other settings.
    #[error("incompatible precompiled code: {0}")]
    Incompatible(Message),
    /// Bug in the engine: please report.
    #[error("internal error (please report): {0}")]
    Unreachable(Message),
}

/// A malformed or invalid module: what and where.
#[derive(Debug, thiserror::Error)]
#[error("compile error at offset {offset:#x}: {message}")]
pub struct CompileError {
    /// Byte offset into the binary (or the text, for the text format).
    pub offset: usize,
    /// What was wrong.
    pub message: Box<str>,
}

/// An error message, boxed once more so that it is one pointer wide.
#[derive(Clone, PartialEq, Eq)]
#[expect(
    clippy::box_collection,
    reason = "the extra box is the point: a thin pointer keeps `Error` at 16 bytes"
)]
pub struct Message(Box<String>);

impl Message {
    /// The message text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Message {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message(Box::new(s))
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message(Box::new(s.to_owned()))
    }
}

impl From<Box<str>> for Message {
    fn from(s: Box<str>) -> Self {
        Message(Box::new(s.into_string()))
    }
}

impl From<Trap> for Error {
    fn from(trap: Trap) -> Self {
        match trap.exit_code() {
            Some(code) => Error::Exit(code),
            None => Error::Trap(Box::new(trap)),
        }
    }
}

impl From<LinkError> for Error {
    fn from(e: LinkError) -> Self {
        Error::Link(Box::new(e))
    }
}

impl Error {
    /// The trap, when this error is one.
    pub fn as_trap(&self) -> Option<&Trap> {
        match self {
            Error::Trap(t) => Some(t),
            _ => None,
        }
    }

    pub(crate) fn compile(offset: usize, message: impl Into<String>) -> Self {
        Error::Compile(Box::new(CompileError {
            offset,
            message: message.into().into_boxed_str(),
        }))
    }

    pub(crate) fn ty(message: impl Into<String>) -> Self {
        Error::Type(message.into().into())
    }

    /// An engine bug: "please report".
    pub(crate) fn bug(what: &'static str) -> Self {
        Error::Unreachable(what.into())
    }
}

impl From<wasmparser::BinaryReaderError> for Error {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        Error::compile(e.offset() as usize, e.message())
    }
}

/// A limit of the pooling allocator
/// ([`PoolingAllocationConfig`](crate::PoolingAllocationConfig)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PoolLimit {
    /// Linear memories alive at once.
    TotalMemories,
    /// Tables alive at once.
    TotalTables,
    /// Core instances alive at once.
    TotalCoreInstances,
    /// Bytes of one linear memory.
    MaxMemorySize,
    /// Elements of one table.
    TableElements,
    /// Bytes of one instance's VMContext.
    MaxCoreInstanceSize,
    /// Memories one module defines.
    MaxMemoriesPerModule,
    /// Tables one module defines.
    MaxTablesPerModule,
}

impl PoolLimit {
    /// The `ringwasm run -O` option (and wasmtime's) that sets the limit.
    pub fn option(self) -> &'static str {
        match self {
            PoolLimit::TotalMemories => "pooling-total-memories",
            PoolLimit::TotalTables => "pooling-total-tables",
            PoolLimit::TotalCoreInstances => "pooling-total-core-instances",
            PoolLimit::MaxMemorySize => "pooling-max-memory-size",
            PoolLimit::TableElements => "pooling-table-elements",
            PoolLimit::MaxCoreInstanceSize => "pooling-max-core-instance-size",
            PoolLimit::MaxMemoriesPerModule => "pooling-max-memories-per-module",
            PoolLimit::MaxTablesPerModule => "pooling-max-tables-per-module",
        }
    }

    fn what(self) -> &'static str {
        match self {
            PoolLimit::TotalMemories => "linear memories alive at once",
            PoolLimit::TotalTables => "tables alive at once",
            PoolLimit::TotalCoreInstances => "instances alive at once",
            PoolLimit::MaxMemorySize => "bytes in one linear memory",
            PoolLimit::TableElements => "elements in one table",
            PoolLimit::MaxCoreInstanceSize => "bytes of one instance's VMContext",
            PoolLimit::MaxMemoriesPerModule => "memories defined by one module",
            PoolLimit::MaxTablesPerModule => "tables defined by one module",
        }
    }
}

/// The pooling allocator refused an allocation.
#[derive(Debug, thiserror::Error)]
#[error(
    "pooling allocator limit reached: {wanted} {what} needed, the limit is {value} \
     (`-O {option}=N`, `PoolingAllocationConfig`)",
    what = limit.what(),
    option = limit.option()
)]
pub struct PoolError {
    /// Which limit.
    pub limit: PoolLimit,
    /// Its configured value.
    pub value: u64,
    /// What the allocation needed.
    pub wanted: u64,
}

/// Why an import could not be satisfied (the spec's "unlinkable").
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// No definition for the import.
    #[error("unknown import: {module}::{name}")]
    UnknownImport {
        /// Import module name.
        module: Box<str>,
        /// Import field name.
        name: Box<str>,
    },
    /// A definition exists but its type does not match.
    #[error("incompatible import type for {module}::{name}: {reason}")]
    IncompatibleImportType {
        /// Import module name.
        module: Box<str>,
        /// Import field name.
        name: Box<str>,
        /// What differs.
        reason: Box<str>,
    },
    /// A component import the linker does not define, in wasmtime's words:
    /// the causes, outermost first (`component imports instance `…`, but a
    /// matching implementation was not found in the linker`, then one line
    /// per level down to what is missing), one per line.
    #[error("{}", .causes.join("\n"))]
    ComponentImport {
        /// The causes, outermost first.
        causes: Box<[Box<str>]>,
    },
    /// Wrong number of imports passed to `Instance::new`.
    #[error("expected {expected} imports, got {got}")]
    ImportCount {
        /// What the module declares.
        expected: usize,
        /// What was passed.
        got: usize,
    },
    /// An item from another store.
    #[error("object used with the wrong store")]
    WrongStore,
    /// A linker name defined twice.
    #[error("duplicate definition of {module}::{name}")]
    Duplicate {
        /// Module name.
        module: Box<str>,
        /// Field name.
        name: Box<str>,
    },
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_size() {
        assert!(
            size_of::<super::Error>() <= 16,
            "{}",
            size_of::<super::Error>()
        );
    }
}
