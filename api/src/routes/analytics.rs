//! `GET /analytics/summary`: the analytics consumer's numbers, for admins (`--admins`).
use axum::{Json, extract::State};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use crate::{
    ApiError, AppState,
    error::ErrorBody,
    extract::{AuthUser, QueryParams},
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SummaryQuery {
    /// First day, `YYYY-MM-DD` (UTC); default: 29 days before `to`.
    from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC); default: today.
    to: Option<String>,
}

#[utoipa::path(
    get, path = "/analytics/summary", tag = "analytics",
    params(SummaryQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "messages per hour and day (direct and group), daily and monthly active users, registrations, groups created and their sizes, attachments by content type", body = Object),
        (status = 400, description = "invalid dates, or a range over 366 days", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not an admin", body = ErrorBody),
    )
)]
pub(crate) async fn summary_of(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    QueryParams(query): QueryParams<SummaryQuery>,
) -> Result<Json<Value>, ApiError> {
    let numbers = state.use_cases.analytics_summary(&caller, query.from.as_deref(), query.to.as_deref()).await?;
    Ok(Json(serde_json::to_value(numbers).map_err(ApiError::internal)?))
}
