//! The kernel's floor for random block reads: the same reads `uringbench
//! file` makes, with no runtime around them (no executor, no futures, no
//! slab, no timing per op), so a benchmark can show how much of a gap
//! between the backends is the kernel's own.
//!
//! Three loops on the calling thread, each over the same offsets:
//!
//! - [`Floor::Pread`]: `pread(2)`, what the fallback reactor does;
//! - [`Floor::Nowait`]: `preadv2(RWF_NOWAIT)`, the page-cache attempt the
//!   io_uring backend makes before queueing a read;
//! - [`Floor::Uring`]: `IORING_OP_READ` on a ring of its own set up as
//!   [`crate::Ring`] is (single issuer, deferred task work), the file
//!   registered, `qd` reads in flight, all completions reaped and as many
//!   reads resubmitted in one `io_uring_enter` (fio's batched io_uring).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::FileExt as _;
use std::time::{Duration, Instant};

use io_uring::{IoUring, opcode, types};

use crate::AlignedBuf;
use crate::op::{CachedRead, read_cached_one};

/// Which floor to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Floor {
    /// `pread(2)` in a loop.
    Pread,
    /// `preadv2(RWF_NOWAIT)` in a loop; a miss counts as an error.
    Nowait,
    /// io_uring with `qd` reads in flight.
    Uring,
}

/// What a floor run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FloorRun {
    /// Reads that returned the whole block.
    pub ops: u64,
    /// Reads that failed, came back short or (for [`Floor::Nowait`]) missed
    /// the page cache.
    pub errors: u64,
    /// How long the loop ran.
    pub elapsed: Duration,
}

/// How many reads run between two looks at the clock.
const CLOCK_EVERY: u64 = 64;

/// Reads `bs`-byte blocks at uniformly random block-aligned offsets among
/// the first `blocks` blocks of `file` until `duration` has passed.
/// [`Floor::Uring`] keeps `qd` reads in flight, each into its own buffer;
/// the loops read into one buffer, as one task on the fallback does.
///
/// # Errors
///
/// `InvalidInput` for a zero `bs`, `blocks` or `qd`; the errors of setting
/// up the ring or registering the file.
pub fn run(
    floor: Floor,
    file: &File,
    bs: usize,
    blocks: u64,
    qd: usize,
    duration: Duration,
) -> io::Result<FloorRun> {
    if bs == 0 || blocks == 0 || qd == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "floor: block size, block count and queue depth must be non-zero",
        ));
    }
    let mut offsets = Offsets::new(blocks, bs as u64);
    let start = Instant::now();
    let mut run = FloorRun::default();
    match floor {
        Floor::Pread | Floor::Nowait => {
            let mut buf = AlignedBuf::new(bs);
            let fd = file.as_raw_fd();
            while start.elapsed() < duration {
                for _ in 0..CLOCK_EVERY {
                    let off = offsets.next_offset();
                    let whole = if floor == Floor::Pread {
                        matches!(file.read_at(buf.as_mut_slice(), off), Ok(n) if n == bs)
                    } else {
                        let ptr = buf.as_mut_slice().as_mut_ptr();
                        matches!(read_cached_one(fd, ptr, bs, off), CachedRead::Done(c) if c.result as usize == bs)
                    };
                    if whole {
                        run.ops += 1;
                    } else {
                        run.errors += 1;
                    }
                }
            }
        }
        Floor::Uring => uring(file, bs, qd, &mut offsets, start + duration, &mut run)?,
    }
    run.elapsed = start.elapsed();
    Ok(run)
}

/// The io_uring loop of [`run`].
fn uring(
    file: &File,
    bs: usize,
    qd: usize,
    offsets: &mut Offsets,
    end: Instant,
    run: &mut FloorRun,
) -> io::Result<()> {
    let entries = u32::try_from(qd.next_power_of_two())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "floor: queue depth too large"))?;
    let mut ring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(entries)
        .or_else(|_| IoUring::new(entries))?;
    ring.submitter().register_files(&[file.as_raw_fd()])?;
    let mut bufs: Vec<AlignedBuf> = (0..qd).map(|_| AlignedBuf::new(bs)).collect();
    let len = u32::try_from(bs)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "floor: block too large"))?;
    let push = |ring: &mut IoUring, i: usize, buf: &mut AlignedBuf, off: u64| {
        let sqe = opcode::Read::new(types::Fixed(0), buf.as_mut_slice().as_mut_ptr(), len)
            .offset(off)
            .build()
            .user_data(i as u64);
        // SAFETY: the SQE points into `bufs[i]`, which lives until this
        // function returns, and no other read targets it until this one's
        // CQE is reaped; the ring has room (at most `qd` SQEs are queued).
        unsafe { ring.submission().push(&sqe) }
            .map_err(|_| io::Error::other("floor: submission queue full"))
    };
    for (i, buf) in bufs.iter_mut().enumerate() {
        push(&mut ring, i, buf, offsets.next_offset())?;
    }
    let mut in_flight = qd;
    let mut done = Vec::with_capacity(qd);
    while in_flight > 0 {
        ring.submit_and_wait(1)?;
        done.clear();
        done.extend(
            ring.completion()
                .map(|c| (c.user_data() as usize, c.result())),
        );
        let more = Instant::now() < end;
        for &(i, res) in &done {
            if usize::try_from(res).is_ok_and(|n| n == bs) {
                run.ops += 1;
            } else {
                run.errors += 1;
            }
            if more {
                push(&mut ring, i, &mut bufs[i], offsets.next_offset())?;
            } else {
                in_flight -= 1;
            }
        }
    }
    Ok(())
}

/// xorshift64 block offsets, the generator `uringbench file` uses.
struct Offsets {
    state: u64,
    blocks: u64,
    bs: u64,
}

impl Offsets {
    const fn new(blocks: u64, bs: u64) -> Self {
        Self {
            state: 0x9e37_79b9_7f4a_7c15,
            blocks,
            bs,
        }
    }

    fn next_offset(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state % self.blocks) * self.bs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_floor_reads_whole_blocks_of_a_cached_file() {
        let path = std::env::temp_dir().join(format!("ringwasm-floor-{}", std::process::id()));
        std::fs::write(&path, vec![7u8; 64 * 1024]).unwrap();
        let file = File::open(&path).unwrap();
        for floor in [Floor::Pread, Floor::Nowait, Floor::Uring] {
            let r = run(floor, &file, 4096, 16, 4, Duration::from_millis(20)).unwrap();
            assert!(r.ops > 0, "{floor:?}: no reads");
            assert_eq!(r.errors, 0, "{floor:?}");
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn zero_sizes_are_refused() {
        let file = File::open("/dev/null").unwrap();
        let e = run(Floor::Pread, &file, 0, 1, 1, Duration::ZERO).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
