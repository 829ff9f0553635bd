//! Dashboard sessions: a random token in an `HttpOnly`, `SameSite=Strict`
//! cookie (`Secure` under TLS), kept server-side by its SHA-256 with the
//! account's rights and a CSRF token of its own.
//!
//! - A new token at every login (a token planted before login is never
//!   promoted: no session fixation).
//! - Logout forgets the session here, so a copied cookie stops working.
//! - Sessions end after [`IDLE`] without a request and [`MAX_AGE`] in all;
//!   at most [`MAX_SESSIONS`] are kept (the least recently used goes first),
//!   so a flood of logins cannot fill memory.
//! - A single node keeps sessions in memory: a restart signs everyone
//!   out. The processes of a cluster keep them in its PostgreSQL database
//!   ([`Sessions::share`], `accord_store::pg::sessions`), so any process
//!   serves a session started on another and a logout on one ends it on
//!   all; the account's rights are then read from the configuration at
//!   each request.

use crate::auth::{Accounts, Caller};
use accord_store::StoreError;
use accord_store::pg::sessions::{PgSessions, SessionLimits};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const COOKIE: &str = "accord_session";
/// The login form's CSRF cookie (before there is a session).
pub const LOGIN_COOKIE: &str = "accord_login";
/// A session unused this long ends.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after login, used or not.
pub const MAX_AGE: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most.
pub const MAX_SESSIONS: usize = 10_000;

/// A signed-in person.
#[derive(Clone, Debug)]
pub struct Session {
    /// The account and its rights.
    pub caller: Caller,
    /// The token every form of this session carries.
    pub csrf: String,
    created: Instant,
    last: Instant,
}

/// The sessions of a node.
#[derive(Default)]
pub struct Sessions {
    by_digest: Mutex<HashMap<[u8; 32], Session>>,
    /// The cluster's shared sessions, once [`Sessions::share`] set them.
    shared: OnceLock<Arc<PgSessions>>,
}

/// The limits of shared sessions: the same as in memory.
const LIMITS: SessionLimits = SessionLimits {
    idle: IDLE,
    max_age: MAX_AGE,
    max_sessions: MAX_SESSIONS,
};

/// 32 random bytes, URL-safe base64 without padding.
///
/// # Panics
/// When the operating system has no randomness to give (nothing else here
/// could be trusted then).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).expect("the operating system's random number generator");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Sessions {
    /// From now on, keeps sessions in the cluster's database instead of
    /// this process's memory (`accord serve` with `[cluster]`); false when
    /// they were already shared.
    pub fn share(&self, pg: PgSessions) -> bool {
        self.shared.set(Arc::new(pg)).is_ok()
    }

    /// Starts a session for `caller` (in the cluster's database when
    /// shared); returns its cookie token.
    ///
    /// # Errors
    /// [`StoreError`] when the cluster's database cannot be reached.
    pub async fn open(&self, caller: Caller) -> Result<String, StoreError> {
        let Some(pg) = self.shared.get().cloned() else {
            return Ok(self.start(caller, Instant::now()));
        };
        let token = random_token();
        let key = digest(&token);
        blocking(move || pg.start(&key, &caller.name, &random_token(), LIMITS)).await?;
        Ok(token)
    }

    /// The live session of a cookie token (from the cluster's database
    /// when shared: its account's rights as `accounts` has them now).
    ///
    /// # Errors
    /// [`StoreError`] when the cluster's database cannot be reached.
    pub async fn find(
        &self,
        token: &str,
        accounts: &Accounts,
    ) -> Result<Option<Session>, StoreError> {
        let Some(pg) = self.shared.get().cloned() else {
            return Ok(self.get(token, Instant::now()));
        };
        let key = digest(token);
        let Some(row) = blocking(move || pg.get(&key, LIMITS)).await? else {
            return Ok(None);
        };
        let now = Instant::now();
        Ok(accounts.caller_of(&row.account).map(|caller| Session {
            caller,
            csrf: row.csrf,
            created: now,
            last: now,
        }))
    }

    /// Ends the session of a cookie token (logout), on every process of a
    /// cluster.
    ///
    /// # Errors
    /// [`StoreError`] when the cluster's database cannot be reached.
    pub async fn close(&self, token: &str) -> Result<(), StoreError> {
        let Some(pg) = self.shared.get().cloned() else {
            self.end(token);
            return Ok(());
        };
        let key = digest(token);
        blocking(move || pg.end(&key)).await
    }

    /// Starts a session for `caller` in memory; returns its cookie token.
    fn start(&self, caller: Caller, now: Instant) -> String {
        let token = random_token();
        let mut m = self.by_digest.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|_, s| live(s, now));
        if m.len() >= MAX_SESSIONS
            && let Some(oldest) = m.iter().min_by_key(|(_, s)| s.last).map(|(k, _)| *k)
        {
            m.remove(&oldest);
        }
        m.insert(
            digest(&token),
            Session {
                caller,
                csrf: random_token(),
                created: now,
                last: now,
            },
        );
        token
    }

    /// The live session of a cookie token in memory, marked used at `now`.
    fn get(&self, token: &str, now: Instant) -> Option<Session> {
        let key = digest(token);
        let mut m = self.by_digest.lock().unwrap_or_else(|p| p.into_inner());
        let s = m.get_mut(&key)?;
        if !live(s, now) {
            m.remove(&key);
            return None;
        }
        s.last = now;
        Some(s.clone())
    }

    /// Ends the session of a cookie token in memory (logout).
    fn end(&self, token: &str) {
        let mut m = self.by_digest.lock().unwrap_or_else(|p| p.into_inner());
        m.remove(&digest(token));
    }

    /// How many sessions are kept in memory.
    pub fn len(&self) -> usize {
        self.by_digest.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether no session is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Runs a database call off the async workers (the PostgreSQL client
/// blocks).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("a dashboard session call did not run: {e}"),
    }
}

fn live(s: &Session, now: Instant) -> bool {
    now.duration_since(s.last) < IDLE && now.duration_since(s.created) < MAX_AGE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        let cfg = accord_app::config::AccountConfig {
            name: "analyst".into(),
            password_hash: None,
            token_sha256: vec![],
            read: vec!["*".into()],
            write: vec![],
        };
        Accounts::new(std::slice::from_ref(&cfg))
            .caller_of("analyst")
            .unwrap()
    }

    #[test]
    fn a_session_lives_until_logout_idle_or_age() {
        let s = Sessions::default();
        let t0 = Instant::now();
        let tok = s.start(caller(), t0);
        assert_eq!(s.get(&tok, t0).unwrap().caller.name, "analyst");
        assert!(s.get("forged", t0).is_none());
        // Used within the idle time: still there, and the idle clock restarts.
        let t1 = t0 + IDLE - Duration::from_secs(1);
        assert!(s.get(&tok, t1).is_some());
        assert!(s.get(&tok, t1 + IDLE - Duration::from_secs(1)).is_some());
        // Idle too long: gone.
        assert!(s.get(&tok, t1 + IDLE * 3).is_none());
        // Logout.
        let tok = s.start(caller(), t0);
        s.end(&tok);
        assert!(s.get(&tok, t0).is_none());
        // Old, however busy.
        let tok = s.start(caller(), t0);
        let mut t = t0;
        while t < t0 + MAX_AGE {
            assert!(s.get(&tok, t).is_some());
            t += IDLE / 2;
        }
        assert!(s.get(&tok, t).is_none());
    }

    #[test]
    fn tokens_differ_and_the_store_is_bounded() {
        let s = Sessions::default();
        let t0 = Instant::now();
        let a = s.start(caller(), t0);
        let b = s.start(caller(), t0);
        assert_ne!(a, b);
        assert_ne!(s.get(&a, t0).unwrap().csrf, s.get(&b, t0).unwrap().csrf);
        for i in 0..(MAX_SESSIONS + 5) {
            s.start(caller(), t0 + Duration::from_millis(i as u64));
        }
        assert_eq!(s.len(), MAX_SESSIONS);
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
        assert!(!same_secret("ab", "abc"));
    }
}
