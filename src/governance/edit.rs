//! Hand edits: assert, correct and retract facts; retract documents; merge and rename entities.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::ingest::extract::EntityMention;
use crate::ingest::resolve::Resolver;
use crate::model::{
    Change, EntityKind, Fact, FactId, FactObject, FactOrigin, Status, TxId, TxKind,
};
use crate::store::{IdKind, NsStore, WriteSet};
use crate::time::{Interval, TimeKey, parse_time};
use crate::{Error, Result};

/// The object of a hand-made fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum ObjectInput {
    /// An entity, by name (created when new) or by numeric id.
    Entity(String),
    /// A literal value.
    Literal(String),
}

/// A fact asserted by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FactInput {
    /// Subject entity, by name (created when new) or by numeric id.
    pub subject: String,
    /// Object (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectInput>,
    /// What the fact says.
    #[schemars(length(max = 2000))]
    pub description: String,
    /// Valid time: a period ("2024-Q3", "Q3 2024", "2019") or a range ("from 2018 to 2020",
    /// "since 2020").
    pub time: String,
    /// Confidence in [0, 1] (default 1.0 for hand-made facts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub confidence: Option<f32>,
}

/// Changes to a fact (a correction retracts it and asserts the corrected copy).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FactPatch {
    /// New subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// New object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectInput>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New valid time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// New confidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
}

impl FactPatch {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.subject.is_none()
            && self.object.is_none()
            && self.description.is_none()
            && self.time.is_none()
            && self.confidence.is_none()
    }
}

/// Requires a non-empty reason (corrections, retractions and governance operations need one).
pub fn require_reason(reason: &Option<String>) -> Result<String> {
    match reason.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() => Ok(r.to_string()),
        _ => Err(Error::invalid("a reason is required for this operation")),
    }
}

/// Parses a valid time given by hand.
pub fn valid_time(s: &str) -> Result<(Interval, crate::time::Granularity, Option<TimeKey>)> {
    if let Ok(k) = TimeKey::parse(s.trim()) {
        return Ok((k.interval(), k.granularity(), Some(k)));
    }
    let span = parse_time(s, None)?;
    let key = span.key.filter(|k| k.interval() == span.interval);
    Ok((span.interval, span.granularity, key))
}

fn entity_id(store: &dyn NsStore, r: &mut Resolver<'_>, s: &str) -> Result<u64> {
    let s = s.trim();
    if s.is_empty() {
        return Err(Error::invalid("entity names must not be empty"));
    }
    if let Ok(id) = s.parse::<u64>() {
        return match store.entity(id, None)? {
            Some(e) if e.status == Status::Active => Ok(id),
            Some(_) => Err(Error::Conflict(format!(
                "entity {id} is retracted or merged; name an active entity"
            ))),
            None => Err(Error::NotFound(format!("no entity {id}"))),
        };
    }
    r.resolve(&EntityMention {
        name: s.to_string(),
        kind: EntityKind::Other,
        aliases: vec![],
    })
}

fn build_fact(
    store: &dyn NsStore,
    r: &mut Resolver<'_>,
    input: &FactInput,
    tx: TxId,
    actor: &str,
) -> Result<Fact> {
    if input.description.trim().is_empty() {
        return Err(Error::invalid("description must not be empty"));
    }
    if input.description.len() > 2000 {
        return Err(Error::invalid("description is longer than 2000 bytes"));
    }
    let confidence = input.confidence.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&confidence) || confidence.is_nan() {
        return Err(Error::invalid("confidence must be between 0 and 1"));
    }
    let (valid, granularity, time_key) = valid_time(&input.time)?;
    let subject = entity_id(store, r, &input.subject)?;
    let object = match &input.object {
        None => FactObject::Literal(String::new()),
        Some(ObjectInput::Literal(l)) => FactObject::Literal(l.clone()),
        Some(ObjectInput::Entity(e)) => FactObject::Entity(entity_id(store, r, e)?),
    };
    Ok(Fact {
        id: 0,
        subject,
        object,
        description: input.description.trim().to_string(),
        valid,
        granularity,
        time_key,
        time_inherited: false,
        sources: vec![],
        confidence,
        origin: FactOrigin::Manual(actor.to_string()),
        invalid_from: None,
        invalidated_by: None,
        status: Status::Active,
        asserted_tx: tx,
        retracted_tx: None,
        updated_tx: tx,
    })
}

fn push_entities(ws: &mut WriteSet, r: Resolver<'_>) {
    for (id, (e, created)) in r.changed {
        ws.changes.push(if created {
            Change::CreateEntity(id)
        } else {
            Change::UpdateEntity(id)
        });
        ws.entities.push(e);
    }
}

fn touch(ws: &mut WriteSet, f: &Fact) {
    if let Some(k) = f.time_key
        && !ws.touched_nodes.contains(&k)
    {
        ws.touched_nodes.push(k);
    }
}

/// Adds the time nodes the write set touches.
pub fn finish_nodes(store: &dyn NsStore, ws: &mut WriteSet) -> Result<()> {
    let touched: BTreeSet<TimeKey> = ws.touched_nodes.iter().copied().collect();
    ws.add_time_nodes(&|k| store.nodes_many(k), &touched)?;
    Ok(())
}

/// Asserts facts by hand (one transaction). A fact identical to an active one is refused; an
/// identical retracted one is asserted again.
pub fn assert_facts(
    store: &dyn NsStore,
    tx: TxId,
    inputs: &[FactInput],
    actor: &str,
    reason: Option<String>,
) -> Result<(WriteSet, Vec<FactId>)> {
    if inputs.is_empty() {
        return Err(Error::invalid("no facts to assert"));
    }
    let mut ws = WriteSet::new(tx, TxKind::Assert, actor, reason);
    let mut r = Resolver::new(store, tx);
    let mut ids = Vec::new();
    for input in inputs {
        let mut f = build_fact(store, &mut r, input, tx, actor)?;
        let identity = f.identity();
        if let Some(existing) = store.fact_by_identity(&identity)? {
            let cur = store
                .fact(existing, None)?
                .ok_or_else(|| Error::Store("fact index points at nothing".into()))?;
            if cur.status == Status::Active {
                return Err(Error::Conflict(format!(
                    "the same fact is already asserted as fact {existing}"
                )));
            }
            let mut again = cur;
            again.status = Status::Active;
            again.retracted_tx = None;
            again.asserted_tx = tx;
            ws.changes.push(Change::AssertFact(existing));
            touch(&mut ws, &again);
            ids.push(existing);
            ws.facts.push(again);
            continue;
        }
        f.id = store.alloc_ids(IdKind::Fact, 1);
        ws.changes.push(Change::AssertFact(f.id));
        touch(&mut ws, &f);
        ids.push(f.id);
        ws.facts.push(f);
    }
    push_entities(&mut ws, r);
    finish_nodes(store, &mut ws)?;
    Ok((ws, ids))
}

/// Retracts a fact (with a reason).
pub fn retract_fact(
    store: &dyn NsStore,
    tx: TxId,
    id: FactId,
    actor: &str,
    reason: Option<String>,
) -> Result<WriteSet> {
    let reason = require_reason(&reason)?;
    let mut f = store
        .fact(id, None)?
        .ok_or_else(|| Error::NotFound(format!("no fact {id}")))?;
    if f.status != Status::Active {
        return Err(Error::Conflict(format!("fact {id} is already retracted")));
    }
    let mut ws = WriteSet::new(tx, TxKind::Retract, actor, Some(reason));
    f.status = Status::Retracted;
    f.retracted_tx = Some(tx);
    ws.changes.push(Change::RetractFact(id));
    touch(&mut ws, &f);
    ws.facts.push(f);
    finish_nodes(store, &mut ws)?;
    Ok(ws)
}

/// Corrects a fact: retracts it and asserts the corrected copy, in one transaction.
pub fn correct_fact(
    store: &dyn NsStore,
    tx: TxId,
    id: FactId,
    patch: &FactPatch,
    actor: &str,
    reason: Option<String>,
) -> Result<(WriteSet, FactId)> {
    let reason = require_reason(&reason)?;
    if patch.is_empty() {
        return Err(Error::invalid("the correction changes nothing"));
    }
    let old = store
        .fact(id, None)?
        .ok_or_else(|| Error::NotFound(format!("no fact {id}")))?;
    if old.status != Status::Active {
        return Err(Error::Conflict(format!(
            "fact {id} is retracted; assert a new fact instead"
        )));
    }
    let mut ws = WriteSet::new(tx, TxKind::Correct, actor, Some(reason));
    let mut r = Resolver::new(store, tx);
    let input = FactInput {
        subject: match &patch.subject {
            Some(s) => s.clone(),
            None => old.subject.to_string(),
        },
        object: match (&patch.object, &old.object) {
            (Some(o), _) => Some(o.clone()),
            (None, FactObject::Entity(e)) => Some(ObjectInput::Entity(e.to_string())),
            (None, FactObject::Literal(l)) if !l.is_empty() => {
                Some(ObjectInput::Literal(l.clone()))
            }
            (None, FactObject::Literal(_)) => None,
        },
        description: patch
            .description
            .clone()
            .unwrap_or_else(|| old.description.clone()),
        time: patch.time.clone().unwrap_or_else(|| old.valid.to_string()),
        confidence: Some(patch.confidence.unwrap_or(1.0)),
    };
    let mut new = build_fact(store, &mut r, &input, tx, actor)?;
    if patch.time.is_none() {
        new.valid = old.valid;
        new.granularity = old.granularity;
        new.time_key = old.time_key;
    }
    new.sources = old.sources.clone();
    if new.identity() == old.identity() {
        return Err(Error::invalid(
            "the correction changes nothing that identifies the fact",
        ));
    }
    if let Some(existing) = store.fact_by_identity(&new.identity())? {
        return Err(Error::Conflict(format!(
            "the corrected fact already exists as fact {existing}"
        )));
    }
    new.id = store.alloc_ids(IdKind::Fact, 1);
    let mut retracted = old;
    retracted.status = Status::Retracted;
    retracted.retracted_tx = Some(tx);
    ws.changes.push(Change::RetractFact(retracted.id));
    ws.changes.push(Change::AssertFact(new.id));
    touch(&mut ws, &retracted);
    touch(&mut ws, &new);
    let new_id = new.id;
    ws.facts.push(retracted);
    ws.facts.push(new);
    push_entities(&mut ws, r);
    finish_nodes(store, &mut ws)?;
    Ok((ws, new_id))
}

/// Retracts a document: the document and every fact that only it supports.
pub fn retract_document(
    store: &dyn NsStore,
    tx: TxId,
    external_id: &str,
    actor: &str,
    reason: Option<String>,
) -> Result<WriteSet> {
    let reason = require_reason(&reason)?;
    let id = store
        .document_by_external(external_id)?
        .ok_or_else(|| Error::NotFound(format!("no document {external_id:?}")))?;
    let mut d = store
        .document(id, None)?
        .ok_or_else(|| Error::NotFound(format!("no document {external_id:?}")))?;
    if d.status != Status::Active {
        return Err(Error::Conflict(format!(
            "document {external_id:?} is already retracted"
        )));
    }
    let mut ws = WriteSet::new(tx, TxKind::Retract, actor, Some(reason));
    let chunks: BTreeSet<u64> = d.chunks.iter().copied().collect();
    let mut seen = BTreeSet::new();
    for c in &d.chunks {
        for fid in store.facts_of_chunk(*c)? {
            if !seen.insert(fid) {
                continue;
            }
            let Some(mut f) = store.fact(fid, None)? else {
                continue;
            };
            if f.status == Status::Active && f.sources.iter().all(|s| chunks.contains(s)) {
                f.status = Status::Retracted;
                f.retracted_tx = Some(tx);
                ws.changes.push(Change::RetractFact(fid));
                touch(&mut ws, &f);
                ws.facts.push(f);
            }
        }
    }
    d.status = Status::Retracted;
    ws.changes.push(Change::RetractDocument(id));
    ws.documents.push(d);
    finish_nodes(store, &mut ws)?;
    Ok(ws)
}

/// Renames an entity (the old name stays as an alias).
pub fn rename_entity(
    store: &dyn NsStore,
    tx: TxId,
    id: u64,
    new_name: &str,
    actor: &str,
    reason: Option<String>,
) -> Result<WriteSet> {
    let new_name = new_name.trim();
    let max = crate::ingest::resolve::MAX_NAME_BYTES;
    if new_name.is_empty() || new_name.len() > max {
        return Err(Error::invalid(format!(
            "the new name must be 1-{max} bytes"
        )));
    }
    let mut e = store
        .entity(id, None)?
        .ok_or_else(|| Error::NotFound(format!("no entity {id}")))?;
    if e.status != Status::Active {
        return Err(Error::Conflict(format!("entity {id} is not active")));
    }
    if let Some(other) = store.entity_by_alias(&crate::model::normalize_name(new_name))?
        && other != id
        && store
            .entity(other, None)?
            .is_some_and(|o| o.status == Status::Active)
    {
        return Err(Error::Conflict(format!(
            "{new_name:?} already names entity {other}; merge the entities instead"
        )));
    }
    let old = std::mem::replace(&mut e.name, new_name.to_string());
    if !e.aliases.contains(&old) {
        e.aliases.push(old);
    }
    e.aliases.retain(|a| a != new_name);
    let mut ws = WriteSet::new(tx, TxKind::RenameEntity, actor, reason);
    ws.changes.push(Change::UpdateEntity(id));
    ws.entities.push(e);
    Ok(ws)
}

/// Merges entities into one: the merged ones are retracted (pointing at the survivor, their
/// names become its aliases) and each of their active facts is retracted and asserted again
/// about the survivor, in one transaction.
pub fn merge_entities(
    store: &dyn NsStore,
    tx: TxId,
    into: u64,
    from: &[u64],
    facts_of: &dyn Fn(u64) -> Vec<FactId>,
    actor: &str,
    reason: Option<String>,
) -> Result<(WriteSet, usize)> {
    let reason = require_reason(&reason)?;
    let mut survivor = store
        .entity(into, None)?
        .filter(|e| e.status == Status::Active)
        .ok_or_else(|| Error::NotFound(format!("no active entity {into}")))?;
    if from.is_empty() || from.contains(&into) {
        return Err(Error::invalid(
            "give one or more other entities to merge into the target",
        ));
    }
    let mut ws = WriteSet::new(tx, TxKind::MergeEntities, actor, Some(reason));
    let mut moved = 0;
    let mut identities: BTreeSet<[u8; 16]> = BTreeSet::new();
    for &fid in from {
        let mut gone = store
            .entity(fid, None)?
            .filter(|e| e.status == Status::Active)
            .ok_or_else(|| Error::NotFound(format!("no active entity {fid}")))?;
        for n in gone.names() {
            if n != survivor.name && !survivor.aliases.iter().any(|a| a == n) {
                survivor.aliases.push(n.to_string());
            }
        }
        for factid in facts_of(fid) {
            let Some(f) = store.fact(factid, None)? else {
                continue;
            };
            if f.status != Status::Active {
                continue;
            }
            let mut copy = f.clone();
            if copy.subject == fid {
                copy.subject = into;
            }
            if copy.object == FactObject::Entity(fid) {
                copy.object = FactObject::Entity(into);
            }
            let mut old = f;
            old.status = Status::Retracted;
            old.retracted_tx = Some(tx);
            ws.changes.push(Change::RetractFact(old.id));
            touch(&mut ws, &old);
            ws.facts.push(old);
            if !identities.insert(copy.identity()) {
                moved += 1;
                continue;
            }
            match store.fact_by_identity(&copy.identity())? {
                Some(existing) => {
                    // The survivor already has this fact: add the sources there.
                    if let Some(mut e) = store.fact(existing, None)? {
                        for s in &copy.sources {
                            if !e.sources.contains(s) {
                                e.sources.push(*s);
                            }
                        }
                        e.status = Status::Active;
                        e.retracted_tx = None;
                        ws.changes.push(Change::UpdateFact(existing));
                        ws.facts.push(e);
                    }
                }
                None => {
                    copy.id = store.alloc_ids(IdKind::Fact, 1);
                    copy.asserted_tx = tx;
                    copy.retracted_tx = None;
                    copy.status = Status::Active;
                    ws.changes.push(Change::AssertFact(copy.id));
                    touch(&mut ws, &copy);
                    ws.facts.push(copy);
                }
            }
            moved += 1;
        }
        gone.status = Status::Retracted;
        gone.merged_into = Some(into);
        ws.changes.push(Change::RetractEntity(fid));
        ws.entities.push(gone);
    }
    ws.changes.push(Change::UpdateEntity(into));
    ws.entities.push(survivor);
    finish_nodes(store, &mut ws)?;
    Ok((ws, moved))
}
