//! The operations table: every route of the HTTP API with its handler and its documentation, in
//! one place.
//!
//! [`super::router`] mounts the handlers of [`routes`]; [`super::openapi`] renders the same
//! entries as the `paths` of `schema/openapi.json`. A route therefore cannot be served without
//! being documented, nor documented without being served, and what a route documents is derived
//! from the types its handler uses: the query-string parameters from the handler's query struct
//! (names, types, bounds, which are required, and each field's doc comment as its description),
//! the request body and the responses from the wire types. Only the prose (summary, the
//! description of a path parameter), the list of statuses, and which query struct and body type
//! go with a handler are written here by hand; `tests/it/http.rs` checks the query structs against
//! the server (every documented parameter is read by its route, an unknown one refused).

use axum::routing::{MethodRouter, delete, get, patch, post, put};
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Value, json};

use super::{AppState, governance, routes, wire};
use crate::engine::{BackupReport, EraseReport};
use crate::engine::{FactList, FactListParams, Job, TimelineNode, VerifyReport};
use crate::governance::history::Diff;
use crate::ingest::IngestReport;
use crate::model::{DocumentView, EntityView, FactView, TxView};
use crate::query::{QueryRequest, QueryResult};
use crate::summary::scheduler::SummarizeReport;

/// A schema for one side of the contract, registering the named types it uses in the generator
/// it is given (the serialize generator for responses, the deserialize one for requests).
pub type SchemaFn = fn(&mut SchemaGenerator) -> Value;

/// The fields of a query struct, in the order it declares them.
pub type FieldsFn = fn() -> &'static [&'static str];

/// A `$ref` to `T`'s component schema (registering it).
pub fn reference<T: JsonSchema>(g: &mut SchemaGenerator) -> Value {
    let r = g.subschema_for::<T>().to_value();
    assert!(
        r.get("$ref").is_some(),
        "{} is inlined; a component must be a named type",
        T::schema_name()
    );
    r
}

/// The object schema of a query struct `T`, whose properties become query parameters.
fn object<T: JsonSchema>(g: &mut SchemaGenerator) -> Value {
    T::json_schema(g).to_value()
}

/// The fields of a struct deriving `Deserialize`, in the order they are declared (a schema's
/// properties come out sorted): serde hands them to `deserialize_struct`, which this
/// deserializer records and then refuses.
fn field_order<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{Error as _, Visitor, value::Error};
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
            Err(Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Error> {
            *self.0 = fields;
            Err(Error::custom("probed"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    assert!(
        !fields.is_empty(),
        "a query struct derives Deserialize with named fields"
    );
    fields
}

fn text(_: &mut SchemaGenerator) -> Value {
    json!({"type": "string"})
}

fn event_stream(_: &mut SchemaGenerator) -> Value {
    json!({"type": "string", "description": SSE})
}

fn any_object(_: &mut SchemaGenerator) -> Value {
    json!({"type": "object"})
}

fn json_rpc(_: &mut SchemaGenerator) -> Value {
    json!({"type": "object", "description": "A JSON-RPC 2.0 request or notification"})
}

fn erase_or_retract(g: &mut SchemaGenerator) -> Value {
    json!({"oneOf": [reference::<EraseReport>(g), reference::<wire::DocumentRetracted>(g)]})
}

/// The error statuses every route may answer, with their standard descriptions; an operation
/// lists the ones it answers and may describe one its own way ([`Op::response`]).
pub const ERRORS: &[(u16, &str)] = &[
    (400, "Malformed request"),
    (401, "Missing or invalid API key"),
    (403, "The key lacks the role"),
    (404, "Not found (namespace, record, route)"),
    (409, "Conflict"),
    (413, "Too large"),
    (415, "Body is not JSON"),
    (422, "Invalid time expression or date"),
    (429, "Too many concurrent requests for this key"),
    (
        503,
        "Unavailable (timeout, read-only data folder, shutting down)",
    ),
];

/// What a namespace route answers besides its success: the caller's key, the namespace, the
/// request and the service.
const NS_READ: &[u16] = &[400, 401, 403, 404, 429, 503];
/// [`NS_READ`] and an invalid period in the query string.
const NS_READ_TIME: &[u16] = &[400, 401, 403, 404, 422, 429, 503];
/// [`NS_READ`] and what a JSON body or a change can meet.
const NS_WRITE: &[u16] = &[400, 401, 403, 404, 409, 415, 422, 429, 503];
/// Routes on the whole service for admins.
const SERVICE_ADMIN: &[u16] = &[400, 401, 403, 429, 503];

/// One response: status, description and its bodies by media type.
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// What it means for this operation.
    pub description: &'static str,
    /// `(media type, schema)`; empty for a response without a body.
    pub content: Vec<(&'static str, SchemaFn)>,
}

/// A path parameter other than `{ns}` (which every namespace route shares).
pub struct PathParam {
    /// Its name in the path template.
    pub name: &'static str,
    /// `string` or `integer`.
    pub kind: &'static str,
    /// What it names.
    pub description: &'static str,
}

/// The documentation of one operation.
pub struct Op {
    /// One line.
    pub summary: &'static str,
    /// More, when one line is not enough.
    pub description: Option<&'static str>,
    /// The group it is listed under.
    pub tag: &'static str,
    /// The path parameters besides `{ns}`.
    pub path_params: Vec<PathParam>,
    /// The handler's query struct: its object schema, and its fields in declared order.
    pub query: Option<(SchemaFn, FieldsFn)>,
    /// The JSON request body.
    pub body: Option<SchemaFn>,
    /// The responses described for this operation (successes and any error it describes
    /// its own way).
    pub responses: Vec<Response>,
    /// Error statuses answered with the standard description of [`ERRORS`].
    pub errors: &'static [u16],
}

/// One route: what the router mounts and what the contract documents.
pub struct Route {
    /// `GET`, `POST`, …
    pub method: &'static str,
    /// The path template (`/v1/namespaces/{ns}/facts/{id}`).
    pub path: &'static str,
    /// What serves it (the router's).
    pub handler: MethodRouter<AppState>,
    /// What documents it (the contract's).
    pub op: Op,
}

fn route(
    method: &'static str,
    path: &'static str,
    handler: MethodRouter<AppState>,
    tag: &'static str,
    summary: &'static str,
) -> Route {
    Route {
        method,
        path,
        handler,
        op: Op {
            summary,
            description: None,
            tag,
            path_params: Vec::new(),
            query: None,
            body: None,
            responses: Vec::new(),
            errors: &[],
        },
    }
}

impl Route {
    fn describe(mut self, d: &'static str) -> Self {
        self.op.description = Some(d);
        self
    }
    fn param(mut self, name: &'static str, kind: &'static str, description: &'static str) -> Self {
        assert!(
            self.path.contains(&format!("{{{name}}}")),
            "{} has no {{{name}}}",
            self.path
        );
        self.op.path_params.push(PathParam {
            name,
            kind,
            description,
        });
        self
    }
    fn query<T: JsonSchema + serde::de::DeserializeOwned>(mut self) -> Self {
        self.op.query = Some((object::<T>, field_order::<T>));
        self
    }
    fn body<T: JsonSchema>(mut self) -> Self {
        self.op.body = Some(reference::<T>);
        self
    }
    fn raw_body(mut self, s: SchemaFn) -> Self {
        self.op.body = Some(s);
        self
    }
    fn response(
        mut self,
        status: u16,
        description: &'static str,
        content: Vec<(&'static str, SchemaFn)>,
    ) -> Self {
        self.op.responses.push(Response {
            status,
            description,
            content,
        });
        self
    }
    /// 200 with `T` as JSON.
    fn ok<T: JsonSchema>(self) -> Self {
        self.response(200, "OK", vec![("application/json", reference::<T>)])
    }
    fn errors(mut self, codes: &'static [u16]) -> Self {
        self.op.errors = codes;
        self
    }
}

const JSON: &str = "application/json";

/// Every route of the service, in the order the contract lists them. An API route whose handler
/// reads no query string refuses one (400 naming the parameter), as the others refuse a
/// parameter their query struct lacks: a typo never passes silently.
pub fn routes() -> Vec<Route> {
    table()
        .into_iter()
        .map(|mut r| {
            if r.op.query.is_none() && r.path.starts_with("/v1/") {
                r.handler = r
                    .handler
                    .route_layer(axum::middleware::from_fn(refuse_query));
            }
            r
        })
        .collect()
}

/// Refuses a query string on a route that reads none, naming its first parameter.
async fn refuse_query(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let first = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find(|p| !p.is_empty()));
    match first {
        None => next.run(req).await,
        Some(p) => {
            let name = p.split('=').next().unwrap_or(p);
            super::error::ApiError::bad_request(format!(
                "unknown query parameter `{name}`: {} {} takes no query parameters",
                req.method(),
                req.uri().path()
            ))
            .into_response()
        }
    }
}

fn table() -> Vec<Route> {
    use governance as g;
    use routes as r;
    vec![
        route(
            "GET",
            "/health",
            get(r::health),
            "service",
            "Liveness and version",
        )
        .ok::<wire::Health>(),
        route(
            "GET",
            "/metrics",
            get(r::metrics),
            "service",
            "Prometheus metrics",
        )
        .response(
            200,
            "Prometheus text exposition",
            vec![("text/plain", text)],
        )
        .errors(&[401, 429]),
        route(
            "GET",
            "/openapi.json",
            get(r::openapi),
            "service",
            "This document",
        )
        .response(200, "OpenAPI 3.1", vec![(JSON, any_object)]),
        route(
            "GET",
            "/",
            get(r::root),
            "service",
            "Redirect to the memory browser",
        )
        .describe("A browser opening the service's root is sent to `/ui`.")
        .response(307, "Temporary redirect to `/ui`", vec![]),
        route(
            "GET",
            "/ui",
            get(r::ui),
            "service",
            "Memory browser (web page)",
        )
        .describe(UI)
        .response(200, "The page", vec![("text/html", text)]),
        route(
            "POST",
            "/mcp",
            post(r::mcp),
            "service",
            "Model Context Protocol over streamable HTTP",
        )
        .describe(MCP)
        .query::<r::McpParams>()
        .raw_body(json_rpc)
        .response(200, "The JSON-RPC response", vec![(JSON, any_object)])
        .response(202, "A notification was received (no body)", vec![])
        .response(400, MCP_400, vec![(JSON, any_object)])
        .response(403, MCP_403, vec![(JSON, reference::<wire::ErrorBody>)])
        .response(
            406,
            "The request does not accept both application/json and text/event-stream",
            vec![(JSON, reference::<wire::ErrorBody>)],
        )
        .response(
            413,
            "The message is larger than max_body_bytes",
            vec![(JSON, reference::<wire::ErrorBody>)],
        )
        .response(
            415,
            "The body is not sent as application/json",
            vec![(JSON, reference::<wire::ErrorBody>)],
        )
        .response(
            500,
            "The MCP transport failed",
            vec![(JSON, reference::<wire::ErrorBody>)],
        )
        .errors(&[401]),
        route(
            "GET",
            "/v1/namespaces",
            get(r::list_namespaces),
            "namespaces",
            "List namespaces the key can read, with record counts",
        )
        .ok::<wire::NamespaceList>()
        .errors(&[400, 401, 429, 503]),
        route(
            "PUT",
            "/v1/namespaces/{ns}",
            put(r::create_namespace),
            "namespaces",
            "Create a namespace (idempotent; namespaces are also created on first write)",
        )
        .response(
            200,
            "Already existed",
            vec![(JSON, reference::<wire::NamespaceCreated>)],
        )
        .response(
            201,
            "Created",
            vec![(JSON, reference::<wire::NamespaceCreated>)],
        )
        .errors(NS_READ),
        route(
            "GET",
            "/v1/namespaces/{ns}",
            get(r::get_namespace),
            "namespaces",
            "Namespace record counts and index sizes",
        )
        .ok::<wire::NamespaceInfo>()
        .errors(NS_READ),
        route(
            "POST",
            "/v1/namespaces/{ns}/documents",
            post(r::ingest),
            "documents",
            "Ingest documents (one transaction), or queue them as a job",
        )
        .describe(INGEST)
        .query::<r::IngestParams>()
        .body::<r::IngestRequest>()
        .ok::<IngestReport>()
        .response(
            202,
            "Accepted as a job; poll its href",
            vec![(JSON, reference::<wire::JobAccepted>)],
        )
        .errors(&[400, 401, 403, 404, 413, 415, 422, 429, 503]),
        route(
            "GET",
            "/v1/namespaces/{ns}/documents",
            get(r::list_documents),
            "documents",
            "List documents",
        )
        .query::<r::DocPage>()
        .ok::<wire::DocumentPage>()
        .errors(NS_READ),
        route(
            "GET",
            "/v1/namespaces/{ns}/documents/{id}",
            get(r::get_document),
            "documents",
            "A document and its chunks",
        )
        .param("id", "string", DOC_ID)
        .query::<r::AsOf>()
        .ok::<DocumentView>()
        .errors(NS_READ),
        route(
            "DELETE",
            "/v1/namespaces/{ns}/documents/{id}",
            delete(g::delete_document),
            "governance",
            "Retract a document (write role), or with erase=true erase it for a privacy request \
             (admin role): text, facts, vectors, index entries and summary findings derived from \
             it are removed; a tombstone goes into the audit log",
        )
        .param("id", "string", DOC_ID)
        .query::<g::DeleteParams>()
        .response(200, "OK", vec![(JSON, erase_or_retract)])
        .errors(NS_WRITE),
        route(
            "GET",
            "/v1/namespaces/{ns}/jobs/{id}",
            get(r::get_job),
            "documents",
            "Status, progress and result of an ingest job",
        )
        .param("id", "integer", "Job id")
        .ok::<Job>()
        .errors(NS_READ),
        route(
            "POST",
            "/v1/namespaces/{ns}/query",
            post(r::query),
            "query",
            "Ask a question: facts, chunks and summaries scoped in time and meaning, and a cited \
             context",
        )
        .describe(QUERY)
        .body::<QueryRequest>()
        .response(
            200,
            "OK",
            vec![
                (JSON, reference::<QueryResult>),
                ("text/event-stream", event_stream),
            ],
        )
        .errors(&[400, 401, 403, 404, 413, 415, 422, 429, 503]),
        route(
            "GET",
            "/v1/namespaces/{ns}/facts",
            get(r::list_facts),
            "facts",
            "List facts by valid time and entity, as of a transaction",
        )
        .query::<FactListParams>()
        .ok::<FactList>()
        .errors(NS_READ_TIME),
        route(
            "POST",
            "/v1/namespaces/{ns}/facts",
            post(g::assert_facts),
            "governance",
            "Assert facts by hand (one transaction; write role)",
        )
        .body::<g::AssertRequest>()
        .response(
            201,
            "Asserted",
            vec![(JSON, reference::<wire::FactsAsserted>)],
        )
        .errors(&[400, 401, 403, 404, 409, 413, 415, 422, 429, 503]),
        route(
            "GET",
            "/v1/namespaces/{ns}/facts/{id}",
            get(r::get_fact),
            "facts",
            "One fact as of a transaction (any status)",
        )
        .param("id", "integer", "Fact id")
        .query::<r::AsOf>()
        .ok::<FactView>()
        .errors(NS_READ),
        route(
            "PATCH",
            "/v1/namespaces/{ns}/facts/{id}",
            patch(g::correct_fact),
            "governance",
            "Correct a fact: retract it and assert the corrected copy in one transaction (write \
             role; reason required)",
        )
        .param("id", "integer", "Fact id")
        .body::<g::CorrectRequest>()
        .ok::<wire::FactCorrected>()
        .errors(NS_WRITE),
        route(
            "DELETE",
            "/v1/namespaces/{ns}/facts/{id}",
            delete(g::retract_fact),
            "governance",
            "Retract a fact (write role; reason required)",
        )
        .param("id", "integer", "Fact id")
        .query::<g::DeleteParams>()
        .ok::<wire::FactRetracted>()
        .errors(NS_WRITE),
        route(
            "GET",
            "/v1/namespaces/{ns}/entities",
            get(r::list_entities),
            "entities",
            "List or search entities",
        )
        .query::<r::EntityParams>()
        .ok::<wire::EntityPage>()
        .errors(NS_READ),
        route(
            "GET",
            "/v1/namespaces/{ns}/entities/{id}",
            get(r::get_entity),
            "entities",
            "An entity by id or name",
        )
        .param("id", "string", ENTITY_ID)
        .query::<r::AsOf>()
        .ok::<EntityView>()
        .errors(NS_READ),
        route(
            "PATCH",
            "/v1/namespaces/{ns}/entities/{id}",
            patch(g::rename_entity),
            "governance",
            "Rename an entity (the old name stays an alias; write role)",
        )
        .param("id", "string", ENTITY_ID)
        .body::<g::RenameRequest>()
        .ok::<wire::TxRef>()
        .errors(NS_WRITE),
        route(
            "DELETE",
            "/v1/namespaces/{ns}/entities/{id}",
            delete(g::delete_entity),
            "governance",
            "Erase an entity and every fact that mentions it (admin role; erase=true and a reason \
             required)",
        )
        .param("id", "string", ENTITY_ID)
        .query::<g::DeleteParams>()
        .ok::<EraseReport>()
        .errors(NS_WRITE),
        route(
            "GET",
            "/v1/namespaces/{ns}/entities/{id}/timeline",
            get(r::entity_timeline),
            "entities",
            "An entity's facts in valid-time order",
        )
        .param("id", "string", ENTITY_ID)
        .query::<r::EntityTimelineParams>()
        .ok::<wire::EntityTimeline>()
        .errors(NS_READ_TIME),
        route(
            "GET",
            "/v1/namespaces/{ns}/timeline",
            get(r::timeline_root),
            "timeline",
            "The years of the namespace with their summary titles",
        )
        .query::<r::AsOf>()
        .ok::<TimelineNode>()
        .errors(NS_READ),
        route(
            "GET",
            "/v1/namespaces/{ns}/timeline/{node}",
            get(r::timeline_node),
            "timeline",
            "A time node: summary, child periods, top facts and staleness",
        )
        .param(
            "node",
            "string",
            "2024, 2024-Q3, 2024-07, 2024-W28 or 2024-07-15",
        )
        .query::<r::AsOf>()
        .ok::<TimelineNode>()
        .errors(NS_READ_TIME),
        route(
            "POST",
            "/v1/namespaces/{ns}/summarize",
            post(r::summarize),
            "timeline",
            "Recompute the summaries of changed time nodes now (they are also updated in the \
             background)",
        )
        .ok::<SummarizeReport>()
        .errors(NS_READ),
        route(
            "POST",
            "/v1/namespaces/{ns}/entities/merge",
            post(g::merge_entities),
            "governance",
            "Merge entities into one (their facts move to the survivor; write role; reason \
             required)",
        )
        .body::<g::MergeRequest>()
        .ok::<wire::EntitiesMerged>()
        .errors(NS_WRITE),
        route(
            "GET",
            "/v1/namespaces/{ns}/transactions",
            get(g::list_transactions),
            "governance",
            "Transactions, newest first",
        )
        .query::<g::TxPage>()
        .ok::<wire::TransactionPage>()
        .errors(NS_READ),
        route(
            "GET",
            "/v1/namespaces/{ns}/transactions/{tx}",
            get(g::get_transaction),
            "governance",
            "One transaction with its changes",
        )
        .param("tx", "integer", "Transaction id")
        .ok::<TxView>()
        .errors(NS_READ),
        route(
            "POST",
            "/v1/namespaces/{ns}/rollback",
            post(g::rollback),
            "governance",
            "Undo everything after to_tx, or exactly one transaction (revert_tx), as a new \
             transaction (admin role)",
        )
        .body::<g::RollbackRequest>()
        .ok::<wire::RollbackResult>()
        .errors(NS_WRITE),
        route(
            "GET",
            "/v1/namespaces/{ns}/diff",
            get(g::diff),
            "governance",
            "What changed between two transactions: facts asserted/retracted/updated, entities, \
             summaries",
        )
        .query::<g::DiffParams>()
        .response(
            200,
            "The diff",
            vec![(JSON, reference::<Diff>), ("text/plain", text)],
        )
        .errors(NS_READ),
        route(
            "GET",
            "/v1/namespaces/{ns}/audit",
            get(g::audit),
            "governance",
            "The namespace's hash-chained audit log (admin role)",
        )
        .query::<g::AuditPage>()
        .ok::<wire::AuditLogPage>()
        .errors(NS_READ),
        route(
            "GET",
            "/v1/audit/verify",
            get(g::verify),
            "governance",
            "Verify every namespace's audit hash chain (admin role on \"*\")",
        )
        .ok::<VerifyReport>()
        .errors(SERVICE_ADMIN),
        route(
            "POST",
            "/v1/admin/backup",
            post(g::backup),
            "governance",
            "Copy the whole store into a new folder on the server as one consistent state (admin \
             role on \"*\"); writes wait for the copy, reads do not",
        )
        .body::<g::BackupRequest>()
        .ok::<BackupReport>()
        .response(
            400,
            "Invalid body or destination (exists and is not empty, inside the data folder)",
            vec![(JSON, reference::<wire::ErrorBody>)],
        )
        .errors(SERVICE_ADMIN),
        route(
            "GET",
            "/v1/namespaces/{ns}/conflicts",
            get(g::conflicts),
            "governance",
            "Contradicting facts kept for review (both still active)",
        )
        .query::<r::AsOf>()
        .ok::<wire::ConflictList>()
        .errors(NS_READ),
    ]
}

const DOC_ID: &str = "User-facing document id";
const ENTITY_ID: &str = "Entity id or name";
const UI: &str = "A self-contained page (no external assets): a timeline of fact counts and summaries by year, quarter and month; entity facts on a time axis with their graph neighbourhood; a question box showing the plan, ranked facts and passages and the cited context; the transaction history with diff, revert and rollback, and audit status. An as-of slider re-reads everything as of an earlier transaction. Needs no key; the page's own API calls send the key entered in it (kept in the tab's session storage).";
const MCP: &str = "The Model Context Protocol's streamable HTTP transport (the official Rust SDK, `rmcp`), stateless: one JSON-RPC 2.0 message per request (initialize, ping, tools/list, tools/call, notifications), sent with `Accept: application/json, text/event-stream` (and, after initialize, `MCP-Protocol-Version`), answered as application/json. The tools are those of `chronorag mcp` (query, timeline, entity_facts, history, diff; ingest and rollback when the key can write the default namespace). Every tool call is checked against the key: reading tools need `read`, `ingest` `write`, `rollback` `admin` on the namespace it names; a refused call is a tool result with `isError: true` and code `forbidden`. Add it to an agent as the URL `http://HOST:PORT/mcp?namespace=NS` with the key in `Authorization: Bearer`.";
const INGEST: &str = "Every document is validated first: one invalid document rejects the whole request and nothing is written. Re-sending the same content is a no-op (duplicates are counted).";
const QUERY: &str = "Send `Accept: text/event-stream` to stream the answer (see the 200 response's `text/event-stream` content).";
const MCP_400: &str = "A JSON-RPC error with id null or the request's id: the body is not JSON (-32700) or not a JSON-RPC message (-32600); or, in this API's error shape, a missing or unknown `MCP-Protocol-Version` header";
const MCP_403: &str = "On a server bound to a loopback address without API keys: a `Host` header that is neither a loopback name nor in `mcp_allowed_hosts` (the SDK's guard against DNS rebinding). A key's missing role is a tool result with `isError`, not a 403";
const SSE: &str = "With `Accept: text/event-stream`: server-sent events. `context` first (the QueryResult without `answer`: plan, facts, chunks, summaries, passages, cited context); with `answer: true`, one `token` event per piece of the LLM's reply as it arrives (`{\"text\": \"...\"}`); last `answer` (`{\"answer\": {\"text\", \"model\"}}`) or `error` (`{\"error\": {\"code\", \"message\"}}`). Errors found before the first event are ordinary JSON errors with their status.";

#[cfg(test)]
mod tests {
    use super::*;

    /// Every API route reads a query struct or refuses any query string, so each can answer
    /// 400, and its statuses must say so.
    #[test]
    fn every_api_route_documents_its_400() {
        for r in routes().iter().filter(|r| r.path.starts_with("/v1/")) {
            assert!(
                r.op.errors.contains(&400) || r.op.responses.iter().any(|x| x.status == 400),
                "{} {} answers 400 to a bad query string but does not document it",
                r.method,
                r.path
            );
        }
    }
}
