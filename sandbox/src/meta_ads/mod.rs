//! Meta (Facebook) Marketing API, served under `/meta_ads` in Meta's own wire format (see
//! `docs/platforms.md`): the Ad Account node, its Insights edge (synchronous `GET`, and
//! asynchronous report runs created with `POST`, polled at `/{report_run_id}` and read at
//! `/{report_run_id}/insights`), its `campaigns`, `adsets` and `ads` edges, `/me/adaccounts`,
//! and the OAuth token endpoint (code exchange and long-lived token exchange).
//!
//! Every request first goes through `Prelude`, which applies the checks common to all Graph
//! calls in Meta's order: injected faults, the API version, the access token, the node (ad
//! account, report run or `me`), then the rate limits of its Business Use Case. The endpoint
//! handlers only deal with their own parameters.
//!
//! Layout: `vocabulary` (its words, currencies and special ids), `world` (deterministic accounts,
//! entities and metrics), `truth` (what tests compare against), `breakdowns` (breakdown combinations and the split of a day into cells), `errors`
//! (error bodies), `usage` (rolling-hour rate limits and usage headers), `paging` (cursors),
//! `insights`, `report_runs`, `entities` and `ad_account` (the endpoints), `oauth` (the token
//! endpoint), `control` (the sandbox-only routes under `/_sandbox/meta_ads`).
//!
//! Faults: `throttle` (code 80000, or 80004 on entity edges, with usage headers whose
//! `estimated_time_to_regain_access` says when to come back), `server_error` (HTTP 500 code 2),
//! `expired_token` (190/463), `revoked_token` (190/460, and the grant is revoked), `reduce_data`
//! (HTTP 500 code 1 "Please reduce the amount of data you're asking for"), `malformed` (a 200
//! whose first row has a field that breaks the format: a metric such as `"spend": "12,34x"` on an
//! insights page, a budget on an entity page, the percentage of a report run), `slow`. On a
//! report run poll, `server_error` makes the run end `Job Failed` and `reduce_data` makes it end
//! `Job Skipped` (Meta reports the failures of its async backend in the run, not on the poll); a
//! `malformed` fault on a run's creation breaks the first page of its results.

mod ad_account;
mod breakdowns;
mod control;
mod entities;
mod errors;
mod insights;
mod oauth;
mod paging;
mod report_runs;
mod truth;
mod usage;
mod vocabulary;
mod world;

use std::collections::HashSet;
use std::sync::Mutex;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::Response;
use axum::routing::{any, get};

pub use crate::facts::{CampaignStart, Currency};
pub use breakdowns::{AGES, Breakdown, GENDERS, PLACEMENTS, is_allowed_combination};
pub use entities::{EntityKind, EntityRow, entities_truth};
pub use truth::{RowsQuery, TruthRow, insights_truth, insights_truth_for, insights_truth_with};
pub use vocabulary::{
    Budget, CONTROL_NAMES_ACCOUNT_ID, EMPTY_ACCOUNT_ID, Level, RESTATEMENT_HORIZON_DAYS, Status,
    TIME_ZONES, TimeIncrement, is_valid_account_id,
};
pub use world::{
    AccountFacts, AdFacts, AdSetFacts, CampaignFacts, CreativeFacts, Metrics,
    REACHABLE_ACCOUNT_IDS, account, ad_day_metrics, numbered_account, reachable_accounts,
};

use crate::connector::Connector;
use crate::faults::{FaultKind, FiredFault};
use crate::requests::{Handled, UnknownRoute};
use crate::state::{Sandbox, lock};
use crate::tokens::TokenStatus;
use errors::MetaError;
use usage::{Admission, UseCase};

/// Whether a throttle answer here is a quota that lasts until the next 00:00 UTC.
pub const THROTTLE_IS_A_DAILY_QUOTA: bool = false;

/// What an account id looks like, for error messages.
pub const ACCOUNT_ID_SHAPE: &str = "digits, without act_";

/// The oldest Graph API version the sandbox serves (`v20.0`).
pub const OLDEST_VERSION: u32 = 20;
/// The newest Graph API version the sandbox serves (`v26.0`).
pub const LATEST_VERSION: u32 = 26;

/// Meta settings of a sandbox. Meta counts calls per ad account and Business Use Case
/// (`ads_insights`: insights, report runs; `ads_management`: the entity edges) and per app, over
/// a rolling hour; a full budget answers code 80000/80004 (account) or 4 (app).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaAdsConfig {
    /// Calls one ad account may make per rolling hour and use case, before counting its active
    /// ads. Default 1,000: Meta's development tier, `600 + 400 × active ads`, for one active ad
    /// (the standard tier is `190,000 + 400 × active ads`).
    pub calls_per_hour_per_account: u32,
    /// Calls per rolling hour added for each active ad of the account (Meta: 400). Default 0,
    /// so that every account has the same budget unless a benchmark asks for Meta's formula.
    pub calls_per_hour_per_active_ad: u32,
    /// Calls the app may make per rolling hour, over all accounts, before code 4. Default
    /// 100,000 (Meta's Graph platform limit is 200 × daily active users).
    pub calls_per_hour_per_app: u32,
    /// The most rows a synchronous insights request may produce (over all its pages); a larger
    /// one is answered HTTP 500 code 1 "Please reduce the amount of data you're asking for", and
    /// the client must ask for less or use a report run. Default 10,000.
    pub max_sync_rows: usize,
    /// How many polls a report run answers before `Job Completed` (the first poll says `Job Not
    /// Started`, the second `Job Started`, later ones `Job Running` with a growing percentage).
    /// 0 completes runs at once. Default 3.
    pub report_run_polls: u32,
    /// The ad accounts `/me/adaccounts` lists for every token, in order. Default:
    /// [`REACHABLE_ACCOUNT_IDS`] (1001, 1002, 1100 and [`EMPTY_ACCOUNT_ID`]).
    pub me_accounts: Vec<String>,
}

impl Default for MetaAdsConfig {
    fn default() -> Self {
        Self {
            calls_per_hour_per_account: 1_000,
            calls_per_hour_per_active_ad: 0,
            calls_per_hour_per_app: 100_000,
            max_sync_rows: 10_000,
            report_run_polls: 3,
            me_accounts: REACHABLE_ACCOUNT_IDS
                .iter()
                .map(|id| (*id).to_owned())
                .collect(),
        }
    }
}

/// Meta's mutable state inside a sandbox.
#[derive(Debug)]
pub(crate) struct MetaAdsState {
    config: MetaAdsConfig,
    usage: usage::UsageTracker,
    runs: report_runs::RunRegistry,
    /// Authorization codes already exchanged (a code works once).
    used_codes: Mutex<HashSet<String>>,
}

impl MetaAdsState {
    pub(crate) fn new(config: MetaAdsConfig) -> Self {
        Self {
            config,
            usage: usage::UsageTracker::default(),
            runs: report_runs::RunRegistry::default(),
            used_codes: Mutex::new(HashSet::new()),
        }
    }

    /// Marks `code` as used; false if it was used before.
    fn use_code(&self, code: &str) -> bool {
        lock(&self.used_codes).insert(code.to_owned())
    }
}

/// The platform routes, to be nested under `/meta_ads`.
pub(crate) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/{version}/oauth/access_token", get(oauth::handler))
        .route("/{version}/{node}", get(node_handler))
        .route("/{version}/{node}/{edge}", any(edge_handler))
}

/// `GET /v{N}/{node}`: an ad account (`act_<id>`) or a report run (its id).
async fn node_handler(
    State(sandbox): State<Sandbox>,
    OriginalUri(uri): OriginalUri,
    Path((version, node)): Path<(String, String)>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let params = query.map(|q| q.0).unwrap_or_default();
    let request = Request {
        sandbox: &sandbox,
        uri: &uri,
        version: &version,
        node: &node,
        headers: &headers,
        params: &params,
    };
    if node.starts_with("act_") {
        ad_account::handler(request).await
    } else if is_digits(&node) {
        report_runs::status_handler(request).await
    } else {
        unknown_route(&sandbox, uri.path())
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// `/v{N}/{node}/{edge}`: the insights edge of an ad account (`GET` sync, `POST` report run) or
/// of a report run, the entity edges of an ad account, and `/me/adaccounts`.
async fn edge_handler(
    State(sandbox): State<Sandbox>,
    OriginalUri(uri): OriginalUri,
    method: Method,
    Path((version, node, edge)): Path<(String, String, String)>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    body: Bytes,
) -> Response {
    let mut params = query.map(|q| q.0).unwrap_or_default();
    if method == Method::POST {
        params.extend(form_params(&headers, &body));
    }
    let request = Request {
        sandbox: &sandbox,
        uri: &uri,
        version: &version,
        node: &node,
        headers: &headers,
        params: &params,
    };
    let is_account = node.starts_with("act_");
    let is_run = is_digits(&node);
    match (method.as_str(), edge.as_str()) {
        ("GET", "insights") if is_account => insights::sync_handler(request).await,
        ("POST", "insights") if is_account => report_runs::create_handler(request).await,
        ("GET", "insights") if is_run => report_runs::results_handler(request).await,
        ("GET", "campaigns") if is_account => {
            entities::handler(request, EntityKind::Campaign).await
        }
        ("GET", "adsets") if is_account => entities::handler(request, EntityKind::AdSet).await,
        ("GET", "ads") if is_account => entities::handler(request, EntityKind::Ad).await,
        ("GET", "adaccounts") if node == "me" => ad_account::list_handler(request).await,
        ("DELETE", "permissions") if node == "me" => oauth::revoke(&sandbox, &headers, &params),
        _ => unknown_route(&sandbox, uri.path()),
    }
}

/// Parameters of a form-encoded `POST` body (the way Meta's SDKs send them).
fn form_params(headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !is_form || body.is_empty() {
        return Vec::new();
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return Vec::new();
    };
    let Ok(uri) = format!("/?{text}").parse::<Uri>() else {
        return Vec::new();
    };
    Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|query| query.0)
        .unwrap_or_default()
}

/// One request to an edge, as the endpoint handlers get it.
pub(crate) struct Request<'a> {
    pub(crate) sandbox: &'a Sandbox,
    pub(crate) uri: &'a Uri,
    pub(crate) version: &'a str,
    pub(crate) node: &'a str,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) params: &'a [(String, String)],
}

/// The sandbox-only routes, to be nested under `/_sandbox/meta_ads`.
pub(crate) fn control_router() -> Router<Sandbox> {
    control::router()
}

/// The answer to a request under `/meta_ads` that matches no route.
pub(crate) fn unknown_route(sandbox: &Sandbox, path: &str) -> Response {
    let inner = path
        .strip_prefix(Connector::MetaAds.prefix())
        .unwrap_or(path);
    let response = MetaError::unknown_path(inner).into_response(sandbox);
    UnknownRoute {
        connector: Some(Connector::MetaAds),
    }
    .attach(response)
}

/// `v24.0` → `Some(24)`; anything not shaped like a Graph version → `None`.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.strip_prefix('v')?.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || !digits(minor) {
        return None;
    }
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The last value of parameter `name`.
pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Why a request did not pass the common checks.
#[derive(Debug)]
pub(crate) enum Rejection {
    /// The path is not one the sandbox serves.
    UnknownRoute,
    /// A Graph error; `blocked` reports the account as throttled in the usage headers.
    Error { error: MetaError, blocked: bool },
}

/// The node a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// `act_<id>`: the id, if it is a valid one.
    Account(Option<String>),
    /// A report run id and the account it belongs to (`None`: no such run).
    ReportRun {
        id: String,
        account_id: Option<String>,
    },
    /// `me`: the user the token belongs to.
    Me,
}

/// A request that passed the common checks.
#[derive(Debug)]
pub(crate) struct Call {
    /// The ad account (of the node, or of the report run); `None` for `me`.
    pub(crate) account: Option<AccountFacts>,
    /// A fault the endpoint applies itself: `malformed` (break the body) and, on a report run
    /// poll, `server_error` / `reduce_data` (the run fails).
    pub(crate) fault: Option<FaultKind>,
    /// The Graph API major version of the path.
    pub(crate) major_version: u32,
}

/// The common part of every Graph request, from route match to the endpoint's own logic.
#[derive(Debug)]
pub(crate) struct Prelude {
    route: &'static str,
    /// `None` when the path is not shaped like one of our routes (e.g. not a version): the
    /// request is then an unknown route.
    shape: Option<Shape>,
    path: String,
    fault: Option<FiredFault>,
}

#[derive(Debug)]
struct Shape {
    version: (u32, u32),
    node_text: String,
    node: Node,
    /// The Business Use Case the call counts against; `None` for calls Meta does not meter
    /// per account here (the ad account node).
    use_case: Option<UseCase>,
    /// Whether a `server_error` or `reduce_data` fault makes the report run fail instead.
    run_poll: bool,
}

impl Shape {
    fn account_id(&self) -> Option<&str> {
        match &self.node {
            Node::Account(id) => id.as_deref(),
            Node::ReportRun { account_id, .. } => account_id.as_deref(),
            Node::Me => None,
        }
    }
}

/// How a route uses the common checks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteKind {
    pub(crate) route: &'static str,
    pub(crate) use_case: Option<UseCase>,
    pub(crate) run_poll: bool,
}

impl Prelude {
    /// Recognises the route and consumes a matching fault; sleeps for a slow fault.
    pub(crate) async fn begin(sandbox: &Sandbox, kind: RouteKind, request: &Request<'_>) -> Self {
        let node_text = request.node;
        let node = if let Some(account) = node_text.strip_prefix("act_") {
            Some(Node::Account(
                is_valid_account_id(account).then(|| account.to_owned()),
            ))
        } else if node_text == "me" {
            Some(Node::Me)
        } else if is_digits(node_text) {
            Some(Node::ReportRun {
                id: node_text.to_owned(),
                account_id: sandbox.meta_ads().runs.account_of(node_text),
            })
        } else {
            None
        };
        let shape = parse_version(request.version)
            .zip(node)
            .map(|(version, node)| Shape {
                version,
                node_text: node_text.to_owned(),
                node,
                use_case: kind.use_case,
                run_poll: kind.run_poll,
            });
        let fault = match &shape {
            Some(shape) => sandbox.take_fault(Connector::MetaAds, shape.account_id()),
            None => None,
        };
        if let Some(fired) = fault
            && fired.kind == FaultKind::Slow
        {
            tokio::time::sleep(fired.delay).await;
        }
        Self {
            route: kind.route,
            shape,
            path: request.uri.path().to_owned(),
            fault,
        }
    }

    /// Applies the checks common to all Graph calls.
    pub(crate) fn check(
        &self,
        sandbox: &Sandbox,
        request: &Request<'_>,
    ) -> Result<Call, Rejection> {
        let Some(shape) = &self.shape else {
            return Err(Rejection::UnknownRoute);
        };
        let mut passed_fault = None;
        if let Some(fired) = self.fault {
            let error = match fired.kind {
                FaultKind::Throttle => Some(if shape.node == Node::Me {
                    MetaError::user_throttled()
                } else {
                    MetaError::account_throttled(shape.use_case.unwrap_or(UseCase::AdsInsights))
                }),
                FaultKind::ServerError | FaultKind::ReduceData if shape.run_poll => {
                    passed_fault = Some(fired.kind);
                    None
                }
                FaultKind::ServerError => Some(MetaError::server_error()),
                FaultKind::ReduceData => Some(MetaError::reduce_data()),
                FaultKind::ExpiredToken => Some(MetaError::expired_token(sandbox.now())),
                FaultKind::RevokedToken => {
                    if let Some(token) = access_token(request.headers, request.params) {
                        sandbox.revoke_token(Connector::MetaAds, &token);
                    }
                    Some(MetaError::revoked_token())
                }
                FaultKind::Malformed => {
                    passed_fault = Some(fired.kind);
                    None
                }
                FaultKind::Slow => None,
            };
            if let Some(error) = error {
                let blocked = fired.kind == FaultKind::Throttle;
                return Err(Rejection::Error { error, blocked });
            }
        }
        let refuse = |error| {
            Err(Rejection::Error {
                error,
                blocked: false,
            })
        };
        let (major, minor) = shape.version;
        if minor != 0 || !(OLDEST_VERSION..=LATEST_VERSION).contains(&major) {
            return refuse(MetaError::deprecated_version(&format!(
                "v{LATEST_VERSION}.0"
            )));
        }
        let Some(token) = access_token(request.headers, request.params) else {
            return refuse(MetaError::missing_token());
        };
        match sandbox.token_status(Connector::MetaAds, &token) {
            TokenStatus::Valid => {}
            TokenStatus::Expired => return refuse(MetaError::expired_token(sandbox.now())),
            TokenStatus::Revoked => return refuse(MetaError::revoked_token()),
        }
        let call = |account| Call {
            account,
            fault: passed_fault,
            major_version: major,
        };
        match &shape.node {
            Node::Me => Ok(call(None)),
            Node::Account(id) => match id.as_deref().and_then(account) {
                Some(account) => Ok(call(Some(account))),
                None => refuse(MetaError::unknown_object(&shape.node_text)),
            },
            Node::ReportRun { account_id, .. } => match account_id.as_deref().and_then(account) {
                Some(account) => Ok(call(Some(account))),
                None => refuse(MetaError::unknown_object(&shape.node_text)),
            },
        }
    }

    /// Counts the call against its account's and the app's budgets.
    pub(crate) fn admit(&self, sandbox: &Sandbox, call: &Call) -> Result<(), Rejection> {
        let Some(shape) = &self.shape else {
            return Err(Rejection::UnknownRoute);
        };
        let Some(use_case) = shape.use_case else {
            return Ok(());
        };
        let state = sandbox.meta_ads();
        let now = sandbox.now();
        let admission = match &call.account {
            Some(account) => {
                let capacity = account_capacity(&state.config, account);
                state
                    .usage
                    .admit(&account.id, use_case, capacity, now, &state.config)
            }
            None => state.usage.admit_app(now, &state.config),
        };
        match admission {
            Admission::Admitted => Ok(()),
            Admission::AccountThrottled => Err(Rejection::Error {
                error: MetaError::account_throttled(use_case),
                blocked: false,
            }),
            Admission::AppThrottled => Err(Rejection::Error {
                error: MetaError::app_throttled(),
                blocked: false,
            }),
        }
    }

    /// Renders a rejection (with usage headers where the endpoint has them) and marks it for the
    /// request log.
    pub(crate) fn reject(self, sandbox: &Sandbox, rejection: Rejection) -> Response {
        let response = match (rejection, &self.shape) {
            (Rejection::Error { error, blocked }, Some(_)) => {
                let response = error.into_response(sandbox);
                self.with_usage(sandbox, response, blocked)
            }
            (Rejection::UnknownRoute, _) | (_, None) => unknown_route(sandbox, &self.path),
        };
        self.finish_plain(response)
    }

    /// Adds the usage headers (for metered routes) and marks the response for the request log.
    pub(crate) fn finish(self, sandbox: &Sandbox, response: Response) -> Response {
        let response = self.with_usage(sandbox, response, false);
        self.finish_plain(response)
    }

    fn with_usage(&self, sandbox: &Sandbox, mut response: Response, blocked: bool) -> Response {
        let Some(shape) = &self.shape else {
            return response;
        };
        let Some(use_case) = shape.use_case else {
            return response;
        };
        let state = sandbox.meta_ads();
        let now = sandbox.now();
        match shape.account_id().and_then(account) {
            Some(account) => {
                let capacity = account_capacity(&state.config, &account);
                let mut usage =
                    state
                        .usage
                        .snapshot(&account.id, use_case, capacity, now, &state.config);
                if blocked {
                    usage = usage.blocked();
                }
                usage.write_headers(&account.id, response.headers_mut());
            }
            None => {
                let usage = state.usage.app_snapshot(now, &state.config);
                usage.write_app_header(response.headers_mut());
            }
        }
        response
    }

    /// Marks the response with what was served, for the request log.
    fn finish_plain(self, response: Response) -> Response {
        match self.shape {
            Some(shape) => Handled {
                connector: Connector::MetaAds,
                route: self.route,
                account_id: shape.account_id().map(str::to_owned),
                fault: self.fault.map(|fired| fired.kind),
            }
            .attach(response),
            None => UnknownRoute {
                connector: Some(Connector::MetaAds),
            }
            .attach(response),
        }
    }

    /// Runs the common checks and the rate limits; `Err` is the finished rejection.
    pub(crate) async fn enter(
        sandbox: &Sandbox,
        kind: RouteKind,
        request: &Request<'_>,
    ) -> Result<(Prelude, Call), Response> {
        let prelude = Self::begin(sandbox, kind, request).await;
        let call = match prelude.check(sandbox, request) {
            Ok(call) => call,
            Err(rejection) => return Err(prelude.reject(sandbox, rejection)),
        };
        if let Err(rejection) = prelude.admit(sandbox, &call) {
            return Err(prelude.reject(sandbox, rejection));
        }
        Ok((prelude, call))
    }
}

/// An account's hourly budget per use case.
fn account_capacity(config: &MetaAdsConfig, account: &AccountFacts) -> u64 {
    let per_ad = u64::from(config.calls_per_hour_per_active_ad);
    let active_ads = u64::try_from(account.active_ads()).unwrap_or(u64::MAX);
    (u64::from(config.calls_per_hour_per_account) + per_ad.saturating_mul(active_ads)).max(1)
}

/// The access token from the `access_token` parameter or an `Authorization: Bearer`/`OAuth`
/// header; empty tokens count as missing.
fn access_token(headers: &HeaderMap, params: &[(String, String)]) -> Option<String> {
    let from_query = param(params, "access_token").map(|value| value.trim().to_owned());
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
                .then(|| token.trim().to_owned())
        });
    from_query
        .filter(|token| !token.is_empty())
        .or(from_header.filter(|token| !token.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn versions_parse_only_in_graph_shape() {
        assert_eq!(parse_version("v24.0"), Some((24, 0)));
        assert_eq!(parse_version("v3.3"), Some((3, 3)));
        assert_eq!(parse_version("24.0"), None);
        assert_eq!(parse_version("v24"), None);
        assert_eq!(parse_version("vx.0"), None);
    }

    #[test]
    fn tokens_come_from_the_query_or_the_authorization_header() {
        let query = vec![("access_token".to_owned(), "abc".to_owned())];
        assert_eq!(
            access_token(&HeaderMap::new(), &query).as_deref(),
            Some("abc")
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer xyz"),
        );
        assert_eq!(access_token(&headers, &[]).as_deref(), Some("xyz"));
        let empty = vec![("access_token".to_owned(), String::new())];
        assert_eq!(access_token(&HeaderMap::new(), &empty), None);
    }

    #[test]
    fn form_bodies_are_read_as_parameters() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let params = form_params(&headers, b"level=ad&time_range=%7B%22since%22%3A%221%22%7D");
        assert_eq!(
            params,
            vec![
                ("level".to_owned(), "ad".to_owned()),
                ("time_range".to_owned(), r#"{"since":"1"}"#.to_owned())
            ]
        );
        assert!(form_params(&HeaderMap::new(), b"level=ad").is_empty());
    }

    #[test]
    fn account_budgets_grow_with_active_ads_when_configured() {
        let account = account("123").unwrap();
        let config = MetaAdsConfig {
            calls_per_hour_per_account: 600,
            calls_per_hour_per_active_ad: 400,
            ..MetaAdsConfig::default()
        };
        assert!(account.active_ads() > 0);
        assert_eq!(
            account_capacity(&config, &account),
            600 + 400 * account.active_ads() as u64
        );
        assert_eq!(account_capacity(&MetaAdsConfig::default(), &account), 1_000);
    }
}
