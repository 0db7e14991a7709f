#[moirai::main(topology = "2x")]
async fn main() {}
