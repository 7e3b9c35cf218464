//! The request log: every platform request, and every request that matched no route, is recorded
//! by one middleware around the whole router.
//!
//! Platform handlers tell the middleware what they served by putting a [`Handled`] value in the
//! response's extensions; fallbacks put an [`UnknownRoute`]. Responses with neither (the control
//! API) are not recorded.

use std::collections::BTreeMap;

use axum::extract::{Query, Request, State};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::connector::Connector;
use crate::faults::FaultKind;
use crate::state::Sandbox;

/// What the sandbox recorded about one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The platform the request was for; `None` for unknown routes outside every platform prefix.
    pub connector: Option<Connector>,
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// The templated route within the platform, e.g. `/v{version}/act_{account_id}/insights`;
    /// `None` for unknown routes.
    pub route: Option<String>,
    /// The path as requested, including the platform prefix, e.g. `/meta_ads/v24.0/act_1/insights`.
    pub path: String,
    /// The query parameters (the last value wins for repeated names), with secrets such as
    /// `access_token` replaced by `"[redacted]"`.
    pub query: BTreeMap<String, String>,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The fault that fired on this request, if any.
    pub fault: Option<FaultKind>,
    /// The platform account the request was for, when the route names one.
    pub account_id: Option<String>,
    /// True when no route matched: the client called something the sandbox does not implement.
    pub unknown_route: bool,
    /// When the request arrived, on the sandbox clock.
    pub at: DateTime<Utc>,
}

/// Put in a response's extensions by a platform handler that recognised the route.
#[derive(Debug, Clone)]
pub(crate) struct Handled {
    pub(crate) connector: Connector,
    pub(crate) route: &'static str,
    pub(crate) account_id: Option<String>,
    pub(crate) fault: Option<FaultKind>,
}

impl Handled {
    /// Marks `response` as served by this route.
    pub(crate) fn attach(self, mut response: Response) -> Response {
        response.extensions_mut().insert(self);
        response
    }
}

/// Put in a response's extensions by a fallback: no route matched.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UnknownRoute {
    pub(crate) connector: Option<Connector>,
}

impl UnknownRoute {
    pub(crate) fn attach(self, mut response: Response) -> Response {
        response.extensions_mut().insert(self);
        response
    }
}

/// Query parameters whose values are secrets and never stored.
const SECRET_PARAMS: &[&str] = &[
    "access_token",
    "client_secret",
    "fb_exchange_token",
    "input_token",
    "refresh_token",
];

/// The query of `uri` as a map, secrets redacted. A query that does not parse gives an empty map.
fn redacted_query(uri: &Uri) -> BTreeMap<String, String> {
    let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(uri) else {
        return BTreeMap::new();
    };
    pairs
        .into_iter()
        .map(|(name, value)| {
            if SECRET_PARAMS.contains(&name.as_str()) {
                (name, "[redacted]".to_owned())
            } else {
                (name, value)
            }
        })
        .collect()
}

/// The middleware that records platform requests and unknown routes.
pub(crate) async fn record(
    State(sandbox): State<Sandbox>,
    request: Request,
    next: Next,
) -> Response {
    let at = sandbox.now();
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = redacted_query(request.uri());

    let response = next.run(request).await;

    let status = response.status().as_u16();
    let record = if let Some(handled) = response.extensions().get::<Handled>() {
        tracing::info!(
            connector = %handled.connector,
            method,
            route = handled.route,
            status,
            fault = handled.fault.map(FaultKind::as_str),
            "platform request"
        );
        RequestRecord {
            connector: Some(handled.connector),
            method,
            route: Some(handled.route.to_owned()),
            path,
            query,
            status,
            fault: handled.fault,
            account_id: handled.account_id.clone(),
            unknown_route: false,
            at,
        }
    } else if let Some(unknown) = response.extensions().get::<UnknownRoute>() {
        tracing::warn!(method, path, status, "request to an unknown route");
        RequestRecord {
            connector: unknown.connector,
            method,
            route: None,
            path,
            query,
            status,
            fault: None,
            account_id: None,
            unknown_route: true,
            at,
        }
    } else {
        return response;
    };
    sandbox.record(record);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_the_query_are_redacted() {
        let uri: Uri = "/x?access_token=abc&limit=5&client_secret=s"
            .parse()
            .unwrap();
        let query = redacted_query(&uri);
        assert_eq!(query["access_token"], "[redacted]");
        assert_eq!(query["client_secret"], "[redacted]");
        assert_eq!(query["limit"], "5");
    }
}
