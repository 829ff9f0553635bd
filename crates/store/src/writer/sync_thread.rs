//! The syncer thread: fsyncs the WAL once for every commit made so far,
//! then answers the submitters.

use super::Reply;
use crate::PutOutcome;
use crate::StoreError;
use crate::prepare::Row;
use crossbeam_channel::{Receiver, Sender};
use std::path::Path;

/// Committed work waiting for the WAL to reach the disk.
pub(super) enum Synced {
    /// A put's answer, with its rows: the syncer frees them once every
    /// answer is sent, so the writer thread does not (freeing a group's
    /// rows was about a tenth of its time in bulk ingest).
    Put(Sender<Reply>, Vec<PutOutcome>, Vec<Row>),
    Delete(Sender<Result<u64, StoreError>>, u64),
}

impl Synced {
    /// Sends the outcome, or `err` instead of it. A submitter that stopped
    /// waiting does not matter. Returns the put's rows, to be freed.
    pub(super) fn answer(self, err: Result<(), StoreError>) -> Vec<Row> {
        match self {
            Synced::Put(reply, out, rows) => {
                let _ = reply.send(err.map(|()| out));
                rows
            }
            Synced::Delete(reply, n) => {
                let _ = reply.send(err.map(|()| n));
                Vec::new()
            }
        }
    }
}

/// The syncer thread: takes everything committed so far, fsyncs the WAL
/// once for all of it, and answers. After a failed sync it answers every
/// later commit with the first failure too: Linux may drop the dirty pages
/// whose write-back failed, so a later sync that succeeds proves nothing
/// about them.
pub(super) fn syncer(db: &Path, rx: &Receiver<Vec<Synced>>) {
    let wal = db.with_extension("sqlite-wal");
    let mut failed: Option<(std::io::ErrorKind, String)> = None;
    // The WAL file whose directory entry was last made durable.
    let mut dir_synced: Option<u64> = None;
    while let Ok(mut jobs) = rx.recv() {
        while let Ok(more) = rx.try_recv() {
            jobs.extend(more);
        }
        if failed.is_none()
            && let Err(e) = sync_wal(&wal, &mut dir_synced)
        {
            failed = Some((e.kind(), e.to_string()));
        }
        let spent: Vec<Vec<Row>> = jobs
            .into_iter()
            .map(|job| {
                job.answer(match &failed {
                    None => Ok(()),
                    Some((kind, msg)) => Err(StoreError::NotDurable {
                        path: db.to_owned(),
                        source: std::io::Error::new(*kind, msg.clone()),
                    }),
                })
            })
            .collect();
        drop(spent);
    }
}

/// fsyncs the WAL file (and, when the file is new, its directory). The
/// file is opened afresh each time: an fsync applies to the file, not to
/// the descriptor, and the WAL may have been truncated since.
fn sync_wal(wal: &Path, dir_synced: &mut Option<u64>) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let f = std::fs::File::open(wal)?;
    f.sync_data()?;
    let ino = f.metadata()?.ino();
    if *dir_synced != Some(ino) {
        if let Some(dir) = wal.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)?.sync_all()?;
        }
        *dir_synced = Some(ino);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_job() -> (Synced, Receiver<Reply>) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        (
            Synced::Put(tx, vec![PutOutcome::Stored { seq: 1 }], Vec::new()),
            rx,
        )
    }

    #[test]
    fn syncer_answers_after_the_sync_and_never_after_a_failed_one() {
        let dir = std::env::temp_dir().join(format!("accord-syncer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("accord.sqlite");
        let wal = db.with_extension("sqlite-wal");
        std::fs::write(&wal, b"frames").unwrap();
        let (tx, rx) = crossbeam_channel::unbounded();
        let thread = std::thread::spawn(move || syncer(&db, &rx));

        // A WAL that syncs: the outcome comes through unchanged.
        let (job, answer) = put_job();
        tx.send(vec![job]).unwrap();
        assert!(matches!(
            answer.recv().unwrap().unwrap()[..],
            [PutOutcome::Stored { seq: 1 }]
        ));
        let (dtx, drx) = crossbeam_channel::bounded(1);
        tx.send(vec![Synced::Delete(dtx, 3)]).unwrap();
        assert_eq!(drx.recv().unwrap().unwrap(), 3);

        // The WAL cannot be synced (gone): not acknowledged.
        std::fs::remove_file(&wal).unwrap();
        let (job, answer) = put_job();
        tx.send(vec![job]).unwrap();
        let e = answer.recv().unwrap().unwrap_err();
        assert!(matches!(e, StoreError::NotDurable { .. }), "{e}");
        assert!(e.to_string().contains("not acknowledged"), "{e}");

        // Even once it could be synced again, nothing more is acknowledged.
        std::fs::write(&wal, b"frames").unwrap();
        let (job, answer) = put_job();
        tx.send(vec![job]).unwrap();
        assert!(matches!(
            answer.recv().unwrap(),
            Err(StoreError::NotDurable { .. })
        ));
        drop(tx);
        thread.join().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
