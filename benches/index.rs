//! The derived indexes alone: vector index (usearch) upsert and top-k search, text index
//! (tantivy) upsert+commit and BM25 search, on sizes built once per run.

mod common;

use criterion::{
    BatchSize, BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main,
};

use chronorag::embed::Embedder;
use chronorag::embed::hash::HashEmbedder;
use chronorag::index::text::{TextDoc, TextIndex, TextKind};
use chronorag::index::vector::VectorIndex;
use chronorag::synth::Synth;
use chronorag::time::TimeKey;

/// Sentences of the synthetic corpus (realistic text to embed and index).
fn sentences(n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for d in Synth::new(42).documents(n + 200) {
        for s in d.text.split(". ") {
            if out.len() == n {
                return out;
            }
            out.push(s.to_string());
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let n = if common::full_run() { 20_000 } else { 2_000 };
    let texts = sentences(n);
    let embedder = HashEmbedder::default();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vectors = embedder.embed(&refs).expect("embed");
    let items: Vec<(u64, Vec<f32>)> = vectors
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, v)| (i as u64, v))
        .collect();

    // Vectors.
    let mut g = c.benchmark_group("index/vector");
    let batch = &items[..1000.min(items.len())];
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.bench_function("upsert_1k_into_empty", |b| {
        b.iter_batched(
            || VectorIndex::new(embedder.dims()).expect("index"),
            |idx| {
                idx.upsert(batch).expect("upsert");
                idx
            },
            BatchSize::PerIteration,
        )
    });
    let full = VectorIndex::new(embedder.dims()).expect("index");
    full.upsert(&items).expect("upsert");
    let query = embedder
        .embed_one("quarterly revenue and deliveries last quarter")
        .expect("embed");
    g.throughput(Throughput::Elements(1));
    g.bench_function(
        BenchmarkId::new("search_top20", format!("{n}_vectors")),
        |b| b.iter(|| full.search(black_box(&query), 20).expect("search").len()),
    );
    g.bench_function(
        BenchmarkId::new("filtered_search_top20_half", format!("{n}_vectors")),
        |b| {
            b.iter(|| {
                full.filtered_search(black_box(&query), 20, &|k| k % 2 == 0)
                    .expect("search")
                    .len()
            })
        },
    );
    // A scope holding a tenth of the index, top 100 (what a time-scoped query asks): filtered
    // HNSW search against a sketch short list of 800 scored exactly (the path retrieval takes
    // for large scopes under a quarter of the index) and exact scoring of every candidate.
    let scope: Vec<u64> = (0..n as u64).filter(|k| k % 10 == 1).collect();
    g.bench_function(
        BenchmarkId::new("scope_tenth_top100_filtered_hnsw", format!("{n}_vectors")),
        |b| {
            b.iter(|| {
                full.filtered_search(black_box(&query), 100, &|k| k % 10 == 1)
                    .expect("search")
                    .len()
            })
        },
    );
    g.bench_function(
        BenchmarkId::new(
            "scope_tenth_top100_sketch_800_then_exact",
            format!("{n}_vectors"),
        ),
        |b| {
            b.iter(|| {
                let short = full
                    .shortlist(black_box(&query), &scope, 800)
                    .expect("short");
                full.score_exact(&query, &short, 100).expect("exact").len()
            })
        },
    );
    g.bench_function(
        BenchmarkId::new("scope_tenth_top100_exact", format!("{n}_vectors")),
        |b| {
            b.iter(|| {
                full.score_exact(black_box(&query), &scope, 100)
                    .expect("exact")
                    .len()
            })
        },
    );
    g.finish();

    // Text.
    let valid = TimeKey::parse("2019").expect("key").interval();
    let docs: Vec<TextDoc> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| TextDoc {
            kind: TextKind::Chunk,
            id: i as u64,
            text: t.clone(),
            title: "Synthetic earnings call".into(),
            valid,
        })
        .collect();
    let mut g = c.benchmark_group("index/text");
    g.measurement_time(std::time::Duration::from_secs(8));
    let batch = &docs[..1000.min(docs.len())];
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.bench_function("upsert_commit_1k_into_empty", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("tempdir");
                let idx = TextIndex::open(dir.path(), "bench").expect("open");
                (dir, idx)
            },
            |(dir, idx)| {
                idx.upsert(batch).expect("upsert");
                idx.commit(1).expect("commit");
                (dir, idx)
            },
            BatchSize::PerIteration,
        )
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let idx = TextIndex::open(dir.path(), "bench").expect("open");
    idx.upsert(&docs).expect("upsert");
    idx.commit(1).expect("commit");
    g.throughput(Throughput::Elements(1));
    g.bench_function(BenchmarkId::new("search_top20", format!("{n}_docs")), |b| {
        b.iter(|| {
            idx.search(
                TextKind::Chunk,
                black_box("revenue deliveries quarter plant"),
                None,
                20,
            )
            .expect("search")
            .len()
        })
    });
    let within = TimeKey::parse("2019-Q3").expect("key").interval();
    g.bench_function(
        BenchmarkId::new("search_top20_within_time", format!("{n}_docs")),
        |b| {
            b.iter(|| {
                idx.search(
                    TextKind::Chunk,
                    black_box("revenue deliveries quarter plant"),
                    Some(&within),
                    20,
                )
                .expect("search")
                .len()
            })
        },
    );
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = bench
}
criterion_main!(benches);
