//! Accepting connections without letting clients exhaust the server: a cap on open
//! connections shared by both listeners, a deadline for a request's headers, and an orderly
//! shutdown that lets in-flight requests finish.
//!
//! `axum::serve` has neither a header deadline nor a cap: a thousand clients sending half a
//! request line each held a file descriptor apiece until the process ran out and stopped
//! answering anyone. Here a connection past the cap is closed at once (the descriptors it
//! would take are never at risk) and one that sends no complete headers in time is dropped.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_stream::Stream;

/// File descriptors kept free of connections for the store, its readers and the process.
const RESERVED_DESCRIPTORS: u64 = 256;

/// How many connections the two listeners may hold open together.
#[derive(Clone)]
pub struct ConnectionCap {
    permits: Arc<Semaphore>,
    max: usize,
}

impl ConnectionCap {
    /// At most `wanted`, and never more than the process's descriptor limit allows (raised to
    /// its hard limit first), so accepting can never fail for want of descriptors.
    pub fn new(wanted: usize) -> ConnectionCap {
        let descriptors = raise_descriptor_limit();
        let affordable = descriptors.saturating_sub(RESERVED_DESCRIPTORS).max(16);
        let max = wanted.clamp(1, affordable.min(usize::MAX as u64) as usize);
        if max < wanted {
            tracing::warn!(
                wanted,
                max,
                descriptors,
                "the descriptor limit allows fewer connections than --max-connections asks"
            );
        }
        ConnectionCap {
            permits: Arc::new(Semaphore::new(max)),
            max,
        }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// A place for one more connection, or `None` when the cap is reached.
    fn admit(&self) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }
}

/// Raises the soft limit on open files to the hard limit; returns the limit in force.
fn raise_descriptor_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "could not read or raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map(|(soft, _)| soft)
                .unwrap_or(1024)
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting and waits for
/// the open connections' requests to finish.
pub async fn serve_http(
    listener: TcpListener,
    router: Router,
    cap: ConnectionCap,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let graceful = GracefulShutdown::new();
    let service = TowerToHyperService::new(router);
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Some(permit) = cap.admit() else {
            tracing::debug!("connection refused: the connection cap is reached");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service.clone())
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Accepted gRPC connections, each holding its place under the cap until it closes.
pub fn grpc_incoming(
    listener: TcpListener,
    cap: ConnectionCap,
) -> impl Stream<Item = std::io::Result<CappedStream>> {
    futures_util::stream::unfold((listener, cap), |(listener, cap)| async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            };
            let Some(permit) = cap.admit() else {
                tracing::debug!("gRPC connection refused: the connection cap is reached");
                continue;
            };
            let _ = stream.set_nodelay(true);
            let capped = CappedStream {
                stream,
                _permit: permit,
            };
            return Some((Ok(capped), (listener, cap)));
        }
    })
}

/// A transient accept error (the peer reset before we accepted) needs nothing; a resource
/// error (out of descriptors or memory) needs a pause before trying again, or the loop spins.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted) {
        return;
    }
    tracing::warn!(error = %e, "accepting a connection failed; pausing");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// A TCP stream that frees its place under the cap when dropped.
pub struct CappedStream {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl tonic::transport::server::Connected for CappedStream {
    type ConnectInfo = <TcpStream as tonic::transport::server::Connected>::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for CappedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CappedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
