//! How the readiness backend runs regular-file reads and writes: direct
//! syscalls on the calling thread ([`FileMode::Direct`], the default), or a
//! small pool of blocking threads ([`FileMode::Pool`]).
//!
//! The pool runs [`BlockingCall`]s: positioned reads and writes described as
//! plain data with their own buffers, so a pool thread never touches an op's
//! memory and an op may be dropped while its call runs (the result is then
//! discarded). Results come back through a queue, and a [`mio::Waker`] wakes
//! the owning thread's poll. Which mode wins where is measured in
//! `docs/design/reactor.md`.

use std::fmt;
use std::io;
use std::str::FromStr;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};

use ringwasm_reactor::BlockingCall;

/// How the readiness backend runs positioned file reads and writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FileMode {
    /// `pread`/`pwrite` on the calling thread, as `psync` does: no thread
    /// hop, but one op at a time reaches the device.
    #[default]
    Direct,
    /// That many blocking threads run them, so several reach the device
    /// at once; each op pays a hand-off to a thread and back and a copy.
    Pool(usize),
}

/// Threads in a pool when `pool` is given without a count.
pub const DEFAULT_POOL_THREADS: usize = 4;

/// The environment variable that picks the [`FileMode`] of new pollers.
pub const FILE_MODE_ENV: &str = "RINGWASM_FALLBACK_FILES";

/// A [`FileMode`] spelling that is not `direct`, `pool` or `pool:N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFileMode(pub String);

impl fmt::Display for UnknownFileMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown fallback file mode {:?}: expected direct, pool or pool:N (N from 1 to 256)",
            self.0
        )
    }
}

impl std::error::Error for UnknownFileMode {}

impl FromStr for FileMode {
    type Err = UnknownFileMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || UnknownFileMode(s.to_string());
        match s.split_once(':') {
            None if s == "direct" => Ok(Self::Direct),
            None if s == "pool" => Ok(Self::Pool(DEFAULT_POOL_THREADS)),
            Some(("pool", n)) => match n.parse::<usize>() {
                Ok(n @ 1..=256) => Ok(Self::Pool(n)),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for FileMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Direct => f.write_str("direct"),
            Self::Pool(n) => write!(f, "pool:{n}"),
        }
    }
}

impl FileMode {
    /// The mode named by `RINGWASM_FALLBACK_FILES`, or [`FileMode::Direct`]
    /// when it is unset.
    ///
    /// # Errors
    ///
    /// When the variable is set to something else than `direct`, `pool`
    /// or `pool:N`.
    pub fn from_env() -> Result<Self, UnknownFileMode> {
        match std::env::var(FILE_MODE_ENV) {
            Ok(v) => v.parse(),
            Err(std::env::VarError::NotPresent) => Ok(Self::Direct),
            Err(std::env::VarError::NotUnicode(v)) => {
                Err(UnknownFileMode(v.to_string_lossy().into_owned()))
            }
        }
    }
}

/// A finished call: the job id, the call (with its buffer) and its result.
pub(crate) type Done = (u64, BlockingCall, io::Result<u32>);

struct Job {
    id: u64,
    call: BlockingCall,
}

/// The pool: `threads` workers taking jobs from one queue.
pub(crate) struct Pool {
    jobs: Sender<Job>,
    done: Arc<Mutex<Vec<Done>>>,
}

impl Pool {
    /// Starts `threads` workers; `waker` wakes the owner's poll when a
    /// result is queued.
    pub(crate) fn new(threads: usize, waker: Arc<mio::Waker>) -> io::Result<Self> {
        let (jobs, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let done = Arc::new(Mutex::new(Vec::new()));
        for n in 0..threads.max(1) {
            let (rx, done, waker) = (Arc::clone(&rx), Arc::clone(&done), Arc::clone(&waker));
            // Workers are detached: they own everything they touch, and exit
            // when the pool (the job sender) is dropped.
            std::thread::Builder::new()
                .name(format!("ringwasm-blocking-{n}"))
                .spawn(move || worker(&rx, &done, &waker))?;
        }
        Ok(Self { jobs, done })
    }

    /// Queues `call` as job `id`.
    ///
    /// # Errors
    ///
    /// When every worker has exited (a worker panicked).
    pub(crate) fn submit(&self, id: u64, call: BlockingCall) -> io::Result<()> {
        self.jobs
            .send(Job { id, call })
            .map_err(|_| io::Error::other("the blocking pool's workers have exited"))
    }

    /// Moves the finished calls into `into`.
    pub(crate) fn take_done(&self, into: &mut Vec<Done>) {
        let mut done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        into.append(&mut done);
    }
}

fn worker(rx: &Mutex<Receiver<Job>>, done: &Mutex<Vec<Done>>, waker: &mio::Waker) {
    loop {
        let job = {
            let rx = rx.lock().unwrap_or_else(PoisonError::into_inner);
            rx.recv()
        };
        let Ok(Job { id, mut call }) = job else {
            return;
        };
        let r = call.run();
        let first = {
            let mut d = done.lock().unwrap_or_else(PoisonError::into_inner);
            d.push((id, call, r));
            d.len() == 1
        };
        // One wake per batch of results: the owner drains the whole queue.
        // A failed wake can only mean the poller is gone.
        if first {
            let _ = waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_mode_spellings() {
        assert_eq!("direct".parse(), Ok(FileMode::Direct));
        assert_eq!("pool".parse(), Ok(FileMode::Pool(DEFAULT_POOL_THREADS)));
        assert_eq!("pool:16".parse(), Ok(FileMode::Pool(16)));
        for bad in ["", "pool:0", "pool:x", "pool:999", "threads", "direct:2"] {
            assert!(bad.parse::<FileMode>().is_err(), "{bad:?} must be rejected");
        }
        assert_eq!(FileMode::Pool(8).to_string(), "pool:8");
        assert_eq!(FileMode::Pool(8).to_string().parse(), Ok(FileMode::Pool(8)));
    }
}
