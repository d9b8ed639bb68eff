//! Reads stdin to its end: echoes the first line, counts the rest, and
//! reads again after EOF.
use std::io::{BufRead, Read};

fn main() {
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    let mut first = String::new();
    let n = lock.read_line(&mut first).expect("read_line");
    println!("first line ({n} bytes): {:?}", first.trim_end());
    let mut rest = Vec::new();
    lock.read_to_end(&mut rest).expect("read_to_end");
    let lines = rest.iter().filter(|&&b| b == b'\n').count();
    println!("rest: {} bytes, {lines} lines", rest.len());
    let sum: u64 = rest.iter().map(|&b| u64::from(b)).sum();
    println!("byte sum {sum}");
    let mut again = String::new();
    println!("after EOF read_line: {}", lock.read_line(&mut again).expect("read_line"));
}
