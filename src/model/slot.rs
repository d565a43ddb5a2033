//! Slots: what a fact is *about*, with its value taken out. Two facts about the same subject in
//! the same slot with overlapping valid time and different values contradict each other:
//! "Acme reported revenue of $4.2 billion in Q3 2023" and "... $4.4 billion in Q3 2023" share
//! the slot "acme reported revenue of # billion in #".

use crate::model::{Fact, FactObject, normalize_text};

/// The slot of a fact: its normalised description with the object's text, numbers, and the
/// entity names in `object_name` masked. Empty when nothing meaningful is left.
pub fn slot_of(description: &str, object_name: &str) -> String {
    // Time expressions (and the preposition that introduces them) are not part of the slot:
    // "In 2020, X is CEO" and "Since 2022, X is CEO" are about the same thing.
    const PREPOSITIONS: &[&str] = &[
        "in", "since", "during", "for", "by", "from", "until", "as", "of", "at", "on", "after",
        "before", "between", "through",
    ];
    let mut stripped = String::with_capacity(description.len());
    let mut last = 0;
    for span in crate::time::find_times(description, None) {
        let before = description[last..span.start].trim_end();
        let before = match before.rsplit_once(char::is_whitespace) {
            Some((head, w)) if PREPOSITIONS.contains(&w.to_lowercase().as_str()) => head,
            None if PREPOSITIONS.contains(&before.to_lowercase().as_str()) => "",
            _ => before,
        };
        stripped.push_str(before);
        stripped.push(' ');
        last = span.end;
    }
    stripped.push_str(&description[last..]);
    let mut d = normalize_text(&stripped);
    let obj = normalize_text(object_name);
    if obj.len() >= 2 {
        d = d.replace(&obj, " # ");
    }
    let mut out = String::with_capacity(d.len());
    let mut last_hash = false;
    for w in d.split_whitespace() {
        let w = w.trim_matches(|c: char| matches!(c, ',' | '.' | ';' | ':' | '!' | '?'));
        if w.is_empty() {
            continue;
        }
        let masked = w.chars().any(|c| c.is_ascii_digit()) || w == "#";
        if masked {
            if !last_hash {
                out.push_str(" #");
            }
            last_hash = true;
        } else {
            out.push(' ');
            out.push_str(w);
            last_hash = false;
        }
    }
    let out = out.trim().to_string();
    if out.split_whitespace().filter(|w| *w != "#").count() < 2 {
        String::new()
    } else {
        out
    }
}

/// The slot of a fact whose object is resolved to `object_text`.
pub fn fact_slot(f: &Fact, object_text: &str) -> String {
    slot_of(&f.description, object_text)
}

/// The (subject, slot) hash the catalog files a new fact under, its object named
/// `object_name` (an entity's canonical name, or the literal); None without a slot.
pub fn filed_slot(f: &Fact, object_name: &str) -> Option<u64> {
    let slot = slot_of(&f.description, object_name);
    (!slot.is_empty()).then(|| slot_hash(f.subject, &slot))
}

/// A stable 64-bit hash of (subject, slot) for the catalog's slot index.
pub fn slot_hash(subject: u64, slot: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(subject.to_be_bytes());
    h.update(slot.as_bytes());
    u64::from_be_bytes(h.finalize()[..8].try_into().expect("8 bytes"))
}

/// Whether two facts' values differ (entity ids, or literals after normalisation).
pub fn values_differ(a: &FactObject, b: &FactObject) -> bool {
    match (a, b) {
        (FactObject::Entity(x), FactObject::Entity(y)) => x != y,
        (FactObject::Literal(x), FactObject::Literal(y)) => normalize_text(x) != normalize_text(y),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restatements_share_a_slot() {
        let a = slot_of(
            "In Q3 2023, Acme reported revenue of $4.2 billion.",
            "$4.2 billion",
        );
        let b = slot_of(
            "In Q3 2023, Acme reported revenue of $4.4 billion.",
            "$4.4 billion",
        );
        assert_eq!(a, b);
        assert_eq!(a, "acme reported revenue of #");
        assert_eq!(
            slot_of("Since 2022, the CEO of Acme is John Roe.", "John Roe"),
            slot_of("The CEO of Acme is Max Moe.", "Max Moe")
        );
        let c = slot_of("Acme's chief executive is Jane Doe.", "Jane Doe");
        let d = slot_of("Acme's chief executive is John Roe.", "John Roe");
        assert_eq!(c, d);
        assert_ne!(a, c);
        assert_eq!(slot_of("$4.2 billion", "$4.2 billion"), "");
    }

    #[test]
    fn values() {
        assert!(values_differ(
            &FactObject::Literal("$4.2 billion".into()),
            &FactObject::Literal("$4.4 billion".into())
        ));
        assert!(!values_differ(
            &FactObject::Literal("$4.2  Billion".into()),
            &FactObject::Literal("$4.2 billion".into())
        ));
        assert!(!values_differ(
            &FactObject::Entity(3),
            &FactObject::Entity(3)
        ));
    }
}
