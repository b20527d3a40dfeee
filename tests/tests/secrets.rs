//! Secrets and the data directory: a JWT secret too short to sign with, or an empty key file
//! (a crash while it was written), stops `confab` at start with a clear message; what Confab
//! writes in its data directory is its owner's only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;

use confab_e2e::{Backend, Client, Deployment, backend_tests};

async fn a_short_jwt_secret_is_refused_at_start(backend: Backend) {
    let deployment = Deployment::new(backend);
    let role = if deployment.is_embedded() { "serve" } else { "api" };
    let mut command = deployment.command(&[role, "--listen", "127.0.0.1:0"]);
    let _ = command.env("CONFAB_JWT_SECRET", "sixteen-bytes-ok");
    let stderr = deployment.refused(command);
    assert!(stderr.contains("must be at least 32"), "{stderr}");
}

backend_tests!(a_short_jwt_secret_is_refused_at_start);

/// Every file and directory below `dir`, with its mode.
fn modes(dir: &std::path::Path) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        out.push((path.display().to_string(), mode));
        if path.is_dir() {
            out.extend(modes(&path));
        }
    }
    out
}

/// Embedded, with nothing configured: the secrets it generates, its log and read models are
/// the owner's only, and an empty secret file left by a crash is refused, not used.
#[tokio::test]
async fn generated_secrets_are_private_and_an_empty_one_is_refused() {
    let deployment = Deployment::new(Backend::Embedded);
    let unconfigured = || {
        let mut command = deployment.command(&["serve", "--listen", "127.0.0.1:0"]);
        let _ = command.env_remove("CONFAB_JWT_SECRET").env_remove("CONFAB_MASTER_KEYS");
        command
    };
    let mut server = deployment.spawn(unconfigured());
    let client = Client::new(&server.base_url);
    let _alice = client.user("alice").await;
    server.stop();

    let dir = deployment.data_dir();
    let dir_mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700, "the data dir");
    let files = modes(dir);
    for name in ["jwt.secret", "master.keys", "log.redb"] {
        assert!(files.iter().any(|(path, _)| path.ends_with(name)), "{name} in {files:?}");
    }
    let open: Vec<_> = files.iter().filter(|(_, mode)| mode & 0o077 != 0).collect();
    assert!(open.is_empty(), "readable by others: {open:?}");

    std::fs::write(dir.join("jwt.secret"), "").unwrap();
    let stderr = deployment.refused(unconfigured());
    assert!(stderr.contains("jwt.secret is empty"), "{stderr}");
}

/// With request tracing on, the logs name paths, never query strings: a `/ws?token=` and a
/// signed URL's signature stay out of them.
#[tokio::test]
async fn logs_name_paths_not_query_strings() {
    let mut deployment = Deployment::new(Backend::Embedded);
    let _ = deployment.env("RUST_LOG", "debug");
    let log = deployment.data_dir().with_file_name("confab.log");
    let mut server = deployment.spawn_logging_to(deployment.command(&["serve", "--listen", "127.0.0.1:0"]), &log);
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let socket = confab_e2e::Socket::connect(&server.base_url, &alice.token, None).await;
    socket.close().await;
    let probe = client.get("/objects/anything?X-Amz-Signature=secret-signature-in-a-query", None).await;
    assert!(probe.status.is_client_error(), "{}", probe.body);
    server.stop();
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("/ws"), "the request is traced at all");
    assert!(!logs.contains(&alice.token), "the token reached the logs");
    assert!(!logs.contains("secret-signature-in-a-query"), "a signature reached the logs");
}
