//! TikTok's query parameters: plain values, JSON arrays and objects passed as strings
//! (`dimensions=["campaign_id","stat_time_day"]`), 1-based `page` and `page_size` up to 1000,
//! and the `page_info` every list answer carries.

use serde::Serialize;
use serde_json::Value;

use super::errors::TiktokError;
use super::vocabulary::is_valid_account_id;

/// The largest `page_size` TikTok accepts.
pub(crate) const MAX_PAGE_SIZE: u64 = 1_000;
/// `page_size` when the request has none.
pub(crate) const DEFAULT_PAGE_SIZE: u64 = 10;

/// The query of a request, as name/value pairs in order.
pub(crate) type Params = [(String, String)];

/// The last value of parameter `name`.
pub(crate) fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// A required `advertiser_id` made of digits.
pub(crate) fn advertiser_id(params: &Params) -> Result<String, TiktokError> {
    let id = param(params, "advertiser_id")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| TiktokError::missing("advertiser_id"))?;
    if !is_valid_account_id(id) {
        return Err(TiktokError::invalid(
            "advertiser_id",
            "Not a valid integer.",
        ));
    }
    Ok(id.to_owned())
}

/// An optional parameter holding a JSON array of strings (numbers are taken as their digits,
/// as TikTok does for id lists). A value that is not such an array is refused.
pub(crate) fn string_array(
    params: &Params,
    name: &str,
) -> Result<Option<Vec<String>>, TiktokError> {
    let Some(text) = param(params, name) else {
        return Ok(None);
    };
    let invalid = || {
        TiktokError::invalid(
            name,
            "Not a valid list. Pass a JSON array, e.g. [\"a\",\"b\"].",
        )
    };
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(text) else {
        return Err(invalid());
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::String(text) => Ok(text),
            Value::Number(number) if number.is_u64() => Ok(number.to_string()),
            _ => Err(invalid()),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// An optional parameter holding JSON (`filtering`): it must parse, and is otherwise ignored.
pub(crate) fn json_value(params: &Params, name: &str) -> Result<Option<Value>, TiktokError> {
    param(params, name)
        .map(|text| {
            serde_json::from_str::<Value>(text)
                .map_err(|_| TiktokError::invalid(name, "Not a valid JSON string."))
        })
        .transpose()
}

/// The requested page: `page` from 1, `page_size` from 1 to 1000 (default 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paging {
    pub(crate) page: u64,
    pub(crate) page_size: u64,
}

impl Paging {
    pub(crate) fn parse(params: &Params) -> Result<Self, TiktokError> {
        let number = |name: &str, default: u64, max: u64| -> Result<u64, TiktokError> {
            match param(params, name) {
                None => Ok(default),
                Some(text) => match text.parse::<u64>() {
                    Ok(value) if (1..=max).contains(&value) => Ok(value),
                    _ => Err(TiktokError::invalid(
                        name,
                        format!(
                            "Must be greater than or equal to 1 and less than or equal to {max}."
                        ),
                    )),
                },
            }
        };
        Ok(Self {
            page: number("page", 1, u64::from(u32::MAX))?,
            page_size: number("page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?,
        })
    }

    /// This page's slice of `items`, with the `page_info` describing all of them. A page past
    /// the end is empty.
    pub(crate) fn slice<'a, T>(&self, items: &'a [T]) -> (&'a [T], PageInfo) {
        let total = items.len() as u64;
        let start = (self.page - 1).saturating_mul(self.page_size).min(total);
        let end = start.saturating_add(self.page_size).min(total);
        let slice = items
            .get(
                usize::try_from(start).unwrap_or(usize::MAX)
                    ..usize::try_from(end).unwrap_or(usize::MAX),
            )
            .unwrap_or_default();
        (
            slice,
            PageInfo {
                page: self.page,
                page_size: self.page_size,
                total_number: total,
                total_page: total.div_ceil(self.page_size),
            },
        )
    }
}

/// `data.page_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct PageInfo {
    pub(crate) page: u64,
    pub(crate) page_size: u64,
    pub(crate) total_number: u64,
    pub(crate) total_page: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn pages_slice_and_describe_the_whole_list() {
        let items: Vec<u32> = (0..25).collect();
        let paging = Paging::parse(&params(&[("page", "3"), ("page_size", "10")])).unwrap();
        let (slice, info) = paging.slice(&items);
        assert_eq!(slice, &[20, 21, 22, 23, 24]);
        assert_eq!((info.total_number, info.total_page), (25, 3));
        let past = Paging {
            page: 9,
            page_size: 10,
        };
        assert!(past.slice(&items).0.is_empty());
        let empty: [u32; 0] = [];
        assert_eq!(
            Paging {
                page: 1,
                page_size: 10
            }
            .slice(&empty)
            .1
            .total_page,
            0
        );
    }

    #[test]
    fn page_sizes_above_1000_are_refused() {
        let error = Paging::parse(&params(&[("page_size", "1001")])).unwrap_err();
        assert_eq!(error.code, 40002);
        assert!(error.message.starts_with("page_size:"), "{}", error.message);
        assert_eq!(
            Paging::parse(&[]).unwrap(),
            Paging {
                page: 1,
                page_size: 10
            }
        );
    }

    #[test]
    fn arrays_must_be_json_arrays() {
        let good = params(&[("advertiser_ids", r#"["1", 2]"#)]);
        assert_eq!(
            string_array(&good, "advertiser_ids").unwrap(),
            Some(vec!["1".to_owned(), "2".to_owned()])
        );
        let bad = params(&[("advertiser_ids", "1,2")]);
        assert!(string_array(&bad, "advertiser_ids").is_err());
        assert_eq!(string_array(&[], "x").unwrap(), None);
    }
}
