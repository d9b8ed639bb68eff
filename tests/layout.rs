//! The crate layout of `../shared/DESIGN.md`: dependencies only point down.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// For each crate of ours, the crates of ours it may depend on (normal
/// dependencies; dev-dependencies of test suites may reach anything).
fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let mut m = BTreeMap::new();
    m.insert("ringwasm-reactor", BTreeSet::new());
    m.insert("ringwasm-jit", BTreeSet::new());
    m.insert(
        "ringwasm-fallback-epoll",
        BTreeSet::from(["ringwasm-reactor"]),
    );
    m.insert(
        "ringwasm-wasi",
        BTreeSet::from([
            "ringwasm-jit",
            "ringwasm-reactor",
            "ringwasm-fallback-epoll",
        ]),
    );
    m.insert(
        "ringwasm-tools",
        BTreeSet::from([
            "ringwasm-jit",
            "ringwasm-reactor",
            "ringwasm-fallback-epoll",
            "ringwasm-wasi",
        ]),
    );
    m
}

#[test]
fn dependencies_only_point_down() -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(ringwasm_tests::workspace_root())
        .output()?;
    assert!(out.status.success(), "cargo metadata failed: {out:?}");
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let allowed = allowed();
    let mut seen = BTreeSet::new();
    let mut bad = Vec::new();
    for pkg in meta["packages"].as_array().expect("packages is an array") {
        let name = pkg["name"].as_str().expect("package has a name");
        let Some(ok) = allowed.get(name) else {
            continue;
        };
        seen.insert(name.to_string());
        for dep in pkg["dependencies"].as_array().expect("deps is an array") {
            let dep_name = dep["name"].as_str().expect("dependency has a name");
            let normal = dep["kind"].is_null();
            if normal && dep_name.starts_with("ringwasm-") && !ok.contains(dep_name) {
                bad.push(format!("{name} -> {dep_name}"));
            }
        }
    }
    assert_eq!(
        seen.len(),
        allowed.len(),
        "every crate of the design is in the workspace: {seen:?}"
    );
    assert!(bad.is_empty(), "dependencies pointing upward: {bad:?}");
    Ok(())
}
