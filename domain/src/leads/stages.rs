//! Editing pipelines and their stages (settings:edit). Every pipeline
//! keeps at least one won and one lost stage; deleting a stage moves its
//! leads to a stage the admin chooses.

use sqlx::PgPool;
use uuid::Uuid;

use super::{LeadsError, Missing};
use crate::rbac;
use crate::rbac::SettingsOp;
use crate::realtime::{self, Event};
use crate::{audit, Actor};

fn valid_color(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|x| x.is_ascii_hexdigit())
}

fn check_stage(name: &str, color: &str) -> Result<(), LeadsError> {
    if name.trim().is_empty() {
        return Err(LeadsError::field("name", "Укажите название этапа"));
    }
    crate::types::check_text(name, crate::types::MAX_SHORT).map_err(|m| LeadsError::field("name", &m))?;
    if !valid_color(color) {
        return Err(LeadsError::field("color", "Цвет в формате #RRGGBB"));
    }
    Ok(())
}

/// A new pipeline with the three stages every pipeline needs.
pub async fn add_pipeline(pool: &PgPool, actor: &Actor, name: &str) -> Result<Uuid, LeadsError> {
    rbac::authorize_setting(pool, actor, SettingsOp::EditPipelines).await?;
    if name.trim().is_empty() {
        return Err(LeadsError::field("name", "Укажите название воронки"));
    }
    crate::types::check_text(name, crate::types::MAX_SHORT).map_err(|m| LeadsError::field("name", &m))?;
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into pipelines (name, position) values ($1, (select coalesce(max(position), 0) + 1 from pipelines)) returning id",
        name.trim()
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into stages (pipeline_id, name, color, kind, position) values
            ($1, 'Новая заявка', '#1f6feb', 'open', 0), ($1, 'Сделка', '#2da44e', 'won', 1), ($1, 'Отказ', '#cf222e', 'lost', 2)",
        id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "pipeline",
        &id.to_string(),
        "create",
        None,
        Some(serde_json::json!({ "name": name.trim() })),
    )
    .await?;
    realtime::publish(&mut tx, &Event::PipelinesChanged).await?;
    tx.commit().await?;
    Ok(id)
}

/// Adds an open stage before the closing (won/lost) ones.
pub async fn add_stage(
    pool: &PgPool,
    actor: &Actor,
    pipeline_id: Uuid,
    name: &str,
    color: &str,
) -> Result<Uuid, LeadsError> {
    rbac::authorize_setting(pool, actor, SettingsOp::EditPipelines).await?;
    check_stage(name, color)?;
    let mut tx = pool.begin().await?;
    let pos = sqlx::query_scalar!(
        r#"select coalesce(max(position) filter (where kind = 'open'), -1) + 1 as "p!" from stages where pipeline_id = $1"#,
        pipeline_id
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "update stages set position = position + 1 where pipeline_id = $1 and position >= $2",
        pipeline_id,
        pos
    )
    .execute(&mut *tx)
    .await?;
    let id = sqlx::query_scalar!(
        "insert into stages (pipeline_id, name, color, kind, position) values ($1, $2, $3, 'open', $4) returning id",
        pipeline_id,
        name.trim(),
        color,
        pos
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match crate::constraint_name(&e) {
        Some(_) => LeadsError::NotFound(Missing::Pipeline),
        None => LeadsError::Db(e),
    })?;
    audit::record(
        &mut tx,
        Some(actor),
        "stage",
        &id.to_string(),
        "create",
        None,
        Some(serde_json::json!({ "name": name.trim(), "color": color })),
    )
    .await?;
    realtime::publish(&mut tx, &Event::PipelinesChanged).await?;
    tx.commit().await?;
    Ok(id)
}

/// Renames and recolours a stage.
pub async fn rename_stage(
    pool: &PgPool,
    actor: &Actor,
    stage_id: Uuid,
    name: &str,
    color: &str,
) -> Result<(), LeadsError> {
    rbac::authorize_setting(pool, actor, SettingsOp::EditPipelines).await?;
    let mut tx = pool.begin().await?;
    let before = sqlx::query!("select name, color from stages where id = $1 for update", stage_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(LeadsError::NotFound(Missing::Stage))?;
    // An empty colour keeps the current one.
    let color = if color.is_empty() { before.color.as_str() } else { color };
    check_stage(name, color)?;
    sqlx::query!(
        "update stages set name = $2, color = $3 where id = $1",
        stage_id,
        name.trim(),
        color
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "stage",
        &stage_id.to_string(),
        "update",
        Some(serde_json::json!({ "name": before.name, "color": before.color })),
        Some(serde_json::json!({ "name": name.trim(), "color": color })),
    )
    .await?;
    realtime::publish(&mut tx, &Event::PipelinesChanged).await?;
    tx.commit().await?;
    Ok(())
}

/// Moves a stage one place left (`-1`) or right (`+1`) within its pipeline.
pub async fn reorder_stage(pool: &PgPool, actor: &Actor, stage_id: Uuid, step: i32) -> Result<(), LeadsError> {
    rbac::authorize_setting(pool, actor, SettingsOp::EditPipelines).await?;
    let mut tx = pool.begin().await?;
    let s = sqlx::query!(
        "select pipeline_id, position from stages where id = $1 for update",
        stage_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(LeadsError::NotFound(Missing::Stage))?;
    let neighbour = sqlx::query!(
        "select id, position from stages where pipeline_id = $1 and id <> $2
           and (($3 < 0 and position < $4) or ($3 > 0 and position > $4))
         order by case when $3 < 0 then -position else position end limit 1 for update",
        s.pipeline_id,
        stage_id,
        step,
        s.position
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(n) = neighbour {
        sqlx::query!("update stages set position = $2 where id = $1", stage_id, n.position)
            .execute(&mut *tx)
            .await?;
        sqlx::query!("update stages set position = $2 where id = $1", n.id, s.position)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            Some(actor),
            "stage",
            &stage_id.to_string(),
            "reorder",
            Some(serde_json::json!({ "position": s.position })),
            Some(serde_json::json!({ "position": n.position })),
        )
        .await?;
        realtime::publish(&mut tx, &Event::PipelinesChanged).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Deletes a stage after moving its leads to `move_to`. The last won or
/// lost stage of a pipeline can't be deleted.
pub async fn delete_stage(pool: &PgPool, actor: &Actor, stage_id: Uuid, move_to: Uuid) -> Result<u64, LeadsError> {
    rbac::authorize_setting(pool, actor, SettingsOp::EditPipelines).await?;
    if stage_id == move_to {
        return Err(LeadsError::field("move_to", "Выберите другой этап для лидов"));
    }
    let mut tx = pool.begin().await?;
    let s = sqlx::query!(
        "select pipeline_id, name, kind from stages where id = $1 for update",
        stage_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(LeadsError::NotFound(Missing::Stage))?;
    let target = sqlx::query!("select pipeline_id, kind from stages where id = $1", move_to)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| LeadsError::field("move_to", "Этап не найден"))?;
    if s.kind != "open" {
        let same_kind = sqlx::query_scalar!(
            r#"select count(*) as "n!" from stages where pipeline_id = $1 and kind = $2"#,
            s.pipeline_id,
            s.kind
        )
        .fetch_one(&mut *tx)
        .await?;
        if same_kind <= 1 {
            return Err(LeadsError::LastClosingStage(s.kind == "won"));
        }
    }
    let moved = sqlx::query!(
        "update leads set stage_id = $2, pipeline_id = $3, unsorted = false,
                closed_at = case when $4 in ('won', 'lost') then coalesce(closed_at, now()) else null end
         where stage_id = $1",
        stage_id,
        move_to,
        target.pipeline_id,
        target.kind
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query!("delete from stages where id = $1", stage_id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "stage",
        &stage_id.to_string(),
        "delete",
        Some(serde_json::json!({ "name": s.name, "kind": s.kind })),
        Some(serde_json::json!({ "leads_moved_to": move_to, "leads_moved": moved })),
    )
    .await?;
    realtime::publish(&mut tx, &Event::PipelinesChanged).await?;
    tx.commit().await?;
    Ok(moved)
}
