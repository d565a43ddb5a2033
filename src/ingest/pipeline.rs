//! The ingest pipeline: staged documents (chunked and extracted, in parallel, outside any lock)
//! become one [`WriteSet`] under the namespace's writer lock: documents known by their given id,
//! else by their content (sent again: a no-op), entities resolved, facts deduplicated by
//! identity (the same fact from two chunks is one fact with two sources), time nodes created
//! with their ancestors and marked touched.

use std::collections::{BTreeSet, HashMap};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::chunk::{self, ChunkSpan};
use super::extract::{DocContext, ExtractedObject, Extraction, Extractor};
use super::input::{PreparedDocument, Rejected};
use super::reads::Reads;
use super::resolve::Resolver;
use crate::model::slot::{slot_hash, slot_of, values_differ};
use crate::model::{
    Change, Chunk, ChunkId, Conflict, DocId, Document, Fact, FactId, FactObject, FactOrigin,
    Status, TxId, TxKind,
};
use crate::store::{IdKind, WriteSet};
use crate::time::{Interval, TimeKey};
use crate::{Error, Result};

/// Options of one ingest call.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Who (recorded on the transaction).
    pub actor: String,
    /// Why.
    pub reason: Option<String>,
    /// Flush before returning (default true).
    pub durable: bool,
    /// Chunk size in bytes.
    pub chunk_chars: usize,
    /// Make the text index searchable right after this ingest (read-your-writes). Bulk loaders
    /// turn it off and commit once at the end ([`crate::Engine::flush`]); a crash in between
    /// only means the index catches up from the transaction log on the next open.
    pub commit_indexes: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            actor: "system".into(),
            reason: None,
            durable: true,
            chunk_chars: chunk::DEFAULT_CHUNK_CHARS,
            commit_indexes: true,
        }
    }
}

/// What an ingest did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct IngestReport {
    /// The transaction (null when nothing changed).
    pub tx: Option<TxId>,
    /// Documents added.
    pub documents: u64,
    /// Chunks added.
    pub chunks: u64,
    /// New facts.
    pub facts: u64,
    /// Existing facts that gained a source.
    pub facts_merged: u64,
    /// New entities.
    pub entities: u64,
    /// New time nodes.
    pub time_nodes: u64,
    /// Documents skipped because the same content was already ingested.
    pub duplicates: u64,
    /// Bytes of text ingested.
    pub bytes: u64,
    /// Chunks whose LLM extraction fell back to the rules.
    pub fallbacks: u64,
    /// Older facts whose validity a newer contradicting fact ended.
    #[serde(default)]
    pub invalidated: u64,
    /// Contradictions recorded for review (`GET .../conflicts`).
    #[serde(default)]
    pub conflicts: u64,
    /// User-facing ids of the documents added or already present, in input order.
    pub document_ids: Vec<String>,
    /// Inputs rejected, with reasons.
    pub rejected: Vec<Rejected>,
}

impl IngestReport {
    /// Adds another report's counts to this one.
    pub fn absorb(&mut self, o: IngestReport) {
        self.tx = o.tx.or(self.tx);
        self.documents += o.documents;
        self.chunks += o.chunks;
        self.facts += o.facts;
        self.facts_merged += o.facts_merged;
        self.entities += o.entities;
        self.time_nodes += o.time_nodes;
        self.duplicates += o.duplicates;
        self.bytes += o.bytes;
        self.fallbacks += o.fallbacks;
        self.invalidated += o.invalidated;
        self.conflicts += o.conflicts;
        self.document_ids.extend(o.document_ids);
        self.rejected.extend(o.rejected);
    }
}

/// A document chunked and extracted, ready to be written.
#[derive(Debug)]
pub struct Staged {
    /// The document.
    pub doc: PreparedDocument,
    /// Its identity: [`identity_hash`] of its text as sent, title and time.
    pub hash: String,
    /// SHA-256 of its text as sent (hex): what stores written before titles and times counted
    /// know it by.
    pub text_hash: String,
    /// Its chunks.
    pub spans: Vec<ChunkSpan>,
    /// One extraction per chunk.
    pub extractions: Vec<Extraction>,
}

/// SHA-256 of a text, hex.
pub fn content_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A document's identity for deduplication: what was sent, text with title and time. Two
/// articles with one boilerplate text under different headlines or dates are two documents
/// (the news set has 82 such, whose headline is all they say); sending a document again is a
/// no-op. Without title and time it is the text's own hash, as before titles and times counted.
pub fn identity_hash(text_hash: &str, title: Option<&str>, time: Option<TimeKey>) -> String {
    if title.is_none() && time.is_none() {
        return text_hash.to_string();
    }
    let mut h = Sha256::new();
    h.update(b"chronorag document v2\0");
    h.update(text_hash.as_bytes());
    h.update(b"\0");
    h.update(title.unwrap_or("").as_bytes());
    h.update(b"\0");
    if let Some(t) = time {
        h.update(t.to_string().as_bytes());
    }
    hex::encode(h.finalize())
}

/// Chunks and extracts documents in parallel. Documents whose extraction fails are returned as
/// rejections.
pub fn stage(
    docs: Vec<PreparedDocument>,
    extractor: &dyn Extractor,
    chunk_chars: usize,
) -> (Vec<Staged>, Vec<Rejected>) {
    let results: Vec<Result<Staged, Rejected>> = docs
        .into_par_iter()
        .map(|mut doc| {
            // Only the hash of the text as sent is kept from here on (the text itself is not
            // needed to ingest, and a batch would otherwise carry two copies).
            let text_hash = doc
                .as_sent
                .take()
                .map(|a| a.hash)
                .unwrap_or_else(|| content_hash(&doc.input.text));
            let hash = identity_hash(&text_hash, doc.title.as_deref(), doc.time);
            let spans = chunk::chunk(&doc.input.text, chunk_chars);
            let texts: Vec<&str> = spans
                .iter()
                .map(|c| &doc.input.text[c.start..c.end])
                .collect();
            let ctx = DocContext {
                title: doc.title.clone(),
                time: doc.time,
            };
            match extractor.extract(&ctx, &texts) {
                Ok(extractions) => Ok(Staged {
                    doc,
                    hash,
                    text_hash,
                    spans,
                    extractions,
                }),
                Err(e) => Err(Rejected {
                    file: doc
                        .input
                        .source
                        .clone()
                        .or(doc.input.id.clone())
                        .unwrap_or_else(|| "request".into()),
                    line: None,
                    reason: format!("extraction failed: {e}"),
                }),
            }
        })
        .collect();
    let mut staged = Vec::new();
    let mut rejected = Vec::new();
    for r in results {
        match r {
            Ok(s) => staged.push(s),
            Err(r) => rejected.push(r),
        }
    }
    (staged, rejected)
}

/// What a staged document is to the store and its batch.
enum Known {
    /// Its id came earlier in the batch: with the same content (`true`) or another.
    Batch(bool),
    /// Its id is stored: with the same content (`true`) or another.
    Stored(bool),
    /// A new document.
    New,
}

/// Whether a stored document is the staged one's content: its identity, or, for stores written
/// before titles and times counted (which know a document by its text alone), its text with the
/// same title and time.
fn same_content(d: &Document, s: &Staged) -> bool {
    d.content_hash == s.hash
        || (d.content_hash == s.text_hash && d.title == s.doc.title && d.time == s.doc.time)
}

/// The stored document with the staged one's content, if any (see [`same_content`]).
fn stored_by_content(store: Reads<'_>, s: &Staged) -> Result<Option<Document>> {
    for hash in [&s.hash, &s.text_hash] {
        if let Some(id) = store.document_by_hash(hash)?
            && let Some(d) = store.document(id)?
            && same_content(&d, s)
        {
            return Ok(Some(d));
        }
    }
    Ok(None)
}

/// A batch's write set as built, with what the next batch's build needs of it.
pub struct Built {
    /// The write set.
    pub ws: WriteSet,
    /// What it reports.
    pub report: IngestReport,
}

/// The stored facts a new fact of `subject`, in `slot`, valid over an interval, may contradict
/// ([`build`]'s `slots`): the facts filed under that subject and slot that are active with an
/// effective valid time overlapping the interval, in the order they were filed, plus every fact
/// of a batch committing that is filed there. A superset is allowed (each candidate is checked
/// again on its stored version); leaving out a fact that overlaps is not.
pub type SlotCandidates<'a> = dyn Fn(u64, &str, &Interval) -> Vec<FactId> + 'a;

/// Builds the write set of transaction `tx` from staged documents. Must run with
/// `tx == store.head_tx() + 1` (with `store.prev`'s transaction counted as committed), and commit
/// only if that still holds (under the namespace's writer lock).
pub fn build<'a>(
    store: impl Into<Reads<'a>>,
    tx: TxId,
    staged: &[Staged],
    extractor_name: &str,
    opts: &IngestOptions,
    slots: &SlotCandidates<'_>,
) -> Result<Built> {
    let store: Reads<'a> = store.into();
    let mut ws = WriteSet::new(tx, TxKind::Ingest, opts.actor.clone(), opts.reason.clone());
    ws.durable = opts.durable;
    let mut report = IngestReport::default();
    let mut resolver = Resolver::new(store, tx);
    let mut seen_hash: HashMap<String, String> = HashMap::new();
    let mut seen_ext: HashMap<String, String> = HashMap::new();
    let mut fact_index: HashMap<[u8; 16], usize> = HashMap::new();
    let mut touched: BTreeSet<TimeKey> = BTreeSet::new();
    // New facts by (subject, slot hash), for contradictions inside the batch.
    let mut pending_slots: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut checks: Vec<(usize, String)> = Vec::new();

    for s in staged {
        let source = s
            .doc
            .input
            .source
            .clone()
            .unwrap_or_else(|| "request".into());
        // A document is known by the id its sender gave it, else by its content. Sending one
        // again is a no-op; another content under a stored id is refused. One content under
        // two given ids is two documents (two URLs of one syndicated story): ids are the
        // sender's, and each can be fetched, cited and erased by its own.
        let known = match &s.doc.input.id {
            Some(id) => match seen_ext.get(id) {
                Some(hash) => Known::Batch(*hash == s.hash),
                None => match store.document_by_external(id)? {
                    Some(did) => {
                        Known::Stored(store.document(did)?.is_some_and(|d| same_content(&d, s)))
                    }
                    None => Known::New,
                },
            },
            None => {
                if let Some(ext) = seen_hash.get(&s.hash) {
                    report.duplicates += 1;
                    report.document_ids.push(ext.clone());
                    continue;
                }
                match stored_by_content(store, s)? {
                    Some(d) => {
                        report.duplicates += 1;
                        report.document_ids.push(d.external_id);
                        continue;
                    }
                    None => Known::New,
                }
            }
        };
        let external_id = s
            .doc
            .input
            .id
            .clone()
            .unwrap_or_else(|| format!("doc-{}", &s.hash[..16]));
        match known {
            Known::Batch(true) | Known::Stored(true) => {
                report.duplicates += 1;
                report.document_ids.push(external_id);
                continue;
            }
            Known::Batch(false) | Known::Stored(false) => {
                report.rejected.push(Rejected {
                    file: source,
                    line: None,
                    reason: format!(
                        "document id {external_id:?} already exists with different content; erase it or use another id"
                    ),
                });
                continue;
            }
            Known::New => {}
        }
        seen_hash.insert(s.hash.clone(), external_id.clone());
        seen_ext.insert(external_id.clone(), s.hash.clone());

        let doc_id = store.alloc_ids(IdKind::Document, 1);
        let first_chunk = store.alloc_ids(IdKind::Chunk, s.spans.len() as u64);
        let text = &s.doc.input.text;
        let mut chunk_ids = Vec::with_capacity(s.spans.len());
        ws.changes.push(Change::AddDocument(doc_id));
        for (i, span) in s.spans.iter().enumerate() {
            let id = first_chunk + i as u64;
            chunk_ids.push(id);
            ws.chunks.push(Chunk {
                id,
                doc: doc_id,
                ord: i as u32,
                text: text[span.start..span.end].to_string(),
                start: span.start,
                time: s.doc.time,
                added_tx: tx,
            });
            ws.changes.push(Change::AddChunk(id));
        }
        // The names this document mentions are looked up in the store at once (one round trip
        // on a store behind a network), then resolved in order as before.
        resolver.prefetch(s.extractions.iter().flat_map(|ex| {
            let mentions = ex
                .entities
                .iter()
                .flat_map(|m| std::iter::once(&m.name).chain(m.aliases.iter()));
            let in_facts = ex.facts.iter().flat_map(|f| {
                let object = match &f.object {
                    ExtractedObject::Entity(n) => Some(n),
                    ExtractedObject::Literal(_) => None,
                };
                std::iter::once(&f.subject).chain(object)
            });
            mentions.chain(in_facts)
        }))?;
        let mut candidates: Vec<(crate::model::ChunkId, Fact, String)> = Vec::new();
        for (i, ex) in s.extractions.iter().enumerate() {
            let chunk_id = first_chunk + i as u64;
            if ex.fell_back {
                report.fallbacks += 1;
            }
            for m in &ex.entities {
                resolver.resolve(m)?;
            }
            for f in &ex.facts {
                let subject = resolver.resolve_name(&f.subject)?;
                let (object, object_text) = match &f.object {
                    ExtractedObject::Entity(n) => {
                        (FactObject::Entity(resolver.resolve_name(n)?), n.clone())
                    }
                    ExtractedObject::Literal(l) => (FactObject::Literal(l.clone()), l.clone()),
                };
                let fact = Fact {
                    id: 0,
                    subject,
                    object,
                    description: f.description.clone(),
                    valid: f.valid,
                    granularity: f.granularity,
                    time_key: f.time_key,
                    time_inherited: f.time_inherited,
                    sources: vec![chunk_id],
                    confidence: f.confidence.clamp(0.0, 1.0),
                    origin: FactOrigin::Extracted(extractor_name.to_string()),
                    invalid_from: None,
                    invalidated_by: None,
                    status: Status::Active,
                    asserted_tx: tx,
                    retracted_tx: None,
                    updated_tx: tx,
                };
                candidates.push((chunk_id, fact, object_text));
            }
        }
        // Which of them the store already holds, read at once.
        let identities: Vec<[u8; 16]> = candidates.iter().map(|(_, f, _)| f.identity()).collect();
        let stored = store.facts_by_identity(&identities)?;
        for (((chunk_id, fact, object_text), identity), stored) in
            candidates.into_iter().zip(identities).zip(stored)
        {
            {
                if let Some(&i) = fact_index.get(&identity) {
                    let existing = &mut ws.facts[i];
                    if !existing.sources.contains(&chunk_id) {
                        existing.sources.push(chunk_id);
                        existing.confidence = existing.confidence.max(fact.confidence);
                    }
                    continue;
                }
                if let Some(fid) = stored {
                    let Some(mut old) = store.fact(fid)? else {
                        continue;
                    };
                    // A retracted fact stays retracted: new text does not overrule a person.
                    if old.status != Status::Active || old.sources.contains(&chunk_id) {
                        continue;
                    }
                    old.sources.push(chunk_id);
                    old.confidence = (old.confidence.max(fact.confidence) + 0.05).min(1.0);
                    fact_index.insert(identity, ws.facts.len());
                    ws.changes.push(Change::UpdateFact(fid));
                    if let Some(k) = old.time_key {
                        touched.insert(k);
                    }
                    ws.facts.push(old);
                    report.facts_merged += 1;
                    continue;
                }
                let mut fact = fact;
                fact.id = store.alloc_ids(IdKind::Fact, 1);
                if let Some(k) = fact.time_key {
                    touched.insert(k);
                }
                ws.changes.push(Change::AssertFact(fact.id));
                fact_index.insert(identity, ws.facts.len());
                let slot = slot_of(&fact.description, &object_text);
                if !slot.is_empty() {
                    pending_slots
                        .entry(slot_hash(fact.subject, &slot))
                        .or_default()
                        .push(ws.facts.len());
                    checks.push((ws.facts.len(), slot));
                }
                ws.facts.push(fact);
                report.facts += 1;
            }
        }
        report.documents += 1;
        report.chunks += s.spans.len() as u64;
        report.bytes += text.len() as u64;
        report.document_ids.push(external_id.clone());
        ws.documents.push(Document {
            id: doc_id,
            external_id,
            title: s.doc.title.clone(),
            source: s.doc.input.source.clone(),
            time: s.doc.time,
            time_origin: s.doc.time_origin,
            metadata: s.doc.input.metadata.clone(),
            content_hash: s.hash.clone(),
            text_len: text.len(),
            chunks: chunk_ids,
            status: Status::Active,
            added_tx: tx,
            updated_tx: tx,
        });
    }

    guard_contradictions(
        store,
        tx,
        &mut ws,
        &checks,
        &pending_slots,
        slots,
        &mut report,
    )?;
    for k in ws.facts.iter().filter_map(|f| f.time_key) {
        touched.insert(k);
    }

    for (id, (e, created)) in resolver.changed {
        if created {
            report.entities += 1;
            ws.changes.push(Change::CreateEntity(id));
        } else {
            ws.changes.push(Change::UpdateEntity(id));
        }
        ws.entities.push(e);
    }
    ws.entities.sort_by_key(|e| e.id);

    report.time_nodes = ws.add_time_nodes(&|k| store.nodes_many(k), &touched)?;
    ws.touched_nodes = touched.into_iter().collect();
    ws.identities = fact_index
        .into_iter()
        .map(|(identity, i)| (ws.facts[i].id, identity))
        .collect();
    Ok(Built { ws, report })
}

/// Confidence a newer fact needs to end an older contradicting fact's validity.
pub const INVALIDATION_CONFIDENCE: f32 = 0.75;
/// Contradiction candidates examined per new fact: the most recently filed of those whose valid
/// time may overlap it.
const MAX_CANDIDATES: usize = 12;

/// Guarded invalidation. A new fact contradicts an existing one when they share subject and slot,
/// their valid times overlap and their values differ. The older fact's validity ends where the
/// newer one begins only when the newer one starts later and is trusted enough (confidence at
/// least [`INVALIDATION_CONFIDENCE`] and not below the older one's); otherwise both stay and the
/// contradiction is recorded as a conflict for review, one per new fact (against the newest fact
/// it contradicts from another document). Good facts are never damaged silently.
fn guard_contradictions(
    store: Reads<'_>,
    tx: TxId,
    ws: &mut WriteSet,
    checks: &[(usize, String)],
    pending: &HashMap<u64, Vec<usize>>,
    slots: &SlotCandidates<'_>,
    report: &mut IngestReport,
) -> Result<()> {
    let mut updated: HashMap<FactId, Fact> = HashMap::new();
    // Each check's candidates, and the stored facts they name, read at once.
    let candidates: Vec<Vec<FactId>> = checks
        .iter()
        .map(|(i, slot)| {
            let new = &ws.facts[*i];
            let mut ids = slots(new.subject, slot, &new.valid);
            // The most recently filed.
            ids.drain(..ids.len().saturating_sub(MAX_CANDIDATES));
            ids
        })
        .collect();
    let mut wanted: Vec<FactId> = candidates.iter().flatten().copied().collect();
    wanted.sort_unstable();
    wanted.dedup();
    let stored: HashMap<FactId, Fact> = wanted
        .iter()
        .copied()
        .zip(store.facts_current(&wanted)?)
        .filter_map(|(id, f)| Some((id, f?)))
        .collect();
    // The documents of this batch's chunks: two values a document gives one period are not
    // listed as a conflict (a document lists the figures of several things, or the extractor
    // took its main subject for each: on news, 1,806 of 1,810 conflicts were such pairs).
    let doc_of: HashMap<ChunkId, DocId> = ws.chunks.iter().map(|c| (c.id, c.doc)).collect();
    let docs_of = |f: &Fact| -> BTreeSet<DocId> {
        f.sources
            .iter()
            .filter_map(|c| doc_of.get(c).copied())
            .collect()
    };
    for ((i, slot), candidates) in checks.iter().zip(&candidates) {
        let new = ws.facts[*i].clone();
        let new_docs = docs_of(&new);
        let hash = slot_hash(new.subject, slot);
        let mut olds: Vec<Fact> = Vec::new();
        for id in candidates {
            if let Some(f) = updated.get(id).or(stored.get(id)).cloned() {
                olds.push(f);
            }
        }
        for j in pending.get(&hash).into_iter().flatten() {
            if *j < *i {
                olds.push(ws.facts[*j].clone());
            }
        }
        // Newest first: a fact that contradicts several is listed against the newest of them
        // only (they conflict among themselves already), so n statements of one period make
        // n - 1 conflicts, not n(n - 1)/2.
        let mut listed = false;
        for old in olds.into_iter().rev() {
            if old.id == new.id
                || old.status != Status::Active
                || !old.effective_valid().overlaps(&new.valid)
                || !values_differ(&old.object, &new.object)
            {
                continue;
            }
            let later = match (old.valid.start, new.valid.start) {
                (Some(a), Some(b)) => b > a,
                (None, Some(_)) => true,
                _ => false,
            };
            if later
                && new.confidence >= INVALIDATION_CONFIDENCE
                && new.confidence >= old.confidence
            {
                let mut o = updated.remove(&old.id).unwrap_or(old);
                o.invalid_from = new.valid.start;
                o.invalidated_by = Some(new.id);
                report.invalidated += 1;
                updated.insert(o.id, o);
            } else if !listed && docs_of(&old).is_disjoint(&new_docs) {
                listed = true;
                let id = store.alloc_ids(IdKind::Conflict, 1);
                ws.changes.push(Change::Conflict(id));
                ws.conflicts.push(Conflict {
                    id,
                    subject: new.subject,
                    existing: old.id,
                    incoming: new.id,
                    slot: slot.clone(),
                    reason: if !later {
                        "both facts claim the same period with different values".into()
                    } else {
                        format!(
                            "the newer fact's confidence ({:.2}) is too low to end the older one ({:.2})",
                            new.confidence, old.confidence
                        )
                    },
                    tx,
                    at: chrono::Utc::now(),
                });
                report.conflicts += 1;
            }
        }
    }
    for (id, f) in updated {
        match ws.facts.iter_mut().find(|x| x.id == id) {
            Some(slot) => *slot = f,
            None => {
                ws.changes.push(Change::UpdateFact(id));
                ws.facts.push(f);
            }
        }
    }
    Ok(())
}

/// Errors for an ingest request that cannot proceed at all.
pub fn ensure_some(docs: &[PreparedDocument]) -> Result<()> {
    if docs.is_empty() {
        return Err(Error::invalid("no documents to ingest"));
    }
    Ok(())
}
