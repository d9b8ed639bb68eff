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
    /// An atomic access whose effective address is not a multiple of its
    /// size ("unaligned atomic").
    HeapMisaligned,
    /// `memory.atomic.wait32`/`wait64` on a memory that is not shared
    /// ("expected shared memory"; wasmtime says "atomic wait on non-shared
    /// memory").
    AtomicWaitNonSharedMemory,
    /// `memory.atomic.wait32`/`wait64` with an infinite timeout on a value
    /// that matches. A store runs one thread, so nothing could ever notify
    /// the waiter: the engine traps instead of hanging.
    AtomicWaitForever,
    /// A GC array index or range past the array's end ("out of bounds
    /// array access").
    ArrayOutOfBounds,
    /// `ref.cast` of a value not of the target type ("cast failure").
    CastFailure,
    /// A struct or array allocation past the store's GC heap limit
    /// ([`Config::max_gc_heap_bytes`](crate::Config::max_gc_heap_bytes)).
    GcHeapOutOfMemory,
    /// The async call this code ran under was dropped while it waited: a
    /// wait inside it ([`AsyncCx::block_on`](crate::AsyncCx::block_on), an
    /// async host function, an epoch yield) returns this so that the guest
    /// unwinds and the call can finish.
    Cancelled,
    /// A host function trapped with this message.
    Host(Box<str>),
    /// A host function asked to exit with this status (WASI `proc_exit`).
    Exit(i32),
    /// A wasm exception no handler caught (or, returned by a host function,
    /// an exception to throw into the calling wasm code).
    Exception(Box<crate::runtime::exception::ThrownException>),
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
            TrapCode::HeapMisaligned => "unaligned atomic",
            TrapCode::AtomicWaitNonSharedMemory => "expected shared memory",
            TrapCode::AtomicWaitForever => {
                crate::compile::translate::trap_codes::ATOMIC_WAIT_FOREVER_MESSAGE
            }
            TrapCode::ArrayOutOfBounds => "out of bounds array access",
            TrapCode::CastFailure => "cast failure",
            TrapCode::GcHeapOutOfMemory => "GC heap out of memory",
            TrapCode::Cancelled => "async call cancelled",
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

/// Where in which linear memory an out-of-bounds access faulted, as
/// wasmtime reports it (`memory fault at wasm address 0x… in linear memory
/// of size 0x…`). Only accesses that fault in a memory's reservation or
/// guard carry one; explicitly checked accesses (memory64, bulk operations)
/// do not, as in wasmtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WasmFault {
    /// The memory's size in bytes when the access faulted.
    pub memory_size: u64,
    /// The faulting address relative to the memory's base: the effective
    /// address (index plus static offset) of the access, or for an access
    /// that straddles the end, its first inaccessible byte.
    pub wasm_address: u64,
}

impl fmt::Display for WasmFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "memory fault at wasm address {:#x} in linear memory of size {:#x}",
            self.wasm_address, self.memory_size
        )
    }
}

/// A guest trap: the code and the wasm backtrace, innermost frame first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    /// Why the guest stopped.
    pub code: TrapCode,
    /// Wasm frames, innermost first.
    pub backtrace: Vec<FrameInfo>,
    /// For an access that faulted in linear memory, where (boxed: traps
    /// travel in host functions' `Result`s and should stay small).
    pub fault: Option<Box<WasmFault>>,
}

impl Trap {
    /// A trap without backtrace.
    pub fn new(code: TrapCode) -> Self {
        Trap {
            code,
            backtrace: Vec::new(),
            fault: None,
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
    pub fn throw(exception: crate::runtime::exception::ThrownException) -> Self {
        Trap::new(TrapCode::Exception(Box::new(exception)))
    }

    /// The exception, when this is an uncaught wasm exception.
    pub fn exception(&self) -> Option<&crate::runtime::exception::ThrownException> {
        match &self.code {
            TrapCode::Exception(e) => Some(e),
            _ => None,
        }
    }

    /// The trap code.
    pub fn code(&self) -> &TrapCode {
        &self.code
    }

    /// Where a memory access faulted, for an out-of-bounds access caught by
    /// the guard pages.
    pub fn fault(&self) -> Option<&WasmFault> {
        self.fault.as_deref()
    }

    /// The wasm backtrace formatted as wasmtime formats its `WasmBacktrace`
    /// (names demangled).
    pub fn wasm_backtrace(&self) -> WasmBacktrace<'_> {
        WasmBacktrace(&self.backtrace)
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
        if let Some(fault) = &self.fault {
            write!(f, " ({fault})")?;
        }
        for (i, frame) in self.backtrace.iter().enumerate() {
            write!(f, "\n  {i}: func[{}]", frame.func_index)?;
            if let Some(name) = &frame.func_name {
                f.write_str(" <")?;
                demangle_function_name(f, name)?;
                f.write_str(">")?;
            }
            write!(f, " +{:#x}", frame.code_offset)?;
        }
        Ok(())
    }
}

/// Frames wasmtime keeps of a backtrace by default
/// (`Config::wasm_backtrace_max_frames`), innermost first.
pub const WASMTIME_BACKTRACE_MAX_FRAMES: usize = 20;

/// A wasm backtrace in wasmtime's format (`error while executing at wasm
/// backtrace:` then `  {i:>3}: {module offset:#8x} - {module}!{function}`
/// per frame, innermost first, at most [`WASMTIME_BACKTRACE_MAX_FRAMES`]
/// of them), for reports that must read like `wasmtime run`'s. From
/// [`Trap::wasm_backtrace`].
#[derive(Debug, Clone, Copy)]
pub struct WasmBacktrace<'a>(&'a [FrameInfo]);

impl fmt::Display for WasmBacktrace<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("error while executing at wasm backtrace:")?;
        let frames = self.0.iter().take(WASMTIME_BACKTRACE_MAX_FRAMES);
        for (i, frame) in frames.enumerate() {
            write!(f, "\n  {i:>3}: ")?;
            if let Some(offset) = frame.module_offset {
                write!(f, "{offset:#8x} - ")?;
            }
            let module = frame.module_name.as_deref().unwrap_or("<unknown>");
            write!(f, "{module}!")?;
            match &frame.func_name {
                Some(name) => demangle_function_name(f, name)?,
                None => write!(f, "<wasm function {}>", frame.func_index)?,
            }
        }
        Ok(())
    }
}

/// Writes a name-section function name as wasmtime shows it: demangled as a
/// Rust symbol (legacy or v0, hash kept), else as an Itanium C++ symbol,
/// else as is. `cpp_demangle` accepts more than `_Z` names (`f` reads as
/// the type `float`), and so does wasmtime's output: this mirrors it.
///
/// # Errors
///
/// Only those of `out`.
pub fn demangle_function_name(out: &mut impl fmt::Write, name: &str) -> fmt::Result {
    if let Ok(demangled) = rustc_demangle::try_demangle(name) {
        return write!(out, "{demangled}");
    }
    if let Ok(symbol) = cpp_demangle::Symbol::new(name)
        && let Ok(demangled) = symbol.demangle()
    {
        return out.write_str(&demangled);
    }
    out.write_str(name)
}

impl std::error::Error for Trap {}

/// The user trap code of a host function that returned an error; the error
/// waits in the store. The translator's codes (`translate::trap_codes`) use
/// small numbers; runtime-only codes start at 100.
pub(crate) const HOST_TRAP: cranelift_codegen::ir::TrapCode =
    cranelift_codegen::ir::TrapCode::unwrap_user(100);

/// Our trap code for a Cranelift trap code.
pub(crate) fn from_ir(code: cranelift_codegen::ir::TrapCode) -> Option<TrapCode> {
    use crate::compile::translate::trap_codes as tc;
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
        tc::HEAP_MISALIGNED => TrapCode::HeapMisaligned,
        tc::ATOMIC_WAIT_NON_SHARED_MEMORY => TrapCode::AtomicWaitNonSharedMemory,
        tc::ATOMIC_WAIT_FOREVER => TrapCode::AtomicWaitForever,
        tc::ARRAY_OUT_OF_BOUNDS => TrapCode::ArrayOutOfBounds,
        tc::CAST_FAILURE => TrapCode::CastFailure,
        tc::GC_HEAP_OUT_OF_MEMORY => TrapCode::GcHeapOutOfMemory,
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
    use crate::compile::translate::trap_codes as tc;

    #[test]
    fn every_translator_code_maps_to_its_spec_message() {
        for code in tc::ALL {
            let ours = from_ir(code).expect("every translator code is known");
            assert_eq!(Some(ours.message()), tc::message(code), "{code:?}");
        }
        assert!(matches!(from_ir(HOST_TRAP), Some(TrapCode::Host(_))));
    }

    fn demangled(name: &str) -> String {
        let mut out = String::new();
        demangle_function_name(&mut out, name).expect("writes to a String");
        out
    }

    #[test]
    fn names_are_demangled_as_wasmtime_shows_them() {
        // Rust legacy and v0 symbols, hashes kept.
        assert_eq!(
            demangled("_ZN5panic4main17had55141b938908bdE"),
            "panic::main::had55141b938908bd"
        );
        assert_eq!(
            demangled("_RNvNtCset5xJoy1xWQ_3std7process5abort"),
            "std[a88812da5ee6ad9e]::process::abort"
        );
        // Itanium C++.
        assert_eq!(demangled("_Z3fooi"), "foo(int)");
        assert_eq!(
            demangled("_ZN5space3fooEibc"),
            "space::foo(int, bool, char)"
        );
        // cpp_demangle reads a lone builtin-type letter as that type, and
        // wasmtime prints what it returns.
        assert_eq!(demangled("f"), "float");
        assert_eq!(demangled("g"), "__float128");
        // Anything else stays as it is.
        for plain in ["_start", "abort", "__main_void", "main", "$weird name"] {
            assert_eq!(demangled(plain), plain);
        }
    }

    #[test]
    fn the_wasm_backtrace_reads_like_wasmtimes() {
        let frame = |func_index,
                     func_name: Option<&str>,
                     module_offset,
                     module_name: Option<&str>| FrameInfo {
            func_index,
            func_name: func_name.map(Into::into),
            code_offset: 0,
            module_offset,
            module_name: module_name.map(Into::into),
        };
        let trap = Trap {
            code: TrapCode::Unreachable,
            backtrace: vec![
                frame(3, Some("_Z3fooi"), Some(0x2c), Some("m")),
                frame(7, None, Some(0x1234), None),
                frame(8, Some("plain"), None, None),
            ],
            fault: None,
        };
        assert_eq!(
            trap.wasm_backtrace().to_string(),
            "error while executing at wasm backtrace:\n    \
             0:     0x2c - m!foo(int)\n    \
             1:   0x1234 - <unknown>!<wasm function 7>\n    \
             2: <unknown>!plain"
        );
        assert_eq!(
            trap.to_string(),
            "unreachable\n  0: func[3] <foo(int)> +0x0\n  1: func[7] +0x0\n  2: func[8] <plain> +0x0"
        );
        let deep = Trap {
            code: TrapCode::StackOverflow,
            backtrace: vec![frame(0, None, Some(9), None); 64],
            fault: None,
        };
        let text = deep.wasm_backtrace().to_string();
        assert_eq!(text.lines().count(), 1 + WASMTIME_BACKTRACE_MAX_FRAMES);
        assert!(
            text.ends_with("   19:      0x9 - <unknown>!<wasm function 0>"),
            "{text}"
        );
    }

    #[test]
    fn a_memory_fault_reads_like_wasmtimes() {
        let fault = WasmFault {
            memory_size: 0x10000,
            wasm_address: 0x1_0000_0004,
        };
        assert_eq!(
            fault.to_string(),
            "memory fault at wasm address 0x100000004 in linear memory of size 0x10000"
        );
        let mut trap = Trap::new(TrapCode::MemoryOutOfBounds);
        trap.fault = Some(Box::new(fault));
        assert_eq!(trap.fault(), Some(&fault));
        assert!(
            trap.to_string()
                .starts_with("out of bounds memory access (memory fault at")
        );
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
