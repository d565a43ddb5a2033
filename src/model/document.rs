//! Documents and their chunks.

use serde::{Deserialize, Serialize};

use super::{ChunkId, DocId, Status, TxId};
use crate::time::TimeKey;

/// Where a document's time came from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum DocTimeOrigin {
    /// Given explicitly by the caller (`time` field, CLI flag).
    Given,
    /// Found in the document's metadata (`date`, `published`, ...).
    Metadata,
    /// Found in the document's title or dateline.
    Text,
    /// Taken from the file name (e.g. `report-2019.md`).
    Filename,
    /// The document has no time.
    #[default]
    None,
}

/// An ingested document. Its text lives in its chunks (which cover it without overlap).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Internal id.
    pub id: DocId,
    /// User-facing id (given by the caller, or derived from the content hash).
    pub external_id: String,
    /// Title, kept with every chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Where it came from (file path, URL, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The document's own time (publication date, the quarter of an earnings call, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<TimeKey>,
    /// Where `time` came from.
    #[serde(default)]
    pub time_origin: DocTimeOrigin,
    /// Free-form metadata given by the caller.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Its identity (hex SHA-256, `ingest::pipeline::identity_hash`): of the text as sent, with
    /// the title and time when it has them; re-ingesting the same content is a no-op.
    pub content_hash: String,
    /// Length of the text in bytes.
    pub text_len: usize,
    /// Its chunks, in order.
    pub chunks: Vec<ChunkId>,
    /// Transaction-time status.
    #[serde(default)]
    pub status: Status,
    /// The transaction that first added it.
    pub added_tx: TxId,
    /// The transaction that wrote this version.
    pub updated_tx: TxId,
}

/// A piece of a document, cut at paragraph and sentence boundaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// Id (consecutive within a document).
    pub id: ChunkId,
    /// The document it belongs to.
    pub doc: DocId,
    /// Position in the document (0-based).
    pub ord: u32,
    /// The chunk's text (without the title).
    pub text: String,
    /// Byte offset of the chunk in the document text.
    pub start: usize,
    /// The document's time, copied for fast filtering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<TimeKey>,
    /// The transaction that added it.
    pub added_tx: TxId,
}
