//! Serving on Moirai: a [`moirai::net`] listener, connections spawned through
//! [`MoiraiExecutor`] and read and written through [`Socket`].

use hyper::rt::Executor;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use moirai::net::TcpListener;

use crate::compat::MoiraiExecutor;
use crate::socket::Socket;

/// Listens on 127.0.0.1:`port` and serves forever (or returns the error that stopped it).
pub fn serve(port: u16) -> std::io::Result<()> {
    let rt = moirai::Runtime::new().map_err(std::io::Error::other)?;
    // The accept loop is itself a task, so it runs on the workers like everything else.
    rt.block_on(rt.spawn(accept_loop(port)))
        .map_err(std::io::Error::from)?
}

async fn accept_loop(port: u16) -> std::io::Result<()> {
    let listener = TcpListener::bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
    println!("http: listening on {} (moirai)", listener.local_addr()?);
    let exec = MoiraiExecutor;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        exec.execute(async move {
            let conn = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(Socket::new(stream), service_fn(crate::hello));
            if let Err(e) = conn.await {
                eprintln!("http: connection error: {e}");
            }
        });
    }
}
