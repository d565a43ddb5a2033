//! The graph: an in-memory projection of one namespace for retrieval — a graph of entities
//! joined by time-stamped fact edges (an adjacency list per entity), plus a catalog of every fact,
//! chunk, document and entity with the few fields queries filter on (valid time, transaction
//! time, status, sources).
//!
//! It is rebuilt from the store on open and kept current by applying each committed transaction.
//! It holds the *current* version of every record; reads as of an older transaction use it for
//! candidates and confirm against the store when a record changed after the snapshot
//! ([`Catalog::needs_store_check`]).

use std::borrow::Cow;
use std::collections::BTreeSet;

use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};

use super::dense::DenseMap;

use crate::model::{
    Chunk, ChunkId, DocId, Document, Entity, EntityId, EntityKind, Fact, FactId, FactObject,
    Status, TxId,
};
use crate::time::{Interval, TimeKey};

/// What queries need of a fact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FactMeta {
    /// Subject.
    pub subject: EntityId,
    /// Object entity, if the object is an entity.
    pub object: Option<EntityId>,
    /// Effective valid time (after guarded invalidation), as day keys.
    pub vstart: i32,
    /// End (exclusive) day key.
    pub vend: i32,
    /// Active in the current state.
    pub active: bool,
    /// The transaction that wrote the current version.
    pub updated_tx: TxId,
    /// The transaction that wrote the first version: the fact is invisible at any snapshot
    /// before it (as-of reads skip it without asking the store).
    pub first_tx: TxId,
    /// Confidence.
    pub confidence: f32,
    /// Source chunks.
    pub sources: Vec<ChunkId>,
    /// Whether the time was inherited from the document.
    pub inherited: bool,
    /// The calendar unit of the valid time, when it is one (the fact's time node).
    pub key: Option<TimeKey>,
    /// The (subject, slot) hash it is filed under for contradiction checks, if it has a slot.
    pub slot: Option<u64>,
}

impl FactMeta {
    /// Whether its validity is longer than a year or unbounded (filed apart from the facts
    /// ordered by start).
    fn is_long(&self) -> bool {
        self.vstart == i32::MIN
            || self.vend == i32::MAX
            || i64::from(self.vend) - i64::from(self.vstart) > LONG_DAYS
    }

    /// Whether the fact's valid time overlaps `iv`.
    pub fn overlaps(&self, iv: &Interval) -> bool {
        self.vstart < iv.end_key() && self.vend > iv.start_key()
    }
}

/// What the graph's edge for a fact carries: the fact, and what a walk checks on every edge it
/// crosses (its valid time and whether it is active), so that a walk over a hub's edges reads
/// no fact metadata (a cache miss per edge on a large store: 7% of a news query's CPU).
///
/// Invariant: equal to the fact's [`FactMeta`] fields; [`Catalog::place_fact`] writes both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeFact {
    /// The fact.
    pub id: FactId,
    /// [`FactMeta::vstart`].
    pub vstart: i32,
    /// [`FactMeta::vend`].
    pub vend: i32,
    /// [`FactMeta::active`].
    pub active: bool,
}

impl EdgeFact {
    fn of(id: FactId, m: &FactMeta) -> EdgeFact {
        EdgeFact {
            id,
            vstart: m.vstart,
            vend: m.vend,
            active: m.active,
        }
    }
}

/// One end of a fact edge, as the entity at this end lists it: the entity at the other end and
/// the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Half {
    other: EntityId,
    edge: EdgeFact,
}

/// An entity's fact edges, each list in the order the edges were filed: where it is the
/// subject, and where it is the object. A walk reads a node's edges from two arrays (the reads
/// overlap; a linked list of edges, as a general graph keeps them, waits for each in turn: 50%
/// of PageRank's time on the news store went to that wait).
#[derive(Debug, Clone, Default)]
struct Adjacency {
    out: Vec<Half>,
    inn: Vec<Half>,
}

/// What queries need of a chunk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChunkMeta {
    /// Its document.
    pub doc: DocId,
    /// Document time as day keys (unbounded when undated).
    pub vstart: i32,
    /// End (exclusive).
    pub vend: i32,
    /// The transaction that added it.
    pub added_tx: TxId,
}

/// What queries need of a document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DocMeta {
    /// User-facing id.
    pub external_id: String,
    /// Title.
    pub title: Option<String>,
    /// Time label (`2019`, `2024-Q3`) for citations.
    pub time_label: Option<String>,
    /// Document time as day keys (`i32::MIN..i32::MAX` when undated).
    pub vstart: i32,
    /// End (exclusive).
    pub vend: i32,
    /// Active in the current state.
    pub active: bool,
    /// The transaction that wrote the current version.
    pub updated_tx: TxId,
    /// The transaction that first added it (invisible as of any earlier one).
    pub added_tx: TxId,
}

/// What queries need of an entity.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntityMeta {
    /// Display name.
    pub name: String,
    /// Kind.
    pub kind: EntityKind,
    /// Active in the current state.
    pub active: bool,
    /// The transaction that wrote the current version.
    pub updated_tx: TxId,
}

/// Version of [`CatalogSnapshot`]'s layout; a snapshot of another is ignored (full load).
const SNAPSHOT_FORMAT: u32 = 1;

/// The catalog as saved between runs (see [`Catalog::snapshot`]).
#[derive(Debug, Serialize, Deserialize)]
pub struct CatalogSnapshot<'a> {
    format: u32,
    /// The last transaction it reflects.
    pub applied_tx: TxId,
    latest_fact_end: Option<i32>,
    latest_doc_end: Option<i32>,
    docs: Vec<(DocId, Cow<'a, DocMeta>)>,
    chunks: Vec<(ChunkId, Cow<'a, ChunkMeta>)>,
    entities: Vec<(EntityId, Cow<'a, EntityMeta>)>,
    facts: Vec<(FactId, Cow<'a, FactMeta>)>,
}

/// The catalog and the entity graph of one namespace.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Facts by id.
    pub facts: DenseMap<FactMeta>,
    /// Chunks by id.
    pub chunks: DenseMap<ChunkMeta>,
    /// Documents by id.
    pub docs: DenseMap<DocMeta>,
    /// Entities by id.
    pub entities: DenseMap<EntityMeta>,
    /// Facts ordered by valid start, for time-scope enumeration.
    by_start: BTreeSet<(i32, FactId)>,
    /// Facts whose validity is longer than a year or unbounded.
    long: BTreeSet<FactId>,
    /// Facts of each entity (as subject or object).
    by_entity: HashMap<EntityId, Vec<FactId>>,
    /// Facts whose valid time is exactly a calendar unit, by unit.
    by_key: HashMap<TimeKey, Vec<FactId>>,
    /// Facts by (subject, slot) hash, for contradiction checks.
    by_slot: HashMap<u64, Vec<FactId>>,

    /// The entity graph: every entity (a node) with its fact edges. An edge joins a fact's
    /// subject and object entity when they differ.
    adj: HashMap<EntityId, Adjacency>,
    /// Number of edges.
    n_edges: usize,
    /// The last transaction applied.
    pub applied_tx: TxId,
    /// The end (exclusive day key) of the latest bounded valid time seen on facts.
    pub latest_fact_end: Option<i32>,
    /// The end (exclusive day key) of the latest document time seen.
    pub latest_doc_end: Option<i32>,
}

const LONG_DAYS: i64 = 370;

impl Catalog {
    fn node(&mut self, e: EntityId) -> &mut Adjacency {
        self.adj.entry(e).or_default()
    }

    /// Files a new edge for fact `id` between its subject `s` and object `o`.
    fn add_edge(adj: &mut HashMap<EntityId, Adjacency>, s: EntityId, o: EntityId, edge: EdgeFact) {
        adj.entry(s).or_default().out.push(Half { other: o, edge });
        adj.entry(o).or_default().inn.push(Half { other: s, edge });
    }

    /// Rewrites the edge filed for fact `edge.id` (from subject `s` to object `o`) at both ends.
    fn set_edge(&mut self, s: EntityId, o: EntityId, edge: EdgeFact) {
        for (e, as_subject) in [(s, true), (o, false)] {
            if let Some(a) = self.adj.get_mut(&e) {
                let list = if as_subject { &mut a.out } else { &mut a.inn };
                if let Some(h) = list.iter_mut().rev().find(|h| h.edge.id == edge.id) {
                    h.edge = edge;
                }
            }
        }
    }

    /// The edge filed for fact `id`, if it has one.
    #[cfg(test)]
    fn edge(&self, id: FactId) -> Option<EdgeFact> {
        let m = self.facts.get(&id)?;
        let o = m.object.filter(|o| *o != m.subject)?;
        let a = self.adj.get(&m.subject)?;
        a.out
            .iter()
            .rev()
            .find(|h| h.edge.id == id && h.other == o)
            .map(|h| h.edge)
    }

    /// Adds or updates a fact.
    pub fn put_fact(&mut self, f: &Fact) {
        let eff = f.effective_valid();
        let old = self.facts.get(&f.id);
        let slot = match old {
            Some(m) => m.slot,
            None => {
                let object_text = match &f.object {
                    FactObject::Entity(o) => self
                        .entities
                        .get(o)
                        .map(|e| e.name.clone())
                        .unwrap_or_default(),
                    FactObject::Literal(l) => l.clone(),
                };
                crate::model::slot::filed_slot(f, &object_text)
            }
        };
        let meta = FactMeta {
            subject: f.subject,
            object: match f.object {
                FactObject::Entity(o) => Some(o),
                _ => None,
            },
            vstart: eff.start_key(),
            vend: eff.end_key(),
            active: f.status == Status::Active,
            updated_tx: f.updated_tx,
            first_tx: old.map_or(f.updated_tx, |m| m.first_tx),
            confidence: f.confidence,
            sources: f.sources.clone(),
            inherited: f.time_inherited,
            key: f.time_key,
            slot,
        };
        self.place_fact(f.id, meta);
    }

    /// Files a fact's metadata: the lists by entity, time, slot and the graph edge when it is
    /// new, its time position always.
    ///
    /// An update refiles only the time position: the writes that change a fact's subject,
    /// object or time (a correction, an entity merge) retract it and assert a new id, and a
    /// rollback restores a version of the same fact, so the entity, key and slot lists and the
    /// graph edge filed for an id stay right.
    fn place_fact(&mut self, id: FactId, meta: FactMeta) {
        if let Some(old_start) = self.facts.get(&id).map(|old| old.vstart) {
            self.by_start.remove(&(old_start, id));
            // Its edge (filed when it was new) takes the version's time and status.
            if let Some(o) = meta.object.filter(|o| *o != meta.subject) {
                self.set_edge(meta.subject, o, EdgeFact::of(id, &meta));
            }
        } else {
            if let Some(k) = meta.key {
                self.by_key.entry(k).or_default().push(id);
            }
            if let Some(h) = meta.slot {
                self.by_slot.entry(h).or_default().push(id);
            }
            self.by_entity.entry(meta.subject).or_default().push(id);
            if let Some(o) = meta.object
                && o != meta.subject
            {
                self.by_entity.entry(o).or_default().push(id);
                Self::add_edge(&mut self.adj, meta.subject, o, EdgeFact::of(id, &meta));
                self.n_edges += 1;
            } else {
                self.node(meta.subject);
            }
        }
        let long = meta.is_long();
        if meta.vend != i32::MAX && meta.active {
            self.latest_fact_end =
                Some(self.latest_fact_end.map_or(meta.vend, |l| l.max(meta.vend)));
        }
        if long {
            self.long.insert(id);
        } else {
            self.long.remove(&id);
            self.by_start.insert((meta.vstart, id));
        }
        self.facts.insert(id, meta);
    }

    /// What [`Catalog::from_snapshot`] rebuilds this catalog from: the records' metadata (in
    /// id order) and the transaction it reflects; the lists and the graph are derived.
    pub fn snapshot(&self) -> CatalogSnapshot<'_> {
        CatalogSnapshot {
            format: SNAPSHOT_FORMAT,
            applied_tx: self.applied_tx,
            latest_fact_end: self.latest_fact_end,
            latest_doc_end: self.latest_doc_end,
            docs: self
                .docs
                .iter()
                .map(|(id, m)| (id, Cow::Borrowed(m)))
                .collect(),
            chunks: self
                .chunks
                .iter()
                .map(|(id, m)| (id, Cow::Borrowed(m)))
                .collect(),
            entities: self
                .entities
                .iter()
                .map(|(id, m)| (id, Cow::Borrowed(m)))
                .collect(),
            facts: self
                .facts
                .iter()
                .map(|(id, m)| (id, Cow::Borrowed(m)))
                .collect(),
        }
    }

    /// A catalog from a snapshot: entities first, then facts in id order, as a load from the
    /// store files them. `None` for a snapshot of another format.
    pub fn from_snapshot(s: CatalogSnapshot<'_>) -> Option<Catalog> {
        if s.format != SNAPSHOT_FORMAT {
            return None;
        }
        let mut c = Catalog::default();
        for (id, m) in s.docs {
            c.docs.insert(id, m.into_owned());
        }
        for (id, m) in s.chunks {
            c.chunks.insert(id, m.into_owned());
        }
        for (id, m) in s.entities {
            c.node(id);
            c.entities.insert(id, m.into_owned());
        }
        for (id, m) in s.facts {
            if c.facts.insert(id, m.into_owned()).is_some() {
                return None; // a snapshot lists each fact once
            }
        }
        // The lists and the graph are derived from the facts, in id order as `place_fact` would
        // file them, on two threads (at 1M facts this is most of opening a namespace): the
        // entity lists and the graph on one, the time lists on the other.
        let facts = &c.facts;
        let mut adj = std::mem::take(&mut c.adj);
        let (by_entity, by_key, by_slot, adj, n_edges, starts, long) = std::thread::scope(|sc| {
            let lists = sc.spawn(move || {
                let mut by_entity: HashMap<EntityId, Vec<FactId>> = HashMap::default();
                let mut by_key: HashMap<TimeKey, Vec<FactId>> = HashMap::default();
                let mut by_slot: HashMap<u64, Vec<FactId>> = HashMap::default();
                let mut n_edges = 0usize;
                for (id, meta) in facts.iter() {
                    if let Some(k) = meta.key {
                        by_key.entry(k).or_default().push(id);
                    }
                    if let Some(h) = meta.slot {
                        by_slot.entry(h).or_default().push(id);
                    }
                    by_entity.entry(meta.subject).or_default().push(id);
                    if let Some(o) = meta.object
                        && o != meta.subject
                    {
                        by_entity.entry(o).or_default().push(id);
                        Catalog::add_edge(&mut adj, meta.subject, o, EdgeFact::of(id, meta));
                        n_edges += 1;
                    } else {
                        adj.entry(meta.subject).or_default();
                    }
                }
                (by_entity, by_key, by_slot, adj, n_edges)
            });
            let mut starts = Vec::with_capacity(facts.len());
            let mut long = Vec::new();
            for (id, meta) in facts.iter() {
                if meta.is_long() {
                    long.push(id);
                } else {
                    starts.push((meta.vstart, id));
                }
            }
            starts.sort_unstable();
            let starts: BTreeSet<(i32, FactId)> = starts.into_iter().collect();
            let long: BTreeSet<FactId> = long.into_iter().collect();
            let (a, b, c2, d, e) = lists.join().ok()?;
            Some((a, b, c2, d, e, starts, long))
        })?;
        c.by_entity = by_entity;
        c.by_key = by_key;
        c.by_slot = by_slot;
        c.adj = adj;
        c.n_edges = n_edges;
        c.by_start = starts;
        c.long = long;
        c.applied_tx = s.applied_tx;
        c.latest_fact_end = s.latest_fact_end;
        c.latest_doc_end = s.latest_doc_end;
        Some(c)
    }

    /// Removes an erased fact.
    pub fn remove_fact(&mut self, id: FactId) {
        if let Some(m) = self.facts.remove(&id) {
            self.by_start.remove(&(m.vstart, id));
            if let Some(k) = m.key
                && let Some(v) = self.by_key.get_mut(&k)
            {
                v.retain(|x| *x != id);
            }
            self.long.remove(&id);
            for e in std::iter::once(m.subject).chain(m.object) {
                if let Some(v) = self.by_entity.get_mut(&e) {
                    v.retain(|x| *x != id);
                }
            }
            if let Some(o) = m.object.filter(|o| *o != m.subject) {
                let mut removed = false;
                for (e, as_subject) in [(m.subject, true), (o, false)] {
                    if let Some(a) = self.adj.get_mut(&e) {
                        let list = if as_subject { &mut a.out } else { &mut a.inn };
                        let before = list.len();
                        list.retain(|h| h.edge.id != id);
                        removed |= list.len() < before;
                    }
                }
                if removed {
                    self.n_edges -= 1;
                }
            }
        }
    }

    /// Adds or updates an entity.
    pub fn put_entity(&mut self, e: &Entity) {
        self.node(e.id);
        self.entities.insert(
            e.id,
            EntityMeta {
                name: e.name.clone(),
                kind: e.kind,
                active: e.status == Status::Active,
                updated_tx: e.updated_tx,
            },
        );
    }

    /// Removes an erased entity (its facts are erased separately).
    pub fn remove_entity(&mut self, id: EntityId) {
        self.entities.remove(&id);
        self.by_entity.remove(&id);
        // Its edges go with it, from both ends.
        if let Some(a) = self.adj.remove(&id) {
            for (h, as_subject) in a
                .out
                .iter()
                .map(|h| (h, true))
                .chain(a.inn.iter().map(|h| (h, false)))
            {
                if h.other == id {
                    continue;
                }
                if let Some(b) = self.adj.get_mut(&h.other) {
                    let list = if as_subject { &mut b.inn } else { &mut b.out };
                    list.retain(|x| x.edge.id != h.edge.id);
                }
                self.n_edges = self.n_edges.saturating_sub(1);
            }
        }
    }

    /// Adds or updates a document.
    pub fn put_doc(&mut self, d: &Document) {
        self.docs.insert(
            d.id,
            DocMeta {
                external_id: d.external_id.clone(),
                title: d.title.clone(),
                time_label: d.time.map(|t| t.to_string()),
                vstart: d.time.map_or(i32::MIN, |t| t.interval().start_key()),
                vend: d.time.map_or(i32::MAX, |t| t.interval().end_key()),
                active: d.status == Status::Active,
                updated_tx: d.updated_tx,
                added_tx: d.added_tx,
            },
        );
    }

    /// Adds a chunk.
    pub fn put_chunk(&mut self, c: &Chunk) {
        let iv = c.time.map(|t| t.interval()).unwrap_or_else(Interval::all);
        if iv.end.is_some() {
            let e = iv.end_key();
            self.latest_doc_end = Some(self.latest_doc_end.map_or(e, |l| l.max(e)));
        }
        self.chunks.insert(
            c.id,
            ChunkMeta {
                doc: c.doc,
                vstart: iv.start_key(),
                vend: iv.end_key(),
                added_tx: c.added_tx,
            },
        );
    }

    /// The default "now": the end of the latest document time (facts about future targets, such
    /// as "by 2050", must not move it), else of the latest fact.
    pub fn latest_end(&self) -> Option<i32> {
        self.latest_doc_end.or(self.latest_fact_end)
    }

    /// [`Catalog::latest_end`] as the database knew it after transaction `as_of`: the latest
    /// dated chunk added by then (one pass over the chunks; as-of reads only).
    pub fn latest_end_as_of(&self, as_of: Option<TxId>) -> Option<i32> {
        let Some(t) = as_of else {
            return self.latest_end();
        };
        self.chunks
            .iter()
            .filter(|(_, c)| c.added_tx <= t && c.vend != i32::MAX)
            .map(|(_, c)| c.vend)
            .max()
            .or(self.latest_fact_end)
    }

    /// The days the dated documents visible at a snapshot cover, `[first start, last end)` as
    /// day keys: what open ranges ("before 2025", "each quarter after 2023") are bounded by, and
    /// where the default "now" is. `visible` decides a document's visibility (a retracted or
    /// rolled-back document does not count). One pass over the documents.
    pub fn data_bounds(&self, visible: &dyn Fn(DocId, &DocMeta) -> bool) -> Option<(i32, i32)> {
        let mut out: Option<(i32, i32)> = None;
        for (id, d) in self.docs.iter() {
            if d.vstart == i32::MIN || d.vend == i32::MAX || !visible(id, d) {
                continue;
            }
            out = Some(match out {
                None => (d.vstart, d.vend),
                Some((a, b)) => (a.min(d.vstart), b.max(d.vend)),
            });
        }
        out
    }

    /// An estimate of the catalog's memory in bytes: every slot at its in-memory size, each
    /// fact's entries in the time, entity and slot lookups and the graph, each entity's node,
    /// and the strings of documents and entities at their lengths. For the memory budget across
    /// namespaces (`index_memory_mb`), not an exact account (allocator overhead is left out).
    pub fn approx_bytes(&self) -> usize {
        use std::mem::size_of;
        // A BTreeSet entry, a Vec entry in two or three lookups, an edge at both of its ends.
        const PER_FACT: usize = 24 + 3 * 8 + 2 * size_of::<Half>();
        // Its adjacency's map entry and its entry in the facts-by-entity map.
        const PER_ENTITY: usize = 8 + size_of::<Adjacency>() + 48;
        let strings: usize = self
            .docs
            .iter()
            .map(|(_, d)| {
                d.external_id.len()
                    + d.title.as_ref().map_or(0, String::len)
                    + d.time_label.as_ref().map_or(0, String::len)
            })
            .sum::<usize>()
            + self
                .entities
                .iter()
                .map(|(_, e)| e.name.len())
                .sum::<usize>();
        self.facts.slots() * size_of::<Option<FactMeta>>()
            + self.facts.len() * PER_FACT
            + self.chunks.slots() * size_of::<Option<ChunkMeta>>()
            + self.docs.slots() * size_of::<Option<DocMeta>>()
            + self.entities.slots() * size_of::<Option<EntityMeta>>()
            + self.entities.len() * PER_ENTITY
            + strings
    }

    /// Number of entity-to-entity edges.
    pub fn edge_count(&self) -> usize {
        self.n_edges
    }

    /// Whether a fact's visibility as of `as_of` cannot be decided from the current version
    /// (it changed after the snapshot).
    pub fn needs_store_check(&self, id: FactId, as_of: Option<TxId>) -> bool {
        match (as_of, self.facts.get(&id)) {
            (Some(t), Some(m)) => m.updated_tx > t,
            _ => false,
        }
    }

    /// Fact ids whose valid time overlaps `iv` (long facts included), unordered.
    pub fn facts_overlapping(&self, iv: &Interval, limit: usize) -> Vec<FactId> {
        let mut out: Vec<FactId> = self
            .long
            .iter()
            .copied()
            .filter(|id| self.facts.get(id).is_some_and(|m| m.overlaps(iv)))
            .collect();
        let (start, to) = (iv.start_key(), iv.end_key());
        // Facts starting inside the interval overlap it (`Fact::effective_valid` is never
        // empty, and only bounded facts are filed by start): no lookup for them, which matters
        // when the scope holds a large part of the store and the caller only learns that it is
        // over `limit` (three years of twelve at 100k facts: 25,000 facts walked).
        for &(_, id) in self.by_start.range((start, 0)..(to, 0)) {
            if out.len() >= limit {
                return out;
            }
            out.push(id);
        }
        // Those starting up to a year before it overlap it when they end inside or after it.
        let from = start.saturating_sub(LONG_DAYS as i32);
        for &(_, id) in self.by_start.range((from, 0)..(start, 0)) {
            if out.len() >= limit {
                break;
            }
            if self.facts.get(&id).is_some_and(|m| m.overlaps(iv)) {
                out.push(id);
            }
        }
        out
    }

    /// Facts filed under a (subject, slot) hash.
    pub fn facts_in_slot(&self, hash: u64) -> &[FactId] {
        self.by_slot.get(&hash).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Facts whose valid time is exactly the calendar unit `k` (the node's own facts).
    pub fn facts_at(&self, k: &TimeKey) -> &[FactId] {
        self.by_key.get(k).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Facts of an entity.
    pub fn facts_of(&self, e: EntityId) -> &[FactId] {
        self.by_entity.get(&e).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Personalised PageRank by local push (Andersen–Chung–Lang) from weighted seed entities,
    /// walking only fact edges that pass `edge_ok`. Returns entity scores (sum ≤ 1).
    ///
    /// Cost is bounded by `max_pushes` pushes and a budget of edge visits, so hubs (an entity with
    /// thousands of facts) cannot make a query slow. A node is pushed when its residual exceeds
    /// `epsilon ×` its in-scope degree; that degree is counted only as far as the decision needs
    /// (a hub holding a small residual is rejected after a few edges, not after all of them), and
    /// a pushed node's in-scope neighbours are listed once.
    pub fn personalized_pagerank(
        &self,
        seeds: &[(EntityId, f32)],
        edge_ok: &dyn Fn(&EdgeFact) -> bool,
        alpha: f32,
        epsilon: f32,
        max_pushes: usize,
    ) -> HashMap<EntityId, f32> {
        const MAX_EDGE_VISITS: usize = 200_000;
        let total: f32 = seeds.iter().map(|s| s.1.max(0.0)).sum();
        let mut p: HashMap<EntityId, f32> = HashMap::default();
        if total <= 0.0 {
            return p;
        }
        // In-scope neighbours of each pushed node, listed once.
        let mut nbs: HashMap<EntityId, Vec<EntityId>> = HashMap::default();
        let mut visits = 0usize;
        let mut r: HashMap<EntityId, f32> = HashMap::default();
        let mut queue: std::collections::VecDeque<EntityId> = std::collections::VecDeque::new();
        for (e, w) in seeds {
            if self.adj.contains_key(e) {
                *r.entry(*e).or_default() += w.max(0.0) / total;
                queue.push_back(*e);
            }
        }
        let mut pushes = 0;
        while let Some(u) = queue.pop_front() {
            if pushes >= max_pushes || visits >= MAX_EDGE_VISITS {
                break;
            }
            let ru = r.get(&u).copied().unwrap_or(0.0);
            // Pushed when ru > epsilon × max(degree, 1), i.e. when degree < ru / epsilon.
            let limit = ru / epsilon;
            if limit <= 1.0 {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = nbs.entry(u) {
                let mut nb: Vec<EntityId> = Vec::new();
                let mut rejected = false;
                if let Some(a) = self.adj.get(&u) {
                    // Newest first, as subject, then as object.
                    for h in a.out.iter().rev().chain(a.inn.iter().rev()) {
                        visits += 1;
                        if edge_ok(&h.edge) {
                            nb.push(h.other);
                            if nb.len() as f32 >= limit {
                                rejected = true;
                                break;
                            }
                        }
                    }
                }
                if rejected {
                    continue;
                }
                slot.insert(nb);
            }
            let nb = &nbs[&u];
            if nb.len() as f32 >= limit {
                continue;
            }
            pushes += 1;
            *p.entry(u).or_default() += alpha * ru;
            r.insert(u, 0.0);
            if nb.is_empty() {
                continue;
            }
            let share = (1.0 - alpha) * ru / nb.len() as f32;
            for &v in nb {
                let rv = r.entry(v).or_default();
                let before = *rv;
                *rv += share;
                // Enqueue when the residual crosses the threshold (degree known later; use the
                // cheap lower bound of 1 to decide, the pop re-checks).
                if before <= epsilon && *rv > epsilon {
                    queue.push_back(v);
                }
            }
        }
        // Residual mass left unpushed still says "near the seeds".
        for (n, rv) in r {
            if rv > 0.0 {
                *p.entry(n).or_default() += alpha * rv;
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FactOrigin, Status};
    use crate::time::TimeKey;

    fn fact(id: FactId, s: EntityId, o: Option<EntityId>, key: &str) -> Fact {
        let k = TimeKey::parse(key).unwrap();
        Fact {
            id,
            subject: s,
            object: o
                .map(FactObject::Entity)
                .unwrap_or(FactObject::Literal("x".into())),
            description: format!("fact {id}"),
            valid: k.interval(),
            granularity: k.granularity(),
            time_key: Some(k),
            time_inherited: false,
            sources: vec![id * 10],
            confidence: 0.8,
            origin: FactOrigin::Manual("t".into()),
            invalid_from: None,
            invalidated_by: None,
            status: Status::Active,
            asserted_tx: 1,
            retracted_tx: None,
            updated_tx: 1,
        }
    }

    #[test]
    fn default_now_as_of_a_transaction_ignores_later_documents() {
        let chunk = |id: u64, key: &str, tx: TxId| Chunk {
            id,
            doc: id,
            ord: 0,
            text: String::new(),
            start: 0,
            time: Some(TimeKey::parse(key).unwrap()),
            added_tx: tx,
        };
        let mut c = Catalog::default();
        c.put_chunk(&chunk(1, "2023-Q2", 1));
        c.put_chunk(&chunk(2, "2024-Q2", 2));
        let end = |k: &str| TimeKey::parse(k).unwrap().interval().end_key();
        assert_eq!(c.latest_end(), Some(end("2024-Q2")));
        assert_eq!(c.latest_end_as_of(None), Some(end("2024-Q2")));
        assert_eq!(c.latest_end_as_of(Some(2)), Some(end("2024-Q2")));
        assert_eq!(c.latest_end_as_of(Some(1)), Some(end("2023-Q2")));
    }

    /// Everything `from_snapshot` derives, in a comparable form.
    fn derived(c: &Catalog) -> impl PartialEq + std::fmt::Debug {
        fn sorted<K: std::fmt::Debug>(m: &HashMap<K, Vec<FactId>>) -> Vec<(String, Vec<FactId>)> {
            let mut v: Vec<_> = m
                .iter()
                .map(|(k, v)| (format!("{k:?}"), v.clone()))
                .collect();
            v.sort();
            v
        }
        // Every edge, listed (in order) by its subject and, the other way, by its object.
        let mut edges: Vec<(EntityId, Vec<Half>, Vec<Half>)> = c
            .adj
            .iter()
            .map(|(e, a)| (*e, a.out.clone(), a.inn.clone()))
            .collect();
        edges.sort_by_key(|x| x.0);
        for (e, out, _) in &edges {
            for h in out {
                let m = c.facts.get(&h.edge.id).unwrap();
                assert_eq!(h.edge, EdgeFact::of(h.edge.id, m));
                assert_eq!((m.subject, m.object), (*e, Some(h.other)));
                let back = &c.adj[&h.other].inn;
                assert!(back.contains(&Half {
                    other: *e,
                    edge: h.edge
                }));
            }
        }
        let n_in: usize = edges.iter().map(|x| x.2.len()).sum();
        let n_out: usize = edges.iter().map(|x| x.1.len()).sum();
        assert_eq!((n_in, n_out), (c.n_edges, c.n_edges));
        (
            c.by_start.clone(),
            c.long.clone(),
            sorted(&c.by_entity),
            sorted(&c.by_key),
            sorted(&c.by_slot),
            edges,
            c.edge_count(),
            (c.facts.len(), c.latest_fact_end, c.applied_tx),
        )
    }

    #[test]
    fn a_catalog_rebuilt_from_its_snapshot_derives_the_same_lists_and_graph() {
        let mut c = Catalog::default();
        for e in 1..=6 {
            c.put_entity(&Entity {
                id: e,
                name: format!("E{e}"),
                kind: Default::default(),
                aliases: vec![],
                merged_into: None,
                status: Status::Active,
                added_tx: 1,
                updated_tx: 1,
            });
        }
        let keys = ["2023", "2023-Q2", "2024-03", "2022-05-01"];
        for id in 1..=200u64 {
            let s = 1 + id % 6;
            let o = match id % 4 {
                0 => None,
                1 => Some(s), // an object that is its subject: no edge
                _ => Some(1 + (id * 5) % 6),
            };
            let mut f = fact(id, s, o, keys[id as usize % keys.len()]);
            if id % 9 == 0 {
                f.description = format!("fact {id} has revenue of");
                f.object = FactObject::Literal(format!("{id} EUR"));
            }
            if id % 11 == 0 {
                // Longer than a year: filed among the long facts.
                f.valid = crate::time::Interval::new(
                    chrono::NaiveDate::from_ymd_opt(2019, 1, 1),
                    chrono::NaiveDate::from_ymd_opt(2023, 1, 1),
                )
                .unwrap();
                f.time_key = None;
            }
            c.put_fact(&f);
        }
        // An update after the first version moves the fact in time only.
        let mut moved = fact(3, 4, Some(5), "2021");
        moved.updated_tx = 2;
        c.put_fact(&moved);
        c.applied_tx = 2;
        let bytes = postcard::to_stdvec(&c.snapshot()).unwrap();
        let back = Catalog::from_snapshot(postcard::from_bytes(&bytes).unwrap()).unwrap();
        // What filing the snapshot's records one by one gives (how it was rebuilt before the
        // lists were derived on two threads).
        let snap: CatalogSnapshot<'_> = postcard::from_bytes(&bytes).unwrap();
        let mut one_by_one = Catalog::default();
        for (id, m) in snap.entities {
            one_by_one.node(id);
            one_by_one.entities.insert(id, m.into_owned());
        }
        for (id, m) in snap.facts {
            one_by_one.place_fact(id, m.into_owned());
        }
        one_by_one.applied_tx = snap.applied_tx;
        one_by_one.latest_fact_end = snap.latest_fact_end;
        assert!(!back.long.is_empty(), "long");
        assert!(!back.by_slot.is_empty(), "slots");
        assert!(back.edge_count() > 0, "edges");
        assert_eq!(derived(&back), derived(&one_by_one));
        assert_eq!(back.facts.len(), c.facts.len());
    }

    #[test]
    fn ppr_spreads_from_seeds_along_allowed_edges() {
        let mut c = Catalog::default();
        // 1 - 2 - 3 - 4, plus 1 - 5 (edge 5 is out of scope)
        c.put_fact(&fact(1, 1, Some(2), "2019"));
        c.put_fact(&fact(2, 2, Some(3), "2019"));
        c.put_fact(&fact(3, 3, Some(4), "2019"));
        c.put_fact(&fact(5, 1, Some(5), "2023"));
        let y2019 = TimeKey::parse("2019").unwrap().interval();
        let ok = |f: &EdgeFact| c.facts.get(&f.id).unwrap().overlaps(&y2019);
        let p = c.personalized_pagerank(&[(1, 1.0)], &ok, 0.15, 1e-5, 10_000);
        // Mass decays with distance from the seed (the seed's neighbour may outrank the seed on
        // a path, since it collects from both sides).
        assert!(p[&1] > p[&3] && p[&2] > p[&3] && p[&3] > p[&4], "{p:?}");
        assert!(
            !p.contains_key(&5),
            "out-of-scope edges carry nothing: {p:?}"
        );
        let total: f32 = p.values().sum();
        assert!(total <= 1.0001);
    }

    #[test]
    fn an_edge_carries_its_facts_current_time_and_status() {
        let mut c = Catalog::default();
        c.put_fact(&fact(1, 1, Some(2), "2019"));
        c.put_fact(&fact(2, 2, Some(3), "2019"));
        let walk = |c: &Catalog| {
            let ok = |e: &EdgeFact| e.active && e.vstart < e.vend;
            let mut p: Vec<EntityId> = c
                .personalized_pagerank(&[(1, 1.0)], &ok, 0.15, 1e-5, 10_000)
                .into_keys()
                .collect();
            p.sort();
            p
        };
        assert_eq!(walk(&c), vec![1, 2, 3]);
        // Retracted: the walk no longer crosses it, as an update of the same id (no new edge).
        let mut gone = fact(2, 2, Some(3), "2019");
        gone.status = Status::Retracted;
        c.put_fact(&gone);
        assert_eq!(walk(&c), vec![1, 2]);
        assert_eq!(c.edge_count(), 2);
        assert!(!c.edge(2).unwrap().active);
        assert!(!c.adj[&3].inn[0].edge.active, "both ends");
        // Moved to another year, the edge's time follows.
        let mut moved = fact(1, 1, Some(2), "2021");
        moved.updated_tx = 2;
        c.put_fact(&moved);
        assert_eq!(c.edge(1), Some(EdgeFact::of(1, c.facts.get(&1).unwrap())));
        assert_eq!(
            c.edge(1).unwrap().vstart,
            TimeKey::parse("2021").unwrap().interval().start_key()
        );
        assert_eq!(c.adj[&2].inn[0].edge, c.edge(1).unwrap());
        // Erased, a fact's edge leaves both ends; an erased entity takes its edges along.
        c.remove_fact(1);
        assert_eq!(c.edge_count(), 1);
        assert!(c.adj[&1].out.is_empty() && c.adj[&2].inn.is_empty());
        c.remove_entity(3);
        assert_eq!(c.edge_count(), 0);
        assert!(c.adj[&2].out.is_empty());
        assert_eq!(walk(&c), vec![1]);
    }

    #[test]
    fn time_enumeration_and_removal() {
        let mut c = Catalog::default();
        c.put_fact(&fact(1, 1, None, "2019-03"));
        c.put_fact(&fact(2, 1, Some(2), "2020"));
        let mut long = fact(3, 2, None, "2019");
        long.valid = Interval::since(chrono::NaiveDate::from_ymd_opt(2010, 1, 1).unwrap());
        c.put_fact(&long);
        // Started before the quarter: one reaching into it, one ending as it starts.
        let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day);
        let mut into = fact(6, 1, None, "2018");
        into.valid = Interval::new(d(2018, 11, 15), d(2019, 2, 1)).unwrap();
        c.put_fact(&into);
        c.put_fact(&fact(7, 1, None, "2018-12"));
        // Starting on the quarter's last day, and on the day after it.
        c.put_fact(&fact(8, 1, None, "2019-03-31"));
        c.put_fact(&fact(9, 1, None, "2019-04-01"));
        let q1 = TimeKey::parse("2019-Q1").unwrap().interval();
        let mut got = c.facts_overlapping(&q1, 100);
        got.sort();
        assert_eq!(got, vec![1, 3, 6, 8]);
        // At most `limit`, all of them overlapping.
        let few = c.facts_overlapping(&q1, 2);
        assert_eq!(few.len(), 2);
        assert!(few.iter().all(|f| [1, 3, 6, 8].contains(f)));
        for id in [6, 7, 8, 9] {
            c.remove_fact(id);
        }
        c.remove_fact(2);
        assert_eq!(c.edge_count(), 0);
        assert_eq!(c.facts_of(2), &[3]);
    }
}
