//! What one HTTP request may cost: how long it may take, how long its body may stall, and how
//! many may be in flight at once (past that, new ones are shed with a 503 instead of queueing).
use std::{convert::Infallible, time::Duration};

use axum::{
    Router,
    error_handling::HandleErrorLayer,
    extract::Request,
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use tower::{BoxError, ServiceBuilder, limit::GlobalConcurrencyLimitLayer};
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::ApiError;

#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// A JSON API request answers within this, or gets a 408.
    pub request_timeout: Duration,
    /// A request body that sends nothing for this long is cut off.
    pub body_idle_timeout: Duration,
    /// Requests handled at once; more are refused with 503 and `Retry-After`.
    pub max_in_flight: usize,
}

/// Cuts off JSON API requests that take longer than `timeout`, body included.
pub(crate) fn with_deadline<S: Clone + Send + Sync + 'static>(router: Router<S>, timeout: Duration) -> Router<S> {
    router.layer(middleware::from_fn(move |request: Request, next: Next| async move {
        match tokio::time::timeout(timeout, next.run(request)).await {
            Ok(response) => response,
            Err(_) => ApiError::new(StatusCode::REQUEST_TIMEOUT, "request_timeout", "the request took too long")
                .into_response(),
        }
    }))
}

/// Bounds every request of `router`: its body's stalls, and how many run at once.
pub(crate) fn bounded(router: Router, limits: HttpLimits) -> Router {
    router.layer(RequestBodyTimeoutLayer::new(limits.body_idle_timeout)).layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(|_: BoxError| async { Ok::<_, Infallible>(shed()) }))
            .load_shed()
            // One limit for the whole router: a layer on a router is applied to each route.
            .layer(GlobalConcurrencyLimitLayer::new(limits.max_in_flight)),
    )
}

fn shed() -> Response {
    ApiError::overloaded().into_response()
}
