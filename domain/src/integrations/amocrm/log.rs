//! The sync log: each operation of the integration — in from amoCRM, out
//! to it, or its own (tokens, the import) — with its result and error.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::integrations::IntegrationError;
use crate::rbac::{self, SettingsOp};
use crate::Actor;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Direction {
    In,
    Out,
    System,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
            Self::System => "system",
        }
    }
}

/// One line of the log.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub direction: String,
    pub operation: String,
    pub entity: String,
    pub remote_id: Option<i64>,
    pub local_id: Option<Uuid>,
    pub result: String,
    pub detail: String,
}

/// Which lines to show.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// `ok`, `error` or `skipped`.
    pub result: Option<String>,
    /// `in`, `out` or `system`.
    pub direction: Option<String>,
    /// Lines older than this id (the next page).
    pub before: Option<i64>,
}

/// An operation without a record of its own.
pub(crate) async fn write(
    tx: &mut Transaction<'_, Postgres>,
    direction: Direction,
    operation: &str,
    result: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    write_record(tx, direction, operation, "", None, None, result, detail).await
}

/// An operation on one record (theirs, ours or both).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_record(
    tx: &mut Transaction<'_, Postgres>,
    direction: Direction,
    operation: &str,
    entity: &str,
    remote_id: Option<i64>,
    local_id: Option<Uuid>,
    result: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    let detail: String = detail.chars().take(2000).collect();
    sqlx::query!(
        "insert into amocrm_sync_log (direction, operation, entity, remote_id, local_id, result, detail)
         values ($1, $2, $3, $4, $5, $6, $7)",
        direction.as_str(),
        operation,
        entity,
        remote_id,
        local_id,
        result,
        detail
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The newest lines first, 100 at a time (settings:edit).
pub async fn sync_log(pool: &PgPool, actor: &Actor, filter: LogFilter) -> Result<Vec<LogEntry>, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    Ok(sqlx::query_as!(
        LogEntry,
        r#"select id, at as "at: DateTime<Utc>", direction, operation, entity, remote_id, local_id, result, detail
           from amocrm_sync_log
           where ($1::text is null or result = $1) and ($2::text is null or direction = $2)
             and ($3::int8 is null or id < $3)
           order by id desc limit 100"#,
        filter.result,
        filter.direction,
        filter.before
    )
    .fetch_all(pool)
    .await?)
}
