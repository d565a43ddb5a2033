//! `chronorag mcp` driven as an MCP client drives it: the binary as a subprocess, JSON-RPC
//! messages one per line over stdio — initialize, the initialized notification, tools/list,
//! tools/call — against a real store.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

use crate::support::{bin, engine_at, ingest_text, tmp};

struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next: u64,
}

impl Client {
    fn start(data: &std::path::Path, extra: &[&str]) -> Client {
        let mut child = Command::new(bin())
            .arg("--data")
            .arg(data)
            .arg("mcp")
            .args(extra)
            .env_remove("CHRONORAG_DATA")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut c = Client {
            child,
            stdin,
            stdout,
            next: 0,
        };
        let init = c.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "1"}}),
        );
        assert_eq!(init["result"]["protocolVersion"], "2025-06-18", "{init}");
        assert_eq!(init["result"]["serverInfo"]["name"], "chronorag");
        assert!(init["result"]["capabilities"]["tools"].is_object());
        c.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        c
    }

    fn send(&mut self, v: &Value) {
        self.send_raw(&v.to_string());
    }

    fn send_raw(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn read(&mut self) -> Value {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "the server closed stdout");
        serde_json::from_str(&line).unwrap()
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let r = self.read();
        assert_eq!(r["id"], id, "{r}");
        assert_eq!(r["jsonrpc"], "2.0");
        r
    }

    /// Calls a tool; returns (is_error, text, structured content).
    fn call(&mut self, name: &str, args: Value) -> (bool, String, Value) {
        let r = self.request("tools/call", json!({"name": name, "arguments": args}));
        let res = &r["result"];
        assert!(res.is_object(), "{r}");
        (
            res["isError"].as_bool().unwrap(),
            res["content"][0]["text"].as_str().unwrap().to_string(),
            res["structuredContent"].clone(),
        )
    }

    fn tool_names(&mut self) -> Vec<String> {
        let r = self.request("tools/list", json!({}));
        r["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                assert!(t["inputSchema"]["type"] == "object", "{t}");
                t["name"].as_str().unwrap().to_string()
            })
            .collect()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_agent_reads_the_memory_over_stdio() {
    let dir = tmp();
    {
        let e = engine_at(dir.path());
        ingest_text(
            &e,
            "default",
            "acme-q3",
            "In Q3 2023, Acme Corp reported revenue of $4.2 billion.",
            "2023-10-20",
        );
        ingest_text(
            &e,
            "default",
            "acme-q4",
            "In Q4 2023, Acme Corp reported revenue of $4.9 billion.",
            "2024-01-25",
        );
        e.summarize("default").unwrap();
        e.flush().unwrap();
    }
    let mut c = Client::start(dir.path(), &[]);
    let names = c.tool_names();
    for t in ["query", "timeline", "entity_facts", "history", "diff"] {
        assert!(names.contains(&t.to_string()), "{names:?}");
    }
    assert!(
        !names.contains(&"ingest".to_string()),
        "writes are off by default"
    );

    let (err, text, full) = c.call(
        "query",
        json!({"query": "What revenue did Acme report in Q3 2023?", "budget_chars": 2000}),
    );
    assert!(!err, "{text}");
    assert!(
        text.contains("$4.2 billion") && !text.contains("$4.9 billion"),
        "{text}"
    );
    assert_eq!(full["plan"]["time_scope"]["hard"], true, "{full}");
    // As of the first transaction, the Q4 report is not there yet.
    let (_, text, _) = c.call(
        "query",
        json!({"query": "What revenue did Acme report?", "as_of_tx": 1}),
    );
    assert!(
        text.contains("$4.2 billion") && !text.contains("$4.9"),
        "{text}"
    );

    let (err, text, _) = c.call("timeline", json!({"node": "2023"}));
    assert!(!err && text.contains("2023-Q3"), "{text}");
    let (err, _, facts) = c.call("entity_facts", json!({"entity": "Acme Corp"}));
    assert!(!err);
    assert_eq!(facts["facts"].as_array().unwrap().len(), 2, "{facts}");
    let (_, _, history) = c.call("history", json!({}));
    assert_eq!(history["transactions"].as_array().unwrap().len(), 2);
    let (err, text, _) = c.call("diff", json!({"from": 1, "to": 2}));
    assert!(!err && text.contains("4.9 billion"), "{text}");

    // A bad call is a tool error the model can read; writes are refused with the flag to use.
    let (err, text, _) = c.call("query", json!({"qeury": "typo"}));
    assert!(err && text.contains("qeury"), "{text}");
    let (err, text, _) = c.call("query", json!({"query": "x", "namespace": "nope"}));
    assert!(err && text.contains("not_found"), "{text}");
    let r = c.request(
        "tools/call",
        json!({"name": "ingest", "arguments": {"documents": [{"text": "x"}]}}),
    );
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--allow-writes")
    );

    // Protocol errors: unknown method, unparsable line; a notification gets no answer.
    let r = c.request("resources/list", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    // A line that is not JSON gets no answer (the SDK skips it) and does not end the session:
    // the next answer is the next request's.
    c.send_raw("{not json");
    let r = c.request("ping", json!({}));
    assert_eq!(r["result"], json!({}), "{r}");
    c.send(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}),
    );
    let r = c.request("ping", json!({}));
    assert_eq!(r["result"], json!({}));
}

#[test]
fn with_writes_allowed_an_agent_ingests_and_rolls_back() {
    let dir = tmp();
    let mut c = Client::start(dir.path(), &["--allow-writes", "-n", "notes"]);
    let names = c.tool_names();
    assert!(names.contains(&"ingest".to_string()) && names.contains(&"rollback".to_string()));
    let url = "https://news.example/acme?id=7#top";
    let (err, text, report) = c.call(
        "ingest",
        json!({"documents": [
            {"id": url, "text": "On 2024-03-04, Acme Corp opened a plant in Porto.", "time": "2024-03-04"}
        ]}),
    );
    assert!(!err, "{text}");
    assert_eq!(report["document_ids"][0], url);
    c.call(
        "ingest",
        json!({"documents": [
            {"text": "On 2024-05-02, Acme Corp closed its plant in Porto.", "time": "2024-05-02"}
        ]}),
    );
    let (_, text, _) = c.call(
        "query",
        json!({"query": "What happened to Acme's plant in Porto?"}),
    );
    assert!(text.contains("closed") && text.contains(url), "{text}");
    let (err, text, _) = c.call(
        "rollback",
        json!({"to": 1, "reason": "the closure was a rumour"}),
    );
    assert!(!err, "{text}");
    let (_, text, _) = c.call(
        "query",
        json!({"query": "What happened to Acme's plant in Porto?"}),
    );
    assert!(
        text.contains("opened") && !text.contains("closed"),
        "{text}"
    );
    let (err, text, _) = c.call("rollback", json!({"to": 1}));
    assert!(err && text.contains("reason"), "{text}");
}

/// The same server over MCP's streamable HTTP transport (`POST /mcp` on `chronorag serve`),
/// with every tool call checked against the caller's key.
#[test]
fn mcp_over_http_checks_every_tool_call_against_the_key() {
    use crate::support::Server;
    let dir = tmp();
    let (file, reader, writer, admin) = crate::http::keys_file(dir.path());
    let mut s = Server::start(&["--auth", file.to_str().unwrap()], None);
    // What an MCP client sends with every message of the streamable HTTP transport.
    const ACCEPT: (&str, &str) = ("Accept", "application/json, text/event-stream");
    let post = |s: &Server, msg: &Value, version: Option<&str>| {
        let mut headers = vec![ACCEPT];
        if let Some(v) = version {
            headers.push(("MCP-Protocol-Version", v));
        }
        s.request_with(
            "POST",
            "/mcp?namespace=acme",
            &headers,
            Some(("application/json", msg.to_string().into_bytes())),
        )
    };
    let rpc = |s: &Server, id: u64, method: &str, params: Value| {
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let version = (method != "initialize").then_some("2025-06-18");
        let r = post(s, &msg, version);
        assert_eq!(r.status, 200, "{method}: {}", r.text);
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/json"),
            "{method}"
        );
        r.json()
    };
    // No key: refused before any JSON-RPC.
    assert_eq!(s.post("/mcp", &json!({})).status, 401);

    s.key = Some(writer.clone());
    let init = rpc(
        &s,
        1,
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
    );
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
    let note = post(
        &s,
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        Some("2025-06-18"),
    );
    assert_eq!((note.status, note.text.as_str()), (202, ""));
    // A client that does not accept both answer forms is refused, in this API's error shape.
    let r = s.post(
        "/mcp?namespace=acme",
        &json!({"jsonrpc": "2.0", "id": 99, "method": "ping"}),
    );
    assert_eq!(r.status, 406, "{}", r.text);
    assert_eq!(r.json()["error"]["code"], "not_acceptable", "{}", r.text);
    let names = |v: &Value| -> Vec<String> {
        v["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    // The writer (write on acme only) is offered ingest, and may use it on acme only.
    assert!(names(&rpc(&s, 2, "tools/list", json!({}))).contains(&"ingest".to_string()));
    let doc = json!({"documents": [{"id": "q3", "time": "2023-Q3",
        "text": "In Q3 2023, Acme Corp reported revenue of $4.4 billion."}]});
    let r = rpc(
        &s,
        3,
        "tools/call",
        json!({"name": "ingest", "arguments": doc}),
    );
    assert_eq!(r["result"]["isError"], false, "{r}");
    let mut elsewhere = doc.clone();
    elsewhere["namespace"] = json!("other");
    let r = rpc(
        &s,
        4,
        "tools/call",
        json!({"name": "ingest", "arguments": elsewhere}),
    );
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(
        r["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("forbidden")
    );
    let r = rpc(
        &s,
        5,
        "tools/call",
        json!({"name": "rollback", "arguments": {"to": 0, "reason": "x"}}),
    );
    assert_eq!(r["result"]["isError"], true, "rollback needs admin: {r}");
    assert!(
        r["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("forbidden"),
        "{r}"
    );

    // The reader asks; ingest is neither offered nor allowed.
    s.key = Some(reader);
    assert!(!names(&rpc(&s, 6, "tools/list", json!({}))).contains(&"ingest".to_string()));
    let r = rpc(
        &s,
        7,
        "tools/call",
        json!({"name": "query", "arguments": {"query": "What revenue did Acme Corp report in Q3 2023?"}}),
    );
    assert_eq!(r["result"]["isError"], false, "{r}");
    assert!(
        r["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("$4.4 billion")
    );
    let r = rpc(
        &s,
        8,
        "tools/call",
        json!({"name": "ingest", "arguments": doc}),
    );
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("write role on namespace \"acme\""),
        "{r}"
    );

    // The admin may roll back.
    s.key = Some(admin);
    let r = rpc(
        &s,
        9,
        "tools/call",
        json!({"name": "rollback", "arguments": {"to": 0, "reason": "test"}}),
    );
    assert_eq!(r["result"]["isError"], false, "{r}");
    // A body that is not JSON is a JSON-RPC parse error with 400.
    let r = s.request_with(
        "POST",
        "/mcp",
        &[ACCEPT],
        Some(("application/json", b"{not json".to_vec())),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], -32700);
    // JSON that is not a JSON-RPC message is an invalid request, with its id echoed.
    let raw = |body: &[u8]| {
        s.request_with(
            "POST",
            "/mcp",
            &[ACCEPT, ("MCP-Protocol-Version", "2025-06-18")],
            Some(("application/json", body.to_vec())),
        )
    };
    let r = raw(br#"{"jsonrpc": "2.0", "id": 41, "params": {}}"#);
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"]["code"], -32600, "{}", r.text);
    assert_eq!(r.json()["id"], 41, "{}", r.text);
    // A request the SDK cannot read as the method it names is a JSON-RPC error, not a crash.
    let r = raw(
        br#"{"jsonrpc": "2.0", "id": 42, "method": "tools/call", "params": {"arguments": "x"}}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["id"], 42, "{}", r.text);
    assert!(
        r.json()["error"]["code"].as_i64().unwrap() < 0,
        "{}",
        r.text
    );
}

/// An MCP ping to `s` with this `Host` header.
fn ping_as_host(s: &crate::support::Server, host: &str) -> crate::support::Resp {
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    s.request_with(
        "POST",
        "/mcp",
        &[
            ("Accept", "application/json, text/event-stream"),
            ("Host", host),
        ],
        Some(("application/json", ping.into_bytes())),
    )
}

/// Without API keys, a server on a loopback address answers MCP only to loopback `Host`
/// names: a web page that rebinds its own domain to 127.0.0.1 cannot drive the tools.
#[test]
fn mcp_without_keys_refuses_a_foreign_host() {
    use crate::support::Server;
    let s = Server::start(&[], None);
    let send = |host: &str| ping_as_host(&s, host);
    let r = send("attacker.example");
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.json()["error"]["code"], "forbidden", "{}", r.text);
    let r = send("localhost");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["result"], json!({}), "{}", r.text);

    // A name added in the settings (a reverse proxy's) is accepted; others still are not.
    let s = Server::start(
        &[],
        Some("[server]\nmcp_allowed_hosts = [\"proxy.example\"]\n"),
    );
    let send = |host: &str| ping_as_host(&s, host);
    assert_eq!(send("proxy.example").status, 200);
    assert_eq!(send("attacker.example").status, 403);
}
