//! In-place access guards: [`SendRef`] (write a message into its slot) and [`RecvRef`] (read a
//! message in its slot).
//!
//! What a held guard does to others is documented on the `zero_copy` module (`# Guards`).

use core::fmt;
use core::ops::{Deref, DerefMut};

use super::chan::Chan;
use super::recycle::Recycle;

/// A reserved slot, being written in place. Derefs to the slot's value (the recycled element
/// left by the previous message); the value is published to receivers when the guard drops.
///
/// Obtained from [`Sender::send_ref`](super::Sender::send_ref). See the
/// [channel docs](super#guards) for what holding it does to other senders and receivers.
pub struct SendRef<'a, T, R> {
    chan: &'a Chan<T, R>,
    pos: usize,
}

impl<'a, T, R> SendRef<'a, T, R> {
    /// Wraps a position reserved through `chan.ring.try_reserve()`.
    pub(crate) fn new(chan: &'a Chan<T, R>, pos: usize) -> Self {
        Self { chan, pos }
    }
}

impl<T, R> Deref for SendRef<'_, T, R> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this guard owns the reserved position until it drops (publishes), so no
        // other thread accesses the slot; the slot always holds an initialised `T`.
        self.chan.ring.with_value(self.pos, |p| unsafe { &*p })
    }
}

impl<T, R> DerefMut for SendRef<'_, T, R> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes the access unique.
        self.chan.ring.with_value(self.pos, |p| unsafe { &mut *p })
    }
}

impl<T, R> Drop for SendRef<'_, T, R> {
    #[inline]
    fn drop(&mut self) {
        self.chan.publish(self.pos, false);
    }
}

impl<T: fmt::Debug, R> fmt::Debug for SendRef<'_, T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SendRef").field(&**self).finish()
    }
}

/// A claimed position; releases it (without recycling) when dropped, even on unwinding.
pub(crate) struct Claim<'a, T, R> {
    pub(crate) chan: &'a Chan<T, R>,
    pub(crate) pos: usize,
}

impl<T, R> Claim<'_, T, R> {
    /// Runs `f` on the claimed value.
    #[inline]
    pub(crate) fn with_value<U>(&self, f: impl FnOnce(*mut T) -> U) -> U {
        self.chan.ring.with_value(self.pos, f)
    }
}

impl<T, R> Drop for Claim<'_, T, R> {
    #[inline]
    fn drop(&mut self) {
        self.chan.release(self.pos);
    }
}

/// A received message, read in place. When the guard drops, the value is cleaned with the
/// channel's [`Recycle`] policy (keeping its allocation if the policy does) and the slot is
/// released to senders.
///
/// Obtained from [`Receiver::recv_ref`](super::Receiver::recv_ref). See the
/// [channel docs](super#guards) for what holding it does to other senders and receivers.
pub struct RecvRef<'a, T, R: Recycle<T>> {
    claim: Claim<'a, T, R>,
}

impl<'a, T, R: Recycle<T>> RecvRef<'a, T, R> {
    pub(crate) fn new(chan: &'a Chan<T, R>, pos: usize) -> Self {
        Self {
            claim: Claim { chan, pos },
        }
    }
}

impl<T, R: Recycle<T>> Deref for RecvRef<'_, T, R> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this guard owns the claimed position until it drops (releases), and the
        // sender's writes happened before the stamp handover; the slot holds a valid `T`.
        self.claim.with_value(|p| unsafe { &*p })
    }
}

impl<T, R: Recycle<T>> DerefMut for RecvRef<'_, T, R> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes the access unique.
        self.claim.with_value(|p| unsafe { &mut *p })
    }
}

impl<T, R: Recycle<T>> Drop for RecvRef<'_, T, R> {
    #[inline]
    fn drop(&mut self) {
        let recycle = &self.claim.chan.recycle;
        // SAFETY: we still own the claimed position (the `claim` field releases it after this
        // body, also if `recycle` panics).
        self.claim
            .with_value(|p| recycle.recycle(unsafe { &mut *p }));
    }
}

impl<T: fmt::Debug, R: Recycle<T>> fmt::Debug for RecvRef<'_, T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RecvRef").field(&**self).finish()
    }
}
