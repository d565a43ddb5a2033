//! Erase, for privacy requests: a document (its text, the facts only it supports, the entities
//! only those facts mention) or an entity (its names, its facts) is removed physically — every
//! version, every index entry, every summary finding derived from it — and a tombstone (what was
//! erased, by whom, why; never the content) goes into the audit log.
//!
//! The store part is a [`WriteSet`] with an [`Erasure`](crate::store::Erasure); the engine then
//! purges the indexes and compacts the store so that no bytes of the content remain in its files.

use std::collections::BTreeSet;

use crate::model::{Change, Entity, FactId, FactObject, Status, Summary, TxId, TxKind};
use crate::store::{NsStore, WriteSet};
use crate::{Error, Result};

use super::edit::{finish_nodes, require_reason};

/// What is being erased, gathered before the write set is built.
#[derive(Debug, Default)]
pub struct EraseSet {
    /// Document ids.
    pub documents: Vec<u64>,
    /// Chunk ids.
    pub chunks: Vec<u64>,
    /// Fact ids.
    pub facts: BTreeSet<FactId>,
    /// Entity ids.
    pub entities: BTreeSet<u64>,
    /// Texts that must not survive in summaries (fact descriptions, entity names).
    pub texts: Vec<String>,
    /// Names redacted from the chunks in `redact_chunks` (entity erasure).
    pub names: Vec<String>,
    /// Chunks that keep existing but mention an erased name.
    pub redact_chunks: BTreeSet<u64>,
}

/// Plans the erasure of a document. `facts_of_entity` lists every fact (any status) of an
/// entity, so that entities left without facts are erased too.
pub fn plan_document(
    store: &dyn NsStore,
    external_id: &str,
    facts_of_entity: &dyn Fn(u64) -> Vec<FactId>,
) -> Result<EraseSet> {
    let id = store
        .document_by_external(external_id)?
        .ok_or_else(|| Error::NotFound(format!("no document {external_id:?}")))?;
    let d = store
        .document(id, None)?
        .ok_or_else(|| Error::NotFound(format!("no document {external_id:?}")))?;
    let mut set = EraseSet {
        documents: vec![id],
        chunks: d.chunks.clone(),
        ..EraseSet::default()
    };
    let chunks: BTreeSet<u64> = d.chunks.iter().copied().collect();
    let mut partial: Vec<FactId> = Vec::new();
    for c in &d.chunks {
        for fid in store.facts_of_chunk(*c)? {
            let Some(f) = store.fact(fid, None)? else {
                continue;
            };
            if f.sources.iter().all(|s| chunks.contains(s)) {
                if set.facts.insert(fid) {
                    set.texts.push(f.description.clone());
                }
            } else {
                partial.push(fid);
            }
        }
    }
    // Entities whose every fact goes.
    let mut candidates = BTreeSet::new();
    for fid in &set.facts {
        if let Some(f) = store.fact(*fid, None)? {
            candidates.insert(f.subject);
            if let FactObject::Entity(o) = f.object {
                candidates.insert(o);
            }
        }
    }
    for e in candidates {
        if facts_of_entity(e).iter().all(|f| set.facts.contains(f))
            && let Some(ent) = store.entity(e, None)?
        {
            set.texts.extend(ent.names().map(str::to_string));
            set.entities.insert(e);
        }
    }
    Ok(set)
}

/// Plans the erasure of an entity: its record, every fact that mentions it, and its names in
/// the text of the chunks those facts come from or that `find_chunks` finds by name.
pub fn plan_entity(
    store: &dyn NsStore,
    entity: &Entity,
    facts_of_entity: &dyn Fn(u64) -> Vec<FactId>,
    find_chunks: &dyn Fn(&str) -> Vec<u64>,
) -> Result<EraseSet> {
    let mut set = EraseSet::default();
    set.entities.insert(entity.id);
    set.names = entity
        .names()
        .filter(|n| n.len() >= 2)
        .map(str::to_string)
        .collect();
    set.texts.extend(set.names.iter().cloned());
    for fid in facts_of_entity(entity.id) {
        for v in [store.fact(fid, None)?].into_iter().flatten() {
            set.texts.push(v.description.clone());
            set.redact_chunks.extend(v.sources.iter().copied());
        }
        set.facts.insert(fid);
    }
    for n in set.names.clone() {
        set.redact_chunks.extend(find_chunks(&n));
    }
    Ok(set)
}

/// Replaces every occurrence of the names (case-insensitively) with `[erased]`.
pub fn redact(text: &str, names: &[String]) -> String {
    let mut out = text.to_string();
    let mut names: Vec<&String> = names.iter().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for n in names {
        let lower_n = n.to_lowercase();
        loop {
            let lower = out.to_lowercase();
            // Lower-casing can change byte lengths; only cut where it did not.
            if lower.len() != out.len() {
                out = out.replace(n.as_str(), "[erased]");
                break;
            }
            match lower.find(&lower_n) {
                Some(i) => out.replace_range(i..i + lower_n.len(), "[erased]"),
                None => break,
            }
        }
    }
    out
}

/// Removes erased findings and redacts erased texts in a summary; None when it is untouched.
pub fn scrub_summary(s: &Summary, set: &EraseSet) -> Option<Summary> {
    let cites = s
        .findings
        .iter()
        .any(|f| f.facts.iter().any(|x| set.facts.contains(x)));
    let mentions = set
        .texts
        .iter()
        .filter(|t| t.len() >= 3)
        .any(|t| s.text.contains(t.as_str()) || s.title.contains(t.as_str()));
    let entity_listed = s.entities.iter().any(|e| set.entities.contains(e));
    if !cites && !mentions && !entity_listed {
        return None;
    }
    let mut out = s.clone();
    out.findings
        .retain(|f| !f.facts.iter().any(|x| set.facts.contains(x)));
    out.entities.retain(|e| !set.entities.contains(e));
    let mut texts: Vec<&String> = set.texts.iter().filter(|t| t.len() >= 3).collect();
    texts.sort_by_key(|t| std::cmp::Reverse(t.len()));
    for t in texts {
        out.text = out.text.replace(t.as_str(), "[erased]");
        out.title = out.title.replace(t.as_str(), "[erased]");
    }
    Some(out)
}

/// The write set of an erasure: the physical removals, summary rewrites (every version) and the
/// tombstone details for the audit entry.
pub fn build(
    store: &dyn NsStore,
    tx: TxId,
    set: &EraseSet,
    what: serde_json::Value,
    actor: &str,
    reason: Option<String>,
) -> Result<WriteSet> {
    let reason = require_reason(&reason)?;
    let mut ws = WriteSet::new(tx, TxKind::Erase, actor, Some(reason));
    for d in &set.documents {
        ws.changes.push(Change::EraseDocument(*d));
    }
    for c in &set.chunks {
        ws.changes.push(Change::EraseChunk(*c));
    }
    for f in &set.facts {
        if let Some(fact) = store.fact(*f, None)?
            && let Some(k) = fact.time_key
            && !ws.touched_nodes.contains(&k)
        {
            ws.touched_nodes.push(k);
        }
        ws.changes.push(Change::EraseFact(*f));
    }
    for e in &set.entities {
        ws.changes.push(Change::RetractEntity(*e));
    }
    // Facts kept because other documents support them lose the erased chunks as sources.
    let chunks: BTreeSet<u64> = set.chunks.iter().copied().collect();
    let mut kept = BTreeSet::new();
    for c in &set.chunks {
        for fid in store.facts_of_chunk(*c)? {
            if set.facts.contains(&fid) || !kept.insert(fid) {
                continue;
            }
            if let Some(mut f) = store.fact(fid, None)? {
                f.sources.retain(|s| !chunks.contains(s));
                if f.status == Status::Active || !f.sources.is_empty() {
                    ws.changes.push(Change::UpdateFact(fid));
                    ws.facts.push(f);
                }
            }
        }
    }
    for c in &set.redact_chunks {
        if set.chunks.contains(c) {
            continue;
        }
        if let Some(mut chunk) = store.chunk(*c)? {
            let clean = redact(&chunk.text, &set.names);
            if clean != chunk.text {
                chunk.text = clean;
                ws.changes.push(Change::RedactChunk(*c));
                ws.chunk_rewrites.push(chunk);
            }
        }
    }
    for n in store.nodes()? {
        for s in store.summary_versions(&n.key)? {
            if let Some(clean) = scrub_summary(&s, set) {
                ws.summary_rewrites.push(clean);
            }
        }
    }
    ws.erase.documents = set.documents.clone();
    ws.erase.chunks = set.chunks.clone();
    ws.erase.facts = set.facts.iter().copied().collect();
    ws.erase.entities = set.entities.iter().copied().collect();
    ws.audit_details = serde_json::json!({
        "erased": what,
        "counts": {
            "documents": set.documents.len(),
            "chunks": set.chunks.len(),
            "facts": set.facts.len(),
            "entities": set.entities.len(),
            "summary_versions_scrubbed": ws.summary_rewrites.len(),
            "chunks_redacted": ws.chunk_rewrites.len(),
        }
    });
    finish_nodes(store, &mut ws)?;
    Ok(ws)
}
