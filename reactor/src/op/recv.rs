//! `recv(2)`.

use std::io;

use crate::buf::{BufRing, IoBufMut, ProvidedBuf};
use crate::op::{
    CQE_F_BUFFER, Completion, Op, RawOp, Readiness, Target, complete_into, cvt, len32, sealed,
};

/// Equivalent to `recv(2)`: resolves to the byte count (0 at end of stream)
/// and the buffer.
#[derive(Debug)]
pub struct Recv<B> {
    fd: Target,
    buf: B,
    flags: i32,
}

impl<B: IoBufMut> Recv<B> {
    /// Receives into `buf` (up to its capacity) from socket `fd`.
    pub fn new(fd: impl Into<Target>, buf: B) -> Self {
        Self {
            fd: fd.into(),
            buf,
            flags: 0,
        }
    }

    /// `MSG_*` flags (`MSG_PEEK`, `MSG_WAITALL`, ...).
    #[must_use]
    pub const fn flags(mut self, flags: i32) -> Self {
        self.flags = flags;
        self
    }
}

impl<B> sealed::Sealed for Recv<B> {}

// SAFETY: the SQE points only into `buf` (IoBufMut contract).
unsafe impl<B: IoBufMut> RawOp for Recv<B> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let (fd, flags) = self.fd.sqe_fd();
        let len = len32(self.buf.bytes_total());
        io_uring::opcode::Recv::new(fd, self.buf.stable_mut_ptr(), len)
            .flags(self.flags)
            .build()
            .flags(flags)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Readable(self.fd.raw())
    }

    fn attempt(&mut self) -> io::Result<u32> {
        let len = len32(self.buf.bytes_total()) as usize;
        // SAFETY: `buf` has `len` writable bytes (IoBufMut contract).
        cvt(unsafe {
            libc::recv(
                self.fd.raw(),
                self.buf.stable_mut_ptr().cast(),
                len,
                self.flags | libc::MSG_DONTWAIT,
            )
        } as libc::c_long)
    }
}

impl<B: IoBufMut> Op for Recv<B> {
    const CODE: u8 = 27;
    const NAME: &'static str = "IORING_OP_RECV";
    type Output = (io::Result<usize>, B);

    fn complete(self, c: Completion) -> Self::Output {
        complete_into(c, self.buf)
    }
}

/// Equivalent to `recv(2)` into a buffer the kernel picks from a
/// [`BufRing`] when data arrives (`IOSQE_BUFFER_SELECT`): a waiting socket
/// pins no memory. Resolves to the filled buffer, which returns to the ring
/// when dropped; an empty one means end of stream. `ENOBUFS` when the ring
/// is exhausted.
#[derive(Debug)]
pub struct RecvProvided {
    fd: Target,
    ring: BufRing,
    taken: Option<u16>,
    flags: i32,
}

impl RecvProvided {
    /// Receives from socket `fd` into a buffer of `ring`.
    pub fn new(fd: impl Into<Target>, ring: &BufRing) -> Self {
        Self {
            fd: fd.into(),
            ring: ring.clone(),
            taken: None,
            flags: 0,
        }
    }

    /// `MSG_*` flags.
    #[must_use]
    pub const fn flags(mut self, flags: i32) -> Self {
        self.flags = flags;
        self
    }

    fn picked(&mut self, c: Completion) -> Option<u16> {
        if c.flags & CQE_F_BUFFER != 0 {
            Some((c.flags >> 16) as u16)
        } else {
            self.taken.take()
        }
    }
}

impl sealed::Sealed for RecvProvided {}

// SAFETY: the SQE carries no buffer pointer; the kernel picks a buffer of the
// registered ring, which the backend keeps alive.
unsafe impl RawOp for RecvProvided {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    #[cfg(target_os = "linux")]
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        let (fd, flags) = self.fd.sqe_fd();
        io_uring::opcode::Recv::new(fd, std::ptr::null_mut(), len32(self.ring.buf_len()))
            .buf_group(self.ring.group())
            .flags(self.flags)
            .build()
            .flags(flags | io_uring::squeue::Flags::BUFFER_SELECT)
    }

    fn readiness(&self) -> Readiness {
        Readiness::Readable(self.fd.raw())
    }

    fn attempt(&mut self) -> io::Result<u32> {
        let bid = self
            .ring
            .take()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOBUFS))?;
        let len = self.ring.buf_len();
        // SAFETY: buffer `bid` was taken from the free list, so this op owns
        // its `buf_len` bytes.
        let r = cvt(unsafe {
            libc::recv(
                self.fd.raw(),
                self.ring.buf_ptr(bid).cast(),
                len,
                self.flags | libc::MSG_DONTWAIT,
            )
        } as libc::c_long);
        match r {
            Ok(n) if n > 0 => self.taken = Some(bid),
            _ => self.ring.provide(bid),
        }
        r
    }

    fn abandoned(&mut self, c: Completion) {
        if let Some(bid) = self.picked(c) {
            self.ring.provide(bid);
        }
    }
}

impl Op for RecvProvided {
    const CODE: u8 = 27;
    const NAME: &'static str = "IORING_OP_RECV (buffer select)";
    type Output = io::Result<ProvidedBuf>;

    fn complete(mut self, c: Completion) -> Self::Output {
        let bid = self.picked(c);
        match c.into_result() {
            Ok(n) => Ok(ProvidedBuf::new(self.ring.clone(), bid, n as usize)),
            Err(e) => {
                if let Some(bid) = bid {
                    self.ring.provide(bid);
                }
                Err(e)
            }
        }
    }
}
