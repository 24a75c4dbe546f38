//! Reconciliation: every lead of the account compared with ours (nightly,
//! and on request); each difference listed — a shared field that differs,
//! or a deal we don't have — with a «fix» that takes amoCRM's value or
//! sends ours.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::api::Api;
use super::import::PAGE;
use super::log::{self, Direction};
use super::mapping::Plan;
use super::sync::{self, FIELDS};
use super::{outbox, AmoSettings};
use crate::crypto::Cipher;
use crate::integrations::IntegrationError;
use crate::rbac::{self, SettingsOp};
use crate::realtime::{self, Event};
use crate::Actor;

/// One difference.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    pub remote_id: i64,
    pub lead_id: Option<Uuid>,
    pub lead_number: Option<i64>,
    /// stage, responsible, amount, product — or `missing` (not here).
    pub field: String,
    pub label: String,
    pub ours: String,
    pub theirs: String,
    pub found_at: DateTime<Utc>,
}

/// Compares the whole account with ours on request (settings:edit).
pub async fn reconcile_now(
    pool: &PgPool,
    cipher: &Cipher,
    settings: &AmoSettings,
    actor: &Actor,
) -> Result<usize, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    reconcile(pool, cipher, settings).await
}

/// The nightly run: once a day, after an import.
pub async fn reconcile_due(pool: &PgPool, cipher: &Cipher, settings: &AmoSettings) -> Result<usize, IntegrationError> {
    let due = sqlx::query_scalar!(
        r#"select (status = 'active' and pull_cursor > 0
                   and (reconciled_at is null or reconciled_at < now() - interval '1 day')) as "due!"
           from amocrm_connection"#
    )
    .fetch_optional(pool)
    .await?
    .unwrap_or(false);
    if !due {
        return Ok(0);
    }
    reconcile(pool, cipher, settings).await
}

/// Reads every lead (250 a page) and records what differs; returns how many.
pub(crate) async fn reconcile(
    pool: &PgPool,
    cipher: &Cipher,
    settings: &AmoSettings,
) -> Result<usize, IntegrationError> {
    let mut api = Api::open(pool, cipher, settings).await?;
    let plan = Plan::load(pool).await?;
    let mut found: Vec<(i64, Option<Uuid>, &'static str, String, String)> = vec![];
    for page in 1.. {
        let Some(body) = api
            .get(
                "/api/v4/leads",
                &[("limit".into(), PAGE.to_string()), ("page".into(), page.to_string())],
            )
            .await?
        else {
            break;
        };
        let leads: Vec<Value> = body["_embedded"]["leads"].as_array().cloned().unwrap_or_default();
        if leads.is_empty() {
            break;
        }
        let ids: Vec<i64> = leads.iter().filter_map(|l| l["id"].as_i64()).collect();
        let links: std::collections::HashMap<i64, Uuid> = sqlx::query!(
            "select remote_id, local_id from amocrm_links where kind = 'lead' and remote_id = any($1)",
            &ids
        )
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| (r.remote_id, r.local_id))
        .collect();
        let mut tx = pool.begin().await?;
        for lead in &leads {
            let Some(remote) = lead["id"].as_i64() else {
                continue;
            };
            let Some(local) = links.get(&remote) else {
                found.push((remote, None, "missing", "нет у нас".into(), text(&lead["name"])));
                continue;
            };
            let Some((ours, _)) = sync::local_values(&mut tx, *local).await? else {
                continue;
            };
            for (field, theirs) in sync::remote_values(lead, &plan) {
                let our = ours.get(field).cloned().unwrap_or_default();
                if our != theirs {
                    let o = sync::readable(&mut tx, field, Some(&our)).await?;
                    let t = sync::readable(&mut tx, field, Some(&theirs)).await?;
                    found.push((remote, Some(*local), field, o, t));
                }
            }
        }
        tx.commit().await?;
        if leads.len() < PAGE {
            break;
        }
    }
    let mut tx = pool.begin().await?;
    sqlx::query!("delete from amocrm_differences").execute(&mut *tx).await?;
    for (remote, local, field, ours, theirs) in &found {
        sqlx::query!(
            "insert into amocrm_differences (remote_id, lead_id, field, ours, theirs) values ($1, $2, $3, $4, $5)
             on conflict do nothing",
            remote,
            *local,
            field,
            ours,
            theirs
        )
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query!("update amocrm_connection set reconciled_at = now()")
        .execute(&mut *tx)
        .await?;
    log::write(
        &mut tx,
        Direction::System,
        "reconcile",
        "ok",
        &format!("расхождений: {} · запросов {}", found.len(), api.requests),
    )
    .await?;
    realtime::publish(&mut tx, &Event::AmoCrmChanged).await?;
    tx.commit().await?;
    Ok(found.len())
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The differences found last (settings:edit).
pub async fn differences(pool: &PgPool, actor: &Actor) -> Result<Vec<Difference>, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let rows = sqlx::query!(
        r#"select d.remote_id, d.lead_id, l.number as "number?", d.field, d.ours, d.theirs,
                  d.found_at as "found_at: DateTime<Utc>"
           from amocrm_differences d left join leads l on l.id = d.lead_id
           order by d.remote_id, d.field limit 500"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Difference {
            label: FIELDS
                .iter()
                .find(|(f, _)| *f == r.field)
                .map(|(_, l)| l.to_string())
                .unwrap_or_else(|| "Сделка".into()),
            remote_id: r.remote_id,
            lead_id: r.lead_id,
            lead_number: r.number,
            field: r.field,
            ours: r.ours,
            theirs: r.theirs,
            found_at: r.found_at,
        })
        .collect())
}

/// Fixes a difference (settings:edit): `theirs` takes amoCRM's lead as it
/// is (a missing one is created here), `ours` sends ours to amoCRM.
pub async fn fix_difference(
    pool: &PgPool,
    cipher: &Cipher,
    settings: &AmoSettings,
    actor: &Actor,
    remote_id: i64,
    take: &str,
) -> Result<(), IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let local = sqlx::query_scalar!(
        "select local_id from amocrm_links where kind = 'lead' and remote_id = $1",
        remote_id
    )
    .fetch_optional(pool)
    .await?;
    match (take, local) {
        ("theirs", _) => {
            if let Some(local) = local {
                // Ours as the base: their differing values count as theirs to take.
                let mut tx = pool.begin().await?;
                if let Some((ours, _)) = sync::local_values(&mut tx, local).await? {
                    sqlx::query!(
                        "update amocrm_links set snapshot = $2, remote_updated_at = 0 where kind = 'lead' and remote_id = $1",
                        remote_id,
                        sync::snapshot_json(&ours)
                    )
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
            }
            let mut api = Api::open(pool, cipher, settings).await?;
            let plan = Plan::load(pool).await?;
            let acting = sync::integration_actor(pool).await?;
            sync::refresh_leads(pool, &mut api, &plan, &acting, &[remote_id], "reconcile.fix").await?;
        }
        ("ours", Some(local)) => {
            // Theirs as the base: ours differs from it and goes out.
            let mut api = Api::open(pool, cipher, settings).await?;
            let plan = Plan::load(pool).await?;
            let body = api
                .get(&format!("/api/v4/leads/{remote_id}"), &[])
                .await?
                .unwrap_or_default();
            let mut tx = pool.begin().await?;
            sqlx::query!(
                "update amocrm_links set snapshot = $2 where kind = 'lead' and remote_id = $1",
                remote_id,
                sync::snapshot_json(&sync::remote_values(&body, &plan))
            )
            .execute(&mut *tx)
            .await?;
            outbox::queue_lead(&mut tx, local).await?;
            tx.commit().await?;
        }
        _ => {
            return Err(IntegrationError::field(
                "take",
                "Выберите, чьё значение оставить: amoCRM или наше",
            ))
        }
    }
    let mut tx = pool.begin().await?;
    sqlx::query!("delete from amocrm_differences where remote_id = $1", remote_id)
        .execute(&mut *tx)
        .await?;
    log::write_record(
        &mut tx,
        Direction::System,
        "reconcile.fix",
        "lead",
        Some(remote_id),
        local,
        "ok",
        if take == "theirs" {
            "взято значение amoCRM"
        } else {
            "наше значение отправлено в amoCRM"
        },
    )
    .await?;
    realtime::publish(&mut tx, &Event::AmoCrmChanged).await?;
    tx.commit().await?;
    Ok(())
}
