//! Backup while serving, then restore into a fresh folder.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::support::{Server, bin, document_ids, engine_at, tmp};

/// An acknowledged write: namespace, document id, transaction.
type Acked = (String, String, u64);

/// Writers and readers run against a server while `POST /v1/admin/backup` copies the store;
/// the copy, restored into a new folder, holds exactly the writes acknowledged up to the heads
/// its manifest names, its audit chains verify and its text is searchable.
#[test]
fn backup_under_load_restores_every_acknowledged_write_up_to_its_heads() {
    let server = Server::start(&[], None);
    // Half writers, half readers: 12 clients in CI; the long form sets
    // CHRONORAG_BACKUP_CLIENTS=64.
    let clients: usize = std::env::var("CHRONORAG_BACKUP_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
        .max(2);
    let writers = clients / 2;
    let readers = clients - writers;
    let stop = AtomicBool::new(false);
    let queries = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::<String>::new());
    // (namespace, document id, acknowledged transaction)
    let acked = Mutex::new(Vec::<Acked>::new());
    let dir = tmp();
    let dest = dir.path().join("backup");
    let report = std::thread::scope(|s| {
        for w in 0..writers {
            let (server, stop, acked, failures) = (&server, &stop, &acked, &failures);
            s.spawn(move || {
                let ns = if w % 2 == 0 { "alpha" } else { "beta" };
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let id = format!("w{w}-d{i}");
                    let r = server.post(
                        &format!("/v1/namespaces/{ns}/documents"),
                        &json!({"documents": [{
                            "id": id,
                            "time": format!("{}", 2015 + (i % 8)),
                            "text": format!("In {}, Writer{w} Corp opened depot {i} in Porto with {} staff.", 2015 + (i % 8), 10 + i),
                        }]}),
                    );
                    if r.status == 200 {
                        let tx = r.json()["tx"].as_u64().expect("tx");
                        acked.lock().unwrap().push((ns.into(), id, tx));
                    } else {
                        failures.lock().unwrap().push(format!("write {}: {}", r.status, r.text));
                    }
                    i += 1;
                }
            });
        }
        for q in 0..readers {
            let (server, stop, queries, failures) = (&server, &stop, &queries, &failures);
            s.spawn(move || {
                let ns = if q % 2 == 0 { "alpha" } else { "beta" };
                while !stop.load(Ordering::Relaxed) {
                    let r = server.post(
                        &format!("/v1/namespaces/{ns}/query"),
                        &json!({"query": "Where did Writer0 Corp open depots?", "budget_chars": 1000}),
                    );
                    // A namespace not created yet by its first write is a 404.
                    if r.status == 200 || r.status == 404 {
                        queries.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failures.lock().unwrap().push(format!("query {}: {}", r.status, r.text));
                    }
                }
            });
        }
        // Waits (up to 30 s, for slow machines) until `enough` holds of the acknowledged writes.
        let wait_for = |enough: &dyn Fn(&[Acked]) -> bool| {
            let t = std::time::Instant::now();
            while !enough(&acked.lock().unwrap()) && t.elapsed() < Duration::from_secs(30) {
                std::thread::sleep(Duration::from_millis(50));
            }
        };
        // Both namespaces exist and hold a few writes before the backup (and the load has run
        // for CHRONORAG_BACKUP_SECS, 0 in CI)...
        let load_secs: u64 = std::env::var("CHRONORAG_BACKUP_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        std::thread::sleep(Duration::from_secs(load_secs));
        wait_for(&|a| {
            ["alpha", "beta"]
                .iter()
                .all(|ns| a.iter().filter(|(n, _, _)| n == ns).count() >= 5)
        });
        let before = queries.load(Ordering::Relaxed);
        let r = server.post("/v1/admin/backup", &json!({"dest": dest}));
        let during = queries.load(Ordering::Relaxed) - before;
        // ... and writes go on being acknowledged after it.
        if r.status == 200 {
            let heads: BTreeMap<String, u64> =
                serde_json::from_value(r.json()["manifest"]["namespaces"].clone())
                    .unwrap_or_default();
            wait_for(&|a| {
                a.iter()
                    .filter(|(ns, _, tx)| heads.get(ns).is_some_and(|h| tx > h))
                    .count()
                    >= 6
            });
        }
        stop.store(true, Ordering::Relaxed);
        (r, during)
    });
    let (r, answered_during_backup) = report;
    assert_eq!(r.status, 200, "{}", r.text);
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    let report = r.json();
    let heads: BTreeMap<String, u64> =
        serde_json::from_value(report["manifest"]["namespaces"].clone()).unwrap();
    assert!(
        heads.contains_key("alpha") && heads.contains_key("beta"),
        "{report}"
    );
    let acked = acked.into_inner().unwrap();
    let after = acked.iter().filter(|(ns, _, tx)| *tx > heads[ns]).count();
    assert!(
        after > 0,
        "no write was acknowledged after the backup: the test proves nothing"
    );
    eprintln!(
        "backup: {} writes acknowledged ({after} after the copy), {} queries answered while it was made, {report}",
        acked.len(),
        answered_during_backup
    );

    // The same folder again: refused, the first backup untouched.
    let again = server.post("/v1/admin/backup", &json!({"dest": dest}));
    assert_eq!(again.status, 400, "{}", again.text);
    assert!(again.text.contains("not empty"), "{}", again.text);
    let inside = server.post("/v1/admin/backup", &json!({"dest": server.data.join("bk")}));
    assert_eq!(inside.status, 400, "{}", inside.text);
    drop(server);

    // Restore into a new folder with the CLI.
    let restored = dir.path().join("restored");
    let out = std::process::Command::new(bin())
        .arg("--data")
        .arg(&restored)
        .arg("restore")
        .arg(&dest)
        .env("CHRONORAG_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("audit chains verified"), "{said}");
    // Restoring over a store is refused.
    let twice = std::process::Command::new(bin())
        .arg("--data")
        .arg(&restored)
        .arg("restore")
        .arg(&dest)
        .output()
        .unwrap();
    assert!(!twice.status.success());
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("already holds a store"),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );

    let e = engine_at(&restored);
    for (ns, head) in &heads {
        assert_eq!(e.namespace(ns).unwrap().store().head_tx(), *head);
        let have = document_ids(&e, ns);
        let mut want: Vec<String> = acked
            .iter()
            .filter(|(n, _, tx)| n == ns && tx <= head)
            .map(|(_, id, _)| id.clone())
            .collect();
        want.sort();
        assert_eq!(have, want, "namespace {ns}: documents in the restored copy");
    }
    assert!(e.verify_audit().unwrap().ok);
    let (ns, id, _) = acked
        .iter()
        .find(|(n, _, tx)| *tx <= heads[n])
        .expect("a write inside the backup");
    let doc = e.document(ns, id, None).unwrap();
    let text = doc.chunks[0].text.clone();
    let ctx = e
        .query(
            ns,
            &chronorag::query::QueryRequest {
                query: text.clone(),
                ..Default::default()
            },
        )
        .unwrap()
        .context;
    assert!(ctx.contains(&text), "{ctx}");
}
