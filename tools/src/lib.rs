//! `ringwasm-tools`: the `ringwasm` and `uringbench` command-line tools, and
//! the pieces of them that tests reuse (the spec-script runner behind
//! `ringwasm wast`).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod cli;
pub mod uringbench;
pub mod wast;
