//! Time nodes of the calendar hierarchy and their summaries.

use serde::{Deserialize, Serialize};

use super::{EntityId, FactId, TxId};
use crate::time::TimeKey;

/// A node of the calendar hierarchy (year → quarter → month → day, weeks beside months) that
/// facts use, directly or through a descendant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeNode {
    /// The calendar unit.
    pub key: TimeKey,
    /// The transaction that created it.
    pub added_tx: TxId,
    /// The last transaction that touched facts inside it.
    pub touched_tx: TxId,
}

/// One key finding of a summary, citing the facts it rests on (its lineage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The finding as text.
    pub text: String,
    /// The facts it cites.
    pub facts: Vec<FactId>,
    /// The entities it is about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<EntityId>,
}

/// A version of a time node's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The node summarised.
    pub node: TimeKey,
    /// Title.
    pub title: String,
    /// Readable summary text.
    pub text: String,
    /// Key findings with lineage.
    pub findings: Vec<Finding>,
    /// Entities involved, most important first.
    pub entities: Vec<EntityId>,
    /// Importance rating in [0, 10] when the summariser gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<f32>,
    /// Which summariser wrote it (`extractive`, `llm:<model>`).
    pub summarizer: String,
    /// Hash of its inputs: an unchanged input never costs a recompute.
    pub input_hash: String,
    /// Number of facts inside the node when it was written.
    pub fact_count: u64,
    /// The latest transaction whose data it reflects.
    pub reflects_tx: TxId,
    /// The transaction-time version of this summary (the head tx when it was written).
    pub version_tx: TxId,
}
