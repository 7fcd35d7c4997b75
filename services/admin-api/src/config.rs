//! The admin API's configuration (operations.md).

use std::net::SocketAddr;

use sentori_config::{ConfigErrors, Env, StoreConfig};

#[derive(Debug, Clone)]
pub struct AdminConfig {
    pub addr: SocketAddr,
    pub store: StoreConfig,
    pub dev_token: String,
    /// The operator's dashboard password.
    pub admin_password: String,
    /// Signs session cookies; at least 32 bytes.
    pub session_secret: String,
    pub public_url: String,
    /// Source-map uploads: where blobs go and how large an upload may be.
    pub artifacts: crate::artifacts::ArtifactConfig,
    /// Where attachment blobs live (`<dir>/<sha[0..2]>/<sha>`); unset disables attachments.
    pub attachment_dir: Option<std::path::PathBuf>,
    /// Peers whose `X-Real-IP` / `X-Forwarded-For` name the client (`SENTORI_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<crate::auth::IpNet>,
}

impl AdminConfig {
    pub fn from_env(mut env: Env) -> Result<Self, ConfigErrors> {
        let addr = env.addr_or("SENTORI_ADMIN_API_ADDR", "0.0.0.0:8081");
        let store = StoreConfig::read(&mut env);
        let dev_token = env.required("SENTORI_DEV_TOKEN");
        let admin_password = env.required("SENTORI_ADMIN_PASSWORD");
        let session_secret = env.required("SENTORI_SESSION_SECRET");
        if !session_secret.is_empty() && session_secret.len() < 32 {
            env.invalid("SENTORI_SESSION_SECRET", "must be at least 32 bytes");
        }
        let public_url = env.optional("SENTORI_PUBLIC_URL").unwrap_or_else(|| "http://localhost:8000".into());
        let artifacts = crate::artifacts::ArtifactConfig::read(&mut env);
        let attachment_dir = env.optional("SENTORI_ATTACHMENT_DIR").filter(|d| !d.is_empty()).map(Into::into);
        let trusted_proxies = sentori_runtime::client_addr::trusted_proxies(&mut env);
        env.finish()?;
        Ok(Self { addr, store, dev_token, admin_password, session_secret, public_url, artifacts, attachment_dir, trusted_proxies })
    }
}
