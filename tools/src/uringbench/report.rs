//! What every mode reports: an HDR latency histogram, operation and byte
//! counts, errors by kind, and the `--json` line scripts read.
//!
//! The JSON shape is an interface: the last line of stdout is one object
//! `{"mode", "io", "ops_per_sec", "bytes_per_sec", "errors", "latency_us":
//! {"p50", "p90", "p99", "p999", "max"}}`. Extra keys may be added after
//! those; none of those may change.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Highest latency the histogram tracks exactly (larger values saturate):
/// one hour, in nanoseconds.
const MAX_TRACKABLE_NS: u64 = 3_600_000_000_000;

/// A latency histogram recording nanoseconds with 3 significant digits.
#[derive(Clone, Debug)]
pub struct Latencies {
    hist: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    /// An empty histogram.
    pub fn new() -> Self {
        let hist = Histogram::new_with_bounds(1, MAX_TRACKABLE_NS, 3)
            .expect("constant bounds 1..1h with 3 digits are valid");
        Self { hist }
    }

    /// Records one latency; values beyond one hour saturate.
    pub fn record(&mut self, latency: Duration) {
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.hist.saturating_record(ns);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Latencies) {
        self.hist
            .add(&other.hist)
            .expect("histograms with identical bounds always add");
    }

    /// Number of samples.
    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    /// Whether no sample was recorded.
    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// The latency at `quantile` (0.0..=1.0) in microseconds; 0 when empty.
    pub fn quantile_us(&self, quantile: f64) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        self.hist.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// The largest latency in microseconds; 0 when empty.
    pub fn max_us(&self) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        self.hist.max() as f64 / 1000.0
    }

    /// The mean latency in microseconds; 0 when empty.
    pub fn mean_us(&self) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        self.hist.mean() / 1000.0
    }

    /// The five reported percentiles.
    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            p50: self.quantile_us(0.50),
            p90: self.quantile_us(0.90),
            p99: self.quantile_us(0.99),
            p999: self.quantile_us(0.999),
            max: self.max_us(),
        }
    }
}

/// The reported percentiles, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencySummary {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest sample.
    pub max: f64,
}

/// Error counts by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Errors {
    /// Connecting (or the TLS handshake) failed.
    pub connect: u64,
    /// Reading failed, the peer closed mid-response, or the response was
    /// malformed.
    pub read: u64,
    /// Writing the request failed.
    pub write: u64,
    /// No complete response within the timeout.
    pub timeout: u64,
    /// A response arrived with status 400 or above.
    pub status: u64,
}

impl Errors {
    /// Sum over all kinds.
    pub fn total(&self) -> u64 {
        self.connect + self.read + self.write + self.timeout + self.status
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Errors) {
        self.connect += other.connect;
        self.read += other.read;
        self.write += other.write;
        self.timeout += other.timeout;
        self.status += other.status;
    }
}

/// The outcome of one run of any mode.
#[derive(Clone, Debug)]
pub struct Report {
    /// `http`, `file` or `echo`.
    pub mode: &'static str,
    /// `uring` or `epoll`.
    pub io: &'static str,
    /// Completed operations in the measured window.
    pub ops: u64,
    /// Payload bytes moved in the measured window.
    pub bytes: u64,
    /// Length of the measured window.
    pub elapsed: Duration,
    /// Errors by kind.
    pub errors: Errors,
    /// Latency of every completed operation.
    pub latencies: Latencies,
}

impl Report {
    /// Operations per second over the measured window.
    pub fn ops_per_sec(&self) -> f64 {
        per_sec(self.ops, self.elapsed)
    }

    /// Bytes per second over the measured window.
    pub fn bytes_per_sec(&self) -> f64 {
        per_sec(self.bytes, self.elapsed)
    }

    /// The one-line JSON object of the `--json` interface.
    pub fn to_json(&self) -> serde_json::Value {
        let s = self.latencies.summary();
        serde_json::json!({
            "mode": self.mode,
            "io": self.io,
            "ops_per_sec": self.ops_per_sec(),
            "bytes_per_sec": self.bytes_per_sec(),
            "errors": self.errors.total(),
            "latency_us": {
                "p50": s.p50, "p90": s.p90, "p99": s.p99, "p999": s.p999, "max": s.max,
            },
            "ops": self.ops,
            "duration_s": self.elapsed.as_secs_f64(),
            "error_kinds": {
                "connect": self.errors.connect,
                "read": self.errors.read,
                "write": self.errors.write,
                "timeout": self.errors.timeout,
                "status": self.errors.status,
            },
        })
    }

    /// The human-readable summary.
    pub fn to_text(&self, op_name: &str) -> String {
        let s = self.latencies.summary();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "  {} {op_name}s in {:.2}s, {} read/written",
            self.ops,
            self.elapsed.as_secs_f64(),
            super::units::format_bytes(self.bytes as f64)
        );
        if self.latencies.is_empty() {
            // No op finished, or a `--bare` floor, which times none.
            let _ = writeln!(out, "  Latency (us)   none recorded");
        } else {
            self.latency_lines(&mut out, &s);
        }
        self.error_lines(&mut out, op_name);
        out
    }

    fn latency_lines(&self, out: &mut String, s: &LatencySummary) {
        let _ = writeln!(out, "  Latency (us)   p50 {:>10.1}", s.p50);
        let _ = writeln!(out, "                 p90 {:>10.1}", s.p90);
        let _ = writeln!(out, "                 p99 {:>10.1}", s.p99);
        let _ = writeln!(out, "               p99.9 {:>10.1}", s.p999);
        let _ = writeln!(out, "                 max {:>10.1}", s.max);
        let _ = writeln!(
            out,
            "                mean {:>10.1}",
            self.latencies.mean_us()
        );
    }

    fn error_lines(&self, out: &mut String, op_name: &str) {
        let e = &self.errors;
        let _ = writeln!(
            out,
            "  Errors: {} (connect {}, read {}, write {}, timeout {}, status {})",
            e.total(),
            e.connect,
            e.read,
            e.write,
            e.timeout,
            e.status
        );
        let _ = writeln!(out, "{op_name}s/sec: {:.2}", self.ops_per_sec());
        let _ = writeln!(
            out,
            "Transfer/sec: {}",
            super::units::format_bytes(self.bytes_per_sec())
        );
    }
}

fn per_sec(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(actual: f64, expected: f64, rel: f64) -> bool {
        (actual - expected).abs() <= expected * rel
    }

    #[test]
    fn percentiles_of_uniform_1_to_10000_us() {
        let mut l = Latencies::new();
        for us in 1..=10_000u64 {
            l.record(Duration::from_micros(us));
        }
        let s = l.summary();
        assert!(within(s.p50, 5000.0, 0.002), "p50 {}", s.p50);
        assert!(within(s.p90, 9000.0, 0.002), "p90 {}", s.p90);
        assert!(within(s.p99, 9900.0, 0.002), "p99 {}", s.p99);
        assert!(within(s.p999, 9990.0, 0.002), "p999 {}", s.p999);
        assert!(within(s.max, 10_000.0, 0.002), "max {}", s.max);
        assert_eq!(l.len(), 10_000);
    }

    #[test]
    fn one_outlier_shows_only_at_the_top() {
        let mut l = Latencies::new();
        for _ in 0..999 {
            l.record(Duration::from_micros(100));
        }
        l.record(Duration::from_secs(2));
        let s = l.summary();
        assert!(within(s.p50, 100.0, 0.001));
        assert!(within(s.p99, 100.0, 0.001));
        assert!(within(s.max, 2_000_000.0, 0.001), "max {}", s.max);
    }

    #[test]
    fn merge_adds_samples() {
        let mut a = Latencies::new();
        let mut b = Latencies::new();
        a.record(Duration::from_micros(10));
        b.record(Duration::from_micros(30));
        b.record(Duration::from_micros(30));
        a.merge(&b);
        assert_eq!(a.len(), 3);
        assert!(within(a.quantile_us(0.5), 30.0, 0.001));
    }

    #[test]
    fn json_has_the_interface_keys() {
        let mut lat = Latencies::new();
        lat.record(Duration::from_micros(250));
        let r = Report {
            mode: "http",
            io: "epoll",
            ops: 100,
            bytes: 2000,
            elapsed: Duration::from_secs(2),
            errors: Errors {
                status: 3,
                timeout: 1,
                ..Errors::default()
            },
            latencies: lat,
        };
        let j = r.to_json();
        assert_eq!(j["mode"], "http");
        assert_eq!(j["io"], "epoll");
        assert_eq!(j["ops_per_sec"].as_f64(), Some(50.0));
        assert_eq!(j["bytes_per_sec"].as_f64(), Some(1000.0));
        assert_eq!(j["errors"].as_u64(), Some(4));
        for k in ["p50", "p90", "p99", "p999", "max"] {
            let v = j["latency_us"][k].as_f64().expect("percentile is a number");
            assert!(within(v, 250.0, 0.001), "{k} = {v}");
        }
        assert!(!j.to_string().contains('\n'));
    }

    #[test]
    fn empty_histogram_reports_zeros() {
        let l = Latencies::new();
        assert_eq!(l.summary().p99, 0.0);
        assert!(l.is_empty());
    }
}
