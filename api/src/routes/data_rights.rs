//! A tenant's data rights: `GET /v1/tenant/export` streams everything the tenant owns as JSON
//! lines, and `DELETE /v1/tenant` revokes its access (API keys, webhooks) at once and schedules the erasure of
//! everything, which the scheduler leader carries out after `retention.erasure_grace_days`.
//!
//! The export is `application/x-ndjson`: one JSON object per line,
//! `{"type": "<kind>", "record": {…}}` (warehouse rows add `"table": "<schema>.<table>"`), in
//! the order tenant, api_key, connection, account, destination, sync, sync_webhook, job,
//! job_event, warehouse_row, read in one repeatable-read snapshot, and a last line
//! `{"type": "end", "records": <count>}` so a reader can tell a complete archive from a broken
//! download. No secret is exported: not API key hashes, sealed tokens or credentials, nor the
//! key ids and nonces that go with them.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::{StreamExt as _, pin_mut};
use serde::Serialize;
use shared::db::tenant_data;
use shared::domain::TenantId;
use tokio::sync::mpsc;

use super::db;
use super::openapi::problems;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;

/// Lines are sent to the client in chunks of about this many bytes.
const CHUNK_BYTES: usize = 64 * 1024;

#[utoipa::path(
    get,
    path = "/v1/tenant/export",
    operation_id = "export_tenant",
    tag = "data rights",
    responses(
        (status = 200, description = "every record of the caller's tenant as JSON lines: {\"type\", \"record\"} (warehouse rows add \"table\"), then {\"type\": \"end\", \"records\": n}; no secrets", content_type = "application/x-ndjson", body = String),
        (status = 403, response = problems::Forbidden)
    ),
    security(("api_key" = []))
)]
pub async fn export(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let tenant_id = caller.tenant()?;
    // Check the database answers before the 200 goes out; later failures cut the stream short
    // (and the missing `end` line tells the reader).
    let client = db(&state).await?;
    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        if let Err(error) = write_export(client, tenant_id, &sender).await {
            tracing::error!(error = format!("{error:#}"), %tenant_id, "tenant export failed");
            sender
                .send(Err(std::io::Error::other("export failed")))
                .await
                .ok();
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"adsync-export.jsonl\"",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

async fn write_export(
    mut client: shared::db::Object,
    tenant_id: TenantId,
    sender: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> anyhow::Result<()> {
    let transaction = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let parts = tenant_data::export_parts(&transaction).await?;
    let mut buffer = String::with_capacity(CHUNK_BYTES * 2);
    let mut records: u64 = 0;
    for part in parts {
        let prefix = match &part.table {
            Some(table) => format!(
                "{{\"type\":\"{}\",\"table\":{},\"record\":",
                part.kind,
                serde_json::to_string(table)?
            ),
            None => format!("{{\"type\":\"{}\",\"record\":", part.kind),
        };
        let rows = transaction.query_raw(&part.statement, [&tenant_id]).await?;
        pin_mut!(rows);
        while let Some(row) = rows.next().await {
            let record: String = row?.try_get(0)?;
            buffer.push_str(&prefix);
            buffer.push_str(&record);
            buffer.push_str("}\n");
            records += 1;
            if buffer.len() >= CHUNK_BYTES {
                let chunk = Bytes::from(std::mem::take(&mut buffer));
                if sender.send(Ok(chunk)).await.is_err() {
                    // The client went away.
                    return Ok(());
                }
            }
        }
    }
    buffer.push_str(&format!("{{\"type\":\"end\",\"records\":{records}}}\n"));
    sender.send(Ok(Bytes::from(buffer))).await.ok();
    transaction.commit().await?;
    Ok(())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErasureView {
    #[schema(value_type = uuid::Uuid)]
    tenant_id: TenantId,
    /// When the scheduler erases everything the tenant owned.
    erase_after: DateTime<Utc>,
    api_keys_revoked: u64,
    syncs_disabled: u64,
    jobs_cancelled: u64,
}

/// Revokes the calling tenant's access at once (every API key, every sync, jobs not started
/// cancelled and running ones asked to stop) and schedules the erasure of its data.
#[utoipa::path(
    delete,
    path = "/v1/tenant",
    operation_id = "delete_tenant",
    tag = "data rights",
    responses(
        (status = 202, description = "access revoked; the tenant's data is erased after erase_after", body = ErasureView),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound)
    ),
    security(("api_key" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, ApiJson<ErasureView>), ApiError> {
    let tenant_id = caller.tenant()?;
    let grace = Duration::from_secs(u64::from(state.config.retention.erasure_grace_days) * 86_400);
    let erase_after = Utc::now()
        + chrono::Duration::from_std(grace).map_err(|error| ApiError::Internal(error.into()))?;
    let mut client = db(&state).await?;
    let transaction = client
        .transaction()
        .await
        .map_err(shared::db::DbError::from)?;
    let requested = tenant_data::request_erasure(&transaction, tenant_id, erase_after)
        .await?
        .ok_or(ApiError::NotFound("tenant"))?;
    transaction
        .commit()
        .await
        .map_err(shared::db::DbError::from)?;
    tracing::info!(%tenant_id, %erase_after, "tenant deleted; erasure scheduled");
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(ErasureView {
            tenant_id,
            erase_after: requested.erase_after,
            api_keys_revoked: requested.api_keys_revoked,
            syncs_disabled: requested.syncs_disabled,
            jobs_cancelled: requested.jobs_cancelled,
        }),
    ))
}
