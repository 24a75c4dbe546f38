//! The delivery log: a subscription's deliveries newest first, each with
//! its attempts; a replay (a new delivery of the same event, same event
//! id); a test event on demand.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::PING;
use crate::integrations::IntegrationError;
use crate::rbac::{self, SettingsOp};
use crate::{audit, Actor};

const PAGE: i64 = 50;

/// One delivery as the log lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub event: String,
    pub event_id: Uuid,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: String,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub replay_of: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

struct DeliveryRow {
    id: i64,
    event: String,
    event_id: Uuid,
    state: String,
    attempts: i32,
    last_status: Option<i32>,
    last_error: String,
    next_attempt_at: DateTime<Utc>,
    replay_of: Option<i64>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<DeliveryRow> for Delivery {
    fn from(r: DeliveryRow) -> Self {
        Self {
            // When the next try goes matters only while it waits.
            next_attempt_at: (r.state == "pending").then_some(r.next_attempt_at),
            id: r.id,
            event: r.event,
            event_id: r.event_id,
            state: r.state,
            attempts: r.attempts,
            last_status: r.last_status,
            last_error: r.last_error,
            replay_of: r.replay_of,
            created_at: r.created_at,
            finished_at: r.finished_at,
        }
    }
}

/// One try of a delivery.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub status: Option<i32>,
    pub error: String,
    pub response: String,
    pub duration_ms: i32,
}

/// A delivery with what it sent and every try.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: Delivery,
    pub subscription_id: Uuid,
    pub body: serde_json::Value,
    pub attempts_log: Vec<Attempt>,
}

/// A subscription's deliveries, newest first, `PAGE` at a time before
/// `before` (a delivery id); `state` narrows to one state (settings:edit).
pub async fn list_deliveries(
    pool: &PgPool,
    actor: &Actor,
    subscription_id: Uuid,
    state: Option<&str>,
    before: Option<i64>,
) -> Result<Vec<Delivery>, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    if let Some(s) = state.filter(|s| !matches!(*s, "pending" | "delivered" | "failed")) {
        return Err(IntegrationError::field(
            "state",
            &format!("Неизвестное состояние «{s}»: pending, delivered или failed"),
        ));
    }
    let exists = sqlx::query_scalar!(
        r#"select exists (select 1 from webhook_subscriptions where id = $1) as "e!""#,
        subscription_id
    )
    .fetch_one(pool)
    .await?;
    if !exists {
        return Err(IntegrationError::NotFound);
    }
    let rows = sqlx::query_as!(
        DeliveryRow,
        r#"select id, event, event_id, state, attempts, last_status, last_error,
                  next_attempt_at as "next_attempt_at: DateTime<Utc>", replay_of,
                  created_at as "created_at: DateTime<Utc>", finished_at as "finished_at: DateTime<Utc>"
           from webhook_deliveries
           where subscription_id = $1 and ($2::text is null or state = $2) and ($3::bigint is null or id < $3)
           order by id desc limit $4"#,
        subscription_id,
        state,
        before,
        PAGE
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Delivery::from).collect())
}

/// One delivery with its body and tries (settings:edit).
pub async fn delivery_detail(pool: &PgPool, actor: &Actor, id: i64) -> Result<DeliveryDetail, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let r = sqlx::query_as!(
        DeliveryRow,
        r#"select id, event, event_id, state, attempts, last_status, last_error,
                  next_attempt_at as "next_attempt_at: DateTime<Utc>", replay_of,
                  created_at as "created_at: DateTime<Utc>", finished_at as "finished_at: DateTime<Utc>"
           from webhook_deliveries where id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(IntegrationError::NotFound)?;
    let sent = sqlx::query!("select subscription_id, body from webhook_deliveries where id = $1", id)
        .fetch_one(pool)
        .await?;
    let attempts = sqlx::query_as!(
        Attempt,
        r#"select at as "at: DateTime<Utc>", status, error, response, duration_ms
           from webhook_attempts where delivery_id = $1 order by id"#,
        id
    )
    .fetch_all(pool)
    .await?;
    Ok(DeliveryDetail {
        delivery: Delivery::from(r),
        subscription_id: sent.subscription_id,
        body: sent.body,
        attempts_log: attempts,
    })
}

/// Sends a delivery's event again as a new delivery with the same event id
/// and body, after what the record still has waiting (settings:edit).
pub async fn replay_delivery(pool: &PgPool, actor: &Actor, id: i64) -> Result<i64, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let mut tx = pool.begin().await?;
    let replay = sqlx::query!(
        "insert into webhook_deliveries (subscription_id, event_id, event, ordering_key, body, replay_of)
         select subscription_id, event_id, event, ordering_key, body, id from webhook_deliveries where id = $1
         returning id, subscription_id",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(IntegrationError::NotFound)?;
    audit::record(
        &mut tx,
        Some(actor),
        "webhook",
        &replay.subscription_id.to_string(),
        "replay",
        None,
        Some(json!({ "delivery": id, "replay": replay.id })),
    )
    .await?;
    super::subscriptions::changed(&mut tx, replay.subscription_id).await?;
    tx.commit().await?;
    Ok(replay.id)
}

/// Queues a `ping` to a subscription whatever it listens to, so an admin
/// can see the receiver answer (settings:edit).
pub async fn send_test(pool: &PgPool, actor: &Actor, subscription_id: Uuid) -> Result<i64, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let mut tx = pool.begin().await?;
    let event_id = Uuid::new_v4();
    let body = json!({
        "id": event_id,
        "type": PING,
        "created_at": Utc::now(),
        "data": { "subscription_id": subscription_id },
    });
    let id = sqlx::query_scalar!(
        "insert into webhook_deliveries (subscription_id, event_id, event, ordering_key, body)
         select id, $2, $3, id, $4 from webhook_subscriptions where id = $1
         returning id",
        subscription_id,
        event_id,
        PING,
        body
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(IntegrationError::NotFound)?;
    super::subscriptions::changed(&mut tx, subscription_id).await?;
    tx.commit().await?;
    Ok(id)
}

/// Drops finished deliveries (and their tries) older than `days`, a
/// thousand at a time; returns how many went.
pub async fn purge_log(pool: &PgPool, days: i32) -> Result<usize, sqlx::Error> {
    let n = sqlx::query!(
        "delete from webhook_deliveries where id in (
             select id from webhook_deliveries
             where state <> 'pending' and finished_at < now() - make_interval(days => $1)
             limit 1000)",
        days
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n as usize)
}
