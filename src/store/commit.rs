//! The backend-agnostic half of a commit, and of checking the audit log.
//!
//! From a [`WriteSet`] this computes what every backend must write the same way: the time nodes
//! the transaction dirties (each touched key and its ancestors), its [`Counts`], its [`Tx`]
//! record, and its [`AuditEntry`], sealed and chained to the previous one. A backend then only
//! persists records, these and its own lookup keys, atomically ([`super::NsStore::commit`]).
//! [`verify_chain`] checks an audit log given in sequence order, whatever it was read from.
//!
//! The rest of a commit that needs the previous version of each record (record-count deltas,
//! lookup keys, the physical erasure of every key derived from an erased record) is in
//! [`super::records`], also shared by every backend.

use std::collections::BTreeSet;

use chrono::Utc;

use super::{AuditVerify, WriteSet};
use crate::model::{AuditEntry, Change, Counts, Tx};
use crate::time::TimeKey;

/// The end of a namespace's audit chain: the last entry's sequence number and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    /// Sequence number of the last entry (0 when there is none).
    pub seq: u64,
    /// Its hash ([`AuditEntry::GENESIS`] when there is none).
    pub hash: String,
}

impl Default for AuditHead {
    fn default() -> Self {
        AuditHead {
            seq: 0,
            hash: AuditEntry::GENESIS.to_string(),
        }
    }
}

impl AuditHead {
    /// Chains `entry` (unsealed: `seq`, `prev_hash` and `hash` are set here) after this head,
    /// seals it, and returns it; the head moves only when the caller calls
    /// [`AuditHead::advance`] after the entry is durably written.
    pub fn next(&self, entry: AuditEntry) -> AuditEntry {
        AuditEntry {
            seq: self.seq + 1,
            prev_hash: self.hash.clone(),
            hash: String::new(),
            ..entry
        }
        .seal()
    }

    /// Moves the head to `entry` (written).
    pub fn advance(&mut self, entry: &AuditEntry) {
        self.seq = entry.seq;
        self.hash = entry.hash.clone();
    }
}

/// What a commit records besides the write set's records, computed from it.
#[derive(Debug)]
pub struct Sealed {
    /// The transaction record.
    pub tx: Tx,
    /// Its audit entry, chained to the head it was sealed against.
    pub audit: AuditEntry,
}

/// The time nodes whose summaries `ws` makes stale: each touched key and its ancestors.
pub fn dirtied(ws: &WriteSet) -> BTreeSet<TimeKey> {
    let mut dirty: BTreeSet<TimeKey> = BTreeSet::new();
    for k in &ws.touched_nodes {
        dirty.insert(*k);
        dirty.extend(k.ancestors());
    }
    dirty
}

/// The transaction record and audit entry of `ws` (whose changes and audit details are taken),
/// chained after `head`; `dirty` is [`dirtied`]`(ws)` and `erased` how many records the backend
/// removed physically.
pub fn seal(ws: &mut WriteSet, dirty: &BTreeSet<TimeKey>, erased: u64, head: &AuditHead) -> Sealed {
    let mut counts = Counts {
        time_nodes: dirty.len() as u64,
        erased,
        ..Counts::default()
    };
    for c in &ws.changes {
        match c {
            Change::AddDocument(_) | Change::ReassertDocument(_) => counts.documents += 1,
            Change::AddChunk(_) => counts.chunks += 1,
            Change::CreateEntity(_) => counts.entities += 1,
            Change::AssertFact(_) => counts.facts_asserted += 1,
            Change::UpdateFact(_) => counts.facts_updated += 1,
            Change::RetractFact(_) => counts.facts_retracted += 1,
            _ => {}
        }
    }
    let tx = Tx {
        id: ws.tx,
        at: ws.at.unwrap_or_else(Utc::now),
        actor: ws.actor.clone(),
        reason: ws.reason.clone(),
        kind: ws.kind.clone(),
        changes: std::mem::take(&mut ws.changes),
        counts: counts.clone(),
        touched_nodes: dirty.iter().copied().collect(),
    };
    let audit = head.next(AuditEntry {
        seq: 0,
        tx: Some(tx.id),
        at: tx.at,
        actor: tx.actor.clone(),
        action: tx.kind.name().to_string(),
        reason: tx.reason.clone(),
        counts,
        details: std::mem::take(&mut ws.audit_details),
        prev_hash: String::new(),
        hash: String::new(),
    });
    Sealed { tx, audit }
}

/// Checks an audit log: `entries` are `(sequence number it was stored under, the entry or why
/// it could not be read)` in storage order; `written` is the sequence number of the last entry
/// the store knows it wrote (asked after the scan, so an entry appended meanwhile is not
/// reported as missing). The log is sound when the entries are numbered 1, 2, 3 … without a
/// gap, each chains to the previous one's hash, each hash matches its content, and the chain
/// ends at `written`.
pub fn verify_chain<I>(entries: I, written: impl FnOnce() -> u64) -> crate::Result<AuditVerify>
where
    I: IntoIterator<Item = crate::Result<(u64, Result<AuditEntry, String>)>>,
{
    let mut prev = AuditEntry::GENESIS.to_string();
    let mut n = 0;
    let bad = |seq: u64, n: u64, problem: String| AuditVerify {
        ok: false,
        entries: n,
        first_bad: Some(seq),
        problem: Some(problem),
    };
    for (expected_seq, item) in (1u64..).zip(entries) {
        let (key_seq, entry) = item?;
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                return Ok(bad(
                    key_seq,
                    n,
                    format!("entry {key_seq} is unreadable: {e}"),
                ));
            }
        };
        if key_seq != expected_seq || entry.seq != key_seq {
            return Ok(bad(
                expected_seq,
                n,
                format!("entry {expected_seq} is missing (found {key_seq})"),
            ));
        }
        if entry.prev_hash != prev {
            return Ok(bad(
                key_seq,
                n,
                format!(
                    "entry {key_seq} does not chain to entry {}: an entry was changed or removed",
                    key_seq - 1
                ),
            ));
        }
        if entry.compute_hash() != entry.hash {
            return Ok(bad(
                key_seq,
                n,
                format!("entry {key_seq} was modified: its hash does not match its content"),
            ));
        }
        prev = entry.hash;
        n += 1;
    }
    let written = written();
    if written != n {
        return Ok(bad(
            n + 1,
            n,
            format!(
                "the chain ends at entry {n} but entry {written} was written: entries were removed from the end"
            ),
        ));
    }
    Ok(AuditVerify {
        ok: true,
        entries: n,
        first_bad: None,
        problem: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TxKind;

    fn entry(head: &AuditHead, action: &str) -> AuditEntry {
        head.next(AuditEntry {
            seq: 0,
            tx: None,
            at: Utc::now(),
            actor: "t".into(),
            action: action.into(),
            reason: None,
            counts: Counts::default(),
            details: serde_json::Value::Null,
            prev_hash: String::new(),
            hash: String::new(),
        })
    }

    fn chain(n: usize) -> Vec<AuditEntry> {
        let mut head = AuditHead::default();
        (0..n)
            .map(|i| {
                let e = entry(&head, &format!("a{i}"));
                head.advance(&e);
                e
            })
            .collect()
    }

    fn check(entries: &[AuditEntry], written: u64) -> AuditVerify {
        verify_chain(entries.iter().map(|e| Ok((e.seq, Ok(e.clone())))), || {
            written
        })
        .unwrap()
    }

    #[test]
    fn a_sealed_commit_counts_its_changes_and_chains_its_entry() {
        let mut ws = WriteSet::new(7, TxKind::Ingest, "me", Some("why".into()));
        ws.touched_nodes = vec![TimeKey::parse("2024-03-05").unwrap()];
        ws.changes = vec![
            Change::AddDocument(1),
            Change::AddChunk(1),
            Change::AddChunk(2),
            Change::AssertFact(9),
        ];
        ws.audit_details = serde_json::json!({"documents": ["a"]});
        let head = AuditHead {
            seq: 41,
            hash: "abc".into(),
        };
        let dirty = dirtied(&ws);
        let s = seal(&mut ws, &dirty, 0, &head);
        // The day, its month, quarter and year.
        assert_eq!(dirty.len(), 4);
        assert_eq!(s.tx.id, 7);
        assert_eq!(s.tx.changes.len(), 4);
        assert_eq!((s.tx.counts.documents, s.tx.counts.chunks), (1, 2));
        assert_eq!(s.tx.counts.facts_asserted, 1);
        assert_eq!(s.tx.counts.time_nodes, 4);
        assert_eq!((s.audit.seq, s.audit.prev_hash.as_str()), (42, "abc"));
        assert_eq!(s.audit.tx, Some(7));
        assert_eq!(s.audit.compute_hash(), s.audit.hash);
        assert_eq!(s.audit.details["documents"][0], "a");
    }

    #[test]
    fn a_sound_chain_verifies_and_every_kind_of_damage_is_named() {
        let good = chain(4);
        let v = check(&good, 4);
        assert!(v.ok && v.entries == 4, "{v:?}");
        assert!(check(&[], 0).ok);

        // Changed content.
        let mut changed = good.clone();
        changed[1].actor = "mallory".into();
        let v = check(&changed, 4);
        assert_eq!((v.ok, v.first_bad), (false, Some(2)));
        assert!(v.problem.unwrap().contains("modified"));

        // Removed from the middle.
        let gap: Vec<_> = [0, 2, 3].iter().map(|&i| good[i].clone()).collect();
        let v = check(&gap, 4);
        assert_eq!(v.first_bad, Some(2));
        assert!(v.problem.unwrap().contains("missing"));

        // Removed from the end.
        let v = check(&good[..3], 4);
        assert_eq!((v.ok, v.entries, v.first_bad), (false, 3, Some(4)));
        assert!(v.problem.unwrap().contains("removed from the end"));

        // Rewritten whole, with a fresh valid hash that no longer chains.
        let mut rechained = good.clone();
        rechained[2].prev_hash = "forged".into();
        rechained[2] = rechained[2].clone().seal();
        let v = check(&rechained, 4);
        assert_eq!(v.first_bad, Some(3));
        assert!(v.problem.unwrap().contains("does not chain"));

        // Unreadable.
        let v = verify_chain(
            vec![
                Ok((1, Ok(good[0].clone()))),
                Ok((2, Err("bad json".to_string()))),
            ],
            || 2,
        )
        .unwrap();
        assert_eq!(v.first_bad, Some(2));
        assert!(v.problem.unwrap().contains("unreadable"));
    }
}
