//! Lifting: core values and linear memory to component values
//! (CanonicalABI.md, "Loading" and "Flat Lifting").

use super::cx::{Cx, trap};
use super::strings::load_string_from_range;
use super::{FlatType, MAX_LIST_BYTE_LENGTH};
use crate::component::resources::ResourceAny;
use crate::component::types::{InterfaceType, TypeDef, align_to, discriminant_size};
use crate::component::values::Val;
use crate::runtime::trap::Trap;

/// The spec's `CoreValueIter` over raw core-value slots.
pub struct CoreValueIter<'a> {
    slots: &'a [u128],
    i: usize,
}

impl<'a> CoreValueIter<'a> {
    /// Iterate `slots` from the start.
    pub fn new(slots: &'a [u128]) -> Self {
        CoreValueIter { slots, i: 0 }
    }

    /// The next raw value.
    pub fn next_raw(&mut self) -> u128 {
        let v = self.slots.get(self.i).copied().unwrap_or(0);
        self.i += 1;
        v
    }

    /// The next `i32` as unsigned.
    pub fn next_u32(&mut self) -> u32 {
        self.next_raw() as u32
    }

    /// The next `i64` as unsigned.
    pub fn next_u64(&mut self) -> u64 {
        self.next_raw() as u64
    }
}

/// A canonical NaN for every `f32` NaN (`canonicalize_nan32`).
pub(crate) fn canonicalize_nan32(f: f32) -> f32 {
    if f.is_nan() {
        f32::from_bits(0x7fc0_0000)
    } else {
        f
    }
}

/// A canonical NaN for every `f64` NaN (`canonicalize_nan64`).
pub(crate) fn canonicalize_nan64(f: f64) -> f64 {
    if f.is_nan() {
        f64::from_bits(0x7ff8_0000_0000_0000)
    } else {
        f
    }
}

/// The trap for a variant discriminant past its cases.
pub(crate) fn bad_discriminant(case: usize, cases: usize) -> Trap {
    trap(&format!("discriminant {case} out of range [0..{cases})"))
}

/// `convert_i32_to_char`.
pub(crate) fn convert_i32_to_char(i: u32) -> Result<char, Trap> {
    char::from_u32(i).ok_or_else(|| trap("converted integer out of range for `char`"))
}

/// `lift_flat` of one value of type `t`.
pub(crate) fn lift_flat(
    cx: &mut Cx<'_>,
    vi: &mut CoreValueIter<'_>,
    t: InterfaceType,
) -> Result<Val, Trap> {
    use InterfaceType as I;
    Ok(match t {
        I::Bool => Val::Bool(vi.next_u32() != 0),
        I::U8 => Val::U8(vi.next_u32() as u8),
        I::S8 => Val::S8(vi.next_u32() as u8 as i8),
        I::U16 => Val::U16(vi.next_u32() as u16),
        I::S16 => Val::S16(vi.next_u32() as u16 as i16),
        I::U32 => Val::U32(vi.next_u32()),
        I::S32 => Val::S32(vi.next_u32() as i32),
        I::U64 => Val::U64(vi.next_u64()),
        I::S64 => Val::S64(vi.next_u64() as i64),
        I::Float32 => Val::Float32(canonicalize_nan32(f32::from_bits(vi.next_u32()))),
        I::Float64 => Val::Float64(canonicalize_nan64(f64::from_bits(vi.next_u64()))),
        I::Char => Val::Char(convert_i32_to_char(vi.next_u32())?),
        I::String => {
            let ptr = vi.next_u32();
            let len = vi.next_u32();
            Val::String(load_string_from_range(cx, ptr, len)?)
        }
        I::ErrorContext => Val::ErrorContext(vi.next_u32()),
        I::Own(r) => {
            let rep = cx.lift_own(vi.next_u32(), r)?;
            Val::Resource(ResourceAny {
                ty: cx.resource_type(r),
                rep,
                own: true,
            })
        }
        I::Borrow(r) => {
            let rep = cx.lift_borrow(vi.next_u32(), r)?;
            Val::Resource(ResourceAny {
                ty: cx.resource_type(r),
                rep,
                own: false,
            })
        }
        I::Defined(ti) => {
            let types = cx.types;
            match &types[ti].def {
                TypeDef::List(elem) => {
                    let ptr = vi.next_u32();
                    let len = vi.next_u32();
                    Val::List(load_list_from_range(cx, ptr, len, *elem)?)
                }
                TypeDef::FixedList(elem, n) => {
                    let mut v = Vec::with_capacity(*n as usize);
                    for _ in 0..*n {
                        v.push(lift_flat(cx, vi, *elem)?);
                    }
                    Val::List(v)
                }
                TypeDef::Record(fields) => {
                    let mut v = Vec::with_capacity(fields.len());
                    for f in fields.iter() {
                        v.push((f.name.to_string(), lift_flat(cx, vi, f.ty)?));
                    }
                    Val::Record(v)
                }
                TypeDef::Tuple(ts) => {
                    let mut v = Vec::with_capacity(ts.len());
                    for t in ts.iter() {
                        v.push(lift_flat(cx, vi, *t)?);
                    }
                    Val::Tuple(v)
                }
                TypeDef::Flags(names) => {
                    let bits = vi.next_u32();
                    Val::Flags(unpack_flags(bits, names))
                }
                TypeDef::Future(_) => Val::Future(vi.next_u32()),
                TypeDef::Stream(_) => Val::Stream(vi.next_u32()),
                TypeDef::Variant(_)
                | TypeDef::Enum(_)
                | TypeDef::Option(_)
                | TypeDef::Result { .. } => lift_flat_variant(cx, vi, t)?,
            }
        }
    })
}

/// The cases of a variant-like type, as payload types.
pub(crate) fn cases_of(cx: &Cx<'_>, t: InterfaceType) -> Vec<Option<InterfaceType>> {
    let InterfaceType::Defined(ti) = t else {
        return Vec::new();
    };
    match &cx.types[ti].def {
        TypeDef::Variant(cases) => cases.iter().map(|c| c.ty).collect(),
        TypeDef::Enum(names) => names.iter().map(|_| None).collect(),
        TypeDef::Option(p) => vec![None, Some(*p)],
        TypeDef::Result { ok, err } => vec![*ok, *err],
        _ => Vec::new(),
    }
}

/// Build the value of case `index` of a variant-like type.
fn variant_val(cx: &Cx<'_>, t: InterfaceType, index: usize, payload: Option<Val>) -> Val {
    let InterfaceType::Defined(ti) = t else {
        return Val::Bool(false);
    };
    let payload = payload.map(Box::new);
    match &cx.types[ti].def {
        TypeDef::Variant(cases) => Val::Variant(cases[index].name.to_string(), payload),
        TypeDef::Enum(names) => Val::Enum(names[index].to_string()),
        TypeDef::Option(_) => Val::Option(if index == 0 { None } else { payload }),
        TypeDef::Result { .. } => Val::Result(if index == 0 {
            Ok(payload)
        } else {
            Err(payload)
        }),
        _ => Val::Bool(false),
    }
}

/// `lift_flat_variant`, with the spec's coercions of joined payload slots.
fn lift_flat_variant(
    cx: &mut Cx<'_>,
    vi: &mut CoreValueIter<'_>,
    t: InterfaceType,
) -> Result<Val, Trap> {
    let flat = cx.types.flat(t);
    let cases = cases_of(cx, t);
    let case_index = vi.next_u32() as usize;
    if case_index >= cases.len() {
        return Err(bad_discriminant(case_index, cases.len()));
    }
    // The payload slots as the variant joins them (after the discriminant).
    let joined: Vec<FlatType> = flat.iter().skip(1).collect();
    let raw: Vec<u128> = joined.iter().map(|_| vi.next_raw()).collect();
    let payload = match cases[case_index] {
        None => None,
        Some(pt) => {
            let want: Vec<FlatType> = cx.types.flat(pt).iter().collect();
            let coerced: Vec<u128> = want
                .iter()
                .zip(joined.iter().zip(&raw))
                .map(|(want, (have, x))| coerce(*have, *want, *x))
                .collect();
            let mut inner = CoreValueIter::new(&coerced);
            Some(lift_flat(cx, &mut inner, pt)?)
        }
    };
    Ok(variant_val(cx, t, case_index, payload))
}

/// The spec's `CoerceValueIter.next`: a joined slot read as the case's own
/// flat type.
fn coerce(have: FlatType, want: FlatType, x: u128) -> u128 {
    match (have, want) {
        // f32 bits in an i32 slot, i32 in an i64 slot, f32 bits in an i64
        // slot: the low 32 bits.
        (FlatType::I32, FlatType::F32)
        | (FlatType::I64, FlatType::I32)
        | (FlatType::I64, FlatType::F32) => u128::from(x as u32),
        _ => x,
    }
}

/// `unpack_flags_from_int`.
pub(crate) fn unpack_flags(bits: u32, names: &[Box<str>]) -> Vec<String> {
    names
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < 32 && bits & (1 << i) != 0)
        .map(|(_, n)| n.to_string())
        .collect()
}

fn load_uint(cx: &Cx<'_>, ptr: u32, n: u32) -> Result<u64, Trap> {
    let b = cx.bytes(ptr, n, "out of bounds memory access")?;
    let mut buf = [0u8; 8];
    buf[..n as usize].copy_from_slice(b);
    Ok(u64::from_le_bytes(buf))
}

/// `load` of a value of type `t` at `ptr`. The caller has checked
/// alignment and bounds of the whole value where the spec requires it;
/// every access is bounds-checked again here.
pub(crate) fn load(cx: &mut Cx<'_>, ptr: u32, t: InterfaceType) -> Result<Val, Trap> {
    use InterfaceType as I;
    Ok(match t {
        I::Bool => Val::Bool(load_uint(cx, ptr, 1)? != 0),
        I::U8 => Val::U8(load_uint(cx, ptr, 1)? as u8),
        I::S8 => Val::S8(load_uint(cx, ptr, 1)? as u8 as i8),
        I::U16 => Val::U16(load_uint(cx, ptr, 2)? as u16),
        I::S16 => Val::S16(load_uint(cx, ptr, 2)? as u16 as i16),
        I::U32 => Val::U32(load_uint(cx, ptr, 4)? as u32),
        I::S32 => Val::S32(load_uint(cx, ptr, 4)? as u32 as i32),
        I::U64 => Val::U64(load_uint(cx, ptr, 8)?),
        I::S64 => Val::S64(load_uint(cx, ptr, 8)? as i64),
        I::Float32 => Val::Float32(canonicalize_nan32(f32::from_bits(
            load_uint(cx, ptr, 4)? as u32
        ))),
        I::Float64 => Val::Float64(canonicalize_nan64(f64::from_bits(load_uint(cx, ptr, 8)?))),
        I::Char => Val::Char(convert_i32_to_char(load_uint(cx, ptr, 4)? as u32)?),
        I::String => {
            let begin = load_uint(cx, ptr, 4)? as u32;
            let len = load_uint(cx, ptr.wrapping_add(4), 4)? as u32;
            Val::String(load_string_from_range(cx, begin, len)?)
        }
        I::ErrorContext => Val::ErrorContext(load_uint(cx, ptr, 4)? as u32),
        I::Own(_) | I::Borrow(_) => {
            let i = load_uint(cx, ptr, 4)? as u32;
            let slot = [u128::from(i)];
            return lift_flat(cx, &mut CoreValueIter::new(&slot), t);
        }
        I::Defined(ti) => {
            let types = cx.types;
            match &types[ti].def {
                TypeDef::List(elem) => {
                    let begin = load_uint(cx, ptr, 4)? as u32;
                    let len = load_uint(cx, ptr.wrapping_add(4), 4)? as u32;
                    Val::List(load_list_from_range(cx, begin, len, *elem)?)
                }
                TypeDef::FixedList(elem, n) => {
                    let (size, _) = types.size_align(*elem);
                    let mut v = Vec::with_capacity(*n as usize);
                    for i in 0..*n {
                        v.push(load(cx, ptr.wrapping_add(i.wrapping_mul(size)), *elem)?);
                    }
                    Val::List(v)
                }
                TypeDef::Record(fields) => {
                    let mut v = Vec::with_capacity(fields.len());
                    let mut p = ptr;
                    for f in fields.iter() {
                        let (size, align) = types.size_align(f.ty);
                        p = align_to(p, align);
                        v.push((f.name.to_string(), load(cx, p, f.ty)?));
                        p = p.wrapping_add(size);
                    }
                    Val::Record(v)
                }
                TypeDef::Tuple(ts) => {
                    let mut v = Vec::with_capacity(ts.len());
                    let mut p = ptr;
                    for t in ts.iter() {
                        let (size, align) = types.size_align(*t);
                        p = align_to(p, align);
                        v.push(load(cx, p, *t)?);
                        p = p.wrapping_add(size);
                    }
                    Val::Tuple(v)
                }
                TypeDef::Flags(names) => {
                    let size = types[ti].size;
                    Val::Flags(unpack_flags(load_uint(cx, ptr, size)? as u32, names))
                }
                TypeDef::Future(_) => Val::Future(load_uint(cx, ptr, 4)? as u32),
                TypeDef::Stream(_) => Val::Stream(load_uint(cx, ptr, 4)? as u32),
                TypeDef::Variant(_)
                | TypeDef::Enum(_)
                | TypeDef::Option(_)
                | TypeDef::Result { .. } => load_variant(cx, ptr, t)?,
            }
        }
    })
}

/// `load_variant`.
fn load_variant(cx: &mut Cx<'_>, ptr: u32, t: InterfaceType) -> Result<Val, Trap> {
    let cases = cases_of(cx, t);
    let disc = discriminant_size(cases.len());
    let case_index = load_uint(cx, ptr, disc)? as usize;
    if case_index >= cases.len() {
        return Err(bad_discriminant(case_index, cases.len()));
    }
    let max_align = cases
        .iter()
        .flatten()
        .map(|t| cx.types.size_align(*t).1)
        .max()
        .unwrap_or(1);
    let p = align_to(ptr.wrapping_add(disc), max_align);
    let payload = match cases[case_index] {
        None => None,
        Some(pt) => Some(load(cx, p, pt)?),
    };
    Ok(variant_val(cx, t, case_index, payload))
}

/// `load_list_from_range`: checks length, alignment and bounds first.
pub(crate) fn load_list_from_range(
    cx: &mut Cx<'_>,
    ptr: u32,
    len: u32,
    elem: InterfaceType,
) -> Result<Vec<Val>, Trap> {
    let (size, align) = cx.types.size_align(elem);
    let bytes = u64::from(len) * u64::from(size);
    if bytes > MAX_LIST_BYTE_LENGTH {
        return Err(trap("list pointer/length out of bounds of memory"));
    }
    if !ptr.is_multiple_of(align) {
        return Err(trap("list pointer is not aligned"));
    }
    if u64::from(ptr) + bytes > cx.mem()?.len() as u64 {
        return Err(trap("list pointer/length out of bounds of memory"));
    }
    let mut v = Vec::with_capacity(len as usize);
    for i in 0..len {
        v.push(load(cx, ptr + i * size, elem)?);
    }
    Ok(v)
}

/// `lift_flat_values`: the values of `ts` from `vi`, or from memory at the
/// pointer `vi` holds when they flatten to more than `max_flat` values.
pub(crate) fn lift_flat_values(
    cx: &mut Cx<'_>,
    max_flat: usize,
    vi: &mut CoreValueIter<'_>,
    ts: &[InterfaceType],
) -> Result<Vec<Val>, Trap> {
    let mut flat = super::Flattened::default();
    for t in ts {
        flat.extend(&cx.types.flat(*t));
    }
    if flat.exceeds(max_flat) {
        let ptr = vi.next_u32();
        let (size, align) = tuple_layout(cx.types, ts);
        if !ptr.is_multiple_of(align) {
            return Err(trap("unaligned pointer"));
        }
        if u64::from(ptr) + u64::from(size) > cx.mem()?.len() as u64 {
            return Err(trap("pointer out of bounds of memory"));
        }
        let mut out = Vec::with_capacity(ts.len());
        let mut p = ptr;
        for t in ts {
            let (s, a) = cx.types.size_align(*t);
            p = align_to(p, a);
            out.push(load(cx, p, *t)?);
            p += s;
        }
        Ok(out)
    } else {
        ts.iter().map(|t| lift_flat(cx, vi, *t)).collect()
    }
}

/// Size and alignment of a tuple of `ts` (the spec's `TupleType(ts)`).
pub(crate) fn tuple_layout(
    types: &crate::component::types::ComponentTypes,
    ts: &[InterfaceType],
) -> (u32, u32) {
    let mut size = 0u32;
    let mut align = 1u32;
    for t in ts {
        let (s, a) = types.size_align(*t);
        size = align_to(size, a) + s;
        align = align.max(a);
    }
    (align_to(size, align), align)
}
