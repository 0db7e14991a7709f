//! Glue between hyper and the futures ecosystem: [`FuturesIo`] lets hyper read and write a
//! `futures-io` stream (an `async-net` socket), and [`MoiraiExecutor`] lets hyper spawn tasks on
//! Moirai.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures::io::{AsyncRead, AsyncWrite};
use hyper::rt::ReadBufCursor;

/// A `futures-io` stream seen through hyper's `Read`/`Write` traits.
///
/// Reads go through a small initialised scratch buffer and are copied into hyper's buffer, which
/// keeps this adapter free of `unsafe` at the cost of one copy of the incoming bytes.
pub struct FuturesIo<T> {
    inner: T,
    scratch: Box<[u8]>,
}

impl<T> FuturesIo<T> {
    pub fn new(inner: T) -> Self {
        FuturesIo {
            inner,
            scratch: vec![0; 16 * 1024].into_boxed_slice(),
        }
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for FuturesIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let room = buf.remaining().min(this.scratch.len());
        let n = ready!(Pin::new(&mut this.inner).poll_read(cx, &mut this.scratch[..room]))?;
        buf.put_slice(&this.scratch[..n]);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for FuturesIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    /// `futures-io` always has a vectored write (at worst it writes the first buffer), and
    /// `async-net` sockets implement it with `writev`.
    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

/// Spawns hyper's background futures (and our connections) as detached Moirai tasks.
#[derive(Debug, Clone, Copy, Default)]
pub struct MoiraiExecutor;

impl<F> hyper::rt::Executor<F> for MoiraiExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        drop(moirai::spawn(future));
    }
}
