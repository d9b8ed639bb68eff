//! The WASI 0.2 host bindings, generated at build time from the WIT the
//! `wasip2` crate publishes (see `build.rs` and `build/bindgen.rs`): one
//! module per interface with its types, a `Host` trait and
//! `add_to_linker`.
#![allow(
    missing_docs,
    clippy::missing_errors_doc,
    reason = "generated code: the WIT documents each function, every error is a trap"
)]

include!(concat!(env!("OUT_DIR"), "/wasi_p2.rs"));

/// Every WASI 0.2 function the bindings define, as
/// `package:name/interface@version#function`, one per line.
pub const FUNCTIONS: &str = include_str!(concat!(env!("OUT_DIR"), "/wasi_p2_functions.txt"));
