//! Tokeniser: splits text into numbers, words and punctuation with byte offsets.
//!
//! Whitespace (including non-breaking and other Unicode spaces) is dropped but remembered
//! as `spaced` on the following token, so the grammar can require `2024-07-15` to be written
//! without gaps. Offsets always fall on `char` boundaries: non-ASCII characters are consumed
//! whole, and alphanumeric runs containing them become [`Lex::Other`] words.

use super::lexicon::{Lex, classify, digits_value};

/// Punctuation the grammar distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Punct {
    /// `-` and the Unicode hyphens (U+2010, U+2011) and minus sign.
    Hyphen,
    /// En dash, em dash and the other long dashes.
    LongDash,
    Slash,
    Dot,
    Comma,
    /// `'` and the typographic apostrophes (`’`, `‘`, `′`).
    Apostrophe,
    Colon,
    Percent,
    /// `$`, `€`, `£`, `¥`, `₹`.
    Currency,
    /// `#`, `§`, `№`: a number follows.
    Numbering,
    Ampersand,
    Other,
}

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A run of ASCII digits: its value (saturating) and number of digits (capped at 255).
    Num {
        value: u32,
        len: u8,
    },
    Word(Lex),
    Punct(Punct),
}

/// One token: `text[start..end]`, with whether whitespace came right before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Token {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
    pub spaced: bool,
}

/// Appends the tokens of `text` to `out`.
pub(super) fn tokenize(text: &str, out: &mut Vec<Token>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut spaced = true;
    while i < bytes.len() {
        let b = bytes[i];
        let (width, kind) = if b.is_ascii() {
            if b.is_ascii_whitespace() {
                spaced = true;
                i += 1;
                continue;
            }
            if b.is_ascii_alphanumeric() {
                i = word(text, i, spaced, out);
                spaced = false;
                continue;
            }
            (1, ascii_punct(b))
        } else {
            let Some(c) = text[i..].chars().next() else {
                break;
            };
            if c.is_whitespace() {
                spaced = true;
                i += c.len_utf8();
                continue;
            }
            if c.is_alphanumeric() {
                i = word(text, i, spaced, out);
                spaced = false;
                continue;
            }
            (c.len_utf8(), unicode_punct(c))
        };
        out.push(Token {
            start: i,
            end: i + width,
            kind: Kind::Punct(kind),
            spaced,
        });
        spaced = false;
        i += width;
    }
}

/// Consumes one alphanumeric run starting at `start`; returns where it ends.
fn word(text: &str, start: usize, spaced: bool, out: &mut Vec<Token>) -> usize {
    let bytes = text.as_bytes();
    let mut j = start;
    let mut ascii = true;
    let mut all_digits = true;
    while j < bytes.len() {
        let b = bytes[j];
        if b.is_ascii_alphanumeric() {
            all_digits &= b.is_ascii_digit();
            j += 1;
        } else if !b.is_ascii() {
            match text[j..].chars().next() {
                Some(c) if c.is_alphanumeric() => {
                    ascii = false;
                    all_digits = false;
                    j += c.len_utf8();
                }
                _ => break,
            }
        } else {
            break;
        }
    }
    let run = &bytes[start..j];
    let kind = if all_digits {
        Kind::Num {
            value: digits_value(run),
            len: u8::try_from(run.len()).unwrap_or(u8::MAX),
        }
    } else if ascii {
        Kind::Word(classify(run))
    } else {
        Kind::Word(Lex::Other)
    };
    out.push(Token {
        start,
        end: j,
        kind,
        spaced,
    });
    j
}

fn ascii_punct(b: u8) -> Punct {
    match b {
        b'-' => Punct::Hyphen,
        b'/' => Punct::Slash,
        b'.' => Punct::Dot,
        b',' => Punct::Comma,
        b'\'' | b'`' => Punct::Apostrophe,
        b':' => Punct::Colon,
        b'%' => Punct::Percent,
        b'$' => Punct::Currency,
        b'#' => Punct::Numbering,
        b'&' => Punct::Ampersand,
        _ => Punct::Other,
    }
}

fn unicode_punct(c: char) -> Punct {
    match c {
        '\u{2010}' | '\u{2011}' | '\u{2212}' => Punct::Hyphen,
        '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}' | '\u{FE58}' | '\u{FE63}' => {
            Punct::LongDash
        }
        '\u{2018}' | '\u{2019}' | '\u{2032}' => Punct::Apostrophe,
        '\u{2030}' => Punct::Percent,
        '€' | '£' | '¥' | '₹' | '₩' | '₽' => Punct::Currency,
        '§' | '№' => Punct::Numbering,
        _ => Punct::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(String, bool)> {
        let mut toks = Vec::new();
        tokenize(text, &mut toks);
        toks.iter()
            .map(|t| (text[t.start..t.end].to_string(), t.spaced))
            .collect()
    }

    #[test]
    fn splits_words_numbers_and_punctuation() {
        let toks = kinds("Q3'23, 2024-07-15\u{a0}and\u{2013}2025 café");
        let texts: Vec<&str> = toks.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Q3", "'", "23", ",", "2024", "-", "07", "-", "15", "and", "\u{2013}", "2025",
                "café"
            ]
        );
        assert!(toks[0].1 && !toks[1].1 && !toks[2].1 && toks[4].1 && toks[9].1 && !toks[10].1);
    }

    #[test]
    fn classifies_numbers_and_dashes() {
        let mut toks = Vec::new();
        tokenize("007 99999999999 \u{2014} \u{2011}", &mut toks);
        assert_eq!(toks[0].kind, Kind::Num { value: 7, len: 3 });
        assert_eq!(
            toks[1].kind,
            Kind::Num {
                value: u32::MAX,
                len: 11
            }
        );
        assert_eq!(toks[2].kind, Kind::Punct(Punct::LongDash));
        assert_eq!(toks[3].kind, Kind::Punct(Punct::Hyphen));
    }
}
