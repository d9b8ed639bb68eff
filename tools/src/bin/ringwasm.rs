//! `ringwasm`: run, compile and test WebAssembly. See `ringwasm --help`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    ringwasm_tools::cli::main()
}
