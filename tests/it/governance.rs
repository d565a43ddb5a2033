//! Memory governance: edits, revert, rollback exactness (a property test over thousands of
//! random operation sequences), diff, the hash-chained audit log, erase, guarded invalidation.

use std::collections::{BTreeMap, BTreeSet};

use chronorag::governance::edit::{self, FactInput, FactPatch, ObjectInput};
use chronorag::governance::history;
use chronorag::ingest::extract::rules::RulesExtractor;
use chronorag::ingest::input::{DocumentInput, prepare};
use chronorag::ingest::{IngestOptions, pipeline};
use chronorag::model::{FactObject, Status, TxId};
use chronorag::query::QueryRequest;
use chronorag::store::{FactScan, NsStore, SledStore, Store, WriteSet};
use chronorag::time::{Interval, TimeKey};
use chronorag::{Engine, Error};

use crate::support::{engine_at, ingest_text, tmp};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

const COMPANIES: &[&str] = &["Acme Corp", "Beta Inc", "Gamma GmbH", "Delta AG"];
const TIMES: &[&str] = &["Q1 2023", "Q2 2023", "2022", "March 2023", "2021"];
const DOC_TIMES: &[&str] = &["2023-Q1", "2023-Q2", "2022", "2023"];

fn doc_time(r: &mut Rng) -> &'static str {
    DOC_TIMES[r.below(DOC_TIMES.len() as u64) as usize]
}

fn random_text(r: &mut Rng) -> String {
    let n = 1 + r.below(3);
    (0..n)
        .map(|_| {
            let c = r.pick(COMPANIES);
            let t = r.pick(TIMES);
            match r.below(4) {
                0 => format!(
                    "In {t}, {c} reported revenue of ${}.{} billion for the period.",
                    1 + r.below(5),
                    r.below(10)
                ),
                1 => format!(
                    "{c} hired {} engineers in Berlin in {t}.",
                    10 * (1 + r.below(9))
                ),
                2 => format!("Jane Doe, Chief Executive of {c}, said demand stayed strong in {t}."),
                _ => format!(
                    "{c} opened a new plant in Munich together with {} in {t}.",
                    r.pick(COMPANIES)
                ),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Everything a reader can see, as of a snapshot, in a comparable form.
fn digest(s: &dyn NsStore, as_of: Option<TxId>) -> String {
    let mut scan = FactScan::new(Interval::all(), 1_000_000);
    scan.as_of = as_of;
    let mut facts: Vec<String> = s
        .facts(&scan)
        .unwrap()
        .items
        .into_iter()
        .map(|f| {
            let mut src = f.sources.clone();
            src.sort();
            format!(
                "{}|{}|{:?}|{}|{}|{:?}|{:?}|{:?}|{}|{:?}|{:?}|{}|{:?}",
                f.id,
                f.subject,
                f.object,
                f.description,
                f.valid,
                f.granularity,
                f.status,
                src,
                f.confidence,
                f.invalid_from,
                f.invalidated_by,
                f.asserted_tx,
                f.retracted_tx
            )
        })
        .collect();
    facts.sort();
    let mut entities: Vec<String> = s
        .entities(0, 100_000, as_of)
        .unwrap()
        .into_iter()
        .map(|e| {
            let mut a = e.aliases.clone();
            a.sort();
            format!(
                "{}|{}|{:?}|{:?}|{:?}",
                e.id, e.name, a, e.kind, e.merged_into
            )
        })
        .collect();
    entities.sort();
    let docs: Vec<String> = s
        .documents(0, 100_000, as_of)
        .unwrap()
        .into_iter()
        .map(|d| format!("{}|{}", d.id, d.external_id))
        .collect();
    // The entity and valid-time index paths must agree with the full scan.
    let mut by_entity = BTreeMap::new();
    for e in s.entities(0, 100_000, as_of).unwrap() {
        let mut sc = FactScan::new(Interval::all(), 100_000);
        sc.as_of = as_of;
        sc.entity = Some(e.id);
        let ids: BTreeSet<u64> = s
            .facts(&sc)
            .unwrap()
            .items
            .into_iter()
            .map(|f| f.id)
            .collect();
        by_entity.insert(e.id, ids);
    }
    let mut windows = Vec::new();
    for w in ["2022", "2023-Q1", "2023-03"] {
        let mut sc = FactScan::new(TimeKey::parse(w).unwrap().interval(), 100_000);
        sc.as_of = as_of;
        let ids: BTreeSet<u64> = s
            .facts(&sc)
            .unwrap()
            .items
            .into_iter()
            .map(|f| f.id)
            .collect();
        windows.push(ids);
    }
    format!(
        "facts={facts:?}\nentities={entities:?}\ndocs={docs:?}\nby_entity={by_entity:?}\nwindows={windows:?}"
    )
}

fn commit(s: &dyn NsStore, mut ws: WriteSet) -> TxId {
    ws.durable = false;
    s.commit(ws).unwrap().id
}

fn active_facts(s: &dyn NsStore) -> Vec<u64> {
    s.facts(&FactScan::new(Interval::all(), 1_000_000))
        .unwrap()
        .items
        .into_iter()
        .map(|f| f.id)
        .collect()
}

/// One random operation; returns a label for failure reports.
fn random_op(s: &dyn NsStore, r: &mut Rng, doc_no: &mut u32) -> String {
    let head = s.head_tx();
    let tx = head + 1;
    let w = r.below(16);
    let result: Result<WriteSet, Error> = match w {
        0..=4 => {
            let n = 1 + r.below(2);
            let mut docs = Vec::new();
            for _ in 0..n {
                *doc_no += 1;
                let input = DocumentInput {
                    id: Some(format!("d{doc_no}")),
                    text: random_text(r),
                    time: Some(r.pick(DOC_TIMES).to_string()),
                    ..Default::default()
                };
                docs.push(prepare(input, None).unwrap());
            }
            let (staged, _) = pipeline::stage(docs, &RulesExtractor, 900);
            let opts = IngestOptions {
                durable: false,
                ..Default::default()
            };
            pipeline::build(s, tx, &staged, "rules", &opts, &|_, _, _| vec![]).map(|x| x.ws)
        }
        5 | 6 => {
            let input = FactInput {
                subject: r.pick(COMPANIES).to_string(),
                object: Some(ObjectInput::Literal(format!("{} units", r.below(50)))),
                description: format!("Manual note {} about {}", r.below(6), r.pick(COMPANIES)),
                time: r.pick(TIMES).to_string(),
                confidence: Some(0.9),
            };
            edit::assert_facts(s, tx, &[input], "prop", Some("test".into())).map(|x| x.0)
        }
        7 | 8 => {
            let ids = active_facts(s);
            if ids.is_empty() {
                return "skip".into();
            }
            edit::retract_fact(s, tx, *r.pick(&ids), "prop", Some("wrong".into()))
        }
        9 => {
            let ids = active_facts(s);
            if ids.is_empty() {
                return "skip".into();
            }
            let patch = FactPatch {
                description: Some(format!("Restated note {}", r.below(1000))),
                time: if r.below(2) == 0 {
                    Some(r.pick(TIMES).to_string())
                } else {
                    None
                },
                ..Default::default()
            };
            edit::correct_fact(s, tx, *r.pick(&ids), &patch, "prop", Some("fix".into()))
                .map(|x| x.0)
        }
        10 => {
            let docs = s.documents(0, 1000, None).unwrap();
            if docs.is_empty() {
                return "skip".into();
            }
            let d = r.pick(&docs).external_id.clone();
            edit::retract_document(s, tx, &d, "prop", Some("withdrawn".into()))
        }
        11 => {
            let es = s.entities(0, 1000, None).unwrap();
            if es.is_empty() {
                return "skip".into();
            }
            let e = r.pick(&es).id;
            edit::rename_entity(
                s,
                tx,
                e,
                &format!("Renamed {}", r.below(1_000_000)),
                "prop",
                None,
            )
        }
        12 => {
            let es = s.entities(0, 1000, None).unwrap();
            if es.len() < 2 {
                return "skip".into();
            }
            let a = r.pick(&es).id;
            let b = r.pick(&es).id;
            if a == b {
                return "skip".into();
            }
            let facts_of = |e: u64| -> Vec<u64> {
                let mut sc = FactScan::new(Interval::all(), 100_000);
                sc.entity = Some(e);
                sc.include_retracted = true;
                s.facts(&sc)
                    .unwrap()
                    .items
                    .into_iter()
                    .map(|f| f.id)
                    .collect()
            };
            edit::merge_entities(s, tx, a, &[b], &facts_of, "prop", Some("same".into()))
                .map(|x| x.0)
        }
        13 => {
            if head == 0 {
                return "skip".into();
            }
            history::revert(s, tx, 1 + r.below(head), "prop", Some("undo".into()))
        }
        _ => {
            if head == 0 {
                return "skip".into();
            }
            history::rollback(s, tx, r.below(head), "prop", Some("back".into()))
        }
    };
    match result {
        Ok(ws) => {
            let kind = ws.kind.clone();
            commit(s, ws);
            format!("{kind:?}")
        }
        Err(Error::Conflict(_)) | Err(Error::Invalid(_)) => "refused".into(),
        Err(e) => panic!("operation {w} failed: {e}"),
    }
}

/// Cases of the rollback property (`CHRONORAG_PROPTEST_CASES`, default 2000 on sled; a tenth of
/// them on PostgreSQL, where each case costs round trips to a server).
fn property_cases() -> u64 {
    std::env::var("CHRONORAG_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

#[test]
fn rollback_equals_as_of_over_thousands_of_random_sequences() {
    let dir = tmp();
    let store = SledStore::open(dir.path()).unwrap();
    rollback_property(&store, property_cases());
}

#[test]
fn rollback_equals_as_of_over_random_sequences_on_postgres() {
    let dir = tmp();
    let url = crate::support::postgres_db(&dir.path().display().to_string());
    let store = chronorag::store::postgres::PgStore::open(&url).unwrap();
    rollback_property(&store, (property_cases() / 10).max(20));
}

/// Random sequences of writes, edits, retractions and rollbacks: after a rollback to t, reads
/// equal the as-of-t reads and what t showed; as-of reads of the past never change.
fn rollback_property(store: &dyn Store, cases: u64) {
    let mut rollbacks = 0;
    for case in 0..cases {
        let seed = 0x9e37_79b9_7f4a_7c15 ^ (case + 1).wrapping_mul(0x1000_0000_01b3);
        let mut r = Rng(seed);
        let ns = store.create_namespace(&format!("p{case}")).unwrap();
        let s = ns.as_ref();
        let mut seen: BTreeMap<TxId, String> = BTreeMap::from([(0, digest(s, None))]);
        let mut log = Vec::new();
        let mut doc_no = 0;
        let steps = 4 + r.below(9);
        for _ in 0..steps {
            let before = s.head_tx();
            let label = random_op(s, &mut r, &mut doc_no);
            log.push(label.clone());
            let head = s.head_tx();
            if head == before {
                continue;
            }
            let now = digest(s, None);
            if let Some(to) = label
                .strip_prefix("Rollback { to: ")
                .and_then(|x| x.strip_suffix(" }"))
            {
                let to: TxId = to.parse().unwrap();
                rollbacks += 1;
                assert_eq!(
                    now,
                    digest(s, Some(to)),
                    "case {case} (seed {seed}): after rollback to {to} the reads differ from as_of {to}; ops {log:?}"
                );
                assert_eq!(
                    now, seen[&to],
                    "case {case} (seed {seed}): after rollback to {to} the reads differ from what tx {to} showed; ops {log:?}"
                );
            }
            seen.insert(head, now);
            // As-of reads of an earlier snapshot never change.
            let t = r.below(head + 1);
            assert_eq!(
                digest(s, Some(t)),
                seen[&t],
                "case {case} (seed {seed}): as_of {t} changed; ops {log:?}"
            );
        }
        assert!(s.verify_audit().unwrap().ok);
    }
    assert!(
        rollbacks > cases / 4,
        "only {rollbacks} rollbacks were exercised"
    );
}

#[test]
fn after_rollback_queries_and_summaries_equal_the_as_of_reads() {
    let dir = tmp();
    let engine = engine_at(dir.path());
    let questions = [
        "What revenue did Acme Corp report in Q1 2023?",
        "Who said demand stayed strong?",
        "How did hiring evolve between 2021 and 2023?",
    ];
    for case in 0..25u64 {
        let ns = format!("e{case}");
        let mut r = Rng(0xdead_beef ^ (case + 7).wrapping_mul(0x9e37_79b9));
        for i in 0..(3 + r.below(4)) {
            ingest_text(
                &engine,
                &ns,
                &format!("doc{i}"),
                &random_text(&mut r),
                doc_time(&mut r),
            );
            engine.summarize(&ns).unwrap();
        }
        let store = engine.namespace(&ns).unwrap().store().clone();
        let t = 1 + r.below(store.head_tx());
        // More changes after t: ingests, edits.
        for i in 0..(2 + r.below(3)) {
            ingest_text(
                &engine,
                &ns,
                &format!("late{i}"),
                &random_text(&mut r),
                doc_time(&mut r),
            );
            let ids = active_facts(store.as_ref());
            let victim = *r.pick(&ids);
            engine
                .retract_fact(&ns, victim, "test", Some("wrong".into()))
                .unwrap();
            engine.summarize(&ns).unwrap();
        }
        engine
            .rollback(&ns, t, "test", Some("back to t".into()))
            .unwrap();
        let settled = engine.summarize(&ns).unwrap();
        assert!(!settled.recomputed.is_empty() || settled.unchanged > 0);
        for q in questions {
            let now = engine
                .query(
                    &ns,
                    &QueryRequest {
                        query: q.into(),
                        ..Default::default()
                    },
                )
                .unwrap();
            let then = engine
                .query(
                    &ns,
                    &QueryRequest {
                        query: q.into(),
                        as_of_tx: Some(t),
                        ..Default::default()
                    },
                )
                .unwrap();
            let ids = |x: &chronorag::query::QueryResult| -> (Vec<u64>, Vec<u64>) {
                (
                    x.facts.iter().map(|f| f.id).collect(),
                    x.chunks.iter().map(|c| c.id).collect(),
                )
            };
            assert_eq!(ids(&now), ids(&then), "case {case}: {q}");
            assert_eq!(now.context, then.context, "case {case}: {q}");
        }
        let years = engine.timeline(&ns, None, Some(t)).unwrap();
        for y in &years.children {
            let now = engine.timeline(&ns, Some(&y.node), None).unwrap().summary;
            let then = engine
                .timeline(&ns, Some(&y.node), Some(t))
                .unwrap()
                .summary;
            let view = |s: &Option<chronorag::model::SummaryView>| {
                s.as_ref()
                    .map(|s| (s.title.clone(), s.text.clone(), s.findings.clone()))
            };
            assert_eq!(
                view(&now),
                view(&then),
                "case {case}: summary of {}",
                y.node
            );
        }
        assert_eq!(
            engine
                .facts(&ns, &Default::default())
                .unwrap()
                .facts
                .iter()
                .map(|f| f.id)
                .collect::<Vec<_>>(),
            engine
                .facts(
                    &ns,
                    &chronorag::engine::FactListParams {
                        as_of_tx: Some(t),
                        ..Default::default()
                    }
                )
                .unwrap()
                .facts
                .iter()
                .map(|f| f.id)
                .collect::<Vec<_>>()
        );
    }
}

/// As-of reads skip facts created after the snapshot without asking the store; the catalog
/// learns each fact's first transaction from its history when a store is reopened. The answers
/// must not change across a reopen, and facts updated later (merged sources, retractions) must
/// still be seen as they were.
#[test]
fn as_of_reads_agree_before_and_after_a_reopen() {
    let dir = tmp();
    let ns = "reopen";
    let questions = [
        "What revenue did Acme Corp report in Q1 2023?",
        "How did hiring evolve between 2021 and 2023?",
        "What happened at Beta Inc in 2022?",
    ];
    let ask = |e: &Engine, t: TxId| -> Vec<Vec<u64>> {
        questions
            .iter()
            .map(|q| {
                e.query(
                    ns,
                    &QueryRequest {
                        query: (*q).into(),
                        as_of_tx: Some(t),
                        ..Default::default()
                    },
                )
                .unwrap()
                .facts
                .iter()
                .map(|f| f.id)
                .collect()
            })
            .collect()
    };
    let (head, before) = {
        let engine = engine_at(dir.path());
        let mut r = Rng(0x5eed);
        for i in 0..8 {
            ingest_text(
                &engine,
                ns,
                &format!("doc{i}"),
                &random_text(&mut r),
                doc_time(&mut r),
            );
            if i % 3 == 2 {
                let store = engine.namespace(ns).unwrap().store().clone();
                let ids = active_facts(store.as_ref());
                engine
                    .retract_fact(ns, *r.pick(&ids), "test", Some("wrong".into()))
                    .unwrap();
            }
        }
        let store = engine.namespace(ns).unwrap().store().clone();
        let head = store.head_tx();
        // Some fact changed after it was created, so the history path is exercised.
        let mut changed = 0;
        store
            .for_each_fact(&mut |f| {
                if f.updated_tx > f.asserted_tx || f.status != Status::Active {
                    changed += 1;
                }
                Ok(())
            })
            .unwrap();
        assert!(
            changed > 0,
            "the scenario changed no fact after creating it"
        );
        let before: Vec<_> = (1..=head).map(|t| ask(&engine, t)).collect();
        // Every fact an as-of read returns existed and was active at that snapshot.
        for (t, answers) in (1..=head).zip(&before) {
            for id in answers.iter().flatten() {
                let f = store.fact(*id, Some(t)).unwrap();
                assert!(
                    matches!(f, Some(ref f) if f.status == Status::Active),
                    "fact {id} returned as of tx {t} but not active then: {f:?}"
                );
            }
        }
        (head, before)
    };
    let engine = engine_at(dir.path());
    let after: Vec<_> = (1..=head).map(|t| ask(&engine, t)).collect();
    assert_eq!(before, after);
    assert!(before.iter().flatten().any(|ids| !ids.is_empty()));
}

#[test]
fn edits_revert_and_diff() {
    let dir = tmp();
    let e = engine_at(dir.path());
    let t1 = ingest_text(
        &e,
        "g",
        "q1",
        "In Q1 2023, Acme Corp reported revenue of $4.2 billion. Jane Doe, Chief Executive of Acme Corp, said demand was strong.",
        "2023-Q1",
    );
    let (t2, ids) = e
        .assert_facts(
            "g",
            &[FactInput {
                subject: "Acme Corp".into(),
                object: Some(ObjectInput::Entity("Berlin".into())),
                description: "Acme Corp moved its headquarters to Berlin".into(),
                time: "2023-03".into(),
                confidence: None,
            }],
            "alice",
            Some("from the press release".into()),
        )
        .unwrap();
    assert_eq!(t2.actor, "alice");
    assert_eq!(t2.reason.as_deref(), Some("from the press release"));
    let manual = ids[0];
    assert!(
        matches!(
            e.assert_facts(
                "g",
                &[FactInput {
                    subject: "Acme Corp".into(),
                    object: Some(ObjectInput::Entity("Berlin".into())),
                    description: "Acme Corp moved its headquarters to Berlin".into(),
                    time: "2023-03".into(),
                    confidence: None
                }],
                "alice",
                None
            ),
            Err(Error::Conflict(_))
        ),
        "asserting the same fact twice is a conflict"
    );
    // Correct: one transaction, old retracted, new asserted, reason required.
    let patch = FactPatch {
        time: Some("2023-04".into()),
        ..Default::default()
    };
    assert!(matches!(
        e.correct_fact("g", manual, &patch, "bob", None),
        Err(Error::Invalid(_))
    ));
    let (t3, new_id) = e
        .correct_fact("g", manual, &patch, "bob", Some("it was April".into()))
        .unwrap();
    assert_eq!(t3.kind.name(), "correct");
    assert_eq!(e.fact("g", manual, None).unwrap().status, Status::Retracted);
    assert_eq!(e.fact("g", new_id, None).unwrap().time, "2023-04");
    assert_eq!(
        e.fact("g", manual, Some(t2.id)).unwrap().status,
        Status::Active,
        "as of t2 the old fact stands"
    );
    // Diff t1 → t3.
    let d = e.diff("g", t1, t3.id).unwrap();
    assert_eq!(
        d.facts_asserted.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![new_id]
    );
    assert!(d.facts_retracted.is_empty(), "{d:?}");
    assert!(
        d.entities
            .iter()
            .any(|x| x.name == "Berlin" && x.change == "created")
    );
    let d = e.diff("g", t2.id, t3.id).unwrap();
    assert_eq!(
        d.facts_retracted.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![manual]
    );
    let text = d.to_text();
    assert!(text.contains("- fact") && text.contains("+ fact"), "{text}");
    // Revert t3: the correction is undone exactly.
    let t4 = e
        .revert("g", t3.id, "carol", Some("the correction was wrong".into()))
        .unwrap();
    assert_eq!(e.fact("g", manual, None).unwrap().status, Status::Active);
    assert_eq!(e.fact("g", new_id, None).unwrap().status, Status::Retracted);
    let ds = e.diff("g", t2.id, t4.id).unwrap();
    assert!(
        ds.facts_asserted.is_empty() && ds.facts_retracted.is_empty(),
        "{ds:?}"
    );
    // Nothing is deleted: the history shows all of it.
    let kinds: Vec<&str> = e
        .transactions("g", None, 10)
        .unwrap()
        .iter()
        .map(|t| t.kind.name())
        .collect();
    assert_eq!(kinds, vec!["revert", "correct", "assert", "ingest"]);
    // Rename and merge.
    let acme = e.entity("g", "Acme Corp", None).unwrap().id;
    e.rename_entity("g", "Acme Corp", "Acme Corporation", "dave", None)
        .unwrap();
    assert_eq!(
        e.entity("g", "Acme Corp", None).unwrap().name,
        "Acme Corporation",
        "the old name stays an alias"
    );
    let (_, moved) = e
        .merge_entities(
            "g",
            "Acme Corporation",
            &["Berlin".into()],
            "dave",
            Some("test merge".into()),
        )
        .unwrap();
    assert!(moved >= 1);
    assert_eq!(
        e.entity("g", "Berlin", None).unwrap().id,
        acme,
        "the merged name resolves to the survivor"
    );
    // Audit: one entry per transaction, chained.
    assert!(e.verify_audit().unwrap().ok);
    assert_eq!(
        e.audit("g", 1, 100).unwrap().len() as u64,
        e.namespace("g").unwrap().store().head_tx()
    );
}

#[test]
fn tampering_with_the_audit_log_is_detected_and_located() {
    let dir = tmp();
    {
        let e = engine_at(dir.path());
        for i in 0..5 {
            ingest_text(
                &e,
                "a",
                &format!("d{i}"),
                &format!("In 2021 Acme Corp opened plant number {i} in Munich."),
                "2021",
            );
        }
        assert!(e.verify_audit().unwrap().ok);
    }
    let store_dir = dir.path().join("store");
    // Edit entry 3 in place (the bytes of the store), keeping it valid JSON.
    {
        let db = crate::support::raw_sled(&store_dir);
        let t = db.open_tree("ns/a").unwrap();
        let mut key = vec![0x03u8];
        key.extend_from_slice(&3u64.to_be_bytes());
        let v = t.get(&key).unwrap().unwrap();
        let mut entry: serde_json::Value = serde_json::from_slice(&v).unwrap();
        entry["actor"] = "mallory".into();
        t.insert(&key, serde_json::to_vec(&entry).unwrap()).unwrap();
        db.flush().unwrap();
    }
    let e = engine_at(dir.path());
    let v = e.verify_audit().unwrap();
    assert!(!v.ok);
    assert_eq!(v.first_bad.as_deref(), Some("a:3"), "{v:?}");
    assert!(
        v.namespaces["a"]
            .problem
            .as_ref()
            .unwrap()
            .contains("modified")
    );
    drop(e);
    // Drop entry 2 entirely.
    {
        let db = crate::support::raw_sled(&store_dir);
        let t = db.open_tree("ns/a").unwrap();
        let mut key = vec![0x03u8];
        key.extend_from_slice(&2u64.to_be_bytes());
        t.remove(&key).unwrap();
        db.flush().unwrap();
    }
    let e = engine_at(dir.path());
    let v = e.verify_audit().unwrap();
    assert_eq!(v.first_bad.as_deref(), Some("a:2"), "{v:?}");
    assert!(
        v.namespaces["a"]
            .problem
            .as_ref()
            .unwrap()
            .contains("missing")
    );
}

pub fn files_contain(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                hits.push(p.display().to_string());
            }
        }
    }
    hits
}

#[test]
fn erase_removes_the_content_from_the_store_files_and_every_index() {
    let dir = tmp();
    let e = engine_at(dir.path());
    ingest_text(
        &e,
        "p",
        "keep",
        "In 2022, Acme Corp opened a plant in Munich with 300 workers.",
        "2022",
    );
    ingest_text(
        &e,
        "p",
        "private",
        "In 2022, Zebracorn Quuxley visited the Munich plant of Acme Corp. Zebracorn Quuxley complained about the canteen in 2022.",
        "2022",
    );
    e.summarize("p").unwrap();
    e.flush().unwrap();
    let secret = b"Zebracorn";
    assert!(
        !files_contain(dir.path(), secret).is_empty(),
        "the test needs the secret on disk first"
    );
    let tl = e.timeline("p", Some("2022"), None).unwrap();
    assert!(
        serde_json::to_string(&tl).unwrap().contains("Zebracorn"),
        "the summary used the document"
    );
    let before_facts = e.facts("p", &Default::default()).unwrap().facts.len();

    assert!(
        matches!(
            e.erase_document("p", "private", "dpo", None),
            Err(Error::Invalid(_))
        ),
        "a reason is required"
    );
    let r = e
        .erase_document("p", "private", "dpo", Some("GDPR request 42".into()))
        .unwrap();
    assert_eq!(r.documents, 1);
    assert!(r.facts >= 2 && r.entities >= 1, "{r:?}");
    e.flush().unwrap();
    // Gone from every file of the data folder: store, text index, vectors.
    let hits = files_contain(dir.path(), secret);
    assert!(hits.is_empty(), "erased text still in {hits:?}");
    // Gone from every read path and index.
    assert!(matches!(
        e.document("p", "private", None),
        Err(Error::NotFound(_))
    ));
    assert!(e.entity("p", "Zebracorn Quuxley", None).is_err());
    let q = e
        .query(
            "p",
            &QueryRequest {
                query: "Zebracorn Quuxley canteen complaint".into(),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(!q.context.contains("Zebracorn"));
    let idx = e.indexes(&e.namespace("p").unwrap()).unwrap();
    assert_eq!(
        idx.text
            .count_term(chronorag::index::text::TextKind::Chunk, "zebracorn")
            .unwrap(),
        0
    );
    assert_eq!(
        idx.text
            .count_term(chronorag::index::text::TextKind::Fact, "zebracorn")
            .unwrap(),
        0
    );
    let tl = e.timeline("p", Some("2022"), None).unwrap();
    assert!(!serde_json::to_string(&tl).unwrap().contains("Zebracorn"));
    // The other document is untouched.
    assert!(e.document("p", "keep", None).is_ok());
    let after_facts = e.facts("p", &Default::default()).unwrap().facts.len();
    assert_eq!(before_facts - after_facts, r.facts);
    // A tombstone: who, why, what — no content.
    let audit = e.audit("p", 1, 100).unwrap();
    let last = audit.last().unwrap();
    assert_eq!(last.action, "erase");
    assert_eq!(last.actor, "dpo");
    assert_eq!(last.reason.as_deref(), Some("GDPR request 42"));
    assert_eq!(last.details["erased"]["document"], "private");
    assert!(!serde_json::to_string(&audit).unwrap().contains("Zebracorn"));
    assert!(e.verify_audit().unwrap().ok);
    // The store still works and reopens.
    ingest_text(
        &e,
        "p",
        "after",
        "In 2023, Acme Corp hired 50 engineers in Berlin.",
        "2023",
    );
    drop(e);
    let e = engine_at(dir.path());
    assert!(e.document("p", "after", None).is_ok());
    assert!(e.verify_audit().unwrap().ok);
}

#[test]
fn erase_an_entity_everywhere() {
    let dir = tmp();
    let e = engine_at(dir.path());
    ingest_text(
        &e,
        "p",
        "a",
        "In 2022, Wobblefrost Ventures invested in Acme Corp. Acme Corp hired 40 engineers in 2022.",
        "2022",
    );
    // Asked before the erase: the chunk's text is now in the query-side chunk cache.
    let ask = |e: &chronorag::engine::Engine| {
        e.query(
            "p",
            &QueryRequest {
                query: "Who invested in Acme Corp?".into(),
                ..Default::default()
            },
        )
        .unwrap()
        .context
    };
    assert!(
        ask(&e).contains("Wobblefrost"),
        "the test needs it cached first"
    );
    let r = e
        .erase_entity("p", "Wobblefrost Ventures", "dpo", Some("request".into()))
        .unwrap();
    assert!(r.facts >= 1 && r.entities == 1);
    // The redacted chunk is read afresh, not served from the cache.
    let after = ask(&e);
    assert!(!after.contains("Wobblefrost"), "{after}");
    assert!(after.contains("Acme Corp hired 40 engineers"), "{after}");
    e.flush().unwrap();
    assert!(e.entity("p", "Wobblefrost Ventures", None).is_err());
    assert!(files_contain(dir.path(), b"Wobblefrost").is_empty());
    assert!(
        !e.facts("p", &Default::default()).unwrap().facts.is_empty(),
        "other facts remain"
    );
}

/// Two values one document gives for one period are not a conflict to review (a document lists
/// the figures of several things, or the extractor took its main subject for each); another
/// document's value for that period is.
#[test]
fn values_within_one_document_are_not_listed_as_conflicts() {
    let dir = tmp();
    let e = engine_at(dir.path());
    ingest_text(
        &e,
        "d",
        "list",
        "In Q3 2023, Acme Corp reported revenue of $4.2 billion. \
         In Q3 2023, Acme Corp reported revenue of $4.4 billion.",
        "2023-Q4",
    );
    let facts = e.facts("d", &Default::default()).unwrap().facts;
    assert!(
        facts
            .iter()
            .filter(|f| f.description.contains("revenue"))
            .count()
            >= 2,
        "{facts:#?}"
    );
    assert!(e.conflicts("d", None).unwrap().is_empty());
    ingest_text(
        &e,
        "d",
        "other",
        "In Q3 2023, Acme Corp reported revenue of $4.9 billion.",
        "2024-Q1",
    );
    let conflicts = e.conflicts("d", None).unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:#?}");
    assert!(conflicts[0].incoming_fact.description.contains("$4.9"));
}

/// A slot that has gathered a fact for each of many periods (here sixteen quarters of revenue)
/// still catches a restatement of its newest period: the check compares a new fact with the
/// filed facts whose time overlaps it, not with the first ones filed; and lists it once.
#[test]
fn a_restatement_is_caught_however_many_periods_its_slot_holds() {
    let dir = tmp();
    let e = engine_at(dir.path());
    let quarters: Vec<(i32, u32)> = (2020..2024)
        .flat_map(|y| (1..=4).map(move |q| (y, q)))
        .collect();
    let docs: Vec<_> = quarters
        .iter()
        .map(|(y, q)| {
            chronorag::ingest::input::prepare(
                chronorag::ingest::input::DocumentInput {
                    id: Some(format!("r{y}q{q}")),
                    text: format!(
                        "In Q{q} {y}, Acme Corp reported revenue of ${q}.{} billion.",
                        y - 2000
                    ),
                    time: Some(format!("{y}-Q{q}")),
                    ..Default::default()
                },
                None,
            )
            .unwrap()
        })
        .collect();
    e.ingest("s", docs, &chronorag::ingest::IngestOptions::default())
        .unwrap();
    assert!(
        e.conflicts("s", None).unwrap().is_empty(),
        "one fact per quarter"
    );
    ingest_text(
        &e,
        "s",
        "restated",
        "In Q4 2023, Acme Corp reported revenue of $9.9 billion.",
        "2024-Q1",
    );
    let conflicts = e.conflicts("s", None).unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:#?}");
    assert!(conflicts[0].existing_fact.description.contains("$4.23"));
    assert!(conflicts[0].incoming_fact.description.contains("$9.9"));
    // A third figure for the quarter is listed once, against the newest it contradicts (the
    // two before it conflict already): n statements of a period make n - 1 conflicts.
    ingest_text(
        &e,
        "s",
        "restated again",
        "In Q4 2023, Acme Corp reported revenue of $7.7 billion.",
        "2024-Q2",
    );
    let conflicts = e.conflicts("s", None).unwrap();
    assert_eq!(conflicts.len(), 2, "{conflicts:#?}");
    let last = conflicts
        .iter()
        .find(|c| c.incoming_fact.description.contains("$7.7"))
        .expect("the third figure is listed");
    assert!(last.existing_fact.description.contains("$9.9"), "{last:#?}");
}

#[test]
fn guarded_invalidation_ends_old_facts_only_when_trusted_and_lists_conflicts() {
    let dir = tmp();
    let e = engine_at(dir.path());
    // Facts about a year do not contradict facts about another year; open-ended ones do.
    ingest_text(
        &e,
        "c",
        "y1",
        "In 2019, the chief financial officer of Acme Corp was Ann Lee.",
        "2019",
    );
    ingest_text(
        &e,
        "c",
        "y2",
        "In 2021, the chief financial officer of Acme Corp was Bob Kim.",
        "2021",
    );
    ingest_text(
        &e,
        "c",
        "a",
        "Since 2020, the chief executive of Acme Corp is Jane Doe.",
        "2020",
    );
    ingest_text(
        &e,
        "c",
        "b",
        "Since 2022, the chief executive of Acme Corp is John Roe.",
        "2022",
    );
    let facts = e.facts("c", &Default::default()).unwrap().facts;
    assert!(
        facts
            .iter()
            .all(|f| f.invalid_from.is_none() || f.description.contains("Jane"))
    );
    let jane = facts
        .iter()
        .find(|f| f.description.contains("Jane Doe"))
        .unwrap();
    let john = facts
        .iter()
        .find(|f| f.description.contains("John Roe"))
        .unwrap();
    assert_eq!(
        jane.invalid_from.map(|d| d.to_string()).as_deref(),
        Some("2022-01-01"),
        "{jane:?}"
    );
    assert_eq!(jane.invalidated_by, Some(john.id));
    assert!(
        jane.status == chronorag::model::Status::Active,
        "invalidation ends validity; it does not retract"
    );
    // A restatement for the same period: both kept, one conflict listed.
    ingest_text(
        &e,
        "c",
        "c",
        "In Q3 2023, Acme Corp reported revenue of $4.2 billion.",
        "2023-Q3",
    );
    ingest_text(
        &e,
        "c",
        "d",
        "In Q3 2023, Acme Corp reported revenue of $4.4 billion.",
        "2023-Q4",
    );
    let conflicts = e.conflicts("c", None).unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:#?}");
    assert!(conflicts[0].existing_fact.description.contains("$4.2"));
    assert!(conflicts[0].incoming_fact.description.contains("$4.4"));
    assert!(conflicts[0].conflict.reason.contains("same period"));
    // A later but weakly supported claim (time only inherited) does not end the old one.
    ingest_text(
        &e,
        "c",
        "e",
        "The chief executive of Acme Corp is Max Moe.",
        "2024",
    );
    let f = e
        .facts(
            "c",
            &chronorag::engine::FactListParams {
                include_retracted: true,
                ..Default::default()
            },
        )
        .unwrap()
        .facts;
    let john = f
        .iter()
        .find(|x| x.description.contains("John Roe"))
        .unwrap();
    assert!(
        john.invalid_from.is_none(),
        "a low-confidence fact ended a good one: {john:?}"
    );
    assert_eq!(e.conflicts("c", None).unwrap().len(), 2);
    // Resolving: retract one side, the conflict is no longer open.
    let bad = conflicts[0].incoming_fact.id;
    e.retract_fact("c", bad, "analyst", Some("restated figure is wrong".into()))
        .unwrap();
    assert_eq!(e.conflicts("c", None).unwrap().len(), 1);
}

#[test]
fn governance_refuses_bad_requests_clearly() {
    let dir = tmp();
    let e = engine_at(dir.path());
    let t1 = ingest_text(
        &e,
        "x",
        "a",
        "In 2021, Acme Corp hired 40 engineers in Berlin.",
        "2021",
    );
    assert!(
        matches!(e.rollback("x", t1, "a", None), Err(Error::Invalid(_))),
        "nothing after the head"
    );
    assert!(matches!(
        e.rollback("x", 99, "a", None),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        e.revert("x", 42, "a", None),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        e.retract_fact("x", 9999, "a", Some("r".into())),
        Err(Error::NotFound(_))
    ));
    assert!(
        matches!(e.retract_fact("x", 1, "a", None), Err(Error::Invalid(_))),
        "reason required"
    );
    assert!(matches!(
        e.diff("x", 5, 1),
        Err(Error::NotFound(_)) | Err(Error::Invalid(_))
    ));
    assert!(matches!(
        e.assert_facts(
            "x",
            &[FactInput {
                subject: "A".into(),
                object: None,
                description: "d".into(),
                time: "2023-02-30".into(),
                confidence: None
            }],
            "a",
            None
        ),
        Err(Error::Time(_))
    ));
    assert!(matches!(
        e.erase_document("x", "nope", "a", Some("r".into())),
        Err(Error::NotFound(_))
    ));
    assert!(
        e.verify_audit().unwrap().ok,
        "refused operations leave no entries behind"
    );
    assert_eq!(e.audit("x", 1, 100).unwrap().len(), 1);
    let _ = FactObject::Literal(String::new());
}

#[test]
fn a_retracted_fact_leaves_the_timeline_before_the_summaries_catch_up() {
    let dir = tmp();
    let e = engine_at(dir.path());
    ingest_text(
        &e,
        "t",
        "q3",
        "In Q3 2023, Acme Corp reported revenue of $4.4 billion. Acme Corp opened a plant in Ohio in Q3 2023.",
        "2023-Q3",
    );
    e.summarize("t").unwrap();
    let before = e.timeline("t", Some("2023"), None).unwrap();
    let victim = before.facts[0].id;
    let tx = e
        .retract_fact("t", victim, "test", Some("wrong".into()))
        .unwrap()
        .id;
    // No summary pass yet: the summary still cites the fact, the top facts must not.
    let now = e.timeline("t", Some("2023"), None).unwrap();
    assert!(now.stale, "the summary predates the retraction");
    assert!(now.facts.iter().all(|f| f.id != victim), "{:?}", now.facts);
    // Read as of before the retraction, it is there.
    let then = e.timeline("t", Some("2023"), Some(tx - 1)).unwrap();
    assert!(then.facts.iter().any(|f| f.id == victim));
}

/// A fact read as of a snapshot names its entities as they were named then, on every route:
/// a query result as a listing (both show one fact shape).
#[test]
fn facts_read_as_of_a_snapshot_carry_the_names_of_then() {
    let dir = tmp();
    let e = engine_at(dir.path());
    let t1 = ingest_text(
        &e,
        "n",
        "q3",
        "In Q3 2023, Acme Corp reported revenue of $4.4 billion.",
        "2023-10-20",
    );
    e.rename_entity("n", "Acme Corp", "Acme Holdings", "dave", None)
        .unwrap();
    let ask = |as_of: Option<u64>| {
        let r = crate::support::ask(&e, "n", "Acme revenue in Q3 2023", as_of);
        let f = r
            .facts
            .iter()
            .find(|f| f.description.contains("$4.4 billion"))
            .expect("the revenue fact")
            .clone();
        (f.subject, f.subject_id)
    };
    let (then, id_then) = ask(Some(t1));
    let (now, id_now) = ask(None);
    assert_eq!(then, "Acme Corp", "as of the ingest");
    assert_eq!(now, "Acme Holdings", "at the head");
    assert_eq!(id_then, id_now, "one entity, renamed");
    let listed = crate::support::all_facts(&e, "n", Some(t1));
    let l = listed
        .iter()
        .find(|f| f.description.contains("$4.4 billion"))
        .unwrap();
    assert_eq!(l.subject, then, "the listing agrees with the query");
}
