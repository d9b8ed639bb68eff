//! The server core's ceiling: `ringwasm_wasi::http` with a native Rust
//! handler answering `200 hello` (what nginx's `return 200 "hello"` does),
//! for `benches/http-serve` to put side by side with nginx under `wrk`.
//! Drains on SIGTERM/SIGINT and exits 0.
//!
//! `cargo run --release -p ringwasm-wasi --example http_hello -- \
//!    [--addr 127.0.0.1:18081] [--threads N] [--io uring|epoll|auto] \
//!    [--tls-cert C --tls-key K] [--max-connections N]`
#![forbid(unsafe_code)]

use std::process::ExitCode;

use ringwasm_wasi::IoChoice;
use ringwasm_wasi::http::h1::Header;
use ringwasm_wasi::http::{Full, Handler, HandlerError, Request, Response, Server, ServerConfig};

/// `200 hello`, as nginx's `return 200 "hello"`.
struct Hello;

impl Handler for Hello {
    type Body = Full<&'static [u8]>;

    async fn handle(&self, _req: Request) -> Result<Response<Self::Body>, HandlerError> {
        Ok(Response {
            status: 200,
            headers: vec![Header::new("content-type", "text/plain")],
            body: Full::new(b"hello"),
        })
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut config = ServerConfig::new("127.0.0.1:18081".parse().map_err(|e| format!("{e}"))?);
    let mut cert = None;
    let mut key = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => config.addr = value()?.parse().map_err(|e| format!("--addr: {e}"))?,
            "--threads" => {
                config.threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?
            }
            "--io" => config.io = value()?.parse::<IoChoice>().map_err(|e| e.to_string())?,
            "--tls-cert" => cert = Some(value()?),
            "--tls-key" => key = Some(value()?),
            "--max-connections" => {
                config.limits.max_connections = value()?
                    .parse()
                    .map_err(|e| format!("--max-connections: {e}"))?;
            }
            "--idle-timeout" => {
                let secs: u64 = value()?
                    .parse()
                    .map_err(|e| format!("--idle-timeout: {e}"))?;
                config.limits.idle_timeout = std::time::Duration::from_secs(secs);
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let scheme = match (cert, key) {
        (Some(c), Some(k)) => {
            config.tls = Some(
                ringwasm_wasi::http::tls::server_config(c.as_ref(), k.as_ref())
                    .map_err(|e| e.to_string())?,
            );
            "https"
        }
        (None, None) => "http",
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    let server = Server::bind(config).map_err(|e| e.to_string())?;
    eprintln!("Serving HTTP on {scheme}://{}/", server.local_addr());
    let shutdown = server.shutdown_handle();
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])
    .map_err(|e| format!("installing signal handlers: {e}"))?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            shutdown.shutdown();
        }
    });
    server.run(|_, _| Hello).map_err(|e| e.to_string())
}
