//! The scheduler's clock: real time, or a compressed day for benchmarks and drills (`bench
//! scale` runs a whole day of schedules in minutes). Only the tick reads it; the relay and the
//! rescuer compare with the database's `now()`, so a compressed clock never runs ahead of real
//! time (a job created "in the future" would wait for real time to catch up).

use chrono::{DateTime, TimeDelta, Utc};

/// What a tick takes as "now".
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Clock {
    /// `Utc::now()`.
    System,
    /// Shows `start` at the real instant `anchor` and runs `speed` times faster than real time
    /// from then on (at real speed before it), but never ahead of real time: once it catches up
    /// it follows real time.
    Compressed {
        start: DateTime<Utc>,
        anchor: DateTime<Utc>,
        speed: f64,
    },
}

/// Why a compressed clock cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClockError {
    #[error("the clock's speed must be a finite number of at least 1, not {0}")]
    Speed(String),
    #[error("the clock's start must not be after its anchor (it would run ahead of real time)")]
    StartAfterAnchor,
}

impl Clock {
    /// A compressed clock (see [`Clock::Compressed`]).
    pub fn compressed(
        start: DateTime<Utc>,
        anchor: DateTime<Utc>,
        speed: f64,
    ) -> Result<Self, ClockError> {
        if !speed.is_finite() || speed < 1.0 {
            return Err(ClockError::Speed(speed.to_string()));
        }
        if start > anchor {
            return Err(ClockError::StartAfterAnchor);
        }
        Ok(Clock::Compressed {
            start,
            anchor,
            speed,
        })
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.at(Utc::now())
    }

    /// What the clock shows at the real instant `real`.
    pub fn at(&self, real: DateTime<Utc>) -> DateTime<Utc> {
        match *self {
            Clock::System => real,
            Clock::Compressed {
                start,
                anchor,
                speed,
            } => {
                let elapsed = real - anchor;
                let shown = if elapsed <= TimeDelta::zero() {
                    start + elapsed
                } else {
                    let nanos = elapsed.num_nanoseconds().unwrap_or(i64::MAX) as f64 * speed;
                    start + TimeDelta::nanoseconds(nanos.min(i64::MAX as f64) as i64)
                };
                shown.min(real)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn the_system_clock_shows_real_time() {
        let real = at("2026-03-10T07:00:00Z");
        assert_eq!(Clock::System.at(real), real);
    }

    #[test]
    fn a_compressed_clock_runs_faster_from_its_anchor_and_never_ahead_of_real_time() {
        let clock = Clock::compressed(
            at("2026-03-09T12:00:00Z"),
            at("2026-03-10T12:00:00Z"),
            144.0,
        )
        .unwrap();
        // Before the anchor: real speed.
        assert_eq!(
            clock.at(at("2026-03-10T11:59:50Z")),
            at("2026-03-09T11:59:50Z")
        );
        assert_eq!(
            clock.at(at("2026-03-10T12:00:00Z")),
            at("2026-03-09T12:00:00Z")
        );
        // Ten real minutes after the anchor, a whole day has passed.
        assert_eq!(
            clock.at(at("2026-03-10T12:10:00Z")),
            at("2026-03-10T12:00:00Z")
        );
        // Past that it would overtake real time: it follows real time instead.
        assert_eq!(
            clock.at(at("2026-03-10T12:11:00Z")),
            at("2026-03-10T12:11:00Z")
        );
    }

    #[test]
    fn a_compressed_clock_refuses_a_bad_speed_or_a_start_in_the_future() {
        let (start, anchor) = (at("2026-03-09T12:00:00Z"), at("2026-03-10T12:00:00Z"));
        for speed in [0.5, 0.0, -3.0, f64::NAN, f64::INFINITY] {
            assert!(
                matches!(
                    Clock::compressed(start, anchor, speed),
                    Err(ClockError::Speed(_))
                ),
                "{speed}"
            );
        }
        assert_eq!(
            Clock::compressed(anchor, start, 10.0),
            Err(ClockError::StartAfterAnchor)
        );
    }
}
