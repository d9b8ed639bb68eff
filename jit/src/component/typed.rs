//! Static types for the canonical ABI, as wasmtime's `func/typed.rs`:
//! [`ComponentType`] checks a Rust type against a component type, [`Lift`]
//! reads one from core values or memory and [`Lower`] writes one. Host
//! functions and [`TypedFunc`](super::TypedFunc) use them instead of
//! [`Val`], so a call moves no more than the values themselves (a
//! `list<u8>` is one copy).
//!
//! The methods are hidden: they take the engine's internal context and
//! are meant for the implementations here and in generated bindings.

use super::abi::cx::{Cx, trap};
use super::abi::lift::{
    CoreValueIter, bad_discriminant, canonicalize_nan32, canonicalize_nan64, convert_i32_to_char,
};
use super::abi::strings::{load_string_from_range, store_string_into_range};
use super::abi::{FlatType, MAX_LIST_BYTE_LENGTH};
use super::resources::{Resource, ResourceAny, ResourceType};
use super::types::{ComponentTypes, InterfaceType, TypeDef, align_to};
use super::values::Val;
use crate::runtime::trap::Trap;

/// A Rust type that corresponds to a component value type.
pub trait ComponentType {
    /// Whether this is `()`: a `result` arm or function result with no
    /// payload.
    #[doc(hidden)]
    const IS_UNIT: bool = false;

    /// Check that `ty` is this type.
    ///
    /// # Errors
    ///
    /// A message saying what differs.
    #[doc(hidden)]
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<(), String>;
}

/// A Rust type that can be read from the canonical ABI.
pub trait Lift: ComponentType + Sized {
    /// Read from flat core values.
    ///
    /// # Errors
    ///
    /// The trap the canonical ABI prescribes for a bad value.
    #[doc(hidden)]
    fn lift(cx: &mut Cx<'_>, ty: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap>;

    /// Read from memory at `ptr` (aligned, in bounds for its size).
    ///
    /// # Errors
    ///
    /// The trap the canonical ABI prescribes for a bad value.
    #[doc(hidden)]
    fn load(cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<Self, Trap>;

    /// Read `len` elements at `ptr` (checked). Types with a byte layout
    /// equal to Rust's override it to copy.
    ///
    /// # Errors
    ///
    /// The trap the canonical ABI prescribes for a bad value.
    #[doc(hidden)]
    fn load_list(
        cx: &mut Cx<'_>,
        elem: InterfaceType,
        ptr: u32,
        len: u32,
    ) -> Result<Vec<Self>, Trap> {
        let (size, _) = cx.types.size_align(elem);
        let mut v = Vec::with_capacity(len as usize);
        for i in 0..len {
            v.push(Self::load(cx, elem, ptr + i * size)?);
        }
        Ok(v)
    }
}

/// A Rust type that can be written to the canonical ABI.
pub trait Lower: ComponentType {
    /// Append flat core values.
    ///
    /// # Errors
    ///
    /// A trap from `realloc` or from a handle table.
    #[doc(hidden)]
    fn lower(&self, cx: &mut Cx<'_>, ty: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap>;

    /// Write to memory at `ptr` (aligned, in bounds for its size).
    ///
    /// # Errors
    ///
    /// A trap from `realloc` or from a handle table.
    #[doc(hidden)]
    fn store(&self, cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<(), Trap>;

    /// Write `items` at `ptr`.
    ///
    /// # Errors
    ///
    /// As [`Lower::store`].
    #[doc(hidden)]
    fn store_list(
        items: &[Self],
        cx: &mut Cx<'_>,
        elem: InterfaceType,
        ptr: u32,
    ) -> Result<(), Trap>
    where
        Self: Sized,
    {
        let (size, _) = cx.types.size_align(elem);
        for (i, item) in items.iter().enumerate() {
            item.store(cx, elem, ptr + i as u32 * size)?;
        }
        Ok(())
    }
}

fn expect(ty: InterfaceType, want: InterfaceType, name: &str) -> Result<(), String> {
    if ty == want {
        Ok(())
    } else {
        Err(format!("expected {name}, found {ty:?}"))
    }
}

fn load_bytes<const N: usize>(cx: &Cx<'_>, ptr: u32) -> Result<[u8; N], Trap> {
    let b = cx.bytes(ptr, N as u32, "out of bounds memory access")?;
    let mut out = [0u8; N];
    out.copy_from_slice(b);
    Ok(out)
}

fn store_bytes(cx: &mut Cx<'_>, ptr: u32, bytes: &[u8]) -> Result<(), Trap> {
    cx.bytes_mut(ptr, bytes.len() as u32, "out of bounds memory access")?
        .copy_from_slice(bytes);
    Ok(())
}

macro_rules! integers {
    ($($t:ty => $it:ident, $n:literal, $raw:ty;)*) => {$(
        impl ComponentType for $t {
            fn typecheck(ty: InterfaceType, _: &ComponentTypes) -> Result<(), String> {
                expect(ty, InterfaceType::$it, stringify!($it))
            }
        }
        impl Lift for $t {
            fn lift(_: &mut Cx<'_>, _: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {
                Ok(src.next_raw() as $raw as $t)
            }
            fn load(cx: &mut Cx<'_>, _: InterfaceType, ptr: u32) -> Result<Self, Trap> {
                Ok(<$t>::from_le_bytes(load_bytes::<$n>(cx, ptr)?))
            }
        }
        impl Lower for $t {
            fn lower(&self, _: &mut Cx<'_>, _: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {
                // Sign-extended to the core width, then zero-extended.
                dst.push(u128::from(*self as $raw as <$raw as Unsigned>::U));
                Ok(())
            }
            fn store(&self, cx: &mut Cx<'_>, _: InterfaceType, ptr: u32) -> Result<(), Trap> {
                store_bytes(cx, ptr, &self.to_le_bytes())
            }
        }
    )*};
}

/// The unsigned twin of a core integer type.
trait Unsigned {
    type U;
}
impl Unsigned for i32 {
    type U = u32;
}
impl Unsigned for i64 {
    type U = u64;
}
impl Unsigned for u32 {
    type U = u32;
}
impl Unsigned for u64 {
    type U = u64;
}

integers! {
    i8 => S8, 1, i32;
    i16 => S16, 2, i32;
    i32 => S32, 4, i32;
    i64 => S64, 8, i64;
    u16 => U16, 2, u32;
    u32 => U32, 4, u32;
    u64 => U64, 8, u64;
}

impl ComponentType for u8 {
    fn typecheck(ty: InterfaceType, _: &ComponentTypes) -> Result<(), String> {
        expect(ty, InterfaceType::U8, "u8")
    }
}
impl Lift for u8 {
    fn lift(_: &mut Cx<'_>, _: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {
        Ok(src.next_raw() as u8)
    }
    fn load(cx: &mut Cx<'_>, _: InterfaceType, ptr: u32) -> Result<Self, Trap> {
        Ok(load_bytes::<1>(cx, ptr)?[0])
    }
    fn load_list(cx: &mut Cx<'_>, _: InterfaceType, ptr: u32, len: u32) -> Result<Vec<Self>, Trap> {
        Ok(cx
            .bytes(ptr, len, "list pointer/length out of bounds of memory")?
            .to_vec())
    }
}
impl Lower for u8 {
    fn lower(&self, _: &mut Cx<'_>, _: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {
        dst.push(u128::from(*self));
        Ok(())
    }
    fn store(&self, cx: &mut Cx<'_>, _: InterfaceType, ptr: u32) -> Result<(), Trap> {
        store_bytes(cx, ptr, &[*self])
    }
    fn store_list(items: &[Self], cx: &mut Cx<'_>, _: InterfaceType, ptr: u32) -> Result<(), Trap> {
        store_bytes(cx, ptr, items)
    }
}

impl ComponentType for bool {
    fn typecheck(ty: InterfaceType, _: &ComponentTypes) -> Result<(), String> {
        expect(ty, InterfaceType::Bool, "bool")
    }
}
impl Lift for bool {
    fn lift(_: &mut Cx<'_>, _: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {
        Ok(src.next_u32() != 0)
    }
    fn load(cx: &mut Cx<'_>, _: InterfaceType, ptr: u32) -> Result<Self, Trap> {
        Ok(load_bytes::<1>(cx, ptr)?[0] != 0)
    }
}
impl Lower for bool {
    fn lower(&self, _: &mut Cx<'_>, _: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {
        dst.push(u128::from(*self));
        Ok(())
    }
    fn store(&self, cx: &mut Cx<'_>, _: InterfaceType, ptr: u32) -> Result<(), Trap> {
        store_bytes(cx, ptr, &[u8::from(*self)])
    }
}

impl ComponentType for f32 {
    fn typecheck(ty: InterfaceType, _: &ComponentTypes) -> Result<(), String> {
        expect(ty, InterfaceType::Float32, "f32")
    }
}
impl Lift for f32 {
    fn lift(_: &mut Cx<'_>, _: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {
        Ok(canonicalize_nan32(f32::from_bits(src.next_u32())))
    }
    fn load(cx: &mut Cx<'_>, _: InterfaceType, ptr: u32) -> Result<Self, Trap> {
        Ok(canonicalize_nan32(f32::from_le_bytes(load_bytes::<4>(
            cx, ptr,
        )?)))
    }
}
impl Lower for f32 {
    fn lower(&self, _: &mut Cx<'_>, _: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {
        dst.push(u128::from(canonicalize_nan32(*self).to_bits()));
        Ok(())
    }
    fn store(&self, cx: &mut Cx<'_>, _: InterfaceType, ptr: u32) -> Result<(), Trap> {
        store_bytes(cx, ptr, &canonicalize_nan32(*self).to_le_bytes())
    }
}

impl ComponentType for f64 {
    fn typecheck(ty: InterfaceType, _: &ComponentTypes) -> Result<(), String> {
        expect(ty, InterfaceType::Float64, "f64")
    }
}
impl Lift for f64 {
    fn lift(_: &mut Cx<'_>, _: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {
        Ok(canonicalize_nan64(f64::from_bits(src.next_u64())))
    }
    fn load(cx: &mut Cx<'_>, _: InterfaceType, ptr: u32) -> Result<Self, Trap> {
        Ok(canonicalize_nan64(f64::from_le_bytes(load_bytes::<8>(
            cx, ptr,
        )?)))
    }
}
impl Lower for f64 {
    fn lower(&self, _: &mut Cx<'_>, _: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {
        dst.push(u128::from(canonicalize_nan64(*self).to_bits()));
        Ok(())
    }
    fn store(&self, cx: &mut Cx<'_>, _: InterfaceType, ptr: u32) -> Result<(), Trap> {
        store_bytes(cx, ptr, &canonicalize_nan64(*self).to_le_bytes())
    }
}

impl ComponentType for char {
    fn typecheck(ty: InterfaceType, _: &ComponentTypes) -> Result<(), String> {
        expect(ty, InterfaceType::Char, "char")
    }
}
impl Lift for char {
    fn lift(_: &mut Cx<'_>, _: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {
        convert_i32_to_char(src.next_u32())
    }
    fn load(cx: &mut Cx<'_>, _: InterfaceType, ptr: u32) -> Result<Self, Trap> {
        convert_i32_to_char(u32::from_le_bytes(load_bytes::<4>(cx, ptr)?))
    }
}
impl Lower for char {
    fn lower(&self, _: &mut Cx<'_>, _: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {
        dst.push(u128::from(*self as u32));
        Ok(())
    }
    fn store(&self, cx: &mut Cx<'_>, _: InterfaceType, ptr: u32) -> Result<(), Trap> {
        store_bytes(cx, ptr, &(*self as u32).to_le_bytes())
    }
}

impl ComponentType for String {
    fn typecheck(ty: InterfaceType, _: &ComponentTypes) -> Result<(), String> {
        expect(ty, InterfaceType::String, "string")
    }
}
impl Lift for String {
    fn lift(cx: &mut Cx<'_>, _: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {
        let ptr = src.next_u32();
        let len = src.next_u32();
        load_string_from_range(cx, ptr, len)
    }
    fn load(cx: &mut Cx<'_>, _: InterfaceType, ptr: u32) -> Result<Self, Trap> {
        let begin = u32::from_le_bytes(load_bytes::<4>(cx, ptr)?);
        let len = u32::from_le_bytes(load_bytes::<4>(cx, ptr + 4)?);
        load_string_from_range(cx, begin, len)
    }
}
impl Lower for String {
    fn lower(&self, cx: &mut Cx<'_>, ty: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {
        self.as_str().lower(cx, ty, dst)
    }
    fn store(&self, cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<(), Trap> {
        self.as_str().store(cx, ty, ptr)
    }
}
impl ComponentType for str {
    fn typecheck(ty: InterfaceType, _: &ComponentTypes) -> Result<(), String> {
        expect(ty, InterfaceType::String, "string")
    }
}
impl Lower for str {
    fn lower(&self, cx: &mut Cx<'_>, _: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {
        let (ptr, len) = store_string_into_range(cx, self)?;
        dst.push(u128::from(ptr));
        dst.push(u128::from(len));
        Ok(())
    }
    fn store(&self, cx: &mut Cx<'_>, _: InterfaceType, ptr: u32) -> Result<(), Trap> {
        let (begin, len) = store_string_into_range(cx, self)?;
        store_bytes(cx, ptr, &begin.to_le_bytes())?;
        store_bytes(cx, ptr + 4, &len.to_le_bytes())
    }
}

impl<T: ComponentType + ?Sized> ComponentType for &T {
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<(), String> {
        T::typecheck(ty, types)
    }
}
impl<T: Lower + ?Sized> Lower for &T {
    fn lower(&self, cx: &mut Cx<'_>, ty: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {
        (**self).lower(cx, ty, dst)
    }
    fn store(&self, cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<(), Trap> {
        (**self).store(cx, ty, ptr)
    }
}

/// The definition of a defined type, or an error naming what was wanted.
#[doc(hidden)]
pub fn defined<'t>(
    ty: InterfaceType,
    types: &'t ComponentTypes,
    want: &str,
) -> Result<&'t TypeDef, String> {
    match ty {
        InterfaceType::Defined(i) => Ok(&types[i].def),
        other => Err(format!("expected {want}, found {other:?}")),
    }
}

fn list_elem(cx: &Cx<'_>, ty: InterfaceType) -> Result<InterfaceType, Trap> {
    match ty {
        InterfaceType::Defined(i) => match &cx.types[i].def {
            TypeDef::List(e) => Ok(*e),
            _ => Err(trap("type mismatch: expected a list")),
        },
        _ => Err(trap("type mismatch: expected a list")),
    }
}

fn check_list_range(cx: &Cx<'_>, elem: InterfaceType, ptr: u32, len: u32) -> Result<(), Trap> {
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
    Ok(())
}

impl<T: ComponentType> ComponentType for Vec<T> {
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<(), String> {
        match defined(ty, types, "list")? {
            TypeDef::List(e) => T::typecheck(*e, types),
            other => Err(format!("expected list, found {other:?}")),
        }
    }
}
impl<T: Lift> Lift for Vec<T> {
    fn lift(cx: &mut Cx<'_>, ty: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {
        let ptr = src.next_u32();
        let len = src.next_u32();
        let elem = list_elem(cx, ty)?;
        check_list_range(cx, elem, ptr, len)?;
        T::load_list(cx, elem, ptr, len)
    }
    fn load(cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<Self, Trap> {
        let begin = u32::from_le_bytes(load_bytes::<4>(cx, ptr)?);
        let len = u32::from_le_bytes(load_bytes::<4>(cx, ptr + 4)?);
        let elem = list_elem(cx, ty)?;
        check_list_range(cx, elem, begin, len)?;
        T::load_list(cx, elem, begin, len)
    }
}

/// `store_list_into_range` for typed elements.
fn store_list_into_range<T: Lower>(
    cx: &mut Cx<'_>,
    items: &[T],
    ty: InterfaceType,
) -> Result<(u32, u32), Trap> {
    let elem = list_elem(cx, ty)?;
    let (size, align) = cx.types.size_align(elem);
    let bytes = items.len() as u64 * u64::from(size);
    if bytes > MAX_LIST_BYTE_LENGTH {
        return Err(trap("list too long to lower"));
    }
    let ptr = cx.allocate(align, bytes as u32)?;
    if !ptr.is_multiple_of(align) {
        return Err(trap("realloc return: result not aligned"));
    }
    if u64::from(ptr) + bytes > cx.mem()?.len() as u64 {
        return Err(trap("realloc return: beyond end of memory"));
    }
    T::store_list(items, cx, elem, ptr)?;
    Ok((ptr, items.len() as u32))
}

impl<T: Lower> Lower for Vec<T> {
    fn lower(&self, cx: &mut Cx<'_>, ty: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {
        self.as_slice().lower(cx, ty, dst)
    }
    fn store(&self, cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<(), Trap> {
        self.as_slice().store(cx, ty, ptr)
    }
}
impl<T: ComponentType> ComponentType for [T] {
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<(), String> {
        Vec::<T>::typecheck(ty, types)
    }
}
impl<T: Lower> Lower for [T] {
    fn lower(&self, cx: &mut Cx<'_>, ty: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {
        let (ptr, len) = store_list_into_range(cx, self, ty)?;
        dst.push(u128::from(ptr));
        dst.push(u128::from(len));
        Ok(())
    }
    fn store(&self, cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<(), Trap> {
        let (begin, len) = store_list_into_range(cx, self, ty)?;
        store_bytes(cx, ptr, &begin.to_le_bytes())?;
        store_bytes(cx, ptr + 4, &len.to_le_bytes())
    }
}

/// The payload types of a two-case variant (`option`: none/some,
/// `result`: ok/err), the flat payload slots and the payload offset.
fn two_cases(
    cx: &Cx<'_>,
    ty: InterfaceType,
) -> Result<(Option<InterfaceType>, Option<InterfaceType>, usize, u32), Trap> {
    let InterfaceType::Defined(i) = ty else {
        return Err(trap("type mismatch: expected option or result"));
    };
    let info = &cx.types[i];
    let (a, b) = match &info.def {
        TypeDef::Option(t) => (None, Some(*t)),
        TypeDef::Result { ok, err } => (*ok, *err),
        _ => return Err(trap("type mismatch: expected option or result")),
    };
    let max_align = [a, b]
        .iter()
        .flatten()
        .map(|t| cx.types.size_align(*t).1)
        .max()
        .unwrap_or(1);
    let payload_slots = info.flat.len().saturating_sub(1);
    Ok((a, b, payload_slots, align_to(1, max_align)))
}

/// Lift a case payload from joined flat slots (the spec's coercions).
fn lift_payload<T: Lift>(
    cx: &mut Cx<'_>,
    ty: InterfaceType,
    slots: &[u128],
    joined: &[FlatType],
) -> Result<T, Trap> {
    let want: Vec<FlatType> = cx.types.flat(ty).iter().collect();
    let coerced: Vec<u128> = want
        .iter()
        .zip(joined.iter().zip(slots))
        .map(|(w, (h, x))| match (h, w) {
            (FlatType::I64, FlatType::I32 | FlatType::F32) | (FlatType::I32, FlatType::F32) => {
                u128::from(*x as u32)
            }
            _ => *x,
        })
        .collect();
    T::lift(cx, ty, &mut CoreValueIter::new(&coerced))
}

impl<T: ComponentType> ComponentType for Option<T> {
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<(), String> {
        match defined(ty, types, "option")? {
            TypeDef::Option(t) => T::typecheck(*t, types),
            other => Err(format!("expected option, found {other:?}")),
        }
    }
}
impl<T: Lift> Lift for Option<T> {
    fn lift(cx: &mut Cx<'_>, ty: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {
        let (_, some, n, _) = two_cases(cx, ty)?;
        let disc = src.next_u32();
        let slots: Vec<u128> = (0..n).map(|_| src.next_raw()).collect();
        match (disc, some) {
            (0, _) => Ok(None),
            (1, Some(t)) => {
                let joined: Vec<FlatType> = cx.types.flat(ty).iter().skip(1).collect();
                Ok(Some(lift_payload(cx, t, &slots, &joined)?))
            }
            _ => Err(bad_discriminant(disc as usize, 2)),
        }
    }
    fn load(cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<Self, Trap> {
        let (_, some, _, off) = two_cases(cx, ty)?;
        match (load_bytes::<1>(cx, ptr)?[0], some) {
            (0, _) => Ok(None),
            (1, Some(t)) => Ok(Some(T::load(cx, t, ptr + off)?)),
            (d, _) => Err(bad_discriminant(usize::from(d), 2)),
        }
    }
}
impl<T: Lower> Lower for Option<T> {
    fn lower(&self, cx: &mut Cx<'_>, ty: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {
        let (_, some, n, _) = two_cases(cx, ty)?;
        let start = dst.len();
        match (self, some) {
            (None, _) => dst.push(0),
            (Some(v), Some(t)) => {
                dst.push(1);
                v.lower(cx, t, dst)?;
            }
            (Some(_), None) => return Err(trap("type mismatch: option payload")),
        }
        dst.resize(start + 1 + n, 0);
        Ok(())
    }
    fn store(&self, cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<(), Trap> {
        let (_, some, _, off) = two_cases(cx, ty)?;
        match (self, some) {
            (None, _) => store_bytes(cx, ptr, &[0]),
            (Some(v), Some(t)) => {
                store_bytes(cx, ptr, &[1])?;
                v.store(cx, t, ptr + off)
            }
            (Some(_), None) => Err(trap("type mismatch: option payload")),
        }
    }
}

fn typecheck_arm<T: ComponentType>(
    arm: Option<InterfaceType>,
    types: &ComponentTypes,
) -> Result<(), String> {
    match arm {
        None if T::IS_UNIT => Ok(()),
        None => Err("expected a payload-less result arm".into()),
        Some(t) => T::typecheck(t, types),
    }
}

impl<T: ComponentType, E: ComponentType> ComponentType for Result<T, E> {
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<(), String> {
        match defined(ty, types, "result")? {
            TypeDef::Result { ok, err } => {
                typecheck_arm::<T>(*ok, types)?;
                typecheck_arm::<E>(*err, types)
            }
            other => Err(format!("expected result, found {other:?}")),
        }
    }
}

fn lift_arm<T: Lift>(
    cx: &mut Cx<'_>,
    arm: Option<InterfaceType>,
    slots: &[u128],
    joined: &[FlatType],
) -> Result<T, Trap> {
    match arm {
        Some(t) => lift_payload(cx, t, slots, joined),
        None => T::lift(cx, InterfaceType::Bool, &mut CoreValueIter::new(&[])),
    }
}

fn load_arm<T: Lift>(cx: &mut Cx<'_>, arm: Option<InterfaceType>, ptr: u32) -> Result<T, Trap> {
    match arm {
        Some(t) => T::load(cx, t, ptr),
        None => T::lift(cx, InterfaceType::Bool, &mut CoreValueIter::new(&[])),
    }
}

impl<T: Lift, E: Lift> Lift for Result<T, E> {
    fn lift(cx: &mut Cx<'_>, ty: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {
        let (ok, err, n, _) = two_cases(cx, ty)?;
        let disc = src.next_u32();
        let slots: Vec<u128> = (0..n).map(|_| src.next_raw()).collect();
        let joined: Vec<FlatType> = cx.types.flat(ty).iter().skip(1).collect();
        match disc {
            0 => Ok(Ok(lift_arm(cx, ok, &slots, &joined)?)),
            1 => Ok(Err(lift_arm(cx, err, &slots, &joined)?)),
            d => Err(bad_discriminant(d as usize, 2)),
        }
    }
    fn load(cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<Self, Trap> {
        let (ok, err, _, off) = two_cases(cx, ty)?;
        match load_bytes::<1>(cx, ptr)?[0] {
            0 => Ok(Ok(load_arm(cx, ok, ptr + off)?)),
            1 => Ok(Err(load_arm(cx, err, ptr + off)?)),
            d => Err(bad_discriminant(usize::from(d), 2)),
        }
    }
}
impl<T: Lower, E: Lower> Lower for Result<T, E> {
    fn lower(&self, cx: &mut Cx<'_>, ty: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {
        let (ok, err, n, _) = two_cases(cx, ty)?;
        let start = dst.len();
        match self {
            Ok(v) => {
                dst.push(0);
                if let Some(t) = ok {
                    v.lower(cx, t, dst)?;
                }
            }
            Err(e) => {
                dst.push(1);
                if let Some(t) = err {
                    e.lower(cx, t, dst)?;
                }
            }
        }
        dst.resize(start + 1 + n, 0);
        Ok(())
    }
    fn store(&self, cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<(), Trap> {
        let (ok, err, _, off) = two_cases(cx, ty)?;
        match self {
            Ok(v) => {
                store_bytes(cx, ptr, &[0])?;
                if let Some(t) = ok {
                    v.store(cx, t, ptr + off)?;
                }
            }
            Err(e) => {
                store_bytes(cx, ptr, &[1])?;
                if let Some(t) = err {
                    e.store(cx, t, ptr + off)?;
                }
            }
        }
        Ok(())
    }
}

impl ComponentType for () {
    const IS_UNIT: bool = true;
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<(), String> {
        match defined(ty, types, "tuple")? {
            TypeDef::Tuple(ts) if ts.is_empty() => Ok(()),
            other => Err(format!("expected an empty tuple, found {other:?}")),
        }
    }
}
impl Lift for () {
    fn lift(_: &mut Cx<'_>, _: InterfaceType, _: &mut CoreValueIter<'_>) -> Result<Self, Trap> {
        Ok(())
    }
    fn load(_: &mut Cx<'_>, _: InterfaceType, _: u32) -> Result<Self, Trap> {
        Ok(())
    }
}
impl Lower for () {
    fn lower(&self, _: &mut Cx<'_>, _: InterfaceType, _: &mut Vec<u128>) -> Result<(), Trap> {
        Ok(())
    }
    fn store(&self, _: &mut Cx<'_>, _: InterfaceType, _: u32) -> Result<(), Trap> {
        Ok(())
    }
}

fn tuple_types(cx: &Cx<'_>, ty: InterfaceType) -> Result<Vec<InterfaceType>, Trap> {
    match ty {
        InterfaceType::Defined(i) => match &cx.types[i].def {
            TypeDef::Tuple(ts) => Ok(ts.to_vec()),
            _ => Err(trap("type mismatch: expected a tuple")),
        },
        _ => Err(trap("type mismatch: expected a tuple")),
    }
}

macro_rules! tuples {
    ($($n:literal: $($t:ident $i:tt),+;)*) => {$(
        impl<$($t: ComponentType),+> ComponentType for ($($t,)+) {
            fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<(), String> {
                match defined(ty, types, "tuple")? {
                    TypeDef::Tuple(ts) if ts.len() == $n => {
                        $($t::typecheck(ts[$i], types)?;)+
                        Ok(())
                    }
                    other => Err(format!("expected a tuple of {}, found {other:?}", $n)),
                }
            }
        }
        impl<$($t: Lift),+> Lift for ($($t,)+) {
            fn lift(cx: &mut Cx<'_>, ty: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {
                let ts = tuple_types(cx, ty)?;
                Ok(($($t::lift(cx, ts[$i], src)?,)+))
            }
            fn load(cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<Self, Trap> {
                let ts = tuple_types(cx, ty)?;
                let mut p = ptr;
                Ok(($({
                    let (size, align) = cx.types.size_align(ts[$i]);
                    p = align_to(p, align);
                    let v = $t::load(cx, ts[$i], p)?;
                    p += size;
                    let _ = p;
                    v
                },)+))
            }
        }
        impl<$($t: Lower),+> Lower for ($($t,)+) {
            fn lower(&self, cx: &mut Cx<'_>, ty: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {
                let ts = tuple_types(cx, ty)?;
                $(self.$i.lower(cx, ts[$i], dst)?;)+
                Ok(())
            }
            fn store(&self, cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<(), Trap> {
                let ts = tuple_types(cx, ty)?;
                let mut p = ptr;
                $({
                    let (size, align) = cx.types.size_align(ts[$i]);
                    p = align_to(p, align);
                    self.$i.store(cx, ts[$i], p)?;
                    p += size;
                    let _ = p;
                })+
                Ok(())
            }
        }
    )*};
}

tuples! {
    1: A 0;
    2: A 0, B 1;
    3: A 0, B 1, C 2;
    4: A 0, B 1, C 2, D 3;
    5: A 0, B 1, C 2, D 3, E 4;
    6: A 0, B 1, C 2, D 3, E 4, F 5;
    7: A 0, B 1, C 2, D 3, E 4, F 5, G 6;
    8: A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7;
}

fn resource_index(ty: InterfaceType) -> Option<(super::types::ResourceIndex, bool)> {
    match ty {
        InterfaceType::Own(r) => Some((r, true)),
        InterfaceType::Borrow(r) => Some((r, false)),
        _ => None,
    }
}

impl<T: 'static> ComponentType for Resource<T> {
    fn typecheck(ty: InterfaceType, _: &ComponentTypes) -> Result<(), String> {
        resource_index(ty)
            .map(|_| ())
            .ok_or_else(|| format!("expected own or borrow, found {ty:?}"))
    }
}
impl<T: 'static> Lift for Resource<T> {
    fn lift(cx: &mut Cx<'_>, ty: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {
        let any = ResourceAny::lift(cx, ty, src)?;
        any.try_into_resource()
            .ok_or_else(|| trap("handle has the wrong resource type"))
    }
    fn load(cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<Self, Trap> {
        let i = u32::from_le_bytes(load_bytes::<4>(cx, ptr)?);
        Self::lift(cx, ty, &mut CoreValueIter::new(&[u128::from(i)]))
    }
}
impl<T: 'static> Lower for Resource<T> {
    fn lower(&self, cx: &mut Cx<'_>, ty: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {
        let any = ResourceAny {
            ty: ResourceType::host::<T>(),
            rep: self.rep(),
            own: self.owned(),
        };
        any.lower(cx, ty, dst)
    }
    fn store(&self, cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<(), Trap> {
        let mut v = Vec::with_capacity(1);
        self.lower(cx, ty, &mut v)?;
        store_bytes(cx, ptr, &(v[0] as u32).to_le_bytes())
    }
}

impl ComponentType for ResourceAny {
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<(), String> {
        Resource::<()>::typecheck(ty, types)
    }
}
impl Lift for ResourceAny {
    fn lift(cx: &mut Cx<'_>, ty: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {
        let (r, own) =
            resource_index(ty).ok_or_else(|| trap("type mismatch: expected a handle"))?;
        let i = src.next_u32();
        let rep = if own {
            cx.lift_own(i, r)?
        } else {
            cx.lift_borrow(i, r)?
        };
        Ok(ResourceAny {
            ty: cx.resource_type(r),
            rep,
            own,
        })
    }
    fn load(cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<Self, Trap> {
        let i = u32::from_le_bytes(load_bytes::<4>(cx, ptr)?);
        Self::lift(cx, ty, &mut CoreValueIter::new(&[u128::from(i)]))
    }
}
impl Lower for ResourceAny {
    fn lower(&self, cx: &mut Cx<'_>, ty: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {
        let (r, own) =
            resource_index(ty).ok_or_else(|| trap("type mismatch: expected a handle"))?;
        if cx.resource_type(r) != self.ty {
            return Err(trap("type mismatch: resource of another type"));
        }
        let h = if own {
            if !self.own {
                return Err(trap(
                    "type mismatch: expected an owned resource, found a borrow",
                ));
            }
            cx.lower_own(self.rep, r)?
        } else {
            cx.lower_borrow(self.rep, r)?
        };
        dst.push(u128::from(h));
        Ok(())
    }
    fn store(&self, cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<(), Trap> {
        let mut v = Vec::with_capacity(1);
        self.lower(cx, ty, &mut v)?;
        store_bytes(cx, ptr, &(v[0] as u32).to_le_bytes())
    }
}

/// Any value through the dynamic path.
impl ComponentType for Val {
    fn typecheck(_: InterfaceType, _: &ComponentTypes) -> Result<(), String> {
        Ok(())
    }
}
impl Lift for Val {
    fn lift(cx: &mut Cx<'_>, ty: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {
        super::abi::lift::lift_flat(cx, src, ty)
    }
    fn load(cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<Self, Trap> {
        super::abi::lift::load(cx, ptr, ty)
    }
}
impl Lower for Val {
    fn lower(&self, cx: &mut Cx<'_>, ty: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {
        super::abi::lower::lower_flat(cx, self, ty, dst)
    }
    fn store(&self, cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<(), Trap> {
        super::abi::lower::store(cx, self, ty, ptr)
    }
}

/// A list of parameters or results: a tuple of typed values, checked and
/// moved as a whole (the function's flat signature decides whether they
/// travel as core values or through memory).
pub trait ComponentNamedList {
    /// Check the types, in order.
    ///
    /// # Errors
    ///
    /// What differs.
    #[doc(hidden)]
    fn typecheck_list(tys: &[InterfaceType], types: &ComponentTypes) -> Result<(), String>;
}

/// A parameter or result list that can be lifted.
pub trait LiftList: ComponentNamedList + Sized {
    /// Lift every value from flat values.
    ///
    /// # Errors
    ///
    /// A canonical-ABI trap.
    #[doc(hidden)]
    fn lift_list(
        cx: &mut Cx<'_>,
        tys: &[InterfaceType],
        src: &mut CoreValueIter<'_>,
    ) -> Result<Self, Trap>;
    /// Load every value from memory at `ptr` (a tuple's layout).
    ///
    /// # Errors
    ///
    /// A canonical-ABI trap.
    #[doc(hidden)]
    fn load_list(cx: &mut Cx<'_>, tys: &[InterfaceType], ptr: u32) -> Result<Self, Trap>;
}

/// A parameter or result list that can be lowered.
pub trait LowerList: ComponentNamedList {
    /// Lower every value to flat values.
    ///
    /// # Errors
    ///
    /// A canonical-ABI trap.
    #[doc(hidden)]
    fn lower_list(
        &self,
        cx: &mut Cx<'_>,
        tys: &[InterfaceType],
        dst: &mut Vec<u128>,
    ) -> Result<(), Trap>;
    /// Store every value at `ptr` (a tuple's layout).
    ///
    /// # Errors
    ///
    /// A canonical-ABI trap.
    #[doc(hidden)]
    fn store_list(&self, cx: &mut Cx<'_>, tys: &[InterfaceType], ptr: u32) -> Result<(), Trap>;
}

macro_rules! named_lists {
    ($($n:literal: $($t:ident $i:tt),*;)*) => {$(
        impl<$($t: ComponentType),*> ComponentNamedList for ($($t,)*) {
            #[allow(unused_variables, reason = "the empty list checks nothing")]
            fn typecheck_list(tys: &[InterfaceType], types: &ComponentTypes) -> Result<(), String> {
                if tys.len() != $n {
                    return Err(format!("expected {} values, found {}", $n, tys.len()));
                }
                $($t::typecheck(tys[$i], types)?;)*
                Ok(())
            }
        }
        impl<$($t: Lift),*> LiftList for ($($t,)*) {
            #[allow(unused_variables, clippy::unused_unit, reason = "the empty list reads nothing")]
            fn lift_list(cx: &mut Cx<'_>, tys: &[InterfaceType], src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {
                Ok(($($t::lift(cx, tys[$i], src)?,)*))
            }
            #[allow(unused_variables, unused_mut, clippy::unused_unit, reason = "the empty list reads nothing")]
            fn load_list(cx: &mut Cx<'_>, tys: &[InterfaceType], ptr: u32) -> Result<Self, Trap> {
                let mut l = bind::Layout::new(ptr);
                Ok(($({
                    let p = l.next(cx, tys[$i]);
                    $t::load(cx, tys[$i], p)?
                },)*))
            }
        }
        impl<$($t: Lower),*> LowerList for ($($t,)*) {
            #[allow(unused_variables, reason = "the empty list writes nothing")]
            fn lower_list(&self, cx: &mut Cx<'_>, tys: &[InterfaceType], dst: &mut Vec<u128>) -> Result<(), Trap> {
                $(self.$i.lower(cx, tys[$i], dst)?;)*
                Ok(())
            }
            #[allow(unused_variables, unused_mut, reason = "the empty list writes nothing")]
            fn store_list(&self, cx: &mut Cx<'_>, tys: &[InterfaceType], ptr: u32) -> Result<(), Trap> {
                let mut l = bind::Layout::new(ptr);
                $({
                    let p = l.next(cx, tys[$i]);
                    self.$i.store(cx, tys[$i], p)?;
                })*
                Ok(())
            }
        }
    )*};
}

named_lists! {
    0: ;
    1: A 0;
    2: A 0, B 1;
    3: A 0, B 1, C 2;
    4: A 0, B 1, C 2, D 3;
    5: A 0, B 1, C 2, D 3, E 4;
    6: A 0, B 1, C 2, D 3, E 4, F 5;
    7: A 0, B 1, C 2, D 3, E 4, F 5, G 6;
    8: A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7;
    9: A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8;
    10: A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9;
}

/// Helpers for generated bindings of records, variants, enums and flags.
#[doc(hidden)]
pub mod bind {
    use super::{
        CoreValueIter, Cx, FlatType, InterfaceType, Lift, Lower, Trap, TypeDef, align_to, trap,
    };
    use crate::component::abi::lift::cases_of;
    use crate::component::types::{Case, ComponentTypes, Field, discriminant_size};

    fn mismatch(want: &str, ty: InterfaceType) -> String {
        format!("expected {want}, found {ty:?}")
    }

    /// Check a record's field names; its fields.
    ///
    /// # Errors
    ///
    /// What differs.
    pub fn record_fields<'t>(
        ty: InterfaceType,
        types: &'t ComponentTypes,
        names: &[&str],
    ) -> Result<&'t [Field], String> {
        match ty {
            InterfaceType::Defined(i) => match &types[i].def {
                TypeDef::Record(fields)
                    if fields.len() == names.len()
                        && fields.iter().zip(names).all(|(f, n)| *f.name == **n) =>
                {
                    Ok(fields)
                }
                _ => Err(mismatch(&format!("record {{ {} }}", names.join(", ")), ty)),
            },
            _ => Err(mismatch("a record", ty)),
        }
    }

    /// Check a variant's (or enum's) case names; its cases as payload
    /// types.
    ///
    /// # Errors
    ///
    /// What differs.
    pub fn variant_cases(
        ty: InterfaceType,
        types: &ComponentTypes,
        names: &[&str],
    ) -> Result<Vec<Option<InterfaceType>>, String> {
        let InterfaceType::Defined(i) = ty else {
            return Err(mismatch("a variant", ty));
        };
        let (got, cases): (Vec<&str>, Vec<Option<InterfaceType>>) = match &types[i].def {
            TypeDef::Variant(cases) => cases.iter().map(|c: &Case| (&*c.name, c.ty)).unzip(),
            TypeDef::Enum(names) => names.iter().map(|n| (&**n, None)).unzip(),
            _ => return Err(mismatch("a variant", ty)),
        };
        if got != names {
            return Err(mismatch(&format!("cases {}", names.join(", ")), ty));
        }
        Ok(cases)
    }

    /// Check that a case has a payload of type `T`, or none.
    ///
    /// # Errors
    ///
    /// What differs.
    pub fn check_payload<T: super::ComponentType>(
        case: Option<InterfaceType>,
        types: &ComponentTypes,
    ) -> Result<(), String> {
        match case {
            Some(t) => T::typecheck(t, types),
            None => Err("a case without payload where one was expected".into()),
        }
    }

    /// Check that a case has no payload.
    ///
    /// # Errors
    ///
    /// What differs.
    pub fn check_no_payload(case: Option<InterfaceType>) -> Result<(), String> {
        match case {
            None => Ok(()),
            Some(t) => Err(format!("a case with payload {t:?} where none was expected")),
        }
    }

    /// Check a flags type's names.
    ///
    /// # Errors
    ///
    /// What differs.
    pub fn flags_names(
        ty: InterfaceType,
        types: &ComponentTypes,
        names: &[&str],
    ) -> Result<(), String> {
        match ty {
            InterfaceType::Defined(i) => match &types[i].def {
                TypeDef::Flags(have)
                    if have.len() == names.len()
                        && have.iter().zip(names).all(|(a, b)| **a == **b) =>
                {
                    Ok(())
                }
                _ => Err(mismatch("flags", ty)),
            },
            _ => Err(mismatch("flags", ty)),
        }
    }

    /// A record's fields, checked to be `n` (the typecheck made sure).
    ///
    /// # Errors
    ///
    /// A trap when the type is not a record of `n` fields.
    pub fn fields<'t>(cx: &Cx<'t>, ty: InterfaceType, n: usize) -> Result<&'t [Field], Trap> {
        let types: &'t ComponentTypes = cx.types;
        match ty {
            InterfaceType::Defined(i) => match &types[i].def {
                TypeDef::Record(f) if f.len() == n => Ok(f),
                _ => Err(trap("type mismatch: record")),
            },
            _ => Err(trap("type mismatch: record")),
        }
    }

    /// Offsets of consecutive fields from a base address.
    pub struct Layout {
        at: u32,
    }

    impl Layout {
        /// Start at `ptr`.
        pub fn new(ptr: u32) -> Self {
            Layout { at: ptr }
        }

        /// The address of the next field, of type `ty`.
        pub fn next(&mut self, cx: &Cx<'_>, ty: InterfaceType) -> u32 {
            let (size, align) = cx.types.size_align(ty);
            let p = align_to(self.at, align);
            self.at = p.wrapping_add(size);
            p
        }
    }

    /// A variant being lifted from flat values.
    pub struct VariantLift {
        case: u32,
        payload_ty: Option<InterfaceType>,
        slots: Vec<u128>,
        joined: Vec<FlatType>,
    }

    impl VariantLift {
        /// Read the discriminant and the payload slots.
        ///
        /// # Errors
        ///
        /// The trap for a bad discriminant.
        pub fn new(
            cx: &Cx<'_>,
            ty: InterfaceType,
            src: &mut CoreValueIter<'_>,
        ) -> Result<Self, Trap> {
            let cases = cases_of(cx, ty);
            let joined: Vec<FlatType> = cx.types.flat(ty).iter().skip(1).collect();
            let case = src.next_u32();
            let slots = joined.iter().map(|_| src.next_raw()).collect();
            let payload_ty = *cases.get(case as usize).ok_or_else(|| {
                crate::component::abi::lift::bad_discriminant(case as usize, cases.len())
            })?;
            Ok(VariantLift {
                case,
                payload_ty,
                slots,
                joined,
            })
        }

        /// The case index.
        pub fn case(&self) -> u32 {
            self.case
        }

        /// The payload.
        ///
        /// # Errors
        ///
        /// A canonical-ABI trap.
        pub fn payload<T: Lift>(&self, cx: &mut Cx<'_>) -> Result<T, Trap> {
            let ty = self
                .payload_ty
                .ok_or_else(|| trap("type mismatch: case has no payload"))?;
            super::lift_payload(cx, ty, &self.slots, &self.joined)
        }
    }

    /// A variant being loaded from memory.
    pub struct VariantLoad {
        case: u32,
        payload_ty: Option<InterfaceType>,
        payload_ptr: u32,
    }

    impl VariantLoad {
        /// Read the discriminant at `ptr`.
        ///
        /// # Errors
        ///
        /// The trap for a bad discriminant or an out-of-bounds read.
        pub fn new(cx: &Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<Self, Trap> {
            let cases = cases_of(cx, ty);
            let disc = discriminant_size(cases.len());
            let b = cx.bytes(ptr, disc, "out of bounds memory access")?;
            let mut buf = [0u8; 4];
            buf[..b.len()].copy_from_slice(b);
            let case = u32::from_le_bytes(buf);
            let payload_ty = *cases.get(case as usize).ok_or_else(|| {
                crate::component::abi::lift::bad_discriminant(case as usize, cases.len())
            })?;
            let max_align = cases
                .iter()
                .flatten()
                .map(|t| cx.types.size_align(*t).1)
                .max()
                .unwrap_or(1);
            Ok(VariantLoad {
                case,
                payload_ty,
                payload_ptr: align_to(ptr.wrapping_add(disc), max_align),
            })
        }

        /// The case index.
        pub fn case(&self) -> u32 {
            self.case
        }

        /// The payload.
        ///
        /// # Errors
        ///
        /// A canonical-ABI trap.
        pub fn payload<T: Lift>(&self, cx: &mut Cx<'_>) -> Result<T, Trap> {
            let ty = self
                .payload_ty
                .ok_or_else(|| trap("type mismatch: case has no payload"))?;
            T::load(cx, ty, self.payload_ptr)
        }
    }

    /// Lower case `case` with an optional payload.
    ///
    /// # Errors
    ///
    /// A canonical-ABI trap.
    pub fn lower_variant<P: Lower + ?Sized>(
        cx: &mut Cx<'_>,
        ty: InterfaceType,
        dst: &mut Vec<u128>,
        case: u32,
        payload: Option<&P>,
    ) -> Result<(), Trap> {
        let cases = cases_of(cx, ty);
        let n = cx.types.flat(ty).len().saturating_sub(1);
        let start = dst.len();
        dst.push(u128::from(case));
        if let (Some(p), Some(Some(pt))) = (payload, cases.get(case as usize)) {
            p.lower(cx, *pt, dst)?;
        }
        dst.resize(start + 1 + n, 0);
        Ok(())
    }

    /// Store case `case` with an optional payload at `ptr`.
    ///
    /// # Errors
    ///
    /// A canonical-ABI trap.
    pub fn store_variant<P: Lower + ?Sized>(
        cx: &mut Cx<'_>,
        ty: InterfaceType,
        ptr: u32,
        case: u32,
        payload: Option<&P>,
    ) -> Result<(), Trap> {
        let cases = cases_of(cx, ty);
        let disc = discriminant_size(cases.len());
        cx.bytes_mut(ptr, disc, "out of bounds memory access")?
            .copy_from_slice(&case.to_le_bytes()[..disc as usize]);
        let max_align = cases
            .iter()
            .flatten()
            .map(|t| cx.types.size_align(*t).1)
            .max()
            .unwrap_or(1);
        if let (Some(p), Some(Some(pt))) = (payload, cases.get(case as usize)) {
            p.store(cx, *pt, align_to(ptr.wrapping_add(disc), max_align))?;
        }
        Ok(())
    }

    /// Load a flags value at `ptr`.
    ///
    /// # Errors
    ///
    /// An out-of-bounds trap.
    pub fn load_flags(cx: &Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<u32, Trap> {
        let (size, _) = cx.types.size_align(ty);
        let b = cx.bytes(ptr, size, "out of bounds memory access")?;
        let mut buf = [0u8; 4];
        buf[..b.len()].copy_from_slice(b);
        Ok(u32::from_le_bytes(buf))
    }

    /// Store a flags value at `ptr`.
    ///
    /// # Errors
    ///
    /// An out-of-bounds trap.
    pub fn store_flags(
        cx: &mut Cx<'_>,
        ty: InterfaceType,
        ptr: u32,
        bits: u32,
    ) -> Result<(), Trap> {
        let (size, _) = cx.types.size_align(ty);
        cx.bytes_mut(ptr, size, "out of bounds memory access")?
            .copy_from_slice(&bits.to_le_bytes()[..size as usize]);
        Ok(())
    }
}
