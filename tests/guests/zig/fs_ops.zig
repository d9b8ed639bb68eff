//! Files and directories in the preopened `.` (`std.fs.cwd()` is the first
//! preopen, fd 3) through Zig's std: create, write, read, seek, stat,
//! truncate, rename, copy, links, iterate and walk, delete, and the errors
//! of the usual mistakes. Prints each result (or error name) on its own line
//! and nothing host-specific (no inodes, no clock times).
const std = @import("std");

var out: std.fs.File.Writer = undefined;

fn line(comptime fmt: []const u8, args: anytype) void {
    out.print(fmt ++ "\n", args) catch std.process.exit(99);
}

/// Prints `what: ok` or `what: ErrorName`.
fn check(what: []const u8, result: anytype) void {
    if (result) |_| line("{s}: ok", .{what}) else |err| line("{s}: {s}", .{ what, @errorName(err) });
}

/// `path_open` with LOOKUP_SYMLINK_FOLLOW, which std does not ask for:
/// prints the errno, or the first bytes read.
fn openFollowing(dir: std.fs.Dir, path: []const u8) void {
    const wasi = std.os.wasi;
    var fd: wasi.fd_t = undefined;
    const rights: wasi.rights_t = .{ .FD_READ = true };
    const errno = wasi.path_open(dir.fd, .{ .SYMLINK_FOLLOW = true }, path.ptr, path.len, .{}, rights, rights, .{}, &fd);
    if (errno != .SUCCESS) return line("path_open follow {s}: {s}", .{ path, @tagName(errno) });
    const f = std.fs.File{ .handle = fd };
    defer f.close();
    var buf: [32]u8 = undefined;
    const n = f.readAll(&buf) catch |e| return line("path_open follow {s}: read {s}", .{ path, @errorName(e) });
    line("path_open follow {s}: \"{}\"", .{ path, std.zig.fmtEscapes(buf[0..n]) });
}

fn lessThan(_: void, a: []const u8, b: []const u8) bool {
    return std.mem.lessThan(u8, a, b);
}

/// Lists `path`'s entries as `name kind`, sorted by name.
fn list(arena: std.mem.Allocator, dir: std.fs.Dir, path: []const u8) !void {
    var sub = try dir.openDir(path, .{ .iterate = true });
    defer sub.close();
    var names = std.ArrayList([]const u8).init(arena);
    var it = sub.iterate();
    while (try it.next()) |entry| {
        try names.append(try std.fmt.allocPrint(arena, "{s} {s}", .{ entry.name, @tagName(entry.kind) }));
    }
    std.mem.sort([]const u8, names.items, {}, lessThan);
    line("list {s}: {d} entries", .{ path, names.items.len });
    for (names.items) |n| line("  {s}", .{n});
}

pub fn main() !void {
    out = std.io.getStdOut().writer();
    var arena_state = std.heap.ArenaAllocator.init(std.heap.page_allocator);
    defer arena_state.deinit();
    const arena = arena_state.allocator();
    const cwd = std.fs.cwd();

    // Directories.
    check("makeDir sub", cwd.makeDir("sub"));
    check("makeDir sub again", cwd.makeDir("sub"));
    check("makePath sub/deep/er/est", cwd.makePath("sub/deep/er/est"));
    check("makeDir missing/parent", cwd.makeDir("missing/parent"));

    // Create, write, read back.
    {
        const f = try cwd.createFile("sub/a.txt", .{});
        defer f.close();
        try f.writeAll("hello from zig\n");
        line("a.txt pos after write: {d}", .{try f.getPos()});
    }
    check("createFile exclusive existing", cwd.createFile("sub/a.txt", .{ .exclusive = true }));
    {
        const f = try cwd.openFile("sub/a.txt", .{ .mode = .read_write });
        defer f.close();
        try f.seekTo(6);
        try f.writeAll("ZIG!");
        try f.seekTo(0);
        var buf: [64]u8 = undefined;
        const n = try f.readAll(&buf);
        line("a.txt: \"{}\"", .{std.zig.fmtEscapes(buf[0..n])});
        line("end pos {d}", .{try f.getEndPos()});
        // Positioned I/O leaves the cursor alone; writing past the end
        // leaves a hole of zeros.
        try f.pwriteAll("tail", 20);
        const m = try f.preadAll(&buf, 12);
        line("pread at 12: \"{}\"", .{std.zig.fmtEscapes(buf[0..m])});
        line("pos after pread/pwrite: {d}", .{try f.getPos()});
        try f.seekFromEnd(-2);
        line("seekFromEnd(-2): {d}", .{try f.getPos()});
        try f.seekBy(-3);
        line("seekBy(-3): {d}", .{try f.getPos()});
        check("seekBy before start", f.seekBy(-100));
        const st = try f.stat();
        line("stat: size {d} kind {s}", .{ st.size, @tagName(st.kind) });
        try f.setEndPos(5);
        line("after setEndPos(5): size {d}", .{(try f.stat()).size});
        try f.setEndPos(9);
        const k = try f.preadAll(&buf, 0);
        line("after setEndPos(9): \"{}\"", .{std.zig.fmtEscapes(buf[0..k])});
        // Fixed timestamps read back exactly.
        try f.updateTimes(1_000_000_000_123, 2_000_000_000_456);
        const t = try f.stat();
        line("times: atime {d} mtime {d}", .{ t.atime, t.mtime });
        // std's File.sync needs libc on WASI: the raw calls.
        line("fd_sync {s} fd_datasync {s}", .{
            @tagName(std.os.wasi.fd_sync(f.handle)), @tagName(std.os.wasi.fd_datasync(f.handle)),
        });
    }
    {
        const f = try cwd.openFile("sub/a.txt", .{});
        defer f.close();
        check("write to read-only file", f.writeAll("x"));
    }
    {
        const f = try cwd.openFile("sub/a.txt", .{ .mode = .write_only });
        defer f.close();
        var buf: [4]u8 = undefined;
        check("read from write-only file", f.read(&buf));
    }

    // Vectored and raw calls std wraps thinly or not at all.
    {
        const wasi = std.os.wasi;
        const f = try cwd.createFile("sub/v.txt", .{ .read = true });
        defer f.close();
        var parts = [_]std.posix.iovec_const{
            .{ .base = "one ", .len = 4 },
            .{ .base = "", .len = 0 },
            .{ .base = "two ", .len = 4 },
            .{ .base = "three\n", .len = 6 },
        };
        try f.writevAll(&parts);
        var a: [5]u8 = undefined;
        var b: [9]u8 = undefined;
        var into = [_]std.posix.iovec{ .{ .base = &a, .len = a.len }, .{ .base = &b, .len = b.len } };
        const n = try f.preadvAll(&into, 0);
        line("writev/preadv: {d} \"{s}|{s}\"", .{ n, a[0..], b[0 .. n - a.len] });
        line("fd_allocate: {s}", .{@tagName(wasi.fd_allocate(f.handle, 0, 100))});
        line("fd_advise: {s}", .{@tagName(wasi.fd_advise(f.handle, 0, 10, .SEQUENTIAL))});
        line("fd_fdstat_set_flags APPEND: {s}", .{@tagName(wasi.fd_fdstat_set_flags(f.handle, .{ .APPEND = true }))});
        try f.seekTo(0);
        try f.writeAll("appended\n");
        line("after APPEND write: pos {d} size {d}", .{ try f.getPos(), (try f.stat()).size });
        var stat: wasi.fdstat_t = undefined;
        line("fd_fdstat_get: {s} append {}", .{ @tagName(wasi.fd_fdstat_get(f.handle, &stat)), stat.fs_flags.APPEND });
        check("linkat v.txt -> hard.txt", std.posix.linkat(cwd.fd, "sub/v.txt", cwd.fd, "sub/hard.txt", 0));
        const hard = try cwd.statFile("sub/hard.txt");
        line("hard link: size {d}, same as v.txt {}", .{ hard.size, hard.size == (try f.stat()).size });
        check("linkat existing", std.posix.linkat(cwd.fd, "sub/v.txt", cwd.fd, "sub/hard.txt", 0));
        const g = try cwd.openFile("sub/hard.txt", .{});
        line("fd_renumber: {s}", .{@tagName(wasi.fd_renumber(g.handle, 50))});
        line("fd_renumber onto an open fd: {s}", .{@tagName(wasi.fd_renumber(g.handle, f.handle))});
        var c: [3]u8 = undefined;
        line("read from renumbered-over fd: {s}", .{if ((std.fs.File{ .handle = f.handle }).preadAll(&c, 0)) |k| c[0..k] else |e| @errorName(e)});
        try cwd.deleteFile("sub/hard.txt");
    }

    // Whole-file helpers and a larger file.
    try cwd.writeFile(.{ .sub_path = "sub/c.txt", .data = "third\n" });
    const big = try arena.alloc(u8, 3 << 20);
    for (big, 0..) |*b, i| b.* = @truncate(i *% 2654435761 >> 7);
    try cwd.writeFile(.{ .sub_path = "sub/big.bin", .data = big });
    const back = try cwd.readFileAlloc(arena, "sub/big.bin", 8 << 20);
    line("big.bin: {d} bytes, equal {}", .{ back.len, std.mem.eql(u8, big, back) });
    check("readFileAlloc over max", cwd.readFileAlloc(arena, "sub/big.bin", 1000));
    try cwd.copyFile("sub/c.txt", cwd, "sub/deep/copy.txt", .{});
    line("copy.txt: \"{}\"", .{std.zig.fmtEscapes(try cwd.readFileAlloc(arena, "sub/deep/copy.txt", 100))});

    // Stat by path.
    const sa = try cwd.statFile("sub/a.txt");
    line("statFile a.txt: size {d} kind {s}", .{ sa.size, @tagName(sa.kind) });
    const sd = try cwd.statFile("sub");
    line("statFile sub: kind {s}", .{@tagName(sd.kind)});
    check("statFile missing", cwd.statFile("sub/nope"));
    check("access a.txt", cwd.access("sub/a.txt", .{}));
    check("access missing", cwd.access("sub/nope", .{}));

    // Rename.
    check("rename a -> b", cwd.rename("sub/a.txt", "sub/b.txt"));
    check("open old name", cwd.openFile("sub/a.txt", .{}));
    check("rename missing", cwd.rename("sub/nope", "sub/x"));
    check("rename over existing file", cwd.rename("sub/c.txt", "sub/b.txt"));
    line("b.txt now: \"{}\"", .{std.zig.fmtEscapes(try cwd.readFileAlloc(arena, "sub/b.txt", 100))});
    check("rename file over dir", cwd.rename("sub/b.txt", "sub/deep"));

    // Symbolic links, inside and escaping the preopen.
    check("symLink link -> b.txt", cwd.symLink("b.txt", "sub/link", .{}));
    var lbuf: [std.fs.max_path_bytes]u8 = undefined;
    if (cwd.readLink("sub/link", &lbuf)) |target| line("readLink: \"{s}\"", .{target}) else |e| line("readLink: {s}", .{@errorName(e)});
    // Zig's std opens without LOOKUP_SYMLINK_FOLLOW on WASI: ELOOP.
    check("open through link", cwd.openFile("sub/link", .{}));
    if (cwd.statFile("sub/link")) |st| line("statFile link: kind {s}", .{@tagName(st.kind)}) else |e| line("statFile link: {s}", .{@errorName(e)});
    check("readLink on a file", cwd.readLink("sub/b.txt", &lbuf));
    check("symLink escaping", cwd.symLink("../../../etc/passwd", "sub/evil", .{}));
    check("open escaping link", cwd.openFile("sub/evil", .{}));
    check("symLink dangling", cwd.symLink("nowhere", "sub/dangling", .{}));
    check("open dangling link", cwd.openFile("sub/dangling", .{}));
    openFollowing(cwd, "sub/link");
    openFollowing(cwd, "sub/evil");
    openFollowing(cwd, "sub/dangling");
    check("symLink absolute", cwd.symLink("/etc/passwd", "sub/abs", .{}));
    openFollowing(cwd, "sub/abs");
    check("symLink loop", cwd.symLink("loop", "sub/loop", .{}));
    openFollowing(cwd, "sub/loop");

    // Paths outside the sandbox and type mistakes.
    check("open ..", cwd.openFile("../x", .{}));
    check("open sub/../../x", cwd.openFile("sub/../../x", .{}));
    check("open absolute", cwd.openFile("/etc/passwd", .{}));
    check("openDir on a file", cwd.openDir("sub/b.txt", .{}));
    check("openFile on a dir for writing", cwd.openFile("sub", .{ .mode = .write_only }));
    check("createFile in missing dir", cwd.createFile("nodir/f", .{}));
    check("deleteDir non-empty", cwd.deleteDir("sub"));
    check("deleteDir a file", cwd.deleteDir("sub/b.txt"));
    check("deleteFile a dir", cwd.deleteFile("sub/deep"));
    check("deleteFile missing", cwd.deleteFile("sub/nope"));

    // Listing: one directory, then the whole tree.
    try list(arena, cwd, "sub");
    try list(arena, cwd, ".");
    {
        var root = try cwd.openDir("sub", .{ .iterate = true });
        defer root.close();
        var walker = try root.walk(arena);
        defer walker.deinit();
        var paths = std.ArrayList([]const u8).init(arena);
        while (try walker.next()) |entry| {
            try paths.append(try std.fmt.allocPrint(arena, "{s} {s}", .{ entry.path, @tagName(entry.kind) }));
        }
        std.mem.sort([]const u8, paths.items, {}, lessThan);
        line("walk sub: {d} entries", .{paths.items.len});
        for (paths.items) |p| line("  {s}", .{p});
    }
    {
        // Many entries: fd_readdir has to be called more than once.
        try cwd.makeDir("many");
        var many = try cwd.openDir("many", .{ .iterate = true });
        defer many.close();
        for (0..300) |i| {
            var name_buf: [32]u8 = undefined;
            const name = try std.fmt.bufPrint(&name_buf, "entry-with-a-longish-name-{d:0>4}", .{i});
            (try many.createFile(name, .{})).close();
        }
        var count: usize = 0;
        var it = many.iterate();
        while (try it.next()) |_| count += 1;
        line("many: {d} entries", .{count});
    }

    // Deleting.
    check("deleteFile link", cwd.deleteFile("sub/link"));
    check("deleteFile b.txt", cwd.deleteFile("sub/b.txt"));
    check("deleteDir sub/deep/er/est", cwd.deleteDir("sub/deep/er/est"));
    check("deleteTree sub", cwd.deleteTree("sub"));
    check("deleteTree many", cwd.deleteTree("many"));
    check("access sub after deleteTree", cwd.access("sub", .{}));
    try list(arena, cwd, ".");
}
