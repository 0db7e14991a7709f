//! Command-line arguments, parsed by hand: `--port N` and `--runtime moirai|tokio`.

/// Which runtime serves the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    Moirai,
    Tokio,
}

/// The parsed command line.
#[derive(Debug)]
pub struct Args {
    /// Port on 127.0.0.1; 0 lets the system pick a free one.
    pub port: u16,
    pub runtime: RuntimeKind,
}

impl Args {
    /// Parses the process's arguments; defaults: port 8080, Moirai.
    pub fn from_env() -> Result<Args, String> {
        Args::parse(std::env::args().skip(1))
    }

    fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut parsed = Args {
            port: 8080,
            runtime: RuntimeKind::Moirai,
        };
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "--port" => {
                    let v = value()?;
                    parsed.port = v.parse().map_err(|e| format!("--port {v:?}: {e}"))?;
                }
                "--runtime" => {
                    parsed.runtime = match value()?.as_str() {
                        "moirai" => RuntimeKind::Moirai,
                        "tokio" => RuntimeKind::Tokio,
                        other => {
                            return Err(format!("--runtime {other:?}: expected moirai or tokio"))
                        }
                    }
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(parsed)
    }
}
