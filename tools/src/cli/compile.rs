//! `ringwasm compile FILE [-o OUT]`: compile ahead of time, like `wasmtime
//! compile`; `ringwasm run OUT` runs the artefact without compiling. Also the
//! `-C OPT=VAL` codegen options `run` and `compile` share.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use ringwasm_jit::{
    Config, Engine, InstanceAllocationStrategy, Module, OptLevel, PoolingAllocationConfig,
};

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
    pub optimize: Vec<OptimizeOpt>,

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

/// One `-O OPT=VAL` option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizeOpt {
    /// `opt-level=0|1|2|s`.
    OptLevel(OptLevel),
    /// `memory-init-cow=y|n`: initialise memories from copy-on-write images.
    MemoryInitCow(bool),
    /// `pooling-allocator[=y|n]` and the `pooling-*` limits.
    Pooling(PoolingOpt),
}

/// A `-O pooling-*` option, by wasmtime's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolingOpt {
    /// `pooling-allocator=y|n`.
    Enable(bool),
    /// `pooling-total-memories=N`.
    TotalMemories(u32),
    /// `pooling-total-tables=N`.
    TotalTables(u32),
    /// `pooling-total-core-instances=N`.
    TotalCoreInstances(u32),
    /// `pooling-total-stacks=N`.
    TotalStacks(u32),
    /// `pooling-total-gc-heaps=N`.
    TotalGcHeaps(u32),
    /// `pooling-max-memory-size=BYTES`.
    MaxMemorySize(u64),
    /// `pooling-table-elements=N`.
    TableElements(u64),
    /// `pooling-max-core-instance-size=BYTES`.
    MaxCoreInstanceSize(u64),
    /// `pooling-max-memories-per-module=N`.
    MaxMemoriesPerModule(u32),
    /// `pooling-max-tables-per-module=N`.
    MaxTablesPerModule(u32),
    /// `pooling-decommit-batch-size=N`.
    DecommitBatchSize(usize),
    /// `pooling-max-unused-warm-slots=N`.
    MaxUnusedWarmSlots(u32),
}

/// A count or a size as wasmtime's `-O` takes it: digits, optionally with
/// `K`/`KiB`, `M`/`MiB` or `G`/`GiB` (powers of 1024).
fn parse_amount(s: &str, key: &str, value: &str) -> Result<u64, String> {
    let digits = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (num, unit) = value.split_at(digits);
    let shift = match unit {
        "" => 0,
        "K" | "KiB" | "k" | "kb" | "KB" => 10,
        "M" | "MiB" | "m" | "mb" | "MB" => 20,
        "G" | "GiB" | "g" | "gb" | "GB" => 30,
        _ => {
            return Err(format!(
                "`{s}`: expected `{key}=N` (a number, optionally with K, M or G)"
            ));
        }
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("`{s}`: expected `{key}=N` (a number, optionally with K, M or G)"))
}

/// Parses `-O OPT=VAL`.
pub(super) fn parse_optimize_opt(s: &str) -> Result<OptimizeOpt, String> {
    let (key, value) = s.split_once('=').unwrap_or((s, ""));
    let yes_no = |default: bool| match value {
        "" => Ok(default),
        "y" | "yes" | "true" => Ok(true),
        "n" | "no" | "false" => Ok(false),
        _ => Err(format!("`{s}`: expected `{key}=y` or `{key}=n`")),
    };
    let amount = || parse_amount(s, key, value);
    let count =
        || amount().and_then(|n| u32::try_from(n).map_err(|_| format!("`{s}`: {n} is too large")));
    let pooling = |opt| Ok(OptimizeOpt::Pooling(opt));
    match key {
        "opt-level" => match value {
            "0" => Ok(OptimizeOpt::OptLevel(OptLevel::None)),
            "1" | "2" => Ok(OptimizeOpt::OptLevel(OptLevel::Speed)),
            "s" => Ok(OptimizeOpt::OptLevel(OptLevel::SpeedAndSize)),
            _ => Err(format!("`{s}`: expected `opt-level=0`, `1`, `2` or `s`")),
        },
        "memory-init-cow" => Ok(OptimizeOpt::MemoryInitCow(yes_no(true)?)),
        "pooling-allocator" => pooling(PoolingOpt::Enable(yes_no(true)?)),
        "pooling-total-memories" => pooling(PoolingOpt::TotalMemories(count()?)),
        "pooling-total-tables" => pooling(PoolingOpt::TotalTables(count()?)),
        "pooling-total-core-instances" => pooling(PoolingOpt::TotalCoreInstances(count()?)),
        "pooling-total-stacks" => pooling(PoolingOpt::TotalStacks(count()?)),
        "pooling-total-gc-heaps" => pooling(PoolingOpt::TotalGcHeaps(count()?)),
        "pooling-max-memory-size" => pooling(PoolingOpt::MaxMemorySize(amount()?)),
        "pooling-table-elements" => pooling(PoolingOpt::TableElements(amount()?)),
        "pooling-max-core-instance-size" => pooling(PoolingOpt::MaxCoreInstanceSize(amount()?)),
        "pooling-max-memories-per-module" => pooling(PoolingOpt::MaxMemoriesPerModule(count()?)),
        "pooling-max-tables-per-module" => pooling(PoolingOpt::MaxTablesPerModule(count()?)),
        "pooling-decommit-batch-size" => pooling(PoolingOpt::DecommitBatchSize(amount()? as usize)),
        "pooling-max-unused-warm-slots" => pooling(PoolingOpt::MaxUnusedWarmSlots(count()?)),
        _ if WASMTIME_OPTIMIZE.contains(&key) => Err(format!(
            "`{key}`: a wasmtime option ringwasm does not have (memories are laid \
             out as docs/architecture.md says)"
        )),
        _ => Err(format!(
            "`{key}`: unknown option (known: opt-level, memory-init-cow, pooling-allocator \
             and the pooling-* limits)"
        )),
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
    "memory-guaranteed-dense-image-size",
    "pooling-memory-keep-resident",
    "pooling-table-keep-resident",
    "pooling-memory-protection-keys",
    "pooling-max-memory-protection-keys",
    "pooling-async-stack-keep-resident",
    "pooling-pagemap-scan",
    "pooling-total-component-instances",
    "pooling-max-component-instance-size",
    "pooling-max-core-instances-per-component",
    "pooling-max-memories-per-component",
    "pooling-max-tables-per-component",
];

/// Applies `-O` options: the last of each wins; the `pooling-*` limits
/// count only with `pooling-allocator`, as in wasmtime.
pub(super) fn apply_optimize_opts(config: &mut Config, opts: &[OptimizeOpt]) {
    let mut pooling = false;
    let mut pool = PoolingAllocationConfig::new();
    for opt in opts {
        match *opt {
            OptimizeOpt::OptLevel(level) => {
                config.cranelift_opt_level(level);
            }
            OptimizeOpt::MemoryInitCow(on) => {
                config.memory_init_cow(on);
            }
            OptimizeOpt::Pooling(p) => match p {
                PoolingOpt::Enable(on) => pooling = on,
                PoolingOpt::TotalMemories(n) => {
                    pool.total_memories(n);
                }
                PoolingOpt::TotalTables(n) => {
                    pool.total_tables(n);
                }
                PoolingOpt::TotalCoreInstances(n) => {
                    pool.total_core_instances(n);
                }
                PoolingOpt::TotalStacks(n) => {
                    pool.total_stacks(n);
                }
                PoolingOpt::TotalGcHeaps(n) => {
                    pool.total_gc_heaps(n);
                }
                PoolingOpt::MaxMemorySize(n) => {
                    pool.max_memory_size(n);
                }
                PoolingOpt::TableElements(n) => {
                    pool.table_elements(n);
                }
                PoolingOpt::MaxCoreInstanceSize(n) => {
                    pool.max_core_instance_size(n);
                }
                PoolingOpt::MaxMemoriesPerModule(n) => {
                    pool.max_memories_per_module(n);
                }
                PoolingOpt::MaxTablesPerModule(n) => {
                    pool.max_tables_per_module(n);
                }
                PoolingOpt::DecommitBatchSize(n) => {
                    pool.decommit_batch_size(n);
                }
                PoolingOpt::MaxUnusedWarmSlots(n) => {
                    pool.max_unused_warm_slots(n);
                }
            },
        }
    }
    if pooling {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
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
