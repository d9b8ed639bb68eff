//! `clock_res_get`, `clock_time_get`.

use rustix::time::ClockId;

use crate::ctx::WasiCtx;
use crate::error::{Errno, HostError, TrapReason, in_result};
use crate::guest_buf::GuestMem;
use crate::p1::types::clockid;

/// The host clock behind a WASI clock id.
///
/// # Errors
///
/// A trap for an unknown id (an invalid enum value, as wasmtime).
pub fn host_clock(id: u32) -> Result<ClockId, HostError> {
    Ok(match id {
        clockid::REALTIME => ClockId::Realtime,
        clockid::MONOTONIC => ClockId::Monotonic,
        clockid::PROCESS_CPUTIME_ID => ClockId::ProcessCPUTime,
        clockid::THREAD_CPUTIME_ID => ClockId::ThreadCPUTime,
        _ => {
            return Err(TrapReason::invalid_enum("Clockid").into());
        }
    })
}

/// Nanoseconds of a host clock now.
///
/// # Errors
///
/// A trap for an unknown id.
pub fn now(id: u32) -> Result<u64, HostError> {
    let t = rustix::time::clock_gettime(host_clock(id)?);
    Ok(u64::try_from(t.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(t.tv_nsec).unwrap_or(0)))
}

/// The CPU-time clocks are not offered to guests: wasmtime answers them
/// with `EBADF` (it has no portable per-instance CPU clock), and a program
/// must see the same answer here.
fn guest_visible(id: u32) -> Result<(), HostError> {
    if id == clockid::PROCESS_CPUTIME_ID || id == clockid::THREAD_CPUTIME_ID {
        return Err(Errno::Badf.into());
    }
    Ok(())
}

/// `clock_res_get`.
///
/// # Errors
///
/// Errno for the guest ([`Errno::Badf`] for the CPU-time clocks), or a
/// trap.
pub fn clock_res_get(
    _cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    id: u32,
    out: u32,
) -> Result<(), HostError> {
    guest_visible(id)?;
    let t = rustix::time::clock_getres(host_clock(id)?);
    let ns = u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000
        + u64::try_from(t.tv_nsec).unwrap_or(0);
    mem.write_u64("resolution", out, ns.max(1))
        .map_err(in_result("write timestamp"))
}

/// `clock_time_get`.
///
/// # Errors
///
/// Errno for the guest ([`Errno::Badf`] for the CPU-time clocks), or a
/// trap.
pub fn clock_time_get(
    _cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    id: u32,
    _precision: u64,
    out: u32,
) -> Result<(), HostError> {
    guest_visible(id)?;
    mem.write_u64("time", out, now(id)?)
        .map_err(in_result("write timestamp"))
}
