//! The HTTP surface. Each file is one resource; `openapi` describes them all.

pub(crate) mod analytics;
pub(crate) mod attachments;
pub(crate) mod auth;
pub(crate) mod blocks;
pub(crate) mod chat;
pub(crate) mod encryption;
pub(crate) mod export;
pub(crate) mod group_messages;
pub(crate) mod groups;
pub(crate) mod members;
pub(crate) mod message_changes;
pub(crate) mod mutes;
pub(crate) mod objects;
pub(crate) mod pins;
pub(crate) mod presence;
pub(crate) mod push;
pub(crate) mod receipts;
pub(crate) mod sessions;
pub(crate) mod users;
pub(crate) mod web;

use std::{any::Any, time::Duration};

use futures::StreamExt;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    http::{StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{delete, get, patch, post, put},
};
use tower_http::{
    catch_panic::CatchPanicLayer,
    trace::{DefaultOnFailure, DefaultOnResponse, OnResponse, TraceLayer},
};
use tracing::{Level, Span};

use crate::{
    ApiError, AppState, cors, health,
    http_limits::{bounded, in_pool, with_deadline},
    metrics, openapi, request_id, trace_context,
};

/// Largest request body accepted; a message itself may be at most 64 KiB, and JSON escaping can
/// grow it several times.
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Most of an oversized body read and thrown away before answering 413, so a client that writes
/// its whole body reads the answer instead of a reset connection (nginx's lingering close).
const DRAIN_BYTES: usize = 8 * MAX_BODY_BYTES;
/// How long that drain may take.
const DRAIN_TIME: Duration = Duration::from_secs(5);
/// A pause this long ends the drain.
const DRAIN_PAUSE: Duration = Duration::from_millis(500);

/// Every endpoint of the API.
pub fn router(state: AppState) -> Router {
    let limits = state.http;
    let proxies = state.trusted_proxies.clone();
    let cors_origins = state.cors_origins.clone();
    // Attachment bytes stream through the embedded store's URLs, beside the JSON API's body
    // limits (their size is what the URL was signed for) and in a pool of their own.
    let objects = Router::new()
        .route("/objects/{*key}", put(objects::upload).get(objects::download))
        .layer(DefaultBodyLimit::disable());
    let objects = in_pool(objects, limits.max_transfers);
    let api = Router::new()
        .route("/", get(web::page))
        .route("/web/{file}", get(web::asset))
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(sessions::refresh))
        .route("/auth/logout", post(sessions::logout))
        .route("/auth/sessions", get(sessions::list))
        .route("/auth/sessions/{session_id}", delete(sessions::end))
        .route("/auth/password", post(sessions::change_password))
        .route("/users", get(users::search))
        .route("/users/{username}", get(users::profile))
        .route("/users/{username}/presence", get(presence::presence))
        .route("/me", patch(users::update_me).delete(users::delete_me))
        .route("/me/blocked", get(blocks::list))
        .route("/me/export", get(export::export))
        .route("/me/blocked/{username}", put(blocks::block).delete(blocks::unblock))
        .route("/me/push", get(push::list))
        .route("/me/push/{device_id}", put(push::register).delete(push::remove))
        .route("/push/vapid", get(push::vapid))
        .route("/me/mutes", get(mutes::list))
        .route("/me/mutes/{to}", put(mutes::mute).delete(mutes::unmute))
        .route("/chat/send", post(chat::send))
        .route("/chat/messages", get(chat::messages))
        .route(
            "/chat/messages/{message_id}",
            patch(message_changes::edit_direct).delete(message_changes::delete_direct),
        )
        .route(
            "/chat/messages/{message_id}/reactions/{emoji}",
            put(message_changes::react_direct).delete(message_changes::unreact_direct),
        )
        .route("/chat/messages/{message_id}/hide", post(message_changes::hide_direct))
        .route("/chat/messages/{message_id}/pin", put(pins::pin_direct).delete(pins::unpin_direct))
        .route("/chat/pins", get(pins::direct_pins))
        .route("/chat/read", post(receipts::read_direct))
        .route("/groups/{group_id}/read", post(receipts::read_group))
        .route("/ws", get(crate::live::socket::connect))
        .route("/groups", get(groups::list))
        .route("/groups/create", post(groups::create))
        .route("/groups/{group_id}", get(groups::get).patch(groups::rename))
        .route("/groups/{group_id}/add-member", put(members::add_member))
        .route("/groups/{group_id}/members/{username}", delete(members::remove_member))
        .route("/groups/{group_id}/members/{username}/role", put(members::set_role))
        .route("/groups/{group_id}/send", post(group_messages::send))
        .route("/groups/{group_id}/messages", get(group_messages::messages))
        .route(
            "/groups/{group_id}/messages/{message_id}",
            patch(message_changes::edit_group).delete(message_changes::delete_group),
        )
        .route(
            "/groups/{group_id}/messages/{message_id}/reactions/{emoji}",
            put(message_changes::react_group).delete(message_changes::unreact_group),
        )
        .route("/groups/{group_id}/messages/{message_id}/hide", post(message_changes::hide_group))
        .route("/groups/{group_id}/messages/{message_id}/pin", put(pins::pin_group).delete(pins::unpin_group))
        .route("/groups/{group_id}/pins", get(pins::group_pins))
        .route("/attachments", post(attachments::request))
        .route("/attachments/{attachment_id}", get(attachments::download))
        .route("/attachments/{attachment_id}/complete", post(attachments::complete))
        .route("/chat/attachments", get(attachments::direct_attachments))
        .route("/groups/{group_id}/attachments", get(attachments::group_attachments))
        .route("/analytics/summary", get(analytics::summary_of))
        .route("/encrypt", post(encryption::encrypt))
        .route("/decrypt", post(encryption::decrypt))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(openapi::document))
        .route("/metrics", get(metrics::serve).with_state(state.metrics.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(refuse_oversize));
    let api = in_pool(with_deadline(api, limits.request_timeout), limits.max_in_flight);
    let routes = api
        .merge(objects)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(metrics::track_requests))
        // 5xx answers are logged where they arise (faults at error, overload and outages at
        // warn); the trace adds the request, not a second alarm.
        // The span names the path, never the query: it carries `?token=` on /ws and the
        // signatures of signed URLs.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let id = request_id::of(request);
                    let span = tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = id,
                        otel.name = tracing::field::Empty,
                        otel.kind = tracing::field::Empty,
                    );
                    trace_context::join(&span, request);
                    span
                })
                .on_response(|response: &Response, latency: Duration, span: &Span| {
                    trace_context::answered(span, response.status());
                    DefaultOnResponse::new().on_response(response, latency, span);
                })
                .on_failure(DefaultOnFailure::new().level(Level::DEBUG)),
        )
        .with_state(state);
    // Outermost: every answer carries its request id, refusals by the limits included, and a
    // preflight is answered before it costs anything.
    let routes = bounded(routes, limits, proxies).layer(middleware::from_fn(request_id::tag_request));
    match cors::layer(&cors_origins) {
        Some(cors) => routes.layer(cors),
        None => routes,
    }
}

/// Refuses a body over the limit, and reads up to `DRAIN_BYTES` of it first so the client reads
/// the 413: at once when its declared length says so, or once that many bytes of a chunked body
/// have arrived (such a body is held here, at most the limit, and handed on whole).
async fn refuse_oversize(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(length) = declared {
        if length > MAX_BODY_BYTES {
            if length <= DRAIN_BYTES {
                drain(request.into_body().into_data_stream(), 0).await;
            }
            return ApiError::payload_too_large().into_response();
        }
        return next.run(request).await;
    }
    if !request.headers().contains_key(header::TRANSFER_ENCODING) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let mut stream = body.into_data_stream();
    let mut held = Vec::new();
    let mut failed = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => held.extend_from_slice(&chunk),
            Err(error) => {
                failed = Some(error);
                break;
            }
        }
        if held.len() > MAX_BODY_BYTES {
            drain(stream, held.len()).await;
            return ApiError::payload_too_large().into_response();
        }
    }
    // What was read, then the error that ended it, if any: the handler's extractor answers it.
    let whole = futures::stream::once(async move { Ok::<_, axum::Error>(axum::body::Bytes::from(held)) })
        .chain(futures::stream::iter(failed.map(Err)));
    next.run(Request::from_parts(parts, axum::body::Body::from_stream(whole))).await
}

/// Reads and drops what is left of a refused body, up to `DRAIN_BYTES` in all (`read` so far),
/// for at most `DRAIN_TIME`, stopping at a pause.
async fn drain(mut body: axum::body::BodyDataStream, mut read: usize) {
    let drained = async {
        // A client that pauses is not sending its body; answer it.
        while let Ok(Some(Ok(chunk))) = tokio::time::timeout(DRAIN_PAUSE, body.next()).await {
            read += chunk.len();
            if read > DRAIN_BYTES {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, drained).await;
}

async fn not_found() -> ApiError {
    ApiError::not_found("not_found", "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this endpoint")
}

fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    ApiError::internal(std::io::Error::other("handler panicked")).into_response()
}
