//! Calendar keys: one named calendar unit such as `2024`, `2024-Q3`, `2024-07`, `2024-W28`
//! (ISO week) or `2024-07-15`.
//!
//! A [`TimeKey`] is the unit in which ChronoRAG files and queries facts by time. Its canonical
//! string form is also its serialised form, and keys sort chronologically by start day, with
//! the coarser unit first when two keys start on the same day (`2024 < 2024-Q1 < 2024-01 <
//! 2024-W01 < 2024-01-01`).
//!
//! Constructors and [`TimeKey::parse`] accept years 1000–9999. Arithmetic ([`TimeKey::shift`],
//! [`TimeKey::shift_in`]) and [`TimeKey::day`] never fail: they may leave that range (saturating
//! only at the limits of `chrono::NaiveDate`); [`TimeKey::is_supported`] tells. Such keys are
//! refused by the normaliser and by [`crate::store::WriteSet::check`], so they never reach a
//! record; should one have been written by an older release, deserialising still reads it back
//! (any year `chrono` can represent), so a store never becomes unreadable because of a key.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use super::calendar::{
    Problem, add_days, add_months, check_date, check_year, days_in_month, digits, iso_weeks_in_year,
};
use super::{Granularity, Interval, TimeError};

pub use super::calendar::{MAX_YEAR, MIN_YEAR};

/// One calendar unit: a year, quarter, month, ISO week or day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeKey {
    start: NaiveDate,
    granularity: Granularity,
}

impl TimeKey {
    fn new(start: NaiveDate, granularity: Granularity) -> Self {
        TimeKey { start, granularity }
    }

    pub(crate) fn try_year(year: i32) -> Result<Self, Problem> {
        let start = check_date(check_year(year)?, 1, 1)?;
        Ok(Self::new(start, Granularity::Year))
    }

    pub(crate) fn try_quarter(year: i32, quarter: u32) -> Result<Self, Problem> {
        check_year(year)?;
        if !(1..=4).contains(&quarter) {
            return Err(Problem::Quarter(quarter));
        }
        let start = check_date(year, quarter * 3 - 2, 1)?;
        Ok(Self::new(start, Granularity::Quarter))
    }

    pub(crate) fn try_month(year: i32, month: u32) -> Result<Self, Problem> {
        Ok(Self::new(check_date(year, month, 1)?, Granularity::Month))
    }

    pub(crate) fn try_week(iso_year: i32, week: u32) -> Result<Self, Problem> {
        check_year(iso_year)?;
        NaiveDate::from_isoywd_opt(iso_year, week, Weekday::Mon)
            .filter(|_| week >= 1)
            .map(|start| Self::new(start, Granularity::Week))
            .ok_or(Problem::Week {
                year: iso_year,
                week,
            })
    }

    /// The year `year` (1000–9999).
    pub fn year(year: i32) -> Result<Self, TimeError> {
        Self::try_year(year).map_err(|p| p.describe(&format!("{year:04}"), "a year"))
    }

    /// Quarter `quarter` (1–4) of `year`.
    pub fn quarter(year: i32, quarter: u32) -> Result<Self, TimeError> {
        Self::try_quarter(year, quarter)
            .map_err(|p| p.describe(&format!("{year:04}-Q{quarter}"), "a quarter"))
    }

    /// Month `month` (1–12) of `year`.
    pub fn month(year: i32, month: u32) -> Result<Self, TimeError> {
        Self::try_month(year, month)
            .map_err(|p| p.describe(&format!("{year:04}-{month:02}"), "a month"))
    }

    /// ISO week `week` (1–52 or 53) of the ISO week-numbering year `iso_year`.
    pub fn week(iso_year: i32, week: u32) -> Result<Self, TimeError> {
        Self::try_week(iso_year, week)
            .map_err(|p| p.describe(&format!("{iso_year:04}-W{week:02}"), "a week"))
    }

    /// The single day `d`. Never fails; days outside years 1000–9999 are kept as they are.
    pub fn day(d: NaiveDate) -> Self {
        Self::new(d, Granularity::Day)
    }

    /// Parses a canonical key, ignoring surrounding whitespace and the case of `Q`/`W`:
    /// `2024`, `2024-Q3`, `2024-07`, `2024-W28` or `2024-07-15`. Free text such as
    /// `"Q3 2024"` is the job of [`crate::time::parse_time`].
    pub fn parse(s: &str) -> Result<Self, TimeError> {
        super::normalise::check_length(s)?;
        let text = s.trim();
        let unrecognised = || {
            TimeError::Unrecognised(format!(
                "\"{text}\" is not a time key (expected a form like 2024, 2024-Q3, 2024-07, \
                 2024-W28 or 2024-07-15)"
            ))
        };
        let mut parts = text.split('-');
        let year = parts
            .next()
            .and_then(|p| digits(p, 4))
            .ok_or_else(unrecognised)? as i32;
        let second = parts.next();
        let third = parts.next();
        if parts.next().is_some() {
            return Err(unrecognised());
        }
        let (result, what) = match (second, third) {
            (None, _) => (Self::try_year(year), "a year"),
            (Some(p), None) if p.len() == 2 && p.starts_with(['Q', 'q']) => {
                let q = digits(&p[1..], 1).ok_or_else(unrecognised)?;
                (Self::try_quarter(year, q), "a quarter")
            }
            (Some(p), None) if p.len() == 3 && p.starts_with(['W', 'w']) => {
                let w = digits(&p[1..], 2).ok_or_else(unrecognised)?;
                (Self::try_week(year, w), "a week")
            }
            (Some(p), None) => {
                let m = digits(p, 2).ok_or_else(unrecognised)?;
                (Self::try_month(year, m), "a month")
            }
            (Some(m), Some(d)) => {
                let m = digits(m, 2).ok_or_else(unrecognised)?;
                let d = digits(d, 2).ok_or_else(unrecognised)?;
                (check_date(year, m, d).map(Self::day), "a date")
            }
        };
        result.map_err(|p| p.describe(text, what))
    }

    /// Whether the key lies in the supported years 1000–9999 (for a week, its ISO year), i.e.
    /// whether [`TimeKey::parse`] reads its canonical form back.
    pub fn is_supported(&self) -> bool {
        (MIN_YEAR..=MAX_YEAR).contains(&self.year_of())
    }

    /// Reads back any key this type can display, including years outside 1000–9999 (`10000`,
    /// `-001-Q3`) that arithmetic may have produced. Only for stored records: user input goes
    /// through [`TimeKey::parse`], which refuses them.
    pub(crate) fn parse_stored(s: &str) -> Result<Self, TimeError> {
        if let Ok(k) = Self::parse(s) {
            return Ok(k);
        }
        let bad = || TimeError::Unrecognised(format!("\"{s}\" is not a stored time key"));
        let (sign, body) = match s.strip_prefix('-') {
            Some(rest) => (-1, rest),
            None => (1, s),
        };
        let mut parts = body.split('-');
        let year_text = parts.next().ok_or_else(bad)?;
        if !(4..=6).contains(&year_text.len()) || !year_text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year = sign * year_text.parse::<i32>().map_err(|_| bad())?;
        let num = |p: &str| p.parse::<u32>().map_err(|_| bad());
        let key = match (parts.next(), parts.next(), parts.next()) {
            (None, ..) => {
                NaiveDate::from_ymd_opt(year, 1, 1).map(|d| Self::new(d, Granularity::Year))
            }
            (Some(p), None, _) if p.starts_with('Q') => {
                let q = num(&p[1..])?;
                (1..=4)
                    .contains(&q)
                    .then(|| NaiveDate::from_ymd_opt(year, q * 3 - 2, 1))
                    .flatten()
                    .map(|d| Self::new(d, Granularity::Quarter))
            }
            (Some(p), None, _) if p.starts_with('W') => {
                NaiveDate::from_isoywd_opt(year, num(&p[1..])?, Weekday::Mon)
                    .map(|d| Self::new(d, Granularity::Week))
            }
            (Some(m), None, _) => {
                NaiveDate::from_ymd_opt(year, num(m)?, 1).map(|d| Self::new(d, Granularity::Month))
            }
            (Some(m), Some(d), None) => {
                NaiveDate::from_ymd_opt(year, num(m)?, num(d)?).map(Self::day)
            }
            _ => None,
        };
        key.ok_or_else(bad)
    }

    /// The size of this unit.
    pub fn granularity(&self) -> Granularity {
        self.granularity
    }

    /// The year this unit belongs to; for a week, its ISO week-numbering year
    /// (`2024-W01` starts on 2024-01-01, but `2020-W53` ends in January 2021 and still says 2020).
    pub fn year_of(&self) -> i32 {
        match self.granularity {
            Granularity::Week => self.start.iso_week().year(),
            _ => self.start.year(),
        }
    }

    /// The first day of the unit.
    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// The day after the last day of the unit (exclusive end). Saturates at `NaiveDate::MAX`.
    pub fn end(&self) -> NaiveDate {
        self.end_opt().unwrap_or(NaiveDate::MAX)
    }

    fn end_opt(&self) -> Option<NaiveDate> {
        match self.granularity {
            Granularity::Day => self.start.succ_opt(),
            Granularity::Week => self.start.checked_add_days(Days::new(7)),
            g => self
                .start
                .checked_add_months(Months::new(g.months().unwrap_or(1))),
        }
    }

    /// The last day of the unit (inclusive).
    pub(crate) fn last_day(&self) -> NaiveDate {
        self.end_opt()
            .and_then(|e| e.pred_opt())
            .unwrap_or(NaiveDate::MAX)
    }

    /// The half-open interval of days covered by the unit.
    pub fn interval(&self) -> Interval {
        Interval {
            start: Some(self.start),
            end: self.end_opt(),
        }
    }

    /// The next coarser unit containing this one: day → month, week → the month containing
    /// the week's Thursday, month → quarter, quarter → year, year → `None`.
    pub fn parent(&self) -> Option<TimeKey> {
        let (day, g) = match self.granularity {
            Granularity::Day => (self.start, Granularity::Month),
            Granularity::Week => (self.start + Days::new(3), Granularity::Month),
            Granularity::Month => (self.start, Granularity::Quarter),
            Granularity::Quarter => (self.start, Granularity::Year),
            Granularity::Year => return None,
        };
        Some(Self::containing(day, g))
    }

    /// The units one level down: year → 4 quarters, quarter → 3 months, month → its days,
    /// week → its 7 days, day → none.
    pub fn children(&self) -> Vec<TimeKey> {
        let (g, count) = match self.granularity {
            Granularity::Year => (Granularity::Quarter, 4),
            Granularity::Quarter => (Granularity::Month, 3),
            Granularity::Month => (
                Granularity::Day,
                days_in_month(self.year_of(), self.start.month()),
            ),
            Granularity::Week => (Granularity::Day, 7),
            Granularity::Day => return Vec::new(),
        };
        let first = Self::containing(self.start, g);
        (0..i64::from(count)).map(|i| first.shift(i)).collect()
    }

    /// Every coarser unit containing this one, parent first, ending with the year.
    pub fn ancestors(&self) -> Vec<TimeKey> {
        std::iter::successors(self.parent(), TimeKey::parent).collect()
    }

    /// The unit of granularity `g` containing the day `d`.
    pub fn containing(d: NaiveDate, g: Granularity) -> TimeKey {
        let start = match g {
            Granularity::Day => d,
            Granularity::Week => {
                let back = u64::from(d.weekday().num_days_from_monday());
                d.checked_sub_days(Days::new(back))
                    .or_else(|| d.checked_add_days(Days::new((7 - back) % 7)))
                    .unwrap_or(d)
            }
            Granularity::Month => d.with_day(1).unwrap_or(d),
            Granularity::Quarter => {
                let m = (d.month() - 1) / 3 * 3 + 1;
                NaiveDate::from_ymd_opt(d.year(), m, 1).unwrap_or(d)
            }
            Granularity::Year => NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d),
        };
        Self::new(start, g)
    }

    /// Moves by `n` units of the key's own granularity (`2024-Q1` shifted by -1 is `2023-Q4`).
    pub fn shift(&self, n: i64) -> TimeKey {
        let g = self.granularity;
        let moved = match g {
            Granularity::Day => add_days(self.start, n),
            Granularity::Week => add_days(self.start, n.saturating_mul(7)),
            _ => add_months(
                self.start,
                n.saturating_mul(i64::from(g.months().unwrap_or(1))),
            ),
        };
        Self::containing(moved, g)
    }

    /// Moves by `n` units of `unit`. A key finer than `unit` keeps its granularity
    /// (`2024-Q3` moved by -1 year is `2023-Q3`; `2024-W28` moved by 1 year is `2025-W28`,
    /// or the last week of 2025 if it has fewer). So does a coarser key moved by a whole
    /// number of its own units (`2024-Q3` moved by 3 months is `2024-Q4`); otherwise a coarser
    /// key is first narrowed to `unit`, from its last day when moving forward and from its
    /// first day otherwise (`2024` moved by 1 quarter is `2025-Q1`, by -1 quarter `2023-Q4`).
    pub fn shift_in(&self, unit: Granularity, n: i64) -> TimeKey {
        let g = self.granularity;
        if g == unit {
            return self.shift(n);
        }
        if g > unit {
            // A whole number of the key's own units keeps its granularity: three months
            // after a quarter is the next quarter.
            let whole_steps = match (g.months(), unit.months()) {
                (Some(own), Some(per)) => {
                    let months = n.saturating_mul(i64::from(per));
                    (months % i64::from(own) == 0).then(|| months / i64::from(own))
                }
                // A week moved by days.
                (None, None) => (n % 7 == 0).then_some(n / 7),
                _ => None,
            };
            if let Some(steps) = whole_steps
                && n != 0
            {
                return self.shift(steps);
            }
            let from = if n > 0 { self.last_day() } else { self.start };
            return Self::containing(from, unit).shift(n);
        }
        let months = n.saturating_mul(i64::from(unit.months().unwrap_or(1)));
        match g {
            Granularity::Day if unit == Granularity::Week => self.shift(n.saturating_mul(7)),
            Granularity::Day => Self::day(add_months(self.start, months)),
            Granularity::Week if months % 12 == 0 => {
                let year = i64::from(self.year_of()).saturating_add(months / 12);
                let year =
                    i32::try_from(year).unwrap_or(if months < 0 { i32::MIN } else { i32::MAX });
                let week = self.start.iso_week().week().min(iso_weeks_in_year(year));
                NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)
                    .map_or_else(|| self.shift(months / 12 * 52), |d| Self::new(d, g))
            }
            _ => Self::containing(add_months(self.start, months), g),
        }
    }

    /// The calendar unit covering exactly `iv`, the coarsest if several do (a bounded
    /// interval of one day is a day, `2024-01-01..2025-01-01` is the year 2024), else `None`.
    pub fn from_interval(iv: &Interval) -> Option<TimeKey> {
        let (Some(start), Some(end)) = (iv.start, iv.end) else {
            return None;
        };
        Granularity::ALL
            .iter()
            .rev()
            .map(|&g| Self::containing(start, g))
            .find(|k| k.start == start && k.end_opt() == Some(end))
    }
}

impl PartialOrd for TimeKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TimeKey {
    /// Chronological by start day; on the same start day the coarser unit comes first.
    fn cmp(&self, other: &Self) -> Ordering {
        self.start
            .cmp(&other.start)
            .then_with(|| other.granularity.cmp(&self.granularity))
    }
}

impl fmt::Display for TimeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.start;
        match self.granularity {
            Granularity::Year => write!(f, "{:04}", d.year()),
            Granularity::Quarter => write!(f, "{:04}-Q{}", d.year(), (d.month() - 1) / 3 + 1),
            Granularity::Month => write!(f, "{:04}-{:02}", d.year(), d.month()),
            Granularity::Week => {
                let w = d.iso_week();
                write!(f, "{:04}-W{:02}", w.year(), w.week())
            }
            Granularity::Day => write!(f, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
        }
    }
}

impl FromStr for TimeKey {
    type Err = TimeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for TimeKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TimeKey::parse_stored(&text).map_err(de::Error::custom)
    }
}

impl schemars::JsonSchema for TimeKey {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TimeKey".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "One calendar unit in its canonical form: `2024`, `2024-Q3`, `2024-07`, `2024-W28` or `2024-07-15`",
            "examples": ["2024-Q3"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> TimeKey {
        TimeKey::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn strings(keys: &[TimeKey]) -> Vec<String> {
        keys.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn canonical_forms_round_trip() {
        for s in [
            "2024",
            "2024-Q3",
            "2024-07",
            "2024-W28",
            "2024-07-15",
            "2020-W53",
            "1000",
            "9999-12-31",
        ] {
            assert_eq!(k(s).to_string(), s);
            assert_eq!(s.parse::<TimeKey>().unwrap(), k(s));
            let json = serde_json::to_string(&k(s)).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<TimeKey>(&json).unwrap(), k(s));
        }
        assert_eq!(k(" 2024-q3 ").to_string(), "2024-Q3");
        assert_eq!(k("2024-w01").to_string(), "2024-W01");
    }

    #[test]
    fn parse_rejects_with_clear_messages() {
        let cases = [
            (
                "2023-02-30",
                "2023-02-30 is not a date (February 2023 has 28 days)",
            ),
            (
                "2024-02-30",
                "2024-02-30 is not a date (February 2024 has 29 days)",
            ),
            (
                "2023-13-01",
                "2023-13-01 is not a date (there is no month 13)",
            ),
            ("2023-13", "2023-13 is not a month (there is no month 13)"),
            (
                "2023-Q5",
                "2023-Q5 is not a quarter (quarters run from Q1 to Q4)",
            ),
            (
                "2023-Q0",
                "2023-Q0 is not a quarter (quarters run from Q1 to Q4)",
            ),
            ("2024-W54", "2024-W54 is not a week (2024 has 52 ISO weeks)"),
            ("2025-W53", "2025-W53 is not a week (2025 has 52 ISO weeks)"),
            (
                "0000",
                "0000 is not a year (year 0 is outside the supported range 1000–9999)",
            ),
            (
                "0999-01-01",
                "0999-01-01 is not a date (year 999 is outside the supported range 1000–9999)",
            ),
        ];
        for (input, message) in cases {
            let err = TimeKey::parse(input).unwrap_err();
            assert!(matches!(err, TimeError::Invalid(_)), "{input}: {err:?}");
            assert_eq!(err.to_string(), message);
        }
        assert_eq!(k("2026-W53").to_string(), "2026-W53");
        for bad in [
            "",
            "24",
            "2024-7",
            "2024-07-5",
            "2024-Q",
            "Q3 2024",
            "2024-07-15-01",
            "+024",
            "२०२४",
            "2024-W1",
        ] {
            let err = TimeKey::parse(bad).unwrap_err();
            assert!(
                matches!(err, TimeError::Unrecognised(_)),
                "{bad:?}: {err:?}"
            );
        }
        assert!(serde_json::from_str::<TimeKey>("\"2023-02-30\"").is_err());
    }

    /// Regression (outage): a document dated 9999-12-31 saying "three months later" produced
    /// the key `10000-Q1`, which was written but could not be read back, and the namespace
    /// answered 500 ever after. Keys outside 1000–9999 are now refused before they are written
    /// (`is_supported`), and any key that displays also deserialises.
    #[test]
    fn every_displayable_key_reads_back_from_storage() {
        let edge = k("9999-12-31");
        let mut keys = vec![
            edge.shift_in(Granularity::Month, 3),
            edge.shift_in(Granularity::Quarter, 1),
            k("9999-Q4").shift(1),
            k("9999").shift(1),
            k("9999-12").shift(1),
            k("9999-W52").shift(1),
            k("1000").shift(-1),
            k("1000-01-01").shift(-1),
            k("1000-Q1").shift(-3),
            k("2024").shift(i64::MAX),
            k("2024-07-15").shift(i64::MIN),
            k("2024-07").shift_in(Granularity::Year, -5000),
        ];
        keys.extend([k("9999-W52").shift(3), k("9999-12-31").shift(400)]);
        for key in keys {
            assert!(!key.is_supported(), "{key} should be outside 1000–9999");
            let json = serde_json::to_string(&key).unwrap();
            let back: TimeKey =
                serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(back, key, "{json}");
            assert!(
                TimeKey::parse(&key.to_string()).is_err(),
                "user input stays 1000–9999"
            );
        }
        assert!(edge.is_supported() && k("1000").is_supported());
    }

    #[test]
    fn constructors_validate() {
        assert_eq!(TimeKey::year(2024).unwrap().to_string(), "2024");
        assert_eq!(TimeKey::quarter(2024, 3).unwrap().to_string(), "2024-Q3");
        assert_eq!(TimeKey::month(2024, 7).unwrap().to_string(), "2024-07");
        assert_eq!(TimeKey::week(2024, 28).unwrap().to_string(), "2024-W28");
        assert_eq!(TimeKey::day(d("2024-07-15")).to_string(), "2024-07-15");
        assert!(TimeKey::year(0).is_err());
        assert!(TimeKey::year(10_000).is_err());
        assert!(TimeKey::quarter(2024, 5).is_err());
        assert!(TimeKey::month(2024, 0).is_err());
        assert!(TimeKey::week(2024, 0).is_err());
        assert!(TimeKey::week(2024, 53).is_err());
        assert!(TimeKey::week(2020, 53).is_ok());
    }

    #[test]
    fn bounds_and_intervals() {
        let cases = [
            ("2024", "2024-01-01", "2025-01-01", 366),
            ("2024-Q3", "2024-07-01", "2024-10-01", 92),
            ("2024-02", "2024-02-01", "2024-03-01", 29),
            ("2024-W28", "2024-07-08", "2024-07-15", 7),
            ("2020-W53", "2020-12-28", "2021-01-04", 7),
            ("2024-07-15", "2024-07-15", "2024-07-16", 1),
        ];
        for (key, start, end, days) in cases {
            let key = k(key);
            assert_eq!((key.start(), key.end()), (d(start), d(end)), "{key}");
            assert_eq!(key.interval().days(), Some(days), "{key}");
            assert_eq!(key.interval().to_string(), format!("{start}..{end}"));
            assert_eq!(TimeKey::from_interval(&key.interval()), Some(key));
        }
        assert_eq!(k("2020-W53").year_of(), 2020);
        assert_eq!(k("2025-W01").year_of(), 2025);
        assert_eq!(k("2025-W01").start(), d("2024-12-30"));
    }

    #[test]
    fn parents_and_ancestors() {
        let cases = [
            ("2024-07-15", Some("2024-07"), "2024-07 2024-Q3 2024"),
            ("2024-07", Some("2024-Q3"), "2024-Q3 2024"),
            ("2024-Q3", Some("2024"), "2024"),
            ("2024", None, ""),
            // The week of 2024-07-29 has its Thursday on 1 August.
            ("2024-W31", Some("2024-08"), "2024-08 2024-Q3 2024"),
            // 2025-W01 starts on 2024-12-30 but its Thursday is 2025-01-02.
            ("2025-W01", Some("2025-01"), "2025-01 2025-Q1 2025"),
            ("2020-W53", Some("2020-12"), "2020-12 2020-Q4 2020"),
        ];
        for (key, parent, ancestors) in cases {
            let key = k(key);
            assert_eq!(
                key.parent().map(|p| p.to_string()).as_deref(),
                parent,
                "{key}"
            );
            assert_eq!(strings(&key.ancestors()).join(" "), ancestors, "{key}");
        }
    }

    #[test]
    fn children_partition_their_parent() {
        assert_eq!(
            strings(&k("2024").children()),
            ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
        );
        assert_eq!(
            strings(&k("2024-Q3").children()),
            ["2024-07", "2024-08", "2024-09"]
        );
        assert_eq!(k("2024-02").children().len(), 29);
        assert_eq!(k("2023-02").children().len(), 28);
        assert_eq!(k("2024-07-15").children(), Vec::<TimeKey>::new());
        let week = k("2024-W01").children();
        assert_eq!(
            strings(&week).first().map(String::as_str),
            Some("2024-01-01")
        );
        assert_eq!(
            strings(&week).last().map(String::as_str),
            Some("2024-01-07")
        );
        for key in ["2024", "2024-Q2", "2024-02", "2024-W10"] {
            let key = k(key);
            let kids = key.children();
            assert_eq!(kids.first().unwrap().start(), key.start());
            assert_eq!(kids.last().unwrap().end(), key.end());
            assert!(kids.windows(2).all(|w| w[0].end() == w[1].start()));
        }
    }

    #[test]
    fn containing_and_shift() {
        let day = d("2024-08-15");
        let containing = [
            (Granularity::Day, "2024-08-15"),
            (Granularity::Week, "2024-W33"),
            (Granularity::Month, "2024-08"),
            (Granularity::Quarter, "2024-Q3"),
            (Granularity::Year, "2024"),
        ];
        for (g, expected) in containing {
            assert_eq!(TimeKey::containing(day, g).to_string(), expected);
        }
        let shifts = [
            ("2024-Q1", -1, "2023-Q4"),
            ("2024-Q3", 6, "2026-Q1"),
            ("2024", -5, "2019"),
            ("2024-01", -1, "2023-12"),
            ("2024-12", 1, "2025-01"),
            ("2024-W01", -1, "2023-W52"),
            ("2020-W53", 1, "2021-W01"),
            ("2024-03-01", -1, "2024-02-29"),
            ("2024-07-15", 0, "2024-07-15"),
        ];
        for (key, n, expected) in shifts {
            assert_eq!(k(key).shift(n).to_string(), expected, "{key} {n}");
        }
        // Saturates instead of overflowing.
        let far = k("2024").shift(i64::MAX);
        assert_eq!(far.granularity(), Granularity::Year);
        assert!(k("2024-07-15").shift(i64::MIN) <= k("1000"));
    }

    #[test]
    fn shift_in_other_units() {
        let cases = [
            ("2024-Q3", Granularity::Year, -1, "2023-Q3"),
            ("2024-07", Granularity::Year, 1, "2025-07"),
            ("2024-07", Granularity::Quarter, -1, "2024-04"),
            ("2024-02-29", Granularity::Year, 1, "2025-02-28"),
            ("2024-07-15", Granularity::Week, 2, "2024-07-29"),
            ("2024-07-15", Granularity::Month, -1, "2024-06-15"),
            ("2020-W53", Granularity::Year, 1, "2021-W52"),
            ("2024-W28", Granularity::Year, -1, "2023-W28"),
            ("2024", Granularity::Quarter, 1, "2025-Q1"),
            ("2024", Granularity::Quarter, -1, "2023-Q4"),
            ("2024-Q3", Granularity::Month, -1, "2024-06"),
            ("2024-Q3", Granularity::Quarter, -1, "2024-Q2"),
            ("2024-Q3", Granularity::Month, 3, "2024-Q4"),
            ("2024", Granularity::Month, -24, "2022"),
            ("2024", Granularity::Quarter, 0, "2024-Q1"),
            ("2024-W28", Granularity::Day, 14, "2024-W30"),
            ("2024-W28", Granularity::Day, 1, "2024-07-15"),
        ];
        for (key, unit, n, expected) in cases {
            assert_eq!(
                k(key).shift_in(unit, n).to_string(),
                expected,
                "{key} {unit} {n}"
            );
        }
    }

    #[test]
    fn from_interval_finds_exact_units_only() {
        let cases = [
            ("2024-01-01..2025-01-01", Some("2024")),
            ("2024-04-01..2024-07-01", Some("2024-Q2")),
            ("2024-02-01..2024-03-01", Some("2024-02")),
            ("2024-07-08..2024-07-15", Some("2024-W28")),
            ("2024-07-09..2024-07-16", None),
            ("2024-07-15..2024-07-16", Some("2024-07-15")),
            ("2024-01-01..2024-07-01", None),
            ("2024-01-01..", None),
            ("..2024-01-01", None),
        ];
        for (iv, expected) in cases {
            let iv: Interval = iv.parse().unwrap();
            let found = TimeKey::from_interval(&iv).map(|k| k.to_string());
            assert_eq!(found.as_deref(), expected, "{iv}");
        }
    }

    #[test]
    fn ordering_is_chronological_then_coarse_first() {
        let mut keys: Vec<TimeKey> = [
            "2024-01-01",
            "2024-W01",
            "2024-01",
            "2024-Q1",
            "2024",
            "2023-12-31",
            "2024-01-02",
        ]
        .into_iter()
        .map(k)
        .collect();
        keys.sort();
        assert_eq!(
            strings(&keys),
            [
                "2023-12-31",
                "2024",
                "2024-Q1",
                "2024-01",
                "2024-W01",
                "2024-01-01",
                "2024-01-02"
            ]
        );
    }
}
