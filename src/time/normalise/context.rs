//! The parsing context shared by the grammar rules: token access, the cues that decide
//! whether a bare number is a year, and the intermediate result types.

use super::lexer::{Kind, Punct, Token};
use super::lexicon::{Kw, Lex};
use super::unit::Unit;
use super::{Relation, SpanKind};
use crate::time::calendar::Problem;
use crate::time::{Granularity, Interval, TimeError, TimeKey};

/// A rule's result: `None` when the rule does not apply at all; otherwise the token index
/// just past the match, with the value or the reason the matched text is not a valid time.
pub(super) type Parsed<T> = Option<(usize, Result<T, TimeError>)>;

/// Keeps the longer of two matches; on equal length prefers a success, then the first.
pub(super) fn better<T>(a: Parsed<T>, b: Parsed<T>) -> Parsed<T> {
    match (&a, &b) {
        (None, _) => b,
        (_, None) => a,
        (Some((ea, ra)), Some((eb, rb))) => {
            if eb > ea || (eb == ea && ra.is_err() && rb.is_ok()) {
                b
            } else {
                a
            }
        }
    }
}

/// How strongly the words before a bare number say that it is a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Cue {
    /// No cue: only a following cue ("2019 was") can make it a year.
    None,
    /// "of 2019", "for 2019", "by 2019": a year unless a unit follows ("of 2019 employees").
    Weak,
    /// "in 2019", "during 2019", "since 2019": a year.
    Strong,
}

/// A parsed point expression.
#[derive(Debug, Clone, Copy)]
pub(super) struct Point {
    pub unit: Unit,
    pub kind: SpanKind,
    /// A bare four-digit year, accepted on context alone.
    pub bare: bool,
}

impl Point {
    pub fn explicit(unit: Unit) -> Self {
        Point {
            unit,
            kind: SpanKind::Explicit,
            bare: false,
        }
    }
}

/// How an operator turns a point into a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    /// "as of X": X itself.
    At,
    /// "since X", "from X onwards": from the start of X.
    AfterStart,
    /// "after X": from the end of X.
    AfterEnd,
    /// "before X": up to the start of X.
    BeforeStart,
    /// "until X", "by X": up to the end of X.
    BeforeEnd,
}

/// The value of a complete expression, ready to become a [`super::TimeSpan`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Denot {
    pub interval: Interval,
    pub granularity: Granularity,
    pub relation: Relation,
    pub kind: SpanKind,
    pub key: Option<TimeKey>,
    /// The unit that later anaphora may refer to (explicit single units only).
    pub anchor: Option<Unit>,
}

impl Denot {
    /// A point on its own, or under an operator.
    pub fn with_op(p: Point, op: Op) -> Denot {
        let iv = p.unit.interval();
        let (interval, relation) = match op {
            Op::At => (iv, p.unit.relation()),
            Op::AfterStart => (
                Interval {
                    start: iv.start,
                    end: None,
                },
                Relation::After,
            ),
            Op::AfterEnd => (
                Interval {
                    start: iv.end,
                    end: None,
                },
                Relation::After,
            ),
            Op::BeforeStart => (
                Interval {
                    start: None,
                    end: iv.start,
                },
                Relation::Before,
            ),
            Op::BeforeEnd => (
                Interval {
                    start: None,
                    end: iv.end,
                },
                Relation::Before,
            ),
        };
        let anchor =
            (op == Op::At && p.kind == SpanKind::Explicit && p.unit.is_anchor()).then_some(p.unit);
        Denot {
            interval,
            granularity: p.unit.granularity(),
            relation,
            kind: p.kind,
            key: p.unit.key(),
            anchor,
        }
    }

    /// The range from `a` to `b`, or `None` if it ends before it starts.
    pub fn between(a: &Point, b: &Point) -> Option<Denot> {
        let (ia, ib) = (a.unit.interval(), b.unit.interval());
        if ib.start < ia.start {
            return None;
        }
        Some(Denot {
            interval: ia.hull(&ib),
            granularity: a.unit.granularity().max(b.unit.granularity()),
            relation: Relation::Between,
            kind: vaguer(a.kind, b.kind),
            key: None,
            anchor: None,
        })
    }
}

/// The less certain of two kinds: vague over relative over explicit.
pub(super) fn vaguer(a: SpanKind, b: SpanKind) -> SpanKind {
    let rank = |k: SpanKind| match k {
        SpanKind::Explicit => 0,
        SpanKind::Relative => 1,
        SpanKind::Vague => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Token-level view of the text plus the state carried from left to right.
pub(super) struct Cx<'a> {
    pub text: &'a str,
    pub toks: &'a [Token],
    pub reference: Option<TimeKey>,
    /// Parsing a lone expression (`parse_time`): bare numbers are years without any cue.
    pub standalone: bool,
    /// The most recent explicit single unit, for "a year earlier" and friends.
    pub anchor: Option<Unit>,
    /// Token index just past the most recent explicit year, for lists ("in 2018 and 2019").
    pub last_year_end: Option<usize>,
}

impl<'a> Cx<'a> {
    /// Token `i`, if the text has that many.
    pub fn tok(&self, i: usize) -> Option<&Token> {
        self.toks.get(i)
    }

    /// The word class of token `i`, if it is a word.
    pub fn lex(&self, i: usize) -> Option<Lex> {
        match self.tok(i)?.kind {
            Kind::Word(l) => Some(l),
            _ => None,
        }
    }

    /// Token `i` is the keyword `k`.
    pub fn kw(&self, i: usize, k: Kw) -> bool {
        self.lex(i) == Some(Lex::Kw(k))
    }

    /// Position after an optional keyword at `i`.
    pub fn opt_kw(&self, i: usize, k: Kw) -> usize {
        if self.kw(i, k) { i + 1 } else { i }
    }

    /// The value of a number token with between `min` and `max` digits.
    pub fn num(&self, i: usize, min: u8, max: u8) -> Option<u32> {
        match self.tok(i)?.kind {
            Kind::Num { value, len } if (min..=max).contains(&len) => Some(value),
            _ => None,
        }
    }

    /// A four-digit number.
    pub fn num4(&self, i: usize) -> Option<i32> {
        self.num(i, 4, 4).map(|v| v as i32)
    }

    /// The punctuation of token `i`, if it is punctuation.
    pub fn punct(&self, i: usize) -> Option<Punct> {
        match self.tok(i)?.kind {
            Kind::Punct(p) => Some(p),
            _ => None,
        }
    }

    /// Token `i` is the punctuation `p`.
    pub fn is_punct(&self, i: usize, p: Punct) -> bool {
        self.punct(i) == Some(p)
    }

    /// Token `i` is a hyphen or a long dash.
    pub fn is_dash(&self, i: usize) -> bool {
        matches!(self.punct(i), Some(Punct::Hyphen | Punct::LongDash))
    }

    /// Position after an optional hyphen at `i`.
    pub fn opt_hyphen(&self, i: usize) -> usize {
        if self.is_punct(i, Punct::Hyphen) {
            i + 1
        } else {
            i
        }
    }

    /// Token `i` exists and follows the previous token without whitespace.
    pub fn tight(&self, i: usize) -> bool {
        self.tok(i).is_some_and(|t| !t.spaced)
    }

    /// Token `i` is the end of the text or punctuation (a clause boundary of sorts).
    pub fn clause_end(&self, i: usize) -> bool {
        self.tok(i).is_none_or(|t| matches!(t.kind, Kind::Punct(_)))
    }

    /// The text of tokens `i..j`.
    pub fn slice(&self, i: usize, j: usize) -> &'a str {
        match (
            self.toks.get(i),
            j.checked_sub(1).and_then(|l| self.toks.get(l)),
        ) {
            (Some(a), Some(b)) if b.end >= a.start => &self.text[a.start..b.end],
            _ => "",
        }
    }

    /// Turns a calendar problem into an error quoting tokens `i..j`.
    pub fn invalid<T>(&self, i: usize, j: usize, what: &str, r: Result<T, Problem>) -> Parsed<T> {
        Some((j, r.map_err(|p| p.describe(self.slice(i, j), what))))
    }

    /// Wraps a unit result into a parsed explicit point covering tokens `i..j`.
    pub fn explicit(
        &self,
        i: usize,
        j: usize,
        what: &str,
        r: Result<Unit, Problem>,
    ) -> Parsed<Point> {
        self.invalid(i, j, what, r.map(Point::explicit))
    }

    /// The cue given by the word before token `i`.
    /// "both" and "either" pass on the cue of the word before them (`in both 2021 and 2022`);
    /// a possessive is a weak cue (`Audi's 2023 deliveries`).
    pub fn cue_before(&self, i: usize) -> Cue {
        let Some(mut p) = i.checked_sub(1) else {
            return Cue::None;
        };
        // One "both" or "either" is passed over (not a run of them: no recursion, no loop).
        if matches!(self.lex(p), Some(Lex::Kw(Kw::Both | Kw::Either))) {
            let Some(q) = p.checked_sub(1) else {
                return Cue::None;
            };
            p = q;
        }
        if p >= 1
            && self.lex(p) == Some(Lex::PossessiveS)
            && self.tight(p)
            && self.is_punct(p - 1, Punct::Apostrophe)
            && self.tight(p - 1)
        {
            return Cue::Weak;
        }
        let Some(Lex::Kw(k)) = self.lex(p) else {
            return Cue::None;
        };
        use Kw::*;
        match k {
            In | During | Throughout | Since | Until | Through | Before | After | Circa
            | Within | Early | Late | Mid | Pre | Post | Fiscal | Calendar | Yearend | Season
            | End | Beginning | Start | Starting | Effective => Cue::Strong,
            Of | For | By | To | With | Than | Vs | On | At | Over | Across | From | Between => {
                Cue::Weak
            }
            _ => Cue::None,
        }
    }

    /// Token `i` (a number) is glued to other digits: `2,019`, `2019.5`, `14001:2015`.
    pub fn glued(&self, i: usize) -> bool {
        let joiner = |p: usize| {
            matches!(
                self.punct(p),
                Some(Punct::Comma | Punct::Dot | Punct::Colon)
            ) && self.tight(p)
        };
        let is_num = |p: usize| matches!(self.tok(p).map(|t| t.kind), Some(Kind::Num { .. }));
        let left = i >= 2 && joiner(i - 1) && is_num(i - 2) && self.tight(i);
        let right = joiner(i + 1) && is_num(i + 2) && self.tight(i + 2);
        left || right
    }

    /// Token `i` follows a number-introducing word or sign: `page 2019`, `$2019`, `No. 2019`,
    /// or another number (a table row).
    pub fn blocked_before(&self, i: usize) -> bool {
        let Some(p) = i.checked_sub(1) else {
            return false;
        };
        let before_dot = if self.is_punct(p, Punct::Dot) {
            p.checked_sub(1)
        } else {
            Some(p)
        };
        let word_blocks = |w: usize| matches!(self.lex(w), Some(Lex::NumContext | Lex::Kw(Kw::No)));
        matches!(self.punct(p), Some(Punct::Currency | Punct::Numbering))
            || matches!(self.tok(p).map(|t| t.kind), Some(Kind::Num { .. }))
            || word_blocks(p)
            || before_dot.is_some_and(word_blocks)
    }

    /// A number or unit follows token `i`, so a number there is a quantity: `2019 tonnes`,
    /// `2019%`, and the first number of `1990 to 2000 employees`.
    pub fn quantity_after(&self, i: usize) -> bool {
        let unit_after = |j: usize| match self.tok(j + 1).map(|t| t.kind) {
            Some(Kind::Word(Lex::Quantity | Lex::Unit(_, true))) => true,
            Some(Kind::Num { .. }) => true,
            Some(Kind::Punct(Punct::Percent)) => self.tight(j + 1),
            _ => false,
        };
        let joins_numbers = self.is_dash(i + 1)
            || matches!(
                self.lex(i + 1),
                Some(Lex::Kw(Kw::To | Kw::And | Kw::Or | Kw::Through))
            );
        let is_num = matches!(self.tok(i + 2).map(|t| t.kind), Some(Kind::Num { .. }));
        unit_after(i) || (joins_numbers && is_num && unit_after(i + 2))
    }

    /// A word after token `i` that makes a bare number a year: `2019 was`, `2030 targets`, `2019's`.
    pub fn after_cue(&self, i: usize) -> bool {
        match self.lex(i + 1) {
            Some(Lex::AfterCue | Lex::Unit(Granularity::Year, false)) => true,
            Some(Lex::Kw(Kw::Fiscal | Kw::Financial | Kw::Onwards)) => true,
            Some(Lex::Kw(Kw::And | Kw::Or)) => self.onwards(i + 1).is_some(),
            _ => {
                self.is_punct(i + 1, Punct::Apostrophe)
                    && self.tight(i + 1)
                    && self.lex(i + 2) == Some(Lex::PossessiveS)
                    && self.tight(i + 2)
            }
        }
    }

    /// Token `i` begins a list of bare years whose last one a word after it marks as a year:
    /// "its 2017, 2021 and 2023 annual reports".
    pub fn begins_cued_list(&self, i: usize) -> bool {
        let year = |j: usize| {
            self.num(j, 4, 4)
                .is_some_and(|y| (1900..=2100).contains(&y))
                && !self.glued(j)
        };
        let separator = |j: usize| {
            matches!(
                self.punct(j),
                Some(Punct::Comma | Punct::Ampersand | Punct::Slash)
            ) || self.kw(j, Kw::And)
                || self.kw(j, Kw::Or)
        };
        let mut last = i;
        // Bounded, like every look-ahead here.
        for _ in 0..8 {
            let mut s = last + 1;
            while s < last + 3 && separator(s) {
                s += 1;
            }
            if s == last + 1 || !year(s) {
                break;
            }
            last = s;
        }
        last > i && self.after_cue(last) && !self.quantity_after(last)
    }

    /// Token `i` continues a list of years: "in 2018, 2019 and 2020".
    pub fn continues_list(&self, i: usize) -> bool {
        let Some(end) = self.last_year_end else {
            return false;
        };
        end < i
            && i - end <= 2
            && (end..i).all(|j| {
                matches!(
                    self.punct(j),
                    Some(Punct::Comma | Punct::Ampersand | Punct::Slash)
                ) || self.kw(j, Kw::And)
                    || self.kw(j, Kw::Or)
            })
    }

    /// The unit relative expressions are resolved against ("now"), if any.
    pub fn deictic_base(&self) -> Option<Unit> {
        self.reference.map(Unit::Key)
    }

    /// The unit anaphora refer to: the last explicit unit in the text, else the reference.
    pub fn anaphoric_base(&self) -> Option<Unit> {
        self.anchor.or_else(|| self.deictic_base())
    }

    /// A relative point over tokens `i..j` resolved from `base`, or a "needs a reference" error.
    pub fn resolve(
        &self,
        i: usize,
        j: usize,
        base: Option<Unit>,
        kind: SpanKind,
        f: impl FnOnce(Unit) -> Unit,
    ) -> Parsed<Point> {
        let result = base
            .map(f)
            .map(|unit| Point {
                unit,
                kind,
                bare: false,
            })
            .ok_or_else(|| {
                TimeError::NeedsReference(format!(
                    "\"{}\" is relative and needs a reference time",
                    self.slice(i, j)
                ))
            });
        Some((j, result))
    }
}
