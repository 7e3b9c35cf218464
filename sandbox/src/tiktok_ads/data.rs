//! Deterministic TikTok advertisers, their campaign → ad group → ad trees, and their delivery.
//!
//! Every advertiser id made of digits exists. Its name, time zone, currency and campaign tree come
//! from a stable hash of the id, except [`NO_DELIVERY_ADVERTISER_ID`], which has no campaigns and
//! so never delivers. Metrics are generated per (advertiser, ad, date) and summed up the tree, so
//! every data level agrees with the others; audience breakdowns split each ad-day into segments
//! whose sums are the ad-day's totals. The report endpoint renders exactly these rows, and tests
//! compare what a client synced against [`report_truth`] and [`entities_truth`].
//!
//! Conversions are restated: a day's `conversion` grows until it is [`RESTATEMENT_HORIZON_DAYS`]
//! old in the advertiser's time zone (see `crate::restatement`). Ad groups that do not optimise
//! for a conversion event report `conversion` as `"-"` (not applicable), which is `None` here.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::restatement::restated;
use crate::rng::Seed;
use crate::state::AccountTimeZone;

/// Days after which a day's conversions stop changing (TikTok's default click attribution).
pub const RESTATEMENT_HORIZON_DAYS: u32 = 7;

/// An advertiser that exists but has no campaigns, so every report for it is empty.
pub const NO_DELIVERY_ADVERTISER_ID: &str = "7000000000000000000";

/// The `data_level` of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    /// `AUCTION_ADVERTISER`: one row per advertiser.
    #[serde(rename = "AUCTION_ADVERTISER")]
    Advertiser,
    /// `AUCTION_CAMPAIGN`: one row per campaign.
    #[serde(rename = "AUCTION_CAMPAIGN")]
    Campaign,
    /// `AUCTION_ADGROUP`: one row per ad group.
    #[serde(rename = "AUCTION_ADGROUP")]
    AdGroup,
    /// `AUCTION_AD`: one row per ad.
    #[serde(rename = "AUCTION_AD")]
    Ad,
}

impl Level {
    /// Every level, from the coarsest to the finest.
    pub const ALL: &'static [Level] = &[
        Level::Advertiser,
        Level::Campaign,
        Level::AdGroup,
        Level::Ad,
    ];

    /// The `data_level` parameter value.
    pub const fn data_level(self) -> &'static str {
        match self {
            Level::Advertiser => "AUCTION_ADVERTISER",
            Level::Campaign => "AUCTION_CAMPAIGN",
            Level::AdGroup => "AUCTION_ADGROUP",
            Level::Ad => "AUCTION_AD",
        }
    }

    /// The dimension that identifies a row's object at this level.
    pub const fn id_dimension(self) -> &'static str {
        match self {
            Level::Advertiser => "advertiser_id",
            Level::Campaign => "campaign_id",
            Level::AdGroup => "adgroup_id",
            Level::Ad => "ad_id",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.data_level())
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .iter()
            .copied()
            .find(|level| level.data_level() == name)
            .ok_or_else(|| {
                format!(
                    "data_level must be one of AUCTION_ADVERTISER, AUCTION_CAMPAIGN, AUCTION_ADGROUP, AUCTION_AD; got '{name}'"
                )
            })
    }
}

/// An audience dimension of an `AUDIENCE` report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Breakdown {
    /// `age`: `AGE_13_17` … `AGE_55_100`.
    Age,
    /// `gender`: `MALE`, `FEMALE`, `NONE`.
    Gender,
    /// `country_code`: ISO 3166-1 alpha-2.
    CountryCode,
    /// `platform`: `ANDROID`, `IPHONE`, `IPAD`, `PC`.
    Platform,
}

impl Breakdown {
    /// Every audience dimension the sandbox serves.
    pub const ALL: &'static [Breakdown] = &[
        Breakdown::Age,
        Breakdown::Gender,
        Breakdown::CountryCode,
        Breakdown::Platform,
    ];

    /// The dimension's name.
    pub const fn name(self) -> &'static str {
        match self {
            Breakdown::Age => "age",
            Breakdown::Gender => "gender",
            Breakdown::CountryCode => "country_code",
            Breakdown::Platform => "platform",
        }
    }

    /// The dimension's values with their base weights.
    const fn segments(self) -> &'static [(&'static str, u64)] {
        match self {
            Breakdown::Age => &[
                ("AGE_13_17", 4),
                ("AGE_18_24", 30),
                ("AGE_25_34", 32),
                ("AGE_35_44", 18),
                ("AGE_45_54", 10),
                ("AGE_55_100", 6),
            ],
            Breakdown::Gender => &[("FEMALE", 48), ("MALE", 46), ("NONE", 6)],
            Breakdown::CountryCode => &[
                ("US", 40),
                ("GB", 14),
                ("DE", 12),
                ("FR", 10),
                ("JP", 9),
                ("BR", 8),
                ("AU", 7),
            ],
            Breakdown::Platform => &[("ANDROID", 52), ("IPHONE", 40), ("IPAD", 5), ("PC", 3)],
        }
    }

    /// The breakdown named `name`.
    pub fn from_name(name: &str) -> Option<Breakdown> {
        Breakdown::ALL
            .iter()
            .copied()
            .find(|breakdown| breakdown.name() == name)
    }
}

/// The currencies sandbox advertisers pay in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// Japanese yen: no minor unit.
    #[serde(rename = "JPY")]
    Jpy,
    /// Australian dollar.
    #[serde(rename = "AUD")]
    Aud,
    /// Brazilian real.
    #[serde(rename = "BRL")]
    Brl,
}

impl Currency {
    /// Every currency, in the order the hash picks from.
    pub const ALL: &'static [Currency] = &[
        Currency::Usd,
        Currency::Eur,
        Currency::Gbp,
        Currency::Jpy,
        Currency::Aud,
        Currency::Brl,
    ];

    /// The ISO 4217 code.
    pub const fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
            Currency::Jpy => "JPY",
            Currency::Aud => "AUD",
            Currency::Brl => "BRL",
        }
    }

    /// Decimal places of the minor unit (2 for cents, 0 for yen).
    pub const fn decimals(self) -> u32 {
        match self {
            Currency::Jpy => 0,
            _ => 2,
        }
    }

    /// The range of the cost per thousand impressions, in minor units.
    const fn cpm_range(self) -> (u64, u64) {
        match self {
            Currency::Usd => (200, 1_200),
            Currency::Eur => (200, 1_100),
            Currency::Gbp => (180, 1_000),
            Currency::Jpy => (300, 1_800),
            Currency::Aud => (300, 1_800),
            Currency::Brl => (800, 4_000),
        }
    }

    /// The range of a daily budget, in whole major units.
    const fn daily_budget_range(self) -> (u64, u64) {
        match self {
            Currency::Usd | Currency::Eur | Currency::Gbp => (50, 500),
            Currency::Jpy => (7_000, 70_000),
            Currency::Aud => (75, 750),
            Currency::Brl => (250, 2_500),
        }
    }
}

/// The time zones sandbox advertisers report in.
pub const TIME_ZONES: &[Tz] = &[
    Tz::America__Los_Angeles,
    Tz::America__New_York,
    Tz::Europe__Berlin,
    Tz::Europe__London,
    Tz::Asia__Tokyo,
    Tz::Australia__Sydney,
    Tz::America__Sao_Paulo,
    Tz::Asia__Singapore,
    Tz::UTC,
];

/// A campaign's advertising objective (`objective_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Objective {
    /// `TRAFFIC`.
    Traffic,
    /// `WEB_CONVERSIONS`.
    WebConversions,
    /// `APP_PROMOTION`.
    AppPromotion,
    /// `REACH`.
    Reach,
    /// `VIDEO_VIEWS`.
    VideoViews,
    /// `LEAD_GENERATION`.
    LeadGeneration,
    /// `PRODUCT_SALES`.
    ProductSales,
}

impl Objective {
    const ALL: &'static [Objective] = &[
        Objective::Traffic,
        Objective::WebConversions,
        Objective::AppPromotion,
        Objective::Reach,
        Objective::VideoViews,
        Objective::LeadGeneration,
        Objective::ProductSales,
    ];

    /// The `objective_type` value.
    pub const fn name(self) -> &'static str {
        match self {
            Objective::Traffic => "TRAFFIC",
            Objective::WebConversions => "WEB_CONVERSIONS",
            Objective::AppPromotion => "APP_PROMOTION",
            Objective::Reach => "REACH",
            Objective::VideoViews => "VIDEO_VIEWS",
            Objective::LeadGeneration => "LEAD_GENERATION",
            Objective::ProductSales => "PRODUCT_SALES",
        }
    }

    /// The `optimization_goal` of the campaign's ad groups.
    pub const fn optimization_goal(self) -> &'static str {
        match self {
            Objective::Traffic => "CLICK",
            Objective::WebConversions | Objective::ProductSales => "CONVERT",
            Objective::AppPromotion => "INSTALL",
            Objective::Reach => "REACH",
            Objective::VideoViews => "ENGAGED_VIEW",
            Objective::LeadGeneration => "LEAD_GENERATION",
        }
    }

    /// Whether the ad groups optimise for a conversion event, and so report `conversion`.
    pub const fn tracks_conversions(self) -> bool {
        matches!(
            self,
            Objective::WebConversions
                | Objective::ProductSales
                | Objective::AppPromotion
                | Objective::LeadGeneration
        )
    }
}

/// A budget (`budget_mode` and `budget`), in the currency's minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Budget {
    /// `BUDGET_MODE_DAY`.
    Daily(u64),
    /// `BUDGET_MODE_TOTAL`.
    Total(u64),
    /// `BUDGET_MODE_INFINITE` (`budget` is `0.0`).
    Infinite,
}

impl Budget {
    /// The `budget_mode` value.
    pub const fn mode(self) -> &'static str {
        match self {
            Budget::Daily(_) => "BUDGET_MODE_DAY",
            Budget::Total(_) => "BUDGET_MODE_TOTAL",
            Budget::Infinite => "BUDGET_MODE_INFINITE",
        }
    }

    /// The amount in minor units (0 when infinite).
    pub const fn minor(self) -> u64 {
        match self {
            Budget::Daily(amount) | Budget::Total(amount) => amount,
            Budget::Infinite => 0,
        }
    }
}

/// When a campaign delivers: from `start`, until `end` if it was switched off, and, for a
/// flighted campaign, only on the "on" days of a repeating cycle. Every date is fixed, so the
/// delivery of a past day never changes as the clock moves (only its conversions settle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// First day with delivery.
    pub start: NaiveDate,
    /// Last day with delivery, for a campaign that was switched off.
    pub end: Option<NaiveDate>,
    /// `(cycle_days, on_days)`: delivers on the first `on_days` of every `cycle_days`-day cycle
    /// (counted from 0001-01-01), so every few weeks contain days with and without delivery.
    pub flight: Option<(u32, u32)>,
}

impl Schedule {
    /// Whether the campaign delivers on `date`.
    pub fn delivers_on(&self, date: NaiveDate) -> bool {
        date >= self.start
            && self.end.is_none_or(|end| date <= end)
            && self.flight.is_none_or(|(cycle, on)| {
                day_number(date) % u64::from(cycle.max(1)) < u64::from(on)
            })
    }
}

/// Everything fixed about one sandbox advertiser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertiserFacts {
    /// The advertiser id (digits).
    pub id: String,
    /// Display name.
    pub name: String,
    /// The advertiser's time zone; report dates are days in this zone.
    pub time_zone: Tz,
    /// The advertiser's currency.
    pub currency: Currency,
    /// The country the advertiser is registered in.
    pub country: &'static str,
    /// When the advertiser was created, seconds since the epoch.
    pub create_time: i64,
    /// The campaigns, in ascending id order.
    pub campaigns: Vec<CampaignFacts>,
}

impl AccountTimeZone for AdvertiserFacts {
    fn account_time_zone(&self) -> Tz {
        self.time_zone
    }
}

/// One campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignFacts {
    /// 19-digit id as a string.
    pub id: String,
    /// Display name, sometimes with non-ASCII characters.
    pub name: String,
    /// `objective_type`.
    pub objective: Objective,
    /// Campaign budget.
    pub budget: Budget,
    /// `operation_status` ENABLE (true) or DISABLE (false).
    pub enabled: bool,
    /// When it delivers.
    pub schedule: Schedule,
    /// When the campaign was created (`create_time`, advertiser time).
    pub create_time: String,
    /// The ad groups, in ascending id order.
    pub adgroups: Vec<AdGroupFacts>,
}

impl CampaignFacts {
    /// Whether the campaign delivers on `date`.
    pub fn delivers_on(&self, date: NaiveDate) -> bool {
        self.schedule.delivers_on(date)
    }
}

/// One ad group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdGroupFacts {
    /// 19-digit id as a string.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Ad group budget.
    pub budget: Budget,
    /// `placement_type`.
    pub placement_type: &'static str,
    /// The ads, in ascending id order.
    pub ads: Vec<AdFacts>,
}

/// One ad and its creative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdFacts {
    /// 19-digit id as a string.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `ad_format`: `SINGLE_VIDEO`, `SINGLE_IMAGE` or `CAROUSEL_ADS`.
    pub ad_format: &'static str,
    /// The caption.
    pub ad_text: String,
    /// `call_to_action`.
    pub call_to_action: &'static str,
    /// `landing_page_url`.
    pub landing_page_url: String,
    /// `video_id` for video ads.
    pub video_id: Option<String>,
    /// `image_ids` for image and carousel ads.
    pub image_ids: Vec<String>,
}

impl AdFacts {
    /// The id of the ad's main creative asset: the video, or the first image.
    pub fn creative_id(&self) -> Option<&str> {
        self.video_id
            .as_deref()
            .or_else(|| self.image_ids.first().map(String::as_str))
    }
}

/// Whether `id` is a valid advertiser id (digits).
pub fn is_valid_account_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|byte| byte.is_ascii_digit())
}

const BRANDS: &[&str] = &[
    "Café Lumière",
    "Nordlicht Outdoor",
    "さくら Cosmetics",
    "Pixel & Pine",
    "Müller Sportswear",
    "Casa Ipê",
    "Harbour Tea Co.",
];

const CAMPAIGN_THEMES: &[&str] = &[
    "Summer Drop",
    "Always-on Prospecting",
    "Rétro Collection",
    "Back to School",
    "Black Friday",
    "Neujahr Angebote",
    "新生活キャンペーン",
    "App Launch",
    "Creator Collab",
    "Lançamento Verão",
];

const AUDIENCES: &[&str] = &[
    "Broad 18-44",
    "Lookalike 2%",
    "Interest: Beauty & Care",
    "Retargeting 14d",
    "Gamers · Android",
    "Köln + 25 km",
];

const CREATIVES: &[&str] = &[
    "UGC Unboxing",
    "Spark Ad · Creator",
    "Product Demo 9:16",
    "Carousel – Bestsellers",
    "Tutorial “How to”",
];

const AD_TEXTS: &[&str] = &[
    "New drop is live — shop now",
    "Ton nouveau favori ✨",
    "Jetzt entdecken und sparen",
    "今だけ送料無料",
    "Download and get 20% off your first order",
];

const CALLS_TO_ACTION: &[&str] = &[
    "SHOP_NOW",
    "LEARN_MORE",
    "DOWNLOAD_NOW",
    "SIGN_UP",
    "ORDER_NOW",
];

const COUNTRIES: &[&str] = &["US", "GB", "DE", "JP", "BR", "AU", "SG"];

/// Entity ids are this base plus an advertiser part and a local part: 19 digits like TikTok's,
/// ascending within an advertiser.
const ID_BASE: u64 = 1_700_000_000_000_000_000;

/// 2023-01-01 00:00:00 UTC.
const EPOCH_SECONDS: i64 = 1_672_531_200;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or(NaiveDate::MIN)
}

fn budget_minor(currency: Currency, seed: Seed, multiplier: u64) -> u64 {
    let (low, high) = currency.daily_budget_range();
    // Budgets are whole tens of major units, as people type them.
    let major = seed.between(low / 10, high / 10) * 10 * multiplier;
    major * 10u64.pow(currency.decimals())
}

/// The advertiser facts for `advertiser_id`, or `None` if it is not a valid id.
pub fn advertiser(advertiser_id: &str) -> Option<AdvertiserFacts> {
    if !is_valid_account_id(advertiser_id) {
        return None;
    }
    let seed = Seed::new("tiktok_ads/advertiser").with_str(advertiser_id);
    let time_zone = seed.with_u64(1).pick(TIME_ZONES)?;
    let currency = seed.with_u64(2).pick(Currency::ALL)?;
    let brand = seed.with_u64(3).pick(BRANDS).unwrap_or("Sandbox");
    let country = seed.with_u64(4).pick(COUNTRIES).unwrap_or("US");
    let id_prefix = ID_BASE + seed.with_u64(5).below(100_000_000_000_000) * 1_000;
    let create_time =
        EPOCH_SECONDS + i64::try_from(seed.with_u64(6).below(300 * 86_400)).unwrap_or(0);
    let campaign_count = if advertiser_id == NO_DELIVERY_ADVERTISER_ID {
        0
    } else {
        seed.with_u64(7).between(2, 5)
    };
    let campaigns = (1..=campaign_count)
        .map(|c| {
            campaign(
                advertiser_id,
                currency,
                id_prefix,
                seed.with_u64(100 + c),
                c,
            )
        })
        .collect();
    Some(AdvertiserFacts {
        id: advertiser_id.to_owned(),
        name: format!("{brand} · Sandbox {advertiser_id}"),
        time_zone,
        currency,
        country,
        create_time,
        campaigns,
    })
}

fn campaign(
    advertiser_id: &str,
    currency: Currency,
    id_prefix: u64,
    cs: Seed,
    c: u64,
) -> CampaignFacts {
    let theme = cs.with_u64(1).pick(CAMPAIGN_THEMES).unwrap_or("Campaign");
    // The first campaign is always on and converting; the second is flighted (two or three weeks
    // on, one or two off) without conversion tracking, so every advertiser has both kinds and
    // every few weeks have gaps; the rest are drawn.
    let objective = match c {
        1 => Objective::WebConversions,
        2 => Objective::Traffic,
        _ => cs
            .with_u64(2)
            .pick(Objective::ALL)
            .unwrap_or(Objective::Traffic),
    };
    let start = epoch()
        .checked_add_days(Days::new(cs.with_u64(5).below(600)))
        .unwrap_or(epoch());
    let flight = (c == 2 || cs.with_u64(3).below(3) == 0).then(|| {
        let on = u32::try_from(cs.with_u64(4).between(14, 21)).unwrap_or(14);
        (
            on + u32::try_from(cs.with_u64(14).between(7, 14)).unwrap_or(7),
            on,
        )
    });
    // Some campaigns were switched off a while after they started and stopped delivering.
    let enabled = c <= 2 || cs.with_u64(6).below(4) != 0;
    let end = (!enabled).then(|| {
        start
            .checked_add_days(Days::new(cs.with_u64(7).between(60, 400)))
            .unwrap_or(start)
    });
    let budget = match c {
        1 => Budget::Daily(budget_minor(currency, cs.with_u64(8), 1)),
        2 => Budget::Infinite,
        _ => match cs.with_u64(9).below(3) {
            0 => Budget::Daily(budget_minor(currency, cs.with_u64(8), 1)),
            1 => Budget::Total(budget_minor(currency, cs.with_u64(8), 20)),
            _ => Budget::Infinite,
        },
    };
    let created = start;
    let create_time = format!(
        "{} {:02}:{:02}:{:02}",
        created.checked_sub_days(Days::new(1)).unwrap_or(created),
        cs.with_u64(10).below(24),
        cs.with_u64(11).below(60),
        cs.with_u64(12).below(60)
    );
    let adgroup_count = cs.with_u64(13).between(1, 3);
    let adgroups = (1..=adgroup_count)
        .map(|a| {
            let gs = cs.with_u64(200 + a);
            let audience = gs.with_u64(1).pick(AUDIENCES).unwrap_or("Broad");
            let budget = match (budget, gs.with_u64(2).below(3)) {
                (Budget::Infinite, 0) | (_, 1) => {
                    Budget::Total(budget_minor(currency, gs.with_u64(3), 15))
                }
                (Budget::Infinite, _) | (_, 0) => {
                    Budget::Daily(budget_minor(currency, gs.with_u64(3), 1))
                }
                _ => Budget::Infinite,
            };
            let placement_type = if gs.with_u64(4).below(3) == 0 {
                "PLACEMENT_TYPE_NORMAL"
            } else {
                "PLACEMENT_TYPE_AUTOMATIC"
            };
            let ad_count = gs.with_u64(5).between(1, 3);
            let ads = (1..=ad_count)
                .map(|d| {
                    ad(
                        advertiser_id,
                        gs.with_u64(300 + d),
                        id_prefix + c * 100 + a * 10 + d,
                        (c, a, d),
                    )
                })
                .collect();
            AdGroupFacts {
                id: (id_prefix + c * 100 + a * 10).to_string(),
                name: format!("Ad Group {c}.{a} · {audience}"),
                budget,
                placement_type,
                ads,
            }
        })
        .collect();
    CampaignFacts {
        id: (id_prefix + c * 100).to_string(),
        name: format!("Campaign {c} · {theme}"),
        objective,
        budget,
        enabled,
        schedule: Schedule { start, end, flight },
        create_time,
        adgroups,
    }
}

fn ad(advertiser_id: &str, ds: Seed, id: u64, (c, a, d): (u64, u64, u64)) -> AdFacts {
    let creative = ds.with_u64(1).pick(CREATIVES).unwrap_or("Ad");
    let (ad_format, video_id, image_ids) = match ds.with_u64(2).below(6) {
        0 => (
            "SINGLE_IMAGE",
            None,
            vec![format!("ad-site-i18n-sg/{:016x}", ds.with_u64(3).value())],
        ),
        1 => (
            "CAROUSEL_ADS",
            None,
            (0..3)
                .map(|i| format!("ad-site-i18n-sg/{:016x}", ds.with_u64(10 + i).value()))
                .collect(),
        ),
        _ => (
            "SINGLE_VIDEO",
            Some(format!("v10033g50000{:016x}", ds.with_u64(3).value())),
            Vec::new(),
        ),
    };
    AdFacts {
        id: id.to_string(),
        name: format!("Ad {c}.{a}.{d} · {creative}"),
        ad_format,
        ad_text: ds
            .with_u64(4)
            .pick(AD_TEXTS)
            .unwrap_or("Shop now")
            .to_owned(),
        call_to_action: ds.with_u64(5).pick(CALLS_TO_ACTION).unwrap_or("LEARN_MORE"),
        landing_page_url: format!(
            "https://shop.example.com/{advertiser_id}/c{c}?utm_source=tiktok&utm_content=ad{d}"
        ),
        video_id,
        image_ids,
    }
}

/// The advertisers every access token reaches (`oauth2/advertiser/get/`, and the
/// `advertiser_ids` of a token exchange): an Australian-dollar account in Singapore time with a
/// non-ASCII name and a switched-off campaign, a yen account in Berlin time, and a euro account.
/// Reports and entities can be read for any advertiser id, reachable or not.
pub const REACHABLE_ADVERTISER_IDS: &[&str] = &[
    "7100000000000000001",
    "7100000000000000003",
    "7100000000000000007",
];

/// The facts of [`REACHABLE_ADVERTISER_IDS`].
pub fn reachable_advertisers() -> Vec<AdvertiserFacts> {
    REACHABLE_ADVERTISER_IDS
        .iter()
        .filter_map(|id| advertiser(id))
        .collect()
}

/// Additive delivery metrics of one ad-day (or one segment of it); money in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Times an ad was shown.
    pub impressions: u64,
    /// Clicks, never more than impressions.
    pub clicks: u64,
    /// People reached (summed across children, not deduplicated), never more than impressions.
    pub reach: u64,
    /// Amount spent, minor units.
    pub spend_minor: u64,
    /// Conversions as reported at the time (restated), or `None` where not tracked.
    pub conversion: Option<u64>,
}

impl Metrics {
    fn add(&mut self, other: Metrics) {
        self.impressions += other.impressions;
        self.clicks += other.clicks;
        self.reach += other.reach;
        self.spend_minor += other.spend_minor;
        self.conversion = match (self.conversion, other.conversion) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
    }
}

const fn weekday_factor(weekday: Weekday) -> u64 {
    match weekday {
        Weekday::Mon => 960,
        Weekday::Tue => 980,
        Weekday::Wed => 1_000,
        Weekday::Thu => 1_030,
        Weekday::Fri => 1_090,
        Weekday::Sat => 1_160,
        Weekday::Sun => 1_140,
    }
}

fn day_number(date: NaiveDate) -> u64 {
    u64::try_from(date.num_days_from_ce()).unwrap_or(0)
}

/// The delivery of one ad on one date as reported when the date is `age_days` old, or `None`
/// when it had none (TikTok omits such rows). Does not know about campaign schedules; callers
/// check those. `tracks_conversions` decides whether `conversion` is a number or `"-"`.
pub fn ad_day_metrics(
    advertiser_id: &str,
    currency: Currency,
    ad_id: &str,
    date: NaiveDate,
    age_days: i64,
    tracks_conversions: bool,
) -> Option<Metrics> {
    let ad = Seed::new("tiktok_ads/ad")
        .with_str(advertiser_id)
        .with_str(ad_id);
    let day = Seed::new("tiktok_ads/ad_day")
        .with_str(advertiser_id)
        .with_str(ad_id)
        .with_u64(day_number(date));
    // About one ad-day in ten has no delivery at all.
    if day.with_u64(0).below(100) < 10 {
        return None;
    }
    let base = ad.with_u64(1).between(500, 60_000);
    let impressions =
        base * weekday_factor(date.weekday()) * day.with_u64(1).between(600, 1_400) / 1_000_000;
    if impressions == 0 {
        return None;
    }
    // Click-through rate in units of 1/10 000 (0.4 % to about 2.6 %).
    let ctr = ad.with_u64(2).between(40, 200) * day.with_u64(2).between(700, 1_300) / 1_000;
    let clicks = impressions * ctr / 10_000;
    let reach = (impressions * day.with_u64(3).between(600, 950) / 1_000).max(1);
    let (cpm_low, cpm_high) = currency.cpm_range();
    let cpm_minor =
        ad.with_u64(3).between(cpm_low, cpm_high) * day.with_u64(4).between(850, 1_150) / 1_000;
    let spend_minor = impressions * cpm_minor / 1_000;
    let conversion = tracks_conversions.then(|| {
        // Conversion rate per click in units of 1/10 000 (1 % to 9 %).
        let rate = ad.with_u64(4).between(100, 600) * day.with_u64(5).between(700, 1_500) / 1_000;
        restated(clicks * rate / 10_000, age_days, RESTATEMENT_HORIZON_DAYS)
    });
    Some(Metrics {
        impressions,
        clicks,
        reach,
        spend_minor,
        conversion,
    })
}

/// A segment of an audience report: one value per requested breakdown, in request order.
type Segment = Vec<(Breakdown, &'static str)>;

/// `total` split into parts proportional to `weights`: each part is the difference of the
/// rounded-down cumulative shares, so the parts sum to `total` exactly and a part never exceeds
/// its weight's share rounded up.
fn split(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u128 = weights.iter().map(|weight| u128::from(*weight)).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let mut cumulative: u128 = 0;
    let mut previous: u128 = 0;
    weights
        .iter()
        .map(|weight| {
            cumulative += u128::from(*weight);
            let share = u128::from(total) * cumulative / sum;
            let part = share - previous;
            previous = share;
            u64::try_from(part).unwrap_or(0)
        })
        .collect()
}

/// One ad-day split into the segments of `breakdowns` (the cross product of their values, in
/// order). Impressions are split by per-ad segment weights; every other metric is split in
/// proportion to the segments' impressions, so clicks and reach never exceed impressions and
/// every metric's segments sum to the ad-day's total. Segments without impressions are left out.
fn segments_of(
    advertiser_id: &str,
    ad_id: &str,
    breakdowns: &[Breakdown],
    metrics: Metrics,
) -> Vec<(Segment, Metrics)> {
    let mut cells: Vec<(Segment, u64)> = vec![(Vec::new(), 1)];
    for breakdown in breakdowns {
        let seed = Seed::new("tiktok_ads/segment")
            .with_str(advertiser_id)
            .with_str(ad_id)
            .with_str(breakdown.name());
        cells = cells
            .into_iter()
            .flat_map(|(segment, weight)| {
                breakdown.segments().iter().map(move |(value, base)| {
                    let jitter = seed.with_str(value).between(50, 150);
                    let mut segment = segment.clone();
                    segment.push((*breakdown, *value));
                    (segment, weight * base * jitter)
                })
            })
            .collect();
    }
    let weights: Vec<u64> = cells.iter().map(|(_, weight)| *weight).collect();
    let impressions = split(metrics.impressions, &weights);
    let clicks = split(metrics.clicks, &impressions);
    let reach = split(metrics.reach, &impressions);
    let spend = split(metrics.spend_minor, &impressions);
    let conversion = metrics.conversion.map(|total| split(total, &impressions));
    cells
        .into_iter()
        .enumerate()
        .filter(|(index, _)| impressions[*index] > 0)
        .map(|(index, (segment, _))| {
            (
                segment,
                Metrics {
                    impressions: impressions[index],
                    clicks: clicks[index],
                    reach: reach[index],
                    spend_minor: spend[index],
                    conversion: conversion.as_ref().map(|parts| parts[index]),
                },
            )
        })
        .collect()
}

/// One report row as the platform knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthRow {
    /// The advertiser.
    pub advertiser_id: String,
    /// The advertiser's name.
    pub advertiser_name: String,
    /// The advertiser's currency code.
    pub currency: String,
    /// Present at campaign level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// Present at campaign level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_name: Option<String>,
    /// Present at campaign level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective_type: Option<String>,
    /// Present at ad group level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adgroup_id: Option<String>,
    /// Present at ad group level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adgroup_name: Option<String>,
    /// Present at ad level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_id: Option<String>,
    /// Present at ad level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_name: Option<String>,
    /// Present at ad level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_text: Option<String>,
    /// The day, in the advertiser's time zone.
    pub date: NaiveDate,
    /// The audience segment (`age`, `gender`, `country_code`, `platform` → value), empty for
    /// `BASIC` reports.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub segment: BTreeMap<String, String>,
    /// Impressions.
    pub impressions: u64,
    /// Clicks.
    pub clicks: u64,
    /// Reach (summed, not deduplicated).
    pub reach: u64,
    /// Spend in minor units.
    pub spend_minor: u64,
    /// Spend as the API renders it, e.g. `"1265.80"` (`"1266"` for yen).
    pub spend: String,
    /// Conversions as reported now; `None` is rendered `"-"` (not tracked).
    pub conversion: Option<u64>,
}

/// One object at a report level with the ads it sums over.
struct Entity<'a> {
    campaign: Option<&'a CampaignFacts>,
    adgroup: Option<&'a AdGroupFacts>,
    ad: Option<&'a AdFacts>,
    ads: Vec<(&'a CampaignFacts, &'a AdFacts)>,
}

fn campaign_ads(campaign: &CampaignFacts) -> Vec<(&CampaignFacts, &AdFacts)> {
    campaign
        .adgroups
        .iter()
        .flat_map(|adgroup| adgroup.ads.iter().map(move |ad| (campaign, ad)))
        .collect()
}

fn entities(advertiser: &AdvertiserFacts, level: Level) -> Vec<Entity<'_>> {
    let all_ads = campaign_ads;
    match level {
        Level::Advertiser => vec![Entity {
            campaign: None,
            adgroup: None,
            ad: None,
            ads: advertiser.campaigns.iter().flat_map(all_ads).collect(),
        }],
        Level::Campaign => advertiser
            .campaigns
            .iter()
            .map(|campaign| Entity {
                campaign: Some(campaign),
                adgroup: None,
                ad: None,
                ads: all_ads(campaign),
            })
            .collect(),
        Level::AdGroup => advertiser
            .campaigns
            .iter()
            .flat_map(|campaign| {
                campaign.adgroups.iter().map(move |adgroup| Entity {
                    campaign: Some(campaign),
                    adgroup: Some(adgroup),
                    ad: None,
                    ads: adgroup.ads.iter().map(|ad| (campaign, ad)).collect(),
                })
            })
            .collect(),
        Level::Ad => advertiser
            .campaigns
            .iter()
            .flat_map(|campaign| {
                campaign.adgroups.iter().flat_map(move |adgroup| {
                    adgroup.ads.iter().map(move |ad| Entity {
                        campaign: Some(campaign),
                        adgroup: Some(adgroup),
                        ad: Some(ad),
                        ads: vec![(campaign, ad)],
                    })
                })
            })
            .collect(),
    }
}

/// Renders `minor` units with exactly the currency's decimals, as TikTok prints money.
pub(crate) fn money(minor: u64, decimals: u32) -> String {
    if decimals == 0 {
        return minor.to_string();
    }
    let scale = 10u64.pow(decimals);
    let width = usize::try_from(decimals).unwrap_or(2);
    format!("{}.{:0width$}", minor / scale, minor % scale)
}

/// The rows of a report at `level`, split by `breakdowns` (empty for `BASIC`), ordered by date,
/// then object id, then segment. `today` is the advertiser's today: later dates have no rows,
/// and conversions are restated by their age relative to it.
pub(crate) fn rows(
    advertiser: &AdvertiserFacts,
    level: Level,
    breakdowns: &[Breakdown],
    since: NaiveDate,
    until: NaiveDate,
    today: NaiveDate,
) -> Vec<TruthRow> {
    let entities = entities(advertiser, level);
    let last = until.min(today);
    let mut rows = Vec::new();
    for date in since.iter_days().take_while(|date| *date <= last) {
        let age = (today - date).num_days();
        for entity in &entities {
            let mut cells: BTreeMap<Segment, Metrics> = BTreeMap::new();
            for (campaign, ad) in &entity.ads {
                if !campaign.delivers_on(date) {
                    continue;
                }
                let Some(metrics) = ad_day_metrics(
                    &advertiser.id,
                    advertiser.currency,
                    &ad.id,
                    date,
                    age,
                    campaign.objective.tracks_conversions(),
                ) else {
                    continue;
                };
                for (segment, part) in segments_of(&advertiser.id, &ad.id, breakdowns, metrics) {
                    cells.entry(segment).or_default().add(part);
                }
            }
            let mut cells: Vec<_> = cells.into_iter().collect();
            // Segments in the order of the breakdowns' values, not alphabetically.
            cells.sort_by_key(|(segment, _)| segment_order(segment));
            for (segment, metrics) in cells {
                if metrics.impressions == 0 {
                    continue;
                }
                rows.push(truth_row(advertiser, entity, date, &segment, metrics));
            }
        }
    }
    rows
}

fn segment_order(segment: &[(Breakdown, &'static str)]) -> Vec<usize> {
    segment
        .iter()
        .map(|(breakdown, value)| {
            breakdown
                .segments()
                .iter()
                .position(|(candidate, _)| candidate == value)
                .unwrap_or(usize::MAX)
        })
        .collect()
}

fn truth_row(
    advertiser: &AdvertiserFacts,
    entity: &Entity<'_>,
    date: NaiveDate,
    segment: &[(Breakdown, &'static str)],
    metrics: Metrics,
) -> TruthRow {
    TruthRow {
        advertiser_id: advertiser.id.clone(),
        advertiser_name: advertiser.name.clone(),
        currency: advertiser.currency.code().to_owned(),
        campaign_id: entity.campaign.map(|c| c.id.clone()),
        campaign_name: entity.campaign.map(|c| c.name.clone()),
        objective_type: entity.campaign.map(|c| c.objective.name().to_owned()),
        adgroup_id: entity.adgroup.map(|g| g.id.clone()),
        adgroup_name: entity.adgroup.map(|g| g.name.clone()),
        ad_id: entity.ad.map(|a| a.id.clone()),
        ad_name: entity.ad.map(|a| a.name.clone()),
        ad_text: entity.ad.map(|a| a.ad_text.clone()),
        date,
        segment: segment
            .iter()
            .map(|(breakdown, value)| (breakdown.name().to_owned(), (*value).to_owned()))
            .collect(),
        impressions: metrics.impressions,
        clicks: metrics.clicks,
        reach: metrics.reach,
        spend_minor: metrics.spend_minor,
        spend: money(metrics.spend_minor, advertiser.currency.decimals()),
        conversion: metrics.conversion,
    }
}

/// The daily report rows (`stat_time_day`) of an advertiser, exactly as the report endpoint
/// pages through them. `breakdowns` empty is a `BASIC` report, otherwise `AUDIENCE`. `today` is
/// the advertiser's today (see [`crate::Sandbox::today_for`]). An invalid id gives no rows.
pub fn report_truth(
    advertiser_id: &str,
    level: Level,
    breakdowns: &[Breakdown],
    since: NaiveDate,
    until: NaiveDate,
    today: NaiveDate,
) -> Vec<TruthRow> {
    match advertiser(advertiser_id) {
        Some(advertiser) => rows(&advertiser, level, breakdowns, since, until, today),
        None => Vec::new(),
    }
}

/// One campaign, ad group or ad as the entity endpoints describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityTruth {
    /// The object's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The campaign (for ad groups and ads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// The ad group (for ads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adgroup_id: Option<String>,
    /// `operation_status`: `ENABLE` or `DISABLE`.
    pub operation_status: String,
    /// `secondary_status`, e.g. `CAMPAIGN_STATUS_ENABLE`, `AD_STATUS_CAMPAIGN_DISABLE`.
    pub secondary_status: String,
    /// `objective_type` (campaigns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective_type: Option<String>,
    /// `budget_mode` (campaigns and ad groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_mode: Option<String>,
    /// `budget` in minor units (campaigns and ad groups; 0 when infinite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_minor: Option<u64>,
    /// The creative's main asset id (ads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creative_id: Option<String>,
    /// `ad_text` (ads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_text: Option<String>,
    /// `ad_format` (ads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_format: Option<String>,
    /// `landing_page_url` (ads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing_page_url: Option<String>,
}

/// The secondary status of a campaign.
pub(crate) fn campaign_secondary_status(campaign: &CampaignFacts) -> &'static str {
    if campaign.enabled {
        "CAMPAIGN_STATUS_ENABLE"
    } else {
        "CAMPAIGN_STATUS_DISABLE"
    }
}

/// The secondary status of an ad group of `campaign`.
pub(crate) fn adgroup_secondary_status(campaign: &CampaignFacts) -> &'static str {
    if campaign.enabled {
        "ADGROUP_STATUS_DELIVERY_OK"
    } else {
        "ADGROUP_STATUS_CAMPAIGN_DISABLE"
    }
}

/// The secondary status of an ad of `campaign`.
pub(crate) fn ad_secondary_status(campaign: &CampaignFacts) -> &'static str {
    if campaign.enabled {
        "AD_STATUS_DELIVERY_OK"
    } else {
        "AD_STATUS_CAMPAIGN_DISABLE"
    }
}

/// The campaigns (`Level::Campaign`), ad groups (`Level::AdGroup`) or ads (`Level::Ad`) of an
/// advertiser, in the order the entity endpoints page through them. Other levels and invalid ids
/// give nothing.
pub fn entities_truth(advertiser_id: &str, level: Level) -> Vec<EntityTruth> {
    let Some(advertiser) = advertiser(advertiser_id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for campaign in &advertiser.campaigns {
        let operation = |enabled: bool| if enabled { "ENABLE" } else { "DISABLE" }.to_owned();
        match level {
            Level::Advertiser => {}
            Level::Campaign => out.push(EntityTruth {
                id: campaign.id.clone(),
                name: campaign.name.clone(),
                campaign_id: None,
                adgroup_id: None,
                operation_status: operation(campaign.enabled),
                secondary_status: campaign_secondary_status(campaign).to_owned(),
                objective_type: Some(campaign.objective.name().to_owned()),
                budget_mode: Some(campaign.budget.mode().to_owned()),
                budget_minor: Some(campaign.budget.minor()),
                creative_id: None,
                ad_text: None,
                ad_format: None,
                landing_page_url: None,
            }),
            Level::AdGroup => out.extend(campaign.adgroups.iter().map(|adgroup| EntityTruth {
                id: adgroup.id.clone(),
                name: adgroup.name.clone(),
                campaign_id: Some(campaign.id.clone()),
                adgroup_id: None,
                operation_status: operation(true),
                secondary_status: adgroup_secondary_status(campaign).to_owned(),
                objective_type: None,
                budget_mode: Some(adgroup.budget.mode().to_owned()),
                budget_minor: Some(adgroup.budget.minor()),
                creative_id: None,
                ad_text: None,
                ad_format: None,
                landing_page_url: None,
            })),
            Level::Ad => {
                for adgroup in &campaign.adgroups {
                    out.extend(adgroup.ads.iter().map(|ad| EntityTruth {
                        id: ad.id.clone(),
                        name: ad.name.clone(),
                        campaign_id: Some(campaign.id.clone()),
                        adgroup_id: Some(adgroup.id.clone()),
                        operation_status: operation(true),
                        secondary_status: ad_secondary_status(campaign).to_owned(),
                        objective_type: None,
                        budget_mode: None,
                        budget_minor: None,
                        creative_id: ad.creative_id().map(str::to_owned),
                        ad_text: Some(ad.ad_text.clone()),
                        ad_format: Some(ad.ad_format.to_owned()),
                        landing_page_url: Some(ad.landing_page_url.clone()),
                    }));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    const TODAY: &str = "2025-06-30";

    #[test]
    fn advertisers_are_deterministic_and_well_formed() {
        for id in ["1", "123", "7012345678901234567"] {
            let advertiser = advertiser(id).unwrap();
            assert_eq!(advertiser, super::advertiser(id).unwrap());
            assert!((2..=5).contains(&advertiser.campaigns.len()));
            let mut ids = Vec::new();
            for campaign in &advertiser.campaigns {
                ids.push(campaign.id.parse::<u64>().unwrap());
                for adgroup in &campaign.adgroups {
                    ids.push(adgroup.id.parse::<u64>().unwrap());
                    ids.extend(adgroup.ads.iter().map(|ad| ad.id.parse::<u64>().unwrap()));
                }
            }
            assert!(ids.iter().all(|id| id.to_string().len() == 19));
            assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ids ascend");
            assert!(advertiser.campaigns[0].objective.tracks_conversions());
            assert!(!advertiser.campaigns[1].objective.tracks_conversions());
        }
        assert!(advertiser("x1").is_none());
    }

    #[test]
    fn the_no_delivery_advertiser_has_no_rows_and_no_entities() {
        let advertiser = advertiser(NO_DELIVERY_ADVERTISER_ID).unwrap();
        assert!(advertiser.campaigns.is_empty());
        let rows = report_truth(
            NO_DELIVERY_ADVERTISER_ID,
            Level::Advertiser,
            &[],
            date("2025-06-01"),
            date(TODAY),
            date(TODAY),
        );
        assert!(rows.is_empty());
        assert!(entities_truth(NO_DELIVERY_ADVERTISER_ID, Level::Ad).is_empty());
    }

    #[test]
    fn levels_agree_and_breakdowns_sum_to_the_basic_rows() {
        let today = date(TODAY);
        let since = date("2025-06-10");
        let total = |level, breakdowns: &[Breakdown]| {
            report_truth("4242", level, breakdowns, since, today, today)
                .iter()
                .fold((0, 0, 0, 0, 0), |acc, row| {
                    (
                        acc.0 + row.impressions,
                        acc.1 + row.clicks,
                        acc.2 + row.reach,
                        acc.3 + row.spend_minor,
                        acc.4 + row.conversion.unwrap_or(0),
                    )
                })
        };
        let basic = total(Level::Advertiser, &[]);
        assert!(basic.0 > 0);
        for level in [Level::Campaign, Level::AdGroup, Level::Ad] {
            assert_eq!(total(level, &[]), basic, "{level}");
        }
        for breakdowns in [
            &[Breakdown::Age][..],
            &[Breakdown::Age, Breakdown::Gender],
            &[Breakdown::CountryCode, Breakdown::Platform],
        ] {
            assert_eq!(total(Level::Ad, breakdowns), basic, "{breakdowns:?}");
            assert_eq!(
                total(Level::Advertiser, breakdowns),
                basic,
                "{breakdowns:?}"
            );
        }
    }

    #[test]
    fn segments_respect_the_metric_invariants() {
        let today = date(TODAY);
        let rows = report_truth(
            "99",
            Level::Ad,
            &[Breakdown::Gender, Breakdown::Age],
            date("2025-06-20"),
            today,
            today,
        );
        assert!(!rows.is_empty());
        for row in &rows {
            assert!(row.impressions > 0);
            assert!(row.clicks <= row.impressions && row.reach <= row.impressions);
            assert_eq!(row.segment.len(), 2);
        }
    }

    #[test]
    fn conversions_are_restated_for_seven_days_and_untracked_ones_stay_unknown() {
        let day = date("2025-06-20");
        let tracked = |age| {
            (0..200)
                .filter_map(|ad| {
                    ad_day_metrics("5", Currency::Usd, &ad.to_string(), day, age, true)
                })
                .map(|metrics| metrics.conversion.unwrap())
                .sum::<u64>()
        };
        assert!(tracked(0) < tracked(3));
        assert!(tracked(3) < tracked(7));
        assert_eq!(tracked(7), tracked(30));
        let untracked = ad_day_metrics("5", Currency::Usd, "1", day, 0, false)
            .or_else(|| ad_day_metrics("5", Currency::Usd, "2", day, 0, false))
            .unwrap();
        assert_eq!(untracked.conversion, None);
    }

    #[test]
    fn no_rows_after_today_or_outside_a_campaigns_schedule() {
        let today = date(TODAY);
        let advertiser = advertiser("555").unwrap();
        let rows = rows(
            &advertiser,
            Level::Campaign,
            &[],
            date("2025-01-01"),
            date("2025-12-31"),
            today,
        );
        assert!(rows.iter().all(|row| row.date <= today));
        for campaign in &advertiser.campaigns {
            assert!(
                rows.iter()
                    .filter(|row| row.campaign_id.as_deref() == Some(campaign.id.as_str()))
                    .all(|row| campaign.delivers_on(row.date))
            );
        }
    }

    #[test]
    fn splits_are_exact_and_bounded() {
        assert_eq!(split(10, &[1, 1, 1]), vec![3, 3, 4]);
        assert_eq!(split(0, &[1, 2]), vec![0, 0]);
        assert_eq!(split(5, &[0, 0]), vec![0, 0]);
        let impressions = split(3, &[1, 1, 1]);
        let clicks = split(2, &impressions);
        assert!(clicks.iter().zip(&impressions).all(|(c, i)| c <= i));
        assert_eq!(clicks.iter().sum::<u64>(), 2);
    }

    #[test]
    fn money_has_the_currencys_decimals() {
        assert_eq!(money(126_580, 2), "1265.80");
        assert_eq!(money(7, 2), "0.07");
        assert_eq!(money(0, 2), "0.00");
        assert_eq!(money(1_234, 0), "1234");
    }

    #[test]
    fn the_reachable_advertisers_differ_in_currency_and_time_zone() {
        let reachable = reachable_advertisers();
        assert_eq!(reachable.len(), REACHABLE_ADVERTISER_IDS.len());
        let currencies: std::collections::HashSet<_> =
            reachable.iter().map(|a| a.currency).collect();
        assert_eq!(currencies.len(), reachable.len());
        assert!(reachable.iter().all(|a| a.time_zone != Tz::UTC));
        assert!(reachable.iter().any(|a| !a.name.is_ascii()));
    }
}
