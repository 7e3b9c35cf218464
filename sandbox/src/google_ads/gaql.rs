//! The Google Ads Query Language subset the sandbox serves, parsed properly and refused with
//! Google's `queryError` codes:
//!
//! ```text
//! SELECT field[, field…] FROM resource
//!   [WHERE condition [AND condition…]] [LIMIT n]
//! condition: field (= | != | > | >= | < | <=) value | field [NOT] IN (value, …)
//!          | field BETWEEN value AND value | segments.date DURING LAST_7_DAYS…
//! ```
//!
//! Resources: `customer`, `customer_client`, `campaign`, `ad_group`, `ad_group_ad`; fields: see
//! [`Field`]. `ORDER BY` and `PARAMETERS` are real GAQL the sandbox does not serve: they are
//! refused with `QUERY_ERROR` and a message saying so.

use chrono::{Datelike, Days, NaiveDate};

use super::errors::AdsError;

/// The resource in the `FROM` clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Resource {
    Customer,
    CustomerClient,
    Campaign,
    AdGroup,
    AdGroupAd,
}

impl Resource {
    const ALL: &'static [Resource] = &[
        Resource::Customer,
        Resource::CustomerClient,
        Resource::Campaign,
        Resource::AdGroup,
        Resource::AdGroupAd,
    ];

    pub(crate) const fn name(self) -> &'static str {
        match self {
            Resource::Customer => "customer",
            Resource::CustomerClient => "customer_client",
            Resource::Campaign => "campaign",
            Resource::AdGroup => "ad_group",
            Resource::AdGroupAd => "ad_group_ad",
        }
    }

    /// The field groups that may be selected or filtered with this resource in `FROM`.
    const fn compatible(self) -> &'static [Group] {
        match self {
            Resource::Customer => &[Group::Customer, Group::Segments, Group::Metrics],
            Resource::CustomerClient => &[Group::CustomerClient, Group::Customer],
            Resource::Campaign => &[
                Group::Customer,
                Group::Campaign,
                Group::CampaignBudget,
                Group::Segments,
                Group::Metrics,
            ],
            Resource::AdGroup => &[
                Group::Customer,
                Group::Campaign,
                Group::AdGroup,
                Group::Segments,
                Group::Metrics,
            ],
            Resource::AdGroupAd => &[
                Group::Customer,
                Group::Campaign,
                Group::AdGroup,
                Group::AdGroupAd,
                Group::Segments,
                Group::Metrics,
            ],
        }
    }
}

/// The object a field lives in, in the order a result row lists them.
// `AdGroup` is Google's resource name, not a repetition of the enum's.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Group {
    Customer,
    CustomerClient,
    Campaign,
    CampaignBudget,
    AdGroup,
    AdGroupAd,
    Metrics,
    Segments,
}

impl Group {
    /// The GAQL prefix.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Group::Customer => "customer",
            Group::CustomerClient => "customer_client",
            Group::Campaign => "campaign",
            Group::CampaignBudget => "campaign_budget",
            Group::AdGroup => "ad_group",
            Group::AdGroupAd => "ad_group_ad",
            Group::Metrics => "metrics",
            Group::Segments => "segments",
        }
    }

    /// The key of the group's object in a `GoogleAdsRow`.
    pub(crate) const fn json_key(self) -> &'static str {
        match self {
            Group::Customer => "customer",
            Group::CustomerClient => "customerClient",
            Group::Campaign => "campaign",
            Group::CampaignBudget => "campaignBudget",
            Group::AdGroup => "adGroup",
            Group::AdGroupAd => "adGroupAd",
            Group::Metrics => "metrics",
            Group::Segments => "segments",
        }
    }
}

/// How a field's values are typed, for rendering and for comparisons in `WHERE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// int64: a JSON string of digits.
    Int64,
    /// A string.
    Text,
    /// An enum constant (a string on the wire, unquoted or quoted in GAQL).
    Enum,
    /// A boolean.
    Bool,
    /// A double: a JSON number.
    Double,
    /// A date `YYYY-MM-DD`.
    Date,
    /// A repeated string.
    TextList,
}

macro_rules! fields {
    ($($variant:ident => $gaql:literal, $group:ident, $json:literal, $kind:ident;)*) => {
        /// A field the sandbox serves.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub(crate) enum Field { $($variant,)* }

        impl Field {
            pub(crate) const ALL: &'static [Field] = &[$(Field::$variant,)*];

            /// The GAQL name, e.g. `metrics.cost_micros`.
            pub(crate) const fn gaql(self) -> &'static str {
                match self { $(Field::$variant => $gaql,)* }
            }

            /// The object the field lives in.
            pub(crate) const fn group(self) -> Group {
                match self { $(Field::$variant => Group::$group,)* }
            }

            /// The camelCase path inside the group's object, e.g. `costMicros` or `ad.id`.
            pub(crate) const fn json_path(self) -> &'static str {
                match self { $(Field::$variant => $json,)* }
            }

            pub(crate) const fn kind(self) -> Kind {
                match self { $(Field::$variant => Kind::$kind,)* }
            }
        }
    };
}

fields! {
    CustomerResourceName => "customer.resource_name", Customer, "resourceName", Text;
    CustomerId => "customer.id", Customer, "id", Int64;
    CustomerDescriptiveName => "customer.descriptive_name", Customer, "descriptiveName", Text;
    CustomerCurrencyCode => "customer.currency_code", Customer, "currencyCode", Text;
    CustomerTimeZone => "customer.time_zone", Customer, "timeZone", Text;
    CustomerManager => "customer.manager", Customer, "manager", Bool;
    CustomerTestAccount => "customer.test_account", Customer, "testAccount", Bool;
    CustomerStatus => "customer.status", Customer, "status", Enum;
    ClientResourceName => "customer_client.resource_name", CustomerClient, "resourceName", Text;
    ClientClientCustomer => "customer_client.client_customer", CustomerClient, "clientCustomer", Text;
    ClientId => "customer_client.id", CustomerClient, "id", Int64;
    ClientDescriptiveName => "customer_client.descriptive_name", CustomerClient, "descriptiveName", Text;
    ClientCurrencyCode => "customer_client.currency_code", CustomerClient, "currencyCode", Text;
    ClientTimeZone => "customer_client.time_zone", CustomerClient, "timeZone", Text;
    ClientManager => "customer_client.manager", CustomerClient, "manager", Bool;
    ClientLevel => "customer_client.level", CustomerClient, "level", Int64;
    ClientStatus => "customer_client.status", CustomerClient, "status", Enum;
    ClientHidden => "customer_client.hidden", CustomerClient, "hidden", Bool;
    CampaignResourceName => "campaign.resource_name", Campaign, "resourceName", Text;
    CampaignId => "campaign.id", Campaign, "id", Int64;
    CampaignName => "campaign.name", Campaign, "name", Text;
    CampaignStatus => "campaign.status", Campaign, "status", Enum;
    CampaignChannel => "campaign.advertising_channel_type", Campaign, "advertisingChannelType", Enum;
    CampaignBudget => "campaign.campaign_budget", Campaign, "campaignBudget", Text;
    BudgetResourceName => "campaign_budget.resource_name", CampaignBudget, "resourceName", Text;
    BudgetId => "campaign_budget.id", CampaignBudget, "id", Int64;
    BudgetAmountMicros => "campaign_budget.amount_micros", CampaignBudget, "amountMicros", Int64;
    AdGroupResourceName => "ad_group.resource_name", AdGroup, "resourceName", Text;
    AdGroupId => "ad_group.id", AdGroup, "id", Int64;
    AdGroupName => "ad_group.name", AdGroup, "name", Text;
    AdGroupStatus => "ad_group.status", AdGroup, "status", Enum;
    AdGroupType => "ad_group.type", AdGroup, "type", Enum;
    AdGroupCampaign => "ad_group.campaign", AdGroup, "campaign", Text;
    AdResourceName => "ad_group_ad.resource_name", AdGroupAd, "resourceName", Text;
    AdStatus => "ad_group_ad.status", AdGroupAd, "status", Enum;
    AdAdGroup => "ad_group_ad.ad_group", AdGroupAd, "adGroup", Text;
    AdInnerResourceName => "ad_group_ad.ad.resource_name", AdGroupAd, "ad.resourceName", Text;
    AdId => "ad_group_ad.ad.id", AdGroupAd, "ad.id", Int64;
    AdName => "ad_group_ad.ad.name", AdGroupAd, "ad.name", Text;
    AdType => "ad_group_ad.ad.type", AdGroupAd, "ad.type", Enum;
    AdFinalUrls => "ad_group_ad.ad.final_urls", AdGroupAd, "ad.finalUrls", TextList;
    SegmentsDate => "segments.date", Segments, "date", Date;
    SegmentsDevice => "segments.device", Segments, "device", Enum;
    Impressions => "metrics.impressions", Metrics, "impressions", Int64;
    Clicks => "metrics.clicks", Metrics, "clicks", Int64;
    CostMicros => "metrics.cost_micros", Metrics, "costMicros", Int64;
    Conversions => "metrics.conversions", Metrics, "conversions", Double;
    ConversionsValue => "metrics.conversions_value", Metrics, "conversionsValue", Double;
}

impl Field {
    /// The FieldMask path: the GAQL name in camelCase (`metrics.costMicros`).
    pub(crate) fn mask_path(self) -> String {
        format!("{}.{}", self.group().json_key(), self.json_path())
    }
}

/// A comparison in `WHERE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    In,
    NotIn,
    Between,
}

/// A literal value in a condition, as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    /// A quoted string.
    Text(String),
    /// A number.
    Number(f64),
    /// An unquoted word (an enum constant, `TRUE`, `FALSE`).
    Word(String),
}

impl Literal {
    fn as_text(&self) -> String {
        match self {
            Literal::Text(text) | Literal::Word(text) => text.clone(),
            Literal::Number(number) => number.to_string(),
        }
    }
}

/// One condition on a field other than `segments.date`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    pub(crate) field: Field,
    pub(crate) op: Op,
    pub(crate) values: Vec<Literal>,
}

/// A field's value in one result row, for filtering.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Int(u64),
    Text(&'a str),
    Owned(String),
    Bool(bool),
    Double(f64),
    List(&'a [String]),
    /// Not set (e.g. an ad without a name).
    Absent,
}

impl Condition {
    /// Whether a row whose field has `value` passes this condition.
    pub(crate) fn matches(&self, value: &Value<'_>) -> bool {
        use std::cmp::Ordering;
        let compare = |literal: &Literal| -> Option<Ordering> {
            match (value, literal) {
                (Value::Int(v), Literal::Number(n)) => (*v as f64).partial_cmp(n),
                (Value::Int(v), Literal::Text(t) | Literal::Word(t)) => {
                    t.parse::<u64>().ok().map(|n| v.cmp(&n))
                }
                (Value::Double(v), Literal::Number(n)) => v.partial_cmp(n),
                (Value::Double(v), Literal::Text(t)) => {
                    t.parse::<f64>().ok().and_then(|n| v.partial_cmp(&n))
                }
                (Value::Text(v), literal) => Some((*v).cmp(literal.as_text().as_str())),
                (Value::Owned(v), literal) => Some(v.as_str().cmp(literal.as_text().as_str())),
                (Value::Bool(v), Literal::Word(word)) => {
                    Some(v.cmp(&word.eq_ignore_ascii_case("true")))
                }
                _ => None,
            }
        };
        let equal = |literal: &Literal| compare(literal) == Some(Ordering::Equal);
        let first = self.values.first();
        match self.op {
            Op::Eq => first.is_some_and(equal),
            Op::Ne => !first.is_some_and(equal),
            Op::Gt => first.and_then(compare) == Some(Ordering::Greater),
            Op::Ge => first.and_then(compare).is_some_and(|o| o != Ordering::Less),
            Op::Lt => first.and_then(compare) == Some(Ordering::Less),
            Op::Le => first
                .and_then(compare)
                .is_some_and(|o| o != Ordering::Greater),
            Op::In => self.values.iter().any(equal),
            Op::NotIn => !self.values.iter().any(equal),
            Op::Between => match (self.values.first(), self.values.get(1)) {
                (Some(low), Some(high)) => {
                    compare(low).is_some_and(|o| o != Ordering::Less)
                        && compare(high).is_some_and(|o| o != Ordering::Greater)
                }
                _ => false,
            },
        }
    }
}

/// A parsed and checked query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    pub(crate) resource: Resource,
    /// The selected fields, in the order written, without repeats.
    pub(crate) fields: Vec<Field>,
    /// Conditions on fields other than `segments.date`.
    pub(crate) conditions: Vec<Condition>,
    /// The date range the `segments.date` conditions allow (inclusive); `None` when there are
    /// none.
    pub(crate) dates: Option<(Option<NaiveDate>, Option<NaiveDate>)>,
    pub(crate) limit: Option<u64>,
}

impl Query {
    pub(crate) fn selects(&self, field: Field) -> bool {
        self.fields.contains(&field)
    }

    /// Whether rows are per date, per device, and whether metrics are involved.
    pub(crate) fn by_date(&self) -> bool {
        self.selects(Field::SegmentsDate)
    }

    pub(crate) fn by_device(&self) -> bool {
        self.selects(Field::SegmentsDevice)
    }

    /// Whether the rows are delivery rows (metrics or segments selected or filtered) rather
    /// than one row per entity.
    pub(crate) fn reports_delivery(&self) -> bool {
        self.fields
            .iter()
            .chain(self.conditions.iter().map(|condition| &condition.field))
            .any(|field| matches!(field.group(), Group::Metrics | Group::Segments))
            || self.dates.is_some()
    }

    /// The `fieldMask` of the response: the selected fields in camelCase.
    pub(crate) fn field_mask(&self) -> String {
        self.fields
            .iter()
            .map(|field| field.mask_path())
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Number(f64),
    Symbol(&'static str),
}

impl Token {
    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(word) if word.eq_ignore_ascii_case(keyword))
    }

    fn describe(&self) -> String {
        match self {
            Token::Word(word) => word.clone(),
            Token::Text(text) => format!("'{text}'"),
            Token::Number(number) => number.to_string(),
            Token::Symbol(symbol) => (*symbol).to_owned(),
        }
    }
}

fn tokenize(query: &str) -> Result<Vec<Token>, AdsError> {
    let mut tokens = Vec::new();
    let mut chars = query.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            ',' => tokens.push(Token::Symbol(",")),
            '(' => tokens.push(Token::Symbol("(")),
            ')' => tokens.push(Token::Symbol(")")),
            '=' => tokens.push(Token::Symbol("=")),
            '!' | '<' | '>' => {
                let with_equals = chars.next_if(|(_, next)| *next == '=').is_some();
                tokens.push(Token::Symbol(match (c, with_equals) {
                    ('!', true) => "!=",
                    ('<', true) => "<=",
                    ('>', true) => ">=",
                    ('<', false) => "<",
                    ('>', false) => ">",
                    _ => {
                        return Err(AdsError::query_at(
                            "BAD_OPERATOR",
                            "Invalid operator encountered.",
                            "!",
                        ));
                    }
                }));
            }
            '\'' | '"' => {
                let mut text = String::new();
                let mut closed = false;
                while let Some((_, next)) = chars.next() {
                    match next {
                        _ if next == c => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some((_, escaped)) => text.push(escaped),
                            None => break,
                        },
                        '\n' => {
                            return Err(AdsError::query(
                                "PROHIBITED_NEWLINE_IN_STRING",
                                "Strings may not contain a newline.",
                            ));
                        }
                        other => text.push(other),
                    }
                }
                if !closed {
                    return Err(AdsError::query(
                        "STRING_NOT_TERMINATED",
                        "The string is not terminated.",
                    ));
                }
                tokens.push(Token::Text(text));
            }
            c if c.is_ascii_digit() || c == '-' => {
                let mut end = start + c.len_utf8();
                while let Some((i, next)) =
                    chars.next_if(|(_, next)| next.is_ascii_digit() || *next == '.')
                {
                    end = i + next.len_utf8();
                }
                let text = &query[start..end];
                let number = text.parse::<f64>().map_err(|_| {
                    AdsError::query_at(
                        "BAD_NUMBER",
                        format!("Could not parse the number '{text}'."),
                        text,
                    )
                })?;
                tokens.push(Token::Number(number));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut end = start + c.len_utf8();
                while let Some((i, next)) = chars.next_if(|(_, next)| {
                    next.is_ascii_alphanumeric() || *next == '_' || *next == '.'
                }) {
                    end = i + next.len_utf8();
                }
                tokens.push(Token::Word(query[start..end].to_owned()));
            }
            c if !c.is_ascii() => {
                return Err(AdsError::query_at(
                    "BAD_SYMBOL",
                    "Non-ASCII symbol encountered outside of strings.",
                    c.to_string(),
                ));
            }
            other => {
                return Err(AdsError::query_at(
                    "UNEXPECTED_INPUT",
                    format!("Unexpected input '{other}'."),
                    other.to_string(),
                ));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

fn end_of_query() -> AdsError {
    AdsError::query("UNEXPECTED_END_OF_QUERY", "The query ended unexpectedly.")
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn keyword(&mut self, keyword: &str) -> bool {
        if self.peek().is_some_and(|token| token.is_keyword(keyword)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn symbol(&mut self, symbol: &str) -> bool {
        if self.peek()
            == Some(&Token::Symbol(match symbol {
                "," => ",",
                "(" => "(",
                ")" => ")",
                _ => return false,
            }))
        {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn field(&mut self) -> Result<Field, AdsError> {
        match self.next() {
            Some(Token::Word(name)) => resolve_field(&name),
            Some(other) => Err(AdsError::query_at(
                "BAD_FIELD_NAME",
                format!("Field name is invalid: '{}'.", other.describe()),
                other.describe(),
            )),
            None => Err(end_of_query()),
        }
    }

    fn literal(&mut self) -> Result<Literal, AdsError> {
        match self.next() {
            Some(Token::Text(text)) => Ok(Literal::Text(text)),
            Some(Token::Number(number)) => Ok(Literal::Number(number)),
            Some(Token::Word(word)) => Ok(Literal::Word(word)),
            Some(Token::Symbol(symbol)) => Err(AdsError::query_at(
                "BAD_VALUE",
                format!("Value is invalid: '{symbol}'."),
                symbol,
            )),
            None => Err(end_of_query()),
        }
    }

    fn list(&mut self) -> Result<Vec<Literal>, AdsError> {
        if !self.symbol("(") {
            return Err(AdsError::query(
                "EXPECTED_LIST",
                "The operator used in the condition requires the value to be a list.",
            ));
        }
        let mut values = Vec::new();
        if self.symbol(")") {
            return Err(AdsError::query(
                "PROHIBITED_EMPTY_LIST_IN_CONDITION",
                "Empty lists are not allowed in conditions.",
            ));
        }
        loop {
            values.push(self.literal()?);
            if self.symbol(")") {
                return Ok(values);
            }
            if !self.symbol(",") {
                return Err(match self.peek() {
                    Some(token) => AdsError::query_at(
                        "UNEXPECTED_INPUT",
                        format!("Unexpected input '{}' in a list.", token.describe()),
                        token.describe(),
                    ),
                    None => end_of_query(),
                });
            }
        }
    }

    fn condition(&mut self) -> Result<(Field, Op, Vec<Literal>), AdsError> {
        let field = self.field()?;
        let op = match self.next() {
            Some(Token::Symbol("=")) => Op::Eq,
            Some(Token::Symbol("!=")) => Op::Ne,
            Some(Token::Symbol(">")) => Op::Gt,
            Some(Token::Symbol(">=")) => Op::Ge,
            Some(Token::Symbol("<")) => Op::Lt,
            Some(Token::Symbol("<=")) => Op::Le,
            Some(token) if token.is_keyword("IN") => Op::In,
            Some(token) if token.is_keyword("BETWEEN") => Op::Between,
            Some(token) if token.is_keyword("NOT") => {
                if self.keyword("IN") {
                    Op::NotIn
                } else {
                    return Err(AdsError::query_at(
                        "BAD_OPERATOR",
                        "Invalid operator encountered: NOT must be followed by IN in the sandbox.",
                        "NOT",
                    ));
                }
            }
            Some(token) if token.is_keyword("DURING") => {
                return match self.next() {
                    Some(Token::Word(range)) => Ok((
                        field,
                        Op::Eq,
                        vec![Literal::Word(format!("DURING {range}"))],
                    )),
                    Some(other) => Err(AdsError::query_at(
                        "INVALID_VALUE_WITH_DURING_OPERATOR",
                        format!(
                            "Invalid value with DURING operator: '{}'.",
                            other.describe()
                        ),
                        other.describe(),
                    )),
                    None => Err(end_of_query()),
                };
            }
            Some(token) => {
                return Err(AdsError::query_at(
                    "BAD_OPERATOR",
                    format!(
                        "Invalid operator encountered: '{}' (the sandbox serves =, !=, <, <=, >, >=, IN, NOT IN, BETWEEN and DURING).",
                        token.describe()
                    ),
                    token.describe(),
                ));
            }
            None => return Err(end_of_query()),
        };
        let values = match op {
            Op::In | Op::NotIn => self.list()?,
            Op::Between => {
                let low = self.literal()?;
                if !self.keyword("AND") {
                    return Err(AdsError::query(
                        "EXPECTED_AND",
                        "Expected AND between values with BETWEEN operator.",
                    ));
                }
                vec![low, self.literal()?]
            }
            Op::Eq | Op::Ne | Op::Gt | Op::Ge | Op::Lt | Op::Le => vec![self.literal()?],
        };
        Ok((field, op, values))
    }
}

/// Resolves a field name: malformed names are `BAD_FIELD_NAME`, well-formed unknown ones
/// `UNRECOGNIZED_FIELD`.
fn resolve_field(name: &str) -> Result<Field, AdsError> {
    let well_formed = name.split('.').count() >= 2
        && name.split('.').all(|part| {
            part.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        });
    if !well_formed {
        return Err(AdsError::query_at(
            "BAD_FIELD_NAME",
            format!("Field name is invalid: '{name}'."),
            name,
        ));
    }
    Field::ALL
        .iter()
        .copied()
        .find(|field| field.gaql() == name)
        .ok_or_else(|| {
            AdsError::query_at(
                "UNRECOGNIZED_FIELD",
                format!(
                    "Unrecognized field in the query: '{name}'. (The sandbox serves a subset of GAQL fields.)"
                ),
                name,
            )
        })
}

fn check_compatible(resource: Resource, field: Field, clause: Clause) -> Result<(), AdsError> {
    let group = field.group();
    if resource.compatible().contains(&group) {
        return Ok(());
    }
    let code = match (group, clause) {
        (Group::Metrics, _) => "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE",
        (Group::Segments, _) => "PROHIBITED_SEGMENT_IN_SELECT_OR_WHERE_CLAUSE",
        (_, Clause::Select) => "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE",
        (_, Clause::Where) => "PROHIBITED_RESOURCE_TYPE_IN_WHERE_CLAUSE",
    };
    let message = match group {
        Group::Metrics | Group::Segments => format!(
            "Cannot select or filter on the following {}: '{}' (could not support requested resources: '{}').",
            if group == Group::Metrics {
                "metrics"
            } else {
                "segments"
            },
            field.gaql(),
            resource.name()
        ),
        _ => format!(
            "Cannot select or filter on the following resource: '{}', since the resource is incompatible with the resource in FROM clause ('{}').",
            group.name(),
            resource.name()
        ),
    };
    Err(AdsError::query_at(code, message, field.gaql()))
}

#[derive(Clone, Copy)]
enum Clause {
    Select,
    Where,
}

fn date_literal(literal: &Literal) -> Result<NaiveDate, AdsError> {
    let text = literal.as_text();
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .ok()
        .filter(|_| text.len() == 10)
        .ok_or_else(|| {
            AdsError::query_at(
                "INVALID_DATE_FORMAT",
                "Invalid date format. Expected 'YYYY-MM-DD'.",
                text,
            )
        })
}

/// The range of a `DURING` constant; the predefined ranges end yesterday except `TODAY` and the
/// `THIS_*` ones.
fn during(range: &str, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), AdsError> {
    let ago = |days: u64| today.checked_sub_days(Days::new(days)).unwrap_or(today);
    let month_start = today.with_day(1).unwrap_or(today);
    let last_month_end = month_start.pred_opt().unwrap_or(month_start);
    let week_start = ago(u64::from(today.weekday().num_days_from_monday()));
    Ok(match range {
        "TODAY" => (today, today),
        "YESTERDAY" => (ago(1), ago(1)),
        "LAST_7_DAYS" => (ago(7), ago(1)),
        "LAST_14_DAYS" => (ago(14), ago(1)),
        "LAST_30_DAYS" => (ago(30), ago(1)),
        "THIS_WEEK_MON_TODAY" => (week_start, today),
        "THIS_MONTH" => (month_start, today),
        "LAST_MONTH" => (
            last_month_end.with_day(1).unwrap_or(last_month_end),
            last_month_end,
        ),
        "LAST_BUSINESS_WEEK" => {
            let monday = week_start
                .checked_sub_days(Days::new(7))
                .unwrap_or(week_start);
            (
                monday,
                monday.checked_add_days(Days::new(4)).unwrap_or(monday),
            )
        }
        "THIS_WEEK_SUN_TODAY" => (
            ago(u64::from(today.weekday().num_days_from_sunday())),
            today,
        ),
        "LAST_WEEK_MON_SUN" => {
            let monday = week_start
                .checked_sub_days(Days::new(7))
                .unwrap_or(week_start);
            (
                monday,
                monday.checked_add_days(Days::new(6)).unwrap_or(monday),
            )
        }
        "LAST_WEEK_SUN_SAT" => {
            let sunday = ago(u64::from(today.weekday().num_days_from_sunday()) + 7);
            (
                sunday,
                sunday.checked_add_days(Days::new(6)).unwrap_or(sunday),
            )
        }
        other => {
            return Err(AdsError::query_at(
                "INVALID_VALUE_WITH_DURING_OPERATOR",
                format!("Invalid value with DURING operator: '{other}'."),
                other,
            ));
        }
    })
}

/// Narrows `range` by one condition on `segments.date`.
fn narrow_dates(
    range: &mut (Option<NaiveDate>, Option<NaiveDate>),
    op: Op,
    values: &[Literal],
    today: NaiveDate,
) -> Result<(), AdsError> {
    let mut since = |date: NaiveDate| range.0 = Some(range.0.map_or(date, |d| d.max(date)));
    let (low, high) = match (op, values) {
        (Op::Eq, [Literal::Word(word)]) if word.starts_with("DURING ") => {
            let (low, high) = during(&word["DURING ".len()..], today)?;
            (Some(low), Some(high))
        }
        (Op::Eq, [value]) => {
            let date = date_literal(value)?;
            (Some(date), Some(date))
        }
        (Op::Ge, [value]) => (Some(date_literal(value)?), None),
        (Op::Gt, [value]) => (date_literal(value)?.succ_opt(), None),
        (Op::Le, [value]) => (None, Some(date_literal(value)?)),
        (Op::Lt, [value]) => (None, date_literal(value)?.pred_opt()),
        (Op::Between, [low, high]) => (Some(date_literal(low)?), Some(date_literal(high)?)),
        (Op::Between, _) => {
            return Err(AdsError::query(
                "EXPECTED_VALUE_WITH_BETWEEN_OPERATOR",
                "Missing one or both values with BETWEEN operator.",
            ));
        }
        _ => {
            return Err(AdsError::query_at(
                "OPERATOR_FIELD_MISMATCH",
                "Operator is not compatible with segments.date in the sandbox (use BETWEEN, =, <, <=, >, >= or DURING).",
                "segments.date",
            ));
        }
    };
    if let Some(low) = low {
        since(low);
    }
    if let Some(high) = high {
        range.1 = Some(range.1.map_or(high, |d| d.min(high)));
    }
    Ok(())
}

/// Parses and checks `text`; `today` is the customer's today, for `DURING`.
pub(crate) fn parse(text: &str, today: NaiveDate) -> Result<Query, AdsError> {
    if text.trim().is_empty() {
        return Err(AdsError::request(
            "REQUIRED_FIELD_MISSING",
            "The query is empty.",
        ));
    }
    let mut parser = Parser {
        tokens: tokenize(text)?,
        at: 0,
    };
    if !parser.keyword("SELECT") {
        return Err(AdsError::query(
            "EXPECTED_SELECT",
            "SELECT is missing at the beginning of query.",
        ));
    }
    let mut fields = Vec::new();
    loop {
        let field = parser.field()?;
        if !fields.contains(&field) {
            fields.push(field);
        }
        if !parser.symbol(",") {
            break;
        }
    }
    if !parser.keyword("FROM") {
        return Err(match parser.peek() {
            None => AdsError::query("EXPECTED_FROM", "Missing FROM clause."),
            Some(token) => AdsError::query_at(
                "UNEXPECTED_INPUT",
                format!(
                    "Unexpected input '{}' where FROM was expected.",
                    token.describe()
                ),
                token.describe(),
            ),
        });
    }
    let resource = match parser.next() {
        Some(Token::Word(name)) => Resource::ALL
            .iter()
            .copied()
            .find(|resource| resource.name() == name)
            .ok_or_else(|| {
                AdsError::query_at(
                    "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
                    format!(
                        "Invalid resource type in the FROM clause: '{name}'. (The sandbox serves customer, customer_client, campaign, ad_group and ad_group_ad.)"
                    ),
                    name,
                )
            })?,
        Some(other) => {
            return Err(AdsError::query_at(
                "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
                format!("Invalid resource type in the FROM clause: '{}'.", other.describe()),
                other.describe(),
            ));
        }
        None => return Err(end_of_query()),
    };
    for field in &fields {
        check_compatible(resource, *field, Clause::Select)?;
    }
    let mut conditions = Vec::new();
    let mut dates: Option<(Option<NaiveDate>, Option<NaiveDate>)> = None;
    if parser.keyword("WHERE") {
        loop {
            let (field, op, values) = parser.condition()?;
            check_compatible(resource, field, Clause::Where)?;
            if field == Field::SegmentsDate {
                narrow_dates(dates.get_or_insert((None, None)), op, &values, today)?;
            } else {
                if field.group() == Group::Segments && !fields.contains(&field) {
                    return Err(AdsError::query_at(
                        "EXPECTED_REFERENCED_FIELD_IN_SELECT_CLAUSE",
                        format!(
                            "The following field must be present in SELECT clause: '{}'.",
                            field.gaql()
                        ),
                        field.gaql(),
                    ));
                }
                conditions.push(Condition { field, op, values });
            }
            if !parser.keyword("AND") {
                break;
            }
        }
    }
    if parser.peek().is_some_and(|token| token.is_keyword("ORDER")) {
        return Err(AdsError::query(
            "QUERY_ERROR",
            "ORDER BY is valid GAQL, but the sandbox does not serve it: sort the rows yourself.",
        ));
    }
    let mut limit = None;
    if parser.keyword("LIMIT") {
        limit = Some(match parser.next() {
            Some(Token::Number(n)) if n >= 1.0 && n.fract() == 0.0 => n as u64,
            Some(Token::Number(_)) => {
                return Err(AdsError::query(
                    "LIMIT_VALUE_TOO_LOW",
                    "The LIMIT value must be a positive integer.",
                ));
            }
            Some(other) => {
                return Err(AdsError::query_at(
                    "BAD_LIMIT_VALUE",
                    format!("Limit value is invalid: '{}'.", other.describe()),
                    other.describe(),
                ));
            }
            None => return Err(end_of_query()),
        });
    }
    if let Some(token) = parser.next() {
        return Err(if token.is_keyword("PARAMETERS") {
            AdsError::query(
                "QUERY_ERROR",
                "PARAMETERS is valid GAQL, but the sandbox does not serve it.",
            )
        } else {
            AdsError::query_at(
                "UNEXPECTED_INPUT",
                format!("Unexpected input '{}'.", token.describe()),
                token.describe(),
            )
        });
    }
    if let Some((Some(since), Some(until))) = dates
        && since > until
    {
        return Err(AdsError::query(
            "DATE_RANGE_TOO_NARROW",
            format!("Filters on date have a start date after end date: {since} is after {until}."),
        ));
    }
    let finite = matches!(dates, Some((Some(_), Some(_))));
    if fields.contains(&Field::SegmentsDate) && !finite {
        return Err(AdsError::query(
            "EXPECTED_FILTERS_ON_DATE_RANGE",
            "Missing filters on date related fields: segments.date is selected, so the WHERE clause must restrict it to a finite range (e.g. segments.date BETWEEN '2025-01-01' AND '2025-01-31').",
        ));
    }
    Ok(Query {
        resource,
        fields,
        conditions,
        dates,
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        "2025-06-30".parse().unwrap()
    }

    fn code(query: &str) -> &'static str {
        parse(query, today()).unwrap_err().code().unwrap().1
    }

    #[test]
    fn a_daily_campaign_report_parses() {
        let query = parse(
            "SELECT campaign.id, campaign.name, segments.date, metrics.clicks, metrics.cost_micros FROM campaign WHERE segments.date BETWEEN '2025-06-01' AND '2025-06-07' AND campaign.status != 'REMOVED' LIMIT 10",
            today(),
        )
        .unwrap();
        assert_eq!(query.resource, Resource::Campaign);
        assert_eq!(query.fields.len(), 5);
        assert_eq!(
            query.dates,
            Some((
                Some("2025-06-01".parse().unwrap()),
                Some("2025-06-07".parse().unwrap())
            ))
        );
        assert_eq!(query.conditions.len(), 1);
        assert_eq!(query.limit, Some(10));
        assert_eq!(
            query.field_mask(),
            "campaign.id,campaign.name,segments.date,metrics.clicks,metrics.costMicros"
        );
    }

    #[test]
    fn keywords_are_case_insensitive_and_ranges_combine() {
        let query = parse(
            "select customer.id, segments.date from customer where segments.date >= '2025-06-01' and segments.date <= '2025-06-03' and segments.date < '2025-06-03'",
            today(),
        )
        .unwrap();
        assert_eq!(
            query.dates,
            Some((
                Some("2025-06-01".parse().unwrap()),
                Some("2025-06-02".parse().unwrap())
            ))
        );
        let during = parse(
            "SELECT segments.date, metrics.clicks FROM customer WHERE segments.date DURING LAST_7_DAYS",
            today(),
        )
        .unwrap();
        assert_eq!(
            during.dates,
            Some((
                Some("2025-06-23".parse().unwrap()),
                Some("2025-06-29".parse().unwrap())
            ))
        );
    }

    #[test]
    fn bad_queries_are_refused_with_googles_query_errors() {
        let cases = [
            ("campaign.id FROM campaign", "EXPECTED_SELECT"),
            ("SELECT campaign.id", "EXPECTED_FROM"),
            ("SELECT campaign.foo FROM campaign", "UNRECOGNIZED_FIELD"),
            ("SELECT metrics.reach FROM campaign", "UNRECOGNIZED_FIELD"),
            ("SELECT Campaign..id FROM campaign", "BAD_FIELD_NAME"),
            (
                "SELECT campaign.id FROM keyword_view",
                "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
            ),
            (
                "SELECT ad_group.id FROM campaign",
                "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE",
            ),
            (
                "SELECT customer_client.id, metrics.clicks FROM customer_client",
                "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE",
            ),
            (
                "SELECT campaign.id, segments.date FROM campaign",
                "EXPECTED_FILTERS_ON_DATE_RANGE",
            ),
            (
                "SELECT campaign.id, segments.date FROM campaign WHERE segments.date >= '2025-01-01'",
                "EXPECTED_FILTERS_ON_DATE_RANGE",
            ),
            (
                "SELECT campaign.id FROM campaign WHERE segments.date BETWEEN '2025-02-01' AND '2025-01-01'",
                "DATE_RANGE_TOO_NARROW",
            ),
            (
                "SELECT campaign.id FROM campaign WHERE segments.date = '2025/01/01'",
                "INVALID_DATE_FORMAT",
            ),
            (
                "SELECT campaign.id FROM campaign WHERE campaign.name = 'x",
                "STRING_NOT_TERMINATED",
            ),
            (
                "SELECT campaign.id FROM campaign WHERE segments.date DURING LAST_YEAR_SOMETIME",
                "INVALID_VALUE_WITH_DURING_OPERATOR",
            ),
            (
                "SELECT campaign.id FROM campaign WHERE segments.date BETWEEN '2025-01-01' '2025-01-02'",
                "EXPECTED_AND",
            ),
            (
                "SELECT campaign.id FROM campaign WHERE campaign.status IN ()",
                "PROHIBITED_EMPTY_LIST_IN_CONDITION",
            ),
            (
                "SELECT campaign.id FROM campaign WHERE segments.device = 'MOBILE'",
                "EXPECTED_REFERENCED_FIELD_IN_SELECT_CLAUSE",
            ),
            (
                "SELECT campaign.id FROM campaign ORDER BY campaign.id",
                "QUERY_ERROR",
            ),
            (
                "SELECT campaign.id FROM campaign LIMIT 0",
                "LIMIT_VALUE_TOO_LOW",
            ),
            (
                "SELECT campaign.id FROM campaign LIMIT x",
                "BAD_LIMIT_VALUE",
            ),
            ("SELECT campaign.id FROM campaign extra", "UNEXPECTED_INPUT"),
            (
                "SELECT campaign.name FROM campaign WHERE campaign.name = ü",
                "BAD_SYMBOL",
            ),
        ];
        for (query, expected) in cases {
            assert_eq!(code(query), expected, "{query}");
        }
    }

    #[test]
    fn conditions_compare_by_the_fields_type() {
        let condition = |op, values: Vec<Literal>| Condition {
            field: Field::CampaignStatus,
            op,
            values,
        };
        let enabled = Value::Text("ENABLED");
        assert!(condition(Op::Eq, vec![Literal::Word("ENABLED".into())]).matches(&enabled));
        assert!(condition(Op::Ne, vec![Literal::Text("REMOVED".into())]).matches(&enabled));
        assert!(
            condition(
                Op::In,
                vec![
                    Literal::Text("PAUSED".into()),
                    Literal::Text("ENABLED".into())
                ]
            )
            .matches(&enabled)
        );
        assert!(!condition(Op::NotIn, vec![Literal::Text("ENABLED".into())]).matches(&enabled));
        let level = Condition {
            field: Field::ClientLevel,
            op: Op::Le,
            values: vec![Literal::Number(1.0)],
        };
        assert!(level.matches(&Value::Int(1)));
        assert!(!level.matches(&Value::Int(2)));
    }
}
