//! What a WASI call with bad arguments does, against wasmtime: wiggle's
//! glue converts every flags and enum argument before the function runs
//! (a trap: "In func … at convert Fdflags: Invalid flag value Fdflags"),
//! writes results field by field after it ("at write size: Pointer out of
//! bounds: Region { … }"), and the function itself reads iovecs and
//! subscriptions (a bare "Pointer not aligned to 8: …"). Each case checks
//! ringwasm's exit status and the line that names the problem, then, with
//! the wasmtime peer installed, that both print the same report.
#![forbid(unsafe_code)]

mod support;

use support::{ringwasm, stderr, wasmtime_run};

/// `(name, import, signature, call arguments, exit status, expected line)`.
/// The guest calls the import once and exits with its errno.
const CASES: &[(&str, &str, &str, &str, i32, &str)] = &[
    (
        "fdflags",
        "fd_fdstat_set_flags",
        "(param i32 i32) (result i32)",
        "(i32.const 1) (i32.const 0xffff)",
        1,
        "2: In func wasi_snapshot_preview1::fd_fdstat_set_flags at convert Fdflags: Invalid flag value Fdflags\n    3: Invalid flag value Fdflags\n",
    ),
    (
        "fdflags_too_big",
        "fd_fdstat_set_flags",
        "(param i32 i32) (result i32)",
        "(i32.const 1) (i32.const 0x10000)",
        1,
        "3: Int conversion error: TryFromIntError(PosOverflow)\n    4: out of range integral type conversion attempted\n",
    ),
    (
        "oflags",
        "path_open",
        "(param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)",
        "(i32.const 3) (i32.const 0) (i32.const 200) (i32.const 1) (i32.const 0xff) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 100)",
        1,
        "at convert Oflags: Invalid flag value Oflags",
    ),
    (
        "lookupflags_first",
        "path_filestat_set_times",
        "(param i32 i32 i32 i32 i64 i64 i32) (result i32)",
        "(i32.const 3) (i32.const 0xff) (i32.const 200) (i32.const 1) (i64.const 0) (i64.const 0) (i32.const 0xff)",
        1,
        "at convert Lookupflags: Invalid flag value Lookupflags",
    ),
    (
        "negative_rights",
        "path_open",
        "(param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)",
        "(i32.const 3) (i32.const 0) (i32.const 200) (i32.const 1) (i32.const 0) (i64.const -1) (i64.const 0) (i32.const 0) (i32.const 100)",
        1,
        "at convert Rights: Int conversion error: TryFromIntError(NegOverflow)",
    ),
    (
        "rights_bit_30",
        "fd_fdstat_set_rights",
        "(param i32 i64 i64) (result i32)",
        "(i32.const 3) (i64.const 0x40000000) (i64.const 0)",
        1,
        "at convert Rights: Invalid flag value Rights",
    ),
    (
        "whence_before_badf",
        "fd_seek",
        "(param i32 i64 i32 i32) (result i32)",
        "(i32.const 99) (i64.const 0) (i32.const 9) (i32.const 96)",
        1,
        "at convert Whence: Invalid enum value Whence",
    ),
    (
        "clockid",
        "clock_time_get",
        "(param i32 i64 i32) (result i32)",
        "(i32.const 9) (i64.const 0) (i32.const 104)",
        1,
        "at convert Clockid: Invalid enum value Clockid",
    ),
    (
        "signal",
        "proc_raise",
        "(param i32) (result i32)",
        "(i32.const 99)",
        1,
        "at convert Signal: Invalid enum value Signal",
    ),
    (
        "sdflags",
        "sock_shutdown",
        "(param i32 i32) (result i32)",
        "(i32.const 3) (i32.const 9)",
        1,
        "at convert Sdflags: Invalid flag value Sdflags",
    ),
    (
        "timestamp_misaligned",
        "clock_time_get",
        "(param i32 i64 i32) (result i32)",
        "(i32.const 0) (i64.const 0) (i32.const 101)",
        1,
        "at write timestamp: Pointer not aligned to 8: Region { start: 101, len: 8 }",
    ),
    (
        "size_out_of_bounds_and_misaligned",
        "fd_write",
        "(param i32 i32 i32 i32) (result i32)",
        "(i32.const 1) (i32.const 0) (i32.const 1) (i32.const 65534)",
        1,
        "at write size: Pointer out of bounds: Region { start: 65534, len: 4 }",
    ),
    (
        "fdstat_second_field",
        "fd_fdstat_get",
        "(param i32 i32) (result i32)",
        "(i32.const 1) (i32.const 65534)",
        1,
        "at write fdstat: Pointer out of bounds: Region { start: 65536, len: 2 }",
    ),
    (
        "prestat_payload",
        "fd_prestat_get",
        "(param i32 i32) (result i32)",
        "(i32.const 3) (i32.const 65534)",
        1,
        "at write prestat: Pointer out of bounds: Region { start: 65538, len: 4 }",
    ),
    (
        "iovec_buffer",
        "fd_write",
        "(param i32 i32 i32 i32) (result i32)",
        "(i32.const 1) (i32.const 16) (i32.const 1) (i32.const 96)",
        1,
        "    2: Pointer out of bounds: Region { start: 65000, len: 1000 }\n",
    ),
    (
        "subscription_misaligned",
        "poll_oneoff",
        "(param i32 i32 i32 i32) (result i32)",
        "(i32.const 65500) (i32.const 1000) (i32.const 1) (i32.const 8)",
        1,
        "    2: Pointer not aligned to 8: Region { start: 65500, len: 8 }\n",
    ),
    // Not traps: the function's own checks give errnos.
    (
        "unknown_event_type",
        "poll_oneoff",
        "(param i32 i32 i32 i32) (result i32)",
        "(i32.const 1024) (i32.const 2048) (i32.const 1) (i32.const 96)",
        28,
        "",
    ),
    (
        "empty_stdin_read",
        "fd_read",
        "(param i32 i32 i32 i32) (result i32)",
        "(i32.const 0) (i32.const 0) (i32.const 1) (i32.const 96)",
        27,
        "",
    ),
    (
        "siflags_unchecked",
        "sock_send",
        "(param i32 i32 i32 i32 i32) (result i32)",
        "(i32.const 3) (i32.const 0) (i32.const 1) (i32.const 0xff) (i32.const 96)",
        57,
        "",
    ),
];

fn module(import: &str, sig: &str, args: &str) -> String {
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "{import}" (func $f {sig}))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    ;; iovec at 0: 200+0; iovec at 16: 65000+1000 (past the end)
    (i32.store (i32.const 0) (i32.const 200))
    (i32.store (i32.const 4) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 65000))
    (i32.store (i32.const 20) (i32.const 1000))
    ;; subscription at 1024: userdata 1, event type 9 (none such)
    (i64.store (i32.const 1024) (i64.const 1))
    (i32.store8 (i32.const 1032) (i32.const 9))
    (call $exit (call $f {args}))))"#
    )
}

#[test]
fn bad_arguments_trap_or_fail_as_in_wasmtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for &(name, import, sig, args, status, want) in CASES {
        let file = format!("{name}.wat");
        std::fs::write(dir.path().join(&file), module(import, sig, args)).expect("write");
        let argv = ["run", "--dir", ".::/", file.as_str()];
        let ours = ringwasm(&argv, dir.path());
        let err = stderr(&ours);
        if ours.status.code() != Some(status) || !err.contains(want) {
            failures.push(format!(
                "{name}: status {:?} (want {status}), stderr:\n{err}",
                ours.status.code()
            ));
            continue;
        }
        if let Some(theirs) = wasmtime_run(&argv, dir.path())
            && (err != stderr(&theirs) || ours.status.code() != theirs.status.code())
        {
            failures.push(format!(
                "{name}: differs from wasmtime (status {:?}):\n{}\nours:\n{err}",
                theirs.status.code(),
                stderr(&theirs)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}
