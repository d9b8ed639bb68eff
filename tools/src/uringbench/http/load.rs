//! What every HTTP driver shares, whichever backend moves the bytes: the
//! run's configuration, when each connection may send its next request
//! (closed loop, or wrk2's open loop with coordinated-omission
//! correction), and the per-thread tally of latencies and errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::parse::Response;
use crate::uringbench::report::{Errors, Latencies};

/// One run's configuration, shared by all threads.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// Where to connect.
    pub addr: std::net::SocketAddr,
    /// Host name for TLS SNI and certificate checks; `None` for plain HTTP.
    pub tls: Option<(Arc<rustls::ClientConfig>, String)>,
    /// The request bytes sent on every connection.
    pub request: Arc<[u8]>,
    /// Whether the method is `HEAD` (responses carry no body).
    pub head_method: bool,
    /// Worker threads (one event loop each).
    pub threads: usize,
    /// Connections over all threads.
    pub conns: usize,
    /// Measured duration (`-d`); ignored when `requests` is set, except as
    /// an upper bound.
    pub duration: Option<Duration>,
    /// Measured request count (`-n`).
    pub requests: Option<u64>,
    /// Requests per second over all connections (`-R`); closed loop when
    /// `None`.
    pub rate: Option<f64>,
    /// Time before measuring starts; its responses are not counted.
    pub warmup: Duration,
    /// A request without a complete response after this long is a timeout
    /// error and its connection is replaced.
    pub timeout: Duration,
}

/// Counters all threads update, read by the progress line and used to
/// share out `-n`.
#[derive(Debug, Default)]
pub struct Shared {
    /// Responses completed in the measured window.
    pub completed: AtomicU64,
    /// Measured requests handed out (for `-n`).
    pub issued: AtomicU64,
}

/// The time line of one run.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// When the threads started (warm-up begins).
    pub start: Instant,
    /// When measurement begins.
    pub measure: Instant,
    /// When sending stops (measure + duration), if bounded by time.
    pub end: Option<Instant>,
}

impl Window {
    /// The time line for `cfg` starting at `start`.
    pub fn new(cfg: &LoadConfig, start: Instant) -> Self {
        let measure = start + cfg.warmup;
        let end = match (cfg.requests, cfg.duration) {
            (None, Some(d)) | (Some(_), Some(d)) => Some(measure + d),
            (_, None) => None,
        };
        Self {
            start,
            measure,
            end,
        }
    }
}

/// When one connection may send.
#[derive(Clone, Copy, Debug)]
pub struct Pacer {
    interval: Option<Duration>,
    next: Instant,
}

impl Pacer {
    /// The pacer of connection `index` of `conns` overall. In open-loop
    /// mode each connection sends every `conns / rate` seconds, the
    /// connections staggered evenly over one interval.
    pub fn new(cfg: &LoadConfig, index: usize, start: Instant) -> Self {
        let interval = cfg
            .rate
            .filter(|r| *r > 0.0)
            .and_then(|r| Duration::try_from_secs_f64(cfg.conns as f64 / r).ok());
        let next = match interval {
            Some(i) => start + i.mul_f64(index as f64 / cfg.conns.max(1) as f64),
            None => start,
        };
        Self { interval, next }
    }

    /// When the next request is due (`now` in closed loop).
    pub fn due(&self, now: Instant) -> Instant {
        match self.interval {
            Some(_) => self.next,
            None => now,
        }
    }

    /// Takes the next send slot at `now`. Returns the instant latency is
    /// measured from: the scheduled time in open loop (so a slow server
    /// cannot hide its queueing, wrk2's correction), `now` in closed loop.
    pub fn take(&mut self, now: Instant) -> Instant {
        match self.interval {
            Some(i) => {
                let intended = self.next;
                self.next += i;
                intended
            }
            None => now,
        }
    }
}

/// A tally of one thread's measured results.
#[derive(Debug, Default)]
pub struct Tally {
    /// Latencies of measured responses.
    pub latencies: Latencies,
    /// Errors by kind.
    pub errors: Errors,
    /// Measured responses.
    pub ops: u64,
    /// Measured response bytes on the wire.
    pub bytes: u64,
    /// When the last measured response completed.
    pub last: Option<Instant>,
    /// Responses completed since the shared counter was last updated.
    unpublished: u64,
}

impl Tally {
    /// Records a complete response to a request whose latency counts from
    /// `from`.
    pub fn response(&mut self, window: &Window, from: Instant, now: Instant, r: &Response) {
        if from < window.measure || window.end.is_some_and(|e| now > e) {
            return;
        }
        self.latencies.record(now - from);
        self.ops += 1;
        self.bytes += r.wire_len;
        self.last = Some(now);
        self.unpublished += 1;
        if r.status >= 400 {
            self.errors.status += 1;
        }
    }

    /// Whether an error at `now` falls in the measured window.
    pub fn counts(window: &Window, now: Instant) -> bool {
        now >= window.measure && window.end.is_none_or(|e| now <= e)
    }

    /// Adds the responses completed since the last call to the shared
    /// progress counter.
    pub fn publish(&mut self, shared: &Shared) {
        if self.unpublished > 0 {
            shared
                .completed
                .fetch_add(self.unpublished, Ordering::Relaxed);
            self.unpublished = 0;
        }
    }
}

/// Whether a connection may start a request at `now`: inside the window,
/// and (for `-n`) while measured requests remain. Claims one of them.
pub fn claim(cfg: &LoadConfig, shared: &Shared, window: &Window, now: Instant) -> bool {
    if window.end.is_some_and(|e| now >= e) {
        return false;
    }
    match cfg.requests {
        Some(n) if now >= window.measure => shared.issued.fetch_add(1, Ordering::Relaxed) < n,
        _ => true,
    }
}

/// Whether no more requests will be handed out.
pub fn exhausted(cfg: &LoadConfig, shared: &Shared, window: &Window, now: Instant) -> bool {
    window.end.is_some_and(|e| now >= e)
        || cfg
            .requests
            .is_some_and(|n| now >= window.measure && shared.issued.load(Ordering::Relaxed) >= n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rate: Option<f64>, conns: usize) -> LoadConfig {
        LoadConfig {
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], 80)),
            tls: None,
            request: Arc::from(&b"GET / HTTP/1.1\r\n\r\n"[..]),
            head_method: false,
            threads: 1,
            conns,
            duration: Some(Duration::from_secs(1)),
            requests: None,
            rate,
            warmup: Duration::ZERO,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn open_loop_measures_from_the_schedule_not_the_send() {
        // 2 connections at 100 req/s: each sends every 20 ms, staggered 10 ms.
        let cfg = config(Some(100.0), 2);
        let t0 = Instant::now();
        let mut p = Pacer::new(&cfg, 1, t0);
        assert_eq!(p.due(t0), t0 + Duration::from_millis(10));
        // The sender was stalled for 95 ms: every overdue request still
        // counts from its own scheduled instant (wrk2's correction).
        let late = t0 + Duration::from_millis(95);
        let froms: Vec<_> = (0..4).map(|_| p.take(late)).collect();
        let expect: Vec<_> = [10, 30, 50, 70]
            .iter()
            .map(|ms| t0 + Duration::from_millis(*ms))
            .collect();
        assert_eq!(froms, expect);
        assert_eq!(p.due(late), t0 + Duration::from_millis(90));
    }

    #[test]
    fn closed_loop_measures_from_the_send() {
        let cfg = config(None, 4);
        let t0 = Instant::now();
        let mut p = Pacer::new(&cfg, 3, t0);
        let now = t0 + Duration::from_millis(7);
        assert_eq!(p.due(now), now);
        assert_eq!(p.take(now), now);
    }

    #[test]
    fn requests_are_claimed_up_to_n_after_warmup() {
        let mut cfg = config(None, 1);
        cfg.requests = Some(3);
        cfg.duration = None;
        cfg.warmup = Duration::from_millis(50);
        let shared = Shared::default();
        let t0 = Instant::now();
        let w = Window::new(&cfg, t0);
        // Warm-up requests are free.
        assert!((0..10).all(|_| claim(&cfg, &shared, &w, t0)));
        let after = t0 + Duration::from_millis(60);
        let granted = (0..10).filter(|_| claim(&cfg, &shared, &w, after)).count();
        assert_eq!(granted, 3);
        assert!(exhausted(&cfg, &shared, &w, after));
    }

    #[test]
    fn responses_outside_the_window_are_not_counted() {
        let mut cfg = config(None, 1);
        cfg.warmup = Duration::from_millis(100);
        let t0 = Instant::now();
        let w = Window::new(&cfg, t0);
        let r = Response {
            status: 500,
            keep_alive: true,
            body_len: 0,
            wire_len: 40,
        };
        let mut t = Tally::default();
        t.response(&w, t0, t0 + Duration::from_millis(150), &r);
        assert_eq!(t.ops, 0, "started during warm-up");
        let m = t0 + Duration::from_millis(200);
        t.response(&w, m, m + Duration::from_millis(5), &r);
        assert_eq!((t.ops, t.bytes, t.errors.status), (1, 40, 1));
        let late = w.end.expect("bounded by time") + Duration::from_millis(1);
        t.response(&w, m, late, &r);
        assert_eq!(t.ops, 1, "completed after the end");
    }
}
