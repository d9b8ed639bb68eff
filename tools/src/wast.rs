//! The spec-script runner behind `ringwasm wast` and `tests/spec.rs`.
//!
//! A `.wast` script is parsed with the `wast` crate and its directives are run
//! one by one against a [`Backend`]. Every directive either passes or fails
//! with a one-line reason; a directive that panics is contained and counted as
//! a failure, so one engine bug never hides the rest of a file.
//!
//! Conformance rules (see `DESIGN.md`): `assert_invalid` and
//! `assert_malformed` require the failure, not the reference interpreter's
//! exact text (a differing message becomes a [`Report::notes`] line); trap
//! messages are compared by the spec's message prefix.

mod backend;
mod jit;
mod matching;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod wasmi_backend;

use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, QuoteWatTest, Wast, WastDirective, WastExecute, WastInvoke, Wat};

pub use backend::{Backend, EngineError, Value};
pub use jit::JitBackend;

/// The WebAssembly feature set a script runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FeatureSet {
    /// WebAssembly 1.0 (MVP + mutable globals).
    Wasm1,
    /// WebAssembly 2.0 (adds SIMD, bulk memory, reference types, multi-value, ...).
    Wasm2,
    /// WebAssembly 3.0.
    Wasm3,
    /// Everything the engine implements.
    All,
    /// Everything the engine implements except multi-memory: the memory64
    /// proposal's scripts predate multi-memory and expect a second memory
    /// (or a non-zero memory-index byte) to be rejected.
    Memory64,
}

/// One directive that did not do what the script asserts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// 1-based line of the directive in the script.
    pub line: usize,
    /// 1-based column of the directive in the script.
    pub column: usize,
    /// The directive, e.g. `assert_return`.
    pub directive: &'static str,
    /// Why it failed, one line.
    pub reason: String,
}

impl Failure {
    /// The assertion's identity within its file, `line:column`, as used by
    /// `tests/spec-expected-failures.txt`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.line, self.column)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.column, self.directive, self.reason
        )
    }
}

/// The outcome of running one script.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Directives that did what the script says.
    pub passed: usize,
    /// Directives that did not.
    pub failures: Vec<Failure>,
    /// Passing directives worth a remark, e.g. a compile error whose message
    /// differs from the reference interpreter's; shown in verbose mode.
    pub notes: Vec<String>,
}

/// Runs the script `text` on ringwasm's engine with the given feature set.
pub fn run_script_on_jit(features: FeatureSet, text: &str) -> Report {
    match JitBackend::new(features) {
        Ok(mut backend) => run_script(&mut backend, text),
        Err(e) => Report {
            passed: 0,
            failures: vec![Failure {
                line: 0,
                column: 0,
                directive: "engine",
                reason: format!("cannot create the engine: {e}"),
            }],
            notes: Vec::new(),
        },
    }
}

/// Runs every directive of the script `text` against `backend`.
///
/// Never panics: a script that does not parse is one failure at its error
/// position, and a directive that panics is a failure of that directive.
pub fn run_script<B: Backend>(backend: &mut B, text: &str) -> Report {
    let mut report = Report::default();
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buf = match ParseBuffer::new_with_lexer(lexer) {
        Ok(buf) => buf,
        Err(e) => {
            report.failures.push(parse_failure(text, e));
            return report;
        }
    };
    let script = match parser::parse::<Wast<'_>>(&buf) {
        Ok(script) => script,
        Err(e) => {
            report.failures.push(parse_failure(text, e));
            return report;
        }
    };
    let mut runner = Runner {
        backend,
        // Component scripts assert wasmtime's own trap texts, which name
        // its internal paths (the same out-of-bounds string is "string
        // content out-of-bounds" in an adapter and "string pointer/length
        // out of bounds of memory" in a host lift): a differing text there
        // is a note, as for `assert_invalid`, and the trap is required.
        lenient_traps: text.contains("(component"),
        current: None,
        named: HashMap::new(),
        definitions: Vec::new(),
        named_definitions: HashMap::new(),
    };
    for directive in script.directives {
        let (line, col) = directive.span().linecol_in(text);
        let kind = directive_name(&directive);
        let outcome = catch_unwind(AssertUnwindSafe(|| runner.run(directive)));
        let outcome = outcome.unwrap_or_else(|payload| {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_owned());
            Err(format!("panicked: {}", first_line(&msg)))
        });
        match outcome {
            Ok(None) => report.passed += 1,
            Ok(Some(note)) => {
                report.passed += 1;
                report
                    .notes
                    .push(format!("{}:{}: {kind}: {note}", line + 1, col + 1));
            }
            Err(reason) => report.failures.push(Failure {
                line: line + 1,
                column: col + 1,
                directive: kind,
                reason: first_line(&reason).to_owned(),
            }),
        }
    }
    report
}

fn parse_failure(text: &str, mut e: wast::Error) -> Failure {
    let (line, col) = e.span().linecol_in(text);
    e.set_text(text);
    Failure {
        line: line + 1,
        column: col + 1,
        directive: "script",
        reason: format!("cannot parse the script: {}", first_line(&e.message())),
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn directive_name(d: &WastDirective<'_>) -> &'static str {
    match d {
        WastDirective::Module(_) => "module",
        WastDirective::ModuleDefinition(_) => "module definition",
        WastDirective::ModuleInstance { .. } => "module instance",
        WastDirective::AssertMalformed { .. } => "assert_malformed",
        WastDirective::AssertInvalid { .. } => "assert_invalid",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::Register { .. } => "register",
        WastDirective::Invoke(_) => "invoke",
        WastDirective::AssertTrap { .. } => "assert_trap",
        WastDirective::AssertReturn { .. } => "assert_return",
        WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
        WastDirective::AssertUnlinkable { .. } => "assert_unlinkable",
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
    }
}

/// `Ok(None)`: passed; `Ok(Some(note))`: passed with a remark; `Err`: failed.
type Outcome = Result<Option<String>, String>;

struct Runner<'b, B: Backend> {
    backend: &'b mut B,
    /// Trap texts that differ are notes, not failures (component scripts).
    lenient_traps: bool,
    /// The most recent instance; `None` after a module failed to load, so
    /// later directives fail instead of running against an older module.
    current: Option<B::Instance>,
    named: HashMap<String, B::Instance>,
    definitions: Vec<B::Module>,
    named_definitions: HashMap<String, usize>,
}

impl<B: Backend> Runner<'_, B> {
    fn run(&mut self, directive: WastDirective<'_>) -> Outcome {
        match directive {
            WastDirective::Module(mut module) => {
                self.current = None;
                let name = module.name().map(|id| id.name().to_owned());
                let bytes = encode(&mut module)?;
                let compiled = self.backend.compile(&bytes).map_err(|e| e.to_string())?;
                let instance = self
                    .backend
                    .instantiate(&compiled)
                    .map_err(|e| e.to_string())?;
                if let Some(name) = name {
                    self.named.insert(name, instance.clone());
                }
                self.current = Some(instance);
                Ok(None)
            }
            WastDirective::ModuleDefinition(mut module) => {
                let name = module.name().map(|id| id.name().to_owned());
                let bytes = encode(&mut module)?;
                let compiled = self.backend.compile(&bytes).map_err(|e| e.to_string())?;
                self.definitions.push(compiled);
                if let Some(name) = name {
                    self.named_definitions
                        .insert(name, self.definitions.len() - 1);
                }
                Ok(None)
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                self.current = None;
                let index = match module {
                    Some(id) => *self
                        .named_definitions
                        .get(id.name())
                        .ok_or_else(|| format!("no module definition named ${}", id.name()))?,
                    None => self
                        .definitions
                        .len()
                        .checked_sub(1)
                        .ok_or("no module definition to instantiate")?,
                };
                let compiled = &self.definitions[index];
                let inst = self
                    .backend
                    .instantiate(compiled)
                    .map_err(|e| e.to_string())?;
                if let Some(id) = instance {
                    self.named.insert(id.name().to_owned(), inst.clone());
                }
                self.current = Some(inst);
                Ok(None)
            }
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module.map(|id| id.name()))?;
                self.backend
                    .register(name, &instance)
                    .map_err(|e| e.to_string())?;
                Ok(None)
            }
            WastDirective::Invoke(invoke) => {
                self.invoke(&invoke)?.map_err(|e| e.to_string())?;
                Ok(None)
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let actual = self
                    .execute(exec)?
                    .map_err(|e| format!("expected a result, got {e}"))?;
                if actual.len() != results.len() {
                    return Err(format!(
                        "expected {} results, got {}",
                        results.len(),
                        actual.len()
                    ));
                }
                for (i, (a, e)) in actual.iter().zip(&results).enumerate() {
                    matching::check_result(a, e).map_err(|why| format!("result {i}: {why}"))?;
                }
                Ok(None)
            }
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec)? {
                Ok(values) => Err(format!(
                    "expected trap \"{message}\", got {}",
                    show(&values)
                )),
                Err(EngineError::Trap {
                    message: actual, ..
                }) => {
                    if matching::trap_message_matches(&actual, message) {
                        Ok(None)
                    } else if self.lenient_traps {
                        Ok(Some(format!(
                            "expected trap \"{message}\", engine says \"{}\"",
                            first_line(&actual)
                        )))
                    } else {
                        Err(format!(
                            "expected trap \"{message}\", got trap \"{}\"",
                            first_line(&actual)
                        ))
                    }
                }
                Err(other) => Err(format!("expected trap \"{message}\", got {other}")),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call)? {
                Ok(values) => Err(format!("expected \"{message}\", got {}", show(&values))),
                Err(EngineError::Trap {
                    message: actual,
                    exhausted,
                }) => {
                    if exhausted || matching::trap_message_matches(&actual, message) {
                        Ok(None)
                    } else {
                        Err(format!(
                            "expected \"{message}\", got trap \"{}\"",
                            first_line(&actual)
                        ))
                    }
                }
                Err(other) => Err(format!("expected \"{message}\", got {other}")),
            },
            WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            } => {
                let bytes = encode(&mut module)?;
                self.expect_compile_error(&bytes, message)
            }
            WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            } => {
                let bytes = match module.to_test() {
                    Ok(QuoteWatTest::Binary(bytes)) => bytes,
                    Ok(QuoteWatTest::Text(text)) => match encode_text(&text) {
                        Ok(bytes) => bytes,
                        // Text that does not parse is malformed: that is the assertion.
                        Err(e) => {
                            return Ok(note_if_differs(first_line(&e), message));
                        }
                    },
                    Err(e) => return Ok(note_if_differs(first_line(&e.message()), message)),
                };
                self.expect_compile_error(&bytes, message)
            }
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                let bytes = module
                    .encode()
                    .map_err(|e| format!("cannot encode: {}", e.message()))?;
                let compiled = self
                    .backend
                    .compile(&bytes)
                    .map_err(|e| format!("expected unlinkable \"{message}\", got {e}"))?;
                match self.backend.instantiate(&compiled) {
                    Ok(_) => Err(format!("expected unlinkable \"{message}\", instantiated")),
                    Err(EngineError::Link(actual)) => Ok(note_if_differs(&actual, message)),
                    Err(other) => Err(format!("expected unlinkable \"{message}\", got {other}")),
                }
            }
            WastDirective::AssertException { exec, .. } => match self.execute(exec)? {
                Ok(values) => Err(format!("expected an exception, got {}", show(&values))),
                Err(EngineError::Trap { message, .. })
                    if message.starts_with("uncaught exception") =>
                {
                    Ok(None)
                }
                Err(other) => Err(format!("expected an exception, got {other}")),
            },
            WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. }
            | WastDirective::AssertSuspension { .. }
            | WastDirective::Thread(_)
            | WastDirective::Wait { .. } => {
                Err("directive not supported (its proposal is not implemented)".into())
            }
        }
    }

    fn instance(&self, name: Option<&str>) -> Result<B::Instance, String> {
        match name {
            Some(name) => self
                .named
                .get(name)
                .cloned()
                .ok_or_else(|| format!("no instance named ${name}")),
            None => self
                .current
                .clone()
                .ok_or_else(|| "no current instance (the last module failed to load)".to_owned()),
        }
    }

    fn invoke(
        &mut self,
        invoke: &WastInvoke<'_>,
    ) -> Result<Result<Vec<Value>, EngineError>, String> {
        let instance = self.instance(invoke.module.map(|id| id.name()))?;
        let args = invoke
            .args
            .iter()
            .map(matching::arg_value)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.backend.invoke(&instance, invoke.name, &args))
    }

    /// Runs an `invoke`, a `get` or a module instantiation; the outer `Err`
    /// is a problem with the script, the inner one the engine's answer.
    fn execute(
        &mut self,
        exec: WastExecute<'_>,
    ) -> Result<Result<Vec<Value>, EngineError>, String> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module.map(|id| id.name()))?;
                Ok(self.backend.get_global(&instance, global).map(|v| vec![v]))
            }
            WastExecute::Wat(mut wat) => {
                let bytes = wat
                    .encode()
                    .map_err(|e| format!("cannot encode: {}", e.message()))?;
                let compiled = self.backend.compile(&bytes).map_err(|e| e.to_string())?;
                Ok(self.backend.instantiate(&compiled).map(|_| Vec::new()))
            }
        }
    }

    fn expect_compile_error(&mut self, bytes: &[u8], message: &str) -> Outcome {
        match self.backend.compile(bytes) {
            Ok(_) => Err(format!("expected \"{message}\", the module compiled")),
            Err(EngineError::Compile(actual)) => Ok(note_if_differs(&actual, message)),
            Err(other) => Err(format!(
                "expected a compile error \"{message}\", got {other}"
            )),
        }
    }
}

fn note_if_differs(actual: &str, expected: &str) -> Option<String> {
    (!actual.contains(expected)).then(|| {
        format!(
            "expected \"{expected}\", engine says \"{}\"",
            first_line(actual)
        )
    })
}

fn show(values: &[Value]) -> String {
    if values.is_empty() {
        return "success".to_owned();
    }
    let all: Vec<String> = values.iter().map(Value::to_string).collect();
    format!("[{}]", all.join(", "))
}

fn encode(module: &mut QuoteWat<'_>) -> Result<Vec<u8>, String> {
    match module
        .to_test()
        .map_err(|e| format!("cannot encode: {}", e.message()))?
    {
        QuoteWatTest::Binary(bytes) => Ok(bytes),
        QuoteWatTest::Text(text) => encode_text(&text).map_err(|e| format!("cannot encode: {e}")),
    }
}

/// Parses and encodes the text of a `(module quote ...)`.
fn encode_text(text: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(text).map_err(|_| "malformed UTF-8 encoding".to_owned())?;
    let buf = ParseBuffer::new(text).map_err(|e| e.message())?;
    let mut wat = parser::parse::<Wat<'_>>(&buf).map_err(|e| e.message())?;
    wat.encode().map_err(|e| e.message())
}
