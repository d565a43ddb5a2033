//! Request handlers: each parses its input, checks the caller's role, calls one engine method on
//! a blocking thread and returns JSON. No handler knows about the store or the indexes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::auth::Role;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiBytes, ApiJson, ApiPath, ApiQuery, Who};
use super::wire::{
    DocumentPage, EntityPage, EntityTimeline, Health, JobAccepted, NamespaceCreated,
    NamespaceEntry, NamespaceInfo, NamespaceList,
};
use crate::engine::FactListParams;
use crate::ingest::IngestOptions;
use crate::ingest::input::{self, DocumentInput};
use crate::model::validate_namespace;
use crate::model::{EntityKind, TxId};
use crate::query::QueryRequest;

/// Runs engine work on the blocking pool; a panic there becomes a 500 without details. The
/// work holds the request's concurrency slot until it ends, even when the request has already
/// been answered (a read past its timeout). A read first waits for a read worker (see
/// `api::read_workers`), and holds it while its work runs.
pub async fn blocking<T, F>(f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> crate::Result<T> + Send + 'static,
{
    let slot = super::SLOT.try_with(|s| s.clone()).ok();
    // Reads wait here, without a thread, for one of the read workers.
    let gate = super::READS.try_with(|g| g.clone()).ok();
    let admitted = match gate {
        Some(g) => Some(
            g.acquire_owned()
                .await
                .expect("the read gate is never closed"),
        ),
        None => None,
    };
    let work = move || {
        let r = f();
        drop(admitted);
        drop(slot);
        r
    };
    match tokio::task::spawn_blocking(work).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => {
            tracing::error!(error = %e, "a request handler panicked");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "internal error; the request was not applied",
            ))
        }
    }
}

/// Every list route pages the same way: `limit` and `cursor` in, `next_cursor` out (a string,
/// null on the last page). Cursors of the numeric kind are parsed here.
pub(crate) fn numeric_cursor(c: Option<&str>) -> ApiResult<Option<u64>> {
    c.map(|c| {
        c.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "invalid cursor {c:?}: pass the next_cursor of the previous page"
            ))
        })
    })
    .transpose()
}

/// The `next_cursor` of a page: the last item's key when the page was full.
pub(crate) fn next_cursor(full: bool, last: Option<u64>) -> Option<String> {
    last.filter(|_| full).map(|k| k.to_string())
}

fn ns_ok(ns: &str) -> ApiResult<()> {
    validate_namespace(ns).map_err(ApiError::from)
}

/// `GET /health`.
pub async fn health(State(s): State<AppState>) -> ApiResult<Json<Health>> {
    let e = s.engine.clone();
    let names = blocking(move || e.namespace_names()).await?;
    Ok(Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        namespaces: names.len(),
        auth: s.auth.is_some(),
    }))
}

/// `GET /metrics`.
pub async fn metrics(State(s): State<AppState>, who: Who) -> ApiResult<Response> {
    let e = s.engine.clone();
    let m = s.metrics.clone();
    // Per-namespace lines only for the namespaces this key may read.
    let text = blocking(move || Ok(m.render(&e, &|ns| who.0.allows(ns, Role::Read)))).await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        text,
    )
        .into_response())
}

/// The memory browser (timeline, entity, ask, history): one self-contained page, no external
/// assets, calling only the public API.
const UI: &str = include_str!("ui.html");

/// `GET /ui`: the memory browser.
pub async fn ui() -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
            // Everything the page needs is inline or on this origin.
            (
                axum::http::header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                 connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
            ),
            (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        UI,
    )
        .into_response()
}

/// `GET /`: points a browser at the memory browser.
pub async fn root() -> Response {
    axum::response::Redirect::temporary("/ui").into_response()
}

/// Query of `POST /mcp`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpParams {
    /// The namespace tools default to (default `default`); a tool's `namespace` argument wins.
    pub namespace: Option<String>,
}

/// The MCP server behind `POST /mcp`: the SDK's streamable HTTP transport, stateless (no
/// sessions; each POST carries one JSON-RPC message) and answering JSON.
pub type McpService = rmcp::transport::StreamableHttpService<
    crate::mcp::ChronoMcp,
    rmcp::transport::streamable_http_server::session::never::NeverSessionManager,
>;

/// Builds [`McpService`] for a server's settings. Bound to a loopback address without API keys,
/// it accepts only loopback `Host` headers (the SDK's guard against DNS rebinding, by which a
/// web page could reach a local server); with keys, or bound to another address, any host,
/// since keys guard it (a page cannot send them) or the operator opened it to the network.
/// `mcp_allowed_hosts` adds names to the loopback ones.
pub fn mcp_service(
    engine: std::sync::Arc<crate::Engine>,
    cfg: &crate::config::ServerConfig,
    keys: bool,
) -> McpService {
    use rmcp::transport::StreamableHttpServerConfig;
    // Every request gets its caller's scope in `mcp`; should one arrive without it, this scope
    // refuses every tool (fail closed).
    let refuse_all: std::sync::Arc<crate::mcp::Access> = std::sync::Arc::new(|_, _| {
        Err(crate::Error::Forbidden(
            "no caller is attached to this MCP request".into(),
        ))
    });
    let scope = crate::mcp::Scope {
        access: Some(refuse_all),
        ..crate::mcp::Scope::local("default", false)
    };
    let server = crate::mcp::ChronoMcp::new(engine, scope);
    let loopback = cfg
        .addr
        .parse::<std::net::SocketAddr>()
        .map(|a| a.ip().is_loopback())
        .unwrap_or(true);
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(cfg.max_body_bytes);
    if keys || !loopback {
        config = config.disable_allowed_hosts();
    } else if !cfg.mcp_allowed_hosts.is_empty() {
        let mut hosts = config.allowed_hosts.clone();
        hosts.extend(cfg.mcp_allowed_hosts.iter().cloned());
        config = config.with_allowed_hosts(hosts);
    }
    rmcp::transport::StreamableHttpService::new(
        move || Ok(server.clone()),
        Default::default(),
        config,
    )
}

/// `POST /mcp`: the MCP server over MCP's streamable HTTP transport (stateless; the client
/// sends `Accept: application/json, text/event-stream`, each request is answered as JSON, a
/// notification with `202`). Every tool call is checked against the key: reading tools need
/// `read`, `ingest` needs `write` and `rollback` needs `admin` on the namespace it names;
/// `ingest` and `rollback` are offered when the key can write the default namespace
/// (`?namespace=`, default `default`).
pub async fn mcp(
    State(s): State<AppState>,
    who: Who,
    ApiQuery(p): ApiQuery<McpParams>,
    req: axum::extract::Request,
) -> ApiResult<Response> {
    use crate::mcp::{Scope, Tool};
    use tower::ServiceExt;
    let ns = p.namespace.unwrap_or_else(|| "default".into());
    ns_ok(&ns)?;
    let caller = who.0;
    let allow_writes = caller.allows(&ns, Role::Write);
    let actor = caller.name.clone();
    let access = move |ns: &str, need: Tool| -> crate::Result<()> {
        let role = match need {
            Tool::Read => Role::Read,
            Tool::Write => Role::Write,
            Tool::Admin => Role::Admin,
        };
        if caller.allows(ns, role) {
            Ok(())
        } else {
            Err(crate::Error::Forbidden(format!(
                "the API key {:?} does not have the {} role on namespace {ns:?}",
                caller.name,
                role.as_str()
            )))
        }
    };
    let (mut parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, s.mcp.config.max_request_body_bytes)
        .await
        .map_err(|e| {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|c| c.is::<http_body_util::LengthLimitError>());
            if too_large {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "the MCP message is larger than max_body_bytes",
                )
            } else {
                ApiError::bad_request(format!("could not read the MCP message: {e}"))
            }
        })?;
    // JSON-RPC answers a body that is not JSON with a parse error, and JSON that is not a
    // JSON-RPC message with an invalid-request error (the SDK would answer 415 in plain text).
    let rpc_error = |id: Value, code: i64, message: String| {
        let err = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
        Ok((StatusCode::BAD_REQUEST, Json(err)).into_response())
    };
    let msg: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return rpc_error(Value::Null, -32700, format!("parse error: {e}")),
    };
    if let Err(e) = serde_json::from_value::<rmcp::model::ClientJsonRpcMessage>(msg.clone()) {
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        return rpc_error(id, -32600, format!("invalid request: {e}"));
    }
    // The tool's work keeps this request's slot until it ends, and a reading tool passes the
    // read gate, as every other route's engine work does (see `blocking`).
    let hold = super::SLOT
        .try_with(|slot| slot.clone())
        .ok()
        .map(|slot| slot as std::sync::Arc<dyn std::any::Any + Send + Sync>);
    parts.extensions.insert(Scope {
        namespace: ns,
        allow_writes,
        actor,
        access: Some(std::sync::Arc::new(access)),
        hold,
        read_gate: Some(s.reads.clone()),
        read_timeout: Some(s.limits.request_timeout),
    });
    let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(body));
    let answer = match s.mcp.clone().oneshot(request).await {
        Ok(r) => r.map(axum::body::Body::new),
        Err(never) => match never {},
    };
    // The transport's own refusals (406 without `Accept: application/json,
    // text/event-stream`, 415, a foreign Host) come as plain text: give them this API's error
    // shape, with the SDK's explanation as the message.
    let status = answer.status();
    let is_json = answer
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let text = axum::body::to_bytes(answer.into_body(), 64 * 1024)
            .await
            .unwrap_or_default();
        let code = match status {
            StatusCode::NOT_ACCEPTABLE => "not_acceptable",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            s if s.is_server_error() => "internal_error",
            _ => "invalid_request",
        };
        return Err(ApiError::new(
            status,
            code,
            String::from_utf8_lossy(&text).trim().to_string(),
        ));
    }
    Ok(answer)
}

/// `GET /openapi.json`.
pub async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        super::OPENAPI,
    )
        .into_response()
}

/// `GET /v1/namespaces`.
pub async fn list_namespaces(
    State(s): State<AppState>,
    who: Who,
) -> ApiResult<Json<NamespaceList>> {
    let e = s.engine.clone();
    let stats = blocking(move || e.stats(None)).await?;
    let namespaces = stats
        .namespaces
        .into_iter()
        .filter(|(n, _)| who.0.allows(n, Role::Read))
        .map(|(name, stats)| NamespaceEntry { name, stats })
        .collect();
    Ok(Json(NamespaceList { namespaces }))
}

/// `PUT /v1/namespaces/{ns}`: creates a namespace (idempotent).
pub async fn create_namespace(
    State(s): State<AppState>,
    who: Who,
    ApiPath(ns): ApiPath<String>,
) -> ApiResult<Response> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Admin)?;
    let e = s.engine.clone();
    let n = ns.clone();
    let existed = blocking(move || {
        let existed = e.namespace(&n).is_ok();
        e.namespace_or_create(&n)?;
        Ok(existed)
    })
    .await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let body = NamespaceCreated {
        name: ns,
        created: !existed,
    };
    Ok((status, Json(body)).into_response())
}

/// `GET /v1/namespaces/{ns}`.
pub async fn get_namespace(
    State(s): State<AppState>,
    who: Who,
    ApiPath(ns): ApiPath<String>,
) -> ApiResult<Json<NamespaceInfo>> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Read)?;
    let e = s.engine.clone();
    let n = ns.clone();
    let (stats, sizes) = blocking(move || {
        let st = e.stats(Some(&n))?;
        let sizes = e.index_sizes(&n)?;
        Ok((st, sizes))
    })
    .await?;
    let stats = stats.namespaces.get(&ns).cloned();
    Ok(Json(NamespaceInfo {
        name: ns,
        stats,
        indexes: sizes,
    }))
}

/// Body of `POST .../documents`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestRequest {
    /// The documents, validated all before any is written.
    #[schemars(length(min = 1))]
    pub documents: Vec<DocumentInput>,
    /// Why (recorded on the transaction).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Query string of `POST .../documents`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestParams {
    /// `false` answers 202 with a job id instead of waiting (bodies above
    /// `async_threshold_bytes` always become jobs).
    #[serde(default)]
    pub wait: Option<bool>,
}

/// `POST /v1/namespaces/{ns}/documents`.
pub async fn ingest(
    State(s): State<AppState>,
    who: Who,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(params): ApiQuery<IngestParams>,
    headers: axum::http::HeaderMap,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Response> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Write)?;
    crate::api::extract::require_json(&headers)?;
    let body_len = body.len();
    let parsed: IngestRequest = serde_json::from_slice(&body).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ApiError::bad_request(format!("malformed JSON: {e}"))
        } else {
            ApiError::bad_request(format!(
                "invalid request body: {}",
                crate::api::extract::wire_message(&e.to_string())
            ))
        }
    })?;
    if parsed.documents.is_empty() {
        return Err(ApiError::bad_request("`documents` must not be empty"));
    }
    if parsed.documents.len() > s.limits.max_documents_per_request {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_documents",
            format!(
                "{} documents in one request; the limit is {} (max_documents_per_request)",
                parsed.documents.len(),
                s.limits.max_documents_per_request
            ),
        ));
    }
    // Validate everything first: a bad document rejects the whole request and nothing is written.
    let mut prepared = Vec::with_capacity(parsed.documents.len());
    let mut problems = Vec::new();
    let mut time_problem = false;
    for (i, d) in parsed.documents.iter().enumerate() {
        match input::prepare(d.clone(), None) {
            Ok(p) => prepared.push(p),
            Err(e) => {
                time_problem |= matches!(e, crate::Error::Time(_));
                problems.push(
                    json!({"index": i, "id": d.id, "code": e.code(), "message": e.to_string()}),
                );
            }
        }
    }
    if !problems.is_empty() {
        let all_time = problems.iter().all(|p| p["code"] == "invalid_time");
        let (status, code) = if time_problem && all_time {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_time")
        } else {
            (StatusCode::BAD_REQUEST, "invalid_documents")
        };
        return Err(ApiError::new(
            status,
            code,
            format!(
                "{} of {} documents are invalid; nothing was ingested",
                problems.len(),
                parsed.documents.len()
            ),
        )
        .with_details(json!({ "documents": problems })));
    }
    let as_job = params.wait == Some(false) || body_len > s.limits.async_threshold_bytes;
    let actor = who.0.name.clone();
    let e = s.engine.clone();
    if as_job {
        let n = ns.clone();
        let docs = parsed.documents;
        let reason = parsed.reason;
        let job = blocking(move || e.submit_job(&n, docs, &actor, reason)).await?;
        s.metrics
            .jobs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let location = format!("/v1/namespaces/{ns}/jobs/{}", job.id);
        return Ok((
            StatusCode::ACCEPTED,
            [(axum::http::header::LOCATION, location.clone())],
            Json(JobAccepted {
                id: job.id,
                namespace: job.namespace,
                state: job.state,
                progress: job.progress,
                href: location,
            }),
        )
            .into_response());
    }
    let n = ns.clone();
    let opts = IngestOptions {
        actor,
        reason: parsed.reason,
        ..IngestOptions::default()
    };
    let report = blocking(move || e.ingest(&n, prepared, &opts)).await?;
    // The same report a job ends with: counts, conflicts and invalidations included.
    Ok(Json(&report).into_response())
}

/// `GET /v1/namespaces/{ns}/jobs/{id}`.
pub async fn get_job(
    State(s): State<AppState>,
    who: Who,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
) -> ApiResult<Response> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Read)?;
    let e = s.engine.clone();
    let job = blocking(move || e.job(&ns, id)).await?;
    Ok(Json(job).into_response())
}

/// Snapshot parameter shared by read routes.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AsOf {
    /// Read as of this transaction (default: the current state).
    pub as_of_tx: Option<TxId>,
}

/// Paging parameters of documents.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocPage {
    /// The previous page's `next_cursor` (omit for the first page).
    pub cursor: Option<String>,
    /// Page size (1-1000, default 100).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<usize>,
    /// Read as of this transaction (default: the current state).
    pub as_of_tx: Option<TxId>,
}

/// `GET /v1/namespaces/{ns}/documents`.
pub async fn list_documents(
    State(s): State<AppState>,
    who: Who,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(p): ApiQuery<DocPage>,
) -> ApiResult<Json<DocumentPage>> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Read)?;
    let e = s.engine.clone();
    let limit = p.limit.unwrap_or(100);
    let after = numeric_cursor(p.cursor.as_deref())?.unwrap_or(0);
    let docs = blocking(move || e.documents(&ns, after, limit, p.as_of_tx)).await?;
    let next = next_cursor(docs.len() == limit, docs.last().map(|d| d.id));
    Ok(Json(DocumentPage {
        documents: docs,
        next_cursor: next,
    }))
}

/// `GET /v1/namespaces/{ns}/documents/{id}`.
pub async fn get_document(
    State(s): State<AppState>,
    who: Who,
    ApiPath((ns, id)): ApiPath<(String, String)>,
    ApiQuery(p): ApiQuery<AsOf>,
) -> ApiResult<Response> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Read)?;
    input::validate_doc_id(&id).map_err(ApiError::from)?;
    let e = s.engine.clone();
    let v = blocking(move || e.document(&ns, &id, p.as_of_tx)).await?;
    Ok(Json(v).into_response())
}

/// `POST /v1/namespaces/{ns}/query`.
pub async fn query(
    State(s): State<AppState>,
    who: Who,
    ApiPath(ns): ApiPath<String>,
    headers: axum::http::HeaderMap,
    ApiJson(req): ApiJson<QueryRequest>,
) -> ApiResult<Response> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Read)?;
    let e = s.engine.clone();
    if wants_event_stream(&headers) {
        return query_stream(e, ns, req).await;
    }
    let res = blocking(move || e.query(&ns, &req)).await?;
    // Written straight from the result: a 60 KB answer through a `Value` tree first cost about
    // a millisecond more per query over HTTP (Time-LongQA p50 6.2 against 4.8 ms).
    Ok(Json(res).into_response())
}

/// Whether the client asked for server-sent events (`Accept: text/event-stream`).
fn wants_event_stream(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| {
            m.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/event-stream"))
        })
}

/// A query answered as server-sent events: first `context` (the whole query result without
/// the answer: plan, facts, chunks, summaries, passages and the cited context), then with
/// `answer: true` one `token` event per piece of the LLM's reply as it arrives (`{"text"}`),
/// then `answer` (`{"answer": {"text", "model"}}`) or `error` (the API's error shape) as the
/// last event. Anything wrong before the first event (bad request, unknown namespace, no LLM
/// configured) is an ordinary JSON error with its status code.
async fn query_stream(
    e: std::sync::Arc<crate::Engine>,
    ns: String,
    req: QueryRequest,
) -> ApiResult<Response> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    if req.answer && e.llm().is_none() {
        return Err(crate::Error::invalid(
            "answer=true needs an LLM: set [llm] base_url and model in the config file",
        )
        .into());
    }
    let question = req.query.clone();
    let want_answer = req.answer;
    let retrieval = QueryRequest {
        answer: false,
        ..req
    };
    let e2 = e.clone();
    let res = blocking(move || e2.query(&ns, &retrieval)).await?;
    let event = |name: &str, data: &Value| {
        Event::default()
            .event(name)
            .json_data(data)
            .expect("JSON of a value")
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(64);
    let first = Event::default()
        .event("context")
        .json_data(&res)
        .expect("JSON of a query result");
    tx.send(first).await.ok();
    if want_answer {
        // The LLM call holds the request's concurrency slot until it ends, as engine work does.
        let slot = super::SLOT.try_with(|s| s.clone()).ok();
        tokio::task::spawn_blocking(move || {
            let Some(client) = e.llm() else { return };
            let mut on_token = |t: &str| {
                tx.blocking_send(event("token", &json!({"text": t})))
                    .is_ok()
            };
            let last = match crate::query::answer::answer_stream(
                client,
                &question,
                &res.context,
                &mut on_token,
            ) {
                Ok(a) => event("answer", &json!({"answer": a})),
                Err(err) => {
                    let api = ApiError::from(err);
                    event(
                        "error",
                        &json!({"error": {"code": api.code, "message": api.message}}),
                    )
                }
            };
            tx.blocking_send(last).ok();
            drop(slot);
        });
    } else {
        drop(tx);
    }
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|ev| (Ok::<_, std::convert::Infallible>(ev), rx))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// `GET /v1/namespaces/{ns}/facts`.
pub async fn list_facts(
    State(s): State<AppState>,
    who: Who,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(p): ApiQuery<FactListParams>,
) -> ApiResult<Response> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Read)?;
    let e = s.engine.clone();
    let list = blocking(move || e.facts(&ns, &p)).await?;
    Ok(Json(list).into_response())
}

/// `GET /v1/namespaces/{ns}/facts/{id}`.
pub async fn get_fact(
    State(s): State<AppState>,
    who: Who,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiQuery(p): ApiQuery<AsOf>,
) -> ApiResult<Response> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Read)?;
    let e = s.engine.clone();
    let f = blocking(move || e.fact(&ns, id, p.as_of_tx)).await?;
    Ok(Json(f).into_response())
}

/// Query of `GET .../entities`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityParams {
    /// Only entities with this substring in a name or alias (case-insensitive).
    pub q: Option<String>,
    /// Only entities of this kind.
    #[schemars(with = "Option<EntityKind>")]
    pub kind: Option<String>,
    /// The previous page's `next_cursor` (omit for the first page).
    pub cursor: Option<String>,
    /// Page size (1-1000, default 100).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<usize>,
    /// Read as of this transaction (default: the current state).
    pub as_of_tx: Option<TxId>,
}

/// `GET /v1/namespaces/{ns}/entities`.
pub async fn list_entities(
    State(s): State<AppState>,
    who: Who,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(p): ApiQuery<EntityParams>,
) -> ApiResult<Json<EntityPage>> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Read)?;
    let kind = match p.kind.as_deref() {
        None => None,
        Some(k) => Some(
            EntityKind::parse(k)
                .ok_or_else(|| ApiError::bad_request(format!("unknown entity kind {k:?}")))?,
        ),
    };
    let e = s.engine.clone();
    let limit = p.limit.unwrap_or(100);
    let after = numeric_cursor(p.cursor.as_deref())?.unwrap_or(0);
    let list =
        blocking(move || e.entities(&ns, p.q.as_deref(), kind, after, limit, p.as_of_tx)).await?;
    let next = next_cursor(list.len() == limit, list.last().map(|e| e.id));
    Ok(Json(EntityPage {
        entities: list,
        next_cursor: next,
    }))
}

/// `GET /v1/namespaces/{ns}/entities/{id}` (id or name).
pub async fn get_entity(
    State(s): State<AppState>,
    who: Who,
    ApiPath((ns, id)): ApiPath<(String, String)>,
    ApiQuery(p): ApiQuery<AsOf>,
) -> ApiResult<Response> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Read)?;
    let e = s.engine.clone();
    let v = blocking(move || e.entity(&ns, &id, p.as_of_tx)).await?;
    Ok(Json(v).into_response())
}

/// Query of `GET .../entities/{id}/timeline`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityTimelineParams {
    /// Facts valid at or after the start of this period (2019, 2024-Q3, Q3 2024, 2024-07-15).
    pub from: Option<String>,
    /// Facts valid at or before the end of this period.
    pub to: Option<String>,
    /// Read as of this transaction (default: the current state).
    pub as_of_tx: Option<TxId>,
    /// Page size (1-1000, default 100).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<usize>,
    /// The previous page's `next_cursor` (omit for the first page).
    pub cursor: Option<String>,
}

/// `GET /v1/namespaces/{ns}/entities/{id}/timeline`: the entity's facts in valid-time order.
pub async fn entity_timeline(
    State(s): State<AppState>,
    who: Who,
    ApiPath((ns, id)): ApiPath<(String, String)>,
    ApiQuery(p): ApiQuery<EntityTimelineParams>,
) -> ApiResult<Response> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Read)?;
    let e = s.engine.clone();
    let out = blocking(move || {
        let ent = e.entity(&ns, &id, p.as_of_tx)?;
        let list = e.facts(
            &ns,
            &FactListParams {
                entity: Some(ent.id.to_string()),
                from: p.from,
                to: p.to,
                as_of_tx: p.as_of_tx,
                include_retracted: false,
                limit: p.limit,
                cursor: p.cursor,
            },
        )?;
        Ok((ent, list))
    })
    .await?;
    Ok(Json(EntityTimeline {
        entity: out.0,
        facts: out.1.facts,
        next_cursor: out.1.next,
    })
    .into_response())
}

/// `GET /v1/namespaces/{ns}/timeline`: the years.
pub async fn timeline_root(
    State(s): State<AppState>,
    who: Who,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(p): ApiQuery<AsOf>,
) -> ApiResult<Response> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Read)?;
    let e = s.engine.clone();
    let t = blocking(move || e.timeline(&ns, None, p.as_of_tx)).await?;
    Ok(Json(t).into_response())
}

/// `GET /v1/namespaces/{ns}/timeline/{node}`.
pub async fn timeline_node(
    State(s): State<AppState>,
    who: Who,
    ApiPath((ns, node)): ApiPath<(String, String)>,
    ApiQuery(p): ApiQuery<AsOf>,
) -> ApiResult<Response> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Read)?;
    let e = s.engine.clone();
    let t = blocking(move || e.timeline(&ns, Some(&node), p.as_of_tx)).await?;
    Ok(Json(t).into_response())
}

/// `POST /v1/namespaces/{ns}/summarize`: recompute dirty summaries now.
pub async fn summarize(
    State(s): State<AppState>,
    who: Who,
    ApiPath(ns): ApiPath<String>,
) -> ApiResult<Response> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Write)?;
    let e = s.engine.clone();
    let r = blocking(move || e.summarize(&ns)).await?;
    Ok(Json(r).into_response())
}
