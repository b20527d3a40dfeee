use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::mpsc,
    time::Duration,
};

/// Tokens in tests are signed with this, so tests can also mint expired or forged ones.
pub const TEST_JWT_SECRET: &str = "confab-e2e-test-secret-0123456789abcdef";

/// The `confab` binary: `$CONFAB_BIN`, or the one cargo built beside this test.
pub fn confab_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("CONFAB_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let bin = profile_dir.join("confab");
    assert!(
        bin.exists(),
        "{} does not exist: build it first (cargo build --bin confab) or set CONFAB_BIN",
        bin.display()
    );
    bin
}

/// Runs a one-shot `confab` command (events, rebuild, dump-tables) and returns its output.
pub fn run_confab(args: &[&str]) -> Output {
    let output = Command::new(confab_bin())
        .args(args)
        .env("CONFAB_LOG", "warn")
        .output()
        .expect("run confab");
    assert!(
        output.status.success(),
        "confab {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A running `confab serve` on its own data directory and a free port.
pub struct Confab {
    child: Option<Child>,
    pub base_url: String,
    pub data_dir: PathBuf,
}

impl Confab {
    pub fn start(data_dir: &Path) -> Self {
        let mut child = Command::new(confab_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("CONFAB_JWT_SECRET", TEST_JWT_SECRET)
            .env(
                "CONFAB_LOG",
                std::env::var("CONFAB_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn confab serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        // Keeps draining stdout so the server never blocks on a full pipe.
        let _drain = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("confab listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let base_url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!("confab serve did not report its address within 60 s");
            }
        };
        Self {
            child: Some(child),
            base_url,
            data_dir: data_dir.to_owned(),
        }
    }

    /// Stops with SIGTERM and waits for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let status = child.wait().expect("wait for confab");
            assert!(status.success(), "confab exited with {status} on SIGTERM");
        }
    }

    /// Kills with SIGKILL: no chance to flush or clean up anything.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill -9 confab");
            let _ = child.wait();
        }
    }

    /// Stops cleanly and starts again on the same data directory.
    pub fn restart(&mut self) {
        self.stop();
        *self = Self::start(&self.data_dir);
    }
}

impl Drop for Confab {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
