//! Google Ads API (REST), served under `/google_ads` in Google's own wire format (see
//! `docs/platforms.md`): `googleAds:searchStream` over a GAQL subset,
//! `customers:listAccessibleCustomers`, and the OAuth token endpoint `/oauth2/token`.
//!
//! Every API request first goes through `Prelude`, which applies the checks common to all calls
//! in this order: injected faults, the API version, the bearer token, the `developer-token`
//! (when the sandbox is configured to require one), the customer id, the `login-customer-id`
//! header (a manager above the customer, at any level, that the user reaches directly), the
//! customer's status (a cancelled one refuses queries), and the rate limits (per developer token, per customer,
//! and the daily operations quota). The endpoint handlers only deal with their own input.
//! `searchStream` sends the errors of the Ads backend in the array framing of the stream
//! (`[{"error":{…}}]`), as Google does; the other routes send `{"error":{…}}`.
//!
//! Layout: `vocabulary` (its words, currencies and special ids), `world` (deterministic customers
//! and metrics), `truth` (what tests compare against),
//! `gaql` (the query parser), `errors` (error bodies), `search` (the streamed report),
//! `customers` (accessible customers), `oauth` (the token endpoint), `control` (the sandbox-only
//! routes under `/_sandbox/google_ads`).

mod control;
mod customers;
mod errors;
mod gaql;
mod search;
mod truth;
mod vocabulary;
mod world;

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, Uri, header};
use axum::response::Response;
use axum::routing::{get, post};

pub use crate::facts::{CampaignStart, Currency};
pub use search::BATCH_ROWS;
pub use truth::{TruthRow, report_truth};
pub use vocabulary::{
    Channel, CustomerKind, CustomerStatus, Device, Level, NO_DELIVERY_CUSTOMER_ID,
    RESTATEMENT_HORIZON_DAYS, Status, TIME_ZONES,
};
pub use world::{
    AdFacts, AdGroupFacts, CampaignFacts, CustomerFacts, Metrics, customer, numbered_account,
};

use crate::connector::Connector;
use crate::faults::{FaultKind, FiredFault};
use crate::google_oauth;
use crate::limits::{CallCounter, Limit};
use crate::requests::{Handled, UnknownRoute};
use crate::state::Sandbox;
use crate::tokens::TokenStatus;
use errors::AdsError;

/// Whether a throttle answer here is a quota that lasts until the next 00:00 UTC.
pub const THROTTLE_IS_A_DAILY_QUOTA: bool = false;

/// What an account id looks like, for error messages.
pub const ACCOUNT_ID_SHAPE: &str = "10 digits, no hyphens";

/// How long access tokens from the token endpoint live.
pub use crate::google_oauth::ACCESS_TOKEN_LIFETIME;

/// The content type of every JSON answer.
pub(crate) const CONTENT_TYPE: &str = "application/json; charset=UTF-8";

/// The response header carrying the request id.
pub(crate) const REQUEST_ID_HEADER: &str = "request-id";

/// Google Ads settings of a sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleAdsConfig {
    /// The oldest API version served (`v19`); older ones answer 404 as sunset versions do.
    pub oldest_version: u32,
    /// The newest API version served (`v22`).
    pub latest_version: u32,
    /// `None`: the `developer-token` header is optional and ignored (Google's 2026 behaviour).
    /// `Some(token)`: requests must carry exactly this token.
    pub developer_token: Option<String>,
    /// Requests one developer token (the app) may make per `rate_window`.
    pub requests_per_window_per_developer_token: u32,
    /// Requests one customer may receive per `rate_window`.
    pub requests_per_window_per_customer: u32,
    /// The rolling window of the two limits above.
    pub rate_window: Duration,
    /// Operations one developer token may make per rolling 24 hours (Basic access: 15,000).
    pub daily_operations: u32,
    /// The `retryDelay` of an injected throttle fault: a few seconds, as Google often asks,
    /// and unlike the wait a client falls back on when it misses the delay.
    pub throttle_retry_delay: Duration,
    /// The customers `listAccessibleCustomers` returns (the user's direct accesses).
    pub accessible_customers: Vec<String>,
}

impl Default for GoogleAdsConfig {
    fn default() -> Self {
        Self {
            oldest_version: 19,
            latest_version: 22,
            developer_token: None,
            requests_per_window_per_developer_token: 200,
            requests_per_window_per_customer: 40,
            rate_window: Duration::from_secs(10),
            daily_operations: 15_000,
            throttle_retry_delay: Duration::from_secs(4),
            accessible_customers: vec![
                "1234567890".to_owned(),
                "2345678901".to_owned(),
                "9123450000".to_owned(),
            ],
        }
    }
}

/// Google Ads' mutable state inside a sandbox.
#[derive(Debug)]
pub(crate) struct GoogleAdsState {
    config: GoogleAdsConfig,
    calls: CallCounter,
    /// Authorization codes already exchanged (each works once).
    pub(crate) used_codes: Mutex<HashSet<String>>,
}

impl GoogleAdsState {
    pub(crate) fn new(config: GoogleAdsConfig) -> Self {
        Self {
            config,
            calls: CallCounter::default(),
            used_codes: Mutex::new(HashSet::new()),
        }
    }
}

/// The platform routes, to be nested under `/google_ads`.
pub(crate) fn router() -> Router<Sandbox> {
    Router::new()
        .route(
            "/{version}/customers/{customer_id}/googleAds:searchStream",
            post(search::handler),
        )
        .route(
            "/{version}/customers:listAccessibleCustomers",
            get(customers::handler),
        )
        .route(google_oauth::ROUTE, post(google_oauth::ads_token))
        .route(
            google_oauth::REVOKE_ROUTE,
            post(google_oauth::revoke_handler),
        )
}

/// The sandbox-only routes, to be nested under `/_sandbox/google_ads`.
pub(crate) fn control_router() -> Router<Sandbox> {
    control::router()
}

/// The answer to a request under `/google_ads` that matches no route: Google's front-end 404.
pub(crate) fn unknown_route(sandbox: &Sandbox, path: &str) -> Response {
    let state = sandbox.google_ads();
    let response =
        AdsError::not_found(path).into_response(state.config.latest_version, &sandbox.trace_id());
    UnknownRoute {
        connector: Some(Connector::GoogleAds),
    }
    .attach(response)
}

/// Whether `id` is shaped like a customer id.
pub fn is_valid_account_id(id: &str) -> bool {
    vocabulary::is_valid_customer_id(id)
}

/// `v21` → `Some(21)`.
fn parse_version(text: &str) -> Option<u32> {
    let digits = text.strip_prefix('v')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A request that passed the common checks.
#[derive(Debug)]
pub(crate) struct Admitted {
    pub(crate) version: u32,
    pub(crate) request_id: String,
    /// The customer in the path, for customer routes.
    pub(crate) customer: Option<CustomerFacts>,
}

/// Why a request did not pass the common checks.
#[derive(Debug)]
pub(crate) enum Rejection {
    /// Not a route the sandbox serves (the version is not shaped like one).
    UnknownRoute,
    /// A Google Ads error.
    Error(Box<AdsError>),
}

impl From<AdsError> for Rejection {
    fn from(error: AdsError) -> Self {
        Rejection::Error(Box::new(error))
    }
}

/// The common part of every API request, from route match to the endpoint's own logic.
#[derive(Debug)]
pub(crate) struct Prelude {
    route: &'static str,
    version: Option<u32>,
    customer_id: Option<String>,
    path: String,
    fault: Option<FiredFault>,
    request_id: String,
}

impl Prelude {
    /// Recognises the route and consumes a matching fault; sleeps for a slow fault.
    pub(crate) async fn begin(
        sandbox: &Sandbox,
        route: &'static str,
        version: &str,
        customer_id: Option<&str>,
        uri: &Uri,
    ) -> Self {
        let version = parse_version(version);
        let fault = match version {
            Some(_) => sandbox.take_fault(Connector::GoogleAds, customer_id),
            None => None,
        };
        if let Some(fired) = fault
            && fired.kind == FaultKind::Slow
        {
            tokio::time::sleep(fired.delay).await;
        }
        Self {
            route,
            version,
            customer_id: customer_id.map(str::to_owned),
            path: uri.path().to_owned(),
            fault,
            request_id: sandbox.trace_id(),
        }
    }

    /// The kind of the fault that fired on this request, if any.
    pub(crate) fn fault_kind(&self) -> Option<FaultKind> {
        self.fault.map(|fired| fired.kind)
    }

    /// Applies the checks common to all calls, and counts the call against the rate limits.
    pub(crate) fn admit(
        &self,
        sandbox: &Sandbox,
        headers: &HeaderMap,
    ) -> Result<Admitted, Rejection> {
        let Some(version) = self.version else {
            return Err(Rejection::UnknownRoute);
        };
        let state = sandbox.google_ads();
        let config = &state.config;
        if let Some(fired) = self.fault {
            let scope = if self.customer_id.is_some() {
                ("ACCOUNT", "Requests per account")
            } else {
                ("DEVELOPER", "Requests per developer token")
            };
            let error = match fired.kind {
                FaultKind::Throttle => Some(AdsError::temporarily_exhausted(
                    scope.0,
                    scope.1,
                    config.throttle_retry_delay,
                )),
                FaultKind::ServerError => Some(AdsError::internal()),
                FaultKind::ExpiredToken => Some(AdsError::token_expired()),
                FaultKind::RevokedToken => {
                    if let Some(Ok(token)) = bearer_token(headers) {
                        sandbox.revoke_token(Connector::GoogleAds, &token);
                    }
                    Some(AdsError::token_revoked())
                }
                // searchStream answers these itself (mid-stream); other routes cannot.
                FaultKind::ReduceData if self.customer_id.is_none() => {
                    Some(AdsError::deadline_exceeded())
                }
                FaultKind::ReduceData | FaultKind::Malformed | FaultKind::Slow => None,
            };
            if let Some(error) = error {
                return Err(error.into());
            }
        }
        if !(config.oldest_version..=config.latest_version).contains(&version) {
            return Err(AdsError::not_found(&self.path).into());
        }
        match bearer_token(headers) {
            None => return Err(AdsError::missing_credentials().into()),
            Some(Err(())) => return Err(AdsError::token_invalid().into()),
            Some(Ok(token)) => match sandbox.token_status(Connector::GoogleAds, &token) {
                TokenStatus::Valid => {}
                TokenStatus::Expired => return Err(AdsError::token_expired().into()),
                TokenStatus::Revoked => return Err(AdsError::token_revoked().into()),
            },
        }
        let developer_token = header_text(headers, "developer-token");
        if let Some(expected) = &config.developer_token {
            match &developer_token {
                None => return Err(AdsError::developer_token_missing().into()),
                Some(token) if token != expected => {
                    return Err(AdsError::developer_token_invalid().into());
                }
                Some(_) => {}
            }
        }
        let customer = match &self.customer_id {
            None => None,
            Some(id) => {
                if !vocabulary::is_valid_customer_id(id) {
                    return Err(AdsError::invalid_customer_id(id).into());
                }
                let login = header_text(headers, "login-customer-id");
                if let Some(login) = &login
                    && !vocabulary::is_valid_customer_id(login)
                {
                    return Err(AdsError::invalid_login_customer_id(login).into());
                }
                let customer =
                    world::customer(id).ok_or_else(|| AdsError::customer_not_found(id))?;
                // An account below a manager is reached through a manager above it (at any
                // level) that the user reaches directly; an account of its own, directly or
                // with itself as the login.
                let allowed = match login.as_deref() {
                    None => customer.manager_id().is_none(),
                    Some(login) if login == customer.id => customer.manager_id().is_none(),
                    Some(login) => {
                        customer.managers_above().iter().any(|above| above == login)
                            && config.accessible_customers.iter().any(|id| id == login)
                    }
                };
                if !allowed {
                    return Err(AdsError::permission_denied().into());
                }
                if customer.status != CustomerStatus::Enabled {
                    return Err(AdsError::customer_not_enabled().into());
                }
                Some(customer)
            }
        };
        let app_key = format!("app:{}", developer_token.as_deref().unwrap_or("-"));
        let daily_key = format!("daily:{}", developer_token.as_deref().unwrap_or("-"));
        let mut limits = vec![
            Limit {
                key: &daily_key,
                max_calls: config.daily_operations,
                window: Duration::from_secs(24 * 3600),
            },
            Limit {
                key: &app_key,
                max_calls: config.requests_per_window_per_developer_token,
                window: config.rate_window,
            },
        ];
        let customer_key = customer.as_ref().map(|c| format!("customer:{}", c.id));
        if let Some(key) = &customer_key {
            limits.push(Limit {
                key,
                max_calls: config.requests_per_window_per_customer,
                window: config.rate_window,
            });
        }
        if let Err(refused) = state.calls.admit(sandbox.limits_now(), &limits) {
            return Err(match refused.index {
                0 => AdsError::daily_quota_exhausted(),
                1 => AdsError::temporarily_exhausted(
                    "DEVELOPER",
                    "Requests per developer token",
                    refused.retry_after,
                ),
                _ => AdsError::temporarily_exhausted(
                    "ACCOUNT",
                    "Requests per account",
                    refused.retry_after,
                ),
            }
            .into());
        }
        Ok(Admitted {
            version,
            request_id: self.request_id.clone(),
            customer,
        })
    }

    /// Renders a rejection and marks it for the request log.
    pub(crate) fn reject(self, sandbox: &Sandbox, rejection: Rejection) -> Response {
        let response = match rejection {
            Rejection::Error(error) => {
                let version = self
                    .version
                    .unwrap_or(sandbox.google_ads().config.latest_version);
                if self.route == search::ROUTE {
                    error.into_stream_response(version, &self.request_id)
                } else {
                    error.into_response(version, &self.request_id)
                }
            }
            Rejection::UnknownRoute => return unknown_route(sandbox, &self.path),
        };
        self.finish(response)
    }

    /// Marks the response with what was served, for the request log.
    pub(crate) fn finish(self, response: Response) -> Response {
        Handled {
            connector: Connector::GoogleAds,
            route: self.route,
            account_id: self
                .customer_id
                .filter(|id| vocabulary::is_valid_customer_id(id)),
            fault: self.fault.map(|fired| fired.kind),
        }
        .attach(response)
    }
}

/// A header's text, trimmed; empty values count as missing.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// The bearer token: `None` without an `Authorization` header, `Err` when the header is not a
/// bearer token.
fn bearer_token(headers: &HeaderMap) -> Option<Result<String, ()>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let Ok(text) = value.to_str() else {
        return Some(Err(()));
    };
    Some(
        text.trim()
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned())
            .filter(|token| !token.is_empty())
            .ok_or(()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn versions_parse_only_in_google_shape() {
        assert_eq!(parse_version("v21"), Some(21));
        assert_eq!(parse_version("v21.0"), None);
        assert_eq!(parse_version("21"), None);
        assert_eq!(parse_version("v"), None);
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer ya29.x"),
        );
        assert_eq!(bearer_token(&headers), Some(Ok("ya29.x".to_owned())));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), Some(Err(())));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&headers), Some(Err(())));
    }
}
