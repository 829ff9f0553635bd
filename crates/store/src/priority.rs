//! Bulk work yields the CPU to the writer thread.
//!
//! The writer thread is the one serial stage of a bulk ingest: the stages
//! in front of it (scanning, parsing and validating, preparing rows) run on
//! as many threads as there are cores, and on a small machine they compete
//! with the writer for the same cores. While the writer waits for a core,
//! nothing commits, and the parallel stages soon wait for it. A thread
//! doing such bulk work calls [`yield_to_writer`] once: it still runs
//! whenever a core is free, but the scheduler hands a core to the writer
//! first. Measured on 2 cores, 1,000,000 indicators, eight interleaved
//! pairs: 7 faster, median 1.12 times the rate (BENCHMARKS.md).
//!
//! The checkpoint thread keeps its priority: niced as well, the ingest
//! measured 0.96 of the base in one run (a likely cause: a checkpoint
//! thread that falls behind leaves the copying to the writer's WAL
//! restart, on the serial path).
//!
//! Only a lower priority is asked for (any process may lower its own
//! threads' priority; raising the writer's would need privileges).

/// The niceness bulk threads take: at +10 the kernel gives a nice-0 thread
/// about nine times their share of a contended core.
pub const BULK_NICENESS: i32 = 10;

/// Lowers the calling thread's scheduling priority to [`BULK_NICENESS`]
/// (never raises it). A failure changes nothing but speed, so it is
/// ignored. Only on Linux, where a niceness belongs to a thread.
pub fn yield_to_writer() {
    #[cfg(target_os = "linux")]
    linux::lower_to(BULK_NICENESS);
}

#[cfg(target_os = "linux")]
mod linux {
    pub(super) fn lower_to(nice: i32) {
        // SAFETY: `gettid` takes no argument and cannot fail.
        #[allow(unsafe_code)]
        let tid = unsafe { libc::gettid() };
        let Ok(tid) = libc::id_t::try_from(tid) else {
            return;
        };
        // SAFETY: plain syscalls on the calling thread's own id, with no
        // pointer arguments; `getpriority` may return -1 as a valid value,
        // so errno is cleared first and read after.
        #[allow(unsafe_code)]
        unsafe {
            *libc::__errno_location() = 0;
            let now = libc::getpriority(libc::PRIO_PROCESS, tid);
            if (now == -1 && *libc::__errno_location() != 0) || now >= nice {
                return;
            }
            libc::setpriority(libc::PRIO_PROCESS, tid, nice);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn a_bulk_thread_gets_the_bulk_niceness_and_keeps_it() {
        let nice_of_this_thread = || {
            // SAFETY: as in `lower_to`.
            #[allow(unsafe_code)]
            unsafe {
                libc::getpriority(
                    libc::PRIO_PROCESS,
                    libc::id_t::try_from(libc::gettid()).unwrap(),
                )
            }
        };
        let (before, after, again) = std::thread::spawn(move || {
            let before = nice_of_this_thread();
            super::yield_to_writer();
            let after = nice_of_this_thread();
            super::yield_to_writer();
            (before, after, nice_of_this_thread())
        })
        .join()
        .unwrap();
        // Never raised: a runner already nicer than that keeps its own.
        let expected = before.max(super::BULK_NICENESS);
        assert_eq!(after, expected);
        assert_eq!(again, expected);
        // Only that thread: this one keeps its own.
        assert_eq!(nice_of_this_thread(), before);
    }
}
