//! `GET /v{N}/customers:listAccessibleCustomers`: the customers the OAuth user reaches directly
//! (`{"resourceNames":["customers/1234567890",…]}`); client accounts under a manager are not
//! listed here (they are found with a `customer_client` query on the manager).

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::{CONTENT_TYPE, Prelude, REQUEST_ID_HEADER};
use crate::faults::FaultKind;
use crate::state::Sandbox;
use crate::wire;

/// The templated route, as recorded in the request log.
pub(crate) const ROUTE: &str = "/v{version}/customers:listAccessibleCustomers";

/// The handler.
pub(crate) async fn handler(
    State(sandbox): State<Sandbox>,
    OriginalUri(uri): OriginalUri,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    let prelude = Prelude::begin(&sandbox, ROUTE, &version, None, &uri).await;
    let admitted = match prelude.admit(&sandbox, &headers) {
        Ok(admitted) => admitted,
        Err(rejection) => return prelude.reject(&sandbox, rejection),
    };
    let names: Vec<String> = sandbox
        .google_ads()
        .config
        .accessible_customers
        .iter()
        .map(|id| format!("customers/{id}"))
        .collect();
    let body = if prelude.fault_kind() == Some(FaultKind::Malformed) {
        // A single string where the list belongs.
        json!({ "resourceNames": names.join(",") })
    } else {
        json!({ "resourceNames": names })
    };
    let mut response = wire::json_with_type(StatusCode::OK, &body, CONTENT_TYPE);
    if let Ok(value) = HeaderValue::from_str(&admitted.request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    prelude.finish(response)
}
