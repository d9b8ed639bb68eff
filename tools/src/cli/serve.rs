//! `ringwasm serve [OPTIONS] COMPONENT`: the flags of issue #17 (wasmtime
//! serve's names where the two overlap), binding, and the announcement
//! `Serving HTTP on http://ADDR/` on stderr, as `wasmtime serve` prints it.
//!
//! The server engine is `ringwasm_wasi::http`, the component glue
//! `ringwasm_wasi::http::wasi`: each request gets a fresh instance of a
//! `wasi:http/proxy` 0.2 component (or, with `--max-instance-reuse-count`,
//! a pooled one). 0.3 `wasi:http/service` components are refused (the
//! async ABI is issue #16). SIGTERM and SIGINT drain: accepting stops, in-flight
//! requests finish within `--drain-timeout`, and the command exits 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use ringwasm_jit::component::Component;
use ringwasm_jit::{Config, Engine};
use ringwasm_wasi::http::h1::Header;
use ringwasm_wasi::http::limits;
use ringwasm_wasi::http::wasi::{ProxyConfig, ProxyHandler};
use ringwasm_wasi::http::{Limits, Server, ServerConfig};

use super::IoChoice;
use crate::uringbench::units::{parse_duration, parse_size};

/// Arguments of `ringwasm serve`.
#[derive(Debug, Args)]
#[command(after_long_help = LIMITS_HELP)]
pub struct ServeArgs {
    /// The `wasi:http` component to serve: `wasi:http/proxy` 0.2.x
    /// (`incoming-handler`) or `wasi:http/service` 0.3.x (`handler`).
    #[arg(value_name = "COMPONENT")]
    pub component: PathBuf,

    /// Socket address to listen on (port 0 picks one; the address is
    /// announced on stderr).
    #[arg(long, default_value = "0.0.0.0:8080", value_name = "SOCKADDR")]
    pub addr: SocketAddr,

    /// Server threads, each with its own ring, listener and executor
    /// (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// PEM certificate chain: serve HTTPS (needs `--tls-key`).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key (PKCS#8, RSA or EC) of `--tls-cert`.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Hand TLS records to kernel TLS after the handshake where the kernel
    /// supports it (not implemented yet: refused).
    #[arg(long)]
    pub tls_ktls: bool,

    /// Reuse an instance for up to N requests, one after the other (as
    /// wasmtime serve; default 1: a fresh instance per request). An
    /// instance that trapped is never reused.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub max_instance_reuse_count: u64,

    /// For 0.3 handlers: requests one reused instance may serve at once
    /// (as wasmtime serve).
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub max_instance_concurrent_reuse_count: u64,

    /// Drop a reused instance idle this long (as wasmtime serve).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1s")]
    pub idle_instance_timeout: Duration,

    /// Wasm engine options, as `wasmtime serve -W` (`timeout=DURATION`
    /// bounds each request's wasm time; see `ringwasm run --help`).
    #[arg(
        short = 'W',
        long = "wasm",
        value_name = "OPT=VAL[,..]",
        value_delimiter = ',',
        value_parser = super::run::parse_wasm_opt
    )]
    pub wasm: Vec<super::run::WasmOpt>,

    /// Optimization options, as `wasmtime serve -O` (`pooling-allocator`
    /// and its `pooling-*` limits, `opt-level`, `memory-init-cow`; see
    /// `ringwasm run --help`).
    #[arg(
        short = 'O',
        long = "optimize",
        value_name = "OPT=VAL[,..]",
        value_delimiter = ',',
        value_parser = super::compile::parse_optimize_opt
    )]
    pub optimize: Vec<super::compile::OptimizeOpt>,

    /// WASI options, as `wasmtime serve -S` (`-S cli` links wasi:cli).
    #[arg(
        short = 'S',
        long = "wasi",
        value_name = "OPT=VAL[,..]",
        value_delimiter = ',',
        value_parser = super::run::parse_wasi_opt
    )]
    pub wasi: Vec<super::run::WasiOpt>,

    /// Add a header field to every response: `-H 'name: value'`
    /// (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,

    /// Serve Prometheus metrics (`GET /metrics`) on this address.
    #[arg(long, value_name = "SOCKADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// Largest request head in bytes; more gives 431.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value_t = limits::MAX_HEAD_BYTES as u64)]
    pub max_header_bytes: u64,

    /// Most header fields in a request (1 to 256); more gives 431.
    #[arg(long, value_name = "N", default_value_t = limits::MAX_HEADERS)]
    pub max_headers: usize,

    /// Longest request target in bytes; longer gives 414.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value_t = limits::MAX_URI_BYTES as u64)]
    pub max_uri_bytes: u64,

    /// Largest request body in bytes; larger gives 413.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value_t = limits::MAX_BODY_BYTES)]
    pub max_body_bytes: u64,

    /// Time from a request's first byte to the end of its head; then 408.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    pub header_timeout: Duration,

    /// Time an idle keep-alive connection is kept open.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub idle_timeout: Duration,

    /// Longest wait for the next bytes of a request body; then 408.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub body_timeout: Duration,

    /// Longest wait for the client to take response bytes; then close.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub send_timeout: Duration,

    /// Most open connections; a connection over it gets 503.
    #[arg(long, value_name = "N", default_value_t = limits::MAX_CONNECTIONS)]
    pub max_connections: usize,

    /// Longest TLS handshake; then the connection is closed.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    pub tls_handshake_timeout: Duration,

    /// On SIGTERM/SIGINT: time in-flight requests get to finish.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub drain_timeout: Duration,
}

/// Every limit, its default and what happens past it (`--help`).
const LIMITS_HELP: &str = "\
Limits (each a flag above):
  --max-header-bytes   16k   request line + header fields; more: 431
  --max-headers        100   header fields; more: 431
  --max-uri-bytes      8k    request target; longer: 414
  --max-body-bytes     64M   request body (declared or chunked); larger: 413
  --header-timeout     10s   first byte to end of head; slower: 408, close
  --idle-timeout       30s   keep-alive wait for the next request; then close
  --body-timeout       30s   wait for more request-body bytes; then 408/close
  --send-timeout       30s   wait for the client to take response bytes; close
  --max-connections    10000 open connections; one more: 503, close
  --tls-handshake-timeout 10s  TLS handshake; slower: close
  --drain-timeout      30s   after SIGTERM/SIGINT, in-flight requests finish

Requests are refused with 400 for RFC 9112 framing faults (Content-Length
with Transfer-Encoding, repeated or non-digit Content-Length, bad chunk
sizes, a bare LF or obs-fold line ending, bad header names or values, a
missing Host in HTTP/1.1); 501 for a transfer coding other than chunked.
A handler failure or trap gives 500 for that request only.";

/// `-H 'name: value'`.
fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}`: expected `NAME: VALUE`"))?;
    let (name, value) = (name.trim(), value.trim());
    if !ringwasm_wasi::http::h1::encode::valid_field(name, value.as_bytes()) {
        return Err(format!("`{s}`: not a valid header field"));
    }
    Ok((name.to_ascii_lowercase(), value.to_string()))
}

impl ServeArgs {
    fn limits(&self) -> Result<Limits> {
        let usize_of = |v: u64, what: &str| {
            usize::try_from(v).with_context(|| format!("--{what} {v} is too large"))
        };
        Ok(Limits {
            max_head_bytes: usize_of(self.max_header_bytes, "max-header-bytes")?,
            max_headers: self.max_headers,
            max_uri_bytes: usize_of(self.max_uri_bytes, "max-uri-bytes")?,
            max_body_bytes: self.max_body_bytes,
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            body_timeout: self.body_timeout,
            send_timeout: self.send_timeout,
            max_connections: self.max_connections,
            tls_handshake_timeout: self.tls_handshake_timeout,
            drain_timeout: self.drain_timeout,
        })
    }
}

/// The engine `-W` asks for, and the per-request wasm time limit.
fn engine(args: &ServeArgs) -> Result<(Engine, Option<Duration>)> {
    use super::run::WasmOpt;
    let mut config = Config::default();
    let mut timeout = None;
    for opt in &args.wasm {
        match *opt {
            WasmOpt::EpochInterruption(on) => {
                config.epoch_interruption(on);
            }
            WasmOpt::MaxMemorySize(bytes) => {
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
    config.allow_precompiled(true);
    super::compile::apply_optimize_opts(&mut config, &args.optimize);
    let engine = Engine::new(&config).context("cannot create the engine")?;
    Ok((engine, timeout))
}

/// Bumps the engine's epoch every `tick`, for `-W timeout`.
fn start_ticker(engine: &Engine, tick: Duration) -> Result<()> {
    let engine = engine.clone();
    std::thread::Builder::new()
        .name("ringwasm-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(tick);
                engine.increment_epoch();
            }
        })
        .map(drop)
        .context("cannot start the epoch thread")
}

/// Runs `ringwasm serve`.
///
/// # Errors
///
/// Bad flags, an unreadable or unservable component (not a 0.2
/// `wasi:http/proxy`, or importing what ringwasm does not provide), an
/// unreadable certificate, an address that cannot be bound.
pub fn serve(args: &ServeArgs, io: IoChoice) -> Result<ExitCode> {
    if args.tls_ktls {
        bail!("--tls-ktls: handing TLS to the kernel is not implemented yet");
    }
    if args.max_instance_reuse_count == 0 {
        bail!("--max-instance-reuse-count must be at least 1");
    }
    let (engine, timeout) = engine(args)?;
    let bytes = std::fs::read(&args.component)
        .with_context(|| format!("reading component {}", args.component.display()))?;
    let component = Component::new(&engine, &bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("{}", args.component.display()))?;
    let cli = args
        .wasi
        .iter()
        .rev()
        .find_map(|o| match o {
            super::run::WasiOpt::Cli(on) => Some(*on),
            _ => None,
        })
        .unwrap_or(false);
    let proxy = ProxyConfig {
        cli,
        headers: args
            .headers
            .iter()
            .map(|(n, v)| Header::new(n, v.as_bytes()))
            .collect(),
        timeout,
        max_instance_reuse: args.max_instance_reuse_count,
        idle_instance_timeout: args.idle_instance_timeout,
        ..ProxyConfig::default()
    };
    // Refuse what cannot be served before binding: the threads link again.
    ProxyHandler::check(&engine, &component, &proxy)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot serve {}", args.component.display()))?;
    let mut config = ServerConfig::new(args.addr);
    if let Some(n) = args.threads {
        config.threads = n;
    }
    config.limits = args.limits()?;
    config.io = match io {
        IoChoice::Uring => ringwasm_wasi::IoChoice::Uring,
        IoChoice::Epoll => ringwasm_wasi::IoChoice::Epoll,
        IoChoice::Auto => ringwasm_wasi::IoChoice::Auto,
    };
    config.metrics_addr = args.metrics_addr;
    let scheme = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            config.tls = Some(ringwasm_wasi::http::tls::server_config(cert, key)?);
            "https"
        }
        _ => "http",
    };
    let server = Server::bind(config)?;
    say_err!("Serving HTTP on {scheme}://{}/", server.local_addr());
    if let Some(m) = server.metrics_addr() {
        say_err!("Serving metrics on http://{m}/metrics");
    }
    // Logs (a trapped guest, one line per request at `RUST_LOG=info`) go to
    // stderr after the announcement, which scripts read first.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    if let Some(d) = timeout {
        // A request's deadline is ten ticks: it traps between 0.9 and 1.0
        // times the timeout after it started.
        start_ticker(&engine, d / 10)?;
    }
    let shutdown = server.shutdown_handle();
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])
    .context("cannot install the SIGTERM/SIGINT handlers")?;
    std::thread::Builder::new()
        .name("ringwasm-signals".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                shutdown.shutdown();
            }
        })
        .context("cannot start the signal thread")?;
    server.run(move |_, driver| {
        ProxyHandler::new(&engine, &component, driver, proxy.clone())
            .expect("the component linked on the main thread, and links the same on every thread")
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_and_injection_is_refused() {
        assert_eq!(
            parse_header("X-Served-By: ringwasm"),
            Ok(("x-served-by".into(), "ringwasm".into()))
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
    }
}
