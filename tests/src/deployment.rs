use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::atomic::{AtomicU32, Ordering},
};

use crate::{Backend, Confab, confab_bin};

/// Tokens in tests are signed with this, so tests can also mint expired or forged ones.
pub const TEST_JWT_SECRET: &str = "confab-e2e-test-secret-0123456789abcdef";
/// The user id of the operator every deployment names in `--admins`, whose token
/// ([`operator_token`]) reads the full readiness report.
pub const OPERATOR_ID: &str = "01900000-0000-7000-8000-0000000000ad";

/// A token of the operator, signed like the deployment's own.
pub fn operator_token() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let session = uuid::Uuid::now_v7().to_string();
    let claims =
        serde_json::json!({ "sub": OPERATOR_ID, "name": "operator", "sid": session, "iat": now, "exp": now + 3600 });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()),
    )
    .expect("a token")
}

/// A fixed master key (32 zero-to-31 bytes), shared by every process of a deployment.
pub const TEST_MASTER_KEYS: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// The VAPID private key every process of a Kafka deployment shares (on one box, `serve`
/// makes its own).
pub const TEST_VAPID_KEY: &str = "ERERERERERERERERERERERERERERERERERERERERESI";

/// One test's Confab: its data directory and, on external servers, its own namespace of topics,
/// consumer groups and tables, so tests never see each other's data.
pub struct Deployment {
    pub backend: Backend,
    pub data_dir: PathBuf,
    pub namespace: String,
    _dir: tempfile::TempDir,
    extra_env: Vec<(String, String)>,
}

fn unique_namespace() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("t{}x{:x}x{}.", std::process::id(), nanos, NEXT.fetch_add(1, Ordering::Relaxed))
}

impl Deployment {
    pub fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self {
            backend,
            data_dir: dir.path().join("data"),
            namespace: unique_namespace(),
            _dir: dir,
            extra_env: Vec::new(),
        }
    }

    /// Sets an environment variable for every process started from now on.
    pub fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.extra_env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Points this deployment at another Kafka broker (one the test starts and stops itself).
    pub fn use_kafka(&mut self, bootstrap: &str) -> &mut Self {
        self.env("CONFAB_LOG", &format!("kafka://{bootstrap}"))
    }

    /// This deployment's own S3 bucket: the namespace in the characters bucket names allow.
    pub fn bucket(&self) -> String {
        let name: String = self
            .namespace
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
            .collect();
        format!("confab-{}", name.trim_end_matches('-'))
    }

    pub fn is_embedded(&self) -> bool {
        matches!(self.backend, Backend::Embedded)
    }

    /// `confab <args>` with this deployment's configuration, not started.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(confab_bin());
        let _ = command
            .args(args)
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .env("CONFAB_DATA_DIR", &self.data_dir)
            .env("CONFAB_JWT_SECRET", TEST_JWT_SECRET)
            .env("CONFAB_MASTER_KEYS", TEST_MASTER_KEYS)
            // Tests register and send far faster than a person; the abuse tests turn limits on.
            .env("CONFAB_RATE_LIMITS", "off");
        if let Some(external) = self.backend.external() {
            let _ = command
                .env("CONFAB_LOG", format!("kafka://{}", external.kafka))
                .env("CONFAB_STORE", "dynamodb")
                .env("CONFAB_DYNAMODB_ENDPOINT", &external.dynamodb)
                .env("CONFAB_NAMESPACE", &self.namespace)
                .env("CONFAB_OBJECTS", "s3")
                .env("CONFAB_S3_ENDPOINT", &external.s3)
                .env("CONFAB_S3_BUCKET", self.bucket())
                .env("CONFAB_KAFKA_TIMEOUT_MS", "3000")
                .env("CONFAB_VAPID_PRIVATE_KEY", TEST_VAPID_KEY)
                .env("AWS_ACCESS_KEY_ID", "confab-test")
                .env("AWS_SECRET_ACCESS_KEY", "confab-test")
                .env("AWS_REGION", "us-east-1")
                .env("AWS_EC2_METADATA_DISABLED", "true");
        }
        let _ = command.env("CONFAB_ADMINS", OPERATOR_ID);
        for (key, value) in &self.extra_env {
            // The operator stays an admin beside the ones a test names.
            let value = if key == "CONFAB_ADMINS" { format!("{value},{OPERATOR_ID}") } else { value.clone() };
            let _ = command.env(key, value);
        }
        command
    }

    /// A long-running role from a command of this deployment's (see [`Self::command`]), changed.
    pub fn spawn(&self, command: Command) -> Confab {
        Confab::spawn(command)
    }

    /// As [`Self::spawn`], its logs written to `log`.
    pub fn spawn_logging_to(&self, command: Command, log: &Path) -> Confab {
        let file = std::fs::File::create(log).expect("create the log file");
        Confab::spawn_with_stderr(command, Stdio::from(file))
    }

    /// Runs `command`, which must refuse to start: its stderr. Fails if it is still running when
    /// a start would long have got past its checks.
    pub fn refused(&self, mut command: Command) -> String {
        let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn confab");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            if let Some(status) = child.try_wait().expect("wait for confab") {
                let mut stderr = String::new();
                let _ = std::io::Read::read_to_string(&mut child.stderr.take().expect("piped stderr"), &mut stderr);
                assert!(!status.success(), "confab started, and exited with success: {stderr}");
                return stderr;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("confab was still running: it did not refuse to start");
            }
            // A poll interval: the loop ends when the process does.
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// `confab serve`: the API and every projection in one process.
    pub fn serve(&self) -> Confab {
        Confab::spawn(self.command(&["serve", "--listen", "127.0.0.1:0"]))
    }

    /// `confab api`: the API only.
    pub fn api(&self) -> Confab {
        Confab::spawn(self.command(&["api", "--listen", "127.0.0.1:0"]))
    }

    /// `confab push`: the push consumer alone; `base_url` serves its health endpoints.
    pub fn push(&self) -> Confab {
        Confab::spawn(self.command(&["push", "--listen", "127.0.0.1:0"]))
    }

    /// `confab consume`: every projection, no API; `base_url` serves its health endpoints.
    pub fn consume(&self) -> Confab {
        Confab::spawn(self.command(&["consume", "--health-listen", "127.0.0.1:0"]))
    }

    /// `confab consume <projections>`: those projections only, no API.
    pub fn consume_only(&self, projections: &[&str]) -> Confab {
        let mut args = vec!["consume", "--health-listen", "127.0.0.1:0"];
        args.extend_from_slice(projections);
        Confab::spawn(self.command(&args))
    }

    /// `confab analytics`: the analytics consumer alone; `base_url` serves its health endpoints.
    pub fn analytics(&self) -> Confab {
        Confab::spawn(self.command(&["analytics", "--health-listen", "127.0.0.1:0"]))
    }

    /// Runs a one-shot command (events, rebuild, dump-tables) to success and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        let output = self.command(args).output().expect("run confab");
        assert!(output.status.success(), "confab {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        output
    }

    /// The stream as the `events` command exports it.
    pub fn events(&self, topic: &str) -> Vec<serde_json::Value> {
        let output = self.run(&["events", "tail", "--from-beginning", "--topic", topic]);
        String::from_utf8(output.stdout).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }

    /// Every read-model table, as `dump-tables` prints it.
    pub fn tables(&self) -> serde_json::Value {
        serde_json::from_slice(&self.run(&["dump-tables"]).stdout).unwrap()
    }

    /// Directories whose files hold this deployment's data.
    pub fn storage_dirs(&self) -> Vec<PathBuf> {
        match self.backend.external() {
            None => vec![self.data_dir.clone()],
            Some(external) => external.data_dirs.clone(),
        }
    }

    /// The file an object of this deployment is stored in: under the data dir on the embedded
    /// backend, in the S3 server's directory otherwise (`None` when that is not known).
    pub fn object_file(&self, key: &str) -> Option<PathBuf> {
        match self.backend.external() {
            None => Some(self.data_dir.join("objects").join(key)),
            Some(external) => external.s3_dir.as_ref().map(|dir| dir.join(self.bucket()).join(key)),
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}
