//! Money in platform units turned into the account currency's major units, one way for every
//! platform: micros (Google Ads, Snapchat: units × 1,000,000) and minor units (Meta budgets:
//! cents, or whole units for currencies without decimals); and the rule for currency codes.

use rust_decimal::Decimal;

use super::InvalidField;

/// Checks an ISO 4217 currency code: three capital letters, such as `EUR`.
pub fn check_code(field: &str, code: &str) -> Result<(), InvalidField> {
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(InvalidField::new(
            field,
            format!("{code:?} is not an ISO 4217 code such as \"EUR\""),
        ));
    }
    Ok(())
}

/// Decimal places of an ISO 4217 currency's minor unit.
pub fn decimals(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// An amount in the currency's minor units (cents) in major units (dollars).
pub fn minor_units_to_major(minor: Decimal, currency: &str) -> Decimal {
    (minor / Decimal::from(10u64.pow(decimals(currency)))).normalize()
}

/// An amount in micros (millionths of a major unit) in major units.
pub fn micros_to_major(micros: Decimal) -> Decimal {
    (micros / Decimal::from(1_000_000)).normalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(value: &str) -> Decimal {
        value.parse().unwrap()
    }

    #[test]
    fn minor_units_follow_the_currency() {
        assert_eq!(minor_units_to_major(d("5000"), "USD"), d("50"));
        assert_eq!(minor_units_to_major(d("5000"), "JPY"), d("5000"));
        assert_eq!(minor_units_to_major(d("5000"), "KWD"), d("5"));
        assert_eq!(minor_units_to_major(d("1999"), "EUR"), d("19.99"));
    }

    #[test]
    fn currency_codes_are_three_capital_letters() {
        assert!(check_code("currency", "EUR").is_ok());
        for bad in ["eur", "EURO", "E1R", "", "E\u{0}R"] {
            assert_eq!(check_code("currency", bad).unwrap_err().field, "currency");
        }
    }

    #[test]
    fn micros_are_millionths() {
        assert_eq!(micros_to_major(d("2500000000")), d("2500"));
        assert_eq!(micros_to_major(d("1230000")), d("1.23"));
        assert_eq!(micros_to_major(d("1")), d("0.000001"));
    }
}
