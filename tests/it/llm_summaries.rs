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
