//! The truth of AppsFlyer's world: the rows its endpoints answer, computed straight from the
//! generated world (`world`), which tests compare what a client synced with.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::vocabulary::*;
use super::world::*;
use crate::decimal;

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
    use crate::facts::Currency;
    use chrono::Days;
    use chrono_tz::Tz;

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
