//! The bodies only the HTTP API sends: envelopes around the records' wire types
//! ([`crate::model`]'s views), pages, write acknowledgements and the error body.
//!
//! Every JSON answer of a route is one of these, a record view or a domain result (a query
//! result, an ingest report…), so `schema/openapi.json` (whose body schemas [`super::openapi`]
//! generates from these types) describes what goes out, and the contract test checks the live
//! answers against it. Free-form on purpose: an error's `details`, the events of a streamed
//! answer and the JSON-RPC messages of `POST /mcp`.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::engine::{ConflictView, EntityView};
use crate::index::IndexSizes;
use crate::model::{AuditEntryView, Counts, DocumentInfo, FactId, FactView, TxId, TxKind, TxView};
use crate::store::Stats;

/// The body of every error answer.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Error")]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong, for people and for programs.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code (invalid_request, invalid_time, not_found, conflict,
    /// too_large, unauthorized, forbidden, too_many_requests, timeout, unavailable, ...).
    pub code: &'static str,
    /// What happened and what to do, for people.
    pub message: String,
    /// Structured details, when there are any (for example the invalid documents of an ingest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// `GET /health`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Health {
    /// Always `ok` when the service answers.
    pub status: &'static str,
    /// The server's version.
    pub version: &'static str,
    /// Namespaces in the store.
    pub namespaces: usize,
    /// Whether requests need an API key.
    pub auth: bool,
}

/// `GET /v1/namespaces`: the namespaces the caller may read.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NamespaceList {
    /// By name.
    pub namespaces: Vec<NamespaceEntry>,
}

/// One namespace and its record counts.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NamespaceEntry {
    /// The namespace.
    pub name: String,
    /// Its record counts.
    pub stats: Stats,
}

/// `PUT /v1/namespaces/{ns}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NamespaceCreated {
    /// The namespace.
    pub name: String,
    /// False when it existed already (the answer is then 200, not 201).
    pub created: bool,
}

/// `GET /v1/namespaces/{ns}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NamespaceInfo {
    /// The namespace.
    pub name: String,
    /// Its record counts.
    pub stats: Option<Stats>,
    /// The sizes of its derived indexes.
    pub indexes: IndexSizes,
}

/// The 202 answer of `POST .../documents` when the ingest runs as a job.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JobAccepted {
    /// The job's id (GET its `href` for the whole job).
    pub id: u64,
    /// The job's namespace.
    pub namespace: String,
    /// Where the job is now.
    pub state: crate::engine::JobState,
    /// Documents processed so far.
    pub progress: crate::engine::JobProgress,
    /// The job's URL (also in the `Location` header).
    pub href: String,
}

/// `GET .../documents`: one page, oldest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DocumentPage {
    /// The page.
    pub documents: Vec<DocumentInfo>,
    /// Cursor of the next page: pass it as `cursor`; null on the last page.
    pub next_cursor: Option<String>,
}

/// `GET .../entities`: one page.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EntityPage {
    /// The page.
    pub entities: Vec<EntityView>,
    /// Cursor of the next page: pass it as `cursor`; null on the last page.
    pub next_cursor: Option<String>,
}

/// `GET .../entities/{id}/timeline`: the entity and a page of its facts in valid-time order.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EntityTimeline {
    /// The entity.
    pub entity: EntityView,
    /// The page of its facts.
    pub facts: Vec<FactView>,
    /// Cursor of the next page: pass it as `cursor`; null on the last page.
    pub next_cursor: Option<String>,
}

/// `GET .../transactions`: one page, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TransactionPage {
    /// The page.
    pub transactions: Vec<TxView>,
    /// Cursor of the next page: pass it as `cursor`; null on the last page.
    pub next_cursor: Option<String>,
}

/// `GET .../audit`: one page of the audit log, oldest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AuditLogPage {
    /// The page.
    pub entries: Vec<AuditEntryView>,
    /// Cursor of the next page: pass it as `cursor`; null on the last page.
    pub next_cursor: Option<String>,
}

/// `GET .../conflicts`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConflictList {
    /// Every recorded conflict, oldest first.
    pub conflicts: Vec<ConflictView>,
}

/// `POST .../facts` (201).
#[derive(Debug, Serialize, JsonSchema)]
pub struct FactsAsserted {
    /// The transaction.
    pub tx: TxId,
    /// The new facts' ids, in the order sent.
    pub facts: Vec<FactId>,
}

/// `PATCH .../facts/{id}`: the corrected fact is retracted and a new version asserted.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FactCorrected {
    /// The transaction.
    pub tx: TxId,
    /// The fact that was corrected (now retracted).
    pub retracted: FactId,
    /// The new version's id.
    pub fact: FactId,
}

/// `DELETE .../facts/{id}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FactRetracted {
    /// The transaction.
    pub tx: TxId,
    /// The retracted fact.
    pub retracted: FactId,
}

/// `DELETE .../documents/{id}` without `erase`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DocumentRetracted {
    /// The transaction.
    pub tx: TxId,
    /// The id of the retracted document.
    pub retracted: String,
}

/// A write that answers with its transaction alone (`PATCH .../entities/{id}`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct TxRef {
    /// The transaction.
    pub tx: TxId,
}

/// `POST .../entities/merge`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EntitiesMerged {
    /// The transaction.
    pub tx: TxId,
    /// Facts that now name the surviving entity.
    pub facts_moved: usize,
}

/// `POST .../rollback`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RollbackResult {
    /// The compensating transaction.
    pub tx: TxId,
    /// What it did (`rollback` to a transaction or `revert` of one).
    pub kind: TxKind,
    /// What it changed.
    pub counts: Counts,
}
