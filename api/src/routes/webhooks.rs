//! Signed webhooks: `POST /v1/syncs/{id}/webhook` creates or rotates a sync's secret (shown once,
//! stored sealed with the key ring, since verifying needs it in clear); `POST /v1/hooks/{sync_id}`
//! (no API key) runs the sync when the request is signed with it.
//!
//! A request carries `X-Adsync-Timestamp: <unix seconds>` and
//! `X-Adsync-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`. It is refused without
//! effect when the signature is wrong (401 `invalid_signature`), the timestamp is further than
//! `api.webhook_tolerance_secs` from now (401 `timestamp_out_of_window`), or the signature was
//! accepted before (409 `replayed`; accepted signatures are remembered in PostgreSQL until their
//! timestamp leaves the window). A good request runs the sync like `POST /v1/syncs/{id}/run`:
//! bursts collapse into the one active job.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;
use shared::db::{syncs, webhooks};
use shared::domain::{SyncId, Trigger};

use super::db;
use super::openapi::problems;
use super::syncs::{RunAnswer, enqueue_run, run_answer};
use crate::auth::Caller;
use crate::error::{ApiBody, ApiError, ApiJson, ApiPath, ProblemCode};
use crate::state::AppState;

pub const TIMESTAMP_HEADER: &str = "x-adsync-timestamp";
pub const SIGNATURE_HEADER: &str = "x-adsync-signature";

/// Prefix of every webhook secret, so leaked secrets are easy to recognise.
const SECRET_PREFIX: &str = "whsec_";

/// A webhook as answered when its secret is created or rotated: the only time `secret` is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    #[schema(value_type = uuid::Uuid)]
    sync_id: SyncId,
    /// The path to POST signed requests to.
    url: String,
    /// The HMAC-SHA256 key; shown once.
    secret: String,
    created_at: DateTime<Utc>,
    rotated_at: DateTime<Utc>,
}

/// Creates the sync's webhook secret, or rotates it (the old secret stops working at once).
#[utoipa::path(
    post,
    path = "/v1/syncs/{id}/webhook",
    operation_id = "create_webhook",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "sync id")),
    responses(
        (status = 201, description = "the webhook secret, shown this once (rotates any previous one)", body = CreatedWebhook),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound)
    ),
    security(("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<SyncId>,
) -> Result<(StatusCode, ApiJson<CreatedWebhook>), ApiError> {
    let tenant = caller.tenant()?;
    let client = db(&state).await?;
    let sync = syncs::get(&client, tenant, id)
        .await?
        .ok_or(ApiError::NotFound("sync"))?;
    let secret = format!(
        "{SECRET_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    );
    let (created_at, rotated_at) =
        webhooks::store_secret(&client, &state.keys, tenant, sync.id, &secret)
            .await
            .map_err(|error| ApiError::Internal(error.into()))?;
    Ok((
        StatusCode::CREATED,
        ApiJson(CreatedWebhook {
            sync_id: sync.id,
            url: format!("/v1/hooks/{}", sync.id),
            secret,
            created_at,
            rotated_at,
        }),
    ))
}

/// Removes the sync's webhook: signed requests are refused from now on.
#[utoipa::path(
    delete,
    path = "/v1/syncs/{id}/webhook",
    operation_id = "delete_webhook",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "sync id")),
    responses(
        (status = 204, description = "the webhook is gone"),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound)
    ),
    security(("api_key" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<SyncId>,
) -> Result<StatusCode, ApiError> {
    let tenant = caller.tenant()?;
    let client = db(&state).await?;
    let deleted = client
        .execute(
            "DELETE FROM sync_webhooks WHERE tenant_id = $1 AND sync_id = $2",
            &[&tenant, &id],
        )
        .await
        .map_err(shared::db::DbError::from)?;
    if deleted == 0 {
        return Err(ApiError::NotFound("webhook"));
    }
    Ok(StatusCode::NO_CONTENT)
}

fn refused(code: ProblemCode, field: &'static str, detail: &str) -> ApiError {
    ApiError::Refused {
        code,
        field: Some(field),
        detail: detail.to_owned(),
    }
}

fn bad_signature(detail: &str) -> ApiError {
    refused(ProblemCode::InvalidSignature, "X-Adsync-Signature", detail)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The HMAC-SHA256 of `"{timestamp}.{body}"` under `secret`.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> Vec<u8> {
    mac(secret, timestamp, body)
        .finalize()
        .into_bytes()
        .to_vec()
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // An HMAC takes keys of any length.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Runs the sync if the request is signed with its webhook secret, fresh and not seen before.
#[utoipa::path(
    post,
    path = "/v1/hooks/{sync_id}",
    operation_id = "trigger_webhook",
    request_body(content = Vec<u8>, description = "opaque bytes (see the document's modifier)", content_type = "application/octet-stream"),
    tag = "webhooks",
    params(("sync_id" = uuid::Uuid, Path, description = "sync id"), ("X-Adsync-Timestamp" = String, Header, description = "unix seconds"), ("X-Adsync-Signature" = String, Header, description = "sha256=<hex HMAC-SHA256 of \"{timestamp}.{body}\">")),
    responses(
        (status = 202, description = "a run was created", body = RunAnswer),
        (status = 200, description = "the sync's active run job (debounce)", body = RunAnswer),
        (status = 401, description = "the signature or its headers are missing or wrong, or the timestamp is too far from now (code `invalid_signature` or `timestamp_out_of_window`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, response = problems::NotFound),
        (status = 409, description = "this signed request was accepted before, or the sync is paused (code `replayed` or `conflict`)", body = crate::error::Problem, content_type = "application/problem+json")
    ),
    security(())
)]
pub async fn trigger(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<SyncId>,
    headers: HeaderMap,
    ApiBody(body): ApiBody,
) -> Result<(StatusCode, ApiJson<RunAnswer>), ApiError> {
    let timestamp = header(&headers, TIMESTAMP_HEADER).ok_or_else(|| {
        refused(
            ProblemCode::InvalidSignature,
            "X-Adsync-Timestamp",
            "the X-Adsync-Timestamp header (unix seconds) is missing",
        )
    })?;
    let signature = header(&headers, SIGNATURE_HEADER)
        .and_then(|value| value.strip_prefix("sha256="))
        .and_then(decode_hex)
        .ok_or_else(|| {
            bad_signature("the X-Adsync-Signature header must be sha256=<hex HMAC-SHA256>")
        })?;
    let mut client = db(&state).await?;
    let Some((tenant, secret)) = webhooks::open_secret(&client, &state.keys, id)
        .await
        .map_err(|error| ApiError::Internal(error.into()))?
    else {
        return Err(ApiError::NotFound("webhook"));
    };
    // The signature first: nothing about the window is said to an unsigned caller.
    mac(&secret, timestamp, &body)
        .verify_slice(&signature)
        .map_err(|_| bad_signature("the signature does not match the body and timestamp"))?;
    let tolerance = i64::try_from(state.config.api.webhook_tolerance_secs).unwrap_or(i64::MAX);
    let sent = timestamp
        .parse::<i64>()
        .ok()
        .and_then(|seconds| DateTime::<Utc>::from_timestamp(seconds, 0));
    let now = Utc::now();
    let Some(sent) = sent.filter(|sent| (now - *sent).num_seconds().abs() <= tolerance) else {
        return Err(refused(
            ProblemCode::TimestampOutOfWindow,
            "X-Adsync-Timestamp",
            &format!("the timestamp must be unix seconds within {tolerance} s of now"),
        ));
    };
    let sync = syncs::get(&client, tenant, id)
        .await?
        .ok_or(ApiError::NotFound("webhook"))?;
    let transaction = client
        .transaction()
        .await
        .map_err(shared::db::DbError::from)?;
    // Remembered until the timestamp leaves the window: a replay after that is refused as stale.
    let fresh = webhooks::remember_signature(
        &transaction,
        sync.id,
        &signature,
        sent + chrono::Duration::seconds(tolerance),
    )
    .await?;
    if !fresh {
        return Err(refused(
            ProblemCode::Replayed,
            "X-Adsync-Signature",
            "this signed request was accepted before",
        ));
    }
    let enqueued = enqueue_run(&state, &transaction, &sync, Trigger::Webhook).await?;
    transaction
        .commit()
        .await
        .map_err(shared::db::DbError::from)?;
    run_answer(&state, &client, enqueued).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently: Python's hmac.new(b"whsec_test", b'1700000000.{"a":1}', sha256).
        let expected = "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789";
        let signature = sign(b"whsec_test", "1700000000", br#"{"a":1}"#);
        assert_eq!(decode_hex(expected), Some(signature));
    }

    #[test]
    fn hex_decoding_refuses_odd_lengths_and_non_hex() {
        assert_eq!(decode_hex("0aff"), Some(vec![0x0a, 0xff]));
        assert_eq!(decode_hex("0af"), None);
        assert_eq!(decode_hex("zz"), None);
        assert_eq!(decode_hex("+1"), None);
    }
}
