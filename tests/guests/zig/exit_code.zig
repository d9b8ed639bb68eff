//! Ends in the way its first argument names: a number is passed to
//! `std.process.exit` (above 255, to `proc_exit`); `error` returns an error from `main` (Zig prints it
//! and exits 1); no argument returns normally.
const std = @import("std");

pub fn main() !u8 {
    var buf: [4096]u8 = undefined;
    var fba = std.heap.FixedBufferAllocator.init(&buf);
    const args = try std.process.argsAlloc(fba.allocator());
    const out = std.io.getStdOut().writer();
    if (args.len < 2) {
        try out.print("returning normally\n", .{});
        return 0;
    }
    if (std.mem.eql(u8, args[1], "error")) {
        try out.print("returning an error\n", .{});
        return error.GuestGaveUp;
    }
    if (std.mem.eql(u8, args[1], "return")) {
        try out.print("main returns 42\n", .{});
        return 42;
    }
    const code = try std.fmt.parseInt(u32, args[1], 10);
    try out.print("exiting with {d}\n", .{code});
    // std's exit takes a u8; larger statuses go to the raw call.
    if (code <= 255) std.process.exit(@intCast(code));
    std.os.wasi.proc_exit(code);
}
