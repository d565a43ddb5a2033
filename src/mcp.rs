//! The Model Context Protocol server behind `chronorag mcp`: an agent (Claude Desktop, an IDE,
//! any MCP client) starts it as a subprocess and calls ChronoRAG's tools over stdio.
//!
//! Two transports carry the same messages: MCP's stdio one (JSON-RPC 2.0 messages, one per line,
//! requests on stdin and responses on stdout, logs on stderr) and its streamable HTTP one
//! (`POST /mcp` on `chronorag serve`, one message per request, answered as JSON; see
//! `api::routes::mcp`), where every tool call is also checked against the caller's key. The protocol surface is small — `initialize`,
//! `ping`, `tools/list`, `tools/call` and the `notifications/*` a client sends — so it is
//! implemented here on `serde_json` rather than through an SDK.
//!
//! Tools: `query` (time scope, `now`, `as_of_tx`, budget, mode), `timeline`, `entity_facts`,
//! `history`, `diff`, and, only when the server was started with writes allowed, `ingest` and
//! `rollback`. A tool that fails answers a result with `isError: true` and the message (the
//! protocol's way to let the model see and correct its call); a malformed request gets a
//! JSON-RPC error.
//!
//! **Invariant:** every tool is one call of a public [`Engine`] method; this module only maps
//! arguments in and results out.

use serde_json::{Map, Value, json};

use crate::Engine;
use crate::engine::FactListParams;
use crate::ingest::{IngestOptions, input};
use crate::model::TxView;
use crate::query::QueryRequest;
use crate::{Error, Result};

/// Protocol revisions this server speaks, newest first; it answers a client's own revision
/// when it knows it, else the newest.
pub const PROTOCOL_VERSIONS: &[&str] = &["2025-06-18", "2025-03-26", "2024-11-05"];

/// Decides whether a tool call on a namespace may run (`write`: it changes the namespace);
/// the HTTP transport checks the caller's key with it.
pub type Access<'a> = dyn Fn(&str, Tool) -> Result<()> + 'a;

/// What a tool call needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// Reads only.
    Read,
    /// Adds documents.
    Write,
    /// Undoes transactions.
    Admin,
}

/// Which tools are offered and with what defaults.
pub struct McpServer<'a> {
    engine: &'a Engine,
    namespace: String,
    allow_writes: bool,
    access: Option<&'a Access<'a>>,
    actor: String,
}

/// JSON-RPC error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

impl<'a> McpServer<'a> {
    /// A server over `engine`; tools default to `namespace`; `ingest` and `rollback` are
    /// offered only when `allow_writes`.
    pub fn new(engine: &'a Engine, namespace: &str, allow_writes: bool) -> Self {
        McpServer {
            engine,
            namespace: namespace.to_string(),
            allow_writes,
            access: None,
            actor: "mcp".to_string(),
        }
    }

    /// The same server recording `actor` on the transactions its tools write (default `mcp`).
    pub fn with_actor(mut self, actor: &str) -> Self {
        self.actor = actor.to_string();
        self
    }

    /// The same server with every tool call checked by `access` first.
    pub fn with_access(mut self, access: &'a Access<'a>) -> Self {
        self.access = Some(access);
        self
    }

    /// Answers one line of input: `None` for a notification (no response is sent).
    pub fn handle_line(&self, line: &str) -> Option<Value> {
        let msg: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                return Some(error(
                    Value::Null,
                    PARSE_ERROR,
                    &format!("parse error: {e}"),
                ));
            }
        };
        self.handle(msg)
    }

    /// Answers one JSON-RPC message: `None` for a notification.
    pub fn handle(&self, msg: Value) -> Option<Value> {
        let id = msg.get("id").cloned();
        let Some(method) = msg.get("method").and_then(Value::as_str) else {
            // A response from the client (we send no requests) or garbage.
            return id.map(|id| error(id, INVALID_REQUEST, "a request needs a method"));
        };
        let Some(id) = id else {
            // Notifications (`notifications/initialized`, `notifications/cancelled`, …).
            return None;
        };
        let params = msg.get("params").cloned().unwrap_or(Value::Null);
        Some(match method {
            "initialize" => {
                let asked = params.get("protocolVersion").and_then(Value::as_str);
                let version = asked
                    .filter(|v| PROTOCOL_VERSIONS.contains(v))
                    .unwrap_or(PROTOCOL_VERSIONS[0]);
                ok(
                    id,
                    json!({
                        "protocolVersion": version,
                        "capabilities": {"tools": {"listChanged": false}},
                        "serverInfo": {"name": "chronorag", "version": env!("CARGO_PKG_VERSION")},
                        "instructions": "ChronoRAG is a temporal knowledge-graph memory. Use `query` \
                            with a question (and a time scope or `now` when the question is about a \
                            period) to get a cited context of dated evidence; `timeline` for what a \
                            year, quarter, month or day holds; `entity_facts` for one entity's facts \
                            over time; `history` and `diff` for what changed.",
                    }),
                )
            }
            "ping" => ok(id, json!({})),
            "tools/list" => ok(id, json!({"tools": self.tools()})),
            "tools/call" => {
                let Some(name) = params.get("name").and_then(Value::as_str) else {
                    return Some(error(id, INVALID_PARAMS, "tools/call needs `name`"));
                };
                let args = match params.get("arguments") {
                    None | Some(Value::Null) => Map::new(),
                    Some(Value::Object(m)) => m.clone(),
                    Some(_) => {
                        return Some(error(id, INVALID_PARAMS, "`arguments` must be an object"));
                    }
                };
                if !self.tools().iter().any(|t| t["name"] == name) {
                    let why = if matches!(name, "ingest" | "rollback") {
                        format!(
                            "tool {name:?} writes; start the server with --allow-writes to offer it"
                        )
                    } else {
                        format!("unknown tool {name:?}; see tools/list")
                    };
                    return Some(error(id, INVALID_PARAMS, &why));
                }
                match self.call(name, args) {
                    Ok((text, structured)) => ok(
                        id,
                        json!({
                            "content": [{"type": "text", "text": text}],
                            "structuredContent": structured,
                            "isError": false,
                        }),
                    ),
                    Err(e) => ok(
                        id,
                        json!({
                            "content": [{"type": "text", "text": format!("{} error: {e}", e.code())}],
                            "isError": true,
                        }),
                    ),
                }
            }
            other => error(id, METHOD_NOT_FOUND, &format!("method {other:?} not found")),
        })
    }

    /// The tools offered, with their input schemas.
    pub fn tools(&self) -> Vec<Value> {
        let ns = json!({"type": "string", "description": format!("Namespace (default {:?})", self.namespace)});
        let as_of = json!({"type": "integer", "minimum": 1, "description": "Read the memory as it was after this transaction"});
        let mut tools = vec![
            json!({
                "name": "query",
                "title": "Ask the temporal memory",
                "description": "Answer a question with a cited context of dated evidence (passages, facts, period summaries), scoped in time and meaning. Times in the question (\"in Q3 2023\", \"last year\") scope it; `time` overrides them.",
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "query": {"type": "string", "description": "The question"},
                        "namespace": ns,
                        "time": {"type": "object", "description": "Hard time scope: {\"at\": \"2024-Q3\"} or {\"from\": \"2019\", \"to\": \"2021\"}",
                                 "properties": {"at": {"type": "string"}, "from": {"type": "string"}, "to": {"type": "string"}}},
                        "now": {"type": "string", "description": "The date relative expressions (\"last quarter\", \"this week\") refer to, e.g. 2024-06-30"},
                        "as_of_tx": as_of,
                        "mode": {"type": "string", "enum": ["auto", "specific", "abstract"]},
                        "budget_chars": {"type": "integer", "minimum": 1, "description": "Context budget in characters (default 8000)"},
                        "top_k": {"type": "integer", "minimum": 1, "description": "Facts to return (default 20)"}
                    },
                    "required": ["query"],
                    "additionalProperties": false
                }
            }),
            json!({
                "name": "timeline",
                "title": "A period of the calendar",
                "description": "What a time node (year 2024, quarter 2024-Q3, month 2024-07, day 2024-07-15) holds: its summary, the periods inside it and its top facts. Without `node`, the years.",
                "inputSchema": {
                    "type": "object",
                    "properties": {"node": {"type": "string"}, "namespace": ns, "as_of_tx": as_of},
                    "additionalProperties": false
                }
            }),
            json!({
                "name": "entity_facts",
                "title": "One entity's facts over time",
                "description": "The facts about an entity (id or name), optionally within a period, retracted ones on request.",
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "entity": {"type": "string"}, "namespace": ns,
                        "from": {"type": "string"}, "to": {"type": "string"}, "as_of_tx": as_of,
                        "include_retracted": {"type": "boolean"},
                        "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
                        "cursor": {"type": "string"}
                    },
                    "required": ["entity"],
                    "additionalProperties": false
                }
            }),
            json!({
                "name": "history",
                "title": "Transactions",
                "description": "The namespace's transactions, newest first: ingests, edits, retractions, rollbacks, erasures, with who and why.",
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "namespace": ns,
                        "before": {"type": "integer", "minimum": 1},
                        "limit": {"type": "integer", "minimum": 1, "maximum": 1000}
                    },
                    "additionalProperties": false
                }
            }),
            json!({
                "name": "diff",
                "title": "What changed between two transactions",
                "description": "Facts, documents and entities added, changed and retracted between transaction `from` (exclusive) and `to`.",
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "namespace": ns,
                        "from": {"type": "integer", "minimum": 0},
                        "to": {"type": "integer", "minimum": 0}
                    },
                    "required": ["from", "to"],
                    "additionalProperties": false
                }
            }),
        ];
        if self.allow_writes {
            tools.push(json!({
                "name": "ingest",
                "title": "Add dated documents",
                "description": "Add documents to the memory; facts are extracted with their times. Each document: text, and optionally id, time (\"2024-07-15\", \"Q3 2024\"), title, source.",
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "namespace": ns,
                        "documents": {"type": "array", "minItems": 1, "items": {
                            "type": "object",
                            "properties": {"id": {"type": "string"}, "text": {"type": "string"}, "time": {"type": "string"},
                                           "title": {"type": "string"}, "source": {"type": "string"}},
                            "required": ["text"]
                        }}
                    },
                    "required": ["documents"],
                    "additionalProperties": false
                }
            }));
            tools.push(json!({
                "name": "rollback",
                "title": "Undo everything after a transaction",
                "description": "Return the namespace's knowledge to its state after transaction `to`, as a new transaction (history is kept).",
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "namespace": ns,
                        "to": {"type": "integer", "minimum": 0},
                        "reason": {"type": "string"}
                    },
                    "required": ["to", "reason"],
                    "additionalProperties": false
                }
            }));
        }
        tools
    }

    fn call(&self, name: &str, mut args: Map<String, Value>) -> Result<(String, Value)> {
        let ns = match args.remove("namespace") {
            None | Some(Value::Null) => self.namespace.clone(),
            Some(Value::String(s)) => s,
            Some(_) => return Err(Error::invalid("`namespace` must be a string")),
        };
        if let Some(access) = self.access {
            let need = match name {
                "ingest" => Tool::Write,
                "rollback" => Tool::Admin,
                _ => Tool::Read,
            };
            access(&ns, need)?;
        }
        let e = self.engine;
        let args = Value::Object(args);
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
        match name {
            "query" => {
                let req: QueryRequest = from_args(args)?;
                let r = e.query(&ns, &req)?;
                let v = serde_json::to_value(&r)?;
                Ok((r.context.clone(), v))
            }
            "timeline" => {
                let node = args.get("node").and_then(Value::as_str).map(str::to_string);
                let as_of = args.get("as_of_tx").and_then(Value::as_u64);
                check_keys(&args, &["node", "as_of_tx"])?;
                let v = serde_json::to_value(e.timeline(&ns, node.as_deref(), as_of)?)?;
                Ok((pretty(&v), v))
            }
            "entity_facts" => {
                let p: FactListParams = from_args(args)?;
                let v = serde_json::to_value(e.facts(&ns, &p)?)?;
                Ok((pretty(&v), v))
            }
            "history" => {
                check_keys(&args, &["before", "limit"])?;
                let before = args.get("before").and_then(Value::as_u64);
                let limit = args.get("limit").and_then(Value::as_u64).unwrap_or(20) as usize;
                let txs: Vec<TxView> = e
                    .transactions(&ns, before, limit.clamp(1, 1000))?
                    .into_iter()
                    .map(TxView::from)
                    .collect();
                let v = json!({ "transactions": txs });
                Ok((pretty(&v), v))
            }
            "diff" => {
                check_keys(&args, &["from", "to"])?;
                let get = |k: &str| {
                    args.get(k)
                        .and_then(Value::as_u64)
                        .ok_or_else(|| Error::invalid(format!("`{k}` must be a transaction id")))
                };
                let v = serde_json::to_value(e.diff(&ns, get("from")?, get("to")?)?)?;
                Ok((pretty(&v), v))
            }
            "ingest" => {
                check_keys(&args, &["documents"])?;
                let docs: Vec<input::DocumentInput> = from_args(
                    args.get("documents")
                        .cloned()
                        .ok_or_else(|| Error::invalid("`documents` is required"))?,
                )?;
                let prepared = docs
                    .into_iter()
                    .map(|d| input::prepare(d, None))
                    .collect::<Result<Vec<_>>>()?;
                let opts = IngestOptions {
                    actor: self.actor.clone(),
                    ..IngestOptions::default()
                };
                let r = e.ingest(&ns, prepared, &opts)?;
                // No background summariser runs beside a stdio server: bring them up to date.
                e.summarize(&ns)?;
                let v = serde_json::to_value(&r)?;
                Ok((pretty(&v), v))
            }
            "rollback" => {
                check_keys(&args, &["to", "reason"])?;
                let to = args
                    .get("to")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| Error::invalid("`to` must be a transaction id"))?;
                let reason = args
                    .get("reason")
                    .and_then(Value::as_str)
                    .filter(|r| !r.trim().is_empty())
                    .ok_or_else(|| Error::invalid("`reason` is required"))?;
                let tx = e.rollback(&ns, to, &self.actor, Some(reason.to_string()))?;
                e.summarize(&ns)?;
                let v = serde_json::to_value(TxView::from(tx))?;
                Ok((pretty(&v), v))
            }
            other => Err(Error::invalid(format!("unknown tool {other:?}"))),
        }
    }
}

fn from_args<T: serde::de::DeserializeOwned>(args: Value) -> Result<T> {
    serde_json::from_value(args).map_err(|e| Error::invalid(format!("invalid arguments: {e}")))
}

fn check_keys(args: &Value, known: &[&str]) -> Result<()> {
    if let Some(k) = args
        .as_object()
        .and_then(|m| m.keys().find(|k| !known.contains(&k.as_str())))
    {
        return Err(Error::invalid(format!(
            "unknown argument {k:?}; expected {}",
            known.join(", ")
        )));
    }
    Ok(())
}

fn ok(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}
