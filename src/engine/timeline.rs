//! Summaries and the timeline read API: `Engine::summarize`, `Engine::timeline`, and the
//! background worker that keeps summaries current after writes.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Weak};

use serde::Serialize;

use super::Engine;
use crate::model::{FactId, SummaryView, TxId};
use crate::query::FactView;
use crate::summary::node_label;
use crate::summary::scheduler::{self, SummarizeReport};
use crate::time::{Granularity, TimeKey};
use crate::{Error, Result};

/// A child of a node in the timeline.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct TimelineChild {
    /// Node key.
    pub node: String,
    /// Readable label.
    pub label: String,
    /// Its summary title, if summarised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Facts inside it.
    pub fact_count: u64,
}

/// A node of the timeline with its summary, children, top facts and staleness.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct TimelineNode {
    /// Node key (`2019`, `2019-Q3`), or `all` for the list of years.
    pub node: String,
    /// Readable label.
    pub label: String,
    /// Its summary as of the snapshot (null when not summarised yet).
    pub summary: Option<SummaryView>,
    /// Child nodes (years for `all`).
    pub children: Vec<TimelineChild>,
    /// Top facts: the facts its summary's findings cite.
    pub facts: Vec<FactView>,
    /// Whether data changed after the summary was written (a recompute is pending).
    pub stale: bool,
    /// The transaction that made it stale, when stale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_since_tx: Option<TxId>,
}

/// How often a server sharing its store with others (PostgreSQL) reads the heads of its open
/// namespaces: a write acknowledged by another server is visible here within this (plus the
/// time to apply it).
pub const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// The summary worker starts a pass once no write has come for this long.
pub const SUMMARY_QUIET: std::time::Duration = std::time::Duration::from_millis(200);

/// ... or this long after the first write of a burst, whichever comes first.
pub const SUMMARY_MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Engine {
    /// Recomputes the summaries of a namespace's dirty time nodes (bottom-up, unchanged inputs
    /// skipped).
    pub fn summarize(&self, namespace: &str) -> Result<SummarizeReport> {
        let ns = self.namespace(namespace)?;
        let idx = self.indexes(&ns)?;
        let mut cache = ns.summary_lock.lock();
        scheduler::run(
            ns.store().as_ref(),
            &idx,
            self.summarizer.as_ref(),
            &mut cache,
        )
    }

    /// A node of the timeline (or, with `None`, the list of years), as of a snapshot.
    pub fn timeline(
        &self,
        namespace: &str,
        node: Option<&str>,
        as_of: Option<TxId>,
    ) -> Result<TimelineNode> {
        let ns = self.namespace(namespace)?;
        let store = ns.store().as_ref();
        self.check_as_of(store.head_tx(), as_of, namespace)?;
        let all_nodes = store.nodes()?;
        let dirty: std::collections::HashMap<TimeKey, TxId> =
            store.dirty_nodes()?.into_iter().collect();
        // Periods whose facts were all retracted (e.g. by a rollback) are not shown.
        let nonempty = |k: &TimeKey| -> Result<bool> {
            Ok(store.summary(k, as_of)?.is_none_or(|s| s.fact_count > 0))
        };
        let child_of = |k: &TimeKey| -> Result<TimelineChild> {
            let s = store.summary(k, as_of)?;
            Ok(TimelineChild {
                node: k.to_string(),
                label: node_label(k),
                title: s.as_ref().map(|s| s.title.clone()),
                fact_count: s.map(|s| s.fact_count).unwrap_or(0),
            })
        };
        let visible = |n: &crate::model::TimeNode| as_of.is_none_or(|t| n.added_tx <= t);
        let Some(key_str) = node else {
            let mut years: Vec<TimeKey> = Vec::new();
            for n in all_nodes
                .iter()
                .filter(|n| n.key.granularity() == Granularity::Year && visible(n))
            {
                if nonempty(&n.key)? {
                    years.push(n.key);
                }
            }
            years.sort();
            return Ok(TimelineNode {
                node: "all".into(),
                label: "all years".into(),
                summary: None,
                children: years.iter().map(child_of).collect::<Result<_>>()?,
                facts: vec![],
                stale: !dirty.is_empty(),
                stale_since_tx: dirty.values().min().copied(),
            });
        };
        let key = TimeKey::parse(key_str)?;
        let Some(n) = all_nodes.iter().find(|n| n.key == key && visible(n)) else {
            return Err(Error::NotFound(format!(
                "no time node {key} in namespace {namespace:?} (no facts are valid in it)"
            )));
        };
        let mut kids: Vec<TimeKey> = Vec::new();
        for c in all_nodes
            .iter()
            .filter(|c| c.key.parent() == Some(n.key) && visible(c))
        {
            if nonempty(&c.key)? {
                kids.push(c.key);
            }
        }
        kids.sort();
        let summary = store.summary(&key, as_of)?;
        let cited: Vec<(FactId, f32)> = summary
            .iter()
            .flat_map(|s| s.findings.iter().flat_map(|f| f.facts.iter().copied()))
            .map(|id| (id, 1.0))
            .collect();
        let mut facts = self.hydrate_fact_hits(&ns, &cited, 20, as_of)?;
        // A node's facts are cited by its summary, not ranked: no score.
        for f in &mut facts {
            f.score = None;
        }
        let stale_since_tx = dirty
            .get(&key)
            .copied()
            .filter(|t| summary.as_ref().is_none_or(|s| *t > s.reflects_tx) && as_of.is_none());
        Ok(TimelineNode {
            node: key.to_string(),
            label: node_label(&key),
            summary: summary.map(SummaryView::from),
            children: kids.iter().map(child_of).collect::<Result<_>>()?,
            facts,
            stale: stale_since_tx.is_some(),
            stale_since_tx,
        })
    }

    /// Starts the background worker that recomputes summaries after writes. Writes call
    /// [`Engine::request_summaries`]; requests for the same namespace coalesce, and a pass waits
    /// until writes pause for [`SUMMARY_QUIET`] or [`SUMMARY_MAX_WAIT`] has passed since the
    /// first of them.
    pub fn start_summary_worker(self: &Arc<Self>) {
        let (tx, rx): (Sender<String>, Receiver<String>) = channel();
        *self.summary_requests.lock() = Some(tx);
        let weak: Weak<Engine> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("chronorag-summaries".into())
            .spawn(move || {
                // Namespaces written to while the previous pass ran.
                let mut carried = std::collections::BTreeSet::new();
                loop {
                    let mut pending = std::mem::take(&mut carried);
                    if pending.is_empty() {
                        let Ok(first) = rx.recv() else { break };
                        pending.insert(first);
                    }
                    // Wait for the writes to pause (a burst is one pass), but not longer than
                    // SUMMARY_MAX_WAIT: under a steady load summaries lag by at most that, and a
                    // bulk load no longer pays for a pass after every batch.
                    let burst = std::time::Instant::now();
                    loop {
                        std::thread::sleep(SUMMARY_QUIET);
                        let mut more = false;
                        while let Ok(n) = rx.try_recv() {
                            pending.insert(n);
                            more = true;
                        }
                        if !more || burst.elapsed() >= SUMMARY_MAX_WAIT {
                            break;
                        }
                    }
                    let Some(engine) = weak.upgrade() else { break };
                    for ns in pending {
                        let result = engine.summarize(&ns);
                        engine
                            .summary_passes
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        match result {
                            Ok(r) if !r.recomputed.is_empty() => tracing::info!(
                                namespace = %ns,
                                recomputed = r.recomputed.len(),
                                unchanged = r.unchanged,
                                "summaries updated"
                            ),
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(namespace = %ns, error = %e, "summaries failed")
                            }
                        }
                        while let Ok(n) = rx.try_recv() {
                            carried.insert(n);
                        }
                        // Writes have settled: the text segments they left are merged. Not while
                        // writes go on: a merge that races their commits is thrown away by the
                        // text index (and costs a merge's work); the pass after them merges.
                        if !carried.contains(&ns) {
                            engine.merge_text_when_idle(&ns);
                        }
                    }
                }
            })
            .expect("spawn summary worker");
    }

    /// With a store shared by several servers (PostgreSQL), starts the thread that follows it:
    /// whenever the store announces a commit (PostgreSQL's LISTEN/NOTIFY), and at the latest
    /// every [`FOLLOW_EVERY`], it reads each open namespace's head and applies to this
    /// server's indexes what other servers committed ([`Engine::follow_store`]). Does nothing
    /// with the embedded store, which only this process writes.
    pub fn start_follower(self: &Arc<Self>) {
        if !self.shared_store() {
            return;
        }
        let weak: Weak<Engine> = Arc::downgrade(self);
        let store = self.store.clone();
        std::thread::Builder::new()
            .name("chronorag-follower".into())
            .spawn(move || {
                loop {
                    let every = match weak.upgrade() {
                        Some(engine) => engine.follow_every(),
                        None => break,
                    };
                    // Woken at once by a commit another server announces; polls otherwise.
                    store.wait_for_change(every);
                    let Some(engine) = weak.upgrade() else { break };
                    if engine.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                    if let Err(e) = engine.follow_store() {
                        tracing::warn!(error = %e, "following the shared store failed");
                    }
                }
            })
            .expect("spawn follower");
    }

    /// How often the follower polls the shared store when no commit is announced.
    fn follow_every(&self) -> std::time::Duration {
        std::time::Duration::from_millis(
            self.follow_every_ms
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Sets how often the follower polls ([`FOLLOW_EVERY`] by default); announced commits wake
    /// it sooner. A long interval shows that announcements alone keep a server current (tests).
    #[doc(hidden)]
    pub fn set_follow_every(&self, every: std::time::Duration) {
        self.follow_every_ms
            .store(super::millis(every), std::sync::atomic::Ordering::Relaxed);
    }

    /// Summary passes the background worker has run since start (one per namespace per pass).
    pub fn summary_passes(&self) -> u64 {
        self.summary_passes
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Asks the background worker (if started) to bring a namespace's summaries up to date.
    pub fn request_summaries(&self, namespace: &str) {
        if let Some(tx) = self.summary_requests.lock().as_ref() {
            let _ = tx.send(namespace.to_string());
        }
    }
}
