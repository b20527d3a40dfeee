//! The analytics numbers for people: their date range, and `confab analytics report`.
use chrono::{Days, NaiveDate, Utc};
use confab_consumers::analytics::summary;

use crate::{backend::connect, cli::ReportArgs};

/// Longest range one summary covers.
const MAX_DAYS: u64 = 366;

/// `from..=to` as `YYYY-MM-DD` days: given, or the 30 days up to today (UTC).
pub(crate) fn range(from: Option<&str>, to: Option<&str>) -> Result<(String, String), String> {
    let parse = |raw: &str, name: &str| {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| format!("{name} must be a date, YYYY-MM-DD"))
    };
    let to = match to {
        Some(raw) => parse(raw, "to")?,
        None => Utc::now().date_naive(),
    };
    let from = match from {
        Some(raw) => parse(raw, "from")?,
        None => to.checked_sub_days(Days::new(29)).unwrap_or(to),
    };
    if from > to {
        return Err("from must not be after to".into());
    }
    if from.checked_add_days(Days::new(MAX_DAYS)).is_some_and(|limit| to >= limit) {
        return Err(format!("a summary covers at most {MAX_DAYS} days"));
    }
    Ok((from.format("%Y-%m-%d").to_string(), to.format("%Y-%m-%d").to_string()))
}

pub(crate) async fn report(args: ReportArgs) -> anyhow::Result<()> {
    let (from, to) = range(args.from.as_deref(), args.to.as_deref()).map_err(anyhow::Error::msg)?;
    let backend = connect(&args.backend).await?;
    let numbers = summary(backend.analytics.as_ref(), &from, &to).await?;
    println!("{}", serde_json::to_string_pretty(&numbers)?);
    Ok(())
}
