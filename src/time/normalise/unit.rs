//! What a single (non-range) expression denotes before it becomes a [`super::TimeSpan`]:
//! a calendar key, a half-year, a decade or an arbitrary window of days.

use chrono::{Datelike, NaiveDate};

use super::Relation;
use crate::time::calendar::Problem;
use crate::time::{Granularity, Interval, TimeKey};

/// The denotation of a point expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    /// Exactly one calendar unit.
    Key(TimeKey),
    /// A half-year, represented by its first quarter (Q1 or Q3).
    Half(TimeKey),
    /// A decade such as the 1990s, represented by its first year.
    Decade(TimeKey),
    /// Any other stretch of days: "recently", "the last three years", "the fiscal year ended
    /// 30 June 2023". `relation` is `At` for a single period, `Between` for several units.
    Window {
        interval: Interval,
        granularity: Granularity,
        relation: Relation,
    },
}

impl Unit {
    /// Half `h` (1 or 2) of `year`.
    pub fn half(year: i32, h: u32) -> Result<Unit, Problem> {
        if !(1..=2).contains(&h) {
            return Err(Problem::Half(h));
        }
        TimeKey::try_quarter(year, h * 2 - 1).map(Unit::Half)
    }

    /// The days covered.
    pub fn interval(&self) -> Interval {
        match *self {
            Unit::Key(k) => k.interval(),
            Unit::Half(q) => span(q.start(), q.shift(2).start()),
            Unit::Decade(y) => span(y.start(), y.shift(10).start()),
            Unit::Window { interval, .. } => interval,
        }
    }

    /// The granularity reported for the unit: a half counts as quarters, a decade as years.
    pub fn granularity(&self) -> Granularity {
        match *self {
            Unit::Key(k) => k.granularity(),
            Unit::Half(_) => Granularity::Quarter,
            Unit::Decade(_) => Granularity::Year,
            Unit::Window { granularity, .. } => granularity,
        }
    }

    /// The calendar key, when the unit is exactly one.
    pub fn key(&self) -> Option<TimeKey> {
        match *self {
            Unit::Key(k) => Some(k),
            _ => None,
        }
    }

    /// The relation of a span made of this unit alone.
    pub fn relation(&self) -> Relation {
        match *self {
            Unit::Window { relation, .. } => relation,
            _ => Relation::At,
        }
    }

    /// Whether later anaphora ("a year earlier") may refer back to this unit.
    pub fn is_anchor(&self) -> bool {
        matches!(self, Unit::Key(_) | Unit::Half(_))
    }

    /// First day covered.
    pub fn first_day(&self) -> NaiveDate {
        self.interval().start.unwrap_or(NaiveDate::MIN)
    }

    /// Last day covered.
    pub fn last_day(&self) -> NaiveDate {
        self.interval()
            .end
            .and_then(|e| e.pred_opt())
            .unwrap_or(NaiveDate::MAX)
    }

    /// The year the unit belongs to (a week's ISO year).
    pub fn year(&self) -> i32 {
        match self {
            Unit::Key(k) => k.year_of(),
            _ => self.first_day().year(),
        }
    }

    /// The unit of granularity `g` at the unit's start (or, with `from_end`, at its last day).
    pub fn narrow(&self, g: Granularity, from_end: bool) -> TimeKey {
        let day = if from_end {
            self.last_day()
        } else {
            self.first_day()
        };
        TimeKey::containing(day, g)
    }

    /// Moves by `n` steps of the unit's own size: the previous half, the next decade…
    pub fn step(&self, n: i64) -> Unit {
        match *self {
            Unit::Key(k) => Unit::Key(k.shift(n)),
            Unit::Half(q) => Unit::Half(q.shift(n.saturating_mul(2))),
            Unit::Decade(y) => Unit::Decade(y.shift(n.saturating_mul(10))),
            window @ Unit::Window { .. } => window,
        }
    }

    /// Moves by `n` units of `g`, keeping the unit's own size when it is finer (see
    /// [`TimeKey::shift_in`]): "a year earlier" than Q3 2024 is Q3 2023.
    pub fn shift_in(&self, g: Granularity, n: i64) -> Unit {
        match *self {
            Unit::Key(k) => Unit::Key(k.shift_in(g, n)),
            Unit::Half(q) if g == Granularity::Year => Unit::Half(q.shift(n.saturating_mul(4))),
            Unit::Half(_) | Unit::Decade(_) => Unit::Key(self.narrow(g, n > 0).shift(n)),
            window @ Unit::Window { .. } => window,
        }
    }
}

/// `[start, end)`, or unbounded at the end if arithmetic saturated.
pub(super) fn span(start: NaiveDate, end: NaiveDate) -> Interval {
    Interval::new(Some(start), Some(end)).unwrap_or(Interval::since(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> TimeKey {
        TimeKey::parse(s).unwrap()
    }

    #[test]
    fn halves() {
        let h2 = Unit::half(2023, 2).unwrap();
        assert_eq!(h2.interval().to_string(), "2023-07-01..2024-01-01");
        assert_eq!(h2.granularity(), Granularity::Quarter);
        assert_eq!(h2.step(1).interval().to_string(), "2024-01-01..2024-07-01");
        assert_eq!(
            h2.shift_in(Granularity::Year, -1),
            Unit::half(2022, 2).unwrap()
        );
        assert_eq!(
            h2.shift_in(Granularity::Quarter, 1),
            Unit::Key(k("2024-Q1"))
        );
        assert_eq!(Unit::half(2024, 3), Err(Problem::Half(3)));
    }

    #[test]
    fn decades_and_keys() {
        let nineties = Unit::Decade(k("1990"));
        assert_eq!(nineties.interval().to_string(), "1990-01-01..2000-01-01");
        assert_eq!(nineties.key(), None);
        assert!(!nineties.is_anchor());
        let q3 = Unit::Key(k("2024-Q3"));
        assert_eq!(q3.shift_in(Granularity::Year, -1), Unit::Key(k("2023-Q3")));
        assert_eq!(q3.narrow(Granularity::Month, true), k("2024-09"));
        assert_eq!(q3.year(), 2024);
    }
}
