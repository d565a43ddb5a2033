//! Undo and history: `revert` makes a new transaction that exactly undoes one transaction;
//! `rollback` returns every record changed after a transaction to its state then; `diff` lists
//! what changed between two transactions. Nothing is deleted: both the original and the undo
//! stay in the history.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::edit::finish_nodes;
use crate::model::{Change, Document, Entity, Fact, FactId, Status, TxId, TxKind};
use crate::store::{NsStore, WriteSet};
use crate::{Error, Result};

/// Records touched by a range of transactions.
#[derive(Debug, Default)]
struct Touched {
    facts: BTreeSet<u64>,
    entities: BTreeSet<u64>,
    documents: BTreeSet<u64>,
    erased: usize,
}

fn touched(store: &dyn NsStore, from: TxId, to: TxId) -> Result<Touched> {
    let mut t = Touched::default();
    for (_, f) in store.facts_changed(from, to)? {
        t.facts.insert(f);
    }
    let mut next = from;
    while next <= to {
        let txs = store.txs(next, to, 512)?;
        let Some(last) = txs.last().map(|x| x.id) else {
            break;
        };
        for tx in txs {
            for c in tx.changes {
                match c {
                    Change::CreateEntity(e)
                    | Change::UpdateEntity(e)
                    | Change::RetractEntity(e) => {
                        t.entities.insert(e);
                    }
                    Change::AddDocument(d)
                    | Change::RetractDocument(d)
                    | Change::ReassertDocument(d) => {
                        t.documents.insert(d);
                    }
                    Change::EraseDocument(_) | Change::EraseFact(_) => t.erased += 1,
                    _ => {}
                }
            }
        }
        next = last + 1;
    }
    Ok(t)
}

/// The write set that makes every record changed after `to` equal to its state as of `to`
/// (records created later are retracted). Erased records cannot come back; they are counted in
/// the audit details.
pub fn rollback(
    store: &dyn NsStore,
    tx: TxId,
    to: TxId,
    actor: &str,
    reason: Option<String>,
) -> Result<WriteSet> {
    let head = store.head_tx();
    if to > head {
        return Err(Error::NotFound(format!(
            "there is no transaction {to} (head is {head})"
        )));
    }
    if to == head {
        return Err(Error::invalid(format!(
            "transaction {to} is the latest; nothing to roll back"
        )));
    }
    let t = touched(store, to + 1, head)?;
    let mut ws = WriteSet::new(tx, TxKind::Rollback { to }, actor, reason);
    for id in &t.facts {
        let Some(cur) = store.fact(*id, None)? else {
            continue;
        };
        let target = store.fact(*id, Some(to))?;
        restore_fact(&mut ws, cur, target, tx);
    }
    for id in &t.entities {
        let Some(cur) = store.entity(*id, None)? else {
            continue;
        };
        restore_entity(&mut ws, cur, store.entity(*id, Some(to))?);
    }
    for id in &t.documents {
        let Some(cur) = store.document(*id, None)? else {
            continue;
        };
        restore_document(&mut ws, cur, store.document(*id, Some(to))?);
    }
    ws.audit_details = serde_json::json!({
        "rolled_back_to": to,
        "undone_transactions": head - to,
        "erased_records_not_restored": t.erased,
    });
    finish_nodes(store, &mut ws)?;
    Ok(ws)
}

/// The write set that undoes transaction `target`: records it changed go back to their state
/// before it, unless a later transaction changed them again; then only its assertion or
/// retraction is inverted, and anything else is reported as skipped.
pub fn revert(
    store: &dyn NsStore,
    tx: TxId,
    target: TxId,
    actor: &str,
    reason: Option<String>,
) -> Result<WriteSet> {
    let record = store
        .tx(target)?
        .ok_or_else(|| Error::NotFound(format!("there is no transaction {target}")))?;
    let t = touched(store, target, target)?;
    let mut ws = WriteSet::new(tx, TxKind::Revert { tx: target }, actor, reason);
    let mut skipped: Vec<String> = Vec::new();
    for id in &t.facts {
        let Some(cur) = store.fact(*id, None)? else {
            continue;
        };
        let before = store.fact(*id, Some(target - 1))?;
        if cur.updated_tx == target {
            restore_fact(&mut ws, cur, before, tx);
            continue;
        }
        let after = store.fact(*id, Some(target))?;
        let was_active = before.as_ref().is_some_and(|f| f.status == Status::Active);
        let made_active = after.as_ref().is_some_and(|f| f.status == Status::Active);
        match (was_active, made_active, cur.status) {
            (false, true, Status::Active) => {
                let mut f = cur;
                f.status = Status::Retracted;
                f.retracted_tx = Some(tx);
                push_fact(&mut ws, f, Change::RetractFact(*id));
            }
            (true, false, Status::Retracted) => {
                let mut f = before.expect("was active");
                f.status = Status::Active;
                f.retracted_tx = None;
                push_fact(&mut ws, f, Change::AssertFact(*id));
            }
            _ => skipped.push(format!(
                "fact {id} changed again after transaction {target}"
            )),
        }
    }
    let retracting: BTreeSet<u64> = ws
        .facts
        .iter()
        .filter(|f| f.status == Status::Retracted)
        .map(|f| f.id)
        .collect();
    for id in &t.entities {
        let Some(cur) = store.entity(*id, None)? else {
            continue;
        };
        let before = store.entity(*id, Some(target - 1))?;
        if before.is_none() && still_used(store, *id, &retracting)? {
            skipped.push(format!(
                "entity {id} is kept: facts of later transactions use it"
            ));
            continue;
        }
        if cur.updated_tx == target {
            restore_entity(&mut ws, cur, before);
        } else {
            skipped.push(format!(
                "entity {id} changed again after transaction {target}"
            ));
        }
    }
    for id in &t.documents {
        let Some(cur) = store.document(*id, None)? else {
            continue;
        };
        if cur.updated_tx == target {
            restore_document(&mut ws, cur, store.document(*id, Some(target - 1))?);
        } else {
            skipped.push(format!(
                "document {id} changed again after transaction {target}"
            ));
        }
    }
    if ws.changes.is_empty() {
        return Err(Error::Conflict(format!(
            "transaction {target} ({}) has nothing left to undo{}",
            record.kind.name(),
            if skipped.is_empty() {
                String::new()
            } else {
                format!(": {}", skipped.join("; "))
            }
        )));
    }
    ws.audit_details = serde_json::json!({ "reverted": target, "skipped": skipped });
    finish_nodes(store, &mut ws)?;
    Ok(ws)
}

/// Whether an entity has active facts other than those being retracted.
fn still_used(store: &dyn NsStore, entity: u64, retracting: &BTreeSet<u64>) -> Result<bool> {
    let mut scan = crate::store::FactScan::new(crate::time::Interval::all(), 1000);
    scan.entity = Some(entity);
    loop {
        let page = store.facts(&scan)?;
        if page.items.iter().any(|f| !retracting.contains(&f.id)) {
            return Ok(true);
        }
        match page.next {
            Some(c) => scan.cursor = Some(c),
            None => return Ok(false),
        }
    }
}

fn push_fact(ws: &mut WriteSet, f: Fact, change: Change) {
    if let Some(k) = f.time_key
        && !ws.touched_nodes.contains(&k)
    {
        ws.touched_nodes.push(k);
    }
    ws.changes.push(change);
    ws.facts.push(f);
}

/// Makes `cur` equal to `target` (or retracted when the target did not exist).
fn restore_fact(ws: &mut WriteSet, cur: Fact, target: Option<Fact>, tx: TxId) {
    let want = match target {
        Some(t) => t,
        None => {
            if cur.status == Status::Retracted {
                return;
            }
            let mut f = cur.clone();
            f.status = Status::Retracted;
            f.retracted_tx = Some(tx);
            f
        }
    };
    let same = want.status == cur.status
        && want.sources == cur.sources
        && want.confidence == cur.confidence
        && want.invalid_from == cur.invalid_from
        && want.invalidated_by == cur.invalidated_by
        && want.asserted_tx == cur.asserted_tx
        && want.retracted_tx == cur.retracted_tx;
    if same {
        return;
    }
    let change = match (cur.status, want.status) {
        (Status::Retracted, Status::Active) => Change::AssertFact(cur.id),
        (Status::Active, Status::Retracted) => Change::RetractFact(cur.id),
        _ => Change::UpdateFact(cur.id),
    };
    // The touched node of the current version too (its summary changes).
    if let Some(k) = cur.time_key
        && !ws.touched_nodes.contains(&k)
    {
        ws.touched_nodes.push(k);
    }
    push_fact(ws, want, change);
}

fn restore_entity(ws: &mut WriteSet, cur: Entity, target: Option<Entity>) {
    let want = match target {
        Some(t) => t,
        None => {
            if cur.status == Status::Retracted {
                return;
            }
            let mut e = cur.clone();
            e.status = Status::Retracted;
            e
        }
    };
    if want.name == cur.name
        && want.aliases == cur.aliases
        && want.kind == cur.kind
        && want.status == cur.status
        && want.merged_into == cur.merged_into
    {
        return;
    }
    let change = if want.status == Status::Retracted {
        Change::RetractEntity(cur.id)
    } else {
        Change::UpdateEntity(cur.id)
    };
    ws.changes.push(change);
    ws.entities.push(want);
}

fn restore_document(ws: &mut WriteSet, cur: Document, target: Option<Document>) {
    let want = match target {
        Some(t) => t,
        None => {
            let mut d = cur.clone();
            d.status = Status::Retracted;
            d
        }
    };
    if want.status == cur.status {
        return;
    }
    let change = if want.status == Status::Active {
        Change::ReassertDocument(cur.id)
    } else {
        Change::RetractDocument(cur.id)
    };
    ws.changes.push(change);
    ws.documents.push(want);
}

/// A fact in a diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FactChange {
    /// Fact id.
    pub id: FactId,
    /// Description.
    pub description: String,
    /// Valid time.
    pub time: String,
    /// What changed (for updates).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// An entity in a diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EntityChange {
    /// Entity id.
    pub id: u64,
    /// Name after (or before, when gone).
    pub name: String,
    /// created, updated, retracted, erased.
    pub change: String,
}

/// What changed between two transactions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Diff {
    /// From (exclusive).
    pub from_tx: TxId,
    /// To (inclusive).
    pub to_tx: TxId,
    /// Facts active at `to` and not at `from`.
    pub facts_asserted: Vec<FactChange>,
    /// Facts active at `from` and not at `to`.
    pub facts_retracted: Vec<FactChange>,
    /// Facts active at both with different sources, confidence or validity end.
    pub facts_updated: Vec<FactChange>,
    /// Entities changed.
    pub entities: Vec<EntityChange>,
    /// Time nodes whose summary differs between the two snapshots.
    pub summaries_changed: Vec<String>,
    /// Transactions in between.
    pub transactions: Vec<TxId>,
}

fn label(f: &Fact) -> String {
    f.time_key
        .map(|k| k.to_string())
        .unwrap_or_else(|| f.valid.to_string())
}

/// Computes the difference between the snapshots `from` and `to`.
pub fn diff(store: &dyn NsStore, from: TxId, to: TxId) -> Result<Diff> {
    let head = store.head_tx();
    if to > head || from > head {
        return Err(Error::NotFound(format!("transactions go up to {head}")));
    }
    if from > to {
        return Err(Error::invalid("from_tx must not be after to_tx"));
    }
    let mut d = Diff {
        from_tx: from,
        to_tx: to,
        ..Diff::default()
    };
    if from == to {
        return Ok(d);
    }
    let t = touched(store, from + 1, to)?;
    d.transactions = (from + 1..=to).collect();
    let active = |f: &Option<Fact>| f.as_ref().is_some_and(|x| x.status == Status::Active);
    for id in &t.facts {
        let a = store.fact(*id, Some(from))?;
        let b = store.fact(*id, Some(to))?;
        match (active(&a), active(&b)) {
            (false, true) => {
                let f = b.expect("active");
                d.facts_asserted.push(FactChange {
                    id: *id,
                    description: f.description.clone(),
                    time: label(&f),
                    fields: vec![],
                });
            }
            (true, false) => {
                let f = a.expect("active");
                d.facts_retracted.push(FactChange {
                    id: *id,
                    description: f.description.clone(),
                    time: label(&f),
                    fields: vec![],
                });
            }
            (true, true) => {
                let (x, y) = (a.expect("a"), b.expect("b"));
                let mut fields = Vec::new();
                if x.sources != y.sources {
                    fields.push("sources".to_string());
                }
                if x.confidence != y.confidence {
                    fields.push("confidence".to_string());
                }
                if x.invalid_from != y.invalid_from {
                    fields.push("invalid_from".to_string());
                }
                if !fields.is_empty() {
                    d.facts_updated.push(FactChange {
                        id: *id,
                        description: y.description.clone(),
                        time: label(&y),
                        fields,
                    });
                }
            }
            (false, false) => {}
        }
    }
    for id in &t.entities {
        let a = store.entity(*id, Some(from))?;
        let b = store.entity(*id, Some(to))?;
        let change = match (&a, &b) {
            (None, Some(e)) if e.status == Status::Active => "created",
            (Some(x), Some(y)) if x.status == Status::Active && y.status != Status::Active => {
                "retracted"
            }
            (Some(x), Some(y)) if x != y => "updated",
            (Some(_), None) => "erased",
            _ => continue,
        };
        let name = b
            .as_ref()
            .or(a.as_ref())
            .map(|e| e.name.clone())
            .unwrap_or_default();
        d.entities.push(EntityChange {
            id: *id,
            name,
            change: change.to_string(),
        });
    }
    let mut nodes: BTreeMap<String, ()> = BTreeMap::new();
    for n in store.nodes()? {
        let a = store.summary(&n.key, Some(from))?;
        let b = store.summary(&n.key, Some(to))?;
        let differs = match (&a, &b) {
            (Some(x), Some(y)) => x.input_hash != y.input_hash,
            (None, None) => false,
            _ => true,
        };
        if differs {
            nodes.insert(n.key.to_string(), ());
        }
    }
    d.summaries_changed = nodes.into_keys().collect();
    Ok(d)
}

impl Diff {
    /// Readable text form.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "diff from tx {} to tx {} ({} transactions)\n",
            self.from_tx,
            self.to_tx,
            self.transactions.len()
        );
        let mut section = |title: &str, items: &[FactChange], sign: &str| {
            if items.is_empty() {
                return;
            }
            s.push_str(&format!("{title} ({}):\n", items.len()));
            for f in items {
                let extra = if f.fields.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", f.fields.join(", "))
                };
                s.push_str(&format!(
                    "  {sign} fact {} [{}] {}{extra}\n",
                    f.id, f.time, f.description
                ));
            }
        };
        section("facts asserted", &self.facts_asserted, "+");
        section("facts retracted", &self.facts_retracted, "-");
        section("facts updated", &self.facts_updated, "~");
        if !self.entities.is_empty() {
            s.push_str(&format!("entities ({}):\n", self.entities.len()));
            for e in &self.entities {
                s.push_str(&format!("  {} entity {} {}\n", e.change, e.id, e.name));
            }
        }
        if !self.summaries_changed.is_empty() {
            s.push_str(&format!(
                "summaries changed: {}\n",
                self.summaries_changed.join(", ")
            ));
        }
        s
    }
}
