use std::time::Duration;

use tokio_util::sync::CancellationToken;

const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Exponential backoff that gives up when shutdown is requested.
#[derive(Default)]
pub(crate) struct Backoff {
    current: Option<Duration>,
}

impl Backoff {
    /// Sleeps for the next interval; false if shutdown came first.
    pub(crate) async fn wait(&mut self, shutdown: &CancellationToken) -> bool {
        let delay = self.current.map_or(Duration::from_millis(50), |d| (d * 2).min(MAX_BACKOFF));
        self.current = Some(delay);
        tokio::select! {
            () = shutdown.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.current = None;
    }
}
