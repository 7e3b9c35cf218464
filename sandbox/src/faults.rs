//! Faults on demand: "the next N matching requests fail in this way".
//!
//! [`Fault`] describes which requests a fault hits (connector, account, `after`, `times`,
//! `probability`) and `FaultQueue` applies those rules. How a fault looks on the wire is up to
//! each platform module; `slow` only delays the response. Probabilistic faults are
//! deterministic: the same sequence of requests fires the same faults in every run.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::connector::Connector;
use crate::rng::splitmix64;

/// What a fault does to the request it fires on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The platform's rate-limit answer (Meta: HTTP 400, code 80000, subcode 2446079).
    Throttle,
    /// A transient server failure (Meta: HTTP 500, code 2, `is_transient: true`).
    ServerError,
    /// The access token has expired (Meta: HTTP 400, code 190, subcode 463).
    ExpiredToken,
    /// The user revoked the app's access: the request is refused as the platform refuses a dead
    /// token, and the grant the presented token belongs to (access and refresh tokens) is
    /// revoked in the sandbox's token registry, so refreshing fails with `invalid_grant`.
    RevokedToken,
    /// The platform refuses the amount of data asked for (Meta: HTTP 500, code 1; platforms
    /// without such an answer use their generic server error).
    ReduceData,
    /// A successful status with a body that breaks the platform's own format (a metric that is
    /// not a number, a missing required field); what is broken is up to the platform module.
    Malformed,
    /// The request is answered normally, after a delay.
    Slow,
}

impl FaultKind {
    /// Every kind, in a fixed order.
    pub const ALL: &'static [FaultKind] = &[
        FaultKind::Throttle,
        FaultKind::ServerError,
        FaultKind::ExpiredToken,
        FaultKind::RevokedToken,
        FaultKind::ReduceData,
        FaultKind::Malformed,
        FaultKind::Slow,
    ];

    /// The snake_case name used in the control API and the request log.
    pub const fn as_str(self) -> &'static str {
        match self {
            FaultKind::Throttle => "throttle",
            FaultKind::ServerError => "server_error",
            FaultKind::ExpiredToken => "expired_token",
            FaultKind::RevokedToken => "revoked_token",
            FaultKind::ReduceData => "reduce_data",
            FaultKind::Malformed => "malformed",
            FaultKind::Slow => "slow",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a name that is not a fault kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFaultKind(pub String);

impl fmt::Display for UnknownFaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = FaultKind::ALL.iter().map(|k| k.as_str()).collect();
        write!(
            f,
            "unknown fault kind '{}', expected one of: {}",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownFaultKind {}

impl FromStr for FaultKind {
    type Err = UnknownFaultKind;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        FaultKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| UnknownFaultKind(name.to_owned()))
    }
}

/// A fault to inject, built with [`Fault::new`] and the builder methods.
///
/// A fault matches a platform request when the connector is the same and, if the fault names an
/// account, the request is for that account. It first lets `after` matching requests pass
/// (counted from the moment it was added, whether or not another fault answered them), then
/// fires on the next `times` matching requests. With a `probability` below 1, each matching
/// request after the first `after` fires with that probability (from a pseudo-random sequence
/// fixed by the fault's id, so runs repeat) and `times` counts the requests it fired on. When
/// several faults are ready, the oldest one answers the request and the others wait for the next
/// one. Used-up faults are removed.
/// Faults are checked before anything else about a request (version, token, parameters), and a
/// request a fault answered does not count towards rate limits.
///
/// ```
/// use sandbox::{Connector, Fault, FaultKind};
/// // The third request for account 123 (after two that pass) is throttled, twice in a row.
/// let fault = Fault::new(Connector::MetaAds, FaultKind::Throttle)
///     .account("123")
///     .after(2)
///     .times(2);
/// assert_eq!(fault.times, 2);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fault {
    /// The platform whose requests this fault hits.
    pub connector: Connector,
    /// Only requests for this account match; `None` matches every account.
    pub account_id: Option<String>,
    /// What happens to the request.
    pub kind: FaultKind,
    /// How many matching requests fire (at least 1).
    pub times: u32,
    /// How many matching requests pass untouched before the first one fires.
    pub after: u32,
    /// For [`FaultKind::Slow`]: how long to wait before answering.
    #[serde(rename = "delay_ms", serialize_with = "serialize_millis")]
    pub delay: Duration,
    /// The chance, in (0, 1], that a matching request past `after` fires.
    pub probability: f64,
}

impl Fault {
    /// A fault of `kind` for every account of `connector`, firing once on the next request.
    pub fn new(connector: Connector, kind: FaultKind) -> Self {
        Self {
            connector,
            account_id: None,
            kind,
            times: 1,
            after: 0,
            delay: Duration::ZERO,
            probability: 1.0,
        }
    }

    /// A [`FaultKind::Slow`] fault delaying the next request by `delay`.
    pub fn slow(connector: Connector, delay: Duration) -> Self {
        Self::new(connector, FaultKind::Slow).delay(delay)
    }

    /// Restricts the fault to one account (Meta: the digits, without `act_`).
    #[must_use]
    pub fn account(mut self, account_id: impl Into<String>) -> Self {
        self.account_id = Some(account_id.into());
        self
    }

    /// Fires on `times` matching requests (values below 1 are raised to 1).
    #[must_use]
    pub fn times(mut self, times: u32) -> Self {
        self.times = times.max(1);
        self
    }

    /// Fires on every matching request (up to `u32::MAX`), e.g. with a probability.
    #[must_use]
    pub fn unlimited(self) -> Self {
        self.times(u32::MAX)
    }

    /// Fires on each matching request with probability `probability` (clamped to (0, 1]).
    #[must_use]
    pub fn probability(mut self, probability: f64) -> Self {
        self.probability = if probability.is_finite() {
            probability.clamp(f64::MIN_POSITIVE, 1.0)
        } else {
            1.0
        };
        self
    }

    /// Lets `after` matching requests pass before firing.
    #[must_use]
    pub fn after(mut self, after: u32) -> Self {
        self.after = after;
        self
    }

    /// Sets the delay of a slow fault.
    #[must_use]
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    fn matches(&self, connector: Connector, account_id: Option<&str>) -> bool {
        self.connector == connector
            && self
                .account_id
                .as_deref()
                .is_none_or(|wanted| Some(wanted) == account_id)
    }
}

fn serialize_millis<S: serde::Serializer>(delay: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX))
}

/// The id the sandbox gave a fault when it was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FaultId(pub u64);

/// A fault that has not been used up yet, with what remains of its counters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingFault {
    /// The fault's id.
    pub id: FaultId,
    /// The fault, with `times` and `after` counting what is left.
    #[serde(flatten)]
    pub fault: Fault,
}

/// The fault that fired on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FiredFault {
    /// Which fault fired.
    pub(crate) id: FaultId,
    /// What it does.
    pub(crate) kind: FaultKind,
    /// The delay, for slow faults.
    pub(crate) delay: Duration,
}

/// The faults waiting for requests, in creation order.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    next_id: u64,
    pending: Vec<PendingFault>,
    /// Requests each probabilistic fault has drawn for, by fault id, for its random sequence.
    draws: std::collections::HashMap<FaultId, u64>,
}

impl FaultQueue {
    pub(crate) fn add(&mut self, fault: Fault) -> FaultId {
        self.next_id += 1;
        let id = FaultId(self.next_id);
        let fault = Fault {
            times: fault.times.max(1),
            ..fault
        };
        self.pending.push(PendingFault { id, fault });
        id
    }

    pub(crate) fn clear(&mut self) {
        self.pending.clear();
        self.draws.clear();
    }

    pub(crate) fn pending(&self) -> Vec<PendingFault> {
        self.pending.clone()
    }

    /// Shows one matching request to every matching fault and returns the one that fires, if any.
    pub(crate) fn take(
        &mut self,
        connector: Connector,
        account_id: Option<&str>,
    ) -> Option<FiredFault> {
        let mut fired = None;
        for pending in &mut self.pending {
            let fault = &mut pending.fault;
            if !fault.matches(connector, account_id) {
                continue;
            }
            if fault.after > 0 {
                fault.after -= 1;
            } else if fired.is_none()
                && fault.times > 0
                && draw(&mut self.draws, pending.id, fault.probability)
            {
                fault.times -= 1;
                fired = Some(FiredFault {
                    id: pending.id,
                    kind: fault.kind,
                    delay: fault.delay,
                });
            }
        }
        self.pending.retain(|pending| pending.fault.times > 0);
        fired
    }
}

/// Whether a fault with `probability` fires on its next draw: a fixed pseudo-random sequence
/// per fault id, so the same requests fire in every run.
fn draw(
    draws: &mut std::collections::HashMap<FaultId, u64>,
    id: FaultId,
    probability: f64,
) -> bool {
    if probability >= 1.0 {
        return true;
    }
    let n = draws.entry(id).or_insert(0);
    *n += 1;
    let bits = splitmix64(splitmix64(id.0) ^ *n);
    // The top 53 bits as a uniform number in [0, 1).
    let uniform = (bits >> 11) as f64 / (1u64 << 53) as f64;
    uniform < probability
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(queue: &mut FaultQueue, account: &str, requests: usize) -> Vec<Option<FaultKind>> {
        (0..requests)
            .map(|_| {
                queue
                    .take(Connector::MetaAds, Some(account))
                    .map(|fired| fired.kind)
            })
            .collect()
    }

    #[test]
    fn after_and_times_select_exactly_the_intended_requests() {
        let mut queue = FaultQueue::default();
        queue.add(
            Fault::new(Connector::MetaAds, FaultKind::ServerError)
                .after(2)
                .times(2),
        );
        assert_eq!(
            kinds(&mut queue, "1", 6),
            vec![
                None,
                None,
                Some(FaultKind::ServerError),
                Some(FaultKind::ServerError),
                None,
                None
            ]
        );
        assert!(queue.pending().is_empty());
    }

    #[test]
    fn the_oldest_ready_fault_answers_and_the_others_wait() {
        let mut queue = FaultQueue::default();
        queue.add(Fault::new(Connector::MetaAds, FaultKind::Throttle));
        queue.add(Fault::new(Connector::MetaAds, FaultKind::ExpiredToken));
        assert_eq!(
            kinds(&mut queue, "1", 3),
            vec![
                Some(FaultKind::Throttle),
                Some(FaultKind::ExpiredToken),
                None
            ]
        );
    }

    #[test]
    fn after_counts_requests_answered_by_other_faults() {
        let mut queue = FaultQueue::default();
        queue.add(Fault::new(Connector::MetaAds, FaultKind::ReduceData).after(2));
        queue.add(Fault::new(Connector::MetaAds, FaultKind::Throttle));
        assert_eq!(
            kinds(&mut queue, "1", 4),
            vec![
                Some(FaultKind::Throttle),
                None,
                Some(FaultKind::ReduceData),
                None
            ]
        );
    }

    #[test]
    fn probabilistic_faults_fire_at_about_their_rate_and_repeat_exactly() {
        let run = || {
            let mut queue = FaultQueue::default();
            queue.add(
                Fault::new(Connector::MetaAds, FaultKind::ServerError)
                    .probability(0.05)
                    .unlimited(),
            );
            kinds(&mut queue, "1", 10_000)
        };
        let first = run();
        let fired = first.iter().filter(|kind| kind.is_some()).count();
        assert!((400..=600).contains(&fired), "{fired} of 10000 fired");
        assert_eq!(first, run());
    }

    #[test]
    fn account_specific_faults_ignore_other_accounts() {
        let mut queue = FaultQueue::default();
        queue.add(Fault::new(Connector::MetaAds, FaultKind::Throttle).account("7"));
        assert_eq!(kinds(&mut queue, "8", 2), vec![None, None]);
        assert_eq!(queue.take(Connector::MetaAds, None), None);
        assert_eq!(
            kinds(&mut queue, "7", 2),
            vec![Some(FaultKind::Throttle), None]
        );
    }
}
