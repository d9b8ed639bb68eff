//! [`Func`] and [`TypedFunc`]: calling a component's exported functions,
//! with dynamic values or static types.

use std::marker::PhantomData;

use super::abi::lift::CoreValueIter;
use super::instance::call_lifted_with;
use super::plan::Callee;
use super::typed::{LiftList, LowerList};
use super::types::{FuncTypeIndex, InterfaceType};
use super::values::Val;
use crate::error::Error;
use crate::runtime::store::{AsContextMut, StoreContextMut};
use crate::runtime::trap::Trap;

/// An exported function of a component instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Func {
    pub(crate) store: u64,
    pub(crate) instance: u32,
    pub(crate) callee: Callee,
    pub(crate) ty: FuncTypeIndex,
}

impl PartialEq for Callee {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Callee::Import(a), Callee::Import(b)) | (Callee::Lifted(a), Callee::Lifted(b)) => {
                a == b
            }
            _ => false,
        }
    }
}
impl Eq for Callee {}

fn error(t: Trap) -> Error {
    Error::from(t)
}

impl Func {
    fn lifted(&self, store: &StoreContextMut<'_, impl Sized>) -> Result<u32, Error> {
        if store.0.opaque.id != self.store {
            return Err(crate::error::LinkError::WrongStore.into());
        }
        match self.callee {
            Callee::Lifted(l) => Ok(l),
            Callee::Import(_) => Err(Error::Unsupported(
                "calling a component export that re-exports a host import".into(),
            )),
        }
    }

    /// The parameter names and types, as the canonical type names
    /// (`u32`, `string`, `list<u8>`, `record {..}`).
    pub fn params(&self, mut store: impl AsContextMut) -> Vec<(String, super::Type)> {
        let cx = store.as_context_mut();
        let types = cx.0.opaque.component.instances[self.instance as usize]
            .component
            .types
            .clone();
        types[self.ty]
            .params
            .iter()
            .map(|f| (f.name.to_string(), super::Type::new(&types, f.ty)))
            .collect()
    }

    /// The result type, if any.
    pub fn result(&self, mut store: impl AsContextMut) -> Option<super::Type> {
        let cx = store.as_context_mut();
        let types = cx.0.opaque.component.instances[self.instance as usize]
            .component
            .types
            .clone();
        types[self.ty].result.map(|t| super::Type::new(&types, t))
    }

    /// Call with dynamic values: `results` must have room for the result
    /// (one slot, or none).
    ///
    /// # Errors
    ///
    /// `Error::Trap` when the guest traps (or the canonical ABI does: bad
    /// values, a borrow not dropped, re-entering an instance),
    /// `Error::Exit` when the guest exits, `Error::Type` for wrong
    /// argument values.
    pub fn call<T: 'static>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<(), Error> {
        let cx = store.as_context_mut();
        let l = self.lifted(&cx)?;
        let opaque = &mut cx.0.opaque;
        let vals = super::instance::call_lifted::<T>(opaque, self.instance, l, None, params)
            .map_err(error)?;
        for (r, v) in results.iter_mut().zip(vals) {
            *r = v;
        }
        Ok(())
    }

    /// A statically typed view of this function.
    ///
    /// # Errors
    ///
    /// `Error::Type` when `P` or `R` differ from the function's types.
    pub fn typed<P: LowerList, R: LiftList>(
        &self,
        mut store: impl AsContextMut,
    ) -> Result<TypedFunc<P, R>, Error> {
        let cx = store.as_context_mut();
        let types = cx.0.opaque.component.instances[self.instance as usize]
            .component
            .types
            .clone();
        let ft = &types[self.ty];
        let params: Vec<InterfaceType> = ft.params.iter().map(|f| f.ty).collect();
        let results: Vec<InterfaceType> = ft.result.iter().copied().collect();
        P::typecheck_list(&params, &types).map_err(|e| Error::ty(format!("parameters: {e}")))?;
        R::typecheck_list(&results, &types).map_err(|e| Error::ty(format!("results: {e}")))?;
        Ok(TypedFunc {
            func: *self,
            _marker: PhantomData,
        })
    }
}

/// An exported function with static parameter and result types.
pub struct TypedFunc<P, R> {
    func: Func,
    _marker: PhantomData<fn(P) -> R>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P, R> Copy for TypedFunc<P, R> {}

impl<P: LowerList, R: LiftList> TypedFunc<P, R> {
    /// Call with `params`.
    ///
    /// # Errors
    ///
    /// As [`Func::call`].
    pub fn call<T: 'static>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        params: P,
    ) -> Result<R, Error> {
        let cx = store.as_context_mut();
        let l = self.func.lifted(&cx)?;
        let opaque = &mut cx.0.opaque;
        call_lifted_with::<T, R>(
            opaque,
            self.func.instance,
            l,
            None,
            |cx, shape| {
                if shape.params_spilled {
                    let (size, align) = super::abi::lift::tuple_layout(&shape.types, &shape.params);
                    let ptr = cx.allocate(align, size)?;
                    shape.check_tuple(cx, &shape.params, ptr)?;
                    params.store_list(cx, &shape.params, ptr)?;
                    Ok(vec![u128::from(ptr)])
                } else {
                    let mut out = Vec::new();
                    params.lower_list(cx, &shape.params, &mut out)?;
                    Ok(out)
                }
            },
            |cx, shape, slots| {
                let mut it = CoreValueIter::new(slots);
                if shape.results_spilled {
                    let ptr = it.next_u32();
                    shape.check_tuple(cx, &shape.results, ptr)?;
                    R::load_list(cx, &shape.results, ptr)
                } else {
                    R::lift_list(cx, &shape.results, &mut it)
                }
            },
        )
        .map_err(error)
    }

    /// The untyped function.
    pub fn func(&self) -> Func {
        self.func
    }
}
