//! Benchmark: N blocking writes of 64 KiB to an `output-stream` on a file
//! (N is the second argument, 100 000 by default; the path the first,
//! `/dev/null` by default, so run with `--dir /dev::/dev`). Each write is
//! `check-write`, `write` and `blocking-flush` until the chunk is out, as
//! `blocking-write-and-flush` allows at most 4096 bytes a call.
use wasip2::filesystem::preopens;
use wasip2::filesystem::types::{DescriptorFlags, OpenFlags, PathFlags};
use wasip2::io::streams::OutputStream;

fn write_all(out: &OutputStream, mut buf: &[u8]) {
    while !buf.is_empty() {
        let room = out.check_write().expect("check-write") as usize;
        if room == 0 {
            out.subscribe().block();
            continue;
        }
        let n = room.min(buf.len());
        out.write(&buf[..n]).expect("write");
        buf = &buf[n..];
    }
    out.blocking_flush().expect("blocking-flush");
}

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "/dev/null".into());
    let n: u64 = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let (dir, rest) = preopens::get_directories()
        .into_iter()
        .find_map(|(d, name)| {
            let rest = path.strip_prefix(name.as_str())?.trim_start_matches('/').to_owned();
            Some((d, rest))
        })
        .expect("a preopen holding the path");
    let file = dir
        .open_at(PathFlags::empty(), &rest, OpenFlags::empty(), DescriptorFlags::WRITE)
        .expect("open for writing");
    let out = file.write_via_stream(0).expect("write-via-stream");
    let chunk = vec![0x5au8; 64 * 1024];
    for _ in 0..n {
        write_all(&out, &chunk);
    }
    println!("{n} writes of 64 KiB");
}
