//! Calendar granularities: the size of a calendar unit, from a day up to a year.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The size of a calendar unit. Variants are ordered from fine to coarse, so
/// `Granularity::Day < Granularity::Year` and `max` gives the coarser of two.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "The size of a calendar unit.")]
pub enum Granularity {
    /// One calendar day.
    Day,
    /// One ISO 8601 week, Monday to Sunday.
    Week,
    /// One calendar month.
    Month,
    /// One calendar quarter (January–March, April–June, July–September, October–December).
    Quarter,
    /// One calendar year.
    Year,
}

impl Granularity {
    /// Every granularity, from fine to coarse.
    pub const ALL: [Granularity; 5] = [
        Granularity::Day,
        Granularity::Week,
        Granularity::Month,
        Granularity::Quarter,
        Granularity::Year,
    ];

    /// The lowercase name used in serialised form: `"day"`, `"week"`, `"month"`, `"quarter"`, `"year"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
            Granularity::Quarter => "quarter",
            Granularity::Year => "year",
        }
    }

    /// Parses a granularity name, ignoring case and surrounding whitespace. Besides the
    /// canonical names it accepts plurals (`"days"`) and the adverbs `daily`, `weekly`,
    /// `monthly`, `quarterly`, `yearly` and `annual`/`annually`.
    pub fn parse(s: &str) -> Option<Self> {
        let lower = s.trim().to_ascii_lowercase();
        Some(match lower.as_str() {
            "day" | "days" | "daily" => Granularity::Day,
            "week" | "weeks" | "weekly" => Granularity::Week,
            "month" | "months" | "monthly" => Granularity::Month,
            "quarter" | "quarters" | "quarterly" => Granularity::Quarter,
            "year" | "years" | "yearly" | "annual" | "annually" => Granularity::Year,
            _ => return None,
        })
    }

    /// How many months one unit spans, for the month-based granularities (`None` for day and week).
    pub fn months(&self) -> Option<u32> {
        match self {
            Granularity::Month => Some(1),
            Granularity::Quarter => Some(3),
            Granularity::Year => Some(12),
            Granularity::Day | Granularity::Week => None,
        }
    }
}

impl fmt::Display for Granularity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order_is_fine_to_coarse() {
        for g in Granularity::ALL {
            assert_eq!(Granularity::parse(g.as_str()), Some(g));
            assert_eq!(g.to_string(), g.as_str());
            let json = serde_json::to_string(&g).unwrap();
            assert_eq!(json, format!("\"{}\"", g.as_str()));
            assert_eq!(serde_json::from_str::<Granularity>(&json).unwrap(), g);
        }
        assert!(Granularity::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn parse_is_lenient_about_case_and_forms() {
        let cases = [
            (" Quarterly ", Some(Granularity::Quarter)),
            ("YEARS", Some(Granularity::Year)),
            ("annual", Some(Granularity::Year)),
            ("weekly", Some(Granularity::Week)),
            ("fortnight", None),
            ("", None),
        ];
        for (input, expected) in cases {
            assert_eq!(Granularity::parse(input), expected, "{input:?}");
        }
    }
}
