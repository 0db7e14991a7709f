#[moirai::main(worker_threads = "x")]
async fn main() {}
