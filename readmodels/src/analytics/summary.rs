//! The numbers as `GET /analytics/summary` and `confab analytics report` show them.
use std::collections::BTreeMap;

use chrono::{Days, NaiveDate, Utc};
use serde::Serialize;

use super::{AnalyticsStore, GROUP_SIZE};
use crate::StoreError;

/// Sorts after every bucket of a metric (buckets are dates, hours, ids and MIME types).
const AFTER_ALL: &str = "~";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// First and last day included, `YYYY-MM-DD` (UTC).
    pub from: String,
    pub to: String,
    pub messages: Messages,
    pub active_users: ActiveUsers,
    pub registrations: Registrations,
    pub groups: Groups,
    pub attachments: Vec<AttachmentsOfType>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Messages {
    pub direct: i64,
    pub group: i64,
    pub per_day: Vec<MessageCount>,
    pub per_hour: Vec<MessageCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageCount {
    /// `YYYY-MM-DD` or `YYYY-MM-DDTHH`.
    pub period: String,
    pub direct: i64,
    pub group: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveUsers {
    /// Users who did anything (registered, sent, read, changed a group) each day.
    pub daily: Vec<PeriodCount>,
    /// The same by calendar month, for the months the range touches.
    pub monthly: Vec<PeriodCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodCount {
    pub period: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registrations {
    pub total: i64,
    pub per_day: Vec<PeriodCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Groups {
    /// Created in the range.
    pub created: i64,
    /// Every group's current size, all time: how many groups have each number of members.
    pub sizes: Vec<GroupSize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupSize {
    pub members: i64,
    pub groups: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentsOfType {
    pub content_type: String,
    /// Attachments sent in messages in the range.
    pub count: i64,
    pub bytes: i64,
}

fn per_period(rows: Vec<(String, i64)>) -> Vec<PeriodCount> {
    rows.into_iter().map(|(period, count)| PeriodCount { period, count }).collect()
}

fn message_counts(direct: Vec<(String, i64)>, group: Vec<(String, i64)>) -> Vec<MessageCount> {
    let mut by_period: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (period, n) in direct {
        by_period.entry(period).or_default().0 += n;
    }
    for (period, n) in group {
        by_period.entry(period).or_default().1 += n;
    }
    by_period.into_iter().map(|(period, (direct, group))| MessageCount { period, direct, group }).collect()
}

/// The numbers for the days `from..=to` (`YYYY-MM-DD`, UTC).
pub async fn summary(store: &dyn AnalyticsStore, from: &str, to: &str) -> Result<Summary, StoreError> {
    let day_end = format!("{to}{AFTER_ALL}");
    let hours = (format!("{from}T00"), format!("{to}T23"));
    let direct_days = store.counters("messages.direct.day", from, to).await?;
    let group_days = store.counters("messages.group.day", from, to).await?;
    let messages = Messages {
        direct: direct_days.iter().map(|(_, n)| n).sum(),
        group: group_days.iter().map(|(_, n)| n).sum(),
        per_day: message_counts(direct_days, group_days),
        per_hour: message_counts(
            store.counters("messages.direct.hour", &hours.0, &hours.1).await?,
            store.counters("messages.group.hour", &hours.0, &hours.1).await?,
        ),
    };
    let active_users = ActiveUsers {
        daily: per_period(store.counters("active.day", from, to).await?),
        monthly: per_period(store.counters("active.month", &from[..from.len().min(7)], &to[..to.len().min(7)]).await?),
    };
    let registrations = per_period(store.counters("registrations.day", from, to).await?);
    let mut sizes: BTreeMap<i64, i64> = BTreeMap::new();
    for (_, size) in store.counters(GROUP_SIZE, "", AFTER_ALL).await? {
        *sizes.entry(size).or_default() += 1;
    }
    let groups = Groups {
        created: store.counters("groups.created.day", from, to).await?.iter().map(|(_, n)| n).sum(),
        sizes: sizes.into_iter().map(|(members, groups)| GroupSize { members, groups }).collect(),
    };
    let mut by_type: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (bucket, n) in store.counters("attachments.count.day", from, &day_end).await? {
        if let Some((_, content_type)) = bucket.split_once('|') {
            by_type.entry(content_type.to_owned()).or_default().0 += n;
        }
    }
    for (bucket, n) in store.counters("attachments.bytes.day", from, &day_end).await? {
        if let Some((_, content_type)) = bucket.split_once('|') {
            by_type.entry(content_type.to_owned()).or_default().1 += n;
        }
    }
    Ok(Summary {
        from: from.to_owned(),
        to: to.to_owned(),
        messages,
        active_users,
        registrations: Registrations { total: registrations.iter().map(|r| r.count).sum(), per_day: registrations },
        groups,
        attachments: by_type
            .into_iter()
            .map(|(content_type, (count, bytes))| AttachmentsOfType { content_type, count, bytes })
            .collect(),
    })
}

/// Longest range one summary covers.
const MAX_DAYS: u64 = 366;

/// `from..=to` as `YYYY-MM-DD` days: given, or the 30 days up to today (UTC).
pub fn day_range(from: Option<&str>, to: Option<&str>) -> Result<(String, String), String> {
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
