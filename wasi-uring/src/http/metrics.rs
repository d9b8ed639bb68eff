//! Prometheus text metrics. Each server thread owns one [`ThreadMetrics`]
//! block that only it writes (relaxed atomic adds on its own cache lines,
//! no lock on the request path); a scrape sums the blocks.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// Upper bounds of the latency histogram, in microseconds.
pub const LATENCY_BUCKETS_US: [u64; 14] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 10_000_000,
];

/// Timeout kinds counted separately.
const TIMEOUT_KINDS: [&str; 5] = ["header", "idle", "body", "send", "tls"];

/// One thread's counters.
#[derive(Debug)]
pub struct ThreadMetrics {
    /// Responses by status, index `status - 100`.
    status: Box<[AtomicU64]>,
    latency: [AtomicU64; LATENCY_BUCKETS_US.len() + 1],
    latency_sum_us: AtomicU64,
    accepted: AtomicU64,
    closed: AtomicU64,
    shed: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    timeouts: [AtomicU64; TIMEOUT_KINDS.len()],
    tls_handshakes: AtomicU64,
    tls_failures: AtomicU64,
}

impl Default for ThreadMetrics {
    fn default() -> Self {
        Self {
            status: (100..600).map(|_| AtomicU64::new(0)).collect(),
            latency: Default::default(),
            latency_sum_us: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            closed: AtomicU64::new(0),
            shed: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            timeouts: Default::default(),
            tls_handshakes: AtomicU64::new(0),
            tls_failures: AtomicU64::new(0),
        }
    }
}

impl ThreadMetrics {
    /// A response with `status`, `micros` after its head was read.
    pub fn request(&self, status: u16, micros: u64) {
        if let Some(c) = self.status.get(usize::from(status).wrapping_sub(100)) {
            c.fetch_add(1, Relaxed);
        }
        let b = LATENCY_BUCKETS_US
            .iter()
            .position(|&le| micros <= le)
            .unwrap_or(LATENCY_BUCKETS_US.len());
        self.latency[b].fetch_add(1, Relaxed);
        self.latency_sum_us.fetch_add(micros, Relaxed);
    }

    /// A connection was accepted.
    pub fn accepted(&self) {
        self.accepted.fetch_add(1, Relaxed);
    }

    /// A connection was closed.
    pub fn closed(&self) {
        self.closed.fetch_add(1, Relaxed);
    }

    /// A connection was refused with 503 over the connection cap.
    pub fn shed(&self) {
        self.shed.fetch_add(1, Relaxed);
    }

    /// Bytes received (plaintext, after TLS).
    pub fn bytes_in(&self, n: usize) {
        self.bytes_in.fetch_add(n as u64, Relaxed);
    }

    /// Bytes sent (plaintext, before TLS).
    pub fn bytes_out(&self, n: usize) {
        self.bytes_out.fetch_add(n as u64, Relaxed);
    }

    /// A timeout of `kind` (`header`, `idle`, `body`, `send`, `tls`).
    pub fn timeout(&self, kind: &str) {
        if let Some(i) = TIMEOUT_KINDS.iter().position(|&k| k == kind) {
            self.timeouts[i].fetch_add(1, Relaxed);
        }
    }

    /// A TLS handshake finished (`ok`) or failed.
    pub fn tls_handshake(&self, ok: bool) {
        if ok {
            self.tls_handshakes.fetch_add(1, Relaxed);
        } else {
            self.tls_failures.fetch_add(1, Relaxed);
        }
    }
}

/// Something that adds its own lines to a scrape (the wasm side's instance
/// counts).
pub type Source = Box<dyn Fn(&mut String) + Send + Sync>;

/// Every thread's counters, and extra sources.
#[derive(Default)]
pub struct Metrics {
    threads: Vec<Arc<ThreadMetrics>>,
    sources: Mutex<Vec<Source>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("threads", &self.threads.len())
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Blocks for `threads` threads.
    pub fn new(threads: usize) -> Self {
        Self {
            threads: (0..threads).map(|_| Arc::default()).collect(),
            sources: Mutex::default(),
        }
    }

    /// Thread `i`'s block.
    pub fn thread(&self, i: usize) -> Arc<ThreadMetrics> {
        self.threads.get(i).cloned().unwrap_or_default()
    }

    /// Adds lines to every scrape (called while rendering, off the request
    /// path).
    pub fn add_source(&self, source: Source) {
        self.sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(source);
    }

    fn sum(&self, f: impl Fn(&ThreadMetrics) -> &AtomicU64) -> u64 {
        self.threads.iter().map(|t| f(t).load(Relaxed)).sum()
    }

    /// Renders the Prometheus text exposition format (0.0.4).
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(4096);
        s.push_str("# HELP ringwasm_http_requests_total Responses sent, by status code.\n");
        s.push_str("# TYPE ringwasm_http_requests_total counter\n");
        for code in 100u16..600 {
            let i = usize::from(code - 100);
            let n = self.sum(|t| &t.status[i]);
            if n > 0 {
                let _ = writeln!(s, "ringwasm_http_requests_total{{code=\"{code}\"}} {n}");
            }
        }
        s.push_str(
            "# HELP ringwasm_http_request_duration_seconds Time from request head to the end of the response.\n",
        );
        s.push_str("# TYPE ringwasm_http_request_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (i, le) in LATENCY_BUCKETS_US.iter().enumerate() {
            cumulative += self.sum(|t| &t.latency[i]);
            let _ = writeln!(
                s,
                "ringwasm_http_request_duration_seconds_bucket{{le=\"{}\"}} {cumulative}",
                *le as f64 / 1e6
            );
        }
        cumulative += self.sum(|t| &t.latency[LATENCY_BUCKETS_US.len()]);
        let _ = writeln!(
            s,
            "ringwasm_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let sum_us = self.sum(|t| &t.latency_sum_us);
        let _ = writeln!(
            s,
            "ringwasm_http_request_duration_seconds_sum {}",
            sum_us as f64 / 1e6
        );
        let _ = writeln!(
            s,
            "ringwasm_http_request_duration_seconds_count {cumulative}"
        );
        let accepted = self.sum(|t| &t.accepted);
        let closed = self.sum(|t| &t.closed);
        let rows: [(&str, &str, &str, u64); 7] = [
            (
                "connections_accepted_total",
                "counter",
                "Connections accepted.",
                accepted,
            ),
            (
                "connections_open",
                "gauge",
                "Connections open now.",
                accepted.saturating_sub(closed),
            ),
            (
                "connections_shed_total",
                "counter",
                "Connections refused with 503 over the cap.",
                self.sum(|t| &t.shed),
            ),
            (
                "received_bytes_total",
                "counter",
                "Bytes received (after TLS).",
                self.sum(|t| &t.bytes_in),
            ),
            (
                "sent_bytes_total",
                "counter",
                "Bytes sent (before TLS).",
                self.sum(|t| &t.bytes_out),
            ),
            (
                "tls_handshakes_total",
                "counter",
                "TLS handshakes completed.",
                self.sum(|t| &t.tls_handshakes),
            ),
            (
                "tls_handshake_failures_total",
                "counter",
                "TLS handshakes failed or timed out.",
                self.sum(|t| &t.tls_failures),
            ),
        ];
        for (name, ty, help, v) in rows {
            let _ = writeln!(s, "# HELP ringwasm_http_{name} {help}");
            let _ = writeln!(s, "# TYPE ringwasm_http_{name} {ty}");
            let _ = writeln!(s, "ringwasm_http_{name} {v}");
        }
        s.push_str("# HELP ringwasm_http_timeouts_total Timeouts, by kind.\n");
        s.push_str("# TYPE ringwasm_http_timeouts_total counter\n");
        for (i, kind) in TIMEOUT_KINDS.iter().enumerate() {
            let n = self.sum(|t| &t.timeouts[i]);
            let _ = writeln!(s, "ringwasm_http_timeouts_total{{kind=\"{kind}\"}} {n}");
        }
        for source in self
            .sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            source(&mut s);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrape_sums_threads_and_buckets_cumulatively() {
        let m = Metrics::new(2);
        m.thread(0).request(200, 50);
        m.thread(1).request(200, 2_000);
        m.thread(1).request(404, 20_000_000);
        m.thread(0).accepted();
        m.thread(1).accepted();
        m.thread(1).closed();
        m.add_source(Box::new(|s| s.push_str("ringwasm_instances_live 3\n")));
        let text = m.render();
        assert!(text.contains("ringwasm_http_requests_total{code=\"200\"} 2\n"));
        assert!(text.contains("ringwasm_http_requests_total{code=\"404\"} 1\n"));
        assert!(text.contains("ringwasm_http_request_duration_seconds_bucket{le=\"0.0001\"} 1\n"));
        assert!(text.contains("ringwasm_http_request_duration_seconds_bucket{le=\"0.0025\"} 2\n"));
        assert!(text.contains("ringwasm_http_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("ringwasm_http_connections_open 1\n"));
        assert!(text.contains("ringwasm_instances_live 3\n"));
    }
}
