//! A benchmark's progress read from the pipeline's own metrics in this process (the scheduler's
//! published jobs, the worker's finished attempts), so watching costs the database nothing: a
//! count over the jobs table every few milliseconds competes with the pipeline it watches.

use std::time::Duration;

use anyhow::bail;

/// The sum of every series of the counter `name` (whose labels include `label`, if given)
/// in this process's default registry; 0 before the counter is first registered.
pub(crate) fn counter(name: &str, label: Option<(&str, &str)>) -> u64 {
    prometheus::gather()
        .iter()
        .filter(|family| family.name() == name)
        .flat_map(|family| family.get_metric())
        .filter(|metric| {
            label.is_none_or(|(key, value)| {
                metric
                    .get_label()
                    .iter()
                    .any(|pair| pair.name() == key && pair.value() == value)
            })
        })
        .map(|metric| metric.get_counter().get_value() as u64)
        .sum()
}

/// Waits until `counter(name, label)` reaches `target`, polling every 5 ms; fails after
/// `patience`.
pub(crate) async fn wait_for(
    name: &str,
    label: Option<(&str, &str)>,
    target: u64,
    patience: Duration,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let value = counter(name, label);
        if value >= target {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("{name} reached {value} of {target} within {patience:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
