//! `wasi:clocks`: monotonic and wall clocks and their resolutions,
//! through std and directly, and sleeping. Prints only what must hold.
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasip2::clocks::{monotonic_clock, wall_clock};
use wasip2::io::poll;

fn main() {
    let a = monotonic_clock::now();
    let b = monotonic_clock::now();
    println!("monotonic never goes back: {}", b >= a);
    let res = monotonic_clock::resolution();
    println!("monotonic resolution in (0, 1ms]: {}", res > 0 && res <= 1_000_000);
    let wall = wall_clock::now();
    println!("wall clock after 2024: {}", wall.seconds > 1_704_067_200);
    println!("wall nanoseconds < 1e9: {}", wall.nanoseconds < 1_000_000_000);
    let wres = wall_clock::resolution();
    println!(
        "wall resolution in (0, 1s]: {}",
        (wres.seconds, wres.nanoseconds) != (0, 0) && wres.seconds <= 1
    );
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    println!("std wall agrees within 10 s: {}", since.as_secs().abs_diff(wall.seconds) < 10);

    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(30));
    let slept = start.elapsed();
    println!("std sleep(30ms) took at least 30ms: {}", slept >= Duration::from_millis(30));

    let t0 = monotonic_clock::now();
    let p = monotonic_clock::subscribe_duration(20_000_000);
    p.block();
    println!("subscribe-duration(20ms) blocked at least 20ms: {}", monotonic_clock::now() - t0 >= 20_000_000);
    println!("and is ready after: {}", p.ready());
    let past = monotonic_clock::subscribe_instant(t0);
    past.block();
    println!("subscribe-instant in the past is ready: {}", past.ready());
    let zero = monotonic_clock::subscribe_duration(0);
    println!("poll([zero]): {:?}", poll::poll(&[&zero]));
    let far = monotonic_clock::subscribe_duration(3_600_000_000_000);
    println!("an hour from now not ready: {}", !far.ready());
}
