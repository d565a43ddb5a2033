//! Conflicts: contradictions between facts kept for review instead of resolved silently.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{EntityId, FactId, TxId};

/// Two facts that say different things about the same subject and slot over overlapping valid
/// time, where the newer one was not trusted enough to end the older one's validity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Conflict {
    /// Id (per namespace).
    pub id: u64,
    /// The subject both facts are about.
    pub subject: EntityId,
    /// The fact that was there first.
    pub existing: FactId,
    /// The newer, contradicting fact.
    pub incoming: FactId,
    /// The slot they share (their description with values and times masked).
    pub slot: String,
    /// Why it was not resolved automatically.
    pub reason: String,
    /// The transaction that found it.
    pub tx: TxId,
    /// When.
    pub at: DateTime<Utc>,
}
