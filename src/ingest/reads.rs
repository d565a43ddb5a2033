//! What building a write set reads: the store, seen through the batch before it while that
//! batch is still committing.
//!
//! A bulk load builds batch N+1 while batch N commits ([`crate::Engine::ingest_in_stages`]).
//! Batch N+1 must resolve names, find stored facts and documents, and check contradictions as
//! if batch N were already in the store. [`Pending`] holds what batch N writes, in the shape the
//! store will answer with once it is committed; [`Reads`] asks it first and the store second.
//!
//! **Invariant:** for every read it serves, `Reads { store, prev: Some(p) }` answers what
//! `store` answers after `p`'s write set has committed, whether or not it has yet. The commit of
//! the next batch checks that nothing else was committed in between (else it builds again).

use std::collections::HashMap;

use crate::Result;
use crate::model::{
    DocId, Document, Entity, EntityId, Fact, FactId, FactObject, Status, TimeNode, normalize_name,
};
use crate::store::{IdKind, NsStore, WriteSet};
use crate::time::TimeKey;

/// The records one committing batch writes, indexed as the store's lookups will find them.
#[derive(Debug, Default)]
pub struct Pending {
    /// The transaction it commits as.
    pub tx: crate::model::TxId,
    docs: HashMap<DocId, Document>,
    doc_by_ext: HashMap<String, DocId>,
    doc_by_hash: HashMap<String, DocId>,
    entities: HashMap<EntityId, Entity>,
    aliases: HashMap<String, EntityId>,
    facts: HashMap<FactId, Fact>,
    identities: HashMap<[u8; 16], FactId>,
    nodes: HashMap<TimeKey, TimeNode>,
    /// The facts it asserts, by the (subject, slot) hash the catalog files them under, in the
    /// order the catalog will append them.
    slots: HashMap<u64, Vec<FactId>>,
}

impl Pending {
    /// What `ws` writes (its facts' identities as the build found them, `ws.identities`);
    /// `name` is an entity's canonical name as the catalog knows it, for entities `ws` does not
    /// carry (the catalog applies a transaction's entities before its facts, and files a fact
    /// under its object's canonical name).
    pub fn of(ws: &WriteSet, name: &dyn Fn(EntityId) -> Option<String>) -> Pending {
        let mut p = Pending {
            tx: ws.tx,
            identities: ws.identities.iter().map(|(id, i)| (*i, *id)).collect(),
            ..Pending::default()
        };
        for d in &ws.documents {
            // As the store's commit: lookup keys only for a new document.
            if d.added_tx == ws.tx {
                p.doc_by_hash.insert(d.content_hash.clone(), d.id);
                p.doc_by_ext.insert(d.external_id.clone(), d.id);
            }
            p.docs.insert(d.id, d.clone());
        }
        for e in &ws.entities {
            // As the store's commit: every name of an active entity points to it, the later
            // entity of the batch winning.
            if e.status == Status::Active {
                for n in e.names() {
                    let n = normalize_name(n);
                    if !n.is_empty() {
                        p.aliases.insert(n, e.id);
                    }
                }
            }
            p.entities.insert(e.id, e.clone());
        }
        let asserted: std::collections::HashSet<FactId> = ws
            .changes
            .iter()
            .filter_map(|c| match c {
                crate::model::Change::AssertFact(id) => Some(*id),
                _ => None,
            })
            .collect();
        for f in &ws.facts {
            if asserted.contains(&f.id) {
                let object = match &f.object {
                    FactObject::Entity(o) => match p.entities.get(o) {
                        Some(e) => e.name.clone(),
                        None => name(*o).unwrap_or_default(),
                    },
                    FactObject::Literal(l) => l.clone(),
                };
                if let Some(h) = crate::model::slot::filed_slot(f, &object) {
                    p.slots.entry(h).or_default().push(f.id);
                }
            }
            p.facts.insert(f.id, f.clone());
        }
        for n in &ws.nodes {
            p.nodes.insert(n.key, n.clone());
        }
        p
    }

    /// The facts it files under a (subject, slot) hash.
    pub fn in_slot(&self, hash: u64) -> &[FactId] {
        self.slots.get(&hash).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// The store as a build sees it: with the batch still committing before it, if any.
#[derive(Clone, Copy)]
pub struct Reads<'a> {
    /// The namespace's store.
    pub store: &'a dyn NsStore,
    /// The batch committing before this one.
    pub prev: Option<&'a Pending>,
}

impl<'a> From<&'a dyn NsStore> for Reads<'a> {
    fn from(store: &'a dyn NsStore) -> Self {
        Reads { store, prev: None }
    }
}

impl<'a> Reads<'a> {
    /// Ids handed out from the store's counters.
    pub fn alloc_ids(&self, kind: IdKind, n: u64) -> u64 {
        self.store.alloc_ids(kind, n)
    }

    /// The current version of a document.
    pub fn document(&self, id: DocId) -> Result<Option<Document>> {
        match self.prev.and_then(|p| p.docs.get(&id)) {
            Some(d) => Ok(Some(d.clone())),
            None => self.store.document(id, None),
        }
    }

    /// The document known by a sender's id.
    pub fn document_by_external(&self, external_id: &str) -> Result<Option<DocId>> {
        match self.prev.and_then(|p| p.doc_by_ext.get(external_id)) {
            Some(id) => Ok(Some(*id)),
            None => self.store.document_by_external(external_id),
        }
    }

    /// The document known by a content hash.
    pub fn document_by_hash(&self, hash: &str) -> Result<Option<DocId>> {
        match self.prev.and_then(|p| p.doc_by_hash.get(hash)) {
            Some(id) => Ok(Some(*id)),
            None => self.store.document_by_hash(hash),
        }
    }

    /// The current version of an entity.
    pub fn entity(&self, id: EntityId) -> Result<Option<Entity>> {
        match self.prev.and_then(|p| p.entities.get(&id)) {
            Some(e) => Ok(Some(e.clone())),
            None => self.store.entity(id, None),
        }
    }

    /// The entity a normalised name resolves to.
    pub fn entity_by_alias(&self, normalized: &str) -> Result<Option<EntityId>> {
        match self.prev.and_then(|p| p.aliases.get(normalized)) {
            Some(id) => Ok(Some(*id)),
            None => self.store.entity_by_alias(normalized),
        }
    }

    /// [`Reads::entity_by_alias`] of each name, the store's part read at once.
    pub fn entities_by_alias(&self, normalized: &[String]) -> Result<Vec<Option<EntityId>>> {
        self.many(
            normalized,
            |p, n| p.aliases.get(n).copied(),
            |rest| self.store.entities_by_alias(rest),
        )
    }

    /// The current version of each entity, the store's part read at once.
    pub fn entities_current(&self, ids: &[EntityId]) -> Result<Vec<Option<Entity>>> {
        self.many(
            ids,
            |p, id| p.entities.get(id).cloned(),
            |rest| self.store.entities_current(rest),
        )
    }

    /// The current version of a fact.
    pub fn fact(&self, id: FactId) -> Result<Option<Fact>> {
        match self.prev.and_then(|p| p.facts.get(&id)) {
            Some(f) => Ok(Some(f.clone())),
            None => self.store.fact(id, None),
        }
    }

    /// The current version of each fact, the store's part read at once.
    pub fn facts_current(&self, ids: &[FactId]) -> Result<Vec<Option<Fact>>> {
        self.many(
            ids,
            |p, id| p.facts.get(id).cloned(),
            |rest| self.store.facts_current(rest),
        )
    }

    /// The fact with each identity, the store's part read at once.
    pub fn facts_by_identity(&self, identities: &[[u8; 16]]) -> Result<Vec<Option<FactId>>> {
        self.many(
            identities,
            |p, i| p.identities.get(i).copied(),
            |rest| self.store.facts_by_identity(rest),
        )
    }

    /// Each time node, the store's part read at once.
    pub fn nodes_many(&self, keys: &[TimeKey]) -> Result<Vec<Option<TimeNode>>> {
        self.many(
            keys,
            |p, k| p.nodes.get(k).cloned(),
            |rest| self.store.nodes_many(rest),
        )
    }

    /// Answers each of `keys` from the pending batch when it has it, and the others from the
    /// store in one read.
    fn many<K: Clone, V>(
        &self,
        keys: &[K],
        pending: impl Fn(&Pending, &K) -> Option<V>,
        stored: impl FnOnce(&[K]) -> Result<Vec<Option<V>>>,
    ) -> Result<Vec<Option<V>>> {
        let Some(p) = self.prev else {
            return stored(keys);
        };
        let mut out: Vec<Option<Option<V>>> =
            keys.iter().map(|k| pending(p, k).map(Some)).collect();
        let rest: Vec<K> = keys
            .iter()
            .zip(&out)
            .filter(|(_, o)| o.is_none())
            .map(|(k, _)| k.clone())
            .collect();
        if !rest.is_empty() {
            let mut found = stored(&rest)?.into_iter();
            for o in out.iter_mut().filter(|o| o.is_none()) {
                *o = Some(found.next().flatten());
            }
        }
        Ok(out.into_iter().map(Option::flatten).collect())
    }
}
