//! Audit entries: an append-only, hash-chained log of every transaction and governance operation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Counts, TxId};

/// One entry of a namespace's audit chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the chain (1-based, gapless).
    pub seq: u64,
    /// The transaction it records, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<TxId>,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What (operation name).
    pub action: String,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Counts of changes.
    pub counts: Counts,
    /// Extra details (for an erase: what was erased, by id — never the content).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
    /// Hash of the previous entry (hex; 64 zeros for the first).
    pub prev_hash: String,
    /// Hash of this entry (hex SHA-256 over all the fields above).
    pub hash: String,
}

impl AuditEntry {
    /// The hash of the first entry's predecessor.
    pub const GENESIS: &'static str =
        "0000000000000000000000000000000000000000000000000000000000000000";

    /// Computes the hash of this entry from its fields (everything but `hash`).
    pub fn compute_hash(&self) -> String {
        let body = serde_json::json!({
            "seq": self.seq,
            "tx": self.tx,
            "at": self.at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            "actor": self.actor,
            "action": self.action,
            "reason": self.reason,
            "counts": self.counts,
            "details": self.details,
            "prev_hash": self.prev_hash,
        });
        let mut h = Sha256::new();
        h.update(body.to_string().as_bytes());
        hex::encode(h.finalize())
    }

    /// Seals the entry: sets `hash` from the other fields.
    pub fn seal(mut self) -> Self {
        self.hash = self.compute_hash();
        self
    }
}
