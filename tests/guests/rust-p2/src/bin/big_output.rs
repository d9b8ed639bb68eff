//! Writes 4 MiB to stdout in lines of varying length, then a summary on
//! stderr.
use std::io::Write;

fn main() {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
    let mut total = 0usize;
    let mut i = 0usize;
    while total < 4 << 20 {
        let line = format!("{i:08} {}\n", "x".repeat(i % 200));
        out.write_all(line.as_bytes()).unwrap();
        total += line.len();
        i += 1;
    }
    out.flush().unwrap();
    eprintln!("{i} lines, {total} bytes");
}
