//! Which runtime the current thread is "in": set on worker threads and inside
//! [`Runtime::block_on`](crate::Runtime::block_on) / [`Handle::enter`](crate::Handle::enter), read
//! by [`Handle::current`](crate::Handle::current) and [`spawn`](crate::spawn).

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::Handle;

thread_local! {
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// Restores the previously entered runtime when dropped. Not `Send`: it must be dropped on the
/// thread that created it.
#[must_use = "the runtime is only entered while the guard lives"]
pub struct EnterGuard {
    previous: Option<Handle>,
    _not_send: PhantomData<*const ()>,
}

pub(crate) fn enter(handle: Handle) -> EnterGuard {
    let previous = CURRENT.with(|c| c.borrow_mut().replace(handle));
    EnterGuard {
        previous,
        _not_send: PhantomData,
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: the guard may be dropped while thread-locals are being torn down.
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
    }
}

/// The runtime entered on this thread, if any.
pub(crate) fn current() -> Option<Handle> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}
