//! Helpers shared by the workspace-level test suites in `tests/`.
#![forbid(unsafe_code)]

pub mod components;
pub mod expected;
pub mod fuzz;

use std::path::PathBuf;

/// The workspace root (the folder holding the virtual `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits inside the workspace root")
        .to_path_buf()
}
