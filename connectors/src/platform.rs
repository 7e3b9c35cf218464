//! What every connector shares for one job: the HTTP client with timeouts and quick retries of
//! single requests, the shared rate budgets taken before each request, the connection's tokens,
//! and a count of the calls made.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::config::PlatformConfig;
use backon::{ExponentialBuilder, Retryable};
use chrono::{DateTime, Utc};
use reqwest::{RequestBuilder, Response};
use shared::crypto::KeyRing;
use shared::db::Pool;
use shared::db::connections::Connection;
use shared::db::rate_budgets::Bucket;
use shared::domain::ConnectorKind;
use tracing::Instrument as _;

use crate::budget::{BudgetError, Budgets};
use crate::tokens::{TokenError, TokenSource};

/// How often a single request is tried when the network or a gateway fails.
const TRIES: usize = 3;

/// A request that could not be sent or answered.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(transparent)]
    Budget(#[from] BudgetError),
    /// The message carries the whole chain of causes (reqwest's own says only "error sending
    /// request"; the cause says refused, reset or timed out).
    #[error("request failed: {}", causes(.0))]
    Transport(#[source] reqwest::Error),
    /// No status and headers arrived within the timeout (streamed responses only).
    #[error("request failed: no answer within {0:?}")]
    Timeout(Duration),
    /// The request could not be built (a stored token that cannot go in a header, say):
    /// nothing was sent, so the platform is not at fault and trying again cannot help.
    #[error("the request could not be built, so nothing was sent to the platform: {}", causes(.0))]
    Build(#[source] reqwest::Error),
}

/// An error and its causes, `: `-separated, outermost first (a cause whose text its error
/// already ends with is not repeated).
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// One job's access to one platform.
pub struct Platform {
    pub connector: ConnectorKind,
    pub client: reqwest::Client,
    pub settings: PlatformConfig,
    /// The connection's platform settings (Google Ads' `login_customer_id`).
    pub connection_settings: serde_json::Value,
    pub tokens: TokenSource,
    budgets: Budgets,
    calls: Arc<AtomicU32>,
}

impl Platform {
    /// `calls` counts the requests sent (the caller keeps a clone to read it after a failure).
    pub fn new(
        connector: ConnectorKind,
        client: reqwest::Client,
        settings: PlatformConfig,
        connection_settings: serde_json::Value,
        tokens: TokenSource,
        budgets: Budgets,
        calls: Arc<AtomicU32>,
    ) -> Self {
        Self {
            connector,
            client,
            settings,
            connection_settings,
            tokens,
            budgets,
            calls,
        }
    }

    /// One job's (or one request's) access to the platform of `connection`: opens the
    /// connection's tokens, renewed by the platform's OAuth where it can, within the shared
    /// rate budgets. `calls` counts the requests sent.
    pub async fn open(
        client: reqwest::Client,
        settings: &crate::Settings,
        pool: Pool,
        keys: KeyRing,
        connection: &Connection,
        budgets: Budgets,
        calls: Arc<AtomicU32>,
    ) -> Result<Self, TokenError> {
        let connector = connection.connector;
        let settings = settings.platform(connector).clone();
        let tokens = TokenSource::open(
            pool,
            keys,
            connection.tenant_id,
            connection.id,
            connector.as_str(),
            crate::refresher(connector, client.clone(), settings.clone()),
            crate::refresh_margin(connector),
        )
        .await?;
        Ok(Self::new(
            connector,
            client,
            settings,
            connection.settings.clone(),
            tokens,
            budgets,
            calls,
        ))
    }

    /// The platform-wide bucket (every worker, every tenant).
    pub fn app_bucket(&self) -> Bucket {
        Budgets::app_bucket(self.connector, &self.settings)
    }

    /// The bucket of one ad account.
    pub fn account_bucket(&self, account: &str) -> Bucket {
        Budgets::account_bucket(self.connector, &self.settings, account)
    }

    /// `{base_url}/{api_version}{path}`; `path` starts with `/`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/{}{path}",
            self.settings.base_url.trim_end_matches('/'),
            self.settings.api_version
        )
    }

    /// Sends the request `make` builds, after taking a token from each bucket. Transport
    /// failures and gateway errors (502, 503, 504) are tried again quickly, up to three tries,
    /// each taking tokens again; any other answer is the caller's to read. The timeout covers
    /// the whole exchange, body included.
    pub async fn send(
        &self,
        buckets: &[Bucket],
        make: impl Fn() -> RequestBuilder,
    ) -> Result<Response, HttpError> {
        self.send_with(buckets, make, Deadline::WholeBody).await
    }

    /// Like [`Platform::send`], but the timeout covers only the wait for the status and
    /// headers: the body of a streamed answer (Google Ads' `searchStream`) is read by the
    /// caller as it arrives, which may take longer in total, and the caller bounds each read.
    pub async fn send_streaming(
        &self,
        buckets: &[Bucket],
        make: impl Fn() -> RequestBuilder,
    ) -> Result<Response, HttpError> {
        self.send_with(buckets, make, Deadline::Headers).await
    }

    async fn send_with(
        &self,
        buckets: &[Bucket],
        make: impl Fn() -> RequestBuilder,
        deadline: Deadline,
    ) -> Result<Response, HttpError> {
        let timeout = Duration::from_millis(self.settings.timeout_ms);
        let route = match make().build() {
            Ok(request) => route_template(request.url().path(), &self.settings.api_version),
            Err(error) => return Err(HttpError::Build(error.without_url())),
        };
        let attempt = || async {
            self.budgets.acquire(buckets).await.map_err(Retry::Stop)?;
            self.calls.fetch_add(1, Ordering::Relaxed);
            let span = tracing::info_span!(
                "platform_request",
                connector = %self.connector,
                route = %route,
                status = tracing::field::Empty,
            );
            let sent = match deadline {
                Deadline::WholeBody => {
                    make()
                        .timeout(timeout)
                        .send()
                        .instrument(span.clone())
                        .await
                }
                Deadline::Headers => {
                    tokio::time::timeout(timeout, make().send().instrument(span.clone()))
                        .await
                        .map_err(|_| Retry::Again(HttpError::Timeout(timeout)))?
                }
            };
            let response =
                sent.map_err(|error| Retry::Again(HttpError::Transport(error.without_url())))?;
            let status = response.status().as_u16();
            span.record("status", status);
            crate::metrics::record_platform_request(self.connector.as_str(), status);
            if matches!(status, 502..=504) {
                return Err(Retry::Gateway(response));
            }
            Ok(response)
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(1))
            .with_max_times(TRIES - 1)
            .with_jitter();
        match attempt
            .retry(backoff)
            .when(|retry| matches!(retry, Retry::Again(_) | Retry::Gateway(_)))
            .await
        {
            Ok(response) | Err(Retry::Gateway(response)) => Ok(response),
            Err(Retry::Again(error)) => Err(error),
            Err(Retry::Stop(error)) => Err(HttpError::Budget(error)),
        }
    }

    /// Runs `call` with the connection's access token (refreshed first if it expires soon). If
    /// it fails with an error `expired` recognises as the platform refusing the token as
    /// expired, the token is refreshed once (or the one another job refreshed meanwhile is
    /// taken) and `call` runs again; a second refusal is the caller's error.
    pub async fn with_fresh_token<T, E, Fut>(
        &self,
        expired: impl Fn(&E) -> bool,
        call: impl Fn(String) -> Fut,
    ) -> Result<T, E>
    where
        Fut: Future<Output = Result<T, E>>,
        E: From<TokenError>,
    {
        let token = self.tokens.access_token().await?;
        match call(token.clone()).await {
            Err(error) if expired(&error) => {
                tracing::info!(connector = %self.connector, "the platform refused the access token as expired; refreshing it once");
                let token = self.tokens.refresh_rejected(&token).await?;
                call(token).await
            }
            outcome => outcome,
        }
    }

    /// The platform throttled a bucket until `until`: every worker waits.
    pub async fn block(&self, bucket: &Bucket, until: DateTime<Utc>) {
        crate::metrics::record_throttle(self.connector.as_str());
        if let Err(error) = self.budgets.block(bucket, until).await {
            tracing::warn!(%error, key = %bucket.key, "recording a throttle failed");
        }
    }

    /// The platform said how much of a bucket's quota is used, in percent.
    pub async fn report_usage(&self, bucket: &Bucket, usage_percent: f64) {
        if let Err(error) = self.budgets.report_usage(bucket, usage_percent).await {
            tracing::warn!(%error, key = %bucket.key, "recording usage failed");
        }
    }

    /// Platform calls made so far by this job.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }
}

/// The route of a platform request as a template, for spans: the path without the API
/// version, each segment that names something (other than a version, `v5`) (holds a digit or a dot: `act_123`, a customer
/// id, an app's bundle id) replaced by `{id}`, keeping a word prefix (`act_{id}`).
pub fn route_template(path: &str, api_version: &str) -> String {
    let mut template = String::new();
    for segment in path.split('/').filter(|segment| !segment.is_empty()) {
        template.push('/');
        if segment == api_version {
            continue;
        }
        let is_version = segment.strip_prefix('v').is_some_and(|number| {
            !number.is_empty() && number.chars().all(|c| c.is_ascii_digit() || c == '.')
        });
        let names_something =
            !is_version && (segment.contains('.') || segment.chars().any(|c| c.is_ascii_digit()));
        match segment.split_once('_') {
            _ if !names_something => template.push_str(segment),
            Some((prefix, rest))
                if !prefix.is_empty()
                    && prefix.chars().all(|c| c.is_ascii_alphabetic())
                    && rest.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                template.push_str(prefix);
                template.push_str("_{id}");
            }
            _ => template.push_str("{id}"),
        }
    }
    template = template.replace("//", "/");
    if template.is_empty() {
        template.push('/');
    }
    template
}

/// What the request timeout covers.
#[derive(Clone, Copy)]
enum Deadline {
    /// The whole exchange, body included.
    WholeBody,
    /// Only the wait for the status and headers.
    Headers,
}

/// What one try of a request came to.
enum Retry {
    /// A transport failure: try again.
    Again(HttpError),
    /// A gateway error: try again, or hand the last answer to the caller.
    Gateway(Response),
    /// Out of budget: do not try again.
    Stop(BudgetError),
}

#[cfg(test)]
mod tests {
    use super::{HttpError, route_template};

    #[tokio::test]
    async fn a_transport_error_says_why_the_request_could_not_be_sent() {
        shared::telemetry::install_tls_provider();
        // A port nothing listens on.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);

        let error = reqwest::Client::new()
            .get(format!(
                "http://127.0.0.1:{port}/secret-path?access_token=t0ken"
            ))
            .send()
            .await
            .unwrap_err();
        let message = HttpError::Transport(error.without_url()).to_string();

        assert!(
            message.starts_with("request failed: error sending request"),
            "{message}"
        );
        assert!(
            message.contains("onnection refused"),
            "the cause is named: {message}"
        );
        assert!(
            !message.contains("t0ken") && !message.contains("secret-path"),
            "{message}"
        );
    }

    #[test]
    fn routes_name_no_account_app_or_version() {
        for (path, version, expected) in [
            ("/v21.0/act_123/insights", "v21.0", "/act_{id}/insights"),
            (
                "/v18/customers/1234567890/googleAds:searchStream",
                "v18",
                "/customers/{id}/googleAds:searchStream",
            ),
            (
                "/v18/customers:listAccessibleCustomers",
                "v18",
                "/customers:listAccessibleCustomers",
            ),
            (
                "/v1/adaccounts/8f2c0a4e-1b2c-4d5e-9f00-0a1b2c3d4e5f/stats",
                "v1",
                "/adaccounts/{id}/stats",
            ),
            (
                "/open_api/v1.3/report/integrated/get/",
                "v1.3",
                "/open_api/report/integrated/get",
            ),
            (
                "/api/raw-data/export/app/com.example.game/installs_report/v5",
                "",
                "/api/raw-data/export/app/{id}/installs_report/v5",
            ),
        ] {
            assert_eq!(route_template(path, version), expected, "{path}");
        }
    }
}
