//! A body that must keep up a minimum average rate: a client trickling an upload a byte at a
//! time would otherwise hold its place in the pool, a file and a connection for as long as it
//! liked (the idle timeout only catches a body that stops altogether).
use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::body::Bytes;
use futures::Stream;
use tokio::time::Instant;

/// How long a body may take before the rate counts: a connection's slow start, a phone waking
/// its radio.
pub(crate) const UPLOAD_GRACE: Duration = Duration::from_secs(10);

/// Why a body was cut off.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("the body arrived slower than {0} bytes a second")]
    TooSlow(u64),
    #[error("{0}")]
    Read(String),
}

/// `body`, which ends with [`BodyError::TooSlow`] once, past `grace`, fewer than
/// `min_bytes_per_sec` bytes a second have arrived on average.
pub(crate) struct AtLeast<S> {
    body: S,
    started: Instant,
    grace: Duration,
    min_bytes_per_sec: u64,
    received: u64,
}

impl<S> AtLeast<S> {
    pub(crate) fn new(body: S, min_bytes_per_sec: u64, grace: Duration) -> Self {
        Self { body, started: Instant::now(), grace, min_bytes_per_sec, received: 0 }
    }

    fn behind(&self) -> bool {
        let counted = self.started.elapsed().saturating_sub(self.grace);
        let owed = u128::from(self.min_bytes_per_sec) * counted.as_millis() / 1000;
        u128::from(self.received) < owed
    }
}

impl<S, E> Stream for AtLeast<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.body).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                self.received += bytes.len() as u64;
                if self.behind() {
                    return Poll::Ready(Some(Err(BodyError::TooSlow(self.min_bytes_per_sec))));
                }
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(BodyError::Read(e.to_string())))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use futures::StreamExt;

    use super::*;

    fn chunks(sizes: &[usize]) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + Unpin {
        futures::stream::iter(sizes.iter().map(|&n| Ok(Bytes::from(vec![0u8; n]))).collect::<Vec<_>>())
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_behind_the_rate_after_the_grace_is_cut_off() {
        let mut body = AtLeast::new(chunks(&[10, 10, 10]), 100, Duration::from_secs(1));
        assert!(body.next().await.unwrap().is_ok(), "within the grace anything goes");
        tokio::time::advance(Duration::from_secs(2)).await;
        // 20 bytes after one counted second, 100 owed.
        assert!(matches!(body.next().await.unwrap(), Err(BodyError::TooSlow(100))));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_at_the_rate_passes() {
        let mut body = AtLeast::new(chunks(&[100, 100, 100]), 100, Duration::from_secs(1));
        for _ in 0..3 {
            tokio::time::advance(Duration::from_secs(1)).await;
            assert!(body.next().await.unwrap().is_ok());
        }
        assert!(body.next().await.is_none());
    }
}
