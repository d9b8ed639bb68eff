//! `ringwasm compile` + `ringwasm run` of the artefact, and the code cache
//! seen from the command line.
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::{Command, Output};

const FIB: &str = r#"
(module
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else
      local.get 0 i32.const 1 i32.sub call $fib
      local.get 0 i32.const 2 i32.sub call $fib
      i32.add
    end))
"#;

/// Runs `ringwasm` in `dir` with its code cache in `dir/cache`.
fn ringwasm(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ringwasm"))
        .args(args)
        .current_dir(dir)
        .env("RINGWASM_CACHE_DIR", dir.join("cache"))
        .output()
        .expect("ringwasm runs")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn compiled_artefact_runs_like_the_module() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    std::fs::write(dir.join("fib.wat"), FIB).expect("write");
    stdout(&ringwasm(&["compile", "fib.wat", "-o", "fib.cwasm"], dir));
    let artefact = std::fs::read(dir.join("fib.cwasm")).expect("artefact written");
    assert!(!artefact.starts_with(b"\0asm"), "an artefact, not wasm");
    let from_wat = stdout(&ringwasm(&["run", "--invoke", "fib", "fib.wat", "20"], dir));
    let from_cwasm = stdout(&ringwasm(
        &["run", "--invoke", "fib", "fib.cwasm", "20"],
        dir,
    ));
    assert_eq!(from_wat.trim(), "6765");
    assert_eq!(from_cwasm, from_wat);
}

#[test]
fn compile_defaults_to_cwasm_next_to_the_input() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    std::fs::write(dir.join("fib.wat"), FIB).expect("write");
    stdout(&ringwasm(&["compile", "fib.wat"], dir));
    assert!(dir.join("fib.cwasm").is_file());
}

#[test]
fn artefact_for_other_settings_is_refused_with_the_reason() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    std::fs::write(dir.join("fib.wat"), FIB).expect("write");
    stdout(&ringwasm(
        &[
            "compile",
            "-W",
            "epoch-interruption=y",
            "fib.wat",
            "-o",
            "fib.cwasm",
        ],
        dir,
    ));
    let out = ringwasm(&["run", "--invoke", "fib", "fib.cwasm", "5"], dir);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("recompile"), "says what to do: {stderr}");

    let mut corrupt = std::fs::read(dir.join("fib.cwasm")).expect("read");
    corrupt.truncate(corrupt.len() - 7);
    std::fs::write(dir.join("bad.cwasm"), corrupt).expect("write");
    let out = ringwasm(
        &[
            "run",
            "-W",
            "epoch-interruption=y",
            "--invoke",
            "fib",
            "bad.cwasm",
            "5",
        ],
        dir,
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a truncated artefact is an error"
    );
}

#[test]
fn run_fills_the_cache_unless_told_not_to() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    std::fs::write(dir.join("fib.wat"), FIB).expect("write");
    let entries = || {
        std::fs::read_dir(dir.join("cache"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    stdout(&ringwasm(
        &["run", "-C", "cache=n", "--invoke", "fib", "fib.wat", "3"],
        dir,
    ));
    assert_eq!(entries(), 0, "-C cache=n writes nothing");
    stdout(&ringwasm(&["run", "--invoke", "fib", "fib.wat", "3"], dir));
    assert_eq!(entries(), 1, "the cache is on by default");
    let again = stdout(&ringwasm(&["run", "--invoke", "fib", "fib.wat", "3"], dir));
    assert_eq!(again.trim(), "2", "a cache hit runs the same code");
    assert_eq!(entries(), 1);
}

/// A host call from cached code in a new process: the host trampoline's
/// target (`host_dispatch`) moves with ASLR, so it must be relocated.
#[test]
fn cached_and_precompiled_code_call_the_host_in_a_new_process() {
    const HELLO: &str = r#"
    (module
      (import "wasi_snapshot_preview1" "fd_write"
        (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "hello\n")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 16))
        (i32.store (i32.const 4) (i32.const 6))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
    "#;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    std::fs::write(dir.join("hello.wat"), HELLO).expect("write");
    for _ in 0..2 {
        assert_eq!(stdout(&ringwasm(&["run", "hello.wat"], dir)), "hello\n");
    }
    stdout(&ringwasm(&["compile", "hello.wat"], dir));
    assert_eq!(stdout(&ringwasm(&["run", "hello.cwasm"], dir)), "hello\n");
}
