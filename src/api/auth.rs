//! API keys: a TOML file of named keys (stored as SHA-256 hashes, never in clear) with a role per
//! namespace. Roles are ordered `read` < `write` < `admin`; governance operations need `admin`.
//! The key's name is the actor of every transaction made with it.
//!
//! ```toml
//! [[keys]]
//! name = "rag-app"
//! sha256 = "<hex sha-256 of the key>"
//! roles = { default = "write", "*" = "read" }   # "*" = any other namespace
//! ```
//!
//! `chronorag keys create --file keys.toml --name rag-app --role write --namespace default`
//! generates a key, prints it once and appends its hash.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// A role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read everything in the namespace.
    Read,
    /// Read and ingest / edit.
    Write,
    /// Everything, including governance (rollback, revert, erase, audit).
    Admin,
}

impl Role {
    /// Parses `read`, `write`, `admin`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Role::Read),
            "write" => Some(Role::Write),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Lower-case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }
}

/// One key entry of the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// Name (the actor of its transactions).
    pub name: String,
    /// Hex SHA-256 of the key.
    pub sha256: String,
    /// Role per namespace (`*` = every other namespace).
    pub roles: BTreeMap<String, Role>,
}

/// The keys file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysFile {
    /// Keys.
    #[serde(default)]
    pub keys: Vec<KeyEntry>,
}

/// Hex SHA-256 of a key.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The loaded key set.
#[derive(Debug, Clone)]
pub struct Auth {
    keys: Vec<KeyEntry>,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Key name (or `local` when auth is off).
    pub name: String,
    roles: Option<BTreeMap<String, Role>>,
}

impl Caller {
    /// The caller when authentication is off: allowed everything.
    pub fn local() -> Self {
        Caller {
            name: "local".into(),
            roles: None,
        }
    }

    /// The caller's role in a namespace.
    pub fn role(&self, namespace: &str) -> Option<Role> {
        match &self.roles {
            None => Some(Role::Admin),
            Some(r) => r.get(namespace).or_else(|| r.get("*")).copied(),
        }
    }

    /// Whether the caller has at least `need` in `namespace`.
    pub fn allows(&self, namespace: &str, need: Role) -> bool {
        self.role(namespace).is_some_and(|r| r >= need)
    }
}

impl Auth {
    /// Loads and validates a keys file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read keys file {}: {e}", path.display())))?;
        let file: KeysFile = toml::from_str(&text)
            .map_err(|e| Error::Config(format!("keys file {}: {e}", path.display())))?;
        Self::new(file.keys)
    }

    /// A key set from entries (validated: names unique, hashes 64 hex characters).
    pub fn new(keys: Vec<KeyEntry>) -> Result<Self> {
        let mut names = std::collections::BTreeSet::new();
        for k in &keys {
            if k.sha256.len() != 64 || !k.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Error::Config(format!(
                    "key {:?}: sha256 must be 64 hexadecimal characters",
                    k.name
                )));
            }
            if !names.insert(k.name.clone()) {
                return Err(Error::Config(format!(
                    "key name {:?} appears twice",
                    k.name
                )));
            }
        }
        Ok(Auth { keys })
    }

    /// The caller a presented key belongs to.
    pub fn identify(&self, key: &str) -> Option<Caller> {
        let h = hash_key(key);
        self.keys
            .iter()
            .find(|k| ct_eq(k.sha256.to_ascii_lowercase().as_bytes(), h.as_bytes()))
            .map(|k| Caller {
                name: k.name.clone(),
                roles: Some(k.roles.clone()),
            })
    }
}

/// Generates a new random key (24 bytes = 192 bits from the OS, hex) for `chronorag keys create`.
pub fn generate_key() -> Result<String> {
    use std::io::Read;
    let mut buf = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| Error::Config(format!("cannot read random bytes: {e}")))?;
    Ok(format!("crk_{}", hex::encode(buf)))
}

/// Appends a key entry to a keys file (creating it), refusing duplicate names.
pub fn append_key(path: &Path, entry: KeyEntry) -> Result<()> {
    let mut file: KeysFile = if path.exists() {
        let text = std::fs::read_to_string(path)?;
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?
    } else {
        KeysFile::default()
    };
    if file.keys.iter().any(|k| k.name == entry.name) {
        return Err(Error::Conflict(format!(
            "a key named {:?} already exists in {}",
            entry.name,
            path.display()
        )));
    }
    file.keys.push(entry);
    let text = toml::to_string_pretty(&file).map_err(|e| Error::Config(e.to_string()))?;
    std::fs::write(path, text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_by_namespace_with_wildcard() {
        let auth = Auth::new(vec![KeyEntry {
            name: "app".into(),
            sha256: hash_key("secret"),
            roles: BTreeMap::from([("default".into(), Role::Write), ("*".into(), Role::Read)]),
        }])
        .unwrap();
        let c = auth.identify("secret").unwrap();
        assert_eq!(c.name, "app");
        assert!(c.allows("default", Role::Write));
        assert!(!c.allows("default", Role::Admin));
        assert!(c.allows("other", Role::Read));
        assert!(!c.allows("other", Role::Write));
        assert!(auth.identify("wrong").is_none());
        assert!(Caller::local().allows("anything", Role::Admin));
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(
            Auth::new(vec![KeyEntry {
                name: "a".into(),
                sha256: "xyz".into(),
                roles: BTreeMap::new()
            }])
            .is_err()
        );
        let e = KeyEntry {
            name: "a".into(),
            sha256: hash_key("k"),
            roles: BTreeMap::new(),
        };
        assert!(Auth::new(vec![e.clone(), e]).is_err());
    }

    #[test]
    fn generated_keys_are_random_and_appendable() {
        let a = generate_key().unwrap();
        let b = generate_key().unwrap();
        assert_ne!(a, b);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys.toml");
        let entry = |n: &str| KeyEntry {
            name: n.into(),
            sha256: hash_key(&a),
            roles: BTreeMap::from([("default".into(), Role::Admin)]),
        };
        append_key(&p, entry("one")).unwrap();
        assert!(append_key(&p, entry("one")).is_err());
        let auth = Auth::load(&p).unwrap();
        assert_eq!(auth.identify(&a).unwrap().name, "one");
    }
}
