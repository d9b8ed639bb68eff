//! Exception handling: `throw`, `throw_ref`, `try_table` with its four
//! catch clauses, and the legacy `try`/`catch`/`catch_all`/`delegate`/
//! `rethrow`.
//!
//! Every `try_table` and legacy `try` body is a *handler scope* with one
//! landing pad: a Cranelift block taking the exception object. Inside the
//! scope, calls become `try_call`s whose only exception-table entry is a
//! catch-all to the landing pad, so the runtime's unwinder stops at the
//! first frame with any handler and needs no tag matching. The landing pad
//! compares the exception's tag with each clause's tag (tag identities come
//! from the environment, so imported tags alias) in clause order, branches
//! to the first match with the payload (and the `exnref` for the `_ref`
//! clauses), and otherwise passes the exception to the next enclosing scope
//! of the same function, or throws it to the caller when there is none.
//! A `throw` inside a scope of its own function jumps straight to the
//! landing pad: no runtime call.

use cranelift_codegen::ir::{
    self, BlockArg, ExceptionTableData, ExceptionTableItem, InstBuilder, InstructionData,
    condcodes::IntCC,
};
use wasmparser::{BlockType, Catch, TryTable, WasmModuleResources};

use super::environ::TagIndex;
use super::func::{Frame, FuncTranslator, TResult};
use super::trap_codes;

/// What a scope does with the exceptions its landing pad receives.
#[derive(Debug)]
enum ScopeKind {
    /// `try_table`: the clauses are known up front and the pad is filled
    /// when the scope opens.
    TryTable,
    /// Legacy `try`: the clauses come after the body; the pad is filled at
    /// `end` (or `delegate`).
    Legacy {
        /// `(tag or catch_all, block taking the payload and the exception)`.
        clauses: Vec<(Option<u32>, ir::Block)>,
        /// The exception of the catch body being translated (`rethrow`).
        caught: Option<ir::Value>,
    },
}

/// One `try_table` or legacy `try`.
#[derive(Debug)]
pub(super) struct HandlerScope {
    /// Index in the control stack of the scope's frame.
    frame: usize,
    /// The landing pad; its one parameter is the exception object.
    pad: ir::Block,
    /// Whether the current position is in the scope's body (calls go to
    /// its pad); false in a legacy catch body.
    active: bool,
    kind: ScopeKind,
}

/// The handler scopes open in the function, outermost first.
#[derive(Debug, Default)]
pub(super) struct EhState {
    scopes: Vec<HandlerScope>,
}

fn args(values: &[ir::Value]) -> Vec<BlockArg> {
    values.iter().copied().map(BlockArg::Value).collect()
}

impl FuncTranslator<'_, '_> {
    /// The landing pad that covers the current position.
    fn current_pad(&self) -> Option<ir::Block> {
        self.eh
            .scopes
            .iter()
            .rev()
            .find(|s| s.active)
            .map(|s| s.pad)
    }

    /// The landing pad covering scope `index` from outside it.
    fn outer_pad(&self, index: usize) -> Option<ir::Block> {
        self.eh.scopes[..index]
            .iter()
            .rev()
            .find(|s| s.active)
            .map(|s| s.pad)
    }

    /// Payload types of tag `tag`.
    fn tag_types(&self, tag: u32) -> TResult<Vec<ir::Type>> {
        let resources = self.validator.resources();
        let ty = resources
            .tag_at(tag)
            .ok_or_else(|| self.bug("tag index out of range after validation"))?;
        ty.params().iter().map(|&t| self.ir_type(t)).collect()
    }

    /// Send `exn` to `pad`, or to the calling function when `None`; ends
    /// the block.
    fn throw_to(&mut self, pad: Option<ir::Block>, exn: ir::Value) -> TResult {
        match pad {
            Some(pad) => {
                self.builder.ins().jump(pad, &[BlockArg::Value(exn)]);
            }
            None => self
                .env
                .throw(&mut self.builder, self.vmctx, exn)
                .map_err(|e| self.env_err(e))?,
        }
        self.reachable = false;
        Ok(())
    }

    /// If the current position is inside a handler scope, turn the call the
    /// environment just emitted (the current block's last instruction) into
    /// a `try_call` to the scope's landing pad, and return its results.
    pub(super) fn catch_call_results(
        &mut self,
        results: Vec<ir::Value>,
    ) -> TResult<Vec<ir::Value>> {
        let Some(pad) = self.current_pad() else {
            return Ok(results);
        };
        let block = self
            .builder
            .current_block()
            .ok_or_else(|| self.bug("call outside a block"))?;
        let inst = self
            .builder
            .func
            .layout
            .last_inst(block)
            .ok_or_else(|| self.bug("call not found"))?;
        let dfg = &self.builder.func.dfg;
        if dfg.inst_results(inst) != results.as_slice() {
            return Err(self.bug("the environment's call is not its last instruction"));
        }
        let (callee, sig, all_args) = match &dfg.insts[inst] {
            InstructionData::Call { func_ref, args, .. } => (
                Err(*func_ref),
                dfg.ext_funcs[*func_ref].signature,
                args.as_slice(&dfg.value_lists).to_vec(),
            ),
            InstructionData::CallIndirect { sig_ref, args, .. } => {
                let all = args.as_slice(&dfg.value_lists).to_vec();
                (Ok(all[0]), *sig_ref, all[1..].to_vec())
            }
            _ => return Err(self.bug("the environment's call is not a call")),
        };
        let types: Vec<ir::Type> = results
            .iter()
            .map(|v| self.builder.func.dfg.value_type(*v))
            .collect();
        self.builder.func.layout.remove_inst(inst);
        let cont = self.builder.create_block();
        for ty in &types {
            self.builder.append_block_param(cont, *ty);
        }
        let rets: Vec<BlockArg> = (0..types.len() as u32).map(BlockArg::TryCallRet).collect();
        let dfg = &mut self.builder.func.dfg;
        let normal = dfg.block_call(cont, &rets);
        let handler = dfg.block_call(pad, &[BlockArg::TryCallExn(0)]);
        let table = ExceptionTableData::new(sig, normal, [ExceptionTableItem::Default(handler)]);
        let table = dfg.exception_tables.push(table);
        match callee {
            Err(func_ref) => self.builder.ins().try_call(func_ref, &all_args, table),
            Ok(ptr) => self.builder.ins().try_call_indirect(ptr, &all_args, table),
        };
        self.builder.seal_block(cont);
        self.builder.switch_to_block(cont);
        Ok(self.builder.block_params(cont).to_vec())
    }

    /// In the landing pad: branch to `target` with the payload when `exn`
    /// has tag `tag`; continue in a fresh block otherwise.
    fn dispatch_tag(
        &mut self,
        exn: ir::Value,
        tag: u32,
        with_ref: bool,
        target: ir::Block,
        pass_exn_always: bool,
    ) -> TResult {
        let id = self
            .env
            .tag_identity(&mut self.builder, self.vmctx, TagIndex::from_u32(tag))
            .map_err(|e| self.env_err(e))?;
        let actual = self
            .env
            .exn_tag(&mut self.builder, exn)
            .map_err(|e| self.env_err(e))?;
        let same = self.builder.ins().icmp(IntCC::Equal, actual, id);
        let matched = self.builder.create_block();
        let other = self.builder.create_block();
        self.builder.ins().brif(same, matched, &[], other, &[]);
        self.builder.seal_block(matched);
        self.builder.seal_block(other);
        self.builder.switch_to_block(matched);
        let types = self.tag_types(tag)?;
        let mut values = self
            .env
            .exn_payload(&mut self.builder, exn, &types)
            .map_err(|e| self.env_err(e))?;
        if with_ref {
            self.env
                .exn_escape(&mut self.builder, exn)
                .map_err(|e| self.env_err(e))?;
            values.push(exn);
        } else if pass_exn_always {
            values.push(exn);
        } else {
            self.env
                .exn_release(&mut self.builder, self.vmctx, exn)
                .map_err(|e| self.env_err(e))?;
        }
        self.builder.ins().jump(target, &args(&values));
        self.builder.switch_to_block(other);
        Ok(())
    }

    pub(super) fn visit_try_table(&mut self, try_table: TryTable) -> TResult {
        if !self.reachable {
            self.frames.push(Frame::Dead);
            return Ok(());
        }
        // Catch labels are relative to the frames outside the try_table.
        let mut clauses = Vec::with_capacity(try_table.catches.len());
        for c in &try_table.catches {
            let label = match *c {
                Catch::One { label, .. }
                | Catch::OneRef { label, .. }
                | Catch::All { label }
                | Catch::AllRef { label } => label,
            };
            let (target, _) = self.branch_target(label)?;
            clauses.push((*c, target));
        }
        let (params, results) = self.block_type(try_table.ty)?;
        let next = self.block_with_params(&results);
        let height = self
            .stack
            .len()
            .checked_sub(params.len())
            .ok_or_else(|| self.bug("try_table parameters missing"))?;
        let pad = self.builder.create_block();
        let exn = self.builder.append_block_param(pad, self.pointer_type);
        let body = self.builder.create_block();
        self.builder.ins().jump(body, &[]);
        self.builder.seal_block(body);

        self.builder.switch_to_block(pad);
        let outer = self.current_pad();
        let mut caught_all = false;
        for (clause, target) in clauses {
            match clause {
                Catch::One { tag, .. } => self.dispatch_tag(exn, tag, false, target, false)?,
                Catch::OneRef { tag, .. } => self.dispatch_tag(exn, tag, true, target, false)?,
                Catch::All { .. } => {
                    self.env
                        .exn_release(&mut self.builder, self.vmctx, exn)
                        .map_err(|e| self.env_err(e))?;
                    self.builder.ins().jump(target, &[]);
                    caught_all = true;
                    break;
                }
                Catch::AllRef { .. } => {
                    self.env
                        .exn_escape(&mut self.builder, exn)
                        .map_err(|e| self.env_err(e))?;
                    self.builder.ins().jump(target, &[BlockArg::Value(exn)]);
                    caught_all = true;
                    break;
                }
            }
        }
        if !caught_all {
            self.throw_to(outer, exn)?;
            self.reachable = true;
        }

        self.builder.switch_to_block(body);
        self.frames.push(Frame::Block {
            next,
            height,
            num_results: results.len(),
            branched_to: false,
        });
        self.eh.scopes.push(HandlerScope {
            frame: self.frames.len() - 1,
            pad,
            active: true,
            kind: ScopeKind::TryTable,
        });
        Ok(())
    }

    pub(super) fn visit_throw(&mut self, tag_index: u32) -> TResult {
        let types = self.tag_types(tag_index)?;
        let values = self.popn(types.len())?;
        let slot = self.builder.create_sized_stack_slot(ir::StackSlotData::new(
            ir::StackSlotKind::ExplicitSlot,
            (values.len().max(1) * 16) as u32,
            4,
        ));
        let addr = self.builder.ins().stack_addr(self.pointer_type, slot, 0);
        for (i, v) in values.iter().enumerate() {
            self.builder
                .ins()
                .store(ir::MemFlagsData::trusted(), *v, addr, (i * 16) as i32);
        }
        let id = self
            .env
            .tag_identity(&mut self.builder, self.vmctx, TagIndex::from_u32(tag_index))
            .map_err(|e| self.env_err(e))?;
        let exn = self
            .env
            .exn_new(&mut self.builder, self.vmctx, id, addr)
            .map_err(|e| self.env_err(e))?;
        let pad = self.current_pad();
        self.throw_to(pad, exn)
    }

    pub(super) fn visit_throw_ref(&mut self) -> TResult {
        let exn = self.pop()?;
        self.builder.ins().trapz(exn, trap_codes::NULL_REFERENCE);
        let pad = self.current_pad();
        self.throw_to(pad, exn)
    }

    pub(super) fn visit_try(&mut self, blockty: BlockType) -> TResult {
        if !self.reachable {
            self.frames.push(Frame::Dead);
            return Ok(());
        }
        let (params, results) = self.block_type(blockty)?;
        let next = self.block_with_params(&results);
        let height = self
            .stack
            .len()
            .checked_sub(params.len())
            .ok_or_else(|| self.bug("try parameters missing"))?;
        let pad = self.builder.create_block();
        self.builder.append_block_param(pad, self.pointer_type);
        self.frames.push(Frame::Block {
            next,
            height,
            num_results: results.len(),
            branched_to: false,
        });
        self.eh.scopes.push(HandlerScope {
            frame: self.frames.len() - 1,
            pad,
            active: true,
            kind: ScopeKind::Legacy {
                clauses: Vec::new(),
                caught: None,
            },
        });
        Ok(())
    }

    /// The scope of the innermost frame, if that frame is a live `try` or
    /// `try_table`.
    fn top_scope_index(&self) -> Option<usize> {
        let top = self.frames.len().checked_sub(1)?;
        let scope = self.eh.scopes.len().checked_sub(1)?;
        (self.eh.scopes[scope].frame == top).then_some(scope)
    }

    /// A legacy catch body of scope `index` that ends normally is done with
    /// its exception: the runtime may reuse it (unless an `exnref` to it
    /// escaped meanwhile).
    fn release_caught(&mut self, index: usize) -> TResult {
        let ScopeKind::Legacy {
            caught: Some(exn), ..
        } = self.eh.scopes[index].kind
        else {
            return Ok(());
        };
        if self.reachable {
            self.env
                .exn_release(&mut self.builder, self.vmctx, exn)
                .map_err(|e| self.env_err(e))?;
        }
        Ok(())
    }

    /// The exceptions of the legacy catch bodies a branch to
    /// `relative_depth` (or a `return`, `None`) leaves.
    pub(super) fn exited_catches(&self, relative_depth: Option<u32>) -> TResult<Vec<ir::Value>> {
        let first_exited = match relative_depth {
            None => 0,
            Some(depth) => {
                let target = self
                    .frames
                    .len()
                    .checked_sub(1 + depth as usize)
                    .ok_or_else(|| self.bug("branch depth out of range after validation"))?;
                // A branch to a loop stays in it; to a block, leaves it.
                match self.frames[target] {
                    Frame::Loop { .. } => target + 1,
                    _ => target,
                }
            }
        };
        Ok(self
            .eh
            .scopes
            .iter()
            .filter(|s| s.frame >= first_exited)
            .filter_map(|s| match s.kind {
                ScopeKind::Legacy {
                    caught: Some(exn), ..
                } if !s.active => Some(exn),
                _ => None,
            })
            .collect())
    }

    /// Release the exceptions of the legacy catch bodies a branch leaves.
    pub(super) fn release_exited_catches(&mut self, relative_depth: Option<u32>) -> TResult {
        for exn in self.exited_catches(relative_depth)? {
            self.env
                .exn_release(&mut self.builder, self.vmctx, exn)
                .map_err(|e| self.env_err(e))?;
        }
        Ok(())
    }

    /// `br_if` that leaves legacy catch bodies: release their exceptions on
    /// the taken edge only.
    pub(super) fn br_if_releasing(&mut self, relative_depth: u32) -> TResult {
        let cond = self.pop()?;
        let taken = self.builder.create_block();
        let cont = self.builder.create_block();
        self.builder.ins().brif(cond, taken, &[], cont, &[]);
        self.builder.seal_block(taken);
        self.builder.seal_block(cont);
        self.builder.switch_to_block(taken);
        self.release_exited_catches(Some(relative_depth))?;
        let (target, n) = self.branch_target(relative_depth)?;
        let values = self.peekn(n)?.to_vec();
        self.builder.ins().jump(target, &args(&values));
        self.builder.switch_to_block(cont);
        Ok(())
    }

    /// End the current body of the innermost frame: jump to its exit with
    /// the results when reachable.
    fn close_body(&mut self) -> TResult {
        let Some(Frame::Block {
            next,
            height,
            num_results,
            branched_to,
        }) = self.frames.last_mut()
        else {
            return Err(self.bug("try frame is not a block"));
        };
        let (next, height, num_results) = (*next, *height, *num_results);
        if self.reachable {
            *branched_to = true;
            let results = self.peekn(num_results)?.to_vec();
            self.builder.ins().jump(next, &args(&results));
            self.reachable = false;
        }
        self.stack.truncate(height);
        Ok(())
    }

    fn begin_catch(&mut self, tag: Option<u32>) -> TResult {
        let Some(index) = self.top_scope_index() else {
            // The `try` is dead code.
            return Ok(());
        };
        self.release_caught(index)?;
        self.close_body()?;
        let types = match tag {
            Some(t) => self.tag_types(t)?,
            None => Vec::new(),
        };
        let block = self.block_with_params(&types);
        let exn = self.builder.append_block_param(block, self.pointer_type);
        let scope = &mut self.eh.scopes[index];
        scope.active = false;
        let ScopeKind::Legacy { clauses, caught } = &mut scope.kind else {
            return Err(self.bug("catch in a try_table"));
        };
        clauses.push((tag, block));
        *caught = Some(exn);
        self.builder.switch_to_block(block);
        let params = self.builder.block_params(block);
        let payload = params[..params.len() - 1].to_vec();
        self.stack.extend(payload);
        self.reachable = true;
        Ok(())
    }

    pub(super) fn visit_catch(&mut self, tag_index: u32) -> TResult {
        self.begin_catch(Some(tag_index))
    }

    pub(super) fn visit_catch_all(&mut self) -> TResult {
        self.begin_catch(None)
    }

    /// Called by `end` (and `delegate`, with its label) before the frame is
    /// popped: closes the scope of a `try`/`try_table` frame, filling a
    /// legacy landing pad.
    pub(super) fn end_handler_scope(&mut self, delegate: Option<u32>) -> TResult {
        let Some(index) = self.top_scope_index() else {
            return Ok(());
        };
        if matches!(self.eh.scopes[index].kind, ScopeKind::TryTable) {
            let scope = self.eh.scopes.remove(index);
            self.builder.seal_block(scope.pad);
            return Ok(());
        }
        self.release_caught(index)?;
        self.close_body()?;
        let scope = self.eh.scopes.remove(index);
        let ScopeKind::Legacy { clauses, .. } = scope.kind else {
            return Err(self.bug("legacy scope expected"));
        };
        let pad = scope.pad;
        self.builder.switch_to_block(pad);
        let exn = self.builder.block_params(pad)[0];
        let outer = match delegate {
            None => self.outer_pad(index),
            Some(depth) => {
                // The label counts from outside the try's own frame.
                let frame = self
                    .frames
                    .len()
                    .checked_sub(2 + depth as usize)
                    .ok_or_else(|| self.bug("delegate depth out of range after validation"))?;
                self.eh.scopes[..index]
                    .iter()
                    .rev()
                    .find(|s| s.active && s.frame <= frame)
                    .map(|s| s.pad)
            }
        };
        let mut caught_all = false;
        for (tag, block) in &clauses {
            match tag {
                Some(tag) => self.dispatch_tag(exn, *tag, false, *block, true)?,
                None => {
                    self.builder.ins().jump(*block, &[BlockArg::Value(exn)]);
                    caught_all = true;
                    break;
                }
            }
        }
        if !caught_all {
            self.throw_to(outer, exn)?;
        }
        self.builder.seal_block(pad);
        for (_, block) in &clauses {
            self.builder.seal_block(*block);
        }
        // `close_body` left the position unreachable; the frame's `end`
        // continues at its exit if anything branched there.
        self.reachable = false;
        Ok(())
    }

    pub(super) fn visit_delegate(&mut self, relative_depth: u32) -> TResult {
        self.end_handler_scope(Some(relative_depth))?;
        self.visit_end()
    }

    pub(super) fn visit_rethrow(&mut self, relative_depth: u32) -> TResult {
        let frame = self
            .frames
            .len()
            .checked_sub(1 + relative_depth as usize)
            .ok_or_else(|| self.bug("rethrow depth out of range after validation"))?;
        let exn = self
            .eh
            .scopes
            .iter()
            .find_map(|s| match &s.kind {
                ScopeKind::Legacy {
                    caught: Some(exn), ..
                } if s.frame == frame => Some(*exn),
                _ => None,
            })
            .ok_or_else(|| self.bug("rethrow outside a catch after validation"))?;
        let pad = self.current_pad();
        self.throw_to(pad, exn)
    }
}
