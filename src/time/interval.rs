//! Half-open intervals of days, possibly unbounded on either side.
//!
//! An [`Interval`] is what a time expression denotes and what facts are valid over.
//! `start` is the first day included, `end` the first day excluded; `None` means unbounded
//! on that side. Intervals are never empty: every constructor rejects `end <= start`.
//! The text form is `START..END` with either side left blank when unbounded, e.g.
//! `2024-07-01..2024-10-01`, `..2019-01-01`, `2020-01-01..` and `..`.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{TimeError, TimeKey};

/// Half-open interval of days `[start, end)`; null = unbounded on that side. Never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "RawInterval")]
pub struct Interval {
    /// First day included, or null for "since the beginning of time".
    pub start: Option<NaiveDate>,
    /// First day excluded, or null for "forever".
    pub end: Option<NaiveDate>,
}

/// Unvalidated serde form of [`Interval`].
#[derive(Deserialize, schemars::JsonSchema)]
struct RawInterval {
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
}

impl TryFrom<RawInterval> for Interval {
    type Error = TimeError;

    fn try_from(raw: RawInterval) -> Result<Self, Self::Error> {
        Interval::new(raw.start, raw.end)
    }
}

/// The later of two starts, `None` being the earliest.
fn later_start(a: Option<NaiveDate>, b: Option<NaiveDate>) -> Option<NaiveDate> {
    a.max(b)
}

/// The earlier of two ends, `None` being the latest.
fn earlier_end(a: Option<NaiveDate>, b: Option<NaiveDate>) -> Option<NaiveDate> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

impl Interval {
    /// Builds an interval, rejecting empty ones (`end <= start`) with [`TimeError::EmptyRange`].
    pub fn new(start: Option<NaiveDate>, end: Option<NaiveDate>) -> Result<Self, TimeError> {
        match (start, end) {
            (Some(s), Some(e)) if e <= s => Err(TimeError::EmptyRange(format!(
                "{s}..{e} is empty: it ends before it starts"
            ))),
            _ => Ok(Interval { start, end }),
        }
    }

    /// All of time: `..`.
    pub fn all() -> Self {
        Interval {
            start: None,
            end: None,
        }
    }

    /// From `d` (included) on, unbounded: `d..`.
    pub fn since(d: NaiveDate) -> Self {
        Interval {
            start: Some(d),
            end: None,
        }
    }

    /// Everything before `d` (excluded): `..d`.
    pub fn before(d: NaiveDate) -> Self {
        Interval {
            start: None,
            end: Some(d),
        }
    }

    /// The single day `d`. (For `NaiveDate::MAX`, which has no next day, the end is unbounded.)
    pub fn day(d: NaiveDate) -> Self {
        Interval {
            start: Some(d),
            end: d.succ_opt(),
        }
    }

    /// Whether the two intervals share at least one day.
    pub fn overlaps(&self, o: &Interval) -> bool {
        self.intersect(o).is_some()
    }

    /// Whether every day of `o` is in `self`.
    pub fn contains(&self, o: &Interval) -> bool {
        let start_ok = match (self.start, o.start) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(s), Some(os)) => s <= os,
        };
        let end_ok = match (self.end, o.end) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(e), Some(oe)) => oe <= e,
        };
        start_ok && end_ok
    }

    /// Whether the day `d` is in the interval.
    pub fn contains_date(&self, d: NaiveDate) -> bool {
        self.start.is_none_or(|s| s <= d) && self.end.is_none_or(|e| d < e)
    }

    /// The days in both intervals, or `None` when they do not overlap.
    pub fn intersect(&self, o: &Interval) -> Option<Interval> {
        Interval::new(
            later_start(self.start, o.start),
            earlier_end(self.end, o.end),
        )
        .ok()
    }

    /// The smallest interval containing both (including any gap between them).
    pub fn hull(&self, o: &Interval) -> Interval {
        let start = self.start.zip(o.start).map(|(a, b)| a.min(b));
        let end = self.end.zip(o.end).map(|(a, b)| a.max(b));
        Interval { start, end }
    }

    /// Whether every bounded end lies in the supported years 1000–9999 (an end may be
    /// 10000-01-01, the day after the last supported day).
    pub fn is_supported(&self) -> bool {
        let lo = NaiveDate::from_ymd_opt(super::key::MIN_YEAR, 1, 1);
        let hi = NaiveDate::from_ymd_opt(super::key::MAX_YEAR + 1, 1, 1);
        self.start.is_none_or(|s| Some(s) >= lo && Some(s) < hi)
            && self.end.is_none_or(|e| Some(e) > lo && Some(e) <= hi)
    }

    /// Whether both ends are bounded.
    pub fn is_bounded(&self) -> bool {
        self.start.is_some() && self.end.is_some()
    }

    /// Number of days, when bounded.
    pub fn days(&self) -> Option<i64> {
        Some((self.end? - self.start?).num_days())
    }

    /// Days since 0001-01-01 (chrono's `num_days_from_ce`) of the start, or `i32::MIN` when
    /// unbounded: with [`Interval::end_key`], a big-endian sortable key for storage.
    pub fn start_key(&self) -> i32 {
        self.start
            .map_or(i32::MIN, |d| chrono::Datelike::num_days_from_ce(&d))
    }

    /// Days since 0001-01-01 of the (exclusive) end, or `i32::MAX` when unbounded.
    pub fn end_key(&self) -> i32 {
        self.end
            .map_or(i32::MAX, |d| chrono::Datelike::num_days_from_ce(&d))
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = self.start {
            write!(f, "{s}")?;
        }
        f.write_str("..")?;
        if let Some(e) = self.end {
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Parses one side of `START..END`: empty means unbounded.
fn parse_side(side: &str, whole: &str) -> Result<Option<NaiveDate>, TimeError> {
    let side = side.trim();
    if side.is_empty() {
        return Ok(None);
    }
    if let Ok(day) = side.parse::<NaiveDate>() {
        return Ok(Some(day));
    }
    match TimeKey::parse(side) {
        // A well-formed but impossible day such as 2023-02-30 gets the precise message.
        Err(e @ TimeError::Invalid(_)) => Err(e),
        _ => Err(TimeError::Unrecognised(format!(
            "\"{whole}\" is not an interval (expected START..END with days like 2024-07-01; \
             either side may be left empty)"
        ))),
    }
}

impl FromStr for Interval {
    type Err = TimeError;

    /// Parses the [`Display`](fmt::Display) form back, ignoring surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        super::normalise::check_length(s)?;
        let whole = s.trim();
        let (a, b) = whole.split_once("..").ok_or_else(|| {
            TimeError::Unrecognised(format!(
                "\"{whole}\" is not an interval (expected START..END, e.g. 2024-07-01..2024-10-01)"
            ))
        })?;
        Interval::new(parse_side(a, whole)?, parse_side(b, whole)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(s: &str) -> Interval {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn display_parse_round_trip() {
        for s in [
            "2024-07-01..2024-10-01",
            "..2019-01-01",
            "2020-01-01..",
            "..",
            "2024-07-15..2024-07-16",
        ] {
            assert_eq!(iv(s).to_string(), s);
            let json = serde_json::to_string(&iv(s)).unwrap();
            assert_eq!(serde_json::from_str::<Interval>(&json).unwrap(), iv(s));
        }
        assert_eq!(
            iv(" 2024-07-01 .. 2024-10-01 "),
            iv("2024-07-01..2024-10-01")
        );
        let far = Interval::since(NaiveDate::MAX.pred_opt().unwrap());
        assert_eq!(far.to_string().parse::<Interval>().unwrap(), far);
    }

    #[test]
    fn parse_rejects_bad_input() {
        let variant = |e: &TimeError| match e {
            TimeError::Invalid(_) => "invalid",
            TimeError::EmptyRange(_) => "empty",
            TimeError::Unrecognised(_) => "unrecognised",
            TimeError::NeedsReference(_) => "needs reference",
        };
        let cases = [
            ("2024-10-01..2024-07-01", "empty"),
            ("2024-07-01..2024-07-01", "empty"),
            ("2023-02-30..", "invalid"),
            ("2024-07-01", "unrecognised"),
            ("2024-07..2024-08", "unrecognised"),
            ("yesterday..today", "unrecognised"),
        ];
        for (input, expected) in cases {
            let err = input.parse::<Interval>().unwrap_err();
            assert_eq!(variant(&err), expected, "{input}: {err:?}");
        }
        let json = r#"{"start":"2024-10-01","end":"2024-07-01"}"#;
        assert!(serde_json::from_str::<Interval>(json).is_err());
    }

    #[test]
    fn constructors() {
        assert!(Interval::new(Some(d("2024-01-02")), Some(d("2024-01-01"))).is_err());
        assert_eq!(Interval::new(None, None).unwrap(), Interval::all());
        assert_eq!(Interval::since(d("2020-01-01")).to_string(), "2020-01-01..");
        assert_eq!(
            Interval::before(d("2019-01-01")).to_string(),
            "..2019-01-01"
        );
        assert_eq!(
            Interval::day(d("2024-02-29")).to_string(),
            "2024-02-29..2024-03-01"
        );
        assert_eq!(Interval::day(NaiveDate::MAX).end, None);
        assert_eq!(iv("2024-01-01..2025-01-01").days(), Some(366));
        assert_eq!(iv("2024-01-01..").days(), None);
        assert!(iv("2024-01-01..2025-01-01").is_bounded());
        assert!(!iv("..2025-01-01").is_bounded());
    }

    #[test]
    fn overlap_contains_intersect_hull() {
        // (a, b, overlaps, a contains b, intersection, hull)
        #[rustfmt::skip]
        let cases = [
            ("2024-01-01..2024-07-01", "2024-04-01..2024-10-01", true, false, Some("2024-04-01..2024-07-01"), "2024-01-01..2024-10-01"),
            ("2024-01-01..2024-04-01", "2024-04-01..2024-07-01", false, false, None, "2024-01-01..2024-07-01"),
            ("2024-01-01..2025-01-01", "2024-07-01..2024-10-01", true, true, Some("2024-07-01..2024-10-01"), "2024-01-01..2025-01-01"),
            ("2020-01-01..", "2024-07-01..2024-10-01", true, true, Some("2024-07-01..2024-10-01"), "2020-01-01.."),
            ("..2019-01-01", "2020-01-01..", false, false, None, ".."),
            ("..2019-01-01", "2018-06-01..2019-06-01", true, false, Some("2018-06-01..2019-01-01"), "..2019-06-01"),
            ("..", "2018-06-01..", true, true, Some("2018-06-01.."), ".."),
            ("2024-07-01..2024-10-01", "..", true, false, Some("2024-07-01..2024-10-01"), ".."),
        ];
        for (a, b, overlaps, contains, inter, hull) in cases {
            let (a, b) = (iv(a), iv(b));
            assert_eq!(a.overlaps(&b), overlaps, "{a} overlaps {b}");
            assert_eq!(b.overlaps(&a), overlaps, "{b} overlaps {a}");
            assert_eq!(a.contains(&b), contains, "{a} contains {b}");
            assert_eq!(
                a.intersect(&b).map(|i| i.to_string()).as_deref(),
                inter,
                "{a} ∩ {b}"
            );
            assert_eq!(a.hull(&b).to_string(), hull, "{a} ∪ {b}");
            assert_eq!(b.hull(&a).to_string(), hull);
            assert!(a.contains(&a));
        }
    }

    #[test]
    fn contains_date_and_sort_keys() {
        let q3 = iv("2024-07-01..2024-10-01");
        assert!(q3.contains_date(d("2024-07-01")));
        assert!(q3.contains_date(d("2024-09-30")));
        assert!(!q3.contains_date(d("2024-10-01")));
        assert!(!q3.contains_date(d("2024-06-30")));
        assert!(Interval::all().contains_date(d("1000-01-01")));
        assert_eq!(iv("0001-01-01..0001-01-02").start_key(), 1);
        assert_eq!(q3.end_key() - q3.start_key(), 92);
        assert_eq!(iv("..2019-01-01").start_key(), i32::MIN);
        assert_eq!(iv("2020-01-01..").end_key(), i32::MAX);
        assert!(iv("2019-01-01..").start_key() < iv("2020-01-01..").start_key());
    }
}
