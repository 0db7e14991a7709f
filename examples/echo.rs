//! A TCP echo server on `async-net`, run by Moirai: every connection gets a task that writes back
//! whatever it reads.
//!
//! ```text
//! cargo run --example echo -- --port 7000
//! ```

use async_net::{TcpListener, TcpStream};

/// Echoes one connection until the peer closes it.
async fn echo(stream: TcpStream) -> std::io::Result<u64> {
    let mut writer = stream.clone();
    futures::io::copy(stream, &mut writer).await
}

/// `--port N` (default 7000); anything else is an error.
fn port_from_args() -> Result<u16, String> {
    let mut port = 7000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let v = args.next().ok_or("--port needs a value")?;
                port = v.parse().map_err(|e| format!("--port {v:?}: {e}"))?;
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?} (usage: echo [--port N])"
                ))
            }
        }
    }
    Ok(port)
}

#[moirai::main]
async fn main() {
    let port = port_from_args().unwrap_or_else(|e| {
        eprintln!("echo: {e}");
        std::process::exit(2)
    });
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| {
            eprintln!("echo: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1)
        });
    println!("echo: listening on {}", listener.local_addr().unwrap());
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => drop(moirai::spawn(async move {
                if let Err(e) = echo(stream).await {
                    eprintln!("echo: {peer}: {e}");
                }
            })),
            Err(e) => {
                // Out of file descriptors, say: back off instead of spinning.
                eprintln!("echo: accept failed: {e}");
                moirai::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}
