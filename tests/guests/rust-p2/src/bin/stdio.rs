//! Interleaves stdout and stderr, writes partial lines and flushes, and a
//! line of 100 KiB to stderr.
use std::io::Write;

fn main() {
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    for i in 0..5 {
        writeln!(out, "out {i}").unwrap();
        writeln!(err, "err {i}").unwrap();
    }
    write!(out, "partial ").unwrap();
    out.flush().unwrap();
    writeln!(out, "line").unwrap();
    let long = "e".repeat(100 * 1024);
    writeln!(err, "{long}").unwrap();
    write!(out, "no newline at the end").unwrap();
}
