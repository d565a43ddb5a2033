//! Entity resolution: maps entity names to ids within one namespace. Names are compared in their
//! normalised form ([`normalize_name`]), so "Crocs, Inc.", "Crocs" and "CROCS" are one entity;
//! aliases given in the text ("(NASDAQ: CROX)") join the same entity. Resolution only ever looks
//! at the namespace it was given: it never merges across namespaces.

use std::collections::{BTreeMap, HashMap};

use crate::Result;
use crate::ingest::extract::EntityMention;
use crate::ingest::reads::Reads;
use crate::model::{Entity, EntityId, EntityKind, Status, TxId, normalize_name};
use crate::store::IdKind;

/// Most aliases kept per entity.
const MAX_ALIASES: usize = 32;
/// Longest entity name or alias kept, in bytes; longer ones are cut at a word boundary. No
/// real name is this long, and a name is repeated in every fact line and citation of a context.
pub const MAX_NAME_BYTES: usize = 120;

/// `name` trimmed and cut to [`MAX_NAME_BYTES`] (at a word boundary when there is one).
pub fn clip_name(name: &str) -> String {
    let name = name.trim();
    if name.len() <= MAX_NAME_BYTES {
        return name.to_string();
    }
    let mut cut = MAX_NAME_BYTES;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &name[..cut];
    head.rfind(char::is_whitespace)
        .filter(|&i| i > MAX_NAME_BYTES / 2)
        .map_or(head, |i| &head[..i])
        .trim_end()
        .to_string()
}

/// Resolves names to entity ids for one transaction, collecting created and updated entities.
pub struct Resolver<'a> {
    store: Reads<'a>,
    tx: TxId,
    by_name: HashMap<String, EntityId>,
    /// What the store said about names, read ahead by [`Resolver::prefetch`].
    known: HashMap<String, Option<EntityId>>,
    /// Entities read from the store in this transaction.
    read: HashMap<EntityId, Option<Entity>>,
    /// Entities created or changed in this transaction, by id (ordered, so a transaction's
    /// change list, which history and exports show, is the same for the same input).
    pub changed: BTreeMap<EntityId, (Entity, bool)>,
}

impl<'a> Resolver<'a> {
    /// A resolver for transaction `tx` of a namespace.
    pub fn new(store: impl Into<Reads<'a>>, tx: TxId) -> Self {
        Resolver {
            store: store.into(),
            tx,
            by_name: HashMap::new(),
            known: HashMap::new(),
            read: HashMap::new(),
            changed: BTreeMap::new(),
        }
    }

    /// Reads ahead, at once, what the store knows of `names` and of the entities they name:
    /// [`Resolver::resolve`] then asks the store only about names it was not told of. Changes
    /// nothing in how names resolve (on a store behind a network it saves a round trip per
    /// name).
    pub fn prefetch<'n>(&mut self, names: impl IntoIterator<Item = &'n String>) -> Result<()> {
        let mut keys: Vec<String> = names
            .into_iter()
            .map(|n| key_of(&clip_name(n)))
            .filter(|k| {
                !k.is_empty() && !self.by_name.contains_key(k) && !self.known.contains_key(k)
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            return Ok(());
        }
        let ids = self.store.entities_by_alias(&keys)?;
        let mut wanted: Vec<EntityId> = ids
            .iter()
            .flatten()
            .copied()
            .filter(|id| !self.read.contains_key(id) && !self.changed.contains_key(id))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        for (id, e) in wanted.iter().zip(self.store.entities_current(&wanted)?) {
            self.read.insert(*id, e);
        }
        self.known.extend(keys.into_iter().zip(ids));
        Ok(())
    }

    fn lookup(&mut self, norm: &str) -> Result<Option<EntityId>> {
        if let Some(&id) = self.by_name.get(norm) {
            return Ok(Some(id));
        }
        let stored = match self.known.get(norm) {
            Some(&known) => known,
            None => self.store.entity_by_alias(norm)?,
        };
        let Some(mut id) = stored else {
            return Ok(None);
        };
        // Follow merges.
        for _ in 0..8 {
            match self.entity(id)? {
                Some(e) if e.merged_into.is_some() => id = e.merged_into.expect("checked"),
                Some(e) if e.status == Status::Active => break,
                _ => return Ok(None),
            }
        }
        self.by_name.insert(norm.to_string(), id);
        Ok(Some(id))
    }

    fn entity(&mut self, id: EntityId) -> Result<Option<Entity>> {
        if let Some((e, _)) = self.changed.get(&id) {
            return Ok(Some(e.clone()));
        }
        if let Some(e) = self.read.get(&id) {
            return Ok(e.clone());
        }
        let e = self.store.entity(id)?;
        self.read.insert(id, e.clone());
        Ok(e)
    }

    /// Resolves a mention (creating the entity when it is new) and returns its id.
    pub fn resolve(&mut self, m: &EntityMention) -> Result<EntityId> {
        let clipped;
        let m = if m.name.len() > MAX_NAME_BYTES
            || m.aliases.iter().any(|a| a.len() > MAX_NAME_BYTES)
        {
            clipped = EntityMention {
                name: clip_name(&m.name),
                kind: m.kind,
                aliases: m.aliases.iter().map(|a| clip_name(a)).collect(),
            };
            &clipped
        } else {
            m
        };
        let norm = key_of(&m.name);
        let mut found = self.lookup(&norm)?;
        if found.is_none() {
            for a in &m.aliases {
                if let Some(id) = self.lookup(&key_of(a))? {
                    found = Some(id);
                    break;
                }
            }
        }
        let id = match found {
            Some(id) => id,
            None => {
                let id = self.store.alloc_ids(IdKind::Entity, 1);
                let e = Entity {
                    id,
                    name: m.name.trim().to_string(),
                    kind: m.kind,
                    aliases: Vec::new(),
                    merged_into: None,
                    status: Status::Active,
                    added_tx: self.tx,
                    updated_tx: self.tx,
                };
                self.changed.insert(id, (e, true));
                self.by_name.insert(norm.clone(), id);
                id
            }
        };
        // Learn new names and better kinds.
        let Some(mut e) = self.entity(id)? else {
            return Ok(id);
        };
        let mut dirty = false;
        let mut known: Vec<String> = e.names().map(key_of).collect();
        for name in std::iter::once(&m.name).chain(m.aliases.iter()) {
            let k = key_of(name);
            if k.is_empty() || known.contains(&k) || e.aliases.len() >= MAX_ALIASES {
                continue;
            }
            // An alias already taken by another entity stays with it.
            if let Some(other) = self.lookup(&k)?
                && other != id
            {
                continue;
            }
            e.aliases.push(name.trim().to_string());
            known.push(k.clone());
            self.by_name.insert(k, id);
            dirty = true;
        }
        if e.kind == EntityKind::Other && m.kind != EntityKind::Other {
            e.kind = m.kind;
            dirty = true;
        }
        if dirty {
            let created = self.changed.get(&id).is_some_and(|(_, c)| *c);
            self.changed.insert(id, (e, created));
        }
        Ok(id)
    }

    /// Resolves a bare name (an extractor's fact subject or object) as an entity of unknown kind.
    pub fn resolve_name(&mut self, name: &str) -> Result<EntityId> {
        self.resolve(&EntityMention {
            name: name.to_string(),
            kind: EntityKind::Other,
            aliases: vec![],
        })
    }
}

/// The resolution key of a name: its normalised form, or its lower-case text when normalising
/// leaves nothing (names made of punctuation).
pub fn key_of(name: &str) -> String {
    let n = normalize_name(name);
    if n.is_empty() {
        name.trim().to_lowercase()
    } else {
        n
    }
}
