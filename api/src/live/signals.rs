//! Follows the signals every API process sends: typing frames go to this process's connections
//! of their audience; presence goes on the board, and each change to the connections watching
//! whom it is about, if the rule lets them see it. Says this process is alive, asks the others
//! whom they hold at start, answers theirs, and forgets processes gone silent.
use std::sync::Arc;

use confab_producers::UseCases;
use confab_schemas::Signal;
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio_util::sync::CancellationToken;

use crate::live::{
    Hub,
    presence::{Change, Presence, PresenceView},
};

/// Presence changes waiting for their frames; past this, changes are dropped (presence is best
/// effort, and the next change or a `GET` tells the truth again).
const CHANGES_QUEUED: usize = 4096;

/// Runs until `shutdown`.
pub async fn follow(presence: Arc<Presence>, hub: Arc<Hub>, use_cases: Arc<UseCases>, shutdown: CancellationToken) {
    let mut signals = presence.bus().subscribe();
    let (changes, queued) = mpsc::channel(CHANGES_QUEUED);
    let announcer = tokio::spawn(announce(queued, Arc::clone(&hub), use_cases));
    presence.send(&Signal::Hello { process: presence.process().to_owned() }).await;
    let mut alive = tokio::time::interval(presence.settings().alive_every);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = alive.tick() => {
                presence.send(&Signal::Alive { process: presence.process().to_owned() }).await;
                queue(&changes, presence.expire());
            }
            received = signals.recv() => match received {
                Ok(bytes) => {
                    let Some(signal) = Signal::from_bytes(&bytes) else { continue };
                    on_signal(&presence, &hub, &changes, &signal).await;
                }
                Err(RecvError::Lagged(missed)) => {
                    // Something was missed: ask every process again whom it holds.
                    tracing::warn!(missed, "fell behind the signals; asking for presence again");
                    presence.send(&Signal::Hello { process: presence.process().to_owned() }).await;
                }
                Err(RecvError::Closed) => break,
            },
        }
    }
    drop(changes);
    let _ = announcer.await;
}

async fn on_signal(presence: &Presence, hub: &Hub, changes: &mpsc::Sender<Change>, signal: &Signal) {
    match signal {
        Signal::Frame { audience, frame_type, frame } => {
            // Only frames this version knows go out.
            if frame_type == "typing" {
                hub.signal(audience, "typing", frame);
            }
        }
        Signal::Hello { process } if process != presence.process() => {
            let _ = presence.apply(signal);
            for answer in presence.online_answers() {
                presence.send(&answer).await;
            }
        }
        _ => queue(changes, presence.apply(signal)),
    }
}

fn queue(changes: &mpsc::Sender<Change>, new: Vec<Change>) {
    for change in new.into_iter().filter(|c| !c.watchers.is_empty()) {
        if changes.try_send(change).is_err() {
            tracing::warn!("too many presence changes waiting; dropping one");
        }
    }
}

/// Sends each change to the connections watching, each asked through the rule.
async fn announce(mut changes: mpsc::Receiver<Change>, hub: Arc<Hub>, use_cases: Arc<UseCases>) {
    while let Some(change) = changes.recv().await {
        let frame = PresenceView::of_change(&change).frame();
        for (watcher, connection) in &change.watchers {
            match use_cases.presence_shown(watcher, &change.user_id).await {
                Ok(true) => hub.signal_connection(watcher, *connection, "presence", &frame),
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(error = &error as &dyn std::error::Error, "cannot tell whether presence is shown");
                }
            }
        }
    }
}
