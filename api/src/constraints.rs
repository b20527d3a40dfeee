//! The request fields' schemas in the API document, built from the rules the use cases apply
//! (`confab_producers`' bounds and `patterns`), so the document says what a handler accepts.
use confab_producers::{
    AVATAR_CONTENT_TYPES, MAX_ATTACHMENTS_PER_MESSAGE, MAX_AVATAR_BYTES, MAX_CLIENT_MESSAGE_ID, MAX_FILE_NAME_CHARS,
    MAX_GROUP_NAME_CHARS, MAX_MESSAGE_BYTES, patterns,
};
use std::collections::BTreeMap;

use confab_producers::Limits;
use utoipa::openapi::{
    AllOfBuilder, KnownFormat, Object, ObjectBuilder, OneOfBuilder, RefOr, Schema, SchemaFormat, Type,
    schema::{AnyOfBuilder, ArrayBuilder, SchemaType},
};

/// A UUID as Confab writes them: hyphenated.
pub(crate) const UUID_PATTERN: &str = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
const UUID: &str = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn nullable_string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

/// A hyphenated UUID.
pub(crate) fn uuid() -> Object {
    string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))).pattern(Some(UUID_PATTERN)).build()
}

/// A UUID, or null.
pub(crate) fn nullable_uuid() -> Object {
    nullable_string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))).pattern(Some(UUID_PATTERN)).build()
}

/// A group name, trimmed by the server.
pub(crate) fn group_name() -> Object {
    string()
        .description(Some(format!(
            "1-{MAX_GROUP_NAME_CHARS} characters once trimmed, without control characters or bidirectional overrides"
        )))
        .pattern(Some(patterns::group_name(MAX_GROUP_NAME_CHARS)))
        .examples(["climbing"])
        .build()
}

/// A file name, kept as given.
pub(crate) fn file_name() -> Object {
    string()
        .description(Some(format!(
            "1-{MAX_FILE_NAME_CHARS} characters, not only whitespace, without path separators, control characters or bidirectional overrides; stored sealed"
        )))
        .min_length(Some(1))
        .max_length(Some(MAX_FILE_NAME_CHARS))
        .pattern(Some(patterns::file_name()))
        .examples(["boulder.jpg"])
        .build()
}

/// A message's text; left out or null when attachments carry the message. Its bound is in
/// bytes, which JSON Schema cannot say (`maxLength` counts characters), so the description
/// says it; the body limit (413) stands behind it.
pub(crate) fn message_text() -> Object {
    nullable_string()
        .description(Some(format!(
            "Up to {MAX_MESSAGE_BYTES} bytes of UTF-8 (400 `message_too_long` beyond); needs something besides whitespace unless `attachments` are given"
        )))
        .examples(["hello"])
        .build()
}

/// An edit's new text.
pub(crate) fn edited_text() -> Object {
    string()
        .pattern(Some(patterns::has_text()))
        .description(Some(format!(
            "Up to {MAX_MESSAGE_BYTES} bytes of UTF-8 (400 `message_too_long` beyond); needs something besides whitespace (400 `empty_message`)"
        )))
        .examples(["hello, fixed"])
        .build()
}

/// The client's idempotency key.
pub(crate) fn client_message_id() -> Object {
    nullable_string()
        .description(Some(format!(
            "Your idempotency key, 1-{MAX_CLIENT_MESSAGE_ID} characters: resending with the same one returns the first message"
        )))
        .min_length(Some(1))
        .max_length(Some(MAX_CLIENT_MESSAGE_ID))
        .build()
}

/// The attachments a message carries.
pub(crate) fn attachment_ids() -> utoipa::openapi::schema::Array {
    ArrayBuilder::new()
        .items(uuid())
        .max_items(Some(MAX_ATTACHMENTS_PER_MESSAGE))
        .description(Some(format!(
            "Up to {MAX_ATTACHMENTS_PER_MESSAGE} attachment ids of this conversation, uploaded (see `POST /attachments`); an id that names no attachment is a 404"
        )))
        .build()
}

/// The members a group message mentions by id.
pub(crate) fn mention_ids() -> utoipa::openapi::schema::Array {
    ArrayBuilder::new()
        .items(uuid())
        .max_items(Some(confab_producers::MAX_MENTIONS))
        .description(Some(format!(
            "User ids of members this message mentions, beside those its text names as `@username`; at most {} in all (400 `too_many_mentions`); an id of no member is a 404 `mention_not_a_member`",
            confab_producers::MAX_MENTIONS
        )))
        .build()
}

/// A group member's role.
pub(crate) fn role() -> Object {
    string().enum_values(Some(["admin", "member"])).examples(["admin"]).build()
}

/// `before` of a history or an attachment list: the `nextCursor` of its previous page.
pub(crate) fn message_cursor() -> Object {
    string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))).pattern(Some(UUID_PATTERN)).build()
}

/// `before` of `GET /chat/messages`: a message id with `recipient`, `<messageId>.<conversationId>`
/// without; the other list's cursor names no place in this one (404).
pub(crate) fn history_or_conversation_cursor() -> Object {
    string().pattern(Some(format!("^{UUID}(\\.{UUID})?$"))).build()
}

/// `before` of the group list: `<milliseconds>.<groupId>`.
pub(crate) fn group_list_cursor() -> Object {
    string().pattern(Some(format!("^[0-9]{{1,18}}\\.{UUID}$"))).build()
}

/// Text with something besides whitespace, for the document's "message or attachments" rule.
pub(crate) fn text_present() -> Object {
    string().pattern(Some(patterns::has_text())).build()
}

/// The rules that tie fields together, and the bounds this server was configured with, added
/// to the generated components.
pub(crate) fn apply(openapi: &mut utoipa::openapi::OpenApi, limits: &Limits) {
    let Some(components) = openapi.components.as_mut() else { return };
    let schemas = &mut components.schemas;
    for name in ["SendRequest", "GroupSendRequest"] {
        let text = ObjectBuilder::new().property("message", text_present()).required("message");
        let files = ObjectBuilder::new()
            .property("attachments", ArrayBuilder::new().items(uuid()).min_items(Some(1)))
            .required("attachments");
        let either = AnyOfBuilder::new().item(text).item(files);
        combine(schemas, name, either.into());
    }
    // Each alternative rules the others out, so that a body matches one or none.
    let avatar = |is: bool| ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([is]));
    let absent = || ObjectBuilder::new().schema_type(Type::Null);
    let picture_types: Vec<serde_json::Value> = AVATAR_CONTENT_TYPES.iter().map(|t| (*t).into()).collect();
    let picture = ObjectBuilder::new()
        .property("avatar", avatar(true))
        .required("avatar")
        .property("recipient", absent())
        .property("groupId", absent())
        .property("contentType", string().enum_values(Some(picture_types)))
        .property("size", ObjectBuilder::new().schema_type(Type::Integer).maximum(Some(MAX_AVATAR_BYTES)));
    let target = OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .property("recipient", string())
                .required("recipient")
                .property("avatar", avatar(false)),
        )
        .item(ObjectBuilder::new().property("groupId", string()).required("groupId").property("avatar", avatar(false)))
        .item(picture)
        .description(Some("exactly one of `recipient`, `groupId` and `avatar: true`"));
    if let Some(size) = property(schemas, "AttachmentRequest", "size") {
        size.maximum = Some(limits.attachments.max_bytes.into());
    }
    combine(schemas, "AttachmentRequest", target.into());
    if let Some(RefOr::T(Schema::Array(members))) =
        object(schemas, "CreateRequest").and_then(|o| o.properties.get_mut("members"))
    {
        members.max_items = Some(limits.group_member_limit.saturating_sub(1));
    }
}

/// The component `name` must also match `rule`.
fn combine(schemas: &mut BTreeMap<String, RefOr<Schema>>, name: &str, rule: Schema) {
    if let Some(schema) = schemas.remove(name) {
        let both = AllOfBuilder::new().item(schema).item(rule).build();
        let _ = schemas.insert(name.to_owned(), RefOr::T(Schema::AllOf(both)));
    }
}

fn object<'a>(schemas: &'a mut BTreeMap<String, RefOr<Schema>>, name: &str) -> Option<&'a mut Object> {
    match schemas.get_mut(name) {
        Some(RefOr::T(Schema::Object(object))) => Some(object),
        _ => None,
    }
}

fn property<'a>(schemas: &'a mut BTreeMap<String, RefOr<Schema>>, name: &str, field: &str) -> Option<&'a mut Object> {
    match object(schemas, name)?.properties.get_mut(field) {
        Some(RefOr::T(Schema::Object(property))) => Some(property),
        _ => None,
    }
}
