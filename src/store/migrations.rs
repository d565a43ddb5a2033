//! The migrations runner. Each on-disk upgrade is one file `migrations/NNNN_name.rs` at the top of
//! the repository, compiled in here; on open, the runner applies every migration newer than the
//! store's schema version, in order, and records what each changed in the `sys` tree. A store
//! whose version is newer than the newest migration known to this binary is refused.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

#[path = "../../migrations/0001_init.rs"]
mod m0001_init;
#[path = "../../migrations/0002_grouped_fact_links.rs"]
mod m0002_grouped_fact_links;

/// One migration: a number, a name and the function that applies it.
#[derive(Clone, Copy)]
pub struct Migration {
    /// Schema version after this migration.
    pub version: u32,
    /// Short name (the file name without the number).
    pub name: &'static str,
    /// Applies the migration; returns a description of what it changed.
    pub apply: fn(&sled::Db, &sled::Tree) -> Result<String>,
}

impl std::fmt::Debug for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Migration({:04}_{})", self.version, self.name)
    }
}

/// Every migration this binary knows, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        apply: m0001_init::apply,
    },
    Migration {
        version: 2,
        name: "grouped_fact_links",
        apply: m0002_grouped_fact_links::apply,
    },
];

/// The schema version this binary writes (the version of the newest migration).
pub const CURRENT_SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// What the runner recorded about one applied migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationRecord {
    /// Schema version after it.
    pub version: u32,
    /// Its name.
    pub name: String,
    /// When it ran.
    pub applied_at: DateTime<Utc>,
    /// What it changed.
    pub changed: String,
}

const VERSION_KEY: &[u8] = b"schema_version";
const RECORD_PREFIX: &str = "migration/";

/// Reads the schema version (0 for a fresh store).
fn version(sys: &sled::Tree) -> Result<u32> {
    Ok(match sys.get(VERSION_KEY)? {
        Some(v) if v.len() == 4 => u32::from_be_bytes(v.as_ref().try_into().expect("4 bytes")),
        Some(_) => return Err(Error::Store("corrupt schema version".into())),
        None => 0,
    })
}

/// Applies pending migrations and returns the resulting schema version.
pub fn run(db: &sled::Db, sys: &sled::Tree, path: &Path, migrations: &[Migration]) -> Result<u32> {
    let supported = migrations.last().map(|m| m.version).unwrap_or(0);
    let mut current = version(sys)?;
    if current > supported {
        return Err(Error::SchemaTooNew {
            path: path.display().to_string(),
            found: current,
            supported,
        });
    }
    let start = current;
    for m in migrations.iter().filter(|m| m.version > start) {
        if m.version != current + 1 {
            return Err(Error::Store(format!(
                "migration {:04}_{} does not follow schema version {current}",
                m.version, m.name
            )));
        }
        let changed = (m.apply)(db, sys)?;
        let record = MigrationRecord {
            version: m.version,
            name: m.name.to_string(),
            applied_at: Utc::now(),
            changed,
        };
        let mut batch = sled::Batch::default();
        batch.insert(
            format!("{RECORD_PREFIX}{:04}", m.version).as_bytes(),
            serde_json::to_vec(&record)?,
        );
        batch.insert(VERSION_KEY, &m.version.to_be_bytes());
        sys.apply_batch(batch)?;
        db.flush()?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        current = m.version;
    }
    Ok(current)
}

/// The migrations recorded in a store.
pub fn applied(sys: &sled::Tree) -> Result<Vec<MigrationRecord>> {
    let mut out = Vec::new();
    for kv in sys.scan_prefix(RECORD_PREFIX.as_bytes()) {
        out.push(serde_json::from_slice(&kv?.1)?);
    }
    Ok(out)
}

/// Test hook: overwrite the schema version (to simulate a store written by a newer binary).
#[doc(hidden)]
pub fn force_version(path: &Path, v: u32) -> Result<()> {
    let db = super::sled_store::open_db(path)?;
    db.open_tree("sys")?.insert(VERSION_KEY, &v.to_be_bytes())?;
    db.flush()?;
    Ok(())
}
