//! Erase, for privacy requests: a document (its text, the facts only it supports, the entities
//! only those facts mention) or an entity (its names, its facts) is removed physically — every
//! version, every index entry, every summary finding derived from it — and a tombstone (what was
//! erased, by whom, why; never the content) goes into the audit log.
//!
//! The store part is a [`WriteSet`] with an [`Erasure`](crate::store::Erasure); the engine then
//! purges the indexes and compacts the store so that no bytes of the content remain in its files.

use std::collections::BTreeSet;

use crate::model::{Change, Entity, FactId, Status, Summary, TxId, TxKind};
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
/// entity, so that entities left without facts are erased too; `find_chunks` finds chunks by a
/// name (full text), so that an entity the document created is erased when nothing else
/// mentions it, even when it has no facts at all.
pub fn plan_document(
    store: &dyn NsStore,
    external_id: &str,
    facts_of_entity: &dyn Fn(u64) -> Vec<FactId>,
    find_chunks: &dyn Fn(&str) -> Vec<u64>,
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
            candidates.extend(f.entities());
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
    // Entities the document's transaction created (mentions need not be facts): erased when
    // they have no fact outside the erasure and no other chunk names them.
    let created: Vec<u64> = store
        .tx(d.added_tx)?
        .map(|t| {
            t.changes
                .iter()
                .filter_map(|c| match c {
                    Change::CreateEntity(e) => Some(*e),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let own_text: Vec<String> = d
        .chunks
        .iter()
        .filter_map(|c| store.chunk(*c).ok().flatten().map(|c| c.text))
        .collect();
    for e in created {
        if set.entities.contains(&e) || !facts_of_entity(e).iter().all(|f| set.facts.contains(f)) {
            continue;
        }
        let Some(ent) = store.entity(e, None)? else {
            continue;
        };
        let names: Vec<String> = ent.names().map(str::to_string).collect();
        if !own_text.iter().any(|t| mentions(t, &names)) {
            continue;
        }
        let elsewhere = names.iter().any(|n| {
            find_chunks(n).into_iter().any(|c| {
                !chunks.contains(&c)
                    && store
                        .chunk(c)
                        .ok()
                        .flatten()
                        .is_some_and(|c| mentions(&c.text, &names))
            })
        });
        if !elsewhere {
            set.texts.extend(names);
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

/// Replaces every occurrence of the names with `[erased]`: case-insensitively (Unicode
/// lower-casing, so `AUDI`, `Audi` and `audi` all go) and only as whole words (`Ann` does not
/// touch `Annual`; a name that starts or ends with punctuation is bounded only on its word side).
/// One left-to-right pass over the text: a replacement is never scanned again, so a name that
/// occurs inside `[erased]` itself (`Ed`, `erase`) cannot loop. Longer names win where several
/// start at the same place.
pub fn redact(text: &str, names: &[String]) -> String {
    let folded_names: Vec<Vec<char>> = {
        let mut v: Vec<Vec<char>> = names
            .iter()
            .map(|n| {
                n.trim()
                    .chars()
                    .flat_map(char::to_lowercase)
                    .collect::<Vec<char>>()
            })
            .filter(|n| !n.is_empty())
            .collect();
        v.sort_by_key(|n| std::cmp::Reverse(n.len()));
        v.dedup();
        v
    };
    if folded_names.is_empty() {
        return text.to_string();
    }
    // The text lower-cased char by char; `origin[i]` is the byte offset in `text` of the
    // character folded[i] came from, `first[i]` whether it is the first char of that expansion.
    let mut folded: Vec<char> = Vec::with_capacity(text.len());
    let mut origin: Vec<usize> = Vec::with_capacity(text.len());
    let mut first: Vec<bool> = Vec::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        for (j, l) in c.to_lowercase().enumerate() {
            folded.push(l);
            origin.push(at);
            first.push(j == 0);
        }
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut copied = 0; // bytes of `text` already emitted
    let mut i = 0;
    while i < folded.len() {
        let boundary_before = i == 0 || !word(folded[i - 1]);
        let hit = first[i].then(|| {
            folded_names.iter().find(|n| {
                let end = i + n.len();
                end <= folded.len()
                    && folded[i..end] == n[..]
                    && (end == folded.len() || first[end])
                    && (!word(n[0]) || boundary_before)
                    && (!word(n[n.len() - 1]) || end == folded.len() || !word(folded[end]))
            })
        });
        match hit.flatten() {
            Some(n) => {
                let end = i + n.len();
                out.push_str(&text[copied..origin[i]]);
                out.push_str("[erased]");
                copied = origin.get(end).copied().unwrap_or(text.len());
                i = end;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Whether `text` mentions any of the names as `redact` would find them.
pub fn mentions(text: &str, names: &[String]) -> bool {
    redact(text, names) != text
}

/// A summary version that rests on erased data is withdrawn: its free text (title, themes,
/// readable summary) was written from the erased facts and cannot be scrubbed word by word, so
/// it is replaced by a note; findings citing erased facts go; the other findings stay, with
/// erased names and descriptions redacted. The head summary is then recomputed from what is
/// left (the erased facts' nodes are dirty). None when the version is untouched.
pub fn scrub_summary(s: &Summary, set: &EraseSet) -> Option<Summary> {
    let texts: Vec<String> = set
        .texts
        .iter()
        .filter(|t| t.chars().count() >= 2)
        .cloned()
        .collect();
    let cites = s
        .findings
        .iter()
        .any(|f| f.facts.iter().any(|x| set.facts.contains(x)));
    let entity_listed = s.entities.iter().any(|e| set.entities.contains(e))
        || s.findings
            .iter()
            .any(|f| f.entities.iter().any(|e| set.entities.contains(e)));
    let mentioned = mentions(&s.text, &texts)
        || mentions(&s.title, &texts)
        || s.findings.iter().any(|f| mentions(&f.text, &texts));
    if !cites && !entity_listed && !mentioned {
        return None;
    }
    let mut out = s.clone();
    out.findings
        .retain(|f| !f.facts.iter().any(|x| set.facts.contains(x)));
    for f in &mut out.findings {
        f.text = redact(&f.text, &texts);
        f.entities.retain(|e| !set.entities.contains(e));
    }
    out.entities.retain(|e| !set.entities.contains(e));
    out.title = crate::summary::node_label(&s.node);
    out.text = format!(
        "This version of the summary of {} was withdrawn when data it rested on was erased; \
         its remaining findings are listed.",
        out.title
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Redaction is one pass over whole words, case-insensitive; table of (text, names, want).
    #[test]
    fn redact_whole_words_in_any_case() {
        let cases: &[(&str, &[&str], &str)] = &[
            ("Ann met Bob.", &["Ann"], "[erased] met Bob."),
            (
                "The Annual report by ann.",
                &["Ann"],
                "The Annual report by [erased].",
            ),
            (
                "AUDI, Audi and audi's plant",
                &["Audi"],
                "[erased], [erased] and [erased]'s plant",
            ),
            ("Ed and Edward", &["Ed"], "[erased] and Edward"),
            // A name inside the replacement mark itself: one pass, no loop.
            (
                "Ed erased it",
                &["Ed", "erased", "[erased]"],
                "[erased] [erased] it",
            ),
            (
                "Jane Doe said Jane",
                &["Jane", "Jane Doe"],
                "[erased] said [erased]",
            ),
            ("Çelik and ÇELIK", &["çelik"], "[erased] and [erased]"),
            ("C++ and C# win", &["C++"], "[erased] and C# win"),
            ("no match here", &["zzz"], "no match here"),
            ("", &["x"], ""),
            ("İstanbul office", &["i̇stanbul"], "[erased] office"),
        ];
        for (text, ns, want) in cases {
            assert_eq!(redact(text, &names(ns)), *want, "{text:?} {ns:?}");
        }
    }

    /// Regression (outage): a name occurring inside "[erased]" once looped forever.
    #[test]
    fn redact_terminates_for_names_inside_the_mark() {
        let text = "Ed said: ".repeat(10_000);
        let out = redact(&text, &names(&["ed", "Erase", "[", "]", "e"]));
        assert!(out.len() < text.len() * 3);
        assert!(!out.contains("Ed said"));
    }

    #[test]
    fn withdrawn_summaries_keep_no_free_text() {
        let s = Summary {
            node: crate::time::TimeKey::parse("2022").unwrap(),
            title: "2022: Zebracorn and canteen".into(),
            text: "Themes: canteen, complaints. Zebracorn Quuxley visited.".into(),
            findings: vec![
                crate::model::Finding {
                    text: "Zebracorn Quuxley complained about the canteen.".into(),
                    facts: vec![7],
                    entities: vec![3],
                },
                crate::model::Finding {
                    text: "Acme Corp opened a plant; Zebracorn was there.".into(),
                    facts: vec![8],
                    entities: vec![1],
                },
            ],
            entities: vec![3, 1],
            rating: None,
            summarizer: "extractive".into(),
            input_hash: String::new(),
            fact_count: 2,
            reflects_tx: 2,
            version_tx: 2,
        };
        let set = EraseSet {
            facts: [7].into_iter().collect(),
            entities: [3].into_iter().collect(),
            texts: names(&["Zebracorn Quuxley", "Zebracorn"]),
            ..EraseSet::default()
        };
        let out = scrub_summary(&s, &set).expect("affected");
        let all = serde_json::to_string(&out).unwrap();
        assert!(
            !all.contains("canteen") && !all.contains("Zebracorn"),
            "{all}"
        );
        assert_eq!(out.findings.len(), 1);
        assert_eq!(out.entities, vec![1]);
        let untouched = Summary {
            findings: vec![],
            entities: vec![1],
            title: "2022".into(),
            text: "Acme Corp opened a plant.".into(),
            ..s
        };
        assert!(scrub_summary(&untouched, &set).is_none());
    }
}
