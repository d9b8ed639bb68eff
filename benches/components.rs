//! The component section (issue 14's targets): the same Preview 1 program
//! as a core module and as a component made by wasmtime 49's command
//! adapter (start-up, 4 KiB file reads), host calls through the canonical
//! ABI (1 000 000 `wasi:random/random.get-random-bytes(64)`, 100 000
//! blocking 64 KiB writes to an `output-stream` on `/dev/null`), and a
//! hello component as a whole process with a warm code cache; each under
//! ringwasm and wasmtime in one `uringbench compare` run. A runtime that
//! cannot run a guest yet shows "not yet runnable" with its error.
//!
//! Guests: `benches/guests/{noop,file_read}.c` (built by the harness)
//! adapted in-process; `tests/guests/rust-p2/src/bin/{hello,bench_random,
//! bench_write}.rs`, built by the component corpus of `ringwasm-tests`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use ringwasm_benches::{Cell, uringbench_compare};
use ringwasm_tests::components::{Guest, componentize_p1, guest};

/// The section's title, which `splice_section` looks for.
pub const TITLE: &str = "## Components";

/// What the section needs from the harness.
pub struct Tools<'a> {
    /// `uringbench`.
    pub uringbench: &'a Path,
    /// `ringwasm` (release).
    pub ringwasm: &'a Path,
    /// The wasmtime CLI.
    pub wasmtime: &'a Path,
    /// Timed runs per command.
    pub runs: usize,
    /// The harness's built guests (`target/bench-guests`).
    pub guests: &'a Path,
    /// Bench data (`target/bench-data`, holding `read-1g`).
    pub data: &'a Path,
}

/// One Preview 1 program as core module and component: cells in the
/// order ringwasm core, ringwasm component, wasmtime core, wasmtime
/// component.
pub struct AdapterRow {
    label: &'static str,
    cells: Vec<Cell>,
}

/// One component under both runtimes: cells ringwasm, wasmtime.
pub struct PeerRow {
    label: &'static str,
    target: f64,
    cells: Vec<Cell>,
}

/// The section's measurements.
pub struct Rows {
    adapter: Vec<AdapterRow>,
    peer: Vec<PeerRow>,
}

fn q(p: &Path) -> String {
    format!("'{}'", p.display())
}

/// `<guests>/<name>.component.wasm`, the adapter's component of
/// `<guests>/<name>.wasm`, remade when older than the module.
fn adapted(guests: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let core = guests.join(format!("{name}.wasm"));
    let out = guests.join(format!("{name}.component.wasm"));
    let time = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if matches!((time(&out), time(&core)), (Some(o), Some(c)) if o >= c) {
        return Ok(out);
    }
    let bytes = std::fs::read(&core).with_context(|| format!("reading {}", core.display()))?;
    std::fs::write(&out, componentize_p1(&bytes)?)
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(out)
}

fn corpus(name: &'static str) -> anyhow::Result<PathBuf> {
    guest(Guest::RustP2(name)).map_err(|e| anyhow::anyhow!("building {name}: {}", e.0))
}

/// Runs the section.
///
/// # Errors
///
/// When a guest cannot be built or `uringbench` cannot be run.
pub fn section(t: &Tools<'_>) -> anyhow::Result<Rows> {
    let (rw, wt) = (q(t.ringwasm), q(t.wasmtime));
    let data_dir = format!("--dir {}::/data", q(t.data));
    let mut adapter = Vec::new();
    let p1: [(&'static str, &str, String, String); 2] = [
        (
            "start-up: empty main (`noop.c`)",
            "noop",
            String::new(),
            String::new(),
        ),
        (
            "read 1 GiB in 4 KiB reads (`file_read.c`)",
            "file_read",
            data_dir.clone(),
            "/data/read-1g 4096".into(),
        ),
    ];
    for (label, name, flags, args) in p1 {
        println!("== components: {label}");
        let core = q(&t.guests.join(format!("{name}.wasm")));
        let comp = q(&adapted(t.guests, name)?);
        let cmd = |bin: &str, wasm: &str| format!("{bin} run {flags} {wasm} {args}");
        let cells = uringbench_compare(
            t.uringbench,
            1,
            t.runs,
            &[
                "ringwasm core",
                "ringwasm component",
                "wasmtime core",
                "wasmtime component",
            ],
            &[
                &cmd(&rw, &core),
                &cmd(&rw, &comp),
                &cmd(&wt, &core),
                &cmd(&wt, &comp),
            ],
        )?;
        adapter.push(AdapterRow { label, cells });
    }
    let mut peer = Vec::new();
    let cases: [(&'static str, f64, &'static str, String, &str); 3] = [
        (
            "1 000 000 `get-random-bytes(64)` (`bench_random.rs`)",
            0.8,
            "bench_random",
            String::new(),
            "1000000",
        ),
        (
            "100 000 blocking 64 KiB writes to `/dev/null` (`bench_write.rs`)",
            0.8,
            "bench_write",
            "--dir /dev::/dev".into(),
            "/dev/null 100000",
        ),
        (
            "hello component, whole process, warm cache (`hello.rs`)",
            0.6,
            "hello",
            String::new(),
            "",
        ),
    ];
    for (label, target, name, flags, args) in cases {
        println!("== components: {label}");
        let wasm = q(&corpus(name)?);
        let cmd = |bin: &str| format!("{bin} run {flags} {wasm} {args}");
        let cells = uringbench_compare(
            t.uringbench,
            1,
            t.runs,
            &["ringwasm", "wasmtime"],
            &[&cmd(&rw), &cmd(&wt)],
        )?;
        peer.push(PeerRow {
            label,
            target,
            cells,
        });
    }
    Ok(Rows { adapter, peer })
}

fn ms(c: Option<&Cell>) -> Option<f64> {
    c.and_then(|c| c.median_s).map(|s| s * 1e3)
}

fn show(v: Option<f64>) -> String {
    v.map_or_else(|| "not yet runnable".into(), |v| format!("{v:.1}"))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "–".into(),
    }
}

/// The section as Markdown, `command` being what produced it.
pub fn render(rows: Option<Rows>, command: &str) -> String {
    let mut d = format!("{TITLE}\n\n");
    let Some(Rows { adapter, peer }) = rows else {
        d.push_str("Not run in this invocation.\n");
        return d;
    };
    let _ = writeln!(
        d,
        "Written by `{command}`. Issue 14's targets: a Preview 1 program run as a\n\
         component through the command adapter within 1.1x of the same program as a\n\
         core module; host calls through the canonical ABI at most 0.8x wasmtime's\n\
         time; a hello component as a whole process at most 0.6x. The adapter is\n\
         wasmtime 49's (`wasi-preview1-component-adapter-provider` 49.0.4).\n"
    );
    d.push_str(
        "| Preview 1 program | ringwasm core ms | ringwasm component ms | component / core | wasmtime core ms | wasmtime component ms | component / core |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut notes = Vec::new();
    for r in &adapter {
        let c = |i| ms(r.cells.get(i));
        let _ = writeln!(
            d,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            show(c(0)),
            show(c(1)),
            ratio(c(1), c(0)),
            show(c(2)),
            show(c(3)),
            ratio(c(3), c(2))
        );
        let names = [
            "ringwasm core",
            "ringwasm component",
            "wasmtime core",
            "wasmtime component",
        ];
        for (name, cell) in names.iter().zip(&r.cells) {
            if let Some(e) = &cell.error {
                notes.push(format!("- {} / {name}: `{}`", r.label, e.replace('`', "'")));
            }
        }
    }
    d.push_str(
        "\n| component | ringwasm ms | wasmtime ms | ringwasm / wasmtime | target |\n\
         |---|---:|---:|---:|---:|\n",
    );
    for r in &peer {
        let c = |i| ms(r.cells.get(i));
        let _ = writeln!(
            d,
            "| {} | {} | {} | {} | ≤ {:.1} |",
            r.label,
            show(c(0)),
            show(c(1)),
            ratio(c(0), c(1)),
            r.target
        );
        for (name, cell) in ["ringwasm", "wasmtime"].iter().zip(&r.cells) {
            if let Some(e) = &cell.error {
                notes.push(format!("- {} / {name}: `{}`", r.label, e.replace('`', "'")));
            }
        }
    }
    if !notes.is_empty() {
        d.push_str("\nWhy cells are not yet runnable:\n\n");
        for n in notes {
            d.push_str(&n);
            d.push('\n');
        }
    }
    d
}
