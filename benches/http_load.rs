//! HTTP load (`harness = false`): query throughput and latency of the real server on loopback.
//!
//! Builds the Time-LongQA store with the `chronorag` binary (`ingest`, then `summarize`), starts
//! `chronorag serve` on an ephemeral port, and drives it with closed-loop clients (each sends
//! the next question as soon as the last answer arrived) over keep-alive HTTP/1.1 connections.
//! The questions are the data set's one-time questions (specific questions about one year), each
//! followed by its paraphrases (the rules of `chronorag eval --cache-check`: a polite frame,
//! synonyms, the time phrase moved to the front), sent as `POST /v1/namespaces/default/query`
//! with the default budget; after the last one the list starts again (repeats). Each client
//! count runs against a server with its query caches on (the default) and one with them off,
//! from a fresh start each. For every run it reports requests/s, p50/p99 latency, errors
//! (anything but 200), the cache's exact and semantic hit rates (from `/metrics`) and the
//! server's resident memory at the start and end of the run and its peak. The load generator
//! shares the machine with the server: on two cores both compete for the same CPUs.
//!
//! Knobs (environment):
//! - `CHRONORAG_LOAD_CLIENTS` — client counts, comma-separated (default `1,8,64`);
//! - `CHRONORAG_LOAD_SECONDS` — seconds per client count (default 20; 2 under
//!   `cargo test --benches`);
//! - `CHRONORAG_LOAD_DATA` — serve this existing data folder instead of building one;
//! - `CHRONORAG_LOAD_CACHE` — `on`, `off` or `on,off` (default `on,off`);
//! - `CHRONORAG_LOAD_WRITERS` — writers beside the readers (default 0): each posts one short
//!   dated document at a time (`POST /v1/namespaces/default/documents`, synchronous, so the
//!   answer means the write is durable and visible), and their latencies are reported apart.
//!
//! - `CHRONORAG_LOAD_SERVERS` — servers over one shared store (default 1; more needs
//!   `CHRONORAG_STORE=postgres://…`): each gets its own data folder (the first the store's, the
//!   others empty, so they build their indexes from the database, warmed by one question before
//!   the clock starts); clients and writers are dealt to them in turn; hit rates and memory are
//!   summed over them.
//!
//! Two servers over PostgreSQL: `CHRONORAG_STORE=postgres://… CHRONORAG_LOAD_DATA=… \
//! CHRONORAG_LOAD_SERVERS=1,2 cargo bench --bench http_load`.
//!
//! Mixed reads and writes: `CHRONORAG_LOAD_CLIENTS=16 CHRONORAG_LOAD_WRITERS=16
//! CHRONORAG_LOAD_CACHE=on cargo bench --bench http_load`.
//!
//! The long form (memory over five minutes at 64 clients):
//! `CHRONORAG_LOAD_CLIENTS=64 CHRONORAG_LOAD_SECONDS=300 cargo bench --bench http_load`.
//! Results: a table on standard output and JSON in `target/bench-results/http_load.json`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_chronorag");

fn main() {
    let Some(longqa) = common::longqa() else {
        return;
    };
    let quick = !common::full_run();
    let clients: Vec<usize> = std::env::var("CHRONORAG_LOAD_CLIENTS")
        .unwrap_or_else(|_| "1,8,64".into())
        .split(',')
        .map(|x| x.trim().parse().expect("CHRONORAG_LOAD_CLIENTS: numbers"))
        .collect();
    let seconds: f64 = std::env::var("CHRONORAG_LOAD_SECONDS")
        .ok()
        .map(|s| s.parse().expect("CHRONORAG_LOAD_SECONDS: a number"))
        .unwrap_or(if quick { 2.0 } else { 20.0 });
    let questions = Arc::new(questions(&longqa));
    assert!(
        !questions.is_empty(),
        "no questions in {}",
        longqa.display()
    );

    let tmp = tempfile::tempdir().expect("tempdir");
    let data: PathBuf = match std::env::var("CHRONORAG_LOAD_DATA") {
        Ok(d) => PathBuf::from(d),
        Err(_) => {
            let data = tmp.path().join("data");
            let corpus = longqa.join("corpus");
            let started = Instant::now();
            run(&["--data", path(&data), "ingest", path(&corpus)]);
            run(&["--data", path(&data), "summarize"]);
            eprintln!(
                "http_load: Time-LongQA store built in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            data
        }
    };
    let caches: Vec<bool> = std::env::var("CHRONORAG_LOAD_CACHE")
        .unwrap_or_else(|_| "on,off".into())
        .split(',')
        .map(|x| match x.trim() {
            "on" => true,
            "off" => false,
            other => panic!("CHRONORAG_LOAD_CACHE: on or off, not {other:?}"),
        })
        .collect();
    let writers: usize = std::env::var("CHRONORAG_LOAD_WRITERS")
        .ok()
        .map(|s| s.parse().expect("CHRONORAG_LOAD_WRITERS: a number"))
        .unwrap_or(0);
    let server_counts: Vec<usize> = std::env::var("CHRONORAG_LOAD_SERVERS")
        .unwrap_or_else(|_| "1".into())
        .split(',')
        .map(|x| x.trim().parse().expect("CHRONORAG_LOAD_SERVERS: numbers"))
        .collect();
    assert!(
        server_counts.iter().all(|&k| k == 1) || std::env::var("CHRONORAG_STORE").is_ok(),
        "CHRONORAG_LOAD_SERVERS above 1 needs a shared store: set CHRONORAG_STORE=postgres://…"
    );
    let mut rows = Vec::new();
    for &k in &server_counts {
        for &cache in &caches {
            for &n in &clients {
                // A fresh server per run: every run starts with an empty cache. With writers, a
                // copy of the store, so that every run starts from the same one.
                let run_data = if writers > 0 {
                    let copy = tmp.path().join(format!("data-{}-{n}", u8::from(cache)));
                    copy_dir(&data, &copy);
                    copy
                } else {
                    data.clone()
                };
                let mut servers: Vec<Server> = (0..k)
                    .map(|i| {
                        let folder = if i == 0 {
                            run_data.clone()
                        } else {
                            tmp.path()
                                .join(format!("data-{}-{n}-{k}-s{i}", u8::from(cache)))
                        };
                        Server::start(&folder, cache, tmp.path())
                    })
                    .collect();
                if k > 1 {
                    // Each server loads (or builds) the namespace's indexes before the clock starts.
                    for s in &servers {
                        let body = serde_json::to_vec(&json!({"query": "warm up"})).unwrap();
                        let (status, _) = Conn::open(&s.addr)
                            .post("/v1/namespaces/default/query", &body)
                            .expect("warm-up question");
                        assert_eq!(status, 200, "warm-up question on {}", s.addr);
                    }
                }
                let mut row = drive(&servers, n, writers, seconds, &questions);
                row["cache"] = json!(if cache { "on" } else { "off" });
                row["servers"] = json!(k);
                eprintln!("http_load: {}", row);
                rows.push(row);
                for server in &mut servers {
                    let status = server.stop();
                    assert!(
                        status.success(),
                        "the server did not stop cleanly: {status:?}"
                    );
                }
            }
        }
    }

    println!();
    println!(
        "| servers | caches | clients | seconds | requests | queries/s | p50 ms | p99 ms | exact hits | semantic hits | errors | server RSS start → end (peak) MB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    if writers > 0 {
        println!();
        println!(
            "| caches | readers | writers | writes | writes/s | write p50 ms | write p99 ms | write max ms | reads/s | read p50 ms | read p99 ms |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
        for r in &rows {
            println!(
                "| {} | {} | {} | {} | {:.1} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} |",
                r["cache"].as_str().unwrap_or("?"),
                r["clients"],
                r["writers"],
                r["writes"],
                r["writes_per_s"].as_f64().unwrap(),
                r["write_p50_ms"].as_f64().unwrap(),
                r["write_p99_ms"].as_f64().unwrap(),
                r["write_max_ms"].as_f64().unwrap(),
                r["qps"].as_f64().unwrap(),
                r["p50_ms"].as_f64().unwrap(),
                r["p99_ms"].as_f64().unwrap(),
            );
        }
        println!();
    }
    for r in &rows {
        println!(
            "| {} | {} | {} | {:.0} | {} | {:.0} | {:.1} | {:.1} | {:.1}% | {:.1}% | {} | {:.0} → {:.0} ({:.0}) |",
            r["servers"],
            r["cache"].as_str().unwrap_or("?"),
            r["clients"],
            r["seconds"].as_f64().unwrap(),
            r["requests"],
            r["qps"].as_f64().unwrap(),
            r["p50_ms"].as_f64().unwrap(),
            r["p99_ms"].as_f64().unwrap(),
            r["exact_rate"].as_f64().unwrap_or(0.0) * 100.0,
            r["semantic_rate"].as_f64().unwrap_or(0.0) * 100.0,
            r["errors"],
            r["rss_start"].as_f64().unwrap() / 1e6,
            r["rss_end"].as_f64().unwrap() / 1e6,
            r["rss_peak"].as_f64().unwrap() / 1e6,
        );
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-results");
    std::fs::create_dir_all(&out).expect("results folder");
    std::fs::write(
        out.join("http_load.json"),
        serde_json::to_string_pretty(&json!({ "rows": rows })).unwrap(),
    )
    .expect("write http_load.json");
    // Under load the server must not fail a single request.
    for r in &rows {
        assert_eq!(r["errors"], 0, "errors under load: {r}");
    }
}

/// Copies a data folder (the server is not running on it).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for e in std::fs::read_dir(from).expect("read the data folder") {
        let e = e.expect("entry");
        let dest = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).expect("copy a file");
        }
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn run(args: &[&str]) {
    let out = Command::new(BIN)
        .args(args)
        .env("CHRONORAG_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .expect("run chronorag");
    assert!(out.success(), "chronorag {args:?} failed");
}

/// The one-time questions (`qa/one_time_*.json`), each followed by its paraphrases.
fn questions(longqa: &Path) -> Vec<String> {
    originals(longqa)
        .into_iter()
        .flat_map(|q| {
            let more = chronorag::eval::cache_check::paraphrases(&q);
            std::iter::once(q).chain(more.into_iter().map(|(_, p)| p))
        })
        .collect()
}

/// The one-time questions (`qa/one_time_*.json`).
fn originals(longqa: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(longqa.join("qa"))
        .expect("qa folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("one_time_"))
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(&f).expect("read qa")).expect("qa JSON");
        if let Some(m) = v.as_object() {
            out.extend(
                m.values()
                    .filter_map(|q| q["Question"].as_str().map(str::to_string)),
            );
        }
    }
    out
}

struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(data: &Path, cache: bool, tmp: &Path) -> Server {
        let config = tmp.join(if cache {
            "cache-on.toml"
        } else {
            "cache-off.toml"
        });
        let text = if cache {
            ""
        } else {
            "[cache]\nexact_mb = 0\nsemantic = false\n"
        };
        std::fs::write(&config, text).expect("write the config");
        let mut child = Command::new(BIN)
            .args(["--config", path(&config), "--data", path(data)])
            .args(["serve", "--addr", "127.0.0.1:0"])
            .env("CHRONORAG_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start chronorag serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read the listening line");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        Server { child, addr }
    }

    /// The query cache counters of `/metrics`: `(exact, semantic, miss)`.
    fn cache_counts(&self) -> (f64, f64, f64) {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        write!(
            s,
            "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .expect("ask for metrics");
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read metrics");
        let get = |result: &str| {
            let key = format!("chronorag_query_cache_total{{result=\"{result}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(&key))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0.0)
        };
        (get("exact"), get("semantic"), get("miss"))
    }

    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    }

    fn stop(&mut self) -> std::process::ExitStatus {
        // SIGTERM: the server drains and exits 0.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().expect("wait for the server")
    }
}

/// One keep-alive connection speaking just enough HTTP/1.1 for this load.
struct Conn {
    reader: BufReader<TcpStream>,
    addr: String,
}

impl Conn {
    fn open(addr: &str) -> Conn {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        Conn {
            reader: BufReader::new(s),
            addr: addr.to_string(),
        }
    }

    /// POSTs `body` to `path`; returns the status and the body length.
    fn post(&mut self, path: &str, body: &[u8]) -> std::io::Result<(u16, usize)> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let s = self.reader.get_mut();
        s.write_all(head.as_bytes())?;
        s.write_all(body)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut len = 0usize;
        let mut chunked = false;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let lower = l.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            } else if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        if chunked {
            let mut total = 0;
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let n = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
                let mut buf = vec![0u8; n + 2];
                self.reader.read_exact(&mut buf)?;
                total += n;
                if n == 0 {
                    break;
                }
            }
            return Ok((status, total));
        }
        let mut buf = vec![0u8; len];
        self.reader.read_exact(&mut buf)?;
        Ok((status, len))
    }
}

fn drive(
    servers: &[Server],
    clients: usize,
    writers: usize,
    seconds: f64,
    questions: &Arc<Vec<String>>,
) -> Value {
    let stop = Arc::new(AtomicBool::new(false));
    let rss = || servers.iter().map(Server::rss).sum::<u64>();
    let rss_start = rss();
    let started = Instant::now();
    let writer_handles: Vec<_> = (0..writers)
        .map(|w| {
            let addr = servers[w % servers.len()].addr.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut conn = Conn::open(&addr);
                let mut lat = Vec::new();
                let mut errors = 0u64;
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    // A short, distinct note (documents are deduplicated by content).
                    let q = i % 4 + 1;
                    let body = serde_json::to_vec(&json!({"documents": [{
                        "id": format!("load-w{w}-{i}"),
                        "time": format!("2023-Q{q}"),
                        "text": format!(
                            "In Q{q} 2023, Writer{w} Motors reported revenue of ${}.{} billion \
                             (note {i}). Its chief executive said deliveries to Ingolstadt dealers \
                             rose {}% in Q{q} 2023.",
                            i % 9 + 1, w % 10, i % 30 + 1
                        ),
                    }]}))
                    .unwrap();
                    i += 1;
                    let t = Instant::now();
                    match conn.post("/v1/namespaces/default/documents", &body) {
                        Ok((200, n)) if n > 0 => lat.push(t.elapsed()),
                        Ok((status, _)) => {
                            errors += 1;
                            eprintln!("http_load: write status {status}");
                        }
                        Err(e) => {
                            errors += 1;
                            eprintln!("http_load: write {e}");
                            conn = Conn::open(&addr);
                        }
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let addr = servers[c % servers.len()].addr.clone();
            let qs = questions.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut conn = Conn::open(&addr);
                let mut lat = Vec::new();
                let mut errors = 0u64;
                let mut i = c * 97;
                while !stop.load(Ordering::Relaxed) {
                    let body = serde_json::to_vec(&json!({ "query": qs[i % qs.len()] })).unwrap();
                    i += 1;
                    let t = Instant::now();
                    match conn.post("/v1/namespaces/default/query", &body) {
                        Ok((200, n)) if n > 0 => lat.push(t.elapsed()),
                        Ok((status, _)) => {
                            errors += 1;
                            eprintln!("http_load: status {status}");
                        }
                        Err(e) => {
                            errors += 1;
                            eprintln!("http_load: {e}");
                            conn = Conn::open(&addr);
                        }
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let mut rss_peak = rss_start;
    while started.elapsed().as_secs_f64() < seconds {
        std::thread::sleep(Duration::from_millis(250));
        rss_peak = rss_peak.max(rss());
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for h in handles {
        let (l, e) = h.join().expect("client thread");
        all.extend(l);
        errors += e;
    }
    let mut writes = Vec::new();
    for h in writer_handles {
        let (l, e) = h.join().expect("writer thread");
        writes.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    writes.sort();
    let wp = |q: f64| {
        if writes.is_empty() {
            return f64::NAN;
        }
        writes[((writes.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0
    };
    let p = |q: f64| {
        if all.is_empty() {
            return f64::NAN;
        }
        all[((all.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0
    };
    let rss_end = rss();
    let (exact, semantic, miss) = servers
        .iter()
        .map(Server::cache_counts)
        .fold((0.0, 0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    let answered = (exact + semantic + miss).max(1.0);
    json!({
        "exact_rate": exact / answered,
        "semantic_rate": semantic / answered,
        "clients": clients,
        "seconds": elapsed,
        "requests": all.len(),
        "qps": all.len() as f64 / elapsed,
        "p50_ms": p(0.5),
        "p99_ms": p(0.99),
        "errors": errors,
        "writers": writers,
        "writes": writes.len(),
        "writes_per_s": writes.len() as f64 / elapsed,
        "write_p50_ms": wp(0.5),
        "write_p99_ms": wp(0.99),
        "write_max_ms": wp(1.0),
        "rss_start": rss_start,
        "rss_end": rss_end,
        "rss_peak": rss_peak.max(rss_end),
    })
}
