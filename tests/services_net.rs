//! TCP through `async-net` inside a Moirai runtime: an echo server and its clients on loopback.

use async_net::{TcpListener, TcpStream};
use futures::io::{AsyncReadExt, AsyncWriteExt};
use moirai::Runtime;

/// Serves each accepted connection with an echo task until `conns` connections were accepted.
async fn echo_server(listener: TcpListener, conns: usize) {
    let mut served = Vec::new();
    for _ in 0..conns {
        let (stream, _) = listener.accept().await.unwrap();
        served.push(moirai::spawn(async move {
            let mut writer = stream.clone();
            futures::io::copy(stream, &mut writer).await.unwrap()
        }));
    }
    for s in served {
        s.await.unwrap();
    }
}

/// Sends `payload` while reading the echo back concurrently, then half-closes and expects EOF.
async fn round_trip(addr: std::net::SocketAddr, payload: Vec<u8>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let mut writer = stream.clone();
    let len = payload.len();
    let sending = moirai::spawn(async move {
        writer.write_all(&payload).await.unwrap();
        writer.close().await.unwrap();
        payload
    });
    let mut reader = stream;
    let mut echoed = vec![0u8; len];
    reader.read_exact(&mut echoed).await.unwrap();
    let mut rest = Vec::new();
    assert_eq!(
        reader.read_to_end(&mut rest).await.unwrap(),
        0,
        "nothing after the echo"
    );
    assert_eq!(echoed, sending.await.unwrap());
}

#[test]
fn echo_round_trip_on_loopback() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    rt.block_on(rt.spawn(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = moirai::spawn(echo_server(listener, 1));
        round_trip(addr, b"hello, moirai".to_vec()).await;
        server.await.unwrap();
    }))
    .unwrap();
}

#[test]
fn many_concurrent_clients_with_large_payloads() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let clients = 16;
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = moirai::spawn(echo_server(listener, clients));
        let hs: Vec<_> = (0..clients)
            .map(|c| {
                // Larger than the socket buffers, so both sides must make progress together.
                let payload: Vec<u8> = (0..1 << 20)
                    .map(|i: u32| (i.wrapping_mul(31) ^ c as u32) as u8)
                    .collect();
                moirai::spawn(round_trip(addr, payload))
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        server.await.unwrap();
    });
}
