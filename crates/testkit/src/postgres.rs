//! A throwaway PostgreSQL cluster for the tests of the PostgreSQL backend.
//!
//! [`cluster`] gives one cluster per test process, started on first use:
//!
//! - with `ACCORD_TEST_PG` set (a libpq connection string, e.g.
//!   `host=/run/postgresql user=postgres`), that server: its user must be
//!   allowed to create databases;
//! - otherwise, when the process runs as root and Debian's `postgresql` is
//!   installed (`/usr/lib/postgresql/<version>/bin/initdb`), a new cluster
//!   made by `initdb` in a temporary directory, owned by the `postgres`
//!   user, listening only on a Unix socket in that directory (no TCP
//!   port), stopped and deleted when the test process exits (a watchdog
//!   shell polls the test process);
//! - otherwise `None`, after printing one line
//!   (`skip: <test> needs PostgreSQL …`) to the real stderr.
//!
//! Each test takes a database of its own with [`PgCluster::fresh_database`],
//! so tests run in parallel without seeing each other's rows.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A running PostgreSQL server the tests may create databases on.
#[derive(Debug)]
pub struct PgCluster {
    /// The connection string without `dbname`.
    base: String,
    /// The cluster's directory when this process made it.
    dir: Option<PathBuf>,
}

/// Where `initdb`, `postgres` and `psql` are: the newest
/// `/usr/lib/postgresql/<version>/bin`.
pub fn pg_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The cluster of this test process, started on first use; `None` (after
/// one `skip:` line naming `test`) when there is none to be had.
pub fn cluster(test: &str) -> Option<&'static PgCluster> {
    static CLUSTER: OnceLock<Result<PgCluster, String>> = OnceLock::new();
    match CLUSTER.get_or_init(start) {
        Ok(c) => Some(c),
        Err(why) => {
            let thread = std::thread::current();
            let name = thread.name().filter(|n| *n != "main").unwrap_or(test);
            crate::skip_line(&format!("skip: {name} needs PostgreSQL ({why})"));
            None
        }
    }
}

fn start() -> Result<PgCluster, String> {
    if let Ok(url) = std::env::var("ACCORD_TEST_PG") {
        return Ok(PgCluster {
            base: url,
            dir: None,
        });
    }
    let bin = pg_bin_dir().ok_or("Debian's postgresql is not installed")?;
    if !is_root() {
        return Err(
            "not root: set ACCORD_TEST_PG to a server's connection string, or run as root".into(),
        );
    }
    let dir = std::env::temp_dir().join(format!(
        "accord-pg-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let data = dir.join("data");
    let run = |what: &str, cmd: &mut Command| -> Result<(), String> {
        let out = cmd.output().map_err(|e| format!("running {what}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{what} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    run(
        "chown",
        Command::new("chown").args(["postgres:postgres"]).arg(&dir),
    )?;
    run(
        "initdb",
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("initdb"))
            .args([
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "-U",
                "postgres",
                "-D",
            ])
            .arg(&data),
    )?;
    // The server, and a watchdog that stops it (and deletes the cluster)
    // once this test process is gone.
    let script = format!(
        "runuser -u postgres -- {postgres} -D {data} -k {dir} -c listen_addresses='' \
         -c max_connections=400 -c shared_buffers=64MB >{dir}/log 2>&1 &\n\
         pg=$!\n\
         while kill -0 {me} 2>/dev/null && kill -0 $pg 2>/dev/null; do sleep 0.5; done\n\
         kill -QUIT $(head -n 1 {data}/postmaster.pid) 2>/dev/null; wait $pg; rm -rf {dir}\n",
        postgres = bin.join("postgres").display(),
        data = data.display(),
        dir = dir.display(),
        me = std::process::id(),
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting postgres: {e}"))?;
    let socket = dir.join(".s.PGSQL.5432");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready(&bin, &dir) {
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
            return Err(format!(
                "postgres did not come up on {} within 30 s: {log}",
                socket.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(PgCluster {
        base: format!("host={} user=postgres", dir.display()),
        dir: Some(dir),
    })
}

fn ready(bin: &Path, dir: &Path) -> bool {
    Command::new(bin.join("pg_isready"))
        .arg("-h")
        .arg(dir)
        .arg("-q")
        .status()
        .is_ok_and(|s| s.success())
}

impl PgCluster {
    /// The connection string of the server (no `dbname`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The cluster's directory, when this process made it.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Creates a new empty database and returns its connection string.
    ///
    /// # Panics
    /// When the database cannot be created (the test fails).
    pub fn fresh_database(&self) -> String {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "accord_t{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        format!("{} dbname={name}", self.base)
    }

    /// Runs `sql` with `psql` on database `db`.
    ///
    /// # Panics
    /// When psql fails.
    pub fn psql(&self, db: &str, sql: &str) {
        let bin = pg_bin_dir().map_or_else(|| PathBuf::from("psql"), |b| b.join("psql"));
        let out = Command::new(bin)
            .arg(format!("{} dbname={db}", self.base))
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
            .output()
            .expect("running psql");
        assert!(
            out.status.success(),
            "psql `{sql}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
