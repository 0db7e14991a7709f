//! Pooled tasks: a recycled carrier never mixes up jobs, handles or wakers.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use common::DropCounter;
use futures::future::poll_fn;
use moirai::Runtime;

/// One worker, so consecutive jobs run on the same carriers (the free lists are LIFO).
fn one_worker() -> Runtime {
    Runtime::builder().worker_threads(1).build().unwrap()
}

#[test]
fn a_join_handle_never_sees_a_later_jobs_output() {
    let rt = one_worker();
    rt.block_on(rt.spawn(async {
        let mut first = moirai::spawn(async { 1u64 });
        assert_eq!((&mut first).await.unwrap(), 1);
        // The carrier is free again and is reused for this job.
        let second = moirai::spawn(async { 2u64 });
        assert_eq!(second.await.unwrap(), 2);
        // Polling the spent handle again must not yield job 2's output.
        assert!(first.is_finished());
        let again = futures::poll!(&mut first);
        assert!(
            matches!(again, Poll::Ready(Err(ref e)) if e.is_cancelled()),
            "{again:?}"
        );
    }))
    .unwrap();
    assert!(rt.metrics().total().pool_hits >= 2);
}

#[test]
fn abort_of_a_finished_job_does_nothing_to_the_next_one() {
    let rt = one_worker();
    rt.block_on(rt.spawn(async {
        let mut first = moirai::spawn(async { 1u64 });
        assert_eq!((&mut first).await.unwrap(), 1);
        let (tx, rx) = futures::channel::oneshot::channel::<u64>();
        let second = moirai::spawn(async move { rx.await.unwrap() });
        first.abort(); // the carrier now runs `second`
        moirai::yield_now().await;
        tx.send(7).unwrap();
        assert_eq!(second.await.unwrap(), 7);
    }))
    .unwrap();
}

#[test]
fn a_stale_waker_causes_at_most_a_spurious_poll() {
    let rt = one_worker();
    let stale: Arc<Mutex<Option<Waker>>> = Arc::default();
    let polls = Arc::new(AtomicUsize::new(0));
    let go = Arc::new(AtomicBool::new(false));
    let (s2, p2, g2) = (stale.clone(), polls.clone(), go.clone());
    let out = rt
        .block_on(rt.spawn(async move {
            // Job 1 leaves its waker behind and finishes.
            let s = s2.clone();
            moirai::spawn(poll_fn(move |cx| {
                *s.lock().unwrap() = Some(cx.waker().clone());
                Poll::Ready(())
            }))
            .await
            .unwrap();
            // Job 2 (on the recycled carrier) waits for `go`, counting its polls.
            let mine: Arc<Mutex<Option<Waker>>> = Arc::default();
            let m2 = mine.clone();
            let job2 = moirai::spawn(poll_fn(move |cx| {
                p2.fetch_add(1, Ordering::SeqCst);
                if g2.load(Ordering::SeqCst) {
                    Poll::Ready(42)
                } else {
                    *m2.lock().unwrap() = Some(cx.waker().clone());
                    Poll::Pending
                }
            }));
            moirai::yield_now().await; // job 2 polls once and parks
            s2.lock().unwrap().take().unwrap().wake(); // job 1's stale waker
            moirai::yield_now().await;
            go.store(true, Ordering::SeqCst);
            mine.lock().unwrap().take().unwrap().wake();
            job2.await.unwrap()
        }))
        .unwrap();
    assert_eq!(out, 42);
    let n = polls.load(Ordering::SeqCst);
    assert!(
        (2..=3).contains(&n),
        "job 2 was polled {n} times: once, at most once spuriously, once to finish"
    );
}

#[test]
fn a_panicking_job_reports_to_its_own_handle_and_its_carrier_is_reused() {
    let rt = one_worker();
    rt.block_on(rt.spawn(async {
        for round in 0..3 {
            let err = moirai::spawn(async move {
                if round < 10 {
                    panic!("job {round} panicked");
                }
            })
            .await
            .unwrap_err();
            assert!(err.is_panic());
            assert!(err.to_string().contains(&format!("job {round}")), "{err}");
            assert_eq!(moirai::spawn(async move { round }).await.unwrap(), round);
        }
    }))
    .unwrap();
    let m = rt.metrics();
    // The first panicking job and the first returning one (two classes at most) found no free
    // carrier; every later job reused one.
    assert!(m.total().pool_misses <= 2, "{m}");
}

#[test]
fn detached_jobs_recycle_their_carriers() {
    let rt = one_worker();
    let counter = DropCounter::default();
    let c = counter.clone();
    rt.block_on(rt.spawn(async move {
        for _ in 0..1000 {
            let t = c.track();
            drop(moirai::spawn(async move { drop(t) }));
            moirai::yield_now().await;
        }
    }))
    .unwrap();
    assert_eq!(counter.dropped(), 1000);
    // Each detached job freed its carrier for the next one: at most the first spawn missed (none
    // if the root task's run of carriers, made on this thread, was of the jobs' class).
    assert!(rt.metrics().total().pool_misses <= 1, "{}", rt.metrics());
    assert!(rt.metrics().pool.created <= 32, "{}", rt.metrics());
}

#[test]
fn a_finished_but_unjoined_output_survives_shutdown_and_is_dropped_once() {
    let counter = DropCounter::default();
    let rt = one_worker();
    let c = counter.clone();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let h = rt.spawn(async move {
        let t = c.track();
        done_tx.send(()).unwrap();
        t
    });
    done_rx.recv().unwrap();
    while !h.is_finished() {
        std::thread::yield_now();
    }
    drop(rt); // the carrier is orphaned: its handle still holds the output
    assert_eq!(counter.dropped(), 0);
    let out = moirai::block_on(h).unwrap();
    drop(out);
    assert_eq!(counter.dropped(), 1);

    // Same, but the handle is dropped without being awaited.
    let counter = DropCounter::default();
    let rt = one_worker();
    let c = counter.clone();
    let h = rt.spawn(async move { c.track() });
    while !h.is_finished() {
        std::thread::yield_now();
    }
    drop(rt);
    drop(h);
    assert_eq!(counter.dropped(), 1);
}

#[test]
fn a_handle_awaited_during_shutdown_is_woken() {
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    let h = rt.spawn(futures::future::pending::<()>());
    let waiter = std::thread::spawn(move || moirai::block_on(h));
    drop(rt);
    assert!(waiter.join().unwrap().unwrap_err().is_cancelled());
}

#[test]
fn futures_too_big_for_any_class_still_run() {
    let rt = one_worker();
    let big = [7u8; 4096];
    let out = rt.block_on(rt.spawn(async move { big.iter().map(|&b| b as u64).sum::<u64>() }));
    assert_eq!(out.unwrap(), 7 * 4096);
}

/// Carrier buffers are 8-aligned (so that they follow the 40-byte header without padding): a
/// future that needs 16 runs as a plain task, correctly aligned, and creates no carrier.
#[test]
fn a_16_aligned_future_runs_as_a_plain_task() {
    #[repr(align(16))]
    struct Aligned16(u64);
    let rt = one_worker();
    // Warm the pool so that only a carrier for the aligned job could change the count.
    rt.block_on(rt.spawn(async { 1 })).unwrap();
    let created = rt.metrics().pool.created;
    let out = rt.block_on(rt.spawn(async move {
        let a = Aligned16(21);
        moirai::yield_now().await; // `a` lives across the await: it is part of the future
        assert_eq!(&a as *const Aligned16 as usize % 16, 0);
        a.0 * 2
    }));
    assert_eq!(out.unwrap(), 42);
    assert_eq!(
        rt.metrics().pool.created,
        created,
        "no carrier for a 16-aligned future"
    );
}

#[test]
fn preallocated_carriers_serve_the_first_spawns() {
    let rt = Runtime::builder()
        .worker_threads(1)
        .prealloc_tasks(8)
        .build()
        .unwrap();
    let created = rt.metrics().pool.created;
    assert!(created >= 8, "prealloc created {created}");
    rt.block_on(async { moirai::spawn(async { 1 }).await.unwrap() });
    assert_eq!(
        rt.metrics().pool.created,
        created,
        "the spawn used a preallocated carrier"
    );
}

#[test]
fn a_small_pool_capacity_frees_idle_carriers() {
    let rt = Runtime::builder()
        .worker_threads(1)
        .task_pool_capacity(0)
        .build()
        .unwrap();
    rt.block_on(rt.spawn(async {
        let hs: Vec<_> = (0..500).map(|i| moirai::spawn(async move { i })).collect();
        for h in hs {
            h.await.unwrap();
        }
    }))
    .unwrap();
    let m = rt.metrics();
    assert!(m.pool.freed > 0, "{m}");
    assert_eq!(m.pool.idle_shared, 0);
    // A freed carrier leaves the live-task registry (the pool removes its slot; otherwise the
    // registry's waker would keep the carrier's memory until shutdown): what stays registered
    // is exactly the carriers still in existence, idle in the worker's own list.
    assert_eq!(rt.handle().live_tasks() as u64, m.pool.live(), "{m}");
}

/// A miss creates a run of carriers (so that long-lived carriers sit together in the heap): the
/// next spawns of the same class find free carriers even while every earlier job is still
/// running.
#[test]
fn a_miss_creates_a_run_of_carriers() {
    let rt = one_worker();
    let misses = rt
        .block_on(rt.spawn(async {
            // 16 jobs alive at once: with one worker, none runs before this task awaits.
            let hs: Vec<_> = (0..16u64)
                .map(|i| moirai::spawn(async move { i }))
                .collect();
            let misses = moirai::Handle::current().metrics().total().pool_misses;
            for (i, h) in hs.into_iter().enumerate() {
                assert_eq!(h.await.unwrap(), i as u64);
            }
            misses
        }))
        .unwrap();
    assert_eq!(misses, 1, "{}", rt.metrics());
}

/// A spawn from outside the runtime files new carriers in the shared list; when its byte bound
/// leaves no room, the job runs as a plain task instead of in carriers made only to be freed.
#[test]
fn an_outside_spawn_with_no_room_in_the_shared_list_makes_no_carrier() {
    let rt = Runtime::builder()
        .worker_threads(1)
        .task_pool_capacity(0)
        .build()
        .unwrap();
    assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7);
    let m = rt.metrics();
    assert_eq!(m.pool.created, 0, "{m}");
}
