//! `wasi:clocks`: monotonic and wall clocks; timers are pollables the
//! reactor waits for with a timeout op.

use std::time::{Duration, Instant};

use ringwasm_jit::component::__internal::Trap;
use ringwasm_jit::component::Resource;

use crate::ctx::WasiCtx;
use crate::p2::bindings::wasi::clocks::{monotonic_clock, wall_clock};
use crate::p2::io::{Pollable, Readiness, table_trap};

/// Nanoseconds of the host's monotonic clock.
fn monotonic_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    u64::try_from(t.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(t.tv_nsec).unwrap_or(0))
}

impl monotonic_clock::Host for WasiCtx {
    fn now(&mut self) -> Result<u64, Trap> {
        Ok(monotonic_ns())
    }

    fn resolution(&mut self) -> Result<u64, Trap> {
        let t = rustix::time::clock_getres(rustix::time::ClockId::Monotonic);
        let ns = u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000
            + u64::try_from(t.tv_nsec).unwrap_or(0);
        Ok(ns.max(1))
    }

    fn subscribe_instant(&mut self, when: u64) -> Result<Resource<Pollable>, Trap> {
        let now_ns = monotonic_ns();
        let at = Instant::now() + Duration::from_nanos(when.saturating_sub(now_ns));
        self.p2
            .table
            .push(Pollable::new(Readiness::At(at)))
            .map_err(table_trap)
    }

    fn subscribe_duration(&mut self, when: u64) -> Result<Resource<Pollable>, Trap> {
        let at = Instant::now()
            .checked_add(Duration::from_nanos(when))
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(u32::MAX.into()));
        self.p2
            .table
            .push(Pollable::new(Readiness::At(at)))
            .map_err(table_trap)
    }
}

impl wall_clock::Host for WasiCtx {
    fn now(&mut self) -> Result<wall_clock::Datetime, Trap> {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::Realtime);
        Ok(wall_clock::Datetime {
            seconds: u64::try_from(t.tv_sec).unwrap_or(0),
            nanoseconds: u32::try_from(t.tv_nsec).unwrap_or(0),
        })
    }

    fn resolution(&mut self) -> Result<wall_clock::Datetime, Trap> {
        let t = rustix::time::clock_getres(rustix::time::ClockId::Realtime);
        Ok(wall_clock::Datetime {
            seconds: u64::try_from(t.tv_sec).unwrap_or(0),
            nanoseconds: u32::try_from(t.tv_nsec).unwrap_or(0).max(1),
        })
    }
}
