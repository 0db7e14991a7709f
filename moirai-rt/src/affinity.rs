//! Where worker threads may run: the [`Affinity`] setting and the system call that applies it.
//!
//! The scheduler keeps a task on the node it was spawned on, but that is only worth something if
//! the node's workers run on the node's CPUs. An unbound worker thread goes wherever the OS puts
//! it: on a NUMA machine, onto another node's cores, where every task it runs pays remote memory
//! latency whatever queue it came from. And when workers outnumber the cores, the OS shares the
//! cores between *all* workers, so a node whose workers got less time falls behind and the other
//! node's idle workers then steal its work across the boundary; with each node's workers on the
//! node's own CPUs, an idle node's CPUs are really idle and stealing from it is the right call
//! (measured with `numa_report`, see NUMA.md, "Workers bound to their node").

use crate::topology::{Topology, TopologySource};

/// Which CPUs each worker thread may run on (Linux; elsewhere every setting runs unbound).
///
/// Set it with [`Builder::affinity`](crate::Builder::affinity). The default is
/// [`Affinity::Node`] on a topology read from the machine (hwloc or sysfs) that has more than one
/// node, and [`Affinity::Unbound`] otherwise: the CPUs of a synthetic topology (a spec such as
/// `2x4`) are virtual numbers, mapped onto the real CPUs modulo their number when a binding is
/// asked for.
///
/// ```
/// use moirai_rt::{Affinity, Runtime};
///
/// let rt = Runtime::builder()
///     .worker_threads(2)
///     .affinity(Affinity::Node)
///     .build()?;
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// # Ok::<(), moirai_rt::BuildError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Affinity {
    /// Wherever the OS schedules them.
    Unbound,
    /// On the CPUs of their node: the OS still balances the node's workers over the node's cores,
    /// but never moves one to another node.
    Node,
    /// Each on one CPU of its node (workers beyond the node's CPU count share them in turn).
    Cpu,
}

impl Affinity {
    /// The default for `topology`: bound to nodes only when the nodes are the machine's own and
    /// there are several (one node gains nothing from a binding but the loss of the OS's freedom).
    pub(crate) fn default_for(topology: &Topology) -> Affinity {
        let measured = matches!(
            topology.source(),
            TopologySource::Hwloc | TopologySource::Sysfs
        );
        if measured && topology.num_nodes() > 1 {
            Affinity::Node
        } else {
            Affinity::Unbound
        }
    }

    /// The CPUs a worker placed on `node` and `cpu` (see `scheduler::placement`) may run on, or
    /// `None` for no binding.
    pub(crate) fn cpus_for(
        self,
        topology: &Topology,
        node: usize,
        cpu: usize,
    ) -> Option<Vec<usize>> {
        match self {
            Affinity::Unbound => None,
            Affinity::Node => Some(topology.nodes()[node].cpus().to_vec()),
            Affinity::Cpu => Some(vec![cpu]),
        }
    }
}

/// Restricts the calling thread to `cpus`. A CPU the thread may not use (the virtual CPUs of a
/// synthetic topology, numbered past the machine's) stands for the allowed CPU at its index modulo
/// their number. Best effort: `false`, and the thread left as it was, when the OS refuses.
#[cfg(target_os = "linux")]
pub(crate) fn bind_current_thread(cpus: &[usize]) -> bool {
    let allowed = current_thread_cpus();
    if allowed.is_empty() {
        return false;
    }
    // SAFETY: `cpu_set_t` is plain data for which all-zero is the empty set; CPU_SET writes a bit
    // inside it (every CPU we set came out of `current_thread_cpus`, so is below CPU_SETSIZE), and
    // sched_setaffinity only reads the set we pass with its exact size. Pid 0 means the calling
    // thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            let real = if allowed.binary_search(&cpu).is_ok() {
                cpu
            } else {
                allowed[cpu % allowed.len()]
            };
            libc::CPU_SET(real, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn bind_current_thread(_cpus: &[usize]) -> bool {
    false
}

/// The CPUs the calling thread may run on, in increasing order (empty if the OS will not say).
#[cfg(target_os = "linux")]
pub(crate) fn current_thread_cpus() -> Vec<usize> {
    // SAFETY: sched_getaffinity writes at most the size we pass into a zeroed set of that size;
    // CPU_ISSET reads bits below CPU_SETSIZE only.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

// Not under miri: it cannot make the affinity system calls these tests read back.
#[cfg(all(test, target_os = "linux", not(loom), not(miri)))]
mod tests;
