//! Every way out of the preopened directory must fail: `..`, absolute
//! paths and symlinks pointing out, through std and through
//! `wasi:filesystem` directly. Prints each outcome.
use std::fs;

use wasip2::filesystem::preopens;
use wasip2::filesystem::types::{DescriptorFlags, OpenFlags, PathFlags};

fn kind<T>(r: std::io::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("{:?}", e.kind()),
    }
}

fn main() {
    fs::create_dir("sub").unwrap();
    fs::write("sub/inside", "inside").unwrap();
    println!("std read ../x: {}", kind(fs::read("../x")));
    println!("std read sub/../../x: {}", kind(fs::read("sub/../../x")));
    println!("std read sub/../sub/inside: {}", kind(fs::read("sub/../sub/inside")));
    println!("std write ../escape: {}", kind(fs::write("../escape", "x")));
    println!("std mkdir ../escape-dir: {}", kind(fs::create_dir("../escape-dir")));
    println!("std read /etc/passwd: {}", kind(fs::read("/etc/passwd")));

    let (dir, name) = preopens::get_directories().into_iter().next().expect("a preopen");
    println!("preopen name {name:?}");
    let open = |path: &str, follow: bool| {
        let pf = if follow { PathFlags::SYMLINK_FOLLOW } else { PathFlags::empty() };
        dir.open_at(pf, path, OpenFlags::empty(), DescriptorFlags::READ)
            .map(|_| "ok")
    };
    for path in ["..", "../x", "sub/../..", "/", "/etc/passwd", "sub/inside", "."] {
        println!("open_at {path:?}: {:?}", open(path, true));
    }
    let out = ["..", "../..", "/tmp", "../../..", "inside"];
    for (i, target) in out.iter().enumerate() {
        let link = format!("sub/link{i}");
        println!("symlink {link} -> {target}: {:?}", dir.symlink_at(target, &link));
        println!("  open following: {:?}", open(&link, true));
        println!("  open not following: {:?}", open(&link, false));
        println!("  std read: {}", kind(fs::read(&link)));
    }
    println!("readlink_at ../x: {:?}", dir.readlink_at("../x"));
    println!("stat_at ..: {:?}", dir.stat_at(PathFlags::empty(), "..").map(|s| s.type_));
    println!("rename out: {:?}", dir.rename_at("sub/inside", &dir, "../stolen"));
    println!("link out: {:?}", dir.link_at(PathFlags::empty(), "sub/inside", &dir, "../linked"));
    println!("remove ..: {:?}", dir.remove_directory_at(".."));
    println!("unlink ../x: {:?}", dir.unlink_file_at("../x"));
}
