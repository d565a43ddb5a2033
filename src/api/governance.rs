//! Governance routes: hand edits (write), history and undo (admin), diff, audit, erase,
//! conflicts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::auth::Role;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, ApiQuery, Who};
use super::routes::blocking;
use super::wire::{
    AuditLogPage, ConflictList, DocumentRetracted, EntitiesMerged, FactCorrected, FactRetracted,
    FactsAsserted, RollbackResult, TransactionPage, TxRef,
};
use crate::governance::edit::{FactInput, FactPatch};
use crate::model::validate_namespace;
use crate::model::{AuditEntryView, TxId, TxView};

fn ns_ok(ns: &str) -> ApiResult<()> {
    validate_namespace(ns).map_err(ApiError::from)
}

/// Body of `POST .../facts`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssertRequest {
    /// Facts to assert (one transaction).
    pub facts: Vec<FactInput>,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /v1/namespaces/{ns}/facts`.
pub async fn assert_facts(
    State(s): State<AppState>,
    who: Who,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<AssertRequest>,
) -> ApiResult<Response> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Write)?;
    if body.facts.len() > s.limits.max_documents_per_request {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_facts",
            "too many facts in one request",
        ));
    }
    let e = s.engine.clone();
    let actor = who.0.name.clone();
    let (tx, ids) = blocking(move || e.assert_facts(&ns, &body.facts, &actor, body.reason)).await?;
    Ok((
        StatusCode::CREATED,
        Json(FactsAsserted {
            tx: tx.id,
            facts: ids,
        }),
    )
        .into_response())
}

/// Body of `PATCH .../facts/{id}`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectRequest {
    /// The changes.
    #[serde(flatten)]
    pub patch: FactPatch,
    /// Why. Required: the request is refused (400) without one.
    pub reason: Option<String>,
}

/// `PATCH /v1/namespaces/{ns}/facts/{id}`: correct (retract + assert in one transaction).
pub async fn correct_fact(
    State(s): State<AppState>,
    who: Who,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiJson(body): ApiJson<CorrectRequest>,
) -> ApiResult<Json<FactCorrected>> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Write)?;
    let e = s.engine.clone();
    let actor = who.0.name.clone();
    let (tx, new_id) =
        blocking(move || e.correct_fact(&ns, id, &body.patch, &actor, body.reason)).await?;
    Ok(Json(FactCorrected {
        tx: tx.id,
        retracted: id,
        fact: new_id,
    }))
}

/// `reason` (and `erase`) in the query string of DELETE routes.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteParams {
    /// Why. Required: the request is refused (400) without one. Recorded on the transaction
    /// and in the audit log.
    #[schemars(required)]
    pub reason: Option<String>,
    /// Erase physically (a privacy request; admin role) instead of retracting. Optional for a
    /// document, required for an entity (entities are only erased), refused for a fact (facts
    /// are only retracted).
    #[serde(default)]
    pub erase: bool,
}

/// `DELETE /v1/namespaces/{ns}/facts/{id}`: retract.
pub async fn retract_fact(
    State(s): State<AppState>,
    who: Who,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
    ApiQuery(p): ApiQuery<DeleteParams>,
) -> ApiResult<Json<FactRetracted>> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Write)?;
    if p.erase {
        return Err(ApiError::bad_request(
            "facts are retracted, not erased; erase the document or entity they come from",
        ));
    }
    let e = s.engine.clone();
    let actor = who.0.name.clone();
    let tx = blocking(move || e.retract_fact(&ns, id, &actor, p.reason)).await?;
    Ok(Json(FactRetracted {
        tx: tx.id,
        retracted: id,
    }))
}

/// `DELETE /v1/namespaces/{ns}/documents/{id}`: retract, or with `erase=true` erase (admin).
pub async fn delete_document(
    State(s): State<AppState>,
    who: Who,
    ApiPath((ns, id)): ApiPath<(String, String)>,
    ApiQuery(p): ApiQuery<DeleteParams>,
) -> ApiResult<Response> {
    ns_ok(&ns)?;
    crate::ingest::input::validate_doc_id(&id).map_err(ApiError::from)?;
    let e = s.engine.clone();
    let actor = who.0.name.clone();
    if p.erase {
        who.require(&ns, Role::Admin)?;
        let r = blocking(move || e.erase_document(&ns, &id, &actor, p.reason)).await?;
        Ok(Json(r).into_response())
    } else {
        who.require(&ns, Role::Write)?;
        let doc = id.clone();
        let tx = blocking(move || e.retract_document(&ns, &doc, &actor, p.reason)).await?;
        // `retracted` names what was retracted, as on the fact routes.
        Ok(Json(DocumentRetracted {
            tx: tx.id,
            retracted: id,
        })
        .into_response())
    }
}

/// `DELETE /v1/namespaces/{ns}/entities/{id}?erase=true`: erase an entity (admin).
pub async fn delete_entity(
    State(s): State<AppState>,
    who: Who,
    ApiPath((ns, id)): ApiPath<(String, String)>,
    ApiQuery(p): ApiQuery<DeleteParams>,
) -> ApiResult<Response> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Admin)?;
    if !p.erase {
        return Err(ApiError::bad_request(
            "entities are merged, renamed or erased; pass erase=true to erase this one",
        ));
    }
    let e = s.engine.clone();
    let actor = who.0.name.clone();
    let r = blocking(move || e.erase_entity(&ns, &id, &actor, p.reason)).await?;
    Ok(Json(r).into_response())
}

/// Body of `PATCH .../entities/{id}`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameRequest {
    /// The new name (the old one stays as an alias).
    pub name: String,
    /// Why.
    pub reason: Option<String>,
}

/// `PATCH /v1/namespaces/{ns}/entities/{id}`: rename.
pub async fn rename_entity(
    State(s): State<AppState>,
    who: Who,
    ApiPath((ns, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RenameRequest>,
) -> ApiResult<Json<TxRef>> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Write)?;
    let e = s.engine.clone();
    let actor = who.0.name.clone();
    let tx = blocking(move || e.rename_entity(&ns, &id, &body.name, &actor, body.reason)).await?;
    Ok(Json(TxRef { tx: tx.id }))
}

/// Body of `POST .../entities/merge`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The surviving entity (id or name).
    pub into: String,
    /// Entities merged into it (ids or names).
    pub from: Vec<String>,
    /// Why. Required: the request is refused (400) without one.
    pub reason: Option<String>,
}

/// `POST /v1/namespaces/{ns}/entities/merge`.
pub async fn merge_entities(
    State(s): State<AppState>,
    who: Who,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<MergeRequest>,
) -> ApiResult<Json<EntitiesMerged>> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Write)?;
    let e = s.engine.clone();
    let actor = who.0.name.clone();
    let (tx, moved) =
        blocking(move || e.merge_entities(&ns, &body.into, &body.from, &actor, body.reason))
            .await?;
    Ok(Json(EntitiesMerged {
        tx: tx.id,
        facts_moved: moved,
    }))
}

/// Paging of transactions.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TxPage {
    /// The previous page's `next_cursor` (omit for the first page; newest first, so the page
    /// continues below it).
    pub cursor: Option<String>,
    /// Page size (1-1000, default 50).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<usize>,
}

/// `GET /v1/namespaces/{ns}/transactions`: newest first.
pub async fn list_transactions(
    State(s): State<AppState>,
    who: Who,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(p): ApiQuery<TxPage>,
) -> ApiResult<Json<TransactionPage>> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Read)?;
    let e = s.engine.clone();
    let limit = p.limit.unwrap_or(50);
    let before = super::routes::numeric_cursor(p.cursor.as_deref())?;
    let txs = blocking(move || e.transactions(&ns, before, limit)).await?;
    let last = txs.last().map(|t| t.id).filter(|t| *t > 1);
    let next = super::routes::next_cursor(txs.len() == limit, last);
    let txs: Vec<TxView> = txs.into_iter().map(TxView::from).collect();
    Ok(Json(TransactionPage {
        transactions: txs,
        next_cursor: next,
    }))
}

/// `GET /v1/namespaces/{ns}/transactions/{tx}`.
pub async fn get_transaction(
    State(s): State<AppState>,
    who: Who,
    ApiPath((ns, id)): ApiPath<(String, u64)>,
) -> ApiResult<Response> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Read)?;
    let e = s.engine.clone();
    let tx = blocking(move || e.transaction(&ns, id)).await?;
    Ok(Json(TxView::from(tx)).into_response())
}

/// Body of `POST .../rollback`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// Undo everything after this transaction.
    pub to_tx: Option<TxId>,
    /// Undo exactly this transaction.
    pub revert_tx: Option<TxId>,
    /// Why.
    pub reason: Option<String>,
}

/// `POST /v1/namespaces/{ns}/rollback`: `{"to_tx"}` or `{"revert_tx"}`.
pub async fn rollback(
    State(s): State<AppState>,
    who: Who,
    ApiPath(ns): ApiPath<String>,
    ApiJson(body): ApiJson<RollbackRequest>,
) -> ApiResult<Json<RollbackResult>> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Admin)?;
    let e = s.engine.clone();
    let actor = who.0.name.clone();
    let tx = match (body.to_tx, body.revert_tx) {
        (Some(to), None) => blocking(move || e.rollback(&ns, to, &actor, body.reason)).await?,
        (None, Some(t)) => blocking(move || e.revert(&ns, t, &actor, body.reason)).await?,
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of to_tx and revert_tx",
            ));
        }
    };
    Ok(Json(RollbackResult {
        tx: tx.id,
        kind: tx.kind,
        counts: tx.counts,
    }))
}

/// Query of `GET .../diff`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffParams {
    /// From this transaction (exclusive).
    pub from_tx: TxId,
    /// To this transaction (inclusive; default: the head).
    pub to_tx: Option<TxId>,
    /// `json` (default) or `text`.
    #[schemars(extend("enum" = ["json", "text"]))]
    pub format: Option<String>,
}

/// `GET /v1/namespaces/{ns}/diff?from_tx=&to_tx=`.
pub async fn diff(
    State(s): State<AppState>,
    who: Who,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(p): ApiQuery<DiffParams>,
) -> ApiResult<Response> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Read)?;
    let e = s.engine.clone();
    let format = p.format.clone().unwrap_or_else(|| "json".into());
    if format != "json" && format != "text" {
        return Err(ApiError::bad_request("format must be json or text"));
    }
    let d = blocking(move || {
        let head = e.namespace(&ns)?.store().head_tx();
        e.diff(&ns, p.from_tx, p.to_tx.unwrap_or(head))
    })
    .await?;
    if format == "text" {
        Ok((
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            d.to_text(),
        )
            .into_response())
    } else {
        Ok(Json(d).into_response())
    }
}

/// Paging of the audit log.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditPage {
    /// The previous page's `next_cursor` (omit for the first page, which starts at sequence
    /// number 1).
    pub cursor: Option<String>,
    /// Page size (1-1000, default 100).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<usize>,
}

/// `GET /v1/namespaces/{ns}/audit`.
pub async fn audit(
    State(s): State<AppState>,
    who: Who,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(p): ApiQuery<AuditPage>,
) -> ApiResult<Json<AuditLogPage>> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Admin)?;
    let e = s.engine.clone();
    let limit = p.limit.unwrap_or(100);
    let from = super::routes::numeric_cursor(p.cursor.as_deref())?.unwrap_or(1);
    let entries = blocking(move || e.audit(&ns, from, limit)).await?;
    let next =
        super::routes::next_cursor(entries.len() == limit, entries.last().map(|a| a.seq + 1));
    let entries: Vec<AuditEntryView> = entries.into_iter().map(AuditEntryView::from).collect();
    Ok(Json(AuditLogPage {
        entries,
        next_cursor: next,
    }))
}

/// `GET /v1/audit/verify`: checks every namespace's hash chain.
pub async fn verify(State(s): State<AppState>, who: Who) -> ApiResult<Response> {
    if !who.0.allows("*", Role::Admin) {
        return Err(ApiError::forbidden(
            "verifying the audit log needs the admin role on every namespace (\"*\")",
        ));
    }
    let e = s.engine.clone();
    let r = blocking(move || e.verify_audit()).await?;
    Ok(Json(r).into_response())
}

/// Body of `POST /v1/admin/backup`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupRequest {
    /// The backup folder to create on the server (must not exist, or be empty).
    pub dest: String,
}

/// `POST /v1/admin/backup`: a consistent copy of the whole store into a new folder on the
/// server, made while it keeps serving (writes wait for the copy).
pub async fn backup(
    State(s): State<AppState>,
    who: Who,
    ApiJson(body): ApiJson<BackupRequest>,
) -> ApiResult<Response> {
    if !who.0.allows("*", Role::Admin) {
        return Err(ApiError::forbidden(
            "a backup needs the admin role on every namespace (\"*\")",
        ));
    }
    if body.dest.trim().is_empty() {
        return Err(ApiError::bad_request(
            "dest is empty: give the folder to create on the server",
        ));
    }
    let e = s.engine.clone();
    let r = blocking(move || e.backup(std::path::Path::new(&body.dest))).await?;
    Ok(Json(r).into_response())
}

/// `GET /v1/namespaces/{ns}/conflicts`.
pub async fn conflicts(
    State(s): State<AppState>,
    who: Who,
    ApiPath(ns): ApiPath<String>,
    ApiQuery(p): ApiQuery<super::routes::AsOf>,
) -> ApiResult<Json<ConflictList>> {
    ns_ok(&ns)?;
    who.require(&ns, Role::Read)?;
    let e = s.engine.clone();
    let c = blocking(move || e.conflicts(&ns, p.as_of_tx)).await?;
    Ok(Json(ConflictList { conflicts: c }))
}
