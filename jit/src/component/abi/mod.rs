//! The canonical ABI (CanonicalABI.md): flattening, and lifting and
//! lowering every value type between component values and core wasm
//! values or linear memory. Function names follow the spec's
//! `definitions.py` (`lift_flat`, `load`, `store_string_into_range`, …)
//! so a reader can hold the two side by side.
//!
//! - `lift`: core values and memory → [`Val`](super::Val) (`lift_flat`,
//!   `load`, `lift_flat_values`);
//! - `lower`: [`Val`](super::Val) → core values and memory (`lower_flat`,
//!   `store`, `lower_flat_values`), calling the guest's `realloc`;
//! - `strings`: the string encodings and transcoding between them.
//!
//! Memories are 32-bit: a component whose canonical options name a 64-bit
//! memory is refused when it is compiled.

pub(crate) mod cx;
pub(crate) mod lift;
pub(crate) mod lower;
pub(crate) mod strings;

/// Flat parameters a synchronous call passes as core values; more go
/// through memory.
pub(crate) const MAX_FLAT_PARAMS: usize = 16;
/// Flat results a call returns as core values; more go through memory.
pub(crate) const MAX_FLAT_RESULTS: usize = 1;
/// The longest string in bytes (the spec's `MAX_STRING_BYTE_LENGTH`).
pub(crate) const MAX_STRING_BYTE_LENGTH: u32 = (1 << 28) - 1;
/// The longest list in bytes (the spec's `MAX_LIST_BYTE_LENGTH`).
pub(crate) const MAX_LIST_BYTE_LENGTH: u64 = (1 << 28) - 1;
/// The bit that marks a UTF-16 string in `latin1+utf16` (32-bit memories).
pub(crate) const UTF16_TAG: u32 = 1 << 31;

/// A core value type of the flat representation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlatType {
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
}

impl FlatType {
    /// The spec's `join`: the type both of two payload slots fit in.
    pub fn join(self, other: FlatType) -> FlatType {
        match (self, other) {
            (a, b) if a == b => a,
            (FlatType::I32, FlatType::F32) | (FlatType::F32, FlatType::I32) => FlatType::I32,
            _ => FlatType::I64,
        }
    }

    /// The core value type.
    pub fn val_type(self) -> crate::types::ValType {
        match self {
            FlatType::I32 => crate::types::ValType::I32,
            FlatType::I64 => crate::types::ValType::I64,
            FlatType::F32 => crate::types::ValType::F32,
            FlatType::F64 => crate::types::ValType::F64,
        }
    }
}

/// Capacity of a [`Flattened`]: one more than any flat signature passes.
const FLAT_CAP: usize = MAX_FLAT_PARAMS + 1;

/// A flattened type, kept only up to `MAX_FLAT_PARAMS + 1` entries: a type
/// with more is always passed through memory, so its exact flat form is
/// never needed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flattened {
    types: [Option<FlatType>; FLAT_CAP],
    len: u8,
    overflowed: bool,
}

impl Flattened {
    /// One core value.
    pub fn one(t: FlatType) -> Self {
        let mut f = Self::default();
        f.push(t);
        f
    }

    /// From a slice (capped).
    pub fn from_slice(ts: &[FlatType]) -> Self {
        let mut f = Self::default();
        for t in ts {
            f.push(*t);
        }
        f
    }

    fn push(&mut self, t: FlatType) {
        if (self.len as usize) < FLAT_CAP {
            self.types[self.len as usize] = Some(t);
            self.len += 1;
        } else {
            self.overflowed = true;
        }
    }

    /// Append another flattening.
    pub fn extend(&mut self, other: &Flattened) {
        for t in other.iter() {
            self.push(t);
        }
        if other.overflowed {
            self.overflowed = true;
        }
    }

    /// Record that entries were dropped.
    pub fn mark_overflowed(&mut self) {
        self.overflowed = true;
    }

    /// Whether entries past the cap were dropped.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// The number of kept entries.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the flat form has more than `max` values.
    pub fn exceeds(&self, max: usize) -> bool {
        self.overflowed || self.len() > max
    }

    /// The kept entries.
    pub fn iter(&self) -> impl Iterator<Item = FlatType> + '_ {
        self.types[..self.len()]
            .iter()
            .map(|t| t.unwrap_or(FlatType::I32))
    }

    /// Entry `i`.
    pub fn get(&self, i: usize) -> Option<FlatType> {
        self.types.get(i).copied().flatten()
    }
}

/// A string encoding of the canonical options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum StringEncoding {
    /// `string-encoding=utf8`
    #[default]
    Utf8,
    /// `string-encoding=utf16`
    Utf16,
    /// `string-encoding=latin1+utf16`
    CompactUtf16,
}
