//! Export and import of a namespace as JSON lines: a store written by an earlier release (the
//! v0.1.0 fixture: ingests, a retraction, a rename, a second namespace), edited further here
//! (a revert and a privacy erase), is exported and imported into a fresh data folder and into
//! another namespace of the same store. The import must read back as the source does at every
//! transaction, keep its transactions (ids, kinds, actors, reasons, times, changes), verify its
//! audit chain, answer questions with the same contexts, and hold none of the erased text. A
//! damaged, incomplete or newer file, and an import into a namespace with history, are refused
//! before anything is written.

use std::path::Path;

use chronorag::engine::ExportHeader;
use chronorag::{Engine, Error};

use crate::support::{all_facts, copy_dir, document_ids, engine_at, ingest_text, run_cli, tmp};

fn fixture_copy(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stores/v0.1.0/store");
    copy_dir(&from, &to.join("store"));
}

/// Every fact visible at `as_of` (retracted included), as JSON, by id.
fn facts(e: &Engine, ns: &str, as_of: Option<u64>) -> Vec<serde_json::Value> {
    let mut out: Vec<serde_json::Value> = all_facts(e, ns, as_of)
        .iter()
        .map(|f| serde_json::to_value(f).unwrap())
        .collect();
    out.sort_by_key(|v| v["id"].as_u64());
    out
}

fn context(e: &Engine, ns: &str, q: &str, as_of: Option<u64>) -> String {
    crate::support::ask(e, ns, q, as_of).context
}

/// Asserts that namespace `b` of `eb` reads back as namespace `a` of `ea` does.
fn same(ea: &Engine, a: &str, eb: &Engine, b: &str) {
    let head = ea.namespace(a).unwrap().store().head_tx();
    assert_eq!(eb.namespace(b).unwrap().store().head_tx(), head);
    let strip = |mut t: chronorag::model::Tx| {
        // Counts of erased records are what the erase removed at the time.
        t.counts.erased = 0;
        t
    };
    let ta: Vec<_> = ea
        .transactions(a, None, 1000)
        .unwrap()
        .into_iter()
        .map(strip)
        .collect();
    let tb: Vec<_> = eb
        .transactions(b, None, 1000)
        .unwrap()
        .into_iter()
        .map(strip)
        .collect();
    assert_eq!(ta, tb, "transactions differ");
    for t in 1..=head {
        assert_eq!(
            facts(ea, a, Some(t)),
            facts(eb, b, Some(t)),
            "facts as of tx {t}"
        );
    }
    assert_eq!(facts(ea, a, None), facts(eb, b, None));
    assert_eq!(document_ids(ea, a), document_ids(eb, b));
    assert_eq!(
        ea.entities(a, None, None, 0, 1000, None).unwrap().len(),
        eb.entities(b, None, None, 0, 1000, None).unwrap().len()
    );
    let sa = ea.stats(Some(a)).unwrap();
    let sb = eb.stats(Some(b)).unwrap();
    assert_eq!(sa.namespaces[a], sb.namespaces[b]);
    for q in [
        "Where did Acme open a plant in 2021?",
        "What revenue did Acme report in 2022?",
        "Who became chief executive of Acme?",
    ] {
        assert_eq!(context(ea, a, q, None), context(eb, b, q, None), "{q}");
        assert_eq!(
            context(ea, a, q, Some(3)),
            context(eb, b, q, Some(3)),
            "{q} as of 3"
        );
    }
}

#[test]
fn a_namespace_moves_through_export_and_import_with_its_history() {
    let src = tmp();
    fixture_copy(src.path());
    let e = engine_at(src.path());
    // More history on top of the old release's: a document later reverted, and an erasure.
    let secret = "Acme Corp paid Quentin Marlowe a bonus of $9 million in 2022.";
    let t = ingest_text(&e, "acme", "acme-bonus", secret, "2022");
    ingest_text(
        &e,
        "acme",
        "acme-2023",
        "In 2023, Acme Corp reported revenue of $5.9 billion.",
        "2023",
    );
    e.revert("acme", t + 1, "test", Some("wrong year".into()))
        .unwrap();
    e.erase_document("acme", "acme-bonus", "test", Some("privacy request".into()))
        .unwrap();
    e.summarize("acme").unwrap();

    let out = tmp();
    let file = out.path().join("acme.jsonl");
    let r = e.export_namespace("acme", &file, &|_, _| {}).unwrap();
    let head = e.namespace("acme").unwrap().store().head_tx();
    assert_eq!(r.transactions, head);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("Marlowe"), "erased text is in the export");
    assert!(!out.path().join("acme.partial").exists());
    let header: ExportHeader = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let end: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let log = e.audit("acme", 0, 1000).unwrap();
    assert_eq!(end["end"]["audit_head"], log.last().unwrap().hash, "{end}");
    assert_eq!((header.namespace.as_str(), header.head_tx), ("acme", head));
    // An existing file is never overwritten.
    assert!(matches!(
        e.export_namespace("acme", &file, &|_, _| {}),
        Err(Error::Invalid(_))
    ));

    // Into a fresh data folder, under the file's own name.
    let dst = tmp();
    let f = engine_at(dst.path());
    let seen = std::sync::Mutex::new(Vec::new());
    let r = f
        .import_namespace(None, &file, &|done, all| {
            seen.lock().unwrap().push((done, all))
        })
        .unwrap();
    assert_eq!((r.namespace.as_str(), r.transactions), ("acme", head));
    assert_eq!(seen.lock().unwrap().last(), Some(&(head, head)));
    f.summarize("acme").unwrap();
    same(&e, "acme", &f, "acme");
    let audit = f.verify_audit().unwrap();
    assert!(audit.ok, "{audit:?}");
    // The history of the import says where it came from.
    let entries = f.audit("acme", 0, 1000).unwrap();
    assert_eq!(entries.len() as u64, head);
    assert_eq!(entries[0].details["imported_from"]["namespace"], "acme");
    // It keeps taking writes, with ids past the imported ones.
    let before = f.namespace("acme").unwrap().store().stats().unwrap();
    ingest_text(
        &f,
        "acme",
        "acme-2024",
        "In 2024, Acme Corp opened a plant in Porto.",
        "2024",
    );
    let after = f.namespace("acme").unwrap().store().stats().unwrap();
    assert_eq!(after.documents, before.documents + 1);
    assert!(context(&f, "acme", "Where did Acme open a plant in 2024?", None).contains("Porto"));

    // Into another namespace of the same store.
    e.import_namespace(Some("acme-copy"), &file, &|_, _| {})
        .unwrap();
    same(&e, "acme", &e, "acme-copy");

    // Not into a namespace with more history than the file.
    let again = f.import_namespace(None, &file, &|_, _| {});
    assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
}

/// A namespace moved with an early export is caught up with a later one: the import checks the
/// transactions it already has and replays only the new ones.
#[test]
fn a_later_export_catches_up_an_earlier_import() {
    let src = tmp();
    fixture_copy(src.path());
    let e = engine_at(src.path());
    let dir = tmp();
    let early = dir.path().join("early.jsonl");
    e.export_namespace("acme", &early, &|_, _| {}).unwrap();
    let dst = tmp();
    let f = engine_at(dst.path());
    let r = f.import_namespace(None, &early, &|_, _| {}).unwrap();
    assert_eq!((r.transactions, r.already_there), (6, 0));
    // The source moves on: an ingest, a correction by retraction, an erasure.
    ingest_text(
        &e,
        "acme",
        "acme-2023",
        "In 2023, Acme Corp reported revenue of $5.9 billion.",
        "2023",
    );
    e.erase_document("acme", "acme-2021-q1", "test", Some("privacy".into()))
        .unwrap();
    let late = dir.path().join("late.jsonl");
    e.export_namespace("acme", &late, &|_, _| {}).unwrap();
    let r = f.import_namespace(None, &late, &|_, _| {}).unwrap();
    assert_eq!((r.transactions, r.already_there), (2, 6));
    e.summarize("acme").unwrap();
    f.summarize("acme").unwrap();
    same(&e, "acme", &f, "acme");
    // The erasure reached the copy: the text is gone from it too.
    assert!(!document_ids(&f, "acme").contains(&"acme-2021-q1".to_string()));
    assert!(f.verify_audit().unwrap().ok);
}

#[test]
fn damaged_incomplete_or_newer_exports_are_refused_before_any_write() {
    let src = tmp();
    let e = engine_at(src.path());
    ingest_text(
        &e,
        "n",
        "a",
        "In 2021, Acme Corp opened a plant in Berlin.",
        "2021",
    );
    ingest_text(
        &e,
        "n",
        "b",
        "In 2022, Acme Corp opened a plant in Lyon.",
        "2022",
    );
    let dir = tmp();
    let file = dir.path().join("n.jsonl");
    e.export_namespace("n", &file, &|_, _| {}).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "header, two transactions, end");

    let f = engine_at(tmp().path());
    let cases: Vec<(&str, String, &str)> = vec![
        ("no end line", lines[..3].join("\n"), "incomplete"),
        (
            "a lost transaction",
            [lines[0], lines[2], lines[3]].join("\n"),
            "follows",
        ),
        (
            "not JSON",
            [lines[0], "{not json", lines[2], lines[3]].join("\n"),
            "line 2",
        ),
        ("empty", String::new(), "empty"),
        ("no header", lines[1..].join("\n"), "header"),
        (
            "a newer format",
            [
                lines[0]
                    .replace("\"format_version\":1", "\"format_version\":99")
                    .as_str(),
                lines[1],
                lines[2],
                lines[3],
            ]
            .join("\n"),
            "upgrade",
        ),
        (
            "not an export",
            lines[0].replace("chronorag-export", "something-else"),
            "not a ChronoRAG export",
        ),
    ];
    for (what, body, says) in cases {
        let bad = dir.path().join("bad.jsonl");
        std::fs::write(&bad, body).unwrap();
        match f.import_namespace(Some("target"), &bad, &|_, _| {}) {
            Err(Error::Invalid(m)) => assert!(m.contains(says), "{what}: {m}"),
            other => panic!("{what}: {other:?}"),
        }
        // Nothing was written: the namespace does not exist or has no transactions.
        if let Ok(ns) = f.namespace("target") {
            assert_eq!(ns.store().head_tx(), 0, "{what}");
        }
    }
    // A folder that does not exist, a missing file and an unknown namespace get clear errors.
    match e.export_namespace("n", &dir.path().join("no/such/x.jsonl"), &|_, _| {}) {
        Err(Error::Invalid(m)) => assert!(m.contains("no/such/x.jsonl"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        f.import_namespace(None, &dir.path().join("nope.jsonl"), &|_, _| {}),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        e.export_namespace("missing", &dir.path().join("m.jsonl"), &|_, _| {}),
        Err(Error::NotFound(_))
    ));
}

/// The command line: `export` then `import` into another data folder, with progress on stderr
/// and a summary on stdout; a second import is refused with a clear error and a failing status.
#[test]
fn the_cli_exports_and_imports() {
    let src = tmp();
    fixture_copy(src.path());
    let dir = tmp();
    let file = dir.path().join("acme.jsonl");
    let run = run_cli;
    let out = run(
        src.path(),
        &["export", "-n", "acme", file.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("6 transactions"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("export: 6/6 transactions"));
    let dst = dir.path().join("data");
    let out = run(&dst, &["import", "-n", "moved", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("namespace \"moved\"") && text.contains("audit chain verified (6 entries)"),
        "{text}"
    );
    // Run again (as after an interruption): what is there is checked and skipped.
    let out = run(&dst, &["import", "-n", "moved", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("0 transactions (6 already there)"), "{text}");
    // Into a namespace with another history: refused.
    let other = tmp();
    let e = engine_at(other.path());
    ingest_text(
        &e,
        "acme",
        "x",
        "In 2020, Foo Ltd opened a shop in Oslo.",
        "2020",
    );
    drop(e);
    let out = run(other.path(), &["import", file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not the export's"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e = engine_at(&dst);
    assert_eq!(
        document_ids(&e, "moved"),
        ["acme-2021-q1", "acme-2021-q2", "acme-2021-q3", "acme-2022"]
    );
}
