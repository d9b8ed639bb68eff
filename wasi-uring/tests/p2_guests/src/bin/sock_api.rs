//! `wasi:sockets` called directly (no libc in between): the TCP state
//! machine with each wrong step's error code, a TCP echo over loopback,
//! a refused connection, socket options, a UDP round trip and name
//! lookup; one line per call, no port numbers (they change from run to
//! run). The first argument says what the host allows: `allowed`
//! (`-S inherit-network -S allow-ip-name-lookup`), `denied` (no flag) or
//! `no-protocols` (`-S tcp=n -S udp=n`).

use wasip2::io::poll::{Pollable, poll};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::resolve_addresses;
use wasip2::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
    Network,
};
use wasip2::sockets::tcp::ShutdownType;
use wasip2::sockets::tcp_create_socket::create_tcp_socket;
use wasip2::sockets::udp::OutgoingDatagram;
use wasip2::sockets::udp_create_socket::create_udp_socket;

fn r<T>(x: Result<T, ErrorCode>) -> String {
    match x {
        Ok(_) => "ok".into(),
        Err(e) => format!("err {}", e.name()),
    }
}

fn v4(a: (u8, u8, u8, u8), port: u16) -> IpSocketAddress {
    IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address: a })
}

/// Equality through `Debug` (the bindings' types have no `PartialEq`).
fn same<T: std::fmt::Debug>(a: T, b: T) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

const LOOPBACK: (u8, u8, u8, u8) = (127, 0, 0, 1);

fn port(a: IpSocketAddress) -> u16 {
    match a {
        IpSocketAddress::Ipv4(a) => a.port,
        IpSocketAddress::Ipv6(a) => a.port,
    }
}

fn wait(p: &Pollable) {
    let ready = poll(&[p]);
    assert_eq!(ready, [0]);
}

/// Retries `f` while it says `would-block`, waiting on `p` in between.
fn until_ready<T>(p: &Pollable, mut f: impl FnMut() -> Result<T, ErrorCode>) -> Result<T, ErrorCode> {
    loop {
        match f() {
            Err(ErrorCode::WouldBlock) => wait(p),
            other => return other,
        }
    }
}

fn read_exact(input: &InputStream, n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < n {
        got.extend(input.blocking_read((n - got.len()) as u64).expect("read"));
    }
    got
}

fn read_to_end(input: &InputStream) -> (usize, String) {
    let mut n = 0;
    loop {
        match input.blocking_read(65536) {
            Ok(b) => n += b.len(),
            Err(StreamError::Closed) => return (n, "closed".into()),
            Err(StreamError::LastOperationFailed(e)) => {
                return (n, format!("failed {}", e.to_debug_string().is_empty()));
            }
        }
    }
}

fn write_all(out: &OutputStream, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let n = out.check_write().expect("check-write");
        if n == 0 {
            wait(&out.subscribe());
            continue;
        }
        let k = bytes.len().min(n as usize);
        out.write(&bytes[..k]).expect("write");
        bytes = &bytes[k..];
    }
}

fn tcp_states(net: &Network) {
    let s = create_tcp_socket(IpAddressFamily::Ipv4).expect("create");
    println!("family: {:?}", s.address_family());
    println!("finish-bind unbound: {}", r(s.finish_bind()));
    println!("start-listen unbound: {}", r(s.start_listen()));
    println!("finish-listen unbound: {}", r(s.finish_listen()));
    println!("local-address unbound: {}", r(s.local_address()));
    println!("remote-address unbound: {}", r(s.remote_address()));
    println!("accept unbound: {}", r(s.accept()));
    println!("shutdown unbound: {}", r(s.shutdown(ShutdownType::Both)));
    println!("is-listening unbound: {}", s.is_listening());
    let v6 = IpSocketAddress::Ipv6(Ipv6SocketAddress {
        port: 0,
        flow_info: 0,
        address: (0, 0, 0, 0, 0, 0, 0, 1),
        scope_id: 0,
    });
    println!("bind an ipv6 address: {}", r(s.start_bind(net, v6)));
    println!("bind broadcast: {}", r(s.start_bind(net, v4((255, 255, 255, 255), 0))));
    println!("start-bind: {}", r(s.start_bind(net, v4(LOOPBACK, 0))));
    println!("start-bind again: {}", r(s.start_bind(net, v4(LOOPBACK, 0))));
    println!("local-address bind-started: {}", r(s.local_address()));
    println!("start-listen bind-started: {}", r(s.start_listen()));
    println!("start-connect bind-started: {}", r(s.start_connect(net, v4(LOOPBACK, 1))));
    println!("backlog bind-started: {}", r(s.set_listen_backlog_size(10)));
    println!("finish-bind: {}", r(s.finish_bind()));
    println!("finish-bind again: {}", r(s.finish_bind()));
    let local = s.local_address().expect("bound");
    println!("bound to loopback, port set: {}", matches!(local, IpSocketAddress::Ipv4(a) if a.address == LOOPBACK && a.port != 0));
    println!("finish-listen bound: {}", r(s.finish_listen()));
    println!("backlog 0: {}", r(s.set_listen_backlog_size(0)));
    println!("backlog 10: {}", r(s.set_listen_backlog_size(10)));
    println!("start-listen: {}", r(s.start_listen()));
    println!("start-listen again: {}", r(s.start_listen()));
    println!("backlog listen-started: {}", r(s.set_listen_backlog_size(10)));
    println!("local-address listen-started: {}", r(s.local_address()));
    println!("start-bind listen-started: {}", r(s.start_bind(net, v4(LOOPBACK, 0))));
    println!("start-connect listen-started: {}", r(s.start_connect(net, v4(LOOPBACK, 1))));
    println!("finish-listen: {}", r(s.finish_listen()));
    println!("is-listening: {}", s.is_listening());
    println!("accept none waiting: {}", r(s.accept()));
    println!("connect a listener: {}", r(s.start_connect(net, v4(LOOPBACK, 1))));
    println!("listener ready without a client: {}", s.subscribe().ready());

    let c = create_tcp_socket(IpAddressFamily::Ipv4).expect("create");
    let p = c.subscribe();
    println!("fresh socket's pollable ready: {}", p.ready());
    println!("finish-connect unstarted: {}", r(c.finish_connect()));
    println!("connect to 0.0.0.0: {}", r(c.start_connect(net, v4((0, 0, 0, 0), port(local)))));
    println!("connect to port 0: {}", r(c.start_connect(net, v4(LOOPBACK, 0))));
    println!("start-connect: {}", r(c.start_connect(net, local)));
    println!("start-connect again: {}", r(c.start_connect(net, local)));
    println!("start-bind connecting: {}", r(c.start_bind(net, v4(LOOPBACK, 0))));
    println!("start-listen connecting: {}", r(c.start_listen()));
    println!("local-address connecting: {}", r(c.local_address()));
    println!("options connecting: {}", r(c.keep_alive_enabled()));
    let (cin, cout) = until_ready(&p, || c.finish_connect()).expect("connected");
    println!("finish-connect again: {}", r(c.finish_connect()));
    println!("start-connect connected: {}", r(c.start_connect(net, local)));
    println!("start-listen connected: {}", r(c.start_listen()));
    println!("client's peer is the listener: {}", same(c.remote_address().ok(), Some(local)));
    let lp = s.subscribe();
    let (a, ain, aout) = until_ready(&lp, || s.accept()).expect("accepted");
    println!("accepted's peer is the client: {}", same(a.remote_address().ok(), c.local_address().ok()));
    println!("accepted is listening: {}", a.is_listening());

    // Echo: client to server and back, then a large write before anyone
    // reads it, then shutdown.
    cout.blocking_write_and_flush(b"hello").expect("write");
    let got = read_exact(&ain, 5);
    println!("server got {:?}", String::from_utf8_lossy(&got));
    write_all(&aout, &got);
    aout.blocking_flush().expect("flush");
    println!("client got {:?}", String::from_utf8_lossy(&read_exact(&cin, 5)));
    println!("read with nothing waiting: {:?}", cin.read(16).map(|b| b.len()).map_err(|_| ()));
    let big = vec![7u8; 3 << 20];
    write_all(&aout, &big);
    // Right behind a write still in flight: waits for it, never traps.
    aout.blocking_write_and_flush(b"tail").expect("blocking write");
    println!("shutdown send: {}", r(a.shutdown(ShutdownType::Send)));
    println!("shutdown send again: {}", r(a.shutdown(ShutdownType::Send)));
    println!("write after shutdown: {}", matches!(aout.check_write(), Err(StreamError::Closed)));
    let (n, end) = read_to_end(&cin);
    println!("client read {n} bytes, then {end}");
    drop((cin, cout));
    println!("client shutdown both: {}", r(c.shutdown(ShutdownType::Both)));
    let (n, end) = read_to_end(&ain);
    println!("server read {n} bytes, then {end}");
    println!("server read after shutdown receive: {}", {
        a.shutdown(ShutdownType::Receive).expect("shutdown");
        matches!(ain.read(1), Err(StreamError::Closed))
    });

    println!("keep-alive set: {}", r(a.set_keep_alive_enabled(true)));
    println!("keep-alive: {:?}", a.keep_alive_enabled());
    println!("keep-alive idle 0: {}", r(a.set_keep_alive_idle_time(0)));
    println!("keep-alive idle 1.5 s: {}", r(a.set_keep_alive_idle_time(1_500_000_000)));
    println!("keep-alive count 0: {}", r(a.set_keep_alive_count(0)));
    println!("keep-alive count 5: {} {:?}", r(a.set_keep_alive_count(5)), a.keep_alive_count());
    println!("keep-alive interval 0: {}", r(a.set_keep_alive_interval(0)));
    println!("hop limit 0: {}", r(a.set_hop_limit(0)));
    println!("hop limit 42: {} {:?}", r(a.set_hop_limit(42)), a.hop_limit());
    println!("receive buffer 0: {}", r(a.set_receive_buffer_size(0)));
    println!("send buffer 0: {}", r(a.set_send_buffer_size(0)));
    println!("receive buffer 65536: {}", r(a.set_receive_buffer_size(65536)));
    drop((ain, aout));

    // A refused connection closes the socket for good.
    let gone = {
        let t = create_tcp_socket(IpAddressFamily::Ipv4).expect("create");
        t.start_bind(net, v4(LOOPBACK, 0)).expect("bind");
        t.finish_bind().expect("bind");
        t.local_address().expect("bound")
    };
    let d = create_tcp_socket(IpAddressFamily::Ipv4).expect("create");
    d.start_connect(net, gone).expect("start");
    let dp = d.subscribe();
    println!("connect to a closed port: {}", r(until_ready(&dp, || d.finish_connect())));
    println!("finish-connect after failure: {}", r(d.finish_connect()));
    println!("start-connect after failure: {}", r(d.start_connect(net, gone)));
    println!("options after failure: {}", r(d.keep_alive_enabled()));

    // A used address.
    let e = create_tcp_socket(IpAddressFamily::Ipv4).expect("create");
    println!("bind the listener's address: {}", r(e.start_bind(net, local)));
}

fn udp(net: &Network) {
    let a = create_udp_socket(IpAddressFamily::Ipv4).expect("create");
    let b = create_udp_socket(IpAddressFamily::Ipv4).expect("create");
    println!("udp stream unbound: {}", r(a.stream(None)));
    println!("udp local-address unbound: {}", r(a.local_address()));
    println!("udp finish-bind unbound: {}", r(a.finish_bind()));
    for s in [&a, &b] {
        s.start_bind(net, v4(LOOPBACK, 0)).expect("bind");
        s.finish_bind().expect("bind");
    }
    println!("udp start-bind again: {}", r(a.start_bind(net, v4(LOOPBACK, 0))));
    let (aa, ba) = (a.local_address().expect("a"), b.local_address().expect("b"));
    println!("udp remote-address unconnected: {}", r(a.remote_address()));
    println!("udp stream to port 0: {}", r(b.stream(Some(v4(LOOPBACK, 0)))));
    let (ain, aout) = a.stream(None).expect("a streams");
    let (bin, bout) = b.stream(Some(aa)).expect("b streams");
    println!("udp b's remote is a: {}", same(b.remote_address().ok(), Some(aa)));
    println!("udp receive 0: {:?}", bin.receive(0).map(|v| v.len()));
    println!("udp receive nothing waiting: {:?}", bin.receive(4).map(|v| v.len()));
    println!("udp check-send: {:?}", aout.check_send());
    let sent = aout.send(&[
        OutgoingDatagram { data: b"one".to_vec(), remote_address: Some(ba) },
        OutgoingDatagram { data: vec![9; 8000], remote_address: Some(ba) },
    ]);
    println!("udp sent: {sent:?}");
    println!("udp send without address: {}", {
        aout.check_send().expect("check");
        r(aout.send(&[OutgoingDatagram { data: b"x".to_vec(), remote_address: None }]))
    });
    let mut got = Vec::new();
    let bp = bin.subscribe();
    while got.len() < 2 {
        wait(&bp);
        got.extend(bin.receive(4).expect("receive"));
    }
    for d in &got {
        println!("b got {} bytes from a: {}", d.data.len(), same(d.remote_address, aa));
    }
    bout.check_send().expect("check");
    println!("udp send to another peer than the stream's: {}", r(bout.send(&[OutgoingDatagram { data: b"x".to_vec(), remote_address: Some(ba) }])));
    bout.check_send().expect("check");
    println!("udp reply: {:?}", bout.send(&[OutgoingDatagram { data: b"two".to_vec(), remote_address: None }]));
    let ap = ain.subscribe();
    wait(&ap);
    let back = ain.receive(1).expect("receive");
    println!("a got {:?} from b: {}", String::from_utf8_lossy(&back[0].data), same(back[0].remote_address, ba));
    drop((ap, bp, ain, aout, bin, bout));
    println!("udp hop limit 0: {}", r(a.set_unicast_hop_limit(0)));
    println!("udp hop limit 9: {} {:?}", r(a.set_unicast_hop_limit(9)), a.unicast_hop_limit());
    println!("udp stream again: {}", r(a.stream(None)));
}

fn lookup(net: &Network) {
    let all = |name: &str| -> Result<Vec<IpAddress>, ErrorCode> {
        let s = resolve_addresses(net, name)?;
        let p = s.subscribe();
        let mut v = Vec::new();
        while let Some(a) = until_ready(&p, || s.resolve_next_address())? {
            v.push(a);
        }
        Ok(v)
    };
    match all("localhost") {
        Ok(v) => println!("localhost has 127.0.0.1: {}", v.iter().any(|a| same(*a, IpAddress::Ipv4(LOOPBACK)))),
        Err(e) => println!("localhost: err {}", e.name()),
    }
    println!("lookup 127.0.0.1: {:?}", all("127.0.0.1"));
    println!("lookup [::1]: {:?}", all("[::1]"));
    println!("lookup \"not a name!\": {}", r(all("not a name!")));
    println!("lookup \"\": {}", r(all("")));
}

fn denied(net: &Network) {
    let t = create_tcp_socket(IpAddressFamily::Ipv4);
    println!("create tcp: {}", r(t.as_ref().map(drop).map_err(|e| *e)));
    if let Ok(t) = t {
        println!("tcp bind: {}", r(t.start_bind(net, v4(LOOPBACK, 0))));
        let started = t.start_connect(net, v4(LOOPBACK, 9));
        println!("tcp connect: {}", r(started.as_ref().map(drop).map_err(|e| *e)));
        if started.is_ok() {
            let p = t.subscribe();
            println!("tcp finish-connect: {}", r(until_ready(&p, || t.finish_connect())));
        }
    }
    let u = create_udp_socket(IpAddressFamily::Ipv4);
    println!("create udp: {}", r(u.as_ref().map(drop).map_err(|e| *e)));
    if let Ok(u) = u {
        println!("udp bind: {}", r(u.start_bind(net, v4(LOOPBACK, 0))));
    }
    println!("lookup localhost: {}", r(resolve_addresses(net, "localhost")));
    println!("lookup \"not a name!\": {}", r(resolve_addresses(net, "not a name!")));
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let net = instance_network();
    match mode.as_str() {
        "allowed" => {
            tcp_states(&net);
            udp(&net);
            lookup(&net);
        }
        _ => denied(&net),
    }
    println!("done");
}
