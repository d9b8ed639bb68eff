//! `ringwasm wast FILE...`: spec-script conformance.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{self, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::wast::{FeatureSet, Report, run_script_on_jit};

/// Arguments of `ringwasm wast`.
#[derive(Debug, Args)]
pub struct WastArgs {
    /// Feature set to validate and run under.
    #[arg(long, value_enum, default_value = "all")]
    pub features: FeatureSet,

    /// Print one line per failed assertion, and differing error messages.
    #[arg(short, long)]
    pub verbose: bool,

    /// Seconds a file may run before its child runner is killed and the
    /// file counted as one failure.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub file_timeout: u64,

    /// Run the files in this process instead of one child process each
    /// (faster; a crash then ends the whole run).
    #[arg(long, hide = true)]
    pub in_process: bool,

    /// The `.wast` scripts to run.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Runs every file and prints per-file and total counts.
pub(super) fn wast(args: &WastArgs) -> Result<ExitCode> {
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in &args.files {
        let (p, f) = if args.in_process {
            run_here(file, args)?
        } else {
            run_in_child(file, args)?
        };
        passed += p;
        failed += f;
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs `file` here and prints its lines; returns (passed, failed).
fn run_here(file: &Path, args: &WastArgs) -> Result<(usize, usize)> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let features = args.features;
    // Parsing deeply nested scripts recurses: give it room.
    let report = std::thread::Builder::new()
        .name("wast".into())
        .stack_size(256 << 20)
        .spawn(move || run_script_on_jit(features, &text))
        .context("cannot start the script thread")?
        .join()
        .map_err(|_| anyhow::anyhow!("{}: the runner panicked", file.display()))?;
    print_report(file, &report, args.verbose);
    Ok((report.passed, report.failures.len()))
}

fn print_report(file: &Path, report: &Report, verbose: bool) {
    let name = file.display();
    if verbose {
        for failure in &report.failures {
            println!("{name}:{failure}");
        }
        for note in &report.notes {
            println!("{name}:{note} (note)");
        }
    }
    println!(
        "{name}: {} passed, {} failed",
        report.passed,
        report.failures.len()
    );
}

/// Runs `file` in a child `ringwasm wast --in-process` so that a crash is
/// contained; forwards its output and reads its counts.
fn run_in_child(file: &Path, args: &WastArgs) -> Result<(usize, usize)> {
    let exe = std::env::current_exe().context("cannot locate the ringwasm executable")?;
    let mut cmd = process::Command::new(exe);
    cmd.arg("wast").arg("--in-process").arg("--features");
    cmd.arg(match args.features {
        FeatureSet::Wasm1 => "wasm1",
        FeatureSet::Wasm2 => "wasm2",
        FeatureSet::Wasm3 => "wasm3",
        FeatureSet::All => "all",
        FeatureSet::Memory64 => "memory64",
    });
    if args.verbose {
        cmd.arg("-v");
    }
    cmd.arg("--").arg(file);
    let mut child = cmd
        .stdout(process::Stdio::piped())
        .stderr(process::Stdio::inherit())
        .spawn()
        .with_context(|| format!("{}: cannot start the child runner", file.display()))?;
    // Read the child's output on a thread so a full pipe never blocks it.
    let mut pipe = child
        .stdout
        .take()
        .context("the child runner has no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        // A read error just truncates the output; the counts check catches it.
        let _ = pipe.read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + Duration::from_secs(args.file_timeout);
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .context("cannot wait for the child runner")?
        {
            break Some(status);
        }
        if Instant::now() >= deadline {
            // Killing may race with a natural exit; either way it is over.
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = reader.join().unwrap_or_default();
    let stdout = String::from_utf8_lossy(&stdout);
    let Some(status) = status else {
        for line in stdout.lines() {
            println!("{line}");
        }
        println!(
            "{}: timed out after {} s (an engine hang; see --file-timeout)",
            file.display(),
            args.file_timeout
        );
        println!("{}: 0 passed, 1 failed", file.display());
        return Ok((0, 1));
    };
    let prefix = format!("{}: ", file.display());
    let mut counts = None;
    for line in stdout.lines() {
        if let Some(parsed) = line.strip_prefix(&prefix).and_then(parse_counts) {
            counts = Some(parsed);
        }
        // The child's total line repeats the file's counts; don't echo it.
        if parse_counts(line).is_none() {
            println!("{line}");
        }
    }
    match counts {
        Some(counts) => Ok(counts),
        None if status.success() => {
            bail!("{}: the child runner printed no counts", file.display())
        }
        None => {
            // No counts: one failure for the whole file. A signal means the
            // engine crashed; anything else was reported on stderr already.
            match status.signal() {
                Some(signal) => println!("{}: crashed (signal {signal})", file.display()),
                None => println!("{}: not run ({})", file.display(), status),
            }
            println!("{}: 0 passed, 1 failed", file.display());
            Ok((0, 1))
        }
    }
}

/// Parses `N passed, M failed`.
fn parse_counts(s: &str) -> Option<(usize, usize)> {
    let (p, f) = s.split_once(" passed, ")?;
    let f = f.strip_suffix(" failed")?;
    Some((p.parse().ok()?, f.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::parse_counts;

    #[test]
    fn counts_round_trip_through_the_summary_line() {
        assert_eq!(parse_counts("12 passed, 3 failed"), Some((12, 3)));
        assert_eq!(parse_counts("x passed, 3 failed"), None);
        assert_eq!(parse_counts("12 passed, 3 failed (note)"), None);
    }
}
