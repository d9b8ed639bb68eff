//! `wasi:sockets` through std: a TCP server and client on loopback in one
//! guest, a refused connection, UDP both ways, and `localhost` name lookup.
//! The mode is the first argument: `tcp`, `udp`, `lookup` or `all`.
//! Ports are never printed (they differ from run to run).
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};

fn kind<T>(r: std::io::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("{:?}", e.kind()),
    }
}

fn tcp() -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    println!("tcp listening on {}", addr.ip());
    let mut client = TcpStream::connect(addr)?;
    let (mut server, peer) = listener.accept()?;
    println!("accepted from {} (client port matches: {})", peer.ip(), peer == client.local_addr()?);
    println!("client peer is the listener: {}", client.peer_addr()? == addr);
    client.write_all(b"ping")?;
    let mut buf = [0u8; 4];
    server.read_exact(&mut buf)?;
    println!("server got {:?}", String::from_utf8_lossy(&buf));
    let big = vec![7u8; 1 << 20];
    server.write_all(&big)?;
    server.shutdown(Shutdown::Write)?;
    let mut got = Vec::new();
    client.read_to_end(&mut got)?;
    println!("client got {} bytes, all 7: {}", got.len(), got.iter().all(|&b| b == 7));
    client.shutdown(Shutdown::Write)?;
    let mut rest = Vec::new();
    println!("server read after client shutdown: {} bytes", server.read_to_end(&mut rest)?);
    server.set_nodelay(true)?;
    println!("nodelay: {}", server.nodelay()?);
    drop(server);
    let gone = listener.local_addr()?;
    drop(listener);
    println!("connect to a closed port: {}", kind(TcpStream::connect(gone)));
    println!("bind a used address: {}", {
        let l = TcpListener::bind("127.0.0.1:0")?;
        kind(TcpListener::bind(l.local_addr()?))
    });
    Ok(())
}

fn udp() -> std::io::Result<()> {
    let a = UdpSocket::bind("127.0.0.1:0")?;
    let b = UdpSocket::bind("127.0.0.1:0")?;
    let (aa, ba) = (a.local_addr()?, b.local_addr()?);
    a.send_to(b"hello b", ba)?;
    let mut buf = [0u8; 64];
    let (n, from) = b.recv_from(&mut buf)?;
    println!("b got {:?} from a: {}", String::from_utf8_lossy(&buf[..n]), from == aa);
    b.connect(aa)?;
    b.send(b"hello a")?;
    let n = a.recv(&mut buf)?;
    println!("a got {:?}", String::from_utf8_lossy(&buf[..n]));
    let big = vec![1u8; 8000];
    a.send_to(&big, ba)?;
    let mut large = vec![0u8; 9000];
    println!("b got a datagram of {} bytes", b.recv(&mut large)?);
    Ok(())
}

fn lookup() {
    match ("localhost", 80).to_socket_addrs() {
        Ok(addrs) => {
            let ips: Vec<String> = addrs.map(|a| a.ip().to_string()).collect();
            println!("localhost resolves to 127.0.0.1: {}", ips.iter().any(|i| i == "127.0.0.1"));
            println!("every localhost address is loopback: {}", ips.iter().all(|i| i == "127.0.0.1" || i == "::1"));
        }
        Err(e) => println!("localhost lookup failed: {:?}", e.kind()),
    }
    println!("lookup of an IP literal: {:?}", ("127.0.0.1", 1).to_socket_addrs().map(|a| a.count()).map_err(|e| e.kind()));
    println!("lookup of an invalid name: {}", kind(("not a name!", 1).to_socket_addrs()));
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    if mode == "tcp" || mode == "all" {
        if let Err(e) = tcp() {
            println!("tcp failed: {:?}", e.kind());
        }
    }
    if mode == "udp" || mode == "all" {
        if let Err(e) = udp() {
            println!("udp failed: {:?}", e.kind());
        }
    }
    if mode == "lookup" || mode == "all" {
        lookup();
    }
}
