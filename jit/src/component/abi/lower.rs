//! Lowering: component values to core values and linear memory
//! (CanonicalABI.md, "Storing" and "Flat Lowering").

use super::cx::{Cx, trap};
use super::lift::{cases_of, tuple_layout};
use super::strings::store_string_into_range;
use super::{FlatType, Flattened, MAX_LIST_BYTE_LENGTH};
use crate::component::types::{InterfaceType, TypeDef, align_to, discriminant_size};
use crate::component::values::Val;
use crate::runtime::trap::Trap;

fn mismatch(v: &Val, want: &str) -> Trap {
    Trap::host(format!(
        "type mismatch: expected {want}, found a {} value",
        v.kind()
    ))
}

fn prim_name(t: InterfaceType) -> &'static str {
    use InterfaceType as I;
    match t {
        I::Bool => "bool",
        I::S8 => "s8",
        I::U8 => "u8",
        I::S16 => "s16",
        I::U16 => "u16",
        I::S32 => "s32",
        I::U32 => "u32",
        I::S64 => "s64",
        I::U64 => "u64",
        I::Float32 => "f32",
        I::Float64 => "f64",
        I::Char => "char",
        I::String => "string",
        I::ErrorContext => "error-context",
        I::Own(_) => "own",
        I::Borrow(_) => "borrow",
        I::Defined(_) => "a defined type",
    }
}

/// A primitive or handle value as its one core value.
fn lower_scalar(cx: &mut Cx<'_>, v: &Val, t: InterfaceType) -> Result<u128, Trap> {
    use InterfaceType as I;
    Ok(match (t, v) {
        (I::Bool, Val::Bool(b)) => u128::from(*b),
        (I::S8, Val::S8(x)) => u128::from(*x as i32 as u32),
        (I::U8, Val::U8(x)) => u128::from(*x),
        (I::S16, Val::S16(x)) => u128::from(*x as i32 as u32),
        (I::U16, Val::U16(x)) => u128::from(*x),
        (I::S32, Val::S32(x)) => u128::from(*x as u32),
        (I::U32, Val::U32(x)) => u128::from(*x),
        (I::S64, Val::S64(x)) => u128::from(*x as u64),
        (I::U64, Val::U64(x)) => u128::from(*x),
        // NaNs are stored canonical (the deterministic profile).
        (I::Float32, Val::Float32(f)) => u128::from(super::lift::canonicalize_nan32(*f).to_bits()),
        (I::Float64, Val::Float64(f)) => u128::from(super::lift::canonicalize_nan64(*f).to_bits()),
        (I::Char, Val::Char(c)) => u128::from(*c as u32),
        (I::ErrorContext, Val::ErrorContext(h)) => u128::from(*h),
        (I::Own(r), Val::Resource(a)) => {
            if !a.own {
                return Err(Trap::host(
                    "type mismatch: expected an owned resource, found a borrow",
                ));
            }
            check_resource(cx, a.ty, r)?;
            u128::from(cx.lower_own(a.rep, r)?)
        }
        (I::Borrow(r), Val::Resource(a)) => {
            check_resource(cx, a.ty, r)?;
            u128::from(cx.lower_borrow(a.rep, r)?)
        }
        (t, v) => return Err(mismatch(v, prim_name(t))),
    })
}

fn check_resource(
    cx: &Cx<'_>,
    have: crate::component::resources::ResourceType,
    r: crate::component::types::ResourceIndex,
) -> Result<(), Trap> {
    if cx.resource_type(r) != have {
        return Err(Trap::host("type mismatch: resource of another type"));
    }
    Ok(())
}

/// `lower_flat`: push the flat values of `v` (type `t`) onto `out`.
pub(crate) fn lower_flat(
    cx: &mut Cx<'_>,
    v: &Val,
    t: InterfaceType,
    out: &mut Vec<u128>,
) -> Result<(), Trap> {
    use InterfaceType as I;
    match t {
        I::String => {
            let Val::String(s) = v else {
                return Err(mismatch(v, "string"));
            };
            let (ptr, len) = store_string_into_range(cx, s)?;
            out.push(u128::from(ptr));
            out.push(u128::from(len));
        }
        I::Defined(ti) => {
            let types = cx.types;
            match (&types[ti].def, v) {
                (TypeDef::List(elem), Val::List(items)) => {
                    let (ptr, len) = store_list_into_range(cx, items, *elem)?;
                    out.push(u128::from(ptr));
                    out.push(u128::from(len));
                }
                (TypeDef::FixedList(elem, n), Val::List(items)) => {
                    if items.len() != *n as usize {
                        return Err(Trap::host(format!(
                            "type mismatch: expected {n} list elements, found {}",
                            items.len()
                        )));
                    }
                    for item in items {
                        lower_flat(cx, item, *elem, out)?;
                    }
                }
                (TypeDef::Record(fields), Val::Record(vals)) => {
                    for f in fields.iter() {
                        let fv = field(vals, &f.name)?;
                        lower_flat(cx, fv, f.ty, out)?;
                    }
                }
                (TypeDef::Tuple(ts), Val::Tuple(vals)) => {
                    if ts.len() != vals.len() {
                        return Err(Trap::host("type mismatch: tuple arity"));
                    }
                    for (t, v) in ts.iter().zip(vals) {
                        lower_flat(cx, v, *t, out)?;
                    }
                }
                (TypeDef::Flags(names), Val::Flags(set)) => {
                    out.push(u128::from(pack_flags(set, names)?));
                }
                (TypeDef::Future(_), Val::Future(h)) | (TypeDef::Stream(_), Val::Stream(h)) => {
                    out.push(u128::from(*h));
                }
                (
                    TypeDef::Variant(_)
                    | TypeDef::Enum(_)
                    | TypeDef::Option(_)
                    | TypeDef::Result { .. },
                    _,
                ) => {
                    lower_flat_variant(cx, v, t, out)?;
                }
                (_, v) => return Err(mismatch(v, "another type")),
            }
        }
        _ => out.push(lower_scalar(cx, v, t)?),
    }
    Ok(())
}

fn field<'v>(vals: &'v [(String, Val)], name: &str) -> Result<&'v Val, Trap> {
    vals.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .ok_or_else(|| Trap::host(format!("type mismatch: record has no field `{name}`")))
}

/// `pack_flags_into_int`.
pub(crate) fn pack_flags(set: &[String], names: &[Box<str>]) -> Result<u32, Trap> {
    let mut bits = 0u32;
    for s in set {
        let i = names
            .iter()
            .position(|n| **n == **s)
            .ok_or_else(|| Trap::host(format!("type mismatch: unknown flag `{s}`")))?;
        bits |= 1 << i;
    }
    Ok(bits)
}

/// `match_case`: which case a value is, and its payload.
fn match_case<'v>(
    cx: &Cx<'_>,
    v: &'v Val,
    t: InterfaceType,
) -> Result<(usize, Option<&'v Val>), Trap> {
    let InterfaceType::Defined(ti) = t else {
        return Err(mismatch(v, "variant"));
    };
    let r = match (&cx.types[ti].def, v) {
        (TypeDef::Variant(cases), Val::Variant(name, payload)) => {
            let i = cases
                .iter()
                .position(|c| *c.name == **name)
                .ok_or_else(|| Trap::host(format!("type mismatch: unknown case `{name}`")))?;
            if cases[i].ty.is_some() != payload.is_some() {
                return Err(Trap::host(format!(
                    "type mismatch: payload of case `{name}`"
                )));
            }
            (i, payload.as_deref())
        }
        (TypeDef::Enum(names), Val::Enum(name)) => {
            let i = names
                .iter()
                .position(|n| **n == **name)
                .ok_or_else(|| Trap::host(format!("type mismatch: unknown enum case `{name}`")))?;
            (i, None)
        }
        (TypeDef::Option(_), Val::Option(None)) => (0, None),
        (TypeDef::Option(_), Val::Option(Some(p))) => (1, Some(&**p)),
        (TypeDef::Result { ok, err }, Val::Result(r)) => {
            let (i, payload, want) = match r {
                Ok(p) => (0, p.as_deref(), ok),
                Err(p) => (1, p.as_deref(), err),
            };
            if want.is_some() != payload.is_some() {
                return Err(Trap::host("type mismatch: result payload"));
            }
            (i, payload)
        }
        (_, v) => return Err(mismatch(v, "variant")),
    };
    Ok(r)
}

/// `lower_flat_variant`, with the spec's coercions into joined slots.
fn lower_flat_variant(
    cx: &mut Cx<'_>,
    v: &Val,
    t: InterfaceType,
    out: &mut Vec<u128>,
) -> Result<(), Trap> {
    let (index, payload) = match_case(cx, v, t)?;
    let joined: Vec<FlatType> = cx.types.flat(t).iter().skip(1).collect();
    let cases = cases_of(cx, t);
    out.push(index as u128);
    let mut vals = Vec::new();
    if let (Some(pt), Some(pv)) = (cases[index], payload) {
        // Joined slots need no conversion: f32 and f64 travel as their bit
        // patterns, zero-extended, which is what the spec's coercions
        // (`encode_float_as_i32`, i32 into i64) produce.
        lower_flat(cx, pv, pt, &mut vals)?;
    }
    let n = vals.len();
    out.extend(vals);
    for _ in n..joined.len() {
        out.push(0);
    }
    Ok(())
}

/// `store_int` of the low `n` bytes of `x`.
fn store_uint(cx: &mut Cx<'_>, ptr: u32, n: u32, x: u64) -> Result<(), Trap> {
    let dst = cx.bytes_mut(ptr, n, "out of bounds memory access")?;
    dst.copy_from_slice(&x.to_le_bytes()[..n as usize]);
    Ok(())
}

/// `store` of `v` (type `t`) at `ptr`.
pub(crate) fn store(cx: &mut Cx<'_>, v: &Val, t: InterfaceType, ptr: u32) -> Result<(), Trap> {
    use InterfaceType as I;
    match t {
        I::Bool | I::S8 | I::U8 => {
            let x = lower_scalar(cx, v, t)?;
            store_uint(cx, ptr, 1, x as u64)
        }
        I::S16 | I::U16 => {
            let x = lower_scalar(cx, v, t)?;
            store_uint(cx, ptr, 2, x as u64)
        }
        I::S32 | I::U32 | I::Float32 | I::Char | I::ErrorContext | I::Own(_) | I::Borrow(_) => {
            let x = lower_scalar(cx, v, t)?;
            store_uint(cx, ptr, 4, x as u64)
        }
        I::S64 | I::U64 | I::Float64 => {
            let x = lower_scalar(cx, v, t)?;
            store_uint(cx, ptr, 8, x as u64)
        }
        I::String => {
            let Val::String(s) = v else {
                return Err(mismatch(v, "string"));
            };
            let (begin, len) = store_string_into_range(cx, s)?;
            store_uint(cx, ptr, 4, u64::from(begin))?;
            store_uint(cx, ptr.wrapping_add(4), 4, u64::from(len))
        }
        I::Defined(ti) => {
            let types = cx.types;
            match (&types[ti].def, v) {
                (TypeDef::List(elem), Val::List(items)) => {
                    let (begin, len) = store_list_into_range(cx, items, *elem)?;
                    store_uint(cx, ptr, 4, u64::from(begin))?;
                    store_uint(cx, ptr.wrapping_add(4), 4, u64::from(len))
                }
                (TypeDef::FixedList(elem, n), Val::List(items)) => {
                    if items.len() != *n as usize {
                        return Err(Trap::host("type mismatch: fixed-length list length"));
                    }
                    let (size, _) = types.size_align(*elem);
                    for (i, item) in items.iter().enumerate() {
                        store(cx, item, *elem, ptr.wrapping_add(i as u32 * size))?;
                    }
                    Ok(())
                }
                (TypeDef::Record(fields), Val::Record(vals)) => {
                    let mut p = ptr;
                    for f in fields.iter() {
                        let (size, align) = types.size_align(f.ty);
                        p = align_to(p, align);
                        store(cx, field(vals, &f.name)?, f.ty, p)?;
                        p = p.wrapping_add(size);
                    }
                    Ok(())
                }
                (TypeDef::Tuple(ts), Val::Tuple(vals)) => {
                    if ts.len() != vals.len() {
                        return Err(Trap::host("type mismatch: tuple arity"));
                    }
                    let mut p = ptr;
                    for (t, v) in ts.iter().zip(vals) {
                        let (size, align) = types.size_align(*t);
                        p = align_to(p, align);
                        store(cx, v, *t, p)?;
                        p = p.wrapping_add(size);
                    }
                    Ok(())
                }
                (TypeDef::Flags(names), Val::Flags(set)) => {
                    let bits = pack_flags(set, names)?;
                    store_uint(cx, ptr, types[ti].size, u64::from(bits))
                }
                (TypeDef::Future(_), Val::Future(h)) | (TypeDef::Stream(_), Val::Stream(h)) => {
                    store_uint(cx, ptr, 4, u64::from(*h))
                }
                (
                    TypeDef::Variant(_)
                    | TypeDef::Enum(_)
                    | TypeDef::Option(_)
                    | TypeDef::Result { .. },
                    _,
                ) => store_variant(cx, v, t, ptr),
                (_, v) => Err(mismatch(v, "another type")),
            }
        }
    }
}

/// `store_variant`.
fn store_variant(cx: &mut Cx<'_>, v: &Val, t: InterfaceType, ptr: u32) -> Result<(), Trap> {
    let (index, payload) = match_case(cx, v, t)?;
    let cases = cases_of(cx, t);
    let disc = discriminant_size(cases.len());
    store_uint(cx, ptr, disc, index as u64)?;
    let max_align = cases
        .iter()
        .flatten()
        .map(|t| cx.types.size_align(*t).1)
        .max()
        .unwrap_or(1);
    let p = align_to(ptr.wrapping_add(disc), max_align);
    if let (Some(pt), Some(pv)) = (cases[index], payload) {
        store(cx, pv, pt, p)?;
    }
    Ok(())
}

/// `store_list_into_range`: allocate and store every element.
pub(crate) fn store_list_into_range(
    cx: &mut Cx<'_>,
    items: &[Val],
    elem: InterfaceType,
) -> Result<(u32, u32), Trap> {
    let (size, align) = cx.types.size_align(elem);
    let bytes = items.len() as u64 * u64::from(size);
    if bytes > MAX_LIST_BYTE_LENGTH {
        return Err(trap("list too long to lower"));
    }
    let bytes = bytes as u32;
    let ptr = cx.allocate(align, bytes)?;
    if !ptr.is_multiple_of(align) {
        return Err(trap("realloc return: result not aligned"));
    }
    if u64::from(ptr) + u64::from(bytes) > cx.mem()?.len() as u64 {
        return Err(trap("realloc return: beyond end of memory"));
    }
    for (i, item) in items.iter().enumerate() {
        store(cx, item, elem, ptr + i as u32 * size)?;
    }
    Ok((ptr, items.len() as u32))
}

/// `lower_flat_values`: flat values of `vs`, or, when they flatten to more
/// than `max_flat` values, stored in memory — at `out_param` when the
/// caller passed a return pointer, else in memory from `realloc` whose
/// address is the one flat value.
pub(crate) fn lower_flat_values(
    cx: &mut Cx<'_>,
    max_flat: usize,
    vs: &[Val],
    ts: &[InterfaceType],
    out_param: Option<u32>,
) -> Result<Vec<u128>, Trap> {
    let mut flat = Flattened::default();
    for t in ts {
        flat.extend(&cx.types.flat(*t));
    }
    if vs.len() != ts.len() {
        return Err(Trap::host(format!(
            "type mismatch: expected {} values, found {}",
            ts.len(),
            vs.len()
        )));
    }
    if flat.exceeds(max_flat) {
        let (size, align) = tuple_layout(cx.types, ts);
        let (ptr, out) = match out_param {
            Some(p) => (p, Vec::new()),
            None => {
                let p = cx.allocate(align, size)?;
                (p, vec![u128::from(p)])
            }
        };
        if !ptr.is_multiple_of(align) {
            return Err(trap("unaligned pointer"));
        }
        if u64::from(ptr) + u64::from(size) > cx.mem()?.len() as u64 {
            return Err(trap("pointer out of bounds of memory"));
        }
        let mut p = ptr;
        for (v, t) in vs.iter().zip(ts) {
            let (s, a) = cx.types.size_align(*t);
            p = align_to(p, a);
            store(cx, v, *t, p)?;
            p += s;
        }
        Ok(out)
    } else {
        let mut out = Vec::with_capacity(flat.len());
        for (v, t) in vs.iter().zip(ts) {
            lower_flat(cx, v, *t, &mut out)?;
        }
        Ok(out)
    }
}
