//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

/// A message that counts its drops. `Default` is an uncounted "husk" (what recycled slots hold).
#[derive(Debug, Default)]
pub struct Tracked {
    pub id: u64,
    drops: Option<Arc<AtomicUsize>>,
}

impl Tracked {
    pub fn new(id: u64, drops: &Arc<AtomicUsize>) -> Self {
        Self {
            id,
            drops: Some(drops.clone()),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(d) = &self.drops {
            d.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// A waker that counts how often it was woken.
#[derive(Default)]
pub struct CountingWaker(pub AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

pub fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let counter = Arc::new(CountingWaker::default());
    (counter.clone(), Waker::from(counter))
}

pub fn wakes(c: &CountingWaker) -> usize {
    c.0.load(Ordering::SeqCst)
}

/// Polls `fut` until it is parked: `Pending` without having woken itself (the channel yields to
/// the executor a few times before it registers a listener). Returns the wake count then.
pub fn park<F: std::future::Future + ?Sized>(
    mut fut: std::pin::Pin<&mut F>,
    counter: &CountingWaker,
    waker: &Waker,
) -> usize {
    for _ in 0..100 {
        let before = wakes(counter);
        let poll = fut
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker));
        assert!(poll.is_pending(), "expected the future to wait");
        if wakes(counter) == before {
            return before;
        }
    }
    panic!("future never parked");
}
