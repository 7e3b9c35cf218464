//! Inclusive date windows in an account's time zone.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::InvalidField;

/// An inclusive range of calendar days, `start <= end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawWindow")]
pub struct DateWindow {
    start: NaiveDate,
    end: NaiveDate,
}

#[derive(Deserialize)]
struct RawWindow {
    start: NaiveDate,
    end: NaiveDate,
}

impl TryFrom<RawWindow> for DateWindow {
    type Error = InvalidField;
    fn try_from(raw: RawWindow) -> Result<Self, Self::Error> {
        DateWindow::new(raw.start, raw.end)
    }
}

impl DateWindow {
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<Self, InvalidField> {
        if start > end {
            return Err(InvalidField::new(
                "window",
                format!("start {start} is after end {end}"),
            ));
        }
        Ok(Self { start, end })
    }

    /// The `days` days ending on `end`, inclusive (`days` = 1 is just `end`).
    pub fn ending_on(end: NaiveDate, days: u32) -> Self {
        let start = end
            .checked_sub_days(Days::new(u64::from(days.max(1)) - 1))
            .unwrap_or(NaiveDate::MIN);
        Self { start, end }
    }

    pub fn start(&self) -> NaiveDate {
        self.start
    }

    pub fn end(&self) -> NaiveDate {
        self.end
    }

    /// Number of days in the window.
    pub fn days(&self) -> u32 {
        u32::try_from((self.end - self.start).num_days() + 1).unwrap_or(u32::MAX)
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.start <= day && day <= self.end
    }

    /// The window split into consecutive windows of at most `days` days, oldest first.
    pub fn chunks(&self, days: u32) -> Vec<DateWindow> {
        let step = u64::from(days.max(1));
        let mut chunks = Vec::new();
        let mut start = self.start;
        loop {
            let end = start
                .checked_add_days(Days::new(step - 1))
                .map_or(self.end, |end| end.min(self.end));
            chunks.push(DateWindow { start, end });
            match end.succ_opt() {
                Some(next) if end < self.end => start = next,
                _ => return chunks,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn chunks_cover_the_window_exactly_once_oldest_first() {
        let window = DateWindow::new(day("2026-01-01"), day("2026-03-01")).unwrap();
        let chunks = window.chunks(31);
        let bounds: Vec<(NaiveDate, NaiveDate)> =
            chunks.iter().map(|c| (c.start(), c.end())).collect();
        assert_eq!(
            bounds,
            [
                (day("2026-01-01"), day("2026-01-31")),
                (day("2026-02-01"), day("2026-03-01"))
            ]
        );
        let single = DateWindow::ending_on(day("2026-01-05"), 1);
        assert_eq!(single.chunks(30), [single]);
        assert_eq!(window.chunks(0).len(), 60);
    }

    #[test]
    fn a_window_ending_on_a_day_covers_exactly_that_many_days() {
        let window = DateWindow::ending_on(day("2026-03-01"), 3);
        assert_eq!(window.start(), day("2026-02-27"));
        assert_eq!(window.days(), 3);
        assert!(window.contains(day("2026-02-28")));
        assert!(!window.contains(day("2026-03-02")));
        assert_eq!(DateWindow::ending_on(day("2026-03-01"), 1).days(), 1);
    }

    #[test]
    fn a_reversed_window_is_rejected_naming_both_days() {
        let error = DateWindow::new(day("2026-03-02"), day("2026-03-01")).unwrap_err();
        assert_eq!(error.field, "window");
        assert!(error.message.contains("2026-03-02"));
    }
}
