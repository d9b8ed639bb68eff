//! What differs between operating systems on the trap path: where a signal's
//! `ucontext` keeps the registers the handler reads (pc, sp, fp) and writes
//! (to send the coroutine to its exit). One small file per OS; the handler
//! itself (`signals.rs`) is written once for every Unix.
//!
//! Linux and macOS both deliver guest faults as signals (SIGSEGV or SIGBUS
//! for the guard region, SIGILL for Cranelift's trap instructions, SIGFPE
//! for x86-64 division), so both use the same handler; see
//! `docs/design/platforms.md` for why macOS does not use Mach exception
//! ports.

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod linux;
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
pub(crate) use linux::{SUPPORTED, redirect, registers};

#[cfg(all(
    target_os = "macos",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod macos;
#[cfg(all(
    target_os = "macos",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
pub(crate) use macos::{SUPPORTED, redirect, registers};

#[cfg(not(all(
    any(target_os = "linux", target_os = "macos"),
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
mod unsupported;
#[cfg(not(all(
    any(target_os = "linux", target_os = "macos"),
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
pub(crate) use unsupported::{SUPPORTED, redirect, registers};

/// The registers the handler reads from a faulting context.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Registers {
    /// The faulting instruction.
    pub pc: usize,
    /// The stack pointer.
    pub sp: usize,
    /// The frame pointer (`rbp`, `x29`).
    pub fp: usize,
}
