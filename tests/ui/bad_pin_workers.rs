#[moirai::main(pin_workers = 1)]
async fn main() {}
