//! `ringwasm run` end to end, as a user runs it: exit statuses and messages,
//! checked against `wasmtime run` when the peer is installed.
#![forbid(unsafe_code)]

use std::path::Path;

mod support;
use support::{ringwasm, stderr, wasmtime_run, write};

/// The status `wasmtime run` gives the same arguments, when it is installed.
fn wasmtime_status(args: &[&str], dir: &Path) -> Option<i32> {
    wasmtime_run(args, dir).and_then(|out| out.status.code())
}

#[test]
fn a_wasm_trap_exits_134_with_the_trap_and_the_invoked_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wat = write(
        dir.path(),
        "trap.wat",
        r#"(module
            (func $inner (result i32) (i32.div_s (i32.const 1) (i32.const 0)))
            (func (export "g") (result i32) (call $inner)))"#,
    );
    let args = ["run", "--invoke", "g", wat];
    let out = ringwasm(&args, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(134), "stderr: {stderr}");
    assert!(stderr.contains("failed to invoke `g`"), "stderr: {stderr}");
    assert!(
        stderr.contains("integer divide by zero"),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("inner"),
        "backtrace names the function: {stderr}"
    );
    if let Some(theirs) = wasmtime_status(&args, dir.path()) {
        assert_eq!(out.status.code(), Some(theirs), "same status as wasmtime");
    }
}

#[test]
fn a_trap_in_the_start_function_exits_134() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wat = write(
        dir.path(),
        "start.wat",
        r#"(module (func $s unreachable) (start $s) (func (export "_start")))"#,
    );
    let args = ["run", wat];
    let out = ringwasm(&args, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(134), "stderr: {stderr}");
    assert!(stderr.contains("unreachable"), "stderr: {stderr}");
    if let Some(theirs) = wasmtime_status(&args, dir.path()) {
        assert_eq!(out.status.code(), Some(theirs), "same status as wasmtime");
    }
}

#[test]
fn a_host_error_on_a_bad_guest_pointer_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    // fd_write with an iovec list far outside the one-page memory.
    let wat = write(
        dir.path(),
        "badptr.wat",
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write"
                (func $fd_write (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "_start")
                (drop (call $fd_write (i32.const 1) (i32.const 0x7ffffff0)
                                      (i32.const 1) (i32.const 0)))))"#,
    );
    let args = ["run", wat];
    let out = ringwasm(&args, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    if let Some(theirs) = wasmtime_status(&args, dir.path()) {
        assert_eq!(out.status.code(), Some(theirs), "same status as wasmtime");
    }
}

#[test]
fn proc_exit_sets_the_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wat = write(
        dir.path(),
        "exit.wat",
        r#"(module
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func (export "_start") (call $exit (i32.const 7))))"#,
    );
    let args = ["run", wat];
    let out = ringwasm(&args, dir.path());
    assert_eq!(out.status.code(), Some(7));
    if let Some(theirs) = wasmtime_status(&args, dir.path()) {
        assert_eq!(out.status.code(), Some(theirs), "same status as wasmtime");
    }
}

#[test]
fn the_readme_example_greets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let out = ringwasm(&["run", "examples/hello.wat"], root);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello, world!\n");
}

#[test]
fn a_bad_command_line_exits_2_and_a_missing_file_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wat = write(dir.path(), "empty.wat", "(module)");
    for (args, want) in [
        (&["run", "--no-such-flag", wat][..], 2),
        (&["run"][..], 2),
        (&["run", "no-such-file.wasm"][..], 1),
    ] {
        let out = ringwasm(args, dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(want), "{args:?}: {stderr}");
        assert!(!stderr.is_empty(), "{args:?} says why");
        if let Some(theirs) = wasmtime_status(args, dir.path()) {
            assert_eq!(out.status.code(), Some(theirs), "{args:?}: as wasmtime");
        }
    }
}

#[test]
fn trap_reports_read_like_wasmtimes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wat = write(
        dir.path(),
        "traps.wat",
        r#"(module $m
            (type $t (func))
            (table 1 funcref)
            (memory (export "memory") 1)
            (func $inner (export "div") (result i32)
                (i32.div_s (i32.const 1) (i32.const 0)))
            (func (export "outer") (result i32) (call $inner))
            (func (export "ci") (call_indirect (type $t) (i32.const 5)))
            (func (export "ci0") (call_indirect (type $t) (i32.const 0)))
            (func (export "_start") unreachable))"#,
    );
    let runs: [&[&str]; 5] = [
        &["run", "--invoke", "div", wat],
        &["run", "--invoke", "outer", wat],
        &["run", "--invoke", "ci", wat],
        &["run", "--invoke", "ci0", wat],
        &["run", wat],
    ];
    for args in runs {
        let ours = ringwasm(args, dir.path());
        let err = String::from_utf8_lossy(&ours.stderr).into_owned();
        assert_eq!(ours.status.code(), Some(134), "{args:?}: {err}");
        assert!(
            err.contains("error while executing at wasm backtrace:"),
            "{err}"
        );
        assert!(err.contains(" - m!"), "module!function names: {err}");
        let Some(theirs) = wasmtime_run(args, dir.path()) else {
            continue;
        };
        assert_eq!(
            err,
            String::from_utf8_lossy(&theirs.stderr),
            "{args:?}: same report as wasmtime"
        );
    }
}

/// Runs `args` under ringwasm in `dir`, checks the status and that stderr
/// contains each of `want` (so the case means something without the peer),
/// then, when wasmtime is installed, that its stderr and status are the
/// same byte for byte. Returns our stderr.
fn same_report(args: &[&str], dir: &Path, status: i32, want: &[&str]) -> String {
    let ours = ringwasm(args, dir);
    let err = stderr(&ours);
    assert_eq!(ours.status.code(), Some(status), "{args:?}: {err}");
    for w in want {
        assert!(err.contains(w), "{args:?}: wanted {w:?} in:\n{err}");
    }
    if let Some(theirs) = wasmtime_run(args, dir) {
        assert_eq!(err, stderr(&theirs), "{args:?}: same report as wasmtime");
        assert_eq!(ours.status.code(), theirs.status.code(), "{args:?}: status");
    }
    err
}

#[test]
fn out_of_bounds_accesses_report_the_faulting_address_as_wasmtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    // (file, body of `_start`, extra module fields, expected fault or
    // None where wasmtime checks explicitly and names no address)
    let cases: [(&'static str, &str, &str, Option<&str>); 10] = [
        (
            "load.wat",
            "(drop (i32.load (i32.const 70000)))",
            "(memory 1)",
            Some("wasm address 0x11170 in linear memory of size 0x10000"),
        ),
        (
            "offset.wat",
            "(drop (i32.load offset=100 (i32.const 65500)))",
            "(memory 1)",
            Some("wasm address 0x10040 in linear memory of size 0x10000"),
        ),
        // An i64 load straddling the end faults at its first byte past it.
        (
            "straddle.wat",
            "(drop (i64.load (i32.const 65532)))",
            "(memory 1)",
            Some("wasm address 0x10000 in linear memory of size 0x10000"),
        ),
        (
            "store.wat",
            "(i32.store (i32.const 65536) (i32.const 1))",
            "(memory 1)",
            Some("wasm address 0x10000 in linear memory of size 0x10000"),
        ),
        // Index -1 plus an offset: past 4 GiB, in the guard.
        (
            "wrap.wat",
            "(drop (i32.load offset=1 (i32.const -1)))",
            "(memory 1)",
            Some("wasm address 0x100000000 in linear memory of size 0x10000"),
        ),
        // The second memory's own address and size.
        (
            "multi.wat",
            "(drop (i32.load $b (i32.const 200000)))",
            "(memory 1) (memory $b 2)",
            Some("wasm address 0x30d40 in linear memory of size 0x20000"),
        ),
        // The size when the access faulted, after a grow.
        (
            "grown.wat",
            "(drop (memory.grow (i32.const 2))) (drop (i32.load (i32.const 300000)))",
            "(memory 1)",
            Some("wasm address 0x493e0 in linear memory of size 0x30000"),
        ),
        (
            "empty.wat",
            "(drop (i32.load8_u (i32.const 0)))",
            "(memory 0)",
            Some("wasm address 0x0 in linear memory of size 0x0"),
        ),
        // Bulk operations and memory64 accesses are checked explicitly.
        (
            "fill.wat",
            "(memory.fill (i32.const 65000) (i32.const 0) (i32.const 1000))",
            "(memory 1)",
            None,
        ),
        (
            "mem64.wat",
            "(drop (i32.load (i64.const 70000)))",
            "(memory i64 1)",
            None,
        ),
    ];
    for (file, body, fields, fault) in cases {
        let wat = write(
            dir.path(),
            file,
            &format!(r#"(module {fields} (func $oob (export "_start") {body}))"#),
        );
        let want = ["wasm trap: out of bounds memory access", " - <unknown>!oob"];
        let err = same_report(&["run", wat], dir.path(), 134, &want);
        match fault {
            Some(f) => assert!(
                err.contains(&format!("    2: memory fault at {f}\n    3: wasm trap")),
                "{file}: {err}"
            ),
            None => assert!(!err.contains("memory fault"), "{file}: {err}"),
        }
    }
}

#[test]
fn mangled_names_are_demangled_as_wasmtime_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A C++ name, and `f`, which cpp_demangle (and so wasmtime) reads as
    // the type `float`.
    let wat = write(
        dir.path(),
        "mangled.wat",
        r#"(module
            (func $_Z3fooi (param i32) unreachable)
            (func $f (export "_start") (call $_Z3fooi (i32.const 1))))"#,
    );
    let err = same_report(
        &["run", wat],
        dir.path(),
        134,
        &["<unknown>!foo(int)\n", "<unknown>!float\n"],
    );
    assert!(!err.contains("_Z3fooi"), "{err}");
}

#[test]
fn a_rust_panic_shows_a_demangled_backtrace_as_wasmtime() {
    let Some(guests) = support::guests_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(guests.join("panic.wasm"), dir.path().join("panic.wasm")).expect("copy guest");
    let err = same_report(
        &["run", "panic.wasm"],
        dir.path(),
        134,
        &[
            "panicked at",
            // Legacy mangling, hash kept; v0 mangling with crate hashes.
            "!panic::main::h",
            "!std[",
            "]::rt::lang_start_internal\n",
            "wasm trap: wasm `unreachable` instruction executed",
        ],
    );
    assert!(!err.contains("!_ZN") && !err.contains("!_R"), "{err}");
}

#[test]
fn other_trap_kinds_read_like_wasmtimes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wat = write(
        dir.path(),
        "kinds.wat",
        r#"(module $kinds
            (type $t (func)) (type $t2 (func (param i32)))
            (table 2 funcref) (elem (i32.const 1) $noop)
            (memory (export "memory") 1)
            (tag $oops (param i32))
            (func $noop)
            (func (export "ovf") (result i32)
                (i32.div_s (i32.const 0x80000000) (i32.const -1)))
            (func (export "remz") (result i64) (i64.rem_s (i64.const 1) (i64.const 0)))
            (func (export "conv") (result i32) (i32.trunc_f32_s (f32.const nan)))
            (func $rec (export "rec") (call $rec))
            (func (export "ci_type") (call_indirect (type $t2) (i32.const 0) (i32.const 1)))
            (func (export "tget") (drop (table.get (i32.const 5))))
            (func (export "minit") (memory.init 0 (i32.const 65535) (i32.const 0) (i32.const 2)))
            (data "ab")
            (func (export "callref") (call_ref $t (ref.null $t)))
            (func $throw (export "throw") (throw $oops (i32.const 3)))
            (func (export "div") (param i32 i32) (result i32)
                (i32.div_u (local.get 0) (local.get 1))))"#,
    );
    let cases: [(&[&str], i32, &str); 10] = [
        (&["ovf"], 134, "wasm trap: integer overflow"),
        (&["remz"], 134, "wasm trap: integer divide by zero"),
        (&["conv"], 134, "wasm trap: invalid conversion to integer"),
        // Frame 0 is the prologue's stack check: no offset; 20 frames.
        (&["rec"], 134, "    0: kinds!rec\n    1:"),
        (&["ci_type"], 134, "wasm trap: indirect call type mismatch"),
        (&["tget"], 134, "out of bounds table access"),
        (&["minit"], 134, "wasm trap: out of bounds memory access"),
        (&["callref"], 134, "wasm trap: null reference"),
        (&["throw"], 1, "    2: thrown Wasm exception"),
        // Arguments: wasmtime's warning before the report.
        (
            &["div", "5", "0"],
            134,
            "warning: using `--invoke` with a function that takes arguments",
        ),
    ];
    for (invoke, status, want) in cases {
        let mut args = vec!["run", "--invoke", invoke[0], wat];
        args.extend_from_slice(&invoke[1..]);
        let err = same_report(&args, dir.path(), status, &[want]);
        if invoke[0] == "rec" {
            assert!(err.contains("   19: ") && !err.contains("   20: "), "{err}");
        }
    }
    // A successful call with results: the second warning, after the call.
    let ok = same_report(
        &["run", "--invoke", "div", wat, "7", "2"],
        dir.path(),
        0,
        &["that returns values is experimental"],
    );
    assert_eq!(ok.lines().count(), 2, "{ok}");
}

#[test]
fn traps_while_instantiating_name_the_file_as_wasmtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (file, text, fault) in [
        (
            "start_oob.wat",
            r#"(module (memory 1) (func $init (drop (i32.load (i32.const 65536))))
                (start $init) (func (export "_start")))"#,
            true,
        ),
        (
            "data_oob.wat",
            r#"(module (memory 1) (data (i32.const 65535) "ab") (func (export "_start")))"#,
            false,
        ),
        (
            "elem_oob.wat",
            r#"(module (table 1 funcref) (elem (i32.const 1) 0) (func (export "_start")))"#,
            false,
        ),
    ] {
        let wat = write(dir.path(), file, text);
        let err = same_report(
            &["run", wat],
            dir.path(),
            134,
            &[&format!("    0: failed to instantiate \"{file}\"\n")],
        );
        assert_eq!(err.contains("memory fault at"), fault, "{err}");
    }
}

#[test]
fn a_host_error_carries_the_wasm_frames_that_called_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wat = write(
        dir.path(),
        "hostbt.wat",
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write"
                (func $fd_write (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func $writer (drop (call $fd_write (i32.const 1) (i32.const 0x7ffffff0)
                                              (i32.const 1) (i32.const 0))))
            (func (export "_start") (call $writer)))"#,
    );
    let out = ringwasm(&["run", wat], dir.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    // The message is the WASI host's own; the frames are wasmtime's.
    assert!(
        err.contains("    1: error while executing at wasm backtrace:\n    0:     0x6b - <unknown>!writer\n    1:     0x71 - <unknown>!<wasm function 2>\n    2: "),
        "{err}"
    );
    if let Some(theirs) = wasmtime_run(&["run", wat], dir.path()) {
        let theirs = stderr(&theirs);
        let frames = |s: &str| s.lines().take(7).collect::<Vec<_>>().join("\n");
        assert_eq!(frames(&err), frames(&theirs), "same frames as wasmtime");
    }
}

#[test]
fn invoke_arguments_parse_and_fail_as_in_wasmtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wat = write(
        dir.path(),
        "invoke.wat",
        r#"(module
            (func (export "f") (param i32) (result i32) (local.get 0))
            (func (export "d") (param f32 f64) (result f64) (local.get 1))
            (func (export "l") (param i64) (result i64) (local.get 0)))"#,
    );
    // (arguments after the file, status, a line ringwasm must print)
    let cases: &[(&[&str], i32, &str)] = &[
        (&["f", "0x10"], 0, "16\n"),
        (&["f", "+5", "ignored"], 0, "5\n"),
        (
            &["f", "4294967295"],
            1,
            "number too large to fit in target type",
        ),
        (&["f", "-0x5"], 1, "invalid digit found in string"),
        (&["f"], 1, "not enough arguments for `f`"),
        (&["d", "abc", "1"], 1, "invalid float literal"),
        (&["d", "1", "1e3"], 0, "1000\n"),
        (&["l", "-9223372036854775808"], 0, "-9223372036854775808\n"),
        (&["h"], 1, "no func export named `h` found"),
    ];
    for &(rest, status, want) in cases {
        let mut args = vec!["run", "--invoke", rest[0], wat];
        args.extend(&rest[1..]);
        let ours = ringwasm(&args, dir.path());
        let all = format!("{}{}", String::from_utf8_lossy(&ours.stdout), stderr(&ours));
        assert_eq!(ours.status.code(), Some(status), "{args:?}: {all}");
        assert!(all.contains(want), "{args:?}: wanted {want:?} in {all}");
        if let Some(theirs) = wasmtime_run(&args, dir.path()) {
            assert_eq!(ours.stdout, theirs.stdout, "{args:?}: stdout");
            assert_eq!(stderr(&ours), stderr(&theirs), "{args:?}: stderr");
            assert_eq!(ours.status.code(), theirs.status.code(), "{args:?}");
        }
    }
    // No `_start` and no `--invoke`: instantiated, nothing run, success.
    let out = ringwasm(&["run", wat], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn inherit_env_passes_the_host_environment_before_env_flags() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Exits with the number of environment variables the guest sees.
    let wat = write(
        dir.path(),
        "envcount.wat",
        r#"(module
            (import "wasi_snapshot_preview1" "environ_sizes_get"
                (func $sizes (param i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func (export "_start")
                (drop (call $sizes (i32.const 0) (i32.const 4)))
                (call $exit (i32.load (i32.const 0)))))"#,
    );
    let count = |flags: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ringwasm"))
            .arg("run")
            .args(flags)
            .arg(wat)
            .current_dir(dir.path())
            .env_clear()
            .env("A", "1")
            .env("B", "2")
            .output()
            .expect("ringwasm runs");
        out.status.code()
    };
    assert_eq!(count(&[]), Some(0));
    assert_eq!(count(&["-S", "inherit-env"]), Some(2));
    assert_eq!(count(&["-S", "inherit-env", "--env", "C=3"]), Some(3));
    assert_eq!(
        count(&["-S", "inherit-env=y", "-S", "inherit-env=n"]),
        Some(0)
    );
    assert_eq!(count(&["-S", "cli", "-S", "tcp=n"]), Some(0));
    assert_eq!(
        count(&["-S", "tcplisten=127.0.0.1:0"]),
        Some(2),
        "usage error"
    );
}

#[test]
fn a_closed_stderr_keeps_the_trap_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wat = write(
        dir.path(),
        "unreachable.wat",
        r#"(module (func (export "_start") unreachable))"#,
    );
    // A pipe whose reader is gone: every write to it fails with EPIPE, as
    // under `ringwasm run … 2>&1 | head -1` once `head` has exited.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_ringwasm"))
        .args(["run", wat])
        .current_dir(dir.path())
        .stderr(writer)
        .status()
        .expect("ringwasm runs");
    assert_eq!(status.code(), Some(134), "the trap's status, not a panic's");
}

#[test]
fn atomic_traps_are_reported_as_wasmtime_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    // (file, module, what the report says)
    let cases = [
        (
            "unaligned.wat",
            r#"(module (memory 1) (func $f (export "_start")
                (drop (i32.atomic.rmw.add (i32.const 1) (i32.const 1)))))"#,
            "wasm trap: unaligned atomic",
        ),
        (
            "unshared_wait.wat",
            r#"(module (memory 1) (func $f (export "_start")
                (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0)))))"#,
            "wasm trap: atomic wait on non-shared memory",
        ),
        // An and-rmw is a cmpxchg loop on x86-64: its fault in the guard is
        // still the out-of-bounds trap, with the address.
        (
            "oob_rmw.wat",
            r#"(module (memory 1) (func $f (export "_start")
                (drop (i32.atomic.rmw.and (i32.const 70000) (i32.const 1)))))"#,
            "memory fault at wasm address 0x11170 in linear memory of size 0x10000",
        ),
    ];
    for (file, module, want) in cases {
        let wat = write(dir.path(), file, module);
        same_report(&["run", wat], dir.path(), 134, &[want, " - <unknown>!f"]);
    }
}

/// wasmtime takes `-W a,b=y`, `--wasm`, `-S`/`--wasi` and `-C`/`--codegen`
/// lists; Kotlin's and others' instructions spell them so.
#[test]
fn option_lists_and_long_forms_parse_as_in_wasmtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wat = write(
        dir.path(),
        "tail.wat",
        r#"(module
             (func $f (result i32) i32.const 7)
             (func (export "run") (result i32) return_call $f))"#,
    );
    for args in [
        &[
            "run",
            "-W",
            "function-references,exceptions,tail-call=y",
            "--invoke",
            "run",
            wat,
        ][..],
        &["run", "--wasm", "simd=y,tail-call", "--invoke", "run", wat][..],
        &[
            "run",
            "-S",
            "cli,inherit-env=n",
            "-C",
            "cache=n",
            "--invoke",
            "run",
            wat,
        ][..],
        &[
            "run",
            "--wasi",
            "cli=y",
            "--codegen",
            "cache=n",
            "--invoke",
            "run",
            wat,
        ][..],
        &["run", "-O", "opt-level=0", "--invoke", "run", wat][..],
        &["run", "--optimize", "opt-level=s", "--invoke", "run", wat][..],
        &[
            "run",
            "-O",
            "pooling-allocator,pooling-total-memories=4,pooling-max-memory-size=1048576",
            "--invoke",
            "run",
            wat,
        ][..],
        &["run", "-O", "memory-init-cow=n", "--invoke", "run", wat][..],
    ] {
        let out = ringwasm(args, dir.path());
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "7\n", "{args:?}");
        if let Some(theirs) = wasmtime_status(args, dir.path()) {
            assert_eq!(theirs, 0, "{args:?}: wasmtime takes it too");
        }
    }
    // A list with one bad option fails on that option, by name.
    let out = ringwasm(&["run", "-W", "simd,no-such-thing", wat], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("`no-such-thing`: unknown option"), "{err}");
    // wasmtime's memory-layout tuning is refused by name, not silently ignored.
    let out = ringwasm(&["run", "-O", "memory-guard-size=65536", wat], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("a wasmtime option ringwasm does not have"),
        "{}",
        stderr(&out)
    );
    // A pool too small for the module fails as wasmtime does, naming the
    // option that raises the limit.
    let big = write(
        dir.path(),
        "big.wat",
        "(module (memory 4) (func (export \"_start\")))",
    );
    let out = ringwasm(
        &[
            "run",
            "-O",
            "pooling-allocator,pooling-max-memory-size=65536",
            big,
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("pooling-max-memory-size"),
        "{}",
        stderr(&out)
    );
    // And a list that turns off what the module needs refuses it.
    let out = ringwasm(
        &["run", "-W", "simd,tail-call=n", "--invoke", "run", wat],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

/// `--preload NAME=PATH` instantiates a module first (running its
/// `_initialize`) and lets the main module import its exports, as in
/// wasmtime; a missing file or a malformed flag fails as there.
#[test]
fn preloaded_modules_satisfy_imports_as_in_wasmtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = write(
        dir.path(),
        "lib.wat",
        r#"(module
             (global $base (mut i32) (i32.const 0))
             (func (export "_initialize") (global.set $base (i32.const 100)))
             (func (export "add") (param i32 i32) (result i32)
               local.get 0 local.get 1 i32.add global.get $base i32.add))"#,
    );
    let main = write(
        dir.path(),
        "main.wat",
        r#"(module
             (import "lib" "add" (func $add (param i32 i32) (result i32)))
             (func (export "run") (result i32) i32.const 2 i32.const 3 call $add))"#,
    );
    let with = format!("lib={lib}");
    let args = ["run", "--preload", &with, "--invoke", "run", main];
    let out = ringwasm(&args, dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "105\n",
        "_initialize ran first"
    );
    if let Some(theirs) = wasmtime_run(&args, dir.path()) {
        assert_eq!(theirs.stdout, out.stdout, "as wasmtime");
    }
    for (args, want) in [
        (vec!["run", "--invoke", "run", main], 1),
        (
            vec![
                "run",
                "--preload",
                "lib=missing.wat",
                "--invoke",
                "run",
                main,
            ],
            1,
        ),
        (vec!["run", "--preload", "lib", "--invoke", "run", main], 2),
    ] {
        let out = ringwasm(&args, dir.path());
        assert_eq!(out.status.code(), Some(want), "{args:?}: {}", stderr(&out));
        if let Some(theirs) = wasmtime_status(&args, dir.path()) {
            assert_eq!(theirs, want, "{args:?}: as wasmtime");
        }
    }
    let err = stderr(&ringwasm(&["run", "--invoke", "run", main], dir.path()));
    assert!(
        err.contains("imports `lib.add`, which no host provides"),
        "{err}"
    );
}
