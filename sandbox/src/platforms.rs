//! The one place that dispatches over [`Connector`] to the platform modules: their routers,
//! their sandbox-only control routes, their answer to unknown routes, and their account ids.
//! Every platform module offers the same items (`router`, `control_router`, `unknown_route`,
//! `is_valid_account_id`, `ACCOUNT_ID_SHAPE`, `numbered_account`, `THROTTLE_IS_A_DAILY_QUOTA`); the dispatch is generated from
//! the registry (`connector::for_each_api!`), so a platform cannot be half-mounted.

use axum::Router;
use axum::response::Response;

use crate::connector::{Connector, for_each_api};
use crate::facts::AccountSummary;
use crate::state::Sandbox;

macro_rules! dispatch {
    ($($(#[$doc:meta])* $variant:ident $name:ident $config:ident $state:ident,)*) => {
        /// Every platform's API under its prefix.
        pub(crate) fn routers() -> Router<Sandbox> {
            Router::new()$(.nest(Connector::$variant.prefix(), crate::$name::router()))*
        }

        /// Every platform's sandbox-only routes, under `/<connector>` (nested under
        /// `/_sandbox`).
        pub(crate) fn control_routers() -> Router<Sandbox> {
            Router::new()$(.nest(Connector::$variant.prefix(), crate::$name::control_router()))*
        }

        /// The platform's own answer to a path under its prefix that no route matched.
        pub(crate) fn unknown_route(connector: Connector, sandbox: &Sandbox, path: &str) -> Response {
            match connector {
                $(Connector::$variant => crate::$name::unknown_route(sandbox, path),)*
            }
        }

        /// Whether `id` names an account of the platform, as the sandbox's fault and control
        /// routes take it.
        pub(crate) fn is_valid_account_id(connector: Connector, id: &str) -> bool {
            match connector {
                $(Connector::$variant => crate::$name::is_valid_account_id(id),)*
            }
        }

        impl Connector {
            /// The `n`th of a range of accounts with delivery, for benchmarks and tests that
            /// need many; `None` for an API without accounts (Google Sheets).
            pub fn numbered_account(self, n: usize) -> Option<AccountSummary> {
                match self {
                    $(Connector::$variant => crate::$name::numbered_account(n),)*
                }
            }

            /// Whether this API's throttle answer is a quota that lasts until the next
            /// 00:00 UTC (AppsFlyer's "Limit reached"), so a run that meets one waits for the
            /// day to end.
            pub const fn throttle_is_a_daily_quota(self) -> bool {
                match self {
                    $(Connector::$variant => crate::$name::THROTTLE_IS_A_DAILY_QUOTA,)*
                }
            }
        }

        /// What an account id of the platform looks like, for error messages.
        pub(crate) fn account_id_shape(connector: Connector) -> &'static str {
            match connector {
                $(Connector::$variant => crate::$name::ACCOUNT_ID_SHAPE,)*
            }
        }
    };
}

for_each_api!(dispatch);
