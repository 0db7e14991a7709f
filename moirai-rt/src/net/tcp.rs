//! [`TcpListener`] and [`TcpStream`] on the edge-triggered [driver](super::driver).

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures::io::{AsyncRead, AsyncWrite};

use super::driver;
use super::readiness::{Direction, Readiness};

/// A socket's place in the driver; removed (before the socket closes) when dropped.
struct Registration {
    driver: &'static driver::Driver,
    key: usize,
    fd: std::os::fd::RawFd,
    readiness: Arc<Readiness>,
}

impl Registration {
    fn new(fd: &impl AsRawFd) -> io::Result<Registration> {
        let fd = fd.as_raw_fd();
        let driver = driver::get()?;
        let (key, readiness) = driver.register(fd)?;
        Ok(Registration {
            driver,
            key,
            fd,
            readiness,
        })
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for `dir` in between. A result
    /// for which `drained` says the socket is now empty (a read that came back short) clears the
    /// readiness at once, as `WouldBlock` does: the next attempt would only say `WouldBlock`, and
    /// with edge-triggered registration anything that arrives later raises a new event.
    fn poll_io<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        loop {
            let seen = ready!(self.readiness.poll_ready(dir, cx));
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readiness.clear(dir, seen),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(r) => {
                    if drained(&r) {
                        self.readiness.clear(dir, seen);
                    }
                    return Poll::Ready(Ok(r));
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// [`Registration::poll_io`] for a read into `len` bytes of room.
    fn poll_read(
        &self,
        cx: &mut Context<'_>,
        len: usize,
        op: impl FnMut() -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.poll_io(Direction::Read, cx, op, |&n| n > 0 && n < len)
    }

    /// [`Registration::poll_io`] for an operation whose success says nothing about what is left.
    fn poll_other<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(dir, cx, op, |_| false)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.driver.deregister(self.key, self.fd);
    }
}

/// A TCP listener whose [`accept`](TcpListener::accept) is a future.
///
/// Works inside a Moirai runtime (whose workers drive the reactor) and with any other executor
/// (async-io's own thread drives it then).
///
/// ```
/// # moirai_rt::block_on(async {
/// use futures::{AsyncReadExt, AsyncWriteExt};
/// use moirai_rt::net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let client = async move {
///     let mut s = TcpStream::connect(addr).await?;
///     s.write_all(b"ping").await?;
///     std::io::Result::Ok(())
/// };
/// let server = async {
///     let (mut s, _) = listener.accept().await?;
///     let mut buf = [0; 4];
///     s.read_exact(&mut buf).await?;
///     std::io::Result::Ok(buf)
/// };
/// let (sent, got) = futures::join!(client, server);
/// sent?;
/// assert_eq!(&got?, b"ping");
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct TcpListener {
    // Dropped first: the registration leaves the driver before the socket closes.
    registration: Registration,
    inner: std::net::TcpListener,
}

impl TcpListener {
    /// Binds to `addr` (the first address it resolves to that binds). Resolving a host name
    /// blocks; pass a `SocketAddr` or an `"ip:port"` string to avoid that.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        TcpListener::from_std(std::net::TcpListener::bind(addr)?)
    }

    /// Takes over a listener made elsewhere (it is switched to non-blocking mode).
    pub fn from_std(inner: std::net::TcpListener) -> io::Result<TcpListener> {
        inner.set_nonblocking(true)?;
        Ok(TcpListener {
            registration: Registration::new(&inner)?,
            inner,
        })
    }

    /// Accepts a connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) = std::future::poll_fn(|cx| {
            self.registration
                .poll_other(Direction::Read, cx, || self.inner.accept())
        })
        .await?;
        Ok((TcpStream::from_std(stream)?, addr))
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The standard listener underneath (for socket options).
    pub fn get_ref(&self) -> &std::net::TcpListener {
        &self.inner
    }
}

/// A TCP connection implementing `futures::io::{AsyncRead, AsyncWrite}`.
///
/// Registered once, edge-triggered, with Moirai's socket driver: waiting for it costs no system
/// call beyond the read or write that found it not ready (see the [module docs](super)).
pub struct TcpStream {
    // Dropped first: the registration leaves the driver before the socket closes.
    registration: Registration,
    inner: std::net::TcpStream,
}

impl TcpStream {
    /// Connects to `addr`. `std`'s connect blocks, so it runs on the blocking pool
    /// ([`spawn_blocking`](crate::spawn_blocking)'s) and does not hold up a worker.
    pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        let inner = ::blocking::unblock(move || std::net::TcpStream::connect(addr)).await?;
        TcpStream::from_std(inner)
    }

    /// Takes over a connected stream made elsewhere (it is switched to non-blocking mode).
    pub fn from_std(inner: std::net::TcpStream) -> io::Result<TcpStream> {
        inner.set_nonblocking(true)?;
        Ok(TcpStream {
            registration: Registration::new(&inner)?,
            inner,
        })
    }

    /// The standard stream underneath (for socket options and addresses). Reading or writing
    /// through it directly bypasses the readiness bookkeeping but cannot lose a wake-up: the
    /// next wait simply tries once more.
    pub fn get_ref(&self) -> &std::net::TcpStream {
        &self.inner
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.set_nodelay(on)
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// Reading and writing through `&TcpStream` lets one task read while another writes (one reader
/// and one writer at a time: each direction keeps one waiting task).
impl AsyncRead for &TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this: &TcpStream = self.get_mut();
        let len = buf.len();
        this.registration
            .poll_read(cx, len, || (&this.inner).read(&mut *buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let this: &TcpStream = self.get_mut();
        let len = bufs.iter().map(|b| b.len()).sum();
        this.registration
            .poll_read(cx, len, || (&this.inner).read_vectored(&mut *bufs))
    }
}

impl AsyncWrite for &TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this: &TcpStream = self.get_mut();
        this.registration
            .poll_other(Direction::Write, cx, || (&this.inner).write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this: &TcpStream = self.get_mut();
        this.registration
            .poll_other(Direction::Write, cx, || (&this.inner).write_vectored(bufs))
    }

    /// Writes go straight to the socket: nothing to flush.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts the write half down (the peer reads end-of-stream).
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(match self.inner.shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        })
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_read(cx, buf)
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_read_vectored(cx, bufs)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self).poll_close(cx)
    }
}
