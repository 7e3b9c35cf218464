//! Asynchronous insights (AdReportRun): `POST /v{N}/act_{id}/insights` with the same parameters
//! as the synchronous edge answers `{"report_run_id": "…"}`; `GET /v{N}/{report_run_id}` polls
//! it; `GET /v{N}/{report_run_id}/insights` pages its rows with cursors once it is `Job
//! Completed`.
//!
//! Runs progress by polls, not by time, so tests are deterministic and need no sleeps: with
//! `report_run_polls = N` the first poll answers `Job Not Started` (0 %), the second `Job
//! Started`, later ones `Job Running` with a growing `async_percent_completion`, and the N-th
//! `Job Completed` (100 %). A `server_error` fault on a poll ends the run `Job Failed` (with the
//! v25+ error fields `error_code` -2 / `error_subcode` 2490547 from version 25 on), a
//! `reduce_data` fault ends it `Job Skipped`; a failed or skipped run stays so. A `malformed`
//! fault on the creation breaks the run's first page of results (on a poll, its percentage). The rows are
//! computed as of the run's creation (the account's today then), without the synchronous row
//! budget.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::errors::{CONTENT_TYPE, MetaError};
use super::insights::{self, InsightsQuery, MALFORMED_NUMBER};
use super::paging::Window;
use super::truth;
use super::usage::UseCase;
use super::world::AccountFacts;
use super::{Call, Prelude, Request, RouteKind};
use crate::faults::FaultKind;
use crate::rng::Seed;
use crate::state::lock;
use crate::wire::{self, OrderedObject};

/// The templated routes, as recorded in the request log (creation is a `POST` to the insights
/// edge's route).
pub(crate) const STATUS_ROUTE: &str = "/v{version}/{report_run_id}";
pub(crate) const RESULTS_ROUTE: &str = "/v{version}/{report_run_id}/insights";

/// Report run ids: large numbers like Meta's, well away from the entity id range.
const RUN_ID_BASE: u64 = 6_100_000_000_000_000;

/// How a run ended, or that it has not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Pending,
    Completed(DateTime<Utc>),
    Failed,
    Skipped,
}

#[derive(Debug, Clone)]
struct ReportRun {
    id: String,
    account_id: String,
    query: InsightsQuery,
    created_at: DateTime<Utc>,
    /// Polls needed to complete, fixed at creation.
    polls_needed: u32,
    polls: u32,
    outcome: Outcome,
    /// A malformed fault fired on the creation: the first page of results is broken.
    malformed: bool,
}

impl ReportRun {
    fn status(&self) -> &'static str {
        match self.outcome {
            Outcome::Completed(_) => "Job Completed",
            Outcome::Failed => "Job Failed",
            Outcome::Skipped => "Job Skipped",
            Outcome::Pending => match self.polls {
                0 | 1 => "Job Not Started",
                2 => "Job Started",
                _ => "Job Running",
            },
        }
    }

    fn percent(&self) -> u32 {
        match self.outcome {
            Outcome::Completed(_) => 100,
            Outcome::Pending | Outcome::Failed | Outcome::Skipped => {
                (self.polls.saturating_sub(1) * 100 / self.polls_needed.max(1)).min(99)
            }
        }
    }

    /// The AdReportRun node as Meta renders it.
    fn render(&self, major_version: u32, malformed: bool) -> OrderedObject {
        let mut object = OrderedObject::default();
        object.push("id", self.id.clone());
        object.push("account_id", self.account_id.clone());
        object.push("time_ref", self.created_at.timestamp());
        if let Outcome::Completed(at) = self.outcome {
            object.push("time_completed", at.timestamp());
        }
        object.push("async_status", self.status());
        let percent: Value = if malformed {
            MALFORMED_NUMBER.into()
        } else {
            self.percent().into()
        };
        object.push("async_percent_completion", percent);
        object.push("date_start", self.query.rows.since.to_string());
        object.push("date_stop", self.query.rows.until.to_string());
        object.push("is_running", self.outcome == Outcome::Pending);
        if self.outcome == Outcome::Failed && major_version >= 25 {
            object.push("error_code", -2);
            object.push("error_subcode", 2_490_547);
            object.push(
                "error_message",
                "Generating the report failed. Try again later.",
            );
            object.push("error_user_title", "Report Failed");
            object.push(
                "error_user_msg",
                "Generating the report failed. Try again later.",
            );
        }
        object
    }
}

/// Every report run of a sandbox.
#[derive(Debug, Default)]
pub(crate) struct RunRegistry {
    inner: Mutex<Runs>,
}

#[derive(Debug, Default)]
struct Runs {
    created: u64,
    runs: HashMap<String, ReportRun>,
}

impl RunRegistry {
    /// The account a run belongs to; `None` if there is no such run.
    pub(crate) fn account_of(&self, id: &str) -> Option<String> {
        lock(&self.inner)
            .runs
            .get(id)
            .map(|run| run.account_id.clone())
    }

    fn create(
        &self,
        account_id: &str,
        query: InsightsQuery,
        polls_needed: u32,
        now: DateTime<Utc>,
        malformed: bool,
    ) -> String {
        let mut runs = lock(&self.inner);
        runs.created += 1;
        let id = (RUN_ID_BASE + runs.created).to_string();
        let outcome = if polls_needed == 0 {
            Outcome::Completed(now)
        } else {
            Outcome::Pending
        };
        runs.runs.insert(
            id.clone(),
            ReportRun {
                id: id.clone(),
                account_id: account_id.to_owned(),
                query,
                created_at: now,
                polls_needed,
                polls: 0,
                outcome,
                malformed,
            },
        );
        id
    }

    /// One poll: the run moves on (or fails, with a fault) and is returned as it is now.
    fn poll(&self, id: &str, fault: Option<FaultKind>, now: DateTime<Utc>) -> Option<ReportRun> {
        let mut runs = lock(&self.inner);
        let run = runs.runs.get_mut(id)?;
        if run.outcome == Outcome::Pending {
            run.polls += 1;
            run.outcome = match fault {
                Some(FaultKind::ServerError) => Outcome::Failed,
                Some(FaultKind::ReduceData) => Outcome::Skipped,
                _ if run.polls >= run.polls_needed => Outcome::Completed(now),
                _ => Outcome::Pending,
            };
        }
        Some(run.clone())
    }

    fn get(&self, id: &str) -> Option<ReportRun> {
        lock(&self.inner).runs.get(id).cloned()
    }
}

/// Enters a route with the common checks; the account is always known on run routes.
async fn enter<'a>(
    request: &Request<'a>,
    route: &'static str,
    run_poll: bool,
) -> Result<(Prelude, Call, AccountFacts), Response> {
    let kind = RouteKind {
        route,
        use_case: Some(UseCase::AdsInsights),
        run_poll,
    };
    let (prelude, call) = Prelude::enter(request.sandbox, kind, request).await?;
    match call.account.clone() {
        Some(account) => Ok((prelude, call, account)),
        None => {
            let response = MetaError::unknown_object(request.node).into_response(request.sandbox);
            Err(prelude.finish(request.sandbox, response))
        }
    }
}

/// `POST /v{N}/act_{id}/insights`: validates the parameters and starts a run.
pub(crate) async fn create_handler(request: Request<'_>) -> Response {
    let sandbox = request.sandbox;
    let (prelude, call, account) = match enter(&request, insights::ROUTE, false).await {
        Ok(entered) => entered,
        Err(response) => return response,
    };
    let today = sandbox.today_for(&account);
    let response = match insights::parse_query(request.params, today) {
        Ok(query) => {
            let state = sandbox.meta_ads();
            let id = state.runs.create(
                &account.id,
                query,
                state.config.report_run_polls,
                sandbox.now(),
                call.fault == Some(FaultKind::Malformed),
            );
            wire::json_with_type(
                StatusCode::OK,
                &json!({ "report_run_id": id }),
                CONTENT_TYPE,
            )
        }
        Err(error) => error.into_response(sandbox),
    };
    prelude.finish(sandbox, response)
}

/// `GET /v{N}/{report_run_id}`: one poll.
pub(crate) async fn status_handler(request: Request<'_>) -> Response {
    let sandbox = request.sandbox;
    let (prelude, call, _account) = match enter(&request, STATUS_ROUTE, true).await {
        Ok(entered) => entered,
        Err(response) => return response,
    };
    let run_fault = call
        .fault
        .filter(|kind| matches!(kind, FaultKind::ServerError | FaultKind::ReduceData));
    let response = match sandbox
        .meta_ads()
        .runs
        .poll(request.node, run_fault, sandbox.now())
    {
        Some(run) => wire::json_with_type(
            StatusCode::OK,
            &run.render(call.major_version, call.fault == Some(FaultKind::Malformed)),
            CONTENT_TYPE,
        ),
        None => MetaError::unknown_object(request.node).into_response(sandbox),
    };
    prelude.finish(sandbox, response)
}

/// `GET /v{N}/{report_run_id}/insights`: a page of a completed run's rows.
pub(crate) async fn results_handler(request: Request<'_>) -> Response {
    let sandbox = request.sandbox;
    let (prelude, call, account) = match enter(&request, RESULTS_ROUTE, false).await {
        Ok(entered) => entered,
        Err(response) => return response,
    };
    let result = (|| {
        let run = sandbox
            .meta_ads()
            .runs
            .get(request.node)
            .ok_or_else(|| MetaError::unknown_object(request.node))?;
        if !matches!(run.outcome, Outcome::Completed(_)) {
            return Err(MetaError::report_run_not_ready(&run.id, run.status()));
        }
        let fingerprint = Seed::new("meta_ads/report_run")
            .with_str(&run.id)
            .with_u64(run.query.fingerprint(&account.id))
            .value();
        let window = Window::parse(request.params, fingerprint)?;
        let rows = truth::rows(&account, &run.query.rows);
        insights::render_page(
            &rows,
            &run.query,
            window,
            fingerprint,
            request.params,
            &insights::next_base(&request),
            call.fault == Some(FaultKind::Malformed) || (run.malformed && window.offset == 0),
        )
    })();
    let response = match result {
        Ok(page) => wire::json_with_type(StatusCode::OK, &page, CONTENT_TYPE),
        Err(error) => error.into_response(sandbox),
    };
    prelude.finish(sandbox, response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query() -> InsightsQuery {
        insights::parse_query(&[], "2025-06-30".parse().unwrap()).unwrap()
    }

    #[test]
    fn runs_progress_by_polls_and_stay_completed() {
        let registry = RunRegistry::default();
        let now: DateTime<Utc> = "2025-06-30T12:00:00Z".parse().unwrap();
        let id = registry.create("7", query(), 4, now, false);
        assert_eq!(registry.account_of(&id).as_deref(), Some("7"));
        let seen: Vec<(&str, u32)> = (0..6)
            .map(|_| {
                let run = registry.poll(&id, None, now).unwrap();
                (run.status(), run.percent())
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                ("Job Not Started", 0),
                ("Job Started", 25),
                ("Job Running", 50),
                ("Job Completed", 100),
                ("Job Completed", 100),
                ("Job Completed", 100),
            ]
        );
        assert!(registry.poll("1", None, now).is_none());
    }

    #[test]
    fn faults_end_runs_failed_or_skipped_for_good() {
        let registry = RunRegistry::default();
        let now: DateTime<Utc> = "2025-06-30T12:00:00Z".parse().unwrap();
        let failed = registry.create("7", query(), 3, now, false);
        registry.poll(&failed, None, now);
        let run = registry
            .poll(&failed, Some(FaultKind::ServerError), now)
            .unwrap();
        assert_eq!(run.status(), "Job Failed");
        assert_eq!(
            registry.poll(&failed, None, now).unwrap().status(),
            "Job Failed"
        );
        let rendered = run.render(25, false);
        assert!(rendered.contains("error_code"));
        assert!(!run.render(24, false).contains("error_code"));

        let skipped = registry.create("7", query(), 3, now, false);
        let run = registry
            .poll(&skipped, Some(FaultKind::ReduceData), now)
            .unwrap();
        assert_eq!(run.status(), "Job Skipped");

        let instant = registry.create("7", query(), 0, now, false);
        assert_eq!(registry.get(&instant).unwrap().status(), "Job Completed");
    }
}
