//! End-to-end ingest benchmark (bytes per second): prepared documents into a fresh store in a
//! temporary folder, one durable transaction (extraction, resolution, commit, indexes, flush).
//! Opening the store and dropping it are outside the measurement.

mod common;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use chronorag::ingest::{IngestOptions, PreparedDocument};
use chronorag::{Config, Engine};

fn ingest_fresh(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: BenchmarkId,
    docs: &[PreparedDocument],
) {
    g.throughput(Throughput::Bytes(common::bytes(docs)));
    g.bench_function(id, |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("tempdir");
                let engine = Engine::open(Config::with_data_dir(dir.path())).expect("open");
                // Open the namespace's indexes outside the measurement.
                engine.namespace_or_create("bench").expect("namespace");
                (dir, engine, docs.to_vec())
            },
            |(dir, engine, docs)| {
                let report = engine
                    .ingest("bench", docs, &IngestOptions::default())
                    .expect("ingest");
                engine.flush().expect("flush");
                (dir, engine, report)
            },
            BatchSize::PerIteration,
        )
    });
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ingest/durable");
    // One iteration takes about a second: give the ten samples room.
    g.measurement_time(std::time::Duration::from_secs(15));
    if let Some(corpus) = common::audi_corpus() {
        let one: Vec<PreparedDocument> = corpus
            .into_iter()
            .filter(|d| d.input.id.as_deref() == Some("audi-sustainability-2019.md"))
            .collect();
        ingest_fresh(&mut g, BenchmarkId::new("audi_report", "2019"), &one);
    }
    let synth = common::synth_corpus(if common::full_run() { 5000 } else { 500 });
    ingest_fresh(&mut g, BenchmarkId::new("synthetic", "5k_facts"), &synth);
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = bench
}
criterion_main!(benches);
