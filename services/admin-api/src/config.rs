//! The admin API's configuration (operations.md).

use std::net::SocketAddr;
use std::path::PathBuf;

use sentori_runtime::client_addr::IpNet;
use sentori_config::{ConfigErrors, Env, SESSION_SECRET_MIN_BYTES, StoreConfig};
use time::Duration;

use crate::login_limit::{self, LoginLimits};
use crate::session;

#[derive(Debug, Clone)]
pub struct AdminConfig {
    pub addr: SocketAddr,
    pub store: StoreConfig,
    pub dev_token: String,
    /// The operator's dashboard password.
    pub admin_password: String,
    /// Signs session cookies; at least 32 bytes.
    pub session_secret: String,
    /// `SENTORI_SESSION_LIFETIME_SECS`: how long after login a session ends, however it is used.
    pub session_lifetime: Duration,
    pub public_url: String,
    /// `SENTORI_PUBLIC_INGEST_URL`: where SDKs reach ingest, the host part of
    /// every DSN; defaults to `public_url` (nginx routes `/v1/*` and
    /// `/api/<number>/*` there to ingest).
    pub public_ingest_url: String,
    /// Source-map uploads: where blobs go and how large an upload may be.
    pub artifacts: crate::artifacts::ArtifactConfig,
    /// Where attachment blobs live (`<dir>/<sha[0..2]>/<sha>`); unset disables attachments.
    pub attachment_dir: Option<std::path::PathBuf>,
    /// Peers whose `X-Real-IP` / `X-Forwarded-For` name the client (`SENTORI_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<IpNet>,
    /// `SENTORI_LOGIN_TRIES_PER_MIN` and `SENTORI_LOGIN_GLOBAL_TRIES_PER_MIN`.
    pub login_limits: LoginLimits,
    /// `SENTORI_WEB_DIR`: the built dashboard to serve on every path outside `/admin/api`.
    pub web_dir: Option<PathBuf>,
    /// `SENTORI_DATABASE_READ_URL`: a streaming replica for lists and aggregates.
    pub database_read_url: Option<String>,
}

impl AdminConfig {
    pub fn from_env(mut env: Env) -> Result<Self, ConfigErrors> {
        let addr = env.addr_or("SENTORI_ADMIN_API_ADDR", "0.0.0.0:8081");
        let store = StoreConfig::read(&mut env);
        let dev_token = env.secret("SENTORI_DEV_TOKEN", sentori_config::DEV_TOKEN_MIN_BYTES);
        let admin_password = env.secret("SENTORI_ADMIN_PASSWORD", 1);
        let session_secret = env.secret("SENTORI_SESSION_SECRET", SESSION_SECRET_MIN_BYTES);
        let session_lifetime = session_lifetime(&mut env);
        let public_url = env.optional("SENTORI_PUBLIC_URL").unwrap_or_else(|| "http://localhost:8000".into());
        let public_ingest_url = env.optional("SENTORI_PUBLIC_INGEST_URL").filter(|u| !u.trim().is_empty());
        let public_ingest_url = public_ingest_url.unwrap_or_else(|| public_url.clone());
        if crate::dsn::parts(&public_ingest_url).is_none() {
            env.invalid("SENTORI_PUBLIC_INGEST_URL", "must be an http:// or https:// URL");
        }
        let artifacts = crate::artifacts::ArtifactConfig::read(&mut env);
        let attachment_dir = env.optional("SENTORI_ATTACHMENT_DIR").filter(|d| !d.is_empty()).map(Into::into);
        let trusted_proxies = sentori_runtime::client_addr::trusted_proxies(&mut env);
        let login_limits = LoginLimits {
            per_client: positive(&mut env, "SENTORI_LOGIN_TRIES_PER_MIN", login_limit::DEFAULT_TRIES_PER_CLIENT),
            overall: positive(&mut env, "SENTORI_LOGIN_GLOBAL_TRIES_PER_MIN", login_limit::DEFAULT_TRIES_OVERALL),
        };
        let web_dir = web_dir(&mut env);
        let database_read_url = env.optional("SENTORI_DATABASE_READ_URL").filter(|u| !u.trim().is_empty());
        env.finish()?;
        Ok(Self {
            addr,
            store,
            dev_token,
            admin_password,
            session_secret,
            session_lifetime,
            public_url,
            public_ingest_url,
            artifacts,
            attachment_dir,
            trusted_proxies,
            login_limits,
            web_dir,
            database_read_url,
        })
    }
}

/// `SENTORI_WEB_DIR`, checked now so that a wrong path stops the start
/// instead of answering every page with a 404.
fn web_dir(env: &mut Env) -> Option<PathBuf> {
    const NAME: &str = "SENTORI_WEB_DIR";
    let dir = PathBuf::from(env.optional(NAME).filter(|d| !d.is_empty())?);
    if !dir.join("index.html").is_file() {
        env.invalid(NAME, format!("{} has no index.html (build the dashboard: cd web && npm ci && npm run build)", dir.display()));
    }
    Some(dir)
}

/// `SENTORI_SESSION_LIFETIME_SECS`, at most a year so expiry arithmetic stays far from overflow.
fn session_lifetime(env: &mut Env) -> Duration {
    const NAME: &str = "SENTORI_SESSION_LIFETIME_SECS";
    const MAX_SECS: u64 = 366 * 86_400;
    let default = session::DEFAULT_SESSION_LIFETIME.whole_seconds().unsigned_abs();
    let secs = positive(env, NAME, default);
    if secs > MAX_SECS {
        env.invalid(NAME, format!("must be at most {MAX_SECS} (a year)"));
    }
    Duration::seconds(secs.min(MAX_SECS) as i64)
}

/// A count of at least 1, `default` when unset.
fn positive(env: &mut Env, name: &str, default: u64) -> u64 {
    let value = env.parsed_or(name, default);
    if value == 0 {
        env.invalid(name, "must be at least 1");
    }
    value
}

#[cfg(test)]
mod tests {
    use sentori_config::ConfigError;

    use super::*;

    fn errors_with(overrides: &[(&'static str, &'static str)]) -> Vec<ConfigError> {
        let mut vars = vec![
            ("SENTORI_DATABASE_URL", "postgres://x"),
            ("SENTORI_VALKEY_URL", "redis://y"),
            ("SENTORI_DEV_TOKEN", "dev-0123456789abcdef0123456789abcdef"),
            ("SENTORI_ADMIN_PASSWORD", "a good password"),
            ("SENTORI_SESSION_SECRET", "0123456789abcdef0123456789abcdef"),
        ];
        vars.retain(|(name, _)| !overrides.iter().any(|(o, _)| o == name));
        vars.extend_from_slice(overrides);
        AdminConfig::from_env(Env::from_pairs(vars)).err().map(|e| e.0).unwrap_or_default()
    }

    #[test]
    fn placeholder_and_short_secrets_stop_the_start() {
        assert_eq!(errors_with(&[]), vec![]);
        for name in ["SENTORI_DEV_TOKEN", "SENTORI_ADMIN_PASSWORD", "SENTORI_SESSION_SECRET"] {
            for placeholder in ["CHANGE-ME", "changeme", "change-me", "CHANGE-ME-TO-AT-LEAST-32-RANDOM-BYTES"] {
                assert_eq!(errors_with(&[(name, placeholder)]), vec![ConfigError::Placeholder { name: name.into() }]);
            }
            assert_eq!(errors_with(&[(name, "")]), vec![ConfigError::Missing { name: name.into() }]);
        }
        let short_token = errors_with(&[("SENTORI_DEV_TOKEN", "0123456789abcdefghijklmno")]);
        assert!(
            matches!(&short_token[..], [ConfigError::Invalid { name, .. }] if name == "SENTORI_DEV_TOKEN"),
            "{short_token:?}"
        );
        assert_eq!(errors_with(&[("SENTORI_DEV_TOKEN", "0123456789abcdefghijklmnop")]), vec![], "26 characters suffice");
        let short_secret = errors_with(&[("SENTORI_SESSION_SECRET", "0123456789abcdef0123456789abcde")]);
        assert!(matches!(&short_secret[..], [ConfigError::Invalid { name, .. }] if name == "SENTORI_SESSION_SECRET"));
    }

    #[test]
    fn a_web_dir_without_a_built_dashboard_stops_the_start() {
        let errors = errors_with(&[("SENTORI_WEB_DIR", "/nonexistent/dist")]);
        assert!(
            matches!(&errors[..], [ConfigError::Invalid { name, reason }]
            if name == "SENTORI_WEB_DIR" && reason.contains("index.html")),
            "{errors:?}"
        );
        assert_eq!(errors_with(&[("SENTORI_WEB_DIR", "")]), vec![], "empty means unset");
    }

    #[test]
    fn login_limits_and_session_lifetime_are_bounded() {
        for name in ["SENTORI_LOGIN_TRIES_PER_MIN", "SENTORI_LOGIN_GLOBAL_TRIES_PER_MIN", "SENTORI_SESSION_LIFETIME_SECS"] {
            let errors = errors_with(&[(name, "0")]);
            assert!(matches!(&errors[..], [ConfigError::Invalid { name: n, .. }] if n == name), "{errors:?}");
        }
        assert_eq!(errors_with(&[("SENTORI_SESSION_LIFETIME_SECS", "31622400")]), vec![]);
        assert_eq!(errors_with(&[("SENTORI_SESSION_LIFETIME_SECS", "31622401")]).len(), 1);
        let errors = errors_with(&[("SENTORI_TRUSTED_PROXIES", "10.0.0.0/8, not-a-range")]);
        assert!(
            matches!(&errors[..], [ConfigError::Invalid { name, reason }]
            if name == "SENTORI_TRUSTED_PROXIES" && reason.contains("not-a-range")),
            "{errors:?}"
        );
    }
}
