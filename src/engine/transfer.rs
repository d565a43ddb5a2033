//! Export and import of one namespace as JSON lines: the store's history in a form that does not
//! depend on the backend or on this version's on-disk format.
//!
//! An export is one header line, then one line per transaction in order — the transaction
//! (kind, actor, reason, time, changes) with every record it wrote as it was right after it
//! (documents, chunks, entities, facts, time nodes, conflicts) and what it erased — then one end
//! line with the count and the source's audit head. Replaying those lines in order through
//! [`NsStore::commit`] gives back the same records under the same ids, the same transaction ids
//! and times, and so the same as-of reads, history and diffs. What an export leaves out is
//! derived and is recomputed after an import: indexes and vectors (with the importing engine's
//! embedder), and summaries (their older versions too). Erased content was removed from every
//! version before the export, so it is not in the file either.
//!
//! The importing namespace gets its own audit chain: one entry per replayed transaction (with
//! its original actor, reason and time, and a note of where it came from); the file's end line
//! names the source chain's head, so the two can be told apart.
//!
//! **Invariant:** an import writes nothing until the whole file has been read and checked
//! (header, consecutive transactions from 1, end line), and only into a namespace whose
//! transactions, if any, are the file's first ones (so an interrupted import is re-run to
//! completion, and a namespace moved with an early export is caught up with a later one).

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::model::{Change, Chunk, Conflict, Document, Entity, Fact, TimeNode, Tx, TxId, TxKind};
use crate::store::{Erasure, IdKind, NsStore, WriteSet};
use crate::{Error, Result};

/// The value of `format` in an export's header.
pub const EXPORT_FORMAT: &str = "chronorag-export";
/// The newest export format version this build reads and the one it writes.
pub const EXPORT_VERSION: u32 = 1;

/// The first line of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportHeader {
    /// Always [`EXPORT_FORMAT`].
    pub format: String,
    /// Format version ([`EXPORT_VERSION`] when written by this build).
    pub format_version: u32,
    /// The ChronoRAG version that wrote it.
    pub chronorag: String,
    /// The source store's schema version.
    pub schema_version: u32,
    /// The namespace exported.
    pub namespace: String,
    /// Its head transaction: the file holds transactions 1 to this one.
    pub head_tx: TxId,
    /// When the export was made (RFC 3339).
    pub created_at: String,
}

/// One transaction with the records it wrote, as they were right after it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportTx {
    /// The transaction.
    pub tx: Tx,
    /// Document versions written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<Document>,
    /// Chunks added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<Chunk>,
    /// Chunks rewritten (redacted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunk_rewrites: Vec<Chunk>,
    /// Entity versions written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<Entity>,
    /// Fact versions written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<Fact>,
    /// Time nodes the transaction touched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<TimeNode>,
    /// Contradictions it recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    /// Record ids it erased.
    #[serde(default, skip_serializing_if = "ExportErasure::is_empty")]
    pub erase: ExportErasure,
}

/// Ids erased by a transaction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExportErasure {
    /// Documents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<u64>,
    /// Chunks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<u64>,
    /// Facts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<u64>,
    /// Entities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<u64>,
}

impl ExportErasure {
    fn is_empty(&self) -> bool {
        self.documents.is_empty()
            && self.chunks.is_empty()
            && self.facts.is_empty()
            && self.entities.is_empty()
    }
}

/// The last line of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportEnd {
    /// Transactions written (equal to the header's `head_tx`).
    pub transactions: u64,
    /// The hash of the source's last audit entry.
    pub audit_head: Option<String>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Line {
    End { end: ExportEnd },
    Tx(Box<ExportTx>),
    Header(ExportHeader),
}

/// What an export or an import did.
#[derive(Debug, Clone, Serialize)]
pub struct TransferReport {
    /// The namespace exported or imported into.
    pub namespace: String,
    /// Transactions written or replayed.
    pub transactions: u64,
    /// Document versions.
    pub documents: u64,
    /// Fact versions.
    pub facts: u64,
    /// Entity versions.
    pub entities: u64,
    /// Chunks.
    pub chunks: u64,
    /// Bytes of the file.
    pub bytes: u64,
    /// Seconds it took (for an import, index updates included).
    pub seconds: f64,
    /// Import: transactions the namespace already held (an interrupted or earlier import of
    /// the same history), checked and skipped.
    pub already_there: u64,
}

impl TransferReport {
    fn new(namespace: &str) -> Self {
        TransferReport {
            namespace: namespace.to_string(),
            transactions: 0,
            documents: 0,
            facts: 0,
            entities: 0,
            chunks: 0,
            bytes: 0,
            seconds: 0.0,
            already_there: 0,
        }
    }

    fn count(&mut self, t: &ExportTx) {
        self.transactions += 1;
        self.documents += t.documents.len() as u64;
        self.facts += t.facts.len() as u64;
        self.entities += t.entities.len() as u64;
        self.chunks += t.chunks.len() as u64;
    }
}

/// The records one transaction wrote, read back as of it.
fn export_tx(store: &dyn NsStore, tx: Tx, conflicts: &[Conflict]) -> Result<ExportTx> {
    let t = tx.id;
    let erase_tx = tx.kind == TxKind::Erase;
    let mut out = ExportTx {
        tx: Tx {
            changes: Vec::new(),
            ..tx.clone()
        },
        documents: Vec::new(),
        chunks: Vec::new(),
        chunk_rewrites: Vec::new(),
        entities: Vec::new(),
        facts: Vec::new(),
        nodes: Vec::new(),
        conflicts: Vec::new(),
        erase: ExportErasure::default(),
    };
    for c in &tx.changes {
        match *c {
            Change::AddDocument(id)
            | Change::RetractDocument(id)
            | Change::ReassertDocument(id) => {
                if let Some(d) = store.document(id, Some(t))?
                    && d.updated_tx == t
                {
                    out.documents.push(d);
                }
            }
            Change::EraseDocument(id) => out.erase.documents.push(id),
            Change::AddChunk(id) => out.chunks.extend(store.chunk(id)?),
            Change::RedactChunk(id) => out.chunk_rewrites.extend(store.chunk(id)?),
            Change::EraseChunk(id) => out.erase.chunks.push(id),
            Change::CreateEntity(id) | Change::UpdateEntity(id) | Change::RetractEntity(id) => {
                match store.entity(id, Some(t))? {
                    Some(e) if e.updated_tx == t => out.entities.push(e),
                    None if erase_tx => out.erase.entities.push(id),
                    _ => {}
                }
            }
            Change::AssertFact(id) | Change::UpdateFact(id) | Change::RetractFact(id) => {
                if let Some(f) = store.fact(id, Some(t))?
                    && f.updated_tx == t
                {
                    out.facts.push(f);
                }
            }
            Change::EraseFact(id) => out.erase.facts.push(id),
            Change::Conflict(id) => {
                out.conflicts
                    .extend(conflicts.iter().find(|x| x.id == id).cloned());
            }
        }
    }
    // A record can be named by several changes of one transaction: keep one copy.
    out.documents.sort_by_key(|d| d.id);
    out.documents.dedup_by_key(|d| d.id);
    out.entities.sort_by_key(|e| e.id);
    out.entities.dedup_by_key(|e| e.id);
    out.facts.sort_by_key(|f| f.id);
    out.facts.dedup_by_key(|f| f.id);
    for k in &tx.touched_nodes {
        out.nodes.extend(store.node(k)?);
    }
    out.tx.changes = tx.changes;
    Ok(out)
}

impl Engine {
    /// Writes namespace `namespace` to `dest` as JSON lines (see the module docs). Writers of the
    /// namespace wait while it is written, so the file is one consistent state; readers do not.
    /// `progress` is told the transactions written so far and the total.
    pub fn export_namespace(
        &self,
        namespace: &str,
        dest: &Path,
        progress: &dyn Fn(u64, u64),
    ) -> Result<TransferReport> {
        let started = Instant::now();
        let ns = self.namespace(namespace)?;
        if dest.exists() {
            return Err(Error::invalid(format!(
                "{} exists: give a new file to export into",
                dest.display()
            )));
        }
        let _writer = ns.lock_writer();
        let store = ns.store.as_ref();
        let head = store.head_tx();
        let conflicts = store.conflicts()?;
        let partial = dest.with_extension("partial");
        let file = std::fs::File::create(&partial).map_err(|e| {
            Error::invalid(format!("cannot write the export {}: {e}", dest.display()))
        })?;
        let mut w = BufWriter::new(file);
        let line = |w: &mut BufWriter<std::fs::File>, l: &Line| -> Result<()> {
            serde_json::to_writer(&mut *w, l)?;
            w.write_all(b"\n")?;
            Ok(())
        };
        line(
            &mut w,
            &Line::Header(ExportHeader {
                format: EXPORT_FORMAT.into(),
                format_version: EXPORT_VERSION,
                chronorag: env!("CARGO_PKG_VERSION").into(),
                schema_version: self.store.schema_version(),
                namespace: ns.name().into(),
                head_tx: head,
                created_at: chrono::Utc::now().to_rfc3339(),
            }),
        )?;
        let mut report = TransferReport::new(ns.name());
        let mut from = 1;
        while from <= head {
            let txs = store.txs(from, head, 256)?;
            let Some(last) = txs.last().map(|t| t.id) else {
                break;
            };
            for tx in txs {
                let t = export_tx(store, tx, &conflicts)?;
                report.count(&t);
                line(&mut w, &Line::Tx(Box::new(t)))?;
            }
            progress(last, head);
            from = last + 1;
        }
        if report.transactions != head {
            return Err(Error::Store(format!(
                "namespace {namespace:?} lists {} transactions but its head is {head}",
                report.transactions
            )));
        }
        // One audit entry per transaction: the last is at the head's sequence number (the
        // whole log is read only if that does not hold).
        let last = match store.audit(head.max(1), 1)?.pop() {
            Some(e) => Some(e),
            None => store.audit(0, usize::MAX)?.pop(),
        };
        let audit_head = last.map(|e| e.hash);
        line(
            &mut w,
            &Line::End {
                end: ExportEnd {
                    transactions: head,
                    audit_head,
                },
            },
        )?;
        let file = w.into_inner().map_err(|e| Error::Io(e.into_error()))?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&partial, dest)?;
        report.bytes = std::fs::metadata(dest)?.len();
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Replays an export into namespace `namespace` (the file's own when `None`). The namespace
    /// must have no transactions, or exactly the export's first ones (an interrupted import, or
    /// an earlier export of the same namespace being caught up): those are checked and skipped.
    /// The whole file is read and checked before anything is written; indexes are brought up to
    /// date as it goes, and summaries are requested at the end.
    pub fn import_namespace(
        &self,
        namespace: Option<&str>,
        src: &Path,
        progress: &dyn Fn(u64, u64),
    ) -> Result<TransferReport> {
        let started = Instant::now();
        let header = check_export(src)?;
        let name = namespace.unwrap_or(&header.namespace);
        self.check_writable()?;
        let ns = self.namespace_or_create(name)?;
        self.check_ns_writable(&ns)?;
        let idx = self.indexes(&ns)?;
        let _writer = self.lock_writer_current(&ns, &idx)?;
        let store = ns.store.as_ref();
        // A namespace that already holds the start of this export (an import that was
        // interrupted, or an earlier export of the same namespace) is caught up from there.
        let have = store.head_tx();
        if have > header.head_tx {
            return Err(Error::Conflict(format!(
                "namespace {name:?} already has {have} transactions, more than the export's {}: \
                 import into a new namespace (--namespace NAME)",
                header.head_tx
            )));
        }
        let mut report = TransferReport::new(name);
        let reader = BufReader::new(std::fs::File::open(src)?);
        for (i, l) in reader.lines().enumerate() {
            let l = l?;
            let Line::Tx(t) = parse_line(&l, i + 1)? else {
                continue;
            };
            let t = *t;
            let id = t.tx.id;
            if id <= have {
                let mine = store.tx(id)?;
                if mine.as_ref().is_none_or(|m| !same_tx(m, &t.tx)) {
                    return Err(Error::Conflict(format!(
                        "namespace {name:?} already has {have} transactions and its transaction \
                         {id} is not the export's: import into a new namespace (--namespace NAME)"
                    )));
                }
                report.already_there += 1;
                continue;
            }
            report.count(&t);
            for (kind, max) in [
                (IdKind::Document, t.documents.iter().map(|d| d.id).max()),
                (IdKind::Chunk, t.chunks.iter().map(|c| c.id).max()),
                (IdKind::Entity, t.entities.iter().map(|e| e.id).max()),
                (IdKind::Fact, t.facts.iter().map(|f| f.id).max()),
                (IdKind::Conflict, t.conflicts.iter().map(|c| c.id).max()),
            ] {
                if let Some(max) = max {
                    let next = store.alloc_ids(kind, 0);
                    if next <= max {
                        store.alloc_ids(kind, max + 1 - next);
                    }
                }
            }
            let mut ws = WriteSet::new(id, t.tx.kind, t.tx.actor, t.tx.reason);
            ws.at = Some(t.tx.at);
            ws.documents = t.documents;
            ws.chunks = t.chunks;
            ws.chunk_rewrites = t.chunk_rewrites;
            ws.entities = t.entities;
            ws.facts = t.facts;
            ws.nodes = t.nodes;
            ws.conflicts = t.conflicts;
            ws.touched_nodes = t.tx.touched_nodes;
            ws.erase = Erasure {
                documents: t.erase.documents,
                chunks: t.erase.chunks,
                facts: t.erase.facts,
                entities: t.erase.entities,
            };
            ws.changes = t.tx.changes;
            ws.audit_details = serde_json::json!({
                "imported_from": {"namespace": header.namespace, "tx": id},
            });
            ws.durable = false;
            let committed = store.commit(ws)?;
            self.after_commit(&ns, &idx, &committed, false)?;
            if id % 256 == 0 || id == header.head_tx {
                progress(id, header.head_tx);
            }
        }
        idx.commit(store.head_tx(), true)?;
        self.store.flush()?;
        self.request_summaries(name);
        report.bytes = std::fs::metadata(src)?.len();
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }
}

/// One line, told apart by its key (`format`, `tx` or `end`) so that an error names what is
/// wrong with it.
/// Whether a stored transaction is the one an export line carries (the erased-record count
/// depends on what was there to erase, so it is left out).
fn same_tx(a: &Tx, b: &Tx) -> bool {
    a.id == b.id
        && a.at == b.at
        && a.kind == b.kind
        && a.actor == b.actor
        && a.reason == b.reason
        && a.changes == b.changes
}

fn parse_line(l: &str, n: usize) -> Result<Line> {
    let bad = |e: serde_json::Error| Error::invalid(format!("export line {n}: {e}"));
    let v: serde_json::Value = serde_json::from_str(l).map_err(bad)?;
    let Some(o) = v.as_object() else {
        return Err(Error::invalid(format!(
            "export line {n}: not a JSON object"
        )));
    };
    if let Some(end) = o.get("end") {
        Ok(Line::End {
            end: serde_json::from_value(end.clone()).map_err(bad)?,
        })
    } else if o.contains_key("tx") {
        Ok(Line::Tx(serde_json::from_value(v).map_err(bad)?))
    } else if o.contains_key("format") {
        Ok(Line::Header(serde_json::from_value(v).map_err(bad)?))
    } else {
        Err(Error::invalid(format!(
            "export line {n}: neither a header, a transaction nor the end line"
        )))
    }
}

/// Reads the whole export and checks its shape: a header of a format this build reads,
/// transactions 1..=head in order, and the end line. Returns the header.
fn check_export(src: &Path) -> Result<ExportHeader> {
    let file = std::fs::File::open(src)
        .map_err(|e| Error::invalid(format!("cannot read export {}: {e}", src.display())))?;
    let mut header: Option<ExportHeader> = None;
    let mut last: TxId = 0;
    let mut end: Option<ExportEnd> = None;
    for (i, l) in BufReader::new(file).lines().enumerate() {
        let n = i + 1;
        let l = l.map_err(|e| Error::invalid(format!("export line {n}: {e}")))?;
        if end.is_some() {
            return Err(Error::invalid(format!(
                "export line {n}: text after the end line"
            )));
        }
        match (parse_line(&l, n)?, &header) {
            (Line::Header(h), None) => {
                if h.format != EXPORT_FORMAT {
                    return Err(Error::invalid(format!(
                        "{} is not a ChronoRAG export (format {:?})",
                        src.display(),
                        h.format
                    )));
                }
                if h.format_version > EXPORT_VERSION {
                    return Err(Error::invalid(format!(
                        "{} was written by ChronoRAG {} in export format {}; this build reads up \
                         to format {EXPORT_VERSION}: upgrade ChronoRAG to import it",
                        src.display(),
                        h.chronorag,
                        h.format_version
                    )));
                }
                header = Some(h);
            }
            (_, None) => {
                return Err(Error::invalid(format!(
                    "{} does not start with an export header",
                    src.display()
                )));
            }
            (Line::Header(_), Some(_)) => {
                return Err(Error::invalid(format!("export line {n}: a second header")));
            }
            (Line::Tx(t), Some(_)) => {
                if t.tx.id != last + 1 {
                    return Err(Error::invalid(format!(
                        "export line {n}: transaction {} follows {last}; the file is incomplete \
                         or out of order",
                        t.tx.id
                    )));
                }
                last = t.tx.id;
            }
            (Line::End { end: e }, Some(_)) => end = Some(e),
        }
    }
    let header = header
        .ok_or_else(|| Error::invalid(format!("{} is empty, not an export", src.display())))?;
    match end {
        Some(e) if e.transactions == last && last == header.head_tx => Ok(header),
        Some(e) => Err(Error::invalid(format!(
            "{}: the end line counts {} transactions, the header names head {} and the file holds {last}",
            src.display(),
            e.transactions,
            header.head_tx
        ))),
        None => Err(Error::invalid(format!(
            "{} has no end line: the export is incomplete ({last} of {} transactions)",
            src.display(),
            header.head_tx
        ))),
    }
}
