//! Typed, env-first configuration (`.env` is read too). Secrets are wrapped
//! so they never print.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// amoCRM's API (`AMOCRM_BASE_URL`, `{subdomain}` replaced by the
    /// account's; default `https://{subdomain}.amocrm.ru`) and its consent
    /// page (`AMOCRM_OAUTH_URL`, default `https://www.amocrm.ru/oauth`).
    pub amocrm_base_url: String,
    pub amocrm_oauth_url: String,
    pub secret_key: SecretString,
    pub site_root: String,
    pub output_name: String,
    pub trust_proxy: bool,
    /// Requests a second one API token may make (`API_RATE_PER_SECOND`, 50),
    /// and how many at once after a pause (`API_RATE_BURST`, 100).
    pub api_rate_per_second: f64,
    pub api_rate_burst: f64,
    pub db_max_connections: u32,
    pub oauth: Vec<OAuthProviderConfig>,
    /// S3-compatible file storage (lead files); `None` when `S3_ENDPOINT` is unset.
    pub s3: Option<S3Config>,
    /// How the background workers run.
    pub workers: WorkerSettings,
    /// Sales outreach from Telegram user accounts.
    pub outreach: OutreachConfig,
}

/// How outreach reaches Telegram: `OUTREACH_TELEGRAM=fake` is the
/// in-process fake (tests, demos: nothing leaves the machine); otherwise
/// MTProto with `TELEGRAM_API_ID` and `TELEGRAM_API_HASH` (from
/// my.telegram.org), or nothing when they are unset.
#[derive(Clone, Debug)]
pub enum OutreachTelegram {
    Unconfigured,
    Fake,
    Mtproto { api_id: i32, api_hash: SecretString },
}

#[derive(Clone, Debug)]
pub struct OutreachConfig {
    pub telegram: OutreachTelegram,
    /// New accounts' cap (`MAX_DAILY_MESSAGES`, 20) and delay
    /// (`MIN_MESSAGE_DELAY`, 30 s).
    pub settings: domain::outreach::OutreachSettings,
    /// The admin bot's token (`OUTREACH_BOT_TOKEN`).
    pub bot_token: Option<SecretString>,
    /// Telegram ids the admin bot answers (`ADMIN_TELEGRAM_ID`, comma-separated).
    pub admin_ids: Vec<i64>,
}

impl OutreachConfig {
    fn from_env() -> Result<Self, ConfigError> {
        let invalid = |name: &str, reason: &str| ConfigError::Invalid {
            name: name.into(),
            reason: reason.into(),
        };
        let telegram = if var("OUTREACH_TELEGRAM").as_deref() == Some("fake") {
            OutreachTelegram::Fake
        } else {
            match (var("TELEGRAM_API_ID"), var("TELEGRAM_API_HASH")) {
                (Some(id), Some(hash)) => OutreachTelegram::Mtproto {
                    api_id: id
                        .trim()
                        .parse()
                        .map_err(|_| invalid("TELEGRAM_API_ID", "not a number"))?,
                    api_hash: hash.into(),
                },
                (None, None) => OutreachTelegram::Unconfigured,
                _ => {
                    return Err(invalid(
                        "TELEGRAM_API_ID",
                        "set both TELEGRAM_API_ID and TELEGRAM_API_HASH",
                    ))
                }
            }
        };
        let d = domain::outreach::OutreachSettings::default();
        let settings = domain::outreach::OutreachSettings {
            daily_cap: num("MAX_DAILY_MESSAGES", d.daily_cap)?,
            min_delay_s: num("MIN_MESSAGE_DELAY", d.min_delay_s)?,
            ..d
        };
        if !(1..=1000).contains(&settings.daily_cap) {
            return Err(invalid("MAX_DAILY_MESSAGES", "from 1 to 1000"));
        }
        let settings = match var("OUTREACH_REPLY_PAUSE") {
            None => settings,
            Some(v) => {
                let bad = || invalid("OUTREACH_REPLY_PAUSE", "seconds as FROM-TO, e.g. 20-90");
                let (a, b) = v.split_once('-').ok_or_else(bad)?;
                let (a, b): (u32, u32) = (
                    a.trim().parse().map_err(|_| bad())?,
                    b.trim().parse().map_err(|_| bad())?,
                );
                if a > b || b > 3600 {
                    return Err(bad());
                }
                domain::outreach::OutreachSettings {
                    reply_pause_s: (a, b),
                    ..settings
                }
            }
        };
        if !(1..=86_400).contains(&settings.min_delay_s) {
            return Err(invalid("MIN_MESSAGE_DELAY", "from 1 to 86400 seconds"));
        }
        let admin_ids = match var("ADMIN_TELEGRAM_ID") {
            None => vec![],
            Some(v) => v
                .split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse()
                        .map_err(|_| invalid("ADMIN_TELEGRAM_ID", "Telegram ids, comma-separated"))
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Self {
            telegram,
            settings,
            bot_token: var("OUTREACH_BOT_TOKEN").map(Into::into),
            admin_ids,
        })
    }
}

/// The background workers' settings (see `workers.rs`).
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// How often due task reminders are looked for (`REMINDER_INTERVAL_MS`, 2 s).
    pub reminder_interval: Duration,
    /// Telegram update processors (`TELEGRAM_WORKERS`, default one more than
    /// the cores: more only compete for the same rows and cores — measured:
    /// 8 on 2 cores gave 2,500 updates/s, 3 gave 2,950–3,100).
    pub telegram_processors: usize,
    /// Telegram senders (`TELEGRAM_SENDERS`, 2).
    pub telegram_senders: usize,
    /// At most one message per chat per this (`TELEGRAM_CHAT_INTERVAL_MS`, 1 s).
    pub telegram_chat_interval: Duration,
    /// Messages per second per bot from this instance (`TELEGRAM_BOT_RATE`, 30).
    pub telegram_bot_rate: f64,
    /// Long-polling timeout in seconds (`TELEGRAM_POLL_TIMEOUT`, 25).
    pub telegram_poll_timeout: u32,
    /// How long a webhook receiver may take to answer (`WEBHOOK_TIMEOUT_MS`, 10 s).
    pub webhook_timeout: Duration,
    /// The outreach worker runs in this process (`OUTREACH_IN_SERVE`, true;
    /// false when `mak-crm outreach` runs it apart).
    pub outreach: bool,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Self {
            reminder_interval: Duration::from_secs(2),
            telegram_processors: cores + 1,
            telegram_senders: 2,
            telegram_chat_interval: Duration::from_secs(1),
            telegram_bot_rate: 30.0,
            telegram_poll_timeout: 25,
            webhook_timeout: Duration::from_secs(10),
            outreach: true,
        }
    }
}

impl WorkerSettings {
    fn from_env() -> Result<Self, ConfigError> {
        let d = Self::default();
        Ok(Self {
            reminder_interval: Duration::from_millis(num(
                "REMINDER_INTERVAL_MS",
                d.reminder_interval.as_millis() as u64,
            )?),
            telegram_processors: num("TELEGRAM_WORKERS", d.telegram_processors)?,
            telegram_senders: num("TELEGRAM_SENDERS", d.telegram_senders)?,
            telegram_chat_interval: Duration::from_millis(num(
                "TELEGRAM_CHAT_INTERVAL_MS",
                d.telegram_chat_interval.as_millis() as u64,
            )?),
            telegram_bot_rate: num("TELEGRAM_BOT_RATE", d.telegram_bot_rate)?,
            telegram_poll_timeout: num("TELEGRAM_POLL_TIMEOUT", d.telegram_poll_timeout)?,
            webhook_timeout: Duration::from_millis(num("WEBHOOK_TIMEOUT_MS", d.webhook_timeout.as_millis() as u64)?),
            outreach: num("OUTREACH_IN_SERVE", d.outreach)?,
        })
    }
}

/// A number from the environment, or `default` when unset; a value that is
/// not a number stops the start with its name.
fn num<T: std::str::FromStr>(name: &str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
            name: name.into(),
            reason: e.to_string(),
        }),
    }
}

/// A file the logs go to besides stderr (`LOG_FILE`), appended to.
pub fn log_file() -> Option<PathBuf> {
    var("LOG_FILE").map(PathBuf::from)
}

/// Logs as JSON lines (`LOG_FORMAT=json`) instead of readable text. Read
/// before the rest of the configuration, so that its errors are logged.
pub fn log_json() -> bool {
    var("LOG_FORMAT").as_deref() == Some("json")
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
        let amocrm_default = domain::integrations::amocrm::AmoSettings::default();
        let amocrm_base_url = var("AMOCRM_BASE_URL").unwrap_or(amocrm_default.base_url);
        let amocrm_oauth_url = var("AMOCRM_OAUTH_URL").unwrap_or(amocrm_default.oauth_url);
        for (name, value) in [
            ("AMOCRM_BASE_URL", &amocrm_base_url),
            ("AMOCRM_OAUTH_URL", &amocrm_oauth_url),
        ] {
            url::Url::parse(&value.replace("{subdomain}", "x")).map_err(|e| ConfigError::Invalid {
                name: name.into(),
                reason: e.to_string(),
            })?;
        }
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
            amocrm_base_url,
            amocrm_oauth_url,
            secret_key: secret_key.into(),
            site_root: var("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into()),
            output_name: var("LEPTOS_OUTPUT_NAME").unwrap_or_else(|| "mak-crm".into()),
            trust_proxy: var("TRUST_PROXY").as_deref() == Some("true"),
            api_rate_per_second: num("API_RATE_PER_SECOND", 50.0)?,
            api_rate_burst: num("API_RATE_BURST", 100.0)?,
            db_max_connections: num("DB_MAX_CONNECTIONS", 20)?,
            workers: WorkerSettings::from_env()?,
            outreach: OutreachConfig::from_env()?,
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
