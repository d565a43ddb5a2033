//! The store: the only source of truth. Everything else (text, vector and graph indexes) is
//! derived from it and can be rebuilt.
//!
//! The store is reached through two traits at the level of records, transactions and as-of scans
//! — never raw keys: [`Store`] (namespaces, schema, durability) and [`NsStore`] (one namespace's
//! records). Layers inside: [`records::RecordNs`] lays records, versions, lookup keys, counts
//! and the audit chain out over an ordered key space ([`kv::KvSpace`]), the one thing a backend
//! provides. [`SledStore`] is the embedded backend. Nothing above this module names sled types.
//!
//! **Architecture invariant:** a namespace is an isolated key space. An [`NsStore`] handle can only
//! read and write its own namespace; there is no API that takes a record id from one namespace and
//! resolves it in another.
//!
//! **Architecture invariant:** every write of knowledge goes through [`NsStore::commit`], which
//! applies one [`WriteSet`] atomically (all or nothing, also across a crash), assigns it the next
//! transaction id, appends its audit entry to the hash chain and advances the head.

pub mod commit;
mod keys;
pub mod kv;
mod migrations;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod records;
mod sled_store;

pub use keys::LONG_SPAN_DAYS;
pub use migrations::{
    CURRENT_SCHEMA_VERSION, MIGRATIONS, Migration, MigrationRecord, force_version,
};
pub use sled_store::{DEFAULT_CACHE_MB, SledStore, checkpoint, free_bytes};

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::model::{
    AuditEntry, Change, Chunk, ChunkId, DocId, Document, Entity, EntityId, Fact, FactId, Summary,
    TimeNode, Tx, TxId, TxKind,
};
use crate::time::{Interval, TimeKey};

/// A namespace as listed by the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamespaceInfo {
    /// Name.
    pub name: String,
    /// When it was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Record counts of a namespace (current state).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Stats {
    /// Active documents.
    pub documents: u64,
    /// Chunks of active documents.
    pub chunks: u64,
    /// Active facts.
    pub facts: u64,
    /// Active entities.
    pub entities: u64,
    /// Time nodes.
    pub time_nodes: u64,
    /// Committed transactions (the head transaction id).
    pub transactions: u64,
}

/// Kinds of ids a namespace allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// Documents.
    Document,
    /// Chunks.
    Chunk,
    /// Entities.
    Entity,
    /// Facts.
    Fact,
    /// Ingest jobs.
    Job,
    /// Conflicts.
    Conflict,
}

/// Records to remove physically (all versions and every key derived from them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erasure {
    /// Documents (their chunks must be listed in `chunks`).
    pub documents: Vec<DocId>,
    /// Chunks.
    pub chunks: Vec<ChunkId>,
    /// Facts.
    pub facts: Vec<FactId>,
    /// Entities.
    pub entities: Vec<EntityId>,
}

impl Erasure {
    /// Whether nothing is to be erased.
    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
            && self.chunks.is_empty()
            && self.facts.is_empty()
            && self.entities.is_empty()
    }
}

/// Everything one transaction writes. Records are written as new current versions (the previous
/// version, if any, is kept as history); `updated_tx` of each record is set to `tx` by the store.
#[derive(Debug, Clone)]
pub struct WriteSet {
    /// The transaction id this write set was built for: must be `head_tx() + 1` at commit.
    pub tx: TxId,
    /// What kind of operation.
    pub kind: TxKind,
    /// Who.
    pub actor: String,
    /// Why.
    pub reason: Option<String>,
    /// Documents added or changed.
    pub documents: Vec<Document>,
    /// Chunks added.
    pub chunks: Vec<Chunk>,
    /// Entities created or changed.
    pub entities: Vec<Entity>,
    /// Facts asserted or changed.
    pub facts: Vec<Fact>,
    /// Time nodes created or touched.
    pub nodes: Vec<TimeNode>,
    /// Time nodes whose facts changed; they and their ancestors are marked dirty.
    pub touched_nodes: Vec<TimeKey>,
    /// Summary versions to overwrite in place (only used by erase, to scrub findings).
    pub summary_rewrites: Vec<Summary>,
    /// Chunks to overwrite in place (only used by erase, to redact names).
    pub chunk_rewrites: Vec<Chunk>,
    /// Physical removals.
    pub erase: Erasure,
    /// Contradictions found (kept for review).
    pub conflicts: Vec<crate::model::Conflict>,
    /// The list of changes (kept with the transaction).
    pub changes: Vec<Change>,
    /// Extra details for the audit entry (never content).
    pub audit_details: serde_json::Value,
    /// Flush to disk before returning (the default). Bulk loaders may group-commit.
    pub durable: bool,
    /// The commit time to record instead of the clock's (an import keeps the original times).
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    /// Identities ([`crate::model::Fact::identity`]) of facts, when the builder worked them out
    /// already: the commit takes a new fact's from here instead of hashing it again. Must be
    /// each fact's own (the store's identity lookup finds facts by it).
    pub identities: std::collections::HashMap<FactId, [u8; 16]>,
}

/// Reads time nodes at once (as [`NsStore::nodes_many`]).
pub type NodesMany<'a> = dyn Fn(&[TimeKey]) -> Result<Vec<Option<TimeNode>>> + 'a;

impl WriteSet {
    /// An empty write set for transaction `tx`.
    pub fn new(tx: TxId, kind: TxKind, actor: impl Into<String>, reason: Option<String>) -> Self {
        WriteSet {
            tx,
            kind,
            actor: actor.into(),
            reason,
            documents: Vec::new(),
            chunks: Vec::new(),
            entities: Vec::new(),
            facts: Vec::new(),
            nodes: Vec::new(),
            touched_nodes: Vec::new(),
            summary_rewrites: Vec::new(),
            chunk_rewrites: Vec::new(),
            erase: Erasure::default(),
            conflicts: Vec::new(),
            changes: Vec::new(),
            audit_details: serde_json::Value::Null,
            durable: true,
            at: None,
            identities: std::collections::HashMap::new(),
        }
    }

    /// Adds the time nodes of the `touched` keys and of all their ancestors (new ones created
    /// by this transaction, existing ones marked touched by it); returns how many are new.
    pub fn add_time_nodes(
        &mut self,
        nodes_many: &NodesMany<'_>,
        touched: &std::collections::BTreeSet<TimeKey>,
    ) -> Result<u64> {
        let mut all: std::collections::BTreeSet<TimeKey> = std::collections::BTreeSet::new();
        for k in touched {
            all.insert(*k);
            all.extend(k.ancestors());
        }
        let mut new = 0;
        let keys: Vec<TimeKey> = all.into_iter().collect();
        for (k, stored) in keys.iter().copied().zip(nodes_many(&keys)?) {
            let node = match stored {
                Some(mut n) => {
                    n.touched_tx = self.tx;
                    n
                }
                None => {
                    new += 1;
                    crate::model::TimeNode {
                        key: k,
                        added_tx: self.tx,
                        touched_tx: self.tx,
                    }
                }
            };
            self.nodes.push(node);
        }
        Ok(new)
    }

    /// Refuses a write set holding a time outside the supported years 1000–9999: such a key
    /// would be written but not accepted back as input, and a record the system cannot handle
    /// must never reach the store. Every backend calls this before persisting anything.
    pub fn check(&self) -> Result<()> {
        let refuse = |what: String| {
            Err(crate::Error::Invalid(format!(
                "{what} is outside the supported years {}–{}; nothing was written",
                crate::time::key::MIN_YEAR,
                crate::time::key::MAX_YEAR
            )))
        };
        for d in &self.documents {
            if let Some(k) = d.time.filter(|k| !k.is_supported()) {
                return refuse(format!("the time {k} of document {:?}", d.external_id));
            }
        }
        for f in &self.facts {
            if f.time_key.is_some_and(|k| !k.is_supported()) || !f.valid.is_supported() {
                return refuse(format!("the valid time {} of fact {}", f.valid, f.id));
            }
        }
        let nodes = self.nodes.iter().map(|n| n.key);
        let summaries = self.summary_rewrites.iter().map(|s| s.node);
        for k in nodes
            .chain(self.touched_nodes.iter().copied())
            .chain(summaries)
        {
            if !k.is_supported() {
                return refuse(format!("the time node {k}"));
            }
        }
        Ok(())
    }

    /// Whether the write set changes nothing.
    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
            && self.chunks.is_empty()
            && self.entities.is_empty()
            && self.facts.is_empty()
            && self.nodes.is_empty()
            && self.erase.is_empty()
            && self.changes.is_empty()
    }
}

/// A time-range scan over facts.
#[derive(Debug, Clone)]
pub struct FactScan {
    /// Facts whose valid time overlaps this interval.
    pub valid: Interval,
    /// Only facts with this entity as subject or object.
    pub entity: Option<EntityId>,
    /// The transaction-time snapshot (None = current).
    pub as_of: Option<TxId>,
    /// Include facts retracted at the snapshot.
    pub include_retracted: bool,
    /// Resume after this cursor (from a previous page).
    pub cursor: Option<FactCursor>,
    /// At most this many facts.
    pub limit: usize,
}

impl FactScan {
    /// Every fact valid at some point of `valid`, current snapshot, active only, up to `limit`.
    pub fn new(valid: Interval, limit: usize) -> Self {
        FactScan {
            valid,
            entity: None,
            as_of: None,
            include_retracted: false,
            cursor: None,
            limit,
        }
    }
}

/// Position in a fact scan: facts come ordered by (valid start, id); long facts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactCursor {
    /// Valid-start day key of the last fact returned (`i32::MIN` for the long-fact prefix).
    pub start: i32,
    /// Id of the last fact returned.
    pub id: FactId,
    /// Whether the cursor is still inside the long-fact list.
    pub long: bool,
}

impl FactCursor {
    /// Opaque text form for APIs.
    pub fn encode(&self) -> String {
        format!("{}.{}.{}", u8::from(self.long), self.start, self.id)
    }
    /// Parses [`FactCursor::encode`].
    pub fn decode(s: &str) -> Result<Self> {
        let bad = || crate::Error::invalid(format!("invalid cursor {s:?}"));
        let mut it = s.split('.');
        let long = match it.next() {
            Some("1") => true,
            Some("0") => false,
            _ => return Err(bad()),
        };
        let start = it.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
        let id = it.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
        if it.next().is_some() {
            return Err(bad());
        }
        Ok(FactCursor { start, id, long })
    }
}

/// A page of results with the cursor of the next page.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts, if there is one.
    pub next: Option<FactCursor>,
}

/// Result of verifying a namespace's audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditVerify {
    /// Whether the chain is intact.
    pub ok: bool,
    /// Entries checked.
    pub entries: u64,
    /// The first entry that fails (its sequence number), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad: Option<u64>,
    /// What is wrong with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The store: namespaces, schema, durability.
pub trait Store: Send + Sync {
    /// Every namespace.
    fn namespaces(&self) -> Result<Vec<NamespaceInfo>>;
    /// A namespace's records, or None when it does not exist.
    fn namespace(&self, name: &str) -> Result<Option<Arc<dyn NsStore>>>;
    /// Creates a namespace (idempotent) and returns it.
    fn create_namespace(&self, name: &str) -> Result<Arc<dyn NsStore>>;
    /// The schema version of the open store.
    fn schema_version(&self) -> u32;
    /// The migrations applied to this store, oldest first.
    fn migrations(&self) -> Result<Vec<MigrationRecord>>;
    /// Forces everything to disk.
    fn flush(&self) -> Result<()>;
    /// Bytes the store occupies on disk.
    fn size_on_disk(&self) -> Result<u64>;
    /// Rewrites the store so that removed records leave no bytes in its files (used after an
    /// erase); returns the size on disk before and after.
    fn compact(&self) -> Result<(u64, u64)>;
    /// Copies the store into `dest` (a folder that must not exist yet) as one consistent
    /// snapshot: writers wait while it is copied, readers do not. Returns each namespace's head
    /// transaction in the copy.
    fn backup(&self, dest: &std::path::Path) -> Result<std::collections::BTreeMap<String, TxId>>;
    /// Waits until another process may have committed (a shared store announces commits), or
    /// `timeout`. Followers call it between passes; a store only this process writes just
    /// sleeps.
    fn wait_for_change(&self, timeout: std::time::Duration) {
        std::thread::sleep(timeout);
    }
}

/// One namespace's records, transactions and as-of scans.
pub trait NsStore: Send + Sync {
    /// The namespace name.
    fn name(&self) -> &str;
    /// The last committed transaction (0 when empty).
    fn head_tx(&self) -> TxId;
    /// Re-reads the head from the backend, which another process sharing it may have moved
    /// (PostgreSQL with several servers); returns it. An embedded backend's head is always
    /// current.
    fn refresh(&self) -> Result<TxId> {
        Ok(self.head_tx())
    }
    /// Allocates `n` consecutive ids of a kind and returns the first. Ids are never reused.
    fn alloc_ids(&self, kind: IdKind, n: u64) -> u64;
    /// One id of `kind` that no other process sharing the backend hands out (ids of records
    /// kept outside transactions, such as ingest jobs). With an embedded backend it is
    /// [`NsStore::alloc_ids`].
    fn alloc_shared_id(&self, kind: IdKind) -> Result<u64> {
        Ok(self.alloc_ids(kind, 1))
    }
    /// Applies a write set atomically as transaction `ws.tx` (which must be `head_tx() + 1`).
    fn commit(&self, ws: WriteSet) -> Result<Tx> {
        self.commit_keeping(ws).map(|(tx, _)| tx)
    }
    /// [`NsStore::commit`], handing back the write set: its records as they were stored (their
    /// transaction fields set), so that the indexes can take them without reading them back.
    fn commit_keeping(&self, ws: WriteSet) -> Result<(Tx, WriteSet)>;
    /// Appends an audit entry that is not a transaction (e.g. a verification, a failed request).
    fn append_audit(
        &self,
        action: &str,
        actor: &str,
        reason: Option<String>,
        details: serde_json::Value,
    ) -> Result<AuditEntry>;
    /// Record counts of the current state.
    fn stats(&self) -> Result<Stats>;

    /// One transaction.
    fn tx(&self, id: TxId) -> Result<Option<Tx>>;
    /// Transactions with ids in `from..=to`, ascending, at most `limit`.
    fn txs(&self, from: TxId, to: TxId, limit: usize) -> Result<Vec<Tx>>;
    /// Audit entries from sequence number `from`, at most `limit`.
    fn audit(&self, from: u64, limit: usize) -> Result<Vec<AuditEntry>>;
    /// Checks the hash chain of the audit log.
    fn verify_audit(&self) -> Result<AuditVerify>;

    /// A document as of a snapshot.
    fn document(&self, id: DocId, as_of: Option<TxId>) -> Result<Option<Document>>;
    /// The internal id of the document with this user-facing id.
    fn document_by_external(&self, external_id: &str) -> Result<Option<DocId>>;
    /// The document with this content hash.
    fn document_by_hash(&self, hash: &str) -> Result<Option<DocId>>;
    /// Documents in id order after `after`, as of a snapshot (active only).
    fn documents(&self, after: DocId, limit: usize, as_of: Option<TxId>) -> Result<Vec<Document>>;
    /// Current versions of every document (any status) in id order after `after`.
    fn documents_all(&self, after: DocId, limit: usize) -> Result<Vec<Document>>;
    /// A chunk.
    fn chunk(&self, id: ChunkId) -> Result<Option<Chunk>>;
    /// [`NsStore::chunk`] of each id, read at once.
    fn chunks_many(&self, ids: &[ChunkId]) -> Result<Vec<Option<Chunk>>> {
        ids.iter().map(|&id| self.chunk(id)).collect()
    }

    /// Current versions of every entity (any status) in id order after `after`.
    fn entities_all(&self, after: EntityId, limit: usize) -> Result<Vec<Entity>>;
    /// An entity as of a snapshot.
    fn entity(&self, id: EntityId, as_of: Option<TxId>) -> Result<Option<Entity>>;
    /// The entity a normalised name currently resolves to.
    fn entity_by_alias(&self, normalized: &str) -> Result<Option<EntityId>>;
    /// [`NsStore::entity_by_alias`] of each name, read at once.
    fn entities_by_alias(&self, normalized: &[String]) -> Result<Vec<Option<EntityId>>> {
        normalized.iter().map(|n| self.entity_by_alias(n)).collect()
    }
    /// The current version of each entity, read at once.
    fn entities_current(&self, ids: &[EntityId]) -> Result<Vec<Option<Entity>>> {
        ids.iter().map(|&id| self.entity(id, None)).collect()
    }
    /// Entities in id order after `after`, as of a snapshot (active only).
    fn entities(&self, after: EntityId, limit: usize, as_of: Option<TxId>) -> Result<Vec<Entity>>;

    /// A fact as of a snapshot (in whatever status it had then).
    fn fact(&self, id: FactId, as_of: Option<TxId>) -> Result<Option<Fact>>;
    /// The current version of each fact, read at once.
    fn facts_current(&self, ids: &[FactId]) -> Result<Vec<Option<Fact>>> {
        self.facts_at(ids, None)
    }
    /// [`NsStore::fact`] of each id as of `as_of`, read at once.
    fn facts_at(&self, ids: &[FactId], as_of: Option<TxId>) -> Result<Vec<Option<Fact>>> {
        ids.iter().map(|&id| self.fact(id, as_of)).collect()
    }
    /// The fact with this identity ([`Fact::identity`]).
    fn fact_by_identity(&self, identity: &[u8; 16]) -> Result<Option<FactId>>;
    /// [`NsStore::fact_by_identity`] of each identity, read at once.
    fn facts_by_identity(&self, identities: &[[u8; 16]]) -> Result<Vec<Option<FactId>>> {
        identities
            .iter()
            .map(|i| self.fact_by_identity(i))
            .collect()
    }
    /// Facts by valid time (and optionally entity) as of a snapshot, paged.
    fn facts(&self, scan: &FactScan) -> Result<Page<Fact>>;
    /// Ids of the facts changed by transactions `from..=to`, with the transaction.
    fn facts_changed(&self, from: TxId, to: TxId) -> Result<Vec<(TxId, FactId)>>;
    /// Ids of the facts that cite a chunk.
    fn facts_of_chunk(&self, chunk: ChunkId) -> Result<Vec<FactId>>;
    /// Visits the current version of every fact (any status), in id order.
    fn for_each_fact(&self, f: &mut dyn FnMut(Fact) -> Result<()>) -> Result<()>;
    /// Visits every fact that has older versions, with the transaction that wrote its first
    /// version, in id order (facts without history were created by their current version).
    fn for_each_fact_first_tx(&self, f: &mut dyn FnMut(FactId, TxId)) -> Result<()>;

    /// A time node.
    fn node(&self, key: &TimeKey) -> Result<Option<TimeNode>>;
    /// [`NsStore::node`] of each key, read at once.
    fn nodes_many(&self, keys: &[TimeKey]) -> Result<Vec<Option<TimeNode>>> {
        keys.iter().map(|k| self.node(k)).collect()
    }
    /// Every time node, in key order.
    fn nodes(&self) -> Result<Vec<TimeNode>>;
    /// The key of every time node, in key order: [`NsStore::nodes`] without reading the
    /// records (a backend that can list keys alone should).
    fn node_keys(&self) -> Result<Vec<TimeKey>> {
        Ok(self.nodes()?.into_iter().map(|n| n.key).collect())
    }
    /// Nodes whose summaries are out of date, with the transaction that dirtied them last.
    fn dirty_nodes(&self) -> Result<Vec<(TimeKey, TxId)>>;
    /// The summary of a node that reflects the latest transaction `<= as_of` (None = newest).
    fn summary(&self, key: &TimeKey, as_of: Option<TxId>) -> Result<Option<Summary>>;
    /// Every version of a node's summary, oldest first.
    fn summary_versions(&self, key: &TimeKey) -> Result<Vec<Summary>>;
    /// Stores summaries (derived data, not a transaction) and clears the dirty mark of each node
    /// whose mark is not newer than the summary's `reflects_tx`.
    fn put_summaries(&self, summaries: &[Summary]) -> Result<()>;

    /// Every recorded conflict, oldest first.
    fn conflicts(&self) -> Result<Vec<crate::model::Conflict>>;

    /// Clears the dirty mark of nodes whose mark is not newer than the given transaction (their
    /// input was unchanged, so no new summary version is needed).
    fn clear_dirty(&self, nodes: &[(TimeKey, TxId)]) -> Result<()>;

    /// Small non-transactional metadata (index checkpoints, embedder identity, job state).
    fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Sets a metadata value.
    fn meta_put(&self, key: &str, value: &[u8]) -> Result<()>;
    /// Scans metadata keys with a prefix.
    fn meta_scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>>;
    /// Removes a metadata value.
    fn meta_remove(&self, key: &str) -> Result<()>;
    /// Sets a metadata value only while it still holds `expected` (`None`: absent), atomically
    /// against every server sharing the store. Returns whether it was set.
    fn meta_swap(&self, key: &str, expected: Option<&[u8]>, value: &[u8]) -> Result<bool>;
}
