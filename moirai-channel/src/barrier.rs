//! Asymmetric memory barriers: a free one for the hot side, an expensive one for the cold side.
//!
//! Both channels have a Dekker pair with a hot side and a rare side: in the batch channel a
//! sender locks its partial batch on every message and the receiver only when it picks the
//! batch up (see `batch::sync::OwnerLock`); in the zero-copy channel every publish and release
//! checks for parked waiters, and a waiter registers only before it parks (`zero_copy::chan`).
//! Both sides must order a store before a load, which normally costs a full fence or an atomic
//! read-modify-write *on each side* — about 10 ns per operation on the machines we measure, as
//! much as the rest of a `send`. An asymmetric barrier moves the whole cost to the rare side:
//!
//! * [`light`] (the hot side, per operation) is only a compiler fence;
//! * [`heavy`] (the rare side) makes every other thread of the process execute a full
//!   memory barrier before it returns, with Linux's `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`
//!   (about 0.1 µs when no other thread of the process is running, about 2 µs with an IPI).
//!
//! After `heavy` returns, each other thread has passed a full barrier at some point of its
//! execution: what it stored before that point is visible to the caller, and what it loads
//! after that point sees what the caller stored before calling `heavy`. That is exactly what
//! a fence on each side would give the Dekker pair, so the pair stays correct.
//!
//! Where `membarrier` is not available (other systems, old kernels, seccomp filters, miri and
//! loom) both functions are a `SeqCst` fence: the symmetric Dekker protocol, correct and as fast
//! as before this module existed. The choice is made once per process by [`init`], before any
//! channel exists, and never changes afterwards.

#[cfg(all(target_os = "linux", not(miri), not(loom)))]
mod imp {
    use std::sync::atomic::{compiler_fence, fence, AtomicBool, Ordering};
    use std::sync::Once;

    /// `MEMBARRIER_CMD_QUERY`, `..._PRIVATE_EXPEDITED`, `..._REGISTER_PRIVATE_EXPEDITED` from
    /// `linux/membarrier.h` (stable kernel ABI since Linux 4.14).
    const CMD_QUERY: libc::c_long = 0;
    const CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

    static INIT: Once = Once::new();
    /// Set once by `init`, before any channel (and so any caller of `light`/`heavy`) exists:
    /// the `Once` orders it before every later use.
    static ASYMMETRIC: AtomicBool = AtomicBool::new(false);

    fn membarrier(cmd: libc::c_long) -> libc::c_long {
        // SAFETY: `membarrier(cmd, flags = 0, cpu_id = 0)` takes no pointers; an unsupported
        // command returns -1 (ENOSYS, EINVAL or EPERM), which every caller checks.
        unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                cmd,
                0 as libc::c_uint,
                0 as libc::c_int,
            )
        }
    }

    pub(crate) fn init() {
        INIT.call_once(|| {
            let supported = membarrier(CMD_QUERY);
            let wanted = CMD_PRIVATE_EXPEDITED | CMD_REGISTER_PRIVATE_EXPEDITED;
            if supported >= 0
                && supported & wanted == wanted
                && membarrier(CMD_REGISTER_PRIVATE_EXPEDITED) == 0
            {
                ASYMMETRIC.store(true, Ordering::Relaxed);
            }
        });
    }

    #[cfg(test)]
    pub(crate) fn is_asymmetric() -> bool {
        ASYMMETRIC.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn light() {
        if ASYMMETRIC.load(Ordering::Relaxed) {
            // The hardware may still reorder our store before our load; `heavy` on the other
            // side accounts for that. Only the compiler must keep the program order.
            compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }

    pub(crate) fn heavy() {
        fence(Ordering::SeqCst);
        if ASYMMETRIC.load(Ordering::Relaxed) {
            // Registration succeeded in `init`, so the command cannot fail: the kernel rejects
            // it only for processes that did not register.
            let r = membarrier(CMD_PRIVATE_EXPEDITED);
            assert!(r == 0, "membarrier failed after successful registration");
        }
    }
}

#[cfg(not(all(target_os = "linux", not(miri), not(loom))))]
mod imp {
    #[cfg(loom)]
    use loom::sync::atomic::{fence, Ordering};
    #[cfg(not(loom))]
    use std::sync::atomic::{fence, Ordering};

    pub(crate) fn init() {}

    #[cfg(all(test, not(loom)))]
    pub(crate) fn is_asymmetric() -> bool {
        false
    }

    // Under loom only the `OwnerLock` model uses it (the channel models use a mutex stand-in).
    #[cfg_attr(loom, allow(dead_code))]
    #[inline]
    pub(crate) fn light() {
        fence(Ordering::SeqCst);
    }

    pub(crate) fn heavy() {
        fence(Ordering::SeqCst);
    }
}

#[cfg(all(test, not(loom)))]
pub(crate) use imp::is_asymmetric;
pub(crate) use imp::{heavy, init, light};

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn barriers_can_be_called_in_either_mode() {
        init();
        init(); // idempotent
        light();
        heavy();
        // On Linux outside miri this machine's kernel supports membarrier (4.14+); elsewhere
        // the symmetric fallback is in use. Either way the answer never changes.
        let mode = is_asymmetric();
        init();
        assert_eq!(is_asymmetric(), mode);
    }
}
