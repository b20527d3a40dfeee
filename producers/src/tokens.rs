//! Access tokens: HS256 JWTs, `sub` = user id, `sid` = the session (login) they belong to, with
//! `iat` and `exp`. The algorithm is pinned, so `alg: none` or any other algorithm is refused.
//! A token of a session that ended is refused by the API before its `exp` (the revocations).
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The username, so handlers need no lookup to name the caller.
    pub name: String,
    /// The session: what logging out or revoking ends.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
}

/// Who is asking: the claims of a verified token (`sub` is the user id, `name` the username).
pub type Caller = Claims;

#[derive(Debug, Error)]
pub enum TokenError {
    #[error("token has expired")]
    Expired,
    #[error("token is invalid")]
    Invalid,
    #[error("cannot sign token: {0}")]
    Sign(#[source] jsonwebtoken::errors::Error),
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// How long an access token lives.
    pub ttl_secs: i64,
    /// How long a refresh token works unused; each exchange starts it again.
    pub refresh_ttl_secs: i64,
}

impl TokenKeys {
    pub fn new(secret: &[u8], ttl_secs: i64, refresh_ttl_secs: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        // `sid` is required too: a field without a default.
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs,
            refresh_ttl_secs,
        }
    }

    pub fn issue(&self, user_id: &str, username: &str, session_id: &str) -> Result<String, TokenError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_owned(),
            name: username.to_owned(),
            sid: session_id.to_owned(),
            iat: now,
            exp: now + self.ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(TokenError::Sign)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map(|data| data.claims).map_err(|e| {
            match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            }
        })
    }
}
