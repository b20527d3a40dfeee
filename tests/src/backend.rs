use std::io::Write as _;
use std::path::PathBuf;

/// The storage of a tansu broker a test starts itself, as `scripts/servers.sh` starts its own:
/// tansu 0.6's maintenance deletes records older than their topic's retention.ms and reads -1
/// (Confab's "forever") as "older than -1 ms", every record; so it runs only at start.
pub const TANSU_STORAGE: &str = "sqlite://tansu.db?maintenance_interval=3650d";

/// The servers the Kafka + DynamoDB backend runs against, from the environment that
/// `scripts/test` sets up.
#[derive(Debug, Clone)]
pub struct External {
    /// `host:port` of the Kafka broker.
    pub kafka: String,
    /// URL of the DynamoDB endpoint.
    pub dynamodb: String,
    /// URL of the S3 endpoint (a server that verifies pre-signed URL signatures).
    pub s3: String,
    /// The tansu binary, for tests that start and stop a broker of their own.
    pub tansu_bin: Option<PathBuf>,
    /// Where those servers keep their data, for tests that inspect it.
    pub data_dirs: Vec<PathBuf>,
    /// Where the S3 server keeps objects, as `<bucket>/<key>` files.
    pub s3_dir: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub enum Backend {
    Embedded,
    KafkaDynamo(External),
}

impl Backend {
    /// The external backend, or None (with a loud note) when it is not configured. With
    /// `CONFAB_TEST_REQUIRE_EXTERNAL=1` a missing configuration fails the test instead.
    pub fn kafka_dynamodb(test: &str) -> Option<Self> {
        match External::from_env() {
            Some(external) => Some(Backend::KafkaDynamo(external)),
            None => {
                assert!(
                    std::env::var("CONFAB_TEST_REQUIRE_EXTERNAL").as_deref() != Ok("1"),
                    "{test}: CONFAB_TEST_KAFKA, CONFAB_TEST_DYNAMODB and CONFAB_TEST_S3 are not set, but external backends are required"
                );
                // Straight to the stderr handle: libtest would swallow eprintln! of a passing test.
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED {test} on kafka+dynamodb: set CONFAB_TEST_KAFKA, CONFAB_TEST_DYNAMODB and CONFAB_TEST_S3 (scripts/test does)"
                );
                None
            }
        }
    }

    pub fn external(&self) -> Option<&External> {
        match self {
            Backend::Embedded => None,
            Backend::KafkaDynamo(external) => Some(external),
        }
    }
}

impl External {
    pub fn from_env() -> Option<Self> {
        let kafka = std::env::var("CONFAB_TEST_KAFKA").ok().filter(|v| !v.is_empty())?;
        let dynamodb = std::env::var("CONFAB_TEST_DYNAMODB").ok().filter(|v| !v.is_empty())?;
        let s3 = std::env::var("CONFAB_TEST_S3").ok().filter(|v| !v.is_empty())?;
        let tansu_bin = std::env::var_os("CONFAB_TEST_TANSU_BIN").map(PathBuf::from);
        let data_dirs = std::env::var("CONFAB_TEST_DATA_DIRS")
            .map(|dirs| dirs.split(':').filter(|d| !d.is_empty()).map(PathBuf::from).collect())
            .unwrap_or_default();
        let s3_dir = std::env::var_os("CONFAB_TEST_S3_DIR").map(PathBuf::from);
        Some(Self { kafka, dynamodb, s3, tansu_bin, data_dirs, s3_dir })
    }
}
