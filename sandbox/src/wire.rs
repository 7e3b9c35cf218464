//! Small helpers for writing responses in the platforms' wire formats: JSON objects that keep
//! their key order, JSON responses, and absolute URLs that point back at the sandbox.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use serde::Serialize;
use serde::ser::SerializeMap;

/// A JSON object whose keys keep the order they were added in (platforms answer with the
/// requested fields in the requested order; `serde_json::Map` would sort them).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct OrderedObject(pub(crate) Vec<(&'static str, serde_json::Value)>);

impl OrderedObject {
    pub(crate) fn push(&mut self, key: &'static str, value: impl Into<serde_json::Value>) {
        self.0.push((key, value.into()));
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| *k == key)
    }
}

impl Serialize for OrderedObject {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// A response with a JSON body and the given content type.
pub(crate) fn json_with_type(
    status: StatusCode,
    body: &impl Serialize,
    content_type: &'static str,
) -> Response {
    let bytes = match serde_json::to_vec(body) {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, "could not serialise a response body");
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not serialise the response",
            );
        }
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A response with a JSON body (`application/json`).
pub(crate) fn json(status: StatusCode, body: &impl Serialize) -> Response {
    json_with_type(status, body, "application/json")
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}

/// Percent-encodes a query component (everything but RFC 3986 unreserved characters).
pub(crate) fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Builds a query string from name/value pairs.
pub(crate) fn build_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode_component(name), encode_component(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `http://<host>` as the client addressed the sandbox, from the `Host` header (or the URI's
/// authority for HTTP/2), so links in responses lead back to the same sandbox.
pub(crate) fn origin(headers: &HeaderMap, uri: &Uri) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|authority| authority.to_string()))
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    format!("http://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_objects_keep_their_key_order() {
        let mut object = OrderedObject::default();
        object.push("z", "1");
        object.push("a", 2);
        assert_eq!(
            serde_json::to_string(&object).unwrap(),
            r#"{"z":"1","a":2}"#
        );
    }

    #[test]
    fn query_components_are_percent_encoded() {
        let query = build_query(&[
            (
                "time_range".to_owned(),
                r#"{"since":"2025-01-01"}"#.to_owned(),
            ),
            ("fields".to_owned(), "a,b c".to_owned()),
        ]);
        assert_eq!(
            query,
            "time_range=%7B%22since%22%3A%222025-01-01%22%7D&fields=a%2Cb%20c"
        );
    }
}
