//! `wasi_snapshot_preview1`: one module per family of functions. Every
//! function takes the instance's [`WasiCtx`](crate::WasiCtx), the guest's
//! memory when it needs it, and the guest's arguments as the ABI passes them;
//! it returns `Ok(())` (errno 0), an [`Errno`](crate::Errno) for the guest, or
//! a trap.

pub mod clock;
pub mod fd;
pub mod path;
pub mod poll;
pub mod proc;
pub mod random;
pub mod sock;
pub mod types;
