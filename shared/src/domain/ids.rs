//! Typed identifiers, one per table, so a tenant id can never be passed where a job id belongs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[derive(postgres_types::ToSql, postgres_types::FromSql)]
        #[serde(transparent)]
        #[postgres(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id (UUIDv7).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A tenant: one customer (an agency or an advertiser).
    TenantId
);
id_type!(
    /// An API key belonging to a tenant.
    ApiKeyId
);
id_type!(
    /// Stored credentials for one platform login.
    ConnectionId
);
id_type!(
    /// One ad account reachable through a connection.
    AccountId
);
id_type!(
    /// Where a sync writes its rows.
    DestinationId
);
id_type!(
    /// A recurring intent: this account's report, to that destination, on that schedule.
    SyncId
);
id_type!(
    /// One execution of a sync over a date window.
    JobId
);
