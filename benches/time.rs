//! Benchmark of the temporal-expression normaliser: `find_times` over a real Audi sustainability
//! report (bytes per second) and over synthetic earnings-call text, plus `parse_time` on single
//! expressions.

mod common;

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};

use chronorag::synth::Synth;
use chronorag::time::{TimeKey, find_times, parse_time};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("time/find_times");
    if let Some((name, text)) = common::audi_report(2019) {
        let reference = TimeKey::parse("2019").unwrap();
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(BenchmarkId::new("audi_report", name), |b| {
            b.iter(|| find_times(black_box(&text), Some(&reference)).len())
        });
    }
    let synth: String = Synth::new(42)
        .documents(2000)
        .map(|d| d.text)
        .collect::<Vec<_>>()
        .join("\n\n");
    let reference = TimeKey::parse("2016-Q2").unwrap();
    g.throughput(Throughput::Bytes(synth.len() as u64));
    g.bench_function("synthetic_calls_2k_facts", |b| {
        b.iter(|| find_times(black_box(&synth), Some(&reference)).len())
    });
    g.finish();

    let exprs = [
        "2024-07-15",
        "Q3 FY2023",
        "the third quarter of fiscal 2023",
        "from March 2023 to Q3 2024",
        "last quarter",
        "a year earlier",
        "first half of 2024",
    ];
    let reference = TimeKey::parse("2024-Q3").unwrap();
    let mut g = c.benchmark_group("time/parse_time");
    g.throughput(Throughput::Elements(exprs.len() as u64));
    g.bench_function("seven_expressions", |b| {
        b.iter(|| {
            exprs
                .iter()
                .filter(|e| parse_time(black_box(e), Some(&reference)).is_ok())
                .count()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = bench
}
criterion_main!(benches);
