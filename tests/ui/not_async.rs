// The attribute needs an `async fn`.
#[moirai::main]
fn main() {}
