//! Reliability drills: SIGKILL during writes (acknowledged writes survive, nothing half-applied,
//! indexes catch up, the audit chain verifies, the work can be resumed), hostile HTTP input
//! (never a 5xx), namespace isolation under concurrent load, a mixed read/write load with memory
//! watched, and a full or read-only disk.
//!
//! Short forms run in CI. Long forms: `CHRONORAG_CRASH_KILLS=100`, `CHRONORAG_FUZZ_REQUESTS=20000`,
//! `CHRONORAG_FUZZ_INPROCESS=1000000`, `CHRONORAG_LOAD_SECS=300` (see README "Reliability").

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::Server;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn doc(tag: &str, i: u64) -> Value {
    json!({
        "id": format!("{tag}-{i}"),
        "time": format!("2023-Q{}", i % 4 + 1),
        "text": format!("In Q{} 2023, Acme Corp shipped {} units of the {tag}{i} model to Berlin. Jane Doe said the {tag}{i} launch went well.", i % 4 + 1, 100 + i),
    })
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

#[test]
fn sigkill_during_writes_loses_nothing_acknowledged() {
    let kills = env_or("CHRONORAG_CRASH_KILLS", 50);
    let mut server = Server::start(&[], None);
    let data = server.data.clone();
    let mut acked: BTreeSet<u64> = BTreeSet::new();
    let mut sent = 0u64;
    for k in 0..kills {
        // A writer sends batches of 3 documents and records what was acknowledged.
        let url = server.url.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicU64::new(sent));
        let (s2, n2) = (stop.clone(), next.clone());
        let writer = std::thread::spawn(move || {
            let a = agent();
            let mut ok = Vec::new();
            while !s2.load(Ordering::SeqCst) {
                let first = n2.fetch_add(3, Ordering::SeqCst);
                let body = json!({"documents": (first..first + 3).map(|i| doc("crash", i)).collect::<Vec<_>>()});
                match a
                    .post(&format!("{url}/v1/namespaces/crash/documents"))
                    .send_json(body)
                {
                    Ok(r) if r.status().as_u16() == 200 => ok.extend(first..first + 3),
                    _ => break,
                }
            }
            ok
        });
        std::thread::sleep(Duration::from_millis(150 + (k * 97) % 600));
        let dir = server.kill();
        stop.store(true, Ordering::SeqCst);
        acked.extend(writer.join().unwrap());
        sent = next.load(Ordering::SeqCst);
        server = Server::start_at(&data, &[], None, dir);
        // Every acknowledged document is there, whole.
        let resp = server.get("/v1/namespaces/crash");
        let docs = resp.json()["stats"]["documents"].as_u64().unwrap_or(0);
        assert!(
            docs >= acked.len() as u64,
            "kill {k}: {docs} documents but {} acknowledged (GET /v1/namespaces/crash answered {}: {})",
            acked.len(),
            resp.status,
            resp.text
        );
        for i in acked.iter().rev().take(3) {
            let d = server.get(&format!("/v1/namespaces/crash/documents/crash-{i}"));
            assert_eq!(
                d.status, 200,
                "kill {k}: acknowledged document crash-{i} is missing"
            );
            let d = d.json();
            assert_eq!(
                d["chunks"].as_array().unwrap().len(),
                d["document"]["chunks"].as_array().unwrap().len(),
                "half-applied document"
            );
        }
        // Transactions are whole: documents come in threes.
        assert_eq!(
            docs % 3,
            0,
            "kill {k}: a transaction was half-applied ({docs} documents)"
        );
        // Indexes caught up: the newest acknowledged document is searchable.
        if let Some(i) = acked.iter().next_back() {
            let r = server.post(
                "/v1/namespaces/crash/query",
                &json!({"query": format!("crash{i} model launch"), "budget_chars": 4000}),
            );
            assert_eq!(r.status, 200);
            assert!(
                r.json()["context"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("crash{i}")),
                "kill {k}: index not caught up for crash-{i}"
            );
        }
        let v = server.get("/v1/audit/verify").json();
        assert_eq!(v["ok"], true, "kill {k}: {v}");
    }
    // Resume: sending everything again completes the ingest, with no duplicates (in requests
    // under the server's 10,000-documents cap: the long form sends ~50,000).
    for start in (0..sent).step_by(5_000) {
        let end = (start + 5_000).min(sent);
        let body = json!({"documents": (start..end).map(|i| doc("crash", i)).collect::<Vec<_>>()});
        let r = server.post("/v1/namespaces/crash/documents", &body);
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let stats = server.get("/v1/namespaces/crash").json();
    assert_eq!(
        stats["stats"]["documents"].as_u64().unwrap(),
        sent,
        "resumed to completion without duplicates"
    );
    eprintln!(
        "crash drill: {kills} SIGKILLs survived, {} acknowledged writes kept, {sent} documents after resume",
        acked.len()
    );
}

/// Mutations of well-formed requests: wrong types, huge numbers, deep nesting, invalid UTF-8,
/// path tricks, odd methods and headers.
fn hostile(i: u64) -> (String, String, Option<(String, Vec<u8>)>) {
    let paths = [
        ("POST", "/v1/namespaces/h/query"),
        ("POST", "/v1/namespaces/h/documents"),
        ("GET", "/v1/namespaces/h/facts"),
        ("POST", "/v1/namespaces/h/rollback"),
        ("POST", "/v1/namespaces/h/entities/merge"),
        ("PATCH", "/v1/namespaces/h/facts/1"),
        ("POST", "/v1/namespaces/h/facts"),
        ("GET", "/v1/namespaces/h/diff"),
        ("DELETE", "/v1/namespaces/h/documents/seed-1"),
        ("GET", "/v1/namespaces/h/timeline/2023-Q5"),
    ];
    let nss = [
        "h",
        "..",
        "a%2F..%2Fb",
        "A",
        "%00",
        "x".repeat(80).as_str(),
        "%2e%2e",
        "h%20x",
        "ü",
        "-x",
    ]
    .map(|s| s.to_string());
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"{\"query\": 1e999}".to_vec(),
        b"{\"query\": \"a\", \"top_k\": -1}".to_vec(),
        b"{\"query\": \"a\", \"top_k\": 18446744073709551616}".to_vec(),
        b"{\"query\": \"a\", \"as_of_tx\": \"yesterday\"}".to_vec(),
        b"{\"query\": \"a\", \"time\": {\"at\": \"2023-02-30\"}}".to_vec(),
        b"{\"query\": \"a\", \"time\": {\"at\": \"Q5 2023\"}}".to_vec(),
        b"{\"query\": \"a\", \"now\": \"the day after tomorrow\"}".to_vec(),
        b"{\"query\": \"a\", \"mode\": \"psychic\"}".to_vec(),
        b"{\"documents\": [{\"text\": 5}]}".to_vec(),
        b"{\"documents\": [{\"text\": \"ok\", \"id\": \"../../etc/passwd\"}]}".to_vec(),
        b"{\"documents\": [{\"text\": \"ok\", \"time\": \"-99999\"}]}".to_vec(),
        b"{\"documents\": \"all of them\"}".to_vec(),
        b"{\"facts\": [{\"subject\": \"\", \"description\": \"d\", \"time\": \"2020\"}]}".to_vec(),
        b"{\"facts\": [{\"subject\": \"A\", \"description\": \"d\", \"time\": \"2020\", \"confidence\": 7}]}".to_vec(),
        b"{\"to_tx\": 18446744073709551615, \"reason\": \"x\"}".to_vec(),
        b"{\"into\": \"nobody\", \"from\": [\"nobody\"], \"reason\": \"x\"}".to_vec(),
        vec![0xff, 0xfe, 0xfd],
        b"{\"query\": \"\xc3\x28\"}".to_vec(),
        format!("{{\"query\": \"a\", \"time\": {}{}}}", "[".repeat(2000), "]".repeat(2000)).into_bytes(),
        format!("{{\"query\": \"{}\"}}", "\\u0000".repeat(1000)).into_bytes(),
        format!("{{\"query\": \"{}\"}}", "ä".repeat(5000)).into_bytes(),
    ];
    let methods = ["POST", "GET", "PUT", "PATCH", "DELETE"];
    let (natural, path) = paths[(i % paths.len() as u64) as usize];
    let ns = if i.is_multiple_of(3) {
        "h"
    } else {
        nss[((i / 7) % nss.len() as u64) as usize].as_str()
    };
    let path = path.replace("/h/", &format!("/{ns}/"));
    let suffix = match i % 11 {
        0 => "?limit=-5",
        1 => "?as_of_tx=abc",
        2 => "?from=2023-13-01",
        3 => "?cursor=zzz",
        4 => "?wait=maybe",
        5 => "?limit=99999999999999999999",
        _ => "",
    };
    let method = if i % 6 == 5 {
        methods[((i / 3) % methods.len() as u64) as usize]
    } else {
        natural
    };
    let body = bodies[((i / 5) % bodies.len() as u64) as usize].clone();
    let ct = if i.is_multiple_of(13) {
        "text/plain"
    } else {
        "application/json"
    };
    (
        method.to_string(),
        format!("{path}{suffix}"),
        Some((ct.to_string(), body)),
    )
}

#[test]
fn hostile_http_input_never_gets_a_5xx() {
    let n = env_or("CHRONORAG_FUZZ_REQUESTS", 1500);
    let s = Server::start(&[], None).fresh_connections();
    assert_eq!(
        s.post(
            "/v1/namespaces/h/documents",
            &json!({"documents": [doc("seed", 1)]})
        )
        .status,
        200
    );
    let mut tried = 0u64;
    let mut by_status = std::collections::BTreeMap::new();
    for i in 0..n {
        let (m, p, body) = hostile(i);
        let r = s.request(&m, &p, body.as_ref().map(|(c, b)| (c.as_str(), b.clone())));
        assert!(r.status < 500, "{m} {p} gave {}: {}", r.status, r.text);
        if r.status >= 400 {
            let v: Value = serde_json::from_str(&r.text)
                .unwrap_or_else(|_| panic!("{m} {p}: not the JSON error shape: {}", r.text));
            assert!(
                v["error"]["code"].is_string() && v["error"]["message"].is_string(),
                "{m} {p}: {v}"
            );
        }
        *by_status.entry(r.status).or_insert(0u64) += 1;
        tried += 1;
    }
    // A 100 MB body is refused without harm (the server may answer 413 and close before the
    // client has finished sending).
    assert!(send_huge_body(&s.url, 100 * 1024 * 1024).contains(" 413 "));
    tried += 1;
    // Still serving, still consistent.
    assert_eq!(s.get("/health").status, 200);
    assert_eq!(s.get("/v1/audit/verify").json()["ok"], true);
    eprintln!("hostile input: {tried} requests tried, statuses {by_status:?}");
}

/// The same hostile requests through the router in process (no sockets, so millions are
/// cheap): `CHRONORAG_FUZZ_INPROCESS` requests (CI: 10,000; long form 1,000,000, which covers the
/// generator's 750,750 distinct combinations). Every answer must come within 30 s (no hang) and
/// be a 4xx with the JSON error shape or a success, never a 5xx.
#[test]
fn hostile_requests_in_process_never_get_a_5xx_or_hang() {
    use axum::body::Body;
    use tower::ServiceExt;
    let n = env_or("CHRONORAG_FUZZ_INPROCESS", 10_000);
    let dir = crate::support::tmp();
    let engine = Arc::new(crate::support::engine_at(dir.path()));
    let cfg = chronorag::config::ServerConfig::default();
    let app = chronorag::api::router(
        chronorag::api::AppState::new(engine, &cfg, None),
        cfg.max_body_bytes,
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let by_status = rt.block_on(async move {
        let send = |m: &str, p: &str, ct: &str, body: Vec<u8>| {
            // Bytes outside ASCII go percent-encoded, as an HTTP client sends them.
            let uri: String = p
                .bytes()
                .map(|b| {
                    if b.is_ascii() && !b.is_ascii_control() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            let req = axum::http::Request::builder()
                .method(m)
                .uri(uri)
                .header("content-type", ct)
                .body(Body::from(body))
                .unwrap();
            let app = app.clone();
            async move {
                let r = tokio::time::timeout(Duration::from_secs(30), app.oneshot(req))
                    .await
                    .unwrap_or_else(|_| panic!("no answer within 30 s"))
                    .unwrap();
                let status = r.status().as_u16();
                let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
                    .await
                    .unwrap();
                (status, String::from_utf8_lossy(&bytes).into_owned())
            }
        };
        let seed = serde_json::to_vec(&json!({"documents": [doc("seed", 1)]})).unwrap();
        let (st, text) = send(
            "POST",
            "/v1/namespaces/h/documents",
            "application/json",
            seed,
        )
        .await;
        assert_eq!(st, 200, "{text}");
        let mut by_status = std::collections::BTreeMap::new();
        for i in 0..n {
            let (m, p, body) = hostile(i);
            let (ct, body) = body.unwrap_or_default();
            let (status, text) = send(&m, &p, &ct, body).await;
            assert!(status < 500, "{m} {p} gave {status}: {text}");
            if status >= 400 {
                let v: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|_| panic!("{m} {p}: not the JSON error shape: {text}"));
                assert!(
                    v["error"]["code"].is_string() && v["error"]["message"].is_string(),
                    "{m} {p}: {v}"
                );
            }
            *by_status.entry(status).or_insert(0u64) += 1;
        }
        let (st, text) = send("GET", "/v1/audit/verify", "application/json", vec![]).await;
        assert_eq!(st, 200);
        assert!(text.contains("\"ok\":true"), "{text}");
        by_status
    });
    eprintln!(
        "hostile input in process: {n} requests in {:.1} s, statuses {by_status:?}",
        started.elapsed().as_secs_f64()
    );
}

/// Streams a body of `len` bytes over a raw connection; returns whatever response arrived.
fn send_huge_body(url: &str, len: usize) -> String {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST /v1/namespaces/h/documents HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
    )
    .unwrap();
    let chunk = vec![b'a'; 1024 * 1024];
    let mut sent = 0;
    while sent < len {
        if stream.write_all(&chunk).is_err() {
            break;
        }
        sent += chunk.len();
    }
    let mut resp = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                resp.extend_from_slice(&buf[..n]);
                if resp.windows(4).any(|w| w == b"\r\n\r\n") && resp.len() > 100 {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&resp).into_owned()
}

#[test]
fn two_namespaces_under_concurrent_load_never_see_each_other() {
    let s = Arc::new(Server::start(&[], None));
    let secs = env_or("CHRONORAG_ISOLATION_SECS", 8);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let violations = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for (ns, other) in [("alpha", "bravo"), ("bravo", "alpha")] {
        for worker in 0..3u64 {
            let s = s.clone();
            let v = violations.clone();
            handles.push(std::thread::spawn(move || {
                let a = agent();
                let mut i = 0u64;
                let mut last_tx = 0;
                while Instant::now() < deadline {
                    i += 1;
                    match (worker + i) % 5 {
                        0 | 1 => {
                            let body = json!({"documents": [doc(ns, worker * 1_000_000 + i)]});
                            let r = a.post(&format!("{}/v1/namespaces/{ns}/documents", s.url)).send_json(body).unwrap();
                            let b: Value = serde_json::from_str(&r.into_body().read_to_string().unwrap()).unwrap();
                            if let Some(t) = b["tx"].as_u64() {
                                last_tx = t;
                            }
                        }
                        2 | 3 => {
                            let r = a
                                .post(&format!("{}/v1/namespaces/{ns}/query", s.url))
                                .send_json(json!({"query": format!("{other} model launch units Berlin"), "budget_chars": 16000}))
                                .unwrap();
                            let text = r.into_body().read_to_string().unwrap();
                            if text.contains(&format!("{other}-")) || text.contains(&format!("the {other}")) {
                                v.fetch_add(1, Ordering::SeqCst);
                            }
                            let f = a.get(&format!("{}/v1/namespaces/{ns}/facts?limit=1000", s.url)).call().unwrap();
                            if f.into_body().read_to_string().unwrap().contains(other) {
                                v.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        _ if worker == 0 && last_tx > 2 => {
                            let _ = a
                                .post(&format!("{}/v1/namespaces/{ns}/rollback", s.url))
                                .send_json(json!({"to_tx": last_tx - 1, "reason": "load test"}));
                        }
                        _ => {}
                    }
                }
            }));
        }
    }
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        violations.load(Ordering::SeqCst),
        0,
        "a namespace saw the other's data"
    );
    for (ns, other) in [("alpha", "bravo"), ("bravo", "alpha")] {
        let docs = s
            .get(&format!("/v1/namespaces/{ns}/documents?limit=1000"))
            .text;
        assert!(
            !docs.contains(&format!("\"{other}-")),
            "{ns} lists {other}'s documents"
        );
    }
}

#[test]
fn mixed_load_with_64_clients_has_no_errors_no_lost_writes_and_flat_memory() {
    let secs = env_or("CHRONORAG_LOAD_SECS", 20);
    let s = Arc::new(Server::start(&[], None));
    // Seed.
    let seed = json!({"documents": (0..200).map(|i| doc("seed", i)).collect::<Vec<_>>()});
    assert_eq!(s.post("/v1/namespaces/load/documents", &seed).status, 200);
    let pid = s.pid();
    let errors = Arc::new(AtomicU64::new(0));
    let reads = Arc::new(AtomicU64::new(0));
    let written = Arc::new(parking_lot::Mutex::new(Vec::<String>::new()));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut rss = vec![(0.0f64, rss_kb(pid))];
    let mut handles = Vec::new();
    for c in 0..64u64 {
        let (s, errors, reads, written) =
            (s.clone(), errors.clone(), reads.clone(), written.clone());
        handles.push(std::thread::spawn(move || {
            let a = agent();
            let mut i = 0;
            while Instant::now() < deadline {
                i += 1;
                if c % 8 == 0 && i % 4 == 0 {
                    let id = c * 1_000_000 + i;
                    let body = json!({"documents": [doc("load", id)]});
                    match a.post(&format!("{}/v1/namespaces/load/documents", s.url)).send_json(body) {
                        Ok(r) if r.status() == 200 => written.lock().push(format!("load-{id}")),
                        _ => {
                            errors.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                } else {
                    let q = json!({"query": format!("shipped units model {} Berlin", i % 50), "budget_chars": 4000});
                    match a.post(&format!("{}/v1/namespaces/load/query", s.url)).send_json(q) {
                        Ok(r) if r.status() == 200 => {
                            let _ = r.into_body().read_to_string();
                            reads.fetch_add(1, Ordering::SeqCst);
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            }
        }));
    }
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        rss.push((start.elapsed().as_secs_f64(), rss_kb(pid)));
    }
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        errors.load(Ordering::SeqCst),
        0,
        "requests failed under load"
    );
    let written = written.lock().clone();
    // No lost writes.
    for id in &written {
        assert_eq!(
            s.get(&format!("/v1/namespaces/load/documents/{id}")).status,
            200,
            "{id} lost"
        );
    }
    // Flat memory: the second half grows little compared with the first.
    let n = rss.len();
    let mid = rss[n / 2].1.max(1);
    let end = rss[n - 1].1;
    let growth = end as f64 / mid as f64;
    eprintln!(
        "load: {secs} s, 64 clients, {} queries ({:.0}/s), {} writes, 0 errors; RSS {} MB at midpoint, {} MB at end",
        reads.load(Ordering::SeqCst),
        reads.load(Ordering::SeqCst) as f64 / secs as f64,
        written.len(),
        mid / 1024,
        end / 1024
    );
    assert!(
        growth < 1.5,
        "memory grew {growth:.2}x in the second half: {rss:?}"
    );
}

/// Mounts a small tmpfs (needs root); None with a message when that is not possible here.
fn small_disk(mb: u64) -> Option<(tempfile::TempDir, std::path::PathBuf)> {
    let dir = crate::support::tmp();
    let mnt = dir.path().join("disk");
    std::fs::create_dir_all(&mnt).unwrap();
    let ok = std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            &format!("size={mb}m"),
            "tmpfs",
            mnt.to_str().unwrap(),
        ])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Some((dir, mnt))
    } else {
        crate::support::skipped(
            "cannot mount a tmpfs here (needs root); the disk-full drill did not run",
        );
        None
    }
}

struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        // Recursive and lazy: a failed run may leave the data folder's bind mount on top, and
        // a server that is still exiting may hold files open.
        let _ = std::process::Command::new("umount")
            .args(["-R", "-l"])
            .arg(&self.0)
            .status();
    }
}

fn fill(path: &std::path::Path, leave_bytes: u64) {
    use std::io::Write;
    let free = chronorag::store::free_bytes(path).unwrap();
    let mut f = std::fs::File::create(path.join("filler")).unwrap();
    let chunk = vec![0u8; 1 << 20];
    let mut left = free.saturating_sub(leave_bytes);
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        if f.write_all(&chunk[..n]).is_err() {
            break;
        }
        left -= n as u64;
    }
    let _ = f.sync_all();
}

#[test]
fn a_full_or_read_only_disk_refuses_writes_keeps_reads_and_corrupts_nothing() {
    let Some((_dir, mnt)) = small_disk(64) else {
        return;
    };
    let _unmount = Unmount(mnt.clone());
    let data = mnt.join("data");
    let config = "min_free_disk_bytes = 8388608\n";
    let s = Server::start_at(&data, &[], Some(config), None);
    let seed = json!({"documents": (0..5).map(|i| doc("disk", i)).collect::<Vec<_>>()});
    assert_eq!(s.post("/v1/namespaces/d/documents", &seed).status, 200);
    // Nearly full: writes are refused with a clear 503, reads keep working.
    fill(&mnt, 4 << 20);
    let r = s.post(
        "/v1/namespaces/d/documents",
        &json!({"documents": [doc("disk", 100)]}),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (503, "unavailable"),
        "{}",
        r.text
    );
    assert!(r.message().contains("nearly full"));
    assert!(r.retry_after.is_some());
    let q = s.post(
        "/v1/namespaces/d/query",
        &json!({"query": "disk3 model launch"}),
    );
    assert_eq!(q.status, 200);
    assert!(q.json()["context"].as_str().unwrap().contains("disk3"));
    assert_eq!(s.get("/health").status, 200);
    // Space freed: writes work again.
    std::fs::remove_file(mnt.join("filler")).unwrap();
    assert_eq!(
        s.post(
            "/v1/namespaces/d/documents",
            &json!({"documents": [doc("disk", 6)]})
        )
        .status,
        200
    );
    // Read-only (a read-only bind mount over the data folder): the write fails cleanly, reads
    // keep working, nothing is corrupted.
    let run = |args: &[&str]| {
        let ok = std::process::Command::new("mount")
            .args(args)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount {args:?}");
    };
    let d = data.to_str().unwrap();
    run(&["--bind", d, d]);
    // Making a mount read-only fails (EBUSY) while a file is open for writing through it; the
    // server's background work (an index commit, a summary pass) may have one open for a moment.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::process::Command::new("mount")
        .args(["-o", "remount,bind,ro", d])
        .status()
        .unwrap()
        .success()
    {
        assert!(
            Instant::now() < deadline,
            "the data folder never became read-only"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let r = s.post(
        "/v1/namespaces/d/documents",
        &json!({"documents": [doc("disk", 7)]}),
    );
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.code(), "unavailable");
    assert_eq!(
        s.post("/v1/namespaces/d/query", &json!({"query": "disk6 model"}))
            .status,
        200
    );
    assert_eq!(s.get("/v1/namespaces/d/facts?limit=5").status, 200);
    let r = s.post(
        "/v1/namespaces/d/documents",
        &json!({"documents": [doc("disk", 8)]}),
    );
    assert_eq!(
        r.status, 503,
        "writes stay refused until a restart: {}",
        r.text
    );
    s.kill();
    run(&["-o", "remount,bind,rw", d]);
    let _ = std::process::Command::new("umount").arg(d).status();
    let s = Server::start_at(&data, &[], Some(config), None);
    // Nothing was corrupted: the store holds the seed, the document written after the space was
    // freed and, at most, the one whose indexing failed (it was stored durably; now indexed).
    let stats = s.get("/v1/namespaces/d").json();
    let n = stats["stats"]["documents"].as_u64().unwrap();
    assert!(n == 6 || n == 7, "{stats}");
    if n == 7 {
        let q = s.post(
            "/v1/namespaces/d/query",
            &json!({"query": "disk7 model launch"}),
        );
        assert!(
            q.json()["context"].as_str().unwrap().contains("disk7"),
            "indexed after the restart"
        );
    }
    assert_eq!(s.get("/v1/audit/verify").json()["ok"], true);
    assert_eq!(
        s.post(
            "/v1/namespaces/d/documents",
            &json!({"documents": [doc("disk", 9)]})
        )
        .status,
        200
    );
    // Retrying the refused writes completes them without duplicates.
    let retry = json!({"documents": [doc("disk", 7), doc("disk", 8)]});
    assert_eq!(s.post("/v1/namespaces/d/documents", &retry).status, 200);
    assert_eq!(s.get("/v1/namespaces/d").json()["stats"]["documents"], 9);
}
