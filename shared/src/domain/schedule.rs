//! When a sync runs: a cron expression evaluated in an IANA time zone (DST included).

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use croner::Cron;

use super::InvalidField;

/// A parsed cron expression (5 fields, minute resolution) and the time zone it is read in.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    time_zone: Tz,
}

impl Schedule {
    pub fn parse(cron: &str, time_zone: &str) -> Result<Self, InvalidField> {
        let time_zone = parse_time_zone(time_zone, "time_zone")?;
        if cron.split_whitespace().count() != 5 {
            return Err(InvalidField::new(
                "cron",
                format!("{cron:?} must have 5 fields: minute hour day-of-month month day-of-week"),
            ));
        }
        let cron = Cron::from_str(cron).map_err(|error| {
            InvalidField::new("cron", format!("{cron:?} is not valid: {error}"))
        })?;
        Ok(Self { cron, time_zone })
    }

    /// The first run strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.time_zone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|next| next.with_timezone(&Utc))
    }

    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }
}

/// Every IANA time zone name [`parse_time_zone`] takes.
pub fn time_zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name())
}

/// Parses an IANA time zone name such as `Europe/Berlin`.
pub fn parse_time_zone(name: &str, field: &str) -> Result<Tz, InvalidField> {
    name.parse::<Tz>().map_err(|_| {
        InvalidField::new(
            field,
            format!("{name:?} is not an IANA time zone such as \"Europe/Berlin\""),
        )
    })
}

/// The calendar date at `at` in `time_zone`.
pub fn local_date(at: DateTime<Utc>, time_zone: Tz) -> NaiveDate {
    at.with_timezone(&time_zone).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn daily_schedule_fires_at_local_time_across_a_dst_change() {
        let schedule = Schedule::parse("0 6 * * *", "Europe/Berlin").unwrap();
        // Berlin is UTC+1 in winter, UTC+2 after 2026-03-29.
        assert_eq!(
            schedule.next_after(at("2026-03-28T12:00:00Z")),
            Some(at("2026-03-29T04:00:00Z"))
        );
        assert_eq!(
            schedule.next_after(at("2026-03-27T12:00:00Z")),
            Some(at("2026-03-28T05:00:00Z"))
        );
    }

    #[test]
    fn next_run_is_strictly_after_the_given_instant() {
        let schedule = Schedule::parse("*/15 * * * *", "UTC").unwrap();
        assert_eq!(
            schedule.next_after(at("2026-01-01T00:15:00Z")),
            Some(at("2026-01-01T00:30:00Z"))
        );
    }

    #[test]
    fn bad_cron_and_time_zone_are_rejected_naming_the_field() {
        assert_eq!(Schedule::parse("0 6 * *", "UTC").unwrap_err().field, "cron");
        assert_eq!(
            Schedule::parse("0 61 * * *", "UTC").unwrap_err().field,
            "cron"
        );
        assert_eq!(
            Schedule::parse("0 6 * * *", "Mars/Olympus")
                .unwrap_err()
                .field,
            "time_zone"
        );
    }

    #[test]
    fn every_listed_time_zone_name_parses() {
        let names: Vec<&str> = time_zone_names().collect();
        assert!(names.contains(&"Europe/Berlin") && names.len() > 300);
        assert!(names.iter().all(|name| parse_time_zone(name, "tz").is_ok()));
    }

    #[test]
    fn local_date_depends_on_the_time_zone() {
        let instant = at("2026-06-01T23:30:00Z");
        assert_eq!(local_date(instant, Tz::UTC).to_string(), "2026-06-01");
        assert_eq!(
            local_date(instant, Tz::Asia__Tokyo).to_string(),
            "2026-06-02"
        );
    }
}
