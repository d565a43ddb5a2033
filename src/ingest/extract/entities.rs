//! Pattern-based mention finding for the rules extractor: named entities (capitalised multi-word
//! names, acronyms, tickers, products, people, places) and quantities (money, percentages,
//! measured amounts). Built for speed: one pass over the words of a sentence plus three
//! precompiled regexes for quantities.

use std::sync::LazyLock;

use regex::Regex;

use crate::model::EntityKind;

/// A mention in a sentence (byte offsets into it).
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    /// Start byte.
    pub start: usize,
    /// End byte.
    pub end: usize,
    /// Name (cleaned).
    pub name: String,
    /// Kind.
    pub kind: EntityKind,
    /// Another name given right after it in parentheses ("(NASDAQ: CROX)", "(VW)").
    pub alias: Option<String>,
}

static MONEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:(?:US|A|C|HK)?\$|€|£|¥|\b(?:EUR|USD|GBP|CHF|JPY|CNY|RMB)\s?)\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:million|billion|trillion|thousand|bn|mn|m|k)\b)?|\b\d[\d,]*(?:\.\d+)?\s?(?:million|billion|trillion|thousand|bn|mn)?\s?(?:euros?|dollars?|EUR|USD)\b",
    )
    .expect("money regex")
});

static PERCENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[+-]?\b\d[\d,]*(?:\.\d+)?\s?(?:%|percent\b|per cent\b|percentage points?\b)")
        .expect("percent regex")
});

static QUANTITY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b\d[\d,]*(?:\.\d+)?\s?(?:million\s|billion\s|thousand\s)?(?:metric\s)?(?:tons?|tonnes?|kg|kilograms?|g/km|grams?|km|kilometers?|kilometres?|miles?|kWh|MWh|GWh|TWh|(?:mega|giga|kilo)watt[- ]hours?|MW|GW|kW|liters?|litres?|m3|m²|cubic meters?|vehicles?|cars?|units?|models?|employees?|people|persons?|jobs|sites?|plants?|locations?|hours|days|years|months|weeks|suppliers?|customers?|dealers?|projects?|trees?|hectares?|square meters?|countries|apprentices|trainees|students|charging points?|charging stations?|patents?)\b",
    )
    .expect("quantity regex")
});

static TICKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:NASDAQ|Nasdaq|NYSE|TSX|LSE|XETRA|Xetra|ASX|ticker|Ticker)\s*:\s*([A-Z]{1,5}(?:\.[A-Z])?)\b|\$([A-Z]{2,5})\b")
        .expect("ticker regex")
});

/// Finds money, percentages and measured quantities, left to right, non-overlapping.
pub fn find_quantities(s: &str) -> Vec<Mention> {
    if !s.bytes().any(|b| b.is_ascii_digit()) {
        return Vec::new();
    }
    let mut out: Vec<Mention> = Vec::new();
    for (re, kind) in [
        (&*MONEY, EntityKind::Money),
        (&*PERCENT, EntityKind::Percent),
        (&*QUANTITY, EntityKind::Quantity),
    ] {
        for m in re.find_iter(s) {
            if out.iter().any(|o| m.start() < o.end && o.start < m.end()) {
                continue;
            }
            out.push(Mention {
                start: m.start(),
                end: m.end(),
                name: m.as_str().trim().to_string(),
                kind,
                alias: None,
            });
        }
    }
    out.sort_by_key(|m| m.start);
    out
}

/// [`FUNCTION_WORDS`] and [`PLACES`] as sets: they are asked about nearly every capitalised word
/// of a load (as lists, about 2% of a news load's CPU went to comparing words).
static FUNCTION_WORD_SET: LazyLock<std::collections::HashSet<&'static str>> =
    LazyLock::new(|| FUNCTION_WORDS.iter().copied().collect());
/// See [`FUNCTION_WORD_SET`].
static PLACE_SET: LazyLock<std::collections::HashSet<&'static str>> =
    LazyLock::new(|| PLACES.iter().copied().collect());

/// Capitalised words that start sentences or clauses but are not names.
const FUNCTION_WORDS: &[&str] = &[
    "a",
    "about",
    "according",
    "after",
    "again",
    "all",
    "also",
    "although",
    "among",
    "an",
    "and",
    "another",
    "any",
    "as",
    "at",
    "based",
    "because",
    "before",
    "besides",
    "between",
    "both",
    "but",
    "by",
    "can",
    "compared",
    "consequently",
    "currently",
    "despite",
    "due",
    "during",
    "each",
    "even",
    "every",
    "for",
    "from",
    "further",
    "furthermore",
    "given",
    "having",
    "he",
    "her",
    "here",
    "his",
    "how",
    "however",
    "i",
    "if",
    "in",
    "including",
    "into",
    "it",
    "its",
    "just",
    "last",
    "like",
    "many",
    "more",
    "moreover",
    "most",
    "much",
    "my",
    "new",
    "next",
    "no",
    "not",
    "now",
    "of",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "over",
    "overall",
    "per",
    "since",
    "she",
    "so",
    "some",
    "such",
    "than",
    "thanks",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "throughout",
    "thus",
    "to",
    "today",
    "two",
    "three",
    "under",
    "unlike",
    "until",
    "up",
    "upon",
    "us",
    "using",
    "very",
    "via",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "whereas",
    "whether",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "within",
    "without",
    "yet",
    "you",
    "your",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "total",
    "year",
    "years",
    "page",
    "table",
    "figure",
    "chapter",
    "section",
    "note",
    "see",
    "please",
    "dear",
    "source",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "q1",
    "q2",
    "q3",
    "q4",
    "h1",
    "h2",
    "fy",
    "yes",
    "is",
    "are",
    "be",
    "has",
    "have",
    "had",
    "do",
    "does",
    "did",
    "let",
    "approximately",
    "around",
    "nearly",
    "almost",
    "roughly",
    "above",
    "below",
    "following",
];

/// Lower-case connectors allowed inside a name ("Board of Management", "Bank of America").
const CONNECTORS: &[&str] = &[
    "of", "for", "and", "de", "&", "the", "von", "van", "du", "la", "del", "der",
];

const ORG_SUFFIXES: &[&str] = &[
    "ag",
    "inc",
    "corp",
    "corporation",
    "gmbh",
    "group",
    "ltd",
    "llc",
    "plc",
    "se",
    "s.a",
    "n.v",
    "foundation",
    "university",
    "institute",
    "bank",
    "association",
    "agency",
    "ministry",
    "commission",
    "council",
    "company",
    "motors",
    "holding",
    "holdings",
    "partners",
    "capital",
    "technologies",
    "systems",
    "committee",
    "board",
    "authority",
    "union",
    "kft",
    "s.p.a",
    "spa",
    "co",
    "organization",
    "organisation",
    "network",
    "alliance",
    "initiative",
    "fund",
];

const PLACES: &[&str] = &[
    "africa",
    "america",
    "argentina",
    "asia",
    "australia",
    "austria",
    "bavaria",
    "beijing",
    "belgium",
    "berlin",
    "bologna",
    "brazil",
    "brussels",
    "canada",
    "chile",
    "china",
    "changchun",
    "czech republic",
    "denmark",
    "dubai",
    "europe",
    "finland",
    "foshan",
    "france",
    "frankfurt",
    "germany",
    "greece",
    "győr",
    "gyor",
    "hamburg",
    "heilbronn",
    "hong kong",
    "hungary",
    "india",
    "indonesia",
    "ingolstadt",
    "ireland",
    "israel",
    "italy",
    "japan",
    "korea",
    "london",
    "los angeles",
    "madrid",
    "malaysia",
    "mexico",
    "milan",
    "munich",
    "neckarsulm",
    "netherlands",
    "new york",
    "norway",
    "paris",
    "poland",
    "portugal",
    "russia",
    "san francisco",
    "san josé chiapa",
    "sant'agata bolognese",
    "saudi arabia",
    "shanghai",
    "singapore",
    "slovakia",
    "south africa",
    "south korea",
    "spain",
    "stuttgart",
    "sweden",
    "switzerland",
    "taiwan",
    "thailand",
    "tokyo",
    "turkey",
    "ukraine",
    "united kingdom",
    "united states",
    "usa",
    "u.s",
    "uk",
    "vienna",
    "wolfsburg",
    "zwickau",
    "bratislava",
    "martorell",
    "aurangabad",
    "tianjin",
    "north america",
    "south america",
    "latin america",
    "middle east",
    "scandinavia",
    "texas",
    "california",
    "michigan",
    "ontario",
    "quebec",
    "toronto",
    "vancouver",
    "chicago",
    "boston",
    "seattle",
];

const PERSON_TITLES: &[&str] = &["mr", "mrs", "ms", "dr", "prof", "sir", "dame"];

const PERSON_CUES_AFTER: &[&str] = &[
    "said",
    "says",
    "explained",
    "explains",
    "added",
    "stated",
    "noted",
    "commented",
    "emphasized",
    "emphasised",
    "announced",
    "told",
    "believes",
    "stresses",
    "underlined",
];

const ROLE_WORDS: &[&str] = &[
    "ceo",
    "cfo",
    "coo",
    "cto",
    "chairman",
    "chairwoman",
    "chair",
    "chief",
    "head",
    "member",
    "president",
    "director",
    "manager",
    "founder",
    "spokesperson",
    "spokesman",
    "officer",
    "minister",
    "professor",
    "vice",
];

/// Acronyms that are not entities of interest.
const ACRONYM_STOP: &[&str] = &[
    "CEO", "CFO", "COO", "CTO", "AM", "PM", "FY", "YOY", "QOQ", "Q1", "Q2", "Q3", "Q4", "H1", "H2",
    "II", "III", "IV", "VI", "OK", "TV", "PDF", "FAQ", "ID", "NO", "THE", "AND", "OF", "IN",
];

const CONCEPT_ACRONYMS: &[&str] = &[
    "CO2", "ESG", "GRI", "SDG", "SDGS", "NOX", "VOC", "KPI", "KPIS", "EBIT", "EBITDA", "GDP", "AI",
    "IT", "HR", "R&D", "ROI", "EV", "EVS", "BEV", "BEVS", "PHEV", "PHEVS", "WLTP", "NEDC",
];

#[derive(Debug, Clone, Copy)]
struct Word {
    start: usize,
    end: usize,
}

/// Splits into words: runs of alphanumerics plus inner `-`, `'`, `’`, `&`, `.` (as in "S.A.").
fn words(s: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut last_end = 0;
    for (i, c) in s.char_indices() {
        let inner = matches!(c, '-' | '\'' | '’' | '&' | '.' | '+' | '/');
        if c.is_alphanumeric() || (start.is_some() && inner) {
            if start.is_none() {
                start = Some(i);
            }
            last_end = i + c.len_utf8();
        } else if let Some(st) = start.take() {
            push_word(s, st, last_end, &mut out);
        }
    }
    if let Some(st) = start {
        push_word(s, st, last_end, &mut out);
    }
    out
}

fn push_word(s: &str, start: usize, mut end: usize, out: &mut Vec<Word>) {
    // Strip trailing inner punctuation, but keep the period of "Inc." / "S.A." style words.
    while end > start {
        let last = s[..end].chars().next_back().expect("non-empty");
        if matches!(last, '-' | '\'' | '’' | '&' | '+' | '/') {
            end -= last.len_utf8();
        } else if last == '.' {
            let w = &s[start..end - 1];
            let keep = w.contains('.')
                || matches!(
                    w.to_ascii_lowercase().as_str(),
                    "inc" | "corp" | "co" | "ltd"
                );
            if keep {
                break;
            }
            end -= 1;
        } else {
            break;
        }
    }
    if end > start {
        out.push(Word { start, end });
    }
}

fn is_capitalised(w: &str) -> bool {
    let mut cs = w.chars();
    match cs.next() {
        Some(c) if c.is_uppercase() => true,
        // Model codes and brand spellings like "e-tron", "iPhone".
        Some(c) if c.is_lowercase() => {
            w.chars().skip(1).any(|c| c.is_uppercase()) || w.starts_with("e-")
        }
        Some(c) if c.is_ascii_digit() => false,
        _ => false,
    }
}

fn lower_trim(w: &str) -> String {
    w.trim_end_matches('.').to_lowercase()
}

/// Finds named-entity mentions (not quantities) in one sentence.
pub fn find_entities(s: &str) -> Vec<Mention> {
    let ws = words(s);
    let mut out: Vec<Mention> = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        let w = &s[ws[i].start..ws[i].end];
        if !is_capitalised(w)
            || FUNCTION_WORD_SET.contains(lower_trim(w).as_str()) && !starts_place_name(s, &ws, i)
        {
            i += 1;
            continue;
        }
        // Extend over capitalised words, model codes and inner connectors, without crossing
        // punctuation (the gap between words must be plain spaces).
        let mut j = i + 1;
        let mut last = i;
        while j < ws.len() {
            let gap = &s[ws[j - 1].end..ws[j].start];
            if !gap.chars().all(|c| c == ' ' || c == '\u{a0}') || gap.is_empty() {
                break;
            }
            let wj = &s[ws[j].start..ws[j].end];
            let lj = lower_trim(wj);
            if is_capitalised(wj) && !FUNCTION_WORD_SET.contains(lj.as_str())
                || (wj.chars().any(|c| c.is_ascii_digit()) && wj.chars().any(|c| c.is_alphabetic()))
                || wj.starts_with("e-")
            {
                last = j;
                j += 1;
            } else if CONNECTORS.contains(&lj.as_str())
                && ws.get(j + 1).is_some_and(|n| {
                    let wn = &s[n.start..n.end];
                    is_capitalised(wn)
                        && !FUNCTION_WORD_SET.contains(lower_trim(wn).as_str())
                        && s[ws[j].end..n.start].chars().all(|c| c == ' ')
                })
            {
                j += 1;
            } else {
                break;
            }
        }
        // Two names run together: "NASA's James Webb Telescope", "Malaysia and Thailand". The
        // first becomes the name and the scan resumes at the second.
        if let Some((first_last, resume)) = run_together(s, &ws, i, last) {
            last = first_last;
            j = resume;
        }
        // "Prime Minister Dmitry Medvedev", "Apple CEO Steve Jobs": the person's name.
        if let Some(name_from) = after_role(s, &ws, i, last) {
            i = name_from;
        }
        let (start, mut end) = (ws[i].start, ws[last].end);
        // "Crocs, Inc." / "Audi, Ltd."
        if let Some(rest) = s[end..].strip_prefix(", ") {
            for suf in [
                "Inc.", "Inc", "Ltd.", "Ltd", "LLC", "Corp.", "Corp", "plc", "AG", "S.A.",
            ] {
                if rest.starts_with(suf)
                    && rest[suf.len()..]
                        .chars()
                        .next()
                        .is_none_or(|c| !c.is_alphanumeric())
                {
                    end += 2 + suf.len();
                    break;
                }
            }
        }
        let mut name = s[start..end].trim_end_matches(',').to_string();
        // Possessives: "Audi’s" is Audi.
        for suffix in ["’s", "'s", "’", "'"] {
            if let Some(stripped) = name.strip_suffix(suffix) {
                name = stripped.to_string();
                end -= suffix.len();
                break;
            }
        }
        let first_word = &s[ws[i].start..ws[i].end];
        let single = last == i;
        let at_sentence_start = s[..start].trim().is_empty();
        // A lone sentence-initial capitalised word is usually just a sentence start.
        let skip = single
            && at_sentence_start
            && !first_word
                .chars()
                .skip(1)
                .any(|c| c.is_uppercase() || c.is_ascii_digit())
            && !PLACE_SET.contains(first_word.to_lowercase().as_str())
            && name.len() < 3;
        let acronym_stop = single && ACRONYM_STOP.contains(&first_word);
        let lone_initial_word = single && at_sentence_start && is_plain_word(first_word);
        if !skip
            && !acronym_stop
            && !lone_initial_word
            && !not_a_name(&name, single)
            && name.chars().filter(|c| c.is_alphabetic()).count() >= 2
        {
            let kind = classify(s, start, end, &name);
            out.push(Mention {
                start,
                end,
                name,
                kind,
                alias: None,
            });
        }
        i = j.max(i + 1);
    }
    attach_aliases(s, &mut out);
    out
}

/// Last words, beside [`ORG_SUFFIXES`], of names of bodies, programmes and places rather than
/// people ("… Housing Assistance Program", "Head Start Program", "… Medical Center").
const BODY_ENDINGS: &[&str] = &[
    "program",
    "programme",
    "services",
    "diseases",
    "department",
    "fund",
    "center",
    "centre",
    "school",
    "park",
    "act",
    "award",
];

/// Whether a name ending in `last` (lower case) names a body, not a person.
fn ends_a_body(last: &str) -> bool {
    ORG_SUFFIXES.contains(&last) || BODY_ENDINGS.contains(&last)
}

/// Titles and roles that stand before a person's name in news text, beside [`ROLE_WORDS`].
/// Royal titles are left out: "King Charles III" is how the name is written.
const NAME_TITLES: &[&str] = &[
    "secretary",
    "speaker",
    "rep",
    "sen",
    "senator",
    "representative",
    "gov",
    "governor",
    "mayor",
    "judge",
    "justice",
    "controller",
    "attorney",
    "commissioner",
    "coach",
    "frontman",
    "frontwoman",
    "chancellor",
    "premier",
    "ambassador",
    "sheriff",
    "councilman",
    "councilwoman",
    "treasurer",
    "superintendent",
];

/// Where the person's name begins when the capitalised run `ws[i..=last]` starts with a title
/// or role ("U.S. Transportation Secretary Anthony Foxx" → "Anthony Foxx"): after the last
/// title word, when two or three capitalised words follow it and end the run, and the last of
/// them is no organisation word ("Head Start Program" stays whole).
fn after_role(s: &str, ws: &[Word], i: usize, last: usize) -> Option<usize> {
    let word = |k: usize| &s[ws[k].start..ws[k].end];
    let k = (i..last).rev().find(|&k| {
        let w = lower_trim(word(k));
        ROLE_WORDS.contains(&w.as_str()) || NAME_TITLES.contains(&w.as_str())
    })?;
    let rest = last - k;
    let tail = lower_trim(word(last));
    let person_like = (2..=3).contains(&rest)
        && (k + 1..=last).all(|m| is_capitalised(word(m)))
        && !ends_a_body(&tail)
        && !PLACE_SET.contains(tail.as_str());
    person_like.then_some(k + 1)
}

/// Possessors whose possessive starts a name of its own ("Children's Hospital", "People's
/// Republic of China"): never split there.
const POSSESSIVE_NAMES: &[&str] = &["children", "women", "men", "people", "veterans"];

/// Names that hold "and" between two single words.
const AND_NAMES: &[&str] = &[
    "procter and gamble",
    "johnson and johnson",
    "marks and spencer",
    "trinidad and tobago",
    "bosnia and herzegovina",
    "antigua and barbuda",
    "barnes and noble",
    "simon and schuster",
    "ernst and young",
    "tom and jerry",
];

/// Where the capitalised run `ws[i..=last]` holds two names, not one: after a possessive
/// followed by at least two more capitalised words ("NASA's James Webb Telescope", "Tuesday's
/// Washington Post"), or at an "and" that joins two names ("Malaysia and Thailand", "Marie
/// Bouzkova and Sara Sorribes Tormo"). An "and" stays inside a name whose first part holds a
/// connector ("Department of Health and Human Services", "Board Member for Sales and
/// Marketing"), that ends in an organisation word ("… and Housing Assistance Program"), or that
/// is a known pair ("Procter and Gamble"). Returns the first name's last word and where the
/// scan resumes.
fn run_together(s: &str, ws: &[Word], i: usize, last: usize) -> Option<(usize, usize)> {
    let word = |k: usize| &s[ws[k].start..ws[k].end];
    for k in i..last {
        let w = word(k);
        let possessor = w
            .strip_suffix("'s")
            .or_else(|| w.strip_suffix("’s"))
            .filter(|p| !p.is_empty());
        if let Some(p) = possessor {
            let after_capitalised = (k + 1..=last).filter(|&m| is_capitalised(word(m))).count();
            if after_capitalised >= 2 && !POSSESSIVE_NAMES.contains(&p.to_lowercase().as_str()) {
                return Some((k, k + 1));
            }
            // One possessive is enough to decide: "Macy's Parade" stays whole.
            return None;
        }
        if w == "and" && k > i && k < last {
            let left_has_connector =
                (i..k).any(|m| CONNECTORS.contains(&word(m)) && word(m) != "and");
            let tail = lower_trim(word(last));
            let org_end = ends_a_body(&tail);
            let whole = s[ws[i].start..ws[last].end].to_lowercase();
            if left_has_connector || org_end || AND_NAMES.contains(&whole.as_str()) {
                return None;
            }
            return Some((k - 1, k + 1));
        }
    }
    None
}

/// "New" that starts a name: "New York", "New Hampshire" (mid-sentence, "New" before another
/// capitalised word is a name; at a sentence's start only before a known second word, since
/// "New Audi models" is not one).
fn starts_place_name(s: &str, ws: &[Word], i: usize) -> bool {
    const AFTER_NEW: &[&str] = &[
        "york",
        "jersey",
        "hampshire",
        "mexico",
        "zealand",
        "delhi",
        "orleans",
        "england",
        "brunswick",
        "haven",
        "south",
        "guinea",
        "caledonia",
        "hope",
    ];
    let w = &s[ws[i].start..ws[i].end];
    if w != "New" {
        return false;
    }
    let Some(next) = ws.get(i + 1) else {
        return false;
    };
    let n = &s[next.start..next.end];
    let adjacent = s[ws[i].end..next.start] == *" ";
    let at_start = s[..ws[i].start].trim().is_empty()
        || s[..ws[i].start]
            .trim_end()
            .ends_with(['.', '!', '?', '"', '“', ':']);
    adjacent
        && is_capitalised(n)
        && !FUNCTION_WORD_SET.contains(lower_trim(n).as_str())
        && (!at_start || AFTER_NEW.contains(&lower_trim(n).as_str()))
}

/// Names that are not entities: a lone function word (days and months are among them: they
/// are times), contractions ("We've",
/// "Don't …") and single hyphenated adjectives ("Super Bowl-winning", "Beatles-esque").
fn not_a_name(name: &str, single: bool) -> bool {
    const CONTRACTIONS: &[&str] = &[
        "'ve", "n't", "'re", "'ll", "'m", "’ve", "n’t", "’re", "’ll", "’m",
    ];
    const ADJECTIVE_ENDINGS: &[&str] = &[
        "-winning", "-esque", "-based", "-style", "-led", "-owned", "-born", "-like", "-backed",
        "-funded", "-era",
    ];
    let lower = name.to_lowercase();
    single && FUNCTION_WORD_SET.contains(lower.as_str())
        || CONTRACTIONS.iter().any(|c| lower.contains(c))
        || ADJECTIVE_ENDINGS.iter().any(|e| lower.ends_with(e))
}

/// A capitalised word that is probably an ordinary word at the start of a sentence.
fn is_plain_word(w: &str) -> bool {
    let mut cs = w.chars();
    let first_upper = cs.next().is_some_and(|c| c.is_uppercase());
    first_upper
        && cs.all(|c| c.is_lowercase())
        && !PLACE_SET.contains(w.to_lowercase().as_str())
        && w.len() > 1
        && COMMON_SENTENCE_STARTS.contains(&w.to_lowercase().as_str())
}

/// Frequent sentence-initial words that are not names.
const COMMON_SENTENCE_STARTS: &[&str] = &[
    "sustainability",
    "sales",
    "revenue",
    "revenues",
    "production",
    "employees",
    "customers",
    "electric",
    "digitalization",
    "digitalisation",
    "climate",
    "energy",
    "emissions",
    "water",
    "waste",
    "safety",
    "training",
    "quality",
    "management",
    "responsibility",
    "compliance",
    "integrity",
    "mobility",
    "innovation",
    "research",
    "development",
    "investments",
    "investment",
    "profit",
    "operating",
    "net",
    "growth",
    "demand",
    "supply",
    "suppliers",
    "diversity",
    "health",
    "people",
    "vehicles",
    "cars",
    "products",
    "services",
    "this",
    "these",
    "those",
    "our",
    "we",
    "it",
    "they",
    "there",
    "each",
    "every",
    "another",
    "numerous",
    "several",
    "various",
    "additional",
    "additionally",
    "important",
    "key",
    "strong",
    "good",
    "high",
    "low",
    "long",
    "short",
    "global",
    "local",
    "regional",
    "national",
    "international",
    "social",
    "environmental",
    "economic",
    "financial",
    "strategic",
    "corporate",
    "currently",
    "future",
];

fn classify(s: &str, start: usize, end: usize, name: &str) -> EntityKind {
    let lower = name.to_lowercase();
    let words: Vec<&str> = name.split_whitespace().collect();
    let last = words
        .last()
        .map(|w| lower_trim(w.trim_end_matches(',')))
        .unwrap_or_default();
    if PLACE_SET.contains(lower.as_str()) {
        return EntityKind::Place;
    }
    if ORG_SUFFIXES.contains(&last.as_str()) || lower.ends_with(", inc") || lower.contains(", inc.")
    {
        return EntityKind::Organization;
    }
    if words.len() == 1 {
        let w = words[0];
        if CONCEPT_ACRONYMS.contains(&w.to_uppercase().as_str()) {
            return EntityKind::Concept;
        }
    }
    if words.iter().any(|w| {
        (w.chars().any(|c| c.is_ascii_digit()) && w.chars().any(|c| c.is_alphabetic()))
            || w.starts_with("e-")
            || w.contains("-tron")
    }) {
        return EntityKind::Product;
    }
    if (2..=3).contains(&words.len())
        && words.iter().all(|w| {
            let mut cs = w.chars();
            cs.next().is_some_and(|c| c.is_uppercase())
                && cs.all(|c| c.is_lowercase() || c == '-' || c == '.')
        })
    {
        let before = s[..start].trim_end();
        let prev = before
            .rsplit(|c: char| !c.is_alphanumeric())
            .find(|w| !w.is_empty())
            .unwrap_or("");
        let after = s[end..].trim_start().trim_start_matches(',').trim_start();
        let next = after
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or("");
        if PERSON_TITLES.contains(&prev.to_lowercase().as_str())
            || ROLE_WORDS.contains(&prev.to_lowercase().as_str())
            || PERSON_CUES_AFTER.contains(&next.to_lowercase().as_str())
            || (s[end..].starts_with(',') && ROLE_WORDS.contains(&next.to_lowercase().as_str()))
            || (s[end..].starts_with(", ") && after.to_lowercase().starts_with("board member"))
        {
            return EntityKind::Person;
        }
    }
    if words.len() == 1
        && name.len() >= 2
        && name.chars().all(|c| c.is_uppercase() || c.is_ascii_digit())
    {
        return EntityKind::Organization;
    }
    EntityKind::Other
}

/// "Name (ABBR)" and "Name (NASDAQ: TICK)": record the parenthesised form as an alias.
fn attach_aliases(s: &str, ms: &mut [Mention]) {
    for m in ms.iter_mut() {
        let rest = &s[m.end..];
        let Some(inner) = rest
            .strip_prefix(" (")
            .and_then(|r| r.split_once(')'))
            .map(|(a, _)| a)
        else {
            continue;
        };
        if inner.len() > 24 {
            continue;
        }
        if let Some(c) = TICKER.captures(inner) {
            if let Some(t) = c.get(1).or_else(|| c.get(2)) {
                m.alias = Some(t.as_str().to_string());
            }
        } else if (2..=6).contains(&inner.len())
            && inner
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '&')
        {
            m.alias = Some(inner.to_string());
        }
    }
}

/// Tickers mentioned in a sentence ("NASDAQ: CROX", "$CROX").
pub fn find_tickers(s: &str) -> Vec<Mention> {
    if !s.contains(':') && !s.contains('$') {
        return Vec::new();
    }
    TICKER
        .captures_iter(s)
        .filter_map(|c| {
            let m = c.get(1).or_else(|| c.get(2))?;
            Some(Mention {
                start: m.start(),
                end: m.end(),
                name: m.as_str().to_string(),
                kind: EntityKind::Ticker,
                alias: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &str) -> Vec<(String, EntityKind)> {
        find_entities(s)
            .into_iter()
            .map(|m| (m.name, m.kind))
            .collect()
    }

    #[test]
    fn finds_organisations_people_places_products() {
        let got = names("In 2019, AUDI AG delivered the Audi Q4 e-tron from Ingolstadt to China.");
        assert!(
            got.contains(&("AUDI AG".into(), EntityKind::Organization)),
            "{got:?}"
        );
        assert!(
            got.contains(&("Audi Q4 e-tron".into(), EntityKind::Product)),
            "{got:?}"
        );
        assert!(
            got.contains(&("Ingolstadt".into(), EntityKind::Place)),
            "{got:?}"
        );
        assert!(
            got.contains(&("China".into(), EntityKind::Place)),
            "{got:?}"
        );
        let got =
            names("Hildegard Wortmann, Board Member for Sales and Marketing, said the plan works.");
        assert!(
            got.contains(&("Hildegard Wortmann".into(), EntityKind::Person)),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|(n, _)| n == "Board Member for Sales and Marketing"),
            "{got:?}"
        );
    }

    fn all(s: &str) -> Vec<String> {
        names(s).into_iter().map(|(n, _)| n).collect()
    }

    /// `name` is found whole in `s`.
    fn assert_found(s: &str, name: &str) {
        let got = all(s);
        assert!(got.contains(&name.to_string()), "{name} missing in {got:?}");
    }

    #[test]
    fn names_run_together_by_a_possessive_or_and_are_two_names() {
        for (s, want, not) in [
            (
                "Images from NASA's James Webb Telescope arrived.",
                &["NASA", "James Webb Telescope"][..],
                "NASA's James Webb Telescope",
            ),
            (
                "Trade between Malaysia and Thailand grew.",
                &["Malaysia", "Thailand"][..],
                "Malaysia and Thailand",
            ),
            (
                "She beat Marie Bouzkova and Sara Sorribes Tormo in the doubles.",
                &["Marie Bouzkova", "Sara Sorribes Tormo"][..],
                "Marie Bouzkova and Sara Sorribes Tormo",
            ),
        ] {
            let got = all(s);
            for w in want {
                assert!(got.contains(&w.to_string()), "{w} missing in {got:?}");
            }
            assert!(!got.contains(&not.to_string()), "{not} in {got:?}");
        }
        // Names that hold "and" or a possessive stay whole.
        for (s, whole) in [
            (
                "The Department of Health and Human Services said so.",
                "Department of Health and Human Services",
            ),
            (
                "She applied to the Rent Relief and Housing Assistance Program.",
                "Rent Relief and Housing Assistance Program",
            ),
            (
                "Investors bought Procter and Gamble shares.",
                "Procter and Gamble",
            ),
            (
                "He was taken to Children's Hospital Los Angeles.",
                "Children's Hospital Los Angeles",
            ),
            ("They watched the Macy's Parade.", "Macy's Parade"),
        ] {
            assert_found(s, whole);
        }
    }

    #[test]
    fn a_title_before_a_persons_name_is_not_part_of_it() {
        for (s, name) in [
            (
                "It was Prime Minister Dmitry Medvedev who spoke.",
                "Dmitry Medvedev",
            ),
            ("The late Apple CEO Steve Jobs said it.", "Steve Jobs"),
            (
                "Then U.S. Transportation Secretary Anthony Foxx came.",
                "Anthony Foxx",
            ),
            ("Yesterday Speaker Mike Turzai agreed.", "Mike Turzai"),
        ] {
            let got = all(s);
            assert!(got.contains(&name.to_string()), "{name} missing in {got:?}");
            assert!(
                !got.iter()
                    .any(|g| g.len() > name.len() && g.ends_with(name)),
                "{got:?}"
            );
        }
        // A role word before an organisation's name, or a single name, is left alone.
        for (s, whole) in [
            (
                "She joined the Head Start Program in May.",
                "Head Start Program",
            ),
            ("It is Prince Andrew again.", "Prince Andrew"),
            (
                "Hildegard Wortmann, Board Member for Sales and Marketing, spoke.",
                "Board Member for Sales and Marketing",
            ),
        ] {
            assert_found(s, whole);
        }
    }

    #[test]
    fn sentence_starts_and_function_words_are_not_entities() {
        for s in [
            "The company said that revenue matters.",
            "In addition, We grow.",
            "Sustainability matters to us all.",
            "Revenue for the year rose.",
        ] {
            let got = names(s);
            assert!(got.is_empty(), "{s}: {got:?}");
        }
    }

    #[test]
    fn new_starts_place_names_and_times_contractions_and_adjectives_are_not_names() {
        let got: Vec<String> = names(
            "She studied at New York University and moved to New Hampshire on Sunday. \
             We've seen the Super Bowl-winning coach. New Hampshire voted.",
        )
        .into_iter()
        .map(|(n, _)| n)
        .collect();
        assert!(got.contains(&"New York University".to_string()), "{got:?}");
        assert!(got.contains(&"New Hampshire".to_string()), "{got:?}");
        for bad in [
            "York University",
            "Hampshire",
            "Sunday",
            "We've",
            "Super Bowl-winning",
        ] {
            assert!(!got.contains(&bad.to_string()), "{bad} in {got:?}");
        }
        // At a sentence's start "New" is only a name before a known second word.
        let got: Vec<String> = names("New Audi models arrived.")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert!(!got.iter().any(|n| n.starts_with("New")), "{got:?}");
    }

    #[test]
    fn corporate_suffix_after_comma_and_aliases() {
        let ms = find_entities(
            "Crocs, Inc. (NASDAQ: CROX) reported revenue. The Volkswagen Group (VW) grew.",
        );
        let crocs = ms.iter().find(|m| m.name == "Crocs, Inc.").expect("crocs");
        assert_eq!(crocs.kind, EntityKind::Organization);
        assert_eq!(crocs.alias.as_deref(), Some("CROX"));
        let vw = ms
            .iter()
            .find(|m| m.name == "Volkswagen Group")
            .expect("vw");
        assert_eq!(vw.alias.as_deref(), Some("VW"));
        assert_eq!(find_tickers("Shares of $CROX rose.")[0].name, "CROX");
    }

    #[test]
    fn quantities() {
        let q = find_quantities(
            "Revenue was $4.2 billion, up 12% from EUR 3.9 bn; Audi delivered 1.845 million cars and saved 10,800 tons of CO2.",
        );
        let got: Vec<(&str, EntityKind)> = q.iter().map(|m| (m.name.as_str(), m.kind)).collect();
        assert_eq!(
            got,
            vec![
                ("$4.2 billion", EntityKind::Money),
                ("12%", EntityKind::Percent),
                ("EUR 3.9 bn", EntityKind::Money),
                ("1.845 million cars", EntityKind::Quantity),
                ("10,800 tons", EntityKind::Quantity),
            ]
        );
        assert!(find_quantities("No numbers here.").is_empty());
    }

    #[test]
    fn never_panics_and_offsets_are_boundaries() {
        for s in [
            "Győr Ünter Straße – Š.A. ’s",
            "“Quote” — São Paulo (SP)",
            "e- E- . , ()",
            "Ää (ÖÖ)",
        ] {
            for m in find_entities(s).into_iter().chain(find_quantities(s)) {
                assert!(s.is_char_boundary(m.start) && s.is_char_boundary(m.end));
            }
        }
    }
}
