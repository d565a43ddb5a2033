//! The LLM summariser and LLM answers against the fake OpenAI-compatible server.

use chronorag::config::Config;
use chronorag::llm::LlmConfig;
use chronorag::query::QueryRequest;
use chronorag::{Engine, Error};
use serde_json::json;

use crate::fake_openai::{FakeOpenAi, Reply, Route};
use crate::support::tmp;

fn engine(dir: &std::path::Path, server: Option<&FakeOpenAi>, summarizer: &str) -> Engine {
    let mut cfg = Config::with_data_dir(dir);
    cfg.summarizer = summarizer.into();
    if let Some(s) = server {
        cfg.llm = LlmConfig {
            base_url: s.url(),
            model: "fake-model".into(),
            timeout_secs: 10,
            ..LlmConfig::default()
        };
    }
    Engine::open(cfg).unwrap()
}

fn ingest(e: &Engine, id: &str, text: &str, time: &str) {
    crate::support::ingest_text(e, "s", id, text, time);
}

const TEXT: &str = "In Q3 2024, Acme Corp reported revenue of $4.2 billion. Jane Doe, Chief Executive of Acme Corp, said demand was strong in Berlin in Q3 2024.";

#[test]
fn llm_summaries_are_validated_cite_given_facts_and_are_not_recomputed_when_unchanged() {
    let dir = tmp();
    // The reply cites fact 1 (which exists) and fact 999 (which does not: dropped).
    let good = json!({"title": "Q3 2024: Acme's record quarter", "summary": "Acme Corp reported strong revenue.", "findings": [{"text": "Revenue reached $4.2 billion", "facts": [1, 999]}], "rating": 7}).to_string();
    let server = FakeOpenAi::start(vec![Route::chat(Reply::chat(&good))]);
    let e = engine(dir.path(), Some(&server), "llm");
    ingest(&e, "a", TEXT, "2024-Q3");
    let r = e.summarize("s").unwrap();
    assert!(!r.recomputed.is_empty());
    assert_eq!(r.fallbacks, 0);
    let t = e.timeline("s", Some("2024-Q3"), None).unwrap();
    let s = t.summary.unwrap();
    assert_eq!(s.title, "Q3 2024: Acme's record quarter");
    assert_eq!(s.summarizer, "llm:fake-model");
    assert_eq!(s.findings[0].facts, vec![1]);
    assert_eq!(s.rating, Some(7.0));
    let calls = server.calls();
    assert_eq!(
        calls,
        r.recomputed.len(),
        "one LLM call per recomputed node"
    );
    // Nothing changed: no recompute, no LLM call.
    let again = e.summarize("s").unwrap();
    assert!(again.recomputed.is_empty());
    assert_eq!(server.calls(), calls);
    // The prompt carried the node's facts with their ids.
    let prompt = server.requests()[0].messages().join("\n");
    assert!(
        prompt.contains("1: In Q3 2024, Acme Corp reported revenue of $4.2 billion."),
        "{prompt}"
    );
}

#[test]
fn invalid_llm_summaries_are_retried_once_then_fall_back_to_extractive() {
    let dir = tmp();
    let bad = json!({"title": "", "summary": "x"}).to_string();
    let server = FakeOpenAi::start(vec![Route::chat(Reply::chat(&bad))]);
    let e = engine(dir.path(), Some(&server), "llm");
    ingest(&e, "a", TEXT, "2024-Q3");
    let r = e.summarize("s").unwrap();
    assert_eq!(r.fallbacks as usize, r.recomputed.len(), "{r:?}");
    assert_eq!(server.calls(), 2 * r.recomputed.len(), "one retry per node");
    let retry = server.requests()[1].messages().join("\n");
    assert!(
        retry.contains("Your reply was invalid") && retry.contains("title"),
        "{retry}"
    );
    let s = e
        .timeline("s", Some("2024-Q3"), None)
        .unwrap()
        .summary
        .unwrap();
    assert_eq!(s.summarizer, "llm:fake-model");
    assert!(
        s.title.starts_with("Q3 2024"),
        "the extractive summary stands in: {}",
        s.title
    );
}

#[test]
fn answers_come_from_the_llm_when_asked_and_only_then() {
    let dir = tmp();
    let server = FakeOpenAi::start(vec![Route::chat(Reply::chat(
        "Acme reported $4.2 billion [a · 2024-Q3].",
    ))]);
    let e = engine(dir.path(), Some(&server), "extractive");
    ingest(&e, "a", TEXT, "2024-Q3");
    let base = QueryRequest {
        query: "What revenue did Acme report in Q3 2024?".into(),
        ..Default::default()
    };
    let r = e.query("s", &base).unwrap();
    assert!(r.answer.is_none());
    assert_eq!(server.calls(), 0, "no LLM call unless asked");
    let r = e
        .query(
            "s",
            &QueryRequest {
                answer: true,
                ..base.clone()
            },
        )
        .unwrap();
    let a = r.answer.unwrap();
    assert_eq!(a.text, "Acme reported $4.2 billion [a · 2024-Q3].");
    assert_eq!(a.model, "fake-model");
    let req = server.requests()[0].json();
    assert!(
        req.get("response_format").is_none(),
        "answers are free text"
    );
    assert!(
        req["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains(&r.context)
    );
    // Without an LLM configured, asking for an answer is a clear error.
    let dir2 = tmp();
    let plain = engine(dir2.path(), None, "extractive");
    ingest(&plain, "a", TEXT, "2024-Q3");
    let err = plain
        .query(
            "s",
            &QueryRequest {
                answer: true,
                ..base
            },
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Invalid(_)) && err.to_string().contains("needs an LLM"),
        "{err}"
    );
    let dir3 = tmp();
    let mut cfg = Config::with_data_dir(dir3.path());
    cfg.summarizer = "llm".into();
    let err = Engine::open(cfg).unwrap_err();
    assert!(err.to_string().contains("[llm]"), "{err}");
}

/// One server-sent event: its name, its data as JSON, and when it arrived.
#[derive(Debug)]
struct Sse {
    event: String,
    data: serde_json::Value,
    at: std::time::Instant,
}

/// Posts `body` to `path` with `Accept: text/event-stream` and reads the events as they arrive
/// (one raw HTTP/1.1 request; the server closes the stream after the last event).
fn post_sse(base: &str, path: &str, body: &serde_json::Value) -> (String, Vec<Sse>) {
    use std::io::{BufRead, BufReader, Write};
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let body = body.to_string();
    write!(
        conn,
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\naccept: text/event-stream\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut r = BufReader::new(conn);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if line.trim_end().is_empty() {
            break;
        }
        head.push_str(&line);
    }
    // The body is chunked (its length is not known up front): chunk sizes are lines of hex
    // digits, skipped here since events never contain a bare hex line of their own.
    let mut events = Vec::new();
    let (mut name, mut data) = (String::new(), String::new());
    let mut line = String::new();
    while r.read_line(&mut line).unwrap_or(0) > 0 {
        let l = line.trim_end_matches(['\r', '\n']).to_string();
        line.clear();
        if let Some(v) = l.strip_prefix("event:") {
            name = v.trim().to_string();
        } else if let Some(v) = l.strip_prefix("data:") {
            data.push_str(v.trim_start());
        } else if l.is_empty() && !data.is_empty() {
            events.push(Sse {
                event: std::mem::take(&mut name),
                data: serde_json::from_str(&std::mem::take(&mut data)).unwrap(),
                at: std::time::Instant::now(),
            });
        }
    }
    (head, events)
}

/// A fake LLM answering chats with `reply`, and a real server using it that holds [`TEXT`] as
/// document "a" of namespace "s".
fn serve_with_llm(reply: Reply) -> (FakeOpenAi, crate::support::Server) {
    let llm = FakeOpenAi::start(vec![Route::chat(reply)]);
    let config = format!(
        "[llm]\nbase_url = \"{}\"\nmodel = \"fake-model\"\ntimeout_secs = 20\n",
        llm.url()
    );
    let s = crate::support::Server::start(&[], Some(&config));
    let r = s.post(
        "/v1/namespaces/s/documents",
        &json!({"documents": [{"id": "a", "text": TEXT, "time": "2024-Q3"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    (llm, s)
}

#[test]
fn answers_stream_token_by_token_after_a_first_event_with_the_plan_and_citations() {
    use std::time::Duration;
    let gap = Duration::from_millis(300);
    let pieces = ["Acme reported ", "$4.2 billion ", "[a · 2024-Q3]."];
    let (llm, s) = serve_with_llm(Reply::stream(&pieces, gap));
    let ask = json!({"query": "What revenue did Acme report in Q3 2024?", "answer": true});
    // The same question as plain JSON, without an answer (the fake LLM only streams).
    let plain = s
        .post(
            "/v1/namespaces/s/query",
            &json!({"query": "What revenue did Acme report in Q3 2024?"}),
        )
        .json();
    assert!(plain["context"].is_string(), "{plain}");

    let started = std::time::Instant::now();
    let (head, events) = post_sse(&s.url, "/v1/namespaces/s/query", &ask);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names,
        ["context", "token", "token", "token", "answer"],
        "{events:?}"
    );
    // The first event carries the plan and the cited context, the same as the JSON answer's.
    let ctx = &events[0].data;
    assert_eq!(ctx["context"], plain["context"]);
    assert_eq!(ctx["plan"], plain["plan"]);
    assert!(ctx["context"].as_str().unwrap().contains("[a · 2024-Q3]"));
    assert!(ctx.get("answer").is_none_or(|a| a.is_null()));
    // Tokens arrive as the LLM sends them, not all at the end: the first one came at least two
    // gaps before the last one.
    let tokens: Vec<&str> = events[1..4]
        .iter()
        .map(|e| e.data["text"].as_str().unwrap())
        .collect();
    assert_eq!(tokens, pieces);
    assert!(
        events[3].at - events[1].at >= gap * 2 - Duration::from_millis(50),
        "tokens were not streamed: first at {:?}, last at {:?}",
        events[1].at - started,
        events[3].at - started
    );
    assert!(events[0].at <= events[1].at);
    let answer = &events[4].data["answer"];
    assert_eq!(answer["text"], "Acme reported $4.2 billion [a · 2024-Q3].");
    assert_eq!(answer["model"], "fake-model");
    // The LLM was asked to stream, with the same context.
    let req = llm.requests().last().unwrap().json();
    assert_eq!(req["stream"], true);
    assert!(
        req["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains(plain["context"].as_str().unwrap())
    );

    // Without `answer`, the stream is the context event alone.
    let (_, events) = post_sse(
        &s.url,
        "/v1/namespaces/s/query",
        &json!({"query": "What revenue did Acme report in Q3 2024?"}),
    );
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["context"]);

    // Errors before the stream starts are ordinary JSON errors.
    let (head, _) = post_sse(
        &s.url,
        "/v1/namespaces/nope/query",
        &json!({"query": "revenue?", "answer": true}),
    );
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
}

#[test]
fn a_failing_llm_ends_the_stream_with_an_error_event() {
    let (_llm, s) = serve_with_llm(Reply::Fixed {
        status: 500,
        body: r#"{"error": {"message": "model overloaded"}}"#.into(),
        delay: std::time::Duration::ZERO,
    });
    let (_, events) = post_sse(
        &s.url,
        "/v1/namespaces/s/query",
        &json!({"query": "What revenue did Acme report in Q3 2024?", "answer": true}),
    );
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["context", "error"], "{events:?}");
    let err = &events[1].data["error"];
    assert_eq!(err["code"], "llm_error", "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("model overloaded"),
        "{err}"
    );
}
