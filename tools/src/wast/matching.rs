//! Turning script constants into [`Value`]s and checking results against the
//! script's expectations (`nan:canonical`, `nan:arithmetic`, `ref.*`, lanes).

use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::{WastArg, WastRet};

use super::backend::{AnyValue, Value};

/// Converts an `invoke` argument.
///
/// # Errors
///
/// A one-line reason when the argument is not a core value ringwasm supports.
pub(crate) fn arg_value(arg: &WastArg<'_>) -> Result<Value, String> {
    let core = match arg {
        WastArg::Core(core) => core,
        WastArg::Component(v) => return Ok(Value::Component(component_val(v)?)),
        _ => return Err("unsupported argument kind".into()),
    };
    Ok(match core {
        WastArgCore::I32(v) => Value::I32(*v),
        WastArgCore::I64(v) => Value::I64(*v),
        WastArgCore::F32(v) => Value::F32(v.bits),
        WastArgCore::F64(v) => Value::F64(v.bits),
        WastArgCore::V128(v) => Value::V128(u128::from_le_bytes(v.to_le_bytes())),
        WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Func | AbstractHeapType::NoFunc,
            ..
        }) => Value::FuncRef(false),
        WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern,
            ..
        }) => Value::ExternRef(None),
        WastArgCore::RefNull(HeapType::Abstract {
            ty:
                AbstractHeapType::Any
                | AbstractHeapType::Eq
                | AbstractHeapType::I31
                | AbstractHeapType::Struct
                | AbstractHeapType::Array
                | AbstractHeapType::None,
            ..
        }) => Value::AnyRef(None),
        WastArgCore::RefNull(other) => {
            return Err(format!("unsupported null reference type {other:?}"));
        }
        WastArgCore::RefExtern(n) => Value::ExternRef(Some(u64::from(*n))),
        WastArgCore::RefHost(n) => Value::AnyRef(Some(AnyValue::Host(u64::from(*n)))),
    })
}

/// Checks one result against one expectation; `Err` says why it differs.
pub(crate) fn check_result(actual: &Value, expected: &WastRet<'_>) -> Result<(), String> {
    let expected = match expected {
        WastRet::Core(core) => core,
        WastRet::Component(e) => {
            let Value::Component(a) = actual else {
                return Err(format!("expected a component value, got {actual}"));
            };
            return if component_matches(a, e) {
                Ok(())
            } else {
                Err(format!("expected {e:?}, got {a:?}"))
            };
        }
        _ => return Err("unsupported result kind".into()),
    };
    if matches_core(actual, expected)? {
        Ok(())
    } else {
        Err(format!("expected {}, got {actual}", describe(expected)))
    }
}

fn matches_core(actual: &Value, expected: &WastRetCore<'_>) -> Result<bool, String> {
    Ok(match (expected, actual) {
        (WastRetCore::I32(e), Value::I32(a)) => e == a,
        (WastRetCore::I64(e), Value::I64(a)) => e == a,
        (WastRetCore::F32(p), Value::F32(a)) => f32_matches(*a, p),
        (WastRetCore::F64(p), Value::F64(a)) => f64_matches(*a, p),
        (WastRetCore::V128(p), Value::V128(a)) => v128_matches(*a, p),
        (WastRetCore::RefNull(ty), Value::FuncRef(non_null)) => {
            !non_null && null_type_allows(ty.as_ref(), Hierarchy::Func)
        }
        (WastRetCore::RefNull(ty), Value::ExternRef(payload)) => {
            payload.is_none() && null_type_allows(ty.as_ref(), Hierarchy::Extern)
        }
        (WastRetCore::RefNull(ty), Value::AnyRef(payload)) => {
            payload.is_none() && null_type_allows(ty.as_ref(), Hierarchy::Any)
        }
        (WastRetCore::RefExtern(None), Value::ExternRef(payload)) => payload.is_some(),
        (WastRetCore::RefExtern(None), Value::ExternGc) => true,
        (WastRetCore::RefHost(n), Value::AnyRef(Some(AnyValue::Host(m)))) => u64::from(*n) == *m,
        (WastRetCore::RefAny, Value::AnyRef(Some(_))) => true,
        (WastRetCore::RefEq, Value::AnyRef(Some(v))) => !matches!(v, AnyValue::Host(_)),
        (WastRetCore::RefI31, Value::AnyRef(Some(AnyValue::I31(_)))) => true,
        (WastRetCore::RefStruct, Value::AnyRef(Some(AnyValue::Struct))) => true,
        (WastRetCore::RefArray, Value::AnyRef(Some(AnyValue::Array))) => true,
        (WastRetCore::RefExtern(Some(n)), Value::ExternRef(payload)) => {
            *payload == Some(u64::from(*n))
        }
        (WastRetCore::RefFunc(_), Value::FuncRef(non_null)) => *non_null,
        (WastRetCore::Either(options), _) => {
            for option in options {
                if matches_core(actual, option)? {
                    return Ok(true);
                }
            }
            false
        }
        (WastRetCore::RefI31Shared, _) => {
            return Err(format!("unsupported expectation {}", describe(expected)));
        }
        _ => false,
    })
}

/// The hierarchy of a null result (exception nulls arrive as extern ones).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hierarchy {
    Func,
    Extern,
    Any,
}

fn null_type_allows(ty: Option<&HeapType<'_>>, actual: Hierarchy) -> bool {
    match ty {
        None => true,
        Some(HeapType::Abstract { ty, .. }) => match ty {
            AbstractHeapType::Func | AbstractHeapType::NoFunc => actual == Hierarchy::Func,
            AbstractHeapType::Extern | AbstractHeapType::NoExtern => actual == Hierarchy::Extern,
            AbstractHeapType::Any
            | AbstractHeapType::Eq
            | AbstractHeapType::I31
            | AbstractHeapType::Struct
            | AbstractHeapType::Array
            | AbstractHeapType::None => actual == Hierarchy::Any,
            _ => true,
        },
        // A concrete type: a function type or a struct/array type.
        Some(_) => actual != Hierarchy::Extern,
    }
}

fn f32_matches(bits: u32, pattern: &NanPattern<wast::token::F32>) -> bool {
    let is_nan = bits & 0x7f80_0000 == 0x7f80_0000 && bits & 0x007f_ffff != 0;
    match pattern {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => is_nan && bits & 0x0040_0000 != 0,
        NanPattern::Value(v) => v.bits == bits,
    }
}

fn f64_matches(bits: u64, pattern: &NanPattern<wast::token::F64>) -> bool {
    const EXP: u64 = 0x7ff0_0000_0000_0000;
    const QUIET: u64 = 0x0008_0000_0000_0000;
    let is_nan = bits & EXP == EXP && bits & 0x000f_ffff_ffff_ffff != 0;
    match pattern {
        NanPattern::CanonicalNan => bits & !(1 << 63) == EXP | QUIET,
        NanPattern::ArithmeticNan => is_nan && bits & QUIET != 0,
        NanPattern::Value(v) => v.bits == bits,
    }
}

fn v128_matches(actual: u128, pattern: &V128Pattern) -> bool {
    let bytes = actual.to_le_bytes();
    let lane = |i: usize, width: usize| -> u64 {
        let mut buf = [0u8; 8];
        buf[..width].copy_from_slice(&bytes[i * width..(i + 1) * width]);
        u64::from_le_bytes(buf)
    };
    match pattern {
        V128Pattern::I8x16(lanes) => (0..16).all(|i| lane(i, 1) == u64::from(lanes[i] as u8)),
        V128Pattern::I16x8(lanes) => (0..8).all(|i| lane(i, 2) == u64::from(lanes[i] as u16)),
        V128Pattern::I32x4(lanes) => (0..4).all(|i| lane(i, 4) == u64::from(lanes[i] as u32)),
        V128Pattern::I64x2(lanes) => (0..2).all(|i| lane(i, 8) == lanes[i] as u64),
        V128Pattern::F32x4(lanes) => (0..4).all(|i| {
            let bits = u32::try_from(lane(i, 4)).unwrap_or(u32::MAX);
            f32_matches(bits, &lanes[i])
        }),
        V128Pattern::F64x2(lanes) => (0..2).all(|i| f64_matches(lane(i, 8), &lanes[i])),
    }
}

fn describe(expected: &WastRetCore<'_>) -> String {
    fn nan<T>(p: &NanPattern<T>, value: impl Fn(&T) -> String) -> String {
        match p {
            NanPattern::CanonicalNan => "nan:canonical".into(),
            NanPattern::ArithmeticNan => "nan:arithmetic".into(),
            NanPattern::Value(v) => value(v),
        }
    }
    match expected {
        WastRetCore::I32(v) => format!("i32:{v}"),
        WastRetCore::I64(v) => format!("i64:{v}"),
        WastRetCore::F32(p) => nan(p, |v| {
            format!("f32:{} ({:#010x})", f32::from_bits(v.bits), v.bits)
        }),
        WastRetCore::F64(p) => nan(p, |v| {
            format!("f64:{} ({:#018x})", f64::from_bits(v.bits), v.bits)
        }),
        WastRetCore::V128(p) => format!("v128 {p:?}"),
        WastRetCore::RefNull(_) => "ref.null".into(),
        WastRetCore::RefExtern(Some(n)) => format!("ref.extern {n}"),
        WastRetCore::RefExtern(None) => "ref.extern".into(),
        WastRetCore::RefFunc(_) => "ref.func".into(),
        WastRetCore::Either(options) => {
            let all: Vec<String> = options.iter().map(describe).collect();
            format!("either({})", all.join(" | "))
        }
        other => format!("{other:?}"),
    }
}

/// Spellings of one trap that different spec versions (and engines) use.
const TRAP_ALIASES: &[&[&str]] = &[
    &[
        "undefined element",
        "out of bounds table access",
        "table out of bounds",
    ],
    &["out of bounds memory access", "memory access out of bounds"],
    &["uninitialized element", "null function", "uninitialized"],
    // The GC proposal's interpreter names the kind of reference; wasmtime
    // (and ringwasm) say "null reference".
    &[
        "null reference",
        "null structure reference",
        "null array reference",
        "null i31 reference",
    ],
];

/// Whether a trap's `actual` message satisfies the script's `expected` one:
/// the spec message is a prefix of what the reference interpreter prints,
/// so containment is the test, with a few known spellings treated as equal.
pub(crate) fn trap_message_matches(actual: &str, expected: &str) -> bool {
    if actual.contains(expected) {
        return true;
    }
    TRAP_ALIASES.iter().any(|class| {
        class.iter().any(|e| expected.starts_with(e)) && class.iter().any(|a| actual.contains(a))
    })
}

/// A script's component value as the engine's.
fn component_val(v: &wast::component::WastVal<'_>) -> Result<ringwasm_jit::component::Val, String> {
    use ringwasm_jit::component::Val;
    use wast::component::WastVal as W;
    let boxed = |o: &Option<Box<W<'_>>>| -> Result<Option<Box<Val>>, String> {
        o.as_deref()
            .map(|v| component_val(v).map(Box::new))
            .transpose()
    };
    Ok(match v {
        W::Bool(b) => Val::Bool(*b),
        W::U8(x) => Val::U8(*x),
        W::S8(x) => Val::S8(*x),
        W::U16(x) => Val::U16(*x),
        W::S16(x) => Val::S16(*x),
        W::U32(x) => Val::U32(*x),
        W::S32(x) => Val::S32(*x),
        W::U64(x) => Val::U64(*x),
        W::S64(x) => Val::S64(*x),
        W::F32(x) => Val::Float32(f32::from_bits(x.bits)),
        W::F64(x) => Val::Float64(f64::from_bits(x.bits)),
        W::Char(c) => Val::Char(*c),
        W::String(s) => Val::String((*s).to_owned()),
        W::List(items) => Val::List(items.iter().map(component_val).collect::<Result<_, _>>()?),
        W::Map(entries) => Val::List(
            entries
                .iter()
                .map(|(k, v)| Ok(Val::Tuple(vec![component_val(k)?, component_val(v)?])))
                .collect::<Result<_, String>>()?,
        ),
        W::Record(fields) => Val::Record(
            fields
                .iter()
                .map(|(n, v)| Ok(((*n).to_owned(), component_val(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        W::Tuple(items) => Val::Tuple(items.iter().map(component_val).collect::<Result<_, _>>()?),
        W::Variant(name, payload) => Val::Variant((*name).to_owned(), boxed(payload)?),
        W::Enum(name) => Val::Enum((*name).to_owned()),
        W::Option(o) => Val::Option(boxed(o)?),
        W::Result(r) => Val::Result(match r {
            Ok(o) => Ok(boxed(o)?),
            Err(o) => Err(boxed(o)?),
        }),
        W::Flags(names) => Val::Flags(names.iter().map(|n| (*n).to_owned()).collect()),
    })
}

/// Whether a component value is what a script expects (NaNs match NaNs;
/// flags in any order).
fn component_matches(a: &ringwasm_jit::component::Val, e: &wast::component::WastVal<'_>) -> bool {
    use ringwasm_jit::component::Val;
    use wast::component::WastVal as W;
    let opt = |a: &Option<Box<Val>>, e: &Option<Box<W<'_>>>| match (a, e) {
        (None, None) => true,
        (Some(a), Some(e)) => component_matches(a, e),
        _ => false,
    };
    match (a, e) {
        (Val::Bool(a), W::Bool(e)) => a == e,
        (Val::U8(a), W::U8(e)) => a == e,
        (Val::S8(a), W::S8(e)) => a == e,
        (Val::U16(a), W::U16(e)) => a == e,
        (Val::S16(a), W::S16(e)) => a == e,
        (Val::U32(a), W::U32(e)) => a == e,
        (Val::S32(a), W::S32(e)) => a == e,
        (Val::U64(a), W::U64(e)) => a == e,
        (Val::S64(a), W::S64(e)) => a == e,
        (Val::Float32(a), W::F32(e)) => {
            let e = f32::from_bits(e.bits);
            (a.is_nan() && e.is_nan()) || a.to_bits() == e.to_bits()
        }
        (Val::Float64(a), W::F64(e)) => {
            let e = f64::from_bits(e.bits);
            (a.is_nan() && e.is_nan()) || a.to_bits() == e.to_bits()
        }
        (Val::Char(a), W::Char(e)) => a == e,
        (Val::String(a), W::String(e)) => a == e,
        (Val::List(a), W::List(e)) | (Val::Tuple(a), W::Tuple(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(a, e)| component_matches(a, e))
        }
        (Val::Record(a), W::Record(e)) => {
            a.len() == e.len()
                && a.iter()
                    .zip(e)
                    .all(|((an, av), (en, ev))| an == en && component_matches(av, ev))
        }
        (Val::Variant(an, ap), W::Variant(en, ep)) => an == en && opt(ap, ep),
        (Val::Enum(a), W::Enum(e)) => a == e,
        (Val::Option(a), W::Option(e)) => opt(a, e),
        (Val::Result(Ok(a)), W::Result(Ok(e))) | (Val::Result(Err(a)), W::Result(Err(e))) => {
            opt(a, e)
        }
        (Val::Flags(a), W::Flags(e)) => {
            let mut a: Vec<&str> = a.iter().map(String::as_str).collect();
            let mut e: Vec<&str> = e.clone();
            a.sort_unstable();
            e.sort_unstable();
            a == e
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_nan_accepts_both_signs_only() {
        let canon = NanPattern::CanonicalNan;
        assert!(f32_matches(0x7fc0_0000, &canon));
        assert!(f32_matches(0xffc0_0000, &canon));
        assert!(!f32_matches(0x7fc0_0001, &canon));
        assert!(f64_matches(
            0xfff8_0000_0000_0000,
            &NanPattern::CanonicalNan
        ));
        assert!(!f64_matches(
            0x7ff0_0000_0000_0000,
            &NanPattern::CanonicalNan
        ));
    }

    #[test]
    fn arithmetic_nan_requires_quiet_bit() {
        let arith = NanPattern::ArithmeticNan;
        assert!(f32_matches(0x7fc0_0001, &arith));
        assert!(!f32_matches(0x7f80_0001, &arith));
        assert!(!f32_matches(0x7f80_0000, &arith));
        assert!(f64_matches(
            0x7ff8_0000_0000_0001,
            &NanPattern::ArithmeticNan
        ));
        assert!(!f64_matches(
            0x7ff0_0000_0000_0001,
            &NanPattern::ArithmeticNan
        ));
    }

    #[test]
    fn trap_messages_match_by_prefix_and_alias() {
        assert!(trap_message_matches(
            "integer divide by zero\n  at f",
            "integer divide by zero"
        ));
        assert!(trap_message_matches(
            "uninitialized element 2",
            "uninitialized element"
        ));
        assert!(trap_message_matches(
            "out of bounds table access",
            "undefined element"
        ));
        assert!(!trap_message_matches(
            "integer overflow",
            "integer divide by zero"
        ));
    }

    #[test]
    fn v128_lanes_compare_little_endian() {
        let v = u128::from_le_bytes([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]);
        assert!(v128_matches(v, &V128Pattern::I32x4([1, 2, 3, 4])));
        assert!(!v128_matches(v, &V128Pattern::I32x4([4, 3, 2, 1])));
    }
}
