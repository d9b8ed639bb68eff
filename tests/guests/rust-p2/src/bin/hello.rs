//! The smallest command: one line on stdout.
fn main() {
    println!("hello from a wasm32-wasip2 component");
}
