//! Point expressions: the dispatch over every single-time rule, plus quarters, halves, ISO
//! weeks, fiscal years, decades and bare years, with their modifiers ("early 2020", "the end
//! of 2019"). Day- and month-level forms are in [`super::dates`].
//!
//! Every rule starts at a token index and returns [`Parsed`]: no match, a match, or a match
//! that names an impossible time (`Q5 2023`), which the caller consumes without a span.

use super::SpanKind;
use super::context::{Cue, Cx, Parsed, Point, better};
use super::lexer::{Kind, Punct};
use super::lexicon::{Kw, Lex, expand_two_digit_year};
use super::unit::Unit;
use crate::time::calendar::Problem;
use crate::time::{Granularity, TimeKey};

/// Which sub-year part an ordinal names: "third quarter", "first half".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Quarter,
    Half,
}

/// Quarter or half `n` of `year`.
pub(super) fn part_unit(part: Part, year: i32, n: u32) -> Result<Unit, Problem> {
    match part {
        Part::Quarter => TimeKey::try_quarter(year, n).map(Unit::Key),
        Part::Half => Unit::half(year, n),
    }
}

/// What to call a part in error messages.
pub(super) fn part_name(part: Part) -> &'static str {
    match part {
        Part::Quarter => "a quarter",
        Part::Half => "a half-year",
    }
}

impl Cx<'_> {
    /// Any point expression at `i` (explicit, relative or vague), with an optional leading "the".
    /// `cue` says how strongly the preceding words mark a bare number as a year.
    pub(super) fn point(&self, i: usize, cue: Cue) -> Parsed<Point> {
        self.point_with(i, cue, true)
    }

    pub(super) fn point_with(&self, i: usize, cue: Cue, modifiers: bool) -> Parsed<Point> {
        let mut best = self.point_core(i, cue, modifiers);
        if self.kw(i, Kw::The) && self.takes_the(i + 1) {
            best = better(best, self.point_core(i + 1, Cue::Strong, modifiers));
        }
        best
    }

    /// Words that may be preceded by a "the" belonging to the expression.
    fn takes_the(&self, i: usize) -> bool {
        use Kw::*;
        match self.lex(i) {
            Some(Lex::Ordinal(_) | Lex::Unit(..) | Lex::NumWord(_) | Lex::Decade(_)) => true,
            Some(Lex::Kw(k)) => matches!(
                k,
                Last | Past
                    | Current
                    | Next
                    | Coming
                    | Previous
                    | Prior
                    | Preceding
                    | Following
                    | Same
                    | Latest
                    | End
                    | Beginning
                    | Start
                    | Middle
                    | Close
                    | Fiscal
                    | Financial
                    | Calendar
                    | Early
                    | Late
                    | Mid
                    | Yearend
            ),
            _ => false,
        }
    }

    fn point_core(&self, i: usize, cue: Cue, modifiers: bool) -> Parsed<Point> {
        let explicit = match self.tok(i)?.kind {
            Kind::Num { value, len } => self.numeric(i, value, len, cue),
            Kind::Word(lex) => self.worded(i, lex, modifiers),
            Kind::Punct(_) => return None,
        };
        better(explicit, self.relative(i))
    }

    fn numeric(&self, i: usize, value: u32, len: u8, cue: Cue) -> Parsed<Point> {
        let mut best = None;
        if len == 4 {
            let y = value as i32;
            best = better(best, self.iso(i, y));
            best = better(best, self.year_first(i));
            best = better(best, self.bare_year(i, y, cue));
        }
        if len <= 2 {
            best = better(best, self.dotted_date(i, value));
            best = better(best, self.day_first(i, value));
            best = better(best, self.period_ended(i));
        }
        best
    }

    fn worded(&self, i: usize, lex: Lex, modifiers: bool) -> Parsed<Point> {
        match lex {
            Lex::Month(m) => better(self.month_first(i, m), self.coordinated(i)),
            Lex::Weekday => {
                let j = if self.is_punct(i + 1, Punct::Comma) {
                    i + 2
                } else {
                    i + 1
                };
                match self.tok(j)?.kind {
                    Kind::Word(Lex::Month(m)) => self.month_first(j, m),
                    Kind::Num { value, len: 1..=2 } | Kind::Word(Lex::Ordinal(value)) => {
                        self.day_first(j, value)
                    }
                    _ => None,
                }
                // "Monday, July 2024" is not a date.
                .filter(|(_, r)| !matches!(r, Ok(p) if p.unit.granularity() != Granularity::Day))
            }
            Lex::Ordinal(n) => better(
                better(self.day_first(i, n), self.ordinal_with_year(i)),
                self.coordinated(i),
            ),
            Lex::Kw(Kw::Last) => self.ordinal_with_year(i),
            Lex::Quarter(q) => {
                let with_year = self.year_ref(self.opt_hyphen(i + 1)).and_then(|(e, y)| {
                    self.explicit(i, e, "a quarter", part_unit(Part::Quarter, y, q))
                });
                better(with_year, self.coordinated(i))
            }
            Lex::QuarterYear(q, y) => {
                self.explicit(i, i + 1, "a quarter", part_unit(Part::Quarter, y, q))
            }
            Lex::Half(h) => {
                let with_year = self
                    .year_ref(self.opt_hyphen(i + 1))
                    .and_then(|(e, y)| self.explicit(i, e, "a half-year", Unit::half(y, h)));
                better(with_year, self.coordinated(i))
            }
            Lex::HalfYear(h, y) => self.explicit(i, i + 1, "a half-year", Unit::half(y, h)),
            Lex::YearTag(_) | Lex::Kw(Kw::Fiscal | Kw::Financial | Kw::Calendar) => {
                let year = self.year_head(i).and_then(|(e, y)| {
                    self.explicit(i, e, "a year", TimeKey::try_year(y).map(Unit::Key))
                });
                better(better(year, self.year_first(i)), self.period_ended(i))
            }
            Lex::WeekNo(w) => self.week_of_year(i, i + 1, w),
            Lex::YearWeek(y, w) => {
                self.explicit(i, i + 1, "a week", TimeKey::try_week(y, w).map(Unit::Key))
            }
            Lex::Decade(y) if (1900..=2100).contains(&y) => {
                self.explicit(i, i + 1, "a decade", TimeKey::try_year(y).map(Unit::Decade))
            }
            Lex::Unit(Granularity::Week, false) => {
                let w = self.num(i + 1, 1, 2)?;
                self.week_of_year(i, i + 2, w)
            }
            Lex::Unit(Granularity::Year, false) => {
                let mut best = self.period_ended(i);
                if let Some(y) = self.num4(i + 1) {
                    let year = TimeKey::try_year(y).map(Unit::Key);
                    best = better(best, self.explicit(i, i + 2, "a year", year));
                }
                let end = self.opt_hyphen(i + 1);
                if modifiers && self.kw(end, Kw::End) {
                    best = better(best, self.point_with(end + 1, Cue::Strong, false));
                }
                best
            }
            Lex::Unit(..) | Lex::NumWord(_) => self.period_ended(i),
            Lex::Kw(k) if modifiers => self.modifier(i, k),
            _ => None,
        }
    }

    /// A year, possibly introduced: `2023`, `FY2023`, `FY23`, `FY 2023`, `FY '23`,
    /// `fiscal 2023`, `fiscal year 2023`, `financial year 2023`, `calendar year 2023`.
    /// Fiscal years are taken to be calendar years.
    pub(super) fn year_head(&self, i: usize) -> Option<(usize, i32)> {
        if let Some(y) = self.num4(i) {
            return Some((i + 1, y));
        }
        let year_word = |j: usize| self.lex(j) == Some(Lex::Unit(Granularity::Year, false));
        match self.lex(i)? {
            Lex::YearTag(Some(y)) => Some((i + 1, y)),
            Lex::YearTag(None) => {
                let j = self.opt_hyphen(i + 1);
                self.num4(j)
                    .map(|y| (j + 1, y))
                    .or_else(|| {
                        self.num(j, 2, 2)
                            .map(|yy| (j + 1, expand_two_digit_year(yy)))
                    })
                    .or_else(|| self.apostrophe_year(j))
            }
            Lex::Kw(Kw::Fiscal) => {
                let j = if year_word(i + 1) { i + 2 } else { i + 1 };
                self.num4(j).map(|y| (j + 1, y))
            }
            Lex::Kw(Kw::Financial | Kw::Calendar) if year_word(i + 1) => {
                self.num4(i + 2).map(|y| (i + 3, y))
            }
            _ => None,
        }
    }

    /// `'23` (any apostrophe) at `i`: a two-digit year.
    pub(super) fn apostrophe_year(&self, i: usize) -> Option<(usize, i32)> {
        if !self.is_punct(i, Punct::Apostrophe) || !self.tight(i + 1) {
            return None;
        }
        self.num(i + 1, 2, 2)
            .map(|yy| (i + 2, expand_two_digit_year(yy)))
    }

    /// The year after a quarter, half or week: optional `,` or `of`, then a year head or `'23`.
    pub(super) fn year_ref(&self, i: usize) -> Option<(usize, i32)> {
        let j = if self.is_punct(i, Punct::Comma) {
            i + 1
        } else {
            self.opt_kw(i, Kw::Of)
        };
        self.year_head(j).or_else(|| self.apostrophe_year(j))
    }

    /// "third quarter", "fourth-quarter", "first fiscal quarter", "second half", "last quarter":
    /// where it ends, the number and the part.
    pub(super) fn ordinal_unit(&self, i: usize) -> Option<(usize, u32, Part)> {
        let n = match self.lex(i)? {
            Lex::Ordinal(n) => Some(n),
            Lex::Kw(Kw::Last) => None,
            _ => return None,
        };
        let j = self.opt_kw(self.opt_hyphen(i + 1), Kw::Fiscal);
        match self.lex(j)? {
            Lex::Unit(Granularity::Quarter, false) => Some((j + 1, n.unwrap_or(4), Part::Quarter)),
            Lex::HalfWord if n.is_none_or(|n| n <= 2) => Some((j + 1, n.unwrap_or(2), Part::Half)),
            _ => None,
        }
    }

    /// "third quarter of 2023", "the 3rd quarter 2023", "first half of fiscal 2024".
    fn ordinal_with_year(&self, i: usize) -> Parsed<Point> {
        let (j, n, part) = self.ordinal_unit(i)?;
        let (e, y) = self.year_ref(j)?;
        self.explicit(i, e, part_name(part), part_unit(part, y, n))
    }

    /// A year followed by its part: `2023 Q3`, `2024-Q3`, `2024 H1`, `fiscal 2024 first quarter`.
    fn year_first(&self, i: usize) -> Parsed<Point> {
        let (j, y) = self.year_head(i)?;
        let k = self.opt_hyphen(j);
        match self.lex(k)? {
            Lex::Quarter(q) => self.explicit(i, k + 1, "a quarter", part_unit(Part::Quarter, y, q)),
            Lex::Half(h) => self.explicit(i, k + 1, "a half-year", Unit::half(y, h)),
            Lex::Ordinal(_) => {
                let (e, n, part) = self.ordinal_unit(k)?;
                self.explicit(i, e, part_name(part), part_unit(part, y, n))
            }
            _ => None,
        }
    }

    /// `W28 2024`, `week 28 of 2024`: the year part starts at `j`.
    fn week_of_year(&self, i: usize, j: usize, w: u32) -> Parsed<Point> {
        let (e, y) = self.year_ref(j)?;
        self.explicit(i, e, "a week", TimeKey::try_week(y, w).map(Unit::Key))
    }

    /// A four-digit number that the context marks as a year (1900–2100 only): see
    /// [`Cx::cue_before`], [`Cx::after_cue`] and [`Cx::continues_list`].
    fn bare_year(&self, i: usize, y: i32, cue: Cue) -> Parsed<Point> {
        let point = |unit| Point {
            unit,
            kind: SpanKind::Explicit,
            bare: true,
        };
        if self.standalone {
            return self.invalid(
                i,
                i + 1,
                "a year",
                TimeKey::try_year(y).map(|k| point(Unit::Key(k))),
            );
        }
        if !(1900..=2100).contains(&y) || self.glued(i) {
            return None;
        }
        let accepted = match cue {
            Cue::Strong => true,
            Cue::Weak => !self.quantity_after(i),
            Cue::None => {
                (self.after_cue(i) || self.continues_list(i) || self.begins_cued_list(i))
                    && !self.blocked_before(i)
                    && !self.quantity_after(i)
            }
        };
        let key = TimeKey::try_year(y).ok()?;
        accepted.then_some((i + 1, Ok(point(Unit::Key(key)))))
    }

    /// Modifiers that keep the unit they modify: `early 2020`, `late 2020`, `mid-2020`,
    /// `the middle of 2020`, `the end of 2019`, `end-2019`, `the beginning of 2020`,
    /// `the start of Q3`, `the close of 2019`, `yearend 2019`, `summer 2020`.
    fn modifier(&self, i: usize, k: Kw) -> Parsed<Point> {
        let j = match k {
            Kw::Early | Kw::Late | Kw::Mid | Kw::Yearend => self.opt_hyphen(i + 1),
            Kw::End if self.is_punct(i + 1, Punct::Hyphen) => i + 2,
            Kw::End | Kw::Middle | Kw::Beginning | Kw::Start | Kw::Close
                if self.kw(i + 1, Kw::Of) =>
            {
                i + 2
            }
            Kw::Season => self.opt_kw(i + 1, Kw::Of),
            _ => return None,
        };
        self.point_with(j, Cue::Strong, false)
    }
}
