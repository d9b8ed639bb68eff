//! Fails in the way its first argument names: `panic`, `unreachable` (the
//! wasm instruction), `stack` (unbounded recursion), `abort`, `oom`
//! (allocation failure), `divide` (integer division by zero, checked by
//! Rust), `bounds` (slice index).
#[allow(unconditional_recursion)]
fn recurse(n: u64) -> u64 {
    let local = std::hint::black_box([n; 64]);
    recurse(n + 1) + local[3]
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    println!("mode {mode}");
    let zero = std::env::args().count() as i32 - 2;
    match mode.as_str() {
        "panic" => panic!("guest gave up on purpose"),
        "unreachable" => core::arch::wasm32::unreachable(),
        "stack" => {
            println!("{}", recurse(0));
        }
        "abort" => std::process::abort(),
        "oom" => {
            let v: Vec<u8> = Vec::with_capacity(usize::MAX / 2);
            println!("{}", v.capacity());
        }
        "divide" => println!("{}", 7 / zero),
        "bounds" => {
            let v = [1, 2, 3];
            println!("{}", v[(zero + 5) as usize]);
        }
        other => println!("unknown mode {other:?}"),
    }
}
