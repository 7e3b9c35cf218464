//! Destination settings, validated when a destination is created.

use serde::{Deserialize, Serialize};

use super::InvalidField;

/// Where the warehouse destination writes: a schema in adsync's own database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarehouseSettings {
    #[serde(default = "WarehouseSettings::default_schema")]
    pub schema: String,
}

impl WarehouseSettings {
    fn default_schema() -> String {
        "warehouse".to_string()
    }

    pub fn validate(self) -> Result<Self, InvalidField> {
        if !is_sql_identifier(&self.schema) {
            return Err(InvalidField::new(
                "settings.schema",
                format!(
                    "{:?} must be 1 to 63 lowercase letters, digits or '_', starting with a letter or '_'",
                    self.schema
                ),
            ));
        }
        Ok(self)
    }
}

/// A plain lowercase SQL identifier that needs no quoting.
pub fn is_sql_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_must_be_plain_identifiers() {
        for good in ["warehouse", "_w", "ads_2026"] {
            assert!(
                WarehouseSettings {
                    schema: good.into()
                }
                .validate()
                .is_ok(),
                "{good}"
            );
        }
        for bad in ["", "Warehouse", "2w", "a-b", "a;drop", &"x".repeat(64)] {
            let error = WarehouseSettings { schema: bad.into() }
                .validate()
                .unwrap_err();
            assert_eq!(error.field, "settings.schema", "{bad}");
        }
    }
}
