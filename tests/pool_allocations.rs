//! "Zero allocations per spawn at steady state", counted by a global allocator that counts.
//!
//! This file is its own test binary (one `#[global_allocator]` per binary) with a single test, so
//! nothing else allocates concurrently in the process while we count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const TASKS: u64 = 100_000;

/// Spawns `TASKS` small tasks (futures of about 200 bytes) from inside a task and joins them;
/// returns the allocations made while doing it.
fn spawn_and_join(rt: &moirai::Runtime) -> u64 {
    rt.block_on(async {
        moirai::spawn(async {
            let mut handles = Vec::with_capacity(TASKS as usize);
            let before = ALLOCATIONS.load(Ordering::SeqCst);
            for i in 0..TASKS {
                handles.push(moirai::spawn(async move {
                    let pad = [i as u8; 192];
                    moirai::yield_now().await;
                    black_box(&pad)[0] as u64 + i
                }));
            }
            let mut sum = 0u64;
            for h in handles.drain(..) {
                sum += h.await.unwrap();
            }
            let after = ALLOCATIONS.load(Ordering::SeqCst);
            assert!(sum > 0);
            after - before
        })
        .await
        .unwrap()
    })
}

#[test]
fn steady_state_spawning_allocates_nothing_with_the_pool_and_once_per_task_without() {
    let pooled = moirai::Runtime::builder()
        .worker_threads(2)
        .build()
        .unwrap();
    spawn_and_join(&pooled); // warm-up: creates the carriers
    spawn_and_join(&pooled);
    let allocs = spawn_and_join(&pooled);
    let per_spawn = allocs as f64 / TASKS as f64;
    eprintln!("pooled: {per_spawn:.5} allocations per spawn");
    assert!(
        per_spawn < 0.01,
        "pooled: {allocs} allocations for {TASKS} spawns ({per_spawn:.4} per spawn)\n{}",
        pooled.metrics()
    );
    drop(pooled);

    let plain = moirai::Runtime::builder()
        .worker_threads(2)
        .task_pool(false)
        .build()
        .unwrap();
    spawn_and_join(&plain);
    let allocs = spawn_and_join(&plain);
    let per_spawn = allocs as f64 / TASKS as f64;
    assert!(
        per_spawn >= 0.99,
        "unpooled should allocate once per spawn, got {per_spawn:.4}"
    );
}
