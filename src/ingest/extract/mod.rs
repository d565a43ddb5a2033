//! Fact extraction: the [`Extractor`] trait and its implementations.
//!
//! - [`rules::RulesExtractor`] (default, no network): sentences, time expressions through the
//!   normaliser, entities and quantities by pattern, one or more facts per informative sentence.
//! - `llm::LlmExtractor`: any OpenAI-compatible chat endpoint, validated replies, falls back to
//!   the rules for chunks whose reply stays invalid.
//!
//! **Architecture invariant:** extractors only read text and return [`Extraction`]s with entity
//! *names*; they never touch the store. Entity resolution and ids belong to the pipeline.

pub mod entities;
pub mod llm;
pub mod rules;

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::model::EntityKind;
use crate::time::{Granularity, Interval, TimeKey};

/// The document a chunk belongs to, as extractors see it.
#[derive(Debug, Clone, Default)]
pub struct DocContext {
    /// Title.
    pub title: Option<String>,
    /// The document's time: relative expressions resolve against it; facts without an explicit
    /// time inherit it.
    pub time: Option<TimeKey>,
}

/// An entity mentioned in a chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityMention {
    /// Name as written.
    pub name: String,
    /// Kind.
    pub kind: EntityKind,
    /// Other names given for it in the same text ("Crocs, Inc. (NASDAQ: CROX)" → "CROX").
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// The object of an extracted fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExtractedObject {
    /// An entity, by name (must be among the chunk's mentions or resolvable).
    Entity(String),
    /// A literal value.
    Literal(String),
}

/// A fact as an extractor sees it: names, not ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractedFact {
    /// Subject entity name.
    pub subject: String,
    /// Object.
    pub object: ExtractedObject,
    /// What the relation says.
    pub description: String,
    /// Valid time.
    pub valid: Interval,
    /// Granularity of the valid time.
    pub granularity: Granularity,
    /// Calendar unit of the valid time when it is exactly one.
    pub time_key: Option<TimeKey>,
    /// Whether the time was inherited from the document.
    pub time_inherited: bool,
    /// Confidence in [0, 1].
    pub confidence: f32,
}

/// What an extractor found in one chunk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Extraction {
    /// Entities mentioned (including every fact subject and entity object).
    pub entities: Vec<EntityMention>,
    /// Facts.
    pub facts: Vec<ExtractedFact>,
    /// True when this chunk's extraction fell back to the rules (LLM reply invalid).
    #[serde(default)]
    pub fell_back: bool,
}

/// Turns chunks of one document into entities and facts.
pub trait Extractor: Send + Sync {
    /// Name recorded as the facts' origin (`rules`, `llm`).
    fn name(&self) -> &str;
    /// Extracts from each chunk of one document (the result has one entry per chunk, in order).
    fn extract(&self, doc: &DocContext, chunks: &[&str]) -> Result<Vec<Extraction>>;
}
