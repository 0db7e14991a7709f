//! Pinning a worker thread to one CPU.

/// Pins the calling thread to CPU `cpu` (taken modulo the CPUs this process may use).
/// Best effort: a refusal by the OS leaves the thread unpinned.
#[cfg(target_os = "linux")]
pub(crate) fn pin_current_thread(cpu: usize) {
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu = cpu % n.min(libc::CPU_SETSIZE as usize);
    // SAFETY: `cpu_set_t` is plain data for which all-zero is the empty set; CPU_SET writes a bit
    // inside it (cpu < CPU_SETSIZE), and sched_setaffinity only reads the set we pass with its
    // exact size. Pid 0 means the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn pin_current_thread(_cpu: usize) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn pinning_restricts_the_thread_to_one_cpu() {
        std::thread::spawn(|| {
            super::pin_current_thread(0);
            // SAFETY: reading our own affinity into a zeroed set of the right size.
            let count = unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                assert_eq!(
                    libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set),
                    0
                );
                libc::CPU_COUNT(&set)
            };
            assert_eq!(count, 1);
        })
        .join()
        .unwrap();
    }
}
