//! Talking to the account: every request waits for its turn in the shared
//! pace (7 a second to one account, whichever instance asks), a 429 waits and
//! tries again, a 401 refreshes the token once — refreshes take turns under
//! the connection's row lock, since amoCRM's refresh tokens rotate — and
//! then flags the connection, a 403 flags it as blocked and stops.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::PgPool;

use super::log::{self, Direction};
use super::AmoSettings;
use crate::crypto::Cipher;
use crate::integrations::IntegrationError;
use crate::realtime::{self, Event};

/// At most this many requests to the account…
pub const PER_WINDOW: i32 = 7;
/// …within this many seconds: amoCRM's second, and 30 ms for the way there
/// (a request recorded here arrives a few milliseconds later).
pub const WINDOW_SECONDS: f64 = 1.03;

/// Times a request is retried after a 429 or a failure on the way.
const RETRIES: u32 = 6;
/// A token closer than this to its end is refreshed before use.
const REFRESH_AHEAD_SECONDS: i64 = 300;

/// A connection in this state may be used; otherwise why not.
pub(crate) fn usable(status: &str) -> Result<(), IntegrationError> {
    match status {
        "active" => Ok(()),
        "reauth" => Err(IntegrationError::AmoReauth),
        "blocked" => Err(IntegrationError::AmoBlocked),
        _ => Err(IntegrationError::NotConnected),
    }
}

pub(crate) fn http(timeout: Duration) -> reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(5)))
                .user_agent(concat!("MaK-CRM/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("the amoCRM HTTP client builds")
        })
        .clone()
}

/// Waits until a request to the account may go, across every instance: the
/// last `PER_WINDOW` sending times are kept in one row, and a request goes
/// only when the oldest of them is a window old — so no second anywhere
/// sees an eighth request, however late one of them went out.
pub(crate) async fn take_slot(pool: &PgPool) -> Result<(), sqlx::Error> {
    loop {
        let wait: f64 = sqlx::query_scalar!(
            r#"with old as (select recent from amocrm_pace for update),
                    decide as (
                        select recent, cardinality(recent) < $2
                                       or clock_timestamp() - recent[1] >= make_interval(secs => $1) as go
                        from old),
                    taken as (
                        update amocrm_pace p
                        set recent = (d.recent || clock_timestamp())[greatest(1, cardinality(d.recent) + 2 - $2):]
                        from decide d where d.go returning 1)
               select case when go then 0
                           else extract(epoch from recent[1] + make_interval(secs => $1) - clock_timestamp())::float8
                      end as "wait!"
               from decide"#,
            WINDOW_SECONDS,
            PER_WINDOW
        )
        .fetch_one(pool)
        .await?;
        if wait <= 0.0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs_f64(wait.min(WINDOW_SECONDS))).await;
    }
}

/// The account's API base, e.g. `https://makbank.amocrm.ru`.
pub(crate) fn base_url(settings: &AmoSettings, subdomain: &str) -> String {
    settings
        .base_url
        .replace("{subdomain}", subdomain)
        .trim_end_matches('/')
        .to_string()
}

/// What amoCRM's token endpoint gave.
pub(crate) struct Tokens {
    pub access: String,
    pub refresh: String,
    pub expires_in: i64,
}

pub(crate) enum TokenAnswer {
    Ok(Tokens),
    /// The code or refresh token (or the integration's keys) were refused.
    Refused(String),
}

/// `POST /oauth2/access_token` with a code or a refresh token.
pub(crate) async fn token_request(
    settings: &AmoSettings,
    subdomain: &str,
    body: Value,
) -> Result<TokenAnswer, IntegrationError> {
    let url = format!("{}/oauth2/access_token", base_url(settings, subdomain));
    let res = http(settings.timeout)
        .post(&url)
        .json(&body)
        .send()
        .await
        .map_err(|e| IntegrationError::AmoCrm(without_url(e)))?;
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    if (200..300).contains(&status) {
        let v: Value = serde_json::from_str(&text).map_err(|_| IntegrationError::AmoCrm("ответ без токенов".into()))?;
        let access = v["access_token"].as_str().unwrap_or_default().to_string();
        if access.is_empty() {
            return Err(IntegrationError::AmoCrm("ответ без токенов".into()));
        }
        return Ok(TokenAnswer::Ok(Tokens {
            access,
            refresh: v["refresh_token"].as_str().unwrap_or_default().to_string(),
            expires_in: v["expires_in"].as_i64().unwrap_or(86_400),
        }));
    }
    if matches!(status, 400 | 401 | 403) {
        return Ok(TokenAnswer::Refused(problem_text(status, &text)));
    }
    Err(IntegrationError::AmoCrm(problem_text(status, &text)))
}

/// A reqwest error's text without the URL (it may carry a query).
fn without_url(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "нет ответа (таймаут)".into()
    } else if e.is_connect() {
        "не удалось соединиться".into()
    } else {
        e.without_url().to_string()
    }
}

/// amoCRM's problem body (`title`, `detail`, `hint`) in one line.
fn problem_text(status: u16, body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let parts: Vec<&str> = ["title", "detail", "hint"]
        .iter()
        .filter_map(|k| v[*k].as_str())
        .filter(|s| !s.is_empty())
        .collect();
    let mut out = if parts.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {}", parts.join(" — "))
    };
    if let Some(errors) = v["validation-errors"].as_array().filter(|a| !a.is_empty()) {
        out.push_str(&format!(" {}", Value::Array(errors.clone())));
    }
    out.chars().take(500).collect()
}

/// A session with the account: the current token, and what it did.
pub(crate) struct Api<'a> {
    pool: &'a PgPool,
    cipher: &'a Cipher,
    settings: &'a AmoSettings,
    base: String,
    token: String,
    oauth: bool,
    /// Requests sent (each 429 and retry counted).
    pub requests: u64,
}

impl<'a> Api<'a> {
    /// Opens a session with the connected account, refreshing the token
    /// first when it is about to end.
    pub async fn open(
        pool: &'a PgPool,
        cipher: &'a Cipher,
        settings: &'a AmoSettings,
    ) -> Result<Self, IntegrationError> {
        let row = sqlx::query!(
            r#"select subdomain, mode, status, access_token, (expires_at < now() + make_interval(secs => $1)) as "ending?"
               from amocrm_connection"#,
            REFRESH_AHEAD_SECONDS as f64
        )
        .fetch_optional(pool)
        .await?
        .ok_or(IntegrationError::NotConnected)?;
        usable(&row.status)?;
        let token = decrypt(cipher, row.access_token.as_deref())?;
        let mut api = Self {
            pool,
            cipher,
            settings,
            base: base_url(settings, &row.subdomain),
            token,
            oauth: row.mode == "oauth",
            requests: 0,
        };
        if api.oauth && row.ending == Some(true) {
            api.token = refresh(pool, cipher, settings, &api.token).await?;
        }
        Ok(api)
    }

    /// A GET; `None` for amoCRM's 204 (an empty page).
    pub async fn get(&mut self, path: &str, query: &[(String, String)]) -> Result<Option<Value>, IntegrationError> {
        self.call(reqwest::Method::GET, path, query, None).await
    }

    /// A POST or PATCH with a JSON body.
    pub async fn send(&mut self, method: reqwest::Method, path: &str, body: &Value) -> Result<Value, IntegrationError> {
        Ok(self.call(method, path, &[], Some(body)).await?.unwrap_or(Value::Null))
    }

    async fn call(
        &mut self,
        method: reqwest::Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Option<Value>, IntegrationError> {
        let url = format!("{}{path}", self.base);
        let mut refreshed = false;
        let mut tries = 0;
        loop {
            take_slot(self.pool).await?;
            self.requests += 1;
            let mut req = http(self.settings.timeout)
                .request(method.clone(), &url)
                .query(query)
                .bearer_auth(&self.token);
            if let Some(b) = body {
                req = req.json(b);
            }
            let res = match req.send().await {
                Ok(r) => r,
                Err(e) if tries < RETRIES => {
                    tries += 1;
                    tracing::warn!(error = %without_url(e), "amoCRM request failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1 << tries.min(4))).await;
                    continue;
                }
                Err(e) => return Err(IntegrationError::AmoCrm(without_url(e))),
            };
            let status = res.status().as_u16();
            match status {
                204 => return Ok(None),
                200..=299 => {
                    let text = res.text().await.map_err(|e| IntegrationError::AmoCrm(without_url(e)))?;
                    if text.trim().is_empty() {
                        return Ok(None);
                    }
                    return serde_json::from_str(&text)
                        .map(Some)
                        .map_err(|_| IntegrationError::AmoCrm("ответ не в формате JSON".into()));
                }
                429 if tries < RETRIES => {
                    tries += 1;
                    let wait = res
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(1);
                    tokio::time::sleep(Duration::from_secs(wait.clamp(1, 30))).await;
                }
                401 if self.oauth && !refreshed => {
                    refreshed = true;
                    self.token = refresh(self.pool, self.cipher, self.settings, &self.token).await?;
                }
                401 => {
                    let text = res.text().await.unwrap_or_default();
                    flag(self.pool, "reauth", &problem_text(401, &text)).await?;
                    return Err(IntegrationError::AmoReauth);
                }
                403 => {
                    let text = res.text().await.unwrap_or_default();
                    flag(self.pool, "blocked", &problem_text(403, &text)).await?;
                    return Err(IntegrationError::AmoBlocked);
                }
                500..=599 if tries < RETRIES => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_secs(1 << tries.min(4))).await;
                }
                _ => {
                    let text = res.text().await.unwrap_or_default();
                    return Err(IntegrationError::AmoCrm(problem_text(status, &text)));
                }
            }
        }
    }
}

pub(crate) fn decrypt(cipher: &Cipher, data: Option<&[u8]>) -> Result<String, IntegrationError> {
    let data = data.ok_or(IntegrationError::NotConnected)?;
    cipher
        .decrypt(data)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|_| IntegrationError::AmoCrm("токен не расшифровывается ключом приложения".into()))
}

/// Refreshes the access token, one refresh at a time across instances: the
/// connection's row is locked for the exchange, and whoever waited finds
/// the token already new and takes it. A refused refresh flags the
/// connection (someone must connect again) instead of trying forever.
pub(crate) async fn refresh(
    pool: &PgPool,
    cipher: &Cipher,
    settings: &AmoSettings,
    seen: &str,
) -> Result<String, IntegrationError> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        r#"select subdomain, client_id, client_secret, redirect_uri, access_token, refresh_token, status,
                  (expires_at > now() + make_interval(secs => $1)) as "fresh?"
           from amocrm_connection for update"#,
        REFRESH_AHEAD_SECONDS as f64
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(IntegrationError::NotConnected)?;
    if row.status != "active" {
        return Err(IntegrationError::AmoReauth);
    }
    let current = decrypt(cipher, row.access_token.as_deref())?;
    if current != seen && row.fresh == Some(true) {
        // Another instance refreshed while we waited for the lock.
        return Ok(current);
    }
    let answer = token_request(
        settings,
        &row.subdomain,
        json!({
            "client_id": row.client_id,
            "client_secret": decrypt(cipher, row.client_secret.as_deref())?,
            "grant_type": "refresh_token",
            "refresh_token": decrypt(cipher, row.refresh_token.as_deref())?,
            "redirect_uri": row.redirect_uri,
        }),
    )
    .await?;
    match answer {
        TokenAnswer::Ok(t) => {
            sqlx::query!(
                "update amocrm_connection set access_token = $1, refresh_token = $2,
                        expires_at = now() + make_interval(secs => $3), updated_at = now()",
                cipher.encrypt(t.access.as_bytes()),
                cipher.encrypt(t.refresh.as_bytes()),
                t.expires_in as f64
            )
            .execute(&mut *tx)
            .await?;
            log::write(&mut tx, Direction::System, "token.refresh", "ok", "").await?;
            tx.commit().await?;
            Ok(t.access)
        }
        TokenAnswer::Refused(why) => {
            set_flag(&mut tx, "reauth", &why).await?;
            tx.commit().await?;
            Err(IntegrationError::AmoReauth)
        }
    }
}

/// Marks the connection as needing a person (reauth / blocked), logs it and
/// rings whoever connected it — once, when the state changes.
async fn flag(pool: &PgPool, status: &str, why: &str) -> Result<(), IntegrationError> {
    let mut tx = pool.begin().await?;
    set_flag(&mut tx, status, why).await?;
    tx.commit().await?;
    Ok(())
}

async fn set_flag(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, status: &str, why: &str) -> Result<(), sqlx::Error> {
    let changed = sqlx::query!(
        "update amocrm_connection set status = $1, problem = $2, updated_at = now()
         where status = 'active' returning connected_by",
        status,
        why
    )
    .fetch_optional(&mut **tx)
    .await?;
    let op = if status == "blocked" {
        "account.blocked"
    } else {
        "token.refused"
    };
    log::write(tx, Direction::System, op, "error", why).await?;
    if let Some(Some(user)) = changed.map(|c| c.connected_by) {
        let title = if status == "blocked" {
            "amoCRM закрыл доступ к аккаунту"
        } else {
            "amoCRM: нужно подключить интеграцию заново"
        };
        crate::notifications::notify(tx, user, title, why, Some("/settings/amocrm")).await?;
    }
    realtime::publish(tx, &Event::AmoCrmChanged).await
}
