//! The accounts as the CRM shows and runs them: the list with today's
//! count against the cap, logging one in (or again) through its code and
//! 2FA password, its caps, delay and hours, pausing and disabling it. Each
//! is checked against the matrix (`outreach:view` / `outreach:edit`) and
//! audited; the session itself never leaves the domain.

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::{Login, Outreach, OutreachError};
use crate::accounts::FieldError;
use crate::rbac::{self, Operation, OutreachOp, Target};
use crate::{audit, Actor};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccountRow {
    pub id: Uuid,
    pub phone: String,
    pub title: String,
    pub username: String,
    /// active, paused, disabled, limited, banned, needs_login
    pub status: String,
    pub sent_today: i32,
    pub daily_cap: i32,
    pub min_delay_s: i32,
    /// `10:00`
    pub work_from: String,
    pub work_to: String,
    pub last_sent_at: Option<DateTime<Utc>>,
    /// A FLOOD_WAIT's end, while it is ahead.
    pub waits_until: Option<DateTime<Utc>>,
    pub limited_until: Option<DateTime<Utc>>,
    pub last_error: String,
    /// Campaigns it writes for.
    pub campaigns: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AccountForm {
    pub title: String,
    pub daily_cap: String,
    pub min_delay_s: String,
    pub work_from: String,
    pub work_to: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountAction {
    Pause,
    Resume,
    Disable,
}

pub fn status_ru(status: &str) -> &'static str {
    match status {
        "active" => "работает",
        "paused" => "на паузе",
        "disabled" => "отключён",
        "limited" => "ограничен (PEER_FLOOD)",
        "banned" => "заблокирован",
        "needs_login" => "нужен вход",
        _ => "—",
    }
}

async fn may(pool: &PgPool, actor: &Actor, op: OutreachOp) -> Result<(), OutreachError> {
    rbac::authorize(pool, actor, Operation::Outreach(op), Target::Collection).await?;
    Ok(())
}

/// Every account, for the accounts page and the campaign form
/// (outreach:view).
pub async fn accounts(pool: &PgPool, actor: &Actor) -> Result<Vec<AccountRow>, OutreachError> {
    may(pool, actor, OutreachOp::View).await?;
    let day = super::pace::day_of(Utc::now());
    let rows = sqlx::query!(
        r#"select a.id, a.phone, a.title, a.username, a.status, coalesce(d.sent, 0) as "sent_today!",
                  a.daily_cap, a.min_delay_s, to_char(a.work_from, 'HH24:MI') as "work_from!",
                  to_char(a.work_to, 'HH24:MI') as "work_to!", a.last_sent_at as "last_sent_at: DateTime<Utc>",
                  case when a.flood_until > now() then a.flood_until end as "waits_until: DateTime<Utc>",
                  a.limited_until as "limited_until: DateTime<Utc>", a.last_error,
                  (select count(*) from outreach_campaign_accounts ca join outreach_campaigns c on c.id = ca.campaign_id
                   where ca.account_id = a.id and c.status <> 'finished') as "campaigns!"
           from outreach_accounts a
           left join outreach_account_days d on d.account_id = a.id and d.day = $1
           order by a.created_at"#,
        day as _
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AccountRow {
            id: r.id,
            phone: r.phone,
            title: r.title,
            username: r.username,
            status: r.status,
            sent_today: r.sent_today,
            daily_cap: r.daily_cap,
            min_delay_s: r.min_delay_s,
            work_from: r.work_from,
            work_to: r.work_to,
            last_sent_at: r.last_sent_at,
            waits_until: r.waits_until,
            limited_until: r.limited_until,
            last_error: r.last_error,
            campaigns: r.campaigns,
        })
        .collect())
}

fn number(errors: &mut Vec<FieldError>, field: &str, raw: &str, range: std::ops::RangeInclusive<i32>) -> i32 {
    match raw.trim().parse::<i32>() {
        Ok(n) if range.contains(&n) => n,
        _ => {
            errors.push(FieldError::new(
                field,
                &format!("Целое число от {} до {}", range.start(), range.end()),
            ));
            0
        }
    }
}

fn time(errors: &mut Vec<FieldError>, field: &str, raw: &str) -> NaiveTime {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M").unwrap_or_else(|_| {
        errors.push(FieldError::new(field, "Время в формате ЧЧ:ММ, например 10:00"));
        NaiveTime::MIN
    })
}

/// An account's name, caps, delay and working hours (outreach:edit).
pub async fn set_account(pool: &PgPool, actor: &Actor, id: Uuid, form: AccountForm) -> Result<(), OutreachError> {
    may(pool, actor, OutreachOp::Manage).await?;
    let mut errors = vec![];
    if let Err(m) = crate::types::check_text(&form.title, crate::types::MAX_NAME) {
        errors.push(FieldError::new("title", &m));
    }
    let cap = number(&mut errors, "daily_cap", &form.daily_cap, 1..=1000);
    let delay = number(&mut errors, "min_delay_s", &form.min_delay_s, 1..=86_400);
    let bad_times = errors.len();
    let from = time(&mut errors, "work_from", &form.work_from);
    let to = time(&mut errors, "work_to", &form.work_to);
    if errors.len() == bad_times && from >= to {
        errors.push(FieldError::new("work_to", "Конец рабочего дня позже начала"));
    }
    if !errors.is_empty() {
        return Err(OutreachError::Validation(errors));
    }
    let mut tx = pool.begin().await?;
    let before = sqlx::query!(
        "select title, daily_cap, min_delay_s, to_char(work_from, 'HH24:MI') as work_from,
                to_char(work_to, 'HH24:MI') as work_to
         from outreach_accounts where id = $1 for update",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(OutreachError::NotFound)?;
    sqlx::query!(
        "update outreach_accounts set title = $2, daily_cap = $3, min_delay_s = $4, work_from = $5, work_to = $6
         where id = $1",
        id,
        form.title.trim(),
        cap,
        delay,
        from as _,
        to as _
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "outreach_account",
        &id.to_string(),
        "update",
        Some(
            serde_json::json!({"title": before.title, "daily_cap": before.daily_cap, "min_delay_s": before.min_delay_s,
                                "work_from": before.work_from, "work_to": before.work_to}),
        ),
        Some(
            serde_json::json!({"title": form.title.trim(), "daily_cap": cap, "min_delay_s": delay,
                                "work_from": form.work_from.trim(), "work_to": form.work_to.trim()}),
        ),
    )
    .await?;
    super::events::accounts_changed(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Pauses, resumes or disables an account (outreach:edit). Only a paused
/// or disabled account resumes; one that needs a login logs in again.
pub async fn set_account_status(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    action: AccountAction,
) -> Result<(), OutreachError> {
    may(pool, actor, OutreachOp::Manage).await?;
    let mut tx = pool.begin().await?;
    let from = sqlx::query_scalar!("select status from outreach_accounts where id = $1 for update", id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(OutreachError::NotFound)?;
    let to = match (action, from.as_str()) {
        (AccountAction::Pause, "active" | "limited") => "paused",
        (AccountAction::Resume, "paused" | "disabled") => "active",
        (AccountAction::Disable, s) if s != "disabled" => "disabled",
        (_, s) => {
            return Err(OutreachError::invalid(
                "status",
                &format!("Аккаунт {} — это действие сейчас недоступно", status_ru(s)),
            ))
        }
    };
    sqlx::query!("update outreach_accounts set status = $2 where id = $1", id, to)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "outreach_account",
        &id.to_string(),
        "status",
        Some(serde_json::json!({"status": from})),
        Some(serde_json::json!({"status": to})),
    )
    .await?;
    super::events::accounts_changed(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Which step of a login the CRM form is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginInput {
    Phone,
    Code,
    Password,
}

impl Outreach {
    /// One step of logging an account in (or again) from the CRM
    /// (outreach:edit): the phone, then the code Telegram sent, then the
    /// 2FA password when the account has one. Audited when it succeeds.
    pub async fn login_step(
        &self,
        actor: &Actor,
        phone: &str,
        step: LoginInput,
        value: &str,
    ) -> Result<Login, OutreachError> {
        may(&self.pool, actor, OutreachOp::Manage).await?;
        let out = match step {
            LoginInput::Phone => self.start_login(phone, Some(actor.user_id)).await?,
            LoginInput::Code => {
                if value.trim().is_empty() {
                    return Err(OutreachError::invalid("code", "Введите код из Telegram"));
                }
                self.enter_code(phone, value.trim()).await?
            }
            LoginInput::Password => {
                if value.is_empty() {
                    return Err(OutreachError::invalid(
                        "password",
                        "Введите пароль двухэтапной проверки",
                    ));
                }
                self.enter_password(phone, value).await?
            }
        };
        if let Login::Active { account } = &out {
            let mut tx = self.pool.begin().await?;
            audit::record(
                &mut tx,
                Some(actor),
                "outreach_account",
                &account.to_string(),
                "login",
                None,
                Some(serde_json::json!({"phone": phone})),
            )
            .await?;
            super::events::accounts_changed(&mut tx).await?;
            tx.commit().await?;
        }
        Ok(out)
    }
}
