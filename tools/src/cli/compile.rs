//! `ringwasm compile FILE [-o OUT]`: compile ahead of time, like `wasmtime
//! compile`; `ringwasm run OUT` runs the artefact without compiling. Also the
//! `-C OPT=VAL` codegen options `run` and `compile` share.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use ringwasm_jit::{Config, Engine, Module, OptLevel};

/// Arguments of `ringwasm compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// Where to write the artefact (default: FILE with extension `.cwasm`).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,

    /// Wasm engine options, as for `run` (`epoch-interruption=y|n`); the
    /// artefact only runs under the same options.
    #[arg(
        short = 'W',
        long = "wasm",
        value_name = "OPT=VAL[,..]",
        value_delimiter = ',',
        value_parser = super::run::parse_wasm_opt
    )]
    pub wasm: Vec<super::run::WasmOpt>,

    /// Optimisation options, as for `run` (`opt-level=0|1|2|s`); the
    /// artefact only runs under the same level.
    #[arg(
        short = 'O',
        long = "optimize",
        value_name = "OPT=VAL[,..]",
        value_delimiter = ',',
        value_parser = parse_optimize_opt
    )]
    pub optimize: Vec<OptLevel>,

    /// Codegen options, as for `run` (`cache=y|n`, default `n` here).
    #[arg(
        short = 'C',
        long = "codegen",
        value_name = "OPT=VAL[,..]",
        value_delimiter = ',',
        value_parser = parse_codegen_opt
    )]
    pub codegen: Vec<CodegenOpt>,

    /// The module to compile, binary (`.wasm`) or text (`.wat`).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// One `-C OPT=VAL` codegen option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodegenOpt {
    /// `cache=y|n`: use the on-disk code cache.
    Cache(bool),
}

/// Parses `-C OPT=VAL`.
pub(super) fn parse_codegen_opt(s: &str) -> Result<CodegenOpt, String> {
    let (key, value) = s.split_once('=').unwrap_or((s, "y"));
    let on = match value {
        "y" | "yes" | "true" => true,
        "n" | "no" | "false" => false,
        _ => return Err(format!("`{s}`: expected `{key}=y` or `{key}=n`")),
    };
    match key {
        "cache" => Ok(CodegenOpt::Cache(on)),
        _ => Err(format!("`{key}`: unknown option (known: cache)")),
    }
}

/// Parses `-O OPT=VAL`: only `opt-level` changes anything here.
pub(super) fn parse_optimize_opt(s: &str) -> Result<OptLevel, String> {
    let (key, value) = s.split_once('=').unwrap_or((s, ""));
    match key {
        "opt-level" => match value {
            "0" => Ok(OptLevel::None),
            "1" | "2" => Ok(OptLevel::Speed),
            "s" => Ok(OptLevel::SpeedAndSize),
            _ => Err(format!("`{s}`: expected `opt-level=0`, `1`, `2` or `s`")),
        },
        _ if WASMTIME_OPTIMIZE.contains(&key) => Err(format!(
            "`{key}`: a wasmtime option ringwasm does not have (memories are laid \
             out as docs/architecture.md says; only `opt-level` is taken)"
        )),
        _ => Err(format!("`{key}`: unknown option (known: opt-level)")),
    }
}

/// `wasmtime run -O` options that tune wasmtime's own allocator and memory
/// layout.
const WASMTIME_OPTIMIZE: &[&str] = &[
    "regalloc-algorithm",
    "memory-may-move",
    "memory-reservation",
    "memory-reservation-for-growth",
    "memory-guard-size",
    "gc-heap-may-move",
    "gc-heap-reservation",
    "gc-heap-reservation-for-growth",
    "gc-heap-guard-size",
    "gc-heap-initial-size",
    "guard-before-linear-memory",
    "table-lazy-init",
    "pooling-allocator",
    "memory-init-cow",
    "memory-guaranteed-dense-image-size",
];

/// Applies `-O` options: the last `opt-level` wins.
pub(super) fn apply_optimize_opts(config: &mut Config, opts: &[OptLevel]) {
    if let Some(level) = opts.last() {
        config.cranelift_opt_level(*level);
    }
}

/// Applies `-C` options; `cache_default` says whether the cache is on when
/// no `-C cache=` is given.
pub(super) fn apply_codegen_opts(config: &mut Config, opts: &[CodegenOpt], cache_default: bool) {
    let mut cache = cache_default;
    for opt in opts {
        match *opt {
            CodegenOpt::Cache(on) => cache = on,
        }
    }
    let dir = if cache {
        let dir = ringwasm_jit::default_cache_dir();
        if dir.is_none() {
            tracing::warn!(
                "code cache off: neither RINGWASM_CACHE_DIR, XDG_CACHE_HOME nor HOME is set"
            );
        }
        dir
    } else {
        None
    };
    config.cache_dir(dir);
}

/// The default output path: FILE with extension `.cwasm`.
fn default_output(file: &Path) -> PathBuf {
    file.with_extension("cwasm")
}

/// Compiles FILE and writes the artefact.
pub(super) fn compile(args: &CompileArgs) -> Result<()> {
    let file = &args.file;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut config = Config::default();
    for opt in &args.wasm {
        match *opt {
            super::run::WasmOpt::EpochInterruption(on) => config.epoch_interruption(on),
            super::run::WasmOpt::Feature(bits, on) => {
                let mut features = config.features();
                features.set(bits, on);
                config.wasm_features(features)
            }
            // Limits apply when the artefact runs; they don't shape its code.
            super::run::WasmOpt::MaxMemorySize(_)
            | super::run::WasmOpt::Timeout(_)
            | super::run::WasmOpt::MaxWasmStack(_) => &mut config,
        };
    }
    apply_optimize_opts(&mut config, &args.optimize);
    apply_codegen_opts(&mut config, &args.codegen, false);
    let engine = Engine::new(&config).context("cannot create the engine")?;
    let artefact =
        if ringwasm_jit::component::is_component(&bytes) || super::run::is_component_text(&bytes) {
            ringwasm_jit::component::Component::new(&engine, &bytes)
                .with_context(|| format!("{}", file.display()))?
                .serialize()
        } else {
            Module::new(&engine, &bytes)
                .with_context(|| format!("{}", file.display()))?
                .serialize()
        };
    let out = args.output.clone().unwrap_or_else(|| default_output(file));
    std::fs::write(&out, artefact).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codegen_options_parse_like_wasmtime() {
        assert_eq!(parse_codegen_opt("cache=n"), Ok(CodegenOpt::Cache(false)));
        assert_eq!(parse_codegen_opt("cache"), Ok(CodegenOpt::Cache(true)));
        assert!(parse_codegen_opt("cache=maybe").is_err());
        assert!(parse_codegen_opt("opt-level=2").is_err());
    }

    #[test]
    fn output_defaults_to_cwasm_next_to_the_input() {
        assert_eq!(
            default_output(Path::new("dir/app.wasm")),
            Path::new("dir/app.cwasm")
        );
    }
}
