//! The one place that dispatches over [`Connector`] to the platform modules: their routers,
//! their sandbox-only control routes, their answer to unknown routes, and their account ids.
//! Every platform module offers the same five items (`router`, `control_router`,
//! `unknown_route`, `is_valid_account_id`, `ACCOUNT_ID_SHAPE`); each match below is exhaustive,
//! so a platform cannot be half-mounted.

use axum::Router;
use axum::response::Response;

use crate::connector::Connector;
use crate::state::Sandbox;
use crate::{appsflyer, google_ads, google_sheets, meta_ads, snapchat_ads, tiktok_ads};

/// Every platform's API under its prefix.
pub(crate) fn routers() -> Router<Sandbox> {
    Connector::ALL
        .iter()
        .fold(Router::new(), |router, connector| {
            let platform = match connector {
                Connector::MetaAds => meta_ads::router(),
                Connector::GoogleAds => google_ads::router(),
                Connector::TiktokAds => tiktok_ads::router(),
                Connector::SnapchatAds => snapchat_ads::router(),
                Connector::Appsflyer => appsflyer::router(),
                Connector::GoogleSheets => google_sheets::router(),
            };
            router.nest(connector.prefix(), platform)
        })
}

/// Every platform's sandbox-only routes, under `/<connector>` (nested under `/_sandbox`).
pub(crate) fn control_routers() -> Router<Sandbox> {
    Connector::ALL
        .iter()
        .fold(Router::new(), |router, connector| {
            let control = match connector {
                Connector::MetaAds => meta_ads::control_router(),
                Connector::GoogleAds => google_ads::control_router(),
                Connector::TiktokAds => tiktok_ads::control_router(),
                Connector::SnapchatAds => snapchat_ads::control_router(),
                Connector::Appsflyer => appsflyer::control_router(),
                Connector::GoogleSheets => google_sheets::control_router(),
            };
            router.nest(connector.prefix(), control)
        })
}

/// The platform's own answer to a path under its prefix that no route matched.
pub(crate) fn unknown_route(connector: Connector, sandbox: &Sandbox, path: &str) -> Response {
    match connector {
        Connector::MetaAds => meta_ads::unknown_route(sandbox, path),
        Connector::GoogleAds => google_ads::unknown_route(sandbox, path),
        Connector::TiktokAds => tiktok_ads::unknown_route(sandbox, path),
        Connector::SnapchatAds => snapchat_ads::unknown_route(sandbox, path),
        Connector::Appsflyer => appsflyer::unknown_route(sandbox, path),
        Connector::GoogleSheets => google_sheets::unknown_route(sandbox, path),
    }
}

/// Whether `id` names an account of the platform, as the sandbox's fault and control routes
/// take it.
pub(crate) fn is_valid_account_id(connector: Connector, id: &str) -> bool {
    match connector {
        Connector::MetaAds => meta_ads::is_valid_account_id(id),
        Connector::GoogleAds => google_ads::is_valid_account_id(id),
        Connector::TiktokAds => tiktok_ads::is_valid_account_id(id),
        Connector::SnapchatAds => snapchat_ads::is_valid_account_id(id),
        Connector::Appsflyer => appsflyer::is_valid_account_id(id),
        Connector::GoogleSheets => google_sheets::is_valid_account_id(id),
    }
}

/// What an account id of the platform looks like, for error messages.
pub(crate) fn account_id_shape(connector: Connector) -> &'static str {
    match connector {
        Connector::MetaAds => meta_ads::ACCOUNT_ID_SHAPE,
        Connector::GoogleAds => google_ads::ACCOUNT_ID_SHAPE,
        Connector::TiktokAds => tiktok_ads::ACCOUNT_ID_SHAPE,
        Connector::SnapchatAds => snapchat_ads::ACCOUNT_ID_SHAPE,
        Connector::Appsflyer => appsflyer::ACCOUNT_ID_SHAPE,
        Connector::GoogleSheets => google_sheets::ACCOUNT_ID_SHAPE,
    }
}
