//! Every error the API answers with: `{"error": {"code": "<snake_case>", "message": "..."}}`.
use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use confab_eventlog::LogError;
use confab_producers::{ChatError, Kind};
use confab_readmodels::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    pub(crate) error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// Stable, machine-readable, snake_case.
    #[schema(example = "username_taken")]
    pub(crate) code: String,
    /// For humans; may change.
    pub(crate) message: String,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds, for `Retry-After`.
    retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }

    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub(crate) fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub(crate) fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub(crate) fn payload_too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "request body is larger than the server accepts")
    }

    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// More requests than the server takes at once; the client should come back shortly.
    pub(crate) fn overloaded() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "the server is busy; try again shortly").retry_after(1)
    }

    pub(crate) fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// A server fault: logged in full (with its chain), answered without details.
    pub(crate) fn internal(error: impl std::error::Error + 'static) -> Self {
        tracing::error!(error = &error as &dyn std::error::Error, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_owned(), message: self.message } };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            let _ = response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        let status = match e.kind() {
            Kind::Invalid => StatusCode::BAD_REQUEST,
            Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Kind::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Unavailable => {
                // The whole chain is logged: which dependency, and what it said. The answer says
                // which part failed, never the dependency's own words (addresses, names, keys).
                tracing::warn!(error = &e as &dyn std::error::Error, "dependency unavailable");
                let message = match &e {
                    // Refusals carry messages of our own.
                    ChatError::Refused { .. } => &e.to_string(),
                    ChatError::Log(LogError::Closed) => "server is shutting down",
                    ChatError::Log(LogError::Ambiguous(_)) => {
                        "event log did not confirm the write in time; retry with the same clientMessageId"
                    }
                    ChatError::Log(_) => "event log unavailable",
                    ChatError::Store(_) => "read-model store unavailable",
                    ChatError::Objects(_) => "object storage unavailable",
                    _ => "a service this request needs is unavailable",
                };
                return Self::unavailable(message);
            }
            Kind::Internal => return Self::internal(e),
        };
        let retry_after = e.retry_after();
        Self { status, code: e.code(), message: e.to_string(), retry_after }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ChatError::from(e).into()
    }
}
