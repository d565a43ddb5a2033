//! The error type of the time module.
//!
//! Every message is a complete, human-readable sentence fragment that names the offending
//! input, e.g. `2023-02-30 is not a date (February 2023 has 28 days)`, so API and CLI layers
//! can show it to users verbatim.

use thiserror::Error;

/// Why a time expression, calendar key or interval could not be built.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TimeError {
    /// The input names a time that does not exist: `2023-02-30`, `Q5 2023`, `2024-W54`,
    /// or a year outside the supported range.
    #[error("{0}")]
    Invalid(String),
    /// The input is relative or vague (`last quarter`, `now`) and no reference time was given.
    #[error("{0}")]
    NeedsReference(String),
    /// A range or interval that would contain no day because it ends before it starts.
    #[error("{0}")]
    EmptyRange(String),
    /// The input is not a time expression this module understands.
    #[error("{0}")]
    Unrecognised(String),
}

impl TimeError {
    /// The human-readable message, without the variant name.
    pub fn message(&self) -> &str {
        match self {
            TimeError::Invalid(m)
            | TimeError::NeedsReference(m)
            | TimeError::EmptyRange(m)
            | TimeError::Unrecognised(m) => m,
        }
    }
}
