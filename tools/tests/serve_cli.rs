//! `ringwasm serve`: the flags parse, `--help` explains every limit, and
//! what cannot be served is refused before binding, with the reason. The
//! serving itself is `serve_http.rs`.
#![forbid(unsafe_code)]

use std::process::Command;

fn ringwasm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ringwasm"))
}

/// Runs `serve` on the component in `wat`; its stderr.
fn refused(wat: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let component = dir.path().join("handler.wasm");
    let buf = wast::parser::ParseBuffer::new(wat).expect("lex");
    let mut parsed = wast::parser::parse::<wast::Wat>(&buf).expect("parse");
    std::fs::write(&component, parsed.encode().expect("encode")).expect("write");
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
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        !stderr.contains("Serving HTTP"),
        "refused after binding: {stderr}"
    );
    stderr
}

#[test]
fn serve_refuses_components_that_are_not_0_2_proxies() {
    let stderr = refused("(component)");
    assert!(
        stderr.contains("does not export `wasi:http/incoming-handler@0.2.x`"),
        "{stderr}"
    );
    // The 0.3 world is refused by name: the async ABI is issue #16.
    let stderr =
        refused(r#"(component (instance $h) (export "wasi:http/handler@0.3.0" (instance $h)))"#);
    assert!(stderr.contains("wasi:http/service"), "{stderr}");
    assert!(stderr.contains("issue #16"), "{stderr}");
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
