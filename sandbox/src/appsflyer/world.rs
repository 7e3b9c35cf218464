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

use chrono::{Datelike, Days, NaiveDate, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::vocabulary::*;
use crate::facts::{AccountSummary, Additive as _, CampaignStart, Currency, day_number};
use crate::restatement::restated;
use crate::rng::Seed;
use crate::state::AccountTimeZone;

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

/// Whether a well-formed app id is one the sandbox knows.
pub(super) fn exists(id: &str) -> bool {
    match id.strip_prefix("id") {
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => !digits.starts_with('0'),
        _ => id.rsplit('.').next() != Some("unknown"),
    }
}

/// Whether the app ever has data (see [`NO_DELIVERY_APP_ID`]).
pub fn has_delivery(id: &str) -> bool {
    id.rsplit('.').next() != Some("empty")
}

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
    let currency = seed.with_u64(2).pick(CURRENCIES)?;
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
pub(super) fn pick_countries(seed: Seed, count: u64) -> Vec<&'static str> {
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

impl Numbers {
    pub(super) fn add(&mut self, other: &Numbers) {
        self.impressions = self.impressions.plus(other.impressions);
        self.clicks = self.clicks.plus(other.clicks);
        self.installs += other.installs;
        self.sessions += other.sessions;
        self.loyal_users += other.loyal_users;
        self.revenue_minor += other.revenue_minor;
        self.cost_minor = self.cost_minor.plus(other.cost_minor);
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
    pub(super) fn restated(&self, age_days: i64) -> Numbers {
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
pub(super) const fn weekday_factor(weekday: Weekday) -> u64 {
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
    let money = |usd_cents: u64| usd_cents * per_hundred_cents(currency) / 100;

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

/// The `n`th of a range of accounts with delivery, for benchmarks and tests that need many.
pub fn numbered_account(n: usize) -> Option<AccountSummary> {
    app(&format!("com.bench.app{n}")).map(|facts| AccountSummary {
        id: facts.id,
        time_zone: facts.time_zone,
        currency: facts.currency.code().to_owned(),
    })
}
