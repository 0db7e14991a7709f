//! CPU time of this process, for a figure that other load on a shared machine does not inflate:
//! the sum over its threads of the time they ran (`/proc/self/task/*/schedstat`, nanoseconds).
//! `None` where that is not available (not Linux).

pub fn process_cpu_ns() -> Option<u64> {
    let mut total = 0;
    let mut any = false;
    for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path().join("schedstat")) else {
            continue; // the thread exited meanwhile
        };
        if let Some(ns) = text
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
        {
            total += ns;
            any = true;
        }
    }
    any.then_some(total)
}
