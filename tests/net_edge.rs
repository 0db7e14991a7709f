//! `moirai::net`: TCP sockets registered once, edge-triggered, on loopback.

use std::net::SocketAddr;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use moirai::net::{TcpListener, TcpStream};
use moirai::Runtime;

fn runtime() -> Runtime {
    Runtime::builder().worker_threads(2).build().unwrap()
}

/// Echoes everything on `stream` back until the peer half-closes, then half-closes.
async fn echo(stream: TcpStream) -> u64 {
    let n = futures::io::copy(&stream, &mut &stream).await.unwrap();
    (&stream).close().await.unwrap();
    n
}

/// Writes `payload` while reading the echo back, then expects end-of-stream.
async fn round_trip(addr: SocketAddr, payload: Vec<u8>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let len = payload.len();
    let writing = async {
        (&stream).write_all(&payload).await.unwrap();
        (&stream).close().await.unwrap();
    };
    let reading = async {
        let mut echoed = Vec::with_capacity(len);
        (&stream).read_to_end(&mut echoed).await.unwrap();
        echoed
    };
    let ((), echoed) = futures::join!(writing, reading);
    assert!(echoed == payload, "echo differs from what was sent");
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn a_large_payload_echoes_back_intact() {
    // 8 MiB both ways: far past the socket buffers, so reads and writes hit WouldBlock and wait
    // for edges many times over.
    let rt = runtime();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = rt.spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        echo(s).await
    });
    rt.block_on(rt.spawn(round_trip(addr, pattern(8 << 20, 7))))
        .unwrap();
    assert_eq!(rt.block_on(server).unwrap(), 8 << 20);
}

#[test]
fn a_pending_read_is_woken_when_bytes_arrive() {
    let rt = runtime();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    rt.block_on(rt.spawn(async move {
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 5];
        let mut reader = &server;
        let mut read = std::pin::pin!(reader.read_exact(&mut buf));
        // Nothing was sent yet: the read must wait (and register for the edge)...
        assert!(futures::poll!(read.as_mut()).is_pending());
        (&client).write_all(b"hello").await.unwrap();
        // ...and be woken by the driver once the bytes are there.
        read.await.unwrap();
        assert_eq!(&buf, b"hello");
    }))
    .unwrap();
}

#[test]
fn many_connections_at_once_each_get_their_own_bytes() {
    let rt = runtime();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    const CONNS: usize = 64;
    const ROUNDS: usize = 50;
    let server = rt.spawn(async move {
        let mut served = Vec::new();
        for _ in 0..CONNS {
            let (s, _) = listener.accept().await.unwrap();
            served.push(moirai::spawn(echo(s)));
        }
        let mut total = 0;
        for s in served {
            total += s.await.unwrap();
        }
        total
    });
    let clients: Vec<_> = (0..CONNS)
        .map(|c| {
            rt.spawn(async move {
                let s = TcpStream::connect(addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                for r in 0..ROUNDS {
                    // One request in flight at a time, like a keep-alive client: every read
                    // waits for a fresh edge.
                    let msg = pattern(64, (c * ROUNDS + r) as u8);
                    (&s).write_all(&msg).await.unwrap();
                    let mut back = [0u8; 64];
                    (&s).read_exact(&mut back).await.unwrap();
                    assert_eq!(&back[..], &msg[..]);
                }
                (&s).close().await.unwrap();
                let mut rest = Vec::new();
                assert_eq!((&s).read_to_end(&mut rest).await.unwrap(), 0);
            })
        })
        .collect();
    for c in clients {
        rt.block_on(c).unwrap();
    }
    assert_eq!(rt.block_on(server).unwrap(), (CONNS * ROUNDS * 64) as u64);
}

#[test]
fn works_on_another_executor() {
    // No Moirai runtime: async-io's own thread drives the reactor.
    futures::executor::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = async {
            let (s, _) = listener.accept().await.unwrap();
            echo(s).await
        };
        let ((), n) = futures::join!(round_trip(addr, pattern(100_000, 3)), server);
        assert_eq!(n, 100_000);
    });
}

#[test]
fn connecting_to_a_closed_port_is_an_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    }; // closed again
    let err = moirai::block_on(TcpStream::connect(port)).err();
    assert!(err.is_some(), "connect to a closed port succeeded");
}

#[test]
fn hundreds_of_sockets_made_ready_at_once_are_all_woken() {
    // More sockets than the driver takes per `epoll_wait` (256): the events past the first batch
    // must still reach their tasks (taken in the same turn, or left in the epoll instance, which
    // then stays readable and re-arms async-io at once).
    const N: usize = 300;
    let rt = runtime();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    rt.block_on(rt.spawn(async move {
        let mut pairs = Vec::new();
        for _ in 0..N {
            let client = TcpStream::connect(addr).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            pairs.push((client, server));
        }
        // Each server-side read waits first (nothing sent yet), so only an edge can end it.
        let mut reads: Vec<_> = pairs
            .iter()
            .map(|(_, server)| {
                Box::pin(async move {
                    let mut b = [0u8; 1];
                    let mut r = server;
                    r.read_exact(&mut b).await.unwrap();
                    b[0]
                })
            })
            .collect();
        for read in reads.iter_mut() {
            assert!(futures::poll!(read.as_mut()).is_pending());
        }
        for (i, (client, _)) in pairs.iter().enumerate() {
            (&*client).write_all(&[i as u8]).await.unwrap();
        }
        let got = futures::future::join_all(reads).await;
        let want: Vec<u8> = (0..N).map(|i| i as u8).collect();
        assert_eq!(got, want);
    }))
    .unwrap();
}

#[test]
fn sockets_are_served_while_the_only_worker_is_busy() {
    // One worker, kept busy by a task that yields until the test ends: the worker never runs out
    // of tasks and never parks, so every socket event must reach its task through the looks for
    // I/O that a busy worker takes between tasks.
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy = rt.spawn({
        let done = done.clone();
        async move {
            let mut rounds = 0u64;
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                moirai::yield_now().await;
                rounds += 1;
            }
            rounds
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = rt.spawn(async move {
        let mut served = 0;
        for _ in 0..8 {
            let (s, _) = listener.accept().await.unwrap();
            served += echo(s).await;
        }
        served
    });
    let clients = rt.spawn(async move {
        for seed in 0..8 {
            round_trip(addr, pattern(256 << 10, seed)).await;
        }
    });
    rt.block_on(clients).unwrap();
    assert_eq!(rt.block_on(server).unwrap(), 8 * (256 << 10));
    done.store(true, std::sync::atomic::Ordering::Release);
    assert!(rt.block_on(busy).unwrap() > 0);
}
