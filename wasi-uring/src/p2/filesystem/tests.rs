//! Unit tests: the conversions, and host calls made directly on a
//! `WasiCtx` (no engine) for what a guest cannot easily set up: names and
//! link targets that are not UTF-8, FIFOs, sockets.

use super::*;

#[test]
fn datetimes_split_and_refuse_the_time_before_the_epoch() {
    let d = datetime(1_500_000_000_123_456_789).expect("after the epoch");
    assert_eq!((d.seconds, d.nanoseconds), (1_500_000_000, 123_456_789));
    assert!(datetime(-1).is_none());
    assert!(datetime(0).is_some());
}

#[test]
fn timestamps_carry_nanoseconds_and_refuse_overflow() {
    let t = |seconds, nanoseconds| {
        NewTimestamp::Timestamp(Datetime {
            seconds,
            nanoseconds,
        })
    };
    let ts = timespec(t(10, 1_500_000_000)).expect("carried");
    assert_eq!((ts.tv_sec, ts.tv_nsec), (11, 500_000_000));
    assert_eq!(timespec(t(u64::MAX, 0)), Err(ErrorCode::Overflow));
    assert_eq!(
        timespec(t(i64::MAX as u64, 1_000_000_000)),
        Err(ErrorCode::Overflow)
    );
    assert_eq!(
        timespec(NewTimestamp::Now).map(|t| t.tv_nsec),
        Ok(rustix::fs::UTIME_NOW)
    );
    assert_eq!(
        timespec(NewTimestamp::NoChange).map(|t| t.tv_nsec),
        Ok(rustix::fs::UTIME_OMIT)
    );
}

#[test]
fn metadata_hashes_depend_on_identity_only() {
    let st = |dev, ino, size| Stat {
        dev,
        ino,
        kind: FileKind::RegularFile,
        nlink: 1,
        size,
        atime_ns: 0,
        mtime_ns: 0,
        ctime_ns: 0,
    };
    let h = |s: &Stat| {
        let v = metadata_hash(s);
        (v.lower, v.upper)
    };
    assert_eq!(h(&st(1, 2, 3)), h(&st(1, 2, 99)));
    assert_ne!(h(&st(1, 2, 3)), h(&st(1, 3, 3)));
    assert_ne!(h(&st(1, 2, 3)), h(&st(2, 2, 3)));
    let (lower, upper) = h(&st(1, 2, 3));
    assert_ne!(lower, upper);
}

/// A context with `dir` preopened as `.`, on `io`.
fn context(dir: &std::path::Path, io: crate::io::IoChoice) -> WasiCtx {
    WasiCtx::builder()
        .preopen_dir(dir, ".")
        .io(io)
        .build()
        .expect("context")
}

/// The `.` preopen as a descriptor handle.
fn root(cx: &mut WasiCtx) -> Resource<Descriptor> {
    use preopens::Host as _;
    let mut dirs = cx.get_directories().expect("preopens");
    assert_eq!(dirs.len(), 1);
    dirs.remove(0).0
}

/// A borrowed handle to the same resource, as the ABI passes `self`.
fn borrow<T: 'static>(r: &Resource<T>) -> Resource<T> {
    Resource::new_borrow(r.rep())
}

/// Runs `f` on both backends (io_uring only where it is available).
fn both(f: impl Fn(crate::io::IoChoice)) {
    f(crate::io::IoChoice::Epoll);
    if ringwasm_reactor::uring_driver().is_ok() {
        f(crate::io::IoChoice::Uring);
    } else {
        eprintln!("io_uring unavailable here: the epoll run covers this");
    }
}

#[test]
fn names_and_targets_that_are_not_utf8_are_illegal_byte_sequences() {
    use std::os::unix::ffi::OsStrExt;
    use types::Host as _;
    both(|io| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let bad = std::ffi::OsStr::from_bytes(b"bad-\xff");
        std::fs::write(tmp.path().join(bad), b"x").expect("file");
        std::fs::write(tmp.path().join("good"), b"x").expect("file");
        std::os::unix::fs::symlink(bad, tmp.path().join("link")).expect("symlink");
        let mut cx = context(tmp.path(), io);
        let r = root(&mut cx);
        let stream = cx
            .descriptor_read_directory(borrow(&r))
            .expect("no trap")
            .expect("listed");
        let mut seen = Vec::new();
        while let Some(e) = cx
            .directory_entry_stream_read_directory_entry(borrow(&stream))
            .expect("no trap")
            .transpose()
        {
            seen.push(e.map(|e| e.name));
        }
        seen.sort_by_key(|e| format!("{e:?}"));
        assert_eq!(
            seen,
            vec![
                Err(ErrorCode::IllegalByteSequence),
                Ok("good".to_string()),
                Ok("link".to_string()),
            ]
        );
        assert_eq!(
            cx.descriptor_readlink_at(borrow(&r), "link".into())
                .expect("no trap"),
            Err(ErrorCode::IllegalByteSequence)
        );
        cx.directory_entry_stream_drop(stream).expect("dropped");
        cx.descriptor_drop(r).expect("dropped");
    });
}

#[test]
fn fifos_and_sockets_have_their_own_types() {
    use types::Host as _;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = std::fs::File::open(tmp.path()).expect("open");
    rustix::fs::mknodat(
        &dir,
        "fifo",
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .expect("mkfifo");
    let _listener =
        std::os::unix::net::UnixListener::bind(tmp.path().join("sock")).expect("socket");
    let mut cx = context(tmp.path(), crate::io::IoChoice::Epoll);
    let r = root(&mut cx);
    let ty = |cx: &mut WasiCtx, p: &str| {
        cx.descriptor_stat_at(borrow(&r), PathFlags::default(), p.into())
            .expect("no trap")
            .map(|s| s.type_)
    };
    assert_eq!(ty(&mut cx, "fifo"), Ok(DescriptorType::Fifo));
    assert_eq!(ty(&mut cx, "sock"), Ok(DescriptorType::Socket));
}

#[test]
fn a_descriptor_and_its_streams_share_one_host_file() {
    use crate::p2::bindings::wasi::io::streams::Host as _;
    use types::Host as _;
    both(|io| {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(tmp.path().join("f"), b"abcdef").expect("file");
        let mut cx = context(tmp.path(), io);
        let r = root(&mut cx);
        let f = cx
            .descriptor_open_at(
                borrow(&r),
                PathFlags::default(),
                "f".into(),
                OpenFlags::default(),
                DescriptorFlags::READ,
            )
            .expect("no trap")
            .expect("opened");
        let s = cx
            .descriptor_read_via_stream(borrow(&f), 2)
            .expect("no trap")
            .expect("stream");
        // Dropping the descriptor leaves the stream's file open.
        cx.descriptor_drop(f).expect("dropped");
        let got = cx
            .input_stream_blocking_read(borrow(&s), 10)
            .expect("no trap")
            .map_err(|_| "stream error");
        assert_eq!(got, Ok(b"cdef".to_vec()));
        cx.input_stream_drop(s).expect("dropped");
        assert!(
            cx.descriptor_is_same_object(borrow(&r), borrow(&r))
                .expect("no trap")
        );
    });
}

#[test]
fn io_errors_of_streams_map_through_the_errno_table() {
    use types::Host as _;
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut cx = context(tmp.path(), crate::io::IoChoice::Epoll);
    for (err, code) in [
        (
            std::io::Error::from_raw_os_error(libc::EXDEV),
            ErrorCode::CrossDevice,
        ),
        (
            std::io::Error::from_raw_os_error(libc::EROFS),
            ErrorCode::ReadOnly,
        ),
        (std::io::Error::other("not an OS error"), ErrorCode::Io),
    ] {
        let e = cx.p2.table.push(IoError(err)).expect("room");
        assert_eq!(
            cx.filesystem_error_code(borrow(&e)).expect("no trap"),
            Some(code)
        );
    }
}
