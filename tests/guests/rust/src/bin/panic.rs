//! A `panic!`: the message on stderr, then the abort the runtime reports.
fn main() {
    println!("before the panic");
    let v: Vec<u32> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("number"))
        .collect();
    if v.is_empty() {
        panic!("boom: no numbers given");
    }
    println!("sum {}", v.iter().sum::<u32>());
    let _ = v[v.len() + 1];
}
