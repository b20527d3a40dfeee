//! CloudFront signed URLs for downloads: with a distribution in front of the bucket, clients
//! fetch attachments from the edge, each URL signed for one object and one expiry with a canned
//! policy, as CloudFront documents ("Create a signed URL using a canned policy"): the policy
//! `{"Statement":[{"Resource":URL,"Condition":{"DateLessThan":{"AWS:EpochTime":T}}}]}` without
//! whitespace, signed with RSA-SHA1 (PKCS #1 v1.5), base64 with `+=/` replaced by `-_~`.
//!
//! Signing uses OpenSSL (vendored, as librdkafka's TLS is) rather than a pure-Rust RSA whose
//! private-key operations are not constant-time: every download ticket signs, so an attacker
//! could time as many signatures as they like.
use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use async_trait::async_trait;
use base64::{Engine, engine::general_purpose::STANDARD};
use openssl::{
    hash::MessageDigest,
    pkey::{PKey, Private},
    sign::Signer,
};

use crate::{ObjectError, ObjectMeta, ObjectStore, PresignedRequest, UploadTerms, error::unavailable, valid_key};

/// Signs CloudFront URLs for objects under one distribution.
pub struct CdnSigner {
    /// The distribution's URL for the bucket's root, e.g. `https://d111111abcdef8.cloudfront.net`.
    base: String,
    key_pair_id: String,
    key: PKey<Private>,
}

#[derive(Debug, thiserror::Error)]
pub enum CdnKeyError {
    #[error("the CloudFront private key is not an RSA key in PEM (PKCS #1 or PKCS #8): {0}")]
    Unreadable(#[source] openssl::error::ErrorStack),
    #[error("the CloudFront private key is not an RSA key")]
    NotRsa,
    #[error("the CloudFront URL must be an https:// or http:// URL: {0:?}")]
    BadUrl(String),
}

impl CdnSigner {
    /// A signer for `base` with the key pair `key_pair_id` (a CloudFront public key's id) and its
    /// private key in PEM.
    pub fn new(base: &str, key_pair_id: &str, private_key_pem: &[u8]) -> Result<Self, CdnKeyError> {
        if !(base.starts_with("https://") || base.starts_with("http://")) || base.contains(['?', '#']) {
            return Err(CdnKeyError::BadUrl(base.to_owned()));
        }
        let key = PKey::private_key_from_pem(private_key_pem).map_err(CdnKeyError::Unreadable)?;
        if key.rsa().is_err() {
            return Err(CdnKeyError::NotRsa);
        }
        Ok(Self { base: base.trim_end_matches('/').to_owned(), key_pair_id: key_pair_id.to_owned(), key })
    }

    /// The signed URL of the object `key`, valid until `expires` (seconds since the epoch).
    pub fn sign(&self, key: &str, expires: u64) -> Result<String, ObjectError> {
        if !valid_key(key) {
            return Err(ObjectError::InvalidKey(key.to_owned()));
        }
        let resource = format!("{}/{key}", self.base);
        let policy = canned_policy(&resource, expires);
        let mut signer = Signer::new(MessageDigest::sha1(), &self.key).map_err(unavailable)?;
        signer.update(policy.as_bytes()).map_err(unavailable)?;
        let signature = signer.sign_to_vec().map_err(unavailable)?;
        Ok(format!(
            "{resource}?Expires={expires}&Signature={}&Key-Pair-Id={}",
            url_safe(&STANDARD.encode(signature)),
            self.key_pair_id
        ))
    }
}

/// The canned policy CloudFront rebuilds from a URL to check its signature; byte for byte.
pub fn canned_policy(resource: &str, expires: u64) -> String {
    format!(
        r#"{{"Statement":[{{"Resource":"{resource}","Condition":{{"DateLessThan":{{"AWS:EpochTime":{expires}}}}}}}]}}"#
    )
}

/// CloudFront's URL-safe base64: `+` `=` `/` become `-` `_` `~`.
fn url_safe(base64: &str) -> String {
    base64
        .chars()
        .map(|c| match c {
            '+' => '-',
            '=' => '_',
            '/' => '~',
            c => c,
        })
        .collect()
}

/// An object store whose downloads go through CloudFront; everything else is the store's own.
pub struct CdnDownloads {
    store: Arc<dyn ObjectStore>,
    signer: CdnSigner,
}

impl CdnDownloads {
    pub fn new(store: Arc<dyn ObjectStore>, signer: CdnSigner) -> Self {
        Self { store, signer }
    }
}

#[async_trait]
impl ObjectStore for CdnDownloads {
    async fn ping(&self) -> Result<(), ObjectError> {
        self.store.ping().await
    }

    async fn presign_put(&self, terms: &UploadTerms<'_>) -> Result<PresignedRequest, ObjectError> {
        self.store.presign_put(terms).await
    }

    async fn presign_get(&self, key: &str, expires_in: Duration) -> Result<PresignedRequest, ObjectError> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(unavailable)?;
        let url = self.signer.sign(key, (now + expires_in).as_secs())?;
        Ok(PresignedRequest { method: "GET", url, headers: Vec::new() })
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, ObjectError> {
        self.store.head(key).await
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), ObjectError> {
        self.store.copy(from, to).await
    }

    async fn sha256(&self, key: &str) -> Result<[u8; 32], ObjectError> {
        self.store.sha256(key).await
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectError> {
        self.store.delete(key).await
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), ObjectError> {
        self.store.put(key, bytes, content_type).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ObjectError> {
        self.store.get(key).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use openssl::rsa::Rsa;

    use super::*;

    #[test]
    fn urls_name_the_object_the_expiry_and_the_key_pair_in_cloudfronts_alphabet() {
        let private = Rsa::generate(2048).unwrap().private_key_to_pem().unwrap();
        let signer = CdnSigner::new("https://d111111abcdef8.cloudfront.net/", "K2JCJMDEHXQW5F", &private).unwrap();
        let url = signer.sign("attachments/0190-ab", 1_900_000_000).unwrap();
        assert!(url.starts_with("https://d111111abcdef8.cloudfront.net/attachments/0190-ab?Expires=1900000000&"));
        assert!(url.ends_with("&Key-Pair-Id=K2JCJMDEHXQW5F"), "{url}");
        let signature = url.split("Signature=").nth(1).unwrap().split('&').next().unwrap();
        assert!(!signature.contains(['+', '=', '/']), "CloudFront's URL-safe alphabet: {signature}");
        assert_eq!(signature.len(), 344, "a 2048-bit signature, base64");
        assert!(signer.sign("../etc", 1).is_err());
    }

    #[test]
    fn the_policy_is_the_documented_json_without_whitespace() {
        assert_eq!(
            canned_policy("https://d111111abcdef8.cloudfront.net/image.jpg", 1_357_034_400),
            r#"{"Statement":[{"Resource":"https://d111111abcdef8.cloudfront.net/image.jpg","Condition":{"DateLessThan":{"AWS:EpochTime":1357034400}}}]}"#
        );
    }

    #[test]
    fn keys_and_urls_are_checked() {
        let ec = openssl::ec::EcKey::generate(
            &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
        )
        .unwrap();
        let ec_pem = PKey::from_ec_key(ec).unwrap().private_key_to_pem_pkcs8().unwrap();
        assert!(matches!(CdnSigner::new("https://cdn.example", "K", &ec_pem), Err(CdnKeyError::NotRsa)));
        assert!(matches!(CdnSigner::new("https://cdn.example", "K", b"nonsense"), Err(CdnKeyError::Unreadable(_))));
        let rsa = Rsa::generate(2048).unwrap().private_key_to_pem().unwrap();
        assert!(matches!(CdnSigner::new("cdn.example", "K", &rsa), Err(CdnKeyError::BadUrl(_))));
        // PKCS #8 too.
        let pkcs8 = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap().private_key_to_pem_pkcs8().unwrap();
        assert!(CdnSigner::new("https://cdn.example", "K", &pkcs8).is_ok());
    }
}
