//! The `ringwasm` command line: argument parsing and the subcommands.
//!
//! Each subcommand lives in its own file (`cli/wast.rs`, `cli/run.rs`) and
//! returns `anyhow::Result`; [`main`] prints any error as
//! `error: <context>: <cause>` and exits with status 1.

/// `eprintln!` that shrugs off a closed or broken stderr: under
/// `ringwasm run … 2>&1 | head -1` a trap report must still end in the
/// trap's exit status, not in a panic about printing (wasmtime's 134).
macro_rules! say_err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `println!` that shrugs off a closed or broken stdout, as [`say_err!`].
macro_rules! say_out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod compile;
mod report;
mod run;
mod run_component;
mod serve;
mod wast;
mod wave;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Run, test and serve WebAssembly on a Cranelift JIT with an io_uring host.
#[derive(Debug, Parser)]
#[command(
    name = "ringwasm",
    version,
    after_help = "Examples:\n  \
    ringwasm run --invoke add examples/add.wat 2 3\n  \
    ringwasm wast --features wasm2 -v tests/spec/i32.wast\n  \
    RINGWASM_IO=epoll ringwasm run app.wasm"
)]
pub struct Cli {
    /// I/O backend of the WASI host: `uring`, `epoll`, or `auto` (probe
    /// io_uring at start-up and fall back to epoll, saying why).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "RINGWASM_IO",
        default_value = "auto"
    )]
    pub io: IoChoice,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The I/O backend choice every command accepts; the WASI host reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IoChoice {
    /// io_uring only; fail if the kernel refuses it.
    Uring,
    /// The epoll/kqueue fallback.
    Epoll,
    /// io_uring when available, else the fallback.
    Auto,
}

/// The `ringwasm` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a WebAssembly module (`.wasm` or `.wat`).
    ///
    /// Without `--invoke`, runs the module's `_start` export. With
    /// `--invoke FUNC`, calls that export with ARGS parsed by its parameter
    /// types (integers, floats) and prints each result on its own line.
    Run(run::RunArgs),
    /// Run WebAssembly spec-test scripts (`.wast`) and report conformance.
    ///
    /// Prints `FILE: N passed, M failed` per file and a total line; exits
    /// with status 1 when any assertion failed. Each file runs in its own
    /// process so that a crash is reported, not fatal to the rest.
    Wast(wast::WastArgs),
    /// Compile a module ahead of time into a precompiled artefact
    /// (`FILE.cwasm` by default) that `ringwasm run` runs without compiling.
    ///
    /// The artefact runs only under the same ringwasm build, CPU and engine
    /// options; anything else is refused with the reason.
    Compile(compile::CompileArgs),
    /// Serve a `wasi:http` component over HTTP/1.1 (and TLS), hardened,
    /// thread per core on io_uring.
    ///
    /// Announces `Serving HTTP on http://ADDR/` on stderr, as `wasmtime
    /// serve` does. Running wasi:http components needs the wasi:http
    /// bindings, which are not written yet: until then the command binds,
    /// announces, says so and exits with status 1.
    Serve(serve::ServeArgs),
}

/// Parses the command line, runs the command, reports errors.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` land here too (status 0); a usage
            // error exits with status 2, as `wasmtime` (clap) does, so
            // scripts can tell a bad command line from a failed run (1).
            let status = e.exit_code();
            // Nothing useful is left to do if the terminal is gone.
            let _ = e.print();
            return ExitCode::from(u8::try_from(status).unwrap_or(2));
        }
    };
    let result = match cli.command {
        Command::Run(args) => run::run(args, cli.io),
        Command::Wast(args) => wast::wast(&args),
        Command::Compile(args) => compile::compile(&args).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => serve::serve(&args, cli.io),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            say_err!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn invoke_arguments_may_follow_the_file() {
        let cli = Cli::try_parse_from(["ringwasm", "run", "--invoke", "add", "add.wat", "2", "-3"])
            .expect("parses");
        let Command::Run(args) = cli.command else {
            panic!("expected run");
        };
        assert_eq!(args.invoke.as_deref(), Some("add"));
        assert_eq!(args.args, ["2", "-3"]);
    }

    #[test]
    fn wasm_options_parse_like_wasmtime() {
        let cli = Cli::try_parse_from([
            "ringwasm",
            "run",
            "-W",
            "epoch-interruption=y",
            "--invoke",
            "f",
            "m.wasm",
        ])
        .expect("parses");
        let Command::Run(args) = cli.command else {
            panic!("expected run");
        };
        assert_eq!(args.wasm, [run::WasmOpt::EpochInterruption(true)]);
        let bad = Cli::try_parse_from(["ringwasm", "run", "-W", "epoch-interruption=maybe", "m"]);
        assert!(bad.is_err(), "a value other than y/n is refused");
        let unknown = Cli::try_parse_from(["ringwasm", "run", "-W", "fuel=y", "m"]);
        assert!(unknown.is_err(), "an unknown option is refused");
    }

    #[test]
    fn io_choice_is_global() {
        let cli =
            Cli::try_parse_from(["ringwasm", "wast", "--io", "epoll", "x.wast"]).expect("parses");
        assert_eq!(cli.io, IoChoice::Epoll);
    }
}
