//! What HTTP requests may cost: how long one may take, how long its body may stall, how many run
//! at once in each pool (past that, new ones are shed with a 503 instead of queueing), and how
//! many one client may have in flight (past that, a 429), so one address cannot fill a pool.
use std::{convert::Infallible, net::IpAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    error_handling::HandleErrorLayer,
    extract::{Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use tower::{BoxError, ServiceBuilder, limit::GlobalConcurrencyLimitLayer};
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::{
    ApiError, TrustedProxies,
    client_addr::peer_of,
    metrics,
    tally::{Slot, Tally},
};

#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// A JSON API request answers within this, or gets a 408.
    pub request_timeout: Duration,
    /// A request body that sends nothing for this long is cut off.
    pub body_idle_timeout: Duration,
    /// JSON API requests handled at once; more are refused with 503 and `Retry-After`.
    pub max_in_flight: usize,
    /// Attachment uploads and downloads at the embedded store's URLs handled at once, in a pool
    /// of their own: slow transfers never take the API's places.
    pub max_transfers: usize,
    /// Requests (of both pools) one client may have in flight; more are refused with 429.
    pub max_in_flight_per_client: usize,
    /// An upload that averages less than this many bytes a second, once `UPLOAD_GRACE` has
    /// passed, is cut off.
    pub upload_min_bytes_per_sec: u64,
}

/// Cuts off JSON API requests that take longer than `timeout`, body included.
pub(crate) fn with_deadline<S: Clone + Send + Sync + 'static>(router: Router<S>, timeout: Duration) -> Router<S> {
    router.layer(middleware::from_fn(move |request: Request, next: Next| async move {
        match tokio::time::timeout(timeout, next.run(request)).await {
            Ok(response) => response,
            Err(_) => {
                metrics::refused("request_timeout");
                ApiError::new(StatusCode::REQUEST_TIMEOUT, "request_timeout", "the request took too long")
                    .into_response()
            }
        }
    }))
}

/// Runs the routes of `router` in a pool of `size`: a request past it is shed with a 503.
pub(crate) fn in_pool<S: Clone + Send + Sync + 'static>(router: Router<S>, size: usize) -> Router<S> {
    router.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(|_: BoxError| async { Ok::<_, Infallible>(shed()) }))
            .load_shed()
            // One limit for the whole router: a layer on a router is applied to each route.
            .layer(GlobalConcurrencyLimitLayer::new(size)),
    )
}

/// Bounds every request of `router` per client, and its body's stalls.
pub(crate) fn bounded(router: Router, limits: HttpLimits, proxies: TrustedProxies) -> Router {
    let per_client = PerClient { in_flight: Arc::default(), max: limits.max_in_flight_per_client, proxies };
    router
        .layer(middleware::from_fn_with_state(per_client, per_client_gate))
        .layer(RequestBodyTimeoutLayer::new(limits.body_idle_timeout))
}

/// Requests in flight per client.
#[derive(Clone)]
struct PerClient {
    in_flight: Arc<Tally<IpAddr>>,
    max: usize,
    proxies: TrustedProxies,
}

async fn per_client_gate(State(per_client): State<PerClient>, request: Request, next: Next) -> Response {
    let client = per_client.proxies.client_of(peer_of(request.extensions()), request.headers());
    let Some(slot): Option<Slot<IpAddr>> = per_client.in_flight.take(client, per_client.max) else {
        metrics::refused("too_many_in_flight");
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_in_flight",
            "too many requests in flight from this address; wait for some to finish",
        )
        .retry_after(1)
        .into_response();
    };
    let response = next.run(request).await;
    drop(slot);
    response
}

fn shed() -> Response {
    metrics::refused("overloaded");
    ApiError::overloaded().into_response()
}
