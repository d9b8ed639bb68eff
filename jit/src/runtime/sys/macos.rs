//! macOS: the general registers of a signal's `ucontext_t`, which points at
//! a `__darwin_mcontext64` whose thread state `__ss` names each register.
//!
//! Compile-checked in CI for `x86_64-apple-darwin` and
//! `aarch64-apple-darwin`; no Mac runs it there.

use corosensei::trap::TrapHandlerRegs;

use super::Registers;

/// Traps are handled on this OS for both architectures.
pub(crate) const SUPPORTED: Result<(), &str> = Ok(());

/// The thread state of a signal context.
///
/// # Safety
/// `uc` is the `ucontext_t` the kernel passed to an `SA_SIGINFO` handler;
/// the reference is used only within the handler.
unsafe fn thread_state<'a>(uc: *mut libc::c_void) -> &'a mut MachineThreadState {
    // SAFETY: per contract, a valid ucontext.
    let mcontext = unsafe { (*uc.cast::<libc::ucontext_t>()).uc_mcontext };
    // SAFETY: `uc_mcontext` points at the machine context the kernel saved
    // for this signal, valid until the handler returns.
    unsafe { &mut (*mcontext).__ss }
}

#[cfg(target_arch = "x86_64")]
type MachineThreadState = libc::__darwin_x86_thread_state64;

#[cfg(target_arch = "aarch64")]
type MachineThreadState = libc::__darwin_arm_thread_state64;

/// The pc, sp and fp of the interrupted code.
///
/// # Safety
/// `uc` is the `ucontext_t` the kernel passed to an `SA_SIGINFO` handler.
#[cfg(target_arch = "x86_64")]
pub(crate) unsafe fn registers(uc: *mut libc::c_void) -> Registers {
    // SAFETY: per contract.
    let ss = unsafe { thread_state(uc) };
    Registers {
        pc: ss.__rip as usize,
        sp: ss.__rsp as usize,
        fp: ss.__rbp as usize,
    }
}

/// Resume the interrupted thread with corosensei's trap-handler registers.
///
/// # Safety
/// As [`registers`]; the values come from `setup_trap_handler`.
#[cfg(target_arch = "x86_64")]
pub(crate) unsafe fn redirect(uc: *mut libc::c_void, regs: &TrapHandlerRegs) {
    // SAFETY: per contract.
    let ss = unsafe { thread_state(uc) };
    ss.__rip = regs.rip;
    ss.__rsp = regs.rsp;
    ss.__rbp = regs.rbp;
    ss.__rdi = regs.rdi;
    ss.__rsi = regs.rsi;
}

/// The pc, sp and fp of the interrupted code.
///
/// # Safety
/// `uc` is the `ucontext_t` the kernel passed to an `SA_SIGINFO` handler.
#[cfg(target_arch = "aarch64")]
pub(crate) unsafe fn registers(uc: *mut libc::c_void) -> Registers {
    // SAFETY: per contract.
    let ss = unsafe { thread_state(uc) };
    Registers {
        pc: ss.__pc as usize,
        sp: ss.__sp as usize,
        fp: ss.__fp as usize,
    }
}

/// Resume the interrupted thread with corosensei's trap-handler registers.
///
/// # Safety
/// As [`registers`]; the values come from `setup_trap_handler`.
#[cfg(target_arch = "aarch64")]
pub(crate) unsafe fn redirect(uc: *mut libc::c_void, regs: &TrapHandlerRegs) {
    // SAFETY: per contract.
    let ss = unsafe { thread_state(uc) };
    ss.__pc = regs.pc;
    ss.__sp = regs.sp;
    ss.__x[0] = regs.x0;
    ss.__x[1] = regs.x1;
    ss.__fp = regs.x29;
    ss.__lr = regs.lr;
}
