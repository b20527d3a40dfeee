//! VAPID (RFC 8292): the key pair that identifies this deployment to push services. Browsers
//! subscribe with its public key (`GET /push/vapid`); every Web Push request carries a JWT it
//! signs (ES256), naming the push service's origin (`aud`), an expiry (`exp`) and a contact
//! (`sub`), so the push service can tell the subscription's owner is the one sending.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::{SecretKey, elliptic_curve::sec1::ToEncodedPoint, pkcs8::EncodePrivateKey};
use serde::Serialize;

/// How long a VAPID token is good for (RFC 8292: at most 24 hours).
const TOKEN_LIFETIME_SECS: i64 = 12 * 60 * 60;

#[derive(Debug, thiserror::Error)]
pub enum VapidError {
    #[error("the VAPID private key must be 32 bytes of base64url (a P-256 private key)")]
    InvalidKey,
    #[error("cannot sign a VAPID token")]
    Signing(#[source] jsonwebtoken::errors::Error),
    #[error("the push endpoint has no origin")]
    NoOrigin,
}

/// This deployment's VAPID key pair, and the contact its tokens name.
pub struct VapidKey {
    signing: EncodingKey,
    /// The uncompressed public point, base64url: what `applicationServerKey` takes.
    public_key: String,
    subject: String,
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    exp: i64,
    sub: &'a str,
}

impl VapidKey {
    /// A new private key, base64url: what `--vapid-private-key` takes.
    pub fn generate() -> String {
        let key = SecretKey::random(&mut rand::rngs::OsRng);
        URL_SAFE_NO_PAD.encode(key.to_bytes())
    }

    /// The key pair of a base64url private key; tokens name `subject` (a `mailto:` or `https:`
    /// contact for the push services' operators).
    pub fn from_private(private: &str, subject: &str) -> Result<Self, VapidError> {
        let bytes = URL_SAFE_NO_PAD.decode(private.trim().trim_end_matches('=')).map_err(|_| VapidError::InvalidKey)?;
        let key = SecretKey::from_slice(&bytes).map_err(|_| VapidError::InvalidKey)?;
        let der = key.to_pkcs8_der().map_err(|_| VapidError::InvalidKey)?;
        let public_key = URL_SAFE_NO_PAD.encode(key.public_key().to_encoded_point(false).as_bytes());
        Ok(Self { signing: EncodingKey::from_ec_der(der.as_bytes()), public_key, subject: subject.to_owned() })
    }

    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The `Authorization` header of a push to `endpoint`: `vapid t=<JWT>, k=<public key>`.
    pub fn authorization(&self, endpoint: &url::Url, now_secs: i64) -> Result<String, VapidError> {
        let origin = endpoint.origin();
        if !origin.is_tuple() {
            return Err(VapidError::NoOrigin);
        }
        let aud = origin.ascii_serialization();
        let claims = Claims { aud: &aud, exp: now_secs + TOKEN_LIFETIME_SECS, sub: &self.subject };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &self.signing)
            .map_err(VapidError::Signing)?;
        Ok(format!("vapid t={token}, k={}", self.public_key))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn signs_for_the_endpoints_origin_with_its_port() {
        let key = VapidKey::from_private(&VapidKey::generate(), "mailto:ops@example.com").unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(key.public_key()).unwrap().len(), 65);
        let endpoint = url::Url::parse("https://push.example.com:8443/p/abc").unwrap();
        let header = key.authorization(&endpoint, 1000).unwrap();
        let token = header.strip_prefix("vapid t=").unwrap().split(',').next().unwrap();
        let claims = token.split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://push.example.com:8443");
        assert_eq!(claims["exp"], 1000 + TOKEN_LIFETIME_SECS);
        assert!(header.ends_with(&format!(", k={}", key.public_key())));
        assert!(VapidKey::from_private("short", "x").is_err());
    }
}
