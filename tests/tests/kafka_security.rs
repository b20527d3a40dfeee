//! Kafka with security on: a broker reached over TLS only and requiring SASL/SCRAM. The test
//! broker (tansu) checks SCRAM itself; TLS is stunnel in front of it (tansu 0.6 has no TLS
//! listener of its own), with the broker advertising the TLS address, so every connection
//! librdkafka makes, bootstrap and metadata alike, is encrypted. Confab is given the CA and the
//! credentials the way an operator gives them: `CONFAB_KAFKA_OPTION_*` variables.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use confab_e2e::{Backend, Client, Deployment, Socket};
use reqwest::StatusCode;

const USER: &str = "confab";
const PASSWORD: &str = "s3cret-scram-password";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start listening on {port}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A CA, and a certificate it signed for 127.0.0.1: `(ca.pem, server.pem, server.key)`.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    // Names of their own: a certificate whose issuer is its own subject is taken as self-signed.
    ca_params.distinguished_name.push(DnType::CommonName, "Confab test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut server_params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    server_params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    let server = server_params.signed_by(&key, &ca, &ca_key).unwrap();
    let paths = (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, server.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

/// tansu requiring SCRAM, behind stunnel; killed when dropped.
struct SecureBroker {
    dir: tempfile::TempDir,
    tls_port: u16,
    ca: PathBuf,
    children: Vec<Child>,
}

impl SecureBroker {
    fn start(tansu: &Path, stunnel: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = certificates(dir.path());
        let (plain_port, tls_port) = (free_port(), free_port());
        let mut broker = Self { dir, tls_port, ca, children: Vec::new() };
        // The user is created before authentication is required (the command needs a broker
        // that answers it); the broker keeps it in its database.
        let plain = format!("tcp://127.0.0.1:{plain_port}");
        let mut setup = broker.tansu(tansu, &plain, &plain, false);
        wait_for_port(plain_port, "tansu");
        let created = Command::new(tansu)
            .args(["user", "create", "--broker", &plain, USER, PASSWORD, "--mechanism", "scram512"])
            .status()
            .unwrap();
        assert!(created.success(), "tansu user create failed");
        let _ = setup.kill();
        let _ = setup.wait();

        let advertised = format!("tcp://127.0.0.1:{tls_port}");
        let secured = broker.tansu(tansu, &plain, &advertised, true);
        broker.children.push(secured);
        wait_for_port(plain_port, "tansu");
        let config = broker.dir.path().join("stunnel.conf");
        std::fs::write(
            &config,
            format!(
                "foreground = yes\npid =\noutput = {}\n[kafka]\naccept = 127.0.0.1:{tls_port}\n\
                 connect = 127.0.0.1:{plain_port}\ncert = {}\nkey = {}\n",
                broker.dir.path().join("stunnel.log").display(),
                cert.display(),
                key.display()
            ),
        )
        .unwrap();
        let tunnel = Command::new(stunnel)
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start stunnel");
        broker.children.push(tunnel);
        wait_for_port(tls_port, "stunnel");
        broker
    }

    fn tansu(&self, bin: &Path, listen: &str, advertised: &str, authentication: bool) -> Child {
        let mut command = Command::new(bin);
        let _ = command
            .args(["broker", "--listener-url", listen, "--advertised-listener-url", advertised])
            .args(["--storage-engine", confab_e2e::TANSU_STORAGE])
            .current_dir(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if authentication {
            let _ = command.arg("--authentication");
        }
        command.spawn().expect("start tansu")
    }

    fn tls_address(&self) -> String {
        format!("127.0.0.1:{}", self.tls_port)
    }

    /// The settings an operator gives Confab for this broker, with `password`.
    fn secure(&self, deployment: &mut Deployment, password: &str) {
        let _ = deployment
            .use_kafka(&self.tls_address())
            .env("CONFAB_KAFKA_OPTION_SECURITY_PROTOCOL", "SASL_SSL")
            .env("CONFAB_KAFKA_OPTION_SSL_CA_LOCATION", self.ca.to_str().unwrap())
            .env("CONFAB_KAFKA_OPTION_SASL_MECHANISM", "SCRAM-SHA-512")
            .env("CONFAB_KAFKA_OPTION_SASL_USERNAME", USER)
            .env("CONFAB_KAFKA_OPTION_SASL_PASSWORD", password);
    }
}

impl Drop for SecureBroker {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn over_tls_with_scram_a_send_a_history_read_and_a_live_frame() {
    let Some(backend) = Backend::kafka_dynamodb("over_tls_with_scram") else { return };
    let tansu = backend.external().and_then(|e| e.tansu_bin.clone()).expect("CONFAB_TEST_TANSU_BIN");
    let stunnel = std::env::var_os("CONFAB_TEST_STUNNEL").expect("CONFAB_TEST_STUNNEL (scripts/servers.sh sets it)");
    let broker = SecureBroker::start(&tansu, Path::new(&stunnel));

    let mut deployment = Deployment::new(backend.clone());
    broker.secure(&mut deployment, PASSWORD);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let mut socket = Socket::connect(&server.base_url, &bob.token, None).await;
    let sent = client.send(&alice, "bob", "over tls").await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let frame = socket.next_of("message").await;
    assert_eq!(frame["content"], "over tls");
    let history = client.full_history(&bob, "alice").await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["content"], "over tls");

    // The wrong password is refused by the broker: the process cannot start.
    let mut wrong = Deployment::new(backend);
    broker.secure(&mut wrong, "not-the-password");
    let refused = wrong.refused(wrong.command(&["serve", "--listen", "127.0.0.1:0"]));
    assert!(refused.to_lowercase().contains("authentication"), "refused for another reason: {refused}");
    assert!(!refused.contains("not-the-password"), "the password was logged: {refused}");
}
