//! The dialogs as the sales team reads and continues them: the list with
//! filters, one dialog's whole history, the manager writing in it as its
//! account (which takes it over from the AI), and the transcript as text.
//! Scoped by the campaign's people (`outreach:view/send/export`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::campaigns::authorize_campaign;
use super::handoff::hand_over;
use super::transport::TgError;
use super::{Outreach, OutreachError};
use crate::rbac::{self, Operation, OutreachOp, Target};
use crate::types::Scope;
use crate::{audit, Actor};

pub const PER_PAGE: i64 = 50;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DialogFilter {
    pub campaign_id: Option<Uuid>,
    /// One of the dialog statuses; `active`: written to and not yet
    /// settled (contacted, replied, interested); empty: all but the queued.
    pub status: String,
    /// Part of the username, phone or name.
    pub query: String,
    pub page: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DialogRow {
    pub id: i64,
    pub campaign_id: Uuid,
    pub campaign: String,
    pub handle: String,
    pub name: String,
    /// queued, contacted, replied, interested, not_interested, stopped, failed
    pub status: String,
    pub reason: String,
    pub account: String,
    pub messages: i64,
    pub last_text: String,
    pub last_at: Option<DateTime<Utc>>,
    pub lead_id: Option<Uuid>,
    pub lead_number: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DialogPage {
    pub rows: Vec<DialogRow>,
    pub total: i64,
    pub page: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DialogMessage {
    /// `in` from the person, `out` from us.
    pub direction: String,
    pub text: String,
    pub at: DateTime<Utc>,
    /// Who wrote an outgoing one: a manager's name, «ИИ», or the first
    /// message of the campaign.
    pub author: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Dialog {
    pub row: DialogRow,
    pub messages: Vec<DialogMessage>,
    pub can_send: bool,
    pub can_export: bool,
}

pub fn status_ru(status: &str) -> &'static str {
    match status {
        "queued" => "в очереди",
        "contacted" => "написали",
        "replied" => "ответил",
        "interested" => "интерес → лид",
        "not_interested" => "не интересно",
        "stopped" => "остановлен",
        "failed" => "не удалось",
        _ => "—",
    }
}

pub const STATUSES: [&str; 7] = [
    "queued",
    "contacted",
    "replied",
    "interested",
    "not_interested",
    "stopped",
    "failed",
];

async fn read_rows(
    pool: &PgPool,
    actor: &Actor,
    scope: Scope,
    f: &DialogFilter,
    only: Option<i64>,
) -> Result<(Vec<DialogRow>, i64), OutreachError> {
    let page = f.page.clamp(1, 100_000);
    let status = f.status.trim();
    let query = f.query.trim().to_lowercase();
    let rows = sqlx::query!(
        r#"select t.id, t.campaign_id, c.name as campaign, t.handle, t.name, t.status, t.reason,
                  coalesce(a.phone, '') as "account!", t.lead_id, l.number as "lead_number?",
                  (select count(*) from outreach_messages m where m.target_id = t.id) as "messages!",
                  coalesce(lm.text, '') as "last_text!", lm.at as "last_at?: DateTime<Utc>",
                  count(*) over () as "total!"
           from outreach_targets t
           join outreach_campaigns c on c.id = t.campaign_id
           left join outreach_accounts a on a.id = t.account_id
           left join leads l on l.id = t.lead_id
           left join lateral (select text, at from outreach_messages m where m.target_id = t.id
                              order by m.at desc, m.id desc limit 1) lm on true
           where ($1 or c.created_by = $2 or c.manager_id = $2)
             and ($3::uuid is null or t.campaign_id = $3)
             and (case when $4 = '' then t.status <> 'queued'
                       when $4 = 'active' then t.status in ('contacted', 'replied', 'interested')
                       else t.status = $4 end)
             and ($5 = '' or lower(t.handle) like $9 or lower(t.name) like $9)
             and ($6::bigint is null or t.id = $6)
           order by lm.at desc nulls last, t.id desc
           limit $7 offset $8"#,
        scope == Scope::All,
        actor.user_id,
        f.campaign_id,
        if only.is_some() { "" } else { status },
        query,
        only,
        PER_PAGE,
        (page - 1) * PER_PAGE,
        crate::like_contains(&query)
    )
    .fetch_all(pool)
    .await?;
    let total = rows.first().map(|r| r.total).unwrap_or(0);
    Ok((
        rows.into_iter()
            .map(|r| DialogRow {
                id: r.id,
                campaign_id: r.campaign_id,
                campaign: r.campaign,
                handle: r.handle,
                name: r.name,
                status: r.status,
                reason: r.reason,
                account: r.account,
                messages: r.messages,
                last_text: r.last_text,
                last_at: r.last_at,
                lead_id: r.lead_id,
                lead_number: r.lead_number,
            })
            .collect(),
        total,
    ))
}

/// The dialogs of the campaigns the actor may see, the latest first
/// (outreach:view).
pub async fn dialogs(pool: &PgPool, actor: &Actor, f: DialogFilter) -> Result<DialogPage, OutreachError> {
    let scope = rbac::authorize(pool, actor, Operation::Outreach(OutreachOp::View), Target::Collection).await?;
    if !f.status.is_empty() && f.status != "active" && !STATUSES.contains(&f.status.as_str()) {
        return Err(OutreachError::invalid("status", "Неизвестный статус"));
    }
    let (rows, total) = read_rows(pool, actor, scope, &f, None).await?;
    Ok(DialogPage {
        rows,
        total,
        page: f.page.max(1),
    })
}

pub(super) async fn campaign_of(pool: &PgPool, id: i64) -> Result<Uuid, OutreachError> {
    sqlx::query_scalar!("select campaign_id from outreach_targets where id = $1", id)
        .fetch_optional(pool)
        .await?
        .ok_or(OutreachError::NotFound)
}

/// One dialog with its whole history (outreach:view on its campaign).
pub async fn dialog(pool: &PgPool, actor: &Actor, id: i64) -> Result<Dialog, OutreachError> {
    let campaign = campaign_of(pool, id).await?;
    let target = authorize_campaign(pool, actor, OutreachOp::View, campaign).await?;
    let row = read_rows(pool, actor, Scope::All, &DialogFilter::default(), Some(id))
        .await?
        .0
        .pop()
        .ok_or(OutreachError::NotFound)?;
    let messages = history(pool, id).await?;
    let allowed = |op| rbac::authorize(pool, actor, Operation::Outreach(op), target.clone());
    Ok(Dialog {
        row,
        messages,
        can_send: allowed(OutreachOp::Send).await.is_ok(),
        can_export: allowed(OutreachOp::Export).await.is_ok(),
    })
}

async fn history(pool: &PgPool, id: i64) -> Result<Vec<DialogMessage>, OutreachError> {
    let rows = sqlx::query!(
        r#"select m.direction, m.text, m.at as "at: DateTime<Utc>", m.model, u.full_name as "author?",
                  m.id = (select min(id) from outreach_messages where target_id = $1) as "first!"
           from outreach_messages m left join users u on u.id = m.author_id
           where m.target_id = $1 order by m.at, m.id"#,
        id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|m| DialogMessage {
            author: match (m.direction.as_str(), m.author, m.model) {
                ("in", _, _) => String::new(),
                (_, Some(name), _) => name,
                (_, None, Some(_)) => "ИИ".into(),
                _ if m.first => "Первое сообщение".into(),
                // Neither the CRM nor the AI: read back from Telegram, the
                // owner wrote it in the app.
                _ => "Из приложения Telegram".into(),
            },
            direction: m.direction,
            text: m.text,
            at: m.at,
        })
        .collect())
}

/// The dialog as a text file: its name and content (outreach:export).
pub async fn export_dialog(pool: &PgPool, actor: &Actor, id: i64) -> Result<(String, String), OutreachError> {
    let campaign = campaign_of(pool, id).await?;
    authorize_campaign(pool, actor, OutreachOp::Export, campaign).await?;
    let text = transcript(pool, id).await?;
    let mut tx = pool.begin().await?;
    audit::record(
        &mut tx,
        Some(actor),
        "outreach_dialog",
        &id.to_string(),
        "export",
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok((format!("dialog-{id}.txt"), text))
}

/// A dialog as plain text: who, where from, and every message with its
/// time in the company's zone.
pub async fn transcript(pool: &PgPool, id: i64) -> Result<String, OutreachError> {
    let row = sqlx::query!(
        r#"select t.handle, t.name, t.status, t.reason, c.name as campaign, coalesce(a.phone, '') as "account!"
           from outreach_targets t join outreach_campaigns c on c.id = t.campaign_id
           left join outreach_accounts a on a.id = t.account_id where t.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(OutreachError::NotFound)?;
    let mut out = format!(
        "Диалог №{id}: {} {}\nКампания: {}\nАккаунт: {}\nСтатус: {}{}\n\n",
        row.handle,
        row.name,
        row.campaign,
        row.account,
        status_ru(&row.status),
        if row.reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", row.reason)
        }
    );
    for m in history(pool, id).await? {
        let who = if m.direction == "in" {
            row.handle.clone()
        } else if m.author.is_empty() {
            "Мы".into()
        } else {
            format!("Мы ({})", m.author)
        };
        out.push_str(&format!("[{}] {who}: {}\n", crate::time::datetime(m.at), m.text));
    }
    Ok(out)
}

/// Every dialog the actor may export (all but the queued), one text file
/// each in a zip: its name and bytes (outreach:export).
pub async fn export_all(pool: &PgPool, actor: &Actor) -> Result<(String, Vec<u8>), OutreachError> {
    use std::io::Write;
    let scope = rbac::authorize(pool, actor, Operation::Outreach(OutreachOp::Export), Target::Collection).await?;
    let ids = sqlx::query_scalar!(
        "select t.id from outreach_targets t join outreach_campaigns c on c.id = t.campaign_id
         where ($1 or c.created_by = $2 or c.manager_id = $2) and t.status <> 'queued'
         order by t.id",
        scope == Scope::All,
        actor.user_id
    )
    .fetch_all(pool)
    .await?;
    if ids.is_empty() {
        return Err(OutreachError::invalid("dialogs", "Диалогов пока нет"));
    }
    let zip_error = |e: zip::result::ZipError| OutreachError::Archive(e.to_string());
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for id in &ids {
        zip.start_file(format!("dialog-{id}.txt"), options).map_err(zip_error)?;
        zip.write_all(transcript(pool, *id).await?.as_bytes())
            .map_err(|e| zip_error(e.into()))?;
    }
    let bytes = zip.finish().map_err(zip_error)?.into_inner();
    let mut tx = pool.begin().await?;
    audit::record(
        &mut tx,
        Some(actor),
        "outreach_dialog",
        "all",
        "export",
        None,
        Some(serde_json::json!({"dialogs": ids.len()})),
    )
    .await?;
    tx.commit().await?;
    let day = crate::time::local(chrono::Utc::now()).format("%Y-%m-%d");
    Ok((format!("dialogs-{day}.zip"), bytes))
}

/// Stops a dialog the AI still leads or has yet to start: nothing more is
/// written to the person automatically (outreach:send).
pub async fn stop_dialog(pool: &PgPool, actor: &Actor, id: i64) -> Result<(), OutreachError> {
    let campaign = campaign_of(pool, id).await?;
    authorize_campaign(pool, actor, OutreachOp::Send, campaign).await?;
    let mut tx = pool.begin().await?;
    let status = sqlx::query_scalar!("select status from outreach_targets where id = $1 for update", id)
        .fetch_one(&mut *tx)
        .await?;
    if !matches!(status.as_str(), "queued" | "contacted" | "replied") {
        return Err(OutreachError::invalid(
            "status",
            &format!("Диалог уже не идёт: {}", status_ru(&status)),
        ));
    }
    sqlx::query!(
        "update outreach_targets set status = 'stopped', due_at = null, reason = $2 where id = $1",
        id,
        format!("Остановил {}", actor.full_name)
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "outreach_dialog",
        &id.to_string(),
        "stop",
        Some(serde_json::json!({"status": status})),
        Some(serde_json::json!({"status": "stopped"})),
    )
    .await?;
    super::events::dialog_changed(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

/// The manager takes the dialog over: the AI stops and a lead is created
/// (outreach:send).
pub async fn take_over(pool: &PgPool, actor: &Actor, id: i64) -> Result<(), OutreachError> {
    let campaign = campaign_of(pool, id).await?;
    authorize_campaign(pool, actor, OutreachOp::Send, campaign).await?;
    take_over_authorized(pool, actor, id).await
}

/// [`take_over`] once the caller has checked outreach:send.
async fn take_over_authorized(pool: &PgPool, actor: &Actor, id: i64) -> Result<(), OutreachError> {
    let mut tx = pool.begin().await?;
    let status = sqlx::query_scalar!("select status from outreach_targets where id = $1 for update", id)
        .fetch_one(&mut *tx)
        .await?;
    if !matches!(status.as_str(), "contacted" | "replied") {
        return Err(OutreachError::invalid(
            "status",
            &format!("Диалог {} — брать его уже не нужно", status_ru(&status)),
        ));
    }
    hand_over(&mut tx, pool, id, &format!("Взял {}", actor.full_name)).await?;
    audit::record(
        &mut tx,
        Some(actor),
        "outreach_dialog",
        &id.to_string(),
        "take_over",
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

impl Outreach {
    /// The manager writes in the dialog as its account (outreach:send); a
    /// dialog the AI still leads is taken over first.
    pub async fn write(&self, actor: &Actor, id: i64, text: &str) -> Result<(), OutreachError> {
        let campaign = campaign_of(&self.pool, id).await?;
        authorize_campaign(&self.pool, actor, OutreachOp::Send, campaign).await?;
        let text = text.trim();
        if text.is_empty() {
            return Err(OutreachError::invalid("text", "Напишите сообщение"));
        }
        if text.chars().count() > 4096 {
            return Err(OutreachError::invalid(
                "text",
                "Не длиннее 4096 символов — предела Telegram",
            ));
        }
        let Some((account, peer)) = self.peer_of(id).await? else {
            return Err(OutreachError::invalid(
                "text",
                "Этому человеку ещё не писали: дождитесь первого сообщения",
            ));
        };
        let a = sqlx::query!(
            r#"select status, coalesce(flood_until > $2, false) as "waiting!"
               from outreach_accounts where id = $1"#,
            account,
            self.clock.now() as _
        )
        .fetch_one(&self.pool)
        .await?;
        if matches!(a.status.as_str(), "banned" | "needs_login" | "disabled") {
            return Err(OutreachError::invalid(
                "text",
                &format!(
                    "Аккаунт диалога {}: писать с него нельзя",
                    super::roster::status_ru(&a.status)
                ),
            ));
        }
        if a.waiting {
            return Err(OutreachError::invalid(
                "text",
                "Telegram попросил аккаунт подождать (FLOOD_WAIT): попробуйте через минуту",
            ));
        }
        let status = sqlx::query_scalar!("select status from outreach_targets where id = $1", id)
            .fetch_one(&self.pool)
            .await?;
        if matches!(status.as_str(), "contacted" | "replied") {
            take_over_authorized(&self.pool, actor, id).await?;
        }
        let sent = match self.client(account).await {
            Ok(c) => c.send(&peer, text).await,
            Err(e) => Err(e),
        };
        let now = self.clock.now();
        let mut tx = self.pool.begin().await?;
        match sent {
            Ok(message_id) => {
                sqlx::query!(
                    "insert into outreach_messages (target_id, account_id, direction, text, author_id, tg_message_id, at)
                     values ($1, $2, 'out', $3, $4, $5, $6)
                     on conflict (account_id, tg_message_id) where direction = 'out' and tg_message_id is not null
                     do update set author_id = excluded.author_id",
                    id,
                    account,
                    text,
                    actor.user_id,
                    message_id,
                    now as _
                )
                .execute(&mut *tx)
                .await?;
                sqlx::query!(
                    "update outreach_accounts set last_sent_at = $2 where id = $1",
                    account,
                    now as _
                )
                .execute(&mut *tx)
                .await?;
                super::events::dialog_changed(&mut tx, id).await?;
                tx.commit().await?;
                Ok(())
            }
            Err(e) => {
                super::accounts::after_error(&mut tx, account, &e, now).await?;
                tx.commit().await?;
                if matches!(e, TgError::LoggedOut | TgError::Banned) {
                    self.forget_client(account);
                }
                Err(OutreachError::Telegram(e))
            }
        }
    }
}
