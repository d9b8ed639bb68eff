//! Reading stdin: one line with `read_line`, then the rest to EOF.
use std::io::{BufRead, Read};

fn main() {
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    let mut first = String::new();
    let n = lock.read_line(&mut first).expect("read_line");
    println!("first line ({n} bytes): {:?}", first);
    let mut rest = Vec::new();
    lock.read_to_end(&mut rest).expect("read_to_end");
    let lines = rest
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    let sum: u64 = rest.iter().map(|b| u64::from(*b)).sum();
    println!("rest: {} bytes, {lines} lines, byte sum {sum}", rest.len());
    let mut again = String::new();
    println!(
        "after EOF read_line: {}",
        lock.read_line(&mut again).expect("read_line at EOF")
    );
}
