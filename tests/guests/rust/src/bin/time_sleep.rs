//! `std::time` and `std::thread::sleep`: the clocks move the right way.
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn main() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after epoch");
    // 2020-01-01 < now < 2100-01-01
    println!(
        "realtime plausible: {}",
        now.as_secs() > 1_577_836_800 && now.as_secs() < 4_102_444_800
    );
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_millis(30));
    let slept = t0.elapsed();
    println!(
        "slept at least 30ms: {}",
        slept >= Duration::from_millis(30)
    );
    println!("slept under 5s: {}", slept < Duration::from_secs(5));
    let a = Instant::now();
    let b = Instant::now();
    println!("monotonic: {}", b >= a);
    std::thread::sleep(Duration::ZERO);
    println!("zero sleep returns");
}
