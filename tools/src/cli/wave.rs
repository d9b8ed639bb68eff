//! Component values in WAVE (the WebAssembly Value Encoding), for
//! `ringwasm run --invoke 'f(1, "x")'`: arguments are parsed and results
//! printed by the `wasm-wave` crate, as `wasmtime run` does, through a
//! conversion between its values and the engine's.

use anyhow::{Result, anyhow, bail};
use ringwasm_jit::component::{Type, TypeKind, Val};
use wasm_wave::value::{Type as WType, Value as WValue};
use wasm_wave::wasm::WasmValue;

/// The WAVE type of a component type (`None` for handles, which WAVE
/// cannot spell).
pub fn wave_type(t: &Type) -> Option<WType> {
    Some(match t.kind() {
        TypeKind::Bool => WType::BOOL,
        TypeKind::S8 => WType::S8,
        TypeKind::U8 => WType::U8,
        TypeKind::S16 => WType::S16,
        TypeKind::U16 => WType::U16,
        TypeKind::S32 => WType::S32,
        TypeKind::U32 => WType::U32,
        TypeKind::S64 => WType::S64,
        TypeKind::U64 => WType::U64,
        TypeKind::Float32 => WType::F32,
        TypeKind::Float64 => WType::F64,
        TypeKind::Char => WType::CHAR,
        TypeKind::String => WType::STRING,
        TypeKind::List(e) => WType::list(wave_type(&e)?),
        TypeKind::FixedList(e, n) => WType::fixed_length_list(wave_type(&e)?, n),
        TypeKind::Record(fields) => WType::record(
            fields
                .iter()
                .map(|(n, t)| Some((n.clone(), wave_type(t)?)))
                .collect::<Option<Vec<_>>>()?,
        )?,
        TypeKind::Tuple(ts) => WType::tuple(ts.iter().map(wave_type).collect::<Option<Vec<_>>>()?)?,
        TypeKind::Variant(cases) => WType::variant(
            cases
                .iter()
                .map(|(n, t)| {
                    Some((
                        n.clone(),
                        match t {
                            Some(t) => Some(wave_type(t)?),
                            None => None,
                        },
                    ))
                })
                .collect::<Option<Vec<_>>>()?,
        )?,
        TypeKind::Enum(names) => WType::enum_ty(names)?,
        TypeKind::Option(t) => WType::option(wave_type(&t)?),
        TypeKind::Result(ok, err) => WType::result(
            match ok {
                Some(t) => Some(wave_type(&t)?),
                None => None,
            },
            match err {
                Some(t) => Some(wave_type(&t)?),
                None => None,
            },
        ),
        TypeKind::Flags(names) => WType::flags(names)?,
        _ => return None,
    })
}

/// A WAVE value as an engine value of type `t`.
pub fn from_wave(t: &Type, v: &WValue) -> Result<Val> {
    Ok(match t.kind() {
        TypeKind::Bool => Val::Bool(v.unwrap_bool()),
        TypeKind::S8 => Val::S8(v.unwrap_s8()),
        TypeKind::U8 => Val::U8(v.unwrap_u8()),
        TypeKind::S16 => Val::S16(v.unwrap_s16()),
        TypeKind::U16 => Val::U16(v.unwrap_u16()),
        TypeKind::S32 => Val::S32(v.unwrap_s32()),
        TypeKind::U32 => Val::U32(v.unwrap_u32()),
        TypeKind::S64 => Val::S64(v.unwrap_s64()),
        TypeKind::U64 => Val::U64(v.unwrap_u64()),
        TypeKind::Float32 => Val::Float32(v.unwrap_f32()),
        TypeKind::Float64 => Val::Float64(v.unwrap_f64()),
        TypeKind::Char => Val::Char(v.unwrap_char()),
        TypeKind::String => Val::String(v.unwrap_string().into_owned()),
        TypeKind::List(e) | TypeKind::FixedList(e, _) => Val::List(
            v.unwrap_list()
                .map(|x| from_wave(&e, &x))
                .collect::<Result<_>>()?,
        ),
        TypeKind::Record(fields) => {
            let got: Vec<(String, WValue)> = v
                .unwrap_record()
                .map(|(n, x)| (n.into_owned(), x.into_owned()))
                .collect();
            let mut out = Vec::with_capacity(fields.len());
            for (name, ft) in fields {
                let x = got
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, x)| x)
                    .ok_or_else(|| anyhow!("missing record field `{name}`"))?;
                out.push((name, from_wave(&ft, x)?));
            }
            Val::Record(out)
        }
        TypeKind::Tuple(ts) => Val::Tuple(
            ts.iter()
                .zip(v.unwrap_tuple())
                .map(|(t, x)| from_wave(t, &x))
                .collect::<Result<_>>()?,
        ),
        TypeKind::Variant(cases) => {
            let (name, payload) = v.unwrap_variant();
            let case = cases
                .iter()
                .find(|(n, _)| *n == *name)
                .ok_or_else(|| anyhow!("unknown case `{name}`"))?;
            let payload = match (&case.1, payload) {
                (Some(t), Some(p)) => Some(Box::new(from_wave(t, &p)?)),
                _ => None,
            };
            Val::Variant(name.into_owned(), payload)
        }
        TypeKind::Enum(_) => Val::Enum(v.unwrap_enum().into_owned()),
        TypeKind::Option(t) => Val::Option(match v.unwrap_option() {
            Some(x) => Some(Box::new(from_wave(&t, &x)?)),
            None => None,
        }),
        TypeKind::Result(ok, err) => Val::Result(match v.unwrap_result() {
            Ok(x) => Ok(match (ok, x) {
                (Some(t), Some(x)) => Some(Box::new(from_wave(&t, &x)?)),
                _ => None,
            }),
            Err(x) => Err(match (err, x) {
                (Some(t), Some(x)) => Some(Box::new(from_wave(&t, &x)?)),
                _ => None,
            }),
        }),
        TypeKind::Flags(_) => Val::Flags(v.unwrap_flags().map(|f| f.into_owned()).collect()),
        other => bail!("cannot pass a {other:?} value from the command line"),
    })
}

/// An engine value of type `t` as a WAVE value.
pub fn to_wave(t: &Type, v: &Val) -> Result<WValue> {
    let wt = wave_type(t).ok_or_else(|| anyhow!("cannot print a value of type {t}"))?;
    Ok(match (t.kind(), v) {
        (_, Val::Bool(b)) => WValue::make_bool(*b),
        (_, Val::S8(x)) => WValue::make_s8(*x),
        (_, Val::U8(x)) => WValue::make_u8(*x),
        (_, Val::S16(x)) => WValue::make_s16(*x),
        (_, Val::U16(x)) => WValue::make_u16(*x),
        (_, Val::S32(x)) => WValue::make_s32(*x),
        (_, Val::U32(x)) => WValue::make_u32(*x),
        (_, Val::S64(x)) => WValue::make_s64(*x),
        (_, Val::U64(x)) => WValue::make_u64(*x),
        (_, Val::Float32(x)) => WValue::make_f32(*x),
        (_, Val::Float64(x)) => WValue::make_f64(*x),
        (_, Val::Char(c)) => WValue::make_char(*c),
        (_, Val::String(s)) => WValue::make_string(s.as_str().into()),
        (TypeKind::List(e) | TypeKind::FixedList(e, _), Val::List(items)) => WValue::make_list(
            &wt,
            items
                .iter()
                .map(|x| to_wave(&e, x))
                .collect::<Result<Vec<_>>>()?,
        )?,
        (TypeKind::Record(fields), Val::Record(vals)) => {
            let mut out = Vec::with_capacity(vals.len());
            for ((name, x), (_, ft)) in vals.iter().zip(&fields) {
                out.push((name.as_str(), to_wave(ft, x)?));
            }
            WValue::make_record(&wt, out)?
        }
        (TypeKind::Tuple(ts), Val::Tuple(vals)) => WValue::make_tuple(
            &wt,
            ts.iter()
                .zip(vals)
                .map(|(t, x)| to_wave(t, x))
                .collect::<Result<Vec<_>>>()?,
        )?,
        (TypeKind::Variant(cases), Val::Variant(name, payload)) => {
            let pt = cases
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, t)| t.clone());
            let p = match (pt, payload) {
                (Some(t), Some(p)) => Some(to_wave(&t, p)?),
                _ => None,
            };
            WValue::make_variant(&wt, name, p)?
        }
        (TypeKind::Enum(_), Val::Enum(name)) => WValue::make_enum(&wt, name)?,
        (TypeKind::Option(t), Val::Option(x)) => WValue::make_option(
            &wt,
            match x {
                Some(x) => Some(to_wave(&t, x)?),
                None => None,
            },
        )?,
        (TypeKind::Result(ok, err), Val::Result(r)) => {
            let r = match r {
                Ok(x) => Ok(match (ok, x) {
                    (Some(t), Some(x)) => Some(to_wave(&t, x)?),
                    _ => None,
                }),
                Err(x) => Err(match (err, x) {
                    (Some(t), Some(x)) => Some(to_wave(&t, x)?),
                    _ => None,
                }),
            };
            WValue::make_result(&wt, r)?
        }
        (TypeKind::Flags(_), Val::Flags(set)) => {
            WValue::make_flags(&wt, set.iter().map(String::as_str))?
        }
        (_, other) => bail!("cannot print a {} value", other.kind()),
    })
}
