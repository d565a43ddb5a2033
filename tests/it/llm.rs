//! The LLM-backed parts against the fake OpenAI-compatible server (`fake_openai`): the chat
//! client's errors, the LLM extractor (good replies, the one retry, the fallback to the rules,
//! timeouts, the concurrency limit, a dead endpoint) and the OpenAI embedder.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chronorag::Engine;
use chronorag::config::Config;
use chronorag::embed::Embedder;
use chronorag::embed::openai::{OpenAiEmbedConfig, OpenAiEmbedder};
use chronorag::ingest::extract::llm::LlmExtractor;
use chronorag::ingest::extract::{DocContext, ExtractedObject, Extraction, Extractor};
use chronorag::ingest::{DocumentInput, IngestOptions, input};
use chronorag::llm::{ChatMessage, LlmClient, LlmConfig, parse_json_reply};
use chronorag::model::EntityKind;
use chronorag::time::TimeKey;
use chronorag::{Error, Result};
use serde_json::Value;

use crate::fake_openai::{CHAT, FakeOpenAi, Reply, Route, fake_embedding};

/// The text of the chunk the recorded replies describe; `marker` routes it on the fake server.
fn crocs_chunk(marker: &str) -> String {
    format!(
        "{marker} Crocs, Inc. (NASDAQ: CROX) reported revenue of $1.06 billion for the third \
         quarter of 2024, up 1.6% from the third quarter of 2023. HEYDUDE brand revenue fell 17.4% \
         compared with last quarter. Chief Executive Officer Andrew Rees said the company opened \
         its Asia Pacific distribution centre on 15 July 2024."
    )
}

fn crocs_doc() -> DocContext {
    DocContext {
        title: Some("Crocs Q3 2024 results".into()),
        time: Some(TimeKey::parse("2024-Q3").unwrap()),
    }
}

fn config(server: &FakeOpenAi) -> LlmConfig {
    LlmConfig {
        base_url: server.url(),
        model: "fake-model".into(),
        api_key: Some("test-key".into()),
        timeout_secs: 10,
        concurrency: 2,
        ..LlmConfig::default()
    }
}

fn extractor(cfg: LlmConfig) -> LlmExtractor {
    LlmExtractor::new(Arc::new(LlmClient::new(cfg).unwrap()))
}

fn extract_one(ex: &LlmExtractor, chunk: &str) -> Extraction {
    ex.extract(&crocs_doc(), &[chunk]).unwrap().remove(0)
}

/// (subject, time key, inherited) of each fact.
fn times(ex: &Extraction) -> Vec<(String, String, bool)> {
    ex.facts
        .iter()
        .map(|f| {
            let key = f.time_key.map(|k| k.to_string()).unwrap_or_default();
            (f.subject.clone(), key, f.time_inherited)
        })
        .collect()
}

/// The `content` of a chat completion fixture.
fn fixture_content(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/llm/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["body"]["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_good_reply_becomes_entities_and_facts_with_normalised_times() {
    let server = FakeOpenAi::start(vec![
        Route::chat(Reply::fixture("chat_good")).when("[good]"),
    ]);
    let ex = extract_one(&extractor(config(&server)), &crocs_chunk("[good]"));

    assert!(!ex.fell_back);
    assert_eq!(
        times(&ex),
        vec![
            ("Crocs, Inc.".into(), "2024-Q3".into(), false), // "Q3 2024"
            ("HEYDUDE".into(), "2024-Q2".into(), false),     // "last quarter" of a 2024-Q3 document
            ("Andrew Rees".into(), "2024-Q3".into(), true),  // "unknown": the document's time
            ("Crocs Brand".into(), "2024-07-15".into(), false),
        ]
    );
    let inherited = &ex.facts[2];
    assert!(inherited.confidence < ex.facts[0].confidence);
    assert_eq!(
        ex.facts[0].object,
        ExtractedObject::Literal("$1.06 billion".into())
    );
    assert_eq!(
        ex.facts[2].object,
        ExtractedObject::Entity("Crocs, Inc.".into())
    );

    let crocs = ex
        .entities
        .iter()
        .find(|e| e.name == "Crocs, Inc.")
        .unwrap();
    assert_eq!(crocs.kind, EntityKind::Organization);
    assert_eq!(crocs.aliases, vec!["CROX", "Crocs"]);
    let kind = |n: &str| ex.entities.iter().find(|e| e.name == n).map(|e| e.kind);
    assert_eq!(kind("HEYDUDE"), Some(EntityKind::Product));
    assert_eq!(kind("Asia Pacific"), Some(EntityKind::Place));
    // A relation's source that the reply did not list is added.
    assert_eq!(kind("Crocs Brand"), Some(EntityKind::Other));

    // What was sent: the OpenAI request shape, bearer auth, the document in the prompt.
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let body = reqs[0].json();
    assert_eq!(reqs[0].path, CHAT);
    assert_eq!(reqs[0].authorization.as_deref(), Some("Bearer test-key"));
    assert_eq!(body["model"], "fake-model");
    assert_eq!(body["response_format"]["type"], "json_object");
    assert_eq!(body["temperature"], 0.0);
    let msgs = reqs[0].messages();
    assert_eq!(body["messages"][0]["role"], "system");
    assert!(msgs[0].contains("\"timestamp\"") && msgs[0].contains("unknown"));
    assert!(msgs[1].contains("Document title: Crocs Q3 2024 results"));
    assert!(msgs[1].contains("Document time: 2024-Q3"));
    assert!(msgs[1].contains("reported revenue of $1.06 billion"));
}

#[test]
fn fenced_replies_and_json_mode_off() {
    let server = FakeOpenAi::start(vec![Route::chat(Reply::fixture("chat_good_fenced"))]);
    let cfg = LlmConfig {
        json_mode: false,
        api_key: None,
        api_key_env: None,
        ..config(&server)
    };
    let client = LlmClient::new(cfg.clone()).unwrap();
    let v: Value = client.chat_json(&[ChatMessage::user("hi")]).unwrap();
    assert_eq!(v["relations"].as_array().map(Vec::len), Some(4));
    let ex = extract_one(&extractor(cfg), "anything");
    assert!(!ex.fell_back);
    assert_eq!(ex.facts.len(), 4);
    for r in server.requests() {
        assert!(r.json().get("response_format").is_none());
        assert_eq!(r.authorization, None);
    }
}

#[test]
fn a_malformed_reply_is_retried_once_with_the_error() {
    let server = FakeOpenAi::start(vec![
        Route::chat(Reply::fixture("chat_malformed"))
            .then(Reply::fixture("chat_good"))
            .when("[retry]"),
    ]);
    let ex = extract_one(&extractor(config(&server)), &crocs_chunk("[retry]"));

    assert!(!ex.fell_back);
    assert_eq!(ex.facts.len(), 4);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    // The retry carries the model's own reply and what was wrong with it.
    let malformed = fixture_content("chat_malformed");
    let error = parse_json_reply::<Value>(&malformed).unwrap_err();
    assert!(error.contains("EOF while parsing"), "{error}");
    let msgs = reqs[1].messages();
    assert_eq!(msgs.len(), 4);
    assert_eq!(reqs[1].json()["messages"][2]["role"], "assistant");
    assert_eq!(msgs[2], malformed);
    assert!(msgs[3].contains(&error), "{}", msgs[3]);
    assert_eq!(msgs[..2], reqs[0].messages()[..]);
}

#[test]
fn a_reply_that_stays_invalid_falls_back_to_the_rules() {
    let server = FakeOpenAi::start(vec![Route::chat(Reply::fixture("chat_invalid"))]);
    let ex = extract_one(&extractor(config(&server)), &crocs_chunk("[invalid]"));

    assert!(ex.fell_back);
    assert_eq!(server.calls(), 2, "one try and exactly one retry");
    // The rules still found the revenue fact in the chunk.
    let keys: Vec<String> = ex
        .facts
        .iter()
        .filter_map(|f| f.time_key)
        .map(|k| k.to_string())
        .collect();
    assert!(keys.contains(&"2024-Q3".to_string()), "{keys:?}");
    assert!(
        ex.facts
            .iter()
            .any(|f| f.object == ExtractedObject::Literal("$1.06 billion".into())),
        "{:?}",
        ex.facts
    );
    let retry = server.requests()[1].messages();
    assert!(
        retry[3].contains("entities[1].name is empty"),
        "{}",
        retry[3]
    );
}

#[test]
fn a_slow_reply_times_out_and_falls_back_without_hanging() {
    // The recorded reply comes after 8 s; the client gives up after 1 s.
    let server = FakeOpenAi::start(vec![Route::chat(Reply::fixture("chat_slow"))]);
    let cfg = LlmConfig {
        timeout_secs: 1,
        ..config(&server)
    };
    let client = LlmClient::new(cfg.clone()).unwrap();
    let started = Instant::now();
    let err = client.chat(&[ChatMessage::user("hi")]).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Llm(_)), "{msg}");
    assert!(
        msg.contains("timed out") && msg.contains("timeout_secs = 1s"),
        "{msg}"
    );

    let ex = extract_one(&extractor(cfg), &crocs_chunk("[slow]"));
    assert!(ex.fell_back);
    assert!(!ex.facts.is_empty());
    // Two requests of about 1 s each, far below the 8 s of the reply (generous bound).
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    // A timeout is not retried: the reply was never seen.
    assert_eq!(server.calls(), 2);
}

#[test]
fn chunks_run_concurrently_within_the_limit() {
    let slow_good = Reply::fixture("chat_good").delayed(Duration::from_millis(300));
    let server = FakeOpenAi::start(vec![Route::chat(slow_good)]);
    let cfg = LlmConfig {
        concurrency: 3,
        ..config(&server)
    };
    let chunks: Vec<String> = (0..9)
        .map(|i| crocs_chunk(&format!("[chunk {i}]")))
        .collect();
    let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
    let out = extractor(cfg).extract(&crocs_doc(), &refs).unwrap();

    assert_eq!(out.len(), 9);
    assert!(out.iter().all(|e| !e.fell_back && e.facts.len() == 4));
    assert_eq!(server.calls(), 9);
    let max = server.max_in_flight();
    assert!(max <= 3, "{max} requests in flight, limit 3");
    assert!(
        max >= 2,
        "chunks were not processed concurrently (max in flight {max})"
    );
}

#[test]
fn the_limit_holds_across_documents_ingested_in_parallel() {
    let slow_good = Reply::fixture("chat_good").delayed(Duration::from_millis(150));
    let server = FakeOpenAi::start(vec![
        Route::chat(Reply::fixture("chat_invalid")).when("[bad-"),
        Route::chat(slow_good),
    ]);
    let cfg = LlmConfig {
        concurrency: 2,
        ..config(&server)
    };
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(Config::with_data_dir(dir.path())).unwrap();
    // Four documents of three chunks each: the pipeline extracts documents in parallel on
    // rayon's pool, and each document spreads its chunks over up to two threads, so only the
    // client's own limit keeps the requests in flight at two.
    let docs = (0..4)
        .map(|i| {
            let marker = if i == 3 {
                "[bad-3]".to_string()
            } else {
                format!("[doc-{i}]")
            };
            let text = [crocs_chunk(&marker), crocs_chunk(""), crocs_chunk("")].join("\n\n");
            input::prepare(
                DocumentInput {
                    id: Some(format!("crocs-{i}")),
                    text,
                    time: Some("2024-Q3".into()),
                    title: Some("Crocs Q3 2024 results".into()),
                    ..DocumentInput::default()
                },
                None,
            )
        })
        .collect::<Result<Vec<_>>>()
        .unwrap();
    let opts = IngestOptions {
        chunk_chars: 500,
        ..IngestOptions::default()
    };
    let report = engine
        .ingest_with("default", docs, &opts, &extractor(cfg))
        .unwrap();

    assert_eq!((report.documents, report.chunks), (4, 12), "{report:?}");
    // Only the first chunk of the fourth document carries the marker of the invalid reply.
    assert_eq!(report.fallbacks, 1);
    assert_eq!(server.calls(), 11 + 2);
    assert!(report.facts >= 4, "{report:?}");
    assert!(server.max_in_flight() <= 2, "{}", server.max_in_flight());
}

#[test]
fn a_dead_endpoint_gives_a_clear_error_and_falls_back() {
    // Bind then drop a listener: its port is free and refuses connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = LlmConfig {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        model: "fake-model".into(),
        timeout_secs: 5,
        concurrency: 2,
        ..LlmConfig::default()
    };
    let client = LlmClient::new(cfg.clone()).unwrap();
    let msg = client
        .chat(&[ChatMessage::user("hi")])
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("llm: cannot connect to http://127.0.0.1:"),
        "{msg}"
    );
    assert!(msg.contains("connection refused"), "{msg}");

    let chunks: Vec<String> = (0..6).map(|i| crocs_chunk(&format!("[{i}]"))).collect();
    let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
    let out = extractor(cfg).extract(&crocs_doc(), &refs).unwrap();
    assert!(out.iter().all(|e| e.fell_back && !e.facts.is_empty()));
}

#[test]
fn http_errors_and_odd_bodies_are_reported_with_the_server_message() {
    let server = FakeOpenAi::start(vec![
        Route::chat(Reply::fixture("chat_rate_limited")).when("[429]"),
        Route::chat(Reply::Fixed {
            status: 200,
            body: "<html>gateway</html>".into(),
            delay: Duration::ZERO,
        })
        .when("[html]"),
        Route::chat(Reply::Fixed {
            status: 200,
            body: r#"{"choices": []}"#.into(),
            delay: Duration::ZERO,
        })
        .when("[empty]"),
    ]);
    let client = LlmClient::new(config(&server)).unwrap();
    let ask = |m: &str| {
        client
            .chat(&[ChatMessage::user(m)])
            .unwrap_err()
            .to_string()
    };

    let msg = ask("[429]");
    assert!(
        msg.contains("HTTP 429") && msg.contains("Rate limit reached for gpt-4o-mini"),
        "{msg}"
    );
    let msg = ask("[html]");
    assert!(
        msg.contains("not JSON") && msg.contains("<html>gateway</html>"),
        "{msg}"
    );
    let msg = ask("[empty]");
    assert!(msg.contains("no choices"), "{msg}");
    let msg = ask("[unrouted]");
    assert!(
        msg.contains("HTTP 404") && msg.contains("no fake route"),
        "{msg}"
    );
}

fn embed_config(server: &FakeOpenAi, dims: Option<usize>) -> OpenAiEmbedConfig {
    OpenAiEmbedConfig {
        base_url: server.url(),
        model: "fake-embed".into(),
        dims,
        batch_size: 2,
        ..OpenAiEmbedConfig::default()
    }
}

#[test]
fn embeddings_come_back_normalised_and_in_input_order() {
    let server = FakeOpenAi::start(vec![Route::embeddings(8)]);
    let e = OpenAiEmbedder::new(embed_config(&server, None)).unwrap();
    assert_eq!(server.calls(), 1, "one probe request learns the dimensions");
    assert_eq!(e.dims(), 8);
    assert_eq!(e.id(), "openai-fake-embed-8");

    let texts = ["alpha", "", "gamma", "delta", "epsilon", "zeta"];
    let got = e.embed(&texts).unwrap();
    // Five texts to send (the empty one is not sent), in batches of two: three more requests.
    assert_eq!(server.calls(), 4);
    assert_eq!(got.len(), 6);
    assert_eq!(got[1], vec![0.0; 8]);
    for (t, v) in texts.iter().zip(&got).filter(|(t, _)| !t.is_empty()) {
        let raw = fake_embedding(t, 8);
        let norm: f32 = raw.iter().map(|x| x * x).sum::<f32>().sqrt();
        let expected: Vec<f32> = raw.iter().map(|x| x / norm).collect();
        let unit: f32 = v.iter().map(|x| x * x).sum();
        assert!((unit - 1.0).abs() < 1e-5, "{t}: |v|² = {unit}");
        assert!(
            v.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-5),
            "{t}: {v:?} vs {expected:?}"
        );
    }
    let last = server.requests().pop().unwrap().json();
    assert_eq!(last["model"], "fake-embed");
    assert_eq!(last["input"], serde_json::json!(["zeta"]));
}

#[test]
fn embedding_dimension_mismatches_and_dead_endpoints_are_clear_errors() {
    let server = FakeOpenAi::start(vec![Route::embeddings(8)]);
    let e = OpenAiEmbedder::new(embed_config(&server, Some(16))).unwrap();
    assert_eq!(server.calls(), 0, "configured dims need no probe");
    let err = e.embed(&["alpha"]).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Embed(_)), "{msg}");
    assert!(
        msg.contains("8-dimensional vectors, but dims = 16"),
        "{msg}"
    );

    drop(server);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = OpenAiEmbedConfig {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        model: "fake-embed".into(),
        ..OpenAiEmbedConfig::default()
    };
    let msg = OpenAiEmbedder::new(cfg).unwrap_err().to_string();
    assert!(
        msg.starts_with("embedder: cannot connect") && msg.contains("connection refused"),
        "{msg}"
    );
}

#[test]
fn a_failing_endpoint_is_not_asked_for_every_chunk() {
    let server = FakeOpenAi::start(vec![Route::chat(Reply::Fixed {
        status: 500,
        body: r#"{"error": {"message": "model crashed"}}"#.into(),
        delay: Duration::ZERO,
    })]);
    let cfg = LlmConfig {
        concurrency: 1,
        ..config(&server)
    };
    let chunks: Vec<String> = (0..8).map(|i| crocs_chunk(&format!("[{i}]"))).collect();
    let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
    let out = extractor(cfg).extract(&crocs_doc(), &refs).unwrap();
    assert!(out.iter().all(|e| e.fell_back));
    // Three failures in a row, then the rest of the document goes straight to the rules.
    assert_eq!(
        server.calls(),
        chronorag::ingest::extract::llm::BREAKER_LIMIT
    );
}

#[test]
fn the_engine_builds_the_llm_extractor_from_its_config() {
    let server = FakeOpenAi::start(vec![Route::chat(Reply::fixture("chat_good"))]);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::with_data_dir(dir.path());
    cfg.extractor = "llm".into();
    let e = Engine::open(cfg.clone()).unwrap_err();
    assert!(
        matches!(&e, Error::Config(m) if m.contains("[llm]") && m.contains("model")),
        "{e}"
    );

    cfg.llm = config(&server);
    let engine = Engine::open(cfg).unwrap();
    assert_eq!(engine.extractor(None).unwrap().name(), "llm");
    let doc = input::prepare(
        DocumentInput {
            text: crocs_chunk(""),
            time: Some("2024-Q3".into()),
            ..DocumentInput::default()
        },
        None,
    )
    .unwrap();
    let report = engine
        .ingest("default", vec![doc], &IngestOptions::default())
        .unwrap();
    assert_eq!((report.facts, report.fallbacks), (4, 0), "{report:?}");
    assert_eq!(server.calls(), 1);
}
