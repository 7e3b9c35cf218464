//! Rolling-window call counters, the way platforms count calls against a limit ("N calls per
//! rolling hour per ad account", "10 requests per second per token"). A call is admitted only
//! when every limit it counts against has room, and then counts against all of them.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::state::lock;

/// One limit a call counts against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limit<'a> {
    /// What is counted, e.g. `app` or `account:123`.
    pub(crate) key: &'a str,
    /// Calls allowed within `window`.
    pub(crate) max_calls: u32,
    pub(crate) window: Duration,
}

/// A call that found a limit full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refused {
    /// Which of the limits passed to [`CallCounter::admit`] was full.
    pub(crate) index: usize,
    /// When the oldest call in that window leaves it, freeing a slot.
    pub(crate) retry_after: Duration,
}

/// Calls per key over rolling windows.
#[derive(Debug, Default)]
pub(crate) struct CallCounter {
    calls: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl CallCounter {
    /// Admits a call at `now` if every limit has room, counting it against all of them.
    pub(crate) fn admit(&self, now: DateTime<Utc>, limits: &[Limit<'_>]) -> Result<(), Refused> {
        let mut calls = lock(&self.calls);
        for (index, limit) in limits.iter().enumerate() {
            let Some(times) = calls.get_mut(limit.key) else {
                if limit.max_calls == 0 {
                    return Err(Refused {
                        index,
                        retry_after: limit.window,
                    });
                }
                continue;
            };
            prune(times, now, limit.window);
            if times.len() >= usize::try_from(limit.max_calls).unwrap_or(usize::MAX) {
                let oldest = times.front().copied().unwrap_or(now);
                let frees_at = oldest + limit.window;
                return Err(Refused {
                    index,
                    retry_after: (frees_at - now).to_std().unwrap_or_default(),
                });
            }
        }
        for limit in limits {
            calls
                .entry(limit.key.to_owned())
                .or_default()
                .push_back(now);
        }
        Ok(())
    }

    /// Calls counted against `key` within the `window` before `now`.
    pub(crate) fn used(&self, key: &str, now: DateTime<Utc>, window: Duration) -> u32 {
        let mut calls = lock(&self.calls);
        calls.get_mut(key).map_or(0, |times| {
            prune(times, now, window);
            u32::try_from(times.len()).unwrap_or(u32::MAX)
        })
    }
}

/// Drops the calls that have left the window (and any "from the future" after the clock moved
/// back, which would otherwise block forever).
fn prune(times: &mut VecDeque<DateTime<Utc>>, now: DateTime<Utc>, window: Duration) {
    let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    while times.front().is_some_and(|at| now - *at >= window) {
        times.pop_front();
    }
    if times.back().is_some_and(|at| *at > now) {
        times.retain(|at| *at <= now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn a_full_window_refuses_until_its_oldest_call_leaves() {
        let counter = CallCounter::default();
        let second = Duration::from_secs(10);
        let limits = [Limit {
            key: "app",
            max_calls: 2,
            window: second,
        }];
        assert!(counter.admit(at(0), &limits).is_ok());
        assert!(counter.admit(at(4), &limits).is_ok());
        assert_eq!(
            counter.admit(at(5), &limits),
            Err(Refused {
                index: 0,
                retry_after: Duration::from_secs(5)
            })
        );
        assert!(counter.admit(at(10), &limits).is_ok());
        assert_eq!(counter.used("app", at(10), second), 2);
    }

    #[test]
    fn a_refused_call_counts_against_no_limit() {
        let counter = CallCounter::default();
        let window = Duration::from_secs(60);
        let account = Limit {
            key: "account:1",
            max_calls: 5,
            window,
        };
        let app = Limit {
            key: "app",
            max_calls: 1,
            window,
        };
        assert!(counter.admit(at(0), &[account, app]).is_ok());
        assert_eq!(counter.admit(at(1), &[account, app]).unwrap_err().index, 1);
        assert_eq!(counter.used("account:1", at(1), window), 1);
    }
}
