//! `uringbench file`: fio-like reads or writes of one block size at random
//! or sequential offsets, with a fixed number of operations in flight.
//!
//! On the readiness fallback, regular files have no readiness: like the
//! fallback reactor, it keeps `qd` operations in flight with a pool of
//! `qd` blocking workers issuing `pread(2)`/`pwrite(2)`.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::ValueEnum;

use super::report::{Errors, Latencies, Report};
use super::{FileArgs, IoChoice};

/// Alignment `O_DIRECT` needs for buffers, offsets and sizes.
const DIRECT_ALIGN: usize = 4096;

/// Offset pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Pattern {
    /// Uniformly random block-aligned offsets.
    Rand,
    /// Consecutive blocks, wrapping at the end of the file.
    Seq,
}

/// Operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FileOp {
    /// `pread`.
    Read,
    /// `pwrite`.
    Write,
}

/// Runs the file benchmark.
///
/// # Errors
///
/// When the parameters are inconsistent, or the file cannot be created,
/// sized or opened.
pub fn run(args: &FileArgs, io: IoChoice) -> anyhow::Result<Report> {
    let bs = args.bs;
    if bs == 0 || args.size < bs {
        bail!(
            "--bs {bs} must be non-zero and at most --size {}",
            args.size
        );
    }
    if args.qd == 0 {
        bail!("--qd must be at least 1");
    }
    if args.direct && !bs.is_multiple_of(DIRECT_ALIGN as u64) {
        bail!("--direct needs --bs to be a multiple of {DIRECT_ALIGN}");
    }
    prepare(args)?;
    let blocks = args.size / bs;
    let mut opts = OpenOptions::new();
    opts.read(true).write(args.op == FileOp::Write);
    if args.direct {
        opts.custom_flags(libc::O_DIRECT);
    }
    let file = opts
        .open(&args.path)
        .with_context(|| format!("opening {}", args.path.display()))?;
    let next_seq = AtomicU64::new(0);
    let start = Instant::now();
    let end = start + args.duration;
    let results: Vec<(Latencies, u64, u64)> = if io == IoChoice::Uring {
        vec![uring::run(args, file, blocks, end)?]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..args.qd)
                .map(|w| {
                    let (file, next_seq) = (&file, &next_seq);
                    s.spawn(move || worker(args, file, blocks, next_seq, w as u64, end))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| (Latencies::new(), 0, 1)))
                .collect()
        })
    };
    let elapsed = start.elapsed();
    let mut latencies = Latencies::new();
    let (mut ops, mut errors) = (0, Errors::default());
    for (l, n, e) in &results {
        latencies.merge(l);
        ops += n;
        match args.op {
            FileOp::Read => errors.read += e,
            FileOp::Write => errors.write += e,
        }
    }
    Ok(Report {
        mode: "file",
        io: io.name(),
        ops,
        bytes: ops * bs,
        elapsed,
        errors,
        latencies,
    })
}

/// Creates the file or extends it to `--size` with non-zero data, so reads
/// hit real blocks rather than holes.
fn prepare(args: &FileArgs) -> anyhow::Result<()> {
    let have = std::fs::metadata(&args.path).map(|m| m.len()).unwrap_or(0);
    if have >= args.size {
        return Ok(());
    }
    let f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&args.path)
        .with_context(|| format!("creating {}", args.path.display()))?;
    let chunk = vec![0xa5u8; 1 << 20];
    let mut off = have - have % chunk.len() as u64;
    while off < args.size {
        let n = (args.size - off).min(chunk.len() as u64) as usize;
        f.write_all_at(&chunk[..n], off)
            .with_context(|| format!("filling {} at offset {off}", args.path.display()))?;
        off += n as u64;
    }
    f.sync_all()
        .with_context(|| format!("syncing {}", args.path.display()))?;
    Ok(())
}

/// One in-flight slot: issues operations back to back until `end`.
fn worker(
    args: &FileArgs,
    file: &File,
    blocks: u64,
    next_seq: &AtomicU64,
    seed: u64,
    end: Instant,
) -> (Latencies, u64, u64) {
    let bs = args.bs as usize;
    let mut storage = vec![0x5au8; bs + DIRECT_ALIGN];
    let skip = storage
        .as_ptr()
        .align_offset(DIRECT_ALIGN)
        .min(DIRECT_ALIGN);
    let buf = &mut storage[skip..skip + bs];
    let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut lat = Latencies::new();
    let (mut ops, mut errs) = (0u64, 0u64);
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let block = match args.pattern {
            Pattern::Seq => next_seq.fetch_add(1, Ordering::Relaxed) % blocks,
            Pattern::Rand => {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng % blocks
            }
        };
        let off = block * args.bs;
        let res = match args.op {
            FileOp::Read => file.read_exact_at(buf, off),
            FileOp::Write => file.write_all_at(buf, off),
        };
        match res {
            Ok(()) => {
                lat.record(now.elapsed());
                ops += 1;
            }
            Err(_) => {
                errs += 1;
                if errs > 1000 && ops == 0 {
                    break;
                }
            }
        }
    }
    (lat, ops, errs)
}

/// The same benchmark on one ring: `qd` tasks, each issuing its next
/// `Read`/`Write` op as soon as the previous one completes, so `qd` ops are
/// in flight and enter the kernel in batches.
mod uring {
    use std::cell::RefCell;
    use std::fs::File;
    use std::os::fd::AsRawFd as _;
    use std::rc::Rc;
    use std::time::Instant;

    use anyhow::Context as _;
    use ringwasm_reactor::AlignedBuf;
    use ringwasm_reactor::op::{Read, Write};

    use super::{FileArgs, FileOp, Latencies, Pattern};

    struct Shared {
        lat: Latencies,
        ops: u64,
        errs: u64,
        next_seq: u64,
    }

    /// Runs until `end`; returns latencies, completed ops and errors.
    pub(super) fn run(
        args: &FileArgs,
        file: File,
        blocks: u64,
        end: Instant,
    ) -> anyhow::Result<(Latencies, u64, u64)> {
        let driver = ringwasm_reactor::uring_driver()
            .map_err(|e| anyhow::anyhow!("setting up io_uring: {e}"))?;
        let file = Rc::new(file);
        let shared = Rc::new(RefCell::new(Shared {
            lat: Latencies::new(),
            ops: 0,
            errs: 0,
            next_seq: 0,
        }));
        let (bs, op, pattern) = (args.bs, args.op, args.pattern);
        let bs_len = usize::try_from(bs).context("--bs does not fit in memory")?;
        driver.block_on(async {
            let handles: Vec<_> = (0..args.qd as u64)
                .map(|w| {
                    let (d, file, shared) = (driver.clone(), Rc::clone(&file), Rc::clone(&shared));
                    ringwasm_reactor::spawn(async move {
                        let mut buf = AlignedBuf::new(bs_len);
                        buf.as_mut_slice().fill(0x5a);
                        let mut rng = (w + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                        let fd = file.as_raw_fd();
                        loop {
                            let now = Instant::now();
                            if now >= end {
                                return;
                            }
                            let block = match pattern {
                                Pattern::Seq => {
                                    let mut s = shared.borrow_mut();
                                    s.next_seq += 1;
                                    (s.next_seq - 1) % blocks
                                }
                                Pattern::Rand => {
                                    rng ^= rng << 13;
                                    rng ^= rng >> 7;
                                    rng ^= rng << 17;
                                    rng % blocks
                                }
                            };
                            let off = block * bs;
                            let (res, back) = match op {
                                FileOp::Read => d.submit(Read::new(fd, buf).offset(off)).await,
                                FileOp::Write => d.submit(Write::new(fd, buf).offset(off)).await,
                            };
                            buf = back;
                            let mut s = shared.borrow_mut();
                            match res {
                                Ok(n) if n == bs_len => {
                                    s.lat.record(now.elapsed());
                                    s.ops += 1;
                                }
                                Ok(_) | Err(_) => {
                                    s.errs += 1;
                                    if s.ops == 0 && s.errs > 1000 {
                                        return;
                                    }
                                }
                            }
                        }
                    })
                })
                .collect();
            for h in handles {
                h.await;
            }
        });
        let s = Rc::try_unwrap(shared)
            .map_err(|_| anyhow::anyhow!("a file task outlived the run"))?
            .into_inner();
        Ok((s.lat, s.ops, s.errs))
    }
}
