//! Saved views of the lead list: a name, the list's query string (filters
//! and sort) and the chosen columns. Private to their owner, or shared with
//! everyone who may list leads (sharing is settings:edit). What a shared
//! view shows is still cut to each viewer's own scope by the list.

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::fields::is_field_key;
use super::filter::LeadFilter;
use super::{LeadsError, Missing};
use crate::rbac::{self, Operation, Target};
use crate::rbac::{LeadOp, SettingsOp};
use crate::{audit, Actor};

/// The list's fixed columns, in their default order; extra fields add `cf_N`.
pub const LIST_COLUMNS: [&str; 15] = [
    "number",
    "client",
    "phone",
    "email",
    "product",
    "amount",
    "source",
    "method",
    "status",
    "stage",
    "responsible",
    "partner",
    "tags",
    "created",
    "updated",
];

#[derive(Debug, Clone, Serialize)]
pub struct SavedView {
    pub id: Uuid,
    pub name: String,
    pub query: String,
    pub columns: Vec<String>,
    pub shared: bool,
    pub owner_name: String,
    /// The viewer may overwrite or delete it.
    pub mine: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ViewInput {
    pub name: String,
    pub query: String,
    pub columns: Vec<String>,
    pub shared: bool,
}

/// The viewer's own views and every shared one (leads:view).
pub async fn list_views(pool: &PgPool, actor: &Actor) -> Result<Vec<SavedView>, LeadsError> {
    rbac::authorize(pool, actor, Operation::Leads(LeadOp::List), Target::Collection).await?;
    let rows = sqlx::query!(
        r#"select v.id, v.name, v.query, v.columns, v.shared, v.owner_id, u.full_name as owner_name
           from saved_views v join users u on u.id = v.owner_id
           where v.owner_id = $1 or v.shared
           order by v.owner_id <> $1, v.name"#,
        actor.user_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SavedView {
            id: r.id,
            name: r.name,
            query: r.query,
            columns: r.columns,
            shared: r.shared,
            owner_name: r.owner_name,
            mine: r.owner_id == actor.user_id,
        })
        .collect())
}

/// Saves (or overwrites, by name) one of the viewer's views. The query
/// must parse as a list filter; unknown columns are refused.
pub async fn save_view(pool: &PgPool, actor: &Actor, v: ViewInput) -> Result<Uuid, LeadsError> {
    rbac::authorize(pool, actor, Operation::Leads(LeadOp::List), Target::Collection).await?;
    if v.shared {
        rbac::authorize_setting(pool, actor, SettingsOp::ShareView).await?;
    }
    let name = v.name.trim();
    if name.is_empty() {
        return Err(LeadsError::field("name", "Назовите вид"));
    }
    if name.chars().count() > 80 {
        return Err(LeadsError::field("name", "Не длиннее 80 символов"));
    }
    LeadFilter::from_query(&v.query)?;
    let mut columns: Vec<String> = vec![];
    for c in &v.columns {
        if !(LIST_COLUMNS.contains(&c.as_str()) || is_field_key(c)) {
            return Err(LeadsError::field("columns", "Неизвестная колонка"));
        }
        if !columns.contains(c) {
            columns.push(c.clone());
        }
    }
    if columns.is_empty() {
        return Err(LeadsError::field("columns", "Выберите хотя бы одну колонку"));
    }
    let mut tx = pool.begin().await?;
    let before = sqlx::query!(
        "select id, query, columns, shared from saved_views where owner_id = $1 and name = $2 for update",
        actor.user_id,
        name
    )
    .fetch_optional(&mut *tx)
    .await?;
    let id = sqlx::query_scalar!(
        "insert into saved_views (owner_id, name, query, columns, shared) values ($1, $2, $3, $4, $5)
         on conflict (owner_id, name) do update set query = excluded.query, columns = excluded.columns, shared = excluded.shared
         returning id",
        actor.user_id,
        name,
        v.query.trim_start_matches('?'),
        &columns,
        v.shared
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "saved_view",
        &id.to_string(),
        if before.is_some() { "update" } else { "create" },
        before.map(|b| serde_json::json!({ "name": name, "query": b.query, "columns": b.columns, "shared": b.shared })),
        Some(serde_json::json!({ "name": name, "query": v.query, "columns": columns, "shared": v.shared })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Deletes a view: one's own, or a shared one with settings:edit.
pub async fn delete_view(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<(), LeadsError> {
    let mut tx = pool.begin().await?;
    let v = sqlx::query!(
        "select owner_id, name, shared from saved_views where id = $1 for update",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(LeadsError::NotFound(Missing::View))?;
    if v.owner_id != actor.user_id {
        if !v.shared {
            return Err(LeadsError::NotFound(Missing::View));
        }
        rbac::authorize_setting(pool, actor, SettingsOp::ShareView).await?;
    }
    sqlx::query!("delete from saved_views where id = $1", id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "saved_view",
        &id.to_string(),
        "delete",
        Some(serde_json::json!({ "name": v.name, "shared": v.shared })),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
