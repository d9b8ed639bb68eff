//! Exits with the status given as its first argument through
//! `std::process::exit` (0 without one); `main-err` returns an `Err` from
//! `main` instead.
fn main() -> Result<(), String> {
    let arg = std::env::args().nth(1).unwrap_or_default();
    println!("exiting with {arg:?}");
    if arg == "main-err" {
        return Err("main returned an error".into());
    }
    let code: i32 = arg.parse().unwrap_or(0);
    std::process::exit(code);
}
