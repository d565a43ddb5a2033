//! The scale curve (`harness = false`): ingest speed, query latency, memory and summarisation
//! cost of the synthetic corpus at several sizes.
//!
//! Each size runs in three fresh child processes of this binary, so that every memory figure
//! belongs to one phase:
//! 1. **ingest** — the corpus through `Engine::ingest` in the CLI's batches (32 documents or
//!    8 MB per durable transaction), one index commit at the end: MB/s, facts/s, peak RSS;
//! 2. **query** — reopen the store (seconds to open it and its indexes; the first question, a
//!    year's abstract one, is timed apart), then specific, abstract and as-of-transaction
//!    questions about the corpus's companies: p50/p95/p99 and the resident memory after them;
//! 3. **summarize** — full summarisation of every time node, then a first document (the first
//!    write after an open, which loads the memory-mapped vectors it changes, timed apart), then
//!    one more document: the cost of ingesting it and of the incremental summary pass, next to
//!    the same document into an empty store.
//!
//! Sizes come from `CHRONORAG_SCALE_SIZES` (facts, comma-separated); the default is
//! `10000,100000` under `cargo bench` and `2000` under `cargo test --benches`. The long form:
//! `CHRONORAG_SCALE_SIZES=10000,100000,1000000 cargo bench --bench scale`.
//! Results: a table on standard output and JSON in `target/bench-results/scale.json`.

mod common;

use common::req;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chronorag::ingest::input::prepare;
use chronorag::ingest::{DocumentInput, IngestOptions, PreparedDocument};
use chronorag::query::Mode;
use chronorag::synth::{Company, Synth};
use chronorag::{Config, Engine};
use serde_json::{Value, json};

const CHILD: &str = "CHRONORAG_SCALE_CHILD";
/// Questions timed per kind (a handful under `cargo test --benches`).
fn queries() -> usize {
    if std::env::var("CHRONORAG_SCALE_QUICK").is_ok() {
        20
    } else {
        200
    }
}
const WARMUP: usize = 20;

fn main() {
    if let Ok(phase) = std::env::var(CHILD) {
        let facts: usize = std::env::var("CHRONORAG_SCALE_FACTS")
            .expect("facts")
            .parse()
            .expect("facts is a number");
        let dir = PathBuf::from(std::env::var("CHRONORAG_SCALE_DIR").expect("dir"));
        let out = match phase.as_str() {
            "ingest" => ingest(facts, &dir),
            "query" => query(facts, &dir),
            "summarize" => summarize(&dir),
            other => panic!("unknown phase {other}"),
        };
        println!("RESULT {out}");
        return;
    }
    let sizes: Vec<usize> = match std::env::var("CHRONORAG_SCALE_SIZES") {
        Ok(s) => s
            .split(',')
            .map(|x| x.trim().parse().expect("CHRONORAG_SCALE_SIZES: numbers"))
            .collect(),
        Err(_) if common::full_run() => vec![10_000, 100_000],
        Err(_) => {
            // SAFETY: single-threaded at this point; children inherit the variable.
            unsafe { std::env::set_var("CHRONORAG_SCALE_QUICK", "1") };
            vec![2_000]
        }
    };
    let mut rows = Vec::new();
    for &facts in &sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut row = json!({ "target_facts": facts });
        for phase in ["ingest", "query", "summarize"] {
            eprintln!("scale: {facts} facts, {phase} …");
            let r = child(phase, facts, dir.path());
            row[phase] = r;
        }
        row["disk_bytes"] = json!(dir_bytes(dir.path()));
        print_row(&row);
        rows.push(row);
    }
    print_table(&rows);
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-results");
    std::fs::create_dir_all(&out).expect("results folder");
    let machine = machine();
    std::fs::write(
        out.join("scale.json"),
        serde_json::to_string_pretty(&json!({ "machine": machine, "rows": rows })).unwrap(),
    )
    .expect("write scale.json");
    println!("(JSON in {})", out.join("scale.json").display());
}

fn child(phase: &str, facts: usize, dir: &Path) -> Value {
    let exe = std::env::current_exe().expect("current exe");
    let out = Command::new(exe)
        .env(CHILD, phase)
        .env("CHRONORAG_SCALE_FACTS", facts.to_string())
        .env("CHRONORAG_SCALE_DIR", dir)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run child");
    assert!(
        out.status.success(),
        "{phase} phase failed: {:?}",
        out.status
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("{phase} phase printed no result:\n{stdout}"));
    serde_json::from_str(line).expect("result JSON")
}

/// (VmRSS, VmHWM) of this process, in bytes.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn engine(dir: &Path) -> Engine {
    Engine::open(Config::with_data_dir(dir)).expect("open engine")
}

fn ingest(facts: usize, dir: &Path) -> Value {
    let docs: Vec<PreparedDocument> = Synth::new(42)
        .documents(facts)
        .map(|d| prepare(d, None).expect("valid document"))
        .collect();
    let bytes = common::bytes(&docs);
    let n_docs = docs.len();
    let engine = engine(dir);
    let opts = IngestOptions {
        commit_indexes: false,
        ..IngestOptions::default()
    };
    let started = Instant::now();
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    let mut txs = 0;
    let mut peak_rss = 0;
    for d in docs {
        batch_bytes += d.input.text.len();
        batch.push(d);
        if batch.len() >= chronorag::ingest::BATCH_DOCS
            || batch_bytes >= chronorag::ingest::BATCH_BYTES
        {
            engine
                .ingest("bench", std::mem::take(&mut batch), &opts)
                .expect("ingest");
            batch_bytes = 0;
            txs += 1;
            peak_rss = peak_rss.max(memory().0);
        }
    }
    if !batch.is_empty() {
        engine.ingest("bench", batch, &opts).expect("ingest");
        txs += 1;
    }
    engine.flush().expect("flush");
    let secs = started.elapsed().as_secs_f64();
    let stats = engine.stats(Some("bench")).expect("stats");
    let stats = serde_json::to_value(&stats).expect("stats json");
    let (rss, hwm) = memory();
    let facts_in = stats_count(&stats, "facts");
    // As `chronorag ingest` does: closing checkpoints the store's log for the next open.
    let t = Instant::now();
    engine.close().expect("close");
    let close_secs = t.elapsed().as_secs_f64();
    json!({
        "documents": n_docs,
        "bytes": bytes,
        "transactions": txs,
        "seconds": secs,
        "mb_per_s": bytes as f64 / 1e6 / secs,
        "facts": facts_in,
        "facts_per_s": facts_in as f64 / secs,
        "rss_end": rss,
        "rss_peak": hwm.max(peak_rss),
        "close_seconds": close_secs,
        "stats": stats,
    })
}

/// A record count from the stats JSON (the first namespace's).
fn stats_count(stats: &Value, what: &str) -> u64 {
    fn find(v: &Value, what: &str) -> Option<u64> {
        match v {
            Value::Object(m) => {
                if let Some(n) = m.get(what).and_then(Value::as_u64) {
                    return Some(n);
                }
                m.values().find_map(|x| find(x, what))
            }
            Value::Array(a) => a.iter().find_map(|x| find(x, what)),
            _ => None,
        }
    }
    find(stats, what).unwrap_or(0)
}

fn questions(facts: usize) -> Vec<(Company, i32, u32)> {
    let companies = Synth::new(42).companies(facts);
    (0..queries() + WARMUP)
        .map(|i| {
            let c = companies[(i * 7919) % companies.len()].clone();
            (c, 2015 + (i % 9) as i32, 1 + (i % 4) as u32)
        })
        .collect()
}

struct Latencies(Vec<Duration>);

impl Latencies {
    fn summary(mut self) -> Value {
        self.0.sort();
        let p = |q: f64| {
            let i = ((self.0.len() as f64 - 1.0) * q).round() as usize;
            self.0[i].as_secs_f64() * 1000.0
        };
        json!({ "n": self.0.len(), "p50_ms": p(0.50), "p95_ms": p(0.95), "p99_ms": p(0.99), "max_ms": p(1.0) })
    }
}

fn query(facts: usize, dir: &Path) -> Value {
    let started = Instant::now();
    let engine = engine(dir);
    let store_open_secs = started.elapsed().as_secs_f64();
    let head = engine
        .namespace("bench")
        .expect("namespace")
        .store()
        .head_tx();
    // Opening is lazy: the indexes load on first use, here before any question.
    drop(
        engine
            .indexes(&engine.namespace("bench").expect("namespace"))
            .expect("indexes"),
    );
    let open_secs = started.elapsed().as_secs_f64();
    let (rss_open, _) = memory();
    let t = Instant::now();
    let first = engine
        .query("bench", &req("What happened in 2019?", Mode::Auto, None))
        .expect("first query");
    assert!(!first.context.is_empty(), "the store answers nothing");
    let first_ms = t.elapsed().as_secs_f64() * 1000.0;
    let qs = questions(facts);
    let mut out = json!({
        "open_seconds": open_secs,
        "store_open_seconds": store_open_secs,
        "first_query_ms": first_ms,
        "rss_after_open": rss_open,
    });
    let kinds: [(&str, Mode, Option<u64>); 3] = [
        ("specific", Mode::Auto, None),
        ("abstract", Mode::Abstract, None),
        ("as_of_tx", Mode::Auto, Some(head.div_ceil(2))),
    ];
    for (kind, mode, as_of) in kinds {
        let mut lat = Vec::with_capacity(queries());
        let mut on_topic = 0usize;
        for (i, (c, year, q)) in qs.iter().enumerate() {
            let text = match kind {
                "abstract" => format!(
                    "How did {}'s emissions and renewable energy share evolve from {} to {}?",
                    c.short,
                    year,
                    year + 2
                ),
                _ => format!("What was {} revenue in Q{q} {year}?", c.short),
            };
            let r = req(&text, mode, as_of);
            let t = Instant::now();
            let res = engine.query("bench", &r).expect("query");
            let el = t.elapsed();
            if i >= WARMUP {
                lat.push(el);
                if res.facts.iter().any(|f| f.subject.contains(&c.short))
                    || res.context.contains(&c.short)
                {
                    on_topic += 1;
                }
            }
        }
        let mut s = Latencies(lat).summary();
        // A sanity figure, not a quality metric: answers that mention the company asked about.
        s["on_topic"] = json!(on_topic as f64 / queries() as f64);
        out[kind] = s;
    }
    let (rss, hwm) = memory();
    out["rss_end"] = json!(rss);
    out["rss_peak"] = json!(hwm);
    out
}

/// One more earnings-call document (`n` gives it its own id and one figure of its own, so a
/// second one is not a duplicate of the first).
fn one_more(n: u32) -> PreparedDocument {
    let input = DocumentInput {
        id: Some(format!("one-more-2025-q1-{n}")),
        time: Some("2025-Q1".into()),
        title: Some("Northwind Analytics first-quarter 2025 call".into()),
        text: "Northwind Analytics reported revenue of 412 million euros in Q1 2025, up 9% from a \
               year earlier. The company delivered 18,400 units in the first quarter of 2025. \
               Chief executive Mara Lindqvist said the new Oslo plant opened in February 2025. \
               Northwind Analytics expects revenue of 1.8 billion euros for fiscal 2025. \
               Its renewable energy share reached 64% in 2024."
            .to_string()
            + &format!(" Its board met {} times in 2024.", 10 + n),
        ..DocumentInput::default()
    };
    prepare(input, None).expect("valid document")
}

fn summarize(dir: &Path) -> Value {
    let engine = engine(dir);
    let t = Instant::now();
    let full = engine.summarize("bench").expect("summarize");
    let full_secs = t.elapsed().as_secs_f64();
    let (rss_full, hwm_full) = memory();
    // The first write after an open loads the memory-mapped vector indexes it changes; it is
    // reported apart, and "one more document" is the next one.
    let t = Instant::now();
    engine
        .ingest("bench", vec![one_more(0)], &IngestOptions::default())
        .expect("ingest the first after open");
    let first_write_ms = t.elapsed().as_secs_f64() * 1000.0;
    engine.summarize("bench").expect("summarize the first");
    let t = Instant::now();
    engine
        .ingest("bench", vec![one_more(1)], &IngestOptions::default())
        .expect("ingest one");
    let one_ingest_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let inc = engine.summarize("bench").expect("summarize one");
    let one_summary_ms = t.elapsed().as_secs_f64() * 1000.0;
    drop(engine);
    let empty = tempfile::tempdir().expect("tempdir");
    let engine = self::engine(empty.path());
    // Warm the empty store's indexes so that both figures exclude opening them.
    engine.namespace_or_create("bench").expect("ns");
    let idx = engine
        .indexes(&engine.namespace("bench").expect("ns"))
        .expect("indexes");
    drop(idx);
    let t = Instant::now();
    engine
        .ingest("bench", vec![one_more(0)], &IngestOptions::default())
        .expect("ingest one (empty)");
    let empty_ingest_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let empty_inc = engine.summarize("bench").expect("summarize (empty)");
    let empty_summary_ms = t.elapsed().as_secs_f64() * 1000.0;
    json!({
        "full_seconds": full_secs,
        "full_recomputed": full.recomputed.len(),
        "rss_after_full": rss_full,
        "rss_peak_full": hwm_full,
        "first_write_after_open_ms": first_write_ms,
        "one_doc_ingest_ms": one_ingest_ms,
        "one_doc_summary_ms": one_summary_ms,
        "one_doc_recomputed": inc.recomputed.len(),
        "empty_store_one_doc_ingest_ms": empty_ingest_ms,
        "empty_store_one_doc_summary_ms": empty_summary_ms,
        "empty_store_recomputed": empty_inc.recomputed.len(),
    })
}

fn dir_bytes(p: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else { continue };
            total += if m.is_dir() {
                dir_bytes(&e.path())
            } else {
                m.len()
            };
        }
    }
    total
}

fn mb(v: &Value) -> String {
    format!("{:.0}", v.as_f64().unwrap_or(0.0) / 1e6)
}

fn f(v: &Value, digits: usize) -> String {
    format!("{:.*}", digits, v.as_f64().unwrap_or(f64::NAN))
}

fn print_row(r: &Value) {
    eprintln!("scale: {}", serde_json::to_string(r).unwrap());
}

fn print_table(rows: &[Value]) {
    println!();
    println!(
        "| facts | docs | MB | ingest MB/s | facts/s | ingest peak RSS MB | open s (first question ms) | serving RSS MB | specific p50/p95 ms | abstract p50/p95 ms | as-of p50/p95 ms | full summary s | first write after open ms | +1 doc ingest ms (empty store) | +1 doc summary ms (empty store) | disk MB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let i = &r["ingest"];
        let q = &r["query"];
        let s = &r["summarize"];
        println!(
            "| {} | {} | {:.1} | {} | {:.0} | {} | {} ({}) | {} | {}/{} | {}/{} | {}/{} | {} | {} | {} ({}) | {} ({}) | {} |",
            i["facts"],
            i["documents"],
            i["bytes"].as_f64().unwrap_or(0.0) / 1e6,
            f(&i["mb_per_s"], 2),
            i["facts_per_s"].as_f64().unwrap_or(0.0),
            mb(&i["rss_peak"]),
            f(&q["open_seconds"], 2),
            f(&q["first_query_ms"], 0),
            mb(&q["rss_end"]),
            f(&q["specific"]["p50_ms"], 1),
            f(&q["specific"]["p95_ms"], 1),
            f(&q["abstract"]["p50_ms"], 1),
            f(&q["abstract"]["p95_ms"], 1),
            f(&q["as_of_tx"]["p50_ms"], 1),
            f(&q["as_of_tx"]["p95_ms"], 1),
            f(&s["full_seconds"], 1),
            f(&s["first_write_after_open_ms"], 0),
            f(&s["one_doc_ingest_ms"], 0),
            f(&s["empty_store_one_doc_ingest_ms"], 0),
            f(&s["one_doc_summary_ms"], 0),
            f(&s["empty_store_one_doc_summary_ms"], 0),
            mb(&r["disk_bytes"]),
        );
    }
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_default();
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "memory": mem,
    })
}
