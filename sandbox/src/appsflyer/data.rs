//! Deterministic AppsFlyer apps and their attribution data.
//!
//! Every well-formed app id exists, except iOS ids whose digits start with `0` and Android
//! packages whose last segment is `unknown` (those answer 404, as an app the token does not
//! reach). An app whose package's last segment is `empty` (e.g. [`NO_DELIVERY_APP_ID`]) exists
//! but never has any data. Everything else about an app (name, time zone, currency, media
//! sources and campaigns) comes from a stable hash of its id.
//!
//! Numbers are generated per (app, campaign, install date, country) and summed up, so the
//! partners, geo and daily reports agree with each other. Aggregate reports are LTV cohorts
//! keyed by install date: the cohort numbers (sessions, loyal users, revenue, in-app events)
//! of a date keep growing until [`COHORT_HORIZON_DAYS`] after it, installs and cost settle
//! after [`INSTALL_HORIZON_DAYS`]; impressions and clicks are final at once.

use std::fmt;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::decimal;
use crate::restatement::restated;
use crate::rng::Seed;
use crate::state::AccountTimeZone;

/// An app that exists and never has data.
pub const NO_DELIVERY_APP_ID: &str = "com.adsync.empty";

/// An app id that is well formed but unknown (404).
pub const UNKNOWN_APP_ID: &str = "com.adsync.unknown";

/// The apps the management API lists for every token, in this order.
pub const LISTED_APP_IDS: &[&str] = &[
    "id1234567890",
    "com.adsync.puzzle",
    "com.adsync.cafe",
    "id987654321",
    "jp.adsync.nikki",
    "com.adsync.runner",
    NO_DELIVERY_APP_ID,
];

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

/// The currencies sandbox apps report revenue and cost in.
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
    /// Brazilian real.
    #[serde(rename = "BRL")]
    Brl,
}

impl Currency {
    /// Every currency, in the order the hash picks from (dollars twice: most apps use them).
    const PICK: &'static [Currency] = &[
        Currency::Usd,
        Currency::Usd,
        Currency::Eur,
        Currency::Gbp,
        Currency::Jpy,
        Currency::Brl,
    ];

    /// The ISO 4217 code.
    pub const fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
            Currency::Jpy => "JPY",
            Currency::Brl => "BRL",
        }
    }

    /// Decimal places of the minor unit.
    pub const fn decimals(self) -> u32 {
        match self {
            Currency::Jpy => 0,
            _ => 2,
        }
    }

    /// Minor units worth 100 US cents, roughly.
    const fn per_hundred_cents(self) -> u64 {
        match self {
            Currency::Usd => 100,
            Currency::Eur => 92,
            Currency::Gbp => 79,
            Currency::Jpy => 150,
            Currency::Brl => 540,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
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

/// Everything fixed about one sandbox app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppFacts {
    /// The app id (`id123…` or a package name).
    pub id: String,
    /// Display name, sometimes with non-ASCII characters.
    pub name: String,
    /// The store.
    pub platform: AppPlatform,
    /// The app's time zone setting; report days are days in this zone.
    pub time_zone: Tz,
    /// The app's currency setting; revenue and cost are in it.
    pub currency: Currency,
    /// Whether retargeting is enabled (the app has retargeting campaigns).
    pub retargeting: bool,
    /// The media source and campaign rows the reports group by, organic first.
    pub campaigns: Vec<CampaignFacts>,
}

impl AccountTimeZone for AppFacts {
    fn account_time_zone(&self) -> Tz {
        self.time_zone
    }
}

/// One (agency, media source, campaign) group of an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignFacts {
    /// `Agency/PMD (af_prt)`, when an agency runs the campaign.
    pub agency: Option<String>,
    /// `Media Source (pid)`.
    pub media_source: String,
    /// `Campaign (c)`; `None` for organic installs.
    pub campaign: Option<String>,
    /// A retargeting campaign (reported with `reattr=true` only).
    pub retargeting: bool,
    /// Whether the network reports impressions and clicks.
    pub reports_impressions: bool,
    /// Whether the network has a cost integration.
    pub reports_cost: bool,
    /// When the campaign started delivering.
    pub start: CampaignStart,
    /// The countries (ISO 3166-1 alpha-2) it delivers in.
    pub countries: Vec<&'static str>,
}

impl CampaignFacts {
    /// Whether this is the organic row.
    pub fn is_organic(&self) -> bool {
        self.campaign.is_none()
    }
}

/// When a campaign started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignStart {
    /// A fixed date, long ago.
    On(NaiveDate),
    /// A recent start that stays this many days before the app's today.
    DaysBeforeToday(u32),
}

impl CampaignStart {
    /// The start date, given the app's today.
    pub fn date(self, today: NaiveDate) -> NaiveDate {
        match self {
            CampaignStart::On(date) => date,
            CampaignStart::DaysBeforeToday(days) => today
                .checked_sub_days(Days::new(u64::from(days)))
                .unwrap_or(NaiveDate::MIN),
        }
    }
}

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

/// Whether a well-formed app id is one the sandbox knows.
fn exists(id: &str) -> bool {
    match id.strip_prefix("id") {
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => !digits.starts_with('0'),
        _ => id.rsplit('.').next() != Some("unknown"),
    }
}

/// Whether the app ever has data (see [`NO_DELIVERY_APP_ID`]).
pub fn has_delivery(id: &str) -> bool {
    id.rsplit('.').next() != Some("empty")
}

const APP_NAMES: &[&str] = &[
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
const MEDIA_SOURCES: &[(&str, bool, bool)] = &[
    ("googleadwords_int", true, true),
    ("Facebook Ads", true, true),
    ("bytedanceglobal_int", true, true),
    ("snapchat_int", true, true),
    ("unityads_int", true, true),
    ("applovin_int", true, true),
    ("mintegral_int", true, false),
    ("affiliate_partner", false, false),
];

const CAMPAIGN_THEMES: &[&str] = &[
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

const AGENCIES: &[&str] = &["mobupps", "Agentur Zürich"];

const COUNTRIES: &[&str] = &["US", "GB", "DE", "FR", "JP", "BR", "IN", "CA", "AU", "KR"];

/// The app facts for `app_id`, or `None` if it is malformed or unknown.
pub fn app(app_id: &str) -> Option<AppFacts> {
    if !is_valid_account_id(app_id) || !exists(app_id) {
        return None;
    }
    let seed = Seed::new("appsflyer/app").with_str(app_id);
    let platform = if app_id.starts_with("id") && !app_id.contains('.') {
        AppPlatform::Ios
    } else {
        AppPlatform::Android
    };
    let time_zone = seed.with_u64(1).pick(TIME_ZONES)?;
    let currency = seed.with_u64(2).pick(Currency::PICK)?;
    let name = seed.with_u64(3).pick(APP_NAMES)?.to_owned();
    let retargeting = seed.with_u64(4).below(3) != 0;
    let paid = seed.with_u64(5).between(3, 6);

    let mut campaigns = vec![CampaignFacts {
        agency: None,
        media_source: ORGANIC.to_owned(),
        campaign: None,
        retargeting: false,
        reports_impressions: false,
        reports_cost: false,
        start: CampaignStart::On(NaiveDate::from_ymd_opt(2022, 1, 1).unwrap_or(NaiveDate::MIN)),
        countries: pick_countries(seed.with_u64(6), 4),
    }];
    for c in 1..=paid {
        let cs = seed.with_u64(100 + c);
        let (pid, impressions, cost) = match (platform, cs.with_u64(1).below(10)) {
            // iOS apps buy Apple Search Ads too.
            (AppPlatform::Ios, 0 | 1) => ("Apple Search Ads", true, true),
            _ => cs.with_u64(2).pick(MEDIA_SOURCES)?,
        };
        let theme = cs.with_u64(3).pick(CAMPAIGN_THEMES)?;
        let agency = (cs.with_u64(4).below(5) == 0)
            .then(|| cs.with_u64(5).pick(AGENCIES).map(str::to_owned))
            .flatten();
        // The first paid campaign is always old and the second always recent.
        let recent = match c {
            1 => false,
            2 => true,
            _ => cs.with_u64(6).below(2) == 0,
        };
        let start = if recent {
            CampaignStart::DaysBeforeToday(
                u32::try_from(cs.with_u64(7).between(3, 40)).unwrap_or(10),
            )
        } else {
            let epoch = NaiveDate::from_ymd_opt(2023, 6, 1).unwrap_or(NaiveDate::MIN);
            CampaignStart::On(
                epoch
                    .checked_add_days(Days::new(cs.with_u64(8).below(500)))
                    .unwrap_or(epoch),
            )
        };
        campaigns.push(CampaignFacts {
            agency,
            media_source: pid.to_owned(),
            campaign: Some(format!("{theme} {c:02}")),
            // The last paid campaign of an app with retargeting re-engages users.
            retargeting: retargeting && c == paid,
            reports_impressions: impressions,
            reports_cost: cost,
            start,
            countries: pick_countries(cs.with_u64(9), cs.with_u64(10).between(1, 3)),
        });
    }
    Some(AppFacts {
        id: app_id.to_owned(),
        name,
        platform,
        time_zone,
        currency,
        retargeting,
        campaigns,
    })
}

/// `count` distinct countries, in the order of [`COUNTRIES`].
fn pick_countries(seed: Seed, count: u64) -> Vec<&'static str> {
    let offset = seed.below(COUNTRIES.len() as u64);
    let mut picked: Vec<&'static str> = (0..count)
        .filter_map(|i| {
            let index = usize::try_from((offset + i * 3) % COUNTRIES.len() as u64).ok()?;
            COUNTRIES.get(index).copied()
        })
        .collect();
    picked.sort_by_key(|country| COUNTRIES.iter().position(|c| c == country));
    picked.dedup();
    picked
}

/// The numbers of one row, final or as reported on a day. Money in the currency's minor units;
/// `None` where the network does not report the number.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Numbers {
    /// `Impressions`.
    pub impressions: Option<u64>,
    /// `Clicks`.
    pub clicks: Option<u64>,
    /// `Installs`.
    pub installs: u64,
    /// `Sessions`.
    pub sessions: u64,
    /// `Loyal Users`.
    pub loyal_users: u64,
    /// `Total Revenue`, minor units.
    pub revenue_minor: u64,
    /// `Total Cost`, minor units.
    pub cost_minor: Option<u64>,
    /// Per event in [`EVENTS`] order: (unique users, event counter, sales in minor units).
    pub events: Vec<(u64, u64, u64)>,
}

fn add_option(total: &mut Option<u64>, value: Option<u64>) {
    if let Some(value) = value {
        *total = Some(total.unwrap_or(0) + value);
    }
}

impl Numbers {
    fn add(&mut self, other: &Numbers) {
        add_option(&mut self.impressions, other.impressions);
        add_option(&mut self.clicks, other.clicks);
        self.installs += other.installs;
        self.sessions += other.sessions;
        self.loyal_users += other.loyal_users;
        self.revenue_minor += other.revenue_minor;
        add_option(&mut self.cost_minor, other.cost_minor);
        if self.events.len() < other.events.len() {
            self.events.resize(other.events.len(), (0, 0, 0));
        }
        for (total, event) in self.events.iter_mut().zip(&other.events) {
            total.0 += event.0;
            total.1 += event.1;
            total.2 += event.2;
        }
    }

    /// The numbers as reported `age_days` after the install date.
    fn restated(&self, age_days: i64) -> Numbers {
        let install = |value| restated(value, age_days, INSTALL_HORIZON_DAYS);
        let cohort = |value| restated(value, age_days, COHORT_HORIZON_DAYS);
        Numbers {
            impressions: self.impressions,
            clicks: self.clicks,
            installs: install(self.installs),
            sessions: cohort(self.sessions),
            loyal_users: cohort(self.loyal_users),
            revenue_minor: cohort(self.revenue_minor),
            cost_minor: self.cost_minor.map(install),
            events: self
                .events
                .iter()
                .map(|(users, count, sales)| (cohort(*users), cohort(*count), cohort(*sales)))
                .collect(),
        }
    }
}

/// Delivery factor per day of week, per mille.
const fn weekday_factor(weekday: Weekday) -> u64 {
    match weekday {
        Weekday::Mon => 980,
        Weekday::Tue => 960,
        Weekday::Wed => 1_000,
        Weekday::Thu => 1_010,
        Weekday::Fri => 1_060,
        Weekday::Sat => 1_150,
        Weekday::Sun => 1_140,
    }
}

fn day_number(date: NaiveDate) -> u64 {
    u64::try_from(date.num_days_from_ce()).unwrap_or(0)
}

/// The final numbers of one campaign in one country on one install date, or `None` without
/// activity. Does not know about start dates or today; callers check those.
pub fn cell_numbers(
    app: &AppFacts,
    index: usize,
    date: NaiveDate,
    country: &str,
) -> Option<Numbers> {
    let campaign = app.campaigns.get(index)?;
    let base = Seed::new("appsflyer/campaign")
        .with_str(&app.id)
        .with_u64(index as u64)
        .with_str(country);
    let day = Seed::new("appsflyer/campaign_day")
        .with_str(&app.id)
        .with_u64(index as u64)
        .with_str(country)
        .with_u64(day_number(date));
    // About one campaign-country-day in eight has no activity at all.
    if day.with_u64(0).below(100) < 12 {
        return None;
    }
    let weekday = weekday_factor(date.weekday());
    let jitter = day.with_u64(1).between(700, 1_300);
    let scale = |value: u64| value * weekday * jitter / 1_000_000;
    let currency = app.currency;
    // US cents in the app currency's minor unit (yen have none: a dollar is about 150 yen).
    let money = |usd_cents: u64| usd_cents * currency.per_hundred_cents() / 100;

    let (impressions, clicks, installs) = if campaign.is_organic() {
        let installs = scale(base.with_u64(1).between(40, 900));
        (None, None, installs)
    } else {
        let impressions = scale(base.with_u64(2).between(2_000, 80_000));
        // Click-through rate in units of 1/10 000 (0.5 % to 4 %).
        let clicks = impressions * base.with_u64(3).between(50, 400) / 10_000;
        // Install rate per click in units of 1/10 000 (3 % to 30 %).
        let installs = clicks * base.with_u64(4).between(300, 3_000) / 10_000;
        (Some(impressions), Some(clicks), installs)
    };
    let cost_minor = (!campaign.is_organic() && campaign.reports_cost).then(|| {
        // Cost per thousand impressions of $2 to $15.
        let cpm_cents =
            base.with_u64(5).between(200, 1_500) * day.with_u64(2).between(850, 1_150) / 1_000;
        money(impressions.unwrap_or(0) * cpm_cents / 1_000)
    });
    if impressions == Some(0) || (impressions.is_none() && installs == 0) {
        return None;
    }
    let sessions = installs * day.with_u64(3).between(200, 600) / 100;
    let loyal_users = installs * day.with_u64(4).between(20, 60) / 100;
    let payers = installs * day.with_u64(5).between(1, 9) / 100;
    let purchases = payers * day.with_u64(6).between(100, 300) / 100;
    let price_cents = base.with_u64(6).between(99, 2_999);
    let sales_minor = money(purchases * price_cents);
    let registrants = installs * day.with_u64(7).between(30, 70) / 100;
    Some(Numbers {
        impressions: if campaign.reports_impressions {
            impressions
        } else {
            None
        },
        clicks: if campaign.reports_impressions {
            clicks
        } else {
            None
        },
        installs,
        sessions,
        loyal_users,
        revenue_minor: sales_minor,
        cost_minor,
        events: vec![
            (payers, purchases, sales_minor),
            (registrants, registrants, 0),
        ],
    })
}

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

/// What a report is asked for, besides the app and the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// First install date.
    pub from: NaiveDate,
    /// Last install date (inclusive).
    pub to: NaiveDate,
    /// Retargeting (`reattr=true`) instead of user acquisition.
    pub reattr: bool,
    /// Only this media source (`media_source`), compared case-insensitively.
    pub media_source: Option<String>,
}

impl Selection {
    /// User acquisition data of every media source from `from` to `to`.
    pub fn range(from: NaiveDate, to: NaiveDate) -> Self {
        Self {
            from,
            to,
            reattr: false,
            media_source: None,
        }
    }
}

/// One report row as the platform knows it: its grouping and the numbers as reported today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    /// The install date; `None` in reports over the whole range.
    pub date: Option<NaiveDate>,
    /// The country, in geo reports.
    pub country: Option<String>,
    /// `Agency/PMD (af_prt)`.
    pub agency: Option<String>,
    /// `Media Source (pid)`.
    pub media_source: String,
    /// `Campaign (c)`; `None` for organic.
    pub campaign: Option<String>,
    /// The numbers as reported on the app's today.
    pub numbers: Numbers,
}

/// The rows of `report` for `app` as the API serves them on the app's `today`: ordered by date,
/// then country, then campaign as [`AppFacts::campaigns`] lists them; dates after `today`
/// have no rows, and groups without activity are left out.
pub fn report_rows(
    app: &AppFacts,
    report: Report,
    selection: &Selection,
    today: NaiveDate,
) -> Vec<ReportRow> {
    if !has_delivery(&app.id) {
        return Vec::new();
    }
    let last = selection.to.min(today);
    let dates: Vec<NaiveDate> = selection
        .from
        .iter_days()
        .take_while(|date| *date <= last)
        .collect();
    let campaigns: Vec<(usize, &CampaignFacts)> = app
        .campaigns
        .iter()
        .enumerate()
        .filter(|(_, campaign)| campaign.retargeting == selection.reattr)
        .filter(|(_, campaign)| {
            selection
                .media_source
                .as_deref()
                .is_none_or(|wanted| wanted.eq_ignore_ascii_case(&campaign.media_source))
        })
        .collect();
    let countries: Vec<&str> = {
        let mut all: Vec<&str> = campaigns
            .iter()
            .flat_map(|(_, campaign)| campaign.countries.iter().copied())
            .collect();
        all.sort_by_key(|country| COUNTRIES.iter().position(|c| c == country));
        all.dedup();
        all
    };
    // The numbers of one campaign on one date, in one country or all of them.
    let cell = |index: usize, campaign: &CampaignFacts, date: NaiveDate, country: Option<&str>| {
        if date < campaign.start.date(today) {
            return None;
        }
        let age = (today - date).num_days();
        let mut total: Option<Numbers> = None;
        for c in &campaign.countries {
            if country.is_some_and(|wanted| wanted != *c) {
                continue;
            }
            if let Some(numbers) = cell_numbers(app, index, date, c) {
                total
                    .get_or_insert_with(Numbers::default)
                    .add(&numbers.restated(age));
            }
        }
        total
    };
    let row = |date, country: Option<&str>, campaign: &CampaignFacts, numbers| ReportRow {
        date,
        country: country.map(str::to_owned),
        agency: campaign.agency.clone(),
        media_source: campaign.media_source.clone(),
        campaign: campaign.campaign.clone(),
        numbers,
    };
    let geo_keys: Vec<Option<&str>> = if report.geo() {
        countries.iter().map(|c| Some(*c)).collect()
    } else {
        vec![None]
    };
    let mut rows = Vec::new();
    if report.dated() {
        for date in &dates {
            for country in &geo_keys {
                for (index, campaign) in &campaigns {
                    if let Some(numbers) = cell(*index, campaign, *date, *country) {
                        rows.push(row(Some(*date), *country, campaign, numbers));
                    }
                }
            }
        }
    } else {
        for country in &geo_keys {
            for (index, campaign) in &campaigns {
                let mut total: Option<Numbers> = None;
                for date in &dates {
                    if let Some(numbers) = cell(*index, campaign, *date, *country) {
                        total.get_or_insert_with(Numbers::default).add(&numbers);
                    }
                }
                if let Some(numbers) = total {
                    rows.push(row(None, *country, campaign, numbers));
                }
            }
        }
    }
    rows
}

/// The rows of `report` for the app `app_id` (none for an unknown app).
pub fn report_truth(
    app_id: &str,
    report: Report,
    selection: &Selection,
    today: NaiveDate,
) -> Vec<ReportRow> {
    match app(app_id) {
        Some(app) => report_rows(&app, report, selection, today),
        None => Vec::new(),
    }
}

/// A ratio as AppsFlyer renders it (at most four decimals), or `N/A` without a denominator.
pub(crate) fn ratio_text(numerator: u64, denominator: u64) -> String {
    decimal::ratio(u128::from(numerator), u128::from(denominator), 4)
        .unwrap_or_else(|| "N/A".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn app_ids_follow_appsflyers_shapes() {
        for id in ["id1", "id123456789012345", "com.example.app", "jp.co.app_1"] {
            assert!(is_valid_account_id(id), "{id}");
        }
        for id in [
            "",
            "id",
            "id12a",
            "id1234567890123456",
            "com",
            "com.1app",
            "com..app",
            "com.exa-mple",
        ] {
            assert!(!is_valid_account_id(id), "{id}");
        }
    }

    #[test]
    fn apps_are_deterministic_and_some_are_unknown() {
        let first = app("com.example.app").unwrap();
        assert_eq!(first, app("com.example.app").unwrap());
        assert_eq!(first.platform, AppPlatform::Android);
        assert_eq!(app("id42").unwrap().platform, AppPlatform::Ios);
        assert!(app(UNKNOWN_APP_ID).is_none());
        assert!(app("id0123").is_none());
        assert!(app("not an id").is_none());
        assert!(first.campaigns[0].is_organic());
        assert!(first.campaigns.len() >= 4);
    }

    #[test]
    fn listed_apps_cover_currencies_time_zones_and_names_that_need_care() {
        let apps: Vec<AppFacts> = LISTED_APP_IDS.iter().map(|id| app(id).unwrap()).collect();
        assert!(apps.iter().any(|a| a.currency != Currency::Usd));
        assert!(apps.iter().any(|a| a.currency.decimals() == 0));
        assert!(apps.iter().any(|a| a.time_zone != Tz::UTC));
        assert!(
            apps.iter()
                .any(|a| !a.name.is_ascii() && has_delivery(&a.id))
        );
        let mut names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert!(names.len() >= 5, "{names:?}");
        assert!(apps.iter().any(|a| a.platform == AppPlatform::Ios));
        let names: Vec<&str> = apps
            .iter()
            .flat_map(|a| a.campaigns.iter().filter_map(|c| c.campaign.as_deref()))
            .collect();
        assert!(names.iter().any(|n| n.contains(',')));
        assert!(names.iter().any(|n| !n.is_ascii()));
    }

    #[test]
    fn the_empty_app_exists_without_rows() {
        let empty = app(NO_DELIVERY_APP_ID).unwrap();
        let today = date("2025-06-30");
        let rows = report_rows(
            &empty,
            Report::PartnersByDateReport,
            &Selection::range(date("2025-06-01"), today),
            today,
        );
        assert!(rows.is_empty());
    }

    #[test]
    fn geo_rows_sum_to_partner_rows_and_partner_rows_to_totals() {
        let app = app("com.adsync.puzzle").unwrap();
        let today = date("2025-06-30");
        let selection = Selection::range(date("2025-06-10"), today);
        let partners = report_rows(&app, Report::PartnersByDateReport, &selection, today);
        let geo = report_rows(&app, Report::GeoByDateReport, &selection, today);
        let totals = report_rows(&app, Report::PartnersReport, &selection, today);
        assert!(!partners.is_empty());
        let sum = |rows: &[ReportRow]| {
            rows.iter().fold(Numbers::default(), |mut total, row| {
                total.add(&row.numbers);
                total
            })
        };
        assert_eq!(sum(&partners), sum(&geo));
        assert_eq!(sum(&partners), sum(&totals));
    }

    #[test]
    fn cohort_numbers_grow_until_the_horizon_then_stay() {
        let app = app("com.adsync.cafe").unwrap();
        let day = date("2025-06-20");
        let seen: Vec<(u64, u64, u64)> = (0..10)
            .map(|age| {
                let today = day.checked_add_days(Days::new(age)).unwrap();
                let rows = report_rows(
                    &app,
                    Report::PartnersByDateReport,
                    &Selection::range(day, day),
                    today,
                );
                rows.iter().fold((0, 0, 0), |acc, row| {
                    (
                        acc.0 + row.numbers.installs,
                        acc.1 + row.numbers.revenue_minor,
                        acc.2 + row.numbers.impressions.unwrap_or(0),
                    )
                })
            })
            .collect();
        assert!(seen[0].1 < seen[3].1, "revenue grows: {seen:?}");
        assert!(seen[0].0 < seen[2].0, "installs settle: {seen:?}");
        assert_eq!(seen[7], seen[9]);
        assert!(seen.iter().all(|s| s.2 == seen[0].2), "impressions final");
    }

    #[test]
    fn no_rows_after_today_or_before_a_campaign_starts() {
        let app = app("id1234567890").unwrap();
        let today = date("2025-06-30");
        let rows = report_rows(
            &app,
            Report::PartnersByDateReport,
            &Selection::range(date("2025-01-01"), date("2025-12-31")),
            today,
        );
        assert!(rows.iter().all(|row| row.date.unwrap() <= today));
        let recent = &app.campaigns[2];
        assert!(
            rows.iter()
                .filter(|row| row.campaign == recent.campaign)
                .all(|row| row.date.unwrap() >= recent.start.date(today))
        );
    }

    #[test]
    fn retargeting_and_media_source_select_campaigns() {
        let app = LISTED_APP_IDS
            .iter()
            .filter_map(|id| app(id))
            .find(|app| app.retargeting)
            .unwrap();
        let today = date("2025-06-30");
        let mut selection = Selection::range(date("2025-06-01"), today);
        selection.reattr = true;
        let rows = report_rows(&app, Report::PartnersByDateReport, &selection, today);
        let retargeting = app.campaigns.iter().find(|c| c.retargeting).unwrap();
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|row| row.campaign == retargeting.campaign));
        selection.reattr = false;
        selection.media_source = Some(ORGANIC.to_lowercase());
        let rows = report_rows(&app, Report::PartnersByDateReport, &selection, today);
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|row| row.media_source == ORGANIC));
    }
}
