//! Facts: temporal quadruples (subject, object, description, valid time) with provenance and
//! transaction time.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{ChunkId, EntityId, FactId, Status, TxId};
use crate::time::{Granularity, Interval, TimeKey};

/// The object of a fact: another entity or a literal value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FactObject {
    /// Another entity.
    Entity(EntityId),
    /// A literal value ("$4.2 billion", "12%").
    Literal(String),
}

/// How a fact came to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FactOrigin {
    /// Extracted from text by the named extractor (`rules`, `llm`).
    Extracted(String),
    /// Asserted by hand by the named actor.
    Manual(String),
}

/// A time-stamped relation. The same subject/object/description at two valid times are two facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// Id.
    pub id: FactId,
    /// Subject entity.
    pub subject: EntityId,
    /// Object entity or literal.
    pub object: FactObject,
    /// What the relation says (for extracted facts: the clause it came from).
    pub description: String,
    /// Valid time: when the fact holds in the world.
    pub valid: Interval,
    /// The granularity the valid time is known at.
    pub granularity: Granularity,
    /// The calendar unit of the valid time when it is exactly one (`2024-Q3`), for the hierarchy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_key: Option<TimeKey>,
    /// True when the valid time was inherited from the document rather than stated in the text.
    #[serde(default)]
    pub time_inherited: bool,
    /// Source chunks (two chunks stating the same fact at the same time make one fact).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ChunkId>,
    /// Confidence in [0, 1].
    pub confidence: f32,
    /// How it came to be.
    pub origin: FactOrigin,
    /// Set when a newer contradicting fact ended this one's validity (guarded invalidation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_from: Option<NaiveDate>,
    /// The fact that ended this one's validity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalidated_by: Option<FactId>,
    /// Transaction-time status.
    #[serde(default)]
    pub status: Status,
    /// The transaction that (last) asserted it.
    pub asserted_tx: TxId,
    /// The transaction that retracted it, if it is retracted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retracted_tx: Option<TxId>,
    /// The transaction that wrote this version.
    pub updated_tx: TxId,
}

impl Fact {
    /// The identity of a fact: subject, object, normalised description and valid time. Two
    /// extractions with the same identity are one fact with two sources.
    pub fn identity(&self) -> [u8; 16] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.subject.to_be_bytes());
        match &self.object {
            FactObject::Entity(e) => {
                h.update(b"E");
                h.update(e.to_be_bytes());
            }
            FactObject::Literal(l) => {
                h.update(b"L");
                h.update(normalize_text(l).as_bytes());
            }
        }
        h.update(b"\0");
        h.update(normalize_text(&self.description).as_bytes());
        h.update(b"\0");
        h.update(self.valid.to_string().as_bytes());
        let d = h.finalize();
        d[..16].try_into().expect("16 bytes")
    }

    /// The valid time after guarded invalidation (the interval cut at `invalid_from`).
    pub fn effective_valid(&self) -> Interval {
        match self.invalid_from {
            Some(end) => Interval::new(self.valid.start, Some(end)).unwrap_or(self.valid),
            None => self.valid,
        }
    }

    /// The entities it relates: its subject, then its object when that is an entity.
    pub fn entities(&self) -> impl Iterator<Item = EntityId> {
        let object = match &self.object {
            FactObject::Entity(e) => Some(*e),
            FactObject::Literal(_) => None,
        };
        std::iter::once(self.subject).chain(object)
    }

    /// Whether the fact is currently asserted.
    pub fn is_active(&self) -> bool {
        self.status == Status::Active
    }

    /// The object as display text, resolving entity ids with `name_of`.
    pub fn object_text(&self, name_of: impl Fn(EntityId) -> Option<String>) -> String {
        match &self.object {
            FactObject::Entity(id) => name_of(*id).unwrap_or_else(|| format!("entity {id}")),
            FactObject::Literal(s) => s.clone(),
        }
    }
}

/// `s` trimmed, with every run of whitespace made one space (the one way requests, names and
/// statements are compared with layout whitespace aside).
pub fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Lower-cases (character by character: `str::to_lowercase`'s final-sigma rule would change
/// stored identities) and collapses whitespace; used for identities and near-duplicate checks.
pub fn normalize_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        if w.is_ascii() {
            out.extend(w.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        } else {
            out.extend(w.chars().flat_map(char::to_lowercase));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize_text;

    /// The ASCII path lower-cases as the character-by-character one does (identities are
    /// hashes of this text: a change would split restatements from what is stored).
    #[test]
    fn normalised_text_is_lower_cased_character_by_character() {
        let slow = |s: &str| {
            s.split_whitespace()
                .map(|w| w.chars().flat_map(char::to_lowercase).collect::<String>())
                .collect::<Vec<_>>()
                .join(" ")
        };
        for s in [
            "Audi DELIVERED  1.8 Million cars\tin Q3 2023.",
            "ΟΔΟΣ Straße İstanbul ΣΊΣΥΦΟΣ",
            "  mixed ÄÖÜ and ASCII-only WORDS ",
            "",
        ] {
            assert_eq!(normalize_text(s), slow(s), "{s:?}");
        }
        assert_eq!(normalize_text("ΣΊΣΥΦΟΣ"), "σίσυφοσ");
    }
}
