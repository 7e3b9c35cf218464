//! The advertisers a token reaches and their facts:
//! `GET /open_api/v1.3/oauth2/advertiser/get/?app_id=…&secret=…` lists the advertisers the
//! `Access-Token` was authorised for (in the sandbox, the same few for every token); `GET /open_api/v1.3/advertiser/info/?advertiser_ids=[…]`
//! describes them (name, currency, time zone, …).

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::Prelude;
use super::errors::{self, TiktokError};
use super::params::{self, Params, param};
use super::vocabulary::is_valid_account_id;
use super::world;
use super::world::{AdvertiserFacts, reachable_advertisers};
use crate::state::Sandbox;
use crate::wire::OrderedObject;

/// The templated routes, as recorded in the request log.
pub(crate) const AUTHORIZED_ROUTE: &str = "/oauth2/advertiser/get/";
pub(crate) const INFO_ROUTE: &str = "/advertiser/info/";

/// The most advertiser ids one `advertiser/info/` call takes.
const MAX_IDS: usize = 100;

/// The fields `advertiser/info/` serves, in the order it answers with them.
const INFO_FIELDS: &[&str] = &[
    "advertiser_id",
    "name",
    "company",
    "status",
    "role",
    "country",
    "currency",
    "timezone",
    "display_timezone",
    "language",
    "balance",
    "create_time",
];

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, TiktokError> {
    param(params, name)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| TiktokError::missing(name))
}

/// `GET /oauth2/advertiser/get/`.
pub(crate) async fn authorized(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let params = query.map(|Query(params)| params).unwrap_or_default();
    let prelude = Prelude::begin(&sandbox, AUTHORIZED_ROUTE, None).await;
    let call = match prelude.check(&sandbox, &headers) {
        Ok(call) => call,
        Err(rejection) => return prelude.reject(&sandbox, rejection),
    };
    let response = match required(&params, "app_id").and_then(|_| required(&params, "secret")) {
        Err(error) => error.into_response(&sandbox),
        Ok(_) => {
            let mut list: Vec<Value> = reachable_advertisers()
                .iter()
                .map(|advertiser| {
                    json!({ "advertiser_id": advertiser.id, "advertiser_name": advertiser.name })
                })
                .collect();
            if call.malformed
                && let Some(first) = list.first_mut()
            {
                // A malformed answer: the first advertiser has no id.
                first["advertiser_id"] = Value::Null;
            }
            errors::ok(&sandbox, json!({ "list": list }))
        }
    };
    prelude.finish(response)
}

fn info_field(advertiser: &AdvertiserFacts, name: &str) -> Value {
    match name {
        "advertiser_id" => json!(advertiser.id),
        "name" => json!(advertiser.name),
        "company" => json!(advertiser.name.split(" · ").next().unwrap_or_default()),
        "status" => json!("STATUS_ENABLE"),
        "role" => json!("ROLE_ADVERTISER"),
        "country" => json!(advertiser.country),
        "currency" => json!(advertiser.currency.code()),
        "timezone" | "display_timezone" => json!(advertiser.time_zone.name()),
        "language" => json!("en"),
        "balance" => json!(0.0),
        "create_time" => json!(advertiser.create_time),
        _ => Value::Null,
    }
}

fn parse_info(params: &Params) -> Result<(Vec<String>, Vec<&'static str>), TiktokError> {
    let ids = params::string_array(params, "advertiser_ids")?
        .ok_or_else(|| TiktokError::missing("advertiser_ids"))?;
    if ids.is_empty() || ids.len() > MAX_IDS {
        return Err(TiktokError::invalid(
            "advertiser_ids",
            format!("Length must be between 1 and {MAX_IDS}."),
        ));
    }
    if let Some(bad) = ids.iter().find(|id| !is_valid_account_id(id)) {
        return Err(TiktokError::invalid(
            "advertiser_ids",
            format!("'{bad}' is not a valid integer."),
        ));
    }
    let fields = match params::string_array(params, "fields")? {
        None => INFO_FIELDS.to_vec(),
        Some(names) => names
            .iter()
            .map(|name| {
                INFO_FIELDS
                    .iter()
                    .copied()
                    .find(|known| known == name)
                    .ok_or_else(|| {
                        TiktokError::invalid("fields", format!("Invalid field '{name}'."))
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    Ok((ids, fields))
}

/// `GET /advertiser/info/`.
pub(crate) async fn info(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let params = query.map(|Query(params)| params).unwrap_or_default();
    // Faults and the advertiser limit follow the first advertiser asked about.
    let first = params::string_array(&params, "advertiser_ids")
        .ok()
        .flatten()
        .and_then(|ids| ids.into_iter().next());
    let prelude = Prelude::begin(&sandbox, INFO_ROUTE, first).await;
    let call = match prelude.check(&sandbox, &headers) {
        Ok(call) => call,
        Err(rejection) => return prelude.reject(&sandbox, rejection),
    };
    let response = match parse_info(&params) {
        Err(error) => error.into_response(&sandbox),
        Ok((ids, fields)) => {
            let mut list: Vec<Value> = ids
                .iter()
                .filter_map(|id| world::advertiser(id))
                .map(|advertiser| {
                    let mut object = OrderedObject::default();
                    for name in &fields {
                        object.push(name, info_field(&advertiser, name));
                    }
                    json!(object)
                })
                .collect();
            if call.malformed
                && let Some(first) = list.first_mut()
            {
                // A malformed answer: the time zone is an offset number, not a name.
                first["timezone"] = json!(8);
            }
            errors::ok(&sandbox, json!({ "list": list }))
        }
    };
    prelude.finish(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_takes_one_to_a_hundred_digit_ids() {
        let params = |ids: &str| vec![("advertiser_ids".to_owned(), ids.to_owned())];
        assert_eq!(parse_info(&params(r#"["1","2"]"#)).unwrap().0, ["1", "2"]);
        assert!(parse_info(&params("[]")).is_err());
        assert!(parse_info(&params(r#"["act_1"]"#)).is_err());
        assert_eq!(parse_info(&[]).unwrap_err().code, 40002);
    }

    #[test]
    fn every_info_field_has_a_value() {
        let advertiser = world::advertiser("31337").unwrap();
        for name in INFO_FIELDS {
            assert!(!info_field(&advertiser, name).is_null(), "{name}");
        }
    }
}
