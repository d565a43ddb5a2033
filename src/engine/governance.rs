//! Governance operations on the engine: each runs under the namespace's writer lock, commits one
//! transaction, updates the derived indexes and asks for summaries to be refreshed.

use serde::{Deserialize, Serialize};

use super::{Engine, FactView, Namespace};
use crate::governance::edit::{self, FactInput, FactPatch};
use crate::governance::erase;
use crate::governance::history::{self, Diff};
use crate::model::{AuditEntry, Conflict, FactId, Status, Tx, TxId};
use crate::store::{AuditVerify, NsStore, WriteSet};
use crate::{Error, Result};

/// What an erase removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EraseReport {
    /// The erase transaction.
    pub tx: TxId,
    /// Documents erased.
    pub documents: usize,
    /// Chunks erased.
    pub chunks: usize,
    /// Facts erased.
    pub facts: usize,
    /// Entities erased.
    pub entities: usize,
    /// Summary versions scrubbed.
    pub summary_versions_scrubbed: usize,
    /// Store size on disk before and after compaction.
    pub store_bytes: (u64, u64),
}

/// A conflict with both facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConflictView {
    /// The conflict.
    #[serde(flatten)]
    pub conflict: Conflict,
    /// The older fact.
    pub existing_fact: FactView,
    /// The newer fact.
    pub incoming_fact: FactView,
}

/// Audit verification over every namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VerifyReport {
    /// Whether every chain is intact.
    pub ok: bool,
    /// Entries checked in all.
    pub entries: u64,
    /// The first bad entry: `namespace:seq`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad: Option<String>,
    /// Per namespace.
    pub namespaces: std::collections::BTreeMap<String, AuditVerify>,
}

impl Engine {
    /// Runs `build` under the writer lock as the next transaction and brings the indexes up.
    fn govern<T>(
        &self,
        namespace: &str,
        build: impl FnOnce(&dyn NsStore, TxId, &Namespace) -> Result<(WriteSet, T)>,
    ) -> Result<(Tx, T)> {
        let ns = self.namespace(namespace)?;
        self.check_ns_writable(&ns)?;
        let idx = self.indexes(&ns)?;
        let _writer = self.lock_writer_current(&ns, &idx)?;
        let store = ns.store().as_ref();
        let tx = store.head_tx() + 1;
        let (ws, extra) = build(store, tx, &ns)?;
        let committed = store.commit(ws)?;
        self.after_commit(&ns, &idx, &committed, true)?;
        self.request_summaries(namespace);
        Ok((committed, extra))
    }

    fn facts_of_fn(&self, ns: &Namespace) -> Result<impl Fn(u64) -> Vec<FactId>> {
        let idx = self.indexes(ns)?;
        Ok(move |e: u64| idx.catalog.read().facts_of(e).to_vec())
    }

    /// Asserts facts by hand.
    pub fn assert_facts(
        &self,
        namespace: &str,
        facts: &[FactInput],
        actor: &str,
        reason: Option<String>,
    ) -> Result<(Tx, Vec<FactId>)> {
        self.namespace_or_create(namespace)?;
        self.govern(namespace, |s, tx, _| {
            edit::assert_facts(s, tx, facts, actor, reason)
        })
    }

    /// Corrects a fact (retract + assert, one transaction); returns the new fact's id.
    pub fn correct_fact(
        &self,
        namespace: &str,
        id: FactId,
        patch: &FactPatch,
        actor: &str,
        reason: Option<String>,
    ) -> Result<(Tx, FactId)> {
        self.govern(namespace, |s, tx, _| {
            edit::correct_fact(s, tx, id, patch, actor, reason)
        })
    }

    /// Retracts a fact.
    pub fn retract_fact(
        &self,
        namespace: &str,
        id: FactId,
        actor: &str,
        reason: Option<String>,
    ) -> Result<Tx> {
        Ok(self
            .govern(namespace, |s, tx, _| {
                Ok((edit::retract_fact(s, tx, id, actor, reason)?, ()))
            })?
            .0)
    }

    /// Retracts a document and the facts only it supports.
    pub fn retract_document(
        &self,
        namespace: &str,
        external_id: &str,
        actor: &str,
        reason: Option<String>,
    ) -> Result<Tx> {
        Ok(self
            .govern(namespace, |s, tx, _| {
                Ok((
                    edit::retract_document(s, tx, external_id, actor, reason)?,
                    (),
                ))
            })?
            .0)
    }

    /// Renames an entity (given by id or name).
    pub fn rename_entity(
        &self,
        namespace: &str,
        entity: &str,
        new_name: &str,
        actor: &str,
        reason: Option<String>,
    ) -> Result<Tx> {
        Ok(self
            .govern(namespace, |s, tx, _| {
                let e = self.resolve_entity(s, entity)?;
                Ok((
                    edit::rename_entity(s, tx, e.id, new_name, actor, reason)?,
                    (),
                ))
            })?
            .0)
    }

    /// Merges entities into one; returns the number of facts moved.
    pub fn merge_entities(
        &self,
        namespace: &str,
        into: &str,
        from: &[String],
        actor: &str,
        reason: Option<String>,
    ) -> Result<(Tx, usize)> {
        let ns = self.namespace(namespace)?;
        let facts_of = self.facts_of_fn(&ns)?;
        self.govern(namespace, |s, tx, _| {
            let target = self.resolve_entity(s, into)?;
            let sources: Vec<u64> = from
                .iter()
                .map(|f| self.resolve_entity(s, f).map(|e| e.id))
                .collect::<Result<_>>()?;
            edit::merge_entities(s, tx, target.id, &sources, &facts_of, actor, reason)
        })
    }

    /// A new transaction that exactly undoes transaction `target`.
    pub fn revert(
        &self,
        namespace: &str,
        target: TxId,
        actor: &str,
        reason: Option<String>,
    ) -> Result<Tx> {
        Ok(self
            .govern(namespace, |s, tx, _| {
                Ok((history::revert(s, tx, target, actor, reason)?, ()))
            })?
            .0)
    }

    /// A new transaction that undoes everything after `to`.
    pub fn rollback(
        &self,
        namespace: &str,
        to: TxId,
        actor: &str,
        reason: Option<String>,
    ) -> Result<Tx> {
        Ok(self
            .govern(namespace, |s, tx, _| {
                Ok((history::rollback(s, tx, to, actor, reason)?, ()))
            })?
            .0)
    }

    /// What changed between two transactions.
    pub fn diff(&self, namespace: &str, from: TxId, to: TxId) -> Result<Diff> {
        let ns = self.namespace(namespace)?;
        history::diff(ns.store().as_ref(), from, to)
    }

    /// Transactions, newest first, starting at `before` (exclusive; default: the head).
    pub fn transactions(
        &self,
        namespace: &str,
        before: Option<TxId>,
        limit: usize,
    ) -> Result<Vec<Tx>> {
        let ns = self.namespace(namespace)?;
        let store = ns.store();
        let top = before
            .map(|b| b.saturating_sub(1))
            .unwrap_or(store.head_tx())
            .min(store.head_tx());
        if limit == 0 || limit > 1000 {
            return Err(Error::invalid("limit must be between 1 and 1000"));
        }
        let from = top.saturating_sub(limit as u64 - 1).max(1);
        let mut txs = store.txs(from, top, limit)?;
        txs.reverse();
        Ok(txs)
    }

    /// One transaction.
    pub fn transaction(&self, namespace: &str, id: TxId) -> Result<Tx> {
        let ns = self.namespace(namespace)?;
        ns.store().tx(id)?.ok_or_else(|| {
            Error::NotFound(format!("no transaction {id} in namespace {namespace:?}"))
        })
    }

    /// Audit entries from sequence number `from`; at most `limit` (1–1000, as every page).
    pub fn audit(&self, namespace: &str, from: u64, limit: usize) -> Result<Vec<AuditEntry>> {
        let ns = self.namespace(namespace)?;
        if limit == 0 || limit > 1000 {
            return Err(Error::invalid("limit must be between 1 and 1000"));
        }
        ns.store().audit(from.max(1), limit)
    }

    /// Verifies the audit chain of every namespace.
    pub fn verify_audit(&self) -> Result<VerifyReport> {
        let mut report = VerifyReport {
            ok: true,
            entries: 0,
            first_bad: None,
            namespaces: Default::default(),
        };
        for name in self.namespace_names()? {
            let v = self.namespace(&name)?.store().verify_audit()?;
            report.entries += v.entries;
            if !v.ok {
                report.ok = false;
                if report.first_bad.is_none() {
                    report.first_bad = v.first_bad.map(|s| format!("{name}:{s}"));
                }
            }
            report.namespaces.insert(name, v);
        }
        Ok(report)
    }

    /// Conflicts whose facts are both still active (as of a snapshot).
    pub fn conflicts(&self, namespace: &str, as_of: Option<TxId>) -> Result<Vec<ConflictView>> {
        let ns = self.namespace(namespace)?;
        let store = ns.store().as_ref();
        self.check_as_of(store.head_tx(), as_of, namespace)?;
        let mut out = Vec::new();
        for c in store.conflicts()? {
            if as_of.is_some_and(|t| c.tx > t) {
                continue;
            }
            // A fact erased since (or not yet asserted at the snapshot) ends its conflict; any
            // other error is the store's and is reported, not skipped.
            let read = |id| match self.fact(namespace, id, as_of) {
                Ok(f) => Ok(Some(f)),
                Err(Error::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            };
            let (Some(a), Some(b)) = (read(c.existing)?, read(c.incoming)?) else {
                continue;
            };
            if a.status == Status::Active && b.status == Status::Active {
                out.push(ConflictView {
                    conflict: c,
                    existing_fact: a,
                    incoming_fact: b,
                });
            }
        }
        Ok(out)
    }

    /// Erases a document (privacy request): its text, the facts and entities only it supports,
    /// their index entries and every summary finding derived from them; compacts the store so
    /// that none of it remains in the files.
    pub fn erase_document(
        &self,
        namespace: &str,
        external_id: &str,
        actor: &str,
        reason: Option<String>,
    ) -> Result<EraseReport> {
        let ns = self.namespace(namespace)?;
        let facts_of = self.facts_of_fn(&ns)?;
        let idx = self.indexes(&ns)?;
        let find_chunks = |name: &str| chunks_naming(&idx, name);
        self.erase_with(namespace, actor, reason, |s| {
            let set = erase::plan_document(s, external_id, &facts_of, &find_chunks)?;
            Ok((set, serde_json::json!({"document": external_id})))
        })
    }

    /// Erases an entity (by id or name): its names and every fact that mentions it.
    pub fn erase_entity(
        &self,
        namespace: &str,
        entity: &str,
        actor: &str,
        reason: Option<String>,
    ) -> Result<EraseReport> {
        let ns = self.namespace(namespace)?;
        let facts_of = self.facts_of_fn(&ns)?;
        let idx = self.indexes(&ns)?;
        let find_chunks = |name: &str| chunks_naming(&idx, name);
        self.erase_with(namespace, actor, reason, |s| {
            let e = self.resolve_entity(s, entity)?;
            let set = erase::plan_entity(s, &e, &facts_of, &find_chunks)?;
            Ok((set, serde_json::json!({"entity": e.id})))
        })
    }

    fn erase_with(
        &self,
        namespace: &str,
        actor: &str,
        reason: Option<String>,
        plan: impl FnOnce(&dyn NsStore) -> Result<(erase::EraseSet, serde_json::Value)>,
    ) -> Result<EraseReport> {
        edit::require_reason(&reason)?;
        let ns = self.namespace(namespace)?;
        let idx = self.indexes(&ns)?;
        let (tx, counts) = self.govern(namespace, |s, tx, _| {
            let (set, what) = plan(s)?;
            let ws = erase::build(s, tx, &set, what, actor, reason)?;
            let counts = (
                set.documents.len(),
                set.chunks.len(),
                set.facts.len(),
                set.entities.len(),
                ws.summary_rewrites.len(),
            );
            Ok((ws, counts))
        })?;
        // The rewritten summaries, then the bytes: indexes purged, store compacted.
        let _writer = ns.lock_writer();
        idx.index_all_summaries(ns.store().as_ref())?;
        idx.purge(tx.id)?;
        let store_bytes = self.store.compact()?;
        Ok(EraseReport {
            tx: tx.id,
            documents: counts.0,
            chunks: counts.1,
            facts: counts.2,
            entities: counts.3,
            summary_versions_scrubbed: counts.4,
            store_bytes,
        })
    }
}

/// Chunks whose text matches `name` (erase looks for other mentions of an entity there).
fn chunks_naming(idx: &crate::index::NsIndexes, name: &str) -> Vec<u64> {
    idx.text
        .search(crate::index::text::TextKind::Chunk, name, None, 10_000)
        .map(|v| v.into_iter().map(|x| x.0).collect())
        .unwrap_or_default()
}
