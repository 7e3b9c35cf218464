//! `GET /v{N}.0/act_{id}`: the Ad Account node with the fields a connector reads when an account
//! is connected (`account_id`, `name`, `currency`, `timezone_name`, ...), and
//! `GET /v{N}.0/me/adaccounts`: the ad accounts the token's user reaches, paged.

use axum::http::StatusCode;
use axum::response::Response;

use super::errors::{CONTENT_TYPE, MetaError};
use super::paging::{self, Window};
use super::usage::UseCase;
use super::{AccountFacts, Prelude, Request, RouteKind, account, param};
use crate::faults::FaultKind;
use crate::rng::Seed;
use crate::wire::{self, OrderedObject};

/// The templated routes, as recorded in the request log.
pub(crate) const ROUTE: &str = "/v{version}/act_{account_id}";
const LIST_ROUTE: &str = "/v{version}/me/adaccounts";

/// The node type Meta names in field errors.
const NODE_TYPE: &str = "AdAccount";

/// One Ad Account field (its name and value), or `None` if the node has no such field.
fn field(account: &AccountFacts, name: &str) -> Option<(&'static str, serde_json::Value)> {
    let field = match name {
        "id" => ("id", format!("act_{}", account.id).into()),
        "account_id" => ("account_id", account.id.clone().into()),
        "name" => ("name", account.name.clone().into()),
        "currency" => ("currency", account.currency.code().into()),
        "timezone_name" => ("timezone_name", account.time_zone.name().into()),
        // 1 = ACTIVE; a number, not a string, on the real API too.
        "account_status" => ("account_status", 1.into()),
        _ => return None,
    };
    Some(field)
}

fn render(account: &AccountFacts, fields: Option<&str>) -> Result<OrderedObject, MetaError> {
    let requested: Vec<&str> = match fields {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .collect(),
        None => vec!["account_id"],
    };
    let mut object = OrderedObject::default();
    for name in requested {
        let (key, value) =
            field(account, name).ok_or_else(|| MetaError::nonexisting_field(name, NODE_TYPE))?;
        if !object.contains(key) {
            object.push(key, value);
        }
    }
    // Graph always includes the id, after the requested fields.
    if !object.contains("id") {
        object.push("id", format!("act_{}", account.id));
    }
    Ok(object)
}

/// The handler of `GET /v{N}/act_{id}`. The node is not metered per account.
pub(crate) async fn handler(request: Request<'_>) -> Response {
    let sandbox = request.sandbox;
    let kind = RouteKind {
        route: ROUTE,
        use_case: None,
        run_poll: false,
    };
    let (prelude, call) = match Prelude::enter(sandbox, kind, &request).await {
        Ok(entered) => entered,
        Err(response) => return response,
    };
    let result = match &call.account {
        Some(account) => render(account, param(request.params, "fields")),
        None => Err(MetaError::unknown_object(request.node)),
    };
    let response = match result {
        Ok(object) => wire::json_with_type(StatusCode::OK, &object, CONTENT_TYPE),
        Err(error) => error.into_response(sandbox),
    };
    prelude.finish(sandbox, response)
}

/// The handler of `GET /v{N}/me/adaccounts`: the configured accounts, paged, with the requested
/// fields of each (a malformed fault drops the first one's `account_id`). Counted against the
/// app's budget only.
pub(crate) async fn list_handler(request: Request<'_>) -> Response {
    let sandbox = request.sandbox;
    let kind = RouteKind {
        route: LIST_ROUTE,
        use_case: Some(UseCase::AdsManagement),
        run_poll: false,
    };
    let (prelude, call) = match Prelude::enter(sandbox, kind, &request).await {
        Ok(entered) => entered,
        Err(response) => return response,
    };
    let result = (|| {
        let accounts: Vec<AccountFacts> = sandbox
            .meta_ads()
            .config
            .me_accounts
            .iter()
            .filter_map(|id| account(id))
            .collect();
        let fields = param(request.params, "fields");
        // Check the fields once, even when there are no accounts.
        if let Some(first) = accounts.first() {
            render(first, fields)?;
        }
        let fingerprint = Seed::new("meta_ads/me_adaccounts").value();
        let window = Window::parse(request.params, fingerprint)?;
        let next_base = super::insights::next_base(&request);
        let mut page = paging::page(
            &accounts,
            window,
            fingerprint,
            request.params,
            &next_base,
            |facts| render(facts, fields).unwrap_or_default(),
        )?;
        if call.fault == Some(FaultKind::Malformed)
            && let Some(first) = page.data.first_mut()
        {
            first.0.retain(|(key, _)| *key != "account_id");
        }
        Ok::<_, MetaError>(page)
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

    #[test]
    fn requested_fields_come_first_and_the_id_last() {
        let account = account("123").unwrap();
        let object = render(&account, Some("name,account_id,currency,timezone_name")).unwrap();
        let keys: Vec<&str> = object.0.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            vec!["name", "account_id", "currency", "timezone_name", "id"]
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let account = account("123").unwrap();
        let error = render(&account, Some("name,bogus")).unwrap_err();
        assert_eq!(error.code, 100);
        assert!(error.message.contains("(bogus)"));
    }
}
