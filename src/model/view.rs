//! The shapes records have on the wire. A fact has one shape in query results, timelines,
//! listings, single reads and conflicts alike ([`FactView`]); entities, documents and chunks
//! have theirs ([`EntityView`], [`DocumentView`], [`DocumentInfo`], [`ChunkView`]), and so do
//! transactions, audit entries and summaries ([`TxView`], [`AuditEntryView`], [`SummaryView`]):
//! no stored record is serialised to a client directly.
//!
//! [`Fact`] is the stored record (entity ids, an object enum, chunk ids); it is never sent as
//! is, so a field added to the API cannot change what is stored or hashed into the audit chain.
//! A [`FactView`] names its entities (`subject`, `object` as text) next to their ids
//! (`subject_id`, `object_id`, null for a literal object), cites its sources as documents, and
//! carries the transaction-time fields; query results add a `score`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{
    AuditEntry, Change, Chunk, ChunkId, Counts, DocId, DocTimeOrigin, Document, Entity, EntityId,
    EntityKind, Fact, FactId, FactObject, FactOrigin, Finding, Status, Summary, Tx, TxId, TxKind,
};
use crate::time::{Granularity, Interval, TimeKey};

/// Where a fact or chunk came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SourceRef {
    /// User-facing document id.
    pub document: String,
    /// Chunk id.
    pub chunk: ChunkId,
    /// Document time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// A fact as every route shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FactView {
    /// Fact id.
    pub id: FactId,
    /// Subject name.
    pub subject: String,
    /// Subject entity id.
    pub subject_id: EntityId,
    /// Object: the entity's name or the literal value; null for a fact that names none (a
    /// statement about its subject alone).
    pub object: Option<String>,
    /// Object entity id; null when the object is a literal.
    pub object_id: Option<EntityId>,
    /// What the relation says.
    pub description: String,
    /// Valid time as stated (a newer fact may have ended it at `invalid_from`).
    pub valid: Interval,
    /// Valid time as a label (`2019`, `2024-Q3`, or the interval).
    pub time: String,
    /// The granularity the valid time is known at.
    pub granularity: Granularity,
    /// True when the valid time was inherited from the document rather than stated in the text.
    pub time_inherited: bool,
    /// Confidence in [0, 1].
    pub confidence: f32,
    /// How it came to be (`{"extracted": "rules"}`, `{"manual": "alice"}`).
    pub origin: FactOrigin,
    /// Transaction-time status.
    pub status: Status,
    /// The transaction that (last) asserted it.
    pub asserted_tx: TxId,
    /// The transaction that retracted it, if it is retracted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retracted_tx: Option<TxId>,
    /// The transaction that wrote this version.
    pub updated_tx: TxId,
    /// Set when a newer contradicting fact ended this one's validity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_from: Option<NaiveDate>,
    /// The fact that ended this one's validity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalidated_by: Option<FactId>,
    /// The documents it was read from (none for a hand-asserted fact).
    #[serde(default)]
    pub sources: Vec<SourceRef>,
    /// Relevance to the question (query results only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
}

impl FactView {
    /// The view of a record, naming entities with `name_of` (an unknown id shows as an empty
    /// name) and citing the sources `sources` resolves (chunks it does not know are left out).
    pub fn new(
        f: &Fact,
        name_of: impl Fn(EntityId) -> Option<String>,
        sources: impl Fn(ChunkId) -> Option<SourceRef>,
        score: Option<f32>,
    ) -> Self {
        let (object, object_id) = match &f.object {
            FactObject::Entity(e) => (Some(name_of(*e).unwrap_or_default()), Some(*e)),
            FactObject::Literal(l) if l.trim().is_empty() => (None, None),
            FactObject::Literal(l) => (Some(l.clone()), None),
        };
        let valid = f.valid;
        FactView {
            id: f.id,
            subject: name_of(f.subject).unwrap_or_default(),
            subject_id: f.subject,
            object,
            object_id,
            description: f.description.clone(),
            time: time_label(&valid, f.time_key),
            valid,
            granularity: f.granularity,
            time_inherited: f.time_inherited,
            confidence: f.confidence,
            origin: f.origin.clone(),
            status: f.status,
            asserted_tx: f.asserted_tx,
            retracted_tx: f.retracted_tx,
            updated_tx: f.updated_tx,
            invalid_from: f.invalid_from,
            invalidated_by: f.invalidated_by,
            sources: f.sources.iter().filter_map(|c| sources(*c)).collect(),
            score,
        }
    }
}

/// A valid time's label: its calendar unit when it is exactly one, else the interval.
pub fn time_label(valid: &Interval, key: Option<TimeKey>) -> String {
    key.or_else(|| TimeKey::from_interval(valid))
        .map(|k| k.to_string())
        .unwrap_or_else(|| valid.to_string())
}

/// An entity as the API shows it: its names and kind, its lifecycle, and how many facts are
/// about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EntityView {
    /// Entity id.
    pub id: EntityId,
    /// Canonical name.
    pub name: String,
    /// Kind (organisation, person, place, product, …).
    pub kind: EntityKind,
    /// Other names it was seen under.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The entity it was merged into, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<EntityId>,
    /// Transaction-time status.
    pub status: Status,
    /// The transaction that added it.
    pub added_tx: TxId,
    /// The transaction that wrote this version.
    pub updated_tx: TxId,
    /// Facts about it (any status) currently indexed.
    pub fact_count: usize,
}

impl EntityView {
    /// The view of `e` with its fact count.
    pub fn new(e: Entity, fact_count: usize) -> Self {
        EntityView {
            id: e.id,
            name: e.name,
            kind: e.kind,
            aliases: e.aliases,
            merged_into: e.merged_into,
            status: e.status,
            added_tx: e.added_tx,
            updated_tx: e.updated_tx,
            fact_count,
        }
    }
}

/// A document as the API shows it (in listings, and with its chunks in `DocumentView`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DocumentInfo {
    /// Internal id (the listing's cursor).
    pub id: DocId,
    /// The user's id.
    pub external_id: String,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Where it came from (file path, URL, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The document's own time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<TimeKey>,
    /// Where `time` came from.
    pub time_origin: DocTimeOrigin,
    /// Metadata given by the caller.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// The document's identity (hex SHA-256): of its text as sent when it has no title and no
    /// time, else of that text with its title and time. Sending the same again is a no-op.
    pub content_hash: String,
    /// Length of the text in bytes.
    pub text_len: usize,
    /// Its chunks' ids, in order.
    pub chunks: Vec<ChunkId>,
    /// Transaction-time status.
    pub status: Status,
    /// The transaction that added it.
    pub added_tx: TxId,
    /// The transaction that wrote this version.
    pub updated_tx: TxId,
}

impl From<Document> for DocumentInfo {
    fn from(d: Document) -> Self {
        DocumentInfo {
            id: d.id,
            external_id: d.external_id,
            title: d.title,
            source: d.source,
            time: d.time,
            time_origin: d.time_origin,
            metadata: d.metadata,
            content_hash: d.content_hash,
            text_len: d.text_len,
            chunks: d.chunks,
            status: d.status,
            added_tx: d.added_tx,
            updated_tx: d.updated_tx,
        }
    }
}

/// A chunk of a document as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChunkView {
    /// Chunk id.
    pub id: ChunkId,
    /// Internal id of its document.
    pub doc: DocId,
    /// Position in the document (0-based).
    pub ord: u32,
    /// The text.
    pub text: String,
    /// Byte offset in the document's text.
    pub start: usize,
    /// The document's time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<TimeKey>,
    /// The transaction that added it.
    pub added_tx: TxId,
}

impl From<Chunk> for ChunkView {
    fn from(c: Chunk) -> Self {
        ChunkView {
            id: c.id,
            doc: c.doc,
            ord: c.ord,
            text: c.text,
            start: c.start,
            time: c.time,
            added_tx: c.added_tx,
        }
    }
}

/// A document with its chunks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DocumentView {
    /// The document.
    pub document: DocumentInfo,
    /// Its chunks, in order.
    pub chunks: Vec<ChunkView>,
}

/// A transaction as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TxView {
    /// Id.
    pub id: TxId,
    /// When it was committed (transaction time).
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who.
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
    /// Time nodes whose facts changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub touched_nodes: Vec<TimeKey>,
}

impl From<Tx> for TxView {
    fn from(t: Tx) -> Self {
        TxView {
            id: t.id,
            at: t.at,
            actor: t.actor,
            reason: t.reason,
            kind: t.kind,
            changes: t.changes,
            counts: t.counts,
            touched_nodes: t.touched_nodes,
        }
    }
}

/// An entry of a namespace's audit chain as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditEntryView {
    /// Position in the chain (1-based, gapless).
    pub seq: u64,
    /// The transaction it records, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<TxId>,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who.
    pub actor: String,
    /// What (operation name).
    pub action: String,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Counts of changes.
    pub counts: Counts,
    /// Extra details (ids, never content).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
    /// Hash of the previous entry.
    pub prev_hash: String,
    /// Hash of this entry.
    pub hash: String,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(a: AuditEntry) -> Self {
        AuditEntryView {
            seq: a.seq,
            tx: a.tx,
            at: a.at,
            actor: a.actor,
            action: a.action,
            reason: a.reason,
            counts: a.counts,
            details: a.details,
            prev_hash: a.prev_hash,
            hash: a.hash,
        }
    }
}

/// One key finding of a summary as the API shows it, citing the facts it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FindingView {
    /// The finding as text.
    pub text: String,
    /// The facts it cites (its lineage).
    pub facts: Vec<FactId>,
    /// The entities it is about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<EntityId>,
}

impl From<Finding> for FindingView {
    fn from(f: Finding) -> Self {
        FindingView {
            text: f.text,
            facts: f.facts,
            entities: f.entities,
        }
    }
}

/// A time node's summary as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SummaryView {
    /// The node summarised.
    pub node: TimeKey,
    /// Title.
    pub title: String,
    /// The summary text.
    pub text: String,
    /// Key findings, each with the facts it comes from.
    pub findings: Vec<FindingView>,
    /// Entities involved, most important first.
    pub entities: Vec<EntityId>,
    /// Importance in [0, 10], when the summariser gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<f32>,
    /// The summariser (`extractive`, `llm:<model>`).
    pub summarizer: String,
    /// Hash of its inputs (the server skips periods whose inputs did not change).
    pub input_hash: String,
    /// Facts inside the node when it was written.
    pub fact_count: u64,
    /// The latest transaction it reflects.
    pub reflects_tx: TxId,
    /// The version of the summary (the head transaction when it was written).
    pub version_tx: TxId,
}

impl From<Summary> for SummaryView {
    fn from(s: Summary) -> Self {
        SummaryView {
            node: s.node,
            title: s.title,
            text: s.text,
            findings: s.findings.into_iter().map(FindingView::from).collect(),
            entities: s.entities,
            rating: s.rating,
            summarizer: s.summarizer,
            input_hash: s.input_hash,
            fact_count: s.fact_count,
            reflects_tx: s.reflects_tx,
            version_tx: s.version_tx,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(object: FactObject) -> Fact {
        Fact {
            id: 7,
            subject: 1,
            object,
            description: "revenue rose to €4.2 billion".into(),
            valid: Interval::new(
                NaiveDate::from_ymd_opt(2024, 7, 1),
                NaiveDate::from_ymd_opt(2024, 10, 1),
            )
            .unwrap(),
            granularity: Granularity::Quarter,
            time_key: None,
            time_inherited: false,
            sources: vec![10, 11],
            confidence: 0.8,
            origin: FactOrigin::Extracted("rules".into()),
            invalid_from: None,
            invalidated_by: None,
            status: Status::Active,
            asserted_tx: 3,
            retracted_tx: None,
            updated_tx: 3,
        }
    }

    #[test]
    fn names_entities_next_to_their_ids_and_cites_documents() {
        let names = |e: EntityId| (e == 1 || e == 2).then(|| format!("E{e}"));
        let source = |c: ChunkId| {
            (c == 10).then(|| SourceRef {
                document: "q3-report".into(),
                chunk: c,
                time: Some("2024-Q3".into()),
            })
        };
        let v = FactView::new(&fact(FactObject::Entity(2)), names, source, Some(0.5));
        assert_eq!((v.subject.as_str(), v.subject_id), ("E1", 1));
        assert_eq!((v.object.as_deref(), v.object_id), (Some("E2"), Some(2)));
        assert_eq!(v.time, "2024-Q3");
        assert_eq!(v.sources.len(), 1, "the unknown chunk 11 is left out");
        assert_eq!(v.sources[0].document, "q3-report");
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["score"], 0.5);
        assert_eq!(json["object_id"], 2);

        let lit = FactView::new(
            &fact(FactObject::Literal("12%".into())),
            names,
            source,
            None,
        );
        let json = serde_json::to_value(&lit).unwrap();
        assert_eq!(json["object"], "12%");
        assert!(
            json["object_id"].is_null(),
            "a literal object has a null id"
        );
        assert!(
            json.get("score").is_none(),
            "only query results carry a score"
        );

        // A statement about its subject alone has no object: null, not "".
        let alone = FactView::new(
            &fact(FactObject::Literal(String::new())),
            names,
            source,
            None,
        );
        let json = serde_json::to_value(&alone).unwrap();
        assert!(
            json["object"].is_null() && json["object_id"].is_null(),
            "{json}"
        );
    }

    #[test]
    fn an_invalidated_fact_shows_its_stated_time_and_where_it_was_cut() {
        let mut f = fact(FactObject::Literal("12%".into()));
        f.invalid_from = NaiveDate::from_ymd_opt(2024, 8, 15);
        f.invalidated_by = Some(9);
        let v = FactView::new(&f, |_| None, |_| None, None);
        assert_eq!(v.valid, f.valid, "listings filter on the stated interval");
        assert_eq!(v.time, "2024-Q3");
        assert_eq!(v.invalid_from, f.invalid_from);
        assert_eq!(v.invalidated_by, Some(9));
    }
}
