//! Job states and what started a job.
//!
//! `pending → queued → running → succeeded | failed | cancelled`, with `running → pending`
//! (retry or snooze) and `pending | queued → cancelled`. See `docs/job-lifecycle.md`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::InvalidField;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for `run_after`, then for the relay (or its writer) to publish it.
    Pending,
    /// Published to RabbitMQ, waiting for a worker.
    Queued,
    /// Claimed by a worker holding a lease.
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 6] = [
        JobState::Pending,
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Whether the job is finished for good.
    pub fn is_terminal(self) -> bool {
        match self {
            JobState::Succeeded | JobState::Failed | JobState::Cancelled => true,
            JobState::Pending | JobState::Queued | JobState::Running => false,
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = InvalidField;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| InvalidField::new("state", format!("unknown job state {s:?}")))
    }
}

/// What created a job; it decides the message priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Scheduled,
    Manual,
    Webhook,
    Backfill,
}

impl Trigger {
    pub const ALL: [Trigger; 4] = [
        Trigger::Scheduled,
        Trigger::Manual,
        Trigger::Webhook,
        Trigger::Backfill,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Scheduled => "scheduled",
            Trigger::Manual => "manual",
            Trigger::Webhook => "webhook",
            Trigger::Backfill => "backfill",
        }
    }

    /// AMQP message priority: a person waiting beats the schedule, which beats history.
    pub fn priority(self) -> u8 {
        match self {
            Trigger::Manual | Trigger::Webhook => 3,
            Trigger::Scheduled => 2,
            Trigger::Backfill => 1,
        }
    }
}

impl FromStr for Trigger {
    type Err = InvalidField;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|trigger| trigger.as_str() == s)
            .ok_or_else(|| InvalidField::new("trigger", format!("unknown trigger {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_terminal_states_are_the_finished_ones() {
        for state in JobState::ALL {
            assert_eq!(state.as_str().parse::<JobState>().unwrap(), state);
        }
        let terminal: Vec<_> = JobState::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            [JobState::Succeeded, JobState::Failed, JobState::Cancelled]
        );
    }

    #[test]
    fn people_waiting_outrank_schedules_which_outrank_backfills() {
        assert!(Trigger::Manual.priority() > Trigger::Scheduled.priority());
        assert_eq!(Trigger::Webhook.priority(), Trigger::Manual.priority());
        assert!(Trigger::Scheduled.priority() > Trigger::Backfill.priority());
    }
}
