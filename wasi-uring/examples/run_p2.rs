//! Runs a WASI 0.2 command component on `ringwasm-wasi`'s 0.2 host, for
//! trying and timing the host from outside a test:
//!
//! ```text
//! cargo run --release -p ringwasm-wasi --example run_p2 -- \
//!     [--io uring|epoll|auto] [--dir HOST::GUEST]... app.wasm [ARGS]...
//! ```
//!
//! stdio is inherited; the exit status is 0 when `run` returns `ok`, 1
//! otherwise. It prints how long instantiation and `run` took to stderr.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Instant;

use ringwasm_jit::component::{Component, Linker};
use ringwasm_jit::{Engine, Store};
use ringwasm_wasi::{IoChoice, PreopenSpec, WasiCtx};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut b = WasiCtx::builder();
    b.inherit_stdio();
    let wasm = loop {
        match args.next().as_deref() {
            Some("--io") => {
                let choice: IoChoice = match args.next().map(|v| v.parse()) {
                    Some(Ok(c)) => c,
                    _ => return usage("--io takes uring, epoll or auto"),
                };
                b.io(choice);
            }
            Some("--dir") => match args.next() {
                Some(spec) => {
                    b.preopen(PreopenSpec::parse(&spec));
                }
                None => return usage("--dir takes HOST[::GUEST]"),
            },
            Some(path) => break path.to_owned(),
            None => return usage("no component given"),
        }
    };
    b.arg(&wasm).args(args);
    let cx = match b.build() {
        Ok(cx) => cx,
        Err(e) => return fail(&e),
    };
    let engine = Engine::default();
    let start = Instant::now();
    let component = match Component::from_file(&engine, &wasm) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let compiled = start.elapsed();
    let mut store = Store::new(&engine, cx);
    let mut linker = Linker::new(&engine);
    if let Err(e) = ringwasm_wasi::p2::add_to_linker(&mut linker, |cx: &mut WasiCtx| cx) {
        return fail(&e);
    }
    let instance = match linker.instantiate(&mut store, &component) {
        Ok(i) => i,
        Err(e) => return fail(&e),
    };
    let Some(func) = instance.get_func(&mut store, "wasi:cli/run@0.2.0#run") else {
        return usage("the component exports no wasi:cli/run@0.2.0#run");
    };
    let run = match func.typed::<(), (Result<(), ()>,)>(&mut store) {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    let ran = Instant::now();
    let result = run.call(&mut store, ());
    eprintln!(
        "run_p2: compile {:.3}s, run {:.3}s",
        compiled.as_secs_f64(),
        ran.elapsed().as_secs_f64()
    );
    match result {
        Ok((Ok(()),)) => ExitCode::SUCCESS,
        Ok((Err(()),)) => ExitCode::FAILURE,
        Err(e) => fail(&e),
    }
}

fn usage(why: &str) -> ExitCode {
    eprintln!(
        "run_p2: {why}\nusage: run_p2 [--io uring|epoll|auto] [--dir HOST::GUEST]... app.wasm [ARGS]..."
    );
    ExitCode::from(2)
}

fn fail(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("run_p2: {e}");
    ExitCode::FAILURE
}
