//! Glue between hyper and Moirai: [`MoiraiExecutor`] lets hyper spawn tasks on Moirai (sockets
//! are in `socket.rs`).

use std::future::Future;

/// Spawns hyper's background futures (and our connections) as detached Moirai tasks.
#[derive(Debug, Clone, Copy, Default)]
pub struct MoiraiExecutor;

impl<F> hyper::rt::Executor<F> for MoiraiExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        drop(moirai::spawn(future));
    }
}
