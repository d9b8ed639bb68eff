//! `wasi:random`: random, insecure and insecure-seed, directly and through
//! std's hash map seeding. Prints only lengths and what must hold.
use std::collections::HashMap;

use wasip2::random::{insecure, insecure_seed, random};

fn main() {
    for len in [0u64, 1, 32, 4096, 100_000] {
        let bytes = random::get_random_bytes(len);
        let nonzero = bytes.iter().filter(|&&b| b != 0).count();
        println!(
            "get-random-bytes({len}): {} bytes, mostly non-zero: {}",
            bytes.len(),
            len < 32 || nonzero * 2 > bytes.len()
        );
    }
    let (a, b) = (random::get_random_u64(), random::get_random_u64());
    println!("two get-random-u64 differ: {}", a != b);
    println!("insecure bytes: {}", insecure::get_insecure_random_bytes(64).len());
    let (c, d) = (insecure::get_insecure_random_u64(), insecure::get_insecure_random_u64());
    println!("two insecure u64 differ: {}", c != d);
    let s1 = insecure_seed::insecure_seed();
    let s2 = insecure_seed::insecure_seed();
    println!("insecure-seed is stable: {}", s1 == s2);
    let mut m = HashMap::new();
    for i in 0..1000 {
        m.insert(i, i * 2);
    }
    println!("hash map works: {}", (0..1000).all(|i| m[&i] == i * 2));
}
