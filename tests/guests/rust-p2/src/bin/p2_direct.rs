//! Interfaces std does not reach, through the `wasip2` crate: the
//! terminal-* interfaces, insecure random, `wasi:cli/environment`,
//! filesystem advise, sync, sync-data, metadata-hash(-at), set-times and
//! stat, and `output-stream.splice` from a file into stdout. Runs with the
//! working directory preopened as `.`.
use wasip2::cli::{environment, stderr, stdin, stdout, terminal_stderr, terminal_stdin, terminal_stdout};
use wasip2::filesystem::preopens;
use wasip2::filesystem::types::{
    Advice, Datetime, DescriptorFlags, NewTimestamp, OpenFlags, PathFlags,
};
use wasip2::io::streams::StreamError;
use wasip2::random::{insecure, insecure_seed};

fn main() {
    println!("terminal stdin: {}", terminal_stdin::get_terminal_stdin().is_some());
    println!("terminal stdout: {}", terminal_stdout::get_terminal_stdout().is_some());
    println!("terminal stderr: {}", terminal_stderr::get_terminal_stderr().is_some());
    println!("insecure bytes: {}", insecure::get_insecure_random_bytes(16).len());
    let _ = insecure::get_insecure_random_u64();
    let _ = insecure_seed::insecure_seed();
    println!("arguments: {:?}", environment::get_arguments());
    println!("environment: {:?}", environment::get_environment());
    println!("initial cwd: {:?}", environment::initial_cwd());

    let (dir, name) = preopens::get_directories().into_iter().next().expect("a preopen");
    println!("preopen {name:?}");
    let rw = DescriptorFlags::READ | DescriptorFlags::WRITE;
    let file = dir
        .open_at(PathFlags::empty(), "f.txt", OpenFlags::CREATE, rw)
        .expect("create f.txt");
    let other = dir
        .open_at(PathFlags::empty(), "g.txt", OpenFlags::CREATE, rw)
        .expect("create g.txt");
    {
        let out = file.write_via_stream(0).expect("write stream");
        println!("check-write > 0: {}", out.check_write().map(|n| n > 0).unwrap_or(false));
        out.blocking_write_and_flush(b"spliced from a file\n").expect("write");
        out.blocking_write_and_flush(b"").expect("empty write");
    }
    println!("advise sequential: {:?}", file.advise(0, 20, Advice::Sequential));
    println!("advise dont-need: {:?}", file.advise(0, 0, Advice::DontNeed));
    println!("sync-data: {:?}", file.sync_data());
    println!("sync: {:?}", file.sync());
    println!("get-flags: {:?}", file.get_flags());
    println!("get-type: {:?}", file.get_type());
    let hash = |h: wasip2::filesystem::types::MetadataHashValue| (h.lower, h.upper);
    let h1 = hash(file.metadata_hash().expect("metadata-hash"));
    let h2 = hash(dir.metadata_hash_at(PathFlags::SYMLINK_FOLLOW, "f.txt").expect("metadata-hash-at"));
    let h3 = hash(other.metadata_hash().expect("metadata-hash of g"));
    println!("metadata-hash equals metadata-hash-at: {}", h1 == h2);
    println!("another file hashes differently: {}", h1 != h3);
    println!("is-same-object: {} {}", file.is_same_object(&file), file.is_same_object(&other));
    let when = Datetime { seconds: 1_300_000_000, nanoseconds: 789 };
    println!("set-times: {:?}", file.set_times(NewTimestamp::NoChange, NewTimestamp::Timestamp(when)));
    let st = file.stat().expect("stat");
    println!(
        "stat: type {:?} links {} size {} mtime {:?}",
        st.type_, st.link_count, st.size, st.data_modification_timestamp
    );
    println!("set-size 8: {:?}", other.set_size(8));
    println!("g size: {:?}", other.stat().map(|s| s.size));
    println!("read g: {:?}", other.read(100, 0));

    let input = file.read_via_stream(0).expect("read stream");
    let out = stdout::get_stdout();
    let n = out.blocking_splice(&input, 1000).expect("blocking-splice");
    println!("blocking-splice moved {n} bytes");
    match out.blocking_splice(&input, 1000) {
        Err(StreamError::Closed) => println!("then the input is closed"),
        other => println!("then: {:?}", other.map_err(|_| "an error")),
    }
    let input = file.read_via_stream(8).expect("read stream at 8");
    input.subscribe().block();
    let n = out.splice(&input, 4).expect("splice");
    out.blocking_flush().expect("flush");
    println!("\nsplice of 4 from offset 8 moved {n}");
    let err = stderr::get_stderr();
    err.blocking_write_and_flush(b"to stderr directly\n").expect("stderr");
    let _ = stdin::get_stdin();
    println!("read-directory: {:?}", {
        let entries = dir.read_directory().expect("read-directory");
        let mut names = Vec::new();
        while let Ok(Some(e)) = entries.read_directory_entry() {
            names.push(format!("{} {:?}", e.name, e.type_));
        }
        names.sort();
        names
    });
}
