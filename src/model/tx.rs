//! Transactions: the one path by which anything changes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ChunkId, DocId, EntityId, FactId, TxId};
use crate::time::TimeKey;

/// What kind of operation a transaction performed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum TxKind {
    /// Ingest of one or more documents.
    Ingest,
    /// Hand-asserted fact(s).
    Assert,
    /// A correction: retract + assert in one transaction.
    Correct,
    /// Retraction of fact(s) or document(s).
    Retract,
    /// Entities merged.
    MergeEntities,
    /// An entity renamed.
    RenameEntity,
    /// Exact undo of one transaction.
    Revert {
        /// The transaction undone.
        tx: TxId,
    },
    /// Undo of everything after a transaction.
    Rollback {
        /// The transaction the state returns to.
        to: TxId,
    },
    /// Physical removal for a privacy request.
    Erase,
}

impl TxKind {
    /// Short name for display and the audit log.
    pub fn name(&self) -> &'static str {
        match self {
            TxKind::Ingest => "ingest",
            TxKind::Assert => "assert",
            TxKind::Correct => "correct",
            TxKind::Retract => "retract",
            TxKind::MergeEntities => "merge_entities",
            TxKind::RenameEntity => "rename_entity",
            TxKind::Revert { .. } => "revert",
            TxKind::Rollback { .. } => "rollback",
            TxKind::Erase => "erase",
        }
    }
}

/// One change inside a transaction. The records themselves are versioned in the store; a change
/// names what was touched so that indexes can catch up and history can be diffed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "op", content = "id")]
pub enum Change {
    /// A document (and its chunks) was added.
    AddDocument(DocId),
    /// A document was retracted.
    RetractDocument(DocId),
    /// A retracted document was asserted again.
    ReassertDocument(DocId),
    /// A document's content was erased.
    EraseDocument(DocId),
    /// A chunk was added.
    AddChunk(ChunkId),
    /// A chunk was erased.
    EraseChunk(ChunkId),
    /// Erased names were redacted from a chunk's text.
    RedactChunk(ChunkId),
    /// An entity was created.
    CreateEntity(EntityId),
    /// An entity was updated (aliases, name, kind, merge).
    UpdateEntity(EntityId),
    /// An entity was retracted (merged away) or erased.
    RetractEntity(EntityId),
    /// A fact was asserted (new, or re-asserted).
    AssertFact(FactId),
    /// A fact gained a source, changed confidence or was invalidated.
    UpdateFact(FactId),
    /// A fact was retracted.
    RetractFact(FactId),
    /// A fact was erased.
    EraseFact(FactId),
    /// A contradiction between two facts was recorded for review.
    Conflict(u64),
}

/// Counts of changes, kept with the transaction and in its audit entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Counts {
    /// Documents added.
    pub documents: u64,
    /// Chunks added.
    pub chunks: u64,
    /// Entities created.
    pub entities: u64,
    /// Facts asserted.
    pub facts_asserted: u64,
    /// Facts updated (sources, invalidation).
    pub facts_updated: u64,
    /// Facts retracted.
    pub facts_retracted: u64,
    /// Records erased.
    pub erased: u64,
    /// Time nodes touched.
    pub time_nodes: u64,
}

/// A committed transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tx {
    /// Id.
    pub id: TxId,
    /// Wall-clock stamp of the commit (transaction time; never used as valid time).
    pub at: DateTime<Utc>,
    /// Who did it (API key name, `cli`, `system`).
    pub actor: String,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What kind of operation.
    pub kind: TxKind,
    /// The changes.
    pub changes: Vec<Change>,
    /// Counts of the changes.
    pub counts: Counts,
    /// Time nodes whose facts changed (their summaries need recomputing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub touched_nodes: Vec<TimeKey>,
}
