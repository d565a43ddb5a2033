//! The integration tests: one binary, one module per feature. Tests use real files in temporary
//! folders, real child processes and (from issue 05 on) a real server on loopback.

mod atomicity;
mod backup;
mod cli;
mod contract;
mod docs;
mod eval;
mod fake_openai;
mod governance;
mod governance_http;
mod http;
mod ingest;
mod llm;
mod llm_summaries;
mod mcp;
mod outages;
mod postgres;
mod query;
mod reliability;
mod store;
mod summaries;
mod support;
mod transfer;
mod upgrade;
