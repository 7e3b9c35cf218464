//! The organizations of the user (`GET /v1/me/organizations?with_ad_accounts=true`), one ad
//! account (`GET /v1/adaccounts/{id}`), and the entity lists of an ad account
//! (`GET /v1/adaccounts/{id}/{campaigns|adsquads|ads|creatives}`).
//!
//! Lists wrap every item: `{"campaigns":[{"sub_request_status":"SUCCESS","campaign":{...}}]}`.
//! With `limit` (50–1000) they page: `paging.next_link` is an absolute URL carrying a `cursor`,
//! absent on the last page. Without `limit` everything comes at once.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use base64::Engine as _;
use chrono::{Days, NaiveDate, NaiveTime};
use serde::Serialize;

use super::errors::{CONTENT_TYPE, SnapError};
use super::json::Json;
use super::truth::{day_start, render_time};
use super::vocabulary::ORGANIZATIONS;
use super::world::AccountFacts;
use super::{Call, Prelude, normalised, param, readable_account, request_id};
use crate::rng::Seed;
use crate::state::Sandbox;
use crate::wire;

/// The smallest and largest `limit`.
const LIMITS: std::ops::RangeInclusive<usize> = 50..=1_000;

type Params = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

/// One wrapped list item: `{"sub_request_status":"SUCCESS","<kind>":{...}}`.
fn wrap(kind: &'static str, item: Json) -> Json {
    let mut wrapped = Json::object();
    wrapped.push("sub_request_status", "SUCCESS");
    wrapped.push(kind, item);
    wrapped
}

/// A timestamp in UTC like Snapchat's `created_at` (`2024-01-15T10:00:00.000Z`).
fn utc_stamp(date: NaiveDate, seed: Seed) -> String {
    let seconds = u32::try_from(seed.below(86_400)).unwrap_or(0);
    let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0).unwrap_or(NaiveTime::MIN);
    format!("{}T{}.000Z", date, time.format("%H:%M:%S"))
}

fn days_before(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_sub_days(Days::new(days)).unwrap_or(date)
}

/// The ad account object.
fn ad_account_object(account: &AccountFacts) -> Json {
    let seed = Seed::new("snapchat_ads/account_times").with_str(&account.id);
    let created = NaiveDate::from_ymd_opt(2022, 3, 1).unwrap_or(NaiveDate::MIN);
    let mut object = Json::object();
    object.push("id", account.id.clone());
    object.push("updated_at", utc_stamp(created, seed.with_u64(1)));
    object.push("created_at", utc_stamp(created, seed.with_u64(2)));
    object.push("name", account.name.clone());
    object.push("type", "PARTNER");
    object.push("status", "ACTIVE");
    object.push("organization_id", account.organization_id.clone());
    object.push("currency", account.currency);
    object.push("timezone", account.time_zone.name());
    object.push(
        "advertiser_organization_id",
        account.organization_id.clone(),
    );
    object.push("billing_type", "IO");
    object.push("agency_representing_client", false);
    object.push("client_paying_invoices", false);
    object
}

/// The campaigns, ad squads, ads or creatives of an account as list items, in listing order.
fn items(account: &AccountFacts, edge: Edge, today: NaiveDate) -> Vec<Json> {
    let stamp = |id: &str, date: NaiveDate, n: u64| {
        utc_stamp(
            date,
            Seed::new("snapchat_ads/entity_times")
                .with_str(id)
                .with_u64(n),
        )
    };
    let mut out = Vec::new();
    for campaign in &account.campaigns {
        let start = campaign.start_date(today);
        let created = days_before(start, 2);
        if edge == Edge::Campaigns {
            let mut object = Json::object();
            object.push("id", campaign.id.clone());
            object.push("updated_at", stamp(&campaign.id, start, 1));
            object.push("created_at", stamp(&campaign.id, created, 2));
            object.push("name", campaign.name.clone());
            object.push("ad_account_id", account.id.clone());
            object.push("status", campaign.status.as_str());
            object.push("objective", campaign.objective);
            object.push(
                "start_time",
                render_time(day_start(account.time_zone, start)),
            );
            if let Some(budget) = campaign.daily_budget_micro {
                object.push("daily_budget_micro", budget);
            }
            if let Some(cap) = campaign.lifetime_spend_cap_micro {
                object.push("lifetime_spend_cap_micro", cap);
            }
            object.push("buy_model", "AUCTION");
            object.push("delivery_status", serde_json::json!(["VALID"]));
            out.push(wrap("campaign", object));
            continue;
        }
        for squad in &campaign.adsquads {
            if edge == Edge::AdSquads {
                let mut object = Json::object();
                object.push("id", squad.id.clone());
                object.push("updated_at", stamp(&squad.id, start, 1));
                object.push("created_at", stamp(&squad.id, created, 2));
                object.push("name", squad.name.clone());
                object.push("status", squad.status.as_str());
                object.push("campaign_id", campaign.id.clone());
                object.push("type", "SNAP_ADS");
                let geos: Vec<serde_json::Value> = account
                    .countries
                    .iter()
                    .map(|country| serde_json::json!({ "country_code": country }))
                    .collect();
                object.push("targeting", serde_json::json!({ "geos": geos }));
                object.push("placement_v2", serde_json::json!({ "config": "AUTOMATIC" }));
                object.push("billing_event", "IMPRESSION");
                object.push("auto_bid", true);
                object.push("bid_strategy", "AUTO_BID");
                object.push("optimization_goal", "PIXEL_PURCHASE");
                if let Some(budget) = squad.daily_budget_micro {
                    object.push("daily_budget_micro", budget);
                    object.push("delivery_constraint", "DAILY_BUDGET");
                }
                if let Some(budget) = squad.lifetime_budget_micro {
                    object.push("lifetime_budget_micro", budget);
                    object.push("delivery_constraint", "LIFETIME_BUDGET");
                }
                object.push(
                    "start_time",
                    render_time(day_start(account.time_zone, start)),
                );
                object.push("pacing_type", "STANDARD");
                out.push(wrap("adsquad", object));
                continue;
            }
            for ad in &squad.ads {
                let mut object = Json::object();
                match edge {
                    Edge::Ads => {
                        object.push("id", ad.id.clone());
                        object.push("updated_at", stamp(&ad.id, start, 1));
                        object.push("created_at", stamp(&ad.id, created, 2));
                        object.push("name", ad.name.clone());
                        object.push("ad_squad_id", squad.id.clone());
                        object.push("creative_id", ad.creative.id.clone());
                        object.push("status", ad.status.as_str());
                        object.push("type", "SNAP_AD");
                        object.push("render_type", "STATIC");
                        object.push("review_status", "APPROVED");
                        object.push("review_status_reasons", serde_json::json!([]));
                        object.push("delivery_status", serde_json::json!(["VALID"]));
                        out.push(wrap("ad", object));
                    }
                    Edge::Creatives => {
                        let creative = &ad.creative;
                        object.push("id", creative.id.clone());
                        object.push("updated_at", stamp(&creative.id, created, 1));
                        object.push("created_at", stamp(&creative.id, created, 2));
                        object.push("name", creative.name.clone());
                        object.push("ad_account_id", account.id.clone());
                        object.push("type", "SNAP_AD");
                        object.push("packaging_status", "SUCCESS");
                        object.push("review_status", "APPROVED");
                        object.push("shareable", true);
                        object.push("headline", creative.headline.clone());
                        object.push("brand_name", account.name.clone());
                        object.push("call_to_action", creative.call_to_action);
                        object.push("top_snap_crop_position", "MIDDLE");
                        out.push(wrap("creative", object));
                    }
                    Edge::Campaigns | Edge::AdSquads => {}
                }
            }
        }
    }
    out
}

/// An entity list of an ad account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    Campaigns,
    AdSquads,
    Ads,
    Creatives,
}

impl Edge {
    /// The list's key in the answer (and its path segment).
    const fn key(self) -> &'static str {
        match self {
            Edge::Campaigns => "campaigns",
            Edge::AdSquads => "adsquads",
            Edge::Ads => "ads",
            Edge::Creatives => "creatives",
        }
    }

    /// The item key inside each wrapper.
    const fn item(self) -> &'static str {
        match self {
            Edge::Campaigns => "campaign",
            Edge::AdSquads => "adsquad",
            Edge::Ads => "ad",
            Edge::Creatives => "creative",
        }
    }

    const fn route(self) -> &'static str {
        match self {
            Edge::Campaigns => "/v1/adaccounts/{ad_account_id}/campaigns",
            Edge::AdSquads => "/v1/adaccounts/{ad_account_id}/adsquads",
            Edge::Ads => "/v1/adaccounts/{ad_account_id}/ads",
            Edge::Creatives => "/v1/adaccounts/{ad_account_id}/creatives",
        }
    }

    /// The permission Snapchat names when the user may not read the list.
    const fn action(self) -> &'static str {
        match self {
            Edge::Campaigns => "READ_CAMPAIGN",
            Edge::AdSquads => "READ_ADSQUAD",
            Edge::Ads => "READ_AD",
            Edge::Creatives => "READ_CREATIVE",
        }
    }
}

/// A page of a list.
#[derive(Serialize)]
struct ListPage {
    request_status: &'static str,
    request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    paging: Option<Paging>,
    #[serde(flatten)]
    items: Json,
}

#[derive(Serialize)]
struct Paging {
    #[serde(skip_serializing_if = "Option::is_none")]
    next_link: Option<String>,
}

fn cursor_engine() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

fn fingerprint(account_id: &str, edge: Edge) -> u64 {
    Seed::new("snapchat_ads/cursor")
        .with_str(account_id)
        .with_str(edge.key())
        .value()
}

fn encode_cursor(fingerprint: u64, offset: usize) -> String {
    cursor_engine().encode(format!("{fingerprint:016x}:{offset}"))
}

fn decode_cursor(cursor: &str, fingerprint: u64) -> Option<usize> {
    let bytes = cursor_engine().decode(cursor.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (print, offset) = text.split_once(':')?;
    (u64::from_str_radix(print, 16).ok()? == fingerprint).then_some(())?;
    offset.parse().ok()
}

fn parse_limit(params: &[(String, String)]) -> Result<Option<usize>, SnapError> {
    let Some(text) = param(params, "limit") else {
        return Ok(None);
    };
    match text.parse::<usize>() {
        Ok(limit) if LIMITS.contains(&limit) => Ok(Some(limit)),
        _ => Err(SnapError::bad_request(format!(
            "Invalid limit {text}: the limit must be between {} and {}",
            LIMITS.start(),
            LIMITS.end()
        ))),
    }
}

/// Breaks one field of the first item for a malformed fault: its `id` becomes a number.
fn break_first_item(items: &mut [Json], item_key: &str) {
    if let Some(item) = items.first_mut().and_then(|first| first.get_mut(item_key)) {
        item.set("id", 404_404_404_u64);
    }
}

/// The page of `edge` the request asks for.
fn list_page(
    sandbox: &Sandbox,
    account: &AccountFacts,
    edge: Edge,
    params: &[(String, String)],
    next_base: &str,
    call: &Call,
) -> Result<ListPage, SnapError> {
    let today = sandbox.today_for(account);
    let mut all = items(account, edge, today);
    let limit = parse_limit(params)?;
    let print = fingerprint(&account.id, edge);
    let offset = match param(params, "cursor") {
        None => 0,
        Some(cursor) => decode_cursor(cursor, print)
            .filter(|offset| *offset <= all.len())
            .ok_or_else(|| SnapError::bad_request(format!("Invalid cursor: {cursor}")))?,
    };
    let (mut page, paging) = match limit {
        None => (all.split_off(offset.min(all.len())), None),
        Some(limit) => {
            let end = (offset + limit).min(all.len());
            let next_link = (end < all.len()).then(|| {
                let mut next: Vec<(String, String)> =
                    vec![("cursor".to_owned(), encode_cursor(print, end))];
                next.extend(params.iter().filter(|(name, _)| name != "cursor").cloned());
                format!("{next_base}?{}", wire::build_query(&next))
            });
            let page = all.drain(offset.min(all.len())..end).collect();
            (page, Some(Paging { next_link }))
        }
    };
    if call.malformed {
        break_first_item(&mut page, edge.item());
    }
    let mut list = Json::object();
    list.push(edge.key(), page);
    Ok(ListPage {
        request_status: "SUCCESS",
        request_id: request_id(sandbox),
        paging,
        items: list,
    })
}

async fn list(
    sandbox: Sandbox,
    edge: Edge,
    uri: Uri,
    account_id: String,
    headers: HeaderMap,
    params: Params,
) -> Response {
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let prelude = Prelude::begin(&sandbox, edge.route(), normalised(&account_id)).await;
    let result = prelude.check(&sandbox, &headers).and_then(|call| {
        let account = readable_account(&sandbox, &account_id, edge.action())?;
        let next_base = format!("{}{}", wire::origin(&headers, &uri), uri.path());
        list_page(&sandbox, &account, edge, &params, &next_base, &call)
    });
    match result {
        Ok(page) => prelude.finish(wire::json_with_type(StatusCode::OK, &page, CONTENT_TYPE)),
        Err(error) => prelude.reject(&sandbox, error),
    }
}

/// `GET /v1/adaccounts/{id}/campaigns`.
pub(crate) async fn campaigns(
    State(sandbox): State<Sandbox>,
    OriginalUri(uri): OriginalUri,
    Path(account_id): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    list(sandbox, Edge::Campaigns, uri, account_id, headers, params).await
}

/// `GET /v1/adaccounts/{id}/adsquads`.
pub(crate) async fn adsquads(
    State(sandbox): State<Sandbox>,
    OriginalUri(uri): OriginalUri,
    Path(account_id): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    list(sandbox, Edge::AdSquads, uri, account_id, headers, params).await
}

/// `GET /v1/adaccounts/{id}/ads`.
pub(crate) async fn ads(
    State(sandbox): State<Sandbox>,
    OriginalUri(uri): OriginalUri,
    Path(account_id): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    list(sandbox, Edge::Ads, uri, account_id, headers, params).await
}

/// `GET /v1/adaccounts/{id}/creatives`.
pub(crate) async fn creatives(
    State(sandbox): State<Sandbox>,
    OriginalUri(uri): OriginalUri,
    Path(account_id): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    list(sandbox, Edge::Creatives, uri, account_id, headers, params).await
}

/// `GET /v1/adaccounts/{id}`: `{"adaccounts":[{"sub_request_status","adaccount":{...}}]}`.
pub(crate) async fn ad_account(
    State(sandbox): State<Sandbox>,
    Path(account_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let prelude = Prelude::begin(
        &sandbox,
        "/v1/adaccounts/{ad_account_id}",
        normalised(&account_id),
    )
    .await;
    let result = prelude.check(&sandbox, &headers).and_then(|call| {
        let account = readable_account(&sandbox, &account_id, "READ_ADACCOUNT")?;
        let mut item = wrap("adaccount", ad_account_object(&account));
        if call.malformed {
            break_first_item(std::slice::from_mut(&mut item), "adaccount");
        }
        let mut body = Json::object();
        body.push("request_status", "SUCCESS");
        body.push("request_id", request_id(&sandbox));
        body.push("adaccounts", vec![item]);
        Ok(body)
    });
    match result {
        Ok(body) => prelude.finish(wire::json_with_type(StatusCode::OK, &body, CONTENT_TYPE)),
        Err(error) => prelude.reject(&sandbox, error),
    }
}

/// `GET /v1/me/organizations?with_ad_accounts=true`: the user's organizations, each with its
/// readable ad accounts when asked.
pub(crate) async fn organizations(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let prelude = Prelude::begin(&sandbox, "/v1/me/organizations", None).await;
    let result = prelude.check(&sandbox, &headers).and_then(|call| {
        let with_accounts = match param(&params, "with_ad_accounts") {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(SnapError::bad_request(format!(
                    "Invalid with_ad_accounts {other}: expected true or false"
                )));
            }
        };
        let mut organizations = Vec::new();
        for (index, (id, name, account_ids)) in ORGANIZATIONS.iter().enumerate() {
            let seed = Seed::new("snapchat_ads/organization").with_str(id);
            let created = NaiveDate::from_ymd_opt(2021, 6, 1).unwrap_or(NaiveDate::MIN);
            let mut object = Json::object();
            object.push("id", *id);
            object.push("updated_at", utc_stamp(created, seed.with_u64(1)));
            object.push("created_at", utc_stamp(created, seed.with_u64(2)));
            object.push("name", *name);
            object.push("country", if index == 0 { "US" } else { "DE" });
            object.push("type", "ENTERPRISE");
            object.push("state", "ACTIVE");
            object.push("roles", serde_json::json!(["member"]));
            if with_accounts {
                let mut accounts: Vec<Json> = account_ids
                    .iter()
                    .filter_map(|account_id| sandbox.snapchat_ads().resolve(account_id))
                    .filter(|account| account.readable)
                    .map(|account| ad_account_object(&account))
                    .collect();
                if call.malformed
                    && index == 0
                    && let Some(first) = accounts.first_mut()
                {
                    first.set("currency", 840u64);
                }
                object.push("ad_accounts", accounts);
            }
            organizations.push(wrap("organization", object));
        }
        let mut body = Json::object();
        body.push("request_status", "SUCCESS");
        body.push("request_id", request_id(&sandbox));
        body.push("organizations", organizations);
        Ok(body)
    });
    match result {
        Ok(body) => prelude.finish(wire::json_with_type(StatusCode::OK, &body, CONTENT_TYPE)),
        Err(error) => prelude.reject(&sandbox, error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_other_lists() {
        let cursor = encode_cursor(7, 50);
        assert_eq!(decode_cursor(&cursor, 7), Some(50));
        assert_eq!(decode_cursor(&cursor, 8), None);
        assert_eq!(decode_cursor("%%%", 7), None);
    }

    #[test]
    fn every_ad_has_its_creative_listed() {
        let account = super::super::account(super::super::LARGE_ACCOUNT_ID).unwrap();
        let today: NaiveDate = "2025-06-30".parse().unwrap();
        let ads = items(&account, Edge::Ads, today);
        let creatives = items(&account, Edge::Creatives, today);
        assert_eq!(ads.len(), creatives.len());
        assert!(ads.len() > 50);
        assert_eq!(items(&account, Edge::Campaigns, today).len(), 55);
    }
}
