use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

/// The `confab` binary: `$CONFAB_BIN`, or the one cargo built beside this test.
pub fn confab_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("CONFAB_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps");
    let bin = profile_dir.join("confab");
    assert!(
        bin.exists(),
        "{} does not exist: build it first (cargo build --bin confab) or set CONFAB_BIN",
        bin.display()
    );
    bin
}

/// A running `confab` process of any long-running role.
pub struct Confab {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT` for `serve` and `api`; empty for `consume`.
    pub base_url: String,
    command: Command,
}

fn copy_command(command: &Command) -> Command {
    let mut copy = Command::new(command.get_program());
    let _ = copy.args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => drop(copy.env(key, value)),
            None => drop(copy.env_remove(key)),
        }
    }
    copy
}

impl Confab {
    /// Spawns `command` and waits for the line that says it is up.
    pub(crate) fn spawn(command: Command) -> Self {
        Self::spawn_with_stderr(command, Stdio::inherit())
    }

    /// As [`Self::spawn`], its stderr (the logs) going to `stderr`.
    pub(crate) fn spawn_with_stderr(command: Command, stderr: Stdio) -> Self {
        let mut child = copy_command(&command).stdout(Stdio::piped()).stderr(stderr).spawn().expect("spawn confab");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        // Keeps draining stdout so the process never blocks on a full pipe.
        let _drain = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("confab listening on ") {
                    let _ = tx.send(url.to_owned());
                } else if line == "confab consuming" || line == "confab lambda ready" {
                    let _ = tx.send(String::new());
                }
            }
        });
        let base_url = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!("{:?} did not come up within 120 s (exit: {status:?})", command.get_args().collect::<Vec<_>>());
            }
        };
        Self { child: Some(child), base_url, command }
    }

    /// The most memory the process has held (`VmHWM`), in KiB; None once it has stopped.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Stops with SIGTERM and waits for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
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

    /// Starts the same command again (after `stop` or `kill9`).
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "still running");
        let command = copy_command(&self.command);
        *self = Self::spawn(command);
    }

    /// Stops cleanly and starts again with the same configuration.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
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
