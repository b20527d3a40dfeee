//! A DynamoDB client for a local endpoint (dynalite), with the fixed credentials it accepts.
use aws_sdk_dynamodb::{
    Client,
    config::{BehaviorVersion, Credentials, Region},
};

pub fn dynamodb_client(endpoint: &str) -> Client {
    let config = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("confab-test", "confab-test", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(config)
}
