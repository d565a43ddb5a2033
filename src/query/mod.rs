//! Queries: from a question to a time- and meaning-scoped subgraph and an LLM-ready context.
//!
//! [`plan`] reads the question (time scope, intent, snapshot); [`retrieve`] runs the local path
//! (seed facts by meaning within the scope → personalised PageRank over the entity graph → edge
//! and chunk scores, fused with plain hybrid chunk search) or the global path (time-node
//! summaries and their top facts); [`context`] assembles the cited text within a budget.

pub mod answer;
pub mod cache;
pub mod context;
pub mod facets;
pub mod passages;
pub mod plan;
pub mod retrieve;

use serde::{Deserialize, Serialize};

use crate::model::TxId;
pub use plan::{Intent, Mode, Plan, TimeParam, TimeScope};

/// Default context budget (characters).
pub const DEFAULT_BUDGET: usize = 8000;
/// Default number of facts returned.
pub const DEFAULT_TOP_K: usize = 20;
/// Largest accepted budget.
pub const MAX_BUDGET: usize = 1_000_000;

/// A query.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    /// The question.
    #[schemars(length(max = 4096))]
    pub query: String,
    /// Explicit time scope (wins over times in the question).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<TimeParam>,
    /// The date relative expressions refer to (default: the latest valid time in the namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<String>,
    /// Transaction-time snapshot (default: current).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of_tx: Option<TxId>,
    /// auto | specific | abstract.
    #[serde(default)]
    pub mode: Mode,
    /// Context budget in characters (default 8000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1_000_000))]
    pub budget_chars: Option<usize>,
    /// Facts to return (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 1000))]
    pub top_k: Option<usize>,
    /// Add per-stage timings and candidates.
    #[serde(default)]
    pub explain: bool,
    /// Ask the configured LLM to answer from the context.
    #[serde(default)]
    pub answer: bool,
}

pub use crate::model::{FactView, SourceRef};

/// A chunk in a result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChunkHit {
    /// Chunk id.
    pub id: u64,
    /// User-facing document id.
    pub document: String,
    /// Document title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Document time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Text.
    pub text: String,
    /// Relevance score.
    pub score: f32,
}

/// A passage of the context, in context order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PassageHit {
    /// User-facing document id (chunk passages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// The chunk the passage was cut around.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk: Option<u64>,
    /// `summary:<node>` or `fact:<id>` for passages that are not cut from a document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Document time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The facet it was sought for (index into `plan.facets.facets`).
    pub facet: usize,
    /// Its score (sentence match relative to the best + λ · chunk prior).
    pub score: f32,
    /// The text as placed in the context (the last passage may be cut).
    pub text: String,
}

/// A time-node summary in a result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SummaryHit {
    /// Node (`2019`, `2024-Q3`).
    pub node: String,
    /// Title.
    pub title: String,
    /// Text.
    pub text: String,
    /// Key findings.
    pub findings: Vec<String>,
    /// Transaction the summary reflects.
    pub reflects_tx: u64,
}

/// One stage of an explained query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Stage {
    /// Name.
    pub stage: String,
    /// Milliseconds.
    pub ms: f64,
    /// Candidates kept.
    pub kept: usize,
    /// The best few, as `kind:id`.
    pub top: Vec<String>,
}

/// An LLM answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Answer {
    /// The text, with citations.
    pub text: String,
    /// The model.
    pub model: String,
}

/// The answer to a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QueryResult {
    /// What was understood.
    pub plan: Plan,
    /// Facts, most relevant first.
    pub facts: Vec<FactView>,
    /// Chunks, most relevant first.
    pub chunks: Vec<ChunkHit>,
    /// Summaries of the time nodes in scope (abstract questions).
    pub summaries: Vec<SummaryHit>,
    /// The passages of the context, in context order.
    pub passages: Vec<PassageHit>,
    /// The assembled context, most relevant first, within the budget, every passage cited.
    pub context: String,
    /// Per-stage timings and candidates (with `explain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<Vec<Stage>>,
    /// The LLM's answer (with `answer`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// Set when the answer came from a cache: which question's answer it reused, and how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<cache::CacheHit>,
}
