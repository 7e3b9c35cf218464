//! What every handler can reach.

use std::sync::Arc;

use shared::Config;
use shared::crypto::KeyRing;
use shared::db::Pool;
use shared::ops::Readiness;
use shared::queue::Publisher;

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub keys: KeyRing,
    pub publisher: Publisher,
    pub config: Arc<Config>,
    /// Every platform's settings (`connectors.<platform>`), checked at startup.
    pub connectors: Arc<connectors::Settings>,
    /// The client for the platforms' OAuth and account listing.
    pub http: reqwest::Client,
    /// SHA-256 of the operator key; `None` disables operator access.
    pub operator_key_hash: Option<Vec<u8>>,
    pub readiness: Readiness,
}
