fn main() {
    let rt = moirai_rt::Runtime::builder()
        .worker_threads(2)
        .build()
        .unwrap();
    for i in 0..20 {
        let t = std::time::Instant::now();
        let (tx, rx) = std::sync::mpsc::channel();
        let h = rt.handle();
        std::thread::spawn(move || {
            let r = moirai_rt::block_on(h.spawn(async {
                moirai_rt::time::sleep(std::time::Duration::from_millis(10)).await;
                1
            }));
            tx.send(r).unwrap();
        });
        match rx.recv_timeout(std::time::Duration::from_secs(3)) {
            Ok(r) => println!("{i}: {r:?} {:?}", t.elapsed()),
            Err(_) => {
                println!("HANG {i}\n{}", rt.metrics());
                std::process::exit(1)
            }
        }
    }
}
