//! `ringwasm serve`: the flags parse, the address is bound and announced as
//! `wasmtime serve` announces it, `--help` explains every limit, and, until
//! the wasi:http bindings land, the command says it cannot run a wasi:http
//! component and exits with status 1 (never serving a stand-in).
#![forbid(unsafe_code)]

use std::process::Command;

fn ringwasm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ringwasm"))
}

#[test]
fn serve_binds_announces_and_refuses_to_fake_a_component() {
    let dir = tempfile::tempdir().expect("temp dir");
    let component = dir.path().join("handler.wasm");
    std::fs::write(&component, b"\0asm\x0d\0\x01\0").expect("write");
    let out = ringwasm()
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--threads",
            "1",
            "-H",
            "x-a: b",
        ])
        .args(["--max-body-bytes", "1M", "--header-timeout", "5s"])
        .arg(&component)
        .output()
        .expect("run ringwasm serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = stderr.lines().next().unwrap_or_default();
    let addr = line
        .strip_prefix("Serving HTTP on http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("announcement missing: {stderr}"));
    let port: u16 = addr
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("announced address has a port");
    assert_ne!(port, 0, "the bound port is announced, not 0");
    assert!(stderr.contains("no wasi:http bindings"), "{stderr}");
}

#[test]
fn serve_refuses_bad_limits_and_files() {
    let out = ringwasm()
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--max-headers",
            "1000",
            "/nonexistent.wasm",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let out = ringwasm()
        .args(["serve", "--header-timeout", "soon", "x.wasm"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let out = ringwasm()
        .args(["serve", "--tls-cert", "c.pem", "x.wasm"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "--tls-cert needs --tls-key");
}

#[test]
fn serve_help_explains_every_limit() {
    let out = ringwasm().args(["serve", "--help"]).output().expect("run");
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--max-header-bytes",
        "--max-headers",
        "--max-uri-bytes",
        "--max-body-bytes",
        "--header-timeout",
        "--idle-timeout",
        "--body-timeout",
        "--send-timeout",
        "--max-connections",
        "--tls-handshake-timeout",
        "--drain-timeout",
        "--max-instance-reuse-count",
        "--max-instance-concurrent-reuse-count",
        "--idle-instance-timeout",
        "--metrics-addr",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    for status in ["431", "414", "413", "408", "503"] {
        assert!(
            help.contains(status),
            "--help does not name status {status}"
        );
    }
}
