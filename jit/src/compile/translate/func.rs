//! The driver: entry block, locals, the operator loop and the
//! [`VisitOperator`] impl that validates each operator before dispatching it
//! to its family's translation method.

use cranelift_codegen::ir::{self, InstBuilder, UserFuncName};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use wasmparser::{
    BlockType, CompositeInnerType, FuncValidator, FunctionBody, ValType, ValidatorResources,
    VisitOperator, VisitSimdOperator, WasmModuleResources,
};

use super::TranslateError;
use super::environ::{EnvError, FuncEnvironment, FuncIndex};

/// Result of one translation step.
pub(super) type TResult<T = ()> = Result<T, TranslateError>;

/// Translate and validate the body of function `func_index` to Cranelift IR.
///
/// `validator` is the function's validator from
/// `wasmparser::Validator::code_section_entry(..).into_validator(..)`; it is
/// driven to completion here, so a body that translates is also valid. Every
/// instruction's source location is the wasm byte offset (in the module) of
/// the operator it came from.
///
/// # Errors
/// [`TranslateError::Invalid`] when the body is malformed or invalid (with its
/// byte offset), [`TranslateError::Unsupported`] for an operator the
/// translator does not implement (GC instructions, shared-everything
/// threads), [`TranslateError::Env`] when the environment fails.
pub fn translate_function(
    isa: &dyn TargetIsa,
    env: &mut dyn FuncEnvironment,
    func_index: FuncIndex,
    body: FunctionBody<'_>,
    validator: FuncValidator<ValidatorResources>,
) -> Result<ir::Function, TranslateError> {
    let signature = env.func_signature(func_index);
    let mut func =
        ir::Function::with_name_signature(UserFuncName::user(0, func_index.as_u32()), signature);
    func.stack_limit = env.stack_limit(&mut func);
    let mut ctx = FunctionBuilderContext::new();
    let builder = FunctionBuilder::new(&mut func, &mut ctx);
    let mut translator = FuncTranslator::new(env, builder, validator);
    translator.translate_body(&body)?;
    translator.builder.finalize(isa.frontend_config());
    Ok(func)
}

/// One entry of the control stack.
#[derive(Debug)]
pub(super) enum Frame {
    /// A `block` (and the function body itself, at the bottom).
    Block {
        /// Where `br` and the `end` go; its parameters are the results.
        next: ir::Block,
        /// Operand-stack height below the block's parameters.
        height: usize,
        num_results: usize,
        /// Whether any branch targets `next`.
        branched_to: bool,
    },
    /// A `loop`: `br` goes back to `header`.
    Loop {
        header: ir::Block,
        next: ir::Block,
        height: usize,
        num_params: usize,
        num_results: usize,
    },
    /// An `if` (with or without `else`).
    If {
        next: ir::Block,
        else_block: ir::Block,
        /// The parameter values, restored on the operand stack at `else`.
        params: Vec<ir::Value>,
        height: usize,
        num_results: usize,
        branched_to: bool,
        /// Whether the `if` itself was reachable (so `else` is too).
        head_reachable: bool,
        /// Whether `else` was seen.
        has_else: bool,
    },
    /// A frame opened in unreachable code: only its `end` matters.
    Dead,
}

/// The state of one function's translation.
pub(super) struct FuncTranslator<'e, 'f> {
    pub(super) env: &'e mut dyn FuncEnvironment,
    pub(super) builder: FunctionBuilder<'f>,
    pub(super) validator: FuncValidator<ValidatorResources>,
    /// The current function's VMContext (entry block parameter 0).
    pub(super) vmctx: ir::Value,
    pub(super) locals: Vec<Variable>,
    /// The wasm operand stack, as SSA values.
    pub(super) stack: Vec<ir::Value>,
    pub(super) frames: Vec<Frame>,
    /// Whether the current position is reachable; when it is not, operators
    /// are validated but emit nothing (control operators keep the frames).
    pub(super) reachable: bool,
    /// Byte offset of the operator being translated.
    pub(super) offset: u64,
    pub(super) pointer_type: ir::Type,
    /// Open exception handler scopes (`exceptions.rs`).
    pub(super) eh: super::exceptions::EhState,
}

impl<'e, 'f> FuncTranslator<'e, 'f> {
    fn new(
        env: &'e mut dyn FuncEnvironment,
        builder: FunctionBuilder<'f>,
        validator: FuncValidator<ValidatorResources>,
    ) -> Self {
        let pointer_type = env.pointer_type();
        Self {
            env,
            builder,
            validator,
            vmctx: ir::Value::from_u32(0),
            locals: Vec::new(),
            stack: Vec::new(),
            frames: Vec::new(),
            reachable: true,
            offset: 0,
            pointer_type,
            eh: Default::default(),
        }
    }

    fn translate_body(&mut self, body: &FunctionBody<'_>) -> TResult {
        let entry = self.builder.create_block();
        self.builder.append_block_params_for_function_params(entry);
        self.builder.switch_to_block(entry);
        self.builder.seal_block(entry);
        self.offset = body.range().start;
        self.set_srcloc();

        let params = self.builder.block_params(entry).to_vec();
        let Some((&vmctx, wasm_params)) = params.split_first() else {
            return Err(self.bug("signature has no vmctx parameter"));
        };
        self.vmctx = vmctx;
        for &value in wasm_params {
            let ty = self.builder.func.dfg.value_type(value);
            let var = self.builder.declare_var(ty);
            self.builder.def_var(var, value);
            self.locals.push(var);
        }

        let mut locals = body.get_locals_reader()?;
        for _ in 0..locals.get_count() {
            let offset = locals.original_position();
            let (count, ty) = locals.read()?;
            self.validator.define_locals(offset, count, ty)?;
            let ir_ty = self.ir_type(ty)?;
            for _ in 0..count {
                let var = self.builder.declare_var(ir_ty);
                let zero = self.zero(ir_ty);
                self.builder.def_var(var, zero);
                self.locals.push(var);
            }
        }

        // The function body is a block whose exit returns.
        let results = self.builder.func.signature.returns.clone();
        let exit = self.builder.create_block();
        for ret in &results {
            self.builder.append_block_param(exit, ret.value_type);
        }
        self.frames.push(Frame::Block {
            next: exit,
            height: 0,
            num_results: results.len(),
            branched_to: false,
        });
        self.env
            .emit_epoch_check(&mut self.builder, vmctx)
            .map_err(|e| self.env_err(e))?;

        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            self.offset = reader.original_position();
            self.set_srcloc();
            reader.visit_operator(&mut Visitor(self))??;
        }
        reader.finish()?;
        Ok(())
    }

    /// Called by `end` when the function's own frame is popped.
    pub(super) fn finish_function(&mut self) -> TResult {
        if self.reachable {
            let n = self.builder.func.signature.returns.len();
            let results = self.peekn(n)?.to_vec();
            self.builder.ins().return_(&results);
            self.reachable = false;
        }
        Ok(())
    }

    fn set_srcloc(&mut self) {
        let loc = u32::try_from(self.offset)
            .map_or_else(|_| ir::SourceLoc::default(), ir::SourceLoc::new);
        self.builder.set_srcloc(loc);
    }

    /// The Cranelift type of a wasm value type.
    pub(super) fn ir_type(&self, ty: ValType) -> TResult<ir::Type> {
        Ok(match ty {
            ValType::I32 => ir::types::I32,
            ValType::I64 => ir::types::I64,
            ValType::F32 => ir::types::F32,
            ValType::F64 => ir::types::F64,
            ValType::Ref(_) => self.pointer_type,
            ValType::V128 => ir::types::I8X16,
        })
    }

    /// The zero (or null) value of a type.
    pub(super) fn zero(&mut self, ty: ir::Type) -> ir::Value {
        match ty {
            ir::types::F32 => self.builder.ins().f32const(0.0),
            ir::types::F64 => self.builder.ins().f64const(0.0),
            ir::types::I8X16 => {
                let zero = self.builder.ins().iconst(ir::types::I8, 0);
                self.builder.ins().splat(ir::types::I8X16, zero)
            }
            _ => self.builder.ins().iconst(ty, 0),
        }
    }

    /// Parameter and result types of a block type.
    pub(super) fn block_type(&self, ty: BlockType) -> TResult<(Vec<ir::Type>, Vec<ir::Type>)> {
        match ty {
            BlockType::Empty => Ok((Vec::new(), Vec::new())),
            BlockType::Type(t) => Ok((Vec::new(), vec![self.ir_type(t)?])),
            BlockType::FuncType(index) => self.func_type(index),
        }
    }

    /// Parameter and result types of the function type `index`.
    pub(super) fn func_type(&self, index: u32) -> TResult<(Vec<ir::Type>, Vec<ir::Type>)> {
        let resources = self.validator.resources();
        let sub = resources
            .sub_type_at(index)
            .ok_or_else(|| self.bug("type index out of range after validation"))?;
        let CompositeInnerType::Func(func) = &sub.composite_type.inner else {
            return Err(self.bug("block type is not a function type"));
        };
        let params = func
            .params()
            .iter()
            .map(|&t| self.ir_type(t))
            .collect::<TResult<Vec<_>>>()?;
        let results = func
            .results()
            .iter()
            .map(|&t| self.ir_type(t))
            .collect::<TResult<Vec<_>>>()?;
        Ok((params, results))
    }

    /// Parameter and result counts of function `index`.
    pub(super) fn func_arity(&self, index: u32) -> TResult<(usize, usize)> {
        let resources = self.validator.resources();
        let type_index = resources
            .type_index_of_function(index)
            .ok_or_else(|| self.bug("function index out of range after validation"))?;
        let (params, results) = self.func_type(type_index)?;
        Ok((params.len(), results.len()))
    }

    pub(super) fn push(&mut self, value: ir::Value) {
        self.stack.push(value);
    }

    pub(super) fn pop(&mut self) -> TResult<ir::Value> {
        self.stack
            .pop()
            .ok_or_else(|| self.bug("operand stack underflow"))
    }

    pub(super) fn pop2(&mut self) -> TResult<(ir::Value, ir::Value)> {
        let b = self.pop()?;
        let a = self.pop()?;
        Ok((a, b))
    }

    pub(super) fn pop3(&mut self) -> TResult<(ir::Value, ir::Value, ir::Value)> {
        let c = self.pop()?;
        let (a, b) = self.pop2()?;
        Ok((a, b, c))
    }

    /// The top `n` values, bottom first.
    pub(super) fn peekn(&self, n: usize) -> TResult<&[ir::Value]> {
        let start = self
            .stack
            .len()
            .checked_sub(n)
            .ok_or_else(|| self.bug("operand stack underflow"))?;
        Ok(&self.stack[start..])
    }

    /// Pop the top `n` values, bottom first.
    pub(super) fn popn(&mut self, n: usize) -> TResult<Vec<ir::Value>> {
        let start = self
            .stack
            .len()
            .checked_sub(n)
            .ok_or_else(|| self.bug("operand stack underflow"))?;
        Ok(self.stack.split_off(start))
    }

    pub(super) fn bug(&self, what: &'static str) -> TranslateError {
        TranslateError::Unreachable {
            what,
            offset: self.offset,
        }
    }

    pub(super) fn env_err(&self, source: EnvError) -> TranslateError {
        TranslateError::Env {
            offset: self.offset,
            source,
        }
    }
}

/// Whether an operator must be seen even in unreachable code.
macro_rules! is_control {
    (visit_block) => {
        true
    };
    (visit_loop) => {
        true
    };
    (visit_if) => {
        true
    };
    (visit_else) => {
        true
    };
    (visit_end) => {
        true
    };
    (visit_try_table) => {
        true
    };
    (visit_try) => {
        true
    };
    (visit_catch) => {
        true
    };
    (visit_catch_all) => {
        true
    };
    (visit_delegate) => {
        true
    };
    ($other:ident) => {
        false
    };
}

/// Expands wasmparser's operator list into visit methods, per proposal.
macro_rules! define_visit {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        $( define_visit_one!(@$proposal $visit $($($arg: $argty),*)?); )*
    };
}

macro_rules! define_visit_one {
    (@mvp $($rest:tt)*) => { define_visit_one!(@translate $($rest)*); };
    (@sign_extension $($rest:tt)*) => { define_visit_one!(@translate $($rest)*); };
    (@saturating_float_to_int $($rest:tt)*) => { define_visit_one!(@translate $($rest)*); };
    (@bulk_memory $($rest:tt)*) => { define_visit_one!(@translate $($rest)*); };
    (@reference_types $($rest:tt)*) => { define_visit_one!(@translate $($rest)*); };
    (@exceptions $($rest:tt)*) => { define_visit_one!(@translate $($rest)*); };
    (@legacy_exceptions $($rest:tt)*) => { define_visit_one!(@translate $($rest)*); };
    (@tail_call $($rest:tt)*) => { define_visit_one!(@translate $($rest)*); };
    (@function_references $($rest:tt)*) => { define_visit_one!(@translate $($rest)*); };
    (@threads $($rest:tt)*) => { define_visit_one!(@translate $($rest)*); };
    (@wide_arithmetic $($rest:tt)*) => { define_visit_one!(@translate $($rest)*); };
    (@gc $($rest:tt)*) => { define_visit_one!(@translate $($rest)*); };
    (@simd $($rest:tt)*) => { define_visit_one!(@translate_simd $($rest)*); };
    (@relaxed_simd $($rest:tt)*) => { define_visit_one!(@translate_simd $($rest)*); };
    (@translate_simd $visit:ident $($arg:ident: $argty:ty),*) => {
        fn $visit(&mut self $(, $arg: $argty)*) -> Self::Output {
            let t = &mut *self.0;
            t.validator.simd_visitor(t.offset).$visit($($arg),*)?;
            if !t.reachable {
                return Ok(());
            }
            t.$visit($($arg),*)
        }
    };
    (@translate $visit:ident $($arg:ident: $argty:ty),*) => {
        #[allow(clippy::clone_on_copy, reason = "operands go to the validator and the translator")]
        fn $visit(&mut self $(, $arg: $argty)*) -> Self::Output {
            let t = &mut *self.0;
            t.validator.visitor(t.offset).$visit($($arg.clone()),*)?;
            if !is_control!($visit) && !t.reachable {
                return Ok(());
            }
            t.$visit($($arg),*)
        }
    };
    (@$proposal:ident $visit:ident $($arg:ident: $argty:ty),*) => {
        fn $visit(&mut self $(, $arg: $argty)*) -> Self::Output {
            let t = &mut *self.0;
            t.validator.visitor(t.offset).$visit($($arg),*)?;
            Err(TranslateError::Unsupported {
                operator: stringify!($visit),
                offset: t.offset,
            })
        }
    };
}

/// The [`VisitOperator`] the operator reader drives: validate, then translate.
struct Visitor<'t, 'e, 'f>(&'t mut FuncTranslator<'e, 'f>);

impl<'a> VisitOperator<'a> for Visitor<'_, '_, '_> {
    type Output = TResult;

    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = Self::Output>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(define_visit);
}

impl<'a> VisitSimdOperator<'a> for Visitor<'_, '_, '_> {
    wasmparser::for_each_visit_simd_operator!(define_visit);
}
