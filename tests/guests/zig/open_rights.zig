//! Which rights make `path_open` open a file for writing. wasmtime opens
//! for writing only when FD_WRITE is asked for (or O_CREAT/O_TRUNC);
//! FD_FILESTAT_SET_SIZE or FD_ALLOCATE alone leave the file read-only. Go's
//! `os.Open` asks for FD_FILESTAT_SET_SIZE, so this decides whether writing
//! to a file it opened read-only fails. Run with `--dir .`.
const std = @import("std");
const wasi = std.os.wasi;
pub fn main() !void {
    const out = std.io.getStdOut().writer();
    try std.fs.cwd().writeFile(.{ .sub_path = "f.txt", .data = "hello\n" });
    const cases = [_]struct { []const u8, wasi.rights_t }{
        .{ "READ", .{ .FD_READ = true } },
        .{ "READ|FILESTAT_SET_SIZE", .{ .FD_READ = true, .FD_FILESTAT_SET_SIZE = true } },
        .{ "READ|ALLOCATE", .{ .FD_READ = true, .FD_ALLOCATE = true } },
        .{ "READ|DATASYNC", .{ .FD_READ = true, .FD_DATASYNC = true } },
        .{ "FILESTAT_SET_SIZE", .{ .FD_FILESTAT_SET_SIZE = true } },
        .{ "READ|WRITE", .{ .FD_READ = true, .FD_WRITE = true } },
    };
    for (cases) |c| {
        const name, const rights = c;
        var fd: wasi.fd_t = undefined;
        const e = wasi.path_open(3, .{}, "f.txt", 5, .{}, rights, rights, .{}, &fd);
        if (e != .SUCCESS) {
            try out.print("{s}: open {s}\n", .{ name, @tagName(e) });
            continue;
        }
        var n: usize = 0;
        const iov = [_]wasi.ciovec_t{.{ .base = "x", .len = 1 }};
        const we = wasi.fd_write(fd, &iov, 1, &n);
        var b: [4]u8 = undefined;
        const riov = [_]wasi.iovec_t{.{ .base = &b, .len = 4 }};
        const re = wasi.fd_read(fd, &riov, 1, &n);
        const se = wasi.fd_filestat_set_size(fd, 6);
        try out.print("{s}: write {s} read {s} set_size {s}\n", .{ name, @tagName(we), @tagName(re), @tagName(se) });
        _ = wasi.fd_close(fd);
    }
}
