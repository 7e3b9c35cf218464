//! `/openapi.json`: the OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! annotations and the request and answer types' `ToSchema` derives. It is a contract: a client
//! generated from it works against the server as it is.
//!
//! - Error answers are problem documents ([`crate::error::Problem`]) whose `code` is one of
//!   [`ProblemCode`]. Each error response is declared once, under `components/responses`
//!   ([`problems`]), and referenced: a handler lists the errors particular to it (403, 404,
//!   409, 502), and [`CommonErrors`] adds to every operation those that follow from its shape —
//!   401 where an API key is needed, 400, 413 and 422 where a JSON body is read, 413 for any
//!   other body, 422 where there are path or query parameters, 500 and 503 everywhere.
//! - Constraints (lengths, ranges, enums, formats) come from the same constants and closed sets
//!   the validation uses ([`schemas`]); a test probes the server at each declared bound.
//! - Operation ids are unique; a test checks the document against the router and the server.

use std::sync::OnceLock;

use axum::Json;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToResponse};

use super::{
    accounts, api_keys, connections, data_rights, destinations, jobs, oauth, stats, syncs, tenants,
    webhooks,
};
use crate::error::ProblemCode;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "adsync API",
        description = "Syncs ad-platform reports into Google Sheets and a warehouse. Authenticate with `Authorization: Bearer <API key>`. Bodies are JSON objects of at most 2 MiB. Errors are `application/problem+json` documents with a stable `code` and, for invalid input, the `field` at fault."
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
    components(
        schemas(crate::error::Problem, ProblemCode),
        responses(
            problems::InvalidRequest,
            problems::Unauthorized,
            problems::Forbidden,
            problems::NotFound,
            problems::Conflict,
            problems::PayloadTooLarge,
            problems::InvalidField,
            problems::Internal,
            problems::PlatformError,
            problems::Unavailable,
        )
    ),
    modifiers(&Operations, &CommonErrors)
)]
pub struct ApiDoc;

/// The error responses every operation shares, each declared once under
/// `components/responses` and referenced by name.
pub mod problems {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

    use crate::error::ProblemCode;

    /// A problem-document response whose `code` is one of `codes`.
    pub(crate) fn problem_response(description: &str, codes: &[ProblemCode]) -> Response {
        let codes: Vec<String> = codes
            .iter()
            .map(|code| format!("`{}`", code.as_str()))
            .collect();
        ResponseBuilder::new()
            .description(format!("{description} (code {})", codes.join(" or ")))
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    }

    macro_rules! problem {
        ($name:ident, $description:literal, $($code:ident),+) => {
            #[doc = $description]
            pub struct $name;

            impl $name {
                /// The codes this response carries.
                pub const CODES: &'static [ProblemCode] = &[$(ProblemCode::$code),+];
            }

            impl<'s> utoipa::ToResponse<'s> for $name {
                fn response() -> (&'s str, RefOr<Response>) {
                    (stringify!($name), problem_response($description, Self::CODES).into())
                }
            }
        };
    }

    problem!(
        InvalidRequest,
        "the request cannot be read: not JSON, or not Content-Type application/json",
        InvalidRequest
    );
    problem!(Unauthorized, "missing or invalid API key", Unauthorized);
    problem!(Forbidden, "this key may not use this route", Forbidden);
    problem!(NotFound, "not found (or another tenant's)", NotFound);
    problem!(Conflict, "the object's state does not allow it", Conflict);
    problem!(
        PayloadTooLarge,
        "the body is larger than 2 MiB",
        PayloadTooLarge
    );
    problem!(
        InvalidField,
        "a field, parameter or header is invalid; `field` names it",
        InvalidField
    );
    problem!(Internal, "adsync failed; the cause is logged", Internal);
    problem!(
        PlatformError,
        "the platform refused or failed a call made for the request",
        PlatformError
    );
    problem!(
        Unavailable,
        "PostgreSQL or RabbitMQ is unavailable, or the feature is not configured",
        Unavailable
    );
}

/// The bearer scheme, operation ids, and the routes served outside `/v1` (health, metrics,
/// this document).
struct Operations;

impl Modify for Operations {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        let plain = |path: &str, id: &str, summary: &str, answers: &[(&str, &str, &str)]| {
            let mut operation = OperationBuilder::new()
                .tag("operations")
                .operation_id(Some(id))
                .summary(Some(summary));
            for (status, description, content_type) in answers {
                operation = operation.response(
                    *status,
                    ResponseBuilder::new()
                        .description(*description)
                        .content(*content_type, ContentBuilder::new().build())
                        .build(),
                );
            }
            (
                path.to_owned(),
                PathItem::new(HttpMethod::Get, operation.build()),
            )
        };
        for (path, item) in [
            plain(
                "/healthz",
                "healthz",
                "Liveness",
                &[("200", "the process is up", "text/plain")],
            ),
            plain(
                "/readyz",
                "readyz",
                "Readiness",
                &[
                    ("200", "PostgreSQL and RabbitMQ answer", "text/plain"),
                    (
                        "503",
                        "PostgreSQL or RabbitMQ does not answer (named in the body)",
                        "text/plain",
                    ),
                ],
            ),
            plain(
                "/metrics",
                "metrics",
                "Prometheus metrics",
                &[("200", "metrics in the Prometheus text format", "text/plain")],
            ),
            plain(
                "/openapi.json",
                "openapi",
                "This document",
                &[("200", "the OpenAPI document", "application/json")],
            ),
        ] {
            openapi.paths.paths.insert(path, item);
        }
        // Discovery's body may be left out (it then only lists).
        if let Some(body) = openapi
            .paths
            .paths
            .get_mut("/v1/connections/{id}/accounts/discover")
            .and_then(|item| item.post.as_mut())
            .and_then(|operation| operation.request_body.as_mut())
        {
            body.required = Some(Required::False);
        }
        // A webhook's body is opaque bytes of any type, signed as they are, and may be empty.
        if let Some(trigger) = openapi
            .paths
            .paths
            .get_mut("/v1/hooks/{sync_id}")
            .and_then(|item| item.post.as_mut())
        {
            trigger.request_body = Some(
                RequestBodyBuilder::new()
                    .description(Some(
                        "any bytes, of any content type, at most 2 MiB, opaque to adsync; the signature covers them byte for byte",
                    ))
                    .content(
                        "application/octet-stream",
                        ContentBuilder::new()
                            .schema(Some(
                                ObjectBuilder::new()
                                    .schema_type(Type::String)
                                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary))),
                            ))
                            .build(),
                    )
                    .required(Some(Required::False))
                    .build(),
            );
        }
    }
}

/// Adds to every `/v1` operation the error responses that follow from its shape, unless the
/// handler declared that status itself (with more codes).
struct CommonErrors;

impl CommonErrors {
    fn add(operation: &mut Operation) {
        let secured = operation
            .security
            .as_ref()
            .and_then(|security| serde_json::to_value(security).ok())
            .is_some_and(|value| value.to_string().contains("api_key"));
        let json_body = operation
            .request_body
            .as_ref()
            .map(|body| body.content.contains_key("application/json"));
        let parameters = operation.parameters.as_ref().is_some_and(|parameters| {
            parameters.iter().any(|parameter| {
                matches!(
                    parameter.parameter_in,
                    ParameterIn::Path | ParameterIn::Query
                )
            })
        });
        let mut common: Vec<(&str, &str)> = Vec::new();
        match json_body {
            Some(true) => common.extend([
                ("400", problems::InvalidRequest::response().0),
                ("413", problems::PayloadTooLarge::response().0),
                ("422", problems::InvalidField::response().0),
            ]),
            Some(false) => common.push(("413", problems::PayloadTooLarge::response().0)),
            None => {}
        }
        if secured {
            common.push(("401", problems::Unauthorized::response().0));
        }
        if parameters {
            common.push(("422", problems::InvalidField::response().0));
        }
        common.extend([
            ("500", problems::Internal::response().0),
            ("503", problems::Unavailable::response().0),
        ]);
        for (status, name) in common {
            operation
                .responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
        }
    }
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            if !path.starts_with("/v1/") {
                continue;
            }
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                Self::add(operation);
            }
        }
    }
}

/// Schemas built from the constants and closed sets the validation uses, for fields whose
/// derived schema would say less than the server checks (`#[schema(schema_with = …)]`).
pub mod schemas {
    use shared::domain::report::{Breakdown, Metric, ReportLevel, Stream};
    use shared::domain::text::{NAME_MAX_CHARS, TOKEN_MAX_BYTES};
    use shared::domain::{ConnectorKind, DestinationKind, JobState, Plan};
    use utoipa::openapi::schema::{
        ArrayBuilder, KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
    };
    use utoipa::openapi::{RefOr, schema::OneOfBuilder};

    /// Visible ASCII, as tokens are.
    const TOKEN_PATTERN: &str = "^[!-~]+$";

    /// One line without control characters, as names are.
    const NAME_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029]+$";

    fn string() -> ObjectBuilder {
        ObjectBuilder::new().schema_type(Type::String)
    }

    fn nullable(builder: ObjectBuilder) -> ObjectBuilder {
        builder.schema_type(SchemaType::from_iter([Type::String, Type::Null]))
    }

    fn one_of<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> ObjectBuilder {
        string().enum_values(Some(all.iter().map(|item| name(*item))))
    }

    /// An optional string that may also be `null` (added to its value set, if it has one).
    fn optional(builder: ObjectBuilder) -> Object {
        let mut schema = nullable(builder).build();
        if let Some(values) = schema.enum_values.as_mut() {
            values.push(serde_json::Value::Null);
        }
        schema
    }

    pub fn name() -> Object {
        string()
            .min_length(Some(1))
            .max_length(Some(NAME_MAX_CHARS))
            .pattern(Some(NAME_PATTERN))
            .description(Some(
                "1 to 200 characters on one line, not blank (invisible characters do not count), without control characters; surrounding spaces are removed",
            ))
            .build()
    }

    pub fn token() -> Object {
        string()
            .min_length(Some(1))
            .max_length(Some(TOKEN_MAX_BYTES))
            .pattern(Some(TOKEN_PATTERN))
            .description(Some("visible ASCII: no spaces or control characters"))
            .build()
    }

    pub fn optional_token() -> Object {
        optional(
            string()
                .min_length(Some(1))
                .max_length(Some(TOKEN_MAX_BYTES))
                .pattern(Some(TOKEN_PATTERN)),
        )
    }

    /// An OAuth authorisation code as platforms issue it.
    pub fn code() -> Object {
        string()
            .min_length(Some(1))
            .max_length(Some(crate::routes::oauth::CODE_MAX_BYTES))
            .pattern(Some(TOKEN_PATTERN))
            .build()
    }

    pub fn plan() -> Object {
        optional(one_of(&Plan::ALL, Plan::as_str).description(Some("free when absent")))
    }

    pub fn plan_value() -> Object {
        one_of(&Plan::ALL, Plan::as_str).build()
    }

    pub fn connector() -> Object {
        one_of(&ConnectorKind::ALL, ConnectorKind::as_str).build()
    }

    /// The platforms with an OAuth flow.
    pub fn oauth_platform() -> Object {
        let platforms: Vec<ConnectorKind> = ConnectorKind::ALL
            .into_iter()
            .filter(|connector| crate::routes::oauth::has_oauth(*connector))
            .collect();
        one_of(&platforms, ConnectorKind::as_str).build()
    }

    pub fn destination_kind() -> Object {
        one_of(&DestinationKind::ALL, DestinationKind::as_str).build()
    }

    pub fn job_state() -> Object {
        one_of(&JobState::ALL, JobState::as_str)
            .description(Some("only jobs in this state"))
            .build()
    }

    pub fn level() -> Object {
        one_of(&ReportLevel::ALL, ReportLevel::as_str).build()
    }

    pub fn stream() -> Object {
        optional(one_of(&Stream::ALL, Stream::as_str).description(Some("performance when absent")))
    }

    pub fn metrics() -> ArrayBuilder {
        ArrayBuilder::new().items(one_of(&Metric::ALL, Metric::as_str))
    }

    pub fn metric_list() -> utoipa::openapi::schema::Array {
        metrics()
            .description(Some(
                "the metrics the connector's catalogue offers at this level; at least one for a performance report, none for entities",
            ))
            .build()
    }

    pub fn breakdown_list() -> utoipa::openapi::schema::Array {
        ArrayBuilder::new()
            .items(one_of(&Breakdown::ALL, Breakdown::as_str))
            .description(Some(
                "the breakdowns the connector's catalogue offers at this level",
            ))
            .build()
    }

    pub fn day() -> Object {
        string()
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .pattern(Some("^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))
            .description(Some("YYYY-MM-DD"))
            .build()
    }

    fn timestamp_string() -> ObjectBuilder {
        string()
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some(
                "RFC 3339 with a time zone, such as 2026-01-31T00:00:00Z",
            ))
    }

    pub fn timestamp() -> Object {
        timestamp_string().build()
    }

    pub fn optional_timestamp() -> Object {
        optional(timestamp_string())
    }

    pub fn currency() -> Object {
        string()
            .pattern(Some("^[A-Z]{3}$"))
            .description(Some("ISO 4217 code, such as EUR"))
            .build()
    }

    fn time_zones() -> ObjectBuilder {
        string().enum_values(Some(shared::domain::schedule::time_zone_names()))
    }

    pub fn time_zone() -> Object {
        time_zones()
            .description(Some("IANA time zone, such as Europe/Berlin"))
            .build()
    }

    pub fn optional_time_zone() -> Object {
        optional(time_zones().description(Some(
            "IANA time zone, such as Europe/Berlin; the account's when absent",
        )))
    }

    pub fn external_id() -> Object {
        string()
            .min_length(Some(1))
            .max_length(Some(crate::routes::accounts::EXTERNAL_ID_MAX_CHARS))
            .description(Some(
                "the platform's account id: Meta digits (optionally after act_), a Google Ads customer id (10 digits, hyphens allowed), TikTok digits, a Snapchat UUID, an AppsFlyer app id",
            ))
            .build()
    }

    pub fn redirect_uri() -> Object {
        string()
            .format(Some(SchemaFormat::Custom("uri".into())))
            .min_length(Some(1))
            .max_length(Some(crate::routes::oauth::REDIRECT_URI_MAX_CHARS))
            .description(Some("an absolute http(s) URL without a fragment"))
            .build()
    }

    /// A warehouse's PostgreSQL URL.
    pub fn optional_database_url() -> Object {
        optional(
            string()
                .format(Some(SchemaFormat::Custom("uri".into())))
                .pattern(Some("^postgres(ql)?://[!-~]+$"))
                .max_length(Some(crate::routes::destinations::URL_MAX_BYTES)),
        )
    }

    fn integer(minimum: i64, maximum: i64, null: bool) -> Object {
        let types = if null {
            SchemaType::from_iter([Type::Integer, Type::Null])
        } else {
            SchemaType::from(Type::Integer)
        };
        ObjectBuilder::new()
            .schema_type(types)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
            .minimum(Some(minimum as f64))
            .maximum(Some(maximum as f64))
            .build()
    }

    pub fn max_running_jobs() -> Object {
        let (min, max) = crate::routes::tenants::MAX_RUNNING_JOBS;
        integer(i64::from(min), i64::from(max), true)
    }

    pub fn lookback_days() -> Object {
        let (min, max) = crate::routes::syncs::LOOKBACK_DAYS;
        integer(i64::from(min), i64::from(max), true)
    }

    pub fn fresh_days() -> Object {
        let (min, max) = crate::routes::syncs::LOOKBACK_DAYS;
        let mut schema = integer(i64::from(min), i64::from(max), true);
        schema.description = Some("at most lookback_days".into());
        schema
    }

    pub fn limit() -> Object {
        let (min, max) = crate::routes::jobs::LIMIT;
        let mut schema = integer(i64::from(min), i64::from(max), false);
        schema.description = Some("jobs per page; 50 when absent".into());
        schema
    }

    /// A connection's platform settings: Google Ads takes `login_customer_id`, the others
    /// none.
    pub fn connection_settings() -> Object {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
            .property(
                "login_customer_id",
                string()
                    .pattern(Some("^[0-9]{10}$"))
                    .description(Some("Google Ads only: the manager account's 10-digit id")),
            )
            .additional_properties(Some(false_schema()))
            .build()
    }

    fn false_schema() -> utoipa::openapi::schema::AdditionalProperties<Schema> {
        utoipa::openapi::schema::AdditionalProperties::FreeForm(false)
    }

    /// A destination's settings, by kind.
    pub fn destination_settings() -> RefOr<Schema> {
        let warehouse = ObjectBuilder::new()
            .title(Some("warehouse"))
            .property(
                "schema",
                string()
                    .pattern(Some("^[a-z_][a-z0-9_]{0,62}$"))
                    .description(Some("the PostgreSQL schema; warehouse when absent")),
            )
            .additional_properties(Some(false_schema()));
        let sheets = ObjectBuilder::new()
            .title(Some("google_sheets"))
            .property(
                "spreadsheet_id",
                string().pattern(Some("^[A-Za-z0-9_-]{10,100}$")),
            )
            .required("spreadsheet_id")
            .property(
                "tab",
                string()
                    .min_length(Some(1))
                    .max_length(Some(shared::domain::destination::TAB_MAX_CHARS)),
            )
            .required("tab")
            .additional_properties(Some(false_schema()));
        RefOr::T(Schema::OneOf(
            OneOfBuilder::new()
                .item(warehouse)
                .item(sheets)
                .item(ObjectBuilder::new().schema_type(Type::Null))
                .description(Some(
                    "warehouse: `schema`; google_sheets: `spreadsheet_id` and `tab`",
                ))
                .build(),
        ))
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
