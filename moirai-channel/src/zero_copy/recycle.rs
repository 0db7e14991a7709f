//! Recycling policies: how slot values are created and cleaned between uses.

use std::collections::VecDeque;

/// How the channel creates slot values and cleans them after a message was read in place.
///
/// Every slot always holds a `T`. [`Recycle::new_element`] fills the slots when the channel is
/// created and refills a slot whose message was moved out by [`Receiver::recv`]/
/// [`Receiver::try_recv`]. [`Recycle::recycle`] cleans a slot after a
/// [`RecvRef`](super::RecvRef) guard is dropped, so the next [`SendRef`](super::SendRef) finds a
/// clean value whose allocation it can reuse.
///
/// [`Receiver::recv`]: super::Receiver::recv
/// [`Receiver::try_recv`]: super::Receiver::try_recv
pub trait Recycle<T> {
    /// A fresh, empty element.
    fn new_element(&self) -> T;
    /// Empties `element` after use, ideally keeping its allocation.
    fn recycle(&self, element: &mut T);
}

/// The simple policy for any `T: Default`: new elements are `T::default()`, and recycling
/// replaces the value with `T::default()` (so allocations are *not* kept; use [`WithCapacity`]
/// for `Vec`/`String`/`VecDeque` buffers).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRecycle;

impl<T: Default> Recycle<T> for DefaultRecycle {
    #[inline]
    fn new_element(&self) -> T {
        T::default()
    }

    #[inline]
    fn recycle(&self, element: &mut T) {
        *element = T::default();
    }
}

/// Recycling for buffers (`Vec<U>`, `String`, `VecDeque<U>`): clears them in place, keeping the
/// allocation (shrunk to at most `max` if it grew beyond), and pre-allocates `min` for new ones.
///
/// ```
/// use moirai_channel::zero_copy::{with_recycle, WithCapacity};
/// let (tx, rx) = with_recycle::<Vec<u8>, _>(4, WithCapacity::new().with_min(64));
/// # futures::executor::block_on(async move {
/// let mut slot = tx.send_ref().await.unwrap();
/// slot.extend_from_slice(b"hello");
/// drop(slot); // published
/// let msg = rx.recv_ref().await.unwrap();
/// assert_eq!(&msg[..], b"hello");
/// # });
/// ```
#[derive(Debug, Clone, Copy)]
pub struct WithCapacity {
    min: usize,
    max: usize,
}

impl WithCapacity {
    /// No pre-allocation, no upper bound on the kept capacity.
    pub const fn new() -> Self {
        Self {
            min: 0,
            max: usize::MAX,
        }
    }

    /// New elements pre-allocate `min` items.
    pub const fn with_min(self, min: usize) -> Self {
        Self { min, ..self }
    }

    /// Recycled elements keep at most `max` items of capacity.
    pub const fn with_max(self, max: usize) -> Self {
        Self { max, ..self }
    }
}

impl Default for WithCapacity {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! buffer_recycle {
    ($ty:ty, $($g:ident)?) => {
        impl$(<$g>)? Recycle<$ty> for WithCapacity {
            #[inline]
            fn new_element(&self) -> $ty {
                <$ty>::with_capacity(self.min)
            }

            #[inline]
            fn recycle(&self, element: &mut $ty) {
                element.clear();
                if element.capacity() > self.max {
                    element.shrink_to(self.max);
                }
            }
        }
    };
}

buffer_recycle!(Vec<U>, U);
buffer_recycle!(VecDeque<U>, U);
buffer_recycle!(String,);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_capacity_keeps_allocation_up_to_max() {
        let policy = WithCapacity::new().with_min(8).with_max(32);
        let mut v: Vec<u8> = policy.new_element();
        assert!(v.capacity() >= 8);
        v.extend_from_slice(&[1; 16]);
        let cap = v.capacity();
        policy.recycle(&mut v);
        assert!(v.is_empty());
        assert_eq!(v.capacity(), cap);
        v.extend_from_slice(&[1; 100]);
        policy.recycle(&mut v);
        assert!(v.is_empty() && v.capacity() <= 32 && v.capacity() >= 16);
    }

    #[test]
    fn default_recycle_resets() {
        let mut s = String::from("abc");
        Recycle::<String>::recycle(&DefaultRecycle, &mut s);
        assert_eq!(s, "");
    }
}
