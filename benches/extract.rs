//! Benchmark of the rules extractor (bytes per second): chunking plus fact extraction over a real
//! Audi report and over synthetic earnings calls, as the ingest pipeline runs it per document.

mod common;

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};

use chronorag::ingest::PreparedDocument;
use chronorag::ingest::chunk::{DEFAULT_CHUNK_CHARS, chunk};
use chronorag::ingest::extract::rules::RulesExtractor;
use chronorag::ingest::extract::{DocContext, Extractor};

/// Extracts from every document; returns the number of facts.
fn extract_all(docs: &[PreparedDocument]) -> usize {
    let mut facts = 0;
    for d in docs {
        let text = d.input.text.as_str();
        let spans = chunk(text, DEFAULT_CHUNK_CHARS);
        let chunks: Vec<&str> = spans.iter().map(|s| &text[s.start..s.end]).collect();
        let ctx = DocContext {
            title: d.title.clone(),
            time: d.time,
        };
        facts += RulesExtractor
            .extract(&ctx, &chunks)
            .expect("rules extraction does not fail")
            .iter()
            .map(|e| e.facts.len())
            .sum::<usize>();
    }
    facts
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("extract/rules");
    if let Some(corpus) = common::audi_corpus() {
        let one: Vec<PreparedDocument> = corpus
            .into_iter()
            .filter(|d| d.input.id.as_deref() == Some("audi-sustainability-2019.md"))
            .collect();
        g.throughput(Throughput::Bytes(common::bytes(&one)));
        g.bench_function(BenchmarkId::new("audi_report", "2019"), |b| {
            b.iter(|| extract_all(black_box(&one)))
        });
    }
    let synth = common::synth_corpus(2000);
    g.throughput(Throughput::Bytes(common::bytes(&synth)));
    g.bench_function("synthetic_2k_facts", |b| {
        b.iter(|| extract_all(black_box(&synth)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = bench
}
criterion_main!(benches);
