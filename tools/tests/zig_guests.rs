//! Zig programs (`tests/guests/zig/*.zig`, built with Zig's own std for
//! `wasm32-wasi`) run by `ringwasm run` on both backends and by `wasmtime
//! run` with the same `--dir`, `--env`, arguments and stdin: same stdout,
//! stderr and exit status.
//!
//! Zig is the `ziglang` wheel from PyPI, pinned to 0.14.1 because the
//! guests use that release's std API (`scripts/test` installs it and exports
//! `RINGWASM_ZIG`); without it, or with another version, the tests say why
//! they skip, unless `RINGWASM_REQUIRE_PEERS` is set, when they fail. Each
//! guest is built when its source is newer than its binary, into
//! `target/zig-guests/` (`-O ReleaseSafe`, so safety checks panic).
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

mod guest_diff;
mod support;
use guest_diff::{Case, failure_parts, skip, text};

/// The Zig release the guests are written for.
const ZIG_VERSION: &str = "0.14.1";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tools/ sits in the workspace")
        .to_path_buf()
}

/// The command that runs Zig: `RINGWASM_ZIG`, else `python3 -m ziglang`
/// when the wheel is installed.
fn zig_command() -> Result<Vec<OsString>, String> {
    if let Some(p) = std::env::var_os("RINGWASM_ZIG").filter(|p| !p.is_empty()) {
        return Ok(vec![p]);
    }
    let found = Command::new("python3")
        .args(["-c", "import ziglang"])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        Ok(vec!["python3".into(), "-m".into(), "ziglang".into()])
    } else {
        Err(format!(
            "Zig is missing: set RINGWASM_ZIG or `pip install ziglang=={ZIG_VERSION}`"
        ))
    }
}

fn zig(cmd: &[OsString]) -> Command {
    let mut c = Command::new(&cmd[0]);
    c.args(&cmd[1..]);
    c
}

/// A usable Zig: its command, or why there is none.
fn zig_ready() -> Result<&'static [OsString], &'static str> {
    static ZIG: OnceLock<Result<Vec<OsString>, String>> = OnceLock::new();
    let found = ZIG.get_or_init(|| {
        let cmd = zig_command()?;
        let version = zig(&cmd)
            .arg("version")
            .output()
            .map_err(|e| format!("running {cmd:?} version: {e}"))?;
        let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
        if version != ZIG_VERSION {
            return Err(format!(
                "Zig {version:?} found, the guests need {ZIG_VERSION} (`pip install ziglang=={ZIG_VERSION}`)"
            ));
        }
        Ok(cmd)
    });
    found.as_deref().map_err(String::as_str)
}

/// Whether `wasm` was built after `src` last changed.
fn up_to_date(wasm: &Path, src: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(wasm), modified(src)), (Some(w), Some(s)) if w >= s)
}

/// `target/zig-guests/NAME.wasm`, built from `tests/guests/zig/NAME.zig`
/// unless it is newer than its source (`zig build-exe` caches no final
/// binary: each build takes seconds); `None` after saying why not.
fn guest(name: &str) -> Option<PathBuf> {
    let cmd = match zig_ready() {
        Ok(cmd) => cmd,
        Err(why) => {
            skip(why);
            return None;
        }
    };
    let root = workspace_root();
    let out_dir = root.join("target/zig-guests").join(ZIG_VERSION);
    let src = root.join(format!("tests/guests/zig/{name}.zig"));
    let wasm = out_dir.join(format!("{name}.wasm"));
    if up_to_date(&wasm, &src) {
        return Some(wasm);
    }
    // Tests of one binary run on threads: one build at a time in this
    // process (they share the process id the temporary name uses).
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = BUILD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if up_to_date(&wasm, &src) {
        return Some(wasm);
    }
    std::fs::create_dir_all(&out_dir).expect("create target/zig-guests");
    // Test processes may build at once (nextest runs one per test): each
    // writes into its own directory, then renames the file into place. The
    // file keeps its final name there, because zig writes that name into the
    // module's name section and wasmtime prints it in backtraces: a name with
    // the process id in it made two builds of one guest differ.
    let tmp_dir = out_dir.join(format!("tmp.{}", std::process::id()));
    std::fs::create_dir_all(&tmp_dir).expect("create the build directory");
    let tmp = tmp_dir.join(format!("{name}.wasm"));
    let out = zig(cmd)
        .args(["build-exe", "-target", "wasm32-wasi", "-O", "ReleaseSafe"])
        .arg("--cache-dir")
        .arg(out_dir.join("cache"))
        .arg("--global-cache-dir")
        .arg(out_dir.join("global-cache"))
        .arg(format!("-femit-bin={}", tmp.display()))
        .arg(&src)
        .current_dir(&out_dir)
        .output()
        .expect("zig runs");
    assert!(
        out.status.success(),
        "zig build-exe {} failed:\n{}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::rename(&tmp, &wasm).expect("move the guest into place");
    // Zig leaves the object file beside the binary.
    let _ = std::fs::remove_dir_all(&tmp_dir);
    Some(wasm)
}

/// Runs `case` (see `guest_diff::differential`) on its guest, or says why
/// not and returns `None`.
fn differential(case: &Case<'_>) -> Option<Output> {
    let wasm = guest(case.guest)?;
    Some(guest_diff::differential(case, &wasm))
}

#[test]
fn args_env_and_stdio_match_wasmtime() {
    let mut input = b"first line\n".to_vec();
    for i in 0..20_000 {
        input.extend_from_slice(format!("row {i}\n").as_bytes());
    }
    let Some(out) = differential(&Case {
        args: &["first", "with space", "ünïcode", "", "--flag=x"],
        // `--env NAME` of a variable the host lacks passes nothing.
        env: &[
            "GREETING=hi",
            "EMPTY=",
            "EQUALS=a=b",
            "RINGWASM_SURELY_MISSING",
        ],
        stdin: &input,
        ..Case::new("args_env")
    }) else {
        return;
    };
    let stdout = text(&out.stdout);
    let stdin_line = format!("stdin: {} bytes, 20001 lines", input.len());
    for line in [
        "argc=6",
        "arg[0]=\"args_env.wasm\"",
        "arg[3]=\"\\xc3\\xbcn\\xc3\\xafcode\"",
        "arg[4]=\"\"",
        "envc=3",
        "env EQUALS=\"a=b\"",
        "env EMPTY=\"\"",
        "GREETING is hi",
        &stdin_line,
        "read after EOF: 0",
        // wasmtime shows piped standard streams as unknown, unseekable.
        "stdin: tty false kind unknown getPos fails",
        "stdout: tty false kind unknown getPos fails",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    assert_eq!(text(&out.stderr), "stderr: 6 args, 3 env\n");
}

#[test]
fn empty_args_env_and_stdin_match_wasmtime() {
    let Some(out) = differential(&Case::new("args_env")) else {
        return;
    };
    let stdout = text(&out.stdout);
    assert!(stdout.contains("argc=1\n"), "{stdout}");
    assert!(stdout.contains("envc=0\n"), "{stdout}");
    assert!(stdout.contains("stdin: 0 bytes, 0 lines"), "{stdout}");
}

#[test]
fn files_and_directories_match_wasmtime() {
    let Some(out) = differential(&Case {
        dir: Some("."),
        ..Case::new("fs_ops")
    }) else {
        return;
    };
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for line in [
        "makeDir sub again: PathAlreadyExists",
        "a.txt: \"hello ZIG! zig\\n\"",
        "pread at 12: \"ig\\n\\x00\\x00\\x00\\x00\\x00tail\"",
        "after setEndPos(9): \"hello\\x00\\x00\\x00\\x00\"",
        "times: atime 1000000000123 mtime 2000000000456",
        "fd_sync SUCCESS fd_datasync SUCCESS",
        "writev/preadv: 14 \"one t|wo three\n\"",
        "fd_allocate: OPNOTSUPP",
        "after APPEND write: pos 23 size 23",
        "hard link: size 23, same as v.txt true",
        "linkat existing: PathAlreadyExists",
        "fd_renumber: BADF",
        "read from renumbered-over fd: one",
        "big.bin: 3145728 bytes, equal true",
        "b.txt now: \"third\\n\"",
        "path_open follow sub/link: \"third\\n\"",
        "path_open follow sub/evil: PERM",
        "path_open follow sub/loop: LOOP",
        "open sub/../../x: AccessDenied",
        "deleteDir non-empty: DirNotEmpty",
        "walk sub: 11 entries",
        "  deep/er/est directory",
        "many: 300 entries",
        "access sub after deleteTree: FileNotFound",
        "list .: 0 entries",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
}

#[test]
fn files_without_a_preopen_fail_as_in_wasmtime() {
    // No `--dir`: fd 3 is not open, and Zig's std takes the EBADF of its
    // first call for a bug of its own: `unreachable`.
    let Some(out) = differential(&Case {
        ..Case::new("fs_ops")
    }) else {
        return;
    };
    assert_eq!(out.status.code(), Some(134));
    assert!(text(&out.stderr).starts_with("panic: reached unreachable code"));
}

#[test]
fn clocks_sleep_and_random_match_wasmtime() {
    let Some(out) = differential(&Case::new("clock_random")) else {
        return;
    };
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!stdout.contains(": false"), "{stdout}");
    assert!(stdout.contains("die roll in range: true"), "{stdout}");
}

#[test]
fn exit_statuses_match_wasmtime() {
    for (args, code) in [
        (&[][..], 0),
        (&["return"][..], 42),
        (&["error"][..], 1),
        (&["0"][..], 0),
        (&["1"][..], 1),
        (&["7"][..], 7),
        (&["125"][..], 125),
    ] {
        let Some(out) = differential(&Case {
            args,
            ..Case::new("exit_code")
        }) else {
            return;
        };
        assert_eq!(out.status.code(), Some(code), "{args:?}");
    }
}

#[test]
fn exit_status_of_126_or_more_fails_the_run_as_in_wasmtime() {
    for code in ["126", "255", "256", "4294967295"] {
        let Some(out) = differential(&Case {
            args: &[code],
            ..Case::new("exit_code")
        }) else {
            return;
        };
        assert_eq!(out.status.code(), Some(1), "exit({code})");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("invalid exit status"), "{stderr}");
    }
}

#[test]
fn panics_and_traps_match_wasmtime() {
    for (mode, guest_says, trap) in [
        (
            "panic",
            "panic: guest gave up on purpose\n",
            "wasm `unreachable` instruction executed",
        ),
        (
            "unreachable",
            "panic: reached unreachable code\n",
            "wasm `unreachable` instruction executed",
        ),
        (
            "overflow",
            "panic: integer overflow\n",
            "wasm `unreachable` instruction executed",
        ),
        (
            "bounds",
            "panic: index out of bounds: index 3, len 3\n",
            "wasm `unreachable` instruction executed",
        ),
        ("trap", "", "wasm `unreachable` instruction executed"),
        ("stack", "", "call stack exhausted"),
    ] {
        let Some(out) = differential(&Case {
            args: &[mode],
            ..Case::new("trap")
        }) else {
            return;
        };
        assert_eq!(out.status.code(), Some(134), "{mode}");
        let (guest, first, wasm_trap) = failure_parts(&out.stderr);
        assert!(guest.starts_with(guest_says), "{mode}: {guest}");
        let first = first.unwrap_or_default();
        assert!(
            first.starts_with("Error: failed to run main module `")
                && first.ends_with("trap.wasm`"),
            "{mode}: {first}"
        );
        assert_eq!(wasm_trap.as_deref(), Some(trap), "{mode}");
    }
}

#[test]
fn zero_length_buffers_at_wild_addresses_match_wasmtime() {
    // `read` is a zero-length read of stdin, which wasmtime answers with
    // EINTR; so do we.
    for mode in ["write", "random", "no_iovecs", "read"] {
        let Some(out) = differential(&Case {
            args: &[mode],
            ..Case::new("zero_len")
        }) else {
            return;
        };
        assert_eq!(out.status.code(), Some(0), "{mode}");
    }
}

#[test]
fn rights_that_open_for_writing_match_wasmtime() {
    let Some(out) = differential(&Case {
        dir: Some("."),
        ..Case::new("open_rights")
    }) else {
        return;
    };
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("READ|FILESTAT_SET_SIZE: write BADF read SUCCESS set_size INVAL"),
        "{stdout}"
    );
}
