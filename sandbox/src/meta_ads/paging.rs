//! Graph cursor paging, shared by every edge: `limit` (default 25), `after` cursors that point
//! into one result set, `paging.cursors.{before,after}` and an absolute `paging.next` link on
//! every page but the last; an empty result has no `paging` at all.
//!
//! A cursor is the base64 of a fingerprint of the result set and an offset, so a cursor from
//! another query is refused with code 2642. The page size may change between pages.

use base64::Engine as _;
use serde::Serialize;

use super::errors::MetaError;
use super::param;
use crate::wire::{self, OrderedObject};

/// Rows per page when `limit` is absent.
pub(crate) const DEFAULT_LIMIT: usize = 25;
/// The largest `limit` accepted.
pub(crate) const MAX_LIMIT: usize = 5_000;

/// One page of an edge.
#[derive(Debug, Serialize)]
pub(crate) struct Page {
    pub(crate) data: Vec<OrderedObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) paging: Option<Paging>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Paging {
    cursors: Cursors,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

#[derive(Debug, Serialize)]
struct Cursors {
    before: String,
    after: String,
}

fn engine() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

pub(crate) fn encode_cursor(fingerprint: u64, offset: usize) -> String {
    engine().encode(format!("{fingerprint:016x}:{offset}"))
}

pub(crate) fn decode_cursor(cursor: &str, fingerprint: u64) -> Option<usize> {
    let bytes = engine().decode(cursor.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (print, offset) = text.split_once(':')?;
    (u64::from_str_radix(print, 16).ok()? == fingerprint).then_some(())?;
    offset.parse().ok()
}

/// The page window a request asks for: `limit` and the offset of its `after` cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) limit: usize,
    pub(crate) offset: usize,
}

impl Window {
    /// Reads `limit` and `after` (which must belong to `fingerprint`).
    pub(crate) fn parse(params: &[(String, String)], fingerprint: u64) -> Result<Self, MetaError> {
        let limit = match param(params, "limit") {
            None => DEFAULT_LIMIT,
            Some(text) => match text.parse::<usize>() {
                Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
                _ => {
                    return Err(MetaError::invalid_parameter(format!(
                        "param limit must be an integer between 1 and {MAX_LIMIT}, got '{text}'"
                    )));
                }
            },
        };
        let offset = match param(params, "after") {
            None => 0,
            Some(cursor) => {
                decode_cursor(cursor, fingerprint).ok_or_else(MetaError::invalid_cursor)?
            }
        };
        Ok(Self { limit, offset })
    }
}

/// The page of `items` at `window`, rendered with `render`; `next_base` is the absolute URL of
/// the edge (without query), to which the request's parameters and the next cursor are added.
pub(crate) fn page<T>(
    items: &[T],
    window: Window,
    fingerprint: u64,
    params: &[(String, String)],
    next_base: &str,
    render: impl Fn(&T) -> OrderedObject,
) -> Result<Page, MetaError> {
    if window.offset > items.len() {
        return Err(MetaError::invalid_cursor());
    }
    let end = (window.offset + window.limit).min(items.len());
    let slice = items.get(window.offset..end).unwrap_or_default();
    if slice.is_empty() {
        return Ok(Page {
            data: Vec::new(),
            paging: None,
        });
    }
    let after = encode_cursor(fingerprint, end);
    let next = (end < items.len()).then(|| {
        let mut next_params: Vec<(String, String)> = params
            .iter()
            .filter(|(name, _)| name != "after" && name != "before")
            .cloned()
            .collect();
        next_params.push(("after".to_owned(), after.clone()));
        format!("{next_base}?{}", wire::build_query(&next_params))
    });
    Ok(Page {
        data: slice.iter().map(render).collect(),
        paging: Some(Paging {
            cursors: Cursors {
                before: encode_cursor(fingerprint, window.offset),
                after,
            },
            next,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_other_queries() {
        let cursor = encode_cursor(42, 75);
        assert_eq!(decode_cursor(&cursor, 42), Some(75));
        assert_eq!(decode_cursor(&cursor, 43), None);
        assert_eq!(decode_cursor("not a cursor!", 42), None);
        assert_eq!(decode_cursor("MAZDZD", 42), None);
    }

    #[test]
    fn pages_link_to_the_next_until_the_last() {
        let items: Vec<u32> = (0..5).collect();
        let render = |item: &u32| {
            let mut object = OrderedObject::default();
            object.push("n", *item);
            object
        };
        let first = page(
            &items,
            Window {
                limit: 2,
                offset: 0,
            },
            7,
            &[("limit".to_owned(), "2".to_owned())],
            "http://x/e",
            render,
        )
        .unwrap();
        assert_eq!(first.data.len(), 2);
        let next = first.paging.as_ref().unwrap().next.clone().unwrap();
        assert!(next.starts_with("http://x/e?limit=2&after="), "{next}");
        let last = page(
            &items,
            Window {
                limit: 2,
                offset: 4,
            },
            7,
            &[],
            "http://x/e",
            render,
        )
        .unwrap();
        assert_eq!(last.data.len(), 1);
        assert!(last.paging.unwrap().next.is_none());
    }
}
