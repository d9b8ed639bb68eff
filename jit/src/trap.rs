//! Traps as data: the [`TrapCode`] a guest stopped with, its wasm backtrace,
//! and the mapping from Cranelift's trap codes to ours.

use std::fmt;

/// Why the guest stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrapCode {
    /// `unreachable` executed.
    Unreachable,
    /// Load/store/bulk op past the end of a memory.
    MemoryOutOfBounds,
    /// `table.get`/`set`/`init`/`copy`/`fill` past the end of a table.
    TableOutOfBounds,
    /// `call_indirect` index past the end of the table.
    UndefinedElement,
    /// `call_indirect` through a null entry.
    UninitializedElement,
    /// `call_indirect` signature mismatch.
    IndirectCallTypeMismatch,
    /// Integer division or remainder by zero.
    IntegerDivideByZero,
    /// `INT_MIN / -1`.
    IntegerOverflow,
    /// Float to int conversion of NaN or out-of-range value.
    BadConversionToInteger,
    /// Deep recursion.
    StackOverflow,
    /// The epoch deadline passed.
    Interrupt,
    /// A null reference was dereferenced (`ref.as_non_null`, a null
    /// `exnref` thrown).
    NullReference,
    /// `call_ref` or `return_call_ref` of a null function reference.
    NullFunctionReference,
    /// A host function trapped with this message.
    Host(Box<str>),
    /// A host function asked to exit with this status (WASI `proc_exit`).
    Exit(i32),
    /// A wasm exception no handler caught (or, returned by a host function,
    /// an exception to throw into the calling wasm code).
    Exception(Box<crate::exception::ThrownException>),
}

impl TrapCode {
    /// The spec's message for this trap.
    pub fn message(&self) -> &str {
        match self {
            TrapCode::Unreachable => "unreachable",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::UndefinedElement => "undefined element",
            TrapCode::UninitializedElement => "uninitialized element",
            TrapCode::IndirectCallTypeMismatch => "indirect call type mismatch",
            TrapCode::IntegerDivideByZero => "integer divide by zero",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::Interrupt => "interrupt",
            TrapCode::NullReference => "null reference",
            TrapCode::NullFunctionReference => "null function reference",
            TrapCode::Host(m) => m,
            TrapCode::Exit(_) => "exit",
            TrapCode::Exception(_) => "uncaught exception",
        }
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrapCode::Exit(c) => write!(f, "exit with status {c}"),
            TrapCode::Exception(e) => match e.tag_name() {
                Some(name) => write!(f, "uncaught exception of tag `{name}`"),
                None => write!(f, "uncaught exception of tag {}", e.tag().index),
            },
            other => f.write_str(other.message()),
        }
    }
}

/// One frame of a wasm backtrace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    /// Function index in its module.
    pub func_index: u32,
    /// Name from the name section, when present.
    pub func_name: Option<Box<str>>,
    /// Offset of the instruction from the start of the function's code.
    pub code_offset: u32,
    /// Byte offset in the module binary of the wasm operator the frame was
    /// executing (for outer frames, the call), when known.
    pub module_offset: Option<u32>,
    /// The module's name from its name section.
    pub module_name: Option<Box<str>>,
}

/// A guest trap: the code and the wasm backtrace, innermost frame first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    /// Why the guest stopped.
    pub code: TrapCode,
    /// Wasm frames, innermost first.
    pub backtrace: Vec<FrameInfo>,
}

impl Trap {
    /// A trap without backtrace.
    pub fn new(code: TrapCode) -> Self {
        Trap {
            code,
            backtrace: Vec::new(),
        }
    }

    /// A host function traps with this message.
    pub fn host(message: impl Into<String>) -> Self {
        Trap::new(TrapCode::Host(message.into().into_boxed_str()))
    }

    /// A host function asks the guest to exit; surfaces as `Error::Exit`.
    pub fn exit(code: i32) -> Self {
        Trap::new(TrapCode::Exit(code))
    }

    /// A host function throws `exception` into the wasm code that called
    /// it (return it as the function's error).
    pub fn throw(exception: crate::exception::ThrownException) -> Self {
        Trap::new(TrapCode::Exception(Box::new(exception)))
    }

    /// The exception, when this is an uncaught wasm exception.
    pub fn exception(&self) -> Option<&crate::exception::ThrownException> {
        match &self.code {
            TrapCode::Exception(e) => Some(e),
            _ => None,
        }
    }

    /// The trap code.
    pub fn code(&self) -> &TrapCode {
        &self.code
    }

    /// The exit status when this is an exit request.
    pub fn exit_code(&self) -> Option<i32> {
        match self.code {
            TrapCode::Exit(c) => Some(c),
            _ => None,
        }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        for (i, frame) in self.backtrace.iter().enumerate() {
            write!(f, "\n  {i}: func[{}]", frame.func_index)?;
            if let Some(name) = &frame.func_name {
                write!(f, " <{name}>")?;
            }
            write!(f, " +{:#x}", frame.code_offset)?;
        }
        Ok(())
    }
}

impl std::error::Error for Trap {}

/// The user trap code of a host function that returned an error; the error
/// waits in the store. The translator's codes (`translate::trap_codes`) use
/// small numbers; runtime-only codes start at 100.
pub(crate) const HOST_TRAP: cranelift_codegen::ir::TrapCode =
    cranelift_codegen::ir::TrapCode::unwrap_user(100);

/// Our trap code for a Cranelift trap code.
pub(crate) fn from_ir(code: cranelift_codegen::ir::TrapCode) -> Option<TrapCode> {
    use crate::translate::trap_codes as tc;
    Some(match code {
        tc::STACK_OVERFLOW => TrapCode::StackOverflow,
        tc::HEAP_OUT_OF_BOUNDS => TrapCode::MemoryOutOfBounds,
        tc::INTEGER_OVERFLOW => TrapCode::IntegerOverflow,
        tc::INTEGER_DIVISION_BY_ZERO => TrapCode::IntegerDivideByZero,
        tc::BAD_CONVERSION_TO_INTEGER => TrapCode::BadConversionToInteger,
        tc::UNREACHABLE => TrapCode::Unreachable,
        tc::INDIRECT_CALL_TO_NULL => TrapCode::UninitializedElement,
        tc::BAD_SIGNATURE => TrapCode::IndirectCallTypeMismatch,
        tc::UNDEFINED_ELEMENT => TrapCode::UndefinedElement,
        tc::TABLE_OUT_OF_BOUNDS => TrapCode::TableOutOfBounds,
        tc::INTERRUPT => TrapCode::Interrupt,
        tc::NULL_REFERENCE => TrapCode::NullReference,
        tc::NULL_FUNCTION_REFERENCE => TrapCode::NullFunctionReference,
        HOST_TRAP => TrapCode::Host("host function trapped".into()),
        _ => return None,
    })
}

/// A module's trap table: code offsets sorted ascending.
#[derive(Debug, Default)]
pub(crate) struct TrapTable {
    entries: Vec<(u32, cranelift_codegen::ir::TrapCode)>,
}

impl TrapTable {
    pub(crate) fn push(&mut self, offset: u32, code: cranelift_codegen::ir::TrapCode) {
        self.entries.push((offset, code));
    }

    pub(crate) fn finish(&mut self) {
        self.entries.sort_by_key(|e| e.0);
    }

    /// The Cranelift trap code recorded at exactly `offset`.
    pub(crate) fn lookup(&self, offset: u32) -> Option<cranelift_codegen::ir::TrapCode> {
        let i = self.entries.binary_search_by_key(&offset, |e| e.0).ok()?;
        Some(self.entries[i].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::trap_codes as tc;

    #[test]
    fn every_translator_code_maps_to_its_spec_message() {
        for code in tc::ALL {
            let ours = from_ir(code).expect("every translator code is known");
            assert_eq!(Some(ours.message()), tc::message(code), "{code:?}");
        }
        assert!(matches!(from_ir(HOST_TRAP), Some(TrapCode::Host(_))));
    }

    #[test]
    fn trap_table_finds_exact_offsets_only() {
        let mut t = TrapTable::default();
        t.push(40, tc::UNREACHABLE);
        t.push(8, tc::HEAP_OUT_OF_BOUNDS);
        t.finish();
        assert_eq!(t.lookup(8), Some(tc::HEAP_OUT_OF_BOUNDS));
        assert_eq!(t.lookup(40), Some(tc::UNREACHABLE));
        assert_eq!(t.lookup(9), None);
    }
}
