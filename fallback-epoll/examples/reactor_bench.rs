//! Reactor micro-benchmark: random or sequential reads at a queue depth, and a
//! loopback TCP echo, on io_uring and the epoll fallback side by side.
//!
//! ```text
//! cargo run --release -p ringwasm-fallback-epoll --example reactor_bench -- \
//!     file PATH [--direct] [--qd N] [--bs BYTES] [--seq] [--secs S]
//!     [--no-reg-files] [--fixed-bufs]
//! cargo run --release -p ringwasm-fallback-epoll --example reactor_bench -- \
//!     echo [--conns N] [--secs S]
//! ```
//! Files are registered unless `--no-reg-files`; buffers are 4 KiB-aligned heap
//! buffers unless `--fixed-bufs` (registered buffers, `READ_FIXED`). The file must exist (e.g. `fallocate -l 1G PATH` then fill
//! it).
#![forbid(unsafe_code)]

use std::cell::Cell;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ringwasm_reactor::op::{Accept, Connect, Read, ReadFixed, Recv, Send};
use ringwasm_reactor::{AlignedBuf, Driver, Target, spawn};

struct Args {
    mode: String,
    path: String,
    direct: bool,
    qd: usize,
    bs: usize,
    seq: bool,
    secs: f64,
    reg_files: bool,
    fixed_bufs: bool,
    conns: usize,
    only: Option<String>,
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mode = it.next().ok_or("usage: reactor_bench file PATH | echo")?;
    let mut a = Args {
        path: String::new(),
        mode,
        direct: false,
        qd: 64,
        bs: 4096,
        seq: false,
        secs: 5.0,
        reg_files: true,
        fixed_bufs: false,
        conns: 64,
        only: None,
    };
    let num = |v: Option<String>, name: &str| -> Result<f64, String> {
        v.ok_or(format!("{name} needs a value"))?
            .parse::<f64>()
            .map_err(|e| format!("{name}: {e}"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--direct" => a.direct = true,
            "--seq" => a.seq = true,
            "--backend" => a.only = it.next(),
            "--no-reg-files" => a.reg_files = false,
            "--fixed-bufs" => a.fixed_bufs = true,
            "--qd" => a.qd = num(it.next(), "--qd")? as usize,
            "--bs" => a.bs = num(it.next(), "--bs")? as usize,
            "--secs" => a.secs = num(it.next(), "--secs")?,
            "--conns" => a.conns = num(it.next(), "--conns")? as usize,
            p if !p.starts_with("--") && a.path.is_empty() => a.path = p.to_owned(),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

fn main() {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("reactor_bench: {e}");
            std::process::exit(2);
        }
    };
    type MakeDriver = fn() -> Option<Driver>;
    let backends: [(&str, MakeDriver); 2] = [
        ("uring", || ringwasm_reactor::uring_driver().ok()),
        ("epoll", || ringwasm_fallback_epoll::epoll_driver().ok()),
    ];
    for (name, make) in backends {
        if a.only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let Some(d) = make() else {
            println!("{name}: unavailable");
            continue;
        };
        let r = match a.mode.as_str() {
            "file" => file(&d, &a),
            "echo" => echo(&d, &a),
            m => Err(format!("unknown mode {m}")),
        };
        match r {
            Ok(line) => println!("{name:5} {line}"),
            Err(e) => println!("{name:5} error: {e}"),
        }
    }
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

fn file(d: &Driver, a: &Args) -> Result<String, String> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    if a.direct {
        o.custom_flags(libc::O_DIRECT);
    }
    let f = o
        .open(&a.path)
        .map_err(|e| format!("open {}: {e}", a.path))?;
    let size = f.metadata().map_err(|e| e.to_string())?.len();
    let blocks = size / a.bs as u64;
    if blocks == 0 {
        return Err("file smaller than one block".into());
    }
    let target: Target = if !a.reg_files {
        Target::Fd(f.as_raw_fd())
    } else {
        Target::Fixed(
            d.register_files(&[f.as_raw_fd()])
                .map_err(|e| format!("register_files: {e}"))?[0],
        )
    };
    let fixed = if !a.fixed_bufs {
        None
    } else {
        Some(
            d.register_buffers(u16::try_from(a.qd).unwrap_or(u16::MAX), a.bs)
                .map_err(|e| format!("register_buffers: {e}"))?,
        )
    };
    let done = Rc::new(Cell::new(0u64));
    let errors = Rc::new(Cell::new(0u64));
    let deadline = Instant::now() + Duration::from_secs_f64(a.secs);
    let t0 = Instant::now();
    let mut fixed = fixed.map(Vec::into_iter);
    d.block_on(async {
        let mut hs = Vec::new();
        for i in 0..a.qd {
            let (d, done, errors) = (d.clone(), done.clone(), errors.clone());
            let (seq, bs) = (a.seq, a.bs as u64);
            let mut seed =
                0x9E37_79B9_7F4A_7C15u64 ^ (i as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D);
            let mut next = i as u64;
            let qd = a.qd as u64;
            let mut pos = move || {
                if seq {
                    let b = next % blocks;
                    next += qd;
                    b * bs
                } else {
                    (xorshift(&mut seed) % blocks) * bs
                }
            };
            let fb = fixed.as_mut().and_then(Iterator::next);
            hs.push(spawn(async move {
                if let Some(mut buf) = fb {
                    while Instant::now() < deadline {
                        let (r, b) = d.submit(ReadFixed::new(target, buf).offset(pos())).await;
                        buf = b;
                        count(&r, &done, &errors);
                    }
                } else {
                    let mut buf = AlignedBuf::new(bs as usize);
                    while Instant::now() < deadline {
                        let (r, b) = d.submit(Read::new(target, buf).offset(pos())).await;
                        buf = b;
                        count(&r, &done, &errors);
                    }
                }
            }));
        }
        for h in hs {
            h.await;
        }
    });
    let el = t0.elapsed().as_secs_f64();
    let n = done.get();
    Ok(format!(
        "{} {} bs={} qd={} files={} bufs={}: {:.0} IOPS, {:.1} MiB/s ({} errors)",
        if a.seq { "seq" } else { "rand" },
        if a.direct { "O_DIRECT" } else { "page-cache" },
        a.bs,
        a.qd,
        if a.reg_files { "registered" } else { "plain" },
        if a.fixed_bufs { "fixed" } else { "heap" },
        n as f64 / el,
        n as f64 * a.bs as f64 / el / 1048576.0,
        errors.get()
    ))
}

fn count(r: &std::io::Result<usize>, done: &Cell<u64>, errors: &Cell<u64>) {
    match r {
        Ok(_) => done.set(done.get() + 1),
        Err(_) => errors.set(errors.get() + 1),
    }
}

fn echo(d: &Driver, a: &Args) -> Result<String, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = l.local_addr().map_err(|e| e.to_string())?;
    let lfd = OwnedFd::from(l);
    let done = Rc::new(Cell::new(0u64));
    let deadline = Instant::now() + Duration::from_secs_f64(a.secs);
    let t0 = Instant::now();
    let conns = a.conns;
    let res: Result<(), String> = d.block_on(async {
        let mut hs = Vec::new();
        for _ in 0..conns {
            let s = rustix::net::socket_with(
                rustix::net::AddressFamily::INET,
                rustix::net::SocketType::STREAM,
                rustix::net::SocketFlags::NONBLOCK | rustix::net::SocketFlags::CLOEXEC,
                None,
            )
            .map_err(|e| e.to_string())?;
            let acc = d.submit(Accept::new(lfd.as_raw_fd()));
            let con = d.submit(Connect::new(s.as_raw_fd(), addr));
            let acc = spawn(acc);
            con.await.map_err(|e| format!("connect: {e}"))?;
            let (server, _) = acc.await.map_err(|e| format!("accept: {e}"))?;
            let ds = d.clone();
            // Server: echo until the client closes.
            spawn(async move {
                let sfd = server.as_raw_fd();
                let mut buf = vec![0u8; 0];
                loop {
                    buf.clear();
                    buf.reserve(512);
                    let (r, b) = ds.submit(Recv::new(sfd, buf)).await;
                    match r {
                        Ok(n) if n > 0 => {}
                        _ => return,
                    }
                    let (r, b) = ds.submit(Send::new(sfd, b)).await;
                    if r.is_err() {
                        return;
                    }
                    buf = b;
                }
            });
            let (dc, done) = (d.clone(), done.clone());
            hs.push(spawn(async move {
                let cfd = s.as_raw_fd();
                let mut msg = vec![b'x'; 64];
                let mut rbuf = Vec::with_capacity(512);
                while Instant::now() < deadline {
                    let (r, m) = dc.submit(Send::new(cfd, msg)).await;
                    let _ = r;
                    let mut got = 0;
                    while got < 64 {
                        rbuf.clear();
                        let (r, b) = dc.submit(Recv::new(cfd, rbuf)).await;
                        rbuf = b;
                        match r {
                            Ok(n) if n > 0 => got += n,
                            _ => return,
                        }
                    }
                    done.set(done.get() + 1);
                    msg = m;
                }
                drop(s);
            }));
        }
        for h in hs {
            h.await;
        }
        Ok(())
    });
    res?;
    let el = t0.elapsed().as_secs_f64();
    Ok(format!(
        "echo conns={conns} 64 B: {:.0} round trips/s",
        done.get() as f64 / el
    ))
}
