//! Partners: the other nodes named in the configuration's `[[partners]]`,
//! which account each uses here, and the credentials this node uses there.
//!
//! # Credentials: one precedence
//!
//! [`resolve_credentials`] decides what this node sends to a partner, in
//! this order:
//!
//! 1. an explicit choice on the command line: `--token` (the bearer token in
//!    `$ACCORD_TOKEN`, which must be set) or `--user NAME` (HTTP Basic, the
//!    password in `$ACCORD_PASSWORD`, which must be set);
//! 2. for a configured partner with a `user`: that user and its
//!    password: the first line of its `password_file` when configured (it
//!    must be readable), else the variable its `password_env` names when
//!    configured (it must be set), else `$ACCORD_PASSWORD` when it is set;
//! 3. for a configured partner: `$ACCORD_TOKEN`, when it is set;
//! 4. no credentials.
//!
//! Secrets come from the environment or a file the configuration names,
//! never from the command line or the configuration file itself.
//!
//! # Accounts
//!
//! A partner logs in here as its `account`, or its `name` when absent; the
//! `partner` label of the exchange records with that account is the
//! partner's name ([`Partners::counterparty`], the one mapping, used by the
//! server for every exchange). This node logs in at the partner as `user`.

use crate::config::{Config, PartnerConfig};
use accord_client::Auth;

/// Environment variable holding the password for HTTP Basic.
pub const PASSWORD_ENV: &str = "ACCORD_PASSWORD";
/// Environment variable holding a bearer token.
pub const TOKEN_ENV: &str = "ACCORD_TOKEN";

/// Why a partner or its credentials could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum PartnerError {
    /// A partner was named but no configuration was given.
    #[error("partners are configured in accord.toml: pass --config")]
    NoConfig,
    /// No partner of that name.
    #[error("no partner `{0}` in [[partners]]")]
    Unknown(String),
    /// `--token` without `$ACCORD_TOKEN`.
    #[error("--token needs the token in ${TOKEN_ENV}")]
    NoToken,
    /// `--user` without `$ACCORD_PASSWORD`.
    #[error("--user needs the password in ${PASSWORD_ENV}")]
    NoPassword,
    /// A partner's `password_env` names a variable that is not set.
    #[error("partner `{partner}`: password_env names ${var}, which is not set")]
    PasswordEnvUnset {
        /// The partner.
        partner: String,
        /// The variable.
        var: String,
    },
    /// A partner's `password_file` cannot be read or is empty.
    #[error("partner `{partner}`: password_file {}: {reason}", .path.display())]
    PasswordFile {
        /// The partner.
        partner: String,
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// A configured partner.
#[derive(Debug, Clone)]
pub struct Partner {
    config: PartnerConfig,
}

impl Partner {
    /// The partner as configured.
    pub fn new(config: PartnerConfig) -> Partner {
        Partner { config }
    }

    /// Every partner of a configuration, in its order.
    pub fn all(config: &Config) -> Vec<Partner> {
        config.partners.iter().cloned().map(Partner::new).collect()
    }

    /// The partner called `name` in `config`.
    ///
    /// # Errors
    /// [`PartnerError::NoConfig`] without a configuration,
    /// [`PartnerError::Unknown`] when no partner has that name.
    pub fn named(config: Option<&Config>, name: &str) -> Result<Partner, PartnerError> {
        let config = config.ok_or(PartnerError::NoConfig)?;
        config
            .partners
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .map(Partner::new)
            .ok_or_else(|| PartnerError::Unknown(name.to_owned()))
    }

    /// The partner whose base `url` the collection URL `url` starts with.
    pub fn serving(config: &Config, url: &str) -> Option<Partner> {
        config
            .partners
            .iter()
            .find(|p| url.starts_with(p.url.trim_end_matches('/')))
            .cloned()
            .map(Partner::new)
    }

    /// The partner whose account here is `account`.
    pub fn by_account(config: &Config, account: &str) -> Option<Partner> {
        Partners::new(config).by_account(account).cloned()
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Its base URL.
    pub fn url(&self) -> &str {
        &self.config.url
    }

    /// The account it logs in as on this node: `account`, else its name.
    pub fn account(&self) -> &str {
        self.config.account.as_deref().unwrap_or(&self.config.name)
    }

    /// The account this node logs in as on the partner, if configured.
    pub fn user(&self) -> Option<&str> {
        self.config.user.as_deref()
    }

    /// The configuration entry (what the ledger functions take).
    pub fn config(&self) -> &PartnerConfig {
        &self.config
    }
}

/// Every configured partner, built once from the configuration, with the
/// account ↔ partner mapping the server applies to each request.
#[derive(Debug, Clone, Default)]
pub struct Partners {
    list: Vec<Partner>,
    by_account: std::collections::HashMap<String, usize>,
}

impl Partners {
    /// The partners of `config`.
    pub fn new(config: &Config) -> Partners {
        let list = Partner::all(config);
        let by_account = list
            .iter()
            .enumerate()
            .map(|(i, p)| (p.account().to_owned(), i))
            .collect();
        Partners { list, by_account }
    }

    /// Every partner, in the configuration's order.
    pub fn iter(&self) -> impl Iterator<Item = &Partner> {
        self.list.iter()
    }

    /// The partner that logs in here as `account`.
    pub fn by_account(&self, account: &str) -> Option<&Partner> {
        self.by_account.get(account).map(|&i| &self.list[i])
    }

    /// Who `account` is in an exchange: the partner it belongs to, else
    /// the account itself.
    pub fn counterparty<'a>(&'a self, account: &'a str) -> crate::exchange::Counterparty<'a> {
        match self.by_account(account) {
            Some(p) => crate::exchange::Counterparty::Partner(p.name()),
            None => crate::exchange::Counterparty::Account(account),
        }
    }
}

/// What the command line chose, if anything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CredentialChoice {
    /// Nothing on the command line.
    #[default]
    Default,
    /// `--token`: the bearer token in `$ACCORD_TOKEN`.
    Token,
    /// `--user NAME`: HTTP Basic with the password in `$ACCORD_PASSWORD`.
    User(String),
}

/// The credentials to use (see the module documentation for the order),
/// reading the environment through `env`.
///
/// # Errors
/// [`PartnerError::NoToken`], [`PartnerError::NoPassword`] when the
/// command line asked for a secret the environment does not hold.
pub fn resolve_credentials(
    choice: &CredentialChoice,
    partner: Option<&Partner>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Auth, PartnerError> {
    match choice {
        CredentialChoice::Token => {
            return env(TOKEN_ENV)
                .map(Auth::Bearer)
                .ok_or(PartnerError::NoToken);
        }
        CredentialChoice::User(user) => {
            return env(PASSWORD_ENV)
                .map(|password| Auth::Basic {
                    user: user.clone(),
                    password,
                })
                .ok_or(PartnerError::NoPassword);
        }
        CredentialChoice::Default => {}
    }
    let Some(p) = partner else {
        return Ok(Auth::None);
    };
    if let Some(user) = p.user() {
        let c = p.config();
        let password = if let Some(path) = &c.password_file {
            Some(read_password_file(p.name(), path)?)
        } else if let Some(var) = &c.password_env {
            Some(env(var).ok_or_else(|| PartnerError::PasswordEnvUnset {
                partner: p.name().to_owned(),
                var: var.clone(),
            })?)
        } else {
            env(PASSWORD_ENV)
        };
        if let Some(password) = password {
            return Ok(Auth::Basic {
                user: user.to_owned(),
                password,
            });
        }
    }
    Ok(env(TOKEN_ENV).map_or(Auth::None, Auth::Bearer))
}

/// The first line of a partner's `password_file`.
fn read_password_file(partner: &str, path: &std::path::Path) -> Result<String, PartnerError> {
    let fail = |reason: String| PartnerError::PasswordFile {
        partner: partner.to_owned(),
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        return Err(fail("the first line is empty".into()));
    }
    Ok(line.to_owned())
}

/// [`resolve_credentials`] over the process environment.
///
/// # Errors
/// As [`resolve_credentials`].
pub fn credentials(
    choice: &CredentialChoice,
    partner: Option<&Partner>,
) -> Result<Auth, PartnerError> {
    resolve_credentials(choice, partner, |k| std::env::var(k).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partner(user: Option<&str>, account: Option<&str>) -> Partner {
        Partner::new(PartnerConfig {
            name: "cert-b".into(),
            url: "https://b.example/".into(),
            verifier_key: String::new(),
            witness_key: None,
            account: account.map(str::to_owned),
            user: user.map(str::to_owned),
            password_env: None,
            password_file: None,
            jurisdiction: None,
            identity: None,
            api_root: None,
            outbound: Default::default(),
            inbound: Default::default(),
            sync: Default::default(),
        })
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn basic(user: &str, password: &str) -> Auth {
        Auth::Basic {
            user: user.into(),
            password: password.into(),
        }
    }

    #[test]
    fn the_command_line_comes_first() {
        let both = [(TOKEN_ENV, "t"), (PASSWORD_ENV, "pw")];
        let p = partner(Some("a"), None);
        let token = resolve_credentials(&CredentialChoice::Token, Some(&p), env(&both)).unwrap();
        assert_eq!(token, Auth::Bearer("t".into()));
        let user =
            resolve_credentials(&CredentialChoice::User("x".into()), Some(&p), env(&both)).unwrap();
        assert_eq!(user, basic("x", "pw"));
        assert!(matches!(
            resolve_credentials(&CredentialChoice::Token, None, env(&[])),
            Err(PartnerError::NoToken)
        ));
        assert!(matches!(
            resolve_credentials(&CredentialChoice::User("x".into()), None, env(&[])),
            Err(PartnerError::NoPassword)
        ));
    }

    #[test]
    fn then_the_partners_user_then_a_token_then_nothing() {
        let both = [(TOKEN_ENV, "t"), (PASSWORD_ENV, "pw")];
        let d = CredentialChoice::Default;
        let with_user = partner(Some("a"), None);
        let without = partner(None, None);
        assert_eq!(
            resolve_credentials(&d, Some(&with_user), env(&both)).unwrap(),
            basic("a", "pw")
        );
        assert_eq!(
            resolve_credentials(&d, Some(&without), env(&both)).unwrap(),
            Auth::Bearer("t".into())
        );
        assert_eq!(
            resolve_credentials(&d, Some(&with_user), env(&[(TOKEN_ENV, "t")])).unwrap(),
            Auth::Bearer("t".into())
        );
        assert_eq!(
            resolve_credentials(&d, Some(&with_user), env(&[])).unwrap(),
            Auth::None
        );
        // No partner: nothing unless the command line asks.
        assert_eq!(
            resolve_credentials(&d, None, env(&both)).unwrap(),
            Auth::None
        );
    }

    #[test]
    fn a_partner_names_its_own_password_env_or_file() {
        let both = [(PASSWORD_ENV, "pw"), ("PW_EU", "eu")];
        let d = CredentialChoice::Default;
        let mut c = partner(Some("a"), None).config().clone();
        c.password_env = Some("PW_EU".into());
        let p = Partner::new(c.clone());
        assert_eq!(
            resolve_credentials(&d, Some(&p), env(&both)).unwrap(),
            basic("a", "eu")
        );
        let e = resolve_credentials(&d, Some(&p), env(&[(PASSWORD_ENV, "pw")]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "partner `cert-b`: password_env names $PW_EU, which is not set"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file\nignored\n").unwrap();
        c.password_file = Some(file.clone());
        let p = Partner::new(c.clone());
        assert_eq!(
            resolve_credentials(&d, Some(&p), env(&both)).unwrap(),
            basic("a", "from-file")
        );
        c.password_file = Some(dir.path().join("missing"));
        let e = resolve_credentials(&d, Some(&Partner::new(c)), env(&both))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("partner `cert-b`: password_file ") && e.contains("missing"),
            "{e}"
        );
        // The command line still comes first.
        assert_eq!(
            resolve_credentials(&CredentialChoice::User("x".into()), Some(&p), env(&both)).unwrap(),
            basic("x", "pw")
        );
    }

    #[test]
    fn accounts_map_to_partners() {
        let p = partner(None, Some("acct-b"));
        assert_eq!(p.account(), "acct-b");
        assert_eq!(partner(None, None).account(), "cert-b");
        let mut c = crate::config::Config::parse(crate::config::tests::MINIMAL, "<test>").unwrap();
        c.partners.push(p.config().clone());
        assert_eq!(
            Partner::by_account(&c, "acct-b").map(|p| p.name().to_owned()),
            Some("cert-b".into())
        );
        assert!(Partner::by_account(&c, "cert-b").is_none());
        assert_eq!(
            Partner::serving(&c, "https://b.example/api1/collections/x/")
                .map(|p| p.name().to_owned()),
            Some("cert-b".into())
        );
        assert!(matches!(
            Partner::named(Some(&c), "zz"),
            Err(PartnerError::Unknown(_))
        ));
        assert!(matches!(
            Partner::named(None, "zz"),
            Err(PartnerError::NoConfig)
        ));
    }
}
