//! The test push service (`tests/push_service.py`), run beside a deployment: it hands out
//! subscriptions as a browser would, and accepts only pushes whose VAPID token and encryption
//! check out against the server's key.
use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

use serde_json::{Value, json};

pub struct PushService {
    child: Child,
    pub base_url: String,
    http: reqwest::Client,
}

impl PushService {
    /// The Python with `cryptography` and `http_ece` (`scripts/test` installs it), or None
    /// (skipped, loudly) when it is not set up and external servers are not required.
    pub fn python(test: &str) -> Option<String> {
        match std::env::var("CONFAB_TEST_PUSH_PYTHON") {
            Ok(python) => Some(python),
            Err(_) => {
                assert!(
                    std::env::var("CONFAB_TEST_REQUIRE_EXTERNAL").as_deref() != Ok("1"),
                    "{test}: CONFAB_TEST_PUSH_PYTHON is not set, but the test push service is required"
                );
                eprintln!("SKIPPED {test}: set CONFAB_TEST_PUSH_PYTHON (scripts/test does)");
                None
            }
        }
    }

    /// Starts the service for the deployment at `confab_url`, whose VAPID key it checks.
    pub fn start(python: &str, confab_url: &str) -> Self {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("push_service.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(confab_url)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the push service");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line).expect("read the push service's port");
        let port = line.trim().strip_prefix("listening ").unwrap_or_else(|| panic!("push service said {line:?}"));
        Self { child, base_url: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() }
    }

    /// A new subscription, as `PushSubscription.toJSON()`; its first pushes get `answers`
    /// ([status, retry-after seconds or null]) in turn, the rest 201.
    pub async fn subscribe(&self, answers: Value) -> Value {
        let reply = self.http.post(format!("{}/subscriptions", self.base_url)).json(&json!({ "answers": answers }));
        reply.send().await.unwrap().json().await.unwrap()
    }

    /// A webhook URL that records what it receives.
    pub async fn hook(&self) -> String {
        let reply = self.http.post(format!("{}/hooks", self.base_url)).send().await.unwrap();
        let body: Value = reply.json().await.unwrap();
        body["url"].as_str().unwrap().to_owned()
    }

    /// Every accepted push and webhook call, in arrival order.
    pub async fn received(&self) -> Vec<Value> {
        let reply = self.http.get(format!("{}/received", self.base_url)).send().await.unwrap();
        reply.json().await.unwrap()
    }

    /// Every refused one, with why.
    pub async fn rejected(&self) -> Vec<Value> {
        let reply = self.http.get(format!("{}/rejected", self.base_url)).send().await.unwrap();
        reply.json().await.unwrap()
    }
}

impl Drop for PushService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
