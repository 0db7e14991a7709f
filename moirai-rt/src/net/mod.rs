//! TCP sockets registered once, edge-triggered, in an epoll instance nested in async-io's
//! reactor (Linux).
//!
//! `async_io::Async<TcpStream>` (which `async-net` wraps) registers interest one-shot: every
//! time a task waits for a socket, the socket is re-armed with an `epoll_ctl` system call. A
//! keep-alive HTTP connection waits once per request, so that is one extra system call per
//! request (`perf` of the HTTP example: `do_epoll_ctl`, `fdget`, `ep_item_poll` and `polling`'s
//! `modify` together ~6% of the server's CPU samples, tokio's server has none of it).
//!
//! [`TcpStream`] and [`TcpListener`] are added to a process-wide epoll instance once,
//! edge-triggered for both directions, and only removed when dropped. That epoll descriptor is
//! itself an async-io source, so async-io's reactor still drives everything, from a parked Moirai
//! worker, a busy one between tasks, or async-io's own thread: when any socket has an event, the
//! reactor wakes the driver, which takes all the events in one `epoll_wait`, records them in the
//! sockets' readiness, wakes their tasks and re-arms its descriptor.
//! One re-arm per reactor turn instead of one per wait: under load a turn serves dozens of
//! sockets.
//!
//! Nothing here depends on Moirai's scheduler: the types work with any executor, like
//! `async-net`'s. They implement `futures::io::{AsyncRead, AsyncWrite}`.

// Under loom only the readiness protocol is built, for its model; the sockets need the reactor.
#[cfg_attr(loom, allow(dead_code))]
mod readiness;

#[cfg(not(loom))]
mod driver;
#[cfg(not(loom))]
mod tcp;

#[cfg(not(loom))]
pub use tcp::{TcpListener, TcpStream};
