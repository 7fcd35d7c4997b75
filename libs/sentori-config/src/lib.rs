//! Configuration comes from `SENTORI_*` environment variables (operations.md).
//!
//! Every service builds its own config struct from an [`Env`]. Errors name
//! the variable so an operator knows what to fix, and all problems are
//! collected before exiting so a misconfigured deploy is fixed in one go.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// One problem with one variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is required but not set")]
    Missing { name: String },
    #[error("{name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
    /// The value is not printed: it may be a real secret that merely starts like a placeholder.
    #[error("{name} still holds a placeholder such as CHANGE-ME; set a random secret, e.g. `openssl rand -hex 32`")]
    Placeholder { name: String },
}

/// Words example files put where a secret belongs (`CHANGE-ME`, `changeme`,
/// `change_me`, `CHANGE-ME-TO-...`): a value that starts with one, ignoring
/// case and separators, was copied without being replaced.
const PLACEHOLDERS: [&str; 1] = ["changeme"];

/// `SENTORI_DEV_TOKEN`'s minimum: as long as the random part of a generated token.
pub const DEV_TOKEN_MIN_BYTES: usize = 26;
/// `SENTORI_SESSION_SECRET`'s minimum: the key of HMAC-SHA256 and of the cookie key derivation.
pub const SESSION_SECRET_MIN_BYTES: usize = 32;

/// Whether `value` is empty or an example file's placeholder rather than a secret.
pub fn is_placeholder_secret(value: &str) -> bool {
    let letters: String = value.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    letters.is_empty() || PLACEHOLDERS.iter().any(|word| letters.starts_with(word))
}

/// Every problem found while reading a service's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "configuration is incomplete:")?;
        for error in &self.0 {
            writeln!(f, "  - {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// A snapshot of the environment that records every problem it meets.
///
/// Reading never stops at the first error: call [`Env::finish`] once all
/// values have been read to get either success or the full list.
pub struct Env {
    vars: HashMap<String, String>,
    errors: Vec<ConfigError>,
}

impl Env {
    /// The process environment.
    pub fn from_process() -> Self {
        Self::from_pairs(std::env::vars())
    }

    /// An explicit set of variables (tests, or in-process service starts).
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            // An empty value is treated as unset: `FOO= cmd` is how people unset in shells.
            .filter(|(_, v): &(String, String)| !v.trim().is_empty())
            .collect();
        Self { vars, errors: Vec::new() }
    }

    /// The raw value, if set and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// A required string. Records `Missing` and returns an empty string when unset.
    pub fn required(&mut self, name: &str) -> String {
        match self.get(name) {
            Some(value) => value.to_owned(),
            None => {
                self.errors.push(ConfigError::Missing { name: name.to_owned() });
                String::new()
            }
        }
    }

    /// A required secret of at least `min_bytes`: a placeholder or a shorter
    /// value is recorded, so no service starts with a guessable secret.
    pub fn secret(&mut self, name: &str, min_bytes: usize) -> String {
        let value = self.required(name);
        if value.is_empty() {
            return value; // recorded as missing
        }
        if is_placeholder_secret(&value) {
            self.errors.push(ConfigError::Placeholder { name: name.to_owned() });
        } else if value.len() < min_bytes {
            self.invalid(name, format!("must be at least {min_bytes} bytes (got {})", value.len()));
        }
        value
    }

    /// An optional string.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    /// A parsed value with a default when unset.
    pub fn parsed_or<T>(&mut self, name: &str, default: T) -> T
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.parsed(name).unwrap_or(default)
    }

    /// A parsed optional value; a value that does not parse is recorded as invalid.
    pub fn parsed<T>(&mut self, name: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        let raw = self.get(name)?.to_owned();
        match raw.trim().parse::<T>() {
            Ok(value) => Some(value),
            Err(err) => {
                self.invalid(name, format!("{err} (got {raw:?})"));
                None
            }
        }
    }

    /// A listen address such as `127.0.0.1:8080`.
    pub fn addr_or(&mut self, name: &str, default: &str) -> SocketAddr {
        let fallback: SocketAddr = default.parse().expect("default address is valid");
        self.parsed_or(name, fallback)
    }

    /// Records a semantic problem found by the caller (e.g. a secret too short).
    pub fn invalid(&mut self, name: &str, reason: impl Into<String>) {
        self.errors.push(ConfigError::Invalid { name: name.to_owned(), reason: reason.into() });
    }

    /// Succeeds when nothing was missing or malformed.
    pub fn finish(self) -> Result<(), ConfigErrors> {
        if self.errors.is_empty() { Ok(()) } else { Err(ConfigErrors(self.errors)) }
    }
}

/// The settings every service that talks to the backing stores shares.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub database_url: String,
    pub valkey_url: String,
    /// Prefix of every Valkey key, so several installations (or test runs)
    /// can share one Valkey. Defaults to `sentori`.
    pub valkey_namespace: String,
    /// `SENTORI_STREAM_SHARDS`: partitions per stream (1 to 1024, default 1),
    /// each its own key and hash tag, so a Valkey Cluster spreads them.
    pub stream_shards: u16,
    /// `SENTORI_VALKEY_WAIT_REPLICAS`: replicas that must hold an appended
    /// entry before it counts as accepted (default 0: the primary's word).
    pub valkey_wait_replicas: u8,
    /// `SENTORI_SELF_TRACE_PROJECT_ID`: the project this service's own spans go to.
    pub self_trace_project_id: Option<uuid::Uuid>,
}

impl StoreConfig {
    pub fn read(env: &mut Env) -> Self {
        Self {
            database_url: env.required("SENTORI_DATABASE_URL"),
            valkey_url: env.required("SENTORI_VALKEY_URL"),
            valkey_namespace: env.optional("SENTORI_VALKEY_NAMESPACE").unwrap_or_else(|| "sentori".into()),
            stream_shards: stream_shards(env),
            valkey_wait_replicas: env.parsed_or("SENTORI_VALKEY_WAIT_REPLICAS", 0u8),
            self_trace_project_id: env.parsed("SENTORI_SELF_TRACE_PROJECT_ID"),
        }
    }
}

fn stream_shards(env: &mut Env) -> u16 {
    const NAME: &str = "SENTORI_STREAM_SHARDS";
    match env.parsed_or(NAME, 1u16) {
        shards @ 1..=1024 => shards,
        _ => {
            env.invalid(NAME, "must be from 1 to 1024");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_missing_and_invalid_variable() {
        let mut env = Env::from_pairs([("SENTORI_RATE_LIMIT_PER_MIN", "lots"), ("SENTORI_VALKEY_URL", " ")]);
        let _ = StoreConfig::read(&mut env);
        let _: u32 = env.parsed_or("SENTORI_RATE_LIMIT_PER_MIN", 1000);
        let errors = env.finish().unwrap_err();
        let text = errors.to_string();
        assert!(text.contains("SENTORI_DATABASE_URL is required"), "{text}");
        assert!(text.contains("SENTORI_VALKEY_URL is required"), "{text}");

        let mut env = Env::from_pairs([("SENTORI_STREAM_SHARDS", "0")]);
        let _ = StoreConfig::read(&mut env);
        assert!(env.finish().unwrap_err().to_string().contains("SENTORI_STREAM_SHARDS"));
        let mut env = Env::from_pairs([("SENTORI_STREAM_SHARDS", "16")]);
        assert_eq!(StoreConfig::read(&mut env).stream_shards, 16);
        assert!(text.contains("SENTORI_RATE_LIMIT_PER_MIN is invalid"), "{text}");
        assert_eq!(errors.0.len(), 3);
    }

    #[test]
    fn placeholder_and_short_secrets_are_refused_by_name() {
        let mut env = Env::from_pairs([
            ("A", "CHANGE-ME"),
            ("B", "changeme"),
            ("C", " Change_Me "),
            ("D", "CHANGE-ME-TO-AT-LEAST-32-RANDOM-BYTES"),
            ("E", "short"),
            ("F", "--"),
            ("G", "0123456789abcdef0123456789abcdef"),
        ]);
        for name in ["A", "B", "C", "D", "E", "F", "G", "UNSET"] {
            env.secret(name, 32);
        }
        let errors = env.finish().unwrap_err().0;
        let placeholder = |name: &str| errors.iter().any(|e| *e == ConfigError::Placeholder { name: name.into() });
        for name in ["A", "B", "C", "D", "F"] {
            assert!(placeholder(name), "{name}: {errors:?}");
        }
        assert!(errors.contains(&ConfigError::Invalid { name: "E".into(), reason: "must be at least 32 bytes (got 5)".into() }));
        assert!(errors.contains(&ConfigError::Missing { name: "UNSET".into() }));
        assert_eq!(errors.len(), 7, "G is a fine secret: {errors:?}");
        let text = ConfigErrors(errors).to_string();
        assert!(text.contains("A still holds a placeholder"), "{text}");
    }

    #[test]
    fn defaults_apply_when_unset() {
        let mut env = Env::from_pairs([("SENTORI_DATABASE_URL", "postgres://x"), ("SENTORI_VALKEY_URL", "redis://y")]);
        let store = StoreConfig::read(&mut env);
        let addr = env.addr_or("SENTORI_INGEST_ADDR", "0.0.0.0:8080");
        assert!(env.finish().is_ok());
        assert_eq!(store.valkey_namespace, "sentori");
        assert_eq!(addr.port(), 8080);
    }
}
