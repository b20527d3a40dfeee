//! Objects in an S3 bucket (AWS, or any S3-compatible server through `endpoint`), every one
//! stored with the server-side encryption configured (SSE-S3 unless told otherwise).
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, meta::region::RegionProviderChain, timeout::TimeoutConfig};
use aws_sdk_s3::{
    Client,
    error::DisplayErrorContext,
    operation::{create_bucket::CreateBucketError, get_object::GetObjectError, head_object::HeadObjectError},
    presigning::PresigningConfig,
    types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
        ServerSideEncryption,
    },
};
use sha2::{Digest, Sha256};

use crate::{
    ObjectError, ObjectMeta, ObjectStore, PresignedRequest, SCRATCH_RETENTION_DAYS, UploadTerms, error::unavailable,
    valid_key,
};

/// How to reach the bucket; region and credentials come from the AWS configuration chain.
#[derive(Debug, Clone)]
pub struct S3Config {
    pub bucket: String,
    /// A local or non-AWS server; addressing is then path-style (`endpoint/bucket/key`).
    pub endpoint: Option<String>,
    /// Where clients reach the same server, when that differs from `endpoint` (a container
    /// network name, say): pre-signed URLs are signed for this host.
    pub public_endpoint: Option<String>,
    /// Objects under this prefix are scratch: when Confab creates the bucket, it adds a
    /// lifecycle rule that expires them after [`SCRATCH_RETENTION_DAYS`].
    pub scratch_prefix: Option<String>,
    /// What every write asks of the server.
    pub encryption: Encryption,
    /// Creates the bucket when missing. Off where it is provisioned beforehand (`confab setup`,
    /// a CloudFormation stack), such as a Lambda function's cold start.
    pub create_bucket: bool,
}

/// The server-side encryption every object is written with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    /// SSE-S3: keys the service manages (`AES256`).
    Aes256,
    /// SSE-KMS, under this KMS key (the account's default `aws/s3` key when None).
    Kms(Option<String>),
    /// None asked for: a server that refuses SSE-S3 without a KMS (MinIO out of the box), or a
    /// bucket whose default encryption applies.
    None,
}

impl Encryption {
    fn algorithm(&self) -> Option<ServerSideEncryption> {
        match self {
            Self::Aes256 => Some(ServerSideEncryption::Aes256),
            Self::Kms(_) => Some(ServerSideEncryption::AwsKms),
            Self::None => None,
        }
    }

    fn kms_key_id(&self) -> Option<String> {
        match self {
            Self::Kms(key) => key.clone(),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct S3Objects {
    client: Client,
    /// Signs the URLs clients use; the same as `client` unless a public endpoint is set.
    presigner: Client,
    bucket: String,
    scratch_prefix: Option<String>,
    encryption: Encryption,
}

/// An SDK error, with its whole context in the message (the SDK's own `Display` says only
/// "service error").
fn sdk_error(e: impl std::error::Error) -> ObjectError {
    unavailable(DisplayErrorContext(e).to_string())
}

fn checked(key: &str) -> Result<&str, ObjectError> {
    if valid_key(key) { Ok(key) } else { Err(ObjectError::InvalidKey(key.to_owned())) }
}

fn presigning(expires_in: Duration) -> Result<PresigningConfig, ObjectError> {
    PresigningConfig::expires_in(expires_in).map_err(unavailable)
}

impl S3Objects {
    /// Connects and creates the bucket when it is missing.
    pub async fn connect(config: &S3Config) -> Result<Self, ObjectError> {
        let region = RegionProviderChain::default_provider().or_else("us-east-1");
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .region(region)
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_secs(30))
                    .connect_timeout(Duration::from_secs(2))
                    .build(),
            )
            .load()
            .await;
        let client_for = |endpoint: Option<&String>| {
            let mut builder = aws_sdk_s3::config::Builder::from(&shared);
            if let Some(endpoint) = endpoint {
                builder = builder.endpoint_url(endpoint).force_path_style(true);
            }
            Client::from_conf(builder.build())
        };
        let client = client_for(config.endpoint.as_ref());
        let presigner = match &config.public_endpoint {
            Some(public) => client_for(Some(public)),
            None => client.clone(),
        };
        let store = Self {
            client,
            presigner,
            bucket: config.bucket.clone(),
            scratch_prefix: config.scratch_prefix.clone(),
            encryption: config.encryption.clone(),
        };
        if config.create_bucket {
            store.ensure_bucket().await?;
        }
        Ok(store)
    }

    async fn ensure_bucket(&self) -> Result<(), ObjectError> {
        if self.client.head_bucket().bucket(&self.bucket).send().await.is_ok() {
            return Ok(());
        }
        match self.client.create_bucket().bucket(&self.bucket).send().await {
            Ok(_) => {
                tracing::info!(bucket = %self.bucket, "created bucket");
                self.expire_scratch().await;
                Ok(())
            }
            Err(e)
                if e.as_service_error().is_some_and(|e| {
                    matches!(
                        e,
                        CreateBucketError::BucketAlreadyOwnedByYou(_) | CreateBucketError::BucketAlreadyExists(_)
                    )
                }) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    /// Only on a bucket Confab created: a lifecycle configuration replaces the bucket's
    /// whole one. Not every S3-compatible server has lifecycle rules; without one, scratch
    /// objects stay until removed by hand.
    async fn expire_scratch(&self) {
        let Some(prefix) = &self.scratch_prefix else { return };
        let rule = LifecycleRule::builder()
            .id("confab-expire-scratch")
            .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
            .expiration(LifecycleExpiration::builder().days(i32::from(SCRATCH_RETENTION_DAYS)).build())
            .status(ExpirationStatus::Enabled)
            .build()
            .and_then(|rule| BucketLifecycleConfiguration::builder().rules(rule).build());
        let result = match rule {
            Ok(lifecycle) => self
                .client
                .put_bucket_lifecycle_configuration()
                .bucket(&self.bucket)
                .lifecycle_configuration(lifecycle)
                .send()
                .await
                .map(drop)
                .map_err(sdk_error),
            Err(e) => Err(unavailable(e)),
        };
        match result {
            Ok(()) => tracing::info!(bucket = %self.bucket, prefix, "scratch objects expire after a day"),
            Err(error) => tracing::warn!(bucket = %self.bucket, prefix, %error, "cannot set a lifecycle rule"),
        }
    }
}

#[async_trait]
impl ObjectStore for S3Objects {
    async fn ping(&self) -> Result<(), ObjectError> {
        self.client.head_bucket().bucket(&self.bucket).send().await.map(drop).map_err(sdk_error)
    }

    async fn presign_put(&self, terms: &UploadTerms<'_>) -> Result<PresignedRequest, ObjectError> {
        let size = i64::try_from(terms.size).map_err(unavailable)?;
        let request = self
            .presigner
            .put_object()
            .bucket(&self.bucket)
            .key(checked(terms.key)?)
            .content_length(size)
            .content_type(terms.content_type)
            .set_server_side_encryption(self.encryption.algorithm())
            .set_ssekms_key_id(self.encryption.kms_key_id())
            // The url works once: a second PUT to the key finds it taken.
            .if_none_match("*")
            .presigned(presigning(terms.expires_in)?)
            .await
            .map_err(sdk_error)?;
        Ok(PresignedRequest {
            method: "PUT",
            url: request.uri().to_owned(),
            headers: request
                .headers()
                .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
                .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
                .collect(),
        })
    }

    async fn presign_get(&self, key: &str, expires_in: Duration) -> Result<PresignedRequest, ObjectError> {
        let request = self
            .presigner
            .get_object()
            .bucket(&self.bucket)
            .key(checked(key)?)
            // User content on the bucket's origin is downloaded, never rendered there.
            .response_content_disposition("attachment")
            // Verified bytes never change: a browser or CDN may keep them while the URL lives.
            .response_cache_control(format!("private, max-age={}, immutable", expires_in.as_secs()))
            .presigned(presigning(expires_in)?)
            .await
            .map_err(sdk_error)?;
        Ok(PresignedRequest { method: "GET", url: request.uri().to_owned(), headers: Vec::new() })
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, ObjectError> {
        match self.client.head_object().bucket(&self.bucket).key(checked(key)?).send().await {
            Ok(head) => Ok(Some(ObjectMeta {
                size: head.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                content_type: head.content_type().map(str::to_owned),
            })),
            Err(e) if e.as_service_error().is_some_and(HeadObjectError::is_not_found) => Ok(None),
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), ObjectError> {
        let _ = self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(format!("{}/{}", self.bucket, checked(from)?))
            .key(checked(to)?)
            .set_server_side_encryption(self.encryption.algorithm())
            .set_ssekms_key_id(self.encryption.kms_key_id())
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn sha256(&self, key: &str) -> Result<[u8; 32], ObjectError> {
        let object =
            self.client.get_object().bucket(&self.bucket).key(checked(key)?).send().await.map_err(sdk_error)?;
        let mut body = object.body;
        let mut hasher = Sha256::new();
        while let Some(chunk) = body.try_next().await.map_err(unavailable)? {
            hasher.update(&chunk);
        }
        Ok(hasher.finalize().into())
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectError> {
        let _ = self.client.delete_object().bucket(&self.bucket).key(checked(key)?).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), ObjectError> {
        let _ = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(checked(key)?)
            .content_type(content_type)
            .set_server_side_encryption(self.encryption.algorithm())
            .set_ssekms_key_id(self.encryption.kms_key_id())
            .body(bytes.into())
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ObjectError> {
        let object = match self.client.get_object().bucket(&self.bucket).key(checked(key)?).send().await {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(GetObjectError::is_no_such_key) => return Ok(None),
            Err(e) => return Err(sdk_error(e)),
        };
        let bytes = object.body.collect().await.map_err(unavailable)?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }
}
