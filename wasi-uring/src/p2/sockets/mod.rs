//! `wasi:sockets`: `network`, `instance-network`, `tcp`,
//! `tcp-create-socket`, `udp`, `udp-create-socket` and `ip-name-lookup`.
//!
//! The interfaces are always linked, so a component that imports them
//! (every componentize-py app does) instantiates; what a guest may do is
//! the context's [`SocketPolicy`], as the wasmtime 49 CLI's `-S` flags
//! decide it: `inherit-network` lets addresses be bound and reached,
//! `tcp` and `udp` let sockets of the protocol be created (each defaults
//! to `inherit-network`), `allow-ip-name-lookup` lets names resolve. A
//! denied operation is `access-denied` (name lookup:
//! `permanent-resolver-failure`), never a trap; a denied connect is
//! reported by `finish-connect`, as wasmtime does.
//!
//! Every socket is nonblocking, as the WIT asks. Waits are reactor ops:
//! a pollable is the descriptor's readiness, which `poll` waits for with a
//! ring `PollAdd` (or the fallback's readiness); stream reads and writes
//! are reactor `Recv`/`Send` ops (`tcp.rs`). The two-phase calls whose
//! first half must return at once are direct nonblocking syscalls:
//! `connect(2)` answering `EINPROGRESS` in `start-connect` (its completion
//! is the socket's writability, as the WIT describes), and UDP's
//! `recvfrom`/`sendto`, which the reactor has no op for (`udp.rs`).

mod error;
mod lookup;
mod tcp;
mod udp;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::OwnedFd;

use ringwasm_jit::component::__internal::Trap;
use ringwasm_jit::component::Resource;
use rustix::net::{AddressFamily, SocketType};

use crate::ctx::WasiCtx;
use crate::p2::bindings::wasi::sockets::{instance_network, network};
use crate::p2::io::table_trap;

pub use error::error_code;
pub use lookup::ResolveAddressStream;
pub use network::{ErrorCode, IpAddressFamily, IpSocketAddress};
pub use tcp::TcpSocket;
pub use udp::{IncomingDatagramStream, OutgoingDatagramStream, UdpSocket};

/// What a guest may do with `wasi:sockets` (`-S` flags of `run`). The
/// default, as `wasmtime run` without flags, allows nothing: every socket
/// creation is `access-denied` and no name resolves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SocketPolicy {
    /// Any address may be bound and reached (`-S inherit-network`).
    pub inherit_network: bool,
    /// TCP sockets may be created (`-S tcp`).
    pub tcp: bool,
    /// UDP sockets may be created (`-S udp`).
    pub udp: bool,
    /// `ip-name-lookup` may resolve names (`-S allow-ip-name-lookup`).
    pub ip_name_lookup: bool,
}

impl SocketPolicy {
    /// Whether `addr` may be bound, connected to or sent to. The CLI's
    /// policy is all or nothing, as wasmtime's; the address is the hook
    /// for finer rules.
    pub(crate) fn allows(&self, _addr: SocketAddr) -> bool {
        self.inherit_network
    }
}

/// The `network` resource: the capability `instance-network` hands out.
/// What it allows is the context's [`SocketPolicy`].
#[derive(Debug)]
pub struct Network;

/// The result type of most socket calls.
pub(crate) type SocketResult<T> = Result<Result<T, ErrorCode>, Trap>;

/// The two address families a socket can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    Ipv4,
    Ipv6,
}

impl From<IpAddressFamily> for Family {
    fn from(f: IpAddressFamily) -> Self {
        match f {
            IpAddressFamily::Ipv4 => Family::Ipv4,
            IpAddressFamily::Ipv6 => Family::Ipv6,
        }
    }
}

impl From<Family> for IpAddressFamily {
    fn from(f: Family) -> Self {
        match f {
            Family::Ipv4 => IpAddressFamily::Ipv4,
            Family::Ipv6 => IpAddressFamily::Ipv6,
        }
    }
}

/// A WIT socket address as a host one.
pub(crate) fn to_std(a: &IpSocketAddress) -> SocketAddr {
    match a {
        IpSocketAddress::Ipv4(v4) => {
            let (a, b, c, d) = v4.address;
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), v4.port))
        }
        IpSocketAddress::Ipv6(v6) => {
            let (a, b, c, d, e, f, g, h) = v6.address;
            SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::new(a, b, c, d, e, f, g, h),
                v6.port,
                v6.flow_info,
                v6.scope_id,
            ))
        }
    }
}

/// A host socket address as a WIT one.
pub(crate) fn from_std(a: SocketAddr) -> IpSocketAddress {
    match a {
        SocketAddr::V4(v4) => {
            let [a, b, c, d] = v4.ip().octets();
            IpSocketAddress::Ipv4(network::Ipv4SocketAddress {
                port: v4.port(),
                address: (a, b, c, d),
            })
        }
        SocketAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h] = v6.ip().segments();
            IpSocketAddress::Ipv6(network::Ipv6SocketAddress {
                port: v6.port(),
                flow_info: v6.flowinfo(),
                address: (a, b, c, d, e, f, g, h),
                scope_id: v6.scope_id(),
            })
        }
    }
}

/// A host IP address as a WIT one.
pub(crate) fn ip_from_std(ip: IpAddr) -> network::IpAddress {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            network::IpAddress::Ipv4((a, b, c, d))
        }
        IpAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h] = v6.segments();
            network::IpAddress::Ipv6((a, b, c, d, e, f, g, h))
        }
    }
}

/// An IPv4-compatible IPv6 address (`::a.b.c.d`, deprecated since RFC
/// 4291): refused like a mapped one, since systems treat them unevenly.
fn is_ipv4_compatible(ip: &Ipv6Addr) -> bool {
    matches!(ip.segments(), [0, 0, 0, 0, 0, 0, _, _])
        && *ip != Ipv6Addr::UNSPECIFIED
        && *ip != Ipv6Addr::LOCALHOST
}

/// Whether `ip` belongs to a socket of `family`: an IPv6 socket refuses
/// IPv4-mapped addresses (the WIT: "`invalid-argument`: ... is an
/// IPv4-mapped IPv6 address"), since its sockets are `IPV6_V6ONLY`.
pub(crate) fn family_matches(ip: IpAddr, family: Family) -> bool {
    match (family, ip) {
        (Family::Ipv4, IpAddr::V4(_)) => true,
        (Family::Ipv6, IpAddr::V6(v6)) => v6.to_ipv4_mapped().is_none() && !is_ipv4_compatible(&v6),
        _ => false,
    }
}

/// Whether `ip` is a unicast address (not multicast, not broadcast).
pub(crate) fn is_unicast(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => !v4.is_multicast() && !v4.is_broadcast(),
        IpAddr::V6(v6) => !v6.is_multicast(),
    }
}

/// Whether `addr` can be a remote end: a specified address and a port.
pub(crate) fn is_remote(addr: SocketAddr) -> bool {
    !addr.ip().to_canonical().is_unspecified() && addr.port() != 0
}

/// A new nonblocking, close-on-exec socket (`IPV6_V6ONLY` for IPv6, as
/// the WIT requires).
pub(crate) fn new_socket(family: Family, ty: SocketType) -> Result<OwnedFd, ErrorCode> {
    let af = match family {
        Family::Ipv4 => AddressFamily::INET,
        Family::Ipv6 => AddressFamily::INET6,
    };
    let fd = sys::socket(af, ty).map_err(|e| error_code(&e.into()))?;
    if family == Family::Ipv6 {
        rustix::net::sockopt::set_ipv6_v6only(&fd, true).map_err(|e| error_code(&e.into()))?;
    }
    Ok(fd)
}

#[cfg(target_os = "linux")]
mod sys {
    use std::os::fd::OwnedFd;

    use rustix::net::{AddressFamily, SocketFlags, SocketType};

    /// `socket(2)` with `SOCK_NONBLOCK | SOCK_CLOEXEC`.
    pub(super) fn socket(af: AddressFamily, ty: SocketType) -> rustix::io::Result<OwnedFd> {
        rustix::net::socket_with(af, ty, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC, None)
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use std::os::fd::{AsFd, OwnedFd};

    use rustix::fs::OFlags;
    use rustix::net::{AddressFamily, SocketType};

    /// `socket(2)`, then `FD_CLOEXEC`, `O_NONBLOCK` and `SO_NOSIGPIPE`
    /// (macOS has no socket flags and no `MSG_NOSIGNAL` on every send).
    pub(super) fn socket(af: AddressFamily, ty: SocketType) -> rustix::io::Result<OwnedFd> {
        let fd = rustix::net::socket(af, ty, None)?;
        rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)?;
        let fl = rustix::fs::fcntl_getfl(&fd)?;
        rustix::fs::fcntl_setfl(&fd, fl | OFlags::NONBLOCK)?;
        crate::p1::sock::no_sigpipe(fd.as_fd())?;
        Ok(fd)
    }
}

/// Options both protocols share: hop limit and buffer sizes.
pub(crate) mod opts {
    use std::os::fd::AsFd;

    use super::{ErrorCode, Family, error_code};

    fn code(e: rustix::io::Errno) -> ErrorCode {
        error_code(&e.into())
    }

    /// `IP_TTL` or `IPV6_UNICAST_HOPS`.
    pub(crate) fn hop_limit(fd: impl AsFd, family: Family) -> Result<u8, ErrorCode> {
        match family {
            Family::Ipv4 => {
                let v = rustix::net::sockopt::ip_ttl(fd).map_err(code)?;
                u8::try_from(v).map_err(|_| ErrorCode::NotSupported)
            }
            Family::Ipv6 => rustix::net::sockopt::ipv6_unicast_hops(fd).map_err(code),
        }
    }

    /// Sets `IP_TTL` or `IPV6_UNICAST_HOPS`; 0 is `invalid-argument`, as
    /// the WIT says (kernels disagree on it, so it is checked here).
    pub(crate) fn set_hop_limit(fd: impl AsFd, family: Family, v: u8) -> Result<(), ErrorCode> {
        if v == 0 {
            return Err(ErrorCode::InvalidArgument);
        }
        match family {
            Family::Ipv4 => rustix::net::sockopt::set_ip_ttl(fd, u32::from(v)),
            Family::Ipv6 => rustix::net::sockopt::set_ipv6_unicast_hops(fd, Some(v)),
        }
        .map_err(code)
    }

    /// Linux reports twice the size set (the kernel's bookkeeping share);
    /// halved, a guest reads back about what it asked for.
    fn reported(v: usize) -> u64 {
        let v = if cfg!(target_os = "linux") { v / 2 } else { v };
        u64::try_from(v).unwrap_or(u64::MAX)
    }

    /// A size to pass to `SO_RCVBUF`/`SO_SNDBUF`: 0 is `invalid-argument`,
    /// anything else is clamped to what the option holds.
    fn to_set(v: u64) -> Result<usize, ErrorCode> {
        if v == 0 {
            return Err(ErrorCode::InvalidArgument);
        }
        let max = i32::MAX as usize;
        Ok(usize::try_from(v).unwrap_or(max).min(max))
    }

    /// `SO_RCVBUF`.
    pub(crate) fn receive_buffer_size(fd: impl AsFd) -> Result<u64, ErrorCode> {
        rustix::net::sockopt::socket_recv_buffer_size(fd)
            .map(reported)
            .map_err(code)
    }

    /// Sets `SO_RCVBUF` (a hint: the kernel clamps it, and an `ENOBUFS` from
    /// a BSD that refuses a large one is no error).
    pub(crate) fn set_receive_buffer_size(fd: impl AsFd, v: u64) -> Result<(), ErrorCode> {
        match rustix::net::sockopt::set_socket_recv_buffer_size(fd, to_set(v)?) {
            Ok(()) | Err(rustix::io::Errno::NOBUFS) => Ok(()),
            Err(e) => Err(code(e)),
        }
    }

    /// `SO_SNDBUF`.
    pub(crate) fn send_buffer_size(fd: impl AsFd) -> Result<u64, ErrorCode> {
        rustix::net::sockopt::socket_send_buffer_size(fd)
            .map(reported)
            .map_err(code)
    }

    /// Sets `SO_SNDBUF` (a hint, as [`set_receive_buffer_size`]).
    pub(crate) fn set_send_buffer_size(fd: impl AsFd, v: u64) -> Result<(), ErrorCode> {
        match rustix::net::sockopt::set_socket_send_buffer_size(fd, to_set(v)?) {
            Ok(()) | Err(rustix::io::Errno::NOBUFS) => Ok(()),
            Err(e) => Err(code(e)),
        }
    }
}

impl WasiCtx {
    /// The `network` handle `n` (only its validity matters: what it allows
    /// is the context's policy).
    pub(crate) fn check_network(&mut self, n: &Resource<Network>) -> Result<(), Trap> {
        self.p2.table.get(n).map_err(table_trap).map(drop)
    }
}

// `network-error-code` is `@unstable` in the WIT (wasmtime's `-S
// network-error-code`), so the bindings leave it out.
impl network::Host for WasiCtx {
    fn network_drop(&mut self, rep: Resource<Network>) -> Result<(), Trap> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }
}

impl instance_network::Host for WasiCtx {
    fn instance_network(&mut self) -> Result<Resource<Network>, Trap> {
        self.p2.table.push(Network).map_err(table_trap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_through_wit() {
        for a in [
            "127.0.0.1:80".parse::<SocketAddr>().unwrap(),
            "[::1]:443".parse().unwrap(),
            SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 9, 7, 3)),
        ] {
            assert_eq!(to_std(&from_std(a)), a);
        }
    }

    #[test]
    fn ipv6_sockets_refuse_mapped_and_compatible_addresses() {
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let compat: IpAddr = "::1.2.3.4".parse().unwrap();
        assert!(!family_matches(mapped, Family::Ipv6));
        assert!(!family_matches(compat, Family::Ipv6));
        assert!(family_matches("::1".parse().unwrap(), Family::Ipv6));
        assert!(family_matches("::".parse().unwrap(), Family::Ipv6));
        assert!(!family_matches("::1".parse().unwrap(), Family::Ipv4));
    }

    #[test]
    fn remote_addresses_need_an_address_and_a_port() {
        assert!(!is_remote("0.0.0.0:80".parse().unwrap()));
        assert!(!is_remote("127.0.0.1:0".parse().unwrap()));
        assert!(!is_remote("[::ffff:0.0.0.0]:80".parse().unwrap()));
        assert!(is_remote("127.0.0.1:80".parse().unwrap()));
        assert!(!is_unicast("255.255.255.255".parse().unwrap()));
        assert!(!is_unicast("224.0.0.1".parse().unwrap()));
        assert!(!is_unicast("ff02::1".parse().unwrap()));
    }

    #[test]
    fn the_default_policy_allows_nothing() {
        let p = SocketPolicy::default();
        assert!(!p.tcp && !p.udp && !p.inherit_network && !p.ip_name_lookup);
        assert!(!p.allows("127.0.0.1:1".parse().unwrap()));
    }
}
