//! `std::fs` as a program uses it: directories, metadata, renames,
//! symlinks, truncation, seeking, and the errors a missing path gives.
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};

#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    fn path_symlink(old: *const u8, old_len: usize, fd: u32, new: *const u8, new_len: usize)
    -> u16;
}

/// `std::os::wasi::fs::symlink_path` is unstable: the raw call, beneath the
/// preopen `.` (fd 3).
fn symlink(target: &str, link: &str) -> std::io::Result<()> {
    // SAFETY: both pointers are valid for their lengths during the call.
    let e = unsafe { path_symlink(target.as_ptr(), target.len(), 3, link.as_ptr(), link.len()) };
    if e == 0 {
        Ok(())
    } else {
        Err(std::io::Error::from_raw_os_error(i32::from(e)))
    }
}

fn main() -> std::io::Result<()> {
    fs::create_dir_all("work/a/b/c")?;
    fs::create_dir_all("work/a/b/c")?; // idempotent
    for (name, text) in [
        ("work/a/one.txt", "1"),
        ("work/a/two.txt", "22"),
        ("work/a/b/three.txt", "333"),
    ] {
        fs::write(name, text)?;
    }
    let mut names: Vec<_> = fs::read_dir("work/a")?
        .map(|e| {
            let e = e.expect("entry");
            let ft = e.file_type().expect("file_type");
            format!(
                "{} dir={} file={}",
                e.file_name().to_string_lossy(),
                ft.is_dir(),
                ft.is_file()
            )
        })
        .collect();
    names.sort();
    println!("read_dir: {names:?}");

    let md = fs::metadata("work/a/two.txt")?;
    println!(
        "metadata: len={} file={} dir={} readonly={}",
        md.len(),
        md.is_file(),
        md.is_dir(),
        md.permissions().readonly()
    );
    let md = fs::metadata("work/a/b")?;
    println!("metadata dir: file={} dir={}", md.is_file(), md.is_dir());
    let modified = md.modified().expect("mtime");
    println!("mtime after epoch: {}", modified > std::time::UNIX_EPOCH);

    fs::rename("work/a/one.txt", "work/a/b/one.txt")?;
    println!(
        "renamed: old exists={} new={:?}",
        fs::exists("work/a/one.txt")?,
        fs::read_to_string("work/a/b/one.txt")?
    );
    fs::rename("work/a/two.txt", "work/a/b/one.txt")?; // replaces
    println!("replaced: {:?}", fs::read_to_string("work/a/b/one.txt")?);

    symlink("three.txt", "work/a/b/link")?;
    println!("read_link: {:?}", fs::read_link("work/a/b/link")?);
    println!("through link: {:?}", fs::read_to_string("work/a/b/link")?);
    let lmd = fs::symlink_metadata("work/a/b/link")?;
    println!(
        "symlink_metadata: symlink={} file={}",
        lmd.file_type().is_symlink(),
        lmd.is_file()
    );
    println!(
        "metadata via link: file={} len={}",
        fs::metadata("work/a/b/link")?.is_file(),
        fs::metadata("work/a/b/link")?.len()
    );
    symlink("nowhere", "work/dangling")?;
    println!("dangling exists: {}", fs::exists("work/dangling")?);
    match fs::metadata("work/dangling") {
        Ok(_) => println!("dangling metadata: ok"),
        Err(e) => println!("dangling metadata: {:?}", e.kind()),
    }

    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open("work/sized.bin")?;
    f.write_all(b"hello world")?;
    f.set_len(5)?;
    println!("set_len shrink: {}", f.metadata()?.len());
    f.set_len(4096)?;
    println!("set_len grow: {}", f.metadata()?.len());
    f.seek(SeekFrom::Start(1))?;
    let mut buf = [0u8; 4];
    f.read_exact(&mut buf)?;
    println!("seek+read: {:?}", String::from_utf8_lossy(&buf));
    println!("seek end: {}", f.seek(SeekFrom::End(-6))?);
    println!("stream_position: {}", f.stream_position()?);
    f.seek(SeekFrom::Start(4094))?;
    f.write_all(b"END")?;
    println!("after write past end: {}", f.metadata()?.len());
    drop(f);

    let mut f = OpenOptions::new().append(true).open("work/a/b/three.txt")?;
    f.write_all(b"+appended")?;
    drop(f);
    println!("append: {:?}", fs::read_to_string("work/a/b/three.txt")?);

    for (what, r) in [
        ("read missing", fs::read("work/missing").map(|_| ())),
        ("remove_dir non-empty", fs::remove_dir("work/a")),
        ("remove_file dir", fs::remove_file("work/a")),
        ("create_dir existing", fs::create_dir("work/a")),
        ("read_dir file", fs::read_dir("work/sized.bin").map(|_| ())),
        (
            "open dir as file for write",
            OpenOptions::new().write(true).open("work/a").map(|_| ()),
        ),
        (
            "create_new existing",
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open("work/sized.bin")
                .map(|_| ()),
        ),
        ("escape with ..", fs::read("../outside").map(|_| ())),
        ("absolute outside", fs::read("/etc/passwd").map(|_| ())),
    ] {
        match r {
            Ok(()) => println!("{what}: ok"),
            Err(e) => println!("{what}: {:?} / {e}", e.kind()),
        }
    }

    fs::hard_link("work/sized.bin", "work/hard.bin")?;
    println!("hard_link len: {}", fs::metadata("work/hard.bin")?.len());

    fs::remove_dir_all("work/a")?;
    println!("remove_dir_all: exists={}", fs::exists("work/a")?);
    let mut left: Vec<_> = fs::read_dir("work")?
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    println!("left: {left:?}");
    let mut cwd_entries = 0;
    for e in fs::read_dir(".")? {
        e?;
        cwd_entries += 1;
    }
    println!("entries in .: {cwd_entries}");
    let _ = File::open("work/hard.bin")?;
    Ok(())
}
