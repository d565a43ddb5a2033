//! Regression tests for the outage table of issue 15 ("one request must never break a
//! namespace"): each test reproduces one finding and fails on the code before its fix.

use std::sync::mpsc;
use std::time::Duration;

use chronorag::ingest::IngestOptions;
use chronorag::ingest::input::{DocumentInput, prepare};
use chronorag::query::QueryRequest;
use chronorag::{Config, Engine, Error};
use serde_json::json;

use crate::support::{Server, engine_at, ingest_text, tmp};

/// Critical: a document dated 9999-12-31 saying "three months later" wrote a time key past
/// year 9999 that could not be read back; every write was then refused, and after a restart
/// the namespace answered 500. Now such expressions are not times, nothing unreadable is
/// written, and every route keeps working, before and after a restart.
#[test]
fn times_at_the_edge_of_the_calendar_never_break_a_namespace() {
    let server = Server::start(&[], None);
    let docs = json!({"documents": [
        {"id": "far", "time": "9999-12-31", "text": "Acme Corp opened a plant on 31 December 9999. \
          Three months later, Acme Corp reported revenue of $5 million. A year later it closed. \
          Next quarter, Acme Corp plans more. In the following year the plant grew."},
        {"id": "early", "time": "1000-01-01", "text": "Acme Corp was founded on 1 January 1000. \
          A year earlier, Acme Corp had no plant. Last week Acme Corp hired 3 people. \
          Five thousand years ago nothing happened."},
    ]});
    let r = server.post("/v1/namespaces/edge/documents", &docs);
    assert_eq!(r.status, 200, "{}", r.text);
    let other =
        json!({"documents": [{"id": "x", "time": "2024", "text": "In 2024, Beta Ltd grew."}]});
    let check = |s: &Server| {
        let q = s.post(
            "/v1/namespaces/edge/query",
            &json!({"query": "What did Acme Corp report next year?", "now": "9999-12-31"}),
        );
        assert_eq!(q.status, 200, "{}", q.text);
        for path in [
            "/v1/namespaces/edge/timeline",
            "/v1/namespaces/edge/timeline/9999",
            "/v1/namespaces/edge/timeline/1000",
            "/v1/namespaces/edge/transactions",
            "/v1/namespaces/edge/facts",
            "/v1/namespaces/edge/audit",
        ] {
            let r = s.get(path);
            assert_eq!(r.status, 200, "{path}: {}", r.text);
        }
    };
    check(&server);
    // Writes keep working, in this namespace and in others.
    let r = server.post("/v1/namespaces/other/documents", &other);
    assert_eq!(r.status, 200, "{}", r.text);
    let more = json!({"documents": [{"id": "far2", "time": "9999-Q4",
        "text": "Next year Acme Corp expands. In the next two quarters revenue doubles."}]});
    let r = server.post("/v1/namespaces/edge/documents", &more);
    assert_eq!(r.status, 200, "{}", r.text);
    // After a restart the namespace still answers, and can be rolled back.
    let (status, dir) = server.terminate();
    assert!(status.success());
    let data = dir.as_ref().unwrap().path().join("data");
    let server = Server::start_at(&data, &[], None, dir);
    check(&server);
    let r = server.post(
        "/v1/namespaces/edge/rollback",
        &json!({"to_tx": 1, "reason": "edge test"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = server.post("/v1/namespaces/edge/documents", &more);
    assert_eq!(r.status, 200, "{}", r.text);
}

/// The normaliser's own contract at the edges: nothing it returns lies outside 1000–9999.
#[test]
fn relative_times_past_the_supported_years_are_not_times() {
    use chronorag::time::{TimeKey, find_times};
    let texts = [
        "Three months later it closed. A year later it reopened. Next quarter, more. \
         In the following year, growth. Next week, a sale. Tomorrow, a party.",
        "A year earlier it opened. Last week, a hire. Yesterday, a fire. 5000 years ago, dust.",
    ];
    for (reference, text) in [("9999-12-31", texts[0]), ("1000-01-01", texts[1])] {
        let r = TimeKey::parse(reference).unwrap();
        for span in find_times(text, Some(&r)) {
            assert!(span.interval.is_supported(), "{reference}: {span:?}");
            assert!(
                span.key.is_none_or(|k| k.is_supported()),
                "{reference}: {span:?}"
            );
        }
    }
}

/// High: erasing an entity whose name occurs inside "[erased]" (rename it to "Ed") looped
/// forever at 100% CPU with the writer lock held.
#[test]
fn erasing_an_entity_named_like_the_redaction_mark_finishes() {
    let dir = tmp();
    let e = std::sync::Arc::new(engine_at(dir.path()));
    ingest_text(
        &e,
        "p",
        "a",
        "In 2022, Edgar Quenby joined Acme Corp. Edgar Quenby said the red car was erased.",
        "2022",
    );
    e.rename_entity("p", "Edgar Quenby", "Ed", "admin", Some("test".into()))
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let worker = e.clone();
    std::thread::spawn(move || {
        let r = worker.erase_entity("p", "Ed", "dpo", Some("request".into()));
        let _ = tx.send(r.map(|r| r.entities));
    });
    let erased = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("erase must finish (it looped forever before the fix)")
        .unwrap();
    assert_eq!(erased, 1);
    assert!(e.entity("p", "Ed", None).is_err());
    // Writes to the namespace work again at once.
    ingest_text(&e, "p", "b", "In 2023, Acme Corp hired 5 people.", "2023");
}

/// High (privacy): erasing a document kept the entities it created that had no other facts;
/// theme words of erased facts stayed in older summary versions.
#[test]
fn erasing_a_document_leaves_nothing_of_it() {
    let dir = tmp();
    let e = engine_at(dir.path());
    ingest_text(
        &e,
        "p",
        "keep",
        "In 2022, Acme Corp opened a plant in Munich with 300 workers.",
        "2022",
    );
    e.summarize("p").unwrap();
    ingest_text(
        &e,
        "p",
        "private",
        "In 2022, Zebracorn Quuxley visited the Munich plant of Vexilloquent Holdings and \
         praised the marmalade pavilion. Zebracorn Quuxley complained about the marmalade \
         pavilion to Orbiculate Trading in 2022.",
        "2022",
    );
    e.summarize("p").unwrap();
    ingest_text(
        &e,
        "p",
        "later",
        "In 2022, Acme Corp hired 20 engineers in Munich.",
        "2022",
    );
    e.summarize("p").unwrap();
    e.flush().unwrap();
    for word in ["Vexilloquent", "Orbiculate", "Zebracorn"] {
        let found = e.entities("p", Some(word), None, 0, 10, None).unwrap();
        assert!(!found.is_empty(), "the test needs the entity {word} first");
    }
    // Vexilloquent Holdings is only mentioned: an entity with no fact at all.
    let v = e.entity("p", "Vexilloquent Holdings", None).unwrap();
    assert_eq!(v.fact_count, 0, "the test needs an entity without facts");
    e.erase_document("p", "private", "dpo", Some("GDPR request".into()))
        .unwrap();
    e.summarize("p").unwrap();
    e.flush().unwrap();
    for word in ["Vexilloquent", "Orbiculate", "Zebracorn"] {
        let found = e.entities("p", Some(word), None, 0, 10, None).unwrap();
        assert!(
            found.is_empty(),
            "entity {word} survived the erasure: {found:?}"
        );
    }
    for secret in [
        &b"marmalade"[..],
        b"pavilion",
        b"Zebracorn",
        b"Vexilloquent",
    ] {
        let hits = crate::governance::files_contain(dir.path(), secret);
        assert!(
            hits.is_empty(),
            "{} still on disk in {hits:?}",
            String::from_utf8_lossy(secret)
        );
    }
    // What the other documents said is still there, and Munich (named by them) stays.
    assert!(e.document("p", "keep", None).is_ok());
    assert!(
        !e.entities("p", Some("Munich"), None, 0, 10, None)
            .unwrap()
            .is_empty()
    );
}

/// High: a 60 MB `now` once cost gigabytes; time strings are now capped before any work.
#[test]
fn huge_time_strings_are_refused_cheaply() {
    let dir = tmp();
    let e = engine_at(dir.path());
    ingest_text(&e, "p", "a", "In 2022, Acme Corp opened a plant.", "2022");
    let huge = format!("2024-{}", "1".repeat(8 << 20));
    let started = std::time::Instant::now();
    for req in [
        QueryRequest {
            query: "What did Acme do?".into(),
            now: Some(huge.clone()),
            ..Default::default()
        },
        QueryRequest {
            query: "What did Acme do?".into(),
            time: Some(chronorag::query::TimeParam {
                at: Some(huge.clone()),
                ..Default::default()
            }),
            ..Default::default()
        },
    ] {
        let err = e.query("p", &req).unwrap_err();
        assert!(matches!(err, Error::Time(_)), "{err:?}");
        assert!(
            err.to_string().len() < 300,
            "the error must not echo the input"
        );
    }
    // Refused before any parsing: a tiny fraction of what scanning 8 MB would take.
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Medium: more namespaces than `max_namespaces` are refused; at most `max_open_namespaces`
/// keep their indexes (threads, memory) open, the least recently used idle ones are closed
/// and reopen on use with their data intact.
#[test]
fn namespaces_are_limited_and_idle_ones_close_their_indexes() {
    let dir = tmp();
    let mut cfg = Config::with_data_dir(dir.path());
    cfg.max_namespaces = 6;
    cfg.max_open_namespaces = 2;
    let e = Engine::open(cfg).unwrap();
    for i in 0..6 {
        ingest_text(
            &e,
            &format!("n{i}"),
            "a",
            &format!("In 2022, Acme{i} Corp grew."),
            "2022",
        );
        assert!(e.open_index_count() <= 2, "{} open", e.open_index_count());
    }
    let doc = prepare(
        DocumentInput {
            text: "In 2022, Acme Corp grew.".into(),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let err = e
        .ingest("n6", vec![doc], &IngestOptions::default())
        .unwrap_err();
    assert!(
        matches!(&err, Error::Conflict(m) if m.contains("max_namespaces")),
        "{err:?}"
    );
    assert!(e.namespace("n6").is_err(), "nothing was created");
    for i in 0..6 {
        let r = e
            .query(
                &format!("n{i}"),
                &QueryRequest {
                    query: format!("How did Acme{i} Corp do?"),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(r.context.contains(&format!("Acme{i}")), "{}", r.context);
        assert!(e.open_index_count() <= 2);
    }
}

/// A memory budget (`index_memory_mb`) across namespaces: when a namespace opens past it, the
/// least recently used idle ones close until the rest fit, and reopen on use intact.
#[test]
fn a_memory_budget_closes_idle_namespaces_until_the_rest_fit() {
    let dir = tmp();
    {
        let e = Engine::open(Config::with_data_dir(dir.path())).unwrap();
        for i in 0..4 {
            let ns = format!("m{i}");
            ingest_text(
                &e,
                &ns,
                "a",
                &format!("In 2022, Acme{i} Corp grew."),
                "2022",
            );
        }
        e.flush().unwrap();
    }
    // Each namespace's estimate as reading opens it (a written index holds more memory than
    // one opened for reading, whose vectors are mapped from their files).
    let sizes: Vec<u64> = {
        let e = Engine::open(Config::with_data_dir(dir.path())).unwrap();
        (0..4)
            .map(|i| e.index_sizes(&format!("m{i}")).unwrap().memory_bytes)
            .collect()
    };
    let largest = *sizes.iter().max().unwrap();
    assert!(largest > 0, "no estimate: {sizes:?}");
    // Room for two namespaces, not three (in bytes: these namespaces are smaller than the
    // MiB `index_memory_mb` counts in).
    let budget = 2 * largest + largest / 2;
    let e = Engine::open(Config::with_data_dir(dir.path())).unwrap();
    e.set_index_memory_budget(budget);
    let mut most = 0;
    for round in 0..2 {
        for i in 0..4 {
            let r = e
                .query(
                    &format!("m{i}"),
                    &QueryRequest {
                        query: format!("How did Acme{i} Corp do?"),
                        ..Default::default()
                    },
                )
                .unwrap();
            assert!(r.context.contains(&format!("Acme{i}")), "{}", r.context);
            let (open, bytes) = (e.open_index_count(), e.open_index_bytes());
            assert!(
                bytes <= budget,
                "round {round}, m{i}: {open} open, {bytes} bytes over a {budget}-byte budget"
            );
            most = most.max(open);
        }
    }
    assert_eq!(most, 2, "the budget holds two namespaces: {sizes:?}");
}

/// A job the worker takes up while the server is stopping (a restart's re-queued jobs, or a
/// stop between two batches) is left for the next start with its documents: it was once marked
/// done with none of them ingested, and its documents deleted.
#[test]
fn a_job_taken_up_while_stopping_is_left_for_the_next_start() {
    let dir = tmp();
    let e = std::sync::Arc::new(engine_at(dir.path()));
    let docs: Vec<DocumentInput> = (0..200)
        .map(|i| DocumentInput {
            id: Some(format!("d{i}")),
            text: format!("In 2023, Acme Corp opened plant number {i} in Lyon."),
            ..Default::default()
        })
        .collect();
    let job = e.submit_job("p", docs, "tester", None).unwrap();
    // Stopping, then the worker starts with the queued job.
    e.stop_job_worker();
    e.start_job_worker().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while e.job("p", job.id).unwrap().state == chronorag::engine::JobState::Queued {
        assert!(std::time::Instant::now() < deadline, "job never taken up");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    let j = e.job("p", job.id).unwrap();
    let ns = e.namespace("p").unwrap();
    let landed = ns.store().stats().unwrap().documents;
    assert_ne!(
        j.state,
        chronorag::engine::JobState::Done,
        "{j:?}, {landed} documents"
    );
    assert!(landed < 200, "nothing runs while stopping: {landed}");
    assert!(
        !ns.store().meta_scan("jobdocs/").unwrap().is_empty(),
        "the job's documents are kept for the next start"
    );
}

/// Low: a failed ingest job kept its documents in the store forever, out of erase's reach.
#[test]
fn failed_jobs_drop_their_documents() {
    let dir = tmp();
    let e = std::sync::Arc::new(engine_at(dir.path()));
    // A namespace whose vectors another embedder made: every ingest into it fails.
    let ns = e.namespace_or_create("p").unwrap();
    ns.store()
        .meta_put("embedder", b"another-embedder")
        .unwrap();
    let docs = vec![DocumentInput {
        id: Some("secret".into()),
        text: "In 2023, Acme Corp shrank with the secret Quibblewort plan.".into(),
        ..Default::default()
    }];
    let job = e.submit_job("p", docs, "tester", None).unwrap();
    e.start_job_worker().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let done = loop {
        let j = e.job("p", job.id).unwrap();
        if matches!(
            j.state,
            chronorag::engine::JobState::Done | chronorag::engine::JobState::Failed
        ) {
            break j;
        }
        assert!(std::time::Instant::now() < deadline, "job never finished");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(done.state, chronorag::engine::JobState::Failed, "{done:?}");
    e.stop_job_worker();
    e.flush().unwrap();
    assert!(
        done.error
            .as_deref()
            .unwrap_or("")
            .contains("embedded with"),
        "{done:?}"
    );
    let left = ns.store().meta_scan("jobdocs/").unwrap();
    assert!(left.is_empty(), "a failed job kept its documents");
}

/// Low: bidi-override characters in ids could make a citation display as another document's
/// id; URLs, which users already have as ids, are accepted and work on every route.
#[test]
fn ids_refuse_spoofing_characters_and_accept_urls() {
    let server = Server::start(&[], None);
    let url_id = "https://example.com/news/a?x=1&y=two#part-2";
    let r = server.post(
        "/v1/namespaces/p/documents",
        &json!({"documents": [{"id": url_id, "time": "2022", "text": "In 2022, Acme Corp grew."}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let enc: String = url_id
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let r = server.get(&format!("/v1/namespaces/p/documents/{enc}"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["document"]["external_id"], url_id);
    let q = server.post(
        "/v1/namespaces/p/query",
        &json!({"query": "How did Acme Corp do?"}),
    );
    assert!(q.json()["context"].as_str().unwrap().contains(url_id));
    for bad in ["invoice\u{202E}fdp.exe", "a\u{2066}b", "tab\there"] {
        let r = server.post(
            "/v1/namespaces/p/documents",
            &json!({"documents": [{"id": bad, "text": "In 2022, Acme Corp grew."}]}),
        );
        assert_eq!(r.status, 400, "{bad:?}: {}", r.text);
    }
    let r = server.request(
        "DELETE",
        &format!("/v1/namespaces/p/documents/{enc}?erase=true&reason=test"),
        None,
    );
    assert!(r.status == 200, "{}", r.text);
    assert_eq!(
        server
            .get(&format!("/v1/namespaces/p/documents/{enc}"))
            .status,
        404
    );
}

/// Low: a huge entity name is cut; the context never exceeds the budget.
#[test]
fn huge_entity_names_are_cut_and_the_budget_holds() {
    let dir = tmp();
    let e = engine_at(dir.path());
    let name: String = (0..3000).map(|i| format!("Zed{i} ")).collect();
    ingest_text(
        &e,
        "p",
        "a",
        &format!("In 2022, {name}Corp opened a plant. In 2022 revenue was $5 million."),
        "2022",
    );
    for v in e.entities("p", None, None, 0, 100, None).unwrap() {
        assert!(v.name.len() <= 120, "{}", v.name.len());
    }
    for budget in [200, 1000, 4000] {
        let r = e
            .query(
                "p",
                &QueryRequest {
                    query: "Who opened a plant in 2022?".into(),
                    budget_chars: Some(budget),
                    ..Default::default()
                },
            )
            .unwrap();
        let n = r.context.chars().count();
        assert!(n <= budget, "{n} characters > {budget}");
        for f in &r.facts {
            assert!(f.subject.len() <= 120 && f.object.as_ref().map_or(0, String::len) <= 400);
        }
    }
}

/// The hostile-time drill (issue 15, "long drills"): documents dated at the edges of the
/// supported calendar (1000–9999) whose text names years from 0 to 99999, impossible dates and
/// every kind of relative expression, ingested in batches. No record may be written that
/// cannot be read back: after a reopen every fact's time is inside the calendar, every year of
/// the timeline opens, summaries compute, queries at the edges answer, the audit chain
/// verifies. Documents dated outside the calendar are refused as a whole batch with a time
/// error. `CHRONORAG_TIME_DRILL_DOCS` sets the number of documents (CI: 300).
#[test]
fn hostile_times_through_ingest_write_nothing_unreadable() {
    use chronorag::time::TimeKey;
    let n: usize = std::env::var("CHRONORAG_TIME_DRILL_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let dates = [
        "1000-01-01",
        "1000-12-31",
        "1000-Q1",
        "1000",
        "9999-12-31",
        "9999-Q4",
        "9999",
        "9999-12",
        "2024-02-29",
        "1999-12-31",
        "2000-01-01",
        "1582-10-10",
    ];
    let years = [
        0, 1, 99, 999, 1000, 1001, 1582, 1999, 2000, 9998, 9999, 10000, 12345, 99999,
    ];
    let phrases = [
        "Three months later, {s} reported revenue of $5 million.",
        "A year earlier, {s} opened a plant.",
        "Next quarter, {s} plans to hire 40 people.",
        "Last quarter, {s} closed a site.",
        "In the following year, {s} grew.",
        "The previous year, {s} shrank.",
        "Next week, {s} holds a sale. Last week, {s} held one.",
        "Yesterday {s} signed a deal; tomorrow {s} signs another.",
        "In 5000 years, {s} will be gone. 5000 years ago, {s} was not there.",
        "A century later, {s} still stood. The next decade belongs to {s}.",
        "Two quarters earlier, {s} lost money. In the second half of the year, {s} recovered.",
        "In FY{y}, {s} earned $3 million.",
        "In Q4 {y}, {s} reported revenue of $7 million.",
        "In H1 {y}, {s} hired 12 people.",
        "In {y}, {s} was founded.",
        "Since {y}, {s} has grown. By {y}, {s} plans to double.",
        "Between {y} and {y2}, {s} expanded.",
        "In the {y}s, {s} thrived.",
        "On December 31, {y}, {s} closed. On 31/12/{y} it reopened.",
        "On {y}-13-45, {s} did something. In Q5 {y}, {s} did more.",
        "On February 29, {y}, {s} paid a dividend.",
        "{y} years after {y2}, {s} merged with Beta Ltd.",
    ];
    let dir = tmp();
    let docs: Vec<_> = (0..n)
        .map(|i| {
            let s = ["Acme Corp", "Beta Ltd", "Gamma AG"][i % 3];
            let text: Vec<String> = (0..4)
                .map(|k| {
                    let y = years[(i + 3 * k) % years.len()];
                    let y2 = years[(i * 5 + k + 1) % years.len()];
                    phrases[(i * 7 + k) % phrases.len()]
                        .replace("{s}", s)
                        .replace("{y2}", &y2.to_string())
                        .replace("{y}", &y.to_string())
                })
                .collect();
            prepare(
                DocumentInput {
                    id: Some(format!("t{i}")),
                    // The filing number keeps every text distinct (equal texts are duplicates).
                    text: format!("{} This is filing {i} of {s}.", text.join(" ")),
                    time: Some(dates[i % dates.len()].into()),
                    ..Default::default()
                },
                None,
            )
            .unwrap()
        })
        .collect();
    {
        let e = engine_at(dir.path());
        for batch in docs.chunks(50) {
            let r = e
                .ingest("t", batch.to_vec(), &IngestOptions::default())
                .unwrap();
            assert!(r.rejected.is_empty(), "{:?}", r.rejected);
            assert_eq!(r.duplicates, 0);
        }
        // Dated outside the calendar: refused, nothing written.
        let head = e.namespace("t").unwrap().store().head_tx();
        for bad in [
            "0999-12-31",
            "10000",
            "-5",
            "99999-01-01",
            "2023-02-30",
            "Q5 2023",
        ] {
            let refused = prepare(
                DocumentInput {
                    id: Some(format!("bad-{bad}")),
                    text: "Acme Corp grew.".into(),
                    time: Some(bad.into()),
                    ..Default::default()
                },
                None,
            )
            .and_then(|d| e.ingest("t", vec![d], &IngestOptions::default()));
            assert!(refused.is_err(), "{bad} was accepted");
        }
        assert_eq!(e.namespace("t").unwrap().store().head_tx(), head);
        e.summarize("t").unwrap();
        e.flush().unwrap();
    }
    // Reopened: everything reads back.
    let e = engine_at(dir.path());
    let stats = e.stats(Some("t")).unwrap();
    assert_eq!(stats.totals.documents as usize, n, "every document landed");
    let facts = crate::support::all_facts(&e, "t", None);
    assert!(
        facts.len() > n,
        "only {} facts from {n} documents",
        facts.len()
    );
    for f in &facts {
        assert!(f.valid.is_supported(), "{f:?}");
        let stored = e
            .namespace("t")
            .unwrap()
            .store()
            .fact(f.id, None)
            .unwrap()
            .expect("listed facts are stored");
        assert!(
            stored.time_key.is_none_or(|k| k.is_supported()),
            "{stored:?}"
        );
    }
    let years = e.timeline("t", None, None).unwrap();
    assert!(years.children.iter().any(|c| c.node == "9999"));
    assert!(years.children.iter().any(|c| c.node == "1000"));
    for y in &years.children {
        let node = e.timeline("t", Some(&y.node), None).unwrap();
        for c in &node.children {
            assert!(TimeKey::parse(&c.node).is_ok(), "{}", c.node);
            e.timeline("t", Some(&c.node), None).unwrap();
        }
    }
    for now in ["1000-01-01", "9999-12-31"] {
        for q in [
            "What did Acme Corp report next quarter?",
            "What happened last week?",
            "Revenue in the previous year and three months later?",
        ] {
            let req = QueryRequest {
                query: q.into(),
                now: Some(now.into()),
                ..Default::default()
            };
            e.query("t", &req).unwrap();
        }
    }
    assert!(e.verify_audit().unwrap().ok);
    eprintln!(
        "hostile times: {n} documents, {} facts, {} years in the timeline, all readable",
        facts.len(),
        years.children.len()
    );
}
