fn spin(n: u64) -> u64 { let mut x = 1u64; for i in 0..n { x = x.rotate_left(5) ^ i; x = std::hint::black_box(x); } x }
fn main() {
    let pool = std::env::args().nth(1).is_none();
    let rt = moirai_rt::Runtime::builder().worker_threads(2).task_pool(pool).build().unwrap();
    for _ in 0..20 {
        let t = std::time::Instant::now();
        rt.block_on(rt.spawn(async {
            let hs: Vec<_> = (0..64).map(|_| moirai_rt::spawn(async { spin(100_000) })).collect();
            let mut a = 0; for h in hs { a ^= h.await.unwrap(); } a
        })).unwrap();
        print!("{:?} ", t.elapsed());
    }
    println!();
    let m = rt.metrics();
    for w in &m.workers { println!("w{} polls {} lifo {} local {} sib {} global {} parks {}", w.worker, w.counters.polls, w.counters.from_lifo, w.counters.from_local, w.counters.sibling_tasks, w.counters.global_tasks, w.counters.parks); }
}
