//! Queries: hard and soft time scopes, the fallback outside an empty scope, multi-period
//! questions, as-of snapshots, and the derived indexes (catch-up after a crash, rebuilds, the
//! recorded embedder).

use std::collections::BTreeSet;

use chronorag::config::Config;
use chronorag::embed::openai::OpenAiEmbedConfig;
use chronorag::ingest::extract::rules::RulesExtractor;
use chronorag::ingest::input::{DocumentInput, prepare};
use chronorag::ingest::{IngestOptions, pipeline};
use chronorag::query::cache::Category;
use chronorag::query::{Intent, Mode, QueryRequest, TimeParam};
use chronorag::{Engine, Error};

use crate::fake_openai::{FakeOpenAi, Route};
use crate::support::{audi, engine_at, ingest_text, tmp};

fn q(text: &str) -> QueryRequest {
    QueryRequest {
        query: text.into(),
        ..Default::default()
    }
}

#[test]
fn an_explicit_year_scopes_hard_and_nothing_outside_comes_back() {
    let Some(a) = audi() else { return };
    let r = a
        .engine
        .query(
            "default",
            &q("What were Audi's goals for carbon-neutral sites in 2019?"),
        )
        .unwrap();
    let scope = r.plan.time_scope.as_ref().unwrap();
    assert!(scope.hard, "{:?}", r.plan);
    assert!(r.plan.fallback.is_none());
    assert!(!r.facts.is_empty() && !r.chunks.is_empty());
    for f in &r.facts {
        assert!(
            f.valid
                .overlaps(&chronorag::time::TimeKey::parse("2019").unwrap().interval()),
            "fact outside 2019: {f:?}"
        );
    }
    let cited: BTreeSet<u64> = r
        .facts
        .iter()
        .flat_map(|f| f.sources.iter().map(|s| s.chunk))
        .collect();
    for c in &r.chunks {
        assert!(
            c.time.as_deref() == Some("2019") || cited.contains(&c.id),
            "chunk {} from {:?} is outside 2019",
            c.id,
            c.time
        );
    }
    assert!(r.context.contains("· 2019]"));
    // The 2019 evidence sentence is in the context.
    assert!(r.context.contains("carbon-neutral"), "{}", r.context);
}

#[test]
fn an_empty_scope_falls_back_and_says_so() {
    let dir = tmp();
    let e = engine_at(dir.path());
    e.ingest(
        "n",
        vec![
            doc("a", "In 2020, Acme Corp opened a plant in Berlin.", "2020"),
            doc("b", "In 2021, Acme Corp opened a plant in Munich.", "2021"),
        ],
        &IngestOptions::default(),
    )
    .unwrap();
    let r = e
        .query("n", &q("Where did Acme Corp open a plant in 2021?"))
        .unwrap();
    assert!(r.plan.fallback.is_none());
    assert!(
        r.context.contains("Munich") && !r.context.contains("Berlin"),
        "{}",
        r.context
    );
    let r = e
        .query("n", &q("Where did Acme Corp open a plant in 1999?"))
        .unwrap();
    let note = r.plan.fallback.as_deref().expect("a fallback note");
    assert!(note.contains("1999") && note.contains("outside"), "{note}");
    assert!(!r.chunks.is_empty(), "results from outside the scope");
}

#[test]
fn relative_times_scope_softly_around_now_and_params_win() {
    let Some(a) = audi() else { return };
    let r = a
        .engine
        .query(
            "default",
            &q("What did Audi do recently about electric cars?"),
        )
        .unwrap();
    let scope = r.plan.time_scope.as_ref().expect("scope");
    assert!(!scope.hard);
    assert_eq!(
        r.plan.now.as_deref(),
        Some("2023-12-31"),
        "now defaults to the latest document time"
    );
    let mut req = q("What did Audi report last year?");
    req.now = Some("2021-06-30".into());
    let r = a.engine.query("default", &req).unwrap();
    assert_eq!(
        r.plan.time_scope.as_ref().unwrap().intervals[0].to_string(),
        "2020-01-01..2021-01-01"
    );
    // Explicit parameters win over the question's own time.
    let mut req = q("What did Audi report in 2019?");
    req.time = Some(TimeParam {
        at: Some("2021".into()),
        ..Default::default()
    });
    let r = a.engine.query("default", &req).unwrap();
    let scope = r.plan.time_scope.as_ref().unwrap();
    assert_eq!(scope.source, "parameter");
    assert!(r.chunks.iter().all(|c| {
        c.time.as_deref() == Some("2021")
            || r.facts
                .iter()
                .any(|f| f.sources.iter().any(|s| s.chunk == c.id))
    }));
}

#[test]
fn comparisons_get_evidence_from_each_period_and_summaries() {
    let Some(a) = audi() else { return };
    a.engine.summarize("default").unwrap();
    let r = a
        .engine
        .query(
            "default",
            &q("How did Audi's electrification plans change between 2021 and 2023?"),
        )
        .unwrap();
    assert_eq!(r.plan.intent, Intent::Abstract);
    // A comparison between two years: one facet per end, each with evidence, and coverage
    // first: the first two passages come from the two years.
    let labels = |r: &chronorag::query::QueryResult| -> Vec<String> {
        r.plan
            .facets
            .periods
            .iter()
            .map(|p| p.label.clone())
            .collect()
    };
    assert_eq!(labels(&r), ["2021", "2023"]);
    assert!(
        r.plan.facets.facets.iter().all(|f| f.evidence),
        "{:?}",
        r.plan.facets
    );
    let first: BTreeSet<usize> = r.passages.iter().take(2).map(|p| p.facet).collect();
    assert_eq!(first.len(), 2, "{:?}", r.passages);
    let times: BTreeSet<String> = r
        .passages
        .iter()
        .take(2)
        .filter_map(|p| p.time.clone())
        .collect();
    assert!(
        times.contains("2021") && times.contains("2023"),
        "{times:?}"
    );
    // Every passage reads as the context shows it (without the reports' layout whitespace);
    // only the last may be cut.
    for p in &r.passages[..r.passages.len() - 1] {
        assert!(r.context.contains(p.text.trim()), "{:?}", p.text);
        assert!(
            !p.text.contains("  \n") && !p.text.contains("\n\n"),
            "{:?}",
            p.text
        );
    }
    // Summaries are candidates; they are placed only when they outrank passages.
    assert!(!r.summaries.is_empty());
    // Asked year by year, every year of the range is a facet.
    let r = a
        .engine
        .query(
            "default",
            &q("How did Audi's electrification plans change each year between 2021 and 2023?"),
        )
        .unwrap();
    assert_eq!(labels(&r), ["2021", "2022", "2023"]);
    let mut req = q("How did Audi's electrification plans change between 2021 and 2023?");
    req.mode = Mode::Specific;
    let r = a.engine.query("default", &req).unwrap();
    assert_eq!(r.plan.intent, Intent::Specific);
    assert!(r.summaries.is_empty());
}

fn doc(id: &str, text: &str, time: &str) -> chronorag::ingest::PreparedDocument {
    prepare(
        DocumentInput {
            id: Some(id.into()),
            text: text.into(),
            time: Some(time.into()),
            ..Default::default()
        },
        None,
    )
    .unwrap()
}

#[test]
fn as_of_queries_see_the_past() {
    let dir = tmp();
    let e = engine_at(dir.path());
    let t1 = e
        .ingest(
            "n",
            vec![doc(
                "old",
                "In 2020, Acme Corp opened a plant in Berlin.",
                "2020",
            )],
            &IngestOptions::default(),
        )
        .unwrap()
        .tx
        .unwrap();
    e.ingest(
        "n",
        vec![doc(
            "new",
            "In 2021, Acme Corp opened a second plant in Munich.",
            "2021",
        )],
        &IngestOptions::default(),
    )
    .unwrap();
    let now = e
        .query("n", &q("Where did Acme Corp open plants?"))
        .unwrap();
    assert!(now.context.contains("Munich"));
    let mut req = q("Where did Acme Corp open plants?");
    req.as_of_tx = Some(t1);
    let then = e.query("n", &req).unwrap();
    assert!(
        then.context.contains("Berlin") && !then.context.contains("Munich"),
        "{}",
        then.context
    );
    assert_eq!(then.plan.as_of_tx, t1);
    req.as_of_tx = Some(99);
    assert!(
        matches!(e.query("n", &req), Err(Error::Invalid(m)) if m.contains("after the latest transaction")),
    );
    assert!(matches!(e.query("nope", &q("x")), Err(Error::NotFound(_))));
    assert!(matches!(e.query("n", &q("   ")), Err(Error::Invalid(_))));
}

#[test]
fn indexes_catch_up_after_a_crash_and_rebuild_when_lost() {
    let dir = tmp();
    {
        let e = engine_at(dir.path());
        e.ingest(
            "n",
            vec![doc(
                "a",
                "In 2020, Acme Corp opened a plant in Berlin.",
                "2020",
            )],
            &IngestOptions::default(),
        )
        .unwrap();
        e.flush().unwrap();
        // A transaction that reaches the store but not the indexes (the process dies between
        // the commit and the index update).
        let ns = e.namespace("n").unwrap();
        let store = ns.store().as_ref();
        let (staged, _) = pipeline::stage(
            vec![doc(
                "b",
                "In 2021, Zorblax Industries bought a factory in Lyon.",
                "2021",
            )],
            &RulesExtractor,
            900,
        );
        let ws = pipeline::build(
            store,
            store.head_tx() + 1,
            &staged,
            "rules",
            &IngestOptions::default(),
            &|_, _, _| vec![],
        )
        .unwrap()
        .ws;
        store.commit(ws).unwrap();
    }
    let e = engine_at(dir.path());
    let r = e.query("n", &q("Zorblax factory Lyon")).unwrap();
    assert!(
        r.context.contains("Zorblax"),
        "the index did not catch up: {}",
        r.context
    );
    drop(e);
    // Lose every index file: they are rebuilt from the store.
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let e = engine_at(dir.path());
    let r = e.query("n", &q("Zorblax factory Lyon")).unwrap();
    assert!(r.context.contains("Zorblax"));
    let sizes = e.index_sizes("n").unwrap();
    assert!(
        sizes.fact_vectors == 0 && sizes.chunk_vectors == 2 && sizes.text_docs >= 4,
        "{sizes:?}"
    );
    // And an explicit reindex gives the same sizes.
    assert_eq!(e.reindex("n", false).unwrap().chunk_vectors, 2);
}

/// Facts are embedded only with `embed_facts`. Turning it on for a namespace built without it
/// rebuilds the namespace's vectors on open, and the facts' vector search then seeds queries;
/// turning it off again drops the fact vectors and keeps the chunks'.
#[test]
fn embed_facts_on_rebuilds_the_fact_vectors_and_off_drops_them() {
    let dir = tmp();
    let open = |embed_facts: bool| {
        let mut cfg = Config::with_data_dir(dir.path());
        cfg.embed_facts = embed_facts;
        Engine::open(cfg).unwrap()
    };
    let explained = |e: &Engine| {
        let r = e
            .query(
                "n",
                &QueryRequest {
                    explain: true,
                    ..q("Zorblax factory in Lyon")
                },
            )
            .unwrap();
        assert!(r.context.contains("Zorblax"), "{}", r.context);
        r.explain
            .unwrap()
            .into_iter()
            .find(|s| s.stage == "seed_facts_vector")
            .map(|s| s.kept)
    };
    let e = open(false);
    ingest_text(
        &e,
        "n",
        "a",
        "Zorblax Industries opened a factory in Lyon in March 2021. The Lyon factory employs 300 people.",
        "2021-03-10",
    );
    ingest_text(
        &e,
        "n",
        "b",
        "Quintar Ltd moved its headquarters to Oslo in 2022.",
        "2022-06-01",
    );
    let facts = e.stats(Some("n")).unwrap().totals.facts;
    assert!(facts >= 2, "{facts}");
    let off = e.index_sizes("n").unwrap();
    assert_eq!((off.fact_vectors, off.chunk_vectors), (0, 2), "{off:?}");
    assert_eq!(explained(&e), None, "no fact vectors to search");
    e.close().unwrap(); // saves the vectors with their checkpoint

    let e = open(true);
    let on = e.index_sizes("n").unwrap();
    assert_eq!(
        (on.fact_vectors, on.chunk_vectors),
        (facts, 2),
        "turned on: every fact embedded on open"
    );
    assert!(explained(&e).is_some_and(|kept| kept > 0));
    // New facts are embedded as they come.
    let tx = ingest_text(
        &e,
        "n",
        "c",
        "Zorblax Industries closed its Lyon factory in 2024.",
        "2024-01-15",
    );
    assert!(tx > 0);
    let more = e.stats(Some("n")).unwrap().totals.facts;
    assert!(more > facts);
    assert_eq!(e.index_sizes("n").unwrap().fact_vectors, more);
    e.close().unwrap();

    let e = open(false);
    let off = e.index_sizes("n").unwrap();
    assert_eq!((off.fact_vectors, off.chunk_vectors), (0, 3), "{off:?}");
    assert_eq!(explained(&e), None);
    // A write and a reopen keep it that way.
    ingest_text(
        &e,
        "n",
        "d",
        "Quintar Ltd hired 50 engineers in Oslo in 2025.",
        "2025-02-01",
    );
    e.close().unwrap();
    let e = open(false);
    let off = e.index_sizes("n").unwrap();
    assert_eq!((off.fact_vectors, off.chunk_vectors), (0, 4), "{off:?}");
}

/// Closing an engine flushes it and checkpoints the store's log; the next open reads everything
/// it wrote, with the saved vector indexes memory-mapped, and the first write after that open
/// loads them and is found beside what was there.
#[test]
fn a_closed_engine_reopens_with_everything_and_its_mapped_vectors_take_writes() {
    let dir = tmp();
    let ask = |e: &Engine, text: &str| {
        let r = e.query("n", &q(text)).unwrap();
        (r.facts.iter().map(|f| f.id).collect::<Vec<_>>(), r.context)
    };
    let e = engine_at(dir.path());
    ingest_text(
        &e,
        "n",
        "a",
        "In 2020, Acme Corp opened a plant in Berlin.",
        "2020",
    );
    let before = ask(&e, "Acme Corp plant Berlin");
    assert!(!before.0.is_empty());
    e.close().unwrap();

    let e = engine_at(dir.path());
    assert_eq!(ask(&e, "Acme Corp plant Berlin"), before);
    let idx = e.indexes(&e.namespace("n").unwrap()).unwrap();
    // Facts are not embedded by default: only the chunk vectors were saved and are mapped.
    assert!(idx.facts.is_empty() && idx.chunks.is_view());
    ingest_text(
        &e,
        "n",
        "b",
        "In 2021, Zorblax Industries bought a factory in Lyon.",
        "2021",
    );
    assert!(idx.facts.is_empty() && !idx.chunks.is_view());
    let (z, ctx) = ask(&e, "Zorblax factory Lyon");
    assert!(!z.is_empty() && ctx.contains("Zorblax"), "{ctx}");
    let now = ask(&e, "Acme Corp plant Berlin").0;
    assert!(before.0.iter().all(|f| now.contains(f)), "{now:?}");
}

#[test]
fn a_catalog_snapshot_caught_up_from_the_log_reads_like_a_load_from_the_store() {
    let dir = tmp();
    let snapshot = dir.path().join("index").join("n").join("catalog.bin");
    let questions = [
        "Zorblax factory Lyon",
        "Acme Corp plant Berlin",
        "Who hired engineers in 2022?",
    ];
    let ask = |e: &Engine, t: Option<u64>| -> Vec<(Vec<u64>, String)> {
        questions
            .iter()
            .map(|text| {
                let r = e
                    .query(
                        "n",
                        &QueryRequest {
                            as_of_tx: t,
                            ..q(text)
                        },
                    )
                    .unwrap();
                (r.facts.iter().map(|f| f.id).collect(), r.context)
            })
            .collect()
    };
    let (head, zorblax_tx, before) = {
        let e = engine_at(dir.path());
        ingest_text(
            &e,
            "n",
            "a",
            "In 2020, Acme Corp opened a plant in Berlin.",
            "2020",
        );
        e.flush().unwrap();
        assert!(snapshot.exists(), "flush saves the catalog snapshot");
        // After the snapshot: a fact created, then retracted (so a replay of its creation reads
        // a later version of it), and another document. Dropped without a flush: the snapshot
        // stays behind the head.
        let zorblax_tx = ingest_text(
            &e,
            "n",
            "b",
            "In 2021, Zorblax Industries bought a factory in Lyon.",
            "2021",
        );
        let z = e
            .query(
                "n",
                &QueryRequest {
                    as_of_tx: Some(zorblax_tx),
                    ..q("Zorblax factory Lyon")
                },
            )
            .unwrap();
        let fact = z
            .facts
            .iter()
            .find(|f| f.description.contains("Zorblax"))
            .map(|f| f.id)
            .expect("the Zorblax fact");
        e.retract_fact("n", fact, "test", Some("wrong".into()))
            .unwrap();
        ingest_text(
            &e,
            "n",
            "c",
            "In 2022, Beta Inc hired 40 engineers in Oslo.",
            "2022",
        );
        let head = e.namespace("n").unwrap().store().head_tx();
        let before: Vec<_> = (1..=head).map(|t| ask(&e, Some(t))).collect();
        // As of its creation the fact is there; at the head it is not.
        assert!(before[zorblax_tx as usize - 1][0].0.contains(&fact));
        assert!(!before[head as usize - 1][0].0.contains(&fact));
        (head, zorblax_tx, before)
    };
    let stale = std::fs::read(&snapshot).unwrap();
    // Snapshot plus the transactions after it.
    let e = engine_at(dir.path());
    let after: Vec<_> = (1..=head).map(|t| ask(&e, Some(t))).collect();
    assert_eq!(after, before, "as-of reads changed across the reopen");
    assert!(
        std::fs::read(&snapshot).unwrap() != stale,
        "a caught-up catalog is saved again"
    );
    drop(e);
    // Without the snapshot: loaded from the store records, the same answers.
    std::fs::remove_file(&snapshot).unwrap();
    let e = engine_at(dir.path());
    let full: Vec<_> = (1..=head).map(|t| ask(&e, Some(t))).collect();
    assert_eq!(full, before);
    assert!(snapshot.exists());
    drop(e);
    // A damaged snapshot is ignored, not trusted.
    std::fs::write(&snapshot, b"not a snapshot").unwrap();
    let e = engine_at(dir.path());
    assert_eq!(ask(&e, Some(zorblax_tx)), before[zorblax_tx as usize - 1]);
}

#[test]
fn opening_with_another_embedder_is_refused_unless_reembedding() {
    let dir = tmp();
    {
        let e = engine_at(dir.path());
        e.ingest(
            "n",
            vec![doc(
                "a",
                "In 2020, Acme Corp opened a plant in Berlin.",
                "2020",
            )],
            &IngestOptions::default(),
        )
        .unwrap();
    }
    let server = FakeOpenAi::start(vec![Route::embeddings(8)]);
    let mut cfg = Config::with_data_dir(dir.path());
    cfg.embedder = "openai".into();
    cfg.openai_embed = OpenAiEmbedConfig {
        base_url: server.url(),
        model: "fake-embed".into(),
        dims: Some(8),
        ..OpenAiEmbedConfig::default()
    };
    let e = Engine::open(cfg.clone()).unwrap();
    let err = e.query("n", &q("plant")).unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("hash-v1-256")
            && msg.contains("openai-fake-embed-8")
            && msg.contains("--reembed"),
        "{msg}"
    );
    drop(e);
    cfg.reembed = true;
    let e = Engine::open(cfg).unwrap();
    let r = e.query("n", &q("plant in Berlin")).unwrap();
    assert!(r.context.contains("Berlin"));
    assert!(
        server.calls() > 0,
        "vectors were rebuilt with the new embedder"
    );
    assert_eq!(e.index_sizes("n").unwrap().chunk_vectors, 1);
}

/// Issue 10: a context asked at budget B is no worse than the first B characters of the
/// context asked at 4B (a small budget gets its own coverage-first packing, not a crop), on a
/// sample of the Time-LongQA dev set, one- and two-time questions, summaries on.
#[test]
fn a_small_budget_is_no_worse_than_the_start_of_a_big_one() {
    use chronorag::eval::dataset::load_file;
    use chronorag::eval::metric::{Context, Evidence, recall};
    let Some(a) = audi() else { return };
    let Some(root) = crate::support::longqa() else {
        return;
    };
    a.engine.summarize("default").unwrap();
    let mut asked = 0.0;
    let mut cropped = 0.0;
    let mut worse = 0;
    let mut n = 0;
    for (file, every) in [("one_time_2019.json", 8), ("QA_2time.json", 20)] {
        let set = load_file(&root.join("qa").join(file)).unwrap();
        for q in set.questions.iter().step_by(every) {
            let ev: Vec<Evidence> = q.evidence.iter().map(|e| Evidence::new(e)).collect();
            let at = |budget: usize| {
                let req = QueryRequest {
                    query: q.question.clone(),
                    budget_chars: Some(budget),
                    ..Default::default()
                };
                a.engine.query("default", &req).unwrap().context
            };
            let small = recall(&ev, &Context::new(&at(2000), 2000), q.paraphrased);
            let big = recall(&ev, &Context::new(&at(8000), 2000), q.paraphrased);
            asked += small;
            cropped += big;
            worse += usize::from(small + 1e-9 < big);
            n += 1;
        }
    }
    assert!(n >= 30, "{n} questions");
    let (asked, cropped) = (asked / n as f64, cropped / n as f64);
    eprintln!("recall @2k asked {asked:.3}, first 2k of @8k {cropped:.3}; worse on {worse} of {n}");
    assert!(asked >= cropped, "asked {asked:.3} < cropped {cropped:.3}");
    assert!(asked > 0.3, "{asked}");
    assert!(worse * 5 <= n, "worse on {worse} of {n} questions");
}

#[test]
fn caches_answer_repeats_and_paraphrases_but_never_from_a_changed_state() {
    let dir = tmp();
    let e = engine_at(dir.path());
    let ns = "cache";
    ingest_text(
        &e,
        ns,
        "acme-2022",
        "Acme Corp reported revenue of $3.0 billion in 2022. Its plant in Lyon opened.",
        "2022",
    );
    let t2 = ingest_text(
        &e,
        ns,
        "acme-2023",
        "Acme Corp reported revenue of $4.4 billion in 2023. Its plant in Porto opened.",
        "2023",
    );
    let ask = |r: QueryRequest| e.query(ns, &r).unwrap();
    let question = "What revenue did Acme Corp report in 2023?";
    let first = ask(q(question));
    assert!(first.cache.is_none());

    // The same request (whitespace aside): the exact cache, the same answer.
    let again = ask(q("What  revenue did Acme Corp report\nin 2023?"));
    let hit = again.cache.as_ref().expect("an exact hit");
    assert_eq!(hit.kind, "exact");
    assert_eq!(again.context, first.context);

    // A paraphrase: the semantic cache, naming the question it reused.
    let para = ask(q(
        "Could you tell me what revenue did Acme Corp report in 2023?",
    ));
    let hit = para.cache.as_ref().expect("a semantic hit");
    assert_eq!(
        (hit.kind.as_str(), hit.category),
        ("semantic", Category::Head)
    );
    assert_eq!(hit.question, question);
    assert!(hit.similarity >= 0.9);
    assert_eq!(para.context, first.context);

    // Another period, another budget, `explain`: never from the cache.
    assert!(
        ask(q("What revenue did Acme Corp report in 2022?"))
            .cache
            .is_none()
    );
    let smaller = QueryRequest {
        budget_chars: Some(500),
        ..q(question)
    };
    assert!(ask(smaller).cache.is_none());
    let explained = QueryRequest {
        explain: true,
        ..q(question)
    };
    assert!(ask(explained.clone()).cache.is_none());
    assert!(ask(explained).cache.is_none());

    // An as-of read, then a paraphrase of it.
    let past = |text: &str| QueryRequest {
        as_of_tx: Some(t2),
        ..q(text)
    };
    assert!(ask(past(question)).cache.is_none());
    let hit = ask(past(
        "Please tell me what revenue did Acme Corp report in 2023?",
    ))
    .cache
    .expect("a semantic as-of hit");
    assert_eq!(hit.category, Category::AsOf);

    // A write: nothing about the current state comes from before it ...
    ingest_text(
        &e,
        ns,
        "acme-2023-restated",
        "Acme Corp restated its revenue for 2023 to $4.6 billion.",
        "2023",
    );
    let after = ask(q(question));
    assert!(after.cache.is_none(), "{:?}", after.cache);
    assert!(after.context.contains("4.6"), "{}", after.context);
    assert!(
        ask(q(
            "Could you tell me what revenue did Acme Corp report in 2023?"
        ))
        .cache
        .is_some_and(|h| h.question == question && h.kind == "semantic"),
        "the new answer is cached again"
    );
    // ... while the past is still the past.
    let hit = ask(past(
        "I would like to know what revenue did Acme Corp report in 2023?",
    ))
    .cache
    .expect("as-of answers outlive writes");
    assert_eq!(hit.category, Category::AsOf);

    // An erase changes the past: as-of answers from before it are gone.
    e.erase_document(ns, "acme-2023", "test", Some("privacy request".into()))
        .unwrap();
    let r = ask(past(question));
    assert!(r.cache.is_none(), "{:?}", r.cache);
    assert!(!r.context.contains("4.4 billion"), "{}", r.context);
    let stats = e.cache_stats();
    assert!(stats.exact_hits >= 1 && stats.semantic_hits >= 3 && stats.misses >= 6);
}

/// `embedder = "minilm"` without its model (or in a build without the `minilm` feature) stops
/// at start-up with the fix in the message, never with a panic or a silent fallback.
#[test]
fn minilm_without_model_or_feature_fails_at_open_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::with_data_dir(dir.path());
    cfg.embedder = "minilm".into();
    cfg.minilm_dir = dir.path().join("no-model-here");
    let err = match Engine::open(cfg) {
        Ok(_) => panic!("opened without a model"),
        Err(e) => e,
    };
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("scripts/install-model.sh"), "{msg}");
    if cfg!(feature = "minilm") {
        assert!(msg.contains("no-model-here"), "{msg}");
    } else {
        assert!(msg.contains("--features minilm"), "{msg}");
    }
}

/// Index files damaged on disk (a crash, a hand edit) never leave a namespace unreadable: the
/// indexes are rebuilt from the store on open and answer as before. (Seen once in 642 SIGKILLs
/// of the crash drill: the restarted server answered `500 index_error` for the namespace.)
#[test]
fn damaged_index_files_are_rebuilt_from_the_store_on_open() {
    let dir = tmp();
    let ask = |e: &Engine| {
        e.query("n", &q("Where did Acme Corp open a plant?"))
            .unwrap()
            .context
    };
    let before = {
        let e = engine_at(dir.path());
        ingest_text(
            &e,
            "n",
            "a",
            "In 2020, Acme Corp opened a plant in Berlin.",
            "2020",
        );
        ingest_text(
            &e,
            "n",
            "b",
            "In 2021, Zorblax Ltd hired 40 engineers in Lyon.",
            "2021",
        );
        e.flush().unwrap();
        ask(&e)
    };
    assert!(before.contains("Berlin"), "{before}");
    let idx = dir.path().join("index").join("n");
    type Spoil<'a> = &'a dyn Fn(&std::path::Path);
    let damage: [(&str, Spoil); 4] = [
        ("text/meta.json", &|p| std::fs::write(p, "garbage").unwrap()),
        // The first segment file of the fact vectors, cut short.
        ("vectors/facts.segments", &|p| {
            let f = p.with_file_name(&saved_segments(p)[0]);
            let b = std::fs::read(&f).unwrap();
            std::fs::write(&f, &b[..b.len() / 3]).unwrap();
        }),
        ("vectors/facts.segments", &|p| {
            std::fs::write(p, "[\"facts.s1").unwrap()
        }),
        ("vectors/checkpoint.json", &|p| {
            std::fs::write(p, "{\"tx\": 99999").unwrap()
        }),
    ];
    for (file, spoil) in damage {
        let p = idx.join(file);
        assert!(p.exists(), "{file} is not where the test expects it");
        spoil(&p);
        let e = engine_at(dir.path());
        assert_eq!(ask(&e), before, "after damaging {file}");
        e.flush().unwrap();
    }
}

#[test]
fn words_split_by_pdf_ligatures_are_found_once_repaired() {
    // Audi's 2012 report was converted from PDF with "fi" ligatures split off ("key fi gures",
    // "the fi rst half"): ingest joins them, so a question in plain words finds the sentence.
    let Some(a) = audi() else { return };
    let r = a
        .engine
        .query(
            "default",
            &QueryRequest {
                budget_chars: Some(4000),
                ..q("When will the main key figures for 2013 be revised, according to the 2012 report?")
            },
        )
        .unwrap();
    assert!(
        r.context
            .contains("The main key figures for 2013 will be revised in the first half of 2014."),
        "{}",
        r.context
    );
    assert!(!r.context.contains(" fi rst") && !r.context.contains("fi gures"));
}

#[test]
fn a_repaired_document_sent_again_is_a_duplicate() {
    // The stored text is the repaired one; the document is known by the text as sent, so
    // sending it again (or to a store made before the repair) adds nothing.
    let dir = tmp();
    let e = engine_at(&dir.path().join("data"));
    let text = "In 2012 the fi rst plant was certifi ed. The key fi gures rose fi ve percent.";
    let first = e
        .ingest(
            "default",
            vec![doc("split", text, "2012")],
            &Default::default(),
        )
        .unwrap();
    assert_eq!(first.documents, 1);
    // Known by the text as sent, as a store made before the repair knows it.
    let ns = e.namespace("default").unwrap();
    let id = ns.store().document_by_external("split").unwrap().unwrap();
    let stored = ns.store().document(id, None).unwrap().unwrap();
    assert_eq!(
        stored.content_hash,
        pipeline::identity_hash(
            &pipeline::content_hash(text),
            None,
            Some("2012".parse().unwrap())
        )
    );
    let again = e
        .ingest(
            "default",
            vec![doc("split", text, "2012")],
            &Default::default(),
        )
        .unwrap();
    assert_eq!((again.documents, again.duplicates), (0, 1));
    assert!(again.rejected.is_empty(), "{:?}", again.rejected);
    let r = e
        .query("default", &q("When was the first plant certified?"))
        .unwrap();
    assert!(
        r.context.contains("the first plant was certified"),
        "{}",
        r.context
    );
}

fn headline(id: &str, text: &str, title: &str, time: &str) -> chronorag::ingest::PreparedDocument {
    prepare(
        DocumentInput {
            id: Some(id.into()),
            text: text.into(),
            title: Some(title.into()),
            time: Some(time.into()),
            ..Default::default()
        },
        None,
    )
    .unwrap()
}

/// The text of many news pages is the site's newsletter notice; the headline is all they say.
const NOTICE: &str = "We will use the details you have shared to manage your registration. \
                      You agree to the processing of this information as described in our Privacy Policy.";
const EYES: &str = "Ukraine embassies sent grisly packages of animal eyes";

#[test]
fn one_text_under_other_titles_dates_or_ids_is_other_documents() {
    // A document is what was sent: its text with its title and time. Two pages that share a
    // boilerplate text under different headlines (or dates) are two documents; one was once
    // dropped as a duplicate of the other, and its headline with it.
    let dir = tmp();
    let e = engine_at(&dir.path().join("data"));
    let docs = || {
        vec![
            headline("eyes", NOTICE, EYES, "2022-12-08"),
            headline(
                "labour",
                NOTICE,
                "Who would replace Keir Starmer?",
                "2022-12-08",
            ),
            headline("eyes-later", NOTICE, EYES, "2022-12-09"),
        ]
    };
    let first = e.ingest("default", docs(), &Default::default()).unwrap();
    assert_eq!((first.documents, first.duplicates), (3, 0), "{first:?}");
    // The same three again: nothing new, nothing refused.
    let again = e.ingest("default", docs(), &Default::default()).unwrap();
    assert_eq!((again.documents, again.duplicates), (0, 3));
    assert!(again.rejected.is_empty(), "{:?}", again.rejected);
    // The same text, title and time under another id (a second URL of one story) is a
    // document of its own: ids are the sender's, each fetched and erased by its own.
    let copy = e
        .ingest(
            "default",
            vec![headline("eyes-copy", NOTICE, EYES, "2022-12-08")],
            &Default::default(),
        )
        .unwrap();
    assert_eq!((copy.documents, copy.duplicates), (1, 0));
    assert_eq!(copy.document_ids, vec!["eyes-copy".to_string()]);
    let ns = e.namespace("default").unwrap();
    assert!(
        ns.store()
            .document_by_external("eyes-copy")
            .unwrap()
            .is_some()
    );
    // Without an id, a document is known by its content: the stored one answers.
    let anonymous = || {
        prepare(
            DocumentInput {
                text: NOTICE.into(),
                title: Some(EYES.into()),
                time: Some("2022-12-08".into()),
                ..Default::default()
            },
            None,
        )
        .unwrap()
    };
    let again = e
        .ingest("default", vec![anonymous()], &Default::default())
        .unwrap();
    assert_eq!((again.documents, again.duplicates), (0, 1));
    // Another content under a stored id is refused, and nothing is lost.
    let clash = e
        .ingest(
            "default",
            vec![headline(
                "eyes",
                "Another text entirely.",
                EYES,
                "2022-12-08",
            )],
            &Default::default(),
        )
        .unwrap();
    assert_eq!(clash.documents, 0);
    assert!(
        clash.rejected[0]
            .reason
            .contains("already exists with different content"),
        "{:?}",
        clash.rejected
    );
    // Erasing one of two documents that share a content leaves the other known by it.
    e.erase_document("default", "eyes", "dpo", Some("takedown".into()))
        .unwrap();
    let after = e
        .ingest("default", vec![anonymous()], &Default::default())
        .unwrap();
    assert_eq!((after.documents, after.duplicates), (0, 1));
    assert_eq!(after.document_ids, vec!["eyes-copy".to_string()]);
    let mut r = q("Which grisly item did Ukrainian embassies receive in packages?");
    r.now = Some("2022-12-09".into());
    let r = e.query("default", &r).unwrap();
    assert!(r.context.contains("animal eyes"), "{}", r.context);
}

#[test]
fn a_store_that_knew_documents_by_their_text_alone_still_recognises_them() {
    // Stores written before titles and times counted hold the text's hash: a document sent
    // again with the same title and time is a duplicate there, not a clash of ids.
    let dir = tmp();
    let data = dir.path().join("data");
    {
        let e = engine_at(&data);
        e.ingest(
            "default",
            vec![headline(
                "other",
                "The plant hired 500 apprentices.",
                "Hiring",
                "2012",
            )],
            &Default::default(),
        )
        .unwrap();
        let store = e.namespace("default").unwrap().store().clone();
        let (mut staged, _) = pipeline::stage(
            vec![headline("eyes", NOTICE, EYES, "2022-12-08")],
            &RulesExtractor,
            900,
        );
        assert_ne!(staged[0].hash, staged[0].text_hash);
        staged[0].hash = staged[0].text_hash.clone();
        let tx = store.head_tx() + 1;
        let opts = IngestOptions::default();
        let ws = pipeline::build(
            store.as_ref(),
            tx,
            &staged,
            "rules",
            &opts,
            &|_, _, _| vec![],
        )
        .unwrap()
        .ws;
        store.commit(ws).unwrap();
    }
    let e = engine_at(&data);
    let again = e
        .ingest(
            "default",
            vec![headline("eyes", NOTICE, EYES, "2022-12-08")],
            &Default::default(),
        )
        .unwrap();
    assert_eq!((again.documents, again.duplicates), (0, 1));
    assert!(again.rejected.is_empty(), "{:?}", again.rejected);
    // Under another headline the same text is another document there too.
    let other = e
        .ingest(
            "default",
            vec![headline(
                "labour",
                NOTICE,
                "Who would replace Keir Starmer?",
                "2022-12-08",
            )],
            &Default::default(),
        )
        .unwrap();
    assert_eq!((other.documents, other.duplicates), (1, 0));
}

#[test]
fn an_abstract_question_sees_the_periods_a_later_write_adds() {
    // The time-node keys an abstract question lists are kept between questions; a write that
    // adds a period must show up in the next answer.
    let dir = tmp();
    let e = engine_at(&dir.path().join("data"));
    let report = |year: &str, figure: &str| {
        doc(
            &format!("report-{year}"),
            &format!(
                "In {year} Northwind Analytics delivered {figure} units and opened a plant in Oslo."
            ),
            year,
        )
    };
    e.ingest(
        "default",
        vec![report("2019", "18,400")],
        &Default::default(),
    )
    .unwrap();
    e.summarize("default").unwrap();
    let mut ask = q("How did Northwind Analytics develop over the years?");
    ask.mode = Mode::Abstract;
    let nodes = |e: &Engine, ask: &QueryRequest| -> Vec<String> {
        let r = e.query("default", ask).unwrap();
        r.summaries.iter().map(|s| s.node.clone()).collect()
    };
    let before = nodes(&e, &ask);
    assert!(before.contains(&"2019".to_string()), "{before:?}");
    assert!(!before.contains(&"2021".to_string()), "{before:?}");
    e.ingest(
        "default",
        vec![report("2021", "21,900")],
        &Default::default(),
    )
    .unwrap();
    e.summarize("default").unwrap();
    let after = nodes(&e, &ask);
    assert!(
        after.contains(&"2019".to_string()) && after.contains(&"2021".to_string()),
        "{after:?}"
    );
}

#[test]
fn units_written_as_latex_by_a_pdf_converter_are_found_in_plain_words() {
    // PDF converters write units and formulas as inline LaTeX; ingest turns them back into the
    // text they stand for, so "CO2" and "km/h" find the sentence and the context reads plainly.
    let dir = tmp();
    let e = engine_at(&dir.path().join("data"));
    let text = "In 2012 the A3 e-tron emitted $35\\,\\mathfrak{g}\\,\\mathsf{C O}_{2}/\\mathsf{k m}$ \
                and reached $130\\;\\mathsf{k m}/\\mathsf{h}$ in electric mode.\n\n\
                The plant in Ingolstadt hired 500 apprentices in 2012.";
    let sent = e
        .ingest(
            "default",
            vec![doc("latex", text, "2012")],
            &Default::default(),
        )
        .unwrap();
    assert_eq!(sent.documents, 1);
    let r = e
        .query("default", &q("How much CO2 per km did the A3 e-tron emit?"))
        .unwrap();
    assert!(
        r.context
            .contains("emitted 35 g CO2/km and reached 130 km/h in electric mode."),
        "{}",
        r.context
    );
    assert!(!r.context.contains("mathsf"), "{}", r.context);
    // Known by the text as sent: sending it again adds nothing.
    let again = e
        .ingest(
            "default",
            vec![doc("latex", text, "2012")],
            &Default::default(),
        )
        .unwrap();
    assert_eq!((again.documents, again.duplicates), (0, 1));
}

/// A sentence repeated in several documents (syndicated boilerplate) is one fact hit that cites
/// every document, not one hit per copy crowding out the rest of the list.
#[test]
fn a_sentence_repeated_across_documents_is_one_fact_hit_citing_each() {
    let dir = tmp();
    let e = engine_at(dir.path());
    let repeated = "Heat records were also set in Alabama, Tennessee and North Carolina.";
    for (i, day) in ["2022-03-10", "2022-05-16", "2022-07-11"]
        .iter()
        .enumerate()
    {
        ingest_text(
            &e,
            "n",
            &format!("weather-{i}"),
            &format!("Weather report number {i} for the region.\n\n{repeated}"),
            day,
        );
    }
    ingest_text(
        &e,
        "n",
        "other",
        "Phoenix set a heat record of 118 degrees on Tuesday.",
        "2022-07-12",
    );
    let r = e
        .query(
            "n",
            &QueryRequest {
                query: "heat records Alabama Tennessee".into(),
                top_k: Some(10),
                ..q("")
            },
        )
        .unwrap();
    let copies: Vec<_> = r
        .facts
        .iter()
        .filter(|f| f.description == repeated)
        .collect();
    assert_eq!(copies.len(), 1, "{:#?}", r.facts);
    let docs: BTreeSet<&str> = copies[0]
        .sources
        .iter()
        .map(|s| s.document.as_str())
        .collect();
    assert_eq!(
        docs,
        BTreeSet::from(["weather-0", "weather-1", "weather-2"]),
        "{:#?}",
        copies[0]
    );
    // The other statement is still listed.
    assert!(
        r.facts.iter().any(|f| f.description.contains("Phoenix")),
        "{:#?}",
        r.facts
    );
}

/// Issue 10: among candidates from many documents (news), a document's passages after its
/// first one weigh less, so one article that names the subject in every paragraph does not
/// take the first places from the others (with the few documents of yearly reports, a
/// document gives up to three at full weight).
#[test]
fn one_long_article_among_many_does_not_take_the_first_places() {
    let dir = tmp();
    let e = engine_at(dir.path());
    let ns = "news";
    // One long article about the crane, its paragraphs far enough apart to be passages of
    // their own, each naming the crane and its harbour twice.
    let words = [
        "bakery", "library", "stadium", "museum", "garden", "station", "market", "theatre",
        "school", "bridge", "river", "castle", "tower", "square", "chapel", "harvest",
    ];
    let long: String = (0..8)
        .map(|i| {
            // Distinct filler per paragraph (a pseudo-random word order), so that no paragraph
            // is a copy of another.
            let mut x = 17 + i as u64;
            let filler: String = (0..200)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    format!("the {} ", words[(x >> 60) as usize])
                })
                .collect();
            format!(
                "The Northwind harbour crane collapsed, and the Northwind harbour crane \
                 operator number {i} described the crane collapse at the harbour. Then {filler}.\n\n"
            )
        })
        .collect();
    ingest_text(&e, ns, "long", &long, "2022-06-10");
    // Fifteen short articles, each naming the crane once, with a detail of its own.
    let details = [
        "a gust of wind",
        "a worn cable",
        "a missed inspection",
        "a software fault",
        "an overloaded hook",
        "a cracked weld",
        "a power cut",
        "a loose bolt",
        "a rusty pin",
        "a frozen brake",
        "a bent jib",
        "a wrong counterweight",
        "a sunken footing",
        "an untrained driver",
        "a faulty sensor",
    ];
    for (i, d) in details.iter().enumerate() {
        ingest_text(
            &e,
            ns,
            &format!("short-{i}"),
            &format!("Investigators said the Northwind harbour crane collapse came from {d}."),
            &format!("2022-06-{:02}", 11 + i / 2),
        );
    }
    let mut req = q("Why did the Northwind harbour crane collapse?");
    req.budget_chars = Some(6000);
    req.now = Some("2022-06-20".into());
    let r = e.query(ns, &req).unwrap();
    let docs: Vec<&str> = r
        .passages
        .iter()
        .filter_map(|p| p.document.as_deref())
        .collect();
    let distinct: BTreeSet<&str> = docs.iter().copied().collect();
    assert_eq!(distinct.len(), 16, "every article is cited: {docs:?}");
    let long_first = docs.iter().take(5).filter(|d| **d == "long").count();
    assert!(
        long_first <= 2,
        "the long article takes {long_first} of the first five places: {docs:?}"
    );
}

#[test]
fn a_fact_of_the_period_stated_in_a_later_article_reaches_the_context() {
    let dir = tmp();
    let e = engine_at(dir.path());
    let ns = "news";
    // Sixty articles of 2017 about coaches leading teams to victory: every one matches the
    // question's common words, and together they fill the chunk ranking of the year.
    let teams = [
        "Rovers",
        "United",
        "Athletic",
        "Wanderers",
        "Albion",
        "Rangers",
        "Town",
        "City",
        "Harriers",
        "Olympic",
    ];
    let mut docs: Vec<chronorag::ingest::PreparedDocument> = (0..60)
        .map(|i| {
            let team = teams[i % teams.len()];
            doc(
                &format!("coach-2017-{i}"),
                &format!(
                    "The head coach of the {team} football squad, coach number {i}, led the \
                     national team to victory at the regional cup. The squad of {team} \
                     celebrated the victory of its national team coach."
                ),
                &format!("2017-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
            )
        })
        .collect();
    // One article of 2022 that states what happened in 2017.
    docs.push(doc(
        "euro-2022",
        "England's coach Sarina Wiegman is preparing for the final. In 2017, Sarina Wiegman \
         led the Netherlands to victory at the Women's Euro.",
        "2022-07-20",
    ));
    e.ingest(ns, docs, &IngestOptions::default()).unwrap();
    let mut req = q(
        "Head coach Sarina Wiegman previously led which national team to victory at the \
         Women's Euro 2017?",
    );
    // Asked without a `now` (the default is the newest data), "Euro 2017" is a hard scope; at
    // a given `now` it would name an event (see the next test).
    req.budget_chars = Some(2000);
    let r = e.query(ns, &req).unwrap();
    let scope = r.plan.time_scope.as_ref().expect("a scope");
    assert!(scope.hard, "2017 is a hard scope: {scope:?}");
    assert!(
        r.context.contains("Netherlands"),
        "the 2022 article stating the 2017 fact is in the context:\n{}",
        r.context
    );
}

#[test]
fn a_question_asked_at_a_given_now_prefers_what_is_reported_then() {
    let dir = tmp();
    let e = engine_at(dir.path());
    let ns = "news";
    let airlines = [
        "Aurora",
        "Borealis",
        "Cirrus",
        "Delta Wing",
        "Equator",
        "Fjord",
    ];
    let mut docs: Vec<chronorag::ingest::PreparedDocument> = Vec::new();
    // Earlier in 2022: many articles about airline rankings for 2022.
    for i in 0..30 {
        let a = airlines[i % airlines.len()];
        docs.push(doc(
            &format!("ranking-{i}"),
            &format!(
                "{a} Air was named the world's best airline for 2022 by the readers of travel \
                 magazine number {i}."
            ),
            &format!("2022-{:02}-{:02}", 1 + i % 6, 1 + i % 28),
        ));
    }
    docs.push(doc(
        "skytrax-2022",
        "Qatar Airways was named the world's best airline for 2022 at the awards in London, \
         where the airline also won prizes for its lounges and its business class seats.",
        "2022-09-27",
    ));
    // In 2020: articles about the election's grand jury, and one of 2022 about the inquiry.
    for i in 0..30 {
        docs.push(doc(
            &format!("election-{i}"),
            &format!(
                "A grand jury investigating the 2020 election heard witness number {i} about \
                 interference in the election count."
            ),
            &format!("2020-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
        ));
    }
    docs.push(doc(
        "inquiry-2022",
        "Rudy Giuliani appeared before the special grand jury in Atlanta investigating \
         interference in the 2020 election.",
        "2022-08-17",
    ));
    e.ingest(ns, docs, &IngestOptions::default()).unwrap();

    // The year of `now` is a hard scope, and recent evidence ranks first inside it.
    let mut req = q("Which airline was named the world's best airline for 2022?");
    req.budget_chars = Some(300);
    req.now = Some("2022-09-29".into());
    let r = e.query(ns, &req).unwrap();
    let scope = r.plan.time_scope.as_ref().expect("a scope");
    assert!(scope.hard, "{scope:?}");
    assert!(r.context.contains("Qatar"), "{}", r.context);

    // A year naming an event before `now`'s year is no scope: the question is about now.
    let mut req = q(
        "Rudy Giuliani appeared before a special grand jury investigating interference in the \
         2020 election. Where is the inquiry taking place?",
    );
    req.budget_chars = Some(300);
    req.now = Some("2022-08-19".into());
    let r = e.query(ns, &req).unwrap();
    let scope = r.plan.time_scope.as_ref().expect("a scope");
    assert!(!scope.hard, "{scope:?}");
    assert_eq!(scope.source, "now");
    assert!(
        scope.reason.contains("\"2020\" names an event"),
        "{}",
        scope.reason
    );
    assert!(r.context.contains("Atlanta"), "{}", r.context);
}

#[test]
fn deterministic_indexes_build_the_same_vectors_from_the_same_documents() {
    let build = || -> (tempfile::TempDir, Vec<u8>, Vec<u8>) {
        let dir = tmp();
        let mut cfg = Config::with_data_dir(dir.path());
        cfg.deterministic_indexes = true;
        let e = Engine::open(cfg.clone()).unwrap();
        // 120 chunks in one transaction: their vectors go in as one large upsert, which
        // inserts from several threads unless the option makes it serial.
        let docs = (0..120)
            .map(|i| {
                doc(
                    &format!("report-{i}"),
                    &format!(
                        "In Q{} 2023, Company{i} Corp reported revenue of ${i}.{} billion. \
                         Company{i} Corp opened a plant in City{i} in 2022. Chief executive \
                         Person{i} said demand in Region{i} grew by {}% in 2023.",
                        1 + i % 4,
                        i % 10,
                        5 + i % 20
                    ),
                    "2023-12-31",
                )
            })
            .collect();
        e.ingest("det", docs, &IngestOptions::default()).unwrap();
        e.close().unwrap();
        let vectors = cfg.index_dir("det").join("vectors");
        let ingested = saved_vector_bytes(&vectors.join("chunks.segments"));
        // Lost vectors are rebuilt from the store when the namespace opens again.
        std::fs::remove_dir_all(&vectors).unwrap();
        let e = Engine::open(cfg.clone()).unwrap();
        e.query("det", &q("Company7 revenue")).unwrap();
        e.close().unwrap();
        let rebuilt = saved_vector_bytes(&vectors.join("chunks.segments"));
        (dir, ingested, rebuilt)
    };
    let (_a, first, first_rebuilt) = build();
    let (_b, second, second_rebuilt) = build();
    assert!(
        first.len() > 10_000,
        "{} bytes of chunk vectors",
        first.len()
    );
    assert!(first == second, "two ingests of the same documents differ");
    assert!(
        first_rebuilt == second_rebuilt,
        "two rebuilds on open of the same records differ"
    );
}

#[test]
fn questions_answered_side_by_side_get_what_each_gets_alone() {
    // A question answered while no other runs searches the facts' vectors on a second thread;
    // beside another question it keeps them on its own. Both must give the same answer.
    let dir = tmp();
    let mut config = Config::with_data_dir(dir.path());
    config.cache.exact_mb = 0;
    config.cache.semantic = false;
    let e = Engine::open(config).unwrap();
    let companies = [
        "Acme Corp",
        "Globex",
        "Initech",
        "Umbrella",
        "Hooli",
        "Stark Industries",
    ];
    let mut docs = Vec::new();
    for (i, c) in companies.iter().enumerate() {
        for y in 2019..2024 {
            docs.push(doc(
                &format!("{i}-{y}"),
                &format!(
                    "In {y}, {c} reported revenue of ${}.{} billion and opened a plant in \
                     {}. {c} hired {} engineers that year, and its chief executive said \
                     demand for its products in {} was strong.",
                    i + 2,
                    y % 10,
                    ["Berlin", "Munich", "Lyon", "Turin", "Leeds", "Porto"][(i + y as usize) % 6],
                    100 * (i + 1) + y as usize % 7,
                    ["Europe", "Asia", "America"][(y as usize) % 3],
                ),
                &y.to_string(),
            ));
        }
    }
    e.ingest("n", docs, &IngestOptions::default()).unwrap();
    let questions: Vec<QueryRequest> = companies
        .iter()
        .flat_map(|c| {
            [
                q(&format!("What revenue did {c} report in 2021?")),
                q(&format!("Where did {c} open a plant?")),
                q(&format!(
                    "How many engineers did {c} hire from 2019 to 2022?"
                )),
            ]
        })
        .collect();
    let alone: Vec<(String, Vec<u64>)> = questions
        .iter()
        .map(|r| {
            let a = e.query("n", r).unwrap();
            (a.context, a.facts.iter().map(|f| f.id).collect())
        })
        .collect();
    assert!(alone.iter().all(|(c, _)| !c.is_empty()));
    // Four threads at once, each going through every question, several times.
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let (e, questions, alone) = (&e, &questions, &alone);
                s.spawn(move || {
                    for round in 0..3 {
                        for (i, r) in questions.iter().enumerate().skip((t + round) % 3) {
                            let a = e.query("n", r).unwrap();
                            let facts: Vec<u64> = a.facts.iter().map(|f| f.id).collect();
                            assert_eq!(a.context, alone[i].0, "question {i}, thread {t}");
                            assert_eq!(facts, alone[i].1, "question {i}, thread {t}");
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
}

/// The segment files a vector index's list (`<name>.segments`) names, oldest first.
fn saved_segments(list: &std::path::Path) -> Vec<String> {
    let bytes = std::fs::read(list).expect("the vector index's segment list is saved");
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    v["segments"]
        .as_array()
        .expect("a list of segments")
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

/// A saved vector index's list and the bytes of every segment file it names.
fn saved_vector_bytes(list: &std::path::Path) -> Vec<u8> {
    let mut out = std::fs::read(list).unwrap();
    for name in saved_segments(list) {
        out.extend(std::fs::read(list.with_file_name(name)).expect("a listed segment is saved"));
    }
    out
}
