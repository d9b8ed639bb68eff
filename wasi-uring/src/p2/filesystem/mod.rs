//! `wasi:filesystem` (`types` and `preopens`) on the shared backend.
//!
//! A [`Descriptor`] is a host directory or file; every function checks what
//! 0.2 itself asks (directory or file, the flags it was opened with), then
//! calls [`crate::fs`] — the same code Preview 1 runs, with the same
//! `openat2` sandbox, reactor ops and errno table — and projects the errno
//! onto `error-code` ([`error`]). Streams of a file are in [`streams`].
//!
//! Where the spec leaves room, behaviour follows wasmtime 49 (the peer):
//! which descriptor-level calls a directory refuses and with what
//! (`bad-descriptor`, or `is-directory` for `read-via-stream`), how
//! `open-at` picks the open mode (`read` unless only `write`; `create` and
//! `truncate` add `write`), that a preopen's flags are `read` and
//! `mutate-directory` while a directory opened by `open-at` has `read`
//! alone and `mutate-directory` is never enforced (the Preview 1 adapter
//! never asks for it), and that an absolute symlink target reads as
//! `not-permitted`. `docs/design/wasi-p2.md` lists the few places where
//! the spec is followed instead.

pub mod error;
pub mod streams;

use std::cell::Cell;
use std::hash::{Hash, Hasher};
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;

use ringwasm_jit::component::__internal::Trap;
use ringwasm_jit::component::Resource;
use ringwasm_reactor::op::Close;
use rustix::fs::{Timespec, Timestamps};

use crate::ctx::WasiCtx;
use crate::fs::file::Advice as HostAdvice;
use crate::fs::{Dir, FileKind, OpenOptions, Stat};
use crate::p2::bindings::wasi::clocks::wall_clock::Datetime;
use crate::p2::bindings::wasi::filesystem::{preopens, types};
use crate::p2::io::{InputStream, IoError, OutputStream, table_trap};
use streams::{FileInput, FileOutput};
use types::{
    Advice, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry, ErrorCode,
    MetadataHashValue, NewTimestamp, OpenFlags, PathFlags,
};

/// A regular file's write route (see [`crate::fs::file::write_direct`]),
/// shared by a descriptor and its streams.
type Route = Rc<Cell<Option<bool>>>;

/// What a descriptor refers to.
#[derive(Debug)]
enum Kind {
    /// A directory: paths resolve beneath it.
    Dir,
    /// Anything else opened by path.
    File {
        /// What it is (a regular file reads through the page cache first).
        kind: FileKind,
        /// The write route.
        route: Route,
    },
}

/// The `descriptor` resource: a host directory or file. The host
/// descriptor is shared with the streams made from it, which may outlive
/// it.
#[derive(Debug)]
pub struct Descriptor {
    fd: Rc<OwnedFd>,
    kind: Kind,
    /// Opened for reading.
    read: bool,
    /// Files: opened for writing; directories: `mutate-directory`.
    write: bool,
}

impl Descriptor {
    /// A preopened directory: readable and mutable.
    pub(crate) fn preopen(fd: Rc<OwnedFd>) -> Self {
        Descriptor {
            fd,
            kind: Kind::Dir,
            read: true,
            write: true,
        }
    }

    fn is_dir(&self) -> bool {
        matches!(self.kind, Kind::Dir)
    }

    /// A file's kind and write route; directories are `bad-descriptor`
    /// for file operations (as wasmtime).
    fn file(&self) -> Result<(FileKind, &Route), ErrorCode> {
        match &self.kind {
            Kind::File { kind, route } => Ok((*kind, route)),
            Kind::Dir => Err(ErrorCode::BadDescriptor),
        }
    }
}

/// The `directory-entry-stream` resource: the entries of a directory as
/// they were when `read-directory` listed them, without `.` and `..`.
#[derive(Debug)]
pub struct DirectoryEntryStream {
    entries: std::vec::IntoIter<Result<DirectoryEntry, ErrorCode>>,
}

type FsResult<T> = Result<Result<T, ErrorCode>, Trap>;

/// `Ok(Err(code))` from anything that converts to an `error-code`.
macro_rules! bail {
    ($e:expr) => {
        return Ok(Err(ErrorCode::from($e)))
    };
}

/// Unwraps a guest-visible result, returning its error to the guest.
macro_rules! attempt {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => bail!(e),
        }
    };
}

fn descriptor_type(kind: FileKind) -> DescriptorType {
    match kind {
        FileKind::Unknown => DescriptorType::Unknown,
        FileKind::BlockDevice => DescriptorType::BlockDevice,
        FileKind::CharacterDevice => DescriptorType::CharacterDevice,
        FileKind::Directory => DescriptorType::Directory,
        FileKind::Fifo => DescriptorType::Fifo,
        FileKind::SymbolicLink => DescriptorType::SymbolicLink,
        FileKind::RegularFile => DescriptorType::RegularFile,
        FileKind::Socket => DescriptorType::Socket,
    }
}

/// A host time as a `datetime`; `None` before the epoch (the WIT's type
/// cannot say it), as wasmtime.
fn datetime(ns: i128) -> Option<Datetime> {
    if ns < 0 {
        return None;
    }
    Some(Datetime {
        seconds: u64::try_from(ns / 1_000_000_000).ok()?,
        nanoseconds: (ns % 1_000_000_000) as u32,
    })
}

fn descriptor_stat(st: &Stat) -> DescriptorStat {
    DescriptorStat {
        type_: descriptor_type(st.kind),
        link_count: st.nlink,
        size: st.size,
        data_access_timestamp: datetime(st.atime_ns),
        data_modification_timestamp: datetime(st.mtime_ns),
        status_change_timestamp: datetime(st.ctime_ns),
    }
}

/// A `new-timestamp` as `utimensat` takes it. Nanoseconds of a second or
/// more carry into the seconds (as wasmtime's `Duration::new`); a time
/// past `i64` seconds is `overflow`.
fn timespec(t: NewTimestamp) -> Result<Timespec, ErrorCode> {
    Ok(match t {
        NewTimestamp::NoChange => Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_OMIT,
        },
        NewTimestamp::Now => Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_NOW,
        },
        NewTimestamp::Timestamp(d) => {
            let secs = d
                .seconds
                .checked_add(u64::from(d.nanoseconds / 1_000_000_000))
                .and_then(|s| i64::try_from(s).ok())
                .ok_or(ErrorCode::Overflow)?;
            Timespec {
                tv_sec: secs,
                tv_nsec: (d.nanoseconds % 1_000_000_000) as _,
            }
        }
    })
}

fn timestamps(atime: NewTimestamp, mtime: NewTimestamp) -> Result<Timestamps, ErrorCode> {
    Ok(Timestamps {
        last_access: timespec(atime)?,
        last_modification: timespec(mtime)?,
    })
}

/// The 128-bit metadata hash of a file's identity (device and inode): the
/// same for every descriptor of one file, different between files, stable
/// while the file exists (the Preview 1 adapter uses it as the inode
/// number), and not the identity itself.
fn metadata_hash(st: &Stat) -> MetadataHashValue {
    let half = |salt: u64| {
        let mut h = std::hash::DefaultHasher::new();
        (salt, st.dev, st.ino).hash(&mut h);
        h.finish()
    };
    MetadataHashValue {
        lower: half(0x006c_6f77_6572),
        upper: half(0x0075_7070_6572),
    }
}

fn follows(f: PathFlags) -> bool {
    f.contains(PathFlags::SYMLINK_FOLLOW)
}

impl From<Advice> for HostAdvice {
    fn from(a: Advice) -> Self {
        match a {
            Advice::Normal => HostAdvice::Normal,
            Advice::Sequential => HostAdvice::Sequential,
            Advice::Random => HostAdvice::Random,
            Advice::WillNeed => HostAdvice::WillNeed,
            Advice::DontNeed => HostAdvice::DontNeed,
            Advice::NoReuse => HostAdvice::NoReuse,
        }
    }
}

impl WasiCtx {
    fn descriptor(&self, r: &Resource<Descriptor>) -> Result<&Descriptor, Trap> {
        self.p2.table.get(r).map_err(table_trap)
    }

    /// The directory `r` names, for an operation by path; a file is
    /// `not-directory`.
    fn dir_of(&self, r: &Resource<Descriptor>) -> Result<Result<Dir<'_>, ErrorCode>, Trap> {
        let d = self.descriptor(r)?;
        Ok(if d.is_dir() {
            Ok(Dir::new(&self.inline, self.resolution, d.fd.as_fd()))
        } else {
            Err(ErrorCode::NotDirectory)
        })
    }

    fn stat_of(&self, r: &Resource<Descriptor>) -> Result<Result<Stat, ErrorCode>, Trap> {
        let d = self.descriptor(r)?;
        Ok(crate::fs::stat_fd(&self.inline, d.fd.as_fd()).map_err(ErrorCode::from))
    }
}

impl preopens::Host for WasiCtx {
    fn get_directories(&mut self) -> Result<Vec<(Resource<Descriptor>, String)>, Trap> {
        let mut out = Vec::with_capacity(self.p2.preopens.len());
        for (fd, name) in &self.p2.preopens {
            let r = self
                .p2
                .table
                .push(Descriptor::preopen(fd.clone()))
                .map_err(table_trap)?;
            out.push((r, name.clone()));
        }
        Ok(out)
    }
}

impl types::Host for WasiCtx {
    fn descriptor_read_via_stream(
        &mut self,
        self_: Resource<Descriptor>,
        offset: u64,
    ) -> FsResult<Resource<InputStream>> {
        let d = self.descriptor(&self_)?;
        let Kind::File { kind, .. } = &d.kind else {
            // Reading a directory is EISDIR, as wasmtime says here.
            bail!(ErrorCode::IsDirectory);
        };
        let source = FileInput::new(d.fd.clone(), offset, *kind == FileKind::RegularFile);
        let r = self.p2.table.push(InputStream(Box::new(source)));
        Ok(Ok(r.map_err(table_trap)?))
    }

    fn descriptor_write_via_stream(
        &mut self,
        self_: Resource<Descriptor>,
        offset: u64,
    ) -> FsResult<Resource<OutputStream>> {
        let d = self.descriptor(&self_)?;
        let (kind, route) = attempt!(d.file());
        let route = (kind == FileKind::RegularFile).then(|| route.clone());
        let sink = FileOutput::at(d.fd.clone(), route, offset);
        let r = self.p2.table.push(OutputStream(Box::new(sink)));
        Ok(Ok(r.map_err(table_trap)?))
    }

    fn descriptor_append_via_stream(
        &mut self,
        self_: Resource<Descriptor>,
    ) -> FsResult<Resource<OutputStream>> {
        let d = self.descriptor(&self_)?;
        attempt!(d.file());
        let sink = FileOutput::append(d.fd.clone());
        let r = self.p2.table.push(OutputStream(Box::new(sink)));
        Ok(Ok(r.map_err(table_trap)?))
    }

    fn descriptor_advise(
        &mut self,
        self_: Resource<Descriptor>,
        offset: u64,
        length: u64,
        advice: Advice,
    ) -> FsResult<()> {
        let d = self.descriptor(&self_)?;
        attempt!(d.file());
        Ok(
            crate::fs::file::advise(d.fd.as_fd(), offset, length, advice.into())
                .map_err(Into::into),
        )
    }

    fn descriptor_sync_data(&mut self, self_: Resource<Descriptor>) -> FsResult<()> {
        let d = self.descriptor(&self_)?;
        Ok(crate::fs::file::sync(&self.inline, d.fd.as_fd(), true).map_err(Into::into))
    }

    fn descriptor_get_flags(&mut self, self_: Resource<Descriptor>) -> FsResult<DescriptorFlags> {
        let d = self.descriptor(&self_)?;
        let mut f = DescriptorFlags::default();
        if d.read {
            f = f.union(DescriptorFlags::READ);
        }
        if d.write {
            f = f.union(if d.is_dir() {
                DescriptorFlags::MUTATE_DIRECTORY
            } else {
                DescriptorFlags::WRITE
            });
        }
        Ok(Ok(f))
    }

    fn descriptor_get_type(&mut self, self_: Resource<Descriptor>) -> FsResult<DescriptorType> {
        let d = self.descriptor(&self_)?;
        Ok(Ok(match &d.kind {
            Kind::Dir => DescriptorType::Directory,
            Kind::File { kind, .. } => descriptor_type(*kind),
        }))
    }

    fn descriptor_set_size(&mut self, self_: Resource<Descriptor>, size: u64) -> FsResult<()> {
        let d = self.descriptor(&self_)?;
        attempt!(d.file());
        Ok(crate::fs::file::set_size(d.fd.as_fd(), size).map_err(Into::into))
    }

    fn descriptor_set_times(
        &mut self,
        self_: Resource<Descriptor>,
        data_access_timestamp: NewTimestamp,
        data_modification_timestamp: NewTimestamp,
    ) -> FsResult<()> {
        let d = self.descriptor(&self_)?;
        let ts = attempt!(timestamps(
            data_access_timestamp,
            data_modification_timestamp
        ));
        Ok(crate::fs::file::set_times(d.fd.as_fd(), &ts).map_err(Into::into))
    }

    fn descriptor_read(
        &mut self,
        self_: Resource<Descriptor>,
        length: u64,
        offset: u64,
    ) -> FsResult<(Vec<u8>, bool)> {
        let d = self.descriptor(&self_)?;
        let (kind, _) = attempt!(d.file());
        let regular = kind == FileKind::RegularFile;
        let buf = attempt!(
            streams::read_at(&self.inline, &d.fd, regular, length, offset)
                .map_err(|e| error::code_of(&e))
        );
        // As wasmtime (and `pread`): nothing read is the end of the file.
        let end = buf.is_empty();
        Ok(Ok((buf, end)))
    }

    fn descriptor_write(
        &mut self,
        self_: Resource<Descriptor>,
        buffer: Vec<u8>,
        offset: u64,
    ) -> FsResult<u64> {
        let d = self.descriptor(&self_)?;
        let (kind, route) = attempt!(d.file());
        let route = (kind == FileKind::RegularFile).then_some(&**route);
        let n = attempt!(
            streams::write_at(&self.inline, &d.fd, route, buffer, offset)
                .map_err(|e| error::code_of(&e))
        );
        Ok(Ok(n as u64))
    }

    fn descriptor_read_directory(
        &mut self,
        self_: Resource<Descriptor>,
    ) -> FsResult<Resource<DirectoryEntryStream>> {
        let dir = attempt!(self.dir_of(&self_)?);
        let entries = attempt!(dir.entries());
        let entries: Vec<Result<DirectoryEntry, ErrorCode>> = entries
            .into_iter()
            .filter(|e| e.name != b"." && e.name != b"..")
            .map(|e| {
                let type_ = descriptor_type(e.kind);
                String::from_utf8(e.name)
                    .map(|name| DirectoryEntry { type_, name })
                    .map_err(|_| ErrorCode::IllegalByteSequence)
            })
            .collect();
        let stream = DirectoryEntryStream {
            entries: entries.into_iter(),
        };
        Ok(Ok(self.p2.table.push(stream).map_err(table_trap)?))
    }

    fn descriptor_sync(&mut self, self_: Resource<Descriptor>) -> FsResult<()> {
        let d = self.descriptor(&self_)?;
        Ok(crate::fs::file::sync(&self.inline, d.fd.as_fd(), false).map_err(Into::into))
    }

    fn descriptor_create_directory_at(
        &mut self,
        self_: Resource<Descriptor>,
        path: String,
    ) -> FsResult<()> {
        let dir = attempt!(self.dir_of(&self_)?);
        Ok(dir.create_directory(&path).map_err(Into::into))
    }

    fn descriptor_stat(&mut self, self_: Resource<Descriptor>) -> FsResult<DescriptorStat> {
        let st = attempt!(self.stat_of(&self_)?);
        Ok(Ok(descriptor_stat(&st)))
    }

    fn descriptor_stat_at(
        &mut self,
        self_: Resource<Descriptor>,
        path_flags: PathFlags,
        path: String,
    ) -> FsResult<DescriptorStat> {
        let dir = attempt!(self.dir_of(&self_)?);
        let st = attempt!(dir.stat(&path, follows(path_flags)));
        Ok(Ok(descriptor_stat(&st)))
    }

    fn descriptor_set_times_at(
        &mut self,
        self_: Resource<Descriptor>,
        path_flags: PathFlags,
        path: String,
        data_access_timestamp: NewTimestamp,
        data_modification_timestamp: NewTimestamp,
    ) -> FsResult<()> {
        let dir = attempt!(self.dir_of(&self_)?);
        let ts = attempt!(timestamps(
            data_access_timestamp,
            data_modification_timestamp
        ));
        Ok(dir
            .set_times(&path, follows(path_flags), &ts)
            .map_err(Into::into))
    }

    fn descriptor_link_at(
        &mut self,
        self_: Resource<Descriptor>,
        old_path_flags: PathFlags,
        old_path: String,
        new_descriptor: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        let old = attempt!(self.dir_of(&self_)?);
        let new = attempt!(self.dir_of(&new_descriptor)?);
        Ok(old
            .link(&old_path, follows(old_path_flags), &new, &new_path)
            .map_err(Into::into))
    }

    fn descriptor_open_at(
        &mut self,
        self_: Resource<Descriptor>,
        path_flags: PathFlags,
        path: String,
        open_flags: OpenFlags,
        flags: DescriptorFlags,
    ) -> FsResult<Resource<Descriptor>> {
        let dir = attempt!(self.dir_of(&self_)?);
        // As wasmtime: synchronous I/O cannot be promised everywhere, so it
        // is refused rather than ignored.
        if flags.bits
            & (DescriptorFlags::FILE_INTEGRITY_SYNC.bits
                | DescriptorFlags::DATA_INTEGRITY_SYNC.bits
                | DescriptorFlags::REQUESTED_WRITE_SYNC.bits)
            != 0
        {
            bail!(ErrorCode::Unsupported);
        }
        let create = open_flags.contains(OpenFlags::CREATE);
        let truncate = open_flags.contains(OpenFlags::TRUNCATE);
        let want_write = flags.contains(DescriptorFlags::WRITE);
        let opts = OpenOptions {
            read: flags.contains(DescriptorFlags::READ) || !want_write,
            write: want_write || create || truncate,
            create,
            exclusive: open_flags.contains(OpenFlags::EXCLUSIVE),
            truncate,
            directory: open_flags.contains(OpenFlags::DIRECTORY),
            append: false,
            nonblock: false,
            follow: follows(path_flags),
        };
        let (fd, kind) = attempt!(dir.open(&path, &opts));
        let d = Descriptor {
            fd: Rc::new(fd),
            kind: if kind == FileKind::Directory {
                Kind::Dir
            } else {
                Kind::File {
                    kind,
                    route: Rc::new(Cell::new(None)),
                }
            },
            read: opts.read,
            write: opts.write,
        };
        Ok(Ok(self.p2.table.push(d).map_err(table_trap)?))
    }

    fn descriptor_readlink_at(
        &mut self,
        self_: Resource<Descriptor>,
        path: String,
    ) -> FsResult<String> {
        let dir = attempt!(self.dir_of(&self_)?);
        let target = attempt!(dir.readlink(&path));
        Ok(String::from_utf8(target).map_err(|_| ErrorCode::IllegalByteSequence))
    }

    fn descriptor_remove_directory_at(
        &mut self,
        self_: Resource<Descriptor>,
        path: String,
    ) -> FsResult<()> {
        let dir = attempt!(self.dir_of(&self_)?);
        Ok(dir.remove_directory(&path).map_err(Into::into))
    }

    fn descriptor_rename_at(
        &mut self,
        self_: Resource<Descriptor>,
        old_path: String,
        new_descriptor: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        let old = attempt!(self.dir_of(&self_)?);
        let new = attempt!(self.dir_of(&new_descriptor)?);
        Ok(old.rename(&old_path, &new, &new_path).map_err(Into::into))
    }

    fn descriptor_symlink_at(
        &mut self,
        self_: Resource<Descriptor>,
        old_path: String,
        new_path: String,
    ) -> FsResult<()> {
        let dir = attempt!(self.dir_of(&self_)?);
        Ok(dir.symlink(&old_path, &new_path).map_err(Into::into))
    }

    fn descriptor_unlink_file_at(
        &mut self,
        self_: Resource<Descriptor>,
        path: String,
    ) -> FsResult<()> {
        let dir = attempt!(self.dir_of(&self_)?);
        Ok(dir.unlink_file(&path).map_err(Into::into))
    }

    fn descriptor_is_same_object(
        &mut self,
        self_: Resource<Descriptor>,
        other: Resource<Descriptor>,
    ) -> Result<bool, Trap> {
        let stat = |cx: &WasiCtx, r: &Resource<Descriptor>| match cx.stat_of(r)? {
            Ok(st) => Ok((st.dev, st.ino)),
            // An open descriptor that cannot be stat'ed: a host failure,
            // which this function has no error to report with.
            Err(e) => Err(Trap::host(format!(
                "descriptor.is-same-object: stat failed: {e:?}"
            ))),
        };
        Ok(stat(self, &self_)? == stat(self, &other)?)
    }

    fn descriptor_metadata_hash(
        &mut self,
        self_: Resource<Descriptor>,
    ) -> FsResult<MetadataHashValue> {
        let st = attempt!(self.stat_of(&self_)?);
        Ok(Ok(metadata_hash(&st)))
    }

    fn descriptor_metadata_hash_at(
        &mut self,
        self_: Resource<Descriptor>,
        path_flags: PathFlags,
        path: String,
    ) -> FsResult<MetadataHashValue> {
        let dir = attempt!(self.dir_of(&self_)?);
        let st = attempt!(dir.stat(&path, follows(path_flags)));
        Ok(Ok(metadata_hash(&st)))
    }

    fn directory_entry_stream_read_directory_entry(
        &mut self,
        self_: Resource<DirectoryEntryStream>,
    ) -> FsResult<Option<DirectoryEntry>> {
        let s = self.p2.table.get_mut(&self_).map_err(table_trap)?;
        Ok(s.entries.next().transpose())
    }

    fn filesystem_error_code(&mut self, err: Resource<IoError>) -> Result<Option<ErrorCode>, Trap> {
        let e = self.p2.table.get(&err).map_err(table_trap)?;
        Ok(Some(error::code_of(&e.0)))
    }

    fn descriptor_drop(&mut self, rep: Resource<Descriptor>) -> Result<(), Trap> {
        let d = self.p2.table.delete(rep).map_err(table_trap)?;
        // The last user of the host descriptor closes it on the reactor;
        // its streams may still hold it.
        if let Ok(fd) = Rc::try_unwrap(d.fd)
            && let Err(e) = self.inline.run(Close::new(fd))
        {
            // Like `close(2)` after an error: the descriptor is gone anyway.
            tracing::debug!("descriptor drop: {e}");
        }
        Ok(())
    }

    fn directory_entry_stream_drop(
        &mut self,
        rep: Resource<DirectoryEntryStream>,
    ) -> Result<(), Trap> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }
}

#[cfg(test)]
mod tests;
