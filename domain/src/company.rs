//! Company-wide settings that are not about access: the time zone every
//! time is shown and typed in.

use chrono_tz::Tz;
use sqlx::PgPool;

use crate::rbac::{self, Operation, RbacError, Target};
use crate::realtime::{self, Event};
use crate::{audit, time, Actor};

/// The company's time zone as stored (Moscow until an admin changes it).
pub async fn time_zone(pool: &PgPool) -> Result<Tz, sqlx::Error> {
    let v = sqlx::query_scalar!("select value from app_settings where key = 'time_zone'")
        .fetch_optional(pool)
        .await?;
    Ok(v.as_ref()
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
/// audited; every instance switches when it commits.
pub async fn set_time_zone(pool: &PgPool, actor: &Actor, name: &str) -> Result<(), RbacError> {
    rbac::authorize(pool, actor, Operation::EditCompanySettings, Target::Collection).await?;
    let tz = time::parse_zone(name).ok_or_else(|| RbacError::Invalid(format!("неизвестный часовой пояс «{name}»")))?;
    let mut tx = pool.begin().await?;
    let before = sqlx::query_scalar!("select value from app_settings where key = 'time_zone' for update")
        .fetch_optional(&mut *tx)
        .await?;
    sqlx::query!(
        "insert into app_settings (key, value) values ('time_zone', $1)
         on conflict (key) do update set value = excluded.value",
        serde_json::Value::String(tz.name().to_string())
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "app_setting",
        "time_zone",
        "update",
        before.map(|v| serde_json::json!({ "value": v })),
        Some(serde_json::json!({ "value": tz.name() })),
    )
    .await?;
    realtime::publish(&mut tx, &Event::CompanySettingsChanged).await?;
    tx.commit().await?;
    Ok(())
}
