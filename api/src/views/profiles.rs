//! A user as others see them.
use confab_producers::OpenedUser;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Profile {
    user_id: String,
    username: String,
    /// What they ask to be called; none shows the username.
    display_name: Option<String>,
    about: Option<String>,
    /// Their picture: an attachment id; download it with `GET /attachments/{attachmentId}`.
    avatar: Option<String>,
    /// When the account was registered, RFC 3339.
    created_at: String,
    /// Whether you show your presence: only in your own profile (`PATCH /me`'s answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    show_presence: Option<bool>,
}

impl From<OpenedUser> for Profile {
    fn from(user: OpenedUser) -> Self {
        Self {
            user_id: user.user_id,
            username: user.username,
            display_name: user.profile.display_name,
            about: user.profile.about,
            avatar: user.profile.avatar_id,
            created_at: confab_producers::rfc3339(user.registered_at_ms),
            show_presence: None,
        }
    }
}

impl Profile {
    /// The profile as its owner sees it: with their presence setting.
    pub(crate) fn with_presence_setting(mut self, show_presence: bool) -> Self {
        self.show_presence = Some(show_presence);
        self
    }
}
