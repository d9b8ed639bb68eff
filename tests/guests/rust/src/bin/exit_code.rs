//! `std::process::exit(n)` with the code given as the first argument,
//! after output that must still be flushed.
fn main() {
    let code: i32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    println!("exiting with {code}");
    eprintln!("to stderr before exit");
    std::process::exit(code);
}
