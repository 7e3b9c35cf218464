//! Repository tests on the real PostgreSQL: the job lifecycle's conditional transitions and
//! their history, secrets at rest, and migrations.

// Helpers outside #[test] functions unwrap too; a panic is how a test fails.
#![allow(clippy::unwrap_used)]

mod budgets;
mod jobs;
mod secrets;
mod unavailable;
