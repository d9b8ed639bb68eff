//! `poll_oneoff` on the reactor: clock subscriptions become `Timeout` ops,
//! fd subscriptions `PollAdd` ops, all submitted together; the call blocks
//! (no busy loop) until the first completes, then cancels the rest and waits
//! for their completions before returning.

use std::future::Future;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use ringwasm_reactor::Submit;
use ringwasm_reactor::op::{PollAdd, Timeout};

use crate::ctx::WasiCtx;
use crate::error::{Errno, HostError, in_result};
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
    // Subscriptions are read and events written one field at a time, so
    // a bad pointer traps at the first field that is out of bounds or
    // misaligned, as in wasmtime.
    let mut subs: Vec<(u64, Sub)> = Vec::with_capacity(n as usize);
    let mut ready: Vec<Event> = Vec::new();
    for i in 0..n {
        let at = input.wrapping_add(i.wrapping_mul(size::SUBSCRIPTION));
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
            // wasmtime reads subscriptions in the function, not in the
            // glue: an unknown event type is `EINVAL`, not a trap.
            _ => return Err(Errno::Inval.into()),
        }
    }

    if ready.is_empty() {
        wait(cx, &subs, &mut ready)?;
    }
    for (i, ev) in ready.iter().enumerate() {
        let at = output.wrapping_add(i as u32 * size::EVENT);
        mem.write_fields("event", at, crate::p1::types::fields::EVENT, &encode(ev))?;
    }
    mem.write_u32("nevents", out_n, ready.len() as u32)
        .map_err(in_result("write size"))
}

/// One subscription in flight on the reactor.
enum Waiter {
    Clock(Submit<Timeout>),
    Fd(Submit<PollAdd>),
}

impl Waiter {
    fn poll(&mut self, task: &mut Context<'_>) -> Poll<Outcome> {
        match self {
            Waiter::Clock(s) => Pin::new(s).poll(task).map(|r| match r {
                Ok(()) => Outcome::Fired,
                Err(e) => Outcome::Failed(e),
            }),
            Waiter::Fd(s) => Pin::new(s).poll(task).map(|r| match r {
                Ok(mask) => Outcome::Ready(mask),
                Err(e) => Outcome::Failed(e),
            }),
        }
    }

    fn cancel(&mut self) {
        match self {
            Waiter::Clock(s) => s.cancel(),
            Waiter::Fd(s) => s.cancel(),
        }
    }
}

/// How a subscription's op completed.
enum Outcome {
    /// The timer expired.
    Fired,
    /// The fd is ready with these `poll` events.
    Ready(i16),
    /// The op failed (`ECANCELED` when we cancelled it first).
    Failed(std::io::Error),
}

/// Submits every subscription to the reactor at once (clocks as `Timeout`s,
/// fds as `PollAdd`s), blocks until the first completes, then cancels the
/// rest and waits for their completions too, so nothing is left in flight
/// when the call returns. Completions that beat their cancellation count as
/// events.
fn wait(cx: &WasiCtx, subs: &[(u64, Sub)], ready: &mut Vec<Event>) -> Result<(), HostError> {
    let driver = cx.reactor.driver();
    let mut waiters: Vec<Waiter> = Vec::with_capacity(subs.len());
    for (_, s) in subs {
        waiters.push(match s {
            Sub::Clock { deadline_ns, clock } => {
                let left = deadline_ns.saturating_sub(clock::now(*clock)?);
                Waiter::Clock(driver.submit(Timeout::new(Duration::from_nanos(left))))
            }
            Sub::Fd { fd, write } => {
                let host = cx.table.get(*fd)?.host.as_raw_fd();
                let events = if *write { libc::POLLOUT } else { libc::POLLIN };
                Waiter::Fd(driver.submit(PollAdd::new(host, events)))
            }
        });
    }
    let mut done: Vec<Option<Outcome>> = waiters.iter().map(|_| None).collect();
    let mut cancelled = false;
    driver.block_on(std::future::poll_fn(|task| {
        loop {
            let mut all = true;
            for (w, d) in waiters.iter_mut().zip(done.iter_mut()) {
                if d.is_some() {
                    continue;
                }
                match w.poll(task) {
                    Poll::Ready(o) => *d = Some(o),
                    Poll::Pending => all = false,
                }
            }
            if all {
                return Poll::Ready(());
            }
            if cancelled || done.iter().all(Option::is_none) {
                return Poll::Pending;
            }
            // The first completion(s) are in: cancel the rest, then poll
            // them again so a cancel that completes at once is seen now.
            cancelled = true;
            for (w, d) in waiters.iter_mut().zip(done.iter()) {
                if d.is_none() {
                    w.cancel();
                }
            }
        }
    }));

    for ((userdata, sub), outcome) in subs.iter().zip(&done) {
        let Sub::Fd { fd, write } = sub else {
            continue;
        };
        let (error, hangup) = match outcome {
            Some(Outcome::Ready(mask)) => (
                if mask & libc::POLLNVAL != 0 {
                    Errno::Badf
                } else {
                    Errno::Success
                },
                mask & libc::POLLHUP != 0,
            ),
            Some(Outcome::Failed(e)) if e.raw_os_error() != Some(libc::ECANCELED) => {
                (crate::errno::from_io(e), false)
            }
            _ => continue,
        };
        let nbytes = match cx.table.get(*fd) {
            Ok(e) if !*write && error == Errno::Success => readable_bytes(cx, sub, e.host.as_fd()),
            _ => 0,
        };
        ready.push(Event {
            userdata: *userdata,
            error,
            kind: if *write {
                eventtype::FD_WRITE
            } else {
                eventtype::FD_READ
            },
            nbytes,
            hangup,
        });
    }
    for ((userdata, sub), outcome) in subs.iter().zip(&done) {
        if let Sub::Clock { deadline_ns, clock } = sub
            && (matches!(outcome, Some(Outcome::Fired)) || clock::now(*clock)? >= *deadline_ns)
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
    Ok(())
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

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;
    use crate::io::IoChoice;

    fn sub_fd_read(mem: &mut GuestMem<'_>, at: u32, userdata: u64, fd: u32) {
        mem.write_u64("t", at, userdata).unwrap();
        mem.write_u8("t", at + 8, eventtype::FD_READ).unwrap();
        mem.write_u32("t", at + 16, fd).unwrap();
    }

    fn sub_clock(mem: &mut GuestMem<'_>, at: u32, userdata: u64, ns: u64) {
        mem.write_u64("t", at, userdata).unwrap();
        mem.write_u8("t", at + 8, eventtype::CLOCK).unwrap();
        mem.write_u32("t", at + 16, clockid::MONOTONIC).unwrap();
        mem.write_u64("t", at + 24, ns).unwrap();
        mem.write_u16("t", at + 40, 0).unwrap();
    }

    /// A pipe with no data and a 5 ms clock: the clock fires and the fd's
    /// `PollAdd` is cancelled; then with data and a 10 s clock, the fd is
    /// ready at once and the timer is cancelled (the test would take 10 s
    /// otherwise).
    fn clock_then_fd(io: IoChoice) {
        let (r, mut w) = std::io::pipe().unwrap();
        let mut cx = WasiCtx::builder()
            .stdio(0, r.into())
            .io(io)
            .build()
            .unwrap();
        let mut m = vec![0u8; 1024];
        let mut mem = GuestMem::new(&mut m);
        let (input, output, nout) = (0, 256, 512);
        sub_fd_read(&mut mem, input, 7, 0);
        sub_clock(&mut mem, input + size::SUBSCRIPTION, 9, 5_000_000);
        let start = std::time::Instant::now();
        poll_oneoff(&mut cx, &mut mem, input, output, 2, nout).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(5));
        assert_eq!(mem.read_u32("n", nout).unwrap(), 1);
        assert_eq!(mem.read_u64("userdata", output).unwrap(), 9);
        assert_eq!(mem.read_u8("type", output + 10).unwrap(), eventtype::CLOCK);

        w.write_all(b"hello").unwrap();
        sub_clock(&mut mem, input + size::SUBSCRIPTION, 9, 10_000_000_000);
        let start = std::time::Instant::now();
        poll_oneoff(&mut cx, &mut mem, input, output, 2, nout).unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(mem.read_u32("n", nout).unwrap(), 1);
        assert_eq!(mem.read_u64("userdata", output).unwrap(), 7);
        assert_eq!(mem.read_u16("error", output + 8).unwrap(), 0);
        assert_eq!(
            mem.read_u8("type", output + 10).unwrap(),
            eventtype::FD_READ
        );
        assert_eq!(mem.read_u64("nbytes", output + 16).unwrap(), 5);
    }

    #[test]
    fn clock_then_fd_epoll() {
        clock_then_fd(IoChoice::Epoll);
    }

    #[test]
    fn clock_then_fd_uring() {
        if ringwasm_reactor::uring_driver().is_err() {
            eprintln!("io_uring unavailable here; the epoll variant covers this");
            return;
        }
        clock_then_fd(IoChoice::Uring);
    }
}
