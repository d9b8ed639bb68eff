//! Systems without trap handling: the handler is never installed, so no
//! guest code runs and these are never called.

use corosensei::trap::TrapHandlerRegs;

use super::Registers;

/// Traps are not handled here.
pub(crate) const SUPPORTED: Result<(), &str> =
    Err("trap handling is implemented for x86-64 and aarch64 Linux and macOS only");

/// Never called: the handler is not installed on this system.
///
/// # Safety
/// None needed; it reads nothing.
pub(crate) unsafe fn registers(_uc: *mut libc::c_void) -> Registers {
    Registers {
        pc: 0,
        sp: 0,
        fp: 0,
    }
}

/// Never called: the handler is not installed on this system.
///
/// # Safety
/// None needed; it writes nothing.
pub(crate) unsafe fn redirect(_uc: *mut libc::c_void, _regs: &TrapHandlerRegs) {}
