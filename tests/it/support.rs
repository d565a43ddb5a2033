//! Shared helpers for the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chronorag::ingest::IngestOptions;
use chronorag::ingest::input::{self, ReadItem};
use chronorag::{Config, Engine};

use chronorag::model::{Fact, FactObject, FactOrigin, Status, TxId};
use chronorag::time::{Interval, TimeKey};

/// The `chronorag` binary built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chronorag"))
}

/// A fresh temporary folder.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// A fact at a calendar unit, ready for a write set (id and tx to be filled in).
pub fn fact(id: u64, subject: u64, desc: &str, key: &str, tx: TxId) -> Fact {
    let k = TimeKey::parse(key).expect("key");
    Fact {
        id,
        subject,
        object: FactObject::Literal(String::new()),
        description: desc.to_string(),
        valid: k.interval(),
        granularity: k.granularity(),
        time_key: Some(k),
        time_inherited: false,
        sources: vec![],
        confidence: 0.9,
        origin: FactOrigin::Manual("test".into()),
        invalid_from: None,
        invalidated_by: None,
        status: Status::Active,
        asserted_tx: tx,
        retracted_tx: None,
        updated_tx: tx,
    }
}

/// A fact over an arbitrary interval.
pub fn fact_over(id: u64, subject: u64, desc: &str, valid: Interval, tx: TxId) -> Fact {
    let mut f = fact(id, subject, desc, "2000", tx);
    f.valid = valid;
    f.time_key = TimeKey::from_interval(&valid);
    f
}

/// The Time-LongQA folder, when present.
pub fn longqa() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/time-longqa");
    if p.join("corpus").is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: the Time-LongQA data set is not at {} (this test needs it)",
            p.display()
        );
        None
    }
}

/// An engine over an existing data folder.
pub fn engine_at(data: &Path) -> Engine {
    Engine::open(Config::with_data_dir(data)).expect("open engine")
}

/// A store with the whole Time-LongQA corpus ingested once per test process (namespace
/// `default`); None (with a message) when the data set is absent.
pub struct Audi {
    /// Keeps the folder alive.
    _dir: tempfile::TempDir,
    /// The engine.
    pub engine: Engine,
}

static AUDI: OnceLock<Option<Audi>> = OnceLock::new();

/// The shared Audi store.
pub fn audi() -> Option<&'static Audi> {
    AUDI.get_or_init(|| {
        let corpus = longqa()?.join("corpus");
        let dir = tmp();
        let engine = engine_at(&dir.path().join("data"));
        let (files, _) = input::list_files(&[corpus]).unwrap();
        let mut docs = Vec::new();
        for f in files {
            input::read_file(&f.path, Some(&f.id), &mut |it| {
                if let ReadItem::Document { doc, .. } = it {
                    docs.push(*doc);
                }
            });
        }
        assert_eq!(docs.len(), 12);
        engine
            .ingest("default", docs, &IngestOptions::default())
            .expect("ingest the corpus");
        Some(Audi { _dir: dir, engine })
    })
    .as_ref()
}
