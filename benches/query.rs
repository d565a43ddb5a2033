//! Query latency: specific, abstract and as-of-transaction questions on two stores built once per
//! run: the synthetic generator at 10k facts (10 documents per transaction) and the twelve Audi
//! reports (one report per transaction).

mod common;

use common::req;

use criterion::{Criterion, black_box, criterion_group, criterion_main};

use chronorag::Engine;
use chronorag::query::{Mode, QueryRequest};
use chronorag::synth::Synth;

fn run_queries(c: &mut Criterion, group: &str, engine: &Engine, queries: &[(&str, QueryRequest)]) {
    let mut g = c.benchmark_group(group);
    for (name, r) in queries {
        g.bench_function(*name, |b| {
            b.iter(|| {
                engine
                    .query("bench", black_box(r))
                    .expect("query")
                    .context
                    .len()
            })
        });
    }
    g.finish();
}

fn bench(c: &mut Criterion) {
    let facts = if common::full_run() { 10_000 } else { 1_000 };
    let synth_dir = tempfile::tempdir().expect("tempdir");
    let started = std::time::Instant::now();
    let engine = common::build_store(synth_dir.path(), "bench", common::synth_corpus(facts), 10);
    let head = engine.namespace("bench").expect("ns").store().head_tx();
    eprintln!(
        "query bench: synthetic store of ~{facts} facts built in {:.1} s ({head} transactions)",
        started.elapsed().as_secs_f64()
    );
    let company = Synth::new(42).companies(facts).remove(0);
    let specific = format!("What was {} revenue in Q3 2017?", company.short);
    let abstract_q = format!(
        "How did {}'s emissions and renewable energy share evolve from 2016 to 2018?",
        company.short
    );
    let relative = format!(
        "How many {} did {} deliver last quarter?",
        company.sector.unit, company.short
    );
    run_queries(
        c,
        "query/synthetic_10k",
        &engine,
        &[
            ("specific", req(&specific, Mode::Auto, None)),
            ("specific_relative_time", req(&relative, Mode::Auto, None)),
            ("abstract", req(&abstract_q, Mode::Abstract, None)),
            (
                "specific_as_of_tx",
                req(&specific, Mode::Auto, Some(head / 2)),
            ),
        ],
    );
    drop(engine);

    if let Some(corpus) = common::audi_corpus() {
        let corpus = if common::full_run() {
            corpus
        } else {
            corpus.into_iter().take(2).collect()
        };
        let audi_dir = tempfile::tempdir().expect("tempdir");
        let started = std::time::Instant::now();
        let engine = common::build_store(audi_dir.path(), "bench", corpus, 1);
        let head = engine.namespace("bench").expect("ns").store().head_tx();
        eprintln!(
            "query bench: Audi store built in {:.1} s ({head} transactions)",
            started.elapsed().as_secs_f64()
        );
        let specific = "What is Audi's long-term goal for carbon-neutral mobility, as stated in the 2019 Sustainability Report?";
        run_queries(
            c,
            "query/audi",
            &engine,
            &[
                ("specific", req(specific, Mode::Auto, None)),
                (
                    "abstract",
                    req(
                        "How did Audi's approach to electrification evolve from 2016 to 2022?",
                        Mode::Abstract,
                        None,
                    ),
                ),
                (
                    "no_time",
                    req(
                        "Who drove the RS Q e-tron in the Dakar Rally?",
                        Mode::Auto,
                        None,
                    ),
                ),
                (
                    "specific_as_of_tx",
                    req(specific, Mode::Auto, Some(head.div_ceil(2))),
                ),
            ],
        );
    }
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = bench
}
criterion_main!(benches);
