//! User accounts: who may log in, with which password and permissions.
//!
//! Passwords are either plain (given on the command line, for tests and
//! quick use) or argon2 hashes in PHC form (`$argon2id$v=19$...`), as a
//! configuration file should hold them. The engine never sees either: it
//! asks, and [`Accounts::authenticate`] answers.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use ftp_proto::server::{AuthError, Credentials, Permissions};
use std::collections::HashMap;
use std::path::PathBuf;

/// How a password is checked.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// The password itself.
    Plain(String),
    /// An argon2 hash in PHC string form.
    Argon2(String),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Secret::Plain(_) => "Plain(<redacted>)",
            Secret::Argon2(_) => "Argon2(..)",
        })
    }
}

/// One user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// How the password is checked.
    pub secret: Secret,
    /// What the user may do.
    pub permissions: Permissions,
    /// The user's root directory; `None` for the server's root.
    pub root: Option<PathBuf>,
}

/// A successful login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// What the user may do.
    pub permissions: Permissions,
    /// The user's root directory; `None` for the server's root.
    pub root: Option<PathBuf>,
}

/// The accounts of a server.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    users: HashMap<Vec<u8>, Account>,
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Accounts {
    /// No accounts.
    pub fn new() -> Accounts {
        Accounts::default()
    }

    /// Adds or replaces a user.
    pub fn insert(&mut self, name: &str, account: Account) {
        self.users.insert(name.as_bytes().to_vec(), account);
    }

    /// Whether any user is defined.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// How many users are defined.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Checks credentials. Anonymous logins (the engine marks them, and only
    /// when anonymous access is on) are read-only on the server's root.
    pub fn authenticate(&self, credentials: &Credentials) -> Result<Login, AuthError> {
        if credentials.anonymous {
            return Ok(Login {
                permissions: Permissions::ReadOnly,
                root: None,
            });
        }
        let account = self
            .users
            .get(credentials.user.as_ref())
            .ok_or(AuthError::Rejected)?;
        let password = credentials.password.0.as_ref();
        let valid = match &account.secret {
            Secret::Plain(expected) => same(expected.as_bytes(), password),
            Secret::Argon2(hash) => PasswordHash::new(hash)
                .map(|parsed| Argon2::default().verify_password(password, &parsed).is_ok())
                .unwrap_or(false),
        };
        if valid {
            Ok(Login {
                permissions: account.permissions,
                root: account.root.clone(),
            })
        } else {
            Err(AuthError::Rejected)
        }
    }
}

/// Checks that `hash` is a password hash this crate can verify (a PHC
/// string, as [`hash_password`] writes): found when the configuration is
/// read, not at the first login.
pub fn check_hash(hash: &str) -> Result<(), String> {
    let parsed =
        PasswordHash::new(hash).map_err(|error| format!("not a password hash ({error})"))?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err(format!(
            "an {} hash; ftpd --hash-password makes argon2 ones",
            parsed.algorithm
        ));
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err("a password hash without its salt or hash".into());
    }
    Ok(())
}

/// Hashes a password for a configuration file (argon2id, random salt).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_checked_before_use() {
        assert_eq!(check_hash(&hash_password("pw")), Ok(()));
        assert!(check_hash("plain text").is_err());
        assert!(check_hash("$argon2id$v=19$broken").is_err());
        assert!(check_hash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ").is_err());
        assert!(check_hash("$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo").is_err());
    }
    use ftp_proto::command::Password;

    fn credentials(user: &str, password: &str) -> Credentials {
        Credentials {
            user: user.as_bytes().to_vec().into(),
            password: Password(password.as_bytes().to_vec().into()),
            account: None,
            anonymous: false,
            host: None,
        }
    }

    #[test]
    fn plain_and_hashed_passwords() {
        let mut accounts = Accounts::new();
        accounts.insert(
            "alice",
            Account {
                secret: Secret::Plain("pw".into()),
                permissions: Permissions::ReadWrite,
                root: None,
            },
        );
        accounts.insert(
            "bob",
            Account {
                secret: Secret::Argon2(hash_password("s3cret")),
                permissions: Permissions::ReadOnly,
                root: None,
            },
        );
        assert_eq!(
            accounts
                .authenticate(&credentials("alice", "pw"))
                .unwrap()
                .permissions,
            Permissions::ReadWrite
        );
        assert_eq!(
            accounts.authenticate(&credentials("alice", "pW")),
            Err(AuthError::Rejected)
        );
        assert_eq!(
            accounts
                .authenticate(&credentials("bob", "s3cret"))
                .unwrap()
                .permissions,
            Permissions::ReadOnly
        );
        assert_eq!(
            accounts.authenticate(&credentials("bob", "wrong")),
            Err(AuthError::Rejected)
        );
        assert_eq!(
            accounts.authenticate(&credentials("carol", "pw")),
            Err(AuthError::Rejected)
        );
        let mut anonymous = credentials("anonymous", "me@example.com");
        anonymous.anonymous = true;
        assert_eq!(
            accounts.authenticate(&anonymous).unwrap().permissions,
            Permissions::ReadOnly
        );
    }

    #[test]
    fn secrets_are_not_in_debug_output() {
        let account = Account {
            secret: Secret::Plain("hunter2".into()),
            permissions: Permissions::ReadOnly,
            root: None,
        };
        assert!(!format!("{account:?}").contains("hunter2"));
    }
}
