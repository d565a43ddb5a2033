//! Slots: what a fact is *about*, with its value taken out. Two facts about the same subject in
//! the same slot with overlapping valid time and different values contradict each other:
//! "Acme reported revenue of $4.2 billion in Q3 2023" and "... $4.4 billion in Q3 2023" share
//! the slot "acme reported revenue of # billion in #".

use crate::model::{Fact, FactObject, normalize_text};

/// Descriptions whose [`strip_times`] is kept (past it, the cache starts again empty).
const STRIPPED_KEPT: usize = 8192;

type Stripped = std::collections::HashMap<Box<str>, std::sync::Arc<str>>;

static STRIPPED: std::sync::LazyLock<parking_lot::Mutex<Stripped>> =
    std::sync::LazyLock::new(Default::default);

/// [`strip_times`], kept for the descriptions seen last: the facts of one sentence share a
/// description, and a load asks for each new fact's slot up to three times, on different
/// threads (the build, the overlay of a build ahead, the catalog). Finding the times was about
/// 5% of a news load's CPU.
fn without_times(description: &str) -> std::sync::Arc<str> {
    if let Some(s) = STRIPPED.lock().get(description) {
        return s.clone();
    }
    let s: std::sync::Arc<str> = strip_times(description).into();
    let mut kept = STRIPPED.lock();
    if kept.len() >= STRIPPED_KEPT {
        kept.clear();
    }
    kept.insert(description.into(), s.clone());
    s
}

/// A description normalised ([`normalize_text`]) with its time expressions, and the preposition
/// that introduces each, taken out: "In 2020, X is CEO" and "Since 2022, X is CEO" are about
/// the same thing.
fn strip_times(description: &str) -> String {
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
    normalize_text(&stripped)
}

/// The slot of a fact: its normalised description with the object's text, numbers, and the
/// entity names in `object_name` masked. Empty when nothing meaningful is left.
pub fn slot_of(description: &str, object_name: &str) -> String {
    slot_of_stripped(String::from(&*without_times(description)), object_name)
}

/// [`slot_of`] of a description through [`strip_times`] already.
fn slot_of_stripped(mut d: String, object_name: &str) -> String {
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

    /// The kept descriptions change no slot: the same description with other objects, asked
    /// again, and asked after the kept ones were dropped.
    #[test]
    fn kept_descriptions_give_the_slots_computed_afresh() {
        let asks = [
            (
                "In Q3 2023, Acme reported revenue of $4.2 billion.",
                "$4.2 billion",
            ),
            ("In Q3 2023, Acme reported revenue of $4.2 billion.", "Acme"),
            ("Since 2022, the CEO of Acme is John Roe.", "John Roe"),
            ("Since 2022, the CEO of Acme is John Roe.", "Acme"),
        ];
        let fresh: Vec<String> = asks
            .iter()
            .map(|(d, o)| {
                let core = strip_times(d);
                slot_of_stripped(core, o)
            })
            .collect();
        assert_eq!(fresh[0], "acme reported revenue of #");
        assert_ne!(fresh[0], fresh[1]);
        assert_ne!(fresh[2], fresh[3]);
        for round in 0..3 {
            for ((d, o), want) in asks.iter().zip(&fresh) {
                assert_eq!(&slot_of(d, o), want, "round {round}");
            }
            if round == 1 {
                for i in 0..=STRIPPED_KEPT {
                    slot_of(&format!("Filler sentence number {i} in 2020."), "x");
                }
            }
        }
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
