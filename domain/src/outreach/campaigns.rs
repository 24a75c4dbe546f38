//! Campaigns from the CRM: their settings, the accounts they write from,
//! starting and pausing them, and their progress. Targets are in
//! `targets`; every write is checked against the matrix (`outreach:edit`)
//! and audited.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::OutreachError;
use crate::accounts::FieldError;
use crate::rbac::{self, Operation, OutreachOp, Target};
use crate::types::Scope;
use crate::{audit, Actor};

/// A campaign's settings as the form sends them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignForm {
    pub name: String,
    /// The first message: `{name}`, `{first_name}`, `{username}` and the
    /// targets' own columns are filled in.
    pub first_message: String,
    /// The AI rewrites the first message for each person (from the
    /// filled-in template, their name and the target's columns).
    #[serde(default)]
    pub personalize: bool,
    /// The sales script the AI follows.
    pub prompt: String,
    /// Comma- or line-separated.
    pub stop_words: String,
    #[serde(default)]
    pub daily_cap: String,
    #[serde(default)]
    pub manager_id: Option<Uuid>,
    #[serde(default)]
    pub account_ids: Vec<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CampaignAction {
    Start,
    Pause,
    Finish,
}

/// A campaign in the list, with its progress.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CampaignRow {
    pub id: Uuid,
    pub name: String,
    pub status: String,
    pub manager: String,
    pub daily_cap: i32,
    pub sent_today: i32,
    pub targets: i64,
    pub contacted: i64,
    pub replied: i64,
    pub interested: i64,
    pub leads: i64,
    pub failed: i64,
    pub accounts: i64,
}

/// A day of a campaign: first messages and all messages sent, replies.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CampaignDay {
    pub day: NaiveDate,
    pub contacted: i64,
    pub replies: i64,
    pub interested: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CampaignDetail {
    pub row: CampaignRow,
    pub form: CampaignForm,
    pub days: Vec<CampaignDay>,
    /// The actor may change it, start and pause it.
    pub can_manage: bool,
}

fn owners(created_by: Option<Uuid>, manager_id: Option<Uuid>) -> Target {
    Target::record([created_by, manager_id], None)
}

/// The campaign's people, for scope checks: its author and manager.
pub(crate) async fn campaign_target(pool: &PgPool, id: Uuid) -> Result<Target, OutreachError> {
    let c = sqlx::query!(
        "select created_by, manager_id from outreach_campaigns where id = $1",
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(OutreachError::NotFound)?;
    Ok(owners(c.created_by, c.manager_id))
}

/// Checks `op` on the campaign (a missing one is `NotFound`); the
/// campaign's people, for the caller's further checks.
pub(crate) async fn authorize_campaign(
    pool: &PgPool,
    actor: &Actor,
    op: OutreachOp,
    id: Uuid,
) -> Result<Target, OutreachError> {
    let target = campaign_target(pool, id).await?;
    rbac::authorize(pool, actor, Operation::Outreach(op), target.clone()).await?;
    Ok(target)
}

struct Clean {
    name: String,
    first_message: String,
    prompt: String,
    stop_words: Vec<String>,
    daily_cap: i32,
}

fn clean(form: &CampaignForm) -> Result<Clean, OutreachError> {
    let mut errors = vec![];
    let name = form.name.trim().to_string();
    if name.is_empty() {
        errors.push(FieldError::new("name", "Укажите название"));
    } else if let Err(m) = crate::types::check_text(&name, crate::types::MAX_NAME) {
        errors.push(FieldError::new("name", &m));
    }
    let first_message = form.first_message.trim().to_string();
    if first_message.is_empty() {
        errors.push(FieldError::new("first_message", "Напишите первое сообщение"));
    } else if first_message.chars().count() > 4096 {
        errors.push(FieldError::new(
            "first_message",
            "Не длиннее 4096 символов — предела Telegram",
        ));
    }
    let prompt = form.prompt.trim().to_string();
    if prompt.chars().count() > 20_000 {
        errors.push(FieldError::new("prompt", "Не длиннее 20 000 символов"));
    }
    let stop_words: Vec<String> = form
        .stop_words
        .split([',', '\n', ';'])
        .map(|w| w.trim().to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    if stop_words.iter().any(|w| w.chars().count() > 100) {
        errors.push(FieldError::new("stop_words", "Стоп-слово не длиннее 100 символов"));
    }
    let daily_cap = match form.daily_cap.trim() {
        "" => 100,
        s => match s.parse::<i32>() {
            Ok(n) if (1..=100_000).contains(&n) => n,
            _ => {
                errors.push(FieldError::new("daily_cap", "Целое число от 1 до 100 000"));
                0
            }
        },
    };
    if !errors.is_empty() {
        return Err(OutreachError::Validation(errors));
    }
    Ok(Clean {
        name,
        first_message,
        prompt,
        stop_words,
        daily_cap,
    })
}

/// Creates a campaign as a draft (outreach:edit).
pub async fn create_campaign(pool: &PgPool, actor: &Actor, form: CampaignForm) -> Result<Uuid, OutreachError> {
    rbac::authorize(pool, actor, Operation::Outreach(OutreachOp::Manage), Target::Collection).await?;
    let c = clean(&form)?;
    let mut tx = pool.begin().await?;
    check_manager(&mut tx, form.manager_id).await?;
    let id = sqlx::query_scalar!(
        "insert into outreach_campaigns (name, first_message, prompt, stop_words, daily_cap, manager_id, created_by,
                                         personalize)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
        c.name,
        c.first_message,
        c.prompt,
        &c.stop_words,
        c.daily_cap,
        form.manager_id,
        actor.user_id,
        form.personalize
    )
    .fetch_one(&mut *tx)
    .await?;
    set_accounts(&mut tx, id, &form.account_ids).await?;
    audit::record(
        &mut tx,
        Some(actor),
        "outreach_campaign",
        &id.to_string(),
        "create",
        None,
        Some(
            serde_json::json!({"name": c.name, "daily_cap": c.daily_cap, "manager_id": form.manager_id,
                                "accounts": form.account_ids.len(), "personalize": form.personalize}),
        ),
    )
    .await?;
    super::events::campaign_changed(&mut tx, id).await?;
    tx.commit().await?;
    Ok(id)
}

/// Changes a campaign's settings (outreach:edit); a running one goes on
/// with them.
pub async fn update_campaign(pool: &PgPool, actor: &Actor, id: Uuid, form: CampaignForm) -> Result<(), OutreachError> {
    authorize_campaign(pool, actor, OutreachOp::Manage, id).await?;
    let c = clean(&form)?;
    let mut tx = pool.begin().await?;
    check_manager(&mut tx, form.manager_id).await?;
    let before = sqlx::query!(
        "select name, daily_cap, manager_id, personalize from outreach_campaigns where id = $1 for update",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(OutreachError::NotFound)?;
    sqlx::query!(
        "update outreach_campaigns set name = $2, first_message = $3, prompt = $4, stop_words = $5, daily_cap = $6,
                manager_id = $7, personalize = $8
         where id = $1",
        id,
        c.name,
        c.first_message,
        c.prompt,
        &c.stop_words,
        c.daily_cap,
        form.manager_id,
        form.personalize
    )
    .execute(&mut *tx)
    .await?;
    set_accounts(&mut tx, id, &form.account_ids).await?;
    audit::record(
        &mut tx,
        Some(actor),
        "outreach_campaign",
        &id.to_string(),
        "update",
        Some(
            serde_json::json!({"name": before.name, "daily_cap": before.daily_cap, "manager_id": before.manager_id,
                                "personalize": before.personalize}),
        ),
        Some(
            serde_json::json!({"name": c.name, "daily_cap": c.daily_cap, "manager_id": form.manager_id,
                                "personalize": form.personalize}),
        ),
    )
    .await?;
    super::events::campaign_changed(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

async fn check_manager(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    manager: Option<Uuid>,
) -> Result<(), OutreachError> {
    let Some(m) = manager else { return Ok(()) };
    let staff = sqlx::query_scalar!(
        "select exists(select 1 from users where id = $1 and role in ('admin', 'employee') and status = 'active')",
        m
    )
    .fetch_one(&mut **tx)
    .await?;
    if staff != Some(true) {
        return Err(OutreachError::invalid(
            "manager_id",
            "Менеджером может быть только сотрудник",
        ));
    }
    Ok(())
}

async fn set_accounts(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    campaign: Uuid,
    accounts: &[Uuid],
) -> Result<(), OutreachError> {
    sqlx::query!(
        "delete from outreach_campaign_accounts where campaign_id = $1 and account_id <> all($2)",
        campaign,
        accounts
    )
    .execute(&mut **tx)
    .await?;
    let added = sqlx::query!(
        "insert into outreach_campaign_accounts (campaign_id, account_id)
         select $1, a.id from outreach_accounts a where a.id = any($2)
         on conflict do nothing",
        campaign,
        accounts
    )
    .execute(&mut **tx)
    .await?;
    let _ = added;
    let known = sqlx::query_scalar!(
        r#"select count(*) as "n!" from outreach_accounts where id = any($1)"#,
        accounts
    )
    .fetch_one(&mut **tx)
    .await?;
    let mut wanted = accounts.to_vec();
    wanted.sort();
    wanted.dedup();
    if known != wanted.len() as i64 {
        return Err(OutreachError::invalid("account_ids", "Такого аккаунта нет"));
    }
    Ok(())
}

/// Starts, pauses or finishes a campaign (outreach:edit). A campaign
/// starts only with an account to write from and someone to write to.
pub async fn set_campaign_status(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    action: CampaignAction,
) -> Result<(), OutreachError> {
    authorize_campaign(pool, actor, OutreachOp::Manage, id).await?;
    let mut tx = pool.begin().await?;
    let c = sqlx::query!(
        r#"select status,
                  (select count(*) from outreach_campaign_accounts where campaign_id = c.id) as "accounts!",
                  (select count(*) from outreach_targets where campaign_id = c.id) as "targets!"
           from outreach_campaigns c where id = $1 for update"#,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(OutreachError::NotFound)?;
    let to = match (action, c.status.as_str()) {
        (CampaignAction::Start, "draft" | "paused") => {
            if c.accounts == 0 {
                return Err(OutreachError::invalid(
                    "account_ids",
                    "Выберите аккаунты, с которых писать",
                ));
            }
            if c.targets == 0 {
                return Err(OutreachError::invalid("targets", "Добавьте, кому писать"));
            }
            "running"
        }
        (CampaignAction::Pause, "running") => "paused",
        (CampaignAction::Finish, "draft" | "running" | "paused") => "finished",
        (_, from) => {
            return Err(OutreachError::invalid(
                "status",
                &format!("Кампания {} — это действие сейчас недоступно", status_ru(from)),
            ))
        }
    };
    sqlx::query!(
        "update outreach_campaigns set status = $2, started_at = coalesce(started_at, case when $2 = 'running' then now() end)
         where id = $1",
        id,
        to
    )
    .execute(&mut *tx)
    .await?;
    if to == "finished" {
        // Nobody new is written to; dialogs under way stay the manager's.
        sqlx::query!(
            "update outreach_targets set status = 'stopped', reason = 'Кампания завершена', due_at = null
             where campaign_id = $1 and status in ('queued', 'replied')",
            id
        )
        .execute(&mut *tx)
        .await?;
    }
    audit::record(
        &mut tx,
        Some(actor),
        "outreach_campaign",
        &id.to_string(),
        "status",
        Some(serde_json::json!({"status": c.status})),
        Some(serde_json::json!({"status": to})),
    )
    .await?;
    super::events::campaign_changed(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

pub fn status_ru(status: &str) -> &'static str {
    match status {
        "draft" => "черновик",
        "running" => "идёт",
        "paused" => "на паузе",
        "finished" => "завершена",
        _ => "—",
    }
}

/// The campaigns the actor may see, newest first, with their progress.
pub async fn campaigns(pool: &PgPool, actor: &Actor) -> Result<Vec<CampaignRow>, OutreachError> {
    let scope = rbac::authorize(pool, actor, Operation::Outreach(OutreachOp::View), Target::Collection).await?;
    rows(pool, actor, scope, None).await
}

async fn rows(
    pool: &PgPool,
    actor: &Actor,
    scope: Scope,
    only: Option<Uuid>,
) -> Result<Vec<CampaignRow>, OutreachError> {
    let all = scope == Scope::All;
    let rows = sqlx::query!(
        r#"select c.id, c.name, c.status, c.daily_cap,
                  coalesce(u.full_name, '') as "manager!",
                  coalesce((select sent from outreach_campaign_days d
                            where d.campaign_id = c.id and d.day = $4), 0) as "sent_today!",
                  count(t.id) as "targets!",
                  count(t.id) filter (where t.contacted_at is not null) as "contacted!",
                  count(t.id) filter (where t.status in ('replied', 'interested', 'not_interested')
                                        or exists (select 1 from outreach_messages m
                                                   where m.target_id = t.id and m.direction = 'in')) as "replied!",
                  count(t.id) filter (where t.status = 'interested') as "interested!",
                  count(t.lead_id) as "leads!",
                  count(t.id) filter (where t.status = 'failed') as "failed!",
                  (select count(*) from outreach_campaign_accounts a where a.campaign_id = c.id) as "accounts!"
           from outreach_campaigns c
           left join users u on u.id = c.manager_id
           left join outreach_targets t on t.campaign_id = c.id
           where ($1 or c.created_by = $2 or c.manager_id = $2) and ($3::uuid is null or c.id = $3)
           group by c.id, u.full_name
           order by c.created_at desc"#,
        all,
        actor.user_id,
        only,
        super::pace::day_of(chrono::Utc::now()) as _
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| CampaignRow {
            id: r.id,
            name: r.name,
            status: r.status,
            manager: r.manager,
            daily_cap: r.daily_cap,
            sent_today: r.sent_today,
            targets: r.targets,
            contacted: r.contacted,
            replied: r.replied,
            interested: r.interested,
            leads: r.leads,
            failed: r.failed,
            accounts: r.accounts,
        })
        .collect())
}

/// One campaign: its progress, settings and the last 30 days.
pub async fn campaign(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<CampaignDetail, OutreachError> {
    let target = authorize_campaign(pool, actor, OutreachOp::View, id).await?;
    let row = rows(pool, actor, Scope::All, Some(id))
        .await?
        .pop()
        .ok_or(OutreachError::NotFound)?;
    let c = sqlx::query!(
        r#"select name, first_message, prompt, stop_words, daily_cap, manager_id, personalize,
                  array(select account_id from outreach_campaign_accounts where campaign_id = c.id) as "accounts!"
           from outreach_campaigns c where id = $1"#,
        id
    )
    .fetch_one(pool)
    .await?;
    let days = sqlx::query!(
        r#"with zone as (select $2::text as tz),
           events as (
             select (t.contacted_at at time zone zone.tz)::date as day, 1 as contacted, 0 as replies, 0 as interested
             from outreach_targets t, zone where t.campaign_id = $1 and t.contacted_at is not null
             union all
             select (m.at at time zone zone.tz)::date, 0, 1, 0
             from outreach_messages m join outreach_targets t on t.id = m.target_id, zone
             where t.campaign_id = $1 and m.direction = 'in'
             union all
             select (l.created_at at time zone zone.tz)::date, 0, 0, 1
             from outreach_targets t join leads l on l.id = t.lead_id, zone where t.campaign_id = $1)
           select day as "day!: NaiveDate", sum(contacted)::bigint as "contacted!", sum(replies)::bigint as "replies!",
                  sum(interested)::bigint as "interested!"
           from events group by day order by day desc limit 30"#,
        id,
        crate::time::zone().name()
    )
    .fetch_all(pool)
    .await?;
    let can_manage = rbac::authorize(pool, actor, Operation::Outreach(OutreachOp::Manage), target)
        .await
        .is_ok();
    Ok(CampaignDetail {
        row,
        form: CampaignForm {
            name: c.name,
            first_message: c.first_message,
            personalize: c.personalize,
            prompt: c.prompt,
            stop_words: c.stop_words.join(", "),
            daily_cap: c.daily_cap.to_string(),
            manager_id: c.manager_id,
            account_ids: c.accounts,
        },
        days: days
            .into_iter()
            .rev()
            .map(|d| CampaignDay {
                day: d.day,
                contacted: d.contacted,
                replies: d.replies,
                interested: d.interested,
            })
            .collect(),
        can_manage,
    })
}

/// The people a campaign can be given to: active staff (outreach:view).
pub async fn managers(pool: &PgPool, actor: &Actor) -> Result<Vec<(Uuid, String)>, OutreachError> {
    rbac::authorize(pool, actor, Operation::Outreach(OutreachOp::View), Target::Collection).await?;
    let rows = sqlx::query!(
        "select id, full_name from users where role in ('admin', 'employee') and status = 'active' order by full_name"
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.full_name)).collect())
}
