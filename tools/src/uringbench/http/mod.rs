//! `uringbench http`: HTTP/1.1 keep-alive load over many connections on a
//! few threads, each thread one event loop, latencies in an HDR histogram.
//!
//! The protocol half (URL, request bytes, response parsing, pacing,
//! tallying) knows nothing about the backend; `epoll` and `uring` are two
//! drivers of the same state machine.

pub mod epoll;
pub mod load;
pub mod parse;
pub mod request;
pub mod tls;
pub mod uring;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use self::load::{LoadConfig, Shared, Tally, Window};
use super::IoChoice;
use super::report::{Errors, Latencies, Report};

/// The `http` subcommand's options, already parsed.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Target URL.
    pub url: String,
    /// Threads.
    pub threads: usize,
    /// Connections over all threads.
    pub conns: usize,
    /// Measured duration.
    pub duration: Option<Duration>,
    /// Measured requests.
    pub requests: Option<u64>,
    /// Open-loop request rate.
    pub rate: Option<f64>,
    /// Extra request headers, `Name: value`.
    pub headers: Vec<String>,
    /// Request method.
    pub method: String,
    /// Request body.
    pub body: Vec<u8>,
    /// Warm-up before measuring.
    pub warmup: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Accept any TLS certificate.
    pub insecure: bool,
    /// Print the progress line on stderr.
    pub progress: bool,
}

/// Runs the load and returns its report.
///
/// # Errors
///
/// When the URL, headers or TLS set-up are invalid, the chosen backend is
/// unavailable, or a worker thread fails to start its event loop.
pub fn run(opts: &HttpOptions, io: IoChoice) -> anyhow::Result<Report> {
    if opts.threads == 0 || opts.conns == 0 {
        bail!("need at least one thread and one connection");
    }
    if opts.conns < opts.threads {
        bail!(
            "-c {} is fewer connections than -t {} threads",
            opts.conns,
            opts.threads
        );
    }
    if let Some(r) = opts.rate
        && !(r.is_finite() && r >= 1e-6)
    {
        bail!("-R {r}: the rate must be a positive number of requests per second");
    }
    let target = request::Target::parse(&opts.url)?;
    let addr = target.resolve()?;
    let request = request::build_request(&target, &opts.method, &opts.headers, &opts.body)?;
    let tls = if target.tls {
        let config = tls::client_config(opts.insecure).context("configuring TLS")?;
        Some((config, target.host.clone()))
    } else {
        None
    };
    let cfg = LoadConfig {
        addr,
        tls,
        request: Arc::from(request),
        head_method: opts.method.eq_ignore_ascii_case("HEAD"),
        threads: opts.threads,
        conns: opts.conns,
        duration: opts.duration,
        requests: opts.requests,
        rate: opts.rate,
        warmup: opts.warmup,
        timeout: opts.timeout,
    };
    let shared = Arc::new(Shared::default());
    let start = Instant::now();
    let window = Window::new(&cfg, start);
    let tallies = std::thread::scope(|scope| -> anyhow::Result<Vec<Tally>> {
        let mut handles = Vec::new();
        let mut first = 0;
        for t in 0..cfg.threads {
            let n = cfg.conns / cfg.threads + usize::from(t < cfg.conns % cfg.threads);
            let (cfg, shared) = (&cfg, &shared);
            let handle = std::thread::Builder::new()
                .name(format!("uringbench-{t}"))
                .spawn_scoped(scope, move || match io {
                    IoChoice::Uring => uring::run_thread(cfg, shared, window, first, n),
                    IoChoice::Epoll => epoll::run_thread(cfg, shared, window, first, n),
                })
                .context("spawning a worker thread")?;
            handles.push(handle);
            first += n;
        }
        if opts.progress {
            progress(&handles, &shared, &window);
        }
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(r) => r.context("worker event loop failed"),
                Err(_) => bail!("a worker thread panicked"),
            })
            .collect()
    })?;
    let mut latencies = Latencies::new();
    let mut errors = Errors::default();
    let (mut ops, mut bytes, mut last) = (0, 0, None::<Instant>);
    for t in &tallies {
        latencies.merge(&t.latencies);
        errors.merge(&t.errors);
        ops += t.ops;
        bytes += t.bytes;
        last = last.max(t.last);
    }
    let elapsed = match (cfg.requests, window.end) {
        (None, Some(end)) => end - window.measure,
        _ => last.map_or(Duration::ZERO, |l| {
            l.saturating_duration_since(window.measure)
        }),
    };
    Ok(Report {
        mode: "http",
        io: io.name(),
        ops,
        bytes,
        elapsed,
        errors,
        latencies,
    })
}

/// Prints one progress line a second on stderr until every worker ends.
fn progress<T>(handles: &[std::thread::ScopedJoinHandle<'_, T>], shared: &Shared, w: &Window) {
    use std::io::{IsTerminal as _, Write as _};
    let tty = std::io::stderr().is_terminal();
    let mut last = 0;
    let mut tick = Instant::now();
    while !handles.iter().all(|h| h.is_finished()) {
        // Wake often enough to notice the end quickly, print once a second.
        std::thread::park_timeout(Duration::from_millis(50));
        if tick.elapsed() < Duration::from_secs(1) {
            continue;
        }
        tick = Instant::now();
        let done = shared.completed.load(Ordering::Relaxed);
        let phase = if tick < w.measure {
            "warm-up"
        } else {
            "running"
        };
        let line = format!(
            "{phase} {:>5.1}s  {:>10} req/s  {:>12} total",
            tick.duration_since(w.start).as_secs_f64(),
            done - last,
            done
        );
        last = done;
        let mut err = std::io::stderr().lock();
        let _ = if tty {
            write!(err, "\r{line}")
        } else {
            writeln!(err, "{line}")
        };
    }
    if tty {
        let _ = writeln!(std::io::stderr());
    }
}
