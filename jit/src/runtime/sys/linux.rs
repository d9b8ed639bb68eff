//! Linux: the general registers of a signal's `ucontext_t`
//! (`uc_mcontext.gregs` on x86-64, `uc_mcontext.{regs, sp, pc}` on
//! AArch64).

use corosensei::trap::TrapHandlerRegs;

use super::Registers;

/// Traps are handled on this OS for both architectures.
pub(crate) const SUPPORTED: Result<(), &str> = Ok(());

/// The pc, sp and fp of the interrupted code.
///
/// # Safety
/// `uc` is the `ucontext_t` the kernel passed to an `SA_SIGINFO` handler.
#[cfg(target_arch = "x86_64")]
pub(crate) unsafe fn registers(uc: *mut libc::c_void) -> Registers {
    // SAFETY: per contract, a valid ucontext for the duration of the handler.
    let gregs = unsafe { &(*uc.cast::<libc::ucontext_t>()).uc_mcontext.gregs };
    Registers {
        pc: gregs[libc::REG_RIP as usize] as usize,
        sp: gregs[libc::REG_RSP as usize] as usize,
        fp: gregs[libc::REG_RBP as usize] as usize,
    }
}

/// Resume the interrupted thread with corosensei's trap-handler registers.
///
/// # Safety
/// As [`registers`]; the values come from `setup_trap_handler`.
#[cfg(target_arch = "x86_64")]
pub(crate) unsafe fn redirect(uc: *mut libc::c_void, regs: &TrapHandlerRegs) {
    // SAFETY: per contract, a valid ucontext for the duration of the handler.
    let gregs = unsafe { &mut (*uc.cast::<libc::ucontext_t>()).uc_mcontext.gregs };
    gregs[libc::REG_RIP as usize] = regs.rip as i64;
    gregs[libc::REG_RSP as usize] = regs.rsp as i64;
    gregs[libc::REG_RBP as usize] = regs.rbp as i64;
    gregs[libc::REG_RDI as usize] = regs.rdi as i64;
    gregs[libc::REG_RSI as usize] = regs.rsi as i64;
}

/// The pc, sp and fp (`x29`) of the interrupted code.
///
/// # Safety
/// `uc` is the `ucontext_t` the kernel passed to an `SA_SIGINFO` handler.
#[cfg(target_arch = "aarch64")]
pub(crate) unsafe fn registers(uc: *mut libc::c_void) -> Registers {
    // SAFETY: per contract, a valid ucontext for the duration of the handler.
    let mc = unsafe { &(*uc.cast::<libc::ucontext_t>()).uc_mcontext };
    Registers {
        pc: mc.pc as usize,
        sp: mc.sp as usize,
        fp: mc.regs[29] as usize,
    }
}

/// Resume the interrupted thread with corosensei's trap-handler registers.
///
/// # Safety
/// As [`registers`]; the values come from `setup_trap_handler`.
#[cfg(target_arch = "aarch64")]
pub(crate) unsafe fn redirect(uc: *mut libc::c_void, regs: &TrapHandlerRegs) {
    // SAFETY: per contract, a valid ucontext for the duration of the handler.
    let mc = unsafe { &mut (*uc.cast::<libc::ucontext_t>()).uc_mcontext };
    mc.pc = regs.pc;
    mc.sp = regs.sp;
    mc.regs[0] = regs.x0;
    mc.regs[1] = regs.x1;
    mc.regs[29] = regs.x29;
    mc.regs[30] = regs.lr;
}
