//! [`Socket`]: hyper's `Read`/`Write` over a [`moirai::net::TcpStream`].
//!
//! The stream is registered once, edge-triggered, with Moirai's socket driver, so waiting for the
//! next request costs no system call (an `async_io::Async<TcpStream>` re-arms the socket with an
//! `epoll_ctl` on every wait: ~6% of this server's CPU under `wrk`). A read that comes back short
//! marks the socket drained, so the read that would only say `WouldBlock` is skipped, as tokio's
//! `TcpStream` does.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures::io::{AsyncRead, AsyncWrite};
use hyper::rt::ReadBufCursor;
use moirai::net::TcpStream;

pub struct Socket {
    io: TcpStream,
    /// Reads land here first and are copied into hyper's buffer, which keeps the adapter free
    /// of `unsafe` (hyper's buffer may be uninitialised) for one copy of the request bytes.
    scratch: Box<[u8]>,
}

impl Socket {
    pub fn new(io: TcpStream) -> Socket {
        Socket {
            io,
            scratch: vec![0; 16 * 1024].into_boxed_slice(),
        }
    }
}

impl hyper::rt::Read for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let room = buf.remaining().min(this.scratch.len());
        let n = ready!(Pin::new(&mut &this.io).poll_read(cx, &mut this.scratch[..room]))?;
        buf.put_slice(&this.scratch[..n]);
        Poll::Ready(Ok(()))
    }
}

impl hyper::rt::Write for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// Writes go straight to the socket: nothing to flush.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &self.io).poll_close(cx)
    }
}
