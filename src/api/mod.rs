//! The HTTP API: axum routes over the engine, with one JSON error shape, API keys with roles per
//! namespace, limits (body size, timeout, concurrent requests per key, documents per request),
//! Prometheus metrics and the OpenAPI description (`schema/openapi.json`, served at
//! `/openapi.json`).
//!
//! **Architecture invariant:** the router is built from [`operations::routes`] and nothing else,
//! and `schema/openapi.json` is generated from the same table, so no route is served
//! undocumented or documented unserved.
//! **Architecture invariant:** handlers call engine methods on the blocking pool; they never touch
//! the store or the indexes.

pub mod auth;
pub mod error;
pub mod extract;
pub mod governance;
pub mod metrics;
pub mod openapi;
pub mod operations;
pub mod routes;
pub mod wire;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use tokio::sync::Semaphore;

use crate::config::ServerConfig;
use crate::{Engine, Error, Result};
use auth::{Auth, Caller};
use error::ApiError;
use metrics::Metrics;

/// The OpenAPI description, served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../../schema/openapi.json");

/// Limits enforced by the service.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Documents per ingest request.
    pub max_documents_per_request: usize,
    /// Ingest bodies above this become jobs.
    pub async_threshold_bytes: usize,
    /// Seconds a request may take (reads).
    pub request_timeout: Duration,
    /// Concurrent requests per key.
    pub max_concurrent_per_key: usize,
}

/// Reads whose engine work runs at once: one per core. Reads are CPU-bound; running more of
/// them at once only shares the cores more thinly, and a writer holding the namespace's writer
/// lock then gets a sixteenth of a core under 16 readers (measured: 16 readers and 16 writers
/// gave writes p50 2.4 s, p99 3.4 s). Queued reads wait inside their timeout.
fn read_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(1)
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Keys (None = authentication off).
    pub auth: Option<Arc<Auth>>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Limits.
    pub limits: Arc<Limits>,
    per_key: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    /// Admission of reads to the blocking pool (see [`read_workers`]).
    reads: Arc<Semaphore>,
    /// The MCP server behind `POST /mcp` (the SDK's stateless streamable HTTP transport).
    pub(crate) mcp: routes::McpService,
}

impl AppState {
    /// State for an engine and server settings.
    pub fn new(engine: Arc<Engine>, cfg: &ServerConfig, auth: Option<Auth>) -> Self {
        let metrics = Arc::new(Metrics::default());
        let m = metrics.clone();
        engine.set_ingest_listener(Box::new(move |r| {
            use std::sync::atomic::Ordering::Relaxed;
            m.documents.fetch_add(r.documents, Relaxed);
            m.facts.fetch_add(r.facts, Relaxed);
            m.bytes.fetch_add(r.bytes, Relaxed);
        }));
        let engine_for_mcp = engine.clone();
        let keys = auth.is_some();
        AppState {
            engine,
            auth: auth.map(Arc::new),
            metrics,
            limits: Arc::new(Limits {
                max_documents_per_request: cfg.max_documents_per_request,
                async_threshold_bytes: cfg.async_threshold_bytes,
                request_timeout: Duration::from_millis(cfg.request_timeout_ms.max(1)),
                max_concurrent_per_key: cfg.max_concurrent_per_key.max(1),
            }),
            per_key: Arc::new(Mutex::new(HashMap::new())),
            reads: Arc::new(Semaphore::new(read_workers())),
            mcp: routes::mcp_service(engine_for_mcp, cfg, keys),
        }
    }
}

/// The router with every route and middleware.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let mut r: Router<AppState> = Router::new();
    for route in operations::routes() {
        r = r.route(route.path, route.handler);
    }
    r.fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "internal error; the request was not applied",
            )
            .into_response()
        }))
        .with_state(state)
}

async fn fallback(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "no route {method} {}; see GET /openapi.json for the API",
        uri.path()
    ))
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// Metrics for every request, by route template.
async fn track(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let resp = next.run(req).await;
    s.metrics.record(
        &route,
        &method,
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    resp
}

/// Authentication, the per-key concurrency limit and the request timeout (reads only: a write
/// that is slow must not be reported as failed while it lands).
async fn guard(State(s): State<AppState>, req: Request, next: Next) -> Response {
    // The page at /ui is static: it holds no data, and its own API calls carry the key.
    let public = matches!(req.uri().path(), "/health" | "/openapi.json" | "/" | "/ui");
    if public {
        // Health checks and the API description are cheap and must answer under any load:
        // no key, no share of anyone's concurrency budget.
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(Caller::local());
        return next.run(Request::from_parts(parts, body)).await;
    }
    let (mut parts, body) = req.into_parts();
    let caller = match extract::identify(&parts, &s) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let sem = {
        let mut map = s.per_key.lock();
        map.entry(caller.name.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(s.limits.max_concurrent_per_key)))
            .clone()
    };
    let Ok(permit) = sem.try_acquire_owned() else {
        return ApiError::too_many(format!(
            "key {:?} has {} requests in flight (max_concurrent_per_key); retry shortly",
            caller.name, s.limits.max_concurrent_per_key
        ))
        .into_response();
    };
    parts.extensions.insert(caller);
    let is_read = parts.method == Method::GET || parts.uri.path().ends_with("/query");
    let req = Request::from_parts(parts, body);
    // The slot is held by the request *and* by the engine work it starts on the blocking pool
    // (see `routes::blocking`): a read that times out answers 503 at once, but its slot comes
    // back only when its work has really stopped, so a key can never have more work running
    // than its limit.
    let slot: Slot = Arc::new(permit);
    if is_read {
        let run = READS.scope(s.reads.clone(), SLOT.scope(slot, next.run(req)));
        match tokio::time::timeout(s.limits.request_timeout, run).await {
            Ok(r) => r,
            Err(_) => ApiError::unavailable(
                "timeout",
                format!(
                    "the request took longer than {} ms (request_timeout_ms)",
                    s.limits.request_timeout.as_millis()
                ),
            )
            .into_response(),
        }
    } else {
        SLOT.scope(slot, next.run(req)).await
    }
}

/// A share of a key's concurrency limit; released when the last holder drops it.
pub type Slot = Arc<tokio::sync::OwnedSemaphorePermit>;

tokio::task_local! {
    /// The slot of the request being handled (set by the `guard` middleware).
    pub static SLOT: Slot;
    /// For reads: the gate their engine work passes (set by the `guard` middleware; see
    /// [`read_workers`]). Writes have none, so a write never queues behind reads.
    pub static READS: Arc<Semaphore>;
}

/// Runs the service until SIGINT/SIGTERM: in-flight requests finish, queued jobs stay queued in
/// the store, indexes are flushed. Prints where it listens.
pub async fn serve(
    engine: Arc<Engine>,
    cfg: ServerConfig,
    allow_unauthenticated: bool,
) -> Result<()> {
    let addr: SocketAddr = cfg
        .addr
        .parse()
        .map_err(|_| Error::Config(format!("invalid listen address {:?}", cfg.addr)))?;
    let auth = match &cfg.auth_file {
        Some(p) => Some(Auth::load(p)?),
        None => None,
    };
    if auth.is_none() && !addr.ip().is_loopback() && !allow_unauthenticated {
        return Err(Error::Config(format!(
            "refusing to listen on {addr} without authentication: pass --auth keys.toml (or --allow-unauthenticated)"
        )));
    }
    engine.start_summary_worker();
    engine.start_follower();
    engine.start_job_worker()?;
    let state = AppState::new(engine.clone(), &cfg, auth);
    let app = router(state, cfg.max_body_bytes);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Unavailable(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr()?;
    println!(
        "chronorag listening on http://{local} (data: {}, auth: {})",
        engine.config().data_dir.display(),
        if cfg.auth_file.is_some() { "on" } else { "off" }
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(Error::Io)?;
    eprintln!("shutting down: finishing in-flight work and flushing");
    engine.stop_job_worker();
    let e = engine.clone();
    tokio::task::spawn_blocking(move || e.flush())
        .await
        .map_err(|e| Error::Store(e.to_string()))??;
    // With nothing else holding the engine, closing it checkpoints the store's log, so the next
    // start does not replay this session's writes (sled replays them on every open otherwise).
    match Arc::try_unwrap(engine) {
        Ok(e) => tokio::task::spawn_blocking(move || e.close())
            .await
            .map_err(|e| Error::Store(e.to_string()))??,
        Err(_) => tracing::info!("the store's log is not checkpointed: the engine is still in use"),
    }
    eprintln!("stopped cleanly");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt;

    /// Regression (issue 15): a read that timed out gave its concurrency slot back while its
    /// work kept running, so a key limited to 1 could have many heavy queries at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_timed_out_read_keeps_its_slot_until_its_work_ends() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Arc::new(Engine::open(crate::Config::with_data_dir(dir.path())).unwrap());
        let cfg = ServerConfig {
            request_timeout_ms: 100,
            max_concurrent_per_key: 1,
            ..ServerConfig::default()
        };
        let state = AppState::new(engine, &cfg, None);
        let app = Router::new()
            .route(
                "/v1/slow",
                get(|| async {
                    routes::blocking(|| {
                        std::thread::sleep(Duration::from_millis(600));
                        Ok(())
                    })
                    .await
                    .map(|()| "done")
                }),
            )
            .route("/v1/fast", get(|| async { "fast" }))
            .layer(middleware::from_fn_with_state(state.clone(), guard))
            .with_state(state);
        let call = |path: &'static str| {
            let app = app.clone();
            async move {
                let req = Request::builder()
                    .uri(path)
                    .body(axum::body::Body::empty())
                    .unwrap();
                app.oneshot(req).await.unwrap().status()
            }
        };
        let started = Instant::now();
        assert_eq!(call("/v1/slow").await, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "answered at the timeout"
        );
        // The slow work still runs and still holds the key's only slot.
        assert_eq!(call("/v1/fast").await, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(call("/v1/slow").await, StatusCode::TOO_MANY_REQUESTS);
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(call("/v1/fast").await, StatusCode::OK, "the slot came back");
    }

    /// `POST /mcp` with `msg`, as an MCP client sends it.
    fn mcp_request(msg: &serde_json::Value) -> Request {
        Request::builder()
            .method("POST")
            .uri("http://127.0.0.1/mcp")
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .body(axum::body::Body::from(msg.to_string()))
            .unwrap()
    }

    /// A reading MCP tool that cannot answer within `request_timeout_ms` (here: every read
    /// worker is busy) answers a `timeout` error result, as other reads answer 503; a writing
    /// tool waits for no read worker.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reading_mcp_tool_answers_at_the_read_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Arc::new(Engine::open(crate::Config::with_data_dir(dir.path())).unwrap());
        engine.namespace_or_create("default").unwrap();
        let cfg = ServerConfig {
            request_timeout_ms: 150,
            ..ServerConfig::default()
        };
        let state = AppState::new(engine, &cfg, None);
        let reads = state.reads.clone();
        let app = router(state, 1 << 20);
        let call = |id: u64, tool: &str, args: serde_json::Value| {
            let app = app.clone();
            let msg = serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": tool, "arguments": args}});
            async move {
                let req = mcp_request(&msg);
                let resp = app.oneshot(req).await.unwrap();
                assert_eq!(resp.status(), StatusCode::OK);
                let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                    .await
                    .unwrap();
                serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
            }
        };
        // Every read worker busy.
        let busy = reads
            .clone()
            .acquire_many_owned(read_workers() as u32)
            .await
            .unwrap();
        // Bounded, so that a missing timeout fails here instead of hanging the test run.
        let r = tokio::time::timeout(
            Duration::from_secs(2),
            call(1, "history", serde_json::json!({})),
        )
        .await
        .expect("a reading tool answers at request_timeout_ms");
        assert_eq!(r["result"]["isError"], true, "{r}");
        let text = r["result"]["content"][0]["text"].as_str().unwrap();
        assert!(
            text.contains("unavailable") && text.contains("150 ms"),
            "{text}"
        );
        drop(busy);
        let r = call(2, "history", serde_json::json!({})).await;
        assert_eq!(r["result"]["isError"], false, "{r}");
    }

    /// The MCP service behind `POST /mcp` refuses every tool to a request that reaches it
    /// without its caller's scope (the route always attaches one; this is the fail-safe).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mcp_without_a_caller_scope_refuses_every_tool() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Arc::new(Engine::open(crate::Config::with_data_dir(dir.path())).unwrap());
        engine.namespace_or_create("default").unwrap();
        let state = AppState::new(engine, &ServerConfig::default(), None);
        let post = |msg: serde_json::Value| {
            let svc = state.mcp.clone();
            async move {
                let req = mcp_request(&msg);
                let resp = svc.oneshot(req).await.unwrap();
                assert_eq!(resp.status(), StatusCode::OK);
                let bytes = axum::body::to_bytes(axum::body::Body::new(resp.into_body()), 1 << 20)
                    .await
                    .unwrap();
                serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
            }
        };
        let call = |id: u64| {
            serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": "history", "arguments": {}}})
        };
        let r = post(call(1)).await;
        assert_eq!(r["result"]["isError"], true, "{r}");
        let text = r["result"]["content"][0]["text"].as_str().unwrap();
        assert!(text.contains("no caller"), "{text}");
        // No write tool is offered either.
        let r = post(serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).await;
        let names: Vec<&str> = r["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"history") && !names.contains(&"ingest"),
            "{names:?}"
        );
    }
}
