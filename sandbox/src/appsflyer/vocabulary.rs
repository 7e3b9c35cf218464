//! AppsFlyer's vocabulary in the sandbox: the words and constants its world is generated from
//! (levels, statuses, budgets, objectives, names, time zones, the currencies its accounts are
//! billed in, the ids with a fixed behaviour) and how long its numbers keep changing.

use std::fmt;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::facts::Currency;

/// An app that exists and never has data.
pub const NO_DELIVERY_APP_ID: &str = "com.adsync.empty";

/// An app id that is well formed but unknown (404).
pub const UNKNOWN_APP_ID: &str = "com.adsync.unknown";

/// Days after an install date at which installs and cost stop changing.
pub const INSTALL_HORIZON_DAYS: u32 = 2;

/// Days after an install date at which cohort numbers (revenue, events, sessions) stop growing.
pub const COHORT_HORIZON_DAYS: u32 = 7;

/// The in-app events every app reports, as the per-event column triplets name them.
pub const EVENTS: &[&str] = &["af_purchase", "af_complete_registration"];

/// The media source of organic installs.
pub const ORGANIC: &str = "Organic";

/// The store an app is published in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppPlatform {
    /// App Store: ids are `id` and digits.
    Ios,
    /// Google Play: ids are package names.
    Android,
}

impl AppPlatform {
    /// The name the management API uses.
    pub const fn as_str(self) -> &'static str {
        match self {
            AppPlatform::Ios => "ios",
            AppPlatform::Android => "android",
        }
    }
}

/// The currencies sandbox apps report revenue and cost in, in the order the hash picks from
/// (dollars twice: most apps use them).
pub(super) const CURRENCIES: &[Currency] = &[
    Currency::Usd,
    Currency::Usd,
    Currency::Eur,
    Currency::Gbp,
    Currency::Jpy,
    Currency::Brl,
];

/// Minor units of each currency worth 100 US cents, roughly.
const PER_HUNDRED_CENTS: &[(Currency, u64)] = &[
    (Currency::Usd, 100),
    (Currency::Eur, 92),
    (Currency::Gbp, 79),
    (Currency::Jpy, 150),
    (Currency::Brl, 540),
];

/// Minor units of `currency` (one of [`CURRENCIES`]) worth 100 US cents, roughly.
pub(super) fn per_hundred_cents(currency: Currency) -> u64 {
    PER_HUNDRED_CENTS
        .iter()
        .find(|(offered, _)| *offered == currency)
        .map_or(100, |(_, units)| *units)
}

/// The time zones sandbox apps report in.
pub const TIME_ZONES: &[Tz] = &[
    Tz::UTC,
    Tz::America__Los_Angeles,
    Tz::America__New_York,
    Tz::Europe__Berlin,
    Tz::Europe__London,
    Tz::Asia__Tokyo,
    Tz::America__Sao_Paulo,
    Tz::Australia__Sydney,
];

/// Whether `id` is shaped like an AppsFlyer app id: `id` and 1 to 15 digits (iOS), or a package
/// name of at least two dot-separated segments, each starting with a letter and made of letters,
/// digits and underscores (Android); at most 100 characters.
pub fn is_valid_account_id(id: &str) -> bool {
    if id.len() > 100 {
        return false;
    }
    let ios = id.strip_prefix("id").is_some_and(|digits| {
        (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    });
    let android = id.split('.').count() >= 2
        && id.split('.').all(|part| {
            part.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
    ios || android
}

pub(super) const APP_NAMES: &[&str] = &[
    "Puzzle Quest",
    "Café Finder",
    "日記アプリ",
    "Fitness “Pro”",
    "Runner, Endless",
    "Météo Locale",
    "Budget Buddy",
    "Sprachtrainer Plus",
];

/// Media sources of paid campaigns: the pid, whether it reports impressions and clicks, and
/// whether it has a cost integration.
pub(super) const MEDIA_SOURCES: &[(&str, bool, bool)] = &[
    ("googleadwords_int", true, true),
    ("Facebook Ads", true, true),
    ("bytedanceglobal_int", true, true),
    ("snapchat_int", true, true),
    ("unityads_int", true, true),
    ("applovin_int", true, true),
    ("mintegral_int", true, false),
    ("affiliate_partner", false, false),
];

pub(super) const CAMPAIGN_THEMES: &[&str] = &[
    "UA_US_Purchase",
    "Brand, Always-on",
    "Été 2025 – Relance",
    "Retarget \"Lapsed\" 30d",
    "新春キャンペーン",
    "tCPA | Android | DE",
    "Install_Broad",
    "Ürün Lansmanı",
    "AEO, Purchasers; tier-1",
];

pub(super) const AGENCIES: &[&str] = &["mobupps", "Agentur Zürich"];

pub(super) const COUNTRIES: &[&str] = &["US", "GB", "DE", "FR", "JP", "BR", "IN", "CA", "AU", "KR"];

/// The aggregate reports the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Report {
    /// Per date, agency, media source and campaign, with in-app events.
    PartnersByDateReport,
    /// Per date, country, agency, media source and campaign, with in-app events.
    GeoByDateReport,
    /// Per date, agency, media source and campaign, without in-app events.
    DailyReport,
    /// Per agency, media source and campaign over the whole range, with in-app events.
    PartnersReport,
    /// Per country, agency, media source and campaign over the whole range, with in-app events.
    GeoReport,
}

impl Report {
    /// Every report.
    pub const ALL: &'static [Report] = &[
        Report::PartnersByDateReport,
        Report::GeoByDateReport,
        Report::DailyReport,
        Report::PartnersReport,
        Report::GeoReport,
    ];

    /// The name in the path.
    pub const fn as_str(self) -> &'static str {
        match self {
            Report::PartnersByDateReport => "partners_by_date_report",
            Report::GeoByDateReport => "geo_by_date_report",
            Report::DailyReport => "daily_report",
            Report::PartnersReport => "partners_report",
            Report::GeoReport => "geo_report",
        }
    }

    /// The report named `name`.
    pub fn from_name(name: &str) -> Option<Report> {
        Report::ALL.iter().copied().find(|r| r.as_str() == name)
    }

    /// Whether rows are per date.
    pub const fn dated(self) -> bool {
        matches!(
            self,
            Report::PartnersByDateReport | Report::GeoByDateReport | Report::DailyReport
        )
    }

    /// Whether rows are per country.
    pub const fn geo(self) -> bool {
        matches!(self, Report::GeoByDateReport | Report::GeoReport)
    }

    /// Whether the per-event column triplets are included.
    pub const fn events(self) -> bool {
        !matches!(self, Report::DailyReport)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
