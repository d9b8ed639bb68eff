//! The exception-handling runtime: exception objects, the throw libcall, the
//! frame walk that finds a handler, and the jump into it.
//!
//! How a throw works (see `docs/design/exceptions.md`):
//!
//! * Compiled code allocates an [`ExnObject`] (`exn_new`) holding the tag's
//!   identity and the payload. A throw whose handler is in the same function
//!   jumps to it directly; otherwise compiled code calls [`throw_stub`] with
//!   the store and the object.
//! * The stub records its caller's return address, frame pointer and stack
//!   pointer and enters [`throw_impl`], which walks frame pointers up the
//!   current coroutine stack. For each caller frame it looks the return
//!   address up in the module's handler table (built from Cranelift's
//!   `try_call` call sites). The first frame with a handler wins: the
//!   runtime restores that frame's stack and frame pointers and jumps to the
//!   landing pad with the object in the first exception payload register.
//!   The landing pad (compiled code) compares tags and either branches to
//!   the matching `catch` or passes the exception on to the next enclosing
//!   handler.
//! * The walk stops at the first frame outside wasm code: the entry
//!   trampoline of the innermost host→wasm entry. The exception is then
//!   uncaught: `throw_impl` parks a [`Trap`] with [`TrapCode::Exception`] in
//!   the store and returns, and compiled code traps with the host trap code,
//!   so the host sees an `Err` from its own entry and no host frame is
//!   skipped.
//!
//! Exception objects live in a store-owned arena ([`ExnState`]): an object
//! caught by `catch`/`catch_all` (no `exnref` escapes) goes back to a free
//! list when the landing pad has read its payload; an object whose `exnref`
//! escaped (`catch_ref`, `catch_all_ref`) stays valid until the store is
//! dropped. No garbage collector is involved.
//!
//! The stub and the resume are a few instructions of assembly per
//! architecture (`runtime::arch`); the walk and the tables are shared.

use crate::runtime::arch::{Resume, resume, throw_stub, walk_frames};
use crate::runtime::store::{Pending, StoreOpaque};
use crate::runtime::tag::{Tag, TagData, TagType};
use crate::runtime::trap::{FrameInfo, Trap, TrapCode};
use crate::runtime::values::Val;

/// An exception in flight or caught: the tag identity and the payload, one
/// 16-byte slot per value. Compiled code reads the fields at the offsets in
/// [`exn`].
#[repr(C)]
#[derive(Debug)]
pub(crate) struct ExnObject {
    /// `*const TagData` of the tag.
    tag: usize,
    /// Points at `buf`'s first slot.
    values: *const u128,
    /// Nonzero once an `exnref` to this object escaped to wasm values.
    escaped: u64,
    buf: Vec<u128>,
}

/// Byte offsets of [`ExnObject`] fields that compiled code reads or writes.
pub(crate) mod exn {
    /// The tag identity.
    pub const TAG: i32 = 0;
    /// Pointer to the payload slots.
    pub const VALUES: i32 = 8;
    /// The escaped flag (`u64`).
    pub const ESCAPED: i32 = 16;
}

/// Builtins compiled code calls through the pointer at
/// `VMOffsets::exn_builtins`.
#[repr(C)]
pub(crate) struct ExnBuiltins {
    /// `exn_new(store, tag, values) -> exn`.
    pub exn_new: unsafe extern "C" fn(*mut StoreOpaque, usize, *const u128) -> *mut ExnObject,
    /// `exn_release(store, exn)`.
    pub exn_release: unsafe extern "C" fn(*mut StoreOpaque, *mut ExnObject),
    /// `throw(store, exn)`: returns only when no handler caught it.
    pub throw: unsafe extern "C" fn(*mut StoreOpaque, *mut ExnObject),
}

/// Byte offsets in [`ExnBuiltins`].
pub(crate) mod builtin {
    /// `exn_new`.
    pub const EXN_NEW: i32 = 0;
    /// `exn_release`.
    pub const EXN_RELEASE: i32 = 8;
    /// `throw`.
    pub const THROW: i32 = 16;
}

/// The one table every VMContext points at.
pub(crate) static EXN_BUILTINS: ExnBuiltins = ExnBuiltins {
    exn_new,
    exn_release,
    throw: throw_stub,
};

/// A store's tags and exception objects.
#[derive(Debug, Default)]
pub(crate) struct ExnState {
    /// Every tag of the store; a box's address is the tag's identity.
    #[expect(clippy::vec_box, reason = "compiled code holds the boxes' addresses")]
    pub tags: Vec<Box<TagData>>,
    /// Objects whose `exnref` may still be referenced.
    #[expect(clippy::vec_box, reason = "compiled code holds the boxes' addresses")]
    live: Vec<Box<ExnObject>>,
    /// Objects ready for reuse.
    #[expect(clippy::vec_box, reason = "objects are recycled whole")]
    free: Vec<Box<ExnObject>>,
}

// SAFETY: the raw pointers point into boxes owned by this value (or are tag
// identities of the same store); the store moves between threads as a whole.
unsafe impl Send for ExnObject {}

impl ExnState {
    /// Register a tag.
    pub(crate) fn new_tag(&mut self, store: u64, ty: TagType, name: Option<Box<str>>) -> Tag {
        let index = self.tags.len() as u32;
        self.tags.push(Box::new(TagData { ty, name }));
        Tag { store, index }
    }

    /// The identity of tag `index` as compiled code compares it.
    pub(crate) fn identity(&self, index: u32) -> usize {
        let data: &TagData = &self.tags[index as usize];
        data as *const TagData as usize
    }

    /// The store index of the tag with identity `id`.
    fn index_of(&self, id: usize) -> Option<u32> {
        self.tags
            .iter()
            .position(|t| &**t as *const TagData as usize == id)
            .map(|i| i as u32)
    }

    /// A new exception object for tag identity `tag` with `values`.
    pub(crate) fn alloc(&mut self, tag: usize, values: &[u128]) -> *mut ExnObject {
        let mut obj = self.free.pop().unwrap_or_else(|| {
            Box::new(ExnObject {
                tag: 0,
                values: std::ptr::null(),
                escaped: 0,
                buf: Vec::new(),
            })
        });
        obj.tag = tag;
        obj.escaped = 0;
        obj.buf.clear();
        obj.buf.extend_from_slice(values);
        obj.values = obj.buf.as_ptr();
        let ptr: *mut ExnObject = &mut *obj;
        self.live.push(obj);
        ptr
    }

    /// Return `exn` to the free list unless an `exnref` to it escaped.
    fn release(&mut self, exn: *mut ExnObject) {
        // Thrown objects are released in LIFO order in the common case.
        if let Some(i) = self
            .live
            .iter()
            .rposition(|o| std::ptr::eq(&**o, exn.cast_const()))
            && self.live[i].escaped == 0
        {
            // Never deallocated before the store: a stale pointer (a legacy
            // catch body whose exception was caught again inside it) then
            // reads a reused object, never freed memory.
            self.free.push(self.live.swap_remove(i));
        }
    }

    /// The exception `exn` as the host sees it.
    fn to_thrown(&self, store: u64, exn: *const ExnObject) -> Option<ThrownException> {
        let obj = self.live.iter().find(|o| std::ptr::eq(&***o, exn))?;
        let index = self.index_of(obj.tag)?;
        Some(ThrownException {
            tag: Tag { store, index },
            name: self.tags[index as usize].name.clone(),
            payload: obj.buf.clone().into_boxed_slice(),
        })
    }
}

/// A wasm exception as the host sees it: returned in
/// [`TrapCode::Exception`] when no wasm handler caught it, and what a host
/// function returns (through [`Trap::throw`]) to throw into wasm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrownException {
    tag: Tag,
    name: Option<Box<str>>,
    payload: Box<[u128]>,
}

impl ThrownException {
    /// An exception of `tag` carrying `values`.
    ///
    /// # Errors
    /// `Error::Type` when the values do not match the tag's type.
    pub fn new(
        store: impl crate::runtime::store::AsContext,
        tag: Tag,
        values: &[Val],
    ) -> Result<Self, crate::Error> {
        let store = &store.as_context().0.opaque;
        store.check(tag.store)?;
        let data = &store.exn.tags[tag.index as usize];
        let params = data.ty.params();
        if params.len() != values.len() {
            return Err(crate::Error::ty(format!(
                "tag takes {} values, got {}",
                params.len(),
                values.len()
            )));
        }
        let payload = values
            .iter()
            .zip(params)
            .map(|(v, t)| v.to_raw(store, *t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ThrownException {
            tag,
            name: data.name.clone(),
            payload: payload.into_boxed_slice(),
        })
    }

    /// The exception's tag.
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// The tag's import or export name, when it has one.
    pub fn tag_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The payload values.
    ///
    /// # Panics
    /// When used with a store other than the tag's.
    pub fn values(&self, store: impl crate::runtime::store::AsContext) -> Vec<Val> {
        let store = &store.as_context().0.opaque;
        assert_eq!(
            store.id, self.tag.store,
            "exception used with the wrong store"
        );
        let ty = store.exn.tags[self.tag.index as usize].ty.clone();
        ty.params()
            .iter()
            .zip(self.payload.iter())
            .map(|(t, raw)| Val::from_raw(store, *t, *raw))
            .collect()
    }

    /// The payload in slot form, for the runtime.
    pub(crate) fn payload(&self) -> &[u128] {
        &self.payload
    }
}

/// `exn_new`: a new exception object of tag identity `tag` whose payload is
/// read from `values` (one 16-byte slot per value of the tag's type).
///
/// # Safety
/// `store` is the live store of the calling instance; `tag` is the identity
/// of one of its tags; `values` has a slot per value of the tag's type.
unsafe extern "C" fn exn_new(
    store: *mut StoreOpaque,
    tag: usize,
    values: *const u128,
) -> *mut ExnObject {
    // SAFETY: per contract `tag` points at a live `TagData` of this store.
    let n = unsafe { &*(tag as *const TagData) }.ty.params().len();
    // SAFETY: per contract `values` holds `n` slots.
    let values = unsafe { std::slice::from_raw_parts(values, n) };
    // SAFETY: per contract; guest code holds no other borrow of the store.
    let store = unsafe { &mut *store };
    store.exn.alloc(tag, values)
}

/// `exn_release`: the landing pad has read the payload of `exn`.
///
/// # Safety
/// `store` is the live store of the calling instance.
unsafe extern "C" fn exn_release(store: *mut StoreOpaque, exn: *mut ExnObject) {
    // SAFETY: per contract; guest code holds no other borrow of the store.
    let store = unsafe { &mut *store };
    store.exn.release(exn);
}

/// The landing pad for the return address `pc`, when `pc` is in wasm code;
/// `Err(())` when `pc` is not in any module's functions.
fn handler_for(pc: usize) -> Result<Option<usize>, ()> {
    let info = crate::compile::lookup_code(pc).ok_or(())?;
    info.func_at(pc - 1).ok_or(())?;
    Ok(info.handler_at(pc))
}

/// The body of the throw libcall. Returns only when no handler caught the
/// exception, after parking the trap in the store.
///
/// # Safety
/// Called only through [`throw_stub`] from compiled code running on the
/// innermost entry's coroutine: `pc` and `fp` are the caller's return
/// address and frame pointer, `store` its live store, `exn` an object of it.
pub(crate) unsafe extern "C" fn throw_impl(
    store: *mut StoreOpaque,
    exn: *mut ExnObject,
    pc: usize,
    fp: usize,
    _sp: usize,
) {
    let entry = crate::runtime::fiber::current_entry();
    let bounds = if entry.is_null() {
        None
    } else {
        // SAFETY: the entry lives on the host stack of `on_guest_stack`,
        // which is suspended in `resume` while guest code runs.
        Some(unsafe { &*entry }.stack_bounds())
    };
    if let Some((low, high)) = bounds {
        let found = walk_frames(fp, low, high, |ret, next_fp, sp| match handler_for(ret) {
            Ok(Some(pad)) => Some(Some(Resume {
                pc: pad,
                sp,
                fp: next_fp,
            })),
            Ok(None) => None,
            Err(()) => Some(None),
        })
        .flatten();
        if let Some(target) = found {
            // SAFETY: `target` is a landing pad of a live frame on this
            // coroutine stack, found above; nothing owned is live here.
            unsafe { resume(target, exn) };
        }
    }
    // Uncaught: park the trap with a wasm backtrace.
    let mut backtrace = Vec::new();
    let mut push = |pc: usize| {
        if let Some(info) = crate::compile::lookup_code(pc)
            && let Some((func_index, code_offset)) = info.func_at(pc - 1)
        {
            backtrace.push(FrameInfo {
                func_index,
                func_name: info.names.get(&func_index).cloned(),
                code_offset,
                module_offset: info.wasm_offset_at(pc - 1),
                module_name: info.module_name.clone(),
            });
        }
    };
    push(pc);
    if let Some((low, high)) = bounds {
        walk_frames(fp, low, high, |ret, _, _| {
            if handler_for(ret).is_err() {
                return Some(());
            }
            push(ret);
            None
        });
    }
    // SAFETY: per contract; the walk above holds no borrow of the store.
    let store = unsafe { &mut *store };
    let code = match store.exn.to_thrown(store.id, exn) {
        Some(thrown) => TrapCode::Exception(Box::new(thrown)),
        None => TrapCode::Host("uncaught exception of an unknown tag".into()),
    };
    store.pending = Some(Pending::Trap(Trap {
        code,
        backtrace,
        fault: None,
    }));
}

/// The address of the throw libcall, for trampolines.
pub(crate) fn throw_address() -> usize {
    throw_stub as unsafe extern "C" fn(*mut StoreOpaque, *mut ExnObject) as usize
}

/// Store a host-thrown exception as an object for the guest to throw.
pub(crate) fn host_thrown(store: &mut StoreOpaque, thrown: &ThrownException) -> *mut ExnObject {
    let id = store.exn.identity(thrown.tag.index);
    store.exn.alloc(id, thrown.payload())
}
