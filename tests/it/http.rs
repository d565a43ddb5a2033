//! The HTTP service, spoken to over loopback: routes, errors, auth, limits, jobs, shutdown,
//! OpenAPI and metrics.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Server, bin, tmp};

fn docs(n: usize, tag: &str) -> Value {
    let documents: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "id": format!("{tag}-{i}"),
                "text": format!("In Q{} 2023, Acme Corp (NASDAQ: ACME) reported revenue of ${}.{} billion, up {}% from a year earlier. Jane Doe, Chief Executive, said {tag} demand was strong in Berlin (note {i}).", i % 4 + 1, i % 9 + 1, i % 10, i % 20),
                "time": format!("2023-Q{}", i % 4 + 1),
                "title": format!("Acme call {tag} {i}"),
            })
        })
        .collect();
    json!({ "documents": documents })
}

fn wait_job(s: &Server, ns: &str, id: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = s.get(&format!("/v1/namespaces/{ns}/jobs/{id}"));
        assert_eq!(r.status, 200, "{}", r.text);
        let j = r.json();
        if j["state"] == "done" || j["state"] == "failed" {
            return j;
        }
        assert!(Instant::now() < deadline, "job {id} never finished: {j}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn ingest_query_and_read_routes_work_end_to_end() {
    let s = Server::start(&[], None);
    let h = s.get("/health");
    assert_eq!(h.status, 200);
    assert_eq!(h.json()["status"], "ok");

    let r = s.post("/v1/namespaces/acme/documents", &docs(8, "call"));
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    assert_eq!(body["documents"], 8);
    assert!(body["tx"].as_u64().unwrap() >= 1);
    assert!(body["facts"].as_u64().unwrap() >= 8);
    // Same content again: nothing new, no transaction.
    let again = s
        .post("/v1/namespaces/acme/documents", &docs(8, "call"))
        .json();
    assert_eq!(again["documents"], 0);
    assert_eq!(again["duplicates"], 8);
    assert!(again["tx"].is_null());

    let q = s.post(
        "/v1/namespaces/acme/query",
        &json!({"query": "What revenue did Acme report in Q3 2023?", "budget_chars": 1500, "explain": true}),
    );
    assert_eq!(q.status, 200, "{}", q.text);
    let q = q.json();
    assert_eq!(q["plan"]["time_scope"]["hard"], true);
    assert!(q["context"].as_str().unwrap().chars().count() <= 1500);
    assert!(q["context"].as_str().unwrap().contains("[call-"));
    for f in q["facts"].as_array().unwrap() {
        assert!(
            f["valid"]["start"].as_str().unwrap().starts_with("2023-0"),
            "{f}"
        );
        assert_eq!(f["time"], "2023-Q3", "out of scope: {f}");
    }
    // The stages in order, and the wall times: planning and retrieval fit in the total.
    let stages = q["explain"].as_array().unwrap();
    let ms = |name: &str| {
        stages
            .iter()
            .find(|st| st["stage"] == name)
            .and_then(|st| st["ms"].as_f64())
            .unwrap_or_else(|| panic!("no stage {name}: {stages:?}"))
    };
    assert_eq!(stages[0]["stage"], "plan_and_embed", "{stages:?}");
    assert_eq!(stages.last().unwrap()["stage"], "total", "{stages:?}");
    assert!(
        ms("plan_and_embed") + ms("retrieval") <= ms("total"),
        "{stages:?}"
    );
    assert!(ms("seed_facts_bm25") <= ms("retrieval"), "{stages:?}");
    // Facts are not embedded by default, so there is no fact vector search to time.
    assert!(
        stages.iter().all(|st| st["stage"] != "seed_facts_vector"),
        "{stages:?}"
    );

    let facts = s
        .get("/v1/namespaces/acme/facts?from=2023-Q1&to=2023-Q1&limit=50")
        .json();
    assert!(!facts["facts"].as_array().unwrap().is_empty());
    for f in facts["facts"].as_array().unwrap() {
        assert!(f["time"].as_str().unwrap().starts_with("2023"), "{f}");
    }
    let e = s.get("/v1/namespaces/acme/entities/ACME");
    assert_eq!(e.status, 200, "{}", e.text);
    assert!(e.json()["name"].as_str().unwrap().starts_with("Acme"));
    let id = e.json()["id"].as_u64().unwrap();
    let t = s.get(&format!("/v1/namespaces/acme/entities/{id}/timeline"));
    assert_eq!(t.status, 200);
    assert!(!t.json()["facts"].as_array().unwrap().is_empty());
    let list = s.get("/v1/namespaces/acme/entities?q=acme").json();
    assert!(!list["entities"].as_array().unwrap().is_empty());
    let d = s.get("/v1/namespaces/acme/documents/call-3").json();
    assert_eq!(d["document"]["external_id"], "call-3");
    assert!(d["chunks"][0]["text"].as_str().unwrap().contains("Acme"));
    assert_eq!(
        s.get("/v1/namespaces/acme/documents?limit=3").json()["documents"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let ns = s.get("/v1/namespaces/acme").json();
    assert_eq!(ns["stats"]["documents"], 8);
    assert!(ns["indexes"]["chunk_vectors"].as_u64().unwrap() > 0);
    // Facts are not embedded unless `embed_facts` is configured.
    assert_eq!(ns["indexes"]["fact_vectors"], 0);
    // Summaries are brought up to date (in the background, or now on request).
    let sum = s.request("POST", "/v1/namespaces/acme/summarize", None);
    assert_eq!(sum.status, 200, "{}", sum.text);
    let tl = s.get("/v1/namespaces/acme/timeline/2023");
    assert_eq!(tl.status, 200, "{}", tl.text);
    assert!(
        tl.json()["summary"]["title"]
            .as_str()
            .unwrap()
            .starts_with("2023")
    );
    // 2023 and 2022 (from "a year earlier") are years of the timeline.
    let years: Vec<String> = s.get("/v1/namespaces/acme/timeline").json()["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["node"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(years, vec!["2022", "2023"]);
    let created = s.request("PUT", "/v1/namespaces/fresh", None);
    assert_eq!(created.status, 201);
    assert_eq!(s.request("PUT", "/v1/namespaces/fresh", None).status, 200);
    let all = s.get("/v1/namespaces").json();
    let names: BTreeSet<&str> = all["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, BTreeSet::from(["acme", "fresh"]));
}

/// method, path, (content type, body), expected status, expected error code.
type Case<'a> = (&'a str, &'a str, Option<(&'a str, Vec<u8>)>, u16, &'a str);

#[test]
fn bad_requests_get_clear_json_errors_and_change_nothing() {
    let s = Server::start(
        &[],
        Some("[server]\nmax_body_bytes = 20000\nmax_documents_per_request = 3\n"),
    );
    assert_eq!(
        s.post("/v1/namespaces/x/documents", &docs(1, "seed"))
            .status,
        200
    );
    let cases: Vec<Case> =
        vec![
        (
            "POST",
            "/v1/namespaces/x/query",
            Some(("application/json", b"{\"query\": ".to_vec())),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/v1/namespaces/x/query",
            Some(("application/json", b"[1,2]".to_vec())),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/v1/namespaces/x/query",
            Some(("application/json", b"{\"query\": 5}".to_vec())),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/v1/namespaces/x/query",
            Some((
                "application/json",
                b"{\"query\": \"a\", \"bogus\": 1}".to_vec(),
            )),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/v1/namespaces/x/query",
            Some(("text/plain", b"{\"query\": \"a\"}".to_vec())),
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/v1/namespaces/x/documents",
            Some(("text/plain", b"{\"documents\": [{\"text\": \"a\"}]}".to_vec())),
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/v1/namespaces/x/query",
            Some(("application/json", b"{\"query\": \"\xff\xfe\"}".to_vec())),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/v1/namespaces/x/query",
            Some((
                "application/json",
                b"{\"query\": \"a\", \"time\": {\"at\": \"Q5 2023\"}}".to_vec(),
            )),
            422,
            "invalid_time",
        ),
        (
            "POST",
            "/v1/namespaces/x/query",
            Some((
                "application/json",
                b"{\"query\": \"a\", \"time\": {\"from\": \"2021\", \"to\": \"2019\"}}".to_vec(),
            )),
            422,
            "invalid_time",
        ),
        (
            "POST",
            "/v1/namespaces/x/query",
            Some((
                "application/json",
                b"{\"query\": \"a\", \"budget_chars\": 99999999999999999999}".to_vec(),
            )),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/v1/namespaces/x/query",
            Some((
                "application/json",
                b"{\"query\": \"a\", \"as_of_tx\": 999}".to_vec(),
            )),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/v1/namespaces/nope/query",
            Some(("application/json", b"{\"query\": \"a\"}".to_vec())),
            404,
            "not_found",
        ),
        (
            "POST",
            "/v1/namespaces/Bad..Name/query",
            Some(("application/json", b"{\"query\": \"a\"}".to_vec())),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/v1/namespaces/..%2F..%2Fetc/query",
            Some(("application/json", b"{\"query\": \"a\"}".to_vec())),
            400,
            "invalid_request",
        ),
        (
            "GET",
            "/v1/namespaces/x/facts/notanumber",
            None,
            400,
            "invalid_request",
        ),
        (
            "GET",
            "/v1/namespaces/x/facts?limit=abc",
            None,
            400,
            "invalid_request",
        ),
        (
            "GET",
            "/v1/namespaces/x/facts?from=2019-02-30",
            None,
            422,
            "invalid_time",
        ),
        (
            "GET",
            "/v1/namespaces/x/facts/99999",
            None,
            404,
            "not_found",
        ),
        // Ids are the user's own text (a path is a valid id); this one does not exist.
        (
            "GET",
            "/v1/namespaces/x/documents/..%2Fsecret",
            None,
            404,
            "not_found",
        ),
        // A bidi override could make a citation read as another document's id.
        (
            "GET",
            "/v1/namespaces/x/documents/invoice%E2%80%AEfdp",
            None,
            400,
            "invalid_request",
        ),
        (
            "GET",
            "/v1/namespaces/x/timeline/2019-13",
            None,
            422,
            "invalid_time",
        ),
        ("GET", "/v1/namespaces/x/jobs/12345", None, 404, "not_found"),
        ("GET", "/v1/nothing-here", None, 404, "not_found"),
        ("DELETE", "/health", None, 405, "method_not_allowed"),
        (
            "POST",
            "/v1/namespaces/x/documents",
            Some(("application/json", b"{\"documents\": []}".to_vec())),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/v1/namespaces/x/documents",
            Some((
                "application/json",
                b"{\"documents\": [{\"text\": \"In 2020 it rained.\", \"time\": \"2023-02-30\"}]}"
                    .to_vec(),
            )),
            422,
            "invalid_time",
        ),
        (
            "POST",
            "/v1/namespaces/x/documents",
            Some((
                "application/json",
                b"{\"documents\": [{\"text\": \"ok text here\"}, {\"text\": \"  \"}]}".to_vec(),
            )),
            400,
            "invalid_documents",
        ),
        (
            "POST",
            "/v1/namespaces/x/documents",
            Some(("application/json", docs(4, "many").to_string().into_bytes())),
            413,
            "too_many_documents",
        ),
        (
            "POST",
            "/v1/namespaces/x/documents",
            Some(("application/json", vec![b'x'; 30000])),
            413,
            "too_large",
        ),
        (
            "POST",
            "/v1/namespaces/x/query",
            Some((
                "application/json",
                format!("{{\"query\": \"{}\"}}", "a".repeat(30000)).into_bytes(),
            )),
            413,
            "too_large",
        ),
    ];
    let deep = format!(
        "{{\"query\": \"a\", \"time\": {}1{}}}",
        "[".repeat(500),
        "]".repeat(500)
    );
    let mut all = cases;
    all.push((
        "POST",
        "/v1/namespaces/x/query",
        Some(("application/json", deep.into_bytes())),
        400,
        "invalid_request",
    ));
    let before = s.get("/v1/namespaces/x").json()["stats"].clone();
    for (m, path, body, status, code) in all {
        let r = s.request(m, path, body);
        assert_eq!(r.status, status, "{m} {path}: {}", r.text);
        assert_eq!(r.code(), code, "{m} {path}: {}", r.text);
        let msg = r.message();
        assert!(!msg.is_empty());
        assert!(!r.text.contains("panicked") && !r.text.contains("backtrace"));
        // Messages speak the client's terms, never the server's types.
        for internal in ["u64", "usize", "i64", "struct ", "enum ", "Option<", "Vec<"] {
            assert!(!msg.contains(internal), "{m} {path}: {msg}");
        }
    }
    let after = s.get("/v1/namespaces/x").json()["stats"].clone();
    assert_eq!(before, after, "a rejected request changed the store");
    // The document error names the offending document.
    let r = s.request(
        "POST",
        "/v1/namespaces/x/documents",
        Some((
            "application/json",
            b"{\"documents\": [{\"text\": \"ok text here\"}, {\"text\": \"  \"}]}".to_vec(),
        )),
    );
    assert_eq!(r.json()["error"]["details"]["documents"][0]["index"], 1);
}

/// `time` is a string or an object; unknown query-string parameters are refused with their
/// name; no error message names one of the server's Rust types.
#[test]
fn time_as_a_string_unknown_parameters_and_errors_without_rust_types() {
    let s = Server::start(&[], None);
    assert_eq!(
        s.post("/v1/namespaces/x/documents", &docs(2, "t")).status,
        200
    );
    let as_text = s.post(
        "/v1/namespaces/x/query",
        &json!({"query": "revenue", "time": "2023", "budget_chars": 500}),
    );
    assert_eq!(as_text.status, 200, "{}", as_text.text);
    let as_object = s.post(
        "/v1/namespaces/x/query",
        &json!({"query": "revenue", "time": {"at": "2023"}, "budget_chars": 500}),
    );
    assert_eq!(as_object.status, 200, "{}", as_object.text);
    assert_eq!(
        as_text.json()["plan"]["time_scope"],
        as_object.json()["plan"]["time_scope"]
    );
    assert!(as_text.json()["plan"]["time_scope"]["keys"][0] == "2023");

    for body in [
        json!({"query": "revenue", "time": 2023}),
        json!({"query": "revenue", "time": {"at": "2023", "wehn": "x"}}),
        json!({"query": "revenue", "mode": "fast"}),
        json!({"query": "revenue", "time": ["2023"]}),
    ] {
        let r = s.post("/v1/namespaces/x/query", &body);
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        let msg = r.message();
        for internal in [
            "TimeParam",
            "TimeFields",
            "Mode",
            "struct ",
            "enum ",
            "target type",
        ] {
            assert!(!msg.contains(internal), "{body}: {msg}");
        }
    }
    let r = s.get("/v1/namespaces/x/facts?entitty=Acme");
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("entitty"), "{}", r.text);
    assert_eq!(s.get("/v1/namespaces/x/facts?limit=5").status, 200);
}

pub(crate) fn keys_file(dir: &std::path::Path) -> (std::path::PathBuf, String, String, String) {
    let file = dir.join("keys.toml");
    let mk = |name: &str, role: &str, ns: &str| -> String {
        let out = std::process::Command::new(bin())
            .args([
                "keys",
                "create",
                "--file",
                file.to_str().unwrap(),
                "--name",
                name,
                "--role",
                role,
                "--namespace",
                ns,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let reader = mk("reader", "read", "*");
    let writer = mk("ingest-bot", "write", "acme");
    let admin = mk("ops", "admin", "*");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(&writer), "keys are stored hashed");
    (file, reader, writer, admin)
}

#[test]
fn the_web_page_needs_no_key_and_loads_nothing_from_elsewhere() {
    let dir = tmp();
    let (file, reader, _, _) = keys_file(dir.path());
    let mut s = Server::start(&["--auth", file.to_str().unwrap()], None);
    let page = s.get("/ui");
    assert_eq!(page.status, 200, "the page needs no key");
    assert_eq!(
        page.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert!(page.text.contains("<title>ChronoRAG</title>"));
    let csp = page.csp.expect("a Content-Security-Policy");
    assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"));
    for outside in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!page.text.contains(outside), "the page loads {outside}…");
    }
    // The root leads a browser to the page; the data behind it still needs a key.
    assert_eq!(s.get("/").text, page.text);
    assert_eq!(s.get("/v1/namespaces").status, 401);
    s.key = Some(reader);
    assert_eq!(s.get("/v1/namespaces").status, 200);
}

#[test]
fn api_keys_and_roles_are_enforced() {
    let dir = tmp();
    let (file, reader, writer, admin) = keys_file(dir.path());
    let mut s = Server::start(&["--auth", file.to_str().unwrap()], None);
    assert_eq!(s.get("/health").status, 200, "health needs no key");
    let r = s.get("/v1/namespaces");
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    s.key = Some("not-a-key".into());
    assert_eq!(s.get("/v1/namespaces").status, 401);
    s.key = Some(reader.clone());
    let r = s.post("/v1/namespaces/acme/documents", &docs(1, "r"));
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "forbidden"),
        "{}",
        r.text
    );
    s.key = Some(writer.clone());
    let r = s.post("/v1/namespaces/acme/documents", &docs(2, "w"));
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s.post("/v1/namespaces/other/documents", &docs(1, "w"));
    assert_eq!(r.status, 403, "write is granted on acme only");
    let r = s.request("PUT", "/v1/namespaces/newone", None);
    assert_eq!(r.status, 403, "creating namespaces explicitly needs admin");
    s.key = Some(admin);
    assert_eq!(s.request("PUT", "/v1/namespaces/newone", None).status, 201);
    s.key = Some(reader);
    assert_eq!(
        s.post("/v1/namespaces/acme/query", &json!({"query": "revenue"}))
            .status,
        200
    );
    // The actor of the transaction is the key's name.
    let data = s.data.clone();
    let (status, _dir) = s.terminate();
    assert!(status.success());
    let engine = crate::support::engine_at(&data);
    let ns = engine.namespace("acme").unwrap();
    let tx = ns.store().tx(1).unwrap().unwrap();
    assert_eq!(tx.actor, "ingest-bot");
    // Binding to a public address without --auth is refused.
    let out = std::process::Command::new(bin())
        .arg("--data")
        .arg(dir.path().join("d2"))
        .args(["serve", "--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("without authentication"));
}

#[test]
fn per_key_concurrency_and_timeouts_are_limited() {
    // One request at a time per key: a slow ingest holds the slot, a second request gets 429.
    let s = Server::start(&[], Some("[server]\nmax_concurrent_per_key = 1\n"));
    let big = docs(150, "slow");
    let url = s.url.clone();
    let slow = std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        // The poller below may hold the key's one slot at the moment this write arrives; then
        // the write itself is the one limited, and it tries again, as a client would.
        loop {
            let r = agent
                .post(&format!("{url}/v1/namespaces/acme/documents"))
                .send_json(&big)
                .unwrap();
            if r.status().as_u16() != 429 {
                return r.status().as_u16();
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    let mut saw_429 = false;
    for _ in 0..200 {
        let r = s.get("/v1/namespaces");
        if r.status == 429 {
            assert_eq!(r.code(), "too_many_requests");
            assert!(r.retry_after.is_some());
            saw_429 = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(slow.join().unwrap(), 200);
    assert!(
        saw_429,
        "a concurrent request of the same key was not limited"
    );
    assert_eq!(
        s.get("/v1/namespaces").status,
        200,
        "the slot is free again"
    );

    // A read slower than request_timeout_ms answers 503.
    let s2 = Server::start(&[], Some("[server]\nrequest_timeout_ms = 1\n"));
    assert_eq!(
        s2.post("/v1/namespaces/acme/documents", &docs(300, "t"))
            .status,
        200,
        "writes are not cut short"
    );
    let r = s2.post(
        "/v1/namespaces/acme/query",
        &json!({"query": "revenue of Acme demand Berlin", "budget_chars": 100000, "top_k": 1000, "explain": true}),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (503, "timeout"),
        "{}",
        r.text
    );
}

#[test]
fn large_or_async_writes_become_jobs_that_survive_a_restart() {
    let s = Server::start(&[], Some("[server]\nasync_threshold_bytes = 4000\n"));
    let r = s.post("/v1/namespaces/acme/documents?wait=false", &docs(3, "a"));
    assert_eq!(r.status, 202, "{}", r.text);
    let accepted = r.json();
    let keys: BTreeSet<&str> = accepted
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // The 202 body is the job's own shape (no `job`/`status` duplicates), plus its href.
    assert_eq!(
        keys,
        BTreeSet::from(["href", "id", "namespace", "progress", "state"]),
        "{accepted}"
    );
    let id = accepted["id"].as_u64().unwrap();
    let j = wait_job(&s, "acme", id);
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(j["result"]["documents"], 3);
    assert_eq!(j["progress"]["done"], 3);
    // Above the size threshold: a job without asking.
    let r = s.post("/v1/namespaces/acme/documents", &docs(40, "big"));
    assert_eq!(r.status, 202);
    // Kill the server right after acceptance; the job is in the store and resumes on restart.
    let id = r.json()["id"].as_u64().unwrap();
    let data = s.data.clone();
    let dir = s.kill();
    let s = Server::start_at(
        &data,
        &[],
        Some("[server]\nasync_threshold_bytes = 4000\n"),
        dir,
    );
    let j = wait_job(&s, "acme", id);
    assert_eq!(j["state"], "done", "{j}");
    let stats = s.get("/v1/namespaces/acme").json();
    assert_eq!(stats["stats"]["documents"], 43, "{stats}");
}

/// A server stopped cleanly while a job runs (or before it starts) leaves the job to the next
/// start, which finishes it: no document is lost and none is added twice.
#[test]
fn a_job_cut_short_by_a_clean_stop_finishes_after_a_restart() {
    let config = "[server]\nasync_threshold_bytes = 4000\n";
    let s = Server::start(&[], Some(config));
    let r = s.post(
        "/v1/namespaces/acme/documents?wait=false",
        &docs(1000, "stop"),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.json()["id"].as_u64().unwrap();
    let data = s.data.clone();
    let (status, dir) = s.terminate();
    assert!(status.success(), "{status}");
    let s = Server::start_at(&data, &[], Some(config), dir);
    let j = wait_job(&s, "acme", id);
    assert_eq!(j["state"], "done", "{j}");
    let stats = s.get("/v1/namespaces/acme").json();
    assert_eq!(stats["stats"]["documents"], 1000, "{stats}");
}

#[test]
fn sigterm_finishes_in_flight_writes_and_reopens_cleanly() {
    let s = Server::start(&[], None);
    let url = s.url.clone();
    let big = docs(1500, "inflight");
    let writer = std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let r = agent
            .post(&format!("{url}/v1/namespaces/acme/documents"))
            .send_json(&big)
            .unwrap();
        let status = r.status().as_u16();
        let body: Value = serde_json::from_str(&r.into_body().read_to_string().unwrap()).unwrap();
        (status, body)
    });
    // SIGTERM only once the write is under way: the ingest creates the namespace when it starts,
    // after the whole body has arrived, and its one transaction (1500 documents, seconds of work)
    // is not yet committed. (A fixed sleep could signal before the request was even sent on a
    // loaded machine; then the connection is refused, not finished.)
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = s.get("/v1/namespaces/acme");
        if r.status == 200 {
            let docs = &r.json()["stats"]["documents"];
            assert_eq!(
                docs, 0,
                "the write was not seen in flight (already committed)"
            );
            break;
        }
        assert_eq!(r.status, 404, "{}", r.text);
        if writer.is_finished() {
            panic!("the write ended before it was seen: {:?}", writer.join());
        }
        assert!(Instant::now() < deadline, "the write never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    let data = s.data.clone();
    let (status, dir) = s.terminate();
    assert!(
        status.success(),
        "the server did not stop cleanly: {status}"
    );
    let (code, body) = writer.join().unwrap();
    assert_eq!(code, 200, "the in-flight write was cut: {body}");
    assert_eq!(body["documents"], 1500);
    let s = Server::start_at(&data, &[], None, dir);
    let stats = s.get("/v1/namespaces/acme").json();
    assert_eq!(stats["stats"]["documents"], 1500);
    let q = s.post(
        "/v1/namespaces/acme/query",
        &json!({"query": "inflight demand"}),
    );
    assert_eq!(q.status, 200);
    assert!(
        !q.json()["chunks"].as_array().unwrap().is_empty(),
        "indexes reopened with the data"
    );
}

#[test]
fn openapi_describes_exactly_the_routes_of_the_router() {
    let spec: Value = serde_json::from_str(chronorag::api::OPENAPI).unwrap();
    let documented: BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), p.clone()))
        })
        .collect();
    let routed: BTreeSet<(String, String)> = chronorag::api::operations::routes()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let missing: Vec<_> = routed.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(
        missing.is_empty(),
        "routes missing from schema/openapi.json: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "schema/openapi.json documents routes the router lacks: {extra:?}"
    );
    // Every $ref resolves.
    let text = chronorag::api::OPENAPI;
    for r in text.split("\"$ref\": \"#/components/schemas/").skip(1) {
        let name = r.split('"').next().unwrap();
        assert!(
            spec["components"]["schemas"].get(name).is_some(),
            "dangling $ref {name}"
        );
    }
    // The live server serves the same document and answers every route (never "no route").
    let s = Server::start(&[], None);
    assert_eq!(s.get("/openapi.json").json(), spec);
    for route in chronorag::api::operations::routes() {
        let (m, p) = (&route.method, route.path);
        let path = p
            .replace("{ns}", "probe")
            .replace("{id}", "1")
            .replace("{node}", "2020");
        let body = if *m == "GET" {
            None
        } else {
            Some(("application/json", b"{}".to_vec()))
        };
        // One connection per probe: a probe the server answers without reading its body may
        // have its connection closed, and a pooled reuse of it then fails in the client (seen
        // once as "http request" here).
        let r = s.request_with(m, &path, &[("Connection", "close")], body);
        assert!(
            !(r.status == 404 && r.text.contains("no route")) && r.status != 405,
            "{m} {p} is not routed: {} {}",
            r.status,
            r.text
        );
    }
}

/// The contract's query parameters are the ones each route reads: every documented parameter
/// is accepted by its route, and a parameter the contract does not list is refused by name on
/// every API route, including those that read no query string at all.
#[test]
fn every_route_reads_exactly_its_documented_query_parameters() {
    let spec: Value = serde_json::from_str(chronorag::api::OPENAPI).unwrap();
    let s = Server::start(&[], None);
    let sample = |schema: &Value| -> String {
        let schema = match schema["$ref"].as_str() {
            Some(r) => &spec["components"]["schemas"][r.rsplit('/').next().unwrap()],
            None => schema,
        };
        if let Some(first) = schema["enum"].get(0) {
            return first.as_str().unwrap().to_string();
        }
        match schema["type"].as_str() {
            Some("integer") => "1".into(),
            Some("boolean") => "true".into(),
            _ => "2020".into(),
        }
    };
    let mut documented = 0;
    let mut refused = 0;
    for route in chronorag::api::operations::routes() {
        let (m, p) = (route.method, route.path);
        if !p.starts_with("/v1/") {
            continue;
        }
        let path = p
            .replace("{ns}", "probe")
            .replace("{id}", "1")
            .replace("{tx}", "1")
            .replace("{node}", "2020");
        let body = (m != "GET").then(|| ("application/json", b"{}".to_vec()));
        let ask = |query: &str| {
            s.request_with(
                m,
                &format!("{path}?{query}"),
                &[("Connection", "close")],
                body.clone(),
            )
        };
        let params = spec["paths"][p][m.to_ascii_lowercase()]["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for param in params.iter().filter(|x| x["in"] == "query") {
            let name = param["name"].as_str().unwrap();
            let r = ask(&format!("{name}={}", sample(&param["schema"])));
            assert!(
                !r.text.contains("unknown field"),
                "{m} {p} documents `{name}` but refuses it: {}",
                r.text
            );
            documented += 1;
        }
        // An empty query string ("path?") carries no parameter to refuse.
        let r = ask("");
        assert!(
            !r.message().contains("unknown"),
            "{m} {p} refused an empty query string: {}",
            r.text
        );
        let r = ask("zz_typo=1");
        assert_eq!(
            r.status, 400,
            "{m} {p} ignored an unknown parameter: {}",
            r.text
        );
        assert!(
            r.message().contains("zz_typo"),
            "{m} {p}: the refusal does not name the parameter: {}",
            r.text
        );
        refused += 1;
    }
    assert!(
        documented > 30,
        "only {documented} documented parameters tried"
    );
    assert!(refused > 30, "only {refused} routes tried");
}

#[test]
fn metrics_count_requests_per_route_and_report_sizes() {
    let s = Server::start(&[], None);
    assert_eq!(
        s.post("/v1/namespaces/acme/documents", &docs(3, "m"))
            .status,
        200
    );
    for _ in 0..3 {
        assert_eq!(
            s.post("/v1/namespaces/acme/query", &json!({"query": "revenue"}))
                .status,
            200
        );
    }
    assert_eq!(
        s.post("/v1/namespaces/beta/documents", &docs(2, "b"))
            .status,
        200
    );
    let _ = s.get("/v1/namespaces/nope/facts");
    let m = s.get("/metrics");
    assert_eq!(m.status, 200);
    let t = m.text;
    assert!(t.contains("chronorag_http_requests_total{route=\"/v1/namespaces/{ns}/query\",method=\"POST\",status=\"200\"} 3"), "{t}");
    assert!(t.contains("status=\"404\""));
    assert!(t.contains("chronorag_http_request_duration_seconds_bucket{route=\"/v1/namespaces/{ns}/query\",method=\"POST\",le=\"+Inf\"} 3"));
    assert!(t.contains("chronorag_ingested_documents_total 5"), "{t}");
    assert!(t.contains("chronorag_records{namespace=\"acme\",kind=\"documents\"} 3"));
    assert!(t.contains("chronorag_index_size{namespace=\"acme\",kind=\"fact_vectors\"}"));
    assert!(t.contains("chronorag_store_bytes "));
    assert!(t.contains("chronorag_records{namespace=\"beta\",kind=\"documents\"} 2"));
    // Every metric family is contiguous (the exposition format requires it): once a family's
    // samples end, its name never comes back.
    let mut done: Vec<&str> = Vec::new();
    let mut current = "";
    for line in t.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let name = line.split(['{', ' ']).next().unwrap();
        let family = name
            .trim_end_matches("_bucket")
            .trim_end_matches("_sum")
            .trim_end_matches("_count");
        if family != current {
            assert!(!done.contains(&family), "family {family} is split:\n{t}");
            if !current.is_empty() {
                done.push(current);
            }
            current = family;
        }
    }
}

/// Issue 13: every list route pages one way — `limit` and `cursor` in, `next_cursor` out (a
/// string, null on the last page) — and following the cursors gives exactly the whole list.
#[test]
fn every_list_route_pages_with_limit_cursor_and_next_cursor() {
    let s = Server::start(&[], None);
    for i in 0..5 {
        let r = s.post("/v1/namespaces/p/documents", &docs(3, &format!("b{i}")));
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let acme = s.get("/v1/namespaces/p/entities/Acme%20Corp").json()["id"]
        .as_u64()
        .unwrap();
    let routes = [
        ("/v1/namespaces/p/documents", "documents"),
        ("/v1/namespaces/p/entities", "entities"),
        ("/v1/namespaces/p/facts", "facts"),
        (
            &*format!("/v1/namespaces/p/entities/{acme}/timeline"),
            "facts",
        ),
        ("/v1/namespaces/p/transactions", "transactions"),
        ("/v1/namespaces/p/audit", "entries"),
    ]
    .map(|(p, k)| (p.to_string(), k));
    for (path, key) in &routes {
        let whole = s.get(&format!("{path}?limit=1000")).json();
        assert!(whole["next_cursor"].is_null(), "{path}: {whole}");
        let all = whole[key].as_array().unwrap().clone();
        assert!(all.len() >= 3, "{path}: only {} items", all.len());
        let mut paged = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let url = match &cursor {
                None => format!("{path}?limit=2"),
                Some(c) => format!("{path}?limit=2&cursor={c}"),
            };
            let page = s.get(&url).json();
            paged.extend(page[key].as_array().unwrap().iter().cloned());
            match &page["next_cursor"] {
                Value::Null => break,
                Value::String(c) => cursor = Some(c.clone()),
                other => panic!("{path}: next_cursor is {other}"),
            }
        }
        assert_eq!(paged, all, "{path}: the pages do not add up to the list");
        let r = s.get(&format!("{path}?cursor=zzz"));
        assert_eq!(r.status, 400, "{path}: {}", r.text);
        assert!(r.text.contains("cursor"), "{path}: {}", r.text);
    }
    // The old paging parameters are refused by name, not ignored.
    for (path, old) in [
        ("/v1/namespaces/p/documents", "after"),
        ("/v1/namespaces/p/entities", "after"),
        ("/v1/namespaces/p/transactions", "before"),
        ("/v1/namespaces/p/audit", "from"),
    ] {
        let r = s.get(&format!("{path}?{old}=1"));
        assert_eq!(r.status, 400, "{path}?{old}: {}", r.text);
        assert!(r.text.contains(old), "{}", r.text);
    }
}

#[test]
fn a_load_over_http_leaves_its_text_in_few_segments() {
    // Every write commits a text segment; once writes settle, the server merges them, so that
    // searches look each term up in one segment instead of one per batch.
    let s = Server::start(&[], None);
    for b in 0..6 {
        let r = s.post("/v1/namespaces/acme/documents", &docs(4, &format!("b{b}")));
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let meta = s
        .data
        .join("index")
        .join("acme")
        .join("text")
        .join("meta.json");
    let segments = || -> usize {
        let m: Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
        m["segments"].as_array().unwrap().len()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while segments() > 1 {
        assert!(
            Instant::now() < deadline,
            "still {} segments a minute after the last write",
            segments()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Everything is still found.
    let r = s.post(
        "/v1/namespaces/acme/query",
        &json!({"query": "b5 demand", "budget_chars": 4000}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["context"].as_str().unwrap().contains("b5 demand"));
}
