//! Who is calling, and what they may do: HTTP Basic (argon2 password
//! hashes) and bearer tokens (stored as SHA-256), with read and write rights
//! per collection.
//!
//! argon2 is slow on purpose (tens of milliseconds); checking it on every
//! request would cap the server at a few dozen requests per second. A
//! successful check is remembered as a keyed SHA-256 of the credentials, so
//! later requests with the same credentials cost one hash.
//!
//! A flood of wrong passwords must not buy argon2 time: before a password
//! is checked, a token bucket per client address and one per account
//! ([`LoginThrottle`]) must each hold a failed login to spend (a success
//! gives it back); an empty bucket is answered
//! [`AuthError::Throttled`] (429 with `Retry-After`) without running
//! argon2, and at most a few checks run at once
//! ([`Accounts::password_checks`]). Requests with the same credentials
//! take turns ([`Accounts::check_turn`]): a burst of first requests with
//! a correct password runs argon2 once and spends one failed login, not
//! one each (200 clients starting at once were refused 429 before). Cached credentials and bearer tokens
//! never reach the throttle, so a client that logged in before is served
//! while its account or address is under attack.

use accord_app::config::{AccountConfig, Limits};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Account name.
    pub name: String,
    read_all: bool,
    write_all: bool,
    read: HashSet<String>,
    write: HashSet<String>,
}

impl Caller {
    /// Whether the caller may read the collection with this id.
    pub fn can_read(&self, collection_id: &str) -> bool {
        self.read_all || self.read.contains(collection_id)
    }

    /// Whether the caller may add to the collection with this id.
    pub fn can_write(&self, collection_id: &str) -> bool {
        self.write_all || self.write.contains(collection_id)
    }
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("this server needs credentials: HTTP Basic (user and password) or a bearer token")]
    Missing,
    /// A header that is neither Basic nor Bearer, or is malformed.
    #[error("the Authorization header is not `Basic <base64 user:password>` or `Bearer <token>`")]
    Malformed,
    /// Unknown user, wrong password or unknown token.
    #[error("wrong user name, password or token")]
    Denied,
    /// Too many failed logins lately from this address or for this
    /// account: the password was not checked.
    #[error(
        "too many failed logins {who} lately; the password was not checked; try again in {retry_after_secs} s"
    )]
    Throttled {
        /// `from this address` or `for account NAME`.
        who: String,
        /// When a check will be allowed again, in seconds.
        retry_after_secs: u64,
    },
}

/// Most verified credentials remembered; the set is emptied when full.
const MAX_VERIFIED: usize = 4096;
/// Most client addresses with a throttle bucket; when full, buckets that
/// have refilled are dropped, and if none has, all are.
const MAX_THROTTLED_ADDRESSES: usize = 65_536;

/// The key of a client address for per-address bounds: an IPv4 address,
/// or the /64 of an IPv6 address (one host usually has a whole /64).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// A token bucket: `burst` tokens, one more every `refill`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key, bounded in number.
struct Buckets<K> {
    map: HashMap<K, Bucket>,
    burst: f64,
    refill: Duration,
    max: usize,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    fn new(burst: u32, refill: Duration, max: usize) -> Self {
        Buckets {
            map: HashMap::new(),
            burst: f64::from(burst.max(1)),
            refill: refill.max(Duration::from_millis(1)),
            max,
        }
    }

    fn level(&self, b: &Bucket, now: Instant) -> f64 {
        let earned = now.duration_since(b.at).as_secs_f64() / self.refill.as_secs_f64();
        (b.tokens + earned).min(self.burst)
    }

    /// Seconds until `key` has a token (0: it has one now).
    fn wait(&self, key: &K, now: Instant) -> u64 {
        let Some(b) = self.map.get(key) else {
            return 0;
        };
        let level = self.level(b, now);
        if level >= 1.0 {
            0
        } else {
            ((1.0 - level) * self.refill.as_secs_f64()).ceil().max(1.0) as u64
        }
    }

    /// Spends one token of `key` (call after [`Buckets::wait`] said 0).
    fn take(&mut self, key: &K, now: Instant) {
        if !self.map.contains_key(key) && self.map.len() >= self.max {
            let burst = self.burst;
            let refill = self.refill.as_secs_f64();
            self.map
                .retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() / refill < burst);
            if self.map.len() >= self.max {
                self.map.clear();
            }
        }
        let level = match self.map.get(key) {
            Some(b) => self.level(b, now),
            None => self.burst,
        };
        self.map.insert(
            key.clone(),
            Bucket {
                tokens: level - 1.0,
                at: now,
            },
        );
    }

    /// Gives one token of `key` back (the login it was spent on succeeded).
    fn give_back(&mut self, key: &K, now: Instant) {
        if let Some(b) = self.map.get(key).copied() {
            let level = (self.level(&b, now) + 1.0).min(self.burst);
            if level >= self.burst {
                self.map.remove(key);
            } else {
                self.map.insert(
                    key.clone(),
                    Bucket {
                        tokens: level,
                        at: now,
                    },
                );
            }
        }
    }
}

/// Failed-login throttling, per client address and per account: a password
/// is checked only when both buckets hold a failed login to spend.
pub struct LoginThrottle {
    by_address: Mutex<Buckets<Option<IpAddr>>>,
    by_account: Mutex<Buckets<String>>,
}

/// A failed login spent before a password check; [`LoginThrottle::succeeded`]
/// gives it back.
#[derive(Debug)]
pub struct Reservation {
    address: Option<IpAddr>,
    account: String,
}

impl LoginThrottle {
    /// Throttling as `limits` says (`failed_logins_per_address`,
    /// `failed_logins_per_account`, `failed_login_refill_secs`).
    pub fn new(limits: &Limits) -> LoginThrottle {
        let refill = Duration::from_secs(limits.failed_login_refill_secs.max(1));
        LoginThrottle {
            by_address: Mutex::new(Buckets::new(
                limits.failed_logins_per_address,
                refill,
                MAX_THROTTLED_ADDRESSES,
            )),
            by_account: Mutex::new(Buckets::new(
                limits.failed_logins_per_account,
                refill,
                usize::MAX,
            )),
        }
    }

    /// Spends a failed login of `address` (None: unknown) and of `account`
    /// before checking a password, or says how long to wait.
    ///
    /// # Errors
    /// [`AuthError::Throttled`] when either bucket is empty; nothing is spent then.
    pub fn reserve(
        &self,
        address: Option<IpAddr>,
        account: &str,
    ) -> Result<Reservation, AuthError> {
        let address = address.map(address_key);
        let now = Instant::now();
        let mut by_address = lock(&self.by_address);
        let mut by_account = lock(&self.by_account);
        let wait = by_address.wait(&address, now);
        if wait > 0 {
            return Err(AuthError::Throttled {
                who: "from this address".into(),
                retry_after_secs: wait,
            });
        }
        let account = account.to_owned();
        let wait = by_account.wait(&account, now);
        if wait > 0 {
            return Err(AuthError::Throttled {
                who: format!("for account `{account}`"),
                retry_after_secs: wait,
            });
        }
        by_address.take(&address, now);
        by_account.take(&account, now);
        Ok(Reservation { address, account })
    }

    /// The password checked with `r` was right: its failed login is given back.
    pub fn succeeded(&self, r: Reservation) {
        let now = Instant::now();
        lock(&self.by_address).give_back(&r.address, now);
        lock(&self.by_account).give_back(&r.account, now);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The accounts of a node.
pub struct Accounts {
    by_name: HashMap<String, (AccountConfig, Caller)>,
    by_token: HashMap<[u8; 32], Caller>,
    /// Keyed hashes of credentials already verified with argon2.
    verified: Mutex<HashSet<[u8; 32]>>,
    cache_key: [u8; 32],
    /// Failed-login throttling, checked before argon2 runs.
    pub throttle: LoginThrottle,
    /// Password checks (argon2) running at once; others wait for a permit.
    pub password_checks: std::sync::Arc<tokio::sync::Semaphore>,
    /// The credentials whose check is under way (keyed like `verified`),
    /// each with the lock its later requests wait on. An entry lives only
    /// while a check of those credentials runs or waits.
    checking: Mutex<HashMap<[u8; 32], std::sync::Arc<tokio::sync::Mutex<()>>>>,
}

/// The turn of one set of credentials to have its password checked
/// ([`Accounts::check_turn`]); dropping it lets the next request with
/// the same credentials go (and find them verified, if they were right).
pub struct CheckTurn<'a> {
    accounts: &'a Accounts,
    key: [u8; 32],
    entry: std::sync::Arc<tokio::sync::Mutex<()>>,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for CheckTurn<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = lock(&self.accounts.checking);
        // Ours and the map's: nobody else waits, so the entry goes (a
        // newcomer racing with this makes a new one, which costs at most
        // one more argon2 check).
        if std::sync::Arc::strong_count(&self.entry) <= 2 {
            map.remove(&self.key);
        }
    }
}

fn caller(a: &AccountConfig) -> Caller {
    Caller {
        name: a.name.clone(),
        read_all: a.read.iter().any(|c| c == "*"),
        write_all: a.write.iter().any(|c| c == "*"),
        read: a.read.iter().cloned().collect(),
        write: a.write.iter().cloned().collect(),
    }
}

impl Accounts {
    /// The accounts of a configuration, with the default [`Limits`].
    pub fn new(accounts: &[AccountConfig]) -> Accounts {
        Accounts::with_limits(accounts, &Limits::default())
    }

    /// The accounts of a configuration, throttled as `limits` says.
    pub fn with_limits(accounts: &[AccountConfig], limits: &Limits) -> Accounts {
        let checks = match limits.max_concurrent_password_checks {
            0 => std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
            n => n,
        };
        let mut by_token = HashMap::new();
        for a in accounts {
            for t in &a.token_sha256 {
                let mut key = [0u8; 32];
                if let Ok(bytes) = hex_decode(t) {
                    key.copy_from_slice(&bytes);
                    by_token.insert(key, caller(a));
                }
            }
        }
        let mut cache_key = [0u8; 32];
        cache_key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        cache_key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Accounts {
            by_name: accounts
                .iter()
                .map(|a| (a.name.clone(), (a.clone(), caller(a))))
                .collect(),
            by_token,
            verified: Mutex::new(HashSet::new()),
            cache_key,
            throttle: LoginThrottle::new(limits),
            password_checks: std::sync::Arc::new(tokio::sync::Semaphore::new(checks)),
            checking: Mutex::new(HashMap::new()),
        }
    }

    /// The caller of an account by name (for a session started after its
    /// password was checked).
    pub fn caller_of(&self, name: &str) -> Option<Caller> {
        self.by_name.get(name).map(|(_, c)| c.clone())
    }

    /// Authenticates the value of an `Authorization` header from a client
    /// at `address`. Runs argon2 when the credentials were not verified
    /// before and the throttle allows: call it off the async runtime, or
    /// use [`Accounts::authenticate_fast`], [`Accounts::reserve`] and
    /// [`Accounts::verify_password`] (what the server does).
    ///
    /// # Errors
    /// [`AuthError`] saying whether credentials are missing, malformed,
    /// wrong, or not checked because of too many failures.
    pub fn authenticate(
        &self,
        header: Option<&str>,
        address: Option<IpAddr>,
    ) -> Result<Caller, AuthError> {
        match self.authenticate_fast(header)? {
            Some(c) => Ok(c),
            None => {
                let r = self.reserve(header, address)?;
                self.verify_password(header, r)
            }
        }
    }

    /// Waits until no other request is checking these same credentials,
    /// and holds the turn until dropped. Call it after
    /// [`Accounts::authenticate_fast`] answered `Ok(None)`, then call that
    /// again: a request that waited finds the credentials verified and
    /// needs no argon2, no permit and no failed login. `None` when the
    /// header holds no Basic credentials.
    pub async fn check_turn(&self, header: Option<&str>) -> Option<CheckTurn<'_>> {
        let (scheme, rest) = header?.split_once(' ')?;
        let (user, password) = basic_credentials(scheme, rest).ok()?;
        let key = self.key(&user, &password);
        let entry = {
            let mut map = lock(&self.checking);
            std::sync::Arc::clone(map.entry(key).or_default())
        };
        let guard = std::sync::Arc::clone(&entry).lock_owned().await;
        Some(CheckTurn {
            accounts: self,
            key,
            entry,
            guard: Some(guard),
        })
    }

    /// Before a password check (after [`Accounts::authenticate_fast`]
    /// answered `Ok(None)`): spends a failed login of the client's address
    /// and of the account, or refuses at once.
    ///
    /// # Errors
    /// [`AuthError::Throttled`]; or the header's own fault.
    pub fn reserve(
        &self,
        header: Option<&str>,
        address: Option<IpAddr>,
    ) -> Result<Reservation, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let (scheme, rest) = header.split_once(' ').ok_or(AuthError::Malformed)?;
        let (user, _) = basic_credentials(scheme, rest)?;
        // An unknown account costs no argon2 and is refused at once, and
        // spends nothing (so the buckets stay bounded by the accounts).
        if !self.by_name.contains_key(&user) {
            return Err(AuthError::Denied);
        }
        self.throttle.reserve(address, &user)
    }

    /// The cheap part of authentication: bearer tokens, and passwords
    /// already verified. `Ok(None)` means a password needs argon2.
    ///
    /// # Errors
    /// [`AuthError`] when the answer is already known to be no.
    pub fn authenticate_fast(&self, header: Option<&str>) -> Result<Option<Caller>, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let (scheme, rest) = header.split_once(' ').ok_or(AuthError::Malformed)?;
        if scheme.eq_ignore_ascii_case("bearer") {
            let digest: [u8; 32] = Sha256::digest(rest.trim().as_bytes()).into();
            return self
                .by_token
                .get(&digest)
                .cloned()
                .map(Some)
                .ok_or(AuthError::Denied);
        }
        let (user, password) = basic_credentials(scheme, rest)?;
        // An unknown account costs no argon2: refused at once.
        let (_, caller) = self.by_name.get(&user).ok_or(AuthError::Denied)?;
        let key = self.key(&user, &password);
        if self
            .verified
            .lock()
            .map(|v| v.contains(&key))
            .unwrap_or(false)
        {
            return Ok(Some(caller.clone()));
        }
        Ok(None)
    }

    /// Verifies Basic credentials with argon2 (slow by design: call it
    /// off the async runtime, holding a [`Accounts::password_checks`]
    /// permit) and remembers success; a success gives back the failed
    /// login `reservation` spent.
    ///
    /// # Errors
    /// [`AuthError::Denied`] for a wrong password; or the header's own fault.
    pub fn verify_password(
        &self,
        header: Option<&str>,
        reservation: Reservation,
    ) -> Result<Caller, AuthError> {
        let caller = self.check_password(header)?;
        self.throttle.succeeded(reservation);
        Ok(caller)
    }

    fn check_password(&self, header: Option<&str>) -> Result<Caller, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let (scheme, rest) = header.split_once(' ').ok_or(AuthError::Malformed)?;
        let (user, password) = basic_credentials(scheme, rest)?;
        let (account, caller) = self.by_name.get(&user).ok_or(AuthError::Denied)?;
        let hash = account.password_hash.as_deref().ok_or(AuthError::Denied)?;
        let parsed = PasswordHash::new(hash).map_err(|_| AuthError::Denied)?;
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .map_err(|_| AuthError::Denied)?;
        if let Ok(mut v) = self.verified.lock() {
            if v.len() >= MAX_VERIFIED {
                v.clear();
            }
            v.insert(self.key(&user, &password));
        }
        Ok(caller.clone())
    }

    fn key(&self, user: &str, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.cache_key);
        h.update(user.as_bytes());
        h.update([0]);
        h.update(password.as_bytes());
        h.finalize().into()
    }
}

/// User and password of a `Basic` header.
fn basic_credentials(scheme: &str, rest: &str) -> Result<(String, String), AuthError> {
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(AuthError::Malformed);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| AuthError::Malformed)?;
    let decoded = String::from_utf8(decoded).map_err(|_| AuthError::Malformed)?;
    let (user, password) = decoded.split_once(':').ok_or(AuthError::Malformed)?;
    Ok((user.to_owned(), password.to_owned()))
}

/// An argon2id PHC string for a password, with a random salt.
///
/// # Errors
/// When argon2 fails (it does not for ordinary passwords).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt =
        SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes()).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// The SHA-256 of a bearer token, as the configuration stores it (hex).
pub fn token_digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hex_decode(s: &str) -> Result<Vec<u8>, ()> {
    if s.len() != 64 {
        return Err(());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| ()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> Accounts {
        Accounts::new(&[
            AccountConfig {
                name: "ana".into(),
                password_hash: Some(hash_password("s3cret").unwrap()),
                token_sha256: vec![token_digest("tok-1")],
                read: vec!["*".into()],
                write: vec!["c1".into()],
            },
            AccountConfig {
                name: "bob".into(),
                password_hash: Some(hash_password("pw").unwrap()),
                token_sha256: vec![],
                read: vec!["c2".into()],
                write: vec![],
            },
        ])
    }

    fn basic(user: &str, pw: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))
        )
    }

    #[test]
    fn basic_and_bearer() {
        let a = accounts();
        let ana = a.authenticate(Some(&basic("ana", "s3cret")), None).unwrap();
        assert!(ana.can_read("anything") && ana.can_write("c1") && !ana.can_write("c2"));
        // The second time comes from the cache, same answer.
        assert_eq!(
            a.authenticate(Some(&basic("ana", "s3cret")), None)
                .unwrap()
                .name,
            "ana"
        );
        assert_eq!(
            a.authenticate(Some("Bearer tok-1"), None).unwrap().name,
            "ana"
        );
        let bob = a.authenticate(Some(&basic("bob", "pw")), None).unwrap();
        assert!(bob.can_read("c2") && !bob.can_read("c1") && !bob.can_write("c2"));
    }

    #[test]
    fn failures() {
        let a = accounts();
        assert_eq!(a.authenticate(None, None).unwrap_err(), AuthError::Missing);
        assert_eq!(
            a.authenticate(Some("Digest x"), None).unwrap_err(),
            AuthError::Malformed
        );
        assert_eq!(
            a.authenticate(Some("Basic !!!"), None).unwrap_err(),
            AuthError::Malformed
        );
        assert_eq!(
            a.authenticate(Some(&basic("ana", "wrong")), None)
                .unwrap_err(),
            AuthError::Denied
        );
        assert_eq!(
            a.authenticate(Some(&basic("eve", "s3cret")), None)
                .unwrap_err(),
            AuthError::Denied
        );
        assert_eq!(
            a.authenticate(Some("Bearer tok-2"), None).unwrap_err(),
            AuthError::Denied
        );
    }

    fn limits(per_address: u32, per_account: u32) -> Limits {
        Limits {
            failed_logins_per_address: per_address,
            failed_logins_per_account: per_account,
            failed_login_refill_secs: 60,
            ..Limits::default()
        }
    }

    fn configs() -> Vec<AccountConfig> {
        accounts()
            .by_name
            .values()
            .map(|(c, _)| c.clone())
            .collect()
    }

    #[test]
    fn failed_logins_are_throttled_per_address_before_argon2() {
        let a = Accounts::with_limits(&configs(), &limits(3, 100));
        let evil: Option<IpAddr> = Some("192.0.2.7".parse().unwrap());
        let good: Option<IpAddr> = Some("198.51.100.1".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(
                a.authenticate(Some(&basic("ana", "wrong")), evil)
                    .unwrap_err(),
                AuthError::Denied
            );
        }
        // The fourth is refused without a check, even with the right password.
        let t = Instant::now();
        match a
            .authenticate(Some(&basic("ana", "s3cret")), evil)
            .unwrap_err()
        {
            AuthError::Throttled {
                who,
                retry_after_secs,
            } => {
                assert_eq!(who, "from this address");
                assert!((1..=60).contains(&retry_after_secs), "{retry_after_secs}");
            }
            e => panic!("{e:?}"),
        }
        assert!(t.elapsed() < Duration::from_millis(5), "no argon2 ran");
        // Another address logs in to the same account.
        assert_eq!(
            a.authenticate(Some(&basic("ana", "s3cret")), good)
                .unwrap()
                .name,
            "ana"
        );
        // Now remembered: the throttled address is served with right credentials.
        assert_eq!(
            a.authenticate(Some(&basic("ana", "s3cret")), evil)
                .unwrap()
                .name,
            "ana"
        );
        // An IPv6 client is its /64.
        let v6a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(address_key(v6a), address_key(v6b));
        assert_ne!(
            address_key(v6a),
            address_key("2001:db8:1:3::1".parse().unwrap())
        );
    }

    /// 40 first requests with the same right password at once, where the
    /// account's bucket holds 2 failed logins: as the extractor does
    /// (fast path, turn, fast path again, reserve, argon2), all are let in
    /// and argon2 runs once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_of_first_logins_checks_the_password_once() {
        let a = std::sync::Arc::new(Accounts::with_limits(&configs(), &limits(100, 2)));
        let checks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..40u8 {
            let (a, checks) = (std::sync::Arc::clone(&a), std::sync::Arc::clone(&checks));
            tasks.push(tokio::spawn(async move {
                let h = basic("bob", "pw");
                let from = Some(IpAddr::from([192, 0, 2, i]));
                if let Some(c) = a.authenticate_fast(Some(&h))? {
                    return Ok(c.name);
                }
                let _turn = a.check_turn(Some(&h)).await;
                if let Some(c) = a.authenticate_fast(Some(&h))? {
                    return Ok(c.name);
                }
                let r = a.reserve(Some(&h), from)?;
                checks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let a2 = std::sync::Arc::clone(&a);
                tokio::task::spawn_blocking(move || a2.verify_password(Some(&h), r).map(|c| c.name))
                    .await
                    .expect("check")
            }));
        }
        for t in tasks {
            assert_eq!(t.await.expect("task"), Ok::<_, AuthError>("bob".to_owned()));
        }
        assert_eq!(checks.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert!(a.checking.lock().unwrap().is_empty(), "no turn left behind");
    }

    #[test]
    fn failed_logins_are_throttled_per_account_and_successes_give_back() {
        let a = Accounts::with_limits(&configs(), &limits(100, 2));
        let from = |i: u8| Some(IpAddr::from([192, 0, 2, i]));
        // A success spends nothing.
        for i in 0..4 {
            let r = a.reserve(Some(&basic("bob", "pw")), from(i)).unwrap();
            assert_eq!(
                a.verify_password(Some(&basic("bob", "pw")), r)
                    .map(|c| c.name),
                Ok("bob".to_owned())
            );
        }
        // Two failures from two addresses spend bob's burst.
        for i in 0..2 {
            assert_eq!(
                a.authenticate(Some(&basic("bob", "x")), from(10 + i))
                    .unwrap_err(),
                AuthError::Denied
            );
        }
        assert!(matches!(
            a.authenticate(Some(&basic("bob", "x")), from(20)).unwrap_err(),
            AuthError::Throttled { ref who, .. } if who.contains("`bob`")
        ));
        // Another account is not affected; an unknown one spends nothing.
        assert_eq!(
            a.authenticate(Some(&basic("ana", "s3cret")), from(20))
                .unwrap()
                .name,
            "ana"
        );
        for _ in 0..10 {
            assert_eq!(
                a.authenticate(Some(&basic("nobody", "x")), from(30))
                    .unwrap_err(),
                AuthError::Denied
            );
        }
        assert!(lock(&a.throttle.by_account).map.len() <= 2);
    }

    #[test]
    fn buckets_refill_and_stay_bounded() {
        let mut b: Buckets<u32> = Buckets::new(2, Duration::from_secs(10), 4);
        let t0 = Instant::now();
        b.take(&1, t0);
        b.take(&1, t0);
        assert_eq!(b.wait(&1, t0), 10);
        assert_eq!(b.wait(&1, t0 + Duration::from_secs(4)), 6);
        assert_eq!(b.wait(&1, t0 + Duration::from_secs(10)), 0);
        for k in 2..100 {
            b.take(&k, t0);
            assert!(b.map.len() <= 4);
        }
        b.give_back(&99, t0);
        assert!(!b.map.contains_key(&99), "a full bucket is forgotten");
    }
}
