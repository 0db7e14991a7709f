fn main() {
    let topo = std::env::args().nth(1).unwrap_or("2x2".into());
    let rt = moirai_rt::Runtime::builder()
        .topology(topo.parse().unwrap())
        .build()
        .unwrap();
    for round in 0..20 {
        let (tx, rx) = std::sync::mpsc::channel();
        let h = rt.handle();
        std::thread::spawn(move || {
            let s = moirai_rt::block_on(h.spawn(async {
                let hs: Vec<_> = (0..100_000u64)
                    .map(|i| moirai_rt::spawn(async move { i }))
                    .collect();
                let mut s = 0;
                for h in hs {
                    s += h.await.unwrap();
                }
                s
            }));
            tx.send(s).unwrap();
        });
        match rx.recv_timeout(std::time::Duration::from_secs(5)) {
            Ok(s) => println!("round {round}: {s:?}"),
            Err(_) => {
                println!("HANG in round {round}\n{}", rt.metrics());
                std::process::exit(1);
            }
        }
    }
}
