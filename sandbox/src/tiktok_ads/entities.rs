//! `GET /open_api/v1.3/campaign/get/`, `/adgroup/get/` and `/ad/get/`: an advertiser's
//! campaigns, ad groups and ads with names, statuses, objectives, budgets (JSON numbers in the
//! advertiser's currency) and creative metadata, paged with `page`/`page_size`.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::{self, TiktokError};
use super::params::{self, Paging, Params, param};
use super::truth::{ad_secondary_status, adgroup_secondary_status, campaign_secondary_status};
use super::vocabulary::Budget;
use super::world;
use super::world::{AdFacts, AdGroupFacts, AdvertiserFacts, CampaignFacts};
use super::{Call, Prelude};
use crate::facts::Currency;
use crate::state::Sandbox;
use crate::wire::OrderedObject;

/// The templated routes, as recorded in the request log.
pub(crate) const CAMPAIGN_ROUTE: &str = "/campaign/get/";
pub(crate) const ADGROUP_ROUTE: &str = "/adgroup/get/";
pub(crate) const AD_ROUTE: &str = "/ad/get/";

/// Which list an endpoint serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Campaign,
    AdGroup,
    Ad,
}

impl Kind {
    const fn route(self) -> &'static str {
        match self {
            Kind::Campaign => CAMPAIGN_ROUTE,
            Kind::AdGroup => ADGROUP_ROUTE,
            Kind::Ad => AD_ROUTE,
        }
    }

    /// Every field the sandbox serves for the kind, in the order it answers with them.
    const fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::Campaign => &[
                "advertiser_id",
                "campaign_id",
                "campaign_name",
                "campaign_type",
                "objective_type",
                "budget_mode",
                "budget",
                "operation_status",
                "secondary_status",
                "is_new_structure",
                "create_time",
                "modify_time",
            ],
            Kind::AdGroup => &[
                "advertiser_id",
                "campaign_id",
                "campaign_name",
                "adgroup_id",
                "adgroup_name",
                "placement_type",
                "optimization_goal",
                "billing_event",
                "budget_mode",
                "budget",
                "operation_status",
                "secondary_status",
                "create_time",
                "modify_time",
            ],
            Kind::Ad => &[
                "advertiser_id",
                "campaign_id",
                "campaign_name",
                "adgroup_id",
                "adgroup_name",
                "ad_id",
                "ad_name",
                "ad_format",
                "ad_text",
                "call_to_action",
                "landing_page_url",
                "display_name",
                "video_id",
                "image_ids",
                "operation_status",
                "secondary_status",
                "create_time",
                "modify_time",
            ],
        }
    }
}

/// A budget as TikTok renders it: a JSON number in major units (`100.0`, `0.0` when infinite).
fn budget_value(budget: Budget, currency: Currency) -> Value {
    let minor = budget.minor();
    let scale = 10u64.pow(currency.decimals());
    // Budgets are whole major units or cents: exact in an f64.
    json!((minor / scale) as f64 + (minor % scale) as f64 / scale as f64)
}

/// The value of one field of a campaign, ad group or ad.
fn field(
    advertiser: &AdvertiserFacts,
    campaign: &CampaignFacts,
    adgroup: Option<&AdGroupFacts>,
    ad: Option<&AdFacts>,
    name: &str,
) -> Value {
    let enabled = |on: bool| json!(if on { "ENABLE" } else { "DISABLE" });
    let currency = advertiser.currency;
    match (name, adgroup, ad) {
        ("advertiser_id", _, _) => json!(advertiser.id),
        ("campaign_id", _, _) => json!(campaign.id),
        ("campaign_name", _, _) => json!(campaign.name),
        ("campaign_type", _, _) => json!("REGULAR_CAMPAIGN"),
        ("objective_type", _, _) => json!(campaign.objective.name()),
        ("is_new_structure", _, _) => json!(true),
        ("create_time", _, _) => json!(campaign.create_time),
        ("modify_time", _, _) => json!(campaign.create_time),
        ("adgroup_id", Some(adgroup), _) => json!(adgroup.id),
        ("adgroup_name", Some(adgroup), _) => json!(adgroup.name),
        ("placement_type", Some(adgroup), _) => json!(adgroup.placement_type),
        ("optimization_goal", Some(_), _) => json!(campaign.objective.optimization_goal()),
        ("billing_event", Some(_), _) => json!(if campaign.objective.tracks_conversions() {
            "OCPM"
        } else {
            "CPC"
        }),
        ("budget_mode", Some(adgroup), None) => json!(adgroup.budget.mode()),
        ("budget", Some(adgroup), None) => budget_value(adgroup.budget, currency),
        ("budget_mode", None, None) => json!(campaign.budget.mode()),
        ("budget", None, None) => budget_value(campaign.budget, currency),
        ("operation_status", None, None) => enabled(campaign.enabled),
        ("operation_status", Some(_), _) => enabled(true),
        ("secondary_status", None, None) => json!(campaign_secondary_status(campaign)),
        ("secondary_status", Some(_), None) => json!(adgroup_secondary_status(campaign)),
        ("secondary_status", Some(_), Some(_)) => json!(ad_secondary_status(campaign)),
        ("ad_id", _, Some(ad)) => json!(ad.id),
        ("ad_name", _, Some(ad)) => json!(ad.name),
        ("ad_format", _, Some(ad)) => json!(ad.ad_format),
        ("ad_text", _, Some(ad)) => json!(ad.ad_text),
        ("call_to_action", _, Some(ad)) => json!(ad.call_to_action),
        ("landing_page_url", _, Some(ad)) => json!(ad.landing_page_url),
        ("display_name", _, Some(_)) => json!(advertiser.name),
        ("video_id", _, Some(ad)) => json!(ad.video_id),
        ("image_ids", _, Some(ad)) => json!(ad.image_ids),
        _ => Value::Null,
    }
}

fn render(
    advertiser: &AdvertiserFacts,
    campaign: &CampaignFacts,
    adgroup: Option<&AdGroupFacts>,
    ad: Option<&AdFacts>,
    fields: &[&'static str],
) -> Value {
    let mut object = OrderedObject::default();
    for name in fields {
        object.push(name, field(advertiser, campaign, adgroup, ad, name));
    }
    json!(object)
}

/// Every object of the kind, in id order.
fn list(advertiser: &AdvertiserFacts, kind: Kind, fields: &[&'static str]) -> Vec<Value> {
    let mut out = Vec::new();
    for campaign in &advertiser.campaigns {
        match kind {
            Kind::Campaign => out.push(render(advertiser, campaign, None, None, fields)),
            Kind::AdGroup => out.extend(
                campaign
                    .adgroups
                    .iter()
                    .map(|adgroup| render(advertiser, campaign, Some(adgroup), None, fields)),
            ),
            Kind::Ad => {
                for adgroup in &campaign.adgroups {
                    out.extend(
                        adgroup.ads.iter().map(|ad| {
                            render(advertiser, campaign, Some(adgroup), Some(ad), fields)
                        }),
                    );
                }
            }
        }
    }
    out
}

fn parse_fields(params: &Params, kind: Kind) -> Result<Vec<&'static str>, TiktokError> {
    let Some(names) = params::string_array(params, "fields")? else {
        return Ok(kind.fields().to_vec());
    };
    let mut fields = Vec::new();
    for name in names {
        let field = kind
            .fields()
            .iter()
            .find(|known| **known == name)
            .ok_or_else(|| TiktokError::invalid("fields", format!("Invalid field '{name}'.")))?;
        if !fields.contains(field) {
            fields.push(*field);
        }
    }
    Ok(fields)
}

/// A malformed answer: the first object's budget is a word (campaigns, ad groups) or its name a
/// list (ads); without objects, `page_info.total_page` is not a number.
fn break_page(list: &mut [Value], page_info: &mut Value, kind: Kind) {
    match (list.first_mut(), kind) {
        (Some(first), Kind::Campaign | Kind::AdGroup) => {
            first["budget"] = json!("fifty");
        }
        (Some(first), Kind::Ad) => first["ad_name"] = json!(["broken"]),
        (None, _) => page_info["total_page"] = json!("1 of 1"),
    }
}

async fn handle(
    sandbox: Sandbox,
    kind: Kind,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let params = query.map(|Query(params)| params).unwrap_or_default();
    let account = param(&params, "advertiser_id").map(str::to_owned);
    let prelude = Prelude::begin(&sandbox, kind.route(), account).await;
    let call = match prelude.check(&sandbox, &headers) {
        Ok(call) => call,
        Err(rejection) => return prelude.reject(&sandbox, rejection),
    };
    let response = answer(&sandbox, &call, &params, kind);
    prelude.finish(response)
}

fn answer(sandbox: &Sandbox, call: &Call, params: &Params, kind: Kind) -> Response {
    let parsed = (|| {
        let advertiser_id = params::advertiser_id(params)?;
        let fields = parse_fields(params, kind)?;
        params::json_value(params, "filtering")?;
        let paging = Paging::parse(params)?;
        let advertiser = world::advertiser(&advertiser_id)
            .ok_or_else(|| TiktokError::no_permission(&advertiser_id))?;
        Ok::<_, TiktokError>((advertiser, fields, paging))
    })();
    let (advertiser, fields, paging) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return error.into_response(sandbox),
    };
    let all = list(&advertiser, kind, &fields);
    let (slice, page_info) = paging.slice(&all);
    let mut list = slice.to_vec();
    let mut page_info = json!(page_info);
    if call.malformed {
        break_page(&mut list, &mut page_info, kind);
    }
    errors::ok(sandbox, json!({ "list": list, "page_info": page_info }))
}

/// `GET /campaign/get/`.
pub(crate) async fn campaigns(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    handle(sandbox, Kind::Campaign, headers, query).await
}

/// `GET /adgroup/get/`.
pub(crate) async fn adgroups(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    handle(sandbox, Kind::AdGroup, headers, query).await
}

/// `GET /ad/get/`.
pub(crate) async fn ads(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    handle(sandbox, Kind::Ad, headers, query).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_numbers_in_major_units() {
        assert_eq!(
            budget_value(Budget::Daily(12_050), Currency::Usd),
            json!(120.5)
        );
        assert_eq!(
            budget_value(Budget::Total(70_000), Currency::Jpy),
            json!(70000.0)
        );
        assert_eq!(budget_value(Budget::Infinite, Currency::Eur), json!(0.0));
    }

    #[test]
    fn every_served_field_has_a_value() {
        let advertiser = world::advertiser("4242").unwrap();
        for kind in [Kind::Campaign, Kind::AdGroup, Kind::Ad] {
            for object in list(&advertiser, kind, kind.fields()) {
                for name in kind.fields() {
                    let value = &object[*name];
                    let optional = matches!(*name, "video_id");
                    assert!(optional || !value.is_null(), "{kind:?}.{name} in {object}");
                }
            }
        }
    }

    #[test]
    fn requested_fields_are_answered_in_order_and_unknown_ones_refused() {
        let params = vec![(
            "fields".to_owned(),
            r#"["campaign_name","campaign_id"]"#.to_owned(),
        )];
        assert_eq!(
            parse_fields(&params, Kind::Campaign).unwrap(),
            ["campaign_name", "campaign_id"]
        );
        let bad = vec![("fields".to_owned(), r#"["ad_name"]"#.to_owned())];
        assert_eq!(parse_fields(&bad, Kind::Campaign).unwrap_err().code, 40002);
    }
}
