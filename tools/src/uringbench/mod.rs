//! `uringbench`: the load generator and benchmark harness.
//!
//! Subcommands: `http` (HTTP/1.1 load, wrk-like), `file` (fio-like file
//! I/O), `echo` (TCP echo server and client), `compare` (time commands
//! side by side). Flags and the `--json` line are an interface that scripts
//! depend on; see `docs/performance.md`.
//!
//! Start reading at [`Cli`]; [`report`] holds the histogram and the JSON
//! shape, [`http`] the client.

pub mod compare;
pub mod echo;
pub mod file;
pub mod http;
pub mod report;
mod sock;
pub mod units;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

/// Which I/O backend a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IoFlag {
    /// io_uring, falling back to epoll (with one line saying why).
    Auto,
    /// io_uring only.
    Uring,
    /// The readiness fallback (epoll on Linux).
    Epoll,
}

/// The backend a run actually uses: every mode runs one client, written
/// once against [`ringwasm_reactor::Driver`], on this backend.
pub use ringwasm_reactor::BackendKind;

impl From<IoFlag> for ringwasm_wasi::IoChoice {
    fn from(flag: IoFlag) -> Self {
        match flag {
            IoFlag::Auto => Self::Auto,
            IoFlag::Uring => Self::Uring,
            IoFlag::Epoll => Self::Epoll,
        }
    }
}

/// The name of `kind` in reports and `--json`.
pub const fn backend_name(kind: BackendKind) -> &'static str {
    match kind {
        BackendKind::Uring => "uring",
        BackendKind::Epoll => "epoll",
    }
}

/// Resolves `--io` once, through [`ringwasm_wasi::Io`]: `auto` takes
/// io_uring when a ring can be set up and every opcode the reactor uses is
/// supported, and otherwise falls back with one line on stderr saying why.
/// Worker threads then make their own driver with [`thread_driver`].
///
/// # Errors
///
/// When `uring` is demanded and io_uring is unavailable (with the reason),
/// or the fallback poller cannot be created.
pub fn choose_io(flag: IoFlag) -> anyhow::Result<BackendKind> {
    let io = ringwasm_wasi::Io::new(flag.into())
        .map_err(|e| anyhow::anyhow!("setting up the {flag:?} I/O backend: {e}"))?;
    if let Some(why) = io.fallback_reason() {
        eprintln!("uringbench: io_uring unavailable, using epoll: {why}");
    }
    Ok(io.kind())
}

/// A driver for this thread on the backend [`choose_io`] picked.
///
/// # Errors
///
/// When the backend cannot be set up on this thread (ring or poller
/// creation failed, e.g. out of memory or file descriptors).
pub fn thread_driver(kind: BackendKind) -> std::io::Result<ringwasm_reactor::Driver> {
    ringwasm_wasi::Io::new(ringwasm_wasi::IoChoice::from(kind))
        .map(|io| io.driver().clone())
        .map_err(|e| std::io::Error::other(format!("setting up the {kind} backend: {e}")))
}

/// io_uring load generator and benchmark harness.
#[derive(Debug, Parser)]
#[command(name = "uringbench", version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// HTTP/1.1 keep-alive load against URL.
    Http(HttpArgs),
    /// File I/O throughput and latency.
    File(FileArgs),
    /// TCP echo server and client on loopback.
    Echo(EchoArgs),
    /// Run commands alternately and compare their median times.
    Compare(compare::CompareArgs),
}

/// Flags shared by the measuring subcommands.
#[derive(Debug, clap::Args)]
pub struct CommonArgs {
    /// I/O backend.
    #[arg(long, value_enum, default_value = "auto", env = "RINGWASM_IO")]
    pub io: IoFlag,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

/// `uringbench http`.
#[derive(Debug, clap::Args)]
pub struct HttpArgs {
    /// `http://` or `https://` URL.
    pub url: String,
    /// Threads, one event loop (ring) each.
    #[arg(short = 't', long, default_value_t = 2)]
    pub threads: usize,
    /// Connections, over all threads.
    #[arg(short = 'c', long, default_value_t = 10)]
    pub connections: usize,
    /// Measured duration (e.g. 10s); default 10s unless -n is given.
    #[arg(short = 'd', long, value_parser = units::parse_duration, conflicts_with = "requests")]
    pub duration: Option<Duration>,
    /// Measured number of requests.
    #[arg(short = 'n', long)]
    pub requests: Option<u64>,
    /// Fixed request rate per second over all connections (open loop,
    /// latency corrected for coordinated omission).
    #[arg(short = 'R', long)]
    pub rate: Option<f64>,
    /// Extra header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// Request method.
    #[arg(short = 'm', long, default_value = "GET")]
    pub method: String,
    /// File whose contents are the request body.
    #[arg(long)]
    pub body: Option<PathBuf>,
    /// Warm-up before measuring (not counted).
    #[arg(long, value_parser = units::parse_duration, default_value = "1s")]
    pub warmup: Duration,
    /// A response not complete after this long is a timeout error.
    #[arg(long, value_parser = units::parse_duration, default_value = "2s")]
    pub timeout: Duration,
    /// Accept any TLS certificate (self-signed servers).
    #[arg(long)]
    pub insecure: bool,
    /// Backend and output.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `uringbench file`.
#[derive(Debug, clap::Args)]
pub struct FileArgs {
    /// File to read or write (created and sized when missing or short).
    #[arg(long)]
    pub path: PathBuf,
    /// File size.
    #[arg(long, value_parser = units::parse_size, default_value = "1G")]
    pub size: u64,
    /// Block size of each operation.
    #[arg(long, value_parser = units::parse_size, default_value = "4k")]
    pub bs: u64,
    /// Operations in flight.
    #[arg(long, default_value_t = 64)]
    pub qd: usize,
    /// Offsets: random or sequential.
    #[arg(long, value_enum, default_value = "rand")]
    pub pattern: file::Pattern,
    /// Read or write.
    #[arg(long, value_enum, default_value = "read")]
    pub op: file::FileOp,
    /// Bypass the page cache (O_DIRECT).
    #[arg(long)]
    pub direct: bool,
    /// Do not register the file with the ring (by default it is, as fio's
    /// `--registerfiles`: io_uring then skips the fd lookup and reference
    /// count per op; the fallback ignores registration).
    #[arg(long)]
    pub plain_fd: bool,
    /// Queue every read on the ring. By default a buffered read first tries
    /// the page cache with one `preadv2(RWF_NOWAIT)` and queues only what
    /// that cannot serve, as ringwasm's WASI host does; `--direct` reads
    /// always go to the ring. The fallback ignores this.
    #[arg(long)]
    pub ring_only: bool,
    /// Read into registered buffers (`IORING_OP_READ_FIXED`, fio's
    /// `--fixedbufs`); reads only.
    #[arg(long)]
    pub fixed_bufs: bool,
    /// Measure the kernel's floor instead of a backend: a bare loop of
    /// `pread`, of `preadv2(RWF_NOWAIT)`, or of io_uring reads (`--qd` in
    /// flight, reaped and resubmitted in batches, the file registered) on
    /// this thread, with no reactor, executor or per-op timing (so no
    /// latencies). Random reads only; `--io` is ignored. Shows how much of
    /// a gap between the backends is the kernel's own.
    #[arg(long, value_enum, conflicts_with_all = ["direct", "plain_fd", "ring_only", "fixed_bufs", "fallback_files"])]
    pub bare: Option<file::Bare>,
    /// How the epoll fallback runs file reads and writes: `direct` syscalls
    /// on the calling thread, or `pool[:N]` (N blocking threads, default 4).
    /// Default: `RINGWASM_FALLBACK_FILES`, else `direct`.
    #[arg(long, value_parser = parse_file_mode)]
    pub fallback_files: Option<ringwasm_fallback_epoll::FileMode>,
    /// Measured duration.
    #[arg(short = 'd', long, value_parser = units::parse_duration, default_value = "5s")]
    pub duration: Duration,
    /// Backend and output.
    #[command(flatten)]
    pub common: CommonArgs,
}

fn parse_file_mode(s: &str) -> Result<ringwasm_fallback_epoll::FileMode, String> {
    s.parse()
        .map_err(|e: ringwasm_fallback_epoll::UnknownFileMode| e.to_string())
}

/// `uringbench echo`.
#[derive(Debug, clap::Args)]
pub struct EchoArgs {
    /// Client connections.
    #[arg(long, default_value_t = 64)]
    pub conns: usize,
    /// Message size.
    #[arg(long, value_parser = units::parse_size, default_value = "16k")]
    pub size: u64,
    /// Measured duration.
    #[arg(short = 'd', long, value_parser = units::parse_duration, default_value = "5s")]
    pub duration: Duration,
    /// Echo against this server instead of starting one on loopback.
    #[arg(long)]
    pub addr: Option<std::net::SocketAddr>,
    /// Backend and output.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Runs the parsed command line.
///
/// # Errors
///
/// Any failure of the subcommand, with context.
pub fn main(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Http(a) => {
            let body = match &a.body {
                Some(p) => std::fs::read(p)
                    .with_context(|| format!("reading the body file {}", p.display()))?,
                None => Vec::new(),
            };
            let io = choose_io(a.common.io)?;
            let duration = match (a.duration, a.requests) {
                (None, None) => Some(Duration::from_secs(10)),
                (d, _) => d,
            };
            let opts = http::HttpOptions {
                url: a.url.clone(),
                threads: a.threads,
                conns: a.connections,
                duration,
                requests: a.requests,
                rate: a.rate,
                headers: a.headers,
                method: a.method,
                body,
                warmup: a.warmup,
                timeout: a.timeout,
                insecure: a.insecure,
                progress: true,
            };
            header(
                "http",
                io,
                &format!("{} -t {} -c {}", a.url, a.threads, a.connections),
            );
            let report = http::run(&opts, io)?;
            emit(&report, "request", a.common.json);
        }
        Command::File(a) if a.bare.is_some() => {
            let report = file::run_bare(&a)?;
            println!(
                "uringbench file {}: {}, kernel {}, cpu {}",
                a.path.display(),
                report.io,
                kernel_release(),
                cpu_model()
            );
            emit(&report, "op", a.common.json);
        }
        Command::File(a) => {
            let io = choose_io(a.common.io)?;
            header("file", io, &a.path.display().to_string());
            let report = file::run(&a, io)?;
            emit(&report, "op", a.common.json);
        }
        Command::Echo(a) => {
            let io = choose_io(a.common.io)?;
            header("echo", io, &format!("{} conns x {} bytes", a.conns, a.size));
            let report = echo::run(&a, io)?;
            emit(&report, "message", a.common.json);
        }
        Command::Compare(a) => compare::main(&a)?,
    }
    Ok(())
}

/// Prints the header line: mode, backend, kernel, CPU.
fn header(mode: &str, io: BackendKind, what: &str) {
    println!(
        "uringbench {mode} {what}: io {}, kernel {}, cpu {}",
        backend_name(io),
        kernel_release(),
        cpu_model()
    );
}

fn emit(report: &report::Report, op_name: &str, json: bool) {
    print!("{}", report.to_text(op_name));
    if json {
        println!("{}", report.to_json());
    }
}

/// The running kernel's release, or `unknown`.
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// The CPU model name and logical CPU count, or `unknown`.
pub fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let n = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model} x{n}")
}

/// Whether io_uring works here: a ring can be set up on this thread.
///
/// # Errors
///
/// Why not (kernel too old, io_uring disabled by sysctl or seccomp).
pub fn uring_available() -> anyhow::Result<()> {
    ringwasm_reactor::uring_driver()
        .map(drop)
        .map_err(|e| anyhow::anyhow!("cannot set up io_uring: {e}"))
}
