//! `GET /api/mng/apps`: the management API's app list, the apps the token's account reaches with
//! their time zone and currency settings, JSON:API style, paged with `limit` (at most 1,000) and
//! `offset`, `links.next` pointing at the next page while there is one.
//!
//! Every token reaches the same apps, [`super::LISTED_APP_IDS`].

use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde::Serialize;
use serde_json::{Value, json};

use super::errors::AppsflyerError;
use super::world;
use super::world::{AppFacts, LISTED_APP_IDS};
use super::{Prelude, param};
use crate::state::Sandbox;
use crate::wire;

/// The templated route, as recorded in the request log.
pub(crate) const ROUTE: &str = "/api/mng/apps";

/// The page size when `limit` is absent, and the largest accepted.
const MAX_LIMIT: usize = 1_000;

#[derive(Debug, Serialize)]
struct Page {
    data: Vec<Value>,
    meta: Meta,
    links: Links,
}

#[derive(Debug, Serialize)]
struct Meta {
    total_items: usize,
}

#[derive(Debug, Serialize)]
struct Links {
    #[serde(rename = "self")]
    this: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

fn app_json(app: &AppFacts, malformed: bool) -> Value {
    let mut attributes = json!({
        "name": app.name,
        "platform": app.platform.as_str(),
        "currency": app.currency.code(),
        "time_zone": app.time_zone.name(),
    });
    if app.retargeting {
        attributes["enable_retargetting"] = Value::Bool(true);
    }
    if malformed {
        // A currency that is not a string breaks the page's format.
        attributes["currency"] = json!(840);
    }
    json!({ "id": app.id, "type": "app", "attributes": attributes })
}

fn count(params: &[(String, String)], name: &str, default: usize) -> Result<usize, AppsflyerError> {
    match param(params, name) {
        None | Some("") => Ok(default),
        Some(text) => text.parse::<usize>().map_err(|_| {
            AppsflyerError::BadRequest(format!("Invalid {name}: {text}; it must be a number"))
        }),
    }
}

fn page(params: &[(String, String)], base: &str, malformed: bool) -> Result<Page, AppsflyerError> {
    match param(params, "capabilities") {
        None | Some("" | "protect_360" | "cost") => {}
        Some(other) => {
            return Err(AppsflyerError::BadRequest(format!(
                "Invalid capabilities: {other}"
            )));
        }
    }
    let limit = count(params, "limit", MAX_LIMIT)?;
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppsflyerError::BadRequest(format!(
            "Invalid limit: {limit}; it must be between 1 and {MAX_LIMIT}"
        )));
    }
    let offset = count(params, "offset", 0)?;
    let apps: Vec<AppFacts> = LISTED_APP_IDS
        .iter()
        .filter_map(|id| world::app(id))
        .collect();
    let total = apps.len();
    let link = |offset: usize| format!("{base}?offset={offset}&limit={limit}");
    let data = apps
        .iter()
        .skip(offset)
        .take(limit)
        .enumerate()
        .map(|(index, app)| app_json(app, malformed && index == 0))
        .collect();
    Ok(Page {
        data,
        meta: Meta { total_items: total },
        links: Links {
            this: link(offset),
            prev: (offset > 0).then(|| link(offset.saturating_sub(limit))),
            next: (offset + limit < total).then(|| link(offset + limit)),
        },
    })
}

/// The handler.
pub(crate) async fn handler(
    State(sandbox): State<Sandbox>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let params = query.map(|Query(params)| params).unwrap_or_default();
    let prelude = Prelude::begin(&sandbox, ROUTE, None).await;
    let result = prelude
        .check(&sandbox, &headers, AppsflyerError::TooManyRequests)
        .and_then(|call| {
            let state = sandbox.appsflyer();
            state
                .quotas
                .admit_app_list(sandbox.limits_now(), &state.config, &call.token)?;
            page(&params, &base_url(&headers, &uri), prelude.malformed())
        });
    let response = match result {
        Ok(page) => wire::json(StatusCode::OK, &page),
        Err(error) => error.into_response(),
    };
    prelude.finish(response)
}

fn base_url(headers: &HeaderMap, uri: &Uri) -> String {
    format!("{}{}", wire::origin(headers, uri), uri.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn pages_link_to_the_next_one_until_the_last() {
        let base = "http://h/appsflyer/api/mng/apps";
        let first = page(&params(&[("limit", "3")]), base, false).unwrap();
        assert_eq!(first.data.len(), 3);
        assert_eq!(first.meta.total_items, LISTED_APP_IDS.len());
        assert_eq!(
            first.links.next.as_deref(),
            Some(&*format!("{base}?offset=3&limit=3"))
        );
        assert_eq!(first.links.prev, None);
        let last = page(&params(&[("limit", "3"), ("offset", "6")]), base, false).unwrap();
        assert_eq!(last.data.len(), LISTED_APP_IDS.len() - 6);
        assert_eq!(last.links.next, None);
        assert!(page(&params(&[("limit", "0")]), base, false).is_err());
        assert!(page(&params(&[("limit", "1001")]), base, false).is_err());
    }
}
