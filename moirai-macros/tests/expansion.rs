//! Runs the expanded attributes against a mock runtime (`crate = "crate::mock"`), checking that
//! the generated code compiles for various signatures and passes the arguments to the builder.

use std::cell::RefCell;

/// A stand-in for the `moirai` facade with the same builder shape.
mod mock {
    pub use moirai_rt::topology;
    use moirai_rt::topology::Topology;
    pub use moirai_rt::Affinity;
    use moirai_rt::BuildError;
    use std::future::Future;

    /// What the last `build()` on this thread was configured with.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct Config {
        pub worker_threads: Option<usize>,
        pub topology: Option<Topology>,
        pub pin_workers: Option<bool>,
        pub affinity: Option<Affinity>,
        pub built: bool,
    }

    pub struct Runtime;

    pub struct Builder(Config);

    impl Runtime {
        pub fn builder() -> Builder {
            Builder(Config::default())
        }

        pub fn block_on<F: Future>(&self, future: F) -> F::Output {
            futures::executor::block_on(future)
        }
    }

    impl Builder {
        pub fn worker_threads(mut self, n: usize) -> Builder {
            self.0.worker_threads = Some(n);
            self
        }

        pub fn topology(mut self, t: Topology) -> Builder {
            self.0.topology = Some(t);
            self
        }

        pub fn pin_workers(mut self, pin: bool) -> Builder {
            self.0.pin_workers = Some(pin);
            self
        }

        pub fn affinity(mut self, a: Affinity) -> Builder {
            self.0.affinity = Some(a);
            self
        }

        pub fn build(mut self) -> Result<Runtime, BuildError> {
            if self.0.worker_threads == Some(0) {
                return Err(BuildError::ZeroWorkers);
            }
            self.0.built = true;
            super::LAST.with(|last| *last.borrow_mut() = self.0);
            Ok(Runtime)
        }
    }
}

thread_local! {
    static LAST: RefCell<mock::Config> = RefCell::new(mock::Config::default());
}

fn last() -> mock::Config {
    LAST.with(|last| last.borrow().clone())
}

#[moirai_macros::main(
    crate = "crate::mock",
    worker_threads = 3,
    topology = "2x4",
    pin_workers = true
)]
async fn configured() -> u32 {
    let ready = async { 40 };
    ready.await + 2
}

#[moirai_macros::main(crate = "crate::mock")]
async fn parses_seven() -> Result<u8, std::num::ParseIntError> {
    // `?` inside the body must infer its error type from the function's return type.
    let n: u8 = "7".parse()?;
    Ok(n)
}

#[moirai_macros::main(crate = "crate::mock")]
async fn fails_to_parse() -> Result<u8, std::num::ParseIntError> {
    let n: u8 = "x".parse()?;
    Ok(n)
}

#[test]
fn question_mark_works_in_the_body() {
    assert_eq!(parses_seven(), Ok(7));
    assert!(fails_to_parse().is_err());
}

#[test]
fn main_passes_every_argument_to_the_builder() {
    assert_eq!(configured(), 42);
    let config = last();
    assert!(config.built);
    assert_eq!(config.worker_threads, Some(3));
    assert_eq!(config.pin_workers, Some(true));
    assert_eq!(
        config.topology,
        Some(moirai_rt::topology::Topology::synthetic(2, 4).unwrap())
    );
}

#[moirai_macros::test(crate = "crate::mock")]
async fn test_runs_on_the_runtime() {
    assert!(last().built);
    assert_eq!(last().worker_threads, None);
}

#[moirai_macros::test(crate = "crate::mock", worker_threads = 1)]
async fn test_may_return_a_result() -> Result<(), String> {
    assert_eq!(last().worker_threads, Some(1));
    Ok(())
}

#[moirai_macros::test(crate = "crate::mock")]
#[should_panic(expected = "from inside the body")]
async fn test_keeps_should_panic() {
    panic!("from inside the body");
}

#[moirai_macros::test(crate = "crate::mock", affinity = "node")]
async fn test_passes_affinity() {
    assert_eq!(last().affinity, Some(moirai_rt::Affinity::Node));
    assert_eq!(last().pin_workers, None);
}

#[moirai_macros::test(crate = "crate::mock", pin_workers = false)]
#[allow(clippy::bool_assert_comparison)]
async fn other_attributes_are_kept() {
    assert_eq!(last().pin_workers, Some(false));
}

#[moirai_macros::test(crate = "crate::mock")]
async fn early_return_leaves_the_async_block() -> Result<(), String> {
    if last().built {
        return Ok(());
    }
    Err("unreachable".to_owned())
}
