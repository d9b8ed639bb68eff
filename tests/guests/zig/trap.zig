//! Fails in the way its first argument names, each ending in a wasm trap:
//! `panic` (`@panic`), `unreachable` (safety-checked `unreachable`),
//! `overflow` (integer overflow), `bounds` (index out of bounds), `trap`
//! (`@trap()`, no message), `stack` (unbounded recursion on the wasm stack).
const std = @import("std");

fn recurse(n: u64) u64 {
    if (n == 0) return 0;
    const r = @call(.never_inline, recurse, .{n +% 1});
    // Using the result after the call keeps LLVM from turning the
    // recursion into a loop, so every level keeps a wasm frame.
    std.mem.doNotOptimizeAway(r);
    return r ^ n;
}

pub fn main() !void {
    var buf: [4096]u8 = undefined;
    var fba = std.heap.FixedBufferAllocator.init(&buf);
    const args = try std.process.argsAlloc(fba.allocator());
    const mode = if (args.len > 1) args[1] else "panic";
    const out = std.io.getStdOut().writer();
    try out.print("about to fail: {s}\n", .{mode});
    // Values the optimiser cannot see through.
    const n: usize = args.len;
    if (std.mem.eql(u8, mode, "panic")) {
        @panic("guest gave up on purpose");
    } else if (std.mem.eql(u8, mode, "unreachable")) {
        if (n < 1000) unreachable;
    } else if (std.mem.eql(u8, mode, "overflow")) {
        var x: u8 = 250;
        x += @intCast(n * 5);
        try out.print("x={d}\n", .{x});
    } else if (std.mem.eql(u8, mode, "bounds")) {
        const arr = [_]u8{ 1, 2, 3 };
        try out.print("arr={d}\n", .{arr[n + 1]});
    } else if (std.mem.eql(u8, mode, "trap")) {
        @trap();
    } else if (std.mem.eql(u8, mode, "stack")) {
        try out.print("{d}\n", .{recurse(n)});
    }
    try out.print("did not fail\n", .{});
}
