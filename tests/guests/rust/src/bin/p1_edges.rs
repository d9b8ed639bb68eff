//! Raw `wasi_snapshot_preview1` calls on the edges where runtimes
//! disagree; prints each errno so the differential test compares them with
//! wasmtime. Run with the sandbox preopened as `.` (fd 3).

#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    fn path_open(
        fd: u32,
        dirflags: u32,
        path: *const u8,
        path_len: usize,
        oflags: u32,
        base: u64,
        inheriting: u64,
        fdflags: u32,
        out: *mut u32,
    ) -> u16;
    fn path_create_directory(fd: u32, path: *const u8, path_len: usize) -> u16;
    fn fd_close(fd: u32) -> u16;
    fn path_unlink_file(fd: u32, path: *const u8, path_len: usize) -> u16;
    fn path_remove_directory(fd: u32, path: *const u8, path_len: usize) -> u16;
    fn fd_tell(fd: u32, out: *mut u64) -> u16;
    fn fd_seek(fd: u32, offset: i64, whence: u8, out: *mut u64) -> u16;
    fn fd_filestat_get(fd: u32, out: *mut [u64; 8]) -> u16;
    fn fd_fdstat_get(fd: u32, out: *mut [u64; 3]) -> u16;
    fn fd_fdstat_set_flags(fd: u32, flags: u32) -> u16;
    fn clock_time_get(id: u32, precision: u64, out: *mut u64) -> u16;
    fn clock_res_get(id: u32, out: *mut u64) -> u16;
    fn fd_sync(fd: u32) -> u16;
    fn fd_datasync(fd: u32) -> u16;
    fn path_symlink(old: *const u8, old_len: usize, fd: u32, new: *const u8, new_len: usize)
    -> u16;
    fn path_readlink(
        fd: u32,
        path: *const u8,
        len: usize,
        buf: *mut u8,
        buf_len: usize,
        out: *mut usize,
    ) -> u16;
    fn path_link(
        old_fd: u32,
        flags: u32,
        old: *const u8,
        old_len: usize,
        new_fd: u32,
        new: *const u8,
        new_len: usize,
    ) -> u16;
    fn path_filestat_set_times(
        fd: u32,
        flags: u32,
        path: *const u8,
        len: usize,
        atim: u64,
        mtim: u64,
        fst: u32,
    ) -> u16;
    fn fd_advise(fd: u32, offset: u64, len: u64, advice: u8) -> u16;
    fn fd_read(fd: u32, iovs: *const [usize; 2], n: usize, out: *mut usize) -> u16;
    fn fd_write(fd: u32, iovs: *const [usize; 2], n: usize, out: *mut usize) -> u16;
    fn fd_filestat_set_size(fd: u32, size: u64) -> u16;
    fn fd_readdir(fd: u32, buf: *mut u8, len: usize, cookie: u64, out: *mut usize) -> u16;
}

const PREOPEN: u32 = 3;
const O_CREAT: u32 = 1;
const O_DIRECTORY: u32 = 2;
const O_EXCL: u32 = 4;
const O_TRUNC: u32 = 8;
const FD_READ: u64 = 1 << 1;
const FD_WRITE: u64 = 1 << 6;

fn open(path: &str, oflags: u32, base: u64) -> Result<u32, u16> {
    open_at(PREOPEN, path, oflags, base)
}

fn open_fdflags(path: &str, fdflags: u32) -> Result<u32, u16> {
    let mut fd = 0u32;
    // SAFETY: the pointers are valid for the call; the host writes one u32.
    let e = unsafe {
        path_open(
            PREOPEN,
            0,
            path.as_ptr(),
            path.len(),
            0,
            FD_READ | FD_WRITE,
            0,
            fdflags,
            &mut fd,
        )
    };
    if e == 0 { Ok(fd) } else { Err(e) }
}

fn open_at(dir: u32, path: &str, oflags: u32, base: u64) -> Result<u32, u16> {
    let mut fd = 0u32;
    // SAFETY: the pointers are valid for the call; the host writes one u32.
    let e = unsafe {
        path_open(
            dir,
            0,
            path.as_ptr(),
            path.len(),
            oflags,
            base,
            0,
            0,
            &mut fd,
        )
    };
    if e == 0 { Ok(fd) } else { Err(e) }
}

fn report(what: &str, r: Result<u32, u16>) {
    match r {
        Ok(fd) => {
            println!("{what}: ok");
            // SAFETY: closing a descriptor we own.
            unsafe { fd_close(fd) };
        }
        Err(e) => println!("{what}: errno {e}"),
    }
}

fn main() {
    // SAFETY: valid pointer and length.
    let e = unsafe { path_create_directory(PREOPEN, "d".as_ptr(), 1) };
    println!("mkdir d: errno {e}");
    report("dir O_DIRECTORY read", open("d", O_DIRECTORY, FD_READ));
    report(
        "dir O_DIRECTORY read+write",
        open("d", O_DIRECTORY, FD_READ | FD_WRITE),
    );
    report(
        ". O_DIRECTORY read+write",
        open(".", O_DIRECTORY, FD_READ | FD_WRITE),
    );
    report(
        "dir O_DIRECTORY|O_CREAT",
        open("d", O_DIRECTORY | O_CREAT, FD_READ),
    );
    report(
        "dir O_DIRECTORY|O_TRUNC",
        open("d", O_DIRECTORY | O_TRUNC, FD_READ),
    );
    report(
        "dir O_DIRECTORY|O_EXCL",
        open("d", O_DIRECTORY | O_EXCL, FD_READ),
    );
    report("dir no O_DIRECTORY write", open("d", 0, FD_WRITE));
    report("new file O_CREAT", open("f", O_CREAT, FD_READ | FD_WRITE));
    report("file O_DIRECTORY", open("f", O_DIRECTORY, FD_READ));
    report(
        "file O_DIRECTORY write",
        open("f", O_DIRECTORY, FD_READ | FD_WRITE),
    );
    report("file/ trailing slash", open("f/", 0, FD_READ));
    report("missing O_DIRECTORY", open("nope", O_DIRECTORY, 0));

    // Rights only choose the open mode (as wasmtime): a file opened with
    // FD_READ|FD_WRITE may still seek, tell and stat, and a directory
    // opened with no rights may still open files beneath it.
    let f = open("f", 0, FD_READ | FD_WRITE).expect("open f");
    let mut pos = 0u64;
    let mut st = [0u64; 8];
    // SAFETY: valid out-pointers for the calls.
    let (tell, seek, stat) = unsafe {
        (
            fd_tell(f, &mut pos),
            fd_seek(f, 0, 2, &mut pos),
            fd_filestat_get(f, &mut st),
        )
    };
    println!("rights FD_READ|FD_WRITE: tell {tell} seek {seek} filestat {stat}");
    // SAFETY: closing a descriptor we own.
    unsafe { fd_close(f) };
    let d = open("d", O_DIRECTORY, 0).expect("open d with no rights");
    report(
        "file beneath a dir opened with no rights",
        open_at(d, "g", O_CREAT, FD_READ | FD_WRITE),
    );
    // SAFETY: closing a descriptor we own.
    unsafe { fd_close(d) };
    // The preopen does not advertise PATH_FILESTAT_SET_SIZE (as wasmtime),
    // and O_TRUNC needs no right.
    let mut fdstat = [0u64; 3];
    // SAFETY: a valid out-pointer of the fdstat's size.
    let e = unsafe { fd_fdstat_get(PREOPEN, &mut fdstat) };
    println!(
        "preopen fdstat: errno {e}, PATH_FILESTAT_SET_SIZE {}",
        fdstat[1] & (1 << 19) != 0
    );
    report("O_TRUNC", open("f", O_TRUNC, FD_WRITE));
    // Not a directory handle: fd_readdir is EBADF (8) on a file and on
    // stdin; fd_advise on stdout is EBADF too, as wasmtime.
    let f = open("f", 0, FD_READ).expect("open f");
    let mut buf = [0u8; 64];
    let mut used = 0usize;
    // SAFETY: valid buffer and out-pointer for the calls.
    let (file_rd, stdin_rd, stdout_adv) = unsafe {
        (
            fd_readdir(f, buf.as_mut_ptr(), buf.len(), 0, &mut used),
            fd_readdir(0, buf.as_mut_ptr(), buf.len(), 0, &mut used),
            fd_advise(1, 0, 0, 0),
        )
    };
    println!("fd_readdir file {file_rd} stdin {stdin_rd}; fd_advise stdout {stdout_adv}");
    // SAFETY: closing a descriptor we own.
    unsafe { fd_close(f) };
    // The open mode: rights 0 reads; O_CREAT or O_TRUNC writes even with
    // FD_READ only; resizing a read-only file is EINVAL (28).
    for (what, oflags, base) in [
        ("rights 0", 0, 0),
        ("O_CREAT + FD_READ", O_CREAT, FD_READ),
        ("O_TRUNC + FD_READ", O_TRUNC, FD_READ),
        ("FD_READ", 0, FD_READ),
    ] {
        let f = open("f", oflags, base).expect("open f");
        let byte = [b'x'; 1];
        let mut got = [0u8; 1];
        let mut n = 0usize;
        let wiov = [byte.as_ptr() as usize, 1];
        let riov = [got.as_mut_ptr() as usize, 1];
        // SAFETY: the iovecs point at live buffers of their lengths.
        let (w, size) = unsafe { (fd_write(f, &wiov, 1, &mut n), fd_filestat_set_size(f, 0)) };
        let mut pos = 0u64;
        // SAFETY: as above.
        let r = unsafe {
            fd_seek(f, 0, 0, &mut pos);
            fd_read(f, &riov, 1, &mut n)
        };
        println!("{what}: write {w} read {r} set_size {size}");
        // SAFETY: closing a descriptor we own.
        unsafe { fd_close(f) };
    }
    // `.` and `..` as the last component: mkdir is EEXIST (20), unlink
    // EISDIR (31), and past the preopen EPERM (63), as wasmtime.
    for path in [".", "..", "d/.", "d/..", "d/../.."] {
        // SAFETY: valid pointers and lengths for the calls.
        let (mk, un, rm) = unsafe {
            (
                path_create_directory(PREOPEN, path.as_ptr(), path.len()),
                path_unlink_file(PREOPEN, path.as_ptr(), path.len()),
                path_remove_directory(PREOPEN, path.as_ptr(), path.len()),
            )
        };
        println!("{path:?}: mkdir {mk} unlink {un} rmdir {rm}");
    }
    // fdflags on path_open: APPEND and NONBLOCK are kept, the sync flags
    // refused with ENOTSUP (58), as wasmtime.
    for (what, flags) in [
        ("APPEND", 1),
        ("DSYNC", 2),
        ("NONBLOCK", 4),
        ("RSYNC", 8),
        ("SYNC", 16),
    ] {
        report(
            &format!("path_open fdflags {what}"),
            open_fdflags("f", flags),
        );
    }
    // fd_fdstat_set_flags: stdio refuses with EBADF (8), a file takes
    // NONBLOCK, as wasmtime.
    let f = open("f", 0, FD_READ).expect("open f");
    // SAFETY: plain integer arguments.
    let (stdin_nb, stdout_nb, file_nb) = unsafe {
        (
            fd_fdstat_set_flags(0, 4),
            fd_fdstat_set_flags(1, 4),
            fd_fdstat_set_flags(f, 4),
        )
    };
    println!("set_flags NONBLOCK: stdin {stdin_nb} stdout {stdout_nb} file {file_nb}");
    // SAFETY: closing a descriptor we own.
    unsafe { fd_close(f) };
    // Clocks: realtime and monotonic work; the CPU-time clocks are EBADF
    // (8) in wasmtime.
    for id in 0..4 {
        let mut t = 0u64;
        // SAFETY: a valid out-pointer.
        let (time, res) = unsafe { (clock_time_get(id, 1, &mut t), clock_res_get(id, &mut t)) };
        println!("clock {id}: time {time} res {res}");
    }
    // fd_sync/fd_datasync: files only; a directory is EBADF (8) in
    // wasmtime.
    let f = open("f", 0, FD_READ | FD_WRITE).expect("open f");
    // SAFETY: plain integer arguments.
    let (ds, dd, fs, fdd) = unsafe {
        (
            fd_sync(PREOPEN),
            fd_datasync(PREOPEN),
            fd_sync(f),
            fd_datasync(f),
        )
    };
    println!("sync: dir {ds}/{dd} file {fs}/{fdd}");
    // SAFETY: closing a descriptor we own.
    unsafe { fd_close(f) };
    // Trailing slashes resolve through links (as the kernel and wasmtime):
    // `link-to-dir/` unlinks as EISDIR (31), `link-to-file/` reads as
    // ENOTDIR (54), `file/` links and sets times as ENOTDIR; creating
    // `name/` is EISDIR on both backends; a NUL in a path is EINVAL (28).
    let (lf, ld) = ("lf", "ld");
    // SAFETY: valid pointers and lengths for every call below.
    unsafe {
        path_symlink("f".as_ptr(), 1, PREOPEN, lf.as_ptr(), lf.len());
        path_symlink("d".as_ptr(), 1, PREOPEN, ld.as_ptr(), ld.len());
        let mut buf = [0u8; 8];
        let mut used = 0usize;
        let unlink = path_unlink_file(PREOPEN, "ld/".as_ptr(), 3);
        let readlink = path_readlink(PREOPEN, "lf/".as_ptr(), 3, buf.as_mut_ptr(), 8, &mut used);
        let link = path_link(PREOPEN, 0, "f/".as_ptr(), 2, PREOPEN, "l3".as_ptr(), 2);
        let times = path_filestat_set_times(PREOPEN, 0, "f/".as_ptr(), 2, 0, 0, 2);
        println!("trailing /: unlink {unlink} readlink {readlink} link {link} set_times {times}");
    }
    report("O_CREAT new/", open("new/", O_CREAT, FD_READ | FD_WRITE));
    report("NUL in path", open("f\0x", 0, FD_READ));
    // O_DIRECTORY without following, on a link to a directory: ELOOP (32).
    report("O_DIRECTORY on a link, nofollow", open("ld", O_DIRECTORY, FD_READ));
    // The preopen's base rights are wasmtime's set exactly.
    let mut fdstat = [0u64; 3];
    // SAFETY: a valid out-pointer of the fdstat's size.
    unsafe { fd_fdstat_get(PREOPEN, &mut fdstat) };
    println!("preopen base rights {:#x}", fdstat[1]);
}
