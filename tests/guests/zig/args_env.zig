//! Arguments, environment and the three standard streams through Zig's std:
//! prints every argument and (sorted) environment variable escaped, counts
//! stdin's bytes and lines, and writes one line to stderr.
const std = @import("std");

pub fn main() !void {
    var arena_state = std.heap.ArenaAllocator.init(std.heap.page_allocator);
    defer arena_state.deinit();
    const arena = arena_state.allocator();
    const out = std.io.getStdOut().writer();
    const err = std.io.getStdErr().writer();

    const args = try std.process.argsAlloc(arena);
    try out.print("argc={d}\n", .{args.len});
    for (args, 0..) |arg, i| {
        try out.print("arg[{d}]=\"{}\"\n", .{ i, std.zig.fmtEscapes(arg) });
    }

    var env = try std.process.getEnvMap(arena);
    var names = std.ArrayList([]const u8).init(arena);
    var it = env.iterator();
    while (it.next()) |entry| try names.append(entry.key_ptr.*);
    std.mem.sort([]const u8, names.items, {}, struct {
        fn lessThan(_: void, a: []const u8, b: []const u8) bool {
            return std.mem.lessThan(u8, a, b);
        }
    }.lessThan);
    try out.print("envc={d}\n", .{names.items.len});
    for (names.items) |name| {
        try out.print("env {s}=\"{}\"\n", .{ name, std.zig.fmtEscapes(env.get(name).?) });
    }
    try out.print("GREETING is {s}\n", .{env.get("GREETING") orelse "unset"});

    const input = try std.io.getStdIn().reader().readAllAlloc(arena, 64 << 20);
    const lines = std.mem.count(u8, input, "\n");
    try out.print("stdin: {d} bytes, {d} lines, fnv1a {x}\n", .{
        input.len, lines, std.hash.Fnv1a_64.hash(input),
    });
    // A second read at EOF returns 0 again.
    var one: [1]u8 = undefined;
    try out.print("read after EOF: {d}\n", .{try std.io.getStdIn().read(&one)});

    // What the standard streams are (pipes, under the tests).
    const streams = [_]struct { []const u8, std.fs.File }{
        .{ "stdin", std.io.getStdIn() },
        .{ "stdout", std.io.getStdOut() },
        .{ "stderr", std.io.getStdErr() },
    };
    for (streams) |stream| {
        const name, const file = stream;
        const kind = if (file.stat()) |st| @tagName(st.kind) else |e| @errorName(e);
        const pos = if (file.getPos()) |p| p else |e| @as(u64, @intFromError(e)) + 1_000_000;
        try out.print("{s}: tty {} kind {s} getPos {s}\n", .{
            name, file.isTty(), kind, if (pos < 1_000_000) "ok" else "fails",
        });
    }
    try err.print("stderr: {d} args, {d} env\n", .{ args.len, names.items.len });
}
