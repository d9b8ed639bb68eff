//! The trap codes compiled code uses, defined once.
//!
//! Cranelift's reserved codes cover the faults its own instructions raise
//! (`sdiv`, `fcvt_to_sint`, stack-limit checks, heap accesses); wasm-specific
//! conditions use user codes. The runtime maps a trap record's code to a trap
//! with [`message`], which returns the spec's assertion text.

use cranelift_codegen::ir::TrapCode;

/// Call stack exhausted (the prologue's stack-limit check).
pub const STACK_OVERFLOW: TrapCode = TrapCode::STACK_OVERFLOW;
/// Out-of-bounds linear-memory access (guard-page fault or explicit check).
pub const HEAP_OUT_OF_BOUNDS: TrapCode = TrapCode::HEAP_OUT_OF_BOUNDS;
/// Signed division overflow (`INT_MIN / -1`) or a float-to-int conversion
/// out of range.
pub const INTEGER_OVERFLOW: TrapCode = TrapCode::INTEGER_OVERFLOW;
/// Integer division or remainder by zero.
pub const INTEGER_DIVISION_BY_ZERO: TrapCode = TrapCode::INTEGER_DIVISION_BY_ZERO;
/// Float-to-int conversion of a NaN.
pub const BAD_CONVERSION_TO_INTEGER: TrapCode = TrapCode::BAD_CONVERSION_TO_INTEGER;
/// The `unreachable` instruction.
pub const UNREACHABLE: TrapCode = TrapCode::unwrap_user(1);
/// `call_indirect` to a null table entry.
pub const INDIRECT_CALL_TO_NULL: TrapCode = TrapCode::unwrap_user(2);
/// `call_indirect` whose callee's type differs from the expected one.
pub const BAD_SIGNATURE: TrapCode = TrapCode::unwrap_user(3);
/// `call_indirect` with an index past the end of the table.
pub const UNDEFINED_ELEMENT: TrapCode = TrapCode::unwrap_user(4);
/// Table access (`table.get`/`set`/...) out of bounds.
pub const TABLE_OUT_OF_BOUNDS: TrapCode = TrapCode::unwrap_user(5);
/// The epoch deadline passed (interruption).
pub const INTERRUPT: TrapCode = TrapCode::unwrap_user(6);
/// A null reference was dereferenced.
pub const NULL_REFERENCE: TrapCode = TrapCode::unwrap_user(7);
/// `call_ref`/`return_call_ref` of a null function reference.
pub const NULL_FUNCTION_REFERENCE: TrapCode = TrapCode::unwrap_user(8);
/// An atomic access whose effective address is not a multiple of its size.
pub const HEAP_MISALIGNED: TrapCode = TrapCode::unwrap_user(9);
/// `memory.atomic.wait32`/`wait64` on a memory that is not shared.
pub const ATOMIC_WAIT_NON_SHARED_MEMORY: TrapCode = TrapCode::unwrap_user(10);
/// `memory.atomic.wait32`/`wait64` with an infinite (negative) timeout on a
/// value that matches: no other thread can notify, so it would never return.
pub const ATOMIC_WAIT_FOREVER: TrapCode = TrapCode::unwrap_user(11);

/// An array index (or range) past the end of a GC array.
pub const ARRAY_OUT_OF_BOUNDS: TrapCode = TrapCode::unwrap_user(12);
/// `ref.cast` of a value not of the target type.
pub const CAST_FAILURE: TrapCode = TrapCode::unwrap_user(13);
/// A GC allocation past the store's GC heap limit.
pub const GC_HEAP_OUT_OF_MEMORY: TrapCode = TrapCode::unwrap_user(14);

/// The message of [`ATOMIC_WAIT_FOREVER`]; the spec has no text for it (its
/// reference interpreter would block).
pub const ATOMIC_WAIT_FOREVER_MESSAGE: &str = "atomic wait with an infinite timeout would block forever: \
     no other thread can notify this store";

/// Every code above, for exhaustive mapping tests.
pub const ALL: [TrapCode; 19] = [
    STACK_OVERFLOW,
    HEAP_OUT_OF_BOUNDS,
    INTEGER_OVERFLOW,
    INTEGER_DIVISION_BY_ZERO,
    BAD_CONVERSION_TO_INTEGER,
    UNREACHABLE,
    INDIRECT_CALL_TO_NULL,
    BAD_SIGNATURE,
    UNDEFINED_ELEMENT,
    TABLE_OUT_OF_BOUNDS,
    INTERRUPT,
    NULL_REFERENCE,
    NULL_FUNCTION_REFERENCE,
    HEAP_MISALIGNED,
    ATOMIC_WAIT_NON_SHARED_MEMORY,
    ATOMIC_WAIT_FOREVER,
    ARRAY_OUT_OF_BOUNDS,
    CAST_FAILURE,
    GC_HEAP_OUT_OF_MEMORY,
];

/// The spec test suite's message for a trap code, or `None` for a code not
/// defined here.
pub fn message(code: TrapCode) -> Option<&'static str> {
    Some(match code {
        STACK_OVERFLOW => "call stack exhausted",
        HEAP_OUT_OF_BOUNDS => "out of bounds memory access",
        INTEGER_OVERFLOW => "integer overflow",
        INTEGER_DIVISION_BY_ZERO => "integer divide by zero",
        BAD_CONVERSION_TO_INTEGER => "invalid conversion to integer",
        UNREACHABLE => "unreachable",
        INDIRECT_CALL_TO_NULL => "uninitialized element",
        BAD_SIGNATURE => "indirect call type mismatch",
        UNDEFINED_ELEMENT => "undefined element",
        TABLE_OUT_OF_BOUNDS => "out of bounds table access",
        INTERRUPT => "interrupt",
        NULL_REFERENCE => "null reference",
        NULL_FUNCTION_REFERENCE => "null function reference",
        HEAP_MISALIGNED => "unaligned atomic",
        ATOMIC_WAIT_NON_SHARED_MEMORY => "expected shared memory",
        ATOMIC_WAIT_FOREVER => ATOMIC_WAIT_FOREVER_MESSAGE,
        ARRAY_OUT_OF_BOUNDS => "out of bounds array access",
        CAST_FAILURE => "cast failure",
        GC_HEAP_OUT_OF_MEMORY => "GC heap out of memory",
        _ => return None,
    })
}
