//! The integration tests: one binary, one module per feature. Tests use real files in temporary
//! folders, real child processes and (from issue 05 on) a real server on loopback.

mod atomicity;
mod cli;
mod http;
mod ingest;
mod store;
mod summaries;
mod support;
