//! Connecting the account: amoCRM's OAuth2 consent (the admin enters the
//! integration's keys, is sent to amoCRM, and comes back with a code we
//! exchange), or a long-lived token pasted in. Keys and tokens are
//! encrypted at rest and never leave the server.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;

use super::api::{self, Api, TokenAnswer};
use super::log::{self, Direction};
use super::AmoSettings;
use crate::accounts::FieldError;
use crate::crypto::{random_token, Cipher};
use crate::integrations::IntegrationError;
use crate::rbac::{self, SettingsOp};
use crate::realtime::{self, Event};
use crate::{audit, Actor};

/// The connection as the settings page shows it (no keys, no tokens).
#[derive(Debug, Clone, Serialize)]
pub struct Connection {
    pub subdomain: String,
    /// `oauth` or `long_lived`.
    pub mode: String,
    /// `pending`, `active`, `reauth` or `blocked`.
    pub status: String,
    pub problem: String,
    pub account_name: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub connected_by: String,
    pub connected_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When amoCRM was last given our webhook address.
    pub webhooks_at: Option<DateTime<Utc>>,
    pub pulled_at: Option<DateTime<Utc>>,
    pub reconciled_at: Option<DateTime<Utc>>,
    /// Our changes waiting to go out, and those given up.
    pub outbox_pending: i64,
    pub outbox_failed: i64,
    /// Their webhooks not processed yet.
    pub inbox_pending: i64,
}

/// The integration's keys from amoCRM's «Интеграции» page.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OAuthInput {
    pub subdomain: String,
    pub client_id: String,
    /// Empty: keep the one saved before (same client id).
    #[serde(default)]
    pub client_secret: String,
    pub redirect_uri: String,
}

/// The connection, if any (settings:edit).
pub async fn connection(pool: &PgPool, actor: &Actor) -> Result<Option<Connection>, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    Ok(sqlx::query_as!(
        Connection,
        r#"select c.subdomain, c.mode, c.status, c.problem, c.account_name, c.client_id, c.redirect_uri,
                  coalesce(u.full_name, '') as "connected_by!", c.connected_at as "connected_at: DateTime<Utc>",
                  c.expires_at as "expires_at: DateTime<Utc>",
                  c.webhook_registered_at as "webhooks_at: DateTime<Utc>", c.pulled_at as "pulled_at: DateTime<Utc>",
                  c.reconciled_at as "reconciled_at: DateTime<Utc>",
                  (select count(*) from amocrm_outbox where state = 'pending') as "outbox_pending!",
                  (select count(*) from amocrm_outbox where state = 'failed') as "outbox_failed!",
                  (select count(*) from amocrm_inbox where state = 'pending') as "inbox_pending!"
           from amocrm_connection c left join users u on u.id = c.connected_by"#
    )
    .fetch_optional(pool)
    .await?)
}

/// `makbank`, from `makbank`, `makbank.amocrm.ru` or a pasted address.
fn subdomain(raw: &str) -> Result<String, IntegrationError> {
    let s = raw.trim().to_lowercase();
    let s = s
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .split(['.', '/'])
        .next()
        .unwrap_or_default()
        .to_string();
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.starts_with('-');
    if ok {
        Ok(s)
    } else {
        Err(IntegrationError::field(
            "subdomain",
            "Укажите поддомен аккаунта amoCRM: латиница, цифры и дефис (например, makbank)",
        ))
    }
}

/// Saves the keys and returns the address of amoCRM's consent page; the
/// browser goes there and comes back to [`finish_oauth`].
pub async fn begin_oauth(
    pool: &PgPool,
    cipher: &Cipher,
    settings: &AmoSettings,
    actor: &Actor,
    input: OAuthInput,
) -> Result<String, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let mut errors = vec![];
    let sub = subdomain(&input.subdomain)
        .map_err(|e| errors.extend(take_fields(e)))
        .ok();
    let client_id = input.client_id.trim().to_string();
    if client_id.is_empty() || client_id.len() > 200 {
        errors.push(FieldError::new("client_id", "Укажите ID интеграции из amoCRM"));
    }
    let redirect = input.redirect_uri.trim().to_string();
    if !(redirect.starts_with("https://") || redirect.starts_with("http://")) || url::Url::parse(&redirect).is_err() {
        errors.push(FieldError::new(
            "redirect_uri",
            "Укажите адрес перенаправления — тот же, что в настройках интеграции amoCRM",
        ));
    }
    let secret = input.client_secret.trim().to_string();
    let kept = sqlx::query_scalar!(
        "select client_secret from amocrm_connection where client_id = $1",
        client_id
    )
    .fetch_optional(pool)
    .await?
    .flatten();
    if secret.is_empty() && kept.is_none() {
        errors.push(FieldError::new("client_secret", "Укажите секретный ключ интеграции"));
    }
    if !errors.is_empty() {
        return Err(IntegrationError::Validation(errors));
    }
    let sub = sub.unwrap_or_default();
    let secret = if secret.is_empty() {
        kept
    } else {
        Some(cipher.encrypt(secret.as_bytes()))
    };
    let state = random_token("");
    let mut tx = pool.begin().await?;
    // A working connection keeps working until the new consent comes back.
    sqlx::query!(
        "insert into amocrm_connection (subdomain, mode, client_id, client_secret, redirect_uri, oauth_state, status)
         values ($1, 'oauth', $2, $3, $4, $5, 'pending')
         on conflict (id) do update set subdomain = excluded.subdomain, client_id = excluded.client_id,
             client_secret = excluded.client_secret, redirect_uri = excluded.redirect_uri,
             oauth_state = excluded.oauth_state, updated_at = now(),
             status = case when amocrm_connection.status = 'active' and amocrm_connection.subdomain = excluded.subdomain
                           then 'active' else 'pending' end",
        sub,
        client_id,
        secret,
        redirect,
        state
    )
    .execute(&mut *tx)
    .await?;
    log::write(
        &mut tx,
        Direction::System,
        "connect.start",
        "ok",
        &format!("{sub} · OAuth"),
    )
    .await?;
    realtime::publish(&mut tx, &Event::AmoCrmChanged).await?;
    tx.commit().await?;
    let mut url = url::Url::parse(&settings.oauth_url)
        .map_err(|_| IntegrationError::AmoCrm("неверный адрес страницы согласия (AMOCRM_OAUTH_URL)".into()))?;
    url.query_pairs_mut()
        .append_pair("client_id", &client_id)
        .append_pair("state", &state)
        .append_pair("mode", "post_message")
        .append_pair("redirect_uri", &redirect);
    Ok(url.to_string())
}

fn take_fields(e: IntegrationError) -> Vec<FieldError> {
    match e {
        IntegrationError::Validation(f) => f,
        _ => vec![],
    }
}

/// What amoCRM put on the redirect back.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OAuthReturn {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub state: String,
    /// The account's host (`makbank.amocrm.ru`): the account the person
    /// actually consented in.
    #[serde(default)]
    pub referer: String,
    /// Set when the person refused.
    #[serde(default)]
    pub error: String,
}

/// Exchanges the code amoCRM sent back for tokens and reads the account's
/// name: the connection is active.
pub async fn finish_oauth(
    pool: &PgPool,
    cipher: &Cipher,
    settings: &AmoSettings,
    actor: &Actor,
    back: OAuthReturn,
) -> Result<(), IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    if !back.error.is_empty() {
        return Err(IntegrationError::field("code", "В amoCRM доступ не разрешили"));
    }
    let row = sqlx::query!(
        "select subdomain, client_id, client_secret, redirect_uri, oauth_state from amocrm_connection where mode = 'oauth'"
    )
    .fetch_optional(pool)
    .await?
    .ok_or(IntegrationError::NotConnected)?;
    let expected = row.oauth_state.unwrap_or_default();
    if back.code.is_empty() || expected.is_empty() || !constant_eq(&expected, &back.state) {
        return Err(IntegrationError::field(
            "code",
            "Ссылка подтверждения устарела или чужая — начните подключение заново",
        ));
    }
    let sub = if back.referer.is_empty() {
        row.subdomain.clone()
    } else {
        subdomain(&back.referer)?
    };
    let answer = api::token_request(
        settings,
        &sub,
        json!({
            "client_id": row.client_id,
            "client_secret": api::decrypt(cipher, row.client_secret.as_deref())?,
            "grant_type": "authorization_code",
            "code": back.code,
            "redirect_uri": row.redirect_uri,
        }),
    )
    .await?;
    let tokens = match answer {
        TokenAnswer::Ok(t) => t,
        TokenAnswer::Refused(why) => {
            let mut tx = pool.begin().await?;
            log::write(&mut tx, Direction::System, "connect.finish", "error", &why).await?;
            tx.commit().await?;
            return Err(IntegrationError::field(
                "code",
                "amoCRM не принял код подтверждения: проверьте ID, секретный ключ и адрес перенаправления интеграции",
            ));
        }
    };
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "update amocrm_connection set subdomain = $1, access_token = $2, refresh_token = $3,
                expires_at = now() + make_interval(secs => $4), oauth_state = null, status = 'active', problem = '',
                connected_by = $5, connected_at = now(), updated_at = now()",
        sub,
        cipher.encrypt(tokens.access.as_bytes()),
        cipher.encrypt(tokens.refresh.as_bytes()),
        tokens.expires_in as f64,
        actor.user_id
    )
    .execute(&mut *tx)
    .await?;
    record_connect(&mut tx, actor, &sub, "oauth", "connect.finish").await?;
    tx.commit().await?;
    read_account_name(pool, cipher, settings).await?;
    subscribe_after_connect(pool, cipher, settings).await;
    Ok(())
}

/// Gives amoCRM our webhook address; a failure is logged (the pull still
/// catches changes, and the settings page can subscribe again).
async fn subscribe_after_connect(pool: &PgPool, cipher: &Cipher, settings: &AmoSettings) {
    if settings.public_url.is_empty() {
        return;
    }
    if let Err(e) = super::inbox::subscribe(pool, cipher, settings).await {
        tracing::warn!(error = %e, "amoCRM webhooks not subscribed");
        if let Ok(mut tx) = pool.begin().await {
            let _ = log::write(&mut tx, Direction::Out, "webhooks.subscribe", "error", &e.to_string()).await;
            let _ = tx.commit().await;
        }
    }
}

/// Compares without stopping at the first difference.
fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Connects with a long-lived token (a private integration's): checked
/// against the account before it is saved.
pub async fn connect_long_lived(
    pool: &PgPool,
    cipher: &Cipher,
    settings: &AmoSettings,
    actor: &Actor,
    subdomain_input: &str,
    token: &str,
) -> Result<(), IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let sub = subdomain(subdomain_input)?;
    let token = token.trim();
    if token.is_empty() || token.len() > 4000 || token.chars().any(char::is_whitespace) {
        return Err(IntegrationError::field(
            "token",
            "Вставьте долгосрочный токен из настроек интеграции",
        ));
    }
    api::take_slot(pool).await?;
    let res = api::http(settings.timeout)
        .get(format!("{}/api/v4/account", api::base_url(settings, &sub)))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| IntegrationError::AmoCrm(e.without_url().to_string()))?;
    let status = res.status().as_u16();
    if matches!(status, 401 | 403) {
        return Err(IntegrationError::field(
            "token",
            "amoCRM не принял токен: проверьте токен и поддомен",
        ));
    }
    if !res.status().is_success() {
        return Err(IntegrationError::AmoCrm(format!("HTTP {status}")));
    }
    let account: serde_json::Value = res.json().await.unwrap_or_default();
    let name = account["name"].as_str().unwrap_or_default().to_string();
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "insert into amocrm_connection (subdomain, mode, access_token, status, account_name, connected_by, connected_at)
         values ($1, 'long_lived', $2, 'active', $3, $4, now())
         on conflict (id) do update set subdomain = excluded.subdomain, mode = 'long_lived',
             access_token = excluded.access_token, refresh_token = null, expires_at = null, oauth_state = null,
             status = 'active', problem = '', account_name = excluded.account_name,
             connected_by = excluded.connected_by, connected_at = now(), updated_at = now()",
        sub,
        cipher.encrypt(token.as_bytes()),
        name,
        actor.user_id
    )
    .execute(&mut *tx)
    .await?;
    record_connect(&mut tx, actor, &sub, "long_lived", "connect.token").await?;
    tx.commit().await?;
    subscribe_after_connect(pool, cipher, settings).await;
    Ok(())
}

/// What both ways of connecting record, in the connecting transaction: the
/// audit entry, the sync log's line and the page's refresh.
async fn record_connect(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    actor: &Actor,
    sub: &str,
    mode: &str,
    operation: &str,
) -> Result<(), IntegrationError> {
    audit::record(
        tx,
        Some(actor),
        "amocrm",
        sub,
        "connect",
        None,
        Some(json!({ "subdomain": sub, "mode": mode })),
    )
    .await?;
    log::write(tx, Direction::System, operation, "ok", sub).await?;
    realtime::publish(tx, &Event::AmoCrmChanged).await?;
    Ok(())
}

async fn read_account_name(pool: &PgPool, cipher: &Cipher, settings: &AmoSettings) -> Result<(), IntegrationError> {
    let mut api = Api::open(pool, cipher, settings).await?;
    let account = api.get("/api/v4/account", &[]).await?.unwrap_or_default();
    let name = account["name"].as_str().unwrap_or_default();
    sqlx::query!("update amocrm_connection set account_name = $1", name)
        .execute(pool)
        .await?;
    Ok(())
}

/// Forgets the connection (keys and tokens). The mapping and the links
/// stay, so connecting the same account again goes on where it was.
pub async fn disconnect(pool: &PgPool, actor: &Actor) -> Result<(), IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let mut tx = pool.begin().await?;
    let gone = sqlx::query_scalar!("delete from amocrm_connection returning subdomain")
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(IntegrationError::NotConnected)?;
    sqlx::query!(
        "update amocrm_imports set status = 'cancelled', finished_at = now(), error = 'интеграция отключена'
         where status = 'running'"
    )
    .execute(&mut *tx)
    .await?;
    audit::record(&mut tx, Some(actor), "amocrm", &gone, "disconnect", None, None).await?;
    log::write(&mut tx, Direction::System, "disconnect", "ok", &gone).await?;
    realtime::publish(&mut tx, &Event::AmoCrmChanged).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subdomain_is_read_from_what_people_paste() {
        assert_eq!(subdomain("makbank").unwrap(), "makbank");
        assert_eq!(subdomain(" MakBank.amocrm.ru ").unwrap(), "makbank");
        assert_eq!(subdomain("https://makbank.amocrm.ru/leads").unwrap(), "makbank");
        assert!(subdomain("").is_err());
        assert!(subdomain("мак").is_err());
        assert!(subdomain("-x").is_err());
    }
}
