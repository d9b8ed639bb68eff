//! `uringbench`: io_uring load generator and benchmark harness.
#![forbid(unsafe_code)]

fn main() {
    eprintln!("uringbench: no subcommands yet");
    std::process::exit(2);
}
