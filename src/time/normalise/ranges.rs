//! Ranges: "from 2018 to 2020", "2018–2020", "between May and July 2022", "Q1–Q3 2023",
//! "from Q3 2023 to Q1 2024", "2019/20", "July 1–15, 2024"; and lists that share a year
//! ("Q1 and Q2 2024").
//!
//! A range's interval is the hull of its ends and its granularity the coarser of theirs; a
//! range whose second end starts before its first is rejected. When one end lacks a year it
//! takes the other's, moving back (or forward) a year if needed: "from November to February
//! 2023" is November 2022 – February 2023. Bare years only form a range when neither end
//! looks like a quantity ("from 1990 to 2000 employees" is not a range).
use chrono::Datelike;

use super::SpanKind;
use super::context::{Cue, Cx, Denot, Parsed, Point, better};
use super::lexer::{Kind, Punct};
use super::lexicon::{Kw, Lex};
use super::points::{Part, part_name, part_unit};
use super::unit::Unit;
use crate::time::calendar::{Problem, check_date};
use crate::time::{Granularity, TimeError, TimeKey};

/// The word that opened a range, which decides the separators allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lead {
    None,
    From,
    Between,
}

/// How the two ends are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    Word,
    Dash(Punct),
    Slash,
}

/// A range end without a year, completed from the other end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Partial {
    Month(u32),
    Part(Part, u32),
    MonthDay(u32, u32),
    Day(u32),
}

/// The later year a short second year denotes: 2019-20 → 2020, 1999-00 → 2000 (at most ten
/// years later, else `None`).
pub(super) fn short_range(y1: i32, yy: u32) -> Option<i32> {
    let mut y2 = y1 - y1.rem_euclid(100) + yy as i32;
    if y2 <= y1 {
        y2 += 100;
    }
    (y2 - y1 <= 10).then_some(y2)
}

impl Cx<'_> {
    /// Ranges starting at `i` (see the module documentation).
    pub(super) fn range(&self, i: usize) -> Parsed<Denot> {
        let (j, lead) = match self.lex(i) {
            Some(Lex::Kw(Kw::From)) => (i + 1, Lead::From),
            Some(Lex::Kw(Kw::Between)) => (i + 1, Lead::Between),
            _ => (i, Lead::None),
        };
        let mut best = None;
        // A left end without a year first, so that "Q1–Q3 2023" shares the year of its right
        // end rather than being read as "Q1 of the reference year".
        if let Some((k, part)) = self.partial(j)
            && let Some((s, sep)) = self.range_sep(k, lead)
        {
            best = self.partial_left(i, (j, k), part, s, sep);
        }
        let cue = if lead == Lead::None {
            Cue::Strong
        } else {
            Cue::Weak
        };
        if let Some((k, Ok(a))) = self.point(j, cue)
            && let Some((s, sep)) = self.range_sep(k, lead)
        {
            let unsure =
                lead == Lead::None && a.bare && (self.blocked_before(i) || self.glued_left(i));
            if !unsure {
                best = better(best, self.full_left(i, &a, k, s, sep));
            }
        }
        best
    }

    /// A range separator at `k`; returns where the right end starts.
    fn range_sep(&self, k: usize, lead: Lead) -> Option<(usize, Sep)> {
        let word = match lead {
            Lead::Between => self.kw(k, Kw::And),
            _ => self.kw(k, Kw::To) || self.kw(k, Kw::Until) || self.kw(k, Kw::Through),
        };
        if word {
            return Some((k + 1, Sep::Word));
        }
        match self.punct(k)? {
            p @ (Punct::Hyphen | Punct::LongDash) => Some((k + 1, Sep::Dash(p))),
            Punct::Slash if lead == Lead::None && self.tight(k) && self.tight(k + 1) => {
                Some((k + 1, Sep::Slash))
            }
            _ => None,
        }
    }

    /// Token `i` is glued to a number on its left: `555-2019`.
    fn glued_left(&self, i: usize) -> bool {
        self.glued(i)
            || (i >= 2
                && self.tight(i)
                && self.tight(i - 1)
                && matches!(
                    self.punct(i - 1),
                    Some(Punct::Hyphen | Punct::LongDash | Punct::Slash)
                )
                && matches!(self.tok(i - 2).map(|t| t.kind), Some(Kind::Num { .. })))
    }

    /// Right ends after a complete left end `a` (which ends at `k`; the right end starts at `s`).
    fn full_left(&self, i: usize, a: &Point, k: usize, s: usize, sep: Sep) -> Parsed<Denot> {
        let year_of = |p: &Point| match p.unit {
            Unit::Key(key) if key.granularity() == Granularity::Year => Some(key.year_of()),
            _ => None,
        };
        // A right end without a year first: "from Q4 2023 to Q1" is Q1 2024.
        let mut best = None;
        if sep != Sep::Slash
            && let Some((e, part)) = self.partial(s)
            && let Some(r) = self.complete((s, e), part, a, false)
        {
            let right = match r {
                Ok(b) => self.join(i, e, a, &b),
                Err(err) => Some((e, Err(err))),
            };
            best = right;
        }
        let full = match self.point(s, Cue::Strong) {
            Some((e, Ok(b))) => {
                // "2019/2020" is a fiscal-year pair, not any two slashed numbers.
                let pair = sep != Sep::Slash
                    || matches!((year_of(a), year_of(&b)), (Some(x), Some(y)) if y == x + 1);
                if pair { self.join(i, e, a, &b) } else { None }
            }
            Some((e, Err(err))) => Some((e, Err(err))),
            None => None,
        };
        best = better(best, full);
        // A short second year: 2019-20, 2019–20, 2019/20, FY2019-20.
        if let (Some(y1), Some(yy)) = (year_of(a), self.num(s, 2, 2))
            && self.tight(k)
            && self.tight(s)
        {
            let y2 = match sep {
                Sep::Slash => (yy == (y1 + 1).rem_euclid(100) as u32).then_some(y1 + 1),
                Sep::Dash(Punct::Hyphen) if yy <= 12 => None, // 2011-12 is December 2011
                Sep::Dash(_) => short_range(y1, yy),
                Sep::Word => None,
            };
            if let Some(Ok(key)) = y2.map(TimeKey::try_year) {
                let b = Point {
                    unit: Unit::Key(key),
                    kind: SpanKind::Explicit,
                    bare: true,
                };
                best = better(best, self.join(i, s + 1, a, &b));
            }
        }
        best
    }

    /// Ranges whose left end (tokens `pj..pk`) has no year of its own.
    fn partial_left(
        &self,
        i: usize,
        at: (usize, usize),
        part: Partial,
        s: usize,
        sep: Sep,
    ) -> Parsed<Denot> {
        if sep == Sep::Slash {
            return None;
        }
        // "July 1–15, 2024": the right end is a day of the same month.
        if let Partial::MonthDay(m, d1) = part
            && let Some(d2) = self.num(s, 1, 2)
        {
            let k = if self.is_punct(s + 1, Punct::Comma) {
                s + 2
            } else {
                s + 1
            };
            if let Some(y) = self.num4(k) {
                let day =
                    |d| check_date(y, m, d).map(|d| Point::explicit(Unit::Key(TimeKey::day(d))));
                return match (day(d1), day(d2)) {
                    (Ok(a), Ok(b)) => self.join(i, k + 1, &a, &b),
                    (Err(p), _) | (_, Err(p)) => self.invalid(i, k + 1, "a date", Err(p)),
                };
            }
        }
        let (e, b) = match self.point(s, Cue::Strong)? {
            (e, Ok(b)) => (e, b),
            (e, Err(err)) => return Some((e, Err(err))),
        };
        if b.kind != SpanKind::Explicit {
            return None;
        }
        match self.complete(at, part, &b, true)? {
            Ok(a) => self.join(i, e, &a, &b),
            Err(err) => Some((e, Err(err))),
        }
    }

    /// Completes the yearless `part` (tokens `at.0..at.1`) with the year of the complete end
    /// `other`, moving a year back (for a `left` end) or forward if it would otherwise fall
    /// on the wrong side of `other`. `None` if the two do not go together.
    fn complete(
        &self,
        at: (usize, usize),
        part: Partial,
        other: &Point,
        left: bool,
    ) -> Option<Result<Point, TimeError>> {
        let key_granularity = match other.unit {
            Unit::Key(k) => Some(k.granularity()),
            _ => None,
        };
        let fits = match part {
            Partial::Month(_) | Partial::MonthDay(..) => {
                matches!(key_granularity, Some(Granularity::Month | Granularity::Day))
            }
            Partial::Part(Part::Quarter, _) => {
                key_granularity.is_some_and(|g| g <= Granularity::Quarter)
            }
            Partial::Part(Part::Half, _) => matches!(other.unit, Unit::Half(_)),
            Partial::Day(_) => left && key_granularity == Some(Granularity::Day),
        };
        if !fits {
            return None;
        }
        let build = |y: i32| -> Result<Unit, Problem> {
            let day = |m: u32, d: u32| check_date(y, m, d).map(|d| Unit::Key(TimeKey::day(d)));
            match part {
                Partial::Month(m) => TimeKey::try_month(y, m).map(Unit::Key),
                Partial::Part(p, n) => part_unit(p, y, n),
                Partial::MonthDay(m, d) => day(m, d),
                Partial::Day(d) => day(other.unit.first_day().month(), d),
            }
        };
        let what = match part {
            Partial::Month(_) => "a month",
            Partial::Part(p, _) => part_name(p),
            Partial::MonthDay(..) | Partial::Day(_) => "a date",
        };
        let year = other.unit.year();
        let wrong_side = |u: &Unit| {
            if left {
                u.first_day() > other.unit.first_day()
            } else {
                u.first_day() < other.unit.first_day()
            }
        };
        let unit = build(year).and_then(|u| {
            if wrong_side(&u) && !matches!(part, Partial::Day(_)) {
                build(if left { year - 1 } else { year + 1 })
            } else {
                Ok(u)
            }
        });
        Some(
            unit.map(Point::explicit)
                .map_err(|p| p.describe(self.slice(at.0, at.1), what)),
        )
    }

    /// A yearless month, quarter or half listed before one with a year shares its year:
    /// "Q1 and Q2 2024", "May, June and July 2023", "H1 & H2 FY2023". The span covers the
    /// first item only; the later ones are found on their own.
    pub(super) fn coordinated(&self, i: usize) -> Parsed<Point> {
        let (end, first) = self.partial(i)?;
        let same_kind = |p: Partial| match (first, p) {
            (Partial::Month(_), Partial::Month(_)) => true,
            (Partial::Part(a, _), Partial::Part(b, _)) => a == b,
            _ => false,
        };
        // Lower-case "may" and "march" are more often verbs than months.
        let verb = matches!(first, Partial::Month(3 | 5))
            && self
                .tok(i)
                .is_some_and(|t| self.text[t.start..t.end].starts_with(|c: char| c.is_lowercase()));
        if verb || !matches!(first, Partial::Month(_) | Partial::Part(..)) {
            return None;
        }
        let separator = |j: usize| {
            matches!(self.punct(j), Some(Punct::Comma | Punct::Ampersand))
                || self.kw(j, Kw::And)
                || self.kw(j, Kw::Or)
        };
        let mut k = end;
        // A bounded look-ahead (no recursion), so long lists cannot blow the stack.
        for _ in 0..8 {
            let mut s = k;
            while s < k + 2 && separator(s) {
                s += 1;
            }
            if s == k {
                return None;
            }
            let (next_end, next) = self.partial(s)?;
            if !same_kind(next) {
                return None;
            }
            if let Some((_, year)) = self.year_ref(self.opt_hyphen(next_end)) {
                let (unit, what) = match first {
                    Partial::Month(m) => (TimeKey::try_month(year, m).map(Unit::Key), "a month"),
                    Partial::Part(p, n) => (part_unit(p, year, n), part_name(p)),
                    Partial::MonthDay(..) | Partial::Day(_) => return None,
                };
                return self.explicit(i, end, what, unit);
            }
            k = next_end;
        }
        None
    }

    /// A range end without a year at `j`: "May", "Q1", "H1", "the first quarter",
    /// "1 July", "July 1", "1".
    fn partial(&self, j: usize) -> Option<(usize, Partial)> {
        let j = self.opt_kw(j, Kw::The);
        let day_month = |d: u32| {
            let k = self.opt_kw(j + 1, Kw::Of);
            match self.lex(k) {
                Some(Lex::Month(m)) => {
                    let e = if self.is_punct(k + 1, Punct::Dot) && self.tight(k + 1) {
                        k + 2
                    } else {
                        k + 1
                    };
                    (e, Partial::MonthDay(m, d))
                }
                _ => (j + 1, Partial::Day(d)),
            }
        };
        match self.tok(j)?.kind {
            Kind::Num { value, len: 1..=2 } => Some(day_month(value)),
            Kind::Word(Lex::Month(m)) => {
                let k = if self.is_punct(j + 1, Punct::Dot) && self.tight(j + 1) {
                    j + 2
                } else {
                    j + 1
                };
                match self.tok(k).map(|t| t.kind) {
                    Some(Kind::Num { value, len: 1..=2 } | Kind::Word(Lex::Ordinal(value))) => {
                        Some((k + 1, Partial::MonthDay(m, value)))
                    }
                    _ => Some((k, Partial::Month(m))),
                }
            }
            Kind::Word(Lex::Quarter(q)) if (1..=4).contains(&q) => {
                Some((j + 1, Partial::Part(Part::Quarter, q)))
            }
            Kind::Word(Lex::Half(h)) if (1..=2).contains(&h) => {
                Some((j + 1, Partial::Part(Part::Half, h)))
            }
            Kind::Word(Lex::Ordinal(d)) => match self.ordinal_unit(j) {
                Some((e, n, part)) => Some((e, Partial::Part(part, n))),
                None => Some(day_month(d)),
            },
            _ => None,
        }
    }

    /// The range `a`–`b` over tokens `i..e`, or an error if it ends before it starts.
    /// `None` when a bare-year right end turns out to be a quantity (`1990 to 2000 employees`).
    /// "between" names its ends in either order: "between 2021 and 2017" is 2017–2021.
    fn join(&self, i: usize, e: usize, a: &Point, b: &Point) -> Parsed<Denot> {
        if b.bare && (self.quantity_after(e - 1) || self.glued(e - 1)) {
            return None;
        }
        let symmetric = matches!(self.lex(i), Some(Lex::Kw(Kw::Between)));
        let result = Denot::between(a, b)
            .or_else(|| symmetric.then(|| Denot::between(b, a)).flatten())
            .ok_or_else(|| {
                TimeError::EmptyRange(format!("{} ends before it starts", self.slice(i, e)))
            });
        Some((e, result))
    }
}
