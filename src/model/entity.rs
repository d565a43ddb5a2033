//! Entities: the nodes of the knowledge graph.

use serde::{Deserialize, Serialize};

use super::{EntityId, Status, TxId};

/// What kind of thing an entity is. Extractors guess; users can correct.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    /// Company, institution, team.
    Organization,
    /// A person.
    Person,
    /// A product, model, brand or programme.
    Product,
    /// A country, city, site.
    Place,
    /// An amount of money.
    Money,
    /// A percentage.
    Percent,
    /// Any other measured quantity.
    Quantity,
    /// A stock ticker.
    Ticker,
    /// A concept or topic (e.g. "CO2 emissions").
    Concept,
    /// Unknown.
    #[default]
    Other,
}

impl EntityKind {
    /// Lower-case name, as serialised.
    pub fn as_str(&self) -> &'static str {
        match self {
            EntityKind::Organization => "organization",
            EntityKind::Person => "person",
            EntityKind::Product => "product",
            EntityKind::Place => "place",
            EntityKind::Money => "money",
            EntityKind::Percent => "percent",
            EntityKind::Quantity => "quantity",
            EntityKind::Ticker => "ticker",
            EntityKind::Concept => "concept",
            EntityKind::Other => "other",
        }
    }

    /// Parses the serialised name.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_ascii_lowercase())).ok()
    }
}

/// An entity with its canonical name and aliases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// Id.
    pub id: EntityId,
    /// Canonical display name.
    pub name: String,
    /// Kind.
    #[serde(default)]
    pub kind: EntityKind,
    /// Other names it is known by (display forms, deduplicated by normalised form).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// When merged into another entity, that entity (this one is then retracted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<EntityId>,
    /// Transaction-time status.
    #[serde(default)]
    pub status: Status,
    /// The transaction that created it.
    pub added_tx: TxId,
    /// The transaction that wrote this version.
    pub updated_tx: TxId,
}

impl Entity {
    /// Every name it is known by: the canonical name first, then the aliases.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// The normalised form of an entity name used for resolution: lower case, punctuation removed,
/// corporate suffixes ("Inc.", "AG", "Ltd", ...) and a leading "the" dropped.
/// `"Crocs, Inc."`, `"CROCS"` and `"crocs inc"` all normalise to `"crocs"`.
pub fn normalize_name(s: &str) -> String {
    const SUFFIXES: &[&str] = &[
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "ltd",
        "limited",
        "llc",
        "plc",
        "ag",
        "se",
        "gmbh",
        "sa",
        "nv",
        "bv",
        "group",
        "holdings",
        "holding",
    ];
    let mut words: Vec<String> = s
        .split(|c: char| !(c.is_alphanumeric() || c == '&' || c == '+'))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect();
    if words.len() > 1 && words[0] == "the" {
        words.remove(0);
    }
    while words.len() > 1 && SUFFIXES.contains(&words[words.len() - 1].as_str()) {
        words.pop();
    }
    words.join(" ")
}

/// Whether `text` mentions any of `names` as whole words, ignoring case; each name is looked
/// for as written and in its normalised form, so "Velora Inc." is also found as "Velora".
pub fn mentions_name(text: &str, names: &[String]) -> bool {
    let lower = text.to_lowercase();
    let found = |n: &str| {
        if n.is_empty() {
            return false;
        }
        let mut from = 0;
        while let Some(i) = lower[from..].find(n) {
            let (s, e) = (from + i, from + i + n.len());
            let before = lower[..s]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric());
            let after = lower[e..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric());
            if before && after {
                return true;
            }
            from = s + n.chars().next().map_or(1, char::len_utf8);
        }
        false
    };
    names
        .iter()
        .any(|n| found(n.trim().to_lowercase().as_str()) || found(&normalize_name(n)))
}

#[cfg(test)]
mod tests {
    use super::normalize_name;

    #[test]
    fn names_normalise_to_one_form() {
        for (a, b) in [
            ("Crocs, Inc.", "crocs"),
            ("CROCS", "crocs"),
            ("crocs inc", "crocs"),
            ("The Audi Group", "audi"),
            ("AUDI AG", "audi"),
            ("Volkswagen Group", "volkswagen"),
            ("AT&T Inc.", "at&t"),
            ("Inc.", "inc"),
        ] {
            assert_eq!(normalize_name(a), b, "{a}");
        }
    }
}
