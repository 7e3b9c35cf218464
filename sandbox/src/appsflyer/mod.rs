//! AppsFlyer: the Pull API's aggregate reports (CSV per app and date range) and the management
//! API's app list, served under `/appsflyer/api` in AppsFlyer's own wire format (see
//! `docs/platforms.md`). `https://hq1.appsflyer.com/api/agg-data/export/app/id1/partners_by_date_report/v5`
//! becomes `/appsflyer/api/agg-data/export/app/id1/partners_by_date_report/v5`.
//!
//! Every request first goes through `Prelude`: injected faults, then the API V2 token
//! (`Authorization: Bearer`; static tokens, so a refused one is HTTP 401 whether it was revoked
//! or is unknown to AppsFlyer). The endpoints then check the app, their parameters and the
//! quotas. Raw-data reports are not modelled: their paths are unknown routes.
//!
//! Layout: `vocabulary` (its words, currencies and special ids), `world` (deterministic apps and
//! cohort numbers), `truth` (what tests compare against),
//! `csv` (the report format), `errors` (error answers), `quota` (daily and per-minute quotas),
//! `export` (the aggregate reports), `apps` (the app list), `control` (the sandbox-only routes
//! under `/_sandbox/appsflyer`).

mod apps;
mod control;
mod csv;
mod errors;
mod export;
mod quota;
mod truth;
mod vocabulary;
mod world;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;

pub use crate::facts::{CampaignStart, Currency};
pub use truth::{ReportRow, Selection, report_rows, report_truth};
pub use vocabulary::{
    AppPlatform, COHORT_HORIZON_DAYS, EVENTS, INSTALL_HORIZON_DAYS, NO_DELIVERY_APP_ID, ORGANIC,
    Report, TIME_ZONES, UNKNOWN_APP_ID, is_valid_account_id,
};
pub use world::{
    AppFacts, CampaignFacts, LISTED_APP_IDS, Numbers, app, cell_numbers, has_delivery,
    numbered_account,
};

use crate::connector::Connector;
use crate::faults::{FaultKind, FiredFault};
use crate::requests::{Handled, UnknownRoute};
use crate::state::Sandbox;
use crate::tokens::TokenStatus;
use errors::AppsflyerError;

/// Whether a throttle answer here is a quota that lasts until the next 00:00 UTC: AppsFlyer's
/// "Limit reached" is its daily quota.
pub const THROTTLE_IS_A_DAILY_QUOTA: bool = true;

/// What an account id looks like, for error messages.
pub const ACCOUNT_ID_SHAPE: &str =
    "an app id: id followed by digits (iOS) or a package name (Android)";

/// AppsFlyer settings of a sandbox: the quotas (AppsFlyer's documented defaults) and how slow
/// large reports are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppsflyerConfig {
    /// Aggregate calls over three days or more, per app and report, per UTC day.
    pub daily_calls_per_app_report: u32,
    /// Aggregate calls over three days or more, per account (token), per UTC day.
    pub daily_calls_per_account: u32,
    /// Aggregate calls over one or two days, per app and report, per minute.
    pub short_range_calls_per_minute: u32,
    /// Aggregate calls per account (token) per second before HTTP 429.
    pub calls_per_second_per_account: u32,
    /// App list calls per account per minute.
    pub app_list_calls_per_minute: u32,
    /// App list calls per account per UTC day.
    pub app_list_calls_per_day: u32,
    /// The longest `from`..`to` range an aggregate report accepts, in days.
    pub max_range_days: u32,
    /// How long building a report takes per 1,000 rows (large CSVs are slow).
    pub delay_per_1000_rows: Duration,
}

impl Default for AppsflyerConfig {
    fn default() -> Self {
        Self {
            daily_calls_per_app_report: 24,
            daily_calls_per_account: 120,
            short_range_calls_per_minute: 1,
            calls_per_second_per_account: 10,
            app_list_calls_per_minute: 20,
            app_list_calls_per_day: 100,
            max_range_days: 93,
            delay_per_1000_rows: Duration::ZERO,
        }
    }
}

/// This platform's mutable state inside a sandbox.
#[derive(Debug)]
pub(crate) struct AppsflyerState {
    config: AppsflyerConfig,
    quotas: quota::Quotas,
}

impl AppsflyerState {
    pub(crate) fn new(config: AppsflyerConfig) -> Self {
        Self {
            config,
            quotas: quota::Quotas::default(),
        }
    }
}

/// The platform routes, to be nested under `/appsflyer`.
pub(crate) fn router() -> Router<Sandbox> {
    Router::new()
        .route(
            "/api/agg-data/export/app/{app_id}/{report}/v5",
            get(export::handler),
        )
        .route("/api/mng/apps", get(apps::handler))
}

/// The sandbox-only routes, to be nested under `/_sandbox/appsflyer`.
pub(crate) fn control_router() -> Router<Sandbox> {
    control::router()
}

/// The answer to a request under `/appsflyer` that matches no route: AppsFlyer's 404 page.
pub(crate) fn unknown_route(_sandbox: &Sandbox, _path: &str) -> Response {
    UnknownRoute {
        connector: Some(Connector::Appsflyer),
    }
    .attach(AppsflyerError::AppNotFound.into_response())
}

/// A request that passed the common checks: the token it presented.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) token: String,
}

/// The common part of every AppsFlyer request.
#[derive(Debug)]
pub(crate) struct Prelude {
    route: &'static str,
    account_id: Option<String>,
    fault: Option<FiredFault>,
}

impl Prelude {
    /// Consumes a matching fault (for `account_id` when it is a well-formed app id) and sleeps
    /// for a slow one.
    pub(crate) async fn begin(
        sandbox: &Sandbox,
        route: &'static str,
        account_id: Option<&str>,
    ) -> Self {
        let account_id = account_id
            .filter(|id| is_valid_account_id(id))
            .map(str::to_owned);
        let fault = sandbox.take_fault(Connector::Appsflyer, account_id.as_deref());
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

    /// Whether the fault that fired asks for a malformed body.
    pub(crate) fn malformed(&self) -> bool {
        self.fault
            .is_some_and(|fired| fired.kind == FaultKind::Malformed)
    }

    /// Answers the fault, then checks the token. `throttled` is the endpoint's throttle answer.
    pub(crate) fn check(
        &self,
        sandbox: &Sandbox,
        headers: &HeaderMap,
        throttled: AppsflyerError,
    ) -> Result<Call, AppsflyerError> {
        if let Some(fired) = self.fault {
            let error = match fired.kind {
                FaultKind::Throttle => Some(throttled),
                FaultKind::ServerError => Some(AppsflyerError::ServerError),
                // API tokens do not expire by time; AppsFlyer refuses a dead one with 401.
                FaultKind::ExpiredToken => Some(AppsflyerError::Unauthorized),
                FaultKind::RevokedToken => {
                    if let Some(token) = bearer_token(headers) {
                        sandbox.revoke_token(Connector::Appsflyer, &token);
                    }
                    Some(AppsflyerError::Unauthorized)
                }
                FaultKind::ReduceData => Some(AppsflyerError::GatewayTimeout),
                FaultKind::Malformed | FaultKind::Slow => None,
            };
            if let Some(error) = error {
                return Err(error);
            }
        }
        let token = bearer_token(headers).ok_or(AppsflyerError::Unauthorized)?;
        match sandbox.token_status(Connector::Appsflyer, &token) {
            TokenStatus::Valid => Ok(Call { token }),
            TokenStatus::Expired | TokenStatus::Revoked => Err(AppsflyerError::Unauthorized),
        }
    }

    /// Marks the response with what was served, for the request log.
    pub(crate) fn finish(self, response: Response) -> Response {
        Handled {
            connector: Connector::Appsflyer,
            route: self.route,
            account_id: self.account_id,
            fault: self.fault.map(|fired| fired.kind),
        }
        .attach(response)
    }
}

/// The token of an `Authorization: Bearer <token>` header; empty tokens count as missing.
fn bearer_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_owned())
        })
        .filter(|token| !token.is_empty())
}

/// The last value of query parameter `name`.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
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
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer  "));
        assert_eq!(bearer_token(&headers), None);
    }
}
