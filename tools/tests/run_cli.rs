//! `ringwasm run` end to end, as a user runs it: exit statuses and messages,
//! checked against `wasmtime run` when the peer is installed.
#![forbid(unsafe_code)]

use std::path::Path;

mod support;
use support::{ringwasm, wasmtime_run, write};

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
