//! Ingestion end to end: real reports land at the right years, re-runs add nothing, a killed bulk
//! ingest resumes to the same result, bad inputs are reported and skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use chronorag::model::Status;
use chronorag::store::FactScan;
use chronorag::time::{Interval, TimeKey};

use crate::support::{audi, bin, tmp};

/// The binary on a data folder (shared with the other CLI tests).
use crate::support::run_cli as cli;

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json output")
}

#[test]
fn audi_reports_yield_facts_at_their_years() {
    let Some(a) = audi() else { return };
    let ns = a.engine.namespace("default").unwrap();
    let store = ns.store();
    let mut years: BTreeMap<i32, usize> = BTreeMap::new();
    let mut scan = FactScan::new(Interval::all(), 5000);
    let mut in_2019_doc = (0usize, 0usize);
    let doc2019 = store
        .document_by_external("audi-sustainability-2019.md")
        .unwrap()
        .expect("2019 report ingested");
    let chunks2019: BTreeSet<u64> = store
        .document(doc2019, None)
        .unwrap()
        .unwrap()
        .chunks
        .into_iter()
        .collect();
    let y2019 = TimeKey::parse("2019").unwrap().interval();
    loop {
        let page = store.facts(&scan).unwrap();
        for f in &page.items {
            if let Some(k) = f.time_key {
                *years.entry(k.year_of()).or_default() += 1;
            }
            if f.sources.iter().any(|c| chunks2019.contains(c)) {
                in_2019_doc.0 += 1;
                if y2019.contains(&f.valid) {
                    in_2019_doc.1 += 1;
                }
            }
        }
        match page.next {
            Some(c) => scan.cursor = Some(c),
            None => break,
        }
    }
    for y in 2012..=2023 {
        assert!(
            years.get(&y).copied().unwrap_or(0) >= 20,
            "few facts in {y}: {years:?}"
        );
    }
    let (total, at_2019) = in_2019_doc;
    assert!(total > 500, "the 2019 report gave only {total} facts");
    assert!(
        at_2019 * 10 >= total * 7,
        "only {at_2019} of {total} facts from the 2019 report are valid in 2019"
    );
}

#[test]
fn sampled_sentences_of_the_2019_report_carry_2019() {
    let Some(a) = audi() else { return };
    let ns = a.engine.namespace("default").unwrap();
    let store = ns.store();
    // Real sentences of the 2019 report (the first three state no year; the last names 2050 as
    // a target, which is stated in 2019).
    let samples = [
        "There’s a new corporate culture at Audi and the awareness of sustainability plays a fundamental role in it.",
        "Audi’s goal is to become the leading provider of sustainable premium mobility.",
        "Audi will offer carbon-neutral premium mobility in the long term.",
        "In the long term, we are pursuing a vision of carbon-neutral mobility and want to achieve net zero carbon emissions for the entire company by 2050.",
    ];
    let mut scan = FactScan::new(TimeKey::parse("2019").unwrap().interval(), 100_000);
    scan.include_retracted = true;
    let facts = store.facts(&scan).unwrap().items;
    for s in samples {
        let f = facts
            .iter()
            .find(|f| f.description == s)
            .unwrap_or_else(|| panic!("no fact for {s:?}"));
        assert_eq!(
            f.time_key.map(|k| k.to_string()).as_deref(),
            Some("2019"),
            "{s}"
        );
        assert_eq!(f.status, Status::Active);
    }
    // A sentence naming an earlier year is a fact about that year.
    let all = store
        .facts(&FactScan::new(Interval::all(), 100_000))
        .unwrap()
        .items;
    let in_2018 = TimeKey::parse("2018").unwrap().interval();
    let dated_back = all
        .iter()
        .filter(|f| !f.time_inherited && in_2018.contains(&f.valid))
        .count();
    assert!(
        dated_back > 10,
        "sentences about 2018 should give 2018 facts ({dated_back})"
    );
}

fn write_corpus(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    for i in 0..n {
        let year = 2015 + (i % 8);
        let text = format!(
            "# Quarterly note {i}\n\nAcme Corp{} reported revenue of ${}.{} billion in Q{} {year}, up {}% from a year earlier. \
             The Board of Management discussed the Project Falcon{} roadmap in Berlin. \
             Chief Executive Jane Doe{} said demand for electric models remained strong.\n",
            i % 13,
            i % 9 + 1,
            i % 10,
            i % 4 + 1,
            i % 30,
            i % 7,
            i % 5,
        );
        let sub = if i % 3 == 0 { "sub/" } else { "" };
        std::fs::write(dir.join(format!("{sub}note-{i:04}.md")), text).unwrap();
    }
}

#[test]
fn rerunning_an_ingest_adds_nothing() {
    let dir = tmp();
    let corpus = dir.path().join("corpus");
    write_corpus(&corpus, 30);
    let data = dir.path().join("data");
    let first = json(&cli(&data, &["ingest", corpus.to_str().unwrap(), "--json"]));
    assert_eq!(first["documents"], 30);
    assert!(first["facts"].as_u64().unwrap() >= 60);
    let stats1 = json(&cli(&data, &["stats", "--json"]));
    let second = json(&cli(&data, &["ingest", corpus.to_str().unwrap(), "--json"]));
    assert_eq!(second["documents"], 0);
    assert_eq!(second["duplicates"], 30);
    assert_eq!(second["facts"], 0);
    let stats2 = json(&cli(&data, &["stats", "--json"]));
    for k in [
        "documents",
        "chunks",
        "facts",
        "entities",
        "time_nodes",
        "transactions",
    ] {
        assert_eq!(stats1[k], stats2[k], "{k} changed on a re-run");
    }
}

#[test]
fn a_killed_bulk_ingest_resumes_without_duplicates_or_losses() {
    let dir = tmp();
    let corpus = dir.path().join("corpus");
    write_corpus(&corpus, 240);
    // Reference: one uninterrupted run.
    let reference = dir.path().join("reference");
    json(&cli(
        &reference,
        &["ingest", corpus.to_str().unwrap(), "--json", "--batch", "4"],
    ));
    let want = json(&cli(&reference, &["stats", "--json"]));

    for (round, delay_ms) in [300u64, 900, 1500].into_iter().enumerate() {
        let data = dir.path().join(format!("data-{round}"));
        let mut child = Command::new(bin())
            .arg("--data")
            .arg(&data)
            .args(["ingest", corpus.to_str().unwrap(), "--batch", "4"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        child.wait().unwrap();
        // Re-run to completion.
        let out = json(&cli(
            &data,
            &["ingest", corpus.to_str().unwrap(), "--json", "--batch", "4"],
        ));
        let got = json(&cli(&data, &["stats", "--json"]));
        for k in ["documents", "chunks", "facts", "entities", "time_nodes"] {
            assert_eq!(
                got[k], want[k],
                "round {round}: {k} differs after resume ({out})"
            );
        }
        let verify = cli(&data, &["stats"]);
        assert!(verify.status.success());
    }
}

/// `ingest` reads and extracts the next batch while the one before it commits; the
/// transactions still follow the input: each holds the next `--batch` documents, files in
/// order, and the store is the one a batch-at-a-time load gives.
#[test]
fn a_bulk_ingest_commits_its_batches_in_input_order() {
    use crate::support::engine_at;
    let dir = tmp();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    let line = |i: usize| {
        format!(
            "{{\"id\": \"doc-{i:02}\", \"time\": \"2021-03-{:02}\", \"text\": \"Firm{i} opened a plant in Town{i} in March 2021.\"}}\n",
            i + 1
        )
    };
    std::fs::write(corpus.join("a.jsonl"), (0..7).map(line).collect::<String>()).unwrap();
    std::fs::write(
        corpus.join("b.jsonl"),
        (7..12).map(line).collect::<String>(),
    )
    .unwrap();
    let data = dir.path().join("data");
    let out = json(&cli(
        &data,
        &["ingest", corpus.to_str().unwrap(), "--json", "--batch", "3"],
    ));
    assert_eq!(out["documents"], 12, "{out}");
    let e = engine_at(&data);
    let mut txs = e
        .transactions(chronorag::engine::DEFAULT_NAMESPACE, None, 100)
        .unwrap();
    txs.sort_by_key(|t| t.id);
    // Batches span files: 3, 3, 3 (one from a.jsonl, two from b.jsonl) and 3.
    assert_eq!(txs.len(), 4);
    let store = e
        .namespace(chronorag::engine::DEFAULT_NAMESPACE)
        .unwrap()
        .store()
        .clone();
    let mut seen = Vec::new();
    for t in &txs {
        let docs: Vec<u64> = t
            .changes
            .iter()
            .filter_map(|c| match c {
                chronorag::model::Change::AddDocument(d) => Some(*d),
                _ => None,
            })
            .collect();
        assert_eq!(docs.len(), 3, "tx {}: {docs:?}", t.id);
        for d in docs {
            seen.push(store.document(d, None).unwrap().unwrap().external_id);
        }
    }
    let want: Vec<String> = (0..12).map(|i| format!("doc-{i:02}")).collect();
    assert_eq!(seen, want);
}

/// An ingest adds its new chunks and facts to the text index without first deleting them (they
/// cannot be there yet); what other transactions rewrite (a chunk redacted by an erasure)
/// replaces its document there.
#[test]
fn the_text_index_holds_each_record_once_through_merges_and_redaction() {
    use crate::support::{engine_at, ingest_text};
    let dir = tmp();
    let e = engine_at(dir.path());
    let plant = "Acme Corp opened a plant in Lyon in May 2021.";
    ingest_text(&e, "n", "a", plant, "2021-05-04");
    e.summarize("n").unwrap();
    let before = e.index_sizes("n").unwrap().text_docs;
    let doc = chronorag::ingest::input::prepare(
        chronorag::ingest::input::DocumentInput {
            id: Some("b".into()),
            text: format!("{plant} Beta Inc hired 200 engineers in Munich in May 2021."),
            time: Some("2021-05-04".into()),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let r = e
        .ingest("n", vec![doc], &chronorag::ingest::IngestOptions::default())
        .unwrap();
    assert!(r.facts_merged >= 1 && r.facts >= 1, "{r:?}");
    e.summarize("n").unwrap();
    let after = e.index_sizes("n").unwrap().text_docs;
    // The same days, so the same summaries: only the new chunk and the new facts are added.
    assert_eq!(after - before, r.chunks + r.facts, "{r:?}");
    // Erasing Beta Inc rewrites the chunk that names it (redacted, not new): its document in
    // the text index is replaced, and only the erased records leave.
    let erased = e
        .erase_entity("n", "Beta Inc", "test", Some("privacy request".into()))
        .unwrap();
    assert!(erased.facts >= 1, "{erased:?}");
    e.summarize("n").unwrap();
    let left = e.index_sizes("n").unwrap().text_docs;
    assert_eq!(
        after - left,
        (erased.facts + erased.chunks) as u64,
        "{erased:?}"
    );
}

/// A summary pass commits the text index without moving its checkpoint, so a bulk load's
/// pending documents can be in the index files when the process dies; the transactions after
/// the checkpoint are replayed on the next open, and must replace those documents, not add
/// them a second time.
#[test]
fn replaying_a_load_after_a_crash_adds_no_text_document_twice() {
    use crate::support::engine_at;
    let dir = tmp();
    let e = engine_at(dir.path());
    let doc = chronorag::ingest::input::prepare(
        chronorag::ingest::input::DocumentInput {
            id: Some("a".into()),
            text: "Acme Corp opened a plant in Lyon in May 2021. Beta Inc hired 200 engineers \
                   in Munich in June 2021. Gamma GmbH reported revenue of $3 billion in 2021."
                .into(),
            time: Some("2021-07-01".into()),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let bulk = chronorag::ingest::IngestOptions {
        commit_indexes: false,
        ..Default::default()
    };
    let r = e.ingest("n", vec![doc], &bulk).unwrap();
    assert!(r.facts >= 3, "{r:?}");
    // Summaries are written and committed to the text index: the load's documents with them.
    e.summarize("n").unwrap();
    let before = e.index_sizes("n").unwrap().text_docs;
    assert!(before >= r.chunks + r.facts, "{before} documents for {r:?}");
    // A crash: no flush, no close.
    drop(e);
    let e = engine_at(dir.path());
    e.summarize("n").unwrap();
    assert_eq!(e.index_sizes("n").unwrap().text_docs, before);
}

#[test]
fn bad_files_are_reported_and_the_rest_lands() {
    let dir = tmp();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    std::fs::write(
        corpus.join("good.md"),
        "In 2020, Acme Corp opened a plant in Berlin for electric models.",
    )
    .unwrap();
    std::fs::write(corpus.join("empty.txt"), "   \n").unwrap();
    std::fs::write(corpus.join("binary.txt"), [0x66, 0x6f, 0xff, 0xfe, 0x00]).unwrap();
    std::fs::write(
        corpus.join("docs.jsonl"),
        "{\"text\": \"In 2021, Beta Inc hired 200 engineers in Munich.\", \"time\": \"2021\"}\n{not json\n{\"text\": \"x\", \"time\": \"2023-02-30\"}\n{\"text\": \"Gamma GmbH reported results in Q3 2022 for the region.\", \"id\": \"gamma-q3\"}\n",
    )
    .unwrap();
    std::fs::write(corpus.join("ignored.pdf"), "not text").unwrap();
    let data = dir.path().join("data");
    let out = json(&cli(&data, &["ingest", corpus.to_str().unwrap(), "--json"]));
    assert_eq!(out["documents"], 3, "{out}");
    let rejected = out["rejected"].as_array().unwrap();
    let reasons: Vec<String> = rejected
        .iter()
        .map(|r| {
            format!(
                "{}:{} {}",
                r["file"].as_str().unwrap(),
                r["line"],
                r["reason"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(rejected.len(), 4, "{reasons:#?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("empty.txt") && r.contains("empty text")),
        "{reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("binary.txt") && r.contains("UTF-8")),
        "{reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("docs.jsonl:2") && r.contains("invalid JSON")),
        "{reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("docs.jsonl:3") && r.contains("February")),
        "{reasons:#?}"
    );
    // The jsonl id is kept; file documents get their file name as id.
    let a = crate::support::engine_at(&data);
    let ns = a.namespace("default").unwrap();
    assert!(
        ns.store()
            .document_by_external("gamma-q3")
            .unwrap()
            .is_some()
    );
    assert!(
        ns.store()
            .document_by_external("good.md")
            .unwrap()
            .is_some()
    );
}

#[test]
fn the_document_schema_matches_the_input_type() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schema/document.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let props: BTreeSet<String> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let full = chronorag::ingest::DocumentInput {
        id: Some("x".into()),
        text: "t".into(),
        time: Some("2020".into()),
        title: Some("t".into()),
        source: Some("s".into()),
        metadata: serde_json::Map::from_iter([("k".to_string(), serde_json::json!(1))]),
    };
    let fields: BTreeSet<String> = serde_json::to_value(&full)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(props, fields);
    assert_eq!(schema["required"], serde_json::json!(["text"]));
    // Each field is described exactly as in the contract generated from the type.
    let openapi: serde_json::Value = serde_json::from_str(chronorag::api::OPENAPI).unwrap();
    assert_eq!(
        schema["properties"], openapi["components"]["schemas"]["DocumentInput"]["properties"],
        "schema/document.schema.json's properties differ from the generated DocumentInput \
         (copy them from schema/openapi.json)"
    );
    // Every example in the schema parses as a document.
    for ex in schema["examples"].as_array().unwrap() {
        let d: chronorag::ingest::DocumentInput = serde_json::from_value(ex.clone()).unwrap();
        assert!(!d.text.is_empty());
    }
    // Unknown fields are refused, as the schema says (additionalProperties: false).
    assert_eq!(schema["additionalProperties"], false);
    assert!(
        serde_json::from_str::<chronorag::ingest::DocumentInput>("{\"text\": \"a\", \"x\": 1}")
            .is_err()
    );
}

/// The same input gives the same transaction in every process: its change list (shown by
/// history and written by exports) lists the entities a document created in id order, not in
/// a hash map's per-process order.
#[test]
fn the_same_input_gives_the_same_change_list() {
    use crate::support::{engine_at, ingest_text};
    let names = [
        "Acme Corp",
        "Globex",
        "Initech",
        "Umbrella Corp",
        "Hooli",
        "Stark Industries",
        "Wayne Enterprises",
        "Cyberdyne Systems",
        "Soylent Corp",
        "Wonka Industries",
    ];
    let text: String = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{n} reported revenue of ${}.{i} billion in 2022. ", i + 1))
        .collect();
    let changes = || {
        let dir = tmp();
        let e = engine_at(dir.path());
        let tx = ingest_text(&e, "n", "meeting", &text, "2023-03-10");
        let t = e.transaction("n", tx).unwrap();
        serde_json::to_string(&t.changes).unwrap()
    };
    let first = changes();
    assert!(
        first.matches("create_entity").count() >= 5,
        "the document creates many entities: {first}"
    );
    for _ in 0..3 {
        assert_eq!(changes(), first);
    }
}

/// An ingest embeds its new chunks' and facts' vectors while the store commits them. A commit
/// that fails (here the disk guard refuses it) must leave none of them behind, and the next
/// ingest must index its records as usual. Facts are embedded here (`embed_facts`), so both
/// kinds of vectors go in ahead.
#[test]
fn a_failed_commit_leaves_no_vectors_ahead_of_it() {
    use chronorag::ingest::input;
    use chronorag::ingest::pipeline::IngestOptions;
    let dir = tmp();
    let text = "Acme Corp reported revenue of $5 billion in 2023. Its chief executive, Jane Doe, \
                said demand in Europe was strong.";
    let config = || {
        let mut cfg = chronorag::config::Config::with_data_dir(dir.path());
        cfg.embed_facts = true;
        cfg
    };
    let e = chronorag::Engine::open(config()).unwrap();
    crate::support::ingest_text(&e, "ns", "first", text, "2023-03-01");
    let before = e.index_sizes("ns").unwrap();
    assert!(
        before.fact_vectors > 0 && before.chunk_vectors > 0,
        "{before:?}"
    );
    drop(e);
    let doc = || {
        input::prepare(
            input::DocumentInput {
                id: Some("second".into()),
                text: "Globex Inc opened a plant in Ohio in 2024 and hired 300 workers there."
                    .into(),
                time: Some("2024-05-01".into()),
                ..Default::default()
            },
            None,
        )
        .unwrap()
    };
    let mut cfg = config();
    cfg.min_free_disk_bytes = u64::MAX / 2;
    let e = chronorag::Engine::open(cfg).unwrap();
    let err = e
        .ingest("ns", vec![doc()], &IngestOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("nearly full"), "{err}");
    let after = e.index_sizes("ns").unwrap();
    assert_eq!(
        (after.fact_vectors, after.chunk_vectors),
        (before.fact_vectors, before.chunk_vectors),
        "vectors of the refused ingest stayed in the index"
    );
    drop(e);
    let e = chronorag::Engine::open(config()).unwrap();
    let r = e
        .ingest("ns", vec![doc()], &IngestOptions::default())
        .unwrap();
    assert!(r.facts > 0, "{r:?}");
    let now = e.index_sizes("ns").unwrap();
    assert_eq!(now.fact_vectors, before.fact_vectors + r.facts);
    assert_eq!(now.chunk_vectors, before.chunk_vectors + r.chunks);
}

/// Twelve batches of five documents that lean on each other. The same firms recur (entities
/// resolve across batches), revenue for one year is restated with another figure later
/// (contradictions across batches), a sentence of one batch comes again in the next (facts
/// merge), an alias comes in one batch and is used in the next, a text is sent again under no
/// id (a duplicate), and an id comes again with other content (refused).
fn overlapping_batches() -> Vec<Vec<chronorag::ingest::input::DocumentInput>> {
    use chronorag::ingest::input::DocumentInput;
    let firms = [
        "Acme Corp",
        "Globex Inc",
        "Initech",
        "Hooli",
        "Umbrella Corp",
    ];
    let doc = |b: usize, i: usize| -> DocumentInput {
        let firm = firms[(b + i) % firms.len()];
        let other = firms[(b + 2 * i + 1) % firms.len()];
        let year = 2015 + (b + i) % 4;
        let figure = 3 + (b * 7 + i) % 5;
        let mut text = format!(
            "{firm} reported revenue of ${figure} billion in {year}. {firm} hired Jane Roe{i} as chief \
             financial officer in {year}. {other} opened a plant in Ohio in March {year}. \
             Initech opened an office in City{} in 2019. ",
            b / 2
        );
        if b % 3 == 1 {
            text.push_str(&format!(
                "{firm} (NASDAQ: T{}) said its chief executive is John Doe{b}. ",
                (b + i) % firms.len()
            ));
        }
        if b % 3 == 2 {
            text.push_str(&format!(
                "T{} expects growth in {}.",
                (b + i) % firms.len(),
                year + 1
            ));
        }
        DocumentInput {
            id: Some(format!("d{b}-{i}")),
            text,
            time: Some(format!("{}-06-{:02}", year + 1, 1 + b)),
            ..Default::default()
        }
    };
    (0..12)
        .map(|b| {
            let mut docs: Vec<DocumentInput> = (0..5).map(|i| doc(b, i)).collect();
            if b > 0 {
                // Sent again without an id: a duplicate of the batch before's.
                let mut again = doc(b - 1, 0);
                again.id = None;
                docs.push(again);
            }
            if b == 6 {
                // A known id with other content: refused.
                let mut clash = doc(5, 1);
                clash.text.push_str(" Changed.");
                docs.push(clash);
            }
            docs
        })
        .collect()
}

/// A namespace `n`'s record counts: documents, chunks, facts, entities, time nodes.
fn record_counts(e: &chronorag::Engine) -> (u64, u64, u64, u64, u64) {
    let st = e.namespace("n").unwrap().store().stats().unwrap();
    (
        st.documents,
        st.chunks,
        st.facts,
        st.entities,
        st.time_nodes,
    )
}

/// The documents ready to ingest.
fn prepared(
    docs: Vec<chronorag::ingest::input::DocumentInput>,
) -> Vec<chronorag::ingest::input::PreparedDocument> {
    docs.into_iter()
        .map(|d| chronorag::ingest::input::prepare(d, None).unwrap())
        .collect()
}

/// [`overlapping_batches`] loaded in stages (as `chronorag ingest` loads); `apply` gets each
/// batch's result with its index.
fn load_in_stages(
    e: &chronorag::Engine,
    apply: impl FnMut(
        Option<chronorag::Result<chronorag::ingest::IngestReport>>,
        usize,
    ) -> std::ops::ControlFlow<()>,
) -> bool {
    let extractor = e.extractor(None).unwrap();
    e.ingest_in_stages(
        "n",
        &chronorag::ingest::pipeline::IngestOptions::default(),
        extractor.as_ref(),
        |emit| {
            for (i, b) in overlapping_batches().into_iter().enumerate() {
                if !emit(Some(prepared(b)), i) {
                    return;
                }
            }
        },
        || true,
        apply,
    )
}

/// A bulk load builds each batch while the batch before it commits, reading the store through
/// that batch ([`chronorag::ingest::reads`]). The result must be what ingesting the batches one
/// after the other gives: the same entities (a name first seen in the batch before resolves to
/// its entity, not a new one), the same merged facts, contradictions and conflicts across
/// batches, the same duplicates and refusals, record for record.
#[test]
fn a_load_built_ahead_of_its_commits_equals_one_batch_after_the_other() {
    use chronorag::ingest::input::DocumentInput;
    use chronorag::ingest::pipeline::IngestOptions;
    let batches = overlapping_batches;
    let prepare = prepared;
    let opts = IngestOptions::default();

    // One batch after the other.
    let serial_dir = tmp();
    let serial = crate::support::engine_at(serial_dir.path());
    let mut serial_reports = Vec::new();
    for b in batches() {
        serial_reports.push(serial.ingest("n", prepare(b), &opts).unwrap());
    }

    // Built ahead of the commits.
    let ahead_dir = tmp();
    let ahead = crate::support::engine_at(ahead_dir.path());
    let mut ahead_reports = Vec::new();
    let done = load_in_stages(&ahead, |r, _| {
        ahead_reports.push(r.expect("every item has documents").unwrap());
        std::ops::ControlFlow::Continue(())
    });
    assert!(done);

    // The scenario covers what the builds must see of each other.
    let sum = |rs: &[chronorag::ingest::IngestReport],
               f: fn(&chronorag::ingest::IngestReport) -> u64| {
        rs.iter().map(f).sum::<u64>()
    };
    assert_eq!(sum(&serial_reports, |r| r.duplicates), 11);
    assert_eq!(sum(&serial_reports, |r| r.rejected.len() as u64), 1);
    assert!(
        sum(&serial_reports, |r| r.facts_merged) > 10,
        "{serial_reports:?}"
    );
    assert!(
        sum(&serial_reports, |r| r.conflicts + r.invalidated) > 0,
        "{serial_reports:?}"
    );
    for (a, s) in ahead_reports.iter().zip(&serial_reports) {
        assert_eq!(
            (
                a.tx,
                a.documents,
                a.facts,
                a.facts_merged,
                a.entities,
                a.time_nodes
            ),
            (
                s.tx,
                s.documents,
                s.facts,
                s.facts_merged,
                s.entities,
                s.time_nodes
            )
        );
        assert_eq!(
            (a.duplicates, a.conflicts, a.invalidated, a.rejected.len()),
            (s.duplicates, s.conflicts, s.invalidated, s.rejected.len())
        );
    }
    assert_eq!(ahead_reports.len(), serial_reports.len());

    // Record for record: the exports, less commit times and the audit chain built on them.
    let export = |e: &chronorag::Engine, dir: &Path| -> Vec<serde_json::Value> {
        let file = dir.join("export.jsonl");
        e.export_namespace("n", &file, &|_, _| {}).unwrap();
        fn strip(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(m) => {
                    for k in [
                        "at",
                        "created_at",
                        "hash",
                        "prev_hash",
                        "audit",
                        "audit_head",
                    ] {
                        m.remove(k);
                    }
                    m.values_mut().for_each(strip);
                }
                serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
                _ => {}
            }
        }
        std::fs::read_to_string(file)
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                strip(&mut v);
                v
            })
            .collect()
    };
    let (a, s) = (
        export(&ahead, ahead_dir.path()),
        export(&serial, serial_dir.path()),
    );
    assert_eq!(a.len(), s.len());
    for (x, y) in a.iter().zip(&s) {
        assert_eq!(x, y);
    }
    // And the catalogs file the same facts under the same slots: a statement restated once
    // more meets the same stored facts in both.
    let last = prepare(vec![DocumentInput {
        id: Some("last".into()),
        text: "Acme Corp reported revenue of $9 billion in 2016. Hooli reported revenue of $1 \
               billion in 2017."
            .into(),
        time: Some("2018-01-01".into()),
        ..Default::default()
    }]);
    let (ra, rs) = (
        ahead.ingest("n", last.clone(), &opts).unwrap(),
        serial.ingest("n", last, &opts).unwrap(),
    );
    assert!(ra.conflicts + ra.invalidated > 0, "{ra:?}");
    assert_eq!(
        (ra.conflicts, ra.invalidated, ra.facts),
        (rs.conflicts, rs.invalidated, rs.facts)
    );
}

/// [`chronorag::ingest::reads`] on its own, without timing: each batch is built while the batch
/// before it is built but not yet committed, reading the store through it, and then both commit
/// in order. The stores must end equal to building and committing one batch at a time (the
/// catalog's slot lists are kept here the way the catalog files facts: under the object's
/// canonical name, once the transaction's entities are known).
#[test]
fn a_batch_built_on_an_uncommitted_one_sees_it_as_committed() {
    use chronorag::ingest::extract::rules::RulesExtractor;
    use chronorag::ingest::input;
    use chronorag::ingest::pipeline::{self, IngestOptions};
    use chronorag::ingest::reads::{Pending, Reads};
    use chronorag::model::{Change, FactObject};
    use chronorag::store::{NsStore, WriteSet};
    use std::collections::HashMap;
    let opts = IngestOptions::default();
    // The catalog's slot lists, as it files each committed transaction's new facts (the
    // commit takes the change list out of the write set: it is read before).
    type Slots = HashMap<u64, Vec<u64>>;
    let asserted = |ws: &WriteSet| -> Vec<u64> {
        (ws.changes.iter())
            .filter_map(|c| match c {
                Change::AssertFact(id) => Some(*id),
                _ => None,
            })
            .collect()
    };
    let file = |slots: &mut Slots, store: &dyn NsStore, ws: &WriteSet, asserted: &[u64]| {
        for f in &ws.facts {
            if !asserted.contains(&f.id) {
                continue;
            }
            let object = match &f.object {
                FactObject::Entity(o) => store.entity(*o, None).unwrap().unwrap().name,
                FactObject::Literal(l) => l.clone(),
            };
            if let Some(h) = chronorag::model::slot::filed_slot(f, &object) {
                slots.entry(h).or_default().push(f.id);
            }
        }
    };
    let stage = |b: Vec<input::DocumentInput>| {
        let docs = b
            .into_iter()
            .map(|d| input::prepare(d, None).unwrap())
            .collect();
        pipeline::stage(docs, &RulesExtractor, 900).0
    };
    let open = |dir: &Path| {
        let e = crate::support::engine_at(dir);
        crate::support::ingest_text(
            &e,
            "n",
            "seed",
            "Acme Corp was founded in 1990.",
            "2014-01-01",
        );
        e
    };

    let serial_dir = tmp();
    let serial = open(serial_dir.path());
    let store = serial.namespace("n").unwrap().store().clone();
    let mut slots = Slots::new();
    let mut serial_reports = Vec::new();
    for b in overlapping_batches() {
        let staged = stage(b);
        let lookup = |s: u64, slot: &str, _: &chronorag::time::Interval| {
            let h = chronorag::model::slot::slot_hash(s, slot);
            slots.get(&h).cloned().unwrap_or_default()
        };
        let built = pipeline::build(
            store.as_ref(),
            store.head_tx() + 1,
            &staged,
            "rules",
            &opts,
            &lookup,
        )
        .unwrap();
        let asserted = asserted(&built.ws);
        let (_, ws) = store.commit_keeping(built.ws).unwrap();
        file(&mut slots, store.as_ref(), &ws, &asserted);
        serial_reports.push(built.report);
    }

    let ahead_dir = tmp();
    let ahead = open(ahead_dir.path());
    let store = ahead.namespace("n").unwrap().store().clone();
    let mut slots = Slots::new();
    let mut ahead_reports = Vec::new();
    let mut waiting: Option<(WriteSet, Pending)> = None;
    for b in overlapping_batches() {
        let staged = stage(b);
        let prev = waiting.as_ref().map(|(_, p)| p);
        let lookup = |s: u64, slot: &str, _: &chronorag::time::Interval| {
            let h = chronorag::model::slot::slot_hash(s, slot);
            let mut ids = slots.get(&h).cloned().unwrap_or_default();
            ids.extend(prev.map(|p| p.in_slot(h)).unwrap_or_default());
            ids
        };
        let tx = prev.map_or(store.head_tx(), |p| p.tx) + 1;
        let reads = Reads {
            store: store.as_ref(),
            prev,
        };
        let built = pipeline::build(reads, tx, &staged, "rules", &opts, &lookup).unwrap();
        // Only now does the batch before commit.
        if let Some((ws, _)) = waiting.take() {
            let asserted = asserted(&ws);
            let (_, ws) = store.commit_keeping(ws).unwrap();
            file(&mut slots, store.as_ref(), &ws, &asserted);
        }
        let name = |id| store.entity(id, None).ok().flatten().map(|e| e.name);
        let pending = Pending::of(&built.ws, &name);
        ahead_reports.push(built.report);
        waiting = Some((built.ws, pending));
    }
    let (ws, _) = waiting.unwrap();
    store.commit(ws).unwrap();

    let counts = |rs: &[chronorag::ingest::IngestReport]| {
        rs.iter()
            .map(|r| {
                (
                    r.documents,
                    r.duplicates,
                    r.rejected.len(),
                    r.facts,
                    r.facts_merged,
                    r.entities,
                    r.conflicts,
                    r.invalidated,
                    r.time_nodes,
                )
            })
            .collect::<Vec<_>>()
    };
    let merged: u64 = serial_reports.iter().map(|r| r.facts_merged).sum();
    let contradicted: u64 = serial_reports
        .iter()
        .map(|r| r.conflicts + r.invalidated)
        .sum();
    assert!(
        merged > 10 && contradicted > 0,
        "{:?}",
        counts(&serial_reports)
    );
    assert_eq!(counts(&ahead_reports), counts(&serial_reports));
    let facts = |e: &chronorag::Engine| {
        let mut v: Vec<String> = crate::support::all_facts(e, "n", None)
            .iter()
            .map(|f| {
                let mut j = serde_json::to_value(f).unwrap();
                j.as_object_mut().unwrap().remove("recorded_at");
                j.to_string()
            })
            .collect();
        v.sort();
        v
    };
    let (a, s) = (facts(&ahead), facts(&serial));
    assert!(a.len() > 100, "{}", a.len());
    assert_eq!(a, s);
    assert_eq!(record_counts(&ahead), record_counts(&serial));
}

/// A load building ahead meets another writer: a document posted between two of its batches
/// commits first, so the batch built on the one before no longer fits the head and is built
/// again under the writer lock. The namespace then holds what the same writes one after the
/// other give (ids aside: the build thrown away had taken some).
#[test]
fn a_batch_built_ahead_is_built_again_after_another_writer() {
    use chronorag::ingest::input::DocumentInput;
    use chronorag::ingest::pipeline::IngestOptions;
    let prepare = prepared;
    let other = || {
        prepare(vec![DocumentInput {
            id: Some("other".into()),
            text: "Globex Inc reported revenue of $8 billion in 2016. Hooli (NASDAQ: T1) hired \
                   Jane Roe2 as chief financial officer in 2016. T3 expects growth in 2019."
                .into(),
            time: Some("2017-02-01".into()),
            ..Default::default()
        }])
    };
    let opts = IngestOptions::default();
    let serial_dir = tmp();
    let serial = crate::support::engine_at(serial_dir.path());
    for (i, b) in overlapping_batches().into_iter().enumerate() {
        serial.ingest("n", prepare(b), &opts).unwrap();
        if i == 3 {
            serial.ingest("n", other(), &opts).unwrap();
        }
    }
    let ahead_dir = tmp();
    let ahead = crate::support::engine_at(ahead_dir.path());
    let mut txs = Vec::new();
    let done = load_in_stages(&ahead, |r, i| {
        txs.push(r.unwrap().unwrap().tx);
        // Batch 4 is built by now, on batch 3 (landed just now).
        if i == 3 {
            txs.push(ahead.ingest("n", other(), &opts).unwrap().tx);
        }
        std::ops::ControlFlow::Continue(())
    });
    assert!(done);
    let want: Vec<Option<u64>> = (1..=13).map(Some).collect();
    assert_eq!(txs, want);
    // Everything but ids.
    let facts = |e: &chronorag::Engine| {
        let mut v: Vec<String> = crate::support::all_facts(e, "n", None)
            .iter()
            .map(|f| {
                format!(
                    "{} | {:?} | {} | {} | {:?} | {:?} | {} | {} | {} | {:?}",
                    f.subject,
                    f.object,
                    f.description,
                    f.valid,
                    f.status,
                    f.invalid_from,
                    f.confidence,
                    f.asserted_tx,
                    f.updated_tx,
                    f.invalidated_by.is_some()
                )
            })
            .collect();
        v.sort();
        v
    };
    let (a, s) = (facts(&ahead), facts(&serial));
    assert!(a.len() > 100);
    assert_eq!(a, s);
    let changes = |e: &chronorag::Engine| -> Vec<Vec<String>> {
        (1..=13)
            .map(|t| {
                let tx = e.transaction("n", t).unwrap();
                let mut kinds: Vec<String> = tx
                    .changes
                    .iter()
                    .map(|c| serde_json::to_value(c).unwrap()["op"].to_string())
                    .collect();
                kinds.sort();
                kinds
            })
            .collect()
    };
    assert_eq!(changes(&ahead), changes(&serial));
    assert_eq!(record_counts(&ahead), record_counts(&serial));
}
