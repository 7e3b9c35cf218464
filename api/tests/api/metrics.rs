//! The API's `/metrics`: a valid exposition whose `route` label is the matched route template,
//! so requests for a thousand different syncs make one series.

use testkit::telemetry::parse_exposition;

use crate::setup;

#[tokio::test]
async fn requests_are_counted_by_route_template_never_by_raw_path() {
    // Arrange
    let setup = setup().await;
    let sync_id = setup.sync["id"].as_str().unwrap().to_string();

    // Act: the same route with an existing id, and an unknown path.
    let (status, _) = setup
        .api
        .get(&format!("/v1/syncs/{sync_id}"), &setup.key)
        .await;
    assert_eq!(status, 200);
    let (status, _) = setup
        .api
        .get(&format!("/v1/no-such-route/{sync_id}"), &setup.key)
        .await;
    assert_eq!(status, 404);
    let text = reqwest::get(format!("{}/metrics", setup.api.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    // Assert
    let exposition = parse_exposition(&text).unwrap_or_else(|error| panic!("{error}\n{text}"));
    for name in api::metrics::NAMES {
        assert!(exposition.families.contains_key(name), "{name} not served");
    }
    let routes: Vec<&str> = exposition
        .samples_of("adsync_api_requests_total")
        .iter()
        .map(|sample| sample.labels["route"].as_str())
        .collect();
    assert!(routes.contains(&"/v1/syncs/{id}"), "{routes:?}");
    assert!(routes.contains(&"unmatched"), "{routes:?}");
    assert!(
        !text.contains(&sync_id),
        "a raw path reached a label:\n{text}"
    );
    setup.world.stop().await;
}
