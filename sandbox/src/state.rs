//! The shared sandbox handle: configuration, clock, faults, request log and per-platform state.
//!
//! [`Sandbox`] is cheap to clone (an `Arc` inside). Tests that run the sandbox in-process keep a
//! clone and use its methods directly instead of going through the control API.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::connector::{Connector, for_each_api};
use crate::faults::{Fault, FaultId, FaultQueue, FiredFault, PendingFault};
use crate::requests::RequestRecord;
use crate::rng::splitmix64;
use crate::tokens::TokenRegistry;

/// Declares the per-platform parts of the sandbox from the registry
/// (`connector::for_each_api!`): each platform's field of [`SandboxConfig`], its state, and the
/// accessor its module reaches the state with (`sandbox.meta_ads()`).
macro_rules! platforms {
    ($($(#[$doc:meta])* $variant:ident $name:ident $config:ident $state:ident,)*) => {
        /// How a sandbox is set up.
        #[derive(Debug, Clone, Default)]
        pub struct SandboxConfig {
            /// A frozen "now"; `None` uses the real clock. Can be changed later with
            /// [`Sandbox::set_now`].
            pub now: Option<DateTime<Utc>>,
            $($(#[$doc])* pub $name: crate::$name::$config,)*
        }

        /// Every platform's own state.
        #[derive(Debug)]
        struct Platforms {
            $($name: crate::$name::$state,)*
        }

        impl Platforms {
            fn new(config: SandboxConfig) -> Self {
                Self {
                    $($name: crate::$name::$state::new(config.$name),)*
                }
            }
        }

        impl Sandbox {
            $(
                pub(crate) fn $name(&self) -> &crate::$name::$state {
                    &self.inner.platforms.$name
                }
            )*
        }
    };
}

for_each_api!(platforms);

/// Anything that lives in a time zone of its own, such as an ad account.
pub trait AccountTimeZone {
    /// The account's time zone, in which its reporting days start and end.
    fn account_time_zone(&self) -> Tz;
}

/// The running sandbox's state, shared by every request handler and by in-process tests.
#[derive(Debug, Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    now: Mutex<Option<DateTime<Utc>>>,
    /// When the sandbox was made: rate limits keep counting real time on a frozen clock.
    started: std::time::Instant,
    faults: Mutex<FaultQueue>,
    requests: Mutex<Vec<RequestRecord>>,
    trace_seed: u64,
    trace_counter: AtomicU64,
    tokens: Mutex<TokenRegistry>,
    platforms: Platforms,
}

/// Locks a mutex, carrying on with the data if another thread panicked while holding it: every
/// critical section here leaves the data consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new(SandboxConfig::default())
    }
}

impl Sandbox {
    /// A fresh sandbox: no faults, an empty request log, no calls counted.
    pub fn new(config: SandboxConfig) -> Self {
        let trace_seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Self {
            inner: Arc::new(Inner {
                now: Mutex::new(config.now),
                platforms: Platforms::new(config),
                started: std::time::Instant::now(),
                faults: Mutex::new(FaultQueue::default()),
                requests: Mutex::new(Vec::new()),
                trace_seed,
                trace_counter: AtomicU64::new(0),
                tokens: Mutex::new(TokenRegistry::default()),
            }),
        }
    }

    /// The sandbox's current time: the frozen time if one is set, otherwise the real clock.
    pub fn now(&self) -> DateTime<Utc> {
        lock(&self.inner.now).unwrap_or_else(Utc::now)
    }

    /// The clock rate limits count on. On a frozen clock it keeps running from the frozen
    /// instant: a test freezes the calendar to fix "today", and a per-second limit must still
    /// reset; moving the frozen clock forward still frees every window at once.
    pub(crate) fn limits_now(&self) -> DateTime<Utc> {
        let now = self.now();
        if !self.clock_is_frozen() {
            return now;
        }
        now + chrono::Duration::from_std(self.inner.started.elapsed()).unwrap_or_default()
    }

    /// Freezes the clock at `now`, or returns to the real clock with `None`.
    pub fn set_now(&self, now: Option<DateTime<Utc>>) {
        *lock(&self.inner.now) = now;
    }

    /// Whether the clock is frozen.
    pub fn clock_is_frozen(&self) -> bool {
        lock(&self.inner.now).is_some()
    }

    /// Today's date in `time_zone`.
    pub fn today_in(&self, time_zone: Tz) -> NaiveDate {
        self.now().with_timezone(&time_zone).date_naive()
    }

    /// Today's date for an account, in the account's own time zone. Rows for later dates do not
    /// exist yet.
    pub fn today_for(&self, account: &impl AccountTimeZone) -> NaiveDate {
        self.today_in(account.account_time_zone())
    }

    /// Adds a fault; it fires on matching platform requests as described on [`Fault`].
    pub fn add_fault(&self, fault: Fault) -> FaultId {
        lock(&self.inner.faults).add(fault)
    }

    /// The faults that have not been used up, in creation order.
    pub fn faults(&self) -> Vec<PendingFault> {
        lock(&self.inner.faults).pending()
    }

    /// Removes every pending fault.
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// Shows one platform request to the fault queue; returns the fault that fires on it.
    pub(crate) fn take_fault(
        &self,
        connector: Connector,
        account_id: Option<&str>,
    ) -> Option<FiredFault> {
        lock(&self.inner.faults).take(connector, account_id)
    }

    /// Every platform request so far (including unknown routes), oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.inner.requests).clone()
    }

    /// The requests recorded for one connector, oldest first.
    pub fn requests_for(&self, connector: Connector) -> Vec<RequestRecord> {
        lock(&self.inner.requests)
            .iter()
            .filter(|record| record.connector == Some(connector))
            .cloned()
            .collect()
    }

    /// The requests that matched no route: each one means a client called something the
    /// sandbox does not implement (or a wrong base URL), so tests should fail on them.
    pub fn unknown_routes(&self) -> Vec<RequestRecord> {
        lock(&self.inner.requests)
            .iter()
            .filter(|record| record.unknown_route)
            .cloned()
            .collect()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        lock(&self.inner.requests).clear();
    }

    pub(crate) fn record(&self, record: RequestRecord) {
        lock(&self.inner.requests).push(record);
    }

    /// A fresh random-looking trace id, like Meta's `fbtrace_id`.
    pub(crate) fn trace_id(&self) -> String {
        let n = self.inner.trace_counter.fetch_add(1, Ordering::Relaxed);
        let bits = splitmix64(self.inner.trace_seed ^ splitmix64(n));
        let mut bytes = bits.to_be_bytes().to_vec();
        bytes.extend_from_slice(&splitmix64(bits).to_be_bytes()[..4]);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    pub(crate) fn token_registry(&self) -> MutexGuard<'_, TokenRegistry> {
        lock(&self.inner.tokens)
    }
}
