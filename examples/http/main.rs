//! An HTTP/1.1 "Hello, World!" server on hyper 1.x that runs on either Moirai or tokio, so the
//! two runtimes can be compared under the same load (see `benches/http.sh`).
//!
//! ```text
//! cargo run --release --example http -- --runtime moirai --port 8080
//! cargo run --release --example http -- --runtime tokio --port 0   # any free port
//! ```
//!
//! It prints `listening on ADDR` once it accepts connections. Keep-alive is on; every request gets
//! `Hello, World!`. Moirai's worker count follows `MOIRAI_WORKER_THREADS`, tokio's
//! `TOKIO_WORKER_THREADS`; both default to one per CPU.

mod args;
mod compat;
mod on_moirai;
mod on_tokio;
mod socket;

use std::convert::Infallible;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};

use args::{Args, RuntimeKind};

/// The whole application: the same answer to every request.
async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, World!",
    ))))
}

fn main() {
    let args = Args::from_env().unwrap_or_else(|e| {
        eprintln!("http: {e}\nusage: http [--port N] [--runtime moirai|tokio]");
        std::process::exit(2)
    });
    let result = match args.runtime {
        RuntimeKind::Moirai => on_moirai::serve(args.port),
        RuntimeKind::Tokio => on_tokio::serve(args.port),
    };
    if let Err(e) = result {
        eprintln!("http: {e}");
        std::process::exit(1);
    }
}
