//! Cooperative scheduling: a per-poll budget that makes a task which never waits give its worker
//! back now and then.
//!
//! A task looping over a channel that is always ready never returns `Pending`, so without help
//! it would hold its worker forever and starve every other task queued there. A runtime that
//! opts in (Moirai does) runs each task poll inside [`with_budget`]; the channels of this crate
//! (and Moirai's timers and join handles) call [`poll_proceed`] before doing their work, which
//! spends one unit, and once the budget is spent they wake the task and return `Pending` — a
//! forced yield. Outside such a runtime there is no budget and nothing changes: the channels stay
//! executor-agnostic.
//!
//! ```
//! use std::task::Poll;
//! let waker = futures::task::noop_waker();
//! let mut cx = std::task::Context::from_waker(&waker);
//! // No budget (not inside a runtime that sets one): always proceed.
//! assert!(moirai_channel::coop::poll_proceed(&mut cx).is_ready());
//! moirai_channel::coop::with_budget(1, || {
//!     assert!(moirai_channel::coop::poll_proceed(&mut cx).is_ready());
//!     assert!(moirai_channel::coop::poll_proceed(&mut cx).is_pending());
//! });
//! ```

use std::cell::Cell;
use std::future::poll_fn;
use std::task::{Context, Poll};

thread_local! {
    static BUDGET: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Runs `f` (one task poll) with `units` of budget, restoring the previous budget afterwards.
pub fn with_budget<R>(units: u32, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u32>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = BUDGET.try_with(|b| b.set(self.0));
        }
    }
    let _restore = Restore(BUDGET.with(|b| b.replace(Some(units))));
    f()
}

/// Spends one unit of the current task's budget, or (when it is spent) wakes the task and
/// returns `Pending` so that it yields. Always ready when no budget is set.
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    BUDGET.with(|b| match b.get() {
        None => Poll::Ready(()),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            b.set(Some(n - 1));
            Poll::Ready(())
        }
    })
}

/// [`poll_proceed`] as a future.
#[inline]
pub async fn proceed() {
    poll_fn(poll_proceed).await
}
