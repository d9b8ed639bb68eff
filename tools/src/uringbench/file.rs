//! `uringbench file`: fio-like reads or writes of one block size at random
//! or sequential offsets, with a fixed number of operations in flight.
//!
//! One client, written once against `ringwasm-reactor`'s `Driver`: `qd`
//! tasks each issue their next `Read`/`Write` op as soon as the previous
//! one completes. On io_uring that keeps `qd` ops in flight, entering the
//! kernel in batches; on the readiness fallback regular files have no
//! readiness, so each op is a direct `pread(2)`/`pwrite(2)` on the
//! calling thread (what the fallback reactor does for guests too) and
//! `--qd` only interleaves the tasks.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt as _;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::ValueEnum;

use super::report::{Errors, Latencies, Report};
use super::{BackendKind, FileArgs, backend_name};

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

/// A kernel floor (`--bare`): see [`ringwasm_reactor::floor`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Bare {
    /// `pread(2)` in a loop, what the fallback does.
    Pread,
    /// `preadv2(RWF_NOWAIT)` in a loop, the io_uring backend's page-cache
    /// attempt; a miss counts as an error.
    Nowait,
    /// io_uring reads, `--qd` in flight, batched.
    Uring,
}

/// Runs a kernel floor (`--bare`): Linux only.
///
/// # Errors
///
/// Always, saying so.
#[cfg(not(target_os = "linux"))]
pub fn run_bare(_args: &FileArgs) -> anyhow::Result<Report> {
    bail!("--bare measures the Linux kernel's read paths (pread, RWF_NOWAIT, io_uring): Linux only")
}

/// Runs a kernel floor (`--bare`): the same random reads with no runtime.
///
/// # Errors
///
/// When the parameters are inconsistent, or the file cannot be created,
/// sized or opened, or the ring cannot be set up.
#[cfg(target_os = "linux")]
pub fn run_bare(args: &FileArgs) -> anyhow::Result<Report> {
    use ringwasm_reactor::floor::{self, Floor};
    let Some(bare) = args.bare else {
        bail!("run_bare needs --bare");
    };
    if args.op != FileOp::Read || args.pattern != Pattern::Rand {
        bail!("--bare measures random reads only (--op read --pattern rand)");
    }
    if args.bs == 0 || args.size < args.bs || args.qd == 0 {
        bail!(
            "--bs {} must be non-zero and at most --size {}, and --qd at least 1",
            args.bs,
            args.size
        );
    }
    prepare(args)?;
    let file = std::fs::File::open(&args.path)
        .with_context(|| format!("opening {}", args.path.display()))?;
    let bs = usize::try_from(args.bs).context("--bs does not fit in memory")?;
    let (kind, io) = match bare {
        Bare::Pread => (Floor::Pread, "bare pread"),
        Bare::Nowait => (Floor::Nowait, "bare preadv2(RWF_NOWAIT)"),
        Bare::Uring => (Floor::Uring, "bare io_uring"),
    };
    let r = floor::run(kind, &file, bs, args.size / args.bs, args.qd, args.duration)
        .with_context(|| format!("running the {io} floor"))?;
    Ok(Report {
        mode: "file",
        io,
        ops: r.ops,
        bytes: r.ops * args.bs,
        elapsed: r.elapsed,
        errors: Errors {
            read: r.errors,
            ..Errors::default()
        },
        latencies: Latencies::new(),
    })
}

/// Runs the file benchmark.
///
/// # Errors
///
/// When the parameters are inconsistent, or the file cannot be created,
/// sized or opened.
pub fn run(args: &FileArgs, io: BackendKind) -> anyhow::Result<Report> {
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
    if args.fixed_bufs && args.op != FileOp::Read {
        bail!("--fixed-bufs applies to reads only");
    }
    if args.fixed_bufs && args.qd > usize::from(u16::MAX) {
        bail!("--fixed-bufs allows at most {} in flight", u16::MAX);
    }
    prepare(args)?;
    let blocks = args.size / bs;
    let mut opts = OpenOptions::new();
    opts.read(true).write(args.op == FileOp::Write);
    if args.direct {
        #[cfg(target_os = "linux")]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, libc::O_DIRECT);
        #[cfg(not(target_os = "linux"))]
        bail!("--direct needs O_DIRECT, which only Linux has");
    }
    let file = opts
        .open(&args.path)
        .with_context(|| format!("opening {}", args.path.display()))?;
    let start = Instant::now();
    let end = start + args.duration;
    let results = [tasks::run(io, args, file, blocks, end)?];
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
        io: backend_name(io),
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

/// The client: `qd` tasks on one driver, each issuing its next
/// `Read`/`Write` op as soon as the previous one completes. The file is
/// registered with the ring unless `--plain-fd`; with `--fixed-bufs` each
/// task owns one registered buffer and issues `ReadFixed`.
mod tasks {
    use std::cell::RefCell;
    use std::fs::File;
    use std::os::fd::AsRawFd as _;
    use std::rc::Rc;
    use std::time::Instant;

    use anyhow::Context as _;
    use ringwasm_reactor::op::{Read, ReadFixed, Target, Write};
    use ringwasm_reactor::{AlignedBuf, Driver, FixedBuf};

    use super::{BackendKind, FileArgs, FileOp, Latencies, Pattern};
    use crate::uringbench::thread_driver;

    struct Shared {
        lat: Latencies,
        ops: u64,
        errs: u64,
        next_seq: u64,
    }

    /// A task's buffer: plain (page-aligned, so it also serves `O_DIRECT`)
    /// or registered.
    enum Buf {
        Plain(AlignedBuf),
        Fixed(FixedBuf),
    }

    /// The driver for this run: the fallback in the `--fallback-files` mode
    /// when one is given, else the backend `kind` as `--io` chose it.
    fn driver(kind: BackendKind, args: &FileArgs) -> anyhow::Result<Driver> {
        match (kind, args.fallback_files) {
            (BackendKind::Epoll, Some(mode)) => ringwasm_fallback_epoll::epoll_driver_with(mode)
                .with_context(|| format!("setting up the epoll backend with file mode {mode}")),
            _ => Ok(thread_driver(kind)?),
        }
    }

    /// Runs until `end`; returns latencies, completed ops and errors.
    pub(super) fn run(
        kind: BackendKind,
        args: &FileArgs,
        file: File,
        blocks: u64,
        end: Instant,
    ) -> anyhow::Result<(Latencies, u64, u64)> {
        let driver = driver(kind, args)?;
        let file = Rc::new(file);
        let fd = file.as_raw_fd();
        let target = if args.plain_fd {
            Target::Fd(fd)
        } else {
            let fixed = driver
                .register_files(&[fd])
                .context("registering the file with the ring")?;
            fixed.first().map_or(Target::Fd(fd), |&f| Target::Fixed(f))
        };
        let (bs, op, pattern) = (args.bs, args.op, args.pattern);
        // The page-cache attempt would wait for the device on `O_DIRECT`.
        let cached = !args.direct && !args.ring_only;
        let bs_len = usize::try_from(bs).context("--bs does not fit in memory")?;
        let mut bufs: Vec<Buf> = if args.fixed_bufs {
            let count = u16::try_from(args.qd).context("--qd too large for --fixed-bufs")?;
            driver
                .register_buffers(count, bs_len)
                .context("registering buffers (locked-memory limit?)")?
                .into_iter()
                .map(Buf::Fixed)
                .collect()
        } else {
            (0..args.qd)
                .map(|_| Buf::Plain(AlignedBuf::new(bs_len)))
                .collect()
        };
        let shared = Rc::new(RefCell::new(Shared {
            lat: Latencies::new(),
            ops: 0,
            errs: 0,
            next_seq: 0,
        }));
        driver.block_on(async {
            let handles: Vec<_> = (0..args.qd as u64)
                .zip(bufs.drain(..))
                .map(|(w, mut buf)| {
                    let (d, shared) = (driver.clone(), Rc::clone(&shared));
                    let file = Rc::clone(&file);
                    ringwasm_reactor::spawn(async move {
                        // Keep the file open as long as any task runs.
                        let _file = file;
                        if let Buf::Plain(b) = &mut buf {
                            b.as_mut_slice().fill(0x5a);
                        }
                        let mut rng = (w + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
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
                            let res;
                            (res, buf) = match (op, buf) {
                                (FileOp::Read, Buf::Plain(b)) => {
                                    let op = Read::new(target, b).offset(off);
                                    let op = if cached { op.cached_first() } else { op };
                                    let (r, b) = d.submit(op).await;
                                    (r, Buf::Plain(b))
                                }
                                (FileOp::Read, Buf::Fixed(b)) => {
                                    let op = ReadFixed::new(target, b).offset(off);
                                    let op = if cached { op.cached_first() } else { op };
                                    let (r, b) = d.submit(op).await;
                                    (r, Buf::Fixed(b))
                                }
                                (FileOp::Write, Buf::Plain(b)) => {
                                    let (r, b) = d.submit(Write::new(target, b).offset(off)).await;
                                    (r, Buf::Plain(b))
                                }
                                (FileOp::Write, Buf::Fixed(b)) => {
                                    // Rejected by `run` before any task starts.
                                    (
                                        Err(std::io::Error::other("fixed-buffer write")),
                                        Buf::Fixed(b),
                                    )
                                }
                            };
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
