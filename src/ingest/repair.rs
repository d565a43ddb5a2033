//! Repairs of text converted from PDF, applied to every document before it is chunked.
//!
//! PDF converters often turn the typographic ligatures fi, fl, ff, ffi and ffl into the
//! ligature character (`ﬁ`) or into the letters followed by a space: "the fi rst half", "key
//! fi gures", "specifi c", "diff erent". Left alone, such a document never matches a search for
//! "figures" or "first", and a context quoting it reads badly. Audi's 2012 report in
//! `time-longqa` has 134 such splits; its 2015 report 38.
//!
//! What is repaired:
//! - the ligature characters U+FB00–U+FB06 become their letters, in every text;
//! - in a text that shows the split ([`MIN_SPLITS`] times or more "fi" or "fl" stands alone
//!   before a lower-case word: "fi rst", "fl exible"; no English word is "fi" or "fl"), a word
//!   ending in `fi` or `fl` followed by one space (or two: "effi  ciency") and a lower-case
//!   letter is joined to the word after it ("wifi", "hifi", "scifi" and "lofi" are left alone),
//!   and a word ending in `ff` is joined the same way when it is not an English word itself
//!   ("diff erent", "eff ect"), or when what follows is no word but the rest of one ("off er",
//!   "off ered"). A common word after the space ("and", "said") is never a word's rest. Names
//!   in news ("Schiff said", "Sanofi said", "the leadoff hitter") are thus never touched: news
//!   text has no split "fi".
//!
//! - soft hyphens (U+00AD, the invisible marks of where a word may break) are removed; where a
//!   converter kept the break after one ("sport\u{ad} ing", "busi\u{ad}\nness": 1,300 times in
//!   Audi's 2014–2023 reports, 645 in 2016), the whitespace up to the lower-case rest of the
//!   word goes too, so the word can be found again ("sporting"); where a converter wrote soft
//!   hyphens between whole words instead of spaces ("of\u{ad}the\u{ad}ideas\u{ad}submitted\u{ad}in",
//!   a line of Audi's 2020 report), they become spaces, so removing them glues no words;
//! - inline LaTeX that converters write for units, formulas and symbols (`$\mathsf{C O}_{2}$`)
//!   becomes the plain text it stands for ("CO2"); see [`math`].
//!
//! **Invariant:** a text without ligature characters, without such splits and without such math
//! is returned unchanged (borrowed); repairing a repaired text changes nothing.

use std::borrow::Cow;

pub mod math;

/// Splits a text must show before words are joined (see the module docs).
const MIN_SPLITS: usize = 2;

/// Words that follow a split word's first half as themselves, never as its rest.
const COMMON_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "had", "has", "in", "is", "it",
    "of", "on", "or", "said", "says", "that", "the", "this", "to", "was", "were", "will", "with",
];

/// Words ending in "fi" that are words ("wifi").
const FI_WORDS: &[&str] = &["wifi", "hifi", "scifi", "lofi"];

/// English words ending in "ff": a split after one of them is only joined when what follows is
/// no word ([`FF_TAILS`]).
const FF_WORDS: &[&str] = &[
    "off",
    "staff",
    "stuff",
    "cliff",
    "tariff",
    "sheriff",
    "bluff",
    "cuff",
    "puff",
    "stiff",
    "buff",
    "chaff",
    "scoff",
    "sniff",
    "snuff",
    "riff",
    "whiff",
    "plaintiff",
    "handoff",
    "kickoff",
    "takeoff",
    "playoff",
    "payoff",
    "tradeoff",
    "layoff",
    "standoff",
    "cutoff",
    "dropoff",
    "liftoff",
    "runoff",
    "signoff",
    "spinoff",
    "faceoff",
    "tipoff",
    "jeff",
    "graff",
];

/// What follows "off" (or another "ff" word) when the two are one word split by a ligature
/// ("off er" for "offer"): word ends that are no English words themselves.
const FF_TAILS: &[&str] = &[
    "er",
    "ers",
    "ered",
    "ering",
    "erings",
    "ect",
    "ects",
    "ected",
    "ecting",
    "ective",
    "ectively",
    "ectiveness",
    "ort",
    "orts",
    "ice",
    "ices",
    "icer",
    "icers",
    "icial",
    "icially",
    "icials",
    "icient",
    "iciently",
    "iciency",
    "iciencies",
    "erent",
    "erence",
    "erences",
    "erently",
    "erential",
    "ord",
    "ords",
    "orded",
    "ordable",
    "ordability",
    "ensive",
    "ense",
    "enses",
    "shore",
    "setting",
];

/// The letters a ligature character stands for.
fn ligature(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{FB00}' => "ff",
        '\u{FB01}' => "fi",
        '\u{FB02}' => "fl",
        '\u{FB03}' => "ffi",
        '\u{FB04}' => "ffl",
        '\u{FB05}' | '\u{FB06}' => "st",
        _ => return None,
    })
}

/// Whether the word `before` (lower case) and the word `after` are one word split by a ligature.
fn joins(before: &str, after: &str) -> bool {
    if after.is_empty()
        || !after.as_bytes()[0].is_ascii_lowercase()
        || COMMON_WORDS.contains(&after)
    {
        return false;
    }
    if before.ends_with("fi") || before.ends_with("fl") {
        return !FI_WORDS.contains(&before);
    }
    if before.ends_with("ff") {
        return !FF_WORDS.contains(&before) || FF_TAILS.contains(&after);
    }
    false
}

/// `text` with soft hyphens, ligatures and inline math repaired (see the module docs); borrowed
/// when nothing changed.
pub fn repair(text: &str) -> Cow<'_, str> {
    match soft_hyphens(text) {
        Cow::Borrowed(text) => rest(text),
        Cow::Owned(text) => Cow::Owned(rest(&text).into_owned()),
    }
}

/// The repairs after soft hyphens: ligatures, then inline math.
fn rest(text: &str) -> Cow<'_, str> {
    match ligatures(text) {
        Cow::Borrowed(text) => math::plain(text),
        Cow::Owned(text) => {
            let fixed = match math::plain(&text) {
                Cow::Owned(fixed) => Some(fixed),
                Cow::Borrowed(_) => None,
            };
            Cow::Owned(fixed.unwrap_or(text))
        }
    }
}

/// The soft hyphen.
const SHY: char = '\u{ad}';

/// `text` without soft hyphens; a break kept after one (whitespace, then a lower-case letter) is
/// joined, and a run of words a converter separated with soft hyphens instead of spaces
/// ([`shy_separated`]) gets its spaces back. Borrowed when the text has none.
fn soft_hyphens(text: &str) -> Cow<'_, str> {
    if !text.contains(SHY) {
        return Cow::Borrowed(text);
    }
    let spaced = shy_separators(text);
    let text = spaced.as_deref().unwrap_or(text);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(SHY) {
        out.push_str(&rest[..i]);
        rest = &rest[i + SHY.len_utf8()..];
        let gap = rest.len() - rest.trim_start().len();
        let after_letter = out.chars().next_back().is_some_and(char::is_alphabetic);
        let joins = gap > 0
            && after_letter
            && rest[..gap].matches('\n').count() <= 1
            && rest[gap..].chars().next().is_some_and(char::is_lowercase);
        if joins {
            rest = &rest[gap..];
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Whether a word's soft hyphens stand for spaces: "of\u{ad}the\u{ad}ideas\u{ad}submitted\u{ad}in",
/// as one converter wrote two lines of Audi's 2020 report. Taken as separators when the hyphens
/// cut the word into three pieces or more, each a common word or of four characters or more,
/// and two of them are common words, or one is and a soft hyphen also ends the word (the
/// converter put one after every word: "2020\u{ad}were\u{ad}implemented.\u{ad}"). A word
/// written with all its break points has one common piece at most and no hyphen at its end
/// ("in\u{ad}vest\u{ad}ment", "as\u{ad}sess\u{ad}ment"), or a syllable among its pieces
/// ("in\u{ad}for\u{ad}ma\u{ad}tion": "ma"); a break kept at a line's end makes two pieces
/// ("sup\u{ad}pliers").
fn shy_separated(word: &str) -> bool {
    if word.matches(SHY).count() < 2 {
        return false;
    }
    let pieces: Vec<&str> = word.split(SHY).filter(|p| !p.is_empty()).collect();
    let common = |p: &str| COMMON_WORDS.contains(&p.to_lowercase().as_str());
    let commons = pieces.iter().filter(|p| common(p)).count();
    pieces.len() >= 3
        && pieces.iter().all(|p| common(p) || p.chars().count() >= 4)
        && (commons >= 2 || (commons == 1 && word.ends_with(SHY)))
}

/// `text` with the soft hyphens of every [`shy_separated`] word turned into spaces. One at the
/// word's start goes; one at its end goes too, unless it is a line-end break before the rest
/// of a word ("of\u{ad}the\u{ad}manage\u{ad} ment": the whitespace holds one line break at most, a
/// lower-case letter follows, and what follows is not itself a run of separated words), which
/// [`soft_hyphens`] then joins. `None` when there is no such word.
fn shy_separators(text: &str) -> Option<String> {
    if !text.split(char::is_whitespace).any(shy_separated) {
        return None;
    }
    // (whitespace before, word), in order.
    let mut tokens: Vec<(&str, &str)> = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let ws = rest.len() - rest.trim_start().len();
        let (gap, after) = rest.split_at(ws);
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        tokens.push((gap, &after[..end]));
        rest = &after[end..];
    }
    let mut out = String::with_capacity(text.len());
    for (i, (gap, word)) in tokens.iter().enumerate() {
        out.push_str(gap);
        if !shy_separated(word) {
            out.push_str(word);
            continue;
        }
        let pieces: Vec<&str> = word.split(SHY).filter(|p| !p.is_empty()).collect();
        out.push_str(&pieces.join(" "));
        let continues = tokens.get(i + 1).is_some_and(|(gap, next)| {
            !gap.is_empty()
                && gap.matches('\n').count() <= 1
                && next.chars().next().is_some_and(char::is_lowercase)
                && !shy_separated(next)
        });
        if word.ends_with(SHY) && continues {
            out.push(SHY);
        }
    }
    Some(out)
}

/// `text` with ligatures repaired; borrowed when nothing changed.
fn ligatures(text: &str) -> Cow<'_, str> {
    let has_char = text.chars().any(|c| ligature(c).is_some());
    let has_split = ["fi ", "fl ", "ff "].iter().any(|p| text.contains(p));
    if !has_char && !has_split {
        return Cow::Borrowed(text);
    }
    let text: Cow<'_, str> = if has_char {
        let mut s = String::with_capacity(text.len());
        for c in text.chars() {
            match ligature(c) {
                Some(l) => s.push_str(l),
                None => s.push(c),
            }
        }
        Cow::Owned(s)
    } else {
        Cow::Borrowed(text)
    };
    if !has_split {
        return text;
    }
    // Spaces to drop: the byte ranges between a split word's halves.
    let bytes = text.as_bytes();
    let mut drop: Vec<(usize, usize)> = Vec::new();
    let mut lone = 0;
    let mut from = 0;
    while let Some(i) = text[from..].find(' ').map(|i| from + i) {
        from = i + 1;
        if i < 2 || !matches!(&bytes[i - 2..i], b"fi" | b"fl" | b"ff") {
            continue;
        }
        // The word before the space (ASCII letters; a non-letter before it ends it).
        let start = bytes[..i]
            .iter()
            .rposition(|b| !b.is_ascii_alphabetic())
            .map_or(0, |p| p + 1);
        // A word joined by a hyphen ("hi-fi") is a word of its own.
        if start > 0 && bytes[start - 1] == b'-' {
            continue;
        }
        // Converters leave one space in the split, or two ("effi  ciency").
        let next = if bytes.get(i + 1) == Some(&b' ') {
            i + 2
        } else {
            i + 1
        };
        from = next;
        let end = bytes[next..]
            .iter()
            .position(|b| !b.is_ascii_alphabetic())
            .map_or(bytes.len(), |p| next + p);
        let before = text[start..i].to_ascii_lowercase();
        if joins(&before, &text[next..end]) {
            drop.push((i, next));
            lone += usize::from(before == "fi" || before == "fl");
        }
    }
    if lone < MIN_SPLITS {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, next) in drop {
        out.push_str(&text[last..i]);
        last = next;
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_left_by_pdf_ligatures_are_joined() {
        let cases = [
            (
                "The main key fi gures for 2013 will be revised in the fi rst half of 2014.",
                "The main key figures for 2013 will be revised in the first half of 2014.",
            ),
            (
                "An audit by the auditing fi rm PwC, specifi c to fi ve fi elds.",
                "An audit by the auditing firm PwC, specific to five fields.",
            ),
            (
                "A diff erent eff ect, fl exible off ers and profi t in fi ve years.",
                "A different effect, flexible offers and profit in five years.",
            ),
            // Two spaces in the split, as some converters write it.
            (
                "Energy effi  ciency class B, the fi  rst of fi ve.",
                "Energy efficiency class B, the first of five.",
            ),
            ("Scientiﬁc ﬂow", "Scientific flow"),
            // A split text, but a common word after a name ending in "ff" is a word of its own.
            (
                "The fi rst and fi ve: Fornoff and Ossoff said.",
                "The first and five: Fornoff and Ossoff said.",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(repair(input), want, "{input}");
            assert_eq!(repair(want), want, "repairing twice changes nothing");
        }
    }

    #[test]
    fn soft_hyphens_go_and_the_breaks_after_them_are_joined() {
        let cases = [
            (
                "I n 2022, Ducati was able to celebrate its best sport\u{ad} ing year.",
                "I n 2022, Ducati was able to celebrate its best sporting year.",
            ),
            (
                "busi\u{ad}\nness and prod\u{ad}  ucts",
                "business and products",
            ),
            ("trigen\u{ad}eration plants", "trigeneration plants"),
            // Not a word's rest: a capital, a blank line, a number, or no letter before it.
            ("Volks\u{ad} Wagen", "Volks Wagen"),
            ("end\u{ad}\n\nnext paragraph", "end\n\nnext paragraph"),
            ("page\u{ad} 12", "page 12"),
            ("\u{ad} and", " and"),
            ("\u{ad}", ""),
            // Soft hyphens standing for spaces (Audi 2020), beside a word's own break points.
            (
                "53.4 % of\u{ad}the\u{ad}ideas\u{ad}submitted\u{ad}in\u{ad} 2020\u{ad}were\u{ad}implemented.\u{ad} (2019)",
                "53.4 % of the ideas submitted in 2020 were implemented. (2019)",
            ),
            ("as\u{ad}a\u{ad}result.\u{ad}", "as a result."),
            (
                "94.5 EUR m\nsavings\u{ad}were\u{ad}achieved\u{ad}  \nas\u{ad}a\u{ad}result.\u{ad}  \n(2019)",
                "94.5 EUR m\nsavings were achieved  \nas a result.  \n(2019)",
            ),
            ("of\u{ad}the\u{ad}manage\u{ad} ment", "of the management"),
            (
                "in\u{ad}vest\u{ad}ment and as\u{ad}sess\u{ad}ment",
                "investment and assessment",
            ),
            (
                "an\u{ad}nounce\u{ad}ment, at\u{ad}tach\u{ad}ment",
                "announcement, attachment",
            ),
            ("with\u{ad}hold\u{ad}ings", "withholdings"),
            ("in\u{ad}for\u{ad}ma\u{ad}tion", "information"),
            ("respon\u{ad}si\u{ad}bil\u{ad}ity", "responsibility"),
            ("\u{ad}sup\u{ad}pliers", "suppliers"),
            ("M\u{fc}nchs\u{ad}m\u{fc}ns\u{ad}", "M\u{fc}nchsm\u{fc}ns"),
            ("Emissions\u{ad}handel\u{ad}system", "Emissionshandelsystem"),
        ];
        for (input, want) in cases {
            assert_eq!(repair(input), want, "{input:?}");
            assert_eq!(repair(want), want, "repairing twice changes nothing");
        }
        assert!(matches!(repair("no soft hyphen here"), Cow::Borrowed(_)));
    }

    #[test]
    fn words_that_end_in_ff_or_fi_stay_apart() {
        for text in [
            "He turned off the light and the staff members left.",
            "Guest wifi access, a hi-fi system and the cliff edge.",
            "Tariff rates rose; the plaintiff appealed.",
            "Off Road and Fi Nance",
            // News: names and words in ff or fi, with no split "fi" anywhere.
            "Schiff said the leadoff hitter from Flagstaff and Sanofi said so.",
            // One lone "fi" is not enough to tell a split text.
            "A diff erent fi le",
            "fi",
            "off",
        ] {
            let fixed = repair(text);
            assert!(matches!(fixed, Cow::Borrowed(_)), "{text} -> {fixed}");
        }
    }
}
