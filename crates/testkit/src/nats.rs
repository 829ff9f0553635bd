//! A throwaway NATS server with JetStream for the tests of durable work
//! (`crates/work`).
//!
//! [`server`] starts Debian's `nats-server` (`-js`, listening on
//! 127.0.0.1 on a free port, its JetStream store in a new temporary
//! directory) and returns a [`NatsServer`] that kills it (and deletes the
//! store) when dropped. A watchdog shell also kills it should the test
//! process die without dropping it. When the binary is missing (it is
//! installed by `./test.sh` as root) [`server`] prints one line,
//! `skip: <test> needs nats-server …`, and returns `None`.
//!
//! [`NatsServer::restart`] and [`NatsServer::crash_restart`] stop the
//! server and start it again on the same port and store directory, for
//! fault tests: clients reconnect to the same URL and find their streams.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the server binary is: `ACCORD_NATS_SERVER`, else Debian's
/// `/usr/sbin/nats-server` (or `/usr/bin`), else `nats-server` on `PATH`.
pub fn nats_server_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ACCORD_NATS_SERVER") {
        // Set but missing: none (the tests skip), not another binary.
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    for p in ["/usr/sbin/nats-server", "/usr/bin/nats-server"] {
        if Path::new(p).is_file() {
            return Some(PathBuf::from(p));
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
}

/// A running `nats-server -js` of one test.
#[derive(Debug)]
pub struct NatsServer {
    bin: PathBuf,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// Starts a NATS server with JetStream for the test `test`; `None` (after
/// one `skip:` line) when `nats-server` is not installed.
///
/// # Panics
/// When the binary is there but the server does not come up (the test
/// fails: that is not a missing prerequisite).
pub fn server(test: &str) -> Option<NatsServer> {
    let Some(bin) = nats_server_bin() else {
        let thread = std::thread::current();
        let name = thread.name().filter(|n| *n != "main").unwrap_or(test);
        crate::skip_line(&format!(
            "skip: {name} needs nats-server (not found at ACCORD_NATS_SERVER, \
             /usr/sbin/nats-server or on PATH; ./test.sh installs Debian's as root)"
        ));
        return None;
    };
    let port = free_port();
    let dir = std::env::temp_dir().join(format!(
        "accord-nats-{}-{}-{port}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("creating the NATS store {}: {e}", dir.display()));
    let mut s = NatsServer {
        bin,
        port,
        dir,
        child: None,
    };
    s.start();
    Some(s)
}

/// A port nobody listens on now (the kernel's pick, released at once).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding 127.0.0.1:0 to find a free port")
}

impl NatsServer {
    /// The client URL, `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The TCP port the server listens on (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JetStream store directory (`-sd`, the same across restarts).
    pub fn store_dir(&self) -> &Path {
        &self.dir
    }

    /// The process id of the running server, if it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the server gracefully (SIGTERM, waiting for it to exit) and
    /// starts it again on the same port and store directory.
    ///
    /// # Panics
    /// When the server does not come back up.
    pub fn restart(&mut self) {
        self.stop(false);
        self.start();
    }

    /// Kills the server (SIGKILL: a crash, no shutdown) and starts it
    /// again on the same port and store directory.
    ///
    /// # Panics
    /// When the server does not come back up.
    pub fn crash_restart(&mut self) {
        self.stop(true);
        self.start();
    }

    /// Stops the server (SIGKILL when `kill`, else SIGTERM) and waits for
    /// it to exit; a no-op when it is not running.
    pub fn stop(&mut self, kill: bool) {
        if let Some(mut child) = self.child.take() {
            let sig = if kill { "-KILL" } else { "-TERM" };
            let _ = Command::new("kill")
                .arg(sig)
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() > deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
    }

    /// Starts the server (after [`server`] or [`NatsServer::stop`]) and
    /// waits until it accepts clients.
    ///
    /// # Panics
    /// When it does not accept clients within 30 s.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "nats-server is already running");
        let log = self.dir.join("server.log");
        let deadline = Instant::now() + Duration::from_secs(30);
        // An explicit file-store limit: by default JetStream allows 75% of
        // the free disk, so a machine short of disk (a CI runner after a
        // build) would refuse the streams the tests create.
        let conf = self.dir.join("server.conf");
        let store = self.dir.join("store");
        std::fs::write(
            &conf,
            format!(
                "jetstream {{\n  store_dir: {:?}\n  max_file_store: 1GB\n  max_memory_store: 64MB\n}}\n",
                store.display().to_string()
            ),
        )
        .unwrap_or_else(|e| panic!("writing {}: {e}", conf.display()));
        loop {
            let child = Command::new(&self.bin)
                .arg("-c")
                .arg(&conf)
                .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string()])
                .arg("-l")
                .arg(&log)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", self.bin.display()));
            self.watchdog(child.id());
            self.child = Some(child);
            // Up when it greets a client with its INFO line.
            while Instant::now() < deadline {
                if self.greets() {
                    return;
                }
                if let Some(c) = self.child.as_mut()
                    && let Ok(Some(_)) = c.try_wait()
                {
                    // Exited (the port may still be held by the old
                    // process for a moment): try again.
                    self.child = None;
                    break;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            if Instant::now() >= deadline {
                self.stop(true);
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                panic!(
                    "nats-server did not accept clients on {} within 30 s; its log:\n{log}",
                    self.url()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn greets(&self) -> bool {
        let Ok(s) = TcpStream::connect_timeout(
            &([127, 0, 0, 1], self.port).into(),
            Duration::from_millis(200),
        ) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with("INFO ")
    }

    /// A shell that kills server `pid` once this test process is gone.
    fn watchdog(&self, pid: u32) {
        let script = format!(
            "while kill -0 {me} 2>/dev/null && kill -0 {pid} 2>/dev/null; do sleep 0.5; done\n\
             kill -0 {me} 2>/dev/null || {{ kill -9 {pid} 2>/dev/null; rm -rf '{dir}'; }}\n",
            me = std::process::id(),
            dir = self.dir.display(),
        );
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop(true);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_server_restarts_on_its_port_and_is_killed_on_drop() {
        let Some(mut s) = super::server("the_server_restarts_on_its_port_and_is_killed_on_drop")
        else {
            return;
        };
        let (url, dir, pid) = (s.url(), s.store_dir().to_path_buf(), s.pid().unwrap());
        assert!(s.greets());
        s.restart();
        assert!(s.greets());
        s.crash_restart();
        assert!(s.greets());
        assert_eq!(s.url(), url);
        assert_ne!(s.pid(), Some(pid));
        let port = s.port();
        drop(s);
        assert!(!dir.exists(), "the store is deleted");
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "nobody listens on {port} after drop"
        );
    }
}
