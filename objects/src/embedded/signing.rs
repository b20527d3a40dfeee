//! Signed URLs of the embedded store: an HMAC-SHA256 over the method, the object key, what the
//! request may carry (size and content type, for uploads) and the expiry. Nothing else is needed
//! to check one, so any Confab process holding the key can serve it.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac, digest::InvalidLength};
use serde::Deserialize;
use sha2::Sha256;

/// The query string of a signed URL.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SignedQuery {
    pub expires: Option<String>,
    pub size: Option<String>,
    #[serde(rename = "type")]
    pub content_type: Option<String>,
    pub sig: Option<String>,
}

/// What a signed URL allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// Upload exactly `size` bytes of `content_type`.
    Put {
        size: u64,
        content_type: String,
    },
    Get,
}

/// Why a URL is refused: every case is a 403, the request is not this URL's to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the url is not signed")]
    Unsigned,
    #[error("the url has expired")]
    Expired,
    #[error("the signature does not match this request")]
    BadSignature,
}

pub(crate) struct UrlSigner {
    /// Keyed once; each signature starts from a clone.
    keyed: Hmac<Sha256>,
}

fn canonical(method: &str, key: &str, expires: i64, grant: &Grant) -> String {
    match grant {
        Grant::Put { size, content_type } => format!("{method}\n{key}\n{expires}\n{size}\n{content_type}"),
        Grant::Get => format!("{method}\n{key}\n{expires}"),
    }
}

impl UrlSigner {
    pub(crate) fn new(key: [u8; 32]) -> Result<Self, InvalidLength> {
        Ok(Self { keyed: Hmac::<Sha256>::new_from_slice(&key)? })
    }

    fn mac(&self, method: &str, key: &str, expires: i64, grant: &Grant) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(canonical(method, key, expires, grant).as_bytes());
        mac
    }

    /// The query string that lets `grant` on `key` until `expires` (Unix seconds).
    pub(crate) fn sign(&self, key: &str, expires: i64, grant: &Grant) -> String {
        let method = method_of(grant);
        let sig = URL_SAFE_NO_PAD.encode(self.mac(method, key, expires, grant).finalize().into_bytes());
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        let _ = query.append_pair("expires", &expires.to_string());
        if let Grant::Put { size, content_type } = grant {
            let _ = query.append_pair("size", &size.to_string()).append_pair("type", content_type);
        }
        let _ = query.append_pair("sig", &sig);
        query.finish()
    }

    /// Checks `query` for a `method` request on `key` at `now` (Unix seconds).
    pub(crate) fn verify(&self, method: &str, key: &str, query: &SignedQuery, now: i64) -> Result<Grant, Refusal> {
        let (Some(expires), Some(sig)) = (&query.expires, &query.sig) else {
            return Err(Refusal::Unsigned);
        };
        let expires: i64 = expires.parse().map_err(|_| Refusal::BadSignature)?;
        let grant = match method {
            "PUT" => Grant::Put {
                size: query.size.as_deref().and_then(|s| s.parse().ok()).ok_or(Refusal::BadSignature)?,
                content_type: query.content_type.clone().ok_or(Refusal::BadSignature)?,
            },
            _ => Grant::Get,
        };
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| Refusal::BadSignature)?;
        self.mac(method_of(&grant), key, expires, &grant).verify_slice(&sig).map_err(|_| Refusal::BadSignature)?;
        if now > expires {
            return Err(Refusal::Expired);
        }
        Ok(grant)
    }
}

fn method_of(grant: &Grant) -> &'static str {
    match grant {
        Grant::Put { .. } => "PUT",
        Grant::Get => "GET",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(query: &str) -> SignedQuery {
        let pairs: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        SignedQuery {
            expires: pairs.get("expires").cloned(),
            size: pairs.get("size").cloned(),
            content_type: pairs.get("type").cloned(),
            sig: pairs.get("sig").cloned(),
        }
    }

    #[test]
    fn a_url_allows_only_what_was_signed_until_it_expires() {
        let signer = UrlSigner::new([7; 32]).unwrap();
        let grant = Grant::Put { size: 5, content_type: "image/png; charset=x".into() };
        let query = parse(&signer.sign("uploads/a", 100, &grant));
        assert_eq!(signer.verify("PUT", "uploads/a", &query, 100), Ok(grant));
        assert_eq!(signer.verify("PUT", "uploads/a", &query, 101), Err(Refusal::Expired));
        assert_eq!(signer.verify("PUT", "uploads/b", &query, 1), Err(Refusal::BadSignature));
        assert_eq!(signer.verify("GET", "uploads/a", &query, 1), Err(Refusal::BadSignature));
        let bigger = SignedQuery { size: Some("6".into()), ..query.clone() };
        assert_eq!(signer.verify("PUT", "uploads/a", &bigger, 1), Err(Refusal::BadSignature));
        let later = SignedQuery { expires: Some("200".into()), ..query.clone() };
        assert_eq!(signer.verify("PUT", "uploads/a", &later, 1), Err(Refusal::BadSignature));
        assert_eq!(signer.verify("PUT", "uploads/a", &SignedQuery::default(), 1), Err(Refusal::Unsigned));
        let other = UrlSigner::new([8; 32]).unwrap();
        assert_eq!(other.verify("PUT", "uploads/a", &query, 1), Err(Refusal::BadSignature));
    }
}
