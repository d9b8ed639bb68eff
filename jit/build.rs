//! Stamps the build with an id that code-cache keys include, so an entry
//! written by one build of the engine is never loaded by another.

use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    // Rerun whenever the engine's sources, manifest or locked dependency
    // versions change: any of them may change the code we generate.
    for path in ["src", "build.rs", "Cargo.toml", "../Cargo.lock"] {
        println!("cargo:rerun-if-changed={path}");
    }
    let git = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "nogit".to_owned());
    // The nonce covers uncommitted changes, which the git hash does not.
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    println!("cargo:rustc-env=RINGWASM_BUILD_ID={git}-{nonce:x}");
}
