//! `wasi:io/poll` over several pollables at once: timers of 0, 40 and 80
//! ms after stdout's write readiness, and one pollable listed twice. Prints the
//! order in which they became ready (a poll's ready list is in list order).
use wasip2::cli::stdout;
use wasip2::clocks::monotonic_clock;
use wasip2::io::poll;

fn main() {
    let t0 = monotonic_clock::now();
    let out = stdout::get_stdout();
    let named = [
        ("stdout writable", out.subscribe()),
        ("timer 0ms", monotonic_clock::subscribe_duration(0)),
        ("timer 40ms", monotonic_clock::subscribe_duration(40_000_000)),
        ("timer 80ms", monotonic_clock::subscribe_duration(80_000_000)),
    ];
    let mut pending: Vec<usize> = (0..named.len()).collect();
    let mut order = Vec::new();
    let mut polls = 0;
    while !pending.is_empty() {
        let list: Vec<&poll::Pollable> = pending.iter().map(|&i| &named[i].1).collect();
        let ready = poll::poll(&list);
        polls += 1;
        assert!(!ready.is_empty(), "poll returned nothing");
        let mut done: Vec<usize> = ready.iter().map(|&r| pending[r as usize]).collect();
        done.sort_unstable();
        done.dedup();
        order.extend(done.iter().map(|&i| named[i].0));
        pending.retain(|i| !done.contains(i));
    }
    println!("ready in order: {order:?}");
    println!("polls needed at least 3: {}", polls >= 3);
    println!(
        "all done after at least 80ms: {}",
        monotonic_clock::now() - t0 >= 80_000_000
    );
    let twice = monotonic_clock::subscribe_duration(0);
    let both = poll::poll(&[&twice, &twice]);
    println!("one pollable listed twice: {both:?}");
    let later = monotonic_clock::subscribe_duration(10_000_000_000);
    let now = monotonic_clock::subscribe_duration(0);
    println!("[later, now] ready: {:?}", poll::poll(&[&later, &now]));
}
