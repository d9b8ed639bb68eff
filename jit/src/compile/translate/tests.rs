//! Translator tests: translate small WAT functions with a mock
//! [`FuncEnvironment`], run the Cranelift verifier, compile them for the host
//! and check the IR for the semantics that matter.

use cranelift_codegen::Context;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{self, AbiParam, ArgumentPurpose, InstBuilder, MemFlagsData};
use cranelift_codegen::isa::{CallConv, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::FunctionBuilder;
use wasmparser::{
    CompositeInnerType, Parser, Payload, TypeRef, ValType, ValidPayload, Validator, WasmFeatures,
};

use super::trap_codes;
use super::*;

fn isa() -> OwnedTargetIsa {
    let mut flags = settings::builder();
    flags
        .set("enable_verifier", "true")
        .expect("enable_verifier is a known flag");
    flags
        .set("enable_multi_ret_implicit_sret", "true")
        .expect("enable_multi_ret_implicit_sret is a known flag");
    cranelift_native::builder()
        .expect("host is a supported target")
        .finish(settings::Flags::new(flags))
        .expect("host ISA builds")
}

/// A runtime stand-in: the vmctx holds memory base/bound at 0/8, globals from
/// 16, and every builtin is a call to an imported user function.
struct MockEnv {
    types: Vec<(Vec<ValType>, Vec<ValType>)>,
    func_types: Vec<u32>,
    plan: MemoryPlan,
    epochs: bool,
}

impl MockEnv {
    fn signature(&self, ty: u32) -> ir::Signature {
        let mut sig = ir::Signature::new(CallConv::Tail);
        sig.params.push(AbiParam::special(
            ir::types::I64,
            ArgumentPurpose::VMContext,
        ));
        let (params, results) = &self.types[ty as usize];
        sig.params
            .extend(params.iter().map(|&t| AbiParam::new(ir_ty(t))));
        sig.returns
            .extend(results.iter().map(|&t| AbiParam::new(ir_ty(t))));
        sig
    }

    fn libcall(
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        id: u32,
        args: &[ir::Value],
        ret: Option<ir::Type>,
    ) -> Option<ir::Value> {
        let mut sig = ir::Signature::new(CallConv::SystemV);
        sig.params.push(AbiParam::new(ir::types::I64));
        for &a in args {
            let ty = builder.func.dfg.value_type(a);
            sig.params.push(AbiParam::new(ty));
        }
        sig.returns.extend(ret.map(AbiParam::new));
        let sigref = builder.import_signature(sig);
        let callee = builder.ins().load(
            ir::types::I64,
            MemFlagsData::trusted(),
            vmctx,
            i32::try_from(4096 + 8 * id).expect("small"),
        );
        let mut all = vec![vmctx];
        all.extend_from_slice(args);
        let call = builder.ins().call_indirect(sigref, callee, &all);
        builder.inst_results(call).first().copied()
    }
}

fn ir_ty(t: ValType) -> ir::Type {
    match t {
        ValType::I32 => ir::types::I32,
        ValType::I64 => ir::types::I64,
        ValType::F32 => ir::types::F32,
        ValType::F64 => ir::types::F64,
        _ => ir::types::I64,
    }
}

impl FuncEnvironment for MockEnv {
    fn pointer_type(&self) -> ir::Type {
        ir::types::I64
    }
    fn func_signature(&self, index: FuncIndex) -> ir::Signature {
        self.signature(self.func_types[index.as_u32() as usize])
    }
    fn type_signature(&self, index: TypeIndex) -> ir::Signature {
        self.signature(index.as_u32())
    }
    fn stack_limit(&mut self, func: &mut ir::Function) -> Option<ir::GlobalValue> {
        let vmctx = func.create_global_value(ir::GlobalValueData::VMContext);
        let flags = func.dfg.mem_flags.insert_unchecked(MemFlagsData::trusted());
        Some(func.create_global_value(ir::GlobalValueData::Load {
            base: vmctx,
            offset: 24.into(),
            global_type: ir::types::I64,
            flags,
        }))
    }
    fn emit_epoch_check(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
    ) -> EnvResult<()> {
        if self.epochs {
            let epoch = builder
                .ins()
                .load(ir::types::I64, MemFlagsData::trusted(), vmctx, 32);
            builder.ins().trapnz(epoch, trap_codes::INTERRUPT);
        }
        Ok(())
    }
    fn memory_plan(&self, _index: MemoryIndex) -> MemoryPlan {
        self.plan
    }
    fn memory_base(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: MemoryIndex,
    ) -> EnvResult<ir::Value> {
        Ok(builder.ins().load(
            ir::types::I64,
            MemFlagsData::trusted().with_readonly(),
            vmctx,
            0,
        ))
    }
    fn memory_bound(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: MemoryIndex,
    ) -> EnvResult<ir::Value> {
        Ok(builder
            .ins()
            .load(ir::types::I64, MemFlagsData::trusted(), vmctx, 8))
    }
    fn global(
        &mut self,
        _: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: GlobalIndex,
    ) -> EnvResult<GlobalLocation> {
        Ok(GlobalLocation {
            base: vmctx,
            offset: 64 + 16 * i32::try_from(index.as_u32()).expect("small"),
        })
    }
    fn call(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        callee: FuncIndex,
        args: &[ir::Value],
    ) -> EnvResult<Vec<ir::Value>> {
        let sig = self.func_signature(callee);
        let name = builder
            .func
            .declare_imported_user_function(ir::UserExternalName::new(0, callee.as_u32()));
        let signature = builder.import_signature(sig);
        let func = builder.import_function(ir::ExtFuncData {
            name: ir::ExternalName::user(name),
            signature,
            colocated: true,
            patchable: false,
        });
        let mut all = vec![vmctx];
        all.extend_from_slice(args);
        let call = builder.ins().call(func, &all);
        Ok(builder.inst_results(call).to_vec())
    }
    fn call_indirect(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _table: TableIndex,
        ty: TypeIndex,
        callee: ir::Value,
        args: &[ir::Value],
    ) -> EnvResult<Vec<ir::Value>> {
        let sig = self.type_signature(ty);
        let sigref = builder.import_signature(sig);
        let index = builder.ins().uextend(ir::types::I64, callee);
        let base = builder
            .ins()
            .load(ir::types::I64, MemFlagsData::trusted(), vmctx, 40);
        let addr = builder.ins().iadd(base, index);
        let ptr = builder
            .ins()
            .load(ir::types::I64, MemFlagsData::trusted(), addr, 0);
        builder.ins().trapz(ptr, trap_codes::INDIRECT_CALL_TO_NULL);
        let mut all = vec![vmctx];
        all.extend_from_slice(args);
        let call = builder.ins().call_indirect(sigref, ptr, &all);
        Ok(builder.inst_results(call).to_vec())
    }
    fn memory_size(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: MemoryIndex,
    ) -> EnvResult<ir::Value> {
        Ok(Self::libcall(builder, vmctx, 0, &[], Some(ir::types::I32)).expect("returns"))
    }
    fn memory_grow(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: MemoryIndex,
        delta: ir::Value,
    ) -> EnvResult<ir::Value> {
        Ok(Self::libcall(builder, vmctx, 1, &[delta], Some(ir::types::I32)).expect("returns"))
    }
    fn memory_fill(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: MemoryIndex,
        dst: ir::Value,
        value: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()> {
        Self::libcall(builder, vmctx, 2, &[dst, value, len], None);
        Ok(())
    }
    fn memory_copy(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: MemoryIndex,
        _: MemoryIndex,
        dst: ir::Value,
        src: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()> {
        Self::libcall(builder, vmctx, 3, &[dst, src, len], None);
        Ok(())
    }
    fn memory_init(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: MemoryIndex,
        _: DataIndex,
        dst: ir::Value,
        src: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()> {
        Self::libcall(builder, vmctx, 4, &[dst, src, len], None);
        Ok(())
    }
    fn data_drop(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: DataIndex,
    ) -> EnvResult<()> {
        Self::libcall(builder, vmctx, 5, &[], None);
        Ok(())
    }
    fn table_get(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: TableIndex,
        index: ir::Value,
    ) -> EnvResult<ir::Value> {
        Ok(Self::libcall(builder, vmctx, 6, &[index], Some(ir::types::I64)).expect("returns"))
    }
    fn table_set(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: TableIndex,
        index: ir::Value,
        value: ir::Value,
    ) -> EnvResult<()> {
        Self::libcall(builder, vmctx, 7, &[index, value], None);
        Ok(())
    }
    fn table_grow(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: TableIndex,
        init: ir::Value,
        delta: ir::Value,
    ) -> EnvResult<ir::Value> {
        Ok(
            Self::libcall(builder, vmctx, 8, &[init, delta], Some(ir::types::I32))
                .expect("returns"),
        )
    }
    fn table_size(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: TableIndex,
    ) -> EnvResult<ir::Value> {
        Ok(Self::libcall(builder, vmctx, 9, &[], Some(ir::types::I32)).expect("returns"))
    }
    fn table_fill(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: TableIndex,
        dst: ir::Value,
        value: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()> {
        Self::libcall(builder, vmctx, 10, &[dst, value, len], None);
        Ok(())
    }
    fn table_copy(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: TableIndex,
        _: TableIndex,
        dst: ir::Value,
        src: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()> {
        Self::libcall(builder, vmctx, 11, &[dst, src, len], None);
        Ok(())
    }
    fn table_init(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: TableIndex,
        _: ElemIndex,
        dst: ir::Value,
        src: ir::Value,
        len: ir::Value,
    ) -> EnvResult<()> {
        Self::libcall(builder, vmctx, 12, &[dst, src, len], None);
        Ok(())
    }
    fn elem_drop(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: ElemIndex,
    ) -> EnvResult<()> {
        Self::libcall(builder, vmctx, 13, &[], None);
        Ok(())
    }
    fn ref_func(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        index: FuncIndex,
    ) -> EnvResult<ir::Value> {
        let i = builder
            .ins()
            .iconst(ir::types::I32, i64::from(index.as_u32()));
        Ok(Self::libcall(builder, vmctx, 14, &[i], Some(ir::types::I64)).expect("returns"))
    }
    fn atomic_wait(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: MemoryIndex,
        addr: ir::Value,
        expected: ir::Value,
        timeout: ir::Value,
    ) -> EnvResult<ir::Value> {
        let args = [addr, expected, timeout];
        Ok(Self::libcall(builder, vmctx, 15, &args, Some(ir::types::I32)).expect("returns"))
    }
    fn atomic_notify(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        vmctx: ir::Value,
        _: MemoryIndex,
        addr: ir::Value,
        count: ir::Value,
    ) -> EnvResult<ir::Value> {
        Ok(
            Self::libcall(builder, vmctx, 16, &[addr, count], Some(ir::types::I32))
                .expect("returns"),
        )
    }
}

const DEFAULT_PLAN: MemoryPlan = MemoryPlan {
    memory64: false,
    reserved_bytes: 4 << 30,
    guard_bytes: 2 << 30,
};

/// Translate every defined function of `wat`; verify and compile each.
fn translate_with(
    wat: &str,
    plan: MemoryPlan,
    epochs: bool,
) -> Result<Vec<ir::Function>, TranslateError> {
    let wasm = wat::parse_str(wat).expect("test WAT parses");
    translate_wasm(&wasm, plan, epochs)
}

fn translate_wasm(
    wasm: &[u8],
    plan: MemoryPlan,
    epochs: bool,
) -> Result<Vec<ir::Function>, TranslateError> {
    translate_wasm_with_features(wasm, plan, epochs, WasmFeatures::WASM2)
}

fn translate_wasm_with_features(
    wasm: &[u8],
    plan: MemoryPlan,
    epochs: bool,
    features: WasmFeatures,
) -> Result<Vec<ir::Function>, TranslateError> {
    let isa = isa();
    let mut validator = Validator::new_with_features(features);
    let mut env = MockEnv {
        types: Vec::new(),
        func_types: Vec::new(),
        plan,
        epochs,
    };
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        match &payload {
            Payload::TypeSection(reader) => {
                for group in reader.clone() {
                    for sub in group?.into_types() {
                        if let CompositeInnerType::Func(f) = &sub.composite_type.inner {
                            env.types.push((f.params().to_vec(), f.results().to_vec()));
                        }
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.clone().into_imports() {
                    if let TypeRef::Func(ty) = import?.ty {
                        env.func_types.push(ty);
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader.clone() {
                    env.func_types.push(ty?);
                }
            }
            _ => {}
        }
        if let ValidPayload::Func(to_validate, body) = validator.payload(&payload)? {
            let index = FuncIndex::from_u32(to_validate.index);
            let func_validator = to_validate.into_validator(Default::default());
            let func = translate_function(isa.as_ref(), &mut env, index, body, func_validator)?;
            if let Err(errors) = cranelift_codegen::verify_function(&func, isa.as_ref()) {
                panic!("verifier rejected:\n{func}\n{errors}");
            }
            let mut ctx = Context::for_function(func.clone());
            if let Err(e) = ctx.compile(isa.as_ref(), &mut ControlPlane::default()) {
                panic!("compile failed: {e:?}\n{func}");
            }
            out.push(func);
        }
    }
    Ok(out)
}

fn translate(wat: &str) -> Vec<ir::Function> {
    translate_with(wat, DEFAULT_PLAN, false).expect("translates")
}

fn clif(wat: &str) -> String {
    translate(wat)
        .iter()
        .map(|f| f.display().to_string())
        .collect()
}

#[test]
fn integer_arithmetic_verifies() {
    let clif = clif(
        r#"(module
            (func (param i32 i32) (result i32)
              local.get 0 local.get 1 i32.add
              local.get 1 i32.div_s
              local.get 0 i32.rem_s
              local.get 1 i32.rotl
              i32.clz i32.extend8_s)
            (func (param i64 i64) (result i64)
              local.get 0 local.get 1 i64.div_u
              local.get 1 i64.shr_s
              i64.popcnt i64.extend32_s))"#,
    );
    for op in [
        "iadd", "sdiv", "srem", "rotl", "clz", "sextend", "udiv", "sshr", "popcnt",
    ] {
        assert!(clif.contains(op), "missing {op} in\n{clif}");
    }
}

#[test]
fn float_ops_use_wasm_semantics() {
    let clif = clif(
        r#"(module
            (func (param f32 f32) (result f32)
              local.get 0 local.get 1 f32.min local.get 1 f32.max
              f32.nearest local.get 0 f32.copysign)
            (func (param f64) (result i32)
              local.get 0 i32.trunc_f64_s
              local.get 0 i32.trunc_sat_f64_u i32.add
              local.get 0 f32.demote_f64 i32.reinterpret_f32 i32.add))"#,
    );
    for op in [
        "fmin",
        "fmax",
        "nearest",
        "fcopysign",
        "fcvt_to_sint.i32",
        "fcvt_to_uint_sat.i32",
        "fdemote",
        "bitcast.i32",
    ] {
        assert!(clif.contains(op), "missing {op} in\n{clif}");
    }
}

#[test]
fn control_flow_with_block_params_verifies() {
    translate(
        r#"(module
            (func (param i32) (result i32 i32)
              (local i64 f32 f64)
              i32.const 1
              (block (param i32) (result i32)
                (loop (param i32) (result i32)
                  local.get 0
                  br_if 0
                  i32.const 2 i32.add)
                local.get 0
                br_if 0)
              (if (param i32) (result i32) (local.get 0)
                (then i32.const 3 i32.add)
                (else i32.const 4 i32.sub))
              (if (param i32) (result i32) (local.get 0)
                (then i32.const 5 i32.mul))
              local.get 0)
            (func (param i32) (result i32)
              (block (result i32)
                (block (result i32)
                  i32.const 7
                  local.get 0
                  br_table 0 1 0)
                i32.const 1 i32.add)))"#,
    );
}

#[test]
fn unreachable_code_is_validated_not_emitted() {
    let funcs = translate(
        r#"(module
            (func (result i32)
              i32.const 1
              return
              (block (result i32) (loop (if (i32.const 0) (then unreachable) (else nop))) i32.const 2)
              i32.add)
            (func (param i32) (result i32)
              (block (result i32)
                (if (local.get 0) (then (br 1 (i32.const 1))) (else (unreachable)))
                i32.const 9)))"#,
    );
    let first = funcs[0].display().to_string();
    assert!(!first.contains("iadd"), "dead code emitted:\n{first}");
    // Invalid code after `return` is still rejected.
    let err = translate_with(
        r#"(module (func (result i32) i32.const 1 return f32.const 0 i32.add))"#,
        DEFAULT_PLAN,
        false,
    );
    assert!(matches!(err, Err(TranslateError::Invalid(_))), "{err:?}");
}

#[test]
fn invalid_body_reports_offset() {
    let wasm = wat::parse_str(r#"(module (func (result i32) i64.const 1))"#).expect("parses");
    match translate_wasm(&wasm, DEFAULT_PLAN, false) {
        Err(TranslateError::Invalid(e)) => {
            assert!(e.offset() > 0 && (e.offset() as usize) < wasm.len())
        }
        other => panic!("expected invalid, got {other:?}"),
    }
}

#[test]
fn memory_access_relies_on_guard_by_default() {
    let clif = clif(
        r#"(module (memory 1)
            (func (param i32) (result i64)
              local.get 0 i64.load16_s offset=100
              local.get 0 i64.load32_u
              i64.add
              local.get 0 local.get 0 i32.load8_u i32.store8 offset=7))"#,
    );
    assert!(!clif.contains("trapnz"), "unexpected bounds check:\n{clif}");
    assert!(clif.contains("sload16") && clif.contains("uload32") && clif.contains("istore8"));
    // Heap accesses may trap (default code: heap out of bounds).
    assert!(
        clif.contains("sload16.i64 little"),
        "heap access marked notrap:\n{clif}"
    );
}

#[test]
fn memory_access_checks_bounds_without_guard() {
    let plan = MemoryPlan {
        memory64: false,
        reserved_bytes: 1 << 20,
        guard_bytes: 0,
    };
    let funcs = translate_with(
        r#"(module (memory 1) (func (param i32) (result i32) local.get 0 i32.load offset=4))"#,
        plan,
        false,
    )
    .expect("translates");
    let clif = funcs[0].display().to_string();
    assert!(
        clif.contains("trapnz") && clif.contains("icmp ugt"),
        "no bounds check:\n{clif}"
    );
    // A huge static offset also forces a check under the default plan.
    let clif = clif_of(
        r#"(module (memory 1) (func (param i32) (result i32) local.get 0 i32.load offset=4294967295))"#,
    );
    assert!(
        clif.contains("trapnz"),
        "no bounds check for big offset:\n{clif}"
    );
}

fn clif_of(wat: &str) -> String {
    clif(wat)
}

#[test]
fn calls_globals_tables_and_bulk_ops_verify() {
    translate(
        r#"(module
            (import "env" "f" (func $f (param i32) (result i32)))
            (type $t (func (param i64) (result f64)))
            (memory 1)
            (table 2 funcref)
            (table $e 1 externref)
            (global $g (mut i64) (i64.const 0))
            (data $d "abc")
            (elem $el func $f)
            (elem declare func $h)
            (func $h (param i64) (result f64) f64.const 1)
            (func (param i32) (result i32)
              (drop (call_indirect (type $t) (i64.const 1) (local.get 0)))
              (global.set $g (i64.add (global.get $g) (i64.const 1)))
              (memory.fill (i32.const 0) (i32.const 1) (i32.const 2))
              (memory.copy (i32.const 0) (i32.const 1) (i32.const 2))
              (memory.init $d (i32.const 0) (i32.const 1) (i32.const 2))
              data.drop $d
              (drop (memory.grow (memory.size)))
              (table.set 0 (i32.const 0) (ref.func $h))
              (drop (table.get 0 (i32.const 1)))
              (drop (table.grow $e (ref.null extern) (i32.const 1)))
              (drop (table.size $e))
              (table.fill 0 (i32.const 0) (ref.null func) (i32.const 1))
              (table.copy 0 0 (i32.const 0) (i32.const 1) (i32.const 1))
              (table.init 0 $el (i32.const 0) (i32.const 0) (i32.const 1))
              elem.drop $el
              (drop (ref.is_null (ref.null extern)))
              (select (call $f (local.get 0)) (i32.const 2) (local.get 0))
              (select (result externref) (ref.null extern) (ref.null extern) (local.get 0))
              drop))"#,
    );
}

#[test]
fn epoch_checks_at_entry_and_loop_headers() {
    let funcs =
        translate_with(r#"(module (func (loop (br 0))))"#, DEFAULT_PLAN, true).expect("translates");
    let clif = funcs[0].display().to_string();
    assert_eq!(clif.matches("trapnz").count(), 2, "{clif}");
}

#[test]
fn srcloc_points_at_wasm_offsets() {
    let wasm = wat::parse_str(
        r#"(module (func (param i32) (result i32) local.get 0 local.get 0 i32.div_u))"#,
    )
    .expect("parses");
    let funcs = translate_wasm(&wasm, DEFAULT_PLAN, false).expect("translates");
    let func = &funcs[0];
    let udiv = func
        .layout
        .blocks()
        .flat_map(|b| func.layout.block_insts(b))
        .find(|&i| func.dfg.insts[i].opcode() == ir::Opcode::Udiv)
        .expect("udiv emitted");
    let loc = func.srcloc(udiv);
    // `i32.div_u` is the second-to-last byte of the module (before `end`).
    assert_eq!(loc.bits() as usize, wasm.len() - 2);
}

#[test]
fn simd_is_rejected_when_disabled() {
    let wasm =
        wat::parse_str(r#"(module (func (result i32) v128.const i64x2 0 0 i32x4.extract_lane 0))"#)
            .expect("test WAT parses");
    let err = translate_wasm_with_features(
        &wasm,
        DEFAULT_PLAN,
        false,
        WasmFeatures::WASM2 - WasmFeatures::SIMD,
    );
    assert!(matches!(err, Err(TranslateError::Invalid(_))), "{err:?}");
}

#[test]
fn simd_lowers_to_vector_ir() {
    let funcs = translate_with(
        r#"(module (func (result i32)
            v128.const i64x2 1 2
            v128.const i32x4 3 4 5 6
            i32x4.add
            i32x4.extract_lane 2))"#,
        DEFAULT_PLAN,
        false,
    )
    .expect("SIMD translates");
    let func = &funcs[0];
    let ops: Vec<_> = func
        .layout
        .blocks()
        .flat_map(|b| func.layout.block_insts(b))
        .map(|i| func.dfg.insts[i].opcode())
        .collect();
    assert!(ops.contains(&ir::Opcode::Vconst), "{ops:?}");
    assert!(ops.contains(&ir::Opcode::Iadd), "{ops:?}");
    assert!(ops.contains(&ir::Opcode::Extractlane), "{ops:?}");
    let add = func
        .layout
        .blocks()
        .flat_map(|b| func.layout.block_insts(b))
        .find(|&i| func.dfg.insts[i].opcode() == ir::Opcode::Iadd)
        .expect("iadd emitted");
    let result = func.dfg.first_result(add);
    assert_eq!(func.dfg.value_type(result), ir::types::I32X4);
}

#[test]
fn trap_codes_have_distinct_spec_messages() {
    let mut seen = std::collections::HashSet::new();
    for code in trap_codes::ALL {
        let msg = trap_codes::message(code).expect("every code has a message");
        assert!(seen.insert(msg), "duplicate message {msg}");
    }
    assert_eq!(trap_codes::message(ir::TrapCode::unwrap_user(200)), None);
}

#[test]
fn guard_plan_coverage() {
    assert!(DEFAULT_PLAN.covers(0, 8));
    assert!(DEFAULT_PLAN.covers((2 << 30) - 8, 8));
    assert!(DEFAULT_PLAN.covers((2 << 30) - 7, 8));
    assert!(!DEFAULT_PLAN.covers((2 << 30) - 6, 8));
    assert!(
        !MemoryPlan {
            memory64: true,
            ..DEFAULT_PLAN
        }
        .covers(0, 1)
    );
}

#[test]
fn many_results_and_params_compile_with_tail_calls() {
    translate(
        r#"(module
            (func $many (param i64 i64 i64 i64 i64 i64 i64 i64 i64)
                        (result i64 i64 i64 i64 i64 i64 i64 i64 i64)
              local.get 8 local.get 7 local.get 6 local.get 5 local.get 4
              local.get 3 local.get 2 local.get 1 local.get 0)
            (func (result i64)
              (call $many (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4)
                (i64.const 5) (i64.const 6) (i64.const 7) (i64.const 8) (i64.const 9))
              drop drop drop drop drop drop drop drop))"#,
    );
}

/// A deterministic byte stream for wasm-smith (xorshift; no external RNG so
/// the test is the same on every machine).
fn pseudo_random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

#[test]
fn generated_wasm2_modules_translate_verify_and_compile() {
    let mut translated = 0;
    for seed in 0..100 {
        let bytes = pseudo_random_bytes(seed, 32 * 1024);
        let mut u = arbitrary::Unstructured::new(&bytes);
        let config = wasm_smith::Config {
            simd_enabled: false,
            relaxed_simd_enabled: false,
            exceptions_enabled: false,
            gc_enabled: false,
            memory64_enabled: false,
            tail_call_enabled: false,
            threads_enabled: false,
            wide_arithmetic_enabled: false,
            compact_imports_enabled: false,
            custom_page_sizes_enabled: false,
            max_memories: 1,
            max_tables: 4,
            min_funcs: 2,
            max_funcs: 8,
            ..wasm_smith::Config::default()
        };
        let features = WasmFeatures::WASM2 | WasmFeatures::EXTENDED_CONST;
        // Some byte streams are too short for the generator: skip them.
        let Ok(module) = wasm_smith::Module::new(config, &mut u) else {
            continue;
        };
        let wasm = module.to_bytes();
        // Every generated module is valid: translation must succeed (and
        // `translate_wasm` verifies and compiles each function).
        match translate_wasm_with_features(&wasm, DEFAULT_PLAN, true, features) {
            Ok(funcs) => translated += funcs.len(),
            Err(e) => panic!("seed {seed}: {e}"),
        }
    }
    assert!(
        translated >= 100,
        "generator produced too few functions: {translated}"
    );
}

const THREADS: WasmFeatures = WasmFeatures::WASM2.union(WasmFeatures::THREADS);

/// Translate `wat` with the threads proposal on; verify and compile.
fn translate_threads(wat: &str, plan: MemoryPlan) -> Vec<ir::Function> {
    let wasm = wat::parse_str(wat).expect("test WAT parses");
    translate_wasm_with_features(&wasm, plan, false, THREADS).expect("translates")
}

#[test]
fn every_atomic_operator_translates_verifies_and_compiles() {
    let mut body = String::new();
    for (ty, widths) in [
        ("i32", &["", "8", "16"][..]),
        ("i64", &["", "8", "16", "32"][..]),
    ] {
        body.push_str(&format!(
            "(drop ({ty}.atomic.load (local.get 0)))
             ({ty}.atomic.store (local.get 0) ({ty}.const 1))
             (drop ({ty}.atomic.rmw.cmpxchg (local.get 0) ({ty}.const 1) ({ty}.const 2)))\n"
        ));
        for w in widths.iter().filter(|w| !w.is_empty()) {
            body.push_str(&format!(
                "(drop ({ty}.atomic.load{w}_u (local.get 0)))
                 ({ty}.atomic.store{w} (local.get 0) ({ty}.const 1))
                 (drop ({ty}.atomic.rmw{w}.cmpxchg_u (local.get 0) ({ty}.const 1) ({ty}.const 2)))\n"
            ));
        }
        for op in ["add", "sub", "and", "or", "xor", "xchg"] {
            for w in widths {
                let suffix = if w.is_empty() { "" } else { "_u" };
                body.push_str(&format!(
                    "(drop ({ty}.atomic.rmw{w}.{op}{suffix} (local.get 0) ({ty}.const 3)))\n"
                ));
            }
        }
    }
    body.push_str(
        "atomic.fence
         (drop (memory.atomic.notify (local.get 0) (i32.const 1)))
         (drop (memory.atomic.wait32 (local.get 0) (i32.const 0) (i64.const 0)))
         (drop (memory.atomic.wait64 (local.get 0) (i64.const 0) (i64.const -1)))",
    );
    let wat = format!("(module (memory 1 1 shared) (func (param i32) {body}))");
    let clif = translate_threads(&wat, DEFAULT_PLAN)[0]
        .display()
        .to_string();
    for op in [
        "atomic_load",
        "atomic_store",
        "atomic_rmw",
        "atomic_cas",
        "fence",
        "uextend",
        "ireduce",
    ] {
        assert!(clif.contains(op), "missing {op} in\n{clif}");
    }
    // Disabled, the same body is invalid, not unsupported.
    let wasm = wat::parse_str(&wat).expect("parses");
    let err = translate_wasm_with_features(&wasm, DEFAULT_PLAN, false, WasmFeatures::WASM2);
    assert!(matches!(err, Err(TranslateError::Invalid(_))), "{err:?}");
}

#[test]
fn atomic_alignment_is_checked_before_bounds() {
    let plan = MemoryPlan {
        memory64: false,
        reserved_bytes: 1 << 20,
        guard_bytes: 0,
    };
    let funcs = translate_threads(
        r#"(module (memory 1 1 shared)
            (func (param i32) (result i32) (i32.atomic.rmw.and offset=2 (local.get 0) (i32.const 1))))"#,
        plan,
    );
    let func = &funcs[0];
    let traps: Vec<ir::TrapCode> = func
        .layout
        .blocks()
        .flat_map(|b| func.layout.block_insts(b))
        .filter_map(|i| func.dfg.insts[i].trap_code())
        .collect();
    assert_eq!(
        traps.first(),
        Some(&trap_codes::HEAP_MISALIGNED),
        "alignment is not the first check:\n{func}"
    );
    assert!(traps.contains(&trap_codes::HEAP_OUT_OF_BOUNDS), "{func}");
    // A byte access is always aligned: no check.
    let clif = translate_threads(
        r#"(module (memory 1 1 shared)
            (func (param i32) (result i32) (i32.atomic.rmw8.and_u (local.get 0) (i32.const 1))))"#,
        DEFAULT_PLAN,
    )[0]
    .display()
    .to_string();
    assert!(!clif.contains("trapnz"), "unexpected check:\n{clif}");
}

/// On x86-64 `atomic_rmw` and/or/xor is a load, then a `lock cmpxchg`
/// loop: both touch memory, and a fault in either must be the
/// out-of-bounds trap, so both carry a trap record.
#[cfg(target_arch = "x86_64")]
#[test]
fn every_memory_instruction_of_an_rmw_loop_has_a_trap_record() {
    for op in ["and", "or", "xor", "add", "xchg"] {
        for (ty, narrow) in [("i32", ""), ("i64", ""), ("i32", "8"), ("i64", "16")] {
            let suffix = if narrow.is_empty() { "" } else { "_u" };
            let wat = format!(
                "(module (memory 1 1 shared)
                   (func (param i32) (result {ty})
                     ({ty}.atomic.rmw{narrow}.{op}{suffix} (local.get 0) ({ty}.const 1))))"
            );
            let func = translate_threads(&wat, DEFAULT_PLAN).remove(0);
            let isa = isa();
            let mut ctx = Context::for_function(func);
            let compiled = ctx
                .compile(isa.as_ref(), &mut ControlPlane::default())
                .expect("compiles");
            let heap_traps = compiled
                .buffer
                .traps()
                .iter()
                .filter(|t| t.code == trap_codes::HEAP_OUT_OF_BOUNDS)
                .count();
            // and/or/xor: the first load and the lock cmpxchg; add/xchg: one
            // locked instruction.
            let want = if matches!(op, "and" | "or" | "xor") {
                2
            } else {
                1
            };
            assert_eq!(heap_traps, want, "{op} {ty} rmw{narrow}");
        }
    }
}

/// On AArch64 an atomic read-modify-write is one LSE instruction
/// (`ldaddal`, `ldclral`, `casal`...) or, without LSE, an exclusive
/// load/store loop (`ldaxr` … `stlxr`; always for xchg): every instruction
/// that touches memory must carry the out-of-bounds trap record, on both
/// paths.
#[cfg(target_arch = "aarch64")]
#[test]
fn every_memory_instruction_of_an_aarch64_atomic_has_a_trap_record() {
    for lse in [true, false] {
        let mut flags = settings::builder();
        flags
            .set("enable_verifier", "true")
            .expect("enable_verifier is a known flag");
        let mut builder = cranelift_native::builder().expect("host is a supported target");
        builder
            .set("has_lse", if lse { "true" } else { "false" })
            .expect("has_lse is an aarch64 flag");
        let isa = builder
            .finish(settings::Flags::new(flags))
            .expect("host ISA builds");
        for op in ["and", "or", "xor", "add", "xchg", "cmpxchg"] {
            for (ty, narrow) in [("i32", ""), ("i64", ""), ("i32", "8"), ("i64", "16")] {
                let suffix = if narrow.is_empty() { "" } else { "_u" };
                let extra = if op == "cmpxchg" {
                    format!("({ty}.const 2)")
                } else {
                    String::new()
                };
                let wat = format!(
                    "(module (memory 1 1 shared)
                       (func (param i32) (result {ty})
                         ({ty}.atomic.rmw{narrow}.{op}{suffix} (local.get 0) ({ty}.const 1) {extra})))"
                );
                let func = translate_threads(&wat, DEFAULT_PLAN).remove(0);
                let mut ctx = Context::for_function(func);
                let compiled = ctx
                    .compile(isa.as_ref(), &mut ControlPlane::default())
                    .expect("compiles");
                let heap_traps = compiled
                    .buffer
                    .traps()
                    .iter()
                    .filter(|t| t.code == trap_codes::HEAP_OUT_OF_BOUNDS)
                    .count();
                // Cranelift has no LSE form for xchg (`swpal`): a loop.
                let want = if lse && op != "xchg" { 1 } else { 2 };
                assert_eq!(heap_traps, want, "lse={lse} {op} {ty} rmw{narrow}");
            }
        }
    }
}

#[test]
fn generated_threads_modules_translate_verify_and_compile() {
    let mut atomics = 0;
    for seed in 0..60 {
        let bytes = pseudo_random_bytes(seed ^ 0x7468_7265_6164, 32 * 1024);
        let mut u = arbitrary::Unstructured::new(&bytes);
        let config = wasm_smith::Config {
            simd_enabled: false,
            relaxed_simd_enabled: false,
            exceptions_enabled: false,
            gc_enabled: false,
            memory64_enabled: false,
            tail_call_enabled: false,
            threads_enabled: true,
            shared_everything_threads_enabled: false,
            wide_arithmetic_enabled: false,
            compact_imports_enabled: false,
            custom_page_sizes_enabled: false,
            max_memories: 1,
            max_tables: 4,
            min_funcs: 2,
            max_funcs: 8,
            ..wasm_smith::Config::default()
        };
        let Ok(module) = wasm_smith::Module::new(config, &mut u) else {
            continue;
        };
        let wasm = module.to_bytes();
        let features = THREADS | WasmFeatures::EXTENDED_CONST;
        // Count the atomic operators, so the test knows it exercised them.
        let mut validator = Validator::new_with_features(features);
        validator
            .validate_all(&wasm)
            .expect("wasm-smith modules are valid");
        for payload in Parser::new(0).parse_all(&wasm) {
            if let Ok(Payload::CodeSectionEntry(body)) = payload {
                let mut ops = body.get_operators_reader().expect("reader");
                while !ops.eof() {
                    let op = ops.read().expect("valid body");
                    atomics += usize::from(format!("{op:?}").contains("Atomic"));
                }
            }
        }
        if let Err(e) = translate_wasm_with_features(&wasm, DEFAULT_PLAN, true, features) {
            panic!("seed {seed}: {e}");
        }
    }
    assert!(
        atomics >= 100,
        "generator produced too few atomics: {atomics}"
    );
}
