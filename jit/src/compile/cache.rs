//! The on-disk code cache and the precompiled-artefact format.
//!
//! An artefact (`ringwasm compile` output, and every cache entry) is:
//!
//! ```text
//! magic            8 bytes  "\0rwasm-c"
//! format version   u32      FORMAT_VERSION; bump on any layout change
//! fingerprint      32 bytes sha-256 of everything that shapes codegen
//!                           (ringwasm version + build id, ISA + flags,
//!                           features, epoch on/off, memory settings)
//! description      string   the same in words, for error messages
//! wasm             bytes    the module binary (metadata is re-parsed from
//!                           it without function-body validation); empty
//!                           in a code-cache entry, whose loader has it
//! type ids         Vec<u32> engine-wide signature ids the code embeds
//! functions        Vec<CompiledFunc> (code, traps, relocations, ...)
//! trampolines      Vec<Vec<CompiledFunc>> entry + host per module type
//! checksum         16 bytes xxh3-128 of everything above
//! ```
//!
//! Integers are little-endian; a `Vec`/string is a `u32` length then its
//! items. Every serialised type implements [`Serial`], so adding a field to
//! `CompiledFunc` is one line in its `write` and one in its `read` (and a
//! bump of [`FORMAT_VERSION`]).
//!
//! Trust: an artefact is machine code that is mapped executable and run as
//! is. The cache directory is created `0700`; whoever can write to it can run
//! code in every process that uses it (wasmtime's cache has the same rule).
//! A corrupt, truncated or foreign entry is detected (checksum, fingerprint)
//! and recompiled; a cache that cannot be read or written is a warning,
//! printed once per process, never a failure.
//!
//! Size: after writing an entry, the least recently used entries (a hit
//! sets the modification time) are removed until the directory fits
//! `Config::cache_size_limit`.

use std::io::{Read as _, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::error::Error;

/// First bytes of every artefact (never `\0asm`, so the two are told apart).
pub(crate) const MAGIC: [u8; 8] = *b"\0rwasm-c";

/// Version of the layout above and of every [`Serial`] impl.
pub(crate) const FORMAT_VERSION: u32 = 7;

/// Identifies this build of the engine: version, git hash, build nonce.
pub(crate) const BUILD_ID: &str =
    concat!(env!("CARGO_PKG_VERSION"), "+", env!("RINGWASM_BUILD_ID"));

/// A sha-256 digest.
pub(crate) type Digest32 = [u8; 32];

/// Serialised form of a value: `write` appends it, `read` consumes it.
pub(crate) trait Serial: Sized {
    /// Append `self` to `w`.
    fn write(&self, w: &mut Vec<u8>);
    /// Read one value.
    fn read(r: &mut Reader<'_>) -> Result<Self, Error>;
}

/// A cursor over an artefact; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| corrupt(self.pos, "truncated"))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// Whether every byte was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos == self.bytes.len()
    }

    /// Current offset.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// A length prefix, checked against the bytes left (each item takes at
    /// least one byte), so a corrupt length cannot make us allocate wildly.
    fn len(&mut self) -> Result<usize, Error> {
        let at = self.pos;
        let n = u32::read(self)? as usize;
        if n > self.bytes.len() - self.pos {
            return Err(corrupt(at, "length past the end"));
        }
        Ok(n)
    }
}

/// An artefact that cannot be decoded.
pub(crate) fn corrupt(offset: usize, what: &str) -> Error {
    Error::Incompatible(
        format!("corrupt precompiled artefact at offset {offset:#x}: {what}").into(),
    )
}

impl Serial for u8 {
    fn write(&self, w: &mut Vec<u8>) {
        w.push(*self);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(r.array::<1>()?[0])
    }
}

impl Serial for u32 {
    fn write(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(&self.to_le_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(u32::from_le_bytes(r.array()?))
    }
}

impl Serial for i64 {
    fn write(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(&self.to_le_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(i64::from_le_bytes(r.array()?))
    }
}

impl Serial for Digest32 {
    fn write(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(self);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.array()
    }
}

impl Serial for String {
    fn write(&self, w: &mut Vec<u8>) {
        write_len(w, self.len());
        w.extend_from_slice(self.as_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let at = r.pos();
        let n = r.len()?;
        String::from_utf8(r.take(n)?.to_vec()).map_err(|_| corrupt(at, "string is not UTF-8"))
    }
}

impl<T: Serial> Serial for Vec<T> {
    fn write(&self, w: &mut Vec<u8>) {
        write_len(w, self.len());
        for item in self {
            item.write(w);
        }
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let n = r.len()?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(T::read(r)?);
        }
        Ok(v)
    }
}

impl<A: Serial, B: Serial> Serial for (A, B) {
    fn write(&self, w: &mut Vec<u8>) {
        self.0.write(w);
        self.1.write(w);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok((A::read(r)?, B::read(r)?))
    }
}

impl<A: Serial, B: Serial, C: Serial, D: Serial> Serial for (A, B, C, D) {
    fn write(&self, w: &mut Vec<u8>) {
        self.0.write(w);
        self.1.write(w);
        self.2.write(w);
        self.3.write(w);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok((A::read(r)?, B::read(r)?, C::read(r)?, D::read(r)?))
    }
}

/// A byte string, read and written in one copy (a `Vec<u8>` would go byte
/// by byte).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Bytes(pub Vec<u8>);

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Serial for Bytes {
    fn write(&self, w: &mut Vec<u8>) {
        write_bytes(w, &self.0);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let n = r.len()?;
        Ok(Bytes(r.take(n)?.to_vec()))
    }
}

/// Write `bytes` as a [`Bytes`].
pub(crate) fn write_bytes(w: &mut Vec<u8>, bytes: &[u8]) {
    write_len(w, bytes.len());
    w.extend_from_slice(bytes);
}

pub(crate) fn write_len(w: &mut Vec<u8>, n: usize) {
    // Lengths of code, tables and modules are < 4 GiB: `link` and the
    // parser refuse anything larger before we get here.
    u32::try_from(n).unwrap_or(u32::MAX).write(w);
}

/// sha-256 of `parts`, in order.
pub(crate) fn digest(parts: &[&[u8]]) -> Digest32 {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// The header fields identifying who may load an artefact.
pub(crate) struct Header {
    pub fingerprint: Digest32,
    pub description: String,
}

/// Start an artefact: magic, version, header.
pub(crate) fn begin(header: &Header) -> Vec<u8> {
    let mut w = Vec::new();
    w.extend_from_slice(&MAGIC);
    FORMAT_VERSION.write(&mut w);
    header.fingerprint.write(&mut w);
    header.description.write(&mut w);
    w
}

/// Length of the checksum that ends an artefact.
const CHECKSUM_LEN: usize = 16;

/// The checksum of an artefact's body. It catches damage (a truncated or
/// flipped byte), not forgery: whoever can write an artefact can write its
/// checksum. Hence xxh3, which runs at memory speed, where sha-256 took
/// 0.14 s per start for a 69 MB module's 156 MB entry. (Cache keys stay
/// sha-256: they must resist collisions between untrusted modules.)
fn checksum(body: &[u8]) -> [u8; CHECKSUM_LEN] {
    xxhash_rust::xxh3::xxh3_128(body).to_le_bytes()
}

/// Finish an artefact: append the checksum.
pub(crate) fn finish(mut w: Vec<u8>) -> Vec<u8> {
    let sum = checksum(&w);
    w.extend_from_slice(&sum);
    w
}

/// Check magic, version, checksum and fingerprint; return a reader positioned
/// after the header.
pub(crate) fn open<'a>(bytes: &'a [u8], expected: &Header) -> Result<Reader<'a>, Error> {
    if !bytes.starts_with(&MAGIC) {
        return Err(Error::Incompatible(
            "not a ringwasm precompiled artefact (bad magic)".into(),
        ));
    }
    let mut r = Reader::new(bytes);
    r.take(MAGIC.len())?;
    let version = u32::read(&mut r)?;
    if version != FORMAT_VERSION {
        return Err(Error::Incompatible(
            format!(
                "precompiled artefact has format version {version}; this ringwasm reads \
                 version {FORMAT_VERSION}: recompile it"
            )
            .into(),
        ));
    }
    let body_len = bytes
        .len()
        .checked_sub(CHECKSUM_LEN)
        .filter(|n| *n >= r.pos())
        .ok_or_else(|| corrupt(bytes.len(), "truncated"))?;
    if checksum(&bytes[..body_len])[..] != bytes[body_len..] {
        return Err(corrupt(body_len, "checksum mismatch"));
    }
    let fingerprint = Digest32::read(&mut r)?;
    let description = String::read(&mut r)?;
    if fingerprint != expected.fingerprint {
        return Err(Error::Incompatible(
            format!(
                "precompiled artefact was built by {description}; this engine is {}: recompile it",
                expected.description
            )
            .into(),
        ));
    }
    // Leave the checksum out of what the caller reads.
    Ok(Reader {
        bytes: &bytes[..body_len],
        pos: r.pos,
    })
}

/// The default cache directory: `$RINGWASM_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/ringwasm`, else `$HOME/.cache/ringwasm`; `None` when none
/// of them is set.
pub fn default_cache_dir() -> Option<PathBuf> {
    let var = |k| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(dir) = var("RINGWASM_CACHE_DIR") {
        return Some(dir.into());
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return Some(Path::new(&dir).join("ringwasm"));
    }
    var("HOME").map(|home| Path::new(&home).join(".cache").join("ringwasm"))
}

/// Cache statistics for this process (tests and diagnostics).
static WARNED: AtomicBool = AtomicBool::new(false);
static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

fn warn_once(what: std::fmt::Arguments<'_>) {
    if !WARNED.swap(true, Ordering::Relaxed) {
        eprintln!("warning: code cache disabled for this run: {what}");
    }
}

/// The path of the entry for `key` under `dir`.
fn entry_path(dir: &Path, key: &Digest32) -> PathBuf {
    let mut name = String::with_capacity(70);
    for b in key {
        name.push_str(&format!("{b:02x}"));
    }
    name.push_str(".rwc");
    dir.join(name)
}

/// The default for [`Config::cache_size_limit`](crate::Config::cache_size_limit).
pub(crate) const DEFAULT_SIZE_LIMIT: u64 = 1 << 30;

/// A temporary file older than this was left by a writer that died.
const STALE_TEMP: Duration = Duration::from_secs(3600);

/// The cache entry for `key`, if there is one. A hit sets the entry's
/// modification time to now: pruning removes the least recently used.
pub(crate) fn load(dir: &Path, key: &Digest32) -> Option<Vec<u8>> {
    let path = entry_path(dir, key);
    let read = || -> std::io::Result<Vec<u8>> {
        let mut f = std::fs::File::open(&path)?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)?;
        // Best effort: an entry we cannot touch is only pruned earlier.
        let _ = f.set_modified(SystemTime::now());
        Ok(bytes)
    };
    match read() {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            warn_once(format_args!("cannot read {}: {e}", path.display()));
            None
        }
    }
}

/// Store `bytes` as the entry for `key`: written to a temporary file in the
/// same directory, then renamed over the entry, so readers never see half an
/// entry. Then prune the directory to `limit` bytes.
pub(crate) fn store(dir: &Path, key: &Digest32, bytes: &[u8], limit: u64) {
    if let Err(e) = try_store(dir, key, bytes) {
        warn_once(format_args!("cannot write to {}: {e}", dir.display()));
        return;
    }
    if let Err(e) = prune(dir, limit, &entry_path(dir, key)) {
        warn_once(format_args!("cannot prune {}: {e}", dir.display()));
    }
}

/// Remove the least recently used entries (oldest modification time) until
/// the entries in `dir` take at most `limit` bytes, never `keep`; and
/// temporary files that dead writers left. Other processes may prune at the
/// same time: a file already gone is no error.
fn prune(dir: &Path, limit: u64, keep: &Path) -> std::io::Result<()> {
    let now = SystemTime::now();
    let mut entries = Vec::new();
    let mut total = 0u64;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let Ok(meta) = e.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let name = e.file_name();
        let name = name.to_string_lossy();
        let modified = meta.modified().unwrap_or(now);
        if name.starts_with(".tmp-") {
            if now
                .duration_since(modified)
                .is_ok_and(|age| age > STALE_TEMP)
            {
                remove_if_present(&e.path())?;
            }
        } else if name.ends_with(".rwc") {
            total += meta.len();
            entries.push((modified, meta.len(), e.path()));
        }
    }
    if total <= limit {
        return Ok(());
    }
    entries.sort_by_key(|(modified, _, _)| *modified);
    for (_, len, path) in entries {
        if total <= limit {
            break;
        }
        if path != keep {
            remove_if_present(&path)?;
            total -= len;
        }
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn try_store(dir: &Path, key: &Digest32, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let path = entry_path(dir, key);
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        drop(f);
        std::fs::rename(&tmp, &path)
    })();
    if result.is_err() {
        // Best effort: the temporary name is ours alone.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        let v: Vec<(u32, i64)> = vec![(1, -2), (u32::MAX, i64::MIN)];
        let s = String::from("fünf");
        let mut w = Vec::new();
        v.write(&mut w);
        s.write(&mut w);
        let mut r = Reader::new(&w);
        assert_eq!(Vec::<(u32, i64)>::read(&mut r).expect("vec"), v);
        assert_eq!(String::read(&mut r).expect("string"), s);
        assert!(u8::read(&mut r).is_err(), "reading past the end fails");
    }

    #[test]
    fn huge_length_is_refused_without_allocating() {
        let mut w = Vec::new();
        u32::MAX.write(&mut w);
        assert!(Vec::<u32>::read(&mut Reader::new(&w)).is_err());
    }

    #[test]
    fn header_checks_checksum_and_fingerprint() {
        let h = Header {
            fingerprint: digest(&[b"a"]),
            description: "engine a".into(),
        };
        let mut w = begin(&h);
        7u32.write(&mut w);
        let art = finish(w);
        let mut r = open(&art, &h).expect("opens");
        assert_eq!(u32::read(&mut r).expect("payload"), 7);
        assert!(u8::read(&mut r).is_err(), "the checksum is not payload");

        let mut flipped = art.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 1;
        assert!(matches!(open(&flipped, &h), Err(Error::Incompatible(_))));
        assert!(open(&art[..art.len() - 1], &h).is_err());
        let other = Header {
            fingerprint: digest(&[b"b"]),
            description: "engine b".into(),
        };
        assert!(matches!(open(&art, &other), Err(Error::Incompatible(_))));
    }
}
