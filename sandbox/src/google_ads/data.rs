//! Deterministic Google Ads customers, their campaign tree and their delivery.
//!
//! Every 10-digit customer id exists except those starting with `0`. The first digit decides the
//! kind of account, so tests and demos can pick one by its id:
//!
//! - `9…` is a **manager** (MCC) account: no campaigns, no metrics. A manager whose id ends in
//!   `0000` manages the clients listed by [`CustomerFacts::clients`].
//! - `8…` is a **client account under a manager**: its manager is `9` + digits 2–6 + `0000`
//!   (client `8123450001` belongs to manager `9123450000`). Requests for it need that manager in
//!   the `login-customer-id` header.
//! - `7…` is a **large** account (50 campaigns × 20 ad groups × 10 ads), for volume tests.
//! - [`NO_DELIVERY_CUSTOMER_ID`] has campaigns but never delivered anything.
//! - Any other id is an ordinary account the user reaches directly.
//!
//! A customer's name, time zone, currency and campaign tree come from a stable hash of its id.
//! Metrics are generated per (customer, ad, date, device) and summed up the tree, so levels agree.
//! Conversions and their value settle over [`RESTATEMENT_HORIZON_DAYS`]: a day's numbers grow
//! until the day is that old in the customer's time zone.

use std::fmt;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use chrono_tz::Tz;
use serde::Serialize;

use crate::restatement::restated;
use crate::rng::Seed;
use crate::state::AccountTimeZone;

/// A customer with campaigns that never delivered: every report on it is empty.
pub const NO_DELIVERY_CUSTOMER_ID: &str = "1000000000";

/// Conversions and conversion value keep changing until a day is this many days old.
pub const RESTATEMENT_HORIZON_DAYS: u32 = 30;

/// The currencies sandbox customers are billed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Currency {
    /// US dollar.
    #[serde(rename = "USD")]
    Usd,
    /// Euro.
    #[serde(rename = "EUR")]
    Eur,
    /// Pound sterling.
    #[serde(rename = "GBP")]
    Gbp,
    /// Japanese yen (no minor unit: costs are whole yen).
    #[serde(rename = "JPY")]
    Jpy,
    /// Brazilian real.
    #[serde(rename = "BRL")]
    Brl,
    /// Indian rupee.
    #[serde(rename = "INR")]
    Inr,
}

impl Currency {
    /// Every currency, in the order the hash picks from.
    pub const ALL: &'static [Currency] = &[
        Currency::Usd,
        Currency::Eur,
        Currency::Gbp,
        Currency::Jpy,
        Currency::Brl,
        Currency::Inr,
    ];

    /// The ISO 4217 code.
    pub const fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
            Currency::Jpy => "JPY",
            Currency::Brl => "BRL",
            Currency::Inr => "INR",
        }
    }

    /// Decimal places of the minor unit.
    pub const fn decimals(self) -> u32 {
        match self {
            Currency::Jpy => 0,
            Currency::Usd | Currency::Eur | Currency::Gbp | Currency::Brl | Currency::Inr => 2,
        }
    }

    /// Micros in one minor unit: costs are whole minor units, as Google bills them.
    pub const fn micros_per_minor(self) -> u64 {
        match self.decimals() {
            0 => 1_000_000,
            _ => 10_000,
        }
    }

    /// How many minor units buy roughly what one US cent buys (prices scale with it).
    const fn scale(self) -> u64 {
        match self {
            Currency::Usd | Currency::Eur | Currency::Gbp => 1,
            Currency::Jpy => 1,
            Currency::Brl => 5,
            Currency::Inr => 80,
        }
    }

    /// One major unit (dollar, yen) in minor units, scaled like prices: the unit of budgets.
    const fn budget_unit_minor(self) -> u64 {
        match self {
            Currency::Jpy => 150,
            _ => 100 * self.scale(),
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The time zones sandbox customers report in (one with a half-hour offset).
pub const TIME_ZONES: &[Tz] = &[
    Tz::America__Los_Angeles,
    Tz::America__New_York,
    Tz::Europe__Berlin,
    Tz::Europe__London,
    Tz::Asia__Tokyo,
    Tz::Australia__Sydney,
    Tz::America__Sao_Paulo,
    Tz::Asia__Kolkata,
];

/// How a customer is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerKind {
    /// An ordinary account the user has direct access to.
    Standalone,
    /// A manager (MCC) account: no campaigns of its own.
    Manager,
    /// A client account the user reaches only through its manager.
    Client {
        /// The manager's customer id, to be sent as `login-customer-id`.
        manager_id: String,
    },
}

/// Everything fixed about one sandbox customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerFacts {
    /// Ten digits, no hyphens.
    pub id: String,
    /// `customer.descriptive_name`; some have non-ASCII characters.
    pub descriptive_name: String,
    /// The time zone its reporting days are in.
    pub time_zone: Tz,
    /// Its currency.
    pub currency: Currency,
    /// Manager, client under a manager, or standalone.
    pub kind: CustomerKind,
    /// False for [`NO_DELIVERY_CUSTOMER_ID`]: no metrics on any day.
    pub delivers: bool,
    /// The campaigns, in ascending id order (none for managers).
    pub campaigns: Vec<CampaignFacts>,
}

impl AccountTimeZone for CustomerFacts {
    fn account_time_zone(&self) -> Tz {
        self.time_zone
    }
}

impl CustomerFacts {
    /// Whether this is a manager account.
    pub fn is_manager(&self) -> bool {
        self.kind == CustomerKind::Manager
    }

    /// The manager that must be named in `login-customer-id`, for a client account.
    pub fn manager_id(&self) -> Option<&str> {
        match &self.kind {
            CustomerKind::Client { manager_id } => Some(manager_id),
            CustomerKind::Standalone | CustomerKind::Manager => None,
        }
    }

    /// The client accounts a manager lists (`customer_client` at level 1), in id order.
    pub fn clients(&self) -> Vec<String> {
        if !self.is_manager() || !self.id.ends_with("0000") {
            return Vec::new();
        }
        let middle = &self.id[1..6];
        let count = Seed::new("google_ads/clients")
            .with_str(&self.id)
            .between(2, 4);
        (1..=count).map(|n| format!("8{middle}{n:04}")).collect()
    }

    /// The id as the Google Ads UI shows it: `123-456-7890`.
    pub fn hyphenated_id(&self) -> String {
        format!("{}-{}-{}", &self.id[..3], &self.id[3..6], &self.id[6..])
    }
}

/// `ENABLED`, `PAUSED` or `REMOVED`, as Google spells entity statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Serving.
    Enabled,
    /// Stopped by the advertiser.
    Paused,
    /// Deleted (still reported for its past).
    Removed,
}

impl Status {
    /// The enum name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Enabled => "ENABLED",
            Status::Paused => "PAUSED",
            Status::Removed => "REMOVED",
        }
    }
}

/// `campaign.advertising_channel_type`: what kind of campaign it is (adsync's objective).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Channel {
    /// Search network text ads.
    Search,
    /// Display network.
    Display,
    /// YouTube video.
    Video,
    /// Shopping product ads.
    Shopping,
}

impl Channel {
    const ALL: &'static [Channel] = &[
        Channel::Search,
        Channel::Search,
        Channel::Display,
        Channel::Video,
        Channel::Shopping,
    ];

    /// The enum name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::Search => "SEARCH",
            Channel::Display => "DISPLAY",
            Channel::Video => "VIDEO",
            Channel::Shopping => "SHOPPING",
        }
    }

    /// `ad_group.type` of this channel's ad groups.
    pub const fn ad_group_type(self) -> &'static str {
        match self {
            Channel::Search => "SEARCH_STANDARD",
            Channel::Display => "DISPLAY_STANDARD",
            Channel::Video => "VIDEO_RESPONSIVE",
            Channel::Shopping => "SHOPPING_PRODUCT_ADS",
        }
    }

    /// The devices this channel serves on, in the order rows list them.
    pub const fn devices(self) -> &'static [Device] {
        match self {
            Channel::Video => &[
                Device::Mobile,
                Device::Desktop,
                Device::Tablet,
                Device::ConnectedTv,
            ],
            Channel::Search | Channel::Display | Channel::Shopping => {
                &[Device::Mobile, Device::Desktop, Device::Tablet]
            }
        }
    }
}

/// `segments.device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Device {
    /// Phones.
    Mobile,
    /// Computers.
    Desktop,
    /// Tablets.
    Tablet,
    /// Smart TVs and streaming devices.
    ConnectedTv,
}

impl Device {
    /// Every device, in row order.
    pub const ALL: &'static [Device] = &[
        Device::Mobile,
        Device::Desktop,
        Device::Tablet,
        Device::ConnectedTv,
    ];

    /// The enum name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Device::Mobile => "MOBILE",
            Device::Desktop => "DESKTOP",
            Device::Tablet => "TABLET",
            Device::ConnectedTv => "CONNECTED_TV",
        }
    }

    const fn index(self) -> usize {
        match self {
            Device::Mobile => 0,
            Device::Desktop => 1,
            Device::Tablet => 2,
            Device::ConnectedTv => 3,
        }
    }
}

/// When a campaign started delivering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignStart {
    /// A fixed date, long ago.
    On(NaiveDate),
    /// A recent start, this many days before the customer's today, so recent sync windows
    /// always contain a campaign that begins inside them.
    DaysBeforeToday(u32),
}

impl CampaignStart {
    /// The start date, given the customer's today.
    pub fn date(self, today: NaiveDate) -> NaiveDate {
        match self {
            CampaignStart::On(date) => date,
            CampaignStart::DaysBeforeToday(days) => today
                .checked_sub_days(Days::new(u64::from(days)))
                .unwrap_or(NaiveDate::MIN),
        }
    }
}

/// One campaign and its budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignFacts {
    /// `campaign.id`.
    pub id: u64,
    /// `campaign.name`, sometimes with non-ASCII characters.
    pub name: String,
    /// `campaign.status`.
    pub status: Status,
    /// `campaign.advertising_channel_type`.
    pub channel: Channel,
    /// `campaign_budget.id`.
    pub budget_id: u64,
    /// `campaign_budget.amount_micros`: the daily budget.
    pub budget_amount_micros: u64,
    /// The first day with delivery.
    pub start: CampaignStart,
    /// The ad groups, in ascending id order.
    pub ad_groups: Vec<AdGroupFacts>,
}

/// One ad group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdGroupFacts {
    /// `ad_group.id`.
    pub id: u64,
    /// `ad_group.name`.
    pub name: String,
    /// `ad_group.status`.
    pub status: Status,
    /// The ads, in ascending id order.
    pub ads: Vec<AdFacts>,
}

/// One ad (an `ad_group_ad`) and its creative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdFacts {
    /// `ad_group_ad.ad.id`.
    pub id: u64,
    /// `ad_group_ad.ad.name`: only display and video ads have one.
    pub name: Option<String>,
    /// `ad_group_ad.ad.type`.
    pub ad_type: &'static str,
    /// `ad_group_ad.ad.final_urls` (empty for shopping ads).
    pub final_urls: Vec<String>,
    /// `ad_group_ad.status`.
    pub status: Status,
}

/// Whether `id` is shaped like a customer id: ten digits, no hyphens.
pub(crate) fn is_valid_customer_id(id: &str) -> bool {
    id.len() == 10 && id.bytes().all(|b| b.is_ascii_digit())
}

const BRANDS: &[&str] = &[
    "Acme Outdoor",
    "Bäckerei Müller",
    "Café São Jorge",
    "北海道トラベル",
    "Nordlys Ski",
    "Maison Étoile",
    "Ölmühle Öztürk",
    "Pixel Labs",
];

const CAMPAIGN_THEMES: &[&str] = &[
    "Brand",
    "Generic – Shoes",
    "Été 2025",
    "Remarketing",
    "Black Friday",
    "Competitors",
    "Größen & Passform",
    "新商品",
    "Always-on",
    "Local – München",
];

const AD_GROUP_THEMES: &[&str] = &[
    "Exact",
    "Broad",
    "Phrase – Sale",
    "In-market",
    "Custom Segment",
    "Lookalike ∙ Buyers",
];

const DOMAINS: &[&str] = &[
    "example.com",
    "shop.example.org",
    "example.de",
    "example.co.jp",
    "example.com.br",
];

/// The customer facts for `customer_id`, or `None` if no such customer exists (not ten digits,
/// or starting with `0`).
pub fn customer(customer_id: &str) -> Option<CustomerFacts> {
    if !is_valid_customer_id(customer_id) || customer_id.starts_with('0') {
        return None;
    }
    let seed = Seed::new("google_ads/customer").with_str(customer_id);
    let time_zone = seed.with_u64(1).pick(TIME_ZONES)?;
    let currency = seed.with_u64(2).pick(Currency::ALL)?;
    let brand = seed.with_u64(3).pick(BRANDS)?;
    let kind = match customer_id.as_bytes().first() {
        Some(b'9') => CustomerKind::Manager,
        Some(b'8') => CustomerKind::Client {
            manager_id: format!("9{}0000", &customer_id[1..6]),
        },
        _ => CustomerKind::Standalone,
    };
    let descriptive_name = match kind {
        CustomerKind::Manager => format!("{brand} Agency MCC"),
        CustomerKind::Client { .. } | CustomerKind::Standalone => {
            format!("{brand} {}", &customer_id[6..])
        }
    };
    let campaigns = match kind {
        CustomerKind::Manager => Vec::new(),
        CustomerKind::Client { .. } | CustomerKind::Standalone => {
            campaigns(seed, currency, customer_id.starts_with('7'))
        }
    };
    Some(CustomerFacts {
        id: customer_id.to_owned(),
        descriptive_name,
        time_zone,
        currency,
        kind,
        delivers: customer_id != NO_DELIVERY_CUSTOMER_ID,
        campaigns,
    })
}

/// Ids are a base plus a per-customer part and a local index, so they look like Google's (11
/// to 13 digits), never collide within a customer and ascend in tree order.
const CAMPAIGN_ID_BASE: u64 = 20_000_000_000;
const AD_GROUP_ID_BASE: u64 = 130_000_000_000;
const AD_ID_BASE: u64 = 600_000_000_000;
const BUDGET_ID_BASE: u64 = 14_000_000_000;

fn campaigns(seed: Seed, currency: Currency, large: bool) -> Vec<CampaignFacts> {
    let prefix = seed.with_u64(4).below(10_000_000);
    let (campaign_count, groups, ads) = if large {
        (50, (20, 20), (10, 10))
    } else {
        (seed.with_u64(5).between(2, 6), (1, 3), (1, 3))
    };
    let domain = seed.with_u64(6).pick(DOMAINS).unwrap_or("example.com");
    let mut group_index = 0;
    let mut ad_index = 0;
    (1..=campaign_count)
        .map(|c| {
            let cs = seed.with_u64(100 + c);
            let theme = cs.with_u64(1).pick(CAMPAIGN_THEMES).unwrap_or("Campaign");
            let channel = cs.with_u64(2).pick(Channel::ALL).unwrap_or(Channel::Search);
            // The first campaign is always old and the second always recent; the rest are drawn.
            let recent = match c {
                1 => false,
                2 => true,
                _ => cs.with_u64(3).below(3) == 0,
            };
            let start = if recent {
                CampaignStart::DaysBeforeToday(
                    u32::try_from(cs.with_u64(4).between(3, 45)).unwrap_or(30),
                )
            } else {
                let epoch = NaiveDate::from_ymd_opt(2023, 3, 1).unwrap_or(NaiveDate::MIN);
                CampaignStart::On(
                    epoch
                        .checked_add_days(Days::new(cs.with_u64(5).below(600)))
                        .unwrap_or(epoch),
                )
            };
            let status = match cs.with_u64(6).below(10) {
                0 => Status::Removed,
                1 | 2 => Status::Paused,
                _ => Status::Enabled,
            };
            let budget_units = cs.with_u64(7).between(10, 500);
            let group_count = cs.with_u64(8).between(groups.0, groups.1);
            let ad_groups = (1..=group_count)
                .map(|g| {
                    group_index += 1;
                    let gs = cs.with_u64(200 + g);
                    let audience = gs.with_u64(1).pick(AD_GROUP_THEMES).unwrap_or("Ad group");
                    let ad_count = gs.with_u64(2).between(ads.0, ads.1);
                    let ads = (1..=ad_count)
                        .map(|a| {
                            ad_index += 1;
                            ad_facts(
                                gs.with_u64(300 + a),
                                channel,
                                AD_ID_BASE + prefix * 100_000 + ad_index,
                                (c, g, a),
                                domain,
                            )
                        })
                        .collect();
                    AdGroupFacts {
                        id: AD_GROUP_ID_BASE + prefix * 10_000 + group_index,
                        name: format!("Ad group {c}.{g} · {audience}"),
                        status: if gs.with_u64(3).below(8) == 0 {
                            Status::Paused
                        } else {
                            Status::Enabled
                        },
                        ads,
                    }
                })
                .collect();
            CampaignFacts {
                id: CAMPAIGN_ID_BASE + prefix * 100 + c,
                name: format!("{} {c} · {theme}", channel_label(channel)),
                status,
                channel,
                budget_id: BUDGET_ID_BASE + prefix * 100 + c,
                budget_amount_micros: budget_units
                    * currency.budget_unit_minor()
                    * currency.micros_per_minor(),
                start,
                ad_groups,
            }
        })
        .collect()
}

fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::Search => "Search",
        Channel::Display => "Display",
        Channel::Video => "YouTube",
        Channel::Shopping => "Shopping",
    }
}

fn ad_facts(
    seed: Seed,
    channel: Channel,
    id: u64,
    (c, g, a): (u64, u64, u64),
    domain: &str,
) -> AdFacts {
    let display_type = if seed.with_u64(1).below(2) == 0 {
        "RESPONSIVE_DISPLAY_AD"
    } else {
        "IMAGE_AD"
    };
    let (ad_type, name) = match channel {
        Channel::Search => ("RESPONSIVE_SEARCH_AD", None),
        Channel::Display => (display_type, Some(format!("Display {c}.{g}.{a} – 300×250"))),
        Channel::Video => (
            "VIDEO_RESPONSIVE_AD",
            Some(format!("Video {c}.{g}.{a} · 15s")),
        ),
        Channel::Shopping => ("SHOPPING_PRODUCT_AD", None),
    };
    let final_urls = match channel {
        Channel::Shopping => Vec::new(),
        Channel::Search | Channel::Display | Channel::Video => {
            vec![format!("https://www.{domain}/c{c}/g{g}?ad={a}")]
        }
    };
    AdFacts {
        id,
        name,
        ad_type,
        final_urls,
        status: if seed.with_u64(2).below(6) == 0 {
            Status::Paused
        } else {
            Status::Enabled
        },
    }
}

/// Additive delivery of one entity, one day (and device): the numbers Google reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Metrics {
    /// `metrics.impressions`.
    pub impressions: u64,
    /// `metrics.clicks`.
    pub clicks: u64,
    /// `metrics.cost_micros`.
    pub cost_micros: u64,
    /// `metrics.conversions` × 100 (Google reports fractional conversions).
    pub conversions_centi: u64,
    /// `metrics.conversions_value` × 100, in the customer's currency.
    pub conversions_value_centi: u64,
}

impl Metrics {
    pub(crate) fn add(&mut self, other: Metrics) {
        self.impressions += other.impressions;
        self.clicks += other.clicks;
        self.cost_micros += other.cost_micros;
        self.conversions_centi += other.conversions_centi;
        self.conversions_value_centi += other.conversions_value_centi;
    }

    /// Whether every metric is zero (Google leaves such rows out).
    pub fn is_zero(&self) -> bool {
        *self == Metrics::default()
    }
}

/// Delivery factor per day of week, per mille.
const fn weekday_factor(weekday: Weekday) -> u64 {
    match weekday {
        Weekday::Mon => 1_040,
        Weekday::Tue => 1_060,
        Weekday::Wed => 1_050,
        Weekday::Thu => 1_000,
        Weekday::Fri => 960,
        Weekday::Sat => 900,
        Weekday::Sun => 940,
    }
}

/// Final (fully restated) delivery of one ad on one date per device, indexed by
/// [`Device::index`]; `None` when the ad did not serve that day. Does not know about campaign
/// start dates; callers check those.
fn ad_day(
    customer: &CustomerFacts,
    channel: Channel,
    ad: &AdFacts,
    date: NaiveDate,
) -> Option<[Metrics; 4]> {
    if !customer.delivers {
        return None;
    }
    let ad_seed = Seed::new("google_ads/ad")
        .with_str(&customer.id)
        .with_u64(ad.id);
    let day = ad_seed.with_u64(u64::try_from(date.num_days_from_ce()).unwrap_or(0));
    // About one ad-day in nine has no delivery at all.
    if day.with_u64(0).below(100) < 11 {
        return None;
    }
    let base = match channel {
        Channel::Search | Channel::Shopping => ad_seed.with_u64(1).between(40, 6_000),
        Channel::Display | Channel::Video => ad_seed.with_u64(1).between(500, 30_000),
    };
    let impressions =
        base * weekday_factor(date.weekday()) * day.with_u64(1).between(600, 1_400) / 1_000_000;
    if impressions == 0 {
        return None;
    }
    let devices = channel.devices();
    // Shares per mille: mobile first, then desktop, tablet and (video) connected TV.
    let mobile = ad_seed.with_u64(2).between(450, 700);
    let desktop = ad_seed.with_u64(3).between(150, 950 - mobile);
    let ctv = if devices.len() == 4 {
        ad_seed
            .with_u64(4)
            .between(20, 1_000 - mobile - desktop - 10)
    } else {
        0
    };
    let tablet = 1_000 - mobile - desktop - ctv;
    let shares = [mobile, desktop, tablet, ctv];
    // Click-through rate in 1/10 000, cost per click (search, shopping) or per thousand
    // impressions (display, video) in minor units, conversion rate in basis points of clicks,
    // and the average conversion value in hundredths of a minor unit.
    let ctr = match channel {
        Channel::Search => ad_seed.with_u64(5).between(200, 900),
        Channel::Shopping => ad_seed.with_u64(5).between(60, 250),
        Channel::Display => ad_seed.with_u64(5).between(10, 120),
        Channel::Video => ad_seed.with_u64(5).between(20, 200),
    };
    let scale = customer.currency.scale();
    let price = match channel {
        Channel::Search | Channel::Shopping => ad_seed.with_u64(6).between(15, 400) * scale,
        Channel::Display | Channel::Video => ad_seed.with_u64(6).between(150, 1_500) * scale,
    };
    let conversion_rate = ad_seed.with_u64(7).between(80, 1_500);
    let average_value = ad_seed.with_u64(8).between(1_500, 25_000) * scale;

    let mut out = [Metrics::default(); 4];
    for device in devices {
        let i = device.index();
        let device_seed = day.with_u64(10 + i as u64);
        let impressions = impressions * shares[i] / 1_000;
        if impressions == 0 {
            continue;
        }
        let clicks = impressions * ctr * device_seed.with_u64(1).between(700, 1_300) / 10_000_000;
        let cost_minor = match channel {
            Channel::Search | Channel::Shopping => {
                clicks * price * device_seed.with_u64(2).between(800, 1_200) / 1_000
            }
            Channel::Display | Channel::Video => {
                impressions * price * device_seed.with_u64(2).between(800, 1_200) / 1_000_000
            }
        };
        let conversions_centi =
            clicks * conversion_rate * device_seed.with_u64(3).between(500, 1_500) / 100_000;
        let conversions_value_centi =
            conversions_centi * average_value * device_seed.with_u64(4).between(700, 1_300)
                / 100_000;
        out[i] = Metrics {
            impressions,
            clicks,
            cost_micros: cost_minor * customer.currency.micros_per_minor(),
            conversions_centi,
            conversions_value_centi,
        };
    }
    Some(out)
}

/// The level a report row describes (the `FROM` resource of a metrics query).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// `FROM customer`: one row per customer.
    Customer,
    /// `FROM campaign`.
    Campaign,
    /// `FROM ad_group`.
    AdGroup,
    /// `FROM ad_group_ad`.
    AdGroupAd,
}

impl Level {
    /// The GAQL resource name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Customer => "customer",
            Level::Campaign => "campaign",
            Level::AdGroup => "ad_group",
            Level::AdGroupAd => "ad_group_ad",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Level {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        [
            Level::Customer,
            Level::Campaign,
            Level::AdGroup,
            Level::AdGroupAd,
        ]
        .into_iter()
        .find(|level| level.as_str() == name)
        .ok_or_else(|| {
            format!(
                "unknown level '{name}', expected one of: customer, campaign, ad_group, ad_group_ad"
            )
        })
    }
}

/// One entity at a level: the indices of its campaign, ad group and ad in the customer's tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct EntityRef {
    pub(crate) campaign: Option<usize>,
    pub(crate) ad_group: Option<usize>,
    pub(crate) ad: Option<usize>,
}

impl EntityRef {
    /// The customer itself (no campaign, ad group or ad).
    pub(crate) const CUSTOMER: EntityRef = EntityRef {
        campaign: None,
        ad_group: None,
        ad: None,
    };
}

/// The entities of `level`, in tree (and id) order.
pub(crate) fn entities(customer: &CustomerFacts, level: Level) -> Vec<EntityRef> {
    let mut out = Vec::new();
    if level == Level::Customer {
        out.push(EntityRef::CUSTOMER);
        return out;
    }
    for (c, campaign) in customer.campaigns.iter().enumerate() {
        if level == Level::Campaign {
            out.push(EntityRef {
                campaign: Some(c),
                ad_group: None,
                ad: None,
            });
            continue;
        }
        for (g, group) in campaign.ad_groups.iter().enumerate() {
            if level == Level::AdGroup {
                out.push(EntityRef {
                    campaign: Some(c),
                    ad_group: Some(g),
                    ad: None,
                });
                continue;
            }
            for a in 0..group.ads.len() {
                out.push(EntityRef {
                    campaign: Some(c),
                    ad_group: Some(g),
                    ad: Some(a),
                });
            }
        }
    }
    out
}

/// The entity of `level` an ad belongs to.
fn roll_up(level: Level, c: usize, g: usize, a: usize) -> EntityRef {
    match level {
        Level::Customer => EntityRef::CUSTOMER,
        Level::Campaign => EntityRef {
            campaign: Some(c),
            ad_group: None,
            ad: None,
        },
        Level::AdGroup => EntityRef {
            campaign: Some(c),
            ad_group: Some(g),
            ad: None,
        },
        Level::AdGroupAd => EntityRef {
            campaign: Some(c),
            ad_group: Some(g),
            ad: Some(a),
        },
    }
}

/// The delivery of every entity of `level` on `date`, as reported when the customer's today is
/// `today` (conversions restated by age), per device or summed over devices. Entities (and
/// devices) without impressions are left out; the rest come in tree order, then device order.
pub(crate) fn day_rows(
    customer: &CustomerFacts,
    level: Level,
    date: NaiveDate,
    today: NaiveDate,
    by_device: bool,
) -> Vec<(EntityRef, Option<Device>, Metrics)> {
    let mut rows: Vec<(EntityRef, Option<Device>, Metrics)> = Vec::new();
    if date > today || !customer.delivers {
        return rows;
    }
    let age = (today - date).num_days();
    for (c, campaign) in customer.campaigns.iter().enumerate() {
        if date < campaign.start.date(today) {
            continue;
        }
        for (g, group) in campaign.ad_groups.iter().enumerate() {
            for (a, ad) in group.ads.iter().enumerate() {
                let Some(per_device) = ad_day(customer, campaign.channel, ad, date) else {
                    continue;
                };
                let entity = roll_up(level, c, g, a);
                for device in campaign.channel.devices() {
                    let mut metrics = per_device[device.index()];
                    if metrics.impressions == 0 {
                        continue;
                    }
                    metrics.conversions_centi =
                        restated(metrics.conversions_centi, age, RESTATEMENT_HORIZON_DAYS);
                    metrics.conversions_value_centi = restated(
                        metrics.conversions_value_centi,
                        age,
                        RESTATEMENT_HORIZON_DAYS,
                    );
                    let key = (entity, by_device.then_some(*device));
                    // Ads of one entity are adjacent in tree order, so the entity's rows are
                    // at the end of the list.
                    match rows
                        .iter_mut()
                        .rev()
                        .take_while(|(e, _, _)| *e == entity)
                        .find(|(e, d, _)| (*e, *d) == key)
                    {
                        Some((_, _, total)) => total.add(metrics),
                        None => rows.push((entity, key.1, metrics)),
                    }
                }
            }
        }
    }
    if by_device {
        // Within an entity, rows follow device order whatever order the ads served in.
        rows.sort_by_key(|(entity, device, _)| (*entity, *device));
    }
    rows
}

/// One report row as the platform knows it, for tests to compare a sync with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TruthRow {
    /// The customer id.
    pub customer_id: String,
    /// Present at campaign level and below.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// Present at campaign level and below.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_name: Option<String>,
    /// Present at ad group level and below.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_group_id: Option<String>,
    /// Present at ad group level and below.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_group_name: Option<String>,
    /// Present at ad level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_id: Option<String>,
    /// Present at ad level, for ads that have a name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_name: Option<String>,
    /// `segments.date`.
    pub date: NaiveDate,
    /// `segments.device`, when the report is split by device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
    /// The metrics (conversions × 100).
    pub metrics: Metrics,
    /// `metrics.conversions` as the API renders it.
    pub conversions: String,
    /// `metrics.conversions_value` as the API renders it.
    pub conversions_value: String,
}

/// `centi / 100` as a decimal text without trailing zeros (`250` → `2.5`).
pub(crate) fn centi_text(centi: u64) -> String {
    crate::decimal::minor_units(centi, 2)
}

impl TruthRow {
    pub(crate) fn new(
        customer: &CustomerFacts,
        entity: EntityRef,
        date: NaiveDate,
        device: Option<Device>,
        metrics: Metrics,
    ) -> Self {
        let campaign = entity.campaign.and_then(|c| customer.campaigns.get(c));
        let group =
            campaign.and_then(|campaign| entity.ad_group.and_then(|g| campaign.ad_groups.get(g)));
        let ad = group.and_then(|group| entity.ad.and_then(|a| group.ads.get(a)));
        TruthRow {
            customer_id: customer.id.clone(),
            campaign_id: campaign.map(|c| c.id.to_string()),
            campaign_name: campaign.map(|c| c.name.clone()),
            ad_group_id: group.map(|g| g.id.to_string()),
            ad_group_name: group.map(|g| g.name.clone()),
            ad_id: ad.map(|a| a.id.to_string()),
            ad_name: ad.and_then(|a| a.name.clone()),
            date,
            device,
            metrics,
            conversions: centi_text(metrics.conversions_centi),
            conversions_value: centi_text(metrics.conversions_value_centi),
        }
    }
}

/// The daily rows a `segments.date` query at `level` returns for a customer over
/// `since..=until`, as seen when the customer's today is `today` (see
/// [`crate::Sandbox::today_for`]): ordered by date, then entity, then device. Days after today
/// and entities without impressions have no rows; an unknown customer has none.
pub fn report_truth(
    customer_id: &str,
    level: Level,
    since: NaiveDate,
    until: NaiveDate,
    today: NaiveDate,
    by_device: bool,
) -> Vec<TruthRow> {
    let Some(customer) = customer(customer_id) else {
        return Vec::new();
    };
    let last = until.min(today);
    since
        .iter_days()
        .take_while(|date| *date <= last)
        .flat_map(|date| {
            day_rows(&customer, level, date, today, by_device)
                .into_iter()
                .map(move |(entity, device, metrics)| (date, entity, device, metrics))
        })
        .map(|(date, entity, device, metrics)| {
            TruthRow::new(&customer, entity, date, device, metrics)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn customers_are_deterministic_and_well_formed() {
        for id in ["1234567890", "2345678901", "5555555555", "8123450001"] {
            let customer = customer(id).unwrap();
            assert_eq!(customer, super::customer(id).unwrap());
            assert!((2..=6).contains(&customer.campaigns.len()));
            let mut ids = Vec::new();
            for campaign in &customer.campaigns {
                ids.push(campaign.id);
                assert!((1..=3).contains(&campaign.ad_groups.len()));
                for group in &campaign.ad_groups {
                    ids.push(group.id);
                    assert!((1..=3).contains(&group.ads.len()));
                    for ad in &group.ads {
                        ids.push(ad.id);
                        assert_eq!(
                            ad.name.is_some(),
                            !matches!(ad.ad_type, "RESPONSIVE_SEARCH_AD" | "SHOPPING_PRODUCT_AD")
                        );
                    }
                }
                assert_eq!(
                    campaign.budget_amount_micros % customer.currency.micros_per_minor(),
                    0
                );
            }
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), ids.len(), "ids are unique");
        }
    }

    #[test]
    fn the_first_digit_decides_the_kind_of_account() {
        assert!(customer("0123456789").is_none());
        assert!(customer("123-456-7890").is_none());
        let manager = customer("9123450000").unwrap();
        assert!(manager.is_manager() && manager.campaigns.is_empty());
        let clients = manager.clients();
        assert!((2..=4).contains(&clients.len()));
        for client in clients {
            let client = customer(&client).unwrap();
            assert_eq!(client.manager_id(), Some("9123450000"));
            assert!(!client.campaigns.is_empty());
        }
        let large = customer("7000000001").unwrap();
        let ads: usize = large
            .campaigns
            .iter()
            .flat_map(|c| &c.ad_groups)
            .map(|g| g.ads.len())
            .sum();
        assert_eq!(ads, 10_000);
        assert_eq!(
            customer("1234567890").unwrap().kind,
            CustomerKind::Standalone
        );
    }

    #[test]
    fn higher_levels_sum_the_lower_ones_and_devices_sum_to_the_day() {
        let today = date("2025-06-30");
        let since = date("2025-06-01");
        let total = |level, by_device| {
            report_truth("2345678901", level, since, today, today, by_device)
                .iter()
                .fold(Metrics::default(), |mut sum, row| {
                    sum.add(row.metrics);
                    sum
                })
        };
        let all = total(Level::Customer, false);
        assert!(all.impressions > 0 && all.conversions_centi > 0);
        for level in [Level::Campaign, Level::AdGroup, Level::AdGroupAd] {
            assert_eq!(total(level, false), all, "{level}");
            assert_eq!(total(level, true), all, "{level} by device");
        }
    }

    #[test]
    fn rows_respect_their_invariants_and_dates() {
        let today = date("2025-06-30");
        let rows = report_truth(
            "1234567890",
            Level::AdGroupAd,
            date("2025-05-01"),
            date("2025-12-31"),
            today,
            true,
        );
        assert!(!rows.is_empty());
        for row in &rows {
            assert!(row.date <= today);
            assert!(row.metrics.impressions > 0);
            assert!(row.metrics.clicks <= row.metrics.impressions);
        }
        assert!(rows.windows(2).all(|pair| pair[0].date <= pair[1].date));
    }

    #[test]
    fn conversions_settle_over_thirty_days() {
        // The first campaign started long ago, so its delivery does not depend on today.
        let day = date("2025-06-01");
        let old = customer("1234567890").unwrap().campaigns[0].id.to_string();
        let at = |today: &str| {
            report_truth("1234567890", Level::Campaign, day, day, date(today), false)
                .into_iter()
                .find(|row| row.campaign_id.as_deref() == Some(old.as_str()))
                .map(|row| row.metrics)
                .unwrap()
        };
        let young = at("2025-06-02");
        let older = at("2025-06-20");
        let settled = at("2025-07-01");
        assert_eq!(young.impressions, settled.impressions);
        assert_eq!(young.cost_micros, settled.cost_micros);
        assert!(young.conversions_centi < older.conversions_centi);
        assert!(older.conversions_centi < settled.conversions_centi);
        assert_eq!(settled, at("2025-09-01"));
    }

    #[test]
    fn the_no_delivery_customer_has_campaigns_but_no_rows() {
        let customer = customer(NO_DELIVERY_CUSTOMER_ID).unwrap();
        assert!(!customer.campaigns.is_empty());
        assert!(
            report_truth(
                NO_DELIVERY_CUSTOMER_ID,
                Level::AdGroupAd,
                date("2024-01-01"),
                date("2025-06-30"),
                date("2025-06-30"),
                true
            )
            .is_empty()
        );
    }
}
