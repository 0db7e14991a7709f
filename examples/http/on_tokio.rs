//! Serving on tokio's multi-thread runtime, the usual way (`hyper-util`'s `TokioIo`).

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Listens on 127.0.0.1:`port` and serves forever (or returns the error that stopped it).
pub fn serve(port: u16) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        tokio::spawn(accept_loop(port))
            .await
            .map_err(std::io::Error::other)?
    })
}

async fn accept_loop(port: u16) -> std::io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("http: listening on {} (tokio)", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let conn = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service_fn(crate::hello));
            if let Err(e) = conn.await {
                eprintln!("http: connection error: {e}");
            }
        });
    }
}
