//! In-app notifications (the bell).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::realtime::{self, Event};
use crate::Actor;

#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub read: bool,
    pub at: DateTime<Utc>,
}

/// Creates a notification for one user and pushes it to their open pages.
pub async fn notify(
    tx: &mut Transaction<'_, Postgres>,
    user_id: Uuid,
    title: &str,
    body: &str,
    link: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into notifications (user_id, title, body, link) values ($1, $2, $3, $4)",
        user_id,
        title,
        body,
        link
    )
    .execute(&mut **tx)
    .await?;
    realtime::publish(tx, &Event::Notification { user_id }).await
}

/// Notifies every active, unblocked user whose role has `users:edit` with
/// scope `all` (the people who approve registrations).
pub async fn notify_user_managers(
    tx: &mut Transaction<'_, Postgres>,
    title: &str,
    body: &str,
    link: Option<&str>,
) -> Result<(), sqlx::Error> {
    notify_holders(tx, "users", "edit", title, body, link).await
}

/// Notifies every active, unblocked user whose role may approve broadcasts
/// of every bot (`broadcasts:approve` with scope `all`).
pub async fn notify_broadcast_approvers(
    tx: &mut Transaction<'_, Postgres>,
    title: &str,
    body: &str,
    link: Option<&str>,
) -> Result<(), sqlx::Error> {
    notify_holders(tx, "broadcasts", "approve", title, body, link).await
}

/// Everyone active whose role holds `resource:action` with scope `all`.
/// Notifies the admins: everyone who may change the CRM's settings
/// (`settings:edit` with scope `all`).
pub async fn notify_admins(
    tx: &mut Transaction<'_, Postgres>,
    title: &str,
    body: &str,
    link: Option<&str>,
) -> Result<(), sqlx::Error> {
    notify_holders(tx, "settings", "edit", title, body, link).await
}

async fn notify_holders(
    tx: &mut Transaction<'_, Postgres>,
    resource: &str,
    action: &str,
    title: &str,
    body: &str,
    link: Option<&str>,
) -> Result<(), sqlx::Error> {
    let ids = sqlx::query_scalar!(
        "select u.id from users u
         join permissions p on p.role = u.role and p.resource = $1 and p.action = $2 and p.scope = 'all'
         where u.status = 'active' and u.blocked_at is null",
        resource,
        action
    )
    .fetch_all(&mut **tx)
    .await?;
    for id in ids {
        notify(tx, id, title, body, link).await?;
    }
    Ok(())
}

/// The actor's latest notifications (their own only).
pub async fn recent(pool: &PgPool, actor: &Actor, limit: i64) -> Result<Vec<Notification>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select id, title, body, link, read_at, created_at as "created_at: chrono::DateTime<chrono::Utc>" from notifications
         where user_id = $1 order by created_at desc limit $2"#,
        actor.user_id,
        limit.clamp(1, 100)
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Notification {
            id: r.id,
            title: r.title,
            body: r.body,
            link: r.link,
            read: r.read_at.is_some(),
            at: r.created_at,
        })
        .collect())
}

pub async fn unread_count(pool: &PgPool, actor: &Actor) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from notifications where user_id = $1 and read_at is null"#,
        actor.user_id
    )
    .fetch_one(pool)
    .await
}

/// Marks all of the actor's notifications read.
pub async fn mark_all_read(pool: &PgPool, actor: &Actor) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update notifications set read_at = now() where user_id = $1 and read_at is null",
        actor.user_id
    )
    .execute(pool)
    .await?;
    Ok(())
}
