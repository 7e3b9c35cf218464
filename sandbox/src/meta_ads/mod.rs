//! Meta (Facebook) Marketing API: the Ad Account node and its synchronous Insights edge, served
//! under `/meta_ads` in Meta's own wire format (see `PLATFORMS.md` section 1).
//!
//! Every request first goes through `Prelude`, which applies the checks common to all Graph
//! calls in Meta's order: injected faults, the API version, the access token, then the ad account
//! id. The endpoint handlers only deal with their own parameters.
//!
//! Layout: `data` (deterministic accounts and metrics, the truth tests compare against),
//! `errors` (error bodies), `usage` (rolling-hour rate limits and usage headers), `insights` and
//! `ad_account` (the endpoints), `oauth` (the long-lived token exchange), `control` (the sandbox-only routes under `/_sandbox/meta_ads`).

mod ad_account;
mod control;
mod data;
mod errors;
mod insights;
mod oauth;
mod usage;

use axum::Router;
use axum::http::{HeaderMap, Uri, header};
use axum::response::Response;
use axum::routing::get;

pub use data::{
    AccountFacts, AdFacts, AdSetFacts, CampaignFacts, CampaignStart, Currency, EMPTY_ACCOUNT_ID,
    EntityTruth, Level, Metrics, REACHABLE_ACCOUNT_IDS, TIME_ZONES, TimeIncrement, TruthRow,
    account, ad_day_metrics, entities_truth, insights_truth, insights_truth_with,
    is_valid_account_id, reachable_accounts,
};

use crate::connector::Connector;
use crate::faults::{FaultKind, FiredFault};
use crate::requests::{Handled, UnknownRoute};
use crate::state::Sandbox;
use crate::tokens::TokenStatus;
use errors::MetaError;

/// What an account id looks like, for error messages.
pub const ACCOUNT_ID_SHAPE: &str = "digits, without act_";

/// The oldest Graph API version the sandbox serves (`v20.0`).
pub const OLDEST_VERSION: u32 = 20;
/// The newest Graph API version the sandbox serves (`v26.0`).
pub const LATEST_VERSION: u32 = 26;

/// Meta settings of a sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaAdsConfig {
    /// Insights calls one ad account may make per rolling hour before code 80000.
    pub calls_per_hour_per_account: u32,
    /// Insights calls the app may make per rolling hour, over all accounts, before code 4.
    pub calls_per_hour_per_app: u32,
}

impl Default for MetaAdsConfig {
    fn default() -> Self {
        Self {
            calls_per_hour_per_account: 1_000,
            calls_per_hour_per_app: 100_000,
        }
    }
}

/// Meta's mutable state inside a sandbox.
#[derive(Debug)]
pub(crate) struct MetaAdsState {
    config: MetaAdsConfig,
    usage: usage::UsageTracker,
}

impl MetaAdsState {
    pub(crate) fn new(config: MetaAdsConfig) -> Self {
        Self {
            config,
            usage: usage::UsageTracker::default(),
        }
    }
}

/// The platform routes, to be nested under `/meta_ads`.
pub(crate) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/{version}/{node}", get(ad_account::handler))
        .route("/{version}/{node}/insights", get(insights::handler))
        .route("/{version}/oauth/access_token", get(oauth::handler))
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

/// Why a request did not pass the common checks.
#[derive(Debug)]
pub(crate) enum Rejection {
    /// The path is not one the sandbox serves.
    UnknownRoute,
    /// A Graph error; `blocked` reports the account as throttled in the usage headers.
    Error { error: MetaError, blocked: bool },
}

/// A request that passed the common checks.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) account: AccountFacts,
}

/// The common part of every Graph request, from route match to the endpoint's own logic.
#[derive(Debug)]
pub(crate) struct Prelude {
    route: &'static str,
    /// `None` when the path is not shaped like one of our routes (e.g. not a version, or a node
    /// that is not an ad account): the request is then an unknown route.
    shape: Option<Shape>,
    path: String,
    fault: Option<FiredFault>,
}

#[derive(Debug)]
struct Shape {
    version: (u32, u32),
    node: String,
    /// The account id if the node is `act_<digits>`.
    account_id: Option<String>,
    /// Whether the endpoint reports usage headers (the insights edge does).
    usage_headers: bool,
}

impl Prelude {
    /// Recognises the route and consumes a matching fault; sleeps for a slow fault.
    pub(crate) async fn begin(
        sandbox: &Sandbox,
        route: &'static str,
        version: &str,
        node: &str,
        uri: &Uri,
    ) -> Self {
        let shape = parse_version(version).and_then(|version| {
            let account = node.strip_prefix("act_")?;
            Some(Shape {
                version,
                node: node.to_owned(),
                account_id: is_valid_account_id(account).then(|| account.to_owned()),
                usage_headers: route == insights::ROUTE,
            })
        });
        let fault = match &shape {
            Some(shape) => sandbox.take_fault(Connector::MetaAds, shape.account_id.as_deref()),
            None => None,
        };
        if let Some(fired) = fault
            && fired.kind == FaultKind::Slow
        {
            tokio::time::sleep(fired.delay).await;
        }
        Self {
            route,
            shape,
            path: uri.path().to_owned(),
            fault,
        }
    }

    /// Applies the checks common to all Graph calls.
    pub(crate) fn check(
        &self,
        sandbox: &Sandbox,
        headers: &HeaderMap,
        params: &[(String, String)],
    ) -> Result<Call, Rejection> {
        let Some(shape) = &self.shape else {
            return Err(Rejection::UnknownRoute);
        };
        if let Some(fired) = self.fault {
            let error = match fired.kind {
                FaultKind::Throttle => Some(MetaError::account_throttled()),
                FaultKind::ServerError => Some(MetaError::server_error()),
                FaultKind::ExpiredToken => Some(MetaError::expired_token(sandbox.now())),
                FaultKind::RevokedToken => {
                    if let Some(token) = access_token(headers, params) {
                        sandbox.revoke_token(Connector::MetaAds, &token);
                    }
                    Some(MetaError::revoked_token())
                }
                FaultKind::ReduceData => Some(MetaError::reduce_data()),
                FaultKind::Malformed | FaultKind::Slow => None,
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
        let Some(token) = access_token(headers, params) else {
            return refuse(MetaError::missing_token());
        };
        match sandbox.token_status(Connector::MetaAds, &token) {
            TokenStatus::Valid => {}
            TokenStatus::Expired => return refuse(MetaError::expired_token(sandbox.now())),
            TokenStatus::Revoked => return refuse(MetaError::revoked_token()),
        }
        match shape.account_id.as_deref().and_then(account) {
            Some(account) => Ok(Call { account }),
            None => refuse(MetaError::unknown_object(&shape.node)),
        }
    }

    /// Renders a rejection (with usage headers where the endpoint has them) and marks it for the
    /// request log.
    pub(crate) fn reject(self, sandbox: &Sandbox, rejection: Rejection) -> Response {
        let response = match (rejection, &self.shape) {
            (Rejection::Error { error, blocked }, Some(shape)) => {
                let mut response = error.into_response(sandbox);
                if shape.usage_headers
                    && let Some(account_id) = &shape.account_id
                {
                    let state = sandbox.meta_ads();
                    let mut usage = state
                        .usage
                        .snapshot(account_id, sandbox.now(), &state.config);
                    if blocked {
                        usage = usage.blocked();
                    }
                    usage.write_headers(account_id, response.headers_mut());
                }
                response
            }
            (Rejection::UnknownRoute, _) | (_, None) => unknown_route(sandbox, &self.path),
        };
        self.finish(response)
    }

    /// Marks the response with what was served, for the request log.
    pub(crate) fn finish(self, response: Response) -> Response {
        match self.shape {
            Some(shape) => Handled {
                connector: Connector::MetaAds,
                route: self.route,
                account_id: shape.account_id,
                fault: self.fault.map(|fired| fired.kind),
            }
            .attach(response),
            None => UnknownRoute {
                connector: Some(Connector::MetaAds),
            }
            .attach(response),
        }
    }
}

/// The access token from the `access_token` parameter or an `Authorization: Bearer`/`OAuth`
/// header; empty tokens count as missing.
fn access_token(headers: &HeaderMap, params: &[(String, String)]) -> Option<String> {
    let from_query = params
        .iter()
        .rev()
        .find(|(name, _)| name == "access_token")
        .map(|(_, value)| value.trim().to_owned());
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
}
