//! The evaluation harness: retrieval quality and speed on a question set, against a BM25
//! baseline built in the same run.
//!
//! - [`metric`]: evidence recall at a budget (the Time-LongQA metric), with its rules.
//! - [`dataset`]: question files (Time-LongQA JSON, or JSON lines for your own sets).
//! - [`baseline`]: plain BM25 over 1,200-character windows of the same corpus.
//! - [`report`]: aggregation (means, latency percentiles) and the printed table.
//!
//! [`run`] asks every question once per system and scores the context at every budget.
//!
//! **Budget choice (measured).** By default ChronoRAG is queried **once per budget**, because a
//! context assembled for 16k and cut to 4k is not the context assembled for 4k: the engine sizes
//! its key-facts block as a share of the budget and retrieves fewer, better-packed chunks for a
//! smaller budget. On Time-LongQA, querying once at 16k and cutting underestimated recall@4k by
//! 0.05 and recall@8k by 0.016 (recall@16k is the same query either way), while querying per
//! budget made the whole run only about 30% slower (smaller budgets are cheaper to assemble).
//! [`EvalOptions::per_budget`] `= false` (`--single-query`) gives the cheaper cut-based figures.
//! Latency is always that of the query at the largest budget. The baseline's context is a plain
//! concatenation of ranked windows, so for it the cut is exact and it is queried once.

pub mod baseline;
pub mod cache_check;
pub mod dataset;
pub mod metric;
pub mod report;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::Engine;
use crate::ingest::input::{self, ReadItem};
use crate::ingest::{IngestOptions, IngestReport, PreparedDocument, Rejected};
use crate::query::cache::CacheHit;
use crate::query::{Mode, QueryRequest};
use crate::{Error, Result};
use baseline::Bm25Baseline;
use dataset::{Question, QuestionSet};
use metric::Evidence;
pub use report::{EvalReport, Row, Scores};

/// Documents per ingest transaction (as `chronorag ingest` does by default).
pub const INGEST_BATCH: usize = 16;

/// What to evaluate and how.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The namespace queried.
    pub namespace: String,
    /// Budgets in characters, ascending.
    pub budgets: Vec<usize>,
    /// Retrieval mode passed to every query.
    pub mode: Mode,
    /// At most this many questions per file.
    pub limit: Option<usize>,
    /// Query ChronoRAG once per budget (default); when false, once at the largest budget, with
    /// the context cut to each smaller budget.
    pub per_budget: bool,
    /// Also run the BM25 baseline.
    pub baseline: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            namespace: "eval".into(),
            budgets: metric::DEFAULT_BUDGETS.to_vec(),
            mode: Mode::Auto,
            limit: None,
            per_budget: true,
            baseline: true,
        }
    }
}

/// A progress event (for a progress line on stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress<'a> {
    /// What is running (`ingest`, `baseline index`, `chronorag`, `baseline`).
    pub phase: &'a str,
    /// Units done.
    pub done: usize,
    /// Units in all.
    pub total: usize,
}

/// How long ingesting the corpus took.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IngestTiming {
    /// Documents added.
    pub documents: u64,
    /// Bytes of text ingested.
    pub bytes: u64,
    /// Wall-clock seconds (reading, extraction, commit, indexes, final flush).
    pub seconds: f64,
    /// Megabytes (10^6 bytes) per second.
    pub mb_per_s: f64,
    /// Chunks added.
    pub chunks: u64,
    /// Facts added.
    pub facts: u64,
    /// Entities added.
    pub entities: u64,
    /// Inputs rejected, with reasons.
    pub rejected: Vec<Rejected>,
}

/// How long building the baseline index took.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BaselineBuild {
    /// Documents indexed.
    pub documents: usize,
    /// Windows indexed.
    pub chunks: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// What was indexed.
    pub source: BaselineSource,
}

/// What the BM25 baseline is built from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineSource {
    /// The `--corpus` inputs as given.
    #[default]
    CorpusFiles,
    /// The namespace's texts after ingest's repairs, which BM25 also scores better on
    /// (Time-LongQA 0.599 / 0.713 / 0.813 against 0.570 / 0.699 / 0.810 from the files).
    StoredDocuments,
}

impl std::fmt::Display for BaselineSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::CorpusFiles => "corpus files",
            Self::StoredDocuments => "stored documents",
        })
    }
}

/// One question's result for one system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Recall at each budget (same order as the budgets); for a multiple-choice question, 1
    /// when the right choice is in the context, else 0.
    pub recall: Vec<f64>,
    /// Multiple choice only: 1 when the right choice occurs before every wrong one that occurs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_right: Option<Vec<f64>>,
    /// Latency of the query at the largest budget (milliseconds).
    pub ms: f64,
    /// The error, when the query failed (its recall is then 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A fingerprint of each context asked (FNV-1a, 64 bits, hex; same order as the queries
    /// asked): two runs answered the same when their fingerprints are equal.
    pub contexts: Vec<String>,
}

/// FNV-1a (64 bits) of a context, as hex.
fn fingerprint(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// One question's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionResult {
    /// The question file.
    pub file: String,
    /// The group label.
    pub group: String,
    /// The question id in its file.
    pub id: String,
    /// The question.
    pub question: String,
    /// ChronoRAG's result.
    pub chronorag: Outcome,
    /// The baseline's result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Outcome>,
}

/// A temporary folder removed on drop (for the baseline index).
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// Creates a fresh folder under the system temporary folder.
    pub fn new(prefix: &str) -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let p = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p)?;
        Ok(ScratchDir(p))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Reads a corpus (files and folders of `.txt`, `.md`, `.jsonl`) into prepared documents, as
/// `chronorag ingest` does; unreadable inputs are returned as rejections.
pub fn read_corpus(paths: &[PathBuf]) -> Result<(Vec<PreparedDocument>, Vec<Rejected>)> {
    let (files, mut rejected) = input::list_files(paths)?;
    let mut docs = Vec::new();
    for f in &files {
        input::read_file(&f.path, Some(&f.id), &mut |it| {
            match it {
                ReadItem::Document { doc, .. } => docs.push(*doc),
                ReadItem::Rejected(r) => rejected.push(r),
            }
            input::Flow::Continue(())
        });
    }
    if docs.is_empty() {
        return Err(Error::invalid(format!(
            "no documents to ingest in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok((docs, rejected))
}

/// Ingests documents through [`Engine::ingest`] in batches of [`INGEST_BATCH`], durable, and
/// times it (including the final flush).
pub fn ingest_timed(
    engine: &Engine,
    namespace: &str,
    docs: Vec<PreparedDocument>,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<IngestTiming> {
    let total: usize = docs.iter().map(|d| d.text_as_sent().len()).sum();
    let opts = IngestOptions {
        actor: "eval".into(),
        reason: Some("chronorag eval".into()),
        ..IngestOptions::default()
    };
    let started = Instant::now();
    let mut report = IngestReport::default();
    let mut done = 0;
    let mut docs = docs;
    while !docs.is_empty() {
        let rest = docs.split_off(docs.len().min(INGEST_BATCH));
        let batch = std::mem::replace(&mut docs, rest);
        done += batch.iter().map(|d| d.text_as_sent().len()).sum::<usize>();
        report.absorb(engine.ingest(namespace, batch, &opts)?);
        progress(Progress {
            phase: "ingest (bytes)",
            done,
            total,
        });
    }
    engine.flush()?;
    let seconds = started.elapsed().as_secs_f64();
    // The text as sent, as the HTTP path counts it.
    let bytes = done as u64;
    Ok(IngestTiming {
        documents: report.documents,
        bytes,
        seconds,
        mb_per_s: bytes as f64 / 1e6 / seconds.max(1e-9),
        chunks: report.chunks,
        facts: report.facts,
        entities: report.entities,
        rejected: report.rejected,
    })
}

/// The texts of a namespace's documents, rebuilt from their chunks (for a baseline when the
/// raw corpus is not at hand). These are the texts as stored, after ingest's repair of PDF
/// ligatures and inline LaTeX; with `--corpus` the baseline reads the documents as sent.
pub fn stored_texts(engine: &Engine, namespace: &str) -> Result<Vec<String>> {
    let ns = engine.namespace(namespace)?;
    let store = ns.store();
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = store.documents(after, 256, None)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for d in &page {
            let mut text = String::with_capacity(d.text_len);
            for c in &d.chunks {
                if let Some(c) = store.chunk(*c)? {
                    if !text.is_empty() {
                        text.push_str("\n\n");
                    }
                    text.push_str(&c.text);
                }
            }
            out.push(text);
        }
    }
    Ok(out)
}

/// Builds the baseline index over `texts` in `dir`, timed.
pub fn build_baseline(
    dir: &Path,
    texts: &[String],
    source: BaselineSource,
) -> Result<(Bm25Baseline, BaselineBuild)> {
    let started = Instant::now();
    let b = Bm25Baseline::build(dir, texts.iter().map(String::as_str))?;
    let timing = BaselineBuild {
        documents: texts.len(),
        chunks: b.len(),
        seconds: started.elapsed().as_secs_f64(),
        source,
    };
    Ok((b, timing))
}

/// Recall per budget, and for multiple choice the first-right score per budget. One context
/// cut to every budget, or one context per budget.
fn score(
    q: &Question,
    evidence: &[Evidence],
    budgets: &[usize],
    contexts: &[String],
) -> (Vec<f64>, Option<Vec<f64>>) {
    let ctx = |i: usize| contexts.get(i).unwrap_or(&contexts[0]);
    if let Some(c) = &q.choices {
        let (right, first): (Vec<f64>, Vec<f64>) = budgets
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                let (r, f) = metric::choice_at(ctx(i), b, &c.options, c.right);
                (f64::from(u8::from(r)), f64::from(u8::from(f)))
            })
            .unzip();
        return (right, Some(first));
    }
    let recall = budgets
        .iter()
        .enumerate()
        .map(|(i, &b)| metric::recall(evidence, &metric::Context::new(ctx(i), b), q.paraphrased))
        .collect();
    (recall, None)
}

fn timed(f: impl FnOnce() -> Result<String>) -> (Result<String>, f64) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed().as_secs_f64() * 1000.0)
}

fn outcome(
    q: &Question,
    evidence: &[Evidence],
    budgets: &[usize],
    mut run: impl FnMut(usize) -> Result<String>,
    per_budget: bool,
) -> Outcome {
    let largest = *budgets.last().expect("at least one budget");
    let mut contexts = Vec::new();
    let mut ms = 0.0;
    let mut error = None;
    let asked: Vec<usize> = if per_budget {
        budgets.to_vec()
    } else {
        vec![largest]
    };
    for b in asked {
        let (r, t) = timed(|| run(b));
        if b == largest {
            ms = t;
        }
        match r {
            Ok(c) => contexts.push(c),
            Err(e) => {
                error = Some(e.to_string());
                contexts.push(String::new());
            }
        }
    }
    let (recall, first_right) = if error.is_some() {
        (
            vec![0.0; budgets.len()],
            q.choices.as_ref().map(|_| vec![0.0; budgets.len()]),
        )
    } else {
        score(q, evidence, budgets, &contexts)
    };
    Outcome {
        recall,
        first_right,
        ms,
        error,
        contexts: contexts.iter().map(|c| fingerprint(c)).collect(),
    }
}

/// What the questions are asked of: the engine in this process, or a running `chronorag serve`
/// over HTTP. Both answer with the same engine code; [`HttpTarget`] measures the path RAG
/// applications call, with its defaults.
pub trait Target {
    /// Fails early (not once per question) when the namespace is missing.
    fn check(&self, namespace: &str) -> Result<()>;
    /// The context for one request, and how the cache answered it (if it did).
    fn answer(&self, namespace: &str, req: &QueryRequest) -> Result<(String, Option<CacheHit>)>;
    /// The context for one request.
    fn context(&self, namespace: &str, req: &QueryRequest) -> Result<String> {
        self.answer(namespace, req).map(|a| a.0)
    }
}

impl Target for Engine {
    fn check(&self, namespace: &str) -> Result<()> {
        self.namespace(namespace).map(|_| ())
    }

    fn answer(&self, namespace: &str, req: &QueryRequest) -> Result<(String, Option<CacheHit>)> {
        self.query(namespace, req).map(|r| (r.context, r.cache))
    }
}

/// A `chronorag serve` at a base URL, with an optional API key.
pub struct HttpTarget {
    base: String,
    key: Option<String>,
    agent: ureq::Agent,
}

impl HttpTarget {
    /// A target at `base` (`http://127.0.0.1:7070`).
    pub fn new(base: &str, key: Option<String>) -> Self {
        HttpTarget {
            base: base.trim_end_matches('/').to_string(),
            key,
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(std::time::Duration::from_secs(300)))
                .build()
                .into(),
        }
    }

    /// Sends a request with an optional JSON body; returns the JSON answer or the API's error.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value> {
        let url = format!("{}{path}", self.base);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(k) = &self.key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        let sent = match body {
            Some(b) => self.agent.run(
                req.header("Content-Type", "application/json")
                    .body(b.to_string())
                    .map_err(|e| Error::invalid(e.to_string()))?,
            ),
            None => self
                .agent
                .run(req.body(()).map_err(|e| Error::invalid(e.to_string()))?),
        }
        .map_err(|e| Error::Unavailable(format!("{method} {url}: {e}")))?;
        let status = sent.status().as_u16();
        let text = sent
            .into_body()
            .read_to_string()
            .map_err(|e| Error::Unavailable(format!("{method} {url}: {e}")))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        match status {
            200..=299 => Ok(json),
            404 => Err(Error::NotFound(format!("{method} {url}: {text}"))),
            _ => Err(Error::Unavailable(format!(
                "{method} {url}: {status} {text}"
            ))),
        }
    }

    fn ns_path(namespace: &str) -> String {
        format!("/v1/namespaces/{namespace}")
    }

    /// Documents in the namespace (0 when it does not exist).
    pub fn documents(&self, namespace: &str) -> Result<u64> {
        match self.call("GET", &Self::ns_path(namespace), None) {
            Ok(v) => Ok(v["stats"]["documents"].as_u64().unwrap_or(0)),
            Err(Error::NotFound(_)) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Ingests documents in batches of [`INGEST_BATCH`] (`POST …/documents`), then asks the
    /// server to bring its summaries up to date (`POST …/summarize`, what its background worker
    /// does after writes) so that questions see the state `serve` settles in. Timed.
    pub fn ingest(
        &self,
        namespace: &str,
        docs: &[PreparedDocument],
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<IngestTiming> {
        let total: usize = docs.iter().map(|d| d.text_as_sent().len()).sum();
        let started = Instant::now();
        let mut timing = IngestTiming::default();
        let mut done = 0;
        for batch in docs.chunks(INGEST_BATCH) {
            // The documents as sent, as a user posts them: the server repairs them itself and
            // knows them by the hash of what was sent.
            let body = serde_json::json!({
                "documents": batch.iter().map(|d| d.input_as_sent()).collect::<Vec<_>>()
            });
            let r = self.call(
                "POST",
                &format!("{}/documents", Self::ns_path(namespace)),
                Some(&body),
            )?;
            timing.documents += r["documents"].as_u64().unwrap_or(0);
            timing.chunks += r["chunks"].as_u64().unwrap_or(0);
            timing.facts += r["facts"].as_u64().unwrap_or(0);
            timing.entities += r["entities"].as_u64().unwrap_or(0);
            done += batch.iter().map(|d| d.text_as_sent().len()).sum::<usize>();
            timing.bytes = done as u64;
            progress(Progress {
                phase: "ingest over HTTP (bytes)",
                done,
                total,
            });
        }
        self.settle(namespace)?;
        timing.seconds = started.elapsed().as_secs_f64();
        timing.mb_per_s = timing.bytes as f64 / 1e6 / timing.seconds.max(1e-9);
        Ok(timing)
    }

    /// Brings the namespace's summaries up to date.
    pub fn settle(&self, namespace: &str) -> Result<()> {
        self.call(
            "POST",
            &format!("{}/summarize", Self::ns_path(namespace)),
            Some(&serde_json::json!({})),
        )
        .map(|_| ())
    }
}

impl Target for HttpTarget {
    fn check(&self, namespace: &str) -> Result<()> {
        self.call("GET", &Self::ns_path(namespace), None)
            .map(|_| ())
    }

    fn answer(&self, namespace: &str, req: &QueryRequest) -> Result<(String, Option<CacheHit>)> {
        let body = serde_json::to_value(req).map_err(|e| Error::invalid(e.to_string()))?;
        let r = self.call(
            "POST",
            &format!("{}/query", Self::ns_path(namespace)),
            Some(&body),
        )?;
        let cache = serde_json::from_value(r["cache"].clone()).ok();
        r["context"]
            .as_str()
            .map(|c| (c.to_string(), cache))
            .ok_or_else(|| Error::Unavailable(format!("the answer has no context: {r}")))
    }
}

/// Merges the text segments the load left and brings a namespace's summaries up to date, as
/// `serve`'s background worker does after writes, so that an in-process evaluation answers from
/// the same state as `serve`.
pub fn settle(engine: &Engine, namespace: &str) -> Result<f64> {
    let started = Instant::now();
    engine.merge_text_when_idle(namespace);
    engine.summarize(namespace)?;
    Ok(started.elapsed().as_secs_f64())
}

/// Asks every question of `sets` (at most `opts.limit` per file) of ChronoRAG and, when given,
/// of the baseline, and scores the contexts. Returns one result per question, in order.
pub fn run(
    target: &dyn Target,
    sets: &[QuestionSet],
    baseline: Option<&Bm25Baseline>,
    opts: &EvalOptions,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Vec<QuestionResult>> {
    if opts.budgets.is_empty() || opts.budgets.contains(&0) {
        return Err(Error::invalid("budgets must be positive numbers"));
    }
    if !opts.budgets.is_sorted() {
        return Err(Error::invalid("budgets must be in ascending order"));
    }
    target.check(&opts.namespace)?;
    let picked: Vec<(&QuestionSet, &Question)> = sets
        .iter()
        .flat_map(|s| {
            s.questions
                .iter()
                .take(opts.limit.unwrap_or(usize::MAX))
                .map(move |q| (s, q))
        })
        .collect();
    let total = picked.len();
    let mut out = Vec::with_capacity(total);
    for (i, (set, q)) in picked.into_iter().enumerate() {
        let evidence: Vec<Evidence> = q.evidence.iter().map(|e| Evidence::new(e)).collect();
        let chronorag = outcome(
            q,
            &evidence,
            &opts.budgets,
            |budget| {
                let req = QueryRequest {
                    query: q.question.clone(),
                    time: q.time.clone(),
                    now: q.now.clone(),
                    mode: opts.mode,
                    budget_chars: Some(budget),
                    ..QueryRequest::default()
                };
                target.context(&opts.namespace, &req)
            },
            opts.per_budget,
        );
        let base = baseline.map(|b| {
            outcome(
                q,
                &evidence,
                &opts.budgets,
                |budget| b.context(&q.question, budget),
                false,
            )
        });
        out.push(QuestionResult {
            file: set.name.clone(),
            group: set.group.label().to_string(),
            id: q.id.clone(),
            question: q.question.clone(),
            chronorag,
            baseline: base,
        });
        progress(Progress {
            phase: "questions",
            done: i + 1,
            total,
        });
    }
    Ok(out)
}
