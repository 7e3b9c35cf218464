//! `GET /v{N}/act_{id}/campaigns|adsets|ads`: the account's objects with the requested `fields`
//! (field expansion such as `creative{id,name}` included), an optional `effective_status`
//! filter (a JSON list), and cursor paging in ascending id order.
//!
//! Budgets are strings in the currency's minor units (`"5000"` is 50.00 USD, or 5,000 JPY); an
//! unset budget is left out. Times are in the account's time zone, as
//! `2025-06-01T00:00:00+0200`. Without `fields` Meta answers only `id`.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Days, NaiveDate, NaiveTime, TimeZone as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::{CONTENT_TYPE, MetaError};
use super::paging::{self, Window};
use super::usage::UseCase;
use super::vocabulary::{Budget, Status};
use super::world::AccountFacts;
use super::{Prelude, Request, RouteKind, account, param};
use crate::faults::FaultKind;
use crate::rng::Seed;
use crate::wire::{self, OrderedObject};

/// The templated routes, as recorded in the request log.
const CAMPAIGNS_ROUTE: &str = "/v{version}/act_{account_id}/campaigns";
const ADSETS_ROUTE: &str = "/v{version}/act_{account_id}/adsets";
const ADS_ROUTE: &str = "/v{version}/act_{account_id}/ads";

/// Which edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// `campaigns`.
    Campaign,
    /// `adsets`.
    #[serde(rename = "adset")]
    AdSet,
    /// `ads`.
    Ad,
}

impl EntityKind {
    /// The edge name.
    pub const fn edge(self) -> &'static str {
        match self {
            EntityKind::Campaign => "campaigns",
            EntityKind::AdSet => "adsets",
            EntityKind::Ad => "ads",
        }
    }

    const fn route(self) -> &'static str {
        match self {
            EntityKind::Campaign => CAMPAIGNS_ROUTE,
            EntityKind::AdSet => ADSETS_ROUTE,
            EntityKind::Ad => ADS_ROUTE,
        }
    }

    /// The node type Meta names in field errors (its legacy names).
    const fn node_type(self) -> &'static str {
        match self {
            EntityKind::Campaign => "AdCampaignGroup",
            EntityKind::AdSet => "AdCampaign",
            EntityKind::Ad => "Adgroup",
        }
    }

    fn fields(self) -> &'static [&'static str] {
        match self {
            EntityKind::Campaign => &[
                "id",
                "name",
                "account_id",
                "status",
                "configured_status",
                "effective_status",
                "objective",
                "daily_budget",
                "lifetime_budget",
                "buying_type",
                "start_time",
                "created_time",
            ],
            EntityKind::AdSet => &[
                "id",
                "name",
                "account_id",
                "campaign_id",
                "status",
                "configured_status",
                "effective_status",
                "daily_budget",
                "lifetime_budget",
                "billing_event",
                "optimization_goal",
                "start_time",
                "created_time",
            ],
            EntityKind::Ad => &[
                "id",
                "name",
                "account_id",
                "campaign_id",
                "adset_id",
                "status",
                "configured_status",
                "effective_status",
                "creative",
                "created_time",
            ],
        }
    }
}

/// One campaign, ad set or ad as the API serves it (all fields; `None` ones are left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityRow {
    /// The object's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The account id without `act_`.
    pub account_id: String,
    /// The campaign of an ad set or ad.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// The ad set of an ad.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adset_id: Option<String>,
    /// The configured status (`ACTIVE`, `PAUSED`).
    pub status: String,
    /// The status including the parents': `CAMPAIGN_PAUSED`, `ADSET_PAUSED` for children of
    /// paused objects.
    pub effective_status: String,
    /// A campaign's objective.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<String>,
    /// The daily budget in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_budget: Option<u64>,
    /// The lifetime budget in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_budget: Option<u64>,
    /// An ad's creative id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creative_id: Option<String>,
    /// An ad's creative name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creative_name: Option<String>,
    /// When a campaign or ad set starts delivering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// When the object was created.
    pub created_time: String,
}

fn budgets(budget: Option<Budget>) -> (Option<u64>, Option<u64>) {
    match budget {
        Some(Budget::Daily(amount)) => (Some(amount), None),
        Some(Budget::Lifetime(amount)) => (None, Some(amount)),
        None => (None, None),
    }
}

/// Midnight (or `hour:minute`) of `date` in the account's zone, in Meta's time format.
fn local_time(account: &AccountFacts, date: NaiveDate, hour: u32, minute: u32) -> String {
    let time = NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN);
    account
        .time_zone
        .from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|at| at.format("%Y-%m-%dT%H:%M:%S%z").to_string())
        .unwrap_or_else(|| format!("{date}T00:00:00+0000"))
}

/// Every object of `kind` in `account`, in ascending id order, as the API serves them on
/// `today` (the account's today: recent campaigns start relative to it).
fn rows_of(account: &AccountFacts, kind: EntityKind, today: NaiveDate) -> Vec<EntityRow> {
    let mut rows = Vec::new();
    for campaign in &account.campaigns {
        let start = campaign.start_date(today);
        let created = start.checked_sub_days(Days::new(1)).unwrap_or(start);
        let minute = Seed::new("meta_ads/created")
            .with_str(&campaign.id)
            .below(60) as u32;
        let created_time = local_time(account, created, 9, minute);
        let start_time = Some(local_time(account, start, 0, 0));
        if kind == EntityKind::Campaign {
            let (daily_budget, lifetime_budget) = budgets(campaign.budget);
            rows.push(EntityRow {
                id: campaign.id.clone(),
                name: campaign.name.clone(),
                account_id: account.id.clone(),
                campaign_id: None,
                adset_id: None,
                status: campaign.status.as_str().to_owned(),
                effective_status: campaign.status.as_str().to_owned(),
                objective: Some(campaign.objective.to_owned()),
                daily_budget,
                lifetime_budget,
                creative_id: None,
                creative_name: None,
                start_time: start_time.clone(),
                created_time: created_time.clone(),
            });
            continue;
        }
        for adset in &campaign.adsets {
            let adset_effective = match (campaign.status, adset.status) {
                (Status::Paused, _) => "CAMPAIGN_PAUSED",
                (Status::Active, status) => status.as_str(),
            };
            if kind == EntityKind::AdSet {
                let (daily_budget, lifetime_budget) = budgets(adset.budget);
                rows.push(EntityRow {
                    id: adset.id.clone(),
                    name: adset.name.clone(),
                    account_id: account.id.clone(),
                    campaign_id: Some(campaign.id.clone()),
                    adset_id: None,
                    status: adset.status.as_str().to_owned(),
                    effective_status: adset_effective.to_owned(),
                    objective: None,
                    daily_budget,
                    lifetime_budget,
                    creative_id: None,
                    creative_name: None,
                    start_time: start_time.clone(),
                    created_time: created_time.clone(),
                });
                continue;
            }
            for ad in &adset.ads {
                let effective = match (campaign.status, adset.status, ad.status) {
                    (Status::Paused, _, _) => "CAMPAIGN_PAUSED",
                    (Status::Active, Status::Paused, _) => "ADSET_PAUSED",
                    (Status::Active, Status::Active, status) => status.as_str(),
                };
                rows.push(EntityRow {
                    id: ad.id.clone(),
                    name: ad.name.clone(),
                    account_id: account.id.clone(),
                    campaign_id: Some(campaign.id.clone()),
                    adset_id: Some(adset.id.clone()),
                    status: ad.status.as_str().to_owned(),
                    effective_status: effective.to_owned(),
                    objective: None,
                    daily_budget: None,
                    lifetime_budget: None,
                    creative_id: Some(ad.creative.id.clone()),
                    creative_name: Some(ad.creative.name.clone()),
                    start_time: None,
                    created_time: created_time.clone(),
                });
            }
        }
    }
    rows
}

/// The objects of one edge of an account, exactly as the API serves them on the account's
/// `today`; an invalid account id gives none.
pub fn entities_truth(account_id: &str, kind: EntityKind, today: NaiveDate) -> Vec<EntityRow> {
    account(account_id)
        .map(|account| rows_of(&account, kind, today))
        .unwrap_or_default()
}

/// One requested field, with the subfields of an expansion (`creative{id,name}`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct RequestedField {
    name: String,
    subfields: Vec<String>,
}

/// Splits a `fields` list at the commas outside braces.
fn parse_field_list(text: &str) -> Result<Vec<RequestedField>, MetaError> {
    let mut fields = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    let invalid = || MetaError::invalid_parameter(format!("Syntax error in fields: '{text}'"));
    let mut push = |item: &str| -> Result<(), MetaError> {
        let item = item.trim();
        if item.is_empty() {
            return Ok(());
        }
        let (name, subfields) = match item.split_once('{') {
            Some((name, rest)) => {
                let inner = rest.strip_suffix('}').ok_or_else(invalid)?;
                let subfields = inner
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                (name.trim(), subfields)
            }
            None => (item, Vec::new()),
        };
        fields.push(RequestedField {
            name: name.to_owned(),
            subfields,
        });
        Ok(())
    };
    for ch in text.chars() {
        match ch {
            '{' => {
                depth += 1;
                current.push(ch);
            }
            '}' => {
                depth = depth.checked_sub(1).ok_or_else(invalid)?;
                current.push(ch);
            }
            ',' if depth == 0 => {
                push(&current)?;
                current.clear();
            }
            _ => current.push(ch),
        }
    }
    if depth != 0 {
        return Err(invalid());
    }
    push(&current)?;
    Ok(fields)
}

/// Checks the requested fields against the node type.
fn parse_fields(
    params: &[(String, String)],
    kind: EntityKind,
) -> Result<Vec<RequestedField>, MetaError> {
    let fields = match param(params, "fields") {
        Some(text) => parse_field_list(text)?,
        None => vec![RequestedField {
            name: "id".to_owned(),
            subfields: Vec::new(),
        }],
    };
    for field in &fields {
        if !kind.fields().contains(&field.name.as_str()) {
            return Err(MetaError::nonexisting_field(&field.name, kind.node_type()));
        }
        if let Some(bad) = field
            .subfields
            .iter()
            .find(|sub| !matches!(sub.as_str(), "id" | "name"))
        {
            return Err(MetaError::nonexisting_field(bad, "AdCreative"));
        }
    }
    Ok(fields)
}

/// The `effective_status` filter: a JSON list of statuses.
fn parse_status_filter(params: &[(String, String)]) -> Result<Option<Vec<String>>, MetaError> {
    let Some(text) = param(params, "effective_status") else {
        return Ok(None);
    };
    serde_json::from_str::<Vec<String>>(text)
        .map(Some)
        .map_err(|_| {
            MetaError::invalid_parameter(format!(
                "param effective_status must be an array of statuses, got '{text}'"
            ))
        })
}

fn render(row: &EntityRow, fields: &[RequestedField]) -> OrderedObject {
    let mut object = OrderedObject::default();
    let text = |value: &Option<String>| value.clone().map(Value::String);
    let minor = |value: Option<u64>| value.map(|amount| Value::String(amount.to_string()));
    for field in fields {
        let value = match field.name.as_str() {
            "id" => Some(row.id.clone().into()),
            "name" => Some(row.name.clone().into()),
            "account_id" => Some(row.account_id.clone().into()),
            "campaign_id" => text(&row.campaign_id),
            "adset_id" => text(&row.adset_id),
            "status" | "configured_status" => Some(row.status.clone().into()),
            "effective_status" => Some(row.effective_status.clone().into()),
            "objective" => text(&row.objective),
            "daily_budget" => minor(row.daily_budget),
            "lifetime_budget" => minor(row.lifetime_budget),
            "buying_type" => Some("AUCTION".into()),
            "billing_event" => Some("IMPRESSIONS".into()),
            "optimization_goal" => Some("OFFSITE_CONVERSIONS".into()),
            "start_time" => text(&row.start_time),
            "created_time" => Some(row.created_time.clone().into()),
            "creative" => row.creative_id.as_ref().map(|id| {
                let mut creative = serde_json::Map::new();
                let subfields: Vec<&str> = if field.subfields.is_empty() {
                    vec!["id"]
                } else {
                    field.subfields.iter().map(String::as_str).collect()
                };
                for sub in subfields {
                    match sub {
                        "name" => {
                            creative.insert(
                                "name".to_owned(),
                                row.creative_name.clone().unwrap_or_default().into(),
                            );
                        }
                        _ => {
                            creative.insert("id".to_owned(), id.clone().into());
                        }
                    }
                }
                if !creative.contains_key("id") {
                    creative.insert("id".to_owned(), id.clone().into());
                }
                Value::Object(creative)
            }),
            _ => None,
        };
        let key = kind_key(&field.name);
        if let (Some(value), Some(key)) = (value, key)
            && !object.contains(key)
        {
            object.push(key, value);
        }
    }
    if !object.contains("id") {
        object.push("id", row.id.clone());
    }
    object
}

/// The static key of a known field name.
fn kind_key(name: &str) -> Option<&'static str> {
    [EntityKind::Campaign, EntityKind::AdSet, EntityKind::Ad]
        .iter()
        .flat_map(|kind| kind.fields().iter())
        .find(|field| **field == name)
        .copied()
}

/// Breaks the first row for a malformed fault: a budget that is not a number, or else a row
/// without its `id`.
fn break_row(object: &mut OrderedObject) {
    for budget in ["daily_budget", "lifetime_budget"] {
        if let Some((_, value)) = object.0.iter_mut().find(|(key, _)| *key == budget) {
            *value = super::insights::MALFORMED_NUMBER.into();
            return;
        }
    }
    object.0.retain(|(key, _)| *key != "id");
}

/// The handler of the three entity edges.
pub(crate) async fn handler(request: Request<'_>, kind: EntityKind) -> Response {
    let sandbox = request.sandbox;
    let route = RouteKind {
        route: kind.route(),
        use_case: Some(UseCase::AdsManagement),
        run_poll: false,
    };
    let (prelude, call) = match Prelude::enter(sandbox, route, &request).await {
        Ok(entered) => entered,
        Err(response) => return response,
    };
    let result = (|| {
        let account = call
            .account
            .as_ref()
            .ok_or_else(|| MetaError::unknown_object(request.node))?;
        let fields = parse_fields(request.params, kind)?;
        let filter = parse_status_filter(request.params)?;
        let today = sandbox.today_for(account);
        let rows: Vec<EntityRow> = rows_of(account, kind, today)
            .into_iter()
            .filter(|row| {
                filter
                    .as_ref()
                    .is_none_or(|statuses| statuses.contains(&row.effective_status))
            })
            .collect();
        let mut fingerprint = Seed::new("meta_ads/entities")
            .with_str(&account.id)
            .with_str(kind.edge());
        for status in filter.iter().flatten() {
            fingerprint = fingerprint.with_str(status);
        }
        let fingerprint = fingerprint.value();
        let window = Window::parse(request.params, fingerprint)?;
        let next_base = super::insights::next_base(&request);
        let mut page = paging::page(
            &rows,
            window,
            fingerprint,
            request.params,
            &next_base,
            |row| render(row, &fields),
        )?;
        if call.fault == Some(FaultKind::Malformed)
            && let Some(first) = page.data.first_mut()
        {
            break_row(first);
        }
        Ok::<_, MetaError>(page)
    })();
    let response = match result {
        Ok(page) => wire::json_with_type(StatusCode::OK, &page, CONTENT_TYPE),
        Err(error) => error.into_response(sandbox),
    };
    prelude.finish(sandbox, response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        "2025-06-30".parse().unwrap()
    }

    #[test]
    fn field_lists_split_outside_braces() {
        let fields = parse_field_list("id, name,creative{id,name},status").unwrap();
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["id", "name", "creative", "status"]);
        assert_eq!(fields[2].subfields, vec!["id", "name"]);
        assert!(parse_field_list("creative{id").is_err());
        assert!(parse_field_list("id}").is_err());
    }

    #[test]
    fn unknown_fields_name_metas_node_type() {
        let params = vec![("fields".to_owned(), "id,bogus".to_owned())];
        let error = parse_fields(&params, EntityKind::Ad).unwrap_err();
        assert!(error.message.contains("(bogus) on node type (Adgroup)"));
        let params = vec![("fields".to_owned(), "creative{url}".to_owned())];
        let error = parse_fields(&params, EntityKind::Ad).unwrap_err();
        assert!(error.message.contains("(url) on node type (AdCreative)"));
    }

    #[test]
    fn entities_follow_the_account_tree_with_budgets_at_one_level() {
        let account = account("4242").unwrap();
        let campaigns = rows_of(&account, EntityKind::Campaign, today());
        let adsets = rows_of(&account, EntityKind::AdSet, today());
        let ads = rows_of(&account, EntityKind::Ad, today());
        assert_eq!(campaigns.len(), account.campaigns.len());
        assert!(ads.len() >= adsets.len() && adsets.len() >= campaigns.len());
        for adset in &adsets {
            let campaign = campaigns
                .iter()
                .find(|c| Some(&c.id) == adset.campaign_id.as_ref())
                .unwrap();
            let campaign_budget = campaign.daily_budget.or(campaign.lifetime_budget);
            let adset_budget = adset.daily_budget.or(adset.lifetime_budget);
            assert!(campaign_budget.is_some() != adset_budget.is_some());
        }
        for ad in &ads {
            assert!(ad.creative_id.is_some() && ad.adset_id.is_some());
        }
        assert!(campaigns[0].start_time.as_deref().unwrap().contains('T'));
    }

    #[test]
    fn rows_render_requested_fields_budgets_as_strings_and_creatives_nested() {
        let account = account("4242").unwrap();
        let ads = rows_of(&account, EntityKind::Ad, today());
        let fields = parse_field_list("name,creative{id,name},adset_id").unwrap();
        let object = render(&ads[0], &fields);
        let keys: Vec<&str> = object.0.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, vec!["name", "creative", "adset_id", "id"]);
        assert_eq!(
            object.0[1].1["name"],
            ads[0].creative_name.clone().unwrap().as_str()
        );
        let campaigns = rows_of(&account, EntityKind::Campaign, today());
        let with_budget = campaigns.iter().find(|c| c.daily_budget.is_some()).unwrap();
        let fields = parse_field_list("daily_budget,lifetime_budget").unwrap();
        let mut object = render(with_budget, &fields);
        assert_eq!(
            object.0[0].1,
            with_budget.daily_budget.unwrap().to_string().as_str()
        );
        assert_eq!(object.0.len(), 2, "an unset budget is left out");
        break_row(&mut object);
        assert_eq!(object.0[0].1, "12,34x");
    }
}
