//! The guest-visible error (`Errno`) and the host-function error
//! (`HostError` = `Errno` | trap).

use std::fmt;

macro_rules! errnos {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, $text:literal; )*) => {
        /// A WASI Preview 1 `errno`: what a host function returns to the guest.
        ///
        /// The discriminant is the value the guest sees.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u16)]
        #[non_exhaustive]
        pub enum Errno {
            $( $(#[$doc])* #[doc = $text] $name = $code, )*
        }

        impl Errno {
            /// Every errno, in code order (the table the tests walk).
            pub const ALL: &'static [Errno] = &[$(Errno::$name,)*];

            /// The errno with the guest-visible `code`, if there is one.
            pub const fn from_code(code: u16) -> Option<Errno> {
                match code {
                    $( $code => Some(Errno::$name), )*
                    _ => None,
                }
            }

            /// The spec's name for this errno (`"noent"`).
            pub const fn name(self) -> &'static str {
                match self {
                    $( Errno::$name => $text, )*
                }
            }
        }
    };
}

errnos! {
    Success = 0, "success";
    TooBig = 1, "2big";
    Acces = 2, "acces";
    Addrinuse = 3, "addrinuse";
    Addrnotavail = 4, "addrnotavail";
    Afnosupport = 5, "afnosupport";
    Again = 6, "again";
    Already = 7, "already";
    Badf = 8, "badf";
    Badmsg = 9, "badmsg";
    Busy = 10, "busy";
    Canceled = 11, "canceled";
    Child = 12, "child";
    Connaborted = 13, "connaborted";
    Connrefused = 14, "connrefused";
    Connreset = 15, "connreset";
    Deadlk = 16, "deadlk";
    Destaddrreq = 17, "destaddrreq";
    Dom = 18, "dom";
    Dquot = 19, "dquot";
    Exist = 20, "exist";
    Fault = 21, "fault";
    Fbig = 22, "fbig";
    Hostunreach = 23, "hostunreach";
    Idrm = 24, "idrm";
    Ilseq = 25, "ilseq";
    Inprogress = 26, "inprogress";
    Intr = 27, "intr";
    Inval = 28, "inval";
    Io = 29, "io";
    Isconn = 30, "isconn";
    Isdir = 31, "isdir";
    Loop = 32, "loop";
    Mfile = 33, "mfile";
    Mlink = 34, "mlink";
    Msgsize = 35, "msgsize";
    Multihop = 36, "multihop";
    Nametoolong = 37, "nametoolong";
    Netdown = 38, "netdown";
    Netreset = 39, "netreset";
    Netunreach = 40, "netunreach";
    Nfile = 41, "nfile";
    Nobufs = 42, "nobufs";
    Nodev = 43, "nodev";
    Noent = 44, "noent";
    Noexec = 45, "noexec";
    Nolck = 46, "nolck";
    Nolink = 47, "nolink";
    Nomem = 48, "nomem";
    Nomsg = 49, "nomsg";
    Noprotoopt = 50, "noprotoopt";
    Nospc = 51, "nospc";
    Nosys = 52, "nosys";
    Notconn = 53, "notconn";
    Notdir = 54, "notdir";
    Notempty = 55, "notempty";
    Notrecoverable = 56, "notrecoverable";
    Notsock = 57, "notsock";
    Notsup = 58, "notsup";
    Notty = 59, "notty";
    Nxio = 60, "nxio";
    Overflow = 61, "overflow";
    Ownerdead = 62, "ownerdead";
    Perm = 63, "perm";
    Pipe = 64, "pipe";
    Proto = 65, "proto";
    Protonosupport = 66, "protonosupport";
    Prototype = 67, "prototype";
    Range = 68, "range";
    Rofs = 69, "rofs";
    Spipe = 70, "spipe";
    Srch = 71, "srch";
    Stale = 72, "stale";
    Timedout = 73, "timedout";
    Txtbsy = 74, "txtbsy";
    Xdev = 75, "xdev";
    Notcapable = 76, "notcapable";
}

impl Errno {
    /// The guest-visible code.
    pub const fn code(self) -> u16 {
        self as u16
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "errno {} ({})", self.code(), self.name())
    }
}

impl std::error::Error for Errno {}

/// Why a host function stops the guest instead of returning an errno.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrapReason {
    /// `proc_exit(code)`: the guest asked to exit.
    #[error("exit with status {0}")]
    Exit(i32),
    /// A guest pointer or length left linear memory (the witx rule, and
    /// wasmtime's behaviour: these trap). Displayed as wiggle displays its
    /// `GuestError::PtrOutOfBounds`.
    #[error("Pointer out of bounds: Region {{ start: {addr}, len: {len} }}")]
    OutOfBounds {
        /// Which argument.
        what: &'static str,
        /// Guest address.
        addr: u32,
        /// Length in bytes.
        len: u64,
        /// Current size of linear memory.
        mem_len: usize,
    },
    /// A scalar guest value was not naturally aligned (wiggle's
    /// `PtrNotAligned`).
    #[error("Pointer not aligned to {align}: Region {{ start: {addr}, len: {len} }}")]
    Misaligned {
        /// Which argument.
        what: &'static str,
        /// Guest address.
        addr: u32,
        /// Size of the value.
        len: u32,
        /// Required alignment.
        align: u32,
    },
    /// An argument of a witx enum or flags type that does not convert
    /// (wiggle's "Invalid enum value", "Invalid flag value" or integer
    /// conversion error, a trap in wasmtime before the function runs).
    #[error("{error}")]
    Convert {
        /// The witx type, as wiggle names it (`Whence`, `Fdflags`).
        ty: &'static str,
        /// What was wrong with the value.
        error: ConvertError,
    },
    /// A trap while writing a function's result (`location`, as wiggle
    /// names it: `write size`, `write filestat`); displayed as its source.
    #[error("{source}")]
    InResult {
        /// Where, in wiggle's words.
        location: &'static str,
        /// The trap itself.
        source: Box<TrapReason>,
    },
    /// The module exports no linear memory named `memory`.
    #[error("missing required memory export")]
    NoMemory,
    /// `proc_exit` with a status of 126 or more: wasmtime refuses those
    /// (a shell reserves them) and fails the run with status 1.
    #[error("exit with invalid exit status outside of [0..126)")]
    InvalidExitStatus(u32),
}

/// Why an argument did not convert to its witx type, each displayed as
/// wiggle displays it (with the type name from [`TrapReason::Convert`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvertError {
    /// Bits outside the flags type.
    InvalidFlag(&'static str),
    /// No enum case has this value.
    InvalidEnum(&'static str),
    /// Negative for an unsigned type.
    NegOverflow,
    /// Too large for the type.
    PosOverflow,
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidFlag(ty) => write!(f, "Invalid flag value {ty}"),
            Self::InvalidEnum(ty) => write!(f, "Invalid enum value {ty}"),
            Self::NegOverflow => f.write_str("Int conversion error: TryFromIntError(NegOverflow)"),
            Self::PosOverflow => f.write_str("Int conversion error: TryFromIntError(PosOverflow)"),
        }
    }
}

impl TrapReason {
    /// An enum argument with no case for its value.
    pub(crate) fn invalid_enum(ty: &'static str) -> Self {
        Self::Convert {
            ty,
            error: ConvertError::InvalidEnum(ty),
        }
    }

    /// Where wiggle's generated glue (rather than the function itself)
    /// would have hit this trap: `convert Whence`, `write size`. wasmtime
    /// then reports an extra cause naming the function and that place.
    pub fn glue_location(&self) -> Option<String> {
        match self {
            Self::Convert { ty, .. } => Some(format!("convert {ty}")),
            Self::InResult { location, .. } => Some((*location).to_owned()),
            _ => None,
        }
    }
}

/// Wraps a trap from writing a result (see [`TrapReason::InResult`]);
/// errnos pass through.
pub(crate) fn in_result(location: &'static str) -> impl FnOnce(HostError) -> HostError {
    move |e| match e {
        HostError::Trap(t) => HostError::Trap(Box::new(TrapReason::InResult {
            location,
            source: t,
        })),
        errno => errno,
    }
}

/// The error of a host function: an errno returned to the guest, or a trap.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// Returned to the guest as its `errno` result.
    #[error(transparent)]
    Errno(#[from] Errno),
    /// Unwinds the guest (boxed: traps are rare, errnos are hot).
    #[error(transparent)]
    Trap(Box<TrapReason>),
}

impl From<TrapReason> for HostError {
    fn from(t: TrapReason) -> Self {
        HostError::Trap(Box::new(t))
    }
}

impl From<std::io::Error> for HostError {
    fn from(e: std::io::Error) -> Self {
        HostError::Errno(crate::errno::from_io(&e))
    }
}

impl From<rustix::io::Errno> for HostError {
    fn from(e: rustix::io::Errno) -> Self {
        HostError::Errno(crate::errno::from_raw_os(e.raw_os_error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_dense_and_round_trips() {
        assert_eq!(Errno::ALL.len(), 77);
        for (i, e) in Errno::ALL.iter().enumerate() {
            assert_eq!(usize::from(e.code()), i);
            assert_eq!(Errno::from_code(e.code()), Some(*e));
        }
        assert_eq!(Errno::from_code(77), None);
        assert_eq!(Errno::TooBig.name(), "2big");
        assert_eq!(Errno::Notcapable.code(), 76);
    }

    #[test]
    fn error_size() {
        assert!(size_of::<HostError>() <= 16);
        assert_eq!(size_of::<Errno>(), 2);
    }
}
