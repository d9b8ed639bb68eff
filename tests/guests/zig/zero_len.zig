//! Zero-length buffers whose address lies outside linear memory, as Zig
//! passes for an empty slice of `undefined` pointer: wasmtime accepts them
//! (nothing is read or written). The first argument names the call:
//! `write` (one empty iovec to stdout), `read` (one empty iovec from stdin),
//! `random` (`random_get` of 0 bytes), `no_iovecs` (an iovec array of
//! length 0 at a wild address).
const std = @import("std");
const wasi = std.os.wasi;

pub fn main() !void {
    var buf: [4096]u8 = undefined;
    var fba = std.heap.FixedBufferAllocator.init(&buf);
    const args = try std.process.argsAlloc(fba.allocator());
    const mode = if (args.len > 1) args[1] else "write";
    const out = std.io.getStdOut().writer();
    const wild: [*]u8 = @ptrFromInt(0xaaaaaaaa);
    var n: usize = 99;
    const errno = if (std.mem.eql(u8, mode, "write"))
        wasi.fd_write(1, &[_]wasi.ciovec_t{.{ .base = wild, .len = 0 }}, 1, &n)
    else if (std.mem.eql(u8, mode, "read"))
        wasi.fd_read(0, &[_]wasi.iovec_t{.{ .base = wild, .len = 0 }}, 1, &n)
    else if (std.mem.eql(u8, mode, "random"))
        wasi.random_get(wild, 0)
    else if (std.mem.eql(u8, mode, "no_iovecs"))
        wasi.fd_write(1, @ptrFromInt(0xaaaaaaa8), 0, &n)
    else
        return error.UnknownMode;
    try out.print("{s}: {s}, n={d}\n", .{ mode, @tagName(errno), n });
}
