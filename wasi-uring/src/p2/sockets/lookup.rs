//! `wasi:sockets/ip-name-lookup`.
//!
//! `resolve-addresses` answers an IP literal at once and refuses what is
//! no host name (`invalid-argument`), as the WIT asks; a Unicode name
//! becomes ASCII with Punycode (RFC 3492); a name is resolved
//! by the system resolver (`getaddrinfo`) on a thread of its own, since
//! no resolver call can be a ring op. The thread holds one end of a socket
//! pair and closes it when done, so the stream's pollable is the other
//! end becoming readable: an ordinary descriptor wait on the reactor.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use ringwasm_jit::component::__internal::Trap;
use ringwasm_jit::component::Resource;

use super::{ErrorCode, Network, SocketResult};
use crate::ctx::WasiCtx;
use crate::p2::bindings::wasi::sockets::{ip_name_lookup, network::IpAddress};
use crate::p2::io::{Pollable, Readiness, readable_now, table_trap};

/// What the resolver thread leaves behind.
type Answer = Arc<Mutex<Option<Result<Vec<IpAddr>, ErrorCode>>>>;

/// A `resolve-address-stream`.
pub struct ResolveAddressStream {
    /// The addresses still to hand out, once known.
    addrs: Option<Result<std::vec::IntoIter<IpAddr>, ErrorCode>>,
    /// Filled by the resolver thread.
    answer: Answer,
    /// Readable once the resolver thread is done; `None` for a literal.
    done: Option<Rc<OwnedFd>>,
}

impl std::fmt::Debug for ResolveAddressStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResolveAddressStream")
    }
}

/// A host to resolve: an address already, or a name for the resolver.
#[derive(Debug, PartialEq, Eq)]
enum Host {
    Ip(IpAddr),
    Name(String),
}

/// Characters no host name may hold (the URL standard's forbidden
/// domain code points, which include the C0 controls and DEL).
fn forbidden(c: char) -> bool {
    c.is_ascii_control()
        || matches!(
            c,
            ' ' | '#' | '%' | '/' | ':' | '<' | '>' | '?' | '@' | '[' | '\\' | ']' | '^' | '|'
        )
}

/// One part of an IPv4 address in the URL standard's notation: decimal,
/// `0x` hexadecimal or `0`-prefixed octal.
fn ipv4_number(s: &str) -> Option<u64> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() {
        return (radix == 16).then_some(0);
    }
    u64::from_str_radix(digits, radix).ok()
}

/// The URL standard's IPv4 parser (`127.1`, `0x7f.0.0.1`): `None` when
/// `s` is no IPv4 address, `Some(Err)` when it ends in a number but is no
/// valid one (such a host is refused).
fn parse_ipv4(s: &str) -> Option<Result<Ipv4Addr, ()>> {
    let s = s.strip_suffix('.').unwrap_or(s);
    let parts: Vec<&str> = s.split('.').collect();
    let last = parts.last()?;
    if last.is_empty() || (!last.chars().all(|c| c.is_ascii_digit()) && ipv4_number(last).is_none())
    {
        return None;
    }
    if parts.len() > 4 {
        return Some(Err(()));
    }
    let nums: Option<Vec<u64>> = parts.iter().map(|p| ipv4_number(p)).collect();
    let Some(nums) = nums else {
        return Some(Err(()));
    };
    let (init, tail) = nums.split_at(nums.len() - 1);
    if init.iter().any(|&n| n > 255) || tail[0] >= 256u64.pow(5 - nums.len() as u32) {
        return Some(Err(()));
    }
    let mut v = tail[0];
    for (i, &n) in init.iter().enumerate() {
        v += n << (8 * (3 - i));
    }
    Some(Ok(Ipv4Addr::from(v as u32)))
}

/// RFC 3492's bootstring parameters for Punycode.
mod punycode {
    const BASE: u32 = 36;
    const TMIN: u32 = 1;
    const TMAX: u32 = 26;
    const SKEW: u32 = 38;
    const DAMP: u32 = 700;
    const INITIAL_BIAS: u32 = 72;
    const INITIAL_N: u32 = 128;

    fn adapt(delta: u32, points: u32, first: bool) -> u32 {
        let mut delta = if first { delta / DAMP } else { delta / 2 };
        delta += delta / points;
        let mut k = 0;
        while delta > ((BASE - TMIN) * TMAX) / 2 {
            delta /= BASE - TMIN;
            k += BASE;
        }
        k + (BASE - TMIN + 1) * delta / (delta + SKEW)
    }

    fn digit(d: u32) -> char {
        // `d` is below BASE: a letter for 0..26, a digit after.
        char::from(if d < 26 {
            b'a' + d as u8
        } else {
            b'0' + (d - 26) as u8
        })
    }

    /// RFC 3492 section 6.3: the Punycode of `label`; `None` on overflow.
    pub(super) fn encode(label: &str) -> Option<String> {
        let input: Vec<u32> = label.chars().map(u32::from).collect();
        let mut out: String = label.chars().filter(char::is_ascii).collect();
        let basic = out.len() as u32;
        let mut handled = basic;
        if basic > 0 {
            out.push('-');
        }
        let (mut n, mut delta, mut bias) = (INITIAL_N, 0u32, INITIAL_BIAS);
        while (handled as usize) < input.len() {
            let m = input.iter().copied().filter(|&c| c >= n).min()?;
            delta = delta.checked_add((m - n).checked_mul(handled + 1)?)?;
            n = m;
            for &c in &input {
                if c < n {
                    delta = delta.checked_add(1)?;
                }
                if c == n {
                    let mut q = delta;
                    let mut k = BASE;
                    loop {
                        let t = if k <= bias {
                            TMIN
                        } else if k >= bias + TMAX {
                            TMAX
                        } else {
                            k - bias
                        };
                        if q < t {
                            break;
                        }
                        out.push(digit(t + (q - t) % (BASE - t)));
                        q = (q - t) / (BASE - t);
                        k += BASE;
                    }
                    out.push(digit(q));
                    bias = adapt(delta, handled + 1, handled == basic);
                    delta = 0;
                    handled += 1;
                }
            }
            delta = delta.checked_add(1)?;
            n = n.checked_add(1)?;
        }
        Some(out)
    }
}

/// A lowercased name in ASCII: each label with other characters becomes
/// `xn--` and its Punycode (IDNA's ToASCII, without UTS 46's mapping
/// table: names are lowercased, not otherwise normalised).
fn to_ascii(name: &str) -> Result<String, ErrorCode> {
    let lower = name.to_lowercase();
    if lower.is_ascii() {
        return Ok(lower);
    }
    let labels: Option<Vec<String>> = lower
        .split('.')
        .map(|l| {
            if l.is_ascii() {
                Some(l.to_owned())
            } else {
                punycode::encode(l).map(|p| format!("xn--{p}"))
            }
        })
        .collect();
    labels
        .map(|l| l.join("."))
        .ok_or(ErrorCode::InvalidArgument)
}

/// What `name` asks to resolve, or `invalid-argument`.
fn parse_host(name: &str) -> Result<Host, ErrorCode> {
    if let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        return inner
            .parse::<Ipv6Addr>()
            .map(|a| Host::Ip(IpAddr::V6(a)))
            .map_err(|_| ErrorCode::InvalidArgument);
    }
    if let Ok(a) = name.parse::<Ipv6Addr>() {
        return Ok(Host::Ip(IpAddr::V6(a)));
    }
    if name.is_empty() || name.chars().any(forbidden) {
        return Err(ErrorCode::InvalidArgument);
    }
    let lower = to_ascii(name)?;
    match parse_ipv4(&lower) {
        Some(Ok(a)) => Ok(Host::Ip(IpAddr::V4(a))),
        Some(Err(())) => Err(ErrorCode::InvalidArgument),
        None => Ok(Host::Name(lower)),
    }
}

/// Resolves `name` with the system resolver (blocking).
fn resolve(name: &str) -> Result<Vec<IpAddr>, ErrorCode> {
    match (name, 0).to_socket_addrs() {
        Ok(addrs) => Ok(addrs.map(|a| a.ip().to_canonical()).collect()),
        // The resolver's error codes do not reach us through std.
        Err(_) => Err(ErrorCode::NameUnresolvable),
    }
}

impl ip_name_lookup::Host for WasiCtx {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> SocketResult<Resource<ResolveAddressStream>> {
        self.check_network(&network)?;
        if !self.p2.sockets.ip_name_lookup {
            return Ok(Err(ErrorCode::PermanentResolverFailure));
        }
        let host = match parse_host(&name) {
            Ok(h) => h,
            Err(e) => return Ok(Err(e)),
        };
        let answer: Answer = Arc::new(Mutex::new(None));
        let stream = match host {
            Host::Ip(ip) => ResolveAddressStream {
                addrs: Some(Ok(vec![ip].into_iter())),
                answer,
                done: None,
            },
            Host::Name(name) => {
                let (done, signal) = match UnixStream::pair() {
                    Ok(p) => p,
                    Err(e) => return Ok(Err(super::error_code(&e))),
                };
                let slot = answer.clone();
                let spawned = std::thread::Builder::new()
                    .name("ringwasm-resolve".into())
                    .spawn(move || {
                        let r = resolve(&name);
                        *slot
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(r);
                        // Closing our end makes the stream's end readable.
                        drop(signal);
                    });
                if spawned.is_err() {
                    return Ok(Err(ErrorCode::OutOfMemory));
                }
                ResolveAddressStream {
                    addrs: None,
                    answer,
                    done: Some(Rc::new(OwnedFd::from(done))),
                }
            }
        };
        self.p2.table.push(stream).map(Ok).map_err(table_trap)
    }

    fn resolve_address_stream_resolve_next_address(
        &mut self,
        self_: Resource<ResolveAddressStream>,
    ) -> SocketResult<Option<IpAddress>> {
        let s = self.p2.table.get_mut(&self_).map_err(table_trap)?;
        if s.addrs.is_none() {
            let finished = s.done.as_ref().is_none_or(|fd| readable_now(fd));
            let answer = if finished {
                s.answer
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take()
            } else {
                None
            };
            match answer {
                Some(r) => s.addrs = Some(r.map(Vec::into_iter)),
                None => return Ok(Err(ErrorCode::WouldBlock)),
            }
        }
        Ok(match s.addrs.as_mut() {
            Some(Ok(it)) => Ok(it.next().map(super::ip_from_std)),
            Some(Err(e)) => Err(*e),
            None => Err(ErrorCode::WouldBlock),
        })
    }

    fn resolve_address_stream_subscribe(
        &mut self,
        self_: Resource<ResolveAddressStream>,
    ) -> Result<Resource<Pollable>, Trap> {
        let s = self.p2.table.get(&self_).map_err(table_trap)?;
        let r = match (&s.addrs, &s.done) {
            (None, Some(fd)) => Readiness::Readable(fd.clone()),
            _ => Readiness::Ready,
        };
        self.pollable_for(&self_, r)
    }

    fn resolve_address_stream_drop(
        &mut self,
        rep: Resource<ResolveAddressStream>,
    ) -> Result<(), Trap> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Host {
        Host::Ip(s.parse().unwrap())
    }

    #[test]
    fn literals_are_answered_without_a_lookup() {
        assert_eq!(parse_host("127.0.0.1"), Ok(ip("127.0.0.1")));
        assert_eq!(parse_host("::1"), Ok(ip("::1")));
        assert_eq!(parse_host("[::1]"), Ok(ip("::1")));
        assert_eq!(parse_host("127.1"), Ok(ip("127.0.0.1")));
        assert_eq!(parse_host("0x7f.0.0.1"), Ok(ip("127.0.0.1")));
    }

    #[test]
    fn unicode_names_become_punycode() {
        // RFC 3492's own examples and the classic IDNA ones.
        assert_eq!(punycode::encode("bücher").as_deref(), Some("bcher-kva"));
        assert_eq!(punycode::encode("münchen").as_deref(), Some("mnchen-3ya"));
        assert_eq!(
            punycode::encode("他们为什么不说中文").as_deref(),
            Some("ihqwcrb4cv8a8dqg056pqjye")
        );
        assert_eq!(
            parse_host("Bücher.Example"),
            Ok(Host::Name("xn--bcher-kva.example".into()))
        );
    }

    #[test]
    fn names_are_lowercased_and_checked() {
        assert_eq!(parse_host("LocalHost"), Ok(Host::Name("localhost".into())));
        assert_eq!(
            parse_host("example.com."),
            Ok(Host::Name("example.com.".into()))
        );
        for bad in [
            "",
            "not a name!",
            "a/b",
            "a:b",
            "[::1",
            "x%y",
            "1.2.3.4.5",
            "1.2.3.256",
        ] {
            assert_eq!(parse_host(bad), Err(ErrorCode::InvalidArgument), "{bad:?}");
        }
    }
}
