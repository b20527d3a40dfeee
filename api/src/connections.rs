//! How many TCP connections the API holds open: in all (each is a file, and a process may open
//! only so many), and per client, so one address cannot take them all. A connection past either
//! bound is closed as soon as it is accepted. A trusted proxy's connections count only in the
//! total: behind it, the per-client bounds are kept per request (`http_limits`).
use std::{
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use axum::serve::Listener;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
};

use crate::{
    TrustedProxies,
    client_addr::client_key,
    tally::{Slot, Tally},
};

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once.
    pub max_total: usize,
    /// Connections one client (an IPv4 address, an IPv6 /64) may hold open.
    pub max_per_client: usize,
}

/// The one key every connection counts under for the total.
const ALL: Option<IpAddr> = None;

/// A listener that refuses connections past the bounds.
pub struct BoundedListener {
    inner: TcpListener,
    limits: ConnectionLimits,
    proxies: TrustedProxies,
    open: Arc<Tally<Option<IpAddr>>>,
}

impl BoundedListener {
    pub fn new(inner: TcpListener, limits: ConnectionLimits, proxies: TrustedProxies) -> Self {
        Self { inner, limits, proxies, open: Arc::default() }
    }

    /// Places for a connection from `peer`, or None past a bound.
    fn admit(&self, peer: IpAddr) -> Option<Vec<Slot<Option<IpAddr>>>> {
        let total = self.open.take(ALL, self.limits.max_total)?;
        if self.proxies.trusts(peer) {
            return Some(vec![total]);
        }
        let own = self.open.take(Some(client_key(peer)), self.limits.max_per_client)?;
        Some(vec![total, own])
    }
}

impl Listener for BoundedListener {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // axum's accept retries on errors (out of files included) after a pause.
            let (stream, peer) = Listener::accept(&mut self.inner).await;
            match self.admit(peer.ip()) {
                Some(slots) => return (Counted { stream, _slots: slots }, peer),
                None => {
                    tracing::debug!(%peer, "connection refused: too many open");
                    crate::metrics::refused("connections");
                    drop(stream);
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// An admitted connection; its places are given back when it closes.
pub struct Counted {
    stream: TcpStream,
    _slots: Vec<Slot<Option<IpAddr>>>,
}

impl Counted {
    /// Sends small writes at once (answers are small frames and JSON), not after a delayed ack.
    pub fn no_delay(&mut self) {
        let _ = self.stream.set_nodelay(true);
    }
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
