//! Company-wide settings that are not about access rights: the time zone
//! every time is shown and typed in, and whether partners and franchisees
//! may register themselves. Each lives in `app_settings` under its key.

use chrono_tz::Tz;
use sqlx::{PgExecutor, PgPool};

use crate::rbac::SettingsOp;
use crate::rbac::{self, RbacError};
use crate::realtime::{self, Event};
use crate::{audit, time, Actor};

async fn setting<'e>(db: impl PgExecutor<'e>, key: &str) -> Result<Option<serde_json::Value>, sqlx::Error> {
    sqlx::query_scalar!("select value from app_settings where key = $1", key)
        .fetch_optional(db)
        .await
}

/// Stores `value` under `key`, audited with what it was, in one
/// transaction; `event` (if any) goes out when it commits.
async fn put_setting(
    pool: &PgPool,
    actor: &Actor,
    key: &str,
    value: serde_json::Value,
    event: Option<Event>,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let before = sqlx::query_scalar!("select value from app_settings where key = $1 for update", key)
        .fetch_optional(&mut *tx)
        .await?;
    sqlx::query!(
        "insert into app_settings (key, value) values ($1, $2)
         on conflict (key) do update set value = excluded.value",
        key,
        value
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "app_setting",
        key,
        "update",
        before.map(|v| serde_json::json!({ "value": v })),
        Some(serde_json::json!({ "value": value })),
    )
    .await?;
    if key == "time_zone" {
        // Reports cut leads by their days in the company's zone.
        if let Some(zone) = value.as_str() {
            sqlx::query!(
                "update leads set created_day = (created_at at time zone $1)::date,
                                  closed_day = (closed_at at time zone $1)::date",
                zone
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    if let Some(event) = event {
        realtime::publish(&mut tx, &event).await?;
    }
    tx.commit().await
}

/// The company's time zone as stored (Moscow until an admin changes it).
pub async fn time_zone(pool: &PgPool) -> Result<Tz, sqlx::Error> {
    Ok(setting(pool, "time_zone")
        .await?
        .as_ref()
        .and_then(|v| v.as_str())
        .and_then(time::parse_zone)
        .unwrap_or(time::DEFAULT_ZONE))
}

/// Reads the stored zone into this instance's clock (at start, and when
/// any instance changes it).
pub async fn load_time_zone(pool: &PgPool) -> Result<Tz, sqlx::Error> {
    let tz = time_zone(pool).await?;
    time::set_zone(tz);
    Ok(tz)
}

/// Sets the company's time zone (one of `time::ZONES`). Needs settings:edit;
/// audited; every instance switches when it commits. The leads' days
/// (what reports cut by) are recomputed in the same transaction.
pub async fn set_time_zone(pool: &PgPool, actor: &Actor, name: &str) -> Result<(), RbacError> {
    rbac::authorize_setting(pool, actor, SettingsOp::EditCompany).await?;
    let tz = time::parse_zone(name).ok_or_else(|| RbacError::Invalid(format!("неизвестный часовой пояс «{name}»")))?;
    let value = serde_json::Value::String(tz.name().to_string());
    put_setting(pool, actor, "time_zone", value, Some(Event::CompanySettingsChanged)).await?;
    Ok(())
}

/// Whether partners and franchisees may register themselves (read on the
/// pool, or in the caller's transaction: a registration inside the bot's
/// update needs no second connection).
pub async fn self_registration_enabled<'e>(db: impl PgExecutor<'e>) -> Result<bool, sqlx::Error> {
    Ok(setting(db, "self_registration")
        .await?
        .and_then(|v| v.as_bool())
        .unwrap_or(false))
}

/// Turns self-registration on or off. Needs settings:edit; audited.
pub async fn set_self_registration(pool: &PgPool, actor: &Actor, enabled: bool) -> Result<(), RbacError> {
    rbac::authorize_setting(pool, actor, SettingsOp::EditSecurityPolicy).await?;
    put_setting(pool, actor, "self_registration", serde_json::Value::Bool(enabled), None).await?;
    Ok(())
}
