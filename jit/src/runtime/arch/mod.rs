//! What differs between CPU architectures on the trap and exception paths:
//! the frame layout the walkers read, the throw libcall's entry stub and the
//! jump to a landing pad, and making freshly written code visible to the
//! instruction fetch. One small file per architecture; everything else in
//! the runtime is written once.
//!
//! Reading and writing registers in a signal's `ucontext` is the OS's
//! business (its layout is the OS's), so it lives in [`super::sys`].
//!
//! Both architectures keep Cranelift's frame record (`preserve_frame_pointers`
//! is on): the frame pointer points at `(saved frame pointer, return
//! address)`, and the caller's stack pointer at the call is just above it.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub(crate) use aarch64::{flush_icache, resume, throw_stub};

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub(crate) use x86_64::{flush_icache, resume, throw_stub};

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod unsupported;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) use unsupported::{flush_icache, resume, throw_stub};

/// Where a landing pad resumes: its address and its frame's stack and
/// frame pointers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Resume {
    /// The landing pad.
    pub pc: usize,
    /// The stack pointer of the frame at its call site.
    pub sp: usize,
    /// The frame pointer of the frame.
    pub fp: usize,
}

/// Byte offset from a frame pointer to the saved frame pointer of the
/// caller.
const SAVED_FP: usize = 0;
/// Byte offset from a frame pointer to the return address into the caller.
const RETURN_ADDRESS: usize = 8;
/// Bytes of a frame record: the caller's stack pointer at the call is the
/// frame pointer plus this.
const FRAME_RECORD: usize = 16;

/// Walk the frame records from `fp` within the stack `[low, high)`,
/// innermost first. Calls `visit(return address, caller's frame pointer,
/// caller's stack pointer at the call)` for each caller and stops when it
/// returns `Some`, when a record leaves the stack or when frame pointers
/// stop growing. Async-signal-safe: reads memory, nothing else.
pub(crate) fn walk_frames<T>(
    mut fp: usize,
    low: usize,
    high: usize,
    mut visit: impl FnMut(usize, usize, usize) -> Option<T>,
) -> Option<T> {
    while fp >= low
        && fp.checked_add(FRAME_RECORD).is_some_and(|end| end <= high)
        && fp.is_multiple_of(8)
    {
        let p = fp as *const u8;
        // SAFETY: fp is 8-aligned and the record lies inside the mapped
        // coroutine stack `[low, high)` (checked above).
        let next_fp = unsafe { p.wrapping_add(SAVED_FP).cast::<usize>().read() };
        // SAFETY: as above, the return address one word up.
        let ret = unsafe { p.wrapping_add(RETURN_ADDRESS).cast::<usize>().read() };
        if let Some(t) = visit(ret, next_fp, fp + FRAME_RECORD) {
            return Some(t);
        }
        if next_fp <= fp {
            break;
        }
        fp = next_fp;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake stack of three frame records, innermost first, each
    /// `(saved fp, return address)`.
    fn stack() -> Vec<usize> {
        let mut words = vec![0usize; 12];
        let base = words.as_ptr() as usize;
        // Records at words 0, 4 and 8; the last one ends the chain.
        words[0] = base + 4 * 8;
        words[1] = 0x1001;
        words[4] = base + 8 * 8;
        words[5] = 0x1002;
        words[8] = 0;
        words[9] = 0x1003;
        words
    }

    #[test]
    fn walk_visits_every_record_with_its_callers_sp() {
        let words = stack();
        let base = words.as_ptr() as usize;
        let mut seen = Vec::new();
        let none: Option<()> = walk_frames(base, base, base + words.len() * 8, |ret, fp, sp| {
            seen.push((ret, fp.wrapping_sub(base), sp - base));
            None
        });
        assert!(none.is_none());
        assert_eq!(
            seen,
            vec![
                (0x1001, 32, 16),
                (0x1002, 64, 48),
                (0x1003, 0usize.wrapping_sub(base), 80)
            ]
        );
    }

    #[test]
    fn walk_stops_at_the_stack_bounds_and_when_visit_says_so() {
        let words = stack();
        let base = words.as_ptr() as usize;
        // The second record lies past `high`.
        let mut count = 0;
        walk_frames::<()>(base, base, base + 5 * 8, |_, _, _| {
            count += 1;
            None
        });
        assert_eq!(count, 1);
        // A misaligned frame pointer is no record.
        assert!(walk_frames(base + 4, base, base + 96, |_, _, _| Some(())).is_none());
        let found = walk_frames(base, base, base + 96, |ret, _, _| {
            (ret == 0x1002).then_some(ret)
        });
        assert_eq!(found, Some(0x1002));
    }
}
