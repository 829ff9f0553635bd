//! Keeps the match indexes in `DATA_DIR/match-index/` fresh while the
//! node runs, so the first `accord match` after indicators arrive (TAXII
//! POST, a partner's sync, `accord ingest` into the running node's data
//! directory) maps a saved index instead of building one.
//!
//! One thread at the lowest CPU priority looks at the store's last `seq`
//! (and the warninglists file) every [`POLL`]; once it has moved and then
//! stayed put for one more look (writes have settled; at most
//! [`MAX_WAIT`] while writes keep coming), it refreshes the default index
//! (every collection, warninglists applied) and every other index kept
//! there ([`accord_app::matching::keep::refresh_all`]): the changes are
//! saved as a delta beside the base, or the index is rebuilt when they pass
//! the delta's bound, exactly as the next match would. Embedded (SQLite)
//! nodes only: a cluster's processes share no data directory.

use accord_stix::Clock;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the store is looked at.
pub const POLL: Duration = Duration::from_secs(2);

/// The longest a refresh waits for writes to settle.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// The background refresh; stopped when dropped.
pub struct Keeper {
    stop: Arc<AtomicBool>,
}

impl Keeper {
    /// Starts the refresh thread over the store in `data`.
    pub fn start(data: PathBuf, clock: Arc<dyn Clock>) -> Keeper {
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let spawned = std::thread::Builder::new()
            .name("match-index".into())
            .spawn(move || run(&data, &*clock, &s));
        if let Err(e) = spawned {
            tracing::error!("the match index is not kept fresh: starting its thread: {e}");
        }
        Keeper { stop }
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        // Not joined: a refresh under way ends at the next look, and one
        // cut short by the process's exit leaves the saved index as it was
        // (every file is written aside and renamed).
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The lowest CPU priority for the calling thread (Linux: a thread's
/// nice value is its own).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread, no pointers.
        #[allow(unsafe_code)]
        let r = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, 19)
        };
        if r != 0 {
            tracing::debug!(
                "match index thread: priority not lowered: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// What a change is seen by: the store's last seq and the warninglists
/// file's modification time.
fn mark(
    store: &dyn accord_store::Backend,
    data: &Path,
) -> Option<(i64, Option<std::time::SystemTime>)> {
    let seq = store.max_seq().ok()?;
    let lists = std::fs::metadata(data.join(accord_app::warninglists::FILE))
        .and_then(|m| m.modified())
        .ok();
    Some((seq, lists))
}

fn open(data: &Path) -> Result<Box<dyn accord_store::Backend>, accord_store::StoreError> {
    Ok(Box::new(accord_store::SqliteStore::open_with(
        data,
        // Reading most of the store once: through the OS cache, not a
        // memory map counted as resident.
        &accord_store::OpenOptions::new()
            .create(false)
            .memory_map(false),
    )?))
}

fn run(data: &Path, clock: &dyn Clock, stop: &AtomicBool) {
    lower_priority();
    let store = match open(data) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("the match index is not kept fresh: {e}");
            return;
        }
    };
    // What the saved indexes were last refreshed at: nothing yet, so the
    // first look refreshes (a node started over a store filled offline).
    let mut done: Option<(i64, Option<std::time::SystemTime>)> = None;
    // The mark seen at the previous look, and since when writes have
    // been waited on.
    let mut last = None;
    let mut waiting_since: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        let now = mark(&*store, data);
        if now.is_some() && now != done {
            let settled = now == last;
            let since = *waiting_since.get_or_insert_with(Instant::now);
            if settled || since.elapsed() >= MAX_WAIT {
                for r in accord_app::matching::keep::refresh_all(
                    data,
                    &open,
                    clock.now_unix_secs(),
                    1,
                    true,
                ) {
                    match r {
                        Ok(r) if r.what == accord_app::matching::keep::Refreshed::Unchanged => {
                            tracing::debug!("{}", r.line());
                        }
                        Ok(r) => tracing::info!("{}", r.line()),
                        Err(e) => tracing::warn!("refreshing a match index: {e}"),
                    }
                }
                done = now;
                waiting_since = None;
            }
        }
        last = now;
        sleep_unless_stopped(POLL, stop);
    }
}

fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) {
    let end = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(200)));
    }
}
