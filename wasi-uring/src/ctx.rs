//! The per-instance WASI state and its builder.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use crate::error::Errno;
use crate::fd_table::{FdEntry, FdKind, FdTable};
use ringwasm_reactor::inline::Inline;

use crate::io::{Io, IoChoice};
use crate::p1::types::{filetype, rights};
use crate::preopen::{PreopenSpec, Resolution};

/// Errors while building a [`WasiCtx`] (host side, before the guest runs).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A preopened directory could not be opened.
    #[error("cannot preopen `{}`: {source}", host.display())]
    Preopen {
        /// The host path.
        host: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The I/O backend asked for could not be set up.
    #[error("cannot set up the {choice} I/O backend: {source}")]
    Io {
        /// What was asked for.
        choice: IoChoice,
        /// Why.
        source: ringwasm_reactor::Error,
    },
    /// Standard I/O could not be duplicated.
    #[error("cannot duplicate standard I/O: {0}")]
    Stdio(std::io::Error),
}

/// The WASI state of one instance: arguments, environment, fd table, sandbox.
#[derive(Debug)]
pub struct WasiCtx {
    pub(crate) args: Vec<Vec<u8>>,
    pub(crate) env: Vec<Vec<u8>>,
    pub(crate) table: FdTable,
    pub(crate) resolution: Resolution,
    pub(crate) io: IoChoice,
    /// The backend: `poll_oneoff` waits on its driver.
    pub(crate) reactor: Io,
    /// Runs the one op a blocked host call waits for (see
    /// [`ringwasm_reactor::inline`]): every other guest I/O op.
    pub(crate) inline: std::rc::Rc<Inline>,
    /// The `memory` export of the instance that called last: host calls
    /// look it up once per instance instead of by name on every call.
    pub(crate) memory: Option<(ringwasm_jit::Instance, ringwasm_jit::Memory)>,
    /// WASI 0.2 state (components).
    pub(crate) p2: crate::p2::P2State,
}

impl WasiCtx {
    /// A builder.
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }

    /// The fd table.
    pub fn table(&self) -> &FdTable {
        &self.table
    }

    /// The path resolver in use.
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }

    /// The I/O backend asked for.
    pub fn io(&self) -> IoChoice {
        self.io
    }

    /// The backend in use (what `auto` resolved to, and why it fell back).
    pub fn reactor(&self) -> &Io {
        &self.reactor
    }
}

/// Builds a [`WasiCtx`]: arguments, environment, stdio, preopens, backend.
#[derive(Debug, Default)]
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdio: [Option<OwnedFd>; 3],
    inherit_stdio: bool,
    preopens: Vec<PreopenSpec>,
    sockets: Vec<OwnedFd>,
    resolution: Option<Resolution>,
    io: IoChoice,
    socket_policy: crate::p2::sockets::SocketPolicy,
    shared: Option<(ringwasm_reactor::Driver, std::rc::Rc<Inline>)>,
}

impl WasiCtxBuilder {
    /// An empty builder: no args, no env, no stdio, no preopens.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one argument (the first is the program name, `argv[0]`).
    pub fn arg(&mut self, a: impl Into<String>) -> &mut Self {
        self.args.push(a.into());
        self
    }

    /// Appends arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, a: I) -> &mut Self {
        self.args.extend(a.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable.
    pub fn env(&mut self, k: impl Into<String>, v: impl Into<String>) -> &mut Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Gives the guest the host's stdin, stdout and stderr.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.inherit_stdio = true;
        self
    }

    /// Uses `fd` as the guest's stdin (0), stdout (1) or stderr (2).
    ///
    /// # Panics
    ///
    /// When `which > 2`.
    pub fn stdio(&mut self, which: usize, fd: OwnedFd) -> &mut Self {
        assert!(which < 3, "stdio index is 0, 1 or 2");
        self.stdio[which] = Some(fd);
        self
    }

    /// Preopens a directory (`--dir HOST[::GUEST]`).
    pub fn preopen(&mut self, spec: PreopenSpec) -> &mut Self {
        self.preopens.push(spec);
        self
    }

    /// Preopens `host` as `guest`.
    pub fn preopen_dir(&mut self, host: impl AsRef<Path>, guest: impl Into<String>) -> &mut Self {
        self.preopen(PreopenSpec {
            host: host.as_ref().to_path_buf(),
            guest: guest.into(),
        })
    }

    /// Hands the guest a socket (a listener for `sock_accept`, or a
    /// connection), numbered after the preopens: Preview 1 cannot create
    /// sockets itself.
    pub fn socket(&mut self, fd: OwnedFd) -> &mut Self {
        self.sockets.push(fd);
        self
    }

    /// What WASI 0.2 `wasi:sockets` may do (default: wasmtime's, sockets
    /// but no address and no name lookup).
    pub fn socket_policy(&mut self, p: crate::p2::sockets::SocketPolicy) -> &mut Self {
        self.socket_policy = p;
        self
    }

    /// Forces a path resolver (default: detect `openat2`).
    pub fn resolution(&mut self, r: Resolution) -> &mut Self {
        self.resolution = Some(r);
        self
    }

    /// Chooses the I/O backend. The epoll fallback also uses the checked
    /// walk for paths, as it does where `openat2` is missing.
    pub fn io(&mut self, io: IoChoice) -> &mut Self {
        self.io = io;
        self
    }

    /// Runs the guest's I/O on this thread's `driver` and `inline` ring
    /// instead of a backend of its own: what a server making a context per
    /// request uses (no ring is set up per context, and the guest's waits
    /// are completed by the server's executor).
    pub fn shared_io(
        &mut self,
        driver: ringwasm_reactor::Driver,
        inline: std::rc::Rc<Inline>,
    ) -> &mut Self {
        self.shared = Some((driver, inline));
        self
    }

    /// Builds the context: fds 0–2 are stdio (`/dev/null` when not given),
    /// then the preopens in order from 3.
    ///
    /// # Errors
    ///
    /// When a preopen cannot be opened or stdio cannot be duplicated.
    pub fn build(&mut self) -> Result<WasiCtx, BuildError> {
        let mut table = FdTable::new();
        for i in 0..3 {
            let fd = match self.stdio[i].take() {
                Some(fd) => fd,
                None if self.inherit_stdio => {
                    let r = match i {
                        0 => std::io::stdin().as_fd().try_clone_to_owned(),
                        1 => std::io::stdout().as_fd().try_clone_to_owned(),
                        _ => std::io::stderr().as_fd().try_clone_to_owned(),
                    };
                    r.map_err(BuildError::Stdio)?
                }
                None => std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open("/dev/null")
                    .map_err(BuildError::Stdio)?
                    .into(),
            };
            // wasmtime's view of stdio: a stream that may only be read (0)
            // or written (1, 2), whatever the host fd is.
            let mut e = FdEntry::new(fd, FdKind::Stdio, filetype::CHARACTER_DEVICE);
            e.rights_base = if i == 0 {
                rights::FD_READ
            } else {
                rights::FD_WRITE
            };
            e.rights_inheriting = 0;
            table
                .push(e)
                .map_err(|e: Errno| BuildError::Stdio(std::io::Error::other(e)))?;
        }
        for p in &self.preopens {
            let dir = std::fs::File::open(&p.host).map_err(|source| BuildError::Preopen {
                host: p.host.clone(),
                source,
            })?;
            if !dir.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                return Err(BuildError::Preopen {
                    host: p.host.clone(),
                    source: std::io::Error::from_raw_os_error(libc::ENOTDIR),
                });
            }
            let e = FdEntry::new(
                dir.into(),
                FdKind::Dir {
                    preopen: Some(p.guest.clone()),
                },
                filetype::DIRECTORY,
            );
            table
                .push(e)
                .map_err(|e: Errno| BuildError::Stdio(std::io::Error::other(e)))?;
        }
        for s in self.sockets.drain(..) {
            #[cfg(not(target_os = "linux"))]
            if let Err(err) = crate::p1::sock::no_sigpipe(std::os::fd::AsFd::as_fd(&s)) {
                // Not fatal: sends on it report their own errno.
                tracing::warn!("cannot set SO_NOSIGPIPE on a guest socket: {err}");
            }
            let e = FdEntry::new(s, FdKind::Socket, filetype::SOCKET_STREAM);
            table
                .push(e)
                .map_err(|e: Errno| BuildError::Stdio(std::io::Error::other(e)))?;
        }
        let (reactor, inline) = match self.shared.take() {
            Some((driver, inline)) => (Io::from_driver(driver), inline),
            None => {
                let reactor = Io::new(self.io).map_err(|source| BuildError::Io {
                    choice: self.io,
                    source,
                })?;
                let inline = Inline::new(reactor.driver());
                if let Some(why) = inline.no_ring() {
                    tracing::warn!("no inline io_uring ({why}); host calls use direct syscalls");
                }
                (reactor, std::rc::Rc::new(inline))
            }
        };
        let resolution = match (self.resolution, self.io) {
            (Some(r), _) => r,
            (None, IoChoice::Epoll) => Resolution::Walk,
            (None, _) => Resolution::detect(),
        };
        let dup = |fd: std::os::fd::BorrowedFd<'_>| fd.try_clone_to_owned().map(std::rc::Rc::new);
        let stdio = [
            dup(table
                .get(0)
                .map_err(|e| BuildError::Stdio(std::io::Error::other(e)))?
                .fd())
            .map_err(BuildError::Stdio)?,
            dup(table
                .get(1)
                .map_err(|e| BuildError::Stdio(std::io::Error::other(e)))?
                .fd())
            .map_err(BuildError::Stdio)?,
            dup(table
                .get(2)
                .map_err(|e| BuildError::Stdio(std::io::Error::other(e)))?
                .fd())
            .map_err(BuildError::Stdio)?,
        ];
        let mut preopens = Vec::new();
        for (i, p) in self.preopens.iter().enumerate() {
            let fd = table
                .get(3 + i as u32)
                .map_err(|e| BuildError::Stdio(std::io::Error::other(e)))?
                .fd();
            preopens.push((dup(fd).map_err(BuildError::Stdio)?, p.guest.clone()));
        }
        Ok(WasiCtx {
            p2: crate::p2::P2State::new(stdio, preopens, self.socket_policy),
            args: self.args.iter().map(|a| a.clone().into_bytes()).collect(),
            env: self
                .env
                .iter()
                .map(|(k, v)| format!("{k}={v}").into_bytes())
                .collect(),
            table,
            resolution,
            io: self.io,
            reactor,
            inline,
            memory: None,
        })
    }
}
