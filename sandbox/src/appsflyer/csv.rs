//! The aggregate reports' CSV: a header row of AppsFlyer's human-readable column names, then one
//! line per row. Missing values are written the ways AppsFlyer writes them (`N/A`, `NULL` or an
//! empty field); fields with commas, quotes, line breaks or non-ASCII characters are quoted.

use super::truth::{ReportRow, ratio_text};
use super::vocabulary::EVENTS;
use super::vocabulary::Report;
use super::world::Numbers;
use crate::decimal;
use crate::facts::Currency;

/// `Date`.
pub(crate) const DATE: &str = "Date";
/// `Country` (geo reports).
pub(crate) const COUNTRY: &str = "Country";
/// The column a malformed answer breaks: a value that is not a number, or the column left out
/// of a report without rows.
pub(crate) const MALFORMED_COLUMN: &str = "Total Cost";

/// The columns after the grouping columns, in AppsFlyer's order.
const METRIC_COLUMNS: &[&str] = &[
    "Impressions",
    "Clicks",
    "CTR",
    "Installs",
    "Conversion Rate",
    "Sessions",
    "Loyal Users",
    "Loyal Users/Installs",
    "Total Revenue",
    "Total Cost",
    "ROI",
    "ARPU",
    "Average eCPI",
];

/// The header of `report`.
pub(crate) fn header(report: Report) -> Vec<String> {
    let mut columns = Vec::new();
    if report.dated() {
        columns.push(DATE.to_owned());
    }
    if report.geo() {
        columns.push(COUNTRY.to_owned());
    }
    columns.extend(
        ["Agency/PMD (af_prt)", "Media Source (pid)", "Campaign (c)"]
            .iter()
            .map(|c| (*c).to_owned()),
    );
    columns.extend(METRIC_COLUMNS.iter().map(|c| (*c).to_owned()));
    if report.events() {
        for event in EVENTS {
            columns.push(format!("{event} (Unique users)"));
            columns.push(format!("{event} (Event counter)"));
            columns.push(format!("{event} (Sales in USD)"));
        }
    }
    columns
}

fn money(minor: u64, currency: Currency) -> String {
    decimal::minor_units(minor, currency.decimals())
}

/// Money as a ratio (ARPU, eCPI): minor units over a count, in major units.
fn money_ratio(minor: u64, count: u64, currency: Currency) -> String {
    let unit = 10u128.pow(currency.decimals());
    decimal::ratio(u128::from(minor), u128::from(count) * unit, 4)
        .unwrap_or_else(|| "N/A".to_owned())
}

/// Return on investment, `(revenue - cost) / cost`, which can be negative.
fn roi(revenue: u64, cost: u64) -> String {
    if revenue >= cost {
        ratio_text(revenue - cost, cost)
    } else {
        let text = ratio_text(cost - revenue, cost);
        if text == "0" {
            text
        } else {
            format!("-{text}")
        }
    }
}

/// The values of one row, in [`header`] order.
pub(crate) fn values(report: Report, row: &ReportRow, currency: Currency) -> Vec<String> {
    let Numbers {
        impressions,
        clicks,
        installs,
        sessions,
        loyal_users,
        revenue_minor,
        cost_minor,
        events,
    } = &row.numbers;
    let mut values = Vec::new();
    if report.dated() {
        values.push(row.date.map(|d| d.to_string()).unwrap_or_default());
    }
    if report.geo() {
        values.push(row.country.clone().unwrap_or_default());
    }
    // AppsFlyer writes a missing agency as an empty field and an organic campaign as N/A.
    values.push(row.agency.clone().unwrap_or_default());
    values.push(row.media_source.clone());
    values.push(row.campaign.clone().unwrap_or_else(|| "N/A".to_owned()));
    let count = |value: Option<u64>| value.map_or_else(|| "N/A".to_owned(), |v| v.to_string());
    values.push(count(*impressions));
    values.push(count(*clicks));
    values.push(match (clicks, impressions) {
        (Some(clicks), Some(impressions)) => ratio_text(*clicks, *impressions),
        _ => "N/A".to_owned(),
    });
    values.push(installs.to_string());
    values.push(match clicks {
        Some(clicks) => ratio_text(*installs, *clicks),
        None => "N/A".to_owned(),
    });
    values.push(sessions.to_string());
    values.push(loyal_users.to_string());
    values.push(ratio_text(*loyal_users, *installs));
    values.push(money(*revenue_minor, currency));
    // Networks without a cost integration have NULL cost.
    match cost_minor {
        Some(cost) => {
            values.push(money(*cost, currency));
            values.push(roi(*revenue_minor, *cost));
        }
        None => {
            values.push("NULL".to_owned());
            values.push("NULL".to_owned());
        }
    }
    values.push(money_ratio(*revenue_minor, *installs, currency));
    values.push(match cost_minor {
        Some(cost) => money_ratio(*cost, *installs, currency),
        None => "NULL".to_owned(),
    });
    if report.events() {
        for index in 0..EVENTS.len() {
            let (users, counter, sales) = events.get(index).copied().unwrap_or_default();
            values.push(users.to_string());
            values.push(counter.to_string());
            values.push(money(sales, currency));
        }
    }
    values
}

/// Whether a field must be quoted.
fn needs_quotes(field: &str) -> bool {
    field
        .chars()
        .any(|c| matches!(c, ',' | '"' | '\r' | '\n') || !c.is_ascii())
        || field.starts_with(' ')
        || field.ends_with(' ')
}

/// Appends one CSV line.
fn push_line<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        let field = field.as_ref();
        if needs_quotes(field) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push('\n');
}

/// The CSV body of a report. With `malformed`, the first row's [`MALFORMED_COLUMN`] holds a
/// number with a thousands separator, or (without rows) the header lacks that column.
pub(crate) fn render(
    report: Report,
    rows: &[ReportRow],
    currency: Currency,
    malformed: bool,
) -> String {
    let mut header = header(report);
    let broken = header.iter().position(|c| c == MALFORMED_COLUMN);
    if malformed
        && rows.is_empty()
        && let Some(position) = broken
    {
        header.remove(position);
    }
    let mut out = String::new();
    push_line(&mut out, &header);
    for (index, row) in rows.iter().enumerate() {
        let mut fields = values(report, row, currency);
        if malformed
            && index == 0
            && let Some(field) = broken.and_then(|position| fields.get_mut(position))
        {
            *field = "1,234.56".to_owned();
        }
        push_line(&mut out, &fields);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(campaign: Option<&str>, numbers: Numbers) -> ReportRow {
        ReportRow {
            date: "2025-06-01".parse().ok(),
            country: None,
            agency: None,
            media_source: "Facebook Ads".into(),
            campaign: campaign.map(str::to_owned),
            numbers,
        }
    }

    #[test]
    fn names_that_need_it_are_quoted_and_quotes_doubled() {
        let mut out = String::new();
        push_line(&mut out, &["a", "b, c", "say \"hi\"", "Été", ""]);
        assert_eq!(out, "a,\"b, c\",\"say \"\"hi\"\"\",\"Été\",\n");
    }

    #[test]
    fn rows_render_counts_money_ratios_and_missing_values() {
        let numbers = Numbers {
            impressions: Some(1_000),
            clicks: Some(50),
            installs: 10,
            sessions: 30,
            loyal_users: 4,
            revenue_minor: 1_250,
            cost_minor: Some(2_500),
            events: vec![(2, 3, 1_250), (5, 5, 0)],
        };
        let paid = values(
            Report::PartnersByDateReport,
            &row(Some("Brand, Always-on 01"), numbers),
            Currency::Usd,
        );
        let header = header(Report::PartnersByDateReport);
        assert_eq!(paid.len(), header.len());
        let get = |name: &str| paid[header.iter().position(|h| h == name).unwrap()].clone();
        assert_eq!(get("Agency/PMD (af_prt)"), "");
        assert_eq!(get("CTR"), "0.05");
        assert_eq!(get("Total Revenue"), "12.5");
        assert_eq!(get("Total Cost"), "25");
        assert_eq!(get("ROI"), "-0.5");
        assert_eq!(get("Average eCPI"), "2.5");
        assert_eq!(get("af_purchase (Event counter)"), "3");
        let organic = values(
            Report::PartnersByDateReport,
            &row(None, Numbers::default()),
            Currency::Jpy,
        );
        let get = |name: &str| organic[header.iter().position(|h| h == name).unwrap()].clone();
        assert_eq!(get("Campaign (c)"), "N/A");
        assert_eq!(get("Impressions"), "N/A");
        assert_eq!(get("Total Cost"), "NULL");
        assert_eq!(get("ARPU"), "N/A");
    }

    #[test]
    fn malformed_bodies_break_the_cost_column() {
        let body = render(Report::DailyReport, &[], Currency::Usd, true);
        assert!(!body.contains(MALFORMED_COLUMN));
        let body = render(
            Report::DailyReport,
            &[row(Some("c"), Numbers::default())],
            Currency::Usd,
            true,
        );
        assert!(body.contains("\"1,234.56\""));
    }
}
