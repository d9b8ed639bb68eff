//! Files in the preopened working directory (`--dir .`): create, write,
//! append, seek, read, stat, set times, rename, read a directory, unlink,
//! mkdir, symlink (through the `wasip2` crate: std has no `symlink` on
//! this target), readlink, hard links, truncation, and the errors of each.
use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::{Duration, UNIX_EPOCH};

use wasip2::filesystem::{preopens, types::Descriptor};

fn kind<T>(r: std::io::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("{:?}", e.kind()),
    }
}

fn preopen(name: &str) -> Descriptor {
    preopens::get_directories()
        .into_iter()
        .find_map(|(d, n)| (n == name).then_some(d))
        .expect("the preopen is there")
}

fn main() {
    println!("mkdir d: {}", kind(fs::create_dir("d")));
    println!("mkdir d again: {}", kind(fs::create_dir("d")));
    println!("mkdir -p d/e/f: {}", kind(fs::create_dir_all("d/e/f")));
    fs::write("d/a.txt", "hello").unwrap();
    let mut f = OpenOptions::new().append(true).open("d/a.txt").unwrap();
    f.write_all(b" world\n").unwrap();
    drop(f);
    println!("a.txt: {:?}", fs::read_to_string("d/a.txt").unwrap());

    let mut f = OpenOptions::new().read(true).write(true).open("d/a.txt").unwrap();
    f.seek(SeekFrom::Start(6)).unwrap();
    let mut word = [0u8; 5];
    f.read_exact(&mut word).unwrap();
    println!("at 6: {:?}", String::from_utf8_lossy(&word));
    println!("seek end -3: {}", f.seek(SeekFrom::End(-3)).unwrap());
    println!("seek current +1: {}", f.seek(SeekFrom::Current(1)).unwrap());
    f.seek(SeekFrom::Start(20)).unwrap();
    f.write_all(b"tail").unwrap();
    println!("seek before 0: {}", kind(f.seek(SeekFrom::Current(-100))));
    drop(f);
    println!("after write past end: {:?}", fs::read("d/a.txt").unwrap());

    let m = fs::metadata("d/a.txt").unwrap();
    println!("stat a.txt: len {} file {} dir {}", m.len(), m.is_file(), m.is_dir());
    let m = fs::metadata("d").unwrap();
    println!("stat d: file {} dir {}", m.is_file(), m.is_dir());

    let f = File::options().write(true).open("d/a.txt").unwrap();
    let times = FileTimes::new()
        .set_accessed(UNIX_EPOCH + Duration::new(1_000_000_000, 123_000_000))
        .set_modified(UNIX_EPOCH + Duration::new(1_200_000_000, 456_000_000));
    println!("set_times: {}", kind(f.set_times(times)));
    let m = fs::metadata("d/a.txt").unwrap();
    let since = |t: std::io::Result<std::time::SystemTime>| {
        t.ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
    };
    println!("mtime {:?} atime {:?}", since(m.modified()), since(m.accessed()));
    f.set_len(11).unwrap();
    drop(f);
    println!("after set_len(11): {:?}", fs::read_to_string("d/a.txt").unwrap());

    println!("rename a->b: {}", kind(fs::rename("d/a.txt", "d/b.txt")));
    println!("read a after rename: {}", kind(fs::read("d/a.txt")));
    println!("rename onto dir: {}", kind(fs::rename("d/b.txt", "d/e")));
    println!("create_new b: {}", kind(File::create_new("d/b.txt")));

    let dir = preopen(".");
    println!("symlink d/link -> b.txt: {:?}", dir.symlink_at("b.txt", "d/link"));
    println!("symlink d/dangling -> nowhere: {:?}", dir.symlink_at("nowhere", "d/dangling"));
    println!("readlink d/link: {:?}", fs::read_link("d/link").map_err(|e| e.kind()));
    println!("readlink b.txt: {}", kind(fs::read_link("d/b.txt")));
    println!("read through link: {:?}", fs::read_to_string("d/link").map_err(|e| e.kind()));
    println!("read dangling: {}", kind(fs::read("d/dangling")));
    let lm = fs::symlink_metadata("d/link").unwrap();
    println!("lstat link: symlink {}", lm.file_type().is_symlink());
    println!("hard_link: {}", kind(fs::hard_link("d/b.txt", "d/hard.txt")));

    for i in 0..5 {
        fs::write(format!("d/e/n{i}"), [b'x'; 3]).unwrap();
    }
    let mut names: Vec<String> = fs::read_dir("d")
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            let what = if t.is_dir() {
                "dir"
            } else if t.is_symlink() {
                "symlink"
            } else {
                "file"
            };
            format!("{} {what}", e.file_name().to_string_lossy())
        })
        .collect();
    names.sort();
    println!("readdir d: {names:?}");
    println!("readdir d/e: {} entries", fs::read_dir("d/e").unwrap().count());
    println!("readdir missing: {}", kind(fs::read_dir("nope")));

    println!("remove_dir non-empty: {}", kind(fs::remove_dir("d/e")));
    println!("remove_file dir: {}", kind(fs::remove_file("d/e")));
    println!("remove_file link: {}", kind(fs::remove_file("d/link")));
    println!("b.txt still there: {}", fs::metadata("d/b.txt").is_ok());
    println!("remove_file missing: {}", kind(fs::remove_file("d/missing")));
    println!("remove_dir_all d/e: {}", kind(fs::remove_dir_all("d/e")));
    println!("open missing: {}", kind(File::open("d/missing")));
    println!("open dir for write: {}", kind(OpenOptions::new().write(true).open("d")));
    println!("write file as dir: {}", kind(fs::write("d/b.txt/x", "y")));
    println!("remove_dir_all d: {}", kind(fs::remove_dir_all("d")));
    println!("list .: {} entries", fs::read_dir(".").unwrap().count());
}
