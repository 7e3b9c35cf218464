//! `POST /v{N}/customers/{customer_id}/googleAds:searchStream`: runs a GAQL query and streams
//! the answer as **one JSON array** of `SearchGoogleAdsStreamResponse` batches
//! (`{"results":[…],"fieldMask","requestId"}`, up to 10,000 rows each; the last batch also has
//! `queryResourceConsumption`). Rows are generated batch by batch while the client reads, so a
//! million-row answer never sits in memory.
//!
//! An error before the first batch is the error object in the same array framing
//! (`[{"error":{…}}]`) with the error's status; one after it is the array's last element.
//!
//! Rows are `GoogleAdsRow`s: camelCase objects per resource (the `FROM` resource always with
//! its `resourceName`), int64 values as JSON strings, doubles as numbers, unset and zero
//! metrics left out.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::fmt::Write as _;

use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{Days, NaiveDate};
use serde::Deserialize;

use super::errors::AdsError;
use super::gaql::{self, Field, Group, Query, Resource, Value};
use super::truth;
use super::truth::EntityRef;
use super::vocabulary::{Device, Level};
use super::world::{CustomerFacts, Metrics};
use super::{Admitted, CONTENT_TYPE, Prelude, REQUEST_ID_HEADER};
use crate::faults::FaultKind;
use crate::state::Sandbox;

/// The templated route, as recorded in the request log.
pub(crate) const ROUTE: &str = "/v{version}/customers/{customer_id}/googleAds:searchStream";

/// Rows per batch of the stream.
pub const BATCH_ROWS: usize = 10_000;

/// How far back reports go (Google keeps about 37 months).
const RETENTION_DAYS: u64 = 37 * 31;

/// The request body. Google refuses unknown fields (such as `pageSize`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StreamRequest {
    #[serde(default)]
    query: String,
    #[serde(default)]
    summary_row_setting: Option<String>,
}

/// The handler.
pub(crate) async fn handler(
    State(sandbox): State<Sandbox>,
    OriginalUri(uri): OriginalUri,
    Path((version, customer_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let prelude = Prelude::begin(&sandbox, ROUTE, &version, Some(&customer_id), &uri).await;
    let admitted = match prelude.admit(&sandbox, &headers) {
        Ok(admitted) => admitted,
        Err(rejection) => return prelude.reject(&sandbox, rejection),
    };
    let response = match answer(&sandbox, &admitted, &body, prelude.fault_kind()) {
        Ok(response) => response,
        Err(error) => error.into_stream_response(admitted.version, &admitted.request_id),
    };
    prelude.finish(response)
}

fn answer(
    sandbox: &Sandbox,
    admitted: &Admitted,
    body: &[u8],
    fault: Option<FaultKind>,
) -> Result<Response, AdsError> {
    let Some(customer) = admitted.customer.clone() else {
        return Err(AdsError::internal());
    };
    let request: StreamRequest = serde_json::from_slice(body).map_err(|error| {
        let detail = error.to_string();
        let detail = detail.split(" at line ").next().unwrap_or(&detail);
        AdsError::invalid_payload(match detail.strip_prefix("unknown field ") {
            Some(rest) => {
                let name = rest.split(',').next().unwrap_or(rest).trim_matches('`');
                format!(
                    "Invalid JSON payload received. Unknown name \"{name}\": Cannot find field."
                )
            }
            None => format!("Invalid JSON payload received. {detail}."),
        })
    })?;
    match request.summary_row_setting.as_deref() {
        None | Some("NO_SUMMARY_ROW") => {}
        Some("SUMMARY_ROW_WITH_RESULTS" | "SUMMARY_ROW_ONLY") => {
            return Err(AdsError::request(
                "INVALID_INPUT",
                "summaryRowSetting is valid, but the sandbox serves only NO_SUMMARY_ROW.",
            ));
        }
        Some(other) => {
            return Err(AdsError::invalid_payload(format!(
                "Invalid value at 'summary_row_setting' (type.googleapis.com/google.ads.googleads.v{}.enums.SummaryRowSettingEnum.SummaryRowSetting), \"{other}\"",
                admitted.version
            )));
        }
    }
    let today = sandbox.today_for(&customer);
    let query = gaql::parse(&request.query, today)?;
    if customer.is_manager() && query.reports_delivery() {
        return Err(AdsError::query(
            "REQUESTED_METRICS_FOR_MANAGER",
            "Metrics cannot be requested for a manager account. To retrieve metrics, issue separate requests against each client account under the manager account.",
        ));
    }
    let mut stream = BatchStream {
        source: RowSource::new(customer, query, today),
        request_id: admitted.request_id.clone(),
        started: false,
        finished: false,
        lookahead: None,
        malformed: fault == Some(FaultKind::Malformed),
        fail_after_first: false,
        version: admitted.version,
    };
    let first = stream.next_batch();
    if fault == Some(FaultKind::ReduceData) {
        if stream.finished {
            // Nothing was sent yet: the deadline error is the whole answer.
            return Err(AdsError::deadline_exceeded());
        }
        stream.fail_after_first = true;
    }
    let body = Body::from_stream(futures_util::stream::unfold(
        (stream, Some(first)),
        |(mut stream, first)| async move {
            let chunk = match first {
                Some(first) => first,
                None => {
                    if stream.finished {
                        return None;
                    }
                    stream.next_batch()
                }
            };
            Some((Ok::<_, Infallible>(Bytes::from(chunk)), (stream, None)))
        },
    ));
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(value) = HeaderValue::from_str(&admitted.request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

/// One result row before rendering.
#[derive(Debug, Clone)]
struct RowContext {
    entity: EntityRef,
    date: Option<NaiveDate>,
    device: Option<Device>,
    metrics: Option<Metrics>,
    /// For `customer_client` rows: the client and its level below the queried customer.
    client: Option<(CustomerFacts, u64)>,
}

/// How rows are produced.
#[derive(Debug)]
enum Mode {
    /// One row per entity, no metrics.
    Entities(VecDeque<EntityRef>),
    /// Delivery per day, from `next` to `last`.
    Daily { next: NaiveDate, last: NaiveDate },
    /// Delivery summed over the range, computed on the first pull.
    Totals {
        since: NaiveDate,
        until: NaiveDate,
        done: bool,
    },
    /// `customer_client` rows.
    Clients(VecDeque<(CustomerFacts, u64)>),
}

/// Produces the rows of one query lazily, in order.
struct RowSource {
    customer: CustomerFacts,
    query: Query,
    today: NaiveDate,
    level: Level,
    mode: Mode,
    pending: VecDeque<RowContext>,
    emitted: u64,
}

impl RowSource {
    fn new(customer: CustomerFacts, query: Query, today: NaiveDate) -> Self {
        let level = match query.resource {
            Resource::Customer | Resource::CustomerClient => Level::Customer,
            Resource::Campaign => Level::Campaign,
            Resource::AdGroup => Level::AdGroup,
            Resource::AdGroupAd => Level::AdGroupAd,
        };
        let earliest = customer
            .campaigns
            .iter()
            .map(|campaign| campaign.start.date(today))
            .min()
            .unwrap_or(today)
            .max(
                today
                    .checked_sub_days(Days::new(RETENTION_DAYS))
                    .unwrap_or(today),
            );
        let mode = if query.resource == Resource::CustomerClient {
            // The manager itself, and every account below it, direct or not.
            let mut rows = VecDeque::from([(customer.clone(), 0)]);
            rows.extend(customer.hierarchy());
            Mode::Clients(rows)
        } else if query.reports_delivery() {
            let (since, until) = match query.dates {
                Some((since, until)) => (since.unwrap_or(earliest), until.unwrap_or(today)),
                None => (earliest, today),
            };
            let until = until.min(today);
            if query.by_date() {
                Mode::Daily {
                    next: since,
                    last: until,
                }
            } else {
                Mode::Totals {
                    since,
                    until,
                    done: false,
                }
            }
        } else {
            Mode::Entities(truth::entities(&customer, level).into())
        };
        Self {
            customer,
            query,
            today,
            level,
            mode,
            pending: VecDeque::new(),
            emitted: 0,
        }
    }

    /// The next row that passes the conditions, or `None` at the end (or the `LIMIT`).
    fn next_row(&mut self) -> Option<RowContext> {
        if self.query.limit.is_some_and(|limit| self.emitted >= limit) {
            return None;
        }
        loop {
            if let Some(row) = self.pending.pop_front() {
                if self.passes(&row) {
                    self.emitted += 1;
                    return Some(row);
                }
                continue;
            }
            if !self.refill() {
                return None;
            }
        }
    }

    /// Queues the next group of candidate rows; false when there are no more.
    fn refill(&mut self) -> bool {
        let by_device = self.query.by_device();
        match &mut self.mode {
            Mode::Entities(entities) => match entities.pop_front() {
                Some(entity) => {
                    self.pending.push_back(RowContext {
                        entity,
                        date: None,
                        device: None,
                        metrics: None,
                        client: None,
                    });
                    true
                }
                None => false,
            },
            Mode::Clients(clients) => match clients.pop_front() {
                Some(client) => {
                    self.pending.push_back(RowContext {
                        entity: EntityRef::CUSTOMER,
                        date: None,
                        device: None,
                        metrics: None,
                        client: Some(client),
                    });
                    true
                }
                None => false,
            },
            Mode::Daily { next, last } => {
                while *next <= *last {
                    let date = *next;
                    *next = date.succ_opt().unwrap_or(NaiveDate::MAX);
                    let rows =
                        truth::day_rows(&self.customer, self.level, date, self.today, by_device);
                    if rows.is_empty() {
                        continue;
                    }
                    self.pending
                        .extend(
                            rows.into_iter()
                                .map(|(entity, device, metrics)| RowContext {
                                    entity,
                                    date: Some(date),
                                    device,
                                    metrics: Some(metrics),
                                    client: None,
                                }),
                        );
                    return true;
                }
                false
            }
            Mode::Totals { since, until, done } => {
                if *done {
                    return false;
                }
                *done = true;
                let mut totals: BTreeMap<(EntityRef, Option<Device>), Metrics> = BTreeMap::new();
                for date in since.iter_days().take_while(|date| date <= until) {
                    for (entity, device, metrics) in
                        truth::day_rows(&self.customer, self.level, date, self.today, by_device)
                    {
                        totals.entry((entity, device)).or_default().add(metrics);
                    }
                }
                self.pending
                    .extend(
                        totals
                            .into_iter()
                            .map(|((entity, device), metrics)| RowContext {
                                entity,
                                date: None,
                                device,
                                metrics: Some(metrics),
                                client: None,
                            }),
                    );
                !self.pending.is_empty()
            }
        }
    }

    fn passes(&self, row: &RowContext) -> bool {
        self.query
            .conditions
            .iter()
            .all(|condition| condition.matches(&value(&self.customer, row, condition.field)))
    }
}

/// The value of `field` in `row`.
fn value<'a>(customer: &'a CustomerFacts, row: &'a RowContext, field: Field) -> Value<'a> {
    let campaign = row.entity.campaign.and_then(|c| customer.campaigns.get(c));
    let group =
        campaign.and_then(|campaign| row.entity.ad_group.and_then(|g| campaign.ad_groups.get(g)));
    let ad = group.and_then(|group| row.entity.ad.and_then(|a| group.ads.get(a)));
    let client = row.client.as_ref();
    let metrics = row.metrics.unwrap_or_default();
    let opt_int = |id: Option<u64>| id.map_or(Value::Absent, Value::Int);
    let owned = |text: Option<String>| text.map_or(Value::Absent, Value::Owned);
    match field {
        Field::CustomerResourceName => Value::Owned(format!("customers/{}", customer.id)),
        Field::CustomerId => customer.id.parse().map_or(Value::Absent, Value::Int),
        Field::CustomerDescriptiveName => Value::Text(&customer.descriptive_name),
        Field::CustomerCurrencyCode => Value::Text(customer.currency.code()),
        Field::CustomerTimeZone => Value::Text(customer.time_zone.name()),
        Field::CustomerManager => Value::Bool(customer.is_manager()),
        Field::CustomerTestAccount => Value::Bool(false),
        Field::CustomerStatus => Value::Text(customer.status.as_str()),
        Field::ClientResourceName => {
            owned(client.map(|(client, _)| {
                format!("customers/{}/customerClients/{}", customer.id, client.id)
            }))
        }
        Field::ClientClientCustomer => {
            owned(client.map(|(client, _)| format!("customers/{}", client.id)))
        }
        Field::ClientId => opt_int(client.and_then(|(client, _)| client.id.parse().ok())),
        Field::ClientDescriptiveName => {
            client.map_or(Value::Absent, |(c, _)| Value::Text(&c.descriptive_name))
        }
        Field::ClientCurrencyCode => {
            client.map_or(Value::Absent, |(c, _)| Value::Text(c.currency.code()))
        }
        Field::ClientTimeZone => {
            client.map_or(Value::Absent, |(c, _)| Value::Text(c.time_zone.name()))
        }
        Field::ClientManager => client.map_or(Value::Absent, |(c, _)| Value::Bool(c.is_manager())),
        Field::ClientLevel => opt_int(client.map(|(_, level)| *level)),
        Field::ClientStatus => {
            client.map_or(Value::Absent, |(c, _)| Value::Text(c.status.as_str()))
        }
        // The manager's own row (level 0) has no link to hide.
        Field::ClientHidden => client.map_or(Value::Absent, |(c, level)| {
            Value::Bool(*level > 0 && c.hidden)
        }),
        Field::CampaignResourceName => {
            owned(campaign.map(|c| format!("customers/{}/campaigns/{}", customer.id, c.id)))
        }
        Field::CampaignId => opt_int(campaign.map(|c| c.id)),
        Field::CampaignName => campaign.map_or(Value::Absent, |c| Value::Text(&c.name)),
        Field::CampaignStatus => campaign.map_or(Value::Absent, |c| Value::Text(c.status.as_str())),
        Field::CampaignChannel => {
            campaign.map_or(Value::Absent, |c| Value::Text(c.channel.as_str()))
        }
        Field::CampaignBudget | Field::BudgetResourceName => owned(
            campaign.map(|c| format!("customers/{}/campaignBudgets/{}", customer.id, c.budget_id)),
        ),
        Field::BudgetId => opt_int(campaign.map(|c| c.budget_id)),
        Field::BudgetAmountMicros => opt_int(campaign.map(|c| c.budget_amount_micros)),
        Field::AdGroupResourceName => {
            owned(group.map(|g| format!("customers/{}/adGroups/{}", customer.id, g.id)))
        }
        Field::AdGroupId => opt_int(group.map(|g| g.id)),
        Field::AdGroupName => group.map_or(Value::Absent, |g| Value::Text(&g.name)),
        Field::AdGroupStatus => group.map_or(Value::Absent, |g| Value::Text(g.status.as_str())),
        Field::AdGroupType => {
            campaign.map_or(Value::Absent, |c| Value::Text(c.channel.ad_group_type()))
        }
        Field::AdGroupCampaign => {
            owned(campaign.map(|c| format!("customers/{}/campaigns/{}", customer.id, c.id)))
        }
        Field::AdResourceName => owned(
            group
                .zip(ad)
                .map(|(g, a)| format!("customers/{}/adGroupAds/{}~{}", customer.id, g.id, a.id)),
        ),
        Field::AdStatus => ad.map_or(Value::Absent, |a| Value::Text(a.status.as_str())),
        Field::AdAdGroup => {
            owned(group.map(|g| format!("customers/{}/adGroups/{}", customer.id, g.id)))
        }
        Field::AdInnerResourceName => {
            owned(ad.map(|a| format!("customers/{}/ads/{}", customer.id, a.id)))
        }
        Field::AdId => opt_int(ad.map(|a| a.id)),
        Field::AdName => ad
            .and_then(|a| a.name.as_deref())
            .map_or(Value::Absent, Value::Text),
        Field::AdType => ad.map_or(Value::Absent, |a| Value::Text(a.ad_type)),
        Field::AdFinalUrls => ad.map_or(Value::Absent, |a| Value::List(&a.final_urls)),
        Field::SegmentsDate => owned(row.date.map(|date| date.to_string())),
        Field::SegmentsDevice => row
            .device
            .map_or(Value::Absent, |d| Value::Text(d.as_str())),
        Field::Impressions => Value::Int(metrics.impressions),
        Field::Clicks => Value::Int(metrics.clicks),
        Field::CostMicros => Value::Int(metrics.cost_micros),
        Field::Conversions => Value::Double(metrics.conversions_centi as f64 / 100.0),
        Field::ConversionsValue => Value::Double(metrics.conversions_value_centi as f64 / 100.0),
    }
}

fn push_json_str(out: &mut String, text: &str) {
    match serde_json::to_string(text) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

/// Writes `"key":value` for a field value; absent values (and zero metrics) write nothing.
/// Returns whether something was written.
fn push_value(
    out: &mut String,
    key: &str,
    value: &Value<'_>,
    omit_zero: bool,
    first: bool,
) -> bool {
    let rendered = match value {
        Value::Absent => return false,
        Value::Int(0) | Value::Double(0.0) if omit_zero => return false,
        Value::Int(n) => format!("\"{n}\""),
        Value::Double(x) => {
            let mut text = serde_json::to_string(x).unwrap_or_else(|_| "0".to_owned());
            if !text.contains(['.', 'e', 'E']) {
                text.push_str(".0");
            }
            text
        }
        Value::Bool(b) => b.to_string(),
        Value::Text(text) => {
            let mut quoted = String::new();
            push_json_str(&mut quoted, text);
            quoted
        }
        Value::Owned(text) => {
            let mut quoted = String::new();
            push_json_str(&mut quoted, text);
            quoted
        }
        Value::List(items) => {
            let mut list = String::from("[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    list.push(',');
                }
                push_json_str(&mut list, item);
            }
            list.push(']');
            list
        }
    };
    if !first {
        out.push(',');
    }
    let _ = write!(out, "\"{key}\":{rendered}");
    true
}

/// The groups a row lists, in `GoogleAdsRow` order.
const GROUPS: &[Group] = &[
    Group::Customer,
    Group::CustomerClient,
    Group::Campaign,
    Group::CampaignBudget,
    Group::AdGroup,
    Group::AdGroupAd,
    Group::Metrics,
    Group::Segments,
];

fn from_group(resource: Resource) -> Group {
    match resource {
        Resource::Customer => Group::Customer,
        Resource::CustomerClient => Group::CustomerClient,
        Resource::Campaign => Group::Campaign,
        Resource::AdGroup => Group::AdGroup,
        Resource::AdGroupAd => Group::AdGroupAd,
    }
}

fn resource_name_field(group: Group) -> Option<Field> {
    match group {
        Group::Customer => Some(Field::CustomerResourceName),
        Group::CustomerClient => Some(Field::ClientResourceName),
        Group::Campaign => Some(Field::CampaignResourceName),
        Group::CampaignBudget => Some(Field::BudgetResourceName),
        Group::AdGroup => Some(Field::AdGroupResourceName),
        Group::AdGroupAd => Some(Field::AdResourceName),
        Group::Metrics | Group::Segments => None,
    }
}

/// Renders one `GoogleAdsRow`. With `break_field`, that field's value is replaced by text that
/// is not a number (the malformed fault).
fn render_row(
    out: &mut String,
    customer: &CustomerFacts,
    query: &Query,
    row: &RowContext,
    break_field: Option<Field>,
) {
    out.push('{');
    let main = from_group(query.resource);
    let mut first_group = true;
    for group in GROUPS {
        let selected: Vec<Field> = query
            .fields
            .iter()
            .copied()
            .filter(|field| field.group() == *group)
            .collect();
        if selected.is_empty() && *group != main {
            continue;
        }
        if !first_group {
            out.push(',');
        }
        first_group = false;
        let _ = write!(out, "\"{}\":{{", group.json_key());
        let mut first = true;
        if let Some(name_field) = resource_name_field(*group) {
            first = !push_value(
                out,
                "resourceName",
                &value(customer, row, name_field),
                false,
                first,
            ) && first;
        }
        // Fields of the nested `ad` object of an ad group ad, rendered together.
        let mut nested: Vec<Field> = Vec::new();
        for field in selected {
            let path = field.json_path();
            if path == "resourceName" {
                continue;
            }
            if let Some(inner) = path.strip_prefix("ad.") {
                if inner != "resourceName" {
                    nested.push(field);
                }
                continue;
            }
            let field_value = if break_field == Some(field) {
                Value::Text("n/a")
            } else {
                value(customer, row, field)
            };
            if push_value(out, path, &field_value, *group == Group::Metrics, first) {
                first = false;
            }
        }
        if !nested.is_empty() {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str("\"ad\":{");
            let mut inner_first = !push_value(
                out,
                "resourceName",
                &value(customer, row, Field::AdInnerResourceName),
                false,
                true,
            );
            for field in nested {
                let key = field.json_path().trim_start_matches("ad.");
                let field_value = if break_field == Some(field) {
                    Value::Text("n/a")
                } else {
                    value(customer, row, field)
                };
                if push_value(out, key, &field_value, false, inner_first) {
                    inner_first = false;
                }
            }
            out.push('}');
        }
        let _ = first;
        out.push('}');
    }
    out.push('}');
}

/// Turns a [`RowSource`] into the bytes of the JSON array, one batch per call.
struct BatchStream {
    source: RowSource,
    request_id: String,
    started: bool,
    finished: bool,
    lookahead: Option<RowContext>,
    /// Break one number in the first row (or the shape of the first batch).
    malformed: bool,
    /// End the array with a `DEADLINE_EXCEEDED` error after the first batch.
    fail_after_first: bool,
    version: u32,
}

impl BatchStream {
    /// The field broken by the malformed fault: the first selected metric or id.
    fn broken_field(&self) -> Option<Field> {
        let query = &self.source.query;
        let numeric =
            |field: &&Field| matches!(field.kind(), gaql::Kind::Int64 | gaql::Kind::Double);
        query
            .fields
            .iter()
            .filter(|field| field.group() == Group::Metrics)
            .find(numeric)
            .or_else(|| query.fields.iter().find(numeric))
            .copied()
    }

    /// The next chunk of the body: `[` and the first batch, `,` and a later batch, and `]`
    /// after the last one.
    fn next_batch(&mut self) -> Vec<u8> {
        let mut out = String::new();
        out.push(if self.started { ',' } else { '[' });
        let first_batch = !self.started;
        self.started = true;
        if self.fail_after_first && !first_batch {
            let error = AdsError::deadline_exceeded().to_json(self.version, &self.request_id);
            out.push_str(&error.to_string());
            out.push(']');
            self.finished = true;
            return out.into_bytes();
        }
        let break_field = (self.malformed && first_batch)
            .then(|| self.broken_field())
            .flatten();
        let mut rows = 0usize;
        let mut results = String::new();
        while rows < BATCH_ROWS {
            let Some(row) = self.lookahead.take().or_else(|| self.source.next_row()) else {
                break;
            };
            if rows > 0 {
                results.push(',');
            }
            render_row(
                &mut results,
                &self.source.customer,
                &self.source.query,
                &row,
                if rows == 0 { break_field } else { None },
            );
            rows += 1;
        }
        if rows == BATCH_ROWS {
            self.lookahead = self.source.next_row();
        }
        let last = self.lookahead.is_none();
        out.push('{');
        if self.malformed && first_batch && (rows == 0 || break_field.is_none()) {
            out.push_str("\"results\":\"malformed\",");
        } else if rows > 0 {
            let _ = write!(out, "\"results\":[{results}],");
        }
        out.push_str("\"fieldMask\":");
        push_json_str(&mut out, &self.source.query.field_mask());
        out.push_str(",\"requestId\":");
        push_json_str(&mut out, &self.request_id);
        if last {
            let consumption = 100 + self.source.emitted * 3;
            let _ = write!(out, ",\"queryResourceConsumption\":\"{consumption}\"");
        }
        out.push('}');
        if last && !self.fail_after_first {
            out.push(']');
            self.finished = true;
        }
        out.into_bytes()
    }
}

/// Every row a query returns for a customer, rendered, for tests (the same code the endpoint
/// streams from).
#[cfg(test)]
pub(crate) fn run(
    customer: CustomerFacts,
    query: &str,
    today: NaiveDate,
) -> Result<Vec<serde_json::Value>, AdsError> {
    let query = gaql::parse(query, today)?;
    let mut source = RowSource::new(customer, query, today);
    let mut rows = Vec::new();
    while let Some(row) = source.next_row() {
        let mut out = String::new();
        render_row(&mut out, &source.customer, &source.query, &row, None);
        rows.push(serde_json::from_str(&out).unwrap_or_default());
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google_ads::truth::centi_text;
    use crate::google_ads::{vocabulary, world};

    fn today() -> NaiveDate {
        "2025-06-30".parse().unwrap()
    }

    fn customer(id: &str) -> CustomerFacts {
        world::customer(id).unwrap()
    }

    #[test]
    fn rows_are_camel_case_objects_with_int64_strings_and_double_numbers() {
        let rows = run(
            customer("1234567890"),
            "SELECT campaign.id, campaign.name, segments.date, metrics.impressions, metrics.cost_micros, metrics.conversions FROM campaign WHERE segments.date = '2025-06-20'",
            today(),
        )
        .unwrap();
        assert!(!rows.is_empty());
        let row = &rows[0];
        let campaign = &row["campaign"];
        assert!(
            campaign["resourceName"]
                .as_str()
                .unwrap()
                .starts_with("customers/1234567890/campaigns/")
        );
        assert!(campaign["id"].is_string());
        assert!(row["metrics"]["impressions"].is_string());
        assert!(row["metrics"]["costMicros"].is_string());
        assert_eq!(row["segments"]["date"], "2025-06-20");
        if let Some(conversions) = row["metrics"].get("conversions") {
            assert!(conversions.is_f64());
        }
    }

    #[test]
    fn rows_match_the_truth_and_zero_metrics_are_left_out() {
        let since = "2025-06-01".parse().unwrap();
        let until = "2025-06-10".parse().unwrap();
        let truth =
            truth::report_truth("2345678901", Level::AdGroupAd, since, until, today(), true);
        let rows = run(
            customer("2345678901"),
            "SELECT ad_group_ad.ad.id, segments.date, segments.device, metrics.clicks, metrics.conversions_value FROM ad_group_ad WHERE segments.date BETWEEN '2025-06-01' AND '2025-06-10'",
            today(),
        )
        .unwrap();
        assert_eq!(rows.len(), truth.len());
        for (row, expected) in rows.iter().zip(&truth) {
            assert_eq!(
                row["adGroupAd"]["ad"]["id"],
                expected.ad_id.clone().unwrap()
            );
            assert_eq!(row["segments"]["device"], expected.device.unwrap().as_str());
            match expected.metrics.clicks {
                0 => assert!(row["metrics"].get("clicks").is_none()),
                clicks => assert_eq!(row["metrics"]["clicks"], clicks.to_string()),
            }
            if expected.metrics.conversions_value_centi > 0 {
                assert_eq!(
                    row["metrics"]["conversionsValue"]
                        .to_string()
                        .trim_end_matches(".0"),
                    centi_text(expected.metrics.conversions_value_centi)
                );
            }
        }
    }

    #[test]
    fn entity_queries_list_every_entity_with_budgets_and_creatives() {
        let customer = customer("1234567890");
        let campaigns = run(
            customer.clone(),
            "SELECT campaign.id, campaign.status, campaign.advertising_channel_type, campaign_budget.amount_micros FROM campaign",
            today(),
        )
        .unwrap();
        assert_eq!(campaigns.len(), customer.campaigns.len());
        assert!(campaigns[0]["campaignBudget"]["amountMicros"].is_string());
        let ads = run(
            customer.clone(),
            "SELECT ad_group_ad.ad.id, ad_group_ad.ad.type, ad_group_ad.ad.final_urls, ad_group.id FROM ad_group_ad WHERE ad_group_ad.status = 'ENABLED'",
            today(),
        )
        .unwrap();
        assert!(!ads.is_empty());
        for ad in &ads {
            assert!(ad["adGroupAd"]["ad"]["type"].is_string());
            assert!(
                ad["adGroupAd"]["resourceName"]
                    .as_str()
                    .unwrap()
                    .contains('~')
            );
        }
    }

    #[test]
    fn limit_and_filters_apply() {
        let rows = run(
            customer("1234567890"),
            "SELECT segments.date, segments.device, metrics.impressions FROM customer WHERE segments.date BETWEEN '2025-06-01' AND '2025-06-30' AND segments.device IN ('MOBILE', 'TABLET') LIMIT 7",
            today(),
        )
        .unwrap();
        assert_eq!(rows.len(), 7);
        assert!(
            rows.iter()
                .all(|row| row["segments"]["device"] != "DESKTOP")
        );
    }

    #[test]
    fn batches_form_one_json_array_and_the_last_one_reports_consumption() {
        let customer = customer("7000000001");
        let query = gaql::parse(
            "SELECT ad_group_ad.ad.id, segments.date, metrics.impressions FROM ad_group_ad WHERE segments.date BETWEEN '2025-06-01' AND '2025-06-02'",
            today(),
        )
        .unwrap();
        let mut stream = BatchStream {
            source: RowSource::new(customer, query, today()),
            request_id: "r".into(),
            started: false,
            finished: false,
            lookahead: None,
            malformed: false,
            fail_after_first: false,
            version: 21,
        };
        let mut body = Vec::new();
        while !stream.finished {
            body.extend(stream.next_batch());
        }
        let batches: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
        assert!(batches.len() >= 2);
        let sizes: Vec<usize> = batches
            .iter()
            .map(|batch| batch["results"].as_array().map_or(0, Vec::len))
            .collect();
        assert!(
            sizes[..sizes.len() - 1]
                .iter()
                .all(|size| *size == BATCH_ROWS)
        );
        assert!(batches.last().unwrap()["queryResourceConsumption"].is_string());
        assert!(batches[0].get("queryResourceConsumption").is_none());
    }

    #[test]
    fn a_query_without_rows_is_one_batch_without_results() {
        let customer = world::customer(vocabulary::NO_DELIVERY_CUSTOMER_ID).unwrap();
        let query = gaql::parse(
            "SELECT campaign.id, segments.date, metrics.clicks FROM campaign WHERE segments.date DURING LAST_7_DAYS",
            today(),
        )
        .unwrap();
        let mut stream = BatchStream {
            source: RowSource::new(customer, query, today()),
            request_id: "r".into(),
            started: false,
            finished: false,
            lookahead: None,
            malformed: false,
            fail_after_first: false,
            version: 21,
        };
        let body = stream.next_batch();
        assert!(stream.finished);
        let batches: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
        assert_eq!(batches.len(), 1);
        assert!(batches[0].get("results").is_none());
        assert_eq!(
            batches[0]["fieldMask"],
            "campaign.id,segments.date,metrics.clicks"
        );
    }
}
