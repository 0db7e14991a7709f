//! [`spawn_blocking`]: runs blocking code on a separate thread pool and joins it like a task.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::task::JoinHandle;

/// Runs the blocking closure `f` on the blocking thread pool and returns a [`JoinHandle`] for its
/// result, so that file system calls, CPU-heavy work or blocking libraries never stall the async
/// workers.
///
/// * The pool is the [`blocking`](https://docs.rs/blocking) crate's: it starts threads as work
///   arrives, up to a bound (500 by default, `BLOCKING_MAX_THREADS` changes it), and lets idle ones
///   exit. Blocking threads only ever run blocking closures, never async tasks.
/// * The result is delivered through a small task on the current runtime (as for
///   [`spawn`](crate::spawn): the runtime of this worker or `block_on`, else the global one).
/// * A panic in `f` reaches the joiner as a [`JoinError`](crate::JoinError) for which
///   [`is_panic`](crate::JoinError::is_panic) is true; the pool thread survives it.
/// * [`abort`](JoinHandle::abort) (or the runtime shutting down) cannot interrupt a closure that is
///   already running: it runs to the end and its result is dropped. A closure that has not started
///   yet never will.
///
/// ```
/// let rt = moirai_rt::Runtime::builder().worker_threads(1).build().unwrap();
/// let sum = rt.block_on(async {
///     moirai_rt::spawn_blocking(|| (1..=10u64).sum::<u64>()).await.unwrap()
/// });
/// assert_eq!(sum, 55);
/// ```
pub fn spawn_blocking<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let running = ::blocking::unblock(move || catch_unwind(AssertUnwindSafe(f)));
    crate::spawn(async move {
        match running.await {
            Ok(value) => value,
            // Re-raised inside the task's poll, where the task's own panic capture turns it into
            // `JoinError::is_panic` (without running the panic hook a second time).
            Err(payload) => resume_unwind(payload),
        }
    })
}
