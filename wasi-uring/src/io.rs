//! The one backend switch: [`Io`] is io_uring or the epoll/kqueue fallback,
//! chosen once per thread at start-up from `--io uring|epoll|auto` or
//! `RINGWASM_IO`.
//!
//! `auto` sets up a ring and probes every opcode the reactor submits
//! (`IORING_REGISTER_PROBE`); if either fails (ENOSYS on old kernels, EPERM
//! from seccomp or `kernel.io_uring_disabled`, a missing opcode) it falls
//! back and logs one line saying why. `uring` fails with that reason instead.
//! Everything after the choice goes through [`Io::driver`], which hides the
//! backend.

use std::fmt;
use std::str::FromStr;

use ringwasm_reactor::{BackendKind, Driver, Error};

/// The environment variable that overrides the default choice.
pub const IO_ENV: &str = "RINGWASM_IO";

/// What the user asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum IoChoice {
    /// io_uring if it works here, else the fallback.
    #[default]
    Auto,
    /// io_uring, or fail.
    Uring,
    /// The epoll/kqueue fallback.
    Epoll,
}

/// An `--io` / `RINGWASM_IO` value that is not `uring`, `epoll` or `auto`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown I/O backend {0:?}: expected uring, epoll or auto")]
pub struct UnknownIoChoice(pub String);

impl FromStr for IoChoice {
    type Err = UnknownIoChoice;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Self::Auto),
            "uring" | "io_uring" | "io-uring" => Ok(Self::Uring),
            "epoll" | "kqueue" | "fallback" => Ok(Self::Epoll),
            _ => Err(UnknownIoChoice(s.to_owned())),
        }
    }
}

impl fmt::Display for IoChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Uring => "uring",
            Self::Epoll => "epoll",
        })
    }
}

impl From<BackendKind> for IoChoice {
    fn from(k: BackendKind) -> Self {
        match k {
            BackendKind::Uring => Self::Uring,
            BackendKind::Epoll => Self::Epoll,
        }
    }
}

impl IoChoice {
    /// The command-line value if given, else `RINGWASM_IO`, else `auto`.
    ///
    /// # Errors
    ///
    /// [`UnknownIoChoice`] when `RINGWASM_IO` holds something else.
    pub fn resolve(cli: Option<Self>) -> Result<Self, UnknownIoChoice> {
        if let Some(c) = cli {
            return Ok(c);
        }
        match std::env::var(IO_ENV) {
            Ok(v) => v.parse(),
            Err(_) => Ok(Self::Auto),
        }
    }
}

/// The backend this thread runs on. Not `Send`: each thread makes its own,
/// passing the first thread's [`Io::kind`] so they all agree.
#[derive(Debug)]
pub enum Io {
    /// io_uring.
    Uring(Driver),
    /// epoll (Linux) / kqueue (macOS, BSD); `reason` says why io_uring was
    /// not used when `auto` fell back.
    Epoll {
        /// The fallback's driver.
        driver: Driver,
        /// Why `auto` did not pick io_uring (`None` when epoll was asked
        /// for).
        reason: Option<Error>,
    },
}

impl Io {
    /// Sets up the backend `choice` asks for on this thread.
    ///
    /// # Errors
    ///
    /// With `uring`, why io_uring is unavailable; with `epoll` (or an `auto`
    /// that fell back), why the poller could not be created.
    pub fn new(choice: IoChoice) -> Result<Self, Error> {
        Self::select(choice, ringwasm_reactor::uring_driver)
    }

    /// The backend `driver` already runs on (a server thread's).
    pub fn from_driver(driver: Driver) -> Self {
        match driver.kind() {
            ringwasm_reactor::BackendKind::Uring => Self::Uring(driver),
            ringwasm_reactor::BackendKind::Epoll => Self::Epoll {
                driver,
                reason: None,
            },
        }
    }

    /// As [`Io::new`], with the io_uring set-up supplied by the caller: tests
    /// use it to simulate a kernel or sandbox without io_uring.
    ///
    /// # Errors
    ///
    /// As [`Io::new`].
    pub fn select(
        choice: IoChoice,
        uring: impl FnOnce() -> Result<Driver, Error>,
    ) -> Result<Self, Error> {
        let epoll = |reason| {
            ringwasm_fallback_epoll::epoll_driver()
                .map(|driver| Self::Epoll { driver, reason })
                .map_err(Error::Fallback)
        };
        match choice {
            IoChoice::Epoll => epoll(None),
            IoChoice::Uring => uring().map(Self::Uring),
            IoChoice::Auto => match uring() {
                Ok(d) => Ok(Self::Uring(d)),
                Err(why) => {
                    tracing::warn!("io_uring unavailable ({why}); using the epoll/kqueue fallback");
                    epoll(Some(why))
                }
            },
        }
    }

    /// The handle every op, future and task goes through.
    pub const fn driver(&self) -> &Driver {
        match self {
            Self::Uring(d) | Self::Epoll { driver: d, .. } => d,
        }
    }

    /// Which backend was chosen.
    pub const fn kind(&self) -> BackendKind {
        match self {
            Self::Uring(_) => BackendKind::Uring,
            Self::Epoll { .. } => BackendKind::Epoll,
        }
    }

    /// Why `auto` fell back, if it did.
    pub const fn fallback_reason(&self) -> Option<&Error> {
        match self {
            Self::Epoll { reason, .. } => reason.as_ref(),
            Self::Uring(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_in_any_case() {
        assert_eq!("URING".parse(), Ok(IoChoice::Uring));
        assert_eq!("epoll".parse(), Ok(IoChoice::Epoll));
        assert_eq!("auto".parse(), Ok(IoChoice::Auto));
        assert!(matches!(
            "iouring2".parse::<IoChoice>(),
            Err(UnknownIoChoice(_))
        ));
    }

    #[test]
    fn auto_falls_back_when_uring_setup_fails() {
        let io = Io::select(IoChoice::Auto, || {
            Err(Error::Setup(
                std::io::Error::from_raw_os_error(libc_eperm()),
            ))
        })
        .expect("the fallback can always be created");
        assert_eq!(io.kind(), BackendKind::Epoll);
        assert!(matches!(io.fallback_reason(), Some(Error::Setup(_))));
    }

    #[test]
    fn uring_fails_clearly_when_unavailable() {
        let r = Io::select(IoChoice::Uring, || {
            Err(Error::MissingOpcode {
                name: "IORING_OP_OPENAT2",
                code: 28,
            })
        });
        assert!(matches!(r, Err(Error::MissingOpcode { code: 28, .. })));
    }

    const fn libc_eperm() -> i32 {
        1
    }
}
