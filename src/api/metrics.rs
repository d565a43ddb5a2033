//! Prometheus metrics: request counts and latency histograms per route, ingest counters, index
//! and store sizes. Rendered as text at `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

use crate::Engine;

/// Latency bucket bounds in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// The service's metrics.
#[derive(Debug)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    /// Documents ingested.
    pub documents: AtomicU64,
    /// Facts asserted by ingests.
    pub facts: AtomicU64,
    /// Bytes of text ingested.
    pub bytes: AtomicU64,
    /// Jobs submitted.
    pub jobs: AtomicU64,
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Mutex::new(BTreeMap::new()),
            latency: Mutex::new(BTreeMap::new()),
            documents: AtomicU64::new(0),
            facts: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            jobs: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

impl Metrics {
    /// Records one request.
    pub fn record(&self, route: &str, method: &str, status: u16, seconds: f64) {
        *self
            .requests
            .lock()
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        let mut lat = self.latency.lock();
        let h = lat
            .entry((route.to_string(), method.to_string()))
            .or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    /// Prometheus text exposition.
    /// Namespaces appear only when `visible` says so (the caller may read them).
    pub fn render(&self, engine: &Engine, visible: &dyn Fn(&str) -> bool) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP chronorag_http_requests_total HTTP requests by route, method and status."
        );
        let _ = writeln!(out, "# TYPE chronorag_http_requests_total counter");
        for ((route, method, status), n) in self.requests.lock().iter() {
            let _ = writeln!(
                out,
                "chronorag_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP chronorag_http_request_duration_seconds Request latency by route."
        );
        let _ = writeln!(
            out,
            "# TYPE chronorag_http_request_duration_seconds histogram"
        );
        for ((route, method), h) in self.latency.lock().iter() {
            let labels = format!("route=\"{route}\",method=\"{method}\"");
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "chronorag_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "chronorag_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "chronorag_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "chronorag_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        for (name, help, v) in [
            (
                "chronorag_ingested_documents_total",
                "Documents ingested.",
                &self.documents,
            ),
            (
                "chronorag_ingested_facts_total",
                "Facts asserted by ingests.",
                &self.facts,
            ),
            (
                "chronorag_ingested_bytes_total",
                "Bytes of text ingested.",
                &self.bytes,
            ),
            (
                "chronorag_jobs_submitted_total",
                "Ingest jobs submitted.",
                &self.jobs,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        let c = engine.cache_stats();
        let _ = writeln!(
            out,
            "# HELP chronorag_query_cache_total Queries by how they were answered: from the exact \
             cache, from the semantic cache (a paraphrase), or computed (miss).\n\
             # TYPE chronorag_query_cache_total counter\n\
             chronorag_query_cache_total{{result=\"exact\"}} {}\n\
             chronorag_query_cache_total{{result=\"semantic\"}} {}\n\
             chronorag_query_cache_total{{result=\"miss\"}} {}\n\
             # HELP chronorag_query_cache_bytes Bytes the query caches hold (estimated).\n\
             # TYPE chronorag_query_cache_bytes gauge\n\
             chronorag_query_cache_bytes {}",
            c.exact_hits, c.semantic_hits, c.misses, c.bytes
        );
        let _ = writeln!(
            out,
            "# HELP chronorag_summary_passes_total Background summary passes (one per namespace per \
             pass; a burst of writes is one pass).\n# TYPE chronorag_summary_passes_total counter\n\
             chronorag_summary_passes_total {}",
            engine.summary_passes()
        );
        let _ = writeln!(
            out,
            "# HELP chronorag_uptime_seconds Seconds since start.\n# TYPE chronorag_uptime_seconds gauge\nchronorag_uptime_seconds {}",
            self.started.elapsed().as_secs_f64()
        );
        if let Ok(size) = engine.store().size_on_disk() {
            let _ = writeln!(
                out,
                "# HELP chronorag_store_bytes Bytes the store occupies on disk.\n# TYPE chronorag_store_bytes gauge\nchronorag_store_bytes {size}"
            );
        }
        // Each metric family is written whole (HELP, TYPE, then all its samples), as the
        // exposition format requires.
        let mut records = String::from(
            "# HELP chronorag_records Records per namespace and kind (current state).\n# TYPE chronorag_records gauge\n",
        );
        let mut sizes = String::from(
            "# HELP chronorag_index_size Index sizes per namespace.\n# TYPE chronorag_index_size gauge\n",
        );
        if let Ok(names) = engine.namespace_names() {
            for ns in names.into_iter().filter(|n| visible(n)) {
                if let Ok(st) = engine.stats(Some(&ns))
                    && let Some(s) = st.namespaces.get(&ns)
                {
                    for (kind, n) in [
                        ("documents", s.documents),
                        ("chunks", s.chunks),
                        ("facts", s.facts),
                        ("entities", s.entities),
                        ("time_nodes", s.time_nodes),
                        ("transactions", s.transactions),
                    ] {
                        let _ = writeln!(
                            records,
                            "chronorag_records{{namespace=\"{ns}\",kind=\"{kind}\"}} {n}"
                        );
                    }
                }
                if let Some(sz) = engine.open_index_sizes(&ns) {
                    for (kind, n) in [
                        ("text_docs", sz.text_docs),
                        ("fact_vectors", sz.fact_vectors),
                        ("chunk_vectors", sz.chunk_vectors),
                        ("summary_vectors", sz.summary_vectors),
                        ("graph_edges", sz.graph_edges),
                        ("vector_bytes", sz.vector_bytes),
                        ("memory_bytes", sz.memory_bytes),
                    ] {
                        let _ = writeln!(
                            sizes,
                            "chronorag_index_size{{namespace=\"{ns}\",kind=\"{kind}\"}} {n}"
                        );
                    }
                }
            }
        }
        out.push_str(&records);
        out.push_str(&sizes);
        out
    }
}
