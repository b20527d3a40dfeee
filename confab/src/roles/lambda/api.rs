//! `confab lambda api`: the router of `confab api`, run by `lambda_http`. Writes wait for their
//! projections through checkpoints, as in `confab api`; the client is the address API Gateway
//! saw (or, behind an ALB, the one it appended to `X-Forwarded-For`), and a request without an
//! `X-Request-Id` takes API Gateway's own request id, so the gateway's access log and Confab's
//! lines and events name a request alike.
use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use anyhow::bail;
use axum::{
    extract::{ConnectInfo, Request},
    http::HeaderValue,
    middleware::{self, Next},
    response::Response,
};
use confab_api::live::signals;
use confab_readmodels::LiveReadModels;
use confab_schemas::Codec;
use lambda_http::{RequestExt, request::RequestContext};
use tokio_util::sync::CancellationToken;

use crate::{
    backend::{Provision, connect_with},
    roles::{
        api::remote_projections,
        http::{ServeArgs, api_state, follow_revocations},
    },
    workers,
};

pub(super) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let backend = connect_with(&args.backend, Provision::Existing).await?;
    if backend.is_embedded() {
        bail!("a Lambda function has no disk of its own to keep: run it on --log kafka://... with DynamoDB and S3");
    }
    let live = LiveReadModels::new(backend.read_models.clone());
    let projections = remote_projections(&live);
    let codec = Arc::new(Codec::new()?);
    let state = api_state(&args, &backend, &live, codec, projections, Vec::new()).await?;
    // A warm function moves to a new generation of read models as `confab api` does.
    let shutdown = CancellationToken::new();
    let _follower = workers::follow(&args.backend, &live, None, &shutdown);
    // Sessions that end, as `confab api` follows them (a frozen function catches up when thawed).
    let _revocations = follow_revocations(&state, &backend, shutdown.clone()).await?;
    // Presence, as the API processes tell it, for `GET /users/{username}/presence`.
    let _signals = tokio::spawn(signals::follow(
        Arc::clone(&state.presence),
        Arc::clone(&state.hub),
        Arc::clone(&state.use_cases),
        shutdown.clone(),
    ));
    let app = confab_api::router(state).layer(middleware::from_fn(from_request_context));
    // The line the test harness waits for, as for the other roles.
    println!("confab lambda ready");
    lambda_http::run(app).await.map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
}

/// Gives the request the client address the rest of the API reads (rate limits, login guard),
/// from the event's request context, where a socket's peer would be; and the gateway's request
/// id where the client sent none.
async fn from_request_context(mut request: Request, next: Next) -> Response {
    let gateway_request_id = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        Some(RequestContext::ApiGatewayV1(context)) => context.request_id.clone(),
        _ => None,
    };
    if !request.headers().contains_key("x-request-id")
        && let Some(value) = gateway_request_id.and_then(|id| HeaderValue::from_str(&id).ok())
    {
        let _ = request.headers_mut().insert("x-request-id", value);
    }
    let source = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        Some(RequestContext::ApiGatewayV1(context)) => context.identity.source_ip.clone(),
        // An ALB appends the address it saw to whatever the client sent.
        Some(RequestContext::Alb(_)) => request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(|v| v.trim().to_owned()),
        _ => None,
    };
    if let Some(ip) = source.and_then(|s| s.parse::<IpAddr>().ok()) {
        let _ = request.extensions_mut().insert(ConnectInfo(SocketAddr::new(ip, 0)));
    }
    next.run(request).await
}
