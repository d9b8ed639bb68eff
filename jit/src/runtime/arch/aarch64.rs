//! AArch64: the throw libcall's stub, the jump to a landing pad, and
//! cleaning the data cache and invalidating the instruction cache over new
//! code.
//!
//! Pointer authentication is off: Cranelift signs return addresses only
//! with `sign_return_address`, which the engine never sets, so the `lr`
//! values the frame walkers read are plain addresses. (macOS arm64
//! processes, unlike arm64e, do not sign them either.)

use super::Resume;
use crate::runtime::exception::{ExnObject, throw_impl};
use crate::runtime::store::StoreOpaque;

/// The throw libcall: passes its caller's return address (`x30`, the link
/// register), frame pointer (`x29`) and stack pointer at the call on to
/// [`throw_impl`], whose own return goes straight back to compiled code.
///
/// # Safety
/// As [`throw_impl`]; called only from compiled code, which keeps frame
/// pointers.
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn throw_stub(_store: *mut StoreOpaque, _exn: *mut ExnObject) {
    core::arch::naked_asm!(
        "mov x2, x30",
        "mov x3, x29",
        "mov x4, sp",
        "b {imp}",
        imp = sym throw_impl,
    )
}

/// Jump to a landing pad with `exn` in the first exception payload register
/// (`x0`).
///
/// # Safety
/// `target` is a landing pad of a live frame of the current stack, with
/// that frame's stack and frame pointers; every frame below it is
/// abandoned, so none may own anything.
pub(crate) unsafe fn resume(target: Resume, exn: *mut ExnObject) -> ! {
    // SAFETY: per contract; Cranelift's landing pads expect the payload in
    // x0 and restore everything else from their frame.
    unsafe {
        core::arch::asm!(
            "mov sp, {sp}",
            "mov x29, {fp}",
            "br {pc}",
            sp = in(reg) target.sp,
            fp = in(reg) target.fp,
            pc = in(reg) target.pc,
            in("x0") exn,
            options(noreturn),
        )
    }
}

/// Make code written to `[start, start + len)` visible to instruction
/// fetch. AArch64 instruction caches are not coherent with data writes:
/// clean each data cache line to the point of unification, invalidate each
/// instruction cache line, then wait for both (`dsb ish`) and resynchronise
/// this core's fetch (`isb`). Other cores pick the new code up at their
/// next context synchronisation (every entry into wasm goes through a
/// coroutine switch and a lock, and fresh code lives in a fresh mapping).
///
/// macOS exports the same as `sys_icache_invalidate`; the instructions
/// are allowed at EL0 on both systems (Linux sets `SCTLR_EL1.UCI`, and
/// `CTR_EL0` is readable), so one implementation serves both.
pub(crate) fn flush_icache(start: *const u8, len: usize) {
    if len == 0 {
        return;
    }
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effect and is permitted at EL0.
    unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    // Line sizes are log2 of words: DminLine in bits 19:16, IminLine in 3:0.
    let dline = 4usize << ((ctr >> 16) & 0xf);
    let iline = 4usize << (ctr & 0xf);
    let begin = start as usize;
    let end = begin + len;
    let mut at = begin & !(dline - 1);
    while at < end {
        // SAFETY: cleaning a cache line by address changes no memory
        // contents; `at` is within (or line-aligned just below) our own
        // mapping of new code.
        unsafe { core::arch::asm!("dc cvau, {}", in(reg) at, options(nostack)) };
        at += dline;
    }
    // SAFETY: a barrier; no memory contents change.
    unsafe { core::arch::asm!("dsb ish", options(nostack)) };
    let mut at = begin & !(iline - 1);
    while at < end {
        // SAFETY: invalidating an instruction cache line by address changes
        // no memory contents.
        unsafe { core::arch::asm!("ic ivau, {}", in(reg) at, options(nostack)) };
        at += iline;
    }
    // SAFETY: barriers; no memory contents change.
    unsafe { core::arch::asm!("dsb ish", "isb", options(nostack)) };
}
