//! Snapchat Marketing API: organizations and ad accounts, the campaign → ad squad → ad
//! entities with creatives, the stats endpoints and the OAuth token endpoint, served under
//! `/snapchat_ads` in Snapchat's own wire format (see `docs/platforms.md`).
//!
//! `https://adsapi.snapchat.com/v1/...` is served at `/snapchat_ads/v1/...` and
//! `https://accounts.snapchat.com/login/oauth2/access_token` at
//! `/snapchat_ads/login/oauth2/access_token`.
//!
//! Every API request first goes through `Prelude`, which applies the checks common to all
//! calls in this order: injected faults, the bearer token (401 with `WWW-Authenticate`), then
//! the rate limits (about 20 requests per second per app and 10 per access token, answered with
//! a bare 429 that carries no header). The endpoint handlers then resolve the ad account or
//! entity (403 for accounts the user may not read, 404 for unknown entities) and deal with their
//! own parameters.
//!
//! Layout: `vocabulary` (its words and special ids), `world` (deterministic organizations,
//! accounts, entities and metrics), `truth` (what tests compare against), `errors` (error bodies), `entities` (organizations, ad accounts and the
//! entity lists with `limit` and `paging.next_link`), `stats` (the stats endpoints), `oauth`
//! (the token endpoint), `control` (the sandbox-only routes under `/_sandbox/snapchat_ads`).

mod control;
mod entities;
mod errors;
mod json;
mod oauth;
mod stats;
mod truth;
mod vocabulary;
mod world;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::{get, post};

pub use crate::facts::CampaignStart;
pub use truth::{TruthRow, day_start, render_time, stats_truth};
pub use vocabulary::{
    Attribution, CURRENCIES, FORBIDDEN_ACCOUNT_ID, LARGE_ACCOUNT_ID, Level, NO_DELIVERY_ACCOUNT_ID,
    OBJECTIVES, ORGANIZATIONS, RESTATEMENT_DAYS, Status, SwipeWindow, TIME_ZONES, ViewWindow,
    is_valid_account_id,
};
pub use world::{
    AccountFacts, AdFacts, AdSquadFacts, CampaignFacts, CreativeFacts, KNOWN_ACCOUNTS, Metrics,
    account, ad_day_metrics, numbered_account, split_by_country,
};

use crate::connector::Connector;
use crate::faults::{FaultKind, FiredFault};
use crate::limits::{CallCounter, Limit};
use crate::requests::{Handled, UnknownRoute};
use crate::rng::{fnv1a64, splitmix64};
use crate::state::{Sandbox, lock};
use crate::tokens::TokenStatus;
use errors::SnapError;

/// Whether a throttle answer here is a quota that lasts until the next 00:00 UTC.
pub const THROTTLE_IS_A_DAILY_QUOTA: bool = false;

/// What an account id looks like, for error messages.
pub const ACCOUNT_ID_SHAPE: &str = "a UUID";

/// Snapchat settings of a sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapchatAdsConfig {
    /// Requests the app may make per second, over all tokens, before a 429.
    pub calls_per_second_per_app: u32,
    /// Requests one access token may make per second before a 429.
    pub calls_per_second_per_token: u32,
    /// The rolling window both limits count over: a second on Snapchat. Tests that must not
    /// depend on how fast requests go widen it.
    pub rate_window: Duration,
    /// How long issued access tokens live (Snapchat: 30 minutes).
    pub access_token_lifetime: Duration,
}

impl Default for SnapchatAdsConfig {
    fn default() -> Self {
        Self {
            calls_per_second_per_app: 20,
            calls_per_second_per_token: 10,
            rate_window: Duration::from_secs(1),
            access_token_lifetime: Duration::from_secs(1800),
        }
    }
}

/// Snapchat's mutable state inside a sandbox.
#[derive(Debug)]
pub(crate) struct SnapchatAdsState {
    config: SnapchatAdsConfig,
    calls: CallCounter,
    /// Entity id → (owning account id, level), for the entity stats endpoints. Filled whenever
    /// an account is resolved, and up front for the organizations' accounts.
    owners: Mutex<HashMap<String, (String, Level)>>,
    /// Authorization codes already exchanged (a code works once).
    used_codes: Mutex<HashSet<String>>,
}

impl SnapchatAdsState {
    pub(crate) fn new(config: SnapchatAdsConfig) -> Self {
        let state = Self {
            config,
            calls: CallCounter::default(),
            owners: Mutex::new(HashMap::new()),
            used_codes: Mutex::new(HashSet::new()),
        };
        for (_, _, accounts) in ORGANIZATIONS {
            for id in *accounts {
                state.resolve(id);
            }
        }
        state
    }

    /// The account's facts (`None` for an id that is not a UUID), remembering which account
    /// its entities belong to.
    pub(crate) fn resolve(&self, account_id: &str) -> Option<AccountFacts> {
        let account = world::account(account_id)?;
        let mut owners = lock(&self.owners);
        if !owners.contains_key(&account.id) {
            let mut remember = |id: &str, level| {
                owners.insert(id.to_owned(), (account.id.clone(), level));
            };
            remember(&account.id, Level::AdAccount);
            for campaign in &account.campaigns {
                remember(&campaign.id, Level::Campaign);
                for squad in &campaign.adsquads {
                    remember(&squad.id, Level::AdSquad);
                    for ad in &squad.ads {
                        remember(&ad.id, Level::Ad);
                    }
                }
            }
        }
        Some(account)
    }

    /// The account an entity of `level` belongs to, if the sandbox has served that account.
    pub(crate) fn owner_of(&self, entity_id: &str, level: Level) -> Option<String> {
        lock(&self.owners)
            .get(&entity_id.to_ascii_lowercase())
            .filter(|(_, known)| *known == level)
            .map(|(account, _)| account.clone())
    }
}

/// The platform routes, to be nested under `/snapchat_ads`.
pub(crate) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/v1/me/organizations", get(entities::organizations))
        .route("/v1/adaccounts/{ad_account_id}", get(entities::ad_account))
        .route(
            "/v1/adaccounts/{ad_account_id}/campaigns",
            get(entities::campaigns),
        )
        .route(
            "/v1/adaccounts/{ad_account_id}/adsquads",
            get(entities::adsquads),
        )
        .route("/v1/adaccounts/{ad_account_id}/ads", get(entities::ads))
        .route(
            "/v1/adaccounts/{ad_account_id}/creatives",
            get(entities::creatives),
        )
        .route(
            "/v1/adaccounts/{ad_account_id}/stats",
            get(stats::ad_account),
        )
        .route("/v1/campaigns/{campaign_id}/stats", get(stats::campaign))
        .route("/v1/adsquads/{adsquad_id}/stats", get(stats::adsquad))
        .route("/v1/ads/{ad_id}/stats", get(stats::ad))
        .route("/login/oauth2/access_token", post(oauth::handler))
}

/// The sandbox-only routes, to be nested under `/_sandbox/snapchat_ads`.
pub(crate) fn control_router() -> Router<Sandbox> {
    control::router()
}

/// The answer to a request under `/snapchat_ads` that matches no route.
pub(crate) fn unknown_route(sandbox: &Sandbox, path: &str) -> Response {
    let inner = path
        .strip_prefix(Connector::SnapchatAds.prefix())
        .unwrap_or(path);
    UnknownRoute {
        connector: Some(Connector::SnapchatAds),
    }
    .attach(SnapError::unknown_path(inner).into_response(sandbox))
}

/// A fresh request id in Snapchat's style (hex digits).
pub(crate) fn request_id(sandbox: &Sandbox) -> String {
    let hash = fnv1a64(sandbox.trace_id().as_bytes());
    format!("{hash:016x}{:08x}", splitmix64(hash) >> 32)
}

/// A request that passed the common checks.
#[derive(Debug)]
pub(crate) struct Call {
    /// Whether a malformed fault fired: the handler breaks one field of its answer.
    pub(crate) malformed: bool,
}

/// The common part of every Ads API request, from route match to the endpoint's own logic.
#[derive(Debug)]
pub(crate) struct Prelude {
    route: &'static str,
    account_id: Option<String>,
    fault: Option<FiredFault>,
}

impl Prelude {
    /// Consumes a matching fault (for `account_id`, the account the request is about, if
    /// known) and sleeps for a slow one.
    pub(crate) async fn begin(
        sandbox: &Sandbox,
        route: &'static str,
        account_id: Option<String>,
    ) -> Self {
        let fault = sandbox.take_fault(Connector::SnapchatAds, account_id.as_deref());
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

    /// Applies faults, the token check and the rate limits, in that order.
    pub(crate) fn check(&self, sandbox: &Sandbox, headers: &HeaderMap) -> Result<Call, SnapError> {
        let token = bearer_token(headers);
        if let Some(fired) = self.fault {
            match fired.kind {
                FaultKind::Throttle => return Err(SnapError::throttled()),
                FaultKind::ServerError => return Err(SnapError::server_error()),
                FaultKind::ReduceData => return Err(SnapError::query_timeout()),
                FaultKind::ExpiredToken => return Err(SnapError::expired_token()),
                FaultKind::RevokedToken => {
                    if let Some(token) = &token {
                        sandbox.revoke_token(Connector::SnapchatAds, token);
                    }
                    return Err(SnapError::invalid_token());
                }
                FaultKind::Malformed | FaultKind::Slow => {}
            }
        }
        let Some(token) = token else {
            return Err(SnapError::missing_token());
        };
        match sandbox.token_status(Connector::SnapchatAds, &token) {
            TokenStatus::Valid => {}
            TokenStatus::Expired => return Err(SnapError::expired_token()),
            TokenStatus::Revoked => return Err(SnapError::invalid_token()),
        }
        let state = sandbox.snapchat_ads();
        let token_key = format!("token:{token}");
        let limits = [
            Limit {
                key: "app",
                max_calls: state.config.calls_per_second_per_app,
                window: state.config.rate_window,
            },
            Limit {
                key: &token_key,
                max_calls: state.config.calls_per_second_per_token,
                window: state.config.rate_window,
            },
        ];
        state
            .calls
            .admit(sandbox.limits_now(), &limits)
            .map_err(|_| SnapError::throttled())?;
        Ok(Call {
            malformed: self
                .fault
                .is_some_and(|fired| fired.kind == FaultKind::Malformed),
        })
    }

    /// Marks the response with what was served, for the request log.
    pub(crate) fn finish(self, response: Response) -> Response {
        Handled {
            connector: Connector::SnapchatAds,
            route: self.route,
            account_id: self.account_id,
            fault: self.fault.map(|fired| fired.kind),
        }
        .attach(response)
    }

    /// Renders an error and marks it for the request log.
    pub(crate) fn reject(self, sandbox: &Sandbox, error: SnapError) -> Response {
        self.finish(error.into_response(sandbox))
    }
}

/// The token of an `Authorization: Bearer` header; empty tokens count as missing.
fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// The last value of query parameter `name`.
pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Resolves the ad account of a path: 400 for an id that is not a UUID, 403 for one the user
/// may not read.
pub(crate) fn readable_account(
    sandbox: &Sandbox,
    account_id: &str,
    action: &str,
) -> Result<AccountFacts, SnapError> {
    let account = sandbox
        .snapchat_ads()
        .resolve(account_id)
        .ok_or_else(|| SnapError::bad_request(format!("Invalid ad account id: {account_id}")))?;
    if !account.readable {
        return Err(SnapError::forbidden(action, &account.id));
    }
    Ok(account)
}

pub(crate) fn normalised(account_id: &str) -> Option<String> {
    is_valid_account_id(account_id).then(|| account_id.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn only_bearer_tokens_are_read() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer_token(&headers).as_deref(), Some("abc"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("OAuth abc"));
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn entities_of_the_organizations_accounts_are_known_up_front() {
        let state = SnapchatAdsState::new(SnapchatAdsConfig::default());
        let large = world::account(LARGE_ACCOUNT_ID).unwrap();
        let ad = &large.campaigns[3].adsquads[0].ads[0].id;
        assert_eq!(
            state.owner_of(ad, Level::Ad).as_deref(),
            Some(LARGE_ACCOUNT_ID)
        );
        assert_eq!(state.owner_of(ad, Level::Campaign), None);
        let other = "0a1b2c3d-0000-4000-8000-0000000000aa";
        let campaign = world::account(other).unwrap().campaigns[0].id.clone();
        assert_eq!(state.owner_of(&campaign, Level::Campaign), None);
        state.resolve(other);
        assert_eq!(
            state.owner_of(&campaign, Level::Campaign).as_deref(),
            Some(other)
        );
    }
}
