//! Prints its arguments and its environment (sorted), then one line on
//! stderr.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("argc={}", args.len());
    for (i, a) in args.iter().enumerate() {
        println!("arg[{i}]={a:?}");
    }
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    env.sort();
    println!("envc={}", env.len());
    for (k, v) in &env {
        println!("env {k}={v:?}");
    }
    println!("GREETING is {:?}", std::env::var("GREETING").ok());
    println!("cwd: {:?}", std::env::current_dir().map_err(|e| e.kind()));
    eprintln!("stderr: {} args, {} env", args.len(), env.len());
}
