//! Time: the calendar core of ChronoRAG.
//!
//! * [`Granularity`]: day, week, month, quarter, year.
//! * [`TimeKey`]: one calendar unit (`2024`, `2024-Q3`, `2024-07`, `2024-W28`, `2024-07-15`),
//!   the unit facts are filed and queried by.
//! * [`Interval`]: a half-open, possibly unbounded interval of days, what facts are valid over.
//! * [`find_times`] / [`parse_time`]: the normaliser, which turns English time expressions
//!   ("Q3 FY2023", "since 2020", "a year earlier") into intervals, as [`TimeSpan`]s.
//! * [`TimeError`]: everything that can go wrong, with human-readable messages.

pub(crate) mod calendar;
pub mod error;
pub mod granularity;
pub mod interval;
pub mod key;
pub mod normalise;

pub(crate) use calendar::MONTH_NAMES;
pub use error::TimeError;
pub use granularity::Granularity;
pub use interval::Interval;
pub use key::TimeKey;
pub use normalise::{MAX_EXPRESSION_BYTES, Relation, SpanKind, TimeSpan, find_times, parse_time};
