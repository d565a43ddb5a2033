//! PostgreSQL as the store, against a real server (`scripts/postgres.sh`, one database per
//! test): several stores writing one namespace, a server restart under load, the engine end to
//! end (ingest, query, retract, rollback, as-of, erase, and a second data folder building its
//! indexes from the database), schema versions and configuration errors. The backend-neutral
//! checks are the conformance suite in `store.rs`, the rollback property in `governance.rs`
//! and the killed writer in `atomicity.rs`, which run on both backends.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chronorag::model::TxKind;
use chronorag::store::postgres::PgStore;
use chronorag::store::{FactScan, IdKind, NsStore, Store, WriteSet};
use chronorag::time::Interval;
use chronorag::{Config, Engine, Error};

use crate::support::{ask, fact, ingest_text, postgres_admin, postgres_db, sql, tmp};

/// Commits one transaction of `n` facts built on the namespace's head, retrying (after reading
/// the head again) while another writer commits first. Returns the transaction id.
fn commit_facts(ns: &dyn NsStore, who: &str, n: u64) -> u64 {
    for _ in 0..1000 {
        let tx = ns.head_tx() + 1;
        let mut w = WriteSet::new(tx, TxKind::Assert, who, None);
        let first = ns.alloc_ids(IdKind::Fact, n);
        for i in 0..n {
            w.facts.push(fact(
                first + i,
                1,
                &format!("{who} tx {tx} fact {i}"),
                "2021",
                tx,
            ));
        }
        match ns.commit(w) {
            Ok(t) => return t.id,
            Err(Error::Conflict(_)) => {
                ns.refresh().unwrap();
            }
            Err(Error::Unavailable(_)) => {
                std::thread::sleep(Duration::from_millis(50));
                ns.refresh().ok();
            }
            Err(e) => panic!("commit failed: {e}"),
        }
    }
    panic!("{who} never got a commit in");
}

/// Every transaction 1..=head is there once, with its facts whole, and the audit chain holds.
fn check_log(ns: &dyn NsStore, facts_per_tx: u64) {
    let head = ns.head_tx();
    let txs = ns.txs(1, head, usize::MAX).unwrap();
    let ids: Vec<u64> = txs.iter().map(|t| t.id).collect();
    assert_eq!(ids, (1..=head).collect::<Vec<_>>(), "gaps or repeats");
    let mut per_tx = std::collections::BTreeMap::<u64, u64>::new();
    let page = ns
        .facts(&FactScan::new(Interval::all(), 1_000_000))
        .unwrap();
    for f in &page.items {
        *per_tx.entry(f.asserted_tx).or_default() += 1;
    }
    assert_eq!(per_tx.len() as u64, head);
    assert!(per_tx.values().all(|&n| n == facts_per_tx), "{per_tx:?}");
    let v = ns.verify_audit().unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.entries, head);
}

/// Namespace `ns` as two stores on one database see it: two servers.
fn two_stores(url: &str, ns: &str) -> (Arc<dyn NsStore>, Arc<dyn NsStore>) {
    let a = PgStore::open(url).unwrap();
    let b = PgStore::open(url).unwrap();
    a.create_namespace(ns).unwrap();
    (
        a.namespace(ns).unwrap().unwrap(),
        b.namespace(ns).unwrap().unwrap(),
    )
}

#[test]
fn two_servers_writing_one_namespace_get_gap_free_transaction_ids() {
    let dir = tmp();
    let url = postgres_db(&dir.path().display().to_string());
    let (na, nb) = two_stores(&url, "shared");
    let per_writer = 25;
    let acked: Vec<Vec<u64>> = std::thread::scope(|s| {
        let wa = s.spawn(|| {
            (0..per_writer)
                .map(|_| commit_facts(na.as_ref(), "a", 3))
                .collect::<Vec<_>>()
        });
        let wb = s.spawn(|| {
            (0..per_writer)
                .map(|_| commit_facts(nb.as_ref(), "b", 3))
                .collect::<Vec<_>>()
        });
        vec![wa.join().unwrap(), wb.join().unwrap()]
    });
    let all: BTreeSet<u64> = acked.iter().flatten().copied().collect();
    assert_eq!(
        all.len(),
        2 * per_writer,
        "a transaction id was acknowledged twice"
    );
    assert_eq!(
        all.iter().copied().collect::<Vec<_>>(),
        (1..=2 * per_writer as u64).collect::<Vec<_>>()
    );
    // Each server sees everything once it reads the head again.
    assert_eq!(na.refresh().unwrap(), 2 * per_writer as u64);
    assert_eq!(nb.refresh().unwrap(), 2 * per_writer as u64);
    check_log(na.as_ref(), 3);
    check_log(nb.as_ref(), 3);
    // A third server starting now reads the same.
    let c = PgStore::open(&url).unwrap();
    check_log(c.namespace("shared").unwrap().unwrap().as_ref(), 3);
}

#[test]
fn postgres_restarted_under_load_loses_no_acknowledged_write() {
    // A cluster of its own: restarting the shared one would disturb the other tests.
    const PORT: u16 = 54331;
    let admin = postgres_admin(PORT);
    let url = chronorag::store::postgres::ensure_database(&admin, "restart_under_load").unwrap();
    sql(
        &admin,
        "DROP DATABASE IF EXISTS restart_under_load WITH (FORCE)",
    );
    let url = chronorag::store::postgres::ensure_database(&admin, "restart_under_load")
        .map(|u| {
            assert_eq!(u, url);
            u
        })
        .unwrap();
    let store = Arc::new(PgStore::open(&url).unwrap());
    let ns = store.create_namespace("default").unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/postgres.sh");
    let restart = |cmd: &str| {
        let out = std::process::Command::new("bash")
            .arg(&script)
            .arg(cmd)
            .env("CHRONORAG_PG_PORT", PORT.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (acked, failures) = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut acked = Vec::new();
            let mut failures = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let tx = ns.head_tx() + 1;
                let mut w = WriteSet::new(tx, TxKind::Assert, "load", None);
                let first = ns.alloc_ids(IdKind::Fact, 5);
                for i in 0..5 {
                    w.facts
                        .push(fact(first + i, 1, &format!("tx {tx} #{i}"), "2022", tx));
                }
                match ns.commit(w) {
                    Ok(t) => acked.push(t.id),
                    Err(Error::Unavailable(_)) | Err(Error::Conflict(_)) => {
                        // The outcome of a commit cut off by the restart is unknown: read
                        // the head again before the next one.
                        failures += 1;
                        std::thread::sleep(Duration::from_millis(20));
                        let _ = ns.refresh();
                    }
                    Err(e) => panic!("unexpected error: {e}"),
                }
            }
            (acked, failures)
        });
        let t0 = Instant::now();
        while ns.head_tx() < 20 && t0.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(10));
        }
        restart("stop");
        std::thread::sleep(Duration::from_millis(300));
        restart("start");
        // Let it write again after the restart.
        let back = ns.head_tx();
        let t0 = Instant::now();
        while ns.head_tx() < back + 20 && t0.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        writer.join().unwrap()
    });
    assert!(failures > 0, "the restart was not noticed by the writer");
    assert!(
        acked.len() > 40,
        "the store did not reconnect: {} commits",
        acked.len()
    );
    let fresh = PgStore::open(&url).unwrap();
    let ns2 = fresh.namespace("default").unwrap().unwrap();
    let head = ns2.head_tx();
    for id in &acked {
        assert!(
            *id <= head,
            "acknowledged transaction {id} lost (head {head})"
        );
    }
    check_log(ns2.as_ref(), 5);
}

fn pg_config(data: &std::path::Path, url: &str) -> Config {
    Config {
        store: Some(url.to_string()),
        ..Config::with_data_dir(data)
    }
}

fn answer_text(e: &Engine, ns: &str, q: &str, as_of: Option<u64>) -> String {
    serde_json::to_string(&ask(e, ns, q, as_of).facts).unwrap()
}

#[test]
fn an_engine_on_postgres_ingests_answers_governs_and_a_second_folder_rebuilds_from_it() {
    let dir = tmp();
    let url = postgres_db(&dir.path().display().to_string());
    let engine = Engine::open(pg_config(&dir.path().join("a"), &url)).unwrap();
    let t1 = ingest_text(
        &engine,
        "news",
        "acme-q1",
        "Acme Corp reported revenue of $12 million in Q1 2023. Jane Doe said demand stayed strong.",
        "2023-04-15",
    );
    let t2 = ingest_text(
        &engine,
        "news",
        "acme-q2",
        "Acme Corp reported revenue of $15 million in Q2 2023, up from the first quarter.",
        "2023-07-15",
    );
    assert!(t2 > t1);
    let q = "What revenue did Acme Corp report in Q2 2023?";
    let r = ask(&engine, "news", q, None);
    assert!(
        r.facts
            .iter()
            .any(|f| f.description.contains("$15 million")),
        "{:?}",
        r.facts
    );
    // Govern: retract the Q2 fact, then roll back to before it; as-of reads see the past.
    let store = engine.namespace("news").unwrap().store().clone();
    let q2: Vec<u64> = store
        .facts(&FactScan::new(Interval::all(), 1000))
        .unwrap()
        .items
        .into_iter()
        .filter(|f| f.description.contains("$15 million"))
        .map(|f| f.id)
        .collect();
    assert!(!q2.is_empty(), "no fact states the Q2 revenue");
    let before_retract = store.head_tx();
    let as_it_was = answer_text(&engine, "news", q, Some(before_retract));
    for id in q2 {
        engine
            .retract_fact("news", id, "test", Some("wrong".into()))
            .unwrap();
    }
    assert!(!answer_text(&engine, "news", q, None).contains("$15 million"));
    assert_eq!(
        answer_text(&engine, "news", q, Some(before_retract)),
        as_it_was
    );
    engine
        .rollback("news", before_retract, "test", Some("undo".into()))
        .unwrap();
    assert!(answer_text(&engine, "news", q, None).contains("$15 million"));
    let v = store.verify_audit().unwrap();
    assert!(v.ok, "{v:?}");
    let head = store.head_tx();
    drop(store);
    engine.close().unwrap();

    // A second server with an empty data folder builds its indexes from the database.
    let other = Engine::open(pg_config(&dir.path().join("b"), &url)).unwrap();
    let r = ask(&other, "news", q, None);
    assert!(
        r.facts
            .iter()
            .any(|f| f.description.contains("$15 million"))
    );
    assert_eq!(other.namespace("news").unwrap().store().head_tx(), head);
    // Erase removes a document's text and facts for good, also from the database.
    let report = other
        .erase_document("news", "acme-q1", "test", Some("gdpr".into()))
        .unwrap();
    assert!(report.facts > 0, "{report:?}");
    let store = other.namespace("news").unwrap().store().clone();
    assert!(store.document_by_external("acme-q1").unwrap().is_none());
    let left = store.facts(&FactScan::new(Interval::all(), 1000)).unwrap();
    assert!(
        left.items
            .iter()
            .all(|f| !f.description.contains("Jane Doe")),
        "{:?}",
        left.items
    );
}

#[test]
fn a_schema_from_a_newer_binary_is_refused() {
    let dir = tmp();
    let url = postgres_db(&dir.path().display().to_string());
    drop(PgStore::open(&url).unwrap());
    sql(
        &url,
        "INSERT INTO chronorag_schema (version, name, changed) VALUES (99, 'future', 'x')",
    );
    let e = PgStore::open(&url).unwrap_err();
    assert!(matches!(e, Error::SchemaTooNew { found: 99, .. }), "{e:?}");
}

#[test]
fn bad_store_settings_get_clear_errors() {
    let dir = tmp();
    let run = |store: &str| {
        std::process::Command::new(crate::support::bin())
            .arg("--data")
            .arg(dir.path())
            .args(["--store", store, "init"])
            .output()
            .unwrap()
    };
    let out = run("mysql://db/x");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a PostgreSQL URL"), "{err}");
    // Nothing listens on port 1: the message says the server is unreachable, without the
    // password.
    let out = run("postgres://app:hunter2@127.0.0.1:1/chronorag");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unreachable"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn two_servers_over_one_database_see_each_others_writes_within_a_second() {
    use crate::support::Server;
    use serde_json::json;
    let dir = tmp();
    let url = postgres_db(&dir.path().display().to_string());
    let config = format!("store = {url:?}\n");
    let a = Server::start(&[], Some(&config));
    let b = Server::start(&[], Some(&config));
    let post = |s: &Server, who: &str, i: usize| -> bool {
        let body = json!({"documents": [{
            "id": format!("{who}-{i}"),
            "time": format!("2024-03-{:02}", 1 + i % 28),
            "text": format!("Gadgetron {who}x{i} shipped 40 units to Oslo on that day, the company said."),
        }]});
        // A write racing the other server's may be refused (409): it is sent again.
        for _ in 0..20 {
            let r = s.post("/v1/namespaces/shared/documents", &body);
            match r.status {
                200 => return true,
                409 => std::thread::sleep(Duration::from_millis(20)),
                _ => panic!("{who}-{i}: {} {}", r.status, r.text),
            }
        }
        false
    };
    let sees = |s: &Server, token: &str| -> bool {
        let r = s.post(
            "/v1/namespaces/shared/query",
            &json!({"query": format!("Where did Gadgetron {token} ship units?")}),
        );
        // In the cited context (the response also repeats the question).
        r.status == 200
            && r.json()["context"]
                .as_str()
                .is_some_and(|c| c.contains(&format!("Gadgetron {token} shipped")))
    };
    let n = 8;
    std::thread::scope(|s| {
        let wa = s.spawn(|| (0..n).all(|i| post(&a, "a", i)));
        let wb = s.spawn(|| (0..n).all(|i| post(&b, "b", i)));
        assert!(
            wa.join().unwrap() && wb.join().unwrap(),
            "a write never got in"
        );
    });
    assert!(!sees(&a, "ax99"), "a document never written is seen");
    // Every acknowledged write is visible to the writer at once and to the other server within
    // a second.
    for i in 0..n {
        for (writer, other, who) in [(&a, &b, "a"), (&b, &a, "b")] {
            let token = format!("{who}x{i}");
            assert!(
                sees(writer, &token),
                "{token} not visible on its own server"
            );
            let t0 = Instant::now();
            while !sees(other, &token) {
                assert!(
                    t0.elapsed() < Duration::from_secs(1),
                    "{token} not visible on the other server after 1 s"
                );
                std::thread::sleep(Duration::from_millis(25));
            }
        }
    }
    // Both servers come to report the same head: every write, once.
    let head = |s: &Server| s.get("/v1/namespaces/shared").json()["stats"]["transactions"].as_u64();
    let t0 = Instant::now();
    while head(&a) != head(&b) && t0.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(head(&a), head(&b));
    assert_eq!(head(&a), Some(2 * n as u64));
}

/// An ingest job belongs to the server holding its lease: a second server over the same
/// database leaves it alone while the holder renews the lease, and takes it over (and finishes
/// it) once the lease expires, as when the holder died mid-job.
#[test]
fn a_job_held_by_a_live_server_is_left_alone_and_taken_over_when_its_lease_expires() {
    use chronorag::ingest::DocumentInput;
    let dir = tmp();
    let url = postgres_db(&dir.path().display().to_string());
    let lease = Duration::from_millis(1500);
    // Server A accepts a job and holds it (as if running it) but its worker never runs it.
    let a = Engine::open(pg_config(&dir.path().join("a"), &url)).unwrap();
    a.set_job_lease(lease);
    let docs = vec![DocumentInput {
        id: Some("acme-q1".into()),
        text: "Acme Corp reported revenue of $12 million in Q1 2023.".into(),
        time: Some("2023-04-15".into()),
        ..Default::default()
    }];
    let job = a.submit_job("news", docs, "test", None).unwrap();
    assert!(a.hold_job("news", job.id).unwrap());

    let b = Arc::new(Engine::open(pg_config(&dir.path().join("b"), &url)).unwrap());
    b.set_job_lease(lease);
    // B may not take a lease A holds.
    assert!(!b.hold_job("news", job.id).unwrap());
    b.start_job_worker().unwrap();
    // While A renews its lease, B (which looks at start and every few seconds) leaves the job.
    let until = Instant::now() + chronorag::engine::JOB_RESCAN + Duration::from_secs(1);
    while Instant::now() < until {
        assert!(
            a.hold_job("news", job.id).unwrap(),
            "A lost a lease it renews"
        );
        let state = b.job("news", job.id).unwrap().state;
        assert_eq!(state, chronorag::engine::JobState::Queued, "B ran A's job");
        std::thread::sleep(Duration::from_millis(250));
    }
    // A stops renewing (it died): B takes the job over and finishes it.
    drop(a);
    let deadline = Instant::now() + lease + chronorag::engine::JOB_RESCAN * 3;
    loop {
        let j = b.job("news", job.id).unwrap();
        if j.state == chronorag::engine::JobState::Done {
            assert_eq!(j.result.as_ref().map(|r| r.documents), Some(1), "{j:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B did not take over the job whose lease expired: {j:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let r = ask(
        &b,
        "news",
        "What revenue did Acme Corp report in Q1 2023?",
        None,
    );
    assert!(
        r.context.contains("$12 million"),
        "the job's document is not searchable: {}",
        r.context
    );
    // The finished job's lease is released: any server may claim the id again.
    assert!(b.hold_job("news", job.id).unwrap());
    b.stop_job_worker();
}

/// One server opens at most `MAX_CONNECTIONS` connections however many callers it has: 48
/// threads reading at once wait for a connection instead of opening one each.
#[test]
fn a_burst_of_callers_shares_a_bounded_pool_of_connections() {
    use chronorag::store::postgres::MAX_CONNECTIONS;
    let dir = tmp();
    let url = postgres_db(&dir.path().display().to_string());
    let store = Arc::new(PgStore::open(&url).unwrap());
    let ns = store.create_namespace("pool").unwrap();
    commit_facts(ns.as_ref(), "pool", 5);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..48)
        .map(|_| {
            let ns = ns.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let page = ns.facts(&FactScan::new(Interval::all(), 100)).unwrap();
                    assert_eq!(page.items.len(), 5);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let mut most = 0;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        most = most.max(crate::support::other_sessions(&url));
        std::thread::sleep(Duration::from_millis(25));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads: u64 = readers.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(reads > 48, "the readers barely ran: {reads} reads");
    assert!(
        most >= 2,
        "the readers never ran in parallel: {most} sessions"
    );
    assert!(
        most <= MAX_CONNECTIONS as i64,
        "{most} sessions for one server (at most {MAX_CONNECTIONS})"
    );
}

/// A server on a fresh database whose namespace "news" holds Acme's Q1 revenue.
fn first_server_with_acme_q1(dir: &std::path::Path) -> (String, Engine) {
    let url = postgres_db(&dir.display().to_string());
    let a = Engine::open(pg_config(&dir.join("a"), &url)).unwrap();
    ingest_text(
        &a,
        "news",
        "acme-q1",
        "Acme Corp reported revenue of $12 million in Q1 2023.",
        "2023-04-15",
    );
    (url, a)
}

/// Servers follow each other on the commits PostgreSQL announces (LISTEN/NOTIFY), not only by
/// polling: with polling set to a minute, a second server still answers from another server's
/// write within seconds.
#[test]
fn an_announced_commit_wakes_the_other_servers_follower() {
    let dir = tmp();
    let (url, a) = first_server_with_acme_q1(dir.path());
    let b = Arc::new(Engine::open(pg_config(&dir.path().join("b"), &url)).unwrap());
    b.set_follow_every(Duration::from_secs(60));
    b.start_follower();
    let q = "What revenue did Acme Corp report in Q2 2023?";
    // B opens the namespace (and catches up with A's first write).
    assert!(!ask(&b, "news", q, None).context.contains("$15 million"));
    // Let B's follower start listening before A writes again.
    std::thread::sleep(Duration::from_millis(500));
    ingest_text(
        &a,
        "news",
        "acme-q2",
        "Acme Corp reported revenue of $15 million in Q2 2023.",
        "2023-07-15",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if ask(&b, "news", q, None).context.contains("$15 million") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B did not follow A's commit in 10 s (it polls once a minute)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An audit entry another server appended (one that is not a transaction, such as a
/// verification) is never overwritten by a commit built before it: the commit is refused, the
/// committer reloads and commits after it, and the chain keeps both.
#[test]
fn a_commit_never_overwrites_an_audit_entry_another_server_appended() {
    let dir = tmp();
    let url = postgres_db(&dir.path().display().to_string());
    let (na, nb) = two_stores(&url, "audited");
    commit_facts(na.as_ref(), "a", 2);
    assert_eq!(nb.refresh().unwrap(), 1);
    // B appends into the slot A's next commit would use.
    let noted = nb
        .append_audit("verify", "b", None, serde_json::json!({"by": "b"}))
        .unwrap();
    // A's view is stale: its commit must not land in B's slot.
    let tx = commit_facts(na.as_ref(), "a", 2);
    assert_eq!(tx, 2);
    let v = na.verify_audit().unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.entries, 3, "two transactions and B's entry: {v:?}");
    let kept = nb.verify_audit().unwrap();
    assert!(kept.ok && kept.entries == 3, "{kept:?}");
    assert!(noted.seq < 3);
}

/// A client that wrote through one server and reads through another passes on the `tx` the
/// write returned: the second server catches up before answering, with no follower running.
/// A transaction no server has committed is refused, naming the latest one.
#[test]
fn a_read_as_of_another_servers_write_sees_it_at_once() {
    let dir = tmp();
    let (url, a) = first_server_with_acme_q1(dir.path());
    // B never follows by itself here.
    let b = Engine::open(pg_config(&dir.path().join("b"), &url)).unwrap();
    let q = "What revenue did Acme Corp report in Q2 2023?";
    assert!(!ask(&b, "news", q, None).context.contains("$15 million"));
    let tx = ingest_text(
        &a,
        "news",
        "acme-q2",
        "Acme Corp reported revenue of $15 million in Q2 2023.",
        "2023-07-15",
    );
    let seen = ask(&b, "news", q, Some(tx));
    assert!(seen.context.contains("$15 million"), "{}", seen.context);
    let err = b
        .query(
            "news",
            &chronorag::query::QueryRequest {
                query: q.into(),
                as_of_tx: Some(tx + 5),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid(m) if m.contains("is after the latest transaction")),
        "{err:?}"
    );
}
