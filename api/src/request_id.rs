//! `X-Request-Id`: a client's own id when it is plain enough to log, otherwise one made here. It
//! goes on the request (where the trace span reads it), around the handler (where the publisher
//! writes it into the events' headers) and back on the answer.
use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use confab_producers::RequestId;

pub(crate) static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Tags the request and its answer with its id, and runs the handler as part of it.
pub(crate) async fn tag_request(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .and_then(RequestId::from_client)
        .unwrap_or_else(RequestId::generate);
    // Plain ASCII by construction (see `RequestId`), so always a valid header value.
    let value = HeaderValue::from_str(id.as_str()).ok();
    if let Some(value) = &value {
        let _ = request.headers_mut().insert(X_REQUEST_ID.clone(), value.clone());
    }
    let mut response = id.scope(next.run(request)).await;
    if let Some(value) = value {
        let _ = response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    response
}

/// The id `tag_request` put on a request.
pub(crate) fn of(request: &Request) -> &str {
    request.headers().get(&X_REQUEST_ID).and_then(|value| value.to_str().ok()).unwrap_or("")
}
