//! JSON that keeps its keys in the order they were added, nested: Snapchat's answers list the
//! fields of each object in a fixed order, and `serde_json::Map` would sort them.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq};
use serde_json::Value;

/// A JSON tree whose objects keep their key order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    /// A leaf (or any plain value).
    Value(Value),
    /// An object, keys in order.
    Object(Vec<(&'static str, Json)>),
    /// An array.
    Array(Vec<Json>),
}

impl Json {
    /// An empty object.
    pub(crate) fn object() -> Self {
        Json::Object(Vec::new())
    }

    /// Adds `key` (to an object; other values are left alone).
    pub(crate) fn push(&mut self, key: &'static str, value: impl Into<Json>) {
        if let Json::Object(entries) = self {
            entries.push((key, value.into()));
        }
    }

    /// The value under `key`, if this is an object that has it.
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Object(entries) => entries
                .iter_mut()
                .find(|(k, _)| *k == key)
                .map(|(_, value)| value),
            Json::Value(_) | Json::Array(_) => None,
        }
    }

    /// Replaces (or adds) `key`.
    pub(crate) fn set(&mut self, key: &'static str, value: impl Into<Json>) {
        match self.get_mut(key) {
            Some(slot) => *slot = value.into(),
            None => self.push(key, value),
        }
    }
}

impl From<Value> for Json {
    fn from(value: Value) -> Self {
        Json::Value(value)
    }
}

impl From<Vec<Json>> for Json {
    fn from(items: Vec<Json>) -> Self {
        Json::Array(items)
    }
}

macro_rules! json_leaf {
    ($($ty:ty),*) => {
        $(impl From<$ty> for Json {
            fn from(value: $ty) -> Self {
                Json::Value(Value::from(value))
            }
        })*
    };
}

json_leaf!(&str, String, bool, u64, i64);

impl Serialize for Json {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Value(value) => value.serialize(serializer),
            Json::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_objects_keep_their_order() {
        let mut inner = Json::object();
        inner.push("z", 1u64);
        inner.push("a", "x");
        let mut outer = Json::object();
        outer.push("y", Json::Array(vec![inner]));
        outer.push("b", true);
        outer.set("b", false);
        assert_eq!(
            serde_json::to_string(&outer).unwrap(),
            r#"{"y":[{"z":1,"a":"x"}],"b":false}"#
        );
    }
}
