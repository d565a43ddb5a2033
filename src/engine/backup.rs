//! Backup and restore of a whole data folder's store.
//!
//! A backup is a folder holding `store/` (a copy of the store made as one consistent state:
//! writers wait while it is copied, readers do not) and `backup.json` (what it holds: each
//! namespace's head transaction, the schema version, when and by which version it was made).
//! Indexes are not copied: they are derived, and a restored store rebuilds them on first open.
//! Restoring copies `store/` into a fresh data folder and opens it there: migrations run, the
//! audit chains are verified, and the indexes are rebuilt, before it says it is done.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::config::Config;
use crate::model::TxId;
use crate::{Error, Result};

/// The manifest of a backup (`backup.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BackupManifest {
    /// The ChronoRAG version that made it.
    pub chronorag: String,
    /// The store's schema version.
    pub schema_version: u32,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// Each namespace's head transaction in the copy: every write acknowledged up to it is in.
    pub namespaces: BTreeMap<String, TxId>,
}

/// What a backup did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BackupReport {
    /// The backup folder.
    pub dest: PathBuf,
    /// Its manifest.
    pub manifest: BackupManifest,
    /// Bytes of the copied store.
    pub bytes: u64,
    /// Seconds it took (writers waited for most of them).
    pub seconds: f64,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// The data folder restored into.
    pub data_dir: PathBuf,
    /// The backup's manifest.
    pub manifest: BackupManifest,
    /// Audit entries verified (every chain intact, or the restore fails).
    pub audit_entries: u64,
    /// Seconds it took, index rebuild included.
    pub seconds: f64,
}

const MANIFEST: &str = "backup.json";

fn folder_bytes(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => folder_bytes(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}

impl Engine {
    /// Backs the store up into `dest`, a folder that must not exist yet (or be empty). The
    /// server keeps answering meanwhile; writes wait until the copy is made.
    pub fn backup(&self, dest: &Path) -> Result<BackupReport> {
        let started = Instant::now();
        if dest.exists()
            && std::fs::read_dir(dest)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
        {
            return Err(Error::invalid(format!(
                "backup destination {} exists and is not empty: give a new folder",
                dest.display()
            )));
        }
        let data = self
            .config
            .data_dir
            .canonicalize()
            .unwrap_or_else(|_| self.config.data_dir.clone());
        if std::path::absolute(dest)?.starts_with(&data) {
            return Err(Error::invalid(format!(
                "backup destination {} is inside the data folder {}: give a folder outside it",
                dest.display(),
                self.config.data_dir.display()
            )));
        }
        std::fs::create_dir_all(dest)?;
        let namespaces = self.store.backup(&dest.join("store"))?;
        let manifest = BackupManifest {
            chronorag: env!("CARGO_PKG_VERSION").to_string(),
            schema_version: self.store.schema_version(),
            created_at: chrono::Utc::now().to_rfc3339(),
            namespaces,
        };
        let tmp = dest.join(format!("{MANIFEST}.tmp"));
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Store(e.to_string()))?,
        )?;
        std::fs::rename(&tmp, dest.join(MANIFEST))?;
        Ok(BackupReport {
            dest: dest.to_path_buf(),
            bytes: folder_bytes(&dest.join("store")),
            manifest,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Restores the backup in `snapshot` into the data folder of `config` (which must hold no
    /// store yet), then opens it: migrations run, every audit chain is verified and every
    /// namespace's indexes are built. Returns the opened engine with the report.
    pub fn restore(config: Config, snapshot: &Path) -> Result<(Engine, RestoreReport)> {
        let started = Instant::now();
        if config.postgres_url().is_some() {
            return Err(Error::invalid(
                "a backup restores into the embedded store of a data folder; with `--store \
                 postgres://…` restore the database with PostgreSQL's own tools (pg_restore)",
            ));
        }
        let manifest: BackupManifest = std::fs::read(snapshot.join(MANIFEST))
            .map_err(|e| {
                Error::invalid(format!(
                    "{} is not a ChronoRAG backup (no readable {MANIFEST}: {e})",
                    snapshot.display()
                ))
            })
            .and_then(|b| {
                serde_json::from_slice(&b).map_err(|e| {
                    Error::invalid(format!("{}/{MANIFEST} is damaged: {e}", snapshot.display()))
                })
            })?;
        let from = snapshot.join("store");
        if !from.is_dir() {
            return Err(Error::invalid(format!(
                "{} has no store/ folder: not a complete backup",
                snapshot.display()
            )));
        }
        let to = config.store_dir();
        if to.exists() {
            return Err(Error::invalid(format!(
                "{} already holds a store: restore into a new data folder",
                config.data_dir.display()
            )));
        }
        let partial = config.data_dir.join("store.restoring");
        if partial.exists() {
            std::fs::remove_dir_all(&partial)?;
        }
        copy_dir(&from, &partial)?;
        std::fs::rename(&partial, &to)?;
        let engine = Engine::open(config.clone())?;
        let audit = engine.verify_audit()?;
        if !audit.ok {
            return Err(Error::Store(format!(
                "the restored store's audit chain is broken at {}",
                audit.first_bad.unwrap_or_default()
            )));
        }
        for (name, head) in &manifest.namespaces {
            let ns = engine.namespace(name)?;
            if ns.store().head_tx() != *head {
                return Err(Error::Store(format!(
                    "namespace {name:?} restored at transaction {} but the backup says {head}",
                    ns.store().head_tx()
                )));
            }
            engine.indexes(&ns)?;
        }
        let report = RestoreReport {
            data_dir: config.data_dir.clone(),
            manifest,
            audit_entries: audit.entries,
            seconds: started.elapsed().as_secs_f64(),
        };
        Ok((engine, report))
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
