//! The end-to-end harness: spawns the real `confab` binary, on every backend, and talks to it
//! over HTTP, as clients and operators do.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod backend;
mod client;
mod deployment;
mod dynamodb;
mod files;
mod lambda;
mod outside;
mod process;
mod push_service;
mod socket;

pub use backend::{Backend, External, TANSU_STORAGE};
pub use client::{Client, Reply, User, read_response};
pub use deployment::{Deployment, OPERATOR_ID, TEST_JWT_SECRET, TEST_MASTER_KEYS, TEST_VAPID_KEY, operator_token};
pub use dynamodb::dynamodb_client;
pub use files::files_containing;
pub use lambda::{Front, Gateway, KafkaRecordIn, LambdaRuntime, Outcome, kafka_event};
pub use outside::{append_from_outside, seal};
pub use process::{Confab, confab_bin};
pub use push_service::PushService;
pub use socket::{Socket, WsError};

/// Instantiates each named `async fn(Backend)` as one test per backend: `embedded::name` and
/// `kafka_dynamodb::name`. The second is skipped, loudly, when no servers are configured.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::Backend::Embedded).await
                }
            )*
        }
        mod kafka_dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(backend) = $crate::Backend::kafka_dynamodb(stringify!($name)) else { return };
                    super::$name(backend).await
                }
            )*
        }
    };
}
