//! Typed, env-first configuration (`.env` is read too). Secrets are wrapped
//! so they never print.

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

#[derive(Clone, Debug)]
pub struct OAuthProviderConfig {
    pub id: String,
    pub label: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub auth_url: String,
    pub token_url: String,
    pub userinfo_url: String,
    pub scopes: Vec<String>,
    /// The provider only hands out verified addresses (Yandex ID).
    pub emails_verified_by_default: bool,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: SecretString,
    pub addr: SocketAddr,
    pub public_url: String,
    /// `PUBLIC_URL` was given: bots get webhooks at it (otherwise long polling).
    pub telegram_webhooks: bool,
    /// The Bot API (`TELEGRAM_API_URL`, default the real one).
    pub telegram_api_url: String,
    pub secret_key: SecretString,
    pub log_json: bool,
    pub site_root: String,
    pub output_name: String,
    pub trust_proxy: bool,
    pub db_max_connections: u32,
    pub oauth: Vec<OAuthProviderConfig>,
    /// S3-compatible file storage (lead files); `None` when `S3_ENDPOINT` is unset.
    pub s3: Option<S3Config>,
}

/// Where lead files go. The secret key never reaches a log (`Debug` hides it).
#[derive(Clone)]
pub struct S3Config {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: SecretString,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    /// Reads the environment. `SECRET_KEY` falls back to a key generated
    /// once into `DATA_DIR/secret_key` (default `./.data`).
    pub fn from_env() -> Result<Self, ConfigError> {
        let database_url = var("DATABASE_URL").ok_or(ConfigError::Missing("DATABASE_URL"))?;
        let host = var("HOST").unwrap_or_else(|| "127.0.0.1".into());
        let port = var("PORT").unwrap_or_else(|| "3000".into());
        let addr: SocketAddr = format!("{host}:{port}").parse().map_err(|e| ConfigError::Invalid {
            name: "HOST/PORT".into(),
            reason: format!("{e}"),
        })?;
        let telegram_webhooks = var("PUBLIC_URL").is_some();
        let telegram_api_url = var("TELEGRAM_API_URL").unwrap_or_else(|| "https://api.telegram.org".into());
        url::Url::parse(&telegram_api_url).map_err(|e| ConfigError::Invalid {
            name: "TELEGRAM_API_URL".into(),
            reason: e.to_string(),
        })?;
        let public_url = var("PUBLIC_URL")
            .unwrap_or_else(|| format!("http://{addr}"))
            .trim_end_matches('/')
            .to_string();
        let secret_key = match var("SECRET_KEY") {
            Some(k) => k,
            None => local_secret_key()?,
        };
        domain::crypto::Cipher::from_encoded_key(&secret_key).map_err(|e| ConfigError::Invalid {
            name: "SECRET_KEY".into(),
            reason: e.to_string(),
        })?;
        let oauth = oauth_from_env(&public_url)?;
        Ok(Self {
            database_url: database_url.into(),
            addr,
            public_url,
            telegram_webhooks,
            telegram_api_url,
            secret_key: secret_key.into(),
            log_json: var("LOG_FORMAT").as_deref() == Some("json"),
            site_root: var("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into()),
            output_name: var("LEPTOS_OUTPUT_NAME").unwrap_or_else(|| "mak-crm".into()),
            trust_proxy: var("TRUST_PROXY").as_deref() == Some("true"),
            db_max_connections: var("DB_MAX_CONNECTIONS").and_then(|v| v.parse().ok()).unwrap_or(20),
            oauth,
            s3: match var("S3_ENDPOINT") {
                None => None,
                Some(endpoint) => Some(S3Config {
                    endpoint,
                    region: var("S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                    bucket: var("S3_BUCKET").unwrap_or_else(|| "mak-crm".into()),
                    access_key: var("S3_ACCESS_KEY").ok_or(ConfigError::Missing("S3_ACCESS_KEY"))?,
                    secret_key: var("S3_SECRET_KEY")
                        .ok_or(ConfigError::Missing("S3_SECRET_KEY"))?
                        .into(),
                }),
            },
        })
    }

    pub fn cookie_secure(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }
}

fn local_secret_key() -> Result<String, ConfigError> {
    let dir = PathBuf::from(var("DATA_DIR").unwrap_or_else(|| ".data".into()));
    let path = dir.join("secret_key");
    if let Ok(k) = std::fs::read_to_string(&path) {
        return Ok(k.trim().to_string());
    }
    let key = domain::crypto::Cipher::generate_encoded_key();
    std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(&path, &key))
        .map_err(|e| ConfigError::Invalid {
            name: "SECRET_KEY".into(),
            reason: format!("not set and {} can't be written: {e}", path.display()),
        })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    tracing::warn!(path = %path.display(), "SECRET_KEY not set: generated a local key");
    Ok(key)
}

/// `OAUTH_PROVIDERS=yandex,google,corp`; per provider `OAUTH_<ID>_CLIENT_ID`,
/// `_CLIENT_SECRET`, and (unless a preset covers them) `_AUTH_URL`,
/// `_TOKEN_URL`, `_USERINFO_URL`; optional `_LABEL`, `_SCOPES`.
fn oauth_from_env(_public_url: &str) -> Result<Vec<OAuthProviderConfig>, ConfigError> {
    let Some(list) = var("OAUTH_PROVIDERS") else {
        return Ok(vec![]);
    };
    let mut out = vec![];
    for id in list
        .split(',')
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
    {
        let key = |suffix: &str| format!("OAUTH_{}_{suffix}", id.to_uppercase());
        let preset: (&str, &str, &str, &str, &str, bool) = match id.as_str() {
            "yandex" => (
                "Яндекс ID",
                "https://oauth.yandex.ru/authorize",
                "https://oauth.yandex.ru/token",
                "https://login.yandex.ru/info?format=json",
                "login:email login:info",
                true,
            ),
            "google" => (
                "Google",
                "https://accounts.google.com/o/oauth2/v2/auth",
                "https://oauth2.googleapis.com/token",
                "https://openidconnect.googleapis.com/v1/userinfo",
                "openid email profile",
                false,
            ),
            _ => ("", "", "", "", "openid email profile", false),
        };
        let get = |suffix: &str, default: &str| -> Result<String, ConfigError> {
            var(&key(suffix))
                .or_else(|| (!default.is_empty()).then(|| default.to_string()))
                .ok_or_else(|| ConfigError::Invalid {
                    name: key(suffix),
                    reason: "required for this provider".into(),
                })
        };
        out.push(OAuthProviderConfig {
            label: get("LABEL", if preset.0.is_empty() { &id } else { preset.0 })?,
            client_id: get("CLIENT_ID", "")?,
            client_secret: get("CLIENT_SECRET", "")?.into(),
            auth_url: get("AUTH_URL", preset.1)?,
            token_url: get("TOKEN_URL", preset.2)?,
            userinfo_url: get("USERINFO_URL", preset.3)?,
            scopes: get("SCOPES", preset.4)?
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            emails_verified_by_default: var(&key("EMAILS_VERIFIED")).map(|v| v == "true").unwrap_or(preset.5),
            id,
        });
    }
    Ok(out)
}
