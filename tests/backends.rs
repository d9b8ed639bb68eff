//! One behaviour suite for both I/O backends: every test is written once over
//! a `Driver` and instantiated as `uring_<name>` and `epoll_<name>` by
//! `test_both!` (libtest-mimic trials; the io_uring trial says why it skips
//! when the kernel has no io_uring), and once more as `epollpool_<name>` on
//! the fallback with its blocking file pool (`FileMode::Pool`).
#![forbid(unsafe_code)]

use std::future::Future;
use std::net::{Shutdown as How, SocketAddr, TcpListener, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use libtest_mimic::{Arguments, Failed, Trial};
use ringwasm_reactor::op::{
    Accept, AcceptMulti, Close, Connect, Fallocate, Fsync, LinkAt, MkDirAt, OpenAt2, PollAdd, Read,
    ReadFixed, Readv, Recv, RecvProvided, RenameAt, Send, SendZc, Shutdown, Splice, Statx,
    SymlinkAt, Tee, Timeout, UnlinkAt, Write, Writev, resolve,
};
use ringwasm_reactor::{BackendKind, Driver, Op, spawn};
use ringwasm_wasi::{Io, IoChoice};

type TestFn = fn(&Driver) -> Result<()>;

/// Lists the behaviour tests; `main` instantiates each for both backends.
macro_rules! test_both {
    ($($name:ident),* $(,)?) => {
        const TESTS: &[(&str, TestFn)] = &[$((stringify!($name), $name as TestFn)),*];
    };
}

test_both![
    file_write_then_read_positioned,
    file_read_past_eof_returns_zero,
    file_append_writes_at_end,
    file_vectored_read_and_write,
    file_metadata_size_fallocate_fsync,
    dirs_mkdir_link_symlink_rename_unlink,
    openat2_resolve_beneath_refuses_escape,
    registered_file_and_fixed_buffer_read,
    tcp_echo_loopback,
    multishot_accept_yields_each_connection,
    recv_from_provided_buffer_ring,
    provided_buffer_is_sent_back_from_where_it_was_consumed,
    udp_echo_loopback,
    connect_refused,
    peer_reset_is_reported,
    half_close_delivers_eof_and_keeps_writing,
    large_transfer_survives_partial_writes,
    splice_file_to_socket,
    tee_duplicates_pipe_data,
    poll_add_reports_readable,
    send_zc_round_trip,
    timeout_fires_after_duration,
    linked_timeout_cancels_idle_recv,
    explicit_cancel_returns_buffer,
    cancel_10000_reads_no_write_after_cancel,
    dropped_reads_park_buffers_until_completion,
    many_concurrent_reads,
    cached_reads_leave_room_for_other_tasks,
    dropped_file_reads_leave_other_reads_intact,
    guests_wait_on_reactor_timers_without_holding_the_thread,
];

/// The backends each test runs on.
#[derive(Clone, Copy, Debug)]
enum Variant {
    Uring,
    Epoll,
    /// The fallback with positioned file I/O on a blocking pool.
    EpollPool,
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for &(name, f) in TESTS {
        for (v, label) in [
            (Variant::Uring, "uring"),
            (Variant::Epoll, "epoll"),
            (Variant::EpollPool, "epollpool"),
        ] {
            trials.push(Trial::test(format!("{label}_{name}"), move || run(v, f)));
        }
    }
    trials.push(Trial::test(
        "auto_runs_on_fallback_when_uring_setup_fails",
        || {
            auto_runs_on_fallback_when_uring_setup_fails()
                .map_err(|e| Failed::from(format!("{e:#}")))
        },
    ));
    libtest_mimic::run(&args, trials).exit();
}

fn run(v: Variant, f: TestFn) -> Result<(), Failed> {
    let kind = match v {
        Variant::Uring => BackendKind::Uring,
        Variant::Epoll => BackendKind::Epoll,
        Variant::EpollPool => {
            let mode = ringwasm_fallback_epoll::FileMode::Pool(2);
            let d = ringwasm_fallback_epoll::epoll_driver_with(mode)
                .map_err(|e| Failed::from(format!("creating the pooled fallback: {e}")))?;
            return f(&d).map_err(|e| Failed::from(format!("{e:#}")));
        }
    };
    let io = match Io::new(IoChoice::from(kind)) {
        Ok(io) => io,
        Err(e) if kind == BackendKind::Uring => {
            eprintln!("skipping: io_uring unavailable here: {e}");
            return Ok(());
        }
        Err(e) => return Err(format!("creating the {kind} backend: {e}").into()),
    };
    f(io.driver()).map_err(|e| Failed::from(format!("{e:#}")))
}

/// Whether the kernel has `O::CODE`; prints why the test skips when not.
fn require<O: Op>(d: &Driver) -> bool {
    if d.kind() == BackendKind::Epoll {
        return true;
    }
    match ringwasm_reactor::Ring::new(8) {
        Ok(r) if r.supports(O::CODE) => true,
        _ => {
            eprintln!("skipping: kernel lacks {}", O::NAME);
            false
        }
    }
}

// ---------------------------------------------------------------- helpers

fn tmpdir() -> Result<tempfile::TempDir> {
    tempfile::tempdir().context("creating a temporary directory")
}

fn dir_fd(dir: &Path) -> Result<OwnedFd> {
    Ok(std::fs::File::open(dir)?.into())
}

fn open(d: &Driver, dir: &OwnedFd, path: &str, flags: i32) -> Result<OwnedFd> {
    d.run(
        OpenAt2::new(dir.as_raw_fd(), path)?
            .flags(flags)
            .mode(0o644),
    )
    .with_context(|| format!("openat2 {path}"))
}

fn errno(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

fn nonblocking_socket(addr: &SocketAddr, ty: rustix::net::SocketType) -> Result<OwnedFd> {
    let family = if addr.is_ipv4() {
        rustix::net::AddressFamily::INET
    } else {
        rustix::net::AddressFamily::INET6
    };
    let fd = rustix::net::socket_with(
        family,
        ty,
        rustix::net::SocketFlags::NONBLOCK | rustix::net::SocketFlags::CLOEXEC,
        None,
    )?;
    Ok(fd)
}

/// A connected loopback TCP pair made with the reactor's own Connect and
/// Accept: (client, server).
fn tcp_pair(d: &Driver) -> Result<(OwnedFd, OwnedFd)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let client = nonblocking_socket(&addr, rustix::net::SocketType::STREAM)?;
    let lfd = OwnedFd::from(listener);
    let d2 = d.clone();
    let raw_l = lfd.as_raw_fd();
    let (accepted, connected) = d.block_on(async {
        let acc = spawn(async move { d2.submit(Accept::new(raw_l)).await });
        let con = d.submit(Connect::new(client.as_raw_fd(), addr)).await;
        (acc.await, con)
    });
    connected.context("connect")?;
    let (server, peer) = accepted.context("accept")?;
    ensure!(peer.is_some(), "accept reports the peer address");
    drop(lfd);
    Ok((client, server))
}

/// Sends all of `data`, looping over partial sends.
async fn send_all(d: &Driver, fd: RawFd, data: Vec<u8>) -> Result<()> {
    let mut off = 0;
    let data = Arc::new(data);
    while off < data.len() {
        let chunk = data[off..].to_vec();
        let (r, _) = d.submit(Send::new(fd, chunk)).await;
        let n = r.context("send")?;
        ensure!(n > 0, "send made progress");
        off += n;
    }
    Ok(())
}

/// Receives until end of stream.
async fn recv_to_end(d: &Driver, fd: RawFd) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let (r, buf) = d.submit(Recv::new(fd, Vec::with_capacity(64 * 1024))).await;
        match r.context("recv")? {
            0 => return Ok(out),
            _ => out.extend_from_slice(&buf),
        }
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

// ---------------------------------------------------------------- files

fn file_write_then_read_positioned(d: &Driver) -> Result<()> {
    let t = tmpdir()?;
    let dir = dir_fd(t.path())?;
    let f = open(d, &dir, "a.txt", libc::O_CREAT | libc::O_RDWR)?;
    let (r, _) = d.run(Write::new(f.as_raw_fd(), b"hello, world".to_vec()).offset(0));
    ensure!(r? == 12);
    let (r, _) = d.run(Write::new(f.as_raw_fd(), b"W".to_vec()).offset(7));
    ensure!(r? == 1);
    let (r, buf) = d.run(Read::new(f.as_raw_fd(), Vec::with_capacity(5)).offset(7));
    ensure!(r? == 5 && buf == b"World", "got {buf:?}");
    ensure!(std::fs::read(t.path().join("a.txt"))? == b"hello, World");
    d.run(Close::new(f))?;
    Ok(())
}

fn file_read_past_eof_returns_zero(d: &Driver) -> Result<()> {
    let t = tmpdir()?;
    std::fs::write(t.path().join("s"), b"abc")?;
    let dir = dir_fd(t.path())?;
    let f = open(d, &dir, "s", libc::O_RDONLY)?;
    let (r, buf) = d.run(Read::new(f.as_raw_fd(), Vec::with_capacity(16)).offset(100));
    ensure!(r? == 0 && buf.is_empty());
    // Reads at the file position advance it.
    let (r, buf) = d.run(Read::new(f.as_raw_fd(), Vec::with_capacity(2)));
    ensure!(r? == 2 && buf == b"ab");
    let (r, buf) = d.run(Read::new(f.as_raw_fd(), Vec::with_capacity(2)));
    ensure!(r? == 1 && buf == b"c");
    Ok(())
}

fn file_append_writes_at_end(d: &Driver) -> Result<()> {
    let t = tmpdir()?;
    std::fs::write(t.path().join("log"), b"one\n")?;
    let dir = dir_fd(t.path())?;
    let f = open(d, &dir, "log", libc::O_WRONLY | libc::O_APPEND)?;
    for line in ["two\n", "three\n"] {
        let (r, _) = d.run(Write::new(f.as_raw_fd(), line));
        ensure!(r? == line.len());
    }
    ensure!(std::fs::read_to_string(t.path().join("log"))? == "one\ntwo\nthree\n");
    Ok(())
}

fn file_vectored_read_and_write(d: &Driver) -> Result<()> {
    let t = tmpdir()?;
    let dir = dir_fd(t.path())?;
    let f = open(d, &dir, "v", libc::O_CREAT | libc::O_RDWR)?;
    let parts = vec![b"ab".to_vec(), b"cde".to_vec(), b"f".to_vec()];
    let (r, _) = d.run(Writev::new(f.as_raw_fd(), parts).offset(10));
    ensure!(r? == 6);
    let bufs = vec![Vec::with_capacity(4), Vec::with_capacity(8)];
    let (r, bufs) = d.run(Readv::new(f.as_raw_fd(), bufs).offset(10));
    ensure!(r? == 6);
    ensure!(bufs[0] == b"abcd" && bufs[1] == b"ef", "got {bufs:?}");
    Ok(())
}

fn file_metadata_size_fallocate_fsync(d: &Driver) -> Result<()> {
    let t = tmpdir()?;
    let dir = dir_fd(t.path())?;
    let f = open(d, &dir, "m", libc::O_CREAT | libc::O_RDWR)?;
    let (r, _) = d.run(Write::new(f.as_raw_fd(), vec![7u8; 1000]).offset(0));
    r?;
    let st = d.run(Statx::new(dir.as_raw_fd(), "m")?)?;
    ensure!(st.size == 1000, "size {}", st.size);
    ensure!(st.mode & libc::S_IFMT == libc::S_IFREG);
    d.run(Fallocate::new(f.as_raw_fd(), 8192))?;
    let st = d.run(Statx::fd(f.as_raw_fd()))?;
    ensure!(st.size == 8192, "fallocate extends: {}", st.size);
    d.run(Fsync::new(f.as_raw_fd()))?;
    d.run(Fsync::new(f.as_raw_fd()).datasync(true))?;
    ringwasm_reactor::sys::ftruncate(f.as_raw_fd(), 10)?;
    ensure!(d.run(Statx::fd(f.as_raw_fd()))?.size == 10);
    let missing = d.run(Statx::new(dir.as_raw_fd(), "nope")?);
    ensure!(
        matches!(&missing, Err(e) if errno(e) == libc::ENOENT),
        "{missing:?}"
    );
    Ok(())
}

fn dirs_mkdir_link_symlink_rename_unlink(d: &Driver) -> Result<()> {
    let t = tmpdir()?;
    let dir = dir_fd(t.path())?;
    let raw = dir.as_raw_fd();
    d.run(MkDirAt::new(raw, "sub")?)?;
    let again = d.run(MkDirAt::new(raw, "sub")?);
    ensure!(matches!(&again, Err(e) if errno(e) == libc::EEXIST));
    std::fs::write(t.path().join("sub/f"), b"x")?;
    d.run(LinkAt::new(raw, "sub/f", raw, "hard")?)?;
    ensure!(d.run(Statx::new(raw, "hard")?)?.nlink == 2);
    d.run(SymlinkAt::new("sub/f", raw, "soft")?)?;
    ensure!(ringwasm_reactor::sys::readlinkat(raw, Path::new("soft"))? == Path::new("sub/f"));
    d.run(RenameAt::new(raw, "hard", raw, "renamed")?)?;
    ensure!(!t.path().join("hard").exists() && t.path().join("renamed").exists());
    let sub = open(d, &dir, "sub", libc::O_RDONLY | libc::O_DIRECTORY)?;
    let names: Vec<Vec<u8>> = ringwasm_reactor::sys::getdents(sub.as_raw_fd())?
        .into_iter()
        .map(|e| e.name)
        .collect();
    ensure!(names.contains(&b"f".to_vec()), "listing {names:?}");
    let busy = d.run(UnlinkAt::new(raw, "sub")?.dir(true));
    ensure!(matches!(&busy, Err(e) if errno(e) == libc::ENOTEMPTY));
    d.run(UnlinkAt::new(raw, "sub/f")?)?;
    d.run(UnlinkAt::new(raw, "sub")?.dir(true))?;
    d.run(UnlinkAt::new(raw, "soft")?)?;
    ensure!(!t.path().join("sub").exists() && !t.path().join("soft").exists());
    Ok(())
}

fn openat2_resolve_beneath_refuses_escape(d: &Driver) -> Result<()> {
    let t = tmpdir()?;
    std::fs::create_dir(t.path().join("jail"))?;
    std::fs::write(t.path().join("secret"), b"s")?;
    std::os::unix::fs::symlink("/etc/passwd", t.path().join("jail/out"))?;
    let jail = dir_fd(&t.path().join("jail"))?;
    for path in ["../secret", "/etc/passwd", "out"] {
        let r = d.run(OpenAt2::new(jail.as_raw_fd(), path)?.resolve(resolve::BENEATH));
        ensure!(
            matches!(&r, Err(e) if errno(e) == libc::EXDEV),
            "{path} must not escape: {r:?}"
        );
    }
    Ok(())
}

fn registered_file_and_fixed_buffer_read(d: &Driver) -> Result<()> {
    let t = tmpdir()?;
    let data = pattern(3 * 4096);
    std::fs::write(t.path().join("r"), &data)?;
    let f = std::fs::File::open(t.path().join("r"))?;
    let fixed = d.register_files(&[f.as_raw_fd()])?;
    let bufs = match d.register_buffers(2, 4096) {
        Ok(b) => b,
        Err(e) if d.kind() == BackendKind::Uring && errno(&e) == libc::ENOMEM => {
            eprintln!("skipping: registering buffers hit the locked-memory limit: {e}");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let mut bufs = bufs.into_iter();
    let b = bufs.next().context("two buffers")?;
    let (r, b) = d.run(ReadFixed::new(fixed[0], b).offset(4096));
    ensure!(r? == 4096 && b.as_slice() == &data[4096..8192]);
    let (r, _) = d.run(Read::new(fixed[0], Vec::with_capacity(10)).offset(0));
    ensure!(r? == 10);
    Ok(())
}

// ---------------------------------------------------------------- sockets

fn tcp_echo_loopback(d: &Driver) -> Result<()> {
    let (client, server) = tcp_pair(d)?;
    let d2 = d.clone();
    let sfd = server.as_raw_fd();
    d.block_on(async {
        let echo = spawn(async move {
            loop {
                let (r, buf) = d2.submit(Recv::new(sfd, Vec::with_capacity(4096))).await;
                match r.context("server recv")? {
                    0 => return anyhow::Ok(()),
                    _ => send_all(&d2, sfd, buf).await?,
                }
            }
        });
        for i in 0..100u32 {
            let msg = format!("ping {i}").into_bytes();
            send_all(d, client.as_raw_fd(), msg.clone()).await?;
            let mut got = Vec::new();
            while got.len() < msg.len() {
                let (r, buf) = d
                    .submit(Recv::new(client.as_raw_fd(), Vec::with_capacity(64)))
                    .await;
                ensure!(r? > 0, "echo closed early");
                got.extend_from_slice(&buf);
            }
            ensure!(got == msg);
        }
        d.submit(Shutdown::new(client.as_raw_fd(), How::Write))
            .await?;
        echo.await
    })
}

fn multishot_accept_yields_each_connection(d: &Driver) -> Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let lfd = listener.as_raw_fd();
    d.block_on(async {
        let mut accepts = d.submit_multi(AcceptMulti::new(lfd));
        let mut clients = Vec::new();
        let mut servers = Vec::new();
        for i in 0..5 {
            // The kernel completes the handshake from the backlog, so a
            // blocking connect returns before the accept.
            clients.push(std::net::TcpStream::connect(addr)?);
            let fd = accepts.next().await.context("stream ended early")??;
            servers.push(fd);
            ensure!(servers.len() == i + 1);
        }
        // Each accepted socket is connected to one client.
        for (n, s) in servers.iter().enumerate() {
            let (r, _) = d.submit(Send::new(s.as_raw_fd(), vec![n as u8])).await;
            ensure!(r? == 1);
        }
        for (n, c) in clients.iter_mut().enumerate() {
            use std::io::Read as _;
            let mut b = [0u8; 1];
            c.read_exact(&mut b)?;
            ensure!(usize::from(b[0]) < 5, "client {n} got {b:?}");
        }
        accepts.cancel();
        let t0 = Instant::now();
        while let Some(item) = accepts.next().await {
            ensure!(
                t0.elapsed() < Duration::from_secs(5),
                "stream ends after cancel"
            );
            drop(item);
        }
        ensure!(d.backend().in_flight() == 0, "slot freed");
        Ok(())
    })
}

fn recv_from_provided_buffer_ring(d: &Driver) -> Result<()> {
    let ring = match d.register_buf_ring(3, 4, 4096) {
        Ok(r) => r,
        Err(e) if d.kind() == BackendKind::Uring && errno(&e) == libc::EINVAL => {
            eprintln!("skipping: kernel lacks IORING_REGISTER_PBUF_RING: {e}");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let (client, server) = tcp_pair(d)?;
    let (cfd, sfd) = (client.as_raw_fd(), server.as_raw_fd());
    let data = pattern(64 * 1024);
    d.block_on(send_all(d, cfd, data.clone()))?;
    let mut got = Vec::new();
    while got.len() < data.len() {
        let b = d
            .run(RecvProvided::new(sfd, &ring))
            .with_context(|| format!("bulk recv after {} bytes", got.len()))?;
        ensure!(!b.is_empty() && b.len() <= 4096);
        got.extend_from_slice(b.as_slice());
    }
    ensure!(
        got == data,
        "64 KiB arrive in order through a 4-buffer ring"
    );
    let mut held = Vec::new();
    for msg in [b"a", b"b", b"c", b"d"] {
        d.block_on(send_all(d, cfd, msg.to_vec()))?;
        let b = d
            .run(RecvProvided::new(sfd, &ring))
            .with_context(|| format!("recv of message {}", held.len()))?;
        ensure!(b.as_slice() == msg);
        held.push(b);
    }
    // Every buffer is held: the next receive finds the ring empty.
    d.block_on(send_all(d, cfd, b"more".to_vec()))?;
    let r = d.run(RecvProvided::new(sfd, &ring));
    ensure!(
        matches!(&r, Err(e) if errno(e) == libc::ENOBUFS),
        "exhausted ring: {r:?}"
    );
    // Dropping a buffer gives it back.
    held.pop();
    let b = d.run(RecvProvided::new(sfd, &ring))?;
    ensure!(b.as_slice() == b"more", "got {:?}", b.as_slice());
    drop((b, held, client));
    let eof = d.run(RecvProvided::new(sfd, &ring))?;
    ensure!(eof.is_empty(), "end of stream");
    Ok(())
}

/// A received provided buffer is itself sendable (zero-copy echo), and
/// `consume` moves its start, as after a partial send.
fn provided_buffer_is_sent_back_from_where_it_was_consumed(d: &Driver) -> Result<()> {
    let ring = match d.register_buf_ring(5, 2, 1024) {
        Ok(r) => r,
        Err(e) if d.kind() == BackendKind::Uring && errno(&e) == libc::EINVAL => {
            eprintln!("skipping: kernel lacks IORING_REGISTER_PBUF_RING: {e}");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let (client, server) = tcp_pair(d)?;
    let (cfd, sfd) = (client.as_raw_fd(), server.as_raw_fd());
    d.block_on(send_all(d, cfd, b"hello, echo".to_vec()))?;
    let mut b = d.run(RecvProvided::new(sfd, &ring))?;
    ensure!(b.as_slice() == b"hello, echo", "got {:?}", b.as_slice());
    b.consume(7);
    ensure!(b.as_slice() == b"echo" && b.len() == 4);
    let (r, b) = d.run(Send::new(sfd, b));
    ensure!(r? == 4);
    drop(b);
    let (r, got) = d.run(Recv::new(cfd, Vec::with_capacity(16)));
    ensure!(r? == 4 && got == b"echo", "got {got:?}");
    // Both buffers are free again once dropped.
    for msg in [b"x", b"y"] {
        d.block_on(send_all(d, cfd, msg.to_vec()))?;
        let held = d.run(RecvProvided::new(sfd, &ring))?;
        ensure!(held.as_slice() == msg);
    }
    Ok(())
}

fn udp_echo_loopback(d: &Driver) -> Result<()> {
    let a = UdpSocket::bind("127.0.0.1:0")?;
    let b = UdpSocket::bind("127.0.0.1:0")?;
    a.connect(b.local_addr()?)?;
    b.connect(a.local_addr()?)?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    let (afd, bfd) = (a.as_raw_fd(), b.as_raw_fd());
    let d2 = d.clone();
    d.block_on(async {
        let echo = spawn(async move {
            let (r, buf) = d2.submit(Recv::new(bfd, Vec::with_capacity(1500))).await;
            r?;
            let (r, _) = d2.submit(Send::new(bfd, buf)).await;
            r.map(drop)
        });
        let (r, _) = d.submit(Send::new(afd, b"datagram".to_vec())).await;
        ensure!(r? == 8);
        let (r, buf) = d.submit(Recv::new(afd, Vec::with_capacity(1500))).await;
        ensure!(r? == 8 && buf == b"datagram");
        echo.await?;
        Ok(())
    })
}

fn connect_refused(d: &Driver) -> Result<()> {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?
    };
    let s = nonblocking_socket(&addr, rustix::net::SocketType::STREAM)?;
    let r = d.run(Connect::new(s.as_raw_fd(), addr));
    ensure!(
        matches!(&r, Err(e) if errno(e) == libc::ECONNREFUSED),
        "{r:?}"
    );
    Ok(())
}

fn peer_reset_is_reported(d: &Driver) -> Result<()> {
    let (client, server) = tcp_pair(d)?;
    // Unread data at close makes the kernel send RST.
    let (r, _) = d.run(Send::new(client.as_raw_fd(), b"unread".to_vec()));
    r?;
    rustix::net::sockopt::set_socket_linger(server.as_fd(), Some(Duration::ZERO))?;
    let (r, _) = d.run(Recv::new(server.as_raw_fd(), Vec::with_capacity(1)));
    ensure!(r? == 1);
    drop(server);
    let (r, _) = d.run(Recv::new(client.as_raw_fd(), Vec::with_capacity(64)));
    ensure!(
        matches!(&r, Err(e) if errno(e) == libc::ECONNRESET),
        "{r:?}"
    );
    Ok(())
}

fn half_close_delivers_eof_and_keeps_writing(d: &Driver) -> Result<()> {
    let (client, server) = tcp_pair(d)?;
    let (cfd, sfd) = (client.as_raw_fd(), server.as_raw_fd());
    d.block_on(async {
        send_all(d, cfd, b"request".to_vec()).await?;
        d.submit(Shutdown::new(cfd, How::Write)).await?;
        let req = recv_to_end(d, sfd).await?;
        ensure!(req == b"request", "server saw EOF after the request");
        send_all(d, sfd, b"response after half-close".to_vec()).await?;
        d.submit(Shutdown::new(sfd, How::Write)).await?;
        let resp = recv_to_end(d, cfd).await?;
        ensure!(resp == b"response after half-close");
        Ok(())
    })
}

fn large_transfer_survives_partial_writes(d: &Driver) -> Result<()> {
    let (client, server) = tcp_pair(d)?;
    rustix::net::sockopt::set_socket_send_buffer_size(client.as_fd(), 16 * 1024)?;
    let data = pattern(8 * 1024 * 1024 + 13);
    let expect = data.clone();
    let cfd = client.as_raw_fd();
    let sfd = server.as_raw_fd();
    let d2 = d.clone();
    let got = d.block_on(async move {
        let rx = spawn(async move { recv_to_end(&d2, sfd).await });
        let mut off = 0;
        let mut partial = 0;
        while off < data.len() {
            let end = (off + 1024 * 1024).min(data.len());
            let (r, _) = d.submit(Send::new(cfd, data[off..end].to_vec())).await;
            let n = r?;
            if n < end - off {
                partial += 1;
            }
            off += n;
        }
        d.submit(Shutdown::new(cfd, How::Write)).await?;
        let got = rx.await?;
        eprintln!("{} partial sends", partial);
        anyhow::Ok(got)
    })?;
    ensure!(got.len() == expect.len(), "received {} bytes", got.len());
    ensure!(got == expect, "byte stream intact");
    Ok(())
}

fn splice_file_to_socket(d: &Driver) -> Result<()> {
    let t = tmpdir()?;
    let data = pattern(200_000);
    std::fs::write(t.path().join("src"), &data)?;
    let file = std::fs::File::open(t.path().join("src"))?;
    let (client, server) = tcp_pair(d)?;
    let (pr, pw) = rustix::pipe::pipe()?;
    let (sfd, cfd) = (server.as_raw_fd(), client.as_raw_fd());
    let (prf, pwf, ffd) = (pr.as_raw_fd(), pw.as_raw_fd(), file.as_raw_fd());
    let d2 = d.clone();
    d.block_on(async move {
        let rx = spawn(async move { recv_to_end(&d2, cfd).await });
        let mut off = 0i64;
        while (off as usize) < data.len() {
            let n = d.submit(Splice::new(ffd, pwf, 65536).off_in(off)).await?;
            ensure!(n > 0, "splice from file made progress");
            let mut left = n;
            while left > 0 {
                left -= d.submit(Splice::new(prf, sfd, left as u32)).await?;
            }
            off += n as i64;
        }
        d.submit(Shutdown::new(sfd, How::Write)).await?;
        let got = rx.await?;
        ensure!(got == data, "socket received the file");
        anyhow::Ok(())
    })
}

fn tee_duplicates_pipe_data(d: &Driver) -> Result<()> {
    if cfg!(not(target_os = "linux")) {
        eprintln!("skipping: tee(2) is Linux only");
        return Ok(());
    }
    let (ar, aw) = rustix::pipe::pipe()?;
    let (br, bw) = rustix::pipe::pipe()?;
    rustix::io::write(&aw, b"teed")?;
    let n = d.run(Tee::new(ar.as_raw_fd(), bw.as_raw_fd(), 64))?;
    ensure!(n == 4);
    let mut x = [0u8; 8];
    ensure!(rustix::io::read(&br, &mut x)? == 4 && &x[..4] == b"teed");
    ensure!(rustix::io::read(&ar, &mut x)? == 4, "tee does not consume");
    Ok(())
}

fn poll_add_reports_readable(d: &Driver) -> Result<()> {
    let (r, w) = rustix::pipe::pipe()?;
    let rfd = r.as_raw_fd();
    let d2 = d.clone();
    d.block_on(async move {
        let waiter = spawn(async move { d2.submit(PollAdd::new(rfd, libc::POLLIN)).await });
        ringwasm_reactor::yield_now().await;
        rustix::io::write(&w, b"!")?;
        let ev = waiter.await?;
        ensure!(ev & libc::POLLIN != 0, "revents {ev:#x}");
        Ok(())
    })
}

fn send_zc_round_trip(d: &Driver) -> Result<()> {
    if !require::<SendZc<Vec<u8>>>(d) {
        return Ok(());
    }
    let (client, server) = tcp_pair(d)?;
    let (r, buf) = d.run(SendZc::new(client.as_raw_fd(), pattern(100_000)));
    let n = r?;
    ensure!(
        n > 0 && buf.len() == 100_000,
        "buffer returned after notification"
    );
    let mut got = Vec::new();
    while got.len() < n {
        let (r, b) = d.run(Recv::new(server.as_raw_fd(), Vec::with_capacity(65536)));
        ensure!(r? > 0);
        got.extend_from_slice(&b);
    }
    ensure!(got == buf[..n]);
    Ok(())
}

// ---------------------------------------------------------------- timers, cancel

fn timeout_fires_after_duration(d: &Driver) -> Result<()> {
    let t0 = Instant::now();
    d.run(Timeout::new(Duration::from_millis(30)))?;
    let el = t0.elapsed();
    ensure!(el >= Duration::from_millis(29), "fired after {el:?}");
    ensure!(el < Duration::from_secs(5), "fired after {el:?}");
    Ok(())
}

fn linked_timeout_cancels_idle_recv(d: &Driver) -> Result<()> {
    let (client, _server) = tcp_pair(d)?;
    let t0 = Instant::now();
    let (r, buf) = d.block_on(d.submit_with_timeout(
        Recv::new(client.as_raw_fd(), Vec::with_capacity(16)),
        Duration::from_millis(30),
    ));
    ensure!(matches!(&r, Err(e) if errno(e) == libc::ECANCELED), "{r:?}");
    ensure!(buf.is_empty() && t0.elapsed() >= Duration::from_millis(29));
    Ok(())
}

/// Polls `fut` once with a no-op waker (to start an op) and returns it.
fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    pin!(fut).poll(&mut cx)
}

fn explicit_cancel_returns_buffer(d: &Driver) -> Result<()> {
    let (client, _server) = tcp_pair(d)?;
    let mut op = d.submit(Recv::new(
        client.as_raw_fd(),
        Box::<[u8]>::from(vec![0u8; 32]),
    ));
    ensure!(poll_once(&mut op).is_pending(), "idle recv is in flight");
    d.flush()?;
    op.cancel();
    let (r, buf) = d.block_on(op);
    ensure!(matches!(&r, Err(e) if errno(e) == libc::ECANCELED), "{r:?}");
    ensure!(buf.len() == 32);
    ensure!(d.backend().in_flight() == 0, "nothing left in flight");
    Ok(())
}

/// The buffer-lifetime rule under load: 10 000 reads are cancelled while a
/// writer thread floods the socket. After each cancel returns, the buffer is
/// snapshotted and kept; at the end every buffer must still equal its
/// snapshot, i.e. no write landed after the cancel returned. A second, idle
/// socket gives one guaranteed in-flight cancel per round.
fn cancel_10000_reads_no_write_after_cancel(d: &Driver) -> Result<()> {
    const ROUNDS: usize = 10_000;
    let (busy_c, busy_s) = tcp_pair(d)?;
    let (idle_c, _idle_s) = tcp_pair(d)?;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let s: std::net::TcpStream = std::net::TcpStream::from(busy_s);
        s.set_nonblocking(false)?;
        std::thread::spawn(move || {
            use std::io::Write as _;
            let mut s = s;
            let chunk = [0xA5u8; 512];
            while !stop.load(Ordering::Relaxed) {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
        })
    };
    // (snapshot taken when the cancel returned, the buffer itself)
    type Kept = (Box<[u8]>, Box<[u8]>);
    let mut kept: Vec<Kept> = Vec::with_capacity(2 * ROUNDS);
    let (mut cancelled, mut completed) = (0usize, 0usize);
    for _ in 0..ROUNDS {
        let mut busy = d.submit(Recv::new(
            busy_c.as_raw_fd(),
            Box::<[u8]>::from(vec![0u8; 256]),
        ));
        let mut idle = d.submit(Recv::new(
            idle_c.as_raw_fd(),
            Box::<[u8]>::from(vec![0u8; 64]),
        ));
        let b0 = poll_once(&mut busy);
        let i0 = poll_once(&mut idle);
        d.flush()?;
        busy.cancel();
        idle.cancel();
        let (rb, bb) = match b0 {
            Poll::Ready(out) => out,
            Poll::Pending => d.block_on(busy),
        };
        let (ri, bi) = match i0 {
            Poll::Ready(out) => out,
            Poll::Pending => d.block_on(idle),
        };
        match rb {
            Ok(_) => completed += 1,
            Err(e) if errno(&e) == libc::ECANCELED => cancelled += 1,
            Err(e) => bail!("busy recv: {e}"),
        }
        ensure!(
            matches!(&ri, Err(e) if errno(e) == libc::ECANCELED),
            "idle recv must be cancelled: {ri:?}"
        );
        ensure!(
            bi.iter().all(|&b| b == 0),
            "cancelled idle read wrote nothing"
        );
        kept.push((bb.clone(), bb));
        kept.push((bi.clone(), bi));
    }
    // Keep the reactor busy a little longer so any stray completion would land.
    stop.store(true, Ordering::Relaxed);
    d.run(Timeout::new(Duration::from_millis(20)))?;
    drop(busy_c);
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("writer thread panicked"))?;
    for (i, (snap, live)) in kept.iter().enumerate() {
        ensure!(snap == live, "buffer {i} changed after its cancel returned");
    }
    ensure!(d.backend().in_flight() == 0, "every op reaped");
    eprintln!(
        "{ROUNDS} rounds: busy reads {completed} completed, {cancelled} cancelled; {ROUNDS} idle reads cancelled"
    );
    Ok(())
}

fn dropped_reads_park_buffers_until_completion(d: &Driver) -> Result<()> {
    let (client, server) = tcp_pair(d)?;
    for _ in 0..1000 {
        let mut op = d.submit(Recv::new(client.as_raw_fd(), vec![0u8; 0]));
        ensure!(poll_once(&mut op).is_pending());
        drop(op);
    }
    // Parked ops stay accounted for until their completions are reaped.
    let (r, _) = d.run(Send::new(server.as_raw_fd(), b"after".to_vec()));
    r?;
    let t0 = Instant::now();
    while d.backend().in_flight() > 0 {
        ensure!(t0.elapsed() < Duration::from_secs(10), "parked ops drain");
        d.run(Timeout::new(Duration::from_millis(1)))?;
    }
    Ok(())
}

fn many_concurrent_reads(d: &Driver) -> Result<()> {
    let t = tmpdir()?;
    let data = pattern(256 * 4096);
    std::fs::write(t.path().join("big"), &data)?;
    let f = std::fs::File::open(t.path().join("big"))?;
    let fd = f.as_raw_fd();
    let data = Arc::new(data);
    d.block_on(async {
        let mut handles = Vec::new();
        for i in 0..256usize {
            let d2 = d.clone();
            let data = data.clone();
            handles.push(spawn(async move {
                let off = ((i * 97) % 256) * 4096;
                let (r, buf) = d2
                    .submit(Read::new(fd, Vec::with_capacity(4096)).offset(off as u64))
                    .await;
                ensure!(r? == 4096 && buf[..] == data[off..off + 4096], "block {i}");
                anyhow::Ok(())
            }));
        }
        for h in handles {
            h.await?;
        }
        Ok(())
    })
}

/// A task whose reads all finish at once (page-cache hits: direct syscalls
/// on the fallback, the `RWF_NOWAIT` attempt on io_uring) still yields to
/// the other tasks of the thread: the executor's per-poll budget. Without
/// it the reader below would never let the second task set `stop`.
fn cached_reads_leave_room_for_other_tasks(d: &Driver) -> Result<()> {
    use std::cell::Cell;
    use std::rc::Rc;
    let t = tmpdir()?;
    std::fs::write(t.path().join("small"), pattern(4096))?;
    let f = std::fs::File::open(t.path().join("small"))?;
    let fd = f.as_raw_fd();
    let stop = Rc::new(Cell::new(false));
    d.block_on(async {
        let (d2, stop2) = (d.clone(), stop.clone());
        let reader = spawn(async move {
            let mut buf = Vec::with_capacity(4096);
            let mut reads = 0u32;
            while !stop2.get() {
                let (r, b) = d2.submit(Read::new(fd, buf).offset(0).cached_first()).await;
                ensure!(r? == 4096, "read {reads}");
                buf = b;
                buf.clear();
                reads += 1;
                ensure!(reads < 100_000, "the reader never yielded");
            }
            anyhow::Ok(reads)
        });
        let stop3 = stop.clone();
        let other = spawn(async move { stop3.set(true) });
        other.await;
        let reads = reader.await?;
        // One poll's budget (128 ops), give or take the poll that sees `stop`.
        ensure!(reads <= 256, "{reads} reads before the other task ran");
        Ok(())
    })
}

/// Reads in flight on a regular file, half of them dropped after their
/// first poll (on io_uring parked until the CQE, on the pool discarded when
/// the pool thread is done): the other half still read the right bytes, and
/// nothing stays in flight.
fn dropped_file_reads_leave_other_reads_intact(d: &Driver) -> Result<()> {
    let t = tmpdir()?;
    let data = pattern(64 * 4096);
    std::fs::write(t.path().join("f"), &data)?;
    let f = std::fs::File::open(t.path().join("f"))?;
    let fd = f.as_raw_fd();
    for round in 0..20 {
        // The direct fallback finishes a file read on its first poll.
        let mut ops = Vec::new();
        for i in 0..64u64 {
            let mut op = d.submit(Read::new(fd, vec![0u8; 4096]).offset(i * 4096));
            let done = match poll_once(&mut op) {
                Poll::Ready(out) => Some(out),
                Poll::Pending => None,
            };
            ops.push((op, done));
        }
        d.flush()?;
        let kept: Vec<_> = ops
            .into_iter()
            .enumerate()
            .filter(|(i, _)| (i + round) % 2 == 0)
            .collect();
        for (i, (op, done)) in kept {
            let (r, buf) = match done {
                Some(out) => out,
                None => d.block_on(op),
            };
            let off = i * 4096;
            ensure!(r? == 4096, "read {i} in round {round}");
            ensure!(buf[..] == data[off..off + 4096], "bytes of read {i}");
        }
    }
    let t0 = Instant::now();
    while d.backend().in_flight() > 0 {
        ensure!(
            t0.elapsed() < Duration::from_secs(10),
            "dropped reads drain"
        );
        d.run(Timeout::new(Duration::from_millis(1)))?;
    }
    Ok(())
}

// ---------------------------------------------------------------- guests

/// Guest calls as tasks of the reactor's executor: an async host function
/// waits on a timer op, and while one guest sleeps the thread runs the other
/// (its future returns `Pending`, the fiber keeps the guest's frames). The
/// long sleeper is the first to start, so finishing second shows it held
/// no thread; its 300 ms against 1 ms leaves a wide margin for scheduling.
fn guests_wait_on_reactor_timers_without_holding_the_thread(d: &Driver) -> Result<()> {
    use std::cell::RefCell;
    use std::rc::Rc;

    use ringwasm_jit::{Caller, Engine, Linker, Module, Store, Trap};

    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "sleep_ms" (func $sleep (param i32) (result i32)))
             (func (export "nap") (param i32) (result i32)
               local.get 0 call $sleep))"#,
    )?;
    let mut linker: Linker<Driver> = Linker::new(&engine);
    linker.func_wrap_async("host", "sleep_ms", |caller: Caller<'_, Driver>, ms: i32| {
        let driver = caller.data().clone();
        Box::new(async move {
            let after = Duration::from_millis(u64::try_from(ms).unwrap_or(0));
            driver
                .submit(Timeout::new(after))
                .await
                .map(|()| ms)
                .map_err(|e| Trap::host(format!("timer: {e}")))
        })
    })?;
    let finished = Rc::new(RefCell::new(Vec::new()));
    let mut calls = Vec::new();
    for ms in [300, 1] {
        let mut store = Store::new(&engine, d.clone());
        let nap = linker
            .instantiate(&mut store, &module)?
            .get_typed_func::<i32, i32>(&mut store, "nap")?;
        let finished = finished.clone();
        calls.push(async move {
            let slept = nap.call_async(&mut store, ms).await;
            finished.borrow_mut().push(slept.map_err(|e| e.to_string()));
        });
    }
    d.block_on(async {
        let handles: Vec<_> = calls.into_iter().map(spawn).collect();
        for h in handles {
            h.await;
        }
    });
    ensure!(
        *finished.borrow() == [Ok(1), Ok(300)],
        "finished: {:?}",
        finished.borrow()
    );
    Ok(())
}

// ---------------------------------------------------------------- selection

fn auto_runs_on_fallback_when_uring_setup_fails() -> Result<()> {
    let io = Io::select(IoChoice::Auto, || {
        Err(ringwasm_reactor::Error::Setup(
            std::io::Error::from_raw_os_error(libc::EPERM),
        ))
    })?;
    ensure!(io.kind() == BackendKind::Epoll);
    ensure!(matches!(
        io.fallback_reason(),
        Some(ringwasm_reactor::Error::Setup(_))
    ));
    file_write_then_read_positioned(io.driver())?;
    tcp_echo_loopback(io.driver())
}
