//! `std::env`: arguments and environment variables as given on the
//! command line.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("argc={}", args.len());
    // argv[0] included: runtimes agree on it being the module's file name.
    for (i, a) in args.iter().enumerate() {
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
