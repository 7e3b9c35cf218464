//! Exact decimal rendering of integer amounts and ratios, the way the platforms print numbers
//! (`"12.3"`, `"12"`, never `"12.30"` or `"1.2e1"`).
//!
//! Everything is computed on integers so the text is identical on every machine.

/// Renders `minor` units of a currency with `decimals` decimal places, without trailing zeros:
/// `(533950, 2)` is `"5339.5"`, `(1200, 2)` is `"12"`, `(1234, 0)` is `"1234"`.
pub(crate) fn minor_units(minor: u64, decimals: u32) -> String {
    fixed_point(u128::from(minor), decimals)
}

/// Renders `numerator / denominator` rounded half-up to at most `max_decimals` places, without
/// trailing zeros. Returns `None` when the denominator is zero.
pub(crate) fn ratio(numerator: u128, denominator: u128, max_decimals: u32) -> Option<String> {
    if denominator == 0 {
        return None;
    }
    let scale = 10u128.pow(max_decimals);
    let scaled = (numerator * scale * 2 + denominator) / (denominator * 2);
    Some(fixed_point(scaled, max_decimals))
}

/// Renders `value / 10^decimals` without trailing zeros.
fn fixed_point(value: u128, decimals: u32) -> String {
    let scale = 10u128.pow(decimals);
    let whole = value / scale;
    let fraction = value % scale;
    if fraction == 0 {
        return whole.to_string();
    }
    let width = usize::try_from(decimals).unwrap_or(0);
    let digits = format!("{fraction:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_drop_trailing_zeros() {
        assert_eq!(minor_units(533_950, 2), "5339.5");
        assert_eq!(minor_units(1_200, 2), "12");
        assert_eq!(minor_units(1_205, 2), "12.05");
        assert_eq!(minor_units(7, 2), "0.07");
        assert_eq!(minor_units(0, 2), "0");
        assert_eq!(minor_units(1_234, 0), "1234");
    }

    #[test]
    fn ratios_round_half_up_to_six_places() {
        assert_eq!(ratio(1, 3, 6).as_deref(), Some("0.333333"));
        assert_eq!(ratio(2, 3, 6).as_deref(), Some("0.666667"));
        assert_eq!(ratio(10, 4, 6).as_deref(), Some("2.5"));
        assert_eq!(ratio(8, 4, 6).as_deref(), Some("2"));
        assert_eq!(ratio(1, 0, 6), None);
    }
}
