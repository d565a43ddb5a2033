//! Relative and vague expressions (semantics in the documentation of `normalise`).
//!
//! Deictic rules resolve against [`Cx::deictic_base`] (the reference), anaphoric ones
//! against [`Cx::anaphoric_base`] (the last explicit unit in the text, else the reference);
//! both go through [`Cx::resolve`], which reports a missing reference as an error that
//! `find_times` drops and `parse_time` returns.

use chrono::{Days, NaiveDate};

use super::Relation;
use super::SpanKind;
use super::context::{Cx, Parsed, Point};
use super::lexer::Kind;
use super::lexicon::{Kw, Lex};
use super::points::{Part, part_unit};
use super::unit::Unit;
use crate::time::calendar::{add_days, add_months};
use crate::time::{Granularity, Interval};

/// How many days "recently" looks back.
const RECENT_DAYS: u64 = 90;

/// The unit `g` of the base (or the base itself with `None`), `years` years away.
fn in_other_year(base: Unit, g: Option<Granularity>, years: i64) -> Unit {
    let unit = g.map_or(base, |g| Unit::Key(base.narrow(g, false)));
    unit.shift_in(Granularity::Year, years)
}

/// "the same quarter of the previous year".
fn same_last_year(base: Unit, g: Option<Granularity>) -> Unit {
    in_other_year(base, g, -1)
}

impl Cx<'_> {
    /// Relative and vague expressions starting at `i`.
    pub(super) fn relative(&self, i: usize) -> Parsed<Point> {
        let lex = match self.tok(i)?.kind {
            Kind::Num { value, len: 1..=2 } => return self.counted_shift(i, value),
            Kind::Word(lex) => lex,
            _ => return None,
        };
        match lex {
            Lex::Kw(k) => self.relative_word(i, k),
            Lex::NumWord(n) => self.counted_shift(i, n),
            Lex::Article => self.counted_shift(i, 1),
            Lex::Unit(g, false) => better3(
                self.year_ago(i, g),
                self.year_to_date(i),
                self.unit_before(i, g),
            ),
            Lex::Quarter(q) if (1..=4).contains(&q) => self.yearless(i, i + 1, Part::Quarter, q),
            Lex::Half(h) if (1..=2).contains(&h) => self.yearless(i, i + 1, Part::Half, h),
            Lex::Ordinal(_) => {
                let (e, n, part) = self.ordinal_unit(i)?;
                let valid = match part {
                    Part::Quarter => n <= 4,
                    Part::Half => n <= 2,
                };
                if valid {
                    self.yearless(i, e, part, n)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    fn relative_word(&self, i: usize, k: Kw) -> Parsed<Point> {
        use Kw::*;
        match k {
            // "the last year" is a rolling window; "last year" the calendar year before.
            Last | Past if i > 0 && self.kw(i - 1, The) => {
                super::context::better(self.window(i, k), self.deixis(i, k))
            }
            Last | Past | This | Current | Next | Coming | Previous | Prior | Preceding
            | Following => super::context::better(self.deixis(i, k), self.window(i, k)),
            Same => self.same(i),
            Today | Yesterday | Tomorrow => {
                let n = match k {
                    Today => 0,
                    Yesterday => -1,
                    _ => 1,
                };
                self.resolve(
                    i,
                    i + 1,
                    self.deictic_base(),
                    SpanKind::Relative,
                    |b| match b {
                        Unit::Key(key) if key.granularity() == Granularity::Day => {
                            Unit::Key(key.shift(n))
                        }
                        other => other,
                    },
                )
            }
            Ytd => self.year_to_date_at(i, i + 1),
            _ => self.vague(i, k),
        }
    }

    /// "last quarter", "this year", "next month", "the previous fiscal year", "the prior-year
    /// quarter", "the prior period", "this time last year".
    fn deixis(&self, i: usize, k: Kw) -> Parsed<Point> {
        use Kw::*;
        let (offset, anaphoric) = match k {
            Last | Past => (-1, false),
            This | Current => (0, false),
            Next | Coming => (1, false),
            Previous | Prior | Preceding => (-1, true),
            Following => (1, true),
            _ => return None,
        };
        let year = |j: usize| self.lex(j) == Some(Lex::Unit(Granularity::Year, false));
        if k == This && self.kw(i + 1, Time) && self.kw(i + 2, Last) && year(i + 3) {
            return self.resolve(i, i + 4, self.deictic_base(), SpanKind::Relative, |b| {
                b.shift_in(Granularity::Year, -1)
            });
        }
        let mut j = self.opt_hyphen(i + 1);
        if matches!(self.lex(j), Some(Lex::Kw(Fiscal | Financial | Calendar))) {
            j += 1;
        }
        let target = match self.lex(j)? {
            Lex::Unit(g, false) => Some(g),
            Lex::Period => None,
            _ => return None,
        };
        // "the last day of …" is not yesterday.
        if target == Some(Granularity::Day) && matches!(k, Last | Past | This | Current) {
            return None;
        }
        // "the prior-year quarter", "the previous year period": the same quarter (or, with
        // `Some(None)`, the same kind of unit as the base) in the other year.
        let mut end = j + 1;
        let mut in_year: Option<Option<Granularity>> = None;
        if target == Some(Granularity::Year) && offset != 0 {
            in_year = match self.lex(end) {
                Some(Lex::Unit(g, false)) if g < Granularity::Year => Some(Some(g)),
                Some(Lex::Period) => Some(None),
                _ => None,
            };
            end += usize::from(in_year.is_some());
        }
        let base = if anaphoric {
            self.anaphoric_base()
        } else {
            self.deictic_base()
        };
        // "Now" is the last day of a coarse reference; an anchor is left from its start
        // (previous) or its end (following).
        let from_end = !anaphoric || offset > 0;
        self.resolve(i, end, base, SpanKind::Relative, |b| {
            match (in_year, target) {
                (Some(g), _) => in_other_year(b, g, offset),
                (None, Some(g)) => Unit::Key(b.narrow(g, from_end).shift(offset)),
                (None, None) => b.step(offset),
            }
        })
    }

    /// "the last three years", "the past 12 months", "the next two quarters": the `n` whole
    /// units before (or after) the one containing the base.
    fn window(&self, i: usize, k: Kw) -> Parsed<Point> {
        use Kw::*;
        let (forward, anaphoric) = match k {
            Last | Past => (false, false),
            Previous | Preceding | Prior => (false, true),
            Next | Coming => (true, false),
            Following => (true, true),
            _ => return None,
        };
        let rolling = !forward && !anaphoric;
        let (n, unit_at) = match self.tok(i + 1)?.kind {
            Kind::Num { value, len: 1..=2 } => (value, i + 2),
            Kind::Word(Lex::NumWord(n)) => (n, i + 2),
            // "the last year", "over the past month": one unit, rolling.
            _ if rolling && i > 0 && self.kw(i - 1, Kw::The) && !self.kw(i + 2, Kw::Of) => {
                (1, i + 1)
            }
            _ => return None,
        };
        let Some(Lex::Unit(g, _)) = self.lex(unit_at) else {
            return None;
        };
        if n == 0 {
            return None;
        }
        let base = if anaphoric {
            self.anaphoric_base()
        } else {
            self.deictic_base()
        };
        let n = i64::from(n);
        let from_end = !anaphoric || forward;
        self.resolve(i, unit_at + 1, base, SpanKind::Relative, |b| {
            if rolling {
                // "the last three years", "the past 12 months": the span of time that ends
                // with the reference (its last day), not whole calendar units before it.
                let end = b.last_day().succ_opt().unwrap_or(NaiveDate::MAX);
                let start = match g {
                    Granularity::Day => add_days(end, -n),
                    Granularity::Week => add_days(end, -7 * n),
                    _ => add_months(end, -n * i64::from(g.months().unwrap_or(1))),
                };
                return Unit::Window {
                    interval: super::unit::span(start, end),
                    granularity: g,
                    relation: Relation::Between,
                };
            }
            let current = b.narrow(g, from_end);
            let (start, end) = if forward {
                (current.shift(1).start(), current.shift(n).end())
            } else {
                (current.shift(-n).start(), current.start())
            };
            Unit::Window {
                interval: super::unit::span(start, end),
                granularity: g,
                relation: Relation::Between,
            }
        })
    }

    /// "the same quarter last year", "the same period a year ago", "the same month of the
    /// previous year", "the same quarter in the prior year", "the same week the year before".
    fn same(&self, i: usize) -> Parsed<Point> {
        let target = match self.lex(i + 1)? {
            Lex::Unit(g, false) => Some(g),
            Lex::Period => None,
            _ => return None,
        };
        let (end, anaphoric) = self.a_year_back(i + 2)?;
        let base = if anaphoric {
            self.anaphoric_base()
        } else {
            self.deictic_base()
        };
        self.resolve(i, end, base, SpanKind::Relative, |b| {
            same_last_year(b, target)
        })
    }

    /// The "a year back" tail of [`Cx::same`]: where it ends and whether it is anaphoric.
    fn a_year_back(&self, t: usize) -> Option<(usize, bool)> {
        use Kw::*;
        let year = |j: usize| self.lex(j) == Some(Lex::Unit(Granularity::Year, false));
        if self.kw(t, Last) && year(t + 1) {
            return Some((t + 2, false));
        }
        if matches!(self.lex(t), Some(Lex::Article | Lex::NumWord(1))) && year(t + 1) {
            return match self.lex(t + 2)? {
                Lex::Kw(Ago) => Some((t + 3, false)),
                Lex::Kw(Earlier | Before | Prior) => Some((t + 3, true)),
                _ => None,
            };
        }
        let j = if self.kw(t, Of) || self.kw(t, In) {
            t + 1
        } else {
            t
        };
        let j = self.opt_kw(j, The);
        match self.lex(j)? {
            Lex::Kw(Previous | Prior | Preceding) if year(j + 1) => Some((j + 2, true)),
            Lex::Kw(Last) if year(j + 1) => Some((j + 2, false)),
            Lex::Unit(Granularity::Year, false) if self.kw(j + 1, Before) => Some((j + 2, true)),
            _ => None,
        }
    }

    /// "a year ago", "two years ago", "three months later", "a quarter earlier", "2 weeks back".
    fn counted_shift(&self, i: usize, n: u32) -> Parsed<Point> {
        let Some(Lex::Unit(g, _)) = self.lex(i + 1) else {
            return None;
        };
        let n = i64::from(n);
        let (delta, anaphoric) = match self.lex(i + 2)? {
            Lex::Kw(Kw::Ago | Kw::Back) => (-n, false),
            Lex::Kw(Kw::Earlier | Kw::Prior) => (-n, true),
            Lex::Kw(Kw::Later) => (n, true),
            _ => return None,
        };
        // "two years earlier than planned", "a year prior to the merger" are not anaphora.
        if n == 0 || self.kw(i + 3, Kw::Than) || self.kw(i + 3, Kw::To) {
            return None;
        }
        let base = if anaphoric {
            self.anaphoric_base()
        } else {
            self.deictic_base()
        };
        self.resolve(i, i + 3, base, SpanKind::Relative, |b| b.shift_in(g, delta))
    }

    /// "the year-ago quarter", "the year-earlier period".
    fn year_ago(&self, i: usize, g: Granularity) -> Parsed<Point> {
        if g != Granularity::Year {
            return None;
        }
        let j = self.opt_hyphen(i + 1);
        if !self.kw(j, Kw::Ago) && !self.kw(j, Kw::Earlier) {
            return None;
        }
        let target = match self.lex(j + 1)? {
            Lex::Unit(g, false) if g < Granularity::Year => Some(g),
            Lex::Period => None,
            _ => return None,
        };
        self.resolve(i, j + 2, self.anaphoric_base(), SpanKind::Relative, |b| {
            same_last_year(b, target)
        })
    }

    /// "the year before." / "the quarter after.", closing a clause.
    fn unit_before(&self, i: usize, g: Granularity) -> Parsed<Point> {
        let the = i.checked_sub(1).is_some_and(|p| self.kw(p, Kw::The));
        let offset = match self.lex(i + 1)? {
            Lex::Kw(Kw::Before) => -1,
            Lex::Kw(Kw::After) => 1,
            _ => return None,
        };
        if !the || !self.clause_end(i + 2) {
            return None;
        }
        self.resolve(i, i + 2, self.anaphoric_base(), SpanKind::Relative, |b| {
            Unit::Key(b.narrow(g, offset > 0).shift(offset))
        })
    }

    /// "year to date", "year-to-date".
    fn year_to_date(&self, i: usize) -> Parsed<Point> {
        if self.lex(i) != Some(Lex::Unit(Granularity::Year, false)) {
            return None;
        }
        let j = self.opt_hyphen(i + 1);
        if !self.kw(j, Kw::To) {
            return None;
        }
        let k = self.opt_hyphen(j + 1);
        if !self.kw(k, Kw::Date) {
            return None;
        }
        self.year_to_date_at(i, k + 1)
    }

    fn year_to_date_at(&self, i: usize, end: usize) -> Parsed<Point> {
        self.resolve(i, end, self.deictic_base(), SpanKind::Vague, |b| {
            let start = b.narrow(Granularity::Year, false).start();
            Unit::Window {
                interval: Interval {
                    start: Some(start),
                    end: b.interval().end,
                },
                granularity: b.granularity(),
                relation: Relation::At,
            }
        })
    }

    /// "Q3", "H2", "the fourth quarter", "the first half" without a year: in the year of the
    /// last explicit time, else of the reference.
    fn yearless(&self, i: usize, end: usize, part: Part, n: u32) -> Parsed<Point> {
        self.resolve(i, end, self.anaphoric_base(), SpanKind::Relative, |b| {
            let year = b.narrow(Granularity::Year, false);
            let first_quarter = year.shift_in(Granularity::Quarter, 0);
            match part_unit(part, year.year_of(), n) {
                Ok(unit) => unit,
                // Outside the supported years: build it by arithmetic instead.
                Err(_) => match part {
                    Part::Quarter => Unit::Key(first_quarter.shift(i64::from(n) - 1)),
                    Part::Half => Unit::Half(first_quarter.shift(2 * (i64::from(n) - 1))),
                },
            }
        })
    }

    /// Vague words that denote the reference (see the module documentation).
    fn vague(&self, i: usize, k: Kw) -> Parsed<Point> {
        use Kw::*;
        let prev = |back: usize, k: Kw| i.checked_sub(back).is_some_and(|p| self.kw(p, k));
        let end = match k {
            Now | Currently | Presently | Nowadays => i + 1,
            Right if self.kw(i + 1, Now) => i + 2,
            At if self.kw(i + 1, Present) => i + 2,
            At if self.kw(i + 1, The) && self.kw(i + 2, Moment) => i + 3,
            These if self.lex(i + 1) == Some(Lex::Unit(Granularity::Day, true)) => i + 2,
            // Not "up to date" / "up-to-date".
            To if self.kw(self.opt_hyphen(i + 1), Date)
                && !prev(1, Up)
                && !(prev(2, Up) && self.is_dash(i - 1)) =>
            {
                self.opt_hyphen(i + 1) + 1
            }
            // Not "so far as".
            So if self.kw(i + 1, Far) && !self.kw(i + 2, As) => i + 2,
            // "the latest", but not "at the latest".
            Latest if prev(1, The) && !prev(2, At) => i + 1,
            Recently | Lately => return self.recently(i, i + 1),
            Of if self.kw(i + 1, Late) => return self.recently(i, i + 2),
            _ => return None,
        };
        self.resolve(i, end, self.deictic_base(), SpanKind::Vague, |b| b)
    }

    /// The 90 days before the end of the reference.
    fn recently(&self, i: usize, end: usize) -> Parsed<Point> {
        self.resolve(i, end, self.deictic_base(), SpanKind::Vague, |b| {
            let until = b.interval().end.unwrap_or(b.last_day());
            let from = until
                .checked_sub_days(Days::new(RECENT_DAYS))
                .unwrap_or(until);
            Unit::Window {
                interval: super::unit::span(from, until),
                granularity: Granularity::Month,
                relation: Relation::At,
            }
        })
    }
}

/// The best of three matches.
fn better3(a: Parsed<Point>, b: Parsed<Point>, c: Parsed<Point>) -> Parsed<Point> {
    super::context::better(super::context::better(a, b), c)
}
