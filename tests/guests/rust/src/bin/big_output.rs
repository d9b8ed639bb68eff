//! `println!` of a large output: many small lines and one huge write.
use std::io::Write;

fn main() {
    for i in 0..50_000 {
        println!("line {i} {}", "x".repeat(i % 37));
    }
    let big = vec![b'y'; 3 << 20];
    std::io::stdout().write_all(&big).expect("big write");
    println!();
    eprintln!("{}", "e".repeat(100_000));
}
