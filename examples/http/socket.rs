//! [`Socket`]: a TCP stream on `async-io`'s reactor, read and written by hyper directly, that
//! skips the read it knows would block.
//!
//! `async-io` registers interest one-shot: after a read returns `WouldBlock` it re-arms the
//! descriptor (`epoll_ctl`) and waits. A keep-alive HTTP connection reads one request, answers,
//! and reads again, so every request used to cost a `recv` that returned `WouldBlock` before the
//! re-arm. A read that returned fewer bytes than asked for has drained the socket, so the next
//! read would block anyway: the adapter goes straight to waiting for readability
//! (`Async::poll_readable`, which re-arms the descriptor), and reads once the reactor says there
//! are bytes. Nothing can be missed: the registration is level-triggered, so bytes that arrived
//! in between are reported by the very next reactor turn. (Tokio's `TcpStream` skips the same
//! read the same way.)

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use async_io::Async;
use hyper::rt::ReadBufCursor;

pub struct Socket {
    io: Async<TcpStream>,
    /// The last read came back short: the socket is drained until the reactor says otherwise.
    drained: bool,
    /// Reads land here first and are copied into hyper's buffer, which keeps the adapter free
    /// of `unsafe` (hyper's buffer may be uninitialised) for one copy of the request bytes.
    scratch: Box<[u8]>,
}

impl Socket {
    pub fn new(io: Async<TcpStream>) -> Socket {
        Socket {
            io,
            drained: false,
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
        loop {
            if this.drained {
                ready!(this.io.poll_readable(cx))?;
                this.drained = false;
            }
            match this.io.get_ref().read(&mut this.scratch[..room]) {
                Ok(n) => {
                    this.drained = n < room;
                    buf.put_slice(&this.scratch[..n]);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => this.drained = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl Socket {
    fn poll_io<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&TcpStream) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            match op(self.io.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(self.io.poll_writable(cx))?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return Poll::Ready(other),
            }
        }
    }
}

impl hyper::rt::Write for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_io(cx, |mut s| s.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_io(cx, |mut s| s.write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// Writes go straight to the socket: nothing to flush.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.get_ref().shutdown(std::net::Shutdown::Write))
    }
}
