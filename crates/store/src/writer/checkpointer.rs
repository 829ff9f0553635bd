//! The checkpoint thread: copies the WAL into the database file on its own
//! connection, so that a commit never waits for a checkpoint.

use super::{CHECKPOINT_BYTES, CHECKPOINT_IDLE, WAL_LIMIT_BYTES};
use crossbeam_channel::Receiver;
use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Copies committed WAL frames into the database file, without blocking
/// the writer (PASSIVE), once [`CHECKPOINT_BYTES`] of frames were committed
/// since the last checkpoint, or when commits have stopped for
/// [`CHECKPOINT_IDLE`]. Not after every commit: a checkpoint costs an fsync
/// of the database file, which competes with the writer's own at every
/// small commit (a TAXII GET's `out` records), and it grows the file,
/// which makes every memory-mapped reader remap it. `wal_frames` is the
/// WAL's frame count after the last commit (from the writer's WAL hook):
/// the WAL file's length says nothing once SQLite writes it again from the
/// start. Ends when the writer stops. A failed checkpoint (a full disk,
/// say) loses nothing: the frames stay in the WAL for the next one.
pub(super) fn checkpointer(
    conn: &Connection,
    wal: &Path,
    wal_frames: &AtomicU64,
    wake: &Receiver<()>,
) {
    let wal_len = || std::fs::metadata(wal).map_or(0, |m| m.len());
    let page = conn
        .pragma_query_value(None, "page_size", |r| r.get::<_, i64>(0))
        .ok()
        .and_then(|p| u64::try_from(p).ok())
        .unwrap_or(4096)
        .max(512);
    let due_frames = CHECKPOINT_BYTES / page;
    let mut pending = false;
    // Frames of the WAL already copied by the last checkpoint.
    let mut backfilled = 0u64;
    loop {
        match wake.recv_timeout(CHECKPOINT_IDLE) {
            Ok(()) => {
                pending = true;
                let frames = wal_frames.load(Ordering::Relaxed);
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
        // Its row is (busy, frames in the WAL, frames copied).
        if let Ok(copied) =
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(2))
        {
            backfilled = u64::try_from(copied).unwrap_or(0);
        }
        // PASSIVE copies frames while the writer goes on appending, so the
        // WAL never drains by itself and SQLite only starts it over once a
        // checkpoint has caught up with every frame. Past the limit, a
        // RESTART checkpoint waits (briefly: most frames are copied
        // already) for the writer's current commit and finishes: the next
        // commit writes the WAL from its start, over the file's pages
        // (still in the OS cache, their blocks allocated), rather than
        // into a file truncated to nothing whose every page the kernel
        // must allocate again (TRUNCATE cost the writer and this thread
        // about a tenth of their time in bulk ingest). The writer's
        // `journal_size_limit` ([`WAL_LIMIT_BYTES`]) shrinks a WAL that
        // grew past the limit when it starts over, so the file stays
        // bounded.
        if wal_len() > WAL_LIMIT_BYTES {
            let _ = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()));
            backfilled = 0;
        }
    }
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}
