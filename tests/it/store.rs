//! The store: namespaces, versioned records and as-of reads, valid-time / entity / transaction
//! scans, schema version and migrations.
//!
//! **The conformance suite**: the checks written against the `Store` traits alone take the
//! backend's opener, and [`conformance!`] runs every one of them against each backend: sled,
//! and PostgreSQL (a real server, `scripts/postgres.sh`, one database per test folder). The
//! schema-version and migration checks of the sled folder are sled's own.

use std::collections::BTreeSet;
use std::sync::Arc;

use chronorag::model::{Entity, EntityKind, Status, TxKind};
use chronorag::store::{
    self, FactScan, IdKind, MIGRATIONS, Migration, NsStore, SledStore, Store, WriteSet,
};
use chronorag::time::{Interval, TimeKey};
use chronorag::{Error, Result};

use crate::support::{fact, fact_over, tmp};

/// Opens (or reopens) a backend's store in a folder.
type Opener = dyn Fn(&std::path::Path) -> Arc<dyn Store>;

fn open_sled(dir: &std::path::Path) -> Arc<dyn Store> {
    Arc::new(SledStore::open(dir).expect("open store"))
}

/// PostgreSQL, one database per folder (reopening a folder reopens its database).
fn open_postgres(dir: &std::path::Path) -> Arc<dyn Store> {
    let url = crate::support::postgres_db(&dir.display().to_string());
    Arc::new(chronorag::store::postgres::PgStore::open(&url).expect("open the PostgreSQL store"))
}

/// Runs every conformance check against every backend, as tests named `on_BACKEND::CHECK`.
macro_rules! conformance {
    (backends: [$($backend:ident => $open:path),* $(,)?], checks: $checks:tt) => {
        $(conformance!(@one $backend, $open, $checks);)*
    };
    (@one $backend:ident, $open:path, [$($check:ident),* $(,)?]) => {
        mod $backend {
            $(
                #[test]
                fn $check() {
                    super::$check(&$open)
                }
            )*
        }
    };
}

conformance!(
    backends: [on_sled => super::open_sled, on_postgres => super::open_postgres],
    checks: [
        namespaces_are_isolated,
        records_are_versioned_and_readable_as_of,
        facts_scan_by_valid_time_entity_and_pages,
        audit_chain_records_every_transaction,
        reopen_keeps_everything,
        a_write_set_for_another_transaction_is_refused_and_changes_nothing,
        a_dirty_mark_stays_until_a_summary_reflects_its_transaction,
        metadata_compare_and_set_takes_only_the_expected_value,
        fact_links_follow_transactions_and_chunks_through_updates_and_erasure,
    ]
);

fn entity(ns: &dyn NsStore, name: &str, tx: u64) -> Entity {
    Entity {
        id: ns.alloc_ids(IdKind::Entity, 1),
        name: name.into(),
        kind: EntityKind::Organization,
        aliases: vec![],
        merged_into: None,
        status: Status::Active,
        added_tx: tx,
        updated_tx: tx,
    }
}

fn ws(ns: &dyn NsStore) -> WriteSet {
    WriteSet::new(
        ns.head_tx() + 1,
        TxKind::Assert,
        "test",
        Some("because".into()),
    )
}

fn namespaces_are_isolated(open: &Opener) {
    let dir = tmp();
    let store = open(dir.path());
    let a = store.create_namespace("alpha").unwrap();
    let b = store.create_namespace("beta").unwrap();

    let mut w = ws(a.as_ref());
    let e = entity(a.as_ref(), "Secret Corp", w.tx);
    let fid = a.alloc_ids(IdKind::Fact, 1);
    w.facts
        .push(fact(fid, e.id, "alpha secret fact", "2020", w.tx));
    w.entities.push(e.clone());
    a.commit(w).unwrap();

    // Beta sees nothing of alpha: no facts, no entities, no aliases, its own head.
    assert_eq!(b.head_tx(), 0);
    let page = b.facts(&FactScan::new(Interval::all(), 100)).unwrap();
    assert!(page.items.is_empty());
    assert!(b.fact(fid, None).unwrap().is_none());
    assert!(b.entity(e.id, None).unwrap().is_none());
    assert!(b.entity_by_alias("secret").unwrap().is_none());
    assert_eq!(b.stats().unwrap().facts, 0);
    assert_eq!(a.stats().unwrap().facts, 1);

    // The same ids can exist in both without mixing.
    let mut w = ws(b.as_ref());
    let e2 = entity(b.as_ref(), "Other Corp", w.tx);
    let fid2 = b.alloc_ids(IdKind::Fact, 1);
    assert_eq!(fid2, fid, "ids are per namespace");
    w.facts.push(fact(fid2, e2.id, "beta fact", "2020", w.tx));
    w.entities.push(e2);
    b.commit(w).unwrap();
    assert_eq!(
        a.fact(fid, None).unwrap().unwrap().description,
        "alpha secret fact"
    );
    assert_eq!(b.fact(fid, None).unwrap().unwrap().description, "beta fact");

    // Unknown and invalid namespace names.
    assert!(store.namespace("gamma").unwrap().is_none());
    for bad in ["", "../x", "a/b", "UPPER", "x".repeat(65).as_str(), "-lead"] {
        assert!(
            matches!(store.namespace(bad), Err(Error::Invalid(_))),
            "{bad:?}"
        );
    }
    let names: BTreeSet<String> = store
        .namespaces()
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["alpha".to_string(), "beta".to_string()])
    );
}

fn records_are_versioned_and_readable_as_of(open: &Opener) {
    let dir = tmp();
    let store = open(dir.path());
    let ns = store.create_namespace("default").unwrap();

    let mut w = ws(ns.as_ref());
    let e = entity(ns.as_ref(), "Audi", w.tx);
    let fid = ns.alloc_ids(IdKind::Fact, 1);
    let f = fact(fid, e.id, "Audi delivered cars", "2019", w.tx);
    w.facts.push(f.clone());
    w.entities.push(e.clone());
    let t1 = ns.commit(w).unwrap();
    assert_eq!(t1.id, 1);

    let mut w = ws(ns.as_ref());
    let mut retracted = f.clone();
    retracted.status = Status::Retracted;
    retracted.retracted_tx = Some(w.tx);
    w.facts.push(retracted);
    let t2 = ns.commit(w).unwrap();
    assert_eq!(t2.id, 2);

    let now = ns.fact(fid, None).unwrap().unwrap();
    assert_eq!(now.status, Status::Retracted);
    assert_eq!(now.retracted_tx, Some(2));
    let then = ns.fact(fid, Some(1)).unwrap().unwrap();
    assert_eq!(then.status, Status::Active);
    assert!(
        ns.fact(fid, Some(0)).unwrap().is_none(),
        "nothing existed before tx 1"
    );

    let mut scan = FactScan::new(Interval::all(), 10);
    assert!(ns.facts(&scan).unwrap().items.is_empty());
    scan.as_of = Some(1);
    assert_eq!(ns.facts(&scan).unwrap().items.len(), 1);
    scan.as_of = None;
    scan.include_retracted = true;
    assert_eq!(ns.facts(&scan).unwrap().items.len(), 1);

    assert_eq!(ns.stats().unwrap().facts, 0);
    assert_eq!(ns.facts_changed(1, 2).unwrap(), vec![(1, fid), (2, fid)]);
    let txs = ns.txs(1, 10, 10).unwrap();
    assert_eq!(txs.len(), 2);
    assert_eq!(txs[0].actor, "test");
    assert_eq!(txs[0].reason.as_deref(), Some("because"));
    // A write set built for a stale head is refused.
    let stale = WriteSet::new(2, TxKind::Assert, "test", None);
    assert!(matches!(ns.commit(stale), Err(Error::Conflict(_))));
}

fn facts_scan_by_valid_time_entity_and_pages(open: &Opener) {
    let dir = tmp();
    let store = open(dir.path());
    let ns = store.create_namespace("default").unwrap();
    let mut w = ws(ns.as_ref());
    let audi = entity(ns.as_ref(), "Audi", w.tx);
    let bmw = entity(ns.as_ref(), "BMW", w.tx);
    let mut ids = Vec::new();
    for (i, key) in ["2018", "2019", "2019-Q3", "2019-07-15", "2020", "2021-W05"]
        .iter()
        .enumerate()
    {
        let id = ns.alloc_ids(IdKind::Fact, 1);
        let subj = if i % 2 == 0 { audi.id } else { bmw.id };
        w.facts
            .push(fact(id, subj, &format!("fact at {key}"), key, w.tx));
        ids.push(id);
    }
    // A long fact ("since 2015") and an unbounded one.
    let since = Interval::since(chrono::NaiveDate::from_ymd_opt(2015, 1, 1).unwrap());
    let long_id = ns.alloc_ids(IdKind::Fact, 1);
    w.facts
        .push(fact_over(long_id, audi.id, "since 2015", since, w.tx));
    w.entities.extend([audi.clone(), bmw.clone()]);
    ns.commit(w).unwrap();

    let descs = |scan: &FactScan| -> BTreeSet<String> {
        ns.facts(scan)
            .unwrap()
            .items
            .into_iter()
            .map(|f| f.description)
            .collect()
    };
    let y2019 = TimeKey::parse("2019").unwrap().interval();
    assert_eq!(
        descs(&FactScan::new(y2019, 100)),
        BTreeSet::from([
            "fact at 2019".to_string(),
            "fact at 2019-Q3".to_string(),
            "fact at 2019-07-15".to_string(),
            "since 2015".to_string()
        ])
    );
    let q4_2019 = TimeKey::parse("2019-Q4").unwrap().interval();
    assert_eq!(
        descs(&FactScan::new(q4_2019, 100)),
        BTreeSet::from(["fact at 2019".to_string(), "since 2015".to_string()])
    );
    let before_2015 = Interval::before(chrono::NaiveDate::from_ymd_opt(2015, 1, 1).unwrap());
    assert!(descs(&FactScan::new(before_2015, 100)).is_empty());

    let mut by_bmw = FactScan::new(Interval::all(), 100);
    by_bmw.entity = Some(bmw.id);
    assert_eq!(
        descs(&by_bmw),
        BTreeSet::from([
            "fact at 2019".to_string(),
            "fact at 2019-07-15".to_string(),
            "fact at 2021-W05".to_string()
        ])
    );

    // Paging returns every fact exactly once, for both index paths.
    for entity in [None, Some(audi.id)] {
        let mut scan = FactScan::new(Interval::all(), 2);
        scan.entity = entity;
        let mut seen = Vec::new();
        loop {
            let page = ns.facts(&scan).unwrap();
            seen.extend(page.items.iter().map(|f| f.id));
            match page.next {
                Some(c) => scan.cursor = Some(c),
                None => break,
            }
        }
        let unique: BTreeSet<u64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "no duplicates across pages");
        let want = if entity.is_some() { 4 } else { 7 };
        assert_eq!(seen.len(), want);
    }
}

fn audit_chain_records_every_transaction(open: &Opener) {
    let dir = tmp();
    let store = open(dir.path());
    let ns = store.create_namespace("default").unwrap();
    for i in 0..3 {
        let mut w = ws(ns.as_ref());
        let e = entity(ns.as_ref(), &format!("E{i}"), w.tx);
        w.entities.push(e);
        ns.commit(w).unwrap();
    }
    ns.append_audit(
        "verify",
        "tester",
        None,
        serde_json::json!({"note": "manual"}),
    )
    .unwrap();
    let entries = ns.audit(1, 100).unwrap();
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[0].prev_hash, chronorag::model::AuditEntry::GENESIS);
    for w in entries.windows(2) {
        assert_eq!(w[1].prev_hash, w[0].hash);
    }
    let v = ns.verify_audit().unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.entries, 4);
}

fn reopen_keeps_everything(open: &Opener) {
    let dir = tmp();
    let fid;
    {
        let store = open(dir.path());
        let ns = store.create_namespace("keep").unwrap();
        let mut w = ws(ns.as_ref());
        let e = entity(ns.as_ref(), "Audi", w.tx);
        fid = ns.alloc_ids(IdKind::Fact, 1);
        w.facts.push(fact(fid, e.id, "kept", "2020", w.tx));
        w.entities.push(e);
        ns.commit(w).unwrap();
    }
    let store = open(dir.path());
    let ns = store
        .namespace("keep")
        .unwrap()
        .expect("namespace survives");
    assert_eq!(ns.head_tx(), 1);
    assert_eq!(ns.fact(fid, None).unwrap().unwrap().description, "kept");
    assert!(ns.alloc_ids(IdKind::Fact, 1) > fid, "ids are never reused");
    assert!(ns.verify_audit().unwrap().ok);
}

#[test]
fn a_store_from_a_newer_binary_is_refused_with_a_clear_message() {
    let dir = tmp();
    drop(open_sled(dir.path()));
    store::force_version(dir.path(), store::CURRENT_SCHEMA_VERSION + 1).unwrap();
    let err = SledStore::open(dir.path()).unwrap_err();
    assert!(matches!(err, Error::SchemaTooNew { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("schema version") && msg.contains("upgrade chronorag"),
        "{msg}"
    );
}

fn m_noop(_: &sled::Db, _: &sled::Tree) -> Result<String> {
    Ok("nothing".into())
}

fn m_mark(db: &sled::Db, _: &sled::Tree) -> Result<String> {
    db.open_tree("test-marks")?.insert(b"m3", b"applied")?;
    Ok("added the m3 mark".into())
}

#[test]
fn migrations_apply_in_order_once_and_are_recorded() {
    let dir = tmp();
    let two = [
        MIGRATIONS[0],
        Migration {
            version: 2,
            name: "second",
            apply: m_noop,
        },
    ];
    let s = SledStore::open_with(dir.path(), &two).unwrap();
    assert_eq!(s.schema_version(), 2);
    let recs = s.migrations().unwrap();
    assert_eq!(
        recs.iter().map(|r| r.version).collect::<Vec<_>>(),
        vec![1, 2]
    );
    let first_applied = recs[0].applied_at;
    drop(s);

    let three = [
        two[0],
        two[1],
        Migration {
            version: 3,
            name: "third",
            apply: m_mark,
        },
    ];
    let s = SledStore::open_with(dir.path(), &three).unwrap();
    assert_eq!(s.schema_version(), 3);
    let recs = s.migrations().unwrap();
    assert_eq!(recs.len(), 3);
    assert_eq!(
        recs[0].applied_at, first_applied,
        "old migrations do not run again"
    );
    assert_eq!(recs[2].changed, "added the m3 mark");
    drop(s);

    // The shipped binary (fewer migrations) refuses this store.
    let err = SledStore::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, Error::SchemaTooNew { found: 3, .. }),
        "{err:?}"
    );

    // Every file in migrations/ is registered, in order.
    let mut files: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".rs"))
            .collect();
    files.sort();
    let registered: Vec<String> = MIGRATIONS
        .iter()
        .map(|m| format!("{:04}_{}.rs", m.version, m.name))
        .collect();
    assert_eq!(files, registered);
}

fn a_write_set_for_another_transaction_is_refused_and_changes_nothing(open: &Opener) {
    let dir = tmp();
    let store = open(dir.path());
    let ns = store.create_namespace("gapless").unwrap();
    let mut w = ws(ns.as_ref());
    w.entities.push(entity(ns.as_ref(), "First", w.tx));
    assert_eq!(ns.commit(w).unwrap().id, 1);
    for tx in [1, 3] {
        let mut w = WriteSet::new(tx, TxKind::Assert, "test", None);
        w.entities.push(entity(ns.as_ref(), "Stray", tx));
        let err = ns.commit(w).unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    }
    assert_eq!(ns.head_tx(), 1);
    assert_eq!(ns.txs(1, 10, 10).unwrap().len(), 1);
    assert_eq!(ns.audit(1, 10).unwrap().len(), 1);
    assert!(ns.entity_by_alias("stray").unwrap().is_none());
    // The next transaction is still 2.
    let mut w = ws(ns.as_ref());
    w.entities.push(entity(ns.as_ref(), "Second", w.tx));
    assert_eq!(ns.commit(w).unwrap().id, 2);
    assert!(ns.verify_audit().unwrap().ok);
}

fn a_dirty_mark_stays_until_a_summary_reflects_its_transaction(open: &Opener) {
    let dir = tmp();
    let store = open(dir.path());
    let ns = store.create_namespace("default").unwrap();
    let mut txs = Vec::new();
    for i in 0..2 {
        let mut w = ws(ns.as_ref());
        let tx = w.tx;
        let e = entity(ns.as_ref(), &format!("E{i}"), tx);
        let f = fact(
            ns.alloc_ids(IdKind::Fact, 1),
            e.id,
            "Revenue rose",
            "2021",
            tx,
        );
        w.entities.push(e);
        w.facts.push(f);
        let touched = BTreeSet::from([TimeKey::parse("2021").unwrap()]);
        w.add_time_nodes(&|k| ns.nodes_many(k), &touched).unwrap();
        w.touched_nodes = touched.into_iter().collect();
        ns.commit(w).unwrap();
        txs.push(tx);
    }
    let year = TimeKey::parse("2021").unwrap();
    let mark = |ns: &dyn NsStore| {
        ns.dirty_nodes()
            .unwrap()
            .into_iter()
            .find(|(k, _)| *k == year)
            .map(|(_, tx)| tx)
    };
    assert_eq!(mark(ns.as_ref()), Some(txs[1]));
    let summary = |reflects_tx| chronorag::model::Summary {
        node: year,
        title: "2021".into(),
        text: "Revenue rose".into(),
        findings: vec![],
        entities: vec![],
        rating: None,
        summarizer: "test".into(),
        input_hash: String::new(),
        fact_count: 1,
        reflects_tx,
        version_tx: reflects_tx,
    };
    // A summary of an older state leaves the mark; clearing up to an older tx too.
    ns.put_summaries(&[summary(txs[0])]).unwrap();
    assert_eq!(mark(ns.as_ref()), Some(txs[1]));
    ns.clear_dirty(&[(year, txs[0])]).unwrap();
    assert_eq!(mark(ns.as_ref()), Some(txs[1]));
    // One that reflects the marking transaction removes it.
    ns.put_summaries(&[summary(txs[1])]).unwrap();
    assert_eq!(mark(ns.as_ref()), None);
    assert_eq!(
        ns.summary(&year, None).unwrap().unwrap().reflects_tx,
        txs[1]
    );
}

/// `meta_swap` (job leases and other claims between servers) sets a value only over the one
/// expected, and a refused swap changes nothing.
fn metadata_compare_and_set_takes_only_the_expected_value(open: &Opener) {
    let dir = tmp();
    let store = open(dir.path());
    let ns = store.create_namespace("cas").unwrap();
    assert!(ns.meta_swap("lease/1", None, b"a").unwrap());
    assert!(
        !ns.meta_swap("lease/1", None, b"b").unwrap(),
        "absent expected, but it is set"
    );
    assert_eq!(ns.meta_get("lease/1").unwrap().as_deref(), Some(&b"a"[..]));
    assert!(!ns.meta_swap("lease/1", Some(b"x"), b"c").unwrap());
    assert_eq!(ns.meta_get("lease/1").unwrap().as_deref(), Some(&b"a"[..]));
    assert!(ns.meta_swap("lease/1", Some(b"a"), b"d").unwrap());
    assert_eq!(ns.meta_get("lease/1").unwrap().as_deref(), Some(&b"d"[..]));
    // Other keys are untouched.
    assert_eq!(ns.meta_get("lease/2").unwrap(), None);
}

/// `store_cache_mb` sizes the embedded store's page cache: a small cache still stores and
/// answers, and a value out of range is refused at open, naming the key.
#[test]
fn the_store_cache_size_is_configurable_and_checked() {
    let dir = tmp();
    let config = |mb: u64| chronorag::Config {
        store_cache_mb: Some(mb),
        ..chronorag::Config::with_data_dir(dir.path())
    };
    let Err(err) = chronorag::Engine::open(config(4)) else {
        panic!("a 4 MiB store cache was accepted");
    };
    assert!(
        err.to_string().contains("store_cache_mb = 4"),
        "the error does not name the key: {err}"
    );
    let e = chronorag::Engine::open(config(16)).unwrap();
    crate::support::ingest_text(
        &e,
        "default",
        "acme",
        "Acme Corp reported revenue of $12 million in Q1 2023.",
        "2023-04-15",
    );
    let r = crate::support::ask(
        &e,
        "default",
        "What revenue did Acme report in Q1 2023?",
        None,
    );
    assert!(r.context.contains("$12 million"), "{}", r.context);
}

/// A transaction's links (facts to the transaction, facts to their source chunks) are stored as
/// lists since schema version 2: each list is read whole, a later transaction adds its own, and
/// erasing facts takes them out of every list that names them, also when one transaction erases
/// several facts of one list.
fn fact_links_follow_transactions_and_chunks_through_updates_and_erasure(open: &Opener) {
    let dir = tmp();
    let store = open(dir.path());
    let ns = store.create_namespace("links").unwrap();
    let mut w = ws(ns.as_ref());
    let e = entity(ns.as_ref(), "Audi", w.tx);
    let ids: Vec<u64> = (0..4).map(|_| ns.alloc_ids(IdKind::Fact, 1)).collect();
    let (a, b, c, d) = (ids[0], ids[1], ids[2], ids[3]);
    for (id, chunk) in [(a, 10), (b, 10), (c, 10), (d, 11)] {
        let mut f = fact(id, e.id, &format!("fact {id}"), "2019", w.tx);
        f.sources = vec![chunk];
        w.facts.push(f);
    }
    w.entities.push(e.clone());
    assert_eq!(ns.commit(w).unwrap().id, 1);
    // Fact a is found again in chunk 11.
    let mut w = ws(ns.as_ref());
    let mut again = ns.fact(a, None).unwrap().unwrap();
    again.sources.push(11);
    w.facts.push(again);
    assert_eq!(ns.commit(w).unwrap().id, 2);

    assert_eq!(ns.facts_of_chunk(10).unwrap(), vec![a, b, c]);
    assert_eq!(ns.facts_of_chunk(11).unwrap(), vec![a, d]);
    assert!(ns.facts_of_chunk(12).unwrap().is_empty());
    assert_eq!(
        ns.facts_changed(1, 2).unwrap(),
        vec![(1, a), (1, b), (1, c), (1, d), (2, a)]
    );
    assert_eq!(ns.facts_changed(2, 2).unwrap(), vec![(2, a)]);
    assert!(ns.facts_changed(3, 9).unwrap().is_empty());

    // One transaction erases a (in both chunks' lists) and c.
    let mut w = ws(ns.as_ref());
    w.erase.facts = vec![a, c];
    ns.commit(w).unwrap();
    assert_eq!(ns.facts_of_chunk(10).unwrap(), vec![b]);
    assert_eq!(ns.facts_of_chunk(11).unwrap(), vec![d]);
    // The last fact of a list takes the list with it.
    let mut w = ws(ns.as_ref());
    w.erase.facts = vec![b];
    ns.commit(w).unwrap();
    assert!(ns.facts_of_chunk(10).unwrap().is_empty());
    assert_eq!(ns.facts_of_chunk(11).unwrap(), vec![d]);
}
