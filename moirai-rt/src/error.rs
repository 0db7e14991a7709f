//! Errors reported by the runtime's public API: building a runtime and joining a task.

use std::any::Any;
use std::fmt;
use std::sync::Mutex;

/// Why a [`Builder`](crate::Builder) (or a topology spec) was rejected.
///
/// Every invalid setting is reported here with a message that names the offending value; building a
/// runtime never panics on bad input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// `worker_threads(0)` was asked for.
    ZeroWorkers,
    /// A topology spec (builder value, `MOIRAI_TOPOLOGY`, or `Topology::from_str`) could not be used.
    InvalidTopology {
        /// The spec as given.
        spec: String,
        /// What was wrong with it.
        reason: String,
    },
    /// `MOIRAI_WORKER_THREADS` is set to something that is not a number.
    InvalidWorkerThreadsEnv(String),
    /// The operating system refused to start a worker thread.
    ThreadSpawn(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroWorkers => f.write_str(
                "worker_threads must be at least 1 (a runtime with no workers can run nothing)",
            ),
            BuildError::InvalidTopology { spec, reason } => {
                write!(f, "invalid topology {spec:?}: {reason}")
            }
            BuildError::InvalidWorkerThreadsEnv(v) => {
                write!(
                    f,
                    "MOIRAI_WORKER_THREADS={v:?} is not a positive whole number"
                )
            }
            BuildError::ThreadSpawn(e) => write!(f, "failed to spawn a worker thread: {e}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// Why a task's [`JoinHandle`](crate::JoinHandle) did not yield the task's output.
pub struct JoinError {
    repr: JoinErrorRepr,
}

enum JoinErrorRepr {
    Cancelled,
    // The mutex makes `JoinError` `Sync` (a panic payload is only `Send`), so it fits
    // `Box<dyn Error + Send + Sync>` and `io::Error::other`; it is only locked to read the message.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: JoinErrorRepr::Cancelled,
        }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: JoinErrorRepr::Panic(Mutex::new(payload)),
        }
    }

    /// The task was aborted, or dropped because its runtime shut down before it finished.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, JoinErrorRepr::Cancelled)
    }

    /// The task panicked; the worker that ran it carried on.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, JoinErrorRepr::Panic(_))
    }

    /// The panic payload, to re-raise with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    /// If the error is not a panic (check [`is_panic`](Self::is_panic) first, or use
    /// [`try_into_panic`](Self::try_into_panic)).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic called on a cancellation, not a panic")
    }

    /// The panic payload, or the error itself if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            JoinErrorRepr::Panic(p) => Ok(p.into_inner().unwrap_or_else(|e| e.into_inner())),
            JoinErrorRepr::Cancelled => Err(self),
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            JoinErrorRepr::Cancelled => f.write_str("JoinError::Cancelled"),
            JoinErrorRepr::Panic(p) => {
                let p = p.lock().unwrap_or_else(|e| e.into_inner());
                match panic_message(p.as_ref()) {
                    Some(msg) => write!(f, "JoinError::Panic({msg:?})"),
                    None => f.write_str("JoinError::Panic(..)"),
                }
            }
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            JoinErrorRepr::Cancelled => f.write_str("task was cancelled"),
            JoinErrorRepr::Panic(p) => {
                let p = p.lock().unwrap_or_else(|e| e.into_inner());
                match panic_message(p.as_ref()) {
                    Some(msg) => write!(f, "task panicked: {msg}"),
                    None => f.write_str("task panicked"),
                }
            }
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        std::io::Error::other(e)
    }
}
