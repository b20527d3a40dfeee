//! `GET /openapi.json`: the OpenAPI 3 document of every endpoint, generated from the handlers.
use axum::{Json, extract::State};
use utoipa::{
    Modify, OpenApi,
    openapi::{
        ContentBuilder, Ref, RefOr, ResponseBuilder,
        path::Operation,
        security::{Http, HttpAuthScheme, SecurityScheme},
    },
};

use crate::{
    AppState, constraints, health,
    routes::{
        analytics, attachments, auth, blocks, chat, encryption, export, group_messages, groups, members,
        message_changes, mutes, pins, presence, push, receipts, sessions, users,
    },
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Confab", description = "Event-sourced one-on-one and group chat."),
    paths(
        auth::register, auth::login,
        sessions::refresh, sessions::logout, sessions::list, sessions::end, sessions::change_password,
        users::profile, presence::presence, users::search, users::update_me, users::delete_me,
        blocks::block, blocks::unblock, blocks::list, export::export,
        push::register, push::remove, push::list, push::vapid, mutes::mute, mutes::unmute, mutes::list,
        chat::send, chat::messages, receipts::read_direct,
        message_changes::edit_direct, message_changes::delete_direct,
        message_changes::react_direct, message_changes::unreact_direct, message_changes::hide_direct,
        pins::pin_direct, pins::unpin_direct, pins::direct_pins,
        groups::create, groups::list, groups::get, groups::rename,
        members::add_member, members::remove_member, members::set_role,
        group_messages::send, group_messages::messages, receipts::read_group,
        message_changes::edit_group, message_changes::delete_group,
        message_changes::react_group, message_changes::unreact_group, message_changes::hide_group,
        pins::pin_group, pins::unpin_group, pins::group_pins,
        attachments::request, attachments::complete, attachments::download,
        attachments::direct_attachments, attachments::group_attachments,
        crate::live::socket::connect,
        analytics::summary_of,
        encryption::encrypt, encryption::decrypt,
        health::healthz, health::readyz, crate::metrics::serve,
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&BearerAuth, &CommonRefusals),
    tags(
        (name = "auth", description = "accounts, sessions and tokens"),
        (name = "people", description = "profiles, finding someone to chat with, and blocking"),
        (name = "chat", description = "one-on-one messages"),
        (name = "groups", description = "group chat: membership and messages"),
        (name = "attachments", description = "files moved straight to and from object storage through pre-signed URLs, verified by the attachment indexer"),
        (name = "analytics", description = "the analytics consumer's numbers, for admins"),
        (name = "encryption", description = "the caller's own AES-256-GCM key"),
        (name = "push", description = "push notifications to devices with no open socket: Web Push subscriptions, push gateway webhooks, and mutes"),
        (name = "live", description = "real-time delivery over WebSocket; the frames are listed in the README"),
        (name = "operations", description = "health, readiness and metrics"),
    )
)]
pub(crate) struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".into());
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}

/// The refusals any operation can answer with, whatever it does: the bounds and limits that
/// stand before every handler. Added where an operation does not describe them itself.
struct CommonRefusals;

impl CommonRefusals {
    fn add(operation: &mut Operation) {
        let with_body = operation.request_body.is_some();
        let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
        let mut refusals = vec![
            ("400", "malformed path, query or body parameters"),
            ("429", "too many requests from this user or address; see Retry-After"),
            ("503", "overloaded (see Retry-After) or a dependency unavailable"),
        ];
        if with_body {
            refusals.extend([
                ("408", "the request body did not arrive in time"),
                ("413", "body larger than the server accepts"),
                ("415", "the body is not application/json"),
            ]);
        }
        if secured {
            refusals.push(("401", "missing, invalid or expired token"));
        }
        for (status, description) in refusals {
            let error = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
            let response = ResponseBuilder::new().description(description).content("application/json", error).build();
            let _ = operation.responses.responses.entry(status.to_owned()).or_insert(RefOr::T(response));
        }
    }
}

impl Modify for CommonRefusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                Self::add(operation);
            }
        }
    }
}

/// The document, with the bounds this server was configured with.
pub(crate) async fn document(State(state): State<AppState>) -> Json<utoipa::openapi::OpenApi> {
    let mut document = ApiDoc::openapi();
    constraints::apply(&mut document, &state.use_cases.limits);
    Json(document)
}
