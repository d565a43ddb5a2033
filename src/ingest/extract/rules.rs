//! The rules extractor (default; no network). Per informative sentence: time expressions through
//! the normaliser (relative ones resolved against the document time), entities and quantities by
//! pattern, and one fact per time expression (or one fact at the document time when the sentence
//! states none, with lower confidence).
//!
//! Forward-looking statements ("by 2050 Audi wants to be carbon-neutral" in a 2019 report) are
//! facts *stated* at the document time: their valid time is the document's, and the target stays
//! in the description.

use std::collections::HashMap;

use super::entities::{Mention, find_entities, find_quantities, find_tickers};
use super::{DocContext, EntityMention, ExtractedFact, ExtractedObject, Extraction, Extractor};
use crate::Result;
use crate::ingest::sentences;
use crate::model::{EntityKind, normalize_name};
use crate::time::{Granularity, Interval, Relation, SpanKind, TimeKey, TimeSpan, find_times};

/// Longest description kept (bytes); longer sentences are cut around their time expression.
const MAX_DESCRIPTION: usize = 400;
/// At most this many facts per sentence.
const MAX_FACTS_PER_SENTENCE: usize = 3;

/// The rules extractor.
#[derive(Debug, Clone, Default)]
pub struct RulesExtractor;

impl Extractor for RulesExtractor {
    fn name(&self) -> &str {
        "rules"
    }

    fn extract(&self, doc: &DocContext, chunks: &[&str]) -> Result<Vec<Extraction>> {
        let main = main_subject(doc, chunks);
        Ok(chunks
            .iter()
            .map(|c| extract_chunk(doc, &main, c))
            .collect())
    }
}

/// The document's main subject: the most frequent organisation (or other name) in its title and
/// first chunks; the fallback subject of sentences that name none ("We", "The company").
pub fn main_subject(doc: &DocContext, chunks: &[&str]) -> EntityMention {
    let mut counts: HashMap<String, (usize, EntityMention)> = HashMap::new();
    let mut add = |m: &Mention, weight: usize| {
        if matches!(
            m.kind,
            EntityKind::Organization | EntityKind::Other | EntityKind::Product
        ) {
            let key = normalize_name(&m.name);
            let first_word = key.split(' ').next().unwrap_or("").to_string();
            // Count by first word so "Audi", "AUDI AG" and "Audi Group" add up.
            let e = counts.entry(first_word).or_insert((
                0,
                EntityMention {
                    name: m.name.clone(),
                    kind: m.kind,
                    aliases: vec![],
                },
            ));
            e.0 += weight;
            if m.kind == EntityKind::Organization && e.1.kind != EntityKind::Organization {
                e.1 = EntityMention {
                    name: m.name.clone(),
                    kind: m.kind,
                    aliases: vec![],
                };
            }
        }
    };
    if let Some(t) = &doc.title {
        // A headline in title case ("Friends Honor Michael Clarke Duncan") runs every word
        // into one name: only names the text itself also writes count from it.
        let headline = headline_case(t);
        for m in find_entities(t) {
            if !headline || chunks.iter().any(|c| c.contains(m.name.as_str())) {
                add(&m, 5);
            }
        }
    }
    let mut budget = 20_000usize;
    for c in chunks {
        if budget == 0 {
            break;
        }
        let take = floor_boundary(c, budget.min(c.len()));
        for m in find_entities(&c[..take]) {
            add(&m, 1);
        }
        budget -= take;
    }
    counts
        .into_values()
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.name.cmp(&a.1.name)))
        .map(|(_, m)| m)
        .unwrap_or_else(|| EntityMention {
            name: doc
                .title
                .clone()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| "Unknown subject".to_string()),
            kind: EntityKind::Other,
            aliases: vec![],
        })
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Whether a sentence carries information worth a fact: enough words, mostly letters, not a
/// table row or a heading.
fn informative(s: &str) -> bool {
    if s.len() < 25 || s.starts_with('#') || s.starts_with('|') {
        return false;
    }
    let words = s.split_whitespace().count();
    if words < 5 {
        return false;
    }
    let letters = s.chars().filter(|c| c.is_alphabetic()).count();
    let lower_words = s
        .split_whitespace()
        .filter(|w| w.chars().next().is_some_and(|c| c.is_lowercase()))
        .count();
    letters * 2 > s.len() && lower_words >= 2 && lower_words * 4 >= words
}

/// Whether a line is written in title case or capitals ("Friends Honor Michael Clarke Duncan",
/// "MEET THE TEAMS"): at least three words of three letters or more, and every one of them
/// capitalised but the short words title case leaves in lower case. One lower-case word such
/// as a verb ("Wobblefrost Ventures invested in Acme Corp") makes it a sentence. In such a
/// line capitals do not mark names.
pub fn headline_case(line: &str) -> bool {
    const TITLE_LOWER: &[&str] = &[
        "the", "and", "for", "with", "from", "into", "onto", "over", "but", "nor", "yet", "via",
        "per", "off", "out",
    ];
    let mut words = 0usize;
    for w in line.split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’') {
        if w.chars().filter(|c| c.is_alphabetic()).count() < 3 {
            continue;
        }
        if w.chars().next().is_some_and(char::is_uppercase) {
            words += 1;
        } else if !TITLE_LOWER.contains(&w) {
            return false;
        }
    }
    words >= 3
}

/// Lower-cased single words that the chunk capitalises in the middle of a sentence: evidence
/// that a sentence-initial capitalised word is a name ("Audi delivered…") rather than an
/// ordinary word ("Nonetheless, …").
fn proper_words(chunk: &str) -> std::collections::HashSet<String> {
    let mut out = std::collections::HashSet::new();
    for (s, e) in sentences::split(chunk) {
        let sent = &chunk[s..e];
        for m in find_entities(sent) {
            if m.start > 0 && !m.name.contains(' ') {
                out.insert(m.name.to_lowercase());
            }
        }
    }
    out
}

fn extract_chunk(doc: &DocContext, main: &EntityMention, chunk: &str) -> Extraction {
    let mut ex = Extraction::default();
    let proper = proper_words(chunk);
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut add_entity =
        |ex: &mut Extraction, name: &str, kind: EntityKind, alias: Option<&str>| {
            let key = normalize_name(name);
            if key.is_empty() {
                return;
            }
            match seen.get(&key) {
                Some(&i) => {
                    if let Some(a) = alias
                        && !ex.entities[i].aliases.iter().any(|x| x == a)
                    {
                        ex.entities[i].aliases.push(a.to_string());
                    }
                }
                None => {
                    seen.insert(key, ex.entities.len());
                    ex.entities.push(EntityMention {
                        name: name.to_string(),
                        kind,
                        aliases: alias.map(|a| vec![a.to_string()]).unwrap_or_default(),
                    });
                }
            }
        };
    // One time context per chunk: "a year earlier" refers back within the sentence only.
    for (s, e) in sentences::split(chunk) {
        let cleaned = clean_math(chunk[s..e].trim_start_matches(['-', '*', ' ']));
        let sent: &str = &cleaned;
        if !informative(sent) {
            continue;
        }
        let ents: Vec<Mention> = find_entities(sent)
            .into_iter()
            .chain(find_tickers(sent))
            .collect();
        let quants = find_quantities(sent);
        let times: Vec<TimeSpan> = find_times(sent, doc.time.as_ref())
            .into_iter()
            .filter(|t| t.kind != SpanKind::Vague)
            .collect();
        // Drop entity mentions that are really time expressions or quantities, lone
        // sentence-initial words the chunk never capitalises elsewhere, and names from a line
        // in title case or capitals that the chunk does not also write outside it.
        let headline = headline_case(sent);
        let elsewhere = |name: &str| chunk[..s].contains(name) || chunk[e..].contains(name);
        let ents: Vec<Mention> = ents
            .into_iter()
            .filter(|m| !headline || elsewhere(&m.name))
            .filter(|m| {
                !times.iter().any(|t| m.start < t.end && t.start < m.end)
                    && !quants.iter().any(|q| m.start < q.end && q.start < m.end)
                    && (m.start != 0
                        || m.name.contains(' ')
                        || m.kind != EntityKind::Other
                        || proper.contains(&m.name.to_lowercase()))
            })
            .collect();
        for m in &ents {
            add_entity(&mut ex, &m.name, m.kind, m.alias.as_deref());
        }
        let subject = pick_subject(sent, &ents).unwrap_or_else(|| {
            add_entity(&mut ex, &main.name, main.kind, None);
            main.name.clone()
        });
        let mut made = 0;
        for t in times.iter().take(MAX_FACTS_PER_SENTENCE) {
            let (valid, gran, key, conf) = match fact_time(doc, sent, t) {
                Some(v) => v,
                None => continue,
            };
            let (cs, ce) = clause_around(sent, t.start, t.end);
            let object = pick_object(&subject, &ents, &quants, cs, ce);
            ex.facts.push(ExtractedFact {
                subject: subject.clone(),
                object,
                description: describe(sent, t.start),
                valid,
                granularity: gran,
                time_key: key,
                time_inherited: false,
                confidence: conf,
            });
            made += 1;
        }
        if made == 0
            && let Some(dt) = doc.time
        {
            let object = pick_object(&subject, &ents, &quants, 0, sent.len());
            ex.facts.push(ExtractedFact {
                subject: subject.clone(),
                object,
                description: describe(sent, 0),
                valid: dt.interval(),
                granularity: dt.granularity(),
                time_key: Some(dt),
                time_inherited: true,
                confidence: 0.5,
            });
        }
    }
    ex
}

/// Documents converted from PDF carry inline math for chemical formulas
/// (`$\mathsf{C O}_{2}$`); turn each `$…$` span into plain text (`CO2`) so that entities and
/// descriptions read naturally.
pub fn clean_math(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('$') || !s.contains('\\') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('$') {
        let Some(close) = rest[open + 1..].find('$') else {
            break;
        };
        let inner = &rest[open + 1..open + 1 + close];
        if !inner.contains('\\') && !inner.contains('_') && !inner.contains('^') {
            // A dollar amount, not math.
            out.push_str(&rest[..open + 1]);
            rest = &rest[open + 1..];
            continue;
        }
        out.push_str(&rest[..open]);
        let mut plain = String::new();
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    while chars.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                        chars.next();
                    }
                }
                '{' | '}' | '_' | '^' | ' ' | '~' => {}
                c => plain.push(c),
            }
        }
        out.push_str(&plain);
        rest = &rest[open + 1 + close + 1..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// The valid time of a fact stated with time expression `t`, with its confidence; None for
/// expressions that do not date the statement (e.g. an unbounded one we cannot place).
fn fact_time(
    doc: &DocContext,
    sent: &str,
    t: &TimeSpan,
) -> Option<(Interval, Granularity, Option<TimeKey>, f32)> {
    let relative_penalty = if t.kind == SpanKind::Relative {
        0.05
    } else {
        0.0
    };
    // Forward-looking targets ("by 2025", "will ... in 2030") are stated at the document time.
    if let Some(dt) = doc.time {
        let future = t.interval.start.is_some_and(|s| s >= dt.end())
            || (t.relation == Relation::Before && t.interval.end.is_some_and(|e| e > dt.end()));
        if future && (t.relation == Relation::Before || has_future_cue(sent)) {
            return Some((dt.interval(), dt.granularity(), Some(dt), 0.6));
        }
    }
    match t.relation {
        Relation::At | Relation::Between => {
            let key = t.key.or_else(|| TimeKey::from_interval(&t.interval));
            Some((t.interval, t.granularity, key, 0.8 - relative_penalty))
        }
        Relation::After | Relation::Before => {
            Some((t.interval, t.granularity, None, 0.75 - relative_penalty))
        }
    }
}

fn has_future_cue(s: &str) -> bool {
    const CUES: &[&str] = &[
        " will ",
        " plans ",
        " plan to ",
        " aims ",
        " aim to ",
        " target",
        " intends ",
        " goal ",
        " wants ",
        " want to ",
        " expects ",
        " expected to ",
        " should ",
        " by ",
        " forecast",
        " is to ",
        " are to ",
        " strives ",
        " strive ",
        " envisages ",
    ];
    let lower = s.to_lowercase();
    CUES.iter().any(|c| lower.contains(c))
}

/// The subject: the first named mention that is not a place or a concept, else the first one.
fn pick_subject(sent: &str, ents: &[Mention]) -> Option<String> {
    // Pronoun-led sentences ("We ...", "The company ...") are about the main subject.
    let lower = sent.trim_start().to_lowercase();
    if ["we ", "our ", "the company", "the group", "it "]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return None;
    }
    ents.iter()
        .find(|m| {
            matches!(
                m.kind,
                EntityKind::Organization
                    | EntityKind::Person
                    | EntityKind::Product
                    | EntityKind::Other
            )
        })
        .or_else(|| ents.first())
        .map(|m| m.name.clone())
}

/// The object: the first quantity in the clause, else another entity in it, else the first
/// quantity or other entity in the sentence.
fn pick_object(
    subject: &str,
    ents: &[Mention],
    quants: &[Mention],
    cs: usize,
    ce: usize,
) -> ExtractedObject {
    let subj = normalize_name(subject);
    let in_clause = |m: &&Mention| m.start >= cs && m.end <= ce;
    if let Some(q) = quants.iter().find(in_clause).or_else(|| quants.first()) {
        return ExtractedObject::Literal(q.name.clone());
    }
    let other = |m: &&Mention| normalize_name(&m.name) != subj;
    if let Some(e) = ents
        .iter()
        .filter(other)
        .find(in_clause)
        .or_else(|| ents.iter().find(other))
    {
        return ExtractedObject::Entity(e.name.clone());
    }
    ExtractedObject::Literal(String::new())
}

/// The clause containing bytes `[s, e)`: cut at `;` and at ", up from" / ", compared" style joins.
fn clause_around(sent: &str, s: usize, e: usize) -> (usize, usize) {
    const JOINS: &[&str] = &[
        "; ",
        ", up from ",
        ", down from ",
        ", compared with ",
        ", compared to ",
        ", versus ",
        ", while ",
        ", whereas ",
    ];
    let mut start = 0;
    let mut end = sent.len();
    for j in JOINS {
        for (i, _) in sent.match_indices(j) {
            if i + j.len() <= s && i + 2 > start {
                start = i + 2;
            }
            if i >= e && i < end {
                end = i;
            }
        }
    }
    (start, end)
}

/// The sentence as a description, cut to [`MAX_DESCRIPTION`] bytes around `focus`.
fn describe(sent: &str, focus: usize) -> String {
    let clean = sent
        .split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| !c.is_control() && *c != '\u{ad}')
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if clean.len() <= MAX_DESCRIPTION {
        return clean;
    }
    let ratio = focus as f64 / sent.len().max(1) as f64;
    let center = (ratio * clean.len() as f64) as usize;
    let mut from = center.saturating_sub(MAX_DESCRIPTION / 2);
    from = floor_boundary(&clean, from.min(clean.len() - MAX_DESCRIPTION));
    let to = floor_boundary(&clean, (from + MAX_DESCRIPTION).min(clean.len()));
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.push_str(clean[from..to].trim());
    if to < clean.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(time: &str) -> DocContext {
        DocContext {
            title: Some("Audi Sustainability Report".into()),
            time: Some(TimeKey::parse(time).unwrap()),
        }
    }

    fn run(d: &DocContext, text: &str) -> Extraction {
        RulesExtractor.extract(d, &[text]).unwrap().remove(0)
    }

    #[test]
    fn lines_in_title_case_or_capitals_do_not_make_names_of_their_own() {
        assert!(headline_case("Friends Honor Michael Clarke Duncan"));
        assert!(headline_case("MEET THE TEAMS"));
        assert!(!headline_case(
            "The United Kingdom crushed its record for highest temperature Tuesday."
        ));
        assert!(!headline_case("Audi AG"), "too short to tell");
        assert!(!headline_case(
            "In 2022, Wobblefrost Ventures invested in Acme Corp."
        ));
        assert!(headline_case(
            "UK Breaks Its Record for the Highest Temperature"
        ));
        let d = DocContext {
            title: Some("Friends Honor Michael Clarke Duncan".into()),
            time: Some(TimeKey::parse("2012-09-10").unwrap()),
        };
        let text = "MEET THE TEAMS\n\nHollywood friends gathered today to honor actor \
                    Michael Clarke Duncan at a private funeral in Los Angeles.";
        let ex = run(&d, text);
        let names: Vec<&str> = ex.entities.iter().map(|e| e.name.as_str()).collect();
        assert!(names.contains(&"Michael Clarke Duncan"), "{names:?}");
        assert!(names.contains(&"Los Angeles"), "{names:?}");
        for bad in ["MEET THE TEAMS", "Friends Honor Michael Clarke Duncan"] {
            assert!(!names.contains(&bad), "{bad} in {names:?}");
        }
        assert_ne!(
            main_subject(&d, &[text]).name,
            "Friends Honor Michael Clarke Duncan"
        );
    }

    #[test]
    fn explicit_times_make_dated_facts() {
        let ex = run(
            &doc("2019"),
            "In 2018, Audi delivered 1.812 million cars to customers worldwide.",
        );
        assert_eq!(ex.facts.len(), 1);
        let f = &ex.facts[0];
        assert_eq!(f.time_key.unwrap().to_string(), "2018");
        assert!(!f.time_inherited);
        assert_eq!(f.subject, "Audi");
        assert_eq!(
            f.object,
            ExtractedObject::Literal("1.812 million cars".into())
        );
    }

    #[test]
    fn undated_sentences_inherit_the_document_time_with_lower_confidence() {
        let ex = run(
            &doc("2019"),
            "Audi operates a carbon-neutral plant in Brussels for all electric models.",
        );
        let f = &ex.facts[0];
        assert_eq!(f.time_key.unwrap().to_string(), "2019");
        assert!(f.time_inherited);
        assert!(f.confidence < 0.8);
    }

    #[test]
    fn relative_times_resolve_against_the_document() {
        let ex = run(
            &doc("2024-Q3"),
            "Crocs, Inc. grew revenue by 12% compared with last quarter, the company said.",
        );
        let keys: Vec<String> = ex
            .facts
            .iter()
            .filter_map(|f| f.time_key)
            .map(|k| k.to_string())
            .collect();
        assert_eq!(keys, vec!["2024-Q2"]);
    }

    #[test]
    fn future_targets_are_stated_at_the_document_time() {
        let ex = run(
            &doc("2019"),
            "Audi wants to achieve net zero carbon emissions for the entire company by 2050.",
        );
        let f = &ex.facts[0];
        assert_eq!(f.time_key.unwrap().to_string(), "2019");
        assert!(f.description.contains("2050"));
    }

    #[test]
    fn pronoun_sentences_fall_back_to_the_main_subject() {
        let text = "AUDI AG builds cars in Ingolstadt. We reduced water use by 10% in 2019 across all sites.";
        let ex = run(&doc("2019"), text);
        let f = ex
            .facts
            .iter()
            .find(|f| f.description.starts_with("We"))
            .unwrap();
        assert_eq!(normalize_name(&f.subject), "audi");
    }

    #[test]
    fn two_times_two_facts() {
        let ex = run(
            &doc("2024-Q3"),
            "Revenue for the third quarter of 2024 was $4.2 billion, up from $3.9 billion in the third quarter of 2023.",
        );
        let got: Vec<(String, ExtractedObject)> = ex
            .facts
            .iter()
            .map(|f| (f.time_key.unwrap().to_string(), f.object.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "2024-Q3".into(),
                    ExtractedObject::Literal("$4.2 billion".into())
                ),
                (
                    "2023-Q3".into(),
                    ExtractedObject::Literal("$3.9 billion".into())
                ),
            ]
        );
    }

    #[test]
    fn table_rows_and_headings_give_no_facts() {
        let ex = run(
            &doc("2019"),
            "# Key figures\n| 2019 | 2018 | 1,845 | 1,812 |\nCO2 12 13 14 15",
        );
        assert!(ex.facts.is_empty(), "{:?}", ex.facts);
    }

    #[test]
    fn undated_document_without_times_gives_no_facts() {
        let d = DocContext {
            title: None,
            time: None,
        };
        let ex = run(
            &d,
            "Audi operates a carbon-neutral plant in Brussels for all electric models.",
        );
        assert!(ex.facts.is_empty());
        assert!(!ex.entities.is_empty());
    }

    #[test]
    fn inline_math_becomes_plain_text() {
        assert_eq!(
            clean_math("about 10,800 tons of $\\mathsf{C O}_{2}$ emissions and $5 or $6 each"),
            "about 10,800 tons of CO2 emissions and $5 or $6 each"
        );
        assert_eq!(clean_math("no math here"), "no math here");
    }

    #[test]
    fn long_sentences_are_cut_around_the_time() {
        let long = format!(
            "{} In 2019 Audi opened a plant. {}",
            "word ".repeat(200),
            "more ".repeat(200)
        );
        let d = describe(&long, long.find("2019").unwrap());
        assert!(d.len() <= MAX_DESCRIPTION + 8);
        assert!(d.contains("2019"));
    }
}
