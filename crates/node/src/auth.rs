//! Who is calling, and what they may do: HTTP Basic (argon2 password
//! hashes) and bearer tokens (stored as SHA-256), with read and write rights
//! per collection.
//!
//! argon2 is slow on purpose (tens of milliseconds); checking it on every
//! request would cap the server at a few dozen requests per second. A
//! successful check is remembered as a keyed SHA-256 of the credentials, so
//! later requests with the same credentials cost one hash.

use accord_app::config::AccountConfig;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

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
}

/// The accounts of a node.
pub struct Accounts {
    by_name: HashMap<String, (AccountConfig, Caller)>,
    by_token: HashMap<[u8; 32], Caller>,
    /// Keyed hashes of credentials already verified with argon2.
    verified: Mutex<HashSet<[u8; 32]>>,
    cache_key: [u8; 32],
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
    /// The accounts of a configuration.
    pub fn new(accounts: &[AccountConfig]) -> Accounts {
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
        }
    }

    /// Authenticates the value of an `Authorization` header. Runs argon2
    /// when the credentials were not verified before: call it off the async
    /// runtime, or use [`Accounts::authenticate_fast`] first.
    ///
    /// # Errors
    /// [`AuthError`] saying whether credentials are missing, malformed or wrong.
    pub fn authenticate(&self, header: Option<&str>) -> Result<Caller, AuthError> {
        match self.authenticate_fast(header)? {
            Some(c) => Ok(c),
            None => self.verify_password(header),
        }
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

    /// Verifies Basic credentials with argon2 (slow by design) and remembers success.
    fn verify_password(&self, header: Option<&str>) -> Result<Caller, AuthError> {
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
        let ana = a.authenticate(Some(&basic("ana", "s3cret"))).unwrap();
        assert!(ana.can_read("anything") && ana.can_write("c1") && !ana.can_write("c2"));
        // The second time comes from the cache, same answer.
        assert_eq!(
            a.authenticate(Some(&basic("ana", "s3cret"))).unwrap().name,
            "ana"
        );
        assert_eq!(a.authenticate(Some("Bearer tok-1")).unwrap().name, "ana");
        let bob = a.authenticate(Some(&basic("bob", "pw"))).unwrap();
        assert!(bob.can_read("c2") && !bob.can_read("c1") && !bob.can_write("c2"));
    }

    #[test]
    fn failures() {
        let a = accounts();
        assert_eq!(a.authenticate(None).unwrap_err(), AuthError::Missing);
        assert_eq!(
            a.authenticate(Some("Digest x")).unwrap_err(),
            AuthError::Malformed
        );
        assert_eq!(
            a.authenticate(Some("Basic !!!")).unwrap_err(),
            AuthError::Malformed
        );
        assert_eq!(
            a.authenticate(Some(&basic("ana", "wrong"))).unwrap_err(),
            AuthError::Denied
        );
        assert_eq!(
            a.authenticate(Some(&basic("eve", "s3cret"))).unwrap_err(),
            AuthError::Denied
        );
        assert_eq!(
            a.authenticate(Some("Bearer tok-2")).unwrap_err(),
            AuthError::Denied
        );
    }
}
