//! `ringwasm run [--invoke FUNC] FILE [ARGS]...`.
//!
//! The seam for the WASI host: [`Host`] is the store's data and
//! [`link_host`] fills the linker. When `ringwasm-wasi` lands, `Host` gains
//! its `WasiCtx` (built from `--dir`, `--env`, ARGS and the `--io` choice)
//! and `link_host` calls its `add_to_linker`; nothing else here changes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use ringwasm_jit::{
    Config, Engine, Error, Func, Linker, Module, Store, Trap, TrapCode, Val, ValType, WasmFeatures,
};

use super::IoChoice;

/// The module the WASI host provides imports for.
const WASI_PREVIEW1: &str = "wasi_snapshot_preview1";

/// Arguments of `ringwasm run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Call this exported function instead of `_start`; ARGS are its
    /// arguments, parsed by its parameter types.
    #[arg(long, value_name = "FUNC")]
    pub invoke: Option<String>,

    /// Grant the guest a host directory: `HOST[::GUEST]` (repeatable).
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    pub dirs: Vec<String>,

    /// Set an environment variable for the guest: `NAME=VAL`, or `NAME` to
    /// pass the host's value (repeatable).
    #[arg(long = "env", value_name = "NAME[=VAL]")]
    pub envs: Vec<String>,

    /// Load a module before the main one and let the main module import
    /// its exports as `NAME` (`NAME=MODULE_PATH`, repeatable, as `wasmtime
    /// run --preload`). A preloaded module may import WASI and earlier
    /// preloads; its `_initialize`, if exported, runs first.
    #[arg(long = "preload", value_name = "NAME=MODULE_PATH", value_parser = parse_preload)]
    pub preloads: Vec<(String, PathBuf)>,

    /// Accepted for `wasmtime run` compatibility: ringwasm always runs a
    /// precompiled artefact (`ringwasm compile` output) named on the
    /// command line, since the user chose the file.
    #[arg(long)]
    pub allow_precompiled: bool,

    /// The guest's `argv[0]` (default: FILE as given).
    #[arg(long, value_name = "NAME")]
    pub argv0: Option<String>,
    /// Wasm engine options, as `wasmtime run -W` (`--wasm`; several at once
    /// comma-separated, `-W tail-call,simd=y`): `epoch-interruption=y|n`
    /// (default `n`) compiles the epoch check at function entries and loop
    /// headers; the deadline stays unreached, so `y` measures its cost.
    /// `max-memory-size=BYTES` caps each linear memory (`memory.grow` past it
    /// returns -1; a module whose initial memory exceeds it fails to
    /// instantiate). `timeout=DURATION` (`10s`, `500ms`, `2m`; a bare number
    /// is seconds) interrupts wasm code after that much wall-clock time.
    /// `max-wasm-stack=BYTES` limits the native stack wasm code may use.
    /// Proposals, all on by default, by wasmtime's names: `bulk-memory`,
    /// `multi-value`, `reference-types`, `simd`, `relaxed-simd`, `tail-call`,
    /// `multi-memory`, `memory64`, `extended-const`, `exceptions`,
    /// `function-references`, `threads` (atomics and shared memories within
    /// one instance's store; no thread spawning), `wide-arithmetic`, `gc`
    /// (structs, arrays and i31; objects live until the program ends, no
    /// collector yet) (`=n` turns one off); `custom-page-sizes` (1-byte
    /// memory pages) is off unless `=y`; `component-model` (components,
    /// WASI 0.2) and `component-model-async` (validated; the WASI 0.3
    /// async ABI does not run yet) are on.
    #[arg(
        short = 'W',
        long = "wasm",
        value_name = "OPT=VAL[,..]",
        value_delimiter = ',',
        value_parser = parse_wasm_opt
    )]
    pub wasm: Vec<WasmOpt>,

    /// WASI options, as `wasmtime run -S` (`--wasi`, comma-separated as `-W`):
    /// `inherit-env=y|n` (default `n`)
    /// passes the whole host environment (before any `--env`).
    /// `wasi:sockets` (components), as wasmtime 49: `inherit-network` lets
    /// the guest bind and reach any address (default `n`: `access-denied`);
    /// `tcp`, `udp` allow creating sockets of the protocol (default: as
    /// `inherit-network`); `allow-ip-name-lookup` (default `n`) lets names
    /// resolve. Accepted
    /// and without effect: `cli`, `preview2`, `common` (and the network
    /// options for a Preview 1 program, which cannot create sockets).
    #[arg(
        short = 'S',
        long = "wasi",
        value_name = "OPT=VAL[,..]",
        value_delimiter = ',',
        value_parser = parse_wasi_opt
    )]
    pub wasi: Vec<WasiOpt>,

    /// Optimisation options, as `wasmtime run -O` (`--optimize`):
    /// `opt-level=0|1|2|s` (default `2`; `0` compiles fastest, `1` is `2`
    /// here); `memory-init-cow=y|n` (default `y`) maps initialised memory
    /// from copy-on-write images; `pooling-allocator` takes memories,
    /// tables and instances from pools, sized by wasmtime's
    /// `pooling-total-memories=N`, `pooling-total-tables=N`,
    /// `pooling-total-core-instances=N`, `pooling-max-memory-size=BYTES`,
    /// `pooling-table-elements=N`, `pooling-max-core-instance-size=BYTES`,
    /// `pooling-max-memories-per-module=N`, `pooling-max-tables-per-module=N`,
    /// `pooling-decommit-batch-size=N`, `pooling-max-unused-warm-slots=N`
    /// (`pooling-total-stacks` and `pooling-total-gc-heaps` are accepted).
    /// wasmtime's memory-layout options are refused.
    #[arg(
        short = 'O',
        long = "optimize",
        value_name = "OPT=VAL[,..]",
        value_delimiter = ',',
        value_parser = super::compile::parse_optimize_opt
    )]
    pub optimize: Vec<super::compile::OptimizeOpt>,

    /// Codegen options, as `wasmtime run -C` (`--codegen`): `cache=y|n` (default `y`)
    /// keeps compiled code in `$RINGWASM_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/ringwasm`, else `~/.cache/ringwasm`.
    #[arg(
        short = 'C',
        long = "codegen",
        value_name = "OPT=VAL[,..]",
        value_delimiter = ',',
        value_parser = super::compile::parse_codegen_opt
    )]
    pub codegen: Vec<super::compile::CodegenOpt>,

    /// The module to run, binary (`.wasm`) or text (`.wat`).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Arguments for the invoked function (or the program's argv).
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}

/// Parses `--preload NAME=MODULE_PATH`.
fn parse_preload(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() && !path.contains('=') => {
            Ok((name.to_string(), PathBuf::from(path)))
        }
        _ => Err("expected NAME=MODULE_PATH, with exactly one `=`".to_string()),
    }
}

/// One `-W OPT=VAL` engine option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WasmOpt {
    /// `epoch-interruption=y|n`.
    EpochInterruption(bool),
    /// `max-memory-size=BYTES`: the most bytes any one linear memory may have (per memory, as in wasmtime).
    MaxMemorySize(u64),
    /// `timeout=DURATION`: wall-clock limit on running wasm code.
    Timeout(Duration),
    /// `max-wasm-stack=BYTES`: the most native stack wasm code may use.
    MaxWasmStack(usize),
    /// `PROPOSAL=y|n`, by wasmtime's name (`simd`, `tail-call`, …): turns a
    /// wasm feature the engine implements on or off.
    Feature(WasmFeatures, bool),
}

/// Parses `-W OPT=VAL`.
pub(super) fn parse_wasm_opt(s: &str) -> Result<WasmOpt, String> {
    let (key, value) = match s.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (s, None),
    };
    match key {
        "epoch-interruption" => Ok(WasmOpt::EpochInterruption(yes_no(s, key, value)?)),
        "max-memory-size" => {
            let v = value.ok_or_else(|| format!("`{key}` needs a value: `{key}=BYTES`"))?;
            v.parse()
                .map(WasmOpt::MaxMemorySize)
                .map_err(|_| format!("`{s}`: `{v}` is not a number of bytes"))
        }
        "timeout" => {
            let v = value.ok_or_else(|| format!("`{key}` needs a value: `{key}=DURATION`"))?;
            parse_duration(v)
                .map(WasmOpt::Timeout)
                .ok_or_else(|| format!("`{s}`: expected a duration such as `10s` or `500ms`"))
        }
        "max-wasm-stack" => {
            let v = value.ok_or_else(|| format!("`{key}` needs a value: `{key}=BYTES`"))?;
            v.parse()
                .map(WasmOpt::MaxWasmStack)
                .map_err(|_| format!("`{s}`: `{v}` is not a number of bytes"))
        }
        // wasmtime keeps creating shared memories apart from validating
        // atomics; here shared memories come with `threads`.
        "shared-memory" => match yes_no(s, key, value)? {
            true => Ok(WasmOpt::Feature(WasmFeatures::THREADS, true)),
            false => Err(format!(
                "`{s}`: ringwasm cannot refuse shared memories on their own; \
                 `-W threads=n` refuses them with the atomics"
            )),
        },
        _ => {
            if let Some(&(_, bits)) = PROPOSALS.iter().find(|(name, _)| *name == key) {
                return Ok(WasmOpt::Feature(bits, yes_no(s, key, value)?));
            }
            if UNIMPLEMENTED_PROPOSALS.contains(&key) {
                // Turning off what we do not have is fine.
                return match yes_no(s, key, value)? {
                    false => Ok(WasmOpt::Feature(WasmFeatures::empty(), false)),
                    true => Err(format!(
                        "`{key}`: this proposal is not implemented by ringwasm"
                    )),
                };
            }
            if WASMTIME_ONLY.contains(&key) {
                return Err(format!("`{key}`: a wasmtime option ringwasm does not have"));
            }
            Err(format!(
                "`{key}`: unknown option (known: epoch-interruption, max-memory-size, \
                 max-wasm-stack, timeout, and the proposals {})",
                PROPOSALS
                    .iter()
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    }
}

/// One `-S OPT=VAL` WASI option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WasiOpt {
    /// `inherit-env=y|n`.
    InheritEnv(bool),
    /// `inherit-network=y|n`.
    InheritNetwork(bool),
    /// `tcp=y|n`.
    Tcp(bool),
    /// `udp=y|n`.
    Udp(bool),
    /// `allow-ip-name-lookup=y|n`.
    AllowIpNameLookup(bool),
    /// `cli=y|n`: all of `wasi:cli` (what `serve` links beside the proxy
    /// world; `run` always links it).
    Cli(bool),
    /// An option that changes nothing here.
    NoEffect,
}

/// Parses `-S OPT=VAL`.
pub(super) fn parse_wasi_opt(s: &str) -> Result<WasiOpt, String> {
    let (key, value) = match s.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (s, None),
    };
    match key {
        "inherit-env" => Ok(WasiOpt::InheritEnv(yes_no(s, key, value)?)),
        "inherit-network" => Ok(WasiOpt::InheritNetwork(yes_no(s, key, value)?)),
        "tcp" => Ok(WasiOpt::Tcp(yes_no(s, key, value)?)),
        "udp" => Ok(WasiOpt::Udp(yes_no(s, key, value)?)),
        "allow-ip-name-lookup" => Ok(WasiOpt::AllowIpNameLookup(yes_no(s, key, value)?)),
        "cli" => Ok(WasiOpt::Cli(yes_no(s, key, value)?)),
        "preview2" | "common" => {
            yes_no(s, key, value)?;
            Ok(WasiOpt::NoEffect)
        }
        "http" | "nn" | "threads" | "config" | "keyvalue" | "listenfd" | "tcplisten"
        | "max-resources" | "network-error-code" | "cli-exit-with-code" | "p3" => {
            Err(format!("`{key}`: a wasmtime option ringwasm does not have"))
        }
        _ => Err(format!(
            "`{key}`: unknown option (known: inherit-env, inherit-network, tcp, udp, \
             allow-ip-name-lookup, cli, and the no-ops preview2, common)"
        )),
    }
}

/// `y`/`n` as wasmtime takes them (a bare key means `y`).
fn yes_no(s: &str, key: &str, value: Option<&str>) -> Result<bool, String> {
    match value.unwrap_or("y") {
        "y" | "yes" | "true" => Ok(true),
        "n" | "no" | "false" => Ok(false),
        _ => Err(format!("`{s}`: expected `{key}=y` or `{key}=n`")),
    }
}

/// The wasm proposals the engine implements, by `wasmtime run -W` name;
/// all are on by default but `custom-page-sizes`.
const PROPOSALS: &[(&str, WasmFeatures)] = &[
    ("bulk-memory", WasmFeatures::BULK_MEMORY),
    ("multi-value", WasmFeatures::MULTI_VALUE),
    ("reference-types", WasmFeatures::REFERENCE_TYPES),
    ("simd", WasmFeatures::SIMD),
    ("relaxed-simd", WasmFeatures::RELAXED_SIMD),
    ("tail-call", WasmFeatures::TAIL_CALL),
    ("multi-memory", WasmFeatures::MULTI_MEMORY),
    ("memory64", WasmFeatures::MEMORY64),
    ("extended-const", WasmFeatures::EXTENDED_CONST),
    (
        "exceptions",
        WasmFeatures::EXCEPTIONS.union(WasmFeatures::LEGACY_EXCEPTIONS),
    ),
    ("function-references", WasmFeatures::FUNCTION_REFERENCES),
    ("threads", WasmFeatures::THREADS),
    ("wide-arithmetic", WasmFeatures::WIDE_ARITHMETIC),
    // On by default, as in wasmtime (since 47).
    ("gc", WasmFeatures::GC),
    // Off by default, as in wasmtime.
    ("custom-page-sizes", WasmFeatures::CUSTOM_PAGE_SIZES),
    // Components and their async ABI: on by default, as in wasmtime 49.
    ("component-model", WasmFeatures::COMPONENT_MODEL),
    ("component-model-async", WasmFeatures::CM_ASYNC),
];

/// `wasmtime run -W` proposals ringwasm does not implement: `=n` is
/// accepted, `=y` refused with that reason.
const UNIMPLEMENTED_PROPOSALS: &[&str] = &["shared-everything-threads", "stack-switching"];

/// Other `wasmtime run -W` options, refused as such rather than unknown.
const WASMTIME_ONLY: &[&str] = &[
    "nan-canonicalization",
    "fuel",
    "async-stack-size",
    "unknown-exports-allow",
    "unknown-imports-trap",
    "unknown-imports-default",
    "max-memories",
    "max-tables",
    "max-instances",
    "max-table-elements",
    "trap-on-grow-failure",
    "all-proposals",
    "relaxed-simd-deterministic",
    "pooling-allocator",
];

/// A duration as `wasmtime run -W timeout=` takes it: a number with an
/// optional unit (`ns`, `us`, `ms`, `s`, `m`, `h`); no unit means seconds.
fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    Some(match unit.trim() {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "us" => Duration::from_micros(n),
        "ns" => Duration::from_nanos(n),
        "m" => Duration::from_secs(n.checked_mul(60)?),
        "h" => Duration::from_secs(n.checked_mul(3600)?),
        _ => return None,
    })
}

/// The store's data: what host functions can reach.
#[derive(Debug)]
pub struct Host {
    /// The guest's WASI state (it also holds the `--io` choice).
    pub wasi: ringwasm_wasi::WasiCtx,
}

/// What `wasi:sockets` may do, from the `-S` options (the last of each
/// wins). As `wasmtime run` 49 behaves: `tcp` and `udp` default to
/// `inherit-network` (without flags no socket can be created).
fn socket_policy(opts: &[WasiOpt]) -> ringwasm_wasi::p2::sockets::SocketPolicy {
    let (mut net, mut tcp, mut udp, mut lookup) = (false, None, None, false);
    for o in opts {
        match *o {
            WasiOpt::InheritNetwork(on) => net = on,
            WasiOpt::Tcp(on) => tcp = Some(on),
            WasiOpt::Udp(on) => udp = Some(on),
            WasiOpt::AllowIpNameLookup(on) => lookup = on,
            WasiOpt::InheritEnv(_) | WasiOpt::Cli(_) | WasiOpt::NoEffect => {}
        }
    }
    ringwasm_wasi::p2::sockets::SocketPolicy {
        inherit_network: net,
        tcp: tcp.unwrap_or(net),
        udp: udp.unwrap_or(net),
        ip_name_lookup: lookup,
    }
}

/// Builds the guest's WASI context from `--dir`, `--env`, `--argv0`, ARGS.
fn wasi_ctx(args: &RunArgs, io: IoChoice) -> Result<ringwasm_wasi::WasiCtx> {
    let mut b = ringwasm_wasi::WasiCtxBuilder::new();
    b.inherit_stdio().io(match io {
        IoChoice::Uring => ringwasm_wasi::IoChoice::Uring,
        IoChoice::Epoll => ringwasm_wasi::IoChoice::Epoll,
        IoChoice::Auto => ringwasm_wasi::IoChoice::Auto,
    });
    // As wasmtime: argv[0] is the module's file name, not the path given.
    let file_name = args.file.file_name().map_or_else(
        || args.file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    b.arg(args.argv0.clone().unwrap_or(file_name));
    if args.invoke.is_none() {
        b.args(args.args.iter().cloned());
    }
    let inherit_env = args.wasi.iter().rev().find_map(|o| match o {
        WasiOpt::InheritEnv(on) => Some(*on),
        _ => None,
    });
    b.socket_policy(socket_policy(&args.wasi));
    if inherit_env == Some(true) {
        for (k, v) in std::env::vars() {
            b.env(k, v);
        }
    }
    for env in &args.envs {
        match env.split_once('=') {
            Some((k, v)) => b.env(k, v),
            // `--env NAME` passes the host's value; an unset NAME is left
            // out, as wasmtime does.
            None => match std::env::var(env) {
                Ok(v) => b.env(env.as_str(), v),
                Err(_) => &mut b,
            },
        };
    }
    for dir in &args.dirs {
        b.preopen(ringwasm_wasi::PreopenSpec::parse(dir));
    }
    Ok(b.build()?)
}

/// Runs the module as the arguments say.
pub(super) fn run(args: RunArgs, io: IoChoice) -> Result<ExitCode> {
    let file = &args.file;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut config = Config::default();
    let mut timeout = None;
    for opt in &args.wasm {
        match *opt {
            WasmOpt::EpochInterruption(on) => {
                config.epoch_interruption(on);
            }
            WasmOpt::MaxMemorySize(bytes) => {
                // Per memory, as in wasmtime.
                config.max_memory_size(bytes);
            }
            WasmOpt::Timeout(d) => timeout = Some(d),
            WasmOpt::MaxWasmStack(bytes) => {
                config.max_wasm_stack(bytes);
            }
            WasmOpt::Feature(bits, on) => {
                let mut features = config.features();
                features.set(bits, on);
                config.wasm_features(features);
            }
        }
    }
    if timeout.is_some() {
        config.epoch_interruption(true);
    }
    // `ringwasm compile` output runs as is: the user named the file.
    config.allow_precompiled(true);
    super::compile::apply_optimize_opts(&mut config, &args.optimize);
    super::compile::apply_codegen_opts(&mut config, &args.codegen, true);
    let engine = Engine::new(&config).context("cannot create the engine")?;
    let component = ringwasm_jit::component::is_component(&bytes) || is_component_text(&bytes);
    if component {
        let wasi = wasi_ctx(&args, io)?;
        let mut store = Store::new(&engine, Host { wasi });
        if let Some(d) = timeout {
            store.set_epoch_deadline(1);
            start_timer(&engine, d);
        }
        return super::run_component::run(&args, &engine, &bytes, store, file);
    }
    let module = Module::new(&engine, &bytes).with_context(|| format!("{}", file.display()))?;
    let wasi = wasi_ctx(&args, io)?;
    let mut store = Store::new(&engine, Host { wasi });
    if let Some(d) = timeout {
        // One tick: the guest traps with `interrupt` at its next function
        // entry or loop header after the timer thread bumps the epoch.
        store.set_epoch_deadline(1);
        start_timer(&engine, d);
    }
    let mut linker = Linker::new(&engine);
    ringwasm_wasi::add_to_linker(&mut linker, |h: &mut Host| &mut h.wasi)?;
    let mut provided: Vec<&str> = Vec::new();
    for (name, path) in &args.preloads {
        if let Some(status) = preload(&mut linker, &mut store, &provided, name, path)? {
            return Ok(status);
        }
        provided.push(name);
    }
    check_imports(&module, file, &provided)?;
    let instance = match linker.instantiate(&mut store, &module) {
        Ok(instance) => instance,
        Err(Error::Exit(code)) => return Ok(exit_code(code)),
        Err(Error::Trap(trap)) => {
            // A trap in the start function or a segment: reported as wasmtime
            // reports a trap in `_start`.
            let what = format!("failed to instantiate {:?}", file.display().to_string());
            return Ok(report_trap(file, &what, &trap, &bytes));
        }
        Err(e @ (Error::ResourceLimit(_) | Error::Pool(_))) => {
            // `-W max-memory-size` below the module's initial memory: status
            // 1 and the message shape of `wasmtime run`.
            say_err!(
                "Error: failed to run main module `{f}`\n\nCaused by:\n    0: failed to instantiate \"{f}\"\n    1: {e}",
                f = file.display()
            );
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(anyhow!(e).context(format!("{}: cannot instantiate", file.display()))),
    };
    let name = args.invoke.as_deref().unwrap_or("_start");
    let Some(func) = instance.get_func(&mut store, name) else {
        return Ok(match &args.invoke {
            Some(_) => run_failure(file, &format!("no func export named `{name}` found")),
            // A module without `_start` is instantiated and that is all
            // (its start function ran), as `wasmtime run` does.
            None => ExitCode::SUCCESS,
        });
    };
    let params = if args.invoke.is_some() {
        if !func.ty(&store).params().is_empty() {
            say_err!("{INVOKE_PARAMS_WARNING}");
        }
        match parse_args(&func, &store, name, &args.args) {
            Ok(params) => params,
            Err(e) => return Ok(run_failure(file, &format!("{e:#}"))),
        }
    } else {
        Vec::new()
    };
    let mut results = vec![Val::I32(0); func.ty(&store).results().len()];
    match func.call(&mut store, &params, &mut results) {
        Ok(()) => {}
        Err(Error::Exit(code)) => return Ok(exit_code(code)),
        Err(Error::Trap(trap)) => {
            let what = match &args.invoke {
                Some(_) => format!("failed to invoke `{name}`"),
                None => "failed to invoke command default".to_string(),
            };
            return Ok(report_trap(file, &what, &trap, &bytes));
        }
        Err(e) => return Err(anyhow!(e).context(format!("{}: `{name}`", file.display()))),
    }
    if args.invoke.is_some() {
        // wasmtime warns once the call has returned (not after a trap).
        if !results.is_empty() {
            say_err!("{INVOKE_RESULTS_WARNING}");
        }
        for result in &results {
            say_out!("{}", show(result));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether WAT text is a component: its first form is `(component`.
pub(super) fn is_component_text(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix(";;") {
            rest = r.split_once('\n').map_or("", |(_, r)| r);
        } else if rest.starts_with("(;") {
            rest = rest.split_once(";)").map_or("", |(_, r)| r);
        } else {
            break;
        }
    }
    rest.strip_prefix('(')
        .is_some_and(|r| r.trim_start().starts_with("component"))
}

/// Bumps `engine`'s epoch once `after` has passed, from a timer thread (the
/// process exits when the guest does, so the thread is never joined).
fn start_timer(engine: &Engine, after: Duration) {
    let engine = engine.clone();
    std::thread::Builder::new()
        .name("ringwasm-timeout".into())
        .spawn(move || {
            let deadline = std::time::Instant::now() + after;
            // `sleep` may wake early on a signal: sleep out the rest.
            while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
                if left.is_zero() {
                    break;
                }
                std::thread::sleep(left);
            }
            engine.increment_epoch();
        })
        .map(drop)
        .unwrap_or_else(|e| say_err!("warning: no timeout thread: {e}"));
}

/// Loads, instantiates and initialises the preloaded module `name`, then
/// defines its exports under `name`. `Some(status)` when the process should
/// end with it (the module exited or trapped while starting).
fn preload(
    linker: &mut Linker<Host>,
    store: &mut Store<Host>,
    provided: &[&str],
    name: &str,
    path: &Path,
) -> Result<Option<ExitCode>> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "failed to open wasm module {:?}",
            path.display().to_string()
        )
    })?;
    let module =
        Module::new(store.engine(), &bytes).with_context(|| format!("{}", path.display()))?;
    check_imports(&module, path, provided)?;
    let instance = match linker.instantiate(&mut *store, &module) {
        Ok(instance) => instance,
        Err(Error::Exit(code)) => return Ok(Some(exit_code(code))),
        Err(Error::Trap(trap)) => {
            let what = format!("failed to instantiate {:?}", path.display().to_string());
            return Ok(Some(report_trap(path, &what, &trap, &bytes)));
        }
        Err(e) => return Err(anyhow!(e).context(format!("{}: cannot instantiate", path.display()))),
    };
    if let Some(init) = instance.get_func(&mut *store, "_initialize") {
        match init.call(&mut *store, &[], &mut []) {
            Ok(()) => {}
            Err(Error::Exit(code)) => return Ok(Some(exit_code(code))),
            Err(Error::Trap(trap)) => {
                let what = "failed to invoke `_initialize`".to_string();
                return Ok(Some(report_trap(path, &what, &trap, &bytes)));
            }
            Err(e) => return Err(anyhow!(e).context(format!("{}: `_initialize`", path.display()))),
        }
    }
    linker.instance(store, name, instance)?;
    Ok(None)
}

/// Refuses, with a message naming it, an import that neither WASI Preview 1
/// nor a preloaded module (`provided`) can satisfy, rather than an obscure
/// "unknown import".
fn check_imports(module: &Module, file: &Path, provided: &[&str]) -> Result<()> {
    if let Some(import) = module.imports().find(|i| {
        !provided.contains(&i.module())
            && (i.module() != WASI_PREVIEW1
                || !ringwasm_wasi::linker::FUNCTIONS.contains(&i.name()))
    }) {
        bail!(
            "{}: imports `{}.{}`, which no host provides",
            file.display(),
            import.module(),
            import.name()
        );
    }
    Ok(())
}

/// What `wasmtime run --invoke` prints for a function with parameters,
/// before parsing the arguments.
const INVOKE_PARAMS_WARNING: &str = "warning: using `--invoke` with a function that takes \
                                     arguments is experimental and may break in the future";

/// What `wasmtime run --invoke` prints for a function with results, after
/// it returned.
const INVOKE_RESULTS_WARNING: &str = "warning: using `--invoke` with a function that returns \
                                      values is experimental and may break in the future";

/// The exit status of a guest that hit a wasm trap: 128 + SIGABRT, as
/// `wasmtime run` on Unix. A host function's error (a bad guest pointer, say)
/// is an ordinary failure, status 1, as there too.
const TRAP_EXIT_STATUS: u8 = 134;

/// Prints a trap and its wasm backtrace to stderr as `wasmtime run` does and
/// returns the exit status to use. `module_bytes` is the file as read.
pub(super) fn report_trap(file: &Path, what: &str, trap: &Trap, module_bytes: &[u8]) -> ExitCode {
    say_err!(
        "{}",
        super::report::trap_report(file, what, trap, module_bytes)
    );
    match trap.code {
        // An uncaught wasm exception is an error, not a trap: status 1, as
        // `wasmtime run`.
        TrapCode::Host(_) | TrapCode::Exception(_) => ExitCode::FAILURE,
        _ => ExitCode::from(TRAP_EXIT_STATUS),
    }
}

pub(super) fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1))
}

/// `wasmtime run`'s report of a failure before the guest runs, with one
/// cause (the trailing empty line included).
fn run_failure(file: &Path, cause: &str) -> ExitCode {
    say_err!(
        "Error: failed to run main module `{}`\n\nCaused by:\n    {cause}\n",
        file.display()
    );
    ExitCode::FAILURE
}

/// Parses ARGS by the parameter types of `func`, as `wasmtime run --invoke`
/// does: one argument per parameter (extra ones are ignored), integers as
/// signed decimal or `0x` hex of the parameter's width, floats as Rust
/// parses them (`1e3`, `inf`, `nan`).
fn parse_args(func: &Func, store: &Store<Host>, name: &str, args: &[String]) -> Result<Vec<Val>> {
    let ty = func.ty(store);
    let mut args = args.iter();
    ty.params()
        .iter()
        .map(|ty| {
            let arg = args
                .next()
                .ok_or_else(|| anyhow!("not enough arguments for `{name}`"))?;
            parse_val(ty, arg)
        })
        .collect()
}

fn parse_val(ty: &ValType, arg: &str) -> Result<Val> {
    let hex = arg.strip_prefix("0x").or_else(|| arg.strip_prefix("0X"));
    Ok(match ty {
        ValType::I32 => Val::I32(match hex {
            Some(h) => i32::from_str_radix(h, 16)?,
            None => arg.parse()?,
        }),
        ValType::I64 => Val::I64(match hex {
            Some(h) => i64::from_str_radix(h, 16)?,
            None => arg.parse()?,
        }),
        ValType::F32 => Val::F32(arg.parse::<f32>()?.to_bits()),
        ValType::F64 => Val::F64(arg.parse::<f64>()?.to_bits()),
        other => bail!("unsupported argument type {other:?}"),
    })
}

/// Formats a result as `wasmtime run --invoke` does.
fn show(val: &Val) -> String {
    match val {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::V128(v) => format!("{v:#034x}"),
        Val::FuncRef(None) | Val::ExternRef(None) | Val::AnyRef(None) => "null".to_owned(),
        Val::FuncRef(Some(_)) => "<funcref>".to_owned(),
        Val::ExternRef(Some(_)) => "<externref>".to_owned(),
        Val::AnyRef(Some(_)) => "<anyref>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_signed_and_hex_as_wasmtime_does() {
        assert!(matches!(parse_val(&ValType::I32, "-3"), Ok(Val::I32(-3))));
        // Signed only, as wasmtime: no unsigned wrap-around.
        assert!(parse_val(&ValType::I32, "4294967295").is_err());
        assert!(parse_val(&ValType::I32, "0xffffffff").is_err());
        assert!(matches!(parse_val(&ValType::I32, "0x10"), Ok(Val::I32(16))));
        assert!(matches!(
            parse_val(&ValType::I32, "0X7fffffff"),
            Ok(Val::I32(i32::MAX))
        ));
        assert!(matches!(parse_val(&ValType::I64, "-9"), Ok(Val::I64(-9))));
        assert!(parse_val(&ValType::I32, "4294967296").is_err());
        assert!(parse_val(&ValType::I32, "two").is_err());
    }

    #[test]
    fn socket_flags_make_wasmtimes_policy() {
        let opts = |v: &[&str]| -> Vec<WasiOpt> {
            v.iter()
                .map(|s| parse_wasi_opt(s).expect("parses"))
                .collect()
        };
        let p = socket_policy(&[]);
        assert!(!p.inherit_network && !p.tcp && !p.udp && !p.ip_name_lookup);
        // tcp and udp default to inherit-network.
        let p = socket_policy(&opts(&["inherit-network"]));
        assert!(p.inherit_network && p.tcp && p.udp && !p.ip_name_lookup);
        let p = socket_policy(&opts(&["inherit-network", "udp=n", "allow-ip-name-lookup"]));
        assert!(p.tcp && !p.udp && p.ip_name_lookup);
        let p = socket_policy(&opts(&["tcp"]));
        assert!(!p.inherit_network && p.tcp && !p.udp);
        // The last of each wins.
        let p = socket_policy(&opts(&["inherit-network", "inherit-network=n"]));
        assert!(!p.inherit_network && !p.tcp);
        assert!(parse_wasi_opt("tcp=maybe").is_err());
    }

    #[test]
    fn wasm_options_parse_as_wasmtime_spells_them() {
        assert_eq!(
            parse_wasm_opt("max-memory-size=131072"),
            Ok(WasmOpt::MaxMemorySize(131_072))
        );
        assert_eq!(
            parse_wasm_opt("timeout=500ms"),
            Ok(WasmOpt::Timeout(Duration::from_millis(500)))
        );
        assert_eq!(
            parse_wasm_opt("timeout=2"),
            Ok(WasmOpt::Timeout(Duration::from_secs(2)))
        );
        assert_eq!(
            parse_wasm_opt("timeout=1m"),
            Ok(WasmOpt::Timeout(Duration::from_secs(60)))
        );
        assert!(parse_wasm_opt("timeout=soon").is_err());
        assert!(parse_wasm_opt("timeout").is_err());
        assert_eq!(
            parse_wasm_opt("simd=n"),
            Ok(WasmOpt::Feature(WasmFeatures::SIMD, false))
        );
        assert_eq!(
            parse_wasm_opt("tail-call"),
            Ok(WasmOpt::Feature(WasmFeatures::TAIL_CALL, true))
        );
        assert_eq!(
            parse_wasm_opt("max-wasm-stack=65536"),
            Ok(WasmOpt::MaxWasmStack(65536))
        );
        assert_eq!(
            parse_wasm_opt("threads=n"),
            Ok(WasmOpt::Feature(WasmFeatures::THREADS, false))
        );
        assert_eq!(
            parse_wasm_opt("threads"),
            Ok(WasmOpt::Feature(WasmFeatures::THREADS, true))
        );
        assert_eq!(
            parse_wasm_opt("shared-memory=y"),
            Ok(WasmOpt::Feature(WasmFeatures::THREADS, true))
        );
        assert_eq!(
            parse_wasm_opt("wide-arithmetic=n"),
            Ok(WasmOpt::Feature(WasmFeatures::WIDE_ARITHMETIC, false))
        );
        assert_eq!(
            parse_wasm_opt("custom-page-sizes"),
            Ok(WasmOpt::Feature(WasmFeatures::CUSTOM_PAGE_SIZES, true))
        );
        assert_eq!(
            parse_wasm_opt("custom-page-sizes=y"),
            Ok(WasmOpt::Feature(WasmFeatures::CUSTOM_PAGE_SIZES, true))
        );
        let e = parse_wasm_opt("shared-memory=n").expect_err("not separable");
        assert!(e.contains("threads=n"), "{e}");
        assert_eq!(
            parse_wasm_opt("gc=n"),
            Ok(WasmOpt::Feature(WasmFeatures::GC, false))
        );
        assert_eq!(
            parse_wasm_opt("gc"),
            Ok(WasmOpt::Feature(WasmFeatures::GC, true))
        );
        assert_eq!(
            parse_wasm_opt("component-model=n"),
            Ok(WasmOpt::Feature(WasmFeatures::COMPONENT_MODEL, false))
        );
        let e = parse_wasm_opt("stack-switching=y").expect_err("not implemented");
        assert!(e.contains("not implemented"), "{e}");
        let e = parse_wasm_opt("fuel=10").expect_err("wasmtime only");
        assert!(e.contains("wasmtime option"), "{e}");
        assert!(parse_wasm_opt("max-memory-size=lots").is_err());
        assert_eq!(
            parse_wasm_opt("epoch-interruption"),
            Ok(WasmOpt::EpochInterruption(true))
        );
    }

    #[test]
    fn floats_parse_to_bits() {
        assert!(
            matches!(parse_val(&ValType::F32, "1.5"), Ok(Val::F32(b)) if b == 1.5f32.to_bits())
        );
        assert!(
            matches!(parse_val(&ValType::F64, "-0"), Ok(Val::F64(b)) if b == (-0f64).to_bits())
        );
    }
}
