//! Read operations on records: facts (by time, entity, snapshot), entities, documents.

use serde::{Deserialize, Serialize};

use super::Engine;
use std::collections::HashMap;

use crate::model::{
    ChunkId, ChunkView, DocId, Document, DocumentInfo, DocumentView, Entity, EntityId, EntityKind,
    EntityView, Fact, FactView, SourceRef, TxId, normalize_name,
};
use crate::store::{FactCursor, FactScan, NsStore};
use crate::time::{Interval, TimeKey};
use crate::{Error, Result};

/// Most items per page.
pub const MAX_PAGE: usize = 1000;

/// Adds to `names` the name, as of `as_of`, of each entity of `f` not in it yet (`None` for one
/// the snapshot does not hold): the names a fact read at a snapshot shows.
pub(super) fn names_then(
    store: &dyn NsStore,
    f: &Fact,
    as_of: Option<TxId>,
    names: &mut HashMap<EntityId, Option<String>>,
) -> Result<()> {
    for id in f.entities() {
        if let std::collections::hash_map::Entry::Vacant(v) = names.entry(id) {
            v.insert(store.entity(id, as_of)?.map(|e| e.name));
        }
    }
    Ok(())
}

/// Parameters of a fact listing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FactListParams {
    /// Only facts about this entity (id or name).
    pub entity: Option<String>,
    /// Facts valid at or after the start of this period (2019, 2024-Q3, Q3 2024, 2024-07-15).
    pub from: Option<String>,
    /// Facts valid at or before the end of this period.
    pub to: Option<String>,
    /// Read as of this transaction (default: the current state).
    pub as_of_tx: Option<TxId>,
    /// Include retracted facts.
    #[serde(default)]
    pub include_retracted: bool,
    /// Page size (1-1000, default 100).
    #[schemars(range(min = 1, max = MAX_PAGE))]
    pub limit: Option<usize>,
    /// The previous page's `next_cursor` (omit for the first page).
    pub cursor: Option<String>,
}

/// A page of facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FactList {
    /// Facts, ordered by valid start then id.
    pub facts: Vec<FactView>,
    /// Cursor of the next page (`next_cursor` on the wire; null on the last page).
    #[serde(rename = "next_cursor")]
    pub next: Option<String>,
}

fn period_start(s: &str) -> Result<Option<chrono::NaiveDate>> {
    Ok(period(s)?.start)
}

fn period(s: &str) -> Result<Interval> {
    if let Ok(k) = TimeKey::parse(s.trim()) {
        return Ok(k.interval());
    }
    Ok(crate::time::parse_time(s, None)?.interval)
}

impl Engine {
    /// Resolves an entity given by id or by name.
    pub fn resolve_entity(&self, store: &dyn NsStore, id_or_name: &str) -> Result<Entity> {
        let found = match id_or_name.parse::<u64>() {
            Ok(id) => store.entity(id, None)?,
            Err(_) => match store.entity_by_alias(&normalize_name(id_or_name))? {
                Some(id) => store.entity(id, None)?,
                None => None,
            },
        };
        found.ok_or_else(|| Error::NotFound(format!("no entity {id_or_name:?}")))
    }

    /// The wire views of stored facts: entity names and source documents read from the store
    /// as of the same snapshot, each entity and document once per call (a page of facts
    /// shares them), the chunks of all the facts in one batch.
    pub(super) fn views(
        &self,
        store: &dyn NsStore,
        facts: Vec<Fact>,
        as_of: Option<TxId>,
    ) -> Result<Vec<FactView>> {
        let mut names = HashMap::new();
        for f in &facts {
            names_then(store, f, as_of, &mut names)?;
        }
        let mut chunk_ids: Vec<ChunkId> = facts
            .iter()
            .flat_map(|f| f.sources.iter().copied())
            .collect();
        chunk_ids.sort_unstable();
        chunk_ids.dedup();
        let mut docs: HashMap<DocId, Option<Document>> = HashMap::new();
        let mut sources: HashMap<ChunkId, SourceRef> = HashMap::new();
        for (id, c) in chunk_ids.iter().zip(store.chunks_many(&chunk_ids)?) {
            let Some(c) = c else { continue };
            let doc = match docs.entry(c.doc) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(store.document(c.doc, as_of)?)
                }
            };
            if let Some(d) = doc {
                sources.insert(
                    *id,
                    SourceRef {
                        document: d.external_id.clone(),
                        chunk: *id,
                        time: d.time.map(|t| t.to_string()),
                    },
                );
            }
        }
        Ok(facts
            .iter()
            .map(|f| {
                FactView::new(
                    f,
                    |e| names.get(&e).cloned().flatten(),
                    |c| sources.get(&c).cloned(),
                    None,
                )
            })
            .collect())
    }

    /// Lists facts by valid time (and entity) as of a snapshot, paged.
    pub fn facts(&self, namespace: &str, p: &FactListParams) -> Result<FactList> {
        let ns = self.namespace(namespace)?;
        let store = ns.store().as_ref();
        self.check_as_of(store.head_tx(), p.as_of_tx, namespace)?;
        let limit = p.limit.unwrap_or(100);
        if limit == 0 || limit > MAX_PAGE {
            return Err(Error::invalid(format!(
                "limit must be between 1 and {MAX_PAGE}"
            )));
        }
        let start = p.from.as_deref().map(period_start).transpose()?.flatten();
        let end = p.to.as_deref().map(period).transpose()?.and_then(|i| i.end);
        let valid = Interval::new(start, end).map_err(|_| {
            Error::Time(crate::time::TimeError::EmptyRange(format!(
                "`to` ({}) is before `from` ({})",
                p.to.clone().unwrap_or_default(),
                p.from.clone().unwrap_or_default()
            )))
        })?;
        let entity = match &p.entity {
            Some(e) => Some(self.resolve_entity(store, e)?.id),
            None => None,
        };
        let scan = FactScan {
            valid,
            entity,
            as_of: p.as_of_tx,
            include_retracted: p.include_retracted,
            cursor: p.cursor.as_deref().map(FactCursor::decode).transpose()?,
            limit,
        };
        let page = store.facts(&scan)?;
        Ok(FactList {
            facts: self.views(store, page.items, p.as_of_tx)?,
            next: page.next.map(|c| c.encode()),
        })
    }

    /// One fact as of a snapshot (any status).
    pub fn fact(&self, namespace: &str, id: u64, as_of: Option<TxId>) -> Result<FactView> {
        let ns = self.namespace(namespace)?;
        let store = ns.store().as_ref();
        self.check_as_of(store.head_tx(), as_of, namespace)?;
        match store.fact(id, as_of)? {
            Some(f) => Ok(self.views(store, vec![f], as_of)?.remove(0)),
            None => Err(Error::NotFound(format!(
                "no fact {id} in namespace {namespace:?}{}",
                as_of
                    .map(|t| format!(" as of transaction {t}"))
                    .unwrap_or_default()
            ))),
        }
    }

    /// An entity (by id or name) with its fact count, as of a snapshot.
    pub fn entity(
        &self,
        namespace: &str,
        id_or_name: &str,
        as_of: Option<TxId>,
    ) -> Result<EntityView> {
        let ns = self.namespace(namespace)?;
        let store = ns.store().as_ref();
        self.check_as_of(store.head_tx(), as_of, namespace)?;
        let current = self.resolve_entity(store, id_or_name)?;
        let e = match as_of {
            None => current,
            Some(t) => store.entity(current.id, Some(t))?.ok_or_else(|| {
                Error::NotFound(format!(
                    "entity {id_or_name:?} did not exist as of transaction {t}"
                ))
            })?,
        };
        let idx = self.indexes(&ns)?;
        let fact_count = idx.catalog.read().facts_of(e.id).len();
        Ok(EntityView::new(e, fact_count))
    }

    /// Entities whose name or alias contains `q` (all when empty), by id, paged.
    pub fn entities(
        &self,
        namespace: &str,
        q: Option<&str>,
        kind: Option<EntityKind>,
        after: u64,
        limit: usize,
        as_of: Option<TxId>,
    ) -> Result<Vec<EntityView>> {
        let ns = self.namespace(namespace)?;
        let store = ns.store().as_ref();
        self.check_as_of(store.head_tx(), as_of, namespace)?;
        if limit == 0 || limit > MAX_PAGE {
            return Err(Error::invalid(format!(
                "limit must be between 1 and {MAX_PAGE}"
            )));
        }
        let idx = self.indexes(&ns)?;
        let needle = q.map(|s| s.to_lowercase()).filter(|s| !s.is_empty());
        let mut out = Vec::new();
        let mut cursor = after;
        loop {
            let batch = store.entities(cursor, 500, as_of)?;
            let Some(last) = batch.last().map(|e| e.id) else {
                break;
            };
            for e in batch {
                let matches = needle
                    .as_ref()
                    .is_none_or(|n| e.names().any(|x| x.to_lowercase().contains(n.as_str())));
                if matches && kind.is_none_or(|k| e.kind == k) {
                    let fact_count = idx.catalog.read().facts_of(e.id).len();
                    out.push(EntityView::new(e, fact_count));
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
            }
            cursor = last;
        }
        Ok(out)
    }

    /// A document (by user-facing id) with its chunks, as of a snapshot.
    pub fn document(
        &self,
        namespace: &str,
        external_id: &str,
        as_of: Option<TxId>,
    ) -> Result<DocumentView> {
        let ns = self.namespace(namespace)?;
        let store = ns.store().as_ref();
        self.check_as_of(store.head_tx(), as_of, namespace)?;
        let missing = || {
            Error::NotFound(format!(
                "no document {external_id:?} in namespace {namespace:?}"
            ))
        };
        let id = store
            .document_by_external(external_id)?
            .ok_or_else(missing)?;
        let d = store.document(id, as_of)?.ok_or_else(missing)?;
        // One batched read (one round trip on a store behind a network). Chunks have no
        // versions: a chunk never changes after its document was added, except by erase, whose
        // redaction must reach every snapshot. So the current chunk is the chunk as of any
        // transaction that has the document.
        let chunks = store
            .chunks_many(&d.chunks)?
            .into_iter()
            .flatten()
            .map(ChunkView::from)
            .collect();
        Ok(DocumentView {
            document: d.into(),
            chunks,
        })
    }

    /// Documents in id order after `after` (active as of the snapshot).
    pub fn documents(
        &self,
        namespace: &str,
        after: u64,
        limit: usize,
        as_of: Option<TxId>,
    ) -> Result<Vec<DocumentInfo>> {
        let ns = self.namespace(namespace)?;
        let store = ns.store().as_ref();
        self.check_as_of(store.head_tx(), as_of, namespace)?;
        if limit == 0 || limit > MAX_PAGE {
            return Err(Error::invalid(format!(
                "limit must be between 1 and {MAX_PAGE}"
            )));
        }
        Ok(store
            .documents(after, limit, as_of)?
            .into_iter()
            .map(DocumentInfo::from)
            .collect())
    }
}
