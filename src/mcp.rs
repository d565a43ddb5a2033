//! The Model Context Protocol server behind `chronorag mcp`: an agent (Claude Desktop, an IDE,
//! any MCP client) starts it as a subprocess and calls ChronoRAG's tools over stdio.
//!
//! The protocol is the official Rust SDK's (`rmcp`): it negotiates the protocol version, frames
//! the JSON-RPC messages and answers the protocol's own errors. This module only describes the
//! tools and maps their calls onto the engine ([`ChronoMcp`] is an `rmcp::ServerHandler`). Two
//! transports carry it: stdio (`chronorag mcp`; logs on stderr) and streamable HTTP
//! (`POST /mcp` on `chronorag serve`, stateless, each answer as JSON; see `api::routes::mcp`),
//! where every tool call is also checked against the caller's key.
//!
//! Tools: `query` (time scope, `now`, `as_of_tx`, budget, mode), `timeline`, `entity_facts`,
//! `history`, `diff`, and, only when the server was started with writes allowed, `ingest` and
//! `rollback`. A tool that fails answers a result with `isError: true` and the message (the
//! protocol's way to let the model see and correct its call); an unknown tool is a JSON-RPC
//! error.
//!
//! **Invariant:** every tool is one call of a public [`Engine`] method, run on the blocking
//! pool; this module only maps arguments in and results out.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Map, Value, json};

use crate::Engine;
use crate::engine::FactListParams;
use crate::ingest::{IngestOptions, input};
use crate::model::TxView;
use crate::query::QueryRequest;
use crate::{Error, Result};

/// Decides whether a tool call on a namespace may run (`write`: it changes the namespace);
/// the HTTP transport checks the caller's key with it.
pub type Access = dyn Fn(&str, Tool) -> Result<()> + Send + Sync;

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

/// Who calls, over which transport: the default namespace, whether write tools are offered,
/// the actor written on transactions and the access check. The HTTP transport builds one per
/// request from the caller's key and puts it in the request's extensions.
#[derive(Clone)]
pub struct Scope {
    /// Namespace the tools use when a call names none.
    pub namespace: String,
    /// Offer `ingest` and `rollback`.
    pub allow_writes: bool,
    /// Recorded on the transactions the tools write.
    pub actor: String,
    /// Checked before every tool call (none over stdio: the local user owns the store).
    pub access: Option<Arc<Access>>,
    /// Kept alive until the tool's work ends, even if the client has gone (over HTTP: the
    /// request's share of its key's concurrency limit).
    pub hold: Option<Arc<dyn std::any::Any + Send + Sync>>,
    /// Reading tools wait for a permit of this gate before their work starts (over HTTP: the
    /// server's read gate, one read per core).
    pub read_gate: Option<Arc<tokio::sync::Semaphore>>,
    /// A reading tool that has not answered within this time (waiting for the gate included)
    /// answers a `timeout` error result; its work runs on and keeps what `hold` holds until it
    /// ends (over HTTP: `request_timeout_ms`, as for every other read). Writing tools have none:
    /// a slow write must not be reported as failed while it lands.
    pub read_timeout: Option<std::time::Duration>,
}

impl Scope {
    /// A scope for the local user: no access check, actor `mcp`.
    pub fn local(namespace: &str, allow_writes: bool) -> Scope {
        Scope {
            namespace: namespace.to_string(),
            allow_writes,
            actor: "mcp".to_string(),
            access: None,
            hold: None,
            read_gate: None,
            read_timeout: None,
        }
    }
}

/// ChronoRAG's MCP server: the tools over one engine.
#[derive(Clone)]
pub struct ChronoMcp {
    engine: Arc<Engine>,
    /// Used unless the request carries its own [`Scope`] (the HTTP transport's).
    scope: Scope,
}

const INSTRUCTIONS: &str = "ChronoRAG is a temporal knowledge-graph memory. Use `query` with a \
    question (and a time scope or `now` when the question is about a period) to get a cited \
    context of dated evidence; `timeline` for what a year, quarter, month or day holds; \
    `entity_facts` for one entity's facts over time; `history` and `diff` for what changed.";

impl ChronoMcp {
    /// A server over `engine` for `scope`.
    pub fn new(engine: Arc<Engine>, scope: Scope) -> Self {
        ChronoMcp { engine, scope }
    }

    /// The scope of one request: the one the HTTP transport attached, else the server's own.
    fn scope_of(&self, ctx: &RequestContext<RoleServer>) -> Scope {
        ctx.extensions
            .get::<axum::http::request::Parts>()
            .and_then(|p| p.extensions.get::<Scope>())
            .cloned()
            .unwrap_or_else(|| self.scope.clone())
    }

    /// The tools offered in `scope`, with their input schemas.
    pub fn tools(scope: &Scope) -> Vec<rmcp::model::Tool> {
        tool_values(scope)
            .into_iter()
            .map(|v| serde_json::from_value(v).expect("the tool definitions are valid MCP tools"))
            .collect()
    }
}

impl ServerHandler for ChronoMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("chronorag", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(Self::tools(
            &self.scope_of(&ctx),
        )))
    }

    fn get_tool(&self, name: &str) -> Option<rmcp::model::Tool> {
        // Every tool, write tools included: the HTTP transport checks headers against it
        // before the request's scope is known; `call_tool` decides what is offered.
        let all = Scope {
            allow_writes: true,
            ..self.scope.clone()
        };
        Self::tools(&all).into_iter().find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, ErrorData> {
        let scope = self.scope_of(&ctx);
        let name = request.name.to_string();
        if !tool_values(&scope)
            .iter()
            .any(|t| t["name"] == name.as_str())
        {
            let why = match name.as_str() {
                "ingest" | "rollback" if scope.access.is_some() => format!(
                    "tool {name:?} writes; it is offered to keys with the write role on \
                     namespace {:?}",
                    scope.namespace
                ),
                "ingest" | "rollback" => format!(
                    "tool {name:?} writes; start the server with --allow-writes to offer it"
                ),
                _ => format!("unknown tool {name:?}; see tools/list"),
            };
            return Err(ErrorData::invalid_params(why, None));
        }
        let read = matches!(need(&name), Tool::Read);
        let gate = scope.read_gate.clone().filter(|_| read);
        let timeout = scope.read_timeout.filter(|_| read);
        let args = request.arguments.unwrap_or_default();
        let engine = self.engine.clone();
        let work = async move {
            let permit =
                match gate {
                    Some(gate) => Some(gate.acquire_owned().await.map_err(|_| {
                        ErrorData::internal_error("the server is shutting down", None)
                    })?),
                    None => None,
                };
            // The scope (and what it holds) and the permit stay alive until the work ends.
            tokio::task::spawn_blocking(move || {
                let r = call(&engine, &scope, &name, args);
                drop(permit);
                r
            })
            .await
            .map_err(|e| ErrorData::internal_error(format!("the tool call failed: {e}"), None))
        };
        let done = match timeout {
            Some(t) => match tokio::time::timeout(t, work).await {
                Ok(done) => done?,
                Err(_) => Err(Error::Unavailable(format!(
                    "the tool call took longer than {} ms (request_timeout_ms)",
                    t.as_millis()
                ))),
            },
            None => work.await?,
        };
        let result = match done {
            Ok((text, structured)) => {
                let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
                r.structured_content = Some(structured);
                r
            }
            Err(e) => {
                CallToolResult::error(vec![ContentBlock::text(format!("{} error: {e}", e.code()))])
            }
        };
        Ok(result.into())
    }
}

/// Serves MCP over this process's stdin and stdout until the client closes stdin.
pub async fn serve_stdio(server: ChronoMcp) -> Result<()> {
    use rmcp::ServiceExt;
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| Error::invalid(format!("MCP session did not start: {e}")))?;
    running
        .waiting()
        .await
        .map_err(|e| Error::Io(std::io::Error::other(format!("MCP session ended: {e}"))))?;
    Ok(())
}

/// The tools offered in `scope`, as MCP tool definitions.
fn tool_values(scope: &Scope) -> Vec<Value> {
    let ns = json!({"type": "string", "description": format!("Namespace (default {:?})", scope.namespace)});
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
    if scope.allow_writes {
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

/// Runs one tool call.
fn call(
    e: &Engine,
    scope: &Scope,
    name: &str,
    mut args: Map<String, Value>,
) -> Result<(String, Value)> {
    let ns = match args.remove("namespace") {
        None | Some(Value::Null) => scope.namespace.clone(),
        Some(Value::String(s)) => s,
        Some(_) => return Err(Error::invalid("`namespace` must be a string")),
    };
    if let Some(access) = &scope.access {
        access(&ns, need(name))?;
    }
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
                actor: scope.actor.clone(),
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
            let tx = e.rollback(&ns, to, &scope.actor, Some(reason.to_string()))?;
            e.summarize(&ns)?;
            let v = serde_json::to_value(TxView::from(tx))?;
            Ok((pretty(&v), v))
        }
        other => Err(Error::invalid(format!("unknown tool {other:?}"))),
    }
}

/// What a tool needs of the caller.
fn need(tool: &str) -> Tool {
    match tool {
        "ingest" => Tool::Write,
        "rollback" => Tool::Admin,
        _ => Tool::Read,
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
