//! AppsFlyer's error answers, each in the shape the platform sends it: JSON `{"message": …}` for
//! bad requests and refused tokens, a plain-text `Limit reached for <report>` (HTTP 403) when an
//! aggregate quota is used up, an HTML page for an unknown app (HTTP 404), plain text for bursts
//! (HTTP 429) and server errors, and a gateway's HTML page when a report takes too long (504).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::json;

use crate::wire;

/// One error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AppsflyerError {
    /// HTTP 400: a parameter is missing or wrong; the message says which.
    BadRequest(String),
    /// HTTP 401: no token, or a token AppsFlyer does not accept (revoked, regenerated).
    Unauthorized,
    /// HTTP 404: the app id is unknown or the token's account cannot see it.
    AppNotFound,
    /// HTTP 403: an aggregate report's quota is used up for today (or this minute).
    LimitReached(&'static str),
    /// HTTP 429: too many calls in a burst.
    TooManyRequests,
    /// HTTP 500: a server failure.
    ServerError,
    /// HTTP 504: the report took too long to build; asking for less data helps.
    GatewayTimeout,
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

const NOT_FOUND_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>AppsFlyer - Page not found</title></head>\n<body><h1>404</h1><p>The page you are looking for does not exist.</p></body></html>\n";

const GATEWAY_TIMEOUT_PAGE: &str = "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n";

impl AppsflyerError {
    /// The HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            AppsflyerError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppsflyerError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppsflyerError::AppNotFound => StatusCode::NOT_FOUND,
            AppsflyerError::LimitReached(_) => StatusCode::FORBIDDEN,
            AppsflyerError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppsflyerError::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            AppsflyerError::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The answer.
    pub(crate) fn into_response(self) -> Response {
        let status = self.status();
        match self {
            AppsflyerError::BadRequest(message) => {
                wire::json(status, &json!({ "message": message }))
            }
            AppsflyerError::Unauthorized => wire::json(
                status,
                &json!({ "message": "Supplied API token is invalid" }),
            ),
            AppsflyerError::AppNotFound => text(
                status,
                "text/html; charset=utf-8",
                NOT_FOUND_PAGE.to_owned(),
            ),
            AppsflyerError::LimitReached(report) => text(
                status,
                "text/plain; charset=utf-8",
                format!("Limit reached for {report}"),
            ),
            AppsflyerError::TooManyRequests => text(
                status,
                "text/plain; charset=utf-8",
                "Too many requests".to_owned(),
            ),
            AppsflyerError::ServerError => text(
                status,
                "text/plain; charset=utf-8",
                "Internal Server Error".to_owned(),
            ),
            AppsflyerError::GatewayTimeout => {
                text(status, "text/html", GATEWAY_TIMEOUT_PAGE.to_owned())
            }
        }
    }
}
