//! Timers: [`sleep`], [`sleep_until`], [`timeout`] and [`interval`].
//!
//! They are built on [`async_io::Timer`], so they work in any executor and are woken by
//! `async-io`'s reactor: the Moirai workers drive that reactor while idle, and `async-io`'s own
//! fallback thread drives it when nobody else does. Nothing here needs to be called from inside a
//! runtime; the futures only need to be polled.
//!
//! ```
//! use std::time::{Duration, Instant};
//!
//! moirai_rt::block_on(async {
//!     let start = Instant::now();
//!     moirai_rt::time::sleep(Duration::from_millis(5)).await;
//!     assert!(start.elapsed() >= Duration::from_millis(5));
//!
//!     let never = std::future::pending::<()>();
//!     let res = moirai_rt::time::timeout(Duration::from_millis(1), never).await;
//!     assert!(res.is_err());
//! });
//! ```

mod elapsed;
mod interval;
mod sleep;
mod timeout;

pub use elapsed::Elapsed;
pub use interval::{interval, interval_at, Interval};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Timeout};
