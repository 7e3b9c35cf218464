//! `GET /v{N}.0/act_{id}`: the Ad Account node with the fields a connector reads when an account
//! is connected (`account_id`, `name`, `currency`, `timezone_name`, ...).

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::errors::{CONTENT_TYPE, MetaError};
use super::{AccountFacts, Prelude};
use crate::state::Sandbox;
use crate::wire::{self, OrderedObject};

/// The templated route, as recorded in the request log.
pub(crate) const ROUTE: &str = "/v{version}/act_{account_id}";

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

/// The handler.
pub(crate) async fn handler(
    State(sandbox): State<Sandbox>,
    OriginalUri(uri): OriginalUri,
    Path((version, node)): Path<(String, String)>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let params = query.map(|Query(params)| params).unwrap_or_default();
    let prelude = Prelude::begin(&sandbox, ROUTE, &version, &node, &uri).await;
    let call = match prelude.check(&sandbox, &headers, &params) {
        Ok(call) => call,
        Err(rejection) => return prelude.reject(&sandbox, rejection),
    };
    let fields = params
        .iter()
        .rev()
        .find(|(name, _)| name == "fields")
        .map(|(_, value)| value.as_str());
    let response = match render(&call.account, fields) {
        Ok(object) => wire::json_with_type(StatusCode::OK, &object, CONTENT_TYPE),
        Err(error) => error.into_response(&sandbox),
    };
    prelude.finish(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_fields_come_first_and_the_id_last() {
        let account = super::super::account("123").unwrap();
        let object = render(&account, Some("name,account_id,currency,timezone_name")).unwrap();
        let keys: Vec<&str> = object.0.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            vec!["name", "account_id", "currency", "timezone_name", "id"]
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let account = super::super::account("123").unwrap();
        let error = render(&account, Some("name,bogus")).unwrap_err();
        assert_eq!(error.code, 100);
        assert!(error.message.contains("(bogus)"));
    }
}
