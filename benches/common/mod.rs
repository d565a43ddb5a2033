//! Helpers shared by the benchmarks: where the Time-LongQA data lives, whether this is a real
//! `cargo bench` run (or a quick `cargo test --benches` pass), and store builders.
//!
//! Each bench binary includes this file with `mod common;` and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use chronorag::ingest::input::prepare;
use chronorag::ingest::{DocumentInput, IngestOptions, PreparedDocument};
use chronorag::query::{Mode, QueryRequest};
use chronorag::synth::Synth;
use chronorag::{Config, Engine};
use criterion::Criterion;

/// The Time-LongQA folder, or None (after printing why) when it is absent.
pub fn longqa() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/time-longqa");
    if p.join("corpus").is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: the Time-LongQA data set is not at {}; benchmarks over the Audi reports do not run",
            p.display()
        );
        None
    }
}

/// One Audi report (`year`), with its text, or None when the data set is absent.
pub fn audi_report(year: i32) -> Option<(String, String)> {
    let dir = longqa()?;
    let name = format!("audi-sustainability-{year}.md");
    let text = std::fs::read_to_string(dir.join("corpus").join(&name)).ok()?;
    Some((name, text))
}

/// Every Audi report, prepared for ingest (time from the file name), or None.
pub fn audi_corpus() -> Option<Vec<PreparedDocument>> {
    let dir = longqa()?.join("corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    Some(
        files
            .iter()
            .map(|f| {
                let name = f.file_name().unwrap().to_string_lossy().into_owned();
                let input = DocumentInput {
                    id: Some(name.clone()),
                    text: std::fs::read_to_string(f).expect("read report"),
                    ..DocumentInput::default()
                };
                prepare(input, Some(&name)).expect("prepare report")
            })
            .collect(),
    )
}

/// The synthetic corpus of about `facts` facts (seed 42), prepared.
pub fn synth_corpus(facts: usize) -> Vec<PreparedDocument> {
    Synth::new(42)
        .documents(facts)
        .map(|d| prepare(d, None).expect("synthetic documents are valid"))
        .collect()
}

/// True under `cargo bench` (criterion gets `--bench`); false under `cargo test --benches`,
/// where each benchmark runs once and setups should stay small.
pub fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Criterion settings that keep the whole `cargo bench` within minutes on two cores.
pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args()
}

/// A store in `dir` with `docs` ingested into namespace `ns`, `per_tx` documents per
/// transaction (so that as-of reads have earlier transactions to go back to). The query caches
/// are off: a bench asks one question over and over, and with them on it measured the exact
/// cache's hit (about 11 µs), not the query.
pub fn build_store(dir: &Path, ns: &str, docs: Vec<PreparedDocument>, per_tx: usize) -> Engine {
    let mut config = Config::with_data_dir(dir);
    config.cache.exact_mb = 0;
    config.cache.semantic = false;
    let engine = Engine::open(config).expect("open engine");
    let opts = IngestOptions {
        durable: false,
        ..IngestOptions::default()
    };
    let mut docs = docs;
    while !docs.is_empty() {
        let rest = docs.split_off(docs.len().min(per_tx.max(1)));
        let batch = std::mem::replace(&mut docs, rest);
        engine.ingest(ns, batch, &opts).expect("ingest");
    }
    engine.flush().expect("flush");
    engine
}

/// Total bytes of text in `docs`.
pub fn bytes(docs: &[PreparedDocument]) -> u64 {
    docs.iter().map(|d| d.input.text.len() as u64).sum()
}

/// A query as the benchmarks ask it: budget 8,000 characters.
pub fn req(query: &str, mode: Mode, as_of_tx: Option<u64>) -> QueryRequest {
    QueryRequest {
        query: query.to_string(),
        mode,
        as_of_tx,
        budget_chars: Some(8000),
        ..QueryRequest::default()
    }
}
