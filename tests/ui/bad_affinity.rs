#[moirai::main(affinity = "numa")]
async fn main() {}
