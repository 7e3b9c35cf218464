//! The OpenAPI document covers every route the router serves, with its methods, and documents
//! the problem-document error shape.

use serde_json::Value;
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
        let documents_problems = responses.iter().any(|(status, response)| {
            status.starts_with('4')
                && response["content"]["application/problem+json"]["schema"]["$ref"]
                    == "#/components/schemas/Problem"
        });
        assert!(
            documents_problems,
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
