//! Rust `wasm32-wasip1` programs (`tests/guests/rust/`) run by
//! `ringwasm run` on both backends and by `wasmtime run`: same stdout, same
//! exit status, and the same stderr, the runtime's own report of a failure
//! (a panic's demangled backtrace) included.
//!
//! The guests are built once per run with `cargo build --release --target
//! wasm32-wasip1` into `target/rust-guests/` (cargo's lock serialises the
//! test processes; a second build is a no-op). A machine without the
//! wasm32-wasip1 target gets it from `rustup`, or the tests say why they
//! skip; `scripts/test` installs it.
//!
//! Each test here also runs as a component, the guest made one by
//! wasmtime's command adapter, in `tests/components.rs` (`p1-rust/<test>`);
//! that suite fails when a test here has no component case.
#![forbid(unsafe_code)]

use std::process::Output;

mod support;
use support::guests_dir;
mod guest_diff;
use guest_diff::Case;

/// Runs `case` on ringwasm (both backends) and, when installed, wasmtime;
/// returns ringwasm's uring output after checking that all agree byte for
/// byte (a panic's report, demangled backtrace included).
fn differential(case: &Case<'_>) -> Option<Output> {
    let wasm = guests_dir()?.join(format!("{}.wasm", case.guest));
    Some(guest_diff::differential(case, &wasm))
}

fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn std_fs_operations_match_wasmtime() {
    let Some(out) = differential(&Case {
        dir: Some("."),
        ..Case::new("fs_ops")
    }) else {
        return;
    };
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("read_link: \"three.txt\""), "{text}");
    assert!(text.contains("escape with ..: PermissionDenied"), "{text}");
}

#[test]
fn args_and_environment_match_wasmtime() {
    let Some(out) = differential(&Case {
        args: &["first", "with space", "ünïcode", ""],
        // `--env NAME` of a variable the host lacks passes nothing.
        env: &[
            "GREETING=hi",
            "EMPTY=",
            "EQUALS=a=b",
            "RINGWASM_SURELY_MISSING",
        ],
        ..Case::new("env_args")
    }) else {
        return;
    };
    let text = stdout_of(&out);
    assert!(text.contains("argc=5"), "{text}");
    assert!(text.contains("env EQUALS=\"a=b\""), "{text}");
    assert!(text.contains("arg[0]=\"env_args.wasm\""), "{text}");
    assert!(!text.contains("env RINGWASM_SURELY_MISSING"), "{text}");
}

#[test]
fn stdin_lines_and_eof_match_wasmtime() {
    let mut input = b"first line\n".to_vec();
    for i in 0..20_000 {
        input.extend_from_slice(format!("row {i}\n").as_bytes());
    }
    let Some(out) = differential(&Case {
        stdin: &input,
        ..Case::new("stdin_echo")
    }) else {
        return;
    };
    let text = stdout_of(&out);
    assert!(text.contains("first line (11 bytes)"), "{text}");
    assert!(text.contains("20000 lines"), "{text}");
    assert!(text.contains("after EOF read_line: 0"), "{text}");
}

#[test]
fn empty_stdin_matches_wasmtime() {
    let Some(out) = differential(&Case::new("stdin_echo")) else {
        return;
    };
    assert!(stdout_of(&out).contains("first line (0 bytes)"));
}

#[test]
fn clocks_and_sleep_match_wasmtime() {
    let Some(out) = differential(&Case::new("time_sleep")) else {
        return;
    };
    let text = stdout_of(&out);
    assert!(!text.contains("false"), "{text}");
}

#[test]
fn process_exit_statuses_match_wasmtime() {
    for code in ["0", "1", "7", "125"] {
        let Some(out) = differential(&Case {
            args: &[code],
            ..Case::new("exit_code")
        }) else {
            return;
        };
        assert_eq!(out.status.code(), code.parse().ok());
    }
}

#[test]
fn exit_status_of_126_or_more_fails_the_run_as_in_wasmtime() {
    for code in ["126", "255", "256"] {
        let Some(out) = differential(&Case {
            args: &[code],
            ..Case::new("exit_code")
        }) else {
            return;
        };
        assert_eq!(out.status.code(), Some(1), "exit({code})");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("invalid exit status"), "{stderr}");
    }
}

#[test]
fn panic_aborts_with_134_and_the_message_as_in_wasmtime() {
    for args in [&[][..], &["1", "2"][..]] {
        let Some(out) = differential(&Case {
            args,
            ..Case::new("panic")
        }) else {
            return;
        };
        assert_eq!(out.status.code(), Some(134));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("panicked at"), "{stderr}");
        assert!(stderr.contains("unreachable"), "{stderr}");
    }
}

#[test]
fn large_output_matches_wasmtime() {
    let Some(out) = differential(&Case::new("big_output")) else {
        return;
    };
    assert!(out.stdout.len() > 3 << 20);
}

#[test]
fn raw_path_open_edge_errnos_match_wasmtime() {
    let Some(out) = differential(&Case {
        dir: Some("."),
        ..Case::new("p1_edges")
    }) else {
        return;
    };
    let text = stdout_of(&out);
    // EISDIR (31), not EINVAL: a directory opened for writing.
    assert!(
        text.contains("dir O_DIRECTORY read+write: errno 31"),
        "{text}"
    );
    // Requested rights do not limit seek/tell/stat (ENOTCAPABLE is 76).
    assert!(text.contains("tell 0 seek 0 filestat 0"), "{text}");
    assert!(
        text.contains("file beneath a dir opened with no rights: ok"),
        "{text}"
    );
    assert!(text.contains("PATH_FILESTAT_SET_SIZE false"), "{text}");
    assert!(text.contains("O_TRUNC: ok"), "{text}");
    assert!(
        text.contains("fd_readdir file 8 stdin 8; fd_advise stdout 8"),
        "{text}"
    );
    for line in [
        "rights 0: write 8 read 0 set_size 28",
        "O_CREAT + FD_READ: write 0",
        "O_TRUNC + FD_READ: write 0",
        "\".\": mkdir 20 unlink 31 rmdir 28",
        "\"..\": mkdir 63 unlink 63 rmdir 63",
        "\"d/..\": mkdir 20 unlink 31 rmdir 28",
        "path_open fdflags SYNC: errno 58",
        "path_open fdflags APPEND: ok",
        "set_flags NONBLOCK: stdin 8 stdout 8 file 0",
        "clock 1: time 0 res 0",
        "clock 2: time 8 res 8",
        "sync: dir 8/8 file 0/0",
        "trailing /: unlink 31 readlink 54 link 54 set_times 54",
        "O_CREAT new/: errno 31",
        "NUL in path: errno 28",
        "O_DIRECTORY on a link, nofollow: errno 32",
        "preopen base rights 0x7b7fe00",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
}
