//! Configuration: one [`Config`] struct, read from an optional TOML file, then environment
//! variables, then command-line flags (later wins). Every field has a default that runs the
//! embedded service with no network.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The default data folder.
pub const DEFAULT_DATA_DIR: &str = "./chronorag-data";

/// Everything configurable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the store and the indexes live.
    pub data_dir: PathBuf,
    /// Fact extractor: `rules` (built in) or `llm`.
    pub extractor: String,
    /// Embedder: `hash` (built in), `minilm` or `openai`.
    pub embedder: String,
    /// Accept a namespace embedded with another embedder and re-embed it on open.
    pub reembed: bool,
    /// Summariser: `extractive` (built in) or `llm`.
    pub summarizer: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            extractor: "rules".into(),
            embedder: "hash".into(),
            reembed: false,
            summarizer: "extractive".into(),
        }
    }
}

impl Config {
    /// A default config with the given data folder.
    pub fn with_data_dir(dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: dir.into(),
            ..Config::default()
        }
    }

    /// Reads a TOML config file; unknown keys are an error (so typos are not silently ignored).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// The sled store folder.
    pub fn store_dir(&self) -> PathBuf {
        self.data_dir.join("store")
    }

    /// The folder of a namespace's derived indexes.
    pub fn index_dir(&self, namespace: &str) -> PathBuf {
        self.data_dir.join("index").join(namespace)
    }
}
