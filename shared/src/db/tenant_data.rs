//! Everything a tenant owns, as a whole: the export of all of it (without secrets), erasure on
//! request (access revoked at once, rows purged after a grace period), and retention (finished
//! job history and warehouse rows older than the plan keeps).
//!
//! Warehouse rows live in tables the worker creates on demand, in the schemas adsync's own
//! warehouse destinations name (`warehouse` by default); every such table has `tenant_id` and
//! `sync_id` columns. Tables are found in the catalogue, so a table created after this code was
//! written is still exported and purged. A warehouse in another database (a destination with a
//! sealed database URL) belongs to the customer and is not touched.

use chrono::{DateTime, NaiveDate, Utc};
use tokio_postgres::types::ToSql;

use super::{DbError, GenericClient};
use crate::domain::{SyncId, TenantId};

/// One warehouse table (or its staging table) holding tenants' rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarehouseTable {
    pub schema: String,
    pub name: String,
    /// Whether rows have a report `date` (performance tables); entity tables do not.
    pub dated: bool,
    /// The unlogged staging table of a writer in progress.
    pub staging: bool,
}

impl WarehouseTable {
    /// The quoted, schema-qualified name, safe to put in a statement.
    pub fn qualified(&self) -> String {
        format!("{}.{}", quote(&self.schema), quote(&self.name))
    }

    /// The name used in the export (`<schema>.<table>`).
    pub fn display(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Every table in adsync's own warehouse schemas with `tenant_id` and `sync_id` columns.
pub async fn warehouse_tables(client: &impl GenericClient) -> Result<Vec<WarehouseTable>, DbError> {
    let rows = client
        .query(
            "WITH schemas AS (
                 SELECT 'warehouse' AS name
                 UNION
                 SELECT coalesce(settings->>'schema', 'warehouse') FROM destinations
                 WHERE kind = 'warehouse' AND key_id IS NULL
             )
             SELECT c.table_schema, c.table_name,
                    bool_or(c.column_name = 'date') AS dated
             FROM information_schema.columns c
             JOIN information_schema.tables t
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name
             WHERE c.table_schema IN (SELECT name FROM schemas)
               AND t.table_type = 'BASE TABLE'
             GROUP BY c.table_schema, c.table_name
             HAVING bool_or(c.column_name = 'tenant_id') AND bool_or(c.column_name = 'sync_id')
             ORDER BY c.table_schema, c.table_name",
            &[],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let name: String = row.try_get("table_name")?;
            Ok(WarehouseTable {
                schema: row.try_get("table_schema")?,
                staging: name.ends_with("__staging"),
                name,
                dated: row.try_get("dated")?,
            })
        })
        .collect()
}

/// One part of an export: a kind of record and the statement returning each as a JSON text.
#[derive(Debug, Clone)]
pub struct ExportPart {
    /// `tenant`, `api_key`, `connection`, `account`, `destination`, `sync`, `sync_webhook`,
    /// `job`, `job_event`, or `warehouse_row`.
    pub kind: &'static str,
    /// For warehouse rows, the table (`<schema>.<table>`).
    pub table: Option<String>,
    /// A statement with one parameter (the tenant id) returning one `text` column of JSON.
    pub statement: String,
}

/// The statements that read everything a tenant owns, in an order where every record comes
/// after the records it refers to. Secret columns are left out by name: API key hashes, the
/// sealed tokens of connections and the sealed credentials of destinations (with their key ids
/// and nonces). A column added later is exported unless it is added to these lists, which is
/// why the export test looks for sealed bytes in the output.
pub async fn export_parts(client: &impl GenericClient) -> Result<Vec<ExportPart>, DbError> {
    let part = |kind: &'static str, statement: &str| ExportPart {
        kind,
        table: None,
        statement: statement.to_string(),
    };
    let mut parts = vec![
        part(
            "tenant",
            "SELECT to_jsonb(t)::text FROM tenants t WHERE id = $1",
        ),
        part(
            "api_key",
            "SELECT (to_jsonb(k) - 'key_hash')::text FROM api_keys k
             WHERE tenant_id = $1 ORDER BY created_at, id",
        ),
        part(
            "connection",
            "SELECT (to_jsonb(c) - 'key_id' - 'token_nonce' - 'token_ciphertext')::text
             FROM connections c WHERE tenant_id = $1 ORDER BY created_at, id",
        ),
        part(
            "account",
            "SELECT to_jsonb(a)::text FROM accounts a WHERE tenant_id = $1 ORDER BY created_at, id",
        ),
        part(
            "destination",
            "SELECT (to_jsonb(d) - 'key_id' - 'secret_nonce' - 'secret_ciphertext'
                     || jsonb_build_object('has_credentials', d.key_id IS NOT NULL))::text
             FROM destinations d WHERE tenant_id = $1 ORDER BY created_at, id",
        ),
        part(
            "sync",
            "SELECT to_jsonb(s)::text FROM syncs s WHERE tenant_id = $1 ORDER BY created_at, id",
        ),
        part(
            "sync_webhook",
            "SELECT (to_jsonb(w) - 'key_id' - 'secret_nonce' - 'secret_ciphertext')::text
             FROM sync_webhooks w WHERE tenant_id = $1 ORDER BY created_at, sync_id",
        ),
        part(
            "job",
            "SELECT to_jsonb(j)::text FROM jobs j WHERE tenant_id = $1 ORDER BY created_at, id",
        ),
        part(
            "job_event",
            "SELECT to_jsonb(e)::text FROM job_events e
             WHERE job_id IN (SELECT id FROM jobs WHERE tenant_id = $1) ORDER BY job_id, id",
        ),
    ];
    for table in warehouse_tables(client).await? {
        if table.staging {
            continue;
        }
        parts.push(ExportPart {
            kind: "warehouse_row",
            table: Some(table.display()),
            statement: format!(
                "SELECT to_jsonb(w)::text FROM {} w
                 WHERE sync_id IN (SELECT id FROM syncs WHERE tenant_id = $1) AND tenant_id = $1",
                table.qualified()
            ),
        });
    }
    Ok(parts)
}

/// What [`request_erasure`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErasureRequested {
    pub erase_after: DateTime<Utc>,
    pub api_keys_revoked: u64,
    pub syncs_disabled: u64,
    pub jobs_cancelled: u64,
}

/// Revokes a tenant's access at once and schedules the purge of its data at `erase_after`:
/// every API key is revoked, every sync disabled and its webhook secret erased, jobs not
/// started are cancelled and running ones are asked to stop. Run it in a transaction. `None` if the tenant does not exist or is
/// already being erased.
pub async fn request_erasure(
    client: &impl GenericClient,
    tenant_id: TenantId,
    erase_after: DateTime<Utc>,
) -> Result<Option<ErasureRequested>, DbError> {
    let marked = client
        .execute(
            "UPDATE tenants SET deleted_at = now(), erase_after = $2
             WHERE id = $1 AND deleted_at IS NULL",
            &[&tenant_id, &erase_after],
        )
        .await?;
    if marked == 0 {
        return Ok(None);
    }
    let api_keys_revoked = client
        .execute(
            "UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND revoked_at IS NULL",
            &[&tenant_id],
        )
        .await?;
    let syncs_disabled = client
        .execute(
            "UPDATE syncs SET enabled = false, paused_reason = 'tenant deleted', updated_at = now()
             WHERE tenant_id = $1 AND enabled",
            &[&tenant_id],
        )
        .await?;
    // Webhook triggers stop working at once too: their secrets are erased now.
    client
        .execute(
            "DELETE FROM sync_webhooks WHERE tenant_id = $1",
            &[&tenant_id],
        )
        .await?;
    let jobs_cancelled = client
        .execute(
            "UPDATE jobs SET state = 'cancelled', state_reason = 'tenant deleted',
                 finished_at = now(), updated_at = now()
             WHERE tenant_id = $1 AND state IN ('pending', 'queued')",
            &[&tenant_id],
        )
        .await?;
    client
        .execute(
            "UPDATE jobs SET cancel_requested_at = coalesce(cancel_requested_at, now()),
                 updated_at = now()
             WHERE tenant_id = $1 AND state = 'running'",
            &[&tenant_id],
        )
        .await?;
    Ok(Some(ErasureRequested {
        erase_after,
        api_keys_revoked,
        syncs_disabled,
        jobs_cancelled,
    }))
}

/// Whether the tenant asked to be erased (its data is awaiting the purge).
pub async fn is_erased(client: &impl GenericClient, tenant_id: TenantId) -> Result<bool, DbError> {
    Ok(client
        .query_opt(
            "SELECT 1 FROM tenants WHERE id = $1 AND deleted_at IS NOT NULL",
            &[&tenant_id],
        )
        .await?
        .is_some())
}

/// Tenants whose erasure is due at `now`.
pub async fn erasures_due(
    client: &impl GenericClient,
    now: DateTime<Utc>,
) -> Result<Vec<TenantId>, DbError> {
    client
        .query(
            "SELECT id FROM tenants WHERE erase_after <= $1 ORDER BY erase_after",
            &[&now],
        )
        .await?
        .iter()
        .map(|row| Ok(row.try_get("id")?))
        .collect()
}

/// Deletes, `batch` rows at a time, the rows `selection` picks (a `SELECT ctid FROM …` with
/// its parameters), until none is left. Returns the number deleted.
async fn delete_in_batches(
    client: &impl GenericClient,
    table: &str,
    selection: &str,
    params: &[&(dyn ToSql + Sync)],
    batch: i64,
) -> Result<u64, DbError> {
    let limit_param = params.len() + 1;
    let statement =
        format!("DELETE FROM {table} WHERE ctid = ANY(ARRAY({selection} LIMIT ${limit_param}))");
    let mut all: Vec<&(dyn ToSql + Sync)> = params.to_vec();
    all.push(&batch);
    let mut deleted = 0;
    loop {
        let now_deleted = client.execute(&statement, &all).await?;
        deleted += now_deleted;
        if now_deleted < batch as u64 {
            return Ok(deleted);
        }
    }
}

/// A tenant's syncs (warehouse rows are found through them, by the tables' primary keys).
async fn sync_ids(
    client: &impl GenericClient,
    tenant_id: TenantId,
) -> Result<Vec<SyncId>, DbError> {
    client
        .query("SELECT id FROM syncs WHERE tenant_id = $1", &[&tenant_id])
        .await?
        .iter()
        .map(|row| Ok(row.try_get("id")?))
        .collect()
}

/// What a purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub jobs: u64,
    pub warehouse_rows: u64,
}

/// Erases everything the tenant owned: warehouse rows, jobs and their events (in batches), and
/// finally the tenant row, whose deletion cascades to API keys, connections (with their sealed
/// tokens), accounts, destinations and syncs.
pub async fn erase(
    client: &impl GenericClient,
    tenant_id: TenantId,
    batch: u32,
) -> Result<Purged, DbError> {
    let batch = i64::from(batch.max(1));
    let syncs = sync_ids(client, tenant_id).await?;
    let mut purged = Purged::default();
    for table in warehouse_tables(client).await? {
        let qualified = table.qualified();
        purged.warehouse_rows += delete_in_batches(
            client,
            &qualified,
            &format!("SELECT ctid FROM {qualified} WHERE sync_id = ANY($1) OR tenant_id = $2"),
            &[&syncs, &tenant_id],
            batch,
        )
        .await?;
    }
    purged.jobs = delete_in_batches(
        client,
        "jobs",
        "SELECT ctid FROM jobs WHERE tenant_id = $1",
        &[&tenant_id],
        batch,
    )
    .await?;
    client
        .execute("DELETE FROM tenants WHERE id = $1", &[&tenant_id])
        .await?;
    Ok(purged)
}

/// Deletes a tenant's finished jobs (with their events) that finished before `cutoff`, and its
/// warehouse rows older than `cutoff`: rows of performance tables by their report `date`,
/// entity rows (which have no date) by when they were last synced.
pub async fn purge_older_than(
    client: &impl GenericClient,
    tenant_id: TenantId,
    cutoff: DateTime<Utc>,
    batch: u32,
) -> Result<Purged, DbError> {
    let batch = i64::from(batch.max(1));
    let jobs = delete_in_batches(
        client,
        "jobs",
        "SELECT ctid FROM jobs WHERE tenant_id = $1 AND finished_at < $2
           AND state IN ('succeeded', 'failed', 'cancelled')",
        &[&tenant_id, &cutoff],
        batch,
    )
    .await?;
    let mut purged = Purged {
        jobs,
        warehouse_rows: 0,
    };
    let syncs = sync_ids(client, tenant_id).await?;
    if syncs.is_empty() {
        return Ok(purged);
    }
    let cutoff_date: NaiveDate = cutoff.date_naive();
    for table in warehouse_tables(client).await? {
        if table.staging {
            continue;
        }
        let qualified = table.qualified();
        purged.warehouse_rows += if table.dated {
            delete_in_batches(
                client,
                &qualified,
                &format!("SELECT ctid FROM {qualified} WHERE sync_id = ANY($1) AND date < $2"),
                &[&syncs, &cutoff_date],
                batch,
            )
            .await?
        } else {
            delete_in_batches(
                client,
                &qualified,
                &format!("SELECT ctid FROM {qualified} WHERE sync_id = ANY($1) AND synced_at < $2"),
                &[&syncs, &cutoff],
                batch,
            )
            .await?
        };
    }
    Ok(purged)
}

/// Tenants with their plan, not being erased, for the retention purge.
pub async fn retained_tenants(
    client: &impl GenericClient,
) -> Result<Vec<(TenantId, crate::domain::Plan)>, DbError> {
    client
        .query(
            "SELECT id, plan FROM tenants WHERE deleted_at IS NULL ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|row| {
            let plan: String = row.try_get("plan")?;
            Ok((
                row.try_get("id")?,
                plan.parse()
                    .map_err(|e| DbError::Corrupt(format!("tenants.plan: {e}")))?,
            ))
        })
        .collect()
}
