//! `args_*`, `environ_*`, `proc_exit`, `proc_raise`, `sched_yield`.

use crate::ctx::WasiCtx;
use crate::error::{Errno, HostError, TrapReason, in_result};
use crate::guest_buf::GuestMem;

fn write_strings(
    mem: &mut GuestMem<'_>,
    items: &[Vec<u8>],
    ptrs: u32,
    buf: u32,
) -> Result<(), HostError> {
    let mut at = buf;
    for (i, s) in items.iter().enumerate() {
        mem.write_u32("argv", ptrs + 4 * i as u32, at)?;
        mem.write_bytes("argv_buf", at, s)?;
        mem.write_u8("argv_buf", at + s.len() as u32, 0)?;
        at += s.len() as u32 + 1;
    }
    Ok(())
}

fn write_sizes(
    mem: &mut GuestMem<'_>,
    items: &[Vec<u8>],
    count: u32,
    size: u32,
) -> Result<(), HostError> {
    let total: usize = items.iter().map(|s| s.len() + 1).sum();
    mem.write_u32("count", count, items.len() as u32)
        .map_err(in_result("write size"))?;
    let total = u32::try_from(total).map_err(|_| Errno::Overflow)?;
    mem.write_u32("buf_size", size, total)
        .map_err(in_result("write size"))
}

/// `args_get`.
///
/// # Errors
///
/// A trap when the guest's buffers are out of bounds.
pub fn args_get(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    argv: u32,
    buf: u32,
) -> Result<(), HostError> {
    write_strings(mem, &cx.args, argv, buf)
}

/// `args_sizes_get`.
///
/// # Errors
///
/// A trap when the guest's pointers are out of bounds.
pub fn args_sizes_get(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    argc: u32,
    size: u32,
) -> Result<(), HostError> {
    write_sizes(mem, &cx.args, argc, size)
}

/// `environ_get`.
///
/// # Errors
///
/// A trap when the guest's buffers are out of bounds.
pub fn environ_get(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    env: u32,
    buf: u32,
) -> Result<(), HostError> {
    write_strings(mem, &cx.env, env, buf)
}

/// `environ_sizes_get`.
///
/// # Errors
///
/// A trap when the guest's pointers are out of bounds.
pub fn environ_sizes_get(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    count: u32,
    size: u32,
) -> Result<(), HostError> {
    write_sizes(mem, &cx.env, count, size)
}

/// `proc_exit`: unwinds the guest with its exit status. As wasmtime, a
/// status outside `0..126` is not an exit but a failure of the run (the CLI
/// reports it and exits with 1), so 256 never passes for success.
///
/// # Errors
///
/// Always: the exit trap, or [`TrapReason::InvalidExitStatus`].
pub fn proc_exit(_cx: &mut WasiCtx, code: u32) -> Result<(), HostError> {
    if code >= 126 {
        return Err(TrapReason::InvalidExitStatus(code).into());
    }
    Err(TrapReason::Exit(code as i32).into())
}

/// `proc_raise`: unsupported (as wasmtime); returns [`Errno::Notsup`].
///
/// # Errors
///
/// Always [`Errno::Notsup`].
pub fn proc_raise(_cx: &mut WasiCtx, _sig: u8) -> Result<(), HostError> {
    Err(Errno::Notsup.into())
}

/// `sched_yield`.
///
/// # Errors
///
/// Never.
pub fn sched_yield(_cx: &mut WasiCtx) -> Result<(), HostError> {
    std::thread::yield_now();
    Ok(())
}
