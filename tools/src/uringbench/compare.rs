//! `uringbench compare`: runs several commands alternately (A B C A B C
//! ...) so that drift in the machine's state hits all of them alike, and
//! prints each one's median wall time and its ratio to the first.
//!
//! A command that cannot run (missing binary, non-zero exit) is reported as
//! "not yet runnable" with its error, never given a number.

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::bail;

/// `uringbench compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Timed runs of each command.
    #[arg(short = 'r', long, default_value_t = 5)]
    pub runs: usize,
    /// Untimed runs of each command first.
    #[arg(short = 'w', long, default_value_t = 1)]
    pub warmup: usize,
    /// Label for each command, in order (default: the command itself).
    #[arg(long = "name")]
    pub names: Vec<String>,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    pub json: bool,
    /// Commands, each one argument (split on whitespace; quote with `'` or
    /// `"` to keep spaces).
    #[arg(required = true)]
    pub commands: Vec<String>,
}

/// The outcome for one command.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Label.
    pub name: String,
    /// The command line.
    pub command: String,
    /// Wall times of the timed runs; empty when it could not run.
    pub times: Vec<Duration>,
    /// Why it could not run.
    pub error: Option<String>,
}

impl Row {
    /// The median wall time, `None` when the command could not run.
    pub fn median(&self) -> Option<Duration> {
        median(&self.times)
    }
}

/// The median of `times` (mean of the middle two for an even count).
pub fn median(times: &[Duration]) -> Option<Duration> {
    let mut t = times.to_vec();
    t.sort();
    match t.len() {
        0 => None,
        n if !n.is_multiple_of(2) => Some(t[n / 2]),
        n => Some((t[n / 2 - 1] + t[n / 2]) / 2),
    }
}

/// Splits a command line on whitespace, honouring `'…'` and `"…"`.
///
/// # Errors
///
/// When a quote is not closed or the line is empty.
pub fn split_command(line: &str) -> anyhow::Result<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote = None;
    for ch in line.chars() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(ch);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        bail!("unclosed quote in command `{line}`");
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        bail!("empty command");
    }
    Ok(words)
}

/// Runs one command to completion, output discarded. Returns its wall
/// time, or why it failed (exit status and the end of its stderr).
fn time_once(argv: &[String]) -> Result<Duration, String> {
    let start = Instant::now();
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot start `{}`: {e}", argv[0]))?;
    let elapsed = start.elapsed();
    if out.status.success() {
        Ok(elapsed)
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: String = err
            .trim()
            .lines()
            .last()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect();
        Err(format!("{}: {tail}", out.status))
    }
}

/// Runs every command `warmup + runs` times, alternating between them.
///
/// # Errors
///
/// When a command line cannot be split.
pub fn compare(
    commands: &[String],
    names: &[String],
    warmup: usize,
    runs: usize,
) -> anyhow::Result<Vec<Row>> {
    let argvs = commands
        .iter()
        .map(|c| split_command(c))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut rows: Vec<Row> = commands
        .iter()
        .enumerate()
        .map(|(i, c)| Row {
            name: names.get(i).cloned().unwrap_or_else(|| c.clone()),
            command: c.clone(),
            times: Vec::new(),
            error: None,
        })
        .collect();
    for round in 0..warmup + runs {
        for (row, argv) in rows.iter_mut().zip(&argvs) {
            if row.error.is_some() {
                continue;
            }
            match time_once(argv) {
                Ok(t) if round >= warmup => row.times.push(t),
                Ok(_) => {}
                Err(e) => {
                    row.error = Some(e);
                    row.times.clear();
                }
            }
        }
    }
    Ok(rows)
}

/// The table: name, median, min, max, ratio to the first runnable row.
pub fn render(rows: &[Row]) -> String {
    let base = rows.iter().find_map(Row::median);
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:>12}  {:>12}  {:>12}  {:>8}",
        "name", "median ms", "min ms", "max ms", "ratio"
    );
    for r in rows {
        match (r.median(), &r.error) {
            (Some(m), None) => {
                let min = r.times.iter().min().copied().unwrap_or_default();
                let max = r.times.iter().max().copied().unwrap_or_default();
                let ratio = base.map_or(1.0, |b| ratio(m, b));
                let _ = writeln!(
                    out,
                    "{:<width$}  {:>12.3}  {:>12.3}  {:>12.3}  {:>7.2}x",
                    r.name,
                    ms(m),
                    ms(min),
                    ms(max),
                    ratio
                );
            }
            (_, err) => {
                let _ = writeln!(
                    out,
                    "{:<width$}  not yet runnable: {}",
                    r.name,
                    err.as_deref().unwrap_or("no successful run")
                );
            }
        }
    }
    out
}

/// The `--json` object.
pub fn to_json(rows: &[Row]) -> serde_json::Value {
    let base = rows.iter().find_map(Row::median);
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            let m = r.median();
            serde_json::json!({
                "name": r.name,
                "command": r.command,
                "median_s": m.map(|m| m.as_secs_f64()),
                "runs_s": r.times.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
                "ratio": m.zip(base).map(|(m, b)| ratio(m, b)),
                "error": r.error,
            })
        })
        .collect();
    serde_json::json!({ "mode": "compare", "commands": rows })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ratio(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        return 0.0;
    }
    a.as_secs_f64() / b.as_secs_f64()
}

/// `uringbench compare`'s entry point.
///
/// # Errors
///
/// When an argument is invalid.
pub fn main(args: &CompareArgs) -> anyhow::Result<()> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let rows = compare(&args.commands, &args.names, args.warmup, args.runs)?;
    print!("{}", render(&rows));
    if args.json {
        println!("{}", to_json(&rows));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_words() {
        assert_eq!(
            split_command(r#"a 'b c' "d e"f  g"#).expect("valid"),
            ["a", "b c", "d ef", "g"]
        );
        assert!(split_command("a 'b").is_err());
        assert!(split_command("   ").is_err());
    }

    #[test]
    fn medians() {
        let d = Duration::from_millis;
        assert_eq!(median(&[d(3), d(1), d(2)]), Some(d(2)));
        assert_eq!(
            median(&[d(4), d(1), d(2), d(3)]),
            Some(Duration::from_micros(2500))
        );
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn ratios_are_against_the_first_runnable_row() {
        let d = Duration::from_millis;
        let rows = vec![
            Row {
                name: "broken".into(),
                command: "x".into(),
                times: vec![],
                error: Some("exit status: 1: no".into()),
            },
            Row {
                name: "a".into(),
                command: "a".into(),
                times: vec![d(10), d(10), d(10)],
                error: None,
            },
            Row {
                name: "b".into(),
                command: "b".into(),
                times: vec![d(20), d(30), d(25)],
                error: None,
            },
        ];
        let j = to_json(&rows);
        assert_eq!(j["commands"][0]["ratio"], serde_json::Value::Null);
        assert_eq!(j["commands"][1]["ratio"].as_f64(), Some(1.0));
        assert_eq!(j["commands"][2]["ratio"].as_f64(), Some(2.5));
        let text = render(&rows);
        assert!(text.contains("not yet runnable: exit status: 1: no"));
        assert!(text.contains("2.50x"));
    }
}
