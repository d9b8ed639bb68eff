//! `ringwasm run` for components: a `wasi:cli/command` (its
//! `wasi:cli/run@0.2.x#run` export), or any exported function with
//! `--invoke 'name(args)'` in WAVE, with WASI 0.2 linked; exit statuses and
//! messages as `wasmtime run`'s.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use ringwasm_jit::component::{Component, Linker, Val};
use ringwasm_jit::{Engine, Error, Store};
use wasm_wave::untyped::UntypedFuncCall;

use super::run::{Host, RunArgs};

/// The command world's entry point, matched by semver.
const RUN_EXPORT: &str = "wasi:cli/run@0.2.0#run";

/// `wasmtime run`'s report of a failure, with its causes numbered.
fn failure(file: &Path, causes: &[String]) -> ExitCode {
    let mut msg = format!(
        "Error: failed to run main module `{}`\n\nCaused by:\n",
        file.display()
    );
    if causes.len() == 1 {
        msg.push_str(&format!("    {}\n", causes[0]));
    } else {
        for (i, c) in causes.iter().enumerate() {
            msg.push_str(&format!("    {i}: {c}\n"));
        }
    }
    say_err!("{}", msg.trim_end_matches('\n'));
    say_err!("");
    ExitCode::FAILURE
}

/// Runs the component in `bytes` as `args` say.
pub(super) fn run(
    args: &RunArgs,
    engine: &Engine,
    bytes: &[u8],
    mut store: Store<Host>,
    file: &Path,
) -> Result<ExitCode> {
    let component = match Component::new(engine, bytes) {
        Ok(c) => c,
        Err(e) => return Err(anyhow!(e).context(format!("{}", file.display()))),
    };
    let mut linker: Linker<Host> = Linker::new(engine);
    ringwasm_wasi::p2::add_to_linker(&mut linker, |h: &mut Host| &mut h.wasi)?;
    let pre = match linker.instantiate_pre(&component) {
        Ok(p) => p,
        // A missing import is a list of causes, one per line.
        Err(e) => {
            let causes: Vec<String> = e.to_string().lines().map(str::to_owned).collect();
            return Ok(failure(file, &causes));
        }
    };
    let instance = match pre.instantiate(&mut store) {
        Ok(i) => i,
        Err(Error::Exit(code)) => return Ok(super::run::exit_code(code)),
        Err(Error::Trap(trap)) => {
            let what = format!("failed to instantiate {:?}", file.display().to_string());
            return Ok(super::run::report_trap(file, &what, &trap, bytes));
        }
        Err(e) => return Ok(failure(file, &[e.to_string()])),
    };
    match &args.invoke {
        None => {
            let Some(run) = instance.get_func(&mut store, RUN_EXPORT) else {
                return Ok(failure(
                    file,
                    &["no exported instance named `wasi:cli/run@0.2.12`".into()],
                ));
            };
            let mut out = [Val::Bool(false)];
            match run.call(&mut store, &[], &mut out) {
                Ok(()) => Ok(match out[0] {
                    Val::Result(Ok(_)) => ExitCode::SUCCESS,
                    _ => ExitCode::FAILURE,
                }),
                Err(Error::Exit(code)) => Ok(super::run::exit_code(code)),
                Err(Error::Trap(trap)) => Ok(super::run::report_trap(
                    file,
                    "failed to invoke `run` function",
                    &trap,
                    bytes,
                )),
                Err(e) => Ok(failure(file, &[e.to_string()])),
            }
        }
        Some(call) => invoke(&mut store, &instance, call, file, bytes),
    }
}

/// `--invoke 'name(args)'`: find the function (at the top level or in an
/// exported instance), parse its arguments, call it, print its result.
fn invoke(
    store: &mut Store<Host>,
    instance: &ringwasm_jit::component::Instance,
    call: &str,
    file: &Path,
    bytes: &[u8],
) -> Result<ExitCode> {
    let parsed = match UntypedFuncCall::parse(call) {
        Ok(p) => p,
        Err(e) => {
            return Ok(failure(
                file,
                &[
                    format!(
                        "Failed to parse invoke '{call}': See https://docs.wasmtime.dev/cli-options.html#run for syntax"
                    ),
                    e.to_string(),
                ],
            ));
        }
    };
    let name = parsed.name();
    let func = instance.get_func(&mut *store, name).or_else(|| {
        instance
            .func_names(&mut *store)
            .into_iter()
            .find(|n| n.rsplit('#').next() == Some(name))
            .and_then(|n| instance.get_func(&mut *store, &n))
    });
    let Some(func) = func else {
        return Ok(failure(
            file,
            &[format!("No exported func named `{name}` in component.")],
        ));
    };
    let params = func.params(&mut *store);
    let wave_types = params
        .iter()
        .map(|(n, t)| {
            super::wave::wave_type(t)
                .ok_or_else(|| anyhow!("parameter `{n}` has type {t}, which WAVE cannot spell"))
        })
        .collect::<Result<Vec<_>>>()?;
    let wave_params: Vec<wasm_wave::value::Value> = match parsed.to_wasm_params(wave_types.iter()) {
        Ok(p) => p,
        Err(e) => {
            return Ok(failure(
                file,
                &[
                    format!("while interpreting parameters in invoke \"{call}\""),
                    e.to_string(),
                ],
            ));
        }
    };
    let vals = params
        .iter()
        .zip(&wave_params)
        .map(|((_, t), v)| super::wave::from_wave(t, v))
        .collect::<Result<Vec<_>>>()?;
    let result_ty = func.result(&mut *store);
    let mut out = vec![Val::Bool(false); usize::from(result_ty.is_some())];
    match func.call(&mut *store, &vals, &mut out) {
        Ok(()) => {}
        Err(Error::Exit(code)) => return Ok(super::run::exit_code(code)),
        // wasmtime adds no context to a failed component `--invoke`: the
        // wasm backtrace and the trap, or a canonical-ABI error alone.
        Err(Error::Trap(trap)) => return Ok(super::run::report_trap(file, "", &trap, bytes)),
        Err(e) => return Ok(failure(file, &[e.to_string()])),
    }
    match (result_ty, out.first()) {
        (Some(t), Some(v)) => {
            let w = super::wave::to_wave(&t, v)?;
            say_out!("{}", wasm_wave::to_string(&w)?);
        }
        _ => say_out!("()"),
    }
    Ok(ExitCode::SUCCESS)
}
