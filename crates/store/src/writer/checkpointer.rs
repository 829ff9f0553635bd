//! The checkpoint thread: copies the WAL into the database file on its own
//! connection, so that a commit never waits for a checkpoint.

#[cfg(doc)]
use super::WAL_RESTART_BYTES;
use super::{CHECKPOINT_BYTES, CHECKPOINT_IDLE};
use crossbeam_channel::Receiver;
use rusqlite::Connection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What the writer and the checkpoint thread share about the WAL.
pub(super) struct WalShared {
    /// The WAL's frame count after the last commit (from the writer's WAL
    /// hook): the WAL file's length says nothing once SQLite writes it
    /// again from the start.
    pub(super) frames: AtomicU64,
    /// Held around every checkpoint. SQLite runs one checkpoint at a time
    /// and fails a second at once (`SQLITE_BUSY`) rather than wait; the
    /// writer's own checkpoint (see `WriterState::restart_wal`) waits here
    /// for the thread's instead.
    pub(super) checkpointing: Mutex<()>,
    /// The database's page size (a WAL frame holds one page).
    pub(super) page_size: u64,
}

impl WalShared {
    /// For the database `conn` writes.
    pub(super) fn new(conn: &Connection) -> WalShared {
        let page_size = conn
            .pragma_query_value(None, "page_size", |r| r.get::<_, i64>(0))
            .ok()
            .and_then(|p| u64::try_from(p).ok())
            .unwrap_or(4096)
            .max(512);
        WalShared {
            frames: AtomicU64::new(0),
            checkpointing: Mutex::new(()),
            page_size,
        }
    }

    /// Holds the checkpoint lock (a panic elsewhere leaves nothing to
    /// repair: the lock guards no data).
    pub(super) fn lock(&self) -> MutexGuard<'_, ()> {
        self.checkpointing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Copies committed WAL frames into the database file, without blocking
/// the writer (PASSIVE), once [`CHECKPOINT_BYTES`] of frames were committed
/// since the last checkpoint, or when commits have stopped for
/// [`CHECKPOINT_IDLE`]. Not after every commit: a checkpoint costs an fsync
/// of the database file, which competes with the writer's own at every
/// small commit (a TAXII GET's `out` records), and it grows the file,
/// which makes every memory-mapped reader remap it. Ends when the writer
/// stops. A failed checkpoint (a full disk, say) loses nothing: the frames
/// stay in the WAL for the next one.
///
/// This thread never makes the WAL start over: SQLite does that at the
/// start of a write transaction once every frame is copied, and while the
/// writer commits back to back this thread never catches up with the last
/// commit (a RESTART checkpoint here lost the race for the write lock
/// nearly every time: a bulk ingest of 1,000,000 indicators grew the WAL
/// to 1.4 GB). The writer catches up itself past [`WAL_RESTART_BYTES`].
pub(super) fn checkpointer(conn: &Connection, wal: &WalShared, wake: &Receiver<()>) {
    let due_frames = CHECKPOINT_BYTES / wal.page_size;
    let mut pending = false;
    // Frames of the WAL already copied by the last checkpoint.
    let mut backfilled = 0u64;
    loop {
        match wake.recv_timeout(CHECKPOINT_IDLE) {
            Ok(()) => {
                pending = true;
                let frames = wal.frames.load(Ordering::Relaxed);
                if frames < backfilled {
                    // The WAL started over.
                    backfilled = 0;
                }
                if frames - backfilled < due_frames {
                    continue;
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                if !pending {
                    continue;
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
        pending = false;
        let _one = wal.lock();
        // Its row is (busy, frames in the WAL, frames copied).
        if let Ok(copied) =
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(2))
        {
            backfilled = u64::try_from(copied).unwrap_or(0);
        }
    }
    let _one = wal.lock();
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}
