//! The normaliser: finds English time expressions in text and says what they denote.
//!
//! [`find_times`] scans a text left to right and returns every time expression it finds as a
//! [`TimeSpan`] (longest match wins, spans never overlap); [`parse_time`] parses a string that
//! must be exactly one expression, for API and CLI parameters.
//!
//! # How it works
//! The text is tokenised once (numbers, words and punctuation with byte offsets; whitespace,
//! including non-breaking spaces, only separates) and every word is classified against a
//! fixed vocabulary without allocating. At each token a small hand-written grammar tries the
//! point rules (dates, months, quarters, halves, weeks, years, relative and vague words) and
//! the range and operator rules, keeping the longest match. A match that names an impossible
//! time (`2023-02-30`, `Q5 2023`, `from 2020 to 2018`) is consumed without a span, so no
//! fragment of it is reported either; [`parse_time`] returns its error instead.
//!
//! # What expressions mean
//! * **Fiscal years are calendar years**: `FY2023`, `fiscal 2023`, `Q3 FY2023` denote calendar
//!   2023 and its third calendar quarter. Two-digit years (`FY23`, `Q3'23`, `1H24`) are
//!   2000–2069 for 00–69 and 1970–1999 for 70–99.
//! * **Bare years** (`2019`) are only taken between 1900 and 2100 and only with a cue: a word
//!   before them (`in`, `during`, `since`, `of`, `for`, `by`, `across`…, also past `both` or
//!   `either`: `in both 2021 and 2022`), a possessive (`Audi's 2023 deliveries`), a modifier
//!   (`early`, `the end of`, `the year`), a word after them (`2019 was`, `2030 targets`,
//!   `2019's`), or in a list of years whose first item has a cue (`in 2018, 2019, and 2020`)
//!   or whose last one has a word after it (`its 2017, 2021 and 2023 annual reports`). A
//!   range with `between` names its ends in either order. Numbers glued to digits (`2,019`,
//!   `2019.5`), after `page`, `section`, `No.`, a currency sign or another number, or before a
//!   unit (`2019 tonnes`, `of 2019 employees`, `2019%`) are quantities unless a strong cue
//!   (`in`, `during`, `since`…) precedes them. [`parse_time`] takes a lone `2019` as a year.
//! * **Halves** (`H1 2024`) denote their six months, with granularity quarter and no key;
//!   decades (`the 1990s`) their ten years, with granularity year and no key.
//! * **Modifiers do not narrow**: `early 2020`, `the end of 2019`, `mid-July 2024` denote the
//!   whole year or month (the span text keeps the modifier).
//! * **Periods ending on a day**: `the year ended 31 December 2019` is the year 2019;
//!   `the fiscal year ended June 30, 2023` is 2022-07-01..2023-07-01 (granularity year, no key).
//! * **Ranges** (`Between`, no key): the interval is the hull of both ends, the granularity
//!   the coarser of theirs. A range whose second end starts before its first is rejected.
//!   An end without a year takes the other end's (`between May and July 2022`,
//!   `Q1–Q3 2023`), moving a year back or forward if needed (`from November to February
//!   2023` starts in November 2022). `2019/20` and `2019-20` are the years 2019–2020; but
//!   `2011-12` (hyphen, second part ≤ 12) is the ISO month December 2011.
//! * **Lists share a year**: in `Q1 and Q2 2024` and `May, June and July 2023` every item
//!   gets the year of the last one.
//! * **Open-ended expressions**; the anchor is the time after the words and becomes the key:
//!
//!   | words                                                          | relation | interval            |
//!   |----------------------------------------------------------------|----------|---------------------|
//!   | since, from … onwards, … onwards, … and beyond, starting (in), beginning in, as from, effective, on or after | `After` | `[anchor start, ∞)` |
//!   | after, post-, later than                                       | `After`  | `[anchor end, ∞)`   |
//!   | before, prior to, pre-, earlier than                           | `Before` | `(∞, anchor start)` |
//!   | until, till, through, up to, up until, by, no later than, on or before | `Before` | `(∞, anchor end)` |
//!   | as of, as at                                                   | `At`     | the anchor          |
//!
//!   `until 2019` is read inclusively (up to the end of 2019), like `by` and `through`.
//! * **Relative expressions** (kind `Relative`) come in two sorts. *Deictic* ones point from
//!   the reference: `last`/`past`, `this`/`current`, `next`/`coming` + `year`, `quarter`,
//!   `month`, `week`, `fiscal year`, `period`; `N units ago`; `today`, `yesterday`,
//!   `tomorrow`; `the same quarter last year`; `this time last year`; `the last three years`,
//!   `the past 12 months`, `(over) the last year` (**rolling**: the span that ends with the
//!   reference's last day, `Between`; so with a reference of 2024-06-30 "the last year" is
//!   2023-07-01..2024-07-01, while "last year" is the calendar year 2023); `the next two
//!   quarters` (the whole units after the current one, `Between`). *Anaphoric* ones point from the most recent explicit `At` time
//!   earlier in the same text, else from the reference: `the previous`/`prior`/`preceding`/
//!   `following` + unit, `a year earlier`, `three months later`, `the year-ago quarter`,
//!   `the prior-year period`, and parts without a year (`Q3`, `the fourth quarter`, `H2`).
//!   So "Revenue in Q3 2024 rose; a year earlier it was lower" gives 2023-Q3 for "a year
//!   earlier" even without a reference. Shifts keep the anchor's granularity when it is finer
//!   (`a year earlier` than Q3 2024 is Q3 2023) or moved by whole units (`three months later`
//!   than Q3 2024 is Q4 2024).
//! * When the unit is finer than the reference, "now" is the reference's **last day**, as for
//!   a report written at the end of the period it covers: in a document dated 2024-Q3 "this
//!   month" is September 2024, "last month" August, "next week" the week after the one
//!   containing 30 September. Anaphora step back from the start of their anchor and forward
//!   from its end ("the previous month" after "Q3 2024" is June 2024). `today`, `yesterday`
//!   and `tomorrow` move by days only with a day reference; with a coarser one they denote
//!   the reference itself.
//! * **Vague expressions** (kind `Vague`) need the reference and denote it (`At`, its key):
//!   `now`, `right now`, `currently`, `presently`, `nowadays`, `at present`, `at the moment`,
//!   `these days`, `to date`, `so far`, `the latest`. `recently`, `lately` and `of late` are
//!   the 90 days before the reference's end (granularity month, no key); `year to date` / `YTD`
//!   runs from the start of the reference's year to its end (no key).
//! * Not times: `year-over-year`, `quarter-on-quarter`, `up to date`, `at the latest`, `so far
//!   as`, `the last day of`.
//! * Not understood (left alone): slashed day/month dates (`15/07/2024`, `07/15/2024`:
//!   ambiguous), compact dates (`20240715`), months and days without a year outside ranges
//!   and lists (`in July`, `on 15 July`), times of day, seasons other than as modifiers,
//!   non-English text.

mod context;
mod dates;
mod lexer;
mod lexicon;
mod operators;
mod points;
mod ranges;
mod relative;
mod unit;

use serde::{Deserialize, Serialize};

use self::context::{Cx, Denot, better};
use self::lexer::{Kind, Token, tokenize};
use self::lexicon::{Kw, Lex};
use super::{Granularity, Interval, TimeError, TimeKey};

/// How a span's interval relates to the expression's anchor time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Relation {
    /// The expression names its interval: "Q3 2023", "as of 31 December 2019".
    At,
    /// Everything before the anchor (interval unbounded at the start): "before 2019", "by 2025".
    Before,
    /// Everything from the anchor on (interval unbounded at the end): "since 2020", "after Q1 2024".
    After,
    /// A range between two times: "from 2018 to 2020", "the last three years".
    Between,
}

/// How the expression gets its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    /// Fully specified by its own words: "July 15, 2024", "Q3 FY2023".
    Explicit,
    /// Resolved against the reference or an earlier time: "last quarter", "a year earlier".
    Relative,
    /// Loosely "now": "currently", "recently", "to date".
    Vague,
}

/// One time expression found in a text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeSpan {
    /// Byte offset of the first character of the expression (on a char boundary).
    pub start: usize,
    /// Byte offset just past the expression (on a char boundary).
    pub end: usize,
    /// The matched text, `&input[start..end]`.
    pub text: String,
    /// What the expression denotes, according to `relation`.
    pub interval: Interval,
    /// The granularity of the expression (for a range, the coarser of its ends).
    pub granularity: Granularity,
    /// How `interval` relates to the expression's anchor.
    pub relation: Relation,
    /// Explicit, relative or vague.
    pub kind: SpanKind,
    /// The calendar unit when the expression names exactly one (`At`), the anchor unit for
    /// `Before`/`After` (2019 for "before 2019"), `None` for ranges, halves and windows.
    pub key: Option<TimeKey>,
}

/// What the scanner made of one stretch of tokens.
enum Outcome {
    /// A time expression.
    Span(Denot),
    /// Something that looks like a time but is not one, with the reason.
    Problem(TimeError),
    /// Words that contain time words but are not times ("year-over-year").
    Skip,
}

/// One result of a scan, over tokens `start..end`.
struct Found {
    start: usize,
    end: usize,
    outcome: Outcome,
}

/// Finds every time expression in `text`, left to right, non-overlapping (longest match wins).
/// `reference` is the document's own time (e.g. the quarter of an earnings call) or "now";
/// relative and vague expressions are resolved against it and are skipped when it is `None`
/// (anaphora such as "a year earlier" still resolve against an earlier explicit time).
pub fn find_times(text: &str, reference: Option<&TimeKey>) -> Vec<TimeSpan> {
    // Without a reference every expression needs a digit somewhere.
    if reference.is_none() && !text.bytes().any(|b| b.is_ascii_digit()) {
        return Vec::new();
    }
    let (toks, found) = scan(text, reference, false);
    found
        .into_iter()
        .filter_map(|f| match f.outcome {
            Outcome::Span(d) => Some(make_span(text, &toks, f.start, f.end, d, 0)),
            Outcome::Problem(_) | Outcome::Skip => None,
        })
        .collect()
}

/// Parses a string that must be exactly one time expression (API/CLI parameters such as
/// `"Q3 2023"`, `"2024-07"`, `"last quarter"`, `"2018-2020"`), ignoring surrounding whitespace.
/// A lone number such as `"2019"` is a year, a leading `in`, `during`, `for`, `on`, `at` or
/// `throughout` is allowed, and so is the interval form `"2024-07-01..2024-10-01"`.
/// Span offsets refer to `expr`.
pub fn parse_time(expr: &str, reference: Option<&TimeKey>) -> Result<TimeSpan, TimeError> {
    check_length(expr)?;
    let text = expr.trim();
    let offset = expr.len() - expr.trim_start().len();
    if text.is_empty() {
        return Err(TimeError::Unrecognised(
            "an empty string is not a time expression".into(),
        ));
    }
    if text.contains("..") {
        return interval_span(text, offset);
    }
    let (toks, found) = scan(text, reference, true);
    // A leading preposition is allowed: "in 2019", "during Q3 2023".
    let lead = match toks.first().map(|t| t.kind) {
        Some(Kind::Word(Lex::Kw(
            Kw::In | Kw::During | Kw::For | Kw::On | Kw::At | Kw::Throughout,
        ))) => 1,
        _ => 0,
    };
    if let [f] = found.as_slice()
        && (f.start == 0 || f.start == lead)
        && f.end == toks.len()
    {
        match &f.outcome {
            Outcome::Span(d) => return Ok(make_span(text, &toks, f.start, f.end, *d, offset)),
            Outcome::Problem(e) => return Err(e.clone()),
            Outcome::Skip => {}
        }
    }
    // A problem explains more than "not recognised": "Q5 2023", "from 2020 to 2018".
    if let Some(e) = found.iter().find_map(|f| match &f.outcome {
        Outcome::Problem(e) => Some(e.clone()),
        _ => None,
    }) {
        return Err(e);
    }
    let understood: Vec<String> = found
        .iter()
        .filter(|f| matches!(f.outcome, Outcome::Span(_)))
        .map(|f| format!("\"{}\"", &text[toks[f.start].start..toks[f.end - 1].end]))
        .collect();
    Err(TimeError::Unrecognised(if understood.is_empty() {
        format!(
            "\"{text}\" is not a time expression I understand (try e.g. 2024-07-15, \
             July 15, 2024, Q3 2023, FY2023, March 2021, 2018–2020 or last quarter)"
        )
    } else {
        format!(
            "\"{text}\" is not a single time expression (understood only {})",
            understood.join(" and ")
        )
    }))
}

/// Longest time expression [`parse_time`] and [`TimeKey::parse`] accept, in bytes. The longest
/// expression the grammar knows ("the fiscal year ended September 30, 2023 through …") is far
/// shorter; a parameter longer than this is a mistake or an attack, and is refused before any
/// work is done (a 60 MB `now` once cost gigabytes of memory).
pub const MAX_EXPRESSION_BYTES: usize = 256;

/// Refuses over-long time parameters without echoing them.
pub(crate) fn check_length(expr: &str) -> Result<(), TimeError> {
    if expr.len() > MAX_EXPRESSION_BYTES {
        let mut cut = 40.min(expr.len());
        while !expr.is_char_boundary(cut) {
            cut -= 1;
        }
        return Err(TimeError::Invalid(format!(
            "a time expression may be at most {MAX_EXPRESSION_BYTES} bytes; got {} bytes \
             starting \"{}…\"",
            expr.len(),
            expr[..cut].escape_debug()
        )));
    }
    Ok(())
}

/// `START..END` given to [`parse_time`].
fn interval_span(text: &str, offset: usize) -> Result<TimeSpan, TimeError> {
    let interval: Interval = text.parse()?;
    let relation = match (interval.start, interval.end) {
        (Some(_), Some(_)) => Relation::Between,
        (None, Some(_)) => Relation::Before,
        (Some(_), None) => Relation::After,
        (None, None) => {
            return Err(TimeError::Unrecognised(format!(
                "\"{text}\" is all of time, not a time expression"
            )));
        }
    };
    Ok(TimeSpan {
        start: offset,
        end: offset + text.len(),
        text: text.to_string(),
        interval,
        granularity: TimeKey::from_interval(&interval)
            .map_or(Granularity::Day, |k| k.granularity()),
        relation,
        kind: SpanKind::Explicit,
        key: None,
    })
}

fn make_span(
    text: &str,
    toks: &[Token],
    start: usize,
    end: usize,
    d: Denot,
    offset: usize,
) -> TimeSpan {
    let (s, e) = (toks[start].start, toks[end - 1].end);
    TimeSpan {
        start: offset + s,
        end: offset + e,
        text: text[s..e].to_string(),
        interval: d.interval,
        granularity: d.granularity,
        relation: d.relation,
        kind: d.kind,
        key: d.key,
    }
}

/// Tokenises `text` and collects every expression, carrying the anaphora anchor along.
fn scan(text: &str, reference: Option<&TimeKey>, standalone: bool) -> (Vec<Token>, Vec<Found>) {
    let mut toks = Vec::with_capacity(text.len() / 4 + 1);
    tokenize(text, &mut toks);
    let mut found = Vec::new();
    let mut cx = Cx {
        text,
        toks: &toks,
        reference: reference.copied(),
        standalone,
        anchor: None,
        last_year_end: None,
    };
    let mut i = 0;
    while i < toks.len() {
        match cx.expression(i) {
            Some((end, outcome)) if end > i => {
                let outcome = supported(text, &toks, i, end, outcome);
                if let Outcome::Span(d) = &outcome {
                    if d.anchor.is_some() {
                        cx.anchor = d.anchor;
                    }
                    if d.relation == Relation::At
                        && d.kind == SpanKind::Explicit
                        && d.granularity == Granularity::Year
                    {
                        cx.last_year_end = Some(end);
                    }
                }
                found.push(Found {
                    start: i,
                    end,
                    outcome,
                });
                i = end;
            }
            _ => i += 1,
        }
    }
    (toks, found)
}

/// An expression whose time falls outside the supported years 1000–9999 ("three months
/// later" in a document dated 9999-12-31, "5000 years ago") is a problem, not a span: its key
/// could not be stored and read back.
fn supported(text: &str, toks: &[Token], start: usize, end: usize, outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Span(d)
            if !d.interval.is_supported() || d.key.is_some_and(|k| !k.is_supported()) =>
        {
            Outcome::Problem(TimeError::Invalid(format!(
                "\"{}\" falls outside the supported years {}–{}",
                &text[toks[start].start..toks[end - 1].end],
                super::key::MIN_YEAR,
                super::key::MAX_YEAR
            )))
        }
        other => other,
    }
}

impl Cx<'_> {
    /// The longest expression starting at token `i`.
    fn expression(&self, i: usize) -> Option<(usize, Outcome)> {
        if !self.can_start(i) {
            return None;
        }
        if let Some(end) = self.not_a_time(i) {
            return Some((end, Outcome::Skip));
        }
        let point = self.point(i, self.cue_before(i)).map(|(e, r)| match r {
            Ok(p) => match self.onwards(e) {
                Some(after) => (after, Ok(Denot::with_op(p, context::Op::AfterStart))),
                None => (e, Ok(Denot::with_op(p, context::Op::At))),
            },
            Err(err) => (e, Err(err)),
        });
        let best = better(better(self.range(i), self.operator(i)), point);
        best.map(|(e, r)| {
            let outcome = match r {
                Ok(d) => Outcome::Span(d),
                Err(err) => Outcome::Problem(err),
            };
            (e, outcome)
        })
    }

    /// Cheap filter: can any rule start at token `i`?
    fn can_start(&self, i: usize) -> bool {
        use Kw::*;
        match self.toks[i].kind {
            Kind::Num { .. } => true,
            Kind::Punct(_) => false,
            Kind::Word(lex) => match lex {
                Lex::Other | Lex::AfterCue | Lex::Quantity | Lex::NumContext | Lex::PossessiveS => {
                    false
                }
                Lex::Kw(k) => !matches!(
                    k,
                    In | During
                        | For
                        | Throughout
                        | With
                        | Than
                        | Vs
                        | Over
                        | And
                        | Or
                        | Circa
                        | Within
                        | Ago
                        | Back
                        | Beyond
                        | Far
                        | Date
                        | Moment
                        | Time
                        | Ended
                        | Onwards
                        | Present
                ),
                _ => true,
            },
        }
    }

    /// "year-over-year", "quarter-on-quarter", "month over month": not times.
    fn not_a_time(&self, i: usize) -> Option<usize> {
        let Some(Lex::Unit(g, false)) = self.lex(i) else {
            return None;
        };
        let j = self.opt_hyphen(i + 1);
        if !self.kw(j, Kw::Over) && !self.kw(j, Kw::On) {
            return None;
        }
        let k = self.opt_hyphen(j + 1);
        (self.lex(k) == Some(Lex::Unit(g, false))).then_some(k + 1)
    }
}

#[cfg(test)]
mod tests;
