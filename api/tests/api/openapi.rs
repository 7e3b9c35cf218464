//! The OpenAPI document is a contract: it covers every route the router serves, its operation
//! ids are unique, it documents every problem code, every malformed request is answered with
//! a status the operation declares, and its declared bounds are where the validation refuses.

use api::error::ProblemCode;
use serde_json::{Value, json};
use testkit::TestWorld;

/// Every `(method, path)` of the `.route(…)` calls in a router's source: the path literal and
/// each method router (`get(…)`, `.post(…)`, …) up to the next `.route(`.
fn routes_in(source: &str) -> Vec<(String, String)> {
    let mut routes = Vec::new();
    for chunk in source.split(".route(").skip(1) {
        let chunk = chunk.trim_start();
        let Some(rest) = chunk.strip_prefix('"') else {
            continue;
        };
        let Some((path, methods)) = rest.split_once('"') else {
            continue;
        };
        // Only this call's arguments: up to the closing parenthesis that balances the call.
        let mut depth = 1;
        let mut end = methods.len();
        for (i, c) in methods.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let arguments = &methods[..end];
        for method in ["get", "post", "put", "patch", "delete"] {
            let bare = arguments
                .match_indices(&format!("{method}("))
                .any(|(i, _)| {
                    i == 0
                        || !arguments[..i]
                            .chars()
                            .next_back()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
                });
            if bare {
                routes.push((method.to_owned(), path.to_owned()));
            }
        }
    }
    routes
}

#[test]
fn the_route_parser_reads_methods_and_paths() {
    let source = r#"Router::new()
        .route("/a", post(x::create).get(x::list))
        .route(
            "/a/{id}",
            get(x::get).delete(x::delete),
        )
        .route("/b", get(|| async { "ok" }))"#;
    assert_eq!(
        routes_in(source),
        [
            ("get", "/a"),
            ("post", "/a"),
            ("get", "/a/{id}"),
            ("delete", "/a/{id}"),
            ("get", "/b"),
        ]
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
    );
}

#[tokio::test]
async fn every_route_is_in_the_openapi_document() {
    let mut world = TestWorld::start().await;
    let api = world.spawn_api().await;
    let response = reqwest::get(format!("{}/openapi.json", api.base))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));

    let mut routes = routes_in(include_str!("../../src/routes/mod.rs"));
    routes.extend(routes_in(include_str!("../../../shared/src/ops.rs")));
    assert!(routes.len() > 30, "{routes:?}");
    let mut missing = Vec::new();
    for (method, path) in &routes {
        if document["paths"][path][method].is_null() {
            missing.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    assert!(
        missing.is_empty(),
        "routes missing from /openapi.json: {missing:?}"
    );

    // Errors are problem documents with a stable code; request bodies have schemas.
    let problem = &document["components"]["schemas"]["Problem"];
    for field in ["type", "title", "status", "code", "detail", "field"] {
        assert!(!problem["properties"][field].is_null(), "Problem.{field}");
    }
    for (method, path) in &routes {
        if !path.starts_with("/v1/") {
            continue;
        }
        let operation = &document["paths"][path][method];
        let responses = operation["responses"].as_object().unwrap();
        // Every error answer is a problem document (most by reference to the one declaration).
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    resolve(&document, response)["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{method} {path} {status}"
                );
            }
        }
        assert!(
            responses.keys().any(|status| status.starts_with('4')),
            "{method} {path} documents no problem answer"
        );
        if method == "patch" || (method == "post" && path.ends_with('s')) {
            assert!(
                !operation["requestBody"]["content"]["application/json"]["schema"].is_null(),
                "{method} {path} has no request body schema"
            );
        }
    }
    let create_sync = &document["components"]["schemas"]["CreateSync"]["properties"];
    for field in [
        "account_id",
        "destination_id",
        "report",
        "schedule",
        "lookback_days",
    ] {
        assert!(!create_sync[field].is_null(), "CreateSync.{field}");
    }
    world.stop().await;
}

async fn served_document(api: &testkit::ApiClient) -> Value {
    let response = reqwest::get(format!("{}/openapi.json", api.base))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Every `(method, path, operation)` of the document.
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            found.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    found
}

/// `schema`, its `$ref` followed (schemas and responses).
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(document, document.pointer(pointer).unwrap())
        }
        None => schema,
    }
}

#[tokio::test]
async fn operation_ids_are_unique_and_every_problem_code_is_documented() {
    let mut world = TestWorld::start().await;
    let api = world.spawn_api().await;
    let document = served_document(&api).await;

    let mut ids: Vec<String> = operations(&document)
        .iter()
        .map(|(method, path, operation)| {
            operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"))
                .to_owned()
        })
        .collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids repeat: {ids:?}");

    // The code enum is exactly the server's, and each code is named by a response of its
    // status on some operation (405 belongs to no operation: it answers undeclared methods).
    let codes =
        &resolve(&document, &document["components"]["schemas"]["Problem"])["properties"]["code"];
    let declared: Vec<&str> = resolve(&document, codes)["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap())
        .collect();
    let server: Vec<&str> = ProblemCode::ALL.iter().map(|code| code.as_str()).collect();
    assert_eq!(declared, server);
    for code in ProblemCode::ALL {
        if code == ProblemCode::MethodNotAllowed {
            continue;
        }
        let status = code.status().as_u16().to_string();
        let named = operations(&document).iter().any(|(_, path, operation)| {
            path.starts_with("/v1/")
                && operation["responses"][&status]
                    .as_object()
                    .map(|response| {
                        resolve(&document, &Value::Object(response.clone()))["description"]
                            .as_str()
                            .unwrap_or_default()
                            .contains(&format!("`{}`", code.as_str()))
                    })
                    .unwrap_or(false)
        });
        assert!(
            named,
            "no {status} response names the code {}",
            code.as_str()
        );
    }
    world.stop().await;
}

/// What the server answers to a request no operation can accept, by the shape of the
/// operation: every answer is a problem document of a status the operation declares.
#[tokio::test]
async fn every_operation_answers_malformed_requests_as_documented() {
    let setup = crate::setup().await;
    let document = served_document(&setup.api).await;
    let http = reqwest::Client::new();
    let mut checked = 0;
    for (method, path, operation) in operations(&document) {
        if !path.starts_with("/v1/") {
            continue;
        }
        let concrete = path
            .replace("{platform}", "meta_ads")
            .replace("{id}", &uuid::Uuid::new_v4().to_string())
            .replace("{sync_id}", &uuid::Uuid::new_v4().to_string());
        let url = format!("{}{concrete}", setup.api.base);
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let secured = operation["security"].to_string().contains("api_key");
        let request = |body: Option<(&str, Vec<u8>)>| {
            let mut request = http.request(method.clone(), &url);
            if secured {
                request = request.bearer_auth(&setup.key);
            }
            if let Some((content_type, bytes)) = body {
                if !content_type.is_empty() {
                    request = request.header("content-type", content_type);
                }
                request = request.body(bytes);
            }
            request
        };
        let mut expect = |what: &str, status: u16, response: (u16, String, Value)| {
            let (got, content_type, body) = response;
            assert_eq!(got, status, "{method} {path} {what}: {body}");
            assert_eq!(
                content_type, "application/problem+json",
                "{method} {path} {what}"
            );
            assert_eq!(body["status"], status, "{method} {path} {what}");
            assert!(
                operation["responses"][status.to_string()].is_object(),
                "{method} {path} answers {status} to {what} but does not declare it"
            );
            checked += 1;
        };
        let body = &operation["requestBody"]["content"];
        let too_large = vec![b' '; api::error::BODY_LIMIT_BYTES + 1];
        if body["application/json"].is_object() {
            let json = "application/json";
            expect(
                "malformed JSON",
                400,
                send(request(Some((json, b"{,".to_vec())))).await,
            );
            expect(
                "no content type",
                400,
                send(request(Some(("", b"{}".to_vec())))).await,
            );
            expect(
                "an array",
                422,
                send(request(Some((json, b"[]".to_vec())))).await,
            );
            let mut large = b"{\"name\": \"".to_vec();
            large.extend(&too_large);
            large.extend(b"\"}");
            expect(
                "a body over the limit",
                413,
                send(request(Some((json, large)))).await,
            );
        } else if body.is_object() {
            expect(
                "a body over the limit",
                413,
                send(request(Some(("application/octet-stream", too_large)))).await,
            );
        }
        if secured {
            let mut anonymous = http.request(method.clone(), &url);
            if body["application/json"].is_object() {
                anonymous = anonymous.json(&serde_json::json!({}));
            }
            expect("no API key", 401, send(anonymous).await);
        }
        if path.contains("{id}") || path.contains("{sync_id}") {
            let bad = path
                .replace("{platform}", "meta_ads")
                .replace("{id}", "not-a-uuid")
                .replace("{sync_id}", "not-a-uuid");
            let mut request = http
                .request(method.clone(), format!("{}{bad}", setup.api.base))
                .bearer_auth(&setup.key);
            if body["application/json"].is_object() {
                request = request.json(&serde_json::json!({}));
            }
            expect("an id that is not a UUID", 422, send(request).await);
        }
    }
    assert!(checked > 60, "{checked} answers checked");
    setup.world.stop().await;
}

async fn send(request: reqwest::RequestBuilder) -> (u16, String, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, content_type, body)
}

/// The schema of the field at `path` (`report.level`, `report.metrics[0]`) under `schema`.
fn field_schema<'a>(document: &'a Value, schema: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = resolve(document, schema);
    for part in path.split('.') {
        let (name, indexed) = match part.split_once('[') {
            Some((name, _)) => (name, true),
            None => (part, false),
        };
        current = object_variant(document, current, name)?;
        current = resolve(document, &current["properties"][name]);
        if indexed {
            current = resolve(document, &current["items"]);
        }
    }
    Some(current)
}

/// The object schema among `schema`'s `oneOf` variants that has a property `name`.
fn object_variant<'a>(document: &'a Value, schema: &'a Value, name: &str) -> Option<&'a Value> {
    let schema = resolve(document, schema);
    if !schema["properties"][name].is_null() {
        return Some(schema);
    }
    schema["oneOf"]
        .as_array()?
        .iter()
        .map(|variant| resolve(document, variant))
        .find(|variant| !variant["properties"][name].is_null())
}

/// A request refused naming `field` (or the list it is an item of).
fn refused_naming(response: &(u16, Value), field: &str) -> bool {
    let list = field.split('[').next().unwrap_or(field);
    (400..500).contains(&response.0)
        && matches!(response.1["field"].as_str(), Some(named) if named == field || named == list)
}

/// The declared bounds of every field are where the server's validation refuses: one past
/// each bound is refused naming the field, each integer bound itself is taken, every value
/// outside a declared set is refused and every value inside it passes that field's check.
#[tokio::test]
async fn declared_constraints_are_the_validations() {
    let setup = crate::setup().await;
    let document = served_document(&setup.api).await;
    let (tenant_id, _) = setup.api.create_tenant("Other").await;
    let mut probed = 0;
    for route in crate::input::json_routes(&setup, &tenant_id).await {
        let method = route.method.as_str().to_lowercase();
        let schema = &document["paths"][route.template][&method]["requestBody"]["content"]["application/json"]
            ["schema"];
        assert!(!schema.is_null(), "{} has no body schema", route.name());
        let mut fields = Vec::new();
        crate::input::leaves(&route.body, "", &mut fields);
        for (path, _) in fields {
            let Some(field) = field_schema(&document, schema, &path) else {
                panic!("{}: {path} is not in the document", route.name());
            };
            let mut refused = Vec::new();
            let mut taken = Vec::new();
            if let (Some(min), Some(max)) = (field["minimum"].as_i64(), field["maximum"].as_i64()) {
                refused.extend([json!(min - 1), json!(max + 1)]);
                taken.extend([json!(min), json!(max)]);
            }
            if let Some(values) = field["enum"].as_array() {
                refused.push(json!("not-one-of-them"));
                // Each value of a small set; a sample of a large one (time zones), its ends
                // included.
                let step = (values.len() / 12).max(1);
                taken.extend(
                    values
                        .iter()
                        .step_by(step)
                        .filter(|v| !v.is_null())
                        .cloned(),
                );
                taken.extend(values.last().filter(|v| !v.is_null()).cloned());
            }
            if let Some(max) = field["maxLength"].as_u64() {
                refused.push(json!("x".repeat(max as usize + 1)));
            }
            if field["minLength"].as_u64() == Some(1) {
                refused.push(json!(""));
            }
            for value in refused {
                let body = crate::input::replaced(&route.body, &path, value.clone());
                let response = route.send(&setup, &body).await;
                assert!(
                    refused_naming(&response, &path),
                    "{} took {path} = {value} outside its declared bounds: {}",
                    route.name(),
                    response.1
                );
                probed += 1;
            }
            for value in taken {
                let body = crate::input::replaced(&route.body, &path, value.clone());
                let response = route.send(&setup, &body).await;
                // A list item may still be refused for the list's sake (listed twice, a derived
                // metric without its inputs): that names the list, not the item.
                let named = response.1["field"].as_str() == Some(path.as_str());
                assert!(
                    !named,
                    "{} refused {path} = {value} within its declared bounds: {}",
                    route.name(),
                    response.1
                );
                probed += 1;
            }
        }
    }
    // The query's bounds too.
    let limit = &document["paths"]["/v1/jobs"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|parameter| parameter["name"] == "limit")
        .unwrap()["schema"];
    let (min, max) = (
        limit["minimum"].as_i64().unwrap(),
        limit["maximum"].as_i64().unwrap(),
    );
    for (value, status) in [(min - 1, 422), (min, 200), (max, 200), (max + 1, 422)] {
        let (got, body) = setup
            .api
            .get(&format!("/v1/jobs?limit={value}"), &setup.key)
            .await;
        assert_eq!(got, status, "limit={value}: {body}");
    }
    assert!(probed > 40, "{probed} probes");
    setup.world.stop().await;
}
