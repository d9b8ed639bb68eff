//! `uringbench`: io_uring load generator and benchmark harness. See
//! `ringwasm_tools::uringbench` for the subcommands.
#![forbid(unsafe_code)]

use clap::Parser as _;
use ringwasm_tools::uringbench::{Cli, main as run};

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("uringbench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
