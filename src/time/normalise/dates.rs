//! Day- and month-level forms: ISO and European numeric dates, written dates
//! ("July 15, 2024", "15th of July 2024"), months ("March 2021", "2024-07") and periods
//! ending on a date ("the year ended 31 December 2019").

use chrono::{Days, Months};

use super::Relation;
use super::context::{Cue, Cx, Parsed, Point, better};
use super::lexer::{Kind, Punct};
use super::lexicon::{Kw, Lex};
use super::unit::Unit;
use crate::time::calendar::check_date;
use crate::time::{Granularity, Interval, TimeKey};

/// A day as a unit.
fn day_key(d: chrono::NaiveDate) -> Unit {
    Unit::Key(TimeKey::day(d))
}

impl Cx<'_> {
    /// Numeric forms starting with a four-digit year: `2024-07-15`, `2024/07/15`, `2024-07`,
    /// `2024/07`, `2024-W28`, `2024-07-15T10:00`.
    pub(super) fn iso(&self, i: usize, y: i32) -> Parsed<Point> {
        let sep = self.punct(i + 1)?;
        if !matches!(sep, Punct::Hyphen | Punct::LongDash | Punct::Slash)
            || !self.tight(i + 1)
            || !self.tight(i + 2)
        {
            return None;
        }
        let same_sep = |j: usize| {
            self.tight(j)
                && self.tight(j + 1)
                && match sep {
                    Punct::Slash => self.is_punct(j, Punct::Slash),
                    _ => self.is_dash(j),
                }
        };
        match self.tok(i + 2)?.kind {
            Kind::Num {
                value: m,
                len: len @ 1..=2,
            } => {
                if same_sep(i + 3) {
                    let day = match self.tok(i + 4).map(|t| t.kind) {
                        Some(Kind::Num { value, len: 1..=2 } | Kind::Word(Lex::DayTime(value))) => {
                            Some(value)
                        }
                        _ => None,
                    };
                    if let Some(d) = day {
                        // Skip the time of a timestamp: 2024-07-15T10:00:00Z.
                        let mut e = i + 5;
                        while self.is_punct(e, Punct::Colon) && self.tight(e) && self.tight(e + 1) {
                            e += 2;
                        }
                        return self.explicit(i, e, "a date", check_date(y, m, d).map(day_key));
                    }
                }
                let year_pair = match sep {
                    Punct::Slash => m == (y + 1).rem_euclid(100) as u32,
                    _ => m > 12 && super::ranges::short_range(y, m).is_some(),
                };
                if len != 2 || sep == Punct::LongDash || year_pair {
                    return None;
                }
                self.explicit(i, i + 3, "a month", TimeKey::try_month(y, m).map(Unit::Key))
            }
            Kind::Word(Lex::WeekNo(w)) if sep == Punct::Hyphen => {
                self.explicit(i, i + 3, "a week", TimeKey::try_week(y, w).map(Unit::Key))
            }
            _ => None,
        }
    }

    /// European `15.07.2024`.
    pub(super) fn dotted_date(&self, i: usize, d: u32) -> Parsed<Point> {
        let dot = |j: usize| self.is_punct(j, Punct::Dot) && self.tight(j) && self.tight(j + 1);
        // Not a section or version number: "section 4.2.2019", "1.4.2.2019".
        let numbering = self.blocked_before(i) || (i >= 1 && self.tight(i) && dot(i - 1));
        if !dot(i + 1) || !dot(i + 3) || numbering {
            return None;
        }
        let m = self.num(i + 2, 1, 2)?;
        let y = self.num4(i + 4)?;
        self.explicit(i, i + 5, "a date", check_date(y, m, d).map(day_key))
    }

    /// `15 July 2024`, `15th of July 2024`, `15 Jul. 2024`, `15 July, 2024`.
    pub(super) fn day_first(&self, i: usize, d: u32) -> Parsed<Point> {
        let j = self.opt_kw(i + 1, Kw::Of);
        let Some(Lex::Month(m)) = self.lex(j) else {
            return None;
        };
        let mut k = j + 1;
        if self.is_punct(k, Punct::Dot) && self.tight(k) {
            k += 1;
        }
        if self.is_punct(k, Punct::Comma) {
            k += 1;
        }
        let y = self.num4(k)?;
        self.explicit(i, k + 1, "a date", check_date(y, m, d).map(day_key))
    }

    /// `July 15, 2024`, `Jul. 15 2024`, `July 15th, 2024`, `March 2021`, `Mar 2021`,
    /// `March of 2021`, `March '21`.
    pub(super) fn month_first(&self, i: usize, m: u32) -> Parsed<Point> {
        let mut j = i + 1;
        if self.is_punct(j, Punct::Dot) && self.tight(j) {
            j += 1;
        }
        let mut best = None;
        let day = match self.tok(j).map(|t| t.kind) {
            Some(Kind::Num { value, len: 1..=2 } | Kind::Word(Lex::Ordinal(value))) => Some(value),
            _ => None,
        };
        if let Some(d) = day {
            let k = if self.is_punct(j + 1, Punct::Comma) {
                j + 2
            } else {
                j + 1
            };
            if let Some(y) = self.num4(k) {
                best = self.explicit(i, k + 1, "a date", check_date(y, m, d).map(day_key));
            }
        }
        let k = if self.is_punct(j, Punct::Comma) {
            j + 1
        } else {
            self.opt_kw(j, Kw::Of)
        };
        let year = self
            .num4(k)
            .map(|y| (k + 1, y))
            .or_else(|| self.apostrophe_year(k));
        if let Some((e, y)) = year {
            let month = TimeKey::try_month(y, m).map(Unit::Key);
            best = better(best, self.explicit(i, e, "a month", month));
        }
        best
    }

    /// `the year ended 31 December 2019`, `the quarter ended September 30, 2023`,
    /// `the six months ended 30 June 2024`, `the fiscal year ending 30 June 2023`: the period
    /// of that length ending on (and including) that day.
    pub(super) fn period_ended(&self, i: usize) -> Parsed<Point> {
        let (mut j, n) = match self.tok(i)?.kind {
            Kind::Num { value, len: 1..=2 } => (i + 1, value),
            Kind::Word(Lex::NumWord(n)) => (i + 1, n),
            _ => (i, 1),
        };
        if self.kw(j, Kw::Fiscal) || self.kw(j, Kw::Financial) {
            j += 1;
        }
        let Some(Lex::Unit(g, _)) = self.lex(j) else {
            return None;
        };
        if n == 0 || !self.kw(j + 1, Kw::Ended) {
            return None;
        }
        let (e, r) = self.point_with(self.opt_kw(j + 2, Kw::On), Cue::Strong, false)?;
        let p = match r {
            Ok(p) => p,
            Err(err) => return Some((e, Err(err))),
        };
        let end = p.unit.interval().end?;
        let start = match g.months() {
            Some(months) => end.checked_sub_months(Months::new(months.saturating_mul(n))),
            None => {
                let days = if g == Granularity::Week { 7 } else { 1 };
                end.checked_sub_days(Days::new(u64::from(n) * days))
            }
        }?;
        let interval = Interval::new(Some(start), Some(end)).ok()?;
        let unit = TimeKey::from_interval(&interval).map_or(
            Unit::Window {
                interval,
                granularity: g,
                relation: Relation::At,
            },
            Unit::Key,
        );
        Some((
            e,
            Ok(Point {
                unit,
                kind: p.kind,
                bare: false,
            }),
        ))
    }
}
