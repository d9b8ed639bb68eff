//! `std::env`: arguments and environment variables as given on the
//! command line.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("argc={}", args.len());
    for (i, a) in args.iter().enumerate().skip(1) {
        println!("arg[{i}]={a:?}");
    }
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.sort();
    for (k, v) in &vars {
        println!("env {k}={v:?}");
    }
    println!("GREETING={:?}", std::env::var("GREETING"));
    println!("MISSING={:?}", std::env::var("RINGWASM_SURELY_MISSING"));
    println!("EMPTY={:?}", std::env::var("EMPTY"));
}
