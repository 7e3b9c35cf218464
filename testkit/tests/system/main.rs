//! Whole-system scenarios and repository-wide checks, compiled into one test binary.

// Helpers outside #[test] functions unwrap too; a panic is how a test fails.
#![allow(clippy::unwrap_used)]

mod e2e;
mod logs;
mod tidy;
mod traces;
