//! `wasi:sockets/udp` and `udp-create-socket`.
//!
//! Datagrams carry their peer's address, which the reactor's `Recv` and
//! `Send` ops do not: `receive` and `send` are direct nonblocking
//! `recvfrom`/`sendto` calls (`MSG_DONTWAIT`; neither ever waits, as the
//! WIT asks), and waiting is the streams' pollables, which `poll` turns
//! into reactor `PollAdd`s like every other descriptor's.

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::rc::Rc;

use ringwasm_jit::component::__internal::Trap;
use ringwasm_jit::component::Resource;
use rustix::net::{RecvFlags, SendFlags, SocketType};

use super::{ErrorCode, Family, IpSocketAddress, Network, SocketResult, error_code, opts};
use crate::ctx::WasiCtx;
use crate::p2::bindings::wasi::sockets::{network::IpAddressFamily, udp, udp_create_socket};
use crate::p2::io::{Pollable, Readiness, table_trap, writable_now};

/// The largest datagram (the IP payload limit of a UDP length field).
pub const MAX_DATAGRAM: usize = u16::MAX as usize;

/// How many datagrams one `check-send` permits (wasmtime's number).
const SEND_PERMIT: u64 = 16;

/// Where a socket is: the WIT's `bind` is two-phase, `stream` connects.
#[derive(Clone, Copy)]
enum State {
    Unbound,
    BindStarted,
    Bound,
    Connected(SocketAddr),
}

/// A `udp-socket`.
pub struct UdpSocket {
    fd: Rc<OwnedFd>,
    family: Family,
    state: State,
    /// Cloned into every stream: more than one owner means streams are
    /// still alive.
    streams: Rc<()>,
}

impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UdpSocket")
    }
}

/// An `incoming-datagram-stream`.
pub struct IncomingDatagramStream {
    fd: Rc<OwnedFd>,
    remote: Option<SocketAddr>,
    buf: Vec<u8>,
    _socket: Rc<()>,
}

impl std::fmt::Debug for IncomingDatagramStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IncomingDatagramStream")
    }
}

/// What an outgoing stream has permitted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Send {
    /// `check-send` has not been called since the last `send`.
    Idle,
    /// `check-send` permitted this many datagrams.
    Permitted(u64),
    /// The last `send` found the socket full: `check-send` says 0 until
    /// it is writable.
    Waiting,
}

/// An `outgoing-datagram-stream`.
pub struct OutgoingDatagramStream {
    fd: Rc<OwnedFd>,
    remote: Option<SocketAddr>,
    family: Family,
    send: Send,
    _socket: Rc<()>,
}

impl std::fmt::Debug for OutgoingDatagramStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutgoingDatagramStream")
    }
}

fn code(e: rustix::io::Errno) -> ErrorCode {
    error_code(&e.into())
}

/// Flags of every send: never wait, never `SIGPIPE`.
#[cfg(target_os = "linux")]
const SEND_FLAGS: SendFlags = SendFlags::DONTWAIT.union(SendFlags::NOSIGNAL);

/// Flags of every send: never wait (the socket is `SO_NOSIGPIPE`).
#[cfg(not(target_os = "linux"))]
const SEND_FLAGS: SendFlags = SendFlags::DONTWAIT;

impl IncomingDatagramStream {
    /// One datagram, `None` when none is waiting or it came from another
    /// peer than the stream's (which the kernel already filters).
    fn recv_one(&mut self) -> Result<Option<udp::IncomingDatagram>, rustix::io::Errno> {
        self.buf.resize(MAX_DATAGRAM, 0);
        let (n, _, from) =
            rustix::net::recvfrom(&*self.fd, &mut self.buf[..], RecvFlags::DONTWAIT)?;
        let Some(from) = from.and_then(|a| SocketAddr::try_from(a).ok()) else {
            return Ok(None);
        };
        if self.remote.is_some_and(|r| r != from) {
            return Ok(None);
        }
        Ok(Some(udp::IncomingDatagram {
            data: self.buf[..n].to_vec(),
            remote_address: super::from_std(from),
        }))
    }
}

impl OutgoingDatagramStream {
    fn send_one(
        &self,
        d: &udp::OutgoingDatagram,
        policy: &super::SocketPolicy,
    ) -> Result<(), ErrorCode> {
        if d.data.len() > MAX_DATAGRAM {
            return Err(ErrorCode::DatagramTooLarge);
        }
        let given = d.remote_address.as_ref().map(super::to_std);
        let addr = match (self.remote, given) {
            (None, Some(a)) => {
                if !policy.allows(a) {
                    return Err(ErrorCode::AccessDenied);
                }
                a
            }
            (Some(r), None) => r,
            (Some(r), Some(a)) if r == a => r,
            // No address anywhere, or not the one the stream is bound to.
            _ => return Err(ErrorCode::InvalidArgument),
        };
        if !super::is_remote(addr) || !super::family_matches(addr.ip(), self.family) {
            return Err(ErrorCode::InvalidArgument);
        }
        let r = if self.remote.is_some() {
            rustix::net::send(&*self.fd, &d.data, SEND_FLAGS)
        } else {
            rustix::net::sendto(&*self.fd, &d.data, SEND_FLAGS, &addr)
        };
        r.map(drop).map_err(code)
    }
}

impl WasiCtx {
    fn udp(&mut self, r: &Resource<UdpSocket>) -> Result<&mut UdpSocket, Trap> {
        self.p2.table.get_mut(r).map_err(table_trap)
    }
}

impl udp::Host for WasiCtx {
    fn udp_socket_start_bind(
        &mut self,
        self_: Resource<UdpSocket>,
        network: Resource<Network>,
        local_address: IpSocketAddress,
    ) -> SocketResult<()> {
        self.check_network(&network)?;
        let addr = super::to_std(&local_address);
        if !self.p2.sockets.allows(addr) {
            return Ok(Err(ErrorCode::AccessDenied));
        }
        let s = self.udp(&self_)?;
        if !matches!(s.state, State::Unbound) {
            return Ok(Err(ErrorCode::InvalidState));
        }
        if !super::family_matches(addr.ip(), s.family) {
            return Ok(Err(ErrorCode::InvalidArgument));
        }
        if let Err(e) = rustix::net::bind(&*s.fd, &addr) {
            return Ok(Err(match e {
                rustix::io::Errno::AFNOSUPPORT => ErrorCode::InvalidArgument,
                e => code(e),
            }));
        }
        s.state = State::BindStarted;
        Ok(Ok(()))
    }

    fn udp_socket_finish_bind(&mut self, self_: Resource<UdpSocket>) -> SocketResult<()> {
        let s = self.udp(&self_)?;
        if !matches!(s.state, State::BindStarted) {
            return Ok(Err(ErrorCode::NotInProgress));
        }
        s.state = State::Bound;
        Ok(Ok(()))
    }

    fn udp_socket_stream(
        &mut self,
        self_: Resource<UdpSocket>,
        remote_address: Option<IpSocketAddress>,
    ) -> SocketResult<(
        Resource<IncomingDatagramStream>,
        Resource<OutgoingDatagramStream>,
    )> {
        let policy = self.p2.sockets;
        let s = self.udp(&self_)?;
        if Rc::strong_count(&s.streams) > 1 {
            // The WIT allows a trap here; a guest that keeps the old pair
            // would read from a stream that no longer applies.
            return Err(Trap::host("UDP streams not dropped yet"));
        }
        match s.state {
            State::Bound | State::Connected(_) => {}
            State::Unbound | State::BindStarted => return Ok(Err(ErrorCode::InvalidState)),
        }
        let remote = remote_address.as_ref().map(super::to_std);
        // Disconnect first, so that a failed connect leaves an
        // unconnected socket (and Linux reconnects cleanly).
        if let State::Connected(_) = s.state {
            if let Err(e) = rustix::net::connect_unspec(&*s.fd) {
                return Ok(Err(code(e)));
            }
            s.state = State::Bound;
        }
        if let Some(addr) = remote {
            if !policy.allows(addr) {
                return Ok(Err(ErrorCode::AccessDenied));
            }
            if !super::is_remote(addr) || !super::family_matches(addr.ip(), s.family) {
                return Ok(Err(ErrorCode::InvalidArgument));
            }
            if let Err(e) = rustix::net::connect(&*s.fd, &addr) {
                return Ok(Err(match e {
                    // Linux: no ephemeral port left for the implicit bind.
                    rustix::io::Errno::ADDRNOTAVAIL => ErrorCode::AddressInUse,
                    rustix::io::Errno::AFNOSUPPORT => ErrorCode::InvalidArgument,
                    e => code(e),
                }));
            }
            s.state = State::Connected(addr);
        }
        let incoming = IncomingDatagramStream {
            fd: s.fd.clone(),
            remote,
            buf: Vec::new(),
            _socket: s.streams.clone(),
        };
        let outgoing = OutgoingDatagramStream {
            fd: s.fd.clone(),
            remote,
            family: s.family,
            send: Send::Idle,
            _socket: s.streams.clone(),
        };
        let table = &mut self.p2.table;
        let incoming = table.push_child(incoming, &self_).map_err(table_trap)?;
        let outgoing = table.push_child(outgoing, &self_).map_err(table_trap)?;
        Ok(Ok((incoming, outgoing)))
    }

    fn udp_socket_local_address(
        &mut self,
        self_: Resource<UdpSocket>,
    ) -> SocketResult<IpSocketAddress> {
        let s = self.udp(&self_)?;
        if !matches!(s.state, State::Bound | State::Connected(_)) {
            return Ok(Err(ErrorCode::InvalidState));
        }
        Ok(rustix::net::getsockname(&*s.fd)
            .map_err(code)
            .and_then(|a| SocketAddr::try_from(a).map_err(|_| ErrorCode::NotSupported))
            .map(super::from_std))
    }

    fn udp_socket_remote_address(
        &mut self,
        self_: Resource<UdpSocket>,
    ) -> SocketResult<IpSocketAddress> {
        let s = self.udp(&self_)?;
        Ok(match s.state {
            State::Connected(a) => Ok(super::from_std(a)),
            _ => Err(ErrorCode::InvalidState),
        })
    }

    fn udp_socket_address_family(
        &mut self,
        self_: Resource<UdpSocket>,
    ) -> Result<IpAddressFamily, Trap> {
        Ok(self.udp(&self_)?.family.into())
    }

    fn udp_socket_unicast_hop_limit(&mut self, self_: Resource<UdpSocket>) -> SocketResult<u8> {
        let s = self.udp(&self_)?;
        Ok(opts::hop_limit(&*s.fd, s.family))
    }

    fn udp_socket_set_unicast_hop_limit(
        &mut self,
        self_: Resource<UdpSocket>,
        value: u8,
    ) -> SocketResult<()> {
        let s = self.udp(&self_)?;
        Ok(opts::set_hop_limit(&*s.fd, s.family, value))
    }

    fn udp_socket_receive_buffer_size(&mut self, self_: Resource<UdpSocket>) -> SocketResult<u64> {
        let s = self.udp(&self_)?;
        Ok(opts::receive_buffer_size(&*s.fd))
    }

    fn udp_socket_set_receive_buffer_size(
        &mut self,
        self_: Resource<UdpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        let s = self.udp(&self_)?;
        Ok(opts::set_receive_buffer_size(&*s.fd, value))
    }

    fn udp_socket_send_buffer_size(&mut self, self_: Resource<UdpSocket>) -> SocketResult<u64> {
        let s = self.udp(&self_)?;
        Ok(opts::send_buffer_size(&*s.fd))
    }

    fn udp_socket_set_send_buffer_size(
        &mut self,
        self_: Resource<UdpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        let s = self.udp(&self_)?;
        Ok(opts::set_send_buffer_size(&*s.fd, value))
    }

    fn udp_socket_subscribe(
        &mut self,
        self_: Resource<UdpSocket>,
    ) -> Result<Resource<Pollable>, Trap> {
        // No socket-level operation of UDP waits.
        self.udp(&self_)?;
        self.pollable_for(&self_, Readiness::Ready)
    }

    fn udp_socket_drop(&mut self, rep: Resource<UdpSocket>) -> Result<(), Trap> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }

    fn incoming_datagram_stream_receive(
        &mut self,
        self_: Resource<IncomingDatagramStream>,
        max_results: u64,
    ) -> SocketResult<Vec<udp::IncomingDatagram>> {
        let s = self.p2.table.get_mut(&self_).map_err(table_trap)?;
        let mut got = Vec::new();
        while (got.len() as u64) < max_results {
            match s.recv_one() {
                Ok(Some(d)) => got.push(d),
                Ok(None) => {}
                Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => break,
                // What was received is returned; the error comes again.
                Err(_) if !got.is_empty() => break,
                Err(e) => return Ok(Err(code(e))),
            }
        }
        Ok(Ok(got))
    }

    fn incoming_datagram_stream_subscribe(
        &mut self,
        self_: Resource<IncomingDatagramStream>,
    ) -> Result<Resource<Pollable>, Trap> {
        let fd = self.p2.table.get(&self_).map_err(table_trap)?.fd.clone();
        self.pollable_for(&self_, Readiness::Readable(fd))
    }

    fn incoming_datagram_stream_drop(
        &mut self,
        rep: Resource<IncomingDatagramStream>,
    ) -> Result<(), Trap> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }

    fn outgoing_datagram_stream_check_send(
        &mut self,
        self_: Resource<OutgoingDatagramStream>,
    ) -> SocketResult<u64> {
        let s = self.p2.table.get_mut(&self_).map_err(table_trap)?;
        if s.send == Send::Waiting && writable_now(&s.fd) {
            s.send = Send::Idle;
        }
        Ok(Ok(match s.send {
            Send::Idle => {
                s.send = Send::Permitted(SEND_PERMIT);
                SEND_PERMIT
            }
            Send::Permitted(n) => n,
            Send::Waiting => 0,
        }))
    }

    fn outgoing_datagram_stream_send(
        &mut self,
        self_: Resource<OutgoingDatagramStream>,
        datagrams: Vec<udp::OutgoingDatagram>,
    ) -> SocketResult<u64> {
        let policy = self.p2.sockets;
        let s = self.p2.table.get_mut(&self_).map_err(table_trap)?;
        match s.send {
            Send::Permitted(n) if n >= datagrams.len() as u64 => s.send = Send::Idle,
            Send::Permitted(_) => {
                return Err(Trap::host("unpermitted: argument exceeds permitted size"));
            }
            Send::Idle | Send::Waiting => {
                return Err(Trap::host("unpermitted: must call check-send first"));
            }
        }
        let mut sent = 0;
        for d in &datagrams {
            match s.send_one(d, &policy) {
                Ok(()) => sent += 1,
                // The WIT: once one datagram went, `send` never fails.
                Err(_) if sent > 0 => break,
                Err(ErrorCode::WouldBlock) => {
                    s.send = Send::Waiting;
                    break;
                }
                Err(e) => return Ok(Err(e)),
            }
        }
        Ok(Ok(sent))
    }

    fn outgoing_datagram_stream_subscribe(
        &mut self,
        self_: Resource<OutgoingDatagramStream>,
    ) -> Result<Resource<Pollable>, Trap> {
        let s = self.p2.table.get(&self_).map_err(table_trap)?;
        let r = if s.send == Send::Waiting {
            Readiness::Writable(s.fd.clone())
        } else {
            Readiness::Ready
        };
        self.pollable_for(&self_, r)
    }

    fn outgoing_datagram_stream_drop(
        &mut self,
        rep: Resource<OutgoingDatagramStream>,
    ) -> Result<(), Trap> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }
}

impl udp_create_socket::Host for WasiCtx {
    fn create_udp_socket(
        &mut self,
        address_family: IpAddressFamily,
    ) -> SocketResult<Resource<UdpSocket>> {
        if !self.p2.sockets.udp {
            return Ok(Err(ErrorCode::AccessDenied));
        }
        let family = Family::from(address_family);
        let fd = match super::new_socket(family, SocketType::DGRAM) {
            Ok(fd) => fd,
            Err(e) => return Ok(Err(e)),
        };
        let s = UdpSocket {
            fd: Rc::new(fd),
            family,
            state: State::Unbound,
            streams: Rc::new(()),
        };
        self.p2.table.push(s).map(Ok).map_err(table_trap)
    }
}
