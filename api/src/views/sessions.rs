//! A session (a login on a device) as its user sees it.
use confab_producers::{SessionView, rfc3339};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Session {
    session_id: String,
    /// What the client called the device at login, if anything.
    device_name: Option<String>,
    /// RFC 3339, UTC.
    created_at: String,
    /// The last login or refresh of the session, RFC 3339.
    last_seen_at: String,
    /// Whether this is the session of the token asking.
    current: bool,
}

impl From<SessionView> for Session {
    fn from(view: SessionView) -> Self {
        Self {
            session_id: view.row.session_id,
            device_name: view.row.device_name,
            created_at: rfc3339(view.row.started_at_ms),
            last_seen_at: rfc3339(view.row.last_seen_ms),
            current: view.current,
        }
    }
}
