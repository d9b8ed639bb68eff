//! Component values for the dynamic API ([`Func::call`](super::Func::call),
//! [`LinkerInstance::func_new`](super::LinkerInstance::func_new)), shaped as
//! wasmtime's `component::Val`.

use super::resources::ResourceAny;

/// A component-model value.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// `bool`
    Bool(bool),
    /// `s8`
    S8(i8),
    /// `u8`
    U8(u8),
    /// `s16`
    S16(i16),
    /// `u16`
    U16(u16),
    /// `s32`
    S32(i32),
    /// `u32`
    U32(u32),
    /// `s64`
    S64(i64),
    /// `u64`
    U64(u64),
    /// `f32`; NaNs are canonicalised when lifted.
    Float32(f32),
    /// `f64`; NaNs are canonicalised when lifted.
    Float64(f64),
    /// `char`
    Char(char),
    /// `string`
    String(String),
    /// `list<T>` (and fixed-length lists)
    List(Vec<Val>),
    /// `record`: fields in declaration order.
    Record(Vec<(String, Val)>),
    /// `tuple<...>`
    Tuple(Vec<Val>),
    /// `variant`: the case name and its payload.
    Variant(String, Option<Box<Val>>),
    /// `enum`: the case name.
    Enum(String),
    /// `option<T>`
    Option(Option<Box<Val>>),
    /// `result<T, E>`
    Result(Result<Option<Box<Val>>, Option<Box<Val>>>),
    /// `flags`: the names of the flags that are set.
    Flags(Vec<String>),
    /// `own<T>` or `borrow<T>`.
    Resource(ResourceAny),
    /// `future<T>`: a handle owned by the host.
    Future(u32),
    /// `stream<T>`: a handle owned by the host.
    Stream(u32),
    /// `error-context`: a handle owned by the host.
    ErrorContext(u32),
}

impl Val {
    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Val::Bool(_) => "bool",
            Val::S8(_) => "s8",
            Val::U8(_) => "u8",
            Val::S16(_) => "s16",
            Val::U16(_) => "u16",
            Val::S32(_) => "s32",
            Val::U32(_) => "u32",
            Val::S64(_) => "s64",
            Val::U64(_) => "u64",
            Val::Float32(_) => "f32",
            Val::Float64(_) => "f64",
            Val::Char(_) => "char",
            Val::String(_) => "string",
            Val::List(_) => "list",
            Val::Record(_) => "record",
            Val::Tuple(_) => "tuple",
            Val::Variant(..) => "variant",
            Val::Enum(_) => "enum",
            Val::Option(_) => "option",
            Val::Result(_) => "result",
            Val::Flags(_) => "flags",
            Val::Resource(_) => "resource",
            Val::Future(_) => "future",
            Val::Stream(_) => "stream",
            Val::ErrorContext(_) => "error-context",
        }
    }
}
