//! Sentence segmentation for English prose (and the Markdown it often comes in). Fast and
//! allocation-free: it yields byte ranges. Abbreviations ("Inc.", "e.g.", "U.S."), decimal
//! numbers ("1.845") and initials do not end a sentence; headings, list items and blank lines do.

/// Words after which a period never ends a sentence (lower case, without the period).
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "st", "vs", "eg", "ie", "e.g", "i.e", "approx", "no", "nos",
    "fig", "figs", "p", "pp", "vol", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec", "u.s", "u.k", "e.u", "ca", "cf", "dept", "gen",
];

/// Abbreviations that end a sentence when the next word is capitalised ("… Acme Corp. The
/// company …") but not otherwise ("Crocs, Inc. reported …").
const SOFT_ABBREVIATIONS: &[&str] = &[
    "inc", "ltd", "co", "corp", "plc", "etc", "al", "sr", "jr", "est", "min", "max", "mio", "bn",
    "mn",
];

/// Splits `text` into sentences; returns trimmed byte ranges `(start, end)`.
pub fn split(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let boundary_end = if c == b'\n' {
            // A blank line, or a line that starts a heading / list item, ends the sentence.
            let mut j = i + 1;
            while j < b.len() && (b[j] == b' ' || b[j] == b'\t' || b[j] == b'\r') {
                j += 1;
            }
            let next = b.get(j).copied();
            let heading = text[start..i].trim_start().starts_with('#');
            let ends = heading
                || matches!(next, None | Some(b'\n' | b'#' | b'-' | b'*' | b'|' | b'>'))
                || (next.is_some_and(|n| n.is_ascii_digit())
                    && b.get(j + 1).is_some_and(|&n| n == b'.' || n == b')'));
            ends.then_some(i)
        } else if matches!(c, b'.' | b'!' | b'?') {
            let next = b.get(i + 1).copied();
            let mut k = i + 1;
            // Closing quotes / brackets belong to the sentence.
            while k < b.len() && matches!(b[k], b'"' | b'\'' | b')' | b']') {
                k += 1;
            }
            let followed_by_space = k >= b.len() || b[k].is_ascii_whitespace();
            if !followed_by_space
                || (c == b'.' && next.is_some_and(|n| n.is_ascii_digit()))
                || (c == b'.' && is_abbreviation(text, start, i, ABBREVIATIONS))
                || (c == b'.'
                    && is_abbreviation(text, start, i, SOFT_ABBREVIATIONS)
                    && !next_word_capitalised(text, k))
            {
                None
            } else {
                // The next word should look like a sentence start.
                let mut j = k;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                match b.get(j) {
                    None => Some(k),
                    Some(&n) if n.is_ascii_lowercase() => None,
                    Some(_) => Some(k),
                }
            }
        } else {
            None
        };
        if let Some(end) = boundary_end {
            push_trimmed(text, start, end, &mut out);
            start = end;
            i = end.max(i + 1);
            continue;
        }
        i += 1;
    }
    push_trimmed(text, start, b.len(), &mut out);
    out
}

fn push_trimmed(text: &str, start: usize, end: usize, out: &mut Vec<(usize, usize)>) {
    let s = &text[start..end];
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    if lead + trail < s.len() {
        out.push((start + lead, end - trail));
    }
}

fn next_word_capitalised(text: &str, from: usize) -> bool {
    text[from..]
        .trim_start()
        .chars()
        .next()
        .is_some_and(|c| c.is_uppercase())
}

/// Whether the word ending at the period at `dot` is in `list` or is an initial.
fn is_abbreviation(text: &str, sentence_start: usize, dot: usize, list: &[&str]) -> bool {
    let before = &text[sentence_start..dot];
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(' || c == '"')
        .next()
        .unwrap_or("");
    if word.is_empty() {
        return false;
    }
    // Single letters (initials, "U.S." parts).
    if list == ABBREVIATIONS && word.chars().count() == 1 && word.chars().all(|c| c.is_alphabetic())
    {
        return true;
    }
    let lower = word.to_ascii_lowercase();
    list.contains(&lower.as_str())
}

#[cfg(test)]
mod tests {
    use super::split;

    fn check(text: &str, want: &[&str]) {
        let got: Vec<&str> = split(text).into_iter().map(|(s, e)| &text[s..e]).collect();
        assert_eq!(got, want, "{text:?}");
    }

    #[test]
    fn splits_prose() {
        check(
            "In 2019, Audi delivered 1.845 million cars. Revenue rose 3%! Was it enough? Yes.",
            &[
                "In 2019, Audi delivered 1.845 million cars.",
                "Revenue rose 3%!",
                "Was it enough?",
                "Yes.",
            ],
        );
    }

    #[test]
    fn keeps_abbreviations_and_initials() {
        check(
            "Crocs, Inc. reported results. Mr. J. Smith, e.g. the CEO, spoke in the U.S. market. Done.",
            &[
                "Crocs, Inc. reported results.",
                "Mr. J. Smith, e.g. the CEO, spoke in the U.S. market.",
                "Done.",
            ],
        );
    }

    #[test]
    fn corporate_suffixes_end_sentences_before_a_capitalised_word() {
        check(
            "Zebra visited Acme Corp. Zebra left. Crocs, Inc. reported results.",
            &[
                "Zebra visited Acme Corp.",
                "Zebra left.",
                "Crocs, Inc. reported results.",
            ],
        );
    }

    #[test]
    fn headings_lists_and_blank_lines_end_sentences() {
        check(
            "# Title\nFirst line\ncontinues here\n\nSecond para\n- item one\n- item two\n1. numbered",
            &[
                "# Title",
                "First line\ncontinues here",
                "Second para",
                "- item one",
                "- item two",
                "1. numbered",
            ],
        );
    }

    #[test]
    fn quotes_and_brackets_stay_with_the_sentence() {
        check(
            "He said \"go.\" Then left. (See above.) End",
            &["He said \"go.\"", "Then left.", "(See above.)", "End"],
        );
    }

    #[test]
    fn never_panics_on_multibyte_text() {
        let t = "Győr é. Ünter. “Quote.” ─ 日本語。 Ok.";
        let parts = split(t);
        assert!(!parts.is_empty());
        for (s, e) in parts {
            assert!(t.is_char_boundary(s) && t.is_char_boundary(e));
        }
    }
}
