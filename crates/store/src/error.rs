//! [`StoreError`]: every way the store can fail, each naming what failed
//! and on what input (database path, batch number, object id).

use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The data directory could not be created.
    #[error("cannot create data directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The directory holds no store, and the store was opened with
    /// [`OpenOptions::create`](crate::OpenOptions::create)`(false)`.
    /// Nothing was created.
    #[error("no Accord store in {}: {}", dir.display(), if *dir_exists {
        format!("the directory has no {}", crate::DB_FILE_NAME)
    } else {
        "the directory does not exist".to_owned()
    })]
    NoStore {
        /// The data directory.
        dir: PathBuf,
        /// Whether the directory itself exists.
        dir_exists: bool,
    },
    /// The database could not be opened or configured.
    #[error("cannot open database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// The database was written by a newer Accord, with a schema this
    /// version does not know. Nothing was changed.
    #[error(
        "database {path} has schema version {found}, newer than the {supported} this Accord supports; upgrade Accord to open it"
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Its schema version (`PRAGMA user_version`).
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
    /// The file is an SQLite database that Accord did not create.
    #[error("{path} is not an Accord database (application_id {found:#x}, tables: {tables})")]
    NotAccord {
        /// The database file.
        path: PathBuf,
        /// Its `PRAGMA application_id`.
        found: i64,
        /// The tables it holds, comma-separated.
        tables: String,
    },
    /// Migrating the schema forward failed; the transaction was rolled
    /// back, so the database is still at version `from`.
    #[error("migrating {path} from schema version {from} to {to} failed: {source}")]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// The version the database had.
        from: i64,
        /// The version whose migration failed.
        to: i64,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// An object of a batch cannot be stored as given (an empty id, a
    /// `modified` that is not a timestamp…). Nothing of the batch was
    /// stored.
    #[error("batch {batch}, object {index} (id `{id}`): {reason}; nothing of the batch was stored")]
    InvalidObject {
        /// The batch number the writer gave the submission.
        batch: u64,
        /// The object's position in the batch.
        index: usize,
        /// The object's id as given.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The disk, or the size limit set with
    /// [`OpenOptions::max_size_bytes`](crate::OpenOptions::max_size_bytes),
    /// is full. The batch was rolled back; everything stored before it is
    /// intact, and the writer takes new batches once space is freed.
    #[error(
        "database {path} is full (disk full or size limit reached): batch {batch} of {n_objects} objects (first id `{first_id}`) was not stored; everything stored before it is intact"
    )]
    Full {
        /// The database file.
        path: PathBuf,
        /// The batch number the writer gave the submission.
        batch: u64,
        /// How many objects the batch had.
        n_objects: usize,
        /// The id of the batch's first object.
        first_id: String,
    },
    /// Writing a batch failed for another reason (I/O error, busy
    /// database…). The batch was rolled back.
    #[error(
        "writing batch {batch} of {n_objects} objects (first id `{first_id}`) to {path} failed: {source}"
    )]
    Write {
        /// The database file.
        path: PathBuf,
        /// The batch number the writer gave the submission.
        batch: u64,
        /// How many objects the batch had.
        n_objects: usize,
        /// The id of the batch's first object.
        first_id: String,
        /// SQLite's reason.
        source: Box<rusqlite::Error>,
    },
    /// A PostgreSQL statement or connection failed (the PostgreSQL
    /// backend): what was being done, on which server.
    #[error("PostgreSQL {server}: {what} failed: {}", pg_reason(.source))]
    Postgres {
        /// The server, as configured (without any password).
        server: String,
        /// What was being done.
        what: String,
        /// The client's reason.
        source: postgres::Error,
    },
    /// The PostgreSQL backend's log cannot answer (a size, leaf or stored
    /// hash it does not hold, a proof asked backwards, a leaf that is not
    /// JCS) or holds rows that do not add up: what was being done, on
    /// which server.
    #[error("PostgreSQL {server}: {what}: {source}")]
    PgLedger {
        /// The server, as configured (without any password).
        server: String,
        /// What was being done.
        what: String,
        /// The ledger's reason.
        source: accord_ledger::Error,
    },
    /// A read failed.
    #[error("reading {what} from {path} failed: {source}")]
    Read {
        /// The database file.
        path: PathBuf,
        /// What was being read.
        what: String,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// The database failed `PRAGMA integrity_check` or one of the store's
    /// own consistency checks.
    #[error("database {path} failed its integrity check: {}", problems.join("; "))]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What the checks reported.
        problems: Vec<String>,
    },
    /// The batch was committed but syncing the WAL to disk failed, so it
    /// may not survive a power cut or an OS crash: it is not acknowledged.
    /// After such a failure the writer acknowledges nothing more (a later
    /// sync that succeeds does not prove earlier pages reached the disk);
    /// restart the node once the disk is healthy.
    #[error(
        "syncing {path} to disk failed, so what was written is not known to be durable and is not acknowledged: {source}"
    )]
    NotDurable {
        /// The database file.
        path: PathBuf,
        /// The operating system's reason (of the first failure).
        source: std::io::Error,
    },
    /// The writer thread is gone (it panicked, or could not start), so
    /// the batch was not stored.
    #[error("the writer thread of {path} has stopped; batch not stored")]
    WriterStopped {
        /// The database file.
        path: PathBuf,
    },
    /// A writer started at the first write (`OpenOptions::lazy_writer`)
    /// could not start: the batch was not stored.
    #[error("the writer of {path} could not start ({reason}); batch not stored")]
    WriterNotStarted {
        /// The database file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

impl StoreError {
    /// Whether this is [`StoreError::NoStore`].
    pub fn is_no_store(&self) -> bool {
        matches!(self, StoreError::NoStore { .. })
    }

    /// Whether this is [`StoreError::Full`].
    pub fn is_full(&self) -> bool {
        matches!(self, StoreError::Full { .. })
    }
}

/// The client's reason, with the server's message when the server gave
/// one (`postgres::Error` alone shows only "db error").
fn pg_reason(e: &postgres::Error) -> String {
    match (e.as_db_error(), std::error::Error::source(e)) {
        (Some(db), _) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        (None, Some(cause)) => format!("{e}: {cause}"),
        (None, None) => e.to_string(),
    }
}

/// A copy of an SQLite error. The writer answers several submitters from
/// one failed commit, and `rusqlite::Error` is not `Clone`.
pub(crate) fn copy_sqlite_error(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, msg) => {
            rusqlite::Error::SqliteFailure(*code, msg.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

/// Whether SQLite said the disk (or the page limit) is full.
pub(crate) fn is_sqlite_full(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
}
