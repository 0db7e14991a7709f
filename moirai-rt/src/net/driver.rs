//! The process-wide edge-triggered epoll instance behind [`super::TcpStream`] and
//! [`super::TcpListener`], nested in async-io's reactor.
//!
//! Each socket is added to this epoll instance once, edge-triggered for both directions, and
//! never touched again until it is dropped. The epoll descriptor itself is an `async_io::Async`
//! source: when any socket has an event, async-io's reactor (driven by a parked Moirai worker, by
//! a busy one between tasks, or by async-io's own thread) sees the descriptor readable and wakes
//! the driver's waker, which drains the events into the sockets' [`Readiness`], wakes their
//! tasks, and re-arms the descriptor. So a reactor turn costs one `epoll_wait` and one re-arm
//! here, however many sockets it serves, where an `Async<TcpStream>` re-arms (one `epoll_ctl`)
//! every time a task waits on it.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use async_io::Async;
use slab::Slab;

use super::readiness::{Readiness, READABLE, READ_CLOSED, WRITABLE, WRITE_CLOSED};

/// Events taken per `epoll_wait`; a turn repeats the wait while it comes back full.
const EVENTS_PER_WAIT: usize = 256;

/// The epoll descriptor, for `Async`.
struct EpollFd(OwnedFd);

impl AsFd for EpollFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

pub(crate) struct Driver {
    epoll: Async<EpollFd>,
    registrations: Mutex<Slab<Arc<Readiness>>>,
    /// Held for a turn; the events buffer and the list of readiness to set live under it.
    turn: Mutex<TurnBuffers>,
    /// A wake-up came in (see [`Driver::turn`]).
    wanted: AtomicBool,
    /// The one waker async-io holds for the descriptor.
    waker: Waker,
}

#[derive(Default)]
struct TurnBuffers {
    events: Vec<libc::epoll_event>,
    ready: Vec<(Arc<Readiness>, usize)>,
}

static DRIVER: OnceLock<Driver> = OnceLock::new();

/// The driver's waker: async-io wakes it when the epoll descriptor is readable. It has no data
/// (the driver is a static), so it needs no allocation: an `Arc` of a zero-sized type would be a
/// 16-byte block that only a pointer to its end refers to, which LeakSanitizer reports as leaked.
fn turn_waker() -> Waker {
    fn clone(_: *const ()) -> RawWaker {
        RawWaker::new(std::ptr::null(), &TURN_WAKER_VTABLE)
    }
    fn wake(_: *const ()) {
        if let Some(driver) = DRIVER.get() {
            driver.turn();
        }
    }
    fn drop(_: *const ()) {}
    static TURN_WAKER_VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop);
    // SAFETY: the vtable's functions ignore the data pointer (null), so every clone of this waker
    // is valid for as long as the program runs, from any thread (they only reach the static
    // driver), which is the whole `RawWaker` contract.
    unsafe { Waker::from_raw(clone(std::ptr::null())) }
}

/// The process's driver, created (and armed) on first use.
pub(crate) fn get() -> io::Result<&'static Driver> {
    if let Some(d) = DRIVER.get() {
        return Ok(d);
    }
    let driver = Driver::new()?;
    // Two threads may both get here: one driver wins, the other is dropped unused, and the
    // second `turn` only finds the descriptor armed already.
    let d = DRIVER.get_or_init(|| driver);
    d.turn(); // arms the descriptor
    Ok(d)
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

impl Driver {
    fn new() -> io::Result<Driver> {
        // SAFETY: `epoll_create1` takes no pointers; a non-negative result is a new descriptor
        // that nothing else owns, so `OwnedFd` may take it.
        let fd = unsafe { OwnedFd::from_raw_fd(cvt(libc::epoll_create1(libc::EPOLL_CLOEXEC))?) };
        Ok(Driver {
            epoll: Async::new(EpollFd(fd))?,
            registrations: Mutex::new(Slab::new()),
            turn: Mutex::new(TurnBuffers::default()),
            wanted: AtomicBool::new(false),
            waker: turn_waker(),
        })
    }

    fn epoll_fd(&self) -> RawFd {
        self.epoll.get_ref().0.as_raw_fd()
    }

    /// Adds `fd` (edge-triggered, both directions) and returns its key and readiness.
    ///
    /// The caller must [`Driver::deregister`] it before `fd` is closed.
    pub(crate) fn register(&self, fd: RawFd) -> io::Result<(usize, Arc<Readiness>)> {
        let readiness = Arc::new(Readiness::new());
        let key = lock(&self.registrations).insert(readiness.clone());
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: key as u64,
        };
        // SAFETY: both descriptors are open (the caller owns `fd`), and `ev` is a valid
        // `epoll_event` that the kernel only reads during the call.
        let r = unsafe { libc::epoll_ctl(self.epoll_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) };
        if let Err(e) = cvt(r) {
            lock(&self.registrations).remove(key);
            return Err(e);
        }
        Ok((key, readiness))
    }

    /// Removes `fd`, registered under `key`. Events already taken for it are dropped harmlessly:
    /// they set a readiness nobody looks at (or, once the key is reused, one spurious readiness
    /// that costs its new owner one `WouldBlock`).
    pub(crate) fn deregister(&self, key: usize, fd: RawFd) {
        // SAFETY: `fd` is still open (the caller closes it after this); a null event pointer is
        // allowed for EPOLL_CTL_DEL since Linux 2.6.9.
        unsafe {
            libc::epoll_ctl(
                self.epoll_fd(),
                libc::EPOLL_CTL_DEL,
                fd,
                std::ptr::null_mut(),
            )
        };
        lock(&self.registrations).try_remove(key);
    }

    /// Sockets registered now (tests).
    #[cfg(test)]
    pub(crate) fn registered(&self) -> usize {
        lock(&self.registrations).len()
    }

    /// One turn: takes the readiness async-io reported (if any), drains the epoll instance into
    /// the sockets' readiness, wakes their tasks, and re-arms.
    ///
    /// Called by the driver's waker, on whatever thread runs async-io's reactor turn. Only one
    /// thread turns at a time; a call that finds a turn in progress leaves a note (`wanted`) and
    /// returns, and the thread in the turn goes round again before it leaves: the descriptor is
    /// armed one-shot, so a wake-up dropped here would leave it disarmed and every socket deaf.
    fn turn(&self) {
        self.wanted.store(true, SeqCst);
        loop {
            let Ok(mut buffers) = self.turn.try_lock() else {
                return; // the thread in the turn sees `wanted`
            };
            while self.wanted.swap(false, SeqCst) {
                self.poll_and_drain(&mut buffers);
            }
            drop(buffers);
            if !self.wanted.load(SeqCst) {
                return;
            }
        }
    }

    fn poll_and_drain(&self, buffers: &mut TurnBuffers) {
        let mut cx = Context::from_waker(&self.waker);
        loop {
            // `Ready` consumes the event that woke us; `Pending` arms the descriptor again.
            match self.epoll.poll_readable(&mut cx) {
                Poll::Pending => return,
                Poll::Ready(Ok(())) => self.drain(buffers),
                Poll::Ready(Err(e)) => {
                    // Only resource exhaustion breaks an epoll descriptor: wake every socket's
                    // tasks (their next attempt reports their own state) and say why.
                    eprintln!("moirai::net: the socket driver could not re-arm: {e}");
                    let all: Vec<_> = lock(&self.registrations)
                        .iter()
                        .map(|(_, r)| r.clone())
                        .collect();
                    for r in all {
                        r.set(READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED);
                    }
                    return;
                }
            }
        }
    }

    fn drain(&self, buffers: &mut TurnBuffers) {
        let TurnBuffers { events, ready } = buffers;
        loop {
            events.clear();
            events.reserve(EVENTS_PER_WAIT);
            // SAFETY: the kernel writes at most `EVENTS_PER_WAIT` events into the vector's
            // spare capacity, which `reserve` made at least that large; we then set the length
            // to the number it reports having written.
            let n = unsafe {
                let n = libc::epoll_wait(
                    self.epoll_fd(),
                    events.as_mut_ptr(),
                    EVENTS_PER_WAIT as libc::c_int,
                    0,
                );
                if n < 0 {
                    0
                } else {
                    events.set_len(n as usize);
                    n as usize
                }
            };
            {
                let regs = lock(&self.registrations);
                for ev in events.iter() {
                    let flags = ev.events as libc::c_int;
                    let key = ev.u64 as usize;
                    let Some(r) = regs.get(key) else { continue };
                    let mut bits = 0;
                    if flags & libc::EPOLLIN != 0 {
                        bits |= READABLE;
                    }
                    if flags & libc::EPOLLOUT != 0 {
                        bits |= WRITABLE;
                    }
                    // End of stream, hang-up and errors are states, not edges: they stay.
                    if flags & (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) != 0 {
                        bits |= READ_CLOSED;
                    }
                    if flags & (libc::EPOLLHUP | libc::EPOLLERR) != 0 {
                        bits |= WRITE_CLOSED;
                    }
                    ready.push((r.clone(), bits));
                }
            }
            // Woken outside the registrations lock: a wake-up may drop a task (its runtime is
            // shutting down), and with it a socket that deregisters.
            for (r, bits) in ready.drain(..) {
                r.set(bits);
            }
            if n < EVENTS_PER_WAIT {
                return;
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // No user code runs under these locks.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_sockets_leave_the_driver() {
        let before = get().unwrap().registered();
        let listener = crate::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let pairs: Vec<_> = (0..20)
            .map(|_| {
                let client = std::net::TcpStream::connect(addr).unwrap();
                let client = crate::net::TcpStream::from_std(client).unwrap();
                let server = crate::block_on(listener.accept()).unwrap().0;
                (client, server)
            })
            .collect();
        assert_eq!(get().unwrap().registered(), before + 41);
        drop(pairs);
        drop(listener);
        assert_eq!(get().unwrap().registered(), before);
    }
}
