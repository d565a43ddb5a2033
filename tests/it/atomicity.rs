//! A transaction lands whole or not at all, even when the writing process is killed (SIGKILL) in
//! the middle of it; every acknowledged (durable) transaction survives.
//!
//! The test re-runs its own binary as the writer: with `CHRONORAG_TEST_WRITER_DIR` set (a folder
//! for sled, a database URL for PostgreSQL), the same test function commits transactions in a
//! loop and prints each acknowledged id. It runs against both backends.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chronorag::model::TxKind;
use std::sync::Arc;

use chronorag::store::postgres::{PgStore, is_postgres_url};
use chronorag::store::{FactScan, IdKind, SledStore, Store, WriteSet};
use chronorag::time::Interval;

use crate::support::{fact, tmp};

const CHILD_ENV: &str = "CHRONORAG_TEST_WRITER_DIR";
const FACTS_PER_TX: u64 = 300;

/// Opens the store at `spec`: a PostgreSQL URL or a sled folder.
fn open(spec: &str) -> Arc<dyn Store> {
    if is_postgres_url(spec) {
        Arc::new(PgStore::open(spec).expect("open"))
    } else {
        Arc::new(SledStore::open(std::path::Path::new(spec)).expect("open"))
    }
}

fn writer_loop(dir: &str) {
    let store = open(dir);
    let ns = store.create_namespace("default").expect("ns");
    loop {
        let tx = ns.head_tx() + 1;
        let mut w = WriteSet::new(tx, TxKind::Assert, "writer", None);
        let first = ns.alloc_ids(IdKind::Fact, FACTS_PER_TX);
        for i in 0..FACTS_PER_TX {
            let key = ["2019", "2020-Q1", "2021-07", "2022-03-04"][(i % 4) as usize];
            w.facts.push(fact(
                first + i,
                1,
                &format!("tx {tx} fact {i} {}", "x".repeat(200)),
                key,
                tx,
            ));
        }
        ns.commit(w).expect("commit");
        println!("committed {tx}");
    }
}

fn pseudo_random(round: u64, max: u64) -> u64 {
    let nanos = Instant::now().elapsed().as_nanos() as u64 ^ std::process::id() as u64;
    (nanos
        .wrapping_mul(6364136223846793005)
        .wrapping_add(round * 1442695040888963407)
        >> 33)
        % max
}

#[test]
fn killed_writer_leaves_whole_transactions_only() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        writer_loop(&dir);
        return;
    }
    killed_writer_rounds(
        "atomicity::killed_writer_leaves_whole_transactions_only",
        6,
        |dir| dir.display().to_string(),
    );
}

#[test]
fn killed_writer_leaves_whole_transactions_only_on_postgres() {
    if let Ok(url) = std::env::var(CHILD_ENV) {
        writer_loop(&url);
        return;
    }
    killed_writer_rounds(
        "atomicity::killed_writer_leaves_whole_transactions_only_on_postgres",
        4,
        |dir| crate::support::postgres_db(&dir.display().to_string()),
    );
}

/// Kills a writer at a pseudo-random moment `rounds` times, each on a fresh store named by
/// `spec` from a fresh folder, and checks what survived.
fn killed_writer_rounds(test_name: &str, rounds: u64, spec: impl Fn(&std::path::Path) -> String) {
    for round in 0..rounds {
        let dir = tmp();
        let spec = spec(dir.path());
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &spec)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn writer");
        let out = child.stdout.take().unwrap();
        let (tx_send, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(n) = line.strip_prefix("committed ") {
                    let _ = tx_send.send(n.trim().parse::<u64>().unwrap());
                }
            }
        });
        // Let it commit a few transactions, then kill it at a pseudo-random moment.
        let mut acked = 0;
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked < 3 && Instant::now() < deadline {
            if let Ok(n) = rx.recv_timeout(Duration::from_millis(100)) {
                acked = n;
            }
        }
        assert!(acked >= 3, "the writer never got going");
        std::thread::sleep(Duration::from_millis(pseudo_random(round, 400)));
        child.kill().unwrap();
        child.wait().unwrap();
        while let Ok(n) = rx.try_recv() {
            acked = acked.max(n);
        }

        if is_postgres_url(&spec) {
            // The killed client's server process finishes or aborts its transaction on its
            // own; a COMMIT already sent lands then (unacknowledged, but whole).
            crate::support::wait_for_other_sessions(&spec);
        }
        let store = open(&spec);
        let ns = store.namespace("default").unwrap().expect("namespace");
        let head = ns.head_tx();
        assert!(head >= acked, "acknowledged tx {acked} lost (head {head})");
        let mut per_tx: BTreeMap<u64, u64> = BTreeMap::new();
        let mut scan = FactScan::new(Interval::all(), 10_000);
        loop {
            let page = ns.facts(&scan).unwrap();
            for f in &page.items {
                *per_tx.entry(f.asserted_tx).or_default() += 1;
            }
            match page.next {
                Some(c) => scan.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(
            per_tx.len() as u64,
            head,
            "round {round}: a transaction is missing or extra"
        );
        for (tx, n) in &per_tx {
            assert!(
                *tx <= head,
                "round {round}: facts of uncommitted tx {tx} are visible"
            );
            assert_eq!(*n, FACTS_PER_TX, "round {round}: tx {tx} is half-applied");
        }
        assert_eq!(ns.stats().unwrap().facts, head * FACTS_PER_TX);
        let v = ns.verify_audit().unwrap();
        assert!(v.ok, "round {round}: {v:?}");
        assert_eq!(v.entries, head);
        // The store takes new writes after recovery.
        let mut w = WriteSet::new(head + 1, TxKind::Assert, "after", None);
        w.facts.push(fact(
            ns.alloc_ids(IdKind::Fact, 1),
            1,
            "after recovery",
            "2023",
            head + 1,
        ));
        ns.commit(w).unwrap();
        drop(store);
    }
}
