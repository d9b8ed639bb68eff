//! Registers every `wasi_snapshot_preview1` function with a [`Linker`].

use ringwasm_jit::{Caller, Extern, Linker, Memory, Trap};

use crate::ctx::WasiCtx;
use crate::error::{ConvertError, HostError, TrapReason};
use crate::guest_buf::{GuestMem, lend};
use crate::p1;
use crate::p1::types::rights::ALL as RIGHTS;

/// The import module name.
pub const MODULE: &str = "wasi_snapshot_preview1";

fn memory<T>(caller: &mut Caller<'_, T>) -> Result<Memory, Trap> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Ok(m),
        _ => Err(Trap::host(TrapReason::NoMemory.to_string())),
    }
}

fn finish(func: &'static str, r: Result<(), HostError>) -> Result<i32, Trap> {
    match r {
        Ok(()) => Ok(0),
        Err(HostError::Errno(e)) => Ok(i32::from(e.code())),
        Err(HostError::Trap(t)) => match *t {
            TrapReason::Exit(code) => Err(Trap::exit(code)),
            other => Err(Trap::host(trap_message(func, &other))),
        },
    }
}

/// wasmtime's text for a host function's trap. A trap that wiggle's
/// generated glue would hit (converting an argument, writing a result)
/// comes with an extra cause before it, naming the function and the place;
/// the causes are separate lines, as `ringwasm run` prints them.
fn trap_message(func: &str, t: &TrapReason) -> String {
    match t.glue_location() {
        Some(at) => {
            let mut m = format!("In func {MODULE}::{func} at {at}: {t}\n{t}");
            // An integer conversion error has the standard library's
            // `TryFromIntError` as its source, a cause of its own.
            if let TrapReason::Convert {
                error: ConvertError::NegOverflow | ConvertError::PosOverflow,
                ..
            } = t
            {
                m.push_str("\nout of range integral type conversion attempted");
            }
            m
        }
        None => t.to_string(),
    }
}

/// wiggle's conversion of a raw argument to the witx integer type `U`.
fn int<U: TryFrom<i64>>(ty: &'static str, raw: impl Into<i64>) -> Result<U, HostError> {
    let raw = raw.into();
    U::try_from(raw).map_err(|_| {
        let error = if raw < 0 {
            ConvertError::NegOverflow
        } else {
            ConvertError::PosOverflow
        };
        TrapReason::Convert { ty, error }.into()
    })
}

/// An argument of a witx flags type: `valid` holds every defined bit.
fn flags<U>(ty: &'static str, raw: impl Into<i64>, valid: u64) -> Result<U, HostError>
where
    U: TryFrom<i64> + Into<u64> + Copy,
{
    let v: U = int(ty, raw)?;
    if v.into() & !valid != 0 {
        return Err(TrapReason::Convert {
            ty,
            error: ConvertError::InvalidFlag(ty),
        }
        .into());
    }
    Ok(v)
}

/// An argument of a witx enum type whose cases are `0..=last`.
fn case<U>(ty: &'static str, raw: impl Into<i64>, last: u64) -> Result<U, HostError>
where
    U: TryFrom<i64> + Into<u64> + Copy,
{
    let v: U = int(ty, raw)?;
    if v.into() > last {
        return Err(TrapReason::invalid_enum(ty).into());
    }
    Ok(v)
}

/// Every bit of `fdflags`, `oflags`, `fstflags`, `riflags`, `sdflags` and
/// `lookupflags` the spec defines.
const FDFLAGS: u64 = 0x1f;
const OFLAGS: u64 = 0xf;
const FSTFLAGS: u64 = 0xf;
const RIFLAGS: u64 = 0x3;
const SDFLAGS: u64 = 0x3;
const LOOKUPFLAGS: u64 = 0x1;

fn with_mem<T, G>(
    caller: &mut Caller<'_, T>,
    get: G,
    func: &'static str,
    f: impl FnOnce(&mut WasiCtx, &mut GuestMem<'_>) -> Result<(), HostError>,
) -> Result<i32, Trap>
where
    G: Fn(&mut T) -> &mut WasiCtx,
{
    let instance = caller.instance();
    let cached = get(caller.data_mut())
        .memory
        .filter(|&(i, _)| Some(i) == instance)
        .map(|(_, m)| m);
    let m = match cached {
        Some(m) => m,
        None => {
            let m = memory(caller)?;
            if let Some(i) = instance {
                get(caller.data_mut()).memory = Some((i, m));
            }
            m
        }
    };
    finish(
        func,
        lend::with_memory(caller, m, |data, mem| f(get(data), mem)),
    )
}

/// Runs a host function's body, whose argument conversions may return
/// early with `?`.
fn guarded(body: impl FnOnce() -> Result<(), HostError>) -> Result<(), HostError> {
    body()
}

macro_rules! mem_fn {
    ($l:ident, $get:ident, $name:literal, |$cx:ident, $mem:ident $(, $a:ident : $t:ty)*| $body:expr) => {
        $l.func_wrap(MODULE, $name, move |mut caller: Caller<'_, T>, $($a: $t),*| -> Result<i32, Trap> {
            with_mem(&mut caller, $get, $name, |$cx, $mem| $body)
        })?;
    };
}

macro_rules! plain_fn {
    ($l:ident, $get:ident, $name:literal, |$cx:ident $(, $a:ident : $t:ty)*| $body:expr) => {
        $l.func_wrap(MODULE, $name, move |mut caller: Caller<'_, T>, $($a: $t),*| -> Result<i32, Trap> {
            let $cx = $get(caller.data_mut());
            finish($name, guarded(|| $body))
        })?;
    };
}

/// Adds every Preview 1 function to `linker`; `get` finds the [`WasiCtx`]
/// in the store's data.
///
/// Pointer and length arguments arrive as `i32` and are reinterpreted as
/// the unsigned guest addresses they are.
///
/// # Errors
///
/// When the linker refuses a definition.
#[expect(
    clippy::too_many_lines,
    reason = "one registration per WASI function, in spec order"
)]
pub fn add_to_linker<T: 'static, G>(
    linker: &mut Linker<T>,
    get: G,
) -> Result<(), ringwasm_jit::Error>
where
    G: Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
{
    use p1::{clock, fd, path, poll, proc, random, sock};
    let l = linker;
    mem_fn!(l, get, "args_get", |cx, m, a: i32, b: i32| proc::args_get(
        cx, m, a as u32, b as u32
    ));
    mem_fn!(l, get, "args_sizes_get", |cx, m, a: i32, b: i32| {
        proc::args_sizes_get(cx, m, a as u32, b as u32)
    });
    mem_fn!(l, get, "environ_get", |cx, m, a: i32, b: i32| {
        proc::environ_get(cx, m, a as u32, b as u32)
    });
    mem_fn!(l, get, "environ_sizes_get", |cx, m, a: i32, b: i32| {
        proc::environ_sizes_get(cx, m, a as u32, b as u32)
    });
    mem_fn!(l, get, "clock_res_get", |cx, m, id: i32, out: i32| {
        let id = case("Clockid", id, 3)?;
        clock::clock_res_get(cx, m, id, out as u32)
    });
    mem_fn!(
        l,
        get,
        "clock_time_get",
        |cx, m, id: i32, p: i64, out: i32| {
            let id = case("Clockid", id, 3)?;
            clock::clock_time_get(cx, m, id, p as u64, out as u32)
        }
    );
    plain_fn!(l, get, "fd_advise", |cx, f: i32, o: i64, n: i64, a: i32| {
        let a = case("Advice", a, 5)?;
        fd::fd_advise(cx, f as u32, o as u64, n as u64, a)
    });
    plain_fn!(l, get, "fd_allocate", |cx, f: i32, o: i64, n: i64| {
        fd::fd_allocate(cx, f as u32, o as u64, n as u64)
    });
    plain_fn!(l, get, "fd_close", |cx, f: i32| fd::fd_close(cx, f as u32));
    plain_fn!(l, get, "fd_datasync", |cx, f: i32| fd::fd_datasync(
        cx, f as u32
    ));
    mem_fn!(l, get, "fd_fdstat_get", |cx, m, f: i32, out: i32| {
        fd::fd_fdstat_get(cx, m, f as u32, out as u32)
    });
    plain_fn!(l, get, "fd_fdstat_set_flags", |cx, f: i32, fl: i32| {
        let fl = flags("Fdflags", fl, FDFLAGS)?;
        fd::fd_fdstat_set_flags(cx, f as u32, fl)
    });
    plain_fn!(
        l,
        get,
        "fd_fdstat_set_rights",
        |cx, f: i32, b: i64, i: i64| {
            let b = flags("Rights", b, RIGHTS)?;
            let i = flags("Rights", i, RIGHTS)?;
            fd::fd_fdstat_set_rights(cx, f as u32, b, i)
        }
    );
    mem_fn!(l, get, "fd_filestat_get", |cx, m, f: i32, out: i32| {
        fd::fd_filestat_get(cx, m, f as u32, out as u32)
    });
    plain_fn!(l, get, "fd_filestat_set_size", |cx, f: i32, n: i64| {
        fd::fd_filestat_set_size(cx, f as u32, n as u64)
    });
    plain_fn!(
        l,
        get,
        "fd_filestat_set_times",
        |cx, f: i32, a: i64, b: i64, fl: i32| {
            let fl = flags("Fstflags", fl, FSTFLAGS)?;
            fd::fd_filestat_set_times(cx, f as u32, a as u64, b as u64, fl)
        }
    );
    mem_fn!(
        l,
        get,
        "fd_pread",
        |cx, m, f: i32, v: i32, n: i32, o: i64, out: i32| fd::fd_pread(
            cx, m, f as u32, v as u32, n as u32, o as u64, out as u32
        )
    );
    mem_fn!(l, get, "fd_prestat_get", |cx, m, f: i32, out: i32| {
        fd::fd_prestat_get(cx, m, f as u32, out as u32)
    });
    mem_fn!(
        l,
        get,
        "fd_prestat_dir_name",
        |cx, m, f: i32, p: i32, n: i32| fd::fd_prestat_dir_name(
            cx, m, f as u32, p as u32, n as u32
        )
    );
    mem_fn!(
        l,
        get,
        "fd_pwrite",
        |cx, m, f: i32, v: i32, n: i32, o: i64, out: i32| fd::fd_pwrite(
            cx, m, f as u32, v as u32, n as u32, o as u64, out as u32
        )
    );
    mem_fn!(
        l,
        get,
        "fd_read",
        |cx, m, f: i32, v: i32, n: i32, out: i32| fd::fd_read(
            cx, m, f as u32, v as u32, n as u32, out as u32
        )
    );
    mem_fn!(
        l,
        get,
        "fd_readdir",
        |cx, m, f: i32, b: i32, n: i32, c: i64, out: i32| fd::fd_readdir(
            cx, m, f as u32, b as u32, n as u32, c as u64, out as u32
        )
    );
    plain_fn!(l, get, "fd_renumber", |cx, a: i32, b: i32| fd::fd_renumber(
        cx, a as u32, b as u32
    ));
    mem_fn!(
        l,
        get,
        "fd_seek",
        |cx, m, f: i32, o: i64, w: i32, out: i32| {
            let w = case("Whence", w, 2)?;
            fd::fd_seek(cx, m, f as u32, o, w, out as u32)
        }
    );
    plain_fn!(l, get, "fd_sync", |cx, f: i32| fd::fd_sync(cx, f as u32));
    mem_fn!(l, get, "fd_tell", |cx, m, f: i32, out: i32| fd::fd_tell(
        cx, m, f as u32, out as u32
    ));
    mem_fn!(
        l,
        get,
        "fd_write",
        |cx, m, f: i32, v: i32, n: i32, out: i32| fd::fd_write(
            cx, m, f as u32, v as u32, n as u32, out as u32
        )
    );
    mem_fn!(
        l,
        get,
        "path_create_directory",
        |cx, m, f: i32, p: i32, n: i32| path::path_create_directory(
            cx, m, f as u32, p as u32, n as u32
        )
    );
    mem_fn!(
        l,
        get,
        "path_filestat_get",
        |cx, m, f: i32, fl: i32, p: i32, n: i32, out: i32| {
            let fl = flags("Lookupflags", fl, LOOKUPFLAGS)?;
            path::path_filestat_get(cx, m, f as u32, fl, p as u32, n as u32, out as u32)
        }
    );
    mem_fn!(
        l,
        get,
        "path_filestat_set_times",
        |cx, m, f: i32, fl: i32, p: i32, n: i32, a: i64, b: i64, st: i32| {
            let fl = flags("Lookupflags", fl, LOOKUPFLAGS)?;
            let st = flags("Fstflags", st, FSTFLAGS)?;
            path::path_filestat_set_times(
                cx, m, f as u32, fl, p as u32, n as u32, a as u64, b as u64, st,
            )
        }
    );
    mem_fn!(
        l,
        get,
        "path_link",
        |cx, m, of: i32, ofl: i32, op: i32, on: i32, nf: i32, np: i32, nn: i32| {
            let ofl = flags("Lookupflags", ofl, LOOKUPFLAGS)?;
            path::path_link(
                cx, m, of as u32, ofl, op as u32, on as u32, nf as u32, np as u32, nn as u32,
            )
        }
    );
    mem_fn!(
        l,
        get,
        "path_open",
        |cx, m, f: i32, df: i32, p: i32, n: i32, of: i32, rb: i64, ri: i64, ff: i32, out: i32| {
            let df = flags("Lookupflags", df, LOOKUPFLAGS)?;
            let of = flags("Oflags", of, OFLAGS)?;
            let rb = flags("Rights", rb, RIGHTS)?;
            let ri = flags("Rights", ri, RIGHTS)?;
            let ff = flags("Fdflags", ff, FDFLAGS)?;
            path::path_open(
                cx, m, f as u32, df, p as u32, n as u32, of, rb, ri, ff, out as u32,
            )
        }
    );
    mem_fn!(
        l,
        get,
        "path_readlink",
        |cx, m, f: i32, p: i32, n: i32, b: i32, bl: i32, out: i32| {
            path::path_readlink(
                cx, m, f as u32, p as u32, n as u32, b as u32, bl as u32, out as u32,
            )
        }
    );
    mem_fn!(
        l,
        get,
        "path_remove_directory",
        |cx, m, f: i32, p: i32, n: i32| path::path_remove_directory(
            cx, m, f as u32, p as u32, n as u32
        )
    );
    mem_fn!(
        l,
        get,
        "path_rename",
        |cx, m, f: i32, op: i32, on: i32, nf: i32, np: i32, nn: i32| {
            path::path_rename(
                cx, m, f as u32, op as u32, on as u32, nf as u32, np as u32, nn as u32,
            )
        }
    );
    mem_fn!(
        l,
        get,
        "path_symlink",
        |cx, m, op: i32, on: i32, f: i32, np: i32, nn: i32| {
            path::path_symlink(cx, m, op as u32, on as u32, f as u32, np as u32, nn as u32)
        }
    );
    mem_fn!(
        l,
        get,
        "path_unlink_file",
        |cx, m, f: i32, p: i32, n: i32| path::path_unlink_file(cx, m, f as u32, p as u32, n as u32)
    );
    mem_fn!(
        l,
        get,
        "poll_oneoff",
        |cx, m, i: i32, o: i32, n: i32, out: i32| poll::poll_oneoff(
            cx, m, i as u32, o as u32, n as u32, out as u32
        )
    );
    l.func_wrap(
        MODULE,
        "proc_exit",
        move |mut caller: Caller<'_, T>, code: i32| -> Result<(), Trap> {
            finish(
                "proc_exit",
                proc::proc_exit(get(caller.data_mut()), code as u32),
            )
            .map(|_| ())
        },
    )?;
    plain_fn!(l, get, "proc_raise", |cx, s: i32| {
        let s = case("Signal", s, 30)?;
        proc::proc_raise(cx, s)
    });
    plain_fn!(l, get, "sched_yield", |cx| proc::sched_yield(cx));
    mem_fn!(l, get, "random_get", |cx, m, b: i32, n: i32| {
        random::random_get(cx, m, b as u32, n as u32)
    });
    mem_fn!(l, get, "sock_accept", |cx, m, f: i32, fl: i32, out: i32| {
        let fl = flags("Fdflags", fl, FDFLAGS)?;
        sock::sock_accept(cx, m, f as u32, fl, out as u32)
    });
    mem_fn!(
        l,
        get,
        "sock_recv",
        |cx, m, f: i32, v: i32, n: i32, fl: i32, ol: i32, of: i32| {
            let fl = flags("Riflags", fl, RIFLAGS)?;
            sock::sock_recv(
                cx, m, f as u32, v as u32, n as u32, fl, ol as u32, of as u32,
            )
        }
    );
    mem_fn!(
        l,
        get,
        "sock_send",
        |cx, m, f: i32, v: i32, n: i32, fl: i32, out: i32| sock::sock_send(
            cx, m, f as u32, v as u32, n as u32, fl as u16, out as u32
        )
    );
    plain_fn!(l, get, "sock_shutdown", |cx, f: i32, h: i32| {
        let h = flags("Sdflags", h, SDFLAGS)?;
        sock::sock_shutdown(cx, f as u32, h)
    });
    Ok(())
}

/// The names of every function [`add_to_linker`] defines, in spec order.
pub const FUNCTIONS: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "sched_yield",
    "random_get",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];
