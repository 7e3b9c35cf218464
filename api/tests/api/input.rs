//! Every input that reaches PostgreSQL, tested wrong by class across every route: a NUL in any
//! text, a name of invisible characters, an array where an object belongs, a date or instant
//! written otherwise than the API's one format, a token adsync could not send. Each answers 422
//! naming the field and leaves nothing written.

use reqwest::Method;
use serde_json::{Value, json};
use testkit::world::OPERATOR_KEY;

use crate::{Setup, created, problem, setup};

/// A JSON route (its path and the template the OpenAPI document lists it under), the key it
/// needs, and a body it accepts.
pub(crate) struct Route {
    pub(crate) method: Method,
    pub(crate) template: &'static str,
    pub(crate) path: String,
    pub(crate) key: Option<String>,
    pub(crate) body: Value,
}

impl Route {
    fn new(
        method: Method,
        template: &'static str,
        path: impl Into<String>,
        key: Option<&str>,
        body: Value,
    ) -> Self {
        Self {
            method,
            template,
            path: path.into(),
            key: key.map(str::to_owned),
            body,
        }
    }

    pub(crate) fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    pub(crate) async fn send(&self, setup: &Setup, body: &Value) -> (u16, Value) {
        setup
            .api
            .request(
                self.method.clone(),
                &self.path,
                self.key.as_deref(),
                Some(body),
            )
            .await
    }
}

/// Every route with a JSON body, each with a body it accepts, for the setup's tenant
/// (`tenant_id` is another tenant, which the operator may change).
pub(crate) async fn json_routes(setup: &Setup, tenant_id: &str) -> Vec<Route> {
    let (status, authorized) = setup
        .api
        .post(
            "/v1/connections/meta_ads/authorize",
            &setup.key,
            &json!({"name": "For the callback", "redirect_uri": "https://app.example.com/done"}),
        )
        .await;
    assert_eq!(status, 200, "{authorized}");
    let state = authorized["state"].as_str().unwrap();
    let key = Some(setup.key.as_str());
    let connection = setup.connection["id"].as_str().unwrap();
    let sync = setup.sync["id"].as_str().unwrap();
    let day = chrono::Utc::now().date_naive() - chrono::Duration::days(3);
    let day = day.to_string();
    vec![
        Route::new(
            Method::POST,
            "/v1/tenants",
            "/v1/tenants",
            Some(OPERATOR_KEY),
            json!({"name": "Tenant", "plan": "pro", "max_running_jobs": 5}),
        ),
        Route::new(
            Method::PATCH,
            "/v1/tenants/{id}",
            format!("/v1/tenants/{tenant_id}"),
            Some(OPERATOR_KEY),
            json!({"plan": "enterprise", "max_running_jobs": 50}),
        ),
        Route::new(
            Method::POST,
            "/v1/api_keys",
            "/v1/api_keys",
            key,
            json!({"name": "ci"}),
        ),
        Route::new(
            Method::POST,
            "/v1/connections",
            "/v1/connections",
            key,
            json!({"connector": "google_ads", "name": "Google", "access_token": "ya29.a-b_c~d+e/f=",
                   "refresh_token": "1//0g-refresh", "access_token_expires_at": "2030-01-31T09:30:00+02:00",
                   "settings": {"login_customer_id": "1234567890"}}),
        ),
        Route::new(
            Method::POST,
            "/v1/accounts",
            "/v1/accounts",
            key,
            json!({"connection_id": connection, "external_id": "act_77", "name": "Shop",
                   "time_zone": "Europe/Berlin", "currency": "EUR"}),
        ),
        Route::new(
            Method::POST,
            "/v1/destinations",
            "/v1/destinations",
            key,
            json!({"kind": "warehouse", "name": "DWH", "settings": {"schema": "ads"},
                   "credentials": {"url": "postgres://u:p@db.example:5432/ads"}}),
        ),
        Route::new(
            Method::POST,
            "/v1/destinations",
            "/v1/destinations",
            key,
            json!({"kind": "google_sheets", "name": "Sheet",
                   "settings": {"spreadsheet_id": "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms", "tab": "Meta"},
                   "credentials": {"access_token": "ya29.sheets", "refresh_token": "1//sheets",
                                   "access_token_expires_at": "2030-01-31T00:00:00Z"}}),
        ),
        Route::new(
            Method::POST,
            "/v1/syncs",
            "/v1/syncs",
            key,
            json!({"account_id": setup.account["id"], "destination_id": setup.destination["id"],
                   "report": {"stream": "performance", "level": "campaign", "metrics": ["impressions", "spend"], "breakdowns": ["country"]},
                   "schedule": {"cron": "0 6 * * *", "time_zone": "Europe/Berlin"},
                   "lookback_days": 400, "fresh_days": 2, "enabled": true}),
        ),
        Route::new(
            Method::POST,
            "/v1/syncs/{id}/backfill",
            format!("/v1/syncs/{sync}/backfill"),
            key,
            json!({"from": day, "to": day}),
        ),
        Route::new(
            Method::POST,
            "/v1/connections/{platform}/authorize",
            "/v1/connections/meta_ads/authorize",
            key,
            json!({"name": "Meta", "redirect_uri": "https://app.example.com/done"}),
        ),
        Route::new(
            Method::POST,
            "/v1/connections/callback",
            "/v1/connections/callback",
            None,
            json!({"code": "meta-code", "state": state}),
        ),
        Route::new(
            Method::POST,
            "/v1/connections/{id}/accounts/discover",
            format!("/v1/connections/{connection}/accounts/discover"),
            key,
            json!({"create": false}),
        ),
    ]
}

/// Every `(path, value)` leaf of a JSON value, paths written as the API names fields.
pub(crate) fn leaves(value: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(fields) => {
            for (key, item) in fields {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                leaves(item, &path, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                leaves(item, &format!("{path}[{i}]"), out);
            }
        }
        other => out.push((path.to_owned(), other.clone())),
    }
}

/// Every path of an object in a JSON value (`""` for the value itself).
fn objects(value: &Value, path: &str, out: &mut Vec<String>) {
    if let Value::Object(fields) = value {
        out.push(path.to_owned());
        for (key, item) in fields {
            let path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            objects(item, &path, out);
        }
    }
}

/// `value` with the element at `path` (as [`leaves`] and [`objects`] write it) replaced.
pub(crate) fn replaced(value: &Value, path: &str, new: Value) -> Value {
    let mut copy = value.clone();
    if path.is_empty() {
        return new;
    }
    let mut target = &mut copy;
    for part in path.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        target = &mut target[key];
        if let Some(index) = index {
            target = &mut target[index];
        }
    }
    *target = new;
    copy
}

/// Rows of every table a request could write.
async fn row_counts(setup: &Setup) -> Vec<i64> {
    let client = setup.world.pool.get().await.unwrap();
    let mut counts = Vec::new();
    for table in [
        "tenants",
        "api_keys",
        "connections",
        "accounts",
        "destinations",
        "syncs",
        "jobs",
        "oauth_states",
    ] {
        let row = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap();
        counts.push(row.get(0));
    }
    counts
}

fn assert_refused(route: &Route, response: &(u16, Value), field: &str, what: &str) {
    assert_eq!(
        problem(response),
        (422, "invalid_field", field),
        "{} with {what}: {}",
        route.name(),
        response.1
    );
}

#[tokio::test]
async fn a_nul_in_any_text_of_any_body_is_refused_naming_the_field() {
    let setup = setup().await;
    let (tenant_id, _) = setup.api.create_tenant("Other").await;
    let routes = json_routes(&setup, &tenant_id).await;
    let before = row_counts(&setup).await;
    let mut checked = 0;
    for route in &routes {
        let mut fields = Vec::new();
        leaves(&route.body, "", &mut fields);
        for (path, value) in fields {
            let Value::String(text) = value else {
                continue;
            };
            let spoiled = replaced(&route.body, &path, json!(format!("{text}\u{0}")));
            let response = route.send(&setup, &spoiled).await;
            assert_refused(route, &response, &path, "a NUL");
            assert!(
                response.1["detail"].as_str().unwrap().contains("U+0000"),
                "{}",
                response.1
            );
            checked += 1;
        }
    }
    assert!(checked > 30, "{checked} fields");
    // The callback's `error`, which the platform sets instead of `code`.
    let response = setup
        .api
        .request(
            Method::POST,
            "/v1/connections/callback",
            None,
            Some(&json!({"state": "a.b", "error": "access\u{0}denied"})),
        )
        .await;
    assert_eq!(problem(&response), (422, "invalid_field", "error"));
    // In a query string too.
    let response = setup.api.get("/v1/jobs?state=running%00", &setup.key).await;
    assert_eq!(problem(&response), (422, "invalid_field", "state"));
    let response = setup
        .api
        .get("/v1/jobs?created_after=2026-01-01T00:00:00Z%00", &setup.key)
        .await;
    assert_eq!(problem(&response), (422, "invalid_field", "created_after"));
    assert_eq!(row_counts(&setup).await, before, "nothing was written");
    setup.world.stop().await;
}

#[tokio::test]
async fn an_array_where_an_object_belongs_is_refused_naming_it() {
    let setup = setup().await;
    let (tenant_id, _) = setup.api.create_tenant("Other").await;
    let routes = json_routes(&setup, &tenant_id).await;
    let before = row_counts(&setup).await;
    for route in &routes {
        let mut paths = Vec::new();
        objects(&route.body, "", &mut paths);
        for path in paths {
            let object = route.body.pointer(&pointer(&path)).unwrap().clone();
            let values: Vec<Value> = object.as_object().unwrap().values().cloned().collect();
            let spoiled = replaced(&route.body, &path, Value::Array(values));
            let response = route.send(&setup, &spoiled).await;
            let field = if path.is_empty() { "body" } else { &path };
            assert_refused(route, &response, field, "an array");
        }
    }
    // The example: a plan change posted as an array changes nothing.
    let path = format!("/v1/tenants/{tenant_id}");
    let response = setup
        .api
        .request(
            Method::PATCH,
            &path,
            Some(OPERATOR_KEY),
            Some(&json!(["enterprise", 50])),
        )
        .await;
    assert_eq!(problem(&response), (422, "invalid_field", "body"));
    let (_, tenant) = setup.api.get(&path, OPERATOR_KEY).await;
    assert_eq!(tenant["plan"], "free");
    assert_eq!(row_counts(&setup).await, before, "nothing was written");
    setup.world.stop().await;
}

/// The JSON pointer of a field path (`report.level` → `/report/level`).
pub(crate) fn pointer(path: &str) -> String {
    if path.is_empty() {
        return String::new();
    }
    path.split('.').map(|part| format!("/{part}")).collect()
}

#[tokio::test]
async fn a_name_of_invisible_characters_or_control_characters_is_refused() {
    let setup = setup().await;
    let (tenant_id, _) = setup.api.create_tenant("Other").await;
    let routes = json_routes(&setup, &tenant_id).await;
    let before = row_counts(&setup).await;
    let names = [
        ("/v1/tenants", "name"),
        ("/v1/api_keys", "name"),
        ("/v1/connections", "name"),
        ("/v1/accounts", "name"),
        ("/v1/destinations", "name"),
        ("/v1/destinations", "settings.tab"),
        ("/v1/connections/meta_ads/authorize", "name"),
    ];
    for bad in [
        "\u{200B}\u{200B}\u{200B}",
        "\u{FEFF}\u{2060} \u{3164}",
        "\u{00A0}\u{2800}",
        "two\nlines",
        "bell\u{7}",
        "a\u{85}b",
    ] {
        for (path, field) in names {
            for route in routes
                .iter()
                .filter(|route| route.path == path && route.body.pointer(&pointer(field)).is_some())
            {
                let spoiled = replaced(&route.body, field, json!(bad));
                let response = route.send(&setup, &spoiled).await;
                assert_refused(route, &response, field, &format!("{bad:?}"));
            }
        }
    }
    assert_eq!(row_counts(&setup).await, before, "nothing was written");
    // Surrounding invisible characters are trimmed like spaces.
    let (status, key) = setup
        .api
        .post(
            "/v1/api_keys",
            &setup.key,
            &json!({"name": "\u{200B} ci key \u{FEFF}"}),
        )
        .await;
    assert_eq!((status, &key["name"]), (201, &json!("ci key")), "{key}");
    setup.world.stop().await;
}

#[tokio::test]
async fn days_and_instants_have_one_format_everywhere() {
    let setup = setup().await;
    let (tenant_id, _) = setup.api.create_tenant("Other").await;
    let routes = json_routes(&setup, &tenant_id).await;
    let before = row_counts(&setup).await;
    let fields = [
        ("backfill", "from", ["2026-1-1", "2026-01-1", "20260101"]),
        (
            "backfill",
            "to",
            ["2026-1-1", "26-01-01", "2026-01-01T00:00:00Z"],
        ),
        (
            "/v1/connections",
            "access_token_expires_at",
            [
                "2030-1-31T00:00:00Z",
                "2030-01-31 00:00:00Z",
                "2030-01-31T00:00:00",
            ],
        ),
        (
            "/v1/destinations",
            "credentials.access_token_expires_at",
            [
                "2030-1-31T00:00:00Z",
                "2030-01-31",
                "+202030-01-31T00:00:00Z",
            ],
        ),
    ];
    for (path, field, bads) in fields {
        for route in routes.iter().filter(|route| {
            route.path.ends_with(path) && route.body.pointer(&pointer(field)).is_some()
        }) {
            for bad in bads {
                let spoiled = replaced(&route.body, field, json!(bad));
                let response = route.send(&setup, &spoiled).await;
                assert_refused(route, &response, field, bad);
            }
        }
    }
    for query in [
        "created_after=2026-1-1T00:00:00Z",
        "created_before=2026-01-01%2000:00:00Z",
    ] {
        let response = setup
            .api
            .get(&format!("/v1/jobs?{query}"), &setup.key)
            .await;
        assert_eq!(problem(&response).0, 422, "{query}: {}", response.1);
    }
    assert_eq!(row_counts(&setup).await, before, "nothing was written");
    setup.world.stop().await;
}

#[tokio::test]
async fn a_token_adsync_could_not_send_is_refused_when_it_is_given() {
    let setup = setup().await;
    let (tenant_id, _) = setup.api.create_tenant("Other").await;
    let routes = json_routes(&setup, &tenant_id).await;
    let before = row_counts(&setup).await;
    let fields = [
        ("/v1/connections", "access_token"),
        ("/v1/connections", "refresh_token"),
        ("/v1/destinations", "credentials.access_token"),
        ("/v1/destinations", "credentials.refresh_token"),
        ("/v1/destinations", "credentials.url"),
    ];
    for bad in ["EAAB\u{1}x", "EAAB x", "EAABé", "EAAB\u{7f}", ""] {
        for (path, field) in fields {
            for route in routes
                .iter()
                .filter(|route| route.path == path && route.body.pointer(&pointer(field)).is_some())
            {
                let spoiled = replaced(&route.body, field, json!(bad));
                let response = route.send(&setup, &spoiled).await;
                assert_refused(route, &response, field, &format!("{bad:?}"));
            }
        }
    }
    assert_eq!(row_counts(&setup).await, before, "nothing was written");
    // Every visible ASCII character is taken.
    let visible: String = (b'!'..=b'~').map(char::from).collect();
    created(
        setup
            .api
            .post(
                "/v1/connections",
                &setup.key,
                &json!({"connector": "appsflyer", "name": "AF", "access_token": visible}),
            )
            .await,
        "a connection with every visible character in its token",
    );
    setup.world.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_problem_documents() {
    let setup = setup().await;
    let response = setup.api.get("/v1/nowhere", &setup.key).await;
    assert_eq!(problem(&response), (404, "not_found", ""));
    let response = setup
        .api
        .request(Method::PUT, "/v1/syncs", Some(&setup.key), Some(&json!({})))
        .await;
    assert_eq!(problem(&response), (405, "method_not_allowed", ""));
    setup.world.stop().await;
}

/// Found by schemathesis: JSON Schema counts `60.0` as an integer, so a generated client may
/// send it; the server takes it as 60 (and still refuses 60.5).
#[tokio::test]
async fn a_whole_number_written_with_a_zero_fraction_is_taken() {
    let setup = setup().await;
    let (status, body) = setup
        .api
        .post(
            "/v1/tenants",
            OPERATOR_KEY,
            &json!({"name": "Float", "max_running_jobs": 60.0}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["tenant"]["max_running_jobs"], 60);
    let response = setup
        .api
        .post(
            "/v1/tenants",
            OPERATOR_KEY,
            &json!({"name": "Float", "max_running_jobs": 60.5}),
        )
        .await;
    assert_eq!(
        problem(&response),
        (422, "invalid_field", "max_running_jobs")
    );
    setup.world.stop().await;
}
