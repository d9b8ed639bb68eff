//! `ringwasm run -W timeout=…` and `-W max-memory-size=…`: exit statuses and
//! the shape of stderr, checked against `wasmtime run` when it is installed.
#![forbid(unsafe_code)]

mod support;
use support::{ringwasm, stderr, wasmtime_run as wasmtime, write};

/// Exits 10 when growing memory from 1 to 4 pages fails, 20 when it works.
const GROW: &str = r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (if (i32.eq (memory.grow (i32.const 3)) (i32.const -1))
      (then (call $exit (i32.const 10)))
      (else (call $exit (i32.const 20))))))"#;

#[test]
fn an_endless_loop_is_interrupted_by_the_timeout_like_wasmtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = write(
        dir.path(),
        "spin.wat",
        r#"(module (func (export "_start") (loop $l (br $l))))"#,
    );
    let args = ["run", "-W", "timeout=200ms", m];
    let ours = ringwasm(&args, dir.path());
    let err = stderr(&ours);
    assert_eq!(ours.status.code(), Some(134), "stderr: {err}");
    assert!(
        err.starts_with("Error: failed to run main module `spin.wat`"),
        "{err}"
    );
    assert!(err.contains("failed to invoke command default"), "{err}");
    assert!(err.contains("interrupt"), "{err}");
    if let Some(theirs) = wasmtime(&args, dir.path()) {
        assert_eq!(ours.status.code(), theirs.status.code());
        assert!(stderr(&theirs).contains("interrupt"));
    }
}

#[test]
fn a_guest_that_finishes_in_time_is_not_interrupted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = write(dir.path(), "grow.wat", GROW);
    let ours = ringwasm(&["run", "-W", "timeout=30s", m], dir.path());
    assert_eq!(ours.status.code(), Some(20), "stderr: {}", stderr(&ours));
}

#[test]
fn memory_grow_past_the_limit_returns_minus_one_like_wasmtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = write(dir.path(), "grow.wat", GROW);
    for (limit, want) in [
        ("max-memory-size=131072", 10),
        ("max-memory-size=1048576", 20),
    ] {
        let args = ["run", "-W", limit, m];
        let ours = ringwasm(&args, dir.path());
        assert_eq!(ours.status.code(), Some(want), "{limit}: {}", stderr(&ours));
        if let Some(theirs) = wasmtime(&args, dir.path()) {
            assert_eq!(ours.status.code(), theirs.status.code(), "{limit}");
        }
    }
}

#[test]
fn an_initial_memory_over_the_limit_fails_instantiation_like_wasmtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = write(
        dir.path(),
        "big.wat",
        r#"(module (memory (export "memory") 10) (func (export "_start")))"#,
    );
    let args = ["run", "-W", "max-memory-size=131072", m];
    let ours = ringwasm(&args, dir.path());
    let err = stderr(&ours);
    assert_eq!(ours.status.code(), Some(1), "stderr: {err}");
    assert!(err.starts_with("Error: "), "{err}");
    assert!(err.contains("instantiate"), "{err}");
    assert!(err.contains("memory"), "{err}");
    if let Some(theirs) = wasmtime(&args, dir.path()) {
        assert_eq!(ours.status.code(), theirs.status.code());
        assert!(stderr(&theirs).contains("instantiate"));
    }
}

#[test]
fn bad_limit_values_are_usage_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = write(dir.path(), "grow.wat", GROW);
    for opt in ["timeout=soon", "max-memory-size=lots", "timeout"] {
        let ours = ringwasm(&["run", "-W", opt, m], dir.path());
        let err = stderr(&ours);
        // A usage error: status 2, as in wasmtime (clap's convention).
        assert_eq!(ours.status.code(), Some(2), "{opt}: {err}");
        let key = opt.split('=').next().unwrap_or(opt);
        assert!(err.contains(key), "{opt}: {err}");
    }
}

#[test]
fn the_memory_limit_applies_to_each_memory_like_wasmtime() {
    // Two memories of 2 pages each: 4 pages in all, 2 per memory. A limit of
    // 3 pages lets both exist and each grow by one page, but not by two.
    let dir = tempfile::tempdir().expect("tempdir");
    let m = write(
        dir.path(),
        "two.wat",
        r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory $a (export "memory") 2)
  (memory $b 2)
  (func (export "_start")
    (if (i32.ne (memory.grow $a (i32.const 1)) (i32.const 2)) (then (call $exit (i32.const 11))))
    (if (i32.ne (memory.grow $b (i32.const 1)) (i32.const 2)) (then (call $exit (i32.const 12))))
    (if (i32.ne (memory.grow $b (i32.const 1)) (i32.const -1)) (then (call $exit (i32.const 13))))
    (call $exit (i32.const 0))))"#,
    );
    let args = ["run", "-W", "max-memory-size=196608", m];
    let ours = ringwasm(&args, dir.path());
    assert_eq!(ours.status.code(), Some(0), "stderr: {}", stderr(&ours));
    if let Some(theirs) = wasmtime(&args, dir.path()) {
        assert_eq!(
            ours.status.code(),
            theirs.status.code(),
            "{}",
            stderr(&theirs)
        );
    }
}
