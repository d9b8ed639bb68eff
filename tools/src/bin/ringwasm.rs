//! `ringwasm`: run, compile and test WebAssembly.
#![forbid(unsafe_code)]

fn main() {
    eprintln!("ringwasm: no subcommands yet");
    std::process::exit(2);
}
