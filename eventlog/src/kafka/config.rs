use std::time::Duration;

use rdkafka::ClientConfig;

/// Where the cluster is and how Confab names things on it.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// `host:port[,host:port...]`.
    pub bootstrap_servers: String,
    /// Prefix of every topic and consumer group, so several deployments (or test runs) can share
    /// one cluster; empty in a normal deployment.
    pub namespace: String,
    /// Bound on every produce, admin and metadata call: past it the caller gets an error.
    pub timeout: Duration,
    pub replication_factor: i32,
}

impl KafkaConfig {
    pub(crate) fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        let _ = config
            .set("bootstrap.servers", &self.bootstrap_servers)
            .set("socket.timeout.ms", self.timeout.as_millis().max(10).to_string())
            // A broker's thread checks message timeouts when it wakes, and while its broker is
            // down it sleeps until the next reconnect: up to this long (librdkafka's default is
            // 10 s, which let a produce bounded at 3 s answer after 10).
            .set("reconnect.backoff.max.ms", "1000")
            .set("log_level", "4");
        config
    }

    pub(crate) fn topic(&self, topic: &str) -> String {
        format!("{}{topic}", self.namespace)
    }

    pub(crate) fn group(&self, group: &str) -> String {
        format!("{}{group}", self.namespace)
    }
}
