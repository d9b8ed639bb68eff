//! Every function of `wasi:filesystem/types` and `preopens`, called
//! directly (no libc in between) with its edge cases; one line of output
//! per call, the same under any correct host. Run with the fixture of
//! `wasi-uring/tests/p2_filesystem.rs`: `.` holds `a.txt` ("hello
//! world\n"), `sub/b.txt`, symlinks `link -> a.txt`, `dirlink -> sub`,
//! `escape -> ../outside.txt`, `abs -> /tmp`, `loop1 <-> loop2`,
//! `dangling -> nothere`; `/other` is a second, empty preopen.

use wasip2::clocks::wall_clock::Datetime;
use wasip2::filesystem::preopens::get_directories;
use wasip2::filesystem::types::{
    Advice, Descriptor, DescriptorFlags, DescriptorStat, ErrorCode, MetadataHashValue,
    NewTimestamp, OpenFlags, PathFlags, filesystem_error_code,
};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};

/// A timestamp as a comparable pair.
fn dt(d: Option<Datetime>) -> Option<(u64, u32)> {
    d.map(|d| (d.seconds, d.nanoseconds))
}

/// A metadata hash as a comparable pair.
fn hv(h: MetadataHashValue) -> (u64, u64) {
    (h.lower, h.upper)
}

fn code(e: ErrorCode) -> String {
    format!("err {}", e.name())
}

fn unit(r: Result<(), ErrorCode>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => code(e),
    }
}

fn flags(f: DescriptorFlags) -> String {
    let mut v = Vec::new();
    for (bit, name) in [
        (DescriptorFlags::READ, "read"),
        (DescriptorFlags::WRITE, "write"),
        (DescriptorFlags::FILE_INTEGRITY_SYNC, "file-sync"),
        (DescriptorFlags::DATA_INTEGRITY_SYNC, "data-sync"),
        (DescriptorFlags::REQUESTED_WRITE_SYNC, "req-sync"),
        (DescriptorFlags::MUTATE_DIRECTORY, "mutate"),
    ] {
        if f.contains(bit) {
            v.push(name);
        }
    }
    format!("{{{}}}", v.join(","))
}

fn stream_err(e: StreamError) -> String {
    match e {
        StreamError::Closed => "closed".into(),
        StreamError::LastOperationFailed(err) => match filesystem_error_code(&err) {
            Some(c) => format!("failed {}", c.name()),
            None => "failed (no fs code)".into(),
        },
    }
}

fn bytes(r: Result<Vec<u8>, StreamError>) -> String {
    match r {
        Ok(b) => format!("{:?}", String::from_utf8_lossy(&b)),
        Err(e) => stream_err(e),
    }
}

fn sunit(r: Result<(), StreamError>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => stream_err(e),
    }
}

fn stat(r: Result<DescriptorStat, ErrorCode>) -> String {
    match r {
        Ok(s) => format!(
            "{:?} size={} links={} times={}/{}/{}",
            s.type_,
            s.size,
            s.link_count,
            s.data_access_timestamp.is_some(),
            s.data_modification_timestamp.is_some(),
            s.status_change_timestamp.is_some()
        ),
        Err(e) => code(e),
    }
}

fn open(
    d: &Descriptor,
    follow: bool,
    path: &str,
    of: OpenFlags,
    df: DescriptorFlags,
) -> Result<Descriptor, ErrorCode> {
    let pf = if follow {
        PathFlags::SYMLINK_FOLLOW
    } else {
        PathFlags::empty()
    };
    d.open_at(pf, path, of, df)
}

fn opened(r: Result<Descriptor, ErrorCode>) -> String {
    match r {
        Ok(d) => format!(
            "{:?} {}",
            d.get_type().map_err(|e| e.name()),
            d.get_flags().map(flags).unwrap_or_else(|e| code(e))
        ),
        Err(e) => code(e),
    }
}

fn read_all(s: &InputStream) -> String {
    let mut out = Vec::new();
    loop {
        match s.blocking_read(4) {
            Ok(b) => out.extend(b),
            Err(StreamError::Closed) => break,
            Err(e) => return stream_err(e),
        }
    }
    format!("{:?}", String::from_utf8_lossy(&out))
}

fn contents(d: &Descriptor, path: &str) -> String {
    match open(d, false, path, OpenFlags::empty(), DescriptorFlags::READ) {
        Ok(f) => match f.read(1 << 16, 0) {
            Ok((b, _)) => format!("{:?}", String::from_utf8_lossy(&b)),
            Err(e) => code(e),
        },
        Err(e) => code(e),
    }
}

fn write_stream(s: &OutputStream, data: &[u8]) -> String {
    let permit = match s.check_write() {
        Ok(n) => n,
        Err(e) => return format!("check-write {}", stream_err(e)),
    };
    if permit < data.len() as u64 {
        return format!("permit {permit}");
    }
    if let Err(e) = s.write(data) {
        return format!("write {}", stream_err(e));
    }
    match s.blocking_flush() {
        Ok(()) => "ok".into(),
        Err(e) => format!("flush {}", stream_err(e)),
    }
}

fn main() {
    let pre = get_directories();
    let names: Vec<&str> = pre.iter().map(|(_, n)| n.as_str()).collect();
    println!("preopens: {names:?}");
    let root = &pre.iter().find(|(_, n)| n == ".").expect("the . preopen").0;
    let other = &pre
        .iter()
        .find(|(_, n)| n == "/other")
        .expect("the /other preopen")
        .0;
    let none = DescriptorFlags::empty();
    let r = DescriptorFlags::READ;
    let w = DescriptorFlags::WRITE;
    let rw = r | w;
    let no = OpenFlags::empty();

    println!("\n# descriptors");
    println!("root type: {:?}", root.get_type());
    println!("root flags: {}", flags(root.get_flags().expect("flags")));
    println!("root stat: {}", stat(root.stat()));
    let a = open(root, false, "a.txt", no, r).expect("a.txt");
    println!("a type: {:?}", a.get_type());
    println!("a flags: {}", flags(a.get_flags().expect("flags")));
    println!("a stat: {}", stat(a.stat()));
    println!(
        "open flags none: {}",
        opened(open(root, false, "a.txt", no, none))
    );
    println!(
        "open flags write: {}",
        opened(open(root, false, "a.txt", no, w))
    );
    println!(
        "open flags rw: {}",
        opened(open(root, false, "a.txt", no, rw))
    );
    println!(
        "open dir mutate: {}",
        opened(open(
            root,
            false,
            "sub",
            no,
            r | DescriptorFlags::MUTATE_DIRECTORY
        ))
    );
    println!(
        "open dir: {}",
        opened(open(root, false, "sub", OpenFlags::DIRECTORY, r))
    );
    println!("open dot: {}", opened(open(root, false, ".", no, r)));
    println!(
        "open dir write: {}",
        opened(open(root, false, "sub", no, rw))
    );
    println!(
        "open file as dir: {}",
        opened(open(root, false, "a.txt", OpenFlags::DIRECTORY, r))
    );
    println!(
        "open dir create: {}",
        opened(open(
            root,
            false,
            "nd",
            OpenFlags::DIRECTORY | OpenFlags::CREATE,
            r
        ))
    );
    println!(
        "open dir truncate: {}",
        opened(open(
            root,
            false,
            "sub",
            OpenFlags::DIRECTORY | OpenFlags::TRUNCATE,
            r
        ))
    );
    println!(
        "open missing: {}",
        opened(open(root, false, "missing", no, r))
    );
    println!(
        "open exclusive existing: {}",
        opened(open(
            root,
            false,
            "a.txt",
            OpenFlags::CREATE | OpenFlags::EXCLUSIVE,
            rw
        ))
    );
    println!(
        "open sync flag: {}",
        opened(open(
            root,
            false,
            "a.txt",
            no,
            r | DescriptorFlags::FILE_INTEGRITY_SYNC
        ))
    );
    println!(
        "open data sync flag: {}",
        opened(open(
            root,
            false,
            "a.txt",
            no,
            r | DescriptorFlags::DATA_INTEGRITY_SYNC
        ))
    );
    println!(
        "open req sync flag: {}",
        opened(open(
            root,
            false,
            "a.txt",
            no,
            r | DescriptorFlags::REQUESTED_WRITE_SYNC
        ))
    );
    println!(
        "open link nofollow: {}",
        opened(open(root, false, "link", no, r))
    );
    println!(
        "open link follow: {}",
        opened(open(root, true, "link", no, r))
    );
    println!(
        "open dirlink dir nofollow: {}",
        opened(open(root, false, "dirlink", OpenFlags::DIRECTORY, r))
    );
    println!(
        "open dirlink dir follow: {}",
        opened(open(root, true, "dirlink", OpenFlags::DIRECTORY, r))
    );
    println!(
        "open trailing slash file: {}",
        opened(open(root, false, "a.txt/", no, r))
    );
    println!(
        "open trailing slash dir: {}",
        opened(open(root, false, "sub/", no, r))
    );
    println!(
        "open create trailing slash: {}",
        opened(open(root, false, "new/", OpenFlags::CREATE, rw))
    );
    println!("open empty path: {}", opened(open(root, false, "", no, r)));
    println!("open through file: {}", opened(open(&a, false, "x", no, r)));
    println!(
        "open dangling follow: {}",
        opened(open(root, true, "dangling", no, r))
    );
    println!(
        "open dangling create follow: {}",
        opened(open(root, true, "dangling", OpenFlags::CREATE, rw))
    );
    println!(
        "open loop follow: {}",
        opened(open(root, true, "loop1", no, r))
    );

    println!("\n# read and write");
    println!(
        "read 5@0: {:?}",
        a.read(5, 0)
            .map(|(b, e)| (String::from_utf8_lossy(&b).into_owned(), e))
    );
    println!(
        "read 100@6: {:?}",
        a.read(100, 6)
            .map(|(b, e)| (String::from_utf8_lossy(&b).into_owned(), e))
    );
    println!("read 10@12: {:?}", a.read(10, 12));
    println!("read 0@0: {:?}", a.read(0, 0));
    println!("read 10@2^62: {:?}", a.read(10, 1 << 62));
    println!("read 10@max: {:?}", a.read(10, u64::MAX));
    println!("write to read-only: {:?}", a.write(b"x", 0));
    println!("read dir: {:?}", root.read(10, 0));
    println!("write dir: {:?}", root.write(b"x", 0));
    let n = open(root, false, "new.txt", OpenFlags::CREATE, w).expect("create");
    println!("new flags: {}", flags(n.get_flags().expect("flags")));
    println!("write 3@0: {:?}", n.write(b"abc", 0));
    println!("write 1@10: {:?}", n.write(b"Z", 10));
    println!("write 0@0: {:?}", n.write(b"", 0));
    println!("write @max: {:?}", n.write(b"q", u64::MAX));
    println!("read from write-only: {:?}", n.read(1, 0));
    println!("new stat: {}", stat(n.stat()));
    println!("set-size 4: {}", unit(n.set_size(4)));
    println!("new stat: {}", stat(n.stat()));
    println!("set-size max: {}", unit(n.set_size(u64::MAX)));
    println!("set-size read-only: {}", unit(a.set_size(1)));
    println!("set-size dir: {}", unit(root.set_size(1)));
    println!("new contents: {}", contents(root, "new.txt"));
    let t = open(root, false, "new.txt", OpenFlags::TRUNCATE, r).expect("truncate");
    println!("truncated flags: {}", flags(t.get_flags().expect("flags")));
    println!("truncated stat: {}", stat(t.stat()));
    drop(t);

    println!("\n# streams");
    // Nonblocking reads only after the pollable says ready: a host may
    // read in the background, so what `read` returns before that is its
    // own business.
    let s = a.read_via_stream(0).expect("stream");
    println!("blocking-read 5: {}", bytes(s.blocking_read(5)));
    println!("read 0: {}", bytes(s.read(0)));
    let p = s.subscribe();
    p.block();
    println!("pollable ready: {}", p.ready());
    println!("skip 1: {:?}", s.skip(1).map_err(stream_err));
    p.block();
    println!("read 100: {}", bytes(s.read(100)));
    println!("blocking-read at eof: {}", bytes(s.blocking_read(100)));
    println!("read after eof: {}", bytes(s.read(100)));
    println!("read 0 after eof: {}", bytes(s.read(0)));
    println!("skip after eof: {:?}", s.skip(1).map_err(stream_err));
    p.block();
    println!("pollable ready after eof: {}", p.ready());
    drop(p);
    drop(s);
    let s = a.read_via_stream(6).expect("stream at 6");
    println!("stream at 6: {}", read_all(&s));
    drop(s);
    let s = a.read_via_stream(100).expect("stream past eof");
    println!("stream past eof: {}", bytes(s.blocking_read(10)));
    drop(s);
    let s = a.read_via_stream(u64::MAX).expect("stream at max");
    println!("stream at max: {}", bytes(s.blocking_read(10)));
    drop(s);
    let s = a.read_via_stream(0).expect("stream");
    println!("blocking-read 0: {}", bytes(s.blocking_read(0)));
    println!(
        "blocking-skip 6: {:?}",
        s.blocking_skip(6).map_err(stream_err)
    );
    println!("rest: {}", read_all(&s));
    drop(s);
    println!(
        "read-via-stream dir: {}",
        root.read_via_stream(0)
            .map(|_| "ok".to_string())
            .unwrap_or_else(code)
    );
    println!(
        "write-via-stream dir: {}",
        root.write_via_stream(0)
            .map(|_| "ok".to_string())
            .unwrap_or_else(code)
    );
    println!(
        "append-via-stream dir: {}",
        root.append_via_stream()
            .map(|_| "ok".to_string())
            .unwrap_or_else(code)
    );
    let n = open(root, false, "new.txt", no, rw).expect("reopen");
    let ws = n.write_via_stream(2).expect("write stream");
    println!("write-stream at 2: {}", write_stream(&ws, b"XY"));
    println!("write-stream again: {}", write_stream(&ws, b"Q"));
    println!(
        "write-stream zeroes: {:?}",
        ws.write_zeroes(2).map_err(stream_err)
    );
    println!("write-stream flush: {}", sunit(ws.flush()));
    println!(
        "write-stream and flush: {}",
        sunit(ws.blocking_write_and_flush(b"!"))
    );
    let wp = ws.subscribe();
    println!("write pollable ready: {}", wp.ready());
    drop(wp);
    drop(ws);
    println!("after write-stream: {}", contents(root, "new.txt"));
    let ap = n.append_via_stream().expect("append stream");
    println!("append: {}", write_stream(&ap, b"END"));
    println!("append again: {}", write_stream(&ap, b"+"));
    drop(ap);
    println!("after append: {}", contents(root, "new.txt"));
    let ws = a.write_via_stream(0).expect("write stream on read-only");
    println!("write-stream on read-only: {}", write_stream(&ws, b"x"));
    println!("write-stream after failure: {}", write_stream(&ws, b"x"));
    drop(ws);
    let ws = a.append_via_stream().expect("append stream on read-only");
    println!("append-stream on read-only: {}", write_stream(&ws, b"x"));
    drop(ws);
    let wo = open(root, false, "new.txt", no, w).expect("write-only");
    let rs = wo.read_via_stream(0).expect("read stream on write-only");
    println!("read-stream on write-only: {}", bytes(rs.blocking_read(4)));
    println!("read-stream after failure: {}", bytes(rs.blocking_read(4)));
    drop(rs);
    // A stream outlives its descriptor.
    let orphan = open(root, false, "a.txt", no, r)
        .expect("a")
        .read_via_stream(0)
        .expect("stream");
    println!(
        "stream of a dropped descriptor: {}",
        bytes(orphan.blocking_read(5))
    );
    drop(orphan);
    // Splice from a file into a file.
    let src = a.read_via_stream(0).expect("src");
    let dst = open(root, false, "spliced.txt", OpenFlags::CREATE, w)
        .expect("dst")
        .write_via_stream(0)
        .expect("dst stream");
    println!(
        "blocking-splice 5: {:?}",
        dst.blocking_splice(&src, 5).map_err(stream_err)
    );
    println!(
        "blocking-splice 100: {:?}",
        dst.blocking_splice(&src, 100).map_err(stream_err)
    );
    println!(
        "blocking-splice at eof: {:?}",
        dst.blocking_splice(&src, 100).map_err(stream_err)
    );
    drop(dst);
    drop(src);
    println!("spliced: {}", contents(root, "spliced.txt"));

    println!("\n# advise, sync, flags");
    for (name, adv) in [
        ("normal", Advice::Normal),
        ("sequential", Advice::Sequential),
        ("random", Advice::Random),
        ("will-need", Advice::WillNeed),
        ("dont-need", Advice::DontNeed),
        ("no-reuse", Advice::NoReuse),
    ] {
        println!("advise {name}: {}", unit(a.advise(0, 0, adv)));
    }
    println!(
        "advise huge: {}",
        unit(a.advise(u64::MAX, u64::MAX, Advice::Normal))
    );
    println!("advise dir: {}", unit(root.advise(0, 0, Advice::Normal)));
    println!("sync-data file: {}", unit(n.sync_data()));
    println!("sync file: {}", unit(n.sync()));
    println!("sync-data read-only file: {}", unit(a.sync_data()));
    println!("sync-data dir: {}", unit(root.sync_data()));
    println!("sync dir: {}", unit(root.sync()));

    println!("\n# times");
    let t = |s, ns| {
        NewTimestamp::Timestamp(Datetime {
            seconds: s,
            nanoseconds: ns,
        })
    };
    println!(
        "set-times: {}",
        unit(n.set_times(t(1_000_000_000, 5), t(1_100_000_000, 7)))
    );
    let st = n.stat().expect("stat");
    println!(
        "times: {:?} {:?}",
        st.data_access_timestamp, st.data_modification_timestamp
    );
    println!(
        "set-times no-change: {}",
        unit(n.set_times(NewTimestamp::NoChange, NewTimestamp::NoChange))
    );
    let st2 = n.stat().expect("stat");
    println!(
        "unchanged: {}",
        dt(st2.data_access_timestamp) == dt(st.data_access_timestamp)
            && dt(st2.data_modification_timestamp) == dt(st.data_modification_timestamp)
    );
    println!(
        "set-times now: {}",
        unit(n.set_times(NewTimestamp::Now, NewTimestamp::NoChange))
    );
    let st3 = n.stat().expect("stat");
    println!(
        "now is later: {}",
        st3.data_access_timestamp.map(|d| d.seconds) > Some(1_600_000_000)
    );
    println!(
        "set-times carried nanos: {}",
        unit(n.set_times(NewTimestamp::NoChange, t(1_000_000_000, 1_500_000_000)))
    );
    println!(
        "mtime: {:?}",
        n.stat().expect("stat").data_modification_timestamp
    );
    println!(
        "set-times huge: {}",
        unit(n.set_times(t(u64::MAX, 0), NewTimestamp::NoChange))
    );
    println!(
        "set-times read-only file: {}",
        unit(a.set_times(NewTimestamp::Now, NewTimestamp::Now))
    );
    println!(
        "set-times dir: {}",
        unit(root.set_times(NewTimestamp::NoChange, t(1_200_000_000, 0)))
    );
    println!(
        "dir mtime: {:?}",
        root.stat().expect("stat").data_modification_timestamp
    );
    println!(
        "set-times-at: {}",
        unit(root.set_times_at(
            PathFlags::empty(),
            "a.txt",
            t(1_300_000_000, 0),
            NewTimestamp::NoChange
        ))
    );
    println!(
        "a atime: {:?}",
        root.stat_at(PathFlags::empty(), "a.txt")
            .expect("stat")
            .data_access_timestamp
    );
    println!(
        "set-times-at link nofollow: {}",
        unit(root.set_times_at(
            PathFlags::empty(),
            "link",
            NewTimestamp::NoChange,
            t(1_400_000_000, 0)
        ))
    );
    println!(
        "link mtime: {:?} a mtime is not: {}",
        root.stat_at(PathFlags::empty(), "link")
            .expect("stat")
            .data_modification_timestamp,
        dt(root
            .stat_at(PathFlags::empty(), "a.txt")
            .expect("stat")
            .data_modification_timestamp)
            != Some((1_400_000_000, 0))
    );
    println!(
        "set-times-at link follow: {}",
        unit(root.set_times_at(
            PathFlags::SYMLINK_FOLLOW,
            "link",
            NewTimestamp::NoChange,
            t(1_500_000_000, 0)
        ))
    );
    println!(
        "a mtime: {:?}",
        root.stat_at(PathFlags::empty(), "a.txt")
            .expect("stat")
            .data_modification_timestamp
    );
    for p in [
        "escape",
        "abs",
        "../outside.txt",
        "/tmp",
        "missing",
        "a.txt/",
        "dangling",
    ] {
        println!(
            "set-times-at {p:?}: nofollow {} follow {}",
            unit(root.set_times_at(PathFlags::empty(), p, NewTimestamp::Now, NewTimestamp::Now)),
            unit(root.set_times_at(
                PathFlags::SYMLINK_FOLLOW,
                p,
                NewTimestamp::Now,
                NewTimestamp::Now
            ))
        );
    }
    println!(
        "set-times-at on file: {}",
        unit(a.set_times_at(
            PathFlags::empty(),
            "x",
            NewTimestamp::Now,
            NewTimestamp::Now
        ))
    );

    println!("\n# stat-at");
    for p in [
        "a.txt",
        "link",
        "dirlink",
        "escape",
        "abs",
        "loop1",
        "dangling",
        "missing",
        "a.txt/",
        "sub/",
        "sub/../a.txt",
        "sub/../../outside.txt",
        "..",
        "/tmp",
        ".",
        "",
        "sub/b.txt",
        "dirlink/b.txt",
        "dirlink/",
    ] {
        println!(
            "stat-at {p:?}: nofollow {} | follow {}",
            stat(root.stat_at(PathFlags::empty(), p)),
            stat(root.stat_at(PathFlags::SYMLINK_FOLLOW, p))
        );
    }
    println!(
        "stat-at on file: {}",
        stat(a.stat_at(PathFlags::empty(), "x"))
    );

    println!("\n# directories");
    let list = |d: &Descriptor| -> String {
        let s = match d.read_directory() {
            Ok(s) => s,
            Err(e) => return code(e),
        };
        let mut v = Vec::new();
        loop {
            match s.read_directory_entry() {
                Ok(Some(e)) => v.push(format!("{}:{:?}", e.name, e.type_)),
                Ok(None) => break,
                Err(e) => return code(e),
            }
        }
        let again = s.read_directory_entry();
        v.sort();
        format!("{} then {:?}", v.join(" "), again.map(|o| o.is_none()))
    };
    println!("list root: {}", list(root));
    println!("list other: {}", list(other));
    println!("list file: {}", list(&a));
    let sub = open(root, false, "sub", OpenFlags::DIRECTORY, r).expect("sub");
    println!("list sub: {}", list(&sub));
    println!(
        "create-directory-at: {}",
        unit(root.create_directory_at("newdir"))
    );
    println!(
        "create-directory-at again: {}",
        unit(root.create_directory_at("newdir"))
    );
    for p in [
        ".",
        "..",
        "a.txt/x",
        "newdir/",
        "sub/deep",
        "missing/x",
        "../x",
        "/tmp/x",
        "dirlink/viadirlink",
        "escape/x",
        "",
    ] {
        println!(
            "create-directory-at {p:?}: {}",
            unit(root.create_directory_at(p))
        );
    }
    println!(
        "create-directory-at on file: {}",
        unit(a.create_directory_at("x"))
    );
    for p in [
        "newdir",
        "sub",
        "a.txt",
        ".",
        "..",
        "missing",
        "sub/deep",
        "dirlink",
        "dirlink/viadirlink",
        "newdir/",
        "../x",
        "sub/..",
    ] {
        println!(
            "remove-directory-at {p:?}: {}",
            unit(root.remove_directory_at(p))
        );
    }

    println!("\n# links");
    println!(
        "link-at: {}",
        unit(root.link_at(PathFlags::empty(), "a.txt", root, "hard.txt"))
    );
    println!(
        "hard stat: {}",
        stat(root.stat_at(PathFlags::empty(), "hard.txt"))
    );
    println!(
        "link-at follow flag: {}",
        unit(root.link_at(PathFlags::SYMLINK_FOLLOW, "a.txt", root, "h2"))
    );
    println!(
        "link-at existing: {}",
        unit(root.link_at(PathFlags::empty(), "a.txt", root, "hard.txt"))
    );
    println!(
        "link-at dir: {}",
        unit(root.link_at(PathFlags::empty(), "sub", root, "subhard"))
    );
    println!(
        "link-at symlink: {}",
        unit(root.link_at(PathFlags::empty(), "link", root, "linkhard"))
    );
    println!(
        "linkhard stat: {}",
        stat(root.stat_at(PathFlags::empty(), "linkhard"))
    );
    println!(
        "link-at to other preopen: {}",
        unit(root.link_at(PathFlags::empty(), "a.txt", other, "a-other.txt"))
    );
    println!(
        "link-at missing: {}",
        unit(root.link_at(PathFlags::empty(), "missing", root, "m2"))
    );
    println!(
        "link-at escape dst: {}",
        unit(root.link_at(PathFlags::empty(), "a.txt", root, "../x"))
    );
    println!(
        "link-at escape src: {}",
        unit(root.link_at(PathFlags::empty(), "../outside.txt", root, "o"))
    );
    println!(
        "link-at trailing slash src: {}",
        unit(root.link_at(PathFlags::empty(), "a.txt/", root, "ts"))
    );
    println!(
        "link-at trailing slash dst: {}",
        unit(root.link_at(PathFlags::empty(), "a.txt", root, "ts/"))
    );
    for (from, to) in [
        ("a.txt", "."),
        ("a.txt", ".."),
        ("a.txt", "sub/.."),
        ("..", "x"),
        ("sub/..", "x"),
        (".", "x"),
    ] {
        println!(
            "link-at {from:?} {to:?}: {}",
            unit(root.link_at(PathFlags::empty(), from, root, to))
        );
    }
    println!(
        "link-at on file: {}",
        unit(a.link_at(PathFlags::empty(), "x", root, "y"))
    );
    println!(
        "link-at to file: {}",
        unit(root.link_at(PathFlags::empty(), "a.txt", &a, "y"))
    );
    println!("symlink-at: {}", unit(root.symlink_at("a.txt", "sl")));
    println!(
        "sl follows: {}",
        stat(root.stat_at(PathFlags::SYMLINK_FOLLOW, "sl"))
    );
    println!(
        "symlink-at existing: {}",
        unit(root.symlink_at("a.txt", "sl"))
    );
    println!(
        "symlink-at absolute target: {}",
        unit(root.symlink_at("/etc/passwd", "sl2"))
    );
    println!(
        "symlink-at escaping target: {}",
        unit(root.symlink_at("../outside.txt", "sl3"))
    );
    println!(
        "sl3 follow: {}",
        stat(root.stat_at(PathFlags::SYMLINK_FOLLOW, "sl3"))
    );
    println!(
        "symlink-at dangling: {}",
        unit(root.symlink_at("nowhere", "sl4"))
    );
    println!(
        "symlink-at trailing slash: {}",
        unit(root.symlink_at("a.txt", "sl5/"))
    );
    println!(
        "symlink-at escape path: {}",
        unit(root.symlink_at("a.txt", "../sl6"))
    );
    println!(
        "symlink-at empty target: {}",
        unit(root.symlink_at("", "sl7"))
    );
    for p in [".", "..", "sub/..", "sub/."] {
        println!("symlink-at to {p:?}: {}", unit(root.symlink_at("a.txt", p)));
    }
    println!("symlink-at on file: {}", unit(a.symlink_at("a.txt", "x")));
    for p in [
        "link", "sl", "sl3", "abs", "escape", "a.txt", "missing", "link/", "dirlink/", "sub", "..",
        "../x", "", ".", "sub/..", "sub/.",
    ] {
        println!(
            "readlink-at {p:?}: {:?}",
            root.readlink_at(p).map_err(|e| e.name())
        );
    }
    println!(
        "readlink-at on file: {:?}",
        a.readlink_at("x").map_err(|e| e.name())
    );

    println!("\n# rename and unlink");
    println!(
        "rename-at: {}",
        unit(root.rename_at("hard.txt", root, "renamed.txt"))
    );
    println!(
        "renamed stat: {}",
        stat(root.stat_at(PathFlags::empty(), "renamed.txt"))
    );
    println!(
        "rename-at to other preopen: {}",
        unit(root.rename_at("renamed.txt", other, "moved.txt"))
    );
    println!(
        "rename-at back: {}",
        unit(other.rename_at("moved.txt", root, "renamed.txt"))
    );
    println!(
        "rename-at missing: {}",
        unit(root.rename_at("missing", root, "x"))
    );
    println!(
        "rename-at onto dir: {}",
        unit(root.rename_at("renamed.txt", root, "sub"))
    );
    println!(
        "rename-at dir onto file: {}",
        unit(root.rename_at("sub", root, "renamed.txt"))
    );
    println!(
        "rename-at dir into itself: {}",
        unit(root.rename_at("sub", root, "sub/inner"))
    );
    println!(
        "rename-at file trailing slash: {}",
        unit(root.rename_at("renamed.txt/", root, "x"))
    );
    println!(
        "rename-at to trailing slash: {}",
        unit(root.rename_at("renamed.txt", root, "x/"))
    );
    println!(
        "rename-at escape: {}",
        unit(root.rename_at("renamed.txt", root, "../x"))
    );
    println!(
        "rename-at from escape: {}",
        unit(root.rename_at("../outside.txt", root, "x"))
    );
    for (from, to) in [
        (".", "x"),
        ("..", "x"),
        ("sub/..", "x"),
        ("sub/.", "x"),
        ("renamed.txt", "."),
        ("renamed.txt", "sub/.."),
        ("renamed.txt", ".."),
    ] {
        println!(
            "rename-at {from:?} {to:?}: {}",
            unit(root.rename_at(from, root, to))
        );
    }
    println!(
        "rename-at symlink: {}",
        unit(root.rename_at("sl4", root, "sl4b"))
    );
    println!("sl4b: {}", stat(root.stat_at(PathFlags::empty(), "sl4b")));
    println!(
        "rename-at dir: {}",
        unit(root.rename_at("sub", root, "sub2"))
    );
    println!(
        "rename-at dir back with slash: {}",
        unit(root.rename_at("sub2/", root, "sub/"))
    );
    println!("rename-at on file: {}", unit(a.rename_at("x", root, "y")));
    for p in [
        "renamed.txt",
        "sl",
        "sl4b",
        "sub",
        ".",
        "..",
        "missing",
        "../outside.txt",
        "dirlink/",
        "link/",
        "a.txt/",
        "linkhard",
        "",
    ] {
        println!("unlink-file-at {p:?}: {}", unit(root.unlink_file_at(p)));
    }
    println!("unlink-file-at on file: {}", unit(a.unlink_file_at("x")));
    println!("other after: {}", list(other));

    println!("\n# identity");
    let a2 = open(root, false, "a.txt", no, r).expect("a again");
    let b = open(root, false, "sub/b.txt", no, r).expect("b");
    println!("same a a2: {}", a.is_same_object(&a2));
    println!("same a b: {}", a.is_same_object(&b));
    println!("same root root: {}", root.is_same_object(root));
    println!("same root other: {}", root.is_same_object(other));
    let dot = open(root, false, ".", no, r).expect("dot");
    println!("same root dot: {}", root.is_same_object(&dot));
    let ha = hv(a.metadata_hash().expect("hash"));
    let ha2 = hv(a2.metadata_hash().expect("hash"));
    let hb = hv(b.metadata_hash().expect("hash"));
    println!("hash a == a2: {}", ha == ha2);
    println!("hash a != b: {}", ha != hb);
    println!("hash halves differ: {}", ha.0 != ha.1);
    let at = |f: PathFlags, p: &str| root.metadata_hash_at(f, p).map(hv);
    println!(
        "hash-at a == a: {}",
        at(PathFlags::empty(), "a.txt")
            .map(|h| h == ha)
            .unwrap_or(false)
    );
    println!(
        "hash-at link: nofollow==a {} follow==a {}",
        at(PathFlags::empty(), "link")
            .map(|h| h == ha)
            .unwrap_or(false),
        at(PathFlags::SYMLINK_FOLLOW, "link")
            .map(|h| h == ha)
            .unwrap_or(false)
    );
    for p in ["missing", "../outside.txt", "escape", "/tmp", "a.txt/"] {
        println!(
            "hash-at {p:?}: {:?} / {:?}",
            at(PathFlags::empty(), p).map(|_| ()).map_err(|e| e.name()),
            at(PathFlags::SYMLINK_FOLLOW, p)
                .map(|_| ())
                .map_err(|e| e.name())
        );
    }
    println!(
        "hash-at on file: {:?}",
        a.metadata_hash_at(PathFlags::empty(), "x")
            .map(|_| ())
            .map_err(|e| e.name())
    );
    println!(
        "root hash == dot hash: {}",
        root.metadata_hash().ok().map(hv) == dot.metadata_hash().ok().map(hv)
    );
    println!("done");
}
