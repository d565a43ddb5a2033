//! Table-driven tests of the normaliser.
//!
//! Each case is `(input, reference, expected spans)`; a span is written as its matched text
//! and a compact description of what it denotes (see [`describe`]):
//! `at 2023-Q3` (a key), `at 2024-01-01..2024-07-01 quarter` (no key), `before ..2026-01-01
//! (2025)`, `after 2020-01-01.. (2020)`, `between 2018-01-01..2021-01-01 year`, with ` ~rel`
//! or ` ~vague` appended for relative and vague spans.

use proptest::prelude::*;

use super::*;

type Case = (
    &'static str,
    Option<&'static str>,
    &'static [(&'static str, &'static str)],
);

/// Renders what a span denotes, compactly.
fn describe(s: &TimeSpan) -> String {
    let what = match (s.relation, s.key) {
        (Relation::At, Some(k)) => format!("at {k}"),
        (Relation::At, None) => format!("at {} {}", s.interval, s.granularity),
        (Relation::Before, Some(k)) => format!("before {} ({k})", s.interval),
        (Relation::After, Some(k)) => format!("after {} ({k})", s.interval),
        (Relation::Before, None) => format!("before {} {}", s.interval, s.granularity),
        (Relation::After, None) => format!("after {} {}", s.interval, s.granularity),
        (Relation::Between, key) => {
            assert_eq!(key, None, "a range has no key");
            format!("between {} {}", s.interval, s.granularity)
        }
    };
    let kind = match s.kind {
        SpanKind::Explicit => "",
        SpanKind::Relative => " ~rel",
        SpanKind::Vague => " ~vague",
    };
    format!("{what}{kind}")
}

/// Checks the invariants every span must satisfy.
fn check_invariants(text: &str, spans: &[TimeSpan]) {
    let mut last_end = 0;
    for s in spans {
        assert!(
            s.start < s.end && s.start >= last_end,
            "{text:?}: overlapping {spans:?}"
        );
        assert_eq!(text.get(s.start..s.end), Some(s.text.as_str()), "{text:?}");
        assert!(
            Interval::new(s.interval.start, s.interval.end).is_ok(),
            "empty: {s:?}"
        );
        if let (Relation::At, Some(k)) = (s.relation, s.key) {
            assert_eq!(
                (k.interval(), k.granularity()),
                (s.interval, s.granularity),
                "{s:?}"
            );
        }
        last_end = s.end;
    }
}

fn reference(r: Option<&str>) -> Option<TimeKey> {
    r.map(|r| TimeKey::parse(r).unwrap())
}

/// Runs `find_times` over every case of a table; reports all failures at once.
fn run(table: &[Case]) {
    let mut failures = Vec::new();
    for &(input, r, expected) in table {
        let spans = find_times(input, reference(r).as_ref());
        check_invariants(input, &spans);
        let got: Vec<(String, String)> = spans
            .iter()
            .map(|s| (s.text.clone(), describe(s)))
            .collect();
        let want: Vec<(String, String)> = expected
            .iter()
            .map(|(t, d)| (t.to_string(), d.to_string()))
            .collect();
        if got != want {
            failures.push(format!(
                "{input:?} (ref {r:?})\n   got:  {got:?}\n   want: {want:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
}

const Q3: Option<&str> = Some("2024-Q3");
const DAY: Option<&str> = Some("2024-08-15");

#[test]
#[rustfmt::skip]
fn dates() {
    run(&[
        ("2024-07-15", None, &[("2024-07-15", "at 2024-07-15")]),
        ("2024/07/15", None, &[("2024/07/15", "at 2024-07-15")]),
        ("July 15, 2024", None, &[("July 15, 2024", "at 2024-07-15")]),
        ("Jul. 15 2024", None, &[("Jul. 15 2024", "at 2024-07-15")]),
        ("15 July 2024", None, &[("15 July 2024", "at 2024-07-15")]),
        ("15th of July 2024", None, &[("15th of July 2024", "at 2024-07-15")]),
        ("15.07.2024", None, &[("15.07.2024", "at 2024-07-15")]),
        ("July 15th, 2024", None, &[("July 15th, 2024", "at 2024-07-15")]),
        ("on the 15th of July 2024", None, &[("the 15th of July 2024", "at 2024-07-15")]),
        ("Monday, July 15, 2024", None, &[("Monday, July 15, 2024", "at 2024-07-15")]),
        ("Published 2024-07-15T10:00:00Z.", None, &[("2024-07-15T10:00:00Z", "at 2024-07-15")]),
        ("on 29 February 2024", None, &[("29 February 2024", "at 2024-02-29")]),
        ("2024\u{2013}07\u{2013}15", None, &[("2024\u{2013}07\u{2013}15", "at 2024-07-15")]),
        ("Sept. 3, 2023", None, &[("Sept. 3, 2023", "at 2023-09-03")]),
        ("3 Sept 2023", None, &[("3 Sept 2023", "at 2023-09-03")]),
        ("1.1.2020", None, &[("1.1.2020", "at 2020-01-01")]),
        ("DEC 31, 2019", None, &[("DEC 31, 2019", "at 2019-12-31")]),
    ]);
}

#[test]
#[rustfmt::skip]
fn months_and_weeks() {
    run(&[
        ("March 2021", None, &[("March 2021", "at 2021-03")]),
        ("Mar 2021", None, &[("Mar 2021", "at 2021-03")]),
        ("2024-07", None, &[("2024-07", "at 2024-07")]),
        ("2024/07", None, &[("2024/07", "at 2024-07")]),
        ("in March of 2021", None, &[("March of 2021", "at 2021-03")]),
        ("September, 2023", None, &[("September, 2023", "at 2023-09")]),
        ("March '21", None, &[("March '21", "at 2021-03")]),
        ("2011-12", None, &[("2011-12", "at 2011-12")]),
        ("mid-July 2024", None, &[("mid-July 2024", "at 2024-07")]),
        ("2024-W28", None, &[("2024-W28", "at 2024-W28")]),
        ("week 28 of 2024", None, &[("week 28 of 2024", "at 2024-W28")]),
        ("W28 2024", None, &[("W28 2024", "at 2024-W28")]),
        ("2024W28", None, &[("2024W28", "at 2024-W28")]),
        ("week 1, 2025", None, &[("week 1, 2025", "at 2025-W01")]),
        ("2020-W53", None, &[("2020-W53", "at 2020-W53")]),
        ("Q3 FY24", None, &[("Q3 FY24", "at 2024-Q3")]),
        ("the 2020s", None, &[("the 2020s", "at 2020-01-01..2030-01-01 year")]),
    ]);
}

#[test]
#[rustfmt::skip]
fn quarters() {
    run(&[
        ("Q3 2023", None, &[("Q3 2023", "at 2023-Q3")]),
        ("2023 Q3", None, &[("2023 Q3", "at 2023-Q3")]),
        ("Q3'23", None, &[("Q3'23", "at 2023-Q3")]),
        ("Q3 \u{2019}23", None, &[("Q3 \u{2019}23", "at 2023-Q3")]),
        ("3Q23", None, &[("3Q23", "at 2023-Q3")]),
        ("3Q 2023", None, &[("3Q 2023", "at 2023-Q3")]),
        ("Q3 FY2023", None, &[("Q3 FY2023", "at 2023-Q3")]),
        ("Q3 FY23", None, &[("Q3 FY23", "at 2023-Q3")]),
        ("Q3 fiscal 2023", None, &[("Q3 fiscal 2023", "at 2023-Q3")]),
        ("third quarter of 2023", None, &[("third quarter of 2023", "at 2023-Q3")]),
        ("the 3rd quarter 2023", None, &[("the 3rd quarter 2023", "at 2023-Q3")]),
        ("fourth-quarter 2023", None, &[("fourth-quarter 2023", "at 2023-Q4")]),
        ("2024-Q1", None, &[("2024-Q1", "at 2024-Q1")]),
        ("q2 2024", None, &[("q2 2024", "at 2024-Q2")]),
        ("in the third quarter of fiscal 2023", None, &[("the third quarter of fiscal 2023", "at 2023-Q3")]),
        ("fiscal 2024 first quarter", None, &[("fiscal 2024 first quarter", "at 2024-Q1")]),
        ("the last quarter of 2023", None, &[("the last quarter of 2023", "at 2023-Q4")]),
        ("Q3-2023", None, &[("Q3-2023", "at 2023-Q3")]),
        ("2023Q3", None, &[("2023Q3", "at 2023-Q3")]),
        ("Q4, 2022", None, &[("Q4, 2022", "at 2022-Q4")]),
        ("Q3\u{a0}2023", None, &[("Q3\u{a0}2023", "at 2023-Q3")]),
    ]);
}

#[test]
#[rustfmt::skip]
fn fiscal_years_and_halves() {
    run(&[
        ("FY2023", None, &[("FY2023", "at 2023")]),
        ("FY23", None, &[("FY23", "at 2023")]),
        ("FY 2023", None, &[("FY 2023", "at 2023")]),
        ("fiscal 2023", None, &[("fiscal 2023", "at 2023")]),
        ("fiscal year 2023", None, &[("fiscal year 2023", "at 2023")]),
        ("financial year 2023", None, &[("financial year 2023", "at 2023")]),
        ("FY '23", None, &[("FY '23", "at 2023")]),
        ("in the fiscal year 2023", None, &[("the fiscal year 2023", "at 2023")]),
        ("CY2023", None, &[("CY2023", "at 2023")]),
        ("calendar year 2023", None, &[("calendar year 2023", "at 2023")]),
        ("H1 2024", None, &[("H1 2024", "at 2024-01-01..2024-07-01 quarter")]),
        ("1H24", None, &[("1H24", "at 2024-01-01..2024-07-01 quarter")]),
        ("first half of 2024", None, &[("first half of 2024", "at 2024-01-01..2024-07-01 quarter")]),
        ("second half of 2023", None, &[("second half of 2023", "at 2023-07-01..2024-01-01 quarter")]),
        ("2H 2023", None, &[("2H 2023", "at 2023-07-01..2024-01-01 quarter")]),
        ("in the first half of 2024", None, &[("the first half of 2024", "at 2024-01-01..2024-07-01 quarter")]),
        ("H2'23", None, &[("H2'23", "at 2023-07-01..2024-01-01 quarter")]),
        ("2024 H1", None, &[("2024 H1", "at 2024-01-01..2024-07-01 quarter")]),
        ("first-half 2024", None, &[("first-half 2024", "at 2024-01-01..2024-07-01 quarter")]),
    ]);
}

#[test]
#[rustfmt::skip]
fn bare_years_in_context() {
    run(&[
        ("in 2019", None, &[("2019", "at 2019")]),
        ("during 2019", None, &[("2019", "at 2019")]),
        ("for 2019", None, &[("2019", "at 2019")]),
        ("the results of 2019", None, &[("2019", "at 2019")]),
        ("2019 was a record year", None, &[("2019", "at 2019")]),
        ("the year 2019", None, &[("the year 2019", "at 2019")]),
        ("at the end of 2019", None, &[("the end of 2019", "at 2019")]),
        ("end of 2019", None, &[("end of 2019", "at 2019")]),
        ("year-end 2019", None, &[("year-end 2019", "at 2019")]),
        ("early 2020", None, &[("early 2020", "at 2020")]),
        ("late 2020", None, &[("late 2020", "at 2020")]),
        ("mid-2020", None, &[("mid-2020", "at 2020")]),
        ("at the beginning of 2021", None, &[("the beginning of 2021", "at 2021")]),
        ("in 2018, 2019 and 2020", None, &[("2018", "at 2018"), ("2019", "at 2019"), ("2020", "at 2020")]),
        ("in 2018, 2019, and 2020", None, &[("2018", "at 2018"), ("2019", "at 2019"), ("2020", "at 2020")]),
        ("its 2017, 2021, and 2023 annual reports", None, &[("2017", "at 2017"), ("2021", "at 2021"), ("2023", "at 2023")]),
        ("the 2019, 2022 and 2023 reports", None, &[("2019", "at 2019"), ("2022", "at 2022"), ("2023", "at 2023")]),
        ("in both 2021, 2022, and 2023", None, &[("2021", "at 2021"), ("2022", "at 2022"), ("2023", "at 2023")]),
        ("in either 2019 or 2020", None, &[("2019", "at 2019"), ("2020", "at 2020")]),
        ("compare across 2018, 2020, and 2022", None, &[("2018", "at 2018"), ("2020", "at 2020"), ("2022", "at 2022")]),
        ("Audi's 2023 electric vehicle deliveries", None, &[("2023", "at 2023")]),
        ("our 2030 targets", None, &[("2030", "at 2030")]),
        ("2019's results", None, &[("2019", "at 2019")]),
        ("compared to 2019 levels", None, &[("2019", "at 2019")]),
        ("the 2019 report", None, &[("2019", "at 2019")]),
        ("throughout 2022", None, &[("2022", "at 2022")]),
        ("summer 2020", None, &[("summer 2020", "at 2020")]),
        ("in the 1990s", None, &[("the 1990s", "at 1990-01-01..2000-01-01 year")]),
        ("In 2100", None, &[("2100", "at 2100")]),
        ("IN 2019", None, &[("2019", "at 2019")]),
    ]);
}

#[test]
#[rustfmt::skip]
fn ranges() {
    run(&[
        ("from 2018 to 2020", None, &[("from 2018 to 2020", "between 2018-01-01..2021-01-01 year")]),
        ("2018\u{2013}2020", None, &[("2018\u{2013}2020", "between 2018-01-01..2021-01-01 year")]),
        ("2018-2020", None, &[("2018-2020", "between 2018-01-01..2021-01-01 year")]),
        ("2018 to 2020", None, &[("2018 to 2020", "between 2018-01-01..2021-01-01 year")]),
        ("2018\u{2014}2020", None, &[("2018\u{2014}2020", "between 2018-01-01..2021-01-01 year")]),
        ("between 2018 and 2020", None, &[("between 2018 and 2020", "between 2018-01-01..2021-01-01 year")]),
        ("between 2021 and 2017", None, &[("between 2021 and 2017", "between 2017-01-01..2022-01-01 year")]),
        ("between May and July 2022", None, &[("between May and July 2022", "between 2022-05-01..2022-08-01 month")]),
        ("from January to March 2023", None, &[("from January to March 2023", "between 2023-01-01..2023-04-01 month")]),
        ("Q1\u{2013}Q3 2023", None, &[("Q1\u{2013}Q3 2023", "between 2023-01-01..2023-10-01 quarter")]),
        ("Q1\u{2013}Q3 2023", Q3, &[("Q1\u{2013}Q3 2023", "between 2023-01-01..2023-10-01 quarter")]),
        ("from Q3 2023 to Q1 2024", None, &[("from Q3 2023 to Q1 2024", "between 2023-07-01..2024-04-01 quarter")]),
        ("2019/20", None, &[("2019/20", "between 2019-01-01..2021-01-01 year")]),
        ("FY2019-20", None, &[("FY2019-20", "between 2019-01-01..2021-01-01 year")]),
        ("2023\u{2013}24", None, &[("2023\u{2013}24", "between 2023-01-01..2025-01-01 year")]),
        ("July 1\u{2013}15, 2024", None, &[("July 1\u{2013}15, 2024", "between 2024-07-01..2024-07-16 day")]),
        ("1\u{2013}15 July 2024", None, &[("1\u{2013}15 July 2024", "between 2024-07-01..2024-07-16 day")]),
        ("between 1 July and 15 August 2024", None, &[("between 1 July and 15 August 2024", "between 2024-07-01..2024-08-16 day")]),
        ("from November to February 2023", None, &[("from November to February 2023", "between 2022-11-01..2023-03-01 month")]),
        ("from March 2023 to Q3 2024", None, &[("from March 2023 to Q3 2024", "between 2023-03-01..2024-10-01 quarter")]),
        ("2018 through 2020", None, &[("2018 through 2020", "between 2018-01-01..2021-01-01 year")]),
        ("from 2018 until 2020", None, &[("from 2018 until 2020", "between 2018-01-01..2021-01-01 year")]),
        ("H1\u{2013}H2 2023", None, &[("H1\u{2013}H2 2023", "between 2023-01-01..2024-01-01 quarter")]),
        ("from Q4 2023 to Q1", None, &[("from Q4 2023 to Q1", "between 2023-10-01..2024-04-01 quarter")]),
        ("from the first quarter of 2023 to the third quarter", None, &[("from the first quarter of 2023 to the third quarter", "between 2023-01-01..2023-10-01 quarter")]),
        ("from 2019 to 2019", None, &[("from 2019 to 2019", "between 2019-01-01..2020-01-01 year")]),
        ("from 2018 \u{2013} 2020", None, &[("from 2018 \u{2013} 2020", "between 2018-01-01..2021-01-01 year")]),
    ]);
}

#[test]
#[rustfmt::skip]
fn open_ended() {
    run(&[
        ("since 2020", None, &[("since 2020", "after 2020-01-01.. (2020)")]),
        ("after Q1 2024", None, &[("after Q1 2024", "after 2024-04-01.. (2024-Q1)")]),
        ("before 2019", None, &[("before 2019", "before ..2019-01-01 (2019)")]),
        ("prior to 2019", None, &[("prior to 2019", "before ..2019-01-01 (2019)")]),
        ("until 2019", None, &[("until 2019", "before ..2020-01-01 (2019)")]),
        ("by 2025", None, &[("by 2025", "before ..2026-01-01 (2025)")]),
        ("as of 31 December 2019", None, &[("as of 31 December 2019", "at 2019-12-31")]),
        ("from 2020 onwards", None, &[("from 2020 onwards", "after 2020-01-01.. (2020)")]),
        ("2020 onwards", None, &[("2020 onwards", "after 2020-01-01.. (2020)")]),
        ("pre-2019", None, &[("pre-2019", "before ..2019-01-01 (2019)")]),
        ("post-2020", None, &[("post-2020", "after 2021-01-01.. (2020)")]),
        ("no later than 2030", None, &[("no later than 2030", "before ..2031-01-01 (2030)")]),
        ("by the end of 2025", None, &[("by the end of 2025", "before ..2026-01-01 (2025)")]),
        ("up to 2019", None, &[("up to 2019", "before ..2020-01-01 (2019)")]),
        ("starting in 2021", None, &[("starting in 2021", "after 2021-01-01.. (2021)")]),
        ("as at 30 June 2024", None, &[("as at 30 June 2024", "at 2024-06-30")]),
        ("on or before 31 March 2025", None, &[("on or before 31 March 2025", "before ..2025-04-01 (2025-03-31)")]),
        ("since July 2023", None, &[("since July 2023", "after 2023-07-01.. (2023-07)")]),
        ("through 2025", None, &[("through 2025", "before ..2026-01-01 (2025)")]),
        ("2030 and beyond", None, &[("2030 and beyond", "after 2030-01-01.. (2030)")]),
        ("earlier than 2019", None, &[("earlier than 2019", "before ..2019-01-01 (2019)")]),
        ("from 2020 on.", None, &[("from 2020 on", "after 2020-01-01.. (2020)")]),
        ("since last year", Q3, &[("since last year", "after 2023-01-01.. (2023) ~rel")]),
        ("from now on", DAY, &[("from now on", "after 2024-08-15.. (2024-08-15) ~vague")]),
        ("since the end of 2019", None, &[("since the end of 2019", "after 2019-01-01.. (2019)")]),
        ("until the end of last year", Q3, &[("until the end of last year", "before ..2024-01-01 (2023) ~rel")]),
        ("as of today", DAY, &[("as of today", "at 2024-08-15 ~rel")]),
        ("until now", Q3, &[("until now", "before ..2024-10-01 (2024-Q3) ~vague")]),
    ]);
}

#[test]
#[rustfmt::skip]
fn relative() {
    run(&[
        ("last quarter", Q3, &[("last quarter", "at 2024-Q2 ~rel")]),
        ("last quarter", DAY, &[("last quarter", "at 2024-Q2 ~rel")]),
        ("this year", Q3, &[("this year", "at 2024 ~rel")]),
        ("next month", Q3, &[("next month", "at 2024-10 ~rel")]),
        ("next month", DAY, &[("next month", "at 2024-09 ~rel")]),
        ("last month", Q3, &[("last month", "at 2024-08 ~rel")]),
        ("the previous quarter", Q3, &[("the previous quarter", "at 2024-Q2 ~rel")]),
        ("the current year", Q3, &[("the current year", "at 2024 ~rel")]),
        ("the coming year", Q3, &[("the coming year", "at 2025 ~rel")]),
        ("last fiscal year", Q3, &[("last fiscal year", "at 2023 ~rel")]),
        ("the previous fiscal year", Q3, &[("the previous fiscal year", "at 2023 ~rel")]),
        ("a year earlier", Q3, &[("a year earlier", "at 2023-Q3 ~rel")]),
        ("a year ago", Q3, &[("a year ago", "at 2023-Q3 ~rel")]),
        ("two years ago", Q3, &[("two years ago", "at 2022-Q3 ~rel")]),
        ("2 years ago", DAY, &[("2 years ago", "at 2022-08-15 ~rel")]),
        ("three months later", Q3, &[("three months later", "at 2024-Q4 ~rel")]),
        ("two quarters earlier", Q3, &[("two quarters earlier", "at 2024-Q1 ~rel")]),
        ("the prior year", Q3, &[("the prior year", "at 2023 ~rel")]),
        ("the same quarter last year", Q3, &[("the same quarter last year", "at 2023-Q3 ~rel")]),
        ("the same quarter last year", DAY, &[("the same quarter last year", "at 2023-Q3 ~rel")]),
        ("the same period a year ago", Q3, &[("the same period a year ago", "at 2023-Q3 ~rel")]),
        ("the year-ago quarter", Q3, &[("the year-ago quarter", "at 2023-Q3 ~rel")]),
        ("the prior-year quarter", Q3, &[("the prior-year quarter", "at 2023-Q3 ~rel")]),
        ("this time last year", DAY, &[("this time last year", "at 2023-08-15 ~rel")]),
        ("today", DAY, &[("today", "at 2024-08-15 ~rel")]),
        ("yesterday", DAY, &[("yesterday", "at 2024-08-14 ~rel")]),
        ("tomorrow", DAY, &[("tomorrow", "at 2024-08-16 ~rel")]),
        ("today", Q3, &[("today", "at 2024-Q3 ~rel")]),
        ("this week", DAY, &[("this week", "at 2024-W33 ~rel")]),
        ("last week", DAY, &[("last week", "at 2024-W32 ~rel")]),
        ("next week", DAY, &[("next week", "at 2024-W34 ~rel")]),
        ("the following quarter", Q3, &[("the following quarter", "at 2024-Q4 ~rel")]),
        ("the fourth quarter", Q3, &[("the fourth quarter", "at 2024-Q4 ~rel")]),
        ("Q3", Q3, &[("Q3", "at 2024-Q3 ~rel")]),
        ("the first half", Q3, &[("the first half", "at 2024-01-01..2024-07-01 quarter ~rel")]),
        ("the last three years", Q3, &[("the last three years", "between 2021-10-01..2024-10-01 year ~rel")]),
        ("the past 12 months", DAY, &[("the past 12 months", "between 2023-08-16..2024-08-16 month ~rel")]),
        // Issue 10: "over the last year" is the twelve months before now, "last year" the
        // calendar year before.
        ("over the last year", DAY, &[("the last year", "between 2023-08-16..2024-08-16 year ~rel")]),
        ("in the past month", DAY, &[("the past month", "between 2024-07-16..2024-08-16 month ~rel")]),
        ("last year", DAY, &[("last year", "at 2023 ~rel")]),
        ("the last year of the plan", DAY, &[("the last year", "at 2023 ~rel")]),
        ("the next two quarters", Q3, &[("the next two quarters", "between 2024-10-01..2025-04-01 quarter ~rel")]),
        ("early next year", Q3, &[("early next year", "at 2025 ~rel")]),
        ("in the coming quarter", Q3, &[("the coming quarter", "at 2024-Q4 ~rel")]),
    ]);
}

#[test]
#[rustfmt::skip]
fn anaphora_use_the_last_explicit_time() {
    run(&[
        ("Revenue in Q3 2024 rose; a year earlier it was lower.", None, &[("Q3 2024", "at 2024-Q3"), ("a year earlier", "at 2023-Q3 ~rel")]),
        ("In 2019 sales rose; the following year they fell.", None, &[("2019", "at 2019"), ("the following year", "at 2020 ~rel")]),
        ("In March 2024 sales rose, and the previous month they fell.", Q3, &[("March 2024", "at 2024-03"), ("the previous month", "at 2024-02 ~rel")]),
        ("In 2019, costs fell compared with the previous year.", Q3, &[("2019", "at 2019"), ("the previous year", "at 2018 ~rel")]),
        ("Orders in H1 2023 were strong; a year later they were weak.", None, &[("H1 2023", "at 2023-01-01..2023-07-01 quarter"), ("a year later", "at 2024-01-01..2024-07-01 quarter ~rel")]),
        ("In 2023 we launched it. In the fourth quarter, sales doubled.", None, &[("2023", "at 2023"), ("the fourth quarter", "at 2023-Q4 ~rel")]),
        ("In Q1 and Q2 2024 revenue grew.", Q3, &[("Q1", "at 2024-Q1"), ("Q2 2024", "at 2024-Q2")]),
        ("in May, June and July 2023", None, &[("May", "at 2023-05"), ("June", "at 2023-06"), ("July 2023", "at 2023-07")]),
        ("H1 & H2 FY2023", None, &[("H1", "at 2023-01-01..2023-07-01 quarter"), ("H2 FY2023", "at 2023-07-01..2024-01-01 quarter")]),
        ("We may, and June 2024 will tell.", None, &[("June 2024", "at 2024-06")]),
        // Deictic words ignore the text and need the reference.
        ("In 2019 we grew; last year we shrank.", Q3, &[("2019", "at 2019"), ("last year", "at 2023 ~rel")]),
        ("In 2019 we grew; last year we shrank.", None, &[("2019", "at 2019")]),
    ]);
}

#[test]
#[rustfmt::skip]
fn vague() {
    run(&[
        ("now", Q3, &[("now", "at 2024-Q3 ~vague")]),
        ("currently", Q3, &[("currently", "at 2024-Q3 ~vague")]),
        ("recently", Q3, &[("recently", "at 2024-07-03..2024-10-01 month ~vague")]),
        ("recently", DAY, &[("recently", "at 2024-05-18..2024-08-16 month ~vague")]),
        ("lately", Q3, &[("lately", "at 2024-07-03..2024-10-01 month ~vague")]),
        ("the latest", Q3, &[("the latest", "at 2024-Q3 ~vague")]),
        ("these days", Q3, &[("these days", "at 2024-Q3 ~vague")]),
        ("to date", Q3, &[("to date", "at 2024-Q3 ~vague")]),
        ("so far", Q3, &[("so far", "at 2024-Q3 ~vague")]),
        ("at present", Q3, &[("at present", "at 2024-Q3 ~vague")]),
        ("year-to-date", Q3, &[("year-to-date", "at 2024-01-01..2024-10-01 quarter ~vague")]),
        ("now", DAY, &[("now", "at 2024-08-15 ~vague")]),
    ]);
}

#[test]
#[rustfmt::skip]
fn periods_ended() {
    run(&[
        ("the year ended 31 December 2019", None, &[("the year ended 31 December 2019", "at 2019")]),
        ("the fiscal year ended June 30, 2023", None, &[("the fiscal year ended June 30, 2023", "at 2022-07-01..2023-07-01 year")]),
        ("the three months ended September 30, 2024", None, &[("the three months ended September 30, 2024", "at 2024-Q3")]),
        ("the six months ended 30 June 2024", None, &[("the six months ended 30 June 2024", "at 2024-01-01..2024-07-01 month")]),
        ("the quarter ended September 30, 2023", None, &[("the quarter ended September 30, 2023", "at 2023-Q3")]),
    ]);
}

/// Inputs that must yield no span: quantities, references, impossible dates, and relative
/// expressions without a reference.
#[test]
#[rustfmt::skip]
fn rejected_and_ignored() {
    run(&[
        ("2,019", None, &[]),
        ("2019.5", None, &[]),
        ("The plant emitted 2019 tonnes.", None, &[]),
        ("2019 employees", None, &[]),
        ("Audi's 2000 employees", None, &[]),
        ("in both both 2021", None, &[]),
        ("2017, 2018, 2019 employees", None, &[]),
        ("see page 2019", None, &[]),
        ("see section 2019 for details", None, &[]),
        ("a total of 2019 employees", None, &[]),
        ("It costs $2019.", None, &[]),
        ("the ISO 14001:2015 standard", None, &[]),
        ("We grew from 1990 to 2000 employees.", None, &[]),
        ("between 1990 and 2000 people", None, &[]),
        ("It costs 2019 dollars", None, &[]),
        ("up 2019% on the year", None, &[]),
        ("call 555-2019-2020", None, &[]),
        ("No. 2019", None, &[]),
        ("in 2101", None, &[]),
        ("in 1899", None, &[]),
        ("2017 2018 2019", None, &[]),
        ("year-over-year growth", Q3, &[]),
        ("quarter-on-quarter", Q3, &[]),
        ("up to date figures", Q3, &[]),
        ("by 2025 at the latest", Q3, &[("by 2025", "before ..2026-01-01 (2025)")]),
        ("so far as we know", Q3, &[]),
        ("the last day of the month", Q3, &[]),
        ("Q5 2023", None, &[]),
        ("Q0 2023", None, &[]),
        ("2023-02-30", None, &[]),
        ("February 30, 2023", None, &[]),
        ("2023-13-01", None, &[]),
        ("2024-W54", None, &[]),
        ("H3 2024", None, &[]),
        ("from 2020 to 2018", None, &[]),
        ("0000-01-01", None, &[]),
        ("fifth quarter of 2023", None, &[]),
        ("2024-02-30T10:00", None, &[]),
        ("31.02.2024", None, &[]),
        ("last quarter", None, &[]),
        ("now", None, &[]),
        ("Q3", None, &[]),
        ("a year earlier", None, &[]),
        ("Revenue rose 5% to EUR 2.3 billion.", None, &[]),
        ("the 1995s", None, &[]),
        ("13 Smarch 2024", None, &[]),
        ("Vision 2030", None, &[]),
        ("", None, &[]),
        ("15/07/2024", None, &[]),
        ("see section 4.2.2019", None, &[]),
        ("version 1.4.2.2019", None, &[]),
        ("build 20240715", None, &[]),
    ]);
}

#[test]
#[rustfmt::skip]
fn real_text() {
    run(&[
        ("In 2019, Audi delivered 1.845 million cars.", None, &[("2019", "at 2019")]),
        ("By 2025, the company aims to offer more than 20 electrified models.", None, &[("By 2025", "before ..2026-01-01 (2025)")]),
        ("Revenue for the third quarter of fiscal 2023 was $4.2 billion, up from $3.9 billion a year earlier.", None, &[("the third quarter of fiscal 2023", "at 2023-Q3"), ("a year earlier", "at 2022-Q3 ~rel")]),
        ("As of 31 December 2023, the Group had 87,432 employees in 41 countries.", None, &[("As of 31 December 2023", "at 2023-12-31")]),
        ("Scope 1 and 2 emissions fell by 12 percent compared with 2019 levels, and we aim to reach net zero by 2040.", None, &[("2019", "at 2019"), ("by 2040", "before ..2041-01-01 (2040)")]),
        ("Capital expenditure amounted to EUR 2.3 billion in Q4 2023 and is expected to remain at a similar level in the first quarter of 2024.", None, &[("Q4 2023", "at 2023-Q4"), ("the first quarter of 2024", "at 2024-Q1")]),
        ("Since 2020 we have published an annual sustainability report in accordance with the GRI Standards.", None, &[("Since 2020", "after 2020-01-01.. (2020)")]),
        ("Water withdrawal decreased, mainly because of efficiency measures introduced in the second half of 2022.", None, &[("the second half of 2022", "at 2022-07-01..2023-01-01 quarter")]),
        ("The Board of Management met eleven times during the reporting period.", None, &[]),
        ("For the year ended 31 December 2022, net income was EUR 1.2 billion, compared with EUR 0.9 billion in the prior year.", None, &[("the year ended 31 December 2022", "at 2022"), ("the prior year", "at 2021 ~rel")]),
        ("We expect revenue growth of between four and six percent next year.", Some("2024"), &[("next year", "at 2025 ~rel")]),
        ("Between 2015 and 2023, the share of renewable electricity rose from 23% to 51%.", None, &[("Between 2015 and 2023", "between 2015-01-01..2024-01-01 year")]),
        ("Compared with the same quarter last year, orders rose 8%, and we now expect full-year growth of 5%.", Q3, &[("the same quarter last year", "at 2023-Q3 ~rel"), ("now", "at 2024-Q3 ~vague")]),
        ("The 2019\u{2013}2023 strategy period ended; targets for 2030 remain.", None, &[("2019\u{2013}2023", "between 2019-01-01..2024-01-01 year"), ("2030", "at 2030")]),
    ]);
}

/// `(input, reference, Ok(description) | Err(variant, message))` for `parse_time`.
type ParseCase = (
    &'static str,
    Option<&'static str>,
    Result<&'static str, (&'static str, &'static str)>,
);

fn variant(e: &TimeError) -> &'static str {
    match e {
        TimeError::Invalid(_) => "invalid",
        TimeError::NeedsReference(_) => "needs reference",
        TimeError::EmptyRange(_) => "empty range",
        TimeError::Unrecognised(_) => "unrecognised",
    }
}

#[test]
#[rustfmt::skip]
fn parse_time_single_expressions() {
    let cases: &[ParseCase] = &[
        ("Q3 2023", None, Ok("at 2023-Q3")),
        ("2024-07", None, Ok("at 2024-07")),
        ("2019", None, Ok("at 2019")),
        ("1850", None, Ok("at 1850")),
        ("in 2019", None, Ok("at 2019")),
        ("during Q3 2023", None, Ok("at 2023-Q3")),
        ("2024-Q3", None, Ok("at 2024-Q3")),
        ("2024-W28", None, Ok("at 2024-W28")),
        ("last quarter", Q3, Ok("at 2024-Q2 ~rel")),
        ("since 2020", None, Ok("after 2020-01-01.. (2020)")),
        ("2018-2020", None, Ok("between 2018-01-01..2021-01-01 year")),
        ("now", Q3, Ok("at 2024-Q3 ~vague")),
        ("2024-07-01..2024-10-01", None, Ok("between 2024-07-01..2024-10-01 quarter")),
        ("..2019-01-01", None, Ok("before ..2019-01-01 day")),
        ("2020-01-01..", None, Ok("after 2020-01-01.. day")),
        ("last quarter", None, Err(("needs reference", "\"last quarter\" is relative and needs a reference time"))),
        ("Q5 2023", None, Err(("invalid", "Q5 2023 is not a quarter (quarters run from Q1 to Q4)"))),
        ("2023-02-30", None, Err(("invalid", "2023-02-30 is not a date (February 2023 has 28 days)"))),
        ("February 30, 2023", None, Err(("invalid", "February 30, 2023 is not a date (February 2023 has 28 days)"))),
        ("2023-13-01", None, Err(("invalid", "2023-13-01 is not a date (there is no month 13)"))),
        ("2024-W54", None, Err(("invalid", "2024-W54 is not a week (2024 has 52 ISO weeks)"))),
        ("H3 2024", None, Err(("invalid", "H3 2024 is not a half-year (halves are H1 and H2)"))),
        ("0000", None, Err(("invalid", "0000 is not a year (year 0 is outside the supported range 1000–9999)"))),
        ("from 2020 to 2018", None, Err(("empty range", "from 2020 to 2018 ends before it starts"))),
        ("2024-10-01..2024-07-01", None, Err(("empty range", "2024-10-01..2024-07-01 is empty: it ends before it starts"))),
        ("", None, Err(("unrecognised", "an empty string is not a time expression"))),
        (" ", None, Err(("unrecognised", "an empty string is not a time expression"))),
        ("..", None, Err(("unrecognised", "\"..\" is all of time, not a time expression"))),
        ("hello", None, Err(("unrecognised", "\"hello\" is not a time expression I understand (try e.g. 2024-07-15, July 15, 2024, Q3 2023, FY2023, March 2021, 2018–2020 or last quarter)"))),
        ("Q3 2023 and Q4 2023", None, Err(("unrecognised", "\"Q3 2023 and Q4 2023\" is not a single time expression (understood only \"Q3 2023\" and \"Q4 2023\")"))),
        ("2019 tonnes", None, Err(("unrecognised", "\"2019 tonnes\" is not a single time expression (understood only \"2019\")"))),
    ];
    let mut failures = Vec::new();
    for &(input, r, expected) in cases {
        let got = parse_time(input, reference(r).as_ref());
        let ok = match (&got, expected) {
            (Ok(span), Ok(want)) => {
                check_invariants(input, std::slice::from_ref(span));
                describe(span) == want
            }
            (Err(e), Err((v, message))) => variant(e) == v && e.to_string() == message,
            _ => false,
        };
        if !ok {
            failures.push(format!("{input:?}: got {got:?}, want {expected:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn parse_time_offsets_refer_to_the_input() {
    let span = parse_time("  2024-Q3 ", None).unwrap();
    assert_eq!(
        (span.start, span.end, span.text.as_str()),
        (2, 9, "2024-Q3")
    );
    let span = parse_time(" in 2019", None).unwrap();
    assert_eq!((span.start, span.end, span.text.as_str()), (4, 8, "2019"));
}

#[test]
fn spans_serialise_with_lowercase_enums() {
    let span = parse_time("since Q1 2024", None).unwrap();
    let json = serde_json::to_value(&span).unwrap();
    assert_eq!(json["relation"], "after");
    assert_eq!(json["kind"], "explicit");
    assert_eq!(json["granularity"], "quarter");
    assert_eq!(json["key"], "2024-Q1");
    assert_eq!(json["interval"]["start"], "2024-01-01");
    assert_eq!(serde_json::from_value::<TimeSpan>(json).unwrap(), span);
}

#[test]
fn long_and_hostile_inputs_do_not_panic() {
    let long = "In 2019, revenue rose. ".repeat(20_000);
    assert_eq!(find_times(&long, None).len(), 20_000);
    let hostile = [
        "2019-".repeat(10_000),
        "from ".repeat(10_000),
        "Q3 ".repeat(10_000),
        // Each cue word used to look past "both" by recursion: one frame per word.
        format!("in {}2021", "both ".repeat(200_000)),
        format!("{}2021, 2022 reports", "2019, ".repeat(10_000)),
        format!("{}2020", "the end of early ".repeat(100_000)),
        "((((]]]] 2019 -- -- \u{2013}\u{2013} '' \u{2019}".to_string(),
        "٢٠١٩ 二〇一九年 2019年 ２０１９".to_string(),
        "\u{0}\u{FEFF}\u{200B}2019\u{200B}".to_string(),
        "9".repeat(1_000),
    ];
    let q3 = TimeKey::parse("2024-Q3").unwrap();
    for text in &hostile {
        check_invariants(text, &find_times(text, None));
        check_invariants(text, &find_times(text, Some(&q3)));
        let _ = parse_time(text, Some(&q3));
    }
}

/// Fragments that exercise the grammar when glued together at random.
const FRAGMENTS: &[&str] = &[
    "2019",
    "2024-07-15",
    "Q3",
    "H1",
    "FY23",
    "'23",
    "from",
    "to",
    "between",
    "and",
    "since",
    "by",
    "last",
    "quarter",
    "year",
    "a",
    "earlier",
    "the",
    "same",
    "of",
    "July",
    "15",
    "15th",
    "-",
    "\u{2013}",
    "/",
    ".",
    ",",
    "now",
    "week",
    "28",
    "W53",
    "2020s",
    "1990s",
    "Q5",
    "ended",
    "31",
    "December",
    "onwards",
    "recently",
    "é",
    "\u{a0}",
    "99",
    "0000",
    "9999",
    "10000",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_arbitrary_text(text in any::<String>()) {
        let q3 = TimeKey::parse("2024-Q3").unwrap();
        check_invariants(&text, &find_times(&text, None));
        check_invariants(&text, &find_times(&text, Some(&q3)));
        if let Ok(span) = parse_time(&text, Some(&q3)) {
            check_invariants(&text, std::slice::from_ref(&span));
        }
    }

    #[test]
    fn never_panics_on_time_like_text(
        parts in proptest::collection::vec((0..FRAGMENTS.len(), any::<bool>()), 0..24),
        day in 0u32..40,
        reference in proptest::option::of(0usize..3),
    ) {
        let mut text = String::new();
        for (i, spaced) in parts {
            text.push_str(FRAGMENTS[i]);
            if spaced {
                text.push(' ');
            }
        }
        text.push_str(&format!(" {day} "));
        let refs = ["2024-Q3", "9999", "1000-01-01"];
        let reference = reference.map(|r| TimeKey::parse(refs[r]).unwrap());
        check_invariants(&text, &find_times(&text, reference.as_ref()));
        if let Ok(span) = parse_time(&text, reference.as_ref()) {
            check_invariants(&text, std::slice::from_ref(&span));
        }
    }
}

#[test]
#[should_panic(expected = "1 of 1 cases failed")]
fn the_table_runner_reports_mismatches() {
    run(&[("in 2019", None, &[("2019", "at 2020")])]);
}
