//! What a real program does with files: Rust's `std::fs` on
//! `wasm32-wasip2`, through wasi-libc's use of `wasi:filesystem` (streams
//! made and dropped around seeks, `stat` for metadata, directory streams,
//! chunked writes). One line per step, the same under any correct host.
//! Same fixture as `fs_api`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};

fn show<T: std::fmt::Debug>(what: &str, r: io::Result<T>) {
    match r {
        Ok(v) => println!("{what}: {v:?}"),
        Err(e) => println!("{what}: error {:?}", e.kind()),
    }
}

/// A cheap order-sensitive checksum.
fn sum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn list(dir: &str) -> io::Result<Vec<String>> {
    let mut v = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let ft = e.file_type()?;
        let kind = if ft.is_dir() {
            "dir"
        } else if ft.is_symlink() {
            "link"
        } else {
            "file"
        };
        v.push(format!("{}:{kind}", e.file_name().to_string_lossy()));
    }
    v.sort();
    Ok(v)
}

fn main() {
    show("read a.txt", fs::read_to_string("a.txt"));
    show("read sub/b.txt", fs::read_to_string("sub/b.txt"));
    show("read via link", fs::read_to_string("link"));
    show("read via dirlink", fs::read_to_string("dirlink/b.txt"));
    show("read missing", fs::read_to_string("missing"));
    show("read escape", fs::read_to_string("escape"));
    show("read ../outside.txt", fs::read_to_string("../outside.txt"));
    show("read absolute outside", fs::read_to_string("/etc/passwd"));
    show("read loop", fs::read_to_string("loop1"));
    show("read dir", fs::read_to_string("sub"));
    show("list .", list("."));
    show("list /other", list("/other"));

    show("write new.txt", fs::write("new.txt", b"first\n"));
    show(
        "append",
        (|| {
            let mut f = OpenOptions::new().append(true).open("new.txt")?;
            f.write_all(b"second\n")?;
            f.write_all(b"third\n")
        })(),
    );
    show("read new.txt", fs::read_to_string("new.txt"));
    show(
        "lines",
        (|| {
            let f = File::open("new.txt")?;
            BufReader::new(f).lines().collect::<io::Result<Vec<_>>>()
        })(),
    );
    show(
        "seek and read",
        (|| {
            let mut f = File::open("new.txt")?;
            let mut buf = [0u8; 5];
            f.seek(SeekFrom::Start(6))?;
            f.read_exact(&mut buf)?;
            let first = String::from_utf8_lossy(&buf).into_owned();
            f.seek(SeekFrom::Current(-3))?;
            f.read_exact(&mut buf)?;
            let second = String::from_utf8_lossy(&buf).into_owned();
            let end = f.seek(SeekFrom::End(0))?;
            let n = f.read(&mut buf)?;
            Ok((first, second, end, n))
        })(),
    );
    show(
        "overwrite in place",
        (|| {
            let mut f = OpenOptions::new().read(true).write(true).open("new.txt")?;
            f.seek(SeekFrom::Start(2))?;
            f.write_all(b"XX")?;
            f.seek(SeekFrom::Start(0))?;
            let mut s = String::new();
            f.read_to_string(&mut s)?;
            Ok(s)
        })(),
    );
    show(
        "set_len",
        (|| {
            let f = OpenOptions::new().write(true).open("new.txt")?;
            f.set_len(3)?;
            f.sync_all()?;
            f.sync_data()?;
            Ok(fs::metadata("new.txt")?.len())
        })(),
    );
    show("create_new existing", File::create_new("new.txt").map(drop));
    show(
        "truncate via create",
        (|| {
            File::create("new.txt")?;
            Ok(fs::metadata("new.txt")?.len())
        })(),
    );

    // Large enough for many reads and several write permits.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    show("write big", fs::write("big.bin", &big));
    show(
        "read big",
        fs::read("big.bin").map(|b| (b.len(), sum(&b) == sum(&big))),
    );
    show("copy big", fs::copy("big.bin", "/other/big-copy.bin"));
    show(
        "copied",
        fs::read("/other/big-copy.bin").map(|b| sum(&b) == sum(&big)),
    );
    show(
        "metadata big",
        fs::metadata("big.bin").map(|m| (m.len(), m.is_file())),
    );

    show(
        "metadata dir",
        fs::metadata("sub").map(|m| (m.is_dir(), m.is_file())),
    );
    show(
        "symlink_metadata link",
        fs::symlink_metadata("link").map(|m| m.is_symlink()),
    );
    show(
        "metadata link",
        fs::metadata("link").map(|m| (m.is_symlink(), m.len())),
    );
    show("metadata escape", fs::metadata("escape").map(|m| m.len()));
    show(
        "symlink_metadata escape",
        fs::symlink_metadata("escape").map(|m| m.is_symlink()),
    );
    show("read_link", fs::read_link("link"));
    show("read_link abs", fs::read_link("abs"));
    show("read_link file", fs::read_link("a.txt"));
    show(
        "modified",
        fs::metadata("a.txt")
            .and_then(|m| m.modified())
            .map(|t| t > std::time::UNIX_EPOCH),
    );
    show(
        "set mtime",
        (|| {
            let f = File::options().write(true).open("new.txt")?;
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_234_567_890);
            f.set_times(fs::FileTimes::new().set_modified(t))?;
            Ok(fs::metadata("new.txt")?.modified()? == t)
        })(),
    );

    show("create_dir", fs::create_dir("d1"));
    show("create_dir again", fs::create_dir("d1"));
    show("create_dir_all", fs::create_dir_all("d1/d2/d3"));
    show("write deep", fs::write("d1/d2/d3/f", b"deep"));
    show("remove_dir non-empty", fs::remove_dir("d1"));
    show("remove_file dir", fs::remove_file("d1"));
    show("rename into", fs::rename("new.txt", "d1/d2/moved.txt"));
    show("rename missing", fs::rename("new.txt", "x"));
    show(
        "rename across preopens",
        fs::rename("d1/d2/moved.txt", "/other/moved.txt"),
    );
    show("hard_link", fs::hard_link("/other/moved.txt", "hl.txt"));
    show("hard_link count", fs::metadata("hl.txt").map(|m| m.len()));
    // std's `symlink_path` is unstable: the call it makes, directly.
    let symlink = |target: &str, path: &str| {
        let pre = wasip2::filesystem::preopens::get_directories();
        let (root, _) = pre.iter().find(|(_, n)| n == ".").expect("the . preopen");
        root.symlink_at(target, path).map_err(|e| e.name())
    };
    println!("symlink: {:?}", symlink("a.txt", "sl"));
    println!("symlink absolute: {:?}", symlink("/etc/passwd", "sl2"));
    show("read via new symlink", fs::read_to_string("sl"));
    show("list d1/d2", list("d1/d2"));
    show("remove_dir_all", fs::remove_dir_all("d1"));
    show("d1 gone", fs::metadata("d1").map(drop));
    for f in [
        "sl",
        "hl.txt",
        "big.bin",
        "/other/moved.txt",
        "/other/big-copy.bin",
        "missing",
    ] {
        show(&format!("remove {f}"), fs::remove_file(f));
    }
    show("create outside", fs::write("../new-outside.txt", b"x"));
    show("create via escape link dir", fs::write("escape/x", b"x"));
    show(
        "create_dir outside",
        fs::create_dir("/tmp/ringwasm-p2-should-not-exist"),
    );
    show("list . after", list("."));
    show("list /other after", list("/other"));
    println!("done");
}
