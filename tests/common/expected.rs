//! `tests/spec-expected-failures.txt`: the spec assertions ringwasm is known
//! to fail, each with a reason. The list only shrinks: a listed assertion
//! that passes fails the suite until its line is removed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// What is expected to fail in one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileExpectations {
    /// The whole file is known to fail (`*` entry), with this reason.
    pub whole_file: Option<String>,
    /// Individual assertions by `line:column`, with reasons.
    pub assertions: BTreeMap<String, String>,
}

/// The parsed list, keyed by file (e.g. `wasm-v2/i32.wast`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpectedFailures {
    files: BTreeMap<String, FileExpectations>,
}

/// A line of the list that does not follow the format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListError {
    /// 1-based line number in the list.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "spec-expected-failures.txt:{}: {}",
            self.line, self.reason
        )
    }
}

impl std::error::Error for ListError {}

impl ExpectedFailures {
    /// Parses the list: `FILE LOCATION REASON...` per line, `#` comments and
    /// blank lines ignored; LOCATION is `line:column` or `*`.
    ///
    /// # Errors
    ///
    /// A [`ListError`] for a malformed line, a missing reason or a duplicate.
    pub fn parse(text: &str) -> Result<Self, ListError> {
        let mut files: BTreeMap<String, FileExpectations> = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |reason: &str| ListError {
                line: i + 1,
                reason: reason.to_owned(),
            };
            let mut parts = line.splitn(3, char::is_whitespace);
            let file = parts.next().unwrap_or_default();
            let location = parts.next().ok_or_else(|| err("missing location"))?;
            let reason = parts.next().map(str::trim).unwrap_or_default();
            if reason.is_empty() {
                return Err(err("missing reason"));
            }
            let entry = files.entry(file.to_owned()).or_default();
            if location == "*" {
                if entry.whole_file.replace(reason.to_owned()).is_some() {
                    return Err(err("duplicate `*` entry"));
                }
                continue;
            }
            let valid = location
                .split_once(':')
                .is_some_and(|(l, c)| l.parse::<usize>().is_ok() && c.parse::<usize>().is_ok());
            if !valid {
                return Err(err("location must be `line:column` or `*`"));
            }
            if entry
                .assertions
                .insert(location.to_owned(), reason.to_owned())
                .is_some()
            {
                return Err(err("duplicate entry"));
            }
        }
        Ok(Self { files })
    }

    /// The expectations for `file` (empty when it is not listed).
    pub fn for_file(&self, file: &str) -> FileExpectations {
        self.files.get(file).cloned().unwrap_or_default()
    }

    /// Every listed file.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }
}

/// How a file's actual failures compare with its expectations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Failures not on the list: regressions (or new tests).
    pub unexpected: Vec<String>,
    /// Listed assertions that now pass: remove them from the list.
    pub now_passing: Vec<String>,
}

impl Comparison {
    /// Whether the file matches its list exactly.
    pub fn is_clean(&self) -> bool {
        self.unexpected.is_empty() && self.now_passing.is_empty()
    }
}

impl FileExpectations {
    /// Compares actual failures, given as `(location, description)`.
    pub fn compare(&self, failures: &[(String, String)]) -> Comparison {
        let mut comparison = Comparison::default();
        if self.whole_file.is_some() {
            if failures.is_empty() {
                comparison
                    .now_passing
                    .push("* (the whole file passes)".to_owned());
            }
            return comparison;
        }
        let failed: BTreeSet<&str> = failures.iter().map(|(l, _)| l.as_str()).collect();
        for (location, description) in failures {
            if !self.assertions.contains_key(location) {
                comparison.unexpected.push(description.clone());
            }
        }
        for (location, reason) in &self.assertions {
            if !failed.contains(location.as_str()) {
                comparison
                    .now_passing
                    .push(format!("{location} ({reason})"));
            }
        }
        comparison
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "# header\n\nwasm-v2/a.wast 3:2 reason one\nwasm-v2/a.wast 9:2  two words\nwasm-v2/simd.wast * SIMD\n";

    #[test]
    fn parses_locations_and_whole_files() {
        let list = ExpectedFailures::parse(LIST).expect("valid list");
        let a = list.for_file("wasm-v2/a.wast");
        assert_eq!(a.assertions.len(), 2);
        assert_eq!(a.assertions["9:2"], "two words");
        assert_eq!(
            list.for_file("wasm-v2/simd.wast").whole_file.as_deref(),
            Some("SIMD")
        );
        assert_eq!(list.for_file("other.wast"), FileExpectations::default());
    }

    #[test]
    fn rejects_lines_without_reason_or_with_bad_location() {
        let e = ExpectedFailures::parse("f.wast 3:2\n").expect_err("no reason");
        assert_eq!(e.line, 1);
        assert!(ExpectedFailures::parse("f.wast line3 why\n").is_err());
        assert!(ExpectedFailures::parse("f.wast 3:2 a\nf.wast 3:2 b\n").is_err());
    }

    #[test]
    fn unlisted_failure_and_listed_pass_are_both_reported() {
        let list = ExpectedFailures::parse(LIST).expect("valid list");
        let a = list.for_file("wasm-v2/a.wast");
        let failures = vec![
            ("3:2".to_owned(), "3:2 listed".to_owned()),
            ("5:2".to_owned(), "5:2 new".to_owned()),
        ];
        let c = a.compare(&failures);
        assert_eq!(c.unexpected, ["5:2 new"]);
        assert_eq!(c.now_passing, ["9:2 (two words)"]);
        assert!(!c.is_clean());
    }

    #[test]
    fn whole_file_entry_must_still_fail() {
        let list = ExpectedFailures::parse(LIST).expect("valid list");
        let simd = list.for_file("wasm-v2/simd.wast");
        assert!(simd.compare(&[("1:2".into(), "x".into())]).is_clean());
        assert!(!simd.compare(&[]).is_clean());
    }
}
