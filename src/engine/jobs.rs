//! Ingest jobs: large or `wait=false` writes are accepted as numbered jobs whose documents are
//! stored in the namespace (durably, before the caller gets the job id) and applied by one
//! background worker in batches. Jobs survive a restart: on start the worker re-queues every job
//! that was queued or running. Re-running a half-done job is safe: documents already ingested are
//! recognised by content hash and skipped.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Weak};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Engine;
use crate::ingest::input::{self, DocumentInput};
use crate::ingest::{IngestOptions, IngestReport};
use crate::store::IdKind;
use crate::{Error, Result};

/// Documents applied per transaction inside a job.
const JOB_BATCH: usize = 64;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobProgress {
    /// Documents processed.
    pub done: usize,
    /// Documents in the job.
    pub total: usize,
}

/// An ingest job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

    /// Starts the job worker and re-queues unfinished jobs from the store.
    pub fn start_job_worker(self: &Arc<Self>) -> Result<()> {
        let (tx, rx): (Sender<JobRef>, Receiver<JobRef>) = channel();
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
        for p in pending {
            let _ = tx.send(p);
        }
        *self.job_queue.lock() = Some(tx);
        let weak: Weak<Engine> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("chronorag-jobs".into())
            .spawn(move || {
                while let Ok((ns, id)) = rx.recv() {
                    let Some(engine) = weak.upgrade() else { break };
                    if let Err(e) = engine.run_job(&ns, id) {
                        tracing::warn!(namespace = %ns, job = id, error = %e, "job failed");
                    }
                }
            })
            .map_err(Error::Io)?;
        Ok(())
    }

    /// Stops taking new jobs (queued ones stay queued in the store for the next start).
    pub fn stop_job_worker(&self) {
        self.job_queue.lock().take();
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn run_job(&self, namespace: &str, id: u64) -> Result<()> {
        let mut job = self.job(namespace, id)?;
        if matches!(job.state, JobState::Done | JobState::Failed) {
            return Ok(());
        }
        let ns = self.namespace(namespace)?;
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
        for batch in docs.chunks(JOB_BATCH) {
            if self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                // Left as running: re-queued (and resumed idempotently) on the next start.
                return Ok(());
            }
            let mut prepared = Vec::with_capacity(batch.len());
            for d in batch {
                match input::prepare(d.clone(), None) {
                    Ok(p) => prepared.push(p),
                    Err(e) => report.rejected.push(input::Rejected {
                        file: d.id.clone().unwrap_or_else(|| "job document".into()),
                        line: None,
                        reason: e.to_string(),
                    }),
                }
            }
            if !prepared.is_empty() {
                match self.ingest(namespace, prepared, &opts) {
                    Ok(r) => report.absorb(r),
                    Err(e) => {
                        job.state = JobState::Failed;
                        job.error = Some(e.to_string());
                        job.result = Some(report);
                        job.finished_at = Some(Utc::now());
                        self.put_job(&job)?;
                        // A failed job is not retried, so its documents go: kept, they would
                        // be content outside the records, out of reach of erase. The ones
                        // applied before the failure are records like any other.
                        return ns.store().meta_remove(&payload_key(id));
                    }
                }
            }
            job.progress.done += batch.len();
            self.put_job(&job)?;
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
