//! Helpers of the NUMA tests: a runtime with one worker per node, one of whose workers is held
//! busy so that everything that runs, runs on the other one (no stealing races, exact counts).
#![allow(dead_code)]

use std::sync::mpsc;
use std::time::Duration;

use moirai::{Counters, NodeId, Runtime};

pub const WAIT: Duration = Duration::from_secs(60);

/// A runtime of `workers` workers on the synthetic topology `layout` (e.g. `"2x1"`).
pub fn synthetic(workers: usize, layout: &str) -> Runtime {
    Runtime::builder()
        .worker_threads(workers)
        .topology(layout.parse().unwrap())
        .build()
        .unwrap()
}

/// `2x1` with worker `blocked` held inside a task until this drops; `free` is the other worker.
pub struct HeldRuntime {
    // Field order: the release channel drops first, then the runtime (whose drop joins the
    // workers, the held one included).
    release: Option<mpsc::Sender<()>>,
    pub rt: Runtime,
    /// Node (and worker: one worker per node) of the held worker.
    pub blocked: usize,
    /// Node (and worker) of the free one.
    pub free: usize,
}

impl HeldRuntime {
    pub fn new() -> HeldRuntime {
        let rt = synthetic(2, "2x1");
        for (i, w) in rt.metrics().workers.iter().enumerate() {
            assert_eq!(w.node, NodeId::new(i), "2x1: worker i on node i");
        }
        let (info_tx, info_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        // Whichever worker picks it up is held until `release_tx` drops.
        drop(rt.spawn_on(NodeId::new(0), async move {
            let node = moirai::current_node().unwrap().index();
            assert_eq!(moirai::current_worker(), Some(node));
            info_tx.send(node).unwrap();
            let _ = release_rx.recv();
        }));
        let blocked = info_rx
            .recv_timeout(WAIT)
            .expect("the holding task never ran");
        HeldRuntime {
            release: Some(release_tx),
            rt,
            blocked,
            free: 1 - blocked,
        }
    }

    /// The free worker's counters now.
    pub fn free_counters(&self) -> Counters {
        self.rt.metrics().workers[self.free].counters
    }
}

impl Drop for HeldRuntime {
    fn drop(&mut self) {
        self.release.take();
    }
}

/// Receives `n` reports of `(current_node, current_worker)` sent by tasks.
pub fn collect(
    rx: &mpsc::Receiver<(Option<NodeId>, Option<usize>)>,
    n: usize,
) -> Vec<(usize, usize)> {
    (0..n)
        .map(|_| {
            let (node, worker) = rx.recv_timeout(WAIT).expect("a task never ran");
            (
                node.expect("on a worker").index(),
                worker.expect("on a worker"),
            )
        })
        .collect()
}

/// A task body that reports where it ran.
pub fn report(
    tx: &mpsc::Sender<(Option<NodeId>, Option<usize>)>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let tx = tx.clone();
    async move {
        tx.send((moirai::current_node(), moirai::current_worker()))
            .unwrap();
    }
}
