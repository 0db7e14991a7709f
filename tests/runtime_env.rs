//! Environment overrides. Each test binary is its own process, and this file has one test, so
//! setting variables here cannot disturb other tests.

use moirai::{BuildError, Runtime};

#[test]
fn environment_overrides_are_checked() {
    // SAFETY (of the calls below, which Rust 2024 marks unsafe): this process runs no other
    // test thread that reads the environment.
    std::env::set_var("MOIRAI_WORKER_THREADS", "three");
    let err = Runtime::builder().build().unwrap_err();
    assert!(
        matches!(err, BuildError::InvalidWorkerThreadsEnv(_)),
        "{err:?}"
    );

    std::env::set_var("MOIRAI_WORKER_THREADS", "3");
    std::env::set_var("MOIRAI_TOPOLOGY", "3x1");
    let rt = Runtime::builder().build().unwrap();
    assert_eq!(rt.handle().num_workers(), 3);
    assert_eq!(rt.topology().num_nodes(), 3);
    drop(rt);

    std::env::set_var("MOIRAI_TOPOLOGY", "3 by 1");
    let err = Runtime::builder().build().unwrap_err();
    assert!(matches!(err, BuildError::InvalidTopology { .. }), "{err:?}");
    // An explicit topology wins over the environment.
    let rt = Runtime::builder()
        .topology("1x2".parse().unwrap())
        .worker_threads(2)
        .build()
        .unwrap();
    assert_eq!(rt.topology().num_nodes(), 1);
}
