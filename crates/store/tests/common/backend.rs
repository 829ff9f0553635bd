//! The store's backends as test fixtures: a [`Db`] is one fresh database
//! of one backend, and each [`Db::open`] an independent store on it (its
//! own writer and connections, as another process of a cluster would
//! have). [`on_every_backend!`] instantiates suite functions taking a
//! `&dyn Fn() -> Db` once per backend: `sqlite` always, `postgres` when
//! `accord_testkit::postgres::cluster` gives a server (otherwise one
//! `skip:` line and the test returns).
// Not every test file that includes `common` uses the backends.
#![allow(unused_imports, unused_macros)]

use accord_store::pg::PgStore;
use accord_store::{Backend, OpenOptions, SqliteStore};

/// Where a [`Db`] lives.
enum Place {
    /// A temporary data directory (deleted with the `Db`).
    Sqlite(tempfile::TempDir),
    /// A connection string to a database of its own.
    Postgres(String),
}

/// One fresh, empty database of one backend.
pub struct Db {
    place: Place,
}

impl Db {
    /// Opens a store on this database with the default options.
    pub fn open(&self) -> Box<dyn Backend> {
        self.open_with(&OpenOptions::new())
    }

    /// Opens another independent store on this database: for SQLite
    /// another `SqliteStore::open_with` of the same directory, for
    /// PostgreSQL another `PgStore::connect` of the same connection string.
    pub fn open_with(&self, opts: &OpenOptions) -> Box<dyn Backend> {
        match &self.place {
            Place::Sqlite(dir) => Box::new(
                SqliteStore::open_with(dir.path(), opts)
                    .unwrap_or_else(|e| panic!("opening SQLite in {}: {e}", dir.path().display())),
            ),
            Place::Postgres(conn) => Box::new(
                PgStore::connect(conn, opts)
                    .unwrap_or_else(|e| panic!("connecting to PostgreSQL `{conn}`: {e}")),
            ),
        }
    }

    /// The backend's name, for messages.
    pub fn backend(&self) -> &'static str {
        match self.place {
            Place::Sqlite(_) => "sqlite",
            Place::Postgres(_) => "postgres",
        }
    }
}

/// A fresh SQLite database in a temporary directory.
pub fn sqlite() -> Db {
    Db {
        place: Place::Sqlite(tempfile::tempdir().expect("tempdir")),
    }
}

/// A fresh database on the test cluster.
pub fn postgres(cluster: &accord_testkit::postgres::PgCluster) -> Db {
    Db {
        place: Place::Postgres(cluster.fresh_database()),
    }
}

/// `on_every_backend!(suite_a, suite_b, …)`: for each suite function
/// `fn suite_a(fresh: &dyn Fn() -> Db)` in the calling file, a test
/// `sqlite::suite_a` and a test `postgres::suite_a` (which prints one
/// `skip:` line and passes when no PostgreSQL can be had).
macro_rules! on_every_backend {
    ($($suite:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $suite() {
                    super::$suite(&crate::common::backend::sqlite);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $suite() {
                    let Some(cluster) = accord_testkit::postgres::cluster(
                        concat!("postgres::", stringify!($suite)),
                    ) else {
                        return;
                    };
                    super::$suite(&|| crate::common::backend::postgres(cluster));
                }
            )*
        }
    };
}
pub(crate) use on_every_backend;
