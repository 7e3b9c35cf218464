//! TikTok Marketing API (API for Business) v1.3, served under `/tiktok_ads/open_api/v1.3/` in
//! TikTok's own wire format (see `docs/platforms.md`).
//!
//! Every path ends with a slash; without it TikTok answers HTTP 404, and so does the sandbox
//! (recorded as an unknown route). Results and errors alike arrive on HTTP 200 in the envelope
//! `{code, message, request_id, data}`; only the gateway in front answers 504 without JSON.
//! Tokens travel in the `Access-Token` header and never expire on a timer; there is no refresh.
//!
//! Every API request first goes through `Prelude`, which applies the checks common to all
//! calls in this order: injected faults, the access token, the rate limits (per app per second
//! and per minute, per advertiser per endpoint per second; see [`TiktokAdsConfig`]). The
//! endpoint handlers only deal with their own parameters.
//!
//! Layout: `vocabulary` (its words, currencies and special ids), `world` (deterministic
//! advertisers, entities and delivery), `truth` (what tests compare against), `errors` (the envelope and error answers), `params` (TikTok's JSON-array query
//! parameters), `report` (`report/integrated/get/`), `entities` (`campaign/get/`,
//! `adgroup/get/`, `ad/get/`), `advertisers` (`oauth2/advertiser/get/`, `advertiser/info/`),
//! `oauth` (`oauth2/access_token/`), `control` (the sandbox-only routes under
//! `/_sandbox/tiktok_ads`).

mod advertisers;
mod control;
mod entities;
mod errors;
mod oauth;
mod params;
mod report;
mod truth;
mod vocabulary;
mod world;

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};

pub use crate::facts::Currency;
pub use truth::{EntityTruth, TruthRow, entities_truth, report_truth};
pub use vocabulary::{
    Breakdown, Budget, Level, NO_DELIVERY_ADVERTISER_ID, Objective, RESTATEMENT_HORIZON_DAYS,
    TIME_ZONES, is_valid_account_id,
};
pub use world::{
    AdFacts, AdGroupFacts, AdvertiserFacts, CampaignFacts, Metrics, REACHABLE_ADVERTISER_IDS,
    ad_day_metrics, advertiser, numbered_account, reachable_advertisers,
};

use crate::connector::Connector;
use crate::faults::{FaultKind, FiredFault};
use crate::limits::{CallCounter, Limit};
use crate::requests::{Handled, UnknownRoute};
use crate::state::{Sandbox, lock};
use crate::tokens::TokenStatus;
use errors::TiktokError;

/// Whether a throttle answer here is a quota that lasts until the next 00:00 UTC.
pub const THROTTLE_IS_A_DAILY_QUOTA: bool = false;

/// What an account id looks like, for error messages.
pub const ACCOUNT_ID_SHAPE: &str = "digits (an advertiser id)";

/// The API version the sandbox serves.
pub const VERSION: &str = "v1.3";

/// TikTok settings of a sandbox. The defaults are TikTok's Basic tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TiktokAdsConfig {
    /// Requests the app may make per rolling second, over every endpoint and advertiser, before
    /// code 40100.
    pub app_calls_per_second: u32,
    /// Requests the app may make per rolling minute before code 40100.
    pub app_calls_per_minute: u32,
    /// Requests one advertiser may make to one endpoint per rolling second before code 40133.
    pub advertiser_calls_per_second: u32,
}

impl Default for TiktokAdsConfig {
    fn default() -> Self {
        Self {
            app_calls_per_second: 10,
            app_calls_per_minute: 600,
            advertiser_calls_per_second: 5,
        }
    }
}

/// This platform's mutable state inside a sandbox.
#[derive(Debug)]
pub(crate) struct TiktokAdsState {
    config: TiktokAdsConfig,
    calls: CallCounter,
    /// Auth codes already exchanged (each works once).
    used_auth_codes: Mutex<HashSet<String>>,
}

impl TiktokAdsState {
    pub(crate) fn new(config: TiktokAdsConfig) -> Self {
        Self {
            config,
            calls: CallCounter::default(),
            used_auth_codes: Mutex::new(HashSet::new()),
        }
    }

    /// Marks `code` used; false if it was used before.
    fn use_auth_code(&self, code: &str) -> bool {
        lock(&self.used_auth_codes).insert(code.to_owned())
    }
}

/// The API's path prefix inside `/tiktok_ads`.
const PREFIX: &str = "/open_api/v1.3";

/// The platform routes, to be nested under `/tiktok_ads`.
pub(crate) fn router() -> Router<Sandbox> {
    Router::new()
        .route(&format!("{PREFIX}{}", report::ROUTE), get(report::handler))
        .route(
            &format!("{PREFIX}{}", entities::CAMPAIGN_ROUTE),
            get(entities::campaigns),
        )
        .route(
            &format!("{PREFIX}{}", entities::ADGROUP_ROUTE),
            get(entities::adgroups),
        )
        .route(
            &format!("{PREFIX}{}", entities::AD_ROUTE),
            get(entities::ads),
        )
        .route(
            &format!("{PREFIX}{}", advertisers::AUTHORIZED_ROUTE),
            get(advertisers::authorized),
        )
        .route(
            &format!("{PREFIX}{}", advertisers::INFO_ROUTE),
            get(advertisers::info),
        )
        .route(&format!("{PREFIX}{}", oauth::ROUTE), post(oauth::handler))
}

/// The sandbox-only routes, to be nested under `/_sandbox/tiktok_ads`.
pub(crate) fn control_router() -> Router<Sandbox> {
    control::router()
}

/// The answer to a request under `/tiktok_ads` that matches no route (a wrong path, a missing
/// trailing slash, another API version, a wrong method): TikTok's bare 404.
pub(crate) fn unknown_route(_sandbox: &Sandbox, _path: &str) -> Response {
    UnknownRoute {
        connector: Some(Connector::TiktokAds),
    }
    .attach(errors::not_found())
}

/// Why a request did not pass the common checks.
#[derive(Debug)]
pub(crate) enum Rejection {
    /// An error in the envelope, on HTTP 200.
    Api(TiktokError),
    /// The gateway's HTTP 504 without a JSON body.
    GatewayTimeout,
}

impl From<TiktokError> for Rejection {
    fn from(error: TiktokError) -> Self {
        Rejection::Api(error)
    }
}

/// A request that passed the common checks.
#[derive(Debug)]
pub(crate) struct Call {
    /// A `malformed` fault fired: the endpoint must break its answer in one named field.
    pub(crate) malformed: bool,
}

/// The common part of every API request, from route match to the endpoint's own logic.
#[derive(Debug)]
pub(crate) struct Prelude {
    route: &'static str,
    account_id: Option<String>,
    fault: Option<FiredFault>,
}

impl Prelude {
    /// Consumes a fault matching the request (for `account_id`, the advertiser it names, if
    /// any); sleeps for a slow fault.
    pub(crate) async fn begin(
        sandbox: &Sandbox,
        route: &'static str,
        account_id: Option<String>,
    ) -> Self {
        let account_id = account_id.filter(|id| is_valid_account_id(id));
        let fault = sandbox.take_fault(Connector::TiktokAds, account_id.as_deref());
        if let Some(fired) = fault
            && fired.kind == FaultKind::Slow
        {
            tokio::time::sleep(fired.delay).await;
        }
        Self {
            route,
            account_id,
            fault,
        }
    }

    /// Applies the checks common to all calls: the fault, the token, the rate limits. A request
    /// a fault answered is not counted against any limit.
    pub(crate) fn check(&self, sandbox: &Sandbox, headers: &HeaderMap) -> Result<Call, Rejection> {
        let token = access_token(headers);
        let mut malformed = false;
        if let Some(fired) = self.fault {
            match fired.kind {
                FaultKind::Throttle => return Err(TiktokError::app_qps().into()),
                FaultKind::ServerError => return Err(Rejection::GatewayTimeout),
                FaultKind::ExpiredToken => return Err(TiktokError::token_expired().into()),
                FaultKind::RevokedToken => {
                    if let Some(token) = &token {
                        sandbox.revoke_token(Connector::TiktokAds, token);
                    }
                    return Err(TiktokError::token_invalid().into());
                }
                // TikTok has no "ask for less data" answer on the synchronous endpoints: its
                // generic system error stands in.
                FaultKind::ReduceData => return Err(TiktokError::system_error().into()),
                FaultKind::Malformed => malformed = true,
                FaultKind::Slow => {}
            }
        }
        let Some(token) = token else {
            return Err(TiktokError::token_empty().into());
        };
        match sandbox.token_status(Connector::TiktokAds, &token) {
            TokenStatus::Valid => {}
            TokenStatus::Expired => return Err(TiktokError::token_expired().into()),
            TokenStatus::Revoked => return Err(TiktokError::token_invalid().into()),
        }
        self.admit(sandbox)?;
        Ok(Call { malformed })
    }

    /// Counts the call against the app's per-second and per-minute limits and the advertiser's
    /// per-endpoint limit, or refuses it with the matching throttle code.
    fn admit(&self, sandbox: &Sandbox) -> Result<(), TiktokError> {
        let state = sandbox.tiktok_ads();
        let config = &state.config;
        let advertiser_key = self
            .account_id
            .as_ref()
            .map(|id| format!("advertiser:{id}:{}", self.route));
        let mut limits = vec![
            Limit {
                key: "app:second",
                max_calls: config.app_calls_per_second,
                window: Duration::from_secs(1),
            },
            Limit {
                key: "app:minute",
                max_calls: config.app_calls_per_minute,
                window: Duration::from_secs(60),
            },
        ];
        if let Some(key) = &advertiser_key {
            limits.push(Limit {
                key,
                max_calls: config.advertiser_calls_per_second,
                window: Duration::from_secs(1),
            });
        }
        state
            .calls
            .admit(sandbox.limits_now(), &limits)
            .map_err(|refused| match refused.index {
                0 => TiktokError::app_qps(),
                1 => TiktokError::app_qpm(),
                _ => TiktokError::advertiser_qps(),
            })
    }

    /// Renders a rejection and marks it for the request log.
    pub(crate) fn reject(self, sandbox: &Sandbox, rejection: Rejection) -> Response {
        let response = match rejection {
            Rejection::Api(error) => error.into_response(sandbox),
            Rejection::GatewayTimeout => errors::gateway_timeout(),
        };
        self.finish(response)
    }

    /// Marks the response with what was served, for the request log.
    pub(crate) fn finish(self, response: Response) -> Response {
        Handled {
            connector: Connector::TiktokAds,
            route: self.route,
            account_id: self.account_id,
            fault: self.fault.map(|fired| fired.kind),
        }
        .attach(response)
    }
}

/// The token from the `Access-Token` header; an empty header counts as missing. TikTok reads
/// no other header: `Authorization: Bearer` is ignored.
fn access_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get("access-token")
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
}

/// The calls the app made within the last second and minute, for tests and demos.
pub(crate) fn usage(sandbox: &Sandbox) -> (u32, u32) {
    let state = sandbox.tiktok_ads();
    let now = sandbox.limits_now();
    (
        state.calls.used("app:second", now, Duration::from_secs(1)),
        state.calls.used("app:minute", now, Duration::from_secs(60)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_token_comes_only_from_the_access_token_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(access_token(&headers), None);
        headers.insert("authorization", HeaderValue::from_static("Bearer abc"));
        assert_eq!(access_token(&headers), None);
        headers.insert("Access-Token", HeaderValue::from_static(" abc "));
        assert_eq!(access_token(&headers).as_deref(), Some("abc"));
        headers.insert("Access-Token", HeaderValue::from_static(""));
        assert_eq!(access_token(&headers), None);
    }
}
