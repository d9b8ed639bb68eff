//! A fault outside guest code goes to the handler installed before ours:
//! here Rust's own stack-overflow reporter, in a child process.
#![forbid(unsafe_code)]

use std::process::Command;

use ringwasm_jit::{Engine, Instance, Module, Store};

const CHILD_ENV: &str = "RINGWASM_CHAINING_CHILD";

/// A command that runs this test binary again. Cross-runs (AArch64 under
/// `qemu-aarch64`, see `scripts/test`) set `RINGWASM_TEST_RUNNER` to the
/// emulator command line: a child of an emulated process cannot execute a
/// foreign binary by itself without binfmt_misc.
fn this_binary_again() -> Command {
    let exe = std::env::current_exe().expect("test binary path");
    let runner = std::env::var("RINGWASM_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut cmd = Command::new(program);
            cmd.args(words).arg(exe);
            cmd
        }
        None => Command::new(exe),
    }
}

fn recurse(depth: u64) -> u64 {
    let pad = std::hint::black_box([depth; 64]);
    if std::hint::black_box(depth) == u64::MAX {
        return pad[0];
    }
    recurse(depth + 1) + std::hint::black_box(pad[63])
}

#[test]
fn host_stack_overflow_reaches_rusts_handler() {
    if std::env::var_os(CHILD_ENV).is_some() {
        // Child: enter wasm once so our handlers and alt stack are installed,
        // then overflow the host stack outside guest code.
        let engine = Engine::default();
        let module = Module::new(&engine, r#"(module (func (export "f")))"#).expect("compiles");
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
        let f = instance
            .get_typed_func::<(), ()>(&mut store, "f")
            .expect("f");
        f.call(&mut store, ()).expect("call");
        let n = recurse(0);
        panic!("recursion returned {n}");
    }
    let out = this_binary_again()
        .args([
            "--exact",
            "host_stack_overflow_reaches_rusts_handler",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .expect("child runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the child must die");
    assert!(
        stderr.contains("has overflowed its stack"),
        "Rust's handler did not run; child stderr:\n{stderr}"
    );
}
