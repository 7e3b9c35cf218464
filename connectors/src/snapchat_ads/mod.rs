//! Snapchat Marketing API: daily stats of an ad account broken down by campaign, ad squad or ad
//! (and by country), the campaign, ad squad and ad lists with their creatives, the ad accounts
//! of the user's organizations, and the OAuth refresh grant.
//!
//! Stats: one `GET /v1/adaccounts/{id}/stats?granularity=DAY&breakdown=…` per chunk of at most
//! 30 days (the catalogue's limit; Snapchat takes 31, and 30 when a country breakdown crosses a
//! DST fall-back), with `start_time`/`end_time` at local midnight in the account's IANA time
//! zone (so the offset changes inside a window that crosses DST, end exclusive),
//! `report_dimension=COUNTRY` for the country breakdown, the attribution windows stated
//! explicitly (28 days after a swipe-up, 1 day after a view: Snapchat's defaults, written out
//! so a change of default cannot silently change the numbers) and `omit_empty=true`.
//!
//! The account level: Snapchat's ad account stats without a breakdown only report `spend`, so
//! the connector reads the account with `breakdown=campaign` and adds the campaigns up per day
//! (and country). Every metric of the catalogue is additive, so the sum is exact and the
//! catalogue keeps offering all of them at the account level.
//!
//! Names: the stats only carry ids, so a report below the account also reads the campaign (and
//! ad squad, and ad) lists, following `paging.next_link` (only when the stats have rows).
//! Money (`spend`, `conversion_purchases_value`, budgets) arrives in micro-currency and is
//! stored in major units. Clicks are Snapchat's swipes, conversions its purchases.
//!
//! Errors: HTTP 401 refreshes the token once and retries; a bare HTTP 429 (Snapchat sends no
//! hint) blocks the account's budget for [`DEFAULT_THROTTLE_WAIT`] and snoozes the job that
//! long; 5xx are transient; 403 (no access to the account) needs re-authorisation; other 4xx are
//! permanent. Access tokens live 30 minutes and are refreshed [`REFRESH_MARGIN`] before they
//! expire; the refresh token is reusable, but a new one is stored when the endpoint returns one.

mod oauth;
mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures_util::Stream;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use serde::de::DeserializeOwned;
use shared::db::rate_budgets::Bucket;
use shared::domain::{
    Breakdown, ConnectorKind, InvalidField, Metric, ReportLevel, Stream as ReportStream,
};
use shared::error::{Classify, ErrorClass};

use crate::catalogue::{ALL_LEVELS, Catalogue, ENTITY_LEVELS};
use crate::connector::{
    AccountInfo, Connector, ConnectorError, ReportRequest, boxed_accounts, boxed_pages,
    class_of_http, invalid_account_id,
};
use crate::oauth::OAuth;
use crate::platform::{HttpError, Platform};
use crate::rows::Row;
use crate::tokens::TokenError;
pub use wire::ApiError;
use wire::{Ad, AdSquad, Broken, Campaign, Creative, Edge, Names, Organizations, StatsAnswer};

/// Snapchat, as the registry knows it.
pub struct SnapchatAds;

/// The registry's entry for Snapchat.
pub static CONNECTOR: SnapchatAds = SnapchatAds;

static CATALOGUE: Catalogue = Catalogue {
    connector: ConnectorKind::SnapchatAds,
    levels: ALL_LEVELS,
    metrics: &[
        Metric::Impressions,
        Metric::Clicks,
        Metric::Spend,
        Metric::Conversions,
        Metric::ConversionValue,
    ],
    breakdowns: &[Breakdown::Country],
    max_breakdowns: 1,
    report_types: &[],
    entity_levels: ENTITY_LEVELS,
    default_lookback_days: 28,
    max_days_per_request: 30,
};

impl Connector for SnapchatAds {
    fn catalogue(&self) -> &'static Catalogue {
        &CATALOGUE
    }

    fn config_defaults(&self) -> &'static str {
        include_str!("config.toml")
    }

    fn sandbox_urls(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("base_url", "/snapchat_ads"),
            ("token_url", "/snapchat_ads/login/oauth2/access_token"),
        ]
    }

    /// Ad account UUIDs, lower-cased.
    fn parse_account_id(&self, raw: &str) -> Result<String, InvalidField> {
        let id = raw.to_ascii_lowercase();
        if uuid::Uuid::try_parse(&id).map(|parsed| parsed.hyphenated().to_string())
            != Ok(id.clone())
        {
            return Err(invalid_account_id(
                raw,
                "is not a Snapchat ad account id (a UUID such as 8b1e2c3d-4f5a-4b6c-9d7e-0f1a2b3c4d5e)",
            ));
        }
        Ok(id)
    }

    fn oauth(&self) -> Option<&dyn OAuth> {
        Some(self)
    }

    fn refresh_margin(&self) -> Duration {
        REFRESH_MARGIN
    }

    fn report_pages(
        &self,
        platform: Arc<Platform>,
        request: ReportRequest,
    ) -> BoxStream<'static, Result<Vec<Row>, ConnectorError>> {
        boxed_pages(report_pages(platform, request))
    }

    fn list_accounts<'a>(
        &'a self,
        platform: &'a Platform,
    ) -> BoxFuture<'a, Result<Vec<AccountInfo>, ConnectorError>> {
        boxed_accounts(list_accounts(platform))
    }
}

/// Refresh the access token when it expires within this (Snapchat's live 30 minutes).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// How long a bare 429 blocks the account's budget and snoozes the job. Snapchat sends no
/// delay hint; its limits count requests per second (about 20 per app, 10 per token), so a
/// couple of seconds lets the window empty without stalling the account for long.
pub const DEFAULT_THROTTLE_WAIT: Duration = Duration::from_secs(2);

/// Entity lists take a `limit` between these.
const LIMIT_RANGE: (u32, u32) = (50, 1_000);

/// A list that pages this often without ending is a platform bug, not data.
const MAX_PAGES: u32 = 10_000;

/// The attribution windows every stats request states.
const SWIPE_UP_ATTRIBUTION_WINDOW: &str = "28_DAY";
const VIEW_ATTRIBUTION_WINDOW: &str = "1_DAY";

/// A failure talking to Snapchat. Messages never contain tokens or URLs.
#[derive(Debug, thiserror::Error)]
pub enum SnapchatError {
    #[error("snapchat_ads: {0}")]
    Http(#[from] HttpError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("snapchat_ads answered HTTP {status} to the {what} request{code}: {message}",
        code = error.error_code.as_deref().map(|code| format!(" with error code {code}")).unwrap_or_default(),
        message = error.message())]
    Api {
        status: u16,
        what: &'static str,
        error: ApiError,
    },
    #[error(
        "snapchat_ads throttled the {what} request (HTTP 429 without a delay hint); waiting until {until}"
    )]
    Throttled {
        what: &'static str,
        until: DateTime<Utc>,
        /// The budget key blocked until then.
        scope: String,
    },
    #[error("snapchat_ads {what} page {page} is malformed: {detail}")]
    Malformed {
        what: &'static str,
        page: u32,
        detail: String,
    },
    #[error("snapchat_ads: the account's time zone {0:?} is not an IANA time zone")]
    TimeZone(String),
    #[error("snapchat_ads {what} page {page}: paging.next_link points outside the configured API")]
    ForeignLink { what: &'static str, page: u32 },
    #[error("snapchat_ads {what}: paging did not end after {pages} pages")]
    EndlessPaging { what: &'static str, pages: u32 },
}

impl Classify for SnapchatError {
    fn class(&self) -> ErrorClass {
        match self {
            SnapchatError::Http(error) => class_of_http(error),
            SnapchatError::Token(error) => error.class(),
            // 401 (after one refresh) and 403 need the user; 5xx are transient; 4xx permanent.
            SnapchatError::Api { status, .. } => shared::error::class_of_http_status(*status, None),
            SnapchatError::Throttled { until, scope, .. } => ErrorClass::Throttled {
                until: *until,
                scope: scope.clone(),
            },
            SnapchatError::Malformed { .. }
            | SnapchatError::TimeZone(_)
            | SnapchatError::ForeignLink { .. }
            | SnapchatError::EndlessPaging { .. } => ErrorClass::Permanent,
        }
    }
}

/// Snapchat refused the access token: worth one refresh, which fails for a revoked grant.
fn is_token_refusal(error: &SnapchatError) -> bool {
    matches!(error, SnapchatError::Api { status: 401, .. })
}

fn malformed(what: &'static str, page: u32) -> impl Fn(Broken) -> SnapchatError {
    move |Broken(detail)| SnapchatError::Malformed { what, page, detail }
}

/// Where one request goes: the first page of an endpoint (URL and query), or a `next_link`.
enum Target<'a> {
    First {
        url: String,
        query: &'a [(&'static str, String)],
    },
    Next(&'a str),
}

/// One GET within the shared budgets (the app's, and the account's when there is one), with the
/// token refreshed once on a 401 and the budget blocked on a 429. Returns the body of a 2xx.
async fn get(
    platform: &Platform,
    account_id: Option<&str>,
    target: Target<'_>,
    what: &'static str,
) -> Result<Vec<u8>, SnapchatError> {
    let app = platform.app_bucket();
    let account = account_id.map(|id| platform.account_bucket(id));
    let buckets: Vec<Bucket> = [Some(app.clone()), account.clone()]
        .into_iter()
        .flatten()
        .collect();
    let throttled = account.unwrap_or(app);
    let (url, query): (&str, &[(&'static str, String)]) = match &target {
        Target::First { url, query } => (url.as_str(), query),
        Target::Next(link) => (link, &[]),
    };
    platform
        .with_fresh_token(is_token_refusal, |token| {
            let (buckets, throttled) = (&buckets, &throttled);
            async move {
                let response = platform
                    .send(buckets, || {
                        platform.client.get(url).query(query).bearer_auth(&token)
                    })
                    .await?;
                let status = response.status().as_u16();
                let body = response.bytes().await.map_err(|error| {
                    SnapchatError::Http(HttpError::Transport(error.without_url()))
                })?;
                match status {
                    200..=299 => Ok(body.to_vec()),
                    429 => {
                        let until = Utc::now() + DEFAULT_THROTTLE_WAIT;
                        platform.block(throttled, until).await;
                        Err(SnapchatError::Throttled {
                            what,
                            until,
                            scope: throttled.key.clone(),
                        })
                    }
                    _ => Err(SnapchatError::Api {
                        status,
                        what,
                        error: ApiError::from_body(&body),
                    }),
                }
            }
        })
        .await
}

/// The `limit` of entity lists: the configured page size within Snapchat's 50–1000.
fn list_limit(platform: &Platform) -> String {
    platform
        .settings
        .page_size
        .clamp(LIMIT_RANGE.0, LIMIT_RANGE.1)
        .to_string()
}

/// Checks a `next_link` before a token goes with it: it must lead to the configured API.
fn checked_link(
    platform: &Platform,
    link: Option<String>,
    what: &'static str,
    page: u32,
) -> Result<Option<String>, SnapchatError> {
    match link {
        None => Ok(None),
        Some(link) if link.starts_with(&platform.url("/")) => Ok(Some(link)),
        Some(_) => Err(SnapchatError::ForeignLink { what, page }),
    }
}

/// One page of an account's list: the items, and the next page's link.
async fn list_page<T: DeserializeOwned>(
    platform: &Platform,
    account_id: &str,
    edge: Edge,
    next: Option<&str>,
    page: u32,
) -> Result<(Vec<T>, Option<String>), SnapchatError> {
    let what = edge.key();
    let query = [("limit", list_limit(platform))];
    let target = match next {
        None => Target::First {
            url: platform.url(&format!("/adaccounts/{account_id}/{what}")),
            query: &query,
        },
        Some(link) => Target::Next(link),
    };
    let body = get(platform, Some(account_id), target, what).await?;
    let (items, next) = wire::list_items(&body, edge).map_err(malformed(what, page))?;
    Ok((items, checked_link(platform, next, what, page)?))
}

/// Every item of an account's list, page by page.
async fn list_all<T: DeserializeOwned>(
    platform: &Platform,
    account_id: &str,
    edge: Edge,
) -> Result<Vec<T>, SnapchatError> {
    let mut all = Vec::new();
    let mut next: Option<String> = None;
    let mut seen = HashSet::new();
    for page in 1..=MAX_PAGES {
        let (items, link) =
            list_page::<T>(platform, account_id, edge, next.as_deref(), page).await?;
        let empty = items.is_empty();
        all.extend(items);
        match link {
            Some(link) if !empty && seen.insert(link.clone()) => next = Some(link),
            _ => return Ok(all),
        }
    }
    Err(SnapchatError::EndlessPaging {
        what: edge.key(),
        pages: MAX_PAGES,
    })
}

/// Reads every page of the report (or entities stream), in order.
fn report_pages(
    platform: Arc<Platform>,
    request: ReportRequest,
) -> impl Stream<Item = Result<Vec<Row>, SnapchatError>> + Send + 'static {
    let start = Cursor {
        next: None,
        page: 0,
        done: false,
        seen: HashSet::new(),
        lookups: None,
    };
    futures_util::stream::try_unfold(start, move |mut cursor| {
        let platform = platform.clone();
        let request = request.clone();
        async move {
            if cursor.done {
                return Ok(None);
            }
            match request.report.stream {
                ReportStream::Performance => {
                    let rows = performance(&platform, &request).await?;
                    cursor.done = true;
                    Ok(Some((rows, cursor)))
                }
                ReportStream::Entities => {
                    let rows = entities_page(&platform, &request, &mut cursor).await?;
                    Ok(Some((rows, cursor)))
                }
            }
        }
    })
}

/// Where an entities stream is.
struct Cursor {
    next: Option<String>,
    page: u32,
    done: bool,
    seen: HashSet<String>,
    /// For ads: ad squad → campaign and creative → name, read before the first page.
    lookups: Option<Arc<AdLookups>>,
}

struct AdLookups {
    squad_campaigns: HashMap<String, String>,
    creative_names: HashMap<String, Option<String>>,
}

/// The next page of an entities stream.
async fn entities_page(
    platform: &Platform,
    request: &ReportRequest,
    cursor: &mut Cursor,
) -> Result<Vec<Row>, SnapchatError> {
    let account_id = request.account.external_id.as_str();
    let page = cursor.page + 1;
    let edge = match request.report.level {
        ReportLevel::Account | ReportLevel::Campaign => Edge::Campaigns,
        ReportLevel::AdGroup => Edge::AdSquads,
        ReportLevel::Ad => Edge::Ads,
    };
    let what = edge.key();
    let fail = |detail: String| SnapchatError::Malformed { what, page, detail };
    let (rows, next) = match edge {
        Edge::Campaigns => {
            let (items, next) =
                list_page::<Campaign>(platform, account_id, edge, cursor.next.as_deref(), page)
                    .await?;
            let rows = items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    wire::campaign_row(item)
                        .map_err(|e| fail(format!("campaigns[{i}].campaign.{e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            (rows, next)
        }
        Edge::AdSquads => {
            let (items, next) =
                list_page::<AdSquad>(platform, account_id, edge, cursor.next.as_deref(), page)
                    .await?;
            let rows = items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    wire::adsquad_row(item).map_err(|e| fail(format!("adsquads[{i}].adsquad.{e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            (rows, next)
        }
        Edge::Ads | Edge::Creatives => {
            let lookups = match &cursor.lookups {
                Some(lookups) => lookups.clone(),
                None => {
                    let squads: Vec<AdSquad> =
                        list_all(platform, account_id, Edge::AdSquads).await?;
                    let creatives: Vec<Creative> =
                        list_all(platform, account_id, Edge::Creatives).await?;
                    let lookups = Arc::new(AdLookups {
                        squad_campaigns: squads
                            .into_iter()
                            .map(|squad| (squad.id, squad.campaign_id))
                            .collect(),
                        creative_names: creatives
                            .into_iter()
                            .map(|creative| (creative.id, creative.name))
                            .collect(),
                    });
                    cursor.lookups = Some(lookups.clone());
                    lookups
                }
            };
            let (items, next) = list_page::<Ad>(
                platform,
                account_id,
                Edge::Ads,
                cursor.next.as_deref(),
                page,
            )
            .await?;
            let rows = items
                .iter()
                .map(|ad| wire::ad_row(ad, &lookups.squad_campaigns, &lookups.creative_names))
                .collect();
            (rows, next)
        }
    };
    cursor.page = page;
    // Guard against links that keep offering pages with no rows, or come round again.
    cursor.done = match &next {
        Some(link) => rows.is_empty() || !cursor.seen.insert(link.clone()),
        None => true,
    };
    if !cursor.done && page >= MAX_PAGES {
        return Err(SnapchatError::EndlessPaging { what, pages: page });
    }
    cursor.next = next;
    Ok(rows)
}

/// The rows of a performance report over the request's window (one stats request).
async fn performance(
    platform: &Platform,
    request: &ReportRequest,
) -> Result<Vec<Row>, SnapchatError> {
    let account_id = request.account.external_id.as_str();
    let report = &request.report;
    let time_zone: Tz = request
        .account
        .time_zone
        .parse()
        .map_err(|_| SnapchatError::TimeZone(request.account.time_zone.clone()))?;
    let start = wire::day_start(time_zone, request.window.start());
    let end = wire::day_start(
        time_zone,
        request
            .window
            .end()
            .succ_opt()
            .unwrap_or(request.window.end()),
    );
    let breakdown = match report.level {
        // Ad account stats without a breakdown only report spend: read the campaigns and sum.
        ReportLevel::Account | ReportLevel::Campaign => "campaign",
        ReportLevel::AdGroup => "adsquad",
        ReportLevel::Ad => "ad",
    };
    let mut query = vec![
        ("granularity", "DAY".to_owned()),
        ("start_time", wire::render_time(start)),
        ("end_time", wire::render_time(end)),
        ("fields", wire::stats_fields(report)),
        ("breakdown", breakdown.to_owned()),
        (
            "swipe_up_attribution_window",
            SWIPE_UP_ATTRIBUTION_WINDOW.to_owned(),
        ),
        (
            "view_attribution_window",
            VIEW_ATTRIBUTION_WINDOW.to_owned(),
        ),
        ("omit_empty", "true".to_owned()),
    ];
    for breakdown in &report.breakdowns {
        match breakdown {
            Breakdown::Country => query.push(("report_dimension", "COUNTRY".to_owned())),
            // The catalogue offers no other breakdown for Snapchat.
            Breakdown::Age | Breakdown::Gender | Breakdown::Platform | Breakdown::Placement => {}
        }
    }
    let target = Target::First {
        url: platform.url(&format!("/adaccounts/{account_id}/stats")),
        query: &query,
    };
    let body = get(platform, Some(account_id), target, "stats").await?;
    let answer: StatsAnswer = wire::parse(&body).map_err(malformed("stats", 1))?;
    let empty = Names::default();
    let rows =
        wire::stats_rows(&answer, report, time_zone, &empty).map_err(malformed("stats", 1))?;
    if rows.is_empty() || report.level == ReportLevel::Account {
        return Ok(rows);
    }
    let names = names(platform, account_id, report.level).await?;
    wire::stats_rows(&answer, report, time_zone, &names).map_err(malformed("stats", 1))
}

/// The names (and parents) of the entities a level's rows mention.
async fn names(
    platform: &Platform,
    account_id: &str,
    level: ReportLevel,
) -> Result<Names, SnapchatError> {
    let mut names = Names::default();
    if matches!(level, ReportLevel::Account) {
        return Ok(names);
    }
    let campaigns: Vec<Campaign> = list_all(platform, account_id, Edge::Campaigns).await?;
    names.campaigns = campaigns
        .into_iter()
        .map(|campaign| (campaign.id, campaign.name))
        .collect();
    if matches!(level, ReportLevel::AdGroup | ReportLevel::Ad) {
        let squads: Vec<AdSquad> = list_all(platform, account_id, Edge::AdSquads).await?;
        names.adsquads = squads
            .into_iter()
            .map(|squad| (squad.id, (squad.name, squad.campaign_id)))
            .collect();
    }
    if level == ReportLevel::Ad {
        let ads: Vec<Ad> = list_all(platform, account_id, Edge::Ads).await?;
        names.ads = ads
            .into_iter()
            .map(|ad| (ad.id, (ad.name, ad.ad_squad_id)))
            .collect();
    }
    Ok(names)
}

/// The ad accounts of the user's organizations (`GET /v1/me/organizations?with_ad_accounts=true`).
async fn list_accounts(platform: &Platform) -> Result<Vec<AccountInfo>, SnapchatError> {
    let what = "organizations";
    let query = [("with_ad_accounts", "true".to_owned())];
    let mut accounts = Vec::new();
    let mut next: Option<String> = None;
    let mut seen = HashSet::new();
    for page in 1..=MAX_PAGES {
        let target = match &next {
            None => Target::First {
                url: platform.url("/me/organizations"),
                query: &query,
            },
            Some(link) => Target::Next(link),
        };
        let body = get(platform, None, target, what).await?;
        let listed: Organizations = wire::parse(&body).map_err(malformed(what, page))?;
        listed.check().map_err(malformed(what, page))?;
        let link = checked_link(
            platform,
            listed.paging.and_then(|paging| paging.next_link),
            what,
            page,
        )?;
        let empty = listed.organizations.is_empty();
        for organization in listed.organizations {
            for account in organization.organization.ad_accounts {
                if accounts
                    .iter()
                    .all(|known: &AccountInfo| known.external_id != account.id)
                {
                    accounts.push(AccountInfo {
                        external_id: account.id,
                        name: account.name,
                        time_zone: account.timezone,
                        currency: account.currency,
                        reached_through: None,
                    });
                }
            }
        }
        match link {
            Some(link) if !empty && seen.insert(link.clone()) => next = Some(link),
            _ => return Ok(accounts),
        }
    }
    Err(SnapchatError::EndlessPaging {
        what,
        pages: MAX_PAGES,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> SnapchatError {
        SnapchatError::Api {
            status,
            what: "stats",
            error: ApiError {
                debug_message: Some("Expired access token".into()),
                error_code: Some("E3003".into()),
                ..ApiError::default()
            },
        }
    }

    #[test]
    fn snapchat_answers_are_classified_by_status() {
        assert_eq!(api(401).class(), ErrorClass::Auth);
        assert_eq!(api(403).class(), ErrorClass::Auth);
        assert_eq!(api(400).class(), ErrorClass::Permanent);
        assert_eq!(api(404).class(), ErrorClass::Permanent);
        assert_eq!(
            api(500).class(),
            ErrorClass::Transient { retry_after: None }
        );
        assert_eq!(
            api(503).class(),
            ErrorClass::Transient { retry_after: None }
        );
        let until = Utc::now() + DEFAULT_THROTTLE_WAIT;
        let throttled = SnapchatError::Throttled {
            what: "stats",
            until,
            scope: "snapchat_ads:account:x".into(),
        };
        assert_eq!(
            throttled.class(),
            ErrorClass::Throttled {
                until,
                scope: "snapchat_ads:account:x".into()
            }
        );
        let malformed = SnapchatError::Malformed {
            what: "stats",
            page: 1,
            detail: "impressions: invalid type".into(),
        };
        assert_eq!(malformed.class(), ErrorClass::Permanent);
        assert!(malformed.to_string().contains("impressions"));
        assert_eq!(
            SnapchatError::TimeZone("Mars/Olympus".into()).class(),
            ErrorClass::Permanent
        );
        assert!(is_token_refusal(&api(401)));
        assert!(!is_token_refusal(&api(403)));
    }

    #[test]
    fn api_errors_read_as_a_sentence_with_the_code() {
        assert_eq!(
            api(401).to_string(),
            "snapchat_ads answered HTTP 401 to the stats request with error code E3003: Expired access token"
        );
    }

    #[test]
    fn account_ids_are_lower_cased_uuids() {
        assert_eq!(
            CONNECTOR
                .parse_account_id("8B1E2C3D-4F5A-4B6C-9D7E-0F1A2B3C4D5E")
                .unwrap(),
            "8b1e2c3d-4f5a-4b6c-9d7e-0f1a2b3c4d5e"
        );
        for bad in ["8b1e2c3d4f5a4b6c9d7e0f1a2b3c4d5e", "not-a-uuid"] {
            let error = CONNECTOR.parse_account_id(bad).unwrap_err();
            assert_eq!(error.field, "external_id", "{bad}");
            assert!(error.message.contains(bad), "{}", error.message);
        }
    }
}
