//! Snapchat's wire format: stats answers, entity lists, organizations, error bodies and token
//! answers, the local-midnight boundaries of a window, and the mapping of answers to [`Row`]s.
//!
//! Numbers arrive as JSON numbers; `spend`, `conversion_purchases_value` and the budgets are
//! micro-currency (millionths of the account currency's major unit). Stats rows are dated by
//! the start of their timeseries point in the account's time zone.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Number;
use shared::domain::currency::micros_to_major;
use shared::domain::{Breakdown, Metric, ReportLevel, ReportSpec};

use crate::rows::Row;

/// `paging` of an entity list.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Paging {
    #[serde(default)]
    pub(super) next_link: Option<String>,
}

/// A campaign as listed.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Campaign {
    pub(super) id: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) objective: Option<String>,
    #[serde(default)]
    pub(super) daily_budget_micro: Option<Number>,
    #[serde(default)]
    pub(super) lifetime_spend_cap_micro: Option<Number>,
}

/// An ad squad as listed.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct AdSquad {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) campaign_id: String,
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) daily_budget_micro: Option<Number>,
    #[serde(default)]
    pub(super) lifetime_budget_micro: Option<Number>,
}

/// An ad as listed.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Ad {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) ad_squad_id: String,
    #[serde(default)]
    pub(super) creative_id: Option<String>,
    #[serde(default)]
    pub(super) status: Option<String>,
}

/// A creative as listed.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Creative {
    pub(super) id: String,
    #[serde(default)]
    pub(super) name: Option<String>,
}

/// The lists of an ad account the connector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Edge {
    Campaigns,
    AdSquads,
    Ads,
    Creatives,
}

impl Edge {
    /// The path segment and the list's key in the answer.
    pub(super) const fn key(self) -> &'static str {
        match self {
            Edge::Campaigns => "campaigns",
            Edge::AdSquads => "adsquads",
            Edge::Ads => "ads",
            Edge::Creatives => "creatives",
        }
    }

    /// The key of the item inside each `{"sub_request_status", "<item>": {...}}` wrapper.
    pub(super) const fn item(self) -> &'static str {
        match self {
            Edge::Campaigns => "campaign",
            Edge::AdSquads => "adsquad",
            Edge::Ads => "ad",
            Edge::Creatives => "creative",
        }
    }
}

/// A parse failure, with the JSON path of the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Broken(pub(super) String);

/// Parses a whole answer strictly, naming the path of the first broken field.
pub(super) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Broken> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer)
        .map_err(|error| Broken(format!("{}: {}", error.path(), error.inner())))
}

/// The items of one list page: every wrapper must say `SUCCESS` and hold an item of `edge`.
pub(super) fn list_items<T: serde::de::DeserializeOwned>(
    body: &[u8],
    edge: Edge,
) -> Result<(Vec<T>, Option<String>), Broken> {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(default)]
        paging: Option<Paging>,
        #[serde(default)]
        request_status: Option<String>,
    }
    let envelope: Envelope = parse(body)?;
    check_status(envelope.request_status.as_deref(), "request_status")?;
    let value: serde_json::Value = parse(body)?;
    let list = value
        .get(edge.key())
        .ok_or_else(|| Broken(format!("{}: missing", edge.key())))?
        .as_array()
        .ok_or_else(|| Broken(format!("{}: not a list", edge.key())))?;
    let mut items = Vec::with_capacity(list.len());
    for (index, wrapper) in list.iter().enumerate() {
        let at = |field: &str| format!("{}[{index}].{field}", edge.key());
        check_status(
            wrapper.get("sub_request_status").and_then(|s| s.as_str()),
            &at("sub_request_status"),
        )?;
        let item = wrapper
            .get(edge.item())
            .ok_or_else(|| Broken(format!("{}: missing", at(edge.item()))))?;
        let item: T = serde_path_to_error::deserialize(item).map_err(|error| {
            Broken(format!(
                "{}.{}: {}",
                at(edge.item()),
                error.path(),
                error.inner()
            ))
        })?;
        items.push(item);
    }
    let next = envelope.paging.and_then(|paging| paging.next_link);
    Ok((items, next))
}

/// `SUCCESS` (in any case) or absent passes; anything else is a failure naming the field.
fn check_status(status: Option<&str>, field: &str) -> Result<(), Broken> {
    match status {
        None => Ok(()),
        Some(status) if status.eq_ignore_ascii_case("success") => Ok(()),
        Some(other) => Err(Broken(format!("{field}: {other}"))),
    }
}

/// Snapchat's error body: `{"request_status":"ERROR","request_id","debug_message",
/// "display_message","error_code"}`; every field optional (throttles may come bare).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApiError {
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub debug_message: Option<String>,
    #[serde(default)]
    pub display_message: Option<String>,
    #[serde(default)]
    pub error_code: Option<String>,
}

impl ApiError {
    /// Reads an error body; anything else gives an empty error.
    pub(super) fn from_body(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }

    /// The most useful message the body carries.
    pub(super) fn message(&self) -> &str {
        self.debug_message
            .as_deref()
            .or(self.display_message.as_deref())
            .unwrap_or("no error message")
    }
}

/// The organizations answer (`GET /v1/me/organizations?with_ad_accounts=true`).
#[derive(Debug, Deserialize)]
pub(super) struct Organizations {
    #[serde(default)]
    pub(super) request_status: Option<String>,
    pub(super) organizations: Vec<OrganizationItem>,
    #[serde(default)]
    pub(super) paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
pub(super) struct OrganizationItem {
    #[serde(default)]
    pub(super) sub_request_status: Option<String>,
    pub(super) organization: Organization,
}

#[derive(Debug, Deserialize)]
pub(super) struct Organization {
    #[serde(default)]
    pub(super) ad_accounts: Vec<AdAccount>,
}

#[derive(Debug, Deserialize)]
pub(super) struct AdAccount {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) timezone: String,
    pub(super) currency: String,
}

impl Organizations {
    /// Every listed wrapper must say `SUCCESS`.
    pub(super) fn check(&self) -> Result<(), Broken> {
        check_status(self.request_status.as_deref(), "request_status")?;
        for (index, item) in self.organizations.iter().enumerate() {
            check_status(
                item.sub_request_status.as_deref(),
                &format!("organizations[{index}].sub_request_status"),
            )?;
        }
        Ok(())
    }
}

/// A DAY-granularity stats answer.
#[derive(Debug, Deserialize)]
pub(super) struct StatsAnswer {
    #[serde(default)]
    pub(super) request_status: Option<String>,
    pub(super) timeseries_stats: Vec<TimeseriesStatItem>,
}

#[derive(Debug, Deserialize)]
pub(super) struct TimeseriesStatItem {
    #[serde(default)]
    pub(super) sub_request_status: Option<String>,
    pub(super) timeseries_stat: TimeseriesStat,
}

#[derive(Debug, Deserialize)]
pub(super) struct TimeseriesStat {
    #[serde(default)]
    pub(super) breakdown_stats: Option<BreakdownStats>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct BreakdownStats {
    #[serde(default)]
    pub(super) campaign: Option<Vec<Child>>,
    #[serde(default)]
    pub(super) adsquad: Option<Vec<Child>>,
    #[serde(default)]
    pub(super) ad: Option<Vec<Child>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Child {
    pub(super) id: String,
    pub(super) timeseries: Vec<Point>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Point {
    pub(super) start_time: String,
    #[serde(default)]
    pub(super) stats: Option<Stats>,
    #[serde(default)]
    pub(super) dimension_stats: Option<Vec<DimensionStats>>,
}

/// The numbers of a point. Fields are optional: only requested ones are present.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct Stats {
    #[serde(default)]
    impressions: Option<Number>,
    #[serde(default)]
    swipes: Option<Number>,
    #[serde(default)]
    spend: Option<Number>,
    #[serde(default)]
    conversion_purchases: Option<Number>,
    #[serde(default)]
    conversion_purchases_value: Option<Number>,
}

/// The numbers of one country of a point (`report_dimension=COUNTRY`).
#[derive(Debug, Deserialize)]
pub(super) struct DimensionStats {
    pub(super) country: String,
    #[serde(default)]
    impressions: Option<Number>,
    #[serde(default)]
    swipes: Option<Number>,
    #[serde(default)]
    spend: Option<Number>,
    #[serde(default)]
    conversion_purchases: Option<Number>,
    #[serde(default)]
    conversion_purchases_value: Option<Number>,
}

impl DimensionStats {
    fn stats(&self) -> Stats {
        Stats {
            impressions: self.impressions.clone(),
            swipes: self.swipes.clone(),
            spend: self.spend.clone(),
            conversion_purchases: self.conversion_purchases.clone(),
            conversion_purchases_value: self.conversion_purchases_value.clone(),
        }
    }
}

/// The stats field a metric is read from; `None` for metrics Snapchat does not report here
/// (the catalogue keeps them out) and for derived metrics (never fetched).
pub(super) fn stats_field(metric: Metric) -> Option<&'static str> {
    match metric {
        Metric::Impressions => Some("impressions"),
        Metric::Clicks => Some("swipes"),
        Metric::Spend => Some("spend"),
        Metric::Conversions => Some("conversion_purchases"),
        Metric::ConversionValue => Some("conversion_purchases_value"),
        Metric::Reach | Metric::Ctr | Metric::Cpc | Metric::Cpm | Metric::Cpa | Metric::Roas => {
            None
        }
    }
}

/// The `fields` of a stats request: the report's metrics, plus `impressions` and `spend`, which
/// tell a day with delivery from one without.
pub(super) fn stats_fields(report: &ReportSpec) -> String {
    let mut fields: Vec<&str> = report
        .fetched_metrics()
        .into_iter()
        .filter_map(stats_field)
        .collect();
    for always in ["impressions", "spend"] {
        if !fields.contains(&always) {
            fields.push(always);
        }
    }
    fields.join(",")
}

fn to_decimal(number: &Number) -> Option<Decimal> {
    let text = number.to_string();
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .ok()
}

impl Stats {
    fn raw(&self, field: &str) -> Option<&Number> {
        match field {
            "impressions" => self.impressions.as_ref(),
            "swipes" => self.swipes.as_ref(),
            "spend" => self.spend.as_ref(),
            "conversion_purchases" => self.conversion_purchases.as_ref(),
            "conversion_purchases_value" => self.conversion_purchases_value.as_ref(),
            _ => None,
        }
    }

    /// The metric in adsync's units (money in major units); `None` when Snapchat left it out.
    fn metric(&self, metric: Metric) -> Result<Option<Decimal>, String> {
        let Some(field) = stats_field(metric) else {
            return Ok(None);
        };
        let Some(number) = self.raw(field) else {
            return Ok(None);
        };
        let value =
            to_decimal(number).ok_or_else(|| format!("{field}: {number} is not a decimal"))?;
        Ok(Some(match metric {
            Metric::Spend | Metric::ConversionValue => micros_to_major(value),
            Metric::Impressions
            | Metric::Clicks
            | Metric::Conversions
            | Metric::Reach
            | Metric::Ctr
            | Metric::Cpc
            | Metric::Cpm
            | Metric::Cpa
            | Metric::Roas => value,
        }))
    }

    /// Whether the point had no delivery: no impressions, no spend and nothing else.
    fn is_empty(&self) -> bool {
        let zero = |number: Option<&Number>| {
            number.is_none_or(|n| to_decimal(n).is_some_and(|d| d.is_zero()))
        };
        [
            "impressions",
            "swipes",
            "spend",
            "conversion_purchases",
            "conversion_purchases_value",
        ]
        .iter()
        .all(|field| zero(self.raw(field)))
    }
}

/// When a local day starts in `time_zone`: midnight, or the first instant after a DST gap that
/// swallows midnight.
pub(super) fn day_start(time_zone: Tz, date: NaiveDate) -> DateTime<Tz> {
    let midnight = date.and_time(NaiveTime::MIN);
    if let Some(start) = time_zone.from_local_datetime(&midnight).earliest() {
        return start;
    }
    (1..=4)
        .find_map(|hours| {
            time_zone
                .from_local_datetime(&(midnight + Duration::hours(hours)))
                .earliest()
        })
        .unwrap_or_else(|| time_zone.from_utc_datetime(&midnight))
}

/// An instant as a stats query takes it: ISO 8601 with milliseconds and the account's offset.
pub(super) fn render_time(time: DateTime<Tz>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

/// Parses a point's `start_time` (`…-07:00`, `…-0700` or `…Z`).
fn parse_time(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
}

/// The names the platform gives a level's dimensions, by entity id.
#[derive(Debug, Default)]
pub(super) struct Names {
    pub(super) campaigns: HashMap<String, String>,
    /// Ad squad id → (name, campaign id).
    pub(super) adsquads: HashMap<String, (String, String)>,
    /// Ad id → (name, ad squad id).
    pub(super) ads: HashMap<String, (String, String)>,
}

impl Names {
    /// The dimension texts of an entity of `level` (`ReportLevel::dimensions` order). An id the
    /// lists do not know (an entity deleted since) keeps its id and has no name.
    fn texts(&self, level: ReportLevel, id: &str) -> Vec<Option<String>> {
        let campaign = |campaign_id: Option<&str>| {
            vec![
                campaign_id.map(str::to_owned),
                campaign_id.and_then(|id| self.campaigns.get(id).cloned()),
            ]
        };
        let adsquad = |squad_id: Option<&str>| {
            let squad = squad_id.and_then(|id| self.adsquads.get(id));
            let mut texts = campaign(squad.map(|(_, campaign)| campaign.as_str()));
            texts.push(squad_id.map(str::to_owned));
            texts.push(squad.map(|(name, _)| name.clone()));
            texts
        };
        match level {
            ReportLevel::Account => Vec::new(),
            ReportLevel::Campaign => campaign(Some(id)),
            ReportLevel::AdGroup => adsquad(Some(id)),
            ReportLevel::Ad => {
                let ad = self.ads.get(id);
                let mut texts = adsquad(ad.map(|(_, squad)| squad.as_str()));
                texts.push(Some(id.to_owned()));
                texts.push(ad.map(|(name, _)| name.clone()));
                texts
            }
        }
    }
}

/// Maps a DAY stats answer (with `breakdown` for the level, or `campaign` summed up for the
/// account level) to rows in the fetched layout. Points without delivery give no row.
pub(super) fn stats_rows(
    answer: &StatsAnswer,
    report: &ReportSpec,
    time_zone: Tz,
    names: &Names,
) -> Result<Vec<Row>, Broken> {
    check_status(answer.request_status.as_deref(), "request_status")?;
    let metrics = report.fetched_metrics();
    let by_country = report.breakdowns.contains(&Breakdown::Country);
    let mut rows: Vec<Row> = Vec::new();
    for (s, item) in answer.timeseries_stats.iter().enumerate() {
        let at = format!("timeseries_stats[{s}]");
        check_status(
            item.sub_request_status.as_deref(),
            &format!("{at}.sub_request_status"),
        )?;
        let breakdown = item.timeseries_stat.breakdown_stats.as_ref();
        let (key, children) = match report.level {
            ReportLevel::Account | ReportLevel::Campaign => {
                ("campaign", breakdown.and_then(|b| b.campaign.as_ref()))
            }
            ReportLevel::AdGroup => ("adsquad", breakdown.and_then(|b| b.adsquad.as_ref())),
            ReportLevel::Ad => ("ad", breakdown.and_then(|b| b.ad.as_ref())),
        };
        let Some(children) = children else {
            // With `omit_empty`, an answer without delivery may leave out the breakdown.
            continue;
        };
        for (c, child) in children.iter().enumerate() {
            let texts = names.texts(report.level, &child.id);
            for (p, point) in child.timeseries.iter().enumerate() {
                let at = format!("{at}.timeseries_stat.breakdown_stats.{key}[{c}].timeseries[{p}]");
                let date = parse_time(&point.start_time)
                    .map(|time| time.with_timezone(&time_zone).date_naive())
                    .ok_or_else(|| {
                        Broken(format!(
                            "{at}.start_time: {:?} is not an ISO 8601 time",
                            point.start_time
                        ))
                    })?;
                let parts: Vec<(Option<String>, Stats)> =
                    match (&point.dimension_stats, &point.stats) {
                        (Some(countries), _) if by_country => countries
                            .iter()
                            .map(|country| (Some(country.country.to_uppercase()), country.stats()))
                            .collect(),
                        (_, Some(stats)) if !by_country => vec![(None, stats.clone())],
                        _ => {
                            let missing = if by_country {
                                "dimension_stats"
                            } else {
                                "stats"
                            };
                            return Err(Broken(format!("{at}.{missing}: missing")));
                        }
                    };
                for (d, (country, stats)) in parts.into_iter().enumerate() {
                    if stats.is_empty() {
                        continue;
                    }
                    let numbers = metrics
                        .iter()
                        .map(|metric| {
                            stats.metric(*metric).map_err(|detail| {
                                let inner = if by_country {
                                    format!("{at}.dimension_stats[{d}].{detail}")
                                } else {
                                    format!("{at}.stats.{detail}")
                                };
                                Broken(inner)
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let mut row_texts = texts.clone();
                    if by_country {
                        row_texts.push(country);
                    }
                    rows.push(Row {
                        date: Some(date),
                        texts: row_texts,
                        numbers,
                    });
                }
            }
        }
    }
    if report.level == ReportLevel::Account {
        rows = sum_by_date_and_texts(rows);
    }
    rows.sort_by(|a, b| (a.date, &a.texts).cmp(&(b.date, &b.texts)));
    Ok(rows)
}

/// Adds up rows that share a date and texts (the account level, from its campaigns). A metric
/// one of them lacks is unknown in the sum.
fn sum_by_date_and_texts(rows: Vec<Row>) -> Vec<Row> {
    let mut sums: Vec<Row> = Vec::new();
    let mut index: HashMap<(Option<NaiveDate>, Vec<Option<String>>), usize> = HashMap::new();
    for row in rows {
        match index.get(&(row.date, row.texts.clone())) {
            Some(&at) => {
                let sum = &mut sums[at];
                for (total, value) in sum.numbers.iter_mut().zip(row.numbers) {
                    *total = total.zip(value).map(|(a, b)| a + b);
                }
            }
            None => {
                index.insert((row.date, row.texts.clone()), sums.len());
                sums.push(row);
            }
        }
    }
    sums
}

fn micros(number: Option<&Number>, field: &str) -> Result<Option<Decimal>, String> {
    number
        .map(|number| {
            to_decimal(number)
                .map(micros_to_major)
                .ok_or_else(|| format!("{field}: {number} is not a decimal"))
        })
        .transpose()
}

/// A campaign as an entities row (`ENTITY_TEXTS`, `ENTITY_NUMBERS`).
pub(super) fn campaign_row(campaign: &Campaign) -> Result<Row, String> {
    Ok(Row {
        date: None,
        texts: vec![
            Some(campaign.id.clone()),
            Some(campaign.name.clone()),
            None,
            None,
            campaign.status.clone(),
            campaign.objective.clone(),
            None,
            None,
        ],
        numbers: vec![
            micros(campaign.daily_budget_micro.as_ref(), "daily_budget_micro")?,
            micros(
                campaign.lifetime_spend_cap_micro.as_ref(),
                "lifetime_spend_cap_micro",
            )?,
        ],
    })
}

/// An ad squad as an entities row.
pub(super) fn adsquad_row(squad: &AdSquad) -> Result<Row, String> {
    Ok(Row {
        date: None,
        texts: vec![
            Some(squad.id.clone()),
            Some(squad.name.clone()),
            Some(squad.campaign_id.clone()),
            None,
            squad.status.clone(),
            None,
            None,
            None,
        ],
        numbers: vec![
            micros(squad.daily_budget_micro.as_ref(), "daily_budget_micro")?,
            micros(
                squad.lifetime_budget_micro.as_ref(),
                "lifetime_budget_micro",
            )?,
        ],
    })
}

/// An ad as an entities row: its campaign comes from its ad squad, its creative's name from the
/// creatives list.
pub(super) fn ad_row(
    ad: &Ad,
    squad_campaigns: &HashMap<String, String>,
    creative_names: &HashMap<String, Option<String>>,
) -> Row {
    Row {
        date: None,
        texts: vec![
            Some(ad.id.clone()),
            Some(ad.name.clone()),
            squad_campaigns.get(&ad.ad_squad_id).cloned(),
            Some(ad.ad_squad_id.clone()),
            ad.status.clone(),
            None,
            ad.creative_id.clone(),
            ad.creative_id
                .as_ref()
                .and_then(|id| creative_names.get(id).cloned().flatten()),
        ],
        numbers: vec![None, None],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(level: &str, metrics: &[&str], breakdowns: &[&str]) -> ReportSpec {
        super::super::CATALOGUE
            .performance_by(level, metrics, breakdowns)
            .unwrap()
    }

    fn d(value: &str) -> Option<Decimal> {
        Some(value.parse().unwrap())
    }

    fn names() -> Names {
        let mut names = Names::default();
        names.campaigns.insert("c1".into(), "Été · Sale".into());
        names.campaigns.insert("c2".into(), "Always-on".into());
        names
            .adsquads
            .insert("s1".into(), ("Squad 1".into(), "c1".into()));
        names.ads.insert("a1".into(), ("Ad 1".into(), "s1".into()));
        names
    }

    const CAMPAIGN_ANSWER: &str = r#"{"request_status":"SUCCESS","request_id":"r","timeseries_stats":[
        {"sub_request_status":"SUCCESS","timeseries_stat":{"id":"acc","type":"AD_ACCOUNT","granularity":"DAY",
         "start_time":"2025-03-08T00:00:00.000-08:00","end_time":"2025-03-10T00:00:00.000-07:00",
         "breakdown_stats":{"campaign":[
           {"id":"c1","type":"CAMPAIGN","timeseries":[
             {"start_time":"2025-03-08T00:00:00.000-08:00","end_time":"2025-03-09T00:00:00.000-08:00",
              "stats":{"impressions":1000,"swipes":20,"spend":12345678,"conversion_purchases":3,"conversion_purchases_value":89970000}},
             {"start_time":"2025-03-09T00:00:00.000-0800","end_time":"2025-03-10T00:00:00.000-07:00",
              "stats":{"impressions":0,"swipes":0,"spend":0,"conversion_purchases":0,"conversion_purchases_value":0}}]},
           {"id":"c2","type":"CAMPAIGN","timeseries":[
             {"start_time":"2025-03-09T08:00:00Z","end_time":"2025-03-10T07:00:00Z",
              "stats":{"impressions":10,"swipes":1,"spend":500000,"conversion_purchases":0,"conversion_purchases_value":0}}]}]}}}]}"#;

    #[test]
    fn campaign_rows_map_swipes_micros_and_local_dates() {
        let answer: StatsAnswer = parse(CAMPAIGN_ANSWER.as_bytes()).unwrap();
        let report = report(
            "campaign",
            &[
                "impressions",
                "clicks",
                "spend",
                "conversions",
                "conversion_value",
                "cpc",
            ],
            &[],
        );
        let rows = stats_rows(&answer, &report, Tz::America__Los_Angeles, &names()).unwrap();
        assert_eq!(
            rows,
            vec![
                Row {
                    date: "2025-03-08".parse().ok(),
                    texts: vec![Some("c1".into()), Some("Été · Sale".into())],
                    numbers: vec![d("1000"), d("20"), d("12.345678"), d("3"), d("89.97")],
                },
                Row {
                    date: "2025-03-09".parse().ok(),
                    texts: vec![Some("c2".into()), Some("Always-on".into())],
                    numbers: vec![d("10"), d("1"), d("0.5"), d("0"), d("0")],
                },
            ],
            "the empty day is left out; a UTC start time is dated in the account's zone"
        );
    }

    #[test]
    fn the_account_level_sums_its_campaigns_per_day() {
        let answer: StatsAnswer = parse(CAMPAIGN_ANSWER.as_bytes()).unwrap();
        let mut shifted: StatsAnswer = parse(
            CAMPAIGN_ANSWER
                .replace("2025-03-09T08:00:00Z", "2025-03-08T08:00:00Z")
                .as_bytes(),
        )
        .unwrap();
        let report = report("account", &["impressions", "spend"], &[]);
        let rows = stats_rows(&answer, &report, Tz::America__Los_Angeles, &names()).unwrap();
        assert_eq!(rows.len(), 2);
        shifted.timeseries_stats.truncate(1);
        let rows = stats_rows(&shifted, &report, Tz::America__Los_Angeles, &names()).unwrap();
        assert_eq!(
            rows,
            vec![Row {
                date: "2025-03-08".parse().ok(),
                texts: vec![],
                numbers: vec![d("1010"), d("12.845678")],
            }]
        );
    }

    #[test]
    fn country_rows_come_from_dimension_stats_in_upper_case() {
        let body = r#"{"request_status":"SUCCESS","timeseries_stats":[{"sub_request_status":"SUCCESS",
          "timeseries_stat":{"breakdown_stats":{"ad":[{"id":"a1","timeseries":[
            {"start_time":"2025-06-01T00:00:00.000+02:00","dimension_stats":[
              {"country":"de","impressions":7,"spend":1000000},
              {"country":"fr","impressions":0,"spend":0}]}]}]}}}]}"#;
        let answer: StatsAnswer = parse(body.as_bytes()).unwrap();
        let report = report("ad", &["impressions", "spend"], &["country"]);
        let rows = stats_rows(&answer, &report, Tz::Europe__Berlin, &names()).unwrap();
        assert_eq!(
            rows,
            vec![Row {
                date: "2025-06-01".parse().ok(),
                texts: vec![
                    Some("c1".into()),
                    Some("Été · Sale".into()),
                    Some("s1".into()),
                    Some("Squad 1".into()),
                    Some("a1".into()),
                    Some("Ad 1".into()),
                    Some("DE".into()),
                ],
                numbers: vec![d("7"), d("1")],
            }]
        );
    }

    #[test]
    fn a_metric_that_is_not_a_number_is_named_with_its_path() {
        let body = CAMPAIGN_ANSWER.replace(r#""impressions":1000"#, r#""impressions":"1000""#);
        let error = parse::<StatsAnswer>(body.as_bytes()).unwrap_err();
        assert!(
            error
                .0
                .contains("breakdown_stats.campaign[0].timeseries[0].stats.impressions"),
            "{}",
            error.0
        );
    }

    #[test]
    fn list_items_unwrap_and_check_every_wrapper() {
        let body = br#"{"request_status":"SUCCESS","paging":{"next_link":"http://h/v1/x?cursor=a"},
            "campaigns":[{"sub_request_status":"SUCCESS","campaign":{"id":"c1","name":"One","status":"ACTIVE",
            "objective":"WEB_CONVERSION","daily_budget_micro":50000000}}]}"#;
        let (items, next) = list_items::<Campaign>(body, Edge::Campaigns).unwrap();
        assert_eq!(next.as_deref(), Some("http://h/v1/x?cursor=a"));
        let row = campaign_row(&items[0]).unwrap();
        assert_eq!(row.numbers, vec![d("50"), None]);
        assert_eq!(row.texts[5].as_deref(), Some("WEB_CONVERSION"));
        let broken =
            br#"{"campaigns":[{"sub_request_status":"SUCCESS","campaign":{"id":404,"name":"x"}}]}"#;
        let error = list_items::<Campaign>(broken, Edge::Campaigns).unwrap_err();
        assert!(
            error.0.starts_with("campaigns[0].campaign.id:"),
            "{}",
            error.0
        );
        let failed =
            br#"{"campaigns":[{"sub_request_status":"ERROR","campaign":{"id":"c","name":"x"}}]}"#;
        assert!(list_items::<Campaign>(failed, Edge::Campaigns).is_err());
    }

    #[test]
    fn windows_start_and_end_at_local_midnight() {
        let la = Tz::America__Los_Angeles;
        let day = |text: &str| text.parse::<NaiveDate>().unwrap();
        assert_eq!(
            render_time(day_start(la, day("2025-03-09"))),
            "2025-03-09T00:00:00.000-08:00"
        );
        assert_eq!(
            render_time(day_start(la, day("2025-03-10"))),
            "2025-03-10T00:00:00.000-07:00"
        );
        assert_eq!(
            render_time(day_start(Tz::UTC, day("2025-03-10"))),
            "2025-03-10T00:00:00.000+00:00"
        );
    }

    #[test]
    fn stats_fields_always_include_delivery_indicators() {
        let report = report("campaign", &["conversions", "clicks"], &[]);
        assert_eq!(
            stats_fields(&report),
            "conversion_purchases,swipes,impressions,spend"
        );
    }
}
