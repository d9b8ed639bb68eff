//! Clocks, sleeping and randomness through Zig's std and the raw WASI calls.
//! Prints only facts that hold on any host (booleans and errno names), so
//! two runtimes print the same lines.
const std = @import("std");
const wasi = std.os.wasi;

pub fn main() !void {
    const out = std.io.getStdOut().writer();

    const now_ms = std.time.milliTimestamp();
    // 2020-01-01 and 2100-01-01 in milliseconds.
    try out.print("realtime plausible: {}\n", .{now_ms > 1_577_836_800_000 and now_ms < 4_102_444_800_000});

    const start = try std.time.Instant.now();
    const again = try std.time.Instant.now();
    try out.print("monotonic never goes back: {}\n", .{again.order(start) != .lt});

    std.time.sleep(20 * std.time.ns_per_ms);
    const slept = (try std.time.Instant.now()).since(start);
    try out.print("slept at least 20ms: {}\n", .{slept >= 20 * std.time.ns_per_ms});
    try out.print("slept under 5s: {}\n", .{slept < 5 * std.time.ns_per_s});

    var timer = try std.time.Timer.start();
    std.time.sleep(1 * std.time.ns_per_ms);
    try out.print("timer advanced: {}\n", .{timer.read() >= std.time.ns_per_ms});

    // A zero-length sleep returns at once.
    std.time.sleep(0);
    try out.print("sleep(0) returned\n", .{});

    for ([_]wasi.clockid_t{ .REALTIME, .MONOTONIC, .PROCESS_CPUTIME_ID, .THREAD_CPUTIME_ID }) |id| {
        var res: wasi.timestamp_t = 0;
        const res_errno = wasi.clock_res_get(id, &res);
        var t: wasi.timestamp_t = 0;
        const time_errno = wasi.clock_time_get(id, 1, &t);
        try out.print("clock {s}: res {s} (positive {}), time {s}\n", .{
            @tagName(id), @tagName(res_errno), res > 0, @tagName(time_errno),
        });
    }

    var a: [64]u8 = undefined;
    var b: [64]u8 = undefined;
    std.crypto.random.bytes(&a);
    std.crypto.random.bytes(&b);
    try out.print("random draws differ: {}\n", .{!std.mem.eql(u8, &a, &b)});
    try out.print("random not all zero: {}\n", .{std.mem.indexOfNone(u8, &a, &[_]u8{0}) != null});
    var big: [100_000]u8 = undefined;
    try out.print("random_get 100000: {s}\n", .{@tagName(wasi.random_get(&big, big.len))});
    // A zero-length draw into a real buffer (`zero_len.zig` covers a
    // zero-length buffer at an address outside memory).
    try out.print("random_get 0: {s}\n", .{@tagName(wasi.random_get(&big, 0))});

    var prng = std.Random.DefaultPrng.init(std.crypto.random.int(u64));
    const roll = prng.random().intRangeAtMost(u8, 1, 6);
    try out.print("die roll in range: {}\n", .{roll >= 1 and roll <= 6});
}
