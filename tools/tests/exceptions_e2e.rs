//! C++ exceptions end to end: `guests/eh/eh.cpp` compiled with
//! `clang++-14 --target=wasm32-wasi -fwasm-exceptions` (the legacy
//! `try`/`catch`/`rethrow` form clang 14 emits) and linked with the minimal
//! C++ exception runtime `guests/eh/cxa_wasm.c` (Debian's wasm32 libc++abi is
//! built without exceptions), run with `ringwasm run`.
//!
//! Oracles: the same program compiled natively (stdout and exit status
//! must be identical), and `wasmtime run -W exceptions=y` on the module
//! translated to the final form by binaryen's `wasm-opt
//! --translate-to-exnref` (wasmtime 49 no longer runs the legacy form). That
//! half runs when `RINGWASM_WASM_OPT` (or `wasm-opt` on `PATH`) and the
//! wasmtime CLI are found, and says so when it skips.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;
use support::wasmtime;

fn guests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guests/eh")
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn check(cmd: &mut Command) {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `eh.wasm` and the native `eh` built in `dir`, or why not.
fn build(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    if !Path::new("/usr/lib/wasm32-wasi/libc++.a").exists()
        && !Path::new("/usr/lib/llvm-14/lib/wasm32-wasi/libc++.a").exists()
    {
        return Err("libc++-14-dev-wasm32 is not installed (scripts/test installs it)".into());
    }
    if Command::new("clang++-14")
        .arg("--version")
        .output()
        .is_err()
    {
        return Err("clang++-14 is not installed".into());
    }
    let g = guests();
    let rt = dir.join("cxa_wasm.o");
    let wasm = dir.join("eh.wasm");
    let native = dir.join("eh");
    let target = [
        "--target=wasm32-wasi",
        "--sysroot=/usr",
        "-fwasm-exceptions",
        "-O2",
    ];
    check(
        Command::new("clang-14")
            .args(target)
            .arg("-c")
            .arg(g.join("cxa_wasm.c"))
            .arg("-o")
            .arg(&rt),
    );
    check(
        Command::new("clang++-14")
            .args(target)
            .arg("-fuse-ld=lld")
            .arg(g.join("eh.cpp"))
            .arg(&rt)
            .arg("-o")
            .arg(&wasm),
    );
    check(
        Command::new("clang++-14")
            .arg("-O2")
            .arg(g.join("eh.cpp"))
            .arg("-o")
            .arg(&native),
    );
    Ok((wasm, native))
}

fn wasm_opt() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RINGWASM_WASM_OPT").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let ok = Command::new("wasm-opt")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| PathBuf::from("wasm-opt"))
}

fn ringwasm_run(wasm: &Path, arg: &str) -> Output {
    run(Command::new(env!("CARGO_BIN_EXE_ringwasm"))
        .arg("run")
        .arg(wasm)
        .arg(arg))
}

fn assert_same(what: &str, ours: &Output, theirs: &Output) {
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&theirs.stdout),
        "stdout differs from {what}; ringwasm stderr: {}",
        String::from_utf8_lossy(&ours.stderr)
    );
    assert_eq!(
        ours.status.code(),
        theirs.status.code(),
        "exit status differs from {what}"
    );
}

#[test]
fn cpp_throw_catch_matches_native_and_wasmtime() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (wasm, native) = match build(dir.path()) {
        Ok(built) => built,
        Err(why) => {
            eprintln!("skipping the C++ exceptions test: {why}");
            return;
        }
    };
    let ours = ringwasm_run(&wasm, "3000");
    let text = String::from_utf8_lossy(&ours.stdout);
    assert!(text.contains("caught Boom 42"), "{text}");
    assert!(text.contains("3000 throws, sum 6000"), "{text}");
    assert_eq!(ours.status.code(), Some(7), "{ours:?}");
    let theirs = run(Command::new(&native).arg("3000"));
    assert_same("the native build", &ours, &theirs);

    let (Some(wasmtime), Some(wasm_opt)) = (wasmtime(), wasm_opt()) else {
        eprintln!(
            "not comparing with wasmtime: it needs the final exception form; set \
             RINGWASM_WASMTIME and RINGWASM_WASM_OPT (binaryen's wasm-opt, e.g. \
             `npm install binaryen`)"
        );
        return;
    };
    let exnref = dir.path().join("eh-exnref.wasm");
    check(
        Command::new(&wasm_opt)
            .args([
                "--detect-features",
                "--enable-reference-types",
                "--enable-exception-handling",
                "--enable-multivalue",
                "--translate-to-exnref",
            ])
            .arg(&wasm)
            .arg("-o")
            .arg(&exnref),
    );
    let theirs = run(Command::new(&wasmtime)
        .args(["run", "-W", "exceptions=y"])
        .arg(&exnref)
        .arg("3000")
        .env_remove("RUST_BACKTRACE"));
    assert_same("wasmtime on the final form", &ours, &theirs);
    let ours_final = ringwasm_run(&exnref, "3000");
    assert_same("ringwasm on the legacy form", &ours_final, &ours);
}

#[test]
fn uncaught_exception_exits_1_as_in_wasmtime() {
    let dir = tempfile::tempdir().expect("temp dir");
    let wat = dir.path().join("uncaught.wat");
    std::fs::write(
        &wat,
        r#"(module
            (tag $oops (export "oops") (param i32))
            (func $f (throw $oops (i32.const 5)))
            (func (export "_start") (call $f)))"#,
    )
    .expect("write module");
    let ours = ringwasm_run(&wat, "");
    let stderr = String::from_utf8_lossy(&ours.stderr);
    assert!(stderr.contains("thrown Wasm exception"), "{stderr}");
    assert_eq!(ours.status.code(), Some(1), "{stderr}");
    if let Some(wasmtime) = wasmtime() {
        let theirs = run(Command::new(wasmtime)
            .arg("run")
            .arg(&wat)
            .env_remove("RUST_BACKTRACE"));
        assert_eq!(
            ours.status.code(),
            theirs.status.code(),
            "exit status differs from wasmtime"
        );
    }
}

#[test]
fn legacy_exceptions_wast_passes() {
    let out = run(Command::new(env!("CARGO_BIN_EXE_ringwasm"))
        .arg("wast")
        .arg(guests().join("legacy.wast")));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(" 0 failed"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
