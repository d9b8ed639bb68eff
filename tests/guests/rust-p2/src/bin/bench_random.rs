//! Benchmark: N calls of `wasi:random/random.get-random-bytes(64)` (N is
//! the first argument, 1 000 000 by default).
fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let mut acc = 0u8;
    for _ in 0..n {
        let bytes = wasip2::random::random::get_random_bytes(64);
        acc ^= bytes[0];
    }
    println!("{n} calls ({})", acc & 0);
}
