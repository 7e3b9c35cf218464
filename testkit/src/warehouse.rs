//! Reading back what a warehouse holds, in the stored layout of a report: for tests' assertions
//! and the benchmarks' checks.

use connectors::rows::{Layout, Row};
use rust_decimal::Decimal;
use shared::domain::{ConnectorKind, ReportSpec, Stream, SyncId};

/// The rows `schema` holds for `sync_id` in the table of `connector` and the report's level and
/// stream, sorted; none when the table does not exist yet.
pub async fn rows(
    client: &tokio_postgres::Client,
    schema: &str,
    connector: ConnectorKind,
    sync_id: SyncId,
    report: &ReportSpec,
) -> Vec<Row> {
    let layout = Layout::stored(report);
    let suffix = match report.stream {
        Stream::Performance => "",
        Stream::Entities => "_entities",
    };
    let table = format!("{schema}.{}_{}{suffix}", connector.as_str(), report.level);
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await
        .expect("reading the warehouse")
        .get(0);
    if !exists {
        return Vec::new();
    }
    let date = if layout.dated { "date" } else { "NULL::date" };
    let columns: Vec<String> = std::iter::once(date.to_string())
        .chain(layout.texts.iter().map(ToString::to_string))
        .chain(layout.numbers.iter().map(ToString::to_string))
        .collect();
    let rows = client
        .query(
            &format!(
                "SELECT {} FROM {table} WHERE sync_id = $1",
                columns.join(", ")
            ),
            &[&sync_id],
        )
        .await
        .expect("reading the warehouse");
    let texts = layout.texts.len();
    sorted(
        rows.iter()
            .map(|row| Row {
                date: row.get(0),
                texts: (0..texts).map(|i| row.get(1 + i)).collect(),
                numbers: (0..layout.numbers.len())
                    .map(|i| row.get::<_, Option<Decimal>>(1 + texts + i))
                    .collect(),
            })
            .collect(),
    )
}

/// Rows in the order the assertions compare them: by date, then texts.
pub fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by(|a, b| (a.date, &a.texts).cmp(&(b.date, &b.texts)));
    rows
}
