//! `poll_oneoff`: waits for the earliest clock subscription or the first fd
//! readiness in one blocking `poll(2)` (no busy loop).

use std::os::fd::{AsFd, BorrowedFd};

use rustix::event::{PollFd, PollFlags};
use rustix::time::Timespec;

use crate::ctx::WasiCtx;
use crate::error::{Errno, HostError, TrapReason};
use crate::fd_table::FdKind;
use crate::guest_buf::GuestMem;
use crate::p1::clock;
use crate::p1::types::{clockid, eventtype, filetype, size};

enum Sub {
    Clock { deadline_ns: u64, clock: u32 },
    Fd { fd: u32, write: bool },
}

struct Event {
    userdata: u64,
    error: Errno,
    kind: u8,
    nbytes: u64,
    hangup: bool,
}

fn encode(ev: &Event) -> [u8; size::EVENT as usize] {
    let mut b = [0u8; size::EVENT as usize];
    b[0..8].copy_from_slice(&ev.userdata.to_le_bytes());
    b[8..10].copy_from_slice(&ev.error.code().to_le_bytes());
    b[10] = ev.kind;
    b[16..24].copy_from_slice(&ev.nbytes.to_le_bytes());
    b[24..26].copy_from_slice(&u16::from(ev.hangup).to_le_bytes());
    b
}

/// `poll_oneoff`.
///
/// # Errors
///
/// Errno for the guest, or a trap.
pub fn poll_oneoff(
    cx: &mut WasiCtx,
    mem: &mut GuestMem<'_>,
    input: u32,
    output: u32,
    n: u32,
    out_n: u32,
) -> Result<(), HostError> {
    if n == 0 {
        return Err(Errno::Inval.into());
    }
    mem.slice(
        "in",
        input,
        n.checked_mul(size::SUBSCRIPTION).ok_or(Errno::Inval)?,
    )?;
    mem.slice("out", output, n * size::EVENT)?;
    let mut subs: Vec<(u64, Sub)> = Vec::with_capacity(n as usize);
    let mut ready: Vec<Event> = Vec::new();
    for i in 0..n {
        let at = input + i * size::SUBSCRIPTION;
        let userdata = mem.read_u64("subscription", at)?;
        let tag = mem.read_u8("subscription.tag", at + 8)?;
        match tag {
            eventtype::CLOCK => {
                let id = mem.read_u32("clock.id", at + 16)?;
                let timeout = mem.read_u64("clock.timeout", at + 24)?;
                let flags = mem.read_u16("clock.flags", at + 40)?;
                let clock = if id == clockid::REALTIME || id == clockid::MONOTONIC {
                    id
                } else {
                    clockid::MONOTONIC
                };
                let now = clock::now(id)?;
                let deadline_ns = if flags & 1 != 0 {
                    // Absolute on `id`, waited for on the same clock.
                    let left = timeout.saturating_sub(now);
                    clock::now(clock)?.saturating_add(left)
                } else {
                    clock::now(clock)?.saturating_add(timeout)
                };
                subs.push((userdata, Sub::Clock { deadline_ns, clock }));
            }
            eventtype::FD_READ | eventtype::FD_WRITE => {
                let fd = mem.read_u32("fd_readwrite.fd", at + 16)?;
                // An fd that is not open fails the whole call (wasmtime).
                if cx.table.get(fd)?.is_dir() {
                    return Err(Errno::Badf.into());
                }
                subs.push((
                    userdata,
                    Sub::Fd {
                        fd,
                        write: tag == eventtype::FD_WRITE,
                    },
                ));
            }
            _ => {
                return Err(TrapReason::InvalidEnum {
                    what: "eventtype",
                    value: u32::from(tag),
                }
                .into());
            }
        }
    }

    if ready.is_empty() {
        wait(cx, &subs, &mut ready)?;
    }
    for (i, ev) in ready.iter().enumerate() {
        mem.aligned_write("event", output + i as u32 * size::EVENT, 8, &encode(ev))?;
    }
    mem.write_u32("nevents", out_n, ready.len() as u32)
}

fn wait(cx: &WasiCtx, subs: &[(u64, Sub)], ready: &mut Vec<Event>) -> Result<(), HostError> {
    let fds: Vec<(usize, BorrowedFd<'_>, bool)> = subs
        .iter()
        .enumerate()
        .filter_map(|(i, (_, s))| match s {
            Sub::Fd { fd, write } => cx.table.get(*fd).ok().map(|e| (i, e.host.as_fd(), *write)),
            Sub::Clock { .. } => None,
        })
        .collect();
    loop {
        // Earliest deadline, as time left on its clock.
        let mut left: Option<u64> = None;
        for (_, s) in subs {
            if let Sub::Clock { deadline_ns, clock } = s {
                let l = deadline_ns.saturating_sub(clock::now(*clock)?);
                left = Some(left.map_or(l, |m| m.min(l)));
            }
        }
        let mut pfds: Vec<PollFd<'_>> = fds
            .iter()
            .map(|(_, fd, w)| {
                PollFd::from_borrowed_fd(*fd, if *w { PollFlags::OUT } else { PollFlags::IN })
            })
            .collect();
        let ts = left.map(|ns| Timespec {
            tv_sec: (ns / 1_000_000_000) as i64,
            tv_nsec: (ns % 1_000_000_000) as _,
        });
        match rustix::event::poll(&mut pfds, ts.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        for (k, pfd) in pfds.iter().enumerate() {
            let re = pfd.revents();
            if re.is_empty() {
                continue;
            }
            let (i, fd, write) = fds[k];
            let userdata = subs[i].0;
            let hangup = re.contains(PollFlags::HUP);
            let error = if re.contains(PollFlags::NVAL) {
                Errno::Badf
            } else {
                Errno::Success
            };
            let nbytes = if write {
                0
            } else {
                readable_bytes(cx, &subs[i].1, fd)
            };
            let kind = if write {
                eventtype::FD_WRITE
            } else {
                eventtype::FD_READ
            };
            ready.push(Event {
                userdata,
                error,
                kind,
                nbytes,
                hangup,
            });
        }
        for (userdata, s) in subs {
            if let Sub::Clock { deadline_ns, clock } = s
                && clock::now(*clock)? >= *deadline_ns
            {
                ready.push(Event {
                    userdata: *userdata,
                    error: Errno::Success,
                    kind: eventtype::CLOCK,
                    nbytes: 0,
                    hangup: false,
                });
            }
        }
        if !ready.is_empty() {
            return Ok(());
        }
    }
}

fn readable_bytes(cx: &WasiCtx, sub: &Sub, fd: BorrowedFd<'_>) -> u64 {
    let Sub::Fd { fd: guest, .. } = sub else {
        return 0;
    };
    let is_file = cx
        .table
        .get(*guest)
        .is_ok_and(|e| e.kind == FdKind::File && e.filetype == filetype::REGULAR_FILE);
    if is_file {
        // A regular file is always readable; wasmtime reports one byte.
        1
    } else {
        rustix::io::ioctl_fionread(fd).unwrap_or(0)
    }
}
