//! WASI 0.2 (`wasi:*@0.2.x`) for components, on the same backends as
//! Preview 1: the same reactor and inline ring, the same `openat2`
//! sandbox and errno mapping. Host bindings are generated from the
//! standard WIT ([`bindings`]); each interface's `Host` trait is
//! implemented for [`WasiCtx`] in the module of its
//! package.

pub mod bindings;
pub mod cli;
pub mod clocks;
pub mod filesystem;
pub mod io;
pub mod random;
pub mod sockets;

use std::os::fd::OwnedFd;
use std::rc::Rc;

use ringwasm_jit::component::{Linker, ResourceTable};

use crate::ctx::WasiCtx;

/// The component-model part of a [`WasiCtx`]: the host's resource table
/// and the descriptors 0.2 resources are made from.
#[derive(Debug)]
pub struct P2State {
    pub(crate) table: ResourceTable,
    /// stdin, stdout, stderr.
    pub(crate) stdio: [Rc<OwnedFd>; 3],
    /// Preopened directories and their guest names.
    pub(crate) preopens: Vec<(Rc<OwnedFd>, String)>,
    /// `wasi:random/insecure-seed`'s value, chosen on first use.
    pub(crate) insecure_seed: Option<(u64, u64)>,
    /// What `wasi:sockets` may do.
    pub(crate) sockets: sockets::SocketPolicy,
}

impl P2State {
    pub(crate) fn new(
        stdio: [Rc<OwnedFd>; 3],
        preopens: Vec<(Rc<OwnedFd>, String)>,
        sockets: sockets::SocketPolicy,
    ) -> Self {
        P2State {
            table: ResourceTable::new(),
            stdio,
            preopens,
            insecure_seed: None,
            sockets,
        }
    }

    /// The host resource table.
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

/// Add every WASI 0.2 interface ringwasm implements to `linker`; `get`
/// finds the [`WasiCtx`] in the store's data. `wasi:sockets` is always
/// linked: what it may do is the context's [`sockets::SocketPolicy`].
///
/// # Errors
///
/// When a name is already defined.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut WasiCtx,
) -> Result<(), ringwasm_jit::Error> {
    use bindings::wasi;
    wasi::io::error::add_to_linker(linker, get)?;
    wasi::io::poll::add_to_linker(linker, get)?;
    wasi::io::streams::add_to_linker(linker, get)?;
    wasi::cli::environment::add_to_linker(linker, get)?;
    wasi::cli::exit::add_to_linker(linker, get)?;
    wasi::cli::stdin::add_to_linker(linker, get)?;
    wasi::cli::stdout::add_to_linker(linker, get)?;
    wasi::cli::stderr::add_to_linker(linker, get)?;
    wasi::cli::terminal_input::add_to_linker(linker, get)?;
    wasi::cli::terminal_output::add_to_linker(linker, get)?;
    wasi::cli::terminal_stdin::add_to_linker(linker, get)?;
    wasi::cli::terminal_stdout::add_to_linker(linker, get)?;
    wasi::cli::terminal_stderr::add_to_linker(linker, get)?;
    wasi::clocks::monotonic_clock::add_to_linker(linker, get)?;
    wasi::clocks::wall_clock::add_to_linker(linker, get)?;
    wasi::filesystem::types::add_to_linker(linker, get)?;
    wasi::filesystem::preopens::add_to_linker(linker, get)?;
    wasi::random::random::add_to_linker(linker, get)?;
    wasi::random::insecure::add_to_linker(linker, get)?;
    wasi::random::insecure_seed::add_to_linker(linker, get)?;
    wasi::sockets::network::add_to_linker(linker, get)?;
    wasi::sockets::instance_network::add_to_linker(linker, get)?;
    wasi::sockets::tcp::add_to_linker(linker, get)?;
    wasi::sockets::tcp_create_socket::add_to_linker(linker, get)?;
    wasi::sockets::udp::add_to_linker(linker, get)?;
    wasi::sockets::udp_create_socket::add_to_linker(linker, get)?;
    wasi::sockets::ip_name_lookup::add_to_linker(linker, get)?;
    Ok(())
}
