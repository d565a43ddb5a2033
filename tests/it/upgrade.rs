//! Upgrade safety: stores written by earlier releases are checked in under
//! `tests/fixtures/stores/<release>/` (the `store/` folder of a data folder, plus `expected.json`:
//! what that release read back when it wrote the store). This build must open each of them —
//! applying any migration written since — read them as the release that wrote them did (every
//! document, every fact with its status, history, audit chain, `as_of_tx` reads, searchable
//! text), and keep writing to them. No user's data is stranded by an upgrade.
//!
//! A release that changes anything on disk adds its own fixture, written by the test below
//! (which otherwise writes into a temporary folder and checks that the fixture it writes reads
//! back as its manifest says):
//! `CHRONORAG_FIXTURE_DIR=tests/fixtures/stores/v$VERSION cargo test --test it upgrade::this_release`.

use std::path::{Path, PathBuf};

use chronorag::Engine;
use chronorag::engine::FactListParams;
use chronorag::query::QueryRequest;
use chronorag::store::CURRENT_SCHEMA_VERSION;
use serde_json::{Value, json};

use crate::support::{all_facts, copy_dir, document_ids, engine_at, ingest_text, tmp};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stores")
}

/// Every fact of a namespace at a snapshot (or the head): (description, status), sorted.
fn facts(e: &Engine, ns: &str, as_of: Option<u64>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = all_facts(e, ns, as_of)
        .into_iter()
        .map(|f| {
            let status = serde_json::to_value(f.status).unwrap();
            (f.description, status.as_str().unwrap().to_string())
        })
        .collect();
    out.sort();
    out
}

fn context(e: &Engine, ns: &str, question: &str, as_of: Option<u64>) -> String {
    e.query(
        ns,
        &QueryRequest {
            query: question.into(),
            as_of_tx: as_of,
            ..Default::default()
        },
    )
    .unwrap()
    .context
}

/// What a release reads back from the scenario's store: the manifest checked in beside it.
fn read_back(e: &Engine, retracted_at: u64, plant: &str) -> Value {
    let mut namespaces = serde_json::Map::new();
    for ns in ["acme", "beta"] {
        let store = e.namespace(ns).unwrap().store().clone();
        let head = store.head_tx();
        namespaces.insert(
            ns.into(),
            json!({
                "head": head,
                "documents": document_ids(e, ns),
                "facts": facts(e, ns, None),
                "transactions": e.transactions(ns, None, 1000).unwrap().len(),
            }),
        );
    }
    let audit = e.verify_audit().unwrap();
    json!({
        "release": env!("CARGO_PKG_VERSION"),
        "schema_version": CURRENT_SCHEMA_VERSION,
        "namespaces": namespaces,
        "audit_ok": audit.ok,
        "audit_entries": audit.entries,
        "retracted_at": retracted_at,
        "facts_before_retraction": facts(e, "acme", Some(retracted_at - 1)),
        "plant": plant,
        "renamed_to": e.entity("acme", "Acme Group", None).unwrap().name,
    })
}

/// Writes this release's fixture (a small store with ingests, a retraction, a rename and a second
/// namespace, and what this release reads back from it) into `CHRONORAG_FIXTURE_DIR`, or a
/// temporary folder, and checks it the way later releases will.
#[test]
fn this_release_writes_a_fixture_that_reads_back_as_its_manifest_says() {
    let scratch = tmp();
    let out = std::env::var_os("CHRONORAG_FIXTURE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| scratch.path().join("fixture"));
    write_fixture(&out);
    check_release(&out);
}

fn write_fixture(out: &Path) {
    let dir = tmp();
    let e = engine_at(dir.path());
    let texts = [
        (
            "acme-2021-q1",
            "In Q1 2021, Acme Corp opened a plant in Berlin with 300 workers.",
            "2021-Q1",
        ),
        (
            "acme-2021-q2",
            "In Q2 2021, Acme Corp reported revenue of $4.2 billion. Jane Doe became chief executive of Acme Corp.",
            "2021-Q2",
        ),
        (
            "acme-2021-q3",
            "In Q3 2021, Acme Corp opened a plant in Lyon. Acme Corp hired 120 engineers in Lyon.",
            "2021-Q3",
        ),
        (
            "acme-2022",
            "In 2022, Acme Corp reported revenue of $5.1 billion, up 21% from 2021.",
            "2022",
        ),
    ];
    for (id, text, time) in texts {
        ingest_text(&e, "acme", id, text, time);
    }
    ingest_text(
        &e,
        "beta",
        "beta-2020",
        "In 2020, Beta Inc delivered 1.2 million bicycles from its Leipzig factory.",
        "2020",
    );
    let lyon = facts(&e, "acme", None);
    let wrong = e
        .facts("acme", &FactListParams::default())
        .unwrap()
        .facts
        .into_iter()
        .find(|f| f.description.contains("Lyon") && f.description.contains("plant"))
        .unwrap_or_else(|| panic!("no Lyon plant fact in {lyon:?}"));
    let tx = e
        .retract_fact(
            "acme",
            wrong.id,
            "fixture",
            Some("the plant is in Lille".into()),
        )
        .unwrap();
    e.rename_entity(
        "acme",
        "Acme Corp",
        "Acme Group",
        "fixture",
        Some("new name".into()),
    )
    .unwrap();
    e.summarize("acme").unwrap();
    e.flush().unwrap();
    let manifest = read_back(&e, tx.id, "Berlin");
    drop(e);
    std::fs::create_dir_all(out).unwrap();
    let store = out.join("store");
    if store.exists() {
        std::fs::remove_dir_all(&store).unwrap();
    }
    copy_dir(&dir.path().join("store"), &store);
    std::fs::write(
        out.join("expected.json"),
        serde_json::to_string_pretty(&manifest).unwrap() + "\n",
    )
    .unwrap();
}

#[test]
fn stores_written_by_earlier_releases_open_read_the_same_and_take_writes() {
    let releases: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("tests/fixtures/stores is checked in")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    assert!(!releases.is_empty(), "no store fixtures checked in");
    for release in releases {
        check_release(&release);
    }
}

/// Opens a fixture in a copy and checks it reads back as its manifest says and takes writes.
fn check_release(release: &Path) {
    {
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(release.join("expected.json")).unwrap())
                .unwrap();
        assert!(
            expected["schema_version"].as_u64().unwrap() <= u64::from(CURRENT_SCHEMA_VERSION),
            "{}: written by a newer schema than this build knows",
            release.display()
        );
        // Opened in a copy (opening migrates and writes); the indexes are rebuilt from it.
        let dir = tmp();
        copy_dir(&release.join("store"), &dir.path().join("store"));
        let e = engine_at(dir.path());
        let retracted_at = expected["retracted_at"].as_u64().unwrap();
        let plant = expected["plant"].as_str().unwrap();
        let now = read_back(&e, retracted_at, plant);
        for key in [
            "namespaces",
            "audit_ok",
            "audit_entries",
            "facts_before_retraction",
            "renamed_to",
        ] {
            assert_eq!(
                now[key],
                expected[key],
                "{}: {key} differs from what release {} read",
                release.display(),
                expected["release"]
            );
        }
        assert_eq!(now["audit_ok"], true);
        // The retraction shows in `as_of_tx` reads: the Lyon plant was there before it.
        let before = &expected["facts_before_retraction"];
        assert!(before.to_string().contains("plant in Lyon"), "{before}");
        // The text is searchable again (indexes rebuilt from the store).
        let ctx = context(
            &e,
            "acme",
            &format!("Where did Acme open a plant in {}?", "Q1 2021"),
            None,
        );
        assert!(ctx.contains(plant), "{ctx}");
        // Links written before schema version 2 (one key per link) are read: every fact is
        // listed under the transactions that wrote it, and under the chunks it came from.
        let links = |e: &Engine| {
            let store = e.namespace("acme").unwrap().store().clone();
            let changed: std::collections::BTreeSet<u64> = store
                .facts_changed(1, store.head_tx())
                .unwrap()
                .into_iter()
                .map(|(_, f)| f)
                .collect();
            let facts = all_facts(e, "acme", None);
            for f in &facts {
                assert!(
                    changed.contains(&f.id),
                    "fact {} has no transaction link",
                    f.id
                );
                for c in &f.sources {
                    let of_chunk = store.facts_of_chunk(c.chunk).unwrap();
                    let chunk = c.chunk;
                    assert!(
                        of_chunk.contains(&f.id),
                        "fact {} not linked to chunk {chunk}",
                        f.id
                    );
                }
            }
            facts.len()
        };
        let before = links(&e);
        assert!(before > 0);
        // And the store takes writes, which survive a reopen.
        ingest_text(
            &e,
            "acme",
            "acme-2023",
            "In 2023, Acme Group opened a plant in Porto.",
            "2023",
        );
        drop(e);
        let e = engine_at(dir.path());
        assert!(document_ids(&e, "acme").contains(&"acme-2023".to_string()));
        // Both forms of links, in one store.
        assert!(links(&e) > before);
        assert!(e.verify_audit().unwrap().ok);
    }
}
