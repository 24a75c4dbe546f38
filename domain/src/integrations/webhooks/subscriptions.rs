//! Subscriptions: a URL, the events it hears and its signing secret
//! (encrypted at rest, shown once — at creation and at each rotation).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::is_event_type;
use crate::accounts::FieldError;
use crate::crypto::{random_token, Cipher};
use crate::integrations::IntegrationError;
use crate::rbac::{self, SettingsOp};
use crate::realtime::{self, Event};
use crate::{audit, Actor};

const MAX_URL: usize = 2000;

/// A subscription as the settings page and the API show it (never its secret).
#[derive(Debug, Clone, Serialize)]
pub struct Subscription {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    /// `active` or `paused`.
    pub state: String,
    /// Why it is paused (by hand, or a day of failures).
    pub paused_reason: String,
    /// Failing since then with no success in between.
    pub failing_since: Option<DateTime<Utc>>,
    pub owner: String,
    pub pending: i64,
    pub delivered_24h: i64,
    pub failed_24h: i64,
    pub last_delivery_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub created_at: DateTime<Utc>,
}

/// What an admin sets on a subscription.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriptionInput {
    pub url: String,
    #[serde(default)]
    pub description: String,
    pub events: Vec<String>,
}

/// A new subscription with its secret, which is shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedSubscription {
    pub id: Uuid,
    pub secret: String,
}

/// Every subscription (settings:edit).
pub async fn list_subscriptions(pool: &PgPool, actor: &Actor) -> Result<Vec<Subscription>, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    read(pool, None).await
}

/// One subscription (settings:edit).
pub async fn get_subscription(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<Subscription, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    read(pool, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or(IntegrationError::NotFound)
}

async fn read(pool: &PgPool, id: Option<Uuid>) -> Result<Vec<Subscription>, IntegrationError> {
    let rows = sqlx::query!(
        r#"select s.id, s.url, s.description, s.events, s.state, s.paused_reason,
                  s.failing_since as "failing_since: DateTime<Utc>", s.created_at as "created_at: DateTime<Utc>",
                  u.full_name as owner,
                  (select count(*) from webhook_deliveries d where d.subscription_id = s.id and d.state = 'pending') as "pending!",
                  (select count(*) from webhook_deliveries d where d.subscription_id = s.id and d.state = 'delivered'
                     and d.finished_at > now() - interval '1 day') as "delivered_24h!",
                  (select count(*) from webhook_deliveries d where d.subscription_id = s.id and d.state = 'failed'
                     and d.finished_at > now() - interval '1 day') as "failed_24h!",
                  last.at as "last_at?: DateTime<Utc>", last.status as "last_status?"
           from webhook_subscriptions s
           join users u on u.id = s.owner_id
           left join lateral (
               select a.at, a.status from webhook_deliveries d join webhook_attempts a on a.delivery_id = d.id
               where d.subscription_id = s.id order by a.id desc limit 1
           ) last on true
           where $1::uuid is null or s.id = $1
           order by s.created_at"#,
        id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Subscription {
            id: r.id,
            url: r.url,
            description: r.description,
            events: r.events,
            state: r.state,
            paused_reason: r.paused_reason,
            failing_since: r.failing_since,
            owner: r.owner,
            pending: r.pending,
            delivered_24h: r.delivered_24h,
            failed_24h: r.failed_24h,
            last_delivery_at: r.last_at,
            last_status: r.last_status,
            created_at: r.created_at,
        })
        .collect())
}

/// Subscribes a URL (settings:edit); the secret is returned this once.
pub async fn create_subscription(
    pool: &PgPool,
    cipher: &Cipher,
    actor: &Actor,
    input: SubscriptionInput,
) -> Result<CreatedSubscription, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let input = validate(input)?;
    let secret = random_token("whsec_");
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into webhook_subscriptions (url, description, events, secret_encrypted, owner_id)
         values ($1, $2, $3, $4, $5) returning id",
        input.url,
        input.description,
        &input.events,
        cipher.encrypt(secret.as_bytes()),
        actor.user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "webhook",
        &id.to_string(),
        "create",
        None,
        Some(serde_json::json!({ "url": input.url, "events": input.events, "description": input.description })),
    )
    .await?;
    changed(&mut tx, id).await?;
    tx.commit().await?;
    Ok(CreatedSubscription { id, secret })
}

/// Changes the URL, description or events (settings:edit).
pub async fn update_subscription(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    input: SubscriptionInput,
) -> Result<(), IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let input = validate(input)?;
    let mut tx = pool.begin().await?;
    let before = sqlx::query!(
        "select url, events, description from webhook_subscriptions where id = $1 for update",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(IntegrationError::NotFound)?;
    sqlx::query!(
        "update webhook_subscriptions set url = $2, description = $3, events = $4 where id = $1",
        id,
        input.url,
        input.description,
        &input.events
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "webhook",
        &id.to_string(),
        "update",
        Some(serde_json::json!({ "url": before.url, "events": before.events, "description": before.description })),
        Some(serde_json::json!({ "url": input.url, "events": input.events, "description": input.description })),
    )
    .await?;
    changed(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a subscription with its log (settings:edit).
pub async fn delete_subscription(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<(), IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let mut tx = pool.begin().await?;
    let url = sqlx::query_scalar!("delete from webhook_subscriptions where id = $1 returning url", id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(IntegrationError::NotFound)?;
    audit::record(
        &mut tx,
        Some(actor),
        "webhook",
        &id.to_string(),
        "delete",
        Some(serde_json::json!({ "url": url })),
        None,
    )
    .await?;
    changed(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

/// Holds deliveries back until resumed (settings:edit); they keep coming in.
pub async fn pause_subscription(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<(), IntegrationError> {
    set_state(pool, actor, id, "paused", "Приостановлена вручную").await
}

/// Sends what waited, oldest first (settings:edit); the day of failures
/// starts over.
pub async fn resume_subscription(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<(), IntegrationError> {
    set_state(pool, actor, id, "active", "").await
}

async fn set_state(pool: &PgPool, actor: &Actor, id: Uuid, state: &str, reason: &str) -> Result<(), IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let mut tx = pool.begin().await?;
    let before = sqlx::query_scalar!("select state from webhook_subscriptions where id = $1 for update", id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(IntegrationError::NotFound)?;
    if before == state {
        return Ok(());
    }
    sqlx::query!(
        "update webhook_subscriptions set state = $2, paused_reason = $3, failing_since = null where id = $1",
        id,
        state,
        reason
    )
    .execute(&mut *tx)
    .await?;
    if state == "active" {
        // What waited goes out now, not after its last backoff.
        sqlx::query!(
            "update webhook_deliveries set next_attempt_at = now() where subscription_id = $1 and state = 'pending'",
            id
        )
        .execute(&mut *tx)
        .await?;
    }
    audit::record(
        &mut tx,
        Some(actor),
        "webhook",
        &id.to_string(),
        if state == "active" { "resume" } else { "pause" },
        Some(serde_json::json!({ "state": before })),
        Some(serde_json::json!({ "state": state })),
    )
    .await?;
    changed(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

/// A new secret (settings:edit), returned this once; the old one stops
/// signing at once.
pub async fn rotate_secret(
    pool: &PgPool,
    cipher: &Cipher,
    actor: &Actor,
    id: Uuid,
) -> Result<String, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let secret = random_token("whsec_");
    let mut tx = pool.begin().await?;
    let n = sqlx::query!(
        "update webhook_subscriptions set secret_encrypted = $2 where id = $1",
        id,
        cipher.encrypt(secret.as_bytes())
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(IntegrationError::NotFound);
    }
    audit::record(
        &mut tx,
        Some(actor),
        "webhook",
        &id.to_string(),
        "rotate_secret",
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(secret)
}

/// Tells the settings pages that a subscription or its log changed.
pub(super) async fn changed(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    subscription_id: Uuid,
) -> Result<(), sqlx::Error> {
    realtime::publish(tx, &Event::WebhooksChanged { subscription_id }).await
}

fn validate(mut input: SubscriptionInput) -> Result<SubscriptionInput, IntegrationError> {
    let mut errors = vec![];
    input.url = input.url.trim().to_string();
    let parsed = url::Url::parse(&input.url);
    if input.url.is_empty() {
        errors.push(FieldError::new("url", "Укажите адрес, на который слать события"));
    } else if input.url.len() > MAX_URL
        || !parsed.is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host() && u.password().is_none())
    {
        errors.push(FieldError::new(
            "url",
            "Нужен полный адрес вида https://example.ru/hooks/mak (без пароля в адресе)",
        ));
    }
    input.description = input.description.trim().to_string();
    if let Err(m) = crate::types::check_text(&input.description, 200) {
        errors.push(FieldError::new("description", &m));
    }
    let mut events: Vec<String> = vec![];
    for e in input.events.iter().map(|e| e.trim()) {
        if !is_event_type(e) {
            errors.push(FieldError::new("events", &format!("Неизвестное событие «{e}»")));
        } else if !events.iter().any(|x| x == e) {
            events.push(e.to_string());
        }
    }
    if events.is_empty() && errors.iter().all(|f| f.field != "events") {
        errors.push(FieldError::new("events", "Выберите хотя бы одно событие"));
    }
    input.events = events;
    if errors.is_empty() {
        Ok(input)
    } else {
        Err(IntegrationError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: &str, events: &[&str]) -> SubscriptionInput {
        SubscriptionInput {
            url: url.into(),
            description: String::new(),
            events: events.iter().map(|e| e.to_string()).collect(),
        }
    }

    fn fields(r: Result<SubscriptionInput, IntegrationError>) -> Vec<String> {
        match r {
            Err(IntegrationError::Validation(f)) => f.into_iter().map(|f| f.field).collect(),
            Ok(_) => vec![],
            Err(e) => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn a_subscription_needs_a_web_address_and_known_events() {
        assert!(
            validate(input(" https://example.ru/hook ", &["lead.created", "lead.created"]))
                .is_ok_and(|i| i.url == "https://example.ru/hook" && i.events == ["lead.created"])
        );
        assert_eq!(fields(validate(input("ftp://example.ru", &["lead.won"]))), ["url"]);
        assert_eq!(
            fields(validate(input("https://u:p@example.ru", &["lead.won"]))),
            ["url"]
        );
        assert_eq!(fields(validate(input("", &[]))), ["url", "events"]);
        assert_eq!(fields(validate(input("http://h.ru", &["lead.eaten"]))), ["events"]);
        assert_eq!(fields(validate(input("http://h.ru", &["ping"]))), ["events"]);
    }
}
