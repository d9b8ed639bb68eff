//! Page-cache-first reads ([`RawOp::cached`]): the attempt itself, and the
//! SQE that finishes a read the attempt left short.

use std::io::Write as _;
use std::os::fd::AsRawFd;

use super::*;
use crate::Driver;

/// A temp file holding `len` bytes of a known pattern (byte `i` is `i * 7`
/// mod 251), already unlinked. It lives in the target directory's temp
/// area rather than `/tmp`, which may be a tmpfs.
fn pattern_file(len: usize) -> (std::fs::File, Vec<u8>) {
    let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    let dir = std::env::temp_dir();
    let path = dir.join(format!(
        "ringwasm-cached-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .expect("create temp file");
    std::fs::remove_file(&path).expect("unlink temp file");
    f.write_all(&data).expect("write temp file");
    (f, data)
}

fn uring() -> Option<Driver> {
    match crate::uring_driver() {
        Ok(d) => Some(d),
        Err(e) => {
            eprintln!("skipping: io_uring unavailable ({e})");
            None
        }
    }
}

fn position(f: &std::fs::File) -> u64 {
    use std::io::Seek as _;
    let mut f = f;
    f.stream_position().expect("lseek")
}

#[test]
fn after_adds_the_prefix_or_reports_it_alone() {
    let ok = Completion {
        result: 10,
        flags: 0,
    };
    assert_eq!(ok.after(0), ok);
    assert_eq!(ok.after(5).result, 15);
    assert_eq!(Completion::error(libc::EIO).after(0).result, -libc::EIO);
    assert_eq!(Completion::error(libc::EIO).after(7).result, 7);
}

#[test]
fn a_cached_file_is_read_by_the_attempt_alone() {
    let (f, data) = pattern_file(10_000);
    let mut buf = vec![0u8; 4000];
    let iov = [libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    }];
    // Just written, so every page is in the page cache.
    let got = read_cached(f.as_raw_fd(), &iov, 5000, buf.len());
    assert_eq!(
        got,
        CachedRead::Done(Completion {
            result: 4000,
            flags: 0
        })
    );
    assert_eq!(buf, data[5000..9000]);
    // Past the end: end of file, done with 0 bytes.
    let got = read_cached(f.as_raw_fd(), &iov, 20_000, buf.len());
    assert_eq!(
        got,
        CachedRead::Done(Completion {
            result: 0,
            flags: 0
        })
    );
    // A bad descriptor is a miss: the SQE reports the error properly.
    assert_eq!(read_cached(-1, &iov, 0, buf.len()), CachedRead::Miss);
}

#[test]
fn cached_first_reads_match_the_file_on_both_paths() {
    let Some(driver) = uring() else { return };
    let inline = crate::inline::Inline::new(&driver);
    let (f, data) = pattern_file(3 * 4096 + 100);
    let fd = f.as_raw_fd();
    for off in [0u64, 1, 4095, 8192, 12_000] {
        let want = &data[off as usize..(off as usize + 300).min(data.len())];
        let (r, buf) = driver.run(Read::new(fd, vec![0u8; 300]).offset(off).cached_first());
        assert_eq!(r.expect("driver read"), want.len());
        assert_eq!(&buf[..want.len()], want);
        let (r, buf) = inline.run(Read::new(fd, vec![0u8; 300]).offset(off).cached_first());
        assert_eq!(r.expect("inline read"), want.len());
        assert_eq!(&buf[..want.len()], want);
        let op = Readv::new(fd, vec![vec![0u8; 100], vec![0u8; 0], vec![0u8; 200]])
            .offset(off)
            .cached_first();
        let (r, bufs) = inline.run(op);
        assert_eq!(r.expect("inline readv"), want.len());
        assert_eq!(bufs.concat()[..want.len()], *want);
    }
    // At the file position: it advances by what was read, once.
    use std::io::Seek as _;
    (&f).seek(std::io::SeekFrom::Start(0)).expect("seek");
    let (r, buf) = inline.run(Read::new(fd, vec![0u8; 1000]).cached_first());
    assert_eq!(r.expect("read at position"), 1000);
    assert_eq!(buf, data[..1000]);
    assert_eq!(position(&f), 1000);
    let (r, buf) = driver.run(Read::new(fd, vec![0u8; 1000]).cached_first());
    assert_eq!(r.expect("read at position"), 1000);
    assert_eq!(buf, data[1000..2000]);
    assert_eq!(position(&f), 2000);
}

/// The continuation after a short attempt, made deterministic: the op is
/// built as if the attempt had read `done` bytes (the test writes them into
/// the buffer itself), and the ring must read exactly the rest.
#[test]
fn the_sqe_after_a_short_attempt_reads_only_the_rest() {
    let Some(driver) = uring() else { return };
    let inline = crate::inline::Inline::new(&driver);
    let (f, data) = pattern_file(20_000);
    let fd = f.as_raw_fd();

    // Read at an offset: bytes [1000, 1000 + done) came from the attempt.
    for done in [1u32, 999, 4096, 7999] {
        let mut buf = vec![0u8; 8000];
        buf[..done as usize].copy_from_slice(&data[1000..1000 + done as usize]);
        let mut op = Read::new(fd, buf).offset(1000);
        op.done = done;
        let (r, buf) = driver.run(op);
        assert_eq!(r.expect("rest of read"), 8000, "done = {done}");
        assert_eq!(buf, data[1000..9000], "done = {done}");
    }

    // Readv across buffer boundaries, including an empty buffer.
    for done in [1u32, 100, 150, 300, 4500] {
        let sizes = [100usize, 0, 200, 4096, 604];
        let total: usize = sizes.iter().sum();
        let mut flat = vec![0u8; total];
        flat[..done as usize].copy_from_slice(&data[..done as usize]);
        let mut bufs = Vec::new();
        let mut at = 0;
        for s in sizes {
            bufs.push(flat[at..at + s].to_vec());
            at += s;
        }
        let mut op = Readv::new(fd, bufs).offset(0);
        op.done = done;
        let (r, bufs) = inline.run(op);
        assert_eq!(r.expect("rest of readv"), total, "done = {done}");
        assert_eq!(bufs.concat(), data[..total], "done = {done}");
    }

    // At the file position: the attempt moved it by `done`, the SQE goes on
    // from there and the op reports both parts.
    use std::io::Seek as _;
    (&f).seek(std::io::SeekFrom::Start(2000 + 64))
        .expect("seek");
    let mut buf = vec![0u8; 4096];
    buf[..64].copy_from_slice(&data[2000..2064]);
    let mut op = Read::new(fd, buf);
    op.done = 64;
    let (r, buf) = inline.run(op);
    assert_eq!(r.expect("rest at position"), 4096);
    assert_eq!(buf, data[2000..6096]);
    assert_eq!(position(&f), 6096);

    // The rest failing (here: past the end) still reports the prefix.
    let mut op = Read::new(fd, vec![0u8; 100]).offset(19_990);
    op.done = 10;
    let (r, _) = driver.run(op);
    assert_eq!(r.expect("short at end"), 10);
}

/// Pages the kernel dropped are a miss (or a short read), never a wait:
/// best effort, as only a file system that lets `POSIX_FADV_DONTNEED` evict
/// clean pages can show it.
#[test]
fn evicted_pages_are_a_miss() {
    let (f, data) = pattern_file(64 * 4096);
    let fd = f.as_raw_fd();
    f.sync_all().expect("fsync");
    // No readahead, then drop the (clean, synced) pages.
    let random = fadvise(fd, libc::POSIX_FADV_RANDOM);
    let dropped = fadvise(fd, libc::POSIX_FADV_DONTNEED);
    assert!(random && dropped, "posix_fadvise failed");
    let mut buf = vec![0u8; 4096];
    let iov = [libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    }];
    match read_cached(fd, &iov, 40 * 4096, buf.len()) {
        CachedRead::Miss => {}
        CachedRead::Done(c) => {
            assert_eq!(c.result, 4096);
            assert_eq!(buf, data[40 * 4096..41 * 4096]);
            eprintln!("note: the file system kept the pages (tmpfs?): miss not shown");
        }
        CachedRead::Partial(n) => panic!("a one-page read came back short: {n}"),
    }
}

fn fadvise(fd: i32, advice: libc::c_int) -> bool {
    // SAFETY: posix_fadvise reads no memory of ours; `fd` is an open file.
    unsafe { libc::posix_fadvise(fd, 0, 0, advice) == 0 }
}
