//! Ingestion end to end (filled in with issue 02).
