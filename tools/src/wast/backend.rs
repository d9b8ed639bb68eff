//! What the script runner needs from an engine, and the values it exchanges.
//!
//! The runner speaks only this small vocabulary so that the same directive
//! logic drives ringwasm (the product) and, in this crate's own tests, a
//! reference interpreter that shows the runner itself is right.

use std::fmt;

/// A wasm value as the runner sees it: numbers by bit pattern, references by
/// the little a script can observe about them.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as its bits.
    F32(u32),
    /// An `f64`, as its bits.
    F64(u64),
    /// A `v128`, little-endian.
    V128(u128),
    /// A `funcref`; `true` when non-null (scripts cannot name a function).
    FuncRef(bool),
    /// An `externref`: `None` is null, `Some(n)` is `ref.extern n`.
    ExternRef(Option<u64>),
    /// A non-null `externref` that externalises a GC value
    /// (`extern.convert_any` of an i31, struct or array).
    ExternGc,
    /// An `anyref` (GC proposal): `None` is null.
    AnyRef(Option<AnyValue>),
    /// A component-model value (arguments and results of component
    /// exports).
    Component(ringwasm_jit::component::Val),
}

/// What a script can observe about a non-null `anyref`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnyValue {
    /// An `i31`, sign-extended.
    I31(i32),
    /// A struct.
    Struct,
    /// An array.
    Array,
    /// An internalised host reference: `ref.host n`.
    Host(u64),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::I32(v) => write!(f, "i32:{v}"),
            Value::I64(v) => write!(f, "i64:{v}"),
            Value::F32(bits) => write!(f, "f32:{} ({bits:#010x})", f32::from_bits(bits)),
            Value::F64(bits) => write!(f, "f64:{} ({bits:#018x})", f64::from_bits(bits)),
            Value::V128(v) => write!(f, "v128:{v:#034x}"),
            Value::FuncRef(false) => f.write_str("ref.null func"),
            Value::FuncRef(true) => f.write_str("ref.func"),
            Value::ExternRef(None) => f.write_str("ref.null extern"),
            Value::ExternRef(Some(n)) => write!(f, "ref.extern {n}"),
            Value::ExternGc => f.write_str("ref.extern (externalised GC value)"),
            Value::AnyRef(None) => f.write_str("ref.null any"),
            Value::AnyRef(Some(AnyValue::I31(v))) => write!(f, "ref.i31 {v}"),
            Value::AnyRef(Some(AnyValue::Struct)) => f.write_str("ref.struct"),
            Value::AnyRef(Some(AnyValue::Array)) => f.write_str("ref.array"),
            Value::AnyRef(Some(AnyValue::Host(n))) => write!(f, "ref.host {n}"),
            Value::Component(ref v) => write!(f, "{v:?}"),
        }
    }
}

/// Why an engine operation failed, in the classes a script can assert on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineError {
    /// The module is malformed or invalid.
    Compile(String),
    /// An import could not be satisfied (the spec's "unlinkable").
    Link(String),
    /// Guest code trapped. `exhausted` is set for "call stack exhausted".
    Trap {
        /// The trap's message, spec wording first.
        message: String,
        /// The trap is a stack overflow.
        exhausted: bool,
    },
    /// Anything else: no such export, wrong argument types, unsupported.
    Other(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Compile(m) => write!(f, "compile error: {m}"),
            EngineError::Link(m) => write!(f, "link error: {m}"),
            EngineError::Trap { message, .. } => write!(f, "trap: {message}"),
            EngineError::Other(m) => write!(f, "error: {m}"),
        }
    }
}

/// An engine the script runner can drive: one store, one linker holding the
/// `spectest` module and every registered instance.
pub trait Backend {
    /// A compiled module.
    type Module;
    /// An instance; cheap to clone (a handle).
    type Instance: Clone;

    /// Validates and compiles a binary module.
    ///
    /// # Errors
    ///
    /// [`EngineError::Compile`] when the bytes are malformed or invalid.
    fn compile(&mut self, bytes: &[u8]) -> Result<Self::Module, EngineError>;

    /// Instantiates `module` against `spectest` and the registered instances.
    ///
    /// # Errors
    ///
    /// [`EngineError::Link`] for unsatisfied imports, [`EngineError::Trap`]
    /// when the start function or a segment initialisation traps.
    fn instantiate(&mut self, module: &Self::Module) -> Result<Self::Instance, EngineError>;

    /// Makes every export of `instance` importable under module name `name`.
    ///
    /// # Errors
    ///
    /// [`EngineError::Other`] when the engine refuses the registration.
    fn register(&mut self, name: &str, instance: &Self::Instance) -> Result<(), EngineError>;

    /// Calls the exported function `name` with `args`.
    ///
    /// # Errors
    ///
    /// [`EngineError::Trap`] when the guest traps, [`EngineError::Other`]
    /// when there is no such function or the arguments do not fit it.
    fn invoke(
        &mut self,
        instance: &Self::Instance,
        name: &str,
        args: &[Value],
    ) -> Result<Vec<Value>, EngineError>;

    /// Reads the exported global `name`.
    ///
    /// # Errors
    ///
    /// [`EngineError::Other`] when there is no such global.
    fn get_global(&mut self, instance: &Self::Instance, name: &str) -> Result<Value, EngineError>;
}
