//! x86-64: the throw libcall's stub, the jump to a landing pad, and the
//! (coherent) instruction cache.

use super::Resume;
use crate::runtime::exception::{ExnObject, throw_impl};
use crate::runtime::store::StoreOpaque;

/// The throw libcall: passes its caller's return address (on top of the
/// stack), frame pointer (`rbp`, which the stub leaves alone) and stack
/// pointer at the call on to [`throw_impl`].
///
/// # Safety
/// As [`throw_impl`]; called only from compiled code, which keeps frame
/// pointers.
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn throw_stub(_store: *mut StoreOpaque, _exn: *mut ExnObject) {
    core::arch::naked_asm!(
        "mov rdx, [rsp]",
        "mov rcx, rbp",
        "lea r8, [rsp + 8]",
        "jmp {imp}",
        imp = sym throw_impl,
    )
}

/// Jump to a landing pad with `exn` in the first exception payload register
/// (`rax`).
///
/// # Safety
/// `target` is a landing pad of a live frame of the current stack, with
/// that frame's stack and frame pointers; every frame below it is
/// abandoned, so none may own anything.
pub(crate) unsafe fn resume(target: Resume, exn: *mut ExnObject) -> ! {
    // SAFETY: per contract; Cranelift's landing pads expect the payload in
    // rax and restore everything else from their frame.
    unsafe {
        core::arch::asm!(
            "mov rsp, {sp}",
            "mov rbp, {fp}",
            "jmp {pc}",
            sp = in(reg) target.sp,
            fp = in(reg) target.fp,
            pc = in(reg) target.pc,
            in("rax") exn,
            options(noreturn),
        )
    }
}

/// Make code written to `[start, start + len)` visible to instruction
/// fetch: nothing to do, x86-64 keeps its instruction cache coherent.
pub(crate) fn flush_icache(_start: *const u8, _len: usize) {}
