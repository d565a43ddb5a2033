//! Time-node summaries: incremental recompute of dirty nodes only, unchanged inputs never
//! recomputed, versions readable as of a transaction, and content a reader would recognise.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use chronorag::ingest::IngestOptions;
use chronorag::ingest::input::{self, ReadItem};
use chronorag::model::Summary;
use chronorag::summary::extractive::Extractive;
use chronorag::summary::scheduler;
use chronorag::summary::{Draft, Summarizer, SummaryInput};
use chronorag::time::TimeKey;

use crate::support::{all_facts, audi, engine_at, ingest_text, longqa, tmp};

fn read_reports(
    years: std::ops::RangeInclusive<i32>,
) -> Option<Vec<chronorag::ingest::PreparedDocument>> {
    let corpus = longqa()?.join("corpus");
    let (files, _) = input::list_files(&[corpus]).unwrap();
    let mut docs = Vec::new();
    for f in files {
        let year: i32 =
            f.id.trim_end_matches(".md")
                .rsplit('-')
                .next()
                .unwrap()
                .parse()
                .unwrap();
        if !years.contains(&year) {
            continue;
        }
        input::read_file(&f.path, Some(&f.id), &mut |it| {
            if let ReadItem::Document { doc, .. } = it {
                docs.push(*doc);
            }
            input::Flow::Continue(())
        });
    }
    Some(docs)
}

/// Counts calls and delegates to the extractive summariser.
struct Counting(AtomicUsize);

impl Summarizer for Counting {
    fn name(&self) -> String {
        "extractive".into()
    }
    fn summarize(&self, input: &SummaryInput) -> chronorag::Result<Draft> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Extractive.summarize(input)
    }
}

#[test]
fn one_new_report_recomputes_only_the_nodes_it_touched() {
    let Some(old) = read_reports(2012..=2022) else {
        return;
    };
    let new = read_reports(2023..=2023).unwrap();
    let dir = tmp();
    let engine = engine_at(dir.path());
    engine
        .ingest("default", old, &IngestOptions::default())
        .unwrap();
    let first = engine.summarize("default").unwrap();
    assert!(first.recomputed.len() > 50, "{first:?}");
    let ns = engine.namespace("default").unwrap();
    let store = ns.store().clone();
    let versions_before: BTreeMap<TimeKey, Vec<Summary>> = store
        .nodes()
        .unwrap()
        .into_iter()
        .map(|n| (n.key, store.summary_versions(&n.key).unwrap()))
        .collect();
    assert!(versions_before.values().all(|v| v.len() == 1));
    // The key-only listing the query path reads lists exactly the nodes, in the same order.
    let keys: Vec<TimeKey> = store.nodes().unwrap().into_iter().map(|n| n.key).collect();
    assert_eq!(keys.len(), versions_before.len());
    assert_eq!(store.node_keys().unwrap(), keys);
    // Nothing dirty: a second pass calls the summariser zero times.
    let counting = Counting(AtomicUsize::new(0));
    let idx = engine.indexes(&ns).unwrap();
    let mut cache = scheduler::PoolCache::default();
    let again = scheduler::run(store.as_ref(), &idx, &counting, &mut cache).unwrap();
    assert!(again.recomputed.is_empty());
    assert_eq!(counting.0.load(Ordering::SeqCst), 0);

    let r = engine
        .ingest("default", new, &IngestOptions::default())
        .unwrap();
    let tx = store.tx(r.tx.unwrap()).unwrap().unwrap();
    let touched: BTreeSet<String> = tx.touched_nodes.iter().map(|k| k.to_string()).collect();
    let second = scheduler::run(store.as_ref(), &idx, &counting, &mut cache).unwrap();
    assert_eq!(
        counting.0.load(Ordering::SeqCst),
        second.recomputed.len(),
        "one call per recomputed node"
    );
    assert!(second.recomputed.iter().any(|k| k == "2023"));
    for k in &second.recomputed {
        assert!(
            touched.contains(k),
            "{k} was recomputed but the 2023 ingest did not touch it"
        );
    }
    // The 2023 report also states facts about earlier years ("in 2017 ..."): those nodes are
    // touched too. Every 2023 node is recomputed; nothing outside the touched set is.
    for k in &touched {
        if k.starts_with("2023") {
            assert!(
                second.recomputed.contains(k),
                "{k} was touched but not recomputed"
            );
        }
    }
    let untouched_years = (2012..=2022)
        .filter(|y| !touched.contains(&y.to_string()))
        .count();
    assert!(
        untouched_years >= 3,
        "the 2023 ingest touched almost every year: {touched:?}"
    );
    // Every node the ingest did not touch keeps exactly its versions.
    let mut kept = 0;
    for (k, before) in &versions_before {
        if touched.contains(&k.to_string()) {
            continue;
        }
        assert_eq!(&store.summary_versions(k).unwrap(), before, "{k} changed");
        kept += 1;
    }
    assert!(kept > 30, "only {kept} nodes were untouched");
    for y in 2012..=2021 {
        let k = TimeKey::parse(&y.to_string()).unwrap();
        if !touched.contains(&k.to_string()) {
            assert_eq!(
                store.summary_versions(&k).unwrap().len(),
                1,
                "{y} was re-summarised"
            );
        }
    }
    // Reading a node as of the first transaction returns the summary as it was then.
    let k2023 = TimeKey::parse("2023").unwrap();
    let y2022 = TimeKey::parse("2022").unwrap();
    let then = store.summary(&y2022, Some(1)).unwrap().unwrap();
    assert_eq!(&then, &versions_before[&y2022][0]);
    assert!(
        store.summary(&k2023, Some(1)).unwrap().is_none() || versions_before.contains_key(&k2023)
    );
    assert_eq!(
        store.summary(&k2023, None).unwrap().unwrap().reflects_tx,
        tx.id
    );
    assert!(store.dirty_nodes().unwrap().is_empty());
}

#[test]
fn audi_year_summaries_name_the_expected_themes() {
    let Some(a) = audi() else { return };
    a.engine.summarize("default").unwrap();
    let text_of = |y: &str| -> String {
        let t = a.engine.timeline("default", Some(y), None).unwrap();
        let s = t.summary.expect("summarised");
        assert!(!t.stale);
        assert!(
            s.findings.iter().all(|f| !f.facts.is_empty()),
            "findings cite facts"
        );
        format!(
            "{} {} {}",
            s.title,
            s.text,
            s.findings
                .iter()
                .map(|f| f.text.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        )
        .to_lowercase()
    };
    let y2020 = text_of("2020");
    assert!(
        y2020.contains("coronavirus") || y2020.contains("pandemic") || y2020.contains("covid"),
        "{y2020}"
    );
    for y in ["2019", "2020", "2021", "2023"] {
        let t = text_of(y);
        assert!(t.contains("electric"), "{y}: {t}");
    }
    let y2023 = text_of("2023");
    assert!(y2023.contains("e-tron"), "{y2023}");
    let y2012 = text_of("2012");
    assert!(
        y2012.contains("employees") && y2012.contains("responsibility"),
        "{y2012}"
    );
    for y in ["2016", "2019", "2022"] {
        let t = text_of(y);
        assert!(t.contains("audi"), "{y}");
        let environment = [
            "emission",
            "co2",
            "climate",
            "carbon",
            "environmental",
            "epa",
            "diesel",
        ];
        assert!(environment.iter().any(|w| t.contains(w)), "{y}: {t}");
    }
    // The timeline lists the report years with titles.
    let all = a.engine.timeline("default", None, None).unwrap();
    let years: BTreeSet<String> = all
        .children
        .iter()
        .filter(|c| c.fact_count > 50)
        .map(|c| c.node.clone())
        .collect();
    for y in 2012..=2023 {
        assert!(years.contains(&y.to_string()), "{y} missing from {years:?}");
    }
    // Unknown and impossible nodes.
    assert!(matches!(
        a.engine.timeline("default", Some("1850"), None),
        Err(chronorag::Error::NotFound(_))
    ));
    assert!(matches!(
        a.engine.timeline("default", Some("2019-Q5"), None),
        Err(chronorag::Error::Time(_))
    ));
}

/// A burst of writes is one background summary pass (a bulk load over HTTP paid for a pass
/// after every batch, a quarter of its time on the news set), and the summaries are current
/// once the writes stop.
#[test]
fn a_burst_of_writes_is_summarised_once_it_pauses() {
    let dir = tmp();
    let engine = std::sync::Arc::new(engine_at(&dir.path().join("data")));
    engine.start_summary_worker();
    let started = std::time::Instant::now();
    let writes = 80;
    for i in 0..writes {
        let day = 1 + i % 28;
        let month = 1 + i / 28;
        let doc = input::prepare(
            chronorag::ingest::DocumentInput {
                id: Some(format!("note-{i}")),
                text: format!(
                    "Northwind Analytics shipped {} units from its Oslo plant on that day.",
                    100 + i
                ),
                time: Some(format!("2021-{month:02}-{day:02}")),
                ..Default::default()
            },
            None,
        )
        .unwrap();
        // Not durable: a slow disk's flush could pause the burst and split it (what is tested is
        // the coalescing, not the flush).
        let opts = IngestOptions {
            durable: false,
            ..Default::default()
        };
        engine.ingest("default", vec![doc], &opts).unwrap();
    }
    let burst = started.elapsed();
    // The summaries catch up once the writes stop.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let t = engine.timeline("default", None, None).unwrap();
        if !t.stale && !t.children.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "summaries still stale a minute after the writes"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let year = engine.timeline("default", Some("2021"), None).unwrap();
    assert!(year.summary.is_some(), "no 2021 summary");
    // One pass for the burst, plus one per SUMMARY_MAX_WAIT it lasted, and room for two
    // pauses of a loaded machine; a pass after every few writes (what the worker did: 6 for
    // this burst in 1.2 s here) would be more.
    let passes = engine.summary_passes();
    let bound = 3 + burst.as_secs() / chronorag::engine::SUMMARY_MAX_WAIT.as_secs();
    assert!(
        passes <= bound,
        "{passes} summary passes for {writes} writes in {burst:?} (at most {bound})"
    );
}

/// A pass reads the pooled facts of earlier passes from its cache, not from the store: the
/// summaries it writes are the ones a pass with nothing cached writes over the same records.
#[test]
fn summaries_from_cached_pool_facts_equal_those_read_afresh() {
    let batch = |from: usize, to: usize| -> Vec<String> {
        (from..to)
            .map(|i| {
                format!(
                    "In Q{q} 2023, Company{c} Corp reported revenue of ${r}.{d} billion and \
                     delivered {u} units. Company{c} Corp opened a plant in City{i} in Q{q} \
                     2023. Its chief executive said demand in Region{c} grew by {g}% in 2023.",
                    q = 1 + i % 4,
                    c = i % 9,
                    r = 1 + i % 13,
                    d = i % 10,
                    u = 1000 + 37 * i,
                    g = 2 + i % 17,
                )
            })
            .collect()
    };
    let run = |warm: bool| -> (Vec<(String, String, String)>, usize) {
        let dir = tmp();
        let engine = engine_at(dir.path());
        let ns_ingest = |texts: Vec<String>, tag: &str| {
            for (i, t) in texts.iter().enumerate() {
                ingest_text(&engine, "s", &format!("{tag}-{i}"), t, "2023-12-31");
            }
        };
        ns_ingest(batch(0, 40), "a");
        let ns = engine.namespace("s").unwrap();
        let store = ns.store().clone();
        let idx = engine.indexes(&ns).unwrap();
        let mut cache = scheduler::PoolCache::default();
        scheduler::run(store.as_ref(), &idx, &Extractive, &mut cache).unwrap();
        let kept = cache.len();
        // The same facts again (their sources and confidence change) and new ones, in the
        // same periods; and one fact corrected.
        ns_ingest(batch(20, 60), "b");
        let id = all_facts(&engine, "s", None)
            .into_iter()
            .find(|f| f.description.contains("revenue"))
            .expect("a revenue fact")
            .id;
        let patch = serde_json::json!({"description": "Company1 Corp corrected its 2023 revenue."});
        engine
            .correct_fact(
                "s",
                id,
                &serde_json::from_value(patch).unwrap(),
                "test",
                Some("a typo".into()),
            )
            .unwrap();
        if !warm {
            cache = scheduler::PoolCache::default();
        }
        let second = scheduler::run(store.as_ref(), &idx, &Extractive, &mut cache).unwrap();
        assert!(second.recomputed.iter().any(|k| k == "2023"), "{second:?}");
        let all = store
            .nodes()
            .unwrap()
            .into_iter()
            .filter_map(|n| store.summary(&n.key, None).unwrap())
            .map(|s| (s.node.to_string(), s.text, s.input_hash))
            .collect();
        (all, kept)
    };
    let (warm, kept) = run(true);
    let (cold, _) = run(false);
    assert!(kept > 100, "the first pass cached {kept} facts");
    assert!(warm.len() >= 5, "{warm:?}");
    assert_eq!(warm, cold);
}
