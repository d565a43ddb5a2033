//! Ingest jobs: large or `wait=false` writes are accepted as numbered jobs whose documents are
//! stored in the namespace (durably, before the caller gets the job id) and applied by one
//! background worker in batches, each one transaction, the next batch extracted while the one
//! before it commits ([`Engine::ingest_in_stages`]). Jobs survive a restart: on start the worker
//! re-queues every job that was queued or running. Re-running a half-done job is safe:
//! documents already ingested are recognised by their identity (text, title and time) and
//! skipped.
//!
//! With a store shared by several servers (PostgreSQL), a server runs a job only while it holds
//! the job's **lease** (`joblease/<id>`: owner and expiry, taken and renewed by compare-and-set
//! in the store). A live server renews its lease every quarter of [`JOB_LEASE`]; a job whose
//! lease has expired (its server died or was cut off) is taken over by the next server that
//! looks: each one looks for such jobs at start and every [`JOB_RESCAN`]. A server that loses
//! its lease stops between batches and leaves the job to the new owner.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Engine;
use crate::ingest::input::{self, DocumentInput};
use crate::ingest::{IngestOptions, IngestReport};
use crate::store::{IdKind, NsStore};
use crate::{Error, Result};

/// Documents applied per transaction inside a job.
const JOB_BATCH: usize = 64;
/// How long a server's claim on a job lasts unless renewed (shared stores).
pub const JOB_LEASE: Duration = Duration::from_secs(30);
/// How often a server looks for jobs no live server holds (shared stores).
pub const JOB_RESCAN: Duration = Duration::from_secs(5);

/// A server's claim on a job.
#[derive(Debug, Serialize, Deserialize)]
struct Lease {
    owner: String,
    until: DateTime<Utc>,
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for the worker.
    Queued,
    /// Being applied.
    Running,
    /// Finished; `result` says what landed.
    Done,
    /// Failed; `error` says why (documents applied before the failure stay applied).
    Failed,
}

/// Progress of a job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JobProgress {
    /// Documents processed.
    pub done: usize,
    /// Documents in the job.
    pub total: usize,
}

/// An ingest job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Job {
    /// Id (per namespace).
    pub id: u64,
    /// Namespace.
    pub namespace: String,
    /// State.
    pub state: JobState,
    /// Who submitted it.
    pub actor: String,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it was accepted.
    pub created_at: DateTime<Utc>,
    /// When it started running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Progress.
    pub progress: JobProgress,
    /// What landed (when done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<IngestReport>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A queued job: namespace and id.
type JobRef = (String, u64);

fn job_key(id: u64) -> String {
    format!("job/{id:020}")
}

fn payload_key(id: u64) -> String {
    format!("jobdocs/{id:020}")
}

fn lease_key(id: u64) -> String {
    format!("joblease/{id:020}")
}

impl Engine {
    /// Accepts documents as a job: stores them durably and queues them. The documents must
    /// already be valid (the caller validates with [`input::prepare`] first).
    pub fn submit_job(
        &self,
        namespace: &str,
        docs: Vec<DocumentInput>,
        actor: &str,
        reason: Option<String>,
    ) -> Result<Job> {
        let ns = self.namespace_or_create(namespace)?;
        let store = ns.store();
        let id = store.alloc_shared_id(IdKind::Job)?;
        let job = Job {
            id,
            namespace: namespace.to_string(),
            state: JobState::Queued,
            actor: actor.to_string(),
            reason,
            created_at: Utc::now(),
            started_at: None,
            finished_at: None,
            progress: JobProgress {
                done: 0,
                total: docs.len(),
            },
            result: None,
            error: None,
        };
        let payload = serde_json::to_vec(&docs).map_err(|e| Error::Invalid(e.to_string()))?;
        store.meta_put(&payload_key(id), &payload)?;
        self.put_job(&job)?;
        if let Some(tx) = self.job_queue.lock().as_ref() {
            let _ = tx.send((namespace.to_string(), id));
        }
        Ok(job)
    }

    fn put_job(&self, job: &Job) -> Result<()> {
        let ns = self.namespace(&job.namespace)?;
        let bytes = serde_json::to_vec(job).map_err(|e| Error::Store(e.to_string()))?;
        ns.store().meta_put(&job_key(job.id), &bytes)
    }

    /// A job's status.
    pub fn job(&self, namespace: &str, id: u64) -> Result<Job> {
        let ns = self.namespace(namespace)?;
        match ns.store().meta_get(&job_key(id))? {
            Some(b) => serde_json::from_slice(&b).map_err(|e| Error::Store(e.to_string())),
            None => Err(Error::NotFound(format!(
                "no job {id} in namespace {namespace:?}"
            ))),
        }
    }

    /// Unfinished (queued or running) jobs of every namespace, as the store holds them.
    fn unfinished_jobs(&self) -> Result<Vec<JobRef>> {
        let mut pending = Vec::new();
        for name in self.namespace_names()? {
            let ns = self.namespace(&name)?;
            for (_, v) in ns.store().meta_scan("job/")? {
                if let Ok(job) = serde_json::from_slice::<Job>(&v)
                    && matches!(job.state, JobState::Queued | JobState::Running)
                {
                    pending.push((name.clone(), job.id));
                }
            }
        }
        Ok(pending)
    }

    /// Takes or renews this server's lease on job `id`: granted when nobody holds it, when its
    /// holder's lease has expired, or when it is already ours; never while another live server
    /// holds it. Atomic against the other servers (compare-and-set in the store).
    fn claim_job(&self, store: &dyn NsStore, id: u64) -> Result<bool> {
        let key = lease_key(id);
        let old = store.meta_get(&key)?;
        if let Some(l) = old
            .as_deref()
            .and_then(|b| serde_json::from_slice::<Lease>(b).ok())
            && l.owner != self.instance
            && l.until > Utc::now()
        {
            return Ok(false);
        }
        let until = chrono::Duration::from_std(self.job_lease())
            .ok()
            .and_then(|d| Utc::now().checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let lease = Lease {
            owner: self.instance.clone(),
            until,
        };
        let bytes = serde_json::to_vec(&lease).map_err(|e| Error::Store(e.to_string()))?;
        store.meta_swap(&key, old.as_deref(), &bytes)
    }

    /// How long this server's job leases last unless renewed.
    fn job_lease(&self) -> Duration {
        Duration::from_millis(self.job_lease_ms.load(Ordering::Relaxed))
    }

    /// Sets how long this server's job leases last ([`JOB_LEASE`] by default): short leases
    /// make takeover drills and tests quick.
    #[doc(hidden)]
    pub fn set_job_lease(&self, lease: Duration) {
        self.job_lease_ms
            .store(super::millis(lease), Ordering::Relaxed);
    }

    /// Claims job `id` for this server as if it were running it, without running it: what a
    /// live server holding the job looks like to the others (tests and drills).
    #[doc(hidden)]
    pub fn hold_job(&self, namespace: &str, id: u64) -> Result<bool> {
        let ns = self.namespace(namespace)?;
        self.claim_job(ns.store().as_ref(), id)
    }

    /// Starts the job worker and re-queues unfinished jobs from the store. With a shared store
    /// it also looks for jobs no live server holds every [`JOB_RESCAN`].
    pub fn start_job_worker(self: &Arc<Self>) -> Result<()> {
        let (tx, rx): (Sender<JobRef>, Receiver<JobRef>) = channel();
        for p in self.unfinished_jobs()? {
            let _ = tx.send(p);
        }
        *self.job_queue.lock() = Some(tx);
        let rescan = self.shared_store();
        let weak: Weak<Engine> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("chronorag-jobs".into())
            .spawn(move || {
                loop {
                    let next = if rescan {
                        match rx.recv_timeout(JOB_RESCAN) {
                            Ok(job) => Some(job),
                            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
                            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                        }
                    } else {
                        match rx.recv() {
                            Ok(job) => Some(job),
                            Err(_) => break,
                        }
                    };
                    let Some(engine) = weak.upgrade() else { break };
                    let jobs = match next {
                        Some(job) => vec![job],
                        None if engine.stopping.load(Ordering::SeqCst) => break,
                        None => engine.unfinished_jobs().unwrap_or_else(|e| {
                            tracing::warn!(error = %e, "looking for unfinished jobs failed");
                            Vec::new()
                        }),
                    };
                    for (ns, id) in jobs {
                        if let Err(e) = engine.run_job(&ns, id) {
                            tracing::warn!(namespace = %ns, job = id, error = %e, "job failed");
                        }
                    }
                }
            })
            .map_err(Error::Io)?;
        Ok(())
    }

    /// Stops taking new jobs (queued ones stay queued in the store for the next start).
    pub fn stop_job_worker(&self) {
        self.job_queue.lock().take();
        self.stopping.store(true, Ordering::SeqCst);
    }

    fn run_job(&self, namespace: &str, id: u64) -> Result<()> {
        let ns = self.namespace(namespace)?;
        let shared = self.shared_store();
        if shared && !self.claim_job(ns.store().as_ref(), id)? {
            // Another live server runs it.
            return Ok(());
        }
        let job = self.job(namespace, id)?;
        if matches!(job.state, JobState::Done | JobState::Failed) {
            if shared {
                ns.store().meta_remove(&lease_key(id))?;
            }
            return Ok(());
        }
        if !shared {
            return self.apply_job(&ns, job, &AtomicBool::new(false));
        }
        // Renew the lease while the job runs; a lost lease stops it between batches.
        let lost = AtomicBool::new(false);
        let done = AtomicBool::new(false);
        let store = ns.store().as_ref();
        let renew_every = self.job_lease() / 4;
        let result = std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut since = std::time::Instant::now();
                while !done.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50).min(renew_every));
                    if since.elapsed() < renew_every {
                        continue;
                    }
                    since = std::time::Instant::now();
                    match self.claim_job(store, id) {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(namespace, job = id, "lost the job's lease to another server; leaving it to that one");
                            lost.store(true, Ordering::SeqCst);
                            return;
                        }
                        // The store is out of reach: the job's own writes fail too.
                        Err(e) => tracing::warn!(namespace, job = id, error = %e, "could not renew the job's lease"),
                    }
                }
            });
            let r = self.apply_job(&ns, job, &lost);
            done.store(true, Ordering::SeqCst);
            r
        });
        if !lost.load(Ordering::SeqCst)
            && self
                .job(namespace, id)
                .is_ok_and(|j| matches!(j.state, JobState::Done | JobState::Failed))
        {
            ns.store().meta_remove(&lease_key(id))?;
        }
        result
    }

    /// Applies a job's documents in batches, recording progress; stops between batches when
    /// the worker is stopping or `lost` is set (another server took the job over).
    fn apply_job(&self, ns: &Arc<super::Namespace>, mut job: Job, lost: &AtomicBool) -> Result<()> {
        let (namespace, id) = (job.namespace.clone(), job.id);
        let namespace = namespace.as_str();
        let Some(bytes) = ns.store().meta_get(&payload_key(id))? else {
            job.state = JobState::Failed;
            job.error = Some("the job's documents are missing from the store".into());
            return self.put_job(&job);
        };
        let docs: Vec<DocumentInput> = match serde_json::from_slice(&bytes) {
            Ok(d) => d,
            Err(e) => {
                job.state = JobState::Failed;
                job.error = Some(format!("the job's stored documents are unreadable: {e}"));
                job.finished_at = Some(Utc::now());
                self.put_job(&job)?;
                return ns.store().meta_remove(&payload_key(id));
            }
        };
        job.state = JobState::Running;
        job.started_at.get_or_insert(Utc::now());
        job.progress = JobProgress {
            done: 0,
            total: docs.len(),
        };
        self.put_job(&job)?;
        let opts = IngestOptions {
            actor: job.actor.clone(),
            reason: job.reason.clone(),
            commit_indexes: false,
            ..IngestOptions::default()
        };
        let mut report = IngestReport::default();
        let mut failed = None;
        let mut unrecorded = None;
        // Stops between batches: left as running, the job is re-queued (and resumed
        // idempotently) on the next start, or by the server that took it over.
        let go_on = || !self.stopping.load(Ordering::SeqCst) && !lost.load(Ordering::SeqCst);
        // The next batch is prepared and extracted while the one before it commits.
        let whole = self.ingest_in_stages(
            namespace,
            &opts,
            self.extractor.as_ref(),
            |emit| {
                for batch in docs.chunks(JOB_BATCH) {
                    if !go_on() {
                        return;
                    }
                    let mut prepared = Vec::with_capacity(batch.len());
                    let mut rejected = Vec::new();
                    for d in batch {
                        match input::prepare(d.clone(), None) {
                            Ok(p) => prepared.push(p),
                            Err(e) => rejected.push(input::Rejected {
                                file: d.id.clone().unwrap_or_else(|| "job document".into()),
                                line: None,
                                reason: e.to_string(),
                            }),
                        }
                    }
                    let docs = (!prepared.is_empty()).then_some(prepared);
                    if !emit(docs, (batch.len(), rejected)) {
                        return;
                    }
                }
            },
            go_on,
            |result, (n, rejected)| {
                report.rejected.extend(rejected);
                match result {
                    Some(Err(e)) => {
                        failed = Some(e);
                        return std::ops::ControlFlow::Break(());
                    }
                    Some(Ok(r)) => report.absorb(r),
                    None => {}
                }
                job.progress.done += n;
                match self.put_job(&job) {
                    Ok(()) => std::ops::ControlFlow::Continue(()),
                    Err(e) => {
                        unrecorded = Some(e);
                        std::ops::ControlFlow::Break(())
                    }
                }
            },
        );
        // Progress that could not be recorded leaves the job running (as before it).
        if let Some(e) = unrecorded {
            return Err(e);
        }
        if let Some(e) = failed {
            job.state = JobState::Failed;
            job.error = Some(e.to_string());
            job.result = Some(report);
            job.finished_at = Some(Utc::now());
            self.put_job(&job)?;
            // A failed job is not retried, so its documents go: kept, they would be content
            // outside the records, out of reach of erase. The ones applied before the failure
            // are records like any other.
            return ns.store().meta_remove(&payload_key(id));
        }
        // The reader stops at a batch boundary when the server stops or loses the job: then
        // not every batch was applied, and the job stays running (with its documents).
        if !whole || job.progress.done < docs.len() {
            return Ok(());
        }
        // Make the job's documents searchable before reporting it done.
        self.flush()?;
        job.state = JobState::Done;
        job.result = Some(report);
        job.finished_at = Some(Utc::now());
        self.put_job(&job)?;
        ns.store().meta_remove(&payload_key(id))?;
        Ok(())
    }
}
