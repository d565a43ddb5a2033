//! Calendar facts and checks shared by the time module: month lengths, ISO weeks, date
//! validation with human-readable reasons, and saturating date arithmetic.

use chrono::{Datelike, Months, NaiveDate};

use super::TimeError;

/// First year accepted by the constructors and by [`TimeKey::parse`](super::TimeKey::parse).
pub const MIN_YEAR: i32 = 1000;
/// Last year accepted by the constructors and by [`TimeKey::parse`](super::TimeKey::parse).
pub const MAX_YEAR: i32 = 9999;

pub(crate) const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Why a calendar unit does not exist; shared with the normaliser so that its messages
/// quote the user's own text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    Year(i32),
    Month(u32),
    Day { year: i32, month: u32, day: u32 },
    Quarter(u32),
    Half(u32),
    Week { year: i32, week: u32 },
}

impl Problem {
    /// The explanation in parentheses, e.g. "February 2023 has 28 days".
    pub(crate) fn reason(&self) -> String {
        match *self {
            Problem::Year(y) => {
                format!("year {y} is outside the supported range {MIN_YEAR}–{MAX_YEAR}")
            }
            Problem::Month(m) => format!("there is no month {m}"),
            Problem::Day { day: 0, .. } => "there is no day 0".to_string(),
            Problem::Day { year, month, .. } => format!(
                "{} {year} has {} days",
                MONTH_NAMES[month as usize - 1],
                days_in_month(year, month)
            ),
            Problem::Quarter(_) => "quarters run from Q1 to Q4".to_string(),
            Problem::Half(_) => "halves are H1 and H2".to_string(),
            Problem::Week { week: 0, .. } => "ISO weeks are numbered from 1".to_string(),
            Problem::Week { year, .. } => {
                format!("{year} has {} ISO weeks", iso_weeks_in_year(year))
            }
        }
    }

    /// The full error: `"{text} is not {what} ({reason})"`.
    pub(crate) fn describe(&self, text: &str, what: &str) -> TimeError {
        TimeError::Invalid(format!("{text} is not {what} ({})", self.reason()))
    }
}

/// Number of days in a month of the proleptic Gregorian calendar (0 for an invalid month).
pub(crate) fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if NaiveDate::from_ymd_opt(year, 2, 29).is_some() => 29,
        2 => 28,
        _ => 0,
    }
}

/// Number of ISO weeks (52 or 53) in an ISO week-numbering year.
pub(crate) fn iso_weeks_in_year(year: i32) -> u32 {
    NaiveDate::from_ymd_opt(year, 12, 28).map_or(52, |d| d.iso_week().week())
}

pub(crate) fn check_year(year: i32) -> Result<i32, Problem> {
    if (MIN_YEAR..=MAX_YEAR).contains(&year) {
        Ok(year)
    } else {
        Err(Problem::Year(year))
    }
}

/// Validates a calendar date, explaining what is wrong with it.
pub(crate) fn check_date(year: i32, month: u32, day: u32) -> Result<NaiveDate, Problem> {
    check_year(year)?;
    if !(1..=12).contains(&month) {
        return Err(Problem::Month(month));
    }
    NaiveDate::from_ymd_opt(year, month, day).ok_or(Problem::Day { year, month, day })
}

/// Parses exactly `width` ASCII digits.
pub(crate) fn digits(s: &str, width: usize) -> Option<u32> {
    if s.len() == width && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Adds (or subtracts) days, saturating at the limits of `NaiveDate`.
pub(crate) fn add_days(d: NaiveDate, n: i64) -> NaiveDate {
    let lo = i64::from(NaiveDate::MIN.num_days_from_ce());
    let hi = i64::from(NaiveDate::MAX.num_days_from_ce());
    let target = i64::from(d.num_days_from_ce())
        .saturating_add(n)
        .clamp(lo, hi);
    i32::try_from(target)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .unwrap_or(d)
}

/// Adds (or subtracts) months, clamping the day to the end of the month and saturating at
/// the limits of `NaiveDate`.
pub(crate) fn add_months(d: NaiveDate, n: i64) -> NaiveDate {
    let moved = u32::try_from(n.unsigned_abs()).ok().and_then(|m| {
        if n >= 0 {
            d.checked_add_months(Months::new(m))
        } else {
            d.checked_sub_months(Months::new(m))
        }
    });
    moved.unwrap_or(if n >= 0 {
        NaiveDate::MAX
    } else {
        NaiveDate::MIN
    })
}
