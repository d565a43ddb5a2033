//! The record layout of a namespace, over any backend's ordered key space ([`KvSpace`]): keys
//! ([`super::keys`]), current and superseded versions, lookup keys, record counts, physical
//! erasure, the transaction log and the audit chain. A backend only stores bytes; everything a
//! second backend would otherwise have to write again lives here once.
//!
//! **Invariant:** one writer at a time per namespace in this process (`commit_lock`); a backend
//! shared by several processes also checks, inside the batch's own transaction, that the head it
//! was built on is still the head ([`Expect`]), so transaction ids stay gap-free and unique.
//!
//! **Invariant:** readers never see a record version newer than the published head: every
//! versioned read resolves against a snapshot transaction id.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use parking_lot::{Mutex, MutexGuard};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::commit::{self, AuditHead};
use super::keys::{self, Key, LONG_SPAN_DAYS, id_key, id2_key, summary_key, tag};
use super::kv::{EntryIter, Expect, KvBatch, KvSpace, after, prefix_end};
use super::{AuditVerify, FactCursor, FactScan, IdKind, NsStore, Page, Stats, WriteSet};
use crate::model::{
    AuditEntry, Chunk, ChunkId, Counts, DocId, Document, Entity, EntityId, Fact, FactId, Status,
    Summary, TimeNode, Tx, TxId, normalize_name,
};
use crate::time::TimeKey;
use crate::{Error, Result};

/// One namespace's records in a backend's key space `S`.
pub struct RecordNs<S: KvSpace> {
    name: String,
    kv: S,
    head: AtomicU64,
    next_ids: [AtomicU64; 6],
    /// The id counters as stored by the last commit: ids from there on have no stored record.
    committed_ids: [AtomicU64; 6],
    commit_lock: Mutex<AuditHead>,
    /// On a remote backend: the current versions of the records the last commit wrote (a
    /// removal as None), which the indexes read back right after it. Replaced by each commit,
    /// cleared when the head is read again.
    recent: parking_lot::RwLock<HashMap<Vec<u8>, Option<Vec<u8>>>>,
}

const ID_NAMES: [&str; 6] = [
    "next_doc",
    "next_chunk",
    "next_entity",
    "next_fact",
    "next_job",
    "next_conflict",
];
const STAT_NAMES: [&str; 5] = [
    "count_documents",
    "count_chunks",
    "count_facts",
    "count_entities",
    "count_time_nodes",
];

fn id_slot(kind: IdKind) -> usize {
    match kind {
        IdKind::Document => 0,
        IdKind::Chunk => 1,
        IdKind::Entity => 2,
        IdKind::Fact => 3,
        IdKind::Job => 4,
        IdKind::Conflict => 5,
    }
}

fn meta_key(name: &str) -> Vec<u8> {
    Key::new(tag::META).str(name).build()
}

fn enc<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(v)?)
}

fn dec<T: DeserializeOwned>(b: impl AsRef<[u8]>) -> Result<T> {
    Ok(serde_json::from_slice(b.as_ref())?)
}

fn u64_val(v: Option<impl AsRef<[u8]>>) -> u64 {
    v.map(|b| keys::u64_from(b.as_ref())).unwrap_or(0)
}

/// Stat deltas of one commit, in the order of [`STAT_NAMES`].
type StatDelta = [i64; 5];

impl<S: KvSpace> RecordNs<S> {
    /// The id a lookup key (`tag` + string: external id, content hash, alias) points to.
    fn lookup(&self, tag: u8, s: &str) -> Result<Option<u64>> {
        Ok(self
            .kv
            .get(&Key::new(tag).str(s).build())?
            .map(|v| keys::u64_from(&v)))
    }

    /// The ids lookup keys point to, read at once.
    fn lookup_many(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<u64>>> {
        Ok(self
            .kv
            .get_many(keys)?
            .into_iter()
            .map(|v| v.map(|v| keys::u64_from(&v)))
            .collect())
    }

    /// The namespace's tree in the current database.
    /// Opens the namespace whose records are in `kv`: reads its head, id counters and the end
    /// of its audit chain.
    pub fn load(name: String, kv: S) -> Result<Self> {
        let (head, ids, audit_head) = Self::read_state(&kv)?;
        Ok(RecordNs {
            name,
            kv,
            head: AtomicU64::new(head),
            next_ids: ids.map(AtomicU64::new),
            committed_ids: ids.map(AtomicU64::new),
            commit_lock: Mutex::new(audit_head),
            recent: Default::default(),
        })
    }

    /// The head, the next id of each kind and the end of the audit chain, as stored.
    fn read_state(kv: &S) -> Result<(TxId, [u64; 6], AuditHead)> {
        let head = u64_val(kv.get(&meta_key("head_tx"))?);
        let mut ids = [1; 6];
        for (i, id) in ids.iter_mut().enumerate() {
            *id = u64_val(kv.get(&meta_key(ID_NAMES[i]))?).max(1);
        }
        let audit_head = match kv.last(&[tag::AUDIT], &[tag::AUDIT + 1])? {
            Some((_, v)) => {
                let e: AuditEntry = dec(&v)?;
                AuditHead {
                    seq: e.seq,
                    hash: e.hash,
                }
            }
            None => AuditHead::default(),
        };
        Ok((head, ids, audit_head))
    }

    fn reload(&self, audit: &mut AuditHead) -> Result<()> {
        let (head, ids, audit_head) = Self::read_state(&self.kv)?;
        self.recent.write().clear();
        self.head.store(head, Ordering::SeqCst);
        for (slot, id) in self.next_ids.iter().zip(ids) {
            // Ids handed out here but not yet committed stay reserved.
            slot.fetch_max(id, Ordering::SeqCst);
        }
        for (slot, id) in self.committed_ids.iter().zip(ids) {
            slot.store(id, Ordering::SeqCst);
        }
        *audit = audit_head;
        Ok(())
    }

    /// The versions of records `ids` (key space `tag`) visible at `snapshot`, read at once as
    /// [`RecordNs::versioned`] reads them one by one: the current one, or (written after the
    /// snapshot, or missing) what `one` reads from the history.
    fn current_many<T: DeserializeOwned>(
        &self,
        tag: u8,
        ids: &[u64],
        snapshot: TxId,
        updated: impl Fn(&T) -> TxId,
        one: impl Fn(u64) -> Result<Option<T>>,
    ) -> Result<Vec<Option<T>>> {
        let mut bytes: Vec<Option<Option<Vec<u8>>>> = Vec::with_capacity(ids.len());
        let mut keys: Vec<Vec<u8>> = Vec::new();
        {
            let recent = self.recent.read();
            for &id in ids {
                let key = id_key(tag, id);
                match recent.get(&key) {
                    Some(v) => bytes.push(Some(v.clone())),
                    None => {
                        bytes.push(None);
                        keys.push(key);
                    }
                }
            }
        }
        let mut stored = self.kv.get_many(&keys)?.into_iter();
        let versioned = tag != tag::CHUNK;
        let mut out = Vec::with_capacity(ids.len());
        for (&id, b) in ids.iter().zip(bytes) {
            let b = match b {
                Some(b) => b,
                None => stored.next().flatten().map(|b| b.to_vec()),
            };
            let rec: Option<T> = b.map(dec).transpose()?;
            out.push(match rec {
                Some(r) if versioned && updated(&r) > snapshot => one(id)?,
                None if versioned => one(id)?,
                r => r,
            });
        }
        Ok(out)
    }

    /// Up to `limit` current versions of key space `cur_tag` (ids after `after`, in id order,
    /// whatever their status).
    fn list_current<T: DeserializeOwned>(
        &self,
        cur_tag: u8,
        hist_tag: u8,
        after: u64,
        limit: usize,
    ) -> Result<Vec<T>> {
        self.kv
            .range(
                &id_key(cur_tag, after.saturating_add(1)),
                Some(&id_key(hist_tag, 0)),
            )
            .take(limit)
            .map(|kv| dec(&kv?.1))
            .collect()
    }

    /// Up to `limit` records of key space `cur_tag` (ids after `after`, in id order) that
    /// `read` returns (the version and status a listing wants).
    fn list_active<T>(
        &self,
        cur_tag: u8,
        hist_tag: u8,
        after: u64,
        limit: usize,
        read: impl Fn(u64) -> Result<Option<T>>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for kv in self.kv.range(
            &id_key(cur_tag, after.saturating_add(1)),
            Some(&id_key(hist_tag, 0)),
        ) {
            if let Some(r) = read(keys::u64_from(&kv?.0[1..]))? {
                out.push(r);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The backend's key space.
    pub fn kv(&self) -> &S {
        &self.kv
    }

    /// Holds off every write of this namespace (commits, audit appends, summaries, metadata)
    /// while the guard lives: for backend-wide work such as a compaction or a backup.
    pub fn lock_writes(&self) -> MutexGuard<'_, AuditHead> {
        self.commit_lock.lock()
    }

    /// Every entry whose key starts with `prefix`, ascending.
    fn scan(&self, prefix: impl AsRef<[u8]>) -> EntryIter<'_, S::Bytes> {
        let prefix = prefix.as_ref();
        self.kv.range(prefix, prefix_end(prefix).as_deref())
    }

    /// The entries with `lo <= key <= hi`, ascending.
    fn range_incl(&self, lo: &[u8], hi: &[u8]) -> EntryIter<'_, S::Bytes> {
        self.kv.range(lo, Some(&after(hi)))
    }

    /// The greatest entry with `lo <= key <= hi`.
    fn last_incl(&self, lo: &[u8], hi: &[u8]) -> Result<Option<(S::Bytes, S::Bytes)>> {
        self.kv.last(lo, &after(hi))
    }

    fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        if let Some(v) = self.recent.read().get(key) {
            return v.as_deref().map(dec).transpose();
        }
        match self.kv.get(key)? {
            Some(v) => Ok(Some(dec(&v)?)),
            None => Ok(None),
        }
    }

    /// The version of a versioned record visible at `as_of`: the current one when it is not newer,
    /// else the newest history version with tx <= as_of.
    fn versioned<T: DeserializeOwned>(
        &self,
        cur_tag: u8,
        hist_tag: u8,
        id: u64,
        as_of: Option<TxId>,
        updated: impl Fn(&T) -> TxId,
    ) -> Result<Option<T>> {
        let cur: Option<T> = self.get(&id_key(cur_tag, id))?;
        let snapshot = as_of.unwrap_or(u64::MAX).min(self.head_tx());
        match cur {
            Some(c) if updated(&c) <= snapshot => Ok(Some(c)),
            Some(_) | None => {
                // Newer than the snapshot (or erased): look in history.
                let lo = id2_key(hist_tag, id, 0);
                let hi = id2_key(hist_tag, id, snapshot);
                match self.last_incl(&lo, &hi)? {
                    Some(kv) => Ok(Some(dec(&kv.1)?)),
                    None => Ok(None),
                }
            }
        }
    }

    fn stat(&self, i: usize) -> Result<u64> {
        Ok(u64_val(self.kv.get(&meta_key(STAT_NAMES[i]))?))
    }

    fn write_versioned(
        &self,
        batch: &mut KvBatch,
        cur_tag: u8,
        hist_tag: u8,
        id: u64,
        new: Vec<u8>,
        old: Option<(&S::Bytes, TxId)>,
    ) {
        if let Some((old_bytes, old_tx)) = old {
            batch.insert(id2_key(hist_tag, id, old_tx), old_bytes.as_ref());
        }
        batch.insert(id_key(cur_tag, id), new);
    }

    fn remove_prefix(&self, batch: &mut KvBatch, prefix: &[u8]) -> Result<u64> {
        let mut n = 0;
        for kv in self.scan(prefix) {
            let (k, _) = kv?;
            batch.remove(&*k);
            n += 1;
        }
        Ok(n)
    }

    fn fact_time_keys(f: &Fact) -> (i32, i32, bool) {
        let s = f.valid.start_key();
        let e = f.valid.end_key();
        let long = f.valid.start.is_none()
            || f.valid.end.is_none()
            || f.valid.days().is_none_or(|d| d > LONG_SPAN_DAYS as i64);
        (s, e, long)
    }

    fn fact_entities(f: &Fact) -> Vec<EntityId> {
        let mut v: Vec<EntityId> = f.entities().collect();
        v.dedup();
        v
    }

    fn commit_inner(&self, mut ws: WriteSet, audit: &mut AuditHead) -> Result<(Tx, WriteSet)> {
        let tx = ws.tx;
        let mut batch = KvBatch::default();
        let mut delta: StatDelta = [0; 5];
        let active = |s: Status| i64::from(s == Status::Active);
        // The previous version of every record written, and which time nodes exist, read at
        // once (one round trip on a backend behind a network).
        // A record whose id was handed out since the last commit (between the stored counter
        // and this process's) has no previous version: it is not looked up (in a bulk ingest,
        // nearly every record).
        let fresh = |kind: IdKind| {
            let slot = id_slot(kind);
            self.committed_ids[slot].load(Ordering::SeqCst)
                ..self.next_ids[slot].load(Ordering::SeqCst)
        };
        let (docs, ents, facts) = (
            fresh(IdKind::Document),
            fresh(IdKind::Entity),
            fresh(IdKind::Fact),
        );
        let mut wanted: Vec<Option<Vec<u8>>> = Vec::new();
        wanted.extend(
            (ws.documents.iter()).map(|d| (!docs.contains(&d.id)).then(|| id_key(tag::DOC, d.id))),
        );
        wanted.extend(
            (ws.entities.iter()).map(|e| (!ents.contains(&e.id)).then(|| id_key(tag::ENT, e.id))),
        );
        wanted.extend(
            (ws.facts.iter()).map(|f| (!facts.contains(&f.id)).then(|| id_key(tag::FACT, f.id))),
        );
        let node_keys: Vec<Vec<u8>> = ws
            .nodes
            .iter()
            .map(|n| Key::new(tag::NODE).str(&n.key.to_string()).build())
            .collect();
        wanted.extend(node_keys.iter().cloned().map(Some));
        let keys: Vec<Vec<u8>> = wanted.iter().flatten().cloned().collect();
        let mut found = self.kv.get_many(&keys)?.into_iter();
        let mut previous = wanted.into_iter();
        let mut old_of = move || match previous.next().flatten() {
            Some(_) => found.next().flatten(),
            None => None,
        };

        for d in &mut ws.documents {
            d.updated_tx = tx;
            let old = old_of();
            let old_doc: Option<Document> = old.as_ref().map(dec).transpose()?;
            let was = old_doc.as_ref().map(|o| active(o.status)).unwrap_or(0);
            delta[0] += active(d.status) - was;
            delta[1] += (active(d.status) - was) * d.chunks.len() as i64;
            if old_doc.is_none() {
                batch.insert(
                    Key::new(tag::DOC_HASH).str(&d.content_hash).build(),
                    d.id.to_be_bytes(),
                );
                batch.insert(
                    Key::new(tag::DOC_EXT).str(&d.external_id).build(),
                    d.id.to_be_bytes(),
                );
            }
            let old_pair = old.as_ref().zip(old_doc.as_ref().map(|o| o.updated_tx));
            self.write_versioned(&mut batch, tag::DOC, tag::DOC_HIST, d.id, enc(d)?, old_pair);
        }
        for c in &ws.chunks {
            batch.insert(id_key(tag::CHUNK, c.id), enc(c)?);
        }
        for e in &mut ws.entities {
            e.updated_tx = tx;
            let old = old_of();
            let old_e: Option<Entity> = old.as_ref().map(dec).transpose()?;
            delta[3] += active(e.status) - old_e.as_ref().map(|o| active(o.status)).unwrap_or(0);
            if e.status == Status::Active {
                for name in e.names() {
                    let n = normalize_name(name);
                    if !n.is_empty() {
                        batch.insert(Key::new(tag::ENT_ALIAS).str(&n).build(), e.id.to_be_bytes());
                    }
                }
            }
            let old_pair = old.as_ref().zip(old_e.as_ref().map(|o| o.updated_tx));
            self.write_versioned(&mut batch, tag::ENT, tag::ENT_HIST, e.id, enc(e)?, old_pair);
        }
        // The transaction's links, one key per chunk and one for the transaction (see `keys`).
        let mut tx_facts: Vec<FactId> = Vec::with_capacity(ws.facts.len());
        let mut chunk_facts: BTreeMap<ChunkId, Vec<FactId>> = BTreeMap::new();
        for f in &mut ws.facts {
            f.updated_tx = tx;
            let old = old_of();
            let old_f: Option<Fact> = old.as_ref().map(dec).transpose()?;
            delta[2] += active(f.status) - old_f.as_ref().map(|o| active(o.status)).unwrap_or(0);
            let (s, e, long) = Self::fact_time_keys(f);
            let old_sources: BTreeSet<ChunkId> = old_f
                .as_ref()
                .map(|o| o.sources.iter().copied().collect())
                .unwrap_or_default();
            if old_f.is_none() {
                let identity = match ws.identities.get(&f.id) {
                    Some(i) => {
                        debug_assert_eq!(*i, f.identity(), "fact {}", f.id);
                        *i
                    }
                    None => f.identity(),
                };
                batch.insert(
                    Key::new(tag::FACT_KEY).bytes(&identity).build(),
                    f.id.to_be_bytes(),
                );
                batch.insert(
                    Key::new(tag::FACT_TIME).i32(s).u64(f.id).build(),
                    keys::i32_key(e),
                );
                if long {
                    batch.insert(id_key(tag::FACT_LONG, f.id), []);
                }
                for ent in Self::fact_entities(f) {
                    batch.insert(
                        Key::new(tag::FACT_ENT).u64(ent).i32(s).u64(f.id).build(),
                        keys::i32_key(e),
                    );
                }
            }
            for src in &f.sources {
                if !old_sources.contains(src) {
                    chunk_facts.entry(*src).or_default().push(f.id);
                }
            }
            tx_facts.push(f.id);
            let old_pair = old.as_ref().zip(old_f.as_ref().map(|o| o.updated_tx));
            self.write_versioned(
                &mut batch,
                tag::FACT,
                tag::FACT_HIST,
                f.id,
                enc(f)?,
                old_pair,
            );
        }
        if !tx_facts.is_empty() {
            batch.insert(id_key(tag::FACT_TX_SET, tx), keys::id_list(&tx_facts));
        }
        for (chunk, facts) in &chunk_facts {
            batch.insert(
                id2_key(tag::FACT_CHUNK_SET, *chunk, tx),
                keys::id_list(facts),
            );
        }
        for (n, k) in ws.nodes.iter().zip(node_keys) {
            if old_of().is_none() {
                delta[4] += 1;
            }
            batch.insert(k, enc(n)?);
        }
        let dirty = commit::dirtied(&ws);
        for k in &dirty {
            batch.insert(
                Key::new(tag::DIRTY).str(&k.to_string()).build(),
                tx.to_be_bytes(),
            );
        }
        for c in &ws.conflicts {
            batch.insert(id_key(tag::CONFLICT, c.id), enc(c)?);
        }
        for c in &ws.chunk_rewrites {
            batch.insert(id_key(tag::CHUNK, c.id), enc(c)?);
        }
        for s in &ws.summary_rewrites {
            batch.insert(summary_key(&s.node.to_string(), s.reflects_tx), enc(s)?);
        }
        let erased = self.erase_into(&mut batch, &ws, &mut delta)?;
        let commit::Sealed {
            tx: record,
            audit: entry,
        } = commit::seal(&mut ws, &dirty, erased, audit);
        batch.insert(id_key(tag::TX, tx), enc(&record)?);
        let audit_seq = entry.seq;
        batch.insert(id_key(tag::AUDIT, audit_seq), enc(&entry)?);
        batch.announce = true;

        batch.insert(meta_key("head_tx"), tx.to_be_bytes());
        let next_ids: [u64; 6] = std::array::from_fn(|i| self.next_ids[i].load(Ordering::SeqCst));
        for (name, next) in ID_NAMES.iter().zip(next_ids) {
            batch.insert(meta_key(name), next.to_be_bytes());
        }
        for (i, name) in STAT_NAMES.iter().enumerate() {
            if delta[i] != 0 {
                let v = (self.stat(i)? as i64 + delta[i]).max(0) as u64;
                batch.insert(meta_key(name), v.to_be_bytes());
            }
        }

        // Built on the head read above, and on the audit chain's end: a backend shared with
        // other processes checks that the head still is, and that no other server appended an
        // audit entry (one that is not a transaction) into this entry's slot meanwhile.
        let expect = [
            Expect {
                key: meta_key("head_tx"),
                expected: (tx > 1).then(|| (tx - 1).to_be_bytes().to_vec()),
            },
            Expect {
                key: id_key(tag::AUDIT, audit_seq),
                expected: None,
            },
        ];
        let recent: HashMap<Vec<u8>, Option<Vec<u8>>> = if self.kv.remote() {
            let current = [tag::DOC, tag::CHUNK, tag::ENT, tag::FACT];
            batch
                .writes
                .iter()
                .filter(|(k, _)| k.len() == 9 && current.contains(&k[0]))
                .cloned()
                .collect()
        } else {
            HashMap::new()
        };
        self.recent.write().clear();
        self.kv.apply(batch, &expect, ws.durable)?;
        *self.recent.write() = recent;
        for (slot, next) in self.committed_ids.iter().zip(next_ids) {
            slot.store(next, Ordering::SeqCst);
        }
        self.head.store(tx, Ordering::SeqCst);
        audit.advance(&entry);
        Ok((record, ws))
    }

    /// Physical removal: every version and every key derived from the erased records.
    fn erase_into(&self, batch: &mut KvBatch, ws: &WriteSet, delta: &mut StatDelta) -> Result<u64> {
        let mut n = 0;
        // The chunks whose link lists name an erased fact.
        let mut unlinked: BTreeMap<ChunkId, BTreeSet<FactId>> = BTreeMap::new();
        for &id in &ws.erase.facts {
            if let Some(f) = self.get::<Fact>(&id_key(tag::FACT, id))? {
                if f.status == Status::Active {
                    delta[2] -= 1;
                }
                let (s, _, _) = Self::fact_time_keys(&f);
                batch.remove(Key::new(tag::FACT_KEY).bytes(&f.identity()).build());
                batch.remove(Key::new(tag::FACT_TIME).i32(s).u64(id).build());
                batch.remove(id_key(tag::FACT_LONG, id));
                for ent in Self::fact_entities(&f) {
                    batch.remove(Key::new(tag::FACT_ENT).u64(ent).i32(s).u64(id).build());
                }
                for src in &f.sources {
                    batch.remove(id2_key(tag::FACT_CHUNK, *src, id));
                    unlinked.entry(*src).or_default().insert(id);
                }
            }
            // History versions may cite other sources: drop their chunk links too.
            for kv in self.scan(id_key(tag::FACT_HIST, id)) {
                let (k, v) = kv?;
                let old: Fact = dec(&v)?;
                for src in &old.sources {
                    batch.remove(id2_key(tag::FACT_CHUNK, *src, id));
                    unlinked.entry(*src).or_default().insert(id);
                }
                batch.remove(&*k);
            }
            batch.remove(id_key(tag::FACT, id));
            n += 1;
        }
        // Each link list naming an erased fact is written again without it (or removed), after
        // every erased fact is known: one transaction may erase several facts of one list.
        for (chunk, gone) in &unlinked {
            for kv in self.scan(id_key(tag::FACT_CHUNK_SET, *chunk)) {
                let (k, v) = kv?;
                let facts = keys::id_list_from(&v)
                    .ok_or_else(|| Error::Store("corrupt chunk link list".into()))?;
                let kept: Vec<FactId> = facts
                    .iter()
                    .copied()
                    .filter(|f| !gone.contains(f))
                    .collect();
                if kept.is_empty() {
                    batch.remove(&*k);
                } else if kept.len() < facts.len() {
                    batch.insert(&*k, keys::id_list(&kept));
                }
            }
        }
        for &id in &ws.erase.chunks {
            batch.remove(id_key(tag::CHUNK, id));
            n += 1;
        }
        for &id in &ws.erase.documents {
            if let Some(d) = self.get::<Document>(&id_key(tag::DOC, id))? {
                if d.status == Status::Active {
                    delta[0] -= 1;
                    delta[1] -= d.chunks.len() as i64;
                }
                // Two documents given their own ids may share a content; the lookup names one
                // of them, and stays when it names the other.
                if self.lookup(tag::DOC_HASH, &d.content_hash)? == Some(id) {
                    batch.remove(Key::new(tag::DOC_HASH).str(&d.content_hash).build());
                }
                batch.remove(Key::new(tag::DOC_EXT).str(&d.external_id).build());
            }
            n += self.remove_prefix(batch, &id_key(tag::DOC_HIST, id))?;
            batch.remove(id_key(tag::DOC, id));
            n += 1;
        }
        for &id in &ws.erase.entities {
            let mut names = BTreeSet::new();
            if let Some(e) = self.get::<Entity>(&id_key(tag::ENT, id))? {
                if e.status == Status::Active {
                    delta[3] -= 1;
                }
                names.extend(e.names().map(normalize_name));
            }
            for kv in self.scan(id_key(tag::ENT_HIST, id)) {
                let (k, v) = kv?;
                let old: Entity = dec(&v)?;
                names.extend(old.names().map(normalize_name));
                batch.remove(&*k);
            }
            for name in names {
                let k = Key::new(tag::ENT_ALIAS).str(&name).build();
                if self.kv.get(&k)?.map(|v| keys::u64_from(&v)) == Some(id) {
                    batch.remove(k);
                }
            }
            batch.remove(id_key(tag::ENT, id));
            n += 1;
        }
        Ok(n)
    }

    fn scan_facts_range(
        &self,
        lo: Vec<u8>,
        hi: Vec<u8>,
        key_start: usize,
        scan: &FactScan,
        long: bool,
        out: &mut Vec<Fact>,
    ) -> Result<Option<FactCursor>> {
        let (qs, qe) = (scan.valid.start_key(), scan.valid.end_key());
        for kv in self.kv.range(&lo, Some(&hi)) {
            let (k, v) = kv?;
            let (start, id) = if long {
                (i32::MIN, keys::u64_from(&k[1..]))
            } else {
                (
                    keys::i32_from(&k[key_start..]),
                    keys::u64_from(&k[key_start + 4..]),
                )
            };
            if !long {
                let end = keys::i32_from(&v);
                if !(start < qe && end > qs) {
                    continue;
                }
                // Long facts are also in this index; they were listed from `FACT_LONG`.
                if start == i32::MIN
                    || end == i32::MAX
                    || i64::from(end) - i64::from(start) > i64::from(LONG_SPAN_DAYS)
                {
                    continue;
                }
            }
            if let Some(c) = scan.cursor
                && c.long == long
                && (start, id) <= (c.start, c.id)
            {
                continue;
            }
            let Some(f) = self.fact(id, scan.as_of)? else {
                continue;
            };
            if !scan.include_retracted && f.status != Status::Active {
                continue;
            }
            if long {
                if !f.valid.overlaps(&scan.valid) {
                    continue;
                }
                if let Some(ent) = scan.entity
                    && !Self::fact_entities(&f).contains(&ent)
                {
                    continue;
                }
            }
            out.push(f);
            if out.len() >= scan.limit {
                return Ok(Some(FactCursor { start, id, long }));
            }
        }
        Ok(None)
    }
}

impl<S: KvSpace> NsStore for RecordNs<S> {
    fn name(&self) -> &str {
        &self.name
    }

    fn head_tx(&self) -> TxId {
        self.head.load(Ordering::SeqCst)
    }

    fn refresh(&self) -> Result<TxId> {
        let mut audit = self.commit_lock.lock();
        self.reload(&mut audit)?;
        Ok(self.head_tx())
    }

    fn alloc_ids(&self, kind: IdKind, n: u64) -> u64 {
        self.next_ids[id_slot(kind)].fetch_add(n, Ordering::SeqCst)
    }

    fn commit_keeping(&self, ws: WriteSet) -> Result<(Tx, WriteSet)> {
        ws.check()?;
        self.kv.check_writable()?;
        let mut audit = self.commit_lock.lock();
        let head = self.head_tx();
        if ws.tx != head + 1 {
            return Err(Error::Conflict(format!(
                "write set was built for transaction {} but the next transaction is {}",
                ws.tx,
                head + 1
            )));
        }
        match self.commit_inner(ws, &mut audit) {
            // Another process sharing the backend committed first: take its head, ids and audit
            // chain, so that the caller's retry is built on them.
            Err(Error::Conflict(m)) => {
                self.reload(&mut audit)?;
                Err(Error::Conflict(m))
            }
            r => r.map_err(|e| self.kv.note_failure(e)),
        }
    }

    fn append_audit(
        &self,
        action: &str,
        actor: &str,
        reason: Option<String>,
        details: serde_json::Value,
    ) -> Result<AuditEntry> {
        self.kv.check_writable()?;
        let mut audit = self.commit_lock.lock();
        let entry = audit.next(AuditEntry {
            seq: 0,
            tx: None,
            at: Utc::now(),
            actor: actor.to_string(),
            action: action.to_string(),
            reason,
            counts: Counts::default(),
            details,
            prev_hash: String::new(),
            hash: String::new(),
        });
        let mut batch = KvBatch::default();
        batch.insert(id_key(tag::AUDIT, entry.seq), enc(&entry)?);
        let expect = Expect {
            key: id_key(tag::AUDIT, entry.seq),
            expected: None,
        };
        self.kv.apply(batch, &[expect], true)?;
        audit.advance(&entry);
        Ok(entry)
    }

    fn stats(&self) -> Result<Stats> {
        Ok(Stats {
            documents: self.stat(0)?,
            chunks: self.stat(1)?,
            facts: self.stat(2)?,
            entities: self.stat(3)?,
            time_nodes: self.stat(4)?,
            transactions: self.head_tx(),
        })
    }

    fn tx(&self, id: TxId) -> Result<Option<Tx>> {
        self.get(&id_key(tag::TX, id))
    }

    fn txs(&self, from: TxId, to: TxId, limit: usize) -> Result<Vec<Tx>> {
        let mut out = Vec::new();
        if from > to {
            return Ok(out);
        }
        for kv in self.range_incl(&id_key(tag::TX, from), &id_key(tag::TX, to)) {
            out.push(dec(&kv?.1)?);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn audit(&self, from: u64, limit: usize) -> Result<Vec<AuditEntry>> {
        let mut out = Vec::new();
        for kv in self.kv.range(
            &id_key(tag::AUDIT, from),
            Some(&id_key(tag::AUDIT, u64::MAX)),
        ) {
            out.push(dec(&kv?.1)?);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn verify_audit(&self) -> Result<AuditVerify> {
        let entries = self.scan([tag::AUDIT]).map(|kv| {
            let (k, v) = kv?;
            let entry = serde_json::from_slice::<AuditEntry>(&v).map_err(|e| e.to_string());
            Ok((keys::u64_from(&k[1..]), entry))
        });
        if !self.kv.remote() {
            return commit::verify_chain(entries, || self.commit_lock.lock().seq);
        }
        // Other servers may append while the chain is read: it is read again until no entry
        // was appended meanwhile, and must end at the last entry stored.
        drop(entries);
        let last_seq = || -> Result<u64> {
            Ok(self
                .kv
                .last(&[tag::AUDIT], &[tag::AUDIT + 1])?
                .map_or(0, |(k, _)| keys::u64_from(&k[1..])))
        };
        let mut attempts = 0;
        loop {
            let before = last_seq()?;
            let entries = self.scan([tag::AUDIT]).map(|kv| {
                let (k, v) = kv?;
                let entry = serde_json::from_slice::<AuditEntry>(&v).map_err(|e| e.to_string());
                Ok((keys::u64_from(&k[1..]), entry))
            });
            let verdict = commit::verify_chain(
                entries.take_while(|e| e.as_ref().map_or(true, |(seq, _)| *seq <= before)),
                || before,
            )?;
            attempts += 1;
            if verdict.ok || attempts >= 3 || last_seq()? == before {
                return Ok(verdict);
            }
        }
    }

    fn alloc_shared_id(&self, kind: IdKind) -> Result<u64> {
        if !self.kv.remote() {
            return Ok(self.alloc_ids(kind, 1));
        }
        // A counter in the store itself, moved by compare-and-set: ids handed out by several
        // servers never collide.
        let key = meta_key(&format!("shared_{}", ID_NAMES[id_slot(kind)]));
        for _ in 0..100 {
            let stored = self.kv.get(&key)?.map(|v| v.to_vec());
            let next =
                u64_val(stored.as_deref()).max(self.next_ids[id_slot(kind)].load(Ordering::SeqCst));
            let mut batch = KvBatch::default();
            batch.insert(key.clone(), (next + 1).to_be_bytes());
            let expect = Expect {
                key: key.clone(),
                expected: stored,
            };
            match self.kv.apply(batch, &[expect], true) {
                Ok(()) => return Ok(next),
                Err(Error::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(
            "could not allocate an id: too many servers allocating at once; retry".into(),
        ))
    }

    fn document(&self, id: DocId, as_of: Option<TxId>) -> Result<Option<Document>> {
        self.versioned(tag::DOC, tag::DOC_HIST, id, as_of, |d: &Document| {
            d.updated_tx
        })
    }

    fn document_by_external(&self, external_id: &str) -> Result<Option<DocId>> {
        self.lookup(tag::DOC_EXT, external_id)
    }

    fn document_by_hash(&self, hash: &str) -> Result<Option<DocId>> {
        self.lookup(tag::DOC_HASH, hash)
    }

    fn documents(&self, after: DocId, limit: usize, as_of: Option<TxId>) -> Result<Vec<Document>> {
        self.list_active(tag::DOC, tag::DOC_HIST, after, limit, |id| {
            Ok(self
                .document(id, as_of)?
                .filter(|d| d.status == Status::Active))
        })
    }

    fn documents_all(&self, after: DocId, limit: usize) -> Result<Vec<Document>> {
        self.list_current(tag::DOC, tag::DOC_HIST, after, limit)
    }

    fn chunk(&self, id: ChunkId) -> Result<Option<Chunk>> {
        self.get(&id_key(tag::CHUNK, id))
    }

    fn entities_all(&self, after: EntityId, limit: usize) -> Result<Vec<Entity>> {
        self.list_current(tag::ENT, tag::ENT_HIST, after, limit)
    }

    fn entity(&self, id: EntityId, as_of: Option<TxId>) -> Result<Option<Entity>> {
        self.versioned(tag::ENT, tag::ENT_HIST, id, as_of, |e: &Entity| {
            e.updated_tx
        })
    }

    fn entities_by_alias(&self, normalized: &[String]) -> Result<Vec<Option<EntityId>>> {
        self.lookup_many(
            &normalized
                .iter()
                .map(|n| Key::new(tag::ENT_ALIAS).str(n).build())
                .collect::<Vec<_>>(),
        )
    }

    fn entities_current(&self, ids: &[EntityId]) -> Result<Vec<Option<Entity>>> {
        let snapshot = self.head_tx();
        self.current_many(
            tag::ENT,
            ids,
            snapshot,
            |e: &Entity| e.updated_tx,
            |id| self.entity(id, None),
        )
    }

    fn facts_at(&self, ids: &[FactId], as_of: Option<TxId>) -> Result<Vec<Option<Fact>>> {
        let snapshot = as_of.unwrap_or(u64::MAX).min(self.head_tx());
        self.current_many(
            tag::FACT,
            ids,
            snapshot,
            |f: &Fact| f.updated_tx,
            |id| self.fact(id, as_of),
        )
    }

    fn chunks_many(&self, ids: &[ChunkId]) -> Result<Vec<Option<Chunk>>> {
        self.current_many(tag::CHUNK, ids, u64::MAX, |_: &Chunk| 0, |_| Ok(None))
    }

    fn entity_by_alias(&self, normalized: &str) -> Result<Option<EntityId>> {
        self.lookup(tag::ENT_ALIAS, normalized)
    }

    fn entities(&self, after: EntityId, limit: usize, as_of: Option<TxId>) -> Result<Vec<Entity>> {
        self.list_active(tag::ENT, tag::ENT_HIST, after, limit, |id| {
            Ok(self
                .entity(id, as_of)?
                .filter(|e| e.status == Status::Active))
        })
    }

    fn fact(&self, id: FactId, as_of: Option<TxId>) -> Result<Option<Fact>> {
        self.versioned(tag::FACT, tag::FACT_HIST, id, as_of, |f: &Fact| {
            f.updated_tx
        })
    }

    fn facts_by_identity(&self, identities: &[[u8; 16]]) -> Result<Vec<Option<FactId>>> {
        self.lookup_many(
            &identities
                .iter()
                .map(|i| Key::new(tag::FACT_KEY).bytes(i).build())
                .collect::<Vec<_>>(),
        )
    }

    fn fact_by_identity(&self, identity: &[u8; 16]) -> Result<Option<FactId>> {
        Ok(self
            .kv
            .get(&Key::new(tag::FACT_KEY).bytes(identity).build())?
            .map(|v| keys::u64_from(&v)))
    }

    fn facts(&self, scan: &FactScan) -> Result<Page<Fact>> {
        let mut items = Vec::new();
        if scan.limit == 0 {
            return Ok(Page { items, next: None });
        }
        let (qs, qe) = (scan.valid.start_key(), scan.valid.end_key());
        // 1. Long facts (few): filtered one by one.
        if scan.cursor.is_none_or(|c| c.long) {
            let lo = match scan.cursor {
                Some(c) => id_key(tag::FACT_LONG, c.id),
                None => id_key(tag::FACT_LONG, 0),
            };
            let hi = vec![tag::FACT_LONG + 1];
            if let Some(next) = self.scan_facts_range(lo, hi, 1, scan, true, &mut items)? {
                return Ok(Page {
                    items,
                    next: Some(next),
                });
            }
        }
        // 2. Short facts: range over valid start in [qs - LONG_SPAN_DAYS, qe).
        let from = qs.saturating_sub(LONG_SPAN_DAYS);
        let resume = scan.cursor.filter(|c| !c.long);
        let (lo, hi, key_start) = match scan.entity {
            Some(ent) => {
                let lo = match resume {
                    Some(c) => Key::new(tag::FACT_ENT)
                        .u64(ent)
                        .i32(c.start)
                        .u64(c.id)
                        .build(),
                    None => Key::new(tag::FACT_ENT).u64(ent).i32(from).build(),
                };
                (lo, Key::new(tag::FACT_ENT).u64(ent).i32(qe).build(), 9)
            }
            None => {
                let lo = match resume {
                    Some(c) => Key::new(tag::FACT_TIME).i32(c.start).u64(c.id).build(),
                    None => Key::new(tag::FACT_TIME).i32(from).build(),
                };
                (lo, Key::new(tag::FACT_TIME).i32(qe).build(), 1)
            }
        };
        let next = self.scan_facts_range(lo, hi, key_start, scan, false, &mut items)?;
        Ok(Page { items, next })
    }

    fn facts_changed(&self, from: TxId, to: TxId) -> Result<Vec<(TxId, FactId)>> {
        let mut out = Vec::new();
        if from > to {
            return Ok(out);
        }
        // Stores written before schema version 2 hold a key per link, later ones a list per
        // transaction; a store upgraded in place holds both, for different transactions.
        let lo = id2_key(tag::FACT_TX, from, 0);
        let hi = id2_key(tag::FACT_TX, to, u64::MAX);
        for kv in self.range_incl(&lo, &hi) {
            let (k, _) = kv?;
            out.push((keys::u64_from(&k[1..]), keys::u64_from(&k[9..])));
        }
        let lo = id_key(tag::FACT_TX_SET, from);
        let hi = id_key(tag::FACT_TX_SET, to);
        for kv in self.range_incl(&lo, &hi) {
            let (k, v) = kv?;
            let tx = keys::u64_from(&k[1..]);
            let facts = keys::id_list_from(&v)
                .ok_or_else(|| Error::Store("corrupt transaction link list".into()))?;
            out.extend(facts.into_iter().map(|f| (tx, f)));
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn facts_of_chunk(&self, chunk: ChunkId) -> Result<Vec<FactId>> {
        let mut out = Vec::new();
        for kv in self.scan(id_key(tag::FACT_CHUNK, chunk)) {
            out.push(keys::u64_from(&kv?.0[9..]));
        }
        for kv in self.scan(id_key(tag::FACT_CHUNK_SET, chunk)) {
            let facts = keys::id_list_from(&kv?.1)
                .ok_or_else(|| Error::Store("corrupt chunk link list".into()))?;
            out.extend(facts);
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn for_each_fact(&self, f: &mut dyn FnMut(Fact) -> Result<()>) -> Result<()> {
        for kv in self.scan([tag::FACT]) {
            f(dec(&kv?.1)?)?;
        }
        Ok(())
    }

    fn for_each_fact_first_tx(&self, f: &mut dyn FnMut(FactId, TxId)) -> Result<()> {
        // History keys are tag · fact · tx, so the first key of each fact is its first version.
        let mut last = None;
        for kv in self.scan([tag::FACT_HIST]) {
            let (k, _) = kv?;
            if k.len() != 17 {
                return Err(Error::Store("corrupt fact history key".into()));
            }
            let id = keys::u64_from(&k[1..9]);
            if last != Some(id) {
                f(id, keys::u64_from(&k[9..17]));
                last = Some(id);
            }
        }
        Ok(())
    }

    fn nodes_many(&self, keys: &[TimeKey]) -> Result<Vec<Option<TimeNode>>> {
        let raw: Vec<Vec<u8>> = keys
            .iter()
            .map(|k| Key::new(tag::NODE).str(&k.to_string()).build())
            .collect();
        self.kv
            .get_many(&raw)?
            .into_iter()
            .map(|v| v.map(dec).transpose())
            .collect()
    }

    fn node(&self, key: &TimeKey) -> Result<Option<TimeNode>> {
        self.get(&Key::new(tag::NODE).str(&key.to_string()).build())
    }

    fn nodes(&self) -> Result<Vec<TimeNode>> {
        let mut out = Vec::new();
        for kv in self.scan([tag::NODE]) {
            out.push(dec(&kv?.1)?);
        }
        Ok(out)
    }

    fn node_keys(&self) -> Result<Vec<TimeKey>> {
        let mut out = Vec::new();
        for kv in self.scan([tag::NODE]) {
            let (k, _) = kv?;
            let key = std::str::from_utf8(&k.as_ref()[1..])
                .map_err(|e| Error::Store(format!("corrupt time node key: {e}")))?;
            out.push(TimeKey::parse_stored(key)?);
        }
        Ok(out)
    }

    fn dirty_nodes(&self) -> Result<Vec<(TimeKey, TxId)>> {
        let mut out = Vec::new();
        for kv in self.scan([tag::DIRTY]) {
            let (k, v) = kv?;
            let key = std::str::from_utf8(&k[1..])
                .map_err(|e| Error::Store(format!("corrupt dirty key: {e}")))?;
            out.push((TimeKey::parse(key)?, keys::u64_from(&v)));
        }
        Ok(out)
    }

    fn summary(&self, key: &TimeKey, as_of: Option<TxId>) -> Result<Option<Summary>> {
        let node = key.to_string();
        let lo = summary_key(&node, 0);
        let hi = summary_key(&node, as_of.unwrap_or(u64::MAX));
        match self.last_incl(&lo, &hi)? {
            Some(kv) => Ok(Some(dec(&kv.1)?)),
            None => Ok(None),
        }
    }

    fn summary_versions(&self, key: &TimeKey) -> Result<Vec<Summary>> {
        let node = key.to_string();
        let mut out = Vec::new();
        for kv in self.range_incl(&summary_key(&node, 0), &summary_key(&node, u64::MAX)) {
            out.push(dec(&kv?.1)?);
        }
        Ok(out)
    }

    fn put_summaries(&self, summaries: &[Summary]) -> Result<()> {
        self.kv.check_writable()?;
        // Serialised with commits so that a dirty mark set by a concurrent commit is not lost.
        let _guard = self.commit_lock.lock();
        let mut batch = KvBatch::default();
        for s in summaries {
            let node = s.node.to_string();
            batch.insert(summary_key(&node, s.reflects_tx), enc(s)?);
            // The mark goes only if no later transaction (of any server) moved it meanwhile.
            batch.remove_if_at_most(
                Key::new(tag::DIRTY).str(&node).build(),
                s.reflects_tx.to_be_bytes(),
            );
        }
        self.kv.apply(batch, &[], true)?;
        Ok(())
    }

    fn conflicts(&self) -> Result<Vec<crate::model::Conflict>> {
        let mut out = Vec::new();
        for kv in self.scan([tag::CONFLICT]) {
            out.push(dec(&kv?.1)?);
        }
        Ok(out)
    }

    fn clear_dirty(&self, nodes: &[(TimeKey, TxId)]) -> Result<()> {
        self.kv.check_writable()?;
        let _guard = self.commit_lock.lock();
        let mut batch = KvBatch::default();
        for (k, tx) in nodes {
            batch.remove_if_at_most(
                Key::new(tag::DIRTY).str(&k.to_string()).build(),
                tx.to_be_bytes(),
            );
        }
        self.kv.apply(batch, &[], false)?;
        Ok(())
    }

    fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .kv
            .get(&meta_key(&format!("x/{key}")))?
            .map(|v| v.to_vec()))
    }

    fn meta_put(&self, key: &str, value: &[u8]) -> Result<()> {
        self.kv.check_writable()?;
        let _guard = self.commit_lock.lock();
        let mut batch = KvBatch::default();
        batch.insert(meta_key(&format!("x/{key}")), value);
        self.kv.apply(batch, &[], true)?;
        Ok(())
    }

    fn meta_scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let mut out = Vec::new();
        let p = meta_key(&format!("x/{prefix}"));
        for kv in self.scan(&p) {
            let (k, v) = kv?;
            let name = String::from_utf8_lossy(&k[3..]).into_owned();
            out.push((name, v.to_vec()));
        }
        Ok(out)
    }

    fn meta_remove(&self, key: &str) -> Result<()> {
        self.kv.check_writable()?;
        let _guard = self.commit_lock.lock();
        let mut batch = KvBatch::default();
        batch.remove(meta_key(&format!("x/{key}")));
        self.kv.apply(batch, &[], true)?;
        Ok(())
    }

    fn meta_swap(&self, key: &str, expected: Option<&[u8]>, value: &[u8]) -> Result<bool> {
        self.kv.check_writable()?;
        let _guard = self.commit_lock.lock();
        let k = meta_key(&format!("x/{key}"));
        // Checked here for an embedded store (one process, serialised by the commit lock: its
        // backend takes `Expect` as holding by construction), and again inside the write for a
        // shared one.
        if self.kv.get(&k)?.as_deref() != expected {
            return Ok(false);
        }
        let mut batch = KvBatch::default();
        batch.insert(k.clone(), value);
        let expect = Expect {
            key: k,
            expected: expected.map(<[u8]>::to_vec),
        };
        match self.kv.apply(batch, &[expect], true) {
            Ok(()) => Ok(true),
            Err(Error::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
