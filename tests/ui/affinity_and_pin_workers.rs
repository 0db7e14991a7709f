#[moirai::main(pin_workers = true, affinity = "cpu")]
async fn main() {}
