//! Structured control flow: `block`, `loop`, `if`/`else`, `end`, branches,
//! `return`, `unreachable`, `nop`.
//!
//! Each wasm block's exit is a Cranelift block whose parameters are the wasm
//! block's results; a loop's header takes the loop's parameters. After an
//! unconditional transfer (`br`, `br_table`, `return`, `unreachable`) the
//! translator is unreachable: operators are still validated but emit nothing,
//! and frames opened meanwhile are [`Frame::Dead`].

use cranelift_codegen::ir::{self, BlockArg, InstBuilder, JumpTableData};
use wasmparser::{BlockType, BrTable};

use super::func::{Frame, FuncTranslator, TResult};
use super::trap_codes;

fn args(values: &[ir::Value]) -> Vec<BlockArg> {
    values.iter().copied().map(BlockArg::Value).collect()
}

impl FuncTranslator<'_, '_> {
    pub(super) fn block_with_params(&mut self, types: &[ir::Type]) -> ir::Block {
        let block = self.builder.create_block();
        for &ty in types {
            self.builder.append_block_param(block, ty);
        }
        block
    }

    pub(super) fn visit_nop(&mut self) -> TResult {
        Ok(())
    }

    pub(super) fn visit_unreachable(&mut self) -> TResult {
        self.builder.ins().trap(trap_codes::UNREACHABLE);
        self.reachable = false;
        Ok(())
    }

    pub(super) fn visit_block(&mut self, blockty: BlockType) -> TResult {
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
            .ok_or_else(|| self.bug("block parameters missing"))?;
        self.frames.push(Frame::Block {
            next,
            height,
            num_results: results.len(),
            branched_to: false,
        });
        Ok(())
    }

    pub(super) fn visit_loop(&mut self, blockty: BlockType) -> TResult {
        if !self.reachable {
            self.frames.push(Frame::Dead);
            return Ok(());
        }
        let (params, results) = self.block_type(blockty)?;
        let header = self.block_with_params(&params);
        let next = self.block_with_params(&results);
        let entry_args = self.popn(params.len())?;
        self.builder.ins().jump(header, &args(&entry_args));
        self.builder.switch_to_block(header);
        let height = self.stack.len();
        self.stack
            .extend_from_slice(self.builder.block_params(header));
        self.frames.push(Frame::Loop {
            header,
            next,
            height,
            num_params: params.len(),
            num_results: results.len(),
        });
        self.env
            .emit_epoch_check(&mut self.builder, self.vmctx)
            .map_err(|e| self.env_err(e))
    }

    pub(super) fn visit_if(&mut self, blockty: BlockType) -> TResult {
        if !self.reachable {
            self.frames.push(Frame::Dead);
            return Ok(());
        }
        let cond = self.pop()?;
        let (params, results) = self.block_type(blockty)?;
        let then_block = self.builder.create_block();
        let else_block = self.builder.create_block();
        let next = self.block_with_params(&results);
        self.builder
            .ins()
            .brif(cond, then_block, &[], else_block, &[]);
        self.builder.seal_block(then_block);
        self.builder.seal_block(else_block);
        self.builder.switch_to_block(then_block);
        let param_values = self.peekn(params.len())?.to_vec();
        let height = self.stack.len() - param_values.len();
        self.frames.push(Frame::If {
            next,
            else_block,
            params: param_values,
            height,
            num_results: results.len(),
            branched_to: false,
            head_reachable: true,
            has_else: false,
        });
        Ok(())
    }

    pub(super) fn visit_else(&mut self) -> TResult {
        let reachable = self.reachable;
        let Some(Frame::If {
            next,
            else_block,
            params,
            height,
            num_results,
            branched_to,
            head_reachable,
            has_else,
        }) = self.frames.last_mut()
        else {
            // `else` of a dead `if`: nothing to emit.
            return Ok(());
        };
        *has_else = true;
        let (next, else_block, height, num_results) = (*next, *else_block, *height, *num_results);
        if reachable {
            *branched_to = true;
        }
        let head_reachable = *head_reachable;
        let params = params.clone();
        if reachable {
            let results = self.peekn(num_results)?.to_vec();
            self.builder.ins().jump(next, &args(&results));
        }
        self.stack.truncate(height);
        if head_reachable {
            self.builder.switch_to_block(else_block);
            self.stack.extend_from_slice(&params);
            self.reachable = true;
        } else {
            self.reachable = false;
        }
        Ok(())
    }

    pub(super) fn visit_end(&mut self) -> TResult {
        self.end_handler_scope(None)?;
        let frame = self
            .frames
            .pop()
            .ok_or_else(|| self.bug("end without a frame"))?;
        let (next, height, num_results, mut branched_to) = match frame {
            Frame::Dead => return Ok(()),
            Frame::Block {
                next,
                height,
                num_results,
                branched_to,
            } => (next, height, num_results, branched_to),
            Frame::Loop {
                header,
                next,
                height,
                num_results,
                ..
            } => {
                // Every back-edge to the header is known now.
                self.builder.seal_block(header);
                (next, height, num_results, false)
            }
            Frame::If {
                next,
                else_block,
                params,
                height,
                num_results,
                branched_to,
                head_reachable,
                has_else,
            } => {
                let mut branched_to = branched_to;
                if self.reachable {
                    let results = self.peekn(num_results)?.to_vec();
                    self.builder.ins().jump(next, &args(&results));
                    branched_to = true;
                    self.reachable = false;
                }
                if !has_else && head_reachable {
                    // No `else`: the false edge passes the parameters through
                    // (validation guarantees parameters == results).
                    self.builder.switch_to_block(else_block);
                    self.builder.ins().jump(next, &args(&params));
                    branched_to = true;
                }
                (next, height, num_results, branched_to)
            }
        };
        if self.reachable {
            let results = self.peekn(num_results)?.to_vec();
            self.builder.ins().jump(next, &args(&results));
            branched_to = true;
        }
        self.stack.truncate(height);
        if branched_to {
            self.builder.switch_to_block(next);
            self.builder.seal_block(next);
            self.stack
                .extend_from_slice(self.builder.block_params(next));
            self.reachable = true;
        } else {
            self.reachable = false;
        }
        if self.frames.is_empty() {
            self.finish_function()?;
        }
        Ok(())
    }

    /// The Cranelift target of a branch to `relative_depth` and its argument
    /// count; marks the target as branched to.
    pub(super) fn branch_target(&mut self, relative_depth: u32) -> TResult<(ir::Block, usize)> {
        let depth = usize::try_from(relative_depth).map_err(|_| self.bug("depth overflow"))?;
        let index = self
            .frames
            .len()
            .checked_sub(depth + 1)
            .ok_or_else(|| self.bug("branch depth out of range after validation"))?;
        match &mut self.frames[index] {
            Frame::Block {
                next,
                num_results,
                branched_to,
                ..
            }
            | Frame::If {
                next,
                num_results,
                branched_to,
                ..
            } => {
                *branched_to = true;
                Ok((*next, *num_results))
            }
            Frame::Loop {
                header, num_params, ..
            } => Ok((*header, *num_params)),
            Frame::Dead => Err(self.bug("branch to a dead frame in reachable code")),
        }
    }

    pub(super) fn visit_br(&mut self, relative_depth: u32) -> TResult {
        self.release_exited_catches(Some(relative_depth))?;
        let (target, n) = self.branch_target(relative_depth)?;
        let values = self.peekn(n)?.to_vec();
        self.builder.ins().jump(target, &args(&values));
        self.reachable = false;
        Ok(())
    }

    pub(super) fn visit_br_if(&mut self, relative_depth: u32) -> TResult {
        if !self.exited_catches(Some(relative_depth))?.is_empty() {
            return self.br_if_releasing(relative_depth);
        }
        let cond = self.pop()?;
        let (target, n) = self.branch_target(relative_depth)?;
        let values = self.peekn(n)?.to_vec();
        let cont = self.builder.create_block();
        self.builder
            .ins()
            .brif(cond, target, &args(&values), cont, &[]);
        self.builder.seal_block(cont);
        self.builder.switch_to_block(cont);
        Ok(())
    }

    pub(super) fn visit_br_table(&mut self, targets: BrTable<'_>) -> TResult {
        let index = self.pop()?;
        let default = self.branch_target(targets.default())?;
        let values = self.peekn(default.1)?.to_vec();
        let block_args = args(&values);
        let mut table = Vec::with_capacity(targets.len() as usize);
        for depth in targets.targets() {
            let (block, _) = self.branch_target(depth?)?;
            table.push(self.builder.func.dfg.block_call(block, &block_args));
        }
        let default_call = self.builder.func.dfg.block_call(default.0, &block_args);
        let jt = self
            .builder
            .create_jump_table(JumpTableData::new(default_call, &table));
        self.builder.ins().br_table(index, jt);
        self.reachable = false;
        Ok(())
    }

    pub(super) fn visit_return(&mut self) -> TResult {
        self.release_exited_catches(None)?;
        let n = self.builder.func.signature.returns.len();
        let values = self.peekn(n)?.to_vec();
        self.builder.ins().return_(&values);
        self.reachable = false;
        Ok(())
    }
}
