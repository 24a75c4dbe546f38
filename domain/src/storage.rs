//! The S3-compatible bucket that holds lead files and documents. The
//! bytes always pass through the server, which checks access first.

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
pub use aws_sdk_s3::primitives::ByteStream;

/// Where files live. Built from `S3_ENDPOINT`, `S3_BUCKET`,
/// `S3_ACCESS_KEY`, `S3_SECRET_KEY` and `S3_REGION` (default us-east-1);
/// path-style addressing, so MinIO and other S3-compatible servers work.
#[derive(Clone)]
pub struct Storage {
    pub(crate) client: aws_sdk_s3::Client,
    pub(crate) bucket: String,
}

impl Storage {
    pub fn new(endpoint: &str, region: &str, access_key: &str, secret_key: &str, bucket: &str) -> Self {
        let creds = Credentials::new(access_key, secret_key, None, None, "mak-crm");
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .endpoint_url(endpoint)
            .credentials_provider(creds)
            .force_path_style(true)
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(conf),
            bucket: bucket.to_string(),
        }
    }

    /// Creates the bucket when it is missing (first start). Two instances
    /// (or tests) starting at once may race to create it: the one that
    /// loses finds it there, which is all it wanted.
    pub async fn ensure_bucket(&self) -> Result<(), String> {
        if self.client.head_bucket().bucket(&self.bucket).send().await.is_ok() {
            return Ok(());
        }
        match self.client.create_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_bucket_already_exists() || s.is_bucket_already_owned_by_you()) =>
            {
                Ok(())
            }
            Err(e) => Err(format!("{}", aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }
}

impl Storage {
    /// Writes an object; the error is for the log, not for people.
    pub async fn put(&self, key: &str, content_type: &str, bytes: Vec<u8>) -> Result<(), String> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))
    }

    /// Reads an object as a stream.
    pub async fn get(&self, key: &str) -> Result<ByteStream, String> {
        self.client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|o| o.body)
            .map_err(|e| format!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))
    }

    /// Removes an object (to undo a write whose row did not commit).
    pub async fn delete(&self, key: &str) {
        if let Err(e) = self.client.delete_object().bucket(&self.bucket).key(key).send().await {
            tracing::warn!(error = %aws_sdk_s3::error::DisplayErrorContext(e), key, "could not remove an orphaned object");
        }
    }
}
