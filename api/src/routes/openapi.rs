//! `/openapi.json`: the OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! annotations and the request and answer types' `ToSchema` derives. Every error is a problem
//! document ([`crate::error::Problem`]) with a stable `code`. A test checks that every route of
//! the router is in the document.

use std::sync::OnceLock;

use axum::Json;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::{
    accounts, api_keys, connections, data_rights, destinations, jobs, oauth, stats, syncs, tenants,
    webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "adsync API",
        description = "Syncs ad-platform reports into Google Sheets and a warehouse. Authenticate with `Authorization: Bearer <API key>`. Errors are `application/problem+json` documents with a stable `code` and, for invalid input, the `field` at fault."
    ),
    paths(
        tenants::create,
        tenants::list,
        tenants::get,
        tenants::update,
        api_keys::create,
        api_keys::list,
        api_keys::revoke,
        connections::create,
        connections::list,
        connections::get,
        connections::delete,
        connections::discover,
        oauth::authorize,
        oauth::callback_get,
        oauth::callback_post,
        accounts::create,
        accounts::list,
        accounts::get,
        destinations::create,
        destinations::list,
        destinations::get,
        syncs::create,
        syncs::list,
        syncs::get,
        syncs::run,
        syncs::backfill,
        webhooks::create,
        webhooks::delete,
        webhooks::trigger,
        jobs::list,
        jobs::get,
        jobs::cancel,
        jobs::retry,
        stats::get,
        data_rights::export,
        data_rights::delete,
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&Operations)
)]
pub struct ApiDoc;

/// The bearer scheme, and the routes served outside `/v1` (health, metrics, this document).
struct Operations;

impl Modify for Operations {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        let plain = |path: &str, summary: &str, description: &str, content_type: &str| {
            let operation = OperationBuilder::new()
                .tag("operations")
                .summary(Some(summary))
                .response(
                    "200",
                    ResponseBuilder::new()
                        .description(description)
                        .content(content_type, ContentBuilder::new().build())
                        .build(),
                )
                .build();
            (path.to_owned(), PathItem::new(HttpMethod::Get, operation))
        };
        for (path, item) in [
            plain("/healthz", "Liveness", "the process is up", "text/plain"),
            plain(
                "/readyz",
                "Readiness",
                "PostgreSQL and RabbitMQ answer (503 otherwise)",
                "text/plain",
            ),
            plain(
                "/metrics",
                "Prometheus metrics",
                "metrics in the Prometheus text format",
                "text/plain",
            ),
            plain(
                "/openapi.json",
                "This document",
                "the OpenAPI document",
                "application/json",
            ),
        ] {
            openapi.paths.paths.insert(path, item);
        }
    }
}

/// The document as JSON, built once.
pub fn document() -> &'static serde_json::Value {
    static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        serde_json::to_value(ApiDoc::openapi()).unwrap_or_else(|error| {
            serde_json::json!({"error": format!("the OpenAPI document could not be built: {error}")})
        })
    })
}

pub async fn serve() -> Response {
    let mut response = Json(document()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=300"),
    );
    response
}
