//! Numbers that settle: platforms keep restating recent days (late conversions, attribution,
//! de-duplication) until a horizon after which a day is final. A sync that re-reads its lookback
//! window must see the new numbers; one that does not is caught by comparing with the truth.

/// The value a platform reports for a day whose final value is `final_value`, when the day is
/// `age_days` old (in the account's time zone): half of it on the day itself, growing linearly
/// to all of it at `horizon_days`, and fixed from then on. With a horizon of 0 the value is
/// final at once.
pub(crate) fn restated(final_value: u64, age_days: i64, horizon_days: u32) -> u64 {
    let horizon = u64::from(horizon_days);
    let Ok(age) = u64::try_from(age_days.max(0)) else {
        return final_value;
    };
    if age >= horizon {
        return final_value;
    }
    let value = u128::from(final_value) * u128::from(horizon + age) / u128::from(2 * horizon);
    u64::try_from(value).unwrap_or(final_value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_grow_day_by_day_until_the_horizon_then_stay() {
        let seen: Vec<u64> = (0..=30).map(|age| restated(1_000, age, 28)).collect();
        assert_eq!(seen[0], 500);
        assert!(seen.windows(2).take(28).all(|pair| pair[0] < pair[1]));
        assert!(seen[28..].iter().all(|value| *value == 1_000));
        assert_eq!(restated(1_000, -1, 28), 500);
        assert_eq!(restated(1_000, 0, 0), 1_000);
        assert_eq!(restated(u64::MAX, 0, 7), u64::MAX / 2);
    }
}
