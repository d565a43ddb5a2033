//! Time-node summaries: every node of the calendar hierarchy that facts use carries a summary of
//! what happened in it, kept current incrementally.
//!
//! - [`Summarizer`] is the trait; [`extractive::Extractive`] is the built-in default (no network);
//!   `llm::LlmSummarizer` asks an OpenAI-compatible endpoint and falls back to the extractive one.
//! - [`scheduler`] recomputes dirty nodes only, bottom-up (days → months → quarters → years), and
//!   skips a node whose input hash is unchanged (no recompute, no LLM call).
//!
//! Summaries are derived data: they are written outside transactions, versioned by the
//! transaction whose state they reflect, so reading a node as of transaction T returns the newest
//! summary that reflects a transaction ≤ T. Findings cite their facts (lineage).

pub mod extractive;
pub mod llm;
pub mod scheduler;

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::model::{EntityId, FactId, Finding, Summary};
use crate::time::{Granularity, TimeKey};

/// A fact offered to a summariser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputFact {
    /// Fact id (findings cite it).
    pub id: FactId,
    /// Subject entity.
    pub subject_id: EntityId,
    /// Subject name.
    pub subject: String,
    /// Object (entity name or literal).
    pub object: String,
    /// The fact's entities.
    pub entities: Vec<EntityId>,
    /// Description.
    pub description: String,
    /// Valid time label.
    pub time: String,
    /// Importance in [0, ∞): centrality of its entities, confidence, source count.
    pub importance: f32,
}

/// What a summariser gets for one node.
#[derive(Debug, Clone)]
pub struct SummaryInput {
    /// The node.
    pub node: TimeKey,
    /// The node's own most important facts (valid time exactly this node), best first,
    /// near-duplicates removed.
    pub facts: Vec<InputFact>,
    /// The current summaries of its children.
    pub children: Vec<Summary>,
    /// Distinctive terms of the node's facts ("electric mobility", "CO2 emissions"), best first.
    pub themes: Vec<String>,
    /// Number of facts inside the node (its own and its descendants').
    pub fact_count: u64,
    /// Names of entities, for display.
    pub entity_names: std::collections::HashMap<EntityId, String>,
}

/// A summary as a summariser writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// Title.
    pub title: String,
    /// Readable text.
    pub text: String,
    /// Key findings, each citing facts.
    pub findings: Vec<Finding>,
    /// Entities involved, most important first.
    pub entities: Vec<EntityId>,
    /// Importance rating in [0, 10], when given.
    pub rating: Option<f32>,
}

/// Writes the summary of one time node.
pub trait Summarizer: Send + Sync {
    /// Identity recorded on summaries (`extractive`, `llm:<model>`); part of the input hash.
    fn name(&self) -> String;
    /// Summarises a node.
    fn summarize(&self, input: &SummaryInput) -> Result<Draft>;
}

/// A readable label of a node: "2019", "Q3 2019", "July 2019", "week 28 of 2024", "15 July 2024".
pub fn node_label(k: &TimeKey) -> String {
    use crate::time::MONTH_NAMES as MONTHS;
    use chrono::Datelike;
    let s = k.start();
    match k.granularity() {
        Granularity::Year => format!("{}", s.year()),
        Granularity::Quarter => format!("Q{} {}", s.month0() / 3 + 1, s.year()),
        Granularity::Month => format!("{} {}", MONTHS[s.month0() as usize], s.year()),
        Granularity::Week => {
            let w = s.iso_week();
            format!("week {} of {}", w.week(), w.year())
        }
        Granularity::Day => format!("{} {} {}", s.day(), MONTHS[s.month0() as usize], s.year()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        for (k, want) in [
            ("2019", "2019"),
            ("2019-Q3", "Q3 2019"),
            ("2019-07", "July 2019"),
            ("2024-W28", "week 28 of 2024"),
            ("2024-07-15", "15 July 2024"),
        ] {
            assert_eq!(node_label(&TimeKey::parse(k).unwrap()), want);
        }
    }
}
