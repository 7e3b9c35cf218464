//! Meta's error answers: HTTP status, `error.code`, `error.error_subcode` and `error.type`.

use crate::{start_frozen, time_range};

struct Case {
    name: &'static str,
    path: String,
    query: Vec<(&'static str, String)>,
    status: u16,
    code: i64,
    subcode: Option<i64>,
    kind: &'static str,
    message_contains: &'static str,
}

fn insights_case(
    name: &'static str,
    extra: &[(&'static str, &str)],
    code: i64,
    message_contains: &'static str,
) -> Case {
    let mut query = vec![
        ("access_token", "t".to_owned()),
        ("time_range", time_range("2025-06-01", "2025-06-30")),
    ];
    for (key, value) in extra {
        query.retain(|(k, _)| k != key);
        query.push((key, (*value).to_owned()));
    }
    Case {
        name,
        path: "/meta_ads/v24.0/act_1/insights".to_owned(),
        query,
        status: 400,
        code,
        subcode: None,
        kind: "OAuthException",
        message_contains,
    }
}

#[tokio::test]
async fn each_invalid_request_gets_metas_status_code_subcode_and_type() {
    let sandbox = start_frozen().await;
    let other_query_cursor = {
        let reply = sandbox
            .insights(
                "1",
                &[
                    ("level", "ad".to_owned()),
                    ("time_increment", "1".to_owned()),
                    ("time_range", time_range("2025-06-01", "2025-06-30")),
                    ("limit", "1".to_owned()),
                ],
            )
            .await;
        reply.after_cursor().unwrap()
    };
    let cases = vec![
        Case {
            name: "missing token",
            path: "/meta_ads/v24.0/act_1/insights".to_owned(),
            query: vec![],
            status: 400,
            code: 104,
            subcode: None,
            kind: "OAuthException",
            message_contains: "An access token is required to request this resource.",
        },
        Case {
            name: "empty token",
            path: "/meta_ads/v24.0/act_1/insights".to_owned(),
            query: vec![("access_token", String::new())],
            status: 400,
            code: 104,
            subcode: None,
            kind: "OAuthException",
            message_contains: "An access token is required",
        },
        Case {
            name: "old version",
            path: "/meta_ads/v19.0/act_1/insights".to_owned(),
            query: vec![("access_token", "t".to_owned())],
            status: 400,
            code: 2635,
            subcode: None,
            kind: "OAuthException",
            message_contains: "(#2635) You are calling a deprecated version of the Ads API",
        },
        Case {
            name: "future version",
            path: "/meta_ads/v27.0/act_1/insights".to_owned(),
            query: vec![("access_token", "t".to_owned())],
            status: 400,
            code: 2635,
            subcode: None,
            kind: "OAuthException",
            message_contains: "(#2635)",
        },
        Case {
            name: "malformed account id",
            path: "/meta_ads/v24.0/act_12ab/insights".to_owned(),
            query: vec![("access_token", "t".to_owned())],
            status: 400,
            code: 100,
            subcode: Some(33),
            kind: "GraphMethodException",
            message_contains: "Unsupported get request. Object with ID 'act_12ab' does not exist",
        },
        insights_case(
            "unknown field",
            &[("fields", "impressions,bogus_metric")],
            100,
            "(#100) bogus_metric is not valid for fields param. please check https://developers.facebook.com/docs/marketing-api/reference/ads-insights/ for all valid values",
        ),
        insights_case(
            "field below the level",
            &[("level", "campaign"), ("fields", "campaign_id,adset_id")],
            100,
            "adset_id",
        ),
        insights_case("unknown level", &[("level", "keyword")], 100, "level"),
        insights_case(
            "time_range not JSON",
            &[("time_range", "last week")],
            100,
            "time_range",
        ),
        insights_case(
            "time_range with a bad date",
            &[(
                "time_range",
                r#"{"since":"2025-02-30","until":"2025-03-01"}"#,
            )],
            100,
            "time_range",
        ),
        insights_case(
            "until before since",
            &[(
                "time_range",
                r#"{"since":"2025-06-10","until":"2025-06-01"}"#,
            )],
            100,
            "time_range",
        ),
        insights_case(
            "range longer than 37 months",
            &[(
                "time_range",
                r#"{"since":"2022-01-01","until":"2025-06-30"}"#,
            )],
            100,
            "time_range",
        ),
        insights_case(
            "unsupported time_increment",
            &[("time_increment", "monthly")],
            100,
            "time_increment",
        ),
        insights_case("limit too large", &[("limit", "5001")], 100, "limit"),
        insights_case("limit not a number", &[("limit", "lots")], 100, "limit"),
        insights_case(
            "cursor that is not base64",
            &[("after", "%%%")],
            2642,
            "Invalid cursors values",
        ),
        insights_case(
            "cursor of another query",
            &[("after", &other_query_cursor)],
            2642,
            "Invalid cursors values",
        ),
        Case {
            name: "unknown ad account field",
            path: "/meta_ads/v24.0/act_1".to_owned(),
            query: vec![
                ("access_token", "t".to_owned()),
                ("fields", "name,balance_due".to_owned()),
            ],
            status: 400,
            code: 100,
            subcode: None,
            kind: "OAuthException",
            message_contains: "(#100) Tried accessing nonexisting field (balance_due) on node type (AdAccount)",
        },
        Case {
            name: "ad account node without token",
            path: "/meta_ads/v24.0/act_1".to_owned(),
            query: vec![("fields", "name".to_owned())],
            status: 400,
            code: 104,
            subcode: None,
            kind: "OAuthException",
            message_contains: "access token is required",
        },
    ];

    for case in cases {
        let reply = sandbox.get(&case.path, &case.query).await;
        assert_eq!(reply.status, case.status, "{}: {}", case.name, reply.body);
        assert_eq!(
            reply.meta_error(),
            (case.code, case.subcode, case.kind.to_owned()),
            "{}",
            case.name
        );
        assert!(
            reply.message().contains(case.message_contains),
            "{}: {}",
            case.name,
            reply.message()
        );
        assert!(
            reply.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{}",
            case.name
        );
    }
    assert!(sandbox.sandbox.unknown_routes().is_empty());
}

#[tokio::test]
async fn a_bearer_header_is_as_good_as_the_access_token_parameter() {
    let sandbox = start_frozen().await;
    let response = sandbox
        .client
        .get(sandbox.url("/meta_ads/v24.0/act_1/insights"))
        .bearer_auth("header-token")
        .query(&[("time_range", time_range("2025-06-01", "2025-06-30"))])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_time_range_starting_more_than_37_months_ago_is_refused_with_3018() {
    let sandbox = start_frozen().await;
    let reply = sandbox
        .insights(
            "1",
            &[("time_range", time_range("2022-04-01", "2022-04-30"))],
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.meta_error().0, 3018);
}
