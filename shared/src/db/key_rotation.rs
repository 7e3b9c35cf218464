//! Re-sealing every stored secret under the key ring's active key, so an old key can be
//! dropped from the configuration afterwards.
//!
//! Each table is worked through in batches, one transaction per batch: rows not under the
//! active key are locked (`SKIP LOCKED`, so a token refresh in progress is not waited for),
//! opened with the key their row names, sealed again with the active key and written back.
//! Rows already under the active key are never selected, so the run is idempotent, and an
//! interrupted run resumes where it stopped when started again. A row that cannot be opened
//! (its key is missing from the ring, or the data was tampered with) stops the run with an
//! error naming the table, row and key id, and nothing of its batch is written.

use uuid::Uuid;

use super::{DbError, GenericClient, Pool};
use crate::crypto::{CryptoError, KeyRing, Sealed};

/// A table with sealed secrets. The associated data of every sealed secret is
/// `<table>:<tenant id>:<row id>` (see each repository's `associated_data`).
#[derive(Debug, Clone, Copy)]
struct SealedTable {
    table: &'static str,
    id: &'static str,
    nonce: &'static str,
    ciphertext: &'static str,
}

/// Every table holding sealed secrets. `sync_webhooks` is re-sealed where it exists.
const TABLES: [SealedTable; 3] = [
    SealedTable {
        table: "connections",
        id: "id",
        nonce: "token_nonce",
        ciphertext: "token_ciphertext",
    },
    SealedTable {
        table: "destinations",
        id: "id",
        nonce: "secret_nonce",
        ciphertext: "secret_ciphertext",
    },
    SealedTable {
        table: "sync_webhooks",
        id: "sync_id",
        nonce: "secret_nonce",
        ciphertext: "secret_ciphertext",
    },
];

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{table} row {id} (sealed under key {key_id:?}) cannot be re-sealed: {source}")]
    Crypto {
        table: &'static str,
        id: Uuid,
        key_id: String,
        #[source]
        source: CryptoError,
    },
}

impl From<tokio_postgres::Error> for RotationError {
    fn from(error: tokio_postgres::Error) -> Self {
        RotationError::Db(error.into())
    }
}

impl From<deadpool_postgres::PoolError> for RotationError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        RotationError::Db(error.into())
    }
}

/// What a rotation run did, per table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// `(table, rows re-sealed)`.
    pub resealed: Vec<(&'static str, u64)>,
    /// Rows still under another key (locked by a concurrent writer during the run); run again.
    pub remaining: u64,
}

impl RotationReport {
    pub fn total(&self) -> u64 {
        self.resealed.iter().map(|(_, rows)| rows).sum()
    }
}

/// Re-seals every secret not under `keys`' active key, `batch` rows per transaction.
pub async fn rotate(
    pool: &Pool,
    keys: &KeyRing,
    batch: u32,
) -> Result<RotationReport, RotationError> {
    let batch = i64::from(batch.max(1));
    let mut report = RotationReport::default();
    let mut client = pool.get().await?;
    for table in TABLES {
        let exists: bool = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table.table])
            .await?
            .get(0);
        if !exists {
            continue;
        }
        let mut resealed = 0;
        loop {
            let transaction = client.transaction().await?;
            let done = reseal_batch(&transaction, keys, table, batch).await?;
            transaction.commit().await?;
            resealed += done;
            if done < batch as u64 {
                break;
            }
        }
        report.resealed.push((table.table, resealed));
        report.remaining += remaining(&client, keys, table).await?;
    }
    Ok(report)
}

async fn reseal_batch(
    client: &impl GenericClient,
    keys: &KeyRing,
    table: SealedTable,
    batch: i64,
) -> Result<u64, RotationError> {
    let SealedTable {
        table: name,
        id,
        nonce,
        ciphertext,
    } = table;
    let rows = client
        .query(
            &format!(
                "SELECT tenant_id, {id} AS id, key_id, {nonce} AS nonce, {ciphertext} AS ciphertext
                 FROM {name} WHERE key_id IS NOT NULL AND key_id <> $1
                 ORDER BY {id} LIMIT $2 FOR UPDATE SKIP LOCKED"
            ),
            &[&keys.active_key_id(), &batch],
        )
        .await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut nonces = Vec::with_capacity(rows.len());
    let mut ciphertexts = Vec::with_capacity(rows.len());
    for row in &rows {
        let tenant_id: Uuid = row.try_get("tenant_id")?;
        let row_id: Uuid = row.try_get("id")?;
        let sealed = Sealed {
            key_id: row.try_get("key_id")?,
            nonce: row.try_get("nonce")?,
            ciphertext: row.try_get("ciphertext")?,
        };
        let associated_data = format!("{name}:{tenant_id}:{row_id}").into_bytes();
        let crypto = |source| RotationError::Crypto {
            table: name,
            id: row_id,
            key_id: sealed.key_id.clone(),
            source,
        };
        let plaintext = keys.open(&sealed, &associated_data).map_err(crypto)?;
        let resealed = keys.seal(&plaintext, &associated_data).map_err(crypto)?;
        ids.push(row_id);
        nonces.push(resealed.nonce);
        ciphertexts.push(resealed.ciphertext);
    }
    if ids.is_empty() {
        return Ok(0);
    }
    let updated = client
        .execute(
            &format!(
                "UPDATE {name} AS t SET key_id = $1, {nonce} = n.nonce, {ciphertext} = n.ciphertext
                 FROM unnest($2::uuid[], $3::bytea[], $4::bytea[]) AS n(id, nonce, ciphertext)
                 WHERE t.{id} = n.id"
            ),
            &[&keys.active_key_id(), &ids, &nonces, &ciphertexts],
        )
        .await?;
    Ok(updated)
}

async fn remaining(
    client: &impl GenericClient,
    keys: &KeyRing,
    table: SealedTable,
) -> Result<u64, RotationError> {
    let count: i64 = client
        .query_one(
            &format!(
                "SELECT count(*) FROM {} WHERE key_id IS NOT NULL AND key_id <> $1",
                table.table
            ),
            &[&keys.active_key_id()],
        )
        .await?
        .get(0);
    Ok(u64::try_from(count).unwrap_or(0))
}
