use std::{fmt, time::Duration};

use rdkafka::ClientConfig;

/// Where the cluster is, how to reach it securely, and how Confab names things on it.
#[derive(Clone)]
pub struct KafkaConfig {
    /// `host:port[,host:port...]`.
    pub bootstrap_servers: String,
    /// Prefix of every topic and consumer group, so several deployments (or test runs) can share
    /// one cluster; empty in a normal deployment.
    pub namespace: String,
    /// Bound on every produce, admin and metadata call: past it the caller gets an error.
    pub timeout: Duration,
    pub replication_factor: i32,
    /// librdkafka properties passed through as given (`security.protocol`, `ssl.ca.location`,
    /// `sasl.mechanism`, `sasl.username`...), after Confab's defaults: what a managed cluster
    /// needs. See [`check_option`] for the ones Confab keeps.
    pub options: Vec<(String, String)>,
}

/// Properties Confab sets itself because its guarantees rest on them (ordering, exactly one
/// record per claim, its own offset commits), or that have a flag of their own.
const KEPT: &[(&str, &str)] = &[
    ("bootstrap.servers", "set by --log kafka://..."),
    ("message.timeout.ms", "set by --kafka-timeout-ms"),
    ("group.id", "Confab names its consumer groups"),
    ("group.instance.id", "Confab names its consumer groups"),
    ("enable.auto.commit", "Confab commits offsets once a batch is applied"),
    ("enable.auto.offset.store", "Confab commits offsets once a batch is applied"),
    ("auto.offset.reset", "Confab chooses where a new consumer group starts"),
    ("enable.idempotence", "appends rely on the idempotent producer"),
    ("acks", "an append is acknowledged once all in-sync replicas have it"),
    ("partitioner", "keys are placed with Kafka's murmur2, as every Kafka client does"),
];

/// Refuses a property Confab keeps (see [`KEPT`]); anything else goes to librdkafka, which
/// refuses what it does not know when the client is made.
pub fn check_option(key: &str) -> Result<(), String> {
    match KEPT.iter().find(|(kept, _)| *kept == key) {
        Some((_, why)) => Err(format!("--kafka-option {key} cannot be set: {why}")),
        None if key.is_empty() || key.contains(char::is_whitespace) => {
            Err(format!("--kafka-option {key:?} is not a librdkafka property name"))
        }
        None => Ok(()),
    }
}

/// Whether a property's value is a secret, never to be logged.
fn secret(key: &str) -> bool {
    ["password", "secret", "key.pem", "keystore", "jaas", "oauthbearer.config", "token"].iter().any(|s| key.contains(s))
}

impl fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options: Vec<(&str, &str)> = self
            .options
            .iter()
            .map(|(key, value)| (key.as_str(), if secret(key) { "<redacted>" } else { value.as_str() }))
            .collect();
        f.debug_struct("KafkaConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .field("replication_factor", &self.replication_factor)
            .field("options", &options)
            .finish()
    }
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
        for (key, value) in &self.options {
            let _ = config.set(key, value);
        }
        config
    }

    pub(crate) fn topic(&self, topic: &str) -> String {
        format!("{}{topic}", self.namespace)
    }

    pub(crate) fn group(&self, group: &str) -> String {
        format!("{}{group}", self.namespace)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn kept_properties_are_refused_and_secrets_never_shown() {
        assert!(check_option("enable.auto.commit").unwrap_err().contains("commits offsets"));
        assert!(check_option("security.protocol").is_ok());
        assert!(check_option("").is_err());
        let config = KafkaConfig {
            bootstrap_servers: "broker:9096".into(),
            namespace: String::new(),
            timeout: Duration::from_secs(5),
            replication_factor: 3,
            options: vec![("sasl.username".into(), "confab".into()), ("sasl.password".into(), "hunter2".into())],
        };
        let shown = format!("{config:?}");
        assert!(shown.contains("confab") && !shown.contains("hunter2"), "{shown}");
    }
}
